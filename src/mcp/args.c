/* Argument tables (table.h): checked and compiled at registration, turned into
 * the JSON Schema of tools/list, and used on every tools/call to validate the
 * arguments and fill the tool's struct in one pass (result tables are
 * fields.c's).
 *
 * How lenient the parse is comes from the server's policy (MCP_ARGS_*, by
 * default all of them): null for an optional argument is "absent", "5" is an
 * integer, an array or object may come as its JSON text, and an unknown
 * argument is answered with the closest known name. Those are what the Python
 * original's SDK accepts (FastMCP with pydantic's lax mode and its JSON
 * pre-parse) and what models send; the schema declares the first.
 *
 * A failure is one sentence that names the argument, says what was expected
 * and echoes the start of a string that did not fit ("'limit' must be an
 * integer, not \"five\""): the model reads it in an isError result and
 * corrects its call. Nothing is formatted unless a check fails: this runs on
 * every call. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/utf8.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Rows per tool: the parser tracks which it has seen in one 64-bit mask. */
#define MAX_ARGS 64
/* An unknown argument is said to mean a known one at most this many edits
 * away, and at most one edit per three characters of the longer name ("flg"
 * means flag, "extra" does not mean text); case and '-' for '_' cost nothing
 * ("videoId" means video_id). Failing that, a known name that contains it or
 * that it contains, of at least SUGGEST_MIN_PART characters ("reference" means
 * input_reference_filename). */
#define SUGGEST_MAX_EDITS 3
#define SUGGEST_MIN_PART  4
/* Bytes of a refused string echoed in a message. */
#define ECHO_MAX 40

/* ---- registration ------------------------------------------------------- */

/* The size of the member a row of type t fills. */
static size_t member_size(enum mcp_arg_type t)
{
    switch (t) {
    case MCP_ARG_STRING:
        return sizeof(const char *);
    case MCP_ARG_ENUM:
        return sizeof(int);
    case MCP_ARG_INT:
        return sizeof(long long);
    case MCP_ARG_BOOL:
        return sizeof(bool);
    case MCP_ARG_STRINGS:
        return sizeof(struct mcp_strings);
    case MCP_ARG_OBJECT:
        return sizeof(const json_t *);
    case MCP_ARG_NUMBER:
        return sizeof(double);
    }
    return SIZE_MAX;
}

/* Checks one row and fills its info; a sentence in why on failure. */
static int compile_row(const struct mcp_tool *t, size_t i, struct mcp_arg_info *info, char *why,
                       size_t whylen)
{
    const struct mcp_arg *a = &t->args[i];
    size_t size = member_size(a->type);

    info->def_index = -1;
    if (a->name == NULL || a->name[0] == '\0') {
        snprintf(why, whylen, "row %zu has no name", i);
        return SZ_EINVAL;
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(t->args[j].name, a->name) == 0) {
            snprintf(why, whylen, "'%s' appears twice", a->name);
            return SZ_EINVAL;
        }
    }
    if (size == SIZE_MAX || a->off > t->args_size || t->args_size - a->off < size) {
        snprintf(why, whylen, "'%s' has a bad type or lies outside the arguments struct", a->name);
        return SZ_EINVAL;
    }
    if ((a->type == MCP_ARG_ENUM) != (a->values != NULL) ||
        (a->values != NULL && a->values[0] == NULL)) {
        snprintf(why, whylen, "'%s': enum values go with MCP_ARG_ENUM, at least one", a->name);
        return SZ_EINVAL;
    }
    if (a->type == MCP_ARG_ENUM && a->has_default) {
        for (int k = 0; a->def_str != NULL && a->values[k] != NULL; k++)
            if (strcmp(a->values[k], a->def_str) == 0)
                info->def_index = k;
        if (info->def_index < 0) {
            snprintf(why, whylen, "'%s': the default is not one of the values", a->name);
            return SZ_EINVAL;
        }
    }
    if (a->has_default && a->type == MCP_ARG_STRING && a->def_str == NULL) {
        snprintf(why, whylen, "'%s': a string default needs MCP_DEFAULT_STR", a->name);
        return SZ_EINVAL;
    }
    if (a->has_default && (a->type == MCP_ARG_STRINGS || a->type == MCP_ARG_OBJECT)) {
        snprintf(why, whylen, "'%s': arrays and objects take no default", a->name);
        return SZ_EINVAL;
    }
    if (a->pattern != NULL) {
        if (a->type != MCP_ARG_STRING ||
            regcomp(&info->re, a->pattern, REG_EXTENDED | REG_NOSUB) != 0) {
            snprintf(why, whylen, "'%s': the pattern does not compile (or is not on a string)",
                     a->name);
            return SZ_EINVAL;
        }
        info->has_re = true;
    }
    return 0;
}

