/* step_common.c: what the step families share: errors, notes for the
 * dry-run, the domain's file pairs, checks on target paths, comparing
 * files on two hosts, carrying autostart. */
#include <string.h>

#include "step_common.h"

static int G_GNUC_PRINTF(3, 0)
step_vfail(GError **err, gboolean with_libvirt, const char *fmt, va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	/* read here, in the thread that made the failed call: libvirt keeps
	 * its last error per thread */
	g_autofree char *lv = with_libvirt ? virt_error() : NULL;

	g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s%s%s", msg, lv ? ": " : "", lv ? lv : "");
	return -1;
}

int
step_fail(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	step_vfail(err, FALSE, fmt, ap);
	va_end(ap);
	return -1;
}

/* step_fail() with libvirt's own message of the call that just failed */
int
step_lv_fail(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	step_vfail(err, TRUE, fmt, ap);
	va_end(ap);
	return -1;
}

/* Before the target may run: the source must be off, or both would use
 * the same disks (a resumed run may find it started again since). */
int
step_source_still_off(struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	gboolean missing = FALSE;

	if (!(d = host_dom_by_uuid(u->src, fact_str(u, FACT_SOURCE_UUID), &missing, err)))
		return missing ? 0 : -1;
	if (virt_dom_is_running(d))
		return step_fail(err, "'%s' is running on %s again; refusing to run it on %s as well (shut it down there, then resume)",
			    u->vm, u->src->h->name, u->dst->h->name);
	return 0;
}

char *
step_human_size(guint64 n)
{
	return g_format_size_full(n, G_FORMAT_SIZE_IEC_UNITS);
}

void
step_files_load(struct unit *u, struct files *f)
{
	f->s = domxml_paths(u->sxml);
	f->t = domxml_paths(u->txml);
	g_assert(f->s->len == f->t->len);
}

void
step_files_release(struct files *f)
{
	g_clear_pointer(&f->s, g_ptr_array_unref);
	g_clear_pointer(&f->t, g_ptr_array_unref);
}

/* The nearest existing ancestor directory of @path on @s. */
char *
step_existing_ancestor(struct sshx *s, const char *path, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(path);

	for (;;) {
		gboolean exists = FALSE;
		guint32 mode = 0;
		char *up;

		if (sshx_stat(s, dir, &exists, NULL, &mode, err) < 0)
			return NULL;
		if (exists)
			return (mode & 0170000) == 0040000 ? g_steal_pointer(&dir) : (step_fail(err, "'%s' is not a directory", dir), NULL);
		up = g_path_get_dirname(dir);
		if (!strcmp(up, dir)) {
			g_free(up);
			step_fail(err, "no existing directory above '%s'", path);
			return NULL;
		}
		g_free(dir);
		dir = up;
	}
}

/* lstat @path: a symlink there is refused (vmshift never writes through
 * one, whoever planted it). */
int
step_refuse_link(struct sshx *s, const char *path, struct hostconn *hc, gboolean *exists, GError **err)
{
	guint32 mode = 0;

	*exists = FALSE;
	if (sshx_lstat(s, path, exists, NULL, &mode, err) < 0)
		return -1;
	if (*exists && (mode & 0170000) == 0120000)
		return step_fail(err, "'%s' on %s is a symbolic link; vmshift never writes through one: remove it, then run again",
			    path, hc->h->name);
	return 0;
}

void
step_note(struct unit *u, const char *fmt, ...)
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
step_will_start(struct unit *u, gboolean source_running)
{
	return u->m->set.start == START_ALWAYS || (u->m->set.start == START_KEEP && source_running);
}

/* Autostart as the source had it (journaled by preflight). */
int
step_carry_autostart(struct exec *x, struct unit *u, virDomainPtr t, GError **err)
{
	int now = 0;

	/* a domain taken as it was stays as it was */
	if (!fact_bool(u, FACT_AUTOSTART, FALSE) || fact_bool(u, FACT_TARGET_HAD_DOMAIN, FALSE) ||
	    (virDomainGetAutostart(t, &now) == 0 && now))
		return 0;
	sink_log(&x->sink, "%s: autostart on, as on %s", u->id, u->src->h->name);
	if (virDomainSetAutostart(t, 1) < 0)
		return step_lv_fail(err, "cannot set autostart of '%s' on %s", u->vm, u->dst->h->name);
	return 0;
}

/* Compare @sp on the source with @tp on the target as far as @level
 * goes: sizes (VERIFY_SIZE), then sha256 (VERIFY_SHA256).  *differs gets
 * how they differ, or NULL.  -1 (@err) if a call failed: not knowing is
 * not "the same", nor "different". */
int
step_compare_files(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, enum verify level,
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

/* Is @tp on the target already the same bytes as @sp on the source?
 * Always by sha256, whatever disks.verify says: equal sizes prove
 * nothing (raw images of one size abound), and a wrong "yes" would give
 * the VM another machine's disk. */
gboolean
step_same_content(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, GError **err)
{
	g_autofree char *differs = NULL;

	return step_compare_files(ss, sp, ds, tp, VERIFY_SHA256, &differs, err) == 0 && !differs;
}

gboolean
step_same_in_run(struct exec *x, struct unit *u, struct sshx *ss, const char *sp, struct sshx *ds, const char *tp,
		 GError **err)
{
	g_autofree char *key = g_strdup_printf("%s\n%s\n%s\n%s", u->src->uuid ? u->src->uuid : u->src->h->name, sp,
					       u->dst->uuid ? u->dst->uuid : u->dst->h->name, tp);
	gboolean known, same;

	g_mutex_lock(&x->mu);
	known = x->same_files && g_hash_table_contains(x->same_files, key);
	g_mutex_unlock(&x->mu);
	if (known)
		return TRUE;
	if (!(same = step_same_content(ss, sp, ds, tp, err)))
		return FALSE;
	g_mutex_lock(&x->mu);
	if (!x->same_files)
		x->same_files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_hash_table_add(x->same_files, g_steal_pointer(&key));
	g_mutex_unlock(&x->mu);
	return TRUE;
}

void
step_same_forget(struct exec *x, struct unit *u, const char *tp)
{
	g_autofree char *tail = g_strdup_printf("\n%s\n%s", u->dst->uuid ? u->dst->uuid : u->dst->h->name, tp);
	GHashTableIter it;
	gpointer k;

	g_mutex_lock(&x->mu);
	if (x->same_files) {
		g_hash_table_iter_init(&it, x->same_files);
		while (g_hash_table_iter_next(&it, &k, NULL))
			if (g_str_has_suffix(k, tail))
				g_hash_table_iter_remove(&it);
	}
	g_mutex_unlock(&x->mu);
}

gboolean
step_disk_is_qcow2(GPtrArray *disks, const struct dom_path *p)
{
	for (guint i = 0; i < disks->len; i++) {
		const struct dom_disk *d = disks->pdata[i];

		if (d->type == DOM_DISK_FILE && !g_strcmp0(d->what, p->what))
			return !g_strcmp0(d->format, "qcow2");
	}
	return FALSE;
}
