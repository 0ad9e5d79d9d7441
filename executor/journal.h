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
void journal_close(struct journal *j);
const char *journal_path(const struct journal *j);

/* Append @rec (adding "t", the time) as one line and fsync it.  Safe to
 * call from several threads.  Takes a reference to nothing: @rec stays
 * the caller's. */
int journal_append(struct journal *j, JsonObject *rec, GError **err);

/* Every record of the journal at @path, oldest first (JsonObject refs,
 * caller unrefs the array).  A missing file is an empty journal.  A bad
 * line anywhere but last is an error: the journal was tampered with. */
GPtrArray *journal_read(const char *path, GError **err);

#endif
