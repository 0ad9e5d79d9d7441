#include <string.h>

#include "ydoc.h"

/* Aliases let a small file describe a huge tree ("billion laughs").
 * vmshift walks the tree, so it refuses a document whose expansion is
 * larger than this many nodes, or four times its written size, whichever
 * is more: generous for any real plan, small enough to stay fast. */
#define YDOC_MIN_EXPANSION_CAP 1000000u

#define MERGE_TAG "tag:yaml.org,2002:merge"

static struct pos
mark_pos(yaml_mark_t m)
{
	return (struct pos){ .line = (guint)m.line + 1, .col = (guint)m.column + 1 };
}

struct pos
ydoc_pos(const yaml_node_t *n)
{
	return mark_pos(n->start_mark);
}

/* Reject bytes that are not UTF-8, and NULs, with the exact position;
 * libyaml's own reader error has only a byte offset. */
static int
check_utf8(const char *buf, gsize len, struct diags *dg)
{
	const char *end = NULL;
	struct pos at = { 1, 1 };

	if (g_utf8_validate_len(buf, len, &end))
		return 0;
	for (const char *p = buf; p < end; p = g_utf8_next_char(p)) {
		if (*p == '\n') {
			at.line++;
			at.col = 1;
		} else {
			at.col++;
		}
	}
	if (*end == '\0')
		return diags_add(dg, at, "NUL byte in the plan; a plan is a UTF-8 text file");
	return diags_add(dg, at, "invalid UTF-8 byte 0x%02x; a plan must be UTF-8 text",
			 (guchar)*end);
}

static int
parser_error(yaml_parser_t *p, struct diags *dg)
{
	const char *problem = p->problem ? p->problem : "unknown error";

	if (p->error == YAML_MEMORY_ERROR)
		return diags_add(dg, (struct pos){ 0, 0 }, "out of memory while parsing YAML");
	if (p->context)
		return diags_add(dg, mark_pos(p->problem_mark), "invalid YAML: %s %s (line %zu)",
				 problem, p->context, p->context_mark.line + 1);
	return diags_add(dg, mark_pos(p->problem_mark), "invalid YAML: %s", problem);
}

/* Expanded size of the tree under node @id, saturating at @cap; a node
 * that contains itself through an alias is an error. */
static guint64
expanded_size(struct ydoc *y, int id, guint64 *memo, guint8 *busy, guint depth,
	      guint64 cap, gboolean *bad)
{
	yaml_node_t *n = yaml_document_get_node(&y->doc, id);
	guint64 size = 1;

	if (!n || *bad)
		return 1;
	if (memo[id])
		return memo[id];
	if (busy[id]) {
		*bad = TRUE;
		diags_add(y->dg, ydoc_pos(n), "an alias refers to the node that contains it");
		return 1;
	}
	if (depth > YDOC_MAX_DEPTH) {
		*bad = TRUE;
		diags_add(y->dg, ydoc_pos(n), "nesting deeper than %d levels", YDOC_MAX_DEPTH);
		return 1;
	}
	busy[id] = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top && size < cap; it++)
			size += expanded_size(y, *it, memo, busy, depth + 1, cap, bad);
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top && size < cap; pr++) {
			size += expanded_size(y, pr->key, memo, busy, depth + 1, cap, bad);
			size += expanded_size(y, pr->value, memo, busy, depth + 1, cap, bad);
		}
	}
	busy[id] = 0;
	memo[id] = MIN(size, cap);
	return memo[id];
}

static int
check_expansion(struct ydoc *y)
{
	gsize n = y->doc.nodes.top - y->doc.nodes.start;
	guint64 cap = MAX((guint64)YDOC_MIN_EXPANSION_CAP, 4 * (guint64)n);
	g_autofree guint64 *memo = g_new0(guint64, n + 1);
	g_autofree guint8 *busy = g_new0(guint8, n + 1);
	gboolean bad = FALSE;
	guint64 size = expanded_size(y, 1, memo, busy, 0, cap, &bad);

	if (bad)
		return -1;
	if (size >= cap)
		return diags_add(y->dg, ydoc_pos(ydoc_root(y)),
				 "aliases expand this document to more than %" G_GUINT64_FORMAT
				 " nodes; refusing it (an alias bomb?)", cap);
	return 0;
}

