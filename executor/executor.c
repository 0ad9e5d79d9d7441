/* executor.c: units, the journal's replay, scheduling, rollback, status
 * and the reports.  The steps themselves are in steps.c. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "exec_priv.h"
#include "udiff.h"

static const char *const status_names[] = {
	[U_PENDING] = "pending", [U_RUNNING] = "running", [U_DONE] = "done",
	[U_FAILED] = "failed", [U_ROLLED_BACK] = "rolled-back", [U_BLOCKED] = "blocked",
	[U_INTERRUPTED] = "interrupted",
};

void
exec_log(struct exec *x, const char *fmt, ...)
{
	g_autofree char *line = NULL;
	va_list ap;

	if (!x->o->log)
		return;
	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	x->o->log(x->o->log_ud, line);
}

void
exec_progress(struct exec *x, struct unit *u, const char *fmt, ...)
{
	g_autofree char *line = NULL;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		line = g_strdup_vprintf(fmt, ap);
		va_end(ap);
	}
	if (x->o->progress)
		x->o->progress(x->o->log_ud, u->id, line);
	else if (line)
		exec_log(x, "%s: %s", u->id, line);
}

static int
step_from_name(const char *name)
{
	for (int s = 0; s < STEP__COUNT; s++)
		if (!g_strcmp0(step_name(s), name))
			return s;
	return -1;
}

/* ---- facts ---- */

gboolean
fact_bool(struct unit *u, const char *key, gboolean dflt)
{
	JsonNode *n = json_object_get_member(u->facts, key);

	return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_boolean(n) : dflt;
}

const char *
fact_str(struct unit *u, const char *key)
{
	JsonNode *n = json_object_get_member(u->facts, key);

	return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_string(n) : "";
}

JsonArray *
fact_array(struct unit *u, const char *key)
{
	JsonNode *n = json_object_get_member(u->facts, key);

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static void
facts_merge(JsonObject *into, JsonObject *delta)
{
	GList *keys = json_object_get_members(delta);

	for (GList *l = keys; l; l = l->next)
		json_object_set_member(into, l->data, json_node_copy(json_object_get_member(delta, l->data)));
	g_list_free(keys);
}

static JsonObject *
record_new(const char *ev, struct unit *u)
{
	JsonObject *o = json_object_new();

	json_object_set_string_member(o, "ev", ev);
	if (u)
		json_object_set_string_member(o, "unit", u->id);
	return o;
}

static int
journal_put(struct exec *x, JsonObject *rec, GError **err)
{
	g_autoptr(GError) e = NULL;
	int rc = x->j ? journal_append(x->j, rec, &e) : 0;

	json_object_unref(rec);
	if (rc < 0) {
		/* said once: a rollback goes on from memory */
		if (!g_atomic_int_exchange(&x->journal_failed, TRUE))
			exec_log(x, "the journal in %s cannot be written (%s): what follows is done from memory, and the journal is incomplete",
				 x->state_dir, e->message);
		g_propagate_error(err, g_steal_pointer(&e));
	}
	return rc;
}

int
unit_record_facts(struct exec *x, struct unit *u, enum step s, JsonObject *delta, GError **err)
{
	JsonObject *rec = record_new("facts", u);

	/* other units' workers read these facts (claims.c), under x->mu */
	g_mutex_lock(&x->mu);
	facts_merge(u->facts, delta);
	g_mutex_unlock(&x->mu);
	json_object_set_string_member(rec, "step", step_name(s));
	json_object_set_object_member(rec, "facts", json_object_ref(delta));
	return journal_put(x, rec, err);
}

static int
record_step(struct exec *x, struct unit *u, const char *ev, enum step s, const char *phase,
	    const char *error, GError **err)
{
	JsonObject *rec = record_new(ev, u);

	json_object_set_string_member(rec, "step", step_name(s));
	json_object_set_string_member(rec, "phase", phase);
	if (error)
		json_object_set_string_member(rec, "error", error);
	return journal_put(x, rec, err);
}

static int
record_status(struct exec *x, struct unit *u, GError **err)
{
	JsonObject *rec = record_new("unit", u);

	json_object_set_string_member(rec, "status", status_names[u->status]);
	if (u->error)
		json_object_set_string_member(rec, "error", u->error);
	return journal_put(x, rec, err);
}

/* ---- fault injection (tests only) ---- */

static void
fault_parse(struct exec *x)
{
	const char *spec = g_getenv("VMSHIFT_FAULT");
	g_auto(GStrv) items = NULL;

	if (!spec || !*spec)
		return;
	/* STEP:ACTION[:UNIT], several separated by commas */
	x->faults = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	items = g_strsplit(spec, ",", -1);
	for (guint i = 0; items[i]; i++) {
		char **parts = g_strsplit(items[i], ":", 3);

		if (g_strv_length(parts) >= 2)
			g_ptr_array_add(x->faults, parts);
		else
			g_strfreev(parts);
	}
	exec_log(x, "VMSHIFT_FAULT is set (%s): a test is injecting a failure", spec);
}

gboolean
fault_due(struct exec *x, struct unit *u, enum step s, const char *action)
{
	for (guint i = 0; x->faults && i < x->faults->len; i++) {
		char **f = x->faults->pdata[i];

		if (!strcmp(f[0], step_name(s)) && !strcmp(f[1], action) && (!f[2] || !strcmp(f[2], u->id)))
			return TRUE;
	}
	return FALSE;
}

/* ---- units ---- */

static struct hostconn *
hostconn_of(struct exec *x, struct host *h)
{
	return x->hosts->pdata[h->index];
}

static char *
unit_dir_name(const char *id)
{
	g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1);
	g_autofree char *safe = g_strdup(id);

	g_strcanon(safe, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", '_');
	return g_strdup_printf("%.48s-%.8s", safe, sum);
}

static void
unit_free(gpointer p)
{
	struct unit *u = p;

	g_free(u->id);
	g_free(u->vm);
	g_free(u->dir);
	g_free(u->error);
	json_object_unref(u->facts);
	g_array_unref(u->done);
	if (u->report)
		g_string_free(u->report, TRUE);
	domxml_free(u->sxml);
	domxml_free(u->txml);
	if (u->changes)
		g_ptr_array_unref(u->changes);
	g_free(u);
}

static struct unit *
unit_new(struct exec *x, struct migration *m, const char *vm)
{
	struct unit *u = g_new0(struct unit, 1);
	g_autofree char *dn = NULL;

	u->m = m;
	u->vm = g_strdup(vm);
	u->id = m->match ? g_strdup_printf("%s/%s", m->id, vm) : g_strdup(m->id);
	dn = unit_dir_name(u->id);
	u->dir = g_build_filename(x->state_dir, "units", dn, NULL);
	u->facts = json_object_new();
	u->done = g_array_new(FALSE, FALSE, sizeof(int));
	u->running = -1;
	u->failed_step = -1;
	u->src = x->hosts ? hostconn_of(x, m->from) : NULL;
	u->dst = x->hosts ? hostconn_of(x, m->to) : NULL;
	u->selected = !x->only || g_strv_contains((const char *const *)x->only, m->id);
	g_ptr_array_add(x->units, u);
	return u;
}

static struct unit *
unit_find(struct exec *x, const char *id)
{
	for (guint i = 0; i < x->units->len; i++)
		if (!strcmp(((struct unit *)x->units->pdata[i])->id, id))
			return x->units->pdata[i];
	return NULL;
}

static gboolean
unit_has_done(struct unit *u, enum step s)
{
	for (guint i = 0; i < u->done->len; i++)
		if (g_array_index(u->done, int, i) == (int)s)
			return TRUE;
	return FALSE;
}

static void
unit_reset(struct unit *u)
{
	g_array_set_size(u->done, 0);
	json_object_unref(u->facts);
	u->facts = json_object_new();
	u->running = -1;
	u->failed_step = -1;
	g_clear_pointer(&u->error, g_free);
	u->status = U_PENDING;
}

/* The journal's "resolve" records, by migration id. */
static GHashTable *
journal_resolutions(GPtrArray *recs)
{
	GHashTable *res = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_array_unref);

	for (guint i = 0; recs && i < recs->len; i++) {
		JsonObject *r = recs->pdata[i];

		if (!g_strcmp0(json_object_get_string_member_with_default(r, "ev", ""), "resolve"))
			g_hash_table_insert(res, g_strdup(json_object_get_string_member(r, "migration")),
					    json_array_ref(json_object_get_array_member(r, "vms")));
	}
	return res;
}

