/* events.c: the event stream's objects, as a reader (json-glib) sees them. */
#include <string.h>

#include "../../executor/events.h"

/* what the sink's event callback was given, one line each */
static void
capture(gpointer ud, const char *line)
{
	g_ptr_array_add(ud, g_strdup(line));
}

/* @line parsed; its member names in order in *names (NULL-terminated) */
static JsonObject *
parse(const char *line, char ***names)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) e = NULL;
	g_autoptr(GList) l = NULL;
	GStrvBuilder *b = g_strv_builder_new();
	JsonObject *o;

	g_assert_null(strchr(line, '\n'));
	g_assert_true(json_parser_load_from_data(p, line, -1, &e));
	g_assert_no_error(e);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)));
	o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
	l = json_object_get_members(o);
	for (GList *i = l; i; i = i->next)
		g_strv_builder_add(b, i->data);
	*names = g_strv_builder_end(b);
	g_strv_builder_unref(b);
	return o;
}

static void
check_head(JsonObject *o, char **names, const char *ev)
{
	g_assert_cmpstr(names[0], ==, "ev");
	g_assert_cmpstr(names[1], ==, "t");
	g_assert_cmpstr(json_object_get_string_member(o, "ev"), ==, ev);
	g_assert_true(g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$",
					   json_object_get_string_member(o, "t"), 0, 0));
}

static void
test_events__nobody_listens(void)
{
	struct sink s = { 0 };
	g_autoptr(JsonObject) rec = json_object_new();
	gint64 began = 0;

	g_assert_false(events_wanted(&s));
	json_object_set_string_member(rec, "ev", "step");
	json_object_set_string_member(rec, "phase", "start");
	events_emit(&s, "x", NULL);
	events_step(&s, rec, &began);
	g_assert_cmpint(began, >, 0);	/* kept all the same: a listener may come with the next run */
	events_progress(&s, "u", "copy-disks", 1, 2, 1.0, 1, NULL);
}

static void
test_events__ev_and_t_first_fields_in_order(void)
{
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
	struct sink s = { .event = capture, .ud = got };
	g_autoptr(JsonObject) f = json_object_new();
	g_autoptr(JsonObject) o = NULL;
	g_auto(GStrv) names = NULL;

	json_object_set_string_member(f, "zeta", "quote \" and \n newline");
	json_object_set_string_member(f, "ev", "ignored");
	json_object_set_int_member(f, "alpha", 7);
	json_object_set_string_member(f, "t", "ignored");
	events_emit(&s, "run", f);
	g_assert_cmpuint(got->len, ==, 1);
	o = parse(got->pdata[0], &names);
	check_head(o, names, "run");
	g_assert_cmpuint(g_strv_length(names), ==, 4);
	g_assert_cmpstr(names[2], ==, "zeta");
	g_assert_cmpstr(names[3], ==, "alpha");
	g_assert_cmpstr(json_object_get_string_member(o, "zeta"), ==, "quote \" and \n newline");
}

static void
test_events__step_end_has_result_and_duration(void)
{
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
	struct sink s = { .event = capture, .ud = got };
	static const char *const phases[] = { "start", "done", "start", "failed" };
	gint64 began = 0;

	for (guint i = 0; i < G_N_ELEMENTS(phases); i++) {
		g_autoptr(JsonObject) rec = json_object_new();

		json_object_set_string_member(rec, "ev", i < 2 ? "step" : "undo");
		json_object_set_string_member(rec, "unit", "web1");
		json_object_set_string_member(rec, "step", "copy-disks");
		json_object_set_string_member(rec, "phase", phases[i]);
		if (!strcmp(phases[i], "failed"))
			json_object_set_string_member(rec, "error", "it broke");
		events_step(&s, rec, &began);
		g_usleep(30 * 1000);
	}
	g_assert_cmpuint(got->len, ==, 4);
	for (guint i = 0; i < got->len; i++) {
		g_auto(GStrv) names = NULL;
		g_autoptr(JsonObject) o = parse(got->pdata[i], &names);

		check_head(o, names, i < 2 ? "step" : "undo");
		g_assert_cmpstr(names[2], ==, "unit");
		g_assert_cmpstr(names[3], ==, "step");
		g_assert_cmpstr(names[4], ==, "phase");
		g_assert_cmpstr(json_object_get_string_member(o, "phase"), ==, phases[i]);
		if (i % 2 == 0) {
			g_assert_false(json_object_has_member(o, "result"));
			g_assert_false(json_object_has_member(o, "duration_ms"));
			continue;
		}
		g_assert_cmpstr(names[5], ==, "result");
		g_assert_cmpstr(json_object_get_string_member(o, "result"), ==, i == 1 ? "ok" : "failed");
		g_assert_cmpint(json_object_get_int_member(o, "duration_ms"), >=, 30);
		g_assert_cmpint(json_object_get_int_member(o, "duration_ms"), <, 30 * 1000);
		if (i == 3)
			g_assert_cmpstr(json_object_get_string_member(o, "error"), ==, "it broke");
	}
}

