/* placement.c: which host of a to: list each VM goes to (placement.h). */
#include <string.h>

#include "placement.h"

/* What a candidate host has, read once a run, and what the run put there. */
struct cand {
	struct hostconn *hc;
	char *error;		/* its facts could not be read: it takes nothing */
	gint64 free_mib;
	gint64 cpus;
	gint64 vcpus_defined;	/* of every domain defined there, any state */
	GPtrArray *names;	/* of the domains defined there */
	gint64 placed_mib, placed_vcpus;	/* units heading there, not done yet */
	guint placed_n;
	GHashTable *nets;	/* "network NAME" / "bridge NAME" -> "" there, or why not */
};

/* What a VM needs. */
struct need {
	gint64 mib, vcpus;
	char *cpu;		/* its <cpu> element (live only), or NULL */
	GPtrArray *nets, *bridges;	/* of its remapped definition */
};

static void
need_clear(struct need *nd)
{
	g_free(nd->cpu);
	if (nd->nets)
		g_ptr_array_unref(nd->nets);
	if (nd->bridges)
		g_ptr_array_unref(nd->bridges);
	memset(nd, 0, sizeof(*nd));
}

struct placer {
	struct exec *x;
	GHashTable *cands;	/* struct host * -> struct cand * */
	GHashTable *cpu_ok;	/* "host\ncpu xml" -> GINT_TO_POINTER(1 ok, 2 incompatible) */
};

static void
cand_free(gpointer p)
{
	struct cand *c = p;

	g_free(c->error);
	if (c->names)
		g_ptr_array_unref(c->names);
	if (c->nets)
		g_hash_table_unref(c->nets);
	g_free(c);
}

static guint
pool_len(const struct migration *m)
{
	return m->pool ? m->pool->len : 1;
}

static struct host *
pool_host(const struct migration *m, guint i)
{
	return m->pool ? m->pool->pdata[i] : m->to;
}

static gboolean
is_pool(const struct migration *m)
{
	return !m->to;
}

char *
placement_pool_text(const struct migration *m)
{
	GString *s = g_string_new("[");

	for (guint i = 0; i < pool_len(m); i++)
		g_string_append_printf(s, "%s%s", i ? "|" : "", pool_host(m, i)->name);
	g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

static gint64
mib_up(unsigned long long kib)
{
	return (gint64)((kib + 1023) / 1024);
}

static struct cand *
cand_get(struct placer *p, struct host *h)
{
	struct cand *c = g_hash_table_lookup(p->cands, h);
	virDomainPtr *doms = NULL;
	virNodeInfo ni;
	unsigned long long free_b;
	int n;

	if (c)
		return c;
	c = g_new0(struct cand, 1);
	c->hc = exec_host(p->x, h);
	c->names = g_ptr_array_new_with_free_func(g_free);
	c->nets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_insert(p->cands, h, c);
	if (!c->hc || !c->hc->conn) {
		c->error = g_strdup("not connected");
		return c;
	}
	free_b = virNodeGetFreeMemory(c->hc->conn);
	if (free_b == 0 || virNodeGetInfo(c->hc->conn, &ni) < 0 ||
	    (n = virConnectListAllDomains(c->hc->conn, &doms, 0)) < 0) {
		g_autofree char *e = virt_error();

		c->error = g_strdup_printf("cannot read its memory, CPUs or domains: %s", e);
		return c;
	}
	c->free_mib = (gint64)(free_b / (1024 * 1024));
	c->cpus = ni.cpus;
	for (int i = 0; i < n; i++) {
		virDomainInfo di;

		if (virDomainGetInfo(doms[i], &di) == 0)
			c->vcpus_defined += di.nrVirtCpu;
		g_ptr_array_add(c->names, g_strdup(virDomainGetName(doms[i])));
		virDomainFree(doms[i]);
	}
	free(doms);
	return c;
}

/* The <cpu> element of a definition, or NULL. */
static char *
cpu_of(const char *xml)
{
	const char *a = strstr(xml, "<cpu"), *b;

	if (!a || (a[4] != ' ' && a[4] != '>' && a[4] != '/'))
		return NULL;
	if ((b = strstr(a, "</cpu>")))
		return g_strndup(a, (b + strlen("</cpu>")) - a);
	return (b = strstr(a, "/>")) ? g_strndup(a, (b + 2) - a) : NULL;
}

/* The networks and bridges @u's remapped definition names. */
static int
need_networks(struct placer *p, struct unit *u, virDomainPtr d, struct need *nd, GError **err)
{
	const struct remap *sets[] = { &u->m->set.remap, &p->x->plan->defaults.remap, &p->x->plan->remap };
	g_autofree char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	struct domxml *dx;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func((GDestroyNotify)dom_change_free);

	if (!xml) {
		g_autofree char *e = virt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read the definition of '%s' on %s: %s", u->vm,
			    u->src->h->name, e);
		return -1;
	}
	if (!(dx = domxml_parse(xml, err)))
		return -1;
	if (domxml_remap(dx, sets, G_N_ELEMENTS(sets), changes, err) < 0) {
		domxml_free(dx);
		return -1;
	}
	nd->nets = domxml_networks(dx);
	nd->bridges = domxml_bridges(dx);
	domxml_free(dx);
	return 0;
}

