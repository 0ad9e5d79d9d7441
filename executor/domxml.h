/* domxml.h: what a libvirt domain XML references, and its remapped copy.
 *
 * domxml_parse() reads the XML of virDomainGetXMLDesc(VIR_DOMAIN_XML_INACTIVE
 * | VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE) with libxml2: no
 * network access, no entity substitution, and a DOCTYPE is refused (libvirt
 * never writes one).  Nothing here talks to libvirt.
 *
 * domxml_remap() rewrites the values the plan's remap rules cover
 * (docs/plan-format.md, "remap"); domxml_format() returns the document with
 * only those values changed: every other byte of the input, quotes and
 * layout included, is kept, so a diff of input and output shows just the
 * remapped lines.  (Only if a value cannot be located in the input text,
 * e.g. a path written as CDATA, is the document serialised by libxml2
 * instead; it is then equivalent but not byte-identical.)
 *
 * Ownership: returned char * and GPtrArray * belong to the caller (the
 * arrays have their free function set); const char * are borrowed from
 * the struct domxml and live until domxml_free() or domxml_remap().
 */
#ifndef VMSHIFT_DOMXML_H
#define VMSHIFT_DOMXML_H

#include <glib.h>

#include "../planner/plan.h"

#define DOMXML_ERROR (domxml_error_quark())
GQuark domxml_error_quark(void);

enum domxml_error {
	DOMXML_ERROR_PARSE,	/* not well-formed; the message has line and column */
	DOMXML_ERROR_INVALID,	/* well-formed but not a usable domain (no name, ...) */
	DOMXML_ERROR_REMAP,	/* a rule failed or gave an unusable value */
};

enum dom_path_kind {
	DOM_PATH_DISK,
	DOM_PATH_NVRAM,
	DOM_PATH_KERNEL,
	DOM_PATH_INITRD,
	DOM_PATH_SERIAL_LOG,
	DOM_PATH_CONSOLE_LOG,
	DOM_PATH_LOADER,	/* <os><loader> */
	DOM_PATH_NVRAM_TEMPLATE,	/* <os><nvram template=...> */
	DOM_PATH_DTB,		/* <os><dtb> */
	DOM_PATH_ACPI_TABLE,	/* <os><acpi><table> */
	DOM_PATH_FILESYSTEM,	/* <filesystem> <source dir> or <source file> */
	DOM_PATH_NVDIMM,	/* <memory model='nvdimm'|'virtio-pmem'> <source><path> */
	DOM_PATH_DISK_DIR,	/* <disk type='dir'> <source dir> */
	DOM_PATH_BACKING,	/* <backingStore type='file'> <source file> of a listed disk */
};

/* One file (or directory) the domain references; every value the paths
 * remap rules rewrite is one of these, and nothing else is.
 *
 * Listed, with kind, what, and flags (c = copy, s = system, d = dir,
 * b = backing, l = log, r = readonly where the XML says so):
 *
 *   LOADER          <os><loader> text                        "loader"             s r
 *   NVRAM_TEMPLATE  <os><nvram template=...>                 "nvram template"     s
 *   NVRAM           <os><nvram> text, or its <source file>   "nvram"              c
 *                   in the typed form (libvirt >= 8.5)
 *   KERNEL          <os><kernel>                             "kernel"             s
 *   INITRD          <os><initrd>                             "initrd"             s
 *   DTB             <os><dtb>                                "dtb"                s
 *   ACPI_TABLE      <os><acpi><table type=T>                 "acpi table T"       s
 *   DISK            <disk type='file'> (or no type) with     "disk vda",          c r
 *                   device disk, cdrom or floppy: <source     "disk hdc (cdrom)",
 *                   file>                                    "disk #2"
 *   BACKING         each <backingStore type='file'> (or no   "disk vda backing N" b
 *                   type) below such a disk, at any depth:
 *                   its <source file>
 *   DISK_DIR        <disk type='dir'>, device disk, cdrom or "disk fda (floppy)"  d r
 *                   floppy: <source dir>
 *   FILESYSTEM      <filesystem type='mount'> (or no type)    "filesystem TAG",    d r
 *                   or 'bind': <source dir>; type='file':     "filesystem #N"      r
 *                   <source file> (TAG: <target dir>)
 *   NVDIMM          <memory model='nvdimm'|'virtio-pmem'>     "memory #N (nvdimm)" c r
 *                   <source><path>
 *   SERIAL_LOG,     <serial>/<console type='file'> <source    "serial 0 file",     l
 *   CONSOLE_LOG     path>; <log file> of any type            "serial 0 log", ...
 *
 * N in "#N" counts every element of that name under <devices> from 0
 * (listed or not); N of "backing N" is the depth.  Absent and empty
 * values are not listed.
 *
 * Not listed (not remapped): block, network, volume, nvme disks and
 * filesystems of type block, ram, volume or template (domxml_disks()
 * lists every disk, whatever its type); backing layers of another type
 * than file (a file layer below one is listed, its depth counting it);
 * virtiofs <source socket> and <binary path>; <emulator>; channels,
 * parallel ports, TPM state, sockets.
 *
 * Order: <os> first, in the order libvirt writes it (loader, nvram
 * template, nvram, kernel, initrd, dtb, acpi tables), then <devices> in
 * document order, each disk followed by its backing layers, top down.
 * The entries depend only on the document's structure, never on the
 * values: domxml_paths() of a document and of its remapped copy list
 * the same entries, with the same kind, what and flags, in the same
 * order, and callers pair them by index.
 *
 * In libvirt's inactive XML the console aliasing serial 0 repeats that
 * serial's <source path> and <log file>: the same path then appears once
 * as "serial 0 ..." and once as "console 0 ...".  Deduplicate by path if
 * it matters (creating the same empty log twice does not). */
