/* facts.h: the journal's format.  Old journals depend on these strings:
 * never change one, only add.
 *
 * journal.jsonl holds one JSON object per line, each with "ev" (what
 * happened) and "t" (when, added by journal.c):
 *   run      a command began: "cmd" (apply, resume, rollback), "plan" (the
 *            plan file, absolute), "plan_sha256", "only" (the --only ids)
 *   resolve  a match: pattern was resolved: "migration", "vms" (names)
 *   step     "unit", "step", "phase" (start, done, failed), "error"
 *   undo     the same, for a step's undo
 *   facts    "unit", "step", "facts": an object merged into the unit's
 *            facts (what steps learnt; undo and resume need them)
 *   unit     "unit", "status" (unit.h's names), "error"
 *   reset    "unit": a rolled-back unit starts afresh
 *
 * A step's "done" and a unit's status are journaled without waiting for
 * the disk (the next durable record or the close covers them): lost in a
 * crash, the step is done again, which every step allows.  Everything
 * else is on disk before what it announces happens.
 *
 * The facts a unit's records carry, by key:
 */
#ifndef VMSHIFT_FACTS_H
#define VMSHIFT_FACTS_H

/* the attempt: recorded before its first step */
#define FACT_FINGERPRINT	"fingerprint"		/* the plan entry as it was (executor.c) */
#define FACT_FINGERPRINT_VERSION "fingerprint_version"	/* absent: 1 */
/* The version this vmshift writes: the planner's fingerprint walks its
 * own field tables (1 and 2 were lists written by hand; 4 has issue 11's
 * keys).  A journal of another version is refused on resume. */
#define FINGERPRINT_VERSION	4
#define FACT_SOURCE_HOST_UUID	"source_host_uuid"	/* the libvirt hosts the attempt used */
#define FACT_TARGET_HOST_UUID	"target_host_uuid"

/* placement (placement.c): before the first step, for a to: list */
#define FACT_PLACED_HOST	"placed_host"		/* the plan's name of the host chosen */
#define FACT_PLACEMENT		"placement"		/* {policy, need_mib, need_vcpus, candidates: [{host, free_mib, placed_mib,
							 * reserve_mib, room_mib, vcpus, cpus, vcpu_limit, placed_vms, verdict}]} */

/* preflight */
#define FACT_SOURCE_UUID	"source_uuid"		/* the domain, by identity */
#define FACT_SOURCE_RUNNING	"source_running"	/* it ran when preflight looked */
#define FACT_AUTOSTART		"autostart"		/* the source had autostart on */
#define FACT_TARGET_HAD_DOMAIN	"target_had_domain"	/* the target had it already (not vmshift's) */
#define FACT_ALREADY_DONE	"already_done"		/* it was on the target already: nothing to do */
#define FACT_TARGET_FILES	"target_files"		/* the files the target domain uses that vmshift may copy */
#define FACT_SOURCE_FILES	"source_files"		/* their source paths, the same order */
#define FACT_COPY_BYTES		"copy_bytes"		/* what copy-disks will copy */
#define FACT_FILE_SIZES		"file_sizes"		/* offline: {source path: size in bytes} of the files it copies */
#define FACT_CHAINS		"chains"		/* offline-with-scp-disk: {disk: [{source, target, format}]}, its qcow2 chain, top first */

/* export-xml */
#define FACT_EXPORTED		"exported"		/* source*.xml saved in the unit's directory */
#define FACT_REMAPPED		"remapped"		/* [{what, from, to}]: the changes of the remap */

/* copy-disks: each path journaled before the act */
#define FACT_PARTS		"parts"			/* partial copies it created */
#define FACT_COPIED		"copied"		/* target paths this unit copied (or shares with a unit that did) */
#define FACT_BACKUPS		"backups"		/* target files it set aside (.vmshift-orig) */
#define FACT_DIRS		"dirs"			/* directories it made */

/* prepare-target */
#define FACT_PREP_DIRS		"prep_dirs"		/* directories it made */
#define FACT_PREP_MAYBE		"prep_maybe"		/* files it was about to create */
#define FACT_PREP_FILES		"prep_files"		/* files it created */
#define FACT_PREP_BRIDGES	"prep_bridges"		/* bridges it creates (journaled before `ip link add`); undo deletes them if unused */

/* define-target, start-target, migrate-live */
#define FACT_TARGET_DEFINED	"target_defined"	/* vmshift defined (or was about to define) the target domain */
#define FACT_TARGET_STARTED	"target_started"	/* vmshift started it there */
#define FACT_SUSPENDED_TO_FINISH "suspended_to_finish"	/* on_timeout: suspend paused the guest */
#define FACT_LIVE_TIME_MS	"live_time_ms"		/* the live job's figures */
#define FACT_LIVE_DOWNTIME_MS	"live_downtime_ms"
#define FACT_LIVE_BYTES		"live_bytes"
/* the downtime limits migrate-live set, in ms, in the order it set them
 * (live.initial_downtime_ms up to max_downtime_ms; live_job.c); a
 * migrate-live done again starts the list afresh */
#define FACT_DOWNTIME_LIMITS	"downtime_limits"
/* the live job failed: {"mode": "live", "error", "why" (for people:
 * "not converging: 3.1 GiB/s dirty vs 1.0 GiB/s" or libvirt's error),
 * "after_s", "dirty_mib_s", "bandwidth_mib_s" (the job's last figures),
 * "timed_out", "fallback_ok" (the guest still ran on the source, nothing
 * was left on the target, and the failure was the job's own: live.fallback
 * may take over)} (step_live.c) */
#define FACT_LIVE_FAILURE	"live_failure"

/* the fallback (engine.c): a live attempt that failed is rolled back and
 * the unit starts again in live.fallback's mode, after a "reset" record
 * and one "facts" record that carries over the attempt's facts
 * (fingerprint, host uuids) and these two */
#define FACT_ATTEMPTS		"attempts"		/* [FACT_LIVE_FAILURE's objects]: the attempts that failed, oldest first */
#define FACT_MODE		"mode"			/* the mode the unit runs in now (mode_name()); absent: the plan's */

/* verify-target */
#define FACT_VERIFIED		"verified"		/* the checks it passed: ["running 1 s", "guest agent", "tcp H:P"] */

/* delete-source-disks */
#define FACT_DELETED		"deleted"		/* source paths it began deleting: no rollback after */

#endif
