/* plan.h: a validated migration plan (format v1, docs/plan-format.md).
 *
 * plan_load() parses and checks a plan file and returns it with every
 * default applied, every pattern compiled, and the execution order and
 * waves computed.  A plan that fails any rule is not returned: all its
 * problems (up to DIAG_MAX) are in the caller's diags instead.
 *
 * Everything hanging off a struct plan is owned by it; pointers between
 * its parts (a migration's hosts, its dependencies) are borrowed.
 */
#ifndef VMSHIFT_PLAN_H
#define VMSHIFT_PLAN_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "diag.h"

#define PLAN_VERSION 1
#define PLAN_NAME_MAX 64

enum mode {
	MODE_UNSET = -1,
	MODE_COLD,
	MODE_LIVE,
	MODE_OFFLINE_SCP,
};

enum start_policy { START_KEEP, START_ALWAYS, START_NEVER };
enum copy_storage { COPY_STORAGE_NONE, COPY_STORAGE_ALL, COPY_STORAGE_INC };
enum on_timeout { ON_TIMEOUT_ABORT, ON_TIMEOUT_SUSPEND, ON_TIMEOUT_POSTCOPY };
enum verify { VERIFY_SHA256, VERIFY_SIZE, VERIFY_NONE };
/* disks.transfer: auto = direct when the source reaches the target */
enum transfer { TRANSFER_AUTO, TRANSFER_DIRECT, TRANSFER_RELAY };
/* live.fallback: the mode a live migration that failed with the guest
 * still healthy on the source is done again in */
enum fallback { FALLBACK_NONE, FALLBACK_COLD, FALLBACK_OFFLINE_SCP };
/* placement.policy: how a to: list's host is chosen */
enum place_policy { PLACE_SPREAD, PLACE_PACK };

/* The steps of a migration, in the order each mode runs them.  Their
 * names are part of the plan format: the journal and JSON use them. */
enum step {
	STEP_PREFLIGHT,
	STEP_SHUTDOWN_SOURCE,
	STEP_EXPORT_XML,
	STEP_COPY_DISKS,
	STEP_PREPARE_TARGET,
	STEP_MIGRATE_LIVE,
	STEP_DEFINE_TARGET,
	STEP_START_TARGET,
	STEP_VERIFY_TARGET,
	STEP_UNDEFINE_SOURCE,
	STEP_DELETE_SOURCE_DISKS,
	STEP__COUNT
};

const char *mode_name(enum mode m);
const char *step_name(enum step s);
/* The steps @m runs, in order; *n_out gets their count. */
const enum step *mode_steps(enum mode m, guint *n_out);

struct ssh_access {
	char *host;		/* NULL: no SSH access to this host */
	gint64 port;
	char *user;
	char *identity;		/* NULL: use the SSH agent */
	char *known_hosts;	/* NULL: ~/.ssh/known_hosts */
};

struct host {
	char *name;
	char *uri;
	struct ssh_access ssh;	/* from ssh:, else derived from a qemu+ssh URI */
	char *migration_host;
	gint64 max_parallel;
	/* Absolute directories, normalised (no trailing or doubled '/', no
	 * "." or ".." component, never "/"), each once, in plan order: where
	 * vmshift may write guest images on this host besides the
	 * directories of its libvirt storage pools.  Of char *, owned; empty
	 * when the plan sets none, never NULL. */
	GPtrArray *image_dirs;
	struct pos image_dirs_at;	/* the image_dirs: key; line 0 if not written */
	guint index;		/* position in the plan's hosts: */
	gboolean uri_bad;	/* its URI or SSH access is reported bad: no more checks */
	struct pos at;		/* the host's key under hosts: */
};

struct remap_rule {
	char *from;
	char *to;
	pcre2_code *re;
	struct pos from_at, to_at;
};

enum remap_kind { REMAP_PATHS, REMAP_BRIDGES, REMAP_NETWORKS, REMAP__COUNT };

struct remap {
	GPtrArray *rules[REMAP__COUNT];	/* of struct remap_rule *, owned */
};

/* Each option block records which keys were written and where, so that
 * defaults fill only what a migration leaves out and errors can point at
 * the key that caused them. */
#define OPT_MAX_KEYS 16
/* Keys of each block (fields.c asserts that its tables fit): at[] is
 * sized to them, not to OPT_MAX_KEYS, because a large plan holds one
 * struct settings per migration. */
#define SETTINGS_KEYS 3		/* mode, undefine_source, start */
#define SHUTDOWN_KEYS 2
#define LIVE_KEYS 18
#define DISK_KEYS 5		/* the scalar keys, then shared */
#define VERIFY_KEYS 4
#define PREPARE_KEYS 1

