/* Atomic writes into a media root.
 *
 * A writer owns an unnamed O_TMPFILE inode in the root (or, where the
 * filesystem has none, a hidden ".sanzaru-tmp-*" file made with O_EXCL). Data
 * is queued on the loop and written by one job at a time on libuv's pool: a
 * job takes every block queued so far, writes them with pwritev at their
 * offsets and, with STORE_SHA256, feeds them to the digest in order (one job
 * at a time is what keeps the hash in file order, and what keeps the hashing
 * off the loop). The caller applies backpressure on the bytes queued. Commit
 * waits for the writes, fdatasyncs, and links the inode into place:
 *   - without overwrite: linkat to the final name, which fails with EEXIST if
 *     anything is there (race-free; with STORE_UNIQUE the next "-N" suffix is
 *     tried);
 *   - with overwrite: linkat to a hidden unique name, then renameat over the
 *     final name (atomic replace).
 * Abort closes the inode (an O_TMPFILE simply vanishes) or unlinks the hidden
 * file. A name with a directory (STORE_OPEN_SUBDIRS roots) is published in
 * that directory, opened beneath the root without following symlinks; the
 * temporary lives there too, so the link never crosses a file system. A
 * writer may instead hand its fd to one pool job that writes (an encoder) or
 * reads (an upload) the file itself; a content check given by the caller then
 * reads the first bytes back in the publishing job, before anything appears.
 * Scratch writers (store_scratch_open) are never published. Opening, writing, publishing and
 * cleaning up each run as uv_queue_work jobs; the writer's state is touched only on the loop
 * thread, except by the one job in flight, which sees only fields the loop leaves alone while it
 * runs (the batch, the fd, the digest, its own results).
 *
 * Publishing jobs that fdatasync are limited to STORE_SYNC_MAX at once per
 * store; the others wait on the loop, holding no data. An fdatasync holds its
 * thread for as long as the disk takes, and with every thread of the pool in
 * fdatasync the writes of the downloads still running would queue behind them,
 * each holding its high-water mark of blocks in memory (32 downloads with fsync
 * on peaked at 57 MiB that way, against 23 MiB with fsync off). */
#include "fmacros.h"

#include "store/store_int.h"

#include "core/err.h"
#include "core/list.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/sha256.h"
#include "core/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define UNIQUE_MAX 9999
/* Blocks one write job takes at most (one pwritev). */
#define BATCH_MAX 64
/* Bytes all the writers of a store should keep queued at most, together
 * (store_writer_queue_share). */
#define STORE_QUEUE_BUDGET ((size_t)8 << 20)
/* Publishing jobs that fdatasync, at once per store (see above). */
#define STORE_SYNC_MAX 2

enum wstate { W_OPENING, W_OPEN, W_COMMIT };

/* One queued write; freed after its callback. */
struct wreq {
    struct sz_link link; /* in the writer's queue, then in the batch of the job */
    const char *buf;
    size_t len;
    store_status_fn *cb;
    void *data;
};

struct store_writer {
    struct store *store;
    char name[STORE_PATH_MAX + 1]; /* the requested name (a relative path in SUBDIRS roots) */
    size_t len;
    size_t base; /* offset of the last component in name */
    int flags;
    int fd;
    int pdirfd;   /* the name's directory when it is a subdirectory, else -1 (the root) */
    bool scratch; /* store_scratch_open: never published */
    store_check_fn *check;
    void *check_arg;
    bool named_tmp; /* fallback: a hidden file named tmpname holds the data */
    char tmpname[32];
    enum wstate state;
    bool aborted;
    bool finishing;    /* the publish or cleanup job is queued */
    bool fin_publish;  /* that job publishes (else it only cleans up) */
    bool sync_wait;    /* waiting in the store's sync queue (link) */
    bool sync_slot;    /* holds one of the store's sync slots */
    uint64_t next_off; /* bytes queued */
    uint64_t job_off;  /* bytes handed to write jobs */
    size_t inflight;   /* bytes queued, not yet written */
    int err;           /* sticky: the first failure */
    char msg[STORE_MSG_MAX];
    struct sz_link link; /* in the store's sync queue */

