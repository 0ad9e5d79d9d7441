/* Unit tests of executor/domxml.c: what a domain XML references, remap
 * rules applied to it, and output that differs from the input only in
 * the remapped values.  No libvirt: the module never calls it. */
#include <string.h>

#include "../../executor/domxml.h"

/* As libvirt 9 writes it for virsh dumpxml --inactive --security-info
 * --migratable: two file disks, a block disk, a cdrom, UEFI with nvram,
 * direct kernel boot, a file serial with a log, its console alias, a pty
 * serial with a log, a bridge and a network interface. */
#define DOMAIN \
	"<domain type='kvm'>\n" \
	"  <name>web-01</name>\n" \
	"  <uuid>3f1d0c2e-7a5b-4c7e-9b1a-2d9e8f6a4b10</uuid>\n" \
	"  <metadata>\n" \
	"    <libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\n" \
	"      <libosinfo:os id=\"http://debian.org/debian/12\"/>\n" \
	"    </libosinfo:libosinfo>\n" \
	"  </metadata>\n" \
	"  <memory unit='KiB'>4194304</memory>\n" \
	"  <currentMemory unit='KiB'>4194304</currentMemory>\n" \
	"  <vcpu placement='static'>2</vcpu>\n" \
	"  <os firmware='efi'>\n" \
	"    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n" \
	"    <firmware>\n" \
	"      <feature enabled='no' name='enrolled-keys'/>\n" \
	"      <feature enabled='no' name='secure-boot'/>\n" \
	"    </firmware>\n" \
	"    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>\n" \
	"    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/web-01_VARS.fd</nvram>\n" \
	"    <kernel>/var/lib/libvirt/boot/web-01/vmlinuz</kernel>\n" \
	"    <initrd>/var/lib/libvirt/boot/web-01/initrd.img</initrd>\n" \
	"    <cmdline>console=ttyS0 root=/dev/vda1</cmdline>\n" \
	"    <boot dev='hd'/>\n" \
	"  </os>\n" \
	"  <features>\n" \
	"    <acpi/>\n" \
	"    <apic/>\n" \
	"  </features>\n" \
	"  <cpu mode='host-passthrough' check='none' migratable='on'/>\n" \
	"  <clock offset='utc'>\n" \
	"    <timer name='rtc' tickpolicy='catchup'/>\n" \
	"  </clock>\n" \
	"  <on_poweroff>destroy</on_poweroff>\n" \
	"  <on_reboot>restart</on_reboot>\n" \
	"  <on_crash>destroy</on_crash>\n" \
	"  <devices>\n" \
	"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n" \
	"    <disk type='file' device='disk'>\n" \
	"      <driver name='qemu' type='qcow2' discard='unmap'/>\n" \
	"      <source file='/var/lib/libvirt/images/web-01.qcow2'/>\n" \
	"      <target dev='vda' bus='virtio'/>\n" \
	"      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>\n" \
	"    </disk>\n" \
	"    <disk type='file' device='disk'>\n" \
	"      <driver name='qemu' type='raw' cache='none' io='native'/>\n" \
	"      <source file='/data/web-01/data.raw'/>\n" \
	"      <target dev='vdb' bus='virtio'/>\n" \
	"      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>\n" \
	"    </disk>\n" \
	"    <disk type='block' device='disk'>\n" \
	"      <driver name='qemu' type='raw' cache='none' io='native'/>\n" \
	"      <source dev='/data/web-01/swap'/>\n" \
	"      <target dev='vdc' bus='virtio'/>\n" \
	"      <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>\n" \
	"    </disk>\n" \
	"    <disk type='file' device='cdrom'>\n" \
	"      <driver name='qemu' type='raw'/>\n" \
	"      <source file='/var/lib/libvirt/images/debian-12.7.0-amd64-netinst.iso'/>\n" \
	"      <target dev='sda' bus='sata'/>\n" \
	"      <readonly/>\n" \
	"      <address type='drive' controller='0' bus='0' target='0' unit='0'/>\n" \
	"    </disk>\n" \
	"    <controller type='usb' index='0' model='qemu-xhci' ports='15'>\n" \
	"      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n" \
	"    </controller>\n" \
	"    <controller type='sata' index='0'>\n" \
	"      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>\n" \
	"    </controller>\n" \
	"    <interface type='bridge'>\n" \
	"      <mac address='52:54:00:6b:3c:58'/>\n" \
	"      <source bridge='qbr-1234'/>\n" \
	"      <model type='virtio'/>\n" \
	"      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n" \
	"    </interface>\n" \
	"    <interface type='network'>\n" \
	"      <mac address='52:54:00:0a:11:22'/>\n" \
	"      <source network='default'/>\n" \
	"      <model type='virtio'/>\n" \
	"      <address type='pci' domain='0x0000' bus='0x07' slot='0x00' function='0x0'/>\n" \
	"    </interface>\n" \
	"    <serial type='file'>\n" \
	"      <source path='/var/log/libvirt/qemu/web-01-serial0.log'/>\n" \
	"      <log file='/var/log/libvirt/qemu/web-01-serial0.ring' append='off'/>\n" \
	"      <target type='isa-serial' port='0'>\n" \
	"        <model name='isa-serial'/>\n" \
	"      </target>\n" \
	"    </serial>\n" \
	"    <serial type='pty'>\n" \
	"      <log file='/var/log/libvirt/qemu/web-01-serial1.log' append='on'/>\n" \
	"      <target type='isa-serial' port='1'>\n" \
	"        <model name='isa-serial'/>\n" \
	"      </target>\n" \
	"    </serial>\n" \
	"    <console type='file'>\n" \
	"      <source path='/var/log/libvirt/qemu/web-01-serial0.log'/>\n" \
	"      <log file='/var/log/libvirt/qemu/web-01-serial0.ring' append='off'/>\n" \
	"      <target type='serial' port='0'/>\n" \
	"    </console>\n" \
	"    <input type='tablet' bus='usb'>\n" \
	"      <address type='usb' bus='0' port='1'/>\n" \
	"    </input>\n" \
	"    <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'>\n" \
	"      <listen type='address'/>\n" \
	"    </graphics>\n" \
	"    <memballoon model='virtio'>\n" \
	"      <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>\n" \
	"    </memballoon>\n" \
	"  </devices>\n" \
	"</domain>\n"

#define HOSTS "version: 1\nname: t\nhosts:\n" \
	"  a: {uri: \"qemu:///system\"}\n" \
	"  b: {uri: \"qemu+ssh://root@10.0.0.2/system\"}\n"

/* A plan whose first migration is web-01; @own is its remap block (or
 * ""), @wide the plan-wide one (or ""). */
static struct plan *
plan_with(const char *own, const char *wide)
{
	struct diags dg;
	g_autofree char *text = g_strdup_printf(HOSTS "%s%s\nmigrations:\n"
						"  - vm: web-01\n    from: a\n    to: b\n    mode: cold\n%s%s\n",
						*wide ? "remap:\n" : "", wide,
						*own ? "    remap:\n" : "", own);
	struct plan *p;

	diags_init(&dg, "t.yaml");
	p = plan_parse("t.yaml", text, strlen(text), &dg);
	if (!p) {
		g_autofree char *msg = diags_format(&dg);

		g_test_message("plan did not parse:\n%s\n%s", text, msg);
	}
	g_assert_nonnull(p);
	diags_release(&dg);
	return p;
}

/* The sets in the order vmshift applies them: the migration's own rules,
 * then defaults, then plan-wide. */
static void
sets_of(const struct plan *p, const struct remap *sets[3])
{
	const struct migration *m = p->migrations->pdata[0];

	sets[0] = &m->set.remap;
	sets[1] = &p->defaults.remap;
	sets[2] = &p->remap;
}

static const struct dom_path *
find_path(GPtrArray *paths, const char *what)
{
	for (guint i = 0; i < paths->len; i++) {
		const struct dom_path *dp = paths->pdata[i];

		if (!strcmp(dp->what, what))
			return dp;
	}
	return NULL;
}

static const struct dom_change *
find_change(GPtrArray *changes, const char *what)
{
	for (guint i = 0; i < changes->len; i++) {
		const struct dom_change *c = changes->pdata[i];

		if (!strcmp(c->what, what))
			return c;
	}
	return NULL;
}

static const char *
path_of(GPtrArray *paths, const char *what)
{
	const struct dom_path *dp = find_path(paths, what);

	return dp ? dp->path : "(not listed)";
}

/* Parse DOMAIN, remap it with @own/@wide rules, and hand back the result. */
static struct domxml *
remapped(const char *own, const char *wide, GPtrArray *changes)
{
	struct plan *p = plan_with(own, wide);
	const struct remap *sets[3];
	g_autoptr(GError) err = NULL;
	struct domxml *d;

	d = domxml_parse(DOMAIN, &err);
	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (p && d) {
		sets_of(p, sets);
		g_assert_cmpint(domxml_remap(d, sets, 3, changes, &err), ==, 0);
		g_assert_no_error(err);
	}
	plan_free(p);
	return d;
}

/* Lines of @a and @b that differ (both must have as many lines), as
 * "N: old -> new" joined by newlines. */
