/* Unit tests of multipart bodies (src/net/multipart.c): fields and in-memory file
 * parts, file parts streamed from an fd in chunks read on the pool (the upload
 * pauses until each arrives), resent whole after a retry and after a 307, a file
 * shorter than announced, an fd that cannot be read, and a cancellation in the
 * middle of an upload (its last read still in flight). The scripted server of
 * tests/unit/helpers/ checks what arrived byte for byte. */
#include "fmacros.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "core/err.h"
#include "core/log.h"
#include "helpers/netfx.h"
#include "helpers/tsrv.h"
#include "net/client.h"

static void h_multipart(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    if (idx == 0)
        tsrv_reply(c, 503, "retry-after-ms: 1\r\n", "", 0);
    else
        tsrv_reply_json(c, 200, NULL, "{\"id\":\"video_mp\"}");
}

static void test_multipart(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR--boundary?\r\n--";
    char *img1 = malloc(sizeof(png) - 1), *img2 = malloc(3);
    struct tsrv_part parts[8];
    int n;

    memcpy(img1, png, sizeof(png) - 1);
    memcpy(img2, "abc", 3);
    fx->handler = h_multipart;
    fx_make_client(fx);
    req = fx_req(fx, "POST", "/videos");
    assert_int_equal(net_req_add_field(req, "prompt", "a fox, \"running\"\r\nfast"), 0);
    assert_int_equal(net_req_add_field(req, "model", "sora-2"), 0);
    assert_int_equal(
        net_req_add_file(req, "image[]", "ref.png", "image/png", img1, sizeof(png) - 1), 0);
    assert_int_equal(net_req_add_file(req, "image[]", "b.webp", "image/webp", img2, 3), 0);
    assert_int_equal(net_req_set_json_new(req, json_object()), SZ_EINVAL);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 2); /* the body was resent on the retry */
    for (int r = 0; r < 2; r++) {
        const char *ct = tsrv_header(&fx->srv, r, "Content-Type");
        assert_non_null(ct);
        assert_true(strncmp(ct, "multipart/form-data; boundary=", 30) == 0);
        n = tsrv_parse_multipart(ct, fx->srv.reqs[r].body, fx->srv.reqs[r].body_len, parts, 8);
        assert_int_equal(n, 4);
        assert_string_equal(parts[0].name, "prompt");
        assert_string_equal(parts[0].filename, "");
        assert_int_equal(parts[0].len, strlen("a fox, \"running\"\r\nfast"));
        assert_memory_equal(parts[0].data, "a fox, \"running\"\r\nfast", parts[0].len);
        assert_string_equal(parts[1].name, "model");
        assert_int_equal(parts[1].len, 6);
        assert_memory_equal(parts[1].data, "sora-2", 6);
        assert_string_equal(parts[2].name, "image[]");
        assert_string_equal(parts[2].filename, "ref.png");
        assert_string_equal(parts[2].ctype, "image/png");
        assert_int_equal(parts[2].len, sizeof(png) - 1);
        assert_memory_equal(parts[2].data, png, sizeof(png) - 1);
        assert_string_equal(parts[3].name, "image[]");
        assert_string_equal(parts[3].filename, "b.webp");
        assert_string_equal(parts[3].ctype, "image/webp");
        assert_int_equal(parts[3].len, 3);
        assert_memory_equal(parts[3].data, "abc", 3);
        assert_null(tsrv_header(&fx->srv, r, "Expect"));
    }
}

/* An unlinked temporary file holding the first `len` pattern bytes; its fd. */
static int pattern_file(size_t len)
{
    char path[] = "/tmp/sz-net-test-XXXXXX";
    int fd = mkstemp(path);
    const uint8_t *p = tsrv_pattern_bytes();
    size_t off = 0;

    assert_true(fd >= 0);
    unlink(path);
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    return fd;
}

#define FILE_LEN (3u * 1024u * 1024u + 4321u) /* many chunks, the last one short */

static void h_fd_upload(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    switch (idx) {
    case 0:
        tsrv_reply(c, 503, "retry-after-ms: 1\r\n", "", 0);
        break;
    case 1:
        tsrv_reply(c, 307, "Location: /v1/audio/again\r\n", "", 0);
        break;
    default:
        tsrv_reply_json(c, 200, NULL, "{\"text\":\"ok\"}");
        break;
    }
}

/* A file part streamed from an fd reaches the server byte for byte, on the first
 * attempt, on the retry after a 503, and after a 307 (each rewinds the file). */
