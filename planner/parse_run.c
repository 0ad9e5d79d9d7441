/* parse_run.c: the plan-level keys about how a run goes rather than
 * what a migration is: placement: (how a to: list's VMs are placed) and
 * window: (when migrations may start).  Neither is in a migration's
 * fingerprint: the executor journals what it decided from them. */
#include <math.h>
#include <string.h>

#include "plan_priv.h"

#define VCPU_RATIO_MAX 1000.0

static const char *const policy_names[] = { "spread", "pack", NULL };

/* ---- placement ---- */

/* placement.max_vcpu_ratio: a number >= 0 (0: no limit), integer or
 * fractional. */
static void
read_vcpu_ratio(struct pctx *c, struct ynode *v)
{
	const char *s = ydoc_str(v);
	enum ykind k = ydoc_kind(v);
	double d;

	if (k != YK_INT && k != YK_FLOAT) {
		gboolean numeric = k == YK_STR && s && *s && strspn(s, "0123456789.") == strlen(s);

		if (s && k != YK_NULL)
			diags_add(c->dg, ydoc_pos(v), "'max_vcpu_ratio' must be a number, such as 4 or 1.5, not %s '%s'%s",
				  ydoc_kind_name(k), s, numeric ? " (write it without quotes)" : "");
		else
			diags_add(c->dg, ydoc_pos(v), "'max_vcpu_ratio' must be a number, such as 4 or 1.5, not %s",
				  ydoc_kind_name(k));
		return;
	}
	d = g_ascii_strtod(s, NULL);
	if (!isfinite(d) || d < 0 || d > VCPU_RATIO_MAX) {
		diags_add(c->dg, ydoc_pos(v),
			  "'max_vcpu_ratio' must be between 0 (no limit) and %g vCPUs per host CPU, not %s",
			  VCPU_RATIO_MAX, s);
		return;
	}
	c->plan->placement.max_vcpu_ratio = d;
}

/* One group of placement.anti_affinity: one or more patterns (one
 * pattern such as "db-.*" is a group of every VM it matches). */
static void
read_affinity_group(struct pctx *c, struct ynode *v)
{
	struct affinity_group *g;
	guint n = ydoc_seq_len(v);

	if (ydoc_kind(v) != YK_SEQ || n < 1) {
		diags_add(c->dg, ydoc_pos(v),
			  "each group of 'anti_affinity' must be a list of VM names or patterns, not %s",
			  ydoc_kind(v) != YK_SEQ ? ydoc_kind_name(ydoc_kind(v)) : "an empty list");
		return;
	}
	g = g_new0(struct affinity_group, 1);
	g->patterns = g_ptr_array_new_with_free_func(shared_pattern_free);
	g->at = ydoc_pos(v);
	for (guint i = 0; i < n; i++) {
		struct ynode *item = ydoc_seq_item(&c->y, v, i);
		struct shared_pattern *sp;

		if (ydoc_kind(item) != YK_STR || !*ydoc_str(item)) {
			diags_add(c->dg, ydoc_pos(item),
				  "each entry of an 'anti_affinity' group must be a VM name or a PCRE2 pattern, not %s",
				  ydoc_kind(item) == YK_STR ? "an empty string" : ydoc_kind_name(ydoc_kind(item)));
			continue;
		}
		if (has_nul(item)) {
			diags_add(c->dg, ydoc_pos(item),
				  "a pattern in 'anti_affinity' must not contain a NUL character (write \\x00 to match one)");
			continue;
		}
		sp = g_new0(struct shared_pattern, 1);
		sp->pattern = g_strdup(ydoc_str(item));
		sp->at = ydoc_pos(item);
		if (affinity_pattern_compile(c, sp, item) < 0) {
			shared_pattern_free(sp);
			continue;
		}
		g_ptr_array_add(g->patterns, sp);
	}
	g_ptr_array_add(c->plan->placement.anti_affinity, g);
}

static void
read_placement_key(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	(void)k;
	(void)ud;
	if (!strcmp(key, "max_vcpu_ratio")) {
		read_vcpu_ratio(c, v);
		return;
	}
	if (!expect_kind(c, key, v, YK_SEQ))
		return;
	for (guint i = 0; i < ydoc_seq_len(v); i++)
		read_affinity_group(c, ydoc_seq_item(&c->y, v, i));
}

