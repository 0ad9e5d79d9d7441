/* step_files.c: the steps that act on files: copy-disks, prepare-target,
 * delete-source-disks. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "step_common.h"
#include "steps.h"


/* ---- copy-disks ---- */

struct copy_meter {
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
	struct copy_meter *p = ud;
	gint64 now = g_get_monotonic_time();

	if (p->kill_half && done * 2 >= total && done < total) {
		sink_log(&p->x->sink, "VMSHIFT_FAULT: killing vmshift in the middle of copying %s", p->path);
		raise(SIGKILL);
	}
	if (p->x->o->interrupted && *p->x->o->interrupted)
		return FALSE;
	if (now - p->last < (p->x->o->progress ? G_USEC_PER_SEC / 4 : 2 * G_USEC_PER_SEC) && done < total)
		return TRUE;
	if (p->last == 0)
		p->t0 = now;
	p->last = now;
	sink_progress(&p->x->sink, p->u->id, "copy-disks %3" G_GUINT64_FORMAT "%% %s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " MiB, %.1f MiB/s",
		      total ? done * 100 / total : 100, p->path, done >> 20, total >> 20,
		      now > p->t0 ? (double)(done >> 10) / 1024.0 / ((now - p->t0) / 1e6) : 0.0);
	return TRUE;
}

/* The copy as disks.verify asks; a resumed one always by sha256: its
 * first part was written by another process, maybe a crashed one. */
static int
verify_copy(struct unit *u, struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, gboolean resumed,
	    GError **err)
{
	g_autofree char *differs = NULL;

	if (step_compare_files(ss, sp, ds, tp, resumed ? VERIFY_SHA256 : u->m->set.disks.verify, &differs, err) < 0)
		return -1;
	return differs ? step_fail(err, "the copy of '%s' differs from the source: %s", sp, differs) : 0;
}

/* Journaled as copied: a crash may have come before the rename. */
static int
copy_journaled(struct sshx *ds, const char *tp, const char *part, GError **err)
{
	gboolean exists = FALSE, part_left = FALSE;

	if (sshx_stat(ds, tp, &exists, NULL, NULL, err) < 0 || sshx_stat(ds, part, &part_left, NULL, NULL, err) < 0)
		return -1;
	if (!exists && part_left)
		return sshx_rename(ds, part, tp, err);
	return 0;
}

/* @tp exists on the target: 1 if it is the source's file already (no
 * copy), 0 if it differs, -1 on error. */
static int
copy_already_there(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, const char *sp, const char *tp,
		   GError **err)
{
	gboolean same = step_same_content(ss, sp, ds, tp, err);
	struct unit *o;

	if (err && *err)
		return -1;
	if (!same)
		return 0;
	o = claims_copied_by_other(x, u, tp);
	sink_log(&x->sink, "%s: %s is already on %s, identical: not copied%s%s", u->id, tp, u->dst->h->name,
		 o ? "; it came with " : "", o ? o->id : "");
	/* a file another migration of this run brought: this one owns it
	 * too, so the last rollback removes it */
	if (o && unit_record_append(x, u, STEP_COPY_DISKS, FACT_COPIED, tp, err) < 0)
		return -1;
	return 1;
}

/* A different @tp on the target: set aside (as .vmshift-orig) if the plan
 * allows it and no other migration of the run uses it. */
static int
copy_set_aside(struct exec *x, struct unit *u, struct sshx *ds, const char *tp, GError **err)
{
	g_autofree char *orig = g_strconcat(tp, ORIG_SUFFIX, NULL);
	struct unit *o;

	if (!u->m->set.disks.overwrite)
		return step_fail(err, "'%s' exists on %s and differs from the source; set disks.overwrite: true to replace it",
				 tp, u->dst->h->name);
	if ((o = claims_other_user(x, u, tp)))
		return step_fail(err, "'%s' on %s is a disk of %s, migrated in this run; not replacing it", tp,
				 u->dst->h->name, o->id);
	if (unit_record_append(x, u, STEP_COPY_DISKS, FACT_BACKUPS, tp, err) < 0 || sshx_rename(ds, tp, orig, err) < 0)
		return -1;
	return 0;
}