/* The domains on the source host that @m's pattern matches, by name. */
static GPtrArray *
resolve_match(struct exec *x, struct migration *m, GError **err)
{
	struct hostconn *hc = hostconn_of(x, m->from);
	virDomainPtr *doms = NULL;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(m->match_re, NULL);
	int n = virConnectListAllDomains(hc->conn, &doms, VIR_CONNECT_LIST_DOMAINS_PERSISTENT);

	if (n < 0) {
		g_autofree char *e = libvirt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot list the domains of %s: %s", hc->h->name, e);
		g_ptr_array_unref(names);
		names = NULL;
	}
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);

		if (pcre2_match(m->match_re, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) >= 0)
			g_ptr_array_add(names, g_strdup(name));
		virDomainFree(doms[i]);
	}
	free(doms);
	pcre2_match_data_free(md);
	if (names)
		g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	return names;
}

static int
build_units(struct exec *x, GPtrArray *recs, GError **err)
{
	g_autoptr(GHashTable) res = journal_resolutions(recs);

	x->units = g_ptr_array_new_with_free_func(unit_free);
	for (guint i = 0; i < x->plan->order->len; i++) {
		struct migration *m = x->plan->order->pdata[i];
		JsonArray *known;
		g_autoptr(GPtrArray) vms = NULL;

		if (!m->match) {
			unit_new(x, m, m->vm);
			continue;
		}
		if ((known = g_hash_table_lookup(res, m->id))) {
			for (guint k = 0; k < json_array_get_length(known); k++)
				unit_new(x, m, json_array_get_string_element(known, k));
			continue;
		}
		if (!x->hosts)
			continue;	/* status: not resolved yet */
		if (!(vms = resolve_match(x, m, err)))
			return -1;
		exec_log(x, "%s: '%s' matches %u domain%s on %s", m->id, m->match, vms->len,
			 vms->len == 1 ? "" : "s", m->from->name);
		if (x->j) {
			JsonObject *rec = record_new("resolve", NULL);
			JsonArray *a = json_array_new();

			for (guint k = 0; k < vms->len; k++)
				json_array_add_string_element(a, vms->pdata[k]);
			json_object_set_string_member(rec, "migration", m->id);
			json_object_set_array_member(rec, "vms", a);
			if (journal_put(x, rec, err) < 0)
				return -1;
		}
		for (guint k = 0; k < vms->len; k++)
			unit_new(x, m, vms->pdata[k]);
	}
	return 0;
}

/* ---- the journal's replay ---- */

