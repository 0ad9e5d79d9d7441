#!/bin/bash
# End-to-end tests of resolved plans on the real lab: `apply --dry-run
# --save FILE` then `apply --resolved FILE` (vm-shared cold host-a ->
# host-c, and a match: entry placed on [host-b, host-c]), and each drift
# refused with its message, exit 2 and nothing changed on any host: a new
# VM for the pattern, a VM redefined with another UUID, its XML edited,
# the plan edited, the file too old (its created_at edited), the resolved
# host no longer fitting, a format version this vmshift does not read.
#
#   VMSHIFT=build/vmshift tests/e2e/resolved_test.sh
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

rs_undefine() {	# rs_undefine HOST NAME
	vsh "$1" undefine "$2" >/dev/null 2>&1
	return 0
}
# redefine NAME XMLFILE: host-a's NAME defined from XMLFILE (as the controller wrote it)
redefine() {
	"$LAB/lab-host" host-a virsh -q -c qemu:///system define "$2" >/dev/null || die "cannot define $1 from $2"
}
rs_plan() {
	cat <<PLAN
version: 1
name: rs
hosts:
  host-a: {uri: "$A"}
  host-b: {uri: "$B"}
  host-c: {uri: "$C"}
placement: {policy: pack, max_vcpu_ratio: 1}
defaults:
  shutdown: {timeout_s: 20, force: true}
migrations:
  - {vm: vm-shared, from: host-a, to: host-c, mode: cold}
  - {id: grp, match: "^rs-", from: host-a, to: [host-b, host-c], mode: cold}
PLAN
}
# resolved_refused PATTERN...: apply --resolved r.json exits 2, saying
# every PATTERN, and no host changed
resolved_refused() {
	snapshot >"$W/s0"
	refused 2 refused.log "does not match what the run would do now" vmshift apply -q --resolved r.json rs.yaml
	for p in "$@"; do grep -q -- "$p" "$W/refused.log" || die "no '$p' in: $(cat "$W/refused.log")"; done
	[ ! -e "$W/.vmshift/rs/journal.jsonl" ] || die "a journal was written: $(cat "$W/.vmshift/rs/journal.jsonl")"
	unchanged
}
jq_file() {	# jq_file PYTHON_EXPR: evaluate on r.json as d
	/usr/bin/python3 -c "import json,sys; d=json.load(open('$W/r.json')); print($1)"
}
edit_file() {	# edit_file PYTHON_STATEMENT: change r.json (d) in place, into r-edited.json
	/usr/bin/python3 -c "import json; d=json.load(open('$W/r.json')); $1; json.dump(d, open('$W/r-edited.json','w'))"
}

t_setup() {
	lab_reset
	shared_clone rs-1
	rs_plan >"$W/rs.yaml"
	cp "$W/rs.yaml" "$W/rs.yaml.orig"
	vsh host-a dumpxml --inactive rs-1 >"$W/rs-1.orig.xml"
}

t_save() {
	refused 2 usage.log "add --dry-run" vmshift apply --save r.json rs.yaml
	[ ! -e "$W/r.json" ] || die "--save without --dry-run wrote a file"
	snapshot >"$W/s0"
	vmshift apply --dry-run --save r.json rs.yaml >"$W/save.log" 2>&1 || die "dry-run --save failed: $(tail -5 "$W/save.log")"
	unchanged
	/usr/bin/python3 -c 'import json, jsonschema, sys
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
		"$ROOT/schema/resolved-plan.schema.json" "$W/r.json" || die "r.json does not validate"
	[ "$(jq_file 'd["format"], d["version"]')" = "vmshift-resolved 1" ] || die "format: $(jq_file 'd["format"], d["version"]')"
	[ "$(jq_file 'd["plan"]["sha256"]')" = "$(sha256sum <"$W/rs.yaml" | cut -d' ' -f1)" ] || die "plan sha256"
	[ "$(jq_file 'd["matches"][0]["vms"]')" = "['rs-1']" ] || die "matches: $(jq_file 'd["matches"]')"
	[ "$(jq_file '[(m["id"], m["target"]["host"]) for m in d["migrations"]]')" = "[('vm-shared', 'host-c'), ('grp/rs-1', 'host-b')]" ] ||
		die "units: $(jq_file '[(m["id"], m["target"]["host"]) for m in d["migrations"]]')"
	[ "$(jq_file 'd["migrations"][1]["uuid"]')" = "$(vsh host-a domuuid rs-1)" ] || die "uuid of rs-1"
	[ "$(jq_file 'd["migrations"][1]["source_xml_sha256"]')" = "$(sha256sum <"$W/rs-1.orig.xml" | cut -d' ' -f1)" ] ||
		die "source_xml_sha256 is not the sha256 of dumpxml --inactive"
	[ "$(jq_file 'd["migrations"][1]["placement"]["candidates"][0]["verdict"]')" = fits ] || die "placement: $(jq_file 'd["migrations"][1].get("placement")')"
	[ "$(jq_file 'd["migrations"][0]["target"]["host_uuid"] is not None')" = True ] || die "no host uuid"
}

t_new_vm() {
	shared_clone rs-2
	resolved_refused "grp/rs-2: VM new for match '^rs-'"
	rs_undefine host-a rs-2
}

t_uuid() {
	rs_undefine host-a rs-1
	sed '/<uuid>/d' "$W/rs-1.orig.xml" >"$W/rs-1.new.xml"
	redefine rs-1 "$W/rs-1.new.xml"
	resolved_refused "grp/rs-1: UUID changed"
	rs_undefine host-a rs-1
	redefine rs-1 "$W/rs-1.orig.xml"
}

