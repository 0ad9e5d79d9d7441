#!/bin/bash
# End-to-end tests of `vmshift apply` on the real lab (tests/lab): real
# libvirtd daemons, real qemu guests, real sshd.  The lab must be up with
# its guests on host-a; the tests bring it back to that state between
# groups (tests/lab/lab-up) and leave it so.
#
#   VMSHIFT=build/vmshift tests/e2e/apply_test.sh
#
# TAP output.  Each fault test injects VMSHIFT_FAULT=STEP:fail or
# STEP:kill (a test-only variable, see README) at every step of both
# modes and checks the outcome against snapshots of every host.
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

# The plan: vm-shared goes cold to host-c (shared storage), vm-local is
# copied to host-b, whose images live under /srv/vms.
cat >"$W/plan.yaml" <<PLAN
version: 1
name: e2e
concurrency: {max_parallel: 2}
hosts:
  host-a: {uri: "qemu+ssh://root@127.0.0.2/system", max_parallel: 2}
  host-b: {uri: "qemu+ssh://root@127.0.0.3/system"}
  host-c: {uri: "qemu+ssh://root@127.0.0.4/system"}
defaults:
  shutdown: {timeout_s: 20, force: true}
migrations:
  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}
  - vm: vm-local
    from: host-a
    to: host-b
    mode: offline-with-scp-disk
    remap:
      paths: [{from: "^/var/lib/libvirt/images/", to: "/srv/vms/"}]
PLAN
STATE=$W/.vmshift/e2e

migrated() {	# both VMs where the plan puts them, running, with their disks
	running_on host-c vm-shared
	absent_on host-a vm-shared
	running_on host-b vm-local
	absent_on host-a vm-local
	[ "$(disk_sha host-b /srv/vms/vm-local.qcow2)" = "$LAB_VM_LOCAL_SHA256" ] || die "vm-local's disk on host-b differs"
}

# ---------------------------------------------------------------- tests

lab_reset
snapshot >"$W/s0"

dry_run_changes_nothing() {
	vmshift apply --dry-run plan.yaml >"$W/dry" || die "dry-run failed: $(cat "$W/dry")"
	snapshot >"$W/s1"
	diff -u "$W/s0" "$W/s1" || die "the dry run changed a host"
	[ ! -e "$W/.vmshift" ] || die "the dry run wrote a state directory"
	grep -q "^+      <source file='/srv/vms/vm-local.qcow2'/>" "$W/dry" || die "no remapped disk in the XML diff"
	grep -q "copy-disks" "$W/dry" || die "no copy-disks step listed"
}
t "dry-run shows the remapped XML diff and changes nothing on any host" dry_run_changes_nothing

dry_run_fails_on_missing_bridge() {
	sed 's|paths: \[{from: "^/var/lib/libvirt/images/", to: "/srv/vms/"}\]|paths: [{from: "^/var/lib/libvirt/images/", to: "/srv/vms/"}]\n      bridges: [{from: "^labbr0$", to: "nosuchbr"}]|' \
		"$W/plan.yaml" >"$W/nobridge.yaml"
	if vmshift apply --dry-run nobridge.yaml >"$W/dry2" 2>&1; then die "a missing bridge passed preflight"; fi
	grep -q "missing on host-b: bridge 'nosuchbr'" "$W/dry2" || die "no clear message: $(cat "$W/dry2")"
}
t "preflight names a bridge missing on the target" dry_run_fails_on_missing_bridge

apply_moves_both() {
	vmshift apply plan.yaml 2>"$W/apply.log" || die "apply failed: $(cat "$W/apply.log")"
	migrated
	vsh host-b dumpxml --inactive vm-local | grep -q "<source file='/srv/vms/vm-local.qcow2'/>" ||
		die "host-b's XML is not remapped: $(vsh host-b dumpxml --inactive vm-local | grep 'source file')"
	[ -e "$LAB_DIR/hosts/host-a/lib/images/vm-local.qcow2" ] || die "the source disk was deleted"
}
t "apply moves a cold and an offline-with-scp-disk VM, remapped, disk bytes intact" apply_moves_both
guests_run() {
	serial_grows host-b vm-local
	serial_grows host-c vm-shared
}
t "the migrated guests run on their new hosts (serial logs grow)" guests_run

