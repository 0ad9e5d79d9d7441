/* ydoc.h: a YAML document loaded with libyaml, plus the few YAML rules
 * vmshift adds on top: one document per file, valid UTF-8, no duplicate
 * keys, "<<" merge keys, a cap on alias expansion, and YAML 1.2 core
 * schema typing of plain scalars.
 *
 * Nodes are libyaml's own (yaml_node_t), borrowed from the document:
 * they live until ydoc_release().  An alias is the node it refers to,
 * so a node's position is where its anchor was defined.
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

struct ydoc {
	yaml_document_t doc;
	gboolean loaded;
	struct diags *dg;	/* borrowed: where errors go */
};

struct ypair {
	yaml_node_t *key;	/* always a scalar */
	yaml_node_t *value;
};

/* Parse @buf (@len bytes).  On failure every problem found is in @dg
 * and -1 is returned; on success the document has a root node. */
int ydoc_load(struct ydoc *y, const char *buf, gsize len, struct diags *dg);
void ydoc_release(struct ydoc *y);

yaml_node_t *ydoc_root(struct ydoc *y);
struct pos ydoc_pos(const yaml_node_t *n);
enum ykind ydoc_kind(const yaml_node_t *n);
/* "a string", "an integer", ... for messages */
const char *ydoc_kind_name(enum ykind k);
/* The scalar's text (NUL-terminated, borrowed); NULL for collections. */
const char *ydoc_str(const yaml_node_t *n);
/* Column offset from a scalar's start to its first character of text:
 * 1 for quoted scalars, 0 otherwise. */
guint ydoc_text_col(const yaml_node_t *n);

/* Value of an integer scalar; FALSE if it is not one or overflows. */
gboolean ydoc_int(const yaml_node_t *n, gint64 *out);
/* Value of a boolean scalar; FALSE if it is not one. */
gboolean ydoc_bool(const yaml_node_t *n, gboolean *out);

/* Items of a sequence node: count and the i-th node. */
guint ydoc_seq_len(const yaml_node_t *seq);
yaml_node_t *ydoc_seq_item(struct ydoc *y, const yaml_node_t *seq, guint i);

/* The pairs of a mapping with "<<" merges applied (explicit keys win,
 * then earlier merge sources).  Duplicate and non-scalar keys and bad
 * merge values are reported to the document's diags and left out.
 * Caller frees the array. */
GArray *ydoc_pairs(struct ydoc *y, yaml_node_t *map);

#endif
