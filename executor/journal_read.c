/* journal_read.c: the journal, read back (see journal.h).
 *
 * A journal of 10,000 migrations holds some 220,000 records (30 MB), and
 * status and resume read all of them.  json-glib's parser and its objects
 * cost about 40,000 instructions a record; yajl's event parser (what
 * libvirt itself uses on Debian 12) reads a record in about 5,000, and only
 * the members the executor needs become strings.  The facts, the one deep
 * member, become json-glib objects, and only the keys asked for.
 */
#include <string.h>
#include <yajl/yajl_parse.h>

#include "journal.h"

/* The record's members that are read, as strings. */
#define MEMBER(k, f) { k, sizeof(k) - 1, G_STRUCT_OFFSET(struct journal_rec, f) }
static const struct {
	const char *key;
	gsize len;
	gsize off;
} string_members[] = {
	MEMBER("ev", ev),
	MEMBER("unit", unit),
	MEMBER("step", step),
	MEMBER("phase", phase),
	MEMBER("status", status),
	MEMBER("error", error),
	MEMBER("migration", migration),
	MEMBER("cmd", cmd),
	MEMBER("plan", plan),
	MEMBER("plan_sha256", plan_sha256),
	MEMBER("resolved_sha256", resolved_sha256),
};

enum capture { C_NONE, C_FACTS, C_VMS, C_ONLY };

/* The records' strings, in one chunk all the records of a read share:
 * one allocation per few kilobytes, not one per string. */
struct strings {
	gint ref;
	GStringChunk *chunk;
};

struct rec {
	struct journal_rec pub;
	struct strings *strings;
};

struct reader {
	const char *const *fact_keys;
	struct strings *strings;
	struct journal_rec *r;
	guint records;		/* records completed on the current line */
	int depth;		/* 0: before the record, 1: in it */
	gssize member;		/* the string member whose value comes next, or -1 */
	enum capture capture;	/* the deep member being built */
	GPtrArray *stack;	/* JsonNode *: its open containers */
	GPtrArray *keys;	/* char * or NULL: the member name each of them goes under */
	char *key;		/* member name waiting for its value, inside them */
	gboolean object;	/* the line is an object */
	guint skip;		/* open containers of a value not kept */
	gboolean skip_value;	/* the next value is not kept */
};

static void
rec_free(gpointer p)
{
	struct rec *r = p;

	if (r->pub.facts)
		json_object_unref(r->pub.facts);
	if (r->pub.vms)
		json_array_unref(r->pub.vms);
	if (r->pub.only)
		json_array_unref(r->pub.only);
	if (g_atomic_int_dec_and_test(&r->strings->ref)) {
		g_string_chunk_free(r->strings->chunk);
		g_free(r->strings);
	}
	g_free(r);
}

static gboolean
wanted_fact(struct reader *rd, const char *key)
{
	return !rd->fact_keys || g_strv_contains(rd->fact_keys, key);
}

/* A finished value: into its container, or the record if it is the
 * captured member itself. */
static int
add_node(struct reader *rd, JsonNode *n)
{
	JsonNode *top = rd->stack->len ? rd->stack->pdata[rd->stack->len - 1] : NULL;

	if (!top) {
		json_node_unref(n);	/* a scalar where a container belongs: ignored */
		return 1;
	}
	if (JSON_NODE_HOLDS_OBJECT(top))
		json_object_set_member(json_node_get_object(top), rd->key ? rd->key : "", n);
	else
		json_array_add_element(json_node_get_array(top), n);
	g_clear_pointer(&rd->key, g_free);
	return 1;
}

/* Skipping: TRUE while the current value is not kept. */
static gboolean
skipping_scalar(struct reader *rd)
{
	if (rd->skip)
		return TRUE;
	if (rd->skip_value) {
		rd->skip_value = FALSE;
		return TRUE;
	}
	return FALSE;
}

static int
on_scalar(struct reader *rd, JsonNode *n)
{
	if (rd->depth == 0) {
		json_node_unref(n);
		return 0;	/* not a record */
	}
	if (skipping_scalar(rd) || rd->capture == C_NONE) {
		json_node_unref(n);
		return 1;
	}
	return add_node(rd, n);
}

