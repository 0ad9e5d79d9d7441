/* patterns.c: the plan's PCRE2 patterns (match:, disks.shared, remap
 * rules, placement.anti_affinity) compiled, with errors at the column of the pattern where the
 * file allows it, and remap replacements checked against their groups. */
#include <string.h>

#include "plan_priv.h"


/* Column of byte @offset inside the scalar @v, if the pattern is on
 * one line of the file; else the scalar's own position. */
static struct pos
pos_in_scalar(struct ynode *v, const char *text, gsize offset)
{
	struct pos at = ydoc_pos(v);

	if (ydoc_multiline(v) || memchr(text, '\\', offset) || ydoc_style(v) == YAML_LITERAL_SCALAR_STYLE ||
	    ydoc_style(v) == YAML_FOLDED_SCALAR_STYLE)
		return at;
	at.col += ydoc_text_col(v) + (guint)g_utf8_pointer_to_offset(text, text + offset);
	return at;
}

static pcre2_code *
pattern_compile(struct pctx *c, const char *pattern, struct ynode *v, const char *key, uint32_t options)
{
	int errcode;
	PCRE2_SIZE erroffset;
	pcre2_code *re;
	PCRE2_UCHAR msg[256];

	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | options, &errcode,
			   &erroffset, NULL);
	if (re)
		return re;
	pcre2_get_error_message(errcode, msg, sizeof(msg));
	diags_add(c->dg, pos_in_scalar(v, pattern, MIN(erroffset, strlen(pattern))),
		  "'%s' is not a valid PCRE2 pattern: %s (at offset %zu)", key, (char *)msg,
		  (gsize)erroffset);
	return NULL;
}

int
match_compile(struct pctx *c, struct migration *m, struct ynode *v)
{
	m->match_re = pattern_compile(c, m->match, v, "match", 0);
	return m->match_re ? 0 : -1;
}

int
shared_pattern_compile(struct pctx *c, struct shared_pattern *sp, struct ynode *v)
{
	sp->re = pattern_compile(c, sp->pattern, v, "shared", 0);
	return sp->re ? 0 : -1;
}

/* Anchored at both ends: an anti_affinity entry names whole VM names,
 * so a plain name means exactly that VM. */
int
affinity_pattern_compile(struct pctx *c, struct shared_pattern *sp, struct ynode *v)
{
	sp->re = pattern_compile(c, sp->pattern, v, "anti_affinity", PCRE2_ANCHORED | PCRE2_ENDANCHORED);
	return sp->re ? 0 : -1;
}

/* The replacement syntax of pcre2_substitute(): $$ is a dollar, $N and
 * ${N} a numbered group, $NAME and ${NAME} a named one. */
static int
check_replacement(struct pctx *c, const struct remap_rule *r)
{
	guint32 groups = 0;
	const char *s = r->to;

	pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);
	while ((s = strchr(s, '$'))) {
		const char *ref = s + 1;
		gboolean braced = *ref == '{';
		gsize len;
		g_autofree char *name = NULL;

		if (*ref == '$') {
			s = ref + 1;
			continue;
		}
		if (braced)
			ref++;
		/* as pcre2_substitute() reads it: digits make a number, a
		 * letter or '_' starts a name of letters, digits and '_' */
		if (g_ascii_isdigit(*ref))
			len = strspn(ref, "0123456789");
		else if (g_ascii_isalpha(*ref) || *ref == '_')
			len = strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		else
			len = 0;
		if (len == 0 || (braced && ref[len] != '}'))
			return diags_add(c->dg, r->to_at,
					 "'to' has a '$' that starts no group reference; write $$ for a literal '$'");
		name = g_strndup(ref, len);
		if (g_ascii_isdigit(*name)) {
			guint64 n = g_ascii_strtoull(name, NULL, 10);

			if (n > groups)
				return diags_add(c->dg, r->to_at,
						 "'to' uses $%s but the pattern '%s' has %u capture group%s",
						 name, r->from, groups, groups == 1 ? "" : "s");
		} else if (pcre2_substring_number_from_name(r->re, (PCRE2_SPTR)name) < 0) {
			return diags_add(c->dg, r->to_at,
					 "'to' refers to group '%s', which the pattern '%s' does not define",
					 name, r->from);
		}
		s = ref + len + braced;
	}
	return 0;
}

int
remap_rule_compile(struct pctx *c, struct remap_rule *r, struct ynode *from_node)
{
	if (!(r->re = pattern_compile(c, r->from, from_node, "from", 0)))
		return -1;
	return check_replacement(c, r);
}
