/* cmd_validate.c: vmshift validate [--output text|json|github] PLAN...
 *
 * text (the default): "FILE: ok: ..." or "FILE:LINE:COL: error: MSG" lines
 * on stderr, nothing on stdout.  json: one document on stdout, the format
 * in the README ("Validating in CI") and
 * schema/validate-output.schema.json.
 * github: GitHub Actions workflow commands ("::error file=F,line=L,col=C::MSG")
 * on stdout, so that a CI job's errors show on the pull request's lines.
 * The exit status is the same in all three: 0 all valid, 2 any invalid. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "../planner/plan.h"

enum output { OUT_TEXT, OUT_JSON, OUT_GITHUB };

/* Bumped only when a key changes meaning or goes away. */
#define VALIDATE_JSON_VERSION 1

static void
print_ok_line(FILE *fp, const char *path, const struct plan *plan)
{
	fprintf(fp, "%s: ok: plan '%s', %u host%s, %u migration%s in %u wave%s\n", path,
		plan->name, plan->hosts->len, plan->hosts->len == 1 ? "" : "s",
		plan->migrations->len, plan->migrations->len == 1 ? "" : "s",
		plan->n_waves, plan->n_waves == 1 ? "" : "s");
}

/* @s as a JSON string; a path (or a message quoting one) need not be
 * UTF-8, JSON must: invalid bytes become U+FFFD. */
static void
append_json_text(GString *s, const char *text)
{
	g_autofree char *valid = text ? g_utf8_make_valid(text, -1) : NULL;

	json_append_string(s, valid);
}

/* One file's object; keys in a fixed order: file, valid, plan, errors,
 * errors_not_shown. */
static void
append_json_file(GString *s, const struct diags *dg, const struct plan *plan)
{
	g_string_append(s, "  {\"file\": ");
	append_json_text(s, dg->file);
	g_string_append_printf(s, ", \"valid\": %s, \"plan\": ", plan ? "true" : "false");
	append_json_text(s, plan ? plan->name : NULL);
	g_string_append(s, ", \"errors\": [");
	for (guint i = 0; i < dg->items->len; i++) {
		const struct diag *d = dg->items->pdata[i];

		g_string_append(s, i ? ",\n    {" : "\n    {");
		g_string_append(s, "\"file\": ");
		append_json_text(s, dg->file);
		/* line 0 is "about the whole file": no position */
		if (d->at.line)
			g_string_append_printf(s, ", \"line\": %u, \"column\": %u", d->at.line, d->at.col);
		else
			g_string_append(s, ", \"line\": null, \"column\": null");
		g_string_append(s, ", \"message\": ");
		append_json_text(s, d->msg);
		g_string_append_c(s, '}');
	}
	g_string_append(s, dg->items->len ? "\n  ]" : "]");
	g_string_append_printf(s, ", \"errors_not_shown\": %u}", dg->dropped);
}

/* GitHub's workflow-command escaping: the message escapes '%', CR and LF;
 * a property value escapes ':' and ',' too (they delimit properties). */
static void
append_gh_escaped(GString *s, const char *text, gboolean property)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '%':
			g_string_append(s, "%25");
			break;
		case '\r':
			g_string_append(s, "%0D");
			break;
		case '\n':
			g_string_append(s, "%0A");
			break;
		case ':':
			g_string_append(s, property ? "%3A" : ":");
			break;
		case ',':
			g_string_append(s, property ? "%2C" : ",");
			break;
		default:
			g_string_append_c(s, *p);
		}
	}
}

static void
append_gh_error(GString *s, const char *file, guint line, guint col, const char *msg)
{
	g_string_append(s, "::error file=");
	append_gh_escaped(s, file, TRUE);
	if (line)
		g_string_append_printf(s, ",line=%u,col=%u", line, col);
	g_string_append(s, "::");
	append_gh_escaped(s, msg, FALSE);
	g_string_append_c(s, '\n');
}

static void
append_github(GString *s, const struct diags *dg)
{
	for (guint i = 0; i < dg->items->len; i++) {
		const struct diag *d = dg->items->pdata[i];

		append_gh_error(s, dg->file, d->at.line, d->at.col, d->msg);
	}
	if (dg->dropped) {
		g_autofree char *msg = g_strdup_printf("%u more errors not shown (the first %d are listed)",
						       dg->dropped, DIAG_MAX);

		append_gh_error(s, dg->file, 0, 0, msg);
	}
}

static int
parse_output(const struct cmd *self, const char *arg, enum output *out)
{
	if (!strcmp(arg, "text"))
		*out = OUT_TEXT;
	else if (!strcmp(arg, "json"))
		*out = OUT_JSON;
	else if (!strcmp(arg, "github"))
		*out = OUT_GITHUB;
	else
		return cmd_usage_error(self, "unknown --output '%s'; use text, json or github", arg);
	return EXIT_OK;
}

int
cmd_validate(const struct cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum output out = OUT_TEXT;
	g_autoptr(GString) s = g_string_new(NULL);
	gboolean all_valid = TRUE;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (ch == 'h')
			return cmd_print_help(self);
		if (ch != 'o')
			return cmd_usage_error(self, "bad option");
		if (parse_output(self, optarg, &out) != EXIT_OK)
			return EXIT_INVALID;
	}
	if (optind >= argc)
		return cmd_usage_error(self, "name at least one plan file");
	if (out == OUT_JSON)
		g_string_append_printf(s, "{\"version\": %d, \"files\": [", VALIDATE_JSON_VERSION);
	for (int i = optind; i < argc; i++) {
		struct diags dg;
		struct plan *plan;

		diags_init(&dg, argv[i]);
		plan = plan_load(argv[i], &dg);
		diags_sort(&dg);
		if (!plan)
			all_valid = FALSE;
		if (out == OUT_JSON) {
			g_string_append(s, i > optind ? ",\n" : "\n");
			append_json_file(s, &dg, plan);
		} else if (out == OUT_GITHUB) {
			append_github(s, &dg);
		}
		/* text and github: a confirmation line on stderr for a valid
		 * plan; text: the errors there too */
		if (plan && out != OUT_JSON)
			print_ok_line(stderr, argv[i], plan);
		else if (!plan && out == OUT_TEXT)
			cmd_print_diags(&dg);
		plan_free(plan);
		diags_release(&dg);
		/* output as it comes, for a long list of plans */
		fputs(s->str, stdout);
		g_string_truncate(s, 0);
	}
	if (out == OUT_JSON)
		printf("\n], \"valid\": %s}\n", all_valid ? "true" : "false");
	return cmd_finish_stdout(all_valid ? EXIT_OK : EXIT_INVALID);
}
