/* Result tables (table.h): the outputSchema a tool's field rows describe, and
 * the check of a result (or of an upstream object a tool passes through)
 * against those rows.
 *
 * The check walks the rows, not a JSON Schema: one lookup per declared field
 * instead of a dozen keyword lookups per value, since every result goes
 * through it. Fields a row does not declare are allowed (an upstream API adds
 * fields; we pass them on). The path to a value is a chain of frames on the
 * stack, rendered into text only when a check fails. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN 256

static const char *const type_names[] = {"string", "integer", "number", "boolean",
                                         "object", "array",   "null"};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

static json_t *field_type(unsigned types)
{
    json_t *list = json_array();
    json_t *one;

    for (size_t i = 0; i < NTYPES; i++)
        if (types & (1u << i))
            json_array_append_new(list, json_string(type_names[i]));
    if (json_array_size(list) != 1)
        return list;
    one = json_incref(json_array_get(list, 0));
    json_decref(list);
    return one;
}

json_t *mcp_field_schema(const struct mcp_field *f)
{
    json_t *s = json_object();

    json_object_set_new(s, "type", field_type(f->types));
    if (f->description != NULL)
        json_object_set_new(s, "description", json_string(f->description));
    if (f->values != NULL)
        json_object_set_new(s, "enum", mcp_string_list(f->values));
    if (f->fields != NULL) {
        json_t *props = json_object();
        json_t *required = json_array();
        for (size_t i = 0; i < f->nfields; i++) {
            json_object_set_new(props, f->fields[i].name, mcp_field_schema(&f->fields[i]));
            if (f->fields[i].required)
                json_array_append_new(required, json_string(f->fields[i].name));
        }
        json_object_set_new(s, "properties", props);
        if (json_array_size(required) > 0)
            json_object_set(s, "required", required);
        json_decref(required);
    }
    if (f->items != NULL)
        json_object_set_new(s, "items", mcp_field_schema(f->items));
    if (f->min_items > 0)
        json_object_set_new(s, "minItems", json_integer((json_int_t)f->min_items));
    if (f->max_items > 0)
        json_object_set_new(s, "maxItems", json_integer((json_int_t)f->max_items));
    return s;
}

/* ---- checking ------------------------------------------------------------- */

/* Where a value sits: a key of an object or an index of an array below a parent. */
struct path {
    const struct path *parent;
    const char *key; /* NULL for an array index */
    size_t index;
};

/* Renders p as "data[2].id" (empty for the root). */
static size_t render(const struct path *p, char *out, size_t outlen)
{
    size_t used;
    int n;

    if (p == NULL)
        return 0;
    used = render(p->parent, out, outlen);
    if (used >= outlen)
        return used;
    if (p->key != NULL)
        n = snprintf(out + used, outlen - used, "%s%s", used > 0 ? "." : "", p->key);
    else
        n = snprintf(out + used, outlen - used, "[%zu]", p->index);
    return used + (n > 0 ? (size_t)n : 0);
}

