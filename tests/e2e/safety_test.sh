#!/bin/bash
# End-to-end tests of vmshift's safety rules on the real lab: plans that
# are wrong, hosts that hold stale state, files planted where vmshift
# writes.  Each test asserts the end state on every host (what is defined
# and running where, which bytes are where), not only the exit status.
# README, "Safety", lists the rules these tests hold vmshift to.
#
#   VMSHIFT=build/vmshift tests/e2e/safety_test.sh
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

lab_reset
snapshot >"$W/s0"

# 1. two plan hosts, one libvirt daemon: a "migration" onto itself
same_host_twice() {
	{ plan_head alias | sed "s|^  host-c: .*|  host-a2: {uri: \"qemu+ssh://root@127.0.0.2:22/system\"}|"
	  echo "  - {vm: vm-shared, from: host-a, to: host-a2, mode: cold}"; } >"$W/alias.yaml"
	refused 2 alias.log "are the same libvirt host" vmshift apply alias.yaml
	refused 2 alias-dry.log "are the same libvirt host" vmshift apply --dry-run alias.yaml
	running_on host-a vm-shared
	unchanged
}
t "two plan hosts that are one libvirt host are refused (exit 2); the VM stays" same_host_twice

# 2. one VM claimed by a vm: entry and a match: entry
claimed_twice() {
	{ plan_head twice
	  echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}"
	  echo "  - {id: all-shared, match: '^vm-sh', from: host-a, to: host-b, mode: cold}"; } >"$W/twice.yaml"
	refused 2 twice.log "twice.yaml:10:5: migration 'vm-shared' and .*twice.yaml:11:5: migration 'all-shared' both claim domain 'vm-shared'" \
		vmshift apply twice.yaml
	refused 2 twice-dry.log "both claim domain" vmshift apply --dry-run twice.yaml
	unchanged
}
t "a domain claimed by two entries is refused before anything runs, naming both lines" claimed_twice

# 3. a stale definition of the VM (same uuid) on the target, not this run's
stale_same_uuid() {
	vsh host-a dumpxml --inactive vm-shared | sed -e 's|<memory unit=.KiB.>[0-9]*</memory>|<memory unit="KiB">32768</memory>|' \
		-e 's|<currentMemory unit=.KiB.>[0-9]*</currentMemory>|<currentMemory unit="KiB">32768</currentMemory>|' >"$W/stale.xml"
	"$LAB/lab-host" host-c virsh -q -c qemu:///system define "$W/stale.xml" >/dev/null || die "cannot define the stale copy"
	snapshot >"$W/s-stale"
	{ plan_head stale; echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}"; } >"$W/stale.yaml"
	refused 1 stale.log "that this run did not define" vmshift apply stale.yaml
	running_on host-a vm-shared
	[ "$(vsh host-c domstate vm-shared)" = "shut off" ] || die "the stale copy on host-c was started"
	vsh host-c dumpxml --inactive vm-shared | grep -q "<memory unit='KiB'>32768</memory>" || die "the stale copy was changed"
	vmshift rollback stale.yaml 2>/dev/null || die "rollback failed"
	snapshot >"$W/now"
	diff -u "$W/s-stale" "$W/now" || die "the hosts changed"
	vsh host-c undefine vm-shared >/dev/null
	unchanged
}
t "a same-uuid domain on the target that this run did not define is refused and never touched" stale_same_uuid

# 3b. the source lacks the VM; the target has an unrelated domain of that name
ghost_not_done() {
	vsh host-a dumpxml --inactive vm-shared | sed -e 's|<name>vm-shared</name>|<name>vm-ghost</name>|' -e '/<uuid>/d' \
		-e '/<mac address/d' >"$W/ghost.xml"
	"$LAB/lab-host" host-b virsh -q -c qemu:///system define "$W/ghost.xml" >/dev/null || die "cannot define vm-ghost"
	{ plan_head ghost; echo "  - {vm: vm-ghost, from: host-a, to: host-b, mode: cold}"; } >"$W/ghost.yaml"
	refused 1 ghost.log "this run did not put it there" vmshift apply ghost.yaml
	vmshift status ghost.yaml >"$W/ghost.st" 2>&1
	grep -q "this run did not put it there" "$W/ghost.st" || die "status: $(cat "$W/ghost.st")"
	vsh host-b dominfo vm-ghost >/dev/null || die "vm-ghost on host-b was touched"
	vsh host-b undefine vm-ghost >/dev/null
	unchanged
}
t "a VM missing on the source is not 'done' because another domain of its name is on the target" ghost_not_done

