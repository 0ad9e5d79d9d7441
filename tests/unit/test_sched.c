/* test_sched.c: the scheduler alone (executor/sched.c), without a lab:
 * dependency order, blocking and its propagation, host and run limits,
 * interruption, and its cost on 10,000 jobs. */
#include <string.h>

#include "../../executor/sched.h"

/* A job's fate as the test decides it in advance. */
enum fate { RUNS_OK, RUNS_FAILS };

struct world {
	struct sched s;
	struct sched_job *jobs;
	guint *after_at, *after, *limits;
	enum fate *fate;
	/* what happened, under mu */
	GMutex mu;
	GCond cond;
	guint *busy;		/* per host, counted as the scheduler counts it */
	guint running, max_running, *max_busy;
	gint *ran;		/* times each job ran */
	gint *blocked_by;	/* -1: not blocked */
	guint *finish_seq;	/* order in which jobs finished, 1-based; 0: never */
	guint seq;
	gboolean violation;
	char *why;
	/* a gate: run() of job j waits until go[j] (the limits tests) */
	gboolean gated, *go;
	guint started;
};

static gboolean
job_done_ok(struct world *w, guint j)
{
	return w->jobs[j].start == SCHED_DONE || (w->ran[j] == 1 && w->fate[j] == RUNS_OK && w->finish_seq[j]);
}

static gboolean
run(gpointer ud, guint j)
{
	struct world *w = ud;
	const struct sched_job *job = &w->jobs[j];
	gboolean ok;

	g_mutex_lock(&w->mu);
	w->ran[j]++;
	w->started++;
	/* everything it runs after is done, and done well */
	for (guint e = w->after_at[job->group]; e < w->after_at[job->group + 1]; e++)
		for (guint k = 0; k < w->s.n_jobs; k++)
			if (w->jobs[k].group == w->after[e] && !job_done_ok(w, k) && !w->violation) {
				w->violation = TRUE;
				w->why = g_strdup_printf("job %u started before job %u it runs after was done", j, k);
			}
	w->busy[job->src]++;
	w->busy[job->dst]++;
	w->running++;
	w->max_running = MAX(w->max_running, w->running);
	for (guint h = 0; h < w->s.n_hosts; h++)
		w->max_busy[h] = MAX(w->max_busy[h], w->busy[h]);
	if (w->running > w->s.limit || w->busy[job->src] > w->limits[job->src] ||
	    w->busy[job->dst] > w->limits[job->dst]) {
		if (!w->violation)
			w->why = g_strdup_printf("job %u: over a limit (%u running, host %u has %u, host %u has %u)", j,
						 w->running, job->src, w->busy[job->src], job->dst, w->busy[job->dst]);
		w->violation = TRUE;
	}
	g_cond_broadcast(&w->cond);
	while (w->gated && !w->go[j])
		g_cond_wait(&w->cond, &w->mu);
	w->busy[job->src]--;
	w->busy[job->dst]--;
	w->running--;
	w->finish_seq[j] = ++w->seq;
	ok = w->fate[j] == RUNS_OK;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->mu);
	return ok;
}

static void
blocked(gpointer ud, guint j, guint by)
{
	struct world *w = ud;

	g_mutex_lock(&w->mu);
	if (w->blocked_by[j] >= 0 && !w->violation) {
		w->violation = TRUE;
		w->why = g_strdup_printf("job %u blocked twice", j);
	}
	w->blocked_by[j] = (gint)by;
	g_mutex_unlock(&w->mu);
}

static struct world *
world_new(guint n_jobs, guint n_groups, guint n_hosts, guint n_edges)
{
	struct world *w = g_new0(struct world, 1);

	w->jobs = g_new0(struct sched_job, n_jobs + 1);
	w->after_at = g_new0(guint, n_groups + 1);
	w->after = g_new0(guint, n_edges + 1);
	w->limits = g_new0(guint, n_hosts + 1);
	w->fate = g_new0(enum fate, n_jobs + 1);
	w->busy = g_new0(guint, n_hosts + 1);
	w->max_busy = g_new0(guint, n_hosts + 1);
	w->ran = g_new0(gint, n_jobs + 1);
	w->blocked_by = g_new(gint, n_jobs + 1);
	w->finish_seq = g_new0(guint, n_jobs + 1);
	w->go = g_new0(gboolean, n_jobs + 1);
	for (guint j = 0; j <= n_jobs; j++)
		w->blocked_by[j] = -1;
	g_mutex_init(&w->mu);
	g_cond_init(&w->cond);
	w->s = (struct sched){
		.jobs = w->jobs, .n_jobs = n_jobs, .n_groups = n_groups, .after_at = w->after_at,
		.after = w->after, .host_limit = w->limits, .n_hosts = n_hosts, .limit = 1,
		.run = run, .blocked = blocked, .ud = w,
	};
	return w;
}

