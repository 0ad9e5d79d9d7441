/* report_md.c: the dry-run as Markdown, for a pull-request comment
 * (engine.h).  Formats only: it reads what engine_dry_run() and
 * placement left in the units.
 *
 * Whatever comes from a host or the plan (names, paths, errors) is
 * escaped: Markdown's own characters get a backslash, '<', '>' and '&'
 * become entities (no raw HTML), and in a table cell a newline becomes
 * <br>.  The XML diff goes in a fence longer than any run of backticks
 * it holds, so nothing in it closes the fence. */
#include <string.h>

#include "engine.h"
#include "placement.h"
#include "steps.h"

/* @s escaped for Markdown text: a table cell if @cell (newlines as
 * <br>), else running text (newlines as spaces). */
static void
md_text(GString *out, const char *s, gboolean cell)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '#': case '!':
			g_string_append_c(out, '\\');
			g_string_append_c(out, *s);
			break;
		case '<':
			g_string_append(out, "&lt;");
			break;
		case '>':
			g_string_append(out, "&gt;");
			break;
		case '&':
			g_string_append(out, "&amp;");
			break;
		case '\r':
			break;
		case '\n':
			g_string_append(out, cell ? "<br>" : " ");
			break;
		default:
			g_string_append_c(out, *s);
		}
	}
}

static void
md_cell(GString *out, const char *s)
{
	g_string_append(out, " ");
	md_text(out, s, TRUE);
	g_string_append(out, " |");
}

/* A fence for @content: backticks, one more than its longest run (at
 * least three). */
static char *
md_fence(const char *content)
{
	gsize run = 0, longest = 0;

	for (const char *p = content; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = MAX(longest, run);
	}
	return g_strnfill(MAX(longest + 1, 3), '`');
}

static char *
human_bytes(gint64 n)
{
	return g_format_size_full((guint64)n, G_FORMAT_SIZE_IEC_UNITS);
}

/* The unit's target: the host, with the policy if a pool placed it, or
 * the pool while it is not placed. */
static char *
target_text(struct unit *u)
{
	JsonObject *pl = json_object_has_member(u->facts, FACT_PLACEMENT) ?
		json_object_get_object_member(u->facts, FACT_PLACEMENT) : NULL;

	if (!u->to)
		return placement_pool_text(u->m);
	if (pl && *fact_str(u, FACT_PLACED_HOST))
		return g_strdup_printf("%s (placed: %s)", u->to->name,
				       json_object_get_string_member_with_default(pl, "policy", "?"));
	return g_strdup(u->to->name);
}

/* The bytes @u moves, or -1 if nothing is copied or it is not known:
 * window.c's estimate (a live guest's memory, plus its disks when
 * libvirt copies them; what offline-with-scp-disk copies), told by
 * preflight. */
static gint64
bytes_moved(struct unit *u)
{
	gint64 disks = json_object_get_int_member_with_default(u->facts, FACT_COPY_BYTES, -1);

	if (u->mode == MODE_OFFLINE_SCP)
		return disks;
	if (u->mode == MODE_LIVE && u->sxml)
		return (gint64)domxml_memory_kib(u->sxml) * 1024 +
		       (u->m->set.live.copy_storage != COPY_STORAGE_NONE ? MAX(disks, 0) : 0);
	return -1;
}

static char *
disks_text(struct unit *u)
{
	JsonArray *files = fact_array(u, FACT_SOURCE_FILES);
	gint64 bytes = json_object_get_int_member_with_default(u->facts, FACT_COPY_BYTES, -1);
	g_autofree char *hb = NULL;

	if (u->mode == MODE_LIVE && u->m->set.live.copy_storage != COPY_STORAGE_NONE)
		return g_strdup("by libvirt (copy_storage)");
	if (u->mode != MODE_OFFLINE_SCP)
		return g_strdup("none (the storage stays)");
	if (!files || bytes < 0)
		return g_strdup("not known (preflight failed)");
	hb = human_bytes(bytes);
	return g_strdup_printf("%u file%s, %s", json_array_get_length(files), json_array_get_length(files) == 1 ? "" : "s",
			       hb);
}

