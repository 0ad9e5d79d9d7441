/* check_settings.c: the rules of a migration's settings once defaults
 * are applied: a mode and the blocks that apply to it, live's keys
 * against each other, what live.fallback's mode needs, SSH access, and
 * verify.tcp's address. */
#include <string.h>

#include "plan_priv.h"

static gboolean
has_ssh(const struct host *h)
{
	return h && h->ssh.host;
}

/* disks.shared applies to every mode; the keys of copy-disks and
 * delete-source-disks only to offline-with-scp-disk (or to a live
 * migration that falls back to it).  Only what the migration itself
 * wrote counts: a default applies where it can. */
static void
check_disks_mode(struct pctx *c, const struct settings *s)
{
	static const char *const copy_keys[] = {
		[DF_VERIFY] = "verify", [DF_DELETE_SOURCE] = "delete_source", [DF_OVERWRITE] = "overwrite",
		[DF_TRANSFER] = "transfer",
	};
	g_autoptr(GString) keys = g_string_new(NULL);
	guint n = 0;

	for (guint f = 0; f < G_N_ELEMENTS(copy_keys); f++) {
		if (!(s->disks.given & (1u << f)))
			continue;
		g_string_append_printf(keys, "%s'%s'", n ? ", " : "", copy_keys[f]);
		n++;
	}
	if (n)
		diags_add(c->dg, s->disks_at,
			  "%s in a 'disks' block appl%s only to mode offline-with-scp-disk%s; this migration's mode is %s (in every mode a 'disks' block may set 'shared')",
			  keys->str, n == 1 ? "ies" : "y",
			  s->mode == MODE_LIVE ? " (or to live with live.fallback: offline-with-scp-disk)" : "",
			  mode_name(s->mode));
}

/* offline-with-scp-disk copies over SSH from the source to the target
 * (every candidate of a pool); @why says which mode asks, for a
 * fallback. */
static void
check_ssh(struct pctx *c, const struct migration *m, const char *why)
{
	if (m->from && !m->from->uri_bad && !has_ssh(m->from))
		diags_add(c->dg, m->from_at,
			  "%s copies disks over SSH, but host '%s' has no SSH access: give it an ssh: block or a qemu+ssh:// URI",
			  why, m->from->name);
	for (guint i = 0; i < m->pool->len; i++) {
		const struct host *h = m->pool->pdata[i];

		if (!h->uri_bad && !has_ssh(h))
			diags_add(c->dg, m->pool_at->len ? g_array_index(m->pool_at, struct pos, i) : m->to_at,
				  "%s copies disks over SSH, but host '%s' has no SSH access: give it an ssh: block or a qemu+ssh:// URI",
				  why, h->name);
	}
}

static void check_tcp(struct pctx *c, const char *tcp, struct pos at);

static void
check_live(struct pctx *c, const struct migration *m)
{
	const struct live_opts *l = &m->set.live;

	if (l->on_timeout == ON_TIMEOUT_POSTCOPY && !l->postcopy)
		diags_add(c->dg, l->at[LF_ON_TIMEOUT], "on_timeout: postcopy needs postcopy: true");
	if (l->on_timeout != ON_TIMEOUT_ABORT && l->timeout_s == 0)
		diags_add(c->dg, l->at[LF_ON_TIMEOUT],
			  "on_timeout: %s needs timeout_s > 0 (0 means no timeout)",
			  l->on_timeout == ON_TIMEOUT_SUSPEND ? "suspend" : "postcopy");
	/* 0: not set, the maximum from the start */
	if (l->initial_downtime_ms && l->initial_downtime_ms > l->max_downtime_ms)
		diags_add(c->dg, l->at[LF_INITIAL_DOWNTIME_MS],
			  "initial_downtime_ms (%" G_GINT64_FORMAT ") must not exceed max_downtime_ms (%" G_GINT64_FORMAT
			  "): the allowed downtime steps up from the first to the second",
			  l->initial_downtime_ms, l->max_downtime_ms);
	/* the fallback mode's own rules: cold has none a plan can break;
	 * offline-with-scp-disk needs SSH on both ends */
	if (l->fallback == FALLBACK_OFFLINE_SCP)
		check_ssh(c, m, "live.fallback: offline-with-scp-disk");
}

