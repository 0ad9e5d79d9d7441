/* udiff.h: a unified diff of two small texts (domain XMLs), in memory so
 * that a dry-run writes no file anywhere. */
#ifndef VMSHIFT_UDIFF_H
#define VMSHIFT_UDIFF_H

#include <glib.h>

/* "--- @a_name\n+++ @b_name\n@@ ... @@\n..." with 3 lines of context;
 * an empty string if the texts are equal.  Caller frees. */
char *udiff(const char *a, const char *b, const char *a_name, const char *b_name);

#endif
