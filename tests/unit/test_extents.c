/* test_extents: the data ranges of a file, from qemu-img map's JSON. */
#include <glib.h>

#include "../../executor/extents.h"

static char *
dump(const GArray *e)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < e->len; i++) {
		const struct extent *x = &g_array_index(e, struct extent, i);

		g_string_append_printf(s, "%s%" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT, i ? " " : "", x->off, x->len);
	}
	return g_string_free(s, FALSE);
}

/* What qemu-img 7.2 printed for a 64 MiB raw file with 3 MiB at 10 MiB,
 * and a qcow2 file of 197,120 bytes, both read as raw. */
static void
test_extents__from_qemu_map(void)
{
	const char *sparse =
		"[{ \"start\": 0, \"length\": 10485760, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false, \"offset\": 0},\n"
		"{ \"start\": 10485760, \"length\": 3145728, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 10485760},\n"
		"{ \"start\": 13631488, \"length\": 53477376, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false, \"offset\": 13631488}]\n";
	const char *small =
		"[{ \"start\": 0, \"length\": 65536, \"data\": true},{ \"start\": 65536, \"length\": 131080, \"data\": true, \"zero\": true},"
		"{ \"start\": 196616, \"length\": 504, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false}]";
	g_autoptr(GError) e = NULL;
	g_autoptr(GArray) a = extents_from_qemu_map(sparse, 67108864, &e);
	g_autoptr(GArray) b = NULL;
	g_autofree char *da = NULL, *db = NULL;

	g_assert_no_error(e);
	da = dump(a);
	g_assert_cmpstr(da, ==, "10485760+3145728");
	g_assert_cmpuint(extents_bytes(a), ==, 3145728);
	g_assert_cmpuint(extents_bytes_below(a, 10485760 + 1000), ==, 1000);
	g_assert_cmpuint(extents_bytes_below(a, 10485760), ==, 0);
	g_assert_cmpuint(extents_bytes_below(a, 67108864), ==, 3145728);
	/* adjacent data extents merge; allocated zeros are data */
	b = extents_from_qemu_map(small, 197120, &e);
	g_assert_no_error(e);
	db = dump(b);
	g_assert_cmpstr(db, ==, "0+196616");
}

/* qemu-img map counts 512-byte sectors: a file of 196,616 bytes is
 * described up to 197,120; the range is cut at the end of the file. */
static void
test_extents__sector_rounded_end(void)
{
	const char *m = "[{ \"start\": 0, \"length\": 196616, \"data\": true},{ \"start\": 196616, \"length\": 504, \"data\": false}]";
	const char *m2 = "[{ \"start\": 0, \"length\": 197120, \"data\": true}]";
	g_autoptr(GError) e = NULL;
	g_autoptr(GArray) a = extents_from_qemu_map(m, 196616, &e);
	g_autofree char *d = NULL;

	g_assert_no_error(e);
	d = dump(a);
	g_assert_cmpstr(d, ==, "0+196616");
	g_clear_pointer(&d, g_free);
	g_clear_pointer(&a, g_array_unref);
	a = extents_from_qemu_map(m2, 196616, &e);
	g_assert_no_error(e);
	d = dump(a);
	g_assert_cmpstr(d, ==, "0+196616");
	g_assert_null(extents_from_qemu_map(m2, 196608 - 512, NULL));	/* a whole sector past the end */
}

static void
test_extents__refuses_what_is_not_a_whole_map(void)
{
	const char *bad[] = {
		"{}",
		"[{\"start\": 0, \"length\": 10, \"data\": true}]",						/* ends short */
		"[{\"start\": 0, \"length\": 10, \"data\": true},{\"start\": 20, \"length\": 80, \"data\": true}]",	/* a gap */
		"[{\"start\": 0, \"length\": 60, \"data\": true},{\"start\": 50, \"length\": 50, \"data\": true}]",	/* overlap */
		"[{\"start\": 0, \"length\": 700, \"data\": true}]",						/* a sector past the end */
		"[{\"start\": -1, \"length\": 101, \"data\": true}]",
		"[{\"start\": \"0\", \"length\": 100, \"data\": true}]",
		"not json",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		GArray *a = extents_from_qemu_map(bad[i], 100, &e);

		g_assert_null(a);
		g_assert_nonnull(e);
	}
}

static void
test_extents__coalesce_smallest_gaps_first(void)
{
	/* gaps: 10, 1000, 10, 5 */
	struct extent in[] = { { 0, 10 }, { 20, 10 }, { 1030, 10 }, { 1050, 10 }, { 1065, 5 } };
	g_autoptr(GArray) e = g_array_new(FALSE, FALSE, sizeof(struct extent));
	g_autofree char *d3 = NULL, *d1 = NULL, *d5 = NULL;

	g_array_append_vals(e, in, G_N_ELEMENTS(in));
	extents_coalesce(e, 5);
	d5 = dump(e);
	g_assert_cmpstr(d5, ==, "0+10 20+10 1030+10 1050+10 1065+5");
	extents_coalesce(e, 3);		/* the 5 goes, then one of the 10s */
	d3 = dump(e);
	g_assert_cmpuint(e->len, ==, 3);
	g_assert_cmpstr(d3, ==, "0+30 1030+10 1050+20");
	extents_coalesce(e, 1);
	d1 = dump(e);
	g_assert_cmpstr(d1, ==, "0+1070");
}

static void
test_extents__dense(void)
{
	g_autoptr(GArray) z = extents_dense(0), d = extents_dense(4096);

	g_assert_cmpuint(z->len, ==, 0);
	g_assert_cmpuint(d->len, ==, 1);
	g_assert_cmpuint(extents_bytes(d), ==, 4096);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/extents/from_qemu_map", test_extents__from_qemu_map);
	g_test_add_func("/extents/sector_rounded_end", test_extents__sector_rounded_end);
	g_test_add_func("/extents/refuses_what_is_not_a_whole_map", test_extents__refuses_what_is_not_a_whole_map);
	g_test_add_func("/extents/coalesce_smallest_gaps_first", test_extents__coalesce_smallest_gaps_first);
	g_test_add_func("/extents/dense", test_extents__dense);
	return g_test_run();
}