static void
world_free(struct world *w)
{
	g_free(w->jobs);
	g_free(w->after_at);
	g_free(w->after);
	g_free(w->limits);
	g_free(w->fate);
	g_free(w->busy);
	g_free(w->max_busy);
	g_free(w->ran);
	g_free(w->blocked_by);
	g_free(w->finish_seq);
	g_free(w->go);
	g_free(w->why);
	g_mutex_clear(&w->mu);
	g_cond_clear(&w->cond);
	g_free(w);
}

/* What the test expects, found the slow, obvious way: a job runs unless
 * a job of a group it runs after (at any depth) failed, is out, or is
 * itself blocked.  Groups come in an order where dependencies are
 * earlier, as the planner orders them. */
static gboolean *
expected_blocked(struct world *w)
{
	gboolean *bad_group = g_new0(gboolean, w->s.n_groups + 1);
	gboolean *blk = g_new0(gboolean, w->s.n_jobs + 1);

	for (guint g = 0; g < w->s.n_groups; g++) {
		gboolean dep_bad = FALSE;

		for (guint e = w->after_at[g]; e < w->after_at[g + 1]; e++)
			dep_bad = dep_bad || bad_group[w->after[e]];
		for (guint j = 0; j < w->s.n_jobs; j++) {
			if (w->jobs[j].group != g)
				continue;
			if (w->jobs[j].start == SCHED_TODO && dep_bad)
				blk[j] = TRUE;
			if (w->jobs[j].start == SCHED_OUT || blk[j] ||
			    (w->jobs[j].start == SCHED_TODO && w->fate[j] == RUNS_FAILS))
				bad_group[g] = TRUE;
		}
	}
	g_free(bad_group);
	return blk;
}

/* 10,000 jobs of 2,000 groups over 100 hosts: every limit holds, every
 * job runs after what it must, exactly the jobs that must be blocked
 * are, and the scheduler's work is linear in jobs + dependencies. */
static void
test_fleet(void)
{
	const guint n = 10000, ng = 2000, nh = 100;
	struct world *w = world_new(n, ng, nh, 2 * ng);
	GRand *r = g_rand_new_with_seed(20261202);
	struct sched_stats st;
	g_autofree gboolean *blk = NULL;
	guint e = 0, todo = 0, runs = 0, blocks = 0;
	guint64 deps = 0;

	for (guint g = 0; g < ng; g++) {
		/* up to two earlier groups, as after: names them */
		for (guint k = 0; g > 0 && k < 2; k++)
			if (g_rand_int_range(r, 0, 3) == 0)
				w->after[e++] = g_rand_int_range(r, 0, g);
		w->after_at[g + 1] = e;
	}
	for (guint h = 0; h < nh; h++)
		w->limits[h] = g_rand_int_range(r, 1, 4);
	for (guint j = 0; j < n; j++) {
		gint roll = g_rand_int_range(r, 0, 100);

		w->jobs[j].group = j / (n / ng);
		w->jobs[j].src = g_rand_int_range(r, 0, nh);
		do
			w->jobs[j].dst = g_rand_int_range(r, 0, nh);
		while (w->jobs[j].dst == w->jobs[j].src);
		w->jobs[j].start = roll < 5 ? SCHED_DONE : roll < 6 ? SCHED_OUT : SCHED_TODO;
		w->fate[j] = g_rand_int_range(r, 0, 100) < 2 ? RUNS_FAILS : RUNS_OK;
		deps += w->after_at[w->jobs[j].group + 1] - w->after_at[w->jobs[j].group];
	}
	w->s.limit = 16;
	blk = expected_blocked(w);
	sched_run(&w->s, &st);
	g_assert_false(w->violation);
	for (guint j = 0; j < n; j++) {
		if (w->jobs[j].start != SCHED_TODO) {
			g_assert_cmpint(w->ran[j], ==, 0);
			g_assert_cmpint(w->blocked_by[j], ==, -1);
			continue;
		}
		todo++;
		if (blk[j]) {
			g_assert_cmpint(w->ran[j], ==, 0);
			g_assert_cmpint(w->blocked_by[j], >=, 0);
			blocks++;
		} else {
			g_assert_cmpint(w->ran[j], ==, 1);
			g_assert_cmpint(w->blocked_by[j], ==, -1);
			runs++;
		}
	}
	g_assert_cmpuint(st.started, ==, runs);
	g_assert_cmpuint(st.blocked, ==, blocks);
	g_assert_cmpuint(runs + blocks, ==, todo);
	g_assert_cmpuint(blocks, >, 0);		/* the test exercised blocking */
	g_assert_cmpuint(w->max_running, <=, w->s.limit);
	/* linear: a bounded number of looks per job and per dependency */
	g_test_message("10,000 jobs, %" G_GUINT64_FORMAT " dependencies: %" G_GUINT64_FORMAT " visits", deps, st.visits);
	g_assert_cmpuint(st.visits, <=, 4 * (n + deps));
	g_rand_free(r);
	world_free(w);
}

