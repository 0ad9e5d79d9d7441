/* events.h: the event stream (--events FILE; docs/events.md).
 *
 * A leaf beside sink.h: it turns what happens into one JSON object a line
 * and hands each line to the sink's event callback, which writes it whole.
 * The vocabulary is the journal's where they overlap (facts.h): a step's
 * or a unit's event is its journal record, plus a few fields.  Nothing
 * here fails: without an event callback every call returns at once, and
 * a write error is the callback's to report.  Thread-safe: it keeps no
 * state; the callers' data are their own (a unit's worker thread).
 *
 * Every JsonObject passed in is borrowed.
 */
#ifndef VMSHIFT_EVENTS_H
#define VMSHIFT_EVENTS_H

#include <json-glib/json-glib.h>

#include "sink.h"

/* Does anyone listen?  (To skip building an event's fields.) */
gboolean events_wanted(const struct sink *s);

/* Event @ev: "ev", "t" (RFC 3339, UTC, milliseconds), then @fields'
 * members in their order (an "ev" or "t" among them is left out). */
void events_emit(const struct sink *s, const char *ev, JsonObject *fields);

/* A journal record as an event; @phase non-NULL: with that "phase"
 * (the run's "start", which the journal's record has not). */
void events_record(const struct sink *s, JsonObject *rec, const char *phase);

/* A step's or an undo's journal record ("step"/"undo": unit, step, phase,
 * error).  At "start", *@began_us gets the time; at its end ("done",
 * "failed") the event gains "result" (ok, failed) and "duration_ms" since
 * *@began_us (left out if it is 0). */
void events_step(const struct sink *s, JsonObject *rec, gint64 *began_us);

/* The run's end: "cmd", "result" (ok, failed, interrupted), "exit" (the
 * exit code), "counts" (@counts: units by status), "error" (@error: why
 * the run stopped short, or NULL). */
void events_run_end(const struct sink *s, const char *cmd, int exit_code, JsonObject *counts, const char *error);

/* Progress of a copy or a live job: bytes done of @total ("percent" left
 * out when @total is 0: unknown), the rate (given in MiB/s, written as
 * "rate_bytes_s"), the ETA in s (@eta_s < 0: unknown, left out), @path
 * the file (NULL: none).  At the callers' cadence (that of the log's
 * lines). */
void events_progress(const struct sink *s, const char *unit, const char *step, guint64 done, guint64 total,
		     double rate_mib_s, gint64 eta_s, const char *path);

/* A placement decision: @host chosen (NULL: none fits), the figures
 * @placement (FACT_PLACEMENT's object: policy, need_mib, need_vcpus,
 * candidates) spread into the event. */
void events_placement(const struct sink *s, const char *unit, const char *host, JsonObject *placement);

/* A fallback: @unit moves @to after the mode @from failed; @failure is
 * FACT_LIVE_FAILURE's object (error, why, after_s...), spread into it. */
void events_fallback(const struct sink *s, const char *unit, const char *from, const char *to, JsonObject *failure);

#endif