static char *
estimate_text(struct exec *x, struct unit *u)
{
	gint64 bytes = bytes_moved(u), s;

	if (bytes <= 0 || x->plan->window.assumed_mib_s <= 0)
		return g_strdup("—");
	s = (gint64)((double)bytes / ((double)x->plan->window.assumed_mib_s * 1024 * 1024) + 0.999);
	if (s < 120)
		return g_strdup_printf("~%" G_GINT64_FORMAT " s at %" G_GINT64_FORMAT " MiB/s", s,
				       x->plan->window.assumed_mib_s);
	return g_strdup_printf("~%" G_GINT64_FORMAT " min at %" G_GINT64_FORMAT " MiB/s", (s + 59) / 60,
			       x->plan->window.assumed_mib_s);
}

static const char *
first_problem(struct unit *u)
{
	if (u->problems && u->problems->len && u->problems->pdata[0])
		return u->problems->pdata[0];
	return u->error ? u->error : "";
}

static void
summary_row(struct exec *x, struct unit *u, GString *md)
{
	g_autofree char *vm = strcmp(u->id, u->vm) ? g_strdup_printf("%s (%s)", u->vm, u->id) : g_strdup(u->vm);
	g_autofree char *to = target_text(u), *disks = disks_text(u), *est = estimate_text(x, u);
	g_autofree char *check = NULL;
	const char *pf = report_preflight(u);
	guint np = 0;

	for (guint i = 0; u->problems && i < u->problems->len; i++)
		np += u->problems->pdata[i] != NULL;
	if (!strcmp(pf, "ok"))
		check = g_strdup(fact_bool(u, FACT_ALREADY_DONE, FALSE) ? "passed (already on the target)" : "passed");
	else if (!u->to)
		check = g_strdup_printf("failed: placement: %s", first_problem(u));
	else if (np > 1)
		check = g_strdup_printf("failed (%u problems): %s; …", np, first_problem(u));
	else
		check = g_strdup_printf("failed: %s", first_problem(u));
	g_string_append(md, "|");
	md_cell(md, vm);
	md_cell(md, u->m->from->name);
	md_cell(md, to);
	md_cell(md, mode_name(u->mode));
	md_cell(md, disks);
	md_cell(md, est);
	md_cell(md, check);
	g_string_append_c(md, '\n');
}