int mcp_args_compile(struct mcp_tool_entry *e)
{
    const struct mcp_tool *t = e->tool;
    char why[256];
    int rc = 0;

    if (t->nargs > MAX_ARGS || (t->nargs > 0 && t->args == NULL)) {
        SZ_ERROR("tool %s: at most %d argument rows, in a table", t->name, MAX_ARGS);
        return SZ_EINVAL;
    }
    if (t->nargs == 0)
        return 0;
    e->info = calloc(t->nargs, sizeof(*e->info));
    if (e->info == NULL)
        return SZ_ENOMEM;
    for (size_t i = 0; i < t->nargs && rc == 0; i++) {
        rc = compile_row(t, i, &e->info[i], why, sizeof(why));
        if (rc != 0)
            SZ_ERROR("tool %s: argument table: %s", t->name, why);
    }
    if (rc != 0) {
        mcp_args_free(e);
        return rc;
    }
    return 0;
}

void mcp_args_free(struct mcp_tool_entry *e)
{
    for (size_t i = 0; e->info != NULL && i < e->tool->nargs; i++)
        if (e->info[i].has_re)
            regfree(&e->info[i].re);
    free(e->info);
    e->info = NULL;
}

/* ---- schemas ------------------------------------------------------------------ */

static const char *type_word(enum mcp_arg_type t)
{
    switch (t) {
    case MCP_ARG_STRING:
    case MCP_ARG_ENUM:
        return "string";
    case MCP_ARG_INT:
        return "integer";
    case MCP_ARG_BOOL:
        return "boolean";
    case MCP_ARG_STRINGS:
        return "array";
    case MCP_ARG_OBJECT:
        return "object";
    case MCP_ARG_NUMBER:
        return "number";
    }
    return "null";
}

json_t *mcp_string_list(const char *const *values)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && values[i] != NULL; i++)
        json_array_append_new(list, json_string(values[i]));
    return list;
}

static json_t *row_default(const struct mcp_arg *a)
{
    switch (a->type) {
    case MCP_ARG_INT:
        return json_integer((json_int_t)a->def_int);
    case MCP_ARG_BOOL:
        return json_boolean(a->def_bool);
    case MCP_ARG_NUMBER:
        return json_real(a->def_num);
    default:
        return json_string(a->def_str);
    }
}

/* Adds minLength/maxLength from a row's bounds to a string schema. */
static void length_bounds(json_t *schema, const struct mcp_arg *a)
{
    if (a->min.set)
        json_object_set_new(schema, "minLength", json_integer((json_int_t)a->min.value));
    if (a->max.set)
        json_object_set_new(schema, "maxLength", json_integer((json_int_t)a->max.value));
}

/* The schema of a row's value alone: type, enum, bounds, items. */
static json_t *value_schema(const struct mcp_arg *a)
{
    json_t *p = json_pack("{s:s}", "type", type_word(a->type));

    if (a->type == MCP_ARG_ENUM)
        json_object_set_new(p, "enum", mcp_string_list(a->values));
    if (a->type == MCP_ARG_STRING) {
        length_bounds(p, a);
        if (a->pattern != NULL)
            json_object_set_new(p, "pattern", json_string(a->pattern));
    }
    if (a->type == MCP_ARG_INT && a->min.set)
        json_object_set_new(p, "minimum", json_integer((json_int_t)a->min.value));
    if (a->type == MCP_ARG_INT && a->max.set)
        json_object_set_new(p, "maximum", json_integer((json_int_t)a->max.value));
    if (a->type == MCP_ARG_STRINGS) {
        json_t *items = json_pack("{s:s}", "type", "string");
        length_bounds(items, a);
        json_object_set_new(p, "items", items);
        if (a->min_items > 0)
            json_object_set_new(p, "minItems", json_integer((json_int_t)a->min_items));
        if (a->max_items > 0)
            json_object_set_new(p, "maxItems", json_integer((json_int_t)a->max_items));
    }
    return p;
}