void
check_settings(struct pctx *c, struct migration *m)
{
	const struct settings *s = &m->set;
	const struct live_opts *l = &s->live;

	if (s->mode == MODE_UNSET) {
		if (s->at[SF_MODE].line || c->plan->defaults.at[SF_MODE].line)
			return;	/* written, but not valid: reported already */
		diags_add(c->dg, m->at,
			  "migration '%s' has no mode; set mode: cold, live or offline-with-scp-disk here or in defaults",
			  m->id);
		return;
	}
	if (s->live_at.line && s->mode != MODE_LIVE) {
		gboolean fallback = (l->given >> LF_FALLBACK) & 1;

		if (fallback)
			diags_add(c->dg, l->at[LF_FALLBACK],
				  "live.fallback applies only to mode: live (it is the mode a live migration that failed is done again in); this migration's mode is %s",
				  mode_name(s->mode));
		if (!fallback || (l->given & ~(1u << LF_FALLBACK)))
			diags_add(c->dg, s->live_at, "a 'live' block applies only to mode live; this migration's mode is %s",
				  mode_name(s->mode));
	}
	if (s->disks_at.line && s->mode != MODE_OFFLINE_SCP &&
	    !(s->mode == MODE_LIVE && l->fallback == FALLBACK_OFFLINE_SCP))
		check_disks_mode(c, s);
	if (s->mode == MODE_LIVE)
		check_live(c, m);
	if (s->mode == MODE_OFFLINE_SCP)
		check_ssh(c, m, "offline-with-scp-disk");
	if (s->verify.given & (1u << VF_TCP))
		check_tcp(c, s->verify.tcp, s->verify.at[VF_TCP]);
}

/* ---- verify.tcp ---- */

static gboolean
host_chars(const char *s, gsize n, const char *extra)
{
	for (gsize i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && !strchr(extra, s[i]))
			return FALSE;
	return TRUE;
}

/* "HOST:PORT" or "[IPV6]:PORT"; HOST may hold {vm}, the VM's name at
 * run time.  A problem is reported at @at. */
static void
check_tcp(struct pctx *c, const char *tcp, struct pos at)
{
	g_autofree char *plain = NULL;
	const char *colon, *port;
	gsize host_len;
	gint64 p;

	/* {vm} stands for a name: check the rest as if it were one */
	{
		g_auto(GStrv) parts = g_strsplit(tcp, "{vm}", -1);

		plain = g_strjoinv("vm", parts);
	}
	if (strpbrk(plain, "{}")) {
		diags_add(c->dg, at, "'tcp' may hold only the placeholder {vm} (the VM's name), not '%s'", tcp);
		return;
	}
	if (plain[0] == '[') {
		const char *close = strchr(plain, ']');

		if (!close || close == plain + 1 || close[1] != ':' ||
		    !host_chars(plain + 1, close - plain - 1, ":.%")) {
			diags_add(c->dg, at, "'tcp' must be HOST:PORT or [IPV6]:PORT, such as db.example.net:5432 or [2001:db8::1]:22, not '%s'",
				  tcp);
			return;
		}
		colon = close + 1;
		host_len = close - plain - 1;
	} else {
		colon = strrchr(plain, ':');
		host_len = colon ? (gsize)(colon - plain) : 0;
		if (colon && memchr(plain, ':', host_len)) {
			diags_add(c->dg, at, "'tcp' has an IPv6 address without brackets: write it as [ADDRESS]:PORT, not '%s'",
				  tcp);
			return;
		}
		if (!colon || host_len == 0 || !host_chars(plain, host_len, ".-_")) {
			diags_add(c->dg, at,
				  "'tcp' must be HOST:PORT (a host name or address of letters, digits, '.', '-', '_' and {vm}, the VM's name), such as {vm}.example.net:22, not '%s'",
				  tcp);
			return;
		}
	}
	port = colon + 1;
	p = *port != '0' && strspn(port, "0123456789") == strlen(port) && strlen(port) <= 5 ?
	    g_ascii_strtoll(port, NULL, 10) : -1;
	if (p < 1 || p > 65535)
		diags_add(c->dg, at, "'tcp' needs a port from 1 to 65535 after the last ':', not '%s' (in '%s')", port, tcp);
}

/* What only defaults: holds, checked once rather than in every
 * migration that inherits it. */
void
check_defaults(struct pctx *c)
{
	const struct settings *d = &c->plan->defaults;

	if (d->verify.given & (1u << VF_TCP))
		check_tcp(c, d->verify.tcp, d->verify.at[VF_TCP]);
}
