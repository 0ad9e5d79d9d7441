/* claims.c: what each unit of a run will take, checked before anything
 * runs.  Two plan entries may name one VM (a vm: and a match:, or two
 * patterns), and remaps may send two different files to one target path;
 * either would give one VM's disk to another, or move one VM twice.  Both
 * are plan errors: refused before the first step, with the entries'
 * positions. */
#include <string.h>

#include "step_common.h"

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

	if (!(d = host_dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? 0 : -1;
	if (virDomainGetUUIDString(d, uuid) < 0)
		return step_lv_fail(err, "cannot read the uuid of '%s' on %s", u->vm, u->src->h->name);
	/* as preflight reads it, which then needs not parse it again; where
	 * that is refused (no right to read secrets) the inactive one does for
	 * claims, and preflight says what it cannot read */
	if (!(xml = virDomainGetXMLDesc(d, XML_FLAGS(x))) &&
	    !(xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE)))
		return step_lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->src->h->name);
	return step_xml_set(x, u, xml, err) < 0 ? -1 : 1;
}

static int
claim_domain(struct exec *x, GHashTable *doms, struct unit *u, const char *host, const char *uuid, GError **err)
{
	g_autofree char *key = g_strdup_printf("%s/%s", host, uuid);
	struct unit *o = g_hash_table_lookup(doms, key);

	if (!o) {
		g_hash_table_insert(doms, g_steal_pointer(&key), u);
		return 0;
	}
	{
		g_autofree char *a = where(x, o), *b = where(x, u);

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s and %s both claim domain '%s' (uuid %s) on %s%s; a VM moves once: drop one entry or narrow its match",
			    a, b, u->vm, uuid, u->src->h->name,
			    o->status == U_DONE || u->status == U_DONE ? " (one of them moved it already, as the journal says)" : "");
	}
	return -1;
}

/* @u's target path @tp for its source file @sp (@what for people). */
static int
claim_file(struct exec *x, GHashTable *files, struct unit *u, const char *dst_host, const char *src_host,
	   const char *what, const char *sp, const char *tp, GError **err)
{
	g_autofree char *key = g_strdup_printf("%s/%s", dst_host, tp);
	g_autofree char *src = g_strdup_printf("%s/%s", src_host, sp);
	struct claim *o = g_hash_table_lookup(files, key), *c;

	if (!o) {
		c = g_new0(struct claim, 1);
		c->u = u;
		c->what = g_intern_string(what);
		c->src = g_steal_pointer(&src);
		g_hash_table_insert(files, g_steal_pointer(&key), c);
		return 0;
	}
	if (!strcmp(o->src, src))
		return 0;	/* one file (a shared ISO) that several VMs use: copied once */
	{
		g_autofree char *a = where(x, o->u), *b = where(x, u);

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s (%s of '%s') and %s (%s of '%s') map two different files onto '%s' on %s; one would replace the other: change the paths remap so that each file keeps its own path",
			    a, o->what, o->u->vm, b, what, u->vm, tp, u->dst->h->name);
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

		if (sp->copy && claim_file(x, files, u, u->dst->uuid, u->src->uuid, sp->what, sp->path, tp->path, err) < 0)
			return -1;
	}
	return 0;
}

/* What a unit that does not run now holds, as its journal says: its
 * domain and the files its target domain uses. */
