/* engine.c: one unit through its steps (run_unit), back through their
 * undos (rollback_unit), or through preflight alone (the dry-run). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "engine.h"
#include "placement.h"
#include "steps.h"

/* ---- running a unit ---- */

int
engine_rollback_unit(struct exec *x, struct unit *u, GError **err)
{
	g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GString) left = g_string_new(NULL);	/* what is not undone, and why */
	gboolean stopped = FALSE, target_may_run = FALSE;

	/* the step under way when it failed or died may have half happened */
	if (u->failed_step >= 0)
		g_array_append_val(todo, u->failed_step);
	if (u->running >= 0 && u->running != u->failed_step)
		g_array_append_val(todo, u->running);
	for (guint i = u->done->len; i-- > 0;)
		if (g_array_index(u->done, int, i) != u->failed_step && g_array_index(u->done, int, i) != u->running)
			g_array_append_val(todo, g_array_index(u->done, int, i));
	for (guint i = 0; i < todo->len; i++) {
		const struct step_impl *impl = step_impl(g_array_index(todo, int, i));
		const char *why = impl->undo_refused ? impl->undo_refused(u) : NULL;

		if (why) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", u->id, why);
			return -1;
		}
	}
	g_mutex_lock(&x->mu);
	u->undoing = TRUE;
	g_mutex_unlock(&x->mu);
	for (guint i = 0; i < todo->len; i++) {
		int s = g_array_index(todo, int, i);
		const struct step_impl *impl = step_impl(s);
		g_autoptr(GError) e = NULL;

		if (stopped || (target_may_run && impl->undo_needs_target_off)) {
			g_string_append_printf(left, "; %s not undone (%s)", step_name(s),
					       stopped ? "after the failure above" : "the VM may still run on the target");
			continue;
		}
		unit_record_step(x, u, "undo", s, "start", NULL, NULL);
		if (impl->undo) {
			sink_log(&x->sink, "%s: undoing %s", u->id, step_name(s));
			if (fault_due(x, u, s, "undo-fail"))
				g_set_error(&e, G_IO_ERROR, G_IO_ERROR_FAILED, "VMSHIFT_FAULT: injected failure undoing %s",
					    step_name(s));
			if (e || impl->undo(x, u, &e) < 0) {
				sink_log(&x->sink, "%s: undoing %s failed: %s", u->id, step_name(s), e->message);
				unit_record_step(x, u, "undo", s, "failed", e->message, NULL);
				g_string_append_printf(left, "; %s: %s", step_name(s), e->message);
				stopped = impl->undo_fail_stops;
				target_may_run = target_may_run || impl->undo_fail_target_may_run;
				continue;
			}
		}
		unit_record_step(x, u, "undo", s, "done", NULL, NULL);
		unit_forget_step(u, s);
	}
	g_mutex_lock(&x->mu);
	u->undoing = FALSE;	/* rolled back, or holding what it could not undo */
	u->status = left->len ? U_FAILED : U_ROLLED_BACK;	/* at once: claims.c reads both */
	g_mutex_unlock(&x->mu);
	if (left->len) {
		/* what is still done stays in u->done: a later rollback retries it */
		g_free(u->error);
		u->error = g_strdup_printf("rollback incomplete%s; fix what it says, then run vmshift rollback %s --only %s%s",
					   left->str, x->plan->path, u->m->id,
					   g_atomic_int_get(&x->journal_failed) ? " (the journal is incomplete: check every host by hand)" : "");
		unit_record_status(x, u, NULL);
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, u->error);
		return -1;
	}
	u->running = -1;
	u->failed_step = -1;
	sink_log(&x->sink, "%s: rolled back", u->id);
	unit_record_status(x, u, NULL);
	return 0;
}

enum step_end { STEP_ENDED, STEP_STOPPED, STEP_FAILED };

/* One step of @u: journaled before and after.  STEP_STOPPED: a signal
 * stopped it (it stays open: resume runs it again), u->status says so;
 * STEP_FAILED: *err says why. */