/* A row's property schema. Under MCP_ARGS_NULL_IS_ABSENT an optional argument
 * also takes null, said as the Python original (pydantic) says it for
 * `x: T | None = None`: {"anyOf": [{T}, {"type": "null"}], "default": null}, the
 * real default kept where there is one. Not a type list (["string", "null"]):
 * Gemini's function declarations refuse those, and several clients that convert
 * schemas for it crash on them, while anyOf passes everywhere the original
 * works. */
static json_t *row_schema(const struct mcp_arg *a, unsigned policy)
{
    bool nullable = (policy & MCP_ARGS_NULL_IS_ABSENT) && !(a->flags & MCP_ARG_REQUIRED);
    json_t *p = value_schema(a);

    if (nullable)
        p = json_pack("{s:[o, {s:s}]}", "anyOf", p, "type", "null");
    if (p == NULL)
        return NULL;
    if (a->has_default)
        json_object_set_new(p, "default", row_default(a));
    else if (nullable)
        json_object_set_new(p, "default", json_null());
    if (a->description != NULL)
        json_object_set_new(p, "description", json_string(a->description));
    return p;
}

json_t *mcp_args_schema(const struct mcp_tool_entry *e, unsigned policy)
{
    const struct mcp_tool *t = e->tool;
    json_t *props = json_object();
    json_t *required = json_array();
    json_t *schema;

    for (size_t i = 0; i < t->nargs; i++) {
        json_t *row = row_schema(&t->args[i], policy);
        if (t->args[i].header != NULL)
            json_object_set_new(row, "x-mcp-header", json_string(t->args[i].header));
        json_object_set_new(props, t->args[i].name, row);
        if (t->args[i].flags & MCP_ARG_REQUIRED)
            json_array_append_new(required, json_string(t->args[i].name));
    }
    schema = json_pack("{s:s, s:o}", "type", "object", "properties", props);
    if (schema != NULL && json_array_size(required) > 0)
        json_object_set(schema, "required", required);
    if (schema != NULL)
        json_object_set_new(schema, "additionalProperties", json_false());
    json_decref(required);
    return schema;
}

/* ---- parsing ---------------------------------------------------------------------- */

const char *mcp_value_kind(const json_t *v)
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

static size_t utf8_length(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* What a parse needs to say why it failed. */
struct parse {
    const struct mcp_tool_entry *e;
    unsigned policy;
    char *msg;
    size_t msglen;
};

/* How many of the len bytes at s to echo: at most ECHO_MAX, never half a UTF-8
 * sequence (the message must stay valid UTF-8 to be sent as JSON). */
static int echo_len(const char *s, size_t len)
{
    return (int)sz_utf8_prefix(s, len, ECHO_MAX);
}

/* ", not <what v is>" into out: a string's first bytes in quotes ("..." when
 * cut), else its kind ("an integer"; "a string" for one holding NUL, which
 * would cut the echo short). */
static void describe_given(const json_t *v, char *out, size_t outlen)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    int n;

    if (s == NULL || memchr(s, '\0', len) != NULL) {
        snprintf(out, outlen, ", not %s", mcp_value_kind(v));
        return;
    }
    n = echo_len(s, len);
    snprintf(out, outlen, ", not \"%.*s%s\"", n, s, (size_t)n < len ? "..." : "");
}

static int wrong_type(struct parse *ps, const char *who, const char *want, const json_t *v)
{
    char given[ECHO_MAX + 16];

    describe_given(v, given, sizeof(given));
    snprintf(ps->msg, ps->msglen, "'%s' must be %s%s", who, want, given);
    return SZ_EINVAL;
}

/* A string value against a row's length bounds and pattern; who names it. */
static int check_string(struct parse *ps, const struct mcp_arg *a, const struct mcp_arg_info *info,
                        const char *who, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t bytes = json_string_length(v);
    size_t len;

    if (memchr(s, '\0', bytes) != NULL) {
        snprintf(ps->msg, ps->msglen, "'%s' must not contain NUL characters", who);
        return SZ_EINVAL;
    }
    if (a->min.set || a->max.set) {
        len = utf8_length(s, bytes);
        if (a->min.set && (long long)len < a->min.value) {
            if (a->min.value == 1)
                snprintf(ps->msg, ps->msglen, "'%s' must not be empty", who);
            else
                snprintf(ps->msg, ps->msglen, "'%s' must be at least %lld characters", who,
                         a->min.value);
            return SZ_EINVAL;
        }
        if (a->max.set && (long long)len > a->max.value) {
            snprintf(ps->msg, ps->msglen, "'%s' must be at most %lld characters", who,
                     a->max.value);
            return SZ_EINVAL;
        }
    }
    if (info != NULL && info->has_re && regexec(&info->re, s, 0, NULL, 0) != 0) {
        snprintf(ps->msg, ps->msglen, "'%s' must match %s", who, a->pattern);
        return SZ_EINVAL;
    }
    return 0;
}

