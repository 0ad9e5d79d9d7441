/* events.c: the event stream's objects (see events.h, docs/events.md). */
#include <string.h>
#include <time.h>

#include "events.h"

gboolean
events_wanted(const struct sink *s)
{
	return s->event != NULL;
}

/* Now as RFC 3339 in UTC with milliseconds: 2026-12-06T21:47:13.042Z */
static void
utc_now_ms(char *buf, gsize size)
{
	gint64 us = g_get_real_time();
	time_t secs = (time_t)(us / G_USEC_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	g_snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		   tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % G_USEC_PER_SEC / 1000));
}

void
events_emit(const struct sink *s, const char *ev, JsonObject *fields)
{
	g_autoptr(JsonObject) o = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autofree char *line = NULL;
	g_autoptr(GList) names = NULL;
	char t[40];

	if (!s->event)
		return;
	o = json_object_new();
	utc_now_ms(t, sizeof(t));
	json_object_set_string_member(o, "ev", ev);
	json_object_set_string_member(o, "t", t);
	names = fields ? json_object_get_members(fields) : NULL;	/* in their order */
	for (GList *l = names; l; l = l->next)
		if (strcmp(l->data, "ev") && strcmp(l->data, "t"))
			json_object_set_member(o, l->data, json_object_dup_member(fields, l->data));
	node = json_node_init_object(json_node_alloc(), o);
	line = json_to_string(node, FALSE);
	s->event(s->ud, line);
}

void
events_record(const struct sink *s, JsonObject *rec, const char *phase)
{
	g_autoptr(JsonObject) f = NULL;
	g_autoptr(GList) names = NULL;

	if (!s->event)
		return;
	if (!phase) {
		events_emit(s, json_object_get_string_member_with_default(rec, "ev", "?"), rec);
		return;
	}
	/* the phase right after "ev" and "t", as in a step's event */
	f = json_object_new();
	json_object_set_string_member(f, "phase", phase);
	names = json_object_get_members(rec);
	for (GList *l = names; l; l = l->next)
		if (strcmp(l->data, "phase"))
			json_object_set_member(f, l->data, json_object_dup_member(rec, l->data));
	events_emit(s, json_object_get_string_member_with_default(rec, "ev", "?"), f);
}

void
events_step(const struct sink *s, JsonObject *rec, gint64 *began_us)
{
	const char *phase = json_object_get_string_member_with_default(rec, "phase", "");
	gint64 now = g_get_monotonic_time();
	g_autoptr(JsonObject) f = NULL;
	g_autoptr(GList) names = NULL;

	if (!strcmp(phase, "start")) {
		*began_us = now;
		events_record(s, rec, NULL);
		return;
	}
	if (!s->event)
		return;
	f = json_object_new();
	names = json_object_get_members(rec);
	for (GList *l = names; l; l = l->next) {
		json_object_set_member(f, l->data, json_object_dup_member(rec, l->data));
		if (!strcmp(l->data, "phase")) {
			json_object_set_string_member(f, "result", strcmp(phase, "done") ? "failed" : "ok");
			if (*began_us)
				json_object_set_int_member(f, "duration_ms", (now - *began_us) / 1000);
		}
	}
	events_emit(s, json_object_get_string_member_with_default(rec, "ev", "?"), f);
}

void
events_run_end(const struct sink *s, const char *cmd, int exit_code, JsonObject *counts, const char *error)
{
	g_autoptr(JsonObject) f = NULL;

	if (!s->event)
		return;
	f = json_object_new();
	json_object_set_string_member(f, "phase", "end");
	json_object_set_string_member(f, "cmd", cmd);
	json_object_set_string_member(f, "result", exit_code == 0 ? "ok" : exit_code == 3 ? "interrupted" : "failed");
	json_object_set_int_member(f, "exit", exit_code);
	if (counts)
		json_object_set_object_member(f, "counts", json_object_ref(counts));
	if (error)
		json_object_set_string_member(f, "error", error);
	events_emit(s, "run", f);
}

void
events_progress(const struct sink *s, const char *unit, const char *step, guint64 done, guint64 total,
		double rate_mib_s, gint64 eta_s, const char *path)
{
	g_autoptr(JsonObject) f = NULL;

	if (!s->event)
		return;
	f = json_object_new();
	json_object_set_string_member(f, "unit", unit);
	json_object_set_string_member(f, "step", step);
	if (path)
		json_object_set_string_member(f, "path", path);
	json_object_set_int_member(f, "bytes_done", (gint64)done);
	json_object_set_int_member(f, "bytes_total", (gint64)total);
	if (total)
		json_object_set_int_member(f, "percent", (gint64)(done * 100 / total));
	/* bytes/s, an integer: a double would come out as 38.619999999999997 */
	json_object_set_int_member(f, "rate_bytes_s", (gint64)(rate_mib_s * 1048576.0 + 0.5));
	if (eta_s >= 0)
		json_object_set_int_member(f, "eta_s", eta_s);
	events_emit(s, "progress", f);
}

/* @extra's members after those of @f already set (theirs win) */
static void
spread(JsonObject *f, JsonObject *extra)
{
	g_autoptr(GList) names = extra ? json_object_get_members(extra) : NULL;

	for (GList *l = names; l; l = l->next)
		if (!json_object_has_member(f, l->data))
			json_object_set_member(f, l->data, json_object_dup_member(extra, l->data));
}

void
events_placement(const struct sink *s, const char *unit, const char *host, JsonObject *placement)
{
	g_autoptr(JsonObject) f = NULL;

	if (!s->event)
		return;
	f = json_object_new();
	json_object_set_string_member(f, "unit", unit);
	if (host)
		json_object_set_string_member(f, "host", host);
	else
		json_object_set_null_member(f, "host");
	spread(f, placement);
	events_emit(s, "placement", f);
}

void
events_fallback(const struct sink *s, const char *unit, const char *from, const char *to, JsonObject *failure)
{
	g_autoptr(JsonObject) f = NULL;

	if (!s->event)
		return;
	f = json_object_new();
	json_object_set_string_member(f, "unit", unit);
	json_object_set_string_member(f, "from", from);
	json_object_set_string_member(f, "to", to);
	spread(f, failure);
	events_emit(s, "fallback", f);
}
