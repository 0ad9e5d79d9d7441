/* Unit tests of the YAML layer: typing, positions, merges, limits. */
#include <string.h>

#include "../../planner/ydoc.h"

struct fixture {
	struct diags dg;
	struct ydoc y;
	int rc;
};

static void
load(struct fixture *f, const char *text)
{
	diags_init(&f->dg, "t.yaml");
	f->rc = ydoc_load(&f->y, text, strlen(text), &f->dg);
}

static void
unload(struct fixture *f)
{
	ydoc_release(&f->y);
	diags_release(&f->dg);
}

static const char *
first_msg(struct fixture *f)
{
	return f->dg.items->len ? ((struct diag *)f->dg.items->pdata[0])->msg : "";
}

static struct ynode *
value_of(struct fixture *f, const char *key)
{
	g_autoptr(GArray) pairs = ydoc_pairs(&f->y, ydoc_root(&f->y));

	for (guint i = 0; i < pairs->len; i++)
		if (!strcmp(ydoc_str(g_array_index(pairs, struct ypair, i).key), key))
			return g_array_index(pairs, struct ypair, i).value;
	return NULL;
}

static void
test_ydoc__scalar_kinds(void)
{
	struct fixture f;
	static const struct {
		const char *key;
		enum ykind kind;
	} want[] = {
		{ "i", YK_INT }, { "neg", YK_INT }, { "hex", YK_STR }, { "oct", YK_STR },
		{ "q", YK_STR }, { "f", YK_FLOAT }, { "e", YK_FLOAT }, { "inf", YK_FLOAT },
		{ "t", YK_BOOL }, { "F", YK_BOOL }, { "yes", YK_STR }, { "n", YK_NULL },
		{ "tilde", YK_NULL }, { "empty", YK_NULL }, { "s", YK_STR }, { "ver", YK_STR },
		{ "l", YK_SEQ }, { "m", YK_MAP },
	};

	load(&f, "i: 42\nneg: -7\nhex: 0x1F\noct: 0o17\nq: \"42\"\nf: 1.5\ne: 1e3\ninf: .inf\n"
		 "t: true\nF: FALSE\nyes: yes\nn: null\ntilde: ~\nempty:\ns: hello\nver: 1.2.3\n"
		 "l: [1]\nm: {a: 1}\n");
	g_assert_cmpint(f.rc, ==, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		struct ynode *v = value_of(&f, want[i].key);

		g_assert_nonnull(v);
		if (ydoc_kind(v) != want[i].kind)
			g_error("%s: kind %d, want %d", want[i].key, ydoc_kind(v), want[i].kind);
	}
	unload(&f);
}

static void
test_ydoc__int_values(void)
{
	struct fixture f;
	gint64 v = 0;

	load(&f, "a: 0x10\nb: -12\nc: 99999999999999999999\nd: '5'\n");
	g_assert_false(ydoc_int(value_of(&f, "a"), &v));	/* decimal only */
	g_assert_true(ydoc_int(value_of(&f, "b"), &v));
	g_assert_cmpint(v, ==, -12);
	g_assert_false(ydoc_int(value_of(&f, "c"), &v));	/* overflow */
	g_assert_false(ydoc_int(value_of(&f, "d"), &v));	/* quoted */
	unload(&f);
}

static void
test_ydoc__positions_are_one_based(void)
{
	struct fixture f;
	struct pos at;

	load(&f, "top:\n  inner: value\n");
	at = ydoc_pos(value_of(&f, "top"));
	g_assert_cmpuint(at.line, ==, 2);
	g_assert_cmpuint(at.col, ==, 3);
	unload(&f);
}

static void
test_ydoc__merge_keys(void)
{
	struct fixture f;
	g_autoptr(GArray) pairs = NULL;
	gint64 v = 0;

	load(&f, "base: &b {x: 1, y: 2}\nother: &o {y: 20, z: 30}\n"
		 "m: {<<: [*b, *o], y: 5}\n");
	g_assert_cmpint(f.rc, ==, 0);
	pairs = ydoc_pairs(&f.y, value_of(&f, "m"));
	g_assert_cmpuint(pairs->len, ==, 3);
	for (guint i = 0; i < pairs->len; i++) {
		struct ypair *p = &g_array_index(pairs, struct ypair, i);
		const char *k = ydoc_str(p->key);

		g_assert_true(ydoc_int(p->value, &v));
		/* explicit wins over merged, earlier merge source over later */
		if (!strcmp(k, "x"))
			g_assert_cmpint(v, ==, 1);
		else if (!strcmp(k, "y"))
			g_assert_cmpint(v, ==, 5);
		else
			g_assert_cmpint(v, ==, 30);
	}
	g_assert_cmpuint(f.dg.items->len, ==, 0);
	unload(&f);
}

