/* plan_priv.h: what the parts of the planner share; not for cmd/ or
 * executor/. */
#ifndef VMSHIFT_PLAN_PRIV_H
#define VMSHIFT_PLAN_PRIV_H

#include "plan.h"
#include "ydoc.h"

struct pctx {
	struct ydoc y;
	struct diags *dg;
	struct plan *plan;
};

/* plan_parse.c: the YAML tree into struct plan, key and type rules. */
void plan_read_tree(struct pctx *c, yaml_node_t *root);

/* plan_check.c: rules across objects (hosts, ids, after, modes, patterns). */
void plan_check(struct pctx *c);
int remap_rule_compile(struct pctx *c, struct remap_rule *r, yaml_node_t *from_node);
int match_compile(struct pctx *c, struct migration *m, yaml_node_t *v);
/* Compile @sp->pattern, the scalar @v of disks.shared; -1 (reported) if
 * it is not valid PCRE2. */
int shared_pattern_compile(struct pctx *c, struct shared_pattern *sp, yaml_node_t *v);

/* Bits of struct settings.given and live_opts.given, in the order of the
 * field tables in plan_parse.c. */
enum { SF_MODE, SF_UNDEFINE_SOURCE, SF_START };
enum {
	LF_MAX_DOWNTIME_MS, LF_BANDWIDTH_MIB_S, LF_AUTO_CONVERGE, LF_POSTCOPY, LF_COPY_STORAGE,
	LF_TIMEOUT_S, LF_ON_TIMEOUT, LF_COMPRESSED, LF_PARALLEL_CONNECTIONS, LF_TLS, LF_UNSAFE,
	LF_SKIP_CPU_CHECK, LF_CHECK_DIRTY_RATE,
};
/* disk_opts.given: the scalar keys of the field table, then shared (read
 * apart: a list, inherited as a whole). */
enum { DF_VERIFY, DF_DELETE_SOURCE, DF_OVERWRITE, DF_SHARED };

/* order.c: dependency graph, cycles, execution order and waves. */
int plan_order(struct plan *plan, struct diags *dg);
/* Only the cycle check of plan_order(), for a plan with other errors. */
void plan_find_cycles(struct plan *plan, struct diags *dg);

void settings_init(struct settings *s);
void settings_inherit(struct settings *dst, const struct settings *src);
void settings_release(struct settings *s);
void remap_init(struct remap *r);
void remap_release(struct remap *r);
void shared_pattern_free(gpointer p);

#endif