/* The index of the value equal to the len bytes at s, or -1. */
static int enum_index(const struct mcp_arg *a, const char *s, size_t len)
{
    for (int i = 0; a->values[i] != NULL; i++)
        if (strlen(a->values[i]) == len && memcmp(a->values[i], s, len) == 0)
            return i;
    return -1;
}

static int parse_enum(struct parse *ps, const struct mcp_arg *a, const json_t *v, int *pidx)
{
    char text[24];
    char given[ECHO_MAX + 16];
    size_t used;
    int idx = -1;

    if (json_is_string(v)) {
        idx = enum_index(a, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v) && (ps->policy & MCP_ARGS_NUMERIC_STRINGS)) {
        /* seconds: 8 for "8", the mirror of "5" for an integer */
        int n = snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        idx = n > 0 ? enum_index(a, text, (size_t)n) : -1;
    }
    if (idx >= 0) {
        *pidx = idx;
        return 0;
    }
    used = (size_t)snprintf(ps->msg, ps->msglen, "'%s' must be one of ", a->name);
    for (int i = 0; a->values[i] != NULL && used < ps->msglen; i++)
        used += (size_t)snprintf(ps->msg + used, ps->msglen - used, "%s\"%s\"", i ? ", " : "",
                                 a->values[i]);
    describe_given(v, given, sizeof(given));
    if (used < ps->msglen)
        snprintf(ps->msg + used, ps->msglen - used, "%s", given);
    return SZ_EINVAL;
}

static int parse_int(struct parse *ps, const struct mcp_arg *a, const json_t *v, long long *pout)
{
    long long n;

    if (json_is_integer(v)) {
        n = (long long)json_integer_value(v);
    } else if (json_is_real(v) && isfinite(json_real_value(v)) &&
               floor(json_real_value(v)) == json_real_value(v) &&
               fabs(json_real_value(v)) < 9.2e18) {
        n = (long long)json_real_value(v); /* 5.0 is the integer 5, as JSON Schema says */
    } else if (json_is_string(v) && (ps->policy & MCP_ARGS_NUMERIC_STRINGS) &&
               strlen(json_string_value(v)) == json_string_length(v) &&
               sz_parse_ll(json_string_value(v), LLONG_MIN, LLONG_MAX, &n) == 0) {
        /* "5": taken as the Python original takes it */
    } else {
        return wrong_type(ps, a->name, "an integer", v);
    }
    if (a->min.set && n < a->min.value) {
        snprintf(ps->msg, ps->msglen, "'%s' must be at least %lld", a->name, a->min.value);
        return SZ_EINVAL;
    }
    if (a->max.set && n > a->max.value) {
        snprintf(ps->msg, ps->msglen, "'%s' must be at most %lld", a->name, a->max.value);
        return SZ_EINVAL;
    }
    *pout = n;
    return 0;
}

/* A JSON number (an integer too); under MCP_ARGS_NUMERIC_STRINGS also a
 * decimal string ("1.5"), as the original's pydantic takes it. Bounds are the
 * tools' to check, in their own words. */
static int parse_number(struct parse *ps, const struct mcp_arg *a, const json_t *v, double *pout)
{
    const char *s = json_string_value(v);
    double x;

    if (json_is_number(v)) {
        x = json_number_value(v);
    } else if (s != NULL && (ps->policy & MCP_ARGS_NUMERIC_STRINGS) &&
               (sz_parse_decimal(s[0] == '-' ? s + 1 : s, &x) == 0)) {
        if (s[0] == '-')
            x = -x;
    } else {
        return wrong_type(ps, a->name, "a number", v);
    }
    if (!isfinite(x))
        return wrong_type(ps, a->name, "a finite number", v);
    *pout = x;
    return 0;
}

static int parse_strings(struct parse *ps, const struct mcp_arg *a, const json_t *v,
                         struct mcp_strings *pout)
{
    size_t n = json_array_size(v);
    const char **list;
    char who[256];

