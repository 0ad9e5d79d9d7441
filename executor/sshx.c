/* sshx: one libssh2 session to one host.  See sshx.h for the contract. */
#include "sshx.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#define SSHX_FSYNC_TIMEOUT_S	1800	/* fsync of a just-written disk image */
#define SSHX_DEFAULT_TIMEOUT_S	60
#define SSHX_COPY_CHUNK		(256 * 1024)
#define SSHX_EXEC_MAX_OUTPUT	(64u * 1024 * 1024)
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
static const char *
ssh_msg(const struct sshx *s)
{
	char *msg = NULL;

	if (!s->session)
		return "";
	libssh2_session_last_error(s->session, &msg, NULL, 0);
	return msg ? msg : "";
}

/* Set @err to "LABEL: WHAT: libssh2's message" for the libssh2 error @rc
 * (negative).  An SFTP status gets its text and a matching code. */
static int G_GNUC_PRINTF(4, 5)
fail(struct sshx *s, int rc, GError **err, const char *fmt, ...)
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
		why = g_strdup_printf("%s (libssh2 error %d)", ssh_msg(s), rc);
	}
	g_set_error(err, SSHX_ERROR, code, "%s: %s: %s", s->label, what, why);
	return -1;
}

/* The SFTP status of the last failed call @rc, or -1 if not an SFTP one. */
static long
fx_of(struct sshx *s, int rc)
{
	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || !s->sftp)
		return -1;
	return (long)libssh2_sftp_last_error(s->sftp);
}

static int
refuse_read_only(struct sshx *s, GError **err, const char *what, const char *path)
{
	if (!s->read_only)
		return 0;
	g_set_error(err, SSHX_ERROR, SSHX_ERROR_READ_ONLY,
		    "%s: refusing to %s '%s': session is read-only (dry run)", s->label, what, path);
	return -1;
}

/* ------------------------------------------------------------ connect */

static char *
expand_home(const char *path)
{
	if (g_str_equal(path, "~"))
		return g_strdup(g_get_home_dir());
	if (g_str_has_prefix(path, "~/"))
		return g_build_filename(g_get_home_dir(), path + 2, NULL);
	return g_strdup(path);
}

static void
tune_socket(int fd, int timeout_ms)
{
	int one = 1, idle = SSHX_KEEPALIVE_S, intvl = 5, cnt = 6;
	unsigned int user_timeout = (unsigned int)timeout_ms;

	/* Best effort: a dead peer then fails reads with ETIMEDOUT even while
	 * a long remote command sends nothing. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

/* Connect to the first address of @host that answers within the timeout. */
static int
tcp_connect(struct sshx *s, GError **err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char port[16];
	gint64 deadline;
	int fd = -1, gai, last_errno = 0;

	g_snprintf(port, sizeof(port), "%d", s->port);
	gai = getaddrinfo(s->host, port, &hints, &res);
	if (gai != 0) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_CONNECT, "%s: cannot resolve '%s': %s",
			    s->label, s->host, gai_strerror(gai));
		return -1;
	}
	deadline = g_get_monotonic_time() + (gint64)s->timeout_ms * 1000;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		int soerr = 0, prc, left_ms;
		socklen_t len = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			last_errno = errno;
			goto next;
		}
		do {
			left_ms = (int)((deadline - g_get_monotonic_time()) / 1000);
			if (left_ms < 0)
				left_ms = 0;
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			prc = poll(&p, 1, left_ms);
		} while (prc < 0 && errno == EINTR);
		if (prc == 0) {
			last_errno = ETIMEDOUT;
			goto next;
		}
		if (prc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
			last_errno = errno;
			goto next;
		}
		if (soerr == 0)
			break;
		last_errno = soerr;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		g_set_error(err, SSHX_ERROR,
			    last_errno == ETIMEDOUT ? SSHX_ERROR_TIMEOUT : SSHX_ERROR_CONNECT,
			    "%s: cannot connect to %s port %d: %s%s", s->label, s->host, s->port,
			    g_strerror(last_errno),
			    last_errno == ETIMEDOUT ? " (is the host up?)" : "");
		return -1;
	}
	tune_socket(fd, s->timeout_ms);
	s->fd = fd;
	return 0;
}

