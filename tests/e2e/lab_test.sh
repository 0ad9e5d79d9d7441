#!/bin/bash
# Tests that prove the lab itself works (the lab must be up: tests/lab/lab-up).
# TAP output: one "ok N - ..." / "not ok N - ..." line per test, diagnostics
# as "# ..." lines, the plan at the end. Exit status 1 if any test failed.
#
# The guest tests shut vm-shared down and start it again, so the lab is left
# as it was found (both guests running on host-a).
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
LAB_SCRIPTS=$(readlink -f "$HERE/../lab")
LAB_DIR=${LAB_DIR:-/tmp/vmshift-lab}
if [ ! -r "$LAB_DIR/env" ]; then
  echo "not ok 1 - lab env file $LAB_DIR/env exists (is the lab up? tests/lab/lab-up)"
  echo "1..1"
  exit 1
fi
set -a
# shellcheck source=/dev/null
. "$LAB_DIR/env"
set +a

ctl()  { "$LAB_SCRIPTS/lab-ctl" "$@"; }
on()   { "$LAB_SCRIPTS/lab-host" "$@"; }
hvar() { local v; v="$1_$(echo "$2" | tr 'a-z-' 'A-Z_')"; echo "${!v:-}"; }

TMP=$(mktemp -d /tmp/lab_test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

n=0 failed=0
# t DESCRIPTION CMD...: run CMD in a subshell with errexit; its output
# becomes TAP diagnostics when it fails. The subshell must NOT run as an
# `if` condition: bash ignores errexit in that context, and a failed check
# in the middle of a test would go unnoticed.
t() {
  local desc=$1 rc; shift
  n=$((n + 1))
  set +e
  ( set -euo pipefail; "$@" ) >"$TMP/out" 2>&1
  rc=$?
  set -e
  if [ "$rc" = 0 ]; then
    echo "ok $n - $desc"
  else
    echo "not ok $n - $desc"
    sed 's/^/# /' "$TMP/out"
    failed=$((failed + 1))
  fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
fail() { echo "$*" >&2; exit 1; }   # ends the test's subshell

# host UUID reported by the daemon behind URI (run from the ctl namespace)
uuid_of() {
  ctl virsh -q -c "$1" capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n1
}

# ------------------------------------------------------------------ env
test_env() {
  local v h
  for v in LAB_DIR LAB_HOME LAB_SSH_DIR LAB_KEY LAB_KNOWN_HOSTS LAB_VIRT_TYPE LAB_HOSTS; do
    [ -n "${!v:-}" ] || fail "$v is empty"
  done
  for h in $LAB_HOSTS; do
    for v in LAB_IP LAB_URI LAB_LIBSSH2_URI LAB_UUID LAB_IMAGES LAB_STATE; do
      [ -n "$(hvar "$v" "$h")" ] || fail "${v}_$h is empty"
    done
  done
  [ -s "$LAB_KEY" ] || fail "no key $LAB_KEY"
  [ "$(wc -l < "$LAB_KNOWN_HOSTS")" -ge 3 ] || fail "known_hosts has < 3 entries"
  case $LAB_VIRT_TYPE in kvm|qemu) ;; *) fail "LAB_VIRT_TYPE=$LAB_VIRT_TYPE" ;; esac
  [ "$(echo "$LAB_HOSTS" | wc -w)" -ge 3 ] || fail "fewer than 3 hosts: $LAB_HOSTS"
}
t "env file defines the lab variables (LAB_VIRT_TYPE=${LAB_VIRT_TYPE:-?})" test_env

# ------------------------------------------------------------------ daemons
test_uuid_ssh() {
  local want got
  want=$(hvar LAB_UUID "$1")
  got=$(uuid_of "$(hvar LAB_URI "$1")")
  echo "$got" > "$TMP/uuid-$1"
  [ "$got" = "$want" ] || fail "$1: host UUID over qemu+ssh is '$got', want '$want'"
}
for h in $LAB_HOSTS; do
  t "$h: libvirtd over qemu+ssh ($(hvar LAB_IP "$h")) reports its configured host UUID" test_uuid_ssh "$h"
done

test_uuid_distinct() {
  local all
  all=$(cat "$TMP"/uuid-* 2>/dev/null | grep -c . || true)
  [ "$all" = "$(echo "$LAB_HOSTS" | wc -w)" ] || fail "only $all UUIDs collected"
  [ "$(sort -u "$TMP"/uuid-* | wc -l)" = "$all" ] || fail "duplicate host UUIDs: $(cat "$TMP"/uuid-*)"
}
t "host UUIDs seen over ssh are pairwise distinct" test_uuid_distinct

