#!/bin/bash
# End-to-end tests of a host evacuation on the real lab: to: lists placed
# by vmshift (spread, pack, anti-affinity, a VM too large for every
# candidate, placement kept across kill + resume) and the maintenance
# window (a migration deferred, then resumed in a later window).
#
#   VMSHIFT=build/vmshift tests/e2e/evacuate_test.sh
#
# The lab's hosts share one machine, so their free memory is the same
# figure read a moment apart: placement counts values within 256 MiB as
# equal (then the host with fewer VMs placed wins, then list order), and
# these tests decide with figures far apart (a 2 GiB guest, a 4 TiB
# one), never with the noise between two reads.
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

ev_drop() {	# ev_drop: every ev-* guest gone from every host, with its disk
	local h d
	for h in host-a host-b host-c; do
		for d in $(vsh "$h" list --all --name | grep '^ev-'); do
			vsh "$h" destroy "$d" >/dev/null 2>&1
			vsh "$h" undefine "$d" >/dev/null 2>&1
		done
	done
	"$LAB/lab-host" host-a sh -c "rm -f '$LAB_SHARED'/ev-*.qcow2 /var/log/libvirt/qemu/ev-*"
	for h in host-b host-c; do "$LAB/lab-host" "$h" sh -c 'rm -f /var/log/libvirt/qemu/ev-*'; done
	rm -rf "$W/.vmshift"
	return 0
}
# ev_plan NAME POLICY [PLACEMENT_EXTRA [TOP_EXTRA [ENTRY_EXTRA]]]: every ev-* guest of host-a to
# [host-b, host-c], cold
ev_plan() {
	plan_hosts "$1"
	cat <<PLAN
placement: {policy: $2${3:+, $3}}
${4:-}
defaults:
  shutdown: {timeout_s: 20, force: true}
migrations:
  - {id: evac, match: "^ev-", from: host-a, to: [host-b, host-c], mode: cold${5:+, $5}}
PLAN
}
# placed JOURNAL: "UNIT=HOST ..." in unit order, from the journal's facts
placed() {
	/usr/bin/python3 - "$1" <<'PY'
import json, sys
out = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    f = r.get("facts") or {}
    if r.get("ev") == "facts" and "placed_host" in f:
        out[r["unit"]] = f["placed_host"]
print(" ".join("%s=%s" % (u, out[u]) for u in sorted(out)))
PY
}
where_is() {	# where_is VM: the hosts that define it
	local h
	for h in host-a host-b host-c; do vsh "$h" dominfo "$1" >/dev/null 2>&1 && echo "$h"; done | xargs
}

t_spread() {
	ev_drop
	shared_clone ev-0big 2048	# shut off: it needs its room, not the lab's memory
	shared_clone ev-1 64 start; shared_clone ev-2 64 start; shared_clone ev-3 64 start
	ev_plan spread spread >"$W/spread.yaml"
	vmshift apply -q spread.yaml >"$W/out" 2>&1 || die "apply failed: $(tail -5 "$W/out")"
	got=$(placed "$W/.vmshift/spread/journal.jsonl")
	# the 2 GiB guest takes host-b (a tie: list order); host-b then has
	# 2 GiB less room than host-c, so the small ones all go to host-c
	[ "$got" = "evac/ev-0big=host-b evac/ev-1=host-c evac/ev-2=host-c evac/ev-3=host-c" ] || die "placed: $got"
	[ "$(where_is ev-0big)" = host-b ] || die "ev-0big is on $(where_is ev-0big)"
	for v in ev-1 ev-2 ev-3; do running_on host-c "$v"; absent_on host-a "$v"; done
	[ "$(vsh host-b domstate ev-0big)" = "shut off" ] || die "ev-0big was started"
	grep -q '"room_mib"' "$W/.vmshift/spread/journal.jsonl" || die "the journal lacks the figures"
}