static const char *
key_type_name(int type, int *kh_bit)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		*kh_bit = LIBSSH2_KNOWNHOST_KEY_SSHRSA;
		return "ssh-rsa";
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		*kh_bit = LIBSSH2_KNOWNHOST_KEY_SSHDSS;
		return "ssh-dss";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		*kh_bit = LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
		return "ecdsa-sha2-nistp256";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		*kh_bit = LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
		return "ecdsa-sha2-nistp384";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		*kh_bit = LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
		return "ecdsa-sha2-nistp521";
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		*kh_bit = LIBSSH2_KNOWNHOST_KEY_ED25519;
		return "ssh-ed25519";
	default:
		*kh_bit = 0;
		return NULL;
	}
}

/* Append one known_hosts line, as OpenSSH does, keeping the rest of the
 * file (comments included) as it is. */
static int
append_known_host(struct sshx *s, const char *path, const char *line, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;
	int fd, rc = -1;
	char last = '\n';
	g_autoptr(GString) data = g_string_new(NULL);

	if (g_mkdir_with_parents(dir, 0700) < 0)
		goto sys_err;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		goto sys_err;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);

		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
	}
	if (last != '\n')
		g_string_append_c(data, '\n');
	g_string_append(data, line);
	if (write(fd, data->str, data->len) == (ssize_t)data->len && fsync(fd) == 0)
		rc = 0;
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0)
		return 0;
sys_err:
	g_set_error(err, SSHX_ERROR, SSHX_ERROR_KNOWN_HOSTS,
		    "%s: cannot add the host key to known_hosts '%s': %s", s->label, path,
		    g_strerror(errno));
	return -1;
}

