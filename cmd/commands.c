/* commands.c: vmshift's commands, as data: names, usage and help.  Both
 * programs read it: vmshift (the planner's commands, cmd/main.c) and
 * vmshift-executor (the executor's, cmd/main_executor.c). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

const struct cmd cmd_table[] = {
	{ "validate", CMD_PLANNER, "[--output text|json|github] PLAN...", "check plans; print every error as FILE:LINE:COL",
	  "  -o, --output FORMAT  text (the default: FILE:LINE:COL: error: MESSAGE on stderr),\n"
	  "                       json (one document on stdout: schema/validate-output.schema.json),\n"
	  "                       github (GitHub Actions ::error annotations on stdout)\n"
	  "  Exit status 0 if every plan is valid, 2 if any is not.\n" },
	{ "plan", CMD_PLANNER, "PLAN [--output text|json|dot]",
	  "show the ordered migrations, their steps and waves",
	  "  -o, --output FORMAT  text (for people, the default), json (stable, for tools),\n"
	  "                       dot (the dependency graph, for 'dot -Tsvg')\n" },
	{ "apply", CMD_EXECUTOR,
	  "PLAN [--dry-run [--save FILE]] [--resolved FILE [--max-age DURATION]] [--state-dir DIR] [--only ID...]\n"
	  "               [--on-failure rollback|stop] [--now TIME] [--output text|json|markdown] [--events FILE]",
	  "run the plan's migrations (or, with --dry-run, show what they would do)",
	  "  -n, --dry-run            connect read-only, run every preflight check, show the steps,\n"
	  "                           files and the domain XML diff; change nothing, write no journal\n"
	  "      --save FILE          with --dry-run: write the resolved plan (the VMs match: found, their\n"
	  "                           UUIDs and XML sha256, the placement; docs/resolved-plan.md) to FILE\n"
	  "      --resolved FILE      run exactly that resolved plan: refuse (exit 2, every difference\n"
	  "                           listed) if the plan, the VMs, their XML or the placement differ now\n"
	  "      --max-age DURATION   how old the resolved plan may be (default 24h; 90s, 30m, 2h, 1d)\n"
	  "      --state-dir DIR      journal and saved XML (default: .vmshift/<plan name>/ beside the plan)\n"
	  "      --only ID...         only these migrations (ids as in the plan)\n"
	  "      --on-failure MODE    rollback (default: undo the failed migration's steps) or stop\n"
	  "      --accept-new-host-keys  add unknown SSH host keys to known_hosts (changed keys are refused)\n"
	  "  -o, --output FORMAT      text or json (the report on stdout; progress stays on stderr); with\n"
	  "                           --dry-run also json as in schema/dry-run.schema.json, or markdown\n"
	  "                           (a report for a pull-request comment)\n"
	  "  -q, --quiet              no progress lines\n"
	  "      --now TIME           the clock for the plan's window: (RFC 3339, for tests and rehearsals)\n"
	  "      --events FILE        one JSON object a line as things happen (docs/events.md); - for\n"
	  "                           stdout (not with --output json); not with --dry-run\n"
	  "  Exit status: 0 all done, 1 some migration failed or was deferred (window), 2 invalid plan or\n"
	  "  usage, 3 interrupted.\n" },
	{ "resume", CMD_EXECUTOR, "PLAN [--resolved FILE] [--state-dir DIR] [--on-failure rollback|stop] [--now TIME] [--output text|json] [--events FILE]",
	  "continue an interrupted, stopped or deferred run from its journal",
	  "  Refuses a plan whose unfinished migrations changed since the run began.\n"
	  "      --resolved FILE    must be the resolved plan the run began with (optional: the journal\n"
	  "                         keeps what it resolved and placed)\n"
	  "      --on-failure MODE  rollback (default) or stop, as for apply\n"
	  "      --now TIME         the clock for the plan's window: (RFC 3339)\n"
	  "      --events FILE      the event stream, as for apply\n" },
	{ "rollback", CMD_EXECUTOR, "PLAN [--only ID...] [--force] [--resolved FILE] [--state-dir DIR] [--output text|json] [--events FILE]",
	  "undo the completed steps of the named, or the failed, migrations (newest first)",
	  "      --resolved FILE  must be the resolved plan the run began with (optional)\n"
	  "      --only ID...   these migrations (default: every failed or interrupted one)\n"
	  "      --force        also roll back migrations that are done: stops the VM on the target,\n"
	  "                     discards its copied disks (and what it wrote since), restarts it on the source\n"
	  "      --events FILE  the event stream (undo steps, units, the run), as for apply\n" },
	{ "status", CMD_EXECUTOR, "PLAN [--state-dir DIR] [--output text|json]",
	  "what the journal says of each migration: pending, running, done, failed, rolled back", "" },
	{ "help", CMD_PLANNER, "[COMMAND]", "show help for vmshift or one command", "" },
};

const struct cmd *
cmd_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cmd_table); i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

void
cmd_print_overview(FILE *out)
{
	fprintf(out, "usage: vmshift COMMAND [ARGS]\n\n"
		     "Migrate KVM/libvirt virtual machines in batches from a reviewed YAML plan.\n\n"
		     "commands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(cmd_table); i++)
		fprintf(out, "  %-10s %s\n", cmd_table[i].name, cmd_table[i].summary);
	fprintf(out, "\n  vmshift --version     print the version\n"
		     "  vmshift help COMMAND  options of one command\n\n"
		     "exit status: 0 ok, 1 runtime failure, 2 invalid plan or usage, 3 interrupted (resumable)\n");
}
