/* schedule.h: a run's units as jobs of the scheduler (sched.h): each
 * selected, runnable and placed unit runs through the engine once its
 * dependencies are done, within the plan's and the hosts' limits; a unit
 * the window defers (window.h) is not started and blocks its dependents.
 * The top layer, beside executor.c. */
#ifndef VMSHIFT_SCHEDULE_H
#define VMSHIFT_SCHEDULE_H

#include "unit.h"

/* Run every unit the run may run; returns when none can start any more
 * (all ended, blocked, deferred, or the run was interrupted). */
void exec_schedule(struct exec *x);

#endif
