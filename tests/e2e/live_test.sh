#!/bin/bash
# End-to-end tests of mode live on the real lab: a running guest moves
# between two libvirtd hosts with libvirt's migration protocol, its serial
# log path remapped, and keeps running; failures injected at each step
# roll back; a kill at each step resumes.  The lab must be up with its
# guests on host-a; the tests leave it so.
#
#   VMSHIFT=build/vmshift tests/e2e/live_test.sh
set -uo pipefail

HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/../..")
LAB=$ROOT/tests/lab
VMSHIFT=$(readlink -f "${VMSHIFT:-$ROOT/build/vmshift}")
export LAB_DIR=${LAB_DIR:-/tmp/vmshift-lab}
set -a
# shellcheck source=/dev/null
. "$LAB_DIR/env" || { echo "not ok 1 - the lab is up"; echo "1..1"; exit 1; }
set +a

W=$(mktemp -d /tmp/vmshift-live.XXXXXX)
trap 'rm -rf "$W"' EXIT
n=0 failed=0
t() {
	local desc=$1 rc
	shift
	n=$((n + 1))
	("$@") >"$W/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		tail -n 40 "$W/out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}
die() { echo "$*" >&2; exit 1; }
vsh() { local h=$1; shift; "$LAB/lab-host" "$h" virsh -q -c qemu:///system "$@"; }
vmshift() { (cd "$W" && "$LAB/lab-ctl" "$VMSHIFT" "$@"); }

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
	local last first
	vmshift apply plan.yaml 2>"$W/apply.log" || die "apply failed: $(tail -20 "$W/apply.log")"
	grep -q "migrated live in .* ms, downtime .* ms" "$W/apply.log" || die "no job statistics: $(grep live "$W/apply.log")"
	[ "$(vsh host-b domstate vm-shared)" = running ] || die "not running on host-b"
	! vsh host-a dominfo vm-shared >/dev/null 2>&1 || die "still defined on host-a"
	vsh host-b dumpxml --inactive vm-shared | grep -q "/var/log/libvirt/qemu/moved/vm-shared-serial.log" || die "host-b's XML is not remapped"
	sleep 2.5
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

echo "1..$n"
[ $failed -eq 0 ]
