/* plan_check.c: the rules that relate parts of a plan to each other:
 * host and id references and duplicates; then each migration's settings
 * (check_settings.c). */
#include <string.h>

#include "plan_priv.h"
#include "suggest.h"

/* ---- references ---- */

static const char *const *
host_names(const struct plan *plan)
{
	const char **names = g_new(const char *, plan->hosts->len + 1);

	for (guint i = 0; i < plan->hosts->len; i++)
		names[i] = ((struct host *)plan->hosts->pdata[i])->name;
	names[plan->hosts->len] = NULL;
	return names;
}

static struct host *
resolve_host(struct pctx *c, const char *name, struct pos at, const char *key)
{
	struct host *h;
	g_autofree const char *const *names = NULL;
	const char *near;

	if (!name || c->plan->hosts->len == 0)	/* no hosts is reported already */
		return NULL;
	if ((h = plan_host(c->plan, name)))
		return h;
	names = host_names(c->plan);
	near = suggest_nearest(name, names, c->plan->hosts->len);
	if (near) {
		diags_add(c->dg, at, "'%s' names unknown host '%s' (did you mean '%s'?)", key, name, near);
	} else {
		g_autofree char *all = g_strjoinv(", ", (char **)names);

		diags_add(c->dg, at, "'%s' names unknown host '%s'; hosts are: %s", key, name, all);
	}
	return NULL;
}

/* The one-host pool of @h, shared by every plain to: naming it. */
static GPtrArray *
host_pool(struct pctx *c, struct host *h)
{
	GPtrArray *pool = g_hash_table_lookup(c->host_pools, h);

	if (!pool) {
		pool = g_ptr_array_sized_new(1);
		g_ptr_array_add(pool, h);
		g_hash_table_insert(c->host_pools, h, pool);
	}
	return g_ptr_array_ref(pool);
}

/* to:, a name or a list (a pool), resolved into m->to and m->pool. */
static void
resolve_to(struct pctx *c, struct migration *m)
{
	GPtrArray *names = g_hash_table_lookup(c->pool_names, m);
	g_autoptr(GPtrArray) pool = NULL;
	gboolean ok = TRUE;

	if (!names) {
		m->to = resolve_host(c, m->to_name, m->to_at, "to");
		if (m->from && m->from == m->to) {
			diags_add(c->dg, m->to_at, "'to' is the same host as 'from' ('%s')", m->to->name);
		} else if (m->to) {
			g_ptr_array_unref(m->pool);
			m->pool = host_pool(c, m->to);
		}
		return;
	}
	pool = g_ptr_array_sized_new(names->len);
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		struct pos at = g_array_index(m->pool_at, struct pos, i);
		struct host *h;
		guint first;

		for (first = 0; first < i && strcmp(names->pdata[first], name); first++)
			;
		if (first < i) {
			struct pos fat = g_array_index(m->pool_at, struct pos, first);

			diags_add(c->dg, at, "'to' lists host '%s' twice (first at line %u, column %u)",
				  name, fat.line, fat.col);
			ok = FALSE;
			continue;
		}
		if (!(h = resolve_host(c, name, at, "to"))) {
			ok = FALSE;
			continue;
		}
		if (h == m->from) {
			diags_add(c->dg, at,
				  "'to' lists '%s', the host the VMs leave ('from'); a pool holds only target hosts",
				  name);
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(pool, h);
	}
	if (!ok || pool->len == 0)
		return;
	if (pool->len == 1) {	/* a one-host list is that host */
		m->to = pool->pdata[0];
		m->to_name = g_strdup(m->to->name);
	}
	g_ptr_array_unref(m->pool);
	m->pool = g_steal_pointer(&pool);
}

static guint
vm_at_host_hash(gconstpointer p)
{
	const struct migration *m = p;

	return g_str_hash(m->vm) * 31 + g_str_hash(m->from_name);
}

static gboolean
vm_at_host_equal(gconstpointer a, gconstpointer b)
{
	const struct migration *x = a, *y = b;

	return !strcmp(x->vm, y->vm) && !strcmp(x->from_name, y->from_name);
}

/* Ids are unique, and one VM leaves one host once. */
static void
check_unique(struct pctx *c)
{
	g_autoptr(GHashTable) by_vm = g_hash_table_new(vm_at_host_hash, vm_at_host_equal);
	struct plan *plan = c->plan;

	for (guint i = 0; i < plan->migrations->len; i++) {
		struct migration *m = plan->migrations->pdata[i];
		struct migration *first;
		gboolean vm_dup = FALSE;

		if (m->vm && m->from_name) {
			if ((first = g_hash_table_lookup(by_vm, m))) {
				diags_add(c->dg, m->name_at,
					  "vm '%s' on host '%s' is already migrated by the migration at line %u",
					  m->vm, m->from_name, first->at.line);
				vm_dup = TRUE;
			} else {
				g_hash_table_add(by_vm, m);
			}
		}
		if ((first = g_hash_table_lookup(plan->migration_by_id, m->id))) {
			if (vm_dup && !m->id_given)
				continue;
			if (m->id_given)
				diags_add(c->dg, m->id_at, "duplicate migration id '%s' (first at line %u)",
					  m->id, first->at.line);
			else
				diags_add(c->dg, m->name_at,
					  "migration id '%s' is already used by the migration at line %u "
					  "(an id defaults to the vm or match; add a distinct id: to one of them)",
					  m->id, first->at.line);
			continue;
		}
		g_hash_table_insert(plan->migration_by_id, m->id, m);
	}
}

static void
resolve_after(struct pctx *c, struct migration *m)
{
	for (guint i = 0; i < m->after_refs->len; i++) {
		struct after_ref *ref = &g_array_index(m->after_refs, struct after_ref, i);
		struct migration *dep = plan_migration(c->plan, ref->id);

		if (dep == m) {
			diags_add(c->dg, ref->at, "migration '%s' cannot come after itself", m->id);
		} else if (dep && dep->match && !dep->id_given) {
			diags_add(c->dg, ref->at,
				  "'after' names the match pattern '%s'; give that migration (line %u) an id: and name the id here",
				  ref->id, dep->at.line);
		} else if (dep) {
			if (!g_ptr_array_find(m->after, dep, NULL))
				g_ptr_array_add(plan_list_own(c->plan, &m->after, NULL), dep);
		} else {
			g_autoptr(GPtrArray) ids = g_ptr_array_new();
			const char *near;

			for (guint k = 0; k < c->plan->migrations->len; k++) {
				struct migration *o = c->plan->migrations->pdata[k];

				if (o != m && (o->vm || o->id_given))
					g_ptr_array_add(ids, o->id);
			}
			near = suggest_nearest(ref->id, (const char *const *)ids->pdata, ids->len);
			if (near)
				diags_add(c->dg, ref->at, "'after' names unknown migration '%s' (did you mean '%s'?)",
					  ref->id, near);
			else
				diags_add(c->dg, ref->at, "'after' names unknown migration '%s'", ref->id);
		}
	}
}

void
plan_check(struct pctx *c)
{
	struct plan *plan = c->plan;

	check_unique(c);
	check_defaults(c);
	for (guint i = 0; i < plan->migrations->len; i++) {
		struct migration *m = plan->migrations->pdata[i];

		if (m->not_a_map)
			continue;
		m->from = resolve_host(c, m->from_name, m->from_at, "from");
		resolve_to(c, m);
		settings_inherit(&m->set, &plan->defaults);
		check_settings(c, m);
		resolve_after(c, m);
	}
}
