/* ytree.c: loading a YAML document into ydoc's tree: UTF-8 and NUL
 * checks, libyaml's events composed into nodes (anchors, aliases),
 * scalar typing, one document per file, and the cap on alias expansion.
 * Reading the tree is ydoc.c. */
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

/* ---- building the tree from libyaml's events ----
 *
 * The same composition yaml_parser_load() does (libyaml's loader.c): an
 * anchor names the node whose event carries it, from its start on (so
 * an alias inside it refers to it), an unknown alias or a second anchor
 * of the same name is an error, with libyaml's own words. */

struct loader {
	yaml_parser_t *p;
	struct ydoc *y;
	GHashTable *anchors;	/* name (owned) -> node index + 1 */
	GArray *stack;		/* of guint32: children of the open collections */
};

static int
composer_error(yaml_parser_t *p, const char *context, yaml_mark_t context_mark,
	       const char *problem, yaml_mark_t problem_mark)
{
	p->error = YAML_COMPOSER_ERROR;
	p->context = context;
	p->context_mark = context_mark;
	p->problem = problem;
	p->problem_mark = problem_mark;
	return -1;
}

static struct ynode *
node_at(struct ydoc *y, guint32 id)
{
	return y->nodes ? &y->nodes[id] : &g_array_index(y->nodes_b, struct ynode, id);
}

static yaml_mark_t
node_mark(struct ydoc *y, guint32 id)
{
	const struct ynode *n = node_at(y, id);

	return (yaml_mark_t){ .line = n->line, .column = n->col };
}

/* A new node for the event @ev, anchored if it says so; its index. */
static gint64
add_node(struct loader *l, const yaml_event_t *ev, guint8 type, const yaml_char_t *anchor)
{
	struct ynode n = { .type = type, .line = (guint32)ev->start_mark.line,
			   .col = (guint32)ev->start_mark.column };
	guint32 id = l->y->nodes_b->len;
	gpointer first;

	g_array_append_val(l->y->nodes_b, n);
	if (!anchor)
		return id;
	if ((first = g_hash_table_lookup(l->anchors, anchor)))
		return composer_error(l->p, "found duplicate anchor; first occurrence",
				      node_mark(l->y, GPOINTER_TO_UINT(first) - 1), "second occurrence",
				      ev->start_mark);
	g_hash_table_insert(l->anchors, g_strdup((const char *)anchor), GUINT_TO_POINTER(id + 1));
	return id;
}

static enum ykind scalar_kind(const yaml_event_t *ev);

/* The node that @ev starts (its events are consumed up to its end); its
 * index, or -1 with the error in the parser. */
static gint64
load_node(struct loader *l, yaml_event_t *ev)
{
	gint64 id;
	guint base;
	struct ynode *n;
	yaml_event_type_t end;

	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		gpointer to = g_hash_table_lookup(l->anchors, ev->data.alias.anchor);

		if (!to)
			return composer_error(l->p, NULL, ev->start_mark, "found undefined alias",
					      ev->start_mark);
		return GPOINTER_TO_UINT(to) - 1;
	}
	case YAML_SCALAR_EVENT:
		if ((id = add_node(l, ev, YAML_SCALAR_NODE, ev->data.scalar.anchor)) < 0)
			return -1;
		n = node_at(l->y, id);
		n->style = ev->data.scalar.style;
		n->kind = scalar_kind(ev);
		n->merge_tag = ev->data.scalar.tag &&
			       !strcmp((const char *)ev->data.scalar.tag, MERGE_TAG);
		n->multiline = ev->start_mark.line != ev->end_mark.line;
		n->n = (guint32)ev->data.scalar.length;
		n->u.text = g_string_chunk_insert_len(l->y->text, (const char *)ev->data.scalar.value,
						      (gssize)ev->data.scalar.length);
		return id;
	case YAML_SEQUENCE_START_EVENT:
		id = add_node(l, ev, YAML_SEQUENCE_NODE, ev->data.sequence_start.anchor);
		end = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		id = add_node(l, ev, YAML_MAPPING_NODE, ev->data.mapping_start.anchor);
		end = YAML_MAPPING_END_EVENT;
		break;
	default:
		g_assert_not_reached();
	}
	if (id < 0)
		return -1;
	base = l->stack->len;
	for (;;) {
		yaml_event_t child;
		gint64 kid;
		guint32 k32;

		if (!yaml_parser_parse(l->p, &child))
			return -1;
		if (child.type == end) {
			n = node_at(l->y, id);
			n->multiline = n->line != child.end_mark.line;
			yaml_event_delete(&child);
			break;
		}
		kid = load_node(l, &child);
		yaml_event_delete(&child);
		if (kid < 0)
			return -1;
		k32 = (guint32)kid;
		g_array_append_val(l->stack, k32);
	}
	n = node_at(l->y, id);
	n->u.first = l->y->kids_b->len;
	n->n = (l->stack->len - base) / (end == YAML_MAPPING_END_EVENT ? 2 : 1);
	g_array_append_vals(l->y->kids_b, &g_array_index(l->stack, guint32, base), l->stack->len - base);
	g_array_set_size(l->stack, base);
	return id;
}

