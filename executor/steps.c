/* steps.c: what each step of a migration does, and how it is undone.
 *
 * Every step is safe to run again: it first looks whether its effect is
 * already there (a resumed run re-runs the step that was under way when
 * the process died).  Every undo looks at the hosts before it acts and
 * removes only what the journal says vmshift made.  The source is touched
 * destructively (undefine, delete disks) only after verify-target.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <string.h>

#include "exec_priv.h"
#include "udiff.h"

/* SECURE: the definition with its secrets (VNC passwords...), since the
 * target must get them.  A read-only (dry-run) connection may ask for
 * neither that nor the migratable form; a dry-run should not print
 * secrets anyway. */
#define XML_FLAGS(x) (VIR_DOMAIN_XML_INACTIVE | \
		      ((x)->o->dry_run ? 0 : VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE))
#define PART_SUFFIX ".vmshift-part"
#define STATE_DIR_MIN_FREE (16 << 20)
#define ORIG_SUFFIX ".vmshift-orig"

static int G_GNUC_PRINTF(3, 0)
vfail(GError **err, gboolean with_libvirt, const char *fmt, va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	/* read here, in the thread that made the failed call: libvirt keeps
	 * its last error per thread */
	g_autofree char *lv = with_libvirt ? libvirt_error() : NULL;

	g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s%s%s", msg, lv ? ": " : "", lv ? lv : "");
	return -1;
}

int
fail(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, FALSE, fmt, ap);
	va_end(ap);
	return -1;
}

/* fail() with libvirt's own message of the call that just failed */
int
lv_fail(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, TRUE, fmt, ap);
	va_end(ap);
	return -1;
}

/* The domain named (or with uuid) @key, or NULL: *missing says whether
 * it does not exist (as opposed to a failed call, which sets @err). */
static virDomainPtr
dom_find(struct hostconn *hc, const char *key, gboolean by_uuid, gboolean *missing, GError **err)
{
	virDomainPtr d = by_uuid ? virDomainLookupByUUIDString(hc->conn, key) :
				   virDomainLookupByName(hc->conn, key);

	*missing = FALSE;
	if (d)
		return d;
	if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
		*missing = TRUE;
		return NULL;
	}
	lv_fail(err, "cannot look up domain %s%s%s on %s", by_uuid ? "" : "'", key, by_uuid ? "" : "'",
		hc->h->name);
	return NULL;
}

virDomainPtr
dom_lookup(struct hostconn *hc, const char *name, gboolean *missing, GError **err)
{
	return dom_find(hc, name, FALSE, missing, err);
}

virDomainPtr
dom_by_uuid(struct hostconn *hc, const char *uuid, gboolean *missing, GError **err)
{
	return dom_find(hc, uuid, TRUE, missing, err);
}

/* Only a state libvirt positively reports as shut off counts as off: a
 * failed query is "maybe running". */
gboolean
dom_is_running(virDomainPtr d)
{
	int state = VIR_DOMAIN_NOSTATE, reason;

	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return TRUE;
	return state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED;
}

void
dom_free(virDomainPtr d)
{
	if (d)
		virDomainFree(d);
}

/* Undefine @d with the flags it needs and no more: KEEP_NVRAM when it has
 * an NVRAM file (libvirt refuses to undefine it otherwise, and the file is
 * not ours to delete here), nothing for one without (drivers that have no
 * NVRAM, such as test:///, refuse the flag).  When its XML cannot be read
 * the flag is passed: keeping a file is the safe side.  -1 with libvirt's
 * error set on failure. */
int
dom_undefine(virDomainPtr d)
{
	g_autofree char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	g_autoptr(DomXml) dx = xml ? domxml_parse(xml, NULL) : NULL;
	gboolean nvram = dx == NULL;

	if (dx) {
		g_autoptr(GPtrArray) paths = domxml_paths(dx);

		for (guint i = 0; i < paths->len && !nvram; i++)
			nvram = ((struct dom_path *)paths->pdata[i])->kind == DOM_PATH_NVRAM;
	}
	return virDomainUndefineFlags(d, nvram ? VIR_DOMAIN_UNDEFINE_KEEP_NVRAM : 0);
}


/* Before the target may run: the source must be off, or both would use
 * the same disks (a resumed run may find it started again since). */
static int
source_still_off(struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (!(d = dom_by_uuid(u->src, fact_str(u, "source_uuid"), &missing, err)))
		return missing ? 0 : -1;
	if (dom_is_running(d))
		return fail(err, "'%s' is running on %s again; refusing to run it on %s as well (shut it down there, then resume)",
			    u->vm, u->src->h->name, u->dst->h->name);
	return 0;
}


char *
human_size(guint64 n)
{
	return g_format_size_full(n, G_FORMAT_SIZE_IEC_UNITS);
}

static JsonObject *
facts_new(void)
{
	return json_object_new();
}

/* ---- XML files in the unit's state directory ---- */

char *
unit_file(struct unit *u, const char *name)
{
	return g_build_filename(u->dir, name, NULL);
}

static int
write_file_synced(const char *path, const char *text, GError **err)
{
	return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, err) ? 0 : -1;
}

/* The remap rule sets of @u in the order they are tried. */
static guint
unit_remap_sets(struct exec *x, struct unit *u, const struct remap **sets)
{
	sets[0] = &u->m->set.remap;
	sets[1] = &x->plan->defaults.remap;
	sets[2] = &x->plan->remap;
	return 3;
}

/* u->sxml and u->txml from @xml: parse, then remap a second copy. */
int
unit_set_xml(struct exec *x, struct unit *u, const char *xml, GError **err)
{
	const struct remap *sets[3];
	guint n = unit_remap_sets(x, u, sets);

	g_clear_pointer(&u->sxml, domxml_free);
	g_clear_pointer(&u->txml, domxml_free);
	g_clear_pointer(&u->changes, g_ptr_array_unref);
	if (!(u->sxml = domxml_parse(xml, err)) || !(u->txml = domxml_parse(xml, err)))
		return -1;
	u->changes = g_ptr_array_new_with_free_func((GDestroyNotify)dom_change_free);
	return domxml_remap(u->txml, sets, n, u->changes, err);
}

/* After export-xml, the saved source XML is the reference: the source
 * domain itself may be gone (undefined) by now. */
int
unit_load_xml(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *path = unit_file(u, "source-migratable.xml");
	g_autofree char *xml = NULL;

	if (u->sxml && u->txml)
		return 0;
	/* live mode has no export-xml step: its first step after preflight
	 * exports (a resumed run gets here without preflight's copy) */
	if (!fact_bool(u, "exported", FALSE) && u->m->set.mode == MODE_LIVE)
		return export_xml(x, u, err);
	if (!g_file_get_contents(path, &xml, NULL, err))
		return -1;
	return unit_set_xml(x, u, xml, err);
}

/* Source and target of every file the domain references, paired: the
 * remapped document lists the same paths in the same order. */
struct files {
	GPtrArray *s;	/* struct dom_path *, in the source definition */
	GPtrArray *t;	/* the same, remapped for the target */
};
typedef struct files Files;

struct file_pair {
	struct dom_path *src;
	struct dom_path *dst;
};

static void
files_load(struct unit *u, struct files *f)
{
	f->s = domxml_paths(u->sxml);
	f->t = domxml_paths(u->txml);
	g_assert(f->s->len == f->t->len);
}