/* Copy into the part file (resumed if this copy journaled it), verify,
 * journal, rename into place. */
static int
copy_transfer(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, struct file_pair *fp, GError **err)
{
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autofree char *part = g_strconcat(tp, PART_SUFFIX, NULL);
	g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *dir = g_path_get_dirname(tp);
	struct copy_meter p = { x, u, sp, 0, 0, fault_due(x, u, STEP_COPY_DISKS, "kill") };
	gboolean exists = FALSE;
	guint64 have = 0;

	if (sshx_mkdir_p(ds, dir, 0755, made, err) < 0)
		return -1;
	for (guint i = 0; i < made->len; i++)
		if (unit_record_append(x, u, STEP_COPY_DISKS, FACT_DIRS, made->pdata[i], err) < 0)
			return -1;
	/* a partial copy is resumed only if this copy journaled it before
	 * making it: any other is stale or somebody else's */
	if (step_refuse_link(ds, part, u->dst, &exists, err) < 0 || (exists && claims_refuse_foreign_part(x, u, part, err) < 0))
		return -1;
	if (!exists && unit_record_append(x, u, STEP_COPY_DISKS, FACT_PARTS, part, err) < 0)
		return -1;
	if (exists && sshx_lstat(ds, part, &exists, &have, NULL, err) < 0)
		return -1;
	if (exists && have)
		sink_log(&x->sink, "%s: resuming the copy of %s at %" G_GUINT64_FORMAT " MiB (verified by sha256 at the end)",
			 u->id, sp, have >> 20);
	sink_log(&x->sink, "%s: copying %s:%s to %s:%s", u->id, u->src->h->name, sp, u->dst->h->name, tp);
	if (sshx_copy(ss, sp, ds, part, exists ? have : 0, copy_progress, &p, err) < 0)
		return -1;
	if (verify_copy(u, ss, sp, ds, part, exists && have > 0, err) < 0) {
		g_autoptr(GError) e = NULL;

		sshx_unlink(ds, part, &e);	/* a bad copy is worth nothing */
		return -1;
	}
	if (unit_record_append(x, u, STEP_COPY_DISKS, FACT_COPIED, tp, err) < 0 || sshx_rename(ds, part, tp, err) < 0)
		return -1;
	return 0;
}

static int
copy_one(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, struct file_pair *fp, GError **err)
{
	const char *sp = fp->src->path, *tp = fp->dst->path;
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	gboolean exists = FALSE;
	int there;

	if (facts_array_has(fact_array(u, FACT_COPIED), tp)) {
		g_autofree char *part = g_strconcat(tp, PART_SUFFIX, NULL);

		return copy_journaled(ds, tp, part, err);
	}
	if (step_refuse_link(ds, tp, u->dst, &exists, err) < 0)
		return -1;
	if (exists && (there = copy_already_there(x, u, ss, ds, sp, tp, err)) != 0)
		return there < 0 ? -1 : 0;
	/* from here on it writes; preflight skipped this check for a file
	 * that was identical then */
	storage_check_write(u, ds, fp->src->what, tp, FALSE, problems);
	if (problems->len)
		return step_fail(err, "%s", (char *)problems->pdata[0]);
	if (exists && copy_set_aside(x, u, ds, tp, err) < 0)
		return -1;
	return copy_transfer(x, u, ss, ds, fp, err);
}

