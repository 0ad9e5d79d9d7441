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
 *
 * This file: parsing, the accessors and the output.  The scanner and the
 * value checks are in domxml_splice.c, the sites in domxml_refs.c, what
 * is listed from them in domxml_paths.c, remapping in domxml_remap.c
 * (domxml_priv.h).
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "domxml_priv.h"

G_DEFINE_QUARK(vmshift-domxml-error-quark, domxml_error)

static void
site_free(gpointer p)
{
	struct site *s = p;

	g_free(s->what);
	g_free(s->value);
	g_free(s->orig);
	g_free(s->format);
	g_free(s);
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

/* ---- parsing ---- */

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
	offsets = domxml_element_offsets(d->doc, d->text);
	c.d = d;
	c.offsets = offsets;
	domxml_collect_sites(&c, root);
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
		g_autofree char *esc = domxml_xml_escape(s->value, s->attr != NULL);

		g_string_append_len(out, d->text + at, (gssize)(s->off - at));
		g_string_append(out, esc);
		at = s->off + s->len;
	}
	g_string_append(out, d->text + at);
	return g_string_free(out, FALSE);
}

char *
domxml_cpu_element(const char *xml)
{
	const char *a = xml, *b;

	while ((a = strstr(a, "<cpu")) && a[4] != ' ' && a[4] != '>' && a[4] != '/')
		a += 4;
	if (!a)
		return NULL;
	if ((b = strstr(a, "</cpu>")))
		return g_strndup(a, (b + strlen("</cpu>")) - a);
	return (b = strstr(a, "/>")) ? g_strndup(a, (b + 2) - a) : NULL;
}

char *
domxml_virt_type(const char *xml)
{
	const char *a = strstr(xml, "<domain"), *end, *t;
	char q;

	if (!a || !(end = strchr(a, '>')))
		return NULL;
	for (t = a + strlen("<domain"); (t = strstr(t, "type=")) && t < end; t += 5) {
		if (t[-1] != ' ' && t[-1] != '\t' && t[-1] != '\n')
			continue;
		q = t[5];
		if ((q == '\'' || q == '"') && strchr(t + 6, q) && strchr(t + 6, q) < end)
			return g_strndup(t + 6, strchr(t + 6, q) - (t + 6));
	}
	return NULL;
}
