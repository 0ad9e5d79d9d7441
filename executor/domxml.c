/* domxml.c: read a libvirt domain XML, list what it references, remap it.
 *
 * libxml2 parses the document and finds the values; the output, though,
 * is the input text with just the changed values spliced in, because
 * libxml2's serialiser rewrites every attribute's quotes and so would
 * make each line of a diff differ.  To splice, each element's start tag
 * is found in the text: a small scanner lists start tags in text order,
 * which is the tree's pre-order, and every one is checked against its
 * element's name.  Each value's bytes are checked against the value
 * libxml2 read before they may be replaced; anything that does not check
 * out falls back to serialising the tree, which is always kept up to date.
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "domxml.h"

G_DEFINE_QUARK(vmshift-domxml-error-quark, domxml_error)

/* One remappable value of the document. */
struct site {
	enum remap_kind rkind;
	enum dom_path_kind pkind;	/* REMAP_PATHS only */
	char *what;
	xmlNodePtr elem;		/* holds the value, in @attr or as text */
	const char *attr;		/* NULL: the element's text */
	char *value;			/* current */
	char *orig;			/* as parsed */
	gboolean copy, readonly, log;
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

static void
site_free(gpointer p)
{
	struct site *s = p;

	g_free(s->what);
	g_free(s->value);
	g_free(s->orig);
	g_free(s);
}

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
dom_change_free(gpointer p)
{
	struct dom_change *c = p;

	if (!c)
		return;
	g_free(c->what);
	g_free(c->from);
	g_free(c->to);
	g_free(c);
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

void
domxml_free(struct domxml *d)
{
	if (!d)
		return;
	g_free(d->text);
	if (d->doc)
		xmlFreeDoc(d->doc);
	g_free(d->name);
	g_free(d->uuid);
	if (d->sites)
		g_ptr_array_unref(d->sites);
	g_free(d);
}

/* ---- tree helpers ---- */

static gboolean
is_element(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

static xmlNodePtr
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
static char *
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

static char *
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

/* ---- locating values in the input text ---- */

static gboolean
is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The '>' that ends the tag starting at @p, quotes respected. */
static const char *
tag_end(const char *p)
{
	char q = 0;

	for (; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == '>') {
			return p;
		}
	}
	return NULL;
}

/* Offsets of the '<' of every start tag, in text order; NULL if the text
 * does not scan (it parsed, so that means a construct we do not know). */
static GArray *
scan_start_tags(const char *text)
{
	g_autoptr(GArray) offs = g_array_new(FALSE, FALSE, sizeof(gsize));
	const char *p = text;

	while ((p = strchr(p, '<'))) {
		const char *end;
		gsize skip = 1;

		if (g_str_has_prefix(p, "<!--")) {
			end = strstr(p + 4, "-->");
			skip = 3;
		} else if (g_str_has_prefix(p, "<![CDATA[")) {
			end = strstr(p + 9, "]]>");
			skip = 3;
		} else if (p[1] == '?') {
			end = strstr(p + 2, "?>");
			skip = 2;
		} else if (p[1] == '!' || p[1] == '/') {
			end = strchr(p, '>');	/* a DOCTYPE is refused before we get here */
		} else {
			gsize off = (gsize)(p - text);

			g_array_append_val(offs, off);
			end = tag_end(p);
		}
		if (!end)
			return NULL;
		p = end + skip;
	}
	return g_steal_pointer(&offs);
}

static gboolean
name_at(const char *p, xmlNodePtr n)
{
	gsize len;

	if (*p++ != '<')
		return FALSE;
	if (n->ns && n->ns->prefix) {
		len = strlen((const char *)n->ns->prefix);
		if (strncmp(p, (const char *)n->ns->prefix, len) || p[len] != ':')
			return FALSE;
		p += len + 1;
	}
	len = strlen((const char *)n->name);
	return !strncmp(p, (const char *)n->name, len) &&
	       (is_xml_space(p[len]) || p[len] == '/' || p[len] == '>');
}

static void
map_elements(xmlNodePtr n, const char *text, const GArray *offs, guint *i, GHashTable *map,
	     gboolean *ok)
{
	for (; n && *ok; n = n->next) {
		gsize off;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (*i >= offs->len || !name_at(text + (off = g_array_index(offs, gsize, *i)), n)) {
			*ok = FALSE;
			return;
		}
		(*i)++;
		g_hash_table_insert(map, n, GSIZE_TO_POINTER(off));
		map_elements(n->children, text, offs, i, map, ok);
	}
}

/* Element -> offset of its start tag, or NULL if splicing is off. */
static GHashTable *
element_offsets(xmlDocPtr doc, const char *text)
{
	g_autoptr(GArray) offs = NULL;
	g_autoptr(GHashTable) map = NULL;
	gboolean ok = TRUE;
	guint i = 0;

	/* Offsets into a converted buffer would not be offsets into ours. */
	if (doc->encoding && g_ascii_strcasecmp((const char *)doc->encoding, "UTF-8"))
		return NULL;
	if (!(offs = scan_start_tags(text)))
		return NULL;
	map = g_hash_table_new(g_direct_hash, g_direct_equal);
	map_elements(xmlDocGetRootElement(doc), text, offs, &i, map, &ok);
	if (!ok || i != offs->len)
		return NULL;
	return g_steal_pointer(&map);
}

/* Decode the raw bytes of a value as an XML parser would (line ends,
 * attribute whitespace, predefined and character references); NULL if
 * they hold anything else. */
static char *
xml_unescape(const char *s, gsize len, gboolean attr)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "quot", '"' }, { "apos", '\'' },
	};
	g_autoptr(GString) out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++) {
		char c = s[i];
		const char *ent, *semi;
		gsize elen;
		gboolean known = FALSE;

		if (c == '\r') {
			if (i + 1 < len && s[i + 1] == '\n')
				i++;
			c = '\n';
		}
		if (attr && (c == '\n' || c == '\t'))
			c = ' ';
		if (c == '<')
			return NULL;
		if (c != '&') {
			g_string_append_c(out, c);
			continue;
		}
		ent = s + i + 1;
		if (!(semi = memchr(ent, ';', len - i - 1)))
			return NULL;
		elen = (gsize)(semi - ent);
		for (gsize k = 0; k < G_N_ELEMENTS(ents); k++) {
			if (strlen(ents[k].name) == elen && !strncmp(ent, ents[k].name, elen)) {
				g_string_append_c(out, ents[k].c);
				known = TRUE;
			}
		}
		if (!known && elen >= 2 && ent[0] == '#') {
			g_autofree char *num = g_strndup(ent + 1, elen - 1);
			gboolean hex = num[0] == 'x';
			guint64 u;

			if (!g_ascii_string_to_unsigned(num + hex, hex ? 16 : 10, 1, 0x10FFFF, &u, NULL) ||
			    !g_unichar_validate((gunichar)u))
				return NULL;
			g_string_append_unichar(out, (gunichar)u);
			known = TRUE;
		}
		if (!known)
			return NULL;
		i += elen + 1;
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static char *
xml_escape(const char *s, gboolean attr)
{
	GString *out = g_string_sized_new(strlen(s) + 16);

	for (; *s; s++) {
		switch (*s) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		case '\r': g_string_append(out, "&#13;"); break;
		case '\'': g_string_append(out, attr ? "&apos;" : "'"); break;
		case '"': g_string_append(out, attr ? "&quot;" : "\""); break;
		case '\n': g_string_append(out, attr ? "&#10;" : "\n"); break;
		case '\t': g_string_append(out, attr ? "&#9;" : "\t"); break;
		default: g_string_append_c(out, *s); break;
		}
	}
	return g_string_free(out, FALSE);
}

