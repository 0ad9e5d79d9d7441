/* placement_priv.h: what placement.c (the decision) and
 * placement_facts.c (what the candidates have, what a VM needs) share. */
#ifndef VMSHIFT_PLACEMENT_PRIV_H
#define VMSHIFT_PLACEMENT_PRIV_H

#include "placement.h"

/* What a candidate host has, read once a run, and what the run put there. */
struct cand {
	struct hostconn *hc;
	char *error;		/* its facts could not be read: it takes nothing */
	gint64 free_mib;
	gint64 cpus;
	gint64 vcpus_defined;	/* of every domain defined there, any state */
	GPtrArray *names;	/* of the domains defined there */
	gint64 placed_mib, placed_vcpus;	/* units heading there, not done yet */
	guint placed_n;
	GHashTable *nets;	/* "network NAME" / "bridge NAME" -> "" there, or why not */
	GHashTable *avail;	/* directory -> gint64 * bytes free there (-1: unknown) */
	GHashTable *placed_disk;	/* directory -> gint64 * bytes the run copies there */
};

/* What a VM needs. */
struct need {
	gint64 mib, vcpus;
	char *cpu;		/* its <cpu> element (live only), or NULL */
	char *virttype;		/* its domain type (kvm, qemu): what the CPU is compared for */
	GPtrArray *nets, *bridges;	/* of its remapped definition */
	/* offline-with-scp-disk: the directories its copies go to, and the
	 * bytes of each (the files' sizes on the source host) */
	GPtrArray *disk_dirs;	/* of char * */
	GArray *disk_bytes;	/* of gint64, parallel */
};

struct placer {
	struct exec *x;
	GHashTable *cands;	/* struct host * -> struct cand * */
	GHashTable *cpu_ok;	/* "host\ncpu xml" -> GINT_TO_POINTER(1 ok, 2 incompatible) */
};

/* to:'s hosts (one for a plain name) */
guint place_pool_len(const struct migration *m);
struct host *place_pool_host(const struct migration *m, guint i);
gboolean place_is_pool(const struct migration *m);

void place_need_clear(struct need *nd);
void place_cand_free(gpointer p);
/* @h's facts, read on first use (an unreadable host gets ->error). */
struct cand *place_cand_get(struct placer *p, struct host *h);
/* What @u needs: memory, vCPUs, its CPU (live), the networks and
 * bridges of its remapped definition. */
int place_need_of(struct placer *p, struct unit *u, struct need *nd, GError **err);
gboolean place_cpu_compatible(struct placer *p, struct cand *c, const struct need *nd);
/* Why @c lacks what @nd names, or NULL. */
char *place_cand_networks(struct cand *c, struct unit *u, const struct need *nd);
/* Why @c has no room for the copies of @nd, or NULL; the figures go to @fig. */
char *place_cand_disks(struct cand *c, const struct need *nd, JsonObject *fig);
/* The run sends @nd to @c. */
void place_cand_add(struct cand *c, const struct need *nd);
/* Why @u may not go to @h for anti-affinity, or NULL. */
char *place_affinity_conflict(struct placer *p, struct unit *u, struct host *h, struct cand *c);

#endif
