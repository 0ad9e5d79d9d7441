/* window.c: the maintenance window (window.h). */
#include <string.h>

#include "placement.h"
#include "window.h"

gint64
window_now(struct exec *x)
{
	if (!x->o->now)
		return g_get_real_time() / G_USEC_PER_SEC;
	return x->o->now + (g_get_monotonic_time() - x->started_us) / G_USEC_PER_SEC;
}

static char *
rfc3339(gint64 t)
{
	g_autoptr(GDateTime) d = g_date_time_new_from_unix_utc(t);

	return d ? g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ") : g_strdup_printf("@%" G_GINT64_FORMAT, t);
}

/* What @u moves, in bytes: -1 if it cannot be told. */
static gint64
bytes_to_move(struct exec *x, struct unit *u)
{
	gboolean missing = FALSE;
	g_autoptr(GError) e = NULL;
	g_auto(virDomainPtr) d = NULL;
	virDomainInfo di;
	gint64 n = 0;

	(void)x;
	if (u->mode == MODE_COLD)
		return 0;
	if (u->mode == MODE_OFFLINE_SCP && json_object_has_member(u->facts, FACT_COPY_BYTES))
		return json_object_get_int_member(u->facts, FACT_COPY_BYTES);
	if (!u->src || !(d = host_dom_lookup(u->src, u->vm, &missing, &e)))
		return -1;
	if (u->mode == MODE_LIVE) {
		if (virDomainGetInfo(d, &di) < 0)
			return -1;
		n = (gint64)di.memory * 1024;
		if (u->m->set.live.copy_storage == COPY_STORAGE_NONE)
			return n;
	}
	return n + MAX(placement_copy_bytes(d), 0);
}

/* The run's throughput so far, in bytes per second, or the plan's
 * assumption before any measurement. */
static double
rate(struct exec *x, gboolean *measured)
{
	double r;

	g_mutex_lock(&x->mu);
	*measured = x->moved_us > 0 && x->moved_bytes > 0;
	r = *measured ? (double)x->moved_bytes / ((double)x->moved_us / G_USEC_PER_SEC) : 0;
	g_mutex_unlock(&x->mu);
	return *measured ? r : (double)x->plan->window.assumed_mib_s * 1024 * 1024;
}

char *
window_check(struct exec *x, struct unit *u, gint64 *est_s)
{
	const struct window *w = &x->plan->window;
	gint64 now = window_now(x), bytes;
	gboolean measured;
	double r;

	*est_s = -1;
	if (w->not_before && now < w->not_before) {
		g_autofree char *at = rfc3339(w->not_before);

		return g_strdup_printf("the window opens at %s; resume then", at);
	}
	if (!w->not_after)
		return NULL;
	if (now >= w->not_after) {
		g_autofree char *at = rfc3339(w->not_after);

		return g_strdup_printf("the window closed at %s; give the plan a new window:, then vmshift resume", at);
	}
	if ((bytes = bytes_to_move(x, u)) < 0)
		bytes = 0;	/* unknown: preflight will say why */
	r = rate(x, &measured);
	*est_s = (gint64)((double)bytes / r + 0.999);
	if (now + *est_s > w->not_after) {
		g_autofree char *at = rfc3339(w->not_after);

		return g_strdup_printf("it would end after the window closes at %s: %.1f MiB to move at %.1f MiB/s (%s) take about %" G_GINT64_FORMAT " s, %" G_GINT64_FORMAT " s are left; give the plan a later window:, then vmshift resume",
				       at, (double)bytes / (1024 * 1024), r / (1024 * 1024),
				       measured ? "measured in this run" : "window.assumed_mib_s", *est_s,
				       w->not_after - now);
	}
	return NULL;
}

void
window_measured(struct exec *x, struct unit *u, gboolean copied_before, gint64 elapsed_us)
{
	gint64 bytes = 0, us = elapsed_us;

	if (u->status != U_DONE || fact_bool(u, FACT_ALREADY_DONE, FALSE))
		return;
	if (json_object_has_member(u->facts, FACT_LIVE_BYTES)) {
		bytes = json_object_get_int_member(u->facts, FACT_LIVE_BYTES);
		us = json_object_get_int_member_with_default(u->facts, FACT_LIVE_TIME_MS, 0) * 1000;
	} else if (json_object_has_member(u->facts, FACT_COPY_BYTES) && !copied_before) {
		/* copied in this attempt, over the whole unit's time: a low rate */
		bytes = json_object_get_int_member(u->facts, FACT_COPY_BYTES);
	}
	if (bytes <= 0 || us <= 0)
		return;
	g_mutex_lock(&x->mu);
	x->moved_bytes += bytes;
	x->moved_us += us;
	g_mutex_unlock(&x->mu);
}

void
window_note(struct exec *x, struct unit *u)
{
	gint64 est;
	g_autofree char *why = NULL;

	if (!x->plan->window.not_before && !x->plan->window.not_after)
		return;
	if (!u->report)
		u->report = g_string_new(NULL);
	if ((why = window_check(x, u, &est)))
		g_string_append_printf(u->report, "    window: would be deferred now: %s\n", why);
	else if (est >= 0)
		g_string_append_printf(u->report, "    window: would start now, estimated %" G_GINT64_FORMAT " s before it closes\n", est);
	else
		g_string_append(u->report, "    window: open now\n");
}