t_spread_even() {
	ev_drop
	shared_clone ev-1 64 start; shared_clone ev-2 64 start; shared_clone ev-3 64 start; shared_clone ev-4 64 start
	ev_plan even spread >"$W/even.yaml"
	vmshift apply -q even.yaml >"$W/out" 2>&1 || die "apply failed: $(tail -5 "$W/out")"
	got=$(placed "$W/.vmshift/even/journal.jsonl")
	[ "$got" = "evac/ev-1=host-b evac/ev-2=host-c evac/ev-3=host-b evac/ev-4=host-c" ] || die "placed: $got"
	running_on host-b ev-1; running_on host-c ev-2; running_on host-b ev-3; running_on host-c ev-4
	vmshift status even.yaml >"$W/status" 2>&1
	grep -q 'evac/ev-2 (host-a -> host-c (placed: spread), cold): done' "$W/status" || die "status: $(cat "$W/status")"
}

t_pack() {
	ev_drop
	shared_clone ev-1 64 start; shared_clone ev-2 64 start; shared_clone ev-3 64
	ev_plan pack pack >"$W/pack.yaml"
	vmshift apply -q pack.yaml >"$W/out" 2>&1 || die "apply failed: $(tail -5 "$W/out")"
	got=$(placed "$W/.vmshift/pack/journal.jsonl")
	[ "$got" = "evac/ev-1=host-b evac/ev-2=host-b evac/ev-3=host-b" ] || die "placed: $got"
	running_on host-b ev-1; running_on host-b ev-2
	[ "$(vsh host-b domstate ev-3)" = "shut off" ] || die "ev-3 is not shut off on host-b"
}

t_anti_affinity() {
	ev_drop
	shared_clone ev-db1 64 start; shared_clone ev-db2 64 start; shared_clone ev-web 64 start
	ev_plan anti pack 'anti_affinity: [["ev-db.*"]]' >"$W/anti.yaml"
	vmshift apply -q anti.yaml >"$W/out" 2>&1 || die "apply failed: $(tail -5 "$W/out")"
	got=$(placed "$W/.vmshift/anti/journal.jsonl")
	[ "$got" = "evac/ev-db1=host-b evac/ev-db2=host-c evac/ev-web=host-b" ] || die "placed: $got"
	running_on host-b ev-db1; running_on host-c ev-db2; running_on host-b ev-web
	grep -q 'anti_affinity group 1: ev-db1 goes there' "$W/.vmshift/anti/journal.jsonl" || die "the journal does not say why"
}

t_too_large() {
	ev_drop
	shared_clone ev-huge 4194304	# 4 TiB: no lab host has it
	shared_clone ev-small 64 start
	ev_plan huge spread >"$W/huge.yaml"
	vmshift apply -q huge.yaml >"$W/out" 2>&1
	rc=$?
	[ $rc = 1 ] || die "exit $rc, not 1: $(tail -5 "$W/out")"
	grep -q "evac/ev-huge (host-a -> \[host-b|host-c\], cold): failed at placement: ev-huge needs 4194304 MiB and 1 vCPU; no candidate fits; host-b: .* MiB free - 0 placed by this run - 0 reserved = .* MiB, less than 4194304; host-c: " "$W/out" ||
		die "no clear error: $(cat "$W/out")"
	[ "$(where_is ev-huge)" = host-a ] || die "ev-huge is on $(where_is ev-huge)"
	[ "$(vsh host-a domstate ev-huge)" = "shut off" ] || die "ev-huge changed state"
	running_on host-b ev-small
	absent_on host-a ev-small
}

t_no_bridge() {
	ev_drop
	shared_clone ev-1 64 start
	ev_plan nobr spread "" "" 'remap: {bridges: [{from: "^labbr0$", to: "evnobr0"}]}' >"$W/nobr.yaml"
	vmshift apply -q nobr.yaml >"$W/out" 2>&1
	[ $? = 1 ] || die "apply should exit 1: $(tail -5 "$W/out")"
	grep -q "no candidate fits; host-b: bridge 'evnobr0' missing; host-c: bridge 'evnobr0' missing" "$W/out" ||
		die "no clear error: $(cat "$W/out")"
	running_on host-a ev-1
}

