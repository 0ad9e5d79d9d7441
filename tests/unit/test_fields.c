/* Unit tests of the field tables (planner/fields.c): the fingerprint
 * covers every row of every table, walked from the tables themselves,
 * so a key added to a table and forgotten here still gets checked. */
#include <string.h>

#include "../../planner/fields.h"

#define PLAN "version: 1\nname: t\n" \
	"hosts:\n" \
	"  a: {uri: \"qemu+ssh://admin@10.0.0.1:2222/system?keyfile=/k/id&known_hosts=/k/kh\",\n" \
	"      migration_host: 10.1.0.1, image_dirs: [/srv/a]}\n" \
	"  b: {uri: \"qemu:///system\", ssh: {host: 10.0.0.2}, image_dirs: [/srv/b]}\n" \
	"defaults:\n  mode: cold\n" \
	"  remap: {paths: [{from: \"^/d/(.*)$\", to: \"/e/$1\"}]}\n" \
	"remap: {bridges: [{from: \"^br(.*)$\", to: \"vbr$1\"}]}\n" \
	"migrations:\n" \
	"  - {vm: x, from: a, to: b, disks: {shared: [\"^rbd:\"]},\n" \
	"     remap: {networks: [{from: \"^n$\", to: \"\"}]}}\n"

static struct plan *
parse(const char *text, struct diags *dg)
{
	diags_init(dg, "t.yaml");
	return plan_parse("t.yaml", text, strlen(text), dg);
}

/* Where the rows of table @t live for migration @m: one struct, or
 * several (both end hosts, the rules of each remap). */
static GPtrArray *
table_bases(struct plan *p, struct migration *m, enum ftable_id t)
{
	GPtrArray *bases = g_ptr_array_new();

	switch (t) {
	case FT_SETTINGS:
	case FT_SHUTDOWN:
	case FT_LIVE:
	case FT_DISKS:
	case FT_VERIFY:
	case FT_PREPARE:
		for (guint b = 0; b < G_N_ELEMENTS(settings_blocks); b++)
			if (settings_blocks[b].table == t)
				g_ptr_array_add(bases, (char *)&m->set + settings_blocks[b].off);
		break;
	case FT_HOST:
		g_ptr_array_add(bases, m->from);
		g_ptr_array_add(bases, m->to);
		break;
	case FT_SSH:
		g_ptr_array_add(bases, &m->from->ssh);
		g_ptr_array_add(bases, &m->to->ssh);
		break;
	case FT_RULE:
		g_ptr_array_add(bases, m->set.remap.rules[REMAP_NETWORKS]->pdata[0]);
		g_ptr_array_add(bases, p->defaults.remap.rules[REMAP_PATHS]->pdata[0]);
		g_ptr_array_add(bases, p->remap.rules[REMAP_BRIDGES]->pdata[0]);
		break;
	case FT_MIGRATION:
		g_ptr_array_add(bases, m);
		break;
	default:
		g_assert_not_reached();	/* a new table: say where its rows live */
	}
	g_assert_cmpuint(bases->len, >, 0);
	return bases;
}

/* Change the field @f of @base, returning the old value's bits in
 * @saved (a string's old pointer) so that it can be put back. */
static void
field_change(const struct field *f, void *base, gint64 *saved, char **str_saved)
{
	char *p = (char *)base + f->off;

	switch (f->type) {
	case F_STR:
	case F_STR_EMPTY_OK:
		*str_saved = *(char **)p;
		*(char **)p = g_strdup_printf("%s-changed", *str_saved ? *str_saved : "");
		break;
	case F_INT:
		*saved = *(gint64 *)p;
		*(gint64 *)p += 1;
		break;
	case F_BOOL:
		*saved = *(gboolean *)p;
		*(gboolean *)p = !*(gboolean *)p;
		break;
	case F_ENUM:
		*saved = *(int *)p;
		*(int *)p = (*(int *)p + 1) % (int)g_strv_length((char **)f->names);
		break;
	}
}