static void
files_release(struct files *f)
{
	g_clear_pointer(&f->s, g_ptr_array_unref);
	g_clear_pointer(&f->t, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Files, files_release)

/* ---- SSH helpers: lock the host's session around every use ---- */

struct ssh_lock {
	struct hostconn *a, *b;
};

/* Lock one or two hosts' sessions, always in plan order, so that two
 * copies in opposite directions cannot deadlock. */
static void
ssh_lock(struct ssh_lock *l, struct hostconn *a, struct hostconn *b)
{
	if (b && b != a && b->h->index < a->h->index) {
		struct hostconn *t = a;

		a = b;
		b = t;
	}
	l->a = a;
	l->b = b != a ? b : NULL;
	g_mutex_lock(&l->a->mu);
	if (l->b)
		g_mutex_lock(&l->b->mu);
}

static void
ssh_unlock(struct ssh_lock *l)
{
	if (l->b)
		g_mutex_unlock(&l->b->mu);
	g_mutex_unlock(&l->a->mu);
}

static gboolean
has_ssh(struct hostconn *hc)
{
	return hc->h->ssh.host != NULL;
}

/* The nearest existing ancestor directory of @path on @s. */
static char *
existing_ancestor(struct sshx *s, const char *path, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(path);

	for (;;) {
		gboolean exists = FALSE;
		guint32 mode = 0;
		char *up;

		if (sshx_stat(s, dir, &exists, NULL, &mode, err) < 0)
			return NULL;
		if (exists)
			return (mode & 0170000) == 0040000 ? g_steal_pointer(&dir) : (fail(err, "'%s' is not a directory", dir), NULL);
		up = g_path_get_dirname(dir);
		if (!strcmp(up, dir)) {
			g_free(up);
			fail(err, "no existing directory above '%s'", path);
			return NULL;
		}
		g_free(dir);
		dir = up;
	}
}

static gboolean
json_array_has_string(JsonArray *a, const char *s)
{
	for (guint i = 0; a && i < json_array_get_length(a); i++)
		if (!g_strcmp0(json_array_get_string_element(a, i), s))
			return TRUE;
	return FALSE;
}

/* lstat @path: a symlink there is refused (vmshift never writes through
 * one, whoever planted it). */
static int
refuse_link(struct sshx *s, const char *path, struct hostconn *hc, gboolean *exists, GError **err)
{
	guint32 mode = 0;

	*exists = FALSE;
	if (sshx_lstat(s, path, exists, NULL, &mode, err) < 0)
		return -1;
	if (*exists && (mode & 0170000) == 0120000)
		return fail(err, "'%s' on %s is a symbolic link; vmshift never writes through one: remove it, then run again",
			    path, hc->h->name);
	return 0;
}

static int
refuse_foreign_part(struct exec *x, struct unit *u, const char *part, GError **err)
{
	struct unit *o;

	if (json_array_has_string(fact_array(u, "parts"), part))
		return 0;
	if ((o = claims_other_part(x, u, part)))
		return fail(err, "'%s' on %s is the partial copy of %s, migrated in this run; finish or roll back that one first",
			    part, u->dst->h->name, o->id);
	return fail(err, "'%s' on %s is a partial copy this run did not start (stale, or somebody else's); vmshift neither resumes nor deletes it: look at it, remove it, then run again",
		    part, u->dst->h->name);
}

/* ---- preflight ---- */

static gboolean same_content(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, GError **err);

void
note(struct unit *u, const char *fmt, ...)
{
	va_list ap;

	if (!u->report)
		return;
	va_start(ap, fmt);
	g_string_append(u->report, "    ");
	g_string_append_vprintf(u->report, fmt, ap);
	g_string_append_c(u->report, '\n');
	va_end(ap);
}

gboolean
will_start(struct unit *u, gboolean source_running)
{
	return u->m->set.start == START_ALWAYS || (u->m->set.start == START_KEEP && source_running);
}

/* Check the disks and NVRAM the target will use; adds to @problems. */
static void
preflight_files(struct exec *x, struct unit *u, GPtrArray *problems, JsonObject *facts)
{
	g_auto(Files) f = { 0 };
	gboolean offline = u->m->set.mode == MODE_OFFLINE_SCP;
	struct sshx *ss = NULL, *ds = NULL;
	g_autoptr(GError) e = NULL;
	struct ssh_lock lk;
	guint64 total = 0;
	GHashTable *dirs_for_space = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	files_load(u, &f);
	{
		JsonArray *tf = json_array_new(), *sf = json_array_new();

		for (guint i = 0; i < f.t->len; i++)
			if (((struct dom_path *)f.t->pdata[i])->copy) {
				json_array_add_string_element(tf, ((struct dom_path *)f.t->pdata[i])->path);
				json_array_add_string_element(sf, ((struct dom_path *)f.s->pdata[i])->path);
			}
		json_object_set_array_member(facts, FACT_TARGET_FILES, tf);
		json_object_set_array_member(facts, FACT_SOURCE_FILES, sf);
	}
	ssh_lock(&lk, u->src, u->dst);
	if (has_ssh(u->dst) && !(ds = host_ssh(x, u->dst, &e))) {
		g_ptr_array_add(problems, g_strdup(e->message));
		g_clear_error(&e);
	}
	if (has_ssh(u->src) && !(ss = host_ssh(x, u->src, &e))) {
		g_ptr_array_add(problems, g_strdup(e->message));
		g_clear_error(&e);
	}
	for (guint i = 0; i < f.s->len; i++) {
		struct file_pair fpv = { f.s->pdata[i], f.t->pdata[i] }, *fp = &fpv;
		const char *sp = fp->src->path, *tp = fp->dst->path;
		gboolean exists = FALSE;
		guint64 size = 0, tsize = 0;

		if (fp->src->log) {
			note(u, "%s: %s -> %s (created empty on %s if missing)", fp->src->what, sp, tp,
			     u->dst->h->name);
			if (ds)
				storage_check_write(u, ds, fp->src->what, tp, TRUE, problems);
			continue;
		}
		if (!fp->src->copy) {
			/* kernel, initrd: the target's own file at that path */
			if (!ds) {
				note(u, "%s: %s (not copied; cannot check it exists on %s: no SSH access)", fp->src->what, tp,
				     u->dst->h->name);
			} else if (sshx_stat(ds, tp, &exists, NULL, NULL, &e) < 0) {
				g_ptr_array_add(problems, g_strdup(e->message));
				g_clear_error(&e);
			} else if (!exists) {
				g_ptr_array_add(problems, g_strdup_printf("%s: '%s' does not exist on %s (vmshift does not copy it): put it there, or remap the path",
									  fp->src->what, tp, u->dst->h->name));
			} else {
				note(u, "%s: %s -> %s (not copied: on %s already)", fp->src->what, sp, tp, u->dst->h->name);
			}
			continue;
		}
		if (u->m->set.mode == MODE_LIVE && u->m->set.live.copy_storage != COPY_STORAGE_NONE) {
			/* libvirt writes there: nothing of anybody's may be there */
			note(u, "%s: %s -> %s (copied by the live migration itself, copy_storage)", fp->src->what, sp, tp);
			if (!ds)
				continue;	/* reported: no SSH access */
			storage_check_write(u, ds, fp->src->what, tp, FALSE, problems);
			if (refuse_link(ds, tp, u->dst, &exists, &e) < 0) {
				g_ptr_array_add(problems, g_strdup_printf("%s: %s", fp->src->what, e->message));
				g_clear_error(&e);
			} else if (exists) {
				g_ptr_array_add(problems, g_strdup_printf(
					"%s: '%s' already exists on %s, and copy_storage would write over it: remove it there if it is stale, or remap the path",
					fp->src->what, tp, u->dst->h->name));
			}
			continue;
		}
		if (!offline) {
			/* cold and live: shared storage, the remapped path must be there */
			if (!ds) {
				note(u, "%s: %s (cannot check it exists on %s: no SSH access)", fp->src->what, tp,
				     u->dst->h->name);
				continue;
			}
			if (sshx_stat(ds, tp, &exists, &size, NULL, &e) < 0) {
				g_ptr_array_add(problems, g_strdup(e->message));
				g_clear_error(&e);
			} else if (!exists) {
				g_ptr_array_add(problems, g_strdup_printf(
					"%s: '%s' does not exist on %s; mode %s needs the disks on storage both hosts see (use offline-with-scp-disk or live.copy_storage to copy them, or a paths remap)",
					fp->src->what, tp, u->dst->h->name, mode_name(u->m->set.mode)));
			} else {
				g_autofree char *hs = human_size(size);

				note(u, "%s: %s -> %s (%s, on %s already)", fp->src->what, sp, tp, hs,
				     u->dst->h->name);
			}
			continue;
		}
		/* offline-with-scp-disk: the source file is copied */
		if (!ss || !ds)
			continue;	/* reported above */
		if (sshx_stat(ss, sp, &exists, &size, NULL, &e) < 0 || !exists) {
			g_ptr_array_add(problems, e ? g_strdup(e->message) :
					g_strdup_printf("%s: '%s' does not exist on %s", fp->src->what, sp,
							u->src->h->name));
			g_clear_error(&e);
			continue;
		}
		if (sshx_stat(ds, tp, &exists, &tsize, NULL, &e) < 0) {
			g_ptr_array_add(problems, g_strdup(e->message));
			g_clear_error(&e);
			continue;
		}
		{
			g_autofree char *part = g_strconcat(tp, PART_SUFFIX, NULL);
			gboolean le = FALSE, pe = FALSE;

			if (refuse_link(ds, tp, u->dst, &le, &e) < 0 || refuse_link(ds, part, u->dst, &pe, &e) < 0 ||
			    (pe && refuse_foreign_part(x, u, part, &e) < 0)) {
				g_ptr_array_add(problems, g_strdup_printf("%s: %s", fp->src->what, e->message));
				g_clear_error(&e);
				continue;
			}
		}
		{
			g_autofree char *hs = human_size(size);

			gboolean same = FALSE;

			if (exists && tsize == size) {
				same = same_content(ss, sp, ds, tp, &e);
				if (e) {
					g_ptr_array_add(problems, g_strdup(e->message));
					g_clear_error(&e);
					continue;
				}
			}
			if (same) {
				/* maybe the same file through shared storage, maybe an
				 * earlier copy: either way it needs no copy */
				note(u, "%s: %s (%s) is on %s already, identical: not copied", fp->src->what, tp, hs,
				     u->dst->h->name);
				continue;
			} else if (exists && !u->m->set.disks.overwrite) {
				g_ptr_array_add(problems, g_strdup_printf(
					"%s: '%s' already exists on %s and differs (%" G_GUINT64_FORMAT " bytes, source %" G_GUINT64_FORMAT "); set disks.overwrite: true to replace it (the old file is kept as %s%s)",
					fp->src->what, tp, u->dst->h->name, tsize, size, tp, ORIG_SUFFIX));
				continue;
			} else if (exists) {
				note(u, "%s: %s -> %s (%s; the different file on %s is replaced, kept as %s%s)",
				     fp->src->what, sp, tp, hs, u->dst->h->name, tp, ORIG_SUFFIX);
			} else {
				note(u, "%s: %s -> %s (%s, copied over SFTP, verify %s)", fp->src->what, sp, tp, hs,
				     u->m->set.disks.verify == VERIFY_SHA256 ? "sha256" :
				     u->m->set.disks.verify == VERIFY_SIZE ? "size" : "none");
			}
		}
		/* a file already identical there is not written (copy-disks looks
		 * again before it writes) */
		storage_check_write(u, ds, fp->src->what, tp, FALSE, problems);
		{
			g_autofree char *anc = existing_ancestor(ds, tp, &e);
			guint64 before;

			if (!anc) {
				g_ptr_array_add(problems, g_strdup_printf("%s: cannot create the directory of '%s' on %s: %s",
									  fp->src->what, tp, u->dst->h->name, e->message));
				g_clear_error(&e);
				continue;
			}
			before = GPOINTER_TO_SIZE(g_hash_table_lookup(dirs_for_space, anc));
			g_hash_table_insert(dirs_for_space, g_steal_pointer(&anc), GSIZE_TO_POINTER(before + size));
		}
		total += size;
	}
	if (offline && ds) {
		GHashTableIter it;
		gpointer k, v;

		g_hash_table_iter_init(&it, dirs_for_space);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			guint64 avail = 0, need = GPOINTER_TO_SIZE(v);

			if (sshx_statvfs_avail(ds, k, &avail, &e) < 0) {
				g_ptr_array_add(problems, g_strdup(e->message));
				g_clear_error(&e);
			} else if (avail < need) {
				g_autofree char *ha = human_size(avail), *hn = human_size(need);

				g_ptr_array_add(problems, g_strdup_printf("not enough space on %s under %s: %s free, the disks need %s",
									  u->dst->h->name, (char *)k, ha, hn));
			}
		}
		json_object_set_int_member(facts, "copy_bytes", (gint64)total);
	}
	storage_preflight(x, u, ss, ds, problems);
	g_hash_table_unref(dirs_for_space);
	ssh_unlock(&lk);
}