t_dry_run() {
	ev_drop
	shared_clone ev-1 64 start; shared_clone ev-huge 4194304
	ev_plan dry spread 'reserve_memory_mib: 512' >"$W/dry.yaml"
	snapshot >"$W/s0"
	vmshift apply --dry-run dry.yaml >"$W/out" 2>&1
	[ $? = 1 ] || die "the dry run of a VM that fits nowhere should exit 1"
	grep -q 'placement: host-b (needs 64 MiB, 1 vCPUs)' "$W/out" || die "no placement line: $(cat "$W/out")"
	grep -Eq '^      host-c +room [0-9]+ MiB \(free [0-9]+, placed 0, reserved 512\)' "$W/out" || die "no figures: $(cat "$W/out")"
	grep -q 'PLACEMENT FAILS: ev-huge needs 4194304 MiB' "$W/out" || die "no refusal: $(cat "$W/out")"
	[ ! -e "$W/.vmshift" ] || die "the dry run wrote a state directory"
	unchanged
}

t_kept_on_resume() {
	ev_drop
	shared_clone ev-1 64 start; shared_clone ev-2 64 start
	ev_plan keep pack >"$W/keep.yaml"
	faulty "shutdown-source:kill:evac/ev-1" apply -q keep.yaml >"$W/out" 2>&1
	[ "$(placed "$W/.vmshift/keep/journal.jsonl")" = "evac/ev-1=host-b evac/ev-2=host-b" ] || die "placed: $(placed "$W/.vmshift/keep/journal.jsonl")"
	# spread would now put ev-2 on host-c; the run's placement stands
	sed -i 's/policy: pack/policy: spread/' "$W/keep.yaml"
	vmshift resume -q keep.yaml >"$W/out" 2>&1 || die "resume failed: $(tail -5 "$W/out")"
	running_on host-b ev-1; running_on host-b ev-2
	absent_on host-c ev-2
	[ "$(placed "$W/.vmshift/keep/journal.jsonl")" = "evac/ev-1=host-b evac/ev-2=host-b" ] || die "placed again"
}

t_kept_after_rollback() {
	ev_drop
	shared_clone ev-1 64 start; shared_clone ev-2 64 start
	ev_plan again pack >"$W/again.yaml"
	faulty "define-target:fail:evac/ev-1" apply -q again.yaml >"$W/out" 2>&1
	[ "$(vsh host-a domstate ev-1)" = running ] || die "ev-1 was not rolled back"
	running_on host-b ev-2
	# the rolled-back one runs again, is killed, and is resumed
	faulty "start-target:kill:evac/ev-1" resume -q again.yaml >"$W/out" 2>&1
	vmshift resume -q again.yaml >"$W/out" 2>&1 || die "resume failed: $(tail -5 "$W/out")"
	running_on host-b ev-1
	absent_on host-a ev-1
	n=$(grep -c '"unit":"evac/ev-1".*"placed_host"' "$W/.vmshift/again/journal.jsonl")
	[ "$n" = 1 ] || die "ev-1 was placed $n times"
	vmshift status again.yaml >"$W/status" 2>&1
	grep -q 'evac/ev-1 (host-a -> host-b (placed: pack), cold): done' "$W/status" || die "status: $(cat "$W/status")"
}

# The window: vm-local's copy (about 9 MiB) at an assumed 1 MiB/s cannot
# end in the 3 s left, vm-shared (cold: nothing to copy) can.  --now is
# the clock when the migrations start, and vm-local is the first.
window_plan() {
	plan_hosts win
	cat <<PLAN
window: {not_before: "2030-01-01T00:00:00Z", not_after: "2030-01-01T01:00:00Z", assumed_mib_s: 1}
defaults:
  shutdown: {timeout_s: 20, force: true}
migrations:
$(offline_entry vm-local)
  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}
