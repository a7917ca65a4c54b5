/* Unit tests for what the store grew for the audio tools: relative paths into
 * subdirectories (STORE_OPEN_SUBDIRS: the path battery, reads and writes
 * beneath the root, symlinked directories refused on the way), writers whose
 * bytes a pool job writes through their fd (store_writer_fd and
 * store_writer_set_size), the content check run before publishing
 * (store_writer_set_check) and scratch files that are never published
 * (store_scratch_open). Each test gets a fresh mkdtemp root, opened both with
 * O_TMPFILE and with the hidden-temporary fallback, and a real uv loop. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "store/store.h"

struct fx {
    uv_loop_t loop;
    char root[PATH_MAX];
    char outside[PATH_MAX];
    struct store *s;    /* SUBDIRS */
    struct store *flat; /* the same root without SUBDIRS */
};

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

static void path_of(const struct fx *fx, const char *name, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s", fx->root, name);
    assert_true(n > 0 && (size_t)n < outlen);
}

static void put_file(const struct fx *fx, const char *name, const char *content)
{
    char p[PATH_MAX];
    int fd;

    path_of(fx, name, p, sizeof(p));
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

static void mkdir_in(const struct fx *fx, const char *name)
{
    char p[PATH_MAX];

    path_of(fx, name, p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
}

/* The content of root/name ("" when missing, then *pexists is false). */
static void read_back(const struct fx *fx, const char *name, char *out, size_t outlen,
                      bool *pexists)
{
    char p[PATH_MAX];
    ssize_t n;
    int fd;

    path_of(fx, name, p, sizeof(p));
    out[0] = '\0';
    fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    *pexists = fd >= 0;
    if (fd < 0)
        return;
    n = read(fd, out, outlen - 1);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
}

/* Entries of a directory under the root ("" for the root), hidden ones too,
 * joined with ','. */
static void entries(const struct fx *fx, const char *dir, char *out, size_t outlen)
{
    char p[PATH_MAX];
    struct dirent **list;
    int n;
    size_t o = 0;

    path_of(fx, dir, p, sizeof(p));
    n = scandir(p, &list, NULL, alphasort);
    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0)
            o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "," : "", list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

static int setup_flags(void **state, int extra)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    struct store_options o = {.flags = STORE_OPEN_NOFOLLOW | STORE_OPEN_NO_FSYNC | extra};
    char err[STORE_MSG_MAX];

    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    snprintf(fx->root, sizeof(fx->root), "/tmp/sz-paths-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    snprintf(fx->outside, sizeof(fx->outside), "/tmp/sz-paths-out-XXXXXX");
    assert_non_null(mkdtemp(fx->outside));
    o.path = fx->root;
    assert_int_equal(store_open(&fx->loop, &o, &fx->flat, err, sizeof(err)), 0);
    o.flags |= STORE_OPEN_SUBDIRS;
    assert_int_equal(store_open(&fx->loop, &o, &fx->s, err, sizeof(err)), 0);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_flags(state, 0);
}

static int setup_named(void **state)
{
    return setup_flags(state, STORE_OPEN_NO_TMPFILE);
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    store_close(fx->s);
    store_close(fx->flat);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    rm_rf(fx->root);
    rm_rf(fx->outside);
    free(fx);
    return 0;
}

/* ---- callbacks ---------------------------------------------------------------- */

struct result {
    bool done;
    int err;
    char msg[STORE_MSG_MAX];
    int fd;
    char name[STORE_PATH_MAX + 1];
    uint64_t size;
    struct store_writer *w;
};

static void record(struct result *r, int err, const char *msg)
{
    assert_false(r->done);
    r->done = true;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", err != 0 && msg != NULL ? msg : "");
}

static void on_fd(void *data, int err, const char *msg, int fd, const struct store_stat *st)
{
    struct result *r = data;
    (void)st;
    record(r, err, msg);
    r->fd = fd;
}

static void on_open(void *data, int err, const char *msg, struct store_writer *w)
{
    struct result *r = data;
    record(r, err, msg);
    r->w = w;
}

static void on_commit(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct result *r = data;
    record(r, err, msg);
    if (err == 0)
        snprintf(r->name, sizeof(r->name), "%s", name);
    r->size = size;
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

static struct result open_read(struct fx *fx, struct store *s, const char *name)
{
    struct result r = {.fd = -1};
    assert_int_equal(store_open_read(s, name, strlen(name), "Audio file", on_fd, &r), 0);
    run(fx);
    assert_true(r.done);
    if (r.fd >= 0)
        close(r.fd);
    return r;
}

static struct store_writer *open_writer(struct fx *fx, const char *name, int flags,
                                        struct result *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(store_writer_open(fx->s, name, strlen(name), flags, on_open, r), 0);
    run(fx);
    assert_true(r->done);
    return r->w;
}

/* Writes text through the writer and commits; the commit's result. */
static struct result write_commit(struct fx *fx, const char *name, int flags, const char *text)
{
    struct result ro, rc = {0};
    struct store_writer *w = open_writer(fx, name, flags, &ro);

    if (w == NULL)
        return ro;
    assert_int_equal(store_writer_write(w, text, strlen(text), NULL, NULL), 0);
    assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
    run(fx);
    assert_true(rc.done);
    return rc;
}

/* ---- the path battery ---------------------------------------------------------- */

static void test_check_path(void **state)
{
    static const struct {
        const char *name;
        int rc;
        const char *msg; /* a part of the message, or NULL */
    } cases[] = {
        {"a.mp3", 0, NULL},
        {"talks/a.mp3", 0, NULL},
        {"talks/2026/a b.mp3", 0, NULL},
        {"../a.mp3", SZ_ETRAVERSAL, "path traversal detected in '../a.mp3'"},
        {"talks/../../etc/passwd", SZ_ETRAVERSAL, "path traversal detected in 'talks/../"},
        {"/etc/passwd", SZ_ETRAVERSAL, "path traversal detected in '/etc/passwd'"},
        {"talks/..", SZ_ETRAVERSAL, NULL},
        {".", SZ_ETRAVERSAL, NULL},
        {"talks//a.mp3", SZ_EINVAL, "empty path component"},
        {"talks/", SZ_EINVAL, "empty path component"},
        {"talks/.hidden.mp3", SZ_EINVAL, "hidden names"},
        {".git/config", SZ_EINVAL, "hidden names"},
        {"talks/./a.mp3", SZ_ETRAVERSAL, "path traversal detected in 'talks/./a.mp3'"},
        {"a\\b.mp3", SZ_EINVAL, "backslashes"},
        {"talks/a\nb.mp3", SZ_EINVAL, "control characters"},
        {"", SZ_EINVAL, "empty"},
    };
    char msg[STORE_MSG_MAX];
    char big[STORE_PATH_MAX + 8];
    char comp[300];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        msg[0] = '\0';
        rc = store_check_path(cases[i].name, strlen(cases[i].name), msg, sizeof(msg));
        if (rc != cases[i].rc)
            fail_msg("'%s': got %d (%s), want %d", cases[i].name, rc, msg, cases[i].rc);
        if (cases[i].msg != NULL && strstr(msg, cases[i].msg) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].name, msg, cases[i].msg);
    }
    /* A NUL inside the given length. */
    assert_int_equal(store_check_path("a\0/b", 4, msg, sizeof(msg)), SZ_ETRAVERSAL);
    /* Too long as a whole, and one component too long. */
    memset(big, 'a', sizeof(big));
    for (size_t i = 100; i < sizeof(big); i += 100)
        big[i] = '/';
    assert_int_equal(store_check_path(big, STORE_PATH_MAX + 1, msg, sizeof(msg)), SZ_EINVAL);
    assert_non_null(strstr(msg, "longer than 1024 bytes"));
    assert_int_equal(store_check_path(big, STORE_PATH_MAX, msg, sizeof(msg)), 0);
    memset(comp, 'b', sizeof(comp));
    memcpy(comp, "dir/", 4);
    assert_int_equal(store_check_path(comp, sizeof(comp), msg, sizeof(msg)), SZ_EINVAL);
    assert_non_null(strstr(msg, "longer than 255 bytes"));
    /* store_check_name still refuses every '/'. */
    assert_int_equal(store_check_name("talks/a.mp3", 11, msg, sizeof(msg)), SZ_ETRAVERSAL);
}

/* ---- reads beneath the root ------------------------------------------------------ */

static void test_read_subdirs(void **state)
{
    struct fx *fx = *state;
    char p[PATH_MAX];
    struct result r;

    mkdir_in(fx, "talks");
    put_file(fx, "talks/a.mp3", "A");
    put_file(fx, "top.mp3", "T");
    path_of(fx, "talks", p, sizeof(p));
    {
        char link[PATH_MAX];
        path_of(fx, "alias", link, sizeof(link));
        assert_int_equal(symlink(p, link), 0); /* a symlinked directory inside the root */
        path_of(fx, "escape", link, sizeof(link));
        assert_int_equal(symlink(fx->outside, link), 0); /* and one that leaves it */
    }

    r = open_read(fx, fx->s, "talks/a.mp3");
    assert_int_equal(r.err, 0);
    r = open_read(fx, fx->s, "top.mp3");
    assert_int_equal(r.err, 0);
    r = open_read(fx, fx->s, "talks/missing.mp3");
    assert_int_equal(r.err, SZ_ENOTFOUND);
    assert_string_equal(r.msg, "File not found: talks/missing.mp3");
    r = open_read(fx, fx->s, "top.mp3/a.mp3"); /* through a file */
    assert_int_equal(r.err, SZ_ENOTFOUND);
    r = open_read(fx, fx->s, "alias/a.mp3");
    assert_int_equal(r.err, SZ_ESYMLINK);
    assert_string_equal(r.msg, "Audio file cannot be a symbolic link: alias/a.mp3");
    r = open_read(fx, fx->s, "escape/x.mp3");
    assert_int_equal(r.err, SZ_ESYMLINK);
    r = open_read(fx, fx->s, "talks/../top.mp3");
    assert_int_equal(r.err, SZ_ETRAVERSAL);
    r = open_read(fx, fx->s, "talks");
    assert_int_equal(r.err, SZ_ENOTREG);
    /* Without SUBDIRS a path is traversal, as before. */
    r = open_read(fx, fx->flat, "talks/a.mp3");
    assert_int_equal(r.err, SZ_ETRAVERSAL);
}

/* ---- writes into subdirectories ------------------------------------------------- */

static void test_write_subdirs(void **state)
{
    struct fx *fx = *state;
    char content[64], list[256], p[PATH_MAX], link[PATH_MAX];
    struct result r;
    bool exists;

    mkdir_in(fx, "talks");
    r = write_commit(fx, "talks/new.mp3", 0, "one");
    assert_int_equal(r.err, 0);
    assert_string_equal(r.name, "talks/new.mp3");
    read_back(fx, "talks/new.mp3", content, sizeof(content), &exists);
    assert_true(exists);
    assert_string_equal(content, "one");

    /* No clobber, then a unique name in the same directory, then overwrite. */
    r = write_commit(fx, "talks/new.mp3", 0, "two");
    assert_int_equal(r.err, SZ_EEXISTS);
    assert_string_equal(r.msg,
                        "File already exists: talks/new.mp3 (pass overwrite: true to replace it)");
    r = write_commit(fx, "talks/new.mp3", STORE_UNIQUE, "two");
    assert_int_equal(r.err, 0);
    assert_string_equal(r.name, "talks/new-1.mp3");
    r = write_commit(fx, "talks/new.mp3", STORE_OVERWRITE, "three");
    assert_int_equal(r.err, 0);
    read_back(fx, "talks/new.mp3", content, sizeof(content), &exists);
    assert_string_equal(content, "three");
    entries(fx, "talks", list, sizeof(list));
    assert_string_equal(list, "new-1.mp3,new.mp3"); /* no temporaries left */
    entries(fx, "", list, sizeof(list));
    assert_string_equal(list, "talks");

    /* A directory that does not exist is not created. */
    r = write_commit(fx, "nowhere/x.mp3", 0, "x");
    assert_int_equal(r.err, SZ_ENOTFOUND);
    assert_string_equal(r.msg, "Directory not found: nowhere (create it first)");
    /* A symlinked directory, inside or outside, is refused. */
    path_of(fx, "talks", p, sizeof(p));
    path_of(fx, "alias", link, sizeof(link));
    assert_int_equal(symlink(p, link), 0);
    path_of(fx, "escape", link, sizeof(link));
    assert_int_equal(symlink(fx->outside, link), 0);
    r = write_commit(fx, "alias/x.mp3", 0, "x");
    assert_int_equal(r.err, SZ_ESYMLINK);
    r = write_commit(fx, "escape/x.mp3", 0, "x");
    assert_int_equal(r.err, SZ_ESYMLINK);
    entries(fx, "talks", list, sizeof(list));
    assert_string_equal(list, "new-1.mp3,new.mp3");
    {
        char out[256];
        DIR *d = opendir(fx->outside);
        struct dirent *de;
        size_t n = 0;
        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
        assert_int_equal(n, 0); /* nothing escaped */
        (void)out;
    }
    /* Bad paths fail at open. */
    r = write_commit(fx, "../x.mp3", 0, "x");
    assert_int_equal(r.err, SZ_ETRAVERSAL);
}

/* ---- a pool job writes through the fd; the content check ------------------------ */

static int starts_with_good(const void *head, size_t len, char *msg, size_t msglen, void *arg)
{
    int *calls = arg;
    (*calls)++;
    if (len >= 4 && memcmp(head, "GOOD", 4) == 0)
        return 0;
    snprintf(msg, msglen, "expected GOOD, got %zu bytes of something else", len);
    return SZ_EUNSUPPORTED;
}

static void test_writer_fd_and_check(void **state)
{
    struct fx *fx = *state;
    struct result ro, rc;
    struct store_writer *w;
    char content[64], list[256];
    bool exists;
    int calls = 0, fd;

    /* Bytes written through the fd, then published with their size. */
    w = open_writer(fx, "enc.mp3", 0, &ro);
    assert_non_null(w);
    fd = store_writer_fd(w);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "GOOD data", 9, 0), 9);
    assert_int_equal(store_writer_set_size(w, 9), 0);
    store_writer_set_check(w, starts_with_good, &calls);
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
    assert_int_equal(store_writer_fd(w), -1); /* committing: no longer handed out */
    run(fx);
    assert_int_equal(rc.err, 0);
    assert_int_equal(rc.size, 9);
    assert_int_equal(calls, 1);
    read_back(fx, "enc.mp3", content, sizeof(content), &exists);
    assert_string_equal(content, "GOOD data");

    /* A failed check publishes nothing and leaves no temporary. */
    w = open_writer(fx, "bad.mp3", 0, &ro);
    assert_non_null(w);
    assert_int_equal(store_writer_write(w, "<html>oops", 10, NULL, NULL), 0);
    assert_int_equal(store_writer_fd(w), -1); /* a write is queued */
    assert_int_equal(store_writer_set_size(w, 3), SZ_EINVAL);
    store_writer_set_check(w, starts_with_good, &calls);
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(store_writer_commit(w, on_commit, &rc), 0);
    run(fx);
    assert_int_equal(rc.err, SZ_EUNSUPPORTED);
    assert_string_equal(rc.msg, "expected GOOD, got 10 bytes of something else");
    assert_int_equal(calls, 2);
    read_back(fx, "bad.mp3", content, sizeof(content), &exists);
    assert_false(exists);
    entries(fx, "", list, sizeof(list));
    assert_string_equal(list, "enc.mp3");

    /* A writer that hashes does not take bytes it never saw. */
    w = open_writer(fx, "h.mp3", STORE_SHA256, &ro);
    assert_non_null(w);
    assert_int_equal(store_writer_set_size(w, 1), SZ_EINVAL);
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(store_writer_abort(w, on_status, &rc), 0);
    run(fx);
    assert_true(rc.done);
}

