/* Unit tests of the journal: append, read back, torn tails, the lock. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "../../executor/journal.h"

static char *
tmpdir(void)
{
	g_autoptr(GError) e = NULL;
	char *d = g_dir_make_tmp("vmshift-journal-XXXXXX", &e);

	g_assert_no_error(e);
	return d;
}

static void
rm_rf(const char *dir)
{
	const char *names[] = { "journal.jsonl", "lock" };

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *p = g_build_filename(dir, names[i], NULL);

		g_unlink(p);
	}
	g_rmdir(dir);
}

static void
append(struct journal *j, const char *ev, gint64 n)
{
	g_autoptr(JsonObject) o = json_object_new();
	g_autoptr(GError) e = NULL;

	g_autoptr(JsonObject) facts = json_object_new();
	g_autoptr(JsonObject) deep = json_object_new();
	g_autoptr(JsonObject) skipped = json_object_new();
	JsonArray *list = json_array_new(), *inner = json_array_new();
	g_autofree char *unit = g_strdup_printf("u%" G_GINT64_FORMAT, n);

	json_object_set_string_member(o, "ev", ev);
	json_object_set_string_member(o, "unit", unit);
	/* facts of every JSON type, nested; a member the reader ignores */
	json_array_add_int_element(inner, 1);
	json_array_add_boolean_element(inner, TRUE);
	json_array_add_null_element(inner);
	json_array_add_double_element(inner, 2.5);
	json_object_set_array_member(deep, "b", inner);
	json_array_add_string_element(list, "a");
	json_array_add_object_element(list, json_object_ref(deep));
	json_object_set_int_member(facts, "n", n);
	json_object_set_array_member(facts, "list", list);
	json_object_set_object_member(o, "facts", json_object_ref(facts));
	json_object_set_array_member(skipped, "x", json_array_new());
	json_object_set_object_member(o, "other", json_object_ref(skipped));
	g_assert_cmpint(journal_append(j, o, n % 2 == 0, &e), ==, 0);
	g_assert_no_error(e);
}

static void
test_journal__roundtrip(void)
{
	g_autofree char *dir = tmpdir();
	g_autofree char *path = g_build_filename(dir, "journal.jsonl", NULL);
	g_autoptr(GError) e = NULL;
	struct journal *j = journal_open(dir, &e);
	g_autoptr(GPtrArray) recs = NULL;

	g_assert_nonnull(j);
	for (int i = 0; i < 5; i++)
		append(j, "step", i);
	journal_close(j);
	recs = journal_read(path, NULL, &e);
	g_assert_no_error(e);
	g_assert_cmpuint(recs->len, ==, 5);
	{
		const struct journal_rec *r = recs->pdata[4];
		JsonArray *list, *inner;
		g_autofree char *text = NULL;

		g_assert_cmpstr(r->ev, ==, "step");
		g_assert_cmpstr(r->unit, ==, "u4");
		g_assert_null(r->phase);
		g_assert_cmpint(json_object_get_int_member(r->facts, "n"), ==, 4);
		list = json_object_get_array_member(r->facts, "list");
		g_assert_cmpuint(json_array_get_length(list), ==, 2);
		g_assert_cmpstr(json_array_get_string_element(list, 0), ==, "a");
		inner = json_object_get_array_member(json_array_get_object_element(list, 1), "b");
		g_assert_cmpuint(json_array_get_length(inner), ==, 4);
		g_assert_cmpint(json_array_get_int_element(inner, 0), ==, 1);
		g_assert_true(json_array_get_boolean_element(inner, 1));
		g_assert_true(json_array_get_null_element(inner, 2));
		g_assert_cmpfloat(json_array_get_double_element(inner, 3), ==, 2.5);
		g_assert_cmpuint(json_object_get_size(r->facts), ==, 2);
		g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
		g_assert_nonnull(strstr(text, "\"t\":\""));	/* timestamped */
	}
	g_ptr_array_unref(g_steal_pointer(&recs));
	{
		/* only the facts asked for */
		static const char *const keys[] = { "n", NULL };

		recs = journal_read(path, keys, &e);
		g_assert_no_error(e);
		g_assert_cmpuint(recs->len, ==, 5);
		g_assert_cmpint(json_object_get_int_member(((struct journal_rec *)recs->pdata[2])->facts, "n"), ==, 2);
		g_assert_false(json_object_has_member(((struct journal_rec *)recs->pdata[2])->facts, "list"));
	}
	rm_rf(dir);
}

static void
test_journal__torn_tail_is_ignored_then_repaired(void)
{
	g_autofree char *dir = tmpdir();
	g_autofree char *path = g_build_filename(dir, "journal.jsonl", NULL);
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) recs = NULL, recs2 = NULL;
	struct journal *j;

	g_assert_true(g_file_set_contents(path, "{\"ev\":\"a\",\"n\":1}\n{\"ev\":\"b\",\"n\"", -1, NULL));
	recs = journal_read(path, NULL, &e);
	g_assert_no_error(e);
	g_assert_cmpuint(recs->len, ==, 1);
	/* reopening cuts the torn line, so the next record stands alone */
	j = journal_open(dir, &e);
	g_assert_nonnull(j);
	append(j, "c", 3);
	journal_close(j);
	recs2 = journal_read(path, NULL, &e);
	g_assert_no_error(e);
	g_assert_cmpuint(recs2->len, ==, 2);
	g_assert_cmpstr(((struct journal_rec *)recs2->pdata[1])->ev, ==, "c");
	rm_rf(dir);
}

