#!/bin/bash
# End-to-end tests of mode live on the real lab: a running guest moves
# between two libvirtd hosts with libvirt's migration protocol, its serial
# log path remapped, and keeps running; failures injected at each step
# roll back; a kill at each step resumes.  The lab must be up with its
# guests on host-a; the tests leave it so.
#
#   VMSHIFT=build/vmshift tests/e2e/live_test.sh
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

# vm-shared's disk is on storage every host sees; its serial log moves to
# a directory that does not exist on host-b yet (prepare-target makes it).
# libvirt trusts only network filesystems as shared: unsafe: true.
cat >"$W/plan.yaml" <<PLAN
version: 1
name: live
hosts:
  host-a: {uri: "qemu+ssh://root@127.0.0.2/system", migration_host: 127.0.0.2}
  host-b: {uri: "qemu+ssh://root@127.0.0.3/system", migration_host: 127.0.0.3}
migrations:
  - vm: vm-shared
    from: host-a
    to: host-b
    mode: live
    live: {unsafe: true, max_downtime_ms: 500}
    remap:
      paths: [{from: '^/var/log/libvirt/qemu/(.*)-serial\.log$', to: '/var/log/libvirt/qemu/moved/\$1-serial.log'}]
PLAN
MOVED=$LAB_DIR/hosts/host-b/log/qemu/moved/vm-shared-serial.log

snapshot() {
	local h
	for h in host-a host-b; do
		echo "== $h"
		vsh "$h" list --all --name | sort | while read -r d; do
			[ -n "$d" ] || continue
			echo "domain $d $(vsh "$h" domstate "$d")"
			vsh "$h" dumpxml --inactive "$d"
		done
		(cd "$LAB_DIR/hosts/$h" && find log/qemu -name '*-serial.log' 2>/dev/null | sort)
		(cd "$LAB_DIR/hosts/$h" && find log/qemu -type d | sort)
	done
}
succ() {	# the ticker prints A..P, one a second
	local s=ABCDEFGHIJKLMNOPA
	echo "${s:$(( $(expr index "$s" "$1") )):1}"
}

LAB_GUESTS=1 "$LAB/lab-up" >"$W/lab-up.log" 2>&1 || { echo "not ok 1 - lab-up"; cat "$W/lab-up.log" | sed 's/^/# /'; echo "1..1"; exit 1; }
sleep 2	# let the guests boot
snapshot >"$W/s0"

dry_run_live() {
	vmshift apply --dry-run plan.yaml >"$W/dry" || die "dry-run failed: $(cat "$W/dry")"
	grep -q "migrate-live" "$W/dry" || die "no migrate-live step"
	grep -q "^+.*/var/log/libvirt/qemu/moved/vm-shared-serial.log" "$W/dry" || die "no remapped serial log in the diff"
	snapshot >"$W/s1"
	diff -u "$W/s0" "$W/s1" || die "the dry run changed a host"
}
t "live dry-run lists migrate-live and the remapped XML, changes nothing" dry_run_live

live_keeps_running() {
	local last first i
	vmshift apply plan.yaml 2>"$W/apply.log" || die "apply failed: $(tail -20 "$W/apply.log")"
	grep -q "migrated live in .* ms, downtime .* ms" "$W/apply.log" || die "no job statistics: $(grep live "$W/apply.log")"
	[ "$(vsh host-b domstate vm-shared)" = running ] || die "not running on host-b"
	! vsh host-a dominfo vm-shared >/dev/null 2>&1 || die "still defined on host-a"
	vsh host-b dumpxml --inactive vm-shared | grep -q "/var/log/libvirt/qemu/moved/vm-shared-serial.log" || die "host-b's XML is not remapped"
	for ((i = 0; i < 240; i++)); do [ -s "$MOVED" ] && break; sleep 0.5; done	# its first line: an event
	[ -s "$MOVED" ] || die "the guest writes nothing on host-b"
	last=$(tr -d '\n' <"$LAB_DIR/hosts/host-a/log/qemu/vm-shared-serial.log" | tail -c 1)
	first=$(head -c 1 "$MOVED")
	# a guest that booted again would start over at A
	[ "$first" = "$(succ "$last")" ] || [ "$first" = "$(succ "$(succ "$last")")" ] ||
		die "the ticker restarted: last on host-a '$last', first on host-b '$first'"
}
t "a running guest migrates live with a remapped serial path and keeps counting" live_keeps_running

