/* Unit tests of ordering: topological order, ties, cycles, waves. */
#include <string.h>

#include "../../planner/plan.h"

static struct plan *
parse(const char *text, struct diags *dg)
{
	diags_init(dg, "t.yaml");
	return plan_parse("t.yaml", text, strlen(text), dg);
}

static char *
order_ids(const struct plan *p)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < p->order->len; i++) {
		const struct migration *m = p->order->pdata[i];

		g_string_append_printf(s, "%s%s@%u", i ? " " : "", m->id, m->wave);
	}
	return g_string_free(s, FALSE);
}

static void
test_order__ties_keep_plan_order(void)
{
	struct diags dg;
	struct plan *p = parse("version: 1\nname: t\nconcurrency: {max_parallel: 10}\n"
			       "hosts: {a: {uri: 'qemu:///system', max_parallel: 10}, b: {uri: 'qemu:///system', max_parallel: 10}}\n"
			       "defaults: {mode: cold}\nmigrations:\n"
			       "  - {vm: e, from: a, to: b, after: [d]}\n"
			       "  - {vm: c, from: a, to: b}\n"
			       "  - {vm: d, from: a, to: b}\n"
			       "  - {vm: b, from: a, to: b, after: c}\n", &dg);
	g_autofree char *got = NULL;

	g_assert_nonnull(p);
	got = order_ids(p);
	g_assert_cmpstr(got, ==, "c@1 d@1 e@2 b@2");
	plan_free(p);
	diags_release(&dg);
}

static void
test_order__host_and_plan_limits(void)
{
	struct diags dg;
	struct plan *p = parse("version: 1\nname: t\nconcurrency: {max_parallel: 3}\n"
			       "hosts:\n  a: {uri: 'qemu:///system', max_parallel: 2}\n"
			       "  b: {uri: 'qemu:///system', max_parallel: 5}\n"
			       "  c: {uri: 'qemu:///system', max_parallel: 5}\n"
			       "defaults: {mode: cold}\nmigrations:\n"
			       "  - {vm: 1, from: a, to: b}\n  - {vm: 2, from: a, to: b}\n"
			       "  - {vm: 3, from: a, to: b}\n  - {vm: 4, from: c, to: b}\n"
			       "  - {vm: 5, from: c, to: b}\n  - {vm: 6, from: c, to: b}\n", &dg);
	g_autofree char *got = NULL;

	/* unquoted numbers are integers, not vm names */
	g_assert_null(p);
	diags_release(&dg);

	p = parse("version: 1\nname: t\nconcurrency: {max_parallel: 3}\n"
		  "hosts:\n  a: {uri: 'qemu:///system', max_parallel: 2}\n"
		  "  b: {uri: 'qemu:///system', max_parallel: 5}\n"
		  "  c: {uri: 'qemu:///system', max_parallel: 5}\n"
		  "defaults: {mode: cold}\nmigrations:\n"
		  "  - {vm: v1, from: a, to: b}\n  - {vm: v2, from: a, to: b}\n"
		  "  - {vm: v3, from: a, to: b}\n  - {vm: v4, from: c, to: b}\n"
		  "  - {vm: v5, from: c, to: b}\n  - {vm: v6, from: c, to: b}\n", &dg);
	g_assert_nonnull(p);
	got = order_ids(p);
	/* wave 1: a allows 2, the plan 3, so v1 v2 and v4; then v3 v5 v6 */
	g_assert_cmpstr(got, ==, "v1@1 v2@1 v4@1 v3@2 v5@2 v6@2");
	g_assert_cmpuint(p->n_waves, ==, 2);
	plan_free(p);
	diags_release(&dg);
}

static void
test_order__cycle_names_every_member(void)
{
	struct diags dg;
	struct plan *p = parse("version: 1\nname: t\n"
			       "hosts: {a: {uri: 'qemu:///system'}, b: {uri: 'qemu:///system'}}\n"
			       "defaults: {mode: cold}\nmigrations:\n"
			       "  - {vm: free, from: a, to: b}\n"
			       "  - {vm: x, from: a, to: b, after: z}\n"
			       "  - {vm: y, from: a, to: b, after: [free, x]}\n"
			       "  - {vm: z, from: a, to: b, after: y}\n"
			       "  - {vm: tail, from: a, to: b, after: x}\n"
			       "  - {vm: self2, from: a, to: b, after: self1}\n"
			       "  - {vm: self1, from: a, to: b, after: self2}\n", &dg);
	const struct diag *d0, *d1;

	g_assert_null(p);
	g_assert_cmpuint(dg.items->len, ==, 2);	/* one per cycle; tail is only blocked */
	diags_sort(&dg);
	d0 = dg.items->pdata[0];
	d1 = dg.items->pdata[1];
	g_assert_nonnull(strstr(d0->msg, "'x' -> 'z' -> 'y' -> 'x'"));
	g_assert_cmpuint(d0->at.line, ==, 7);
	g_assert_nonnull(strstr(d1->msg, "'self2' -> 'self1' -> 'self2'"));
	plan_free(p);
	diags_release(&dg);
}

static void
test_order__long_chain(void)
{
	GString *s = g_string_new("version: 1\nname: t\nhosts: {a: {uri: 'qemu:///system'}, b: {uri: 'qemu:///system'}}\n"
				  "defaults: {mode: cold}\nmigrations:\n  - {vm: v0, from: a, to: b}\n");
	struct diags dg;
	struct plan *p;

	for (int i = 1; i < 5000; i++)
		g_string_append_printf(s, "  - {vm: v%d, from: a, to: b, after: v%d}\n", i, i - 1);
	p = parse(s->str, &dg);
	g_assert_nonnull(p);
	g_assert_cmpuint(p->n_waves, ==, 5000);
	g_assert_cmpstr(((struct migration *)p->order->pdata[4999])->id, ==, "v4999");
	plan_free(p);
	diags_release(&dg);
	g_string_free(s, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/order/ties_keep_plan_order", test_order__ties_keep_plan_order);
	g_test_add_func("/order/host_and_plan_limits", test_order__host_and_plan_limits);
	g_test_add_func("/order/cycle_names_every_member", test_order__cycle_names_every_member);
	g_test_add_func("/order/long_chain", test_order__long_chain);
	return g_test_run();
}
