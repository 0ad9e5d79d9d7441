/* Unit tests of the plan model: defaults, derived SSH access, remaps,
 * image_dirs, disks.shared, and the error cap.  No libvirt: the planner never needs it. */
#include <string.h>

#include "../../planner/plan.h"

#define HOSTS "version: 1\nname: t\nhosts:\n" \
	"  a: {uri: \"qemu+ssh://admin@10.0.0.1:2222/system?keyfile=/k/id&known_hosts=/k/kh\"}\n" \
	"  b: {uri: \"qemu:///system\", ssh: {host: 10.0.0.2}}\n" \
	"  c: {uri: \"qemu+tcp://10.0.0.3/system\"}\n"

static struct plan *
parse(const char *text, struct diags *dg)
{
	diags_init(dg, "t.yaml");
	return plan_parse("t.yaml", text, strlen(text), dg);
}

static void
test_plan__defaults_merge_key_by_key(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS
			       "defaults:\n  mode: live\n  live: {max_downtime_ms: 50, tls: true}\n"
			       "migrations:\n"
			       "  - {vm: x, from: a, to: b, live: {max_downtime_ms: 70}}\n"
			       "  - {vm: y, from: a, to: b, mode: cold, start: never}\n", &dg);
	struct migration *x, *y;

	g_assert_nonnull(p);
	x = plan_migration(p, "x");
	y = plan_migration(p, "y");
	g_assert_cmpint(x->set.mode, ==, MODE_LIVE);
	g_assert_cmpint(x->set.live.max_downtime_ms, ==, 70);	/* own key wins */
	g_assert_true(x->set.live.tls);				/* default fills the rest */
	g_assert_cmpint(x->set.shutdown.timeout_s, ==, 120);	/* format default */
	g_assert_true(x->set.undefine_source);
	g_assert_cmpint(y->set.mode, ==, MODE_COLD);
	g_assert_cmpint(y->set.start, ==, START_NEVER);
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__ssh_from_uri(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "migrations:\n  - {vm: x, from: a, to: b, mode: offline-with-scp-disk}\n", &dg);
	struct host *a, *b, *c;

	g_assert_nonnull(p);
	a = plan_host(p, "a");
	b = plan_host(p, "b");
	c = plan_host(p, "c");
	g_assert_cmpstr(a->ssh.host, ==, "10.0.0.1");
	g_assert_cmpstr(a->ssh.user, ==, "admin");
	g_assert_cmpint(a->ssh.port, ==, 2222);
	g_assert_cmpstr(a->ssh.identity, ==, "/k/id");
	g_assert_cmpstr(a->ssh.known_hosts, ==, "/k/kh");
	g_assert_cmpstr(b->ssh.host, ==, "10.0.0.2");
	g_assert_cmpstr(b->ssh.user, ==, "root");
	g_assert_cmpint(b->ssh.port, ==, 22);
	g_assert_null(c->ssh.host);	/* qemu+tcp: no SSH access */
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__remap_rules_compile_and_substitute(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "remap:\n  paths:\n"
			       "    - {from: \"^/nova/([a-z]+)/disk$\", to: \"/srv/${1}.qcow2\"}\n"
			       "migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n", &dg);
	struct remap_rule *r;
	PCRE2_UCHAR out[128];
	PCRE2_SIZE len = sizeof(out);
	int rc;

	g_assert_nonnull(p);
	r = p->remap.rules[REMAP_PATHS]->pdata[0];
	rc = pcre2_substitute(r->re, (PCRE2_SPTR) "/nova/abc/disk", PCRE2_ZERO_TERMINATED, 0, 0, NULL,
			      NULL, (PCRE2_SPTR)r->to, PCRE2_ZERO_TERMINATED, out, &len);
	g_assert_cmpint(rc, ==, 1);
	g_assert_cmpstr((char *)out, ==, "/srv/abc.qcow2");
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__all_errors_reported_then_capped(void)
{
	struct diags dg;
	GString *s = g_string_new(HOSTS "migrations:\n");
	struct plan *p;

	for (int i = 0; i < 80; i++)
		g_string_append_printf(s, "  - {vm: v%d, from: a, to: zz, mode: cold}\n", i);
	p = parse(s->str, &dg);
	g_assert_null(p);
	g_assert_cmpuint(dg.items->len, ==, DIAG_MAX);
	g_assert_cmpuint(diags_count(&dg), ==, 80);
	diags_release(&dg);
	g_string_free(s, TRUE);
}