live_rollback() {
	vmshift rollback plan.yaml --force --only vm-shared 2>"$W/rb.log" || die "rollback failed: $(tail -20 "$W/rb.log")"
	grep -q "migrating it back live" "$W/rb.log" || die "not migrated back live"
	[ "$(vsh host-a domstate vm-shared)" = running ] || die "not running on host-a"
	snapshot >"$W/s2"
	diff -u <(grep -v '^log/qemu' "$W/s0") <(grep -v '^log/qemu' "$W/s2") || die "hosts changed"
}
t "rollback of a live migration migrates it back live and restores the definitions" live_rollback

fault_fail() {
	rm -rf "$W/.vmshift"
	rm -rf "$LAB_DIR/hosts/host-b/log/qemu/moved"
	if VMSHIFT_FAULT="$1:fail" vmshift apply plan.yaml 2>"$W/f.log"; then die "apply succeeded despite the fault"; fi
	grep -q "injected failure at $1" "$W/f.log" || die "the fault did not fire: $(tail -5 "$W/f.log")"
	[ "$(vsh host-a domstate vm-shared)" = running ] || die "not running on host-a after rollback"
	snapshot >"$W/sf"
	diff -u "$W/s0" "$W/sf" || die "rollback after a failure at $1 left the hosts changed"
}
fault_kill() {
	rm -rf "$W/.vmshift"
	VMSHIFT_FAULT="$1:kill" vmshift apply plan.yaml 2>"$W/k.log"
	[ $? -eq 137 ] || die "vmshift was not killed at $1: $(tail -5 "$W/k.log")"
	vmshift resume plan.yaml 2>"$W/r.log" || die "resume failed: $(tail -20 "$W/r.log")"
	[ "$(vsh host-b domstate vm-shared)" = running ] || die "not running on host-b after resume"
	! vsh host-a dominfo vm-shared >/dev/null 2>&1 || die "still defined on host-a"
	vmshift rollback plan.yaml --force --only vm-shared 2>"$W/rb.log" || die "rollback failed: $(tail -20 "$W/rb.log")"
	rm -rf "$LAB_DIR/hosts/host-b/log/qemu/moved"	# the guest wrote there: its log is not vmshift's to remove
	snapshot >"$W/sk"
	diff -u <(grep -v '^log/qemu' "$W/s0") <(grep -v '^log/qemu' "$W/sk") || die "hosts changed"
}
for step in preflight prepare-target migrate-live verify-target undefine-source; do
	t "live: a failure at $step rolls back to the exact prior state" fault_fail "$step"
	t "live: killed during $step, resume finishes the migration" fault_kill "$step"
done

copy_storage_all() {
	rm -rf "$W/.vmshift"
	cat >"$W/cs.yaml" <<PLAN
version: 1
name: live-copy-storage
hosts:
  host-a: {uri: "qemu+ssh://root@127.0.0.2/system", migration_host: 127.0.0.2}
  host-c: {uri: "qemu+ssh://root@127.0.0.4/system", migration_host: 127.0.0.4}
migrations:
  - {vm: vm-local, from: host-a, to: host-c, mode: live, live: {copy_storage: all}}
PLAN
	vmshift apply cs.yaml 2>"$W/cs.log" || die "apply failed: $(tail -8 "$W/cs.log")"
	[ "$(vsh host-c domstate vm-local)" = running ] || die "vm-local is not running on host-c"
	"$LAB/lab-host" host-c qemu-img convert -U -f qcow2 -O raw /var/lib/libvirt/images/vm-local.qcow2 /tmp/cs.raw
	[ "$("$LAB/lab-host" host-c sha256sum /tmp/cs.raw | cut -d' ' -f1)" = "$LAB_VM_LOCAL_SHA256" ] ||
		die "the copied disk differs"
	"$LAB/lab-host" host-c rm -f /tmp/cs.raw
	vmshift rollback cs.yaml --force --only vm-local 2>"$W/csr.log" || die "rollback failed: $(tail -8 "$W/csr.log")"
	[ "$(vsh host-a domstate vm-local)" = running ] || die "vm-local is not back on host-a"
	! vsh host-c dominfo vm-local >/dev/null 2>&1 || die "vm-local is still defined on host-c"
	# the copy on host-c is libvirt's (it pre-created it), not vmshift's
	rm -f "$LAB_DIR/hosts/host-c/lib/images/vm-local.qcow2"
}
t "live with copy_storage all: a host-private disk arrives byte-identical, and rollback brings it back" copy_storage_all

