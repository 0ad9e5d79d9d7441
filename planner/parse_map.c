/* parse_map.c: reading a YAML mapping through a field table (fields.h):
 * types, ranges, enum names, unknown keys with a suggestion.  Every
 * problem is reported and reading goes on, so one run shows them all. */
#include <string.h>

#include "plan_priv.h"
#include "suggest.h"


gboolean
expect_kind(struct pctx *c, const char *key, struct ynode *v, enum ykind want)
{
	enum ykind got = ydoc_kind(v);

	if (got == want)
		return TRUE;
	diags_add(c->dg, ydoc_pos(v), "'%s' must be %s, not %s", key, ydoc_kind_name(want),
		  ydoc_kind_name(got));
	return FALSE;
}

void
type_error(struct pctx *c, const struct field *f, struct ynode *v)
{
	static const char *const want[] = {
		[F_STR] = "a string", [F_STR_EMPTY_OK] = "a string", [F_INT] = "an integer", [F_BOOL] = "true or false",
		[F_ENUM] = "a string",
	};
	enum ykind got = ydoc_kind(v);
	const char *s = ydoc_str(v);
	const char *hint = "";

	if (f->type == F_INT && got == YK_STR && s && *s && strspn(s, "0123456789") == strlen(s))
		hint = " (write it without quotes)";
	else if (f->type == F_BOOL && got == YK_STR && (!strcmp(s, "true") || !strcmp(s, "false")))
		hint = " (write it without quotes)";
	else if (f->type == F_BOOL && s && (!g_ascii_strcasecmp(s, "yes") || !g_ascii_strcasecmp(s, "no") ||
					    !g_ascii_strcasecmp(s, "on") || !g_ascii_strcasecmp(s, "off")))
		hint = " (plans use YAML 1.2: write true or false)";
	else if ((f->type == F_STR || f->type == F_STR_EMPTY_OK) && (got == YK_INT || got == YK_FLOAT || got == YK_BOOL))
		hint = " (put it in quotes)";
	if (s && got != YK_NULL)
		diags_add(c->dg, ydoc_pos(v), "'%s' must be %s, not %s '%s'%s", f->key, want[f->type],
			  ydoc_kind_name(got), s, hint);
	else
		diags_add(c->dg, ydoc_pos(v), "'%s' must be %s, not %s%s", f->key, want[f->type],
			  ydoc_kind_name(got), hint);
}

static char *
join_names(const char *const *names)
{
	return g_strjoinv(", ", (char **)names);
}

/* An F_ENUM value: one of @f->names, stored as its index. */
static gboolean
enum_set(struct pctx *c, const struct field *f, struct ynode *v, int *out)
{
	const char *s = ydoc_str(v);
	gsize n = g_strv_length((char **)f->names);
	g_autofree char *all = NULL;
	const char *near;

	if (ydoc_kind(v) != YK_STR && ydoc_kind(v) != YK_INT && ydoc_kind(v) != YK_BOOL) {
		type_error(c, f, v);
		return FALSE;
	}
	for (gsize k = 0; k < n; k++) {
		if (!strcmp(s, f->names[k])) {
			*out = (int)k;
			return TRUE;
		}
	}
	all = join_names(f->names);
	near = suggest_nearest(s, f->names, n);
	if (near)
		diags_add(c->dg, ydoc_pos(v), "'%s' must be one of %s, not '%s' (did you mean '%s'?)",
			  f->key, all, s, near);
	else
		diags_add(c->dg, ydoc_pos(v), "'%s' must be one of %s, not '%s'", f->key, all, s);
	return FALSE;
}