static void
test_plan__match_gets_pattern_as_id(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "migrations:\n"
			       "  - {match: \"^web-[0-9]+$\", from: a, to: b, mode: live}\n"
			       "  - {id: db, match: \"^db\", from: a, to: b, mode: cold}\n"
			       "  - {vm: lb, from: a, to: b, mode: cold, after: db}\n", &dg);

	g_assert_nonnull(p);
	g_assert_nonnull(plan_migration(p, "^web-[0-9]+$"));
	g_assert_nonnull(plan_migration(p, "db")->match_re);
	g_assert_true(plan_migration(p, "lb")->after->pdata[0] == plan_migration(p, "db"));
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__sha256_of_bytes(void)
{
	struct diags dg;
	const char *text = HOSTS "migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n";
	struct plan *p = parse(text, &dg);
	g_autofree char *want = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);

	g_assert_nonnull(p);
	plan_hash(p, text, strlen(text));
	g_assert_cmpstr(p->sha256, ==, want);
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__image_dirs_normalised(void)
{
	struct diags dg;
	struct plan *p = parse("version: 1\nname: t\nhosts:\n"
			       "  a:\n    uri: \"qemu:///system\"\n"
			       "    image_dirs: [/srv/vms/, \"//data//images\", /var/lib/libvirt/images, /srv/.x/..y]\n"
			       "  b: {uri: \"qemu+tcp://10.0.0.2/system\"}\n"
			       "migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n", &dg);
	struct host *a, *b;

	g_assert_nonnull(p);
	a = plan_host(p, "a");
	b = plan_host(p, "b");
	g_assert_cmpuint(a->image_dirs->len, ==, 4);
	g_assert_cmpstr(a->image_dirs->pdata[0], ==, "/srv/vms");
	g_assert_cmpstr(a->image_dirs->pdata[1], ==, "/data/images");
	g_assert_cmpstr(a->image_dirs->pdata[2], ==, "/var/lib/libvirt/images");
	g_assert_cmpstr(a->image_dirs->pdata[3], ==, "/srv/.x/..y");
	g_assert_cmpuint(a->image_dirs_at.line, ==, 6);
	g_assert_cmpuint(a->image_dirs_at.col, ==, 5);
	g_assert_nonnull(b->image_dirs);	/* absent: empty, never NULL */
	g_assert_cmpuint(b->image_dirs->len, ==, 0);
	g_assert_cmpuint(b->image_dirs_at.line, ==, 0);
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__image_dirs_errors_all_reported(void)
{
	struct diags dg;
	struct plan *p = parse("version: 1\nname: t\nhosts:\n"
			       "  a:\n    uri: \"qemu:///system\"\n"
			       "    image_dirs: [srv, /, /a/../b, /a/./b, /c, /c/, \"/d\\0e\", 5]\n"
			       "  b: {uri: \"qemu+tcp://10.0.0.2/system\", image_dirs: /srv}\n"
			       "migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n", &dg);
	g_autofree char *text = NULL;

	g_assert_null(p);
	g_assert_cmpuint(diags_count(&dg), ==, 8);
	text = diags_format(&dg);
	g_assert_nonnull(strstr(text, "t.yaml:6:18: error: 'image_dirs' entry 'srv' must be an absolute path"));
	g_assert_nonnull(strstr(text, "t.yaml:6:23: error: 'image_dirs' entry '/' is the root directory"));
	g_assert_nonnull(strstr(text, "t.yaml:6:26: error: 'image_dirs' entry '/a/../b' must not have a '..' component"));
	g_assert_nonnull(strstr(text, "t.yaml:6:35: error: 'image_dirs' entry '/a/./b' must not have a '.' component"));
	g_assert_nonnull(strstr(text, "t.yaml:6:47: error: duplicate 'image_dirs' entry '/c/' (the same directory as '/c' at line 6)"));
	g_assert_nonnull(strstr(text, "t.yaml:6:52: error: an entry of 'image_dirs' must not contain a NUL character"));
	g_assert_nonnull(strstr(text, "t.yaml:6:61: error: each entry of 'image_dirs' must be an absolute directory path, not an integer"));
	g_assert_nonnull(strstr(text, "t.yaml:7:54: error: 'image_dirs' must be a list, not a string"));
	diags_release(&dg);
}

#define SHARED_DEFAULTS "defaults:\n  mode: cold\n" \
	"  disks: {verify: size, shared: [\"^rbd:\", \"^/dev/disk/by-id/wwn-\"]}\n"

static void
test_plan__shared_defaults_merge_and_replace(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS SHARED_DEFAULTS
			       "migrations:\n"
			       "  - {vm: x, from: a, to: b}\n"
			       "  - {vm: y, from: a, to: b, mode: live, disks: {shared: [\"^san/\"]}}\n"
			       "  - {vm: z, from: a, to: b, mode: offline-with-scp-disk, disks: {shared: [], overwrite: true}}\n",
			       &dg);
	struct migration *x, *y, *z;
	const struct shared_pattern *sp;

	g_assert_nonnull(p);
	x = plan_migration(p, "x");
	y = plan_migration(p, "y");
	z = plan_migration(p, "z");
	/* not written: the defaults' list, as a whole */
	g_assert_cmpuint(x->set.disks.shared->len, ==, 2);
	sp = x->set.disks.shared->pdata[0];
	g_assert_cmpstr(sp->pattern, ==, "^rbd:");
	g_assert_nonnull(sp->re);
	g_assert_cmpuint(sp->at.line, ==, 9);
	g_assert_true(x->set.disks.shared == p->defaults.disks.shared);
	/* written: replaces it, not appended to it */
	g_assert_cmpuint(y->set.disks.shared->len, ==, 1);
	g_assert_cmpstr(((struct shared_pattern *)y->set.disks.shared->pdata[0])->pattern, ==, "^san/");
	g_assert_cmpint(y->set.disks.verify, ==, VERIFY_SIZE);	/* the other keys still merge */
	/* an empty list drops the default */
	g_assert_cmpuint(z->set.disks.shared->len, ==, 0);
	g_assert_true(z->set.disks.overwrite);
	g_assert_cmpint(z->set.disks.verify, ==, VERIFY_SIZE);
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__shared_absent_is_empty(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n", &dg);
	struct migration *x;

	g_assert_nonnull(p);
	x = plan_migration(p, "x");
	g_assert_nonnull(x->set.disks.shared);
	g_assert_cmpuint(x->set.disks.shared->len, ==, 0);
	g_assert_false(disk_opts_shared(&x->set.disks, "rbd:pool/img"));
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__disk_opts_shared_matches(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS SHARED_DEFAULTS
			       "migrations:\n"
			       "  - {vm: x, from: a, to: b}\n"
			       "  - {vm: y, from: a, to: b, disks: {shared: [\"^san-pool/\", \"lun-[0-9]+$\", \"^/dev/é\"]}}\n",
			       &dg);
	const struct disk_opts *x, *y;

	g_assert_nonnull(p);
	x = &plan_migration(p, "x")->set.disks;
	y = &plan_migration(p, "y")->set.disks;
	g_assert_true(disk_opts_shared(x, "rbd:vms/db-root"));
	g_assert_true(disk_opts_shared(x, "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"));
	g_assert_false(disk_opts_shared(x, "/var/lib/libvirt/images/db.qcow2"));
	g_assert_false(disk_opts_shared(x, "nbd:rbd:x"));	/* anchored by the pattern */
	g_assert_false(disk_opts_shared(x, "san-pool/db"));	/* y's list, not x's */
	g_assert_true(disk_opts_shared(y, "san-pool/db"));
	g_assert_true(disk_opts_shared(y, "iscsi:iqn.2024-01.example:t/lun-12"));	/* unanchored */
	g_assert_false(disk_opts_shared(y, "iscsi:iqn.2024-01.example:t/lun-12x"));
	g_assert_false(disk_opts_shared(y, "rbd:vms/db-root"));	/* replaced, not merged */
	g_assert_true(disk_opts_shared(y, "/dev/é1"));
	g_assert_false(disk_opts_shared(y, "/dev/\xe9" "1"));	/* not UTF-8: no match */
	g_assert_false(disk_opts_shared(y, NULL));
	plan_free(p);
	diags_release(&dg);
}

static void
test_plan__shared_errors_all_reported(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "defaults:\n  mode: live\n  disks: {shared: \"^rbd:\"}\n"
			       "migrations:\n"
			       "  - {vm: x, from: a, to: b, disks: {shared: [\"^(a\", \"\", \"ok\", \"[z-a]\"]}}\n"
			       "  - {vm: y, from: a, to: b, disks: {sharde: [x]}}\n", &dg);
	g_autofree char *text = NULL;

	g_assert_null(p);
	text = diags_format(&dg);
	g_assert_cmpuint(diags_count(&dg), ==, 5);
	g_assert_nonnull(strstr(text, "t.yaml:9:19: error: 'shared' must be a list, not a string"));
	g_assert_nonnull(strstr(text, "t.yaml:11:50: error: 'shared' is not a valid PCRE2 pattern: missing closing parenthesis"));
	g_assert_nonnull(strstr(text, "t.yaml:11:53: error: each entry of 'shared' must be a PCRE2 pattern, not an empty string"));
	g_assert_nonnull(strstr(text, "t.yaml:11:67: error: 'shared' is not a valid PCRE2 pattern: range out of order"));
	g_assert_nonnull(strstr(text, "t.yaml:12:37: error: unknown key 'sharde' in disks (did you mean 'shared'?)"));
	diags_release(&dg);
}

