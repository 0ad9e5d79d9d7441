/* chain.c: a disk's backing chain, as qemu-img on the source sees it and
 * its qcow2 headers agree; its rebase and its check on the target. */
#include <string.h>

#include "step_common.h"

#define QCOW2_MAGIC "QFI\xfb"
#define QCOW2_HEAD_MAX 65536	/* the backing file name lies in the first cluster */
#define CHAIN_MAX 16

/* The backing file a qcow2 image at @path names in its header (resolved
 * against the image's directory), or NULL with *err unset if it has none
 * or is no qcow2 image. */
static char *
qcow2_backing(struct sshx *s, const char *path, GError **err)
{
	g_autofree guint8 *h = g_malloc(QCOW2_HEAD_MAX);
	gsize got = 0;
	guint64 off;
	guint32 len;
	g_autofree char *name = NULL, *dir = NULL;

	if (sshx_read_head(s, path, h, QCOW2_HEAD_MAX, &got, err) < 0)
		return NULL;
	if (got < 20 || memcmp(h, QCOW2_MAGIC, 4))
		return NULL;
	memcpy(&off, h + 8, sizeof(off));
	memcpy(&len, h + 16, sizeof(len));
	off = GUINT64_FROM_BE(off);
	len = GUINT32_FROM_BE(len);
	if (!off)
		return NULL;
	if (len == 0 || len > 1023 || off + len > got) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' is a qcow2 image whose backing file name vmshift cannot read (offset %" G_GUINT64_FORMAT ", %u bytes)",
			    path, off, len);
		return NULL;
	}
	name = g_strndup((const char *)h + off, len);
	if (g_path_is_absolute(name))
		return g_steal_pointer(&name);
	dir = g_path_get_dirname(path);
	return g_build_filename(dir, name, NULL);
}

GPtrArray *
chain_headers(struct sshx *s, const char *path, GError **err)
{
	g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func(g_free);
	const char *cur = path;

	for (;;) {
		char *b = qcow2_backing(s, cur, err);

		if (!b)
			return err && *err ? NULL : g_steal_pointer(&chain);
		if (chain->len >= CHAIN_MAX) {
			g_free(b);
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "'%s' has a backing chain deeper than %d", path,
				    CHAIN_MAX);
			return NULL;
		}
		g_ptr_array_add(chain, b);
		cur = b;
	}
}

static void
layer_free(gpointer p)
{
	struct layer *l = p;

	g_free(l->src);
	g_free(l->dst);
	g_free(l->format);
	g_free(l);
}

static const char *
str_member(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) :
											      NULL;
}

/* `qemu-img info --backing-chain --output=json PATH` on @s, parsed. */
static JsonNode *
qemu_img_chain(struct sshx *s, const char *host, const char *path, GError **err)
{
	/* -U: the source may still run (preflight); it only reads headers */
	const char *argv[] = { "qemu-img", "info", "-U", "--backing-chain", "--output=json", path, NULL };
	g_autofree char *o = NULL, *e = NULL;
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) pe = NULL;
	int status = 0;

	if (path[0] != '/')
		return step_fail(err, "'%s' is not an absolute path", path), NULL;
	if (sshx_exec_read(s, argv, &o, &e, &status, err) < 0)
		return NULL;
	if (status == 127)
		return step_fail(err, "%s has no qemu-img, which vmshift needs to read and write backing chains: install qemu-utils there",
				 host), NULL;
	if (status != 0)
		return step_fail(err, "qemu-img info --backing-chain '%s' on %s failed: %s", path, host, g_strstrip(e)), NULL;
	if (!json_parser_load_from_data(p, o, -1, &pe) || !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(p)))
		return step_fail(err, "qemu-img info --backing-chain '%s' on %s: unexpected output", path, host), NULL;
	return json_node_copy(json_parser_get_root(p));
}

static gboolean
known_format(const char *f)
{
	return f && (!strcmp(f, "qcow2") || !strcmp(f, "raw"));
}

/* One layer of qemu-img's list, checked against what is above it. */
static int
chain_layer(JsonObject *o, const char *expect, struct layer *l, const char **backing, GError **err)
{
	const char *file = str_member(o, "filename"), *fmt = str_member(o, "format");
	const char *bfmt = str_member(o, "backing-filename-format");

	*backing = str_member(o, "full-backing-filename");
	if (!file || g_strcmp0(file, expect))
		return step_fail(err, "qemu-img lists '%s' where the chain has '%s'", file ? file : "nothing", expect);
	if (!known_format(fmt))
		return step_fail(err, "'%s' is a %s image: vmshift moves chains of qcow2 and raw images only", file,
				 fmt ? fmt : "unknown");
	if (*backing && (!g_path_is_absolute(*backing) || strchr(*backing, ':')))
		return step_fail(err, "'%s' is backed by '%s', which is not a plain file path", file, *backing);
	if (*backing && bfmt && !known_format(bfmt))
		return step_fail(err, "'%s' names its backing file's format as %s: vmshift moves qcow2 and raw only", file, bfmt);
	l->src = g_strdup(file);
	l->format = g_strdup(fmt);
	return 0;
}