# 5, and rollback --force without --only
rollback_uses_journal_hosts() {
	{ plan_head moved; echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}"; } >"$W/moved.yaml"
	vmshift apply moved.yaml 2>"$W/m.log" || die "apply failed: $(tail -5 "$W/m.log")"
	running_on host-c vm-shared
	refused 2 force.log "rollback --force needs --only" vmshift rollback --force moved.yaml
	running_on host-c vm-shared
	cp "$W/moved.yaml" "$W/moved.orig"
	sed -i 's|to: host-c|to: host-b|' "$W/moved.yaml"
	refused 1 edited.log "vmshift acts only on the hosts the run used" vmshift rollback --force --only vm-shared moved.yaml
	running_on host-c vm-shared
	absent_on host-b vm-shared
	# an edited done migration is not "done" either
	refused 1 edited-apply.log "vmshift acts only on the hosts the run used" vmshift apply moved.yaml
	absent_on host-b vm-shared
	cp "$W/moved.orig" "$W/moved.yaml"
	vmshift rollback --force --only vm-shared moved.yaml 2>"$W/rb.log" || die "rollback failed: $(tail -5 "$W/rb.log")"
	running_on host-a vm-shared
	absent_on host-c vm-shared
}
t "rollback --force and apply after 'to:' was edited are refused; --force needs --only; the real rollback works" rollback_uses_journal_hosts
lab_reset
snapshot >"$W/s0"

# a second plan file of the same name in the same directory
other_plan_same_dir() {
	rm -rf "$W/.vmshift"
	{ plan_head samename; echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, start: never}"; } >"$W/one.yaml"
	{ plan_head samename; echo "  - {vm: vm-shared, from: host-a, to: host-b, mode: cold}"; } >"$W/two.yaml"
	vmshift apply --only vm-shared one.yaml 2>"$W/one.log" || die "apply failed: $(tail -5 "$W/one.log")"
	absent_on host-a vm-shared
	refused 2 two.log "holds the journal of another plan file" vmshift apply two.yaml
	absent_on host-b vm-shared
	vmshift rollback --force --only vm-shared one.yaml 2>/dev/null || die "rollback failed"
	running_on host-a vm-shared
	unchanged
}
t "a second plan of the same name in one directory is refused, not reported done" other_plan_same_dir

# resume with another ssh.host: the fingerprint covers SSH access
resume_changed_ssh() {
	rm -rf "$W/.vmshift"
	{ plan_head sshchg
	  offline_entry vm-local
	} >"$W/ssh.yaml"
	VMSHIFT_FAULT="prepare-target:kill:vm-local" vmshift apply ssh.yaml 2>/dev/null
	cp "$W/ssh.yaml" "$W/ssh.orig"
	sed -i "s|  host-b: {uri: \"$B\"}|  host-b: {uri: \"$B\", ssh: {host: 127.0.0.4}}|" "$W/ssh.yaml"
	grep -q "127.0.0.4}" "$W/ssh.yaml" || die "test setup: the plan was not edited"
	refused 1 sshchg.log "the plan changed since the run in" vmshift resume ssh.yaml
	cp "$W/ssh.orig" "$W/ssh.yaml"
	vmshift rollback ssh.yaml 2>/dev/null || die "rollback failed"
	unchanged
}
t "resume refuses a plan whose ssh access changed" resume_changed_ssh

# 9. a stale part file, and a symlink at the part path
offline_plan() {	# offline_plan NAME [verify]
	plan_head "$1"
	offline_entry vm-local /srv/vms/ "disks: {verify: ${2:-sha256}}"
}
stale_part() {
	rm -rf "$W/.vmshift"
	local part=$LAB_DIR/hosts/host-b/srv/vms/vm-local.qcow2.vmshift-part sum
	head -c 3M /dev/urandom >"$part"
	sum=$(sha256sum <"$part")
	offline_plan part size >"$W/part.yaml"
	refused 1 part-dry.log "a partial copy this run did not start" vmshift apply --dry-run part.yaml
	refused 1 part.log "a partial copy this run did not start" vmshift apply part.yaml
	[ "$(sha256sum <"$part")" = "$sum" ] || die "the stale part file was changed"
	running_on host-a vm-local
	absent_on host-b vm-local
	rm -f "$part"
	vmshift rollback part.yaml 2>/dev/null || die "rollback failed"
	unchanged
}
t "a stale .vmshift-part is neither resumed nor deleted (verify: size)" stale_part

