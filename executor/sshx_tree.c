/* sshx_tree.c: owners and directory listings over SFTP, for copies that
 * keep who owns a file and for state directories (TPM). */
#include <string.h>

#include "sshx_priv.h"

int
sshx_owner(struct sshx *s, const char *path, guint32 *uid, guint32 *gid, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	if (!sshx_get_sftp(s, err))
		return -1;
	memset(&a, 0, sizeof(a));
	rc = libssh2_sftp_stat_ex(s->sftp, path, (unsigned int)strlen(path), LIBSSH2_SFTP_STAT, &a);
	if (rc != 0)
		return sshx_fail(s, rc, err, "stat '%s'", path);
	if (!(a.flags & LIBSSH2_SFTP_ATTR_UIDGID)) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED, "%s: stat '%s': the server sent no owner", s->label, path);
		return -1;
	}
	*uid = (guint32)a.uid;
	*gid = (guint32)a.gid;
	return 0;
}

int
sshx_chown(struct sshx *s, const char *path, guint32 uid, guint32 gid, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	if (sshx_refuse_read_only(s, err, "chown", path) < 0 || !sshx_get_sftp(s, err))
		return -1;
	memset(&a, 0, sizeof(a));
	a.flags = LIBSSH2_SFTP_ATTR_UIDGID;
	a.uid = uid;
	a.gid = gid;
	rc = libssh2_sftp_stat_ex(s->sftp, path, (unsigned int)strlen(path), LIBSSH2_SFTP_SETSTAT, &a);
	if (rc != 0)
		return sshx_fail(s, rc, err, "chown '%s' to %u:%u", path, uid, gid);
	return 0;
}

int
sshx_list(struct sshx *s, const char *dir, GPtrArray *names, GPtrArray *is_dir, GError **err)
{
	LIBSSH2_SFTP_HANDLE *h;
	char name[1024];
	int rc = 0;

	if (!sshx_get_sftp(s, err))
		return -1;
	if (!(h = libssh2_sftp_open_ex(s->sftp, dir, (unsigned int)strlen(dir), 0, 0, LIBSSH2_SFTP_OPENDIR)))
		return sshx_fail(s, libssh2_session_last_errno(s->session), err, "list '%s'", dir);
	for (;;) {
		LIBSSH2_SFTP_ATTRIBUTES a;
		int n;

		memset(&a, 0, sizeof(a));
		n = libssh2_sftp_readdir(h, name, sizeof(name) - 1, &a);
		if (n < 0) {
			rc = sshx_fail(s, n, err, "list '%s'", dir);
			break;
		}
		if (n == 0)
			break;
		name[n] = '\0';
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
		    ((a.permissions & LIBSSH2_SFTP_S_IFMT) != LIBSSH2_SFTP_S_IFREG &&
		     (a.permissions & LIBSSH2_SFTP_S_IFMT) != LIBSSH2_SFTP_S_IFDIR)) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_EXISTS, "%s: '%s/%s' is neither a file nor a directory", s->label,
				    dir, name);
			rc = -1;
			break;
		}
		g_ptr_array_add(names, g_strdup(name));
		g_ptr_array_add(is_dir, GINT_TO_POINTER((a.permissions & LIBSSH2_SFTP_S_IFMT) == LIBSSH2_SFTP_S_IFDIR));
	}
	libssh2_sftp_close_handle(h);
	return rc;
}
