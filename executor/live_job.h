/* live_job.h: one live migration job, watched (live_job.c), and the
 * downtime ladder it follows (live_ladder.c).
 *
 * Part of the steps layer: step_live.c runs migrate-live and its undo
 * through it.  virDomainMigrate3 blocks until the job ends, so it runs in
 * a thread of its own while the caller's thread watches the job: the
 * allowed downtime (live.initial_downtime_ms up to live.max_downtime_ms),
 * progress lines, live.timeout_s and on_timeout.
 */
#ifndef VMSHIFT_LIVE_JOB_H
#define VMSHIFT_LIVE_JOB_H

#include "unit.h"

/* How a job ended, for the caller to judge a failure by. */
struct live_end {
	gboolean timed_out;	/* live.timeout_s was reached */
	gboolean suspended;	/* on_timeout: suspend paused the guest */
	gboolean job_failed;	/* virDomainMigrate3 itself failed (not its setup) */
	int error_code;		/* libvirt's code of that failure (virErrorNumber) */
	gint64 elapsed_ms;	/* from the start of the job */
	/* the last figures the job reported while it ran; 0: none yet */
	double dirty_mib_s;	/* VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE x page size */
	double bandwidth_mib_s;	/* VIR_DOMAIN_JOB_MEMORY_BPS */
	double remaining_mib;	/* VIR_DOMAIN_JOB_DATA_REMAINING */
};

/* Migrate @d live to @dconn with the definition @dxml (also persisted
 * there with @persist), over @uri (NULL: libvirt's choice), as @l says.
 * @facts non-NULL: the forward migration: the downtime ladder is followed
 * and journaled (FACT_DOWNTIME_LIMITS) and the finished job's figures go
 * into @facts; NULL (a migration back, for undo): the maximum downtime at
 * once, nothing journaled.  @end (may be NULL) says how it ended.  -1
 * with *err set if the migration failed. */
int live_job_run(struct exec *x, struct unit *u, virDomainPtr d, virConnectPtr dconn, const char *dxml,
		 const char *uri, const struct live_opts *l, gboolean persist, JsonObject *facts,
		 struct live_end *end, GError **err);

/* live_ladder.c: the downtime limit (ms) @l allows @elapsed_s seconds
 * after the job began, in its memory pass @passes: live.downtime_steps
 * steps evenly from initial_downtime_ms (0: max_downtime_ms) up to
 * max_downtime_ms, one each live.downtime_step_s; the maximum at once
 * when @passes reaches live.finish_after_passes (0: never).  Never
 * decreasing in either argument. */
gint64 live_downtime_limit(const struct live_opts *l, gint64 elapsed_s, guint64 passes);
/* The limit's step for @elapsed_s (0 .. downtime_steps): how far the
 * ladder is, for the log. */
gint64 live_downtime_step(const struct live_opts *l, gint64 elapsed_s);

#endif