/* ---- scratch files ----------------------------------------------------------- */

static void test_scratch(void **state)
{
    struct fx *fx = *state;
    struct result ro, rw = {0}, ra = {0}, rc = {0};
    char list[256], back[32];
    int fd;

    memset(&ro, 0, sizeof(ro));
    assert_int_equal(store_scratch_open(fx->s, on_open, &ro), 0);
    run(fx);
    assert_int_equal(ro.err, 0);
    assert_non_null(ro.w);
    entries(fx, "", list, sizeof(list));
    assert_string_equal(list, ""); /* nameless from the start, also in the fallback */
    assert_int_equal(store_writer_write(ro.w, "streamed", 8, on_status, &rw), 0);
    run(fx);
    assert_int_equal(rw.err, 0);
    assert_int_equal(store_writer_size(ro.w), 8);
    fd = store_writer_fd(ro.w);
    assert_true(fd >= 0);
    memset(back, 0, sizeof(back));
    assert_int_equal(pread(fd, back, sizeof(back) - 1, 0), 8); /* readable */
    assert_string_equal(back, "streamed");
    assert_int_equal(store_writer_commit(ro.w, on_commit, &rc), SZ_EINVAL);
    assert_false(rc.done);
    assert_int_equal(store_writer_abort(ro.w, on_status, &ra), 0);
    run(fx);
    assert_true(ra.done);
    entries(fx, "", list, sizeof(list));
    assert_string_equal(list, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_path),
        cmocka_unit_test_setup_teardown(test_read_subdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_subdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_subdirs, setup_named, teardown),
        cmocka_unit_test_setup_teardown(test_writer_fd_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_fd_and_check, setup_named, teardown),
        cmocka_unit_test_setup_teardown(test_scratch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch, setup_named, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
