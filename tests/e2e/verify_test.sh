#!/bin/bash
# End-to-end tests of the health-gated cutover (verify:) and of target
# preparation (prepare.create_bridges) on the real lab.  A check that
# fails must roll the migration back (the VM on its source again, nothing
# on the target); what passed is in the journal.  Assertions are on
# states, messages and journal facts, never on durations.
#
#   VMSHIFT=build/vmshift tests/e2e/verify_test.sh
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

AGENT_CHANNEL="<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
cleanup_bridges() { local b; for b in vsbr-t1 vsbr-t2 vsbr-t3 vsbr-d1; do ip link del "$b" >/dev/null 2>&1; done; }
trap 'cleanup_bridges; rm -rf "$W"' EXIT

lab_reset
cleanup_bridges
snapshot >"$W/s0"

# 1. a tcp check nothing answers: verify-target fails naming it, rolled back
tcp_fails() {
	{ plan_head tcpbad
	  echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, verify: {tcp: '127.0.0.3:9', timeout_s: 2}}"; } >"$W/tcpbad.yaml"
	vmshift apply --dry-run tcpbad.yaml >"$W/tcpbad.dry" 2>&1 || die "dry-run failed: $(tail -5 "$W/tcpbad.dry")"
	grep -q "verify-target: checks running 1 s, tcp 127.0.0.3:9" "$W/tcpbad.dry" || die "the dry-run does not say what verify-target checks: $(cat "$W/tcpbad.dry")"
	sed "s|tcp: '127.0.0.3:9'|tcp: '{vm}.lab.invalid:22'|" "$W/tcpbad.yaml" >"$W/tcpvm.yaml"
	vmshift apply --dry-run tcpvm.yaml >"$W/tcpvm.dry" 2>&1 || die "dry-run failed: $(tail -5 "$W/tcpvm.dry")"
	grep -q "tcp vm-shared.lab.invalid:22 " "$W/tcpvm.dry" || die "{vm} not replaced: $(grep verify-target "$W/tcpvm.dry")"
	refused 1 tcpbad.log "verify-target.*tcp 127.0.0.3:9: no connection within 2 s" vmshift apply tcpbad.yaml
	grep -q "rolled back" "$W/tcpbad.log" || die "not rolled back: $(tail -5 "$W/tcpbad.log")"
	running_on host-a vm-shared
	absent_on host-c vm-shared
	[ "$(fact_of tcpbad vm-shared verified)" = null ] || die "a failed verification was journaled as passed"
	! grep -q '"step":"undefine-source","phase":"start"' "$W/.vmshift/tcpbad/journal.jsonl" || die "undefine-source ran"
	unchanged
}
t "verify.tcp to a closed port: verify-target fails naming the check, the VM runs on the source again" tcp_fails

# 2. tcp to the target's sshd and running_for_s: 1 pass; journaled
tcp_passes() {
	{ plan_head tcpok
	  echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, verify: {running_for_s: 1, tcp: '127.0.0.4:22', timeout_s: 5}}"; } >"$W/tcpok.yaml"
	vmshift apply tcpok.yaml >"$W/tcpok.log" 2>&1 || die "apply failed: $(tail -5 "$W/tcpok.log")"
	running_on host-c vm-shared
	absent_on host-a vm-shared
	[ "$(fact_of tcpok vm-shared verified)" = '["running 1 s", "tcp 127.0.0.4:22"]' ] ||
		die "verified: $(fact_of tcpok vm-shared verified)"
	vmshift rollback --force --only vm-shared tcpok.yaml >"$W/tcpok.rb" 2>&1 || die "rollback failed: $(tail -5 "$W/tcpok.rb")"
	running_on host-a vm-shared
	absent_on host-c vm-shared
	unchanged
}
t "verify.tcp to the target host's sshd and running_for_s: 1 pass; the journal says what was verified" tcp_passes

