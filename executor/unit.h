/* unit.h: a run, and the units it moves.
 *
 * A unit is one VM's migration: a plan entry with vm:, or one domain a
 * match: entry found.  This layer holds a unit's life cycle (status, the
 * steps done), its facts and the journal records that carry them, the
 * journal's replay into units, and the test-only fault injection.  Steps
 * (steps.h) build on it; it knows nothing of what a step does.
 */
#ifndef VMSHIFT_UNIT_H
#define VMSHIFT_UNIT_H

#include <json-glib/json-glib.h>

#include "domxml.h"
#include "events.h"
#include "executor.h"
#include "facts.h"
#include "hosts.h"
#include "journal.h"

enum unit_status {
	U_PENDING,
	U_RUNNING,
	U_DONE,
	U_FAILED,		/* a step failed; not rolled back (or rollback failed) */
	U_ROLLED_BACK,
	U_BLOCKED,		/* something it runs after failed or was not selected */
	U_INTERRUPTED,
	U_DEFERRED,		/* not started: outside the maintenance window (window.h) */
};
#define U__COUNT (U_DEFERRED + 1)

struct unit {
	char *id;		/* migration id, or "id/vm" for a match */
	struct migration *m;
	char *vm;
	/* The mode it runs in: the plan's, or live.fallback's once a live
	 * attempt fell back (journaled). */
	int mode;		/* enum mode */
	/* The target: the plan's to:, or placement's choice from a to: list
	 * (journaled before the first step); NULL until placed. */
	struct host *to;
	struct hostconn *src, *dst;	/* dst: NULL until placed */
	char *dir;		/* its files in the state directory */
	JsonObject *facts;	/* what steps learnt; undo needs it; journaled */
	enum unit_status status;
	GArray *done;		/* enum step, in the order they finished */
	int running;		/* the step started and not finished, or -1 */
	int failed_step;	/* -1 if none */
	char *error;
	gboolean selected;	/* by --only (or everything) */
	gboolean undoing;	/* being rolled back: its files count as gone (under exec->mu) */
	GString *report;	/* dry-run: what it would do */
	GPtrArray *problems;	/* dry-run: preflight's problems, one each (char *, NULL-terminated; report.c) */
	/* runtime */
	struct domxml *sxml;	/* source definition */
	struct domxml *txml;	/* remapped for the target */
	char *xml_text;		/* the definition both were made from */
	GPtrArray *changes;	/* struct dom_change * */
	gint64 step_began_us;	/* monotonic: when the step or undo under way began (events' duration_ms) */
};

/* One run of a command over a plan: what its units share. */
struct exec {
	struct plan *plan;
	const struct exec_opts *o;
	struct sink sink;	/* o's callbacks */
	char *state_dir;
	char *plan_file;	/* the plan's path, absolute: what the journal ties a state directory to */
	char **only;		/* the selection: --only, or for resume the run's own */
	struct journal *j;	/* NULL in dry-run and status */
	GPtrArray *hosts;	/* struct hostconn *, plan order */
	GPtrArray *units;	/* struct unit *, plan order */
	GHashTable *by_id;	/* unit id -> struct unit * */
	GMutex mu;		/* guards what units read of each other while threads run */
	GHashTable *same_files;	/* "src uuid\npath\ndst uuid\npath": found identical (under mu) */
	GHashTable *file_locks;	/* "host uuid\npath" -> GMutex *: one writer per target file (under mu) */
	gint journal_failed;	/* a journal write failed (atomic) */
	GPtrArray *faults;	/* VMSHIFT_FAULT (test only): char *[3] step, action, unit or NULL */
	GPtrArray *placed_now;	/* struct unit *, borrowed: placed by this run, not journaled yet (placement.c) */
	gint64 started_us;	/* monotonic, when the run began (window.c's clock) */
	gint64 moved_bytes, moved_us;	/* throughput measured so far (window.c; under mu) */
	JsonObject *resolved;	/* apply --resolved: the resolved plan, checked (resolved.h); borrowed */
	gboolean run_begun;	/* the run's record is journaled: its end is an event (events.h) */
};

const char *unit_status_name(enum unit_status s);

/* ---- facts ---- */
gboolean fact_bool(struct unit *u, const char *key, gboolean dflt);
const char *fact_str(struct unit *u, const char *key);	/* "" if absent */
JsonArray *fact_array(struct unit *u, const char *key);	/* NULL if absent */
gboolean facts_array_has(JsonArray *a, const char *s);	/* NULL-safe */

/* ---- journal records ---- */
/* A new record of event @ev, for @u (NULL: of the run). */
JsonObject *unit_record_new(const char *ev, struct unit *u);
/* Append @rec (consumed) to the run's journal, if it has one.  A failure
 * is said once in the log and sets x->journal_failed. */
int unit_journal_put(struct exec *x, JsonObject *rec, GError **err);
/* Merge @delta into the unit's facts and journal it at once, so that a
 * crash in the middle of a step still leaves what undo needs. */
int unit_record_facts(struct exec *x, struct unit *u, enum step s, JsonObject *delta, GError **err);
/* Journal the TRUE fact @key (before the act it announces). */
int unit_record_flag(struct exec *x, struct unit *u, enum step s, const char *key, GError **err);
/* Append @value to the list fact @key and journal it. */
int unit_record_append(struct exec *x, struct unit *u, enum step s, const char *key, const char *value, GError **err);
int unit_record_step(struct exec *x, struct unit *u, const char *ev, enum step s, const char *phase,
		     const char *error, GError **err);
int unit_record_status(struct exec *x, struct unit *u, GError **err);

/* ---- life cycle ---- */
struct hostconn *exec_host(struct exec *x, struct host *h);	/* NULL before the hosts are connected */
struct unit *unit_new(struct exec *x, struct migration *m, const char *vm);	/* added to x->units */
void unit_free(gpointer p);
struct unit *unit_find(struct exec *x, const char *id);
gboolean unit_has_done(struct unit *u, enum step s);
void unit_forget_step(struct unit *u, enum step s);	/* undone: not done, not running, not failed */
/* A fresh attempt: nothing done, no facts but those that outlive an
 * attempt (where placement put it). */
void unit_reset(struct unit *u);
/* A path in the unit's state directory. */
char *unit_file(struct unit *u, const char *name);
/* The units' state as the journal's records @recs say. */
void units_replay(struct exec *x, GPtrArray *recs);

/* ---- fault injection (tests only) ---- */
/* VMSHIFT_FAULT=STEP:fail|kill|undo-fail[:UNIT],... into x->faults */
void fault_parse(struct exec *x);
/* TRUE if @action is due at this point of @s. */
gboolean fault_due(struct exec *x, struct unit *u, enum step s, const char *action);

#endif
