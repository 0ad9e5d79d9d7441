#!/bin/bash
# End-to-end tests of the live downtime ladder and live.fallback on the
# real lab.  vm-dirty (harness.bash: setup_dirty) cannot be migrated live
# at 1 MiB/s with a downtime of a few milliseconds: 12 MiB dirtied every
# pass, a pass alone takes 12 s.  So the live attempt certainly fails at
# live.timeout_s, whatever the machine's speed, and the tests assert on
# the hosts' states and the journal's records, never on durations.
#
#   VMSHIFT=build/vmshift tests/e2e/fallback_test.sh
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

# fb_plan NAME LIVE_KEYS: vm-dirty from host-a to host-b, live, with LIVE_KEYS
# added; its shutdown (a cold fallback) forced at once: its boot sector
# knows nothing of ACPI.
fb_plan() {
	cat <<PLAN
version: 1
name: $1
hosts:
  host-a: {uri: "$A", migration_host: 127.0.0.2}
  host-b: {uri: "$B", migration_host: 127.0.0.3}
defaults:
  shutdown: {timeout_s: 1, force: true}
migrations:
  - vm: vm-dirty
    from: host-a
    to: host-b
    mode: live
    live: {unsafe: true, bandwidth_mib_s: 1, on_timeout: abort, $2}
PLAN
}

# jq-like questions to the journal of plan NAME
journal() {	# journal NAME PYTHON-EXPR over recs (a list of dicts)
	/usr/bin/python3 - "$W/.vmshift/$1/journal.jsonl" "$2" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
facts = {}
for r in recs:
    if r.get("ev") == "reset":
        facts = {}
    if r.get("ev") == "facts":
        facts.update(r["facts"])
starts = lambda step: sum(1 for r in recs if r.get("ev") == "step" and r.get("step") == step and r.get("phase") == "start")
undone = lambda step: any(r.get("ev") == "undo" and r.get("step") == step and r.get("phase") == "done" for r in recs)
print(eval(sys.argv[2]))
PY
}
expect() {	# expect NAME PYTHON-EXPR WANT
	local got
	got=$(journal "$1" "$2") || die "cannot read the journal of $1"
	[ "$got" = "$3" ] || die "journal of $1: $2 is '$got', not '$3'"
}

LAB_GUESTS=1 "$LAB/lab-up" >"$W/lab-up.log" 2>&1 || { echo "not ok 1 - lab-up"; sed 's/^/# /' "$W/lab-up.log"; echo "1..1"; exit 1; }

falls_back_cold() {
	setup_dirty
	fb_plan fb-cold "max_downtime_ms: 1, timeout_s: 3, fallback: cold" >"$W/fb-cold.yaml"
	vmshift apply fb-cold.yaml 2>"$W/fb.log" || die "apply failed: $(tail -20 "$W/fb.log")"
	grep -q "aborted at live.timeout_s" "$W/fb.log" || die "the live attempt did not time out: $(tail -20 "$W/fb.log")"
	running_on host-b vm-dirty
	absent_on host-a vm-dirty
	# one migration, two attempts: live (failed, not converging), then cold
	expect fb-cold 'len(facts["attempts"])' 1
	expect fb-cold 'facts["attempts"][0]["mode"], facts["attempts"][0]["timed_out"]' "('live', True)"
	expect fb-cold 'facts["attempts"][0]["why"].startswith("not converging")' True
	expect fb-cold 'facts["mode"]' cold
	expect fb-cold 'sum(1 for r in recs if r.get("ev") == "reset")' 1
	expect fb-cold 'starts("migrate-live"), starts("shutdown-source"), starts("define-target")' "(1, 1, 1)"
	expect fb-cold 'undone("migrate-live")' True
	expect fb-cold '[r["status"] for r in recs if r.get("ev") == "unit"][-1]' done
	vmshift status fb-cold.yaml >"$W/st" 2>&1 || die "status failed: $(cat "$W/st")"
	grep -q "vm-dirty (host-a -> host-b, cold): done; live failed after [0-9]* s (not converging: .*), moved cold" "$W/st" ||
		die "status does not say it moved cold: $(cat "$W/st")"
	vmshift status --output json fb-cold.yaml >"$W/st.json" 2>"$W/st.err" || die "status --output json failed: $(cat "$W/st.err")"
	/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["migrations"][0]; assert m["mode"]=="cold" and m["attempts"][0]["mode"]=="live", m' "$W/st.json" ||
		die "status --output json: $(cat "$W/st.json")"
}
t "live.fallback cold: a guest that cannot converge is rolled back, then moved cold; two attempts journaled" falls_back_cold

rollback_undoes_cold() {
	vmshift rollback fb-cold.yaml --force --only vm-dirty 2>"$W/rb.log" || die "rollback failed: $(tail -20 "$W/rb.log")"
	running_on host-a vm-dirty
	absent_on host-b vm-dirty
	# the cold attempt's steps were undone, not the live attempt's again
	expect fb-cold '[r["step"] for r in recs if r.get("ev") == "undo" and r.get("phase") == "done"].count("migrate-live")' 1
	expect fb-cold 'undone("undefine-source"), undone("define-target"), undone("shutdown-source")' "(True, True, True)"
	expect fb-cold '[r["status"] for r in recs if r.get("ev") == "unit"][-1]' rolled-back
}
t "rollback after a cold fallback undoes the cold steps: the guest runs on the source again" rollback_undoes_cold