static char *
diff_lines(const char *a, const char *b)
{
	g_auto(GStrv) la = g_strsplit(a, "\n", -1);
	g_auto(GStrv) lb = g_strsplit(b, "\n", -1);
	GString *out = g_string_new(NULL);
	guint na = g_strv_length(la), nb = g_strv_length(lb);

	if (na != nb)
		g_string_append_printf(out, "line counts differ: %u vs %u\n", na, nb);
	for (guint i = 0; i < MIN(na, nb); i++)
		if (strcmp(la[i], lb[i]))
			g_string_append_printf(out, "%u: %s -> %s\n", i + 1, la[i], lb[i]);
	return g_string_free(out, FALSE);
}

static void
test_domxml__identity_and_memory(void)
{
	static const struct { const char *mem; guint64 kib; } cases[] = {
		{ "<memory unit='KiB'>4194304</memory>", 4194304 },
		{ "<memory>2048</memory>", 2048 },
		{ "<memory unit='GiB'>4</memory>", 4194304 },
		{ "<memory unit='G'>2</memory>", 2097152 },
		{ "<memory unit='MB'>1000</memory>", 976563 },	/* 10^9 bytes, rounded up */
		{ "<memory unit='bytes'>1025</memory>", 2 },
		{ "", 0 },
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(DOMAIN, &err);

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (!d)
		return;
	g_assert_cmpstr(domxml_name(d), ==, "web-01");
	g_assert_cmpstr(domxml_uuid(d), ==, "3f1d0c2e-7a5b-4c7e-9b1a-2d9e8f6a4b10");
	g_assert_cmpuint(domxml_memory_kib(d), ==, 4194304);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *xml = g_strdup_printf("<domain type='kvm'><name>n</name><uuid>u</uuid>%s</domain>",
						       cases[i].mem);
		g_autoptr(DomXml) m = domxml_parse(xml, &err);

		g_assert_no_error(err);
		g_assert_nonnull(m);
		if (m)
			g_assert_cmpuint(domxml_memory_kib(m), ==, cases[i].kib);
		g_clear_error(&err);
	}
}