/* The next document of the stream into @y (none left: y->root stays 0);
 * -1 with the error in the parser.  *@start gets where it began. */
static int
load_document(yaml_parser_t *p, struct ydoc *y, yaml_mark_t *start)
{
	struct loader l = { p, y, NULL, NULL };
	yaml_event_t ev;
	gint64 root;
	int rc = -1;

	if (!yaml_parser_parse(p, &ev))
		return -1;
	if (ev.type == YAML_STREAM_START_EVENT) {
		yaml_event_delete(&ev);
		if (!yaml_parser_parse(p, &ev))
			return -1;
	}
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 0;
	}
	g_assert(ev.type == YAML_DOCUMENT_START_EVENT);
	*start = ev.start_mark;
	yaml_event_delete(&ev);
	l.anchors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	l.stack = g_array_new(FALSE, FALSE, sizeof(guint32));
	if (!yaml_parser_parse(p, &ev))
		goto out;
	root = load_node(&l, &ev);
	yaml_event_delete(&ev);
	if (root < 0 || !yaml_parser_parse(p, &ev))
		goto out;
	g_assert(ev.type == YAML_DOCUMENT_END_EVENT);
	yaml_event_delete(&ev);
	y->root = (guint)root + 1;
	rc = 0;
out:
	g_hash_table_unref(l.anchors);
	g_array_unref(l.stack);
	return rc;
}

/* The elements of *@a in storage of exactly their size; *@a is freed. */
static gpointer
steal_exact(GArray **a, gsize *n_out)
{
	guint elt = g_array_get_element_size(*a);
	gpointer data = g_array_steal(*a, n_out);

	g_clear_pointer(a, g_array_unref);
	return g_realloc(data, MAX(*n_out, 1) * elt);
}

static void
ydoc_init(struct ydoc *y, struct diags *dg)
{
	memset(y, 0, sizeof(*y));
	y->dg = dg;
	y->nodes_b = g_array_new(FALSE, FALSE, sizeof(struct ynode));
	y->kids_b = g_array_new(FALSE, FALSE, sizeof(guint32));
	y->text = g_string_chunk_new(64 * 1024);
	y->loaded = TRUE;
}

/* Expanded size of the tree under node @id, saturating at @cap; a node
 * that contains itself through an alias is an error. */
static guint32
kid(const struct ydoc *y, const struct ynode *n, guint i)
{
	return y->kids ? y->kids[n->u.first + i] : g_array_index(y->kids_b, guint32, n->u.first + i);
}