    struct sz_link queue; /* writes not yet taken by a job (loop thread) */
    struct sz_link batch; /* writes the job in flight owns */
    bool writing;         /* a write job is queued or running */
    uv_work_t wwork;
    /* read by the write job */
    uint64_t batch_off; /* file offset of the batch's first byte */
    bool batch_skip;    /* aborted or failed before the job: write nothing */
    /* written by the write job */
    int batch_errno;

    bool hashing; /* STORE_SHA256: sha is live */
    struct sz_sha256 sha;

    store_writer_open_fn *open_cb;
    void *open_data;
    store_commit_fn *commit_cb;
    void *commit_data;
    store_status_fn *abort_cb;
    void *abort_data;

    uv_work_t work;
    /* written by the publish job */
    int fin_err;
    char fin_msg[STORE_MSG_MAX];
    char final[STORE_PATH_MAX + 1];
    char hex[SZ_SHA256_HEX_LEN + 1]; /* the digest, with STORE_SHA256 */
};

static void maybe_finish(struct store_writer *w);

/* The directory the file is published in: the root, or the name's subdirectory. */
static int wdir(const struct store_writer *w)
{
    return w->pdirfd >= 0 ? w->pdirfd : w->store->dirfd;
}

/* ---- Pool-thread helpers ------------------------------------------------------------ */

static void random_tmpname(char *out, size_t outlen)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char rnd[12];
    char tail[sizeof(rnd) + 1];

    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
        /* Uniqueness, not secrecy, is what matters here: O_EXCL and EEXIST retries
         * handle the rest. */
        struct timespec ts;
        uint64_t x;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
            (uint64_t)(uintptr_t)out;
        for (size_t i = 0; i < sizeof(rnd); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rnd[i] = (unsigned char)x;
        }
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        tail[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
    tail[sizeof(rnd)] = '\0';
    snprintf(out, outlen, "%s%s", STORE_TMP_PREFIX, tail);
}

/* Gives the O_TMPFILE inode fd the name `name` in dirfd. AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH on older kernels; /proc/self/fd works for everyone. */
static int link_tmpfile(int fd, int dirfd, const char *name)
{
    char proc[64];

    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOENT && errno != EPERM && errno != EINVAL)
        return -1;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
}

/* The i-th candidate for the last component: itself, then stem-1.ext,
 * stem-2.ext ... with the stem shortened (at a UTF-8 boundary) when the result
 * would pass 255 bytes. Returns false when no candidate fits. */
static bool candidate(const struct store_writer *w, unsigned i, char *out, size_t outlen)
{
    const char *name = w->name + w->base;
    size_t len = w->len - w->base;
    char suffix[16];
    size_t stem = len;
    size_t ext_at = len;
    size_t extlen = 0;
    size_t slen;

    if (i == 0) {
        snprintf(out, outlen, "%s", name);
        return true;
    }
    for (size_t k = len; k > 1; k--) {
        if (name[k - 1] == '.') {
            stem = ext_at = k - 1;
            extlen = len - ext_at; /* with the dot */
            break;
        }
    }
    slen = (size_t)snprintf(suffix, sizeof(suffix), "-%u", i);
    if (stem + slen + extlen > STORE_NAME_MAX) {
        if (slen + extlen >= STORE_NAME_MAX)
            return false;
        stem = sz_utf8_prefix(name, stem, STORE_NAME_MAX - slen - extlen);
        if (stem == 0)
            return false;
    }
    snprintf(out, outlen, "%.*s%s%.*s", (int)stem, name, suffix, (int)extlen, name + ext_at);
    return true;
}

static void set_fin(struct store_writer *w, int err, const char *fmt, const char *name)
    __attribute__((format(printf, 3, 0)));

