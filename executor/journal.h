/* journal.h: the crash-safe record of a run.
 *
 * One directory per plan (default .vmshift/<plan name>/ beside the plan)
 * holds journal.jsonl: one JSON object per line, appended and fsync'd
 * before the call returns, so whatever the process did before a crash is
 * on disk.  A torn last line (a crash mid-write) is ignored on reading.
 * A lock file stops two runs of the same plan at once.
 */
#ifndef VMSHIFT_JOURNAL_H
#define VMSHIFT_JOURNAL_H

#include <json-glib/json-glib.h>

struct journal;

/* Create @dir if needed, take its lock (fails at once if another run
 * holds it) and open the journal for appending. */
struct journal *journal_open(const char *dir, GError **err);
/* Every record appended so far on disk (the lazy ones too). */
int journal_flush(struct journal *j, GError **err);
/* Syncs what is not on disk yet, then closes (NULL-safe). */
void journal_close(struct journal *j);
const char *journal_path(const struct journal *j);

/* Append @rec (adding "t", the time) as one line; with @durable, return
 * only once it is on disk (fdatasync, shared by the threads appending at
 * the same time).  A record appended without @durable is on disk once a
 * later durable one is, or the journal is closed: for records whose loss
 * in a crash only means a step is done again (every step is idempotent).
 * Safe to call from several threads.  @rec stays the caller's. */
int journal_append(struct journal *j, JsonObject *rec, gboolean durable, GError **err);

/* A record as read (journal_read.c).  Only these members are read; the
 * journal's format is in executor/facts.h. */
struct journal_rec {
	const char *ev;		/* "" if absent */
	const char *unit, *step, *phase, *status, *error;	/* NULL if absent */
	const char *migration, *cmd, *plan, *plan_sha256;	/* resolve, run */
	const char *resolved_sha256;	/* run: of apply --resolved's file */
	JsonArray *vms, *only;	/* resolve's, run's (strings); NULL if absent */
	JsonObject *facts;	/* facts', with only the keys asked for; NULL if absent */
};

/* Every record of the journal at @path, oldest first (struct journal_rec *,
 * caller unrefs the array).  @fact_keys: the fact keys to keep in ->facts
 * (NULL: all); building facts is most of what a read costs.  A missing
 * file is an empty journal.  A line that is not a JSON object anywhere
 * but last is an error: the journal was tampered with. */
GPtrArray *journal_read(const char *path, const char *const *fact_keys, GError **err);

#endif
