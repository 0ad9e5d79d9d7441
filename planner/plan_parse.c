/* plan_parse.c: turn the YAML tree into a struct plan, enforcing the
 * format's keys and types.  Rules that relate several objects are in
 * plan_check.c.  Every problem is reported and parsing goes on, so one
 * run shows them all. */
#include <stddef.h>
#include <string.h>

#include "plan_priv.h"
#include "suggest.h"

enum ftype { F_STR, F_STR_EMPTY_OK, F_INT, F_BOOL, F_ENUM };

/* One scalar key of a mapping and where its value goes. */
struct field {
	const char *key;
	enum ftype type;
	gsize off;
	gint64 min, max;		/* F_INT */
	const char *const *names;	/* F_ENUM: NULL-terminated */
};

#define FSTR(k, T, m)		{ k, F_STR, offsetof(T, m), 0, 0, NULL }
#define FINT(k, T, m, lo, hi)	{ k, F_INT, offsetof(T, m), lo, hi, NULL }
#define FBOOL(k, T, m)		{ k, F_BOOL, offsetof(T, m), 0, 0, NULL }
#define FENUM(k, T, m, names)	{ k, F_ENUM, offsetof(T, m), 0, 0, names }

static const char *const mode_names[] = { "cold", "live", "offline-with-scp-disk", NULL };
static const char *const start_names[] = { "keep", "always", "never", NULL };
static const char *const copy_storage_names[] = { "none", "all", "inc", NULL };
static const char *const on_timeout_names[] = { "abort", "suspend", "postcopy", NULL };
static const char *const verify_names[] = { "sha256", "size", "none", NULL };

/* The first keys of struct settings; the order is the bit in ->given. */
static const struct field settings_fields[] = {
	FENUM("mode", struct settings, mode, mode_names),
	FBOOL("undefine_source", struct settings, undefine_source),
	FENUM("start", struct settings, start, start_names),
};

static const struct field shutdown_fields[] = {
	FINT("timeout_s", struct shutdown_opts, timeout_s, 0, G_MAXINT32),
	FBOOL("force", struct shutdown_opts, force),
};

/* Keep in the order of struct live_opts: plan_check.c names bits. */
static const struct field live_fields[] = {
	FINT("max_downtime_ms", struct live_opts, max_downtime_ms, 1, G_MAXINT32),
	FINT("bandwidth_mib_s", struct live_opts, bandwidth_mib_s, 0, G_MAXINT32),
	FBOOL("auto_converge", struct live_opts, auto_converge),
	FBOOL("postcopy", struct live_opts, postcopy),
	FENUM("copy_storage", struct live_opts, copy_storage, copy_storage_names),
	FINT("timeout_s", struct live_opts, timeout_s, 0, G_MAXINT32),
	FENUM("on_timeout", struct live_opts, on_timeout, on_timeout_names),
	FBOOL("compressed", struct live_opts, compressed),
	FINT("parallel_connections", struct live_opts, parallel_connections, 0, 64),
	FBOOL("tls", struct live_opts, tls),
	FBOOL("unsafe", struct live_opts, unsafe),
	FBOOL("skip_cpu_check", struct live_opts, skip_cpu_check),
	FBOOL("check_dirty_rate", struct live_opts, check_dirty_rate),
};

static const struct field disk_fields[] = {
	FENUM("verify", struct disk_opts, verify, verify_names),
	FBOOL("delete_source", struct disk_opts, delete_source),
	FBOOL("overwrite", struct disk_opts, overwrite),
};

G_STATIC_ASSERT(G_N_ELEMENTS(disk_fields) == DF_SHARED);

static const struct field host_fields[] = {
	FSTR("uri", struct host, uri),
	FSTR("migration_host", struct host, migration_host),
	FINT("max_parallel", struct host, max_parallel, 1, 1024),
};

static const struct field ssh_fields[] = {
	FSTR("host", struct ssh_access, host),
	FINT("port", struct ssh_access, port, 1, 65535),
	FSTR("user", struct ssh_access, user),
	FSTR("identity", struct ssh_access, identity),
	FSTR("known_hosts", struct ssh_access, known_hosts),
};

/* "to" may be empty: a rule can cut a prefix away */
static const struct field rule_fields[] = {
	FSTR("from", struct remap_rule, from),
	{ "to", F_STR_EMPTY_OK, offsetof(struct remap_rule, to), 0, 0, NULL },
};

