/* unit.c: one VM's migration in a run (a unit): its life cycle, its
 * facts and the journal records that carry them, and the journal's replay
 * into units.  The journal's format is described in facts.h. */
#include <string.h>

#include "unit.h"

static const char *const status_names[] = {
	[U_PENDING] = "pending", [U_RUNNING] = "running", [U_DONE] = "done",
	[U_FAILED] = "failed", [U_ROLLED_BACK] = "rolled-back", [U_BLOCKED] = "blocked",
	[U_INTERRUPTED] = "interrupted", [U_DEFERRED] = "deferred",
};

const char *
unit_status_name(enum unit_status s)
{
	return s < G_N_ELEMENTS(status_names) ? status_names[s] : "(unknown)";
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

JsonObject *
unit_record_new(const char *ev, struct unit *u)
{
	JsonObject *o = json_object_new();

	json_object_set_string_member(o, "ev", ev);
	if (u)
		json_object_set_string_member(o, "unit", u->id);
	return o;
}

static int
journal_put(struct exec *x, JsonObject *rec, gboolean durable, GError **err)
{
	g_autoptr(GError) e = NULL;
	int rc = x->j ? journal_append(x->j, rec, durable, &e) : 0;

	json_object_unref(rec);
	if (rc < 0) {
		/* said once: a rollback goes on from memory */
		if (!g_atomic_int_exchange(&x->journal_failed, TRUE))
			sink_log(&x->sink, "the journal in %s cannot be written (%s): what follows is done from memory, and the journal is incomplete",
				 x->state_dir, e->message);
		g_propagate_error(err, g_steal_pointer(&e));
	}
	return rc;
}

int
unit_journal_put(struct exec *x, JsonObject *rec, GError **err)
{
	return journal_put(x, rec, TRUE, err);
}

int
unit_record_facts(struct exec *x, struct unit *u, enum step s, JsonObject *delta, GError **err)
{
	JsonObject *rec = unit_record_new("facts", u);

	/* other units' workers read these facts (claims.c), under x->mu */
	g_mutex_lock(&x->mu);
	facts_merge(u->facts, delta);
	g_mutex_unlock(&x->mu);
	json_object_set_string_member(rec, "step", step_name(s));
	json_object_set_object_member(rec, "facts", json_object_ref(delta));
	return unit_journal_put(x, rec, err);
}

int
unit_record_step(struct exec *x, struct unit *u, const char *ev, enum step s, const char *phase,
	    const char *error, GError **err)
{
	JsonObject *rec = unit_record_new(ev, u);

	json_object_set_string_member(rec, "step", step_name(s));
	json_object_set_string_member(rec, "phase", phase);
	if (error)
		json_object_set_string_member(rec, "error", error);
	events_step(&x->sink, rec, &u->step_began_us);
	/* a step's end may be lost in a crash: the step is done again.  An
	 * undo's is not: a lost one would leave the step "done" */
	return journal_put(x, rec, strcmp(ev, "step") || strcmp(phase, "done"), err);
}

int
unit_record_status(struct exec *x, struct unit *u, GError **err)
{
	JsonObject *rec = unit_record_new("unit", u);

	json_object_set_string_member(rec, "status", unit_status_name(u->status));
	if (u->error)
		json_object_set_string_member(rec, "error", u->error);
	events_record(&x->sink, rec, NULL);
	/* done, blocked, interrupted: what the replay concludes from the
	 * steps if the record is lost (each run decides blocked afresh);
	 * failed and rolled back are not derived: on disk before going on */
	return journal_put(x, rec, u->status == U_FAILED || u->status == U_ROLLED_BACK, err);
}

/* Journal a TRUE fact @key before the act it announces. */
int
unit_record_flag(struct exec *x, struct unit *u, enum step s, const char *key, GError **err)
{
	g_autoptr(JsonObject) f = json_object_new();

	if (fact_bool(u, key, FALSE))
		return 0;
	json_object_set_boolean_member(f, key, TRUE);
	return unit_record_facts(x, u, s, f, err);
}

/* Journal one more string in the fact array @key (copied files, made
 * directories...) before going on: undo needs it even after a crash. */
int
unit_record_append(struct exec *x, struct unit *u, enum step s, const char *key, const char *value, GError **err)
{
	g_autoptr(JsonObject) delta = json_object_new();
	JsonArray *old = fact_array(u, key);
	JsonArray *a = json_array_new();

	for (guint i = 0; old && i < json_array_get_length(old); i++)
		json_array_add_string_element(a, json_array_get_string_element(old, i));
	json_array_add_string_element(a, value);
	json_object_set_array_member(delta, key, a);
	return unit_record_facts(x, u, s, delta, err);
}

gboolean
facts_array_has(JsonArray *a, const char *s)
{
	for (guint i = 0; a && i < json_array_get_length(a); i++)
		if (!g_strcmp0(json_array_get_string_element(a, i), s))
			return TRUE;
	return FALSE;
}

/* ---- XML files in the unit's state directory ---- */

char *
unit_file(struct unit *u, const char *name)
{
	return g_build_filename(u->dir, name, NULL);
}

/* ---- units ---- */

struct hostconn *
exec_host(struct exec *x, struct host *h)
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

void
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
	g_free(u->xml_text);
	if (u->changes)
		g_ptr_array_unref(u->changes);
	if (u->problems)
		g_ptr_array_unref(u->problems);
	g_free(u);
}

