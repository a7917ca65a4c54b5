/* The ledger of ledger.h: the video_jobs table and its four statements, each run as
 * one state job. */
#include "fmacros.h"

#include "state/ledger.h"

#include "core/err.h"
#include "core/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Names the table in every failure's sentence. */
#define WHAT "The video ledger"

static const char schema[] = "BEGIN;"
                             "CREATE TABLE IF NOT EXISTS video_jobs ("
                             " id TEXT PRIMARY KEY,"
                             " provider TEXT NOT NULL,"
                             " created_at INTEGER NOT NULL,"
                             " status TEXT,"
                             " video TEXT NOT NULL,"
                             " updated_at INTEGER NOT NULL);"
                             "CREATE INDEX IF NOT EXISTS video_jobs_by_provider"
                             " ON video_jobs(provider, created_at, id);"
                             "COMMIT;";

int ledger_attach(struct state *st)
{
    return state_add_schema(st, schema);
}

/* One ledger operation: its inputs, its outputs and whom to tell. */
struct op {
    state_done_fn *done;
    ledger_find_fn *find_cb;
    ledger_list_fn *list_cb;
    void *data;
    char *id;
    char *provider;
    char *after;
    char *text; /* the Video object, serialised */
    int64_t created_at;
    char status[32];
    size_t limit;
    bool ascending;
    /* results */
    char found_provider[32];
    json_t *video;
    json_t *videos;
    bool has_more;
};

static void op_free(struct op *op)
{
    free(op->id);
    free(op->provider);
    free(op->after);
    free(op->text);
    json_decref(op->video);
    json_decref(op->videos);
    free(op);
}

/* A new operation on the row id (copied). NULL when out of memory. */
static struct op *op_new(const char *id)
{
    struct op *op = calloc(1, sizeof(*op));

    if (op == NULL)
        return NULL;
    op->id = strdup(id);
    if (op->id == NULL) {
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

/* A Video object from a column of JSON text; NULL when it is not an object. */
static json_t *column_video(sqlite3_stmt *s, int col)
{
    const char *text = (const char *)sqlite3_column_text(s, col);
    int len = sqlite3_column_bytes(s, col);
    json_t *v;

    if (text == NULL)
        return NULL;
    v = json_loadb(text, (size_t)len, 0, NULL);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- put ------------------------------------------------------------------------- */

static int put_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    static const char sql[] =
        "INSERT INTO video_jobs (id, provider, created_at, status, video, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(id) DO UPDATE SET provider = excluded.provider, status = excluded.status,"
        " video = excluded.video, updated_at = excluded.updated_at";
    struct op *op = data;
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = state_prepare(db, WHAT, sql, &s, msg, msglen)) != 0)
        return rc;
    state_bind_text(s, 1, op->id);
    state_bind_text(s, 2, op->provider);
    sqlite3_bind_int64(s, 3, op->created_at);
    state_bind_text(s, 4, op->status[0] != '\0' ? op->status : NULL);
    state_bind_text(s, 5, op->text);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)time(NULL));
    return state_exec(db, s, WHAT, msg, msglen);
}

static void simple_done(void *data, int err, const char *msg)
{
    struct op *op = data;

    state_report(op->done, op->data, err, msg);
    op_free(op);
}

int ledger_put(struct state *st, const char *provider, const json_t *video, state_done_fn *done,
               void *data)
{
    const char *id = json_string_value(json_object_get(video, "id"));
    const char *status = json_string_value(json_object_get(video, "status"));
    json_t *created = json_object_get(video, "created_at");
    struct op *op;

    if (id == NULL || provider == NULL)
        return SZ_EINVAL;
    op = calloc(1, sizeof(*op));
    if (op == NULL)
        return SZ_ENOMEM;
    op->done = done;
    op->data = data;
    op->id = strdup(id);
    op->provider = strdup(provider);
    op->text = json_dumps(video, JSON_COMPACT);
    op->created_at = json_is_integer(created) ? json_integer_value(created) : (int64_t)time(NULL);
    snprintf(op->status, sizeof(op->status), "%s", status != NULL ? status : "");
    if (op->id == NULL || op->provider == NULL || op->text == NULL) {
        op_free(op);
        return SZ_ENOMEM;
    }
    return submit(st, put_work, simple_done, op);
}

/* ---- find ------------------------------------------------------------------------ */

static int find_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    static const char sql[] = "SELECT provider, video FROM video_jobs WHERE id = ?1";
    struct op *op = data;
    sqlite3_stmt *s = NULL;
    int rc, step;

    if ((rc = state_prepare(db, WHAT, sql, &s, msg, msglen)) != 0)
        return rc;
    state_bind_text(s, 1, op->id);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(s, 0);
        snprintf(op->found_provider, sizeof(op->found_provider), "%s", p != NULL ? p : "");
        op->video = column_video(s, 1);
    } else if (step != SQLITE_DONE) {
        rc = state_sql_error(db, WHAT, msg, msglen);
    }
    sqlite3_finalize(s);
    return rc;
}

