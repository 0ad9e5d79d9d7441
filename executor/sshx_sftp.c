/* sshx_sftp.c: the SFTP operations of sshx.h (stat, lstat, realpath,
 * read_head, statvfs_avail, mkdir_p, rmdir, unlink, rename, create_empty). */
#include <string.h>

#include "sshx_priv.h"

/* ------------------------------------------------------------ SFTP */

LIBSSH2_SFTP *
sshx_get_sftp(struct sshx *s, GError **err)
{
	if (!s->sftp) {
		s->sftp = libssh2_sftp_init(s->session);
		if (!s->sftp)
			sshx_fail(s, libssh2_session_last_errno(s->session), err, "cannot start SFTP");
	}
	return s->sftp;
}

/* stat or lstat; 1 found, 0 missing, -1 error. */
static int
stat_path(struct sshx *s, const char *path, int how, LIBSSH2_SFTP_ATTRIBUTES *a, GError **err)
{
	long fx;
	int rc;

	if (!sshx_get_sftp(s, err))
		return -1;
	memset(a, 0, sizeof(*a));
	rc = libssh2_sftp_stat_ex(s->sftp, path, (unsigned int)strlen(path), how, a);
	if (rc == 0)
		return 1;
	fx = sshx_fx_of(s, rc);
	if (fx == (long)LIBSSH2_FX_NO_SUCH_FILE || fx == (long)LIBSSH2_FX_NO_SUCH_PATH)
		return 0;
	return sshx_fail(s, rc, err, "stat '%s'", path);
}

static gboolean
attr_is(const LIBSSH2_SFTP_ATTRIBUTES *a, unsigned long type)
{
	return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
	       (a->permissions & LIBSSH2_SFTP_S_IFMT) == type;
}

