/* test_live_ladder: the downtime ladder of a live migration
 * (executor/live_ladder.c): steps, quickly-finish, today's default. */
#include <glib.h>

#include "../../executor/live_job.h"

static struct live_opts
opts(gint64 initial, gint64 max, gint64 steps, gint64 step_s, gint64 passes)
{
	struct live_opts l = { 0 };

	l.initial_downtime_ms = initial;
	l.max_downtime_ms = max;
	l.downtime_steps = steps;
	l.downtime_step_s = step_s;
	l.finish_after_passes = passes;
	return l;
}

/* initial_downtime_ms unset: the maximum from the first second, as before */
static void
test_live_ladder__default_is_max(void)
{
	struct live_opts l = opts(0, 300, 1, 10, 0);

	g_assert_cmpint(live_downtime_limit(&l, 0, 1), ==, 300);
	g_assert_cmpint(live_downtime_limit(&l, 1000, 50), ==, 300);
	l = opts(0, 300, 5, 1, 0);	/* steps without a start: nothing to climb */
	g_assert_cmpint(live_downtime_limit(&l, 0, 1), ==, 300);
	l = opts(900, 300, 3, 1, 0);	/* a start above the maximum: the maximum */
	g_assert_cmpint(live_downtime_limit(&l, 0, 1), ==, 300);
}

/* 3 steps from 1 to 30: 1, 10, 20, 30, one every 2 s, then 30 for ever */
static void
test_live_ladder__steps(void)
{
	struct live_opts l = opts(1, 30, 3, 2, 0);
	static const gint64 want[] = { 1, 1, 10, 10, 20, 20, 30, 30, 30, 30 };

	for (guint s = 0; s < G_N_ELEMENTS(want); s++)
		g_assert_cmpint(live_downtime_limit(&l, s, 1), ==, want[s]);
	g_assert_cmpint(live_downtime_steps(&l), ==, 3);
	g_assert_cmpint(live_downtime_at_step(&l, 2), ==, 20);
	g_assert_cmpint(live_downtime_at_step(&l, 7), ==, 30);
	g_assert_cmpint(live_downtime_at_step(&l, -1), ==, 1);
	l.downtime_steps = 0;	/* not given: one step */
	g_assert_cmpint(live_downtime_at_step(&l, 1), ==, 30);
	l.downtime_steps = 3;
	l = opts(100, 300, 1, 10, 0);	/* the default one step: start, then max */
	g_assert_cmpint(live_downtime_limit(&l, 9, 1), ==, 100);
	g_assert_cmpint(live_downtime_limit(&l, 10, 1), ==, 300);
}

/* finish_after_passes: the maximum once the job is in that pass, whatever
 * the clock says; never before */
static void
test_live_ladder__finish_after_passes(void)
{
	struct live_opts l = opts(50, 500, 10, 60, 3);

	g_assert_cmpint(live_downtime_limit(&l, 0, 1), ==, 50);
	g_assert_cmpint(live_downtime_limit(&l, 0, 2), ==, 50);
	g_assert_cmpint(live_downtime_limit(&l, 0, 3), ==, 500);
	g_assert_true(live_downtime_finish(&l, 3));
	g_assert_false(live_downtime_finish(&l, 2));
	l.finish_after_passes = 0;	/* never */
	g_assert_false(live_downtime_finish(&l, 1000));
	g_assert_cmpint(live_downtime_limit(&l, 61, 2), ==, 95);
}

/* never lower later, or in a later pass */
static void
test_live_ladder__monotonic(void)
{
	struct live_opts l = opts(7, 1000, 9, 3, 40);

	for (gint64 s = 1; s < 60; s++)
		for (guint64 p = 1; p < 50; p++) {
			g_assert_cmpint(live_downtime_limit(&l, s, p), >=, live_downtime_limit(&l, s - 1, p));
			g_assert_cmpint(live_downtime_limit(&l, s, p), >=, live_downtime_limit(&l, s, p - 1));
			g_assert_cmpint(live_downtime_limit(&l, s, p), <=, 1000);
		}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/live_ladder/default_is_max", test_live_ladder__default_is_max);
	g_test_add_func("/live_ladder/steps", test_live_ladder__steps);
	g_test_add_func("/live_ladder/finish_after_passes", test_live_ladder__finish_after_passes);
	g_test_add_func("/live_ladder/monotonic", test_live_ladder__monotonic);
	return g_test_run();
}