struct unit *
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
	u->src = x->hosts ? exec_host(x, m->from) : NULL;
	u->mode = m->set.mode;
	u->to = m->to;
	u->dst = x->hosts && m->to ? exec_host(x, m->to) : NULL;
	u->selected = !x->only || g_strv_contains((const char *const *)x->only, m->id);
	g_ptr_array_add(x->units, u);
	g_hash_table_insert(x->by_id, u->id, u);
	return u;
}

struct unit *
unit_find(struct exec *x, const char *id)
{
	return g_hash_table_lookup(x->by_id, id);
}

gboolean
unit_has_done(struct unit *u, enum step s)
{
	for (guint i = 0; i < u->done->len; i++)
		if (g_array_index(u->done, int, i) == (int)s)
			return TRUE;
	return FALSE;
}

void
unit_forget_step(struct unit *u, enum step s)
{
	for (guint k = 0; k < u->done->len; k++)
		if (g_array_index(u->done, int, k) == (int)s)
			g_array_remove_index(u->done, k);
	if (u->failed_step == (int)s)
		u->failed_step = -1;
	if (u->running == (int)s)
		u->running = -1;
}

void
unit_reset(struct unit *u)
{
	/* placement is of the unit, not of an attempt: a rolled-back unit
	 * that runs again goes where it was placed */
	static const char *const kept[] = { FACT_PLACED_HOST, FACT_PLACEMENT };
	JsonObject *fresh = json_object_new();

	for (guint i = 0; i < G_N_ELEMENTS(kept); i++)
		if (json_object_has_member(u->facts, kept[i]))
			json_object_set_member(fresh, kept[i], json_object_dup_member(u->facts, kept[i]));
	g_array_set_size(u->done, 0);
	json_object_unref(u->facts);
	u->facts = fresh;
	u->running = -1;
	u->failed_step = -1;
	g_clear_pointer(&u->error, g_free);
	u->status = U_PENDING;
	u->mode = u->m->set.mode;	/* a fresh attempt: the plan's mode again */
}

/* ---- the journal's replay ---- */

void
units_replay(struct exec *x, GPtrArray *recs)
{
	for (guint i = 0; recs && i < recs->len; i++) {
		const struct journal_rec *r = recs->pdata[i];
		const char *ev = r->ev;
		struct unit *u = r->unit ? unit_find(x, r->unit) : NULL;
		int s = r->step ? step_from_name(r->step) : -1;
		const char *phase = r->phase ? r->phase : "";
		const char *error = r->error;

		if (!u)
			continue;
		if (!strcmp(ev, "facts")) {
			if (r->facts)
				facts_merge(u->facts, r->facts);
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
			unit_forget_step(u, s);
		} else if (!strcmp(ev, "unit")) {
			const char *st = r->status ? r->status : "";

			for (guint k = 0; k < G_N_ELEMENTS(status_names); k++)
				if (!strcmp(st, unit_status_name(k)))
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
	 * run said (status shows why); each run decides it afresh.  A unit
	 * that fell back runs in the mode its facts name (engine.c) */
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		const char *mode = fact_str(u, FACT_MODE);

		if (u->status == U_RUNNING)
			u->status = U_INTERRUPTED;
		for (int m = MODE_COLD; *mode && m <= MODE_OFFLINE_SCP; m++)
			if (!strcmp(mode, mode_name(m)))
				u->mode = m;
	}
}
