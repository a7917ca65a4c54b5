/* Reads and listings: whole-file reads with a size cap, handing out a read fd,
 * stat, and directory listings with glob, type filter, sort and limit. Each is
 * one uv_queue_work job: the syscalls run on the pool against the root's fd, the
 * caller's callback runs on the loop in the after-work callback. */
#include "fmacros.h"

#include "store/store_int.h"

#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum op_kind { OP_READ, OP_OPEN, OP_STAT, OP_LIST };

struct rd_op {
    uv_work_t work;
    struct store *store;
    enum op_kind kind;
    void *data;
    union {
        store_read_fn *read;
        store_fd_fn *fd;
        store_stat_fn *stat;
        store_list_fn *list;
    } cb;

    /* input */
    char name[STORE_PATH_MAX + 1];
    size_t len;
    char what[64];
    size_t max;
    char *pattern; /* owned */
    size_t plen;
    bool casefold;
    const char *const *exts;
    enum store_sort sort;
    bool descending;
    size_t limit;

    /* output */
    int err;
    char msg[STORE_MSG_MAX];
    char *buf; /* owned until handed to the callback */
    size_t buflen;
    int fd; /* owned until handed to the callback */
    struct store_stat st;
    json_t *list; /* owned until handed to the callback */
    size_t total;
};

static struct rd_op *op_new(struct store *s, enum op_kind kind, const char *name, size_t len,
                            const char *what, void *data)
{
    struct rd_op *op = calloc(1, sizeof(*op));

    if (op == NULL)
        return NULL;
    op->store = s;
    op->kind = kind;
    op->data = data;
    op->fd = -1;
    snprintf(op->what, sizeof(op->what), "%s", what != NULL ? what : "File");
    if (kind != OP_LIST) {
        /* Checked here, on the loop, so a huge or hostile name is never copied to
         * the pool: the job then only reports the outcome. */
        op->err = store_check_for(s, name, len, op->msg, sizeof(op->msg));
        if (op->err == 0) {
            memcpy(op->name, name, len);
            op->name[len] = '\0';
            op->len = len;
        }
    }
    return op;
}

static void op_free(struct rd_op *op)
{
    free(op->buf);
    if (op->fd >= 0)
        close(op->fd);
    json_decref(op->list);
    free(op->pattern);
    free(op);
}

/* ---- Work (pool thread) ------------------------------------------------------------ */