/* A blocked job's blocker is named: the failed job, then the blocked one
 * for the next level; a job out of the run blocks its dependents. */
static void
test_blocking_chain(void)
{
	/* groups: 0 <- 1 <- 2, and 3 after an out job's group 4 */
	struct world *w = world_new(5, 5, 2, 3);
	guint after[] = { 0, 1, 4 };

	memcpy(w->after, after, sizeof(after));
	w->after_at[0] = 0, w->after_at[1] = 0, w->after_at[2] = 1, w->after_at[3] = 2, w->after_at[4] = 3,
	w->after_at[5] = 3;
	for (guint j = 0; j < 5; j++)
		w->jobs[j] = (struct sched_job){ .src = 0, .dst = 1, .group = j, .start = SCHED_TODO };
	w->jobs[4].start = SCHED_OUT;
	w->fate[0] = RUNS_FAILS;
	w->limits[0] = w->limits[1] = 4;
	w->s.limit = 4;
	sched_run(&w->s, NULL);
	g_assert_cmpint(w->ran[0], ==, 1);
	g_assert_cmpint(w->blocked_by[1], ==, 0);
	g_assert_cmpint(w->blocked_by[2], ==, 1);
	g_assert_cmpint(w->blocked_by[3], ==, 4);
	g_assert_cmpint(w->ran[1] + w->ran[2] + w->ran[3] + w->ran[4], ==, 0);
	world_free(w);
}

/* Dependencies hold the order: a chain of groups runs one after the
 * other, even with room for all of them at once. */
static void
test_order(void)
{
	struct world *w = world_new(6, 3, 6, 2);

	w->after[0] = 0, w->after[1] = 1;
	w->after_at[0] = 0, w->after_at[1] = 0, w->after_at[2] = 1, w->after_at[3] = 2;
	for (guint j = 0; j < 6; j++) {
		w->jobs[j] = (struct sched_job){ .src = j, .dst = (j + 1) % 6, .group = 2 - j / 2, .start = SCHED_TODO };
		w->limits[j] = 2;
	}
	w->s.limit = 6;
	sched_run(&w->s, NULL);
	g_assert_false(w->violation);
	/* jobs 4, 5 are group 0, then 2, 3 (group 1), then 0, 1 (group 2) */
	g_assert_cmpuint(MAX(w->finish_seq[4], w->finish_seq[5]), <, MIN(w->finish_seq[2], w->finish_seq[3]));
	g_assert_cmpuint(MAX(w->finish_seq[2], w->finish_seq[3]), <, MIN(w->finish_seq[0], w->finish_seq[1]));
	world_free(w);
}

/* One at a time, the first job of the plan that can run is the one that
 * starts: a, then b (after a, ready once a is done), then c; and the
 * waiters of a full host go in plan order too. */
static void
test_plan_order(void)
{
	struct world *w = world_new(6, 6, 3, 1);

	w->after[0] = 0;	/* group 1 after group 0 */
	w->after_at[0] = 0, w->after_at[1] = 0;
	for (guint g = 2; g <= 6; g++)
		w->after_at[g] = 1;
	for (guint j = 0; j < 6; j++)
		w->jobs[j] = (struct sched_job){ .src = j % 2, .dst = 2, .group = j, .start = SCHED_TODO };
	w->limits[0] = w->limits[1] = w->limits[2] = 1;
	w->s.limit = 1;
	sched_run(&w->s, NULL);
	g_assert_false(w->violation);
	for (guint j = 0; j < 6; j++)
		g_assert_cmpuint(w->finish_seq[j], ==, j + 1);
	world_free(w);
}

