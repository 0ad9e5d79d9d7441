/* sshx_copy.c: sshx_copy_ranges(), a resumable SFTP copy of a file's
 * data ranges between two sessions (or within one), hashing what it reads. */
#include <string.h>

#include <openssl/evp.h>

#include "extents.h"
#include "sshx_priv.h"

#define SSHX_FSYNC_TIMEOUT_S	1800	/* fsync of a just-written disk image */
#define SSHX_COPY_CHUNK		(256 * 1024)

/* ------------------------------------------------------------ copy */

/* One copy: its arguments, its handles, what it found out. */
struct copy {
	struct sshx *src, *dst;
	const char *src_path, *dst_path;
	const struct sshx_copy_opts *o;
	LIBSSH2_SFTP_HANDLE *sh, *dh;	/* NULL until opened; the caller closes them */
	guint64 total;			/* the source's size at open time */
	guint64 data_total;		/* bytes of the ranges (progress counts those) */
	guint64 data_done;		/* of those, below the resume offset and since */
	guint64 copied;			/* bytes read by this call */
	guint64 dst_before;		/* the destination's size when resuming, else 0 */
	guint64 dst_at;			/* where the destination handle writes next */
	unsigned long perms;		/* for a new destination */
	EVP_MD_CTX *md;			/* o->hash: the bytes read, in order */
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
	if (c->o->offset > c->total) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
			    "%s: copy '%s': resume offset %" G_GUINT64_FORMAT " is past the end "
			    "of the source (%" G_GUINT64_FORMAT " bytes)", c->src->label, c->src_path,
			    c->o->offset, c->total);
		return -1;
	}
	if (c->o->ranges && c->o->ranges->len) {
		const struct extent *last = &g_array_index(c->o->ranges, struct extent, c->o->ranges->len - 1);

		if (last->off + last->len > c->total) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
				    "%s: copy '%s': its data map reaches byte %" G_GUINT64_FORMAT ", but it has %" G_GUINT64_FORMAT " now (changed under the copy?)",
				    c->src->label, c->src_path, last->off + last->len, c->total);
			return -1;
		}
	}
	return 0;
}

/* Open the destination (offset 0: create or truncate it); to resume,
 * check that the partial file is long enough. */
static int
copy_open_dest(struct copy *c, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	unsigned long flags;
	guint64 offset = c->o->offset;
	int rc;

	/* Resume: the partial file must exist (no O_CREAT) and be kept. */
	flags = LIBSSH2_FXF_WRITE | (offset ? 0 : LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC);
	c->dh = libssh2_sftp_open_ex(c->dst->sftp, c->dst_path, (unsigned int)strlen(c->dst_path),
				     flags, (long)c->perms, LIBSSH2_SFTP_OPENFILE);
	if (!c->dh)
		return sshx_fail(c->dst, libssh2_session_last_errno(c->dst->session), err,
				 "copy: open destination '%s'%s", c->dst_path,
				 offset ? " to resume" : "");
	if (!offset)
		return 0;
	memset(&a, 0, sizeof(a));
	rc = libssh2_sftp_fstat(c->dh, &a);
	if (rc != 0)
		return sshx_fail(c->dst, rc, err, "copy: fstat destination '%s'", c->dst_path);
	c->dst_before = a.filesize;
	if (c->dst_before < offset) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
			    "%s: copy: cannot resume '%s' at %" G_GUINT64_FORMAT ": it has "
			    "only %" G_GUINT64_FORMAT " bytes", c->dst->label, c->dst_path, offset,
			    c->dst_before);
		return -1;
	}
	return 0;
}

static gboolean
all_zero(const char *buf, size_t n)
{
	return n == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, n - 1) == 0);
}

/* Write all @n bytes of @buf at @at; a block of zeros is skipped (the
 * file's size is set at the end, so it reads as zeros: a hole). */