void
read_placement(struct pctx *c, struct ynode *k, struct ynode *v)
{
	static const struct field f[] = {
		{ "policy", F_ENUM, offsetof(struct placement, policy), 0, 0, policy_names, 0 },
		{ "reserve_memory_mib", F_INT, offsetof(struct placement, reserve_memory_mib), 0, G_MAXINT32, NULL, 0 },
	};
	static const struct ftable t = { "placement", f, G_N_ELEMENTS(f) };
	static const char *const extra[] = { "max_vcpu_ratio", "anti_affinity", NULL };

	c->plan->placement.at = ydoc_pos(k);
	if (!expect_map(c, "placement", v))
		return;
	read_map(c, v, "placement", &t, &c->plan->placement, NULL, NULL, extra, read_placement_key, NULL);
}

/* ---- window ---- */

/* An RFC 3339 date-time: date, 'T' (or 't' or a space), time, optional
 * fraction, then 'Z' or a numeric offset. */
#define RFC3339_BODY "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?"
#define RFC3339_ZONE "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"

/* @s as unix seconds; FALSE (reported at @v) if it is not an RFC 3339
 * timestamp with a timezone. */
static gboolean
parse_timestamp(struct pctx *c, const char *key, struct ynode *v, gint64 *out)
{
	const char *s = ydoc_str(v);
	g_autofree char *norm = NULL;
	g_autoptr(GDateTime) dt = NULL;

	if (ydoc_kind(v) != YK_STR) {
		diags_add(c->dg, ydoc_pos(v),
			  "'%s' must be an RFC 3339 timestamp such as 2026-12-11T22:00:00Z, not %s", key,
			  ydoc_kind_name(ydoc_kind(v)));
		return FALSE;
	}
	if (g_regex_match_simple("^" RFC3339_BODY "$", s, 0, 0)) {
		diags_add(c->dg, ydoc_pos(v),
			  "'%s' has no timezone: '%s' could be any of 24 hours; add Z (UTC) or an offset such as +01:00",
			  key, s);
		return FALSE;
	}
	if (!g_regex_match_simple("^" RFC3339_BODY RFC3339_ZONE "$", s, 0, 0)) {
		diags_add(c->dg, ydoc_pos(v),
			  "'%s' must be an RFC 3339 timestamp such as 2026-12-11T22:00:00Z or 2026-12-11T23:00:00+01:00, not '%s'",
			  key, s);
		return FALSE;
	}
	norm = g_strdup(s);
	/* GLib reads an upper-case 'T' and 'Z' only */
	norm[10] = 'T';
	if (norm[strlen(norm) - 1] == 'z')
		norm[strlen(norm) - 1] = 'Z';
	if (!(dt = g_date_time_new_from_iso8601(norm, NULL))) {
		diags_add(c->dg, ydoc_pos(v), "'%s' is not a valid date and time: '%s'", key, s);
		return FALSE;
	}
	*out = g_date_time_to_unix(dt);
	if (*out <= 0) {	/* 0 is "unset" in struct window */
		diags_add(c->dg, ydoc_pos(v), "'%s' must be later than 1970-01-01T00:00:00Z, not '%s'", key, s);
		return FALSE;
	}
	return TRUE;
}

struct window_ud {
	gboolean ok[2];		/* not_before, not_after read */
	const char *text[2];	/* as written, borrowed from the tree */
};

static void
read_window_key(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	struct window_ud *w = ud;
	struct window *win = &c->plan->window;

	(void)k;
	if (!strcmp(key, "not_before")) {
		win->not_before_at = ydoc_pos(v);
		w->ok[0] = parse_timestamp(c, key, v, &win->not_before);
		w->text[0] = ydoc_str(v);
	} else {
		win->not_after_at = ydoc_pos(v);
		w->ok[1] = parse_timestamp(c, key, v, &win->not_after);
		w->text[1] = ydoc_str(v);
	}
}

void
read_window(struct pctx *c, struct ynode *k, struct ynode *v)
{
	static const struct field f[] = {
		{ "assumed_mib_s", F_INT, offsetof(struct window, assumed_mib_s), 1, G_MAXINT32, NULL, 0 },
	};
	static const struct ftable t = { "window", f, G_N_ELEMENTS(f) };
	static const char *const extra[] = { "not_before", "not_after", NULL };
	struct window *win = &c->plan->window;
	struct window_ud w = { { FALSE, FALSE }, { NULL, NULL } };

	win->at = ydoc_pos(k);
	if (!expect_map(c, "window", v))
		return;
	read_map(c, v, "window", &t, win, NULL, NULL, extra, read_window_key, &w);
	if (w.ok[0] && w.ok[1] && win->not_after <= win->not_before)
		diags_add(c->dg, win->not_after_at,
			  "'not_after' (%s) must be later than 'not_before' (%s): the window would never open",
			  w.text[1], w.text[0]);
}
