/* sshx: one SSH session (libssh2) to one host, for the executor's disk
 * copies and the few remote operations it needs.
 *
 * Contract:
 * - A struct sshx is NOT thread-safe: use one session from one thread at a
 *   time (libssh2 sessions are not reentrant).  Open one session per worker.
 * - Every function returns 0 (or a pointer / a non-negative count) on
 *   success and -1 (NULL) on failure with @err set in SSHX_ERROR; messages
 *   name the host (user@host[:port]), the operation, the path and the
 *   reason (SFTP status text or libssh2's own message).
 * - Host keys are always verified against known_hosts; an unknown key is
 *   refused unless accept_new, a changed key is always refused.
 * - read_only sessions refuse every mutating call (mkdir_p, rmdir, unlink,
 *   rename, create_empty, exec, and being the destination of sshx_copy)
 *   with SSHX_ERROR_READ_ONLY before sending anything.  stat, statvfs_avail
 *   and sha256 are allowed: sha256 runs `sha256sum` over exec, which only
 *   reads, so it deliberately bypasses the read-only check.
 * - Remote commands are built from argv with g_shell_quote(): the remote
 *   user's login shell must be a POSIX shell (sh, bash, dash, zsh).
 * - Paths are remote paths, passed to SFTP as they are (relative ones are
 *   relative to the remote user's home).
 */
#ifndef VMSHIFT_SSHX_H
#define VMSHIFT_SSHX_H

#include <glib.h>

#define SSHX_ERROR (sshx_error_quark())
GQuark sshx_error_quark(void);

enum sshx_error_code {
	SSHX_ERROR_FAILED,		/* anything else (libssh2, SFTP failure) */
	SSHX_ERROR_CONNECT,		/* resolve, TCP connect, handshake */
	SSHX_ERROR_TIMEOUT,		/* connect or a blocking call timed out */
	SSHX_ERROR_HOSTKEY_UNKNOWN,	/* not in known_hosts (and !accept_new) */
	SSHX_ERROR_HOSTKEY_CHANGED,	/* known_hosts has another key: MITM? */
	SSHX_ERROR_KNOWN_HOSTS,		/* cannot read/write the known_hosts file */
	SSHX_ERROR_AUTH,		/* no identity or agent key was accepted */
	SSHX_ERROR_NOT_FOUND,		/* SFTP: no such file */
	SSHX_ERROR_PERMISSION,		/* SFTP: permission denied */
	SSHX_ERROR_EXISTS,		/* exists with the wrong type */
	SSHX_ERROR_READ_ONLY,		/* mutating call on a read_only session */
	SSHX_ERROR_COMMAND,		/* remote command failed (status, signal, output) */
	SSHX_ERROR_CANCELLED,		/* sshx_copy: the progress callback said stop */
};

struct sshx_opts {
	const char *host;	/* name or address (IPv4/IPv6) */
	int port;		/* <= 0: 22 */
	const char *user;	/* NULL: g_get_user_name() */
	const char *identity;	/* private key file; NULL: ssh-agent, then ~/.ssh/id_{ed25519,ecdsa,rsa}. "~/" expanded */
	const char *known_hosts;	/* NULL: ~/.ssh/known_hosts. "~/" expanded */
	gboolean accept_new;	/* add an unknown host key to known_hosts instead of refusing */
	gboolean read_only;	/* refuse every mutating call: dry-run safety net */
	guint timeout_s;	/* 0: 60. TCP connect, and each blocking libssh2 call */
};

struct sshx;
typedef struct sshx sshx;	/* only for g_autoptr(sshx) */

/* Connect, verify the host key, authenticate.  NULL on failure. */
struct sshx *sshx_connect(const struct sshx_opts *o, GError **err);
/* Disconnect and free; NULL is a no-op. */
void sshx_free(struct sshx *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sshx, sshx_free)

/* opts->host as given; borrowed from @s. */
const char *sshx_host(const struct sshx *s);
/* "user@host" or "user@host:port" as used in messages; borrowed. */
const char *sshx_label(const struct sshx *s);
/* TRUE if sshx_connect() added this host's key to known_hosts (accept_new):
 * the caller should say so. */
gboolean sshx_host_key_added(const struct sshx *s);

/* stat(2), following symlinks.  A missing path is not an error: *exists =
 * FALSE (size/mode untouched).  Any out-parameter may be NULL; *mode gets
 * the full st_mode (type and permission bits). */
int sshx_stat(struct sshx *s, const char *path, gboolean *exists, guint64 *size,
	      guint32 *mode, GError **err);
