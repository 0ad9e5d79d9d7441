/* steps.h: the step table, and the step families' entry points it holds.
 *
 * A step is one entry of the table in steps.c, indexed by enum step
 * (planner/plan.h names the steps and lists each mode's).  The engine
 * runs a step through its entry only; the families (step_preflight.c,
 * step_domain.c, step_files.c, step_live.c, step_xml.c) implement them.
 */
#ifndef VMSHIFT_STEPS_H
#define VMSHIFT_STEPS_H

#include "unit.h"

typedef int (*step_fn)(struct exec *x, struct unit *u, GError **err);
/* Why the step does nothing for @u, or NULL: it acts.  The step asks it
 * first itself; the dry-run shows it. */
typedef const char *(*step_skip_fn)(struct unit *u);

struct step_impl {
	step_fn run;
	step_fn undo;			/* NULL: nothing to undo */
	step_skip_fn skip;		/* NULL: never skipped */
	/* Why undoing this step (done or begun) must not be tried: then the
	 * whole rollback is refused, before anything is undone.  NULL: never. */
	step_skip_fn undo_refused;
	const char *undo_says;		/* for dry-run and status: what undo does */
	/* A rollback goes on past a failed undo, except: */
	gboolean undo_fail_stops;	/* after it nothing more may be undone (the VM would be nowhere) */
	gboolean undo_fail_target_may_run;	/* the guest may still run on the target */
	gboolean undo_needs_target_off;	/* skipped while the guest may run on the target */
};

const struct step_impl *step_impl(enum step s);

/* step_preflight.c: every check, nothing changed; lines for people in
 * u->report.  The dry-run is this step alone. */
int step_preflight(struct exec *x, struct unit *u, GError **err);

/* step_xml.c */
int step_export_xml(struct exec *x, struct unit *u, GError **err);

/* step_domain.c */
int step_shutdown_source(struct exec *x, struct unit *u, GError **err);
int step_shutdown_source_undo(struct exec *x, struct unit *u, GError **err);
const char *step_shutdown_source_skip(struct unit *u);
int step_define_target(struct exec *x, struct unit *u, GError **err);
int step_define_target_undo(struct exec *x, struct unit *u, GError **err);
int step_start_target(struct exec *x, struct unit *u, GError **err);
int step_start_target_undo(struct exec *x, struct unit *u, GError **err);
const char *step_start_target_skip(struct unit *u);
int step_verify_target(struct exec *x, struct unit *u, GError **err);
int step_undefine_source(struct exec *x, struct unit *u, GError **err);
int step_undefine_source_undo(struct exec *x, struct unit *u, GError **err);
const char *step_undefine_source_skip(struct unit *u);

/* step_files.c */
int step_copy_disks(struct exec *x, struct unit *u, GError **err);
int step_copy_disks_undo(struct exec *x, struct unit *u, GError **err);
int step_prepare_target(struct exec *x, struct unit *u, GError **err);
int step_prepare_target_undo(struct exec *x, struct unit *u, GError **err);
int step_delete_source_disks(struct exec *x, struct unit *u, GError **err);
const char *step_delete_source_disks_skip(struct unit *u);
const char *step_delete_source_disks_undo_refused(struct unit *u);

/* step_live.c */
void step_preflight_live(struct exec *x, struct unit *u, virDomainPtr src, GPtrArray *problems);
int step_migrate_live(struct exec *x, struct unit *u, GError **err);
int step_migrate_live_undo(struct exec *x, struct unit *u, GError **err);

#endif
