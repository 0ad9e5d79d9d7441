# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts sourcing this
# Shared definitions for the vmshift test lab (sourced by lab-up, lab-down,
# lab-ctl, lab-host). Not executable on its own.
#
# The lab models several libvirt "hosts" on ONE machine. Each host is a
# persistent mount namespace (a bind mount of its nsfs file under
# $LAB_NS_DIR) in which the libvirt/ssh state directories are bind-mounted
# from $LAB_DIR/hosts/<host>/. The network namespace is shared: every host
# listens on its own loopback address (all of 127/8 reaches lo on Linux).

LAB_DIR=${LAB_DIR:-/tmp/vmshift-lab}
# sshd and nsenter'd commands need absolute paths
case $LAB_DIR in /*) ;; *) LAB_DIR=$PWD/$LAB_DIR ;; esac
LAB_DIR=${LAB_DIR%/}
LAB_NS_DIR=$LAB_DIR/ns
LAB_HOSTS_DIR=$LAB_DIR/hosts
LAB_HOME=$LAB_DIR/home          # /root of the controller ("ctl") namespace
LAB_SHARED=$LAB_DIR/shared      # "shared storage": same path on every host
LAB_CACHE=$LAB_DIR/cache        # the only thing lab-down keeps
LAB_BIN=$LAB_DIR/bin
LAB_BRIDGE=${LAB_BRIDGE:-labbr0}
# Fixed list on purpose: addresses, UUIDs and port ranges below are derived
# from the position in this list and tests rely on them.
LAB_HOST_LIST="host-a host-b host-c"

lab_log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$*" >&2; }
lab_die() { lab_log "ERROR: $*"; exit 1; }

# Index of a host in LAB_HOST_LIST (0-based); fails for unknown hosts.
lab_host_index() {
  local i=0 h
  for h in $LAB_HOST_LIST; do
    if [ "$h" = "$1" ]; then echo "$i"; return 0; fi
    i=$((i + 1))
  done
  return 1
}
lab_host_ip()   { echo "127.0.0.$(( $(lab_host_index "$1") + 2 ))"; }
lab_host_uuid() { printf '1ab00000-0000-4000-8000-%012d\n' $(( $(lab_host_index "$1") + 1 )); }
# Migration port range: 16 ports per host, disjoint because all daemons
# share one network namespace.
lab_host_port_min() { echo $(( 49152 + 16 * $(lab_host_index "$1") )); }
# Directory holding host-private images, as seen INSIDE the host. host-b
# deliberately differs so that plans have to remap disk paths.
lab_host_images() {
  case $1 in
    host-b) echo /srv/vms ;;
    *)      echo /var/lib/libvirt/images ;;
  esac
}
# host-a -> HOST_A (for variable names in $LAB_DIR/env)
lab_host_var() { echo "$1" | tr 'a-z-' 'A-Z_'; }

# Bind mounts of a host namespace: "<dir under hosts/<h>/> <mount point>".
LAB_HOST_MOUNTS="etc:/etc/libvirt lib:/var/lib/libvirt run:/run/libvirt log:/var/log/libvirt cache:/var/cache/libvirt root:/root"

lab_ns_mounted() { mountpoint -q "$1" 2>/dev/null; }

# Run a command in a namespace. --wd keeps the caller's cwd (nsenter would
# otherwise start in /), which matters for relative paths.
lab_in_ns() {
  local ns=$LAB_NS_DIR/$1; shift
  lab_ns_mounted "$ns" || lab_die "namespace '${ns##*/}' is not up (run tests/lab/lab-up)"
  nsenter --mount="$ns" --wd="$PWD" -- "$@"
}

# virsh against a host's local daemon through its unix socket.
lab_virsh() { local h=$1; shift; lab_in_ns "$h" virsh -q -c qemu:///system "$@"; }

# Mount namespace id ("mnt:[inode]") of a lab namespace, "" if not up.
lab_ns_id() {
  local ns=$LAB_NS_DIR/$1
  lab_ns_mounted "$ns" || return 0
  echo "mnt:[$(stat -L -c %i "$ns")]"
}
