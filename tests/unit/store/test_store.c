/* Unit tests for the media store (src/store/): the name battery against the pure
 * check and against real files (symlinks inside and outside, a directory, a
 * FIFO, a device), opening roots (and their messages), reads with a cap,
 * listings, and the atomic writer (commit, no-clobber, overwrite, unique names,
 * abort with writes in flight, disk full on a small tmpfs). Every test gets a
 * fresh mkdtemp root and a real uv loop; asynchronous calls are driven by
 * running the loop until it has nothing left to do. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/sha256.h"
#include "store/store.h"

struct fx {
    uv_loop_t loop;
    char root[PATH_MAX];
    char mnt[PATH_MAX]; /* a tmpfs mounted by the test, to unmount */
    int flags;          /* the store_open flags of s */
    struct store *s;
};

/* ---- Fixture and helpers --------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* store_open on path with flags and no label. */
static int open_path(uv_loop_t *loop, const char *path, int flags, struct store **ps, char *err,
                     size_t errlen)
{
    struct store_options o = {.path = path, .flags = flags};
    return store_open(loop, &o, ps, err, errlen);
}

static int setup_flags(void **state, int flags)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char err[STORE_MSG_MAX];

    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    snprintf(fx->root, sizeof(fx->root), "/tmp/sz-store-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    assert_int_equal(open_path(&fx->loop, fx->root, flags, &fx->s, err, sizeof(err)), 0);
    fx->flags = flags;
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_flags(state, STORE_OPEN_NOFOLLOW);
}

/* The same tests through the hidden-temporary path used where O_TMPFILE is not
 * supported. */
static int setup_named(void **state)
{
    return setup_flags(state, STORE_OPEN_NOFOLLOW | STORE_OPEN_NO_TMPFILE);
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    store_close(fx->s);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    if (fx->mnt[0] != '\0')
        umount2(fx->mnt, MNT_DETACH);
    rm_rf(fx->root);
    free(fx);
    return 0;
}

static void path_of(const struct fx *fx, const char *name, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s", fx->root, name);
    assert_true(n > 0 && (size_t)n < outlen);
}