static void find_done(void *data, int err, const char *msg)
{
    struct op *op = data;
    json_t *video = err == 0 ? op->video : NULL;

    op->video = NULL;
    op->find_cb(op->data, err, msg,
                err == 0 && op->found_provider[0] != '\0' ? op->found_provider : NULL, video);
    op_free(op);
}

int ledger_find(struct state *st, const char *id, ledger_find_fn *cb, void *data)
{
    struct op *op;

    if (id == NULL || cb == NULL)
        return SZ_EINVAL;
    op = op_new(id);
    if (op == NULL)
        return SZ_ENOMEM;
    op->find_cb = cb;
    op->data = data;
    return submit(st, find_work, find_done, op);
}

/* ---- list ------------------------------------------------------------------------ */

static int list_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    /* (created_at, rowid) orders the page; rowid is insertion order and survives
     * updates (an upsert, not a replace). */
    static const char desc_sql[] =
        "SELECT video FROM video_jobs WHERE provider = ?1 AND (?2 IS NULL OR"
        " (created_at, rowid) < (SELECT created_at, rowid FROM video_jobs WHERE id = ?2))"
        " ORDER BY created_at DESC, rowid DESC LIMIT ?3";
    static const char asc_sql[] =
        "SELECT video FROM video_jobs WHERE provider = ?1 AND (?2 IS NULL OR"
        " (created_at, rowid) > (SELECT created_at, rowid FROM video_jobs WHERE id = ?2))"
        " ORDER BY created_at ASC, rowid ASC LIMIT ?3";
    static const char known_sql[] = "SELECT 1 FROM video_jobs WHERE id = ?1 AND provider = ?2";
    struct op *op = data;
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int rc, step;

    if (op->after != NULL) {
        if ((rc = state_prepare(db, WHAT, known_sql, &s, msg, msglen)) != 0)
            return rc;
        state_bind_text(s, 1, op->after);
        state_bind_text(s, 2, op->provider);
        step = sqlite3_step(s);
        sqlite3_finalize(s);
        s = NULL;
        if (step == SQLITE_DONE) {
            snprintf(msg, msglen,
                     "No video '%.128s' among the %s jobs this server created: pass the last "
                     "id of the previous page as after",
                     op->after, op->provider);
            return SZ_ENOTFOUND;
        }
        if (step != SQLITE_ROW)
            return state_sql_error(db, WHAT, msg, msglen);
    }
    if ((rc = state_prepare(db, WHAT, op->ascending ? asc_sql : desc_sql, &s, msg, msglen)) != 0)
        return rc;
    state_bind_text(s, 1, op->provider);
    state_bind_text(s, 2, op->after);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)op->limit + 1);
    op->videos = json_array();
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *v;
        if (n++ == op->limit) {
            op->has_more = true;
            break;
        }
        v = column_video(s, 0);
        if (v != NULL)
            json_array_append_new(op->videos, v);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = state_sql_error(db, WHAT, msg, msglen);
    sqlite3_finalize(s);
    return rc;
}

static void list_done(void *data, int err, const char *msg)
{
    struct op *op = data;
    json_t *videos = err == 0 ? op->videos : NULL;

    if (err == 0)
        op->videos = NULL;
    op->list_cb(op->data, err, msg, videos, op->has_more);
    op_free(op);
}

int ledger_list(struct state *st, const struct ledger_page *page, ledger_list_fn *cb, void *data)
{
    struct op *op;

    if (page == NULL || page->provider == NULL || cb == NULL || page->limit == 0)
        return SZ_EINVAL;
    op = calloc(1, sizeof(*op));
    if (op == NULL)
        return SZ_ENOMEM;
    op->list_cb = cb;
    op->data = data;
    op->limit = page->limit;
    op->ascending = page->ascending;
    op->provider = strdup(page->provider);
    op->after = page->after != NULL ? strdup(page->after) : NULL;
    if (op->provider == NULL || (page->after != NULL && op->after == NULL)) {
        op_free(op);
        return SZ_ENOMEM;
    }
    return submit(st, list_work, list_done, op);
}

/* ---- forget ---------------------------------------------------------------------- */

int ledger_forget(struct state *st, const char *id, state_done_fn *done, void *data)
{
    if (id == NULL)
        return SZ_EINVAL;
    return state_run_sql(st, WHAT, "DELETE FROM video_jobs WHERE id = ?1", id, done, data);
}
