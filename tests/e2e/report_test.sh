#!/bin/bash
# End-to-end tests of the dry-run's reports on the real lab: one plan with
# a cold VM (vm-shared to host-c), an offline-with-scp-disk VM whose disk
# is remapped (vm-local to host-b, /var/lib/libvirt/images/ -> /srv/vms/),
# a VM placed from a to: list (rp-pool, cold, to [host-b, host-c]) and a
# VM whose preflight fails (rp-bad: its bridge remapped to one host-b
# lacks).  `--output markdown` rendered by python3-markdown (Debian's
# Python-Markdown) must show the table, a row per VM, a <details> per
# migration with its diff in a <code> block and the failure; `--output
# json` must validate against schema/dry-run.schema.json.
#
#   VMSHIFT=build/vmshift tests/e2e/report_test.sh
set -uo pipefail

# shellcheck source=harness.bash
. "$(dirname "$(readlink -f "$0")")/harness.bash"

rp_drop() {
	local v
	for v in rp-pool rp-bad; do
		vsh host-a undefine "$v" >/dev/null 2>&1
		"$LAB/lab-host" host-a rm -f "$LAB_SHARED/$v.qcow2"
	done
	return 0
}
# py FILE PYTHON: PYTHON with the rendered HTML as `html`, the Markdown
# as `md` and the JSON as `r` (those that exist); a failed assert fails
py() {
	/usr/bin/python3 - "$W/dry.md" "$W/dry.json" "$ROOT/schema/dry-run.schema.json" <<PY
import json, os, re, sys
import markdown
md = open(sys.argv[1]).read() if os.path.exists(sys.argv[1]) else ''
html = markdown.markdown(md, extensions=['tables', 'fenced_code'])
r = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else None
schema = json.load(open(sys.argv[3]))
$1
PY
}

lab_reset
rp_drop
trap 'rp_drop; rm -rf "$W"' EXIT
shared_clone rp-pool
shared_clone rp-bad
{
	plan_head report
	echo "  - {id: cold, vm: vm-shared, from: host-a, to: host-c, mode: cold}"
	offline_entry vm-local
	echo "  - {id: pool, vm: rp-pool, from: host-a, to: [host-b, host-c], mode: cold}"
	echo '  - {id: bad, vm: rp-bad, from: host-a, to: host-b, mode: cold, remap: {bridges: [{from: "^labbr0$", to: "rpnobr0"}]}}'
} >"$W/plan.yaml"
snapshot >"$W/s0"

markdown_report() {
	vmshift apply --dry-run --output markdown plan.yaml >"$W/dry.md" 2>"$W/dry.err"
	[ $? = 1 ] || die "a dry run with a failing preflight should exit 1: $(tail -5 "$W/dry.err")"
	[ ! -e "$W/.vmshift" ] || die "the dry run wrote a state directory"
	unchanged
	head -1 "$W/dry.md" | grep -qx '## vmshift dry run: report' || die "no heading: $(head -3 "$W/dry.md")"
	grep -q "sha256 \`$(sha256sum "$W/plan.yaml" | cut -d' ' -f1)\`" "$W/dry.md" || die "no plan sha256: $(head -3 "$W/dry.md")"
}
t "dry-run --output markdown: exit 1 (one preflight fails), nothing changed, the plan's sha256" markdown_report

