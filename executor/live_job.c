/* live_job.c: one live migration job, watched (see live_job.h): its
 * parameters, the thread that runs virDomainMigrate3, and the watch: the
 * downtime ladder, progress lines, the timeout. */
#include <string.h>

#include "live_job.h"
#include "step_common.h"

static unsigned int
migrate_flags(const struct live_opts *l)
{
	unsigned int f = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_ABORT_ON_ERROR;

	if (l->auto_converge)
		f |= VIR_MIGRATE_AUTO_CONVERGE;
	if (l->postcopy)
		f |= VIR_MIGRATE_POSTCOPY;
	if (l->compressed)
		f |= VIR_MIGRATE_COMPRESSED;
	if (l->parallel_connections > 0)
		f |= VIR_MIGRATE_PARALLEL;
	if (l->tls)
		f |= VIR_MIGRATE_TLS;
	if (l->unsafe)
		f |= VIR_MIGRATE_UNSAFE;
	if (l->copy_storage == COPY_STORAGE_ALL)
		f |= VIR_MIGRATE_NON_SHARED_DISK;
	else if (l->copy_storage == COPY_STORAGE_INC)
		f |= VIR_MIGRATE_NON_SHARED_INC;
	return f;
}

struct job {
	virDomainPtr dom;
	virConnectPtr dconn;
	virTypedParameterPtr params;
	int nparams;
	unsigned int flags;
	char *error;		/* libvirt's message, read in the migrating thread */
	int code;		/* and its code */
	gboolean ok;
	GMutex mu;
	GCond ended;		/* signalled when done turns TRUE */
	gboolean done;		/* under mu */
};

static gpointer
job_main(gpointer p)
{
	struct job *j = p;
	virDomainPtr d = virDomainMigrate3(j->dom, j->dconn, j->params, j->nparams, j->flags);

	if (d) {
		j->ok = TRUE;
		virDomainFree(d);
	} else {
		virErrorPtr e = virGetLastError();

		j->code = e ? e->code : VIR_ERR_INTERNAL_ERROR;
		j->error = virt_error();
	}
	g_mutex_lock(&j->mu);
	j->done = TRUE;
	g_cond_signal(&j->ended);
	g_mutex_unlock(&j->mu);
	return NULL;
}

/* Wait up to @us for the job to end: TRUE once it has.  The watch wakes
 * at once when it ends, not at its next poll (a short migration would
 * otherwise wait for it). */
static gboolean
job_wait(struct job *j, gint64 us)
{
	gint64 until = g_get_monotonic_time() + us;
	gboolean done;

	g_mutex_lock(&j->mu);
	while (!j->done && g_cond_wait_until(&j->ended, &j->mu, until))
		;
	done = j->done;
	g_mutex_unlock(&j->mu);
	return done;
}

static unsigned long long
stat_ull(virTypedParameterPtr params, int n, const char *name)
{
	unsigned long long v = 0;

	virTypedParamsGetULLong(params, n, name, &v);
	return v;
}

/* The target names (vda, hdb...) of the disks copy_storage copies: the
 * writable file disks.  NULL if one has no name: then libvirt picks. */
static GPtrArray *
storage_disks(struct unit *u)
{
	g_autoptr(GPtrArray) paths = NULL;
	GPtrArray *names;

	if (!u->sxml)
		return NULL;
	names = g_ptr_array_new_with_free_func(g_free);
	paths = domxml_paths(u->sxml);
	for (guint i = 0; i < paths->len; i++) {
		struct dom_path *p = paths->pdata[i];

		if (p->kind != DOM_PATH_DISK || !p->copy || p->readonly)
			continue;
		if (!g_str_has_prefix(p->what, "disk ") || p->what[5] == '#') {
			g_ptr_array_unref(names);
			return NULL;
		}
		g_ptr_array_add(names, g_strndup(p->what + 5, strcspn(p->what + 5, " ")));
	}
	return names;
}

/* The migration's parameters into @j; -1 (libvirt's error set) if they
 * cannot be built. */
static int
job_params(struct unit *u, struct job *j, const char *dxml, const char *uri, const struct live_opts *l,
	   gboolean persist)
{
	int maxp = 0;

	if (virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_DEST_XML, dxml) < 0 ||
	    (persist && virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_PERSIST_XML, dxml) < 0) ||
	    (uri && virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_URI, uri) < 0) ||
	    (l->bandwidth_mib_s > 0 &&
	     virTypedParamsAddULLong(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_BANDWIDTH,
				     (unsigned long long)l->bandwidth_mib_s) < 0) ||
	    (l->parallel_connections > 0 &&
	     virTypedParamsAddInt(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
				  (int)l->parallel_connections) < 0))
		return -1;
	if (l->copy_storage != COPY_STORAGE_NONE) {
		g_autoptr(GPtrArray) disks = storage_disks(u);

		for (guint i = 0; disks && i < disks->len; i++)
			if (virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_MIGRATE_DISKS,
						    disks->pdata[i]) < 0)
				return -1;
	}
	j->flags = migrate_flags(l);
	if (!persist)
		j->flags &= ~VIR_MIGRATE_PERSIST_DEST;
	return 0;
}

