/* Unit tests of the state database and the ledger (src/state/), on a real loop and
 * real files: the database is opened by the first job (its directory made private),
 * WAL mode, schema scripts applied once and in order, jobs run in order, one at a time
 * and off the loop thread, an open failure reported by every job as a sentence naming
 * the file, closing that lets queued jobs run; and the ledger's put, find, list (both
 * orders, pages, an unknown `after`, one provider's jobs only), forget, and what
 * survives closing and reopening. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "core/err.h"
#include "state/ledger.h"
#include "state/state.h"

struct fx {
    uv_loop_t loop;
    char dir[64];
    char path[128];
    struct state *st;
    int closed;
};

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    struct state_options o;

    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/sz-state-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/a/b/state.db", fx->dir);
    o.path = fx->path;
    assert_int_equal(state_new(&fx->loop, &o, &fx->st), 0);
    assert_int_equal(ledger_attach(fx->st), 0);
    *state = fx;
    return 0;
}

static void on_closed(void *arg)
{
    struct fx *fx = arg;
    fx->closed++;
}

static void close_state(struct fx *fx)
{
    if (fx->st == NULL)
        return;
    fx->closed = 0;
    state_close(fx->st, on_closed, fx);
    fx->st = NULL;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(fx->closed, 1);
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    close_state(fx);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    rm_rf(fx->dir);
    free(fx);
    return 0;
}

static void reopen(struct fx *fx)
{
    struct state_options o = {.path = fx->path};
    close_state(fx);
    assert_int_equal(state_new(&fx->loop, &o, &fx->st), 0);
    assert_int_equal(ledger_attach(fx->st), 0);
}

/* ---- the database ------------------------------------------------------------------ */

struct probe {
    int done_calls;
    int err;
    char msg[STATE_MSG_MAX];
    char journal[16];
    int order[8];
    int norder;
    uv_thread_t loop_thread;
    bool off_loop;
    long long value;
};

static void probe_done(void *data, int err, const char *msg)
{
    struct probe *p = data;
    p->done_calls++;
    p->err = err;
    snprintf(p->msg, sizeof(p->msg), "%s", msg != NULL ? msg : "");
}

static int journal_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    struct probe *p = data;
    sqlite3_stmt *s = NULL;
    uv_thread_t self = uv_thread_self();
    (void)msg;
    (void)msglen;

    p->off_loop = !uv_thread_equal(&self, &p->loop_thread);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(p->journal, sizeof(p->journal), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return 0;
}

static void test_opens_on_first_job_in_wal_mode(void **state)
{
    struct fx *fx = *state;
    struct probe p = {0};
    struct stat st;
    char dir[160];

    /* state_new did no I/O */
    snprintf(dir, sizeof(dir), "%s/a", fx->dir);
    assert_int_not_equal(stat(dir, &st), 0);
    p.loop_thread = uv_thread_self();
    assert_int_equal(state_run(fx->st, journal_work, probe_done, &p), 0);
    assert_int_equal(p.done_calls, 0); /* never inside the call */
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(p.done_calls, 1);
    assert_int_equal(p.err, 0);
    assert_true(p.off_loop);
    assert_string_equal(p.journal, "wal");
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_string_equal(state_path(fx->st), fx->path);
}

static const char schema_a[] = "CREATE TABLE IF NOT EXISTS t(n INTEGER);"
                               "INSERT INTO t VALUES (1);";
static const char schema_b[] = "INSERT INTO t VALUES (2);";

static int count_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    struct probe *p = data;
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(db, "SELECT sum(n) FROM t", -1, &s, NULL) != SQLITE_OK)
        return state_sql_error(db, "count", msg, msglen);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    p->value = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return 0;
}

static int order_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    struct probe *p = data;
    (void)db;
    (void)msg;
    (void)msglen;
    p->order[p->norder] = p->norder;
    p->norder++;
    return 0;
}

