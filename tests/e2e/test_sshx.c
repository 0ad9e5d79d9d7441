/* End-to-end tests of executor/sshx.c against the real lab (tests/lab).
 * Needs the lab's env in the environment (tests/e2e/sshx_test.sh does
 * `set -a; . $LAB_DIR/env`).  Remote effects are checked from outside,
 * through $LAB_STATE_HOST_X, never through sshx itself. */
#include "../../executor/sshx.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>

static char *tmpdir;		/* local scratch, removed at the end */

/* Non-fatal assertions go on after a failure: clear the error so that
 * the next call into sshx does not set it over the top. */
#define assert_no_error(e) do {		\
		g_assert_no_error(e);	\
		g_clear_error(&(e));	\
	} while (0)

/* A lab variable; a missing one fails the test (never a silent skip). */
static const char *
lab(const char *name)
{
	const char *v = g_getenv(name);

	if (!v || !*v) {
		g_test_message("%s is not set: run through tests/e2e/sshx_test.sh with the lab up",
			       name);
		g_test_fail();
		return NULL;
	}
	return v;
}

static struct sshx *
lab_connect(const char *ip_var, gboolean read_only, GError **err)
{
	struct sshx_opts o = {
		.host = lab(ip_var), .user = "root", .identity = lab("LAB_KEY"),
		.known_hosts = lab("LAB_KNOWN_HOSTS"), .read_only = read_only, .timeout_s = 20,
	};

	if (!o.host || !o.identity || !o.known_hosts)
		return NULL;
	return sshx_connect(&o, err);
}

/* Run a local command; TRUE if it exited 0. */
static gboolean
run(const char *const *argv)
{
	g_autoptr(GError) e = NULL;
	int status = -1;

	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
			  &status, &e)) {
		g_test_message("spawn %s: %s", argv[0], e->message);
		return FALSE;
	}
	return g_spawn_check_wait_status(status, NULL);
}

static void
rm_rf(const char *path)
{
	const char *argv[] = { "rm", "-rf", "--", path, NULL };

	run(argv);
}

/* Known, non-repeating bytes. */
static GBytes *
pattern(gsize len, guint32 seed)
{
	g_autoptr(GRand) r = g_rand_new_with_seed(seed);
	guint8 *b = g_malloc(len);

	for (gsize i = 0; i < len; i++)
		b[i] = (guint8)g_rand_int(r);
	return g_bytes_new_take(b, len);
}

static char *
sha256_hex(const void *data, gsize len)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

/* The base64 key blob of @ip's line in the lab known_hosts. */
static char *
lab_host_key(const char *ip)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	const char *kh = lab("LAB_KNOWN_HOSTS");

	if (!kh || !g_file_get_contents(kh, &text, NULL, NULL))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = g_strsplit(*l, " ", 4);

		if (g_strv_length(f) >= 3 && g_str_equal(f[0], ip))
			return g_strdup(f[2]);
	}
	return NULL;
}

/* OpenSSH-style "SHA256:..." fingerprint of a base64 key blob. */
static char *
fingerprint(const char *b64)
{
	gsize len = 0;
	g_autofree guchar *blob = g_base64_decode(b64, &len);
	g_autoptr(GChecksum) c = g_checksum_new(G_CHECKSUM_SHA256);
	guint8 digest[32];
	gsize dlen = sizeof(digest);
	g_autofree char *enc = NULL;

	g_checksum_update(c, blob, len);
	g_checksum_get_digest(c, digest, &dlen);
	enc = g_base64_encode(digest, dlen);
	for (char *e = enc + strlen(enc); e > enc && e[-1] == '='; )
		*--e = '\0';
	return g_strconcat("SHA256:", enc, NULL);
}

static char *
write_tmp(const char *name, const char *content)
{
	char *path = g_build_filename(tmpdir, name, NULL);

	g_assert_true(g_file_set_contents(path, content, -1, NULL));
	return path;
}

/* ------------------------------------------------------------ connect */

