/* cmd_validate.c: vmshift validate PLAN... */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "../planner/plan.h"

int
cmd_validate(const struct cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int rc = EXIT_OK, ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h')
			return cmd_print_help(self);
		return cmd_usage_error(self, "bad option");
	}
	if (optind >= argc)
		return cmd_usage_error(self, "name at least one plan file");
	for (int i = optind; i < argc; i++) {
		struct diags dg;
		struct plan *plan;

		diags_init(&dg, argv[i]);
		plan = plan_load(argv[i], &dg);
		if (plan) {
			fprintf(stderr, "%s: ok: plan '%s', %u host%s, %u migration%s in %u wave%s\n", argv[i],
				plan->name, plan->hosts->len, plan->hosts->len == 1 ? "" : "s",
				plan->migrations->len, plan->migrations->len == 1 ? "" : "s",
				plan->n_waves, plan->n_waves == 1 ? "" : "s");
		} else {
			cmd_print_diags(&dg);
			rc = EXIT_INVALID;
		}
		plan_free(plan);
		diags_release(&dg);
	}
	return rc;
}