test_local_daemon() {
  local h=$1 pidf pid got
  pidf=$(hvar LAB_STATE "$h")/run/lab-libvirtd.pid
  pid=$(cat "$pidf")
  kill -0 "$pid" || fail "libvirtd pid $pid from $pidf is not running"
  # the daemon must live in the host's namespace, not in the root one
  [ "$(readlink "/proc/$pid/ns/mnt")" = "$(on "$h" readlink /proc/self/ns/mnt)" ] ||
    fail "libvirtd $pid is not in $h's mount namespace"
  got=$(on "$h" virsh -q -c qemu:///system capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n1)
  [ "$got" = "$(hvar LAB_UUID "$h")" ] || fail "local socket UUID '$got'"
  echo "$pid" > "$TMP/pid-$h"
}
for h in $LAB_HOSTS; do
  t "$h: its own libvirtd runs in its namespace and answers qemu:///system there" test_local_daemon "$h"
done
test_pids_distinct() {
  [ "$(cat "$TMP"/pid-* 2>/dev/null | sort -u | wc -l)" = "$(echo "$LAB_HOSTS" | wc -w)" ] ||
    fail "libvirtd pids: $(cat "$TMP"/pid-* 2>/dev/null | xargs)"
}
t "libvirtd processes are distinct per host" test_pids_distinct

# ------------------------------------------------------------------ ssh
test_ssh_lands() {
  local h=$1 ip marker nsid
  ip=$(hvar LAB_IP "$h")
  marker=$(ctl ssh "root@$ip" cat /etc/libvirt/lab-host)
  [ "$marker" = "$h" ] || fail "ssh $ip: marker is '$marker', want '$h'"
  nsid=$(ctl ssh "root@$ip" readlink /proc/self/ns/mnt)
  [ "$nsid" = "$(on "$h" readlink /proc/self/ns/mnt)" ] || fail "ssh $ip: session in namespace $nsid"
}
for h in $LAB_HOSTS; do
  t "$h: ssh root@$(hvar LAB_IP "$h") lands in $h's namespace (marker + mnt ns id)" test_ssh_lands "$h"
done

test_marker_private() {
  if test -e /etc/libvirt/lab-host; then fail "marker visible in the root namespace"; fi
  if ctl test -e /etc/libvirt/lab-host; then fail "marker visible in the ctl namespace"; fi
}
t "host marker file exists only inside the hosts (not in root or ctl namespace)" test_marker_private

ip_a=$(hvar LAB_IP host-a)
test_ssh_unknown_key() {
  # Empty known_hosts: StrictHostKeyChecking=yes must refuse to connect.
  if ctl ssh -o UserKnownHostsFile=/dev/null "root@$ip_a" true 2>"$TMP/err"; then
    fail "ssh with unknown host key succeeded"
  fi
  grep -q 'Host key verification failed' "$TMP/err" || fail "unexpected error: $(cat "$TMP/err")"
}
t "ssh to a host whose key is not in known_hosts is refused" test_ssh_unknown_key

test_ssh_wrong_key() {
  # known_hosts claiming host-a's address has host-b's key: must be refused.
  grep "^$(hvar LAB_IP host-b) " "$LAB_KNOWN_HOSTS" | sed "s/^[^ ]*/$ip_a/" > "$TMP/kh-wrong"
  [ -s "$TMP/kh-wrong" ] || fail "host-b not in known_hosts"
  if ctl ssh -o UserKnownHostsFile="$TMP/kh-wrong" "root@$ip_a" true 2>"$TMP/err"; then
    fail "ssh with mismatching host key succeeded"
  fi
  grep -q 'REMOTE HOST IDENTIFICATION HAS CHANGED\|Host key verification failed' "$TMP/err" ||
    fail "unexpected error: $(cat "$TMP/err")"
}
t "ssh to a host presenting a different key than known_hosts is refused" test_ssh_wrong_key

test_libssh2() {
  local got uri
  # from the ROOT namespace: libssh2 URIs carry key and known_hosts themselves
  got=$(virsh -q -c "$(hvar LAB_LIBSSH2_URI host-b)" capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n1)
  [ "$got" = "$(hvar LAB_UUID host-b)" ] || fail "libssh2 UUID '$got'"
  uri=$(hvar LAB_LIBSSH2_URI host-a | sed "s|known_hosts=[^&]*|known_hosts=$TMP/kh-wrong|")
  if virsh -q -c "$uri" uri >/dev/null 2>&1; then fail "libssh2 with a wrong host key connected"; fi
}
t "qemu+libssh2 URI works (host-b) and refuses a wrong host key (host-a)" test_libssh2

# ------------------------------------------------------------------ storage
test_paths() {
  local h want got
  on host-b test -d /srv/vms || fail "host-b has no /srv/vms"
  if on host-b test -e /var/lib/libvirt/images; then fail "host-b has /var/lib/libvirt/images"; fi
  if test -e /srv/vms; then fail "/srv/vms leaked into the root namespace"; fi
  for h in $LAB_HOSTS; do
    want=$(hvar LAB_IMAGES "$h")
    got=$(ctl virsh -q -c "$(hvar LAB_URI "$h")" pool-dumpxml default | sed -n 's:.*<path>\(.*\)</path>.*:\1:p')
    [ "$got" = "$want" ] || fail "$h: default pool at '$got', want '$want'"
    [ "$(ctl virsh -q -c "$(hvar LAB_URI "$h")" pool-info default | awk '/^State:/{print $2}')" = running ] ||
      fail "$h: default pool not running"
  done
}
t "each host has a running 'default' pool on its private image dir (host-b: /srv/vms only)" test_paths

test_bridge() {
  ip -d link show "$LAB_BRIDGE" | grep -q ' bridge ' || fail "$LAB_BRIDGE is not a bridge"
  ip link show "$LAB_BRIDGE" | grep -q ',UP' || fail "$LAB_BRIDGE is down"
}
t "bridge $LAB_BRIDGE exists and is up" test_bridge

# ------------------------------------------------------------------ guests
GUEST_TESTS=8
if [ -z "${LAB_GUESTS:-}" ]; then
  for _ in $(seq "$GUEST_TESTS"); do skip "guest test" "lab started with LAB_GUESTS=0"; done
else
  URI_A=$(hvar LAB_URI "$LAB_GUEST_HOST")
  SERIAL_DIR=$(hvar LAB_STATE "$LAB_GUEST_HOST")/log/qemu
  state() { ctl virsh -q -c "$URI_A" domstate "$1" 2>/dev/null || echo absent; }

  test_running() {
    local vm
    for vm in $LAB_GUESTS; do
      [ "$(state "$vm")" = running ] || fail "$vm on $LAB_GUEST_HOST is '$(state "$vm")'"
    done
  }
  t "guests ($LAB_GUESTS) are running on $LAB_GUEST_HOST" test_running

  # Sample the serial logs, then wait for two more lines of each: an
  # event, however slowly a loaded TCG guest ticks (at most 120 s).
  for vm in $LAB_GUESTS; do stat -c %s "$SERIAL_DIR/$vm-serial.log" > "$TMP/s0-$vm" 2>/dev/null || echo 0 > "$TMP/s0-$vm"; done
  test_serial() {
    local vm=$1 f=$SERIAL_DIR/$1-serial.log s0 s1 i
    s0=$(cat "$TMP/s0-$vm")
    # the ticker prints a 2-byte line a second: two more lines
    for ((i = 0; i < 240; i++)); do
      s1=$(stat -c %s "$f")
      [ "$s1" -ge $((s0 + 4)) ] && break
      sleep 0.5
    done
    [ "$s1" -ge $((s0 + 4)) ] || fail "$f grew $s0 -> $s1 bytes in 120 s"
    tail -n1 "$f" | grep -qx '[A-P]' || fail "unexpected serial output: $(tail -n3 "$f" | xargs)"
  }
  for vm in $LAB_GUESTS; do
    t "$vm: serial log on $LAB_GUEST_HOST grows by two lines (guest is executing)" test_serial "$vm"
  done

  test_disk() {  # test_disk HOST PATH SHA256: guest-visible contents of the qcow2
    on "$1" qemu-img convert -U -f qcow2 -O raw "$2" "$TMP/disk.raw"
    local got; got=$(sha256sum < "$TMP/disk.raw" | cut -d' ' -f1)
    [ "$got" = "$3" ] || fail "$2 on $1: sha256 $got, want $3"
    grep -aq 'vmshift-lab' "$TMP/disk.raw" || fail "pattern missing"
  }
  t "vm-local: private disk on $LAB_GUEST_HOST has the known contents (LAB_VM_LOCAL_SHA256)" \
    test_disk "$LAB_GUEST_HOST" "$LAB_VM_LOCAL_DISK" "$LAB_VM_LOCAL_SHA256"
  t "vm-shared: shared disk has the known contents (LAB_VM_SHARED_SHA256)" \
    test_disk host-c "$LAB_VM_SHARED_DISK" "$LAB_VM_SHARED_SHA256"

  test_private() {
    local h
    on "$LAB_GUEST_HOST" test -f "$LAB_VM_LOCAL_DISK" || fail "missing on $LAB_GUEST_HOST"
    for h in $LAB_HOSTS; do
      [ "$h" = "$LAB_GUEST_HOST" ] && continue
      if on "$h" test -e "$LAB_VM_LOCAL_DISK"; then fail "$LAB_VM_LOCAL_DISK visible on $h"; fi
      on "$h" test -f "$LAB_VM_SHARED_DISK" || fail "$LAB_VM_SHARED_DISK not visible on $h"
    done
  }
  t "vm-local's disk exists only on $LAB_GUEST_HOST; vm-shared's disk is visible on every host" test_private

  test_shutdown() {
    local i
    ctl virsh -q -c "$URI_A" shutdown vm-shared >/dev/null
    for i in $(seq 100); do
      [ "$(state vm-shared)" = "shut off" ] && { echo "off after ~$((i * 150)) ms"; return 0; }
      sleep 0.15
    done
    fail "vm-shared still '$(state vm-shared)' 15 s after virsh shutdown"
  }
  t "virsh shutdown (ACPI power button) powers vm-shared off" test_shutdown

  test_restart() {
    [ "$(state vm-shared)" = running ] || ctl virsh -q -c "$URI_A" start vm-shared >/dev/null
    [ "$(state vm-shared)" = running ] || fail "vm-shared is '$(state vm-shared)'"
  }
  t "vm-shared starts again (lab left as found)" test_restart
fi

echo "1..$n"
[ "$failed" = 0 ] || { echo "# $failed of $n tests failed"; exit 1; }