static void set_fin(struct store_writer *w, int err, const char *fmt, const char *name)
{
    char disp[STORE_MSG_MAX / 2];

    store_fmt_name(disp, sizeof(disp), name, strlen(name));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(w->fin_msg, sizeof(w->fin_msg), fmt, disp);
#pragma GCC diagnostic pop
    w->fin_err = err;
}

/* An error from linkat/renameat onto the final name. */
static void publish_error(struct store_writer *w, int e)
{
    if (e == EEXIST) {
        set_fin(w, SZ_EEXISTS, "File already exists: %s (pass overwrite: true to replace it)",
                w->name);
    } else if (e == EISDIR || e == ENOTDIR || e == ENOTEMPTY) {
        set_fin(w, SZ_ENOTREG, "Output file is not a regular file: %s", w->name);
    } else {
        w->fin_err = store_write_errmsg(e, w->name, w->fin_msg, sizeof(w->fin_msg));
    }
}

/* Links or renames the data into place under a final name. Returns 0 with
 * w->final set, or sets w->fin_err. The temporary (named or not) is left to
 * the caller to drop. */
static int publish_link(struct store_writer *w)
{
    int dirfd = wdir(w);
    const char *base = w->name + w->base;
    bool overwrite = (w->flags & STORE_OVERWRITE) != 0;
    bool unique = !overwrite && (w->flags & STORE_UNIQUE) != 0;
    char cand[STORE_NAME_MAX + 1];
    char hidden[32];
    int r;

    if (overwrite) {
        if (w->named_tmp) {
            snprintf(hidden, sizeof(hidden), "%s", w->tmpname);
        } else {
            for (int tries = 0;; tries++) {
                random_tmpname(hidden, sizeof(hidden));
                if (link_tmpfile(w->fd, dirfd, hidden) == 0)
                    break;
                if (errno != EEXIST || tries > 100) {
                    w->fin_err = store_write_errmsg(errno, w->name, w->fin_msg, sizeof(w->fin_msg));
                    return -1;
                }
            }
        }
        if (renameat(dirfd, hidden, dirfd, base) != 0) {
            int e = errno;
            if (!w->named_tmp)
                unlinkat(dirfd, hidden, 0);
            publish_error(w, e);
            return -1;
        }
        if (w->named_tmp)
            w->tmpname[0] = '\0'; /* renamed away: nothing left to unlink */
        snprintf(w->final, sizeof(w->final), "%s", w->name);
        return 0;
    }

    for (unsigned i = 0;; i++) {
        if (i > UNIQUE_MAX || !candidate(w, i, cand, sizeof(cand))) {
            set_fin(w, SZ_EEXISTS, "Cannot find a free name like %s", w->name);
            return -1;
        }
        if (w->named_tmp) {
            r = linkat(dirfd, w->tmpname, dirfd, cand, 0);
            if (r != 0 && (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK))
                /* No hard links here (vfat, some FUSE): a no-replace rename keeps
                 * the guarantee. */
                r = renameat2(dirfd, w->tmpname, dirfd, cand, RENAME_NOREPLACE);
        } else {
            r = link_tmpfile(w->fd, dirfd, cand);
        }
        if (r == 0)
            break;
        if (errno == EEXIST && unique)
            continue;
        publish_error(w, errno);
        return -1;
    }
    snprintf(w->final, sizeof(w->final), "%.*s%s", (int)w->base, w->name, cand);
    return 0;
}

/* Closes the fd and removes a named temporary, if any. Pool thread. */
static void drop_tmp(struct store_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->named_tmp && w->tmpname[0] != '\0')
        unlinkat(wdir(w), w->tmpname, 0);
    w->tmpname[0] = '\0';
}

/* ---- Open --------------------------------------------------------------------------- */

/* Opens the subdirectory a relative name publishes into, beneath the root
 * (no symlink on the way). Returns 0 or sets w->err. */
