/* step_direct.c: copies the source host sends to the target itself
 * (disks.transfer direct, or auto when a probe succeeds): the bytes cross
 * the network once, not twice through the controller.  One ssh
 * connection per file, in chunks, each checked on the target as soon as
 * it has landed while the next ones travel, so that progress, Ctrl-C and
 * resume work as they do for a relayed copy. */
#include <string.h>

#include "extents.h"
#include "step_common.h"

/* A chunk (what is checked and reported at once) is a quarter of the
 * data, within these bounds. */
#define CHUNK_MIN (1ull << 20)
#define CHUNK_MAX (256ull << 20)

static struct sshx_peer
peer_of(struct hostconn *dst)
{
	const struct ssh_access *a = &dst->h->ssh;

	return (struct sshx_peer){ a->host, (int)a->port, a->user };
}

/* Does the source's own ssh reach the target machine?  A marker made in
 * libvirt's state directory through the controller's verified session
 * must be there for it. */
static char *
probe(struct unit *u, struct sshx *ss, struct sshx *ds, GError **err)
{
	const char *dir = "/var/lib/libvirt";
	g_autofree char *name = g_strdup_printf(".vmshift-probe-%08x%08x", g_random_int(), g_random_int());
	g_autofree char *marker = g_build_filename(dir, name, NULL);
	struct sshx_peer peer = peer_of(u->dst);
	g_autoptr(GError) e = NULL;
	gboolean created = FALSE;
	char *why = NULL;
	int rc;

	if (sshx_create_empty(ds, marker, 0600, &created, err) < 0)
		return NULL;
	rc = sshx_direct_probe(ss, &peer, marker, &why, err);
	if (created)
		sshx_unlink(ds, marker, &e);
	if (rc < 0)
		return NULL;
	return why ? why : g_strdup("");
}

gboolean
step_direct_wanted(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, GError **err)
{
	enum transfer t = u->m->set.disks.transfer;
	struct hostconn *hc = u->src;
	const char *known;
	g_autofree char *why = NULL;

	if (t == TRANSFER_RELAY)
		return FALSE;
	if (!u->dst->h->ssh.host)
		why = g_strdup_printf("%s has no ssh: block to reach it by", u->dst->h->name);
	g_mutex_lock(&x->mu);
	known = hc->reach ? g_hash_table_lookup(hc->reach, u->dst->h->name) : NULL;
	if (known && !why)
		why = g_strdup(known);
	g_mutex_unlock(&x->mu);
	if (!why) {
		if (!(why = probe(u, ss, ds, err)))
			return FALSE;
		g_mutex_lock(&x->mu);
		if (!hc->reach)
			hc->reach = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		if (!g_hash_table_contains(hc->reach, u->dst->h->name)) {
			g_hash_table_insert(hc->reach, g_strdup(u->dst->h->name), g_strdup(why));
			sink_log(&x->sink, "%s: %s", u->src->h->name,
				 *why ? why : "its own ssh reaches the target: copies go straight there");
		}
		g_mutex_unlock(&x->mu);
	}
	if (!*why)
		return TRUE;
	if (t == TRANSFER_DIRECT)
		step_fail(err, "disks.transfer is direct, but %s; use transfer: auto or relay, or let %s reach %s",
			  why, u->src->h->name, u->dst->h->name);
	return FALSE;
}

void
step_direct_preflight(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, GPtrArray *problems)
{
	enum transfer t = u->m->set.disks.transfer;
	g_autoptr(GError) e = NULL;
	gboolean direct;

	if (t == TRANSFER_RELAY || !ss || !ds) {
		step_note(u, "copies relayed by the controller (SFTP from %s, SFTP to %s)", u->src->h->name, u->dst->h->name);
		return;
	}
	if (x->o->dry_run) {
		step_note(u, "copies sent by %s itself over its own ssh to %s%s (its reach is probed when the plan is applied)",
			  u->src->h->name, u->dst->h->name, t == TRANSFER_AUTO ? " if it reaches it, else relayed by the controller" : "");
		return;
	}
	direct = step_direct_wanted(x, u, ss, ds, &e);
	if (e)
		g_ptr_array_add(problems, g_strdup(e->message));
	else
		step_note(u, "copies %s", direct ? "sent by the source host itself" : "relayed by the controller");
}

/* What the chunks that landed say to the copy. */
struct landing {
	struct sshx *ds;
	const char *part;
	const struct direct_copy *d;
	guint64 done, total;
	char *differs;		/* the first chunk that differs */
	gboolean stopped;
};

/* A chunk is on the target: check it there while the next ones travel,
 * then report progress. */
static gboolean
landed(guint64 off, guint64 len, const char *sha, gpointer ud)
{
	struct landing *l = ud;
	g_autoptr(GArray) r = g_array_new(FALSE, FALSE, sizeof(struct extent));
	g_autoptr(GError) e = NULL;
	char got[65];

	if (sha) {
		g_array_append_vals(r, &(struct extent){ off, len }, 1);
		if (sshx_digest(l->ds, l->part, r, got, &e) < 0) {
			l->differs = g_strdup(e->message);
			return FALSE;
		}
		if (strcmp(got, sha)) {
			l->differs = g_strdup_printf("sha256 of bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " %s on the target, %s as read on the source",
						     off, off + len, got, sha);
			return FALSE;
		}
	}
	l->done += len;
	if (l->d->progress && !l->d->progress(l->done, l->total, l->d->ud)) {
		l->stopped = TRUE;
		return FALSE;
	}
	return TRUE;
}

int
step_direct_copy(struct unit *u, struct sshx *ss, struct sshx *ds, const char *sp, const char *part,
		 const struct direct_copy *d, GError **err)
{
	struct sshx_peer peer = peer_of(u->dst);
	guint64 total = extents_bytes(d->ranges);
	g_autoptr(GArray) chunks = extents_split(d->ranges, d->have, MAX(CHUNK_MIN, MIN(CHUNK_MAX, total / 4 + 1)));
	struct landing l = { ds, part, d, extents_bytes_below(d->ranges, d->have), total, NULL, FALSE };
	g_autoptr(GError) e = NULL;

	if (!d->have && sshx_create_truncated(ds, part, d->mode, err) < 0)
		return -1;
	if (sshx_direct_copy(ss, sp, &peer, part, chunks, d->check, landed, &l, &e) < 0) {
		if (l.differs) {
			g_autofree char *m = l.differs;

			return step_fail(err, "the copy of '%s' differs from the source: %s", sp, m);
		}
		if (l.stopped)
			return step_fail(err, "copy '%s' to '%s': stopped at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes of data",
					 sp, part, l.done, total);
		g_propagate_error(err, g_steal_pointer(&e));
		return -1;
	}
	return sshx_finish_file(ds, part, d->size, err);
}