int
step_copy_disks(struct exec *x, struct unit *u, GError **err)
{
	g_auto(Files) f = { 0 };
	struct host_lock lk;
	struct sshx *ss, *ds;
	int rc = 0;

	if (step_xml_load(x, u, err) < 0)
		return -1;
	step_files_load(u, &f);
	host_lock(&lk, u->src, u->dst);
	if (!(ss = host_ssh(u->src, err)) || !(ds = host_ssh(u->dst, err))) {
		host_unlock(&lk);
		return -1;
	}
	for (guint i = 0; i < f.s->len && rc == 0; i++) {
		struct file_pair fpv = { f.s->pdata[i], f.t->pdata[i] }, *fp = &fpv;

		if (fp->src->copy)
			rc = copy_one(x, u, ss, ds, fp, err);
	}
	host_unlock(&lk);
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

int
step_copy_disks_undo(struct exec *x, struct unit *u, GError **err)
{
	JsonArray *backups = fact_array(u, FACT_BACKUPS);
	struct host_lock lk;
	struct sshx *ds;
	int rc = -1;

	host_lock(&lk, u->dst, NULL);
	if (!(ds = host_ssh(u->dst, err)))
		goto out;
	if (remove_listed(ds, fact_array(u, FACT_PARTS), FALSE, err) < 0)
		goto out;
	for (guint i = 0, n = fact_array(u, FACT_COPIED) ? json_array_get_length(fact_array(u, FACT_COPIED)) : 0; i < n; i++) {
		const char *tp = json_array_get_string_element(fact_array(u, FACT_COPIED), i);
		g_autofree char *orig = g_strconcat(tp, ORIG_SUFFIX, NULL);
		gboolean has_orig = FALSE;

		/* a path that replaced a file is ours only while the original
		 * still waits in .vmshift-orig: once restored, it is theirs */
		struct unit *other;

		if (facts_array_has(backups, tp) &&
		    (sshx_stat(ds, orig, &has_orig, NULL, NULL, err) < 0 || !has_orig)) {
			if (err && *err)
				goto out;
			continue;
		}
		/* one file (an ISO) that another migration of the run uses too */
		if ((other = claims_other_user(x, u, tp))) {
			sink_log(&x->sink, "%s: %s on %s is kept: %s uses it too", u->id, tp, u->dst->h->name, other->id);
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
	rc = remove_listed(ds, fact_array(u, FACT_DIRS), TRUE, err);
out:
	host_unlock(&lk);
	return rc;
}

/* ---- prepare-target ---- */

int
step_prepare_target(struct exec *x, struct unit *u, GError **err)
{
	g_auto(Files) f = { 0 };
	struct host_lock lk;
	struct sshx *ds;
	int rc = 0;

	if (step_xml_load(x, u, err) < 0)
		return -1;
	step_files_load(u, &f);
	if (!host_has_ssh(u->dst)) {
		sink_log(&x->sink, "%s: no SSH access to %s: not creating log files; they must exist there", u->id,
			 u->dst->h->name);
		return 0;
	}
	host_lock(&lk, u->dst, NULL);
	if (!(ds = host_ssh(u->dst, err))) {
		host_unlock(&lk);
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
			rc = unit_record_append(x, u, STEP_PREPARE_TARGET, FACT_PREP_DIRS, made->pdata[k], err);
		if (rc < 0)
			break;
		{
			gboolean exists = FALSE;

			if ((rc = sshx_stat(ds, fp->dst->path, &exists, NULL, NULL, err)) < 0 || exists)
				continue;	/* there already: not vmshift's */
		}
		/* the name first: a crash right after creating the file must
		 * still let undo remove it */
		if ((rc = unit_record_append(x, u, STEP_PREPARE_TARGET, FACT_PREP_MAYBE, fp->dst->path, err)) < 0 ||
		    (rc = sshx_create_empty(ds, fp->dst->path, 0600, &created, err)) < 0)
			break;
		if (created)
			rc = unit_record_append(x, u, STEP_PREPARE_TARGET, FACT_PREP_FILES, fp->dst->path, err);
	}
	host_unlock(&lk);
	return rc;
}

int
step_prepare_target_undo(struct exec *x G_GNUC_UNUSED, struct unit *u, GError **err)
{
	JsonArray *maybe = fact_array(u, FACT_PREP_MAYBE);
	JsonArray *files = fact_array(u, FACT_PREP_FILES);
	struct host_lock lk;
	struct sshx *ds;
	int rc = -1;

	if (!files && !maybe && !fact_array(u, FACT_PREP_DIRS))
		return 0;
	host_lock(&lk, u->dst, NULL);
	if (!(ds = host_ssh(u->dst, err)))
		goto out;
	if (remove_listed(ds, files, FALSE, err) < 0)
		goto out;
	/* journaled as about to be made (it did not exist), then a crash
	 * before "made": if it is there and still empty, vmshift made it */
	for (guint i = 0; maybe && i < json_array_get_length(maybe); i++) {
		const char *p = json_array_get_string_element(maybe, i);
		gboolean exists = FALSE;
		guint64 size = 1;

		if (facts_array_has(files, p))
			continue;
		if (sshx_stat(ds, p, &exists, &size, NULL, err) < 0)
			goto out;
		if (exists && size == 0 && sshx_unlink(ds, p, err) < 0)
			goto out;
	}
	rc = remove_listed(ds, fact_array(u, FACT_PREP_DIRS), TRUE, err);
out:
	host_unlock(&lk);
	return rc;
}

/* ---- delete-source-disks ---- */


const char *
step_delete_source_disks_skip(struct unit *u)
{
	return u->m->set.disks.delete_source ? NULL : "disks.delete_source: false";
}

/* Each path is journaled before it is unlinked: an entry means the
 * source copy is (or may be) gone, and undoing the copy would leave none. */
const char *
step_delete_source_disks_undo_refused(struct unit *u)
{
	JsonArray *deleted = fact_array(u, FACT_DELETED);

	if (!deleted || json_array_get_length(deleted) == 0)
		return NULL;
	return "delete-source-disks has begun deleting its source disks; rolling back would leave no copy, so it is not done (finish it with vmshift resume)";
}

int
step_delete_source_disks(struct exec *x, struct unit *u, GError **err)
{
	g_auto(Files) f = { 0 };
	JsonArray *copied = fact_array(u, FACT_COPIED);
	struct host_lock lk;
	struct sshx *ss, *ds;
	int rc = 0;

	if (step_delete_source_disks_skip(u))
		return 0;
	if (step_xml_load(x, u, err) < 0)
		return -1;
	step_files_load(u, &f);
	host_lock(&lk, u->src, u->dst);
	if (!(ss = host_ssh(u->src, err)) || !(ds = host_ssh(u->dst, err))) {
		host_unlock(&lk);
		return -1;
	}
	for (guint i = 0; i < f.s->len && rc == 0; i++) {
		struct file_pair fpv = { f.s->pdata[i], f.t->pdata[i] }, *fp = &fpv;
		gboolean shared = TRUE, exists = FALSE;

		if (!fp->src->copy || fp->src->readonly)
			continue;	/* ISOs and the like are not the VM's to delete */
		/* only what this run copied and verified is a second copy */
		if (!facts_array_has(copied, fp->dst->path)) {
			sink_log(&x->sink, "%s: %s was not copied by vmshift: kept", u->id, fp->src->path);
			continue;
		}
		if ((rc = sshx_stat(ss, fp->src->path, &exists, NULL, NULL, err)) < 0 || !exists)
			continue;
		if ((rc = storage_probe(ss, fp->src->path, ds, fp->dst->path, &shared, err)) < 0)
			break;
		if (shared) {
			sink_log(&x->sink, "%s: %s is on storage %s also sees: kept", u->id, fp->src->path, u->dst->h->name);
			continue;
		}
		if ((rc = unit_record_append(x, u, STEP_DELETE_SOURCE_DISKS, FACT_DELETED, fp->src->path, err)) < 0)
			break;
		sink_log(&x->sink, "%s: deleting %s on %s", u->id, fp->src->path, u->src->h->name);
		rc = sshx_unlink(ss, fp->src->path, err);
	}
	host_unlock(&lk);
	return rc;
}
