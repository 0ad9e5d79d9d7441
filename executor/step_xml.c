/* step_xml.c: the domain's XML in the unit's state directory: exported
 * (the export-xml step), loaded again, remapped for the target. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "step_common.h"
#include "steps.h"

static int
sys_fail(GError **err, const char *what, const char *path)
{
	int e = errno;

	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "cannot %s '%s': %s", what, path, g_strerror(e));
	return -1;
}

/* @text into a new temporary file beside @path, synced: its name in *tmp. */
static int
write_synced_tmp(const char *path, const char *text, char **tmp, GError **err)
{
	gsize len = strlen(text), off = 0;
	int fd;

	*tmp = g_strconcat(path, ".XXXXXX", NULL);
	if ((fd = g_mkstemp_full(*tmp, O_RDWR | O_CLOEXEC, 0600)) < 0)
		return sys_fail(err, "create", *tmp);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sys_fail(err, "write", *tmp);
			close(fd);
			return -1;
		}
		off += (gsize)n;
	}
	if (fsync(fd) < 0) {
		sys_fail(err, "sync", *tmp);
		close(fd);
		return -1;
	}
	return close(fd) < 0 ? sys_fail(err, "close", *tmp) : 0;
}

int
step_write_files(const char *dir, const char *const *names, const char *const *texts, guint n, GError **err)
{
	g_autoptr(GPtrArray) tmps = g_ptr_array_new_with_free_func(g_free);
	int rc = 0, fd;

	for (guint i = 0; i < n && rc == 0; i++) {
		g_autofree char *path = g_build_filename(dir, names[i], NULL);
		char *tmp = NULL;

		rc = write_synced_tmp(path, texts[i], &tmp, err);
		g_ptr_array_add(tmps, tmp);
	}
	for (guint i = 0; i < n && rc == 0; i++) {
		g_autofree char *path = g_build_filename(dir, names[i], NULL);

		if (g_rename(tmps->pdata[i], path) < 0)
			rc = sys_fail(err, "rename", tmps->pdata[i]);
		else
			g_clear_pointer(&tmps->pdata[i], g_free);	/* in place */
	}
	for (guint i = 0; i < tmps->len; i++)
		if (tmps->pdata[i])
			g_unlink(tmps->pdata[i]);
	if (rc < 0)
		return -1;
	/* the new names, on disk: one sync of the directory for all */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sys_fail(err, "open", dir);
	if (fsync(fd) < 0)
		rc = sys_fail(err, "sync", dir);
	close(fd);
	return rc;
}

/* The remap rule sets of @u in the order they are tried. */
static guint
unit_remap_sets(struct exec *x, struct unit *u, const struct remap **sets)
{
	sets[0] = &u->m->set.remap;
	sets[1] = &x->plan->defaults.remap;
	sets[2] = &x->plan->remap;
	return 3;
}

char *
step_remap_path(struct exec *x, struct unit *u, const char *path, GError **err)
{
	const struct remap *sets[3];
	guint n = unit_remap_sets(x, u, sets);
	g_autoptr(GError) e = NULL;
	char *r = remap_apply(sets, n, REMAP_PATHS, path, &e);

	if (e) {
		g_propagate_error(err, g_steal_pointer(&e));
		return NULL;
	}
	if (r && !g_path_is_absolute(r)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the paths rules turn '%s' into '%s', which is not an absolute path",
			    path, r);
		g_free(r);
		return NULL;
	}
	return r ? r : g_strdup(path);
}