part_symlink() {
	rm -rf "$W/.vmshift"
	local part=$LAB_DIR/hosts/host-b/srv/vms/vm-local.qcow2.vmshift-part victim=$LAB_DIR/hosts/host-b/victim
	echo precious >"$victim"
	ln -s /tmp/vmshift-lab/hosts/host-b/victim "$part"
	offline_plan link >"$W/link.yaml"
	refused 1 link.log "is a symbolic link" vmshift apply link.yaml
	[ "$(cat "$victim")" = precious ] || die "vmshift wrote through the symlink"
	running_on host-a vm-local
	rm -f "$part" "$victim"
	vmshift rollback link.yaml 2>/dev/null || die "rollback failed"
	unchanged
}
t "a symlink planted at the part path is refused, its target untouched" part_symlink

# 10. two disks of two VMs remapped onto one target path
one_target_path() {
	rm -rf "$W/.vmshift"
	{ plan_head clash
	  for v in vm-local vm-shared; do
		echo "  - {vm: $v, from: host-a, to: host-b, mode: offline-with-scp-disk, remap: {paths: [{from: '^.*[.]qcow2\$', to: /srv/vms/disk.qcow2}]}}"
	  done; } >"$W/clash.yaml"
	refused 2 clash.log "map two different files onto '/srv/vms/disk.qcow2' on host-b" vmshift apply clash.yaml
	[ ! -e "$LAB_DIR/hosts/host-b/srv/vms/disk.qcow2" ] || die "something was copied"
	unchanged
}
t "two different disks remapped onto one target path are refused (exit 2) before any copy" one_target_path

# 6 and 13. cold mode, and live with unsafe: true, on host-private storage:
# the path exists on the target, but it is another file there
private_disk_refused() {	# private_disk_refused NAME ENTRY_KEYS
	rm -rf "$W/.vmshift"
	"$LAB/lab-host" host-c sh -c 'head -c 1M /dev/urandom > /var/lib/libvirt/images/vm-local.qcow2'
	{ plan_head "$1"; echo "  - {vm: vm-local, from: host-a, to: host-c, $2}"; } >"$W/$1.yaml"
	refused 1 "$1.log" "are not the same storage" vmshift apply "$1.yaml"
	running_on host-a vm-local
	absent_on host-c vm-local
	"$LAB/lab-host" host-c rm -f /var/lib/libvirt/images/vm-local.qcow2
	unchanged
}
t "cold mode refuses a disk that is a different file on the target (host-private storage)" \
	private_disk_refused coldlocal "mode: cold"
t "live with unsafe: true refuses a host-private disk (another file at that path on the target)" \
	private_disk_refused liveunsafe "mode: live, live: {unsafe: true}"


# 8. a block-device disk in offline-with-scp-disk
block_disk_refused() {
	rm -rf "$W/.vmshift"
	clone_of vm-blk /var/lib/libvirt/images/vm-local.qcow2 qcow2 \
		"<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/null'/><target dev='hdb' bus='ide'/></disk>"
	{ plan_head blk
	  offline_entry vm-blk
	} >"$W/blk.yaml"
	{ plan_head blkcold; echo "  - {vm: vm-blk, from: host-a, to: host-c, mode: cold}"; } >"$W/blkc.yaml"
	refused 1 blk-dry.log "disk hdb: a block disk (/dev/null): offline-with-scp-disk copies only file disks" \
		vmshift apply --dry-run --only vm-blk blk.yaml
	refused 1 blk.log "copies only file disks" vmshift apply --only vm-blk blk.yaml
	absent_on host-b vm-blk
	refused 1 blkc.log "say so in the plan with disks.shared" vmshift apply --dry-run blkc.yaml
	vsh host-a undefine vm-blk >/dev/null
	unchanged
}
t "a block disk is refused by offline-with-scp-disk and, without disks.shared, by cold" block_disk_refused

# snapshots are refused before any downtime; autostart is carried
snapshot_refused() {
	rm -rf "$W/.vmshift"
	clone_local vm-snap || die "cannot copy vm-snap's disk"
	vsh host-a snapshot-create-as vm-snap s1 >/dev/null || die "cannot snapshot vm-snap"
	{ plan_head snap
	  offline_entry vm-snap
	} >"$W/snap.yaml"
	refused 1 snap.log "has 1 snapshot on host-a" vmshift apply snap.yaml
	absent_on host-b vm-snap
	vsh host-a snapshot-delete vm-snap s1 >/dev/null
	drop_local vm-snap
	unchanged
}
t "a domain with snapshots is refused in preflight, before it is shut down" snapshot_refused