t_xml() {
	sed 's|<memory unit=.KiB.>65536</memory>|<memory unit="KiB">98304</memory>|' "$W/rs-1.orig.xml" >"$W/rs-1.mem.xml"
	grep -q 98304 "$W/rs-1.mem.xml" || die "cannot edit the memory of rs-1: $(grep memory "$W/rs-1.orig.xml")"
	redefine rs-1 "$W/rs-1.mem.xml"
	resolved_refused "grp/rs-1: source XML changed" "grp/rs-1: target XML changed"
	redefine rs-1 "$W/rs-1.orig.xml"
}

t_plan_edited() {
	echo "# reviewed by someone" >>"$W/rs.yaml"
	resolved_refused "plan edited: .*rs.yaml has sha256"
	cp "$W/rs.yaml.orig" "$W/rs.yaml"
}

t_too_old() {
	edit_file 'd["created_at"] = "2026-01-01T00:00:00Z"'
	mv "$W/r.json" "$W/r.good.json"; mv "$W/r-edited.json" "$W/r.json"
	resolved_refused "too old: resolved at 2026-01-01T00:00:00Z"
	# every difference is listed, one per line: the age and the plan too
	echo "# edited" >>"$W/rs.yaml"
	resolved_refused "too old" "plan edited"
	[ "$(grep -c '^  ' "$W/refused.log")" = 2 ] || die "not 2 differences: $(cat "$W/refused.log")"
	cp "$W/rs.yaml.orig" "$W/rs.yaml"
	mv "$W/r.good.json" "$W/r.json"
	refused 2 age.log "--max-age must be a duration" vmshift apply --resolved r.json --max-age 2x rs.yaml
}

t_version() {
	edit_file 'd["version"] = 2'
	snapshot >"$W/s0"
	refused 2 version.log "format version is 2, this vmshift reads version 1" vmshift apply --resolved r-edited.json rs.yaml
	unchanged
}

t_no_longer_fits() {
	# host-b gets a shut-off domain with more vCPUs than its CPUs:
	# max_vcpu_ratio 1 leaves no room there for rs-1, resolved to host-b
	local cpus
	cpus=$(vsh host-b nodeinfo | awk '/^CPU\(s\)/ {print $2}')
	vsh host-a dumpxml --inactive rs-1 | sed -e "s|<name>rs-1</name>|<name>hog</name>|" -e '/<uuid>/d' -e '/<mac address/d' \
		-e "s|<vcpu\([^>]*\)>[0-9]*</vcpu>|<vcpu\1>$cpus</vcpu>|" >"$W/hog.xml"
	"$LAB/lab-host" host-b virsh -q -c qemu:///system define "$W/hog.xml" >/dev/null || die "cannot define hog on host-b"
	resolved_refused "grp/rs-1: target no longer fits: host-b, where it was resolved to go"
	rs_undefine host-b hog
}

t_apply() {
	vmshift apply -q --resolved r.json rs.yaml >"$W/apply.log" 2>&1 || die "apply --resolved failed: $(tail -5 "$W/apply.log")"
	[ "$(vsh host-c domstate vm-shared)" = running ] || die "vm-shared is not running on host-c"
	absent_on host-a vm-shared
	vsh host-b dominfo rs-1 >/dev/null || die "rs-1 is not on host-b"
	absent_on host-a rs-1
	grep -q "\"resolved_sha256\":\"$(sha256sum <"$W/r.json" | cut -d' ' -f1)\"" "$W/.vmshift/rs/journal.jsonl" ||
		die "the run record lacks the resolved file's sha256"
	[ "$(fact_of rs grp/rs-1 placed_host)" = '"host-b"' ] || die "placed: $(fact_of rs grp/rs-1 placed_host)"
}

t_resume_rollback() {
	edit_file 'd["created_at"] = "2026-01-02T00:00:00Z"'
	refused 2 resume.log "is not the resolved plan the run" vmshift resume --resolved r-edited.json rs.yaml
	vmshift resume -q --resolved r.json rs.yaml >"$W/resume.log" 2>&1 || die "resume --resolved failed: $(tail -5 "$W/resume.log")"
	refused 2 rollback.log "is not the resolved plan the run" vmshift rollback --resolved r-edited.json --only grp --force rs.yaml
	vmshift rollback -q --resolved r.json --only grp --force rs.yaml >"$W/rb.log" 2>&1 || die "rollback failed: $(tail -5 "$W/rb.log")"
	vsh host-a dominfo rs-1 >/dev/null || die "rs-1 is not back on host-a"
	absent_on host-b rs-1
}

t "setup: lab, rs-1 on host-a, the plan" t_setup
t "apply --dry-run --save writes a resolved plan that validates; --save needs --dry-run" t_save
t "a new VM matching the pattern is refused" t_new_vm
t "a VM redefined with another UUID is refused" t_uuid
t "an edited definition is refused (source and target XML)" t_xml
t "an edited plan is refused" t_plan_edited
t "a file older than --max-age is refused; every difference listed" t_too_old
t "a format version this vmshift does not read is refused" t_version
t "a resolved host that no longer fits is refused" t_no_longer_fits
t "apply --resolved runs the resolved plan" t_apply
t "resume and rollback take the run's resolved plan, and only it" t_resume_rollback
tap_end