/* Find the bytes of @s's value in @text, given its element's start tag
 * at @tag, and check that they decode to the value libxml2 read. */
static void
site_locate(struct site *s, const char *text, gsize tag)
{
	const char *p = text + tag + 1, *v = NULL, *vend = NULL;
	g_autofree char *decoded = NULL;

	while (*p && !is_xml_space(*p) && *p != '/' && *p != '>')
		p++;
	if (!s->attr) {
		if (!(p = tag_end(p)) || p[-1] == '/')
			return;
		v = p + 1;
		vend = strchr(v, '<');
		if (!vend || vend[1] != '/')
			return;
	}
	while (s->attr) {
		const char *name = p;
		gsize nlen;
		char q;

		while (is_xml_space(*p))
			p++;
		if (*p == '>' || *p == '/' || !*p || p == name)
			return;
		name = p;
		while (*p && *p != '=' && !is_xml_space(*p))
			p++;
		nlen = (gsize)(p - name);
		while (is_xml_space(*p))
			p++;
		if (*p++ != '=')
			return;
		while (is_xml_space(*p))
			p++;
		q = *p++;
		if ((q != '"' && q != '\'') || !(vend = strchr(p, q)))
			return;
		if (nlen == strlen(s->attr) && !strncmp(name, s->attr, nlen)) {
			v = p;
			break;
		}
		p = vend + 1;
	}
	decoded = xml_unescape(v, (gsize)(vend - v), s->attr != NULL);
	if (!decoded || strcmp(decoded, s->value))
		return;
	s->located = TRUE;
	s->off = (gsize)(v - text);
	s->len = (gsize)(vend - v);
}

