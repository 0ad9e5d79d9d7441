/* placement_facts.c: what each candidate host has (memory, CPUs, domains,
 * networks and bridges) and what a VM needs, for placement.c. */
#include <string.h>

#include "placement_priv.h"

void
place_need_clear(struct need *nd)
{
	g_free(nd->cpu);
	g_free(nd->virttype);
	if (nd->nets)
		g_ptr_array_unref(nd->nets);
	if (nd->bridges)
		g_ptr_array_unref(nd->bridges);
	if (nd->disk_dirs)
		g_ptr_array_unref(nd->disk_dirs);
	if (nd->disk_bytes)
		g_array_unref(nd->disk_bytes);
	memset(nd, 0, sizeof(*nd));
}

void
place_cand_free(gpointer p)
{
	struct cand *c = p;

	g_free(c->error);
	if (c->names)
		g_ptr_array_unref(c->names);
	if (c->nets)
		g_hash_table_unref(c->nets);
	if (c->avail)
		g_hash_table_unref(c->avail);
	if (c->placed_disk)
		g_hash_table_unref(c->placed_disk);
	g_free(c);
}

guint
place_pool_len(const struct migration *m)
{
	return m->pool ? m->pool->len : 1;
}

struct host *
place_pool_host(const struct migration *m, guint i)
{
	return m->pool ? m->pool->pdata[i] : m->to;
}

gboolean
place_is_pool(const struct migration *m)
{
	return !m->to;
}

static gint64
mib_up(unsigned long long kib)
{
	return (gint64)((kib + 1023) / 1024);
}

/* Memory a VM can have on the host: free, buffers and page cache
 * (virNodeGetMemoryStats, as Nova counts it: the kernel gives cache back);
 * virNodeGetFreeMemory where the driver has no statistics; 0 on error. */
static unsigned long long
available_bytes(virConnectPtr conn)
{
	int n = 0;
	g_autofree virNodeMemoryStatsPtr st = NULL;
	unsigned long long kib = 0;

	if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) == 0 && n > 0) {
		st = g_new0(virNodeMemoryStats, n);
		if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, st, &n, 0) == 0) {
			for (int i = 0; i < n; i++)
				if (!strcmp(st[i].field, VIR_NODE_MEMORY_STATS_FREE) ||
				    !strcmp(st[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) ||
				    !strcmp(st[i].field, VIR_NODE_MEMORY_STATS_CACHED))
					kib += st[i].value;
			if (kib)
				return kib * 1024;
		}
	}
	virResetLastError();
	return virNodeGetFreeMemory(conn);
}

struct cand *
place_cand_get(struct placer *p, struct host *h)
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
	c->avail = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	c->placed_disk = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_insert(p->cands, h, c);
	if (!c->hc || !c->hc->conn) {
		c->error = g_strdup("not connected");
		return c;
	}
	free_b = available_bytes(c->hc->conn);
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

/* The bytes a copy of @path (a disk of @d) moves: the host storage its
 * file takes (virDomainGetBlockInfo's allocation: a sparse file's data,
 * as vmshift copies only data), or -1. */
static gint64
copy_bytes_of(virDomainPtr d, const char *path)
{
	virDomainBlockInfo bi;

	return virDomainGetBlockInfo(d, path, &bi, 0) < 0 ? -1 : (gint64)bi.allocation;
}

gint64
placement_copy_bytes(virDomainPtr d)
{
	g_autofree char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	g_autoptr(GError) e = NULL;
	struct domxml *s = xml ? domxml_parse(xml, &e) : NULL;
	g_autoptr(GPtrArray) sp = NULL;
	gint64 total = 0, n;

	if (!s)
		return -1;
	sp = domxml_paths(s);
	for (guint i = 0; i < sp->len; i++) {
		struct dom_path *a = sp->pdata[i];

		if (a->copy && !a->backing && (n = copy_bytes_of(d, a->path)) > 0)
			total += n;
	}
	domxml_free(s);
	return total;
}

/* Where offline-with-scp-disk's copies of @u go (@t: the remapped
 * definition; @xml: the source's) and how much each is (copy_bytes_of()),
 * for disks; the other copied files (NVRAM) are small and not counted,
 * nor the backing layers (the target may have them; preflight counts
 * what it will copy). */
static void
need_disks(virDomainPtr d, const char *xml, struct domxml *t, struct need *nd)
{
	g_autoptr(GError) e = NULL;
	struct domxml *s = domxml_parse(xml, &e);
	g_autoptr(GPtrArray) sp = NULL, tp = NULL;

	nd->disk_dirs = g_ptr_array_new_with_free_func(g_free);
	nd->disk_bytes = g_array_new(FALSE, FALSE, sizeof(gint64));
	if (!s)
		return;
	sp = domxml_paths(s);
	tp = domxml_paths(t);
	for (guint i = 0; i < sp->len && i < tp->len; i++) {
		struct dom_path *a = sp->pdata[i], *b = tp->pdata[i];
		gint64 n;

		if (!a->copy || a->backing || (n = copy_bytes_of(d, a->path)) < 0)
			continue;
		g_ptr_array_add(nd->disk_dirs, g_path_get_dirname(b->path));
		g_array_append_val(nd->disk_bytes, n);
	}
	domxml_free(s);
}

/* The networks and bridges @u's remapped definition names (and, offline,
 * where its copies go). */
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
	if (u->mode == MODE_OFFLINE_SCP || (u->mode == MODE_LIVE && u->m->set.live.copy_storage != COPY_STORAGE_NONE))
		need_disks(d, xml, dx, nd);
	domxml_free(dx);
	return 0;
}

