/* The state database of state.h: a path, a one-slot job pool and, on the pool side,
 * the open connection. The connection is opened lazily by the first job that needs
 * it and is only ever touched from pool jobs, which run one at a time; the loop side
 * owns the queue, the schema list and the closing flag. */
#include "fmacros.h"

#include "state/state.h"

#include "core/err.h"
#include "core/log.h"
#include "core/pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Schema scripts a state can hold: one per module that keeps a table. A fixed array
 * so a job may read it on the pool while the loop adds to it (entries below the
 * count a job captured never change). */
#define MAX_SCHEMA 16

/* How long a statement waits for another process's lock (two servers on one media
 * root) before it fails with SZ_EBUSY. Waiting blocks a pool thread, never the loop. */
#define BUSY_TIMEOUT_MS 5000

struct state {
    uv_loop_t *loop;
    struct sz_pool *pool; /* one slot: jobs run in order, one at a time */
    char *path;
    const char *schema[MAX_SCHEMA];
    size_t nschema;
    bool closing;
    state_closed_fn *closed_cb;
    void *closed_arg;
    /* Pool side: touched only by jobs. */
    sqlite3 *db;
    size_t applied; /* schema scripts applied on this connection */
};

struct job {
    struct state *st;
    state_work_fn *work;
    state_done_fn *done;
    void *data;
    size_t nschema; /* scripts registered when the job was queued */
    int err;
    char msg[STATE_MSG_MAX];
};

int state_new(uv_loop_t *loop, const struct state_options *opts, struct state **pstate)
{
    struct state *st;

    *pstate = NULL;
    if (loop == NULL || opts == NULL || opts->path == NULL || opts->path[0] == '\0')
        return SZ_EINVAL;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return SZ_ENOMEM;
    st->loop = loop;
    st->path = strdup(opts->path);
    st->pool = sz_pool_new(loop, 1);
    if (st->path == NULL || st->pool == NULL) {
        free(st->path);
        if (st->pool != NULL)
            sz_pool_close(st->pool, NULL, NULL);
        free(st);
        return SZ_ENOMEM;
    }
    *pstate = st;
    return 0;
}

const char *state_path(const struct state *st)
{
    return st->path;
}

int state_add_schema(struct state *st, const char *sql)
{
    if (st == NULL || sql == NULL || st->closing)
        return SZ_EINVAL;
    for (size_t i = 0; i < st->nschema; i++)
        if (st->schema[i] == sql)
            return 0;
    if (st->nschema == MAX_SCHEMA)
        return SZ_ENOMEM;
    st->schema[st->nschema++] = sql;
    return 0;
}

int state_sql_error(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    int code = db != NULL ? sqlite3_errcode(db) : SQLITE_CANTOPEN;

    snprintf(msg, msglen, "%.250s: %.200s", what,
             db != NULL ? sqlite3_errmsg(db) : "out of memory");
    return code == SQLITE_BUSY || code == SQLITE_LOCKED ? SZ_EBUSY : SZ_EIO;
}

int state_prepare(sqlite3 *db, const char *what, const char *sql, sqlite3_stmt **ps, char *msg,
                  size_t msglen)
{
    if (sqlite3_prepare_v2(db, sql, -1, ps, NULL) == SQLITE_OK)
        return 0;
    return state_sql_error(db, what, msg, msglen);
}

int state_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v != NULL ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

int state_exec(sqlite3 *db, sqlite3_stmt *s, const char *what, char *msg, size_t msglen)
{
    /* The error is read before finalize, which would reset the connection's message. */
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : state_sql_error(db, what, msg, msglen);

    sqlite3_finalize(s);
    return rc;
}

void state_report(state_done_fn *done, void *data, int err, const char *msg)
{
    if (done != NULL)
        done(data, err, msg);
    else if (err != 0)
        SZ_WARN("%s", msg);
}

/* ---- pool side ------------------------------------------------------------------- */

/* mkdir -p of path's directory; new directories are private (prompts live in the
 * database). 0 or -errno. */
static int make_parent(const char *path)
{
    char *dir = strdup(path);
    char *slash;
    int rc = 0;

    if (dir == NULL)
        return -ENOMEM;
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        goto out;
    *slash = '\0';
    for (char *p = dir + 1; rc == 0; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = -errno;
        if (end)
            break;
        *p = '/';
    }
out:
    free(dir);
    return rc;
}

static int open_db(struct state *st, char *msg, size_t msglen)
{
    char what[STATE_MSG_MAX / 2];
    int rc;

    snprintf(what, sizeof(what), "Cannot open the state database %.200s", st->path);
    if ((rc = make_parent(st->path)) != 0) {
        snprintf(msg, msglen, "%s: %.200s", what, strerror(-rc));
        return SZ_EIO;
    }
    /* NOFOLLOW: the file is ours; a symbolic link planted in its place is refused. */
    rc = sqlite3_open_v2(st->path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_NOFOLLOW,
                         NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    /* WAL: readers and the writer do not block each other, and a commit is one
     * append; NORMAL sync is durable across a process crash, which is what a ledger
     * of jobs needs (a power loss may forget the last commits). */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                          NULL);
    if (rc != SQLITE_OK) {
        rc = state_sql_error(st->db, what, msg, msglen);
        sqlite3_close_v2(st->db);
        st->db = NULL;
        return rc;
    }
    st->applied = 0;
    return 0;
}

