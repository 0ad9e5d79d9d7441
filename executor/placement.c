/* placement.c: which host of a to: list each VM goes to (placement.h). */
#include <string.h>

#include "placement_priv.h"

char *
placement_pool_text(const struct migration *m)
{
	GString *s = g_string_new("[");

	for (guint i = 0; i < place_pool_len(m); i++)
		g_string_append_printf(s, "%s%s", i ? "|" : "", place_pool_host(m, i)->name);
	g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

/* The memory @c has for one more VM: free, less reserve, less what the
 * run placed there. */
static gint64
cand_room(struct placer *p, struct cand *c)
{
	return c->free_mib - p->x->plan->placement.reserve_memory_mib - c->placed_mib;
}

/* Check @u (needing @nd) against @h; the figures go into @fig.  NULL:
 * it fits; else why not. */
static char *
cand_check(struct placer *p, struct unit *u, const struct need *nd, struct host *h, JsonObject *fig)
{
	struct cand *c = place_cand_get(p, h);
	double ratio = p->x->plan->placement.max_vcpu_ratio;
	gint64 room;
	char *why;

	json_object_set_string_member(fig, "host", h->name);
	if (c->error)
		return g_strdup(c->error);
	room = cand_room(p, c);
	json_object_set_int_member(fig, "free_mib", c->free_mib);
	json_object_set_int_member(fig, "placed_mib", c->placed_mib);
	json_object_set_int_member(fig, "reserve_mib", p->x->plan->placement.reserve_memory_mib);
	json_object_set_int_member(fig, "room_mib", room);
	json_object_set_int_member(fig, "vcpus", c->vcpus_defined + c->placed_vcpus);
	json_object_set_int_member(fig, "cpus", c->cpus);
	json_object_set_int_member(fig, "placed_vms", c->placed_n);
	if (room < nd->mib)
		return g_strdup_printf("%" G_GINT64_FORMAT " MiB free - %" G_GINT64_FORMAT " placed by this run - %" G_GINT64_FORMAT " reserved = %" G_GINT64_FORMAT " MiB, less than %" G_GINT64_FORMAT,
				       c->free_mib, c->placed_mib, p->x->plan->placement.reserve_memory_mib, room,
				       nd->mib);
	if (ratio > 0) {
		gint64 limit = (gint64)(ratio * (double)c->cpus);

		json_object_set_int_member(fig, "vcpu_limit", limit);
		if (c->vcpus_defined + c->placed_vcpus + nd->vcpus > limit)
			return g_strdup_printf("%" G_GINT64_FORMAT " vCPUs defined + %" G_GINT64_FORMAT " placed + %" G_GINT64_FORMAT " > %g x %" G_GINT64_FORMAT " CPUs",
					       c->vcpus_defined, c->placed_vcpus, nd->vcpus, ratio, c->cpus);
	}
	if (nd->cpu && !place_cpu_compatible(p, c, nd))
		return g_strdup("cannot run the VM's CPU (virConnectCompareHypervisorCPU)");
	if ((why = place_cand_networks(c, u, nd)) || (why = place_cand_disks(c, nd, fig)))
		return why;
	return place_affinity_conflict(p, u, h, c);
}

/* Better for spread: more room after placing, free values within
 * PLACE_TIE_MIB being equal, then fewer VMs placed, then list order
 * (the earlier candidate wins ties: it is checked first). */
static gboolean
spread_better(struct placer *p, struct cand *a, struct cand *best)
{
	gint64 ra = cand_room(p, a), rb = cand_room(p, best);

	if (ra - rb >= PLACE_TIE_MIB || rb - ra >= PLACE_TIE_MIB)
		return ra > rb;
	return a->placed_n < best->placed_n;
}

/* The figures, and the decision if any, in @u's facts (journaled by
 * placement_journal()). */
static void
note_placement(struct placer *p, struct unit *u, struct host *h, const struct need *nd, JsonArray *figs)
{
	JsonObject *pl = json_object_new();

	json_object_set_string_member(pl, "policy", p->x->plan->placement.policy == PLACE_PACK ? "pack" : "spread");
	json_object_set_int_member(pl, "need_mib", nd->mib);
	json_object_set_int_member(pl, "need_vcpus", nd->vcpus);
	json_object_set_array_member(pl, "candidates", json_array_ref(figs));
	g_mutex_lock(&p->x->mu);
	json_object_set_object_member(u->facts, FACT_PLACEMENT, pl);
	if (h) {
		json_object_set_string_member(u->facts, FACT_PLACED_HOST, h->name);
		u->to = h;
		u->dst = exec_host(p->x, h);
	}
	g_mutex_unlock(&p->x->mu);
	g_ptr_array_add(p->x->placed_now, u);
}

static void
unplaceable(struct placer *p, struct unit *u, const char *why)
{
	struct exec *x = p->x;

	g_mutex_lock(&x->mu);
	u->status = U_FAILED;
	g_free(u->error);
	u->error = g_strdup(why);
	g_mutex_unlock(&x->mu);
	sink_log(&x->sink, "%s: FAILED at placement: %s", u->id, why);
	if (u->report)
		g_string_append_printf(u->report, "    PLACEMENT FAILS: %s\n", why);
}

/* For the dry run: the decision and the figures that made it. */
static void
report_placement(struct unit *u, struct host *h, const struct need *nd, JsonArray *figs)
{
	g_string_append_printf(u->report, "    placement: %s (needs %" G_GINT64_FORMAT " MiB, %" G_GINT64_FORMAT " vCPUs)\n",
			       h->name, nd->mib, nd->vcpus);
	for (guint i = 0; i < json_array_get_length(figs); i++) {
		JsonObject *f = json_array_get_object_element(figs, i);

		g_string_append_printf(u->report, "      %-12s room %" G_GINT64_FORMAT " MiB (free %" G_GINT64_FORMAT ", placed %" G_GINT64_FORMAT ", reserved %" G_GINT64_FORMAT "), vCPUs %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ": %s\n",
				       json_object_get_string_member(f, "host"),
				       json_object_get_int_member_with_default(f, "room_mib", 0),
				       json_object_get_int_member_with_default(f, "free_mib", 0),
				       json_object_get_int_member_with_default(f, "placed_mib", 0),
				       json_object_get_int_member_with_default(f, "reserve_mib", 0),
				       json_object_get_int_member_with_default(f, "vcpus", 0),
				       json_object_get_int_member_with_default(f, "cpus", 0),
				       json_object_get_string_member_with_default(f, "verdict", "?"));
	}
}

static void
place_one(struct placer *p, struct unit *u)
{
	struct need nd = { 0 };
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonArray) figs = json_array_new();
	g_autoptr(GString) why = g_string_new(NULL);
	struct cand *best = NULL;
	struct host *best_h = NULL;
	const struct migration *m = u->m;

	if (place_need_of(p, u, &nd, &e) < 0) {
		g_autofree char *msg = g_strdup_printf("cannot tell what %s needs: %s", u->vm, e->message);

		unplaceable(p, u, msg);
		place_need_clear(&nd);
		return;
	}
	for (guint i = 0; i < place_pool_len(m); i++) {
		struct host *h = place_pool_host(m, i);
		JsonObject *fig = json_object_new();
		g_autofree char *no = cand_check(p, u, &nd, h, fig);
		struct cand *c = g_hash_table_lookup(p->cands, h);

		json_object_set_string_member(fig, "verdict", no ? no : "fits");
		json_array_add_object_element(figs, fig);
		if (no) {
			g_string_append_printf(why, "; %s: %s", h->name, no);
			continue;
		}
		/* pack: the first that fits; every candidate's figures are kept all the same */
		if (!best || (p->x->plan->placement.policy == PLACE_SPREAD && spread_better(p, c, best))) {
			best = c;
			best_h = h;
		}
	}
	note_placement(p, u, best_h, &nd, figs);
	if (!best) {
		g_autofree char *msg = g_strdup_printf("%s needs %" G_GINT64_FORMAT " MiB and %" G_GINT64_FORMAT " vCPU%s; no candidate fits%s; make room on one (or add a candidate to to:, or lower placement.reserve_memory_mib), then vmshift resume",
						       u->vm, nd.mib, nd.vcpus, nd.vcpus == 1 ? "" : "s", why->str);

		unplaceable(p, u, msg);
		place_need_clear(&nd);
		return;
	}
	place_cand_add(best, &nd);
	if (u->report)
		report_placement(u, best_h, &nd, figs);
	sink_log(&p->x->sink, "%s: placed on %s (%s; needs %" G_GINT64_FORMAT " MiB, %" G_GINT64_FORMAT " vCPUs; %s had %" G_GINT64_FORMAT " MiB room)",
		 u->id, best_h->name, m->id, nd.mib, nd.vcpus, best_h->name, cand_room(p, best) + nd.mib);
	place_need_clear(&nd);
}

