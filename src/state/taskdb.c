/* The task table of taskdb.h: the mcp_tasks table and its four statements, each run
 * as one state job. */
#include "fmacros.h"

#include "state/taskdb.h"

#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names the table in every failure's sentence. */
#define WHAT "The task table"

static const char schema[] =
    "BEGIN;"
    "CREATE TABLE IF NOT EXISTS mcp_tasks ("
    " id TEXT PRIMARY KEY,"
    " owner TEXT NOT NULL,"
    " tool TEXT NOT NULL,"
    " modern INTEGER NOT NULL,"
    " status TEXT NOT NULL,"
    " message TEXT,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " ttl_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " poll_ms INTEGER NOT NULL,"
    " result TEXT,"
    " error TEXT,"
    " checkpoint TEXT);"
    "CREATE INDEX IF NOT EXISTS mcp_tasks_by_expiry ON mcp_tasks(expires_ms);"
    "COMMIT;";

/* The columns, in the order every statement below names them. */
#define COLUMNS                                                                                    \
    "id, owner, tool, modern, status, message, created_ms, updated_ms, ttl_ms, poll_ms, result,"   \
    " error, checkpoint"

int taskdb_attach(struct state *st)
{
    return state_add_schema(st, schema);
}

/* The strings of a row, owned (a copy made on the loop, or read on the pool). */
struct texts {
    char *id, *owner, *tool, *status, *message, *result, *error, *checkpoint;
};

/* One operation: its inputs, its outputs and whom to tell. */
struct op {
    state_done_fn *done;
    taskdb_found_fn *found_cb;
    void *data;
    struct taskdb_row row; /* pointers into t */
    struct texts t;
    int64_t now_ms;
    bool have; /* find: a row was read */
};

static void texts_free(struct texts *t)
{
    free(t->id);
    free(t->owner);
    free(t->tool);
    free(t->status);
    free(t->message);
    free(t->result);
    free(t->error);
    free(t->checkpoint);
}

static void op_free(struct op *op)
{
    texts_free(&op->t);
    free(op);
}

/* A new operation on the row id (copied). NULL when out of memory. */
static struct op *op_new(const char *id)
{
    struct op *op = calloc(1, sizeof(*op));

    if (op == NULL)
        return NULL;
    op->t.id = strdup(id);
    if (op->t.id == NULL) {
        op_free(op);
        return NULL;
    }
    return op;
}

/* Queues op as one state job; frees it when it could not be queued. */
static int submit(struct state *st, state_work_fn *work, state_done_fn *done, struct op *op)
{
    int rc = state_run(st, work, done, op);

    if (rc != 0)
        op_free(op);
    return rc;
}

/* A copy of s (NULL stays NULL); sets *pfail when a copy could not be made. */
static char *dup_or_null(const char *s, bool *pfail)
{
    char *d = s != NULL ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        *pfail = true;
    return d;
}

/* Points op->row's strings at op->t. */
static void row_from_texts(struct op *op)
{
    op->row.id = op->t.id;
    op->row.owner = op->t.owner;
    op->row.tool = op->t.tool;
    op->row.status = op->t.status;
    op->row.message = op->t.message;
    op->row.result = op->t.result;
    op->row.error = op->t.error;
    op->row.checkpoint = op->t.checkpoint;
}

static void simple_done(void *data, int err, const char *msg)
{
    struct op *op = data;

    state_report(op->done, op->data, err, msg);
    op_free(op);
}

/* ---- save ----------------------------------------------------------------------------- */

static int save_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO mcp_tasks (" COLUMNS ", expires_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
    struct op *op = data;
    const struct taskdb_row *r = &op->row;
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = state_prepare(db, WHAT, sql, &s, msg, msglen)) != 0)
        return rc;
    state_bind_text(s, 1, r->id);
    state_bind_text(s, 2, r->owner);
    state_bind_text(s, 3, r->tool);
    sqlite3_bind_int(s, 4, r->modern ? 1 : 0);
    state_bind_text(s, 5, r->status);
    state_bind_text(s, 6, r->message);
    sqlite3_bind_int64(s, 7, r->created_ms);
    sqlite3_bind_int64(s, 8, r->updated_ms);
    sqlite3_bind_int64(s, 9, r->ttl_ms);
    sqlite3_bind_int64(s, 10, r->poll_ms);
    state_bind_text(s, 11, r->result);
    state_bind_text(s, 12, r->error);
    state_bind_text(s, 13, r->checkpoint);
    /* No TTL: never expires (the largest time SQLite's integers hold). */
    sqlite3_bind_int64(s, 14, r->ttl_ms > 0 ? r->created_ms + r->ttl_ms : INT64_MAX);
    return state_exec(db, s, WHAT, msg, msglen);
}

