/* Internals shared by the store's source files (store.c: roots and names,
 * store_read.c: reads and listings, store_writer.c: atomic writes). Not for use
 * outside src/store/. */
#ifndef SZ_STORE_INT_H
#define SZ_STORE_INT_H

#include "store/store.h"

#include "core/list.h"

#include <sys/stat.h>

/* Hidden temporaries used where O_TMPFILE is not available (and, for an
 * instant, by an overwriting commit); older ones are swept by store_open. */
#define STORE_TMP_PREFIX    ".sanzaru-tmp-"
#define STORE_TMP_STALE_SEC 3600

struct store {
    uv_loop_t *loop;
    int dirfd;        /* O_RDONLY | O_DIRECTORY; fsync()able, fdopendir() via reopen */
    int flags;        /* enum store_open_flags */
    unsigned refs;    /* the owner's plus one per operation in flight (loop thread only) */
    char *path;       /* for logs */
    unsigned writers; /* writers open (from open to commit or abort done; loop thread) */
    /* Writers' publishing jobs that fdatasync, running and waiting (loop thread). */
    unsigned syncing;
    struct sz_link sync_queue;
};

/* Loop thread only. */
void store_ref(struct store *s);
void store_unref(struct store *s);

/* Writes name for a message: bytes below 0x20 and 0x7f escaped as \xNN, cut at a
 * UTF-8 boundary after about 80 bytes with "..." appended. Always terminates. */
void store_fmt_name(char *out, size_t outlen, const char *name, size_t len);

/* The name check of this root: store_check_path in a STORE_OPEN_SUBDIRS root,
 * store_check_name elsewhere. Pure; any thread. */
int store_check_for(const struct store *s, const char *name, size_t len, char *err, size_t errlen);

/* openat2(dirfd, path, flags) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS (plain openat where the kernel has no openat2). -1 and
 * errno on failure. Pool thread. */
int store_openat_beneath(int dirfd, const char *path, int flags);

/* Whether the n bytes at s are valid UTF-8 (what jansson accepts). */
bool store_utf8_valid(const char *s, size_t n);

/* Pool thread. Checks name, then resolves it beneath the root with openat2 and
 * checks that it is a regular file. With for_read the file is opened O_RDONLY
 * and *pfd receives it (caller closes); otherwise only an O_PATH probe is made
 * and *pfd is -1. *pst gets fstat's answer. Returns 0 or a code with msg set. */
int store_resolve(const struct store *s, const char *name, size_t len, const char *what,
                  bool for_read, int *pfd, struct stat *pst, char *msg, size_t msglen);

/* The message for an errno met while writing name (ENOSPC: "Not enough disk space
 * to write <name>"). Returns -e. Any thread. */
int store_write_errmsg(int e, const char *name, char *msg, size_t msglen);

/* Whether new files are fdatasync'ed before they are published. Any thread. */
static inline bool store_fsync_enabled(const struct store *s)
{
    return (s->flags & STORE_OPEN_NO_FSYNC) == 0;
}

/* Seconds with fractions from a stat's mtime. */
double store_mtime(const struct stat *st);

#endif
