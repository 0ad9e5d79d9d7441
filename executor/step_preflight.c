/* step_preflight.c: the preflight step.  Every check, nothing changed:
 * the dry-run is this step alone, and apply's first step. */
#include <sys/statvfs.h>
#include <string.h>

#include "step_verify.h"
#include "steps.h"
#include "udiff.h"

/* What preflight_files() checks one file with. */
struct pf {
	struct exec *x;
	struct unit *u;
	struct sshx *ss, *ds;	/* NULL without SSH access (reported) */
	GPtrArray *problems;
	GHashTable *dirs_for_space;	/* existing directory -> bytes to copy below it */
	guint64 total;
	JsonObject *sizes;	/* source path -> its size (FACT_FILE_SIZES) */
};

static void
pf_problem(struct pf *p, GError **e, const char *what)
{
	g_ptr_array_add(p->problems, what ? g_strdup_printf("%s: %s", what, (*e)->message) : g_strdup((*e)->message));
	g_clear_error(e);
}

/* kernel, initrd, firmware, shared directories: the target's own file
 * (or directory: sshx_stat() takes either) at that path */
static void
pf_system_file(struct pf *p, struct file_pair *fp)
{
	struct unit *u = p->u;
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autoptr(GError) e = NULL;
	gboolean exists = FALSE;

	if (!p->ds) {
		step_note(u, "%s: %s (not copied; cannot check it exists on %s: no SSH access)", fp->src->what, tp,
			  u->dst->h->name);
	} else if (sshx_stat(p->ds, tp, &exists, NULL, NULL, &e) < 0) {
		pf_problem(p, &e, NULL);
	} else if (!exists) {
		g_ptr_array_add(p->problems, g_strdup_printf("%s: '%s' does not exist on %s (vmshift does not copy it): put it there, or remap the path",
							     fp->src->what, tp, u->dst->h->name));
	} else {
		step_note(u, "%s: %s -> %s (not copied: on %s already)", fp->src->what, sp, tp, u->dst->h->name);
	}
}

/* live with copy_storage: libvirt writes there, nothing of anybody's may be there */
static void
pf_copy_storage(struct pf *p, struct file_pair *fp)
{
	struct unit *u = p->u;
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autoptr(GError) e = NULL;
	gboolean exists = FALSE;

	step_note(u, "%s: %s -> %s (copied by the live migration itself, copy_storage)", fp->src->what, sp, tp);
	if (!p->ds)
		return;	/* reported: no SSH access */
	storage_check_write(u, p->ds, fp->src->what, tp, FALSE, p->problems);
	if (step_refuse_link(p->ds, tp, u->dst, &exists, &e) < 0)
		pf_problem(p, &e, fp->src->what);
	else if (exists)
		g_ptr_array_add(p->problems, g_strdup_printf(
			"%s: '%s' already exists on %s, and copy_storage would write over it: remove it there if it is stale, or remap the path",
			fp->src->what, tp, u->dst->h->name));
}

/* cold and live: shared storage, the remapped path must be there */
static void
pf_shared(struct pf *p, struct file_pair *fp)
{
	struct unit *u = p->u;
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autoptr(GError) e = NULL;
	gboolean exists = FALSE;
	guint64 size = 0;

	if (!p->ds) {
		step_note(u, "%s: %s (cannot check it exists on %s: no SSH access)", fp->src->what, tp, u->dst->h->name);
	} else if (sshx_stat(p->ds, tp, &exists, &size, NULL, &e) < 0) {
		pf_problem(p, &e, NULL);
	} else if (!exists) {
		g_ptr_array_add(p->problems, g_strdup_printf(
			"%s: '%s' does not exist on %s; mode %s needs the disks on storage both hosts see (use offline-with-scp-disk or live.copy_storage to copy them, or a paths remap)",
			fp->src->what, tp, u->dst->h->name, mode_name(u->mode)));
	} else {
		g_autofree char *hs = step_human_size(size);

		step_note(u, "%s: %s -> %s (%s, on %s already)", fp->src->what, sp, tp, hs, u->dst->h->name);
	}
}

/* offline-with-scp-disk: what copy-disks will find on the target.  FALSE:
 * nothing to copy (identical there already, or a problem). */