/* ---- parsing ---- */

struct collect {
	struct domxml *d;
	GHashTable *offsets;	/* NULL: no splicing */
};

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
		site_locate(s, c->d->text, GPOINTER_TO_SIZE(off));
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

static void
collect_sites(struct collect *c, xmlNodePtr root)
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

/* libvirt's units (virScaleInteger): b/bytes, then K M G T P E, alone
 * or with "iB" for powers of 1024, with "B" for powers of 1000. */
static int
memory_to_kib(const char *text, const char *unit, guint64 *kib, GError **err)
{
	static const char scales[] = "kmgtpe";
	g_autofree char *num = g_strstrip(g_strdup(text));
	guint64 v, base = 1024, mult = 1;
	int power = 1;
	const char *at;

	if (!g_ascii_string_to_unsigned(num, 10, 0, G_MAXUINT64, &v, NULL)) {
		g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_INVALID,
			    "<memory> '%s' is not a non-negative integer", num);
		return -1;
	}
	if (unit && (!g_ascii_strcasecmp(unit, "b") || !g_ascii_strcasecmp(unit, "bytes"))) {
		power = 0;
	} else if (unit) {
		if (!*unit || !(at = strchr(scales, g_ascii_tolower(unit[0]))) ||
		    (unit[1] && g_ascii_strcasecmp(unit + 1, "iB") && g_ascii_strcasecmp(unit + 1, "B"))) {
			g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_INVALID,
				    "<memory> has unknown unit '%s'", unit);
			return -1;
		}
		power = (int)(at - scales) + 1;
		if (!g_ascii_strcasecmp(unit + 1, "B"))
			base = 1000;
	}
	if (base == 1024 && power >= 1) {
		for (int i = 1; i < power; i++)
			mult *= 1024;
		if (v > G_MAXUINT64 / mult)
			goto overflow;
		*kib = v * mult;
		return 0;
	}
	for (int i = 0; i < power; i++)
		mult *= base;
	if (v > G_MAXUINT64 / mult)
		goto overflow;
	v *= mult;
	*kib = v / 1024 + (v % 1024 != 0);
	return 0;
overflow:
	g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_INVALID, "<memory> %s %s is too large", num,
		    unit ? unit : "KiB");
	return -1;
}

static char *
required_text(xmlNodePtr root, const char *name, GError **err)
{
	char *v = text_of(child(root, name));

	if (v && *g_strstrip(v))
		return v;
	g_free(v);
	g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_INVALID, "domain XML has no <%s>", name);
	return NULL;
}

/* The first error libxml2 reports: later ones are mostly its echoes
 * ("Premature end of data" at the last line). */
struct first_error {
	int line, col;
	char *msg;
};

#if LIBXML_VERSION >= 21200
#define XMLERROR_CONST const
#else
#define XMLERROR_CONST
#endif

static void
keep_first_error(void *data, XMLERROR_CONST xmlError *e)
{
	xmlParserCtxtPtr ctxt = data;	/* libxml2 passes the parser context */
	struct first_error *first = ctxt->_private;

	if (first->msg || e->level < XML_ERR_ERROR)
		return;
	first->line = e->line;
	first->col = e->int2;
	first->msg = g_strstrip(g_strdup(e->message ? e->message : "unknown error"));
}