static int open_parent(struct store_writer *w)
{
    char dir[STORE_PATH_MAX + 1];
    char disp[STORE_MSG_MAX / 2];
    int e;

    if (w->base == 0)
        return 0;
    snprintf(dir, sizeof(dir), "%.*s", (int)(w->base - 1), w->name);
    w->pdirfd = store_openat_beneath(w->store->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->pdirfd >= 0)
        return 0;
    e = errno;
    store_fmt_name(disp, sizeof(disp), dir, strlen(dir));
    if (e == ENOENT || e == ENOTDIR) {
        snprintf(w->msg, sizeof(w->msg), "Directory not found: %s (create it first)", disp);
        w->err = SZ_ENOTFOUND;
    } else if (e == ELOOP) {
        snprintf(w->msg, sizeof(w->msg), "Output directory cannot be a symbolic link: %s", disp);
        w->err = SZ_ESYMLINK;
    } else if (e == EXDEV) {
        snprintf(w->msg, sizeof(w->msg), "Invalid filename: path traversal detected in '%s'", disp);
        w->err = SZ_ETRAVERSAL;
    } else {
        w->err = store_write_errmsg(e, w->name, w->msg, sizeof(w->msg));
    }
    return w->err;
}

/* Refuses an existing entry under the name unless the flags allow it. Returns
 * 0 or sets w->err. */
