/* sched.c: the scheduler (see sched.h).
 *
 * Indexed so that a run costs O(jobs + dependencies): each job counts the
 * groups it still waits for; a group that completes tells its dependents
 * once.  A ready job that finds no room waits in the queue of the first
 * full resource it needs (a host, or the run); a finished job frees one
 * slot of each of its resources and hands each to the first waiters
 * there.  Workers come from a pool as large as the run's limit and
 * report back through a queue, so only this thread touches the state.
 */
#include "sched.h"

enum jstate { J_WAITING, J_READY, J_RUNNING, J_FINISHED, J_BLOCKED };

struct run {
	const struct sched *s;
	struct sched_stats *st;
	guint n_res;		/* hosts, then the run itself */
	guint *busy, *cap;	/* per resource */
	gint *head, *tail;	/* per resource: its queue of waiting jobs (-1: empty) */
	gint *next;		/* per job: the next in its queue */
	guint *pending;		/* per job: groups it still waits for */
	enum jstate *state;
	gboolean *ok;		/* per job: the worker's result */
	guint *group_left;	/* per group: jobs not done yet */
	gint *group_bad;	/* per group: a job that will never be done, or -1 */
	guint *jobs_at, *jobs;	/* per group: its jobs (CSR) */
	guint *deps_at, *deps;	/* per group: the groups that run after it (CSR) */
	GAsyncQueue *finished;	/* job + 1, from the workers */
	GThreadPool *pool;
	guint running;
};

static gboolean
interrupted(struct run *r)
{
	return r->s->interrupted && *r->s->interrupted;
}

/* The first resource of @j without room, or -1. */
static gint
full_resource(struct run *r, guint j)
{
	const struct sched_job *job = &r->s->jobs[j];
	guint res[] = { job->src, job->dst, r->n_res - 1 };

	for (guint k = 0; k < G_N_ELEMENTS(res); k++)
		if (r->busy[res[k]] >= r->cap[res[k]])
			return (gint)res[k];
	return -1;
}

static void
take(struct run *r, guint j, gint delta)
{
	const struct sched_job *job = &r->s->jobs[j];

	r->busy[job->src] += delta;
	r->busy[job->dst] += delta;	/* twice if they are one: as a host limit reads it */
	r->busy[r->n_res - 1] += delta;
}

static void
try_start(struct run *r, guint j)
{
	gint full;

	r->st->visits++;
	r->state[j] = J_READY;
	if (interrupted(r))
		return;
	if ((full = full_resource(r, j)) >= 0) {
		r->next[j] = -1;
		if (r->tail[full] >= 0)
			r->next[r->tail[full]] = (gint)j;
		else
			r->head[full] = (gint)j;
		r->tail[full] = (gint)j;
		return;
	}
	take(r, j, 1);
	r->state[j] = J_RUNNING;
	r->running++;
	r->st->started++;
	g_thread_pool_push(r->pool, GUINT_TO_POINTER(j + 1), NULL);
}

/* Room on @res: the jobs waiting there, first come first served. */
static void
wake(struct run *r, guint res)
{
	while (r->head[res] >= 0 && r->busy[res] < r->cap[res] && !interrupted(r)) {
		guint j = (guint)r->head[res];

		if ((r->head[res] = r->next[j]) < 0)
			r->tail[res] = -1;
		try_start(r, j);
	}
}

static void block_group(struct run *r, guint g, guint by);

static void
block(struct run *r, guint j, guint by)
{
	r->st->visits++;
	r->state[j] = J_BLOCKED;
	r->st->blocked++;
	r->s->blocked(r->s->ud, j, by);
	block_group(r, r->s->jobs[j].group, j);
}

/* @by of group @g will never be done: what runs after @g never runs. */
static void
block_group(struct run *r, guint g, guint by)
{
	if (r->group_bad[g] >= 0)
		return;		/* told already */
	r->group_bad[g] = (gint)by;
	for (guint d = r->deps_at[g]; d < r->deps_at[g + 1]; d++) {
		guint dg = r->deps[d];

		for (guint k = r->jobs_at[dg]; k < r->jobs_at[dg + 1]; k++)
			if (r->state[r->jobs[k]] == J_WAITING)
				block(r, r->jobs[k], by);
	}
}

static void
group_done(struct run *r, guint g)
{
	for (guint d = r->deps_at[g]; d < r->deps_at[g + 1]; d++) {
		guint dg = r->deps[d];

		for (guint k = r->jobs_at[dg]; k < r->jobs_at[dg + 1]; k++) {
			guint j = r->jobs[k];

			r->st->visits++;
			if (r->state[j] == J_WAITING && --r->pending[j] == 0)
				try_start(r, j);
		}
	}
}

static void
finish(struct run *r, guint j)
{
	const struct sched_job *job = &r->s->jobs[j];
	guint g = job->group;

	r->state[j] = J_FINISHED;
	r->running--;
	take(r, j, -1);
	/* who waited for room first, then who waited for this job */
	wake(r, job->src);
	wake(r, job->dst);
	wake(r, r->n_res - 1);
	if (!r->ok[j] && !interrupted(r))
		block_group(r, g, j);	/* interrupted: the next run decides */
	else if (--r->group_left[g] == 0 && r->group_bad[g] < 0)
		group_done(r, g);
}

