/* Unit tests of the plan model: defaults, derived SSH access, remaps,
 * and the error cap.  No libvirt: the planner never needs it. */
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
	return g_test_run();
}