struct dom_path {
	enum dom_path_kind kind;
	char *what;		/* for people, as in the table above */
	char *path;		/* current value (remapped, after domxml_remap()) */
	gboolean copy;		/* offline mode copies it: file disks and cdroms,
				 * nvram, nvdimm/virtio-pmem backing files; FALSE for
				 * every other kind */
	gboolean readonly;	/* the XML marks it read-only: the disk's <readonly/>,
				 * <loader readonly='yes'>, the filesystem's
				 * <readonly/>, the memory device's <target><readonly/> */
	gboolean log;		/* serial/console output: create it empty on the target */
	gboolean system;	/* a file of the host (firmware, boot files): remapped,
				 * never copied, and must exist on the target: loader,
				 * nvram template, kernel, initrd, dtb, acpi table */
	gboolean dir;		/* a directory, not a file: DISK_DIR, FILESYSTEM of
				 * <source dir>; never copied, must exist on the
				 * target (shared data) */
	gboolean backing;	/* a BACKING layer: remapped so that the target's XML
				 * names the right file, never copied or checked from
				 * this entry (storage.c follows chains itself) */
	guint depth;		/* BACKING: N for the Nth <backingStore> below the
				 * disk (1 = the disk's own backing file); 0 otherwise */
	char *format;		/* BACKING: the layer's <format type>; DISK: its
				 * <driver type>; NULL if absent and for other kinds */
	int disk_index;		/* BACKING: index, in the same domxml_paths() array,
				 * of the DISK entry it belongs to; -1 otherwise */
};

/* Entries that are neither copy, log nor backing are to be found on the
 * target at their (remapped) path: the system files, the directories,
 * and a FILESYSTEM of type file (shared data). */

/* One value domxml_remap() changed. */
struct dom_change {
	enum remap_kind kind;
	char *what;		/* as in struct dom_path; "interface 52:54:00:..." for
				 * bridges and networks ("interface N" without <mac>) */
	char *from;
	char *to;
};

enum dom_disk_type {
	DOM_DISK_FILE,
	DOM_DISK_BLOCK,
	DOM_DISK_NETWORK,
	DOM_DISK_VOLUME,
	DOM_DISK_DIR,
	DOM_DISK_OTHER,		/* "nvme", "vhostuser", anything else */
};

/* One <devices><disk>, of any type, so that callers can refuse what they
 * cannot move safely.  Values are the current ones (after domxml_remap(),
 * a file disk's source is its remapped path, as domxml_paths() says).
 * The strings belong to the struct; dom_disk_free() frees them. */
