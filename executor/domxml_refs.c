/* domxml_refs.c: the sites of a domain XML, collected while parsing:
 * every value remap rules may change (the files and directories the
 * domain references, bridges, networks).  What is listed from them is
 * in domxml_paths.c; domxml.h (struct dom_path) says which elements are
 * sites, with what flags and in what order. */
#include <string.h>

#include "domxml_priv.h"

char *
domxml_disk_what(xmlNodePtr disk, guint index)
{
	g_autofree char *device = prop(disk, "device");
	g_autofree char *dev = prop(child(disk, "target"), "dev");
	g_autofree char *what = dev ? g_strdup_printf("disk %s", dev) :
				g_strdup_printf("disk #%u", index);

	if (device && strcmp(device, "disk"))
		return g_strdup_printf("%s (%s)", what, device);
	return g_steal_pointer(&what);
}

/* Record the value of @elem's @attr (or its text) as a site; takes
 * @what.  Absent and empty values are not sites (NULL).  @elem may be
 * NULL: no value. */
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
	s->disk_site = -1;
	if (c->offsets && g_hash_table_lookup_extended(c->offsets, elem, NULL, &off))
		domxml_site_locate(s, c->d->text, GPOINTER_TO_SIZE(off));
	g_ptr_array_add(c->d->sites, s);
	return s;
}

static struct site *
add_path(struct collect *c, enum dom_path_kind kind, char *what, xmlNodePtr elem,
	 const char *attr, guint flags)
{
	struct site *s = add_site(c, REMAP_PATHS, kind, what, elem, attr);

	if (s)
		s->flags = flags;
	return s;
}

static gboolean
attr_is(xmlNodePtr n, const char *name, const char *value)
{
	g_autofree char *v = prop(n, name);

	return v && !strcmp(v, value);
}

/* Firmware and boot files, in the order libvirt writes them. */
static void
collect_os(struct collect *c, xmlNodePtr os)
{
	xmlNodePtr loader = child(os, "loader");
	xmlNodePtr nvram = child(os, "nvram");
	xmlNodePtr src = child(nvram, "source");
	xmlNodePtr acpi = child(os, "acpi");

	add_path(c, DOM_PATH_LOADER, g_strdup("loader"), loader, NULL,
		 SITE_SYSTEM | (attr_is(loader, "readonly", "yes") ? SITE_READONLY : 0));
	/* in both forms of <nvram>, the template is an attribute of it */
	add_path(c, DOM_PATH_NVRAM_TEMPLATE, g_strdup("nvram template"), nvram, "template", SITE_SYSTEM);
	/* libvirt >= 8.5 also writes <nvram type='file'><source file=.../>. */
	if (src)
		add_path(c, DOM_PATH_NVRAM, g_strdup("nvram"), src, "file", SITE_COPY);
	else
		add_path(c, DOM_PATH_NVRAM, g_strdup("nvram"), nvram, NULL, SITE_COPY);
	add_path(c, DOM_PATH_KERNEL, g_strdup("kernel"), child(os, "kernel"), NULL, SITE_SYSTEM);
	add_path(c, DOM_PATH_INITRD, g_strdup("initrd"), child(os, "initrd"), NULL, SITE_SYSTEM);
	add_path(c, DOM_PATH_DTB, g_strdup("dtb"), child(os, "dtb"), NULL, SITE_SYSTEM);
	for (xmlNodePtr t = acpi ? acpi->children : NULL; t; t = t->next) {
		g_autofree char *type = NULL;

		if (!is_element(t, "table"))
			continue;
		type = prop(t, "type");
		add_path(c, DOM_PATH_ACPI_TABLE, type ? g_strdup_printf("acpi table %s", type) :
			 g_strdup("acpi table"), t, NULL, SITE_SYSTEM);
	}
}

/* The <backingStore> chain below the disk @disk, whose own site is
 * sites[@disk_site]: each file layer, top down.  A layer of another type
 * (block, network) is not a site, but counts for the depth of those
 * below it.  A <backingStore/> without <source> ends the chain. */
