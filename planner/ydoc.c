/* ydoc.c: reading ydoc's tree once loaded (ytree.c): positions, kinds,
 * values, sequences, and mappings with "<<" merges. */
#include <string.h>

#include "ydoc.h"

struct pos
ydoc_pos(const struct ynode *n)
{
	return (struct pos){ .line = n->line + 1, .col = n->col + 1 };
}

static gboolean
is_plain(const struct ynode *n)
{
	return n->type == YAML_SCALAR_NODE && n->style == YAML_PLAIN_SCALAR_STYLE;
}

/* The @i-th child of the collection @n. */
static struct ynode *
child(struct ydoc *y, const struct ynode *n, guint i)
{
	return &y->nodes[y->kids[n->u.first + i]];
}

enum ykind
ydoc_kind(const struct ynode *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return YK_SEQ;
	case YAML_MAPPING_NODE:
		return YK_MAP;
	default:
		return n->kind;
	}
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
ydoc_str(const struct ynode *n)
{
	return n->type == YAML_SCALAR_NODE ? n->u.text : NULL;
}

guint
ydoc_text_col(const struct ynode *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       (n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE || n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

guint
ydoc_str_len(const struct ynode *n)
{
	return n->type == YAML_SCALAR_NODE ? n->n : 0;
}

int
ydoc_style(const struct ynode *n)
{
	return n->style;
}

gboolean
ydoc_multiline(const struct ynode *n)
{
	return n->multiline;
}

gboolean
ydoc_int(const struct ynode *n, gint64 *out)
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
ydoc_bool(const struct ynode *n, gboolean *out)
{
	if (ydoc_kind(n) != YK_BOOL)
		return FALSE;
	*out = g_ascii_tolower(*ydoc_str(n)) == 't';
	return TRUE;
}

guint
ydoc_seq_len(const struct ynode *seq)
{
	return seq->n;
}

struct ynode *
ydoc_seq_item(struct ydoc *y, const struct ynode *seq, guint i)
{
	return child(y, seq, i);
}

static gboolean
is_merge_key(const struct ynode *k)
{
	return (is_plain(k) && strcmp(ydoc_str(k), "<<") == 0) ||
	       k->merge_tag;
}

static void collect_pairs(struct ydoc *y, struct ynode *map, GArray *out, GArray *seen,
			  gboolean merged, guint depth);

static void
merge_from(struct ydoc *y, struct ynode *src, GArray *out, GArray *seen, guint depth)
{
	if (src->type == YAML_MAPPING_NODE) {
		collect_pairs(y, src, out, seen, TRUE, depth + 1);
		return;
	}
	if (src->type == YAML_SEQUENCE_NODE) {
		for (guint i = 0; i < ydoc_seq_len(src); i++) {
			struct ynode *m = ydoc_seq_item(y, src, i);

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

static struct ynode *
find_key(const GArray *keys, const char *k)
{
	for (guint i = 0; i < keys->len; i++) {
		struct ynode *n = g_array_index(keys, struct ynode *, i);

		if (!strcmp(ydoc_str(n), k))
			return n;
	}
	return NULL;
}

/* Explicit keys first (duplicates are errors), then merge sources in
 * order; a merged key never overrides one already present.  Plan
 * mappings are small, so a linear search beats hashing here. */
static void
collect_pairs(struct ydoc *y, struct ynode *map, GArray *out, GArray *seen,
	      gboolean merged, guint depth)
{
	struct ynode *merges[8];
	guint n_merges = 0, own_start = seen->len;
	guint n_pairs = map->n;
	/* a big mapping (hosts: of a large plan) gets an index, or the
	 * duplicate check would be quadratic */
	g_autoptr(GHashTable) index = n_pairs > 32 ? g_hash_table_new(g_str_hash, g_str_equal) : NULL;
	/* Outside a merge, this mapping's keys are exactly those seen. */
	g_autoptr(GArray) own_keys = own_start ? g_array_new(FALSE, FALSE, sizeof(struct ynode *)) : NULL;
	GArray *own = own_keys ? own_keys : seen;

	if (depth > YDOC_MAX_DEPTH)
		return;
	for (guint i = 0; i < n_pairs; i++) {
		struct ynode *k = child(y, map, 2 * i);
		struct ynode *v = child(y, map, 2 * i + 1);
		const char *ks;
		struct ynode *first;

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
ydoc_pairs(struct ydoc *y, struct ynode *map)
{
	guint n = map->n;
	GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(struct ypair), n);
	g_autoptr(GArray) seen = g_array_sized_new(FALSE, FALSE, sizeof(struct ynode *), n);

	collect_pairs(y, map, out, seen, FALSE, 0);
	return out;
}