static void put_file(const struct fx *fx, const char *name, const char *content, size_t len)
{
    char p[PATH_MAX];
    int fd;

    path_of(fx, name, p, sizeof(p));
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

static void set_mtime(const struct fx *fx, const char *name, time_t sec, long nsec)
{
    char p[PATH_MAX];
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};

    path_of(fx, name, p, sizeof(p));
    assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* The whole content of a file in the root, or NULL when it does not exist. */
static char *slurp(const struct fx *fx, const char *name, size_t *plen)
{
    char p[PATH_MAX];
    FILE *f;
    char *buf;
    long n;

    path_of(fx, name, p, sizeof(p));
    f = fopen(p, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *plen = (size_t)n;
    return buf;
}

/* Every entry of the root, hidden ones included, except "." and "..",
 * sorted and joined with ','. */
static void dir_entries(const struct fx *fx, char *out, size_t outlen)
{
    struct dirent **list;
    int n = scandir(fx->root, &list, NULL, alphasort);
    size_t o = 0;

    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0)
            o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "," : "", list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

struct result {
    bool done;
    int err;
    char msg[STORE_MSG_MAX];
    char *buf;
    size_t len;
    bool have_st;
    struct store_stat st;
    int fd;
    json_t *list;
    size_t total;
    char name[STORE_NAME_MAX + 1];
    uint64_t size;
    struct store_writer *w;
};

static void record(struct result *r, int err, const char *msg)
{
    assert_false(r->done); /* exactly once */
    r->done = true;
    r->err = err;
    if (err != 0) {
        assert_non_null(msg);
        snprintf(r->msg, sizeof(r->msg), "%s", msg);
    } else {
        assert_null(msg);
    }
}

static void on_read(void *data, int err, const char *msg, char *buf, size_t len,
                    const struct store_stat *st)
{
    struct result *r = data;
    record(r, err, msg);
    r->buf = buf;
    r->len = len;
    if (st != NULL) {
        r->have_st = true;
        r->st = *st;
    }
    if (err != 0) {
        assert_null(buf);
        assert_null(st);
    }
}

static void on_fd(void *data, int err, const char *msg, int fd, const struct store_stat *st)
{
    struct result *r = data;
    record(r, err, msg);
    r->fd = fd;
    if (st != NULL) {
        r->have_st = true;
        r->st = *st;
    }
    if (err != 0)
        assert_int_equal(fd, -1);
}

static void on_stat(void *data, int err, const char *msg, const struct store_stat *st)
{
    struct result *r = data;
    record(r, err, msg);
    if (st != NULL) {
        r->have_st = true;
        r->st = *st;
    }
}

static void on_list(void *data, int err, const char *msg, json_t *list, size_t total)
{
    struct result *r = data;
    record(r, err, msg);
    r->list = list;
    r->total = total;
}

static void on_open(void *data, int err, const char *msg, struct store_writer *w)
{
    struct result *r = data;
    record(r, err, msg);
    r->w = w;
    if (err != 0)
        assert_null(w);
    else
        assert_non_null(w);
}

static void on_commit(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct result *r = data;
    record(r, err, msg);
    if (err == 0) {
        assert_non_null(name);
        snprintf(r->name, sizeof(r->name), "%s", name);
        r->size = size;
    } else {
        assert_null(name);
    }
}

static void on_status(void *data, int err, const char *msg)
{
    struct result *r = data;
    record(r, err, msg);
}

static void run(struct fx *fx)
{
    uv_run(&fx->loop, UV_RUN_DEFAULT);
}

static struct result read_name(struct fx *fx, const char *name, size_t len, const char *what,
                               size_t max)
{
    struct result r;

    memset(&r, 0, sizeof(r));
    assert_int_equal(store_read_file(fx->s, name, len, what, max, on_read, &r), 0);
    assert_false(r.done); /* never from inside the call */
    run(fx);
    assert_true(r.done);
    return r;
}

static struct result read_file(struct fx *fx, const char *name, size_t max)
{
    return read_name(fx, name, strlen(name), "Reference image", max);
}

static struct store_writer *open_writer(struct fx *fx, const char *name, int flags,
                                        struct result *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(store_writer_open(fx->s, name, strlen(name), flags, on_open, r), 0);
    assert_false(r->done);
    run(fx);
    assert_true(r->done);
    return r->w;
}

static struct result write_file(struct fx *fx, const char *name, int flags, const char *content)
{
    struct result r;

    memset(&r, 0, sizeof(r));
    assert_int_equal(
        store_write_file(fx->s, name, strlen(name), flags, content, strlen(content), on_commit, &r),
        0);
    run(fx);
    assert_true(r.done);
    return r;
}

/* ---- Names (pure) ------------------------------------------------------------------ */

static int check(const char *name, size_t len, char *msg)
{
    return store_check_name(name, len, msg, STORE_MSG_MAX);
}

static void test_check_name_battery(void **state)
{
    char msg[STORE_MSG_MAX];
    char longname[300];
    (void)state;

    assert_int_equal(check("../x", 4, msg), SZ_ETRAVERSAL);
    assert_string_equal(msg, "Invalid filename: path traversal detected in '../x'");
    assert_int_equal(check("/etc/passwd", 11, msg), SZ_ETRAVERSAL);
    assert_string_equal(msg, "Invalid filename: path traversal detected in '/etc/passwd'");
    assert_int_equal(check("a/b", 3, msg), SZ_ETRAVERSAL);
    assert_int_equal(check("..", 2, msg), SZ_ETRAVERSAL);
    assert_int_equal(check(".", 1, msg), SZ_ETRAVERSAL);
    assert_int_equal(check("x..y.png", 8, msg), SZ_ETRAVERSAL); /* ".." anywhere */
    assert_int_equal(check("", 0, msg), SZ_EINVAL);
    assert_string_equal(msg, "Invalid filename: the name is empty");
    /* A JSON string can carry \u0000: the length decides, not strlen. */
    assert_int_equal(check("a\0b.png", 7, msg), SZ_ETRAVERSAL);
    assert_string_equal(msg, "Invalid filename: path traversal detected in 'a\\x00b.png'");
    assert_int_equal(check("ok.png\0", 7, msg), SZ_ETRAVERSAL);

    memset(longname, 'a', sizeof(longname));
    assert_int_equal(check(longname, 255, msg), 0);
    assert_int_equal(check(longname, 256, msg), SZ_EINVAL);
    assert_non_null(strstr(msg, "is longer than 255 bytes"));
    assert_non_null(strstr(msg, "...")); /* the name is shortened in the message */

    assert_int_equal(check(".hidden.png", 11, msg), SZ_EINVAL);
    assert_non_null(strstr(msg, "hidden"));
    assert_int_equal(check(".sanzaru-tmp-abc", 16, msg), SZ_EINVAL);

    assert_int_equal(check("ok.png", 6, msg), 0);
    assert_int_equal(check("caf\xc3\xa9 1.png", 11, msg), 0);
    /* Control characters and backslashes (issue 10): a clear refusal, the name
     * shown with the controls escaped so the message itself stays one line. */
    assert_int_equal(check("a\nb.png", 7, msg), SZ_EINVAL);
    assert_string_equal(msg, "Invalid filename: control characters are not allowed: 'a\\x0ab.png'");
    assert_int_equal(check("a\rb.png", 7, msg), SZ_EINVAL);
    assert_string_equal(msg, "Invalid filename: control characters are not allowed: 'a\\x0db.png'");
    assert_int_equal(check("tab\there", 8, msg), SZ_EINVAL);
    assert_int_equal(check("esc\x1b[31m.png", 12, msg), SZ_EINVAL);
    assert_int_equal(check("x\x01.png", 6, msg), SZ_EINVAL);
    assert_int_equal(check("del\x7f.png", 8, msg), SZ_EINVAL);
    assert_string_equal(msg,
                        "Invalid filename: control characters are not allowed: 'del\\x7f.png'");
    assert_int_equal(check("back\\slash.png", 14, msg), SZ_EINVAL);
    assert_string_equal(msg, "Invalid filename: backslashes are not allowed: 'back\\slash.png'");
    assert_int_equal(check("..\\x.png", 8, msg), SZ_ETRAVERSAL); /* traversal is named first */
    assert_int_equal(check("space ok~!@#$%^&()=+,;'[]{}.png", 31, msg), 0);
    assert_int_equal(store_check_name("../x", 4, NULL, 0), SZ_ETRAVERSAL); /* NULL err ok */
}

static void test_check_ext_and_mime(void **state)
{
    char msg[STORE_MSG_MAX];
    char ext[16];
    (void)state;

    assert_int_equal(
        store_check_ext("x.png", 5, store_image_exts, "JPEG, PNG, or WEBP", msg, sizeof(msg)), 0);
    assert_int_equal(
        store_check_ext("x.JPeG", 6, store_image_exts, "JPEG, PNG, or WEBP", msg, sizeof(msg)), 0);
    assert_int_equal(
        store_check_ext("x.gif", 5, store_image_exts, "JPEG, PNG, or WEBP", msg, sizeof(msg)),
        SZ_EUNSUPPORTED);
    assert_string_equal(msg, "Unsupported file type: .gif. Use: JPEG, PNG, or WEBP");
    assert_int_equal(
        store_check_ext("x.GIF", 5, store_image_exts, "JPEG, PNG, or WEBP", msg, sizeof(msg)),
        SZ_EUNSUPPORTED);
    assert_string_equal(msg, "Unsupported file type: .gif. Use: JPEG, PNG, or WEBP");
    assert_int_equal(
        store_check_ext("noext", 5, store_image_exts, "JPEG, PNG, or WEBP", msg, sizeof(msg)),
        SZ_EUNSUPPORTED);
    assert_string_equal(msg, "Unsupported file type: 'noext' has no extension. Use: JPEG, PNG, "
                             "or WEBP");
    assert_int_equal(store_check_ext("png", 3, store_image_exts, "PNG", msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);

    assert_string_equal(store_name_ext("a.b.MP4", 7, ext, sizeof(ext)), "mp4");
    assert_string_equal(store_name_ext("a", 1, ext, sizeof(ext)), "");
    assert_string_equal(store_name_ext("a.", 2, ext, sizeof(ext)), "");

    assert_string_equal(store_mime_type("a.mp4", 5), "video/mp4");
    assert_string_equal(store_mime_type("a.MOV", 5), "video/quicktime");
    assert_string_equal(store_mime_type("a.webm", 6), "video/webm");
    assert_string_equal(store_mime_type("a.jpg", 5), "image/jpeg");
    assert_string_equal(store_mime_type("a.jpeg", 6), "image/jpeg");
    assert_string_equal(store_mime_type("a.png", 5), "image/png");
    assert_string_equal(store_mime_type("a.webp", 6), "image/webp");
    assert_string_equal(store_mime_type("a.bin", 5), "application/octet-stream");

    assert_ptr_equal(store_video_filter("all"), store_video_exts);
    assert_string_equal(store_video_filter("mov")[0], "mov");
    assert_null(store_video_filter("gif"));
    assert_string_equal(store_image_filter("jpeg")[0], "jpg");
    assert_string_equal(store_image_filter("jpeg")[1], "jpeg");
    assert_null(store_image_filter("jpeg")[2]);
    assert_null(store_image_filter("mp4"));
}

/* What arrives: signatures, Content-Types and the sentence naming what came. */
static void test_check_content(void **state)
{
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
    static const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F'};
    static const char webp[] = "RIFF\x24\0\0\0WEBPVP8 ";
    static const char mp4[] = "\0\0\0\x20"
                              "ftypisom\0\0\x02\0";
    static const char html[] = "<!DOCTYPE html><html><body>502</body></html>";
    char msg[STORE_MSG_MAX];
    (void)state;

    assert_int_equal(store_sniff(png, sizeof(png)), STORE_FMT_PNG);
    assert_int_equal(store_sniff(jpeg, sizeof(jpeg)), STORE_FMT_JPEG);
    assert_int_equal(store_sniff(webp, 16), STORE_FMT_WEBP);
    assert_int_equal(store_sniff(mp4, 16), STORE_FMT_MP4);
    assert_int_equal(store_sniff(html, 16), STORE_FMT_NONE);
    assert_int_equal(store_sniff(png, 7), STORE_FMT_NONE); /* too short for the signature */
    assert_int_equal(store_sniff("RIFF\0\0\0\0WAVE", 12), STORE_FMT_NONE);

    /* The right bytes with their own, a generic or no Content-Type. */
    assert_int_equal(store_check_content(STORE_FMT_MP4, "video/mp4", mp4, 16, msg, sizeof(msg)), 0);
    assert_int_equal(
        store_check_content(STORE_FMT_MP4, "Video/MP4; codecs=avc1", mp4, 16, msg, sizeof(msg)), 0);
    assert_int_equal(
        store_check_content(STORE_FMT_WEBP, "application/octet-stream", webp, 16, msg, sizeof(msg)),
        0);
    assert_int_equal(
        store_check_content(STORE_FMT_JPEG, NULL, jpeg, sizeof(jpeg), msg, sizeof(msg)), 0);
    assert_int_equal(store_check_content(STORE_FMT_IMAGE, "", png, sizeof(png), msg, sizeof(msg)),
                     0);

    /* An HTML error page: the Content-Type is named when it is what is wrong. */
    assert_int_equal(
        store_check_content(STORE_FMT_MP4, "text/html; charset=utf-8", html, 16, msg, sizeof(msg)),
        SZ_EUNSUPPORTED);
    assert_string_equal(msg,
                        "expected an MP4 video, got text/html starting with '<!DOCTYPE html><'");
    assert_int_equal(store_check_content(STORE_FMT_MP4, "video/mp4", html, 16, msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);
    assert_string_equal(msg, "expected an MP4 video, got data starting with '<!DOCTYPE html><'");
    /* The right bytes under a wrong type are refused too. */
    assert_int_equal(store_check_content(STORE_FMT_MP4, "text/plain", mp4, 16, msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);
    assert_string_equal(msg, "expected an MP4 video, got text/plain starting with '\\x00\\x00\\x00 "
                             "ftypisom\\x00\\x00\\x02\\x00'");
    /* Another image format. */
    assert_int_equal(store_check_content(STORE_FMT_PNG, NULL, jpeg, sizeof(jpeg), msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);
    assert_string_equal(msg, "expected a PNG image, got data starting with "
                             "'\\xff\\xd8\\xff\\xe0\\x00\\x10JFIF'");
    assert_int_equal(store_check_content(STORE_FMT_IMAGE, NULL, mp4, 16, msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);
    assert_non_null(strstr(msg, "expected a PNG, JPEG or WebP image, got data starting with"));
    /* Nothing at all; quotes and backslashes in what came are escaped. */
    assert_int_equal(store_check_content(STORE_FMT_WEBP, NULL, "", 0, msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);
    assert_string_equal(msg, "expected a WebP image, got an empty body");
    assert_int_equal(store_check_content(STORE_FMT_WEBP, "text/html", "", 0, msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);
    assert_string_equal(msg, "expected a WebP image, got text/html with an empty body");
    assert_int_equal(store_check_content(STORE_FMT_WEBP, NULL, "it's a\\b", 8, msg, sizeof(msg)),
                     SZ_EUNSUPPORTED);
    assert_string_equal(msg, "expected a WebP image, got data starting with 'it\\x27s a\\x5cb'");
    assert_int_equal(store_check_content(STORE_FMT_NONE, NULL, png, 8, msg, sizeof(msg)),
                     SZ_EINVAL);
}

/* A name's extension against the format its bytes will be. */
static void test_name_format(void **state)
{
    char msg[STORE_MSG_MAX];
    (void)state;

    assert_int_equal(store_format_of_name("a.mp4", 5), STORE_FMT_MP4);
    assert_int_equal(store_format_of_name("a.JPEG", 6), STORE_FMT_JPEG);
    assert_int_equal(store_format_of_name("a.jpg", 5), STORE_FMT_JPEG);
    assert_int_equal(store_format_of_name("a.webp", 6), STORE_FMT_WEBP);
    assert_int_equal(store_format_of_name("a.png", 5), STORE_FMT_PNG);
    assert_int_equal(store_format_of_name("a.mov", 5), STORE_FMT_NONE);
    assert_int_equal(store_format_of_name("mp4", 3), STORE_FMT_NONE);
    assert_string_equal(store_format_ext(STORE_FMT_JPEG), "jpg");
    assert_string_equal(store_format_mime(STORE_FMT_WEBP), "image/webp");
    assert_string_equal(store_format_mime(STORE_FMT_NONE), "application/octet-stream");

    assert_int_equal(store_check_name_format("clip.mp4", 8, STORE_FMT_MP4, "the video variant", msg,
                                             sizeof(msg)),
                     0);
    assert_int_equal(
        store_check_name_format("fz.webp", 7, STORE_FMT_MP4, "the video variant", msg, sizeof(msg)),
        SZ_EINVAL);
    assert_string_equal(msg, "Filename 'fz.webp' does not match the video variant (an MP4 video): "
                             "use a name ending in .mp4");
    assert_int_equal(store_check_name_format("s.png", 5, STORE_FMT_JPEG, "the spritesheet variant",
                                             msg, sizeof(msg)),
                     SZ_EINVAL);
    assert_string_equal(msg, "Filename 's.png' does not match the spritesheet variant (a JPEG "
                             "image): use a name ending in .jpg or .jpeg");
    assert_int_equal(store_check_name_format("x", 1, STORE_FMT_NONE, "", msg, sizeof(msg)), 0);
}

static bool gm(const char *p, const char *n)
{
    return store_glob_match(p, strlen(p), n, strlen(n), false);
}

static void test_glob(void **state)
{
    char name[256];
    char msg[STORE_MSG_MAX];
    char longpat[300];
    (void)state;

    assert_true(gm("*", "anything.mp4"));
    assert_true(gm("*", ""));
    assert_true(gm("*.mp4", "a.mp4"));
    assert_false(gm("*.mp4", "a.mp4x"));
    assert_false(gm("*.mp4", "a.MP4"));
    assert_true(store_glob_match("*.mp4", 5, "a.MP4", 5, true));
    assert_true(gm("a?c", "abc"));
    assert_false(gm("a?c", "ac"));
    assert_true(gm("?", "\xc3\xa9")); /* one character, two bytes */
    assert_false(gm("??", "\xc3\xa9"));
    assert_true(gm("[a-c]x", "bx"));
    assert_false(gm("[a-c]x", "dx"));
    assert_true(gm("[!a-c]x", "dx"));
    assert_true(gm("[^a]x", "bx"));
    assert_true(gm("[]]x", "]x"));
    assert_true(gm("\\*", "*"));
    assert_false(gm("\\*", "a"));
    assert_true(gm("[", "[")); /* unterminated: literal */
    assert_true(gm("sora_*_v[0-9].mp4", "sora_cat_v3.mp4"));
    assert_true(gm("*a*b*c", "xxaxxbxxc"));
    assert_false(gm("*a*b*c", "xxaxxcxxb"));
    assert_false(gm("a/*", "a"));
    assert_true(store_glob_match("[A-C]*", 6, "beta.png", 8, true));
    /* A pattern that makes a backtracking matcher explode finishes at once. */
    memset(name, 'a', 255);
    name[255] = '\0';
    assert_false(gm("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));

    assert_int_equal(store_check_pattern("*.png", 5, msg, sizeof(msg)), 0);
    memset(longpat, '*', sizeof(longpat));
    assert_int_equal(store_check_pattern(longpat, sizeof(longpat), msg, sizeof(msg)), SZ_EINVAL);
    assert_int_equal(store_check_pattern("a\0b", 3, msg, sizeof(msg)), SZ_EINVAL);
}

/* ---- Reads through the battery ------------------------------------------------------ */

static void test_read_battery(void **state)
{
    struct fx *fx = *state;
    char p[PATH_MAX];
    char target[PATH_MAX];
    char longname[256];
    struct result r;

    put_file(fx, "real.png", "PNGDATA", 7);
    path_of(fx, "real.png", target, sizeof(target));

    r = read_file(fx, "../x", 1 << 20);
    assert_int_equal(r.err, SZ_ETRAVERSAL);
    assert_string_equal(r.msg, "Invalid filename: path traversal detected in '../x'");
    r = read_file(fx, "/etc/passwd", 1 << 20);
    assert_int_equal(r.err, SZ_ETRAVERSAL);
    r = read_file(fx, "a/b", 1 << 20);
    assert_int_equal(r.err, SZ_ETRAVERSAL);
    r = read_file(fx, "..", 1 << 20);
    assert_int_equal(r.err, SZ_ETRAVERSAL);
    r = read_file(fx, "", 1 << 20);
    assert_int_equal(r.err, SZ_EINVAL);
    r = read_name(fx, "real.png\0../../etc/passwd", 25, "Reference image", 1 << 20);
    assert_int_equal(r.err, SZ_ETRAVERSAL);
    memset(longname, 'b', sizeof(longname));
    r = read_name(fx, longname, 256, NULL, 1 << 20);
    assert_int_equal(r.err, SZ_EINVAL);
    assert_non_null(strstr(r.msg, "longer than 255 bytes"));

    r = read_file(fx, "nope.png", 1 << 20);
    assert_int_equal(r.err, SZ_ENOTFOUND);
    assert_string_equal(r.msg, "File not found: nope.png");

    /* A symlink pointing inside the root is refused as firmly as one out. */
    path_of(fx, "inside.png", p, sizeof(p));
    assert_int_equal(symlink("real.png", p), 0);
    r = read_file(fx, "inside.png", 1 << 20);
    assert_int_equal(r.err, SZ_ESYMLINK);
    assert_string_equal(r.msg, "Reference image cannot be a symbolic link: inside.png");

    path_of(fx, "outside.png", p, sizeof(p));
    assert_int_equal(symlink("/etc/passwd", p), 0);
    r = read_file(fx, "outside.png", 1 << 20);
    assert_int_equal(r.err, SZ_ESYMLINK);
    assert_string_equal(r.msg, "Reference image cannot be a symbolic link: outside.png");

    path_of(fx, "dangling.png", p, sizeof(p));
    assert_int_equal(symlink("/nonexistent/x", p), 0);
    r = read_file(fx, "dangling.png", 1 << 20);
    assert_int_equal(r.err, SZ_ESYMLINK);

    path_of(fx, "sub.png", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    r = read_file(fx, "sub.png", 1 << 20);
    assert_int_equal(r.err, SZ_ENOTREG);
    assert_string_equal(r.msg, "Reference image is not a regular file: sub.png");

    /* A FIFO with no writer would block a plain open forever. */
    path_of(fx, "fifo.png", p, sizeof(p));
    assert_int_equal(mkfifo(p, 0644), 0);
    r = read_file(fx, "fifo.png", 1 << 20);
    assert_int_equal(r.err, SZ_ENOTREG);
    assert_string_equal(r.msg, "Reference image is not a regular file: fifo.png");

    r = read_file(fx, "real.png", 1 << 20);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, 7);
    assert_memory_equal(r.buf, "PNGDATA", 7);
    free(r.buf);
}

static void test_read_device(void **state)
{
    struct fx *fx = *state;
    char p[PATH_MAX];
    struct result r;

    path_of(fx, "null.mp4", p, sizeof(p));
    if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        print_message("skipped: cannot create a device node here (%s)\n", strerror(errno));
        skip();
    }
    r = read_name(fx, "null.mp4", 8, "Video file", 1 << 20);
    assert_int_equal(r.err, SZ_ENOTREG);
    assert_string_equal(r.msg, "Video file is not a regular file: null.mp4");
}

static void test_stat_and_open(void **state)
{
    struct fx *fx = *state;
    char p[PATH_MAX];
    char buf[16];
    struct result r;

    put_file(fx, "clip.mp4", "0123456789", 10);
    set_mtime(fx, "clip.mp4", 1700000000, 500000000);

    memset(&r, 0, sizeof(r));
    assert_int_equal(store_stat(fx->s, "clip.mp4", 8, "Video file", on_stat, &r), 0);
    run(fx);
    assert_int_equal(r.err, 0);
    assert_true(r.have_st);
    assert_int_equal(r.st.size, 10);
    assert_true(r.st.mtime > 1700000000.49 && r.st.mtime < 1700000000.51);

    memset(&r, 0, sizeof(r));
    r.fd = -2;
    assert_int_equal(store_open_read(fx->s, "clip.mp4", 8, "Video file", on_fd, &r), 0);
    run(fx);
    assert_int_equal(r.err, 0);
    assert_true(r.fd >= 0);
    assert_int_equal(r.st.size, 10);
    assert_int_equal(pread(r.fd, buf, sizeof(buf), 0), 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_true(fcntl(r.fd, F_GETFD) & FD_CLOEXEC);
    close(r.fd);

    path_of(fx, "l.mp4", p, sizeof(p));
    assert_int_equal(symlink("clip.mp4", p), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_stat(fx->s, "l.mp4", 5, "Video file", on_stat, &r), 0);
    run(fx);
    assert_int_equal(r.err, SZ_ESYMLINK);
    assert_string_equal(r.msg, "Video file cannot be a symbolic link: l.mp4");

    path_of(fx, "f.mp4", p, sizeof(p));
    assert_int_equal(mkfifo(p, 0644), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_open_read(fx->s, "f.mp4", 5, NULL, on_fd, &r), 0);
    run(fx);
    assert_int_equal(r.err, SZ_ENOTREG);
    assert_string_equal(r.msg, "File is not a regular file: f.mp4");

    memset(&r, 0, sizeof(r));
    assert_int_equal(store_open_read(fx->s, "missing.mp4", 11, NULL, on_fd, &r), 0);
    run(fx);
    assert_int_equal(r.err, SZ_ENOTFOUND);
}

static void test_read_cap(void **state)
{
    struct fx *fx = *state;
    char content[100];
    struct result r;

    memset(content, 'x', sizeof(content));
    put_file(fx, "big.png", content, sizeof(content));
    set_mtime(fx, "big.png", 1600000000, 0);

    r = read_file(fx, "big.png", 99);
    assert_int_equal(r.err, SZ_ETOOBIG);
    assert_string_equal(
        r.msg, "Reference image is too large: big.png is 100 bytes, the limit is 99 bytes");

    r = read_file(fx, "big.png", 100);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, 100);
    assert_int_equal(r.st.size, 100);
    assert_true(r.st.mtime == 1600000000.0);
    assert_int_equal(r.buf[100], '\0');
    free(r.buf);

    put_file(fx, "empty.png", "", 0);
    r = read_file(fx, "empty.png", 10);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, 0);
    assert_non_null(r.buf);
    free(r.buf);
}

/* The owner may close the store while an operation is in flight. */
static void test_close_with_op_in_flight(void **state)
{
    struct fx *fx = *state;
    struct result r;

    put_file(fx, "a.png", "abc", 3);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_read_file(fx->s, "a.png", 5, NULL, 100, on_read, &r), 0);
    store_close(fx->s);
    fx->s = NULL;
    run(fx);
    assert_int_equal(r.err, 0);
    assert_memory_equal(r.buf, "abc", 3);
    free(r.buf);
}

/* ---- Roots ----------------------------------------------------------------------------- */

/* Opens path with the label "VIDEO_PATH" and flags; expects rc and, on
 * failure, "VIDEO_PATH <what>: <shown>" (shown defaults to path). */
static void expect_open(struct fx *fx, const char *path, int flags, int rc, const char *what,
                        const char *shown)
{
    struct store_options o = {.path = path, .label = "VIDEO_PATH", .flags = flags};
    struct store *s = (struct store *)1;
    char err[STORE_MSG_MAX] = "";
    char want[2 * PATH_MAX + 128];

    assert_int_equal(store_open(&fx->loop, &o, &s, err, sizeof(err)), rc);
    if (rc == 0) {
        assert_non_null(s);
        store_close(s);
        return;
    }
    assert_null(s);
    snprintf(want, sizeof(want), "VIDEO_PATH %s: %s", what, shown != NULL ? shown : path);
    assert_string_equal(err, want);
}

static void test_open_root(void **state)
{
    struct fx *fx = *state;
    char a[PATH_MAX + 64];
    char b[2 * PATH_MAX + 128];
    char err[STORE_MSG_MAX];
    struct store *s = NULL;
    struct stat st;

    /* CREATE makes the directory, parents included; the path is kept for logs. */
    snprintf(a, sizeof(a), "%s/m/images", fx->root);
    assert_int_equal(
        open_path(&fx->loop, a, STORE_OPEN_CREATE | STORE_OPEN_NOFOLLOW, &s, err, sizeof(err)), 0);
    assert_int_equal(stat(a, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_string_equal(store_path(s), a);
    store_close(s);

    /* Without CREATE a missing path is an error naming the label. */
    snprintf(a, sizeof(a), "%s/missing", fx->root);
    expect_open(fx, a, STORE_OPEN_NOFOLLOW, SZ_ENOTFOUND, "does not exist", NULL);
    assert_int_equal(stat(a, &st), -1);

    /* A symlinked directory is refused, with or without a trailing slash. */
    snprintf(b, sizeof(b), "%s/realdir", fx->root);
    assert_int_equal(mkdir(b, 0755), 0);
    snprintf(a, sizeof(a), "%s/linkdir", fx->root);
    assert_int_equal(symlink(b, a), 0);
    expect_open(fx, a, STORE_OPEN_NOFOLLOW, SZ_ESYMLINK, "cannot be a symbolic link", NULL);
    assert_true(snprintf(b, sizeof(b), "%s/", a) < (int)sizeof(b));
    expect_open(fx, b, STORE_OPEN_NOFOLLOW, SZ_ESYMLINK, "cannot be a symbolic link", a);
    /* ... also when CREATE would make it. */
    expect_open(fx, a, STORE_OPEN_CREATE | STORE_OPEN_NOFOLLOW, SZ_ESYMLINK,
                "cannot be a symbolic link", NULL);

    /* A file is not a directory. */
    put_file(fx, "plain", "x", 1);
    snprintf(a, sizeof(a), "%s/plain", fx->root);
    expect_open(fx, a, STORE_OPEN_NOFOLLOW, SZ_ENOTREG, "is not a directory", NULL);

    /* Without a label, messages say "Directory". */
    snprintf(a, sizeof(a), "%s/nothing", fx->root);
    assert_int_equal(open_path(&fx->loop, a, 0, &s, err, sizeof(err)), SZ_ENOTFOUND);
    snprintf(b, sizeof(b), "Directory does not exist: %s", a);
    assert_string_equal(err, b);
}

/* ---- Listing ---------------------------------------------------------------------------- */

static struct result list(struct fx *fx, const char *pattern, bool casefold,
                          const char *const *exts, enum store_sort sort, bool desc, size_t limit)
{
    struct store_list_opts o = {pattern, casefold, exts, sort, desc, limit};
    struct result r;

    memset(&r, 0, sizeof(r));
    assert_int_equal(store_list(fx->s, &o, on_list, &r), 0);
    run(fx);
    assert_true(r.done);
    return r;
}

/* The filenames of a listing joined with ','; frees the list. */
static void names_of(struct result *r, char *out, size_t outlen)
{
    size_t i;
    size_t o = 0;
    json_t *e;

    assert_int_equal(r->err, 0);
    assert_true(json_is_array(r->list));
    out[0] = '\0';
    json_array_foreach(r->list, i, e)
    {
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "," : "",
                              json_string_value(json_object_get(e, "filename")));
    }
    json_decref(r->list);
    r->list = NULL;
}

static void test_list(void **state)
{
    struct fx *fx = *state;
    char p[PATH_MAX];
    char got[512];
    struct result r;
    json_t *e;

    put_file(fx, "a.mp4", "0123456789", 10);
    set_mtime(fx, "a.mp4", 1000, 0);
    put_file(fx, "b.webm", "012345678901234567890123456789", 30);
    set_mtime(fx, "b.webm", 3000, 250000000);
    put_file(fx, "c.MOV", "01234567890123456789", 20);
    set_mtime(fx, "c.MOV", 2000, 0);
    put_file(fx, "d.gif", "x", 1);
    put_file(fx, "e.txt", "x", 1);
    put_file(fx, ".hidden.mp4", "x", 1);
    put_file(fx, ".sanzaru-tmp-abc", "x", 1);
    put_file(fx, "bad\xff.mp4", "x", 1); /* not UTF-8: cannot be a JSON string */
    path_of(fx, "link.mp4", p, sizeof(p));
    assert_int_equal(symlink("a.mp4", p), 0);
    path_of(fx, "dir.mp4", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    path_of(fx, "fifo.mp4", p, sizeof(p));
    assert_int_equal(mkfifo(p, 0644), 0);

    r = list(fx, NULL, false, store_video_filter("all"), STORE_SORT_NAME, false, SIZE_MAX);
    assert_int_equal(r.total, 3);
    e = json_array_get(r.list, 2);
    assert_string_equal(json_string_value(json_object_get(e, "filename")), "c.MOV");
    assert_int_equal(json_integer_value(json_object_get(e, "size_bytes")), 20);
    /* Whole seconds, as the original's listing gives them. */
    assert_true(json_is_integer(json_object_get(e, "modified_timestamp")));
    assert_int_equal(json_integer_value(json_object_get(e, "modified_timestamp")), 2000);
    assert_string_equal(json_string_value(json_object_get(e, "file_type")), "mov");
    assert_int_equal(json_object_size(e), 4);
    e = json_array_get(r.list, 1);
    assert_int_equal(json_integer_value(json_object_get(e, "modified_timestamp")), 3000);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "a.mp4,b.webm,c.MOV");

    r = list(fx, NULL, false, store_video_filter("all"), STORE_SORT_NAME, true, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "c.MOV,b.webm,a.mp4");

    r = list(fx, NULL, false, store_video_filter("all"), STORE_SORT_SIZE, true, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "b.webm,c.MOV,a.mp4");

    r = list(fx, NULL, false, store_video_filter("all"), STORE_SORT_SIZE, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "a.mp4,c.MOV,b.webm");

    r = list(fx, NULL, false, store_video_filter("all"), STORE_SORT_MODIFIED, true, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "b.webm,c.MOV,a.mp4");

    r = list(fx, NULL, false, store_video_filter("all"), STORE_SORT_MODIFIED, false, 2);
    assert_int_equal(r.total, 3);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "a.mp4,c.MOV");

    r = list(fx, NULL, false, store_video_filter("all"), STORE_SORT_MODIFIED, false, 0);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "");

    r = list(fx, NULL, false, store_video_filter("mp4"), STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "a.mp4");

    r = list(fx, NULL, false, store_video_filter("mov"), STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "c.MOV");

    r = list(fx, "b*", false, store_video_filter("all"), STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "b.webm");

    r = list(fx, "*.mov", false, store_video_filter("all"), STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "");
    r = list(fx, "*.mov", true, store_video_filter("all"), STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "c.MOV");

    /* No type filter: every visible regular file. */
    r = list(fx, "", false, NULL, STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "a.mp4,b.webm,c.MOV,d.gif,e.txt");

    r = list(fx, "../*", false, NULL, STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "");

    put_file(fx, "x.jpg", "x", 1);
    put_file(fx, "y.jpeg", "x", 1);
    put_file(fx, "z.png", "x", 1);
    r = list(fx, NULL, false, store_image_filter("jpeg"), STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "x.jpg,y.jpeg");
    r = list(fx, NULL, false, store_image_filter("all"), STORE_SORT_NAME, false, SIZE_MAX);
    names_of(&r, got, sizeof(got));
    assert_string_equal(got, "x.jpg,y.jpeg,z.png");
}

static void test_list_bad_pattern(void **state)
{
    struct fx *fx = *state;
    char pat[STORE_PATTERN_MAX + 2];
    struct result r;

    memset(pat, '?', sizeof(pat) - 1);
    pat[sizeof(pat) - 1] = '\0';
    r = list(fx, pat, false, NULL, STORE_SORT_NAME, false, SIZE_MAX);
    assert_int_equal(r.err, SZ_EINVAL);
    assert_null(r.list);
    assert_non_null(strstr(r.msg, "the limit is 256"));
}

/* ---- Writer ----------------------------------------------------------------------------- */

static void test_write_commit(void **state)
{
    struct fx *fx = *state;
    static const char *parts[] = {"first part, ", "second part, ", "third part."};
    struct result ro;
    struct result rw[3];
    struct result rc;
    struct store_writer *w;
    char entries[512];
    char *content;
    size_t len;
    size_t total = 0;

    w = open_writer(fx, "out.bin", 0, &ro);
    assert_int_equal(ro.err, 0);
    memset(rw, 0, sizeof(rw));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_writer_write(w, parts[i], strlen(parts[i]), on_status, &rw[i]), 0);
        total += strlen(parts[i]);
    }
    assert_int_equal(store_writer_inflight(w), total);
    assert_int_equal(store_writer_size(w), total);
    /* Commit with the writes still in flight: it waits for them. */
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
    assert_int_equal(store_writer_commit(w, on_commit, &rc), SZ_EINVAL);
    assert_int_equal(store_writer_write(w, "x", 1, NULL, NULL), SZ_EINVAL);
    run(fx);
    for (int i = 0; i < 3; i++) {
        assert_true(rw[i].done);
        assert_int_equal(rw[i].err, 0);
    }
    assert_true(rc.done);
    assert_int_equal(rc.err, 0);
    assert_string_equal(rc.name, "out.bin");
    assert_int_equal(rc.size, total);

    content = slurp(fx, "out.bin", &len);
    assert_non_null(content);
    assert_int_equal(len, total);
    assert_string_equal(content, "first part, second part, third part.");
    free(content);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "out.bin");
}

static void test_write_no_clobber(void **state)
{
    struct fx *fx = *state;
    struct result ro;
    struct result rc;
    struct store_writer *w;
    char entries[512];
    char *content;
    size_t len;

    put_file(fx, "x.mp4", "old", 3);
    w = open_writer(fx, "x.mp4", 0, &ro);
    assert_null(w);
    assert_int_equal(ro.err, SZ_EEXISTS);
    assert_string_equal(ro.msg, "File already exists: x.mp4 (pass overwrite: true to replace it)");

    /* The file appears between open and commit: the link still refuses. */
    w = open_writer(fx, "y.mp4", 0, &ro);
    assert_int_equal(ro.err, 0);
    put_file(fx, "y.mp4", "old", 3);
    assert_int_equal(store_writer_write(w, "new data", 8, NULL, NULL), 0);
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
    run(fx);
    assert_int_equal(rc.err, SZ_EEXISTS);
    assert_string_equal(rc.msg, "File already exists: y.mp4 (pass overwrite: true to replace it)");
    content = slurp(fx, "y.mp4", &len);
    assert_string_equal(content, "old");
    free(content);
    content = slurp(fx, "x.mp4", &len);
    assert_string_equal(content, "old");
    free(content);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "x.mp4,y.mp4");
}

static void test_write_overwrite(void **state)
{
    struct fx *fx = *state;
    char entries[512];
    char *content;
    size_t len;
    struct result r;

    put_file(fx, "x.png", "old content", 11);
    r = write_file(fx, "x.png", STORE_OVERWRITE, "new");
    assert_int_equal(r.err, 0);
    assert_string_equal(r.name, "x.png");
    assert_int_equal(r.size, 3);
    content = slurp(fx, "x.png", &len);
    assert_string_equal(content, "new");
    free(content);
    /* Overwrite of a missing file simply creates it. */
    r = write_file(fx, "fresh.png", STORE_OVERWRITE, "fresh");
    assert_int_equal(r.err, 0);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "fresh.png,x.png");
}

static void test_write_unique(void **state)
{
    struct fx *fx = *state;
    char entries[512];
    char longname[STORE_NAME_MAX + 1];
    char *content;
    size_t len;
    struct result r;

    put_file(fx, "v.mp4", "0", 1);
    r = write_file(fx, "v.mp4", STORE_UNIQUE, "1");
    assert_int_equal(r.err, 0);
    assert_string_equal(r.name, "v-1.mp4");
    r = write_file(fx, "v.mp4", STORE_UNIQUE, "2");
    assert_int_equal(r.err, 0);
    assert_string_equal(r.name, "v-2.mp4");
    r = write_file(fx, "free.mp4", STORE_UNIQUE, "f");
    assert_string_equal(r.name, "free.mp4");
    r = write_file(fx, "noext", STORE_UNIQUE, "a");
    r = write_file(fx, "noext", STORE_UNIQUE, "b");
    assert_string_equal(r.name, "noext-1");
    content = slurp(fx, "v.mp4", &len);
    assert_string_equal(content, "0");
    free(content);
    content = slurp(fx, "v-2.mp4", &len);
    assert_string_equal(content, "2");
    free(content);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "free.mp4,noext,noext-1,v-1.mp4,v-2.mp4,v.mp4");

    /* A 255-byte name gets its stem shortened to make room for the suffix. */
    memset(longname, 'n', STORE_NAME_MAX);
    memcpy(longname + STORE_NAME_MAX - 4, ".png", 4);
    longname[STORE_NAME_MAX] = '\0';
    r = write_file(fx, longname, STORE_UNIQUE, "a");
    assert_string_equal(r.name, longname);
    r = write_file(fx, longname, STORE_UNIQUE, "b");
    assert_int_equal(r.err, 0);
    assert_int_equal(strlen(r.name), STORE_NAME_MAX);
    assert_string_equal(r.name + STORE_NAME_MAX - 6, "-1.png");
}

/* 32 writers racing for one default name all land, each under its own name. */
static void test_write_unique_concurrent(void **state)
{
    struct fx *fx = *state;
    struct result r[32];
    char content[32][16];
    char entries[2048];
    char seen[32] = {0};

    for (int i = 0; i < 32; i++) {
        snprintf(content[i], sizeof(content[i]), "writer %d", i);
        memset(&r[i], 0, sizeof(r[i]));
        assert_int_equal(store_write_file(fx->s, "same.mp4", 8, STORE_UNIQUE, content[i],
                                          strlen(content[i]), on_commit, &r[i]),
                         0);
    }
    run(fx);
    for (int i = 0; i < 32; i++) {
        char *got;
        size_t len;
        int k = 0;

        assert_int_equal(r[i].err, 0);
        got = slurp(fx, r[i].name, &len);
        assert_non_null(got);
        assert_string_equal(got, content[i]);
        free(got);
        if (strcmp(r[i].name, "same.mp4") != 0)
            assert_int_equal(sscanf(r[i].name, "same-%d.mp4", &k), 1);
        assert_true(k >= 0 && k < 32);
        assert_int_equal(seen[k], 0);
        seen[k] = 1;
    }
    dir_entries(fx, entries, sizeof(entries));
    assert_null(strstr(entries, ".sanzaru-tmp-"));
}

static void test_write_refusals(void **state)
{
    struct fx *fx = *state;
    char p[PATH_MAX];
    char entries[512];
    struct result ro;
    struct result r;

    put_file(fx, "t.png", "t", 1);
    path_of(fx, "l.png", p, sizeof(p));
    assert_int_equal(symlink("t.png", p), 0);
    path_of(fx, "d.png", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);

    assert_null(open_writer(fx, "l.png", STORE_OVERWRITE, &ro));
    assert_int_equal(ro.err, SZ_ESYMLINK);
    assert_string_equal(ro.msg, "Output file cannot be a symbolic link: l.png");
    assert_null(open_writer(fx, "l.png", 0, &ro));
    assert_int_equal(ro.err, SZ_EEXISTS);
    assert_null(open_writer(fx, "d.png", STORE_OVERWRITE, &ro));
    assert_int_equal(ro.err, SZ_ENOTREG);
    assert_string_equal(ro.msg, "Output file is not a regular file: d.png");
    assert_null(open_writer(fx, "../escape.png", STORE_OVERWRITE, &ro));
    assert_int_equal(ro.err, SZ_ETRAVERSAL);
    assert_string_equal(ro.msg, "Invalid filename: path traversal detected in '../escape.png'");
    assert_null(open_writer(fx, ".hidden", 0, &ro));
    assert_int_equal(ro.err, SZ_EINVAL);

    r = write_file(fx, "/tmp/abs.png", 0, "x");
    assert_int_equal(r.err, SZ_ETRAVERSAL);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "d.png,l.png,t.png");
}

