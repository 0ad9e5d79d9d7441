/* live_ladder.c: the downtime ladder of a live migration (see
 * live_job.h): pure arithmetic, tested alone (tests/unit/test_live_ladder.c). */
#include "live_job.h"

static gint64
initial_ms(const struct live_opts *l)
{
	/* unset, or above the maximum: the maximum from the start */
	return l->initial_downtime_ms > 0 && l->initial_downtime_ms < l->max_downtime_ms ? l->initial_downtime_ms
											: l->max_downtime_ms;
}

gint64
live_downtime_step(const struct live_opts *l, gint64 elapsed_s)
{
	gint64 steps = MAX(l->downtime_steps, 1);

	if (l->downtime_step_s <= 0)
		return steps;
	return CLAMP(elapsed_s / l->downtime_step_s, 0, steps);
}

gint64
live_downtime_limit(const struct live_opts *l, gint64 elapsed_s, guint64 passes)
{
	gint64 lo = initial_ms(l), hi = l->max_downtime_ms, steps = MAX(l->downtime_steps, 1);

	if (l->finish_after_passes > 0 && passes >= (guint64)l->finish_after_passes)
		return hi;	/* Cloudpods' quickly-finish */
	return lo + (hi - lo) * live_downtime_step(l, elapsed_s) / steps;
}
