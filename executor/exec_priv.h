/* exec_priv.h: what the executor's files share. */
#ifndef VMSHIFT_EXEC_PRIV_H
#define VMSHIFT_EXEC_PRIV_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domxml.h"
#include "executor.h"
#include "journal.h"
#include "sshx.h"

/* Journal fact keys that more than one file uses (the journal's format:
 * docs and old journals depend on the strings). */
#define FACT_FINGERPRINT "fingerprint"
#define FACT_FINGERPRINT_VERSION "fingerprint_version"	/* absent: 1 */
#define FACT_SOURCE_HOST_UUID "source_host_uuid"	/* libvirt host UUIDs the attempt used */
#define FACT_TARGET_HOST_UUID "target_host_uuid"
#define FACT_TARGET_DEFINED "target_defined"	/* vmshift defined (or was about to define) the target domain */
#define FACT_TARGET_FILES "target_files"	/* the files the target domain uses that vmshift may copy */
#define FACT_SOURCE_FILES "source_files"	/* their source paths, the same order */
#define FACT_COPIED "copied"	/* target paths this unit copied (or shares with a unit that did) */

/* One host of the plan, connected. */
struct hostconn {
	struct host *h;
	virConnectPtr conn;	/* thread-safe: shared by every unit */
	struct sshx *ssh;	/* not thread-safe: hold ->mu while using it */
	GMutex mu;
	char *ssh_error;	/* why ->ssh could not be had, once tried */
	gboolean ssh_tried;
	char *uuid;		/* the libvirt host's UUID (capabilities): who it is */
	GPtrArray *image_dirs;	/* where writes may go: its pools' paths and the plan's image_dirs */
};

enum unit_status {
	U_PENDING,
	U_RUNNING,
	U_DONE,
	U_FAILED,		/* a step failed; not rolled back (or rollback failed) */
	U_ROLLED_BACK,
	U_BLOCKED,		/* something it runs after failed or was not selected */
	U_INTERRUPTED,
};

/* One VM moving: a migration with vm:, or one domain a match: found. */
struct unit {
	char *id;		/* migration id, or "id/vm" for a match */
	struct migration *m;
	char *vm;
	struct hostconn *src, *dst;
	char *dir;		/* its files in the state directory */
	JsonObject *facts;	/* what steps learnt; undo needs it; journaled */
	enum unit_status status;
	GArray *done;		/* enum step, in the order they finished */
	int running;		/* the step started and not finished, or -1 */
	int failed_step;	/* -1 if none */
	char *error;
	gboolean selected;	/* by --only (or everything) */
	gboolean finished;	/* its worker is done, rollback included (under exec->mu) */
	gboolean undoing;	/* being rolled back: its files count as gone (under exec->mu) */
	GString *report;	/* dry-run: what it would do */
	/* runtime */
	struct domxml *sxml;	/* source definition */
	struct domxml *txml;	/* remapped for the target */
	GPtrArray *changes;	/* struct dom_change * */
};

struct exec {
	struct plan *plan;
	const struct exec_opts *o;
	char *state_dir;
	char *plan_file;	/* the plan's path, absolute: what the journal ties a state directory to */
	char **only;		/* the selection: --only, or for resume the run's own */
	struct journal *j;	/* NULL in dry-run and status */
	GPtrArray *hosts;	/* struct hostconn *, plan order */
	GPtrArray *units;	/* struct unit *, plan order */
	GMutex mu;		/* guards unit status while threads run */
	GCond cond;
	gint journal_failed;	/* a journal write failed (atomic) */
	GPtrArray *faults;	/* VMSHIFT_FAULT (test only): char *[3] step, action, unit or NULL */
};

/* hosts.c */
int hosts_connect(struct exec *x, GError **err);
void hosts_close(struct exec *x);
/* The SSH session of @hc, connecting on first use; NULL if the host
 * has no SSH access (plan) or it failed (*err says which). */
struct sshx *host_ssh(struct exec *x, struct hostconn *hc, GError **err);
char *libvirt_error(void);

