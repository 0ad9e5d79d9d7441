/* step_live.c: mode live: its preflight checks and the migrate-live step. */
#include <string.h>

#include "step_common.h"
#include "steps.h"

/* The <cpu> element of the running guest's definition, or NULL. */
static char *
cpu_element(const char *xml)
{
	const char *a = strstr(xml, "<cpu"), *b;

	if (!a || (a[4] != ' ' && a[4] != '>' && a[4] != '/'))
		return NULL;
	if ((b = strstr(a, "</cpu>")))
		return g_strndup(a, (b + strlen("</cpu>")) - a);
	if ((b = strstr(a, "/>")))
		return g_strndup(a, (b + 2) - a);
	return NULL;
}

static double
dirty_rate_mib_s(struct exec *x, struct unit *u, virDomainPtr src, GError **err)
{
	virDomainStatsRecordPtr *recs = NULL;
	virDomainPtr doms[] = { src, NULL };
	long long mb = -1;

	sink_log(&x->sink, "%s: measuring the guest's dirty rate (1 s)", u->id);
	if (virDomainStartDirtyRateCalc(src, 1, 0) < 0)
		return step_lv_fail(err, "cannot measure the dirty rate of '%s'", u->vm);
	for (int tries = 0; tries < 30 && mb < 0; tries++) {
		g_usleep(200 * 1000);
		if (virDomainListGetStats(doms, VIR_DOMAIN_STATS_DIRTYRATE, &recs, 0) < 0)
			return step_lv_fail(err, "cannot read the dirty rate of '%s'", u->vm);
		for (int i = 0; recs[0] && i < recs[0]->nparams; i++) {
			virTypedParameterPtr p = &recs[0]->params[i];

			if (!strcmp(p->field, "dirtyrate.megabytes_per_second"))
				mb = p->value.l;
			if (!strcmp(p->field, "dirtyrate.calc_status") && p->value.i != 2)
				mb = -1;	/* not measured yet */
		}
		virDomainStatsRecordListFree(recs);
		recs = NULL;
	}
	if (mb < 0)
		return step_fail(err, "the dirty rate of '%s' was not measured in time", u->vm);
	return (double)mb;
}

/* Checks only a live migration needs; adds to @problems. */
void
step_preflight_live(struct exec *x, struct unit *u, virDomainPtr src, GPtrArray *problems)
{
	const struct live_opts *l = &u->m->set.live;
	g_autofree char *xml = virDomainGetXMLDesc(src, 0);
	g_autofree char *cpu = xml ? cpu_element(xml) : NULL;
	g_autoptr(GError) e = NULL;

	if (l->skip_cpu_check) {
		step_note(u, "cpu: not compared (live.skip_cpu_check)");
	} else if (!cpu) {
		step_note(u, "cpu: the guest's definition names no CPU: nothing to compare");
	} else {
		int r = virConnectCompareHypervisorCPU(u->dst->conn, NULL, NULL, NULL, NULL, cpu, 0);

		if (r == VIR_CPU_COMPARE_INCOMPATIBLE)
			g_ptr_array_add(problems, g_strdup_printf("%s cannot run the CPU '%s' runs with (virConnectCompareHypervisorCPU); set live.skip_cpu_check: true to try anyway",
								  u->dst->h->name, u->vm));
		else if (r < 0)
			step_note(u, "cpu: cannot compare with %s's: %s", u->dst->h->name, virGetLastErrorMessage());
		else
			step_note(u, "cpu: %s can run it", u->dst->h->name);
	}
	if (l->check_dirty_rate) {
		double rate;

		if (x->o->dry_run) {
			step_note(u, "dirty rate: not measured in a dry run (it needs a read-write connection)");
		} else if ((rate = dirty_rate_mib_s(x, u, src, &e)) < 0) {
			g_ptr_array_add(problems, g_strdup(e->message));
		} else if (l->bandwidth_mib_s > 0 && rate > (double)l->bandwidth_mib_s) {
			g_ptr_array_add(problems, g_strdup_printf("'%s' dirties %.0f MiB/s of memory, more than live.bandwidth_mib_s (%" G_GINT64_FORMAT " MiB/s): it would not converge",
								  u->vm, rate, l->bandwidth_mib_s));
		} else {
			step_note(u, "dirty rate: %.0f MiB/s", rate);
		}
	}
}

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

/* virDomainMigrate3 blocks until the job ends: it runs in a thread of
 * its own while the step's thread watches the job. */
struct job {
	virDomainPtr dom;
	virConnectPtr dconn;
	virTypedParameterPtr params;
	int nparams;
	unsigned int flags;
	char *error;		/* libvirt's message, read in the migrating thread */
	gboolean ok;
	gint done;
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
		j->error = virt_error();
	}
	g_atomic_int_set(&j->done, 1);
	return NULL;
}

static unsigned long long
stat_ull(virTypedParameterPtr params, int n, const char *name)
{
	unsigned long long v = 0;

	virTypedParamsGetULLong(params, n, name, &v);
	return v;
}