gboolean
field_set(struct pctx *c, const struct field *f, struct ynode *v, void *base)
{
	char *p = (char *)base + f->off;
	const char *s = ydoc_str(v);
	gint64 i;
	gboolean b;

	switch (f->type) {
	case F_STR:
	case F_STR_EMPTY_OK:
		if (ydoc_kind(v) != YK_STR && !(f->type == F_STR_EMPTY_OK && ydoc_kind(v) == YK_NULL &&
						 ydoc_style(v) != YAML_PLAIN_SCALAR_STYLE)) {
			type_error(c, f, v);
			return FALSE;
		}
		if (!*s && f->type == F_STR) {
			diags_add(c->dg, ydoc_pos(v), "'%s' must not be empty", f->key);
			return FALSE;
		}
		g_free(*(char **)p);
		*(char **)p = g_strdup(s);
		return TRUE;
	case F_INT:
		if (!ydoc_int(v, &i)) {
			if (ydoc_kind(v) == YK_INT)
				diags_add(c->dg, ydoc_pos(v), "'%s' is out of range: %s", f->key, s);
			else
				type_error(c, f, v);
			return FALSE;
		}
		if (i < f->min || i > f->max) {
			if (i > f->max && f->max >= G_MAXINT32)
				diags_add(c->dg, ydoc_pos(v), "'%s' must be at most %" G_GINT64_FORMAT
					  ", not %" G_GINT64_FORMAT, f->key, f->max, i);
			else if (f->max >= G_MAXINT32)
				diags_add(c->dg, ydoc_pos(v), "'%s' must be at least %" G_GINT64_FORMAT
					  ", not %" G_GINT64_FORMAT, f->key, f->min, i);
			else
				diags_add(c->dg, ydoc_pos(v), "'%s' must be between %" G_GINT64_FORMAT
					  " and %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT,
					  f->key, f->min, f->max, i);
			return FALSE;
		}
		*(gint64 *)p = i;
		return TRUE;
	case F_BOOL:
		if (!ydoc_bool(v, &b)) {
			type_error(c, f, v);
			return FALSE;
		}
		*(gboolean *)p = b;
		return TRUE;
	case F_ENUM:
		return enum_set(c, f, v, (int *)p);
	}
	return FALSE;
}

void
unknown_key(struct pctx *c, struct ynode *k, const char *what, const struct field *fields,
	    guint n_fields, const char *const *extra)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	const char *key = ydoc_str(k);
	const char *near;

	for (guint i = 0; i < n_fields; i++)
		g_ptr_array_add(names, (gpointer)fields[i].key);
	for (guint i = 0; extra && extra[i]; i++)
		g_ptr_array_add(names, (gpointer)extra[i]);
	near = suggest_nearest(key, (const char *const *)names->pdata, names->len);
	if (near) {
		diags_add(c->dg, ydoc_pos(k), "unknown key '%s' in %s (did you mean '%s'?)", key, what, near);
	} else {
		g_ptr_array_add(names, NULL);
		g_autofree char *all = join_names((const char *const *)names->pdata);

		diags_add(c->dg, ydoc_pos(k), "unknown key '%s' in %s; known keys: %s", key, what, all);
	}
}

void
read_map(struct pctx *c, struct ynode *map, const char *what, const struct ftable *t,
	 void *base, guint32 *given, struct pos *at, const char *const *extra,
	 special_fn special, void *ud)
{
	g_autoptr(GArray) pairs = ydoc_pairs(&c->y, map);
	const struct field *fields = t ? t->fields : NULL;
	guint n_fields = t ? t->n : 0;

	for (guint i = 0; i < pairs->len; i++) {
		struct ypair *pr = &g_array_index(pairs, struct ypair, i);
		const char *key = ydoc_str(pr->key);
		gboolean done = FALSE;

		for (guint f = 0; f < n_fields && !done; f++) {
			if (strcmp(key, fields[f].key))
				continue;
			done = TRUE;
			/* at[] records even a bad value, so that later checks
			 * know the key was written and stay quiet about it */
			if (at)
				at[f] = ydoc_pos(pr->value);
			if (field_set(c, &fields[f], pr->value, base) && given)
				*given |= 1u << f;
		}
		for (guint e = 0; extra && extra[e] && !done; e++) {
			if (strcmp(key, extra[e]))
				continue;
			done = TRUE;
			special(c, key, pr->key, pr->value, ud);
		}
		if (!done)
			unknown_key(c, pr->key, what, fields, n_fields, extra);
	}
}

gboolean
expect_map(struct pctx *c, const char *key, struct ynode *v)
{
	return expect_kind(c, key, v, YK_MAP);
}

/* C sees only the text before the NUL. */
gboolean
has_nul(const struct ynode *v)
{
	return strlen(ydoc_str(v)) != ydoc_str_len(v);
}


gboolean
valid_name(const char *s)
{
	gsize n = strlen(s);

	if (n == 0 || n > PLAN_NAME_MAX || !g_ascii_isalnum(s[0]))
		return FALSE;
	for (gsize i = 1; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && !strchr("._-", s[i]))
			return FALSE;
	return TRUE;
}
