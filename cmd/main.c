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

#include <yaml.h>

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

/* vmshift --version: ours and libyaml's; libvirt's and libssh2's are
 * vmshift-executor's to tell (it links them, vmshift does not): its
 * "vmshift-executor VERSION" line is checked and the rest appended. */
static int
print_version(void)
{
	g_autofree char *path = executor_path();
	g_autofree char *out = NULL;
	g_autoptr(GError) err = NULL;
	char *argv[] = { path, "--version", NULL };
	g_autofree char *want = g_strdup_printf("vmshift-executor %s\n", VMSHIFT_VERSION);
	int status = 0;

	printf("vmshift %s\nlibyaml %s\n", VMSHIFT_VERSION, yaml_get_version_string());
	if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
		printf("libvirt, libssh2: unknown (vmshift-executor not found at %s)\n", path);
	else if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &err))
		printf("libvirt, libssh2: unknown (cannot run %s: %s)\n", path, err->message);
	else if (!g_spawn_check_wait_status(status, NULL) || !g_str_has_prefix(out, "vmshift-executor "))
		printf("libvirt, libssh2: unknown (%s --version failed)\n", path);
	else if (!g_str_has_prefix(out, want))
		printf("libvirt, libssh2: unknown (%s is another version: %.*s)\n", path,
		       (int)strcspn(out, "\n"), out);
	else
		fputs(out + strlen(want), stdout);
	return cmd_finish_stdout(EXIT_OK);
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
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return print_version();
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