static gboolean
pf_offline_target(struct pf *p, struct file_pair *fp, guint64 size)
{
	struct unit *u = p->u;
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autofree char *part = g_strconcat(tp, PART_SUFFIX, NULL);
	g_autofree char *hs = step_human_size(size);
	g_autoptr(GError) e = NULL;
	gboolean exists = FALSE, le = FALSE, pe = FALSE, same = FALSE;
	guint64 tsize = 0;

	if (sshx_stat(p->ds, tp, &exists, &tsize, NULL, &e) < 0) {
		pf_problem(p, &e, NULL);
		return FALSE;
	}
	if (step_refuse_link(p->ds, tp, u->dst, &le, &e) < 0 || step_refuse_link(p->ds, part, u->dst, &pe, &e) < 0 ||
	    (pe && claims_refuse_foreign_part(p->x, u, part, &e) < 0)) {
		pf_problem(p, &e, fp->src->what);
		return FALSE;
	}
	if (exists && tsize == size) {
		same = step_same_content(p->ss, sp, p->ds, tp, &e);
		if (e) {
			pf_problem(p, &e, NULL);
			return FALSE;
		}
	}
	if (same) {
		/* maybe the same file through shared storage, maybe an
		 * earlier copy: either way it needs no copy */
		step_note(u, "%s: %s (%s) is on %s already, identical: not copied", fp->src->what, tp, hs, u->dst->h->name);
		return FALSE;
	} else if (exists && !u->m->set.disks.overwrite) {
		g_ptr_array_add(p->problems, g_strdup_printf(
			"%s: '%s' already exists on %s and differs (%" G_GUINT64_FORMAT " bytes, source %" G_GUINT64_FORMAT "); set disks.overwrite: true to replace it (the old file is kept as %s%s)",
			fp->src->what, tp, u->dst->h->name, tsize, size, tp, ORIG_SUFFIX));
		return FALSE;
	} else if (exists) {
		step_note(u, "%s: %s -> %s (%s; the different file on %s is replaced, kept as %s%s)", fp->src->what, sp, tp,
			  hs, u->dst->h->name, tp, ORIG_SUFFIX);
	} else {
		step_note(u, "%s: %s -> %s (%s, copied over SFTP, verify %s)", fp->src->what, sp, tp, hs,
			  u->m->set.disks.verify == VERIFY_SHA256 ? "sha256" :
			  u->m->set.disks.verify == VERIFY_SIZE ? "size" : "none");
	}
	return TRUE;
}

/* offline-with-scp-disk: the source file is copied */
static void
pf_offline(struct pf *p, struct file_pair *fp)
{
	struct unit *u = p->u;
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autoptr(GError) e = NULL;
	g_autofree char *anc = NULL;
	gboolean exists = FALSE;
	guint64 size = 0, before;

	if (!p->ss || !p->ds)
		return;	/* reported */
	if (sshx_stat(p->ss, sp, &exists, &size, NULL, &e) < 0 || !exists) {
		g_ptr_array_add(p->problems, e ? g_strdup(e->message) :
				g_strdup_printf("%s: '%s' does not exist on %s", fp->src->what, sp, u->src->h->name));
		return;
	}
	if (!pf_offline_target(p, fp, size))
		return;
	/* a file already identical there is not written (copy-disks looks
	 * again before it writes) */
	storage_check_write(u, p->ds, fp->src->what, tp, FALSE, p->problems);
	if (!(anc = step_existing_ancestor(p->ds, tp, &e))) {
		g_ptr_array_add(p->problems, g_strdup_printf("%s: cannot create the directory of '%s' on %s: %s",
							     fp->src->what, tp, u->dst->h->name, e->message));
		return;
	}
	before = GPOINTER_TO_SIZE(g_hash_table_lookup(p->dirs_for_space, anc));
	g_hash_table_insert(p->dirs_for_space, g_steal_pointer(&anc), GSIZE_TO_POINTER(before + size));
	p->total += size;
	json_object_set_int_member(p->sizes, sp, (gint64)size);
}

/* offline-with-scp-disk: room for the copies, directory by directory */
static void
pf_space(struct pf *p, JsonObject *facts)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, p->dirs_for_space);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_autoptr(GError) e = NULL;
		guint64 avail = 0, need = GPOINTER_TO_SIZE(v);

		if (sshx_statvfs_avail(p->ds, k, &avail, &e) < 0) {
			pf_problem(p, &e, NULL);
		} else if (avail < need) {
			g_autofree char *ha = step_human_size(avail), *hn = step_human_size(need);

			g_ptr_array_add(p->problems, g_strdup_printf("not enough space on %s under %s: %s free, the disks need %s",
								     p->u->dst->h->name, (char *)k, ha, hn));
		}
	}
	json_object_set_int_member(facts, FACT_COPY_BYTES, (gint64)p->total);
}