static int check_existing(struct store_writer *w)
{
    char disp[STORE_MSG_MAX / 2];
    struct stat st;

    store_fmt_name(disp, sizeof(disp), w->name, w->len);
    if (fstatat(wdir(w), w->name + w->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (w->flags & STORE_OVERWRITE) {
            if (S_ISLNK(st.st_mode)) {
                snprintf(w->msg, sizeof(w->msg), "Output file cannot be a symbolic link: %s", disp);
                w->err = SZ_ESYMLINK;
            } else if (!S_ISREG(st.st_mode)) {
                snprintf(w->msg, sizeof(w->msg), "Output file is not a regular file: %s", disp);
                w->err = SZ_ENOTREG;
            }
        } else if (!(w->flags & STORE_UNIQUE)) {
            snprintf(w->msg, sizeof(w->msg),
                     "File already exists: %s (pass overwrite: true to replace it)", disp);
            w->err = SZ_EEXISTS;
        }
    } else if (errno != ENOENT) {
        w->err = store_write_errmsg(errno, w->name, w->msg, sizeof(w->msg));
    }
    return w->err;
}

static void open_work(uv_work_t *req)
{
    struct store_writer *w = req->data;
    struct store *s = w->store;

    if (w->err != 0)
        return;
    if (!w->scratch && (open_parent(w) != 0 || check_existing(w) != 0))
        return;

    /* Read-write: a pool job given store_writer_fd may read the file back. */
    if (!(s->flags & STORE_OPEN_NO_TMPFILE)) {
        w->fd = openat(wdir(w), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
        if (w->fd >= 0)
            return;
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
            w->err = store_write_errmsg(errno, w->name, w->msg, sizeof(w->msg));
            return;
        }
        SZ_DEBUG("O_TMPFILE unsupported in %s; using a hidden temporary", s->path);
    }
    w->named_tmp = true;
    for (int tries = 0; tries < 100; tries++) {
        random_tmpname(w->tmpname, sizeof(w->tmpname));
        w->fd =
            openat(wdir(w), w->tmpname, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (w->fd >= 0) {
            if (w->scratch) { /* never published: only the open fd keeps it */
                unlinkat(wdir(w), w->tmpname, 0);
                w->named_tmp = false;
                w->tmpname[0] = '\0';
            }
            return;
        }
        if (errno != EEXIST)
            break;
    }
    w->tmpname[0] = '\0';
    w->err = store_write_errmsg(errno, w->name, w->msg, sizeof(w->msg));
}

static void free_writer(struct store_writer *w)
{
    struct store *s = w->store;
    if (w->state != W_OPENING)
        s->writers--;
    if (w->pdirfd >= 0) /* closing a directory fd does no I/O */
        close(w->pdirfd);
    sz_sha256_discard(&w->sha);
    free(w);
    store_unref(s);
}

static void open_after(uv_work_t *req, int status)
{
    struct store_writer *w = req->data;
    (void)status;

    if (w->err != 0) {
        w->open_cb(w->open_data, w->err, w->msg, NULL);
        free_writer(w);
        return;
    }
    w->state = W_OPEN;
    w->store->writers++;
    w->open_cb(w->open_data, 0, NULL, w);
}

/* Allocates and queues the opening job of a writer for name (NULL for a
 * scratch file). */
static int writer_open(struct store *store, const char *name, size_t len, int flags, bool scratch,
                       store_writer_open_fn *cb, void *data)
{
    struct store_writer *w = calloc(1, sizeof(*w));
    int rc;

    if (w == NULL)
        return SZ_ENOMEM;
    w->store = store;
    w->flags = flags;
    w->fd = -1;
    w->pdirfd = -1;
    w->scratch = scratch;
    w->state = W_OPENING;
    w->open_cb = cb;
    w->open_data = data;
    sz_list_init(&w->queue);
    sz_list_init(&w->batch);
    sz_list_init(&w->link);
    if (scratch) {
        name = "(temporary file)";
        len = strlen(name);
    } else {
        w->err = store_check_for(store, name, len, w->msg, sizeof(w->msg));
    }
    if (w->err == 0 && (flags & STORE_SHA256)) {
        if (sz_sha256_init(&w->sha) != 0) {
            free(w);
            return SZ_ENOMEM;
        }
        w->hashing = true;
    }
    if (w->err == 0) {
        const char *slash;

        memcpy(w->name, name, len);
        w->name[len] = '\0';
        w->len = len;
        slash = scratch ? NULL : strrchr(w->name, '/');
        w->base = slash != NULL ? (size_t)(slash - w->name) + 1 : 0;
    }
    w->work.data = w;
    rc = uv_queue_work(store->loop, &w->work, open_work, open_after);
    if (rc != 0) {
        sz_sha256_discard(&w->sha);
        free(w);
        return rc;
    }
    store_ref(store);
    return 0;
}

int store_writer_open(struct store *store, const char *name, size_t len, int flags,
                      store_writer_open_fn *cb, void *data)
{
    return writer_open(store, name, len, flags, false, cb, data);
}

int store_scratch_open(struct store *store, store_writer_open_fn *cb, void *data)
{
    return writer_open(store, NULL, 0, 0, true, cb, data);
}

/* ---- Write ---------------------------------------------------------------------------- */

/* Pool thread: writes the batch at batch_off, then hashes it. */
static void write_work(uv_work_t *req)
{
    struct store_writer *w = req->data;
    struct iovec iov[BATCH_MAX];
    struct sz_link *l;
    int n = 0;
    uint64_t off = w->batch_off;

    if (w->batch_skip)
        return;
    SZ_LIST_FOREACH(l, &w->batch)
    {
        struct wreq *r = container_of(l, struct wreq, link);
        iov[n].iov_base = (void *)(uintptr_t)r->buf;
        iov[n].iov_len = r->len;
        n++;
    }
    for (int i = 0; i < n;) {
        ssize_t k = pwritev(w->fd, iov + i, n - i, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            w->batch_errno = errno;
            return;
        }
        if (k == 0) { /* no progress and no reason: report it as an I/O error */
            w->batch_errno = EIO;
            return;
        }
        off += (uint64_t)k;
        for (size_t left = (size_t)k; left > 0 && i < n;) {
            if (left >= iov[i].iov_len) {
                left -= iov[i].iov_len;
                iov[i].iov_len = 0;
                i++;
            } else {
                iov[i].iov_base = (char *)iov[i].iov_base + left;
                iov[i].iov_len -= left;
                left = 0;
            }
        }
        while (i < n && iov[i].iov_len == 0)
            i++;
    }
    /* With fsync on, start writing the batch to disk now rather than leaving
     * it to the commit's fdatasync: the page cache would otherwise hold every
     * byte of every download until its commit, and the disk would sit idle
     * while the network delivers. This only starts the writeback; when the
     * disk's queue is full it waits, and that wait is the backpressure the
     * transfer should feel. */
    if (store_fsync_enabled(w->store))
        (void)sync_file_range(w->fd, (off_t)w->batch_off, (off_t)(off - w->batch_off),
                              SYNC_FILE_RANGE_WRITE);
    if (w->hashing) {
        SZ_LIST_FOREACH(l, &w->batch)
        {
            struct wreq *r = container_of(l, struct wreq, link);
            if (sz_sha256_update(&w->sha, r->buf, r->len) != 0) {
                w->batch_errno = EIO;
                return;
            }
        }
    }
}

static void start_writes(struct store_writer *w);

/* Loop thread: reports every write of the batch, then starts the next. */
static void write_after(uv_work_t *req, int status)
{
    struct store_writer *w = req->data;
    struct sz_link done, *l, *tmp;
    int err = 0;
    (void)status;

    /* Detached first: a callback may queue more writes (a new batch) or abort. */
    sz_list_init(&done);
    sz_list_splice_back(&done, &w->batch);
    w->writing = false;
    if (w->batch_errno != 0) {
        err = -w->batch_errno;
        if (w->err == 0)
            w->err = store_write_errmsg(w->batch_errno, w->name, w->msg, sizeof(w->msg));
    } else if (w->batch_skip) {
        err = w->err != 0 ? w->err : SZ_ECANCELLED;
    }
    SZ_LIST_FOREACH_SAFE(l, tmp, &done)
    {
        struct wreq *r = container_of(l, struct wreq, link);
        sz_list_remove(l);
        w->inflight -= r->len;
        if (r->cb != NULL) {
            if (w->aborted)
                r->cb(r->data, SZ_ECANCELLED, "cancelled");
            else
                r->cb(r->data, err, err != 0 ? w->msg : NULL);
        }
        free(r);
    }
    start_writes(w);
    maybe_finish(w);
}

/* Hands every queued write to one job, unless a job is already out. After an
 * abort or a failure the job writes nothing and only reports (so no callback
 * runs inside the call that caused it). */
static void start_writes(struct store_writer *w)
{
    struct sz_link *l;
    int n = 0;

    if (w->writing || sz_list_empty(&w->queue))
        return;
    /* Writes are contiguous: the batch starts where the last one ended. */
    w->batch_off = w->job_off;
    while (n < BATCH_MAX && (l = sz_list_first(&w->queue)) != NULL) {
        sz_list_remove(l);
        sz_list_push_back(&w->batch, l);
        w->job_off += container_of(l, struct wreq, link)->len;
        n++;
    }
    w->batch_skip = w->aborted || w->err != 0;
    w->batch_errno = 0;
    w->writing = true;
    w->wwork.data = w;
    /* Fails only for a NULL work callback. */
    (void)uv_queue_work(w->store->loop, &w->wwork, write_work, write_after);
}

int store_writer_write(struct store_writer *w, const void *buf, size_t len, store_status_fn *cb,
                       void *data)
{
    struct wreq *r;

    if (w->state != W_OPEN || w->aborted)
        return SZ_EINVAL;
    if (w->err != 0)
        return w->err;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return SZ_ENOMEM;
    r->buf = buf;
    r->len = len;
    r->cb = cb;
    r->data = data;
    sz_list_push_back(&w->queue, &r->link);
    w->next_off += len;
    w->inflight += len;
    start_writes(w);
    return 0;
}

size_t store_writer_queue_share(const struct store_writer *w)
{
    return STORE_QUEUE_BUDGET / (w->store->writers > 0 ? w->store->writers : 1);
}

size_t store_writer_inflight(const struct store_writer *w)
{
    return w->inflight;
}

uint64_t store_writer_size(const struct store_writer *w)
{
    return w->next_off;
}

int store_writer_error(const struct store_writer *w, const char **pmsg)
{
    if (pmsg != NULL)
        *pmsg = w->err != 0 ? w->msg : NULL;
    return w->err;
}

/* ---- Commit and abort ------------------------------------------------------------------- */

/* Runs the writer's content check on the file's first bytes. 0 or sets fin_err. */
static int run_check(struct store_writer *w)
{
    char head[STORE_CHECK_LEN];
    size_t len = 0;

    while (len < sizeof(head)) {
        ssize_t n = pread(w->fd, head + len, sizeof(head) - len, (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            w->fin_err = store_write_errmsg(errno, w->name, w->fin_msg, sizeof(w->fin_msg));
            return w->fin_err;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    w->fin_err = w->check(head, len, w->fin_msg, sizeof(w->fin_msg), w->check_arg);
    if (w->fin_err != 0 && w->fin_msg[0] == '\0')
        set_fin(w, w->fin_err, "%s did not pass its content check", w->name);
    return w->fin_err;
}

static void finish_work(uv_work_t *req)
{
    struct store_writer *w = req->data;

    if (!w->fin_publish) {
        drop_tmp(w);
        return;
    }
    if (w->check != NULL && run_check(w) != 0) {
        drop_tmp(w);
        return;
    }
    if (w->hashing && sz_sha256_final_hex(&w->sha, w->hex) != 0) {
        set_fin(w, SZ_EIO, "Could not compute the SHA-256 of %s", w->name);
        drop_tmp(w);
        return;
    }
    if (store_fsync_enabled(w->store) && fdatasync(w->fd) != 0) {
        w->fin_err = store_write_errmsg(errno, w->name, w->fin_msg, sizeof(w->fin_msg));
        drop_tmp(w);
        return;
    }
    if (publish_link(w) != 0) {
        drop_tmp(w);
        return;
    }
    drop_tmp(w); /* after a link, the named temporary's own name goes */
    /* The new directory entry must survive a crash too. */
    if (store_fsync_enabled(w->store) && fsync(wdir(w)) != 0)
        SZ_DEBUG("fsync of %s failed: %s", w->store->path, uv_strerror(-errno));
}

/* Gives w's sync slot to the first writer waiting for one. */
static void release_sync_slot(struct store_writer *w)
{
    struct store *s = w->store;
    struct sz_link *l;

    if (!w->sync_slot)
        return;
    w->sync_slot = false;
    s->syncing--;
    if ((l = sz_list_first(&s->sync_queue)) != NULL) {
        struct store_writer *next = container_of(l, struct store_writer, link);
        sz_list_remove(l);
        next->sync_wait = false;
        maybe_finish(next);
    }
}

static void finish_after(uv_work_t *req, int status)
{
    struct store_writer *w = req->data;
    char disp[STORE_MSG_MAX / 2];
    (void)status;

    release_sync_slot(w);
    if (w->fin_publish) {
        if (w->fin_err != 0)
            w->commit_cb(w->commit_data, w->fin_err, w->fin_msg, NULL, 0);
        else
            w->commit_cb(w->commit_data, 0, NULL, w->final, w->next_off);
    } else {
        if (w->commit_cb != NULL) {
            if (w->aborted) {
                store_fmt_name(disp, sizeof(disp), w->name, w->len);
                snprintf(w->fin_msg, sizeof(w->fin_msg), "Writing %s was cancelled", disp);
                w->commit_cb(w->commit_data, SZ_ECANCELLED, w->fin_msg, NULL, 0);
            } else {
                w->commit_cb(w->commit_data, w->err, w->msg, NULL, 0);
            }
        }
        if (w->abort_cb != NULL)
            w->abort_cb(w->abort_data, 0, NULL);
    }
    free_writer(w);
}

static void maybe_finish(struct store_writer *w)
{
    struct store *s = w->store;

    if (w->writing || !sz_list_empty(&w->queue) || w->finishing || w->sync_wait)
        return;
    if (w->state != W_COMMIT && !w->aborted)
        return;
    w->fin_publish = !w->aborted && w->err == 0;
    if (w->fin_publish && store_fsync_enabled(s) && !w->sync_slot) {
        if (s->syncing >= STORE_SYNC_MAX) {
            w->sync_wait = true;
            sz_list_push_back(&s->sync_queue, &w->link);
            return;
        }
        s->syncing++;
        w->sync_slot = true;
    }
    w->finishing = true;
    w->work.data = w;
    if (uv_queue_work(s->loop, &w->work, finish_work, finish_after) != 0) {
        /* Cannot happen with a valid loop and work callback; never leak the
         * temporary even so. */
        SZ_ERROR("store: cannot queue the finishing job for %s", w->name);
        w->fin_publish = false;
        drop_tmp(w);
        finish_after(&w->work, 0);
    }
}

int store_writer_commit(struct store_writer *w, store_commit_fn *cb, void *data)
{
    if (w->state != W_OPEN || w->aborted || w->scratch)
        return SZ_EINVAL;
    w->state = W_COMMIT;
    w->commit_cb = cb;
    w->commit_data = data;
    maybe_finish(w);
    return 0;
}

int store_writer_abort(struct store_writer *w, store_status_fn *cb, void *data)
{
    if (w->aborted)
        return SZ_EINVAL;
    if (w->finishing)
        return SZ_EBUSY;
    if (w->sync_wait) { /* committed, waiting for a sync slot: not too late */
        sz_list_remove(&w->link);
        w->sync_wait = false;
    }
    w->aborted = true;
    w->abort_cb = cb;
    w->abort_data = data;
    start_writes(w); /* queued writes are reported as cancelled, from a job */
    maybe_finish(w);
    return 0;
}

void store_writer_set_check(struct store_writer *w, store_check_fn *fn, void *arg)
{
    w->check = fn;
    w->check_arg = arg;
}

int store_writer_fd(const struct store_writer *w)
{
    if (w->state != W_OPEN || w->aborted || w->writing || !sz_list_empty(&w->queue))
        return -1;
    return w->fd;
}

int store_writer_set_size(struct store_writer *w, uint64_t size)
{
    if (w->state != W_OPEN || w->aborted || w->hashing || w->writing || !sz_list_empty(&w->queue))
        return SZ_EINVAL;
    /* Later store_writer_write calls append after these bytes. */
    w->next_off = size;
    w->job_off = size;
    return 0;
}

const char *store_writer_sha256(const struct store_writer *w)
{
    return w->hashing && w->fin_publish && w->fin_err == 0 && w->hex[0] != '\0' ? w->hex : NULL;
}

/* ---- One shot ------------------------------------------------------------------------------ */

struct oneshot {
    const void *buf;
    size_t len;
    store_commit_fn *cb;
    void *data;
};

static void oneshot_commit(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct oneshot *o = data;
    o->cb(o->data, err, msg, name, size);
    free(o);
}

static void oneshot_aborted(void *data, int err, const char *msg)
{
    (void)data;
    (void)err;
    (void)msg;
}

static void oneshot_open(void *data, int err, const char *msg, struct store_writer *w)
{
    struct oneshot *o = data;
    int rc = 0;

    if (err != 0) {
        o->cb(o->data, err, msg, NULL, 0);
        free(o);
        return;
    }
    if (o->len > 0)
        rc = store_writer_write(w, o->buf, o->len, NULL, NULL);
    if (rc == 0)
        rc = store_writer_commit(w, oneshot_commit, o);
    if (rc != 0) {
        store_writer_abort(w, oneshot_aborted, NULL);
        o->cb(o->data, rc, sz_strerror(rc), NULL, 0);
        free(o);
    }
}

int store_write_file(struct store *store, const char *name, size_t len, int flags, const void *buf,
                     size_t buflen, store_commit_fn *cb, void *data)
{
    struct oneshot *o = calloc(1, sizeof(*o));
    int rc;

    if (o == NULL)
        return SZ_ENOMEM;
    o->buf = buf;
    o->len = buflen;
    o->cb = cb;
    o->data = data;
    rc = store_writer_open(store, name, len, flags, oneshot_open, o);
    if (rc != 0)
        free(o);
    return rc;
}