/* steps.c */
typedef int (*step_fn)(struct exec *x, struct unit *u, GError **err);
struct step_impl {
	enum step step;
	step_fn run;
	step_fn undo;		/* NULL: nothing to undo */
	const char *undo_says;	/* for dry-run and status: what undo does */
	/* A rollback goes on past a failed undo, except: */
	gboolean undo_fail_stops;	/* after it nothing more may be undone (the VM would be nowhere) */
	gboolean undo_fail_target_may_run;	/* the guest may still run on the target */
	gboolean undo_needs_target_off;	/* skipped while the guest may run on the target */
};
const struct step_impl *step_impl(enum step s);
/* Dry-run and first step: every check, nothing changed; lines for
 * people in u->report. */
int step_preflight(struct exec *x, struct unit *u, GError **err);

/* steps.c: helpers live.c shares */
int fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* fail() with libvirt's message of the call that just failed (this thread's) */
int lv_fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* NULL: *missing says "does not exist", else @err says why the call failed */
virDomainPtr dom_lookup(struct hostconn *hc, const char *name, gboolean *missing, GError **err);
virDomainPtr dom_by_uuid(struct hostconn *hc, const char *uuid, gboolean *missing, GError **err);
gboolean dom_is_running(virDomainPtr d);	/* TRUE unless positively shut off */
void dom_free(virDomainPtr d);
/* virDomainUndefineFlags() with KEEP_NVRAM only if @d has NVRAM */
int dom_undefine(virDomainPtr d);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(virDomainPtr, dom_free, NULL)
char *unit_file(struct unit *u, const char *name);
int unit_load_xml(struct exec *x, struct unit *u, GError **err);
/* u->sxml from @xml, u->txml its remapped copy, u->changes what changed. */
int unit_set_xml(struct exec *x, struct unit *u, const char *xml, GError **err);
void note(struct unit *u, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
gboolean will_start(struct unit *u, gboolean source_running);
char *human_size(guint64 n);
int export_xml(struct exec *x, struct unit *u, GError **err);
/* Set autostart on the target's @t if the source had it. */
int carry_autostart(struct exec *x, struct unit *u, virDomainPtr t, GError **err);
/* Journal the TRUE fact @key (before the act it announces). */
int record_flag(struct exec *x, struct unit *u, enum step s, const char *key, GError **err);

/* claims.c: before anything runs, what each unit will take */
/* Refuse (G_IO_ERROR_INVALID_ARGUMENT) a domain that two units would
 * move, and a target file that two different source files would become. */
int claims_check(struct exec *x, GError **err);
/* Another unit of the run (not rolled back) whose domain uses @path on
 * @u's target host, or NULL. */
struct unit *claims_other_user(struct exec *x, struct unit *u, const char *path);
/* Another unit of the run (not rolled back) that copied @path to @u's
 * target host, or NULL. */
struct unit *claims_copied_by_other(struct exec *x, struct unit *u, const char *path);
/* Another unit of the run whose journal lists the part file @path. */
struct unit *claims_other_part(struct exec *x, struct unit *u, const char *path);

/* storage.c: what the disks really are (see there) */
/* Problems with the disks of @u for its mode: unprovable shared storage,
 * disk types or chains the mode cannot move.  @ss/@ds: SSH sessions
 * (locked by the caller), NULL where there is none. */
void storage_preflight(struct exec *x, struct unit *u, struct sshx *ss, struct sshx *ds, GPtrArray *problems);
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

/* live.c: mode live */
void preflight_live(struct exec *x, struct unit *u, virDomainPtr src, GPtrArray *problems);
int migrate_live(struct exec *x, struct unit *u, GError **err);
int migrate_live_undo(struct exec *x, struct unit *u, GError **err);

/* executor.c: helpers for steps */
void exec_log(struct exec *x, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Progress of @u: to the status display if there is one, else a log line
 * (the caller limits how often).  NULL @fmt clears it. */
void exec_progress(struct exec *x, struct unit *u, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Merge @delta into the unit's facts and journal it at once, so that a
 * crash in the middle of a step still leaves what undo needs. */
int unit_record_facts(struct exec *x, struct unit *u, enum step s, JsonObject *delta, GError **err);
gboolean fact_bool(struct unit *u, const char *key, gboolean dflt);
const char *fact_str(struct unit *u, const char *key);
JsonArray *fact_array(struct unit *u, const char *key);
/* Test-only fault injection (VMSHIFT_FAULT=STEP:fail|kill|undo-fail[:UNIT],...):
 * TRUE if @action is due at this point of @s. */
gboolean fault_due(struct exec *x, struct unit *u, enum step s, const char *action);

#endif
