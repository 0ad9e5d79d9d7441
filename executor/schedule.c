/* schedule.c: a run's units through the scheduler (schedule.h). */
#include "engine.h"
#include "sched.h"
#include "schedule.h"
#include "window.h"

static gboolean
runnable(struct unit *u)
{
	return u->selected && (u->status == U_PENDING || u->status == U_INTERRUPTED || u->status == U_FAILED ||
			       u->status == U_ROLLED_BACK || u->status == U_BLOCKED || u->status == U_DEFERRED);
}

/* Outside the window, or too long for what is left of it: not started.
 * A migration under way (a step done, begun or failed) is never
 * deferred: it finishes, rather than leave a VM down until the next
 * window. */
static gboolean
deferred(struct exec *x, struct unit *u)
{
	gint64 est;
	g_autofree char *why = NULL;

	if (u->done->len || u->running >= 0 || u->failed_step >= 0 || !(why = window_check(x, u, &est)))
		return FALSE;
	g_mutex_lock(&x->mu);
	u->status = U_DEFERRED;
	g_free(u->error);
	u->error = g_steal_pointer(&why);
	g_mutex_unlock(&x->mu);
	sink_log(&x->sink, "%s: deferred: %s", u->id, u->error);
	unit_record_status(x, u, NULL);
	return TRUE;
}

static gboolean
run_job(gpointer ud, guint j)
{
	struct exec *x = ud;
	struct unit *u = x->units->pdata[j];
	g_autofree char *fp = plan_migration_fingerprint(x->plan, u->m);
	gboolean reset = FALSE, copied_before;
	gint64 t0;

	g_mutex_lock(&x->mu);	/* other units' workers read its facts */
	if ((reset = u->status == U_ROLLED_BACK))
		unit_reset(u);
	g_mutex_unlock(&x->mu);
	if (reset)
		unit_journal_put(x, unit_record_new("reset", u), NULL);
	if (deferred(x, u))
		return FALSE;	/* its dependents are blocked */
	g_mutex_lock(&x->mu);
	u->status = U_RUNNING;
	g_mutex_unlock(&x->mu);
	copied_before = unit_has_done(u, STEP_COPY_DISKS);
	t0 = g_get_monotonic_time();
	engine_run_unit(x, u, fp, FINGERPRINT_VERSION);
	window_measured(x, u, copied_before, g_get_monotonic_time() - t0);
	return u->status == U_DONE;
}

static void
job_blocked(gpointer ud, guint j, guint by)
{
	struct exec *x = ud;
	struct unit *u = x->units->pdata[j], *o = x->units->pdata[by];

	g_mutex_lock(&x->mu);
	u->status = U_BLOCKED;
	g_free(u->error);
	u->error = g_strdup_printf("it runs after %s, which is %s", o->id,
				   !o->selected ? "not selected and not done" : unit_status_name(o->status));
	g_mutex_unlock(&x->mu);
	sink_log(&x->sink, "%s: blocked: %s", u->id, u->error);
	unit_record_status(x, u, NULL);
}

void
exec_schedule(struct exec *x)
{
	const struct plan *p = x->plan;
	guint n = x->units->len, ng = p->migrations->len, ne = 0;
	g_autofree struct sched_job *jobs = g_new0(struct sched_job, n + 1);
	g_autofree guint *after_at = g_new0(guint, ng + 1), *limits = g_new0(guint, p->hosts->len + 1);
	g_autofree guint *after = NULL;
	struct sched s = {
		.jobs = jobs, .n_jobs = n, .n_groups = ng, .after_at = after_at, .host_limit = limits,
		.n_hosts = p->hosts->len, .limit = (guint)p->max_parallel, .interrupted = x->o->interrupted,
		.run = run_job, .blocked = job_blocked, .ud = x,
	};

	for (guint g = 0; g < ng; g++)
		ne += ((struct migration *)p->migrations->pdata[g])->after->len;
	s.after = after = g_new0(guint, ne + 1);
	for (guint g = 0, e = 0; g < ng; g++) {
		const struct migration *m = p->migrations->pdata[g];

		for (guint d = 0; d < m->after->len; d++)
			after[e++] = ((struct migration *)m->after->pdata[d])->index;
		after_at[g + 1] = e;
	}
	for (guint h = 0; h < p->hosts->len; h++)
		limits[h] = (guint)((struct host *)p->hosts->pdata[h])->max_parallel;
	for (guint j = 0; j < n; j++) {
		struct unit *u = x->units->pdata[j];

		/* a unit placement found no room for is failed, not tried */
		jobs[j] = (struct sched_job){
			.src = u->m->from->index, .dst = u->to ? u->to->index : u->m->from->index, .group = u->m->index,
			.start = u->status == U_DONE ? SCHED_DONE : runnable(u) && u->to ? SCHED_TODO : SCHED_OUT,
		};
	}
	sched_run(&s, NULL);
}