static void
placement_section(struct unit *u, GString *md)
{
	JsonObject *pl = json_object_has_member(u->facts, FACT_PLACEMENT) ?
		json_object_get_object_member(u->facts, FACT_PLACEMENT) : NULL;
	JsonArray *c = pl && json_object_has_member(pl, "candidates") ? json_object_get_array_member(pl, "candidates") : NULL;
	static const char *const cols[] = { "free_mib", "placed_mib", "reserve_mib", "room_mib", "vcpus", "cpus", "placed_vms" };

	if (!c)
		return;
	g_string_append_printf(md, "**Placement** (%s): needs %" G_GINT64_FORMAT " MiB and %" G_GINT64_FORMAT " vCPUs\n\n",
			       json_object_get_string_member_with_default(pl, "policy", "?"),
			       json_object_get_int_member_with_default(pl, "need_mib", 0),
			       json_object_get_int_member_with_default(pl, "need_vcpus", 0));
	g_string_append(md, "| Host | Free MiB | Placed MiB | Reserve MiB | Room MiB | vCPUs | CPUs | VMs placed | Verdict |\n"
			"|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
	for (guint i = 0; i < json_array_get_length(c); i++) {
		JsonObject *f = json_array_get_object_element(c, i);

		if (!f)
			continue;
		g_string_append(md, "|");
		md_cell(md, json_object_get_string_member_with_default(f, "host", "?"));
		for (guint k = 0; k < G_N_ELEMENTS(cols); k++) {
			g_autofree char *v = json_object_has_member(f, cols[k]) ?
				g_strdup_printf("%" G_GINT64_FORMAT, json_object_get_int_member(f, cols[k])) : g_strdup("?");

			md_cell(md, v);
		}
		md_cell(md, json_object_get_string_member_with_default(f, "verdict", ""));
		g_string_append_c(md, '\n');
	}
	g_string_append_c(md, '\n');
}

static void
steps_section(struct unit *u, GString *md)
{
	guint n;
	const enum step *steps = mode_steps(u->mode, &n);

	if (strcmp(report_preflight(u), "ok"))
		return;
	if (fact_bool(u, FACT_ALREADY_DONE, FALSE)) {
		g_string_append(md, "**Steps:** none: it is on the target already.\n\n");
		return;
	}
	g_string_append(md, "**Steps that would run:**\n\n");
	for (guint k = 0; k < n; k++) {
		const struct step_impl *impl = step_impl(steps[k]);
		const char *skip = impl->skip ? impl->skip(u) : NULL;

		g_string_append_printf(md, "%u. `%s`: ", k + 1, step_name(steps[k]));
		md_text(md, skip ? "skipped (" : "undo: ", FALSE);
		md_text(md, skip ? skip : impl->undo_says, FALSE);
		md_text(md, skip ? ")" : "", FALSE);
		g_string_append_c(md, '\n');
	}
	g_string_append_c(md, '\n');
}

static void
list_section(GString *md, const char *title, char **lines, gboolean trim)
{
	gboolean any = FALSE;

	for (guint i = 0; lines && lines[i]; i++) {
		g_autofree char *l = g_strdup(lines[i]);

		if (trim && !*g_strstrip(l))
			continue;
		if (!any)
			g_string_append_printf(md, "**%s:**\n\n", title);
		any = TRUE;
		g_string_append(md, "- ");
		md_text(md, l, FALSE);
		g_string_append_c(md, '\n');
	}
	if (any)
		g_string_append_c(md, '\n');
}

/* A collapsed block: the XML diff, or the definition itself when the
 * remap changes nothing (what will be defined, for review either way). */
static void
xml_section(struct unit *u, GString *md)
{
	g_autofree char *d = report_xml_diff(u);
	g_autofree char *body = NULL, *fence = NULL;
	guint nc = u->changes ? u->changes->len : 0;

	if (!d)
		return;
	body = *d ? g_steal_pointer(&d) : domxml_format(u->txml);
	fence = md_fence(body);
	g_string_append(md, "<details>\n<summary>");
	if (d)	/* the diff is empty */
		g_string_append(md, "Domain XML: unchanged (as it will be defined)");
	else
		g_string_append_printf(md, "Domain XML diff: %u change%s", nc, nc == 1 ? "" : "s");
	g_string_append_printf(md, "</summary>\n\n%s%s\n%s", fence, d ? "xml" : "diff", body);
	if (*body && body[strlen(body) - 1] != '\n')
		g_string_append_c(md, '\n');
	g_string_append_printf(md, "%s\n\n</details>\n\n", fence);
}

static void
unit_section(struct unit *u, GString *md)
{
	g_autofree char *to = target_text(u);
	g_auto(GStrv) notes = g_strsplit(u->report ? u->report->str : "", "\n", -1);
	const char *failed[] = { u->error, NULL };

	g_string_append(md, "### ");
	md_text(md, u->id, FALSE);
	g_string_append(md, ": ");
	md_text(md, u->vm, FALSE);
	g_string_append(md, "\n\n");
	md_text(md, u->m->from->name, FALSE);
	g_string_append(md, " → ");
	md_text(md, to, FALSE);
	g_string_append_printf(md, ", mode %s; preflight: **%s**\n\n", mode_name(u->mode), report_preflight(u));
	list_section(md, "Preflight problems",
		     u->problems ? (char **)u->problems->pdata :
		     strcmp(report_preflight(u), "failed") && u->to ? NULL : (char **)failed, FALSE);
	placement_section(u, md);
	steps_section(u, md);
	xml_section(u, md);
	list_section(md, "Notes", notes, TRUE);
}

void
report_markdown(struct exec *x, int result, GString *text)
{
	guint n = 0, failed = 0;

	g_string_truncate(text, 0);
	for (guint i = 0; i < x->units->len; i++) {
		struct unit *u = x->units->pdata[i];

		n += u->selected;
		failed += u->selected && strcmp(report_preflight(u), "ok");
	}
	g_string_append(text, "## vmshift dry run: ");
	md_text(text, x->plan->name, FALSE);
	g_string_append_printf(text, "\n\nPlan sha256 `%s`.  ", x->plan->sha256);
	if (result == RUN_OK)
		g_string_append_printf(text, "**All %u migration%s pass preflight.**\n\n", n, n == 1 ? "" : "s");
	else
		g_string_append_printf(text, "**%u of %u migration%s fail preflight** (exit 1).\n\n",
				       failed, n, n == 1 ? "" : "s");
	g_string_append(text, "| VM | From | To | Mode | Disks to copy | Estimated time | Checks |\n"
			"|---|---|---|---|---|---|---|\n");
	for (guint i = 0; i < x->units->len; i++)
		if (((struct unit *)x->units->pdata[i])->selected)
			summary_row(x, x->units->pdata[i], text);
	g_string_append(text, "\n");
	for (guint i = 0; i < x->units->len; i++)
		if (((struct unit *)x->units->pdata[i])->selected)
			unit_section(x->units->pdata[i], text);
}