/* The same without following a final symlink: *mode then says "link". */
int sshx_lstat(struct sshx *s, const char *path, gboolean *exists, guint64 *size,
	       guint32 *mode, GError **err);
/* The server's canonical form of the existing @path (symlinks resolved);
 * caller frees.  Allowed on read_only sessions. */
char *sshx_realpath(struct sshx *s, const char *path, GError **err);
/* Read up to @len bytes from the start of @path into @buf; *got gets how
 * many (fewer only at the end of the file).  Allowed on read_only sessions. */
int sshx_read_head(struct sshx *s, const char *path, void *buf, gsize len, gsize *got,
		   GError **err);
/* Bytes available to an unprivileged user on the filesystem holding @path
 * (statvfs@openssh.com: f_bavail * f_frsize).  @path must exist. */
int sshx_statvfs_avail(struct sshx *s, const char *path, guint64 *avail_bytes, GError **err);
/* mkdir -p with @mode (applied exactly, not masked by the remote umask) for
 * each directory it creates.  @created (may be NULL) gets a g_strdup()'d
 * path (free func must be g_free) for each directory this call created,
 * outermost first: the rollback removes them in reverse order.  An existing
 * non-directory component is SSHX_ERROR_EXISTS. */
int sshx_mkdir_p(struct sshx *s, const char *dir, long mode, GPtrArray *created, GError **err);
/* rmdir(2): the directory must be empty. */
int sshx_rmdir(struct sshx *s, const char *dir, GError **err);
/* unlink(2); a missing file is not an error. */
int sshx_unlink(struct sshx *s, const char *path, GError **err);
/* rename(2) that overwrites an existing @to.  OpenSSH's SFTP v3 rename
 * refuses an existing target and libssh2 1.10 cannot send
 * posix-rename@openssh.com, so in that case it falls back to a remote
 * `mv -f -T -- FROM TO` (still rename(2) within one filesystem). */
int sshx_rename(struct sshx *s, const char *from, const char *to, GError **err);
/* Create an empty regular file, O_CREAT|O_EXCL, with exactly @mode.  An
 * existing regular file is not an error: *created = FALSE (@created may be
 * NULL); an existing non-file is SSHX_ERROR_EXISTS.  On an error after the
 * file was made (chmod), *created is TRUE so that the caller can undo. */
int sshx_create_empty(struct sshx *s, const char *path, long mode, gboolean *created,
		      GError **err);
/* The sha256 of @path, computed on its host (OpenSSL's hasher where the
 * host has the openssl command, else sha256sum); @out gets 64 lowercase
 * hex digits and a NUL.  Allowed on read_only sessions (it only reads). */
int sshx_sha256(struct sshx *s, const char *path, char out[65], GError **err);
/* The same over the bytes of @ranges (GArray of struct extent, extents.h)
 * of @path, one after the other: what sshx_copy_ranges() hashes. */
int sshx_digest(struct sshx *s, const char *path, const GArray *ranges, char out[65], GError **err);
/* Where @path (absolute, @size bytes) holds data: `qemu-img map -f raw`
 * on its host.  NULL on failure; *no_tool TRUE if the host has no
 * qemu-img (the caller may then copy every byte). */
GArray *sshx_extents(struct sshx *s, const char *path, guint64 size, gboolean *no_tool, GError **err);
/* Run @argv (NULL-terminated, argv[0] looked up in the remote PATH), each
 * word quoted with g_shell_quote(), stdin empty.  @out/@errout (may be
 * NULL) get the whole stdout/stderr, NUL-terminated, caller frees (each is
 * capped at 64 MiB: more is an error).  With @status non-NULL, any exit
 * status is success and is stored there; with @status NULL, a non-zero
 * exit is SSHX_ERROR_COMMAND quoting stderr.  Death by a signal is always
 * an error.  No overall time limit (a long sha256sum is fine); a dead host
 * is detected by SSH and TCP keepalives. */
int sshx_exec(struct sshx *s, const char *const *argv, char **out, char **errout, int *status,
	      GError **err);

/* The owner of @path (following symlinks). */
int sshx_owner(struct sshx *s, const char *path, guint32 *uid, guint32 *gid, GError **err);
/* chown(2) of @path to @uid:@gid (numbers as the remote host has them). */
int sshx_chown(struct sshx *s, const char *path, guint32 uid, guint32 gid, GError **err);
/* The entries of @dir but . and ..: @names gets g_strdup()'d names,
 * @is_dir as many GINT_TO_POINTER(TRUE or FALSE).  An entry that is
 * neither a regular file nor a directory (a symlink, a socket) is
 * SSHX_ERROR_EXISTS: a state directory holds files. */