static void test_write_abort(void **state)
{
    struct fx *fx = *state;
    static char big[1 << 20];
    struct result ro;
    struct result rw[4];
    struct result ra;
    struct result rc;
    struct store_writer *w;
    char entries[512];

    /* Abort with writes in flight: their callbacks say cancelled, the close
     * waits for them, nothing remains. */
    w = open_writer(fx, "gone.mp4", 0, &ro);
    assert_int_equal(ro.err, 0);
    memset(rw, 0, sizeof(rw));
    for (int i = 0; i < 4; i++)
        assert_int_equal(store_writer_write(w, big, sizeof(big), on_status, &rw[i]), 0);
    assert_int_equal(store_writer_inflight(w), 4 * sizeof(big));
    /* The data lives in an unnamed inode, or in the fallback's hidden file. */
    dir_entries(fx, entries, sizeof(entries));
    if (fx->flags & STORE_OPEN_NO_TMPFILE)
        assert_int_equal(strncmp(entries, ".sanzaru-tmp-", 13), 0);
    else
        assert_string_equal(entries, "");
    memset(&ra, 0, sizeof(ra));
    assert_int_equal(store_writer_abort(w, on_status, &ra), 0);
    run(fx);
    for (int i = 0; i < 4; i++) {
        assert_true(rw[i].done);
        assert_int_equal(rw[i].err, SZ_ECANCELLED);
    }
    assert_true(ra.done);
    assert_int_equal(ra.err, 0);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "");

    /* Abort while a commit waits for its writes. */
    w = open_writer(fx, "gone2.mp4", STORE_OVERWRITE, &ro);
    assert_int_equal(ro.err, 0);
    assert_int_equal(store_writer_write(w, big, sizeof(big), NULL, NULL), 0);
    memset(&rc, 0, sizeof(rc));
    memset(&ra, 0, sizeof(ra));
    assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
    assert_int_equal(store_writer_abort(w, on_status, &ra), 0);
    run(fx);
    assert_int_equal(rc.err, SZ_ECANCELLED);
    assert_string_equal(rc.msg, "Writing gone2.mp4 was cancelled");
    assert_true(ra.done);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "");

    /* Abort of an idle writer, and with no callback. */
    w = open_writer(fx, "gone3.mp4", 0, &ro);
    assert_int_equal(store_writer_write(w, "abc", 3, NULL, NULL), 0);
    run(fx);
    assert_int_equal(store_writer_abort(w, NULL, NULL), 0);
    run(fx);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "");
}

