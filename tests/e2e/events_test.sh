#!/bin/bash
# End-to-end tests of `--events FILE` (docs/events.md) on the real lab
# (tests/lab): real applies, a rollback and a failure, each event stream
# parsed line by line and checked against the run and its journal.
#
#   VMSHIFT=build/vmshift tests/e2e/events_test.sh
#
# EVENTS_KEEP=DIR keeps the event streams there (docs/events.md's example).
#
# TAP output.  The lab must be up; the tests bring it back to the state
# lab-up leaves (its guests on host-a) and leave it so.
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

# vm-shared goes cold to the first of [host-b, host-c] that fits (shared
# storage; a placement event), vm-local is copied to host-b (its disk:
# progress events), as in apply_test.sh
{
	plan_head ev | sed 's/^defaults:/placement: {policy: pack}\ndefaults:/'
	echo "  - {vm: vm-shared, from: host-a, to: [host-b, host-c], mode: cold}"
	offline_entry vm-local
} >"$W/plan.yaml"
STATE=$W/.vmshift/ev

# check_events EVENTS JOURNAL UNIT=MODE...: the stream parses, is in
# order and agrees with the journal (see tests/events-check)
check_events() { "$ROOT/tests/events-check" "$@"; }

# ---------------------------------------------------------------- tests

lab_reset
snapshot >"$W/s0"

json_stdout_refused() {
	refused 2 json.log "--events - needs stdout" vmshift apply plan.yaml --events - --output json
	[ ! -e "$W/.vmshift" ] || die "a refused apply made a state directory"
	vmshift apply plan.yaml --events - --output json 2>/dev/null >"$W/json.out"
	[ ! -s "$W/json.out" ] || die "a refused apply wrote on stdout: $(head -3 "$W/json.out")"
	refused 2 dry.log "not --dry-run" vmshift apply plan.yaml --events "$W/x.jsonl" --dry-run
	unchanged
}
t "--events - with --output json is refused (exit 2) and touches nothing" json_stdout_refused

apply_events() {
	vmshift apply plan.yaml --events "$W/apply.jsonl" 2>"$W/apply.log" || die "apply failed: $(tail -20 "$W/apply.log")"
	running_on host-b vm-shared
	running_on host-b vm-local
	check_events "$W/apply.jsonl" "$STATE/journal.jsonl" vm-shared=cold vm-local=offline-with-scp-disk \
		>"$W/apply.sum" || die "the event stream is wrong"
	grep -qx 'end ok 0 {"done": 2}' "$W/apply.sum" || die "run end: $(tail -1 "$W/apply.sum")"
	grep -qx 'unit vm-shared done - -' "$W/apply.sum" || die "no done event for vm-shared"
	grep -qx 'unit vm-local done - -' "$W/apply.sum" || die "no done event for vm-local"
	grep -qx 'step vm-local delete-source-disks done ok' "$W/apply.sum" || die "vm-local's last step did not end ok"
}
t "apply --events FILE: every line an event, in order, agreeing with the journal" apply_events

copy_progress() {
	/usr/bin/python3 - "$W/apply.jsonl" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
p = [e for e in evs if e["ev"] == "progress"]
assert p, "no progress event"
assert all(e["unit"] == "vm-local" and e["step"] == "copy-disks" for e in p), p
assert all(e["path"].startswith("/var/lib/libvirt/images/") or e["path"].startswith("/srv/vms/") for e in p), p
assert p[-1]["bytes_done"] == p[-1]["bytes_total"] > 0 and p[-1]["percent"] == 100, p[-1]
assert all(isinstance(e["rate_bytes_s"], int) and e["rate_bytes_s"] >= 0 for e in p), p
assert all(e["eta_s"] >= 0 for e in p if "eta_s" in e) and any(e["rate_bytes_s"] > 0 for e in p), p
# inside copy-disks: after its start, before its end
i = [k for k, e in enumerate(evs) if e["ev"] == "step" and e["unit"] == "vm-local" and e["step"] == "copy-disks"]
assert all(i[0] < evs.index(e) < i[1] for e in p), "progress outside copy-disks"
PY
}
placement_event() {
	/usr/bin/python3 - "$W/apply.jsonl" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
p = [e for e in evs if e["ev"] == "placement"]
assert len(p) == 1, p
p = p[0]
assert p["unit"] == "vm-shared" and p["host"] == "host-b" and p["policy"] == "pack", p
assert [c["host"] for c in p["candidates"]] == ["host-b", "host-c"], p
assert all(c["verdict"] == "fits" for c in p["candidates"]) and p["need_mib"] > 0, p
first = min(i for i, e in enumerate(evs) if e.get("unit") == "vm-shared" and e["ev"] == "step")
assert 0 < evs.index(p) < first, "the placement is not between the run's start and the unit's first step"
PY
}
t "the placement decision: an event with the host chosen, the policy and every candidate's figures" placement_event

t "the copy's progress: events with bytes done of total, rate, between copy-disks' start and end" copy_progress

