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
serial_grows() {	# serial_grows HOST VM: the guest really runs there
	local f=$LAB_DIR/hosts/$1/log/qemu/$2-serial.log a b
	a=$(stat -c %s "$f" 2>/dev/null || echo 0)
	sleep 2.5
	b=$(stat -c %s "$f" 2>/dev/null || echo 0)
	[ "$b" -gt "$a" ] || die "serial log $f does not grow ($a -> $b bytes)"
}
disk_sha() {	# disk_sha HOST PATH: sha256 of the guest-visible disk
	"$LAB/lab-host" "$1" qemu-img convert -U -f qcow2 -O raw "$2" "/tmp/e2e-disk.raw" &&
		"$LAB/lab-host" "$1" sha256sum /tmp/e2e-disk.raw | cut -d' ' -f1
	"$LAB/lab-host" "$1" rm -f /tmp/e2e-disk.raw
}
