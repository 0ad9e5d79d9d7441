/* resolved.c: a resolved plan written, read and compared (resolved.h,
 * docs/resolved-plan.md). */
#include <string.h>

#include "resolved.h"

/* ---- writing ---- */

static char *
sha256_of(const char *text)
{
	return text ? g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1) : NULL;
}

static void
set_str_or_null(JsonObject *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_string_member(o, key, v);
	else
		json_object_set_null_member(o, key);
}

static JsonObject *
host_object(const char *name, struct hostconn *hc)
{
	JsonObject *o = json_object_new();

	json_object_set_string_member(o, "host", name);
	set_str_or_null(o, "host_uuid", hc ? hc->uuid : NULL);
	return o;
}

/* The copies preflight planned: source and target path, in order. */
static JsonArray *
files_of(struct unit *u)
{
	JsonArray *a = json_array_new(), *t = fact_array(u, FACT_TARGET_FILES), *s = fact_array(u, FACT_SOURCE_FILES);
	JsonNode *sizes = json_object_get_member(u->facts, FACT_FILE_SIZES);
	JsonObject *so = sizes && JSON_NODE_HOLDS_OBJECT(sizes) ? json_node_get_object(sizes) : NULL;

	for (guint i = 0; t && s && i < json_array_get_length(t) && i < json_array_get_length(s); i++) {
		JsonObject *f = json_object_new();
		const char *sp = json_array_get_string_element(s, i);

		json_object_set_string_member(f, "source", sp);
		json_object_set_string_member(f, "target", json_array_get_string_element(t, i));
		if (so && sp && json_object_has_member(so, sp))	/* offline: preflight's size of it */
			json_object_set_int_member(f, "size", json_object_get_int_member(so, sp));
		json_array_add_object_element(a, f);
	}
	return a;
}

static JsonObject *
unit_object(struct unit *u)
{
	JsonObject *o = json_object_new();
	g_autofree char *txml = u->txml ? domxml_format(u->txml) : NULL;
	g_autofree char *ssum = sha256_of(u->xml_text), *tsum = sha256_of(txml);

	json_object_set_string_member(o, "id", u->id);
	json_object_set_string_member(o, "migration", u->m->id);
	json_object_set_string_member(o, "vm", u->vm);
	set_str_or_null(o, "uuid", u->sxml ? domxml_uuid(u->sxml) : fact_str(u, FACT_SOURCE_UUID));
	json_object_set_string_member(o, "mode", mode_name(u->mode));
	json_object_set_object_member(o, "source", host_object(u->m->from->name, u->src));
	/* a dry run that passed placed every unit it saves */
	json_object_set_object_member(o, "target", host_object(u->to ? u->to->name : "", u->dst));
	json_object_set_boolean_member(o, "already_done", fact_bool(u, FACT_ALREADY_DONE, FALSE));
	set_str_or_null(o, "source_xml_sha256", ssum);
	set_str_or_null(o, "target_xml_sha256", tsum);
	json_object_set_int_member(o, "copy_bytes",
				   json_object_get_int_member_with_default(u->facts, FACT_COPY_BYTES, 0));
	json_object_set_array_member(o, "files", files_of(u));
	/* offline qcow2 disks: each layer of the chain, top first, source and target */
	if (json_object_has_member(u->facts, FACT_CHAINS))
		json_object_set_member(o, "chains", json_object_dup_member(u->facts, FACT_CHAINS));
	if (json_object_has_member(u->facts, FACT_PLACEMENT))
		json_object_set_member(o, "placement", json_object_dup_member(u->facts, FACT_PLACEMENT));
	return o;
}