escalates() {
	setup_dirty
	fb_plan fb-ladder "initial_downtime_ms: 1, max_downtime_ms: 4, downtime_steps: 3, downtime_step_s: 1, timeout_s: 10" >"$W/fb-ladder.yaml"
	if vmshift apply fb-ladder.yaml 2>"$W/ladder.log"; then die "a migration that cannot converge succeeded"; fi
	expect fb-ladder 'facts["downtime_limits"]' "[1, 2, 3, 4]"
	grep -q "downtime <= 4 ms (step 3 of 3)" "$W/ladder.log" || die "no log of the last step: $(grep downtime "$W/ladder.log")"
	running_on host-a vm-dirty
	absent_on host-b vm-dirty
}
t "downtime_steps 3: the limits 1, 2, 3, 4 ms are set and journaled in order, then the timeout aborts" escalates

no_fallback() {
	setup_dirty
	fb_plan fb-none "max_downtime_ms: 1, timeout_s: 3, fallback: none" >"$W/fb-none.yaml"
	if vmshift apply fb-none.yaml 2>"$W/none.log"; then die "a migration that cannot converge succeeded"; fi
	grep -q "aborted at live.timeout_s" "$W/none.log" || die "not aborted: $(tail -10 "$W/none.log")"
	running_on host-a vm-dirty
	absent_on host-b vm-dirty
	expect fb-none '"attempts" in facts, "mode" in facts, any(r.get("ev") == "reset" for r in recs)' "(False, False, False)"
	expect fb-none 'starts("shutdown-source")' 0
	expect fb-none '[r["status"] for r in recs if r.get("ev") == "unit"][-1]' rolled-back
	vmshift status fb-none.yaml >"$W/st" 2>&1
	grep -q "vm-dirty (host-a -> host-b, live): rolled back after: live migration .* failed (aborted at live.timeout_s)" "$W/st" ||
		die "status: $(cat "$W/st")"
	! grep -q "moved" "$W/st" || die "status speaks of a move: $(cat "$W/st")"
}
t "live.fallback none: as before, rolled back and running on the source, nothing cold" no_fallback

killed_in_cold() {
	setup_dirty
	fb_plan fb-kill "max_downtime_ms: 1, timeout_s: 3, fallback: cold" >"$W/fb-kill.yaml"
	VMSHIFT_FAULT=define-target:kill vmshift apply fb-kill.yaml 2>"$W/k.log"
	[ $? -eq 137 ] || die "vmshift was not killed at define-target: $(tail -10 "$W/k.log")"
	expect fb-kill 'facts["mode"], len(facts["attempts"])' "('cold', 1)"
	vmshift status fb-kill.yaml >"$W/st" 2>&1
	grep -q "vm-dirty (host-a -> host-b, cold): interrupted" "$W/st" || die "status: $(cat "$W/st")"
	vmshift resume fb-kill.yaml 2>"$W/r.log" || die "resume failed: $(tail -20 "$W/r.log")"
	running_on host-b vm-dirty
	absent_on host-a vm-dirty
	# resumed in cold mode: no second live attempt, no second rollback
	expect fb-kill 'starts("migrate-live"), len(facts["attempts"]), facts["mode"]' "(1, 1, 'cold')"
	expect fb-kill 'sum(1 for r in recs if r.get("ev") == "reset")' 1
	expect fb-kill '[r["status"] for r in recs if r.get("ev") == "unit"][-1]' done
	vmshift status fb-kill.yaml >"$W/st" 2>&1
	grep -q "cold): done; live failed after .*, moved cold" "$W/st" || die "status: $(cat "$W/st")"
	remove_guest vm-dirty
	rm -f "$LAB_SHARED/vm-dirty.img" "$LAB_DIR"/hosts/host-?/log/qemu/vm-dirty-serial.log
}
t "killed during the cold fallback's define-target, resume finishes it cold" killed_in_cold

not_a_convergence_failure() {
	# a guest that migrates: the failure comes after the job, not from it
	cat >"$W/fb-other.yaml" <<PLAN
version: 1
name: fb-other
hosts:
  host-a: {uri: "$A", migration_host: 127.0.0.2}
  host-c: {uri: "$C", migration_host: 127.0.0.4}
migrations:
  - {vm: vm-shared, from: host-a, to: host-c, mode: live, live: {unsafe: true, fallback: cold}}
PLAN
	if VMSHIFT_FAULT=migrate-live:fail vmshift apply fb-other.yaml 2>"$W/other.log"; then die "apply succeeded despite the fault"; fi
	grep -q "injected failure at migrate-live" "$W/other.log" || die "the fault did not fire: $(tail -5 "$W/other.log")"
	running_on host-a vm-shared
	absent_on host-c vm-shared
	expect fb-other '"attempts" in facts, "mode" in facts, any(r.get("ev") == "reset" for r in recs)' "(False, False, False)"
	expect fb-other 'starts("shutdown-source")' 0
	expect fb-other '[r["status"] for r in recs if r.get("ev") == "unit"][-1]' rolled-back
}
t "live.fallback cold: a failure that is not the live job's (here after it) rolls back and does not fall back" not_a_convergence_failure

tap_end