static int
claim_journaled(struct exec *x, GHashTable *doms, GHashTable *files, struct unit *u, GError **err)
{
	const char *uuid = fact_str(u, FACT_SOURCE_UUID);
	const char *sh = *fact_str(u, FACT_SOURCE_HOST_UUID) ? fact_str(u, FACT_SOURCE_HOST_UUID) : u->src->uuid;
	const char *th = *fact_str(u, FACT_TARGET_HOST_UUID) ? fact_str(u, FACT_TARGET_HOST_UUID) : u->dst->uuid;
	JsonArray *t = fact_array(u, FACT_TARGET_FILES), *s = fact_array(u, FACT_SOURCE_FILES);

	if (!*uuid)
		return 0;
	if (claim_domain(x, doms, u, sh, uuid, err) < 0)
		return -1;
	for (guint i = 0; t && i < json_array_get_length(t); i++) {
		const char *sp = s && i < json_array_get_length(s) ? json_array_get_string_element(s, i) : u->id;

		if (claim_file(x, files, u, th, sh, "a file", sp, json_array_get_string_element(t, i), err) < 0)
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
		int r = 0;

		if (u->status == U_ROLLED_BACK || !u->dst)	/* not placed: it takes nothing */
			continue;
		if (will_run(u) && (r = load_unit(x, u, uuid, err)) < 0)
			return -1;
		if (r == 0) {
			/* not run now, or its source has it no more (moved) */
			if (claim_journaled(x, doms, files, u, err) < 0)
				return -1;
			continue;
		}
		r = claim_domain(x, doms, u, u->src->uuid, uuid, err) < 0 || claim_files(x, files, u, err) < 0 ? -1 : 0;
		/* preflight reads the definition again, and if the text is the
		 * same keeps these documents (step_xml_set()); once preflight is
		 * done the steps' reference is the saved XML, not the domain */
		if (unit_has_done(u, STEP_PREFLIGHT)) {
			g_clear_pointer(&u->sxml, domxml_free);
			g_clear_pointer(&u->txml, domxml_free);
			g_clear_pointer(&u->changes, g_ptr_array_unref);
			g_clear_pointer(&u->xml_text, g_free);
		}
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

		if (o == u || o->status == U_ROLLED_BACK || o->undoing || !o->dst || !o->dst->uuid || !u->dst->uuid ||
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
claims_other_part(struct exec *x, struct unit *u, const char *path)
{
	return other_listing(x, u, FACT_PARTS, path);
}

struct unit *
claims_copied_by_other(struct exec *x, struct unit *u, const char *path)
{
	return other_listing(x, u, FACT_COPIED, path);
}

/* Does @o map @sp (on its source) to @tp, as its preflight listed? */
static gboolean
maps(struct unit *o, const char *sp, const char *tp)
{
	JsonArray *t = fact_array(o, FACT_TARGET_FILES), *s = fact_array(o, FACT_SOURCE_FILES);

	for (guint k = 0; t && s && k < json_array_get_length(t) && k < json_array_get_length(s); k++)
		if (!g_strcmp0(json_array_get_string_element(t, k), tp) && !g_strcmp0(json_array_get_string_element(s, k), sp))
			return TRUE;
	return FALSE;
}

struct unit *
claims_copied_from_same(struct exec *x, struct unit *u, const char *sp, const char *tp)
{
	struct unit *o = claims_copied_by_other(x, u, tp), *found = NULL;

	if (!o)
		return NULL;
	g_mutex_lock(&x->mu);
	if (o->src && u->src && o->src->uuid && u->src->uuid && !strcmp(o->src->uuid, u->src->uuid) && maps(o, sp, tp))
		found = o;
	g_mutex_unlock(&x->mu);
	return found;
}

GPtrArray *
claims_dirs_left(struct exec *x, struct unit *u)
{
	GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);

	g_mutex_lock(&x->mu);
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *o = x->units->pdata[i];
		JsonArray *a;

		if (o == u || o->status != U_ROLLED_BACK || !o->dst || !o->dst->uuid || !u->dst->uuid ||
		    strcmp(o->dst->uuid, u->dst->uuid) || !(a = fact_array(o, FACT_DIRS)))
			continue;
		for (guint k = json_array_get_length(a); k-- > 0;)
			g_ptr_array_add(dirs, g_strdup(json_array_get_string_element(a, k)));
	}
	g_mutex_unlock(&x->mu);
	return dirs;
}

int
claims_refuse_foreign_part(struct exec *x, struct unit *u, const char *part, GError **err)
{
	struct unit *o;

	if (facts_array_has(fact_array(u, FACT_PARTS), part))
		return 0;
	if ((o = claims_other_part(x, u, part)))
		return step_fail(err, "'%s' on %s is the partial copy of %s, migrated in this run; finish or roll back that one first",
			    part, u->dst->h->name, o->id);
	return step_fail(err, "'%s' on %s is a partial copy this run did not start (stale, or somebody else's); vmshift neither resumes nor deletes it: look at it, remove it, then run again",
		    part, u->dst->h->name);
}

static void
mutex_free(gpointer p)
{
	g_mutex_clear(p);
	g_free(p);
}

GMutex *
claims_file_lock(struct exec *x, struct hostconn *hc, const char *path)
{
	g_autofree char *key = g_strdup_printf("%s\n%s", hc->uuid ? hc->uuid : hc->h->name, path);
	GMutex *m;

	g_mutex_lock(&x->mu);
	if (!x->file_locks)
		x->file_locks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, mutex_free);
	if (!(m = g_hash_table_lookup(x->file_locks, key))) {
		m = g_new0(GMutex, 1);
		g_mutex_init(m);
		g_hash_table_insert(x->file_locks, g_steal_pointer(&key), m);
	}
	g_mutex_unlock(&x->mu);
	g_mutex_lock(m);
	return m;
}