static void
test_domxml__paths_listed(void)
{
	static const struct {
		enum dom_path_kind kind;
		const char *what, *path;
		gboolean copy, readonly, log, system;
	} want[] = {
		{ DOM_PATH_LOADER, "loader", "/usr/share/OVMF/OVMF_CODE_4M.fd", FALSE, TRUE, FALSE, TRUE },
		{ DOM_PATH_NVRAM_TEMPLATE, "nvram template", "/usr/share/OVMF/OVMF_VARS_4M.fd", FALSE, FALSE, FALSE, TRUE },
		{ DOM_PATH_NVRAM, "nvram", "/var/lib/libvirt/qemu/nvram/web-01_VARS.fd", TRUE, FALSE, FALSE, FALSE },
		{ DOM_PATH_KERNEL, "kernel", "/var/lib/libvirt/boot/web-01/vmlinuz", FALSE, FALSE, FALSE, TRUE },
		{ DOM_PATH_INITRD, "initrd", "/var/lib/libvirt/boot/web-01/initrd.img", FALSE, FALSE, FALSE, TRUE },
		{ DOM_PATH_DISK, "disk vda", "/var/lib/libvirt/images/web-01.qcow2", TRUE, FALSE, FALSE, FALSE },
		{ DOM_PATH_DISK, "disk vdb", "/data/web-01/data.raw", TRUE, FALSE, FALSE, FALSE },
		{ DOM_PATH_DISK, "disk sda (cdrom)", "/var/lib/libvirt/images/debian-12.7.0-amd64-netinst.iso",
		  TRUE, TRUE, FALSE, FALSE },
		{ DOM_PATH_SERIAL_LOG, "serial 0 file", "/var/log/libvirt/qemu/web-01-serial0.log", FALSE, FALSE, TRUE, FALSE },
		{ DOM_PATH_SERIAL_LOG, "serial 0 log", "/var/log/libvirt/qemu/web-01-serial0.ring", FALSE, FALSE, TRUE, FALSE },
		{ DOM_PATH_SERIAL_LOG, "serial 1 log", "/var/log/libvirt/qemu/web-01-serial1.log", FALSE, FALSE, TRUE, FALSE },
		{ DOM_PATH_CONSOLE_LOG, "console 0 file", "/var/log/libvirt/qemu/web-01-serial0.log", FALSE, FALSE, TRUE, FALSE },
		{ DOM_PATH_CONSOLE_LOG, "console 0 log", "/var/log/libvirt/qemu/web-01-serial0.ring", FALSE, FALSE, TRUE, FALSE },
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(DOMAIN, &err);
	g_autoptr(GPtrArray) paths = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (!d)
		return;
	paths = domxml_paths(d);
	g_assert_cmpuint(paths->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < MIN(paths->len, G_N_ELEMENTS(want)); i++) {
		const struct dom_path *dp = paths->pdata[i];

		g_test_message("path %u: %s %s", i, dp->what, dp->path);
		g_assert_cmpint(dp->kind, ==, want[i].kind);
		g_assert_cmpstr(dp->what, ==, want[i].what);
		g_assert_cmpstr(dp->path, ==, want[i].path);
		g_assert_cmpint(dp->copy, ==, want[i].copy);
		g_assert_cmpint(dp->readonly, ==, want[i].readonly);
		g_assert_cmpint(dp->log, ==, want[i].log);
		g_assert_cmpint(dp->system, ==, want[i].system);
		g_assert_false(dp->dir);
		g_assert_false(dp->backing);
		g_assert_cmpuint(dp->depth, ==, 0);
		g_assert_cmpint(dp->disk_index, ==, -1);
	}
	/* Not a file vmshift handles: the block disk. */
	for (guint i = 0; i < paths->len; i++) {
		const struct dom_path *dp = paths->pdata[i];

		g_assert_null(strstr(dp->path, "swap"));
		g_assert_null(strstr(dp->what, "vdc"));
	}
}

static void
test_domxml__bridges_and_networks_listed(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(DOMAIN, &err);
	g_autoptr(GPtrArray) bridges = NULL;
	g_autoptr(GPtrArray) networks = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (!d)
		return;
	bridges = domxml_bridges(d);
	networks = domxml_networks(d);
	g_assert_cmpuint(bridges->len, ==, 1);
	g_assert_cmpuint(networks->len, ==, 1);
	if (bridges->len == 1)
		g_assert_cmpstr(bridges->pdata[0], ==, "qbr-1234");
	if (networks->len == 1)
		g_assert_cmpstr(networks->pdata[0], ==, "default");
}

static void
test_domxml__noop_remap_byte_identical(void)
{
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	/* Rules that match nothing in this domain, and one that matches
	 * but maps a path to itself (which also keeps the later ^/srv/ rule
	 * from ever being tried on it): no change either. */
	g_autoptr(DomXml) d = remapped("      paths:\n"
				       "        - {from: \"^/nowhere/\", to: \"/x/\"}\n"
				       "        - {from: '^(/var/lib/libvirt/)', to: '$1'}\n",
				       "  paths: [{from: \"^/srv/\", to: \"/x/\"}]\n"
				       "  bridges: [{from: \"^virbr\", to: \"br\"}]\n"
				       "  networks: [{from: \"^prod$\", to: \"x\"}]\n", changes);
	g_autofree char *out = NULL;
	g_autoptr(GPtrArray) paths = NULL;

	g_assert_nonnull(d);
	if (!d)
		return;
	g_assert_cmpuint(changes->len, ==, 0);
	out = domxml_format(d);
	g_assert_cmpstr(out, ==, DOMAIN);	/* single quotes, no declaration, layout */
	paths = domxml_paths(d);
	g_assert_cmpstr(path_of(paths, "disk vda"), ==, "/var/lib/libvirt/images/web-01.qcow2");
}

static void
test_domxml__first_match_wins_across_sets(void)
{
	const char *own = "      paths: [{from: \"^/data/\", to: \"/srv/data/\"}]\n";
	const char *wide = "  paths:\n"
			   "    - {from: \"^/data/web-01/\", to: \"/other/\"}\n"
			   "    - {from: \"^/var/lib/libvirt/images/\", to: \"/srv/images/\"}\n"
			   "    - {from: \"^/var/lib/libvirt/\", to: \"/never/\"}\n";
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(DomXml) d = remapped(own, wide, changes);
	g_autoptr(GPtrArray) paths = NULL;
	struct plan *p = plan_with(own, wide);
	const struct remap *sets[3];
	g_autoptr(GError) err = NULL;
	g_autofree char *v = NULL;

	g_assert_nonnull(d);
	if (!d || !p) {
		plan_free(p);
		return;
	}
	paths = domxml_paths(d);
	/* The migration's rule beats the plan-wide one that also matches. */
	g_assert_cmpstr(path_of(paths, "disk vdb"), ==, "/srv/data/web-01/data.raw");
	/* Within a list, the first matching rule wins over the later one. */
	g_assert_cmpstr(path_of(paths, "disk vda"), ==, "/srv/images/web-01.qcow2");
	g_assert_cmpstr(path_of(paths, "nvram"), ==, "/never/qemu/nvram/web-01_VARS.fd");

	/* The order of the sets decides: plan-wide first gives the other result. */
	sets_of(p, sets);
	v = remap_apply((const struct remap *const[]){ sets[2], sets[0] }, 2, REMAP_PATHS,
			"/data/web-01/data.raw", &err);
	g_assert_no_error(err);
	g_assert_cmpstr(v, ==, "/other/data.raw");
	g_clear_pointer(&v, g_free);
	v = remap_apply(sets, 3, REMAP_PATHS, "/data/web-01/data.raw", &err);
	g_assert_cmpstr(v, ==, "/srv/data/web-01/data.raw");
	plan_free(p);
}

static void
test_domxml__capture_groups_and_partial_match(void)
{
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(DomXml) d = remapped("",
				       "  paths:\n"
				       "    - {from: '^/var/lib/libvirt/images/([^/.]+)\\.qcow2$', to: '/srv/vms/$1/disk.qcow2'}\n"
				       "    - {from: '^/var/lib/libvirt/boot/(?<vm>[^/]+)/', to: '/boot/${vm}/'}\n"
				       "    - {from: 'qemu', to: 'kvm'}\n"
				       "    - {from: '^/data/(x/)?', to: '/d/$1'}\n", changes);
	g_autoptr(GPtrArray) paths = NULL;

	g_assert_nonnull(d);
	if (!d)
		return;
	paths = domxml_paths(d);
	g_assert_cmpstr(path_of(paths, "disk vda"), ==, "/srv/vms/web-01/disk.qcow2");
	g_assert_cmpstr(path_of(paths, "kernel"), ==, "/boot/web-01/vmlinuz");
	g_assert_cmpstr(path_of(paths, "initrd"), ==, "/boot/web-01/initrd.img");
	/* Only the matched part, and only its first occurrence, is replaced:
	 * ".../qemu/web-01-serial0.log" has one "qemu", the nvram path one. */
	g_assert_cmpstr(path_of(paths, "nvram"), ==, "/var/lib/libvirt/kvm/nvram/web-01_VARS.fd");
	g_assert_cmpstr(path_of(paths, "serial 1 log"), ==, "/var/log/libvirt/kvm/web-01-serial1.log");
	/* An optional group that did not take part inserts nothing. */
	g_assert_cmpstr(path_of(paths, "disk vdb"), ==, "/d/web-01/data.raw");
	/* The cdrom matches no rule: kept. */
	g_assert_cmpstr(path_of(paths, "disk sda (cdrom)"), ==,
			"/var/lib/libvirt/images/debian-12.7.0-amd64-netinst.iso");
	g_assert_null(find_change(changes, "disk sda (cdrom)"));
	g_assert_nonnull(find_change(changes, "disk vda"));
	if (find_change(changes, "disk vda")) {
		const struct dom_change *c = find_change(changes, "disk vda");

		g_assert_cmpint(c->kind, ==, REMAP_PATHS);
		g_assert_cmpstr(c->from, ==, "/var/lib/libvirt/images/web-01.qcow2");
		g_assert_cmpstr(c->to, ==, "/srv/vms/web-01/disk.qcow2");
	}
	{
		/* The same rule applied twice to one string: first match only. */
		struct plan *p = plan_with("", "  paths: [{from: 'a', to: 'b'}]\n");
		const struct remap *set = p ? &p->remap : NULL;
		g_autoptr(GError) err = NULL;
		g_autofree char *v = remap_apply(&set, 1, REMAP_PATHS, "/a/a/", &err);
		g_autofree char *none = remap_apply(&set, 1, REMAP_PATHS, "/x/y/", &err);

		g_assert_cmpstr(v, ==, "/b/a/");
		g_assert_null(none);
		g_assert_no_error(err);
		plan_free(p);
	}
}

static void
test_domxml__bridges_and_networks_kept_apart(void)
{
	/* Same pattern for both kinds, different targets: each value gets
	 * only the rules of its own kind, and paths rules touch neither. */
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(DomXml) d = remapped("",
				       "  paths: [{from: '^(qbr-1234|default)$', to: '/p'}]\n"
				       "  bridges: [{from: '^(qbr-1234|default)$', to: 'br0'}]\n"
				       "  networks: [{from: '^(qbr-1234|default)$', to: 'prod'}]\n", changes);
	g_autoptr(GPtrArray) bridges = NULL;
	g_autoptr(GPtrArray) networks = NULL;
	const struct dom_change *cb, *cn;

	g_assert_nonnull(d);
	if (!d)
		return;
	bridges = domxml_bridges(d);
	networks = domxml_networks(d);
	g_assert_cmpuint(bridges->len, ==, 1);
	g_assert_cmpuint(networks->len, ==, 1);
	if (bridges->len && networks->len) {
		g_assert_cmpstr(bridges->pdata[0], ==, "br0");
		g_assert_cmpstr(networks->pdata[0], ==, "prod");
	}
	g_assert_cmpuint(changes->len, ==, 2);
	cb = find_change(changes, "interface 52:54:00:6b:3c:58");
	cn = find_change(changes, "interface 52:54:00:0a:11:22");
	g_assert_nonnull(cb);
	g_assert_nonnull(cn);
	if (cb && cn) {
		g_assert_cmpint(cb->kind, ==, REMAP_BRIDGES);
		g_assert_cmpstr(cb->from, ==, "qbr-1234");
		g_assert_cmpint(cn->kind, ==, REMAP_NETWORKS);
		g_assert_cmpstr(cn->to, ==, "prod");
	}
}

static void
test_domxml__output_reparses_and_diff_is_minimal(void)
{
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(DomXml) d = remapped("",
				       "  paths:\n"
				       "    - {from: '^/var/lib/libvirt/images/', to: '/srv/images/'}\n"
				       "    - {from: '^/var/log/libvirt/qemu/', to: '/srv/log/'}\n"
				       "  bridges: [{from: '^qbr.*$', to: 'br0'}]\n", changes);
	g_autofree char *out = NULL;
	g_autofree char *diff = NULL;
	g_autoptr(DomXml) again = NULL;
	g_autoptr(GPtrArray) paths = NULL;
	g_autoptr(GPtrArray) bridges = NULL;
	g_autoptr(GError) err = NULL;

	g_assert_nonnull(d);
	if (!d)
		return;
	/* vda, cdrom, serial 0 file+log, serial 1 log, console 0 file+log, bridge */
	g_assert_cmpuint(changes->len, ==, 8);
	out = domxml_format(d);
	diff = diff_lines(DOMAIN, out);
	g_test_message("diff:\n%s", diff);
	g_assert_cmpstr(diff, ==,
			"40:       <source file='/var/lib/libvirt/images/web-01.qcow2'/> -> "
			"      <source file='/srv/images/web-01.qcow2'/>\n"
			"58:       <source file='/var/lib/libvirt/images/debian-12.7.0-amd64-netinst.iso'/> -> "
			"      <source file='/srv/images/debian-12.7.0-amd64-netinst.iso'/>\n"
			"71:       <source bridge='qbr-1234'/> -> "
			"      <source bridge='br0'/>\n"
			"82:       <source path='/var/log/libvirt/qemu/web-01-serial0.log'/> -> "
			"      <source path='/srv/log/web-01-serial0.log'/>\n"
			"83:       <log file='/var/log/libvirt/qemu/web-01-serial0.ring' append='off'/> -> "
			"      <log file='/srv/log/web-01-serial0.ring' append='off'/>\n"
			"89:       <log file='/var/log/libvirt/qemu/web-01-serial1.log' append='on'/> -> "
			"      <log file='/srv/log/web-01-serial1.log' append='on'/>\n"
			"95:       <source path='/var/log/libvirt/qemu/web-01-serial0.log'/> -> "
			"      <source path='/srv/log/web-01-serial0.log'/>\n"
			"96:       <log file='/var/log/libvirt/qemu/web-01-serial0.ring' append='off'/> -> "
			"      <log file='/srv/log/web-01-serial0.ring' append='off'/>\n");

	again = domxml_parse(out, &err);
	g_assert_no_error(err);
	g_assert_nonnull(again);
	if (!again)
		return;
	g_assert_cmpstr(domxml_name(again), ==, "web-01");
	paths = domxml_paths(again);
	bridges = domxml_bridges(again);
	g_assert_cmpstr(path_of(paths, "disk vda"), ==, "/srv/images/web-01.qcow2");
	g_assert_cmpstr(path_of(paths, "console 0 log"), ==, "/srv/log/web-01-serial0.ring");
	g_assert_cmpstr(path_of(paths, "disk vdb"), ==, "/data/web-01/data.raw");
	if (bridges->len)
		g_assert_cmpstr(bridges->pdata[0], ==, "br0");
}

static void
test_domxml__console_alias_reported_and_remapped(void)
{
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(DomXml) d = remapped("", "  paths: [{from: 'serial0\\.log$', to: 'ttyS0.log'}]\n", changes);
	const struct dom_change *s, *c;

	g_assert_nonnull(d);
	if (!d)
		return;
	g_assert_cmpuint(changes->len, ==, 2);
	s = find_change(changes, "serial 0 file");
	c = find_change(changes, "console 0 file");
	g_assert_nonnull(s);
	g_assert_nonnull(c);
	if (s && c) {
		g_assert_cmpstr(s->to, ==, "/var/log/libvirt/qemu/web-01-ttyS0.log");
		g_assert_cmpstr(c->to, ==, s->to);
		g_assert_cmpint(c->kind, ==, REMAP_PATHS);
	}
}

static void
test_domxml__escaping_survives(void)
{
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(DomXml) d = remapped("",
				       "  paths: [{from: '^/var/lib/libvirt/', to: \"/srv/R&D's <\\\"x\\\">/\"}]\n",
				       changes);
	g_autofree char *out = NULL;
	g_autoptr(DomXml) again = NULL;
	g_autoptr(GPtrArray) paths = NULL;
	g_autoptr(GError) err = NULL;

	g_assert_nonnull(d);
	if (!d)
		return;
	out = domxml_format(d);
	g_assert_nonnull(strstr(out, "<source file='/srv/R&amp;D&apos;s &lt;&quot;x&quot;&gt;/images/web-01.qcow2'/>"));
	g_assert_nonnull(strstr(out, "<kernel>/srv/R&amp;D's &lt;\"x\"&gt;/boot/web-01/vmlinuz</kernel>"));
	again = domxml_parse(out, &err);
	g_assert_no_error(err);
	g_assert_nonnull(again);
	if (!again)
		return;
	paths = domxml_paths(again);
	g_assert_cmpstr(path_of(paths, "disk vda"), ==, "/srv/R&D's <\"x\">/images/web-01.qcow2");
	g_assert_cmpstr(path_of(paths, "kernel"), ==, "/srv/R&D's <\"x\">/boot/web-01/vmlinuz");
}

static void
test_domxml__escaped_input_values_match(void)
{
	/* Values the input writes with references are still spliced; and
	 * <devices> before <os> (libvirt never does that) still works. */
	const char *xml = "<domain type='kvm'>\n  <name>a&amp;b</name>\n  <uuid>u</uuid>\n"
			  "  <devices>\n    <disk type='file' device='disk'>\n"
			  "      <source file=\"/img/a&#38;b&apos;s.qcow2\"/>\n      <target dev='vda'/>\n"
			  "    </disk>\n  </devices>\n"
			  "  <os>\n    <kernel>/k&amp;1/vmlinuz</kernel>\n  </os>\n</domain>\n";
	struct plan *p = plan_with("", "  paths: [{from: '^/(img|k&1)/', to: '/new/'}]\n");
	const struct remap *set = p ? &p->remap : NULL;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(xml, &err);
	g_autofree char *out = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (d && p) {
		g_assert_cmpstr(domxml_name(d), ==, "a&b");
		g_assert_cmpint(domxml_remap(d, &set, 1, changes, &err), ==, 0);
		g_assert_cmpuint(changes->len, ==, 2);
		out = domxml_format(d);
		g_assert_cmpstr(out, ==,
				"<domain type='kvm'>\n  <name>a&amp;b</name>\n  <uuid>u</uuid>\n"
				"  <devices>\n    <disk type='file' device='disk'>\n"
				"      <source file=\"/new/a&amp;b&apos;s.qcow2\"/>\n      <target dev='vda'/>\n"
				"    </disk>\n  </devices>\n"
				"  <os>\n    <kernel>/new/vmlinuz</kernel>\n  </os>\n</domain>\n");
	}
	plan_free(p);
}

static void
test_domxml__less_common_forms(void)
{
	/* Typed nvram (libvirt >= 8.5), an empty cdrom drive, a floppy, a
	 * disk without type= (libvirt's default is file), interfaces without
	 * <mac> and sharing a bridge. */
	const char *xml = "<domain type='kvm'><name>n</name><uuid>u</uuid>"
			  "<os><nvram type='file'><source file='/nv/n_VARS.fd'/></nvram></os><devices>"
			  "<disk type='file' device='cdrom'><target dev='hdc'/><readonly/></disk>"
			  "<disk type='file' device='floppy'><source file='/f/boot.img'/><target dev='fda'/></disk>"
			  "<disk device='disk'><source file='/i/a.qcow2'/></disk>"
			  "<disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vdz'/></disk>"
			  "<interface type='bridge'><source bridge='br0'/></interface>"
			  "<interface type='bridge'><source bridge='br0'/></interface>"
			  "<interface type='direct'><source dev='eth0' mode='bridge'/></interface>"
			  "</devices></domain>";
	struct plan *p = plan_with("", "  paths: [{from: '^/nv/', to: '/srv/nv/'}]\n"
				   "  bridges: [{from: '^br0$', to: 'br1'}]\n");
	const struct remap *set = p ? &p->remap : NULL;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(xml, &err);
	g_autoptr(GPtrArray) paths = NULL;
	g_autoptr(GPtrArray) bridges = NULL;
	g_autofree char *out = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (!d || !p) {
		plan_free(p);
		return;
	}
	paths = domxml_paths(d);
	bridges = domxml_bridges(d);
	g_assert_cmpuint(paths->len, ==, 3);
	g_assert_cmpstr(path_of(paths, "nvram"), ==, "/nv/n_VARS.fd");
	g_assert_cmpstr(path_of(paths, "disk fda (floppy)"), ==, "/f/boot.img");
	g_assert_cmpstr(path_of(paths, "disk #2"), ==, "/i/a.qcow2");
	g_assert_cmpuint(bridges->len, ==, 1);
	g_assert_cmpint(domxml_remap(d, &set, 1, changes, &err), ==, 0);
	g_assert_cmpuint(changes->len, ==, 3);
	g_assert_nonnull(find_change(changes, "interface 0"));
	g_assert_nonnull(find_change(changes, "interface 1"));
	out = domxml_format(d);
	g_assert_nonnull(strstr(out, "<nvram type='file'><source file='/srv/nv/n_VARS.fd'/></nvram>"));
	g_assert_nonnull(strstr(out, "<interface type='bridge'><source bridge='br1'/></interface>"
				"<interface type='bridge'><source bridge='br1'/></interface>"));
	plan_free(p);
}

/* One disk of each type: a qcow2 file with the backing chain libvirt
 * writes, an empty cdrom drive, an ISO, a shared block device, rbd, a
 * pool volume, a directory, NVMe, and a disk with no type, device or
 * target (libvirt's defaults: file, disk). */
#define ALL_DISKS \
	"<domain type='kvm'>\n" \
	"  <name>mix</name>\n" \
	"  <uuid>0b7e4c1a-52d3-4f0e-8a61-3c9d2e7f1a05</uuid>\n" \
	"  <devices>\n" \
	"    <disk type='file' device='disk'>\n" \
	"      <driver name='qemu' type='qcow2'/>\n" \
	"      <source file='/var/lib/libvirt/images/mix.qcow2'/>\n" \
	"      <backingStore type='file'>\n" \
	"        <format type='qcow2'/>\n" \
	"        <source file='/var/lib/libvirt/images/base.qcow2'/>\n" \
	"        <backingStore/>\n" \
	"      </backingStore>\n" \
	"      <target dev='vda' bus='virtio'/>\n" \
	"    </disk>\n" \
	"    <disk type='file' device='cdrom'>\n" \
	"      <driver name='qemu' type='raw'/>\n" \
	"      <target dev='hdc' bus='ide'/>\n" \
	"      <readonly/>\n" \
	"    </disk>\n" \
	"    <disk type='file' device='cdrom'>\n" \
	"      <driver name='qemu' type='raw'/>\n" \
	"      <source file='/var/lib/libvirt/images/install.iso'/>\n" \
	"      <target dev='sda' bus='sata'/>\n" \
	"      <readonly/>\n" \
	"    </disk>\n" \
	"    <disk type='block' device='disk'>\n" \
	"      <driver name='qemu' type='raw' cache='none' io='native'/>\n" \
	"      <source dev='/dev/sdb'/>\n" \
	"      <backingStore/>\n" \
	"      <target dev='vdb' bus='virtio'/>\n" \
	"      <shareable/>\n" \
	"    </disk>\n" \
	"    <disk type='network' device='disk'>\n" \
	"      <driver name='qemu' type='raw'/>\n" \
	"      <auth username='libvirt'>\n" \
	"        <secret type='ceph' uuid='2a5c1f0e-9d47-4b3a-8e16-7f0c3b9d2e41'/>\n" \
	"      </auth>\n" \
	"      <source protocol='rbd' name='vms/mix-data'>\n" \
	"        <host name='mon1.example' port='6789'/>\n" \
	"        <host name='mon2.example' port='6789'/>\n" \
	"      </source>\n" \
	"      <target dev='vdc' bus='virtio'/>\n" \
	"    </disk>\n" \
	"    <disk type='volume' device='disk'>\n" \
	"      <driver name='qemu' type='qcow2'/>\n" \
	"      <source pool='default' volume='v1'/>\n" \
	"      <target dev='vdd' bus='virtio'/>\n" \
	"    </disk>\n" \
	"    <disk type='dir' device='floppy'>\n" \
	"      <driver name='qemu' type='fat'/>\n" \
	"      <source dir='/srv/floppy'/>\n" \
	"      <target dev='fda' bus='fdc'/>\n" \
	"    </disk>\n" \
	"    <disk type='nvme' device='disk'>\n" \
	"      <driver name='qemu' type='raw'/>\n" \
	"      <source type='pci' managed='yes' namespace='1'>\n" \
	"        <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n" \
	"      </source>\n" \
	"      <target dev='vde' bus='virtio'/>\n" \
	"    </disk>\n" \
	"    <controller type='sata' index='0'/>\n" \
	"    <disk>\n" \
	"      <source file='/var/lib/libvirt/images/extra.img'/>\n" \
	"    </disk>\n" \
	"  </devices>\n" \
	"</domain>\n"

static const struct dom_disk *
find_disk(GPtrArray *disks, const char *what)
{
	for (guint i = 0; i < disks->len; i++) {
		const struct dom_disk *dd = disks->pdata[i];

		if (!strcmp(dd->what, what))
			return dd;
	}
	return NULL;
}

static void
test_domxml__disks_listed(void)
{
	static const struct {
		enum dom_disk_type type;
		const char *type_name, *what, *target, *device, *source, *format;
		gboolean readonly, shareable, backing_store;
	} want[] = {
		{ DOM_DISK_FILE, "file", "disk vda", "vda", "disk", "/var/lib/libvirt/images/mix.qcow2", "qcow2",
		  FALSE, FALSE, TRUE },
		{ DOM_DISK_FILE, "file", "disk hdc (cdrom)", "hdc", "cdrom", NULL, "raw", TRUE, FALSE, FALSE },
		{ DOM_DISK_FILE, "file", "disk sda (cdrom)", "sda", "cdrom", "/var/lib/libvirt/images/install.iso",
		  "raw", TRUE, FALSE, FALSE },
		{ DOM_DISK_BLOCK, "block", "disk vdb", "vdb", "disk", "/dev/sdb", "raw", FALSE, TRUE, FALSE },
		{ DOM_DISK_NETWORK, "network", "disk vdc", "vdc", "disk", "rbd:vms/mix-data on mon1.example", "raw",
		  FALSE, FALSE, FALSE },
		{ DOM_DISK_VOLUME, "volume", "disk vdd", "vdd", "disk", "default/v1", "qcow2", FALSE, FALSE, FALSE },
		{ DOM_DISK_DIR, "dir", "disk fda (floppy)", "fda", "floppy", "/srv/floppy", "fat", FALSE, FALSE, FALSE },
		{ DOM_DISK_OTHER, "nvme", "disk vde", "vde", "disk", NULL, "raw", FALSE, FALSE, FALSE },
		{ DOM_DISK_FILE, "file", "disk #8", NULL, "disk", "/var/lib/libvirt/images/extra.img", NULL,
		  FALSE, FALSE, FALSE },
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(ALL_DISKS, &err);
	g_autoptr(GPtrArray) disks = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (!d)
		return;
	disks = domxml_disks(d);
	g_assert_cmpuint(disks->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < MIN(disks->len, G_N_ELEMENTS(want)); i++) {
		const struct dom_disk *dd = disks->pdata[i];

		g_test_message("disk %u: %s %s %s", i, dd->what, dd->type_name, dd->source);
		g_assert_cmpint(dd->type, ==, want[i].type);
		g_assert_cmpstr(dd->type_name, ==, want[i].type_name);
		g_assert_cmpstr(dd->what, ==, want[i].what);
		g_assert_cmpstr(dd->target, ==, want[i].target);
		g_assert_cmpstr(dd->device, ==, want[i].device);
		g_assert_cmpstr(dd->source, ==, want[i].source);
		g_assert_cmpstr(dd->format, ==, want[i].format);
		g_assert_cmpint(dd->readonly, ==, want[i].readonly);
		g_assert_cmpint(dd->shareable, ==, want[i].shareable);
		g_assert_cmpint(dd->backing_store, ==, want[i].backing_store);
	}
	dom_disk_free(NULL);
}

static void
test_domxml__disks_follow_remap(void)
{
	/* The rule matches every source, but only file and directory disks
	 * (and the backing file) are remapped; "&" checks that the value is
	 * read back literally. */
	struct plan *p = plan_with("", "  paths: [{from: '^/(var/lib/libvirt|dev|srv)/', to: '/new/a&b/'}]\n");
	const struct remap *set = p ? &p->remap : NULL;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(ALL_DISKS, &err);
	g_autoptr(GPtrArray) disks = NULL;
	const struct dom_disk *dd;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (!d || !p) {
		plan_free(p);
		return;
	}
	g_assert_cmpint(domxml_remap(d, &set, 1, changes, &err), ==, 0);
	g_assert_no_error(err);
	/* vda, its backing file, the ISO, the directory, the disk without type */
	g_assert_cmpuint(changes->len, ==, 5);
	g_assert_nonnull(find_change(changes, "disk vda backing 1"));
	disks = domxml_disks(d);
	g_assert_cmpuint(disks->len, ==, 9);
	dd = find_disk(disks, "disk vda");
	g_assert_cmpstr(dd ? dd->source : "(not listed)", ==, "/new/a&b/images/mix.qcow2");
	dd = find_disk(disks, "disk sda (cdrom)");
	g_assert_cmpstr(dd ? dd->source : "(not listed)", ==, "/new/a&b/images/install.iso");
	dd = find_disk(disks, "disk #8");
	g_assert_cmpstr(dd ? dd->source : "(not listed)", ==, "/new/a&b/images/extra.img");
	dd = find_disk(disks, "disk vdb");
	g_assert_cmpstr(dd ? dd->source : "(not listed)", ==, "/dev/sdb");
	dd = find_disk(disks, "disk fda (floppy)");
	g_assert_cmpstr(dd ? dd->source : "(not listed)", ==, "/new/a&b/floppy");
	dd = find_disk(disks, "disk hdc (cdrom)");
	g_assert_nonnull(dd);
	if (dd)
		g_assert_null(dd->source);
	plan_free(p);
}

/* Every disk domxml_paths() lists is a file (or dir) disk of
 * domxml_disks() with the same what and source, before and after a
 * remap; the others are the disks it leaves out. */
static void
check_disks_match_paths(const struct domxml *d, guint n_file_paths)
{
	g_autoptr(GPtrArray) paths = domxml_paths(d);
	g_autoptr(GPtrArray) disks = domxml_disks(d);
	guint matched = 0;

	for (guint i = 0; i < paths->len; i++) {
		const struct dom_path *dp = paths->pdata[i];
		const struct dom_disk *dd;

		if (dp->kind != DOM_PATH_DISK && dp->kind != DOM_PATH_DISK_DIR)
			continue;
		dd = find_disk(disks, dp->what);
		g_test_message("path %s -> disk %s", dp->what, dd ? dd->source : "(not listed)");
		g_assert_nonnull(dd);
		if (!dd)
			continue;
		g_assert_cmpint(dd->type, ==, dp->kind == DOM_PATH_DISK ? DOM_DISK_FILE : DOM_DISK_DIR);
		g_assert_cmpstr(dd->source, ==, dp->path);
		g_assert_cmpint(dd->readonly, ==, dp->readonly);
		matched++;
	}
	g_assert_cmpuint(matched, ==, n_file_paths);
}

static void
test_domxml__disks_match_paths(void)
{
	static const char *const xmls[] = { DOMAIN, ALL_DISKS };
	static const guint n_file_paths[] = { 3, 4 };	/* ALL_DISKS: and the floppy dir */
	static const char *const block_what[] = { "disk vdc", "disk vdb" };
	static const char *const block_source[] = { "/data/web-01/swap", "/dev/sdb" };
	struct plan *p = plan_with("", "  paths: [{from: '^/(var/lib/libvirt|data|dev)/', to: '/moved/'}]\n");
	const struct remap *set = p ? &p->remap : NULL;

	for (guint i = 0; i < G_N_ELEMENTS(xmls); i++) {
		g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
		g_autoptr(GError) err = NULL;
		g_autoptr(DomXml) d = domxml_parse(xmls[i], &err);
		g_autoptr(GPtrArray) disks = NULL;
		const struct dom_disk *dd;

		g_assert_no_error(err);
		g_assert_nonnull(d);
		if (!d || !p)
			continue;
		check_disks_match_paths(d, n_file_paths[i]);
		g_assert_cmpint(domxml_remap(d, &set, 1, changes, &err), ==, 0);
		g_assert_cmpuint(changes->len, >=, n_file_paths[i]);
		check_disks_match_paths(d, n_file_paths[i]);
		disks = domxml_disks(d);
		dd = find_disk(disks, block_what[i]);
		g_assert_nonnull(dd);
		if (dd) {
			g_assert_cmpint(dd->type, ==, DOM_DISK_BLOCK);
			g_assert_cmpstr(dd->source, ==, block_source[i]);	/* the rule matches it */
		}
	}
	plan_free(p);
}

static void
test_domxml__disks_edge_sources(void)
{
	/* Sources the header spells out: a unix-socket <host> has no name,
	 * missing network and volume parts are left empty, and a <source>
	 * without the attribute (or with it empty) is no source. */
	static const struct { const char *what, *device, *source; } want[] = {
		{ "disk vda", "disk", "nbd:" },
		{ "disk vdb", "disk", "gluster:vol/img on g1" },
		{ "disk hdc (cdrom)", "cdrom", NULL },
		{ "disk sdc (lun)", "lun", NULL },
		{ "disk #4", "disk", "p/" },
		{ "disk hdd (cdrom)", "cdrom", NULL },
	};
	const char *xml = "<domain type='kvm'><name>n</name><uuid>u</uuid><devices>"
			  "<disk type='network'><source protocol='nbd'>"
			  "<host transport='unix' socket='/run/nbd.sock'/></source><target dev='vda'/></disk>"
			  "<disk type='network'><source protocol='gluster' name='vol/img'>"
			  "<host transport='unix' socket='/run/glusterd.socket'/><host name='g1'/></source>"
			  "<target dev='vdb'/></disk>"
			  "<disk type='network' device='cdrom'><target dev='hdc'/></disk>"
			  "<disk type='block' device='lun'><source dev=''/><target dev='sdc'/></disk>"
			  "<disk type='volume'><source pool='p'/></disk>"
			  "<disk type='file' device='cdrom'><source startupPolicy='optional'/>"
			  "<target dev='hdd'/></disk>"
			  "</devices></domain>";
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(xml, &err);
	g_autoptr(GPtrArray) disks = NULL;
	g_autoptr(GPtrArray) paths = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (!d)
		return;
	disks = domxml_disks(d);
	paths = domxml_paths(d);
	g_assert_cmpuint(disks->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < MIN(disks->len, G_N_ELEMENTS(want)); i++) {
		const struct dom_disk *dd = disks->pdata[i];

		g_assert_cmpstr(dd->what, ==, want[i].what);
		g_assert_cmpstr(dd->device, ==, want[i].device);
		g_assert_cmpstr(dd->source, ==, want[i].source);
	}
	g_assert_cmpuint(paths->len, ==, 0);	/* the file cdrom has no path either */
}

static void
test_domxml__fallback_serialises_tree(void)
{
	/* A kernel path in CDATA cannot be spliced: the tree is written. */
	const char *xml = "<domain type='kvm'>\n  <name>n</name>\n  <uuid>u</uuid>\n"
			  "  <os>\n    <kernel><![CDATA[/boot/vmlinuz]]></kernel>\n  </os>\n</domain>\n";
	struct plan *p = plan_with("", "  paths: [{from: '^/boot/', to: '/srv/a&b/'}]\n");
	const struct remap *set = p ? &p->remap : NULL;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(xml, &err);
	g_autoptr(DomXml) again = NULL;
	g_autofree char *out = NULL;
	g_autoptr(GPtrArray) paths = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(d);
	if (d && p) {
		g_assert_cmpint(domxml_remap(d, &set, 1, changes, &err), ==, 0);
		out = domxml_format(d);
		g_test_message("fallback output:\n%s", out);
		g_assert_cmpstr(out, ==,
				"<domain type=\"kvm\">\n  <name>n</name>\n  <uuid>u</uuid>\n"
				"  <os>\n    <kernel>/srv/a&amp;b/vmlinuz</kernel>\n  </os>\n</domain>\n");
		again = domxml_parse(out, &err);
		g_assert_no_error(err);
		if (again) {
			paths = domxml_paths(again);
			g_assert_cmpstr(path_of(paths, "kernel"), ==, "/srv/a&b/vmlinuz");
		}
	}
	plan_free(p);
}

static void
test_domxml__name_and_uuid_required(void)
{
	static const struct { const char *xml, *needle; int code; } cases[] = {
		{ "<domain type='kvm'><uuid>u</uuid></domain>", "<name>", DOMXML_ERROR_INVALID },
		{ "<domain type='kvm'><name>n</name></domain>", "<uuid>", DOMXML_ERROR_INVALID },
		{ "<domain type='kvm'><name> </name><uuid>u</uuid></domain>", "<name>", DOMXML_ERROR_INVALID },
		{ "<network><name>n</name><uuid>u</uuid></network>", "<network>", DOMXML_ERROR_INVALID },
		{ "<domain><name>n</name><uuid>u</uuid><memory unit='KiB'>lots</memory></domain>",
		  "'lots'", DOMXML_ERROR_INVALID },
		{ "<domain><name>n</name><uuid>u</uuid><memory unit='Kx'>1</memory></domain>",
		  "'Kx'", DOMXML_ERROR_INVALID },
		{ "<!DOCTYPE domain [<!ENTITY p \"/etc/shadow\">]>\n"
		  "<domain><name>n</name><uuid>u</uuid></domain>", "DOCTYPE", DOMXML_ERROR_INVALID },
		{ "", "empty", DOMXML_ERROR_PARSE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) err = NULL;
		g_autoptr(DomXml) d = domxml_parse(cases[i].xml, &err);

		g_assert_null(d);
		g_assert_error(err, DOMXML_ERROR, cases[i].code);
		if (err) {
			g_test_message("%s", err->message);
			g_assert_nonnull(strstr(err->message, cases[i].needle));
		}
	}
}

static void
test_domxml__malformed_names_line(void)
{
	const char *xml = "<domain type='kvm'>\n  <name>n</name>\n  <uuid>u</uuid>\n"
			  "  <devices>\n    <disk type='file'>\n  </devices>\n</domain>\n";
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(xml, &err);

	g_assert_null(d);
	g_assert_error(err, DOMXML_ERROR, DOMXML_ERROR_PARSE);
	if (err) {
		g_test_message("%s", err->message);
		g_assert_nonnull(strstr(err->message, "line 6,"));
		g_assert_null(strchr(err->message, '\n'));
	}
}

static void
test_domxml__remap_errors_change_nothing(void)
{
	/* A hand-built rule whose replacement names a group the pattern
	 * lacks: pcre2_substitute() fails.  The plan checker rejects such a
	 * rule, so this is the executor's last line of defence. */
	struct remap set;
	const struct remap *sets[] = { &set };
	struct remap_rule ok = { .from = "^/var/lib/libvirt/images/", .to = "/srv/" };
	struct remap_rule bad = { .from = "^/data/(web)", .to = "/d/$2" };
	int ec;
	PCRE2_SIZE eo;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) d = domxml_parse(DOMAIN, &err);
	g_autofree char *out = NULL;
	g_autofree char *v = NULL;

	g_assert_nonnull(d);
	ok.re = pcre2_compile((PCRE2_SPTR)ok.from, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
	bad.re = pcre2_compile((PCRE2_SPTR)bad.from, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
	for (guint k = 0; k < REMAP__COUNT; k++)
		set.rules[k] = g_ptr_array_new();
	g_ptr_array_add(set.rules[REMAP_PATHS], &ok);
	g_ptr_array_add(set.rules[REMAP_PATHS], &bad);

	if (d) {
		g_assert_cmpint(domxml_remap(d, sets, 1, changes, &err), ==, -1);
		g_assert_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP);
		if (err) {
			g_test_message("%s", err->message);
			g_assert_true(g_str_has_prefix(err->message, "disk vdb: "));
		}
		g_assert_cmpuint(changes->len, ==, 0);
		out = domxml_format(d);
		g_assert_cmpstr(out, ==, DOMAIN);	/* vda, before vdb, kept too */
		g_clear_error(&err);
	}
	v = remap_apply(sets, 1, REMAP_PATHS, "/data/web-01", &err);
	g_assert_null(v);
	g_assert_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP);
	g_clear_error(&err);

	/* A value a rule makes relative, or empty, is refused too. */
	g_ptr_array_set_size(set.rules[REMAP_PATHS], 0);
	ok.to = "srv/";
	g_ptr_array_add(set.rules[REMAP_PATHS], &ok);
	if (d) {
		g_assert_cmpint(domxml_remap(d, sets, 1, changes, &err), ==, -1);
		g_assert_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP);
		if (err)
			g_assert_nonnull(strstr(err->message, "not absolute"));
		g_assert_cmpuint(changes->len, ==, 0);
		g_clear_error(&err);
	}
	g_ptr_array_set_size(set.rules[REMAP_PATHS], 0);
	bad.to = "";
	bad.from = "^qbr-1234$";
	pcre2_code_free(bad.re);
	bad.re = pcre2_compile((PCRE2_SPTR)bad.from, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
	g_ptr_array_add(set.rules[REMAP_BRIDGES], &bad);
	if (d) {
		g_assert_cmpint(domxml_remap(d, sets, 1, changes, &err), ==, -1);
		g_assert_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP);
		if (err)
			g_assert_nonnull(strstr(err->message, "empty"));
		g_assert_cmpuint(changes->len, ==, 0);
	}
	for (guint k = 0; k < REMAP__COUNT; k++)
		g_ptr_array_unref(set.rules[k]);
	pcre2_code_free(ok.re);
	pcre2_code_free(bad.re);
}