static void
test_events__run_start_and_end(void)
{
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
	struct sink s = { .event = capture, .ud = got };
	g_autoptr(JsonObject) rec = json_object_new(), counts = json_object_new();
	g_autoptr(JsonObject) a = NULL, b = NULL, c = NULL;
	g_auto(GStrv) na = NULL, nb = NULL, nc = NULL;

	json_object_set_string_member(rec, "ev", "run");
	json_object_set_string_member(rec, "cmd", "apply");
	json_object_set_string_member(rec, "plan_sha256", "ab");
	json_object_set_int_member(counts, "done", 2);
	events_record(&s, rec, "start");
	events_run_end(&s, "apply", 3, counts, NULL);
	events_run_end(&s, "resume", 1, NULL, "the journal cannot be written");
	g_assert_cmpuint(got->len, ==, 3);
	a = parse(got->pdata[0], &na);
	check_head(a, na, "run");
	g_assert_cmpstr(na[2], ==, "phase");
	g_assert_cmpstr(json_object_get_string_member(a, "phase"), ==, "start");
	g_assert_cmpstr(json_object_get_string_member(a, "plan_sha256"), ==, "ab");
	b = parse(got->pdata[1], &nb);
	g_assert_cmpstr(json_object_get_string_member(b, "phase"), ==, "end");
	g_assert_cmpstr(json_object_get_string_member(b, "result"), ==, "interrupted");
	g_assert_cmpint(json_object_get_int_member(b, "exit"), ==, 3);
	g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(b, "counts"), "done"), ==, 2);
	g_assert_false(json_object_has_member(b, "error"));
	c = parse(got->pdata[2], &nc);
	g_assert_cmpstr(json_object_get_string_member(c, "result"), ==, "failed");
	g_assert_cmpstr(json_object_get_string_member(c, "error"), ==, "the journal cannot be written");
}

static void
test_events__progress_placement_fallback(void)
{
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
	struct sink s = { .event = capture, .ud = got };
	g_autoptr(JsonObject) pl = json_object_new(), fail = json_object_new();
	g_autoptr(JsonObject) p1 = NULL, p2 = NULL, x = NULL, y = NULL;
	g_auto(GStrv) n1 = NULL, n2 = NULL, nx = NULL, ny = NULL;

	events_progress(&s, "db", "copy-disks", 512, 2048, 12.345, 7, "/var/lib/a.qcow2");
	events_progress(&s, "db", "migrate-live", 0, 0, 0, -1, NULL);
	json_object_set_string_member(pl, "policy", "spread");
	json_object_set_string_member(pl, "host", "not this one");
	json_object_set_array_member(pl, "candidates", json_array_new());
	events_placement(&s, "web/vm1", NULL, pl);
	json_object_set_string_member(fail, "why", "not converging");
	json_object_set_int_member(fail, "after_s", 12);
	events_fallback(&s, "db", "live", "cold", fail);
	g_assert_cmpuint(got->len, ==, 4);
	p1 = parse(got->pdata[0], &n1);
	check_head(p1, n1, "progress");
	g_assert_cmpint(json_object_get_int_member(p1, "bytes_done"), ==, 512);
	g_assert_cmpint(json_object_get_int_member(p1, "bytes_total"), ==, 2048);
	g_assert_cmpint(json_object_get_int_member(p1, "percent"), ==, 25);
	g_assert_cmpint(json_object_get_int_member(p1, "rate_bytes_s"), ==, 12944671);	/* 12.345 MiB/s */
	g_assert_cmpint(json_object_get_int_member(p1, "eta_s"), ==, 7);
	g_assert_cmpstr(json_object_get_string_member(p1, "path"), ==, "/var/lib/a.qcow2");
	p2 = parse(got->pdata[1], &n2);
	g_assert_false(json_object_has_member(p2, "eta_s"));
	g_assert_false(json_object_has_member(p2, "path"));
	g_assert_false(json_object_has_member(p2, "percent"));	/* no total: unknown */
	x = parse(got->pdata[2], &nx);
	check_head(x, nx, "placement");
	g_assert_true(json_object_get_null_member(x, "host"));	/* none fits: the figures' own "host" does not win */
	g_assert_cmpstr(json_object_get_string_member(x, "policy"), ==, "spread");
	g_assert_true(JSON_NODE_HOLDS_ARRAY(json_object_get_member(x, "candidates")));
	y = parse(got->pdata[3], &ny);
	check_head(y, ny, "fallback");
	g_assert_cmpstr(json_object_get_string_member(y, "from"), ==, "live");
	g_assert_cmpstr(json_object_get_string_member(y, "to"), ==, "cold");
	g_assert_cmpstr(json_object_get_string_member(y, "why"), ==, "not converging");
	g_assert_cmpint(json_object_get_int_member(y, "after_s"), ==, 12);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/events/nobody_listens", test_events__nobody_listens);
	g_test_add_func("/events/ev_and_t_first_fields_in_order", test_events__ev_and_t_first_fields_in_order);
	g_test_add_func("/events/step_end_has_result_and_duration", test_events__step_end_has_result_and_duration);
	g_test_add_func("/events/run_start_and_end", test_events__run_start_and_end);
	g_test_add_func("/events/progress_placement_fallback", test_events__progress_placement_fallback);
	return g_test_run();
}