/* The order is the index into at[] in read_migration(). */
static const struct field migration_fields[] = {
	FSTR("id", struct migration, id),
	FSTR("vm", struct migration, vm),
	FSTR("match", struct migration, match),
	FSTR("from", struct migration, from_name),
	FSTR("to", struct migration, to_name),
};
enum { MF_ID, MF_VM, MF_MATCH, MF_FROM, MF_TO };

G_STATIC_ASSERT(G_N_ELEMENTS(live_fields) <= OPT_MAX_KEYS);

/* Keys a mapping takes beyond its field table, handled by a callback. */
typedef void (*special_fn)(struct pctx *c, const char *key, yaml_node_t *k, yaml_node_t *v,
			   void *ud);

static gboolean
expect_kind(struct pctx *c, const char *key, yaml_node_t *v, enum ykind want)
{
	enum ykind got = ydoc_kind(v);

	if (got == want)
		return TRUE;
	diags_add(c->dg, ydoc_pos(v), "'%s' must be %s, not %s", key, ydoc_kind_name(want),
		  ydoc_kind_name(got));
	return FALSE;
}

static void
type_error(struct pctx *c, const struct field *f, yaml_node_t *v)
{
	static const char *const want[] = {
		[F_STR] = "a string", [F_STR_EMPTY_OK] = "a string", [F_INT] = "an integer", [F_BOOL] = "true or false",
		[F_ENUM] = "a string",
	};
	enum ykind got = ydoc_kind(v);
	const char *s = ydoc_str(v);
	const char *hint = "";

	if (f->type == F_INT && got == YK_STR && s && *s && strspn(s, "0123456789") == strlen(s))
		hint = " (write it without quotes)";
	else if (f->type == F_BOOL && got == YK_STR && (!strcmp(s, "true") || !strcmp(s, "false")))
		hint = " (write it without quotes)";
	else if (f->type == F_BOOL && s && (!g_ascii_strcasecmp(s, "yes") || !g_ascii_strcasecmp(s, "no") ||
					    !g_ascii_strcasecmp(s, "on") || !g_ascii_strcasecmp(s, "off")))
		hint = " (plans use YAML 1.2: write true or false)";
	else if ((f->type == F_STR || f->type == F_STR_EMPTY_OK) && (got == YK_INT || got == YK_FLOAT || got == YK_BOOL))
		hint = " (put it in quotes)";
	if (s && got != YK_NULL)
		diags_add(c->dg, ydoc_pos(v), "'%s' must be %s, not %s '%s'%s", f->key, want[f->type],
			  ydoc_kind_name(got), s, hint);
	else
		diags_add(c->dg, ydoc_pos(v), "'%s' must be %s, not %s%s", f->key, want[f->type],
			  ydoc_kind_name(got), hint);
}

static char *
join_names(const char *const *names)
{
	return g_strjoinv(", ", (char **)names);
}

/* Store @v into the field @f of @base; FALSE (and a diagnostic) if it
 * does not fit the field's type and range. */
static gboolean
field_set(struct pctx *c, const struct field *f, yaml_node_t *v, void *base)
{
	char *p = (char *)base + f->off;
	const char *s = ydoc_str(v);
	gint64 i;
	gboolean b;

	switch (f->type) {
	case F_STR:
	case F_STR_EMPTY_OK:
		if (ydoc_kind(v) != YK_STR && !(f->type == F_STR_EMPTY_OK && ydoc_kind(v) == YK_NULL &&
						 v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)) {
			type_error(c, f, v);
			return FALSE;
		}
		if (!*s && f->type == F_STR) {
			diags_add(c->dg, ydoc_pos(v), "'%s' must not be empty", f->key);
			return FALSE;
		}
		g_free(*(char **)p);
		*(char **)p = g_strdup(s);
		return TRUE;
	case F_INT:
		if (!ydoc_int(v, &i)) {
			if (ydoc_kind(v) == YK_INT)
				diags_add(c->dg, ydoc_pos(v), "'%s' is out of range: %s", f->key, s);
			else
				type_error(c, f, v);
			return FALSE;
		}
		if (i < f->min || i > f->max) {
			if (i > f->max && f->max >= G_MAXINT32)
				diags_add(c->dg, ydoc_pos(v), "'%s' must be at most %" G_GINT64_FORMAT
					  ", not %" G_GINT64_FORMAT, f->key, f->max, i);
			else if (f->max >= G_MAXINT32)
				diags_add(c->dg, ydoc_pos(v), "'%s' must be at least %" G_GINT64_FORMAT
					  ", not %" G_GINT64_FORMAT, f->key, f->min, i);
			else
				diags_add(c->dg, ydoc_pos(v), "'%s' must be between %" G_GINT64_FORMAT
					  " and %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT,
					  f->key, f->min, f->max, i);
			return FALSE;
		}
		*(gint64 *)p = i;
		return TRUE;
	case F_BOOL:
		if (!ydoc_bool(v, &b)) {
			type_error(c, f, v);
			return FALSE;
		}
		*(gboolean *)p = b;
		return TRUE;
	case F_ENUM:
		if (ydoc_kind(v) == YK_STR || ydoc_kind(v) == YK_INT || ydoc_kind(v) == YK_BOOL) {
			gsize n = g_strv_length((char **)f->names);
			g_autofree char *all = NULL;
			const char *near;

			for (gsize k = 0; k < n; k++) {
				if (!strcmp(s, f->names[k])) {
					*(int *)p = (int)k;
					return TRUE;
				}
			}
			all = join_names(f->names);
			near = suggest_nearest(s, f->names, n);
			if (near)
				diags_add(c->dg, ydoc_pos(v), "'%s' must be one of %s, not '%s' (did you mean '%s'?)",
					  f->key, all, s, near);
			else
				diags_add(c->dg, ydoc_pos(v), "'%s' must be one of %s, not '%s'", f->key, all, s);
			return FALSE;
		}
		type_error(c, f, v);
		return FALSE;
	}
	return FALSE;
}