/* ---- a corpus of real-world domain XMLs, in tests/unit/domxml/ ---- */

struct want_path {
	enum dom_path_kind kind;
	const char *what;
	const char *flags;	/* those set, in the order flags_of() writes them */
	const char *path;
	const char *remapped;	/* NULL: the case's rules leave it */
	guint depth;
	const char *format;
	int disk_index;
};

/* a path that is not a backing layer, one that is, a file disk */
#define P(kind, what, flags, path, to) { kind, what, flags, path, to, 0, NULL, -1 }
#define B(what, path, to, depth, format, disk) \
	{ DOM_PATH_BACKING, what, "backing", path, to, depth, format, disk }
#define D(what, flags, path, to, format) { DOM_PATH_DISK, what, flags, path, to, 0, format, -1 }

struct corpus_case {
	const char *file;
	const char *rules;	/* plan-wide paths rules, a YAML flow list */
	guint changed_lines;	/* lines of the output that differ from the input */
	struct want_path paths[10];	/* up to the first without what */
};

#define NOVA "/var/lib/nova/instances/8f2b6c1d-4e3a-49f7-b2d8-0c5e9a7f1b34"
#define NOVA_BASE "_base/3c9d1f4a7e2b8c6d0a5f9e1b3d7c2a8f4e6b0d19"
#define IMG "/var/lib/libvirt/images/"

