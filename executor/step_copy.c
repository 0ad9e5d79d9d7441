/* step_copy.c: copy-disks.  Every file the mode copies, and every layer
 * of a disk's backing chain, goes to the target once per run: only its
 * data ranges, hashed as they stream, verified by reading the target
 * once, with a session of its own (two copies from one host run side by
 * side).  A layer that names a backing file is rebased onto the
 * remapped one before it takes its place. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "extents.h"
#include "step_common.h"
#include "steps.h"

/* Where libvirt keeps an emulated TPM's state, per domain UUID. */
#define SWTPM_DIR "/var/lib/libvirt/swtpm"
/* A remote command names every range of a file: at most this many. */
#define RANGES_MAX 512

struct copier {
	struct exec *x;
	struct unit *u;
	struct sshx *ss, *ds;	/* taken for this step: no host lock held */
};

struct copy_meter {
	struct copier *c;
	const char *path;
	gint64 last, t0;
	gboolean kill_half;
	gboolean meet;		/* VMSHIFT_FAULT meet: wait at half for another copy */
	gboolean hold;		/* VMSHIFT_FAULT hold: wait at half for Ctrl-C */
	gboolean met;
};

/* Test only (VMSHIFT_FAULT=copy-disks:meet): at half of its data, a copy
 * leaves a mark in the state directory and waits until another copy has
 * left one too.  Two copies meet only if both are halfway at once: the
 * proof that they run side by side, whatever the timing.  Gives up after
 * VMSHIFT_FAULT_MEET_S seconds, ten minutes by default (then FALSE: the
 * copy stops). */
static gboolean
copy_meet(struct copy_meter *p)
{
	struct exec *x = p->c->x;
	g_autofree char *tag = g_compute_checksum_for_string(G_CHECKSUM_SHA1, p->c->u->id, -1);
	g_autofree char *name = g_strdup_printf("meet.%s", tag);
	g_autofree char *mark = g_build_filename(x->state_dir, name, NULL);
	const char *limit = g_getenv("VMSHIFT_FAULT_MEET_S");
	gint64 until = g_get_monotonic_time() + (limit ? g_ascii_strtoll(limit, NULL, 10) : 600) * G_USEC_PER_SEC;

	p->met = TRUE;
	if (!g_file_set_contents(mark, p->path, -1, NULL))
		return FALSE;
	sink_log(&x->sink, "VMSHIFT_FAULT: %s is halfway through %s: waiting for another copy", p->c->u->id, p->path);
	while (g_get_monotonic_time() < until) {
		g_autoptr(GDir) d = g_dir_open(x->state_dir, 0, NULL);
		const char *e;
		guint n = 0;

		while (d && (e = g_dir_read_name(d)))
			n += g_str_has_prefix(e, "meet.");
		if (n >= 2) {
			sink_log(&x->sink, "VMSHIFT_FAULT: %s met another copy halfway", p->c->u->id);
			return TRUE;
		}
		g_usleep(G_USEC_PER_SEC / 20);
	}
	sink_log(&x->sink, "VMSHIFT_FAULT: %s met no other copy", p->c->u->id);
	return FALSE;
}

/* Test only (VMSHIFT_FAULT=copy-disks:hold): at half of its data, a copy
 * waits for Ctrl-C (ten minutes at most), so that a test interrupts it in
 * the middle however fast the copy would be. */
static void
copy_hold(struct copy_meter *p)
{
	struct exec *x = p->c->x;
	gint64 until = g_get_monotonic_time() + 600 * G_USEC_PER_SEC;

	p->met = TRUE;
	sink_log(&x->sink, "VMSHIFT_FAULT: %s holds halfway through %s", p->c->u->id, p->path);
	while (g_get_monotonic_time() < until && !(x->o->interrupted && *x->o->interrupted))
		g_usleep(G_USEC_PER_SEC / 20);
}

/* FALSE on a signal (Ctrl-C): the copy stops after this chunk, its part
 * file kept for resume.  @done and @total count data, not holes. */