int
ydoc_load(struct ydoc *y, const char *buf, gsize len, struct diags *dg)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int rc = -1;

	memset(y, 0, sizeof(*y));
	y->dg = dg;
	if (check_utf8(buf, len, dg) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser))
		return diags_add(dg, (struct pos){ 0, 0 }, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	if (!yaml_parser_load(&parser, &y->doc)) {
		parser_error(&parser, dg);
		goto out;
	}
	y->loaded = TRUE;
	if (!ydoc_root(y)) {
		diags_add(dg, (struct pos){ 1, 1 },
			  "the plan is empty; it needs at least version, name, hosts and migrations");
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		parser_error(&parser, dg);
		goto out;
	}
	if (yaml_document_get_root_node(&extra)) {
		diags_add(dg, mark_pos(extra.start_mark),
			  "a second YAML document; a plan file holds exactly one (remove this '---' and what follows, or split the file)");
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);
	rc = check_expansion(y);
out:
	yaml_parser_delete(&parser);
	return rc;
}

void
ydoc_release(struct ydoc *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = FALSE;
}

yaml_node_t *
ydoc_root(struct ydoc *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

static gboolean
is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static gboolean
all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Decimal only: 0x10 and 0o17 are strings here, as in the JSON Schema's
 * view of a plan, so the two never disagree on a number. */
static gboolean
looks_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return all_digits(s);
}

static gboolean
looks_float(const char *s)
{
	static const char *const special[] = {
		".inf", "-.inf", "+.inf", ".Inf", "-.Inf", "+.Inf", ".INF", "-.INF", "+.INF",
		".nan", ".NaN", ".NAN",
	};
	gboolean digits = FALSE;

	for (gsize i = 0; i < G_N_ELEMENTS(special); i++)
		if (strcmp(s, special[i]) == 0)
			return TRUE;
	if (*s == '-' || *s == '+')
		s++;
	for (; g_ascii_isdigit(*s); s++)
		digits = TRUE;
	if (*s == '.')
		for (s++; g_ascii_isdigit(*s); s++)
			digits = TRUE;
	if (!digits)
		return FALSE;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!all_digits(s))
			return FALSE;
		return TRUE;
	}
	return *s == '\0';
}

enum ykind
ydoc_kind(const yaml_node_t *n)
{
	const char *s;

	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return YK_SEQ;
	case YAML_MAPPING_NODE:
		return YK_MAP;
	default:
		break;
	}
	if (!is_plain(n))
		return YK_STR;
	s = (const char *)n->data.scalar.value;
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return YK_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
	    !strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return YK_BOOL;
	if (looks_int(s))
		return YK_INT;
	if (looks_float(s))
		return YK_FLOAT;
	return YK_STR;
}

const char *
ydoc_kind_name(enum ykind k)
{
	switch (k) {
	case YK_NULL:
		return "null";
	case YK_BOOL:
		return "a boolean";
	case YK_INT:
		return "an integer";
	case YK_FLOAT:
		return "a float";
	case YK_STR:
		return "a string";
	case YK_SEQ:
		return "a list";
	case YK_MAP:
		return "a mapping";
	}
	return "?";
}