static const struct corpus_case corpus[] = {
	{ "ovmf.xml", "[{from: '^/usr/share/OVMF/', to: '/usr/share/edk2/ovmf/'},"
		      " {from: '^/var/lib/libvirt/qemu/nvram/', to: '/srv/nvram/'}]", 2, {
		P(DOM_PATH_LOADER, "loader", "readonly system", "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
		  "/usr/share/edk2/ovmf/OVMF_CODE_4M.ms.fd"),
		P(DOM_PATH_NVRAM_TEMPLATE, "nvram template", "system", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
		  "/usr/share/edk2/ovmf/OVMF_VARS_4M.ms.fd"),
		P(DOM_PATH_NVRAM, "nvram", "copy", "/var/lib/libvirt/qemu/nvram/uefi-01_VARS.fd",
		  "/srv/nvram/uefi-01_VARS.fd"),
		D("disk vda", "copy", IMG "uefi-01.qcow2", NULL, "qcow2"),
	} },
	/* libvirt 9's typed nvram; the TPM has no path of ours */
	{ "tpm.xml", "[{from: '^/usr/share/OVMF/OVMF_(CODE|VARS)_4M\\.ms\\.fd$',"
		     " to: '/usr/share/edk2/ovmf/OVMF_$1.secboot.fd'},"
		     " {from: '^/var/lib/libvirt/', to: '/srv/libvirt/'}]", 4, {
		P(DOM_PATH_LOADER, "loader", "readonly system", "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
		  "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd"),
		P(DOM_PATH_NVRAM_TEMPLATE, "nvram template", "system", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
		  "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"),
		P(DOM_PATH_NVRAM, "nvram", "copy", "/var/lib/libvirt/qemu/nvram/win11_VARS.fd",
		  "/srv/libvirt/qemu/nvram/win11_VARS.fd"),
		D("disk sda", "copy", IMG "win11.raw", "/srv/libvirt/images/win11.raw", "raw"),
	} },
	{ "nova.xml", "[{from: '^/var/lib/nova/instances/', to: '/srv/vms/'}]", 5, {
		D("disk vda", "copy", NOVA "/disk", "/srv/vms/8f2b6c1d-4e3a-49f7-b2d8-0c5e9a7f1b34/disk", "qcow2"),
		B("disk vda backing 1", "/var/lib/nova/instances/" NOVA_BASE, "/srv/vms/" NOVA_BASE, 1, "raw", 0),
		D("disk sda (cdrom)", "copy readonly", NOVA "/disk.config",
		  "/srv/vms/8f2b6c1d-4e3a-49f7-b2d8-0c5e9a7f1b34/disk.config", "raw"),
		P(DOM_PATH_SERIAL_LOG, "serial 0 log", "log", NOVA "/console.log",
		  "/srv/vms/8f2b6c1d-4e3a-49f7-b2d8-0c5e9a7f1b34/console.log"),
		P(DOM_PATH_CONSOLE_LOG, "console 0 log", "log", NOVA "/console.log",
		  "/srv/vms/8f2b6c1d-4e3a-49f7-b2d8-0c5e9a7f1b34/console.log"),
	} },
	/* three layers below vda; below vdb a block layer (not listed) and a
	 * file at depth 2; vdc is a block disk: neither it nor its chain */
	{ "chain.xml", "[{from: '^/var/lib/libvirt/images/', to: '/srv/images/'}]", 6, {
		D("disk vda", "copy", IMG "app-01.snap2.qcow2", "/srv/images/app-01.snap2.qcow2", "qcow2"),
		B("disk vda backing 1", IMG "app-01.snap1.qcow2", "/srv/images/app-01.snap1.qcow2", 1, "qcow2", 0),
		B("disk vda backing 2", IMG "app-01.qcow2", "/srv/images/app-01.qcow2", 2, "qcow2", 0),
		B("disk vda backing 3", IMG "base/debian-12-genericcloud.raw",
		  "/srv/images/base/debian-12-genericcloud.raw", 3, "raw", 0),
		D("disk vdb", "copy", IMG "app-01-data.qcow2", "/srv/images/app-01-data.qcow2", "qcow2"),
		B("disk vdb backing 2", IMG "base/app-data-seed.img", "/srv/images/base/app-data-seed.img", 2, NULL, 4),
		P(DOM_PATH_SERIAL_LOG, "serial 0 file", "log", "/var/log/libvirt/qemu/app-01-serial.log", NULL),
	} },
	/* virtiofs, 9p, a default-typed share; not the external daemon's socket */
	{ "virtiofs.xml", "[{from: '^/srv/shares/', to: '/export/shares/'},"
			  " {from: '^/var/lib/libvirt/images/', to: '/srv/images/'}]", 4, {
		D("disk vda", "copy", IMG "dev-box.qcow2", "/srv/images/dev-box.qcow2", "qcow2"),
		P(DOM_PATH_FILESYSTEM, "filesystem projects", "dir", "/srv/shares/projects", "/export/shares/projects"),
		P(DOM_PATH_FILESYSTEM, "filesystem isos", "readonly dir", "/srv/shares/isos", "/export/shares/isos"),
		P(DOM_PATH_FILESYSTEM, "filesystem home", "dir", "/srv/shares/home", "/export/shares/home"),
	} },
	/* mount, bind and a loop-mounted file; not block or ram */
	{ "lxc.xml", "[{from: '^/srv/', to: '/data/'}]", 3, {
		P(DOM_PATH_FILESYSTEM, "filesystem /", "dir", "/srv/containers/ct-web/rootfs",
		  "/data/containers/ct-web/rootfs"),
		P(DOM_PATH_FILESYSTEM, "filesystem /var/www", "readonly dir", "/srv/www", "/data/www"),
		P(DOM_PATH_FILESYSTEM, "filesystem /scratch", "", "/srv/containers/ct-web/scratch.img",
		  "/data/containers/ct-web/scratch.img"),
	} },
	{ "nvdimm.xml", "[{from: '^/var/lib/libvirt/nvdimm/', to: '/srv/pmem/'}]", 2, {
		D("disk vda", "copy", IMG "pmem-01.qcow2", NULL, "qcow2"),
		P(DOM_PATH_NVDIMM, "memory #1 (nvdimm)", "copy", "/var/lib/libvirt/nvdimm/pmem-01-nvdimm0.img",
		  "/srv/pmem/pmem-01-nvdimm0.img"),
		P(DOM_PATH_NVDIMM, "memory #2 (virtio-pmem)", "copy readonly", "/var/lib/libvirt/nvdimm/pmem-01-virtio.img",
		  "/srv/pmem/pmem-01-virtio.img"),
	} },
	{ "arm-dtb.xml", "[{from: '^/var/lib/libvirt/boot/arm-01/', to: '/boot/guests/arm-01/'}]", 3, {
		P(DOM_PATH_KERNEL, "kernel", "system", "/var/lib/libvirt/boot/arm-01/Image", "/boot/guests/arm-01/Image"),
		P(DOM_PATH_INITRD, "initrd", "system", "/var/lib/libvirt/boot/arm-01/initrd.img",
		  "/boot/guests/arm-01/initrd.img"),
		P(DOM_PATH_DTB, "dtb", "system", "/var/lib/libvirt/boot/arm-01/virt-gicv3.dtb",
		  "/boot/guests/arm-01/virt-gicv3.dtb"),
		D("disk vda", "copy", IMG "arm-01.qcow2", NULL, "qcow2"),
	} },
	{ "slic.xml", "[{from: '^/var/lib/libvirt/acpi/', to: '/etc/libvirt/acpi/'}]", 1, {
		P(DOM_PATH_ACPI_TABLE, "acpi table slic", "system", "/var/lib/libvirt/acpi/win2019-slic.dat",
		  "/etc/libvirt/acpi/win2019-slic.dat"),
		D("disk hda", "copy", IMG "win2019.qcow2", NULL, "qcow2"),
	} },
	{ "disk-dir.xml", "[{from: '^/srv/legacy/', to: '/srv/vms/legacy/'}]", 3, {
		P(DOM_PATH_DISK_DIR, "disk fda (floppy)", "dir", "/srv/legacy/floppy-tools", "/srv/vms/legacy/floppy-tools"),
		D("disk hda", "copy", "/srv/legacy/legacy-01.img", "/srv/vms/legacy/legacy-01.img", "raw"),
		P(DOM_PATH_DISK_DIR, "disk hdb", "readonly dir", "/srv/legacy/drivers", "/srv/vms/legacy/drivers"),
	} },
};

