/* Longest common subsequence of lines, then hunks with context.  Domain
 * XMLs are a few hundred lines: the quadratic table is small. */
#include <string.h>

#include "udiff.h"

#define CONTEXT 3

enum op { OP_SAME, OP_DEL, OP_ADD };

char *
udiff(const char *a, const char *b, const char *a_name, const char *b_name)
{
	g_auto(GStrv) la = g_strsplit(a, "\n", -1);
	g_auto(GStrv) lb = g_strsplit(b, "\n", -1);
	/* a final newline ends the last line; it does not start another */
	guint n = g_strv_length(la) - (g_str_has_suffix(a, "\n") ? 1 : 0);
	guint m = g_strv_length(lb) - (g_str_has_suffix(b, "\n") ? 1 : 0);
	g_autofree guint *lcs = g_new0(guint, (gsize)(n + 1) * (m + 1));
	g_autoptr(GArray) ops = g_array_new(FALSE, FALSE, sizeof(guint) * 3);	/* op, i, j */
	GString *out = g_string_new(NULL);
	guint i = 0, j = 0;

#define L(i, j) lcs[(gsize)(i) * (m + 1) + (j)]
	for (guint x = n; x-- > 0;)
		for (guint y = m; y-- > 0;)
			L(x, y) = strcmp(la[x], lb[y]) == 0 ? L(x + 1, y + 1) + 1 : MAX(L(x + 1, y), L(x, y + 1));
	while (i < n || j < m) {
		guint op[3];

		if (i < n && j < m && strcmp(la[i], lb[j]) == 0) {
			op[0] = OP_SAME, op[1] = i++, op[2] = j++;
		} else if (i < n && (j == m || L(i + 1, j) >= L(i, j + 1))) {
			op[0] = OP_DEL, op[1] = i++, op[2] = j;
		} else {
			op[0] = OP_ADD, op[1] = i, op[2] = j++;
		}
		g_array_append_val(ops, op);
	}
#undef L

	for (guint k = 0; k < ops->len;) {
		guint *o = &g_array_index(ops, guint, 3 * k);
		guint start, end = 0, a0, b0, na = 0, nb = 0;

		if (o[0] == OP_SAME) {
			k++;
			continue;
		}
		/* a hunk: this change and those with at most 2*CONTEXT
		 * unchanged lines between them, plus CONTEXT around */
		start = k >= CONTEXT ? k - CONTEXT : 0;
		for (guint t = k + 1, last = k; t <= ops->len; t++) {
			if (t == ops->len || t - last - 1 > 2 * CONTEXT) {
				end = MIN(ops->len, last + CONTEXT + 1);
				break;
			}
			if (g_array_index(ops, guint, 3 * t) != OP_SAME)
				last = t;
		}
		if (out->len == 0)
			g_string_append_printf(out, "--- %s\n+++ %s\n", a_name, b_name);
		a0 = g_array_index(ops, guint, 3 * start + 1);
		b0 = g_array_index(ops, guint, 3 * start + 2);
		for (guint t = start; t < end; t++) {
			guint op = g_array_index(ops, guint, 3 * t);

			na += op != OP_ADD;
			nb += op != OP_DEL;
		}
		g_string_append_printf(out, "@@ -%u,%u +%u,%u @@\n", a0 + 1, na, b0 + 1, nb);
		for (guint t = start; t < end; t++) {
			guint *q = &g_array_index(ops, guint, 3 * t);

			if (q[0] == OP_SAME)
				g_string_append_printf(out, " %s\n", la[q[1]]);
			else if (q[0] == OP_DEL)
				g_string_append_printf(out, "-%s\n", la[q[1]]);
			else
				g_string_append_printf(out, "+%s\n", lb[q[2]]);
		}
		k = end;
	}
	return g_string_free(out, FALSE);
}