autostart_carried() {
	rm -rf "$W/.vmshift"
	vsh host-a autostart vm-shared >/dev/null || die "cannot set autostart"
	{ plan_head auto; echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}"; } >"$W/auto.yaml"
	vmshift apply auto.yaml 2>"$W/auto.log" || die "apply failed: $(tail -5 "$W/auto.log")"
	running_on host-c vm-shared
	vsh host-c dominfo vm-shared >"$W/auto.info"
	grep -q "^Autostart: *enable" "$W/auto.info" || die "autostart not carried: $(cat "$W/auto.info")"
	# a dry-run after the run reads the journal: this run's domain is not "somebody else's"
	vmshift apply --dry-run auto.yaml >"$W/auto-dry.log" 2>&1 || die "dry-run after apply failed: $(tail -5 "$W/auto-dry.log")"
	grep -q "already migrated: this run put 'vm-shared'" "$W/auto-dry.log" || die "$(tail -5 "$W/auto-dry.log")"
	vmshift rollback --force --only vm-shared auto.yaml 2>/dev/null || die "rollback failed"
	running_on host-a vm-shared
	vsh host-a autostart --disable vm-shared >/dev/null
}
t "autostart is carried to the target" autostart_carried

# 14. writes only below the target's image directories
outside_image_dirs() {
	rm -rf "$W/.vmshift"
	local out=$LAB_DIR/hosts/host-b/lib/not-images
	mkdir -p "$out"
	{ plan_head imgdirs
	  offline_entry vm-local /var/lib/libvirt/not-images/
	} >"$W/img.yaml"
	refused 1 img-dry.log "is outside the directories meant for guest images" vmshift apply --dry-run img.yaml
	refused 1 img.log "outside the directories meant for guest images (its storage pools and image_dirs: /srv/vms" vmshift apply img.yaml
	[ -z "$(ls -A "$out")" ] || die "something was written to $out: $(ls -A "$out")"
	running_on host-a vm-local
	# the same plan, the directory declared: the copy goes there
	sed -i "s|  host-b: {uri: \"$B\"}|  host-b: {uri: \"$B\", image_dirs: [/var/lib/libvirt/not-images]}|" "$W/img.yaml"
	rm -rf "$W/.vmshift"
	vmshift apply img.yaml 2>"$W/img2.log" || die "apply with image_dirs failed: $(tail -5 "$W/img2.log")"
	running_on host-b vm-local
	[ "$(disk_sha host-b /var/lib/libvirt/not-images/vm-local.qcow2)" = "$LAB_VM_LOCAL_SHA256" ] || die "the copy differs"
	vmshift rollback --force --only vm-local img.yaml 2>/dev/null || die "rollback failed"
	running_on host-a vm-local
	rmdir "$out"
	unchanged
}
t "a copy outside the target's pools and image_dirs is refused; declared in image_dirs it works" outside_image_dirs

symlinked_image_subdir() {
	rm -rf "$W/.vmshift"
	mkdir -p "$LAB_DIR/hosts/host-b/lib/secret"
	ln -s /var/lib/libvirt/secret "$LAB_DIR/hosts/host-b/srv/vms/evil"
	{ plan_head evil
	  offline_entry vm-local /srv/vms/evil/
	} >"$W/evil.yaml"
	refused 1 evil.log "through a symbolic link, to '/var/lib/libvirt/secret'" vmshift apply evil.yaml
	[ -z "$(ls -A "$LAB_DIR/hosts/host-b/lib/secret")" ] || die "something was written through the link"
	rm -f "$LAB_DIR/hosts/host-b/srv/vms/evil"
	rmdir "$LAB_DIR/hosts/host-b/lib/secret"
	unchanged
}
t "a symlinked directory inside an image directory that leads outside is refused" symlinked_image_subdir

# 4. ssh.host of a host pointing at another machine than its libvirt URI
ssh_elsewhere() {
	rm -rf "$W/.vmshift"
	offline_plan sshelse | sed "s|  host-b: {uri: \"$B\"}|  host-b: {uri: \"$B\", ssh: {host: 127.0.0.4}}|" >"$W/else.yaml"
	grep -q "127.0.0.4}" "$W/else.yaml" || die "test setup: the plan was not edited"
	refused 1 else.log "is another machine than its libvirt URI" vmshift apply else.yaml
	running_on host-a vm-local
	[ ! -e "$LAB_DIR/hosts/host-c/lib/images/vm-local.qcow2" ] || die "the disk went to host-c"
	[ ! -e "$LAB_DIR/hosts/host-b/srv/vms/vm-local.qcow2" ] || die "a disk is on host-b"
	unchanged
}
t "an ssh endpoint that is another machine than the libvirt URI is refused before any copy" ssh_elsewhere

