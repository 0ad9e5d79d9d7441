/* step_live.c: mode live: its preflight checks and the migrate-live step. */
#include <string.h>

#include "live_job.h"
#include "step_common.h"
#include "steps.h"

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
	g_autofree char *cpu = xml ? domxml_cpu_element(xml) : NULL;
	g_autofree char *virttype = xml ? domxml_virt_type(xml) : NULL;	/* kvm's CPU is not TCG's */
	g_autoptr(GError) e = NULL;

	if (l->skip_cpu_check) {
		step_note(u, "cpu: not compared (live.skip_cpu_check)");
	} else if (!cpu) {
		step_note(u, "cpu: the guest's definition names no CPU: nothing to compare");
	} else {
		int r = virConnectCompareHypervisorCPU(u->dst->conn, NULL, NULL, NULL, virttype, cpu, 0);

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

static void
resume_if_paused(struct hostconn *hc, const char *uuid)
{
	gboolean missing = FALSE;
	g_auto(virDomainPtr) d = host_dom_by_uuid(hc, uuid, &missing, NULL);
	int state = VIR_DOMAIN_NOSTATE, reason;

	if (d && virDomainGetState(d, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED)
		virDomainResume(d);
}

/* 3.1 GiB/s, 12.0 MiB/s */
static char *
human_rate(double mib_s)
{
	return mib_s >= 1024 ? g_strdup_printf("%.1f GiB/s", mib_s / 1024) : g_strdup_printf("%.1f MiB/s", mib_s);
}

/* A failure that cold would meet again: the definition itself. */
static gboolean
definition_error(int code)
{
	return code == VIR_ERR_XML_ERROR || code == VIR_ERR_XML_DETAIL || code == VIR_ERR_CONFIG_UNSUPPORTED ||
	       code == VIR_ERR_XML_INVALID_SCHEMA || code == VIR_ERR_INVALID_ARG || code == VIR_ERR_NO_DOMAIN;
}

/* The failed live attempt, journaled for the engine's fallback (and the
 * report): FACT_LIVE_FAILURE.  It may fall back only if the job itself
 * failed (not converging, or libvirt's migration broke) while the guest
 * still runs, not paused, on the source, with nothing of it left on the
 * target, and not over its definition. */
static void
record_live_failure(struct exec *x, struct unit *u, virDomainPtr s, gboolean left, const struct live_end *end,
		    const char *error)
{
	g_autoptr(JsonObject) f = json_object_new();
	g_autoptr(JsonObject) delta = json_object_new();
	g_autofree char *dirty = human_rate(end->dirty_mib_s), *bw = human_rate(end->bandwidth_mib_s);
	g_autofree char *why = NULL;
	int state = VIR_DOMAIN_NOSTATE, reason;
	gboolean healthy = virDomainGetState(s, &state, &reason, 0) == 0 && state == VIR_DOMAIN_RUNNING;
	gboolean stuck = end->timed_out && u->m->set.live.on_timeout == ON_TIMEOUT_ABORT;

	if (stuck && end->dirty_mib_s > 0)
		why = g_strdup_printf("not converging: %s dirty vs %s", dirty, bw);
	else if (stuck)
		why = g_strdup_printf("not converging: %.1f MiB still to send at %s", end->remaining_mib, bw);
	else
		why = g_strdup(error);
	json_object_set_string_member(f, "mode", mode_name(MODE_LIVE));
	json_object_set_string_member(f, "error", error);
	json_object_set_string_member(f, "why", why);
	json_object_set_int_member(f, "after_s", (end->elapsed_ms + 500) / 1000);
	json_object_set_double_member(f, "dirty_mib_s", end->dirty_mib_s);
	json_object_set_double_member(f, "bandwidth_mib_s", end->bandwidth_mib_s);
	json_object_set_boolean_member(f, "timed_out", end->timed_out);
	json_object_set_boolean_member(f, "fallback_ok",
				       end->job_failed && healthy && !left && !definition_error(end->error_code));
	json_object_set_object_member(delta, FACT_LIVE_FAILURE, g_steal_pointer(&f));
	/* lost in a crash: the step is done again, and fails again */
	unit_record_facts(x, u, STEP_MIGRATE_LIVE, delta, NULL);
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
	struct live_end end;
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
	rc = live_job_run(x, u, s, u->dst->conn, txml, uri, &u->m->set.live, TRUE, facts, &end, err);
	if (rc < 0) {
		/* a failed job must leave the VM running on the source and
		 * nothing on the target: say so if it did not */
		g_auto(virDomainPtr) left = NULL;
		gboolean gone = FALSE;

		left = host_dom_by_uuid(u->dst, uuid, &gone, NULL);
		record_live_failure(x, u, s, left != NULL, &end, (*err)->message);
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
		if (live_job_run(x, u, t, u->src->conn, sxml, uri, &u->m->set.live, s == NULL, NULL, NULL, err) < 0)
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
