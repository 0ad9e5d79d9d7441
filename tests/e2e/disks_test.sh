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
	local v
	for v in "$@"; do
		vsh host-b destroy "$v" >/dev/null 2>&1
		rm -f "$LAB_DIR"/hosts/host-?/log/qemu/"$v"-serial.log "$LAB_DIR"/hosts/host-?/log/qemu/"$v".log
	done
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
	# one sent by host-a itself (auto: its ssh reaches host-b), one relayed
	{ plan_head sparse; entry vm-spr; entry vm-spq "start: always, disks: {transfer: relay}"; } >"$W/sp.yaml"
	vmshift apply sp.yaml >"$W/sp.log" 2>&1 || die "apply: $(tail -5 "$W/sp.log")"
	grep -q "copying host-a:$IMG/sp.raw to host-b:/srv/vms/sp.raw ([0-9]* MiB of data in 1024 MiB, sent by the source)" "$W/sp.log" ||
		die "no direct data/size line: $(grep copying "$W/sp.log")"
	grep -q "copying host-a:$IMG/sp.qcow2 to host-b:/srv/vms/sp.qcow2 ([0-9]* MiB of data in 1024 MiB, relayed by the controller)" "$W/sp.log" ||
		die "no relayed data/size line: $(grep copying "$W/sp.log")"
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
t "a sparse raw (sent by the source) and a sparse qcow2 (relayed) move only their data; allocation on the target within 10% of the source's" sparse_images

# 3b. a source whose own ssh cannot verify the target: auto relays, direct refuses
no_direct_path() {
	local kh=$LAB_DIR/hosts/host-a/root/.ssh/known_hosts
	on_a sh -c "head -c 12M /dev/urandom >$IMG/sp.nd.raw" || die image
	clone_of vm-nd "$IMG/sp.nd.raw" raw
	mv "$kh" "$kh.away" || die "known_hosts"
	{ plan_head nd; entry vm-nd "start: never, disks: {transfer: direct}"; } >"$W/nd.yaml"
	vmshift apply nd.yaml >"$W/nd.log" 2>&1
	local rc=$?
	mv "$kh.away" "$kh"
	[ $rc = 1 ] || die "exit $rc, not 1"
	grep -q "FAILED at preflight: .*disks.transfer is direct, but root@127.0.0.2 cannot ssh to root@127.0.0.3" "$W/nd.log" || die "$(grep -i direct "$W/nd.log")"
	[ "$(vsh host-a domstate vm-nd)" = "shut off" ] && absent_on host-b vm-nd || die "vm-nd moved"
	rm -rf "$W/.vmshift"
	mv "$kh" "$kh.away"
	{ plan_head nd; entry vm-nd "start: never"; } >"$W/nd2.yaml"
	vmshift apply nd2.yaml >"$W/nd2.log" 2>&1
	rc=$?
	mv "$kh.away" "$kh"
	[ $rc = 0 ] || die "auto: exit $rc: $(tail -5 "$W/nd2.log")"
	grep -q "relayed by the controller" "$W/nd2.log" || die "not relayed: $(grep copying "$W/nd2.log")"
	cmp "$HA/sp.nd.raw" "$HB/sp.nd.raw" || die "bytes differ"
	cleanup vm-nd
}
t "a source host that cannot verify the target's key: transfer auto relays, transfer direct refuses" no_direct_path