static int
need_of(struct placer *p, struct unit *u, struct need *nd, GError **err)
{
	gboolean missing = FALSE;
	g_auto(virDomainPtr) d = host_dom_lookup(u->src, u->vm, &missing, err);
	virDomainInfo di;

	(void)p;
	if (!d) {
		if (missing)
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "'%s' is not defined on %s", u->vm,
				    u->src->h->name);
		return -1;
	}
	if (virDomainGetInfo(d, &di) < 0) {
		g_autofree char *e = virt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read the memory and vCPUs of '%s' on %s: %s",
			    u->vm, u->src->h->name, e);
		return -1;
	}
	nd->mib = mib_up(di.maxMem);
	nd->vcpus = di.nrVirtCpu;
	if (u->mode == MODE_LIVE && !u->m->set.live.skip_cpu_check && virt_dom_is_running(d)) {
		g_autofree char *xml = virDomainGetXMLDesc(d, 0);

		nd->cpu = xml ? cpu_of(xml) : NULL;
	}
	return need_networks(p, u, d, nd, err);
}

/* TRUE if @name matches the whole of a pattern of @g. */
static gboolean
group_has(const struct affinity_group *g, const char *name)
{
	for (guint i = 0; i < g->patterns->len; i++) {
		const struct shared_pattern *sp = g->patterns->pdata[i];
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(sp->re, NULL);
		int r = pcre2_match(sp->re, (PCRE2_SPTR)name, strlen(name), 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
				    NULL);

		pcre2_match_data_free(md);
		if (r >= 0)
			return TRUE;
	}
	return FALSE;
}

/* Why @u may not go to @h for anti-affinity, or NULL. */
static char *
affinity_conflict(struct placer *p, struct unit *u, struct host *h, struct cand *c)
{
	const GPtrArray *groups = p->x->plan->placement.anti_affinity;

	for (guint g = 0; groups && g < groups->len; g++) {
		const struct affinity_group *ag = groups->pdata[g];

		if (!group_has(ag, u->vm))
			continue;
		for (guint i = 0; i < p->x->units->len; i++) {
			struct unit *o = p->x->units->pdata[i];

			if (o != u && o->to == h && strcmp(o->vm, u->vm) && o->status != U_ROLLED_BACK &&
			    group_has(ag, o->vm))
				return g_strdup_printf("anti_affinity group %u: %s goes there", g + 1, o->vm);
		}
		for (guint i = 0; i < c->names->len; i++) {
			const char *name = c->names->pdata[i];

			if (strcmp(name, u->vm) && group_has(ag, name))
				return g_strdup_printf("anti_affinity group %u: %s is defined there", g + 1, name);
		}
	}
	return NULL;
}

static gboolean
cpu_compatible(struct placer *p, struct cand *c, const char *cpu)
{
	g_autofree char *key = g_strdup_printf("%s\n%s", c->hc->h->name, cpu);
	gpointer v = g_hash_table_lookup(p->cpu_ok, key);

	if (!v) {
		int r = virConnectCompareHypervisorCPU(c->hc->conn, NULL, NULL, NULL, NULL, cpu, 0);

		v = GINT_TO_POINTER(r == VIR_CPU_COMPARE_INCOMPATIBLE ? 2 : 1);
		g_hash_table_insert(p->cpu_ok, g_steal_pointer(&key), v);
	}
	return GPOINTER_TO_INT(v) == 1;
}