/* to: a plain name, a one-name list, a pool: ->to, ->pool, ->pool_at. */
static void
test_plan__to_pool_resolved(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "defaults: {mode: cold}\nmigrations:\n"
			       "  - {vm: x, from: a, to: b}\n"
			       "  - {vm: y, from: a, to: [c]}\n"
			       "  - {vm: z, from: a, to: [c, b]}\n"
			       "  - {vm: w, from: c, to: b}\n", &dg);
	struct migration *x, *y, *z, *w;
	struct host *b, *c;

	g_assert_nonnull(p);
	b = plan_host(p, "b");
	c = plan_host(p, "c");
	x = plan_migration(p, "x");
	y = plan_migration(p, "y");
	z = plan_migration(p, "z");
	w = plan_migration(p, "w");
	/* a plain name: a pool of one, no list positions */
	g_assert_true(x->to == b);
	g_assert_cmpstr(x->to_name, ==, "b");
	g_assert_cmpuint(x->pool->len, ==, 1);
	g_assert_true(x->pool->pdata[0] == b);
	g_assert_cmpuint(x->pool_at->len, ==, 0);
	g_assert_true(w->pool->pdata[0] == b);
	/* a one-name list is that host */
	g_assert_true(y->to == c);
	g_assert_cmpstr(y->to_name, ==, "c");
	g_assert_cmpuint(y->pool->len, ==, 1);
	g_assert_cmpuint(y->pool_at->len, ==, 1);
	/* a pool: no single target, candidates in the order written */
	g_assert_null(z->to);
	g_assert_null(z->to_name);
	g_assert_cmpuint(z->pool->len, ==, 2);
	g_assert_true(z->pool->pdata[0] == c);
	g_assert_true(z->pool->pdata[1] == b);
	g_assert_cmpuint(z->pool_at->len, ==, 2);
	g_assert_cmpuint(g_array_index(z->pool_at, struct pos, 0).line, ==, 11);
	g_assert_cmpuint(g_array_index(z->pool_at, struct pos, 0).col, ==, 27);
	g_assert_cmpuint(g_array_index(z->pool_at, struct pos, 1).col, ==, 30);
	plan_free(p);
	diags_release(&dg);
}

