/* hosts.c: one libvirt connection and at most one SSH session per host,
 * and the lookups of domains there. */
#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include <libxml/parser.h>

#include "hosts.h"

/* Where the SSH-endpoint proof makes its directory: libvirt's own state
 * directory, which every libvirt host has and no two machines share. */
#define PROBE_PARENT "/var/lib/libvirt"

/* The host's UUID, from its capabilities' <host><uuid>: what tells two
 * plan hosts that are one daemon under two names apart. */
static char *
host_uuid(virConnectPtr conn, GError **err)
{
	g_autofree char *caps = virConnectGetCapabilities(conn);
	const char *h, *a, *b, *c;
	virNodeDevicePtr dev;

	if (!caps) {
		g_autofree char *e = virt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read its capabilities: %s", e);
		return NULL;
	}
	if ((h = strstr(caps, "<host>")) && (a = strstr(h, "<uuid>")) && (b = strstr(a, "</uuid>")) &&
	    (!(c = strstr(h, "</host>")) || a < c)) {
		a += strlen("<uuid>");
		return g_strstrip(g_strndup(a, b - a));
	}
	/* libvirt's test driver (test:///) never puts a UUID in its
	 * capabilities; the system UUID of its node device "computer"
	 * (SMBIOS on a real host) is the identity a node file can give */
	if ((dev = virNodeDeviceLookupByName(conn, "computer"))) {
		g_autofree char *dx = virNodeDeviceGetXMLDesc(dev, 0);

		virNodeDeviceFree(dev);
		if (dx && (h = strstr(dx, "<hardware>")) && (a = strstr(h, "<uuid>")) && (b = strstr(a, "</uuid>"))) {
			a += strlen("<uuid>");
			return g_strstrip(g_strndup(a, b - a));
		}
	}
	g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "its capabilities name no host UUID, nor does its node device 'computer'");
	return NULL;
}

/* Two plan hosts that are one libvirt daemon would make a migration
 * "to itself": the undefine at the end would leave the VM nowhere. */
static int
refuse_same_hosts(const struct plan *plan, GPtrArray *hosts, GError **err)
{
	for (guint i = 0; i < hosts->len; i++) {
		struct hostconn *a = hosts->pdata[i];

		for (guint k = i + 1; a->uuid && k < hosts->len; k++) {
			struct hostconn *b = hosts->pdata[k];

			if (b->uuid && !strcmp(a->uuid, b->uuid)) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "%s:%u:%u: hosts '%s' (%s) and '%s' (%s) are the same libvirt host (host uuid %s); a migration between them would move a VM onto itself: give each plan host its own machine",
					    plan->path, b->h->at.line, b->h->at.col, a->h->name, a->h->uri,
					    b->h->name, b->h->uri, a->uuid);
				return -1;
			}
		}
	}
	return 0;
}

/* One host's libvirt connection, in a thread of hosts_connect()'s pool:
 * the handshakes of several hosts overlap (each is a round trip or more,
 * over ssh for qemu+ssh://). */
struct connect_job {
	struct hostconn *hc;
	unsigned int flags;
	GError *err;
};

static void
connect_one(gpointer data, gpointer ud)
{
	struct connect_job *cj = data;
	struct hostconn *hc = cj->hc;
	struct host *h = hc->h;

	(void)ud;
	sink_log(hc->sink, "connecting to %s (%s)%s", h->name, h->uri, hc->read_only ? ", read-only" : "");
	hc->conn = virConnectOpenAuth(h->uri, virConnectAuthPtrDefault, cj->flags);
	if (!hc->conn) {
		g_autofree char *e = virt_error();

		g_set_error(&cj->err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot connect to host '%s' at %s: %s", h->name,
			    h->uri, e);
		return;
	}
	/* probe every 5 s, give up after 3 missed answers */
	if (virConnectSetKeepAlive(hc->conn, 5, 3) < 0)
		sink_log(hc->sink, "warning: no keepalive on %s (the driver has none)", h->name);
	if (!(hc->uuid = host_uuid(hc->conn, &cj->err)))
		g_prefix_error(&cj->err, "host '%s' at %s: ", h->name, h->uri);
}

#define CONNECT_THREADS 16