/* A commit callback that also takes the digest while the writer still lives. */
struct hashed {
    struct result r;
    struct store_writer *w;
    bool have_hex;
    char hex[SZ_SHA256_HEX_LEN + 1];
};

static void on_commit_hashed(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct hashed *h = data;
    const char *hex = store_writer_sha256(h->w);

    on_commit(&h->r, err, msg, name, size);
    h->have_hex = hex != NULL;
    if (hex != NULL)
        snprintf(h->hex, sizeof(h->hex), "%s", hex);
}

/* STORE_SHA256: the digest of what was written, in file order, across many
 * writes and several batches; none without the flag. */
static void test_write_sha256(void **state)
{
    struct fx *fx = *state;
    enum { NBLK = 300, BLK = 4099 };
    static char data[NBLK * BLK];
    char want[SZ_SHA256_HEX_LEN + 1];
    struct result ro;
    struct hashed h;
    struct store_writer *w;
    char *content;
    size_t len;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7 + i / 251);
    assert_int_equal(sz_sha256_hex(data, sizeof(data), want), 0);

    w = open_writer(fx, "h.bin", STORE_SHA256, &ro);
    assert_int_equal(ro.err, 0);
    for (int i = 0; i < NBLK; i++) {
        assert_int_equal(store_writer_write(w, data + (size_t)i * BLK, BLK, NULL, NULL), 0);
        if (i % 37 == 0) /* let some batches go before others are queued */
            uv_run(&fx->loop, UV_RUN_ONCE);
    }
    memset(&h, 0, sizeof(h));
    h.w = w;
    assert_int_equal(store_writer_commit(w, on_commit_hashed, &h), 0);
    run(fx);
    assert_int_equal(h.r.err, 0);
    assert_int_equal(h.r.size, sizeof(data));
    assert_true(h.have_hex);
    assert_string_equal(h.hex, want);
    content = slurp(fx, "h.bin", &len);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(content, data, len);
    free(content);

    /* Without the flag there is no digest. */
    w = open_writer(fx, "plain.bin", 0, &ro);
    assert_int_equal(store_writer_write(w, "abc", 3, NULL, NULL), 0);
    memset(&h, 0, sizeof(h));
    h.w = w;
    assert_int_equal(store_writer_commit(w, on_commit_hashed, &h), 0);
    run(fx);
    assert_int_equal(h.r.err, 0);
    assert_false(h.have_hex);
}

