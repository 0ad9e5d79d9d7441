/* bridges.c: the Linux bridges a remapped definition names, on the
 * target: preflight's check, and prepare.create_bridges (prepare-target
 * creates a missing one as an operator would, `ip link add NAME type
 * bridge`, and its undo deletes it again if nothing is attached). */
#include <string.h>

#include "step_verify.h"
#include "steps.h"

enum bridge_state { BRIDGE_NONE, BRIDGE_THERE, BRIDGE_OTHER };

gboolean
bridge_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 15 || !strcmp(name, ".") || !strcmp(name, ".."))
		return FALSE;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
			return FALSE;
	return TRUE;
}

/* Is @name a bridge on @ds's host, some other interface, or nothing? */
static int
bridge_state(struct sshx *ds, const char *name, enum bridge_state *out, GError **err)
{
	g_autofree char *dev = g_strdup_printf("/sys/class/net/%s", name);
	g_autofree char *br = g_strdup_printf("/sys/class/net/%s/bridge", name);
	gboolean exists = FALSE;

	*out = BRIDGE_NONE;
	if (sshx_stat(ds, dev, &exists, NULL, NULL, err) < 0)
		return -1;
	if (!exists)
		return 0;
	*out = BRIDGE_OTHER;
	if (sshx_stat(ds, br, &exists, NULL, NULL, err) < 0)
		return -1;
	if (exists)
		*out = BRIDGE_THERE;
	return 0;
}

void
bridges_preflight(struct unit *u, GPtrArray *missing, GPtrArray *problems)
{
	g_autoptr(GPtrArray) bridges = domxml_bridges(u->txml);
	gboolean create = u->m->set.prepare.create_bridges;
	const char *h = u->dst->h->name;
	g_autoptr(GError) e = NULL;
	struct host_lock lk;
	struct sshx *ds;

	if (!bridges->len)
		return;
	host_lock(&lk, u->dst, NULL);
	ds = host_has_ssh(u->dst) ? host_ssh(u->dst, &e) : NULL;
	for (guint i = 0; i < bridges->len; i++) {
		const char *name = bridges->pdata[i];
		enum bridge_state st;

		if (!ds) {
			step_note(u, "bridge %s: cannot check it exists on %s (no SSH access%s%s)", name, h,
				  e ? ": " : "", e ? e->message : "");
		} else if (bridge_state(ds, name, &st, &e) < 0) {
			g_ptr_array_add(problems, g_strdup(e->message));
			g_clear_error(&e);
		} else if (st == BRIDGE_THERE) {
			continue;
		} else if (!create) {
			g_ptr_array_add(missing, g_strdup_printf("bridge '%s'", name));
		} else if (st == BRIDGE_OTHER) {
			g_ptr_array_add(problems, g_strdup_printf(
				"'%s' on %s is a network interface but not a bridge: prepare.create_bridges cannot create the bridge; remap it in the plan",
				name, h));
		} else if (!bridge_name_ok(name)) {
			g_ptr_array_add(problems, g_strdup_printf(
				"bridge '%s' is missing on %s, and prepare.create_bridges creates only names of 1 to 15 characters of A-Z a-z 0-9 _ . - (not . or ..): create it by hand or remap it",
				name, h));
		} else {
			step_note(u, "bridge %s missing on %s: prepare-target creates it (ip link add %s type bridge)", name,
				  h, name);
		}
	}
	host_unlock(&lk);
}

static int
ip_link(struct sshx *ds, const char *h, const char *verb, const char *name, const char *a3, const char *a4,
	GError **err)
{
	const char *argv[] = { "ip", "link", verb, name, a3, a4, NULL };
	g_autoptr(GError) e = NULL;

	if (sshx_exec(ds, argv, NULL, NULL, NULL, &e) < 0) {
		g_autofree char *line = g_strjoinv(" ", (char **)argv);

		return step_fail(err, "on %s: '%s' failed: %s", h, line, e->message);
	}
	return 0;
}

int
bridges_prepare(struct exec *x, struct unit *u, struct sshx *ds, GError **err)
{
	g_autoptr(GPtrArray) bridges = NULL;
	const char *h = u->dst->h->name;

	if (!u->m->set.prepare.create_bridges)
		return 0;
	bridges = domxml_bridges(u->txml);
	for (guint i = 0; i < bridges->len; i++) {
		const char *name = bridges->pdata[i];
		gboolean ours = facts_array_has(fact_array(u, FACT_PREP_BRIDGES), name);
		enum bridge_state st;

		if (bridge_state(ds, name, &st, err) < 0)
			return -1;
		if (st == BRIDGE_OTHER)
			return step_fail(err, "'%s' on %s is a network interface but not a bridge; remap it in the plan", name, h);
		if (st == BRIDGE_THERE) {
			/* made by an attempt that stopped before it was up */
			if (ours && ip_link(ds, h, "set", name, "up", NULL, err) < 0)
				return -1;
			continue;	/* somebody's, or ours from before: nothing to do */
		}
		if (!bridge_name_ok(name))
			return step_fail(err, "bridge '%s' is missing on %s and is no name vmshift creates (1 to 15 of A-Z a-z 0-9 _ . -)",
					 name, h);
		/* the name first: a crash right after `ip link add` must still
		 * let undo delete it */
		if (!ours && unit_record_append(x, u, STEP_PREPARE_TARGET, FACT_PREP_BRIDGES, name, err) < 0)
			return -1;
		sink_log(&x->sink, "%s: creating bridge %s on %s", u->id, name, h);
		if (ip_link(ds, h, "add", name, "type", "bridge", err) < 0 || ip_link(ds, h, "set", name, "up", NULL, err) < 0)
			return -1;
	}
	return 0;
}

int
bridges_undo(struct exec *x, struct unit *u, struct sshx *ds, GError **err)
{
	JsonArray *ours = fact_array(u, FACT_PREP_BRIDGES);
	const char *h = u->dst->h->name;

	for (guint i = ours ? json_array_get_length(ours) : 0; i-- > 0;) {
		const char *name = json_array_get_string_element(ours, i);
		g_autofree char *brif = NULL, *out = NULL;
		const char *ls[] = { "ls", "-A", "--", NULL, NULL };
		enum bridge_state st;

		if (!name || !bridge_name_ok(name)) {
			sink_log(&x->sink, "%s: the journal names bridge '%s', which is no name vmshift creates: left alone",
				 u->id, name ? name : "(null)");
			continue;
		}
		if (bridge_state(ds, name, &st, err) < 0)
			return -1;
		if (st == BRIDGE_NONE)
			continue;
		if (st == BRIDGE_OTHER) {
			sink_log(&x->sink, "%s: %s on %s is no bridge any more: left alone", u->id, name, h);
			continue;
		}
		brif = g_strdup_printf("/sys/class/net/%s/brif", name);
		ls[3] = brif;
		if (sshx_exec(ds, ls, &out, NULL, NULL, err) < 0)
			return -1;
		g_strstrip(out);
		if (*out) {
			g_strdelimit(out, "\n", ' ');
			sink_log(&x->sink, "%s: bridge %s on %s, which vmshift created, has interfaces attached (%s): left in place",
				 u->id, name, h, out);
			continue;
		}
		sink_log(&x->sink, "%s: deleting bridge %s on %s (vmshift created it)", u->id, name, h);
		if (ip_link(ds, h, "delete", name, "type", "bridge", err) < 0)
			return -1;
	}
	return 0;
}
