/* storage.c: what a unit's disks really are, before anything moves.
 *
 * A path is only a name: the same path on two hosts may be one file on
 * shared storage, or two different files.  Cold and live migration
 * (without copy_storage) need the first; offline-with-scp-disk can move
 * only plain files.  What vmshift cannot prove it refuses:
 * - file disks: a probe file made beside the source file must show up
 *   beside the target's file (and the same for every backing file);
 * - block, network, volume disks: the plan must say they are shared
 *   (disks.shared), since no probe reaches them;
 * - offline-with-scp-disk: only file disks that nothing else shares, with
 *   a backing chain chain.c can read and move (qcow2 and raw layers).
 */
#include <string.h>

#include "step_common.h"

#define LIBVIRT_LOG_DIR "/var/log/libvirt"	/* serial and console logs may be made there too */

int
storage_probe(struct sshx *ss, const char *src_path, struct sshx *ds, const char *dst_path, gboolean *shared,
	      GError **err)
{
	g_autofree char *name = g_strdup_printf(".vmshift-probe-%08x%08x", g_random_int(), g_random_int());
	g_autofree char *sdir = g_path_get_dirname(src_path), *ddir = g_path_get_dirname(dst_path);
	g_autofree char *probe = g_build_filename(sdir, name, NULL);
	g_autofree char *seen = g_build_filename(ddir, name, NULL);
	gboolean created = FALSE;
	int rc;

	*shared = TRUE;	/* until proven otherwise: the safe answer for deleting */
	if (sshx_create_empty(ss, probe, 0600, &created, err) < 0)
		return -1;
	if (!created) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS, "the probe file '%s' exists already on the source", probe);
		return -1;
	}
	rc = sshx_lstat(ds, seen, shared, NULL, NULL, err);
	{
		g_autoptr(GError) e = NULL;

		sshx_unlink(ss, probe, &e);
	}
	return rc;
}

