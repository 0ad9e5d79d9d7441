/* suggest.h: "did you mean" for misspelt keys, hosts and ids. */
#ifndef VMSHIFT_SUGGEST_H
#define VMSHIFT_SUGGEST_H

#include <glib.h>

/* Edit distance (Levenshtein, ASCII case-insensitive). */
guint suggest_distance(const char *a, const char *b);

/* The candidate nearest to @word if it is close enough to be a likely
 * typo, else NULL.  Borrowed from @cands. */
const char *suggest_nearest(const char *word, const char *const *cands, gsize n);

#endif
