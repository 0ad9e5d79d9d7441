/* sshx_copy.c: sshx_copy(), a resumable SFTP copy between two sessions
 * (or within one), and sshx_sha256(), the remote hash that checks one. */
#include <string.h>

#include "sshx_priv.h"

#define SSHX_FSYNC_TIMEOUT_S	1800	/* fsync of a just-written disk image */
#define SSHX_COPY_CHUNK		(256 * 1024)

int
sshx_sha256(struct sshx *s, const char *path, char out[65], GError **err)
{
	/* Read-only sessions may do this: sha256sum only reads. */
	const char *argv[] = { "sha256sum", "--", path, NULL };
	g_autofree char *o = NULL, *e = NULL;
	const char *p;
	int status = 0;

	if (sshx_remote_run(s, argv, &o, &e, &status, err) < 0)
		return -1;
	if (status != 0) {
		g_set_error(err, SSHX_ERROR,
			    strstr(e, "No such file") ? SSHX_ERROR_NOT_FOUND : SSHX_ERROR_COMMAND,
			    "%s: sha256sum '%s' failed with exit status %d: %s", s->label, path,
			    status, g_strstrip(e));
		return -1;
	}
	/* "HASH  NAME\n", or "\HASH  NAME-escaped\n" for a name with \ or \n */
	p = o[0] == '\\' ? o + 1 : o;
	for (int i = 0; i < 64; i++) {
		if (!g_ascii_isxdigit(p[i]) || g_ascii_isupper(p[i]))
			goto bad;
	}
	if (p[64] != ' ')
		goto bad;
	memcpy(out, p, 64);
	out[64] = '\0';
	return 0;
bad:
	g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND,
		    "%s: sha256sum '%s': unexpected output '%.100s'", s->label, path,
		    g_strstrip(o));
	return -1;
}

/* ------------------------------------------------------------ copy */

gint64
sshx_copy(struct sshx *src, const char *src_path, struct sshx *dst, const char *dst_path,
	  guint64 offset, sshx_progress_fn progress, gpointer ud, GError **err)
{
	LIBSSH2_SFTP_HANDLE *sh = NULL, *dh = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;
	g_autofree char *buf = NULL;
	guint64 total = 0, copied = 0, dst_before = 0;
	unsigned long perms = 0600, flags;
	gint64 ret = -1;
	int rc;

	if (sshx_refuse_read_only(dst, err, "write", dst_path) < 0 || !sshx_get_sftp(src, err) ||
	    !sshx_get_sftp(dst, err))
		return -1;
	sh = libssh2_sftp_open_ex(src->sftp, src_path, (unsigned int)strlen(src_path),
				  LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (!sh) {
		sshx_fail(src, libssh2_session_last_errno(src->session), err, "copy: open source '%s'",
			  src_path);
		goto out;
	}
	memset(&a, 0, sizeof(a));
	rc = libssh2_sftp_fstat(sh, &a);
	if (rc != 0) {
		sshx_fail(src, rc, err, "copy: fstat source '%s'", src_path);
		goto out;
	}
	if (a.flags & LIBSSH2_SFTP_ATTR_SIZE)
		total = a.filesize;
	if (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)
		perms = a.permissions & 0777;
	if (offset > total) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
			    "%s: copy '%s': resume offset %" G_GUINT64_FORMAT " is past the end "
			    "of the source (%" G_GUINT64_FORMAT " bytes)", src->label, src_path,
			    offset, total);
		goto out;
	}
	/* Resume: the partial file must exist (no O_CREAT) and be kept. */
	flags = LIBSSH2_FXF_WRITE | (offset ? 0 : LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC);
	dh = libssh2_sftp_open_ex(dst->sftp, dst_path, (unsigned int)strlen(dst_path), flags,
				  (long)perms, LIBSSH2_SFTP_OPENFILE);
	if (!dh) {
		sshx_fail(dst, libssh2_session_last_errno(dst->session), err,
			  "copy: open destination '%s'%s", dst_path,
			  offset ? " to resume" : "");
		goto out;
	}
	if (offset) {
		memset(&a, 0, sizeof(a));
		rc = libssh2_sftp_fstat(dh, &a);
		if (rc != 0) {
			sshx_fail(dst, rc, err, "copy: fstat destination '%s'", dst_path);
			goto out;
		}
		dst_before = a.filesize;
		if (dst_before < offset) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
				    "%s: copy: cannot resume '%s' at %" G_GUINT64_FORMAT ": it has "
				    "only %" G_GUINT64_FORMAT " bytes", dst->label, dst_path, offset,
				    dst_before);
			goto out;
		}
		libssh2_sftp_seek64(sh, offset);
		libssh2_sftp_seek64(dh, offset);
	}
	buf = g_malloc(SSHX_COPY_CHUNK);
	for (;;) {
		/* Returns less than asked without being at the end: only 0 is EOF. */
		ssize_t n = libssh2_sftp_read(sh, buf, SSHX_COPY_CHUNK);
		ssize_t done = 0;

		if (n < 0) {
			sshx_fail(src, (int)n, err, "copy: read '%s' at %" G_GUINT64_FORMAT, src_path,
				  offset + copied);
			goto out;
		}
		if (n == 0)
			break;
		while (done < n) {
			/* May also take less than given: write the rest again. */
			ssize_t w = libssh2_sftp_write(dh, buf + done, (size_t)(n - done));

			if (w < 0) {
				sshx_fail(dst, (int)w, err, "copy: write '%s' at %" G_GUINT64_FORMAT,
					  dst_path, offset + copied + (guint64)done);
				goto out;
			}
			done += w;
		}
		copied += (guint64)n;
		if (progress && !progress(offset + copied, total, ud)) {
			/* what is written stays: a resumed copy starts there */
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_CANCELLED,
				    "%s: copy '%s' to '%s': stopped at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
				    dst->label, src_path, dst_path, offset + copied, total);
			goto out;
		}
	}
	if (dst_before > offset + copied) {
		/* A stale tail from a longer earlier attempt. */
		memset(&a, 0, sizeof(a));
		a.flags = LIBSSH2_SFTP_ATTR_SIZE;
		a.filesize = offset + copied;
		rc = libssh2_sftp_fsetstat(dh, &a);
		if (rc != 0) {
			sshx_fail(dst, rc, err, "copy: truncate '%s'", dst_path);
			goto out;
		}
	}
	/* the server flushes the whole file first: gigabytes of dirty pages
	 * can take far longer than one ordinary blocking call */
	libssh2_session_set_timeout(dst->session, SSHX_FSYNC_TIMEOUT_S * 1000);
	rc = libssh2_sftp_fsync(dh);
	libssh2_session_set_timeout(dst->session, dst->timeout_ms);
	if (rc != 0 && sshx_fx_of(dst, rc) != (long)LIBSSH2_FX_OP_UNSUPPORTED) {
		sshx_fail(dst, rc, err, "copy: fsync '%s'", dst_path);
		goto out;
	}
	rc = libssh2_sftp_close_handle(dh);
	dh = NULL;
	if (rc != 0) {
		sshx_fail(dst, rc, err, "copy: close '%s'", dst_path);
		goto out;
	}
	ret = (gint64)copied;
out:
	if (dh)
		libssh2_sftp_close_handle(dh);
	if (sh)
		libssh2_sftp_close_handle(sh);
	return ret;
}