    if (!json_is_array(v))
        return wrong_type(ps, a->name, "an array of strings", v);
    if (a->min_items > 0 && n < a->min_items) {
        snprintf(ps->msg, ps->msglen, "'%s' must have at least %zu item%s", a->name, a->min_items,
                 a->min_items == 1 ? "" : "s");
        return SZ_EINVAL;
    }
    if (a->max_items > 0 && n > a->max_items) {
        snprintf(ps->msg, ps->msglen, "'%s' must have at most %zu items", a->name, a->max_items);
        return SZ_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(v, i);
        if (!json_is_string(item) || check_string(ps, a, NULL, a->name, item) != 0) {
            snprintf(who, sizeof(who), "%s[%zu]", a->name, i);
            if (!json_is_string(item))
                return wrong_type(ps, who, "a string", item);
            return check_string(ps, a, NULL, who, item);
        }
    }
    if (n == 0)
        return 0;
    list = malloc(n * sizeof(*list));
    if (list == NULL)
        return SZ_ENOMEM;
    for (size_t i = 0; i < n; i++)
        list[i] = json_string_value(json_array_get(v, i));
    pout->v = list;
    pout->n = n;
    return 0;
}

/* Parses v for row i into its member of out. */
static int parse_value(struct parse *ps, size_t i, const json_t *v, char *out)
{
    const struct mcp_arg *a = &ps->e->tool->args[i];
    void *dst = out + a->off;
    const char *s;
    long long n = 0;
    bool b;
    int idx = -1;
    struct mcp_strings list = {NULL, 0};
    int rc;

    switch (a->type) {
    case MCP_ARG_STRING:
        if (!json_is_string(v))
            return wrong_type(ps, a->name, "a string", v);
        if ((rc = check_string(ps, a, &ps->e->info[i], a->name, v)) != 0)
            return rc;
        s = json_string_value(v);
        memcpy(dst, &s, sizeof(s));
        return 0;
    case MCP_ARG_ENUM:
        if ((rc = parse_enum(ps, a, v, &idx)) != 0)
            return rc;
        memcpy(dst, &idx, sizeof(idx));
        return 0;
    case MCP_ARG_INT:
        if ((rc = parse_int(ps, a, v, &n)) != 0)
            return rc;
        memcpy(dst, &n, sizeof(n));
        return 0;
    case MCP_ARG_BOOL:
        if (!json_is_boolean(v))
            return wrong_type(ps, a->name, "a boolean", v);
        b = json_is_true(v);
        memcpy(dst, &b, sizeof(b));
        return 0;
    case MCP_ARG_STRINGS:
        if ((rc = parse_strings(ps, a, v, &list)) != 0)
            return rc;
        memcpy(dst, &list, sizeof(list));
        return 0;
    case MCP_ARG_OBJECT:
        if (!json_is_object(v))
            return wrong_type(ps, a->name, "an object", v);
        memcpy(dst, &v, sizeof(v));
        return 0;
    case MCP_ARG_NUMBER: {
        double x = 0;
        if ((rc = parse_number(ps, a, v, &x)) != 0)
            return rc;
        memcpy(dst, &x, sizeof(x));
        return 0;
    }
    }
    return SZ_EINVAL;
}

/* Fills row i's member when its argument was absent: its default, or "absent". */
static void fill_absent(const struct mcp_tool_entry *e, size_t i, char *out)
{
    const struct mcp_arg *a = &e->tool->args[i];
    void *dst = out + a->off;
    bool apply = a->has_default && !(a->flags & MCP_ARG_DEFAULT_ELSEWHERE);
    long long n = a->def_int;
    bool b = a->def_bool;
    int idx = apply ? e->info[i].def_index : -1;

    switch (a->type) {
    case MCP_ARG_STRING:
        if (apply)
            memcpy(dst, &a->def_str, sizeof(a->def_str));
        break;
    case MCP_ARG_ENUM:
        memcpy(dst, &idx, sizeof(idx));
        break;
    case MCP_ARG_INT:
        if (apply)
            memcpy(dst, &n, sizeof(n));
        break;
    case MCP_ARG_BOOL:
        if (apply)
            memcpy(dst, &b, sizeof(b));
        break;
    case MCP_ARG_NUMBER: {
        double x = apply ? a->def_num : NAN;
        memcpy(dst, &x, sizeof(x));
        break;
    }
    case MCP_ARG_STRINGS:
    case MCP_ARG_OBJECT:
        break; /* zeroed: absent */
    }
}