struct domxml *
domxml_parse(const char *xml, GError **err)
{
	g_autoptr(DomXml) d = NULL;
	g_autoptr(GHashTable) offsets = NULL;
	xmlParserCtxtPtr ctxt = NULL;
	struct first_error first = { 0, 0, NULL };
	xmlNodePtr root, mem;
	gsize len;
	struct collect c;

	len = xml ? strlen(xml) : 0;
	if (len == 0 || len > G_MAXINT) {
		g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_PARSE, "domain XML is %s",
			    len ? "too large" : "empty");
		return NULL;
	}
	xmlInitParser();
	if (!(ctxt = xmlNewParserCtxt())) {
		g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_PARSE, "cannot create an XML parser");
		return NULL;
	}
	ctxt->_private = &first;
	ctxt->sax->serror = keep_first_error;
	d = g_new0(struct domxml, 1);
	d->text = g_strdup(xml);
	d->sites = g_ptr_array_new_with_free_func(site_free);
	/* No NOBLANKS: the fallback serialisation then keeps the layout. */
	d->doc = xmlCtxtReadMemory(ctxt, d->text, (int)len, "domain.xml", NULL,
				   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlFreeParserCtxt(ctxt);
	if (!d->doc) {
		if (first.line > 0)
			g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_PARSE,
				    "domain XML is not well-formed: line %d, column %d: %s",
				    first.line, first.col, first.msg);
		else
			g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_PARSE,
				    "domain XML is not well-formed: %s",
				    first.msg ? first.msg : "unknown error");
		g_free(first.msg);
		return NULL;
	}
	g_free(first.msg);

	if (d->doc->intSubset || d->doc->extSubset) {
		g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_INVALID,
			    "domain XML has a DOCTYPE, which libvirt never writes");
		return NULL;
	}
	root = xmlDocGetRootElement(d->doc);
	if (!is_element(root, "domain")) {
		g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_INVALID,
			    "not a domain XML: the root element is <%s>", root ? (const char *)root->name : "");
		return NULL;
	}
	if (!(d->name = required_text(root, "name", err)) || !(d->uuid = required_text(root, "uuid", err)))
		return NULL;
	if ((mem = child(root, "memory"))) {
		g_autofree char *v = text_of(mem);
		g_autofree char *unit = prop(mem, "unit");

		if (memory_to_kib(v, unit, &d->memory_kib, err) < 0)
			return NULL;
	}
	offsets = element_offsets(d->doc, d->text);
	c.d = d;
	c.offsets = offsets;
	collect_sites(&c, root);
	return g_steal_pointer(&d);
}

const char *
domxml_name(const struct domxml *d)
{
	return d->name;
}

const char *
domxml_uuid(const struct domxml *d)
{
	return d->uuid;
}

guint64
domxml_memory_kib(const struct domxml *d)
{
	return d->memory_kib;
}

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

/* ---- remapping ---- */

/* 1 and *out set if @r matched @value, 0 if not, -1 on error. */
static int
rule_substitute(const struct remap_rule *r, const char *value, char **out, GError **err)
{
	PCRE2_SIZE cap = strlen(value) + strlen(r->to) + 64;
	PCRE2_UCHAR msg[256];
	int rc = 0;

	*out = NULL;
	if (!r->re) {
		g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP, "rule '%s' is not compiled", r->from);
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		g_autofree PCRE2_UCHAR *buf = g_malloc(cap);
		PCRE2_SIZE len = cap;

		/* UNSET_EMPTY: "$1" of an optional group that did not take
		 * part is empty, as in sed and Perl, rather than an error. */
		rc = pcre2_substitute(r->re, (PCRE2_SPTR)value, PCRE2_ZERO_TERMINATED, 0,
				      PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY,
				      NULL, NULL, (PCRE2_SPTR)r->to, PCRE2_ZERO_TERMINATED, buf, &len);
		if (rc >= 0) {
			if (rc > 0)
				*out = g_strndup((const char *)buf, len);
			return rc > 0;
		}
		if (rc != PCRE2_ERROR_NOMEMORY)
			break;
		cap = len;	/* the length it needs, with the terminating zero */
	}
	pcre2_get_error_message(rc, msg, sizeof(msg));
	g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP,
		    "rule {from: '%s', to: '%s'} failed on '%s': %s", r->from, r->to, value,
		    (const char *)msg);
	return -1;
}