rendered_table() {
	py "
t = html[html.index('<table>'):html.index('</table>')]
heads = re.findall(r'<th[^>]*>(.*?)</th>', t)
assert heads == ['VM', 'From', 'To', 'Mode', 'Disks to copy', 'Estimated time', 'Checks'], heads
rows = [re.findall(r'<td[^>]*>(.*?)</td>', row, re.S) for row in re.findall(r'<tr>(.*?)</tr>', t, re.S)[1:]]
vms = [c[0].split(' ')[0] for c in rows]
assert vms == ['vm-shared', 'vm-local', 'rp-pool', 'rp-bad'], rows
by = dict(zip(vms, rows))
assert by['vm-local'][3] == 'offline-with-scp-disk' and re.match(r'1 file, [0-9.]+\s[KM]iB$', by['vm-local'][4]), by['vm-local']
assert by['vm-local'][5].startswith('~') and by['vm-shared'][5] == '—', rows
assert re.match(r'host-[bc] \(placed: spread\)$', by['rp-pool'][2]), by['rp-pool']
assert [c[6].split(':')[0] for c in rows] == ['passed', 'passed', 'passed', 'failed'], rows
assert 'rpnobr0' in by['rp-bad'][6], by['rp-bad']
" || die "the rendered table (the assertion above)"
}
t "rendered by python3-markdown: the summary table, one row per VM, the failure in its row" rendered_table

rendered_details() {
	py "
blocks = re.findall(r'<details>\s*<summary>(.*?)</summary>(.*?)</details>', html, re.S)
assert len(blocks) == 4, blocks
codes = [re.search(r'<pre><code class=\"language-(diff|xml)\">(.*?)</code></pre>', b, re.S) for _, b in blocks]
assert all(codes), blocks
local = codes[1].group(2)
assert codes[1].group(1) == 'diff' and '\n+      &lt;source file=&#x27;/srv/vms/vm-local.qcow2&#x27;/&gt;' in local.replace(chr(39), '&#x27;'), local
assert '\n-      &lt;source file=' in local.replace(chr(39), '&#x27;'), local
bad = codes[3].group(2)
assert 'rpnobr0' in bad, bad
" || die "the details blocks (the assertion above)"
}
t "rendered: a <details> per migration, the remapped disk's diff inside a <code> block" rendered_details

rendered_sections() {
	py "
secs = re.split(r'<h3>', html)[1:]
assert len(secs) == 4, len(secs)
bad = secs[3]
assert 'Preflight problems' in bad and re.search(r'<li>missing on host-b: bridge .rpnobr0.*?</li>', bad), bad
assert 'Steps that would run' not in bad, bad
pool = secs[2]
assert '<th>Host</th>' in pool and 'host-b' in pool and 'host-c' in pool, pool
assert 'copy-disks' in secs[1] and 'copy-disks' not in secs[0], secs[:2]
" || die "the sections (the assertion above)"
}
t "rendered: the failing VM's problem listed, the pool's placement figures, the steps" rendered_sections

json_schema() {
	vmshift apply --dry-run --output json plan.yaml >"$W/dry.json" 2>"$W/dry.err"
	[ $? = 1 ] || die "exit $?, not 1: $(tail -5 "$W/dry.err")"
	py "
import jsonschema
errs = ['%s: %s' % ('/'.join(map(str, e.absolute_path)), e.message) for e in jsonschema.Draft202012Validator(schema).iter_errors(r)]
assert not errs, errs
by = {m['id']: m for m in r['migrations']}
loc = [m for m in r['migrations'] if m['vm'] == 'vm-local'][0]
assert [(c['from'], c['to']) for c in loc['changes'] if c['what'].startswith('disk ')] == [('/var/lib/libvirt/images/vm-local.qcow2', '/srv/vms/vm-local.qcow2')], loc['changes']
assert \"<source file='/srv/vms/vm-local.qcow2'/>\" in loc['target_xml'], loc['target_xml']
assert loc['copy_bytes'] > 0 and list(loc['chains'].values())[0][0]['target'] == '/srv/vms/vm-local.qcow2', loc
assert by['pool']['to'] in ('host-b', 'host-c') and len(by['pool']['placement']['candidates']) == 2, by['pool']
assert by['bad']['preflight'] == 'failed' and any('rpnobr0' in p for p in by['bad']['problems']), by['bad']
assert r['result'] == 'failed' and r['plan_sha256'], r
" || die "the dry-run JSON (the assertion above)"
}
t "dry-run --output json validates against schema/dry-run.schema.json, with changes, chains, placement, problems" json_schema

rp_drop
tap_end