static int apply_schema(struct state *st, size_t upto, char *msg, size_t msglen)
{
    char what[STATE_MSG_MAX / 2];

    for (; st->applied < upto; st->applied++) {
        char *err = NULL;
        int rc = sqlite3_exec(st->db, st->schema[st->applied], NULL, NULL, &err);
        if (rc == SQLITE_OK)
            continue;
        /* Each script is run whole or not at all: one transaction per script. */
        snprintf(what, sizeof(what), "Cannot set up the state database %.200s", st->path);
        snprintf(msg, msglen, "%s: %.200s", what, err != NULL ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        return rc == SQLITE_BUSY ? SZ_EBUSY : SZ_EIO;
    }
    return 0;
}

static void job_work(void *data)
{
    struct job *j = data;
    struct state *st = j->st;

    if (st->db == NULL && (j->err = open_db(st, j->msg, sizeof(j->msg))) != 0)
        return;
    if ((j->err = apply_schema(st, j->nschema, j->msg, sizeof(j->msg))) != 0)
        return;
    j->err = j->work(st->db, j->data, j->msg, sizeof(j->msg));
    if (j->err != 0 && j->msg[0] == '\0')
        snprintf(j->msg, sizeof(j->msg), "State database %.300s: %s", st->path,
                 sz_strerror(j->err));
}

/* ---- loop side ------------------------------------------------------------------- */

static void job_done(void *data, int status)
{
    struct job *j = data;

    if (status != 0) {
        j->err = status;
        snprintf(j->msg, sizeof(j->msg), "The state database is closing");
    }
    state_report(j->done, j->data, j->err, j->err != 0 ? j->msg : NULL);
    free(j);
}

int state_run(struct state *st, state_work_fn *work, state_done_fn *done, void *data)
{
    struct job *j;
    int rc;

    if (st == NULL || work == NULL || st->closing)
        return SZ_EINVAL;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return SZ_ENOMEM;
    j->st = st;
    j->work = work;
    j->done = done;
    j->data = data;
    j->nschema = st->nschema;
    rc = sz_pool_submit(st->pool, job_work, job_done, j, NULL);
    if (rc != 0)
        free(j);
    return rc;
}

/* One statement of state_run_sql: its text and argument, and whom to tell. */
struct sql_job {
    const char *what;
    const char *sql;
    char *arg;
    state_done_fn *done;
    void *data;
};

static int sql_job_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    struct sql_job *q = data;
    sqlite3_stmt *s = NULL;
    int rc = state_prepare(db, q->what, q->sql, &s, msg, msglen);

    if (rc != 0)
        return rc;
    if (q->arg != NULL)
        state_bind_text(s, 1, q->arg);
    return state_exec(db, s, q->what, msg, msglen);
}

static void sql_job_done(void *data, int err, const char *msg)
{
    struct sql_job *q = data;

    state_report(q->done, q->data, err, msg);
    free(q->arg);
    free(q);
}

int state_run_sql(struct state *st, const char *what, const char *sql, const char *arg,
                  state_done_fn *done, void *data)
{
    struct sql_job *q;
    int rc = SZ_ENOMEM;

    if (what == NULL || sql == NULL)
        return SZ_EINVAL;
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        goto out;
    q->what = what;
    q->sql = sql;
    q->done = done;
    q->data = data;
    q->arg = arg != NULL ? strdup(arg) : NULL;
    if (arg != NULL && q->arg == NULL)
        goto out;
    rc = state_run(st, sql_job_work, sql_job_done, q);
out:
    if (rc != 0 && q != NULL) {
        free(q->arg);
        free(q);
    }
    return rc;
}

static void pool_closed(void *arg)
{
    struct state *st = arg;
    state_closed_fn *cb = st->closed_cb;
    void *cb_arg = st->closed_arg;

    free(st->path);
    free(st);
    if (cb != NULL)
        cb(cb_arg);
}

/* The close job: runs after every queued job; a database nobody used was never
 * opened and is not opened now. */
static void close_job_work(void *data)
{
    struct job *j = data;
    struct state *st = j->st;

    if (st->db != NULL) {
        sqlite3_close_v2(st->db);
        st->db = NULL;
    }
}

static void close_job_done(void *data, int status)
{
    struct job *j = data;
    struct state *st = j->st;

    (void)status;
    free(j);
    sz_pool_close(st->pool, pool_closed, st);
}

void state_close(struct state *st, state_closed_fn *cb, void *arg)
{
    struct job *j;

    if (st == NULL || st->closing)
        return;
    st->closing = true;
    st->closed_cb = cb;
    st->closed_arg = arg;
    j = calloc(1, sizeof(*j));
    if (j != NULL) {
        j->st = st;
        if (sz_pool_submit(st->pool, close_job_work, close_job_done, j, NULL) == 0)
            return;
        free(j);
    }
    /* Out of memory: the connection (if any) is dropped unclosed; the WAL is
     * recovered by the next open. */
    sz_pool_close(st->pool, pool_closed, st);
}