static void
worker(gpointer data, gpointer ud)
{
	struct run *r = ud;
	guint j = GPOINTER_TO_UINT(data) - 1;

	r->ok[j] = r->s->run(r->s->ud, j);
	g_async_queue_push(r->finished, data);	/* a full barrier: ok[j] is seen */
}

/* Per group: its jobs, and the groups that run after it (CSR). */
static void
index_groups(struct run *r)
{
	const struct sched *s = r->s;
	guint *fill = g_new0(guint, s->n_groups + 1);

	r->jobs_at = g_new0(guint, s->n_groups + 1);
	r->jobs = g_new(guint, s->n_jobs ? s->n_jobs : 1);
	for (guint j = 0; j < s->n_jobs; j++)
		r->jobs_at[s->jobs[j].group + 1]++;
	for (guint g = 0; g < s->n_groups; g++)
		r->jobs_at[g + 1] += r->jobs_at[g];
	for (guint j = 0; j < s->n_jobs; j++) {
		guint g = s->jobs[j].group;

		r->jobs[r->jobs_at[g] + fill[g]++] = j;
	}
	memset(fill, 0, (s->n_groups + 1) * sizeof(*fill));
	r->deps_at = g_new0(guint, s->n_groups + 1);
	r->deps = g_new(guint, s->after_at[s->n_groups] ? s->after_at[s->n_groups] : 1);
	for (guint e = 0; e < s->after_at[s->n_groups]; e++)
		r->deps_at[s->after[e] + 1]++;
	for (guint g = 0; g < s->n_groups; g++)
		r->deps_at[g + 1] += r->deps_at[g];
	for (guint g = 0; g < s->n_groups; g++)
		for (guint e = s->after_at[g]; e < s->after_at[g + 1]; e++) {
			guint dep = s->after[e];

			r->deps[r->deps_at[dep] + fill[dep]++] = g;
		}
	g_free(fill);
}

static void
run_init(struct run *r, const struct sched *s, struct sched_stats *st)
{
	r->s = s;
	r->st = st;
	r->n_res = s->n_hosts + 1;
	r->busy = g_new0(guint, r->n_res);
	r->cap = g_new(guint, r->n_res);
	r->head = g_new(gint, r->n_res);
	r->tail = g_new(gint, r->n_res);
	for (guint k = 0; k < r->n_res; k++) {
		r->cap[k] = k < s->n_hosts ? s->host_limit[k] : s->limit;
		r->head[k] = r->tail[k] = -1;
	}
	r->next = g_new(gint, s->n_jobs + 1);
	r->pending = g_new0(guint, s->n_jobs + 1);
	r->state = g_new0(enum jstate, s->n_jobs + 1);
	r->ok = g_new0(gboolean, s->n_jobs + 1);
	r->group_left = g_new0(guint, s->n_groups + 1);
	r->group_bad = g_new(gint, s->n_groups + 1);
	for (guint g = 0; g < s->n_groups; g++)
		r->group_bad[g] = -1;
	index_groups(r);
	r->finished = g_async_queue_new();
	r->pool = g_thread_pool_new(worker, r, (gint)s->limit, FALSE, NULL);
}

static void
run_free(struct run *r)
{
	g_thread_pool_free(r->pool, FALSE, TRUE);	/* every worker is back by now */
	g_async_queue_unref(r->finished);
	g_free(r->busy);
	g_free(r->cap);
	g_free(r->head);
	g_free(r->tail);
	g_free(r->next);
	g_free(r->pending);
	g_free(r->state);
	g_free(r->ok);
	g_free(r->group_left);
	g_free(r->group_bad);
	g_free(r->jobs_at);
	g_free(r->jobs);
	g_free(r->deps_at);
	g_free(r->deps);
}

void
sched_run(const struct sched *s, struct sched_stats *stats)
{
	struct sched_stats dummy;
	struct run r = { 0 };

	run_init(&r, s, stats ? stats : &dummy);
	memset(r.st, 0, sizeof(*r.st));
	for (guint j = 0; j < s->n_jobs; j++) {
		if (s->jobs[j].start != SCHED_DONE)
			r.group_left[s->jobs[j].group]++;
		if (s->jobs[j].start != SCHED_TODO)
			r.state[j] = J_FINISHED;
	}
	/* what can never be done blocks its dependents at once */
	for (guint j = 0; j < s->n_jobs; j++)
		if (s->jobs[j].start == SCHED_OUT)
			block_group(&r, s->jobs[j].group, j);
	for (guint j = 0; j < s->n_jobs; j++) {
		guint g = s->jobs[j].group;

		if (r.state[j] != J_WAITING)
			continue;
		for (guint e = s->after_at[g]; e < s->after_at[g + 1]; e++)
			r.pending[j] += r.group_left[s->after[e]] > 0;
		if (r.pending[j] == 0)
			try_start(&r, j);
	}
	while (r.running > 0)
		finish(&r, GPOINTER_TO_UINT(g_async_queue_pop(r.finished)) - 1);
	run_free(&r);
}
