#include <stdarg.h>
#include <string.h>

#include "diag.h"

static void
diag_free(gpointer p)
{
	struct diag *dg = p;

	g_free(dg->msg);
	g_free(dg);
}

void
diags_init(struct diags *d, const char *file)
{
	d->file = g_strdup(file);
	d->items = g_ptr_array_new_with_free_func(diag_free);
	d->dropped = 0;
}

void
diags_release(struct diags *d)
{
	g_clear_pointer(&d->file, g_free);
	g_clear_pointer(&d->items, g_ptr_array_unref);
}

int
diags_add(struct diags *d, struct pos at, const char *fmt, ...)
{
	struct diag *dg;
	va_list ap;

	if (d->items->len >= DIAG_MAX) {
		d->dropped++;
		return -1;
	}
	dg = g_new0(struct diag, 1);
	dg->at = at;
	dg->seq = d->items->len;
	va_start(ap, fmt);
	dg->msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* A node reached through several aliases is checked each time;
	 * say its problem once. */
	for (guint i = 0; i < d->items->len; i++) {
		const struct diag *old = d->items->pdata[i];

		if (old->at.line == at.line && old->at.col == at.col && !strcmp(old->msg, dg->msg)) {
			diag_free(dg);
			return -1;
		}
	}
	g_ptr_array_add(d->items, dg);
	return -1;
}

guint
diags_count(const struct diags *d)
{
	return d->items->len + d->dropped;
}

gboolean
diags_full(const struct diags *d)
{
	return d->items->len >= DIAG_MAX;
}

static gint
diag_cmp(gconstpointer a, gconstpointer b)
{
	const struct diag *x = *(struct diag *const *)a;
	const struct diag *y = *(struct diag *const *)b;

	if (x->at.line != y->at.line)
		return x->at.line < y->at.line ? -1 : 1;
	if (x->at.col != y->at.col)
		return x->at.col < y->at.col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
diags_sort(struct diags *d)
{
	g_ptr_array_sort(d->items, diag_cmp);
}

char *
diags_format(const struct diags *d)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < d->items->len; i++) {
		const struct diag *dg = d->items->pdata[i];

		if (dg->at.line)
			g_string_append_printf(s, "%s:%u:%u: error: %s\n", d->file,
					       dg->at.line, dg->at.col, dg->msg);
		else
			g_string_append_printf(s, "%s: error: %s\n", d->file, dg->msg);
	}
	if (d->dropped)
		g_string_append_printf(s, "%s: error: %u more errors not shown (the first %d are above)\n",
				       d->file, d->dropped, DIAG_MAX);
	return g_string_free(s, FALSE);
}
