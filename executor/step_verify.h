/* step_verify.h: verify-target's health gate (step_verify.c) and the
 * target's bridges (bridges.c), as preflight and prepare-target use them.
 *
 * The steps layer, as step_common.h.  Problems go into a GPtrArray of
 * g_strdup()'d messages; lines for people through step_note().
 */
#ifndef VMSHIFT_STEP_VERIFY_H
#define VMSHIFT_STEP_VERIFY_H

#include "step_common.h"

/* ---- step_verify.c ---- */
/* Preflight's part of verify: what verify-target will check (a dry-run
 * line), and problems found before any downtime: verify.guest_agent for
 * a domain without the agent's channel, a verify.tcp that is no
 * HOST:PORT.  @running: the source runs now. */
void verify_preflight(struct unit *u, gboolean running, GPtrArray *problems);

/* ---- bridges.c: Linux bridges the remapped definition names ---- */
/* 1 to 15 characters of [A-Za-z0-9_.-], not "." nor "..": a name vmshift
 * puts in a command line (quoted anyway) and creates. */
gboolean bridge_name_ok(const char *name);
/* Each bridge of u->txml on the target: there, else (prepare.create_bridges)
 * noted as one prepare-target creates, else added to @missing ("bridge
 * 'X'").  Names that are not bridges there, or that vmshift would not
 * create, go to @problems.  Takes the target's host lock itself. */
void bridges_preflight(struct unit *u, GPtrArray *missing, GPtrArray *problems);
/* prepare-target: create the missing bridges (prepare.create_bridges),
 * each journaled in FACT_PREP_BRIDGES before `ip link add`.  One that
 * exists is left alone and not claimed.  @ds: the target's session,
 * locked by the caller. */
int bridges_prepare(struct exec *x, struct unit *u, struct sshx *ds, GError **err);
/* Its undo: delete the bridges FACT_PREP_BRIDGES lists, newest first,
 * each only if no interface is attached to it (else it says so and
 * leaves it).  @ds as above. */
int bridges_undo(struct exec *x, struct unit *u, struct sshx *ds, GError **err);

#endif
