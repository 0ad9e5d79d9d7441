/* fields.c: the field tables of the plan format, and what walks them
 * apart from the parser: inheriting defaults and the fingerprint of a
 * migration. */
#include <string.h>

#include "fields.h"
#include "plan_priv.h"

#define FSTR(k, T, m)		{ k, F_STR, offsetof(T, m), 0, 0, NULL, 0 }
#define FINT(k, T, m, lo, hi)	{ k, F_INT, offsetof(T, m), lo, hi, NULL, 0 }
#define FBOOL(k, T, m)		{ k, F_BOOL, offsetof(T, m), 0, 0, NULL, 0 }
#define FENUM(k, T, m, names)	{ k, F_ENUM, offsetof(T, m), 0, 0, names, 0 }

static const char *const mode_names[] = { "cold", "live", "offline-with-scp-disk", NULL };
static const char *const start_names[] = { "keep", "always", "never", NULL };
static const char *const copy_storage_names[] = { "none", "all", "inc", NULL };
static const char *const on_timeout_names[] = { "abort", "suspend", "postcopy", NULL };
static const char *const verify_names[] = { "sha256", "size", "none", NULL };
static const char *const transfer_names[] = { "auto", "direct", "relay", NULL };
static const char *const fallback_names[] = { "none", "cold", "offline-with-scp-disk", NULL };

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
	FINT("initial_downtime_ms", struct live_opts, initial_downtime_ms, 1, G_MAXINT32),
	FINT("downtime_steps", struct live_opts, downtime_steps, 1, 100),
	FINT("downtime_step_s", struct live_opts, downtime_step_s, 1, 86400),
	FINT("finish_after_passes", struct live_opts, finish_after_passes, 1, 1000),
	FENUM("fallback", struct live_opts, fallback, fallback_names),
};

static const struct field disk_fields[] = {
	FENUM("verify", struct disk_opts, verify, verify_names),
	FBOOL("delete_source", struct disk_opts, delete_source),
	FBOOL("overwrite", struct disk_opts, overwrite),
	{ "transfer", F_ENUM, offsetof(struct disk_opts, transfer), 0, 0, transfer_names, FIELD_HOW },
};

static const struct field verify_fields[] = {
	FINT("running_for_s", struct verify_opts, running_for_s, 0, 3600),
	FBOOL("guest_agent", struct verify_opts, guest_agent),
	FINT("timeout_s", struct verify_opts, timeout_s, 1, 3600),
	FSTR("tcp", struct verify_opts, tcp),
};

static const struct field prepare_fields[] = {
	FBOOL("create_bridges", struct prepare_opts, create_bridges),
};

static const struct field host_fields[] = {
	FSTR("uri", struct host, uri),
	FSTR("migration_host", struct host, migration_host),
	{ "max_parallel", F_INT, offsetof(struct host, max_parallel), 1, 1024, NULL, FIELD_CONCURRENCY },
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
	{ "to", F_STR_EMPTY_OK, offsetof(struct remap_rule, to), 0, 0, NULL, 0 },
};

static const struct field migration_fields[] = {
	[MF_ID] = FSTR("id", struct migration, id),
	[MF_VM] = FSTR("vm", struct migration, vm),
	[MF_MATCH] = FSTR("match", struct migration, match),
	[MF_FROM] = FSTR("from", struct migration, from_name),
	[MF_TO] = FSTR("to", struct migration, to_name),
};

G_STATIC_ASSERT(G_N_ELEMENTS(migration_fields) == MF__COUNT);
G_STATIC_ASSERT(G_N_ELEMENTS(settings_fields) == SF__COUNT);
G_STATIC_ASSERT(G_N_ELEMENTS(live_fields) == LF__COUNT);
G_STATIC_ASSERT(G_N_ELEMENTS(disk_fields) == DF_SHARED);
/* each block's at[] holds a position per key of its table */
G_STATIC_ASSERT(G_N_ELEMENTS(settings_fields) == SETTINGS_KEYS);
G_STATIC_ASSERT(G_N_ELEMENTS(shutdown_fields) == SHUTDOWN_KEYS);
G_STATIC_ASSERT(G_N_ELEMENTS(live_fields) == LIVE_KEYS);
G_STATIC_ASSERT(G_N_ELEMENTS(disk_fields) + 1 == DISK_KEYS);
G_STATIC_ASSERT(G_N_ELEMENTS(verify_fields) == VERIFY_KEYS);
G_STATIC_ASSERT(G_N_ELEMENTS(prepare_fields) == PREPARE_KEYS);
G_STATIC_ASSERT(G_N_ELEMENTS(host_fields) <= OPT_MAX_KEYS);