static void do_read(struct rd_op *op)
{
    struct stat st;
    size_t max = op->max < SIZE_MAX - 2 ? op->max : SIZE_MAX - 2;
    size_t limit = max + 1; /* read one byte past the cap to see a file that grew */
    size_t cap;
    size_t used = 0;
    char disp[STORE_MSG_MAX / 2];
    int rc;

    rc = store_resolve(op->store, op->name, op->len, op->what, true, &op->fd, &st, op->msg,
                       sizeof(op->msg));
    if (rc != 0)
        goto fail;
    op->st.size = (uint64_t)st.st_size;
    op->st.mtime = store_mtime(&st);
    if ((uint64_t)st.st_size > (uint64_t)max)
        goto toobig;
    cap = (size_t)st.st_size + 1;
    op->buf = malloc(cap + 1);
    if (op->buf == NULL) {
        rc = SZ_ENOMEM;
        snprintf(op->msg, sizeof(op->msg), "Out of memory reading %.200s", op->name);
        goto fail;
    }
    for (;;) {
        ssize_t n;

        if (used == cap) {
            size_t ncap;
            char *nb;

            if (cap >= limit)
                break;
            ncap = limit - cap > cap + 65536 ? cap * 2 + 65536 : limit;
            nb = realloc(op->buf, ncap + 1);
            if (nb == NULL) {
                rc = SZ_ENOMEM;
                snprintf(op->msg, sizeof(op->msg), "Out of memory reading %.200s", op->name);
                goto fail;
            }
            op->buf = nb;
            cap = ncap;
        }
        n = read(op->fd, op->buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            store_fmt_name(disp, sizeof(disp), op->name, op->len);
            snprintf(op->msg, sizeof(op->msg), "Cannot read %s: %s", disp, uv_strerror(rc));
            goto fail;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (used > max) {
        op->st.size = used;
        goto toobig;
    }
    op->buf[used] = '\0';
    op->buflen = used;
    op->st.size = used;
    close(op->fd);
    op->fd = -1;
    return;

toobig:
    rc = SZ_ETOOBIG;
    store_fmt_name(disp, sizeof(disp), op->name, op->len);
    snprintf(op->msg, sizeof(op->msg), "%s is too large: %s is %llu bytes, the limit is %zu bytes",
             op->what, disp, (unsigned long long)op->st.size, max);
fail:
    op->err = rc;
    free(op->buf);
    op->buf = NULL;
    if (op->fd >= 0)
        close(op->fd);
    op->fd = -1;
}

static void do_open(struct rd_op *op, bool for_read)
{
    struct stat st;
    int rc = store_resolve(op->store, op->name, op->len, op->what, for_read, &op->fd, &st, op->msg,
                           sizeof(op->msg));
    if (rc != 0) {
        op->err = rc;
        return;
    }
    op->st.size = (uint64_t)st.st_size;
    op->st.mtime = store_mtime(&st);
}

struct entry {
    char *name;
    uint64_t size;
    double mtime;
    char ext[16];
};

static int entry_cmp(const void *a, const void *b, void *arg)
{
    const struct entry *x = a;
    const struct entry *y = b;
    const struct rd_op *op = arg;
    int c = 0;

    if (op->sort == STORE_SORT_SIZE)
        c = (x->size > y->size) - (x->size < y->size);
    else if (op->sort == STORE_SORT_MODIFIED)
        c = (x->mtime > y->mtime) - (x->mtime < y->mtime);
    if (c == 0)
        c = strcmp(x->name, y->name);
    return op->descending ? -c : c;
}

static bool ext_ok(const char *name, size_t len, const char *const *set, char *ext, size_t extlen)
{
    store_name_ext(name, len, ext, extlen);
    if (set == NULL)
        return true;
    for (; *set != NULL; set++) {
        if (strcmp(*set, ext) == 0)
            return true;
    }
    return false;
}

static json_t *entry_json(const struct entry *e)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (json_object_set_new(o, "filename", json_string(e->name)) != 0 ||
        json_object_set_new(o, "size_bytes", json_integer((json_int_t)e->size)) != 0 ||
        json_object_set_new(o, "modified_timestamp", json_integer((json_int_t)e->mtime)) != 0 ||
        json_object_set_new(o, "file_type", json_string(e->ext)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void do_list(struct rd_op *op)
{
    struct entry *v = NULL;
    size_t n = 0;
    size_t cap = 0;
    DIR *dir = NULL;
    struct dirent *de;
    int dfd;
    int rc = 0;

    /* A new open file description of its own: a dup would share the directory
     * offset with every other listing in flight. */
    dfd = openat(op->store->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (dir = fdopendir(dfd)) == NULL) {
        rc = -errno;
        if (dfd >= 0)
            close(dfd);
        snprintf(op->msg, sizeof(op->msg), "Cannot list the media directory: %s", uv_strerror(rc));
        goto out;
    }
    for (;;) {
        struct stat st;
        struct entry e;
        size_t len;

        errno = 0;
        de = readdir(dir);
        if (de == NULL) {
            if (errno != 0) {
                rc = -errno;
                snprintf(op->msg, sizeof(op->msg), "Cannot list the media directory: %s",
                         uv_strerror(rc));
                goto out;
            }
            break;
        }
        /* Hidden entries include our own temporaries and ".", "..". */
        if (de->d_name[0] == '.')
            continue;
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
            continue;
        len = strlen(de->d_name);
        if (!store_utf8_valid(de->d_name, len))
            continue;
        if (op->pattern != NULL &&
            !store_glob_match(op->pattern, op->plen, de->d_name, len, op->casefold))
            continue;
        if (!ext_ok(de->d_name, len, op->exts, e.ext, sizeof(e.ext)))
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct entry *nv = realloc(v, ncap * sizeof(*v));
            if (nv == NULL) {
                rc = SZ_ENOMEM;
                snprintf(op->msg, sizeof(op->msg), "Out of memory listing the media directory");
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        e.name = strdup(de->d_name);
        if (e.name == NULL) {
            rc = SZ_ENOMEM;
            snprintf(op->msg, sizeof(op->msg), "Out of memory listing the media directory");
            goto out;
        }
        e.size = (uint64_t)st.st_size;
        e.mtime = store_mtime(&st);
        v[n++] = e;
    }
    if (n > 1)
        qsort_r(v, n, sizeof(*v), entry_cmp, op);
    op->total = n;
    op->list = json_array();
    if (op->list == NULL) {
        rc = SZ_ENOMEM;
        snprintf(op->msg, sizeof(op->msg), "Out of memory listing the media directory");
        goto out;
    }
    for (size_t i = 0; i < n && i < op->limit; i++) {
        if (json_array_append_new(op->list, entry_json(&v[i])) != 0) {
            rc = SZ_ENOMEM;
            snprintf(op->msg, sizeof(op->msg), "Out of memory listing the media directory");
            goto out;
        }
    }
out:
    if (dir != NULL)
        closedir(dir);
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    if (rc != 0) {
        op->err = rc;
        json_decref(op->list);
        op->list = NULL;
    }
}

static void work_cb(uv_work_t *req)
{
    struct rd_op *op = req->data;

    if (op->err != 0)
        return;
    switch (op->kind) {
    case OP_READ:
        do_read(op);
        break;
    case OP_OPEN:
        do_open(op, true);
        break;
    case OP_STAT:
        do_open(op, false);
        break;
    case OP_LIST:
        do_list(op);
        break;
    }
}

/* ---- Completion (loop thread) -------------------------------------------------------- */

static void after_cb(uv_work_t *req, int status)
{
    struct rd_op *op = req->data;
    struct store *s = op->store;
    const char *msg = op->err != 0 ? op->msg : NULL;
    const struct store_stat *st = op->err != 0 ? NULL : &op->st;
    char *buf;
    int fd;
    json_t *list;

    if (status != 0 && op->err == 0) { /* uv_cancel: not used, but be exact */
        op->err = SZ_ECANCELLED;
        snprintf(op->msg, sizeof(op->msg), "cancelled");
        msg = op->msg;
        st = NULL;
    }
    switch (op->kind) {
    case OP_READ:
        buf = op->err != 0 ? NULL : op->buf;
        op->buf = NULL;
        op->cb.read(op->data, op->err, msg, buf, buf != NULL ? op->buflen : 0, st);
        break;
    case OP_OPEN:
        fd = op->err != 0 ? -1 : op->fd;
        op->fd = -1;
        op->cb.fd(op->data, op->err, msg, fd, st);
        break;
    case OP_STAT:
        op->cb.stat(op->data, op->err, msg, st);
        break;
    case OP_LIST:
        list = op->err != 0 ? NULL : op->list;
        op->list = NULL;
        op->cb.list(op->data, op->err, msg, list, list != NULL ? op->total : 0);
        break;
    }
    op_free(op);
    store_unref(s);
}

static int submit(struct rd_op *op)
{
    int rc;

    op->work.data = op;
    rc = uv_queue_work(op->store->loop, &op->work, work_cb, after_cb);
    if (rc != 0) {
        op_free(op);
        return rc;
    }
    store_ref(op->store);
    return 0;
}

int store_read_file(struct store *store, const char *name, size_t len, const char *what,
                    size_t max_bytes, store_read_fn *cb, void *data)
{
    struct rd_op *op = op_new(store, OP_READ, name, len, what, data);

    if (op == NULL)
        return SZ_ENOMEM;
    op->cb.read = cb;
    op->max = max_bytes;
    return submit(op);
}

int store_open_read(struct store *store, const char *name, size_t len, const char *what,
                    store_fd_fn *cb, void *data)
{
    struct rd_op *op = op_new(store, OP_OPEN, name, len, what, data);

    if (op == NULL)
        return SZ_ENOMEM;
    op->cb.fd = cb;
    return submit(op);
}

int store_stat(struct store *store, const char *name, size_t len, const char *what,
               store_stat_fn *cb, void *data)
{
    struct rd_op *op = op_new(store, OP_STAT, name, len, what, data);

    if (op == NULL)
        return SZ_ENOMEM;
    op->cb.stat = cb;
    return submit(op);
}

int store_list(struct store *store, const struct store_list_opts *opts, store_list_fn *cb,
               void *data)
{
    struct rd_op *op = op_new(store, OP_LIST, NULL, 0, NULL, data);

    if (op == NULL)
        return SZ_ENOMEM;
    op->cb.list = cb;
    op->casefold = opts->casefold;
    op->exts = opts->exts;
    op->sort = opts->sort;
    op->descending = opts->descending;
    op->limit = opts->limit;
    if (opts->pattern != NULL && opts->pattern[0] != '\0') {
        op->plen = strlen(opts->pattern);
        op->err = store_check_pattern(opts->pattern, op->plen, op->msg, sizeof(op->msg));
        if (op->err == 0) {
            op->pattern = strdup(opts->pattern);
            if (op->pattern == NULL) {
                op_free(op);
                return SZ_ENOMEM;
            }
        }
    }
    return submit(op);
}