const char *
ydoc_str(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

guint
ydoc_text_col(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

gboolean
ydoc_int(const yaml_node_t *n, gint64 *out)
{
	const char *s = ydoc_str(n);
	gboolean neg = FALSE;
	guint64 v = 0;
	GError *e = NULL;

	if (ydoc_kind(n) != YK_INT)
		return FALSE;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (!g_ascii_string_to_unsigned(s, 10, 0, (guint64)G_MAXINT64, &v, &e)) {
		g_error_free(e);
		return FALSE;
	}
	*out = neg ? -(gint64)v : (gint64)v;
	return TRUE;
}

gboolean
ydoc_bool(const yaml_node_t *n, gboolean *out)
{
	if (ydoc_kind(n) != YK_BOOL)
		return FALSE;
	*out = g_ascii_tolower(*ydoc_str(n)) == 't';
	return TRUE;
}

guint
ydoc_seq_len(const yaml_node_t *seq)
{
	return seq->data.sequence.items.top - seq->data.sequence.items.start;
}

yaml_node_t *
ydoc_seq_item(struct ydoc *y, const yaml_node_t *seq, guint i)
{
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

static gboolean
is_merge_key(const yaml_node_t *k)
{
	return (is_plain(k) && strcmp(ydoc_str(k), "<<") == 0) ||
	       (k->tag && strcmp((const char *)k->tag, MERGE_TAG) == 0);
}

static void collect_pairs(struct ydoc *y, yaml_node_t *map, GArray *out, GArray *seen,
			  gboolean merged, guint depth);

static void
merge_from(struct ydoc *y, yaml_node_t *src, GArray *out, GArray *seen, guint depth)
{
	if (src->type == YAML_MAPPING_NODE) {
		collect_pairs(y, src, out, seen, TRUE, depth + 1);
		return;
	}
	if (src->type == YAML_SEQUENCE_NODE) {
		for (guint i = 0; i < ydoc_seq_len(src); i++) {
			yaml_node_t *m = ydoc_seq_item(y, src, i);

			if (m->type != YAML_MAPPING_NODE) {
				diags_add(y->dg, ydoc_pos(m), "a '<<' merge list must hold mappings, not %s",
					  ydoc_kind_name(ydoc_kind(m)));
				continue;
			}
			collect_pairs(y, m, out, seen, TRUE, depth + 1);
		}
		return;
	}
	diags_add(y->dg, ydoc_pos(src), "a '<<' merge value must be a mapping or a list of mappings, not %s",
		  ydoc_kind_name(ydoc_kind(src)));
}

static yaml_node_t *
find_key(const GArray *keys, const char *k)
{
	for (guint i = 0; i < keys->len; i++) {
		yaml_node_t *n = g_array_index(keys, yaml_node_t *, i);

		if (!strcmp(ydoc_str(n), k))
			return n;
	}
	return NULL;
}

/* Explicit keys first (duplicates are errors), then merge sources in
 * order; a merged key never overrides one already present.  Plan
 * mappings are small, so a linear search beats hashing here. */
static void
collect_pairs(struct ydoc *y, yaml_node_t *map, GArray *out, GArray *seen,
	      gboolean merged, guint depth)
{
	yaml_node_t *merges[8];
	guint n_merges = 0, own_start = seen->len;
	guint n_pairs = map->data.mapping.pairs.top - map->data.mapping.pairs.start;
	/* a big mapping (hosts: of a large plan) gets an index, or the
	 * duplicate check would be quadratic */
	g_autoptr(GHashTable) index = n_pairs > 32 ? g_hash_table_new(g_str_hash, g_str_equal) : NULL;
	/* Outside a merge, this mapping's keys are exactly those seen. */
	g_autoptr(GArray) own_keys = own_start ? g_array_new(FALSE, FALSE, sizeof(yaml_node_t *)) : NULL;
	GArray *own = own_keys ? own_keys : seen;

	if (depth > YDOC_MAX_DEPTH)
		return;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&y->doc, pr->value);
		const char *ks;
		yaml_node_t *first;

		if (k->type != YAML_SCALAR_NODE) {
			diags_add(y->dg, ydoc_pos(k), "a key must be a plain string, not %s",
				  ydoc_kind_name(ydoc_kind(k)));
			continue;
		}
		if (is_merge_key(k)) {
			if (n_merges == G_N_ELEMENTS(merges)) {
				if (!merged)
					diags_add(y->dg, ydoc_pos(k), "too many '<<' keys in one mapping");
				continue;
			}
			merges[n_merges++] = v;
			continue;
		}
		ks = ydoc_str(k);
		first = index ? g_hash_table_lookup(index, ks) : find_key(own, ks);
		if (first) {
			/* a merged mapping may be reached more than once; diags
			 * says the same thing at the same place only once */
			diags_add(y->dg, ydoc_pos(k), "duplicate key '%s' (first at line %u)",
				  ks, ydoc_pos(first).line);
			continue;
		}
		if (index)
			g_hash_table_insert(index, (gpointer)ks, k);
		if (own_keys) {
			g_array_append_val(own_keys, k);
			if (find_key(seen, ks))
				continue;	/* a key of the mapping that merges this one */
		}
		g_array_append_val(seen, k);
		g_array_append_val(out, ((struct ypair){ k, v }));
	}
	for (guint i = 0; i < n_merges; i++)
		merge_from(y, merges[i], out, seen, depth);
}

GArray *
ydoc_pairs(struct ydoc *y, yaml_node_t *map)
{
	guint n = map->data.mapping.pairs.top - map->data.mapping.pairs.start;
	GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(struct ypair), n);
	g_autoptr(GArray) seen = g_array_sized_new(FALSE, FALSE, sizeof(yaml_node_t *), n);

	collect_pairs(y, map, out, seen, FALSE, 0);
	return out;
}
