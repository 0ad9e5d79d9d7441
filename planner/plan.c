/* plan.c: the plan model's life cycle and the names the format fixes.
 * Reading a plan is load.c. */
#include <string.h>

#include "plan_priv.h"

static const char *const mode_names[] = {
	[MODE_COLD] = "cold",
	[MODE_LIVE] = "live",
	[MODE_OFFLINE_SCP] = "offline-with-scp-disk",
};

static const char *const step_names[STEP__COUNT] = {
	[STEP_PREFLIGHT] = "preflight",
	[STEP_SHUTDOWN_SOURCE] = "shutdown-source",
	[STEP_EXPORT_XML] = "export-xml",
	[STEP_COPY_DISKS] = "copy-disks",
	[STEP_PREPARE_TARGET] = "prepare-target",
	[STEP_MIGRATE_LIVE] = "migrate-live",
	[STEP_DEFINE_TARGET] = "define-target",
	[STEP_START_TARGET] = "start-target",
	[STEP_VERIFY_TARGET] = "verify-target",
	[STEP_UNDEFINE_SOURCE] = "undefine-source",
	[STEP_DELETE_SOURCE_DISKS] = "delete-source-disks",
};

static const enum step cold_steps[] = {
	STEP_PREFLIGHT, STEP_SHUTDOWN_SOURCE, STEP_EXPORT_XML, STEP_PREPARE_TARGET,
	STEP_DEFINE_TARGET, STEP_START_TARGET, STEP_VERIFY_TARGET, STEP_UNDEFINE_SOURCE,
};

static const enum step offline_steps[] = {
	STEP_PREFLIGHT, STEP_SHUTDOWN_SOURCE, STEP_EXPORT_XML, STEP_COPY_DISKS,
	STEP_PREPARE_TARGET, STEP_DEFINE_TARGET, STEP_START_TARGET, STEP_VERIFY_TARGET,
	STEP_UNDEFINE_SOURCE, STEP_DELETE_SOURCE_DISKS,
};

static const enum step live_steps[] = {
	STEP_PREFLIGHT, STEP_PREPARE_TARGET, STEP_MIGRATE_LIVE, STEP_VERIFY_TARGET,
	STEP_UNDEFINE_SOURCE,
};

const char *
mode_name(enum mode m)
{
	return m >= MODE_COLD && m <= MODE_OFFLINE_SCP ? mode_names[m] : "(unset)";
}

const char *
step_name(enum step s)
{
	return s < STEP__COUNT ? step_names[s] : "(unknown)";
}

const enum step *
mode_steps(enum mode m, guint *n_out)
{
	switch (m) {
	case MODE_COLD:
		*n_out = G_N_ELEMENTS(cold_steps);
		return cold_steps;
	case MODE_LIVE:
		*n_out = G_N_ELEMENTS(live_steps);
		return live_steps;
	case MODE_OFFLINE_SCP:
		*n_out = G_N_ELEMENTS(offline_steps);
		return offline_steps;
	default:
		*n_out = 0;
		return NULL;
	}
}

void
remap_rule_free(gpointer p)
{
	struct remap_rule *r = p;

	g_free(r->from);
	g_free(r->to);
	pcre2_code_free(r->re);
	g_free(r);
}

void
shared_pattern_free(gpointer p)
{
	struct shared_pattern *sp = p;

	g_free(sp->pattern);
	pcre2_code_free(sp->re);
	g_free(sp);
}