/* The files vmshift may copy, as facts (claims.c reads them). */
static void
pf_file_facts(struct files *f, JsonObject *facts)
{
	JsonArray *tf = json_array_new(), *sf = json_array_new();

	for (guint i = 0; i < f->t->len; i++)
		if (((struct dom_path *)f->t->pdata[i])->copy) {
			json_array_add_string_element(tf, ((struct dom_path *)f->t->pdata[i])->path);
			json_array_add_string_element(sf, ((struct dom_path *)f->s->pdata[i])->path);
		}
	json_object_set_array_member(facts, FACT_TARGET_FILES, tf);
	json_object_set_array_member(facts, FACT_SOURCE_FILES, sf);
}

/* Check the disks and NVRAM the target will use; adds to @problems. */
static void
preflight_files(struct exec *x, struct unit *u, GPtrArray *problems, JsonObject *facts)
{
	g_auto(Files) f = { 0 };
	gboolean offline = u->mode == MODE_OFFLINE_SCP;
	struct pf p = { .x = x, .u = u, .problems = problems };
	g_autoptr(GError) e = NULL;
	struct host_lock lk;

	p.dirs_for_space = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p.sizes = json_object_new();
	step_files_load(u, &f);
	pf_file_facts(&f, facts);
	host_lock(&lk, u->src, u->dst);
	if (host_has_ssh(u->dst) && !(p.ds = host_ssh(u->dst, &e)))
		pf_problem(&p, &e, NULL);
	if (host_has_ssh(u->src) && !(p.ss = host_ssh(u->src, &e)))
		pf_problem(&p, &e, NULL);
	for (guint i = 0; i < f.s->len; i++) {
		struct file_pair fp = { f.s->pdata[i], f.t->pdata[i] };

		if (fp.src->backing)
			continue;	/* backing chains are checked by storage.c (storage_preflight) */
		if (fp.src->log) {
			step_note(u, "%s: %s -> %s (created empty on %s if missing)", fp.src->what, fp.src->path,
				  fp.dst->path, u->dst->h->name);
			if (p.ds)
				storage_check_write(u, p.ds, fp.src->what, fp.dst->path, TRUE, problems);
		} else if (!fp.src->copy) {
			pf_system_file(&p, &fp);
		} else if (u->mode == MODE_LIVE && u->m->set.live.copy_storage != COPY_STORAGE_NONE) {
			pf_copy_storage(&p, &fp);
		} else if (!offline) {
			pf_shared(&p, &fp);
		} else {
			pf_offline(&p, &fp);
		}
	}
	if (offline && p.ds)
		pf_space(&p, facts);
	json_object_set_object_member(facts, FACT_FILE_SIZES, p.sizes);	/* consumed */
	if (offline)
		step_direct_preflight(x, u, p.ss, p.ds, problems);
	storage_preflight(x, u, p.ss, p.ds, facts, problems);
	g_hash_table_unref(p.dirs_for_space);
	host_unlock(&lk);
}

static void
preflight_network(struct unit *u, GPtrArray *problems)
{
	g_autoptr(GPtrArray) nets = domxml_networks(u->txml);
	g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < nets->len; i++) {
		virNetworkPtr n = virNetworkLookupByName(u->dst->conn, nets->pdata[i]);

		if (!n) {
			g_ptr_array_add(missing, g_strdup_printf("network '%s'", (char *)nets->pdata[i]));
			continue;
		}
		if (virNetworkIsActive(n) != 1)
			g_ptr_array_add(missing, g_strdup_printf("network '%s' (defined, not active)",
								 (char *)nets->pdata[i]));
		virNetworkFree(n);
	}
	bridges_preflight(u, missing, problems);
	if (missing->len) {
		g_ptr_array_add(missing, NULL);
		g_autofree char *all = g_strjoinv(", ", (char **)missing->pdata);

		g_ptr_array_add(problems, g_strdup_printf("missing on %s: %s; create them there (or remap them in the plan) and run again",
							  u->dst->h->name, all));
	}
}

/* The source has no domain of that name.  It is "already migrated" only
 * if this run's journal says vmshift put it on the target: a domain of
 * that name there may be anybody's. */
