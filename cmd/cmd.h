/* cmd.h: what the subcommands share.  Only cmd/ prints and picks exit
 * codes; planner/ and executor/ report through their out-parameters. */
#ifndef VMSHIFT_CMD_H
#define VMSHIFT_CMD_H

#include <glib.h>

#include "../planner/diag.h"

#define VMSHIFT_VERSION "0.1.0"

enum exit_code {
	EXIT_OK = 0,		/* all done */
	EXIT_FAILED = 1,	/* a runtime failure: a migration failed, a host unreachable */
	EXIT_INVALID = 2,	/* invalid plan or usage */
	EXIT_INTERRUPTED = 3,	/* stopped part way; resumable */
};

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;	/* after "vmshift NAME " */
	const char *summary;
	const char *help;	/* the options, for "vmshift help NAME" */
};

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* Print a usage error for @name and return EXIT_INVALID. */
int cmd_usage_error(const char *name, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* "vmshift help NAME" on stdout. */
int cmd_print_help(const char *name);
/* plan_load() @path; on failure its errors are printed (exit EXIT_INVALID). */
struct plan *cmd_load_plan(const char *path);
/* Print @dg to stderr. */
void cmd_print_diags(struct diags *dg);
/* Flush stdout and report a write error (full disk, closed pipe). */
int cmd_finish_stdout(int rc);

#endif