static void
replay(struct exec *x, GPtrArray *recs)
{
	for (guint i = 0; recs && i < recs->len; i++) {
		JsonObject *r = recs->pdata[i];
		const char *ev = json_object_get_string_member_with_default(r, "ev", "");
		struct unit *u = unit_find(x, json_object_get_string_member_with_default(r, "unit", ""));
		int s = step_from_name(json_object_get_string_member_with_default(r, "step", ""));
		const char *phase = json_object_get_string_member_with_default(r, "phase", "");
		const char *error = json_object_get_string_member_with_default(r, "error", NULL);

		if (!u)
			continue;
		if (!strcmp(ev, "facts")) {
			facts_merge(u->facts, json_object_get_object_member(r, "facts"));
		} else if (!strcmp(ev, "step") && s >= 0) {
			u->status = U_RUNNING;
			if (!strcmp(phase, "start")) {
				u->running = s;
			} else if (!strcmp(phase, "done")) {
				u->running = -1;
				if (!unit_has_done(u, s))
					g_array_append_val(u->done, s);
			} else if (!strcmp(phase, "failed")) {
				u->running = -1;
				u->failed_step = s;
				g_free(u->error);
				u->error = g_strdup(error);
				u->status = U_FAILED;
			}
		} else if (!strcmp(ev, "undo") && s >= 0 && !strcmp(phase, "done")) {
			for (guint k = 0; k < u->done->len; k++)
				if (g_array_index(u->done, int, k) == s)
					g_array_remove_index(u->done, k);
			if (u->failed_step == s)
				u->failed_step = -1;
			if (u->running == s)
				u->running = -1;
		} else if (!strcmp(ev, "unit")) {
			const char *st = json_object_get_string_member_with_default(r, "status", "");

			for (guint k = 0; k < G_N_ELEMENTS(status_names); k++)
				if (!strcmp(st, status_names[k]))
					u->status = k;
			g_free(u->error);
			u->error = g_strdup(error);
			if (u->status == U_ROLLED_BACK) {
				g_array_set_size(u->done, 0);
				u->running = -1;
				u->failed_step = -1;
			}
		} else if (!strcmp(ev, "reset")) {
			unit_reset(u);
		}
	}
	/* a run that died leaves steps open.  "blocked" stays as the last
	 * run said (status shows why); each run decides it afresh */
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (u->status == U_RUNNING)
			u->status = U_INTERRUPTED;
	}
}

/* What a migration is, for "did it change since the run began?".  The
 * journal records the version it was computed with. */
#define FINGERPRINT_VERSION 2

static char *
fingerprint(const struct plan *plan, const struct migration *m, int version)
{
	g_autoptr(GString) s = g_string_new(NULL);
	const struct settings *st = &m->set;
	const struct remap *sets[] = { &m->set.remap, &plan->defaults.remap, &plan->remap };

	g_string_append_printf(s, "%s|%s|%s|%s|%s|%s|%s|%d|%d|%d|", m->id, m->vm ? m->vm : "",
			       m->match ? m->match : "", m->from->name, m->from->uri, m->to->name,
			       m->to->uri, st->mode, st->undefine_source, st->start);
	/* version 1 (journals before host identity) lacked what follows */
	for (guint k = 0; version >= 2 && k < 2; k++) {
		const struct host *h = k ? m->to : m->from;
		const struct ssh_access *a = &h->ssh;

		/* where files go is part of what a step does */
		g_string_append_printf(s, "%s|%s|%" G_GINT64_FORMAT "|%s|%s|%s|", h->migration_host ? h->migration_host : "",
				       a->host ? a->host : "", a->port, a->user ? a->user : "",
				       a->identity ? a->identity : "", a->known_hosts ? a->known_hosts : "");
		for (guint i = 0; i < h->image_dirs->len; i++)
			g_string_append_printf(s, "dir:%s|", (char *)h->image_dirs->pdata[i]);
	}
	for (guint i = 0; version >= 2 && i < st->disks.shared->len; i++)
		g_string_append_printf(s, "shared:%s|", ((struct shared_pattern *)st->disks.shared->pdata[i])->pattern);
	g_string_append_printf(s, "%" G_GINT64_FORMAT "|%d|", st->shutdown.timeout_s, st->shutdown.force);
	g_string_append_printf(s, "%d|%d|%d|", st->disks.verify, st->disks.delete_source, st->disks.overwrite);
	g_string_append_printf(s, "%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d|%d|%d|%" G_GINT64_FORMAT "|%d|%d|%" G_GINT64_FORMAT "|%d|%d|",
			       st->live.max_downtime_ms, st->live.bandwidth_mib_s, st->live.auto_converge,
			       st->live.postcopy, st->live.copy_storage, st->live.timeout_s, st->live.on_timeout,
			       st->live.compressed, st->live.parallel_connections, st->live.tls, st->live.unsafe);
	if (version >= 2)
		g_string_append_printf(s, "%d|%d|", st->live.skip_cpu_check, st->live.check_dirty_rate);
	for (guint k = 0; k < G_N_ELEMENTS(sets); k++)
		for (guint r = 0; r < REMAP__COUNT; r++)
			for (guint i = 0; i < sets[k]->rules[r]->len; i++) {
				const struct remap_rule *rule = sets[k]->rules[r]->pdata[i];

				g_string_append_printf(s, "%u:%u:%s=>%s|", k, r, rule->from, rule->to);
			}
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, s->str, s->len);
}

/* The hosts a unit's journal names (by their libvirt host UUID) must be
 * the hosts its plan entry reaches now: undo and resume act on what the
 * run touched, never on whatever the plan names today. */
static int
check_same_hosts(struct exec *x, struct unit *u, GError **err)
{
	const struct { const char *key; struct hostconn *hc; const char *role; } ends[] = {
		{ FACT_SOURCE_HOST_UUID, u->src, "source" }, { FACT_TARGET_HOST_UUID, u->dst, "target" },
	};

	for (guint k = 0; k < G_N_ELEMENTS(ends); k++) {
		const char *was = fact_str(u, ends[k].key);

		if (!*was || !ends[k].hc || !ends[k].hc->uuid || !strcmp(was, ends[k].hc->uuid))
			continue;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: the journal in %s says its %s was the libvirt host with uuid %s, but the plan's '%s' (%s) is host %s now; vmshift acts only on the hosts the run used: put the plan back as it was (if it is the same machine and its libvirt host UUID changed, as it does at each restart on machines without a usable SMBIOS UUID, fix it with host_uuid in its libvirtd.conf)",
			    u->id, x->state_dir, ends[k].role, was, ends[k].hc->h->name, ends[k].hc->h->uri,
			    ends[k].hc->uuid);
		return -1;
	}
	return 0;
}

/* Refuse a plan whose migrations changed since their attempt began:
 * steps already taken were taken for the plan as it was then, and a done
 * migration that the plan now describes otherwise was not done as it
 * says.  Each attempt records its migration's fingerprint (run_unit()). */
