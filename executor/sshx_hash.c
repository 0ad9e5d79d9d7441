/* sshx_hash.c: remote commands that read a file: its sha256, the sha256
 * of its data ranges, and where its data is (qemu-img map). */
#include <string.h>

#include "extents.h"
#include "sshx_priv.h"

/* The hasher: OpenSSL's where the host has it (several times faster than
 * coreutils' on CPUs with SHA instructions), else sha256sum.  Both print
 * the 64 hex digits first.  The file and the ranges are the script's
 * arguments, never part of its text. */
#define HASHER "if command -v openssl >/dev/null 2>&1; then h='openssl dgst -sha256 -r'; else h=sha256sum; fi; "
static const char whole_script[] = HASHER "exec $h < \"$1\"";
static const char ranges_script[] = HASHER
	"f=$1; shift; "
	"while [ $# -gt 1 ]; do "
	"dd if=\"$f\" bs=1M iflag=skip_bytes,count_bytes skip=\"$1\" count=\"$2\" status=none || exit 1; "
	"shift 2; done | $h";

/* Run @argv; its stdout must start with 64 lowercase hex digits and its
 * stderr be empty (a dd that failed in the pipe says so there). */
static int
run_hash(struct sshx *s, const char *const *argv, const char *path, char out[65], GError **err)
{
	g_autofree char *o = NULL, *e = NULL;
	int status = 0;

	/* Read-only sessions may do this: it only reads. */
	if (sshx_remote_run(s, argv, &o, &e, &status, err) < 0)
		return -1;
	if (status != 0 || *g_strstrip(e)) {
		g_set_error(err, SSHX_ERROR,
			    strstr(e, "No such file") ? SSHX_ERROR_NOT_FOUND : SSHX_ERROR_COMMAND,
			    "%s: sha256 of '%s' failed (exit status %d): %s", s->label, path, status,
			    *e ? e : "no message");
		return -1;
	}
	for (int i = 0; i < 64; i++) {
		if (!g_ascii_isxdigit(o[i]) || g_ascii_isupper(o[i]))
			goto bad;
	}
	if (o[64] != ' ')
		goto bad;
	memcpy(out, o, 64);
	out[64] = '\0';
	return 0;
bad:
	g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: sha256 of '%s': unexpected output '%.100s'", s->label,
		    path, g_strstrip(o));
	return -1;
}

int
sshx_sha256(struct sshx *s, const char *path, char out[65], GError **err)
{
	const char *argv[] = { "sh", "-c", whole_script, "sh", path, NULL };

	return run_hash(s, argv, path, out, err);
}

int
sshx_digest(struct sshx *s, const char *path, const GArray *ranges, char out[65], GError **err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(argv, g_strdup("sh"));
	g_ptr_array_add(argv, g_strdup("-c"));
	g_ptr_array_add(argv, g_strdup(ranges_script));
	g_ptr_array_add(argv, g_strdup("sh"));
	g_ptr_array_add(argv, g_strdup(path));
	for (guint i = 0; i < ranges->len; i++) {
		const struct extent *x = &g_array_index(ranges, struct extent, i);

		g_ptr_array_add(argv, g_strdup_printf("%" G_GUINT64_FORMAT, x->off));
		g_ptr_array_add(argv, g_strdup_printf("%" G_GUINT64_FORMAT, x->len));
	}
	g_ptr_array_add(argv, NULL);
	return run_hash(s, (const char *const *)argv->pdata, path, out, err);
}

GArray *
sshx_extents(struct sshx *s, const char *path, guint64 size, gboolean *no_tool, GError **err)
{
	const char *argv[] = { "qemu-img", "map", "-f", "raw", "--output=json", path, NULL };
	g_autofree char *o = NULL, *e = NULL;
	g_autoptr(GError) pe = NULL;
	int status = 0;
	GArray *r;

	*no_tool = FALSE;
	if (path[0] != '/') {
		/* qemu-img reads "proto:..." as a protocol; an absolute path never is */
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_FAILED, "%s: data map of '%s': not an absolute path", s->label, path);
		return NULL;
	}
	if (sshx_remote_run(s, argv, &o, &e, &status, err) < 0)
		return NULL;
	if (status == 127) {
		*no_tool = TRUE;
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: qemu-img is not installed", s->label);
		return NULL;
	}
	if (status != 0) {
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: qemu-img map '%s' failed (exit status %d): %s",
			    s->label, path, status, g_strstrip(e));
		return NULL;
	}
	if (!(r = extents_from_qemu_map(o, size, &pe)))
		g_set_error(err, SSHX_ERROR, SSHX_ERROR_COMMAND, "%s: qemu-img map '%s': %s", s->label, path, pe->message);
	return r;
}
