/* executor.c: setup (journal, hosts, units) and the entry points: apply
 * (and its dry-run), resume, rollback, status. */
#include <string.h>

#include "engine.h"
#include "placement.h"
#include "resolved.h"
#include "schedule.h"
#include "window.h"
#include "step_common.h"

/* The journal's "resolve" records, by migration id. */
static GHashTable *
journal_resolutions(GPtrArray *recs)
{
	GHashTable *res = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_array_unref);

	for (guint i = 0; recs && i < recs->len; i++) {
		const struct journal_rec *r = recs->pdata[i];

		if (!strcmp(r->ev, "resolve") && r->migration && r->vms)
			g_hash_table_insert(res, g_strdup(r->migration), json_array_ref(r->vms));
	}
	return res;
}

/* g_ptr_array_sort() passes pointers to the elements */
static gint
cmp_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* The domains on the source host that @m's pattern matches, by name. */
static GPtrArray *
resolve_match(struct exec *x, struct migration *m, GError **err)
{
	struct hostconn *hc = exec_host(x, m->from);
	virDomainPtr *doms = NULL;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(m->match_re, NULL);
	int n = virConnectListAllDomains(hc->conn, &doms, VIR_CONNECT_LIST_DOMAINS_PERSISTENT);

	if (n < 0) {
		g_autofree char *e = virt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot list the domains of %s: %s", hc->h->name, e);
		g_ptr_array_unref(names);
		names = NULL;
	}
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);

		if (pcre2_match(m->match_re, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) >= 0)
			g_ptr_array_add(names, g_strdup(name));
		virDomainFree(doms[i]);
	}
	free(doms);
	pcre2_match_data_free(md);
	if (names)
		g_ptr_array_sort(names, cmp_names);
	return names;
}

static int
build_units(struct exec *x, GPtrArray *recs, GError **err)
{
	g_autoptr(GHashTable) res = journal_resolutions(recs);

	x->units = g_ptr_array_new_with_free_func(unit_free);
	for (guint i = 0; i < x->plan->order->len; i++) {
		struct migration *m = x->plan->order->pdata[i];
		JsonArray *known;
		g_autoptr(GPtrArray) vms = NULL;

		if (!m->match) {
			unit_new(x, m, m->vm);
			continue;
		}
		if ((known = g_hash_table_lookup(res, m->id))) {
			for (guint k = 0; k < json_array_get_length(known); k++)
				unit_new(x, m, json_array_get_string_element(known, k));
			continue;
		}
		if (!x->hosts)
			continue;	/* status: not resolved yet */
		/* apply --resolved: the names reviewed, not those of now */
		if (!(x->resolved && (vms = resolved_match_vms(x->resolved, m->id))) && !(vms = resolve_match(x, m, err)))
			return -1;
		sink_log(&x->sink, "%s: '%s' matches %u domain%s on %s", m->id, m->match, vms->len,
			 vms->len == 1 ? "" : "s", m->from->name);
		if (x->j) {
			JsonObject *rec = unit_record_new("resolve", NULL);
			JsonArray *a = json_array_new();

			for (guint k = 0; k < vms->len; k++)
				json_array_add_string_element(a, vms->pdata[k]);
			json_object_set_string_member(rec, "migration", m->id);
			json_object_set_array_member(rec, "vms", a);
			if (unit_journal_put(x, rec, err) < 0)
				return -1;
		}
		for (guint k = 0; k < vms->len; k++)
			unit_new(x, m, vms->pdata[k]);
	}
	return 0;
}

/* What a migration is, for "did it change since the run began?": the
 * planner's fingerprint (FINGERPRINT_VERSION in facts.h). */
static char *
fingerprint(const struct plan *plan, const struct migration *m)
{
	return plan_migration_fingerprint(plan, m);
}

/* The hosts a unit's journal names (by their libvirt host UUID) must be
 * the hosts its plan entry reaches now: undo and resume act on what the
 * run touched, never on whatever the plan names today. */
