/* fields.h: the field tables, one row per scalar key of the plan format
 * and where its value goes (offsetof into a struct of plan.h).
 *
 * The parser reads keys through these tables, settings_inherit() merges
 * defaults through them and plan_migration_fingerprint() encodes what a
 * migration is through them: a key added to a table is read, inherited
 * and fingerprinted with no other change.  Private to the planner (and
 * its unit tests).
 */
#ifndef VMSHIFT_FIELDS_H
#define VMSHIFT_FIELDS_H

#include <stddef.h>

#include "plan.h"

enum ftype { F_STR, F_STR_EMPTY_OK, F_INT, F_BOOL, F_ENUM };

/* struct field.flags */
enum {
	/* how many run at once, not what a migration does: left out of
	 * plan_migration_fingerprint() */
	FIELD_CONCURRENCY = 1u << 0,
	/* how a step moves the bytes, not what it does: left out too, so
	 * that a resume may change it */
	FIELD_HOW = 1u << 1,
};

/* One scalar key of a mapping and where its value goes. */
struct field {
	const char *key;
	enum ftype type;
	gsize off;
	gint64 min, max;		/* F_INT */
	const char *const *names;	/* F_ENUM: NULL-terminated */
	unsigned flags;
};

struct ftable {
	const char *name;		/* "live": the block's key, a prefix in the fingerprint */
	const struct field *fields;
	guint n;
};

/* The tables.  The order of each table's rows is the bit in ->given and
 * the index into ->at[] of its struct (plan_priv.h names the bits). */
enum ftable_id {
	FT_SETTINGS,	/* struct settings: the keys at the top of defaults: and a migration */
	FT_SHUTDOWN,	/* struct shutdown_opts */
	FT_LIVE,	/* struct live_opts */
	FT_DISKS,	/* struct disk_opts, scalar keys (shared is a list, read apart) */
	FT_VERIFY,	/* struct verify_opts */
	FT_PREPARE,	/* struct prepare_opts */
	FT_HOST,	/* struct host */
	FT_SSH,		/* struct ssh_access */
	FT_RULE,	/* struct remap_rule */
	FT_MIGRATION,	/* struct migration's own keys */
	FT__COUNT
};

extern const struct ftable field_tables[FT__COUNT];

/* The option blocks of struct settings, each with its table and where
 * the block sits in struct settings. */
struct settings_block {
	enum ftable_id table;
	gsize off;
	gsize given_off;	/* of its guint32 ->given */
	gsize at_off;		/* of its struct pos ->at[] */
};

#define SETTINGS_BLOCKS 6
extern const struct settings_block settings_blocks[SETTINGS_BLOCKS];

/* Index of migration_fields: into at[] in read_migration(). */
enum { MF_ID, MF_VM, MF_MATCH, MF_FROM, MF_TO, MF__COUNT };

/* Fill what @dst leaves out from @src, key by key inside each block. */
void settings_inherit(struct settings *dst, const struct settings *src);

#endif
