/* step_domain.c: the steps that act on domains: shutdown-source,
 * define-target, start-target, undefine-source (verify-target is
 * step_verify.c). */
#include <string.h>

#include "step_common.h"
#include "steps.h"

/* ---- shutdown-source ---- */


const char *
step_shutdown_source_skip(struct unit *u)
{
	return fact_bool(u, FACT_SOURCE_RUNNING, FALSE) ? NULL : "it is not running";
}

int
step_shutdown_source(struct exec *x, struct unit *u, GError **err)
{
	const struct shutdown_opts *so = &u->m->set.shutdown;
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;
	gint64 deadline;

	if (step_shutdown_source_skip(u))
		return 0;
	if (!(d = host_dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? step_fail(err, "domain '%s' vanished from %s", u->vm, u->src->h->name) : -1;
	if (!virt_dom_is_running(d))
		return 0;
	sink_log(&x->sink, "%s: shutting down on %s (up to %" G_GINT64_FORMAT " s)", u->id, u->src->h->name, so->timeout_s);
	if (virDomainShutdown(d) < 0)
		return step_lv_fail(err, "cannot shut down '%s' on %s", u->vm, u->src->h->name);
	deadline = g_get_monotonic_time() + so->timeout_s * G_USEC_PER_SEC;
	for (gint64 next = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	     virt_dom_is_running(d) && g_get_monotonic_time() < deadline; g_usleep(200 * 1000)) {
		if (x->o->interrupted && *x->o->interrupted)
			return step_fail(err, "interrupted while '%s' shuts down on %s", u->vm, u->src->h->name);
		/* a guest still booting may miss the ACPI event: ask again,
		 * as an operator would */
		if (g_get_monotonic_time() >= next) {
			next += 5 * G_USEC_PER_SEC;
			virDomainShutdown(d);
		}
	}
	if (!virt_dom_is_running(d))
		return 0;
	if (!so->force)
		return step_fail(err, "'%s' did not shut down within %" G_GINT64_FORMAT " s; set shutdown.force: true to power it off after the timeout",
			    u->vm, so->timeout_s);
	sink_log(&x->sink, "%s: still running after %" G_GINT64_FORMAT " s, powering off", u->id, so->timeout_s);
	if (virDomainDestroy(d) < 0)
		return step_lv_fail(err, "cannot power off '%s' on %s", u->vm, u->src->h->name);
	return 0;
}

int
step_shutdown_source_undo(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (step_shutdown_source_skip(u))
		return 0;
	if (!(d = host_dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? step_fail(err, "domain '%s' is gone from %s; cannot start it again", u->vm, u->src->h->name) : -1;
	if (virt_dom_is_running(d))
		return 0;
	sink_log(&x->sink, "%s: starting it again on %s", u->id, u->src->h->name);
	return virDomainCreate(d) < 0 ? step_lv_fail(err, "cannot start '%s' again on %s", u->vm, u->src->h->name) : 0;
}

/* ---- define-target ---- */

int
step_define_target(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *tpath = unit_file(u, "target.xml");
	g_autofree char *xml = NULL;
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if ((d = host_dom_by_uuid(u->dst, fact_str(u, FACT_SOURCE_UUID), &missing, err))) {
		/* ours (journaled before the define), or taken in preflight */
		if (fact_bool(u, FACT_TARGET_DEFINED, FALSE) || fact_bool(u, FACT_TARGET_HAD_DOMAIN, FALSE))
			return step_carry_autostart(x, u, d, err);
		return step_fail(err, "a domain with uuid %s ('%s') appeared on %s since preflight, not defined by vmshift; not touching it",
			    fact_str(u, FACT_SOURCE_UUID), virDomainGetName(d), u->dst->h->name);
	}
	if (!missing || step_source_still_off(u, err) < 0)
		return -1;
	if (!g_file_get_contents(tpath, &xml, NULL, err))
		return -1;
	if (unit_record_flag(x, u, STEP_DEFINE_TARGET, FACT_TARGET_DEFINED, err) < 0)
		return -1;
	if (!(d = virDomainDefineXML(u->dst->conn, xml)))
		return step_lv_fail(err, "cannot define '%s' on %s", u->vm, u->dst->h->name);
	return step_carry_autostart(x, u, d, err);
}

int
step_define_target_undo(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	/* only what vmshift defined: not one that was there, nor one that
	 * appeared since preflight (define-target then refused it) */
	if (fact_bool(u, FACT_TARGET_HAD_DOMAIN, TRUE) || !fact_bool(u, FACT_TARGET_DEFINED, FALSE))
		return 0;
	if (!(d = host_dom_by_uuid(u->dst, fact_str(u, FACT_SOURCE_UUID), &missing, err)))
		return missing ? 0 : -1;
	/* first: a definition left behind must not start at the next boot */
	if (virDomainSetAutostart(d, 0) < 0)
		return step_lv_fail(err, "cannot turn autostart off for '%s' on %s", u->vm, u->dst->h->name);
	if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
		return step_lv_fail(err, "cannot stop '%s' on %s", u->vm, u->dst->h->name);
	sink_log(&x->sink, "%s: undefining it on %s", u->id, u->dst->h->name);
	/* the NVRAM file is copy-disks' to remove, if it made it */
	if (virt_dom_undefine(d) < 0)
		return step_lv_fail(err, "cannot undefine '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}

/* ---- start-target ---- */


const char *
step_start_target_skip(struct unit *u)
{
	if (step_will_start(u, fact_bool(u, FACT_SOURCE_RUNNING, FALSE)))
		return NULL;
	return u->m->set.start == START_NEVER ? "start: never" : "it was not running";
}

int
step_start_target(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (step_start_target_skip(u))
		return 0;
	if (!(d = host_dom_by_uuid(u->dst, fact_str(u, FACT_SOURCE_UUID), &missing, err)))
		return missing ? step_fail(err, "'%s' is not defined on %s", u->vm, u->dst->h->name) : -1;
	if (virDomainIsActive(d) == 1)
		return 0;
	if (step_source_still_off(u, err) < 0 || unit_record_flag(x, u, STEP_START_TARGET, FACT_TARGET_STARTED, err) < 0)
		return -1;
	sink_log(&x->sink, "%s: starting on %s", u->id, u->dst->h->name);
	if (virDomainCreate(d) < 0)
		return step_lv_fail(err, "cannot start '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}

int
step_start_target_undo(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	(void)x;
	/* a domain taken as it was is stopped only if vmshift started it */
	if (fact_bool(u, FACT_TARGET_HAD_DOMAIN, TRUE) && !fact_bool(u, FACT_TARGET_STARTED, FALSE))
		return 0;
	if (!(d = host_dom_by_uuid(u->dst, fact_str(u, FACT_SOURCE_UUID), &missing, err)))
		return missing ? 0 : -1;
	if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
		return step_lv_fail(err, "cannot stop '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}

/* ---- undefine-source ---- */


const char *
step_undefine_source_skip(struct unit *u)
{
	return u->m->set.undefine_source ? NULL : "undefine_source: false";
}

int
step_undefine_source(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (step_undefine_source_skip(u))
		return 0;
	if (!(d = host_dom_by_uuid(u->src, fact_str(u, FACT_SOURCE_UUID), &missing, err)))
		return missing ? 0 : -1;
	if (virDomainIsActive(d) == 1)
		return step_fail(err, "'%s' is running on %s again; refusing to undefine it (it now runs on both hosts: stop one)",
			    u->vm, u->src->h->name);
	sink_log(&x->sink, "%s: undefining it on %s", u->id, u->src->h->name);
	/* NVRAM stays: undo defines the domain again from its saved XML and
	 * needs it; delete-source-disks removes it when asked to */
	if (virt_dom_undefine(d) < 0)
		return step_lv_fail(err, "cannot undefine '%s' on %s", u->vm, u->src->h->name);
	return 0;
}

int
step_undefine_source_undo(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *spath = unit_file(u, "source.xml");
	g_autofree char *xml = NULL;
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if ((d = host_dom_by_uuid(u->src, fact_str(u, FACT_SOURCE_UUID), &missing, err)))
		return 0;
	if (!missing)
		return -1;
	if (!g_file_get_contents(spath, &xml, NULL, err))
		return -1;
	sink_log(&x->sink, "%s: defining it again on %s", u->id, u->src->h->name);
	if (!(d = virDomainDefineXML(u->src->conn, xml)))
		return step_lv_fail(err, "cannot define '%s' again on %s", u->vm, u->src->h->name);
	return 0;
}