struct shutdown_opts {
	gint64 timeout_s;
	gboolean force;
	guint32 given;
	struct pos at[SHUTDOWN_KEYS];
};

struct live_opts {
	gint64 max_downtime_ms;
	gint64 bandwidth_mib_s;
	gboolean auto_converge;
	gboolean postcopy;
	int copy_storage;	/* enum copy_storage */
	gint64 timeout_s;
	int on_timeout;		/* enum on_timeout */
	gboolean compressed;
	gint64 parallel_connections;
	gboolean tls;
	gboolean unsafe;
	gboolean skip_cpu_check;	/* no virConnectCompareHypervisorCPU in preflight */
	gboolean check_dirty_rate;	/* measure the guest's dirty rate in preflight */
	/* Downtime escalation: live.downtime_steps limits, evenly from
	 * initial_downtime_ms (0: max_downtime_ms from the start) up to
	 * max_downtime_ms, one every downtime_step_s; after
	 * finish_after_passes memory passes (0: never) straight to the
	 * maximum. */
	gint64 initial_downtime_ms;
	gint64 downtime_steps;
	gint64 downtime_step_s;
	gint64 finish_after_passes;
	int fallback;		/* enum fallback */
	guint32 given;
	struct pos at[LIVE_KEYS];
};

/* verify: what verify-target checks before the source is undefined. */
struct verify_opts {
	gint64 running_for_s;	/* -1: the mode's default (1 for cold and offline, 0 for live) */
	gboolean guest_agent;	/* qemu-guest-agent guest-ping answers */
	gint64 timeout_s;	/* for guest_agent and tcp */
	char *tcp;		/* "HOST:PORT" that must accept a connection, or NULL; owned */
	guint32 given;
	struct pos at[VERIFY_KEYS];
};

/* prepare: what prepare-target may create on the target. */
struct prepare_opts {
	gboolean create_bridges;	/* a missing Linux bridge is created (and undone) */
	guint32 given;
	struct pos at[PREPARE_KEYS];
};

/* One pattern of disks.shared, compiled. */
struct shared_pattern {
	char *pattern;		/* as written */
	pcre2_code *re;		/* never NULL in a plan plan_parse() returned */
	struct pos at;		/* the list item */
};

struct disk_opts {
	int verify;		/* enum verify */
	gboolean delete_source;
	gboolean overwrite;
	int transfer;		/* enum transfer */
	/* disks.shared: of struct shared_pattern *, in plan order; empty
	 * when unset, never NULL.  Not merged key by key: a migration that
	 * writes disks.shared has its own list, one that does not holds a
	 * reference to the array of defaults: (read-only, freed with the
	 * plan either way). */
	GPtrArray *shared;
	guint32 given;
	struct pos at[DISK_KEYS];
};

/* TRUE if a pattern of @d->shared matches @source (unanchored, as
 * match: is), a disk's source as the executor lists it: a file, block
 * device or directory path, "PROTOCOL:NAME" for a network disk,
 * "POOL/VOLUME" for a volume disk.  Such storage is declared to be the
 * same on both hosts of the migration.  FALSE for NULL or a @source that
 * is not UTF-8.  Safe to call from several threads at once. */
gboolean disk_opts_shared(const struct disk_opts *d, const char *source);

/* The keys that defaults: and a migration share. */
struct settings {
	int mode;		/* enum mode */
	gboolean undefine_source;
	int start;		/* enum start_policy */
	guint32 given;
	struct pos at[SETTINGS_KEYS];
	struct shutdown_opts shutdown;
	struct live_opts live;
	struct disk_opts disks;
	struct verify_opts verify;
	struct prepare_opts prepare;
	struct remap remap;
	struct pos live_at, disks_at, verify_at, prepare_at;	/* the block's own key, if written */
};

struct after_ref {
	char *id;
	struct pos at;		/* the list item naming it */
};