# names and paths with spaces, quotes, $(...), a leading dash and UTF-8
odd_names() {
	# a shell would run the $(...) in its working directory: the remote
	# user's home ($LAB_HOME), or vmshift's ($W)
	pwned() { [ -e "$LAB_HOME/vmshift-pwned" ] || [ -e "$W/vmshift-pwned" ] || [ -e /vmshift-pwned ]; }
	rm -rf "$W/.vmshift"
	rm -f "$LAB_HOME/vmshift-pwned" "$W/vmshift-pwned" /vmshift-pwned
	vsh host-a dumpxml --inactive vm-local >"$W/local.xml"
	python3 - "$W" <<'PY' || die "test setup failed"
import sys, re
from xml.sax.saxutils import escape
w = sys.argv[1]
name = "-vm $(touch vmshift-pwned) 'q\" \u00fc"
disk = "/var/lib/libvirt/images/-d $(touch vmshift-pwned) 'q\" \u00fc.qcow2"
x = open(w + "/local.xml", encoding="utf-8").read()
x = re.sub(r"<name>.*?</name>", "<name>" + escape(name) + "</name>", x, count=1)
x = re.sub(r"\s*<uuid>.*?</uuid>", "", x, count=1)
x = re.sub(r"\s*<mac address=[^>]*/>", "", x)
x = x.replace("/var/lib/libvirt/images/vm-local.qcow2", escape(disk, {"'": "&apos;", '"': "&quot;"}))
x = x.replace("vm-local-serial.log", "vm-odd-serial.log")
open(w + "/odd.xml", "w", encoding="utf-8").write(x)
open(w + "/odd.disk", "w", encoding="utf-8").write(disk)
q = lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
open(w + "/odd-vm.yaml", "w", encoding="utf-8").write(
    "  - vm: %s\n    from: host-a\n    to: host-b\n    mode: offline-with-scp-disk\n"
    "    remap: {paths: [{from: \"^/var/lib/libvirt/images/\", to: \"/srv/vms/\"}]}\n" % q(name))
PY
	local disk
	disk=$(cat "$W/odd.disk")
	"$LAB/lab-host" host-a cp /var/lib/libvirt/images/vm-local.qcow2 "$disk" || die "cannot copy the odd disk"
	"$LAB/lab-host" host-a virsh -q -c qemu:///system define "$W/odd.xml" >/dev/null || die "cannot define the odd domain"
	{ plan_head odd; cat "$W/odd-vm.yaml"; } >"$W/odd.yaml"
	vmshift apply --dry-run odd.yaml >"$W/odd-dry.log" 2>&1 || die "dry-run failed: $(tail -5 "$W/odd-dry.log")"
	vmshift apply odd.yaml 2>"$W/odd.log" || die "apply failed: $(tail -8 "$W/odd.log")"
	! pwned || die "a \$(...) in a name or path was run by a shell"
	local tdisk="/srv/vms/${disk#/var/lib/libvirt/images/}"
	[ "$(disk_sha host-b "$tdisk")" = "$LAB_VM_LOCAL_SHA256" ] || die "the odd disk did not arrive intact"
	vsh host-b list --all --name >"$W/odd.list"
	grep -qxF -- "-vm \$(touch vmshift-pwned) 'q\" ü" "$W/odd.list" || die "the odd domain is not on host-b: $(cat "$W/odd.list")"
	vmshift rollback --force --only "-vm \$(touch vmshift-pwned) 'q\" ü" odd.yaml 2>"$W/oddrb.log" ||
		die "rollback failed: $(tail -5 "$W/oddrb.log")"
	[ ! -e "$LAB_DIR/hosts/host-b$tdisk" ] || die "the copy was not removed"
	! pwned || die "a \$(...) was run by a shell"
	vsh host-a undefine --domain "-vm \$(touch vmshift-pwned) 'q\" ü" >/dev/null || die "the odd domain is not back on host-a"
	"$LAB/lab-host" host-a rm -f -- "$disk"
	unchanged
}
t "names and paths with spaces, quotes, \$(...), a leading dash and UTF-8 migrate, and nothing runs them" odd_names

# 11. an ISO two migrated VMs use: rollback of one keeps it for the other
shared_iso() {
	rm -rf "$W/.vmshift"
	local iso="<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/tools.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>"
	"$LAB/lab-host" host-a sh -c 'head -c 2M /dev/urandom > /var/lib/libvirt/images/tools.iso'
	clone_local vm-iso1 "$iso" && clone_local vm-iso2 "$iso" || die "cannot define the ISO guests"
	{ plan_head iso
	  offline_entry vm-iso1; offline_entry vm-iso2; } >"$W/iso.yaml"
	vmshift apply iso.yaml 2>"$W/iso.log" || die "apply failed: $(tail -5 "$W/iso.log")"
	local tiso=$LAB_DIR/hosts/host-b/srv/vms/tools.iso
	[ -e "$tiso" ] || die "the ISO was not copied"
	vmshift rollback --force --only vm-iso1 iso.yaml 2>"$W/iso-rb1.log" || die "rollback failed: $(tail -5 "$W/iso-rb1.log")"
	[ -e "$tiso" ] || die "rolling back vm-iso1 deleted the ISO vm-iso2 uses on host-b"
	vsh host-b dominfo vm-iso2 >/dev/null || die "vm-iso2 is not on host-b"
	vmshift rollback --force --only vm-iso2 iso.yaml 2>"$W/iso-rb2.log" || die "rollback failed: $(tail -5 "$W/iso-rb2.log")"
	[ ! -e "$tiso" ] || die "the last rollback left the ISO on host-b"
	drop_local vm-iso1 vm-iso2
	"$LAB/lab-host" host-a rm -f /var/lib/libvirt/images/tools.iso
	unchanged
}
t "rollback of one migration keeps an ISO another migrated VM uses; the last one removes it" shared_iso