/* Would the run try @u now? */
static gboolean
to_place(struct unit *u)
{
	return u->selected && !u->to &&
	       (u->status == U_PENDING || u->status == U_INTERRUPTED || u->status == U_FAILED ||
		u->status == U_ROLLED_BACK || u->status == U_BLOCKED);
}

/* The units already heading to a candidate count against it: placed by
 * an earlier run of the journal (a placement is kept for the unit's
 * life, through a rollback too) or with a fixed to:, selected now or
 * not, until they are done (then the host's own figures have them). */
static void
count_placed(struct placer *p)
{
	for (guint i = 0; i < p->x->units->len; i++) {
		struct unit *u = p->x->units->pdata[i];
		struct need nd = { 0 };
		struct cand *c;
		g_autoptr(GError) e = NULL;

		if (!u->to || u->status == U_DONE || !g_hash_table_contains(p->cands, u->to))
			continue;
		c = g_hash_table_lookup(p->cands, u->to);
		if (!c->error && place_need_of(p, u, &nd, &e) == 0)
			place_cand_add(c, &nd);
		place_need_clear(&nd);
	}
}

void
placement_decide(struct exec *x)
{
	struct placer p = { .x = x };
	gboolean any = FALSE;

	for (guint i = 0; i < x->units->len && !any; i++)
		any = to_place(x->units->pdata[i]);
	if (!any)
		return;
	p.cands = g_hash_table_new_full(NULL, NULL, NULL, place_cand_free);
	p.cpu_ok = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	/* every candidate's facts first, read together: the same facts for every decision */
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (place_is_pool(u->m))
			for (guint k = 0; k < place_pool_len(u->m); k++)
				place_cand_get(&p, place_pool_host(u->m, k));
	}
	count_placed(&p);
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (!to_place(u))
			continue;
		if (x->o->dry_run && !u->report)
			u->report = g_string_new(NULL);
		place_one(&p, u);
	}
	g_hash_table_unref(p.cands);
	g_hash_table_unref(p.cpu_ok);
}

