/* cmd_apply.c: vmshift apply | resume | rollback | status PLAN */
#include <errno.h>
#include <fcntl.h>
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
	struct events_out *events;	/* --events (the sink's one user data) */
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
	g_autoptr(GDateTime) now = NULL;
	g_autofree char *ts = NULL;

	/* the local time zone is read again (readlink /etc/localtime) for
	 * every GDateTime: not for lines nobody sees */
	if (t->quiet)
		return;
	now = g_date_time_new_now_local();
	ts = g_date_time_format(now, "%H:%M:%S");
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

/* --events FILE: one JSON object a line (docs/events.md), each written
 * whole by write(2) under a lock (worker threads call in): nothing waits
 * in a buffer, and stdout's FILE is not involved.  The first write error
 * is said once on stderr; the run goes on without events (the journal is
 * the record). */
struct events_out {
	GMutex mu;
	int fd;			/* -1: no --events */
	const char *path;	/* as given; "-": stdout */
	const char *cmd;
	gboolean failed;
};

static void
events_line(gpointer ud, const char *line)
{
	struct events_out *e = ((struct term *)ud)->events;

	g_autofree char *buf = g_strconcat(line, "\n", NULL);
	gsize len = strlen(buf), off = 0;
	ssize_t n;

	g_mutex_lock(&e->mu);
	while (!e->failed && off < len) {
		if ((n = write(e->fd, buf + off, len - off)) > 0) {
			off += (gsize)n;
		} else if (n < 0 && errno != EINTR) {
			e->failed = TRUE;
			fprintf(stderr, "vmshift %s: cannot write the events to %s (%s); the run goes on without them (its journal is the record: vmshift status)\n",
				e->cmd, strcmp(e->path, "-") ? e->path : "stdout", g_strerror(errno));
		}
	}
	g_mutex_unlock(&e->mu);
}

/* Open --events' file; -1 when none is asked or it is open, else the
 * exit code to return. */