static int
check_unchanged(struct exec *x, GError **err)
{
	g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		const char *was = fact_str(u, FACT_FINGERPRINT);
		g_autofree char *now = NULL;

		if (!*was || !u->selected || u->status == U_ROLLED_BACK)
			continue;
		if (check_same_hosts(x, u, err) < 0)
			return -1;
		now = fingerprint(x->plan, u->m, (int)json_object_get_int_member_with_default(u->facts, FACT_FINGERPRINT_VERSION, 1));
		if (strcmp(now, was) && !g_ptr_array_find_with_equal_func(changed, u->m->id, g_str_equal, NULL))
			g_ptr_array_add(changed, g_strdup(u->m->id));
	}
	if (!changed->len)
		return 0;
	g_ptr_array_add(changed, NULL);
	{
		g_autofree char *all = g_strjoinv(", ", (char **)changed->pdata);

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the plan changed since the run in %s began, for migration(s) %s (done or not: what was done was done for the plan as it was); put the plan back as it was to resume or roll back, or use another --state-dir to start over",
			    x->state_dir, all);
	}
	return -1;
}

/* A state directory belongs to one plan file: the first run there names
 * it.  Another file of the same plan name (a copy, a second plan in one
 * directory) would otherwise find "its" migrations done. */
static int
check_plan_file(struct exec *x, GPtrArray *recs, GError **err)
{
	for (guint i = 0; recs && i < recs->len; i++) {
		JsonObject *r = recs->pdata[i];
		const char *file, *sum;
		g_autofree char *was = NULL;

		if (g_strcmp0(json_object_get_string_member_with_default(r, "ev", ""), "run"))
			continue;
		file = json_object_get_string_member_with_default(r, "plan", "");
		sum = json_object_get_string_member_with_default(r, "plan_sha256", "");
		was = g_canonicalize_filename(file, NULL);
		if (!strcmp(was, x->plan_file) || !strcmp(sum, x->plan->sha256))
			return 0;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "the state directory %s holds the journal of another plan file, %s (plan '%s', sha256 %.12s...), not of %s; give this plan its own --state-dir (or its own name:)",
			    x->state_dir, file, x->plan->name, sum, x->plan_file);
		return -1;
	}
	return 0;
}

static int
record_run(struct exec *x, const char *cmd, GError **err)
{
	JsonObject *rec = record_new("run", NULL);

	/* each migration's fingerprint goes with its attempt (run_unit()) */
	if (x->only) {
		JsonArray *a = json_array_new();

		for (guint i = 0; x->only[i]; i++)
			json_array_add_string_element(a, x->only[i]);
		json_object_set_array_member(rec, "only", a);
	}
	json_object_set_string_member(rec, "cmd", cmd);
	json_object_set_string_member(rec, "plan", x->plan_file);
	json_object_set_string_member(rec, "plan_sha256", x->plan->sha256);
	return journal_put(x, rec, err);
}

/* ---- running a unit ---- */

static int
rollback_unit(struct exec *x, struct unit *u, GError **err)
{
	g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GString) left = g_string_new(NULL);	/* what is not undone, and why */
	gboolean stopped = FALSE, target_may_run = FALSE;

	/* each path is journaled before it is unlinked: an entry means the
	 * source copy is (or may be) gone, and undoing the copy would leave
	 * none */
	if (fact_array(u, "deleted") && json_array_get_length(fact_array(u, "deleted")) > 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: delete-source-disks has begun deleting its source disks; rolling back would leave no copy, so it is not done (finish it with vmshift resume)",
			    u->id);
		return -1;
	}
	g_mutex_lock(&x->mu);
	u->undoing = TRUE;
	g_mutex_unlock(&x->mu);
	/* the step under way when it failed or died may have half happened */
	if (u->failed_step >= 0)
		g_array_append_val(todo, u->failed_step);
	if (u->running >= 0 && u->running != u->failed_step)
		g_array_append_val(todo, u->running);
	for (guint i = u->done->len; i-- > 0;)
		if (g_array_index(u->done, int, i) != u->failed_step && g_array_index(u->done, int, i) != u->running)
			g_array_append_val(todo, g_array_index(u->done, int, i));
	for (guint i = 0; i < todo->len; i++) {
		int s = g_array_index(todo, int, i);
		const struct step_impl *impl = step_impl(s);
		g_autoptr(GError) e = NULL;

		if (stopped || (target_may_run && impl->undo_needs_target_off)) {
			g_string_append_printf(left, "; %s not undone (%s)", step_name(s),
					       stopped ? "after the failure above" : "the VM may still run on the target");
			continue;
		}
		record_step(x, u, "undo", s, "start", NULL, NULL);
		if (impl->undo) {
			exec_log(x, "%s: undoing %s", u->id, step_name(s));
			if (fault_due(x, u, s, "undo-fail"))
				g_set_error(&e, G_IO_ERROR, G_IO_ERROR_FAILED, "VMSHIFT_FAULT: injected failure undoing %s",
					    step_name(s));
			if (e || impl->undo(x, u, &e) < 0) {
				exec_log(x, "%s: undoing %s failed: %s", u->id, step_name(s), e->message);
				record_step(x, u, "undo", s, "failed", e->message, NULL);
				g_string_append_printf(left, "; %s: %s", step_name(s), e->message);
				stopped = impl->undo_fail_stops;
				target_may_run = target_may_run || impl->undo_fail_target_may_run;
				continue;
			}
		}
		record_step(x, u, "undo", s, "done", NULL, NULL);
		for (guint k = 0; k < u->done->len; k++)
			if (g_array_index(u->done, int, k) == s)
				g_array_remove_index(u->done, k);
		if (u->failed_step == s)
			u->failed_step = -1;
		if (u->running == s)
			u->running = -1;
	}
	g_mutex_lock(&x->mu);
	u->undoing = FALSE;	/* rolled back, or holding what it could not undo */
	g_mutex_unlock(&x->mu);
	if (left->len) {
		/* what is still done stays in u->done: a later rollback retries it */
		g_free(u->error);
		u->error = g_strdup_printf("rollback incomplete%s; fix what it says, then run vmshift rollback %s --only %s%s",
					   left->str, x->plan->path, u->m->id,
					   g_atomic_int_get(&x->journal_failed) ? " (the journal is incomplete: check every host by hand)" : "");
		u->status = U_FAILED;
		record_status(x, u, NULL);
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, u->error);
		return -1;
	}
	u->running = -1;
	u->failed_step = -1;
	u->status = U_ROLLED_BACK;
	exec_log(x, "%s: rolled back", u->id);
	record_status(x, u, NULL);
	return 0;
}