/* Commits that fdatasync take turns: a few publish at once, the others wait
 * holding no data, and one still waiting can be aborted (it is not too late),
 * unlike one already publishing. Every waiting commit gets its turn. */
static void test_write_sync_turns(void **state)
{
    struct fx *fx = *state;
    enum { N = 6 };
    struct result ro[N], rc[N], ra;
    struct store_writer *w[N];
    char name[32];
    char entries[512];
    int busy = 0;

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "t%d.bin", i);
        w[i] = open_writer(fx, name, 0, &ro[i]);
        assert_int_equal(store_writer_write(w[i], "data", 4, NULL, NULL), 0);
    }
    run(fx); /* every write done: each commit below goes straight to publishing or waits */
    memset(rc, 0, sizeof(rc));
    for (int i = 0; i < N; i++)
        assert_int_equal(store_writer_commit(w[i], on_commit, &rc[i]), 0);
    /* The first commits publish (too late to abort); the last one waits. */
    for (int i = 0; i < N - 1; i++)
        if (store_writer_abort(w[i], NULL, NULL) == SZ_EBUSY)
            busy++;
    assert_true(busy >= 1 && busy < N - 1);
    memset(&ra, 0, sizeof(ra));
    assert_int_equal(store_writer_abort(w[N - 1], on_status, &ra), 0);
    run(fx);
    for (int i = 0; i < N; i++)
        assert_true(rc[i].done);
    assert_int_equal(rc[N - 1].err, SZ_ECANCELLED);
    assert_string_equal(rc[N - 1].msg, "Writing t5.bin was cancelled");
    assert_true(ra.done);
    dir_entries(fx, entries, sizeof(entries));
    /* The busy ones published; the aborted ones did not. */
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "t%d.bin", i);
        assert_int_equal(strstr(entries, name) != NULL, rc[i].err == 0);
    }
}

