# harness.bash: what the lab's end-to-end tests share (sourced, not run).
# Sets ROOT, LAB, VMSHIFT, W (a scratch directory, removed on exit) and the
# lab's env, and defines:
#   t DESCRIPTION CMD...   one TAP test: CMD runs in a subshell, its output
#                          becomes "# " diagnostics if it fails (E2E_ONLY="N
#                          M" runs only tests N and M, for runs by hand)
#   die MESSAGE            fail the current test
#   vsh HOST ARGS...       virsh on HOST itself (its namespace)
#   vmshift ARGS...        vmshift as the lab's controller, in $W
#   tap_end                the plan line and the exit status
#   snapshot, lab_reset, running_on, absent_on, serial_grows, disk_sha
#                          the state of every host, and checks on it
#   plan_head, offline_entry, faulty, unchanged, refused, clone_of,
#   clone_local, drop_local  plans, faults and refusals (see each)
#   define_clone, remove_guest, setup_dirty  running guests of the live
#                          tests (vm-dirty: a guest live migration cannot
#                          finish at 1 MiB/s)
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ROOT=$(readlink -f "$HERE/../..")
LAB=$ROOT/tests/lab
VMSHIFT=$(readlink -f "${VMSHIFT:-$ROOT/build/vmshift}")
export LAB_DIR=${LAB_DIR:-/tmp/vmshift-lab}
set -a
# shellcheck source=/dev/null
. "$LAB_DIR/env" || { echo "not ok 1 - the lab is up"; echo "1..1"; exit 1; }
set +a

W=$(mktemp -d /tmp/vmshift-e2e.XXXXXX)
trap 'rm -rf "$W"' EXIT
n=0 failed=0

