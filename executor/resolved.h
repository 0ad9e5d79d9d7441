/* resolved.h: a resolved plan (docs/resolved-plan.md): what a dry run
 * found and decided, saved for review (`apply --dry-run --save FILE`), and
 * compared with what a run would do now (`apply --resolved FILE`).
 *
 * One JSON object, {"format": "vmshift-resolved", "version": 1, ...}: the
 * plan's sha256, each match: pattern's names, and per unit the VM's name
 * and UUID, its hosts (by name and libvirt host UUID), its mode, the
 * sha256 of its source and remapped target definitions, its files and
 * its placement.  Not signed: the plan's sha256 ties it to the plan, and
 * the run compares every field it acts on with the hosts as they are.
 *
 * Between the units and the top: executor.c runs the dry runs and calls
 * these; they read units, hosts and the journal's run records.
 */
#ifndef VMSHIFT_RESOLVED_H
#define VMSHIFT_RESOLVED_H

#include "unit.h"

#define RESOLVED_FORMAT "vmshift-resolved"
#define RESOLVED_VERSION 1
#define RESOLVED_MAX_AGE_S (24 * 3600)

/* The dry run @x (its units through preflight) as a resolved plan into
 * o->save, whole or not at all (a temporary file renamed). */
int resolved_save(struct exec *x, GError **err);

/* The resolved plan at @path, its format checked; the sha256 of its bytes
 * in @sha256 (65 chars).  NULL with @err (G_IO_ERROR_INVALID_ARGUMENT). */
JsonObject *resolved_load(const char *path, char *sha256, GError **err);

/* Compare the dry run @y (its units through preflight) with @saved: 0 if
 * they agree, else -1 with @err (G_IO_ERROR_INVALID_ARGUMENT) listing
 * every difference, one per line.  @max_age_s: how old @saved may be.
 * A unit placed elsewhere now keeps its resolved host if that host still
 * fits (its verdict in the placement figures of @y). */
int resolved_compare(struct exec *y, JsonObject *saved, const char *path, gint64 max_age_s, GError **err);

/* The names @saved resolved migration @id's match: to, or NULL (caller
 * unrefs). */
GPtrArray *resolved_match_vms(JsonObject *saved, const char *id);

/* Each unit of @x without a target takes its target from @saved: u->to,
 * u->dst, the placement facts, and x->placed_now (placement_journal()
 * journals them). */
void resolved_place(struct exec *x, JsonObject *saved);

/* resume, rollback --resolved FILE: 0 if FILE is the resolved plan the
 * run's apply journaled in @recs (or no --resolved was given), else -1
 * with @err (G_IO_ERROR_INVALID_ARGUMENT). */
int resolved_same_run(struct exec *x, GPtrArray *recs, GError **err);

#endif