static int
events_open(struct events_out *e, const char *cmd, struct exec_opts *o)
{
	g_mutex_init(&e->mu);
	e->cmd = cmd;
	e->fd = -1;
	if (!e->path)
		return -1;
	if (!strcmp(e->path, "-"))
		e->fd = STDOUT_FILENO;
	else if ((e->fd = open(e->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) {
		fprintf(stderr, "vmshift %s: cannot open the events file '%s': %s; name a file you can write (or - for stdout)\n",
			cmd, e->path, g_strerror(errno));
		return EXIT_INVALID;
	}
	/* a reader that went away (a closed pipe) is a write error, not death */
	signal(SIGPIPE, SIG_IGN);
	o->event = events_line;
	return -1;
}

static void
events_close(struct events_out *e)
{
	if (e->path && strcmp(e->path, "-") && e->fd >= 0 && close(e->fd) < 0 && !e->failed)
		fprintf(stderr, "vmshift %s: cannot write the events to %s (%s)\n", e->cmd, e->path, g_strerror(errno));
	g_mutex_clear(&e->mu);
}

enum which { W_APPLY, W_RESUME, W_ROLLBACK, W_STATUS };

struct args {
	struct exec_opts o;
	GPtrArray *only;	/* char *, borrowed from argv */
	gboolean as_json, quiet;
	const char *plan;
	const char *events;	/* --events FILE, or NULL */
};

/* "90" or "90s", "30m", "2h", "1d" in seconds; -1 if not a duration. */
static gint64
parse_duration(const char *s)
{
	static const struct { char unit; gint64 s; } units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char *end = NULL;
	guint64 n;

	if (!g_ascii_isdigit(*s))
		return -1;
	n = g_ascii_strtoull(s, &end, 10);
	if (n > G_MAXINT32)
		return -1;
	if (!*end)
		return (gint64)n;
	for (guint i = 0; i < G_N_ELEMENTS(units); i++)
		if (end[0] == units[i].unit && !end[1])
			return (gint64)n * units[i].s;
	return -1;
}

/* One option of @ch; -1 when taken, else the exit code to return. */
static int
take_option(const struct cmd *self, enum which w, int ch, struct args *a)
{
	switch (ch) {
	case 'n':
		if (w != W_APPLY)
			return cmd_usage_error(self, "--dry-run is for apply");
		a->o.dry_run = TRUE;
		return -1;
	case 's':
		a->o.state_dir = optarg;
		return -1;
	case 'O':
		if (w == W_STATUS || w == W_RESUME)
			return cmd_usage_error(self, "--only is for apply and rollback");
		g_ptr_array_add(a->only, optarg);
		return -1;
	case 'f':
		if (!strcmp(optarg, "rollback"))
			a->o.on_failure = ON_FAILURE_ROLLBACK;
		else if (!strcmp(optarg, "stop"))
			a->o.on_failure = ON_FAILURE_STOP;
		else
			return cmd_usage_error(self, "--on-failure must be rollback or stop, not '%s'", optarg);
		return -1;
	case 'o':
		a->as_json = !strcmp(optarg, "json");
		a->o.markdown = !strcmp(optarg, "markdown");
		if (a->o.markdown && w != W_APPLY)
			return cmd_usage_error(self, "--output markdown is for apply --dry-run (the report for a pull request)");
		if (!a->as_json && !a->o.markdown && strcmp(optarg, "text"))
			return cmd_usage_error(self, "--output must be text or json%s, not '%s'",
					       w == W_APPLY ? " (or markdown, with --dry-run)" : "", optarg);
		return -1;
	case 'A':
		a->o.accept_new_host_keys = TRUE;
		return -1;
	case 'q':
		a->quiet = TRUE;
		return -1;
	case 'F':
		if (w != W_ROLLBACK)
			return cmd_usage_error(self, "--force is for rollback");
		a->o.force = TRUE;
		return -1;
	case 'N': {
		g_autoptr(GDateTime) d = g_date_time_new_from_iso8601(optarg, NULL);

		if (w != W_APPLY && w != W_RESUME)
			return cmd_usage_error(self, "--now is for apply and resume");
		if (!d || !strpbrk(optarg + 10, "Zz+-"))
			return cmd_usage_error(self, "--now must be an RFC 3339 time with its offset (2026-12-11T22:00:00Z), not '%s'", optarg);
		a->o.now = g_date_time_to_unix(d);
		return -1;
	}
	case 'S':
		if (w != W_APPLY)
			return cmd_usage_error(self, "--save is for apply --dry-run");
		a->o.save = optarg;
		return -1;
	case 'R':
		if (w == W_STATUS)
			return cmd_usage_error(self, "--resolved is for apply, resume and rollback");
		a->o.resolved = optarg;
		return -1;
	case 'M':
		if (w != W_APPLY)
			return cmd_usage_error(self, "--max-age is for apply --resolved");
		if ((a->o.max_age_s = parse_duration(optarg)) <= 0)
			return cmd_usage_error(self, "--max-age must be a duration such as 90s, 30m, 2h or 1d, not '%s'", optarg);
		return -1;
	case 'E':
		if (w == W_STATUS)
			return cmd_usage_error(self, "--events is for apply, resume and rollback");
		a->events = optarg;
		return -1;
	case 'h':
		return cmd_print_help(self);
	default:
		return cmd_usage_error(self, "bad option");
	}
}

/* -1 when the arguments are good, else the exit code to return. */
static int
parse_args(const struct cmd *self, enum which w, int argc, char **argv, struct args *a)
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
		{ "now", required_argument, NULL, 'N' },
		{ "save", required_argument, NULL, 'S' },
		{ "resolved", required_argument, NULL, 'R' },
		{ "max-age", required_argument, NULL, 'M' },
		{ "events", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "nqho:", opts, NULL)) != -1)
		if ((rc = take_option(self, w, ch, a)) >= 0)
			return rc;
	if (a->events && a->o.dry_run)
		return cmd_usage_error(self, "--events is for runs, not --dry-run (its report is --output json)");
	if (a->events && !strcmp(a->events, "-") && a->as_json)
		return cmd_usage_error(self, "--events - needs stdout, which --output json gives the report; name a file for the events");
	if (a->o.markdown && !a->o.dry_run)
		return cmd_usage_error(self, "--output markdown needs --dry-run: it is the report of what apply would do");
	/* --only takes one id; more ids may follow as plain arguments */
	if (argc - optind < 1)
		return cmd_usage_error(self, "name the plan file");
	for (int i = optind + 1; i < argc; i++) {
		if (!a->only->len)
			return cmd_usage_error(self, "unexpected argument '%s'", argv[i]);
		g_ptr_array_add(a->only, argv[i]);
	}
	if (a->o.save && !a->o.dry_run)
		return cmd_usage_error(self, "--save writes what a dry run resolved: add --dry-run");
	if (a->o.resolved && a->o.dry_run)
		return cmd_usage_error(self, "--resolved runs a resolved plan: drop --dry-run (a dry run resolves afresh)");
	if (a->o.max_age_s && !a->o.resolved)
		return cmd_usage_error(self, "--max-age goes with --resolved");
	if (a->only->len) {
		g_ptr_array_add(a->only, NULL);
		a->o.only = (char **)a->only->pdata;
	}
	a->plan = argv[optind];
	return -1;
}