PLAN
}

t_window_defers() {
	ev_drop
	window_plan >"$W/win.yaml"
	vmshift apply -q --now 2030-01-01T00:59:57Z win.yaml >"$W/out" 2>&1
	rc=$?
	[ $rc = 1 ] || die "exit $rc, not 1: $(tail -5 "$W/out")"
	grep -q 'vm-local (host-a -> host-b, offline-with-scp-disk): deferred: it would end after the window closes at 2030-01-01T01:00:00Z: .* MiB to move at 1.0 MiB/s (window.assumed_mib_s)' "$W/out" ||
		die "no deferral: $(cat "$W/out")"
	grep -q '^1 migration deferred by the plan.s window: vmshift resume ' "$W/out" || die "no summary: $(cat "$W/out")"
	running_on host-c vm-shared
	running_on host-a vm-local
	absent_on host-b vm-local
	vmshift status win.yaml >"$W/status" 2>&1
	grep -q 'vm-local .*: deferred: ' "$W/status" || die "status: $(cat "$W/status")"
	vmshift resume -q --now 2030-01-01T00:10:00Z win.yaml >"$W/out" 2>&1 || die "resume failed: $(tail -5 "$W/out")"
	running_on host-b vm-local
	absent_on host-a vm-local
}

t_window_underway() {
	lab_reset
	window_plan >"$W/win3.yaml"
	sed -i 's/name: win/name: win3/' "$W/win3.yaml"
	faulty "shutdown-source:kill:vm-local" apply -q --now 2030-01-01T00:10:00Z win3.yaml >"$W/out" 2>&1
	[ "$(vsh host-a domstate vm-local)" = "shut off" ] || die "vm-local was not shut down before the kill"
	# after the window: vm-local, under way, finishes; vm-shared, not begun, waits
	vmshift resume -q --now 2030-01-01T02:00:00Z win3.yaml >"$W/out" 2>&1
	[ $? = 1 ] || die "resume should exit 1 (vm-shared deferred): $(tail -5 "$W/out")"
	running_on host-b vm-local
	grep -q 'vm-shared (host-a -> host-c, cold): deferred: the window closed at 2030-01-01T01:00:00Z' "$W/out" || die "$(cat "$W/out")"
	running_on host-a vm-shared
}

t_window_closed() {
	lab_reset
	window_plan >"$W/win2.yaml"
	sed -i 's/name: win/name: win2/' "$W/win2.yaml"
	snapshot >"$W/s0"
	vmshift apply -q --now 2029-12-31T23:00:00Z win2.yaml >"$W/out" 2>&1
	[ $? = 1 ] || die "a run before the window opened should exit 1"
	[ "$(grep -c 'deferred: the window opens at 2030-01-01T00:00:00Z; resume then' "$W/out")" = 2 ] || die "$(cat "$W/out")"
	unchanged
}

t "spread: a 2 GiB guest on one host, the small ones on the other (figures in the journal)" t_spread
t "spread: equal guests alternate between the candidates; status names the policy" t_spread_even
t "pack: every guest on the first candidate that fits" t_pack
t "anti_affinity: a group's VMs on distinct hosts, even when packing" t_anti_affinity
t "a VM too large for every candidate fails with every candidate's figures; the others move" t_too_large
t "a bridge the remapped definition names is missing on every candidate: no placement, the VM stays" t_no_bridge
t "dry run: the placement, the figures and the refusal, nothing written" t_dry_run
t "killed during an evacuation: resume keeps the journaled placement" t_kept_on_resume
t "a rolled-back VM that runs again keeps its placement through a kill and resume" t_kept_after_rollback
t "window: a copy that would end after it closes is deferred (exit 1), resume in a later window moves it" t_window_defers
t "window: a migration under way when it closes finishes; one not begun is deferred" t_window_underway
t "window: before it opens nothing starts and nothing changes" t_window_closed
ev_drop
lab_reset
tap_end
