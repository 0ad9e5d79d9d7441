/* step_xml.c: the domain's XML in the unit's state directory: exported
 * (the export-xml step), loaded again, remapped for the target. */
#include <string.h>

#include "step_common.h"
#include "steps.h"

int
step_write_file(const char *path, const char *text, GError **err)
{
	return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, err) ? 0 : -1;
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

/* u->sxml and u->txml from @xml: parse, then remap a second copy. */
int
step_xml_set(struct exec *x, struct unit *u, const char *xml, GError **err)
{
	const struct remap *sets[3];
	guint n = unit_remap_sets(x, u, sets);

	g_clear_pointer(&u->sxml, domxml_free);
	g_clear_pointer(&u->txml, domxml_free);
	g_clear_pointer(&u->changes, g_ptr_array_unref);
	if (!(u->sxml = domxml_parse(xml, err)) || !(u->txml = domxml_parse(xml, err)))
		return -1;
	u->changes = g_ptr_array_new_with_free_func((GDestroyNotify)dom_change_free);
	return domxml_remap(u->txml, sets, n, u->changes, err);
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
	if (!fact_bool(u, FACT_EXPORTED, FALSE) && u->m->set.mode == MODE_LIVE)
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
	g_autofree char *spath = unit_file(u, "source.xml");
	g_autofree char *mpath = unit_file(u, "source-migratable.xml");
	g_autofree char *tpath = unit_file(u, "target.xml");
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
	if (step_write_file(spath, exact, err) < 0 || step_write_file(mpath, xml, err) < 0 ||
	    step_write_file(tpath, txml, err) < 0)
		return -1;
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
