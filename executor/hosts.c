/* hosts.c: one libvirt connection and at most one SSH session per host. */
#include "exec_priv.h"

static gint event_loop_started;
static volatile gint event_loop_quit;

/* libvirt delivers keepalives and connection-close events through an
 * event loop the client runs; without it a dead host goes unnoticed. */
static gpointer
event_loop(gpointer unused)
{
	(void)unused;
	while (!g_atomic_int_get(&event_loop_quit))
		if (virEventRunDefaultImpl() < 0)
			break;
	return NULL;
}

static void
wake_up(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static void
ignore_error(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;	/* reported through GError by the caller instead */
}

char *
libvirt_error(void)
{
	const char *m = virGetLastErrorMessage();

	return g_strdup(m && *m ? m : "unknown libvirt error");
}

static int
start_event_loop(GError **err)
{
	if (g_atomic_int_get(&event_loop_started))
		return 0;
	virSetErrorFunc(NULL, ignore_error);
	if (virEventRegisterDefaultImpl() < 0) {
		g_autofree char *e = libvirt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot start libvirt's event loop: %s", e);
		return -1;
	}
	/* a periodic timer lets the loop notice event_loop_quit */
	virEventAddTimeout(500, wake_up, NULL, NULL);
	g_thread_unref(g_thread_new("libvirt-events", event_loop, NULL));
	g_atomic_int_set(&event_loop_started, 1);
	return 0;
}

int
hosts_connect(struct exec *x, GError **err)
{
	unsigned int flags = x->o->dry_run ? VIR_CONNECT_RO : 0;
	g_autoptr(GHashTable) needed = g_hash_table_new(NULL, NULL);

	if (start_event_loop(err) < 0)
		return -1;
	for (guint i = 0; i < x->plan->migrations->len; i++) {
		struct migration *m = x->plan->migrations->pdata[i];

		g_hash_table_add(needed, m->from);
		g_hash_table_add(needed, m->to);
	}
	x->hosts = g_ptr_array_new();
	for (guint i = 0; i < x->plan->hosts->len; i++) {
		struct host *h = x->plan->hosts->pdata[i];
		struct hostconn *hc = g_new0(struct hostconn, 1);

		hc->h = h;
		g_mutex_init(&hc->mu);
		g_ptr_array_add(x->hosts, hc);
		if (!g_hash_table_contains(needed, h))
			continue;
		exec_log(x, "connecting to %s (%s)%s", h->name, h->uri, x->o->dry_run ? ", read-only" : "");
		hc->conn = virConnectOpenAuth(h->uri, virConnectAuthPtrDefault, flags);
		if (!hc->conn) {
			g_autofree char *e = libvirt_error();

			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot connect to host '%s' at %s: %s", h->name, h->uri, e);
			return -1;
		}
		/* probe every 5 s, give up after 3 missed answers */
		if (virConnectSetKeepAlive(hc->conn, 5, 3) < 0)
			exec_log(x, "warning: no keepalive on %s (the driver has none)", h->name);
	}
	return 0;
}

void
hosts_close(struct exec *x)
{
	if (!x->hosts)
		return;
	for (guint i = 0; i < x->hosts->len; i++) {
		struct hostconn *hc = x->hosts->pdata[i];

		if (hc->conn)
			virConnectClose(hc->conn);
		sshx_free(hc->ssh);
		g_free(hc->ssh_error);
		g_mutex_clear(&hc->mu);
		g_free(hc);
	}
	g_clear_pointer(&x->hosts, g_ptr_array_unref);
}

/* Call with hc->mu held. */
struct sshx *
host_ssh(struct exec *x, struct hostconn *hc, GError **err)
{
	const struct ssh_access *a = &hc->h->ssh;
	struct sshx_opts so = {
		.host = a->host, .port = (int)a->port, .user = a->user, .identity = a->identity,
		.known_hosts = a->known_hosts, .accept_new = x->o->accept_new_host_keys,
		.read_only = x->o->dry_run,
	};
	g_autoptr(GError) e = NULL;

	if (hc->ssh)
		return hc->ssh;
	if (!a->host) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "host '%s' has no SSH access (give it an ssh: block or a qemu+ssh:// URI)",
			    hc->h->name);
		return NULL;
	}
	if (hc->ssh_tried) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, hc->ssh_error);
		return NULL;
	}
	hc->ssh_tried = TRUE;
	exec_log(x, "ssh to %s (%s@%s:%d)", hc->h->name, a->user, a->host, (int)a->port);
	hc->ssh = sshx_connect(&so, &e);
	if (!hc->ssh) {
		hc->ssh_error = g_strdup_printf("ssh to host '%s': %s", hc->h->name, e->message);
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, hc->ssh_error);
	}
	return hc->ssh;
}
