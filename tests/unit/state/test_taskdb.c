/* Unit tests of the task table (src/state/taskdb.c) on a real loop and a real file:
 * a saved task reads back field by field (NULLs as NULLs), a save replaces the row of
 * its id, an unknown id is no row, remove forgets one task, purge forgets the expired
 * ones only (a task without a TTL never expires), bad rows are refused before any
 * job, and every row survives closing and reopening the database. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "core/err.h"
#include "state/state.h"
#include "state/taskdb.h"

struct fx {
    uv_loop_t loop;
    char dir[64];
    char path[128];
    struct state *st;
};

static void open_state(struct fx *fx)
{
    struct state_options o = {.path = fx->path};
    assert_int_equal(state_new(&fx->loop, &o, &fx->st), 0);
    assert_int_equal(taskdb_attach(fx->st), 0);
}

static void close_state(struct fx *fx)
{
    state_close(fx->st, NULL, NULL);
    fx->st = NULL;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/sz-taskdb-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/state.db", fx->dir);
    open_state(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    char cmd[128];

    close_state(fx);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* ---- helpers: run one operation to its end ------------------------------------------- */

struct outcome {
    int calls;
    int err;
    bool have;
    struct taskdb_row row; /* strings copied below */
    char id[64], owner[64], tool[64], status[32], message[128], result[256], error[256],
        checkpoint[256];
    bool null_message, null_result, null_error, null_checkpoint;
};

static void done(void *data, int err, const char *msg)
{
    struct outcome *o = data;
    (void)msg;
    o->calls++;
    o->err = err;
}

static void copy(char *dst, size_t len, const char *src, bool *pnull)
{
    *pnull = src == NULL;
    snprintf(dst, len, "%s", src != NULL ? src : "");
}

static void found(void *data, int err, const char *msg, const struct taskdb_row *row)
{
    struct outcome *o = data;
    bool ignore;
    (void)msg;

    o->calls++;
    o->err = err;
    o->have = row != NULL;
    if (row == NULL)
        return;
    o->row = *row;
    copy(o->id, sizeof(o->id), row->id, &ignore);
    copy(o->owner, sizeof(o->owner), row->owner, &ignore);
    copy(o->tool, sizeof(o->tool), row->tool, &ignore);
    copy(o->status, sizeof(o->status), row->status, &ignore);
    copy(o->message, sizeof(o->message), row->message, &o->null_message);
    copy(o->result, sizeof(o->result), row->result, &o->null_result);
    copy(o->error, sizeof(o->error), row->error, &o->null_error);
    copy(o->checkpoint, sizeof(o->checkpoint), row->checkpoint, &o->null_checkpoint);
}

static void save(struct fx *fx, const struct taskdb_row *row)
{
    struct outcome o = {0};
    assert_int_equal(taskdb_save(fx->st, row, done, &o), 0);
    assert_int_equal(o.calls, 0); /* never inside the call */
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.err, 0);
}

static struct outcome find(struct fx *fx, const char *id)
{
    struct outcome o = {0};
    assert_int_equal(taskdb_find(fx->st, id, found, &o), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.err, 0);
    return o;
}

static const struct taskdb_row working = {
    .id = "aaaa",
    .owner = "bearer:0123",
    .tool = "create_video",
    .modern = true,
    .status = "working",
    .created_ms = 1000,
    .updated_ms = 1000,
    .ttl_ms = 60000,
    .poll_ms = 5000,
    .checkpoint = "{\"video_id\":\"video_1\"}",
};

/* ---- tests ------------------------------------------------------------------------------ */

static void test_save_and_find(void **state)
{
    struct fx *fx = *state;
    struct outcome o;

    save(fx, &working);
    o = find(fx, "aaaa");
    assert_true(o.have);
    assert_string_equal(o.id, "aaaa");
    assert_string_equal(o.owner, "bearer:0123");
    assert_string_equal(o.tool, "create_video");
    assert_true(o.row.modern);
    assert_string_equal(o.status, "working");
    assert_true(o.null_message);
    assert_true(o.null_result);
    assert_true(o.null_error);
    assert_string_equal(o.checkpoint, "{\"video_id\":\"video_1\"}");
    assert_int_equal(o.row.created_ms, 1000);
    assert_int_equal(o.row.ttl_ms, 60000);
    assert_int_equal(o.row.poll_ms, 5000);

    /* the same id again replaces the row: the task ended */
    {
        struct taskdb_row done_row = working;
        done_row.status = "completed";
        done_row.message = "done";
        done_row.updated_ms = 2000;
        done_row.result = "{\"content\":[]}";
        done_row.checkpoint = NULL;
        save(fx, &done_row);
    }
    o = find(fx, "aaaa");
    assert_string_equal(o.status, "completed");
    assert_string_equal(o.message, "done");
    assert_string_equal(o.result, "{\"content\":[]}");
    assert_true(o.null_checkpoint);
    assert_int_equal(o.row.updated_ms, 2000);

    o = find(fx, "nope");
    assert_false(o.have);
}

static void test_remove_and_purge(void **state)
{
    struct fx *fx = *state;
    struct taskdb_row b = working, c = working, forever = working;
    struct outcome o = {0};

    b.id = "bbbb";
    b.created_ms = 500; /* expires at 60500 */
    c.id = "cccc";
    c.created_ms = 100000; /* expires at 160000 */
    forever.id = "dddd";
    forever.ttl_ms = 0;
    save(fx, &working);
    save(fx, &b);
    save(fx, &c);
    save(fx, &forever);

    assert_int_equal(taskdb_remove(fx->st, "aaaa", done, &o), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(o.err, 0);
    assert_false(find(fx, "aaaa").have);
    assert_int_equal(taskdb_remove(fx->st, "aaaa", NULL, NULL), 0); /* again: no error */

    o.calls = 0;
    assert_int_equal(taskdb_purge(fx->st, 60500, done, &o), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 1);
    assert_false(find(fx, "bbbb").have); /* expired exactly now */
    assert_true(find(fx, "cccc").have);
    assert_true(find(fx, "dddd").have);
    assert_int_equal(taskdb_purge(fx->st, INT64_MAX - 1, NULL, NULL), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_false(find(fx, "cccc").have);
    assert_true(find(fx, "dddd").have); /* no TTL, no expiry */
}

static void test_survives_reopen(void **state)
{
    struct fx *fx = *state;

    save(fx, &working);
    close_state(fx);
    open_state(fx);
    assert_true(find(fx, "aaaa").have);
    assert_string_equal(find(fx, "aaaa").checkpoint, "{\"video_id\":\"video_1\"}");
}

static void test_bad_rows(void **state)
{
    struct fx *fx = *state;
    struct taskdb_row r = working;

    r.owner = NULL;
    assert_int_equal(taskdb_save(fx->st, &r, NULL, NULL), SZ_EINVAL);
    r = working;
    r.status = NULL;
    assert_int_equal(taskdb_save(fx->st, &r, NULL, NULL), SZ_EINVAL);
    assert_int_equal(taskdb_save(fx->st, NULL, NULL, NULL), SZ_EINVAL);
    assert_int_equal(taskdb_find(fx->st, NULL, found, NULL), SZ_EINVAL);
    assert_int_equal(taskdb_remove(fx->st, NULL, NULL, NULL), SZ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
