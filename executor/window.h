/* window.h: the plan's maintenance window (window: not_before,
 * not_after, assumed_mib_s).
 *
 * No migration starts outside the window, and none whose estimated
 * duration would end after not_after: it is deferred, not started (its
 * dependents are blocked), and the run exits 1; a resume inside a later
 * window continues.  A migration already under way (resumed) is never
 * deferred: it finishes.  The estimate is what the migration moves (a live
 * guest's memory, plus its disks when libvirt copies them; the data of
 * the disks offline-with-scp-disk copies; nothing for cold) over the
 * throughput this run measured so far, or window.assumed_mib_s before any
 * measurement.  The clock is the system's, or --now's (exec_opts.now)
 * advancing from the run's start.
 *
 * Between the units and the top: it reads hosts and unit facts.
 */
#ifndef VMSHIFT_WINDOW_H
#define VMSHIFT_WINDOW_H

#include "unit.h"

/* The run's clock, in unix seconds. */
gint64 window_now(struct exec *x);

/* NULL if @u may start now, else why it is deferred (caller frees).
 * @est_s: the estimate it was judged on (-1: none needed). */
char *window_check(struct exec *x, struct unit *u, gint64 *est_s);

/* @u ended, having taken @elapsed_us: add what it moved to the run's
 * measured throughput (its copies only if they were made in this run:
 * not @copied_before). */
void window_measured(struct exec *x, struct unit *u, gboolean copied_before, gint64 elapsed_us);

/* For the dry-run's report: when @u would start, or why not. */
void window_note(struct exec *x, struct unit *u);

#endif