static char *
flags_of(const struct dom_path *dp)
{
	const struct { gboolean on; const char *name; } f[] = {
		{ dp->copy, "copy" }, { dp->readonly, "readonly" }, { dp->log, "log" },
		{ dp->system, "system" }, { dp->dir, "dir" }, { dp->backing, "backing" },
	};
	GString *out = g_string_new(NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(f); i++)
		if (f[i].on)
			g_string_append_printf(out, "%s%s", out->len ? " " : "", f[i].name);
	return g_string_free(out, FALSE);
}

static guint
corpus_len(const struct corpus_case *c)
{
	guint n = 0;

	while (n < G_N_ELEMENTS(c->paths) && c->paths[n].what)
		n++;
	return n;
}

/* @paths is exactly what @c lists: before the remap, or after it. */
static void
check_corpus_paths(GPtrArray *paths, const struct corpus_case *c, gboolean remapped)
{
	guint n = corpus_len(c);

	g_assert_cmpuint(paths->len, ==, n);
	for (guint i = 0; i < MIN(paths->len, n); i++) {
		const struct dom_path *dp = paths->pdata[i];
		const struct want_path *w = &c->paths[i];
		g_autofree char *flags = flags_of(dp);

		g_test_message("%s path %u: %s [%s] %s", c->file, i, dp->what, flags, dp->path);
		g_assert_cmpint(dp->kind, ==, w->kind);
		g_assert_cmpstr(dp->what, ==, w->what);
		g_assert_cmpstr(flags, ==, w->flags);
		g_assert_cmpstr(dp->path, ==, remapped && w->remapped ? w->remapped : w->path);
		g_assert_cmpuint(dp->depth, ==, w->depth);
		g_assert_cmpstr(dp->format, ==, w->format);
		g_assert_cmpint(dp->disk_index, ==, w->disk_index);
	}
}