/* The store's queue budget is split among the writers open at once. */
static void test_write_queue_share(void **state)
{
    struct fx *fx = *state;
    struct result ro[4], rc[4];
    struct store_writer *w[4];
    char name[32];

    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "q%d.bin", i);
        w[i] = open_writer(fx, name, 0, &ro[i]);
        assert_int_equal(store_writer_queue_share(w[0]), ((size_t)8 << 20) / (size_t)(i + 1));
    }
    memset(rc, 0, sizeof(rc));
    for (int i = 1; i < 4; i++)
        assert_int_equal(store_writer_commit(w[i], on_commit, &rc[i]), 0);
    run(fx);
    /* Finished writers no longer count. */
    assert_int_equal(store_writer_queue_share(w[0]), (size_t)8 << 20);
    assert_int_equal(store_writer_abort(w[0], NULL, NULL), 0);
    run(fx);
}

/* store_open removes hidden temporaries a crash left behind, not fresh ones. */
static void test_sweep_stale(void **state)
{
    struct fx *fx = *state;
    char err[STORE_MSG_MAX];
    char entries[512];
    struct store *s = NULL;

    put_file(fx, ".sanzaru-tmp-old", "x", 1);
    set_mtime(fx, ".sanzaru-tmp-old", time(NULL) - 7200, 0);
    put_file(fx, ".sanzaru-tmp-new", "x", 1);
    put_file(fx, ".other-old", "x", 1);
    set_mtime(fx, ".other-old", time(NULL) - 7200, 0);
    assert_int_equal(open_path(&fx->loop, fx->root, 0, &s, err, sizeof(err)), 0);
    store_close(s);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, ".other-old,.sanzaru-tmp-new");
}