#define TABLE(name, t) { name, t, G_N_ELEMENTS(t) }

const struct ftable field_tables[FT__COUNT] = {
	[FT_SETTINGS] = TABLE(NULL, settings_fields),
	[FT_SHUTDOWN] = TABLE("shutdown", shutdown_fields),
	[FT_LIVE] = TABLE("live", live_fields),
	[FT_DISKS] = TABLE("disks", disk_fields),
	[FT_VERIFY] = TABLE("verify", verify_fields),
	[FT_PREPARE] = TABLE("prepare", prepare_fields),
	[FT_HOST] = TABLE(NULL, host_fields),
	[FT_SSH] = TABLE("ssh", ssh_fields),
	[FT_RULE] = TABLE(NULL, rule_fields),
	[FT_MIGRATION] = TABLE(NULL, migration_fields),
};

#define BLOCK(t, T, m) { t, offsetof(struct settings, m), \
			 offsetof(struct settings, m) + offsetof(T, given), \
			 offsetof(struct settings, m) + offsetof(T, at) }

const struct settings_block settings_blocks[SETTINGS_BLOCKS] = {
	{ FT_SETTINGS, 0, offsetof(struct settings, given), offsetof(struct settings, at) },
	BLOCK(FT_SHUTDOWN, struct shutdown_opts, shutdown),
	BLOCK(FT_LIVE, struct live_opts, live),
	BLOCK(FT_DISKS, struct disk_opts, disks),
	BLOCK(FT_VERIFY, struct verify_opts, verify),
	BLOCK(FT_PREPARE, struct prepare_opts, prepare),
};

/* ---- defaults ---- */

static void
fields_inherit(const struct ftable *t, void *dst, guint32 dst_given, struct pos *dst_at,
	       const void *src, guint32 src_given, const struct pos *src_at)
{
	static const gsize size[] = {
		[F_STR] = sizeof(char *), [F_STR_EMPTY_OK] = sizeof(char *), [F_INT] = sizeof(gint64), [F_BOOL] = sizeof(gboolean),
		[F_ENUM] = sizeof(int),
	};

	for (guint f = 0; f < t->n; f++) {
		const struct field *fd = &t->fields[f];

		/* a key written with a bad value is reported; it must not
		 * quietly take the default's value instead */
		if ((dst_given & (1u << f)) || dst_at[f].line || !(src_given & (1u << f)))
			continue;
		if (fd->type == F_STR || fd->type == F_STR_EMPTY_OK)	/* each struct owns its strings */
			*(char **)((char *)dst + fd->off) = g_strdup(*(char *const *)((const char *)src + fd->off));
		else
			memcpy((char *)dst + fd->off, (const char *)src + fd->off, size[fd->type]);
		dst_at[f] = src_at[f];
	}
}

/* ->given keeps saying what the migration itself wrote; ->at[] points
 * at wherever the value came from, for messages. */
void
settings_inherit(struct settings *dst, const struct settings *src)
{
	for (guint b = 0; b < G_N_ELEMENTS(settings_blocks); b++) {
		const struct settings_block *sb = &settings_blocks[b];
		char *d = (char *)dst, *s = (char *)src;

		fields_inherit(&field_tables[sb->table], d + sb->off, *(guint32 *)(d + sb->given_off),
			       (struct pos *)(d + sb->at_off), s + sb->off, *(guint32 *)(s + sb->given_off),
			       (const struct pos *)(s + sb->at_off));
	}
	/* a list is one value: the migration's own replaces the default's */
	if (!dst->disks.at[DF_SHARED].line && (src->disks.given & (1u << DF_SHARED))) {
		g_ptr_array_unref(dst->disks.shared);
		dst->disks.shared = g_ptr_array_ref(src->disks.shared);
		dst->disks.at[DF_SHARED] = src->disks.at[DF_SHARED];
	}
}

/* ---- fingerprint ---- */

/* A string as "...", with '"' and '\' escaped, so that no value can
 * run into the next key; NULL is null. */
static void
fp_string(GString *s, const char *v)
{
	if (!v) {
		g_string_append(s, "null");
		return;
	}
	g_string_append_c(s, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			g_string_append_c(s, '\\');
		g_string_append_c(s, *v);
	}
	g_string_append_c(s, '"');
}