static void
test_ydoc__duplicate_key(void)
{
	struct fixture f;
	g_autoptr(GArray) pairs = NULL;

	load(&f, "a: 1\nb: 2\na: 3\n");
	pairs = ydoc_pairs(&f.y, ydoc_root(&f.y));
	g_assert_cmpuint(pairs->len, ==, 2);
	g_assert_cmpuint(f.dg.items->len, ==, 1);
	g_assert_cmpstr(first_msg(&f), ==, "duplicate key 'a' (first at line 1)");
	g_assert_cmpuint(((struct diag *)f.dg.items->pdata[0])->at.line, ==, 3);
	unload(&f);
}

static void
test_ydoc__alias_bomb_is_refused_fast(void)
{
	GString *s = g_string_new("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	struct fixture f;
	gint64 t0 = g_get_monotonic_time();

	/* 10^12 nodes once expanded */
	for (int i = 1; i <= 12; i++) {
		g_string_append_printf(s, "a%d: &a%d [", i, i);
		for (int k = 0; k < 10; k++)
			g_string_append_printf(s, "%s*a%d", k ? ", " : "", i - 1);
		g_string_append(s, "]\n");
	}
	load(&f, s->str);
	g_assert_cmpint(f.rc, ==, -1);
	g_assert_nonnull(strstr(first_msg(&f), "alias bomb"));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
	unload(&f);
	g_string_free(s, TRUE);
}

static void
test_ydoc__recursive_alias(void)
{
	struct fixture f;

	load(&f, "a: &x [1, *x]\n");
	g_assert_cmpint(f.rc, ==, -1);
	unload(&f);
}

static void
test_ydoc__second_document_and_empty(void)
{
	struct fixture f;

	load(&f, "a: 1\n---\nb: 2\n");
	g_assert_cmpint(f.rc, ==, -1);
	g_assert_nonnull(strstr(first_msg(&f), "second YAML document"));
	g_assert_cmpuint(((struct diag *)f.dg.items->pdata[0])->at.line, ==, 2);
	unload(&f);

	load(&f, "# nothing\n");
	g_assert_cmpint(f.rc, ==, -1);
	g_assert_nonnull(strstr(first_msg(&f), "empty"));
	unload(&f);
}

static void
test_ydoc__invalid_utf8_position(void)
{
	struct fixture f;
	const char text[] = "a: 1\nbb: \"x\xff\"\n";
	struct pos at;

	diags_init(&f.dg, "t.yaml");
	f.rc = ydoc_load(&f.y, text, sizeof(text) - 1, &f.dg);
	g_assert_cmpint(f.rc, ==, -1);
	at = ((struct diag *)f.dg.items->pdata[0])->at;
	g_assert_cmpuint(at.line, ==, 2);
	g_assert_cmpuint(at.col, ==, 7);	/* b, b, :, space, ", x, then the bad byte */
	unload(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/ydoc/scalar_kinds", test_ydoc__scalar_kinds);
	g_test_add_func("/ydoc/int_values", test_ydoc__int_values);
	g_test_add_func("/ydoc/positions_are_one_based", test_ydoc__positions_are_one_based);
	g_test_add_func("/ydoc/merge_keys", test_ydoc__merge_keys);
	g_test_add_func("/ydoc/duplicate_key", test_ydoc__duplicate_key);
	g_test_add_func("/ydoc/alias_bomb_is_refused_fast", test_ydoc__alias_bomb_is_refused_fast);
	g_test_add_func("/ydoc/recursive_alias", test_ydoc__recursive_alias);
	g_test_add_func("/ydoc/second_document_and_empty", test_ydoc__second_document_and_empty);
	g_test_add_func("/ydoc/invalid_utf8_position", test_ydoc__invalid_utf8_position);
	return g_test_run();
}