static void
field_restore(const struct field *f, void *base, gint64 saved, char *str_saved)
{
	char *p = (char *)base + f->off;

	switch (f->type) {
	case F_STR:
	case F_STR_EMPTY_OK:
		g_free(*(char **)p);
		*(char **)p = str_saved;
		break;
	case F_INT:
		*(gint64 *)p = saved;
		break;
	case F_BOOL:
		*(gboolean *)p = (gboolean)saved;
		break;
	case F_ENUM:
		*(int *)p = (int)saved;
		break;
	}
}

static void
test_fields__fingerprint_covers_every_table_row(void)
{
	struct diags dg;
	struct plan *p = parse(PLAN, &dg);
	struct migration *m;
	g_autofree char *fp0 = NULL;
	guint checked = 0;

	g_assert_nonnull(p);
	m = plan_migration(p, "x");
	fp0 = plan_migration_fingerprint(p, m);
	g_assert_cmpuint(strlen(fp0), ==, 64);
	for (guint t = 0; t < FT__COUNT; t++) {
		const struct ftable *tab = &field_tables[t];
		g_autoptr(GPtrArray) bases = table_bases(p, m, t);

		for (guint b = 0; b < bases->len; b++) {
			for (guint f = 0; f < tab->n; f++) {
				const struct field *fd = &tab->fields[f];
				gint64 saved = 0;
				char *str_saved = NULL;
				g_autofree char *fp = NULL;
				g_autofree char *again = NULL;

				field_change(fd, bases->pdata[b], &saved, &str_saved);
				fp = plan_migration_fingerprint(p, m);
				field_restore(fd, bases->pdata[b], saved, str_saved);
				if (fd->flags & (FIELD_CONCURRENCY | FIELD_HOW)) {
					g_test_message("%s.%s: left out on purpose", tab->name ? tab->name : "-", fd->key);
					g_assert_cmpstr(fp, ==, fp0);
				} else {
					if (!strcmp(fp, fp0))
						g_test_message("table %u (%s), base %u: key '%s' is not in the fingerprint",
							       t, tab->name ? tab->name : "-", b, fd->key);
					g_assert_cmpstr(fp, !=, fp0);
				}
				again = plan_migration_fingerprint(p, m);
				g_assert_cmpstr(again, ==, fp0);	/* restored */
				checked++;
			}
		}
	}
	g_assert_cmpuint(checked, >, 30);
	plan_free(p);
	diags_release(&dg);
}

/* The lists: image_dirs of either host, disks.shared; and a second parse
 * of the same text gives the same fingerprint. */
static void
test_fields__fingerprint_covers_lists_and_is_stable(void)
{
	struct diags dg, dg2;
	struct plan *p = parse(PLAN, &dg), *q = parse(PLAN, &dg2);
	struct migration *m;
	g_autofree char *fp0 = NULL, *fq = NULL, *fdir = NULL, *fshared = NULL;
	struct shared_pattern *sp;
	char *old;

	g_assert_nonnull(p);
	g_assert_nonnull(q);
	m = plan_migration(p, "x");
	fp0 = plan_migration_fingerprint(p, m);
	fq = plan_migration_fingerprint(q, plan_migration(q, "x"));
	g_assert_cmpstr(fp0, ==, fq);
	g_ptr_array_add(m->to->image_dirs, g_strdup("/srv/c"));
	fdir = plan_migration_fingerprint(p, m);
	g_assert_cmpstr(fdir, !=, fp0);
	g_ptr_array_remove_index(m->to->image_dirs, m->to->image_dirs->len - 1);
	sp = m->set.disks.shared->pdata[0];
	old = sp->pattern;
	sp->pattern = g_strdup("^iscsi:");
	fshared = plan_migration_fingerprint(p, m);
	g_assert_cmpstr(fshared, !=, fp0);
	g_free(sp->pattern);
	sp->pattern = old;
	plan_free(p);
	plan_free(q);
	diags_release(&dg);
	diags_release(&dg2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/fields/fingerprint_covers_every_table_row", test_fields__fingerprint_covers_every_table_row);
	g_test_add_func("/fields/fingerprint_covers_lists_and_is_stable", test_fields__fingerprint_covers_lists_and_is_stable);
	return g_test_run();
}