parallel() {
	# with max_parallel 2 both ran at once: their step intervals overlap
	/usr/bin/python3 - "$STATE/journal.jsonl" <<'PY'
import json, sys
span = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("ev") == "step":
        a = span.setdefault(r["unit"], [r["t"], r["t"]])
        a[0] = min(a[0], r["t"]); a[1] = max(a[1], r["t"])
(a0, a1), (b0, b1) = span["vm-shared"], span["vm-local"]
assert a0 < b1 and b0 < a1, span
PY
}
t "migrations within the limits run in parallel (journal timestamps overlap)" parallel

status_done() {
	vmshift status plan.yaml >"$W/status" || die "status failed"
	grep -q "^vm-shared (host-a -> host-c, cold): done" "$W/status" && grep -q "^vm-local .*: done" "$W/status" ||
		die "$(cat "$W/status")"
}
t "status reports both done" status_done

second_apply_noop() {
	snapshot >"$W/s2"
	local before; before=$(grep -c '"ev":"step"' "$STATE/journal.jsonl")
	vmshift apply plan.yaml 2>/dev/null || die "second apply failed"
	[ "$(grep -c '"ev":"step"' "$STATE/journal.jsonl")" = "$before" ] || die "the second apply ran steps"
	snapshot >"$W/s3"
	diff -u <(grep -v '^log/qemu' "$W/s2") <(grep -v '^log/qemu' "$W/s3") || die "the second apply changed a host"
}
t "a second apply of a finished plan does nothing and exits 0" second_apply_noop

rollback_restores() {
	if vmshift rollback plan.yaml --only vm-local 2>"$W/rb0.log"; then die "a done migration was rolled back without --force"; fi
	grep -q "add --force" "$W/rb0.log" || die "no hint: $(cat "$W/rb0.log")"
	running_on host-b vm-local
	vmshift rollback plan.yaml --force --only vm-shared vm-local 2>"$W/rb.log" || die "rollback failed: $(cat "$W/rb.log")"
	snapshot >"$W/s4"
	diff -u "$W/s0" "$W/s4" || die "rollback did not restore the hosts exactly"
	running_on host-a vm-local
	running_on host-a vm-shared
}
t "rollback of completed migrations restores every host exactly" rollback_restores

json_output() {
	rm -rf "$W/.vmshift"
	vmshift apply --dry-run --output json plan.yaml >"$W/json" 2>/dev/null || die "dry-run json failed"
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["result"]=="ok" and len(d["migrations"])==2, d' "$W/json"
}
t "--output json puts one JSON report on stdout" json_output

# ------------------------------------------------- faults at every step

# VMSHIFT_FAULT=STEP:fail: the step does its work, then fails; rollback
# (the default) must leave every host exactly as before.
# VMSHIFT_FAULT=STEP:kill: SIGKILL in the middle of the step; resume must
# finish the migration correctly.
fault_fail() {	# fault_fail UNIT STEP
	rm -rf "$W/.vmshift"
	if VMSHIFT_FAULT="$2:fail:$1" vmshift apply plan.yaml --only "$1" 2>"$W/f.log"; then
		die "apply succeeded despite the fault"
	fi
	grep -q "injected failure at $2" "$W/f.log" || die "the fault did not fire: $(tail -5 "$W/f.log")"
	snapshot >"$W/sf"
	diff -u "$W/s0" "$W/sf" || die "rollback after a failure at $2 left the hosts changed"
	vmshift status plan.yaml | grep -q "^$1 .*rolled back" || die "status does not say rolled back"
}
fault_kill() {	# fault_kill UNIT STEP
	rm -rf "$W/.vmshift"
	VMSHIFT_FAULT="$2:kill:$1" vmshift apply plan.yaml --only "$1" 2>"$W/k.log"
	[ $? -eq 137 ] || die "vmshift was not killed at $2: $(tail -5 "$W/k.log")"
	vmshift status plan.yaml | grep -q "^$1 .*interrupted" || die "status after the kill: $(vmshift status plan.yaml)"
	vmshift resume plan.yaml 2>"$W/r.log" || die "resume failed: $(tail -20 "$W/r.log")"
	if [ "$1" = vm-local ]; then
		running_on host-b vm-local; absent_on host-a vm-local
		[ "$(disk_sha host-b /srv/vms/vm-local.qcow2)" = "$LAB_VM_LOCAL_SHA256" ] || die "disk differs after resume"
		[ -z "$(find "$LAB_DIR/hosts/host-b/srv/vms" -name '*.vmshift-part')" ] || die "a partial copy was left"
	else
		running_on host-c vm-shared; absent_on host-a vm-shared
	fi
	# back to the start for the next test, by rollback (itself under test)
	vmshift rollback plan.yaml --force --only "$1" 2>"$W/rb.log" || die "rollback after resume failed: $(tail -20 "$W/rb.log")"
	snapshot >"$W/sk"
	diff -u "$W/s0" "$W/sk" || die "rollback after resume left the hosts changed"
}

