/* plan_parse.c: turn the YAML tree into a struct plan, enforcing the
 * format's keys and types: the top level, defaults, remap and
 * migrations (hosts are in parse_hosts.c, the generic reading of a
 * mapping in parse_map.c).  Rules that relate several objects are in
 * plan_check.c.  Every problem is reported and parsing goes on, so one
 * run shows them all. */
#include <string.h>

#include "plan_priv.h"

/* ---- remap ---- */

static void
read_rules(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	struct remap *r = ud;
	enum remap_kind kind = !strcmp(key, "paths") ? REMAP_PATHS :
			       !strcmp(key, "bridges") ? REMAP_BRIDGES : REMAP_NETWORKS;

	(void)k;
	if (!expect_kind(c, key, v, YK_SEQ))
		return;
	for (guint i = 0; i < ydoc_seq_len(v); i++) {
		struct ynode *item = ydoc_seq_item(&c->y, v, i);
		struct remap_rule *rule;
		struct pos at[2] = { 0 };
		guint32 given = 0;
		struct ynode *from_node = NULL;

		if (ydoc_kind(item) != YK_MAP) {
			diags_add(c->dg, ydoc_pos(item), "each rule in '%s' must be a mapping {from: PATTERN, to: REPLACEMENT}, not %s",
				  key, ydoc_kind_name(ydoc_kind(item)));
			continue;
		}
		rule = g_new0(struct remap_rule, 1);
		read_map(c, item, "a remap rule", &field_tables[FT_RULE], rule, &given, at,
			 NULL, NULL, NULL);
		rule->from_at = at[0];
		rule->to_at = at[1];
		if (!at[0].line)
			diags_add(c->dg, ydoc_pos(item), "remap rule is missing required key 'from'");
		if (!at[1].line)
			diags_add(c->dg, ydoc_pos(item), "remap rule is missing required key 'to'");
		if (given == 3) {
			g_autoptr(GArray) pairs = ydoc_pairs(&c->y, item);

			for (guint p = 0; p < pairs->len; p++)
				if (!strcmp(ydoc_str(g_array_index(pairs, struct ypair, p).key), "from"))
					from_node = g_array_index(pairs, struct ypair, p).value;
			remap_rule_compile(c, rule, from_node);
		}
		g_ptr_array_add(plan_list_own(c->plan, &r->rules[kind], remap_rule_free), rule);
	}
}

static void
read_remap(struct pctx *c, struct ynode *v, struct remap *r)
{
	static const char *const keys[] = { "paths", "bridges", "networks", NULL };

	if (!expect_map(c, "remap", v))
		return;
	read_map(c, v, "remap", NULL, NULL, NULL, NULL, keys, read_rules, r);
}

/* ---- settings: the keys defaults: and a migration share ---- */

/* disks.shared: a list of patterns, compiled now.  ->given says it was
 * read without error; ->at[DF_SHARED] that it was written at all. */