# ------------------------------------------------ guests made for these tests
# (define_clone, remove_guest, setup_dirty: harness.bash)

# vm-dirty boots tests/lab/mk-dirty-mbr: 12 MiB of its RAM non-zero and
# rewritten every pass, so at 1 MiB/s one memory pass alone takes 12 s:
# the migration cannot finish within timeout_s (3 s), under KVM or TCG,
# however busy the machine (a slower machine only sends less).
dirty_plan() {	# dirty_plan ON_TIMEOUT
	cat <<PLAN
version: 1
name: live-timeout-$1
hosts:
  host-a: {uri: "qemu+ssh://root@127.0.0.2/system", migration_host: 127.0.0.2}
  host-b: {uri: "qemu+ssh://root@127.0.0.3/system", migration_host: 127.0.0.3}
migrations:
  - vm: vm-dirty
    from: host-a
    to: host-b
    mode: live
    live: {unsafe: true, bandwidth_mib_s: 1, max_downtime_ms: 1, timeout_s: 3, on_timeout: $1}
PLAN
}

timeout_abort() {
	setup_dirty
	dirty_plan abort >"$W/abort.yaml"
	if vmshift apply abort.yaml 2>"$W/abort.log"; then die "a migration that cannot converge succeeded"; fi
	grep -q "aborting" "$W/abort.log" || die "no abort: $(tail -5 "$W/abort.log")"
	grep -q "aborted at live.timeout_s" "$W/abort.log" || die "$(tail -5 "$W/abort.log")"
	[ "$(vsh host-a domstate vm-dirty)" = running ] || die "vm-dirty does not run on host-a any more"
	! vsh host-b dominfo vm-dirty >/dev/null 2>&1 || die "vm-dirty left something on host-b"
}
t "live: timeout with on_timeout abort leaves the guest running on the source, nothing on the target" timeout_abort

timeout_suspend() {
	dirty_plan suspend >"$W/suspend.yaml"
	vmshift apply suspend.yaml 2>"$W/suspend.log" || die "apply failed: $(tail -8 "$W/suspend.log")"
	grep -q "pausing the VM to finish" "$W/suspend.log" || die "not suspended: $(tail -5 "$W/suspend.log")"
	[ "$(vsh host-b domstate vm-dirty)" = running ] || die "vm-dirty is not running on host-b: $(vsh host-b domstate vm-dirty)"
	! vsh host-a dominfo vm-dirty >/dev/null 2>&1 || die "vm-dirty is still defined on host-a"
	remove_guest vm-dirty
	rm -f "$LAB_SHARED/vm-dirty.img"
	rm -rf "$LAB_DIR/hosts/host-b/log/qemu/vm-dirty-serial.log"
}
t "live: timeout with on_timeout suspend finishes the migration, the guest runs on the target" timeout_suspend

# Six guests, two on each host, move round the ring a->b->c->a.
ring_plan() {	# ring_plan NAME HOST_MAX_PARALLEL FORWARD|BACK
	local a=host-a b=host-b c=host-c
	[ "$3" = BACK ] && { a=host-b; b=host-c; c=host-a; }
	cat <<PLAN
version: 1
name: $1
concurrency: {max_parallel: 6}
hosts:
  host-a: {uri: "qemu+ssh://root@127.0.0.2/system", migration_host: 127.0.0.2, max_parallel: $2}
  host-b: {uri: "qemu+ssh://root@127.0.0.3/system", migration_host: 127.0.0.3, max_parallel: $2}
  host-c: {uri: "qemu+ssh://root@127.0.0.4/system", migration_host: 127.0.0.4, max_parallel: $2}
defaults: {mode: live, live: {unsafe: true}}
migrations:
  - {vm: vm-p1, from: $a, to: $b}
  - {vm: vm-p2, from: $a, to: $b}
  - {vm: vm-p3, from: $b, to: $c}
  - {vm: vm-p4, from: $b, to: $c}
  - {vm: vm-p5, from: $c, to: $a}
  - {vm: vm-p6, from: $c, to: $a}
PLAN
}

