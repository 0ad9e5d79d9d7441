/* sshx_exec.c: remote commands over an SSH channel (sshx_exec). */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "sshx_priv.h"

#define SSHX_EXEC_MAX_OUTPUT	(64u * 1024 * 1024)

/* ------------------------------------------------------------ exec */

char *
sshx_command_line(const char *const *argv)
{
	GString *s = g_string_new(NULL);

	for (const char *const *a = argv; *a; a++) {
		g_autofree char *q = g_shell_quote(*a);

		if (s->len)
			g_string_append_c(s, ' ');
		g_string_append(s, q);
	}
	return g_string_free(s, FALSE);
}

/* Wait until the socket can move in the direction libssh2 is blocked on. */
static int
wait_socket(struct sshx *s, int timeout_ms)
{
	int dir = libssh2_session_block_directions(s->session);
	struct pollfd p = { .fd = s->fd };
	int rc;

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (!p.events)
		p.events = POLLIN;
	rc = poll(&p, 1, timeout_ms);
	return rc < 0 && errno == EINTR ? 0 : rc;
}

/* Hand the complete lines of @o past *@at to @fn; FALSE if it said stop. */
static gboolean
feed_lines(GString *o, gsize *at, sshx_line_fn fn, gpointer ud)
{
	char *nl;

	while ((nl = memchr(o->str + *at, '\n', o->len - *at))) {
		*nl = '\0';
		if (!fn(o->str + *at, ud)) {
			*nl = '\n';
			return FALSE;
		}
		*nl = '\n';
		*at = (gsize)(nl - o->str) + 1;
	}
	return TRUE;
}

/* Read stdout and stderr together: reading one stream to its end in
 * blocking mode while the other fills the channel window would hang.
 * @fn (may be NULL) gets each line of stdout as it comes. */
static int
remote_drain(struct sshx *s, LIBSSH2_CHANNEL *ch, const char *cmd, GString *o, GString *e,
	     sshx_line_fn fn, gpointer ud, GError **err)
{
	char buf[32768];
	gsize at = 0;
	int rc = -1;

	libssh2_session_set_blocking(s->session, 0);
	for (;;) {
		ssize_t n[2];
		GString *dst[2] = { o, e };
		gboolean got = FALSE, eof = TRUE;

		for (int i = 0; i < 2; i++) {
			n[i] = libssh2_channel_read_ex(ch, i, buf, sizeof(buf));
			if (n[i] > 0) {
				got = TRUE;
				if (dst[i]->len + (gsize)n[i] > SSHX_EXEC_MAX_OUTPUT) {
					g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND,
						    "%s: command '%s': more than %u bytes of output",
						    s->label, cmd, SSHX_EXEC_MAX_OUTPUT);
					goto out;
				}
				g_string_append_len(dst[i], buf, n[i]);
				if (i == 0 && fn && !feed_lines(o, &at, fn, ud)) {
					g_set_error(err, SSHX_ERROR, SSHX_ERROR_CANCELLED, "%s: command '%.60s...' stopped",
						    s->label, cmd);
					goto out;
				}
			} else if (n[i] < 0 && n[i] != LIBSSH2_ERROR_EAGAIN) {
				sshx_fail(s, (int)n[i], err, "command '%s': read", cmd);
				goto out;
			}
			if (n[i] != 0)
				eof = FALSE;
		}
		if (got)
			continue;
		if (eof || libssh2_channel_eof(ch))
			break;
		if (wait_socket(s, SSHX_KEEPALIVE_S * 1000) == 0) {
			int next = 0;

			libssh2_keepalive_send(s->session, &next);
		}
	}
	rc = 0;
out:
	libssh2_session_set_blocking(s->session, 1);
	return rc;
}

int
sshx_remote_run(struct sshx *s, const char *const *argv, char **out, char **errout, int *status,
		GError **err)
{
	return sshx_remote_lines(s, argv, NULL, NULL, out, errout, status, err);
}

int
sshx_remote_lines(struct sshx *s, const char *const *argv, sshx_line_fn fn, gpointer ud, char **out,
		  char **errout, int *status, GError **err)
{
	g_autofree char *line = NULL;
	g_autoptr(GString) o = g_string_new(NULL);
	g_autoptr(GString) e = g_string_new(NULL);
	LIBSSH2_CHANNEL *ch = NULL;
	char *signame = NULL;
	size_t siglen = 0;
	int rc, code, ret = -1;

	if (!argv || !argv[0]) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED, "%s: exec: empty command", s->label);
		return -1;
	}
	line = sshx_command_line(argv);
	ch = libssh2_channel_open_session(s->session);
	if (!ch)
		return sshx_fail(s, libssh2_session_last_errno(s->session), err,
				 "command '%s': cannot open a channel", line);
	rc = libssh2_channel_exec(ch, line);
	if (rc != 0) {
		sshx_fail(s, rc, err, "command '%s': cannot start", line);
		goto out;
	}
	rc = libssh2_channel_send_eof(ch);
	if (rc != 0) {
		sshx_fail(s, rc, err, "command '%s': cannot close its stdin", line);
		goto out;
	}
	if (remote_drain(s, ch, line, o, e, fn, ud, err) < 0)
		goto out;
	rc = libssh2_channel_close(ch);
	if (rc == 0)
		rc = libssh2_channel_wait_closed(ch);
	if (rc != 0) {
		sshx_fail(s, rc, err, "command '%s': closing the channel", line);
		goto out;
	}
	/* get_exit_status() says 0 when there was no exit-status message
	 * (killed by a signal): look for a signal first. */
	rc = libssh2_channel_get_exit_signal(ch, &signame, &siglen, NULL, NULL, NULL, NULL);
	if (rc == 0 && signame) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND,
			    "%s: command '%s' killed by signal %s: %s", s->label, line,
			    signame, g_strstrip(e->str));
		goto out;
	}
	code = libssh2_channel_get_exit_status(ch);
	if (!status && code != 0) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND,
			    "%s: command '%s' failed with exit status %d: %s", s->label, line,
			    code, g_strstrip(e->str));
		goto out;
	}
	if (status)
		*status = code;
	if (out)
		*out = g_string_free(g_steal_pointer(&o), FALSE);
	if (errout)
		*errout = g_string_free(g_steal_pointer(&e), FALSE);
	ret = 0;
out:
	if (signame)
		libssh2_free(s->session, signame);
	libssh2_channel_free(ch);
	return ret;
}

int
sshx_exec(struct sshx *s, const char *const *argv, char **out, char **errout, int *status,
	  GError **err)
{
	if (sshx_refuse_read_only(s, err, "run", argv && argv[0] ? argv[0] : "(nothing)") < 0)
		return -1;
	return sshx_remote_run(s, argv, out, errout, status, err);
}

int
sshx_exec_read(struct sshx *s, const char *const *argv, char **out, char **errout, int *status, GError **err)
{
	return sshx_remote_run(s, argv, out, errout, status, err);
}