static void
run_unit(struct exec *x, struct unit *u)
{
	guint n;
	const enum step *steps = mode_steps(u->m->set.mode, &n);
	g_autoptr(GError) err = NULL;

	if (g_mkdir_with_parents(u->dir, 0700) < 0) {
		g_set_error(&err, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot create '%s': %s", u->dir,
			    g_strerror(errno));
		goto failed;
	}
	if (u->status == U_FAILED) {
		/* resumed after --on-failure stop: try the failed step again */
		u->failed_step = -1;
		g_clear_pointer(&u->error, g_free);
	}
	u->status = U_RUNNING;
	if (!*fact_str(u, FACT_FINGERPRINT)) {
		g_autoptr(JsonObject) f = json_object_new();
		g_autofree char *fp = fingerprint(x->plan, u->m, FINGERPRINT_VERSION);

		json_object_set_string_member(f, FACT_FINGERPRINT, fp);
		json_object_set_int_member(f, FACT_FINGERPRINT_VERSION, FINGERPRINT_VERSION);
		json_object_set_string_member(f, FACT_SOURCE_HOST_UUID, u->src->uuid);
		json_object_set_string_member(f, FACT_TARGET_HOST_UUID, u->dst->uuid);
		if (unit_record_facts(x, u, STEP_PREFLIGHT, f, &err) < 0)
			goto failed;
	}
	for (guint i = 0; i < n; i++) {
		enum step s = steps[i];
		const struct step_impl *impl = step_impl(s);

		if (unit_has_done(u, s))
			continue;
		if (x->o->interrupted && *x->o->interrupted) {
			u->status = U_INTERRUPTED;
			record_status(x, u, NULL);
			return;
		}
		exec_log(x, "%s: %s", u->id, step_name(s));
		u->running = s;
		if (record_step(x, u, "step", s, "start", NULL, &err) < 0) {
			u->failed_step = s;	/* not begun, maybe: its undo looks first */
			u->running = -1;
			goto failed;
		}
		if (impl->run(x, u, &err) == 0) {
			if (fault_due(x, u, s, "kill")) {
				exec_log(x, "VMSHIFT_FAULT: killing vmshift during %s", step_name(s));
				raise(SIGKILL);
			}
			if (fault_due(x, u, s, "fail"))
				g_set_error(&err, G_IO_ERROR, G_IO_ERROR_FAILED, "VMSHIFT_FAULT: injected failure at %s",
					    step_name(s));
		}
		if (err && x->o->interrupted && *x->o->interrupted) {
			/* stopped by a signal in the middle (a copy, a shutdown
			 * wait): the step stays open, resume runs it again */
			exec_progress(x, u, NULL);
			exec_log(x, "%s: %s (resume continues)", u->id, err->message);
			u->status = U_INTERRUPTED;
			record_status(x, u, NULL);
			return;
		}
		if (err) {
			exec_progress(x, u, NULL);
			u->failed_step = s;
			u->running = -1;
			record_step(x, u, "step", s, "failed", err->message, NULL);
			goto failed;
		}
		u->running = -1;
		exec_progress(x, u, NULL);
		if (record_step(x, u, "step", s, "done", NULL, &err) < 0) {
			u->failed_step = s;	/* done, but not journaled: undo it too */
			goto failed;
		}
		g_array_append_val(u->done, s);
		if (s == STEP_PREFLIGHT && fact_bool(u, "already_done", FALSE))
			break;
	}
	u->status = U_DONE;
	exec_log(x, "%s: done", u->id);
	record_status(x, u, NULL);
	return;
failed:
	g_free(u->error);
	u->error = g_strdup(err->message);
	u->status = U_FAILED;
	exec_log(x, "%s: FAILED at %s: %s", u->id, u->failed_step >= 0 ? step_name(u->failed_step) : "start",
		 err->message);
	record_status(x, u, NULL);
	if (x->o->on_failure == ON_FAILURE_ROLLBACK && u->failed_step >= 0) {
		g_autoptr(GError) e = NULL;

		if (rollback_unit(x, u, &e) < 0)
			exec_log(x, "%s: %s", u->id, e->message);
		else {
			/* rolled back, but the migration still failed */
			g_free(u->error);
			u->error = g_strdup(err->message);
		}
	}
}

/* ---- scheduling ---- */

struct worker {
	struct exec *x;
	struct unit *u;
};

static gpointer
worker_main(gpointer p)
{
	struct worker *w = p;

	run_unit(w->x, w->u);
	g_mutex_lock(&w->x->mu);
	w->u->finished = TRUE;	/* only now, after any rollback */
	g_cond_broadcast(&w->x->cond);
	g_mutex_unlock(&w->x->mu);
	g_free(w);
	return NULL;
}

static gboolean runnable(struct unit *u);

/* 1: every unit @u runs after is done; 0: not yet; -1: never in this run
 * (blocked).  A dependency that will still be tried in this run is "not
 * yet", whatever its last status. */