max_per_host() {	# max_per_host JOURNAL: most migrations touching one host at once
	/usr/bin/python3 - "$1" <<'PY'
import json, sys
start, end, hosts = {}, {}, {}
ring = {"vm-p1": "ab", "vm-p2": "ab", "vm-p3": "bc", "vm-p4": "bc", "vm-p5": "ca", "vm-p6": "ca"}
for line in open(sys.argv[1]):
    r = json.loads(line)
    u = r.get("unit")
    if r.get("ev") == "step" and r.get("phase") == "start" and u not in start:
        start[u] = r["t"]
    if r.get("ev") == "unit":
        end[u] = r["t"]
events = []
for u in start:
    events += [(start[u], 1, u), (end[u], -1, u)]
most = 0
live = {}
for t, d, u in sorted(events, key=lambda e: (e[0], e[1])):
    for h in ring[u]:
        live[h] = live.get(h, 0) + d
        most = max(most, live[h])
print(most)
PY
}

parallel_ring() {
	local i host t1 t2 most
	for i in 1 2 3 4 5 6; do
		remove_guest "vm-p$i"
		cp "$LAB_VM_SHARED_DISK" "$LAB_SHARED/vm-p$i.qcow2"
	done
	for i in 1 2; do define_clone host-a "vm-p$i" "$LAB_SHARED/vm-p$i.qcow2" || die "define vm-p$i"; done
	for i in 3 4; do define_clone host-b "vm-p$i" "$LAB_SHARED/vm-p$i.qcow2" || die "define vm-p$i"; done
	for i in 5 6; do define_clone host-c "vm-p$i" "$LAB_SHARED/vm-p$i.qcow2" || die "define vm-p$i"; done
	sleep 2
	ring_plan ring2 2 FORWARD >"$W/ring2.yaml"
	ring_plan ring1 1 BACK >"$W/ring1.yaml"
	t1=$(date +%s%N)
	vmshift apply -q ring2.yaml 2>"$W/ring2.log" || die "ring at max_parallel 2 failed: $(tail -5 "$W/ring2.log")"
	t2=$(date +%s%N)
	most=$(max_per_host "$W/.vmshift/ring2/journal.jsonl")
	echo "max_parallel 2: $(( (t2 - t1) / 1000000 )) ms, at most $most migrations per host at once"
	[ "$most" -le 2 ] || die "a host had $most migrations at once (limit 2)"
	[ "$most" -eq 2 ] || die "never 2 at once on a host: nothing ran in parallel"
	for i in 1 2 3 4 5 6; do
		case $i in 1|2) host=host-b ;; 3|4) host=host-c ;; *) host=host-a ;; esac
		[ "$(vsh $host domstate "vm-p$i")" = running ] || die "vm-p$i is not running on $host"
	done
	# and back, one at a time per host
	local t3 t4
	t3=$(date +%s%N)
	vmshift apply -q ring1.yaml 2>"$W/ring1.log" || die "ring at max_parallel 1 failed: $(tail -5 "$W/ring1.log")"
	t4=$(date +%s%N)
	most=$(max_per_host "$W/.vmshift/ring1/journal.jsonl")
	echo "max_parallel 1: $(( (t4 - t3) / 1000000 )) ms, at most $most migrations per host at once"
	[ "$most" -le 1 ] || die "a host had $most migrations at once (limit 1)"
	# the journal's events prove the overlap (2 at once) and the limit (1):
	# wall times are printed, never compared (they depend on the load)
	for i in 1 2 3 4 5 6; do remove_guest "vm-p$i"; rm -f "$LAB_SHARED/vm-p$i.qcow2"; done
	rm -f "$LAB_DIR"/hosts/*/log/qemu/vm-p?-serial.log
}
t "six live guests over three hosts: max_parallel 2 runs two at once per host and never more, max_parallel 1 one" parallel_ring
grep -E '^max_parallel' "$W/out" | sed 's/^/# /'

tap_end
