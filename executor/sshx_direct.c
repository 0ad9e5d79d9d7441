/* sshx_direct.c: bytes sent by the source host itself to the target over
 * its own SSH (the target's host key verified by the source's
 * known_hosts), not relayed through the controller.  Both ends are
 * shell scripts of fixed text; paths, ranges and the destination are
 * their arguments, quoted word by word. */
#include <string.h>

#include "extents.h"
#include "sshx_priv.h"

#define SSH_OPTS "-o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=20 -o ServerAliveInterval=15"

/* On the target: read "OFFSET LENGTH" lines, each followed by that many
 * bytes, written at OFFSET (blocks of zeros skipped: holes), saying
 * "dst OFFSET LENGTH" once each is written, until "end". */
static const char recv_script[] =
	"p=$1; "
	"while read off len; do "
	"[ \"$off\" = end ] && exit 0; "
	"dd of=\"$p\" bs=1M iflag=fullblock,count_bytes count=\"$len\" oflag=seek_bytes seek=\"$off\" "
	"conv=notrunc,sparse status=none || exit 1; "
	"echo \"dst $off $len\"; "
	"done; echo 'vmshift: the stream from the source ended early' >&2; exit 1";

/* On the source: send the chunks of $f to the target's receiver; with
 * hash=1, hash each chunk beside the stream (a second read, from the page
 * cache) and say "src OFFSET LENGTH SHA256".  The receiver's lines come
 * back through ssh on the same stdout. */
static const char send_script[] =
	"f=$1 port=$2 dest=$3 recv=$4 hash=$5; shift 5; "
	"if command -v openssl >/dev/null 2>&1; then h='openssl dgst -sha256 -r'; else h=sha256sum; fi; "
	"if [ \"$hash\" = 1 ]; then ( while [ $# -gt 1 ]; do "
	"s=$(dd if=\"$f\" bs=1M iflag=skip_bytes,count_bytes skip=\"$1\" count=\"$2\" status=none | $h) || exit 1; "
	"echo \"src $1 $2 ${s%% *}\"; shift 2; done ) & fi; "
	"{ while [ $# -gt 1 ]; do printf '%s %s\\n' \"$1\" \"$2\"; "
	"dd if=\"$f\" bs=1M iflag=skip_bytes,count_bytes skip=\"$1\" count=\"$2\" status=none || exit 1; "
	"shift 2; done; printf 'end\\n'; } | ssh " SSH_OPTS " -p \"$port\" -- \"$dest\" \"$recv\" || exit 1; "
	"wait";

static const char probe_script[] =
	"port=$1 dest=$2 cmd=$3; ssh " SSH_OPTS " -p \"$port\" -- \"$dest\" \"$cmd\" </dev/null";

/* "user@host" as the source's ssh takes it. */
static char *
dest_of(const struct sshx_peer *peer)
{
	return peer->user ? g_strdup_printf("%s@%s", peer->user, peer->host) : g_strdup(peer->host);
}

int
sshx_direct_probe(struct sshx *src, const struct sshx_peer *peer, const char *marker, char **why, GError **err)
{
	const char *test[] = { "test", "-f", marker, NULL };
	g_autofree char *line = sshx_command_line(test), *dest = dest_of(peer), *port = g_strdup_printf("%d", peer->port > 0 ? peer->port : 22);
	const char *argv[] = { "sh", "-c", probe_script, "sh", port, dest, line, NULL };
	g_autofree char *o = NULL, *e = NULL;
	int status = 0;

	*why = NULL;
	if (sshx_remote_run(src, argv, &o, &e, &status, err) < 0)
		return -1;
	if (status != 0)
		*why = status == 1 ? g_strdup_printf("%s reaches another machine at %s (the marker vmshift left there is missing)",
						     src->label, dest)
				   : g_strdup_printf("%s cannot ssh to %s: %s", src->label, dest,
						     *g_strstrip(e) ? e : "no message");
	return 0;
}

/* What the source and the target said of one chunk. */
struct chunk {
	guint64 len;
	char sha[65];		/* the source's, once said */
	gboolean landed;	/* the target wrote it */
	gboolean told;
};

struct stream {
	GHashTable *chunks;	/* offset -> struct chunk */
	gboolean hash;
	sshx_chunk_fn fn;
	gpointer ud;
	gboolean bad_line;
};

static gboolean
on_line(const char *line, gpointer ud)
{
	struct stream *st = ud;
	g_auto(GStrv) w = g_strsplit(line, " ", 4);
	guint64 off, len;
	struct chunk *c;

	if (g_strv_length(w) < 3 || (strcmp(w[0], "src") && strcmp(w[0], "dst")))
		return TRUE;	/* not ours (a login banner, say) */
	off = g_ascii_strtoull(w[1], NULL, 10);
	len = g_ascii_strtoull(w[2], NULL, 10);
	if (!(c = g_hash_table_lookup(st->chunks, &off)) || c->len != len) {
		st->bad_line = TRUE;
		return FALSE;
	}
	if (!strcmp(w[0], "dst"))
		c->landed = TRUE;
	else if (w[3] && strlen(w[3]) == 64)
		g_strlcpy(c->sha, w[3], sizeof(c->sha));
	if (c->told || !c->landed || (st->hash && !c->sha[0]))
		return TRUE;
	c->told = TRUE;
	return st->fn(off, len, st->hash ? c->sha : NULL, st->ud);
}

gint64
sshx_direct_copy(struct sshx *src, const char *src_path, const struct sshx_peer *peer, const char *dst_path,
		 const GArray *chunks, gboolean hash, sshx_chunk_fn fn, gpointer ud, GError **err)
{
	const char *recv[] = { "sh", "-c", recv_script, "sh", dst_path, NULL };
	g_autofree char *line = sshx_command_line(recv), *dest = dest_of(peer), *port = g_strdup_printf("%d", peer->port > 0 ? peer->port : 22);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) table = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	struct stream st = { table, hash, fn, ud, FALSE };
	g_autofree char *o = NULL, *e = NULL;
	GHashTableIter it;
	gpointer v;
	guint64 sent = 0;
	int status = 0;

	for (const char *a0[] = { "sh", "-c", send_script, "sh", src_path, port, dest, line, hash ? "1" : "0" }, **a = a0;
	     a < a0 + 9; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	for (guint i = 0; i < chunks->len; i++) {
		const struct extent *x = &g_array_index(chunks, struct extent, i);
		struct chunk *c = g_new0(struct chunk, 1);

		c->len = x->len;
		g_hash_table_insert(table, g_memdup2(&x->off, sizeof(x->off)), c);
		g_ptr_array_add(argv, g_strdup_printf("%" G_GUINT64_FORMAT, x->off));
		g_ptr_array_add(argv, g_strdup_printf("%" G_GUINT64_FORMAT, x->len));
		sent += x->len;
	}
	g_ptr_array_add(argv, NULL);
	if (sshx_remote_lines(src, (const char *const *)argv->pdata, on_line, &st, &o, &e, &status, err) < 0) {
		if (st.bad_line)
			g_prefix_error(err, "a line about no chunk it was sent: ");
		return -1;
	}
	if (status != 0 || *g_strstrip(e)) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: sending '%s' to %s:%s failed (exit status %d): %s",
			    src->label, src_path, dest, dst_path, status, *e ? e : "no message");
		return -1;
	}
	g_hash_table_iter_init(&it, table);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (!((struct chunk *)v)->told) {
			g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: sending '%s' to %s:%s: a chunk was never %s",
				    src->label, src_path, dest, dst_path, ((struct chunk *)v)->landed ? "hashed" : "written");
			return -1;
		}
	return (gint64)sent;
}