write_error_goes_on() {
	vmshift rollback plan.yaml --force --only vm-shared vm-local --events /dev/full 2>"$W/rb.log" ||
		die "rollback failed: $(tail -20 "$W/rb.log")"
	[ "$(grep -c "cannot write the events to /dev/full" "$W/rb.log")" = 1 ] ||
		die "the write error is not said exactly once: $(grep -c "cannot write the events" "$W/rb.log")"
	unchanged
}
t "an events file that cannot be written is said once; the rollback goes on and restores every host" write_error_goes_on

fault_events() {
	rm -rf "$W/.vmshift"
	VMSHIFT_FAULT="define-target:fail:vm-local" vmshift apply plan.yaml --only vm-local -q --events - \
		>"$W/f.jsonl" 2>"$W/f.log"
	[ $? = 1 ] || die "apply did not exit 1: $(tail -5 "$W/f.log")"
	check_events "$W/f.jsonl" "$STATE/journal.jsonl" vm-local=offline-with-scp-disk >"$W/f.sum" ||
		die "stdout is not only the event stream: $(head -5 "$W/f.jsonl")"
	grep -qx 'step vm-local define-target failed failed' "$W/f.sum" || die "no failed define-target: $(cat "$W/f.sum")"
	/usr/bin/python3 -c '
import json, sys
f = [e for e in map(json.loads, open(sys.argv[1])) if e["ev"] == "step" and e.get("phase") == "failed"]
assert [(e["step"], e["error"]) for e in f] == [("define-target", "VMSHIFT_FAULT: injected failure at define-target")], f
' "$W/f.jsonl" || die "the failed step has not its error"
	for s in define-target prepare-target copy-disks export-xml shutdown-source; do
		grep -qx "undo vm-local $s start -" "$W/f.sum" && grep -qx "undo vm-local $s done ok" "$W/f.sum" ||
			die "no undo of $s: $(grep undo "$W/f.sum")"
	done
	# the failure first, then the undos, then rolled back; the run failed
	/usr/bin/python3 - "$W/f.sum" <<'PY' || die "out of order: $(cat "$W/f.sum")"
import sys
s = open(sys.argv[1]).read().split("\n")
a = s.index("step vm-local define-target failed failed")
b = s.index("unit vm-local failed - -")
c = s.index("undo vm-local define-target start -")
d = s.index("unit vm-local rolled-back - -")
assert a < b < c < d, (a, b, c, d)
assert s[-2] == 'end failed 1 {"rolled-back": 1}', s[-2]
PY
	unchanged
}
t "a failure at define-target: the failed step, its error and the undos, on stdout alone with -q" fault_events

# vm-dirty cannot converge at 1 MiB/s (harness.bash): live fails at
# timeout_s, live.fallback moves it cold
fallback_events() {
	setup_dirty
	cat >"$W/fb.yaml" <<PLAN
version: 1
name: evfb
hosts:
  host-a: {uri: "$A", migration_host: 127.0.0.2}
  host-b: {uri: "$B", migration_host: 127.0.0.3}
defaults:
  shutdown: {timeout_s: 1, force: true}
migrations:
  - {vm: vm-dirty, from: host-a, to: host-b, mode: live,
     live: {unsafe: true, bandwidth_mib_s: 1, on_timeout: abort, max_downtime_ms: 1, timeout_s: 3, fallback: cold}}
PLAN
	vmshift apply fb.yaml -q --events "$W/fb.jsonl" 2>"$W/fb.log" || die "apply failed: $(tail -20 "$W/fb.log")"
	running_on host-b vm-dirty
	check_events "$W/fb.jsonl" "$W/.vmshift/evfb/journal.jsonl" vm-dirty=live+cold >"$W/fb.sum" ||
		die "the event stream is wrong"
	/usr/bin/python3 - "$W/fb.jsonl" <<'PY' || die "no fallback event in its place: $(cat "$W/fb.sum")"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
i = lambda f: next(k for k, e in enumerate(evs) if f(e))
fb = [e for e in evs if e["ev"] == "fallback"]
assert len(fb) == 1, fb
f = fb[0]
assert (f["unit"], f["from"], f["to"], f["timed_out"]) == ("vm-dirty", "live", "cold", True), f
assert f["why"].startswith("not converging"), f
failed = i(lambda e: e["ev"] == "step" and e["step"] == "migrate-live" and e["phase"] == "failed")
undo = i(lambda e: e["ev"] == "undo" and e["step"] == "migrate-live" and e["phase"] == "start")
cold = i(lambda e: e["ev"] == "step" and e["step"] == "shutdown-source" and e["phase"] == "start")
assert failed < evs.index(f) < undo < cold, (failed, evs.index(f), undo, cold)
live = [e for e in evs if e["ev"] == "progress" and e["step"] == "migrate-live"]
assert live and all(e["unit"] == "vm-dirty" and "path" not in e for e in live), live
assert evs[-1]["result"] == "ok" and evs[-1]["counts"] == {"done": 1}, evs[-1]
PY
	remove_guest vm-dirty
}
t "live.fallback: the live job's progress, the failed attempt, the fallback event, its undo, then the cold steps" fallback_events

if [ -n "${EVENTS_KEEP:-}" ]; then cp "$W"/*.jsonl "$EVENTS_KEEP"/; fi
tap_end
