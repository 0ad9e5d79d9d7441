/* exec_priv.h: what the executor's files share. */
#ifndef VMSHIFT_EXEC_PRIV_H
#define VMSHIFT_EXEC_PRIV_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domxml.h"
#include "executor.h"
#include "journal.h"
#include "sshx.h"

/* One host of the plan, connected. */
struct hostconn {
	struct host *h;
	virConnectPtr conn;	/* thread-safe: shared by every unit */
	struct sshx *ssh;	/* not thread-safe: hold ->mu while using it */
	GMutex mu;
	char *ssh_error;	/* why ->ssh could not be had, once tried */
	gboolean ssh_tried;
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
	char **only;		/* the selection: --only, or for resume the run's own */
	struct journal *j;	/* NULL in dry-run and status */
	GPtrArray *hosts;	/* struct hostconn *, plan order */
	GPtrArray *units;	/* struct unit *, plan order */
	GMutex mu;		/* guards unit status while threads run */
	GCond cond;
	char *fault_step;	/* VMSHIFT_FAULT (test only) */
	char *fault_action;
	char *fault_unit;
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
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(virDomainPtr, dom_free, NULL)
char *unit_file(struct unit *u, const char *name);
int unit_load_xml(struct exec *x, struct unit *u, GError **err);
void note(struct unit *u, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
gboolean will_start(struct unit *u, gboolean source_running);
char *human_size(guint64 n);
int export_xml(struct exec *x, struct unit *u, GError **err);

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
/* Test-only fault injection (VMSHIFT_FAULT=STEP:fail|kill[:UNIT]):
 * TRUE if @action is due at this point of @s. */
gboolean fault_due(struct exec *x, struct unit *u, enum step s, const char *action);

#endif
