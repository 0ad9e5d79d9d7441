/* step_common.h: what the step families (step_*.c) share.
 *
 * The steps layer: it builds on units (unit.h) and hosts, and is called
 * by the step table (steps.c) and the engine above it, never the other
 * way.  Errors go through GError, with the host and path in the message;
 * lines for people (dry-run) through step_note().
 */
#ifndef VMSHIFT_STEP_COMMON_H
#define VMSHIFT_STEP_COMMON_H

#include "unit.h"

/* SECURE: the definition with its secrets (VNC passwords...), since the
 * target must get them.  A read-only (dry-run) connection may ask for
 * neither that nor the migratable form; a dry-run should not print
 * secrets anyway. */
#define XML_FLAGS(x) (VIR_DOMAIN_XML_INACTIVE | \
		      ((x)->o->dry_run ? 0 : VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE))
#define PART_SUFFIX ".vmshift-part"
#define STATE_DIR_MIN_FREE (16 << 20)
#define ORIG_SUFFIX ".vmshift-orig"

/* -1, with @err set to the message (G_IO_ERROR_FAILED) */
int step_fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* step_fail() with libvirt's message of the call that just failed (this thread's) */
int step_lv_fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* A line for people in u->report (dry-run), if it has one. */
void step_note(struct unit *u, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
char *step_human_size(guint64 n);
/* Does the plan start the VM on the target? */
gboolean step_will_start(struct unit *u, gboolean source_running);

/* ---- the domain's XML (step_xml.c) ---- */
/* @texts[i] into @dir/@names[i], each whole or not at all (a synced
 * temporary file renamed), in order, then the directory synced: n + 1
 * syncs for n files.  0600. */
int step_write_files(const char *dir, const char *const *names, const char *const *texts, guint n, GError **err);
/* u->sxml from @xml, u->txml its remapped copy, u->changes what changed. */
int step_xml_set(struct exec *x, struct unit *u, const char *xml, GError **err);
/* u->sxml and u->txml from the saved source XML (export-xml's), if not
 * loaded yet: the source domain itself may be gone by now. */
int step_xml_load(struct exec *x, struct unit *u, GError **err);
/* @path as the unit's paths rules remap it (a copy if no rule matches). */
char *step_remap_path(struct exec *x, struct unit *u, const char *path, GError **err);

/* ---- the files the domain references, source and target paired: the
 * remapped document lists the same paths in the same order ---- */
struct files {
	GPtrArray *s;	/* struct dom_path *, in the source definition */
	GPtrArray *t;	/* the same, remapped for the target */
};
typedef struct files Files;
struct file_pair {
	struct dom_path *src;
	struct dom_path *dst;
};
void step_files_load(struct unit *u, struct files *f);
void step_files_release(struct files *f);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Files, step_files_release)

/* ---- checks on hosts ---- */
/* Before the target may run: the source must be off, or both would use
 * the same disks (a resumed run may find it started again since). */
int step_source_still_off(struct unit *u, GError **err);
/* The nearest existing ancestor directory of @path on @s. */
char *step_existing_ancestor(struct sshx *s, const char *path, GError **err);
/* lstat @path: a symlink there is refused (vmshift never writes through
 * one, whoever planted it). */
int step_refuse_link(struct sshx *s, const char *path, struct hostconn *hc, gboolean *exists, GError **err);
/* Compare the files as @level says: -1 if it cannot tell (*err), else 0
 * with *@differs NULL if they are the same, or saying how they differ. */
int step_compare_files(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, enum verify level,
		       char **differs, GError **err);
/* TRUE only if the same (sha256); FALSE with *err set if it cannot tell */
gboolean step_same_content(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, GError **err);
/* Is the disk @p (a DOM_PATH_DISK of the source) a qcow2 image, as its
 * <driver type> in @disks (domxml_disks()) says? */
gboolean step_disk_is_qcow2(GPtrArray *disks, const struct dom_path *p);
/* Give the copy @tp on the target the owner the target's qemu expects:
 * the source file's owner, by name, if the target knows that name, else
 * the user and group of the target's qemu.conf; kept if neither says. */
int step_copy_owner(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, struct unit *u, GError **err);
/* step_same_content() of @u's source file @sp and target file @tp, asked
 * once per run: a base that fifty VMs share is hashed once, not fifty
 * times.  Only "the same" is remembered: a file found different may be
 * copied over by then; one found the same is left alone by every copy. */
gboolean step_same_in_run(struct exec *x, struct unit *u, struct sshx *ss, const char *sp, struct sshx *ds,
			  const char *tp, GError **err);
/* @tp on @u's target is gone (an undo removed it): forget it was the same. */
void step_same_forget(struct exec *x, struct unit *u, const char *tp);
/* Set autostart on the target's @t if the source had it. */
int step_carry_autostart(struct exec *x, struct unit *u, virDomainPtr t, GError **err);

/* ---- claims.c: before anything runs, what each unit will take ---- */
/* Refuse (G_IO_ERROR_INVALID_ARGUMENT) a domain that two units would
 * move, and a target file that two different source files would become. */
int claims_check(struct exec *x, GError **err);
/* Another unit of the run (not rolled back) whose domain uses @path on
 * @u's target host, or NULL. */