for step in preflight shutdown-source export-xml copy-disks prepare-target define-target start-target verify-target undefine-source delete-source-disks; do
	t "offline-with-scp-disk: a failure at $step rolls back to the exact prior state" fault_fail vm-local "$step"
	t "offline-with-scp-disk: killed during $step, resume finishes the migration" fault_kill vm-local "$step"
done
for step in preflight shutdown-source export-xml prepare-target define-target start-target verify-target undefine-source; do
	t "cold: a failure at $step rolls back to the exact prior state" fault_fail vm-shared "$step"
	t "cold: killed during $step, resume finishes the migration" fault_kill vm-shared "$step"
done

copy_resumes_midway() {
	rm -rf "$W/.vmshift"
	VMSHIFT_FAULT="copy-disks:kill:vm-local" vmshift apply plan.yaml --only vm-local 2>"$W/k.log"
	grep -q "in the middle of copying" "$W/k.log" || die "not killed mid-copy: $(tail -3 "$W/k.log")"
	vmshift resume plan.yaml 2>"$W/r.log" || die "resume failed"
	grep -q "resuming the copy of .* at" "$W/r.log" || die "the copy started over: $(grep copy "$W/r.log")"
	vmshift rollback plan.yaml --force --only vm-local 2>/dev/null || die "rollback failed"
}
t "a copy killed halfway resumes where it stopped" copy_resumes_midway

on_failure_stop() {
	rm -rf "$W/.vmshift"
	VMSHIFT_FAULT="define-target:fail:vm-local" vmshift apply plan.yaml --only vm-local --on-failure stop 2>/dev/null &&
		die "apply succeeded despite the fault"
	vmshift status plan.yaml | grep -q "^vm-local .*failed at define-target" || die "status: $(vmshift status plan.yaml)"
	vsh host-b dominfo vm-local >/dev/null 2>&1 || die "--on-failure stop undid the step"
	vmshift resume plan.yaml 2>/dev/null || die "resume after stop failed"
	running_on host-b vm-local
	vmshift rollback plan.yaml --force --only vm-local 2>/dev/null || die "rollback failed"
	snapshot >"$W/ss"
	diff -u "$W/s0" "$W/ss" || die "hosts changed"
}
t "--on-failure stop leaves the failed step for inspection; resume finishes it" on_failure_stop

resume_refuses_changed_plan() {
	rm -rf "$W/.vmshift"
	VMSHIFT_FAULT="prepare-target:kill:vm-local" vmshift apply plan.yaml --only vm-local 2>/dev/null
	cp "$W/plan.yaml" "$W/plan.orig"
	sed -i 's|to: "/srv/vms/"|to: "/srv/other/"|' "$W/plan.yaml"
	if vmshift resume plan.yaml 2>"$W/r.log"; then cp "$W/plan.orig" "$W/plan.yaml"; die "resume accepted a changed plan"; fi
	cp "$W/plan.orig" "$W/plan.yaml"
	grep -q "the plan changed since the run in .* began, for migration(s) vm-local" "$W/r.log" || die "$(cat "$W/r.log")"
	vmshift rollback plan.yaml 2>/dev/null || die "rollback of the interrupted migration failed"
	snapshot >"$W/sr"
	diff -u "$W/s0" "$W/sr" || die "hosts changed"
}
t "resume refuses a plan whose unfinished migration changed" resume_refuses_changed_plan