static int
on_null(void *ctx)
{
	return on_scalar(ctx, json_node_new(JSON_NODE_NULL));
}

static int
on_boolean(void *ctx, int v)
{
	return on_scalar(ctx, json_node_init_boolean(json_node_alloc(), v));
}

static int
on_integer(void *ctx, long long v)
{
	return on_scalar(ctx, json_node_init_int(json_node_alloc(), v));
}

static int
on_double(void *ctx, double v)
{
	return on_scalar(ctx, json_node_init_double(json_node_alloc(), v));
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct reader *rd = ctx;

	if (rd->depth == 1 && rd->capture == C_NONE && rd->member >= 0) {
		G_STRUCT_MEMBER(const char *, rd->r, string_members[rd->member].off) =
			g_string_chunk_insert_len(rd->strings->chunk, (const char *)s, (gssize)len);
		rd->member = -1;
		return 1;
	}
	if (rd->depth == 0)
		return 0;	/* not a record */
	if (skipping_scalar(rd) || rd->capture == C_NONE)
		return 1;
	{
		g_autofree char *v = g_strndup((const char *)s, len);

		return add_node(rd, json_node_init_string(json_node_alloc(), v));
	}
}

static int
on_key(void *ctx, const unsigned char *k, size_t len)
{
	struct reader *rd = ctx;

	if (rd->skip)
		return 1;
	if (rd->depth == 1 && rd->stack->len == 0) {
		/* a member of the record */
		rd->member = -1;
		rd->capture = C_NONE;
		rd->skip_value = FALSE;
		for (gsize i = 0; i < G_N_ELEMENTS(string_members); i++)
			if (string_members[i].len == len && !memcmp(string_members[i].key, k, len))
				rd->member = (gssize)i;
		if (len == 5 && !memcmp(k, "facts", 5))
			rd->capture = C_FACTS;
		else if (len == 3 && !memcmp(k, "vms", 3))
			rd->capture = C_VMS;
		else if (len == 4 && !memcmp(k, "only", 4))
			rd->capture = C_ONLY;
		else if (rd->member < 0)
			rd->skip_value = TRUE;
		return 1;
	}
	g_free(rd->key);
	rd->key = g_strndup((const char *)k, len);
	/* a top-level fact not asked for */
	if (rd->capture == C_FACTS && rd->stack->len == 1 && !wanted_fact(rd, rd->key)) {
		rd->skip_value = TRUE;
		g_clear_pointer(&rd->key, g_free);
	}
	return 1;
}

static int
open_container(struct reader *rd, JsonNode *n)
{
	if (rd->depth == 1 && !rd->stack->len)
		rd->member = -1;	/* a member read as a string has no string here */
	if (rd->skip || rd->skip_value || (rd->depth >= 1 && rd->capture == C_NONE)) {
		rd->skip_value = FALSE;
		rd->skip++;
		json_node_unref(n);
		return 1;
	}
	g_ptr_array_add(rd->stack, n);
	g_ptr_array_add(rd->keys, g_steal_pointer(&rd->key));	/* where it goes when it closes */
	return 1;
}

static int
on_start_map(void *ctx)
{
	struct reader *rd = ctx;

	if (rd->depth == 0) {
		rd->depth = 1;
		rd->object = TRUE;
		return 1;
	}
	{
		g_autoptr(JsonObject) o = json_object_new();

		return open_container(rd, json_node_init_object(json_node_alloc(), o));
	}
}

static int
on_start_array(void *ctx)
{
	struct reader *rd = ctx;

	if (rd->depth == 0)
		return 0;	/* not a record */
	{
		g_autoptr(JsonArray) a = json_array_new();

		return open_container(rd, json_node_init_array(json_node_alloc(), a));
	}
}

/* The captured member's root is complete. */
static void
captured(struct reader *rd, JsonNode *n)
{
	switch (rd->capture) {
	case C_FACTS:
		if (JSON_NODE_HOLDS_OBJECT(n)) {
			if (rd->r->facts)
				json_object_unref(rd->r->facts);
			rd->r->facts = json_object_ref(json_node_get_object(n));
		}
		break;
	case C_VMS:
	case C_ONLY:
		if (JSON_NODE_HOLDS_ARRAY(n)) {
			JsonArray **a = rd->capture == C_VMS ? &rd->r->vms : &rd->r->only;

			if (*a)
				json_array_unref(*a);
			*a = json_array_ref(json_node_get_array(n));
		}
		break;
	case C_NONE:
		break;
	}
	json_node_unref(n);
	rd->capture = C_NONE;
}