/* Each match: entry's names, in the units' order (sorted by name). */
static JsonArray *
matches_of(struct exec *x)
{
	JsonArray *a = json_array_new();

	for (guint i = 0; i < x->plan->order->len; i++) {
		struct migration *m = x->plan->order->pdata[i];
		JsonObject *o;
		JsonArray *vms;

		if (!m->match)
			continue;
		o = json_object_new();
		vms = json_array_new();
		for (guint k = 0; k < x->units->len; k++) {
			struct unit *u = x->units->pdata[k];

			if (u->m == m)
				json_array_add_string_element(vms, u->vm);
		}
		json_object_set_string_member(o, "migration", m->id);
		json_object_set_string_member(o, "pattern", m->match);
		json_object_set_string_member(o, "host", m->from->name);
		json_object_set_array_member(o, "vms", vms);
		json_array_add_object_element(a, o);
	}
	return a;
}

int
resolved_save(struct exec *x, GError **err)
{
	g_autoptr(JsonObject) doc = json_object_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
	g_autofree char *data = NULL, *text = NULL;
	JsonObject *plan = json_object_new();
	JsonArray *units = json_array_new();

	json_object_set_string_member(doc, "format", RESOLVED_FORMAT);
	json_object_set_int_member(doc, "version", RESOLVED_VERSION);
	json_object_set_string_member(doc, "created_at", when);
	json_object_set_string_member(doc, "vmshift_version", x->o->version ? x->o->version : "");
	json_object_set_string_member(plan, "path", x->plan_file);
	json_object_set_string_member(plan, "name", x->plan->name);
	json_object_set_string_member(plan, "sha256", x->plan->sha256);
	json_object_set_object_member(doc, "plan", plan);
	if (x->only) {
		JsonArray *a = json_array_new();

		for (guint i = 0; x->only[i]; i++)
			json_array_add_string_element(a, x->only[i]);
		json_object_set_array_member(doc, "only", a);
	}
	json_object_set_array_member(doc, "matches", matches_of(x));
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (u->selected)
			json_array_add_object_element(units, unit_object(u));
	}
	json_object_set_array_member(doc, "migrations", units);
	json_node_set_object(root, doc);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	data = json_generator_to_data(gen, NULL);
	text = g_strconcat(data, "\n", NULL);
	/* a temporary file beside it, synced and renamed: whole or not at all */
	if (!g_file_set_contents_full(x->o->save, text, -1,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, err))
		return -1;
	sink_log(&x->sink, "resolved plan saved to %s (plan sha256 %.12s...)", x->o->save, x->plan->sha256);
	return 0;
}

/* ---- reading ---- */

static int
bad_file(GError **err, const char *path, const char *what)
{
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "%s is not a resolved plan vmshift can read: %s; make a new one with vmshift apply --dry-run --save %s PLAN",
		    path, what, path);
	return -1;
}

JsonObject *
resolved_load(const char *path, char *sha256, GError **err)
{
	g_autofree char *text = NULL, *sum = NULL;
	gsize len = 0;
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) e = NULL;
	JsonNode *root;
	JsonObject *doc;
	gint64 version;

	if (!g_file_get_contents(path, &text, &len, &e)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "cannot read the resolved plan: %s", e->message);
		return NULL;
	}
	sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, len);
	g_strlcpy(sha256, sum, 65);
	if (!json_parser_load_from_data(p, text, (gssize)len, &e)) {
		bad_file(err, path, e->message);
		return NULL;
	}
	root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		bad_file(err, path, "not a JSON object");
		return NULL;
	}
	doc = json_node_get_object(root);
	if (g_strcmp0(json_object_get_string_member_with_default(doc, "format", ""), RESOLVED_FORMAT)) {
		bad_file(err, path, "its \"format\" is not \"" RESOLVED_FORMAT "\"");
		return NULL;
	}
	version = json_object_get_int_member_with_default(doc, "version", 0);
	if (version != RESOLVED_VERSION) {
		g_autofree char *what = g_strdup_printf("its format version is %" G_GINT64_FORMAT ", this vmshift reads version %d",
							version, RESOLVED_VERSION);

		bad_file(err, path, what);
		return NULL;
	}
	if (!json_object_has_member(doc, "migrations") ||
	    !JSON_NODE_HOLDS_ARRAY(json_object_get_member(doc, "migrations")) ||
	    !json_object_has_member(doc, "plan") || !JSON_NODE_HOLDS_OBJECT(json_object_get_member(doc, "plan"))) {
		bad_file(err, path, "it has no \"plan\" object or no \"migrations\" list");
		return NULL;
	}
	return json_object_ref(doc);
}