static enum step_end
run_step(struct exec *x, struct unit *u, enum step s, GError **err)
{
	gboolean stop_asked = x->o->interrupted && *x->o->interrupted;

	if (stop_asked) {
		u->status = U_INTERRUPTED;
		unit_record_status(x, u, NULL);
		return STEP_STOPPED;
	}
	sink_log(&x->sink, "%s: %s", u->id, step_name(s));
	u->running = s;
	if (unit_record_step(x, u, "step", s, "start", NULL, err) < 0) {
		u->failed_step = s;	/* not begun, maybe: its undo looks first */
		u->running = -1;
		return STEP_FAILED;
	}
	if (step_impl(s)->run(x, u, err) == 0) {
		if (fault_due(x, u, s, "kill")) {
			sink_log(&x->sink, "VMSHIFT_FAULT: killing vmshift during %s", step_name(s));
			raise(SIGKILL);
		}
		if (fault_due(x, u, s, "fail"))
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "VMSHIFT_FAULT: injected failure at %s", step_name(s));
	}
	sink_progress(&x->sink, u->id, NULL);
	if (*err && x->o->interrupted && *x->o->interrupted) {
		/* stopped by a signal in the middle (a copy, a shutdown
		 * wait): the step stays open, resume runs it again */
		sink_log(&x->sink, "%s: %s (resume continues)", u->id, (*err)->message);
		g_clear_error(err);
		u->status = U_INTERRUPTED;
		unit_record_status(x, u, NULL);
		return STEP_STOPPED;
	}
	if (*err) {
		u->failed_step = s;
		u->running = -1;
		unit_record_step(x, u, "step", s, "failed", (*err)->message, NULL);
		return STEP_FAILED;
	}
	u->running = -1;
	if (unit_record_step(x, u, "step", s, "done", NULL, err) < 0) {
		u->failed_step = s;	/* done, but not journaled: undo it too */
		return STEP_FAILED;
	}
	g_array_append_val(u->done, s);
	return STEP_ENDED;
}

/* The attempt's facts, before its first step: what the plan entry was
 * and which hosts it used (resume and rollback check them). */
static int
record_attempt(struct exec *x, struct unit *u, const char *fingerprint, int fingerprint_version, GError **err)
{
	g_autoptr(JsonObject) f = json_object_new();

	if (*fact_str(u, FACT_FINGERPRINT))
		return 0;
	json_object_set_string_member(f, FACT_FINGERPRINT, fingerprint);
	json_object_set_int_member(f, FACT_FINGERPRINT_VERSION, fingerprint_version);
	json_object_set_string_member(f, FACT_SOURCE_HOST_UUID, u->src->uuid);
	json_object_set_string_member(f, FACT_TARGET_HOST_UUID, u->dst->uuid);
	return unit_record_facts(x, u, STEP_PREFLIGHT, f, err);
}

static void
unit_failed(struct exec *x, struct unit *u, GError *err)
{
	g_free(u->error);
	u->error = g_strdup(err->message);
	u->status = U_FAILED;
	sink_log(&x->sink, "%s: FAILED at %s: %s", u->id, u->failed_step >= 0 ? step_name(u->failed_step) : "start",
		 err->message);
	unit_record_status(x, u, NULL);
	if (x->o->on_failure == ON_FAILURE_ROLLBACK && u->failed_step >= 0) {
		g_autoptr(GError) e = NULL;

		if (engine_rollback_unit(x, u, &e) < 0)
			sink_log(&x->sink, "%s: %s", u->id, e->message);
		else {
			/* rolled back, but the migration still failed */
			g_free(u->error);
			u->error = g_strdup(err->message);
		}
	}
}

/* ---- the fallback ladder: live, then live.fallback's mode ---- */

