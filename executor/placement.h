/* placement.h: which host of a to: list each VM goes to.
 *
 * A migration whose to: lists two or more hosts (migration->pool) leaves
 * each of its units unplaced (unit->to NULL).  Placement chooses, before
 * the first step of the run, from live facts of every candidate:
 *   - free memory (virNodeGetFreeMemory) less placement.reserve_memory_mib
 *     and less what this run placed there and has not moved yet;
 *   - vCPUs: those of every domain defined there plus those placed, at
 *     most placement.max_vcpu_ratio x the host's CPUs (when set);
 *   - for live, the VM's CPU must be compatible with the host's;
 *   - placement.anti_affinity: no two VMs of a group on one host, counting
 *     the domains defined there already;
 *   - the networks (active) and bridges of its remapped definition (a
 *     missing bridge is fine with prepare.create_bridges);
 *   - offline-with-scp-disk and live with copy_storage: free space where its copies go (statvfs over
 *     SFTP of the nearest existing directory) for the data of its disks,
 *     less what the run sends there.
 * spread takes the candidate with the most memory left after placing the
 * VM (values within PLACE_TIE_MIB count as equal: fewer VMs placed by this
 * run first, then list order); pack the first that fits, in list order.
 * The same facts give the same placement.
 *
 * Each decision is a fact of its unit ("placed_host", "placement": the
 * figures that decided it), journaled before any step, so that resume,
 * rollback and status keep it.  A VM that fits nowhere fails (its error
 * names what it needs and every candidate's figures, which are journaled
 * too); the others go on.
 *
 * Between the units and the top: it reads hosts and records unit facts.
 */
#ifndef VMSHIFT_PLACEMENT_H
#define VMSHIFT_PLACEMENT_H

#include "unit.h"

#define PLACE_TIE_MIB 256

/* u->to and u->dst from the journaled facts of every placed unit.  A
 * placement is kept for the unit's life in the journal, through resume
 * and rollback (unit_reset() keeps it).  -1 (@err) if a journal names a
 * host that is no candidate any more, unless not @strict (status: the
 * unit shows as not placed). */
int placement_restore(struct exec *x, gboolean strict, GError **err);

/* Place every selected unit still without a target that the run will
 * try, in memory: u->to, u->dst and the facts; a unit that fits nowhere
 * is failed.  Each decision is logged and, in a dry run, noted in
 * u->report.  Then, once the run is known to start, placement_journal()
 * writes them (before any step). */
void placement_decide(struct exec *x);
int placement_journal(struct exec *x, GError **err);

/* The bytes copying @d's disks moves: the host storage each takes
 * (virDomainGetBlockInfo's allocation: data, not holes), backing layers
 * not counted; -1 if its definition cannot be read. */
gint64 placement_copy_bytes(virDomainPtr d);

/* "[host-b|host-c]": @m's candidates, for a unit not placed yet. */
char *placement_pool_text(const struct migration *m);

#endif