static JsonArray *
array_member(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static JsonObject *
object_member(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static const char *
str_member(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) : "";
}

static JsonObject *
saved_unit(JsonObject *saved, const char *id)
{
	JsonArray *a = array_member(saved, "migrations");

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);

		if (o && !strcmp(str_member(o, "id"), id))
			return o;
	}
	return NULL;
}

GPtrArray *
resolved_match_vms(JsonObject *saved, const char *id)
{
	JsonArray *a = array_member(saved, "matches");

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		JsonArray *vms = array_member(o, "vms");
		GPtrArray *names;

		if (!o || strcmp(str_member(o, "migration"), id) || !vms)
			continue;
		names = g_ptr_array_new_with_free_func(g_free);
		for (guint k = 0; k < json_array_get_length(vms); k++)
			g_ptr_array_add(names, g_strdup(json_array_get_string_element(vms, k)));
		return names;
	}
	return NULL;
}

void
resolved_place(struct exec *x, JsonObject *saved)
{
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		JsonObject *o = saved_unit(saved, u->id);
		struct host *h;

		if (u->to || !o || !(h = plan_host(x->plan, str_member(object_member(o, "target"), "host"))))
			continue;
		g_mutex_lock(&x->mu);
		if (object_member(o, "placement"))
			json_object_set_member(u->facts, FACT_PLACEMENT, json_object_dup_member(o, "placement"));
		json_object_set_string_member(u->facts, FACT_PLACED_HOST, h->name);
		u->to = h;
		u->dst = exec_host(x, h);
		g_mutex_unlock(&x->mu);
		g_ptr_array_add(x->placed_now, u);
		sink_log(&x->sink, "%s: placed on %s, as resolved", u->id, h->name);
	}
}

/* ---- resume and rollback ---- */

/* resume, rollback --resolved FILE: FILE must be the one the run began with. */
int
resolved_same_run(struct exec *x, GPtrArray *recs, GError **err)
{
	char sum[65];
	g_autoptr(JsonObject) saved = NULL;

	if (!x->o->resolved)
		return 0;
	if (!(saved = resolved_load(x->o->resolved, sum, err)))
		return -1;
	for (guint i = recs->len; i-- > 0;) {
		const struct journal_rec *r = recs->pdata[i];

		if (strcmp(r->ev, "run") || g_strcmp0(r->cmd, "apply"))
			continue;
		if (!g_strcmp0(r->resolved_sha256, sum))
			return 0;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s is not the resolved plan the run in %s began with (%s%.12s%s); give that file, or none (the journal keeps what the run resolved)",
			    x->o->resolved, x->state_dir, r->resolved_sha256 ? "sha256 " : "it began without --resolved",
			    r->resolved_sha256 ? r->resolved_sha256 : "", r->resolved_sha256 ? "..." : "");
		return -1;
	}
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no run began in %s: nothing to tie %s to",
		    x->state_dir, x->o->resolved);
	return -1;
}

/* ---- comparing ---- */

/* The verdict the placement figures of @u give host @name, or NULL. */
static const char *
verdict_now(struct unit *u, const char *name)
{
	JsonArray *c = array_member(object_member(u->facts, FACT_PLACEMENT), "candidates");

	for (guint i = 0; c && i < json_array_get_length(c); i++) {
		JsonObject *f = json_array_get_object_element(c, i);

		if (!strcmp(str_member(f, "host"), name))
			return str_member(f, "verdict");
	}
	return NULL;
}

