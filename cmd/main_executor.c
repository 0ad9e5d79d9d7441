/* main_executor.c: vmshift-executor, the program that runs the executor's
 * commands (apply, resume, rollback, status) for vmshift.  It is started
 * by vmshift with the same arguments; run by hand it behaves the same. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <libssh2.h>
#include <libvirt/libvirt.h>

#include "cmd.h"

/* vmshift-executor --version: the libraries it runs with, as loaded (not
 * as built); vmshift --version prints these lines after its own. */
static int
print_version(void)
{
	unsigned long v = 0;

	printf("vmshift-executor %s\n", VMSHIFT_VERSION);
	if (virGetVersion(&v, NULL, NULL) == 0)
		printf("libvirt %lu.%lu.%lu\n", v / 1000000, v / 1000 % 1000, v % 1000);
	else
		printf("libvirt unknown\n");
	printf("libssh2 %s\n", libssh2_version(0));
	return cmd_finish_stdout(EXIT_OK);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct cmd *self, int argc, char **argv);
	} runs[] = {
		{ "apply", cmd_apply }, { "resume", cmd_resume }, { "rollback", cmd_rollback }, { "status", cmd_status },
	};
	const struct cmd *c;

	setlocale(LC_ALL, "");
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")))
		return print_version();
	if (argc < 2 || !(c = cmd_lookup(argv[1])) || c->kind != CMD_EXECUTOR) {
		fprintf(stderr, "vmshift-executor: runs vmshift's apply, resume, rollback and status; see 'vmshift help'\n");
		return EXIT_INVALID;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(runs); i++)
		if (!strcmp(runs[i].name, c->name))
			return runs[i].run(c, argc - 1, argv + 1);
	return EXIT_INVALID;
}
