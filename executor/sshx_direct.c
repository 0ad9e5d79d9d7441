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
 * bytes, written at OFFSET (blocks of zeros skipped: holes), until "end". */
static const char recv_script[] =
	"p=$1; "
	"while read off len; do "
	"[ \"$off\" = end ] && exit 0; "
	"dd of=\"$p\" bs=1M iflag=fullblock,count_bytes count=\"$len\" oflag=seek_bytes seek=\"$off\" "
	"conv=notrunc,sparse status=none || exit 1; "
	"done; echo 'vmshift: the stream from the source ended early' >&2; exit 1";

/* On the source: hash the ranges of $f as they are read, send them to the
 * target's receiver, print the hash. */
static const char send_script[] =
	"f=$1 port=$2 dest=$3 recv=$4; shift 4; "
	"d=$(mktemp -d) || exit 1; trap 'rm -rf \"$d\"' EXIT; mkfifo \"$d/h\" || exit 1; "
	"if command -v openssl >/dev/null 2>&1; then h='openssl dgst -sha256 -r'; else h=sha256sum; fi; "
	"$h <\"$d/h\" >\"$d/sum\" & hp=$!; "
	"exec 3>\"$d/h\"; "
	"{ while [ $# -gt 1 ]; do printf '%s %s\\n' \"$1\" \"$2\"; "
	"dd if=\"$f\" bs=1M iflag=skip_bytes,count_bytes skip=\"$1\" count=\"$2\" status=none | tee /dev/fd/3 || exit 1; "
	"shift 2; done; printf 'end\\n'; } | ssh " SSH_OPTS " -p \"$port\" -- \"$dest\" \"$recv\" || exit 1; "
	"exec 3>&-; wait $hp; cat \"$d/sum\"";

static const char probe_script[] =
	"port=$1 dest=$2 cmd=$3; ssh " SSH_OPTS " -p \"$port\" -- \"$dest\" \"$cmd\" </dev/null";

/* "user@host" as the source's ssh takes it. */
static char *
dest_of(const struct sshx_peer *peer)
{
	return peer->user ? g_strdup_printf("%s@%s", peer->user, peer->host) : g_strdup(peer->host);
}

/* A command line for the target's login shell, every word quoted. */
static char *
remote_line(const char *const *argv)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; argv[i]; i++) {
		g_autofree char *q = g_shell_quote(argv[i]);

		g_string_append_printf(s, "%s%s", i ? " " : "", q);
	}
	return g_string_free(s, FALSE);
}

int
sshx_direct_probe(struct sshx *src, const struct sshx_peer *peer, const char *marker, char **why, GError **err)
{
	const char *test[] = { "test", "-f", marker, NULL };
	g_autofree char *line = remote_line(test), *dest = dest_of(peer), *port = g_strdup_printf("%d", peer->port > 0 ? peer->port : 22);
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

gint64
sshx_direct_copy(struct sshx *src, const char *src_path, const struct sshx_peer *peer, const char *dst_path,
		 const GArray *ranges, guint64 offset, char digest[65], GError **err)
{
	const char *recv[] = { "sh", "-c", recv_script, "sh", dst_path, NULL };
	g_autofree char *line = remote_line(recv), *dest = dest_of(peer), *port = g_strdup_printf("%d", peer->port > 0 ? peer->port : 22);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *o = NULL, *e = NULL;
	guint64 sent = 0;
	int status = 0;

	for (const char *a0[] = { "sh", "-c", send_script, "sh", src_path, port, dest, line }, **a = a0; a < a0 + 8; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	for (guint i = 0; i < ranges->len; i++) {
		const struct extent *x = &g_array_index(ranges, struct extent, i);
		guint64 from = MAX(x->off, offset);

		if (x->off + x->len <= offset)
			continue;
		g_ptr_array_add(argv, g_strdup_printf("%" G_GUINT64_FORMAT, from));
		g_ptr_array_add(argv, g_strdup_printf("%" G_GUINT64_FORMAT, x->off + x->len - from));
		sent += x->off + x->len - from;
	}
	g_ptr_array_add(argv, NULL);
	if (sshx_remote_run(src, (const char *const *)argv->pdata, &o, &e, &status, err) < 0)
		return -1;
	if (status != 0 || *g_strstrip(e)) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: sending '%s' to %s:%s failed (exit status %d): %s",
			    src->label, src_path, dest, dst_path, status, *e ? e : "no message");
		return -1;
	}
	if (strlen(g_strstrip(o)) < 65 || o[64] != ' ') {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: sending '%s': unexpected output '%.100s'", src->label,
			    src_path, o);
		return -1;
	}
	memcpy(digest, o, 64);
	digest[64] = '\0';
	return (gint64)sent;
}
