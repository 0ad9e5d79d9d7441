/* sshx: one libssh2 session to one host.  See sshx.h for the contract.
 *
 * This file: the session object (errors, free, accessors); the rest is in
 * sshx_connect.c, sshx_sftp.c, sshx_exec.c and sshx_copy.c (sshx_priv.h). */
#include <unistd.h>

#include "sshx_priv.h"

G_DEFINE_QUARK(sshx-error-quark, sshx_error)

/* ------------------------------------------------------------ errors */

static const char *
fx_text(unsigned long code)
{
	static const char *const text[] = {
		[LIBSSH2_FX_OK] = "ok",
		[LIBSSH2_FX_EOF] = "end of file",
		[LIBSSH2_FX_NO_SUCH_FILE] = "no such file or directory",
		[LIBSSH2_FX_PERMISSION_DENIED] = "permission denied",
		[LIBSSH2_FX_FAILURE] = "failure (the server gave no reason)",
		[LIBSSH2_FX_BAD_MESSAGE] = "bad message",
		[LIBSSH2_FX_NO_CONNECTION] = "no connection",
		[LIBSSH2_FX_CONNECTION_LOST] = "connection lost",
		[LIBSSH2_FX_OP_UNSUPPORTED] = "operation not supported by the server",
		[LIBSSH2_FX_INVALID_HANDLE] = "invalid handle",
		[LIBSSH2_FX_NO_SUCH_PATH] = "no such path",
		[LIBSSH2_FX_FILE_ALREADY_EXISTS] = "file already exists",
		[LIBSSH2_FX_WRITE_PROTECT] = "write-protected",
		[LIBSSH2_FX_NO_MEDIA] = "no media",
		[LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM] = "no space left on filesystem",
		[LIBSSH2_FX_QUOTA_EXCEEDED] = "quota exceeded",
		[LIBSSH2_FX_UNKNOWN_PRINCIPAL] = "unknown principal",
		[LIBSSH2_FX_LOCK_CONFLICT] = "lock conflict",
		[LIBSSH2_FX_DIR_NOT_EMPTY] = "directory not empty",
		[LIBSSH2_FX_NOT_A_DIRECTORY] = "not a directory",
		[LIBSSH2_FX_INVALID_FILENAME] = "invalid file name",
		[LIBSSH2_FX_LINK_LOOP] = "too many levels of symbolic links",
	};

	if (code < G_N_ELEMENTS(text) && text[code])
		return text[code];
	return "unknown SFTP status";
}

/* libssh2's last error message for the session ("" if none). */
const char *
sshx_ssh_msg(const struct sshx *s)
{
	char *msg = NULL;

	if (!s->session)
		return "";
	libssh2_session_last_error(s->session, &msg, NULL, 0);
	return msg ? msg : "";
}

/* Set @err to "LABEL: WHAT: libssh2's message" for the libssh2 error @rc
 * (negative).  An SFTP status gets its text and a matching code. */
int
sshx_fail(struct sshx *s, int rc, GError **err, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	g_autofree char *why = NULL;
	int code = SSHX_ERROR_FAILED;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);

	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && s->sftp) {
		unsigned long fx = libssh2_sftp_last_error(s->sftp);

		if (fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH)
			code = SSHX_ERROR_NOT_FOUND;
		else if (fx == LIBSSH2_FX_PERMISSION_DENIED || fx == LIBSSH2_FX_WRITE_PROTECT)
			code = SSHX_ERROR_PERMISSION;
		why = g_strdup_printf("%s (SFTP status %lu)", fx_text(fx), fx);
	} else {
		if (rc == LIBSSH2_ERROR_TIMEOUT)
			code = SSHX_ERROR_TIMEOUT;
		why = g_strdup_printf("%s (libssh2 error %d)", sshx_ssh_msg(s), rc);
	}
	g_set_error(err, SSHX_ERROR, code, "%s: %s: %s", s->label, what, why);
	return -1;
}

/* The SFTP status of the last failed call @rc, or -1 if not an SFTP one. */
long
sshx_fx_of(struct sshx *s, int rc)
{
	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || !s->sftp)
		return -1;
	return (long)libssh2_sftp_last_error(s->sftp);
}

int
sshx_refuse_read_only(struct sshx *s, GError **err, const char *what, const char *path)
{
	if (!s->read_only)
		return 0;
	g_set_error(err, SSHX_ERROR, SSHX_ERROR_READ_ONLY,
		    "%s: refusing to %s '%s': session is read-only (dry run)", s->label, what, path);
	return -1;
}

void
sshx_free(struct sshx *s)
{
	if (!s)
		return;
	if (s->session) {
		/* A dead peer must not hold us for a whole timeout. */
		libssh2_session_set_timeout(s->session, 2000);
		if (s->sftp)
			libssh2_sftp_shutdown(s->sftp);
		libssh2_session_disconnect(s->session, "vmshift: done");
		libssh2_session_free(s->session);
	}
	if (s->fd >= 0)
		close(s->fd);
	g_free(s->host);
	g_free(s->user);
	g_free(s->label);
	g_free(s);
}

const char *
sshx_host(const struct sshx *s)
{
	return s->host;
}

const char *
sshx_label(const struct sshx *s)
{
	return s->label;
}

gboolean
sshx_host_key_added(const struct sshx *s)
{
	return s->key_added;
}
