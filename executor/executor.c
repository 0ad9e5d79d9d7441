/* executor.c: setup (journal, hosts, units) and the entry points: apply
 * (and its dry-run), resume, rollback, status. */
#include <string.h>

#include "engine.h"
#include "placement.h"
#include "window.h"
#include "sched.h"
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
		if (!(vms = resolve_match(x, m, err)))
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
 * planner's fingerprint, which walks its own field tables.  The journal
 * records the version; 1 and 2 were lists written by hand here. */
#define FINGERPRINT_VERSION 4

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
record_run(struct exec *x, const char *cmd, GError **err)
{
	JsonObject *rec = unit_record_new("run", NULL);

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
	return unit_journal_put(x, rec, err);
}

/* ---- scheduling: each unit is a job of the scheduler (sched.h) ---- */

static gboolean
runnable(struct unit *u)
{
	return u->selected && (u->status == U_PENDING || u->status == U_INTERRUPTED || u->status == U_FAILED ||
			       u->status == U_ROLLED_BACK || u->status == U_BLOCKED || u->status == U_DEFERRED);
}

/* Outside the window, or too long for what is left of it: not started.
 * A migration under way (a step done, begun or failed) is never
 * deferred: it finishes, rather than leave a VM down until the next
 * window. */
static gboolean
deferred(struct exec *x, struct unit *u)
{
	gint64 est;
	g_autofree char *why = NULL;

	if (u->done->len || u->running >= 0 || u->failed_step >= 0 || !(why = window_check(x, u, &est)))
		return FALSE;
	g_mutex_lock(&x->mu);
	u->status = U_DEFERRED;
	g_free(u->error);
	u->error = g_steal_pointer(&why);
	g_mutex_unlock(&x->mu);
	sink_log(&x->sink, "%s: deferred: %s", u->id, u->error);
	unit_record_status(x, u, NULL);
	return TRUE;
}

static gboolean
run_job(gpointer ud, guint j)
{
	struct exec *x = ud;
	struct unit *u = x->units->pdata[j];
	g_autofree char *fp = fingerprint(x->plan, u->m);
	gboolean reset = FALSE, copied_before;
	gint64 t0;

	g_mutex_lock(&x->mu);	/* other units' workers read its facts */
	if ((reset = u->status == U_ROLLED_BACK))
		unit_reset(u);
	g_mutex_unlock(&x->mu);
	if (reset)
		unit_journal_put(x, unit_record_new("reset", u), NULL);
	if (deferred(x, u))
		return FALSE;	/* its dependents are blocked */
	g_mutex_lock(&x->mu);
	u->status = U_RUNNING;
	g_mutex_unlock(&x->mu);
	copied_before = unit_has_done(u, STEP_COPY_DISKS);
	t0 = g_get_monotonic_time();
	engine_run_unit(x, u, fp, FINGERPRINT_VERSION);
	window_measured(x, u, copied_before, g_get_monotonic_time() - t0);
	return u->status == U_DONE;
}

static void
job_blocked(gpointer ud, guint j, guint by)
{
	struct exec *x = ud;
	struct unit *u = x->units->pdata[j], *o = x->units->pdata[by];

	g_mutex_lock(&x->mu);
	u->status = U_BLOCKED;
	g_free(u->error);
	u->error = g_strdup_printf("it runs after %s, which is %s", o->id,
				   !o->selected ? "not selected and not done" : unit_status_name(o->status));
	g_mutex_unlock(&x->mu);
	sink_log(&x->sink, "%s: blocked: %s", u->id, u->error);
	unit_record_status(x, u, NULL);
}

static void
schedule(struct exec *x)
{
	const struct plan *p = x->plan;
	guint n = x->units->len, ng = p->migrations->len, ne = 0;
	g_autofree struct sched_job *jobs = g_new0(struct sched_job, n + 1);
	g_autofree guint *after_at = g_new0(guint, ng + 1), *limits = g_new0(guint, p->hosts->len + 1);
	g_autofree guint *after = NULL;
	struct sched s = {
		.jobs = jobs, .n_jobs = n, .n_groups = ng, .after_at = after_at, .host_limit = limits,
		.n_hosts = p->hosts->len, .limit = (guint)p->max_parallel, .interrupted = x->o->interrupted,
		.run = run_job, .blocked = job_blocked, .ud = x,
	};

	for (guint g = 0; g < ng; g++)
		ne += ((struct migration *)p->migrations->pdata[g])->after->len;
	s.after = after = g_new0(guint, ne + 1);
	for (guint g = 0, e = 0; g < ng; g++) {
		const struct migration *m = p->migrations->pdata[g];

		for (guint d = 0; d < m->after->len; d++)
			after[e++] = ((struct migration *)m->after->pdata[d])->index;
		after_at[g + 1] = e;
	}
	for (guint h = 0; h < p->hosts->len; h++)
		limits[h] = (guint)((struct host *)p->hosts->pdata[h])->max_parallel;
	for (guint j = 0; j < n; j++) {
		struct unit *u = x->units->pdata[j];

		/* a unit placement found no room for is failed, not tried */
		jobs[j] = (struct sched_job){
			.src = u->m->from->index, .dst = u->to ? u->to->index : u->m->from->index, .group = u->m->index,
			.start = u->status == U_DONE ? SCHED_DONE : runnable(u) && u->to ? SCHED_TODO : SCHED_OUT,
		};
	}
	sched_run(&s, NULL);
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
	x->sink = (struct sink){ .log = o->log, .progress = o->progress, .ud = o->log_ud };
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

int
executor_apply(struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	struct exec x;
	g_autoptr(GPtrArray) recs = NULL;
	int rc = -1;

	exec_init(&x, plan, o);
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
		goto out;
	}
	units_replay(&x, recs);
	if (check_plan_file(&x, recs, err) < 0 || placement_restore(&x, TRUE, err) < 0 || check_unchanged(&x, err) < 0)
		goto out;
	/* where each VM of a to: list goes: a claim needs its target host;
	 * journaled once the run starts, before its first step */
	placement_decide(&x);
	if (claims_check(&x, err) < 0 || record_run(&x, o->resume ? "resume" : "apply", err) < 0 ||
	    placement_journal(&x, err) < 0)
		goto out;
	x.started_us = g_get_monotonic_time();	/* --now is the clock when the migrations start */
	schedule(&x);
	rc = finish_journal(&x, report_overall(&x));
	report_write(&x, o->resume ? "resume" : "apply", rc, json, text);
out:
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
	if (check_plan_file(&x, recs, err) < 0 || placement_restore(&x, TRUE, err) < 0)
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
	if (check_unchanged(&x, err) < 0 || record_run(&x, "rollback", err) < 0)
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