static int
deps_ready(struct exec *x, struct unit *u, GHashTable *tried, char **why)
{
	int ready = 1;

	for (guint d = 0; d < u->m->after->len; d++) {
		struct migration *dep = u->m->after->pdata[d];

		for (guint i = 0; i < x->units->len; i++) {
			struct unit *o = x->units->pdata[i];

			if (o->m != dep)
				continue;
			if (g_hash_table_contains(tried, o) && !o->finished) {
				ready = 0;	/* running now: its status is its worker's */
				continue;
			}
			if (o->status == U_DONE)
				continue;
			if (runnable(o) && !g_hash_table_contains(tried, o)) {
				ready = 0;
				continue;
			}
			if (o->status == U_FAILED || o->status == U_BLOCKED || o->status == U_ROLLED_BACK ||
			    o->status == U_INTERRUPTED || !o->selected) {
				*why = g_strdup_printf("it runs after %s, which is %s", o->id,
						       !o->selected ? "not selected and not done" : status_names[o->status]);
				return -1;
			}
			ready = 0;
		}
	}
	return ready;
}

static gboolean
runnable(struct unit *u)
{
	return u->selected && (u->status == U_PENDING || u->status == U_INTERRUPTED || u->status == U_FAILED ||
			       u->status == U_ROLLED_BACK || u->status == U_BLOCKED);
}

static void
schedule(struct exec *x)
{
	g_autofree guint *busy = g_new0(guint, x->hosts->len);
	g_autoptr(GHashTable) started = g_hash_table_new(NULL, NULL);	/* running now */
	g_autoptr(GHashTable) tried = g_hash_table_new(NULL, NULL);	/* once per run */
	g_autoptr(GPtrArray) threads = g_ptr_array_new();
	guint running = 0;

	g_mutex_lock(&x->mu);
	for (;;) {
		gboolean waiting = FALSE;

		/* account for units that finished since the last pass */
		for (guint i = 0; i < x->units->len; i++) {
			struct unit *u = x->units->pdata[i];

			if (g_hash_table_contains(started, u) && u->finished) {
				g_hash_table_remove(started, u);
				running--;
				busy[u->m->from->index]--;
				busy[u->m->to->index]--;
			}
		}
		for (guint i = 0; i < x->units->len; i++) {
			struct unit *u = x->units->pdata[i];
			g_autofree char *why = NULL;
			struct worker *w;
			int ready;

			if (!runnable(u) || g_hash_table_contains(tried, u))
				continue;
			if (x->o->interrupted && *x->o->interrupted)
				break;
			if ((ready = deps_ready(x, u, tried, &why)) < 0) {
				g_hash_table_add(tried, u);	/* decided for this run */
				u->status = U_BLOCKED;
				g_free(u->error);
				u->error = g_steal_pointer(&why);
				exec_log(x, "%s: blocked: %s", u->id, u->error);
				record_status(x, u, NULL);
				continue;
			}
			if (!ready || running >= x->plan->max_parallel ||
			    busy[u->m->from->index] >= u->m->from->max_parallel ||
			    busy[u->m->to->index] >= u->m->to->max_parallel) {
				waiting = TRUE;
				continue;
			}
			if (u->status == U_ROLLED_BACK) {
				JsonObject *rec = record_new("reset", u);

				unit_reset(u);
				journal_put(x, rec, NULL);
			}
			u->status = U_RUNNING;
			u->finished = FALSE;
			running++;
			busy[u->m->from->index]++;
			busy[u->m->to->index]++;
			g_hash_table_add(started, u);
			g_hash_table_add(tried, u);
			w = g_new0(struct worker, 1);
			w->x = x;
			w->u = u;
			g_ptr_array_add(threads, g_thread_new(u->id, worker_main, w));
		}
		if (running == 0 && (!waiting || (x->o->interrupted && *x->o->interrupted)))
			break;
		g_cond_wait(&x->cond, &x->mu);
	}
	g_mutex_unlock(&x->mu);
	/* all finished by now; joining makes sure none touches x afterwards */
	for (guint i = 0; i < threads->len; i++)
		g_thread_join(threads->pdata[i]);
}

/* ---- reports ---- */

static void
unit_json(struct unit *u, JsonBuilder *b)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, u->id);
	json_builder_set_member_name(b, "migration");
	json_builder_add_string_value(b, u->m->id);
	json_builder_set_member_name(b, "vm");
	json_builder_add_string_value(b, u->vm);
	json_builder_set_member_name(b, "from");
	json_builder_add_string_value(b, u->m->from->name);
	json_builder_set_member_name(b, "to");
	json_builder_add_string_value(b, u->m->to->name);
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, mode_name(u->m->set.mode));
	json_builder_set_member_name(b, "status");
	json_builder_add_string_value(b, status_names[u->status]);
	json_builder_set_member_name(b, "steps_done");
	json_builder_begin_array(b);
	for (guint i = 0; i < u->done->len; i++)
		json_builder_add_string_value(b, step_name(g_array_index(u->done, int, i)));
	json_builder_end_array(b);
	if (u->running >= 0) {
		json_builder_set_member_name(b, "running_step");
		json_builder_add_string_value(b, step_name(u->running));
	}
	if (u->failed_step >= 0) {
		json_builder_set_member_name(b, "failed_step");
		json_builder_add_string_value(b, step_name(u->failed_step));
	}
	if (u->error) {
		json_builder_set_member_name(b, "error");
		json_builder_add_string_value(b, u->error);
	}
	json_builder_end_object(b);
}

static void
unit_text(struct unit *u, GString *t)
{
	g_string_append_printf(t, "%s (%s -> %s, %s): ", u->id, u->m->from->name, u->m->to->name,
			       mode_name(u->m->set.mode));
	switch (u->status) {
	case U_INTERRUPTED:
		if (u->running >= 0)
			g_string_append_printf(t, "interrupted during %s (resume continues)", step_name(u->running));
		else
			g_string_append_printf(t, "interrupted after %u step%s (resume continues)", u->done->len,
					       u->done->len == 1 ? "" : "s");
		break;
	case U_FAILED:
		g_string_append_printf(t, "failed at %s: %s", u->failed_step >= 0 ? step_name(u->failed_step) : "?",
				       u->error ? u->error : "");
		break;
	case U_ROLLED_BACK:
		g_string_append_printf(t, "rolled back%s%s", u->error ? " after: " : "", u->error ? u->error : "");
		break;
	case U_BLOCKED:
		g_string_append_printf(t, "blocked: %s", u->error ? u->error : "");
		break;
	case U_DONE:
		g_string_append(t, fact_bool(u, "already_done", FALSE) ? "done (it was already on the target)" : "done");
		break;
	default:
		g_string_append(t, status_names[u->status]);
	}
	g_string_append_c(t, '\n');
}

