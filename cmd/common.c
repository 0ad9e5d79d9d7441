/* common.c: what the subcommands share: usage errors, help, loading a
 * plan, printing diagnostics, finishing stdout.  Below the subcommands
 * and main.c's table: it calls none of them. */
#include <stdarg.h>
#include <stdio.h>

#include "cmd.h"
#include "../planner/plan.h"

int
cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmshift %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fprintf(stderr, "usage: vmshift %s %s\n", c->name, c->usage);
	return EXIT_INVALID;
}

int
cmd_print_help(const struct cmd *c)
{
	printf("usage: vmshift %s %s\n\n%s\n\n%s", c->name, c->usage, c->summary, c->help);
	return cmd_finish_stdout(EXIT_OK);
}

void
cmd_print_diags(struct diags *dg)
{
	g_autofree char *text = NULL;

	diags_sort(dg);
	text = diags_format(dg);
	fputs(text, stderr);
}

struct plan *
cmd_load_plan(const char *path)
{
	struct diags dg;
	struct plan *plan;

	diags_init(&dg, path);
	if (!(plan = plan_load(path, &dg)))
		cmd_print_diags(&dg);
	diags_release(&dg);
	return plan;
}

int
cmd_finish_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("vmshift: cannot write the output");
		return rc == EXIT_OK ? EXIT_FAILED : rc;
	}
	return rc;
}
