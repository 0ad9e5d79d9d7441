/* load.c: reading a plan: the file, its YAML, the model, the checks
 * and the order, in that order. */
#include <string.h>

#include "plan_priv.h"

void
pctx_init(struct pctx *c, const char *path, struct diags *dg)
{
	memset(c, 0, sizeof(*c));
	c->dg = dg;
	c->plan = plan_new(path);
	c->pool_names = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_ptr_array_unref);
	c->host_pools = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_ptr_array_unref);
	c->no_pos = g_array_new(FALSE, FALSE, sizeof(struct pos));
}

void
pctx_release(struct pctx *c)
{
	ydoc_release(&c->y);
	g_clear_pointer(&c->pool_names, g_hash_table_unref);
	g_clear_pointer(&c->host_pools, g_hash_table_unref);
	g_clear_pointer(&c->no_pos, g_array_unref);
}

/* plan_parse(); if @owned is not NULL, it holds @buf, which is freed
 * as soon as the tree is loaded (the tree has its own copy of the text):
 * the bytes and the plan need not be in memory at once. */
static struct plan *
parse(const char *path, const char *buf, gsize len, char **owned, struct diags *dg)
{
	struct pctx c;
	guint before = diags_count(dg);
	int rc;

	pctx_init(&c, path, dg);
	rc = ydoc_load(&c.y, buf, len, dg);

	if (owned)
		g_clear_pointer(owned, g_free);
	if (rc == 0) {
		plan_read_tree(&c, ydoc_root(&c.y));
		/* the model holds all it needs (positions included): the
		 * checks and the order need not share memory with the tree */
		ydoc_release(&c.y);
		plan_check(&c);
		/* Waves need a sound plan (hosts resolved, ids unique); cycles
		 * are worth reporting along with everything else. */
		if (diags_count(dg) == before)
			plan_order(c.plan, dg);
		else
			plan_find_cycles(c.plan, dg);
	}
	pctx_release(&c);
	if (diags_count(dg) != before) {
		plan_free(c.plan);
		return NULL;
	}
	return c.plan;
}

struct plan *
plan_parse(const char *path, const char *buf, gsize len, struct diags *dg)
{
	return parse(path, buf, len, NULL, dg);
}

static struct plan *
load(const char *path, gboolean hash, struct diags *dg)
{
	g_autofree char *buf = NULL;
	g_autofree char *sum = NULL;
	g_autoptr(GError) err = NULL;
	struct plan *plan;
	gsize len = 0;

	if (!g_file_get_contents(path, &buf, &len, &err)) {
		diags_add(dg, (struct pos){ 0, 0 }, "cannot read the plan: %s", err->message);
		return NULL;
	}
	if (hash)
		sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)buf, len);
	plan = parse(path, buf, len, &buf, dg);
	if (plan && hash)
		g_strlcpy(plan->sha256, sum, sizeof(plan->sha256));
	return plan;
}

struct plan *
plan_load(const char *path, struct diags *dg)
{
	return load(path, TRUE, dg);
}

struct plan *
plan_load_unhashed(const char *path, struct diags *dg)
{
	return load(path, FALSE, dg);
}

void
plan_hash(struct plan *plan, const char *buf, gsize len)
{
	g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)buf, len);

	g_strlcpy(plan->sha256, sum, sizeof(plan->sha256));
}