static void
report(struct exec *x, const char *what, int result, GString *json, GString *text)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *s = NULL;
	static const char *const results[] = { [RUN_OK] = "ok", [RUN_FAILED] = "failed", [2] = "invalid",
					       [RUN_INTERRUPTED] = "interrupted" };

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "plan");
	json_builder_add_string_value(b, x->plan->name);
	json_builder_set_member_name(b, "command");
	json_builder_add_string_value(b, what);
	json_builder_set_member_name(b, "result");
	json_builder_add_string_value(b, results[result]);
	json_builder_set_member_name(b, "state_dir");
	json_builder_add_string_value(b, x->state_dir);
	json_builder_set_member_name(b, "migrations");
	json_builder_begin_array(b);
	for (guint i = 0; i < x->units->len; i++)
		if (((struct unit *)x->units->pdata[i])->selected || !strcmp(what, "status"))
			unit_json(x->units->pdata[i], b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	s = json_generator_to_data(gen, NULL);
	if (json)
		g_string_append_printf(json, "%s\n", s);
	if (text)
		for (guint i = 0; i < x->units->len; i++)
			if (((struct unit *)x->units->pdata[i])->selected || !strcmp(what, "status"))
				unit_text(x->units->pdata[i], text);
}

static int
overall(struct exec *x)
{
	int rc = RUN_OK;

	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (!u->selected)
			continue;
		if (u->status == U_INTERRUPTED || u->status == U_PENDING)
			rc = MAX(rc, RUN_INTERRUPTED);
		else if (u->status != U_DONE)
			rc = rc == RUN_INTERRUPTED ? rc : RUN_FAILED;
	}
	return rc;
}

/* ---- setup ---- */

char *
executor_default_state_dir(const struct plan *plan)
{
	g_autofree char *dir = g_path_get_dirname(plan->path);

	return g_build_filename(dir, ".vmshift", plan->name, NULL);
}

static void
exec_init(struct exec *x, struct plan *plan, const struct exec_opts *o)
{
	memset(x, 0, sizeof(*x));
	x->plan = plan;
	x->o = o;
	x->state_dir = o->state_dir ? g_strdup(o->state_dir) : executor_default_state_dir(plan);
	x->plan_file = g_canonicalize_filename(plan->path, NULL);
	g_mutex_init(&x->mu);
	g_cond_init(&x->cond);
	fault_parse(x);
}

static void
exec_release(struct exec *x)
{
	if (x->units)
		g_ptr_array_unref(x->units);
	hosts_close(x);
	journal_close(x->j);
	g_free(x->state_dir);
	g_free(x->plan_file);
	g_strfreev(x->only);
	if (x->faults)
		g_ptr_array_unref(x->faults);
	g_mutex_clear(&x->mu);
	g_cond_clear(&x->cond);
}

static int
check_only(struct exec *x, GError **err)
{
	for (guint i = 0; x->only && x->only[i]; i++) {
		if (!plan_migration(x->plan, x->only[i])) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "--only names '%s', which is no migration id of plan '%s'", x->only[i],
				    x->plan->name);
			return -1;
		}
	}
	return 0;
}

static void
dry_run(struct exec *x, GString *text)
{
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		g_autoptr(GError) e = NULL;
		guint n;
		const enum step *steps = mode_steps(u->m->set.mode, &n);

		if (!u->selected)
			continue;
		u->report = g_string_new(NULL);
		exec_log(x, "%s: preflight (dry run)", u->id);
		if (step_preflight(x, u, &e) < 0) {
			u->status = U_FAILED;
			u->failed_step = STEP_PREFLIGHT;
			u->error = g_strdup(e->message);
		} else {
			u->status = U_DONE;	/* as far as a dry run goes */
		}
		g_string_append_printf(text, "\n%s: %s %s -> %s, %s\n", u->id, u->vm, u->m->from->name,
				       u->m->to->name, mode_name(u->m->set.mode));
		g_string_append(text, u->report->str);
		if (e) {
			g_string_append_printf(text, "    PREFLIGHT FAILS: %s\n", e->message);
			continue;
		}
		if (fact_bool(u, "already_done", FALSE))
			continue;
		g_string_append(text, "    would run:\n");
		for (guint k = 0; k < n; k++) {
			const struct step_impl *impl = step_impl(steps[k]);
			const char *skip = NULL;

			if (steps[k] == STEP_SHUTDOWN_SOURCE && !fact_bool(u, "source_running", FALSE))
				skip = "it is not running";
			else if (steps[k] == STEP_START_TARGET && !(u->m->set.start == START_ALWAYS ||
							       (u->m->set.start == START_KEEP && fact_bool(u, "source_running", FALSE))))
				skip = u->m->set.start == START_NEVER ? "start: never" : "it was not running";
			else if (steps[k] == STEP_UNDEFINE_SOURCE && !u->m->set.undefine_source)
				skip = "undefine_source: false";
			else if (steps[k] == STEP_DELETE_SOURCE_DISKS && !u->m->set.disks.delete_source)
				skip = "disks.delete_source: false";
			if (skip)
				g_string_append_printf(text, "      %-20s skipped (%s)\n", step_name(steps[k]), skip);
			else
				g_string_append_printf(text, "      %-20s undo: %s\n", step_name(steps[k]), impl->undo_says);
		}
		if (u->sxml && u->txml) {
			g_autofree char *a = domxml_format(u->sxml), *b = domxml_format(u->txml);
			g_autofree char *an = g_strdup_printf("%s/%s (source)", u->m->from->name, u->vm);
			g_autofree char *bn = g_strdup_printf("%s/%s (target)", u->m->to->name, u->vm);
			g_autofree char *d = udiff(a, b, an, bn);

			g_string_append(text, *d ? d : "    domain XML: unchanged\n");
		}
	}
}