static int
stat_common(struct sshx *s, const char *path, int how, gboolean *exists, guint64 *size,
	    guint32 *mode, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int r = stat_path(s, path, how, &a, err);

	if (r < 0)
		return -1;
	if (exists)
		*exists = r == 1;
	if (r == 1) {
		if (size)
			*size = (a.flags & LIBSSH2_SFTP_ATTR_SIZE) ? a.filesize : 0;
		if (mode)
			*mode = (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ? (guint32)a.permissions : 0;
	}
	return 0;
}

int
sshx_stat(struct sshx *s, const char *path, gboolean *exists, guint64 *size, guint32 *mode,
	  GError **err)
{
	return stat_common(s, path, LIBSSH2_SFTP_STAT, exists, size, mode, err);
}

int
sshx_lstat(struct sshx *s, const char *path, gboolean *exists, guint64 *size, guint32 *mode,
	   GError **err)
{
	return stat_common(s, path, LIBSSH2_SFTP_LSTAT, exists, size, mode, err);
}

char *
sshx_realpath(struct sshx *s, const char *path, GError **err)
{
	char buf[4096];
	int rc;

	if (!sshx_get_sftp(s, err))
		return NULL;
	rc = libssh2_sftp_realpath(s->sftp, path, buf, sizeof(buf) - 1);
	if (rc < 0) {
		sshx_fail(s, rc, err, "realpath '%s'", path);
		return NULL;
	}
	buf[rc] = '\0';
	return g_strdup(buf);
}

int
sshx_read_head(struct sshx *s, const char *path, void *buf, gsize len, gsize *got, GError **err)
{
	LIBSSH2_SFTP_HANDLE *h;
	gsize n = 0;

	*got = 0;
	if (!sshx_get_sftp(s, err))
		return -1;
	h = libssh2_sftp_open_ex(s->sftp, path, (unsigned int)strlen(path), LIBSSH2_FXF_READ, 0,
				 LIBSSH2_SFTP_OPENFILE);
	if (!h)
		return sshx_fail(s, libssh2_session_last_errno(s->session), err, "open '%s'", path);
	while (n < len) {
		ssize_t r = libssh2_sftp_read(h, (char *)buf + n, len - n);

		if (r < 0) {
			sshx_fail(s, (int)r, err, "read '%s'", path);
			libssh2_sftp_close_handle(h);
			return -1;
		}
		if (r == 0)
			break;
		n += (gsize)r;
	}
	libssh2_sftp_close_handle(h);
	*got = n;
	return 0;
}

int
sshx_statvfs_avail(struct sshx *s, const char *path, guint64 *avail_bytes, GError **err)
{
	LIBSSH2_SFTP_STATVFS st;
	int rc;

	if (!sshx_get_sftp(s, err))
		return -1;
	memset(&st, 0, sizeof(st));
	rc = libssh2_sftp_statvfs(s->sftp, path, strlen(path), &st);
	if (rc != 0)
		return sshx_fail(s, rc, err, "statvfs '%s'", path);
	*avail_bytes = (guint64)st.f_bavail * (st.f_frsize ? st.f_frsize : st.f_bsize);
	return 0;
}

static int
chmod_path(struct sshx *s, const char *path, long mode, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a = { .flags = LIBSSH2_SFTP_ATTR_PERMISSIONS,
				      .permissions = (unsigned long)mode & 07777 };
	int rc = libssh2_sftp_stat_ex(s->sftp, path, (unsigned int)strlen(path),
				      LIBSSH2_SFTP_SETSTAT, &a);

	return rc == 0 ? 0 : sshx_fail(s, rc, err, "chmod %lo '%s'", mode, path);
}

int
sshx_mkdir_p(struct sshx *s, const char *dir, long mode, GPtrArray *created, GError **err)
{
	g_auto(GStrv) parts = NULL;
	g_autoptr(GString) cur = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;

	if (sshx_refuse_read_only(s, err, "create directory", dir) < 0 || !sshx_get_sftp(s, err))
		return -1;
	if (!*dir) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED, "%s: mkdir: empty path", s->label);
		return -1;
	}
	parts = g_strsplit(dir, "/", -1);
	cur = g_string_new(dir[0] == '/' ? "/" : "");
	for (char **p = parts; *p; p++) {
		int r, rc;

		if (!**p)
			continue;
		if (cur->len && cur->str[cur->len - 1] != '/')
			g_string_append_c(cur, '/');
		g_string_append(cur, *p);
		r = stat_path(s, cur->str, LIBSSH2_SFTP_STAT, &a, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			rc = libssh2_sftp_mkdir_ex(s->sftp, cur->str, (unsigned int)cur->len,
						   mode & 07777);
			if (rc == 0) {
				if (created)
					g_ptr_array_add(created, g_strdup(cur->str));
				/* The server applies its umask; we promised @mode. */
				if (chmod_path(s, cur->str, mode, err) < 0)
					return -1;
				continue;
			}
			/* Someone else may have made it meanwhile. */
			r = stat_path(s, cur->str, LIBSSH2_SFTP_STAT, &a, NULL);
			if (r != 1)
				return sshx_fail(s, rc, err, "mkdir '%s'", cur->str);
		}
		if (!attr_is(&a, LIBSSH2_SFTP_S_IFDIR)) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_EXISTS,
				    "%s: mkdir '%s': '%s' exists and is not a directory", s->label,
				    dir, cur->str);
			return -1;
		}
	}
	return 0;
}

int
sshx_rmdir(struct sshx *s, const char *dir, GError **err)
{
	int rc;

	if (sshx_refuse_read_only(s, err, "remove directory", dir) < 0 || !sshx_get_sftp(s, err))
		return -1;
	rc = libssh2_sftp_rmdir_ex(s->sftp, dir, (unsigned int)strlen(dir));
	return rc == 0 ? 0 : sshx_fail(s, rc, err, "rmdir '%s'", dir);
}