static gboolean
copy_progress(guint64 done, guint64 total, gpointer ud)
{
	struct copy_meter *p = ud;
	struct exec *x = p->c->x;
	gint64 now = g_get_monotonic_time();

	if (p->kill_half && done * 2 >= total && done < total) {
		sink_log(&x->sink, "VMSHIFT_FAULT: killing vmshift in the middle of copying %s", p->path);
		raise(SIGKILL);
	}
	if (p->meet && !p->met && done * 2 >= total && done < total && !copy_meet(p))
		return FALSE;
	if (p->hold && !p->met && done * 2 >= total && done < total)
		copy_hold(p);
	if (x->o->interrupted && *x->o->interrupted)
		return FALSE;
	if (now - p->last < (x->o->progress ? G_USEC_PER_SEC / 4 : 2 * G_USEC_PER_SEC) && done < total)
		return TRUE;
	if (p->last == 0)
		p->t0 = now;
	p->last = now;
	{
		double rate = now > p->t0 ? (double)(done >> 10) / 1024.0 / ((now - p->t0) / 1e6) : 0.0;
		double eta = rate > 0 ? (double)((total - done) >> 20) / rate : 0.0;

		sink_progress(&x->sink, p->c->u->id,
			      "copy-disks %3" G_GUINT64_FORMAT "%% %s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " MiB of data, %.1f MiB/s, ETA %.0f s",
			      total ? done * 100 / total : 100, p->path, done >> 20, total >> 20, rate, eta);
		events_progress(&x->sink, p->c->u->id, step_name(STEP_COPY_DISKS), done, total, rate, rate > 0 ? (gint64)eta : -1, p->path);
	}
	return TRUE;
}

/* The source's data ranges; every byte if its host has no qemu-img. */
static GArray *
source_ranges(struct copier *c, const char *sp, guint64 size, GError **err)
{
	gboolean no_tool = FALSE;
	g_autoptr(GError) e = NULL;
	GArray *r = sshx_extents(c->ss, sp, size, &no_tool, &e);

	if (!r && no_tool) {
		sink_log(&c->x->sink, "%s: %s has no qemu-img: copying every byte of %s, holes too", c->u->id,
			 c->u->src->h->name, sp);
		return extents_dense(size);
	}
	if (!r) {
		g_propagate_error(err, g_steal_pointer(&e));
		return NULL;
	}
	extents_coalesce(r, RANGES_MAX);
	return r;
}

/* As disks.verify asks.  A fresh copy: the target's ranges hashed once
 * against what the stream hashed (@digest; NULL if the direct copy
 * checked that already); a resumed one always by sha256 of both whole
 * files: its first part was written by another process. */
