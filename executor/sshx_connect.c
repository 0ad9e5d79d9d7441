/* sshx_connect.c: sshx_connect(): TCP connect, SSH handshake, host key
 * check against known_hosts, authentication. */
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

#include "sshx_priv.h"

#define SSHX_DEFAULT_TIMEOUT_S	60

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

/* The key the server presented, and how known_hosts names it. */
struct host_key {
	const char *key;	/* raw, borrowed from the session */
	size_t len;
	int kbit;		/* LIBSSH2_KNOWNHOST_KEY_* of its type */
	const char *tname;	/* "ssh-ed25519", ... */
	char *fp;		/* OpenSSH's fingerprint: "SHA256:..." */
	char *name;		/* "host", or "[host]:port" for a port other than 22 */
};

static int
host_key_get(struct sshx *s, struct host_key *hk, GError **err)
{
	g_autofree char *b64 = NULL;
	const char *hash;
	int type = 0;

	hk->key = libssh2_session_hostkey(s->session, &hk->len, &type);
	hash = libssh2_hostkey_hash(s->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (!hk->key || !hash)
		return sshx_fail(s, libssh2_session_last_errno(s->session), err,
				 "cannot get the host key");
	hk->tname = key_type_name(type, &hk->kbit);
	if (!hk->tname) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_UNKNOWN,
			    "%s: host key of unsupported type %d", s->label, type);
		return -1;
	}
	/* OpenSSH's form: SHA256:base64 without padding. */
	b64 = g_base64_encode((const guchar *)hash, 32);
	for (char *e = b64 + strlen(b64); e > b64 && e[-1] == '='; )
		*--e = '\0';
	hk->fp = g_strconcat("SHA256:", b64, NULL);
	/* Own "[host]:port" name and port -1: libssh2's checkp() with a port
	 * would also accept a plain "host" line for a non-22 port. */
	hk->name = s->port == 22 ? g_strdup(s->host) : g_strdup_printf("[%s]:%d", s->host, s->port);
	return 0;
}

/* Look @hk up in @kh (read from @kh_path): 1 it matches, 0 the name is
 * not there (with any key type), -1 with *err set otherwise (a changed
 * key, a key of another type, or libssh2 could not check). */
static int
known_hosts_check(struct sshx *s, LIBSSH2_KNOWNHOSTS *kh, const struct host_key *hk,
		  const char *kh_path, GError **err)
{
	int chk = libssh2_knownhost_checkp(kh, hk->name, -1, hk->key, hk->len,
					   LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					   LIBSSH2_KNOWNHOST_KEYENC_RAW | hk->kbit,
					   NULL);

	switch (chk) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 1;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_CHANGED,
			    "%s: WARNING: HOST KEY CHANGED for '%s': it now presents %s key %s, "
			    "which does not match known_hosts '%s'. Possible man-in-the-middle "
			    "attack (or the host was reinstalled); refusing to connect. If the "
			    "change is expected, remove the old key with ssh-keygen -R '%s' -f '%s' "
			    "and add the new one after checking its fingerprint",
			    s->label, hk->name, hk->tname, hk->fp, kh_path, hk->name, kh_path);
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		break;
	default:
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_KNOWN_HOSTS,
			    "%s: cannot check the host key against '%s': %s", s->label, kh_path,
			    sshx_ssh_msg(s));
		return -1;
	}
	/* Not found with this key type.  A key of another type for the same
	 * name is suspicious (downgrade?): never add one silently. */
	if (libssh2_knownhost_checkp(kh, hk->name, -1, hk->key, hk->len,
				     LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW,
				     NULL) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_CHANGED,
			    "%s: WARNING: '%s' presents %s key %s, but known_hosts '%s' holds a key "
			    "of another type for it. Possible man-in-the-middle attack; refusing "
			    "to connect. If the change is expected, remove the old key with "
			    "ssh-keygen -R '%s' -f '%s'", s->label, hk->name, hk->tname, hk->fp,
			    kh_path, hk->name, kh_path);
		return -1;
	}
	return 0;
}

