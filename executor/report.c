/* report.c: the result of a run, as JSON and as text.  Formats only. */
#include <string.h>

#include "engine.h"
#include "placement.h"
#include "steps.h"
#include "udiff.h"

/* ---- what a dry run found, for both reports ---- */

char *
report_xml_diff(struct unit *u)
{
	g_autofree char *a = NULL, *b = NULL, *an = NULL, *bn = NULL;

	if (!u->sxml || !u->txml || !u->to)
		return NULL;
	a = domxml_format(u->sxml);
	b = domxml_format(u->txml);
	an = g_strdup_printf("%s/%s (source)", u->m->from->name, u->vm);
	bn = g_strdup_printf("%s/%s (target)", u->to->name, u->vm);
	return udiff(a, b, an, bn);
}

const char *
report_preflight(struct unit *u)
{
	if (u->failed_step == STEP_PREFLIGHT || (u->status == U_FAILED && u->problems))
		return "failed";
	return u->status == U_DONE ? "ok" : "not run";
}

static void
add_strings(JsonBuilder *b, const char *name, char **v)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint i = 0; v && v[i]; i++)
		json_builder_add_string_value(b, v[i]);
	json_builder_end_array(b);
}

static void
add_fact(JsonBuilder *b, struct unit *u, const char *key, const char *name)
{
	if (!json_object_has_member(u->facts, key))
		return;
	json_builder_set_member_name(b, name);
	json_builder_add_value(b, json_node_copy(json_object_get_member(u->facts, key)));
}

/* The dry-run's own members of a migration (schema/dry-run.schema.json). */
static void
unit_dry_json(struct unit *u, JsonBuilder *b)
{
	g_auto(GStrv) notes = NULL;
	g_autoptr(GPtrArray) keep = g_ptr_array_new();
	const char *failed[] = { u->error, NULL };
	guint n;
	const enum step *steps = mode_steps(u->mode, &n);

	json_builder_set_member_name(b, "preflight");
	json_builder_add_string_value(b, report_preflight(u));
	json_builder_set_member_name(b, "target_xml");
	if (u->txml && u->to) {
		g_autofree char *t = domxml_format(u->txml);

		json_builder_add_string_value(b, t);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, "changes");
	json_builder_begin_array(b);
	for (guint i = 0; u->changes && i < u->changes->len; i++) {
		struct dom_change *c = u->changes->pdata[i];

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "what");
		json_builder_add_string_value(b, c->what);
		json_builder_set_member_name(b, "from");
		json_builder_add_string_value(b, c->from);
		json_builder_set_member_name(b, "to");
		json_builder_add_string_value(b, c->to);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	add_fact(b, u, FACT_COPY_BYTES, "copy_bytes");
	add_fact(b, u, FACT_SOURCE_FILES, "source_files");
	add_fact(b, u, FACT_TARGET_FILES, "target_files");
	add_fact(b, u, FACT_CHAINS, "chains");
	json_builder_set_member_name(b, "would_run");
	json_builder_begin_array(b);
	for (guint k = 0; !strcmp(report_preflight(u), "ok") && !fact_bool(u, FACT_ALREADY_DONE, FALSE) && k < n; k++) {
		const struct step_impl *impl = step_impl(steps[k]);
		const char *skip = impl->skip ? impl->skip(u) : NULL;

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "step");
		json_builder_add_string_value(b, step_name(steps[k]));
		json_builder_set_member_name(b, "undo");
		json_builder_add_string_value(b, impl->undo_says);
		if (skip) {
			json_builder_set_member_name(b, "skipped");
			json_builder_add_string_value(b, skip);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	/* the notes: what u->report says, a line each */
	notes = g_strsplit(u->report ? u->report->str : "", "\n", -1);
	for (guint i = 0; notes[i]; i++)
		if (*g_strstrip(notes[i]))
			g_ptr_array_add(keep, notes[i]);
	g_ptr_array_add(keep, NULL);
	add_strings(b, "notes", (char **)keep->pdata);
	add_strings(b, "problems", u->problems ? (char **)u->problems->pdata :
		    !strcmp(report_preflight(u), "failed") || !u->to ? (char **)failed : NULL);
}

/* ---- reports ---- */

static void
unit_json(struct unit *u, gboolean dry, JsonBuilder *b)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, u->id);
	json_builder_set_member_name(b, "migration");
	json_builder_add_string_value(b, u->m->id);
	json_builder_set_member_name(b, "vm");
	json_builder_add_string_value(b, u->vm);
	json_builder_set_member_name(b, "from");
	json_builder_add_string_value(b, u->m->from->name);
	json_builder_set_member_name(b, "to");
	if (u->to)
		json_builder_add_string_value(b, u->to->name);
	else
		json_builder_add_null_value(b);	/* a to: list: not placed */
	if (json_object_has_member(u->facts, FACT_PLACEMENT)) {
		json_builder_set_member_name(b, "placement");
		json_builder_add_value(b, json_node_copy(json_object_get_member(u->facts, FACT_PLACEMENT)));
	}
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, mode_name(u->mode));
	json_builder_set_member_name(b, "status");
	json_builder_add_string_value(b, unit_status_name(u->status));
	json_builder_set_member_name(b, "steps_done");
	json_builder_begin_array(b);
	for (guint i = 0; i < u->done->len; i++)
		json_builder_add_string_value(b, step_name(g_array_index(u->done, int, i)));
	json_builder_end_array(b);
	if (u->running >= 0) {
		json_builder_set_member_name(b, "running_step");
		json_builder_add_string_value(b, step_name(u->running));
	}
	if (u->failed_step >= 0) {
		json_builder_set_member_name(b, "failed_step");
		json_builder_add_string_value(b, step_name(u->failed_step));
	}
	if (u->error) {
		json_builder_set_member_name(b, "error");
		json_builder_add_string_value(b, u->error);
	}
	if (fact_array(u, FACT_ATTEMPTS)) {
		json_builder_set_member_name(b, "attempts");
		json_builder_add_value(b, json_node_copy(json_object_get_member(u->facts, FACT_ATTEMPTS)));
	}
	if (dry)
		unit_dry_json(u, b);
	json_builder_end_object(b);
}

