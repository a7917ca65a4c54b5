/* The JSON Schema subset validator behind schema.h. Recursion depth follows the
 * schema, which is ours, not the client's, so it is bounded by construction. */
#include "fmacros.h"

#include "mcp/schema.h"
#include "core/err.h"

#include <math.h>
#include <regex.h>
#include <stdint.h>
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

/* "'field'" for a named path, "the arguments" for the root. */
static void describe(const char *path, char *out, size_t outlen)
{
    if (path[0] == '\0')
        snprintf(out, outlen, "the arguments");
    else
        snprintf(out, outlen, "'%s'", path);
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

static int validate(const json_t *schema, const json_t *v, const char *path, char *msg,
                    size_t msglen);

static int validate_type(const json_t *type, const json_t *v, const char *who, char *msg,
                         size_t msglen)
{
    size_t i;
    json_t *t;

    if (json_is_string(type)) {
        if (matches_type(json_string_value(type), v))
            return 0;
        snprintf(msg, msglen, "%s must be %s%s, not %s", who,
                 strchr("aeiou", json_string_value(type)[0]) ? "an " : "a ",
                 json_string_value(type), type_name(v));
        return SZ_EINVAL;
    }
    if (json_is_array(type)) {
        json_array_foreach(type, i, t)
        {
            if (json_is_string(t) && matches_type(json_string_value(t), v))
                return 0;
        }
        snprintf(msg, msglen, "%s has the wrong type (%s)", who, type_name(v));
        return SZ_EINVAL;
    }
    return 0;
}

static int validate_string(const json_t *schema, const json_t *v, const char *who, char *msg,
                           size_t msglen)
{
    const char *s = json_string_value(v);
    size_t bytes = json_string_length(v);
    size_t len;
    json_t *k;

    if (memchr(s, '\0', bytes) != NULL) {
        snprintf(msg, msglen, "%s must not contain NUL characters", who);
        return SZ_EINVAL;
    }
    len = utf8_length(s, bytes);
    if ((k = json_object_get(schema, "minLength")) && json_is_integer(k) &&
        (json_int_t)len < json_integer_value(k)) {
        if (json_integer_value(k) == 1)
            snprintf(msg, msglen, "%s must not be empty", who);
        else
            snprintf(msg, msglen, "%s must be at least %" JSON_INTEGER_FORMAT " characters", who,
                     json_integer_value(k));
        return SZ_EINVAL;
    }
    if ((k = json_object_get(schema, "maxLength")) && json_is_integer(k) &&
        (json_int_t)len > json_integer_value(k)) {
        snprintf(msg, msglen, "%s must be at most %" JSON_INTEGER_FORMAT " characters", who,
                 json_integer_value(k));
        return SZ_EINVAL;
    }
    if ((k = json_object_get(schema, "pattern")) && json_is_string(k)) {
        regex_t re;
        int ok;
        if (regcomp(&re, json_string_value(k), REG_EXTENDED | REG_NOSUB) != 0) {
            snprintf(msg, msglen, "%s: the schema's pattern does not compile", who);
            return SZ_EINVAL;
        }
        ok = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        if (!ok) {
            snprintf(msg, msglen, "%s must match %s", who, json_string_value(k));
            return SZ_EINVAL;
        }
    }
    return 0;
}

static int validate_number(const json_t *schema, const json_t *v, const char *who, char *msg,
                           size_t msglen)
{
    double d = json_number_value(v);
    json_t *k;

    if ((k = json_object_get(schema, "minimum")) && json_is_number(k) && d < json_number_value(k)) {
        snprintf(msg, msglen, "%s must be at least %g", who, json_number_value(k));
        return SZ_EINVAL;
    }
    if ((k = json_object_get(schema, "maximum")) && json_is_number(k) && d > json_number_value(k)) {
        snprintf(msg, msglen, "%s must be at most %g", who, json_number_value(k));
        return SZ_EINVAL;
    }
    if ((k = json_object_get(schema, "exclusiveMinimum")) && json_is_number(k) &&
        d <= json_number_value(k)) {
        snprintf(msg, msglen, "%s must be greater than %g", who, json_number_value(k));
        return SZ_EINVAL;
    }
    if ((k = json_object_get(schema, "exclusiveMaximum")) && json_is_number(k) &&
        d >= json_number_value(k)) {
        snprintf(msg, msglen, "%s must be less than %g", who, json_number_value(k));
        return SZ_EINVAL;
    }
    return 0;
}

static int validate_object(const json_t *schema, const json_t *v, const char *path, const char *who,
                           char *msg, size_t msglen)
{
    json_t *props = json_object_get(schema, "properties");
    json_t *required = json_object_get(schema, "required");
    json_t *additional = json_object_get(schema, "additionalProperties");
    char sub[PATH_MAX_LEN];
    const char *key;
    json_t *child;
    size_t i;
    int rc;

    if (json_is_array(required)) {
        json_array_foreach(required, i, child)
        {
            const char *name = json_string_value(child);
            if (name != NULL && json_object_get(v, name) == NULL) {
                if (path[0] == '\0')
                    snprintf(msg, msglen, "'%s' is required", name);
                else
                    snprintf(msg, msglen, "'%s.%s' is required", path, name);
                return SZ_EINVAL;
            }
        }
    }
    json_object_foreach((json_t *)(uintptr_t)v, key, child)
    {
        json_t *ps = props ? json_object_get(props, key) : NULL;
        if (path[0] == '\0')
            snprintf(sub, sizeof(sub), "%s", key);
        else
            snprintf(sub, sizeof(sub), "%s.%s", path, key);
        if (ps != NULL) {
            if ((rc = validate(ps, child, sub, msg, msglen)) != 0)
                return rc;
        } else if (json_is_false(additional)) {
            snprintf(msg, msglen, "unknown argument '%s'%s%s", sub, path[0] ? " in " : "",
                     path[0] ? who : "");
            return SZ_EINVAL;
        } else if (json_is_object(additional)) {
            if ((rc = validate(additional, child, sub, msg, msglen)) != 0)
                return rc;
        }
    }
    return 0;
}

static int validate_array(const json_t *schema, const json_t *v, const char *path, const char *who,
                          char *msg, size_t msglen)
{
    json_t *items = json_object_get(schema, "items");
    json_t *k;
    json_t *child;
    char sub[PATH_MAX_LEN];
    size_t i;
    int rc;

    if ((k = json_object_get(schema, "minItems")) && json_is_integer(k) &&
        (json_int_t)json_array_size(v) < json_integer_value(k)) {
        snprintf(msg, msglen, "%s must have at least %" JSON_INTEGER_FORMAT " item%s", who,
                 json_integer_value(k), json_integer_value(k) == 1 ? "" : "s");
        return SZ_EINVAL;
    }
    if ((k = json_object_get(schema, "maxItems")) && json_is_integer(k) &&
        (json_int_t)json_array_size(v) > json_integer_value(k)) {
        snprintf(msg, msglen, "%s must have at most %" JSON_INTEGER_FORMAT " items", who,
                 json_integer_value(k));
        return SZ_EINVAL;
    }
    if (json_is_object(items)) {
        json_array_foreach(v, i, child)
        {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if ((rc = validate(items, child, sub, msg, msglen)) != 0)
                return rc;
        }
    }
    return 0;
}

static int validate_combinators(const json_t *schema, const json_t *v, const char *path,
                                const char *who, char *msg, size_t msglen)
{
    json_t *k;
    json_t *sub;
    size_t i;
    int rc;

    if ((k = json_object_get(schema, "allOf")) && json_is_array(k)) {
        json_array_foreach(k, i, sub)
        {
            if ((rc = validate(sub, v, path, msg, msglen)) != 0)
                return rc;
        }
    }
    if ((k = json_object_get(schema, "anyOf")) && json_is_array(k)) {
        bool any = false;
        json_array_foreach(k, i, sub)
        {
            if (validate(sub, v, path, msg, msglen) == 0) {
                any = true;
                break;
            }
        }
        if (!any) {
            snprintf(msg, msglen, "%s does not match any allowed form", who);
            return SZ_EINVAL;
        }
    }
    if ((k = json_object_get(schema, "oneOf")) && json_is_array(k)) {
        size_t matched = 0;
        json_array_foreach(k, i, sub)
        {
            if (validate(sub, v, path, msg, msglen) == 0)
                matched++;
        }
        if (matched != 1) {
            snprintf(msg, msglen, "%s must match exactly one allowed form", who);
            return SZ_EINVAL;
        }
    }
    return 0;
}

static int validate(const json_t *schema, const json_t *v, const char *path, char *msg,
                    size_t msglen)
{
    char who[PATH_MAX_LEN + 16];
    json_t *k;
    int rc;

    if (json_is_true(schema) || !json_is_object(schema))
        return 0;
    describe(path, who, sizeof(who));

    if ((k = json_object_get(schema, "type")) != NULL &&
        (rc = validate_type(k, v, who, msg, msglen)) != 0)
        return rc;
    if ((k = json_object_get(schema, "const")) != NULL && !json_equal(k, (json_t *)(uintptr_t)v)) {
        char *text = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(msg, msglen, "%s must be %s", who, text ? text : "a fixed value");
        free(text);
        return SZ_EINVAL;
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
            snprintf(msg, msglen, "%s must be one of %s", who, list);
            return SZ_EINVAL;
        }
    }
    if (json_is_string(v) && (rc = validate_string(schema, v, who, msg, msglen)) != 0)
        return rc;
    if (json_is_number(v) && (rc = validate_number(schema, v, who, msg, msglen)) != 0)
        return rc;
    if (json_is_object(v) && (rc = validate_object(schema, v, path, who, msg, msglen)) != 0)
        return rc;
    if (json_is_array(v) && (rc = validate_array(schema, v, path, who, msg, msglen)) != 0)
        return rc;
    return validate_combinators(schema, v, path, who, msg, msglen);
}