static int
exec_setup(struct exec *x, gboolean connect, gboolean lock, GPtrArray **recs, GError **err)
{
	g_autofree char *jpath = g_build_filename(x->state_dir, "journal.jsonl", NULL);

	if (lock && !(x->j = journal_open(x->state_dir, err)))
		return -1;
	if (!(*recs = journal_read(jpath, err)))
		return -1;
	x->only = g_strdupv(x->o->only);
	if (x->o->resume && !x->only) {
		/* resume carries on with what the interrupted run selected */
		for (guint i = (*recs)->len; i-- > 0;) {
			JsonObject *r = (*recs)->pdata[i];

			if (g_strcmp0(json_object_get_string_member_with_default(r, "ev", ""), "run") ||
			    g_strcmp0(json_object_get_string_member_with_default(r, "cmd", ""), "apply"))
				continue;
			if (json_object_has_member(r, "only")) {
				JsonArray *a = json_object_get_array_member(r, "only");
				GStrvBuilder *b = g_strv_builder_new();

				for (guint k = 0; k < json_array_get_length(a); k++)
					g_strv_builder_add(b, json_array_get_string_element(a, k));
				x->only = g_strv_builder_end(b);
				g_strv_builder_unref(b);
			}
			break;
		}
	}
	if (check_only(x, err) < 0 || (connect && hosts_connect(x, err) < 0))
		return -1;
	return build_units(x, *recs, err);
}

int
executor_apply(struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	struct exec x;
	g_autoptr(GPtrArray) recs = NULL;
	int rc = -1;

	exec_init(&x, plan, o);
	if (o->resume) {
		g_autofree char *jpath = g_build_filename(x.state_dir, "journal.jsonl", NULL);

		if (!g_file_test(jpath, G_FILE_TEST_EXISTS)) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "nothing to resume: no journal at %s (vmshift apply starts a run)", jpath);
			goto out;
		}
	}
	if (exec_setup(&x, TRUE, !o->dry_run, &recs, err) < 0)
		goto out;
	if (o->dry_run) {
		/* what the journal says this run did (its domains, its copies) */
		replay(&x, recs);
		if (claims_check(&x, err) < 0)
			goto out;
		dry_run(&x, text);
		rc = overall(&x) == RUN_OK ? RUN_OK : RUN_FAILED;
		report(&x, "dry-run", rc, json, NULL);
		goto out;
	}
	replay(&x, recs);
	if (check_plan_file(&x, recs, err) < 0 || check_unchanged(&x, err) < 0 || claims_check(&x, err) < 0 ||
	    record_run(&x, o->resume ? "resume" : "apply", err) < 0)
		goto out;
	schedule(&x);
	rc = overall(&x);
	report(&x, o->resume ? "resume" : "apply", rc, json, text);
out:
	exec_release(&x);
	return rc;
}

int
executor_rollback(struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	struct exec x;
	g_autoptr(GPtrArray) recs = NULL;
	int rc = -1;

	exec_init(&x, plan, o);
	if (o->force && !o->only) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "rollback --force needs --only ID...: name the done migrations to undo (without --only, rollback undoes only failed and interrupted ones)");
		goto out;
	}
	if (exec_setup(&x, TRUE, TRUE, &recs, err) < 0)
		goto out;
	replay(&x, recs);
	if (check_plan_file(&x, recs, err) < 0)
		goto out;
	for (guint i = 0; i < x.units->len; i++) {
		struct unit *u = x.units->pdata[i];

		u->selected = x.only ? u->selected : (u->status == U_FAILED || u->status == U_INTERRUPTED);
		if (u->selected && u->status == U_DONE && !o->force) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s is done: it runs on %s now, and rolling it back stops it there and discards what it wrote since (its copied disks); add --force to do it anyway",
				    u->id, u->m->to->name);
			goto out;
		}
	}
	if (check_unchanged(&x, err) < 0 || record_run(&x, "rollback", err) < 0)
		goto out;
	rc = RUN_OK;
	/* dependents first: the reverse of execution order */
	for (guint i = x.units->len; i-- > 0;) {
		struct unit *u = x.units->pdata[i];
		g_autoptr(GError) e = NULL;

		if (!u->selected)
			continue;
		if ((u->done->len == 0 && u->running < 0 && u->failed_step < 0) ||
		    fact_bool(u, "already_done", FALSE)) {
			exec_log(&x, "%s: nothing to roll back: vmshift changed nothing for it", u->id);
			continue;
		}
		if (rollback_unit(&x, u, &e) < 0) {
			exec_log(&x, "%s", e->message);
			rc = RUN_FAILED;
		}
	}
	report(&x, "rollback", rc, json, text);
out:
	exec_release(&x);
	return rc;
}

int
executor_status(struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	struct exec x;
	g_autoptr(GPtrArray) recs = NULL;
	int rc = -1;

	exec_init(&x, plan, o);
	if (exec_setup(&x, FALSE, FALSE, &recs, err) < 0)
		goto out;
	replay(&x, recs);
	if (!recs->len)
		g_string_append_printf(text, "no run yet (no journal in %s)\n", x.state_dir);
	for (guint i = 0; i < plan->order->len; i++) {
		struct migration *m = plan->order->pdata[i];
		gboolean any = FALSE;

		for (guint k = 0; k < x.units->len && !any; k++)
			any = ((struct unit *)x.units->pdata[k])->m == m;
		if (!any)
			g_string_append_printf(text, "%s (%s -> %s, %s): pending (the pattern '%s' is resolved when the run starts)\n",
					       m->id, m->from->name, m->to->name, mode_name(m->set.mode), m->match);
	}
	rc = overall(&x);
	report(&x, "status", rc, json, text);
out:
	exec_release(&x);
	return rc;
}