static void
test_connect_host(gconstpointer data)
{
	const char *h = data;	/* "A" */
	g_autofree char *ipvar = g_strdup_printf("LAB_IP_HOST_%s", h);
	g_autofree char *want = g_strdup_printf("host-%c\n", g_ascii_tolower(h[0]));
	g_autoptr(GError) e = NULL;
	g_autoptr(sshx) s = lab_connect(ipvar, FALSE, &e);
	const char *argv[] = { "cat", "/etc/libvirt/lab-host", NULL };
	g_autofree char *out = NULL;

	assert_no_error(e);
	g_assert_nonnull(s);
	if (!s)
		return;
	g_assert_cmpstr(sshx_host(s), ==, g_getenv(ipvar));
	g_assert_false(sshx_host_key_added(s));
	/* landed on the right host: its marker file */
	g_assert_cmpint(sshx_exec(s, argv, &out, NULL, NULL, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpstr(out, ==, want);
}

static void
test_connect_closed_port(void)
{
	struct sshx_opts o = { .host = "127.0.0.9", .port = 22, .user = "root",
			       .identity = lab("LAB_KEY"), .known_hosts = lab("LAB_KNOWN_HOSTS"),
			       .timeout_s = 10 };
	g_autoptr(GError) e = NULL;
	gint64 t0 = g_get_monotonic_time();
	struct sshx *s = sshx_connect(&o, &e);
	gint64 ms = (g_get_monotonic_time() - t0) / 1000;

	g_assert_null(s);
	sshx_free(s);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_CONNECT);
	if (e) {
		g_test_message("error: %s", e->message);
		g_assert_nonnull(strstr(e->message, "127.0.0.9"));
		g_assert_nonnull(strstr(e->message, "refused"));
	}
	g_assert_cmpint(ms, <, 2000);
}

/* A peer that accepts TCP but never speaks SSH: an error, not a hang. */
struct silent {
	struct sshx_opts o;
	GMutex lock;
	GCond cond;
	gboolean done;
	GError *err;
	gint64 ms;
};

static gpointer
silent_connect(gpointer data)
{
	struct silent *w = data;
	gint64 t0 = g_get_monotonic_time();
	GError *e = NULL;
	struct sshx *s = sshx_connect(&w->o, &e);

	sshx_free(s);
	g_mutex_lock(&w->lock);
	w->ms = (g_get_monotonic_time() - t0) / 1000;
	w->err = s ? NULL : e;
	if (s)
		g_clear_error(&e);
	w->done = TRUE;
	g_cond_signal(&w->cond);
	g_mutex_unlock(&w->lock);
	return NULL;
}

static void
test_connect_silent_peer(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_autofree char *kh = write_tmp("kh-silent", "");
	struct silent w = { .o = { .host = "127.0.0.1", .user = "root",
				   .identity = lab("LAB_KEY"), .known_hosts = kh,
				   .timeout_s = 2 } };
	gint64 end = g_get_monotonic_time() + 15 * G_TIME_SPAN_SECOND;
	GThread *th;

	g_mutex_init(&w.lock);
	g_cond_init(&w.cond);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	w.o.port = ntohs(sa.sin_port);
	th = g_thread_new("silent", silent_connect, &w);
	g_mutex_lock(&w.lock);
	while (!w.done && g_cond_wait_until(&w.cond, &w.lock, end))
		;
	if (!w.done) {
		/* Hung: closing the listener resets the queued connection. */
		g_test_message("sshx_connect still blocked after 15 s");
		g_test_fail();
	}
	g_mutex_unlock(&w.lock);
	close(fd);
	g_thread_join(th);
	g_assert_error(w.err, SSHX_ERROR, SSHX_ERROR_TIMEOUT);
	if (w.err)
		g_test_message("error after %" G_GINT64_FORMAT " ms: %s", w.ms, w.err->message);
	g_assert_cmpint(w.ms, >=, 1500);
	g_assert_cmpint(w.ms, <, 8000);
	g_clear_error(&w.err);
	g_mutex_clear(&w.lock);
	g_cond_clear(&w.cond);
}

/* ------------------------------------------------------------ host keys */

static void
test_hostkey_unknown(void)
{
	g_autofree char *kh = write_tmp("kh-empty", "");
	g_autofree char *key = lab_host_key("127.0.0.2");
	g_autofree char *fp = key ? fingerprint(key) : NULL;
	g_autofree char *after = NULL;
	struct sshx_opts o = { .host = "127.0.0.2", .user = "root", .identity = lab("LAB_KEY"),
			       .known_hosts = kh, .timeout_s = 20 };
	g_autoptr(GError) e = NULL;
	struct sshx *s = sshx_connect(&o, &e);

	g_assert_null(s);
	sshx_free(s);
	g_assert_nonnull(fp);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_HOSTKEY_UNKNOWN);
	if (e && fp) {
		g_test_message("error: %s", e->message);
		g_assert_nonnull(strstr(e->message, "127.0.0.2"));
		g_assert_nonnull(strstr(e->message, "ssh-ed25519"));
		g_assert_nonnull(strstr(e->message, fp));
		g_assert_nonnull(strstr(e->message, "ssh-keyscan"));
		g_assert_nonnull(strstr(e->message, "--accept-new-host-keys"));
	}
	g_assert_true(g_file_get_contents(kh, &after, NULL, NULL));
	g_assert_cmpstr(after, ==, "");	/* nothing written */
}