int
placement_restore(struct exec *x, gboolean strict, GError **err)
{
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		const char *name = fact_str(u, FACT_PLACED_HOST);
		struct host *h = NULL;

		if (!place_is_pool(u->m) || !*name)
			continue;
		for (guint k = 0; k < place_pool_len(u->m) && !h; k++)
			if (!strcmp(place_pool_host(u->m, k)->name, name))
				h = place_pool_host(u->m, k);
		if (!h && !strict)
			continue;	/* status: shown as not placed */
		if (!h) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "%s: the journal in %s says it was placed on '%s', which is no candidate of its to: any more; put the plan back as it was to resume or roll back, or use another --state-dir to start over",
				    u->id, x->state_dir, name);
			return -1;
		}
		u->to = h;
		u->dst = x->hosts ? exec_host(x, h) : NULL;
	}
	return 0;
}

int
placement_journal(struct exec *x, GError **err)
{
	for (guint i = 0; i < x->placed_now->len; i++) {
		struct unit *u = x->placed_now->pdata[i];
		g_autoptr(JsonObject) f = json_object_new();

		g_mutex_lock(&x->mu);
		json_object_set_member(f, FACT_PLACEMENT, json_object_dup_member(u->facts, FACT_PLACEMENT));
		if (u->to)
			json_object_set_string_member(f, FACT_PLACED_HOST, u->to->name);
		g_mutex_unlock(&x->mu);
		events_placement(&x->sink, u->id, u->to ? u->to->name : NULL, json_object_get_object_member(f, FACT_PLACEMENT));
		if (unit_record_facts(x, u, STEP_PREFLIGHT, f, err) < 0 || (!u->to && unit_record_status(x, u, err) < 0))
			return -1;
	}
	g_ptr_array_set_size(x->placed_now, 0);
	return 0;
}
