/* cmd_plan.c: vmshift plan PLAN [--output text|json|dot] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "../planner/plan.h"

enum output { OUT_TEXT, OUT_JSON, OUT_DOT };

static void
append_steps(GString *s, const struct migration *m, const char *sep, gboolean quoted)
{
	guint n;
	const enum step *steps = mode_steps(m->set.mode, &n);

	for (guint i = 0; i < n; i++) {
		if (i)
			g_string_append(s, sep);
		if (quoted)
			json_append_string(s, step_name(steps[i]));
		else
			g_string_append(s, step_name(steps[i]));
	}
}

static char *
render_text(const struct plan *plan)
{
	GString *s = g_string_new(NULL);
	guint wave = 0;

	g_string_append_printf(s, "plan %s (%s)\n", plan->name, plan->path);
	g_string_append_printf(s, "%u migration%s over %u host%s in %u wave%s; at most %" G_GINT64_FORMAT
			       " at once\n", plan->order->len, plan->order->len == 1 ? "" : "s",
			       plan->hosts->len, plan->hosts->len == 1 ? "" : "s", plan->n_waves,
			       plan->n_waves == 1 ? "" : "s", plan->max_parallel);
	for (guint i = 0; i < plan->order->len; i++) {
		const struct migration *m = plan->order->pdata[i];

		if (m->wave != wave) {
			wave = m->wave;
			g_string_append_printf(s, "\nwave %u\n", wave);
		}
		g_string_append_printf(s, "  %u. %s: %s %s, %s -> %s, %s\n", i + 1, m->id,
				       m->vm ? "vm" : "vms matching", m->vm ? m->vm : m->match,
				       m->from->name, m->to->name, mode_name(m->set.mode));
		if (m->after->len) {
			g_string_append(s, "     after: ");
			for (guint d = 0; d < m->after->len; d++)
				g_string_append_printf(s, "%s%s", d ? ", " : "",
						       ((struct migration *)m->after->pdata[d])->id);
			g_string_append_c(s, '\n');
		}
		g_string_append(s, "     steps: ");
		append_steps(s, m, ", ", FALSE);
		g_string_append_c(s, '\n');
	}
	return g_string_free(s, FALSE);
}

static char *
render_json(const struct plan *plan)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "{\"version\":%d,\"name\":", PLAN_VERSION);
	json_append_string(s, plan->name);
	g_string_append_printf(s, ",\"waves\":%u,\"migrations\":[", plan->n_waves);
	for (guint i = 0; i < plan->order->len; i++) {
		const struct migration *m = plan->order->pdata[i];

		g_string_append(s, i ? ",{\"id\":" : "{\"id\":");
		json_append_string(s, m->id);
		g_string_append(s, m->vm ? ",\"vm\":" : ",\"match\":");
		json_append_string(s, m->vm ? m->vm : m->match);
		g_string_append(s, ",\"from\":");
		json_append_string(s, m->from->name);
		g_string_append(s, ",\"to\":");
		json_append_string(s, m->to->name);
		g_string_append(s, ",\"mode\":");
		json_append_string(s, mode_name(m->set.mode));
		g_string_append(s, ",\"after\":[");
		for (guint d = 0; d < m->after->len; d++) {
			if (d)
				g_string_append_c(s, ',');
			json_append_string(s, ((struct migration *)m->after->pdata[d])->id);
		}
		g_string_append_printf(s, "],\"wave\":%u,\"steps\":[", m->wave);
		append_steps(s, m, ",", TRUE);
		g_string_append(s, "]}");
	}
	g_string_append(s, "]}\n");
	return g_string_free(s, FALSE);
}

/* DOT takes the same string escapes as JSON for what vmshift puts in
 * its labels; "\n" inside a label is DOT's own line break. */
static char *
render_dot(const struct plan *plan)
{
	GString *s = g_string_new("digraph ");

	json_append_string(s, plan->name);
	g_string_append(s, " {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
	for (guint i = 0; i < plan->order->len; i++) {
		const struct migration *m = plan->order->pdata[i];
		g_autofree char *label = g_strdup_printf("%s\n%s -> %s (%s, wave %u)", m->id,
							 m->from->name, m->to->name,
							 mode_name(m->set.mode), m->wave);

		g_string_append(s, "  ");
		json_append_string(s, m->id);
		g_string_append(s, " [label=");
		json_append_string(s, label);
		g_string_append(s, "];\n");
	}
	/* an edge points from what runs first to what runs after it */
	for (guint i = 0; i < plan->order->len; i++) {
		const struct migration *m = plan->order->pdata[i];

		for (guint d = 0; d < m->after->len; d++) {
			g_string_append(s, "  ");
			json_append_string(s, ((struct migration *)m->after->pdata[d])->id);
			g_string_append(s, " -> ");
			json_append_string(s, m->id);
			g_string_append(s, ";\n");
		}
	}
	g_string_append(s, "}\n");
	return g_string_free(s, FALSE);
}

/* cmd_load_plan() without the sha256 of the file: only a run needs it. */
static struct plan *
load_plan(const char *path)
{
	struct diags dg;
	struct plan *plan;

	diags_init(&dg, path);
	if (!(plan = plan_load_unhashed(path, &dg)))
		cmd_print_diags(&dg);
	diags_release(&dg);
	return plan;
}

int
cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum output out = OUT_TEXT;
	struct plan *plan;
	g_autofree char *text = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (!strcmp(optarg, "text"))
				out = OUT_TEXT;
			else if (!strcmp(optarg, "json"))
				out = OUT_JSON;
			else if (!strcmp(optarg, "dot"))
				out = OUT_DOT;
			else
				return cmd_usage_error("plan", "--output must be text, json or dot, not '%s'", optarg);
			break;
		case 'h':
			return cmd_print_help("plan");
		default:
			return cmd_usage_error("plan", "bad option");
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("plan", "name exactly one plan file");

	if (!(plan = load_plan(argv[optind])))
		return EXIT_INVALID;
	text = out == OUT_JSON ? render_json(plan) : out == OUT_DOT ? render_dot(plan) : render_text(plan);
	fputs(text, stdout);
	plan_free(plan);
	return cmd_finish_stdout(EXIT_OK);
}
