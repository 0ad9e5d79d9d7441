/* hosts.c: one libvirt connection and at most one SSH session per host. */
#include <errno.h>
#include <string.h>

#include "exec_priv.h"

/* Where the SSH-endpoint proof makes its directory: libvirt's own state
 * directory, which every libvirt host has and no two machines share. */
#define PROBE_PARENT "/var/lib/libvirt"

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

/* The host's UUID, from its capabilities' <host><uuid>: what tells two
 * plan hosts that are one daemon under two names apart. */
static char *
host_uuid(virConnectPtr conn, GError **err)
{
	g_autofree char *caps = virConnectGetCapabilities(conn);
	const char *h, *a, *b;

	if (!caps) {
		g_autofree char *e = libvirt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read its capabilities: %s", e);
		return NULL;
	}
	if (!(h = strstr(caps, "<host>")) || !(a = strstr(h, "<uuid>")) || !(b = strstr(a, "</uuid>"))) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, "its capabilities name no host UUID");
		return NULL;
	}
	a += strlen("<uuid>");
	return g_strstrip(g_strndup(a, b - a));
}

/* Two plan hosts that are one libvirt daemon would make a migration
 * "to itself": the undefine at the end would leave the VM nowhere. */
static int
refuse_same_hosts(struct exec *x, GError **err)
{
	for (guint i = 0; i < x->hosts->len; i++) {
		struct hostconn *a = x->hosts->pdata[i];

		for (guint k = i + 1; a->uuid && k < x->hosts->len; k++) {
			struct hostconn *b = x->hosts->pdata[k];

			if (b->uuid && !strcmp(a->uuid, b->uuid)) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "%s:%u:%u: hosts '%s' (%s) and '%s' (%s) are the same libvirt host (host uuid %s); a migration between them would move a VM onto itself: give each plan host its own machine",
					    x->plan->path, b->h->at.line, b->h->at.col, a->h->name, a->h->uri,
					    b->h->name, b->h->uri, a->uuid);
				return -1;
			}
		}
	}
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
		if (!(hc->uuid = host_uuid(hc->conn, err))) {
			g_prefix_error(err, "host '%s' at %s: ", h->name, h->uri);
			return -1;
		}
	}
	return refuse_same_hosts(x, err);
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
		g_free(hc->uuid);
		if (hc->image_dirs)
			g_ptr_array_unref(hc->image_dirs);
		g_mutex_clear(&hc->mu);
		g_free(hc);
	}
	g_clear_pointer(&x->hosts, g_ptr_array_unref);
}

/* Is the machine @s reaches over SSH the one hc->conn reaches?  A file
 * written over SFTP into a fresh directory must be seen by the libvirt
 * host's storage driver (a transient pool on that directory).  A second
 * machine cannot fake it: it would have to write into the first one's
 * /var/lib/libvirt. */
static int
prove_same_machine(struct hostconn *hc, struct sshx *s, GError **err)
{
	g_autofree char *tag = g_strdup_printf("vmshift-probe-%08x%08x", g_random_int(), g_random_int());
	g_autofree char *dir = g_build_filename(PROBE_PARENT, tag, NULL);
	g_autofree char *file = g_build_filename(dir, "probe", NULL);
	g_autofree char *xml = NULL;
	g_autoptr(GError) e = NULL;
	virStoragePoolPtr pool = NULL;
	virStorageVolPtr vol = NULL;
	gboolean created = FALSE;
	int rc = -1;

	if (sshx_mkdir_p(s, dir, 0700, NULL, err) < 0)
		return -1;
	if (sshx_create_empty(s, file, 0600, &created, err) < 0)
		goto out;
	xml = g_markup_printf_escaped("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", tag, dir);
	/* the directory missing for libvirt, or the file missing in it: the
	 * same answer; any other failure proves nothing */
	pool = virStoragePoolCreateXML(hc->conn, xml, 0);
	if (!pool && !(virGetLastErrorCode() == VIR_ERR_SYSTEM_ERROR && virGetLastError()->int1 == ENOENT)) {
		g_autofree char *m = libvirt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot prove that SSH (%s) reaches the machine of %s: a transient storage pool on %s failed: %s (vmshift needs libvirt's storage driver there)",
			    sshx_label(s), hc->h->uri, dir, m);
		goto out;
	}
	if (!pool || !(vol = virStorageVolLookupByName(pool, "probe"))) {
		g_autofree char *m = libvirt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "host '%s': its SSH endpoint %s is another machine than its libvirt URI %s: a file written over SSH into %s is not there for libvirt (%s); fix the host's ssh: block or its URI",
			    hc->h->name, sshx_label(s), hc->h->uri, dir, m);
		goto out;
	}
	rc = 0;
out:
	if (vol)
		virStorageVolFree(vol);
	if (pool) {
		virStoragePoolDestroy(pool);	/* transient: gone with it */
		virStoragePoolFree(pool);
	}
	sshx_unlink(s, file, &e);
	g_clear_error(&e);
	sshx_rmdir(s, dir, &e);
	return rc;
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
	if (hc->ssh && !x->o->dry_run && prove_same_machine(hc, hc->ssh, &e) < 0)
		g_clear_pointer(&hc->ssh, sshx_free);
	else if (hc->ssh && x->o->dry_run)
		exec_log(x, "%s: that SSH reaches the machine of %s is proven when the plan is applied (the proof writes a file)",
			 hc->h->name, hc->h->uri);
	if (!hc->ssh) {
		hc->ssh_error = g_strdup_printf("ssh to host '%s': %s", hc->h->name, e->message);
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, hc->ssh_error);
	}
	return hc->ssh;
}
