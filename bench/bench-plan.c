/* bench-plan: how long vmshift takes to validate and order a large plan,
 * against libyaml alone parsing the same bytes.  Not a test: it measures
 * and prints.  Both are timed in this one process, best of several runs.
 *
 * usage: bench-plan [VMS [HOSTS [RUNS]]]   (default 10000 500 7)
 *        bench-plan --write FILE [VMS [HOSTS]]
 *            only write the plan it would time, for bench/run-bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../planner/plan.h"

static GString *
generate(guint n_vms, guint n_hosts)
{
	GString *s = g_string_new(NULL);

	g_string_append(s, "version: 1\nname: bench\nconcurrency: {max_parallel: 16}\nhosts:\n");
	for (guint h = 0; h < n_hosts; h++)
		g_string_append_printf(s, "  kvm-%u:\n    uri: qemu+ssh://root@10.%u.%u.%u/system\n"
				       "    max_parallel: 2\n", h, h / 65536, (h / 256) % 256, h % 256);
	g_string_append(s, "defaults:\n  mode: live\n  live: {max_downtime_ms: 300, auto_converge: true}\n"
			   "remap:\n  paths:\n    - {from: \"^/var/lib/nova/instances/([0-9a-f-]+)/disk$\", to: \"/srv/vms/$1.qcow2\"}\n"
			   "  bridges:\n    - {from: \"^qbr.*$\", to: br0}\n"
			   "migrations:\n");
	for (guint i = 0; i < n_vms; i++) {
		guint from = i % n_hosts, to = (i + 1) % n_hosts;

		if (i % 100 == 99)
			g_string_append_printf(s, "  - id: group-%u\n    match: \"^grp%u-[0-9]+$\"\n", i, i);
		else
			g_string_append_printf(s, "  - vm: instance-%08x\n", i);
		g_string_append_printf(s, "    from: kvm-%u\n    to: kvm-%u\n", from, to);
		if (i % 3 == 1)
			g_string_append(s, "    mode: cold\n    shutdown: {timeout_s: 60, force: true}\n");
		if (i % 10 == 5)
			g_string_append_printf(s, "    after: [instance-%08x]\n", i - 5);
	}
	return s;
}

static double
now(void)
{
	return g_get_monotonic_time() / 1e6;
}

static double
time_libyaml(const GString *s)
{
	yaml_parser_t p;
	yaml_document_t doc;
	double t0 = now();

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)s->str, s->len);
	if (!yaml_parser_load(&p, &doc)) {
		fprintf(stderr, "libyaml failed: %s\n", p.problem);
		exit(1);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return now() - t0;
}

static double
time_vmshift(const GString *s, guint *n_waves)
{
	struct diags dg;
	struct plan *plan;
	double t0 = now(), t;

	diags_init(&dg, "bench.yaml");
	plan = plan_parse("bench.yaml", s->str, s->len, &dg);
	t = now() - t0;
	if (!plan) {
		g_autofree char *e = diags_format(&dg);

		fprintf(stderr, "plan rejected:\n%s", e);
		exit(1);
	}
	*n_waves = plan->n_waves;
	plan_free(plan);
	diags_release(&dg);
	return t;
}

static int
write_plan(const char *path, guint n_vms, guint n_hosts)
{
	g_autoptr(GString) s = generate(n_vms, n_hosts);
	g_autoptr(GError) err = NULL;

	if (!g_file_set_contents(path, s->str, (gssize)s->len, &err)) {
		fprintf(stderr, "bench-plan: %s\n", err->message);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	guint n_vms = argc > 1 ? (guint)atoi(argv[1]) : 10000;
	guint n_hosts = argc > 2 ? (guint)atoi(argv[2]) : 500;
	guint runs = argc > 3 ? (guint)atoi(argv[3]) : 7;
	g_autoptr(GString) s = NULL;
	double best_yaml = 1e9, best_vm = 1e9;
	guint waves = 0;

	if (argc >= 3 && !strcmp(argv[1], "--write"))
		return write_plan(argv[2], argc > 3 ? (guint)atoi(argv[3]) : 10000,
				  argc > 4 ? (guint)atoi(argv[4]) : 500);
	if (n_hosts < 2 || n_vms < 1 || runs < 1) {
		fprintf(stderr, "usage: bench-plan [VMS [HOSTS [RUNS]]]\n");
		return 2;
	}
	s = generate(n_vms, n_hosts);
	for (guint r = 0; r < runs; r++) {
		best_yaml = MIN(best_yaml, time_libyaml(s));
		best_vm = MIN(best_vm, time_vmshift(s, &waves));
	}
	printf("plan: %u VMs, %u hosts, %.1f MiB of YAML, %u waves\n", n_vms, n_hosts,
	       s->len / 1048576.0, waves);
	printf("libyaml parse alone:          %8.1f ms (best of %u)\n", best_yaml * 1e3, runs);
	printf("vmshift validate + order:     %8.1f ms (best of %u)\n", best_vm * 1e3, runs);
	printf("ratio vmshift / libyaml:      %8.2f   (target: <= 2.0, and < 500 ms)\n",
	       best_vm / best_yaml);
	return 0;
}
