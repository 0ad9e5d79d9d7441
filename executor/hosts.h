/* hosts.h: the plan's hosts, connected: one libvirt connection (shared by
 * every thread), one SSH session for short operations (one thread at a
 * time, under ->mu) and a pool of further sessions, one per concurrent
 * copy.
 *
 * Below the units: it takes the plan's hosts and a sink, never a run.
 */
#ifndef VMSHIFT_HOSTS_H
#define VMSHIFT_HOSTS_H

#include "../planner/plan.h"
#include "sink.h"
#include "sshx.h"
#include "virt.h"

struct hostconn {
	struct host *h;
	virConnectPtr conn;	/* thread-safe: shared by every unit */
	struct sshx *ssh;	/* not thread-safe: hold ->mu while using it */
	GMutex mu;
	GPtrArray *spare;	/* struct sshx *: idle sessions for copies (under ->mu) */
	char *id_text[3];	/* /etc/passwd, /etc/group, qemu.conf ("" if unreadable),
				 * read once for the owners of copies (step_owner.c; under ->mu) */
	GHashTable *reach;	/* target host name -> "" if this host's own ssh reaches
				 * it (direct copies), else why not; under the run's
				 * mutex (exec.mu): preflight holds ->mu when it asks */
	char *ssh_error;	/* why ->ssh could not be had, once tried */
	gboolean ssh_tried;
	char *uuid;		/* the libvirt host's UUID (capabilities): who it is */
	GPtrArray *image_dirs;	/* where writes may go: its pools' paths and the plan's image_dirs */
	/* how it was connected */
	const struct sink *sink;
	gboolean read_only;	/* dry-run: a read-only connection and session */
	gboolean accept_new_host_keys;
};

/* Connect to every host a migration of @plan uses (the others get an
 * entry without a connection), refusing two that are one libvirt host.
 * *@hosts (struct hostconn *, plan order) is set even on failure: give it
 * to hosts_close(). */
int hosts_connect(struct plan *plan, const struct sink *sink, gboolean read_only, gboolean accept_new_host_keys,
		  GPtrArray **hosts, GError **err);
void hosts_close(GPtrArray *hosts);	/* NULL-safe */

/* The SSH session of @hc, connecting (and proving it reaches the machine
 * of the libvirt URI) on first use; NULL if the host has no SSH access
 * (plan) or it failed (*err says which).  Call with hc->mu held. */
struct sshx *host_ssh(struct hostconn *hc, GError **err);
gboolean host_has_ssh(const struct hostconn *hc);
/* A session of @hc's own for the caller, which gives it back with
 * host_ssh_give() (or frees it after an error left it unusable): an idle
 * one, or a new one (host key verified as the first one's, whose proof
 * it inherits).  Call WITHOUT hc->mu held: a copy holds no host lock, so
 * two copies from one host run side by side.  NULL as host_ssh(). */
struct sshx *host_ssh_take(struct hostconn *hc, GError **err);
void host_ssh_give(struct hostconn *hc, struct sshx *s);

/* One or two hosts' sessions locked, always in plan order, so that two
 * copies in opposite directions cannot deadlock. */
struct host_lock {
	struct hostconn *a, *b;
};
void host_lock(struct host_lock *l, struct hostconn *a, struct hostconn *b);
void host_unlock(struct host_lock *l);

/* NULL: *missing says "does not exist", else @err says why the call failed */
virDomainPtr host_dom_lookup(struct hostconn *hc, const char *name, gboolean *missing, GError **err);
virDomainPtr host_dom_by_uuid(struct hostconn *hc, const char *uuid, gboolean *missing, GError **err);

#endif