int mcp_schema_validate(const json_t *schema, const json_t *value, char *msg, size_t msglen)
{
    msg[0] = '\0';
    return validate(schema, value, "", msg, msglen);
}

static const char *const known_keywords[] = {
    "type",        "enum",       "const",    "properties",       "required",
    "items",       "minItems",   "maxItems", "minLength",        "maxLength",
    "minimum",     "maximum",    "pattern",  "exclusiveMinimum", "exclusiveMaximum",
    "anyOf",       "oneOf",      "allOf",    "description",      "title",
    "default",     "format",     "examples", "$schema",          "additionalProperties",
    "uniqueItems", "deprecated", "readOnly",
};

static int check(const json_t *schema, const char *where, char *msg, size_t msglen)
{
    const char *key;
    json_t *value;

    if (json_is_boolean(schema))
        return 0;
    if (!json_is_object(schema)) {
        snprintf(msg, msglen, "%s: a schema must be an object", where);
        return SZ_EINVAL;
    }
    json_object_foreach((json_t *)(uintptr_t)schema, key, value)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(known_keywords) / sizeof(known_keywords[0]); i++)
            if (strcmp(key, known_keywords[i]) == 0)
                known = true;
        if (!known) {
            snprintf(msg, msglen, "%s: unsupported schema keyword '%s'", where, key);
            return SZ_EINVAL;
        }
        if (strcmp(key, "properties") == 0) {
            const char *name;
            json_t *sub;
            json_object_foreach(value, name, sub)
            {
                int rc = check(sub, name, msg, msglen);
                if (rc != 0)
                    return rc;
            }
        } else if (strcmp(key, "items") == 0 || strcmp(key, "additionalProperties") == 0) {
            int rc = check(value, where, msg, msglen);
            if (rc != 0)
                return rc;
        } else if (strcmp(key, "pattern") == 0) {
            regex_t re;
            if (!json_is_string(value) ||
                regcomp(&re, json_string_value(value), REG_EXTENDED | REG_NOSUB) != 0) {
                snprintf(msg, msglen, "%s: pattern does not compile", where);
                return SZ_EINVAL;
            }
            regfree(&re);
        }
    }
    return 0;
}

int mcp_schema_check(const json_t *schema, char *msg, size_t msglen)
{
    return check(schema, "schema", msg, msglen);
}
