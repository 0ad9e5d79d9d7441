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

/* live_ladder.c: the ladder live.downtime_steps steps evenly from
 * live.initial_downtime_ms (0, or above the maximum: max_downtime_ms) up
 * to max_downtime_ms; the watch takes one step each live.downtime_step_s,
 * never skipping one, and the maximum at once when the job's memory pass
 * reaches live.finish_after_passes (0: never). */
gint64 live_downtime_steps(const struct live_opts *l);	/* at least 1 */
/* The limit (ms) of step @k: 0 is the initial, live_downtime_steps() the
 * maximum; @k is clamped to those. */
gint64 live_downtime_at_step(const struct live_opts *l, gint64 k);
/* Has the job's pass @passes reached live.finish_after_passes? */
gboolean live_downtime_finish(const struct live_opts *l, guint64 passes);
/* The limit due @elapsed_s after the first, in pass @passes, on a clock
 * that never falls behind: never decreasing in either argument. */
gint64 live_downtime_limit(const struct live_opts *l, gint64 elapsed_s, guint64 passes);

#endif