/* The commit is already publishing: too late to abort. */
static void test_write_abort_too_late(void **state)
{
    struct fx *fx = *state;
    struct result ro;
    struct result rc;
    struct store_writer *w;
    char entries[512];

    w = open_writer(fx, "kept.mp4", 0, &ro);
    assert_int_equal(store_writer_write(w, "abc", 3, NULL, NULL), 0);
    run(fx);
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
    assert_int_equal(store_writer_abort(w, NULL, NULL), SZ_EBUSY);
    run(fx);
    assert_int_equal(rc.err, 0);
    dir_entries(fx, entries, sizeof(entries));
    assert_string_equal(entries, "kept.mp4");
}

/* Disk full on a small tmpfs: the tool-level message, and no file left. */
static void test_write_enospc(void **state)
{
    struct fx *fx = *state;
    static char chunk[64 * 1024];
    struct store *saved = fx->s;
    char err[STORE_MSG_MAX];
    char entries[512];
    struct result ro;
    struct result rw[16];
    struct result rc;
    struct store_writer *w;
    bool saw_enospc;

    if (geteuid() != 0) {
        print_message("skipped: mounting a tmpfs needs root\n");
        skip();
    }
    if (mount("tmpfs", fx->root, "tmpfs", 0, "size=256k") != 0) {
        print_message("skipped: cannot mount a tmpfs (%s)\n", strerror(errno));
        skip();
    }
    snprintf(fx->mnt, sizeof(fx->mnt), "%s", fx->root);
    memset(chunk, 'z', sizeof(chunk));

    for (int mode = 0; mode < 2; mode++) {
        /* mode 1: the hidden-temporary path */
        assert_int_equal(open_path(&fx->loop, fx->root,
                                   STORE_OPEN_NOFOLLOW | (mode ? STORE_OPEN_NO_TMPFILE : 0), &fx->s,
                                   err, sizeof(err)),
                         0);
        w = open_writer(fx, "big.mp4", 0, &ro);
        assert_int_equal(ro.err, 0);
        memset(rw, 0, sizeof(rw));
        for (int i = 0; i < 16; i++) /* 1 MiB into 256 KiB */
            assert_int_equal(store_writer_write(w, chunk, sizeof(chunk), on_status, &rw[i]), 0);
        memset(&rc, 0, sizeof(rc));
        assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
        run(fx);
        saw_enospc = false;
        for (int i = 0; i < 16; i++) {
            assert_true(rw[i].done);
            if (rw[i].err == UV_ENOSPC) {
                saw_enospc = true;
                assert_string_equal(rw[i].msg, "Not enough disk space to write big.mp4");
            }
        }
        assert_true(saw_enospc);
        assert_int_equal(rc.err, UV_ENOSPC);
        assert_string_equal(rc.msg, "Not enough disk space to write big.mp4");
        dir_entries(fx, entries, sizeof(entries));
        assert_string_equal(entries, "");
        store_close(fx->s);
    }
    fx->s = saved;
}