static int
preflight_source_gone(struct exec *x, struct unit *u, JsonObject *facts, GError **err)
{
	g_auto(virDomainPtr) dst = NULL;
	gboolean missing = FALSE;
	const char *uuid = fact_str(u, FACT_SOURCE_UUID);

	if (*uuid && fact_bool(u, FACT_TARGET_DEFINED, FALSE)) {
		if (!(dst = host_dom_by_uuid(u->dst, uuid, &missing, err)) && !missing)
			return -1;
		if (dst) {
			step_note(u, "already migrated: this run put '%s' (uuid %s) on %s, and %s has it no more", u->vm,
			     uuid, u->dst->h->name, u->src->h->name);
			json_object_set_boolean_member(facts, FACT_ALREADY_DONE, TRUE);
			return unit_record_facts(x, u, STEP_PREFLIGHT, facts, err);
		}
	}
	if (!(dst = host_dom_lookup(u->dst, u->vm, &missing, err)) && !missing)
		return -1;
	if (dst) {
		char tuuid[VIR_UUID_STRING_BUFLEN] = "";

		virDomainGetUUIDString(dst, tuuid);
		return step_fail(err, "domain '%s' is not on %s; %s has a domain of that name (uuid %s), but this run did not put it there, so vmshift does not take it for the VM (if it was migrated by hand, drop it from the plan)",
			    u->vm, u->src->h->name, u->dst->h->name, tuuid);
	}
	return step_fail(err, "domain '%s' is on neither %s nor %s", u->vm, u->src->h->name, u->dst->h->name);
}

/* What a domain carries besides its definition: snapshots, checkpoints
 * and a managed-save image are per-host state that vmshift does not move
 * (refused, before any downtime); autostart is carried. */
static void
preflight_carried(struct unit *u, virDomainPtr src, GPtrArray *problems, JsonObject *facts)
{
	const char *h = u->src->h->name;
	int n, autostart = 0;

	if ((n = virDomainSnapshotNum(src, 0)) > 0)
		g_ptr_array_add(problems, g_strdup_printf(
			"'%s' has %d snapshot%s on %s, which vmshift does not move (libvirt keeps them per host): delete or merge them first (virsh snapshot-list %s; snapshot-delete)",
			u->vm, n, n == 1 ? "" : "s", h, u->vm));
	else if (n < 0)
		g_ptr_array_add(problems, g_strdup_printf("cannot count the snapshots of '%s' on %s: %s", u->vm, h,
							  virGetLastErrorMessage()));
	if ((n = virDomainListAllCheckpoints(src, NULL, 0)) > 0)
		g_ptr_array_add(problems, g_strdup_printf(
			"'%s' has %d checkpoint%s on %s, which vmshift does not move: delete them first (virsh checkpoint-list %s; checkpoint-delete)",
			u->vm, n, n == 1 ? "" : "s", h, u->vm));
	if (virDomainHasManagedSaveImage(src, 0) == 1)
		g_ptr_array_add(problems, g_strdup_printf(
			"'%s' has a managed-save image on %s (virsh managedsave): start it there and shut it down, or drop the image with virsh managedsave-remove %s, first",
			u->vm, h, u->vm));
	if (virDomainGetAutostart(src, &autostart) == 0) {
		json_object_set_boolean_member(facts, FACT_AUTOSTART, autostart != 0);
		if (autostart)
			step_note(u, "autostart: on; set on %s too once it is defined there", u->dst->h->name);
	}
}

/* NULL if the target's definition of @t is what vmshift would define
 * (the remapped source XML), else a short account of the difference. */
static char *
target_differs(struct exec *x, struct unit *u, virDomainPtr t)
{
	g_autofree char *have = virDomainGetXMLDesc(t, XML_FLAGS(x));
	g_autofree char *want = domxml_format(u->txml);
	g_autoptr(DomXml) parsed = NULL;
	g_autofree char *a = NULL, *d = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	guint n = 0;

	if (!have)
		return g_strdup_printf("its definition cannot be read: %s", virGetLastErrorMessage());
	if (!(parsed = domxml_parse(have, NULL)))
		return g_strdup("its definition cannot be parsed");
	a = domxml_format(parsed);
	if (!strcmp(a, want))
		return NULL;
	d = udiff(want, a, "what vmshift would define", "what the target has");
	lines = g_strsplit(d, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		const char *l = lines[i];

		if ((l[0] != '-' && l[0] != '+') || g_str_has_prefix(l, "---") || g_str_has_prefix(l, "+++"))
			continue;
		if (n++ < 4) {
			g_autofree char *txt = g_strstrip(g_strdup(l + 1));

			g_string_append_printf(out, "%s%c'%s'", out->len ? ", " : "", l[0], txt);
		}
	}
	return g_strdup_printf("its definition differs from what vmshift would define in %u line%s: %s%s", n,
			       n == 1 ? "" : "s", out->str, n > 4 ? ", ..." : "");
}

