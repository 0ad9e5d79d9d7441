/* plan_priv.h: what the parts of the planner share; not for cmd/ or
 * executor/.  Who uses whom, one way only:
 *   load.c -> plan_parse.c -> parse_hosts.c -> parse_map.c -> fields.c
 *   load.c -> plan_check.c -> check_settings.c;  load.c -> order.c
 *   plan_parse.c -> patterns.c
 *   plan_parse.c -> parse_run.c -> parse_map.c, patterns.c
 *   everything -> plan.c (the model), ydoc.c, diag.c, suggest.c */
#ifndef VMSHIFT_PLAN_PRIV_H
#define VMSHIFT_PLAN_PRIV_H

#include "fields.h"
#include "plan.h"
#include "ydoc.h"

struct pctx {
	struct ydoc y;
	struct diags *dg;
	struct plan *plan;
	/* to: lists as written, until plan_check() resolves them:
	 * struct migration * -> GPtrArray of char * (parallel to its
	 * ->pool_at) */
	GHashTable *pool_names;
	/* struct host * -> the one-host pool every plain to: naming it
	 * shares (a large plan has tens of thousands of migrations) */
	GHashTable *host_pools;
	GArray *no_pos;		/* the empty ->pool_at of a plain to: */
};

/* load.c: a parse's context, and its release once the plan is checked
 * (the plan keeps what it needs). */
void pctx_init(struct pctx *c, const char *path, struct diags *dg);
void pctx_release(struct pctx *c);

/* plan_parse.c: the YAML tree into struct plan, key and type rules. */
void plan_read_tree(struct pctx *c, struct ynode *root);

/* parse_hosts.c: hosts: and each host's ssh: and image_dirs:. */
void read_hosts(struct pctx *c, struct ynode *v);

/* parse_map.c: reading a mapping through a field table. */
/* Keys a mapping takes beyond its field table, handled by a callback. */
typedef void (*special_fn)(struct pctx *c, const char *key, struct ynode *k, struct ynode *v,
			   void *ud);
/* Read the mapping @map: keys of @t (NULL: none) into @base (recording
 * in @given and @at which were written and where), keys listed in
 * @extra through @special, anything else is an unknown key. */
void read_map(struct pctx *c, struct ynode *map, const char *what, const struct ftable *t,
	      void *base, guint32 *given, struct pos *at, const char *const *extra,
	      special_fn special, void *ud);
/* Store @v into the field @f of @base; FALSE (and a diagnostic) if it
 * does not fit the field's type and range. */
gboolean field_set(struct pctx *c, const struct field *f, struct ynode *v, void *base);
void type_error(struct pctx *c, const struct field *f, struct ynode *v);
void unknown_key(struct pctx *c, struct ynode *k, const char *what, const struct field *fields,
		 guint n_fields, const char *const *extra);
gboolean expect_kind(struct pctx *c, const char *key, struct ynode *v, enum ykind want);
gboolean expect_map(struct pctx *c, const char *key, struct ynode *v);
/* A scalar whose text holds a NUL ("\0" in a double-quoted string). */
gboolean has_nul(const struct ynode *v);
/* 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit. */
gboolean valid_name(const char *s);

/* plan_check.c: rules across objects (hosts, ids, after), then each
 * migration's settings. */
void plan_check(struct pctx *c);
/* check_settings.c: a migration's settings after defaults (modes and
 * their blocks, live, fallback, SSH, verify.tcp); defaults: alone. */
void check_settings(struct pctx *c, struct migration *m);
void check_defaults(struct pctx *c);

/* patterns.c: PCRE2 patterns, compiled with errors at their column. */
int remap_rule_compile(struct pctx *c, struct remap_rule *r, struct ynode *from_node);
int match_compile(struct pctx *c, struct migration *m, struct ynode *v);
/* Compile @sp->pattern, the scalar @v of disks.shared; -1 (reported) if
 * it is not valid PCRE2. */
int shared_pattern_compile(struct pctx *c, struct shared_pattern *sp, struct ynode *v);
/* The same for an entry of placement.anti_affinity, anchored at both
 * ends (it must match the whole VM name). */
int affinity_pattern_compile(struct pctx *c, struct shared_pattern *sp, struct ynode *v);

/* parse_run.c: the plan-level placement: and window: blocks; @k is the
 * block's key. */
void read_placement(struct pctx *c, struct ynode *k, struct ynode *v);
void read_window(struct pctx *c, struct ynode *k, struct ynode *v);

/* Bits of struct settings.given and live_opts.given, in the order of the
 * field tables in fields.c. */
enum { SF_MODE, SF_UNDEFINE_SOURCE, SF_START, SF__COUNT };
enum {
	LF_MAX_DOWNTIME_MS, LF_BANDWIDTH_MIB_S, LF_AUTO_CONVERGE, LF_POSTCOPY, LF_COPY_STORAGE,
	LF_TIMEOUT_S, LF_ON_TIMEOUT, LF_COMPRESSED, LF_PARALLEL_CONNECTIONS, LF_TLS, LF_UNSAFE,
	LF_SKIP_CPU_CHECK, LF_CHECK_DIRTY_RATE, LF_INITIAL_DOWNTIME_MS, LF_DOWNTIME_STEPS,
	LF_DOWNTIME_STEP_S, LF_FINISH_AFTER_PASSES, LF_FALLBACK, LF__COUNT
};
/* disk_opts.given: the scalar keys of the field table, then shared (read
 * apart: a list, inherited as a whole). */
enum { DF_VERIFY, DF_DELETE_SOURCE, DF_OVERWRITE, DF_TRANSFER, DF_SHARED };
enum { VF_RUNNING_FOR_S, VF_GUEST_AGENT, VF_TIMEOUT_S, VF_TCP, VF__COUNT };

/* order.c: dependency graph, cycles, execution order and waves. */
int plan_order(struct plan *plan, struct diags *dg);
/* Only the cycle check of plan_order(), for a plan with other errors. */
void plan_find_cycles(struct plan *plan, struct diags *dg);

/* plan.c: the model's life cycle. */
struct plan *plan_new(const char *path);
/* @empty: NULL, or an empty array (plan->no_items) for its lists to share. */
void settings_init(struct settings *s, GPtrArray *empty);
/* *@a, made the list's own (with @free_func) first if it is the plan's
 * shared empty one: call it before adding to a list. */
GPtrArray *plan_list_own(struct plan *plan, GPtrArray **a, GDestroyNotify free_func);
void remap_rule_free(gpointer p);
void settings_release(struct settings *s);
void remap_init(struct remap *r);
void remap_release(struct remap *r);
void shared_pattern_free(gpointer p);
void affinity_group_free(gpointer p);

#endif