static int
check_same_hosts(struct exec *x, struct unit *u, GError **err)
{
	const struct { const char *key; struct hostconn *hc; const char *role; } ends[] = {
		{ FACT_SOURCE_HOST_UUID, u->src, "source" }, { FACT_TARGET_HOST_UUID, u->dst, "target" },
	};

	for (guint k = 0; k < G_N_ELEMENTS(ends); k++) {
		const char *was = fact_str(u, ends[k].key);

		if (!*was || !ends[k].hc || !ends[k].hc->uuid || !strcmp(was, ends[k].hc->uuid))
			continue;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: the journal in %s says its %s was the libvirt host with uuid %s, but the plan's '%s' (%s) is host %s now; vmshift acts only on the hosts the run used: put the plan back as it was (if it is the same machine and its libvirt host UUID changed, as it does at each restart on machines without a usable SMBIOS UUID, fix it with host_uuid in its libvirtd.conf)",
			    u->id, x->state_dir, ends[k].role, was, ends[k].hc->h->name, ends[k].hc->h->uri,
			    ends[k].hc->uuid);
		return -1;
	}
	return 0;
}

/* Refuse a plan whose migrations changed since their attempt began:
 * steps already taken were taken for the plan as it was then, and a done
 * migration that the plan now describes otherwise was not done as it
 * says.  Each attempt records its migration's fingerprint (engine_run_unit()). */
static int
check_unchanged(struct exec *x, GError **err)
{
	g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		const char *was = fact_str(u, FACT_FINGERPRINT);
		g_autofree char *now = NULL;
		gint64 version;

		if (!*was || !u->selected || u->status == U_ROLLED_BACK)
			continue;
		if (check_same_hosts(x, u, err) < 0)
			return -1;
		version = json_object_get_int_member_with_default(u->facts, FACT_FINGERPRINT_VERSION, 1);
		if (version != FINGERPRINT_VERSION) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "%s: the journal in %s was written by an older vmshift (plan fingerprint version %" G_GINT64_FORMAT ", this one writes %d), so this one cannot check that the plan is unchanged; finish or roll back the run with the vmshift that began it, or use another --state-dir to start over",
				    u->id, x->state_dir, version, FINGERPRINT_VERSION);
			return -1;
		}
		now = fingerprint(x->plan, u->m);
		if (strcmp(now, was) && !g_ptr_array_find_with_equal_func(changed, u->m->id, g_str_equal, NULL))
			g_ptr_array_add(changed, g_strdup(u->m->id));
	}
	if (!changed->len)
		return 0;
	g_ptr_array_add(changed, NULL);
	{
		g_autofree char *all = g_strjoinv(", ", (char **)changed->pdata);

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the plan changed since the run in %s began, for migration(s) %s (done or not: what was done was done for the plan as it was); put the plan back as it was to resume or roll back, or use another --state-dir to start over",
			    x->state_dir, all);
	}
	return -1;
}

/* A state directory belongs to one plan file: the first run there names
 * it.  Another file of the same plan name (a copy, a second plan in one
 * directory) would otherwise find "its" migrations done. */
static int
check_plan_file(struct exec *x, GPtrArray *recs, GError **err)
{
	for (guint i = 0; recs && i < recs->len; i++) {
		const struct journal_rec *r = recs->pdata[i];
		const char *file, *sum;
		g_autofree char *was = NULL;

		if (strcmp(r->ev, "run"))
			continue;
		file = r->plan ? r->plan : "";
		sum = r->plan_sha256 ? r->plan_sha256 : "";
		was = g_canonicalize_filename(file, NULL);
		if (!strcmp(was, x->plan_file) || !strcmp(sum, x->plan->sha256))
			return 0;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "the state directory %s holds the journal of another plan file, %s (plan '%s', sha256 %.12s...), not of %s; give this plan its own --state-dir (or its own name:)",
			    x->state_dir, file, x->plan->name, sum, x->plan_file);
		return -1;
	}
	return 0;
}

static int
record_run(struct exec *x, const char *cmd, const char *resolved_sum, GError **err)
{
	JsonObject *rec = unit_record_new("run", NULL);

	if (resolved_sum) {
		json_object_set_string_member(rec, "resolved", x->o->resolved);
		json_object_set_string_member(rec, "resolved_sha256", resolved_sum);
	}

	/* each migration's fingerprint goes with its attempt (engine_run_unit()) */
	if (x->only) {
		JsonArray *a = json_array_new();

		for (guint i = 0; x->only[i]; i++)
			json_array_add_string_element(a, x->only[i]);
		json_object_set_array_member(rec, "only", a);
	}
	json_object_set_string_member(rec, "cmd", cmd);
	json_object_set_string_member(rec, "plan", x->plan_file);
	json_object_set_string_member(rec, "plan_sha256", x->plan->sha256);
	events_record(&x->sink, rec, "start");
	x->run_begun = TRUE;
	return unit_journal_put(x, rec, err);
}