/* A pooled migration counts against its source's max_parallel only. */
static void
test_plan__to_pool_waves(void)
{
	struct diags dg;
	struct plan *p = parse("version: 1\nname: t\nconcurrency: {max_parallel: 8}\nhosts:\n"
			       "  a: {uri: \"qemu:///system\", max_parallel: 3}\n"
			       "  b: {uri: \"qemu+tcp://10.0.0.2/system\", max_parallel: 1}\n"
			       "  c: {uri: \"qemu+tcp://10.0.0.3/system\", max_parallel: 1}\n"
			       "defaults: {mode: cold}\nmigrations:\n"
			       "  - {vm: p1, from: a, to: [b, c]}\n"
			       "  - {vm: p2, from: a, to: [b, c]}\n"
			       "  - {vm: s1, from: a, to: b}\n"
			       "  - {vm: p3, from: a, to: [b, c]}\n", &dg);

	g_assert_nonnull(p);
	g_assert_cmpuint(plan_migration(p, "p1")->wave, ==, 1);
	g_assert_cmpuint(plan_migration(p, "p2")->wave, ==, 1);
	g_assert_cmpuint(plan_migration(p, "s1")->wave, ==, 1);	/* b's one slot */
	g_assert_cmpuint(plan_migration(p, "p3")->wave, ==, 2);	/* a's three are taken */
	plan_free(p);
	diags_release(&dg);
}