/* "" if @c has the network (active) or bridge @name, else why not; each
 * asked once a run.  A bridge is looked for as /sys/class/net/NAME/bridge
 * over SSH; without SSH access it is not checked here (preflight says so). */
static const char *
cand_has(struct cand *c, gboolean bridge, const char *name)
{
	g_autofree char *key = g_strdup_printf("%s %s", bridge ? "bridge" : "network", name);
	const char *v = g_hash_table_lookup(c->nets, key);
	char *r = NULL;

	if (v)
		return v;
	if (!bridge) {
		virNetworkPtr n = virNetworkLookupByName(c->hc->conn, name);

		r = g_strdup(!n ? "missing" : virNetworkIsActive(n) != 1 ? "defined, not active" : "");
		if (n)
			virNetworkFree(n);
	} else if (!host_has_ssh(c->hc)) {
		r = g_strdup("");
	} else {
		struct host_lock lk;
		g_autoptr(GError) e = NULL;
		g_autofree char *path = g_strdup_printf("/sys/class/net/%s/bridge", name);
		struct sshx *s;
		gboolean exists = FALSE;

		host_lock(&lk, c->hc, NULL);
		if (!(s = host_ssh(c->hc, &e)) || sshx_stat(s, path, &exists, NULL, NULL, &e) < 0)
			r = g_strdup_printf("cannot be checked: %s", e->message);
		else
			r = g_strdup(exists ? "" : "missing");
		host_unlock(&lk);
	}
	g_hash_table_insert(c->nets, g_steal_pointer(&key), r);
	return r;
}

/* Why @c lacks a network or bridge @nd names, or NULL.  A missing bridge
 * is no reason with prepare.create_bridges: prepare-target makes it. */
