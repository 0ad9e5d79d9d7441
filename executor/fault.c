/* fault.c: test-only fault injection (VMSHIFT_FAULT). */
#include <string.h>

#include "unit.h"

/* ---- fault injection (tests only) ---- */

void
fault_parse(struct exec *x)
{
	const char *spec = g_getenv("VMSHIFT_FAULT");
	g_auto(GStrv) items = NULL;

	if (!spec || !*spec)
		return;
	/* STEP:ACTION[:UNIT], several separated by commas */
	x->faults = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	items = g_strsplit(spec, ",", -1);
	for (guint i = 0; items[i]; i++) {
		char **parts = g_strsplit(items[i], ":", 3);

		if (g_strv_length(parts) >= 2)
			g_ptr_array_add(x->faults, parts);
		else
			g_strfreev(parts);
	}
	sink_log(&x->sink, "VMSHIFT_FAULT is set (%s): a test is injecting a failure", spec);
}

gboolean
fault_due(struct exec *x, struct unit *u, enum step s, const char *action)
{
	for (guint i = 0; x->faults && i < x->faults->len; i++) {
		char **f = x->faults->pdata[i];

		if (!strcmp(f[0], step_name(s)) && !strcmp(f[1], action) && (!f[2] || !strcmp(f[2], u->id)))
			return TRUE;
	}
	return FALSE;
}