/* The target: no domain of that name or uuid, or one this run put there,
 * or (source shut off) exactly the definition vmshift would write.
 * Anything else of that name or uuid is somebody else's: refused, and
 * never touched by undo (target_had_domain). */
static int
preflight_target(struct exec *x, struct unit *u, const char *uuid, gboolean running, GPtrArray *problems,
		 JsonObject *facts, GError **err)
{
	g_auto(virDomainPtr) named = NULL;
	g_auto(virDomainPtr) same = NULL;
	gboolean missing = FALSE;
	g_autofree char *differs = NULL;

	if (!(named = host_dom_lookup(u->dst, u->vm, &missing, err)) && !missing)
		return -1;
	if (named) {
		char tuuid[VIR_UUID_STRING_BUFLEN] = "";

		virDomainGetUUIDString(named, tuuid);
		if (strcmp(tuuid, uuid))
			g_ptr_array_add(problems, g_strdup_printf("%s already has a different domain named '%s' (uuid %s)",
								  u->dst->h->name, u->vm, tuuid));
	}
	if (!(same = host_dom_by_uuid(u->dst, uuid, &missing, err)) && !missing)
		return -1;
	json_object_set_boolean_member(facts, FACT_TARGET_HAD_DOMAIN, same && !fact_bool(u, FACT_TARGET_DEFINED, FALSE));
	if (!same)
		return 0;
	if (fact_bool(u, FACT_TARGET_DEFINED, FALSE)) {
		step_note(u, "target: %s has this domain (uuid %s) from this run's earlier attempt", u->dst->h->name, uuid);
		return 0;
	}
	if (running) {
		g_ptr_array_add(problems, g_strdup_printf(
			"%s already has a domain with uuid %s ('%s') that this run did not define, while '%s' runs on %s: one of them is a stale copy; remove the one on %s (virsh undefine) if it is, then run again",
			u->dst->h->name, uuid, virDomainGetName(same), u->vm, u->src->h->name, u->dst->h->name));
		return 0;
	}
	if (u->mode == MODE_OFFLINE_SCP && virt_dom_is_running(same)) {
		g_ptr_array_add(problems, g_strdup_printf(
			"%s already runs a domain with uuid %s ('%s') that this run did not define; copying the disks would replace them under it: stop it there (or remove it, if it is a stale copy), then run again",
			u->dst->h->name, uuid, virDomainGetName(same)));
		return 0;
	}
	if ((differs = target_differs(x, u, same))) {
		g_ptr_array_add(problems, g_strdup_printf(
			"%s already has a domain with uuid %s ('%s') that this run did not define; %s; remove it there (virsh undefine) if it is a stale copy, then run again",
			u->dst->h->name, uuid, virDomainGetName(same), differs));
		return 0;
	}
	step_note(u, "target: %s already has this domain (uuid %s), defined exactly as vmshift would define it: taken as it is, and never removed by undo",
	     u->dst->h->name, uuid);
	return 0;
}

/* Mode live: the source must run, unless the VM already runs on the
 * target (migrated, its source definition not removed yet). */
static void
preflight_live_source(struct exec *x, struct unit *u, virDomainPtr src, const char *uuid, gboolean running,
		      JsonObject *facts, GPtrArray *problems)
{
	g_auto(virDomainPtr) there = NULL;
	gboolean gone = FALSE;

	/* running on the target, only defined on the source: migrated,
	 * the source's definition not yet removed (undefine_source
	 * false, or an earlier run stopped there); preflight_target()
	 * made sure the target's domain is this VM's */
	if (!running && json_object_get_boolean_member_with_default(facts, FACT_TARGET_HAD_DOMAIN, FALSE) &&
	    (there = host_dom_by_uuid(u->dst, uuid, &gone, NULL)) && virt_dom_is_running(there))
		step_note(u, "already migrated: '%s' runs on %s and is only defined on %s; the remaining steps finish the job",
			  u->vm, u->dst->h->name, u->src->h->name);
	else if (!running)
		g_ptr_array_add(problems, g_strdup_printf("'%s' is not running on %s: live migration moves a running VM (use mode cold)",
							  u->vm, u->src->h->name));
	else
		step_preflight_live(x, u, src, problems);
}

/* Room for what the run needs: memory on the target if it starts the VM,
 * and space in the state directory for the journal. */
