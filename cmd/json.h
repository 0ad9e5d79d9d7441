/* json.h: writing JSON text into a GString, for the machine output of
 * cmd/ (vmshift plan -o json).  No parser here. */
#ifndef VMSHIFT_JSON_H
#define VMSHIFT_JSON_H

#include <glib.h>

/* Append @s as a JSON string literal, quotes included; NULL -> null. */
void json_append_string(GString *out, const char *s);

#endif