static int
check_host_key(struct sshx *s, const char *kh_path, gboolean accept_new, GError **err)
{
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	struct libssh2_knownhost *entry = NULL;
	g_autofree char *name = NULL, *fp = NULL, *b64 = NULL, *scan = NULL;
	const char *key, *hash, *tname;
	size_t keylen = 0, outlen = 0;
	int type = 0, kbit = 0, rc = -1, chk;
	char line[16384];

	key = libssh2_session_hostkey(s->session, &keylen, &type);
	hash = libssh2_hostkey_hash(s->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (!key || !hash)
		return fail(s, libssh2_session_last_errno(s->session), err, "cannot get the host key");
	tname = key_type_name(type, &kbit);
	if (!tname) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_UNKNOWN,
			    "%s: host key of unsupported type %d", s->label, type);
		return -1;
	}
	/* OpenSSH's form: SHA256:base64 without padding. */
	b64 = g_base64_encode((const guchar *)hash, 32);
	for (char *e = b64 + strlen(b64); e > b64 && e[-1] == '='; )
		*--e = '\0';
	fp = g_strconcat("SHA256:", b64, NULL);
	/* Own "[host]:port" name and port -1: libssh2's checkp() with a port
	 * would also accept a plain "host" line for a non-22 port. */
	name = s->port == 22 ? g_strdup(s->host) : g_strdup_printf("[%s]:%d", s->host, s->port);

	kh = libssh2_knownhost_init(s->session);
	if (!kh)
		return fail(s, libssh2_session_last_errno(s->session), err, "libssh2_knownhost_init");
	if (g_file_test(kh_path, G_FILE_TEST_EXISTS)) {
		int n = libssh2_knownhost_readfile(kh, kh_path, LIBSSH2_KNOWNHOST_FILE_OPENSSH);

		if (n < 0) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_KNOWN_HOSTS,
				    "%s: cannot read known_hosts '%s': %s (libssh2 error %d)",
				    s->label, kh_path, ssh_msg(s), n);
			goto out;
		}
	}
	chk = libssh2_knownhost_checkp(kh, name, -1, key, keylen,
				       LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kbit,
				       NULL);
	switch (chk) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		rc = 0;
		goto out;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_CHANGED,
			    "%s: WARNING: HOST KEY CHANGED for '%s': it now presents %s key %s, "
			    "which does not match known_hosts '%s'. Possible man-in-the-middle "
			    "attack (or the host was reinstalled); refusing to connect. If the "
			    "change is expected, remove the old key with ssh-keygen -R '%s' -f '%s' "
			    "and add the new one after checking its fingerprint",
			    s->label, name, tname, fp, kh_path, name, kh_path);
		goto out;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		break;
	default:
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_KNOWN_HOSTS,
			    "%s: cannot check the host key against '%s': %s", s->label, kh_path,
			    ssh_msg(s));
		goto out;
	}
	/* Not found with this key type.  A key of another type for the same
	 * name is suspicious (downgrade?): never add one silently. */
	if (libssh2_knownhost_checkp(kh, name, -1, key, keylen,
				     LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW,
				     NULL) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_CHANGED,
			    "%s: WARNING: '%s' presents %s key %s, but known_hosts '%s' holds a key "
			    "of another type for it. Possible man-in-the-middle attack; refusing "
			    "to connect. If the change is expected, remove the old key with "
			    "ssh-keygen -R '%s' -f '%s'", s->label, name, tname, fp, kh_path, name,
			    kh_path);
		goto out;
	}
	if (!accept_new) {
		scan = s->port == 22 ? g_strdup_printf("ssh-keyscan -t %s %s", tname, s->host)
				     : g_strdup_printf("ssh-keyscan -p %d -t %s %s", s->port, tname,
						       s->host);
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_UNKNOWN,
			    "%s: host '%s' is not in known_hosts '%s'; it presents %s key %s. "
			    "Refusing to connect. After checking the fingerprint out of band, "
			    "add it with: %s >> '%s', or run with --accept-new-host-keys",
			    s->label, name, kh_path, tname, fp, scan, kh_path);
		goto out;
	}
	if (libssh2_knownhost_addc(kh, name, NULL, key, keylen, NULL, 0,
				   LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kbit,
				   &entry) < 0 ||
	    libssh2_knownhost_writeline(kh, entry, line, sizeof(line), &outlen,
					LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_KNOWN_HOSTS,
			    "%s: cannot add the host key of '%s' to known_hosts: %s", s->label, name,
			    ssh_msg(s));
		goto out;
	}
	if (append_known_host(s, kh_path, line, err) < 0)
		goto out;
	s->key_added = TRUE;
	rc = 0;
out:
	libssh2_knownhost_free(kh);
	return rc;
}

static int
auth_agent(struct sshx *s, GString *tried, GError **err)
{
	LIBSSH2_AGENT *agent = libssh2_agent_init(s->session);
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	const char *sock = g_getenv("SSH_AUTH_SOCK");
	int rc = -1, r;

	if (!agent)
		return fail(s, libssh2_session_last_errno(s->session), err, "libssh2_agent_init");
	if (libssh2_agent_connect(agent) != 0) {
		g_string_append_printf(tried, "ssh-agent (cannot connect%s%s: %s)",
				       sock ? " to " : ", SSH_AUTH_SOCK is not set",
				       sock ? sock : "", ssh_msg(s));
		goto out;
	}
	if (libssh2_agent_list_identities(agent) != 0) {
		g_string_append_printf(tried, "ssh-agent (cannot list keys: %s)", ssh_msg(s));
		goto out;
	}
	g_string_append(tried, "ssh-agent keys:");
	while ((r = libssh2_agent_get_identity(agent, &id, prev)) == 0) {
		g_string_append_printf(tried, " '%s'", id->comment ? id->comment : "(no comment)");
		if (libssh2_agent_userauth(agent, s->user, id) == 0) {
			rc = 0;
			goto out;
		}
		prev = id;
	}
	if (!prev)
		g_string_append(tried, " (none: the agent holds no keys)");
out:
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return rc;
}