static char *
cand_networks(struct cand *c, struct unit *u, const struct need *nd)
{
	for (guint i = 0; nd->nets && i < nd->nets->len; i++) {
		const char *v = cand_has(c, FALSE, nd->nets->pdata[i]);

		if (*v)
			return g_strdup_printf("network '%s' %s", (char *)nd->nets->pdata[i], v);
	}
	for (guint i = 0; nd->bridges && i < nd->bridges->len; i++) {
		const char *v = cand_has(c, TRUE, nd->bridges->pdata[i]);

		if (*v && !(u->m->set.prepare.create_bridges && !strcmp(v, "missing")))
			return g_strdup_printf("bridge '%s' %s", (char *)nd->bridges->pdata[i], v);
	}
	return NULL;
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
	struct cand *c = cand_get(p, h);
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
	if (nd->cpu && !cpu_compatible(p, c, nd->cpu))
		return g_strdup("cannot run the VM's CPU (virConnectCompareHypervisorCPU)");
	if ((why = cand_networks(c, u, nd)))
		return why;
	return affinity_conflict(p, u, h, c);
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

static void
cand_add(struct cand *c, const struct need *nd)
{
	c->placed_mib += nd->mib;
	c->placed_vcpus += nd->vcpus;
	c->placed_n++;
}

/* The figures and the decision, as a fact; u->to and u->dst set. */
static int
place(struct placer *p, struct unit *u, struct host *h, const struct need *nd, JsonArray *figs, GError **err)
{
	g_autoptr(JsonObject) f = json_object_new();
	JsonObject *pl = json_object_new();

	json_object_set_string_member(pl, "policy", p->x->plan->placement.policy == PLACE_PACK ? "pack" : "spread");
	json_object_set_int_member(pl, "need_mib", nd->mib);
	json_object_set_int_member(pl, "need_vcpus", nd->vcpus);
	json_object_set_array_member(pl, "candidates", json_array_ref(figs));
	json_object_set_string_member(f, FACT_PLACED_HOST, h->name);
	json_object_set_object_member(f, FACT_PLACEMENT, pl);
	g_mutex_lock(&p->x->mu);
	u->to = h;
	u->dst = exec_host(p->x, h);
	g_mutex_unlock(&p->x->mu);
	return unit_record_facts(p->x, u, STEP_PREFLIGHT, f, err);
}

static void
unplaceable(struct placer *p, struct unit *u, const char *why)
{
	struct exec *x = p->x;

	g_mutex_lock(&x->mu);
	u->status = U_FAILED;
	g_free(u->error);
	u->error = g_strdup_printf("placement: %s", why);
	g_mutex_unlock(&x->mu);
	sink_log(&x->sink, "%s: FAILED at placement: %s", u->id, why);
	if (u->report)
		g_string_append_printf(u->report, "    PLACEMENT FAILS: %s\n", why);
	unit_record_status(x, u, NULL);
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

	if (need_of(p, u, &nd, &e) < 0) {
		unplaceable(p, u, e->message);
		need_clear(&nd);
		return;
	}
	for (guint i = 0; i < pool_len(m); i++) {
		struct host *h = pool_host(m, i);
		JsonObject *fig = json_object_new();
		g_autofree char *no = cand_check(p, u, &nd, h, fig);
		struct cand *c = g_hash_table_lookup(p->cands, h);

		json_object_set_string_member(fig, "verdict", no ? no : "fits");
		json_array_add_object_element(figs, fig);
		if (no) {
			g_string_append_printf(why, "; %s: %s", h->name, no);
			continue;
		}
		if (!best || (p->x->plan->placement.policy == PLACE_SPREAD && spread_better(p, c, best))) {
			best = c;
			best_h = h;
		}
		if (p->x->plan->placement.policy == PLACE_PACK)
			break;
	}
	if (!best) {
		g_autofree char *msg = g_strdup_printf("%s needs %" G_GINT64_FORMAT " MiB and %" G_GINT64_FORMAT " vCPU%s; no candidate fits%s",
						       u->vm, nd.mib, nd.vcpus, nd.vcpus == 1 ? "" : "s", why->str);

		unplaceable(p, u, msg);
		need_clear(&nd);
		return;
	}
	if (place(p, u, best_h, &nd, figs, &e) < 0) {
		unplaceable(p, u, e->message);
		need_clear(&nd);
		return;
	}
	cand_add(best, &nd);
	if (u->report)
		report_placement(u, best_h, &nd, figs);
	sink_log(&p->x->sink, "%s: placed on %s (%s; needs %" G_GINT64_FORMAT " MiB, %" G_GINT64_FORMAT " vCPUs; %s had %" G_GINT64_FORMAT " MiB room)",
		 u->id, best_h->name, m->id, nd.mib, nd.vcpus, best_h->name, cand_room(p, best) + nd.mib);
	need_clear(&nd);
}

/* Would the run try @u now? */
static gboolean
to_place(struct unit *u)
{
	return u->selected && !u->to &&
	       (u->status == U_PENDING || u->status == U_INTERRUPTED || u->status == U_FAILED ||
		u->status == U_ROLLED_BACK || u->status == U_BLOCKED);
}

/* The units already heading to a candidate count against it. */
static void
count_placed(struct placer *p)
{
	for (guint i = 0; i < p->x->units->len; i++) {
		struct unit *u = p->x->units->pdata[i];
		struct need nd = { 0 };
		struct cand *c;
		g_autoptr(GError) e = NULL;

		if (!u->to || !u->selected || u->status == U_DONE || u->status == U_ROLLED_BACK ||
		    !g_hash_table_contains(p->cands, u->to))
			continue;
		c = g_hash_table_lookup(p->cands, u->to);
		if (!c->error && need_of(p, u, &nd, &e) == 0)
			cand_add(c, &nd);
		need_clear(&nd);
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
	p.cands = g_hash_table_new_full(NULL, NULL, NULL, cand_free);
	p.cpu_ok = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	/* every candidate's facts first, read together: the same facts for every decision */
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		if (is_pool(u->m))
			for (guint k = 0; k < pool_len(u->m); k++)
				cand_get(&p, pool_host(u->m, k));
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
placement_restore(struct exec *x, GError **err)
{
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];
		const char *name = fact_str(u, FACT_PLACED_HOST);
		struct host *h = NULL;

		if (!is_pool(u->m) || !*name)
			continue;
		for (guint k = 0; k < pool_len(u->m) && !h; k++)
			if (!strcmp(pool_host(u->m, k)->name, name))
				h = pool_host(u->m, k);
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