GPtrArray *
chain_of(struct exec *x, struct unit *u, struct sshx *ss, const char *path, GPtrArray *read_heads, GError **err)
{
	g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func(layer_free);
	g_autoptr(GPtrArray) heads = read_heads ? g_ptr_array_ref(read_heads) : NULL;
	g_autoptr(JsonNode) root = NULL;
	JsonArray *a;
	const char *want = path, *prev_bfmt = NULL;

	if ((!heads && !(heads = chain_headers(ss, path, err))) || !(root = qemu_img_chain(ss, u->src->h->name, path, err)))
		return NULL;
	a = json_node_get_array(root);
	/* trust neither alone: the headers vmshift reads itself, and
	 * qemu-img's view, must name the same files */
	if (json_array_get_length(a) != heads->len + 1)
		return step_fail(err, "the backing chain of '%s' on %s: qemu-img lists %u images, the qcow2 headers %u",
				 path, u->src->h->name, json_array_get_length(a), heads->len + 1), NULL;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		struct layer *l = g_new0(struct layer, 1);
		const char *backing = NULL;

		g_ptr_array_add(layers, l);
		if (!JSON_NODE_HOLDS_OBJECT(n) || chain_layer(json_node_get_object(n), want, l, &backing, err) < 0 ||
		    !(l->dst = step_remap_path(x, u, l->src, err)))
			return NULL;
		/* a raw image that nobody names as raw is probed: a guest could
		 * have written a qcow2 header into it */
		if (i > 0 && !strcmp(l->format, "raw") && !prev_bfmt)
			return step_fail(err, "'%s' is backed by the raw image '%s' without naming its format (qemu would probe it): record it with qemu-img rebase -u -F raw -b '%s' '%s'",
					 ((struct layer *)layers->pdata[i - 1])->src, l->src, l->src,
					 ((struct layer *)layers->pdata[i - 1])->src), NULL;
		prev_bfmt = str_member(json_node_get_object(n), "backing-filename-format");
		if (i < heads->len && g_strcmp0(backing, heads->pdata[i]))
			return step_fail(err, "'%s' on %s: qemu-img says it is backed by '%s', its qcow2 header by '%s'", l->src,
					 u->src->h->name, backing ? backing : "nothing", (char *)heads->pdata[i]), NULL;
		want = backing;
	}
	return g_steal_pointer(&layers);
}

/* The backing file and format qemu-img reads in the header of @path. */
static int
header_backing(struct sshx *ds, const char *path, char **backing, char **format, GError **err)
{
	const char *argv[] = { "qemu-img", "info", "-U", "--output=json", "-f", "qcow2", path, NULL };
	g_autofree char *o = NULL, *e = NULL;
	g_autoptr(JsonParser) p = json_parser_new();
	int status = 0;
	JsonObject *obj;

	if (sshx_exec_read(ds, argv, &o, &e, &status, err) < 0)
		return -1;
	if (status != 0)
		return step_fail(err, "qemu-img info '%s' on the target failed: %s", path, g_strstrip(e));
	if (!json_parser_load_from_data(p, o, -1, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		return step_fail(err, "qemu-img info '%s' on the target: unexpected output", path);
	obj = json_node_get_object(json_parser_get_root(p));
	*backing = g_strdup(str_member(obj, "backing-filename"));
	*format = g_strdup(str_member(obj, "backing-filename-format"));
	return 0;
}

int
chain_rebase(struct sshx *ds, const char *path, const struct layer *below, GError **err)
{
	g_autofree char *backing = NULL, *format = NULL;
	const char *argv[] = { "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", below->format, "-b", below->dst, path, NULL };

	if (header_backing(ds, path, &backing, &format, err) < 0)
		return -1;
	if (!g_strcmp0(backing, below->dst) && !g_strcmp0(format, below->format))
		return 0;
	/* -u: only the header changes; the data is the source's */
	return sshx_exec(ds, argv, NULL, NULL, NULL, err);
}

int
chain_check_target(struct sshx *ds, GPtrArray *layers, GError **err)
{
	const struct layer *top = layers->pdata[0];
	g_autoptr(JsonNode) root = qemu_img_chain(ds, sshx_label(ds), top->dst, err);
	JsonArray *a;

	if (!root)
		return -1;
	a = json_node_get_array(root);
	for (guint i = 0; i < layers->len || i < json_array_get_length(a); i++) {
		const struct layer *l = i < layers->len ? layers->pdata[i] : NULL;
		JsonNode *n = i < json_array_get_length(a) ? json_array_get_element(a, i) : NULL;
		JsonObject *o = n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		const char *file = o ? str_member(o, "filename") : NULL, *fmt = o ? str_member(o, "format") : NULL;

		if (!l || !file || strcmp(file, l->dst) || g_strcmp0(fmt, l->format))
			return step_fail(err, "the chain of '%s' on the target is wrong at image %u: '%s' (%s) where '%s' (%s) belongs",
					 top->dst, i, file ? file : "nothing", fmt ? fmt : "-", l ? l->dst : "nothing",
					 l ? l->format : "-");
	}
	return 0;
}