/* accept_new: add @hk to @kh and append its line to @kh_path. */
static int
known_hosts_add(struct sshx *s, LIBSSH2_KNOWNHOSTS *kh, const struct host_key *hk,
		const char *kh_path, GError **err)
{
	struct libssh2_knownhost *entry = NULL;
	size_t outlen = 0;
	char line[16384];

	if (libssh2_knownhost_addc(kh, hk->name, NULL, hk->key, hk->len, NULL, 0,
				   LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
				   hk->kbit, &entry) < 0 ||
	    libssh2_knownhost_writeline(kh, entry, line, sizeof(line), &outlen,
					LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_KNOWN_HOSTS,
			    "%s: cannot add the host key of '%s' to known_hosts: %s", s->label,
			    hk->name, sshx_ssh_msg(s));
		return -1;
	}
	if (append_known_host(s, kh_path, line, err) < 0)
		return -1;
	s->key_added = TRUE;
	return 0;
}

static int
check_host_key(struct sshx *s, const char *kh_path, gboolean accept_new, GError **err)
{
	struct host_key hk = { 0 };
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	g_autofree char *scan = NULL;
	int rc = -1, found;

	if (host_key_get(s, &hk, err) < 0)
		return -1;	/* hk holds nothing to free */
	kh = libssh2_knownhost_init(s->session);
	if (!kh) {
		sshx_fail(s, libssh2_session_last_errno(s->session), err, "libssh2_knownhost_init");
		goto out;
	}
	if (g_file_test(kh_path, G_FILE_TEST_EXISTS)) {
		int n = libssh2_knownhost_readfile(kh, kh_path, LIBSSH2_KNOWNHOST_FILE_OPENSSH);

		if (n < 0) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_KNOWN_HOSTS,
				    "%s: cannot read known_hosts '%s': %s (libssh2 error %d)",
				    s->label, kh_path, sshx_ssh_msg(s), n);
			goto out;
		}
	}
	found = known_hosts_check(s, kh, &hk, kh_path, err);
	if (found != 0) {
		rc = found > 0 ? 0 : -1;
		goto out;
	}
	if (!accept_new) {
		scan = s->port == 22 ? g_strdup_printf("ssh-keyscan -t %s %s", hk.tname, s->host)
				     : g_strdup_printf("ssh-keyscan -p %d -t %s %s", s->port,
						       hk.tname, s->host);
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_HOSTKEY_UNKNOWN,
			    "%s: host '%s' is not in known_hosts '%s'; it presents %s key %s. "
			    "Refusing to connect. After checking the fingerprint out of band, "
			    "add it with: %s >> '%s', or run with --accept-new-host-keys",
			    s->label, hk.name, kh_path, hk.tname, hk.fp, scan, kh_path);
		goto out;
	}
	if (known_hosts_add(s, kh, &hk, kh_path, err) < 0)
		goto out;
	rc = 0;
out:
	if (kh)
		libssh2_knownhost_free(kh);
	g_free(hk.fp);
	g_free(hk.name);
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
		return sshx_fail(s, libssh2_session_last_errno(s->session), err,
				 "libssh2_agent_init");
	if (libssh2_agent_connect(agent) != 0) {
		g_string_append_printf(tried, "ssh-agent (cannot connect%s%s: %s)",
				       sock ? " to " : ", SSH_AUTH_SOCK is not set",
				       sock ? sock : "", sshx_ssh_msg(s));
		goto out;
	}
	if (libssh2_agent_list_identities(agent) != 0) {
		g_string_append_printf(tried, "ssh-agent (cannot list keys: %s)", sshx_ssh_msg(s));
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
		return sshx_fail(s, libssh2_session_last_errno(s->session), err,
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
		g_string_append_printf(tried, "identity file '%s' (%s)", identity, sshx_ssh_msg(s));
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
			g_string_append_printf(tried, "; identity file '%s' (%s)", path,
					       sshx_ssh_msg(s));
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

		sshx_fail(s, rc, &e, "SSH handshake failed");
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
