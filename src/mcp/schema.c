/* The JSON Schema subset validator behind schema.h. Recursion depth follows the
 * schema, which is ours, not the client's, so it is bounded by construction.
 * The path to a value is a chain of frames on the stack, rendered into text
 * only when a check fails: results are validated on every call. */
#include "fmacros.h"

#include "mcp/schema.h"
#include "core/err.h"

#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN 256

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

static bool is_integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return isfinite(d) && floor(d) == d;
    }
    return false;
}

static bool matches_type(const char *t, const json_t *v)
{
    if (strcmp(t, "object") == 0)
        return json_is_object(v);
    if (strcmp(t, "array") == 0)
        return json_is_array(v);
    if (strcmp(t, "string") == 0)
        return json_is_string(v);
    if (strcmp(t, "integer") == 0)
        return is_integral(v);
    if (strcmp(t, "number") == 0)
        return json_is_number(v);
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(v);
    if (strcmp(t, "null") == 0)
        return json_is_null(v);
    return false;
}

/* Where a value sits: a key of an object or an index of an array below a parent. */
struct path {
    const struct path *parent;
    const char *key; /* NULL for an array index */
    size_t index;
};

/* Renders p as "data[2].id" (empty for the root). */
static size_t render(const struct path *p, char *out, size_t outlen)
{
    size_t used = 0;
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

/* "'field'" for a named path, "the arguments" for the root, then fmt. */
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
        n = snprintf(msg, msglen, "the arguments");
    else
        n = snprintf(msg, msglen, "'%s'", where);
    if (n >= 0 && (size_t)n < msglen) {
        va_start(ap, fmt);
        vsnprintf(msg + n, msglen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return SZ_EINVAL;
}

static size_t utf8_length(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static void enum_list(const json_t *values, char *out, size_t outlen)
{
    size_t i, used = 0;
    json_t *v;

    out[0] = '\0';
    json_array_foreach(values, i, v)
    {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        int n;
        if (text == NULL)
            continue;
        n = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", text);
        free(text);
        if (n < 0 || (size_t)n >= outlen - used)
            break;
        used += (size_t)n;
    }
}

static int validate(const json_t *schema, const json_t *v, const struct path *p, char *msg,
                    size_t msglen);

static int validate_type(const json_t *type, const json_t *v, const struct path *p, char *msg,
                         size_t msglen)
{
    size_t i;
    json_t *t;

    if (json_is_string(type)) {
        if (matches_type(json_string_value(type), v))
            return 0;
        return fail(p, msg, msglen, " must be %s%s, not %s",
                    strchr("aeiou", json_string_value(type)[0]) ? "an " : "a ",
                    json_string_value(type), type_name(v));
    }
    if (json_is_array(type)) {
        json_array_foreach(type, i, t)
        {
            if (json_is_string(t) && matches_type(json_string_value(t), v))
                return 0;
        }
        return fail(p, msg, msglen, " has the wrong type (%s)", type_name(v));
    }
    return 0;
}

static int validate_string(const json_t *schema, const json_t *v, const struct path *p, char *msg,
                           size_t msglen)
{
    const char *s = json_string_value(v);
    size_t bytes = json_string_length(v);
    size_t len;
    json_t *k;

    if (memchr(s, '\0', bytes) != NULL)
        return fail(p, msg, msglen, " must not contain NUL characters");
    len = utf8_length(s, bytes);
    if ((k = json_object_get(schema, "minLength")) && json_is_integer(k) &&
        (json_int_t)len < json_integer_value(k)) {
        if (json_integer_value(k) == 1)
            return fail(p, msg, msglen, " must not be empty");
        return fail(p, msg, msglen, " must be at least %" JSON_INTEGER_FORMAT " characters",
                    json_integer_value(k));
    }
    if ((k = json_object_get(schema, "maxLength")) && json_is_integer(k) &&
        (json_int_t)len > json_integer_value(k))
        return fail(p, msg, msglen, " must be at most %" JSON_INTEGER_FORMAT " characters",
                    json_integer_value(k));
    if ((k = json_object_get(schema, "pattern")) && json_is_string(k)) {
        regex_t re;
        int ok;
        if (regcomp(&re, json_string_value(k), REG_EXTENDED | REG_NOSUB) != 0)
            return fail(p, msg, msglen, ": the schema's pattern does not compile");
        ok = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        if (!ok)
            return fail(p, msg, msglen, " must match %s", json_string_value(k));
    }
    return 0;
}

static int validate_number(const json_t *schema, const json_t *v, const struct path *p, char *msg,
                           size_t msglen)
{
    double d = json_number_value(v);
    json_t *k;

    if ((k = json_object_get(schema, "minimum")) && json_is_number(k) && d < json_number_value(k))
        return fail(p, msg, msglen, " must be at least %g", json_number_value(k));
    if ((k = json_object_get(schema, "maximum")) && json_is_number(k) && d > json_number_value(k))
        return fail(p, msg, msglen, " must be at most %g", json_number_value(k));
    if ((k = json_object_get(schema, "exclusiveMinimum")) && json_is_number(k) &&
        d <= json_number_value(k))
        return fail(p, msg, msglen, " must be greater than %g", json_number_value(k));
    if ((k = json_object_get(schema, "exclusiveMaximum")) && json_is_number(k) &&
        d >= json_number_value(k))
        return fail(p, msg, msglen, " must be less than %g", json_number_value(k));
    return 0;
}

static int validate_object(const json_t *schema, const json_t *v, const struct path *p, char *msg,
                           size_t msglen)
{
    json_t *props = json_object_get(schema, "properties");
    json_t *required = json_object_get(schema, "required");
    json_t *additional = json_object_get(schema, "additionalProperties");
    const char *key;
    json_t *child;
    size_t i;
    int rc;

    if (json_is_array(required)) {
        json_array_foreach(required, i, child)
        {
            const char *name = json_string_value(child);
            if (name != NULL && json_object_get(v, name) == NULL) {
                struct path sub = {p, name, 0};
                char where[PATH_MAX_LEN];
                render(&sub, where, sizeof(where));
                snprintf(msg, msglen, "'%s' is required", where);
                return SZ_EINVAL;
            }
        }
    }
    json_object_foreach((json_t *)(uintptr_t)v, key, child)
    {
        json_t *ps = props ? json_object_get(props, key) : NULL;
        struct path sub = {p, key, 0};
        if (ps != NULL) {
            if ((rc = validate(ps, child, &sub, msg, msglen)) != 0)
                return rc;
        } else if (json_is_false(additional)) {
            char where[PATH_MAX_LEN], parent[PATH_MAX_LEN];
            render(&sub, where, sizeof(where));
            parent[0] = '\0';
            render(p, parent, sizeof(parent));
            snprintf(msg, msglen, "unknown argument '%s'%s%s%s", where, p ? " in '" : "",
                     p ? parent : "", p ? "'" : "");
            return SZ_EINVAL;
        } else if (json_is_object(additional)) {
            if ((rc = validate(additional, child, &sub, msg, msglen)) != 0)
                return rc;
        }
    }
    return 0;
}

static int validate_array(const json_t *schema, const json_t *v, const struct path *p, char *msg,
                          size_t msglen)
{
    json_t *items = json_object_get(schema, "items");
    json_t *k;
    json_t *child;
    size_t i;
    int rc;

    if ((k = json_object_get(schema, "minItems")) && json_is_integer(k) &&
        (json_int_t)json_array_size(v) < json_integer_value(k))
        return fail(p, msg, msglen, " must have at least %" JSON_INTEGER_FORMAT " item%s",
                    json_integer_value(k), json_integer_value(k) == 1 ? "" : "s");
    if ((k = json_object_get(schema, "maxItems")) && json_is_integer(k) &&
        (json_int_t)json_array_size(v) > json_integer_value(k))
        return fail(p, msg, msglen, " must have at most %" JSON_INTEGER_FORMAT " items",
                    json_integer_value(k));
    if (json_is_object(items)) {
        json_array_foreach(v, i, child)
        {
            struct path sub = {p, NULL, i};
            if ((rc = validate(items, child, &sub, msg, msglen)) != 0)
                return rc;
        }
    }
    return 0;
}

static int validate_combinators(const json_t *schema, const json_t *v, const struct path *p,
                                char *msg, size_t msglen)
{
    json_t *k;
    json_t *sub;
    size_t i;
    int rc;

    if ((k = json_object_get(schema, "allOf")) && json_is_array(k)) {
        json_array_foreach(k, i, sub)
        {
            if ((rc = validate(sub, v, p, msg, msglen)) != 0)
                return rc;
        }
    }
    if ((k = json_object_get(schema, "anyOf")) && json_is_array(k)) {
        bool any = false;
        json_array_foreach(k, i, sub)
        {
            if (validate(sub, v, p, msg, msglen) == 0) {
                any = true;
                break;
            }
        }
        if (!any)
            return fail(p, msg, msglen, " does not match any allowed form");
    }
    if ((k = json_object_get(schema, "oneOf")) && json_is_array(k)) {
        size_t matched = 0;
        json_array_foreach(k, i, sub)
        {
            if (validate(sub, v, p, msg, msglen) == 0)
                matched++;
        }
        if (matched != 1)
            return fail(p, msg, msglen, " must match exactly one allowed form");
    }
    return 0;
}

static int validate(const json_t *schema, const json_t *v, const struct path *p, char *msg,
                    size_t msglen)
{
    json_t *k;
    int rc;

    if (json_is_true(schema) || !json_is_object(schema))
        return 0;
    if ((k = json_object_get(schema, "type")) != NULL &&
        (rc = validate_type(k, v, p, msg, msglen)) != 0)
        return rc;
    if ((k = json_object_get(schema, "const")) != NULL && !json_equal(k, (json_t *)(uintptr_t)v)) {
        char *text = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
        rc = fail(p, msg, msglen, " must be %s", text ? text : "a fixed value");
        free(text);
        return rc;
    }
    if ((k = json_object_get(schema, "enum")) != NULL && json_is_array(k)) {
        size_t i;
        json_t *e;
        bool found = false;
        json_array_foreach(k, i, e)
        {
            if (json_equal(e, (json_t *)(uintptr_t)v)) {
                found = true;
                break;
            }
        }
        if (!found) {
            char list[512];
            enum_list(k, list, sizeof(list));
            return fail(p, msg, msglen, " must be one of %s", list);
        }
    }
    if (json_is_string(v) && (rc = validate_string(schema, v, p, msg, msglen)) != 0)
        return rc;
    if (json_is_number(v) && (rc = validate_number(schema, v, p, msg, msglen)) != 0)
        return rc;
    if (json_is_object(v) && (rc = validate_object(schema, v, p, msg, msglen)) != 0)
        return rc;
    if (json_is_array(v) && (rc = validate_array(schema, v, p, msg, msglen)) != 0)
        return rc;
    return validate_combinators(schema, v, p, msg, msglen);
}

int mcp_schema_validate(const json_t *schema, const json_t *value, char *msg, size_t msglen)
{
    msg[0] = '\0';
    return validate(schema, value, NULL, msg, msglen);
}
