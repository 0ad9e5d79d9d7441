/* steps.c: the step table: for each step, how it runs, when it does
 * nothing, how it is undone and when that is refused, and what the
 * dry-run says of it.  The steps themselves are in step_*.c.
 *
 * Rollback runs the undos newest first.  When one fails it goes on with
 * the others (a running source and a leftover on the target is what the
 * operator wants), except after undefine-source's undo (without the
 * source's definition back, removing the target's would leave the VM
 * nowhere) and, while the guest may still run on the target, the undos
 * that would start it on the source or remove its definition.
 */
#include "steps.h"

static const struct step_impl impls[STEP__COUNT] = {
	[STEP_PREFLIGHT] = {
		.run = step_preflight,
		.undo_says = "nothing to undo: it only looks",
	},
	[STEP_SHUTDOWN_SOURCE] = {
		.run = step_shutdown_source, .undo = step_shutdown_source_undo, .skip = step_shutdown_source_skip,
		.undo_says = "starts the VM again on the source if it ran",
		.undo_needs_target_off = TRUE,
	},
	[STEP_EXPORT_XML] = {
		.run = step_export_xml,
		.undo_says = "keeps the saved XML for review",
	},
	[STEP_COPY_DISKS] = {
		.run = step_copy_disks, .undo = step_copy_disks_undo,
		.undo_says = "deletes the copies vmshift made, restores replaced files",
		.undo_needs_target_off = TRUE,
	},
	[STEP_PREPARE_TARGET] = {
		.run = step_prepare_target, .undo = step_prepare_target_undo,
		.undo_says = "removes the log files and directories vmshift made",
	},
	[STEP_MIGRATE_LIVE] = {
		.run = step_migrate_live, .undo = step_migrate_live_undo,
		.undo_says = "migrates it back live to the source",
		.undo_fail_target_may_run = TRUE,
	},
	[STEP_DEFINE_TARGET] = {
		.run = step_define_target, .undo = step_define_target_undo,
		.undo_says = "undefines the VM on the target if vmshift defined it",
		.undo_needs_target_off = TRUE,
	},
	[STEP_START_TARGET] = {
		.run = step_start_target, .undo = step_start_target_undo, .skip = step_start_target_skip,
		.undo_says = "stops the VM on the target",
		.undo_fail_target_may_run = TRUE,
	},
	[STEP_VERIFY_TARGET] = {
		.run = step_verify_target,
		.undo_says = "nothing to undo: it only looks",
	},
	[STEP_UNDEFINE_SOURCE] = {
		.run = step_undefine_source, .undo = step_undefine_source_undo, .skip = step_undefine_source_skip,
		.undo_says = "defines the VM on the source again from the saved XML",
		.undo_fail_stops = TRUE,
	},
	[STEP_DELETE_SOURCE_DISKS] = {
		.run = step_delete_source_disks, .skip = step_delete_source_disks_skip,
		.undo_refused = step_delete_source_disks_undo_refused,
		.undo_says = "cannot be undone: the source disks are gone",
	},
};

const struct step_impl *
step_impl(enum step s)
{
	g_assert(s < STEP__COUNT && impls[s].run);
	return &impls[s];
}