/* The source's and the target's listings pair by index. */
static void
check_corpus_pairs(GPtrArray *s, GPtrArray *t)
{
	g_assert_cmpuint(s->len, ==, t->len);
	for (guint i = 0; i < MIN(s->len, t->len); i++) {
		const struct dom_path *a = s->pdata[i], *b = t->pdata[i];
		g_autofree char *fa = flags_of(a), *fb = flags_of(b);

		g_assert_cmpint(a->kind, ==, b->kind);
		g_assert_cmpstr(a->what, ==, b->what);
		g_assert_cmpstr(fa, ==, fb);
		g_assert_cmpuint(a->depth, ==, b->depth);
		g_assert_cmpstr(a->format, ==, b->format);
		g_assert_cmpint(a->disk_index, ==, b->disk_index);
	}
}

/* @out is @in with each changed value replaced where it stands (an
 * attribute in single quotes or an element's text), and nothing else:
 * @n_lines of its lines differ. */
static void
check_only_values_changed(const char *in, const char *out, GPtrArray *changes, guint n_lines)
{
	g_auto(GStrv) li = g_strsplit(in, "\n", -1);
	g_auto(GStrv) lo = g_strsplit(out, "\n", -1);
	guint ni = g_strv_length(li), no = g_strv_length(lo), differ = 0;

	g_assert_cmpuint(ni, ==, no);
	for (guint i = 0; i < MIN(ni, no); i++) {
		g_autoptr(GString) want = g_string_new(li[i]);

		for (guint k = 0; k < changes->len; k++) {
			const struct dom_change *ch = changes->pdata[k];
			g_autofree char *fa = g_strdup_printf("'%s'", ch->from), *ta = g_strdup_printf("'%s'", ch->to);
			g_autofree char *ft = g_strdup_printf(">%s<", ch->from), *tt = g_strdup_printf(">%s<", ch->to);

			g_string_replace(want, fa, ta, 0);
			g_string_replace(want, ft, tt, 0);
		}
		g_assert_cmpstr(lo[i], ==, want->str);
		differ += strcmp(li[i], lo[i]) != 0;
	}
	g_assert_cmpuint(differ, ==, n_lines);
}