static void
unknown_key(struct pctx *c, yaml_node_t *k, const char *what, const struct field *fields,
	    guint n_fields, const char *const *extra)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	const char *key = ydoc_str(k);
	const char *near;

	for (guint i = 0; i < n_fields; i++)
		g_ptr_array_add(names, (gpointer)fields[i].key);
	for (guint i = 0; extra && extra[i]; i++)
		g_ptr_array_add(names, (gpointer)extra[i]);
	near = suggest_nearest(key, (const char *const *)names->pdata, names->len);
	if (near) {
		diags_add(c->dg, ydoc_pos(k), "unknown key '%s' in %s (did you mean '%s'?)", key, what, near);
	} else {
		g_ptr_array_add(names, NULL);
		g_autofree char *all = join_names((const char *const *)names->pdata);

		diags_add(c->dg, ydoc_pos(k), "unknown key '%s' in %s; known keys: %s", key, what, all);
	}
}

/* Read the mapping @map: keys of @fields into @base (recording in @given
 * and @at which were written and where), keys listed in @extra through
 * @special, anything else is an unknown key. */
static void
read_map(struct pctx *c, yaml_node_t *map, const char *what, const struct field *fields,
	 guint n_fields, void *base, guint32 *given, struct pos *at, const char *const *extra,
	 special_fn special, void *ud)
{
	g_autoptr(GArray) pairs = ydoc_pairs(&c->y, map);

	for (guint i = 0; i < pairs->len; i++) {
		struct ypair *pr = &g_array_index(pairs, struct ypair, i);
		const char *key = ydoc_str(pr->key);
		gboolean done = FALSE;

		for (guint f = 0; f < n_fields && !done; f++) {
			if (strcmp(key, fields[f].key))
				continue;
			done = TRUE;
			/* at[] records even a bad value, so that later checks
			 * know the key was written and stay quiet about it */
			if (at)
				at[f] = ydoc_pos(pr->value);
			if (field_set(c, &fields[f], pr->value, base) && given)
				*given |= 1u << f;
		}
		for (guint e = 0; extra && extra[e] && !done; e++) {
			if (strcmp(key, extra[e]))
				continue;
			done = TRUE;
			special(c, key, pr->key, pr->value, ud);
		}
		if (!done)
			unknown_key(c, pr->key, what, fields, n_fields, extra);
	}
}

static gboolean
expect_map(struct pctx *c, const char *key, yaml_node_t *v)
{
	return expect_kind(c, key, v, YK_MAP);
}

/* ---- remap ---- */