/* The run's end as an event, once its start was one: the exit code
 * and the selected units by status. */
static void
run_ended(struct exec *x, const char *cmd, int rc, GError **err)
{
	g_autoptr(JsonObject) counts = json_object_new();

	if (!x->run_begun || !events_wanted(&x->sink))
		return;
	for (guint i = 0; x->units && i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		const char *st = unit_status_name(u->status);

		if (u->selected)
			json_object_set_int_member(counts, st, json_object_get_int_member_with_default(counts, st, 0) + 1);
	}
	events_run_end(&x->sink, cmd, rc < 0 ? RUN_FAILED : rc, counts, rc < 0 && err && *err ? (*err)->message : NULL);
}

/* The run's last records on disk before it reports: a run whose journal
 * is not complete on disk has not succeeded. */
static int
finish_journal(struct exec *x, int rc)
{
	g_autoptr(GError) e = NULL;

	if (!x->j || journal_flush(x->j, &e) == 0)
		return rc;
	if (!g_atomic_int_exchange(&x->journal_failed, TRUE))
		sink_log(&x->sink, "the journal in %s cannot be written (%s): the journal is incomplete", x->state_dir,
			 e->message);
	return rc == RUN_OK ? RUN_FAILED : rc;
}

/* ---- setup ---- */

char *
executor_default_state_dir(const struct plan *plan)
{
	g_autofree char *dir = g_path_get_dirname(plan->path);

	return g_build_filename(dir, ".vmshift", plan->name, NULL);
}

static void
exec_init(struct exec *x, struct plan *plan, const struct exec_opts *o)
{
	memset(x, 0, sizeof(*x));
	x->plan = plan;
	x->o = o;
	x->state_dir = o->state_dir ? g_strdup(o->state_dir) : executor_default_state_dir(plan);
	x->plan_file = g_canonicalize_filename(plan->path, NULL);
	x->sink = (struct sink){ .log = o->log, .progress = o->progress, .event = o->event, .ud = o->log_ud };
	x->by_id = g_hash_table_new(g_str_hash, g_str_equal);
	x->started_us = g_get_monotonic_time();
	x->placed_now = g_ptr_array_new();
	g_mutex_init(&x->mu);
	fault_parse(x);
}

static void
exec_release(struct exec *x)
{
	g_ptr_array_unref(x->placed_now);
	if (x->units)
		g_ptr_array_unref(x->units);
	g_hash_table_unref(x->by_id);
	if (x->file_locks)
		g_hash_table_unref(x->file_locks);
	if (x->same_files)
		g_hash_table_unref(x->same_files);
	hosts_close(x->hosts);
	journal_close(x->j);
	g_free(x->state_dir);
	g_free(x->plan_file);
	g_strfreev(x->only);
	if (x->faults)
		g_ptr_array_unref(x->faults);
	g_mutex_clear(&x->mu);
}

static int
check_only(struct exec *x, GError **err)
{
	for (guint i = 0; x->only && x->only[i]; i++) {
		if (!plan_migration(x->plan, x->only[i])) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "--only names '%s', which is no migration id of plan '%s'", x->only[i],
				    x->plan->name);
			return -1;
		}
	}
	return 0;
}

static int
exec_setup(struct exec *x, gboolean connect, gboolean lock, const char *const *fact_keys, GPtrArray **recs,
	   GError **err)
{
	g_autofree char *jpath = g_build_filename(x->state_dir, "journal.jsonl", NULL);

	if (lock && !(x->j = journal_open(x->state_dir, err)))
		return -1;
	if (!(*recs = journal_read(jpath, fact_keys, err)))
		return -1;
	x->only = g_strdupv(x->o->only);
	if (x->o->resume && !x->only) {
		/* resume carries on with what the interrupted run selected */
		for (guint i = (*recs)->len; i-- > 0;) {
			const struct journal_rec *r = (*recs)->pdata[i];

			if (strcmp(r->ev, "run") || g_strcmp0(r->cmd, "apply"))
				continue;
			if (r->only) {
				JsonArray *a = r->only;
				GStrvBuilder *b = g_strv_builder_new();

				for (guint k = 0; k < json_array_get_length(a); k++)
					g_strv_builder_add(b, json_array_get_string_element(a, k));
				x->only = g_strv_builder_end(b);
				g_strv_builder_unref(b);
			}
			break;
		}
	}
	if (check_only(x, err) < 0 || (connect && hosts_connect(x->plan, &x->sink, x->o->dry_run, x->o->accept_new_host_keys, &x->hosts, err) < 0))
		return -1;
	return build_units(x, *recs, err);
}