static int
authenticate(struct sshx *s, const char *identity, GError **err)
{
	g_autoptr(GString) tried = g_string_new(NULL);
	unsigned int ulen = (unsigned int)strlen(s->user);
	const char *methods = libssh2_userauth_list(s->session, s->user, ulen);

	if (!methods) {
		if (libssh2_userauth_authenticated(s->session))
			return 0;	/* "none" was accepted */
		return fail(s, libssh2_session_last_errno(s->session), err,
			    "cannot list authentication methods");
	}
	if (!strstr(methods, "publickey")) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_AUTH,
			    "%s: the server does not accept public keys for '%s' (it offers: %s)",
			    s->label, s->user, methods);
		return -1;
	}
	if (identity) {
		/* NULL public key: libssh2 derives it from the private key. */
		if (libssh2_userauth_publickey_fromfile_ex(s->session, s->user, ulen, NULL,
							   identity, NULL) == 0)
			return 0;
		g_string_append_printf(tried, "identity file '%s' (%s)", identity, ssh_msg(s));
	} else if (auth_agent(s, tried, err) == 0) {
		return 0;
	} else if (err && *err) {
		return -1;
	} else {
		/* as ssh(1) does without -i: the agent, then the usual key files */
		static const char *const keys[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
		const char *home = g_get_home_dir();

		for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
			g_autofree char *path = g_build_filename(home, ".ssh", keys[i], NULL);

			if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
				continue;
			if (libssh2_userauth_publickey_fromfile_ex(s->session, s->user, ulen, NULL, path,
								   NULL) == 0)
				return 0;
			g_string_append_printf(tried, "; identity file '%s' (%s)", path, ssh_msg(s));
		}
	}
	g_set_error(err, SSHX_ERROR, SSHX_ERROR_AUTH,
		    "%s: authentication as '%s' failed; tried %s", s->label, s->user, tried->str);
	return -1;
}

static gpointer
init_libssh2(gpointer data)
{
	(void)data;
	return GINT_TO_POINTER(libssh2_init(0) == 0 ? 1 : 2);
}

struct sshx *
sshx_connect(const struct sshx_opts *o, GError **err)
{
	static GOnce once = G_ONCE_INIT;
	struct sshx *s = NULL;
	g_autofree char *kh_path = NULL, *identity = NULL;
	int rc;

	g_return_val_if_fail(o && o->host && *o->host, NULL);
	if (GPOINTER_TO_INT(g_once(&once, init_libssh2, NULL)) != 1) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED, "libssh2_init failed");
		return NULL;
	}
	s = g_new0(struct sshx, 1);
	s->fd = -1;
	s->host = g_strdup(o->host);
	s->port = o->port > 0 ? o->port : 22;
	s->user = g_strdup(o->user ? o->user : g_get_user_name());
	s->read_only = o->read_only;
	s->timeout_ms = (int)(o->timeout_s ? o->timeout_s : SSHX_DEFAULT_TIMEOUT_S) * 1000;
	if (s->port == 22)
		s->label = g_strdup_printf("%s@%s", s->user, s->host);
	else if (strchr(s->host, ':'))
		s->label = g_strdup_printf("%s@[%s]:%d", s->user, s->host, s->port);
	else
		s->label = g_strdup_printf("%s@%s:%d", s->user, s->host, s->port);
	kh_path = expand_home(o->known_hosts ? o->known_hosts : "~/.ssh/known_hosts");
	identity = o->identity ? expand_home(o->identity) : NULL;

	if (tcp_connect(s, err) < 0)
		goto fail;
	s->session = libssh2_session_init();
	if (!s->session) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED, "%s: libssh2_session_init failed",
			    s->label);
		goto fail;
	}
	libssh2_session_set_blocking(s->session, 1);
	libssh2_session_set_timeout(s->session, s->timeout_ms);
	rc = libssh2_session_handshake(s->session, s->fd);
	if (rc != 0) {
		GError *e = NULL;

		fail(s, rc, &e, "SSH handshake failed");
		if (e->code != SSHX_ERROR_TIMEOUT)
			e->code = SSHX_ERROR_CONNECT;
		g_propagate_error(err, e);
		goto fail;
	}
	if (check_host_key(s, kh_path, o->accept_new, err) < 0 ||
	    authenticate(s, identity, err) < 0)
		goto fail;
	libssh2_keepalive_config(s->session, 1, SSHX_KEEPALIVE_S);
	return s;
