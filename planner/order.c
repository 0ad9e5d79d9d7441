/* order.c: the dependency graph of a plan's after: keys, its cycles, the
 * execution order (topological, ties in plan order) and the waves: steps
 * of time in which migrations may run together without breaking after:,
 * a host's max_parallel or the plan's concurrency.max_parallel (a
 * pooled migration counts against its source host only: its target is
 * placed at apply time). */
#include "plan_priv.h"

static gint
index_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	guint x = GPOINTER_TO_UINT(a), y = GPOINTER_TO_UINT(b);

	(void)unused;
	return x < y ? -1 : x > y;
}

/* Name every member of the cycle through @start, which is known to be
 * in one: from each unordered migration, some dependency is unordered
 * too, so following them must come back round. */
static void
report_cycles(struct plan *plan, const gboolean *done, struct diags *dg)
{
	guint n = plan->migrations->len;
	g_autofree guint *walk_id = g_new0(guint, n);	/* which walk reached it, 0 = none */
	g_autofree guint *step = g_new0(guint, n);	/* its place on that walk */
	g_autoptr(GPtrArray) path = g_ptr_array_new();

	for (guint w = 0; w < n; w++) {
		struct migration *m = plan->migrations->pdata[w];

		if (done[w] || walk_id[w])
			continue;
		g_ptr_array_set_size(path, 0);
		while (!walk_id[m->index]) {
			struct migration *next = NULL;

			walk_id[m->index] = w + 1;
			step[m->index] = path->len;
			g_ptr_array_add(path, m);
			for (guint d = 0; d < m->after->len && !next; d++) {
				struct migration *dep = m->after->pdata[d];

				if (!done[dep->index])
					next = dep;
			}
			g_assert(next);
			m = next;
		}
		if (walk_id[m->index] != w + 1)
			continue;	/* ran into a cycle already reported */

		/* path[step[m]..] is the cycle; say it from its first member
		 * in plan order, at the after: entry naming the next one. */
		{
			guint first = step[m->index], len = path->len - first, lead = first;
			g_autoptr(GString) names = g_string_new(NULL);
			struct migration *head, *succ;
			struct pos at;

			for (guint i = first; i < path->len; i++)
				if (((struct migration *)path->pdata[i])->index <
				    ((struct migration *)path->pdata[lead])->index)
					lead = i;
			for (guint k = 0; k <= len; k++) {
				struct migration *x = path->pdata[first + (lead - first + k) % len];

				g_string_append_printf(names, "%s'%s'", k ? " -> " : "", x->id);
			}
			head = path->pdata[lead];
			succ = path->pdata[first + (lead - first + 1) % len];
			at = head->after_at;
			for (guint r = 0; r < head->after_refs->len; r++) {
				struct after_ref *ref = &g_array_index(head->after_refs, struct after_ref, r);

				if (g_str_equal(ref->id, succ->id)) {
					at = ref->at;
					break;
				}
			}
			diags_add(dg, at, "dependency cycle: %s (A -> B: A runs after B); break it by removing one of these after: entries",
				  names->str);
		}
	}
}

