/* domxml_priv.h: what the domxml*.c files share (not for other callers:
 * use domxml.h).
 *
 * domxml.c	parse, accessors, format (splices or serialises)
 * domxml_splice.c	locating values in the input text, XML escaping
 * domxml_refs.c	collecting the sites (every value remap rules may
 *			change) while parsing
 * domxml_paths.c	paths, disks, bridges, networks listed from them
 * domxml_remap.c	remap_apply() and domxml_remap()
 */
#ifndef VMSHIFT_DOMXML_PRIV_H
#define VMSHIFT_DOMXML_PRIV_H

#include <string.h>

#include <libxml/tree.h>

#include "domxml.h"

/* What a path site is (struct dom_path's flags). */
enum site_flag {
	SITE_COPY = 1 << 0,
	SITE_READONLY = 1 << 1,
	SITE_LOG = 1 << 2,
	SITE_SYSTEM = 1 << 3,
	SITE_DIR = 1 << 4,
	SITE_BACKING = 1 << 5,
};

/* One remappable value of the document. */
struct site {
	enum remap_kind rkind;
	enum dom_path_kind pkind;	/* REMAP_PATHS only */
	char *what;
	xmlNodePtr elem;		/* holds the value, in @attr or as text */
	const char *attr;		/* NULL: the element's text */
	char *value;			/* current */
	char *orig;			/* as parsed */
	guint flags;			/* enum site_flag; REMAP_PATHS only */
	guint depth;			/* backing layer: its depth below the disk */
	char *format;			/* <driver type> of a disk, <format type> of a layer */
	int disk_site;			/* backing layer: index in d->sites of its disk; else -1 */
	gboolean located;		/* off/len are the value's bytes in the input */
	gsize off, len;
};

struct domxml {
	char *text;		/* the input */
	xmlDocPtr doc;
	char *name;
	char *uuid;
	guint64 memory_kib;
	GPtrArray *sites;	/* of struct site *, owned, document order */
};

/* While parsing: where domxml_collect_sites() records what it finds. */
struct collect {
	struct domxml *d;
	GHashTable *offsets;	/* NULL: no splicing */
};

/* ---- tree helpers ---- */

/* static inline: domxml.c and domxml_paths.c both use them, and such short
 * names must not become symbols of the whole program. */

static inline gboolean
is_element(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

static inline xmlNodePtr
child(xmlNodePtr n, const char *name)
{
	if (!n)
		return NULL;
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

/* g_malloc'd copy of attribute @name (no namespace), or NULL. */
static inline char *
prop(xmlNodePtr n, const char *name)
{
	xmlChar *v;
	char *s;

	if (!n || !(v = xmlGetNoNsProp(n, (const xmlChar *)name)))
		return NULL;
	s = g_strdup((const char *)v);
	xmlFree(v);
	return s;
}

static inline char *
text_of(xmlNodePtr n)
{
	xmlChar *v;
	char *s;

	if (!n || !(v = xmlNodeGetContent(n)))
		return NULL;
	s = g_strdup((const char *)v);
	xmlFree(v);
	return s;
}

/* ---- domxml_splice.c ---- */

/* Element -> offset of its start tag, or NULL if splicing is off. */
GHashTable *domxml_element_offsets(xmlDocPtr doc, const char *text);
/* Find the bytes of @s's value in @text, given its element's start tag
 * at @tag, and check that they decode to the value libxml2 read. */
void domxml_site_locate(struct site *s, const char *text, gsize tag);
/* @s escaped for an attribute value (@attr) or element text; caller frees. */
char *domxml_xml_escape(const char *s, gboolean attr);

/* ---- domxml_refs.c ---- */

/* Append to c->d->sites every remappable value under @root (the
 * <domain>), in the order domxml.h describes at struct dom_path. */
void domxml_collect_sites(struct collect *c, xmlNodePtr root);
/* "disk vda", "disk hdc (cdrom)"; "disk #@index" without <target dev>,
 * @index counting every <disk> of <devices> from 0.  Sites and
 * domxml_disks() both name disks with it, so their texts match. */
char *domxml_disk_what(xmlNodePtr disk, guint index);

#endif
