/* claims.c: what each unit of a run will take, checked before anything
 * runs.  Two plan entries may name one VM (a vm: and a match:, or two
 * patterns), and remaps may send two different files to one target path;
 * either would give one VM's disk to another, or move one VM twice.  Both
 * are plan errors: refused before the first step, with the entries'
 * positions. */
#include <string.h>

#include "exec_priv.h"

struct claim {
	struct unit *u;
	const char *what;	/* borrowed from the unit's domxml paths */
	char *src;		/* source host uuid + path, for "the same file?" */
};

static void
claim_free(gpointer p)
{
	struct claim *c = p;

	g_free(c->src);
	g_free(c);
}

static gboolean
will_run(struct unit *u)
{
	return u->selected && u->status != U_DONE && u->status != U_ROLLED_BACK;
}

static char *
where(struct exec *x, struct unit *u)
{
	return g_strdup_printf("%s:%u:%u: migration '%s'", x->plan->path, u->m->at.line, u->m->at.col, u->m->id);
}

/* The domain of @u on its source: uuid and remapped definition (u->sxml,
 * u->txml).  FALSE if it is not there (preflight says so, later). */
static int
load_unit(struct exec *x, struct unit *u, char uuid[VIR_UUID_STRING_BUFLEN], GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	g_autofree char *xml = NULL;
	gboolean missing = FALSE;

	if (!(d = dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? 0 : -1;
	if (virDomainGetUUIDString(d, uuid) < 0)
		return lv_fail(err, "cannot read the uuid of '%s' on %s", u->vm, u->src->h->name);
	if (!(xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE)))
		return lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->src->h->name);
	return unit_set_xml(x, u, xml, err) < 0 ? -1 : 1;
}

static int
claim_domain(struct exec *x, GHashTable *doms, struct unit *u, const char *uuid, GError **err)
{
	g_autofree char *key = g_strdup_printf("%s/%s", u->src->uuid, uuid);
	struct unit *o = g_hash_table_lookup(doms, key);

	if (!o) {
		g_hash_table_insert(doms, g_steal_pointer(&key), u);
		return 0;
	}
	{
		g_autofree char *a = where(x, o), *b = where(x, u);

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s and %s both claim domain '%s' (uuid %s) on %s; a VM moves once: drop one entry or narrow its match",
			    a, b, u->vm, uuid, u->src->h->name);
	}
	return -1;
}

static int
claim_files(struct exec *x, GHashTable *files, struct unit *u, GError **err)
{
	g_autoptr(GPtrArray) s = domxml_paths(u->sxml);
	g_autoptr(GPtrArray) t = domxml_paths(u->txml);

	for (guint i = 0; i < s->len; i++) {
		struct dom_path *sp = s->pdata[i], *tp = t->pdata[i];
		g_autofree char *key = NULL;
		struct claim *c, *o;

		if (!sp->copy)
			continue;
		key = g_strdup_printf("%s/%s", u->dst->uuid, tp->path);
		c = g_new0(struct claim, 1);
		c->u = u;
		c->src = g_strdup_printf("%s/%s", u->src->uuid, sp->path);
		if (!(o = g_hash_table_lookup(files, key))) {
			c->what = g_intern_string(sp->what);
			g_hash_table_insert(files, g_steal_pointer(&key), c);
			continue;
		}
		if (!strcmp(o->src, c->src)) {
			/* one file (a shared ISO) that several VMs use: copied once */
			claim_free(c);
			continue;
		}
		{
			g_autofree char *a = where(x, o->u), *b = where(x, u);

			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s (%s of '%s') and %s (%s of '%s') map two different files onto '%s' on %s; one would replace the other: change the paths remap so that each file keeps its own path",
				    a, o->what, o->u->vm, b, sp->what, u->vm, tp->path, u->dst->h->name);
			claim_free(c);
		}
		return -1;
	}
	return 0;
}

int
claims_check(struct exec *x, GError **err)
{
	g_autoptr(GHashTable) doms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, claim_free);

	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		char uuid[VIR_UUID_STRING_BUFLEN] = "";
		int r;

		if (!will_run(u))
			continue;
		if ((r = load_unit(x, u, uuid, err)) < 0)
			return -1;
		if (r == 0)
			continue;
		r = claim_domain(x, doms, u, uuid, err) < 0 || claim_files(x, files, u, err) < 0 ? -1 : 0;
		/* preflight reads the definition afresh (secure, migratable) */
		g_clear_pointer(&u->sxml, domxml_free);
		g_clear_pointer(&u->txml, domxml_free);
		g_clear_pointer(&u->changes, g_ptr_array_unref);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Another unit with the same target host whose fact array @key lists
 * @path.  Other units' workers write their facts: read under x->mu. */
static struct unit *
other_listing(struct exec *x, struct unit *u, const char *key, const char *path)
{
	struct unit *found = NULL;

	g_mutex_lock(&x->mu);
	for (guint i = 0; i < x->units->len && !found; i++) {
		struct unit *o = x->units->pdata[i];
		JsonArray *a;

		if (o == u || o->status == U_ROLLED_BACK || !o->dst || !o->dst->uuid || !u->dst->uuid ||
		    strcmp(o->dst->uuid, u->dst->uuid))
			continue;
		a = fact_array(o, key);
		for (guint k = 0; a && k < json_array_get_length(a) && !found; k++)
			if (!g_strcmp0(json_array_get_string_element(a, k), path))
				found = o;
	}
	g_mutex_unlock(&x->mu);
	return found;
}

struct unit *
claims_other_user(struct exec *x, struct unit *u, const char *path)
{
	return other_listing(x, u, FACT_TARGET_FILES, path);
}

struct unit *
claims_copied_by_other(struct exec *x, struct unit *u, const char *path)
{
	return other_listing(x, u, FACT_COPIED, path);
}