/* Every problem of a to: list, each at its item. */
static void
test_plan__to_pool_errors(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "defaults: {mode: cold}\nmigrations:\n"
			       "  - {vm: x, from: a, to: [b, bb, b, a, 3]}\n"
			       "  - {vm: y, from: a, to: []}\n", &dg);
	g_autofree char *all = NULL;

	g_assert_null(p);
	all = diags_format(&dg);
	g_assert_nonnull(strstr(all, "t.yaml:9:30: error: 'to' names unknown host 'bb' (did you mean 'b'?)"));
	g_assert_nonnull(strstr(all, "t.yaml:9:34: error: 'to' lists host 'b' twice (first at line 9, column 27)"));
	g_assert_nonnull(strstr(all, "t.yaml:9:37: error: 'to' lists 'a', the host the VMs leave"));
	g_assert_nonnull(strstr(all, "t.yaml:9:40: error: each entry of 'to' must be a host name, not an integer"));
	g_assert_nonnull(strstr(all, "t.yaml:10:26: error: 'to' must list at least one host"));
	g_assert_cmpuint(diags_count(&dg), ==, 5);
	diags_release(&dg);
}

/* The fingerprint of a single-host entry is what vmshift computed
 * before to: lists existed (main at 5d4cdd0, fingerprint version 4):
 * a journal begun then still matches.  Pools differ by candidates and
 * their order, and from a single host. */