static guint64
expanded_size(struct ydoc *y, guint32 id, guint64 *memo, guint8 *busy, guint depth,
	      guint64 cap, gboolean *bad)
{
	struct ynode *n = node_at(y, id);
	guint64 size = 1;

	if (*bad)
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
		for (guint i = 0; i < n->n && size < cap; i++)
			size += expanded_size(y, kid(y, n, i), memo, busy, depth + 1, cap, bad);
	} else if (n->type == YAML_MAPPING_NODE) {
		for (guint i = 0; i < n->n && size < cap; i++) {
			size += expanded_size(y, kid(y, n, 2 * i), memo, busy, depth + 1, cap, bad);
			size += expanded_size(y, kid(y, n, 2 * i + 1), memo, busy, depth + 1, cap, bad);
		}
	}
	busy[id] = 0;
	memo[id] = MIN(size, cap);
	return memo[id];
}

static int
check_expansion(struct ydoc *y)
{
	gsize n = y->nodes_b->len;
	guint64 cap = MAX((guint64)YDOC_MIN_EXPANSION_CAP, 4 * (guint64)n);
	g_autofree guint64 *memo = g_new0(guint64, n);
	g_autofree guint8 *busy = g_new0(guint8, n);
	gboolean bad = FALSE;
	guint64 size = expanded_size(y, y->root - 1, memo, busy, 0, cap, &bad);

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
	struct ydoc extra;
	yaml_mark_t start = { 0 }, extra_start = { 0 };
	int rc = -1;

	memset(y, 0, sizeof(*y));
	y->dg = dg;
	if (check_utf8(buf, len, dg) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser))
		return diags_add(dg, (struct pos){ 0, 0 }, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	ydoc_init(y, dg);
	if (load_document(&parser, y, &start) < 0) {
		parser_error(&parser, dg);
		goto out;
	}
	if (!ydoc_root(y)) {
		diags_add(dg, (struct pos){ 1, 1 },
			  "the plan is empty; it needs at least version, name, hosts and migrations");
		goto out;
	}
	/* a second document is refused, but read first: its own errors
	 * come first, as yaml_parser_load() would give them */
	ydoc_init(&extra, dg);
	if (load_document(&parser, &extra, &extra_start) < 0) {
		parser_error(&parser, dg);
		ydoc_release(&extra);
		goto out;
	}
	if (ydoc_root(&extra)) {
		diags_add(dg, mark_pos(extra_start),
			  "a second YAML document; a plan file holds exactly one (remove this '---' and what follows, or split the file)");
		ydoc_release(&extra);
		goto out;
	}
	ydoc_release(&extra);
	rc = check_expansion(y);
	/* the tree is fixed now: give back what doubling left spare */
	y->nodes = steal_exact(&y->nodes_b, &y->n_nodes);
	y->kids = steal_exact(&y->kids_b, &y->n_kids);
out:
	yaml_parser_delete(&parser);
	return rc;
}

void
ydoc_release(struct ydoc *y)
{
	if (y->nodes_b)
		g_array_unref(y->nodes_b);
	if (y->kids_b)
		g_array_unref(y->kids_b);
	g_free(y->nodes);
	g_free(y->kids);
	if (y->text)
		g_string_chunk_free(y->text);
	y->nodes_b = y->kids_b = NULL;
	y->nodes = NULL;
	y->kids = NULL;
	y->text = NULL;
	y->root = 0;
	y->loaded = FALSE;
}

struct ynode *
ydoc_root(struct ydoc *y)
{
	return y->loaded && y->root ? node_at(y, y->root - 1) : NULL;
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

/* YAML 1.2 core schema typing of a scalar, once, when it is loaded.
 * The first character rules most kinds out before any comparison: a
 * large plan has some 100,000 scalars. */
static enum ykind
scalar_kind(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return YK_STR;
	switch (*s) {
	case '\0':
		return YK_NULL;
	case '~':
	case 'n':
	case 'N':
		if (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
			return YK_NULL;
		return YK_STR;
	case 't':
	case 'T':
	case 'f':
	case 'F':
		if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
		    !strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
			return YK_BOOL;
		return YK_STR;
	case '.':
	case '-':
	case '+':
		break;
	default:
		if (!g_ascii_isdigit(*s))
			return YK_STR;	/* neither a number nor one of the special floats */
	}
	if (looks_int(s))
		return YK_INT;
	if (looks_float(s))
		return YK_FLOAT;
	return YK_STR;
}

