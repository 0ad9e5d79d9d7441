/* executor.h: apply a validated plan to real hosts.
 *
 * The executor gets a struct plan from the planner and never sees YAML.
 * It talks to each host through libvirt (one connection per host) and,
 * where a step needs files, SSH/SFTP (one libssh2 session per host).  All
 * it does is recorded in the plan's journal (executor/journal.h) before
 * and after, so that a run can be resumed or undone.  It never prints:
 * progress goes through the log callback, results into the caller's
 * buffers; cmd/ decides what reaches stdout and stderr.
 */
#ifndef VMSHIFT_EXECUTOR_H
#define VMSHIFT_EXECUTOR_H

#include "../planner/plan.h"

enum on_failure { ON_FAILURE_ROLLBACK, ON_FAILURE_STOP };

/* Outcome of a run, as exit codes (cmd/cmd.h uses the same numbers). */
enum run_result {
	RUN_OK = 0,		/* every selected migration is done (or rolled back on request) */
	RUN_FAILED = 1,		/* some migration failed or is blocked */
	RUN_INTERRUPTED = 3,	/* stopped on a signal; resume continues */
};

typedef void (*exec_log_fn)(gpointer ud, const char *line);
/* The current progress of one migration (a line for a status display),
 * or NULL when it has none any more.  Called from worker threads. */
typedef void (*exec_progress_fn)(gpointer ud, const char *unit, const char *line);

struct exec_opts {
	gboolean dry_run;
	const char *state_dir;		/* NULL: .vmshift/<plan name>/ beside the plan */
	char **only;			/* NULL-terminated migration ids, or NULL for all */
	enum on_failure on_failure;
	gboolean accept_new_host_keys;
	gboolean resume;		/* `resume`: a journal must exist */
	gboolean force;			/* rollback: also migrations that are done */
	exec_log_fn log;		/* what happens, a line at a time (for stderr) */
	exec_progress_fn progress;	/* NULL: progress goes to log every few seconds */
	exec_log_fn event;		/* NULL: no events; else one JSON object a line (docs/events.md), called from worker threads */
	gpointer log_ud;		/* for all three */
	volatile int *interrupted;	/* set by a signal handler: finish the current step, then stop */
	gint64 now;			/* --now: the clock at the start, unix seconds (0: the system's) */
	const char *save;		/* dry-run: write the resolved plan here (resolved.h) */
	const char *resolved;		/* apply: run exactly this resolved plan, or refuse; resume, rollback: the run's */
	gint64 max_age_s;		/* how old the resolved plan may be (0: RESOLVED_MAX_AGE_S) */
	const char *version;		/* vmshift's, for the resolved plan */
	gboolean markdown;		/* dry-run: @text gets the Markdown report (report_md.c), not the text one */
};

/* apply, dry-run and resume.  @json gets the machine-readable report
 * (one JSON object).  Returns an enum run_result, or -1 with @err when
 * the run could not start at all (lock held, plan changed, no host). */
int executor_apply(struct plan *plan, const struct exec_opts *o, GString *json, GString *text,
		   GError **err);

/* Undo the completed steps of the migrations named in o->only, or of
 * every failed or interrupted one, newest first. */
int executor_rollback(struct plan *plan, const struct exec_opts *o, GString *json, GString *text,
		      GError **err);

/* What the journal says of each migration; reads only, connects nowhere. */
int executor_status(struct plan *plan, const struct exec_opts *o, GString *json, GString *text,
		    GError **err);

/* The state directory a plan uses by default. */
char *executor_default_state_dir(const struct plan *plan);

#endif