static int
topo_order(struct plan *plan, struct diags *dg)
{
	guint n = plan->migrations->len;
	g_autofree guint *waiting = g_new0(guint, n);
	g_autofree gboolean *done = g_new0(gboolean, n);
	g_autoptr(GPtrArray) dependents = g_ptr_array_new_full(n, (GDestroyNotify)g_ptr_array_unref);
	GSequence *ready = g_sequence_new(NULL);

	for (guint i = 0; i < n; i++)
		g_ptr_array_add(dependents, g_ptr_array_new());
	for (guint i = 0; i < n; i++) {
		struct migration *m = plan->migrations->pdata[i];

		waiting[i] = m->after->len;
		for (guint d = 0; d < m->after->len; d++)
			g_ptr_array_add(dependents->pdata[((struct migration *)m->after->pdata[d])->index], m);
		if (!waiting[i])
			g_sequence_append(ready, GUINT_TO_POINTER(i));
	}
	/* appended in index order, so already sorted */
	while (g_sequence_get_length(ready)) {
		GSequenceIter *it = g_sequence_get_begin_iter(ready);
		guint i = GPOINTER_TO_UINT(g_sequence_get(it));
		GPtrArray *deps = dependents->pdata[i];

		g_sequence_remove(it);
		done[i] = TRUE;
		g_ptr_array_add(plan->order, plan->migrations->pdata[i]);
		for (guint k = 0; k < deps->len; k++) {
			struct migration *d = deps->pdata[k];

			if (--waiting[d->index] == 0)
				g_sequence_insert_sorted(ready, GUINT_TO_POINTER(d->index), index_cmp, NULL);
		}
	}
	g_sequence_free(ready);
	if (plan->order->len == n)
		return 0;
	report_cycles(plan, done, dg);
	return -1;
}

/* Waves are filled greedily in execution order: a migration joins the
 * current wave if everything it runs after finished in an earlier one
 * and neither its hosts nor the plan are at their limit. */
static void
assign_waves(struct plan *plan)
{
	g_autofree guint *busy = g_new0(guint, plan->hosts->len);	/* this wave */
	g_autoptr(GPtrArray) touched = g_ptr_array_new();
	GQueue pending = G_QUEUE_INIT;
	guint wave = 0;

	for (guint i = 0; i < plan->order->len; i++)
		g_queue_push_tail(&pending, plan->order->pdata[i]);
	while (!g_queue_is_empty(&pending)) {
		guint running = 0;
		GList *l = pending.head;

		wave++;
		while (l && running < plan->max_parallel) {
			struct migration *m = l->data;
			GList *next = l->next;
			/* a pooled migration's target is chosen at apply time:
			 * it counts against no target's max_parallel here */
			gboolean ok = busy[m->from->index] < m->from->max_parallel &&
				      (!m->to || busy[m->to->index] < m->to->max_parallel);

			for (guint d = 0; d < m->after->len && ok; d++) {
				guint w = ((struct migration *)m->after->pdata[d])->wave;

				ok = w && w < wave;
			}
			if (ok) {
				m->wave = wave;
				running++;
				busy[m->from->index]++;
				g_ptr_array_add(touched, m->from);
				if (m->to) {
					busy[m->to->index]++;
					g_ptr_array_add(touched, m->to);
				}
				g_queue_delete_link(&pending, l);
			}
			l = next;
		}
		for (guint i = 0; i < touched->len; i++)
			busy[((struct host *)touched->pdata[i])->index] = 0;
		g_ptr_array_set_size(touched, 0);
	}
	plan->n_waves = wave;
}

/* Execution order lists wave by wave; within a wave it keeps the
 * topological order (a stable counting sort). */
static void
sort_by_wave(struct plan *plan)
{
	g_autofree guint *start = g_new0(guint, plan->n_waves + 2);
	g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(plan->order->len);

	for (guint i = 0; i < plan->order->len; i++)
		start[((struct migration *)plan->order->pdata[i])->wave + 1]++;
	for (guint w = 1; w <= plan->n_waves + 1; w++)
		start[w] += start[w - 1];
	g_ptr_array_set_size(sorted, plan->order->len);
	for (guint i = 0; i < plan->order->len; i++) {
		struct migration *m = plan->order->pdata[i];

		sorted->pdata[start[m->wave]++] = m;
	}
	for (guint i = 0; i < plan->order->len; i++)
		plan->order->pdata[i] = sorted->pdata[i];
}

int
plan_order(struct plan *plan, struct diags *dg)
{
	if (topo_order(plan, dg) < 0)
		return -1;
	assign_waves(plan);
	sort_by_wave(plan);
	return 0;
}

void
plan_find_cycles(struct plan *plan, struct diags *dg)
{
	topo_order(plan, dg);
	g_ptr_array_set_size(plan->order, 0);
}