# 12. two disks of one VM remapped onto one path, with delete_source
two_disks_one_path() {
	rm -rf "$W/.vmshift"
	"$LAB/lab-host" host-a cp /var/lib/libvirt/images/vm-local.qcow2 /var/lib/libvirt/images/vm-two-b.qcow2
	clone_local vm-two "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/vm-two-b.qcow2'/><target dev='hdb' bus='ide'/></disk>" ||
		die "cannot define vm-two"
	{ plan_head two
	  echo '  - {vm: vm-two, from: host-a, to: host-b, mode: offline-with-scp-disk, disks: {delete_source: true}, remap: {paths: [{from: "^.*[.]qcow2$", to: "/srv/vms/one.qcow2"}]}}'
	} >"$W/two.yaml"
	refused 2 two.log "map two different files onto '/srv/vms/one.qcow2'" vmshift apply two.yaml
	"$LAB/lab-host" host-a test -e /var/lib/libvirt/images/vm-two.qcow2 || die "a source disk was deleted"
	"$LAB/lab-host" host-a test -e /var/lib/libvirt/images/vm-two-b.qcow2 || die "a source disk was deleted"
	drop_local vm-two vm-two-b
	unchanged
}
t "two disks of one VM remapped onto one path are refused; with delete_source nothing is deleted" two_disks_one_path

# Ctrl-C in the middle of a copy: it stops there, the part stays, resume finishes
ctrl_c_copy() {
	rm -rf "$W/.vmshift"
	local i pid rc part=$LAB_DIR/hosts/host-b/srv/vms/vm-big.img.vmshift-part
	# 2 GiB holding 16 MiB; the copy holds halfway (VMSHIFT_FAULT) until
	# the Ctrl-C comes, however fast it would be
	"$LAB/lab-host" host-a truncate -s 2G /var/lib/libvirt/images/vm-big.img
	"$LAB/lab-host" host-a sh -c 'head -c 16M /dev/urandom | dd of=/var/lib/libvirt/images/vm-big.img bs=1M seek=100 conv=notrunc status=none'
	clone_of vm-big /var/lib/libvirt/images/vm-big.img raw
	{ plan_head big; offline_entry vm-big /srv/vms/ 'disks: {verify: size}'; } >"$W/big.yaml"
	VMSHIFT_FAULT=copy-disks:hold vmshift apply big.yaml 2>"$W/big.log" &
	pid=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q "holds halfway through /var/lib/libvirt/images/vm-big.img" "$W/big.log" && break
		sleep 0.1
	done
	[ -s "$part" ] || { kill "$pid"; die "the copy never started: $(tail -5 "$W/big.log")"; }
	pkill -INT -f -- "^$VMSHIFT apply big.yaml$" || die "no vmshift to interrupt"
	wait "$pid"
	rc=$?
	[ "$rc" = 3 ] || die "exit $rc, not 3 (interrupted): $(tail -5 "$W/big.log")"
	grep -q "stopped at [0-9]* of [0-9]* bytes" "$W/big.log" || die "the copy did not stop part way: $(tail -5 "$W/big.log")"
	[ -e "$part" ] || die "the part file is gone"
	[ "$(stat -c %s "$part")" -lt 2147483648 ] || die "the whole disk was copied first"
	vmshift status big.yaml >"$W/big.st" 2>&1
	grep -q "interrupted during copy-disks" "$W/big.st" || die "status: $(cat "$W/big.st")"
	# (resuming a partial copy is tested by apply_test's kill in the middle
	# of copy-disks, on a small disk)
	vmshift rollback big.yaml 2>"$W/big-rb.log" || die "rollback failed: $(tail -5 "$W/big-rb.log")"
	[ ! -e "$part" ] || die "rollback left the part file"
	[ "$(vsh host-a domstate vm-big)" = "shut off" ] || die "vm-big is not back on host-a as it was (shut off)"
	vsh host-a undefine vm-big >/dev/null
	"$LAB/lab-host" host-a rm -f /var/lib/libvirt/images/vm-big.img
	unchanged
}
t "Ctrl-C stops a copy part way (exit 3, part kept, status interrupted); rollback clears it" ctrl_c_copy

