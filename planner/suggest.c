#include <string.h>

#include "suggest.h"

guint
suggest_distance(const char *a, const char *b)
{
	gsize la = strlen(a), lb = strlen(b);
	g_autofree guint *row = g_new(guint, lb + 1);

	for (gsize j = 0; j <= lb; j++)
		row[j] = j;
	for (gsize i = 1; i <= la; i++) {
		guint diag = row[0];

		row[0] = i;
		for (gsize j = 1; j <= lb; j++) {
			guint up = row[j];
			guint cost = g_ascii_tolower(a[i - 1]) != g_ascii_tolower(b[j - 1]);

			row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
			diag = up;
		}
	}
	return row[lb];
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