int
hosts_connect(struct plan *plan, const struct sink *sink, gboolean read_only, gboolean accept_new_host_keys,
	      GPtrArray **hosts, GError **err)
{
	unsigned int flags = read_only ? VIR_CONNECT_RO : 0;
	g_autoptr(GHashTable) needed = g_hash_table_new(NULL, NULL);
	g_autofree struct connect_job *jobs = g_new0(struct connect_job, plan->hosts->len + 1);
	GThreadPool *pool;
	gboolean failed = FALSE;

	if (virt_event_loop_start(err) < 0)
		return -1;
	/* libxml2 (2.9) makes its global locks on first use, racing: once
	 * here, before the threads that open connections parse XML */
	xmlInitParser();
	for (guint i = 0; i < plan->migrations->len; i++) {
		struct migration *m = plan->migrations->pdata[i];

		g_hash_table_add(needed, m->from);
		if (m->to)
			g_hash_table_add(needed, m->to);
		for (guint k = 0; m->pool && k < m->pool->len; k++)	/* placement reads every candidate */
			g_hash_table_add(needed, m->pool->pdata[k]);
	}
	*hosts = g_ptr_array_new();
	pool = g_thread_pool_new(connect_one, NULL, MIN(CONNECT_THREADS, (int)MAX(g_hash_table_size(needed), 1)),
				 FALSE, NULL);
	for (guint i = 0; i < plan->hosts->len; i++) {
		struct host *h = plan->hosts->pdata[i];
		struct hostconn *hc = g_new0(struct hostconn, 1);

		hc->h = h;
		g_mutex_init(&hc->mu);
		g_ptr_array_add(*hosts, hc);
		hc->sink = sink;
		hc->read_only = read_only;
		hc->accept_new_host_keys = accept_new_host_keys;
		jobs[i] = (struct connect_job){ .hc = hc, .flags = flags };
		if (g_hash_table_contains(needed, h))
			g_thread_pool_push(pool, &jobs[i], NULL);
	}
	g_thread_pool_free(pool, FALSE, TRUE);	/* every connection tried */
	for (guint i = 0; i < plan->hosts->len; i++) {
		if (!jobs[i].err)
			continue;
		if (!failed)	/* the first in plan order */
			g_propagate_error(err, jobs[i].err);
		else
			g_error_free(jobs[i].err);
		jobs[i].err = NULL;
		failed = TRUE;
	}
	return failed ? -1 : refuse_same_hosts(plan, *hosts, err);
}

void
hosts_close(GPtrArray *hosts)
{
	if (!hosts)
		return;
	for (guint i = 0; i < hosts->len; i++) {
		struct hostconn *hc = hosts->pdata[i];

		if (hc->conn)
			virConnectClose(hc->conn);
		sshx_free(hc->ssh);
		if (hc->spare)
			g_ptr_array_unref(hc->spare);
		if (hc->reach)
			g_hash_table_unref(hc->reach);
		for (guint k = 0; k < G_N_ELEMENTS(hc->id_text); k++)
			g_free(hc->id_text[k]);
		g_free(hc->ssh_error);
		g_free(hc->uuid);
		if (hc->image_dirs)
			g_ptr_array_unref(hc->image_dirs);
		g_mutex_clear(&hc->mu);
		g_free(hc);
	}
	g_ptr_array_unref(hosts);
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
		g_autofree char *m = virt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot prove that SSH (%s) reaches the machine of %s: a transient storage pool on %s failed: %s (vmshift needs libvirt's storage driver there)",
			    sshx_label(s), hc->h->uri, dir, m);
		goto out;
	}
	if (!pool || !(vol = virStorageVolLookupByName(pool, "probe"))) {
		g_autofree char *m = virt_error();

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

static struct sshx_opts
ssh_opts(const struct hostconn *hc)
{
	const struct ssh_access *a = &hc->h->ssh;

	return (struct sshx_opts){
		.host = a->host, .port = (int)a->port, .user = a->user, .identity = a->identity,
		.known_hosts = a->known_hosts, .accept_new = hc->accept_new_host_keys,
		.read_only = hc->read_only,
	};
}

/* Call with hc->mu held. */
struct sshx *
host_ssh(struct hostconn *hc, GError **err)
{
	const struct ssh_access *a = &hc->h->ssh;
	struct sshx_opts so = ssh_opts(hc);
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
	sink_log(hc->sink, "ssh to %s (%s@%s:%d)", hc->h->name, a->user, a->host, (int)a->port);
	hc->ssh = sshx_connect(&so, &e);
	if (hc->ssh && !hc->read_only && prove_same_machine(hc, hc->ssh, &e) < 0)
		g_clear_pointer(&hc->ssh, sshx_free);
	else if (hc->ssh && hc->read_only)
		sink_log(hc->sink, "%s: that SSH reaches the machine of %s is proven when the plan is applied (the proof writes a file)",
			 hc->h->name, hc->h->uri);
	if (!hc->ssh) {
		hc->ssh_error = g_strdup_printf("ssh to host '%s': %s", hc->h->name, e->message);
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, hc->ssh_error);
	}
	return hc->ssh;
}