/* What the watch knows of the running job. */
struct watch {
	struct exec *x;
	struct unit *u;
	virDomainPtr d;
	const struct live_opts *l;
	gboolean forward;	/* the ladder, journaled; else the maximum at once */
	gint64 limit;		/* the downtime limit set, ms; 0: none yet */
	gint64 ladder_t0;	/* when the first limit was set (monotonic us) */
	gint64 step;		/* the ladder's step set, 0 .. live_downtime_steps() */
	guint64 passes;
	struct live_end *end;
};

static void
job_figures(struct watch *w, virTypedParameterPtr st, int nst)
{
	unsigned long long page = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE);

	w->passes = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_ITERATION);
	w->end->bandwidth_mib_s = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_BPS) / 1048576.0;
	w->end->dirty_mib_s = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE) * (double)(page ? page : 4096) / 1048576.0;
	w->end->remaining_mib = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_REMAINING) / 1048576.0;
}

static void
job_progress(struct watch *w, virTypedParameterPtr st, int nst)
{
	unsigned long long total = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_TOTAL);
	unsigned long long done = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_PROCESSED);
	unsigned long long rem = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_REMAINING);
	unsigned long long bps = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_BPS);
	char eta[32] = "?";

	if (bps)
		g_snprintf(eta, sizeof(eta), "%llu s", rem / bps);
	sink_progress(&w->x->sink, w->u->id,
		      "migrate-live %3llu%% %llu/%llu MiB, %.1f MiB/s, dirtying %.1f MiB/s, pass %" G_GUINT64_FORMAT ", downtime <= %" G_GINT64_FORMAT " ms, ETA %s",
		      total ? done * 100 / total : 0, done >> 20, total >> 20, bps / 1048576.0, w->end->dirty_mib_s,
		      w->passes, w->limit, eta);
	events_progress(&w->x->sink, w->u->id, step_name(STEP_MIGRATE_LIVE), done, total, bps / 1048576.0, bps ? (gint64)(rem / bps) : -1, NULL);
}

/* Journal @ms as the newest downtime limit: a fresh list for the first
 * (a migrate-live done again starts its own), appended after. */
static void
record_limit(struct watch *w, gint64 ms, gboolean first)
{
	g_autoptr(JsonObject) delta = json_object_new();
	JsonArray *old = first ? NULL : fact_array(w->u, FACT_DOWNTIME_LIMITS);
	JsonArray *a = json_array_new();

	for (guint i = 0; old && i < json_array_get_length(old); i++)
		json_array_add_int_element(a, json_array_get_int_element(old, i));
	json_array_add_int_element(a, ms);
	json_object_set_array_member(delta, FACT_DOWNTIME_LIMITS, a);
	/* a lost record loses a figure of the report, nothing undo needs */
	unit_record_facts(w->x, w->u, STEP_MIGRATE_LIVE, delta, NULL);
}

/* The next downtime limit, if one is due: the first as soon as the job
 * runs (setting it is only possible then), then one step of the ladder
 * each live.downtime_step_s, or the maximum once the job's pass reaches
 * live.finish_after_passes.  A migration back (undo) takes the maximum at
 * once. */
static void
job_downtime(struct watch *w, gint64 now)
{
	const struct live_opts *l = w->l;
	gint64 steps = live_downtime_steps(l), k, want;
	gboolean first = w->limit == 0, finish = w->forward && live_downtime_finish(l, w->passes);

	if (!w->forward || finish)
		k = steps;
	else if (first)
		k = 0;
	else if (w->step < steps && now - w->ladder_t0 >= (w->step + 1) * l->downtime_step_s * G_USEC_PER_SEC)
		k = w->step + 1;	/* one step at a time, even when late */
	else
		return;
	want = live_downtime_at_step(l, k);
	if (want <= w->limit) {
		w->step = MAX(w->step, k);	/* a step of the same figure (rounding) */
		return;
	}
	if (virDomainMigrateSetMaxDowntime(w->d, (unsigned long long)want, 0) < 0)
		return;	/* retried at the next poll */
	if (first)
		w->ladder_t0 = now;
	w->limit = want;
	w->step = k;
	if (!w->forward)
		return;
	record_limit(w, want, first);
	if (first && want < l->max_downtime_ms)
		sink_log(&w->x->sink, "%s: downtime <= %" G_GINT64_FORMAT " ms, raised in %" G_GINT64_FORMAT " step%s up to %" G_GINT64_FORMAT " ms, one every %" G_GINT64_FORMAT " s",
			 w->u->id, want, steps, steps > 1 ? "s" : "", l->max_downtime_ms, l->downtime_step_s);
	else if (finish && !first)
		sink_log(&w->x->sink, "%s: downtime <= %" G_GINT64_FORMAT " ms (pass %" G_GUINT64_FORMAT ": live.finish_after_passes)",
			 w->u->id, want, w->passes);
	else if (!first)
		sink_log(&w->x->sink, "%s: downtime <= %" G_GINT64_FORMAT " ms (step %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT ")",
			 w->u->id, want, k, steps);
}

