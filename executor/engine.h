/* engine.h: a unit through its steps and back (engine.c), and the
 * reports of a run (report.c).  Above the step table, below the entry
 * points in executor.c. */
#ifndef VMSHIFT_ENGINE_H
#define VMSHIFT_ENGINE_H

#include "unit.h"

/* Run @u's steps that are not done yet, in its mode's order; on failure
 * roll it back if the run says so.  Sets u->status.  A first attempt
 * records @fingerprint (the plan entry as it is: executor.c). */
void engine_run_unit(struct exec *x, struct unit *u, const char *fingerprint, int fingerprint_version);
/* Undo what @u did, newest first (see steps.h for when it stops). */
int engine_rollback_unit(struct exec *x, struct unit *u, GError **err);
/* Preflight of every selected unit, and what apply would do: into @text. */
void engine_dry_run(struct exec *x, GString *text);

/* report.c: the run's result (a enum run_result) as one JSON object
 * into @json and a line per migration into @text (either may be NULL).
 * @what: the command. */
void report_write(struct exec *x, const char *what, int result, GString *json, GString *text);
int report_overall(struct exec *x);

/* report_md.c: the dry-run as Markdown for a pull-request comment, in
 * place of @text (the text dry-run's): a summary table, then per
 * migration its XML diff, placement, steps and preflight problems.
 * @result: the dry-run's enum run_result.  After engine_dry_run(). */
void report_markdown(struct exec *x, int result, GString *text);
/* What engine_dry_run() says of @u, for both reports (report.c). */
char *report_xml_diff(struct unit *u);			/* "" if unchanged, NULL if no XML */
const char *report_preflight(struct unit *u);		/* "ok", "failed", "not run" */

#endif