struct sshx *
host_ssh_take(struct hostconn *hc, GError **err)
{
	struct sshx_opts so = ssh_opts(hc);
	struct sshx *s = NULL;
	g_autoptr(GError) e = NULL;

	g_mutex_lock(&hc->mu);
	/* the first session proves the endpoint; the others reach the host
	 * whose key that one verified */
	if (host_ssh(hc, err) && hc->spare && hc->spare->len)
		s = g_ptr_array_steal_index_fast(hc->spare, hc->spare->len - 1);
	g_mutex_unlock(&hc->mu);
	if (s || (err && *err))
		return s;
	/* known now: a new key cannot be added twice */
	so.accept_new = FALSE;
	if (!(s = sshx_connect(&so, &e)))
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "ssh to host '%s' (another session): %s", hc->h->name,
			    e->message);
	return s;
}

void
host_ssh_give(struct hostconn *hc, struct sshx *s)
{
	if (!s)
		return;
	g_mutex_lock(&hc->mu);
	if (!hc->spare)
		hc->spare = g_ptr_array_new_with_free_func((GDestroyNotify)sshx_free);
	g_ptr_array_add(hc->spare, s);
	g_mutex_unlock(&hc->mu);
}

/* The domain named (or with uuid) @key, or NULL: *missing says whether
 * it does not exist (as opposed to a failed call, which sets @err). */
static virDomainPtr
dom_find(struct hostconn *hc, const char *key, gboolean by_uuid, gboolean *missing, GError **err)
{
	virDomainPtr d = by_uuid ? virDomainLookupByUUIDString(hc->conn, key) :
				   virDomainLookupByName(hc->conn, key);

	*missing = FALSE;
	if (d)
		return d;
	if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
		*missing = TRUE;
		return NULL;
	}
	{
		g_autofree char *e = virt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot look up domain %s%s%s on %s: %s", by_uuid ? "" : "'",
			    key, by_uuid ? "" : "'", hc->h->name, e);
	}
	return NULL;
}

virDomainPtr
host_dom_lookup(struct hostconn *hc, const char *name, gboolean *missing, GError **err)
{
	return dom_find(hc, name, FALSE, missing, err);
}

virDomainPtr
host_dom_by_uuid(struct hostconn *hc, const char *uuid, gboolean *missing, GError **err)
{
	return dom_find(hc, uuid, TRUE, missing, err);
}

/* Lock one or two hosts' sessions, always in plan order, so that two
 * copies in opposite directions cannot deadlock. */
void
host_lock(struct host_lock *l, struct hostconn *a, struct hostconn *b)
{
	if (b && b != a && b->h->index < a->h->index) {
		struct hostconn *t = a;

		a = b;
		b = t;
	}
	l->a = a;
	l->b = b != a ? b : NULL;
	g_mutex_lock(&l->a->mu);
	if (l->b)
		g_mutex_lock(&l->b->mu);
}

void
host_unlock(struct host_lock *l)
{
	if (l->b)
		g_mutex_unlock(&l->b->mu);
	g_mutex_unlock(&l->a->mu);
}

gboolean
host_has_ssh(const struct hostconn *hc)
{
	return hc->h->ssh.host != NULL;
}