static void
test_journal__damage_in_the_middle_is_an_error(void)
{
	g_autofree char *dir = tmpdir();
	g_autofree char *path = g_build_filename(dir, "journal.jsonl", NULL);
	g_autoptr(GError) e = NULL;
	GPtrArray *recs;

	/* not JSON, not an object, two objects, an object cut short */
	const char *const bad[] = { "not json", "[1]", "42", "\"s\"", "{\"ev\":\"x\"} {\"ev\":\"y\"}",
				    "{\"ev\":\"x\",\"facts\":{\"a\":[1,2}}" };

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *text = g_strdup_printf("{\"ev\":\"a\"}\n%s\n{\"ev\":\"b\"}\n", bad[i]);

		g_clear_error(&e);
		g_assert_true(g_file_set_contents(path, text, -1, NULL));
		recs = journal_read(path, NULL, &e);
		g_assert_null(recs);
		g_assert_nonnull(e);
		g_assert_nonnull(strstr(e->message, ":2:"));
	}
	rm_rf(dir);
}

static void
test_journal__lock_excludes_a_second_run(void)
{
	g_autofree char *dir = tmpdir();
	g_autoptr(GError) e = NULL;
	struct journal *a = journal_open(dir, &e);
	struct journal *b;

	g_assert_nonnull(a);
	/* flock locks belong to the open file: a second open conflicts
	 * even in the same process, as a second vmshift would */
	b = journal_open(dir, &e);
	g_assert_null(b);
	g_assert_nonnull(e);
	g_assert_nonnull(strstr(e->message, "another vmshift run"));
	g_clear_error(&e);
	journal_close(a);
	b = journal_open(dir, &e);
	g_assert_nonnull(b);
	journal_close(b);
	rm_rf(dir);
}

static void
test_journal__missing_file_is_empty(void)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) recs = journal_read("/nonexistent/vmshift/journal.jsonl", NULL, &e);

	g_assert_no_error(e);
	g_assert_cmpuint(recs->len, ==, 0);
}

struct appender {
	struct journal *j;
	guint id, n;
	gboolean failed;
};

static gpointer
append_many(gpointer p)
{
	struct appender *a = p;

	for (guint i = 0; i < a->n; i++) {
		g_autoptr(JsonObject) rec = json_object_new();
		g_autoptr(GError) err = NULL;

		g_autoptr(JsonObject) f = json_object_new();
		g_autofree char *unit = g_strdup_printf("%u", a->id);

		json_object_set_string_member(rec, "ev", "facts");
		json_object_set_string_member(rec, "unit", unit);
		json_object_set_int_member(f, "i", i);
		json_object_set_object_member(rec, "facts", json_object_ref(f));
		if (journal_append(a->j, rec, i % 3 != 0, &err) < 0)
			a->failed = TRUE;
	}
	return NULL;
}

/* Eight threads appending at once (their syncs shared): every record is
 * there once, whole, and each thread's in the order it wrote them. */
static void
test_journal__concurrent_appends(void)
{
	g_autofree char *dir = g_dir_make_tmp("vmshift-journal-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "journal.jsonl", NULL);
	g_autofree char *lock = g_build_filename(dir, "lock", NULL);
	struct journal *j = journal_open(dir, NULL);
	struct appender a[8];
	GThread *t[8];
	g_autoptr(GPtrArray) recs = NULL;
	gint64 next[8] = { 0 };

	g_assert_nonnull(j);
	for (guint k = 0; k < 8; k++) {
		a[k] = (struct appender){ .j = j, .id = k, .n = 200 };
		t[k] = g_thread_new("append", append_many, &a[k]);
	}
	for (guint k = 0; k < 8; k++) {
		g_thread_join(t[k]);
		g_assert_false(a[k].failed);
	}
	journal_close(j);
	recs = journal_read(path, NULL, NULL);
	g_assert_nonnull(recs);
	g_assert_cmpuint(recs->len, ==, 8 * 200);
	for (guint i = 0; i < recs->len; i++) {
		const struct journal_rec *r = recs->pdata[i];
		guint64 th = g_ascii_strtoull(r->unit, NULL, 10);

		g_assert_cmpuint(th, <, 8);
		g_assert_cmpint(json_object_get_int_member(r->facts, "i"), ==, next[th]);
		next[th]++;
	}
	g_unlink(path);
	g_unlink(lock);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/journal/roundtrip", test_journal__roundtrip);
	g_test_add_func("/journal/torn_tail_is_ignored_then_repaired", test_journal__torn_tail_is_ignored_then_repaired);
	g_test_add_func("/journal/damage_in_the_middle_is_an_error", test_journal__damage_in_the_middle_is_an_error);
	g_test_add_func("/journal/lock_excludes_a_second_run", test_journal__lock_excludes_a_second_run);
	g_test_add_func("/journal/missing_file_is_empty", test_journal__missing_file_is_empty);
	g_test_add_func("/journal/concurrent_appends", test_journal__concurrent_appends);
	return g_test_run();
}
