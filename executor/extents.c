/* extents.c: the data ranges of a file, from qemu-img map's JSON. */
#include <json-glib/json-glib.h>

#include "extents.h"

static void
add(GArray *e, guint64 off, guint64 len)
{
	struct extent *last = e->len ? &g_array_index(e, struct extent, e->len - 1) : NULL;

	if (!len)
		return;
	if (last && last->off + last->len == off) {
		last->len += len;
		return;
	}
	g_array_append_vals(e, &(struct extent){ off, len }, 1);
}

static gboolean
member_u64(JsonObject *o, const char *key, guint64 *v)
{
	JsonNode *n = json_object_get_member(o, key);

	if (!n || json_node_get_value_type(n) != G_TYPE_INT64 || json_node_get_int(n) < 0)
		return FALSE;
	*v = (guint64)json_node_get_int(n);
	return TRUE;
}

GArray *
extents_from_qemu_map(const char *json, guint64 size, GError **err)
{
	g_autoptr(JsonParser) p = json_parser_new_immutable();
	g_autoptr(GArray) e = g_array_new(FALSE, FALSE, sizeof(struct extent));
	JsonNode *root;
	JsonArray *a;
	guint64 at = 0;

	if (!json_parser_load_from_data(p, json, -1, err))
		return NULL;
	root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_ARRAY(root))
		goto bad;
	a = json_node_get_array(root);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		guint64 start, len;

		if (!o || !member_u64(o, "start", &start) || !member_u64(o, "length", &len) || start != at ||
		    len > G_MAXUINT64 - at)
			goto bad;
		/* qemu-img counts in 512-byte sectors: the last extent may pass
		 * the end of a file whose size is no multiple of 512 */
		if (start + len > size && start + len - size >= 512)
			goto bad;
		/* "data": false is a hole (reads as zeros); anything else, even
		 * allocated zeros, is copied */
		if (!json_object_has_member(o, "data") || json_object_get_boolean_member(o, "data"))
			add(e, start, start < size ? MIN(len, size - start) : 0);
		at = start + len;
	}
	if (at < size || at - size >= 512)
		goto bad;
	return g_steal_pointer(&e);
bad:
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "qemu-img map did not describe a file of %" G_GUINT64_FORMAT " bytes from start to end", size);
	return NULL;
}

GArray *
extents_dense(guint64 size)
{
	GArray *e = g_array_new(FALSE, FALSE, sizeof(struct extent));

	add(e, 0, size);
	return e;
}

static int
cmp_u64(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

	return x < y ? -1 : x > y;
}

void
extents_coalesce(GArray *e, guint max)
{
	g_autofree guint64 *gaps = NULL;
	guint64 limit;
	guint n = e->len, keep, out = 0, equal_left;

	if (max < 1)
		max = 1;
	if (n <= max)
		return;
	/* the gap size at which merging stops: the (n - max)th smallest */
	gaps = g_new(guint64, n - 1);
	for (guint i = 1; i < n; i++) {
		struct extent *a = &g_array_index(e, struct extent, i - 1), *b = &g_array_index(e, struct extent, i);

		gaps[i - 1] = b->off - (a->off + a->len);
	}
	qsort(gaps, n - 1, sizeof(*gaps), cmp_u64);
	limit = gaps[n - max - 1];
	/* gaps below the limit all merge; of those equal to it, only as many
	 * as are needed */
	equal_left = 0;
	for (guint i = 0; i < n - max; i++)
		equal_left += gaps[i] == limit;
	keep = 0;
	for (guint i = 0; i < n; i++) {
		struct extent cur = g_array_index(e, struct extent, i);

		if (keep) {
			struct extent *last = &g_array_index(e, struct extent, out - 1);
			guint64 gap = cur.off - (last->off + last->len);

			if (gap < limit || (gap == limit && equal_left > 0)) {
				equal_left -= gap == limit;
				last->len = cur.off + cur.len - last->off;
				continue;
			}
		}
		g_array_index(e, struct extent, out++) = cur;
		keep = 1;
	}
	g_array_set_size(e, out);
}

guint64
extents_bytes(const GArray *e)
{
	guint64 n = 0;

	for (guint i = 0; i < e->len; i++)
		n += g_array_index(e, struct extent, i).len;
	return n;
}

GArray *
extents_split(const GArray *e, guint64 from, guint64 max)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct extent));

	for (guint i = 0; i < e->len; i++) {
		struct extent x = g_array_index(e, struct extent, i);

		if (x.off + x.len <= from)
			continue;
		if (x.off < from) {
			x.len -= from - x.off;
			x.off = from;
		}
		while (x.len) {
			guint64 take = MIN(x.len, max);

			g_array_append_vals(out, &(struct extent){ x.off, take }, 1);
			x.off += take;
			x.len -= take;
		}
	}
	return out;
}

guint64
extents_bytes_below(const GArray *e, guint64 offset)
{
	guint64 n = 0;

	for (guint i = 0; i < e->len; i++) {
		const struct extent *x = &g_array_index(e, struct extent, i);

		if (x->off >= offset)
			break;
		n += MIN(x->len, offset - x->off);
	}
	return n;
}
