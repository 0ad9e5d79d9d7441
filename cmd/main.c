/* main.c: vmshift's command table and dispatch. */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "../planner/plan.h"

static int cmd_help(const struct cmd *c, int argc, char **argv);

static const struct cmd commands[] = {
	{ "validate", cmd_validate, "PLAN...", "check plans; print every error as FILE:LINE:COL",
	  "  Exit status 0 if every plan is valid, 2 if any is not.\n" },
	{ "plan", cmd_plan, "PLAN [--output text|json|dot]",
	  "show the ordered migrations, their steps and waves",
	  "  -o, --output FORMAT  text (for people, the default), json (stable, for tools),\n"
	  "                       dot (the dependency graph, for 'dot -Tsvg')\n" },
	{ "apply", cmd_apply,
	  "PLAN [--dry-run] [--state-dir DIR] [--only ID...] [--on-failure rollback|stop] [--output text|json]",
	  "run the plan's migrations (or, with --dry-run, show what they would do)",
	  "  -n, --dry-run            connect read-only, run every preflight check, show the steps,\n"
	  "                           files and the domain XML diff; change nothing, write no journal\n"
	  "      --state-dir DIR      journal and saved XML (default: .vmshift/<plan name>/ beside the plan)\n"
	  "      --only ID...         only these migrations (ids as in the plan)\n"
	  "      --on-failure MODE    rollback (default: undo the failed migration's steps) or stop\n"
	  "      --accept-new-host-keys  add unknown SSH host keys to known_hosts (changed keys are refused)\n"
	  "  -o, --output FORMAT      text or json (the report on stdout; progress stays on stderr)\n"
	  "  -q, --quiet              no progress lines\n"
	  "  Exit status: 0 all done, 1 some migration failed, 2 invalid plan or usage, 3 interrupted.\n" },
	{ "resume", cmd_resume, "PLAN [--state-dir DIR] [--output text|json]",
	  "continue an interrupted or stopped run from its journal",
	  "  Refuses a plan whose unfinished migrations changed since the run began.\n" },
	{ "rollback", cmd_rollback, "PLAN [--only ID...] [--force] [--state-dir DIR] [--output text|json]",
	  "undo the completed steps of the named, or the failed, migrations (newest first)",
	  "      --only ID...   these migrations (default: every failed or interrupted one)\n"
	  "      --force        also roll back migrations that are done: stops the VM on the target,\n"
	  "                     discards its copied disks (and what it wrote since), restarts it on the source\n" },
	{ "status", cmd_status, "PLAN [--state-dir DIR] [--output text|json]",
	  "what the journal says of each migration: pending, running, done, failed, rolled back", "" },
	{ "help", cmd_help, "[COMMAND]", "show help for vmshift or one command", "" },
};

static const struct cmd *
cmd_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
print_overview(FILE *out)
{
	fprintf(out, "usage: vmshift COMMAND [ARGS]\n\n"
		     "Migrate KVM/libvirt virtual machines in batches from a reviewed YAML plan.\n\n"
		     "commands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n  vmshift --version     print the version\n"
		     "  vmshift help COMMAND  options of one command\n\n"
		     "exit status: 0 ok, 1 runtime failure, 2 invalid plan or usage, 3 interrupted (resumable)\n");
}

static int
cmd_help(const struct cmd *self, int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2) {
		print_overview(stdout);
		return cmd_finish_stdout(EXIT_OK);
	}
	if (!(c = cmd_lookup(argv[1])))
		return cmd_usage_error(self, "unknown command '%s'", argv[1]);
	return cmd_print_help(c);
}

int
main(int argc, char **argv)
{
	const struct cmd *c;

	setlocale(LC_ALL, "");
	if (argc < 2) {
		print_overview(stderr);
		return EXIT_INVALID;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("vmshift %s\n", VMSHIFT_VERSION);
		return cmd_finish_stdout(EXIT_OK);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(cmd_lookup("help"), 1, argv);
	if (!(c = cmd_lookup(argv[1]))) {
		fprintf(stderr, "vmshift: unknown command '%s'; see 'vmshift help'\n", argv[1]);
		return EXIT_INVALID;
	}
	return c->run(c, argc - 1, argv + 1);
}