static void
test_plan__fingerprint_single_host_unchanged_pools_differ(void)
{
	struct diags dg, dg2;
	struct plan *p = parse(HOSTS "defaults: {mode: live, live: {max_downtime_ms: 500}}\n"
			       "migrations:\n  - {vm: x, from: a, to: b, verify: {tcp: \"x.example.net:22\"}}\n"
			       "  - {vm: y, from: a, to: c, mode: cold, disks: {shared: [\"^/nfs/\"]}}\n", &dg);
	struct plan *q = parse(HOSTS "defaults: {mode: live, live: {max_downtime_ms: 500}}\n"
			       "migrations:\n  - {vm: x, from: a, to: [b], verify: {tcp: \"x.example.net:22\"}}\n"
			       "  - {vm: y, from: a, to: [b, c], mode: cold}\n"
			       "  - {vm: z, from: a, to: [c, b], mode: cold}\n"
			       "  - {vm: v, from: a, to: [b, c], mode: cold}\n", &dg2);
	g_autofree char *fx = NULL, *fy = NULL, *fx1 = NULL, *fpy = NULL, *fpz = NULL, *fpv = NULL, *fpv2 = NULL;
	struct host *c;
	char *uri;

	g_assert_nonnull(p);
	g_assert_nonnull(q);
	fx = plan_migration_fingerprint(p, plan_migration(p, "x"));
	fy = plan_migration_fingerprint(p, plan_migration(p, "y"));
	g_assert_cmpstr(fx, ==, "a1a92c33a1b9c8c7e8693eaa63f42147f09b9a1a6a7ebb77453d2773e5dd049c");
	g_assert_cmpstr(fy, ==, "5855391ebb72ba37003c9e67ce309a6821768a5399b4b47bc765e2c4cd9a0d4c");
	/* a one-name list is that host, fingerprint included */
	fx1 = plan_migration_fingerprint(q, plan_migration(q, "x"));
	g_assert_cmpstr(fx1, ==, fx);
	fpy = plan_migration_fingerprint(q, plan_migration(q, "y"));
	fpz = plan_migration_fingerprint(q, plan_migration(q, "z"));
	g_assert_cmpstr(fpy, !=, fpz);		/* order is the pack order */
	g_assert_cmpuint(strlen(fpy), ==, 64);
	/* the same pool on another VM differs only by the vm; a candidate's
	 * uri is part of it */
	c = plan_host(q, "c");
	fpv = plan_migration_fingerprint(q, plan_migration(q, "v"));
	uri = c->uri;
	c->uri = g_strdup("qemu+tcp://10.9.9.9/system");
	fpv2 = plan_migration_fingerprint(q, plan_migration(q, "v"));
	g_free(c->uri);
	c->uri = uri;
	g_assert_cmpstr(fpv, !=, fpv2);
	plan_free(p);
	plan_free(q);
	diags_release(&dg);
	diags_release(&dg2);
}

static gboolean
whole_match(const struct shared_pattern *sp, const char *name)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(sp->re, NULL);
	int rc = pcre2_match(sp->re, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);

	pcre2_match_data_free(md);
	return rc >= 0;
}

/* placement: its keys, its defaults, anti_affinity anchored at both ends. */
static void
test_plan__placement_parsed(void)
{
	struct diags dg, dg2;
	struct plan *p = parse(HOSTS "placement:\n  policy: pack\n  reserve_memory_mib: 2048\n"
			       "  max_vcpu_ratio: 1.5\n  anti_affinity:\n    - [db-1, db-2]\n    - [\"lb-[ab]\", web.*, x]\n"
			       "migrations:\n  - {match: \".\", from: a, to: [b, c], mode: cold}\n", &dg);
	struct plan *q = parse(HOSTS "placement: {max_vcpu_ratio: 4}\n"
			       "migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n", &dg2);
	struct affinity_group *g0, *g1;

	g_assert_nonnull(p);
	g_assert_cmpint(p->placement.policy, ==, PLACE_PACK);
	g_assert_cmpint(p->placement.reserve_memory_mib, ==, 2048);
	g_assert_cmpfloat(p->placement.max_vcpu_ratio, ==, 1.5);
	g_assert_cmpuint(p->placement.at.line, ==, 7);
	g_assert_cmpuint(p->placement.anti_affinity->len, ==, 2);
	g0 = p->placement.anti_affinity->pdata[0];
	g1 = p->placement.anti_affinity->pdata[1];
	g_assert_cmpuint(g0->patterns->len, ==, 2);
	g_assert_cmpuint(g1->patterns->len, ==, 3);
	g_assert_cmpuint(g1->at.line, ==, 13);
	g_assert_cmpuint(((struct shared_pattern *)g1->patterns->pdata[1])->at.col, ==, 19);
	/* a plain name is exactly that VM; a pattern covers the whole name */
	g_assert_true(whole_match(g0->patterns->pdata[0], "db-1"));
	g_assert_false(whole_match(g0->patterns->pdata[0], "db-10"));
	g_assert_false(whole_match(g0->patterns->pdata[0], "old-db-1"));
	g_assert_true(whole_match(g1->patterns->pdata[0], "lb-b"));
	g_assert_false(whole_match(g1->patterns->pdata[0], "lb-bb"));
	g_assert_true(whole_match(g1->patterns->pdata[1], "web-17"));
	g_assert_false(whole_match(g1->patterns->pdata[1], "my-web-17"));
	/* defaults, and an integer ratio; placement without a pool is fine */
	g_assert_nonnull(q);
	g_assert_cmpint(q->placement.policy, ==, PLACE_SPREAD);
	g_assert_cmpint(q->placement.reserve_memory_mib, ==, 0);
	g_assert_cmpfloat(q->placement.max_vcpu_ratio, ==, 4.0);
	g_assert_nonnull(q->placement.anti_affinity);
	g_assert_cmpuint(q->placement.anti_affinity->len, ==, 0);
	plan_free(p);
	plan_free(q);
	diags_release(&dg);
	diags_release(&dg2);
}