# 4. UEFI NVRAM and TPM state, owners kept by name
uefi_tpm() {
	local uuid=1ab0cafe-0000-4000-8000-00000000e0f1 nv=/var/lib/libvirt/qemu/nvram/vm-uefi_VARS.fd st
	mkdir -p "$LAB_DIR/hosts/host-a/lib/qemu/nvram" "$LAB_DIR/hosts/host-a/lib/swtpm/$uuid/tpm2"
	on_a cp "$IMG/vm-local.qcow2" "$IMG/sp.uefi.qcow2" || die cp
	on_a sh -c "cp /usr/share/OVMF/OVMF_VARS_4M.fd $nv && head -c 64 /dev/urandom | dd of=$nv bs=1 seek=4096 conv=notrunc status=none && chown nobody:nogroup $nv" || die nvram
	head -c 10000 /dev/urandom >"$LAB_DIR/hosts/host-a/lib/swtpm/$uuid/tpm2/tpm2-00.permall"
	chown -R nobody:nogroup "$LAB_DIR/hosts/host-a/lib/swtpm/$uuid"	# as swtpm's own user would own it
	vsh host-a dumpxml --inactive vm-local | sed -e '/<uuid>/d' -e "s|<name>vm-local</name>|<name>vm-uefi</name><uuid>$uuid</uuid>|" \
		-e '/<mac address/d' -e "s|$IMG/vm-local.qcow2|$IMG/sp.uefi.qcow2|" -e "s|vm-local-serial|vm-uefi-serial|" \
		-e "s|<os>|<os><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>$nv</nvram>|" \
		-e "s|</devices>|<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm></devices>|" >"$W/uefi.xml"
	grep -q "<uuid>$uuid</uuid>" "$W/uefi.xml" || die "no uuid in the XML"
	on_a virsh -q -c qemu:///system define "$W/uefi.xml" >/dev/null || die "define"
	{ plan_head uefic; echo "  - {vm: vm-uefi, from: host-a, to: host-c, mode: cold}"; } >"$W/uefic.yaml"
	refused 1 uefic.log "has TPM state in /var/lib/libvirt/swtpm/$uuid on host-a, which mode cold does not carry" \
		vmshift apply uefic.yaml
	rm -rf "$W/.vmshift"
	{ plan_head uefi | sed "s|^  host-b: {uri: \"\([^\"]*\)\"}|  host-b: {uri: \"\1\", image_dirs: [/var/lib/libvirt/qemu/nvram]}|"
	  entry vm-uefi "start: never"; } >"$W/uefi.yaml"
	vmshift apply uefi.yaml >"$W/uefi.log" 2>&1 || die "apply: $(tail -5 "$W/uefi.log")"
	grep -q "carrying the TPM state /var/lib/libvirt/swtpm/$uuid to host-b" "$W/uefi.log" || die "no TPM line"
	[ "$(vsh host-b domstate vm-uefi)" = "shut off" ] || die "vm-uefi is not defined on host-b"
	absent_on host-a vm-uefi
	cmp "$LAB_DIR/hosts/host-a/lib/qemu/nvram/vm-uefi_VARS.fd" "$LAB_DIR/hosts/host-b/lib/qemu/nvram/vm-uefi_VARS.fd" ||
		die "the NVRAM differs"
	st=$(stat -c %U:%G "$LAB_DIR/hosts/host-b/lib/qemu/nvram/vm-uefi_VARS.fd")
	[ "$st" = nobody:nogroup ] || die "the NVRAM copy is owned by $st"
	[ -s "$LAB_DIR/hosts/host-b/lib/swtpm/$uuid/tpm2/tpm2-00.permall" ] || die "no TPM state on host-b"
	for f in "" /tpm2 /tpm2/tpm2-00.permall; do
		st=$(stat -c %U:%G "$LAB_DIR/hosts/host-b/lib/swtpm/$uuid$f")
		[ "$st" = nobody:nogroup ] || die "swtpm/$uuid$f on host-b is owned by $st"
	done
	vsh host-b dumpxml --inactive vm-uefi | grep -q "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>" ||
		die "the loader changed"
	# the source keeps its TPM state (KEEP_TPM): a rollback finds it there
	cmp "$LAB_DIR/hosts/host-a/lib/swtpm/$uuid/tpm2/tpm2-00.permall" "$LAB_DIR/hosts/host-b/lib/swtpm/$uuid/tpm2/tpm2-00.permall" ||
		die "the source's TPM state is gone or differs"
	st=$(sha256sum <"$LAB_DIR/hosts/host-a/lib/swtpm/$uuid/tpm2/tpm2-00.permall")
	vmshift rollback --force --only vm-uefi uefi.yaml >"$W/uefi-rb.log" 2>&1 || die "rollback: $(tail -5 "$W/uefi-rb.log")"
	[ "$(vsh host-a domstate vm-uefi)" = "shut off" ] || die "vm-uefi is not back on host-a"
	absent_on host-b vm-uefi
	[ "$(sha256sum <"$LAB_DIR/hosts/host-a/lib/swtpm/$uuid/tpm2/tpm2-00.permall")" = "$st" ] || die "the TPM state changed"
	[ ! -e "$LAB_DIR/hosts/host-b/lib/swtpm/$uuid" ] || die "the TPM copy stayed on host-b"
	[ ! -e "$LAB_DIR/hosts/host-b/lib/qemu/nvram/vm-uefi_VARS.fd" ] || die "the NVRAM copy stayed on host-b"
	vsh host-a undefine --nvram --keep-tpm vm-uefi >/dev/null
	rm -rf "$LAB_DIR/hosts/host-a/lib/qemu/nvram/vm-uefi_VARS.fd" "$LAB_DIR"/hosts/host-?/lib/swtpm/$uuid "$LAB_DIR/hosts/host-b/lib/qemu/nvram/vm-uefi_VARS.fd"
	rm -f "$HA/sp.uefi.qcow2" "$HB/sp.uefi.qcow2" "$LAB_DIR"/hosts/host-?/log/qemu/vm-uefi*
	rm -rf "$W/.vmshift"
}
t "a UEFI guest keeps its NVRAM (owner by name) and its TPM state; the source keeps its own for a rollback, which restores it" uefi_tpm