gboolean
disk_opts_shared(const struct disk_opts *d, const char *source)
{
	if (!source || !g_utf8_validate(source, -1, NULL))
		return FALSE;
	for (guint i = 0; i < d->shared->len; i++) {
		const struct shared_pattern *sp = d->shared->pdata[i];
		pcre2_match_data *md;
		int rc;

		if (!sp->re)
			continue;
		/* match data per call: the plan is shared by the executor's
		 * threads, a compiled pattern may be, match data may not */
		md = pcre2_match_data_create_from_pattern(sp->re, NULL);
		rc = pcre2_match(sp->re, (PCRE2_SPTR)source, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
		pcre2_match_data_free(md);
		if (rc >= 0)
			return TRUE;
	}
	return FALSE;
}

void
affinity_group_free(gpointer p)
{
	struct affinity_group *g = p;

	g_ptr_array_unref(g->patterns);
	g_free(g);
}

void
remap_init(struct remap *r)
{
	for (guint k = 0; k < REMAP__COUNT; k++)
		r->rules[k] = g_ptr_array_new_with_free_func(remap_rule_free);
}

void
remap_release(struct remap *r)
{
	for (guint k = 0; k < REMAP__COUNT; k++)
		g_clear_pointer(&r->rules[k], g_ptr_array_unref);
}

/* The format's defaults; plan_parse.c overwrites what a plan writes.
 * Not in fields.c: plan_new() needs it, and the model depends on no
 * part of the reader. */
void
settings_init(struct settings *s, GPtrArray *empty)
{
	memset(s, 0, sizeof(*s));
	s->mode = MODE_UNSET;
	s->undefine_source = TRUE;
	s->start = START_KEEP;
	s->shutdown.timeout_s = 120;
	s->live.max_downtime_ms = 300;
	s->live.copy_storage = COPY_STORAGE_NONE;
	s->live.on_timeout = ON_TIMEOUT_ABORT;
	s->live.downtime_steps = 1;
	s->live.downtime_step_s = 10;
	s->live.fallback = FALLBACK_NONE;
	s->disks.verify = VERIFY_SHA256;
	s->verify.running_for_s = -1;
	s->verify.timeout_s = 30;
	if (!empty) {
		s->disks.shared = g_ptr_array_new_with_free_func(shared_pattern_free);
		remap_init(&s->remap);
		return;
	}
	s->disks.shared = g_ptr_array_ref(empty);
	for (guint k = 0; k < REMAP__COUNT; k++)
		s->remap.rules[k] = g_ptr_array_ref(empty);
}

GPtrArray *
plan_list_own(struct plan *plan, GPtrArray **a, GDestroyNotify free_func)
{
	if (*a == plan->no_items) {
		g_ptr_array_unref(*a);
		*a = g_ptr_array_new_with_free_func(free_func);
	}
	return *a;
}

void
settings_release(struct settings *s)
{
	g_clear_pointer(&s->disks.shared, g_ptr_array_unref);
	g_clear_pointer(&s->verify.tcp, g_free);
	remap_release(&s->remap);
}

static void
host_free(gpointer p)
{
	struct host *h = p;

	g_free(h->name);
	g_free(h->uri);
	g_free(h->ssh.host);
	g_free(h->ssh.user);
	g_free(h->ssh.identity);
	g_free(h->ssh.known_hosts);
	g_free(h->migration_host);
	if (h->image_dirs)
		g_ptr_array_unref(h->image_dirs);
	g_free(h);
}

static void
migration_free(gpointer p)
{
	struct migration *m = p;

	g_free(m->id);
	g_free(m->vm);
	g_free(m->match);
	pcre2_code_free(m->match_re);
	g_free(m->from_name);
	g_free(m->to_name);
	g_array_unref(m->after_refs);
	g_ptr_array_unref(m->after);
	if (m->pool)
		g_ptr_array_unref(m->pool);
	if (m->pool_at)
		g_array_unref(m->pool_at);
	settings_release(&m->set);
	g_free(m);
}

struct plan *
plan_new(const char *path)
{
	struct plan *plan = g_new0(struct plan, 1);

	plan->path = g_strdup(path);
	plan->max_parallel = 1;
	plan->hosts = g_ptr_array_new_with_free_func(host_free);
	plan->host_by_name = g_hash_table_new(g_str_hash, g_str_equal);
	remap_init(&plan->remap);
	plan->no_items = g_ptr_array_new();
	plan->no_refs = g_array_new(FALSE, TRUE, sizeof(struct after_ref));
	settings_init(&plan->defaults, NULL);
	plan->migrations = g_ptr_array_new_with_free_func(migration_free);
	plan->migration_by_id = g_hash_table_new(g_str_hash, g_str_equal);
	plan->order = g_ptr_array_new();
	plan->placement.policy = PLACE_SPREAD;
	plan->placement.anti_affinity = g_ptr_array_new_with_free_func(affinity_group_free);
	plan->window.assumed_mib_s = 100;
	return plan;
}

void
plan_free(struct plan *plan)
{
	if (!plan)
		return;
	g_free(plan->path);
	g_free(plan->name);
	g_ptr_array_unref(plan->order);
	g_ptr_array_unref(plan->placement.anti_affinity);
	g_hash_table_unref(plan->migration_by_id);
	g_ptr_array_unref(plan->migrations);
	settings_release(&plan->defaults);
	remap_release(&plan->remap);
	g_hash_table_unref(plan->host_by_name);
	g_ptr_array_unref(plan->hosts);
	g_ptr_array_unref(plan->no_items);
	g_array_unref(plan->no_refs);
	g_free(plan);
}

struct host *
plan_host(const struct plan *plan, const char *name)
{
	return g_hash_table_lookup(plan->host_by_name, name);
}

struct migration *
plan_migration(const struct plan *plan, const char *id)
{
	return g_hash_table_lookup(plan->migration_by_id, id);
}