/* apply --resolved: a dry run, read-only and without the journal's lock,
 * compared with the resolved plan (resolved.h) before anything is
 * written; *saved is the plan, checked. */
static int
resolved_check(struct plan *plan, const struct exec_opts *o, JsonObject **saved, char *sum, GError **err)
{
	struct exec_opts d = *o;
	struct exec y;
	g_autoptr(GPtrArray) recs = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	int rc = -1;

	if (!(*saved = resolved_load(o->resolved, sum, err)))
		return -1;
	d.dry_run = TRUE;
	exec_init(&y, plan, &d);
	sink_log(&y.sink, "checking %s against the hosts (a dry run)", o->resolved);
	if (exec_setup(&y, TRUE, FALSE, NULL, &recs, err) == 0) {
		units_replay(&y, recs);
		if (placement_restore(&y, TRUE, err) == 0) {
			placement_decide(&y);
			engine_dry_run(&y, text);
			rc = resolved_compare(&y, *saved, o->resolved, o->max_age_s ? o->max_age_s : RESOLVED_MAX_AGE_S, err);
		}
	}
	exec_release(&y);
	return rc;
}

int
executor_apply(struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	struct exec x;
	g_autoptr(GPtrArray) recs = NULL;
	g_autoptr(JsonObject) saved = NULL;
	char sum[65] = "";
	int rc = -1;

	if (o->resolved && !o->resume && !o->dry_run && resolved_check(plan, o, &saved, sum, err) < 0)
		return -1;
	exec_init(&x, plan, o);
	x.resolved = saved;
	if (o->resume) {
		g_autofree char *jpath = g_build_filename(x.state_dir, "journal.jsonl", NULL);

		if (!g_file_test(jpath, G_FILE_TEST_EXISTS)) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "nothing to resume: no journal at %s (vmshift apply starts a run)", jpath);
			goto out;
		}
	}
	if (exec_setup(&x, TRUE, !o->dry_run, NULL, &recs, err) < 0)
		goto out;
	if (o->dry_run) {
		/* what the journal says this run did (its domains, its copies) */
		units_replay(&x, recs);
		if (placement_restore(&x, TRUE, err) < 0)
			goto out;
		placement_decide(&x);
		if (claims_check(&x, err) < 0)
			goto out;
		for (guint i = 0; i < x.units->len; i++)
			if (((struct unit *)x.units->pdata[i])->selected && ((struct unit *)x.units->pdata[i])->to)
				window_note(&x, x.units->pdata[i]);
		engine_dry_run(&x, text);
		rc = report_overall(&x) == RUN_OK ? RUN_OK : RUN_FAILED;
		report_write(&x, "dry-run", rc, json, NULL);
		if (o->markdown)
			report_markdown(&x, rc, text);
		if (o->save && rc != RUN_OK)
			sink_log(&x.sink, "not saved to %s: the dry run found problems (see above)", o->save);
		else if (o->save && resolved_save(&x, err) < 0)
			rc = -1;
		goto out;
	}
	units_replay(&x, recs);
	if (check_plan_file(&x, recs, err) < 0 || (o->resume && resolved_same_run(&x, recs, err) < 0) ||
	    placement_restore(&x, TRUE, err) < 0 || check_unchanged(&x, err) < 0)
		goto out;
	if (x.resolved)
		resolved_place(&x, x.resolved);
	/* where each VM of a to: list goes: a claim needs its target host;
	 * journaled once the run starts, before its first step */
	placement_decide(&x);
	if (claims_check(&x, err) < 0 || record_run(&x, o->resume ? "resume" : "apply", x.resolved ? sum : NULL, err) < 0 ||
	    placement_journal(&x, err) < 0)
		goto out;
	x.started_us = g_get_monotonic_time();	/* --now is the clock when the migrations start */
	exec_schedule(&x);
	rc = finish_journal(&x, report_overall(&x));
	report_write(&x, o->resume ? "resume" : "apply", rc, json, text);