static void
preflight_network(struct exec *x, struct unit *u, GPtrArray *problems)
{
	g_autoptr(GPtrArray) nets = domxml_networks(u->txml);
	g_autoptr(GPtrArray) bridges = domxml_bridges(u->txml);
	g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) e = NULL;

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
	if (bridges->len) {
		struct ssh_lock lk;
		struct sshx *ds;

		ssh_lock(&lk, u->dst, NULL);
		ds = has_ssh(u->dst) ? host_ssh(x, u->dst, &e) : NULL;
		for (guint i = 0; i < bridges->len; i++) {
			g_autofree char *p = g_strdup_printf("/sys/class/net/%s/bridge", (char *)bridges->pdata[i]);
			gboolean exists = FALSE;

			if (!ds) {
				note(u, "bridge %s: cannot check it exists on %s (no SSH access)",
				     (char *)bridges->pdata[i], u->dst->h->name);
				continue;
			}
			if (sshx_stat(ds, p, &exists, NULL, NULL, &e) < 0) {
				g_ptr_array_add(problems, g_strdup(e->message));
				g_clear_error(&e);
			} else if (!exists) {
				g_ptr_array_add(missing, g_strdup_printf("bridge '%s'", (char *)bridges->pdata[i]));
			}
		}
		ssh_unlock(&lk);
	}
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
	const char *uuid = fact_str(u, "source_uuid");

	if (*uuid && fact_bool(u, FACT_TARGET_DEFINED, FALSE)) {
		if (!(dst = dom_by_uuid(u->dst, uuid, &missing, err)) && !missing)
			return -1;
		if (dst) {
			note(u, "already migrated: this run put '%s' (uuid %s) on %s, and %s has it no more", u->vm,
			     uuid, u->dst->h->name, u->src->h->name);
			json_object_set_boolean_member(facts, "already_done", TRUE);
			return unit_record_facts(x, u, STEP_PREFLIGHT, facts, err);
		}
	}
	if (!(dst = dom_lookup(u->dst, u->vm, &missing, err)) && !missing)
		return -1;
	if (dst) {
		char tuuid[VIR_UUID_STRING_BUFLEN] = "";

		virDomainGetUUIDString(dst, tuuid);
		return fail(err, "domain '%s' is not on %s; %s has a domain of that name (uuid %s), but this run did not put it there, so vmshift does not take it for the VM (if it was migrated by hand, drop it from the plan)",
			    u->vm, u->src->h->name, u->dst->h->name, tuuid);
	}
	return fail(err, "domain '%s' is on neither %s nor %s", u->vm, u->src->h->name, u->dst->h->name);
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
		json_object_set_boolean_member(facts, "autostart", autostart != 0);
		if (autostart)
			note(u, "autostart: on; set on %s too once it is defined there", u->dst->h->name);
	}
}