/* "'data[2].id'" (or "the result" for the root), then fmt, into msg. */
static int fail(const struct path *p, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(const struct path *p, char *msg, size_t msglen, const char *fmt, ...)
{
    char where[PATH_MAX_LEN];
    va_list ap;
    int n;

    where[0] = '\0';
    render(p, where, sizeof(where));
    if (where[0] == '\0')
        n = snprintf(msg, msglen, "the result");
    else
        n = snprintf(msg, msglen, "'%s'", where);
    if (n >= 0 && (size_t)n < msglen) {
        va_start(ap, fmt);
        vsnprintf(msg + n, msglen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return SZ_EINVAL;
}

static unsigned type_bit(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return MCP_T_STRING;
    case JSON_INTEGER:
        return MCP_T_INTEGER | MCP_T_NUMBER; /* an integer is a number too */
    case JSON_REAL: {
        /* 5.0 is an integer, as JSON Schema has it. */
        double d = json_real_value(v);
        return isfinite(d) && floor(d) == d ? MCP_T_INTEGER | MCP_T_NUMBER : MCP_T_NUMBER;
    }
    case JSON_TRUE:
    case JSON_FALSE:
        return MCP_T_BOOLEAN;
    case JSON_OBJECT:
        return MCP_T_OBJECT;
    case JSON_ARRAY:
        return MCP_T_ARRAY;
    case JSON_NULL:
        return MCP_T_NULL;
    }
    return 0;
}

static int check(const struct mcp_field *f, const json_t *v, const struct path *p, char *msg,
                 size_t msglen);

static int check_type(const struct mcp_field *f, const json_t *v, const struct path *p, char *msg,
                      size_t msglen)
{
    static const char *const kinds[] = {"a string",  "an integer", "a number", "a boolean",
                                        "an object", "an array",   "null"};
    unsigned types = f->types;
    char want[128];
    size_t used = 0, left;

    if (type_bit(v) & types)
        return 0;
    if ((types & MCP_T_INTEGER) && (types & MCP_T_NUMBER))
        types &= ~(unsigned)MCP_T_INTEGER; /* "a number" says both */
    /* "a string", "a string or null", "an integer, a string or null" */
    want[0] = '\0';
    left = (size_t)__builtin_popcount(types);
    for (size_t i = 0; i < NTYPES && used < sizeof(want); i++) {
        if (!(types & (1u << i)))
            continue;
        left--;
        used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s", kinds[i],
                                 left > 1    ? ", "
                                 : left == 1 ? " or "
                                             : "");
    }
    return fail(p, msg, msglen, " must be %s, not %s", want, mcp_value_kind(v));
}

static int check_enum(const struct mcp_field *f, const json_t *v, const struct path *p, char *msg,
                      size_t msglen)
{
    char list[512];
    size_t used = 0;

    for (size_t i = 0; json_is_string(v) && f->values[i] != NULL; i++)
        if (strcmp(f->values[i], json_string_value(v)) == 0)
            return 0;
    list[0] = '\0';
    for (size_t i = 0; f->values[i] != NULL && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"%s\"", i ? ", " : "",
                                 f->values[i]);
    return fail(p, msg, msglen, " must be one of %s", list);
}

static int check_object(const struct mcp_field *f, const json_t *v, const struct path *p, char *msg,
                        size_t msglen)
{
    for (size_t i = 0; i < f->nfields; i++) {
        const struct mcp_field *sub = &f->fields[i];
        struct path at = {p, sub->name, 0};
        json_t *child = json_object_get(v, sub->name);
        int rc;

        if (child == NULL) {
            if (!sub->required)
                continue;
            return fail(&at, msg, msglen, " is required");
        }
        if ((rc = check(sub, child, &at, msg, msglen)) != 0)
            return rc;
    }
    return 0;
}

static int check_array(const struct mcp_field *f, const json_t *v, const struct path *p, char *msg,
                       size_t msglen)
{
    size_t n = json_array_size(v);

    if (f->min_items > 0 && n < f->min_items)
        return fail(p, msg, msglen, " must have at least %zu item%s", f->min_items,
                    f->min_items == 1 ? "" : "s");
    if (f->max_items > 0 && n > f->max_items)
        return fail(p, msg, msglen, " must have at most %zu items", f->max_items);
    for (size_t i = 0; f->items != NULL && i < n; i++) {
        struct path at = {p, NULL, i};
        int rc = check(f->items, json_array_get(v, i), &at, msg, msglen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check(const struct mcp_field *f, const json_t *v, const struct path *p, char *msg,
                 size_t msglen)
{
    int rc;

    if ((rc = check_type(f, v, p, msg, msglen)) != 0)
        return rc;
    if (f->values != NULL && (rc = check_enum(f, v, p, msg, msglen)) != 0)
        return rc;
    if (json_is_object(v) && f->fields != NULL)
        return check_object(f, v, p, msg, msglen);
    if (json_is_array(v))
        return check_array(f, v, p, msg, msglen);
    return 0;
}

int mcp_field_check(const struct mcp_field *f, const json_t *value, char *msg, size_t msglen)
{
    msg[0] = '\0';
    return check(f, value, NULL, msg, msglen);
}
