#include <string.h>

#include "suggest.h"

/* Optimal string alignment distance: Levenshtein plus transpositions,
 * so "mdoe" is one edit from "mode". */
guint
suggest_distance(const char *a, const char *b)
{
	gsize la = strlen(a), lb = strlen(b), w = lb + 1;
	g_autofree guint *d = g_new(guint, (la + 1) * w);

	for (gsize i = 0; i <= la; i++)
		d[i * w] = i;
	for (gsize j = 0; j <= lb; j++)
		d[j] = j;
	for (gsize i = 1; i <= la; i++) {
		for (gsize j = 1; j <= lb; j++) {
			guint cost = g_ascii_tolower(a[i - 1]) != g_ascii_tolower(b[j - 1]);
			guint v = MIN(MIN(d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1),
				      d[(i - 1) * w + j - 1] + cost);

			if (i > 1 && j > 1 && g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 2]) &&
			    g_ascii_tolower(a[i - 2]) == g_ascii_tolower(b[j - 1]))
				v = MIN(v, d[(i - 2) * w + j - 2] + 1);
			d[i * w + j] = v;
		}
	}
	return d[la * w + lb];
}

const char *
suggest_nearest(const char *word, const char *const *cands, gsize n)
{
	/* A third of the word's length, at least 1 and at most 3 edits:
	 * "mdoe" finds "mode", "x" finds nothing. */
	guint limit = CLAMP(strlen(word) / 3, 1, 3);
	const char *best = NULL;
	guint best_d = G_MAXUINT;

	for (gsize i = 0; i < n; i++) {
		guint d = suggest_distance(word, cands[i]);

		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best_d <= limit ? best : NULL;
}
