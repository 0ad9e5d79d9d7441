/* diag.h: located diagnostics ("FILE:LINE:COL: error: MESSAGE").
 *
 * The planner never prints: it collects diagnostics here and cmd/ prints
 * them.  Positions are 1-based, as GCC and editors expect; line 0 means
 * "no position" (the message is about the whole file).
 */
#ifndef VMSHIFT_DIAG_H
#define VMSHIFT_DIAG_H

#include <glib.h>

#define DIAG_MAX 50	/* more than this and the rest are dropped */

struct pos {
	guint line;
	guint col;
};

struct diag {
	struct pos at;
	char *msg;
	guint seq;	/* report order, the tie-break when sorting */
};

struct diags {
	char *file;		/* as given by the user, for messages */
	GPtrArray *items;	/* of struct diag *, owned */
	guint dropped;		/* reported past DIAG_MAX */
};

void diags_init(struct diags *d, const char *file);
void diags_release(struct diags *d);

/* Record an error at @at; always returns -1 so callers can
 * "return diags_add(...)".  Past DIAG_MAX it is only counted. */
int diags_add(struct diags *d, struct pos at, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

guint diags_count(const struct diags *d);
gboolean diags_full(const struct diags *d);

/* Sort by position (stable) so output follows the file. */
void diags_sort(struct diags *d);

/* "FILE:LINE:COL: error: MSG\n" for every diagnostic, then a line for
 * the dropped ones, if any.  Caller frees. */
char *diags_format(const struct diags *d);

#endif
