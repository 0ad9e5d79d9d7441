#!/bin/bash
# End-to-end tests of offline-with-scp-disk on disks as fleets have them:
# qcow2 overlays on shared bases, deep chains, sparse images, UEFI NVRAM
# and TPM state, concurrent copies from one host, a kill in the middle of
# a layer, a failure after a rebase, and what is refused.  Each test
# checks the bytes and the chains on the hosts, not only exit statuses.
#
#   VMSHIFT=build/vmshift tests/e2e/disks_test.sh
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

IMG=/var/lib/libvirt/images
HA=$LAB_DIR/hosts/host-a/lib/images	# host-a's $IMG, seen from here
HB=$LAB_DIR/hosts/host-b/srv/vms	# host-b's /srv/vms

on_a() { "$LAB/lab-host" host-a "$@"; }
on_b() { "$LAB/lab-host" host-b "$@"; }
# par_head NAME N: plan_head with N migrations at once, N per host
par_head() {
	plan_head "$1" | sed -e "s|^hosts:|concurrency: {max_parallel: $2}\nhosts:|" \
		-e "s|^  \(host-[abc]\): {uri: \"\([^\"]*\)\"}|  \1: {uri: \"\2\", max_parallel: $2}|"
}
# entry VM [KEYS]: host-a -> host-b, disks copied, $IMG/ remapped to /srv/vms/
entry() { offline_entry "$1" /srv/vms/ "${2:-start: always}"; }
chain_on_b() {	# chain_on_b PATH: the files of PATH's chain on host-b, one a line
	on_b qemu-img info -U --backing-chain --output=json "$1" | python3 -c \
		'import json,sys; [print(i["filename"]) for i in json.load(sys.stdin)]'
}
allocated() { echo $(($(stat -c %b "$1") * 512)); }	# bytes on disk
cleanup() {	# cleanup VM... and the files of this test on both hosts
	drop_local "$@"
	rm -rf "$HA/_base" "$HA/inst" "$HA/deep" "$HA"/sp.* "$HB/_base" "$HB/inst" "$HB/deep" "$HB"/sp.* \
		"$HA"/c?.raw "$HB"/c?.raw "$W/.vmshift"
}

lab_reset
snapshot >"$W/s0"

# 1. two nova-like instances, overlays on one base
two_on_one_base() {
	mkdir -p "$HA/_base" "$HA/inst/o1" "$HA/inst/o2"
	on_a cp "$IMG/vm-local.qcow2" "$IMG/_base/b1" || die "cp"
	for o in o1 o2; do
		on_a qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/_base/b1" "$IMG/inst/$o/disk" || die "overlay"
		clone_of "vm-$o" "$IMG/inst/$o/disk"
	done
	{ par_head base 2; entry vm-o1; entry vm-o2; } >"$W/base.yaml"
	vmshift apply --dry-run base.yaml >"$W/dry.log" 2>&1 || die "dry-run: $(tail -5 "$W/dry.log")"
	grep -q "disk hda backing file 1 (qcow2): $IMG/_base/b1 -> /srv/vms/_base/b1: missing there: copied" "$W/dry.log" ||
		die "the dry-run does not show the chain: $(grep -i backing "$W/dry.log")"
	vmshift apply base.yaml >"$W/base.log" 2>&1 || die "apply: $(tail -5 "$W/base.log")"
	[ "$(grep -c "copying host-a:$IMG/_base/b1 to" "$W/base.log")" = 1 ] || die "the base was not copied exactly once"
	grep -q "/srv/vms/_base/b1 is already on host-b, identical: not copied; it came with vm-o" "$W/base.log" ||
		die "the second VM did not find the base: $(grep _base "$W/base.log")"
	for o in o1 o2; do
		running_on host-b "vm-$o"
		serial_grows host-b "vm-$o"
		[ "$(chain_on_b "/srv/vms/inst/$o/disk" | tr '\n' ' ')" = "/srv/vms/inst/$o/disk /srv/vms/_base/b1 " ] ||
			die "chain of $o on host-b: $(chain_on_b "/srv/vms/inst/$o/disk")"
		[ "$(disk_sha host-b "/srv/vms/inst/$o/disk")" = "$LAB_VM_LOCAL_SHA256" ] || die "$o: guest data differs"
	done
	# the base stays while a migration that is not rolled back uses it
	vmshift rollback --force --only vm-o1 base.yaml >"$W/rb1.log" 2>&1 || die "rollback o1: $(tail -5 "$W/rb1.log")"
	[ -e "$HB/_base/b1" ] || die "the base vm-o2 uses was removed"
	[ ! -e "$HB/inst/o1/disk" ] || die "o1's overlay stayed"
	vmshift rollback --force --only vm-o2 base.yaml >"$W/rb2.log" 2>&1 || die "rollback o2: $(tail -5 "$W/rb2.log")"
	[ ! -e "$HB/_base/b1" ] && [ ! -e "$HB/_base" ] && [ ! -e "$HB/inst" ] || die "files left on host-b: $(find "$HB")"
	cleanup vm-o1 vm-o2
	unchanged
}
t "two overlays on one base: the base is copied once, both chains are remapped, both guests run; rollback keeps a base in use" two_on_one_base