static void test_fd_part_rewinds(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    struct tsrv_part parts[8];
    int fd = pattern_file(FILE_LEN), n;
    char *small = malloc(5);

    memcpy(small, "hello", 5);
    fx->handler = h_fd_upload;
    fx_make_client(fx);
    req = fx_req(fx, "POST", "/audio/transcriptions");
    assert_int_equal(net_req_add_field(req, "model", "whisper-1"), 0);
    assert_int_equal(net_req_add_file_fd(req, "file", "talk.mp3", "audio/mpeg", fd, FILE_LEN), 0);
    assert_int_equal(net_req_add_file(req, "extra", "note.txt", "text/plain", small, 5), 0);
    assert_int_equal(net_req_add_file_fd(req, "bad", "x", "y", -1, 1), SZ_EINVAL);
    assert_int_equal(net_req_add_file_fd(req, "bad", "x\r\n", "y", fd, 1), SZ_EINVAL);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].retries, 1);
    assert_int_equal(fx->srv.nreqs, 3);
    assert_string_equal(fx->srv.reqs[2].target, "/v1/audio/again");
    assert_string_equal(fx->srv.reqs[2].method, "POST");
    for (int r = 0; r < 3; r++) {
        const char *ct = tsrv_header(&fx->srv, r, "Content-Type");
        assert_non_null(ct);
        n = tsrv_parse_multipart(ct, fx->srv.reqs[r].body, fx->srv.reqs[r].body_len, parts, 8);
        assert_int_equal(n, 3);
        assert_string_equal(parts[0].name, "model");
        assert_memory_equal(parts[0].data, "whisper-1", 9);
        assert_string_equal(parts[1].name, "file");
        assert_string_equal(parts[1].filename, "talk.mp3");
        assert_string_equal(parts[1].ctype, "audio/mpeg");
        assert_int_equal(parts[1].len, FILE_LEN);
        assert_memory_equal(parts[1].data, tsrv_pattern_bytes(), FILE_LEN);
        assert_string_equal(parts[2].filename, "note.txt");
        assert_int_equal(parts[2].len, 5);
        assert_memory_equal(parts[2].data, "hello", 5);
    }
    close(fd);
}

/* Announcing more bytes than the file holds fails the request, naming the file; a
 * local read error is not retried. */
static void test_fd_part_short_file(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    int fd = pattern_file(200000);
    char want[160];

    fx_make_client(fx);
    req = fx_req(fx, "POST", "/audio/transcriptions");
    assert_int_equal(net_req_add_file_fd(req, "file", "cut.mp3", "audio/mpeg", fd, 300000), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_int_equal(fx->done[0].retries, 0);
    snprintf(want, sizeof(want),
             "Could not read cut.mp3: the file ended after 200000 of 300000 bytes");
    assert_string_equal(fx->done[0].message, want);
    assert_int_equal(fx->srv.nreqs, 0); /* the server never saw a whole request */
    close(fd);
}

static void test_fd_part_read_error(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);

    assert_true(fd >= 0);
    fx_make_client(fx);
    req = fx_req(fx, "POST", "/files");
    assert_int_equal(
        net_req_add_file_fd(req, "file", "dir.bin", "application/octet-stream", fd, 1000), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_int_equal(fx->done[0].retries, 0);
    assert_string_equal(fx->done[0].message,
                        "Could not read dir.bin: illegal operation on a directory");
    close(fd);
}

/* Cancelled while the body streams: the done callback comes once, and the request's
 * memory outlives a file read still running on the pool (ASan checks the rest). */
static struct fx *cancel_fx;

static void cancel_check(uv_check_t *h)
{
    struct fx *fx = cancel_fx;
    (void)h;
    if (fx->step == 0 && fx->srv.nconns > 0 && fx->srv.conns[0] != NULL &&
        fx->srv.conns[0]->inlen > 1024 * 1024) {
        net_req_cancel(fx->req);
        fx->step = 1;
    }
}

static void h_never(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)c;
    (void)idx;
}

static void test_fd_part_cancel_mid_upload(void **state)
{
    struct fx *fx = *state;
    static uv_check_t check; /* closed during teardown's loop run */
    int fd = pattern_file(TSRV_PATTERN_LEN);

    fx->handler = h_never;
    cancel_fx = fx;
    fx_make_client(fx);
    fx->req = fx_req(fx, "POST", "/audio/transcriptions");
    assert_int_equal(
        net_req_add_file_fd(fx->req, "file", "big.wav", "audio/wav", fd, TSRV_PATTERN_LEN), 0);
    uv_check_init(&fx->loop, &check);
    uv_check_start(&check, cancel_check);
    fx_start(fx, fx->req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    uv_close((uv_handle_t *)&check, NULL);
    assert_int_equal(fx->step, 1);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_int_equal(fx->srv.nreqs, 0);
    assert_int_equal(net_client_inflight(fx->client), 0);
    /* the fd stays open until the loop has let go of it (teardown runs the loop) */
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define LOOP_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
        LOOP_TEST(test_multipart),
        LOOP_TEST(test_fd_part_rewinds),
        LOOP_TEST(test_fd_part_short_file),
        LOOP_TEST(test_fd_part_read_error),
        LOOP_TEST(test_fd_part_cancel_mid_upload),
#undef LOOP_TEST
    };

    sz_log_set_level(SZ_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* the test server may write to a peer that went away */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