static void
test_hostkey_accept_new(void)
{
	/* a comment and another host's line must survive */
	g_autofree char *kh = write_tmp("kh-accept", "# keep me\n127.0.0.99 ssh-ed25519 "
					"AAAAC3NzaC1lZDI1NTE5AAAAIH80PhB/iAm2aI/HL/hJeX3vJHKX/fb1iXtKXrmI1Qfs");
	g_autofree char *key = lab_host_key("127.0.0.3");
	g_autofree char *text = NULL, *want = NULL, *text2 = NULL;
	struct sshx_opts o = { .host = "127.0.0.3", .user = "root", .identity = lab("LAB_KEY"),
			       .known_hosts = kh, .accept_new = TRUE, .timeout_s = 20 };
	g_autoptr(GError) e = NULL;
	struct sshx *s = sshx_connect(&o, &e);

	assert_no_error(e);
	g_assert_nonnull(s);
	g_assert_true(s && sshx_host_key_added(s));
	sshx_free(s);
	g_assert_true(g_file_get_contents(kh, &text, NULL, NULL));
	want = g_strdup_printf("# keep me\n127.0.0.99 ssh-ed25519 "
			       "AAAAC3NzaC1lZDI1NTE5AAAAIH80PhB/iAm2aI/HL/hJeX3vJHKX/fb1iXtKXrmI1Qfs\n"
			       "127.0.0.3 ssh-ed25519 %s\n", key ? key : "?");
	g_assert_cmpstr(text, ==, want);

	/* now known: a strict second connect works and writes nothing */
	o.accept_new = FALSE;
	s = sshx_connect(&o, &e);
	assert_no_error(e);
	g_assert_nonnull(s);
	g_assert_false(s && sshx_host_key_added(s));
	sshx_free(s);
	g_assert_true(g_file_get_contents(kh, &text2, NULL, NULL));
	g_assert_cmpstr(text2, ==, want);
}

static void
test_hostkey_changed(void)
{
	/* host-a's real key written down for host-b */
	g_autofree char *akey = lab_host_key("127.0.0.2");
	g_autofree char *line = g_strdup_printf("127.0.0.3 ssh-ed25519 %s\n", akey ? akey : "x");
	g_autofree char *kh = write_tmp("kh-changed", line);
	g_autofree char *after = NULL;
	struct sshx_opts o = { .host = "127.0.0.3", .user = "root", .identity = lab("LAB_KEY"),
			       .known_hosts = kh, .timeout_s = 20 };

	for (int accept = 0; accept < 2; accept++) {
		g_autoptr(GError) e = NULL;
		struct sshx *s;

		o.accept_new = accept;	/* accept_new must not override a mismatch */
		s = sshx_connect(&o, &e);
		g_assert_null(s);
		sshx_free(s);
		g_assert_error(e, SSHX_ERROR, SSHX_ERROR_HOSTKEY_CHANGED);
		if (e) {
			g_test_message("error: %s", e->message);
			g_assert_nonnull(strstr(e->message, "HOST KEY CHANGED"));
			g_assert_nonnull(strstr(e->message, "man-in-the-middle"));
			g_assert_nonnull(strstr(e->message, "127.0.0.3"));
		}
	}
	g_assert_true(g_file_get_contents(kh, &after, NULL, NULL));
	g_assert_cmpstr(after, ==, line);
}

/* known_hosts has only a key of another type: refused even with accept_new */
static void
test_hostkey_other_type(void)
{
	g_autofree char *keyf = g_build_filename(tmpdir, "ecdsa", NULL);
	g_autofree char *pubf = g_strconcat(keyf, ".pub", NULL);
	const char *argv[] = { "ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", keyf, NULL };
	g_autofree char *pub = NULL, *line = NULL, *kh = NULL;
	g_auto(GStrv) f = NULL;
	struct sshx_opts o = { .host = "127.0.0.3", .user = "root", .identity = lab("LAB_KEY"),
			       .accept_new = TRUE, .timeout_s = 20 };
	g_autoptr(GError) e = NULL;
	struct sshx *s;

	g_assert_true(run(argv));
	g_assert_true(g_file_get_contents(pubf, &pub, NULL, NULL));
	if (!pub)
		return;
	f = g_strsplit(pub, " ", 3);
	line = g_strdup_printf("127.0.0.3 %s %s\n", f[0], f[1]);
	kh = write_tmp("kh-other-type", line);
	o.known_hosts = kh;
	s = sshx_connect(&o, &e);
	g_assert_null(s);
	sshx_free(s);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_HOSTKEY_CHANGED);
	if (e)
		g_test_message("error: %s", e->message);
}

/* ------------------------------------------------------------ auth */

static void
test_auth_wrong_identity(void)
{
	g_autofree char *keyf = g_build_filename(tmpdir, "wrong_ed25519", NULL);
	g_autofree char *missing = g_build_filename(tmpdir, "no-such-key", NULL);
	const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyf, NULL };
	struct sshx_opts o = { .host = "127.0.0.2", .user = "root",
			       .known_hosts = lab("LAB_KNOWN_HOSTS"), .timeout_s = 20 };
	const char *ids[] = { keyf, missing };

	g_assert_true(run(argv));
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_autoptr(GError) e = NULL;
		struct sshx *s;

		o.identity = ids[i];
		s = sshx_connect(&o, &e);
		g_assert_null(s);
		sshx_free(s);
		g_assert_error(e, SSHX_ERROR, SSHX_ERROR_AUTH);
		if (e) {
			g_test_message("error: %s", e->message);
			g_assert_nonnull(strstr(e->message, "authentication as 'root' failed"));
			g_assert_nonnull(strstr(e->message, ids[i]));
			g_assert_nonnull(strstr(e->message, "127.0.0.2"));
		}
	}
}

