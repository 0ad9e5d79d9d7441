/* step_owner.c: who owns a copied file on the target.  The source file's
 * owner and group by name, where the target knows the names (the IDs of
 * one name differ between hosts); else the user and group the target's
 * qemu.conf runs qemu as; else as the copy made it. */
#include <stdlib.h>
#include <string.h>

#include "step_common.h"

#define ID_FILE_MAX (4 << 20)
#define QEMU_CONF "/etc/libvirt/qemu.conf"

enum { ID_PASSWD, ID_GROUP, ID_QEMU_CONF };
static const char *const id_paths[] = { "/etc/passwd", "/etc/group", QEMU_CONF };

/* One of @hc's files that say who is who, read once per run (every copy
 * asks): borrowed, alive as long as the hosts are.  qemu.conf may be
 * unreadable (""); the others must be read. */
static const char *
id_text(struct hostconn *hc, struct sshx *s, int which, GError **err)
{
	g_autofree char *buf = NULL;
	g_autoptr(GError) e = NULL;
	const char *known;
	gsize got = 0;

	g_mutex_lock(&hc->mu);
	known = hc->id_text[which];
	g_mutex_unlock(&hc->mu);
	if (known)
		return known;
	buf = g_malloc(ID_FILE_MAX + 1);
	if (sshx_read_head(s, id_paths[which], buf, ID_FILE_MAX, &got, &e) < 0) {
		if (which != ID_QEMU_CONF) {
			g_propagate_error(err, g_steal_pointer(&e));
			return NULL;
		}
		got = 0;
	}
	buf[got] = '\0';
	g_mutex_lock(&hc->mu);
	if (!hc->id_text[which])
		hc->id_text[which] = g_steal_pointer(&buf);
	known = hc->id_text[which];
	g_mutex_unlock(&hc->mu);
	return known;
}

/* In passwd/group text: the name of @id, or the id of @name (*id set). */
static char *
id_lookup(const char *text, const char *name, guint32 *id)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], ":", 4);
		char *end = NULL;
		guint64 v;

		if (g_strv_length(f) < 3 || !*f[0] || f[0][0] == '#')
			continue;
		v = g_ascii_strtoull(f[2], &end, 10);
		if (!end || *end || v > G_MAXUINT32)
			continue;
		if (name && !strcmp(f[0], name)) {
			*id = (guint32)v;
			return g_strdup(f[0]);
		}
		if (!name && (guint32)v == *id)
			return g_strdup(f[0]);
	}
	return NULL;
}

/* qemu.conf's `@key = "value"` (uncommented), or NULL. */
static char *
conf_value(const char *text, const char *key)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]), *q1, *q2;
		gsize k = strlen(key);

		if (strncmp(l, key, k) || (l[k] != ' ' && l[k] != '=' && l[k] != '\t'))
			continue;
		if ((q1 = strchr(l + k, '"')) && (q2 = strchr(q1 + 1, '"')))
			return g_strndup(q1 + 1, q2 - q1 - 1);
	}
	return NULL;
}

/* The target's id for a name (qemu.conf also allows "+N": a number). */
static gboolean
target_id(const char *ids, const char *name, guint32 *id)
{
	g_autofree char *n = NULL;

	if (name && name[0] == '+') {
		char *end = NULL;
		guint64 v = g_ascii_strtoull(name + 1, &end, 10);

		if (end && !*end && v <= G_MAXUINT32) {
			*id = (guint32)v;
			return TRUE;
		}
		return FALSE;
	}
	return name && (n = id_lookup(ids, name, id)) != NULL;
}

int
step_copy_owner(struct sshx *ss, const char *sp, struct sshx *ds, const char *tp, struct unit *u, GError **err)
{
	const char *spw, *sgr, *tpw, *tgr, *conf;
	g_autofree char *uname = NULL, *gname = NULL, *cu = NULL, *cg = NULL;
	guint32 suid = 0, sgid = 0, uid = 0, gid = 0, cur_u = 0, cur_g = 0;
	gboolean have_u, have_g;

	if (sshx_owner(ss, sp, &suid, &sgid, err) < 0 || !(spw = id_text(u->src, ss, ID_PASSWD, err)) ||
	    !(sgr = id_text(u->src, ss, ID_GROUP, err)) || !(tpw = id_text(u->dst, ds, ID_PASSWD, err)) ||
	    !(tgr = id_text(u->dst, ds, ID_GROUP, err)))
		return -1;
	uname = id_lookup(spw, NULL, &suid);
	gname = id_lookup(sgr, NULL, &sgid);
	have_u = target_id(tpw, uname, &uid);
	have_g = target_id(tgr, gname, &gid);
	if (!have_u || !have_g) {
		if (!(conf = id_text(u->dst, ds, ID_QEMU_CONF, err)))
			return -1;
		cu = conf_value(conf, "user");
		cg = conf_value(conf, "group");
		if (!have_u)
			have_u = target_id(tpw, cu, &uid);
		if (!have_g)
			have_g = target_id(tgr, cg, &gid);
	}
	if (!have_u && !have_g)
		return 0;	/* nothing names an owner there: as the copy made it */
	if (sshx_owner(ds, tp, &cur_u, &cur_g, err) < 0)
		return -1;
	uid = have_u ? uid : cur_u;
	gid = have_g ? gid : cur_g;
	if (uid == cur_u && gid == cur_g)
		return 0;	/* a user that is not root may copy what it owns */
	if (sshx_chown(ds, tp, uid, gid, err) < 0) {
		g_prefix_error(err, "%s: ", u->id);
		return -1;
	}
	return 0;
}
