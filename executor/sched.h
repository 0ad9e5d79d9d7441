/* sched.h: run jobs in dependency order, within concurrency limits.
 *
 * Knows nothing of what a job is: executor.c makes a job of each unit,
 * tests/unit/test_sched.c makes its own.  A job occupies a slot on each of
 * two hosts (its source and target: two on one host when they are one,
 * which the planner refuses) and one slot of the run; it belongs to a
 * group (a plan entry), and groups run after groups.  A job starts when every job of every group its group
 * runs after is done, and its hosts and the run have room; one that
 * cannot run because such a job failed, was blocked or is out of the run
 * is reported blocked, and so in turn are the jobs that run after it.
 * Cost: O((jobs + dependencies) log jobs) for a whole run, whatever the
 * waits; among the jobs that can start, the lowest numbered starts first.
 */
#ifndef VMSHIFT_SCHED_H
#define VMSHIFT_SCHED_H

#include <glib.h>

enum sched_start {
	SCHED_TODO,	/* to run */
	SCHED_DONE,	/* done already: its dependents may run */
	SCHED_OUT,	/* neither (not selected, and not done): its dependents are blocked */
};

struct sched_job {
	guint src, dst;		/* host indexes, < n_hosts */
	guint group;		/* < n_groups */
	enum sched_start start;
};

struct sched {
	const struct sched_job *jobs;	/* in the order they are preferred (the plan's) */
	guint n_jobs;
	guint n_groups;
	/* group g runs after the groups after[after_at[g] .. after_at[g + 1] - 1] */
	const guint *after_at;		/* n_groups + 1 entries */
	const guint *after;
	const guint *host_limit;	/* jobs at once per host, each >= 1 */
	guint n_hosts;
	guint limit;			/* jobs at once in all, >= 1 */
	volatile int *interrupted;	/* NULL, or set (by a signal): start nothing more */
	/* In a worker thread: run job @j; TRUE if it is done. */
	gboolean (*run)(gpointer ud, guint j);
	/* In the caller's thread: @j will not run, because it runs after @by,
	 * which failed, was blocked or is SCHED_OUT. */
	void (*blocked)(gpointer ud, guint j, guint by);
	gpointer ud;
};

struct sched_stats {
	guint started, blocked;
	guint64 visits;		/* times the scheduler looked at a job: its cost */
};

/* Run every job it can; returns when none runs any more.  @stats may be
 * NULL. */
void sched_run(const struct sched *s, struct sched_stats *stats);

#endif