static char *
corpus_text(const char *file)
{
	const char *srcdir = g_getenv("G_TEST_SRCDIR");
	g_autofree char *dir = srcdir ? g_strdup(srcdir) : g_path_get_dirname(__FILE__);
	g_autofree char *path = g_build_filename(dir, "domxml", file, NULL);
	g_autoptr(GError) err = NULL;
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, &err))
		g_test_message("cannot read the fixture (run from the top of the tree, or set G_TEST_SRCDIR "
			       "to tests/unit): %s", err->message);
	g_assert_no_error(err);
	return text;
}

static void
test_domxml__corpus(gconstpointer data)
{
	const struct corpus_case *c = data;
	g_autofree char *text = corpus_text(c->file);
	g_autofree char *rules = g_strdup_printf("  paths: %s\n", c->rules);
	struct plan *p = plan_with("", rules);
	const struct remap *set = p ? &p->remap : NULL;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dom_change_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(DomXml) s = text ? domxml_parse(text, &err) : NULL;
	g_autoptr(DomXml) t = text ? domxml_parse(text, &err) : NULL;
	g_autoptr(DomXml) again = NULL;
	g_autoptr(GPtrArray) sp = NULL, tp = NULL, ap = NULL;
	g_autofree char *same = NULL, *out = NULL;
	guint n_remapped = 0;

	g_assert_no_error(err);
	if (!s || !t || !p) {
		plan_free(p);
		return;
	}
	same = domxml_format(s);
	g_assert_cmpstr(same, ==, text);
	sp = domxml_paths(s);
	check_corpus_paths(sp, c, FALSE);
	g_assert_cmpint(domxml_remap(t, &set, 1, changes, &err), ==, 0);
	g_assert_no_error(err);
	for (guint i = 0; i < corpus_len(c); i++)
		n_remapped += c->paths[i].remapped != NULL;
	g_assert_cmpuint(changes->len, ==, n_remapped);
	tp = domxml_paths(t);
	check_corpus_paths(tp, c, TRUE);
	check_corpus_pairs(sp, tp);
	out = domxml_format(t);
	check_only_values_changed(text, out, changes, c->changed_lines);
	/* what the target gets reads back as the remapped listing */
	again = domxml_parse(out, &err);
	g_assert_no_error(err);
	if (again) {
		ap = domxml_paths(again);
		check_corpus_paths(ap, c, TRUE);
	}
	plan_free(p);
}

/* <cputune> comes before <cpu> in libvirt's XML: it must not hide it */
static void
test_domxml__cpu_element(void)
{
	const char *tuned = "<domain><cputune><shares>1024</shares></cputune>"
			    "<cpu mode='custom' match='exact'><model>Skylake</model></cpu></domain>";
	const char *empty = "<domain><cpu mode='host-model'/></domain>";
	g_autofree char *a = domxml_cpu_element(tuned), *b = domxml_cpu_element(empty);
	g_autofree char *c = domxml_cpu_element("<domain><cputune/></domain>");

	g_assert_cmpstr(a, ==, "<cpu mode='custom' match='exact'><model>Skylake</model></cpu>");
	g_assert_cmpstr(b, ==, "<cpu mode='host-model'/>");
	g_assert_null(c);
}

static void
test_domxml__virt_type(void)
{
	g_autofree char *a = domxml_virt_type("<domain type='qemu' id='3'><name>x</name></domain>");
	g_autofree char *b = domxml_virt_type("<domain id=\"3\" type=\"kvm\">");
	g_autofree char *c = domxml_virt_type("<domain><devices><disk type='file'/></devices></domain>");

	g_assert_cmpstr(a, ==, "qemu");
	g_assert_cmpstr(b, ==, "kvm");
	g_assert_null(c);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/domxml/identity_and_memory", test_domxml__identity_and_memory);
	g_test_add_func("/domxml/paths_listed", test_domxml__paths_listed);
	g_test_add_func("/domxml/bridges_and_networks_listed", test_domxml__bridges_and_networks_listed);
	g_test_add_func("/domxml/noop_remap_byte_identical", test_domxml__noop_remap_byte_identical);
	g_test_add_func("/domxml/first_match_wins_across_sets", test_domxml__first_match_wins_across_sets);
	g_test_add_func("/domxml/capture_groups_and_partial_match", test_domxml__capture_groups_and_partial_match);
	g_test_add_func("/domxml/bridges_and_networks_kept_apart", test_domxml__bridges_and_networks_kept_apart);
	g_test_add_func("/domxml/output_reparses_and_diff_is_minimal",
			test_domxml__output_reparses_and_diff_is_minimal);
	g_test_add_func("/domxml/console_alias_reported_and_remapped",
			test_domxml__console_alias_reported_and_remapped);
	g_test_add_func("/domxml/escaping_survives", test_domxml__escaping_survives);
	g_test_add_func("/domxml/escaped_input_values_match", test_domxml__escaped_input_values_match);
	g_test_add_func("/domxml/less_common_forms", test_domxml__less_common_forms);
	g_test_add_func("/domxml/disks_listed", test_domxml__disks_listed);
	g_test_add_func("/domxml/disks_follow_remap", test_domxml__disks_follow_remap);
	g_test_add_func("/domxml/disks_match_paths", test_domxml__disks_match_paths);
	g_test_add_func("/domxml/disks_edge_sources", test_domxml__disks_edge_sources);
	g_test_add_func("/domxml/fallback_serialises_tree", test_domxml__fallback_serialises_tree);
	g_test_add_func("/domxml/name_and_uuid_required", test_domxml__name_and_uuid_required);
	g_test_add_func("/domxml/malformed_names_line", test_domxml__malformed_names_line);
	g_test_add_func("/domxml/remap_errors_change_nothing", test_domxml__remap_errors_change_nothing);
	g_test_add_func("/domxml/cpu_element", test_domxml__cpu_element);
	g_test_add_func("/domxml/virt_type", test_domxml__virt_type);
	for (gsize i = 0; i < G_N_ELEMENTS(corpus); i++) {
		g_autofree char *name = g_strdup_printf("/domxml/corpus/%s", corpus[i].file);

		g_test_add_data_func(name, &corpus[i], test_domxml__corpus);
	}
	return g_test_run();
}