int
sshx_unlink(struct sshx *s, const char *path, GError **err)
{
	long fx;
	int rc;

	if (sshx_refuse_read_only(s, err, "remove", path) < 0 || !sshx_get_sftp(s, err))
		return -1;
	rc = libssh2_sftp_unlink_ex(s->sftp, path, (unsigned int)strlen(path));
	if (rc == 0)
		return 0;
	fx = sshx_fx_of(s, rc);
	if (fx == (long)LIBSSH2_FX_NO_SUCH_FILE || fx == (long)LIBSSH2_FX_NO_SUCH_PATH)
		return 0;
	return sshx_fail(s, rc, err, "unlink '%s'", path);
}

int
sshx_rename(struct sshx *s, const char *from, const char *to, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	long fx;
	int rc, r;

	if (sshx_refuse_read_only(s, err, "rename", from) < 0 || !sshx_get_sftp(s, err))
		return -1;
	rc = libssh2_sftp_rename_ex(s->sftp, from, (unsigned int)strlen(from), to,
				    (unsigned int)strlen(to),
				    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
				    LIBSSH2_SFTP_RENAME_NATIVE);
	if (rc == 0)
		return 0;
	fx = sshx_fx_of(s, rc);
	if (fx != (long)LIBSSH2_FX_FAILURE && fx != (long)LIBSSH2_FX_FILE_ALREADY_EXISTS)
		return sshx_fail(s, rc, err, "rename '%s' to '%s'", from, to);
	/* SFTP v3 (OpenSSH) will not replace an existing target and libssh2
	 * 1.10 has no posix-rename@openssh.com: let mv(1) call rename(2). */
	r = stat_path(s, to, LIBSSH2_SFTP_LSTAT, &a, NULL);
	if (r != 1)
		return sshx_fail(s, rc, err, "rename '%s' to '%s'", from, to);
	{
		const char *argv[] = { "mv", "-f", "-T", "--", from, to, NULL };
		g_autofree char *errout = NULL;
		int status = 0;

		if (sshx_remote_run(s, argv, NULL, &errout, &status, err) < 0)
			return -1;
		if (status != 0) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED,
				    "%s: rename '%s' to '%s' (over an existing file, with mv): "
				    "exit status %d: %s", s->label, from, to, status,
				    g_strstrip(errout));
			return -1;
		}
	}
	return 0;
}

int
sshx_create_empty(struct sshx *s, const char *path, long mode, gboolean *created,
		  GError **err)
{
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc, r;

	if (created)
		*created = FALSE;
	if (sshx_refuse_read_only(s, err, "create", path) < 0 || !sshx_get_sftp(s, err))
		return -1;
	h = libssh2_sftp_open_ex(s->sftp, path, (unsigned int)strlen(path),
				 LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
				 mode & 07777, LIBSSH2_SFTP_OPENFILE);
	if (!h) {
		long fx;

		rc = libssh2_session_last_errno(s->session);
		fx = sshx_fx_of(s, rc);
		/* OpenSSH reports EEXIST as a bare FX_FAILURE: look. */
		if (fx != (long)LIBSSH2_FX_FAILURE && fx != (long)LIBSSH2_FX_FILE_ALREADY_EXISTS)
			return sshx_fail(s, rc, err, "create '%s'", path);
		r = stat_path(s, path, LIBSSH2_SFTP_LSTAT, &a, NULL);
		if (r != 1)
			return sshx_fail(s, rc, err, "create '%s'", path);
		if (!attr_is(&a, LIBSSH2_SFTP_S_IFREG)) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_EXISTS,
				    "%s: create '%s': exists and is not a regular file", s->label,
				    path);
			return -1;
		}
		return 0;
	}
	if (created)
		*created = TRUE;
	a = (LIBSSH2_SFTP_ATTRIBUTES){ .flags = LIBSSH2_SFTP_ATTR_PERMISSIONS,
				       .permissions = (unsigned long)mode & 07777 };
	rc = libssh2_sftp_fsetstat(h, &a);
	if (rc != 0) {
		sshx_fail(s, rc, err, "chmod %lo '%s'", mode, path);
		libssh2_sftp_close_handle(h);
		return -1;
	}
	rc = libssh2_sftp_close_handle(h);
	return rc == 0 ? 0 : sshx_fail(s, rc, err, "close '%s'", path);
}