/* A plan without placement: or window: has their defaults. */
static void
test_plan__placement_window_absent(void)
{
	struct diags dg;
	struct plan *p = parse(HOSTS "migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n", &dg);

	g_assert_nonnull(p);
	g_assert_cmpint(p->placement.policy, ==, PLACE_SPREAD);
	g_assert_cmpfloat(p->placement.max_vcpu_ratio, ==, 0);
	g_assert_cmpuint(p->placement.anti_affinity->len, ==, 0);
	g_assert_cmpuint(p->placement.at.line, ==, 0);
	g_assert_cmpint(p->window.not_before, ==, 0);
	g_assert_cmpint(p->window.not_after, ==, 0);
	g_assert_cmpint(p->window.assumed_mib_s, ==, 100);
	g_assert_cmpuint(p->window.at.line, ==, 0);
	plan_free(p);
	diags_release(&dg);
}

/* window: RFC 3339 with Z or an offset, to unix seconds. */
static void
test_plan__window_parsed(void)
{
	static const struct {
		const char *text;
		gint64 unix_s;
	} ok[] = {
		{ "2026-12-11T22:00:00Z", 1797026400 },
		{ "2026-12-11T23:00:00+01:00", 1797026400 },
		{ "2026-12-11t17:00:00-05:00", 1797026400 },
		{ "2026-12-11 22:00:00z", 1797026400 },
		{ "2026-12-11T22:00:00.999Z", 1797026400 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(ok); i++) {
		struct diags dg;
		g_autofree char *text = g_strdup_printf(HOSTS "window:\n  not_before: \"%s\"\n"
							"  not_after: 2026-12-12T02:00:00Z\n  assumed_mib_s: 250\n"
							"migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n",
							ok[i].text);
		struct plan *p = parse(text, &dg);

		g_test_message("not_before: %s", ok[i].text);
		g_assert_nonnull(p);
		if (!p) {
			diags_release(&dg);
			continue;
		}
		g_assert_cmpint(p->window.not_before, ==, ok[i].unix_s);
		g_assert_cmpint(p->window.not_after, ==, 1797026400 + 4 * 3600);
		g_assert_cmpint(p->window.assumed_mib_s, ==, 250);
		g_assert_cmpuint(p->window.at.line, ==, 7);
		g_assert_cmpuint(p->window.not_before_at.line, ==, 8);
		g_assert_cmpuint(p->window.not_before_at.col, ==, 15);
		g_assert_cmpuint(p->window.not_after_at.line, ==, 9);
		plan_free(p);
		diags_release(&dg);
	}
}

/* Each bad timestamp is one error at its value. */
static void
test_plan__window_errors(void)
{
	static const char *const bad[] = {
		"2026-12-11T22:00:00",		/* no timezone */
		"2026-12-11",			/* a date alone */
		"2026-W50-5T22:00:00Z",		/* ISO 8601, not RFC 3339 */
		"20261211T220000Z",
		"2026-13-11T22:00:00Z",
		"2026-12-11T22:00:00+0100",
		"1969-12-31T23:59:59Z",		/* 0 and before are "unset" */
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct diags dg;
		g_autofree char *text = g_strdup_printf(HOSTS "window: {not_after: \"%s\"}\n"
							"migrations:\n  - {vm: x, from: a, to: b, mode: cold}\n",
							bad[i]);
		struct plan *p = parse(text, &dg);
		struct diag *d;

		g_test_message("not_after: %s", bad[i]);
		g_assert_null(p);
		g_assert_cmpuint(diags_count(&dg), ==, 1);
		d = dg.items->pdata[0];
		g_assert_cmpuint(d->at.line, ==, 7);
		g_assert_cmpuint(d->at.col, ==, 21);
		g_assert_nonnull(strstr(d->msg, "'not_after'"));
		plan_free(p);
		diags_release(&dg);
	}
}

/* live.fallback: offline-with-scp-disk needs SSH to every end; fallback:
 * cold does not. */
static void
test_plan__fallback_checks_its_mode(void)
{
	struct diags dg, dg2;
	struct plan *p = parse(HOSTS "defaults: {mode: live}\nmigrations:\n"
			       "  - {vm: x, from: a, to: [b, c], live: {fallback: offline-with-scp-disk}}\n", &dg);
	struct plan *q = parse(HOSTS "defaults: {mode: live}\nmigrations:\n"
			       "  - {vm: x, from: a, to: [b, c], live: {fallback: cold}}\n"
			       "  - {vm: y, from: a, to: b, live: {fallback: offline-with-scp-disk},\n"
			       "     disks: {verify: size}}\n", &dg2);
	g_autofree char *all = NULL;

	g_assert_null(p);
	all = diags_format(&dg);
	g_assert_cmpuint(diags_count(&dg), ==, 1);
	g_assert_nonnull(strstr(all, "t.yaml:9:30: error: live.fallback: offline-with-scp-disk copies disks over SSH, but host 'c'"));
	g_assert_nonnull(q);
	if (q) {
		g_assert_cmpint(plan_migration(q, "x")->set.live.fallback, ==, FALLBACK_COLD);
		g_assert_cmpint(plan_migration(q, "y")->set.live.fallback, ==, FALLBACK_OFFLINE_SCP);
		g_assert_cmpint(plan_migration(q, "y")->set.disks.verify, ==, VERIFY_SIZE);
	}
	plan_free(q);
	diags_release(&dg);
	diags_release(&dg2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/plan/defaults_merge_key_by_key", test_plan__defaults_merge_key_by_key);
	g_test_add_func("/plan/ssh_from_uri", test_plan__ssh_from_uri);
	g_test_add_func("/plan/remap_rules_compile_and_substitute", test_plan__remap_rules_compile_and_substitute);
	g_test_add_func("/plan/all_errors_reported_then_capped", test_plan__all_errors_reported_then_capped);
	g_test_add_func("/plan/match_gets_pattern_as_id", test_plan__match_gets_pattern_as_id);
	g_test_add_func("/plan/sha256_of_bytes", test_plan__sha256_of_bytes);
	g_test_add_func("/plan/image_dirs_normalised", test_plan__image_dirs_normalised);
	g_test_add_func("/plan/image_dirs_errors_all_reported", test_plan__image_dirs_errors_all_reported);
	g_test_add_func("/plan/shared_defaults_merge_and_replace", test_plan__shared_defaults_merge_and_replace);
	g_test_add_func("/plan/shared_absent_is_empty", test_plan__shared_absent_is_empty);
	g_test_add_func("/plan/disk_opts_shared_matches", test_plan__disk_opts_shared_matches);
	g_test_add_func("/plan/shared_errors_all_reported", test_plan__shared_errors_all_reported);
	g_test_add_func("/plan/to_pool_resolved", test_plan__to_pool_resolved);
	g_test_add_func("/plan/to_pool_waves", test_plan__to_pool_waves);
	g_test_add_func("/plan/to_pool_errors", test_plan__to_pool_errors);
	g_test_add_func("/plan/fingerprint_single_host_unchanged_pools_differ",
			test_plan__fingerprint_single_host_unchanged_pools_differ);
	g_test_add_func("/plan/placement_parsed", test_plan__placement_parsed);
	g_test_add_func("/plan/placement_window_absent", test_plan__placement_window_absent);
	g_test_add_func("/plan/window_parsed", test_plan__window_parsed);
	g_test_add_func("/plan/window_errors", test_plan__window_errors);
	g_test_add_func("/plan/fallback_checks_its_mode", test_plan__fallback_checks_its_mode);
	return g_test_run();
}
