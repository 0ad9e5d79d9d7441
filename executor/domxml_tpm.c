/* domxml_tpm.c: whether the domain has an emulated TPM, whose state
 * (swtpm's) lives on the host beside the definition, not in the XML. */
#include <string.h>

#include "domxml_priv.h"

gboolean
domxml_tpm_emulator(const struct domxml *d)
{
	xmlNodePtr devices = child(xmlDocGetRootElement(d->doc), "devices");

	for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
		g_autofree char *type = NULL;

		if (!is_element(c, "tpm"))
			continue;
		type = prop(child(c, "backend"), "type");
		if (!g_strcmp0(type, "emulator"))
			return TRUE;
	}
	return FALSE;
}
