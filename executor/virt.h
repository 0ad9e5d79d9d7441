/* virt.h: what every file that talks to libvirt shares.
 *
 * A leaf: libvirt and glib only, no plan, no run.  libvirt keeps its last
 * error per thread, so virt_error() must be called in the thread whose
 * call failed, before the next libvirt call there.
 */
#ifndef VMSHIFT_VIRT_H
#define VMSHIFT_VIRT_H

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* Start libvirt's event loop (keepalives, close events) in a thread of
 * its own, once per process; it runs until the process exits. */
int virt_event_loop_start(GError **err);
/* libvirt's message of the last call that failed in this thread. */
char *virt_error(void);

gboolean virt_dom_is_running(virDomainPtr d);	/* TRUE unless positively shut off */
void virt_dom_free(virDomainPtr d);		/* NULL-safe */
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(virDomainPtr, virt_dom_free, NULL)
/* virDomainUndefineFlags() with KEEP_NVRAM only if @d has NVRAM; -1 with
 * libvirt's error set on failure. */
int virt_dom_undefine(virDomainPtr d);

#endif