struct bg {
	struct world *w;
	GThread *t;
};

static gpointer
bg_main(gpointer p)
{
	struct world *w = p;

	sched_run(&w->s, NULL);
	return NULL;
}

/* Wait until @n jobs have started (run() signals each start). */
static void
wait_started(struct world *w, guint n)
{
	g_mutex_lock(&w->mu);
	while (w->started < n)
		g_cond_wait(&w->cond, &w->mu);
	g_mutex_unlock(&w->mu);
}

/* Let job @j end, and wait until it has. */
static void
release(struct world *w, guint j)
{
	g_mutex_lock(&w->mu);
	w->go[j] = TRUE;
	g_cond_broadcast(&w->cond);
	while (!w->finish_seq[j])
		g_cond_wait(&w->cond, &w->mu);
	g_mutex_unlock(&w->mu);
}

/* A host limit of 2: of three jobs on it, two run and the third starts
 * only when one of them ends; the run's limit holds the same way. */
static void
test_host_limit(void)
{
	struct world *w = world_new(4, 4, 4, 0);
	GThread *t;

	for (guint j = 0; j < 3; j++)
		w->jobs[j] = (struct sched_job){ .src = 0, .dst = j + 1, .group = j, .start = SCHED_TODO };
	w->jobs[3] = (struct sched_job){ .src = 2, .dst = 3, .group = 3, .start = SCHED_TODO };
	w->limits[0] = 2, w->limits[1] = w->limits[2] = w->limits[3] = 4;
	w->s.limit = 3;
	w->gated = TRUE;
	t = g_thread_new("sched", bg_main, w);
	wait_started(w, 3);	/* jobs 0 and 1 (host 0 full), and job 3 */
	g_mutex_lock(&w->mu);
	g_assert_cmpint(w->ran[0] + w->ran[1] + w->ran[3], ==, 3);
	g_assert_cmpint(w->ran[2], ==, 0);
	g_assert_cmpuint(w->busy[0], ==, 2);
	g_mutex_unlock(&w->mu);
	release(w, 3);		/* room on the run, none on host 0 */
	g_mutex_lock(&w->mu);
	g_assert_cmpint(w->ran[2], ==, 0);
	g_mutex_unlock(&w->mu);
	release(w, 0);		/* room on host 0: job 2 starts */
	wait_started(w, 4);
	release(w, 1);
	release(w, 2);
	g_thread_join(t);
	g_assert_false(w->violation);
	g_assert_cmpuint(w->max_busy[0], ==, 2);
	for (guint j = 0; j < 4; j++)
		g_assert_cmpint(w->ran[j], ==, 1);
	world_free(w);
}

/* Interrupted while the first job runs: nothing else starts, and nothing
 * is reported blocked (the next run decides). */
static void
test_interrupted(void)
{
	struct world *w = world_new(3, 3, 2, 1);
	volatile int stop = 0;
	GThread *t;

	w->after[0] = 0;
	w->after_at[0] = 0, w->after_at[1] = 0, w->after_at[2] = 1, w->after_at[3] = 1;
	for (guint j = 0; j < 3; j++)
		w->jobs[j] = (struct sched_job){ .src = 0, .dst = 1, .group = j, .start = SCHED_TODO };
	w->fate[0] = RUNS_FAILS;
	w->limits[0] = w->limits[1] = 1;
	w->s.limit = 1;
	w->s.interrupted = &stop;
	w->gated = TRUE;
	t = g_thread_new("sched", bg_main, w);
	wait_started(w, 1);
	stop = 1;
	release(w, 0);
	g_thread_join(t);
	g_assert_cmpint(w->ran[0], ==, 1);
	g_assert_cmpint(w->ran[1] + w->ran[2], ==, 0);
	g_assert_cmpint(w->blocked_by[1], ==, -1);
	g_assert_cmpint(w->blocked_by[2], ==, -1);
	world_free(w);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sched/fleet-10000", test_fleet);
	g_test_add_func("/sched/blocking-chain", test_blocking_chain);
	g_test_add_func("/sched/order", test_order);
	g_test_add_func("/sched/plan-order", test_plan_order);
	g_test_add_func("/sched/host-limit", test_host_limit);
	g_test_add_func("/sched/interrupted", test_interrupted);
	return g_test_run();
}