/* Autostart as the source had it (journaled by preflight). */
int
carry_autostart(struct exec *x, struct unit *u, virDomainPtr t, GError **err)
{
	int now = 0;

	/* a domain taken as it was stays as it was */
	if (!fact_bool(u, "autostart", FALSE) || fact_bool(u, "target_had_domain", FALSE) ||
	    (virDomainGetAutostart(t, &now) == 0 && now))
		return 0;
	exec_log(x, "%s: autostart on, as on %s", u->id, u->src->h->name);
	if (virDomainSetAutostart(t, 1) < 0)
		return lv_fail(err, "cannot set autostart of '%s' on %s", u->vm, u->dst->h->name);
	return 0;
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

	if (!(named = dom_lookup(u->dst, u->vm, &missing, err)) && !missing)
		return -1;
	if (named) {
		char tuuid[VIR_UUID_STRING_BUFLEN] = "";

		virDomainGetUUIDString(named, tuuid);
		if (strcmp(tuuid, uuid))
			g_ptr_array_add(problems, g_strdup_printf("%s already has a different domain named '%s' (uuid %s)",
								  u->dst->h->name, u->vm, tuuid));
	}
	if (!(same = dom_by_uuid(u->dst, uuid, &missing, err)) && !missing)
		return -1;
	json_object_set_boolean_member(facts, "target_had_domain", same && !fact_bool(u, FACT_TARGET_DEFINED, FALSE));
	if (!same)
		return 0;
	if (fact_bool(u, FACT_TARGET_DEFINED, FALSE)) {
		note(u, "target: %s has this domain (uuid %s) from this run's earlier attempt", u->dst->h->name, uuid);
		return 0;
	}
	if (running) {
		g_ptr_array_add(problems, g_strdup_printf(
			"%s already has a domain with uuid %s ('%s') that this run did not define, while '%s' runs on %s: one of them is a stale copy; remove the one on %s (virsh undefine) if it is, then run again",
			u->dst->h->name, uuid, virDomainGetName(same), u->vm, u->src->h->name, u->dst->h->name));
		return 0;
	}
	if (u->m->set.mode == MODE_OFFLINE_SCP && dom_is_running(same)) {
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
	note(u, "target: %s already has this domain (uuid %s), defined exactly as vmshift would define it: taken as it is, and never removed by undo",
	     u->dst->h->name, uuid);
	return 0;
}

int
step_preflight(struct exec *x, struct unit *u, GError **err)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(JsonObject) facts = facts_new();
	g_auto(virDomainPtr) src = NULL;
	g_auto(virDomainPtr) dst = NULL;
	g_autofree char *xml = NULL;
	gboolean missing = FALSE, running;
	const char *uuid;

	if (!(src = dom_lookup(u->src, u->vm, &missing, err)) && !missing)
		return -1;
	if (!src)
		return preflight_source_gone(x, u, facts, err);
	if (!(xml = virDomainGetXMLDesc(src, XML_FLAGS(x))))
		return lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->src->h->name);
	if (unit_set_xml(x, u, xml, err) < 0)
		return -1;
	uuid = domxml_uuid(u->sxml);
	running = dom_is_running(src);
	if (virDomainIsPersistent(src) != 1)
		g_ptr_array_add(problems, g_strdup_printf("'%s' on %s is transient (not defined); vmshift moves persistent domains",
							  u->vm, u->src->h->name));
	preflight_carried(u, src, problems, facts);
	if (preflight_target(x, u, uuid, running, problems, facts, err) < 0)
		return -1;
	if (u->m->set.mode == MODE_LIVE) {
		g_auto(virDomainPtr) there = NULL;
		gboolean gone = FALSE;

		/* running on the target, only defined on the source: migrated,
		 * the source's definition not yet removed (undefine_source
		 * false, or an earlier run stopped there); preflight_target()
		 * made sure the target's domain is this VM's */
		if (!running && json_object_get_boolean_member_with_default(facts, "target_had_domain", FALSE) &&
		    (there = dom_by_uuid(u->dst, uuid, &gone, NULL)) && dom_is_running(there))
			note(u, "already migrated: '%s' runs on %s and is only defined on %s; the remaining steps finish the job",
			     u->vm, u->dst->h->name, u->src->h->name);
		else if (!running)
			g_ptr_array_add(problems, g_strdup_printf("'%s' is not running on %s: live migration moves a running VM (use mode cold)",
								  u->vm, u->src->h->name));
		else
			preflight_live(x, u, src, problems);
	}
	json_object_set_string_member(facts, "source_uuid", uuid);
	json_object_set_boolean_member(facts, "source_running", running);
	note(u, "source: %s on %s, %s, uuid %s", u->vm, u->src->h->name, running ? "running" : "shut off", uuid);


	for (guint i = 0; u->changes && i < u->changes->len; i++) {
		struct dom_change *c = u->changes->pdata[i];

		note(u, "remap %s: %s -> %s", c->what, c->from, c->to);
	}
	preflight_files(x, u, problems, facts);
	preflight_network(x, u, problems);
	if (will_start(u, running) || (u->m->set.mode == MODE_LIVE && running)) {
		unsigned long long free_b = virNodeGetFreeMemory(u->dst->conn);
		guint64 need = domxml_memory_kib(u->sxml) * 1024;

		if (free_b == 0)
			note(u, "cannot read free memory on %s: %s", u->dst->h->name, virGetLastErrorMessage());
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
	if (problems->len) {
		g_ptr_array_add(problems, NULL);
		g_autofree char *all = g_strjoinv("; ", (char **)problems->pdata);

		return fail(err, "%s", all);
	}
	return unit_record_facts(x, u, STEP_PREFLIGHT, facts, err);
}

/* ---- shutdown-source ---- */

