/* domxml_paths.c: the sites of a domain XML (the values remap rules may
 * change), collected while parsing, and what is listed from the document:
 * paths, disks, bridges, networks. */
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

/* "disk vda", "disk hdc (cdrom)"; "disk #@index" without <target dev>,
 * @index counting every <disk> of <devices> from 0.  domxml_paths() and
 * domxml_disks() both name disks with it, so their texts match. */
static char *
disk_what(xmlNodePtr disk, guint index)
{
	g_autofree char *device = prop(disk, "device");
	g_autofree char *dev = prop(child(disk, "target"), "dev");
	g_autofree char *what = dev ? g_strdup_printf("disk %s", dev) :
				g_strdup_printf("disk #%u", index);

	if (device && strcmp(device, "disk"))
		return g_strdup_printf("%s (%s)", what, device);
	return g_steal_pointer(&what);
}

/* ---- collecting the sites ---- */

/* Record the value of @elem's @attr (or its text) as a site; takes
 * @what.  Absent and empty values are not sites. */
static struct site *
add_site(struct collect *c, enum remap_kind rkind, enum dom_path_kind pkind, char *what,
	 xmlNodePtr elem, const char *attr)
{
	struct site *s;
	char *value = attr ? prop(elem, attr) : text_of(elem);
	gpointer off;

	if (!value || !*value) {
		g_free(value);
		g_free(what);
		return NULL;
	}
	s = g_new0(struct site, 1);
	s->rkind = rkind;
	s->pkind = pkind;
	s->what = what;
	s->elem = elem;
	s->attr = attr;
	s->value = value;
	s->orig = g_strdup(value);
	if (c->offsets && g_hash_table_lookup_extended(c->offsets, elem, NULL, &off))
		domxml_site_locate(s, c->d->text, GPOINTER_TO_SIZE(off));
	g_ptr_array_add(c->d->sites, s);
	return s;
}

static void
add_path(struct collect *c, enum dom_path_kind kind, char *what, xmlNodePtr elem,
	 const char *attr, gboolean copy, gboolean readonly, gboolean log)
{
	struct site *s = add_site(c, REMAP_PATHS, kind, what, elem, attr);

	if (!s)
		return;
	s->copy = copy;
	s->readonly = readonly;
	s->log = log;
}

static void
collect_os(struct collect *c, xmlNodePtr os)
{
	xmlNodePtr nvram = child(os, "nvram");
	xmlNodePtr src = child(nvram, "source");

	/* libvirt >= 8.5 also writes <nvram type='file'><source file=.../>. */
	if (src)
		add_path(c, DOM_PATH_NVRAM, g_strdup("nvram"), src, "file", TRUE, FALSE, FALSE);
	else if (nvram)
		add_path(c, DOM_PATH_NVRAM, g_strdup("nvram"), nvram, NULL, TRUE, FALSE, FALSE);
	if (child(os, "kernel"))
		add_path(c, DOM_PATH_KERNEL, g_strdup("kernel"), child(os, "kernel"), NULL,
			 FALSE, FALSE, FALSE);
	if (child(os, "initrd"))
		add_path(c, DOM_PATH_INITRD, g_strdup("initrd"), child(os, "initrd"), NULL,
			 FALSE, FALSE, FALSE);
}

static void
collect_disk(struct collect *c, xmlNodePtr disk, guint index)
{
	g_autofree char *type = prop(disk, "type");
	g_autofree char *device = prop(disk, "device");
	xmlNodePtr src = child(disk, "source");

	if (type && strcmp(type, "file"))	/* libvirt's default type is file */
		return;
	if (device && strcmp(device, "disk") && strcmp(device, "cdrom") && strcmp(device, "floppy"))
		return;
	if (!src)
		return;			/* an empty cdrom drive */
	add_path(c, DOM_PATH_DISK, disk_what(disk, index), src, "file", TRUE,
		 child(disk, "readonly") != NULL, FALSE);
}

static void
collect_chardev(struct collect *c, xmlNodePtr chr, guint index)
{
	gboolean serial = is_element(chr, "serial");
	enum dom_path_kind kind = serial ? DOM_PATH_SERIAL_LOG : DOM_PATH_CONSOLE_LOG;
	g_autofree char *type = prop(chr, "type");
	g_autofree char *port = prop(child(chr, "target"), "port");
	const char *elem = (const char *)chr->name;
	g_autofree char *name = port ? g_strdup_printf("%s %s", elem, port) :
				g_strdup_printf("%s %u", elem, index);

	if (type && !strcmp(type, "file"))
		add_path(c, kind, g_strdup_printf("%s file", name), child(chr, "source"), "path",
			 FALSE, FALSE, TRUE);
	if (child(chr, "log"))
		add_path(c, kind, g_strdup_printf("%s log", name), child(chr, "log"), "file",
			 FALSE, FALSE, TRUE);
}

static void
collect_interface(struct collect *c, xmlNodePtr ifc, guint index)
{
	g_autofree char *type = prop(ifc, "type");
	g_autofree char *mac = prop(child(ifc, "mac"), "address");
	xmlNodePtr src = child(ifc, "source");
	enum remap_kind kind;
	const char *attr;

	if (!type || !src)
		return;
	if (!strcmp(type, "bridge")) {
		kind = REMAP_BRIDGES;
		attr = "bridge";
	} else if (!strcmp(type, "network")) {
		kind = REMAP_NETWORKS;
		attr = "network";
	} else {
		return;
	}
	add_site(c, kind, 0, mac ? g_strdup_printf("interface %s", mac) :
		 g_strdup_printf("interface %u", index), src, attr);
}

void
domxml_collect_sites(struct collect *c, xmlNodePtr root)
{
	guint n_disks = 0, n_serials = 0, n_consoles = 0, n_ifcs = 0;
	xmlNodePtr devices = child(root, "devices");

	collect_os(c, child(root, "os"));
	for (xmlNodePtr n = devices ? devices->children : NULL; n; n = n->next) {
		if (is_element(n, "disk"))
			collect_disk(c, n, n_disks++);
		else if (is_element(n, "serial"))
			collect_chardev(c, n, n_serials++);
		else if (is_element(n, "console"))
			collect_chardev(c, n, n_consoles++);
		else if (is_element(n, "interface"))
			collect_interface(c, n, n_ifcs++);
	}
}

/* ---- listing ---- */

GPtrArray *
domxml_paths(const struct domxml *d)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(dom_path_free);

	for (guint i = 0; i < d->sites->len; i++) {
		const struct site *s = d->sites->pdata[i];
		struct dom_path *p;

		if (s->rkind != REMAP_PATHS)
			continue;
		p = g_new0(struct dom_path, 1);
		p->kind = s->pkind;
		p->what = g_strdup(s->what);
		p->path = g_strdup(s->value);
		p->copy = s->copy;
		p->readonly = s->readonly;
		p->log = s->log;
		g_ptr_array_add(out, p);
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
		dd->what = disk_what(n, index++);
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