/* u->sxml and u->txml from @xml: parse, then remap a second copy. */
int
step_xml_set(struct exec *x, struct unit *u, const char *xml, GError **err)
{
	const struct remap *sets[3];
	guint n = unit_remap_sets(x, u, sets);

	/* the same definition as last time (claims, preflight, export-xml
	 * read it in turn): the documents are those of this text */
	if (u->sxml && u->txml && u->changes && !g_strcmp0(u->xml_text, xml))
		return 0;
	g_clear_pointer(&u->sxml, domxml_free);
	g_clear_pointer(&u->txml, domxml_free);
	g_clear_pointer(&u->changes, g_ptr_array_unref);
	g_clear_pointer(&u->xml_text, g_free);
	if (!(u->sxml = domxml_parse(xml, err)) || !(u->txml = domxml_parse(xml, err)))
		return -1;
	u->changes = g_ptr_array_new_with_free_func((GDestroyNotify)dom_change_free);
	if (domxml_remap(u->txml, sets, n, u->changes, err) < 0) {
		g_clear_pointer(&u->txml, domxml_free);	/* half remapped: not to be reused */
		return -1;
	}
	u->xml_text = g_strdup(xml);
	return 0;
}

/* After export-xml, the saved source XML is the reference: the source
 * domain itself may be gone (undefined) by now. */
int
step_xml_load(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *path = unit_file(u, "source-migratable.xml");
	g_autofree char *xml = NULL;

	if (u->sxml && u->txml)
		return 0;
	/* live mode has no export-xml step: its first step after preflight
	 * exports (a resumed run gets here without preflight's copy) */
	if (!fact_bool(u, FACT_EXPORTED, FALSE) && u->mode == MODE_LIVE)
		return step_export_xml(x, u, err);
	if (!g_file_get_contents(path, &xml, NULL, err))
		return -1;
	return step_xml_set(x, u, xml, err);
}

/* ---- export-xml ---- */

/* Three files: source.xml is the definition exactly as the source host
 * had it (undo defines it again from this one, so the host ends up with
 * the very same XML); source-migratable.xml is libvirt's portable form of
 * it, and target.xml that form with the remaps applied. */
int
step_export_xml(struct exec *x, struct unit *u, GError **err)
{
	g_autofree char *exact = NULL, *xml = NULL, *txml = NULL;
	g_auto(virDomainPtr) d = NULL;
	g_autoptr(JsonObject) facts = json_object_new();
	g_autoptr(JsonArray) changes = json_array_new();
	gboolean missing = FALSE;

	/* files from an earlier, rolled-back attempt are stale: only those
	 * this attempt journaled count */
	if (fact_bool(u, FACT_EXPORTED, FALSE))
		return step_xml_load(x, u, err);
	if (!(d = host_dom_lookup(u->src, u->vm, &missing, err)))
		return missing ? step_fail(err, "domain '%s' vanished from %s", u->vm, u->src->h->name) : -1;
	if (!(exact = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE)) ||
	    !(xml = virDomainGetXMLDesc(d, XML_FLAGS(x))))
		return step_lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->src->h->name);
	if (step_xml_set(x, u, xml, err) < 0)
		return -1;
	if (strcmp(domxml_uuid(u->sxml), fact_str(u, FACT_SOURCE_UUID)))
		return step_fail(err, "'%s' on %s changed identity since preflight (uuid %s, was %s)", u->vm,
			    u->src->h->name, domxml_uuid(u->sxml), fact_str(u, FACT_SOURCE_UUID));
	txml = domxml_format(u->txml);
	/* the target file last: its presence says all three are complete */
	{
		const char *const names[] = { "source.xml", "source-migratable.xml", "target.xml" };
		const char *const texts[] = { exact, xml, txml };

		if (step_write_files(u->dir, names, texts, G_N_ELEMENTS(names), err) < 0)
			return -1;
	}
	for (guint i = 0; i < u->changes->len; i++) {
		struct dom_change *c = u->changes->pdata[i];
		JsonObject *o = json_object_new();

		json_object_set_string_member(o, "what", c->what);
		json_object_set_string_member(o, "from", c->from);
		json_object_set_string_member(o, "to", c->to);
		json_array_add_object_element(changes, o);
	}
	json_object_set_array_member(facts, FACT_REMAPPED, json_array_ref(changes));
	json_object_set_boolean_member(facts, FACT_EXPORTED, TRUE);
	return unit_record_facts(x, u, STEP_EXPORT_XML, facts, err);
}