# 5. two copies from one host run side by side
side_by_side() {
	local c
	for c in c1 c2; do
		on_a sh -c "head -c 24M /dev/urandom >$IMG/$c.raw" || die "image"
		clone_of "vm-$c" "$IMG/$c.raw" raw
	done
	{ par_head side 2; entry vm-c1 "start: never"; entry vm-c2 "start: never"; } >"$W/side.yaml"
	faulty copy-disks:meet apply side.yaml >"$W/side.log" 2>&1 || die "apply: $(tail -5 "$W/side.log")"
	[ "$(grep -c "met another copy halfway" "$W/side.log")" = 2 ] || die "the copies did not meet: $(grep FAULT "$W/side.log")"
	for c in c1 c2; do cmp "$HA/$c.raw" "$HB/$c.raw" || die "$c differs"; done
	# the same with one migration at a time: the first copy waits alone
	vmshift rollback --force --only vm-c1 side.yaml >/dev/null 2>&1 && vmshift rollback --force --only vm-c2 side.yaml >/dev/null 2>&1 ||
		die "rollback"
	rm -rf "$W/.vmshift"
	{ par_head side 1; entry vm-c1 "start: never"; entry vm-c2 "start: never"; } >"$W/one.yaml"
	VMSHIFT_FAULT_MEET_S=2 faulty copy-disks:meet apply one.yaml >"$W/one.log" 2>&1 && die "one at a time met"
	grep -q "met no other copy" "$W/one.log" || die "no 'met no other copy': $(tail -5 "$W/one.log")"
	cleanup vm-c1 vm-c2
}
t "two copies from one host are halfway at the same time (max_parallel 2), not with max_parallel 1" side_by_side

# 6. killed in the middle of a layer, resumed
killed_mid_layer() {
	mkdir -p "$HA/_base" "$HA/inst/k1"
	# the guest's boot data, then 24 MiB of noise: the copy is long enough to stop inside
	cp "$LAB_VM_LOCAL_SEED" "$W/k.raw" && truncate -s 64M "$W/k.raw" &&
		head -c 24M /dev/urandom | dd of="$W/k.raw" bs=1M seek=36 conv=notrunc status=none || die raw
	on_a qemu-img convert -O qcow2 "$W/k.raw" "$IMG/_base/k" || die base
	on_a qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/_base/k" "$IMG/inst/k1/disk" || die overlay
	clone_of vm-k1 "$IMG/inst/k1/disk"
	{ plan_head kill; entry vm-k1; } >"$W/kill.yaml"
	faulty copy-disks:kill apply kill.yaml >"$W/kill.log" 2>&1 && die "the kill did not happen"
	grep -q "killing vmshift in the middle of copying $IMG/_base/k" "$W/kill.log" || die "not killed in the base: $(tail -3 "$W/kill.log")"
	[ -e "$HB/_base/k.vmshift-part" ] || die "no part file left"
	vmshift resume kill.yaml >"$W/resume.log" 2>&1 || die "resume: $(tail -5 "$W/resume.log")"
	grep -q "resuming the copy of $IMG/_base/k at" "$W/resume.log" || die "the copy started again"
	[ "$(chain_on_b /srv/vms/inst/k1/disk | tr '\n' ' ')" = "/srv/vms/inst/k1/disk /srv/vms/_base/k " ] || die "chain"
	[ "$(disk_sha host-b /srv/vms/inst/k1/disk)" = "$(disk_sha host-a "$IMG/inst/k1/disk")" ] || die "guest data differs"
	running_on host-b vm-k1
	cleanup vm-k1
}
t "killed in the middle of a base, resume finishes that layer from where it stopped" killed_mid_layer