/* No identity: the agent's keys are tried, and listed when none works. */
static void
test_auth_agent(void)
{
	g_autofree char *sock = g_build_filename(tmpdir, "agent.sock", NULL);
	g_autofree char *wrong = g_build_filename(tmpdir, "agent_wrong", NULL);
	const char *agent[] = { "ssh-agent", "-D", "-a", sock, NULL };
	const char *keygen[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
				 "the-wrong-key", "-f", wrong, NULL };
	const char *add_wrong[] = { "ssh-add", "-q", wrong, NULL };
	const char *add_lab[] = { "ssh-add", "-q", lab("LAB_KEY"), NULL };
	struct sshx_opts o = { .host = "127.0.0.4", .user = "root",
			       .known_hosts = lab("LAB_KNOWN_HOSTS"), .timeout_s = 20 };
	g_autoptr(GError) e = NULL;
	GPid pid = 0;
	struct sshx *s;

	g_assert_true(run(keygen));
	g_assert_true(g_spawn_async(NULL, (char **)agent, NULL,
				    G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
				    G_SPAWN_DO_NOT_REAP_CHILD,
				    NULL, NULL, &pid, &e));
	assert_no_error(e);
	if (!pid)
		return;
	for (int i = 0; i < 100 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
		g_usleep(20000);
	g_setenv("SSH_AUTH_SOCK", sock, TRUE);

	/* only a key the host does not know */
	g_assert_true(run(add_wrong));
	s = sshx_connect(&o, &e);
	g_assert_null(s);
	sshx_free(s);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_AUTH);
	if (e) {
		g_test_message("error: %s", e->message);
		g_assert_nonnull(strstr(e->message, "ssh-agent"));
		g_assert_nonnull(strstr(e->message, "the-wrong-key"));
	}
	g_clear_error(&e);

	/* and with the lab key too */
	g_assert_true(run(add_lab));
	s = sshx_connect(&o, &e);
	assert_no_error(e);
	g_assert_nonnull(s);
	sshx_free(s);

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	g_spawn_close_pid(pid);
	g_unsetenv("SSH_AUTH_SOCK");
}

/* ------------------------------------------------------------ SFTP ops */

static guint32
local_mode(const char *path)
{
	struct stat st;

	return g_stat(path, &st) == 0 ? (guint32)st.st_mode : 0;
}

/* Write in place (g_file_set_contents() would replace the inode). */
static gboolean
overwrite(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	gboolean ok;

	if (!f)
		return FALSE;
	ok = fputs(content, f) >= 0;
	return fclose(f) == 0 && ok;
}

