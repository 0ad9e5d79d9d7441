/* udiff against GNU diff -u on the same inputs. */
#include <stdio.h>
#include <string.h>

#include "../../executor/udiff.h"

static char *
gnu_diff(const char *a, const char *b)
{
	g_autofree char *dir = g_dir_make_tmp("vmshift-udiff-XXXXXX", NULL);
	g_autofree char *pa = g_build_filename(dir, "a", NULL);
	g_autofree char *pb = g_build_filename(dir, "b", NULL);
	const char *argv[] = { "diff", "-u", "--label", "A", "--label", "B", pa, pb, NULL };
	char *out = NULL;

	g_assert_true(g_file_set_contents(pa, a, -1, NULL));
	g_assert_true(g_file_set_contents(pb, b, -1, NULL));
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
				   NULL, NULL, &out, NULL, NULL, NULL));
	remove(pa);
	remove(pb);
	remove(dir);
	return out;
}

static GString *
lines(guint n, guint seed)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "  <line n='%u' seed='%u'/>\n", i, seed);
	return s;
}

static void
check_against_gnu(const char *a, const char *b)
{
	g_autofree char *ours = udiff(a, b, "A", "B");
	g_autofree char *theirs = gnu_diff(a, b);

	g_assert_cmpstr(ours, ==, theirs);
}

static void
test_udiff__single_changes_match_gnu_diff(void)
{
	g_autoptr(GString) a = lines(40, 0);

	/* one changed line at each place: start, middle, end */
	for (guint at = 0; at < 40; at += 13) {
		g_autoptr(GString) b = lines(40, 0);
		g_autofree char *old = g_strdup_printf("<line n='%u' seed='0'/>", at);
		char *p = strstr(b->str, old);

		g_assert_nonnull(p);
		p[2] = 'L';	/* <line -> <Line */
		check_against_gnu(a->str, b->str);
	}
}

static void
test_udiff__separate_hunks_match_gnu_diff(void)
{
	g_autoptr(GString) a = lines(60, 0);
	g_autoptr(GString) b = lines(60, 0);

	strstr(b->str, "n='5'")[1] = 'm';
	strstr(b->str, "n='50'")[1] = 'm';
	strstr(b->str, "n='9'")[1] = 'm';	/* within 2x3 of 5: one hunk */
	check_against_gnu(a->str, b->str);
}

static void
test_udiff__equal_is_empty(void)
{
	g_autofree char *d = udiff("a\nb\n", "a\nb\n", "A", "B");

	g_assert_cmpstr(d, ==, "");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/udiff/single_changes_match_gnu_diff", test_udiff__single_changes_match_gnu_diff);
	g_test_add_func("/udiff/separate_hunks_match_gnu_diff", test_udiff__separate_hunks_match_gnu_diff);
	g_test_add_func("/udiff/equal_is_empty", test_udiff__equal_is_empty);
	return g_test_run();
}