/* "PREFIX.KEY=VALUE;" for every row of @t not marked FIELD_CONCURRENCY
 * or FIELD_HOW. */
static void
fp_fields(GString *s, const char *prefix, const struct ftable *t, const void *base)
{
	for (guint f = 0; f < t->n; f++) {
		const struct field *fd = &t->fields[f];
		const char *p = (const char *)base + fd->off;
		int e;

		if (fd->flags & (FIELD_CONCURRENCY | FIELD_HOW))
			continue;
		g_string_append_printf(s, "%s%s%s%s=", prefix, t->name ? t->name : "", t->name ? "." : "",
				       fd->key);
		switch (fd->type) {
		case F_STR:
		case F_STR_EMPTY_OK:
			fp_string(s, *(char *const *)p);
			break;
		case F_INT:
			g_string_append_printf(s, "%" G_GINT64_FORMAT, *(const gint64 *)p);
			break;
		case F_BOOL:
			g_string_append(s, *(const gboolean *)p ? "true" : "false");
			break;
		case F_ENUM:
			e = *(const int *)p;
			if (e >= 0 && e < (int)g_strv_length((char **)fd->names))
				g_string_append(s, fd->names[e]);
			else
				g_string_append_printf(s, "#%d", e);
			break;
		}
		g_string_append_c(s, ';');
	}
}

static void
fp_host(GString *s, const char *prefix, const struct host *h)
{
	fp_fields(s, prefix, &field_tables[FT_HOST], h);
	fp_fields(s, prefix, &field_tables[FT_SSH], &h->ssh);
	/* where files go is part of what a step does */
	g_string_append_printf(s, "%simage_dirs=[", prefix);
	for (guint i = 0; i < h->image_dirs->len; i++) {
		if (i)
			g_string_append_c(s, ',');
		fp_string(s, h->image_dirs->pdata[i]);
	}
	g_string_append(s, "];");
}

char *
plan_migration_fingerprint(const struct plan *plan, const struct migration *m)
{
	static const char *const kinds[REMAP__COUNT] = {
		[REMAP_PATHS] = "paths", [REMAP_BRIDGES] = "bridges", [REMAP_NETWORKS] = "networks",
	};
	const struct { const char *name; const struct remap *r; } remaps[] = {
		{ "migration", &m->set.remap }, { "defaults", &plan->defaults.remap }, { "plan", &plan->remap },
	};
	g_autoptr(GString) s = g_string_new("vmshift-migration;");

	fp_fields(s, "", &field_tables[FT_MIGRATION], m);
	for (guint b = 0; b < G_N_ELEMENTS(settings_blocks); b++)
		fp_fields(s, "", &field_tables[settings_blocks[b].table],
			  (const char *)&m->set + settings_blocks[b].off);
	g_string_append(s, "disks.shared=[");
	for (guint i = 0; i < m->set.disks.shared->len; i++) {
		if (i)
			g_string_append_c(s, ',');
		fp_string(s, ((const struct shared_pattern *)m->set.disks.shared->pdata[i])->pattern);
	}
	g_string_append(s, "];");
	fp_host(s, "from_host.", m->from);
	if (m->to) {
		fp_host(s, "to_host.", m->to);
	} else {
		/* a pool: each candidate, by name and with what it is; a
		 * single target keeps the text it always had */
		g_string_append(s, "to_pool=[");
		for (guint i = 0; i < m->pool->len; i++) {
			const struct host *h = m->pool->pdata[i];

			if (i)
				g_string_append_c(s, ',');
			fp_string(s, h->name);
			g_string_append_c(s, '{');
			fp_host(s, "", h);
			g_string_append_c(s, '}');
		}
		g_string_append(s, "];");
	}
	for (guint k = 0; k < G_N_ELEMENTS(remaps); k++) {
		for (guint r = 0; r < REMAP__COUNT; r++) {
			const GPtrArray *rules = remaps[k].r->rules[r];

			for (guint i = 0; i < rules->len; i++) {
				g_autofree char *prefix = g_strdup_printf("remap.%s.%s[%u].", remaps[k].name,
									  kinds[r], i);

				fp_fields(s, prefix, &field_tables[FT_RULE], rules->pdata[i]);
			}
		}
	}
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, s->str, s->len);
}