# a failed undo does not stop the others: the source runs again, the leftover is reported
rollback_goes_on() {
	rm -rf "$W/.vmshift"
	offline_plan goes-on >"$W/goeson.yaml"
	refused 1 goeson.log "rollback incomplete; copy-disks: VMSHIFT_FAULT: injected failure undoing copy-disks; fix what it says, then run vmshift rollback goeson.yaml --only vm-local" \
		faulty "verify-target:fail:vm-local,copy-disks:undo-fail:vm-local" apply goeson.yaml
	running_on host-a vm-local
	absent_on host-b vm-local
	[ -e "$LAB_DIR/hosts/host-b/srv/vms/vm-local.qcow2" ] || die "the leftover copy is not there (the injected failure did nothing?)"
	vmshift rollback goeson.yaml 2>"$W/goeson-rb.log" || die "the second rollback failed: $(tail -5 "$W/goeson-rb.log")"
	running_on host-a vm-local
	unchanged
}
t "a failed undo does not stop the rollback: the source runs again, the leftover is named, a second rollback clears it" rollback_goes_on

# killed during shutdown, then a plain apply (not resume): start: keep holds
killed_in_shutdown() {
	rm -rf "$W/.vmshift"
	{ plan_head killsd; echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}"; } >"$W/killsd.yaml"
	VMSHIFT_FAULT="shutdown-source:kill:vm-shared" vmshift apply killsd.yaml 2>/dev/null
	[ "$(vsh host-a domstate vm-shared)" = "shut off" ] || die "the kill came before the shutdown: $(vsh host-a domstate vm-shared)"
	vmshift apply killsd.yaml 2>"$W/killsd.log" || die "apply failed: $(tail -5 "$W/killsd.log")"
	running_on host-c vm-shared
	vmshift rollback --force --only vm-shared killsd.yaml 2>/dev/null || die "rollback failed"
	running_on host-a vm-shared
}
t "killed during shutdown, a plain apply still starts the VM on the target (it ran before)" killed_in_shutdown

# Ctrl-C while a guest that ignores the power button is waited for
ctrl_c_shutdown() {
	rm -rf "$W/.vmshift"
	local i pid rc img=$LAB_SHARED/vm-deaf.img
	{ "$LAB/mk-dirty-mbr"; head -c $((1024 * 1024 - 512)) /dev/zero; } >"$img" || die "cannot build vm-deaf's disk"
	clone_of vm-deaf "$img" raw
	vsh host-a start vm-deaf >/dev/null || die "cannot start vm-deaf"
	{ plan_head deaf; echo "  - {vm: vm-deaf, from: host-a, to: host-c, mode: cold, shutdown: {timeout_s: 600, force: false}}"; } >"$W/deaf.yaml"
	vmshift apply deaf.yaml 2>"$W/deaf.log" &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "vm-deaf: shutting down on host-a" "$W/deaf.log" && break
		sleep 0.1
	done
	grep -q "shutting down on host-a" "$W/deaf.log" || { kill "$pid"; die "no shutdown began: $(tail -5 "$W/deaf.log")"; }
	pkill -INT -f -- "^$VMSHIFT apply deaf.yaml\$" || die "no vmshift to interrupt"
	wait "$pid"
	rc=$?
	[ "$rc" = 3 ] || die "exit $rc, not 3: $(tail -5 "$W/deaf.log")"
	grep -q "interrupted while 'vm-deaf' shuts down on host-a" "$W/deaf.log" || die "$(tail -5 "$W/deaf.log")"
	running_on host-a vm-deaf
	absent_on host-c vm-deaf
	vmshift rollback deaf.yaml 2>"$W/deaf-rb.log" || die "rollback failed: $(tail -5 "$W/deaf-rb.log")"
	running_on host-a vm-deaf
	vsh host-a destroy vm-deaf >/dev/null
	vsh host-a undefine vm-deaf >/dev/null
	rm -f "$img" "$LAB_DIR/hosts/host-a/log/qemu/vm-deaf-serial.log"
	unchanged
}
t "Ctrl-C ends a shutdown wait at once (exit 3); the VM keeps running on the source" ctrl_c_shutdown