out:
	run_ended(&x, o->resume ? "resume" : "apply", rc, err);
	exec_release(&x);
	return rc;
}

int
executor_rollback(struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	struct exec x;
	g_autoptr(GPtrArray) recs = NULL;
	int rc = -1;

	exec_init(&x, plan, o);
	if (o->force && !o->only) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "rollback --force needs --only ID...: name the done migrations to undo (without --only, rollback undoes only failed and interrupted ones)");
		goto out;
	}
	if (exec_setup(&x, TRUE, TRUE, NULL, &recs, err) < 0)
		goto out;
	units_replay(&x, recs);
	if (check_plan_file(&x, recs, err) < 0 || resolved_same_run(&x, recs, err) < 0 ||
	    placement_restore(&x, TRUE, err) < 0)
		goto out;
	for (guint i = 0; i < x.units->len; i++) {
		struct unit *u = x.units->pdata[i];

		u->selected = x.only ? u->selected : (u->status == U_FAILED || u->status == U_INTERRUPTED);
		if (u->selected && u->status == U_DONE && !o->force) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s is done: it runs on %s now, and rolling it back stops it there and discards what it wrote since (its copied disks); add --force to do it anyway",
				    u->id, u->to ? u->to->name : "its target");
			goto out;
		}
	}
	if (check_unchanged(&x, err) < 0 || record_run(&x, "rollback", NULL, err) < 0)
		goto out;
	rc = RUN_OK;
	/* dependents first: the reverse of execution order */
	for (guint i = x.units->len; i-- > 0;) {
		struct unit *u = x.units->pdata[i];
		g_autoptr(GError) e = NULL;

		if (!u->selected)
			continue;
		if ((u->done->len == 0 && u->running < 0 && u->failed_step < 0) ||
		    fact_bool(u, FACT_ALREADY_DONE, FALSE)) {
			sink_log(&x.sink, "%s: nothing to roll back: vmshift changed nothing for it", u->id);
			continue;
		}
		if (engine_rollback_unit(&x, u, &e) < 0) {
			sink_log(&x.sink, "%s", e->message);
			rc = RUN_FAILED;
		}
	}
	rc = finish_journal(&x, rc);
	report_write(&x, "rollback", rc, json, text);
out:
	run_ended(&x, "rollback", rc, err);
	exec_release(&x);
	return rc;
}

int
executor_status(struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	struct exec x;
	g_autoptr(GPtrArray) recs = NULL;
	g_autoptr(GHashTable) resolved = g_hash_table_new(NULL, NULL);	/* migrations with units */
	/* the report shows a few facts: building the others is most of a read */
	static const char *const shown[] = { FACT_ALREADY_DONE, FACT_PLACED_HOST, FACT_PLACEMENT, FACT_MODE, FACT_ATTEMPTS, NULL };
	int rc = -1;

	exec_init(&x, plan, o);
	if (exec_setup(&x, FALSE, FALSE, shown, &recs, err) < 0)
		goto out;
	units_replay(&x, recs);
	placement_restore(&x, FALSE, NULL);
	if (!recs->len)
		g_string_append_printf(text, "no run yet (no journal in %s)\n", x.state_dir);
	for (guint k = 0; k < x.units->len; k++)
		g_hash_table_add(resolved, ((struct unit *)x.units->pdata[k])->m);
	for (guint i = 0; i < plan->order->len; i++) {
		struct migration *m = plan->order->pdata[i];

		g_autofree char *to = NULL;

		if (g_hash_table_contains(resolved, m))
			continue;
		to = m->to ? g_strdup(m->to->name) : placement_pool_text(m);
		g_string_append_printf(text, "%s (%s -> %s, %s): pending (the pattern '%s' is resolved when the run starts)\n",
				       m->id, m->from->name, to, mode_name(m->set.mode), m->match);
	}
	rc = report_overall(&x);
	report_write(&x, "status", rc, json, text);
out:
	exec_release(&x);
	return rc;
}