static int
verify_copy(struct copier *c, const char *sp, const char *part, const GArray *ranges, gboolean resumed,
	    const char *digest, GError **err)
{
	enum verify level = resumed ? VERIFY_SHA256 : c->u->m->set.disks.verify;
	g_autofree char *differs = NULL;
	char got[65];

	if (resumed || level != VERIFY_SHA256) {
		if (step_compare_files(c->ss, sp, c->ds, part, level, &differs, err) < 0)
			return -1;
	} else {
		if (step_compare_files(c->ss, sp, c->ds, part, VERIFY_SIZE, &differs, err) < 0)
			return -1;
		/* NULL: checked batch by batch as it landed (step_direct.c) */
		if (!digest)
			return differs ? step_fail(err, "the copy of '%s' differs from the source: %s", sp, differs) : 0;
		if (!differs && sshx_digest(c->ds, part, ranges, got, err) < 0)
			return -1;
		if (!differs && strcmp(got, digest))
			differs = g_strdup_printf("sha256 of the data %s on the target, %s as read on the source", got, digest);
	}
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
copy_already_there(struct copier *c, const char *sp, const char *tp, GError **err)
{
	struct exec *x = c->x;
	struct unit *u = c->u, *o;
	gboolean same;

	/* a layer another migration of this run brought (and rebased) from
	 * the same source file: the bytes are known */
	if (!(o = claims_copied_from_same(x, u, sp, tp))) {
		same = step_same_in_run(x, u, c->ss, sp, c->ds, tp, err);
		if (err && *err)
			return -1;
		if (!same)
			return 0;
		o = claims_copied_by_other(x, u, tp);
	}
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
copy_set_aside(struct copier *c, const char *tp, GError **err)
{
	struct unit *u = c->u, *o;
	g_autofree char *orig = g_strconcat(tp, ORIG_SUFFIX, NULL);

	if (!u->m->set.disks.overwrite)
		return step_fail(err, "'%s' exists on %s and differs from the source; set disks.overwrite: true to replace it",
				 tp, u->dst->h->name);
	if ((o = claims_other_user(c->x, u, tp)))
		return step_fail(err, "'%s' on %s is a disk of %s, migrated in this run; not replacing it", tp,
				 u->dst->h->name, o->id);
	if (unit_record_append(c->x, u, STEP_COPY_DISKS, FACT_BACKUPS, tp, err) < 0 || sshx_rename(c->ds, tp, orig, err) < 0)
		return -1;
	return 0;
}

/* The part file: journaled before it is made, so that only this copy
 * resumes it; *@have: its size, where a resumed copy starts.  The
 * directories made for it get the owner of @sp's directory. */
static int
copy_part(struct copier *c, const char *sp, const char *tp, const char *part, guint64 *have, GError **err)
{
	struct exec *x = c->x;
	struct unit *u = c->u;
	g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *dir = g_path_get_dirname(tp), *sdir = g_path_get_dirname(sp);
	gboolean exists = FALSE;

	*have = 0;
	if (sshx_mkdir_p(c->ds, dir, 0755, made, err) < 0)
		return -1;
	/* a directory vmshift makes is owned as the source file's is */
	for (guint i = 0; i < made->len; i++)
		if (unit_record_append(x, u, STEP_COPY_DISKS, FACT_DIRS, made->pdata[i], err) < 0 ||
		    step_copy_owner(c->ss, sdir, c->ds, made->pdata[i], u, err) < 0)
			return -1;
	if (step_refuse_link(c->ds, part, u->dst, &exists, err) < 0 ||
	    (exists && claims_refuse_foreign_part(x, u, part, err) < 0))
		return -1;
	if (!exists)
		return unit_record_append(x, u, STEP_COPY_DISKS, FACT_PARTS, part, err);
	return sshx_lstat(c->ds, part, &exists, have, NULL, err);
}

/* Copy into the part file, verify, set its owner, journal, rename into
 * place, then rebase it onto @below (if a layer above one). */
static int
copy_transfer(struct copier *c, const char *sp, const char *tp, const struct layer *below, GError **err)
{
	struct exec *x = c->x;
	struct unit *u = c->u;
	g_autofree char *part = g_strconcat(tp, PART_SUFFIX, NULL);
	struct copy_meter p = { c, sp, 0, 0, fault_due(x, u, STEP_COPY_DISKS, "kill"),
				fault_due(x, u, STEP_COPY_DISKS, "meet"), fault_due(x, u, STEP_COPY_DISKS, "hold"), FALSE };
	g_autoptr(GArray) ranges = NULL;
	struct sshx_copy_opts o = { .progress = copy_progress, .ud = &p };
	gboolean exists = FALSE, direct;
	guint64 have = 0, size = 0;
	guint32 mode = 0;
	char digest[65] = "";
	int rc;

	if (copy_part(c, sp, tp, part, &have, err) < 0 || sshx_stat(c->ss, sp, &exists, &size, &mode, err) < 0 ||
	    !(ranges = source_ranges(c, sp, size, err)))
		return -1;
	if (!(direct = step_direct_wanted(x, u, c->ss, c->ds, err)) && err && *err)
		return -1;
	o.offset = have;
	o.ranges = ranges;
	o.hash = !have && u->m->set.disks.verify == VERIFY_SHA256;
	if (have)
		sink_log(&x->sink, "%s: resuming the copy of %s at %" G_GUINT64_FORMAT " MiB (verified by sha256 at the end)",
			 u->id, sp, have >> 20);
	sink_log(&x->sink, "%s: copying %s:%s to %s:%s (%" G_GUINT64_FORMAT " MiB of data in %" G_GUINT64_FORMAT " MiB, %s)",
		 u->id, u->src->h->name, sp, u->dst->h->name, tp, extents_bytes(ranges) >> 20, size >> 20,
		 direct ? "sent by the source" : "relayed by the controller");
	if (direct) {
		struct direct_copy d = { ranges, have, size, (long)(mode & 0777), o.hash, copy_progress, &p };

		rc = step_direct_copy(u, c->ss, c->ds, sp, part, &d, err);
	} else {
		rc = sshx_copy_ranges(c->ss, sp, c->ds, part, &o, digest, err) < 0 ? -1 : 0;
	}
	if (rc < 0)
		return -1;
	if (verify_copy(c, sp, part, ranges, have > 0, direct ? NULL : digest, err) < 0) {
		g_autoptr(GError) e = NULL;

		sshx_unlink(c->ds, part, &e);	/* a bad copy is worth nothing */
		return -1;
	}
	if (step_copy_owner(c->ss, sp, c->ds, part, u, err) < 0 ||
	    unit_record_append(x, u, STEP_COPY_DISKS, FACT_COPIED, tp, err) < 0 || sshx_rename(c->ds, part, tp, err) < 0)
		return -1;
	/* in place and journaled: a crash before the rebase is made good by
	 * the next run (copy_file()), and no VM uses it before that */
	if (below && chain_rebase(c->ds, tp, below, err) < 0)
		return -1;
	if (below && fault_due(x, u, STEP_COPY_DISKS, "fail-after-rebase"))
		return step_fail(err, "VMSHIFT_FAULT: failing copy-disks after rebasing %s", tp);
	return 0;
}

/* One file (a disk, a layer of its chain, an nvram) to the target, under
 * the run's lock of that target path: a base two migrations share is
 * copied by the first, and found there by the second.  @state: a file of
 * libvirt's own state (TPM), whose place libvirt fixes, not the plan. */
static int
copy_file(struct copier *c, const char *sp, const char *tp, const struct layer *below, gboolean state, GError **err)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	GMutex *lock = claims_file_lock(c->x, c->u->dst, tp);
	gboolean exists = FALSE;
	int rc = -1, there;

	if (facts_array_has(fact_array(c->u, FACT_COPIED), tp)) {
		g_autofree char *part = g_strconcat(tp, PART_SUFFIX, NULL);

		rc = copy_journaled(c->ds, tp, part, err);
		/* the rename may have come before a crash, the rebase not */
		if (rc == 0 && below && !claims_copied_by_other(c->x, c->u, tp))
			rc = chain_rebase(c->ds, tp, below, err);
		goto out;
	}
	if (step_refuse_link(c->ds, tp, c->u->dst, &exists, err) < 0)
		goto out;
	if (exists && (there = copy_already_there(c, sp, tp, err)) != 0) {
		rc = there < 0 ? -1 : 0;
		goto out;
	}
	/* from here on it writes; preflight skipped this check for a file
	 * that was identical then */
	if (!state)
		storage_check_write(c->u, c->ds, sp, tp, FALSE, problems);
	if (problems->len) {
		rc = step_fail(err, "%s", (char *)problems->pdata[0]);
		goto out;
	}
	if (exists && copy_set_aside(c, tp, err) < 0)
		goto out;
	rc = copy_transfer(c, sp, tp, below, err);
out:
	g_mutex_unlock(lock);
	return rc;
}

/* A qcow2 disk with its chain: the deepest layer first, so that each
 * layer above finds its backing file in place, then the chain checked
 * on the target as qemu will open it. */
static int
copy_chain(struct copier *c, const char *sp, const char *tp, GError **err)
{
	g_autoptr(GPtrArray) layers = chain_of(c->x, c->u, c->ss, sp, NULL, err);

	if (!layers)
		return -1;
	if (strcmp(((struct layer *)layers->pdata[0])->dst, tp))
		return step_fail(err, "'%s' remaps to '%s' in the definition but to '%s' as an image", sp, tp,
				 ((struct layer *)layers->pdata[0])->dst);
	for (guint i = layers->len; i-- > 0;) {
		const struct layer *l = layers->pdata[i], *below = i + 1 < layers->len ? layers->pdata[i + 1] : NULL;

		if (copy_file(c, l->src, l->dst, below, FALSE, err) < 0)
			return -1;
	}
	return layers->len > 1 ? chain_check_target(c->ds, layers, err) : 0;
}

/* The TPM's state: every file below @dir (the domain's swtpm directory,
 * at the same place on both hosts), as the disks are copied: journaled,
 * verified, removed by rollback.  None there: the TPM never ran. */
static int
copy_tpm_dir(struct copier *c, const char *dir, guint depth, GError **err)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) dirs = g_ptr_array_new();

	if (depth > 4)
		return step_fail(err, "'%s' on %s: deeper than a TPM's state directory", dir, c->u->src->h->name);
	if (sshx_list(c->ss, dir, names, dirs, err) < 0)
		return -1;
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *p = g_build_filename(dir, (char *)names->pdata[i], NULL);
		int rc = dirs->pdata[i] ? copy_tpm_dir(c, p, depth + 1, err) : copy_file(c, p, p, NULL, TRUE, err);

		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
