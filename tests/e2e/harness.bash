# harness.bash: what the lab's end-to-end tests share (sourced, not run).
# Sets ROOT, LAB, VMSHIFT, W (a scratch directory, removed on exit) and the
# lab's env, and defines:
#   t DESCRIPTION CMD...   one TAP test: CMD runs in a subshell, its output
#                          becomes "# " diagnostics if it fails
#   die MESSAGE            fail the current test
#   vsh HOST ARGS...       virsh on HOST itself (its namespace)
#   vmshift ARGS...        vmshift as the lab's controller, in $W
#   tap_end                the plan line and the exit status
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