/* A name's character as "did you mean" compares it: case and '-' vs '_' ignored. */
static char fold(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c == '-' ? '_' : c;
}

/* Edit distance between two short names, for "did you mean". The optimal
 * string alignment distance: a swap of two neighbours is one edit. */
static size_t edits(const char *x, const char *y)
{
    size_t nx = strlen(x), ny = strlen(y);
    size_t d[3][65]; /* rows i-2, i-1 and i, by i % 3 */

    if (nx > 64 || ny > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= ny; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= nx; i++) {
        size_t *row = d[i % 3], *up = d[(i - 1) % 3], *up2 = d[(i + 1) % 3];
        row[0] = i;
        for (size_t j = 1; j <= ny; j++) {
            size_t best = up[j - 1] + (fold(x[i - 1]) != fold(y[j - 1]));
            if (up[j] + 1 < best)
                best = up[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (i > 1 && j > 1 && fold(x[i - 1]) == fold(y[j - 2]) &&
                fold(x[i - 2]) == fold(y[j - 1]) && up2[j - 2] + 1 < best)
                best = up2[j - 2] + 1;
            row[j] = best;
        }
    }
    return d[nx % 3][ny];
}

/* Whether needle occurs in hay, compared as fold() compares. */
static bool contains(const char *hay, const char *needle)
{
    size_t nh = strlen(hay), nn = strlen(needle);

    for (size_t i = 0; nn <= nh && i <= nh - nn; i++) {
        size_t k = 0;
        while (k < nn && fold(hay[i + k]) == fold(needle[k]))
            k++;
        if (k == nn)
            return true;
    }
    return false;
}

/* The known name an unknown key most likely meant, or NULL (see SUGGEST_*). */
static const char *closest(const struct mcp_tool *t, const char *key)
{
    const char *best = NULL;
    size_t best_edits = SUGGEST_MAX_EDITS + 1;
    size_t nkey = strlen(key);

    for (size_t i = 0; i < t->nargs; i++) {
        const char *name = t->args[i].name;
        size_t longer = strlen(name) > nkey ? strlen(name) : nkey;
        size_t d = edits(key, name);
        if (d < best_edits && d * 3 <= longer) {
            best = name;
            best_edits = d;
        }
    }
    for (size_t i = 0; best == NULL && i < t->nargs; i++) {
        const char *name = t->args[i].name;
        if ((nkey >= SUGGEST_MIN_PART && contains(name, key)) ||
            (strlen(name) >= SUGGEST_MIN_PART && contains(key, name)))
            best = name;
    }
    return best;
}

/* "unknown argument 'x'", with the closest known name under MCP_ARGS_SUGGEST,
 * or when none is close, the names the tool takes. */
static int unknown_argument(struct parse *ps, const char *key)
{
    const struct mcp_tool *t = ps->e->tool;
    const char *best;
    char shown[ECHO_MAX + 4]; /* the key as echoed: a client chose its length */
    int n = echo_len(key, strlen(key));
    size_t used;

    snprintf(shown, sizeof(shown), "%.*s%s", n, key, key[n] != '\0' ? "..." : "");
    if (!(ps->policy & MCP_ARGS_SUGGEST)) {
        snprintf(ps->msg, ps->msglen, "unknown argument '%s'", shown);
        return SZ_EINVAL;
    }
    best = closest(t, key);
    if (best != NULL) {
        snprintf(ps->msg, ps->msglen, "unknown argument '%s'; did you mean '%s'?", shown, best);
        return SZ_EINVAL;
    }
    if (t->nargs == 0) {
        snprintf(ps->msg, ps->msglen, "unknown argument '%s'; this tool takes no arguments", shown);
        return SZ_EINVAL;
    }
    used = (size_t)snprintf(ps->msg, ps->msglen, "unknown argument '%s'; this tool takes ", shown);
    for (size_t i = 0; i < t->nargs && used < ps->msglen; i++)
        used += (size_t)snprintf(ps->msg + used, ps->msglen - used, "%s'%s'", i ? ", " : "",
                                 t->args[i].name);
    return SZ_EINVAL;
}

static ssize_t find_row(const struct mcp_tool *t, const char *key)
{
    for (size_t i = 0; i < t->nargs; i++)
        if (strcmp(t->args[i].name, key) == 0)
            return (ssize_t)i;
    return -1;
}

/* Under MCP_ARGS_JSON_TEXT, an array or object argument sent as its JSON text
 * ("[\"a.png\"]"), as FastMCP decodes it: the decoded value (new reference)
 * when it is of the row's type, else NULL (v is then judged as it came). */
static json_t *decode_text(const struct parse *ps, const struct mcp_arg *a, const json_t *v)
{
    json_t *d;

    if (!(ps->policy & MCP_ARGS_JSON_TEXT) || !json_is_string(v) ||
        (a->type != MCP_ARG_STRINGS && a->type != MCP_ARG_OBJECT))
        return NULL;
    /* Without JSON_DECODE_ANY only an array or an object is taken. */
    d = json_loadb(json_string_value(v), json_string_length(v), JSON_REJECT_DUPLICATES, NULL);
    if (d != NULL && (a->type == MCP_ARG_STRINGS ? json_is_array(d) : json_is_object(d)))
        return d;
    json_decref(d);
    return NULL;
}

/* Makes *pargs a shallow copy carrying the decoded values, so what the parsed
 * struct borrows from them lives as long as the call's arguments. */
static int adopt_decoded(json_t **pargs, json_t *decoded)
{
    json_t *copy = json_copy(*pargs);

    if (copy == NULL || json_object_update(copy, decoded) != 0) {
        json_decref(copy);
        return SZ_ENOMEM;
    }
    json_decref(*pargs);
    *pargs = copy;
    return 0;
}

int mcp_args_parse(const struct mcp_tool_entry *e, json_t **pargs, unsigned policy, void *out,
                   char *msg, size_t msglen)
{
    const struct mcp_tool *t = e->tool;
    struct parse ps = {e, policy, msg, msglen};
    bool null_absent = (policy & MCP_ARGS_NULL_IS_ABSENT) != 0;
    json_t *args = *pargs;
    json_t *decoded = NULL; /* name -> value decoded from JSON text */
    uint64_t seen = 0;
    const char *key;
    json_t *v;
    int rc = 0;

    msg[0] = '\0';
    /* Names first: "did you mean 'video_id'?" explains a missing video_id
     * better than "'video_id' is required" does. */
    json_object_foreach(args, key, v)
    {
        if (find_row(t, key) < 0) {
            rc = unknown_argument(&ps, key);
            goto out;
        }
    }
    /* Then required arguments, in table order, as the schema's "required". */
    for (size_t i = 0; i < t->nargs; i++) {
        json_t *given = json_object_get(args, t->args[i].name);
        if ((t->args[i].flags & MCP_ARG_REQUIRED) &&
            (given == NULL || (null_absent && json_is_null(given)))) {
            snprintf(msg, msglen, "'%s' is required", t->args[i].name);
            rc = SZ_EINVAL;
            goto out;
        }
    }
    json_object_foreach(args, key, v)
    {
        size_t i = (size_t)find_row(t, key);
        json_t *d;

        if (null_absent && json_is_null(v))
            continue;
        if ((d = decode_text(&ps, &t->args[i], v)) != NULL) {
            if (decoded == NULL && (decoded = json_object()) == NULL) {
                json_decref(d);
                rc = SZ_ENOMEM;
                goto out;
            }
            json_object_set_new(decoded, key, d); /* decoded holds d */
            v = d;
        }
        rc = parse_value(&ps, i, v, out);
        if (rc != 0)
            goto out;
        seen |= UINT64_C(1) << i;
    }
    for (size_t i = 0; i < t->nargs; i++)
        if (!(seen & (UINT64_C(1) << i)))
            fill_absent(e, i, out);
    if (decoded != NULL)
        rc = adopt_decoded(pargs, decoded);
out:
    json_decref(decoded);
    if (rc != 0)
        mcp_args_release(e, out);
    return rc;
}

void mcp_args_release(const struct mcp_tool_entry *e, void *out)
{
    const struct mcp_tool *t = e->tool;

    for (size_t i = 0; i < t->nargs; i++) {
        struct mcp_strings list;
        if (t->args[i].type != MCP_ARG_STRINGS)
            continue;
        memcpy(&list, (char *)out + t->args[i].off, sizeof(list));
        free((void *)(uintptr_t)list.v);
        memset((char *)out + t->args[i].off, 0, sizeof(list));
    }
}
