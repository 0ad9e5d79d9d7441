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

/* Where @m goes: its host, or "[a|b]" for a pool placed at apply time. */
static char *
target_label(const struct migration *m)
{
	GString *s;

	if (m->to)
		return g_strdup(m->to->name);
	s = g_string_new("[");
	for (guint i = 0; i < m->pool->len; i++)
		g_string_append_printf(s, "%s%s", i ? "|" : "", ((const struct host *)m->pool->pdata[i])->name);
	g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

static gboolean
has_pool(const struct plan *plan)
{
	for (guint i = 0; i < plan->migrations->len; i++)
		if (!((const struct migration *)plan->migrations->pdata[i])->to)
			return TRUE;
	return FALSE;
}

/* Write what @s holds to @fp once it is past 64 KiB, or at the @end: a
 * large plan's output need not be in memory whole. */
static void
spill(GString *s, FILE *fp, gboolean end)
{
	if (s->len < 64 * 1024 && !end)
		return;
	fwrite(s->str, 1, s->len, fp);
	g_string_truncate(s, 0);
}

/* "placement: spread, ..." : how a to: list's VMs are placed. */
static void
append_placement(GString *s, const struct placement *pl)
{
	g_string_append_printf(s, "placement: %s", pl->policy == PLACE_PACK ? "pack" : "spread");
	if (pl->reserve_memory_mib)
		g_string_append_printf(s, ", reserve %" G_GINT64_FORMAT " MiB", pl->reserve_memory_mib);
	if (pl->max_vcpu_ratio > 0)
		g_string_append_printf(s, ", at most %g vCPUs per host CPU", pl->max_vcpu_ratio);
	if (pl->anti_affinity->len)
		g_string_append_printf(s, ", %u anti-affinity group%s", pl->anti_affinity->len,
				       pl->anti_affinity->len == 1 ? "" : "s");
	g_string_append(s, " (hosts chosen at apply time)\n");
}

/* @t (unix seconds) as RFC 3339 in UTC; 0 (unset) as "-". */
static char *
utc_time(gint64 t)
{
	g_autoptr(GDateTime) dt = t ? g_date_time_new_from_unix_utc(t) : NULL;

	return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("-");
}

static void
append_window(GString *s, const struct window *w)
{
	g_autofree char *from = utc_time(w->not_before), *until = utc_time(w->not_after);

	g_string_append_printf(s, "window: %s .. %s; a migration starts only if its estimate ends by then (%" G_GINT64_FORMAT
			       " MiB/s until one is measured)\n", from, until, w->assumed_mib_s);
}

static void
render_text(const struct plan *plan, FILE *fp)
{
	GString *s = g_string_new(NULL);
	guint wave = 0;

	g_string_append_printf(s, "plan %s (%s)\n", plan->name, plan->path);
	g_string_append_printf(s, "%u migration%s over %u host%s in %u wave%s; at most %" G_GINT64_FORMAT
			       " at once\n", plan->order->len, plan->order->len == 1 ? "" : "s",
			       plan->hosts->len, plan->hosts->len == 1 ? "" : "s", plan->n_waves,
			       plan->n_waves == 1 ? "" : "s", plan->max_parallel);
	if (has_pool(plan))
		append_placement(s, &plan->placement);
	if (plan->window.at.line)
		append_window(s, &plan->window);
	for (guint i = 0; i < plan->order->len; i++) {
		const struct migration *m = plan->order->pdata[i];

		if (m->wave != wave) {
			wave = m->wave;
			g_string_append_printf(s, "\nwave %u\n", wave);
		}
		g_autofree char *to = target_label(m);

		g_string_append_printf(s, "  %u. %s: %s %s, %s -> %s%s, %s\n", i + 1, m->id,
				       m->vm ? "vm" : "vms matching", m->vm ? m->vm : m->match,
				       m->from->name, to, m->to ? "" : " (placed at apply)",
				       mode_name(m->set.mode));
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
		spill(s, fp, FALSE);
	}
	spill(s, fp, TRUE);
	g_string_free(s, TRUE);
}

/* "placement":{...},"window":{...}, : the plan-level keys of a run. */
static void
append_json_run(GString *s, const struct plan *plan)
{
	const struct placement *pl = &plan->placement;
	char num[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append(s, "\"placement\":{\"policy\":");
	json_append_string(s, pl->policy == PLACE_PACK ? "pack" : "spread");
	g_string_append_printf(s, ",\"reserve_memory_mib\":%" G_GINT64_FORMAT ",\"max_vcpu_ratio\":%s,\"anti_affinity\":[",
			       pl->reserve_memory_mib, g_ascii_dtostr(num, sizeof(num), pl->max_vcpu_ratio));
	for (guint i = 0; i < pl->anti_affinity->len; i++) {
		const struct affinity_group *g = pl->anti_affinity->pdata[i];

		g_string_append(s, i ? ",[" : "[");
		for (guint k = 0; k < g->patterns->len; k++) {
			if (k)
				g_string_append_c(s, ',');
			json_append_string(s, ((const struct shared_pattern *)g->patterns->pdata[k])->pattern);
		}
		g_string_append_c(s, ']');
	}
	g_string_append(s, "]},");
	if (plan->window.at.line) {
		g_autofree char *from = plan->window.not_before ? utc_time(plan->window.not_before) : NULL;
		g_autofree char *until = plan->window.not_after ? utc_time(plan->window.not_after) : NULL;

		g_string_append(s, "\"window\":{\"not_before\":");
		json_append_string(s, from);
		g_string_append(s, ",\"not_after\":");
		json_append_string(s, until);
		g_string_append_printf(s, ",\"assumed_mib_s\":%" G_GINT64_FORMAT "},", plan->window.assumed_mib_s);
	}
}

static void
render_json(const struct plan *plan, FILE *fp)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "{\"version\":%d,\"name\":", PLAN_VERSION);
	json_append_string(s, plan->name);
	g_string_append_printf(s, ",\"waves\":%u,", plan->n_waves);
	append_json_run(s, plan);
	g_string_append(s, "\"migrations\":[");
	for (guint i = 0; i < plan->order->len; i++) {
		const struct migration *m = plan->order->pdata[i];

		g_string_append(s, i ? ",{\"id\":" : "{\"id\":");
		json_append_string(s, m->id);
		g_string_append(s, m->vm ? ",\"vm\":" : ",\"match\":");
		json_append_string(s, m->vm ? m->vm : m->match);
		g_string_append(s, ",\"from\":");
		json_append_string(s, m->from->name);
		g_string_append(s, ",\"to\":");
		if (m->to)
			json_append_string(s, m->to->name);
		else
			g_string_append(s, "null");
		g_string_append(s, ",\"candidates\":[");
		for (guint h = 0; h < m->pool->len; h++) {
			if (h)
				g_string_append_c(s, ',');
			json_append_string(s, ((const struct host *)m->pool->pdata[h])->name);
		}
		g_string_append_c(s, ']');
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
		spill(s, fp, FALSE);
	}
	g_string_append(s, "]}\n");
	spill(s, fp, TRUE);
	g_string_free(s, TRUE);
}