static int
copy_write(struct copy *c, guint64 at, const char *buf, ssize_t n, GError **err)
{
	ssize_t done = 0;

	if (all_zero(buf, (size_t)n))
		return 0;
	if (at != c->dst_at)
		libssh2_sftp_seek64(c->dh, at);
	while (done < n) {
		/* May also take less than given: write the rest again. */
		ssize_t w = libssh2_sftp_write(c->dh, buf + done, (size_t)(n - done));

		if (w < 0)
			return sshx_fail(c->dst, (int)w, err, "copy: write '%s' at %" G_GUINT64_FORMAT,
					 c->dst_path, at + (guint64)done);
		done += w;
	}
	c->dst_at = at + (guint64)n;
	return 0;
}

/* Copy [@from, @to) of the source to the same place of the destination. */
static int
copy_range(struct copy *c, char *buf, guint64 from, guint64 to, GError **err)
{
	const struct sshx_copy_opts *o = c->o;

	libssh2_sftp_seek64(c->sh, from);
	while (from < to) {
		/* Returns less than asked without being at the end: only 0 is EOF. */
		ssize_t n = libssh2_sftp_read(c->sh, buf, (size_t)MIN((guint64)SSHX_COPY_CHUNK, to - from));

		if (n < 0)
			return sshx_fail(c->src, (int)n, err, "copy: read '%s' at %" G_GUINT64_FORMAT, c->src_path, from);
		if (n == 0) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
				    "%s: copy '%s': it ended at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes (changed under the copy?)",
				    c->src->label, c->src_path, from, c->total);
			return -1;
		}
		if (c->md)
			EVP_DigestUpdate(c->md, buf, (size_t)n);
		if (copy_write(c, from, buf, n, err) < 0)
			return -1;
		from += (guint64)n;
		c->copied += (guint64)n;
		c->data_done += (guint64)n;
		if (o->progress && !o->progress(c->data_done, c->data_total, o->ud)) {
			/* what is written stays: a resumed copy starts there */
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_CANCELLED,
				    "%s: copy '%s' to '%s': stopped at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
				    c->dst->label, c->src_path, c->dst_path, from, c->total);
			return -1;
		}
	}
	return 0;
}

/* Copy every range (or the whole file) from the resume offset on. */
static int
copy_stream(struct copy *c, GError **err)
{
	g_autoptr(GArray) dense = c->o->ranges ? NULL : extents_dense(c->total);
	const GArray *r = c->o->ranges ? c->o->ranges : dense;
	g_autofree char *buf = g_malloc(SSHX_COPY_CHUNK);
	guint64 offset = c->o->offset;

	c->data_total = extents_bytes(r);
	c->data_done = extents_bytes_below(r, offset);
	c->dst_at = offset;
	if (offset)
		libssh2_sftp_seek64(c->dh, offset);
	for (guint i = 0; i < r->len; i++) {
		const struct extent *x = &g_array_index(r, struct extent, i);

		if (x->off + x->len <= offset)
			continue;
		if (copy_range(c, buf, MAX(x->off, offset), x->off + x->len, err) < 0)
			return -1;
	}
	return 0;
}

/* Size @dh as the source (holes at the end, a stale tail cut), fsync
 * (where the server can) and close it (also on failure). */
static int
finish_handle(struct sshx *dst, LIBSSH2_SFTP_HANDLE *dh, const char *path, guint64 size, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = libssh2_sftp_fstat(dh, &a);
	if (rc != 0) {
		sshx_fail(dst, rc, err, "copy: fstat '%s'", path);
		goto fail;
	}
	if (a.filesize != size) {
		memset(&a, 0, sizeof(a));
		a.flags = LIBSSH2_SFTP_ATTR_SIZE;
		a.filesize = size;
		rc = libssh2_sftp_fsetstat(dh, &a);
		if (rc != 0) {
			sshx_fail(dst, rc, err, "copy: set the size of '%s'", path);
			goto fail;
		}
	}
	/* the server flushes the whole file first: gigabytes of dirty pages
	 * can take far longer than one ordinary blocking call */
	libssh2_session_set_timeout(dst->session, SSHX_FSYNC_TIMEOUT_S * 1000);
	rc = libssh2_sftp_fsync(dh);
	libssh2_session_set_timeout(dst->session, dst->timeout_ms);
	if (rc != 0 && sshx_fx_of(dst, rc) != (long)LIBSSH2_FX_OP_UNSUPPORTED) {
		sshx_fail(dst, rc, err, "copy: fsync '%s'", path);
		goto fail;
	}
	rc = libssh2_sftp_close_handle(dh);
	if (rc != 0)
		return sshx_fail(dst, rc, err, "copy: close '%s'", path);
	return 0;
fail:
	libssh2_sftp_close_handle(dh);
	return -1;
}