shared_disk_never_deleted() {
	rm -rf "$W/.vmshift"
	cat >"$W/del.yaml" <<PLAN
version: 1
name: e2e-delete
hosts:
  host-a: {uri: "qemu+ssh://root@127.0.0.2/system"}
  host-c: {uri: "qemu+ssh://root@127.0.0.4/system"}
migrations:
  - vm: vm-shared
    from: host-a
    to: host-c
    mode: offline-with-scp-disk
    shutdown: {timeout_s: 20, force: true}
    disks: {delete_source: true, verify: size}
PLAN
	vmshift apply del.yaml 2>"$W/del.log" || die "apply failed: $(tail -5 "$W/del.log")"
	grep -q "identical: not copied" "$W/del.log" || die "the shared disk was copied onto itself?"
	grep -q "was not copied by vmshift: kept" "$W/del.log" || die "$(grep -i delet "$W/del.log")"
	[ -e "$LAB_VM_SHARED_DISK" ] || die "the shared disk was deleted"
	running_on host-c vm-shared
	vmshift rollback del.yaml --force --only vm-shared 2>/dev/null || die "rollback failed"
	snapshot >"$W/sd"
	diff -u "$W/s0" "$W/sd" || die "hosts changed"
}
t "delete_source never deletes a disk the target uses through shared storage" shared_disk_never_deleted

blocked_then_resumed() {
	rm -rf "$W/.vmshift"
	sed 's|  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}|  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, after: vm-local}|' "$W/plan.yaml" >"$W/after.yaml"
	grep -q "after: vm-local" "$W/after.yaml" || die "test setup: the plan was not rewritten"
	if VMSHIFT_FAULT="define-target:fail:vm-local" vmshift apply after.yaml --on-failure stop 2>"$W/b.log"; then
		die "apply succeeded despite the fault"
	fi
	vmshift status after.yaml >"$W/bs" 2>&1
	grep -q "^vm-shared .*blocked: it runs after vm-local, which is failed" "$W/bs" || die "status: $(cat "$W/bs")"
	[ "$(grep -c '"status":"blocked"' "$W/.vmshift/e2e/journal.jsonl")" = 1 ] || die "blocked was recorded more than once"
	running_on host-a vm-shared
	vmshift resume after.yaml 2>"$W/br.log" || die "resume failed: $(tail -8 "$W/br.log")"
	migrated
	vmshift rollback after.yaml --force --only vm-shared vm-local 2>/dev/null || die "rollback failed"
	snapshot >"$W/sb"
	diff -u "$W/s0" "$W/sb" || die "hosts changed"
}
t "a migration blocked by a failed one runs once a resume finishes the failed one" blocked_then_resumed

lock_excludes() {
	rm -rf "$W/.vmshift"
	mkdir -p "$STATE"
	rm -f "$W/locked" "$W/release"
	# a holder of the lock until the test says so (or 120 s at most, should
	# the test die first): the wait is on events, not on a fixed sleep
	timeout 120 flock "$STATE/lock" sh -c 'touch "$1/locked"; while [ ! -e "$1/release" ]; do sleep 0.1; done' sh "$W" &
	local holder=$! i rc=0
	for ((i = 0; i < 600; i++)); do [ -e "$W/locked" ] && break; sleep 0.1; done
	[ -e "$W/locked" ] || { touch "$W/release"; die "the lock holder never got the lock"; }
	vmshift apply plan.yaml 2>"$W/l.log" && rc=1
	touch "$W/release"
	wait $holder
	[ $rc = 0 ] || die "a second run got the lock"
	grep -q "another vmshift run holds" "$W/l.log" || die "$(cat "$W/l.log")"
}
t "a second run of the same plan is refused while one holds the lock" lock_excludes

unknown_host_key() {
	rm -rf "$W/.vmshift"
	: >"$W/kh-empty"
	sed "s|host-b: {uri: \"qemu+ssh://root@127.0.0.3/system\"}|host-b: {uri: \"qemu+ssh://root@127.0.0.3/system\", ssh: {known_hosts: $W/kh-empty}}|" \
		"$W/plan.yaml" >"$W/kh.yaml"
	grep -q kh-empty "$W/kh.yaml" || die "test setup: the plan was not rewritten"
	if vmshift apply --dry-run kh.yaml >"$W/kh.out" 2>&1; then die "an unknown host key was accepted"; fi
	grep -q "is not in known_hosts .*--accept-new-host-keys" "$W/kh.out" || die "no host-key message: $(cat "$W/kh.out")"
	vmshift apply --dry-run --accept-new-host-keys kh.yaml >"$W/kh2.out" 2>&1 || die "with the key accepted: $(cat "$W/kh2.out")"
	[ -s "$W/kh-empty" ] || die "--accept-new-host-keys did not record the key"
}
t "an unknown SSH host key is refused; --accept-new-host-keys records it" unknown_host_key

tap_end
