/* domxml_paths.c: what is listed from a parsed domain XML: paths (from
 * the sites domxml_refs.c collects), disks, bridges, networks. */
#include <string.h>

#include "domxml_priv.h"

void
dom_path_free(gpointer p)
{
	struct dom_path *dp = p;

	if (!dp)
		return;
	g_free(dp->what);
	g_free(dp->path);
	g_free(dp->format);
	g_free(dp);
}

void
dom_disk_free(gpointer p)
{
	struct dom_disk *dd = p;

	if (!dd)
		return;
	g_free(dd->type_name);
	g_free(dd->what);
	g_free(dd->target);
	g_free(dd->device);
	g_free(dd->source);
	g_free(dd->format);
	g_free(dd);
}

/* ---- listing ---- */

static struct dom_path *
path_of_site(const struct site *s, int disk_index)
{
	struct dom_path *p = g_new0(struct dom_path, 1);

	p->kind = s->pkind;
	p->what = g_strdup(s->what);
	p->path = g_strdup(s->value);
	p->copy = (s->flags & SITE_COPY) != 0;
	p->readonly = (s->flags & SITE_READONLY) != 0;
	p->log = (s->flags & SITE_LOG) != 0;
	p->system = (s->flags & SITE_SYSTEM) != 0;
	p->dir = (s->flags & SITE_DIR) != 0;
	p->backing = (s->flags & SITE_BACKING) != 0;
	p->depth = s->depth;
	p->format = g_strdup(s->format);
	p->disk_index = disk_index;
	return p;
}

GPtrArray *
domxml_paths(const struct domxml *d)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(dom_path_free);
	/* site index -> index in @out (-1: not a path); a disk's site comes
	 * before those of its backing layers */
	g_autofree int *index_of = g_new(int, d->sites->len + 1);

	for (guint i = 0; i < d->sites->len; i++) {
		const struct site *s = d->sites->pdata[i];

		index_of[i] = -1;
		if (s->rkind != REMAP_PATHS)
			continue;
		index_of[i] = (int)out->len;
		g_ptr_array_add(out, path_of_site(s, s->disk_site >= 0 ? index_of[s->disk_site] : -1));
	}
	return out;
}

static enum dom_disk_type
disk_type_of(const char *name)
{
	static const struct { const char *name; enum dom_disk_type type; } types[] = {
		{ "file", DOM_DISK_FILE }, { "block", DOM_DISK_BLOCK },
		{ "network", DOM_DISK_NETWORK }, { "volume", DOM_DISK_VOLUME },
		{ "dir", DOM_DISK_DIR },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(types); i++)
		if (!strcmp(name, types[i].name))
			return types[i].type;
	return DOM_DISK_OTHER;
}

/* @s, or NULL (and @s freed) if it is empty: as for domxml_paths(), an
 * empty value is no value. */
static char *
nonempty(char *s)
{
	if (s && !*s)
		g_clear_pointer(&s, g_free);
	return s;
}

/* The source text struct dom_disk describes, or NULL. */
static char *
disk_source(enum dom_disk_type type, xmlNodePtr src)
{
	g_autofree char *a = NULL;
	g_autofree char *b = NULL;
	g_autofree char *host = NULL;

	if (!src)
		return NULL;
	switch (type) {
	case DOM_DISK_FILE:
		return nonempty(prop(src, "file"));
	case DOM_DISK_BLOCK:
		return nonempty(prop(src, "dev"));
	case DOM_DISK_DIR:
		return nonempty(prop(src, "dir"));
	case DOM_DISK_NETWORK:
		a = nonempty(prop(src, "protocol"));
		b = nonempty(prop(src, "name"));
		for (xmlNodePtr n = src->children; n && !host; n = n->next)
			if (is_element(n, "host"))
				host = nonempty(prop(n, "name"));	/* none for a unix socket */
		if (!a && !b && !host)
			return NULL;
		return g_strdup_printf("%s:%s%s%s", a ? a : "", b ? b : "", host ? " on " : "",
				       host ? host : "");
	case DOM_DISK_VOLUME:
		a = nonempty(prop(src, "pool"));
		b = nonempty(prop(src, "volume"));
		return a || b ? g_strdup_printf("%s/%s", a ? a : "", b ? b : "") : NULL;
	default:
		return NULL;
	}
}

GPtrArray *
domxml_disks(const struct domxml *d)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(dom_disk_free);
	xmlNodePtr devices = child(xmlDocGetRootElement(d->doc), "devices");
	guint index = 0;

	/* From the tree, which domxml_remap() keeps current. */
	for (xmlNodePtr n = devices ? devices->children : NULL; n; n = n->next) {
		struct dom_disk *dd;
		xmlNodePtr back;

		if (!is_element(n, "disk"))
			continue;
		dd = g_new0(struct dom_disk, 1);
		if (!(dd->type_name = prop(n, "type")))
			dd->type_name = g_strdup("file");
		dd->type = disk_type_of(dd->type_name);
		dd->what = domxml_disk_what(n, index++);
		dd->target = prop(child(n, "target"), "dev");
		if (!(dd->device = prop(n, "device")))
			dd->device = g_strdup("disk");
		dd->source = disk_source(dd->type, child(n, "source"));
		dd->format = prop(child(n, "driver"), "type");
		dd->readonly = child(n, "readonly") != NULL;
		dd->shareable = child(n, "shareable") != NULL;
		back = child(n, "backingStore");
		dd->backing_store = child(back, "source") != NULL;
		g_ptr_array_add(out, dd);
	}
	return out;
}

static GPtrArray *
distinct_values(const struct domxml *d, enum remap_kind kind)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < d->sites->len; i++) {
		const struct site *s = d->sites->pdata[i];

		if (s->rkind == kind && !g_ptr_array_find_with_equal_func(out, s->value, g_str_equal, NULL))
			g_ptr_array_add(out, g_strdup(s->value));
	}
	return out;
}

GPtrArray *
domxml_bridges(const struct domxml *d)
{
	return distinct_values(d, REMAP_BRIDGES);
}

GPtrArray *
domxml_networks(const struct domxml *d)
{
	return distinct_values(d, REMAP_NETWORKS);
}
