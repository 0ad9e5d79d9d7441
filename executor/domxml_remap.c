/* domxml_remap.c: remap_apply() and domxml_remap(), which rewrites the
 * sites of a parsed domain XML (domxml_paths.c collects them). */
#include <string.h>

#include "domxml_priv.h"

void
dom_change_free(gpointer p)
{
	struct dom_change *c = p;

	if (!c)
		return;
	g_free(c->what);
	g_free(c->from);
	g_free(c->to);
	g_free(c);
}

/* ---- remapping ---- */

/* 1 and *out set if @r matched @value, 0 if not, -1 on error. */
static int
rule_substitute(const struct remap_rule *r, const char *value, char **out, GError **err)
{
	PCRE2_SIZE cap = strlen(value) + strlen(r->to) + 64;
	PCRE2_UCHAR msg[256];
	int rc = 0;

	*out = NULL;
	if (!r->re) {
		g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP, "rule '%s' is not compiled", r->from);
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		g_autofree PCRE2_UCHAR *buf = g_malloc(cap);
		PCRE2_SIZE len = cap;

		/* UNSET_EMPTY: "$1" of an optional group that did not take
		 * part is empty, as in sed and Perl, rather than an error. */
		rc = pcre2_substitute(r->re, (PCRE2_SPTR)value, PCRE2_ZERO_TERMINATED, 0,
				      PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY,
				      NULL, NULL, (PCRE2_SPTR)r->to, PCRE2_ZERO_TERMINATED, buf, &len);
		if (rc >= 0) {
			if (rc > 0)
				*out = g_strndup((const char *)buf, len);
			return rc > 0;
		}
		if (rc != PCRE2_ERROR_NOMEMORY)
			break;
		cap = len;	/* the length it needs, with the terminating zero */
	}
	pcre2_get_error_message(rc, msg, sizeof(msg));
	g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP,
		    "rule {from: '%s', to: '%s'} failed on '%s': %s", r->from, r->to, value,
		    (const char *)msg);
	return -1;
}

char *
remap_apply(const struct remap *const *sets, guint n_sets, enum remap_kind kind,
	    const char *value, GError **err)
{
	for (guint i = 0; i < n_sets; i++) {
		const GPtrArray *rules = sets[i] ? sets[i]->rules[kind] : NULL;

		for (guint j = 0; rules && j < rules->len; j++) {
			char *out;
			int rc = rule_substitute(rules->pdata[j], value, &out, err);

			if (rc != 0)
				return out;	/* matched, or NULL on error */
		}
	}
	return NULL;
}

static int
check_value(const struct site *s, const char *v, GError **err)
{
	const char *why = NULL;

	if (!*v)
		why = "an empty value";
	else if (!g_utf8_validate(v, -1, NULL))
		why = "invalid UTF-8";
	else if (s->rkind == REMAP_PATHS && v[0] != '/')
		why = "a path that is not absolute";
	for (const char *p = v; !why && *p; p++)
		if ((guchar)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			why = "a control character XML cannot hold";
	if (!why)
		return 0;
	g_set_error(err, DOMXML_ERROR, DOMXML_ERROR_REMAP, "%s: remapping '%s' gives %s ('%s')",
		    s->what, s->value, why, v);
	return -1;
}

int
domxml_remap(struct domxml *d, const struct remap *const *sets, guint n_sets,
	     GPtrArray *changes, GError **err)
{
	g_autoptr(GPtrArray) next = g_ptr_array_new_full(d->sites->len, g_free);

	/* Compute everything first so that an error changes nothing. */
	for (guint i = 0; i < d->sites->len; i++) {
		const struct site *s = d->sites->pdata[i];
		GError *e = NULL;
		char *v = remap_apply(sets, n_sets, s->rkind, s->value, &e);

		if (e) {
			g_propagate_prefixed_error(err, e, "%s: ", s->what);
			return -1;
		}
		if (v && !strcmp(v, s->value))
			g_clear_pointer(&v, g_free);
		g_ptr_array_add(next, v);
		if (v && check_value(s, v, err) < 0)
			return -1;
	}
	for (guint i = 0; i < d->sites->len; i++) {
		struct site *s = d->sites->pdata[i];
		struct dom_change *ch;

		if (!next->pdata[i])
			continue;
		if (s->attr) {
			xmlSetProp(s->elem, (const xmlChar *)s->attr, next->pdata[i]);
		} else {
			xmlNodeSetContent(s->elem, NULL);
			xmlNodeAddContent(s->elem, next->pdata[i]);	/* raw text, not parsed */
		}
		ch = g_new0(struct dom_change, 1);
		ch->kind = s->rkind;
		ch->what = g_strdup(s->what);
		ch->from = g_steal_pointer(&s->value);
		s->value = g_steal_pointer(&next->pdata[i]);
		ch->to = g_strdup(s->value);
		g_ptr_array_add(changes, ch);
	}
	return 0;
}
