/* sched.c: the scheduler (see sched.h).
 *
 * Indexed so that a run costs O((jobs + dependencies) log jobs): each job
 * counts the groups it still waits for; a group that completes tells its
 * dependents once.  A ready job that finds no room waits in the queue of
 * the first full resource it needs (a host, or the run), a heap by job
 * number.  When a job ends, the candidates are the jobs it made ready and
 * the waiters of the resources it freed: they are tried lowest number
 * first, so that, as a rescan of every job in plan order would, the first
 * job of the plan that fits is the one that starts.  Workers come from a
 * pool as large as the run's limit and report back through a queue, so
 * only this thread touches the state.
 */
#include "sched.h"

enum jstate { J_WAITING, J_READY, J_RUNNING, J_FINISHED, J_BLOCKED };

struct run {
	const struct sched *s;
	struct sched_stats *st;
	guint n_res;		/* hosts, then the run itself */
	guint *busy, *cap;	/* per resource */
	GArray **waiting;	/* per resource: a min-heap of the jobs waiting for it */
	GArray *fresh;		/* a min-heap of the jobs just made ready */
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

/* ---- min-heaps of job numbers ---- */

static void
heap_push(GArray *h, guint j)
{
	guint i = h->len;

	g_array_append_val(h, j);
	while (i > 0 && g_array_index(h, guint, (i - 1) / 2) > j) {
		g_array_index(h, guint, i) = g_array_index(h, guint, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	g_array_index(h, guint, i) = j;
}

static guint
heap_pop(GArray *h)
{
	guint top = g_array_index(h, guint, 0), last = g_array_index(h, guint, h->len - 1), i = 0;

	g_array_set_size(h, h->len - 1);
	while (h->len) {
		guint c = 2 * i + 1;

		if (c >= h->len)
			break;
		if (c + 1 < h->len && g_array_index(h, guint, c + 1) < g_array_index(h, guint, c))
			c++;
		if (g_array_index(h, guint, c) >= last)
			break;
		g_array_index(h, guint, i) = g_array_index(h, guint, c);
		i = c;
	}
	if (h->len)
		g_array_index(h, guint, i) = last;
	return top;
}

/* Start @j, or queue it on the first resource that has no room. */
static void
try_start(struct run *r, guint j)
{
	GError *e = NULL;
	gint full;

	r->st->visits++;
	r->state[j] = J_READY;
	if (interrupted(r))
		return;
	if ((full = full_resource(r, j)) >= 0) {
		heap_push(r->waiting[full], j);
		return;
	}
	take(r, j, 1);
	r->state[j] = J_RUNNING;
	r->running++;
	r->st->started++;
	/* as g_thread_new() does: without a worker the run cannot go on */
	if (!g_thread_pool_push(r->pool, GUINT_TO_POINTER(j + 1), &e))
		g_error("vmshift: cannot start a worker thread: %s", e->message);
}

/* The candidates (the jobs just made ready, the waiters of resources @a
 * and @b and of the run), lowest number first, while any can start. */
static void
dispatch(struct run *r, gint a, gint b)
{
	const gint res[] = { a, b, (gint)r->n_res - 1 };

	while (!interrupted(r)) {
		GArray *from = r->fresh->len ? r->fresh : NULL;

		for (guint k = 0; k < G_N_ELEMENTS(res); k++) {
			GArray *h = res[k] >= 0 ? r->waiting[res[k]] : NULL;

			if (h && h->len && r->busy[res[k]] < r->cap[res[k]] &&
			    (!from || g_array_index(h, guint, 0) < g_array_index(from, guint, 0)))
				from = h;
		}
		if (!from)
			return;
		try_start(r, heap_pop(from));
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
				heap_push(r->fresh, j);
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
	if (!r->ok[j] && !interrupted(r))
		block_group(r, g, j);	/* interrupted: the next run decides */
	else if (r->ok[j] && --r->group_left[g] == 0 && r->group_bad[g] < 0)
		group_done(r, g);
	dispatch(r, (gint)job->src, (gint)job->dst);
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
	r->waiting = g_new(GArray *, r->n_res);
	for (guint k = 0; k < r->n_res; k++) {
		r->cap[k] = k < s->n_hosts ? s->host_limit[k] : s->limit;
		r->waiting[k] = g_array_new(FALSE, FALSE, sizeof(guint));
	}
	r->fresh = g_array_new(FALSE, FALSE, sizeof(guint));
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
	for (guint k = 0; k < r->n_res; k++)
		g_array_unref(r->waiting[k]);
	g_free(r->waiting);
	g_array_unref(r->fresh);
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
			heap_push(r.fresh, j);
	}
	dispatch(&r, -1, -1);
	while (r.running > 0)
		finish(&r, GPOINTER_TO_UINT(g_async_queue_pop(r.finished)) - 1);
	run_free(&r);
}
