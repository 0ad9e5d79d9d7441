/* domxml_splice.c: locate values in the input text of a domain XML, so
 * that domxml_format() can replace just their bytes (see domxml.c). */
#include <string.h>

#include "domxml_priv.h"

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
GHashTable *
domxml_element_offsets(xmlDocPtr doc, const char *text)
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

char *
domxml_xml_escape(const char *s, gboolean attr)
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
void
domxml_site_locate(struct site *s, const char *text, gsize tag)
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
