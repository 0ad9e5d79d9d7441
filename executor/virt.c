/* virt.c: what every file that talks to libvirt shares: its event loop,
 * its error text, and domain handles.  Knows nothing of plans or runs. */
#include <gio/gio.h>

#include "domxml.h"
#include "virt.h"

static gint event_loop_started;

/* libvirt delivers keepalives and connection-close events through an
 * event loop the client runs; without it a dead host goes unnoticed. */
static gpointer
event_loop(gpointer unused)
{
	(void)unused;
	while (virEventRunDefaultImpl() == 0)
		;
	return NULL;
}

static void
ignore_error(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;	/* reported through GError by the caller instead */
}

char *
virt_error(void)
{
	const char *m = virGetLastErrorMessage();

	return g_strdup(m && *m ? m : "unknown libvirt error");
}

int
virt_event_loop_start(GError **err)
{
	if (g_atomic_int_get(&event_loop_started))
		return 0;
	virSetErrorFunc(NULL, ignore_error);
	if (virEventRegisterDefaultImpl() < 0) {
		g_autofree char *e = virt_error();

		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot start libvirt's event loop: %s", e);
		return -1;
	}
	g_thread_unref(g_thread_new("libvirt-events", event_loop, NULL));
	g_atomic_int_set(&event_loop_started, 1);
	return 0;
}

/* Only a state libvirt positively reports as shut off counts as off: a
 * failed query is "maybe running". */
gboolean
virt_dom_is_running(virDomainPtr d)
{
	int state = VIR_DOMAIN_NOSTATE, reason;

	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return TRUE;
	return state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED;
}

void
virt_dom_free(virDomainPtr d)
{
	if (d)
		virDomainFree(d);
}

/* Undefine @d with the flags it needs and no more: KEEP_NVRAM when it has
 * an NVRAM file (libvirt refuses to undefine it otherwise, and the file is
 * not ours to delete here), KEEP_TPM when it has an emulated TPM (libvirt
 * would delete its state, which a rollback that defines the domain again
 * needs), nothing for one without (drivers that have neither, such as
 * test:///, refuse the flags).  When its XML cannot be read both are
 * passed: keeping a file is the safe side.  -1 with libvirt's error set
 * on failure. */
int
virt_dom_undefine(virDomainPtr d)
{
	g_autofree char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	g_autoptr(DomXml) dx = xml ? domxml_parse(xml, NULL) : NULL;
	gboolean nvram = dx == NULL, tpm = dx == NULL || domxml_tpm_emulator(dx);

	if (dx) {
		g_autoptr(GPtrArray) paths = domxml_paths(dx);

		for (guint i = 0; i < paths->len && !nvram; i++)
			nvram = ((struct dom_path *)paths->pdata[i])->kind == DOM_PATH_NVRAM;
	}
	return virDomainUndefineFlags(d, (nvram ? VIR_DOMAIN_UNDEFINE_KEEP_NVRAM : 0) |
					 (tpm ? VIR_DOMAIN_UNDEFINE_KEEP_TPM : 0));
}