struct unit *claims_other_user(struct exec *x, struct unit *u, const char *path);
/* Another unit of the run (not rolled back) that copied @path to @u's
 * target host, or NULL. */
struct unit *claims_copied_by_other(struct exec *x, struct unit *u, const char *path);
/* Another unit of the run (not rolled back) that copied @tp to @u's
 * target host from @sp on @u's source host: the same file, brought (and
 * rebased) already.  NULL if none. */
struct unit *claims_copied_from_same(struct exec *x, struct unit *u, const char *sp, const char *tp);
/* The directories that rolled-back units of the run made on @u's target
 * and may have left because a file of @u was in them then: newest first,
 * g_free()'d. */
GPtrArray *claims_dirs_left(struct exec *x, struct unit *u);
/* Another unit of the run whose journal lists the part file @path. */
struct unit *claims_other_part(struct exec *x, struct unit *u, const char *path);
/* The run's lock of @path on @hc, locked: one migration at a time writes
 * (or finds) a target file.  The caller unlocks it; it lives as long as
 * the run. */
GMutex *claims_file_lock(struct exec *x, struct hostconn *hc, const char *path);
/* Refuse the part file @part on @u's target unless this unit's journal
 * says it created it. */
int claims_refuse_foreign_part(struct exec *x, struct unit *u, const char *part, GError **err);

/* ---- storage.c: what the disks really are ---- */
/* Problems with the disks of @u for its mode: unprovable shared storage,
 * disk types or chains the mode cannot move.  @ss/@ds: SSH sessions
 * (locked by the caller), NULL where there is none.  The backing files
 * offline-with-scp-disk copies join @facts' target and source files. */
void storage_preflight(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, JsonObject *facts,
		       GPtrArray *problems);
/* A problem unless vmshift may write @path on @u's target: below one of
 * its storage pools' directories or the plan's image_dirs (@logs: or
 * /var/log/libvirt), and not led elsewhere by a symlinked directory.
 * @ds: the target's session, locked by the caller. */
void storage_check_write(struct unit *u, struct sshx *ds, const char *what, const char *path, gboolean logs,
			 GPtrArray *problems);
/* A probe file made beside @src_path on @ss: does it show up beside
 * @dst_path on @ds?  *shared stays TRUE when it cannot tell (-1). */
int storage_probe(struct sshx *ss, const char *src_path, struct sshx *ds, const char *dst_path, gboolean *shared,
		  GError **err);

/* ---- step_direct.c: the source host sends the bytes itself ---- */
/* Should @u's copies go straight from its source host to its target
 * (disks.transfer, and for auto a probe, once per pair of hosts and run,
 * that the source's own ssh reaches the target machine: a marker made
 * in /var/lib/libvirt there must be there for it)?  FALSE with @err set
 * if it must and cannot.  Not in a dry-run: the probe writes. */
gboolean step_direct_wanted(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, GError **err);
/* preflight's part: what the dry-run says, or (applying) the probe, a
 * problem if transfer is direct and the source cannot reach the target. */
void step_direct_preflight(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, GPtrArray *problems);
struct direct_copy {
	const GArray *ranges;	/* struct extent: the source's data */
	guint64 have;		/* the part file's size: resume there */
	guint64 size;		/* the source's size: the copy's in the end */
	long mode;		/* a new part file's permission bits */
	gboolean check;		/* verify each batch by sha256 as it lands */
	sshx_progress_fn progress;
	gpointer ud;
};
/* Copy @sp to the part file @part on the target, the source host sending. */
int step_direct_copy(struct unit *u, struct sshx *ss, struct sshx *ds, const char *sp, const char *part,
		     const struct direct_copy *d, GError **err);

/* ---- chain.c: a disk and the images below it ---- */
struct layer {
	char *src;	/* on the source */
	char *dst;	/* remapped: on the target */
	char *format;	/* "qcow2" or "raw" */
};
/* Every layer under the qcow2 image @path as its headers name them
 * (read over SFTP, relative names resolved), top first, @path itself not
 * included; at most 16.  NULL with @err set on failure. */
GPtrArray *chain_headers(struct sshx *s, const char *path, GError **err);
/* @path (on the source) and every backing file below it, top first, as
 * `qemu-img info --backing-chain` sees them there and the qcow2 headers
 * agree; each remapped by the unit's paths rules.  Refused (NULL, @err):
 * a format other than qcow2 and raw, a backing file that is not a plain
 * absolute path, a raw backing file whose format the overlay does not
 * record (qemu would probe it), and qemu-img and the headers disagreeing.
 * Of struct layer *, free function set.  @heads: chain_headers() of
 * @path if the caller has read them already, else NULL. */
GPtrArray *chain_of(struct exec *x, struct unit *u, struct sshx *ss, const char *path, GPtrArray *heads,
		    GError **err);
/* Make the copied layer @l on the target name @below (its remapped
 * backing file) with its format, unless it does already: `qemu-img
 * rebase -u`.  @path: where @l is now (its part file or its place). */
int chain_rebase(struct sshx *ds, const char *path, const struct layer *below, GError **err);
/* `qemu-img info --backing-chain` of the top on the target must list
 * exactly the layers' target paths and formats. */
int chain_check_target(struct sshx *ds, GPtrArray *layers, GError **err);

#endif