# 2. twelve layers
deep_chain() {
	local i prev
	mkdir -p "$HA/deep"
	on_a cp "$IMG/vm-local.qcow2" "$IMG/deep/l0" || die "cp"
	prev=$IMG/deep/l0
	for i in $(seq 1 11); do
		on_a qemu-img create -q -f qcow2 -F qcow2 -b "$prev" "$IMG/deep/l$i" || die "layer $i"
		prev=$IMG/deep/l$i
	done
	clone_of vm-deep "$prev"
	{ plan_head deep; entry vm-deep; } >"$W/deep.yaml"
	vmshift apply deep.yaml >"$W/deep.log" 2>&1 || die "apply: $(tail -5 "$W/deep.log")"
	[ "$(chain_on_b /srv/vms/deep/l11 | tr '\n' ' ')" = "$(for i in $(seq 11 -1 0); do printf '/srv/vms/deep/l%s ' "$i"; done)" ] ||
		die "chain on host-b: $(chain_on_b /srv/vms/deep/l11 | tr '\n' ' ')"
	[ "$(disk_sha host-b /srv/vms/deep/l11)" = "$LAB_VM_LOCAL_SHA256" ] || die "guest data differs"
	running_on host-b vm-deep
	serial_grows host-b vm-deep
	cleanup vm-deep
}
t "a 12-deep chain lands remapped layer by layer, and the guest runs on it" deep_chain

# 3. sparse raw and sparse qcow2: only the data moves, holes stay holes
sparse_images() {
	on_a truncate -s 1G "$IMG/sp.raw" || die truncate
	on_a dd if="$LAB_VM_LOCAL_SEED" of="$IMG/sp.raw" conv=sparse,notrunc status=none || die dd
	on_a sh -c "head -c 4M /dev/urandom | dd of=$IMG/sp.raw bs=1M seek=600 conv=notrunc status=none" || die dd
	on_a qemu-img convert -O qcow2 -o preallocation=metadata "$LAB_VM_LOCAL_SEED" "$IMG/sp.qcow2" || die convert
	on_a qemu-img resize -q --preallocation=metadata "$IMG/sp.qcow2" 1G || die resize
	clone_of vm-spr "$IMG/sp.raw" raw
	clone_of vm-spq "$IMG/sp.qcow2"
	{ plan_head sparse; entry vm-spr; entry vm-spq; } >"$W/sp.yaml"
	vmshift apply sp.yaml >"$W/sp.log" 2>&1 || die "apply: $(tail -5 "$W/sp.log")"
	grep -q "copying host-a:$IMG/sp.raw to host-b:/srv/vms/sp.raw ([0-9]* MiB of data in 1024 MiB)" "$W/sp.log" ||
		die "no data/size line: $(grep copying "$W/sp.log")"
	for f in sp.raw sp.qcow2; do
		local s t
		s=$(allocated "$HA/$f") t=$(allocated "$HB/$f")
		[ "$(stat -c %s "$HA/$f")" = "$(stat -c %s "$HB/$f")" ] || die "$f: sizes differ"
		[ $((t * 10)) -le $((s * 11)) ] && [ $((t * 10)) -ge $((s * 9)) ] || die "$f: $t bytes allocated on host-b, $s on host-a"
		cmp "$HA/$f" "$HB/$f" || die "$f: bytes differ"
	done
	running_on host-b vm-spr
	running_on host-b vm-spq
	cleanup vm-spr vm-spq
}
t "a sparse raw and a sparse qcow2 move only their data; allocation on the target within 10% of the source's" sparse_images

tap_end