static void
read_rules(struct pctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	struct remap *r = ud;
	enum remap_kind kind = !strcmp(key, "paths") ? REMAP_PATHS :
			       !strcmp(key, "bridges") ? REMAP_BRIDGES : REMAP_NETWORKS;

	(void)k;
	if (!expect_kind(c, key, v, YK_SEQ))
		return;
	for (guint i = 0; i < ydoc_seq_len(v); i++) {
		yaml_node_t *item = ydoc_seq_item(&c->y, v, i);
		struct remap_rule *rule;
		struct pos at[2] = { 0 };
		guint32 given = 0;
		yaml_node_t *from_node = NULL;

		if (ydoc_kind(item) != YK_MAP) {
			diags_add(c->dg, ydoc_pos(item), "each rule in '%s' must be a mapping {from: PATTERN, to: REPLACEMENT}, not %s",
				  key, ydoc_kind_name(ydoc_kind(item)));
			continue;
		}
		rule = g_new0(struct remap_rule, 1);
		read_map(c, item, "a remap rule", rule_fields, G_N_ELEMENTS(rule_fields), rule, &given, at,
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
		g_ptr_array_add(r->rules[kind], rule);
	}
}

static void
read_remap(struct pctx *c, yaml_node_t *v, struct remap *r)
{
	static const char *const keys[] = { "paths", "bridges", "networks", NULL };

	if (!expect_map(c, "remap", v))
		return;
	read_map(c, v, "remap", NULL, 0, NULL, NULL, NULL, keys, read_rules, r);
}

/* A scalar whose text holds a NUL ("\0" in a double-quoted string):
 * C sees only the text before it. */
static gboolean
has_nul(const yaml_node_t *v)
{
	return strlen(ydoc_str(v)) != v->data.scalar.length;
}

/* ---- settings: the keys defaults: and a migration share ---- */

/* disks.shared: a list of patterns, compiled now.  ->given says it was
 * read without error; ->at[DF_SHARED] that it was written at all. */
static void
read_disks_shared(struct pctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	struct disk_opts *d = ud;
	gboolean ok = TRUE;

	(void)k;
	d->at[DF_SHARED] = ydoc_pos(v);
	g_ptr_array_set_size(d->shared, 0);
	if (!expect_kind(c, key, v, YK_SEQ))
		return;
	for (guint i = 0; i < ydoc_seq_len(v); i++) {
		yaml_node_t *item = ydoc_seq_item(&c->y, v, i);
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
read_settings_block(struct pctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	struct settings *s = ud;

	if (!strcmp(key, "remap")) {
		read_remap(c, v, &s->remap);
		return;
	}
	if (!expect_map(c, key, v))
		return;
	if (!strcmp(key, "shutdown")) {
		read_map(c, v, "shutdown", shutdown_fields, G_N_ELEMENTS(shutdown_fields), &s->shutdown,
			 &s->shutdown.given, s->shutdown.at, NULL, NULL, NULL);
	} else if (!strcmp(key, "live")) {
		s->live_at = ydoc_pos(k);
		read_map(c, v, "live", live_fields, G_N_ELEMENTS(live_fields), &s->live,
			 &s->live.given, s->live.at, NULL, NULL, NULL);
	} else {
		static const char *const disk_extra[] = { "shared", NULL };

		s->disks_at = ydoc_pos(k);
		read_map(c, v, "disks", disk_fields, G_N_ELEMENTS(disk_fields), &s->disks,
			 &s->disks.given, s->disks.at, disk_extra, read_disks_shared, &s->disks);
	}
}


/* Keys that only a migration takes, for a helpful error in defaults. */
static const char *const migration_only[] = { "id", "vm", "match", "from", "to", "after", NULL };

static void
read_defaults_key(struct pctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	if (g_strv_contains(migration_only, key)) {
		diags_add(c->dg, ydoc_pos(k), "'%s' cannot be a default; set it on each migration", key);
		return;
	}
	read_settings_block(c, key, k, v, ud);
}

static void
read_defaults(struct pctx *c, yaml_node_t *v)
{
	static const char *const keys[] = {
		"shutdown", "live", "disks", "remap", "id", "vm", "match", "from", "to", "after", NULL
	};
	struct settings *s = &c->plan->defaults;

	if (!expect_map(c, "defaults", v))
		return;
	read_map(c, v, "defaults", settings_fields, G_N_ELEMENTS(settings_fields), s, &s->given,
		 s->at, keys, read_defaults_key, s);
}

/* ---- hosts ---- */

static gboolean
valid_name(const char *s)
{
	gsize n = strlen(s);

	if (n == 0 || n > PLAN_NAME_MAX || !g_ascii_isalnum(s[0]))
		return FALSE;
	for (gsize i = 1; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && !strchr("._-", s[i]))
			return FALSE;
	return TRUE;
}

struct host_ud {
	struct host *h;
	yaml_node_t *ssh;
};

enum dir_problem { DIR_RELATIVE, DIR_ROOT, DIR_DOT, DIR_DOTDOT };

/* The directory @s normalised (no empty component, so no trailing or
 * doubled '/'), or NULL with *why set: not absolute, "/" itself, or with
 * a "." or ".." component. */
static char *
image_dir_normalise(const char *s, enum dir_problem *why)
{
	g_auto(GStrv) parts = NULL;
	g_autoptr(GString) out = g_string_new(NULL);

	if (*s != '/') {
		*why = DIR_RELATIVE;
		return NULL;
	}
	parts = g_strsplit(s, "/", -1);
	for (guint i = 0; parts[i]; i++) {
		if (!*parts[i])
			continue;
		if (!strcmp(parts[i], ".") || !strcmp(parts[i], "..")) {
			*why = parts[i][1] ? DIR_DOTDOT : DIR_DOT;
			return NULL;
		}
		g_string_append_c(out, '/');
		g_string_append(out, parts[i]);
	}
	if (!out->len) {
		*why = DIR_ROOT;
		return NULL;
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* hosts.NAME.image_dirs: a list of absolute directories, each once. */
static void
read_image_dirs(struct pctx *c, struct host *h, yaml_node_t *k, yaml_node_t *v)
{
	/* normalised directory (borrowed from h->image_dirs) -> its item */
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	h->image_dirs_at = ydoc_pos(k);
	if (!expect_kind(c, "image_dirs", v, YK_SEQ))
		return;
	for (guint i = 0; i < ydoc_seq_len(v); i++) {
		yaml_node_t *item = ydoc_seq_item(&c->y, v, i);
		const char *s = ydoc_str(item);
		enum dir_problem why = DIR_RELATIVE;
		yaml_node_t *first;
		char *dir;

		if (ydoc_kind(item) != YK_STR || !*s) {
			diags_add(c->dg, ydoc_pos(item), "each entry of 'image_dirs' must be an absolute directory path, not %s",
				  ydoc_kind(item) == YK_STR ? "an empty string" : ydoc_kind_name(ydoc_kind(item)));
			continue;
		}
		if (has_nul(item)) {
			diags_add(c->dg, ydoc_pos(item), "an entry of 'image_dirs' must not contain a NUL character");
			continue;
		}
		if (!(dir = image_dir_normalise(s, &why))) {
			if (why == DIR_RELATIVE)
				diags_add(c->dg, ydoc_pos(item),
					  "'image_dirs' entry '%s' must be an absolute path, starting with '/'", s);
			else if (why == DIR_ROOT)
				diags_add(c->dg, ydoc_pos(item),
					  "'image_dirs' entry '%s' is the root directory: vmshift could write images anywhere, which image_dirs is there to prevent; name the directories it may write below",
					  s);
			else
				diags_add(c->dg, ydoc_pos(item),
					  "'image_dirs' entry '%s' must not have a '%s' component; write the directory it means",
					  s, why == DIR_DOT ? "." : "..");
			continue;
		}
		if ((first = g_hash_table_lookup(seen, dir))) {
			if (!strcmp(ydoc_str(first), s))
				diags_add(c->dg, ydoc_pos(item), "duplicate 'image_dirs' entry '%s' (first at line %u)",
					  s, ydoc_pos(first).line);
			else
				diags_add(c->dg, ydoc_pos(item),
					  "duplicate 'image_dirs' entry '%s' (the same directory as '%s' at line %u)",
					  s, ydoc_str(first), ydoc_pos(first).line);
			g_free(dir);
			continue;
		}
		g_ptr_array_add(h->image_dirs, dir);
		g_hash_table_insert(seen, dir, item);
	}
}

static void
read_host_key(struct pctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	struct host_ud *hu = ud;

	if (!strcmp(key, "image_dirs")) {
		read_image_dirs(c, hu->h, k, v);
		return;
	}
	if (!expect_map(c, "ssh", v))
		return;
	hu->ssh = v;
	hu->h->ssh.port = 0;
	read_map(c, v, "ssh", ssh_fields, G_N_ELEMENTS(ssh_fields), &hu->h->ssh, NULL, NULL,
		 NULL, NULL, NULL);
}

static gboolean
uri_is_ssh(GUri *uri)
{
	const char *plus = strchr(g_uri_get_scheme(uri), '+');

	return plus && (!strcmp(plus + 1, "ssh") || !strcmp(plus + 1, "libssh2") ||
			!strcmp(plus + 1, "libssh"));
}

static char *
uri_query_param(GUri *uri, const char *name)
{
	const char *q = g_uri_get_query(uri);
	g_autoptr(GHashTable) params = NULL;

	if (!q || !(params = g_uri_parse_params(q, -1, "&", G_URI_PARAMS_NONE, NULL)))
		return NULL;
	return g_strdup(g_hash_table_lookup(params, name));
}

/* A URI's own parts fill what the ssh: block leaves out: user and port
 * from qemu+ssh://user@host:port/, keyfile= and known_hosts= from its
 * query, as libvirt itself reads them. */
static void
host_finish(struct pctx *c, struct host *h, yaml_node_t *map, yaml_node_t *uri_node,
	    yaml_node_t *ssh_node)
{
	g_autoptr(GUri) uri = NULL;
	gboolean ssh_uri;

	if (!h->uri) {
		if (!uri_node)
			diags_add(c->dg, ydoc_pos(map), "host '%s' is missing required key 'uri'", h->name);
		return;
	}
	uri = g_uri_parse(h->uri, G_URI_FLAGS_NON_DNS | G_URI_FLAGS_ENCODED, NULL);
	if (!uri || strspn(h->uri, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") !=
			    strlen(g_uri_get_scheme(uri)) || !g_str_has_prefix(h->uri + strlen(g_uri_get_scheme(uri)), "://")) {
		diags_add(c->dg, ydoc_pos(uri_node),
			  "'uri' must be a libvirt URI such as qemu+ssh://root@host/system, not '%s'", h->uri);
		/* reported: later checks of this host would only repeat it */
		h->uri_bad = TRUE;
		return;
	}
	ssh_uri = uri_is_ssh(uri);
	if (!ssh_node && !ssh_uri)
		return;
	if (!h->ssh.host && g_uri_get_host(uri) && *g_uri_get_host(uri))
		h->ssh.host = g_strdup(g_uri_get_host(uri));
	if (!h->ssh.user)
		h->ssh.user = g_strdup(ssh_uri && g_uri_get_user(uri) ? g_uri_get_user(uri) : "root");
	if (!h->ssh.port)
		h->ssh.port = ssh_uri && g_uri_get_port(uri) > 0 ? g_uri_get_port(uri) : 22;
	if (!h->ssh.identity && ssh_uri)
		h->ssh.identity = uri_query_param(uri, "keyfile");
	if (!h->ssh.known_hosts && ssh_uri)
		h->ssh.known_hosts = uri_query_param(uri, "known_hosts");
	if (!h->ssh.host) {
		diags_add(c->dg, ydoc_pos(ssh_node ? ssh_node : uri_node),
			  "host '%s' needs an SSH host: its URI '%s' names none (give ssh: {host: ...})",
			  h->name, h->uri);
		h->uri_bad = TRUE;
	}
}

static void
read_host(struct pctx *c, yaml_node_t *k, yaml_node_t *v)
{
	static const char *const extra[] = { "ssh", "image_dirs", NULL };
	struct host *h = g_new0(struct host, 1);
	struct host_ud hu = { h, NULL };
	struct pos at[G_N_ELEMENTS(host_fields)] = { 0 };
	g_autoptr(GArray) pairs = NULL;
	yaml_node_t *uri_node = NULL;
	const char *name = ydoc_str(k);

	h->name = g_strdup(name);
	h->at = ydoc_pos(k);
	h->max_parallel = 1;
	h->image_dirs = g_ptr_array_new_with_free_func(g_free);
	h->index = c->plan->hosts->len;
	if (!valid_name(name))
		diags_add(c->dg, ydoc_pos(k),
			  "host name '%s' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
			  name);
	g_ptr_array_add(c->plan->hosts, h);
	g_hash_table_insert(c->plan->host_by_name, h->name, h);
	if (!expect_map(c, name, v))
		return;
	read_map(c, v, "a host", host_fields, G_N_ELEMENTS(host_fields), h, NULL, at, extra,
		 read_host_key, &hu);
	pairs = ydoc_pairs(&c->y, v);
	for (guint i = 0; i < pairs->len; i++)
		if (!strcmp(ydoc_str(g_array_index(pairs, struct ypair, i).key), "uri"))
			uri_node = g_array_index(pairs, struct ypair, i).value;
	host_finish(c, h, v, uri_node, hu.ssh);
}

static void
read_hosts(struct pctx *c, yaml_node_t *v)
{
	g_autoptr(GArray) pairs = NULL;

	if (!expect_map(c, "hosts", v))
		return;
	pairs = ydoc_pairs(&c->y, v);
	if (pairs->len == 0)
		diags_add(c->dg, ydoc_pos(v), "'hosts' must name at least one host");
	for (guint i = 0; i < pairs->len; i++) {
		struct ypair *pr = &g_array_index(pairs, struct ypair, i);

		read_host(c, pr->key, pr->value);
	}
}

/* ---- migrations ---- */

static void
read_after(struct pctx *c, struct migration *m, yaml_node_t *v)
{
	guint n = v->type == YAML_SEQUENCE_NODE ? ydoc_seq_len(v) : 1;

	m->after_at = ydoc_pos(v);
	if (v->type == YAML_MAPPING_NODE || (v->type == YAML_SCALAR_NODE && ydoc_kind(v) != YK_STR)) {
		diags_add(c->dg, ydoc_pos(v), "'after' must be an id or a list of ids, not %s",
			  ydoc_kind_name(ydoc_kind(v)));
		return;
	}
	for (guint i = 0; i < n; i++) {
		yaml_node_t *item = v->type == YAML_SEQUENCE_NODE ? ydoc_seq_item(&c->y, v, i) : v;
		struct after_ref ref;

		if (ydoc_kind(item) != YK_STR || !*ydoc_str(item)) {
			diags_add(c->dg, ydoc_pos(item), "each entry of 'after' must be a migration id, not %s",
				  ydoc_kind(item) == YK_STR ? "an empty string" : ydoc_kind_name(ydoc_kind(item)));
			continue;
		}
		ref.id = g_strdup(ydoc_str(item));
		ref.at = ydoc_pos(item);
		g_array_append_val(m->after_refs, ref);
	}
}

static void
read_migration_key(struct pctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	struct migration *m = ud;

	if (!strcmp(key, "after")) {
		read_after(c, m, v);
		return;
	}
	read_settings_block(c, key, k, v, &m->set);
}

static void
after_ref_clear(gpointer p)
{
	g_free(((struct after_ref *)p)->id);
}

static void
read_migration(struct pctx *c, yaml_node_t *item)
{
	static const char *const extra[] = { "after", "shutdown", "live", "disks", "remap", NULL };
	struct migration *m = g_new0(struct migration, 1);
	struct pos at[G_N_ELEMENTS(migration_fields)] = { 0 };
	guint32 given = 0, present = 0;

	settings_init(&m->set);
	m->after_refs = g_array_new(FALSE, TRUE, sizeof(struct after_ref));
	g_array_set_clear_func(m->after_refs, after_ref_clear);
	m->after = g_ptr_array_new();
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

	/* settings_fields come first in struct settings, so one table walk
	 * reads them; the migration's own keys are read by a second table. */
	{
		g_autoptr(GArray) pairs = ydoc_pairs(&c->y, item);

		for (guint i = 0; i < pairs->len; i++) {
			struct ypair *pr = &g_array_index(pairs, struct ypair, i);
			const char *key = ydoc_str(pr->key);
			gboolean done = FALSE;

			for (guint f = 0; f < G_N_ELEMENTS(migration_fields) && !done; f++) {
				if (strcmp(key, migration_fields[f].key))
					continue;
				done = TRUE;
				present |= 1u << f;
				if (field_set(c, &migration_fields[f], pr->value, m)) {
					given |= 1u << f;
					at[f] = ydoc_pos(pr->value);
					if (f == MF_MATCH)
						match_compile(c, m, pr->value);
				}
			}
			for (guint f = 0; f < G_N_ELEMENTS(settings_fields) && !done; f++) {
				if (strcmp(key, settings_fields[f].key))
					continue;
				done = TRUE;
				m->set.at[f] = ydoc_pos(pr->value);
				if (field_set(c, &settings_fields[f], pr->value, &m->set))
					m->set.given |= 1u << f;
			}
			for (guint e = 0; extra[e] && !done; e++) {
				if (strcmp(key, extra[e]))
					continue;
				done = TRUE;
				read_migration_key(c, key, pr->key, pr->value, m);
			}
			if (!done) {
				g_autofree struct field *all = g_new(struct field, G_N_ELEMENTS(migration_fields) +
										 G_N_ELEMENTS(settings_fields));

				memcpy(all, migration_fields, sizeof(migration_fields));
				memcpy(all + G_N_ELEMENTS(migration_fields), settings_fields, sizeof(settings_fields));
				unknown_key(c, pr->key, "a migration", all,
					    G_N_ELEMENTS(migration_fields) + G_N_ELEMENTS(settings_fields), extra);
			}
		}
	}
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
read_migrations(struct pctx *c, yaml_node_t *v)
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
	"version", "name", "concurrency", "hosts", "defaults", "remap", "migrations", NULL
};
enum { TK_VERSION, TK_NAME, TK_CONCURRENCY, TK_HOSTS, TK_DEFAULTS, TK_REMAP, TK_MIGRATIONS, TK__COUNT };

static void
read_version(struct pctx *c, yaml_node_t *v)
{
	gint64 ver;

	if (!ydoc_int(v, &ver)) {
		const struct field f = { "version", F_INT, 0, 0, 0, NULL };

		type_error(c, &f, v);
		return;
	}
	if (ver != PLAN_VERSION)
		diags_add(c->dg, ydoc_pos(v), "unsupported plan version %" G_GINT64_FORMAT
			  "; this vmshift reads version %d", ver, PLAN_VERSION);
}

static void
read_name(struct pctx *c, yaml_node_t *v)
{
	const struct field f = FSTR("name", struct plan, name);

	if (!field_set(c, &f, v, c->plan))
		return;
	if (!valid_name(c->plan->name))
		diags_add(c->dg, ydoc_pos(v),
			  "'name' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, not '%s'",
			  c->plan->name);
}

static void
read_concurrency(struct pctx *c, yaml_node_t *v)
{
	static const struct field f[] = { FINT("max_parallel", struct plan, max_parallel, 1, 1024) };

	if (!expect_map(c, "concurrency", v))
		return;
	read_map(c, v, "concurrency", f, G_N_ELEMENTS(f), c->plan, NULL, NULL, NULL, NULL, NULL);
}

void
plan_read_tree(struct pctx *c, yaml_node_t *root)
{
	yaml_node_t *val[TK__COUNT] = { 0 };
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
		if (k == TK__COUNT)
			unknown_key(c, pr->key, "the plan", NULL, 0, top_keys);
		else
			val[k] = pr->value;
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
	if (val[TK_MIGRATIONS])
		read_migrations(c, val[TK_MIGRATIONS]);
}

static void
fields_inherit(const struct field *fields, guint n, void *dst, guint32 dst_given, struct pos *dst_at,
	       const void *src, guint32 src_given, const struct pos *src_at)
{
	static const gsize size[] = {
		[F_STR] = sizeof(char *), [F_STR_EMPTY_OK] = sizeof(char *), [F_INT] = sizeof(gint64), [F_BOOL] = sizeof(gboolean),
		[F_ENUM] = sizeof(int),
	};

	for (guint f = 0; f < n; f++) {
		/* a key written with a bad value is reported; it must not
		 * quietly take the default's value instead */
		if ((dst_given & (1u << f)) || dst_at[f].line || !(src_given & (1u << f)))
			continue;
		g_assert(fields[f].type != F_STR && fields[f].type != F_STR_EMPTY_OK);	/* would need a copy */
		memcpy((char *)dst + fields[f].off, (const char *)src + fields[f].off, size[fields[f].type]);
		dst_at[f] = src_at[f];
	}
}

/* Fill what @dst leaves out from @src, key by key inside each block.
 * ->given keeps saying what the migration itself wrote; ->at[] points
 * at wherever the value came from, for messages. */
void
settings_inherit(struct settings *dst, const struct settings *src)
{
	fields_inherit(settings_fields, G_N_ELEMENTS(settings_fields), dst, dst->given, dst->at,
		       src, src->given, src->at);
	fields_inherit(shutdown_fields, G_N_ELEMENTS(shutdown_fields), &dst->shutdown,
		       dst->shutdown.given, dst->shutdown.at, &src->shutdown, src->shutdown.given,
		       src->shutdown.at);
	fields_inherit(live_fields, G_N_ELEMENTS(live_fields), &dst->live, dst->live.given,
		       dst->live.at, &src->live, src->live.given, src->live.at);
	fields_inherit(disk_fields, G_N_ELEMENTS(disk_fields), &dst->disks, dst->disks.given,
		       dst->disks.at, &src->disks, src->disks.given, src->disks.at);
	/* a list is one value: the migration's own replaces the default's */
	if (!dst->disks.at[DF_SHARED].line && (src->disks.given & (1u << DF_SHARED))) {
		g_ptr_array_unref(dst->disks.shared);
		dst->disks.shared = g_ptr_array_ref(src->disks.shared);
		dst->disks.at[DF_SHARED] = src->disks.at[DF_SHARED];
	}
}