fail:
	sshx_free(s);
	return NULL;
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

/* ------------------------------------------------------------ SFTP */

static LIBSSH2_SFTP *
get_sftp(struct sshx *s, GError **err)
{
	if (!s->sftp) {
		s->sftp = libssh2_sftp_init(s->session);
		if (!s->sftp)
			fail(s, libssh2_session_last_errno(s->session), err, "cannot start SFTP");
	}
	return s->sftp;
}

/* stat or lstat; 1 found, 0 missing, -1 error. */
static int
stat_path(struct sshx *s, const char *path, int how, LIBSSH2_SFTP_ATTRIBUTES *a, GError **err)
{
	long fx;
	int rc;

	if (!get_sftp(s, err))
		return -1;
	memset(a, 0, sizeof(*a));
	rc = libssh2_sftp_stat_ex(s->sftp, path, (unsigned int)strlen(path), how, a);
	if (rc == 0)
		return 1;
	fx = fx_of(s, rc);
	if (fx == (long)LIBSSH2_FX_NO_SUCH_FILE || fx == (long)LIBSSH2_FX_NO_SUCH_PATH)
		return 0;
	return fail(s, rc, err, "stat '%s'", path);
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

	if (!get_sftp(s, err))
		return NULL;
	rc = libssh2_sftp_realpath(s->sftp, path, buf, sizeof(buf) - 1);
	if (rc < 0) {
		fail(s, rc, err, "realpath '%s'", path);
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
	if (!get_sftp(s, err))
		return -1;
	h = libssh2_sftp_open_ex(s->sftp, path, (unsigned int)strlen(path), LIBSSH2_FXF_READ, 0,
				 LIBSSH2_SFTP_OPENFILE);
	if (!h)
		return fail(s, libssh2_session_last_errno(s->session), err, "open '%s'", path);
	while (n < len) {
		ssize_t r = libssh2_sftp_read(h, (char *)buf + n, len - n);

		if (r < 0) {
			fail(s, (int)r, err, "read '%s'", path);
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

	if (!get_sftp(s, err))
		return -1;
	memset(&st, 0, sizeof(st));
	rc = libssh2_sftp_statvfs(s->sftp, path, strlen(path), &st);
	if (rc != 0)
		return fail(s, rc, err, "statvfs '%s'", path);
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

	return rc == 0 ? 0 : fail(s, rc, err, "chmod %lo '%s'", mode, path);
}

int
sshx_mkdir_p(struct sshx *s, const char *dir, long mode, GPtrArray *created, GError **err)
{
	g_auto(GStrv) parts = NULL;
	g_autoptr(GString) cur = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;

	if (refuse_read_only(s, err, "create directory", dir) < 0 || !get_sftp(s, err))
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
				return fail(s, rc, err, "mkdir '%s'", cur->str);
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

	if (refuse_read_only(s, err, "remove directory", dir) < 0 || !get_sftp(s, err))
		return -1;
	rc = libssh2_sftp_rmdir_ex(s->sftp, dir, (unsigned int)strlen(dir));
	return rc == 0 ? 0 : fail(s, rc, err, "rmdir '%s'", dir);
}

int
sshx_unlink(struct sshx *s, const char *path, GError **err)
{
	long fx;
	int rc;

	if (refuse_read_only(s, err, "remove", path) < 0 || !get_sftp(s, err))
		return -1;
	rc = libssh2_sftp_unlink_ex(s->sftp, path, (unsigned int)strlen(path));
	if (rc == 0)
		return 0;
	fx = fx_of(s, rc);
	if (fx == (long)LIBSSH2_FX_NO_SUCH_FILE || fx == (long)LIBSSH2_FX_NO_SUCH_PATH)
		return 0;
	return fail(s, rc, err, "unlink '%s'", path);
}

static int exec_run(struct sshx *s, const char *const *argv, char **out, char **errout,
		    int *status, GError **err);

int
sshx_rename(struct sshx *s, const char *from, const char *to, GError **err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	long fx;
	int rc, r;

	if (refuse_read_only(s, err, "rename", from) < 0 || !get_sftp(s, err))
		return -1;
	rc = libssh2_sftp_rename_ex(s->sftp, from, (unsigned int)strlen(from), to,
				    (unsigned int)strlen(to),
				    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
				    LIBSSH2_SFTP_RENAME_NATIVE);
	if (rc == 0)
		return 0;
	fx = fx_of(s, rc);
	if (fx != (long)LIBSSH2_FX_FAILURE && fx != (long)LIBSSH2_FX_FILE_ALREADY_EXISTS)
		return fail(s, rc, err, "rename '%s' to '%s'", from, to);
	/* SFTP v3 (OpenSSH) will not replace an existing target and libssh2
	 * 1.10 has no posix-rename@openssh.com: let mv(1) call rename(2). */
	r = stat_path(s, to, LIBSSH2_SFTP_LSTAT, &a, NULL);
	if (r != 1)
		return fail(s, rc, err, "rename '%s' to '%s'", from, to);
	{
		const char *argv[] = { "mv", "-f", "-T", "--", from, to, NULL };
		g_autofree char *errout = NULL;
		int status = 0;

		if (exec_run(s, argv, NULL, &errout, &status, err) < 0)
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
	if (refuse_read_only(s, err, "create", path) < 0 || !get_sftp(s, err))
		return -1;
	h = libssh2_sftp_open_ex(s->sftp, path, (unsigned int)strlen(path),
				 LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
				 mode & 07777, LIBSSH2_SFTP_OPENFILE);
	if (!h) {
		long fx;

		rc = libssh2_session_last_errno(s->session);
		fx = fx_of(s, rc);
		/* OpenSSH reports EEXIST as a bare FX_FAILURE: look. */
		if (fx != (long)LIBSSH2_FX_FAILURE && fx != (long)LIBSSH2_FX_FILE_ALREADY_EXISTS)
			return fail(s, rc, err, "create '%s'", path);
		r = stat_path(s, path, LIBSSH2_SFTP_LSTAT, &a, NULL);
		if (r != 1)
			return fail(s, rc, err, "create '%s'", path);
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
		fail(s, rc, err, "chmod %lo '%s'", mode, path);
		libssh2_sftp_close_handle(h);
		return -1;
	}
	rc = libssh2_sftp_close_handle(h);
	return rc == 0 ? 0 : fail(s, rc, err, "close '%s'", path);
}

/* ------------------------------------------------------------ exec */

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

/* Read stdout and stderr together: reading one stream to its end in
 * blocking mode while the other fills the channel window would hang. */
static int
exec_drain(struct sshx *s, LIBSSH2_CHANNEL *ch, const char *cmd, GString *o, GString *e,
	   GError **err)
{
	char buf[32768];
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
			} else if (n[i] < 0 && n[i] != LIBSSH2_ERROR_EAGAIN) {
				fail(s, (int)n[i], err, "command '%s': read", cmd);
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

static int
exec_run(struct sshx *s, const char *const *argv, char **out, char **errout, int *status,
	 GError **err)
{
	g_autoptr(GString) cmd = g_string_new(NULL);
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
	for (const char *const *a = argv; *a; a++) {
		g_autofree char *q = g_shell_quote(*a);

		if (cmd->len)
			g_string_append_c(cmd, ' ');
		g_string_append(cmd, q);
	}
	ch = libssh2_channel_open_session(s->session);
	if (!ch)
		return fail(s, libssh2_session_last_errno(s->session), err,
			    "command '%s': cannot open a channel", cmd->str);
	rc = libssh2_channel_exec(ch, cmd->str);
	if (rc != 0) {
		fail(s, rc, err, "command '%s': cannot start", cmd->str);
		goto out;
	}
	rc = libssh2_channel_send_eof(ch);
	if (rc != 0) {
		fail(s, rc, err, "command '%s': cannot close its stdin", cmd->str);
		goto out;
	}
	if (exec_drain(s, ch, cmd->str, o, e, err) < 0)
		goto out;
	rc = libssh2_channel_close(ch);
	if (rc == 0)
		rc = libssh2_channel_wait_closed(ch);
	if (rc != 0) {
		fail(s, rc, err, "command '%s': closing the channel", cmd->str);
		goto out;
	}
	/* get_exit_status() says 0 when there was no exit-status message
	 * (killed by a signal): look for a signal first. */
	rc = libssh2_channel_get_exit_signal(ch, &signame, &siglen, NULL, NULL, NULL, NULL);
	if (rc == 0 && signame) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND,
			    "%s: command '%s' killed by signal %s: %s", s->label, cmd->str,
			    signame, g_strstrip(e->str));
		goto out;
	}
	code = libssh2_channel_get_exit_status(ch);
	if (!status && code != 0) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND,
			    "%s: command '%s' failed with exit status %d: %s", s->label, cmd->str,
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
	if (refuse_read_only(s, err, "run", argv && argv[0] ? argv[0] : "(nothing)") < 0)
		return -1;
	return exec_run(s, argv, out, errout, status, err);
}

int
sshx_sha256(struct sshx *s, const char *path, char out[65], GError **err)
{
	/* Read-only sessions may do this: sha256sum only reads. */
	const char *argv[] = { "sha256sum", "--", path, NULL };
	g_autofree char *o = NULL, *e = NULL;
	const char *p;
	int status = 0;

	if (exec_run(s, argv, &o, &e, &status, err) < 0)
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

	if (refuse_read_only(dst, err, "write", dst_path) < 0 || !get_sftp(src, err) ||
	    !get_sftp(dst, err))
		return -1;
	sh = libssh2_sftp_open_ex(src->sftp, src_path, (unsigned int)strlen(src_path),
				  LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (!sh) {
		fail(src, libssh2_session_last_errno(src->session), err, "copy: open source '%s'",
		     src_path);
		goto out;
	}
	memset(&a, 0, sizeof(a));
	rc = libssh2_sftp_fstat(sh, &a);
	if (rc != 0) {
		fail(src, rc, err, "copy: fstat source '%s'", src_path);
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
		fail(dst, libssh2_session_last_errno(dst->session), err,
		     "copy: open destination '%s'%s", dst_path,
		     offset ? " to resume" : "");
		goto out;
	}
	if (offset) {
		memset(&a, 0, sizeof(a));
		rc = libssh2_sftp_fstat(dh, &a);
		if (rc != 0) {
			fail(dst, rc, err, "copy: fstat destination '%s'", dst_path);
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
			fail(src, (int)n, err, "copy: read '%s' at %" G_GUINT64_FORMAT, src_path,
			     offset + copied);
			goto out;
		}
		if (n == 0)
			break;
		while (done < n) {
			/* May also take less than given: write the rest again. */
			ssize_t w = libssh2_sftp_write(dh, buf + done, (size_t)(n - done));

			if (w < 0) {
				fail(dst, (int)w, err, "copy: write '%s' at %" G_GUINT64_FORMAT,
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
			fail(dst, rc, err, "copy: truncate '%s'", dst_path);
			goto out;
		}
	}
	/* the server flushes the whole file first: gigabytes of dirty pages
	 * can take far longer than one ordinary blocking call */
	libssh2_session_set_timeout(dst->session, SSHX_FSYNC_TIMEOUT_S * 1000);
	rc = libssh2_sftp_fsync(dh);
	libssh2_session_set_timeout(dst->session, dst->timeout_ms);
	if (rc != 0 && fx_of(dst, rc) != (long)LIBSSH2_FX_OP_UNSUPPORTED) {
		fail(dst, rc, err, "copy: fsync '%s'", dst_path);
		goto out;
	}
	rc = libssh2_sftp_close_handle(dh);
	dh = NULL;
	if (rc != 0) {
		fail(dst, rc, err, "copy: close '%s'", dst_path);
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
