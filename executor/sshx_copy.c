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

/* One sshx_copy() call: its arguments, its handles, what it found out. */
struct copy {
	struct sshx *src, *dst;
	const char *src_path, *dst_path;
	guint64 offset;
	LIBSSH2_SFTP_HANDLE *sh, *dh;	/* NULL until opened; sshx_copy() closes them */
	guint64 total;			/* the source's size at open time */
	guint64 copied;			/* by this call, not counting @offset */
	guint64 dst_before;		/* the destination's size when resuming, else 0 */
	unsigned long perms;		/* for a new destination */
};

/* Open the source; learn its size and permission bits. */
static int
copy_open_source(struct copy *c, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	c->sh = libssh2_sftp_open_ex(c->src->sftp, c->src_path, (unsigned int)strlen(c->src_path),
				     LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (!c->sh)
		return sshx_fail(c->src, libssh2_session_last_errno(c->src->session), err,
				 "copy: open source '%s'", c->src_path);
	memset(&a, 0, sizeof(a));
	rc = libssh2_sftp_fstat(c->sh, &a);
	if (rc != 0)
		return sshx_fail(c->src, rc, err, "copy: fstat source '%s'", c->src_path);
	if (a.flags & LIBSSH2_SFTP_ATTR_SIZE)
		c->total = a.filesize;
	if (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)
		c->perms = a.permissions & 0777;
	if (c->offset > c->total) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
			    "%s: copy '%s': resume offset %" G_GUINT64_FORMAT " is past the end "
			    "of the source (%" G_GUINT64_FORMAT " bytes)", c->src->label, c->src_path,
			    c->offset, c->total);
		return -1;
	}
	return 0;
}

/* Open the destination (offset 0: create or truncate it); to resume,
 * check that the partial file is long enough and seek both to @offset. */
static int
copy_open_dest(struct copy *c, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	unsigned long flags;
	int rc;

	/* Resume: the partial file must exist (no O_CREAT) and be kept. */
	flags = LIBSSH2_FXF_WRITE | (c->offset ? 0 : LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC);
	c->dh = libssh2_sftp_open_ex(c->dst->sftp, c->dst_path, (unsigned int)strlen(c->dst_path),
				     flags, (long)c->perms, LIBSSH2_SFTP_OPENFILE);
	if (!c->dh)
		return sshx_fail(c->dst, libssh2_session_last_errno(c->dst->session), err,
				 "copy: open destination '%s'%s", c->dst_path,
				 c->offset ? " to resume" : "");
	if (!c->offset)
		return 0;
	memset(&a, 0, sizeof(a));
	rc = libssh2_sftp_fstat(c->dh, &a);
	if (rc != 0)
		return sshx_fail(c->dst, rc, err, "copy: fstat destination '%s'", c->dst_path);
	c->dst_before = a.filesize;
	if (c->dst_before < c->offset) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
			    "%s: copy: cannot resume '%s' at %" G_GUINT64_FORMAT ": it has "
			    "only %" G_GUINT64_FORMAT " bytes", c->dst->label, c->dst_path, c->offset,
			    c->dst_before);
		return -1;
	}
	libssh2_sftp_seek64(c->sh, c->offset);
	libssh2_sftp_seek64(c->dh, c->offset);
	return 0;
}

/* Write all @n bytes of @buf to the destination. */
static int
copy_write(struct copy *c, const char *buf, ssize_t n, GError **err)
{
	ssize_t done = 0;

	while (done < n) {
		/* May also take less than given: write the rest again. */
		ssize_t w = libssh2_sftp_write(c->dh, buf + done, (size_t)(n - done));

		if (w < 0)
			return sshx_fail(c->dst, (int)w, err, "copy: write '%s' at %" G_GUINT64_FORMAT,
					 c->dst_path, c->offset + c->copied + (guint64)done);
		done += w;
	}
	return 0;
}

/* Copy chunks until the source's end, or until @progress says stop. */
static int
copy_stream(struct copy *c, sshx_progress_fn progress, gpointer ud, GError **err)
{
	g_autofree char *buf = g_malloc(SSHX_COPY_CHUNK);

	for (;;) {
		/* Returns less than asked without being at the end: only 0 is EOF. */
		ssize_t n = libssh2_sftp_read(c->sh, buf, SSHX_COPY_CHUNK);

		if (n < 0)
			return sshx_fail(c->src, (int)n, err, "copy: read '%s' at %" G_GUINT64_FORMAT,
					 c->src_path, c->offset + c->copied);
		if (n == 0)
			return 0;
		if (copy_write(c, buf, n, err) < 0)
			return -1;
		c->copied += (guint64)n;
		if (progress && !progress(c->offset + c->copied, c->total, ud)) {
			/* what is written stays: a resumed copy starts there */
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_CANCELLED,
				    "%s: copy '%s' to '%s': stopped at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
				    c->dst->label, c->src_path, c->dst_path, c->offset + c->copied,
				    c->total);
			return -1;
		}
	}
}

/* Cut a stale tail, fsync (where the server can) and close the destination. */
static int
copy_finish(struct copy *c, GError **err)
{
	struct sshx *dst = c->dst;
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	if (c->dst_before > c->offset + c->copied) {
		/* A stale tail from a longer earlier attempt. */
		memset(&a, 0, sizeof(a));
		a.flags = LIBSSH2_SFTP_ATTR_SIZE;
		a.filesize = c->offset + c->copied;
		rc = libssh2_sftp_fsetstat(c->dh, &a);
		if (rc != 0)
			return sshx_fail(dst, rc, err, "copy: truncate '%s'", c->dst_path);
	}
	/* the server flushes the whole file first: gigabytes of dirty pages
	 * can take far longer than one ordinary blocking call */
	libssh2_session_set_timeout(dst->session, SSHX_FSYNC_TIMEOUT_S * 1000);
	rc = libssh2_sftp_fsync(c->dh);
	libssh2_session_set_timeout(dst->session, dst->timeout_ms);
	if (rc != 0 && sshx_fx_of(dst, rc) != (long)LIBSSH2_FX_OP_UNSUPPORTED)
		return sshx_fail(dst, rc, err, "copy: fsync '%s'", c->dst_path);
	rc = libssh2_sftp_close_handle(c->dh);
	c->dh = NULL;
	if (rc != 0)
		return sshx_fail(dst, rc, err, "copy: close '%s'", c->dst_path);
	return 0;
}

gint64
sshx_copy(struct sshx *src, const char *src_path, struct sshx *dst, const char *dst_path,
	  guint64 offset, sshx_progress_fn progress, gpointer ud, GError **err)
{
	struct copy c = { .src = src, .dst = dst, .src_path = src_path, .dst_path = dst_path,
			  .offset = offset, .perms = 0600 };
	gint64 ret = -1;

	if (sshx_refuse_read_only(dst, err, "write", dst_path) < 0 || !sshx_get_sftp(src, err) ||
	    !sshx_get_sftp(dst, err))
		return -1;
	if (copy_open_source(&c, err) < 0 || copy_open_dest(&c, err) < 0 ||
	    copy_stream(&c, progress, ud, err) < 0 || copy_finish(&c, err) < 0)
		goto out;
	ret = (gint64)c.copied;
out:
	if (c.dh)
		libssh2_sftp_close_handle(c.dh);
	if (c.sh)
		libssh2_sftp_close_handle(c.sh);
	return ret;
}
