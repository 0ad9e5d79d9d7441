/* ydoc.h: a YAML document loaded with libyaml, plus the few YAML rules
 * vmshift adds on top: one document per file, valid UTF-8, no duplicate
 * keys, "<<" merge keys, a cap on alias expansion, and YAML 1.2 core
 * schema typing of plain scalars.
 *
 * The tree is vmshift's own, built from libyaml's events: one array of
 * small nodes, the children of every collection in one array of
 * indexes, and scalar text in a string chunk (libyaml's own document
 * allocates every node's text and tag apart, which costs a large plan
 * more memory than the plan itself).  Nodes are borrowed from the
 * document: they live until ydoc_release().  An alias is the node it
 * refers to, so a node's position is where its anchor was defined.
 */
#ifndef VMSHIFT_YDOC_H
#define VMSHIFT_YDOC_H

#include <yaml.h>

#include "diag.h"

#define YDOC_MAX_DEPTH 64

enum ykind {
	YK_NULL,
	YK_BOOL,
	YK_INT,
	YK_FLOAT,
	YK_STR,
	YK_SEQ,
	YK_MAP,
};

struct ynode {
	guint8 type;		/* yaml_node_type_t: YAML_SCALAR_NODE, ... */
	guint8 style;		/* a scalar's yaml_scalar_style_t */
	guint8 kind;		/* enum ykind, worked out once when loaded */
	guint8 merge_tag : 1;	/* tagged tag:yaml.org,2002:merge */
	guint8 multiline : 1;	/* starts and ends on different lines */
	guint32 line, col;	/* of its start, 0-based as libyaml's marks */
	guint32 n;		/* scalar: bytes of text; sequence: items; mapping: pairs */
	union {
		const char *text;	/* scalar: NUL-terminated, in ydoc.text */
		guint32 first;		/* collection: its first child in ydoc.kids */
	} u;
};

struct ydoc {
	/* While loading, GArrays (which round their storage up to a power
	 * of two); once loaded, plain arrays of exactly the size. */
	GArray *nodes_b, *kids_b;
	struct ynode *nodes;	/* n_nodes of them */
	guint32 *kids;		/* node indexes: each collection's children in a
				 * run, a mapping's as key, value, key, value... */
	gsize n_nodes, n_kids;
	GStringChunk *text;
	guint root;		/* index of the root node + 1; 0: none */
	gboolean loaded;
	struct diags *dg;	/* borrowed: where errors go */
};

struct ypair {
	struct ynode *key;	/* always a scalar */
	struct ynode *value;
};

/* Parse @buf (@len bytes).  On failure every problem found is in @dg
 * and -1 is returned; on success the document has a root node. */
int ydoc_load(struct ydoc *y, const char *buf, gsize len, struct diags *dg);
void ydoc_release(struct ydoc *y);

struct ynode *ydoc_root(struct ydoc *y);
struct pos ydoc_pos(const struct ynode *n);
enum ykind ydoc_kind(const struct ynode *n);
/* "a string", "an integer", ... for messages */
const char *ydoc_kind_name(enum ykind k);
/* The scalar's text (NUL-terminated, borrowed); NULL for collections. */
const char *ydoc_str(const struct ynode *n);
/* Column offset from a scalar's start to its first character of text:
 * 1 for quoted scalars, 0 otherwise. */
guint ydoc_text_col(const struct ynode *n);
/* A scalar's length in bytes: more than strlen() if it holds a NUL. */
guint ydoc_str_len(const struct ynode *n);
/* A scalar's yaml_scalar_style_t. */
int ydoc_style(const struct ynode *n);
/* TRUE if the node starts and ends on different lines. */
gboolean ydoc_multiline(const struct ynode *n);

/* Value of an integer scalar; FALSE if it is not one or overflows. */
gboolean ydoc_int(const struct ynode *n, gint64 *out);
/* Value of a boolean scalar; FALSE if it is not one. */
gboolean ydoc_bool(const struct ynode *n, gboolean *out);

/* Items of a sequence node: count and the i-th node. */
guint ydoc_seq_len(const struct ynode *seq);
struct ynode *ydoc_seq_item(struct ydoc *y, const struct ynode *seq, guint i);

/* The pairs of a mapping with "<<" merges applied (explicit keys win,
 * then earlier merge sources).  Duplicate and non-scalar keys and bad
 * merge values are reported to the document's diags and left out.
 * Caller frees the array. */
GArray *ydoc_pairs(struct ydoc *y, struct ynode *map);

#endif