int
place_need_of(struct placer *p, struct unit *u, struct need *nd, GError **err)
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

		nd->cpu = xml ? domxml_cpu_element(xml) : NULL;
		nd->virttype = xml ? domxml_virt_type(xml) : NULL;
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
		int r = md ? pcre2_match(sp->re, (PCRE2_SPTR)name, strlen(name), 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED,
					 md, NULL) : -1;

		pcre2_match_data_free(md);
		if (r >= 0)
			return TRUE;
	}
	return FALSE;
}

/* Why @u may not go to @h for anti-affinity, or NULL. */
char *
place_affinity_conflict(struct placer *p, struct unit *u, struct host *h, struct cand *c)
{
	const GPtrArray *groups = p->x->plan->placement.anti_affinity;

	for (guint g = 0; groups && g < groups->len; g++) {
		const struct affinity_group *ag = groups->pdata[g];

		if (!group_has(ag, u->vm))
			continue;
		for (guint i = 0; i < p->x->units->len; i++) {
			struct unit *o = p->x->units->pdata[i];

			if (o != u && o->to == h && strcmp(o->vm, u->vm) &&
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

gboolean
place_cpu_compatible(struct placer *p, struct cand *c, const struct need *nd)
{
	g_autofree char *key = g_strdup_printf("%s\n%s\n%s", c->hc->h->name, nd->virttype ? nd->virttype : "", nd->cpu);
	gpointer v = g_hash_table_lookup(p->cpu_ok, key);

	if (!v) {
		int r = virConnectCompareHypervisorCPU(c->hc->conn, NULL, NULL, NULL, nd->virttype, nd->cpu, 0);

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
char *
place_cand_networks(struct cand *c, struct unit *u, const struct need *nd)
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


/* Bytes free in @dir on @c: statvfs over SFTP of it, or of its nearest
 * existing ancestor when it does not exist yet (copy-disks makes it);
 * -1 when it cannot be told (no SSH access, or the call failed). */
static gint64
cand_avail(struct cand *c, const char *dir)
{
	gint64 *v = g_hash_table_lookup(c->avail, dir);
	g_autofree char *at = g_strdup(dir);
	struct host_lock lk;
	struct sshx *s;
	g_autoptr(GError) e = NULL;
	guint64 avail = 0;
	gint64 r = -1;

	if (v)
		return *v;
	if (host_has_ssh(c->hc)) {
		gboolean exists = FALSE;

		host_lock(&lk, c->hc, NULL);
		if ((s = host_ssh(c->hc, &e))) {
			while (sshx_stat(s, at, &exists, NULL, NULL, &e) == 0 && !exists && strcmp(at, "/")) {
				char *up = g_path_get_dirname(at);

				g_free(at);
				at = up;
			}
			if (exists && sshx_statvfs_avail(s, at, &avail, &e) == 0)
				r = (gint64)avail;
		}
		host_unlock(&lk);
	}
	v = g_new(gint64, 1);
	*v = r;
	g_hash_table_insert(c->avail, g_strdup(dir), v);
	return r;
}

static gint64
placed_in(struct cand *c, const char *dir)
{
	gint64 *v = g_hash_table_lookup(c->placed_disk, dir);

	return v ? *v : 0;
}

char *
place_cand_disks(struct cand *c, const struct need *nd, JsonObject *fig)
{
	g_autoptr(GHashTable) want = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);	/* dir -> gint64 * bytes */
	GHashTableIter it;
	gpointer k, v;

	for (guint i = 0; nd->disk_dirs && i < nd->disk_dirs->len; i++) {
		gint64 *sum = g_hash_table_lookup(want, nd->disk_dirs->pdata[i]);

		if (!sum) {
			sum = g_new0(gint64, 1);
			g_hash_table_insert(want, nd->disk_dirs->pdata[i], sum);
		}
		*sum += g_array_index(nd->disk_bytes, gint64, i);
	}
	g_hash_table_iter_init(&it, want);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		gint64 need = *(gint64 *)v, avail = cand_avail(c, k), placed = placed_in(c, k);

		if (avail < 0) {
			json_object_set_string_member(fig, "disk", "not checked (no SSH access): preflight checks the host chosen");
			continue;
		}
		json_object_set_int_member(fig, "disk_free_mib", avail / (1024 * 1024));
		json_object_set_int_member(fig, "disk_placed_mib", placed / (1024 * 1024));
		if (placed + need > avail)
			return g_strdup_printf("%" G_GINT64_FORMAT " MiB free in %s - %" G_GINT64_FORMAT " MiB placed by this run, less than the %" G_GINT64_FORMAT " MiB its copies take",
					      avail / (1024 * 1024), (char *)k, placed / (1024 * 1024),
					      (need + 1024 * 1024 - 1) / (1024 * 1024));
	}
	return NULL;
}

void
place_cand_add(struct cand *c, const struct need *nd)
{
	c->placed_mib += nd->mib;
	c->placed_vcpus += nd->vcpus;
	c->placed_n++;
	for (guint i = 0; nd->disk_dirs && i < nd->disk_dirs->len; i++) {
		gint64 *v = g_hash_table_lookup(c->placed_disk, nd->disk_dirs->pdata[i]);

		if (!v) {
			v = g_new0(gint64, 1);
			g_hash_table_insert(c->placed_disk, g_strdup(nd->disk_dirs->pdata[i]), v);
		}
		*v += g_array_index(nd->disk_bytes, gint64, i);
	}
}