static void
collect_backing(struct collect *c, xmlNodePtr disk, guint disk_site)
{
	const char *what = ((struct site *)c->d->sites->pdata[disk_site])->what;
	guint depth = 0;

	for (xmlNodePtr b = child(disk, "backingStore"); b; b = child(b, "backingStore")) {
		g_autofree char *type = prop(b, "type");
		xmlNodePtr src = child(b, "source");
		struct site *s;

		if (!src)
			break;
		depth++;
		if (type && strcmp(type, "file"))
			continue;
		s = add_path(c, DOM_PATH_BACKING, g_strdup_printf("%s backing %u", what, depth), src, "file",
			     SITE_BACKING);
		if (!s)
			continue;
		s->depth = depth;
		s->format = prop(child(b, "format"), "type");
		s->disk_site = (int)disk_site;
	}
}

static void
collect_disk(struct collect *c, xmlNodePtr disk, guint index)
{
	g_autofree char *type = prop(disk, "type");
	g_autofree char *device = prop(disk, "device");
	xmlNodePtr src = child(disk, "source");
	guint ro = child(disk, "readonly") ? SITE_READONLY : 0;
	struct site *s;

	if (device && strcmp(device, "disk") && strcmp(device, "cdrom") && strcmp(device, "floppy"))
		return;
	if (!src)
		return;			/* an empty cdrom drive */
	if (type && !strcmp(type, "dir")) {
		add_path(c, DOM_PATH_DISK_DIR, domxml_disk_what(disk, index), src, "dir", SITE_DIR | ro);
		return;
	}
	if (type && strcmp(type, "file"))	/* libvirt's default type is file */
		return;
	if (!(s = add_path(c, DOM_PATH_DISK, domxml_disk_what(disk, index), src, "file", SITE_COPY | ro)))
		return;
	s->format = prop(child(disk, "driver"), "type");
	collect_backing(c, disk, c->d->sites->len - 1);
}

/* virtiofs and 9p shares (mount), LXC's bind and file (a loop image).
 * block, ram, volume and template have no path of ours. */
static void
collect_filesystem(struct collect *c, xmlNodePtr fs, guint index)
{
	g_autofree char *type = prop(fs, "type");
	g_autofree char *tag = prop(child(fs, "target"), "dir");
	guint ro = child(fs, "readonly") ? SITE_READONLY : 0;
	gboolean dir = !type || !strcmp(type, "mount") || !strcmp(type, "bind");

	if (!dir && strcmp(type, "file"))
		return;
	add_path(c, DOM_PATH_FILESYSTEM, tag ? g_strdup_printf("filesystem %s", tag) :
		 g_strdup_printf("filesystem #%u", index), child(fs, "source"), dir ? "dir" : "file",
		 (dir ? SITE_DIR : 0) | ro);
}

/* nvdimm and virtio-pmem: a file of the guest's (its persistent memory) */
static void
collect_memory(struct collect *c, xmlNodePtr mem, guint index)
{
	g_autofree char *model = prop(mem, "model");
	guint ro = child(child(mem, "target"), "readonly") ? SITE_READONLY : 0;

	if (!model || (strcmp(model, "nvdimm") && strcmp(model, "virtio-pmem")))
		return;
	add_path(c, DOM_PATH_NVDIMM, g_strdup_printf("memory #%u (%s)", index, model),
		 child(child(mem, "source"), "path"), NULL, SITE_COPY | ro);
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
		add_path(c, kind, g_strdup_printf("%s file", name), child(chr, "source"), "path", SITE_LOG);
	add_path(c, kind, g_strdup_printf("%s log", name), child(chr, "log"), "file", SITE_LOG);
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
	guint n_disks = 0, n_fs = 0, n_mem = 0, n_serials = 0, n_consoles = 0, n_ifcs = 0;
	xmlNodePtr devices = child(root, "devices");

	collect_os(c, child(root, "os"));
	for (xmlNodePtr n = devices ? devices->children : NULL; n; n = n->next) {
		if (is_element(n, "disk"))
			collect_disk(c, n, n_disks++);
		else if (is_element(n, "filesystem"))
			collect_filesystem(c, n, n_fs++);
		else if (is_element(n, "memory"))
			collect_memory(c, n, n_mem++);
		else if (is_element(n, "serial"))
			collect_chardev(c, n, n_serials++);
		else if (is_element(n, "console"))
			collect_chardev(c, n, n_consoles++);
		else if (is_element(n, "interface"))
			collect_interface(c, n, n_ifcs++);
	}
}