/* The attempts that failed before the mode it runs in: "; live failed
 * after 120 s (not converging: 3.1 GiB/s dirty vs 1.0 GiB/s), moved cold" */
static void
attempts_text(struct unit *u, GString *t)
{
	JsonArray *a = fact_array(u, FACT_ATTEMPTS);

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);

		if (!o)
			continue;
		g_string_append_printf(t, "; %s failed after %" G_GINT64_FORMAT " s (%s), %s %s",
				       json_object_get_string_member_with_default(o, "mode", "live"),
				       json_object_get_int_member_with_default(o, "after_s", 0),
				       json_object_get_string_member_with_default(o, "why", "?"),
				       u->status == U_DONE ? "moved" : "fell back to", mode_name(u->mode));
	}
}

static void
unit_text(struct unit *u, GString *t)
{
	g_autofree char *to = u->to ? NULL : placement_pool_text(u->m);

	if (u->to && *fact_str(u, FACT_PLACED_HOST))
		to = g_strdup_printf("%s (placed: %s)", u->to->name,
				     json_object_get_string_member_with_default(json_object_get_object_member(u->facts, FACT_PLACEMENT),
										"policy", "?"));
	g_string_append_printf(t, "%s (%s -> %s, %s): ", u->id, u->m->from->name, to ? to : u->to->name,
			       mode_name(u->mode));
	switch (u->status) {
	case U_INTERRUPTED:
		if (u->running >= 0)
			g_string_append_printf(t, "interrupted during %s (resume continues)", step_name(u->running));
		else
			g_string_append_printf(t, "interrupted after %u step%s (resume continues)", u->done->len,
					       u->done->len == 1 ? "" : "s");
		break;
	case U_FAILED:
		g_string_append_printf(t, "failed at %s: %s", u->failed_step >= 0 ? step_name(u->failed_step) :
				       !u->to ? "placement" : "?", u->error ? u->error : "");
		break;
	case U_ROLLED_BACK:
		g_string_append_printf(t, "rolled back%s%s", u->error ? " after: " : "", u->error ? u->error : "");
		break;
	case U_DEFERRED:
		g_string_append_printf(t, "deferred: %s", u->error ? u->error : "");
		break;
	case U_BLOCKED:
		g_string_append_printf(t, "blocked: %s", u->error ? u->error : "");
		break;
	case U_DONE:
		g_string_append(t, fact_bool(u, FACT_ALREADY_DONE, FALSE) ? "done (it was already on the target)" : "done");
		break;
	default:
		g_string_append(t, unit_status_name(u->status));
	}
	attempts_text(u, t);
	g_string_append_c(t, '\n');
}

static void
report_json(struct exec *x, const char *what, int result, GString *json)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *s = NULL;
	static const char *const results[] = { [RUN_OK] = "ok", [RUN_FAILED] = "failed", [2] = "invalid",
					       [RUN_INTERRUPTED] = "interrupted" };

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "plan");
	json_builder_add_string_value(b, x->plan->name);
	json_builder_set_member_name(b, "command");
	json_builder_add_string_value(b, what);
	json_builder_set_member_name(b, "result");
	json_builder_add_string_value(b, results[result]);
	json_builder_set_member_name(b, "state_dir");
	json_builder_add_string_value(b, x->state_dir);
	if (!strcmp(what, "dry-run")) {
		json_builder_set_member_name(b, "plan_sha256");
		json_builder_add_string_value(b, x->plan->sha256);
	}
	json_builder_set_member_name(b, "migrations");
	json_builder_begin_array(b);
	for (guint i = 0; i < x->units->len; i++)
		if (((struct unit *)x->units->pdata[i])->selected || !strcmp(what, "status"))
			unit_json(x->units->pdata[i], !strcmp(what, "dry-run"), b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	s = json_generator_to_data(gen, NULL);
	g_string_append_printf(json, "%s\n", s);
}

void
report_write(struct exec *x, const char *what, int result, GString *json, GString *text)
{
	guint deferred = 0;

	if (json)
		report_json(x, what, result, json);
	if (!text)
		return;
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (!u->selected && strcmp(what, "status"))
			continue;
		unit_text(u, text);
		deferred += u->status == U_DEFERRED;
	}
	if (deferred)
		g_string_append_printf(text, "%u migration%s deferred by the plan's window: vmshift resume %s in a later one\n",
				       deferred, deferred == 1 ? "" : "s", x->plan->path);
}

int
report_overall(struct exec *x)
{
	int rc = RUN_OK;

	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (!u->selected)
			continue;
		if (u->status == U_INTERRUPTED || u->status == U_PENDING)
			rc = MAX(rc, RUN_INTERRUPTED);
		else if (u->status != U_DONE)
			rc = rc == RUN_INTERRUPTED ? rc : RUN_FAILED;
	}
	return rc;
}