/* Writes after a failure return the sticky error without a callback. */
static void test_write_sticky_error(void **state)
{
    struct fx *fx = *state;
    static char chunk[64 * 1024];
    char err[STORE_MSG_MAX];
    struct store *saved = fx->s;
    struct result ro;
    struct result rw;
    struct store_writer *w;
    const char *msg = NULL;

    if (geteuid() != 0 || mount("tmpfs", fx->root, "tmpfs", 0, "size=64k") != 0) {
        print_message("skipped: cannot mount a tmpfs here\n");
        skip();
    }
    snprintf(fx->mnt, sizeof(fx->mnt), "%s", fx->root);
    assert_int_equal(open_path(&fx->loop, fx->root, 0, &fx->s, err, sizeof(err)), 0);
    w = open_writer(fx, "s.mp4", 0, &ro);
    for (int i = 0; i < 4; i++) {
        memset(&rw, 0, sizeof(rw));
        if (store_writer_write(w, chunk, sizeof(chunk), on_status, &rw) != 0)
            break;
        run(fx);
    }
    assert_int_equal(store_writer_error(w, &msg), UV_ENOSPC);
    assert_string_equal(msg, "Not enough disk space to write s.mp4");
    assert_int_equal(store_writer_write(w, chunk, 1, NULL, NULL), UV_ENOSPC);
    assert_int_equal(store_writer_abort(w, NULL, NULL), 0);
    run(fx);
    store_close(fx->s);
    fx->s = saved;
}

#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TN(f) cmocka_unit_test_setup_teardown(f, setup_named, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_name_battery),
        cmocka_unit_test(test_check_ext_and_mime),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_check_content),
        cmocka_unit_test(test_name_format),
        T(test_read_battery),
        T(test_read_device),
        T(test_stat_and_open),
        T(test_read_cap),
        T(test_close_with_op_in_flight),
        T(test_open_root),
        T(test_list),
        T(test_list_bad_pattern),
        T(test_write_commit),
        TN(test_write_commit),
        T(test_write_no_clobber),
        TN(test_write_no_clobber),
        T(test_write_overwrite),
        TN(test_write_overwrite),
        T(test_write_unique),
        TN(test_write_unique),
        T(test_write_unique_concurrent),
        TN(test_write_unique_concurrent),
        T(test_write_refusals),
        TN(test_write_refusals),
        T(test_write_abort),
        TN(test_write_abort),
        T(test_write_abort_too_late),
        T(test_write_sha256),
        T(test_write_queue_share),
        TN(test_write_sha256),
        T(test_write_sync_turns),
        TN(test_write_sync_turns),
        T(test_sweep_stale),
        T(test_write_enospc),
        T(test_write_sticky_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