/* DOT takes the same string escapes as JSON for what vmshift puts in
 * its labels; "\n" inside a label is DOT's own line break. */
static void
render_dot(const struct plan *plan, FILE *fp)
{
	GString *s = g_string_new("digraph ");

	json_append_string(s, plan->name);
	g_string_append(s, " {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
	for (guint i = 0; i < plan->order->len; i++) {
		const struct migration *m = plan->order->pdata[i];
		g_autofree char *to = target_label(m);
		g_autofree char *label = g_strdup_printf("%s\n%s -> %s (%s, wave %u)", m->id,
							 m->from->name, to,
							 mode_name(m->set.mode), m->wave);

		g_string_append(s, "  ");
		json_append_string(s, m->id);
		g_string_append(s, " [label=");
		json_append_string(s, label);
		g_string_append(s, "];\n");
		spill(s, fp, FALSE);
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
		spill(s, fp, FALSE);
	}
	g_string_append(s, "}\n");
	spill(s, fp, TRUE);
	g_string_free(s, TRUE);
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
cmd_plan(const struct cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum output out = OUT_TEXT;
	struct plan *plan;
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
				return cmd_usage_error(self, "--output must be text, json or dot, not '%s'", optarg);
			break;
		case 'h':
			return cmd_print_help(self);
		default:
			return cmd_usage_error(self, "bad option");
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error(self, "name exactly one plan file");

	if (!(plan = load_plan(argv[optind])))
		return EXIT_INVALID;
	if (out == OUT_JSON)
		render_json(plan, stdout);
	else if (out == OUT_DOT)
		render_dot(plan, stdout);
	else
		render_text(plan, stdout);
	plan_free(plan);
	return cmd_finish_stdout(EXIT_OK);
}