static void
read_disks_shared(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	struct disk_opts *d = ud;
	gboolean ok = TRUE;

	(void)k;
	d->at[DF_SHARED] = ydoc_pos(v);
	g_ptr_array_set_size(plan_list_own(c->plan, &d->shared, shared_pattern_free), 0);
	if (!expect_kind(c, key, v, YK_SEQ))
		return;
	for (guint i = 0; i < ydoc_seq_len(v); i++) {
		struct ynode *item = ydoc_seq_item(&c->y, v, i);
		struct shared_pattern *sp;

		if (ydoc_kind(item) != YK_STR || !*ydoc_str(item)) {
			diags_add(c->dg, ydoc_pos(item), "each entry of 'shared' must be a PCRE2 pattern, not %s",
				  ydoc_kind(item) == YK_STR ? "an empty string" : ydoc_kind_name(ydoc_kind(item)));
			ok = FALSE;
			continue;
		}
		if (has_nul(item)) {
			diags_add(c->dg, ydoc_pos(item),
				  "a pattern in 'shared' must not contain a NUL character (write \\x00 to match one)");
			ok = FALSE;
			continue;
		}
		sp = g_new0(struct shared_pattern, 1);
		sp->pattern = g_strdup(ydoc_str(item));
		sp->at = ydoc_pos(item);
		if (shared_pattern_compile(c, sp, item) < 0) {
			shared_pattern_free(sp);
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(d->shared, sp);
	}
	if (ok)
		d->given |= 1u << DF_SHARED;
}

static void
read_settings_block(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	struct settings *s = ud;

	if (!strcmp(key, "remap")) {
		read_remap(c, v, &s->remap);
		return;
	}
	if (!expect_map(c, key, v))
		return;
	if (!strcmp(key, "shutdown")) {
		read_map(c, v, "shutdown", &field_tables[FT_SHUTDOWN], &s->shutdown,
			 &s->shutdown.given, s->shutdown.at, NULL, NULL, NULL);
	} else if (!strcmp(key, "verify")) {
		s->verify_at = ydoc_pos(k);
		read_map(c, v, "verify", &field_tables[FT_VERIFY], &s->verify,
			 &s->verify.given, s->verify.at, NULL, NULL, NULL);
	} else if (!strcmp(key, "prepare")) {
		s->prepare_at = ydoc_pos(k);
		read_map(c, v, "prepare", &field_tables[FT_PREPARE], &s->prepare,
			 &s->prepare.given, s->prepare.at, NULL, NULL, NULL);
	} else if (!strcmp(key, "live")) {
		s->live_at = ydoc_pos(k);
		read_map(c, v, "live", &field_tables[FT_LIVE], &s->live,
			 &s->live.given, s->live.at, NULL, NULL, NULL);
	} else {
		static const char *const disk_extra[] = { "shared", NULL };

		s->disks_at = ydoc_pos(k);
		read_map(c, v, "disks", &field_tables[FT_DISKS], &s->disks,
			 &s->disks.given, s->disks.at, disk_extra, read_disks_shared, &s->disks);
	}
}


/* Keys that only a migration takes, for a helpful error in defaults. */
static const char *const migration_only[] = { "id", "vm", "match", "from", "to", "after", NULL };

static void
read_defaults_key(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	if (g_strv_contains(migration_only, key)) {
		diags_add(c->dg, ydoc_pos(k), "'%s' cannot be a default; set it on each migration", key);
		return;
	}
	read_settings_block(c, key, k, v, ud);
}

static void
read_defaults(struct pctx *c, struct ynode *v)
{
	static const char *const keys[] = {
		"shutdown", "live", "disks", "verify", "prepare", "remap", "id", "vm", "match", "from", "to", "after", NULL
	};
	struct settings *s = &c->plan->defaults;

	if (!expect_map(c, "defaults", v))
		return;
	read_map(c, v, "defaults", &field_tables[FT_SETTINGS], s, &s->given,
		 s->at, keys, read_defaults_key, s);
}

/* ---- hosts ---- */

/* ---- migrations ---- */

static void
after_ref_clear(gpointer p)
{
	g_free(((struct after_ref *)p)->id);
}

static void
read_after(struct pctx *c, struct migration *m, struct ynode *v)
{
	guint n = v->type == YAML_SEQUENCE_NODE ? ydoc_seq_len(v) : 1;

	m->after_at = ydoc_pos(v);
	if (v->type == YAML_MAPPING_NODE || (v->type == YAML_SCALAR_NODE && ydoc_kind(v) != YK_STR)) {
		diags_add(c->dg, ydoc_pos(v), "'after' must be an id or a list of ids, not %s",
			  ydoc_kind_name(ydoc_kind(v)));
		return;
	}
	for (guint i = 0; i < n; i++) {
		struct ynode *item = v->type == YAML_SEQUENCE_NODE ? ydoc_seq_item(&c->y, v, i) : v;
		struct after_ref ref;

		if (ydoc_kind(item) != YK_STR || !*ydoc_str(item)) {
			diags_add(c->dg, ydoc_pos(item), "each entry of 'after' must be a migration id, not %s",
				  ydoc_kind(item) == YK_STR ? "an empty string" : ydoc_kind_name(ydoc_kind(item)));
			continue;
		}
		ref.id = g_strdup(ydoc_str(item));
		ref.at = ydoc_pos(item);
		if (m->after_refs == c->plan->no_refs) {	/* the first: its own list */
			g_array_unref(m->after_refs);
			m->after_refs = g_array_new(FALSE, TRUE, sizeof(struct after_ref));
			g_array_set_clear_func(m->after_refs, after_ref_clear);
		}
		g_array_append_val(m->after_refs, ref);
	}
}

static void
read_migration_key(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	struct migration *m = ud;

	if (!strcmp(key, "after")) {
		read_after(c, m, v);
		return;
	}
	read_settings_block(c, key, k, v, &m->set);
}

static const char *const migration_extra[] = { "after", "shutdown", "live", "disks", "verify", "prepare", "remap", NULL };

static void
unknown_migration_key(struct pctx *c, struct ynode *k)
{
	const struct ftable *mt = &field_tables[FT_MIGRATION], *st = &field_tables[FT_SETTINGS];
	g_autofree struct field *all = g_new(struct field, mt->n + st->n);

	memcpy(all, mt->fields, mt->n * sizeof(*all));
	memcpy(all + mt->n, st->fields, st->n * sizeof(*all));
	unknown_key(c, k, "a migration", all, mt->n + st->n, migration_extra);
}

/* to: as a list of host names (a target pool).  The names wait in
 * c->pool_names for plan_check(), which resolves them; their positions
 * go to m->pool_at now. */
static gboolean
read_to_list(struct pctx *c, struct migration *m, struct ynode *v)
{
	GPtrArray *names;
	gboolean ok = TRUE;

	if (ydoc_kind(v) != YK_SEQ) {
		diags_add(c->dg, ydoc_pos(v), "'to' must be a host name or a list of host names, not %s",
			  ydoc_kind_name(ydoc_kind(v)));
		return FALSE;
	}
	if (ydoc_seq_len(v) == 0) {
		diags_add(c->dg, ydoc_pos(v),
			  "'to' must list at least one host (a list is a pool of candidate targets)");
		return FALSE;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	g_array_unref(m->pool_at);
	m->pool_at = g_array_sized_new(FALSE, FALSE, sizeof(struct pos), ydoc_seq_len(v));
	for (guint i = 0; i < ydoc_seq_len(v); i++) {
		struct ynode *item = ydoc_seq_item(&c->y, v, i);
		struct pos at = ydoc_pos(item);

		if (ydoc_kind(item) != YK_STR || !*ydoc_str(item)) {
			diags_add(c->dg, at, "each entry of 'to' must be a host name, not %s",
				  ydoc_kind(item) == YK_STR ? "an empty string" : ydoc_kind_name(ydoc_kind(item)));
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(names, g_strdup(ydoc_str(item)));
		g_array_append_val(m->pool_at, at);
	}
	g_hash_table_replace(c->pool_names, m, names);
	return ok;
}

/* The keys of a migration.  settings_fields come first in struct
 * settings, so one table walk reads them; the migration's own keys are
 * read by a second table.  @present: keys written, @given: keys read
 * without error, @at: where (indexed by MF_*). */
static void
read_migration_pairs(struct pctx *c, struct migration *m, struct ynode *item, struct pos *at,
		     guint32 *given, guint32 *present)
{
	const struct ftable *mt = &field_tables[FT_MIGRATION], *st = &field_tables[FT_SETTINGS];
	g_autoptr(GArray) pairs = ydoc_pairs(&c->y, item);

	for (guint i = 0; i < pairs->len; i++) {
		struct ypair *pr = &g_array_index(pairs, struct ypair, i);
		const char *key = ydoc_str(pr->key);
		gboolean done = FALSE;

		for (guint f = 0; f < mt->n && !done; f++) {
			if (strcmp(key, mt->fields[f].key))
				continue;
			done = TRUE;
			*present |= 1u << f;
			if (f == MF_TO && pr->value->type != YAML_SCALAR_NODE) {
				at[f] = ydoc_pos(pr->value);
				if (read_to_list(c, m, pr->value))
					*given |= 1u << f;
			} else if (field_set(c, &mt->fields[f], pr->value, m)) {
				*given |= 1u << f;
				at[f] = ydoc_pos(pr->value);
				if (f == MF_MATCH)
					match_compile(c, m, pr->value);
			}
		}
		for (guint f = 0; f < st->n && !done; f++) {
			if (strcmp(key, st->fields[f].key))
				continue;
			done = TRUE;
			m->set.at[f] = ydoc_pos(pr->value);
			if (field_set(c, &st->fields[f], pr->value, &m->set))
				m->set.given |= 1u << f;
		}
		for (guint e = 0; migration_extra[e] && !done; e++) {
			if (strcmp(key, migration_extra[e]))
				continue;
			done = TRUE;
			read_migration_key(c, key, pr->key, pr->value, m);
		}
		if (!done)
			unknown_migration_key(c, pr->key);
	}
}

static void
read_migration(struct pctx *c, struct ynode *item)
{
	struct migration *m = g_new0(struct migration, 1);
	struct pos at[MF__COUNT] = { 0 };
	guint32 given = 0, present = 0;

	settings_init(&m->set, c->plan->no_items);
	m->after_refs = g_array_ref(c->plan->no_refs);
	m->after = g_ptr_array_ref(c->plan->no_items);
	m->pool = g_ptr_array_ref(c->plan->no_items);
	m->pool_at = g_array_ref(c->no_pos);
	m->index = c->plan->migrations->len;
	m->at = ydoc_pos(item);
	g_ptr_array_add(c->plan->migrations, m);
	if (ydoc_kind(item) != YK_MAP) {
		diags_add(c->dg, ydoc_pos(item), "each migration must be a mapping, not %s",
			  ydoc_kind_name(ydoc_kind(item)));
		m->not_a_map = TRUE;
		m->id = g_strdup_printf("#%u", m->index + 1);
		return;
	}
	read_migration_pairs(c, m, item, at, &given, &present);
	m->id_given = (given >> MF_ID) & 1;
	m->id_at = at[MF_ID];
	m->name_at = m->vm ? at[MF_VM] : at[MF_MATCH];
	m->from_at = at[MF_FROM];
	m->to_at = at[MF_TO];
	if (m->vm && m->match)
		diags_add(c->dg, at[MF_MATCH], "a migration names either 'vm' or 'match', not both");
	else if (!(present & (1u << MF_VM | 1u << MF_MATCH)))
		diags_add(c->dg, m->at, "migration is missing required key 'vm' (or 'match')");
	if (!(present & (1u << MF_FROM)))
		diags_add(c->dg, m->at, "migration is missing required key 'from'");
	if (!(present & (1u << MF_TO)))
		diags_add(c->dg, m->at, "migration is missing required key 'to'");
	if (!m->id && (m->vm || m->match))
		m->id = g_strdup(m->vm ? m->vm : m->match);
	else if (!m->id)	/* the plan is invalid anyway; keep messages readable */
		m->id = g_strdup_printf("#%u", m->index + 1);
}

static void
read_migrations(struct pctx *c, struct ynode *v)
{
	if (!expect_kind(c, "migrations", v, YK_SEQ))
		return;
	if (ydoc_seq_len(v) == 0)
		diags_add(c->dg, ydoc_pos(v), "'migrations' must list at least one migration");
	for (guint i = 0; i < ydoc_seq_len(v); i++)
		read_migration(c, ydoc_seq_item(&c->y, v, i));
}

/* ---- top level ---- */

static const char *const top_keys[] = {
	"version", "name", "concurrency", "hosts", "defaults", "remap", "placement", "window", "migrations", NULL
};
enum {
	TK_VERSION, TK_NAME, TK_CONCURRENCY, TK_HOSTS, TK_DEFAULTS, TK_REMAP, TK_PLACEMENT, TK_WINDOW,
	TK_MIGRATIONS, TK__COUNT
};

static void
read_version(struct pctx *c, struct ynode *v)
{
	gint64 ver;

	if (!ydoc_int(v, &ver)) {
		const struct field f = { "version", F_INT, 0, 0, 0, NULL, 0 };

		type_error(c, &f, v);
		return;
	}
	if (ver != PLAN_VERSION)
		diags_add(c->dg, ydoc_pos(v), "unsupported plan version %" G_GINT64_FORMAT
			  "; this vmshift reads version %d", ver, PLAN_VERSION);
}

static void
read_name(struct pctx *c, struct ynode *v)
{
	const struct field f = { "name", F_STR, offsetof(struct plan, name), 0, 0, NULL, 0 };

	if (!field_set(c, &f, v, c->plan))
		return;
	if (!valid_name(c->plan->name))
		diags_add(c->dg, ydoc_pos(v),
			  "'name' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, not '%s'",
			  c->plan->name);
}

static void
read_concurrency(struct pctx *c, struct ynode *v)
{
	static const struct field f[] = {
		{ "max_parallel", F_INT, offsetof(struct plan, max_parallel), 1, 1024, NULL, FIELD_CONCURRENCY },
	};
	static const struct ftable t = { "concurrency", f, G_N_ELEMENTS(f) };

	if (!expect_map(c, "concurrency", v))
		return;
	read_map(c, v, "concurrency", &t, c->plan, NULL, NULL, NULL, NULL, NULL);
}

void
plan_read_tree(struct pctx *c, struct ynode *root)
{
	struct ynode *val[TK__COUNT] = { 0 }, *key[TK__COUNT] = { 0 };
	g_autoptr(GArray) pairs = NULL;

	if (ydoc_kind(root) != YK_MAP) {
		diags_add(c->dg, ydoc_pos(root),
			  "a plan must be a mapping with keys version, name, hosts and migrations, not %s",
			  ydoc_kind_name(ydoc_kind(root)));
		return;
	}
	pairs = ydoc_pairs(&c->y, root);
	for (guint i = 0; i < pairs->len; i++) {
		struct ypair *pr = &g_array_index(pairs, struct ypair, i);
		guint k;

		for (k = 0; k < TK__COUNT && strcmp(ydoc_str(pr->key), top_keys[k]); k++)
			;
		if (k == TK__COUNT) {
			unknown_key(c, pr->key, "the plan", NULL, 0, top_keys);
		} else {
			val[k] = pr->value;
			key[k] = pr->key;
		}
	}
	for (guint k = 0; k < TK__COUNT; k++) {
		if (!val[k] && (k == TK_VERSION || k == TK_NAME || k == TK_HOSTS || k == TK_MIGRATIONS))
			diags_add(c->dg, ydoc_pos(root), "the plan is missing required key '%s'", top_keys[k]);
	}
	/* Hosts and defaults first: migrations refer to them. */
	if (val[TK_VERSION])
		read_version(c, val[TK_VERSION]);
	if (val[TK_NAME])
		read_name(c, val[TK_NAME]);
	if (val[TK_CONCURRENCY])
		read_concurrency(c, val[TK_CONCURRENCY]);
	if (val[TK_HOSTS])
		read_hosts(c, val[TK_HOSTS]);
	if (val[TK_DEFAULTS])
		read_defaults(c, val[TK_DEFAULTS]);
	if (val[TK_REMAP])
		read_remap(c, val[TK_REMAP], &c->plan->remap);
	if (val[TK_PLACEMENT])
		read_placement(c, key[TK_PLACEMENT], val[TK_PLACEMENT]);
	if (val[TK_WINDOW])
		read_window(c, key[TK_WINDOW], val[TK_WINDOW]);
	if (val[TK_MIGRATIONS])
		read_migrations(c, val[TK_MIGRATIONS]);
}