# 3. a guest stopped while verify-target watches it: the event ends the
# wait at once, and the migration is rolled back
stopped_while_watched() {
	{ plan_head watched
	  echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, verify: {running_for_s: 600}}"; } >"$W/watched.yaml"
	vmshift apply watched.yaml >"$W/watched.log" 2>&1 &
	local pid=$! i rc
	for i in $(seq 600); do
		grep -q "verifying on host-c: running for 600 s" "$W/watched.log" && break
		sleep 0.1
	done
	grep -q "verifying on host-c" "$W/watched.log" || { kill "$pid"; die "verify-target never started: $(tail -5 "$W/watched.log")"; }
	vsh host-c destroy vm-shared >/dev/null || { kill "$pid"; die "cannot power it off on host-c"; }
	wait "$pid"
	rc=$?
	[ $rc = 1 ] || die "exit $rc, not 1: $(tail -5 "$W/watched.log")"
	grep -q "running 600 s: it was powered off within 600 s" "$W/watched.log" || die "no stop event named: $(tail -5 "$W/watched.log")"
	running_on host-a vm-shared
	absent_on host-c vm-shared
	unchanged
}
t "a guest powered off while verify-target watches it (running_for_s) fails at once on the event and is rolled back" stopped_while_watched

# 4. guest_agent: refused in preflight without the channel; with the
# channel but no agent inside, "did not answer", rolled back
agent_missing() {
	{ plan_head noagent
	  echo "  - {vm: vm-shared, from: host-a, to: host-c, mode: cold, verify: {guest_agent: true}}"; } >"$W/noagent.yaml"
	refused 1 noagent.log "has no org.qemu.guest_agent.0 channel; add one or drop verify.guest_agent" vmshift apply noagent.yaml
	grep -q "preflight" "$W/noagent.log" || die "not refused in preflight: $(tail -5 "$W/noagent.log")"
	running_on host-a vm-shared
	unchanged
}
t "verify.guest_agent for a guest without the agent's channel is refused in preflight" agent_missing

agent_silent() {
	clone_local vm-ga "$AGENT_CHANNEL"
	{ plan_head agent; offline_entry vm-ga /srv/vms/ "start: always, verify: {guest_agent: true, timeout_s: 2}"; } >"$W/agent.yaml"
	refused 1 agent.log "guest agent: did not answer guest-ping within 2 s" vmshift apply agent.yaml
	[ "$(vsh host-a domstate vm-ga)" = "shut off" ] || die "vm-ga is not back on host-a, shut off"
	absent_on host-b vm-ga
	[ ! -e "$LAB_DIR/hosts/host-b/srv/vms/vm-ga.qcow2" ] || die "the copy on host-b was left"
	drop_local vm-ga
	unchanged
}
t "verify.guest_agent with the channel but no agent in the guest: 'did not answer within 2 s', rolled back" agent_silent

# 5. prepare.create_bridges
bridge_refused_then_created() {
	clone_on_bridge vm-br vsbr-t1
	{ plan_head brno; offline_entry vm-br /srv/vms/ "start: always"; } >"$W/brno.yaml"
	refused 1 brno.log "missing on host-b: bridge 'vsbr-t1'" vmshift apply brno.yaml
	! bridge_exists vsbr-t1 || die "the bridge was created without create_bridges"
	absent_on host-b vm-br
	{ plan_head bryes; offline_entry vm-br /srv/vms/ "start: always, prepare: {create_bridges: true}"; } >"$W/bryes.yaml"
	vmshift apply --dry-run bryes.yaml >"$W/bryes.dry" 2>&1 || die "dry-run failed: $(tail -5 "$W/bryes.dry")"
	grep -q "bridge vsbr-t1 missing on host-b: prepare-target creates it" "$W/bryes.dry" || die "dry-run: $(cat "$W/bryes.dry")"
	! bridge_exists vsbr-t1 || die "the dry-run created the bridge"
	# killed once prepare-target made it: resume finds it there, still vmshift's
	faulty prepare-target:kill:vm-br apply bryes.yaml >"$W/bryes.k" 2>&1
	[ $? = 137 ] || die "vmshift was not killed in prepare-target: $(tail -5 "$W/bryes.k")"
	bridge_exists vsbr-t1 || die "vsbr-t1 was not created"
	vmshift resume bryes.yaml >"$W/bryes.log" 2>&1 || die "resume failed: $(tail -5 "$W/bryes.log")"
	running_on host-b vm-br
	absent_on host-a vm-br
	[ "$(fact_of bryes vm-br prep_bridges)" = '["vsbr-t1"]' ] || die "prep_bridges: $(fact_of bryes vm-br prep_bridges)"
	vmshift rollback --force --only vm-br bryes.yaml >"$W/bryes.rb" 2>&1 || die "rollback failed: $(tail -5 "$W/bryes.rb")"
	! bridge_exists vsbr-t1 || die "the rollback left the bridge vmshift created"
	[ "$(vsh host-a domstate vm-br)" = "shut off" ] || die "vm-br is not back on host-a"
	absent_on host-b vm-br
	drop_local vm-br
	unchanged
}
t "a missing bridge: refused without create_bridges; created with it, journaled, kept across kill and resume, removed by rollback" bridge_refused_then_created