t() {
	local desc=$1 rc
	shift
	n=$((n + 1))
	# E2E_ONLY="3 7": run only those tests (by hand, e.g. one at a time)
	if [ -n "${E2E_ONLY:-}" ] && [[ " $E2E_ONLY " != *" $n "* ]]; then
		echo "ok $n - $desc # SKIP not in E2E_ONLY"
		return 0
	fi
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
tap_end() { echo "1..$n"; [ $failed -eq 0 ]; }

# Everything a migration could change, on every host: domains with their
# state and definition, and the files under the image and log directories
# (log contents excepted: running guests write them).  libvirt's own
# per-domain qemu log (<vm>.log) is libvirt's, not vmshift's, and ignored.
snapshot() {
	local h
	for h in host-a host-b host-c; do
		echo "== $h"
		vsh "$h" list --all --name | sort | while read -r d; do
			[ -n "$d" ] || continue
			echo "domain $d $(vsh "$h" domstate "$d")"
			vsh "$h" dumpxml --inactive "$d"
		done
		(cd "$LAB_DIR/hosts/$h" && find lib/images srv log/qemu -type f 2>/dev/null |
			grep -v -e '/[^/]*\.log$' | sort | xargs -r sha256sum)
		(cd "$LAB_DIR/hosts/$h" && find log/qemu -name '*-serial.log' 2>/dev/null | sort)
	done
	echo "== shared"
	sha256sum "$LAB_SHARED"/*.qcow2
}

lab_reset() {
	rm -rf "$W/.vmshift"
	# LAB_GUESTS in the env file lists guests; for lab-up it is a switch
	LAB_GUESTS=1 "$LAB/lab-up" >"$W/lab-up.log" 2>&1 || { cat "$W/lab-up.log"; die "lab-up failed"; }
	set -a
	# shellcheck source=/dev/null
	. "$LAB_DIR/env"
	set +a
}

running_on() {	# running_on HOST VM
	[ "$(vsh "$1" domstate "$2")" = running ] || die "$2 is not running on $1: $(vsh "$1" domstate "$2" 2>&1)"
}
absent_on() {
	! vsh "$1" dominfo "$2" >/dev/null 2>&1 || die "$2 is still defined on $1"
}
serial_grows() {	# serial_grows HOST VM: the guest really runs there (its serial log grows)
	local f=$LAB_DIR/hosts/$1/log/qemu/$2-serial.log a b i
	a=$(stat -c %s "$f" 2>/dev/null || echo 0)
	# an event, not a delay: the first growth, however slow a loaded TCG guest is
	for ((i = 0; i < 240; i++)); do
		sleep 0.5
		b=$(stat -c %s "$f" 2>/dev/null || echo 0)
		[ "$b" -gt "$a" ] && return 0
	done
	die "serial log $f does not grow ($a -> $b bytes in 120 s)"
}
disk_sha() {	# disk_sha HOST PATH: sha256 of the guest-visible disk
	"$LAB/lab-host" "$1" qemu-img convert -U -f qcow2 -O raw "$2" "/tmp/e2e-disk.raw" &&
		"$LAB/lab-host" "$1" sha256sum /tmp/e2e-disk.raw | cut -d' ' -f1
	"$LAB/lab-host" "$1" rm -f /tmp/e2e-disk.raw
}

# ---- plans and checks the safety and disk tests share ----
A=qemu+ssh://root@127.0.0.2/system
B=qemu+ssh://root@127.0.0.3/system
C=qemu+ssh://root@127.0.0.4/system

plan_hosts() {	# plan_hosts NAME: a plan's version, name and the lab's hosts
	cat <<PLAN
version: 1
name: $1
hosts:
  host-a: {uri: "$A"}
  host-b: {uri: "$B"}
  host-c: {uri: "$C"}
PLAN
}
plan_head() {	# plan_head NAME: the hosts part of a plan
	plan_hosts "$1"
	cat <<PLAN
defaults:
  shutdown: {timeout_s: 20, force: true}
migrations:
PLAN
}
faulty() {	# faulty SPEC ARGS...: vmshift ARGS with VMSHIFT_FAULT=SPEC
	VMSHIFT_FAULT="$1" vmshift "${@:2}"
}
unchanged() {	# unchanged: every host as the lab left it
	snapshot >"$W/now"
	diff -u "$W/s0" "$W/now" || die "the hosts changed"
}
refused() {	# refused CODE LOG PATTERN CMD...: CMD exits CODE and says PATTERN
	local code=$1 log=$2 pat=$3 rc
	shift 3
	"$@" >"$W/$log" 2>&1
	rc=$?
	[ "$rc" = "$code" ] || die "exit $rc, not $code: $(tail -5 "$W/$log")"
	grep -q -- "$pat" "$W/$log" || die "no '$pat' in: $(tail -5 "$W/$log")"
}

# clone_of NAME DISK [FMT [EXTRA_DEVICE_XML]]: define on host-a a shut-off copy
# of vm-local's definition named NAME on DISK (its own uuid, mac, serial log)
clone_of() {
	vsh host-a dumpxml --inactive vm-local | sed -e "s|<name>vm-local</name>|<name>$1</name>|" -e '/<uuid>/d' \
		-e '/<mac address/d' -e "s|/var/lib/libvirt/images/vm-local.qcow2|$2|" -e "s|type='qcow2'|type='${3:-qcow2}'|" \
		-e "s|vm-local-serial|$1-serial|" -e "s|</devices>|${4:-}</devices>|" >"$W/$1.xml"
	"$LAB/lab-host" host-a virsh -q -c qemu:///system define "$W/$1.xml" >/dev/null || die "cannot define $1"
}
# clone_local NAME [EXTRA_DEVICE_XML]: the same with its own copy of vm-local's disk
clone_local() {
	"$LAB/lab-host" host-a cp /var/lib/libvirt/images/vm-local.qcow2 "/var/lib/libvirt/images/$1.qcow2" || return 1
	clone_of "$1" "/var/lib/libvirt/images/$1.qcow2" qcow2 "${2:-}"
}
drop_local() {	# drop_local NAME...: undefine them wherever they are, remove their disks
	local n h
	for n in "$@"; do
		for h in host-a host-b; do vsh "$h" undefine "$n" >/dev/null 2>&1; done
		"$LAB/lab-host" host-a rm -f "/var/lib/libvirt/images/$n.qcow2"
	done
}
# offline_entry VM [TARGET_DIR [KEYS]]: a plan item moving VM from host-a to
# host-b with its disks copied, /var/lib/libvirt/images/ remapped to TARGET_DIR
offline_entry() {
	printf '  - {vm: %s, from: host-a, to: host-b, mode: offline-with-scp-disk%s, remap: {paths: [{from: "^/var/lib/libvirt/images/", to: "%s"}]}}\n' \
		"$1" "${3:+, $3}" "${2:-/srv/vms/}"
}


# shared_clone NAME [MEM_MIB [start]]: on host-a, a copy of vm-shared on its
# own disk in the shared directory (so cold can move it), MEM_MIB of memory
# (default 64, vm-shared's own), started if asked
shared_clone() {
	local name=$1 mem=${2:-64}
	"$LAB/lab-host" host-a cp "$LAB_VM_SHARED_DISK" "$LAB_SHARED/$name.qcow2" || die "cannot copy the disk of $name"
	vsh host-a dumpxml --inactive vm-shared |
		sed -e "s|<name>vm-shared</name>|<name>$name</name>|" -e '/<uuid>/d' -e '/<mac address/d' \
		    -e "s|$LAB_VM_SHARED_DISK|$LAB_SHARED/$name.qcow2|" -e "s|vm-shared-serial.log|$name-serial.log|g" \
		    -e "s|<memory unit='KiB'>[0-9]*</memory>|<memory unit='MiB'>$mem</memory>|" \
		    -e "s|<currentMemory unit='KiB'>[0-9]*</currentMemory>|<currentMemory unit='MiB'>$mem</currentMemory>|" \
		    >"$W/$name.xml"
	"$LAB/lab-host" host-a virsh -q -c qemu:///system define "$W/$name.xml" >/dev/null || die "cannot define $name"
	if [ "${3:-}" = start ]; then vsh host-a start "$name" >/dev/null || die "cannot start $name"; fi
}

# ---- running guests the live and fallback tests make ----
# define_clone HOST NAME DISK [raw]: a copy of vm-shared's definition with
# its own name, disk and serial log (libvirt picks uuid and mac).
define_clone() {
	local host=$1 name=$2 disk=$3 fmt=${4:-qcow2}
	vsh host-a dumpxml --inactive vm-shared |
		sed -e "s|<name>vm-shared</name>|<name>$name</name>|" -e '/<uuid>/d' -e '/<mac address/d' \
		    -e "s|$LAB_VM_SHARED_DISK|$disk|" -e "s|type='qcow2'|type='$fmt'|" \
		    -e "s|vm-shared-serial.log|$name-serial.log|g" >"$W/$name.xml"
	"$LAB/lab-host" "$host" virsh -q -c qemu:///system define "$W/$name.xml" >/dev/null &&
		vsh "$host" start "$name" >/dev/null
}
remove_guest() {	# remove_guest NAME: wherever it is
	local h
	for h in host-a host-b host-c; do
		vsh "$h" destroy "$1" >/dev/null 2>&1
		vsh "$h" undefine "$1" >/dev/null 2>&1
	done
	return 0
}

# setup_dirty: vm-dirty, running on host-a.  It boots tests/lab/mk-dirty-mbr:
# 12 MiB of its RAM non-zero and rewritten every pass, so at 1 MiB/s one
# memory pass alone takes 12 s: a migration cannot finish within a few
# seconds, under KVM or TCG, however busy the machine (a slower machine
# only sends less).
setup_dirty() {
	remove_guest vm-dirty
	rm -f "$LAB_DIR"/hosts/host-?/log/qemu/vm-dirty-serial.log	# an old 'F' must not count
	{ "$LAB/mk-dirty-mbr"; head -c $((1024 * 1024 - 512)) /dev/zero; } >"$LAB_SHARED/vm-dirty.img" ||
		die "cannot build the dirty guest's boot sector"
	define_clone host-a vm-dirty "$LAB_SHARED/vm-dirty.img" raw || die "cannot start vm-dirty"
	# its first 'F' on COM1: the 12 MiB are written (an event, not a delay)
	local log=$LAB_DIR/hosts/host-a/log/qemu/vm-dirty-serial.log i
	for ((i = 0; i < 600; i++)); do
		grep -q F "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	die "vm-dirty never finished its first pass over its memory (no 'F' in $log)"
}

# ---- verify and prepare (verify_test.sh) ----
# clone_on_bridge NAME BRIDGE [EXTRA_DEVICE_XML]: clone_local NAME, its
# interface on BRIDGE instead of the lab's bridge
clone_on_bridge() {
	clone_local "$1" "${3:-}" || return 1
	vsh host-a dumpxml --inactive "$1" | sed "s|<source bridge='$LAB_BRIDGE'/>|<source bridge='$2'/>|" >"$W/$1.xml"
	grep -q "<source bridge='$2'/>" "$W/$1.xml" || die "no bridge interface in $1's definition"
	"$LAB/lab-host" host-a virsh -q -c qemu:///system define "$W/$1.xml" >/dev/null || die "cannot define $1 on $2"
}
bridge_exists() { [ -e "/sys/class/net/$1/bridge" ]; }	# one network namespace for every lab host
fact_of() {	# fact_of PLAN_NAME UNIT KEY: the unit's last journaled value of KEY, as JSON
	/usr/bin/python3 - "$W/.vmshift/$1/journal.jsonl" "$2" "$3" <<'PY'
import json, sys
v = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("ev") == "facts" and r.get("unit") == sys.argv[2] and sys.argv[3] in r.get("facts", {}):
        v = r["facts"][sys.argv[3]]
print(json.dumps(v))
PY
}