static int
copy_finish(struct copy *c, GError **err)
{
	LIBSSH2_SFTP_HANDLE *dh = c->dh;

	c->dh = NULL;
	return finish_handle(c->dst, dh, c->dst_path, c->total, err);
}

static LIBSSH2_SFTP_HANDLE *
open_write(struct sshx *s, const char *path, unsigned long flags, long mode, GError **err)
{
	LIBSSH2_SFTP_HANDLE *h;

	if (sshx_refuse_read_only(s, err, "write", path) < 0 || !sshx_get_sftp(s, err))
		return NULL;
	h = libssh2_sftp_open_ex(s->sftp, path, (unsigned int)strlen(path), flags, mode, LIBSSH2_SFTP_OPENFILE);
	if (!h)
		sshx_fail(s, libssh2_session_last_errno(s->session), err, "open '%s' to write", path);
	return h;
}

int
sshx_finish_file(struct sshx *s, const char *path, guint64 size, GError **err)
{
	LIBSSH2_SFTP_HANDLE *h = open_write(s, path, LIBSSH2_FXF_WRITE, 0, err);

	return h ? finish_handle(s, h, path, size, err) : -1;
}

int
sshx_create_truncated(struct sshx *s, const char *path, long mode, GError **err)
{
	LIBSSH2_SFTP_HANDLE *h = open_write(s, path, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, mode, err);
	int rc;

	if (!h)
		return -1;
	rc = libssh2_sftp_close_handle(h);
	return rc ? sshx_fail(s, rc, err, "close '%s'", path) : 0;
}

static void
hex(const unsigned char *md, unsigned int n, char out[65])
{
	for (unsigned int i = 0; i < n && i < 32; i++)
		g_snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

gint64
sshx_copy_ranges(struct sshx *src, const char *src_path, struct sshx *dst, const char *dst_path,
		 const struct sshx_copy_opts *o, char digest[65], GError **err)
{
	struct copy c = { .src = src, .dst = dst, .src_path = src_path, .dst_path = dst_path, .o = o,
			  .perms = 0600 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	gint64 ret = -1;

	g_return_val_if_fail(!o->hash || (o->offset == 0 && digest), -1);
	if (sshx_refuse_read_only(dst, err, "write", dst_path) < 0 || !sshx_get_sftp(src, err) ||
	    !sshx_get_sftp(dst, err))
		return -1;
	if (o->hash && (!(c.md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(c.md, EVP_sha256(), NULL) != 1)) {
		g_set_error_literal(err, SSHX_ERROR, SSHX_ERROR_FAILED, "copy: OpenSSL has no sha256");
		goto out;
	}
	if (copy_open_source(&c, err) < 0 || copy_open_dest(&c, err) < 0 || copy_stream(&c, err) < 0 ||
	    copy_finish(&c, err) < 0)
		goto out;
	if (c.md) {
		EVP_DigestFinal_ex(c.md, md, &mdlen);
		hex(md, mdlen, digest);
	}
	ret = (gint64)c.copied;
out:
	EVP_MD_CTX_free(c.md);
	if (c.dh)
		libssh2_sftp_close_handle(c.dh);
	if (c.sh)
		libssh2_sftp_close_handle(c.sh);
	return ret;
}

gint64
sshx_copy(struct sshx *src, const char *src_path, struct sshx *dst, const char *dst_path,
	  guint64 offset, sshx_progress_fn progress, gpointer ud, GError **err)
{
	struct sshx_copy_opts o = { .offset = offset, .progress = progress, .ud = ud };

	return sshx_copy_ranges(src, src_path, dst, dst_path, &o, NULL, err);
}