static JsonObject *
live_failure(struct unit *u)
{
	JsonNode *n = json_object_get_member(u->facts, FACT_LIVE_FAILURE);

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static int
fallback_mode(int fallback)
{
	switch (fallback) {
	case FALLBACK_COLD:
		return MODE_COLD;
	case FALLBACK_OFFLINE_SCP:
		return MODE_OFFLINE_SCP;
	default:
		return MODE_UNSET;
	}
}

/* Does @u's failure call for live.fallback?  Only a live job that failed
 * with the guest still healthy on the source (step_live.c judges that
 * and journals it): not a failed preflight, a crashed guest, a leftover
 * on the target. */
static gboolean
fallback_due(struct unit *u)
{
	JsonObject *f = live_failure(u);

	return u->mode == MODE_LIVE && fallback_mode(u->m->set.live.fallback) != MODE_UNSET &&
	       u->failed_step == STEP_MIGRATE_LIVE && f &&
	       json_object_get_boolean_member_with_default(f, "fallback_ok", FALSE);
}

/* What the fallback's attempt starts with: the first attempt's identity
 * (fingerprint, hosts), the failed attempts so far and this one, and the
 * mode it runs in now.  A new object. */
static JsonObject *
fallback_facts(struct unit *u, int mode)
{
	static const char *const keep[] = {
		FACT_FINGERPRINT, FACT_FINGERPRINT_VERSION, FACT_SOURCE_HOST_UUID, FACT_TARGET_HOST_UUID,
	};
	JsonObject *kept = json_object_new();
	JsonArray *old = fact_array(u, FACT_ATTEMPTS), *attempts = json_array_new();

	for (guint i = 0; i < G_N_ELEMENTS(keep); i++)
		if (json_object_has_member(u->facts, keep[i]))
			json_object_set_member(kept, keep[i], json_node_copy(json_object_get_member(u->facts, keep[i])));
	for (guint i = 0; old && i < json_array_get_length(old); i++)
		json_array_add_element(attempts, json_node_copy(json_array_get_element(old, i)));
	json_array_add_element(attempts, json_node_copy(json_object_get_member(u->facts, FACT_LIVE_FAILURE)));
	json_object_set_array_member(kept, FACT_ATTEMPTS, attempts);
	json_object_set_string_member(kept, FACT_MODE, mode_name(mode));
	return kept;
}

/* The live attempt failed and live.fallback says what next: roll it back
 * as any failure, then make @u a fresh unit of the fallback's mode (its
 * done-list empty: those steps are undone), journaled as a "reset" and
 * the facts it keeps.  -1: it stays failed (u->status, u->error and the
 * journal say so). */
static int
fallback_start(struct exec *x, struct unit *u)
{
	int mode = fallback_mode(u->m->set.live.fallback);
	JsonObject *f = live_failure(u);
	g_autoptr(JsonObject) kept = NULL;
	g_autoptr(GError) e = NULL;

	events_fallback(&x->sink, u->id, mode_name(u->mode), mode_name(mode), f);
	sink_log(&x->sink, "%s: %s", u->id, json_object_get_string_member_with_default(f, "error", "?"));
	sink_log(&x->sink, "%s: live failed after %" G_GINT64_FORMAT " s (%s): rolling it back, then moving it %s (live.fallback)",
		 u->id, json_object_get_int_member_with_default(f, "after_s", 0),
		 json_object_get_string_member_with_default(f, "why", "?"), mode_name(mode));
	if (engine_rollback_unit(x, u, &e) < 0) {
		sink_log(&x->sink, "%s: %s; not falling back", u->id, e->message);
		return -1;
	}
	kept = fallback_facts(u, mode);
	g_mutex_lock(&x->mu);	/* other units' workers read its facts */
	unit_reset(u);
	u->mode = mode;
	u->status = U_RUNNING;
	g_mutex_unlock(&x->mu);
	if (unit_journal_put(x, unit_record_new("reset", u), &e) < 0 ||
	    unit_record_facts(x, u, STEP_PREFLIGHT, kept, &e) < 0) {
		g_free(u->error);
		u->error = g_strdup_printf("cannot journal the fallback to %s: %s", mode_name(mode), e->message);
		u->status = U_FAILED;
		sink_log(&x->sink, "%s: FAILED: %s", u->id, u->error);
		unit_record_status(x, u, NULL);
		return -1;
	}
	return 0;
}

/* STEPS_STOPPED: interrupted, or a fallback that could not begin; either
 * way u->status says what it is */
enum steps_end { STEPS_DONE, STEPS_STOPPED, STEPS_FAILED, STEPS_FELL_BACK };

/* @u's steps that are not done yet, in its mode's order. */
static enum steps_end
run_steps(struct exec *x, struct unit *u)
{
	guint n;
	const enum step *steps = mode_steps(u->mode, &n);
	g_autoptr(GError) err = NULL;

	for (guint i = 0; i < n; i++) {
		enum step s = steps[i];

		if (unit_has_done(u, s)) {
			/* resumed: preflight found it on the target already */
			if (s == STEP_PREFLIGHT && fact_bool(u, FACT_ALREADY_DONE, FALSE))
				break;
			continue;
		}
		switch (run_step(x, u, s, &err)) {
		case STEP_STOPPED:
			return STEPS_STOPPED;
		case STEP_FAILED:
			if (fallback_due(u))
				return fallback_start(x, u) < 0 ? STEPS_STOPPED : STEPS_FELL_BACK;
			unit_failed(x, u, err);
			return STEPS_FAILED;
		case STEP_ENDED:
			break;
		}
		if (s == STEP_PREFLIGHT && fact_bool(u, FACT_ALREADY_DONE, FALSE))
			break;
	}
	return STEPS_DONE;
}

void
engine_run_unit(struct exec *x, struct unit *u, const char *fingerprint, int fingerprint_version)
{
	g_autoptr(GError) err = NULL;
	enum steps_end end;

	if (g_mkdir_with_parents(u->dir, 0700) < 0) {
		g_set_error(&err, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot create '%s': %s", u->dir,
			    g_strerror(errno));
		unit_failed(x, u, err);
		return;
	}
	if (fallback_due(u)) {
		/* resumed after a live failure whose fallback did not begin */
		if (fallback_start(x, u) < 0)
			return;
	} else if (u->status == U_FAILED) {
		/* resumed after --on-failure stop: try the failed step again */
		u->failed_step = -1;
		g_clear_pointer(&u->error, g_free);
	}
	u->status = U_RUNNING;
	if (record_attempt(x, u, fingerprint, fingerprint_version, &err) < 0) {
		unit_failed(x, u, err);
		return;
	}
	while ((end = run_steps(x, u)) == STEPS_FELL_BACK)
		;
	if (end != STEPS_DONE)
		return;
	u->status = U_DONE;
	sink_log(&x->sink, "%s: done", u->id);
	unit_record_status(x, u, NULL);
}

void
engine_dry_run(struct exec *x, GString *text)
{
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		g_autoptr(GError) e = NULL;
		g_autofree char *d = NULL;
		guint n;
		const enum step *steps = mode_steps(u->mode, &n);

		if (!u->selected)
			continue;
		if (!u->report)
			u->report = g_string_new(NULL);
		if (!u->to) {	/* placement found no room: reported there */
			g_autofree char *pool = placement_pool_text(u->m);

			g_string_append_printf(text, "\n%s: %s %s -> %s, %s\n%s", u->id, u->vm, u->m->from->name, pool,
					       mode_name(u->mode), u->report->str);
			continue;
		}
		sink_log(&x->sink, "%s: preflight (dry run)", u->id);
		if (step_preflight(x, u, &e) < 0) {
			u->status = U_FAILED;
			u->failed_step = STEP_PREFLIGHT;
			u->error = g_strdup(e->message);
		} else {
			u->status = U_DONE;	/* as far as a dry run goes */
		}
		g_string_append_printf(text, "\n%s: %s %s -> %s, %s\n", u->id, u->vm, u->m->from->name,
				       u->to->name, mode_name(u->mode));
		g_string_append(text, u->report->str);
		if (e) {
			g_string_append_printf(text, "    PREFLIGHT FAILS: %s\n", e->message);
			continue;
		}
		if (fact_bool(u, FACT_ALREADY_DONE, FALSE))
			continue;
		g_string_append(text, "    would run:\n");
		for (guint k = 0; k < n; k++) {
			const struct step_impl *impl = step_impl(steps[k]);
			const char *skip = impl->skip ? impl->skip(u) : NULL;

			if (skip)
				g_string_append_printf(text, "      %-20s skipped (%s)\n", step_name(steps[k]), skip);
			else
				g_string_append_printf(text, "      %-20s undo: %s\n", step_name(steps[k]), impl->undo_says);
		}
		if (u->mode == MODE_LIVE && fallback_mode(u->m->set.live.fallback) != MODE_UNSET)
			g_string_append_printf(text, "    if the live job fails with the guest still running on %s: rolled back, then moved %s (live.fallback)\n",
					       u->m->from->name, mode_name(fallback_mode(u->m->set.live.fallback)));
		if ((d = report_xml_diff(u)))
			g_string_append(text, *d ? d : "    domain XML: unchanged\n");
	}
}