int taskdb_save(struct state *st, const struct taskdb_row *row, state_done_fn *done, void *data)
{
    struct op *op;
    bool fail = false;

    if (row == NULL || row->id == NULL || row->owner == NULL || row->tool == NULL ||
        row->status == NULL)
        return SZ_EINVAL;
    op = calloc(1, sizeof(*op));
    if (op == NULL)
        return SZ_ENOMEM;
    op->done = done;
    op->data = data;
    op->row = *row;
    op->t.id = dup_or_null(row->id, &fail);
    op->t.owner = dup_or_null(row->owner, &fail);
    op->t.tool = dup_or_null(row->tool, &fail);
    op->t.status = dup_or_null(row->status, &fail);
    op->t.message = dup_or_null(row->message, &fail);
    op->t.result = dup_or_null(row->result, &fail);
    op->t.error = dup_or_null(row->error, &fail);
    op->t.checkpoint = dup_or_null(row->checkpoint, &fail);
    row_from_texts(op);
    if (fail) {
        op_free(op);
        return SZ_ENOMEM;
    }
    return submit(st, save_work, simple_done, op);
}

/* ---- find ----------------------------------------------------------------------------- */

/* Column i as an owned string (NULL for SQL NULL); sets *pfail when out of memory. */
static char *column_dup(sqlite3_stmt *s, int i, bool *pfail)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    return dup_or_null(text, pfail);
}

static int find_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    static const char sql[] = "SELECT " COLUMNS " FROM mcp_tasks WHERE id = ?1";
    struct op *op = data;
    struct texts *t = &op->t;
    sqlite3_stmt *s = NULL;
    bool fail = false;
    int rc, step;

    if ((rc = state_prepare(db, WHAT, sql, &s, msg, msglen)) != 0)
        return rc;
    state_bind_text(s, 1, t->id);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        op->have = true;
        t->owner = column_dup(s, 1, &fail);
        t->tool = column_dup(s, 2, &fail);
        op->row.modern = sqlite3_column_int(s, 3) != 0;
        t->status = column_dup(s, 4, &fail);
        t->message = column_dup(s, 5, &fail);
        op->row.created_ms = sqlite3_column_int64(s, 6);
        op->row.updated_ms = sqlite3_column_int64(s, 7);
        op->row.ttl_ms = sqlite3_column_int64(s, 8);
        op->row.poll_ms = sqlite3_column_int64(s, 9);
        t->result = column_dup(s, 10, &fail);
        t->error = column_dup(s, 11, &fail);
        t->checkpoint = column_dup(s, 12, &fail);
        if (fail) {
            snprintf(msg, msglen, "The task table: out of memory reading task %.64s", t->id);
            rc = SZ_ENOMEM;
        }
    } else if (step != SQLITE_DONE) {
        rc = state_sql_error(db, WHAT, msg, msglen);
    }
    sqlite3_finalize(s);
    return rc;
}

static void find_done(void *data, int err, const char *msg)
{
    struct op *op = data;

    row_from_texts(op);
    op->found_cb(op->data, err, msg, err == 0 && op->have ? &op->row : NULL);
    op_free(op);
}

int taskdb_find(struct state *st, const char *id, taskdb_found_fn *cb, void *data)
{
    struct op *op;

    if (id == NULL || cb == NULL)
        return SZ_EINVAL;
    op = op_new(id);
    if (op == NULL)
        return SZ_ENOMEM;
    op->found_cb = cb;
    op->data = data;
    return submit(st, find_work, find_done, op);
}

/* ---- remove and purge ------------------------------------------------------------------- */

int taskdb_remove(struct state *st, const char *id, state_done_fn *done, void *data)
{
    if (id == NULL)
        return SZ_EINVAL;
    return state_run_sql(st, WHAT, "DELETE FROM mcp_tasks WHERE id = ?1", id, done, data);
}

static int purge_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    static const char sql[] = "DELETE FROM mcp_tasks WHERE expires_ms <= ?1";
    struct op *op = data;
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = state_prepare(db, WHAT, sql, &s, msg, msglen)) != 0)
        return rc;
    sqlite3_bind_int64(s, 1, op->now_ms);
    return state_exec(db, s, WHAT, msg, msglen);
}

int taskdb_purge(struct state *st, int64_t now_ms, state_done_fn *done, void *data)
{
    struct op *op = calloc(1, sizeof(*op));

    if (op == NULL)
        return SZ_ENOMEM;
    op->done = done;
    op->data = data;
    op->now_ms = now_ms;
    return submit(st, purge_work, simple_done, op);
}