# a kernel the domain boots must be on the target (it is not copied)
missing_kernel() {
	rm -rf "$W/.vmshift"
	mkdir -p "$LAB_DIR/hosts/host-a/lib/boot"
	echo kernel >"$LAB_DIR/hosts/host-a/lib/boot/vmlinuz-test"
	vsh host-a dumpxml --inactive vm-shared | sed -e 's|<name>vm-shared</name>|<name>vm-kern</name>|' -e '/<uuid>/d' \
		-e '/<mac address/d' -e 's|vm-shared-serial|vm-kern-serial|' \
		-e 's|<os>|<os><kernel>/var/lib/libvirt/boot/vmlinuz-test</kernel>|' >"$W/kern.xml"
	"$LAB/lab-host" host-a virsh -q -c qemu:///system define "$W/kern.xml" >/dev/null || die "cannot define vm-kern"
	{ plan_head kern; echo "  - {vm: vm-kern, from: host-a, to: host-c, mode: cold}"; } >"$W/kern.yaml"
	refused 1 kern.log "kernel: '/var/lib/libvirt/boot/vmlinuz-test' does not exist on host-c" vmshift apply --dry-run kern.yaml
	refused 1 kern2.log "does not exist on host-c (vmshift does not copy it)" vmshift apply kern.yaml
	absent_on host-c vm-kern
	vsh host-a undefine vm-kern >/dev/null
	rm -rf "$LAB_DIR/hosts/host-a/lib/boot"
	unchanged
}
t "a kernel missing on the target is refused in preflight" missing_kernel

# a domain a done migration moved is not moved again by another entry in a later run
claimed_after_done() {
	rm -rf "$W/.vmshift"
	{ plan_head later
	  echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, undefine_source: false}"
	  echo "  - {id: all-shared, match: '^vm-sh', from: host-a, to: host-b, mode: cold}"; } >"$W/later.yaml"
	vmshift apply --only vm-shared later.yaml 2>"$W/later1.log" || die "apply failed: $(tail -5 "$W/later1.log")"
	running_on host-c vm-shared
	refused 2 later2.log "both claim domain 'vm-shared' .* (one of them moved it already" vmshift apply --only all-shared later.yaml
	absent_on host-b vm-shared
	vmshift rollback --force --only vm-shared later.yaml 2>/dev/null || die "rollback failed"
	running_on host-a vm-shared
	unchanged
}
t "a domain a done migration moved is refused to another entry in a later run (exit 2)" claimed_after_done

# a remap that renames a disk on shared storage names another file
cold_renamed_disk() {
	rm -rf "$W/.vmshift"
	cp "$LAB_VM_SHARED_DISK" "$LAB_SHARED/vm-shared-other.qcow2"
	{ plan_head renamed
	  echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, remap: {paths: [{from: 'vm-shared[.]qcow2\$', to: vm-shared-other.qcow2}]}}"
	} >"$W/renamed.yaml"
	refused 1 renamed.log "the remap renames '$LAB_VM_SHARED_DISK' to '$LAB_SHARED/vm-shared-other.qcow2'" vmshift apply renamed.yaml
	running_on host-a vm-shared
	absent_on host-c vm-shared
	rm -f "$LAB_SHARED/vm-shared-other.qcow2"
	unchanged
}
t "cold mode refuses a remap that renames a disk on shared storage (the probe proves directories)" cold_renamed_disk

# a managed-save image is per-host state: refused before any downtime
managed_save_refused() {
	rm -rf "$W/.vmshift"
	clone_local vm-saved || die "cannot copy vm-saved's disk"
	vsh host-a start vm-saved >/dev/null || die "cannot start vm-saved"
	vsh host-a managedsave vm-saved >/dev/null || die "cannot managedsave vm-saved"
	{ plan_head saved; offline_entry vm-saved; } >"$W/saved.yaml"
	refused 1 saved.log "has a managed-save image on host-a" vmshift apply saved.yaml
	absent_on host-b vm-saved
	vsh host-a managedsave-remove vm-saved >/dev/null
	drop_local vm-saved
	rm -f "$LAB_DIR/hosts/host-a/log/qemu/vm-saved-serial.log"
	unchanged
}
t "a domain with a managed-save image is refused in preflight" managed_save_refused

# a state directory without room for the journal: refused before the shutdown
full_state_dir() {
	local sd=$W/tiny-state
	mkdir -p "$sd"
	# vmshift runs in the lab controller's mount namespace: mount it there
	"$LAB/lab-ctl" mount -t tmpfs -o size=1m tmpfs "$sd" || die "cannot mount a small tmpfs"
	{ plan_head tiny; echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}"; } >"$W/tiny.yaml"
	refused 1 tiny.log "the state directory $sd has [0-9]* KiB free; vmshift needs 16 MiB there" \
		vmshift apply --state-dir "$sd" tiny.yaml
	running_on host-a vm-shared
	absent_on host-c vm-shared
	"$LAB/lab-ctl" umount "$sd"
	unchanged
}
t "a state directory without room for the journal is refused before any downtime" full_state_dir

tap_end
