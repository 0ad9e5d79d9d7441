/* live_ladder.c: the downtime ladder of a live migration (see
 * live_job.h): pure arithmetic, tested alone (tests/unit/test_live_ladder.c). */
#include "live_job.h"

gint64
live_downtime_steps(const struct live_opts *l)
{
	return MAX(l->downtime_steps, 1);
}

gint64
live_downtime_at_step(const struct live_opts *l, gint64 k)
{
	/* unset, or above the maximum: the maximum from the start */
	gint64 hi = l->max_downtime_ms;
	gint64 lo = l->initial_downtime_ms > 0 && l->initial_downtime_ms < hi ? l->initial_downtime_ms : hi;

	return lo + (hi - lo) * CLAMP(k, 0, live_downtime_steps(l)) / live_downtime_steps(l);
}

gboolean
live_downtime_finish(const struct live_opts *l, guint64 passes)
{
	return l->finish_after_passes > 0 && passes >= (guint64)l->finish_after_passes;
}

gint64
live_downtime_limit(const struct live_opts *l, gint64 elapsed_s, guint64 passes)
{
	if (live_downtime_finish(l, passes))
		return l->max_downtime_ms;	/* Cloudpods' quickly-finish */
	return live_downtime_at_step(l, l->downtime_step_s > 0 ? elapsed_s / l->downtime_step_s : G_MAXINT64);
}
