/* main_executor.c: vmshift-executor, the program that runs the executor's
 * commands (apply, resume, rollback, status) for vmshift.  It is started
 * by vmshift with the same arguments; run by hand it behaves the same. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

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
	if (argc < 2 || !(c = cmd_lookup(argv[1])) || c->kind != CMD_EXECUTOR) {
		fprintf(stderr, "vmshift-executor: runs vmshift's apply, resume, rollback and status; see 'vmshift help'\n");
		return EXIT_INVALID;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(runs); i++)
		if (!strcmp(runs[i].name, c->name))
			return runs[i].run(c, argc - 1, argv + 1);
	return EXIT_INVALID;
}
