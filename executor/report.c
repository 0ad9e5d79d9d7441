/* report.c: the result of a run, as JSON and as text.  Formats only. */
#include <string.h>

#include "engine.h"
#include "placement.h"

/* ---- reports ---- */

static void
unit_json(struct unit *u, JsonBuilder *b)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, u->id);
	json_builder_set_member_name(b, "migration");
	json_builder_add_string_value(b, u->m->id);
	json_builder_set_member_name(b, "vm");
	json_builder_add_string_value(b, u->vm);
	json_builder_set_member_name(b, "from");
	json_builder_add_string_value(b, u->m->from->name);
	json_builder_set_member_name(b, "to");
	if (u->to)
		json_builder_add_string_value(b, u->to->name);
	else
		json_builder_add_null_value(b);	/* a to: list: not placed */
	if (json_object_has_member(u->facts, FACT_PLACEMENT)) {
		json_builder_set_member_name(b, "placement");
		json_builder_add_value(b, json_node_copy(json_object_get_member(u->facts, FACT_PLACEMENT)));
	}
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, mode_name(u->mode));
	json_builder_set_member_name(b, "status");
	json_builder_add_string_value(b, unit_status_name(u->status));
	json_builder_set_member_name(b, "steps_done");
	json_builder_begin_array(b);
	for (guint i = 0; i < u->done->len; i++)
		json_builder_add_string_value(b, step_name(g_array_index(u->done, int, i)));
	json_builder_end_array(b);
	if (u->running >= 0) {
		json_builder_set_member_name(b, "running_step");
		json_builder_add_string_value(b, step_name(u->running));
	}
	if (u->failed_step >= 0) {
		json_builder_set_member_name(b, "failed_step");
		json_builder_add_string_value(b, step_name(u->failed_step));
	}
	if (u->error) {
		json_builder_set_member_name(b, "error");
		json_builder_add_string_value(b, u->error);
	}
	if (fact_array(u, FACT_ATTEMPTS)) {
		json_builder_set_member_name(b, "attempts");
		json_builder_add_value(b, json_node_copy(json_object_get_member(u->facts, FACT_ATTEMPTS)));
	}
	json_builder_end_object(b);
}

/* The attempts that failed before the mode it runs in: "; live failed
 * after 120 s (not converging: 3.1 GiB/s dirty vs 1.0 GiB/s), moved cold" */
static void
attempts_text(struct unit *u, GString *t)
{
	JsonArray *a = fact_array(u, FACT_ATTEMPTS);

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);

		if (!o)
			continue;
		g_string_append_printf(t, "; %s failed after %" G_GINT64_FORMAT " s (%s), %s %s",
				       json_object_get_string_member_with_default(o, "mode", "live"),
				       json_object_get_int_member_with_default(o, "after_s", 0),
				       json_object_get_string_member_with_default(o, "why", "?"),
				       u->status == U_DONE ? "moved" : "fell back to", mode_name(u->mode));
	}
}

static void
unit_text(struct unit *u, GString *t)
{
	g_autofree char *to = u->to ? NULL : placement_pool_text(u->m);

	if (u->to && *fact_str(u, FACT_PLACED_HOST))
		to = g_strdup_printf("%s (placed: %s)", u->to->name,
				     json_object_get_string_member_with_default(json_object_get_object_member(u->facts, FACT_PLACEMENT),
										"policy", "?"));
	g_string_append_printf(t, "%s (%s -> %s, %s): ", u->id, u->m->from->name, to ? to : u->to->name,
			       mode_name(u->mode));
	switch (u->status) {
	case U_INTERRUPTED:
		if (u->running >= 0)
			g_string_append_printf(t, "interrupted during %s (resume continues)", step_name(u->running));
		else
			g_string_append_printf(t, "interrupted after %u step%s (resume continues)", u->done->len,
					       u->done->len == 1 ? "" : "s");
		break;
	case U_FAILED:
		g_string_append_printf(t, "failed at %s: %s", u->failed_step >= 0 ? step_name(u->failed_step) :
				       !u->to ? "placement" : "?", u->error ? u->error : "");
		break;
	case U_ROLLED_BACK:
		g_string_append_printf(t, "rolled back%s%s", u->error ? " after: " : "", u->error ? u->error : "");
		break;
	case U_DEFERRED:
		g_string_append_printf(t, "deferred: %s", u->error ? u->error : "");
		break;
	case U_BLOCKED:
		g_string_append_printf(t, "blocked: %s", u->error ? u->error : "");
		break;
	case U_DONE:
		g_string_append(t, fact_bool(u, FACT_ALREADY_DONE, FALSE) ? "done (it was already on the target)" : "done");
		break;
	default:
		g_string_append(t, unit_status_name(u->status));
	}
	attempts_text(u, t);
	g_string_append_c(t, '\n');
}

static void
report_json(struct exec *x, const char *what, int result, GString *json)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *s = NULL;
	static const char *const results[] = { [RUN_OK] = "ok", [RUN_FAILED] = "failed", [2] = "invalid",
					       [RUN_INTERRUPTED] = "interrupted" };

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "plan");
	json_builder_add_string_value(b, x->plan->name);
	json_builder_set_member_name(b, "command");
	json_builder_add_string_value(b, what);
	json_builder_set_member_name(b, "result");
	json_builder_add_string_value(b, results[result]);
	json_builder_set_member_name(b, "state_dir");
	json_builder_add_string_value(b, x->state_dir);
	json_builder_set_member_name(b, "migrations");
	json_builder_begin_array(b);
	for (guint i = 0; i < x->units->len; i++)
		if (((struct unit *)x->units->pdata[i])->selected || !strcmp(what, "status"))
			unit_json(x->units->pdata[i], b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	s = json_generator_to_data(gen, NULL);
	g_string_append_printf(json, "%s\n", s);
}

void
report_write(struct exec *x, const char *what, int result, GString *json, GString *text)
{
	guint deferred = 0;

	if (json)
		report_json(x, what, result, json);
	if (!text)
		return;
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (!u->selected && strcmp(what, "status"))
			continue;
		unit_text(u, text);
		deferred += u->status == U_DEFERRED;
	}
	if (deferred)
		g_string_append_printf(text, "%u migration%s deferred by the plan's window: vmshift resume %s in a later one\n",
				       deferred, deferred == 1 ? "" : "s", x->plan->path);
}

int
report_overall(struct exec *x)
{
	int rc = RUN_OK;

	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (!u->selected)
			continue;
		if (u->status == U_INTERRUPTED || u->status == U_PENDING)
			rc = MAX(rc, RUN_INTERRUPTED);
		else if (u->status != U_DONE)
			rc = rc == RUN_INTERRUPTED ? rc : RUN_FAILED;
	}
	return rc;
}
