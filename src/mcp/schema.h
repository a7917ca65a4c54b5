/* A JSON Schema validator for the subset that MCP tool schemas use.
 *
 * Tool results (and the upstream objects tools pass through) are checked
 * against the tool's outputSchema; tool arguments are checked by their
 * argument table (args.c), with the same sentences. Supported keywords:
 * type (a name or a list), enum, const, properties, required,
 * additionalProperties (boolean or schema), items, minItems, maxItems,
 * minLength, maxLength (in code points), minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, pattern (POSIX extended), anyOf, oneOf, allOf. Unknown
 * keywords (description, title, default, format, ...) are ignored. Strings
 * containing a NUL character are always refused: no file name or prompt
 * legitimately holds one, and C code downstream would silently truncate it.
 *
 * Thread: pure; any thread. */
#ifndef SZ_MCP_SCHEMA_H
#define SZ_MCP_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* Returns 0 when value satisfies schema; otherwise SZ_EINVAL with one sentence
 * in msg that names the offending field by its path (e.g. "'input_images[2]'
 * must be a string"). Both arguments are borrowed. */
int mcp_schema_validate(const json_t *schema, const json_t *value, char *msg, size_t msglen);

#endif