static int
shutdown_source(struct exec *x, struct unit *u, GError **err)
{
	const struct shutdown_opts *so = &u->m->set.shutdown;
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;
	gint64 deadline;

	if (!fact_bool(u, "source_running", FALSE))
		return 0;
	if (!(d = dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? fail(err, "domain '%s' vanished from %s", u->vm, u->src->h->name) : -1;
	if (!dom_is_running(d))
		return 0;
	exec_log(x, "%s: shutting down on %s (up to %" G_GINT64_FORMAT " s)", u->id, u->src->h->name, so->timeout_s);
	if (virDomainShutdown(d) < 0)
		return lv_fail(err, "cannot shut down '%s' on %s", u->vm, u->src->h->name);
	deadline = g_get_monotonic_time() + so->timeout_s * G_USEC_PER_SEC;
	for (gint64 next = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	     dom_is_running(d) && g_get_monotonic_time() < deadline; g_usleep(200 * 1000)) {
		if (x->o->interrupted && *x->o->interrupted)
			return fail(err, "interrupted while '%s' shuts down on %s", u->vm, u->src->h->name);
		/* a guest still booting may miss the ACPI event: ask again,
		 * as an operator would */
		if (g_get_monotonic_time() >= next) {
			next += 5 * G_USEC_PER_SEC;
			virDomainShutdown(d);
		}
	}
	if (!dom_is_running(d))
		return 0;
	if (!so->force)
		return fail(err, "'%s' did not shut down within %" G_GINT64_FORMAT " s; set shutdown.force: true to power it off after the timeout",
			    u->vm, so->timeout_s);
	exec_log(x, "%s: still running after %" G_GINT64_FORMAT " s, powering off", u->id, so->timeout_s);
	if (virDomainDestroy(d) < 0)
		return lv_fail(err, "cannot power off '%s' on %s", u->vm, u->src->h->name);
	return 0;
}

static int
shutdown_source_undo(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (!fact_bool(u, "source_running", FALSE))
		return 0;
	if (!(d = dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? fail(err, "domain '%s' is gone from %s; cannot start it again", u->vm, u->src->h->name) : -1;
	if (dom_is_running(d))
		return 0;
	exec_log(x, "%s: starting it again on %s", u->id, u->src->h->name);
	return virDomainCreate(d) < 0 ? lv_fail(err, "cannot start '%s' again on %s", u->vm, u->src->h->name) : 0;
}

/* Journal a TRUE fact @key before the act it announces. */
int
record_flag(struct exec *x, struct unit *u, enum step s, const char *key, GError **err)
{
	g_autoptr(JsonObject) f = facts_new();

	if (fact_bool(u, key, FALSE))
		return 0;
	json_object_set_boolean_member(f, key, TRUE);
	return unit_record_facts(x, u, s, f, err);
}

/* ---- export-xml ---- */

/* Three files: source.xml is the definition exactly as the source host
 * had it (undo defines it again from this one, so the host ends up with
 * the very same XML); source-migratable.xml is libvirt's portable form of
 * it, and target.xml that form with the remaps applied. */
int
export_xml(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *spath = unit_file(u, "source.xml");
	g_autofree char *mpath = unit_file(u, "source-migratable.xml");
	g_autofree char *tpath = unit_file(u, "target.xml");
	g_autofree char *exact = NULL, *xml = NULL, *txml = NULL;
	g_auto(virDomainPtr) d = NULL;
	g_autoptr(JsonObject) facts = facts_new();
	g_autoptr(JsonArray) changes = json_array_new();
	gboolean missing = FALSE;

	/* files from an earlier, rolled-back attempt are stale: only those
	 * this attempt journaled count */
	if (fact_bool(u, "exported", FALSE))
		return unit_load_xml(x, u, err);
	if (!(d = dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? fail(err, "domain '%s' vanished from %s", u->vm, u->src->h->name) : -1;
	if (!(exact = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE)) ||
	    !(xml = virDomainGetXMLDesc(d, XML_FLAGS(x))))
		return lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->src->h->name);
	if (unit_set_xml(x, u, xml, err) < 0)
		return -1;
	if (strcmp(domxml_uuid(u->sxml), fact_str(u, "source_uuid")))
		return fail(err, "'%s' on %s changed identity since preflight (uuid %s, was %s)", u->vm,
			    u->src->h->name, domxml_uuid(u->sxml), fact_str(u, "source_uuid"));
	txml = domxml_format(u->txml);
	/* the target file last: its presence says all three are complete */
	if (write_file_synced(spath, exact, err) < 0 || write_file_synced(mpath, xml, err) < 0 ||
	    write_file_synced(tpath, txml, err) < 0)
		return -1;
	for (guint i = 0; i < u->changes->len; i++) {
		struct dom_change *c = u->changes->pdata[i];
		JsonObject *o = json_object_new();

		json_object_set_string_member(o, "what", c->what);
		json_object_set_string_member(o, "from", c->from);
		json_object_set_string_member(o, "to", c->to);
		json_array_add_object_element(changes, o);
	}
	json_object_set_array_member(facts, "remapped", json_array_ref(changes));
	json_object_set_boolean_member(facts, "exported", TRUE);
	return unit_record_facts(x, u, STEP_EXPORT_XML, facts, err);
}

/* ---- copy-disks ---- */

struct progress {
	struct exec *x;
	struct unit *u;
	const char *path;
	gint64 last, t0;
	gboolean kill_half;
};

/* FALSE on a signal (Ctrl-C): the copy stops after this chunk, its part
 * file kept for resume. */
static gboolean
copy_progress(guint64 done, guint64 total, gpointer ud)
{
	struct progress *p = ud;
	gint64 now = g_get_monotonic_time();

	if (p->kill_half && done * 2 >= total && done < total) {
		exec_log(p->x, "VMSHIFT_FAULT: killing vmshift in the middle of copying %s", p->path);
		raise(SIGKILL);
	}
	if (p->x->o->interrupted && *p->x->o->interrupted)
		return FALSE;
	if (now - p->last < (p->x->o->progress ? G_USEC_PER_SEC / 4 : 2 * G_USEC_PER_SEC) && done < total)
		return TRUE;
	if (p->last == 0)
		p->t0 = now;
	p->last = now;
	exec_progress(p->x, p->u, "copy-disks %3" G_GUINT64_FORMAT "%% %s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " MiB, %.1f MiB/s",
		      total ? done * 100 / total : 100, p->path, done >> 20, total >> 20,
		      now > p->t0 ? (double)(done >> 10) / 1024.0 / ((now - p->t0) / 1e6) : 0.0);
	return TRUE;
}

/* Journal one more string in the fact array @key (copied files, made
 * directories...) before going on: undo needs it even after a crash. */
static int
record_append(struct exec *x, struct unit *u, enum step s, const char *key, const char *value, GError **err)
{
	g_autoptr(JsonObject) delta = facts_new();
	JsonArray *old = fact_array(u, key);
	JsonArray *a = json_array_new();

	for (guint i = 0; old && i < json_array_get_length(old); i++)
		json_array_add_string_element(a, json_array_get_string_element(old, i));
	json_array_add_string_element(a, value);
	json_object_set_array_member(delta, key, a);
	return unit_record_facts(x, u, s, delta, err);
}

/* Compare @sp on the source with @tp on the target as far as @level
 * goes: sizes (VERIFY_SIZE), then sha256 (VERIFY_SHA256).  *differs gets
 * how they differ, or NULL.  -1 (@err) if a call failed: not knowing is
 * not "the same", nor "different". */
static int
compare_files(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, enum verify level,
	      char **differs, GError **err)
{
	guint64 ssize = 0, tsize = 0;
	gboolean e1 = FALSE, e2 = FALSE;
	char h1[65], h2[65];

	*differs = NULL;
	if (level == VERIFY_NONE)
		return 0;
	if (sshx_stat(ss, sp, &e1, &ssize, NULL, err) < 0 || sshx_stat(ds, tp, &e2, &tsize, NULL, err) < 0)
		return -1;
	if (!e1 || !e2 || ssize != tsize) {
		*differs = g_strdup_printf("%" G_GUINT64_FORMAT " bytes on the target, %" G_GUINT64_FORMAT " on the source",
					   e2 ? tsize : 0, e1 ? ssize : 0);
		return 0;
	}
	if (level == VERIFY_SIZE)
		return 0;
	if (sshx_sha256(ss, sp, h1, err) < 0 || sshx_sha256(ds, tp, h2, err) < 0)
		return -1;
	if (strcmp(h1, h2))
		*differs = g_strdup_printf("sha256 %s on the target, %s on the source", h2, h1);
	return 0;
}

/* The copy as disks.verify asks; a resumed one always by sha256: its
 * first part was written by another process, maybe a crashed one. */
static int
verify_copy(struct unit *u, struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, gboolean resumed,
	    GError **err)
{
	g_autofree char *differs = NULL;

	if (compare_files(ss, sp, ds, tp, resumed ? VERIFY_SHA256 : u->m->set.disks.verify, &differs, err) < 0)
		return -1;
	return differs ? fail(err, "the copy of '%s' differs from the source: %s", sp, differs) : 0;
}

/* Is @tp on the target already the same bytes as @sp on the source?
 * Always by sha256, whatever disks.verify says: equal sizes prove
 * nothing (raw images of one size abound), and a wrong "yes" would give
 * the VM another machine's disk. */
static gboolean
same_content(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, GError **err)
{
	g_autofree char *differs = NULL;

	return compare_files(ss, sp, ds, tp, VERIFY_SHA256, &differs, err) == 0 && !differs;
}

static int
copy_one(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, struct file_pair *fp, GError **err)
{
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autofree char *part = g_strconcat(tp, PART_SUFFIX, NULL);
	g_autofree char *orig = g_strconcat(tp, ORIG_SUFFIX, NULL);
	g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *dir = g_path_get_dirname(tp);
	struct progress p = { x, u, sp, 0, 0, fault_due(x, u, STEP_COPY_DISKS, "kill") };
	gboolean exists = FALSE;
	guint64 have = 0;

	if (json_array_has_string(fact_array(u, FACT_COPIED), tp)) {
		/* journaled as copied: a crash may have come before the rename */
		gboolean part_left = FALSE;

		if (sshx_stat(ds, tp, &exists, NULL, NULL, err) < 0 ||
		    sshx_stat(ds, part, &part_left, NULL, NULL, err) < 0)
			return -1;
		if (!exists && part_left)
			return sshx_rename(ds, part, tp, err);
		return 0;
	}
	if (refuse_link(ds, tp, u->dst, &exists, err) < 0)
		return -1;
	if (exists) {
		gboolean same = same_content(ss, sp, ds, tp, err);

		if (err && *err)
			return -1;
		if (same) {
			struct unit *o = claims_copied_by_other(x, u, tp);

			exec_log(x, "%s: %s is already on %s, identical: not copied%s%s", u->id, tp, u->dst->h->name,
				 o ? "; it came with " : "", o ? o->id : "");
			/* a file another migration of this run brought: this one
			 * owns it too, so the last rollback removes it */
			return o ? record_append(x, u, STEP_COPY_DISKS, FACT_COPIED, tp, err) : 0;
		}
	}
	{
		/* from here on it writes; preflight skipped this check for a
		 * file that was identical then */
		g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);

		storage_check_write(u, ds, fp->src->what, tp, FALSE, problems);
		if (problems->len)
			return fail(err, "%s", (char *)problems->pdata[0]);
	}
	if (exists) {
		if (!u->m->set.disks.overwrite)
			return fail(err, "'%s' exists on %s and differs from the source; set disks.overwrite: true to replace it",
				    tp, u->dst->h->name);
		{
			struct unit *o = claims_other_user(x, u, tp);

			if (o)
				return fail(err, "'%s' on %s is a disk of %s, migrated in this run; not replacing it", tp,
					    u->dst->h->name, o->id);
		}
		if (record_append(x, u, STEP_COPY_DISKS, "backups", tp, err) < 0 ||
		    sshx_rename(ds, tp, orig, err) < 0)
			return -1;
	}
	if (sshx_mkdir_p(ds, dir, 0755, made, err) < 0)
		return -1;
	for (guint i = 0; i < made->len; i++)
		if (record_append(x, u, STEP_COPY_DISKS, "dirs", made->pdata[i], err) < 0)
			return -1;
	/* a partial copy is resumed only if this copy journaled it before
	 * making it: any other is stale or somebody else's */
	if (refuse_link(ds, part, u->dst, &exists, err) < 0 || (exists && refuse_foreign_part(x, u, part, err) < 0))
		return -1;
	if (!exists && record_append(x, u, STEP_COPY_DISKS, "parts", part, err) < 0)
		return -1;
	if (exists && sshx_lstat(ds, part, &exists, &have, NULL, err) < 0)
		return -1;
	if (exists && have)
		exec_log(x, "%s: resuming the copy of %s at %" G_GUINT64_FORMAT " MiB (verified by sha256 at the end)",
			 u->id, sp, have >> 20);
	exec_log(x, "%s: copying %s:%s to %s:%s", u->id, u->src->h->name, sp, u->dst->h->name, tp);
	if (sshx_copy(ss, sp, ds, part, exists ? have : 0, copy_progress, &p, err) < 0)
		return -1;
	if (verify_copy(u, ss, sp, ds, part, exists && have > 0, err) < 0) {
		g_autoptr(GError) e = NULL;

		sshx_unlink(ds, part, &e);	/* a bad copy is worth nothing */
		return -1;
	}
	if (record_append(x, u, STEP_COPY_DISKS, FACT_COPIED, tp, err) < 0 || sshx_rename(ds, part, tp, err) < 0)
		return -1;
	return 0;
}

static int
copy_disks(struct exec *x, struct unit *u, GError **err)
{
	g_auto(Files) f = { 0 };
	struct ssh_lock lk;
	struct sshx *ss, *ds;
	int rc = 0;

	if (unit_load_xml(x, u, err) < 0)
		return -1;
	files_load(u, &f);
	ssh_lock(&lk, u->src, u->dst);
	if (!(ss = host_ssh(x, u->src, err)) || !(ds = host_ssh(x, u->dst, err))) {
		ssh_unlock(&lk);
		return -1;
	}
	for (guint i = 0; i < f.s->len && rc == 0; i++) {
		struct file_pair fpv = { f.s->pdata[i], f.t->pdata[i] }, *fp = &fpv;

		if (fp->src->copy)
			rc = copy_one(x, u, ss, ds, fp, err);
	}
	ssh_unlock(&lk);
	return rc;
}

/* Remove what a fact array lists, newest first; @dirs: rmdir, else unlink. */
static int
remove_listed(struct sshx *s, JsonArray *a, gboolean dirs, GError **err)
{
	for (guint i = a ? json_array_get_length(a) : 0; i-- > 0;) {
		const char *p = json_array_get_string_element(a, i);
		g_autoptr(GError) e = NULL;

		if (dirs) {
			/* a directory something else now uses stays */
			if (sshx_rmdir(s, p, &e) < 0 && !g_error_matches(e, SSHX_ERROR, SSHX_ERROR_NOT_FOUND))
				continue;
		} else if (sshx_unlink(s, p, err) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
copy_disks_undo(struct exec *x, struct unit *u, GError **err)
{
	JsonArray *backups = fact_array(u, "backups");
	struct ssh_lock lk;
	struct sshx *ds;
	int rc = -1;

	ssh_lock(&lk, u->dst, NULL);
	if (!(ds = host_ssh(x, u->dst, err)))
		goto out;
	if (remove_listed(ds, fact_array(u, "parts"), FALSE, err) < 0)
		goto out;
	for (guint i = 0, n = fact_array(u, FACT_COPIED) ? json_array_get_length(fact_array(u, FACT_COPIED)) : 0; i < n; i++) {
		const char *tp = json_array_get_string_element(fact_array(u, FACT_COPIED), i);
		g_autofree char *orig = g_strconcat(tp, ORIG_SUFFIX, NULL);
		gboolean has_orig = FALSE;

		/* a path that replaced a file is ours only while the original
		 * still waits in .vmshift-orig: once restored, it is theirs */
		struct unit *other;

		if (json_array_has_string(backups, tp) &&
		    (sshx_stat(ds, orig, &has_orig, NULL, NULL, err) < 0 || !has_orig)) {
			if (err && *err)
				goto out;
			continue;
		}
		/* one file (an ISO) that another migration of the run uses too */
		if ((other = claims_other_user(x, u, tp))) {
			exec_log(x, "%s: %s on %s is kept: %s uses it too", u->id, tp, u->dst->h->name, other->id);
			continue;
		}
		if (sshx_unlink(ds, tp, err) < 0)
			goto out;
	}
	for (guint i = 0; backups && i < json_array_get_length(backups); i++) {
		const char *tp = json_array_get_string_element(backups, i);
		g_autofree char *orig = g_strconcat(tp, ORIG_SUFFIX, NULL);
		gboolean exists = FALSE;

		if (sshx_stat(ds, orig, &exists, NULL, NULL, err) < 0)
			goto out;
		if (exists && sshx_rename(ds, orig, tp, err) < 0)
			goto out;
	}
	rc = remove_listed(ds, fact_array(u, "dirs"), TRUE, err);
out:
	ssh_unlock(&lk);
	return rc;
}

/* ---- prepare-target ---- */

static int
prepare_target(struct exec *x, struct unit *u, GError **err)
{
	g_auto(Files) f = { 0 };
	struct ssh_lock lk;
	struct sshx *ds;
	int rc = 0;

	if (unit_load_xml(x, u, err) < 0)
		return -1;
	files_load(u, &f);
	if (!has_ssh(u->dst)) {
		exec_log(x, "%s: no SSH access to %s: not creating log files; they must exist there", u->id,
			 u->dst->h->name);
		return 0;
	}
	ssh_lock(&lk, u->dst, NULL);
	if (!(ds = host_ssh(x, u->dst, err))) {
		ssh_unlock(&lk);
		return -1;
	}
	for (guint i = 0; i < f.s->len && rc == 0; i++) {
		struct file_pair fpv = { f.s->pdata[i], f.t->pdata[i] }, *fp = &fpv;
		g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *dir = NULL;
		gboolean created = FALSE;

		if (!fp->dst->log)
			continue;
		dir = g_path_get_dirname(fp->dst->path);
		if (sshx_mkdir_p(ds, dir, 0755, made, err) < 0) {
			rc = -1;
			break;
		}
		for (guint k = 0; k < made->len && rc == 0; k++)
			rc = record_append(x, u, STEP_PREPARE_TARGET, "prep_dirs", made->pdata[k], err);
		if (rc < 0)
			break;
		{
			gboolean exists = FALSE;

			if ((rc = sshx_stat(ds, fp->dst->path, &exists, NULL, NULL, err)) < 0 || exists)
				continue;	/* there already: not vmshift's */
		}
		/* the name first: a crash right after creating the file must
		 * still let undo remove it */
		if ((rc = record_append(x, u, STEP_PREPARE_TARGET, "prep_maybe", fp->dst->path, err)) < 0 ||
		    (rc = sshx_create_empty(ds, fp->dst->path, 0600, &created, err)) < 0)
			break;
		if (created)
			rc = record_append(x, u, STEP_PREPARE_TARGET, "prep_files", fp->dst->path, err);
	}
	ssh_unlock(&lk);
	return rc;
}

static int
prepare_target_undo(struct exec *x, struct unit *u, GError **err)
{
	JsonArray *maybe = fact_array(u, "prep_maybe");
	JsonArray *files = fact_array(u, "prep_files");
	struct ssh_lock lk;
	struct sshx *ds;
	int rc = -1;

	if (!files && !maybe && !fact_array(u, "prep_dirs"))
		return 0;
	ssh_lock(&lk, u->dst, NULL);
	if (!(ds = host_ssh(x, u->dst, err)))
		goto out;
	if (remove_listed(ds, files, FALSE, err) < 0)
		goto out;
	/* journaled as about to be made (it did not exist), then a crash
	 * before "made": if it is there and still empty, vmshift made it */
	for (guint i = 0; maybe && i < json_array_get_length(maybe); i++) {
		const char *p = json_array_get_string_element(maybe, i);
		gboolean exists = FALSE;
		guint64 size = 1;

		if (json_array_has_string(files, p))
			continue;
		if (sshx_stat(ds, p, &exists, &size, NULL, err) < 0)
			goto out;
		if (exists && size == 0 && sshx_unlink(ds, p, err) < 0)
			goto out;
	}
	rc = remove_listed(ds, fact_array(u, "prep_dirs"), TRUE, err);
out:
	ssh_unlock(&lk);
	return rc;
}

/* ---- define-target ---- */

static int
define_target(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *tpath = unit_file(u, "target.xml");
	g_autofree char *xml = NULL;
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if ((d = dom_by_uuid(u->dst, fact_str(u, "source_uuid"), &missing, err))) {
		/* ours (journaled before the define), or taken in preflight */
		if (fact_bool(u, FACT_TARGET_DEFINED, FALSE) || fact_bool(u, "target_had_domain", FALSE))
			return carry_autostart(x, u, d, err);
		return fail(err, "a domain with uuid %s ('%s') appeared on %s since preflight, not defined by vmshift; not touching it",
			    fact_str(u, "source_uuid"), virDomainGetName(d), u->dst->h->name);
	}
	if (!missing || source_still_off(u, err) < 0)
		return -1;
	if (!g_file_get_contents(tpath, &xml, NULL, err))
		return -1;
	if (record_flag(x, u, STEP_DEFINE_TARGET, FACT_TARGET_DEFINED, err) < 0)
		return -1;
	if (!(d = virDomainDefineXML(u->dst->conn, xml)))
		return lv_fail(err, "cannot define '%s' on %s", u->vm, u->dst->h->name);
	return carry_autostart(x, u, d, err);
}

static int
define_target_undo(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	/* only what vmshift defined: not one that was there, nor one that
	 * appeared since preflight (define-target then refused it) */
	if (fact_bool(u, "target_had_domain", TRUE) || !fact_bool(u, FACT_TARGET_DEFINED, FALSE))
		return 0;
	if (!(d = dom_by_uuid(u->dst, fact_str(u, "source_uuid"), &missing, err)))
		return missing ? 0 : -1;
	/* first: a definition left behind must not start at the next boot */
	if (virDomainSetAutostart(d, 0) < 0)
		return lv_fail(err, "cannot turn autostart off for '%s' on %s", u->vm, u->dst->h->name);
	if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
		return lv_fail(err, "cannot stop '%s' on %s", u->vm, u->dst->h->name);
	exec_log(x, "%s: undefining it on %s", u->id, u->dst->h->name);
	/* the NVRAM file is copy-disks' to remove, if it made it */
	if (dom_undefine(d) < 0)
		return lv_fail(err, "cannot undefine '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}

/* ---- start-target ---- */

static int
start_target(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (!will_start(u, fact_bool(u, "source_running", FALSE)))
		return 0;
	if (!(d = dom_by_uuid(u->dst, fact_str(u, "source_uuid"), &missing, err)))
		return missing ? fail(err, "'%s' is not defined on %s", u->vm, u->dst->h->name) : -1;
	if (virDomainIsActive(d) == 1)
		return 0;
	if (source_still_off(u, err) < 0 || record_flag(x, u, STEP_START_TARGET, "target_started", err) < 0)
		return -1;
	exec_log(x, "%s: starting on %s", u->id, u->dst->h->name);
	if (virDomainCreate(d) < 0)
		return lv_fail(err, "cannot start '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}

static int
start_target_undo(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	(void)x;
	/* a domain taken as it was is stopped only if vmshift started it */
	if (fact_bool(u, "target_had_domain", TRUE) && !fact_bool(u, "target_started", FALSE))
		return 0;
	if (!(d = dom_by_uuid(u->dst, fact_str(u, "source_uuid"), &missing, err)))
		return missing ? 0 : -1;
	if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
		return lv_fail(err, "cannot stop '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}

/* ---- verify-target ---- */

static int
verify_target(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	g_autofree char *xml = NULL;
	g_auto(Files) f = { 0 };
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	struct domxml *live = NULL;
	gboolean missing = FALSE, want_running;

	if (unit_load_xml(x, u, err) < 0)
		return -1;
	if (!(d = dom_by_uuid(u->dst, fact_str(u, "source_uuid"), &missing, err)))
		return missing ? fail(err, "'%s' is not defined on %s", u->vm, u->dst->h->name) : -1;
	if (virDomainIsPersistent(d) != 1)
		g_ptr_array_add(problems, g_strdup("it is not persistent"));
	want_running = u->m->set.mode == MODE_LIVE || will_start(u, fact_bool(u, "source_running", FALSE));
	if (want_running) {
		/* still running a moment after start: it did not crash at once */
		g_usleep(500 * 1000);
		if (!dom_is_running(d))
			g_ptr_array_add(problems, g_strdup("it is not running"));
	} else if (dom_is_running(d)) {
		g_ptr_array_add(problems, g_strdup("it is running but should not be"));
	}
	if (!(xml = virDomainGetXMLDesc(d, XML_FLAGS(x))))
		return lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->dst->h->name);
	if (!(live = domxml_parse(xml, err)))
		return -1;
	{
		g_autoptr(GPtrArray) want = domxml_paths(u->txml);
		g_autoptr(GPtrArray) got = domxml_paths(live);

		for (guint i = 0; i < want->len; i++) {
			struct dom_path *w = want->pdata[i];
			gboolean found = FALSE;

			for (guint k = 0; k < got->len && !found; k++)
				found = !strcmp(((struct dom_path *)got->pdata[k])->path, w->path);
			if (!found)
				g_ptr_array_add(problems, g_strdup_printf("its definition lacks %s '%s'", w->what, w->path));
		}
	}
	domxml_free(live);
	files_load(u, &f);
	if (has_ssh(u->dst)) {
		struct ssh_lock lk;
		struct sshx *ds;

		ssh_lock(&lk, u->dst, NULL);
		if (!(ds = host_ssh(x, u->dst, err))) {
			ssh_unlock(&lk);
			return -1;
		}
		for (guint i = 0; i < f.s->len; i++) {
			struct file_pair fpv = { f.s->pdata[i], f.t->pdata[i] }, *fp = &fpv;
			gboolean exists = FALSE;

			if (!fp->dst->copy)
				continue;
			if (sshx_stat(ds, fp->dst->path, &exists, NULL, NULL, err) < 0) {
				ssh_unlock(&lk);
				return -1;
			}
			if (!exists)
				g_ptr_array_add(problems, g_strdup_printf("%s '%s' is missing", fp->dst->what, fp->dst->path));
		}
		ssh_unlock(&lk);
	}
	if (problems->len) {
		g_ptr_array_add(problems, NULL);
		g_autofree char *all = g_strjoinv("; ", (char **)problems->pdata);

		return fail(err, "'%s' on %s is not as expected: %s", u->vm, u->dst->h->name, all);
	}
	return 0;
}

/* ---- undefine-source ---- */

static int
undefine_source(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (!u->m->set.undefine_source)
		return 0;
	if (!(d = dom_by_uuid(u->src, fact_str(u, "source_uuid"), &missing, err)))
		return missing ? 0 : -1;
	if (virDomainIsActive(d) == 1)
		return fail(err, "'%s' is running on %s again; refusing to undefine it (it now runs on both hosts: stop one)",
			    u->vm, u->src->h->name);
	exec_log(x, "%s: undefining it on %s", u->id, u->src->h->name);
	/* NVRAM stays: undo defines the domain again from its saved XML and
	 * needs it; delete-source-disks removes it when asked to */
	if (dom_undefine(d) < 0)
		return lv_fail(err, "cannot undefine '%s' on %s", u->vm, u->src->h->name);
	return 0;
}

static int
undefine_source_undo(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *spath = unit_file(u, "source.xml");
	g_autofree char *xml = NULL;
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if ((d = dom_by_uuid(u->src, fact_str(u, "source_uuid"), &missing, err)))
		return 0;
	if (!missing)
		return -1;
	if (!g_file_get_contents(spath, &xml, NULL, err))
		return -1;
	exec_log(x, "%s: defining it again on %s", u->id, u->src->h->name);
	if (!(d = virDomainDefineXML(u->src->conn, xml)))
		return lv_fail(err, "cannot define '%s' again on %s", u->vm, u->src->h->name);
	return 0;
}

/* ---- delete-source-disks ---- */

static int
delete_source_disks(struct exec *x, struct unit *u, GError **err)
{
	g_auto(Files) f = { 0 };
	JsonArray *copied = fact_array(u, FACT_COPIED);
	struct ssh_lock lk;
	struct sshx *ss, *ds;
	int rc = 0;

	if (!u->m->set.disks.delete_source)
		return 0;
	if (unit_load_xml(x, u, err) < 0)
		return -1;
	files_load(u, &f);
	ssh_lock(&lk, u->src, u->dst);
	if (!(ss = host_ssh(x, u->src, err)) || !(ds = host_ssh(x, u->dst, err))) {
		ssh_unlock(&lk);
		return -1;
	}
	for (guint i = 0; i < f.s->len && rc == 0; i++) {
		struct file_pair fpv = { f.s->pdata[i], f.t->pdata[i] }, *fp = &fpv;
		gboolean shared = TRUE, exists = FALSE;

		if (!fp->src->copy || fp->src->readonly)
			continue;	/* ISOs and the like are not the VM's to delete */
		/* only what this run copied and verified is a second copy */
		if (!json_array_has_string(copied, fp->dst->path)) {
			exec_log(x, "%s: %s was not copied by vmshift: kept", u->id, fp->src->path);
			continue;
		}
		if ((rc = sshx_stat(ss, fp->src->path, &exists, NULL, NULL, err)) < 0 || !exists)
			continue;
		if ((rc = storage_probe(ss, fp->src->path, ds, fp->dst->path, &shared, err)) < 0)
			break;
		if (shared) {
			exec_log(x, "%s: %s is on storage %s also sees: kept", u->id, fp->src->path, u->dst->h->name);
			continue;
		}
		if ((rc = record_append(x, u, STEP_DELETE_SOURCE_DISKS, "deleted", fp->src->path, err)) < 0)
			break;
		exec_log(x, "%s: deleting %s on %s", u->id, fp->src->path, u->src->h->name);
		rc = sshx_unlink(ss, fp->src->path, err);
	}
	ssh_unlock(&lk);
	return rc;
}

/* Rollback runs the undos newest first.  When one fails it goes on with
 * the others (a running source and a leftover on the target is what the
 * operator wants), except after undefine-source's undo (without the
 * source's definition back, removing the target's would leave the VM
 * nowhere) and, while the guest may still run on the target, the undos
 * that would start it on the source or remove its definition. */
static const struct step_impl impls[] = {
	{ STEP_PREFLIGHT, step_preflight, NULL, "nothing to undo: it only looks" },
	{ STEP_SHUTDOWN_SOURCE, shutdown_source, shutdown_source_undo, "starts the VM again on the source if it ran",
	  .undo_needs_target_off = TRUE },
	{ STEP_EXPORT_XML, export_xml, NULL, "keeps the saved XML for review" },
	{ STEP_COPY_DISKS, copy_disks, copy_disks_undo, "deletes the copies vmshift made, restores replaced files",
	  .undo_needs_target_off = TRUE },
	{ STEP_PREPARE_TARGET, prepare_target, prepare_target_undo, "removes the log files and directories vmshift made" },
	{ STEP_MIGRATE_LIVE, migrate_live, migrate_live_undo, "migrates it back live to the source",
	  .undo_fail_target_may_run = TRUE },
	{ STEP_DEFINE_TARGET, define_target, define_target_undo, "undefines the VM on the target if vmshift defined it",
	  .undo_needs_target_off = TRUE },
	{ STEP_START_TARGET, start_target, start_target_undo, "stops the VM on the target",
	  .undo_fail_target_may_run = TRUE },
	{ STEP_VERIFY_TARGET, verify_target, NULL, "nothing to undo: it only looks" },
	{ STEP_UNDEFINE_SOURCE, undefine_source, undefine_source_undo, "defines the VM on the source again from the saved XML",
	  .undo_fail_stops = TRUE },
	{ STEP_DELETE_SOURCE_DISKS, delete_source_disks, NULL, "cannot be undone: the source disks are gone" },
};

const struct step_impl *
step_impl(enum step s)
{
	for (gsize i = 0; i < G_N_ELEMENTS(impls); i++)
		if (impls[i].step == s)
			return &impls[i];
	return NULL;
}
