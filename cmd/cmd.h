/* cmd.h: what the subcommands share.  Only cmd/ prints and picks exit
 * codes; planner/ and executor/ report through their out-parameters. */
#ifndef VMSHIFT_CMD_H
#define VMSHIFT_CMD_H

#include <glib.h>
#include <stdio.h>

#include "../planner/diag.h"

#define VMSHIFT_VERSION "0.1.0"

enum exit_code {
	EXIT_OK = 0,		/* all done */
	EXIT_FAILED = 1,	/* a runtime failure: a migration failed, a host unreachable */
	EXIT_INVALID = 2,	/* invalid plan or usage */
	EXIT_INTERRUPTED = 3,	/* stopped part way; resumable */
};

/* Which program runs a command: vmshift itself, or vmshift-executor
 * (libvirt and libssh2 are loaded only there). */
enum cmd_kind { CMD_PLANNER, CMD_EXECUTOR };

#ifndef VMSHIFT_LIBEXECDIR
#define VMSHIFT_LIBEXECDIR "/usr/local/libexec/vmshift"
#endif

struct cmd {
	const char *name;
	enum cmd_kind kind;
	const char *usage;	/* after "vmshift NAME " */
	const char *summary;
	const char *help;	/* the options, for "vmshift help NAME" */
};

int cmd_validate(const struct cmd *self, int argc, char **argv);
int cmd_plan(const struct cmd *self, int argc, char **argv);
int cmd_apply(const struct cmd *self, int argc, char **argv);
int cmd_resume(const struct cmd *self, int argc, char **argv);
int cmd_rollback(const struct cmd *self, int argc, char **argv);
int cmd_status(const struct cmd *self, int argc, char **argv);

/* commands.c */
extern const struct cmd cmd_table[];
const struct cmd *cmd_lookup(const char *name);	/* NULL if none */
void cmd_print_overview(FILE *out);

/* common.c: a usage error for @c, and EXIT_INVALID. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* "vmshift help NAME" on stdout. */
int cmd_print_help(const struct cmd *c);
/* plan_load() @path; on failure its errors are printed (exit EXIT_INVALID). */
struct plan *cmd_load_plan(const char *path);
/* Print @dg to stderr. */
void cmd_print_diags(struct diags *dg);
/* Flush stdout and report a write error (full disk, closed pipe). */
int cmd_finish_stdout(int rc);

#endif
