/* Declarative tool tables: what a tool takes and what it returns, as rows.
 *
 * A tool's arguments are an array of struct mcp_arg rows: name, type, bounds,
 * enum values, default, description, and where the parsed value goes (an
 * offsetof into the tool's own arguments struct). From that one table the
 * engine builds the JSON Schema that tools/list shows and, for every
 * tools/call, validates the arguments and fills the struct the tool's start
 * function receives, with messages that name the argument. A tool's result is
 * described the same way by struct mcp_field rows (nested for objects and
 * arrays), from which its outputSchema comes.
 *
 * Rows are static data: the engine borrows them for the server's lifetime.
 * Thread: the tables are read-only; any thread may read them. */
#ifndef SZ_MCP_TABLE_H
#define SZ_MCP_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* How an argument is parsed and where it lands in the tool's struct. */
enum mcp_arg_type {
    MCP_ARG_STRING,  /* const char *: borrowed, valid until the call finishes; NULL when absent */
    MCP_ARG_ENUM,    /* int: index into the row's values; -1 when absent */
    MCP_ARG_INT,     /* long long; 0 when absent (give a default or a minimum above 0
                        when absence matters) */
    MCP_ARG_BOOL,    /* bool; false when absent */
    MCP_ARG_STRINGS, /* struct mcp_strings (an array of strings); {NULL, 0} when absent */
    MCP_ARG_OBJECT,  /* const json_t *: a free-form object, borrowed; NULL when absent */
    MCP_ARG_NUMBER,  /* double; NAN when absent and no default is filled in (isnan tells) */
};

/* An array-of-strings argument: n borrowed strings, valid until the call finishes. */
struct mcp_strings {
    const char *const *v;
    size_t n;
};

/* A bound that may be absent (0 is a meaningful minimum). */
struct mcp_limit {
    bool set;
    long long value;
};
#define MCP_LIMIT(x)                                                                               \
    {                                                                                              \
        .set = true, .value = (x)                                                                  \
    }

/* Row flags. */
enum {
    MCP_ARG_REQUIRED = 1u << 0,
    /* The default is shown in the schema but not filled in: the tool or the
     * upstream API applies it (a model that comes from configuration, an image
     * option sent only when given). The argument stays absent. */
    MCP_ARG_DEFAULT_ELSEWHERE = 1u << 1,
};

struct mcp_arg {
    const char *name;
    enum mcp_arg_type type;
    unsigned flags; /* MCP_ARG_REQUIRED | MCP_ARG_DEFAULT_ELSEWHERE */
    size_t off;     /* offsetof(the tool's args struct, the member of the type above) */
    const char *description;
    const char *const *values; /* MCP_ARG_ENUM: the allowed strings, NULL-terminated */
    const char *pattern;       /* MCP_ARG_STRING: a POSIX extended regex the value must match */
    /* MCP_ARG_INT: minimum and maximum. MCP_ARG_STRING and each item of
     * MCP_ARG_STRINGS: minLength and maxLength, in code points. */
    struct mcp_limit min, max;
    size_t min_items, max_items; /* MCP_ARG_STRINGS; 0 for none */
    /* The default (MCP_DEFAULT_*): filled in when the argument is absent,
     * unless MCP_ARG_DEFAULT_ELSEWHERE. An enum's default is one of its values. */
    bool has_default;
    const char *def_str;
    long long def_int;
    bool def_bool;
    /* MCP_ARG_STRING, _INT or _BOOL: the name {H} of an HTTP header
     * Mcp-Param-{H} that mirrors the value (2026-07-28 x-mcp-header), or NULL.
     * Clients honour it on a primitive type only: give it to a required row (an
     * optional one is anyOf [T, null] under MCP_ARGS_NULL_IS_ABSENT). */
    const char *header;
    double def_num;
};

#define MCP_DEFAULT_STR(s)  .has_default = true, .def_str = (s)
#define MCP_DEFAULT_INT(i)  .has_default = true, .def_int = (i)
#define MCP_DEFAULT_BOOL(b) .has_default = true, .def_bool = (b)
#define MCP_DEFAULT_NUM(x)  .has_default = true, .def_num = (x)

/* JSON types of a result field; several bits make a type list. */
enum {
    MCP_T_STRING = 1u << 0,
    MCP_T_INTEGER = 1u << 1,
    MCP_T_NUMBER = 1u << 2,
    MCP_T_BOOLEAN = 1u << 3,
    MCP_T_OBJECT = 1u << 4,
    MCP_T_ARRAY = 1u << 5,
    MCP_T_NULL = 1u << 6,
};

/* One field of a result (or the result itself, an object). */
struct mcp_field {
    const char *name; /* unused for the result itself and for array items */
    unsigned types;   /* MCP_T_* bits */
    bool required;
    const char *description;
    const char *const *values;      /* allowed strings, NULL-terminated, or NULL */
    const struct mcp_field *fields; /* MCP_T_OBJECT: its properties, or NULL */
    size_t nfields;
    const struct mcp_field *items; /* MCP_T_ARRAY: the schema of every item, or NULL */
    size_t min_items, max_items;   /* MCP_T_ARRAY; 0 for none */
};

/* The element count of a row array, for the pairs below. */
#define MCP_COUNT(rows) (sizeof(rows) / sizeof((rows)[0]))
/* .fields/.nfields of an object field from a row array. */
#define MCP_FIELDS(rows) .fields = (rows), .nfields = MCP_COUNT(rows)

#endif