/* One live migration of @d to @dconn, watched: max downtime set once the
 * job runs, progress every 2 s, the plan's timeout enforced. */
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

static void
job_progress(struct exec *x, struct unit *u, virTypedParameterPtr st, int nst)
{
	unsigned long long total = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_TOTAL);
	unsigned long long done = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_PROCESSED);
	unsigned long long rem = stat_ull(st, nst, VIR_DOMAIN_JOB_DATA_REMAINING);
	unsigned long long bps = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_BPS);
	unsigned long long dirty = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
	unsigned long long iter = stat_ull(st, nst, VIR_DOMAIN_JOB_MEMORY_ITERATION);
	char eta[32] = "?";

	if (bps)
		g_snprintf(eta, sizeof(eta), "%llu s", rem / bps);
	sink_progress(&x->sink, u->id, "migrate-live %3llu%% %llu/%llu MiB, %.1f MiB/s, dirtying %llu pages/s, pass %llu, ETA %s",
		      total ? done * 100 / total : 0, done >> 20, total >> 20, bps / 1048576.0, dirty, iter, eta);
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

static int
run_job(struct exec *x, struct unit *u, virDomainPtr d, virConnectPtr dconn, const char *dxml,
	const char *uri, const struct live_opts *l, gboolean persist, JsonObject *facts, GError **err)
{
	struct job j = { .dom = d, .dconn = dconn };
	gint64 t0 = g_get_monotonic_time(), last = 0;
	gboolean downtime_set = FALSE, timed_out = FALSE, suspended = FALSE, first = TRUE;
	GThread *t;
	int rc = 0;

	if (job_params(u, &j, dxml, uri, l, persist) < 0) {
		virTypedParamsFree(j.params, j.nparams);
		return step_lv_fail(err, "cannot set up the migration of '%s'", u->vm);
	}
	t = g_thread_new("migrate", job_main, &j);
	while (!g_atomic_int_get(&j.done)) {
		virTypedParameterPtr st = NULL;
		int nst = 0, type = VIR_DOMAIN_JOB_NONE;
		gint64 now;

		g_usleep(first ? 50 * 1000 : 250 * 1000);
		first = FALSE;
		if (virDomainGetJobStats(d, &type, &st, &nst, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
			virTypedParamsFree(st, nst);
			continue;
		}
		if (!downtime_set) {
			/* only possible while the migration job runs */
			downtime_set = virDomainMigrateSetMaxDowntime(d, (unsigned long long)l->max_downtime_ms, 0) == 0;
		}
		now = g_get_monotonic_time();
		if (now - last >= (x->o->progress ? G_USEC_PER_SEC / 2 : 2 * G_USEC_PER_SEC)) {
			last = now;
			job_progress(x, u, st, nst);
		}
		virTypedParamsFree(st, nst);
		if (l->timeout_s > 0 && !timed_out && now - t0 >= l->timeout_s * G_USEC_PER_SEC) {
			timed_out = TRUE;
			suspended = job_on_timeout(x, u, d, l);
		}
	}
	g_thread_join(t);
	virTypedParamsFree(j.params, j.nparams);
	if (!j.ok) {
		rc = step_fail(err, "live migration of '%s' to %s failed%s: %s", u->vm, u->dst->h->name,
			       timed_out && l->on_timeout == ON_TIMEOUT_ABORT ? " (aborted at live.timeout_s)" : "",
			       j.error);
		if (suspended)
			virDomainResume(d);	/* it stays where it is: running again */
	} else if (facts) {
		job_record_stats(x, u, d, suspended, facts);
	}
	g_free(j.error);
	return rc;
}

static void
resume_if_paused(struct hostconn *hc, const char *uuid)
{
	gboolean missing = FALSE;
	g_auto(virDomainPtr) d = host_dom_by_uuid(hc, uuid, &missing, NULL);
	int state = VIR_DOMAIN_NOSTATE, reason;

	if (d && virDomainGetState(d, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED)
		virDomainResume(d);
}

static char *
migration_uri(struct host *h)
{
	/* keep qemu's stream on the address the plan names for it */
	return h->migration_host ? g_strdup_printf("tcp://%s", h->migration_host) : NULL;
}

int
step_migrate_live(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *tpath = unit_file(u, "target.xml");
	g_autofree char *txml = NULL, *uri = migration_uri(u->to);
	g_auto(virDomainPtr) s = NULL;
	g_auto(virDomainPtr) t = NULL;
	g_autoptr(JsonObject) facts = json_object_new();
	gboolean smissing = FALSE, tmissing = FALSE;
	const char *uuid = fact_str(u, FACT_SOURCE_UUID);
	int rc;

	/* the saved definitions are the reference for verify and undo */
	if (step_export_xml(x, u, err) < 0)
		return -1;
	if (!(s = host_dom_by_uuid(u->src, uuid, &smissing, err)) && !smissing)
		return -1;
	if (!(t = host_dom_by_uuid(u->dst, uuid, &tmissing, err)) && !tmissing)
		return -1;
	/* done already: running on the target, not on the source (and the
	 * target's domain is this run's, or preflight took it as identical) */
	if (t && virt_dom_is_running(t) && (!s || !virt_dom_is_running(s)) &&
	    (fact_bool(u, FACT_TARGET_DEFINED, FALSE) || fact_bool(u, FACT_TARGET_HAD_DOMAIN, FALSE)))
		return 0;
	if (t && !fact_bool(u, FACT_TARGET_DEFINED, FALSE) && !fact_bool(u, FACT_TARGET_HAD_DOMAIN, FALSE))
		return step_fail(err, "a domain with uuid %s appeared on %s since preflight, not defined by vmshift; not touching it",
			    uuid, u->dst->h->name);
	if (!s || !virt_dom_is_running(s))
		return step_fail(err, "'%s' is not running on %s: nothing to migrate live", u->vm, u->src->h->name);
	if (!g_file_get_contents(tpath, &txml, NULL, err))
		return -1;
	if (unit_record_flag(x, u, STEP_MIGRATE_LIVE, FACT_TARGET_DEFINED, err) < 0)
		return -1;
	sink_log(&x->sink, "%s: migrating live to %s%s%s", u->id, u->dst->h->name, uri ? " over " : "", uri ? uri : "");
	rc = run_job(x, u, s, u->dst->conn, txml, uri, &u->m->set.live, TRUE, facts, err);
	if (rc < 0) {
		/* a failed job must leave the VM running on the source and
		 * nothing on the target: say so if it did not */
		g_auto(virDomainPtr) left = NULL;
		gboolean gone = FALSE;

		left = host_dom_by_uuid(u->dst, uuid, &gone, NULL);
		if (left || !virt_dom_is_running(s))
			g_prefix_error(err, "%s; and after it, %s%s: ", "ATTENTION",
				       !virt_dom_is_running(s) ? "the VM is not running on the source" : "",
				       left ? " a domain of it is on the target" : "");
		return -1;
	}
	{
		g_auto(virDomainPtr) arrived = host_dom_by_uuid(u->dst, uuid, &tmissing, err);

		if (!arrived)
			return tmissing ? step_fail(err, "'%s' is not defined on %s after its migration", u->vm, u->dst->h->name) : -1;
		if (step_carry_autostart(x, u, arrived, err) < 0)
			return -1;
	}
	if (json_object_get_boolean_member_with_default(facts, FACT_SUSPENDED_TO_FINISH, FALSE)) {
		g_auto(virDomainPtr) now = host_dom_by_uuid(u->dst, uuid, &tmissing, err);
		int state = VIR_DOMAIN_NOSTATE, reason;

		/* libvirt may resume it itself; resume only what is paused */
		if (now && virDomainGetState(now, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED &&
		    virDomainResume(now) < 0)
			return step_lv_fail(err, "'%s' arrived paused on %s and cannot be resumed", u->vm, u->dst->h->name);
	}
	return unit_record_facts(x, u, STEP_MIGRATE_LIVE, facts, err);
}

/* Back where it came from: migrate it live to the source (which still
 * has its own definition), then drop the target's definition. */
int
step_migrate_live_undo(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *mpath = unit_file(u, "source-migratable.xml");
	g_autofree char *sxml = NULL, *uri = migration_uri(u->m->from);
	g_auto(virDomainPtr) s = NULL;
	g_auto(virDomainPtr) t = NULL;
	gboolean smissing = FALSE, tmissing = FALSE;
	const char *uuid = fact_str(u, FACT_SOURCE_UUID);

	if (!(t = host_dom_by_uuid(u->dst, uuid, &tmissing, err)))
		return tmissing ? 0 : -1;
	if (fact_bool(u, FACT_TARGET_HAD_DOMAIN, TRUE) || !fact_bool(u, FACT_TARGET_DEFINED, FALSE))
		return 0;	/* not ours */
	if (virDomainSetAutostart(t, 0) < 0)
		return step_lv_fail(err, "cannot turn autostart off for '%s' on %s", u->vm, u->dst->h->name);
	if (!(s = host_dom_by_uuid(u->src, uuid, &smissing, err)) && !smissing)
		return -1;
	if (virt_dom_is_running(t) && !(s && virt_dom_is_running(s))) {
		if (step_xml_load(x, u, err) < 0 || !g_file_get_contents(mpath, &sxml, NULL, err))
			return -1;
		sink_log(&x->sink, "%s: migrating it back live to %s", u->id, u->src->h->name);
		if (run_job(x, u, t, u->src->conn, sxml, uri, &u->m->set.live, s == NULL, NULL, err) < 0)
			return -1;
		resume_if_paused(u->src, uuid);	/* on_timeout: suspend may have paused it */
	}
	if (virDomainIsActive(t) == 1)
		return step_fail(err, "'%s' still runs on %s; not undefining it there", u->vm, u->dst->h->name);
	sink_log(&x->sink, "%s: undefining it on %s", u->id, u->dst->h->name);
	if (virt_dom_undefine(t) < 0)
		return step_lv_fail(err, "cannot undefine '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}
