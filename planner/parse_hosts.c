/* parse_hosts.c: the hosts: block, each host's keys, its ssh: access
 * (filled from a qemu+ssh URI where the block leaves keys out) and its
 * image_dirs. */
#include <string.h>

#include "plan_priv.h"

struct host_ud {
	struct host *h;
	struct ynode *ssh;
};

enum dir_problem { DIR_RELATIVE, DIR_ROOT, DIR_DOT, DIR_DOTDOT };

/* The directory @s normalised (no empty component, so no trailing or
 * doubled '/'), or NULL with *why set: not absolute, "/" itself, or with
 * a "." or ".." component. */
static char *
image_dir_normalise(const char *s, enum dir_problem *why)
{
	g_auto(GStrv) parts = NULL;
	g_autoptr(GString) out = g_string_new(NULL);

	if (*s != '/') {
		*why = DIR_RELATIVE;
		return NULL;
	}
	parts = g_strsplit(s, "/", -1);
	for (guint i = 0; parts[i]; i++) {
		if (!*parts[i])
			continue;
		if (!strcmp(parts[i], ".") || !strcmp(parts[i], "..")) {
			*why = parts[i][1] ? DIR_DOTDOT : DIR_DOT;
			return NULL;
		}
		g_string_append_c(out, '/');
		g_string_append(out, parts[i]);
	}
	if (!out->len) {
		*why = DIR_ROOT;
		return NULL;
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* hosts.NAME.image_dirs: a list of absolute directories, each once. */
static void
read_image_dirs(struct pctx *c, struct host *h, struct ynode *k, struct ynode *v)
{
	/* normalised directory (borrowed from h->image_dirs) -> its item */
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	h->image_dirs_at = ydoc_pos(k);
	if (!expect_kind(c, "image_dirs", v, YK_SEQ))
		return;
	for (guint i = 0; i < ydoc_seq_len(v); i++) {
		struct ynode *item = ydoc_seq_item(&c->y, v, i);
		const char *s = ydoc_str(item);
		enum dir_problem why = DIR_RELATIVE;
		struct ynode *first;
		char *dir;

		if (ydoc_kind(item) != YK_STR || !*s) {
			diags_add(c->dg, ydoc_pos(item), "each entry of 'image_dirs' must be an absolute directory path, not %s",
				  ydoc_kind(item) == YK_STR ? "an empty string" : ydoc_kind_name(ydoc_kind(item)));
			continue;
		}
		if (has_nul(item)) {
			diags_add(c->dg, ydoc_pos(item), "an entry of 'image_dirs' must not contain a NUL character");
			continue;
		}
		if (!(dir = image_dir_normalise(s, &why))) {
			if (why == DIR_RELATIVE)
				diags_add(c->dg, ydoc_pos(item),
					  "'image_dirs' entry '%s' must be an absolute path, starting with '/'", s);
			else if (why == DIR_ROOT)
				diags_add(c->dg, ydoc_pos(item),
					  "'image_dirs' entry '%s' is the root directory: vmshift could write images anywhere, which image_dirs is there to prevent; name the directories it may write below",
					  s);
			else
				diags_add(c->dg, ydoc_pos(item),
					  "'image_dirs' entry '%s' must not have a '%s' component; write the directory it means",
					  s, why == DIR_DOT ? "." : "..");
			continue;
		}
		if ((first = g_hash_table_lookup(seen, dir))) {
			if (!strcmp(ydoc_str(first), s))
				diags_add(c->dg, ydoc_pos(item), "duplicate 'image_dirs' entry '%s' (first at line %u)",
					  s, ydoc_pos(first).line);
			else
				diags_add(c->dg, ydoc_pos(item),
					  "duplicate 'image_dirs' entry '%s' (the same directory as '%s' at line %u)",
					  s, ydoc_str(first), ydoc_pos(first).line);
			g_free(dir);
			continue;
		}
		g_ptr_array_add(h->image_dirs, dir);
		g_hash_table_insert(seen, dir, item);
	}
}

static void
read_host_key(struct pctx *c, const char *key, struct ynode *k, struct ynode *v, void *ud)
{
	struct host_ud *hu = ud;

	if (!strcmp(key, "image_dirs")) {
		read_image_dirs(c, hu->h, k, v);
		return;
	}
	if (!expect_map(c, "ssh", v))
		return;
	hu->ssh = v;
	hu->h->ssh.port = 0;
	read_map(c, v, "ssh", &field_tables[FT_SSH], &hu->h->ssh, NULL, NULL,
		 NULL, NULL, NULL);
}

static gboolean
uri_is_ssh(GUri *uri)
{
	const char *plus = strchr(g_uri_get_scheme(uri), '+');

	return plus && (!strcmp(plus + 1, "ssh") || !strcmp(plus + 1, "libssh2") ||
			!strcmp(plus + 1, "libssh"));
}

static char *
uri_query_param(GUri *uri, const char *name)
{
	const char *q = g_uri_get_query(uri);
	g_autoptr(GHashTable) params = NULL;

	if (!q || !(params = g_uri_parse_params(q, -1, "&", G_URI_PARAMS_NONE, NULL)))
		return NULL;
	return g_strdup(g_hash_table_lookup(params, name));
}

/* A URI's own parts fill what the ssh: block leaves out: user and port
 * from qemu+ssh://user@host:port/, keyfile= and known_hosts= from its
 * query, as libvirt itself reads them. */
static void
host_finish(struct pctx *c, struct host *h, struct ynode *map, struct ynode *uri_node,
	    struct ynode *ssh_node)
{
	g_autoptr(GUri) uri = NULL;
	gboolean ssh_uri;

	if (!h->uri) {
		if (!uri_node)
			diags_add(c->dg, ydoc_pos(map), "host '%s' is missing required key 'uri'", h->name);
		return;
	}
	uri = g_uri_parse(h->uri, G_URI_FLAGS_NON_DNS | G_URI_FLAGS_ENCODED, NULL);
	if (!uri || strspn(h->uri, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") !=
			    strlen(g_uri_get_scheme(uri)) || !g_str_has_prefix(h->uri + strlen(g_uri_get_scheme(uri)), "://")) {
		diags_add(c->dg, ydoc_pos(uri_node),
			  "'uri' must be a libvirt URI such as qemu+ssh://root@host/system, not '%s'", h->uri);
		/* reported: later checks of this host would only repeat it */
		h->uri_bad = TRUE;
		return;
	}
	ssh_uri = uri_is_ssh(uri);
	if (!ssh_node && !ssh_uri)
		return;
	if (!h->ssh.host && g_uri_get_host(uri) && *g_uri_get_host(uri))
		h->ssh.host = g_strdup(g_uri_get_host(uri));
	if (!h->ssh.user)
		h->ssh.user = g_strdup(ssh_uri && g_uri_get_user(uri) ? g_uri_get_user(uri) : "root");
	if (!h->ssh.port)
		h->ssh.port = ssh_uri && g_uri_get_port(uri) > 0 ? g_uri_get_port(uri) : 22;
	if (!h->ssh.identity && ssh_uri)
		h->ssh.identity = uri_query_param(uri, "keyfile");
	if (!h->ssh.known_hosts && ssh_uri)
		h->ssh.known_hosts = uri_query_param(uri, "known_hosts");
	if (!h->ssh.host) {
		diags_add(c->dg, ydoc_pos(ssh_node ? ssh_node : uri_node),
			  "host '%s' needs an SSH host: its URI '%s' names none (give ssh: {host: ...})",
			  h->name, h->uri);
		h->uri_bad = TRUE;
	}
}

static void
read_host(struct pctx *c, struct ynode *k, struct ynode *v)
{
	static const char *const extra[] = { "ssh", "image_dirs", NULL };
	struct host *h = g_new0(struct host, 1);
	struct host_ud hu = { h, NULL };
	struct pos at[OPT_MAX_KEYS] = { 0 };
	g_autoptr(GArray) pairs = NULL;
	struct ynode *uri_node = NULL;
	const char *name = ydoc_str(k);

	h->name = g_strdup(name);
	h->at = ydoc_pos(k);
	h->max_parallel = 1;
	h->image_dirs = g_ptr_array_new_with_free_func(g_free);
	h->index = c->plan->hosts->len;
	if (!valid_name(name))
		diags_add(c->dg, ydoc_pos(k),
			  "host name '%s' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
			  name);
	g_ptr_array_add(c->plan->hosts, h);
	g_hash_table_insert(c->plan->host_by_name, h->name, h);
	if (!expect_map(c, name, v))
		return;
	read_map(c, v, "a host", &field_tables[FT_HOST], h, NULL, at, extra,
		 read_host_key, &hu);
	pairs = ydoc_pairs(&c->y, v);
	for (guint i = 0; i < pairs->len; i++)
		if (!strcmp(ydoc_str(g_array_index(pairs, struct ypair, i).key), "uri"))
			uri_node = g_array_index(pairs, struct ypair, i).value;
	host_finish(c, h, v, uri_node, hu.ssh);
}

void
read_hosts(struct pctx *c, struct ynode *v)
{
	g_autoptr(GArray) pairs = NULL;

	if (!expect_map(c, "hosts", v))
		return;
	pairs = ydoc_pairs(&c->y, v);
	if (pairs->len == 0)
		diags_add(c->dg, ydoc_pos(v), "'hosts' must name at least one host");
	for (guint i = 0; i < pairs->len; i++) {
		struct ypair *pr = &g_array_index(pairs, struct ypair, i);

		read_host(c, pr->key, pr->value);
	}
}