static void
preflight_room(struct exec *x, struct unit *u, gboolean running, GPtrArray *problems)
{
	if (step_will_start(u, running) || (u->mode == MODE_LIVE && running)) {
		unsigned long long free_b = virNodeGetFreeMemory(u->dst->conn);
		guint64 need = domxml_memory_kib(u->sxml) * 1024;

		if (free_b == 0)
			step_note(u, "cannot read free memory on %s: %s", u->dst->h->name, virGetLastErrorMessage());
		else if (free_b < need)
			g_ptr_array_add(problems, g_strdup_printf("%s has %llu MiB of free memory; '%s' needs %" G_GUINT64_FORMAT " MiB to start",
								  u->dst->h->name, free_b >> 20, u->vm, need >> 20));
	}
	if (!x->o->dry_run) {
		/* before any downtime: a run must be able to journal its undo */
		struct statvfs sv;

		if (statvfs(x->state_dir, &sv) == 0 && (guint64)sv.f_bavail * sv.f_frsize < STATE_DIR_MIN_FREE)
			g_ptr_array_add(problems, g_strdup_printf(
				"the state directory %s has %" G_GUINT64_FORMAT " KiB free; vmshift needs %d MiB there to journal what it does (and how to undo it): free some space",
				x->state_dir, (guint64)sv.f_bavail * sv.f_frsize >> 10, STATE_DIR_MIN_FREE >> 20));
	}
}

/* A paused guest cannot answer the shutdown request the offline modes
 * send: only a forced power-off stops it. */
static void
preflight_paused(struct unit *u, virDomainPtr src, GPtrArray *problems)
{
	int state = 0;

	if (u->mode != MODE_LIVE && !u->m->set.shutdown.force && virDomainGetState(src, &state, NULL, 0) == 0 &&
	    state == VIR_DOMAIN_PAUSED)
		g_ptr_array_add(problems, g_strdup_printf("'%s' on %s is paused: it cannot answer the shutdown request; resume it (virsh resume), or set shutdown.force: true to power it off",
							  u->vm, u->src->h->name));
}

int
step_preflight(struct exec *x, struct unit *u, GError **err)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(JsonObject) facts = json_object_new();
	g_auto(virDomainPtr) src = NULL;
	g_auto(virDomainPtr) dst = NULL;
	g_autofree char *xml = NULL;
	gboolean missing = FALSE, running;
	const char *uuid;

	if (!(src = host_dom_lookup(u->src, u->vm, &missing, err)) && !missing)
		return -1;
	if (!src)
		return preflight_source_gone(x, u, facts, err);
	if (!(xml = virDomainGetXMLDesc(src, XML_FLAGS(x))))
		return step_lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->src->h->name);
	if (step_xml_set(x, u, xml, err) < 0)
		return -1;
	uuid = domxml_uuid(u->sxml);
	running = virt_dom_is_running(src);
	if (virDomainIsPersistent(src) != 1)
		g_ptr_array_add(problems, g_strdup_printf("'%s' on %s is transient (not defined); vmshift moves persistent domains",
							  u->vm, u->src->h->name));
	preflight_carried(u, src, problems, facts);
	preflight_paused(u, src, problems);
	if (preflight_target(x, u, uuid, running, problems, facts, err) < 0)
		return -1;
	if (u->mode == MODE_LIVE)
		preflight_live_source(x, u, src, uuid, running, facts, problems);
	json_object_set_string_member(facts, FACT_SOURCE_UUID, uuid);
	json_object_set_boolean_member(facts, FACT_SOURCE_RUNNING, running);
	step_note(u, "source: %s on %s, %s, uuid %s", u->vm, u->src->h->name, running ? "running" : "shut off", uuid);
	for (guint i = 0; u->changes && i < u->changes->len; i++) {
		struct dom_change *c = u->changes->pdata[i];

		step_note(u, "remap %s: %s -> %s", c->what, c->from, c->to);
	}
	preflight_files(x, u, problems, facts);
	preflight_network(u, problems);
	preflight_room(x, u, running, problems);
	verify_preflight(u, running, problems);
	if (problems->len) {
		if (u->report && !u->problems)	/* dry-run: each one for the reports (NULL-terminated) */
			u->problems = g_ptr_array_ref(problems);
		g_ptr_array_add(problems, NULL);
		g_autofree char *all = g_strjoinv("; ", (char **)problems->pdata);

		return step_fail(err, "%s", all);
	}
	return unit_record_facts(x, u, STEP_PREFLIGHT, facts, err);
}
