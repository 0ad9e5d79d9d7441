/* cmd_apply.c: vmshift apply | resume | rollback | status PLAN */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "cmd.h"
#include "../executor/executor.h"

static volatile int interrupted;

static void
on_signal(int sig)
{
	static const char msg[] = "\nvmshift: interrupted: stopping copies and shutdown waits now, other steps once done (vmshift resume continues)\n";
	ssize_t n;

	(void)sig;
	if (!interrupted)
		n = write(STDERR_FILENO, msg, sizeof(msg) - 1);	/* async-signal-safe */
	(void)n;
	interrupted = 1;
}

/* What reaches stderr.  On a terminal, the running migrations' progress
 * is a block of lines (one each) at the bottom, redrawn in place; log
 * lines scroll above it.  Elsewhere progress comes as periodic log lines.
 * Worker threads call in: one lock around the terminal. */
struct term {
	GMutex mu;
	gboolean quiet;
	gboolean tty;
	GPtrArray *units;	/* char *, in the order they appeared */
	GHashTable *lines;	/* unit -> its progress line */
	guint drawn;		/* lines of the block now on screen */
};

static void
term_erase(struct term *t)
{
	if (t->drawn)
		fprintf(stderr, "\033[%uA\033[J", t->drawn);
	t->drawn = 0;
}

static void
term_draw(struct term *t)
{
	for (guint i = 0; i < t->units->len; i++) {
		fprintf(stderr, "  %-20s %s\n", (char *)t->units->pdata[i],
			(char *)g_hash_table_lookup(t->lines, t->units->pdata[i]));
		t->drawn++;
	}
	fflush(stderr);
}

static void
log_line(gpointer ud, const char *line)
{
	struct term *t = ud;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *ts = g_date_time_format(now, "%H:%M:%S");

	if (t->quiet)
		return;
	g_mutex_lock(&t->mu);
	term_erase(t);
	fprintf(stderr, "%s vmshift: %s\n", ts, line);
	term_draw(t);
	g_mutex_unlock(&t->mu);
}

static void
progress_line(gpointer ud, const char *unit, const char *line)
{
	struct term *t = ud;

	g_mutex_lock(&t->mu);
	term_erase(t);
	if (line) {
		if (!g_hash_table_contains(t->lines, unit))
			g_ptr_array_add(t->units, g_strdup(unit));
		g_hash_table_insert(t->lines, g_strdup(unit), g_strdup(line));
	} else if (g_hash_table_remove(t->lines, unit)) {
		for (guint i = 0; i < t->units->len; i++)
			if (!strcmp(t->units->pdata[i], unit))
				g_ptr_array_remove_index(t->units, i);
	}
	term_draw(t);
	g_mutex_unlock(&t->mu);
}

enum which { W_APPLY, W_RESUME, W_ROLLBACK, W_STATUS };

static int
run(enum which w, const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'O' },
		{ "on-failure", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "accept-new-host-keys", no_argument, NULL, 'A' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct exec_opts o = { .on_failure = ON_FAILURE_ROLLBACK, .interrupted = &interrupted };
	g_autoptr(GPtrArray) only = g_ptr_array_new();
	g_autoptr(GString) json = g_string_new(NULL);
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) err = NULL;
	gboolean as_json = FALSE, quiet = FALSE;
	struct plan *plan;
	struct sigaction sa = { .sa_handler = on_signal };
	struct term term = { 0 };
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "nqho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (w != W_APPLY)
				return cmd_usage_error(name, "--dry-run is for apply");
			o.dry_run = TRUE;
			break;
		case 's':
			o.state_dir = optarg;
			break;
		case 'O':
			if (w == W_STATUS || w == W_RESUME)
				return cmd_usage_error(name, "--only is for apply and rollback");
			g_ptr_array_add(only, optarg);
			break;
		case 'f':
			if (!strcmp(optarg, "rollback"))
				o.on_failure = ON_FAILURE_ROLLBACK;
			else if (!strcmp(optarg, "stop"))
				o.on_failure = ON_FAILURE_STOP;
			else
				return cmd_usage_error(name, "--on-failure must be rollback or stop, not '%s'", optarg);
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				as_json = TRUE;
			else if (strcmp(optarg, "text"))
				return cmd_usage_error(name, "--output must be text or json, not '%s'", optarg);
			break;
		case 'A':
			o.accept_new_host_keys = TRUE;
			break;
		case 'q':
			quiet = TRUE;
			break;
		case 'F':
			if (w != W_ROLLBACK)
				return cmd_usage_error(name, "--force is for rollback");
			o.force = TRUE;
			break;
		case 'h':
			return cmd_print_help(name);
		default:
			return cmd_usage_error(name, "bad option");
		}
	}
	/* --only takes one id; more ids may follow as plain arguments */
	if (argc - optind < 1)
		return cmd_usage_error(name, "name the plan file");
	for (int i = optind + 1; i < argc; i++) {
		if (!only->len)
			return cmd_usage_error(name, "unexpected argument '%s'", argv[i]);
		g_ptr_array_add(only, argv[i]);
	}
	if (only->len) {
		g_ptr_array_add(only, NULL);
		o.only = (char **)only->pdata;
	}
	if (!(plan = cmd_load_plan(argv[optind])))
		return EXIT_INVALID;

	o.resume = w == W_RESUME;
	o.log = log_line;
	g_mutex_init(&term.mu);
	term.quiet = quiet;
	term.tty = !quiet && isatty(STDERR_FILENO) && g_strcmp0(g_getenv("TERM"), "dumb") != 0;
	term.units = g_ptr_array_new_with_free_func(g_free);
	term.lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (term.tty)
		o.progress = progress_line;
	o.log_ud = &term;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	switch (w) {
	case W_STATUS:
		rc = executor_status(plan, &o, json, text, &err);
		if (rc == RUN_INTERRUPTED || rc == RUN_FAILED)
			rc = EXIT_OK;	/* status reports; it does not fail */
		break;
	case W_ROLLBACK:
		rc = executor_rollback(plan, &o, json, text, &err);
		break;
	default:
		rc = executor_apply(plan, &o, json, text, &err);
		break;
	}
	plan_free(plan);
	g_ptr_array_unref(term.units);
	g_hash_table_unref(term.lines);
	g_mutex_clear(&term.mu);
	if (rc < 0) {
		fprintf(stderr, "vmshift %s: %s\n", name, err->message);
		return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? EXIT_INVALID : EXIT_FAILED;
	}
	if (as_json) {
		fputs(json->str, stdout);
		if (w == W_APPLY && o.dry_run)
			fputs(text->str, stderr);
	} else if (w == W_STATUS || (w == W_APPLY && o.dry_run)) {
		fputs(text->str, stdout);
	} else {
		fputs(text->str, stderr);
	}
	if (interrupted)
		fprintf(stderr, "vmshift %s: interrupted; `vmshift resume %s` continues\n", name, argv[optind]);
	return cmd_finish_stdout(rc);
}

int
cmd_apply(int argc, char **argv)
{
	return run(W_APPLY, "apply", argc, argv);
}

int
cmd_resume(int argc, char **argv)
{
	return run(W_RESUME, "resume", argc, argv);
}

int
cmd_rollback(int argc, char **argv)
{
	return run(W_ROLLBACK, "rollback", argc, argv);
}

int
cmd_status(int argc, char **argv)
{
	return run(W_STATUS, "status", argc, argv);
}