static void
compare_target(struct unit *u, JsonObject *o, GPtrArray *d)
{
	const char *was = str_member(object_member(o, "target"), "host");
	const char *was_uuid = str_member(object_member(o, "target"), "host_uuid");
	const char *verdict;

	if (!u->to) {
		g_ptr_array_add(d, g_strdup_printf("%s: target no longer fits: %s was resolved to %s, and placement finds no host now (%s)",
						   u->id, u->vm, was, u->error ? u->error : "no candidate fits"));
		return;
	}
	if (strcmp(u->to->name, was)) {
		verdict = verdict_now(u, was);
		if (!verdict) {
			g_ptr_array_add(d, g_strdup_printf("%s: target host differs: resolved to %s, the plan sends it to %s now",
							   u->id, was, u->to->name));
			return;
		}
		if (strcmp(verdict, "fits")) {
			g_ptr_array_add(d, g_strdup_printf("%s: target no longer fits: %s, where it was resolved to go: %s",
							   u->id, was, verdict));
			return;
		}
		return;	/* placement would choose another host now; the resolved one still fits and is used */
	}
	if (*was_uuid && u->dst && u->dst->uuid && strcmp(was_uuid, u->dst->uuid))
		g_ptr_array_add(d, g_strdup_printf("%s: target host %s is another machine now: libvirt host uuid %s, resolved %s",
						   u->id, was, u->dst->uuid, was_uuid));
}

/* Every difference of unit @u from its resolved object @o into @d. */
static void
compare_unit(struct unit *u, JsonObject *o, GPtrArray *d)
{
	g_autofree char *txml = u->txml ? domxml_format(u->txml) : NULL;
	g_autofree char *ssum = sha256_of(u->xml_text), *tsum = sha256_of(txml);
	const char *src_uuid = str_member(object_member(o, "source"), "host_uuid");
	const char *uuid = str_member(o, "uuid");

	if (!u->to) {
		compare_target(u, o, d);	/* not placed: no preflight ran */
		return;
	}
	if (!u->sxml && !fact_bool(u, FACT_ALREADY_DONE, FALSE)) {
		g_ptr_array_add(d, g_strdup_printf("%s: VM missing: '%s' (uuid %s) is not on %s now%s%s", u->id, u->vm, uuid,
						   u->m->from->name, u->error ? ": " : "", u->error ? u->error : ""));
		return;
	}
	if (*src_uuid && u->src && u->src->uuid && strcmp(src_uuid, u->src->uuid))
		g_ptr_array_add(d, g_strdup_printf("%s: source host %s is another machine now: libvirt host uuid %s, resolved %s",
						   u->id, u->m->from->name, u->src->uuid, src_uuid));
	if (strcmp(mode_name(u->mode), str_member(o, "mode")))
		g_ptr_array_add(d, g_strdup_printf("%s: mode differs: %s now, resolved %s", u->id, mode_name(u->mode),
						   str_member(o, "mode")));
	compare_target(u, o, d);
	if (!u->sxml)
		return;	/* already on the target: nothing to compare it with */
	if (strcmp(domxml_uuid(u->sxml), uuid)) {
		g_ptr_array_add(d, g_strdup_printf("%s: UUID changed: '%s' on %s has uuid %s, resolved %s (another domain of the same name)",
						   u->id, u->vm, u->m->from->name, domxml_uuid(u->sxml), uuid));
		return;	/* another domain: its XML differs too, of course */
	}
	if (g_strcmp0(ssum, str_member(o, "source_xml_sha256")))
		g_ptr_array_add(d, g_strdup_printf("%s: source XML changed: the definition of '%s' on %s has sha256 %.12s..., resolved %.12s...",
						   u->id, u->vm, u->m->from->name, ssum, str_member(o, "source_xml_sha256")));
	if (tsum && g_strcmp0(tsum, str_member(o, "target_xml_sha256")))
		g_ptr_array_add(d, g_strdup_printf("%s: target XML changed: the remapped definition has sha256 %.12s..., resolved %.12s...",
						   u->id, tsum, str_member(o, "target_xml_sha256")));
	if (u->error && u->status == U_FAILED)
		g_ptr_array_add(d, g_strdup_printf("%s: preflight fails now: %s", u->id, u->error));
}