static int
close_container(void *ctx)
{
	struct reader *rd = ctx;
	JsonNode *n;

	if (rd->skip) {
		rd->skip--;
		return 1;
	}
	if (!rd->stack->len) {
		rd->depth = 0;	/* the record's end */
		rd->records++;
		return 1;
	}
	n = g_ptr_array_steal_index(rd->stack, rd->stack->len - 1);
	g_free(rd->key);
	rd->key = g_ptr_array_steal_index(rd->keys, rd->keys->len - 1);
	if (!rd->stack->len) {
		g_clear_pointer(&rd->key, g_free);
		captured(rd, n);
		return 1;
	}
	return add_node(rd, n);
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_integer = on_integer,
	.yajl_double = on_double,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = close_container,
	.yajl_start_array = on_start_array,
	.yajl_end_array = close_container,
};

static struct rec *
container_of_rec(struct journal_rec *r)
{
	return (struct rec *)((char *)r - G_STRUCT_OFFSET(struct rec, pub));
}

/* A new record for the next line. */
static void
rec_begin(struct reader *rd)
{
	struct rec *r = g_new0(struct rec, 1);

	r->strings = rd->strings;
	g_atomic_int_inc(&rd->strings->ref);
	rd->r = &r->pub;
	rd->depth = 0;
	rd->member = -1;
	rd->capture = C_NONE;
	rd->skip = 0;
	rd->skip_value = FALSE;
	rd->records = 0;
}

/* One line, newline included, through the parser: TRUE if it held
 * exactly one JSON object, whole. */
static gboolean
read_line(struct reader *rd, yajl_handle h, const char *line, gsize len)
{
	gboolean ok = yajl_parse(h, (const unsigned char *)line, len) == yajl_status_ok && rd->records == 1 &&
		      rd->depth == 0;

	if (ok && !rd->r->ev)
		rd->r->ev = "";
	return ok;
}

GPtrArray *
journal_read(const char *path, const char *const *fact_keys, GError **err)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) stack = g_ptr_array_new();
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *recs = g_ptr_array_new_with_free_func(rec_free);
	struct reader rd = { .fact_keys = fact_keys, .stack = stack, .keys = keys };
	yajl_handle h;
	gsize len = 0;
	guint n = 0;

	if (!g_file_get_contents(path, &text, &len, &e)) {
		if (g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return recs;
		g_propagate_error(err, g_steal_pointer(&e));
		g_ptr_array_unref(recs);
		return NULL;
	}
	rd.strings = g_new0(struct strings, 1);
	rd.strings->ref = 1;
	rd.strings->chunk = g_string_chunk_new(64 * 1024);
	/* one parser for the file, a value per line: every line must end
	 * exactly one record (read_line() checks) */
	h = yajl_alloc(&callbacks, NULL, &rd);
	yajl_config(h, yajl_allow_multiple_values, 1);
	/* the text after the last newline is a torn write, if anything */
	for (const char *l = text, *nl; (nl = memchr(l, '\n', len - (gsize)(l - text))); l = nl + 1) {
		n++;
		if (nl == l)
			continue;
		rec_begin(&rd);
		if (!read_line(&rd, h, l, (gsize)(nl - l) + 1)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s:%u: not a journal record; the journal is damaged (move it away to start over)",
				    path, n);
			rec_free(container_of_rec(rd.r));
			g_clear_pointer(&recs, g_ptr_array_unref);
			break;
		}
		g_ptr_array_add(recs, container_of_rec(rd.r));
	}
	yajl_free(h);
	g_clear_pointer(&rd.key, g_free);
	while (stack->len)
		json_node_unref(g_ptr_array_steal_index(stack, stack->len - 1));
	if (g_atomic_int_dec_and_test(&rd.strings->ref)) {
		g_string_chunk_free(rd.strings->chunk);
		g_free(rd.strings);
	}
	return recs;
}