copy_tpm(struct copier *c, const char *base, GError **err)
{
	g_autofree char *dir = g_build_filename(base, domxml_uuid(c->u->sxml), NULL);
	gboolean exists = FALSE;
	guint32 mode = 0;

	if (sshx_lstat(c->ss, dir, &exists, NULL, &mode, err) < 0)
		return -1;
	if (!exists) {
		sink_log(&c->x->sink, "%s: no TPM state in %s on %s (the TPM never ran): nothing to carry", c->u->id, dir,
			 c->u->src->h->name);
		return 0;
	}
	if ((mode & 0170000) != 0040000)
		return step_fail(err, "'%s' on %s is not a directory", dir, c->u->src->h->name);
	sink_log(&c->x->sink, "%s: carrying the TPM state %s to %s", c->u->id, dir, c->u->dst->h->name);
	return copy_tpm_dir(c, dir, 0, err);
}

int
step_copy_disks(struct exec *x, struct unit *u, GError **err)
{
	g_auto(Files) f = { 0 };
	g_autoptr(GPtrArray) disks = NULL;
	struct copier c = { x, u, NULL, NULL };
	int rc = -1;

	if (step_xml_load(x, u, err) < 0)
		return -1;
	step_files_load(u, &f);
	disks = domxml_disks(u->sxml);
	if (!(c.ss = host_ssh_take(u->src, err)) || !(c.ds = host_ssh_take(u->dst, err)))
		goto out;
	rc = 0;
	for (guint i = 0; i < f.s->len && rc == 0; i++) {
		struct dom_path *s = f.s->pdata[i], *t = f.t->pdata[i];

		if (!s->copy)
			continue;
		if (s->kind == DOM_PATH_DISK && step_disk_is_qcow2(disks, s))
			rc = copy_chain(&c, s->path, t->path, err);
		else
			rc = copy_file(&c, s->path, t->path, NULL, FALSE, err);
	}
	if (rc == 0 && domxml_tpm_emulator(u->sxml))
		rc = copy_tpm(&c, SWTPM_DIR, err);
out:
	/* a session a failed call may have left in any state is not reused */
	if (rc < 0) {
		sshx_free(c.ss);
		sshx_free(c.ds);
	} else {
		host_ssh_give(u->src, c.ss);
		host_ssh_give(u->dst, c.ds);
	}
	return rc;
}
