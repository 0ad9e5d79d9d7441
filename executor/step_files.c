/* step_files.c: the steps that act on files besides the copy itself
 * (step_copy.c): copy-disks' undo, prepare-target, delete-source-disks. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "step_verify.h"
#include "steps.h"


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
		step_same_forget(x, u, tp);
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
	if (rc == 0) {
		/* a directory another migration made, left while this one's
		 * files were in it: empty now, unless something else uses it */
		g_autoptr(GPtrArray) left = claims_dirs_left(x, u);

		for (guint i = 0; i < left->len; i++) {
			g_autoptr(GError) e = NULL;

			sshx_rmdir(ds, left->pdata[i], &e);
		}
	}
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
		sink_log(&x->sink, "%s: no SSH access to %s: not creating log files%s; they must exist there", u->id,
			 u->dst->h->name, u->m->set.prepare.create_bridges ? " nor bridges" : "");
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
	if (rc == 0)
		rc = bridges_prepare(x, u, ds, err);
	host_unlock(&lk);
	return rc;
}

int
step_prepare_target_undo(struct exec *x, struct unit *u, GError **err)
{
	JsonArray *maybe = fact_array(u, FACT_PREP_MAYBE);
	JsonArray *files = fact_array(u, FACT_PREP_FILES);
	struct host_lock lk;
	struct sshx *ds;
	int rc = -1;

	if (!files && !maybe && !fact_array(u, FACT_PREP_DIRS) && !fact_array(u, FACT_PREP_BRIDGES))
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
	if (remove_listed(ds, fact_array(u, FACT_PREP_DIRS), TRUE, err) < 0)
		goto out;
	/* the domain is undefined by now (define-target's undo came first):
	 * its interfaces are off the bridges vmshift made */
	rc = bridges_undo(x, u, ds, err);
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