char *
remap_apply(const struct remap *const *sets, guint n_sets, enum remap_kind kind,
	    const char *value, GError **err)
{
	for (guint i = 0; i < n_sets; i++) {
		const GPtrArray *rules = sets[i] ? sets[i]->rules[kind] : NULL;

		for (guint j = 0; rules && j < rules->len; j++) {
			char *out;
			int rc = rule_substitute(rules->pdata[j], value, &out, err);

			if (rc != 0)
				return out;	/* matched, or NULL on error */
		}
	}
	return NULL;
}

static int
check_value(const struct site *s, const char *v, GError **err)
{
	const char *why = NULL;

	if (!*v)
		why = "an empty value";
	else if (!g_utf8_validate(v, -1, NULL))
		why = "invalid UTF-8";
	else if (s->rkind == REMAP_PATHS && v[0] != '/')
		why = "a path that is not absolute";
	for (const char *p = v; !why && *p; p++)
		if ((guchar)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			why = "a control character XML cannot hold";
	if (!why)
		return 0;
	g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP, "%s: remapping '%s' gives %s ('%s')",
		    s->what, s->value, why, v);
	return -1;
}

int
domxml_remap(struct domxml *d, const struct remap *const *sets, guint n_sets,
	     GPtrArray *changes, GError **err)
{
	g_autoptr(GPtrArray) next = g_ptr_array_new_full(d->sites->len, g_free);

	/* Compute everything first so that an error changes nothing. */
	for (guint i = 0; i < d->sites->len; i++) {
		const struct site *s = d->sites->pdata[i];
		GError *e = NULL;
		char *v = remap_apply(sets, n_sets, s->rkind, s->value, &e);

		if (e) {
			g_propagate_prefixed_error(err, e, "%s: ", s->what);
			return -1;
		}
		if (v && !strcmp(v, s->value))
			g_clear_pointer(&v, g_free);
		g_ptr_array_add(next, v);
		if (v && check_value(s, v, err) < 0)
			return -1;
	}
	for (guint i = 0; i < d->sites->len; i++) {
		struct site *s = d->sites->pdata[i];
		struct dom_change *ch;

		if (!next->pdata[i])
			continue;
		if (s->attr) {
			xmlSetProp(s->elem, (const xmlChar *)s->attr, next->pdata[i]);
		} else {
			xmlNodeSetContent(s->elem, NULL);
			xmlNodeAddContent(s->elem, next->pdata[i]);	/* raw text, not parsed */
		}
		ch = g_new0(struct dom_change, 1);
		ch->kind = s->rkind;
		ch->what = g_strdup(s->what);
		ch->from = g_steal_pointer(&s->value);
		s->value = g_steal_pointer(&next->pdata[i]);
		ch->to = g_strdup(s->value);
		g_ptr_array_add(changes, ch);
	}
	return 0;
}

/* ---- output ---- */

static char *
serialize_tree(const struct domxml *d)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
	char *out;

	xmlSaveDoc(save, d->doc);
	xmlSaveClose(save);
	out = g_strndup((const char *)xmlBufferContent(buf), (gsize)xmlBufferLength(buf));
	xmlBufferFree(buf);
	return out;
}

static gint
site_cmp_off(gconstpointer a, gconstpointer b)
{
	const struct site *x = *(struct site *const *)a, *y = *(struct site *const *)b;

	return x->off < y->off ? -1 : x->off > y->off;
}

char *
domxml_format(const struct domxml *d)
{
	g_autoptr(GPtrArray) edits = g_ptr_array_new();
	GString *out;
	gsize at = 0;

	for (guint i = 0; i < d->sites->len; i++) {
		struct site *s = d->sites->pdata[i];

		if (!strcmp(s->value, s->orig))
			continue;
		if (!s->located)
			return serialize_tree(d);
		g_ptr_array_add(edits, s);
	}
	g_ptr_array_sort(edits, site_cmp_off);
	out = g_string_sized_new(strlen(d->text) + 256);
	for (guint i = 0; i < edits->len; i++) {
		const struct site *s = edits->pdata[i];
		g_autofree char *esc = xml_escape(s->value, s->attr != NULL);

		g_string_append_len(out, d->text + at, (gssize)(s->off - at));
		g_string_append(out, esc);
		at = s->off + s->len;
	}
	g_string_append(out, d->text + at);
	return g_string_free(out, FALSE);
}