/* The file's age against @max_age_s. */
static void
compare_age(JsonObject *saved, gint64 max_age_s, GPtrArray *d)
{
	const char *when = str_member(saved, "created_at");
	g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(when, NULL);
	gint64 age;

	if (!t) {
		g_ptr_array_add(d, g_strdup_printf("created_at '%s' is not an RFC 3339 time", when));
		return;
	}
	age = g_get_real_time() / G_USEC_PER_SEC - g_date_time_to_unix(t);
	if (age > max_age_s)
		g_ptr_array_add(d, g_strdup_printf("too old: resolved at %s, %" G_GINT64_FORMAT " s ago, more than --max-age %" G_GINT64_FORMAT " s; resolve it again",
						   when, age, max_age_s));
	else if (age < -300)
		g_ptr_array_add(d, g_strdup_printf("created_at %s is in the future", when));
}

static gboolean
same_only(struct exec *y, JsonObject *saved)
{
	JsonArray *a = array_member(saved, "only");
	guint n = y->only ? g_strv_length(y->only) : 0;

	if (!a || !n)
		return !a && !n;
	if (json_array_get_length(a) != n)
		return FALSE;
	for (guint i = 0; i < n; i++)
		if (strcmp(json_array_get_string_element(a, i), y->only[i]))
			return FALSE;
	return TRUE;
}

int
resolved_compare(struct exec *y, JsonObject *saved, const char *path, gint64 max_age_s, GError **err)
{
	g_autoptr(GPtrArray) d = g_ptr_array_new_with_free_func(g_free);
	JsonArray *units = array_member(saved, "migrations");
	const char *sum = str_member(object_member(saved, "plan"), "sha256");

	compare_age(saved, max_age_s, d);
	if (strcmp(sum, y->plan->sha256))
		g_ptr_array_add(d, g_strdup_printf("plan edited: %s has sha256 %.12s... now, resolved %.12s...", y->plan_file,
						   y->plan->sha256, sum));
	if (!same_only(y, saved))
		g_ptr_array_add(d, g_strdup("--only differs from the --only the plan was resolved with"));
	for (guint i = 0; units && i < json_array_get_length(units); i++) {
		JsonObject *o = json_array_get_object_element(units, i);
		const char *id = str_member(o, "id");
		struct unit *u = unit_find(y, id);

		if (!u || !u->selected)
			g_ptr_array_add(d, g_strdup_printf("%s: VM missing: '%s' was resolved on %s, and %s", id,
							   str_member(o, "vm"), str_member(object_member(o, "source"), "host"),
							   u ? "is not selected now" : "matches no more (or the plan has no such entry now)"));
		else
			compare_unit(u, o, d);
	}
	for (guint i = 0; i < y->units->len; i++) {
		struct unit *u = y->units->pdata[i];

		if (!u->selected || saved_unit(saved, u->id))
			continue;
		if (u->m->match)
			g_ptr_array_add(d, g_strdup_printf("%s: VM new for match '%s': '%s' on %s was not there when the plan was resolved",
							   u->id, u->m->match, u->vm, u->m->from->name));
		else
			g_ptr_array_add(d, g_strdup_printf("%s: migration new: it is not in the resolved plan", u->id));
	}
	if (!d->len)
		return 0;
	{
		GString *all = g_string_new(NULL);

		g_string_append_printf(all, "%s does not match what the run would do now (%u difference%s); nothing was changed; resolve the plan again (vmshift apply --dry-run --save) and review it:",
				       path, d->len, d->len == 1 ? "" : "s");
		for (guint i = 0; i < d->len; i++)
			g_string_append_printf(all, "\n  %s", (char *)d->pdata[i]);
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, all->str);
		g_string_free(all, TRUE);
	}
	return -1;
}