int sshx_list(struct sshx *s, const char *dir, GPtrArray *names, GPtrArray *is_dir, GError **err);

/* sshx_exec() also on read_only sessions: for commands that only read
 * (qemu-img info).  The caller vouches for that. */
int sshx_exec_read(struct sshx *s, const char *const *argv, char **out, char **errout, int *status,
		   GError **err);

/* FALSE stops the copy (SSHX_ERROR_CANCELLED; what was written stays). */
typedef gboolean (*sshx_progress_fn)(guint64 done, guint64 total, gpointer ud);

/* Stream @src:@src_path to @dst:@dst_path over SFTP, starting at byte
 * @offset of both files (resume: pass the size of the existing partial
 * destination; it must be at least @offset).  offset == 0 creates or
 * truncates the destination; offset > 0 opens it without truncating.  The
 * destination ends with exactly the source's size (a longer stale tail is
 * cut), new files get the source's permission bits (less the remote
 * umask), and it is fsync'ed at
 * the end when the server supports fsync@openssh.com.  Blocks of zeros
 * are not written (holes).  @progress (may be
 * NULL) is called after every chunk with bytes done so far (counting
 * @offset) and the source's size at open time.  @src and @dst may be the
 * same session.  Returns the bytes copied by this call (not counting
 * @offset), or -1.  @dst must not be read_only. */
gint64 sshx_copy(struct sshx *src, const char *src_path, struct sshx *dst, const char *dst_path,
		 guint64 offset, sshx_progress_fn progress, gpointer ud, GError **err);

/* What sshx_copy_ranges() copies and how. */
struct sshx_copy_opts {
	guint64 offset;			/* resume at this byte (the part file's size) */
	const GArray *ranges;		/* struct extent: only these are read; NULL: all */
	gboolean hash;			/* sha256 of the bytes read, in order (offset 0 only) */
	sshx_progress_fn progress;	/* done/total count the ranges' bytes, not holes */
	gpointer ud;
};
/* sshx_copy() of @o->ranges only: the rest of the destination is holes
 * (its size is set to the source's at the end), and so is every block of
 * zeros read.  With @o->hash, @digest gets the sha256 of the bytes of the
 * ranges as read: what sshx_digest() of the destination must give. */
gint64 sshx_copy_ranges(struct sshx *src, const char *src_path, struct sshx *dst, const char *dst_path,
			const struct sshx_copy_opts *o, char digest[65], GError **err);

/* ---- direct transfers: the source host sends (sshx_direct.c) ---- */

/* The target as the source host's ssh reaches it. */
struct sshx_peer {
	const char *host;
	int port;		/* <= 0: 22 */
	const char *user;	/* NULL: the source's ssh default */
};
/* From @src's host, run `ssh PEER test -f MARKER` (BatchMode, host key
 * checked against the source's known_hosts): with a marker the caller
 * made on the target through its own verified session, success proves
 * that the source reaches that very machine.  0 with *why NULL if it
 * does, 0 with *why saying why not (caller frees), -1 if @src failed. */
int sshx_direct_probe(struct sshx *src, const struct sshx_peer *peer, const char *marker, char **why, GError **err);
/* A chunk [@off, @off + @len) is written on the target; @sha: the
 * source's sha256 of it (NULL without hashing).  FALSE stops the copy. */
typedef gboolean (*sshx_chunk_fn)(guint64 off, guint64 len, const char *sha, gpointer ud);
/* The source host sends @chunks (struct extent) of @src_path to
 * @dst_path on @peer over one ssh connection of its own, written in place
 * (the file must exist; blocks of zeros are holes); with @hash it hashes
 * each chunk beside the stream.  @fn hears of each chunk once it is
 * written (and hashed): while later ones are still on their way, so that
 * the caller can check it on the target.  The destination's size is not
 * set: see sshx_finish_file().  Returns the bytes sent, or -1. */
gint64 sshx_direct_copy(struct sshx *src, const char *src_path, const struct sshx_peer *peer, const char *dst_path,
			const GArray *chunks, gboolean hash, sshx_chunk_fn fn, gpointer ud, GError **err);
/* Open @path on @s, set its size to @size, fsync it (where the server
 * can), close it: what a copy ends with. */
int sshx_finish_file(struct sshx *s, const char *path, guint64 size, GError **err);
/* Create @path empty (or truncate it) with @mode, for a copy to fill. */
int sshx_create_truncated(struct sshx *s, const char *path, long mode, GError **err);

#endif
