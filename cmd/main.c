/* main.c: vmshift: the planner's commands here, the executor's in
 * vmshift-executor (cmd/main_executor.c), so that validating and showing a
 * plan needs neither libvirt nor libssh2, and costs what they cost.
 * Commands are in cmd/commands.c. */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../planner/plan.h"


/* vmshift-executor: beside this program (a build tree, or an install
 * that keeps them together), else where make install puts it. */
static char *
executor_path(void)
{
	g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
	char *beside = dir ? g_build_filename(dir, "vmshift-executor", NULL) : NULL;

	if (beside && g_file_test(beside, G_FILE_TEST_IS_EXECUTABLE))
		return beside;
	g_free(beside);
	return g_build_filename(VMSHIFT_LIBEXECDIR, "vmshift-executor", NULL);
}

/* apply, resume, rollback, status: the same arguments, in vmshift-executor. */
static int
run_executor(char **argv)
{
	g_autofree char *path = executor_path();

	/* argv[0] stays vmshift's: ps, pkill -f and the operator see the
	 * command they typed */
	execv(path, argv);
	fprintf(stderr, "vmshift: cannot run %s (it runs %s): %s; reinstall vmshift\n", path, argv[1], g_strerror(errno));
	return EXIT_FAILED;
}

static int
cmd_help(const struct cmd *self, int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2) {
		cmd_print_overview(stdout);
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
		cmd_print_overview(stderr);
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
	if (c->kind == CMD_EXECUTOR)
		return run_executor(argv);
	if (!strcmp(c->name, "validate"))
		return cmd_validate(c, argc - 1, argv + 1);
	if (!strcmp(c->name, "plan"))
		return cmd_plan(c, argc - 1, argv + 1);
	return cmd_help(c, argc - 1, argv + 1);
}