struct migration {
	char *id;		/* unique; defaults to vm, or to match */
	gboolean id_given;	/* written as id: (only then can after: name a match entry) */
	char *vm;		/* exactly one of vm and match */
	char *match;
	pcre2_code *match_re;
	char *from_name;	/* as written */
	char *to_name;		/* NULL when to: is a list of two or more hosts */
	struct host *from;	/* resolved; NULL if unknown */
	/* The target: the one host to: names.  NULL when to: is a list of
	 * two or more hosts (a pool): the executor places each VM of the
	 * entry on one of ->pool at apply time (unit->to). */
	struct host *to;
	/* to:'s hosts, resolved, in the order written (one for a plain
	 * name); of struct host *, borrowed; never NULL after plan_parse(). */
	GPtrArray *pool;
	GArray *pool_at;	/* struct pos of each name of a to: list; empty for a plain name */
	GArray *after_refs;	/* of struct after_ref, as written */
	GPtrArray *after;	/* of struct migration *, borrowed, resolved */
	struct settings set;	/* defaults applied */
	guint index;		/* position in the plan's migrations: list */
	gboolean not_a_map;	/* reported; nothing else to check */
	guint wave;		/* 1-based */
	struct pos at;		/* the list item */
	struct pos id_at, name_at, from_at, to_at, after_at;	/* name_at: vm or match value */
};

/* One group of placement.anti_affinity: VMs that must land on distinct
 * hosts.  Each entry is a PCRE2 pattern matched against the whole VM
 * name (so a plain name means exactly that VM). */
struct affinity_group {
	GPtrArray *patterns;	/* of struct shared_pattern *, owned */
	struct pos at;		/* the group's list item */
};

/* placement: how a VM of a to: list entry is placed (executor/placement.c). */
struct placement {
	int policy;			/* enum place_policy */
	gint64 reserve_memory_mib;	/* kept free on every candidate */
	double max_vcpu_ratio;		/* vCPUs defined on a host per host CPU; 0: no limit */
	GPtrArray *anti_affinity;	/* of struct affinity_group *, owned; empty, never NULL */
	struct pos at;			/* the placement: key; line 0 if not written */
};

/* window: when migrations may run.  0 is unset (open on that side). */
struct window {
	gint64 not_before;		/* unix seconds */
	gint64 not_after;
	gint64 assumed_mib_s;		/* throughput before this run measured one */
	struct pos at, not_before_at, not_after_at;
};

struct plan {
	char *path;
	char *name;
	gint64 max_parallel;
	GPtrArray *hosts;	/* of struct host *, owned, plan order */
	GHashTable *host_by_name;
	struct remap remap;	/* plan-wide rules */
	struct settings defaults;	/* defaults:, as written */
	struct placement placement;
	struct window window;
	GPtrArray *migrations;	/* of struct migration *, owned, plan order */
	GHashTable *migration_by_id;
	GPtrArray *order;	/* execution order, borrowed from migrations */
	guint n_waves;
	/* Empty lists, which every migration's empty lists hold a reference
	 * to rather than one array each (a large plan has tens of thousands
	 * of them).  Never written: the planner gives a list its own array
	 * before its first item. */
	GPtrArray *no_items;
	GArray *no_refs;	/* of struct after_ref */
	char sha256[65];	/* of the file's bytes; set by plan_load() and plan_hash() */
};

/* Parse and check the plan in @buf (@len bytes, from file @path). */
struct plan *plan_parse(const char *path, const char *buf, gsize len, struct diags *dg);
/* Set plan->sha256 from the bytes it was parsed from (the journal ties a
 * run to them).  Apart from plan_parse() because validating needs none. */
void plan_hash(struct plan *plan, const char *buf, gsize len);
/* Read @path, plan_parse() and plan_hash() it; an unreadable file is one
 * diagnostic. */
struct plan *plan_load(const char *path, struct diags *dg);
/* plan_load() without plan_hash(): plan->sha256 stays "".  For what
 * only shows a plan (hashing a large one costs as much as reading it). */
struct plan *plan_load_unhashed(const char *path, struct diags *dg);
void plan_free(struct plan *plan);

struct host *plan_host(const struct plan *plan, const char *name);
struct migration *plan_migration(const struct plan *plan, const char *id);

/* What @m (a migration of @plan, which plan_parse() returned) is, for
 * "did it change since the run began?": the sha256, in hex, of a text
 * naming every key with its value ("live.timeout_s=30;"): the
 * migration's id, vm, match, from and to; every settings key after
 * defaults (mode, undefine_source, start, shutdown.*, live.*, disks.*
 * and the disks.shared patterns); for each end host its uri,
 * migration_host, ssh.* and image_dirs (for a pool of two or more
 * targets, "to_pool=[...]": each candidate's name and the same keys,
 * in list order); the remap rules of the
 * migration, of defaults: and of the plan.  The scalar keys come from
 * the parser's own field tables (fields.c), so a key added there is in
 * the fingerprint too.  A host's max_parallel is not: it says how many
 * run at once, not what a migration does.  Caller frees. */
char *plan_migration_fingerprint(const struct plan *plan, const struct migration *m);

#endif