struct dom_disk {
	enum dom_disk_type type;
	char *type_name;	/* type= as written ("file", "block", "nvme", ...);
				 * "file" if absent, libvirt's default */
	char *what;		/* for people; for a disk domxml_paths() lists, the
				 * same text as its struct dom_path ("disk vda",
				 * "disk hdc (cdrom)", "disk #2" without <target dev>) */
	char *target;		/* <target dev>, or NULL */
	char *device;		/* device=: "disk" (if absent), "cdrom", "floppy", "lun" */
	char *source;		/* file: <source file>; block: <source dev>; dir:
				 * <source dir>; network: "PROTOCOL:NAME", plus
				 * " on HOST" for the first <host name> if any;
				 * volume: "POOL/VOLUME".  A missing network or
				 * volume attribute is left empty.  NULL when there
				 * is no source (an empty cdrom: no <source>, or
				 * none of those attributes, or all empty) and for
				 * DOM_DISK_OTHER */
	char *format;		/* <driver type>: "qcow2", "raw", ...; NULL if absent */
	gboolean readonly;	/* <readonly/> */
	gboolean shareable;	/* <shareable/> */
	gboolean backing_store;	/* a <backingStore> child with a <source>: libvirt
				 * wrote (part of) the backing chain */
};

void dom_path_free(gpointer p);
void dom_change_free(gpointer p);
void dom_disk_free(gpointer p);		/* NULL-safe */

struct domxml;
typedef struct domxml DomXml;

/* Parse @xml (NUL-terminated, UTF-8).  <domain> must be the root and
 * have a non-empty <name> and <uuid>; <memory> must be a valid size if
 * present.  NULL with *err set on failure. */
struct domxml *domxml_parse(const char *xml, GError **err);
void domxml_free(struct domxml *d);	/* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomXml, domxml_free)

const char *domxml_name(const struct domxml *d);
const char *domxml_uuid(const struct domxml *d);
/* <memory> in KiB, rounded up; 0 if the element is absent. */
guint64 domxml_memory_kib(const struct domxml *d);

/* Of struct dom_path *, in the order described at struct dom_path. */
GPtrArray *domxml_paths(const struct domxml *d);
/* Of struct dom_disk *: every <devices><disk>, in document order. */
GPtrArray *domxml_disks(const struct domxml *d);
/* Does <devices> have a <tpm> with <backend type='emulator'>?  Its state
 * is swtpm's directory on the host (/var/lib/libvirt/swtpm/UUID), which
 * no path in the XML names. */
gboolean domxml_tpm_emulator(const struct domxml *d);
/* Of char *: distinct <source bridge> of <interface type='bridge'>, and
 * distinct <source network> of <interface type='network'>, document
 * order. */
GPtrArray *domxml_bridges(const struct domxml *d);
GPtrArray *domxml_networks(const struct domxml *d);

/* The <cpu> element of the domain XML text @xml (skipping <cputune> and
 * other elements that begin alike), or NULL.  Caller frees. */
char *domxml_cpu_element(const char *xml);
/* The type attribute of the root <domain> of the XML text @xml ("kvm",
 * "qemu": the virttype a CPU comparison must be made for), or NULL.
 * Caller frees. */
char *domxml_virt_type(const char *xml);

/* Rewrite every value with remap_apply(): paths rules to every path
 * domxml_paths() lists, bridges rules to bridge names, networks rules to
 * network names.  For each value that changes, appends a struct
 * dom_change * to @changes (give it dom_change_free as free function).
 * A remapped value must be non-empty, and a remapped path absolute.
 * All or nothing: on error (-1, *err set) neither the document nor
 * @changes is touched.  May be called again; rules then see the values
 * the previous call produced. */
int domxml_remap(struct domxml *d, const struct remap *const *sets, guint n_sets,
		 GPtrArray *changes, GError **err)
	G_GNUC_WARN_UNUSED_RESULT;

/* The (remapped) document as text: the input with the changed values
 * replaced in place (or, in the fallback described at the top, libxml2's
 * serialisation without an XML declaration).  Caller frees. */
char *domxml_format(const struct domxml *d);

/* Apply the @kind rules of @sets to @value: sets in order, rules of a set
 * in order, the first rule whose pattern matches wins, and only its first
 * match is replaced (pcre2_substitute() without GLOBAL).  NULL entries of
 * @sets, and NULL rule arrays, are skipped.  Returns a new string (which
 * may equal @value if the rule maps it to itself), or NULL: with *err
 * unset if no rule matched, with *err set on a substitution error. */
char *remap_apply(const struct remap *const *sets, guint n_sets, enum remap_kind kind,
		  const char *value, GError **err);

#endif
