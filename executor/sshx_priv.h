/* sshx_priv.h: what the sshx*.c files share (not for other callers: use
 * sshx.h).
 *
 * sshx.c		the session object: errors, free, accessors
 * sshx_connect.c	TCP connect, handshake, host keys, authentication
 * sshx_sftp.c		stat, realpath, read_head, mkdir_p, unlink, rename, ...
 * sshx_exec.c		remote commands (sshx_exec, sshx_remote_run)
 * sshx_copy.c		sshx_copy, sshx_copy_ranges
 * sshx_tree.c		sshx_owner, sshx_chown, sshx_list
 * sshx_direct.c		sshx_direct_probe, sshx_direct_copy (the source sends)
 * sshx_hash.c		sshx_sha256, sshx_digest, sshx_extents (remote reads)
 *
 * The layers call downwards only: copy -> sftp -> exec -> sshx.c, and
 * connect -> sshx.c.
 */
#ifndef VMSHIFT_SSHX_PRIV_H
#define VMSHIFT_SSHX_PRIV_H

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "sshx.h"

#define SSHX_KEEPALIVE_S	15

struct sshx {
	char *host;		/* as given */
	int port;
	char *user;
	char *label;		/* user@host[:port], for messages */
	gboolean read_only;
	gboolean key_added;	/* accept_new wrote a new known_hosts line */
	int timeout_ms;
	int fd;
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;	/* started on first use */
};

/* ---- sshx.c ---- */

/* libssh2's last error message for the session ("" if none). */
const char *sshx_ssh_msg(const struct sshx *s);
/* Set @err to "LABEL: WHAT: libssh2's message" for the libssh2 error @rc
 * (negative).  An SFTP status gets its text and a matching code.
 * Returns -1. */
int sshx_fail(struct sshx *s, int rc, GError **err, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* The SFTP status of the last failed call @rc, or -1 if not an SFTP one. */
long sshx_fx_of(struct sshx *s, int rc);
/* -1 with SSHX_ERROR_READ_ONLY if @s is read-only, else 0. */
int sshx_refuse_read_only(struct sshx *s, GError **err, const char *what, const char *path);

/* ---- sshx_sftp.c ---- */

/* The session's SFTP channel, started on first use; NULL with @err set. */
LIBSSH2_SFTP *sshx_get_sftp(struct sshx *s, GError **err);

/* ---- sshx_exec.c ---- */

/* sshx_exec() without the read-only check, for commands that only read
 * (sha256sum) or that a mutating call has checked already (mv). */
int sshx_remote_run(struct sshx *s, const char *const *argv, char **out, char **errout,
		    int *status, GError **err);
/* @argv as one line for the remote login shell, every word quoted with
 * g_shell_quote(); caller frees. */
char *sshx_command_line(const char *const *argv);
/* The same, handing @fn each line of stdout (without its newline) as it
 * comes; FALSE from @fn closes the channel (SSHX_ERROR_CANCELLED). */
typedef gboolean (*sshx_line_fn)(const char *line, gpointer ud);
int sshx_remote_lines(struct sshx *s, const char *const *argv, sshx_line_fn fn, gpointer ud, char **out,
		      char **errout, int *status, GError **err);

#endif