bridge_in_use_or_foreign_kept() {
	clone_on_bridge vm-br2 vsbr-t2
	{ plan_head bruse; offline_entry vm-br2 /srv/vms/ "start: always, prepare: {create_bridges: true}"; } >"$W/bruse.yaml"
	vmshift apply bruse.yaml >"$W/bruse.log" 2>&1 || die "apply failed: $(tail -5 "$W/bruse.log")"
	running_on host-b vm-br2
	# something else attached to it since: the undo leaves it
	ip tuntap add dev vsbr-d1 mode tap && ip link set vsbr-d1 master vsbr-t2 || die "cannot attach a tap interface"
	vmshift rollback --force --only vm-br2 bruse.yaml >"$W/bruse.rb" 2>&1 || die "rollback failed: $(tail -5 "$W/bruse.rb")"
	grep -q "bridge vsbr-t2 on host-b, which vmshift created, has interfaces attached (vsbr-d1): left in place" "$W/bruse.rb" ||
		die "no word of the bridge left: $(tail -5 "$W/bruse.rb")"
	bridge_exists vsbr-t2 || die "a bridge in use was deleted"
	ip link del vsbr-d1; ip link del vsbr-t2
	drop_local vm-br2
	# a bridge that was there before is never vmshift's
	ip link add vsbr-t3 type bridge || die "cannot create vsbr-t3"
	clone_on_bridge vm-br3 vsbr-t3
	{ plan_head brold; offline_entry vm-br3 /srv/vms/ "start: always, prepare: {create_bridges: true}"; } >"$W/brold.yaml"
	vmshift apply brold.yaml >"$W/brold.log" 2>&1 || die "apply failed: $(tail -5 "$W/brold.log")"
	running_on host-b vm-br3
	[ "$(fact_of brold vm-br3 prep_bridges)" = null ] || die "claimed a bridge it found: $(fact_of brold vm-br3 prep_bridges)"
	vmshift rollback --force --only vm-br3 brold.yaml >"$W/brold.rb" 2>&1 || die "rollback failed: $(tail -5 "$W/brold.rb")"
	bridge_exists vsbr-t3 || die "the rollback deleted a bridge vmshift did not create"
	ip link del vsbr-t3
	drop_local vm-br3
	unchanged
}
t "rollback leaves a created bridge that has an interface attached, and never deletes one that was there before" bridge_in_use_or_foreign_kept

# a name vmshift would have to put in a command line: refused, nothing made
bridge_name_refused() {
	clone_on_bridge vm-br4 'vsbr$(id)'
	{ plan_head brbad; offline_entry vm-br4 /srv/vms/ "start: always, prepare: {create_bridges: true}"; } >"$W/brbad.yaml"
	refused 1 brbad.log 'bridge .vsbr$(id). is missing on host-b, and prepare.create_bridges creates only names of 1 to 15 characters' \
		vmshift apply brbad.yaml
	[ -z "$(ip -o link show | grep -F 'vsbr$')" ] || die "an interface was created"
	absent_on host-b vm-br4
	drop_local vm-br4
	unchanged
}
t "create_bridges refuses a bridge name it would not create, before anything runs" bridge_name_refused

tap_end