static void
test_sftp_ops(void)
{
	const char *state = lab("LAB_STATE_HOST_B");
	g_autoptr(GError) e = NULL;
	g_autoptr(sshx) s = lab_connect("LAB_IP_HOST_B", FALSE, &e);
	g_autofree char *rbase = g_strdup_printf("/srv/vms/sshx-ops-%d", (int)getpid());
	g_autofree char *lbase = g_strdup_printf("%s/srv/vms/sshx-ops-%d", state ? state : "",
						 (int)getpid());
	g_autofree char *rdir = g_strconcat(rbase, "/a/b", NULL);
	g_autofree char *ldir = g_strconcat(lbase, "/a/b", NULL);
	g_autofree char *rf = g_strconcat(rdir, "/f", NULL), *lf = g_strconcat(ldir, "/f", NULL);
	g_autofree char *rg = g_strconcat(rdir, "/g", NULL), *lg = g_strconcat(ldir, "/g", NULL);
	g_autofree char *rh = g_strconcat(rdir, "/h", NULL), *lh = g_strconcat(ldir, "/h", NULL);
	g_autofree char *got = NULL;
	g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func(g_free);
	gboolean exists = TRUE, made = FALSE;
	guint64 size = 99, avail = 0;
	guint32 mode = 0;
	struct statvfs vfs;

	assert_no_error(e);
	if (!s || !state)
		return;
	rm_rf(lbase);

	/* stat: missing is not an error */
	g_assert_cmpint(sshx_stat(s, rf, &exists, &size, &mode, &e), ==, 0);
	assert_no_error(e);
	g_assert_false(exists);

	/* mkdir_p: exact modes (not masked by the umask: 0770 is not 0750),
	 * created list outermost first */
	g_assert_cmpint(sshx_mkdir_p(s, rdir, 0770, created, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpuint(created->len, ==, 3);
	if (created->len == 3) {
		g_autofree char *ra = g_strconcat(rbase, "/a", NULL);

		g_assert_cmpstr(created->pdata[0], ==, rbase);
		g_assert_cmpstr(created->pdata[1], ==, ra);
		g_assert_cmpstr(created->pdata[2], ==, rdir);
	}
	g_assert_true(g_file_test(ldir, G_FILE_TEST_IS_DIR));
	g_assert_cmpuint(local_mode(ldir), ==, S_IFDIR | 0770);
	g_assert_cmpuint(local_mode(lbase), ==, S_IFDIR | 0770);
	g_ptr_array_set_size(created, 0);
	g_assert_cmpint(sshx_mkdir_p(s, rdir, 0770, created, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpuint(created->len, ==, 0);

	/* create_empty: O_EXCL, exact mode; existing = not created, no error */
	g_assert_cmpint(sshx_create_empty(s, rf, 0660, &made, &e), ==, 0);
	assert_no_error(e);
	g_assert_true(made);
	g_assert_true(g_file_test(lf, G_FILE_TEST_IS_REGULAR));
	g_assert_cmpuint(local_mode(lf), ==, S_IFREG | 0660);
	g_assert_true(overwrite(lf, "hello"));
	g_assert_cmpint(sshx_create_empty(s, rf, 0600, &made, &e), ==, 0);
	assert_no_error(e);
	g_assert_false(made);
	g_assert_true(g_file_get_contents(lf, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "hello");	/* not truncated */
	g_clear_pointer(&got, g_free);
	g_assert_cmpint(sshx_create_empty(s, rdir, 0600, &made, &e), ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_EXISTS);
	g_clear_error(&e);

	/* stat sees what we wrote from outside */
	g_assert_cmpint(sshx_stat(s, rf, &exists, &size, &mode, &e), ==, 0);
	assert_no_error(e);
	g_assert_true(exists);
	g_assert_cmpuint(size, ==, 5);
	g_assert_cmpuint(mode, ==, S_IFREG | 0660);

	/* mkdir_p through a file */
	g_assert_cmpint(sshx_mkdir_p(s, rf, 0755, NULL, &e), ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_EXISTS);
	g_clear_error(&e);

	/* rename to a new name, then over an existing file */
	g_assert_cmpint(sshx_rename(s, rf, rg, &e), ==, 0);
	assert_no_error(e);
	g_assert_false(g_file_test(lf, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_get_contents(lg, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "hello");
	g_clear_pointer(&got, g_free);
	g_assert_true(g_file_set_contents(lh, "old", 3, NULL));
	g_assert_cmpint(sshx_rename(s, rg, rh, &e), ==, 0);
	assert_no_error(e);
	g_assert_false(g_file_test(lg, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_get_contents(lh, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "hello");
	g_clear_pointer(&got, g_free);
	/* rename of a missing file names it */
	g_assert_cmpint(sshx_rename(s, rg, rf, &e), ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_NOT_FOUND);
	if (e) {
		g_test_message("error: %s", e->message);
		g_assert_nonnull(strstr(e->message, rg));
		g_assert_nonnull(strstr(e->message, "no such file"));
	}
	g_clear_error(&e);

	/* rmdir of a non-empty directory fails and leaves it */
	g_assert_cmpint(sshx_rmdir(s, rdir, &e), ==, -1);
	g_assert_nonnull(e);
	g_clear_error(&e);
	g_assert_true(g_file_test(ldir, G_FILE_TEST_IS_DIR));

	/* unlink; a missing file is fine */
	g_assert_cmpint(sshx_unlink(s, rh, &e), ==, 0);
	assert_no_error(e);
	g_assert_false(g_file_test(lh, G_FILE_TEST_EXISTS));
	g_assert_cmpint(sshx_unlink(s, rh, &e), ==, 0);
	assert_no_error(e);

	/* statvfs: same filesystem as seen from here */
	g_assert_cmpint(sshx_statvfs_avail(s, rdir, &avail, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpint(statvfs(ldir, &vfs), ==, 0);
	{
		guint64 local = (guint64)vfs.f_bavail * vfs.f_frsize;
		guint64 diff = local > avail ? local - avail : avail - local;

		g_test_message("avail remote %" G_GUINT64_FORMAT " local %" G_GUINT64_FORMAT,
			       avail, local);
		g_assert_cmpuint(avail, >, 0);
		g_assert_cmpuint(diff, <, 256u * 1024 * 1024);
	}
	g_assert_cmpint(sshx_statvfs_avail(s, "/srv/vms/no/such/dir", &avail, &e), ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_NOT_FOUND);
	g_clear_error(&e);

	/* rmdir innermost first, as a rollback would */
	for (const char *d = rdir; ; ) {
		g_autofree char *parent = g_path_get_dirname(d);
		g_autofree char *local = g_strconcat(state, d, NULL);

		g_assert_cmpint(sshx_rmdir(s, d, &e), ==, 0);
		assert_no_error(e);
		g_assert_false(g_file_test(local, G_FILE_TEST_EXISTS));
		if (g_str_equal(d, rbase))
			break;
		d = g_intern_string(parent);
	}
	g_assert_cmpint(sshx_rmdir(s, rbase, &e), ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_NOT_FOUND);
	g_clear_error(&e);
	rm_rf(lbase);
}

/* ------------------------------------------------------------ exec, sha256 */

static void
test_exec(void)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(sshx) s = lab_connect("LAB_IP_HOST_C", FALSE, &e);
	const char *echo[] = { "printf", "%s\\n", "a b", "$(id)", "'q'", "\"d\"", "`id`;x", NULL };
	const char *fail3[] = { "sh", "-c", "echo oops >&2; exit 3", NULL };
	g_autofree char *out = NULL, *err_out = NULL;
	int status = -1;

	assert_no_error(e);
	if (!s)
		return;
	g_assert_cmpint(sshx_exec(s, echo, &out, &err_out, &status, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpint(status, ==, 0);
	g_assert_cmpstr(out, ==, "a b\n$(id)\n'q'\n\"d\"\n`id`;x\n");
	g_assert_cmpstr(err_out, ==, "");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err_out, g_free);

	g_assert_cmpint(sshx_exec(s, fail3, &out, &err_out, &status, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpint(status, ==, 3);
	g_assert_cmpstr(err_out, ==, "oops\n");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err_out, g_free);
	g_assert_cmpint(sshx_exec(s, fail3, NULL, NULL, NULL, &e), ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_COMMAND);
	if (e) {
		g_assert_nonnull(strstr(e->message, "exit status 3"));
		g_assert_nonnull(strstr(e->message, "oops"));
	}
	g_clear_error(&e);
}

/* More stderr than a channel window before any stdout: reading the
 * streams one after the other would hang. */
static void
test_exec_lengths(void)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(sshx) s = lab_connect("LAB_IP_HOST_C", FALSE, &e);
	const char *both[] = { "sh", "-c",
			       "yes e | head -c 3000000 >&2; yes o | head -c 3000002", NULL };
	g_autofree char *out = NULL, *err_out = NULL;
	int status = -1;

	assert_no_error(e);
	if (!s)
		return;
	g_assert_cmpint(sshx_exec(s, both, &out, &err_out, &status, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpint(status, ==, 0);
	g_assert_cmpuint(out ? strlen(out) : 0, ==, 3000002);
	g_assert_cmpuint(err_out ? strlen(err_out) : 0, ==, 3000000);
}

/* The path holds quotes, $(...), `...` and ;: the remote shell must see
 * it as one word. */
static void
test_sha256_injection(void)
{
	const char *state = lab("LAB_STATE_HOST_A");
	g_autofree char *rbase = g_strdup_printf("/var/lib/libvirt/images/sshx-sha-%d",
						 (int)getpid());
	g_autofree char *lbase = g_strdup_printf("%s/lib/images/sshx-sha-%d", state ? state : "",
						 (int)getpid());
	const char *name = "/it's a \"q\" $(touch /tmp/pwned) `touch /tmp/pwned`; x.raw";
	g_autofree char *rpath = g_strconcat(rbase, name, NULL);
	g_autofree char *lpath = g_strconcat(lbase, name, NULL);
	g_autofree char *ldir = g_path_get_dirname(lpath);
	g_autofree char *probe = g_strdup_printf("/tmp/sshx-probe-%d", (int)getpid());
	const char *touch[] = { "touch", probe, NULL };
	g_autoptr(GBytes) data = pattern(1024 * 1024 + 7, 42);
	g_autofree char *want = sha256_hex(g_bytes_get_data(data, NULL), g_bytes_get_size(data));
	char got[65] = "";
	g_autoptr(GError) e = NULL;
	g_autoptr(sshx) s = lab_connect("LAB_IP_HOST_A", FALSE, &e);
	g_autoptr(sshx) ro = lab_connect("LAB_IP_HOST_A", TRUE, &e);

	assert_no_error(e);
	if (!s || !ro || !state)
		return;
	/* the check below means something only if the host's /tmp is ours */
	g_assert_cmpint(sshx_exec(s, touch, NULL, NULL, NULL, &e), ==, 0);
	assert_no_error(e);
	g_assert_true(g_file_test(probe, G_FILE_TEST_EXISTS));
	g_unlink(probe);
	g_unlink("/tmp/pwned");
	g_assert_false(g_file_test("/tmp/pwned", G_FILE_TEST_EXISTS));

	g_assert_cmpint(g_mkdir_with_parents(ldir, 0755), ==, 0);
	g_assert_true(g_file_set_contents(lpath, g_bytes_get_data(data, NULL),
					  (gssize)g_bytes_get_size(data), NULL));
	g_assert_cmpint(sshx_sha256(s, rpath, got, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpstr(got, ==, want);
	g_assert_false(g_file_test("/tmp/pwned", G_FILE_TEST_EXISTS));

	/* allowed read-only */
	memset(got, 0, sizeof(got));
	g_assert_cmpint(sshx_sha256(ro, rpath, got, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpstr(got, ==, want);

	/* a missing file is an error naming it */
	g_assert_cmpint(sshx_sha256(s, "/nonexistent/x y", got, &e), ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_NOT_FOUND);
	if (e)
		g_assert_nonnull(strstr(e->message, "/nonexistent/x y"));
	g_assert_false(g_file_test("/tmp/pwned", G_FILE_TEST_EXISTS));
	rm_rf(lbase);
}

/* ------------------------------------------------------------ copy */

struct prog {
	guint calls;
	guint64 first, last, total;
	gboolean monotonic;
};

static gboolean
on_progress(guint64 done, guint64 total, gpointer ud)
{
	struct prog *p = ud;

	if (p->calls++ == 0)
		p->first = done;
	else if (done <= p->last)
		p->monotonic = FALSE;
	p->last = done;
	p->total = total;
	return TRUE;
}

static gboolean
same_as(const char *path, GBytes *want)
{
	g_autofree char *got = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &got, &len, NULL))
		return FALSE;
	return len == g_bytes_get_size(want) && memcmp(got, g_bytes_get_data(want, NULL), len) == 0;
}

static void
test_copy_resume(void)
{
	const char *sa = lab("LAB_STATE_HOST_A"), *sb = lab("LAB_STATE_HOST_B");
	const gsize size = 5 * 1024 * 1024 + 12345, half = size / 2;
	g_autoptr(GBytes) data = pattern(size, 7);
	int pid = (int)getpid();
	g_autofree char *rsrc = g_strdup_printf("/var/lib/libvirt/images/sshx-copy-%d.raw", pid);
	g_autofree char *lsrc = g_strdup_printf("%s/lib/images/sshx-copy-%d.raw", sa ? sa : "", pid);
	g_autofree char *rdst = g_strdup_printf("/srv/vms/sshx-copy-%d.raw", pid);
	g_autofree char *ldst = g_strdup_printf("%s/srv/vms/sshx-copy-%d.raw", sb ? sb : "", pid);
	g_autoptr(GError) e = NULL;
	g_autoptr(sshx) a = lab_connect("LAB_IP_HOST_A", FALSE, &e);
	g_autoptr(sshx) b = lab_connect("LAB_IP_HOST_B", FALSE, &e);
	struct prog p = { .monotonic = TRUE };
	gint64 n;

	assert_no_error(e);
	if (!a || !b || !sa || !sb)
		return;
	g_assert_true(g_file_set_contents(lsrc, g_bytes_get_data(data, NULL), (gssize)size, NULL));
	g_assert_cmpint(g_chmod(lsrc, 0640), ==, 0);

	/* full copy */
	n = sshx_copy(a, rsrc, b, rdst, 0, on_progress, &p, &e);
	assert_no_error(e);
	g_assert_cmpint(n, ==, (gint64)size);
	g_assert_true(same_as(ldst, data));
	/* the source's bits, less the remote umask: never more open */
	g_assert_cmpuint(local_mode(ldst) & 0777 & ~(guint32)0640, ==, 0);
	g_assert_cmpuint(p.calls, >=, 2);
	g_assert_true(p.monotonic);
	g_assert_cmpuint(p.last, ==, size);
	g_assert_cmpuint(p.total, ==, size);

	/* resume from half of a truncated destination */
	g_assert_cmpint(truncate(ldst, (off_t)half), ==, 0);
	p = (struct prog){ .monotonic = TRUE };
	n = sshx_copy(a, rsrc, b, rdst, half, on_progress, &p, &e);
	assert_no_error(e);
	g_assert_cmpint(n, ==, (gint64)(size - half));
	g_assert_true(same_as(ldst, data));
	g_assert_cmpuint(p.first, >, half);
	g_assert_cmpuint(p.last, ==, size);

	/* resume really keeps the first half: poison it, resume, see it kept */
	{
		FILE *f = fopen(ldst, "r+");

		g_assert_nonnull(f);
		if (f) {
			fputs("POISON", f);
			fclose(f);
		}
		g_assert_cmpint(truncate(ldst, (off_t)half), ==, 0);
		n = sshx_copy(a, rsrc, b, rdst, half, NULL, NULL, &e);
		assert_no_error(e);
		g_assert_false(same_as(ldst, data));
		/* and offset 0 truncates and rewrites all */
		n = sshx_copy(a, rsrc, b, rdst, 0, NULL, NULL, &e);
		assert_no_error(e);
		g_assert_true(same_as(ldst, data));
	}

	/* a stale tail beyond the source's end is cut */
	g_assert_cmpint(truncate(ldst, (off_t)(size + 1000)), ==, 0);
	n = sshx_copy(a, rsrc, b, rdst, half, NULL, NULL, &e);
	assert_no_error(e);
	g_assert_true(same_as(ldst, data));

	/* cannot resume past what the destination holds */
	g_assert_cmpint(truncate(ldst, 1000), ==, 0);
	n = sshx_copy(a, rsrc, b, rdst, half, NULL, NULL, &e);
	g_assert_cmpint(n, ==, -1);
	g_assert_nonnull(e);
	g_clear_error(&e);
	/* nor past the source's end */
	n = sshx_copy(a, rsrc, b, rdst, size + 1, NULL, NULL, &e);
	g_assert_cmpint(n, ==, -1);
	g_assert_nonnull(e);
	g_clear_error(&e);
	/* a missing source names host and path */
	n = sshx_copy(a, "/no/such/src", b, rdst, 0, NULL, NULL, &e);
	g_assert_cmpint(n, ==, -1);
	g_assert_error(e, SSHX_ERROR, SSHX_ERROR_NOT_FOUND);
	if (e) {
		g_assert_nonnull(strstr(e->message, "/no/such/src"));
		g_assert_nonnull(strstr(e->message, "127.0.0.2"));
	}
	g_clear_error(&e);

	g_unlink(lsrc);
	g_unlink(ldst);
}

/* ------------------------------------------------------------ read-only */

static void
test_read_only(void)
{
	const char *sb = lab("LAB_STATE_HOST_B");
	int pid = (int)getpid();
	g_autofree char *rf = g_strdup_printf("/srv/vms/sshx-ro-%d", pid);
	g_autofree char *lf = g_strdup_printf("%s/srv/vms/sshx-ro-%d", sb ? sb : "", pid);
	g_autofree char *rnew = g_strdup_printf("/srv/vms/sshx-ro-new-%d", pid);
	g_autofree char *lnew = g_strdup_printf("%s/srv/vms/sshx-ro-new-%d", sb ? sb : "", pid);
	g_autofree char *got = NULL;
	const char *touch[] = { "touch", rnew, NULL };
	g_autoptr(GError) e = NULL;
	g_autoptr(sshx) ro = lab_connect("LAB_IP_HOST_B", TRUE, &e);
	g_autoptr(sshx) rw = lab_connect("LAB_IP_HOST_B", FALSE, &e);
	gboolean exists = FALSE, made = TRUE;
	guint64 size = 0, avail = 0;
	char sum[65];

	assert_no_error(e);
	if (!ro || !rw || !sb)
		return;
	g_assert_true(g_file_set_contents(lf, "keep", 4, NULL));

#define REFUSED(call) do {						\
		g_assert_cmpint((call), ==, -1);			\
		g_assert_error(e, SSHX_ERROR, SSHX_ERROR_READ_ONLY);	\
		if (e) g_test_message("%s", e->message);		\
		g_clear_error(&e);					\
	} while (0)
	REFUSED(sshx_unlink(ro, rf, &e));
	REFUSED(sshx_rename(ro, rf, rnew, &e));
	REFUSED(sshx_mkdir_p(ro, rnew, 0755, NULL, &e));
	REFUSED(sshx_rmdir(ro, "/srv/vms", &e));
	REFUSED(sshx_create_empty(ro, rnew, 0600, &made, &e));
	REFUSED(sshx_exec(ro, touch, NULL, NULL, NULL, &e));
	REFUSED(sshx_copy(rw, rf, ro, rnew, 0, NULL, NULL, &e));
#undef REFUSED
	g_assert_false(made);
	g_assert_true(g_file_get_contents(lf, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "keep");
	g_assert_false(g_file_test(lnew, G_FILE_TEST_EXISTS));

	/* reading is fine, and a read-only source may be copied from */
	g_assert_cmpint(sshx_stat(ro, rf, &exists, &size, NULL, &e), ==, 0);
	assert_no_error(e);
	g_assert_true(exists);
	g_assert_cmpuint(size, ==, 4);
	g_assert_cmpint(sshx_statvfs_avail(ro, "/srv/vms", &avail, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpint(sshx_sha256(ro, rf, sum, &e), ==, 0);
	assert_no_error(e);
	g_assert_cmpint(sshx_copy(ro, rf, rw, rnew, 0, NULL, NULL, &e), ==, 4);
	assert_no_error(e);
	g_assert_true(g_file_test(lnew, G_FILE_TEST_EXISTS));

	g_unlink(lf);
	g_unlink(lnew);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	tmpdir = g_dir_make_tmp("test_sshx.XXXXXX", NULL);
	g_assert_nonnull(tmpdir);

	g_test_add_data_func("/sshx/connect/host-a", "A", test_connect_host);
	g_test_add_data_func("/sshx/connect/host-b", "B", test_connect_host);
	g_test_add_data_func("/sshx/connect/host-c", "C", test_connect_host);
	g_test_add_func("/sshx/connect/closed-port", test_connect_closed_port);
	g_test_add_func("/sshx/connect/silent-peer-times-out", test_connect_silent_peer);
	g_test_add_func("/sshx/hostkey/unknown-refused", test_hostkey_unknown);
	g_test_add_func("/sshx/hostkey/accept-new", test_hostkey_accept_new);
	g_test_add_func("/sshx/hostkey/changed-refused", test_hostkey_changed);
	g_test_add_func("/sshx/hostkey/other-type-refused", test_hostkey_other_type);
	g_test_add_func("/sshx/auth/wrong-identity", test_auth_wrong_identity);
	g_test_add_func("/sshx/auth/agent", test_auth_agent);
	g_test_add_func("/sshx/sftp/ops-host-b", test_sftp_ops);
	g_test_add_func("/sshx/exec/quoting-status-stderr", test_exec);
	g_test_add_func("/sshx/exec/big-stdout-and-stderr", test_exec_lengths);
	g_test_add_func("/sshx/sha256/shell-injection", test_sha256_injection);
	g_test_add_func("/sshx/copy/a-to-b-and-resume", test_copy_resume);
	g_test_add_func("/sshx/read-only/refuses-writes", test_read_only);
	rc = g_test_run();
	rm_rf(tmpdir);
	g_free(tmpdir);
	return rc;
}