static void
problem(GPtrArray *problems, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void
problem(GPtrArray *problems, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(problems, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* Is @sp on the source the same file as @tp on the target? */
static void
prove_shared(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, const char *what, const char *sp,
	     const char *tp, GPtrArray *problems)
{
	g_autoptr(GError) e = NULL;
	gboolean shared = FALSE;

	if (!g_str_equal(strrchr(sp, '/'), strrchr(tp, '/'))) {
		/* the probe proves directories: a renamed file is another file */
		problem(problems, "%s: the remap renames '%s' to '%s'; on storage both hosts share that is another file: mode %s keeps the disk where it is, so keep its file name (or copy it with offline-with-scp-disk)",
			what, sp, tp, mode_name(u->mode));
		return;
	}
	if (x->o->dry_run) {
		step_note(u, "%s: %s must be the same file as %s on %s: proven when the plan is applied (the probe writes a file)",
		     what, sp, tp, u->dst->h->name);
		return;
	}
	if (storage_probe(ss, sp, ds, tp, &shared, &e) < 0)
		problem(problems, "%s: cannot prove '%s' is on storage %s shares: %s", what, sp, u->dst->h->name, e->message);
	else if (!shared)
		problem(problems,
			"%s: '%s' on %s and '%s' on %s are not the same storage (a probe file beside one is not beside the other); mode %s needs one disk both hosts see: use offline-with-scp-disk (or live.copy_storage) to copy it",
			what, sp, u->src->h->name, tp, u->dst->h->name, mode_name(u->mode));
	else
		step_note(u, "%s: %s is the same file on %s and %s (probe)", what, tp, u->src->h->name, u->dst->h->name);
}

/* What the target has of @l already: a line for the dry-run; *@same:
 * it has the very file, nothing will be written there. */
static const char *
layer_on_target(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, const struct layer *l,
		gboolean *same, GError **err)
{
	gboolean exists = FALSE;

	*same = FALSE;
	if (!ds)
		return "not looked at (no SSH access to the target)";
	if (sshx_stat(ds, l->dst, &exists, NULL, NULL, err) < 0)
		return NULL;
	if (!exists)
		return "missing there: copied";
	if ((*same = step_same_in_run(x, u, ss, l->src, ds, l->dst, err)))
		return "there, identical (sha256): not copied";
	return err && *err ? NULL : "there and different: set aside if disks.overwrite, else refused";
}

/* The chain of the disk @what as a fact (the dry-run's reports show it). */
static void
chain_fact(JsonObject *facts, const char *what, GPtrArray *layers)
{
	JsonArray *a = json_array_new();

	if (!json_object_has_member(facts, FACT_CHAINS))
		json_object_set_object_member(facts, FACT_CHAINS, json_object_new());
	for (guint i = 0; i < layers->len; i++) {
		const struct layer *l = layers->pdata[i];
		JsonObject *o = json_object_new();

		json_object_set_string_member(o, "source", l->src);
		json_object_set_string_member(o, "target", l->dst);
		json_object_set_string_member(o, "format", l->format);
		json_array_add_object_element(a, o);
	}
	json_object_set_array_member(json_object_get_object_member(facts, FACT_CHAINS), what, a);
}

/* offline-with-scp-disk: the disk and its backing chain are copied, each
 * layer once per target and run; the layers count among the files the
 * unit claims.  A shareable disk is in use by another VM. */
static void
offline_disk(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, const struct dom_disk *s,
	     const struct dom_disk *t, GPtrArray *heads, JsonObject *facts, GPtrArray *problems)
{
	g_autoptr(GPtrArray) layers = NULL;
	g_autoptr(GError) e = NULL;

	if (s->shareable) {
		problem(problems,
			"%s: '%s' is <shareable/>: other VMs may write it while it is copied, and would not follow it; move it with shared storage and mode cold",
			t->what, s->source);
		return;
	}
	if (g_strcmp0(s->format, "qcow2"))
		return;
	if (!(layers = chain_of(x, u, ss, s->source, heads, &e))) {
		problem(problems, "%s: %s", t->what, e->message);
		return;
	}
	chain_fact(facts, t->what, layers);
	for (guint i = 1; i < layers->len; i++) {
		const struct layer *l = layers->pdata[i];
		gboolean same;
		const char *there = layer_on_target(x, u, ss, ds, l, &same, &e);

		if (!there) {
			problem(problems, "%s backing file %u: %s", t->what, i, e->message);
			g_clear_error(&e);
			continue;
		}
		step_note(u, "%s backing file %u (%s): %s -> %s: %s", t->what, i, l->format, l->src, l->dst, there);
		json_array_add_string_element(json_object_get_array_member(facts, FACT_TARGET_FILES), l->dst);
		json_array_add_string_element(json_object_get_array_member(facts, FACT_SOURCE_FILES), l->src);
		if (ds && !same)
			storage_check_write(u, ds, t->what, l->dst, FALSE, problems);
	}
}

static void
check_file_disk(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, const struct dom_disk *s,
		const struct dom_disk *t, JsonObject *facts, GPtrArray *problems)
{
	gboolean offline = u->mode == MODE_OFFLINE_SCP;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) chain = NULL;

	if (!ss) {
		problem(problems, "%s: no SSH access to %s, so vmshift cannot look at '%s' (its backing chain, its storage): give the host an ssh: block",
			t->what, u->src->h->name, s->source);
		return;
	}
	if (!(chain = chain_headers(ss, s->source, &e))) {
		gboolean missing = g_error_matches(e, SSHX_ERROR, SSHX_ERROR_NOT_FOUND);

		problem(problems, "%s: %s%s", t->what, missing ? "it does not exist on the source: " : "", e->message);
		return;
	}
	if (offline) {
		offline_disk(x, u, ss, ds, s, t, chain, facts, problems);
		return;
	}
	if (!ds) {
		problem(problems, "%s: no SSH access to %s, so vmshift cannot prove '%s' is the same storage there: give the host an ssh: block",
			t->what, u->dst->h->name, t->source);
		return;
	}
	prove_shared(x, u, ss, ds, t->what, s->source, t->source, problems);
	for (guint i = 0; i < chain->len; i++) {
		g_autofree char *w = g_strdup_printf("%s backing file", t->what);

		prove_shared(x, u, ss, ds, w, chain->pdata[i], chain->pdata[i], problems);
	}
}

/* An emulated TPM keeps its state beside the definition, on the host:
 * copy-disks carries it (offline-with-scp-disk), libvirt's migration does
 * (live); a cold move would start the guest with an empty TPM, its sealed
 * keys lost. */
static void
check_tpm(struct unit *u, struct sshx *ss, GPtrArray *problems)
{
	g_autofree char *dir = NULL;
	g_autoptr(GError) e = NULL;
	gboolean exists = FALSE;

	if (u->mode != MODE_COLD || !domxml_tpm_emulator(u->sxml))
		return;
	dir = g_build_filename("/var/lib/libvirt/swtpm", domxml_uuid(u->sxml), NULL);
	if (!ss)
		problem(problems, "'%s' has an emulated TPM whose state vmshift cannot look for without SSH access to %s; mode cold does not carry it: use offline-with-scp-disk or live",
			u->vm, u->src->h->name);
	else if (sshx_stat(ss, dir, &exists, NULL, NULL, &e) < 0)
		problem(problems, "TPM state: %s", e->message);
	else if (exists)
		problem(problems, "'%s' has TPM state in %s on %s, which mode cold does not carry (the guest would start with an empty TPM): use offline-with-scp-disk or live",
			u->vm, dir, u->src->h->name);
}

void
storage_preflight(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, JsonObject *facts,
		  GPtrArray *problems)
{
	g_autoptr(GPtrArray) sd = domxml_disks(u->sxml);
	g_autoptr(GPtrArray) td = domxml_disks(u->txml);
	gboolean offline = u->mode == MODE_OFFLINE_SCP;
	gboolean libvirt_copies = u->mode == MODE_LIVE && u->m->set.live.copy_storage != COPY_STORAGE_NONE;

	g_assert(sd->len == td->len);
	check_tpm(u, ss, problems);
	for (guint i = 0; i < sd->len; i++) {
		const struct dom_disk *s = sd->pdata[i], *t = td->pdata[i];

		const char *src = s->source ? s->source : s->type_name;

		if (!s->source && s->type != DOM_DISK_OTHER)
			continue;	/* an empty cdrom drive */
		if (s->type == DOM_DISK_FILE) {
			if (!libvirt_copies)
				check_file_disk(x, u, ss, ds, s, t, facts, problems);
			continue;
		}
		if (offline)
			problem(problems,
				"%s: a %s disk (%s): offline-with-scp-disk copies only file disks; move this VM with mode cold or live, on storage both hosts see",
				t->what, s->type_name, src);
		else if (libvirt_copies && !s->readonly)
			problem(problems,
				"%s: a %s disk (%s): copy_storage copies only file disks safely (it would write over whatever the target has there); use shared storage and copy_storage: none",
				t->what, s->type_name, src);
		else if (!t->source || !disk_opts_shared(&u->m->set.disks, t->source))
			problem(problems,
				"%s: a %s disk (%s): vmshift cannot prove %s sees the same storage; if it does (a SAN LUN, Ceph, a shared pool), say so in the plan with disks.shared: ['PATTERN']",
				t->what, s->type_name, src, u->dst->h->name);
		else
			step_note(u, "%s: %s disk %s: the same storage on both hosts, as disks.shared says", t->what, s->type_name,
			     t->source);
	}
}

/* ---- where vmshift may write on a target ---- */

/* The directory of a storage pool's XML (<target><path>), or NULL. */
static char *
pool_dir(virStoragePoolPtr p)
{
	g_autofree char *xml = virStoragePoolGetXMLDesc(p, 0);
	const char *t, *a, *b;

	if (!xml || !(t = strstr(xml, "<target>")) || !(a = strstr(t, "<path>")) || !(b = strstr(a, "</path>")))
		return NULL;
	a += strlen("<path>");
	return g_strndup(a, b - a);
}

/* Its libvirt storage pools' directories and the plan's image_dirs,
 * each also as the server resolves it (symlinks). */
static GPtrArray *
image_dirs(struct hostconn *hc, struct sshx *ds)
{
	virStoragePoolPtr *pools = NULL;
	int n;

	if (hc->image_dirs)
		return hc->image_dirs;
	hc->image_dirs = g_ptr_array_new_with_free_func(g_free);
	n = virConnectListAllStoragePools(hc->conn, &pools, 0);
	for (int i = 0; i < n; i++) {
		char *d = pool_dir(pools[i]);

		if (d && g_path_is_absolute(d))
			g_ptr_array_add(hc->image_dirs, d);
		else
			g_free(d);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	for (guint i = 0; i < hc->h->image_dirs->len; i++)
		g_ptr_array_add(hc->image_dirs, g_strdup(hc->h->image_dirs->pdata[i]));
	for (guint i = 0, len = hc->image_dirs->len; ds && i < len; i++) {
		g_autoptr(GError) e = NULL;
		char *real = sshx_realpath(ds, hc->image_dirs->pdata[i], &e);

		if (real)
			g_ptr_array_add(hc->image_dirs, real);
	}
	return hc->image_dirs;
}

static gboolean
below(const char *path, const char *dir)
{
	gsize n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return !strncmp(path, dir, n) && (path[n] == '/' || (n == 1 && dir[0] == '/'));
}

static gboolean
below_any(const char *path, GPtrArray *dirs, gboolean logs)
{
	if (logs && below(path, LIBVIRT_LOG_DIR))
		return TRUE;
	for (guint i = 0; i < dirs->len; i++)
		if (below(path, dirs->pdata[i]))
			return TRUE;
	return FALSE;
}

/* No "." or ".." components, no empty ones: the path says where it goes. */
static gboolean
plain_path(const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);

	if (path[0] != '/')
		return FALSE;
	for (guint i = 1; parts[i]; i++)
		if (!*parts[i] || !strcmp(parts[i], ".") || !strcmp(parts[i], ".."))
			return FALSE;
	return TRUE;
}

void
storage_check_write(struct unit *u, struct sshx *ds, const char *what, const char *path, gboolean logs,
		    GPtrArray *problems)
{
	GPtrArray *dirs = image_dirs(u->dst, ds);
	g_autofree char *dir = g_path_get_dirname(path), *real = NULL;

	if (!plain_path(path)) {
		problem(problems, "%s: '%s' is not a plain absolute path (no '.', '..' or empty components): vmshift does not write there",
			what, path);
		return;
	}
	if (!below_any(path, dirs, logs)) {
		g_autoptr(GPtrArray) shown = g_ptr_array_new();

		for (guint i = 0; i < dirs->len; i++)
			if (!g_ptr_array_find_with_equal_func(shown, dirs->pdata[i], g_str_equal, NULL))
				g_ptr_array_add(shown, dirs->pdata[i]);
		g_ptr_array_add(shown, NULL);
		{
			g_autofree char *all = g_strjoinv(", ", (char **)shown->pdata);

			problem(problems,
				"%s: '%s' on %s is outside the directories meant for guest images (its storage pools and image_dirs: %s%s); vmshift writes nowhere else: remap the path into one of them, or add its directory to hosts.%s.image_dirs",
				what, path, u->dst->h->name, *all ? all : "none", logs ? ", and " LIBVIRT_LOG_DIR " for logs" : "",
				u->dst->h->name);
		}
		return;
	}
	/* a symlinked directory inside an image directory may point anywhere */
	while (ds && strcmp(dir, "/")) {
		g_autoptr(GError) e = NULL;
		gboolean exists = FALSE;
		char *up;

		if (sshx_stat(ds, dir, &exists, NULL, NULL, &e) == 0 && exists) {
			if ((real = sshx_realpath(ds, dir, &e)) && strcmp(real, dir) && !below_any(real, dirs, logs) &&
			    !(logs && !strcmp(real, LIBVIRT_LOG_DIR)) && !g_ptr_array_find_with_equal_func(dirs, real, g_str_equal, NULL))
				problem(problems, "%s: '%s' on %s leads, through a symbolic link, to '%s', outside the directories meant for guest images",
					what, dir, u->dst->h->name, real);
			return;
		}
		up = g_path_get_dirname(dir);
		g_free(dir);
		dir = up;
	}
}