static void
term_init(struct term *t, gboolean quiet, struct exec_opts *o)
{
	g_mutex_init(&t->mu);
	t->quiet = quiet;
	t->tty = !quiet && isatty(STDERR_FILENO) && g_strcmp0(g_getenv("TERM"), "dumb") != 0;
	t->units = g_ptr_array_new_with_free_func(g_free);
	t->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	o->log = quiet ? NULL : log_line;	/* -q: log lines are not even formatted */
	if (t->tty)
		o->progress = progress_line;
	o->log_ud = t;
}

static void
term_release(struct term *t)
{
	g_ptr_array_unref(t->units);
	g_hash_table_unref(t->lines);
	g_mutex_clear(&t->mu);
}

static int
execute(enum which w, struct plan *plan, const struct exec_opts *o, GString *json, GString *text, GError **err)
{
	int rc;

	switch (w) {
	case W_STATUS:
		rc = executor_status(plan, o, json, text, err);
		if (rc == RUN_INTERRUPTED || rc == RUN_FAILED)
			rc = EXIT_OK;	/* status reports; it does not fail */
		return rc;
	case W_ROLLBACK:
		return executor_rollback(plan, o, json, text, err);
	default:
		return executor_apply(plan, o, json, text, err);
	}
}

/* The report: JSON on stdout if asked; the dry-run's and status's text
 * on stdout; a run's summary on stderr, below its log. */
static void
print_report(enum which w, const struct args *a, GString *json, GString *text)
{
	if (a->as_json) {
		fputs(json->str, stdout);
		if (w == W_APPLY && a->o.dry_run)
			fputs(text->str, stderr);
	} else if (w == W_STATUS || (w == W_APPLY && a->o.dry_run)) {
		fputs(text->str, stdout);
	} else {
		fputs(text->str, stderr);
	}
}

static int
run(const struct cmd *self, enum which w, int argc, char **argv)
{
	g_autoptr(GPtrArray) only = g_ptr_array_new();
	struct args a = { .o = { .on_failure = ON_FAILURE_ROLLBACK, .interrupted = &interrupted, .version = VMSHIFT_VERSION },
			  .only = only };
	g_autoptr(GString) json = g_string_new(NULL);
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) err = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	struct events_out events = { 0 };
	struct term term = { .events = &events };
	struct plan *plan;
	int rc;

	if ((rc = parse_args(self, w, argc, argv, &a)) >= 0)
		return rc;
	if (!(plan = cmd_load_plan(a.plan)))
		return EXIT_INVALID;
	a.o.resume = w == W_RESUME;
	events.path = a.events;
	if ((rc = events_open(&events, self->name, &a.o)) >= 0) {
		plan_free(plan);
		g_mutex_clear(&events.mu);
		return rc;
	}
	term_init(&term, a.quiet, &a.o);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = execute(w, plan, &a.o, a.as_json ? json : NULL, text, &err);	/* JSON only when asked: it costs */
	plan_free(plan);
	term_release(&term);
	events_close(&events);
	if (rc < 0) {
		fprintf(stderr, "vmshift %s: %s\n", self->name, err->message);
		return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? EXIT_INVALID : EXIT_FAILED;
	}
	print_report(w, &a, json, text);
	if (interrupted)
		fprintf(stderr, "vmshift %s: interrupted; `vmshift resume %s` continues\n", self->name, a.plan);
	return cmd_finish_stdout(rc);
}

int
cmd_apply(const struct cmd *self, int argc, char **argv)
{
	return run(self, W_APPLY, argc, argv);
}

int
cmd_resume(const struct cmd *self, int argc, char **argv)
{
	return run(self, W_RESUME, argc, argv);
}

int
cmd_rollback(const struct cmd *self, int argc, char **argv)
{
	return run(self, W_ROLLBACK, argc, argv);
}

int
cmd_status(const struct cmd *self, int argc, char **argv)
{
	return run(self, W_STATUS, argc, argv);
}
