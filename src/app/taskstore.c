/* The task store of taskstore.h: each operation of struct mcp_task_store maps onto
 * one of the task table's, row for row (the two row structs hold the same fields, so
 * the copy is by name, and neither floor includes the other). */
#include "fmacros.h"

#include "app/taskstore.h"

#include "core/err.h"
#include "core/log.h"
#include "mcp/server.h"
#include "state/taskdb.h"

#include <stdlib.h>

/* The initialiser of either row struct from a pointer r to the other: the fields
 * are the same by name, listed once. */
#define ROW_FIELDS(r)                                                                              \
    .id = (r)->id, .owner = (r)->owner, .tool = (r)->tool, .modern = (r)->modern,                  \
    .status = (r)->status, .message = (r)->message, .created_ms = (r)->created_ms,                 \
    .updated_ms = (r)->updated_ms, .ttl_ms = (r)->ttl_ms, .poll_ms = (r)->poll_ms,                 \
    .result = (r)->result, .error = (r)->error, .checkpoint = (r)->checkpoint

/* A save or find in flight: the engine's callback and its data. */
struct op {
    mcp_task_saved_fn *saved;
    mcp_task_found_fn *found;
    void *data;
};

static void saved(void *data, int err, const char *msg)
{
    struct op *op = data;

    if (err != 0)
        SZ_WARN("%s", msg != NULL ? msg : sz_strerror(err));
    op->saved(op->data, err);
    free(op);
}

static int save(void *ctx, const struct mcp_task_row *r, mcp_task_saved_fn *done, void *data)
{
    const struct taskdb_row row = {ROW_FIELDS(r)};
    struct op *op = calloc(1, sizeof(*op));
    int rc;

    if (op == NULL)
        return SZ_ENOMEM;
    op->saved = done;
    op->data = data;
    rc = taskdb_save(ctx, &row, saved, op);
    if (rc != 0)
        free(op);
    return rc;
}

static void found(void *data, int err, const char *msg, const struct taskdb_row *r)
{
    struct op *op = data;
    struct mcp_task_row row;

    if (err != 0)
        SZ_WARN("%s", msg != NULL ? msg : sz_strerror(err));
    if (err == 0 && r != NULL) {
        row = (struct mcp_task_row){ROW_FIELDS(r)};
        op->found(op->data, 0, &row);
    } else {
        op->found(op->data, err, NULL);
    }
    free(op);
}

static int find(void *ctx, const char *id, mcp_task_found_fn *cb, void *data)
{
    struct op *op = calloc(1, sizeof(*op));
    int rc;

    if (op == NULL)
        return SZ_ENOMEM;
    op->found = cb;
    op->data = data;
    rc = taskdb_find(ctx, id, found, op);
    if (rc != 0)
        free(op);
    return rc;
}

static int remove_task(void *ctx, const char *id)
{
    return taskdb_remove(ctx, id, NULL, NULL);
}

static int purge(void *ctx, int64_t now_ms)
{
    return taskdb_purge(ctx, now_ms, NULL, NULL);
}

void sz_taskstore_attach(struct mcp_server *server, struct state *st)
{
    const struct mcp_task_store store = {
        .save = save,
        .find = find,
        .remove = remove_task,
        .purge = purge,
        .ctx = st,
    };

    mcp_server_set_task_store(server, &store);
}