/* live.timeout_s reached: what on_timeout says.  TRUE if it paused the VM. */
static gboolean
job_on_timeout(struct exec *x, struct unit *u, virDomainPtr d, const struct live_opts *l)
{
	switch (l->on_timeout) {
	case ON_TIMEOUT_ABORT:
		sink_log(&x->sink, "%s: not done after %" G_GINT64_FORMAT " s: aborting (the VM stays on %s)", u->id,
			 l->timeout_s, u->src->h->name);
		virDomainAbortJob(d);
		break;
	case ON_TIMEOUT_SUSPEND:
		sink_log(&x->sink, "%s: not done after %" G_GINT64_FORMAT " s: pausing the VM to finish", u->id, l->timeout_s);
		return virDomainSuspend(d) == 0;
	case ON_TIMEOUT_POSTCOPY:
		sink_log(&x->sink, "%s: not done after %" G_GINT64_FORMAT " s: switching to post-copy", u->id, l->timeout_s);
		virDomainMigrateStartPostCopy(d, 0);
		break;
	}
	return FALSE;
}

/* The finished job's figures, as facts and a log line. */
static void
job_record_stats(struct exec *x, struct unit *u, virDomainPtr d, gboolean suspended, JsonObject *facts)
{
	virTypedParameterPtr st = NULL;
	int nst = 0, type = 0;

	json_object_set_boolean_member(facts, FACT_SUSPENDED_TO_FINISH, suspended);
	if (virDomainGetJobStats(d, &type, &st, &nst, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0) {
		unsigned long long ms = stat_ull(st, nst, VIR_DOMAIN_JOB_TIME_ELAPSED);
		unsigned long long down = stat_ull(st, nst, VIR_DOMAIN_JOB_DOWNTIME);
		unsigned long long bytes = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_PROCESSED);

		json_object_set_int_member(facts, FACT_LIVE_TIME_MS, (gint64)ms);
		json_object_set_int_member(facts, FACT_LIVE_DOWNTIME_MS, (gint64)down);
		json_object_set_int_member(facts, FACT_LIVE_BYTES, (gint64)bytes);
		sink_log(&x->sink, "%s: migrated live in %llu ms, downtime %llu ms, %.1f MiB sent", u->id, ms, down,
			 bytes / 1048576.0);
		virTypedParamsFree(st, nst);
	}
}

int
live_job_run(struct exec *x, struct unit *u, virDomainPtr d, virConnectPtr dconn, const char *dxml,
	     const char *uri, const struct live_opts *l, gboolean persist, JsonObject *facts,
	     struct live_end *end, GError **err)
{
	struct live_end scratch = { 0 };
	struct job j = { .dom = d, .dconn = dconn };
	struct watch w = { .x = x, .u = u, .d = d, .l = l, .forward = facts != NULL, .end = end ? end : &scratch };
	gint64 t0 = g_get_monotonic_time(), last = 0;
	gboolean first = TRUE;
	GThread *t;
	int rc = 0;

	memset(w.end, 0, sizeof(*w.end));
	if (job_params(u, &j, dxml, uri, l, persist) < 0) {
		virTypedParamsFree(j.params, j.nparams);
		return step_lv_fail(err, "cannot set up the migration of '%s'", u->vm);
	}
	g_mutex_init(&j.mu);
	g_cond_init(&j.ended);
	t = g_thread_new("migrate", job_main, &j);
	while (!job_wait(&j, first ? 50 * 1000 : 250 * 1000)) {
		virTypedParameterPtr st = NULL;
		int nst = 0, type = VIR_DOMAIN_JOB_NONE;
		gint64 now;

		first = FALSE;
		if (virDomainGetJobStats(d, &type, &st, &nst, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
			virTypedParamsFree(st, nst);
			continue;
		}
		now = g_get_monotonic_time();
		job_figures(&w, st, nst);
		job_downtime(&w, now);
		if (now - last >= (x->o->progress ? G_USEC_PER_SEC / 2 : 2 * G_USEC_PER_SEC)) {
			last = now;
			job_progress(&w, st, nst);
		}
		virTypedParamsFree(st, nst);
		if (l->timeout_s > 0 && !w.end->timed_out && now - t0 >= l->timeout_s * G_USEC_PER_SEC) {
			w.end->timed_out = TRUE;
			w.end->suspended = job_on_timeout(x, u, d, l);
		}
	}
	g_thread_join(t);
	g_mutex_clear(&j.mu);
	g_cond_clear(&j.ended);
	virTypedParamsFree(j.params, j.nparams);
	w.end->elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
	if (!j.ok) {
		w.end->job_failed = TRUE;
		w.end->error_code = j.code;
		rc = step_fail(err, "live migration of '%s' to %s failed%s: %s", u->vm, u->dst->h->name,
			       w.end->timed_out && l->on_timeout == ON_TIMEOUT_ABORT ? " (aborted at live.timeout_s)" : "",
			       j.error);
		if (w.end->suspended)
			virDomainResume(d);	/* it stays where it is: running again */
	} else if (facts) {
		job_record_stats(x, u, d, w.end->suspended, facts);
	}
	g_free(j.error);
	return rc;
}