static void test_schema_once_and_jobs_in_order(void **state)
{
    struct fx *fx = *state;
    struct probe p = {0}, q = {0}, r = {0};

    assert_int_equal(state_add_schema(fx->st, schema_a), 0);
    assert_int_equal(state_add_schema(fx->st, schema_a), 0); /* the same script once */
    assert_int_equal(state_run(fx->st, count_work, probe_done, &p), 0);
    assert_int_equal(state_add_schema(fx->st, schema_b), 0); /* applies to later jobs */
    assert_int_equal(state_run(fx->st, count_work, probe_done, &q), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(state_run(fx->st, order_work, NULL, &r), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(p.err, 0);
    assert_int_equal(p.value, 1);
    assert_int_equal(q.value, 3);
    assert_int_equal(r.norder, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(r.order[i], i);

    /* Reopened: every script runs again on the new connection, idempotent or not. */
    reopen(fx);
    assert_int_equal(state_add_schema(fx->st, schema_a), 0);
    memset(&p, 0, sizeof(p));
    assert_int_equal(state_run(fx->st, count_work, probe_done, &p), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(p.value, 4);
}

static int fail_work(sqlite3 *db, void *data, char *msg, size_t msglen)
{
    (void)db;
    (void)data;
    snprintf(msg, msglen, "it went wrong");
    return SZ_EINVAL;
}

static void test_failures_and_close(void **state)
{
    struct fx *fx = *state;
    struct probe p = {0}, q = {0};
    struct state_options o;
    struct state *bad = NULL;
    char blocker[160], path[200];
    FILE *f;

    assert_int_equal(state_run(fx->st, fail_work, probe_done, &p), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(p.err, SZ_EINVAL);
    assert_string_equal(p.msg, "it went wrong");

    /* A database that cannot be opened: every job says why, naming the file. */
    snprintf(blocker, sizeof(blocker), "%s/file", fx->dir);
    f = fopen(blocker, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/state.db", blocker);
    o.path = path;
    assert_int_equal(state_new(&fx->loop, &o, &bad), 0);
    memset(&p, 0, sizeof(p));
    assert_int_equal(state_run(bad, journal_work, probe_done, &p), 0);
    assert_int_equal(state_run(bad, journal_work, probe_done, &q), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(p.err, SZ_EIO);
    assert_int_equal(q.err, SZ_EIO);
    assert_true(strstr(p.msg, "Cannot open the state database ") == p.msg);
    assert_non_null(strstr(p.msg, "/file/state.db: "));

    /* Closing lets the queued jobs run; later ones are refused. */
    memset(&p, 0, sizeof(p));
    assert_int_equal(state_run(bad, fail_work, probe_done, &p), 0);
    state_close(bad, NULL, NULL);
    assert_int_equal(state_run(bad, fail_work, probe_done, &q), SZ_EINVAL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(p.done_calls, 1);
    assert_int_equal(state_new(&fx->loop, &(struct state_options){NULL}, &bad), SZ_EINVAL);
}

/* ---- the ledger -------------------------------------------------------------------- */

struct lres {
    int calls;
    int err;
    char msg[STATE_MSG_MAX];
    char provider[32];
    json_t *video;
    json_t *videos;
    bool has_more;
};

static void on_found(void *data, int err, const char *msg, const char *provider, json_t *video)
{
    struct lres *r = data;
    r->calls++;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", msg != NULL ? msg : "");
    snprintf(r->provider, sizeof(r->provider), "%s", provider != NULL ? provider : "");
    json_decref(r->video);
    r->video = video;
}

static void on_list(void *data, int err, const char *msg, json_t *videos, bool has_more)
{
    struct lres *r = data;
    r->calls++;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", msg != NULL ? msg : "");
    json_decref(r->videos);
    r->videos = videos;
    r->has_more = has_more;
}

static void put(struct fx *fx, const char *provider, const char *id, long long created,
                const char *status)
{
    json_t *v = json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", id, "object", "video", "created_at",
                          (json_int_t)created, "status", status, "prompt", "p");
    assert_int_equal(ledger_put(fx->st, provider, v, NULL, NULL), 0);
    json_decref(v);
}

static void find(struct fx *fx, const char *id, struct lres *r)
{
    assert_int_equal(ledger_find(fx->st, id, on_found, r), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
}

/* The ids of a page, "a,b,c". */
static void list(struct fx *fx, const char *provider, size_t limit, const char *after, bool asc,
                 struct lres *r, char *ids, size_t idslen)
{
    struct ledger_page page = {provider, limit, after, asc};
    size_t i, o = 0;
    json_t *v;

    assert_int_equal(ledger_list(fx->st, &page, on_list, r), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    ids[0] = '\0';
    json_array_foreach(r->videos, i, v)
    {
        o += (size_t)snprintf(ids + o, idslen - o, "%s%s", i ? "," : "",
                              json_string_value(json_object_get(v, "id")));
    }
}

static void test_ledger(void **state)
{
    struct fx *fx = *state;
    struct lres r = {0};
    char ids[256];
    json_t *v;

    put(fx, "gemini", "v1_a", 100, "queued");
    put(fx, "gemini", "v1_b", 200, "queued");
    put(fx, "azure", "video_x", 150, "queued");
    put(fx, "gemini", "v1_c", 200, "queued"); /* same time: insertion order breaks the tie */
    put(fx, "gemini", "v1_d", 300, "queued");

    find(fx, "video_x", &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.provider, "azure");
    assert_string_equal(json_string_value(json_object_get(r.video, "id")), "video_x");
    find(fx, "v1_none", &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.provider, "");
    assert_null(r.video);

    list(fx, "gemini", 2, NULL, false, &r, ids, sizeof(ids));
    assert_string_equal(ids, "v1_d,v1_c");
    assert_true(r.has_more);
    list(fx, "gemini", 2, "v1_c", false, &r, ids, sizeof(ids));
    assert_string_equal(ids, "v1_b,v1_a");
    assert_false(r.has_more);
    list(fx, "gemini", 10, NULL, true, &r, ids, sizeof(ids));
    assert_string_equal(ids, "v1_a,v1_b,v1_c,v1_d");
    list(fx, "gemini", 10, "v1_b", true, &r, ids, sizeof(ids));
    assert_string_equal(ids, "v1_c,v1_d");
    list(fx, "azure", 10, NULL, false, &r, ids, sizeof(ids));
    assert_string_equal(ids, "video_x");
    list(fx, "gemini", 10, "video_x", false, &r, ids, sizeof(ids));
    assert_int_equal(r.err, SZ_ENOTFOUND);
    assert_string_equal(r.msg, "No video 'video_x' among the gemini jobs this server created: "
                               "pass the last id of the previous page as after");
    assert_null(r.videos);

    /* An update keeps the job's place and replaces what is known of it. */
    v = json_pack("{s:s, s:I, s:s}", "id", "v1_b", "created_at", (json_int_t)999, "status",
                  "completed");
    assert_int_equal(ledger_put(fx->st, "gemini", v, NULL, NULL), 0);
    json_decref(v);
    list(fx, "gemini", 10, NULL, true, &r, ids, sizeof(ids));
    assert_string_equal(ids, "v1_a,v1_b,v1_c,v1_d");
    find(fx, "v1_b", &r);
    assert_string_equal(json_string_value(json_object_get(r.video, "status")), "completed");

    /* What survives closing and reopening; forget removes. */
    reopen(fx);
    assert_int_equal(ledger_forget(fx->st, "v1_a", NULL, NULL), 0);
    assert_int_equal(ledger_forget(fx->st, "v1_never", NULL, NULL), 0);
    list(fx, "gemini", 10, NULL, true, &r, ids, sizeof(ids));
    assert_string_equal(ids, "v1_b,v1_c,v1_d");
    find(fx, "video_x", &r);
    assert_string_equal(r.provider, "azure");

    /* Refusals at the call. */
    v = json_pack("{s:i}", "id", 5);
    assert_int_equal(ledger_put(fx->st, "gemini", v, NULL, NULL), SZ_EINVAL);
    json_decref(v);
    assert_int_equal(
        ledger_list(fx->st, &(struct ledger_page){"gemini", 0, NULL, false}, on_list, &r),
        SZ_EINVAL);
    json_decref(r.video);
    json_decref(r.videos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opens_on_first_job_in_wal_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_once_and_jobs_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