# 7. a failure right after a rebase rolls everything back
fail_after_rebase() {
	mkdir -p "$HA/_base" "$HA/inst/f1"
	on_a cp "$IMG/vm-local.qcow2" "$IMG/_base/f" || die cp
	on_a qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/_base/f" "$IMG/inst/f1/disk" || die overlay
	clone_of vm-f1 "$IMG/inst/f1/disk"
	snapshot >"$W/s1"
	{ plan_head rebase; entry vm-f1; } >"$W/rb.yaml"
	faulty copy-disks:fail-after-rebase apply rb.yaml >"$W/rb.log" 2>&1 && die "the fault did not fire"
	grep -q "failing copy-disks after rebasing /srv/vms/inst/f1/disk" "$W/rb.log" || die "$(tail -3 "$W/rb.log")"
	snapshot >"$W/now"
	diff -u "$W/s1" "$W/now" || die "the hosts changed"
	[ ! -e "$HB/_base" ] && [ ! -e "$HB/inst" ] || die "files left on host-b: $(find "$HB")"
	cleanup vm-f1
}
t "a failure after the rebase of a layer rolls back: no layer left on the target, the source as it was" fail_after_rebase

# 8. what offline-with-scp-disk refuses
refusals() {
	mkdir -p "$HA/_base"
	on_a qemu-img create -q -f vmdk "$IMG/_base/v.vmdk" 32M || die vmdk
	on_a qemu-img create -q -f qcow2 -F vmdk -b "$IMG/_base/v.vmdk" "$IMG/sp.vm.qcow2" || die overlay
	clone_of vm-vmdk "$IMG/sp.vm.qcow2"
	{ plan_head fmt; entry vm-vmdk; } >"$W/fmt.yaml"
	refused 1 fmt-dry.log "names its backing file's format as vmdk: vmshift moves qcow2 and raw only" vmshift apply --dry-run fmt.yaml
	refused 1 fmt.log "format as vmdk" vmshift apply fmt.yaml
	[ ! -e "$HB/_base" ] && [ ! -e "$HB/sp.vm.qcow2" ] || die "something was copied"
	cp "$LAB_VM_LOCAL_SEED" "$HA/sp.sh.raw" || die cp
	clone_of vm-shr "$IMG/sp.sh.raw" raw
	vsh host-a dumpxml --inactive vm-shr | sed "s|</disk>|<shareable/></disk>|" >"$W/shr.xml"
	on_a virsh -q -c qemu:///system define "$W/shr.xml" >/dev/null || die define
	{ plan_head shr; entry vm-shr; } >"$W/shr.yaml"
	refused 1 shr.log "is <shareable/>" vmshift apply --dry-run shr.yaml
	on_a cp "$IMG/vm-local.qcow2" "$IMG/sp.p.qcow2" || die cp
	clone_of vm-p "$IMG/sp.p.qcow2"
	vsh host-a start --paused vm-p >/dev/null || die "start --paused"
	{ plan_head paused; entry vm-p "start: always, shutdown: {force: false}"; } >"$W/p.yaml"
	refused 1 p.log "is paused: it cannot answer the shutdown request" vmshift apply p.yaml
	[ "$(vsh host-a domstate vm-p)" = paused ] || die "vm-p was changed"
	absent_on host-b vm-p
	vsh host-a destroy vm-p >/dev/null
	rm -f "$LAB_DIR/hosts/host-a/log/qemu/vm-p-serial.log" "$LAB_DIR/hosts/host-a/log/qemu/vm-p.log"
	cleanup vm-vmdk vm-shr vm-p
	rm -f "$HA/sp.vm.qcow2" "$HA/sp.sh.raw" "$HA/sp.p.qcow2"
	unchanged
}
t "refused before any downtime: a vmdk layer, a shareable disk, a paused source without shutdown.force" refusals

tap_end
