/* extents.h: where a file holds data, so that a copy reads, sends and
 * writes only that (a 4 GiB raw image with 256 MiB in it moves 256 MiB).
 *
 * A leaf: no I/O.  The ranges come from `qemu-img map -f raw
 * --output=json FILE` (the file as bytes, whatever image format it holds:
 * SEEK_DATA/SEEK_HOLE of the file system), which sshx_extents() runs on the
 * file's host.
 */
#ifndef VMSHIFT_EXTENTS_H
#define VMSHIFT_EXTENTS_H

#include <glib.h>

struct extent {
	guint64 off;
	guint64 len;
};

/* The data ranges (GArray of struct extent) of a file of @size bytes
 * described by @json, qemu-img map's JSON: sorted, adjacent ones merged,
 * empty ones dropped, none past @size.  An extent that qemu-img calls
 * "data" is data; "zero" without "data" is a hole.  NULL, with @err set,
 * if @json is not such a list, leaves a gap, overlaps or ends elsewhere
 * than @size. */
GArray *extents_from_qemu_map(const char *json, guint64 size, GError **err);
/* The whole file as one range (none when @size is 0). */
GArray *extents_dense(guint64 size);
/* Merge the ranges separated by the smallest gaps until at most @max are
 * left (@max >= 1): the gaps merged are holes read as zeros, bounded so
 * that a remote command can name every range. */
void extents_coalesce(GArray *e, guint max);
/* Bytes the ranges cover. */
guint64 extents_bytes(const GArray *e);
/* Bytes of the ranges below @offset: a copy resumed at @offset has them. */
guint64 extents_bytes_below(const GArray *e, guint64 offset);
/* The ranges at or past @from, cut into pieces of at most @max bytes. */
GArray *extents_split(const GArray *e, guint64 from, guint64 max);

#endif
