/* The media store: the only code that touches media directories.
 *
 * A store is one media root (the video directory, the image directory) held open
 * as a directory fd. Every name a user gives is checked to be a single path
 * component and then opened relative to that fd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so traversal and symlink tricks
 * are refused by the kernel without check-then-use races. Only regular files are
 * ever read; directories, FIFOs, devices and symlinks are refused with one clear
 * sentence.
 *
 * New files appear atomically: they are written to an unnamed O_TMPFILE inode in
 * the root (or, where the filesystem has no O_TMPFILE, a hidden ".sanzaru-tmp-*"
 * file), flushed with fdatasync, and then linked into place. Without
 * STORE_OVERWRITE an existing file is never replaced (the link fails with EEXIST,
 * race-free); with it the new file is renamed over the old one.
 *
 * Threads and callbacks: every function here is called on the loop thread. All
 * file I/O runs on libuv's thread pool (uv_queue_work / uv_fs_*). Every callback
 * runs on the loop thread, exactly once, and never from inside the call that
 * started the operation. Every callback receives an error code (0, one of
 * SZ_ENOTFOUND, SZ_ETRAVERSAL, SZ_ESYMLINK, SZ_ENOTREG, SZ_EEXISTS, SZ_ETOOBIG,
 * SZ_EINVAL, SZ_ECANCELLED, or a libuv code such as UV_ENOSPC) and, on failure,
 * a ready user-facing message of one sentence (valid UTF-8, borrowed for the
 * duration of the callback) that a tool can relay as it is. Messages name files
 * by the name the user gave, never by absolute path.
 *
 * Hidden names: a name starting with '.' is refused. Media are never hidden, our
 * own temporaries are hidden, and so are things like .DS_Store or .git that a
 * tool has no business reading or replacing. Listings skip hidden entries too. */
#ifndef SZ_STORE_H
#define SZ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct store;
struct store_writer;

/* Longest accepted name in bytes (NAME_MAX). */
#define STORE_NAME_MAX 255
/* Longest accepted relative path in bytes, in a root opened with
 * STORE_OPEN_SUBDIRS (each component at most STORE_NAME_MAX). */
#define STORE_PATH_MAX 1024
/* Room for any message the store produces, terminator included. */
#define STORE_MSG_MAX 512
/* Longest accepted glob pattern in bytes. */
#define STORE_PATTERN_MAX 256

/* ---- Roots ------------------------------------------------------------------ */

enum store_open_flags {
    /* mkdir -p the path when it is missing. Without it the directory must exist. */
    STORE_OPEN_CREATE = 1 << 0,
    /* Refuse a path whose last component is a symbolic link. */
    STORE_OPEN_NOFOLLOW = 1 << 1,
    /* Never use O_TMPFILE; always write through a hidden named temporary. For
     * tests, and for filesystems whose O_TMPFILE misbehaves. */
    STORE_OPEN_NO_TMPFILE = 1 << 2,
    /* Publish new files without fdatasync'ing them and their directory first:
     * faster, but a power loss may leave an empty or partial file under a
     * final name. */
    STORE_OPEN_NO_FSYNC = 1 << 3,
    /* Names may be relative paths into existing subdirectories ("talks/a.mp3"):
     * every component passes store_check_name, and openat2(RESOLVE_BENEATH |
     * RESOLVE_NO_SYMLINKS) keeps the whole walk inside the root (a symlinked
     * directory on the way is refused like a symlinked file). Writes go into
     * the named subdirectory, which must exist; listings stay at the top. */
    STORE_OPEN_SUBDIRS = 1 << 4,
};

/* What a root is and how it behaves; the caller (app/, from the environment,
 * or a test) fills it. */
struct store_options {
    const char *path;  /* the root directory; borrowed for the duration of store_open */
    const char *label; /* names the root in messages: "<label> does not exist: <path>";
                          static; NULL means "Directory" */
    int flags;         /* enum store_open_flags */
};

/* Opens the media root opts->path and keeps one directory fd on it. A root
 * given by the user would typically be STORE_OPEN_NOFOLLOW (must exist, must not
 * be a symlink); a default location STORE_OPEN_CREATE | STORE_OPEN_NOFOLLOW.
 * Hidden ".sanzaru-tmp-*" files older than an hour (left by a crash where
 * O_TMPFILE is unavailable) are removed.
 * Blocking (mkdir, open): call at start, before the loop runs. opts is borrowed.
 * On success *pstore is owned by the caller (store_close). On failure returns a
 * negative code and writes one sentence naming the label and the path to err,
 * e.g. "VIDEO_PATH does not exist: /srv/v", "VIDEO_PATH cannot be a symbolic
 * link: /srv/v", "IMAGE_PATH is not a directory: /srv/i". */
int store_open(uv_loop_t *loop, const struct store_options *opts, struct store **pstore, char *err,
               size_t errlen);

/* Drops the caller's reference. Operations still in flight keep the store (and
 * its fd) alive until their callbacks have run; run the loop to let them finish.
 * NULL is a no-op. Loop thread. */
void store_close(struct store *store);

/* The root's path as opened, for logs only (never put it in a tool result).
 * Borrowed; lives as long as the store. Any thread. */
const char *store_path(const struct store *store);

/* ---- Names (pure; any thread) ----------------------------------------------- */

/* Checks that the len bytes at name are one safe path component. Refused, in this
 * order: empty (SZ_EINVAL); a NUL byte, '/', "..", or exactly "." (SZ_ETRAVERSAL,
 * "Invalid filename: path traversal detected in '<name>'"); longer than 255 bytes
 * (SZ_EINVAL); starting with '.' (SZ_EINVAL, hidden); a control character (C0,
 * including \n and \r, or DEL: SZ_EINVAL, "Invalid filename: control characters
 * are not allowed: 'a\x0ab.png'"); a backslash (SZ_EINVAL, "Invalid filename:
 * backslashes are not allowed: 'a\b.png'"). Names in messages show control
 * characters as \xNN. JSON strings may carry
 * \u0000, so pass the length jansson reports (json_string_length), not strlen.
 * Writes the message to err (may be NULL). Returns 0 or the code. */
int store_check_name(const char *name, size_t len, char *err, size_t errlen);

/* store_check_name for a relative path (roots opened with STORE_OPEN_SUBDIRS):
 * "a.mp3" or "talks/2026/a.mp3". Refused: what store_check_name refuses in
 * any component (the traversal message names the whole path: "..", a leading
 * '/', NUL), an empty component ("a//b", "a/") and more than STORE_PATH_MAX
 * bytes. Returns 0 or the code, with the message in err (may be NULL). */
int store_check_path(const char *name, size_t len, char *err, size_t errlen);

/* The extension of name after its last '.', lower-cased, without the dot, into
 * buf ("" when there is none or it does not fit). Returns buf. */
char *store_name_ext(const char *name, size_t len, char *buf, size_t buflen);

/* Checks name's extension against allowed (lower case, without dots,
 * NULL-terminated). On mismatch returns SZ_EUNSUPPORTED and writes
 * "Unsupported file type: .gif. Use: <label>" (label e.g. "JPEG, PNG, or WEBP"). */
int store_check_ext(const char *name, size_t len, const char *const *allowed, const char *label,
                    char *err, size_t errlen);

/* Extension sets, NULL-terminated, lower case. */
extern const char *const store_video_exts[]; /* mp4 webm mov */
extern const char *const store_image_exts[]; /* jpg jpeg png webp */

/* The extension set for list_local_videos' file_type ("mp4", "webm", "mov",
 * "all") or list_reference_images' ("jpeg" = jpg+jpeg, "png", "webp", "all").
 * NULL when file_type is not one of them. Static storage. */
const char *const *store_video_filter(const char *file_type);
const char *const *store_image_filter(const char *file_type);

/* MIME type from the extension: video/mp4, video/webm, video/quicktime,
 * image/png, image/jpeg, image/webp, image/gif, else application/octet-stream.
 * Static storage. */
const char *store_mime_type(const char *name, size_t len);

/* Checks a glob pattern: at most STORE_PATTERN_MAX bytes, no NUL byte. Returns 0
 * or SZ_EINVAL with a message. (A pattern with '/' is legal but matches nothing.) */
int store_check_pattern(const char *pattern, size_t len, char *err, size_t errlen);

/* Glob match of one name, fnmatch(3) style without FNM_PATHNAME: '*', '?',
 * '[...]' with '!'/'^' negation and ranges, '\' escapes. Works on UTF-8 code
 * points ('?' matches one character). casefold folds ASCII letters. Runs in
 * O(len(pattern) * len(name)) whatever the pattern (no backtracking blow-up). */
bool store_glob_match(const char *pattern, size_t plen, const char *name, size_t nlen,
                      bool casefold);

/* ---- What arrives (pure; any thread) ---------------------------------------- */

/* The formats a media file is checked against before it is published. */
enum store_format {
    STORE_FMT_NONE = 0,
    STORE_FMT_MP4,   /* ISO base media: "ftyp" box first */
    STORE_FMT_WEBP,  /* "RIFF....WEBP" */
    STORE_FMT_JPEG,  /* FF D8 FF */
    STORE_FMT_PNG,   /* 89 "PNG" 0D 0A 1A 0A */
    STORE_FMT_IMAGE, /* any of WebP, JPEG, PNG (for store_check_content) */
};

/* Leading bytes enough for store_sniff and store_check_content. */
#define STORE_SNIFF_LEN 16

/* The format whose signature the len bytes at head start with, or NONE (never
 * IMAGE). */
enum store_format store_sniff(const void *head, size_t len);

/* The format name's extension names (.mp4, .webp, .jpg/.jpeg, .png; any case),
 * or NONE. */
enum store_format store_format_of_name(const char *name, size_t len);

/* "mp4", "webp", "jpg", "png" ("" for NONE and IMAGE); "video/mp4",
 * "image/webp", "image/jpeg", "image/png" ("application/octet-stream"). Static. */
const char *store_format_ext(enum store_format f);
const char *store_format_mime(enum store_format f);

/* Checks that name's extension names expected (NONE, IMAGE: anything goes), so a
 * file's name never disagrees with its bytes. why names what decided the
 * format ("the thumbnail variant", "output_format webp"). On mismatch returns
 * SZ_EINVAL and writes "Filename 'fz.webp' does not match the video variant (an
 * MP4 video): use a name ending in .mp4". */
int store_check_name_format(const char *name, size_t len, enum store_format expected,
                            const char *why, char *err, size_t errlen);

/* Checks what arrived against what was expected: content_type (the server's
 * Content-Type, parameters aside; NULL or "" when there was none) must be the
 * format's MIME type or a generic binary type, and the first bytes (head, len;
 * pass at least STORE_SNIFF_LEN when there are that many) must carry its
 * signature. Returns 0, or SZ_EUNSUPPORTED with a sentence that names what came
 * instead: "expected an MP4 video, got text/html starting with '<!DOCTYPE
 * html>'" ("data" when the Content-Type was fine; "got an empty body"). */
int store_check_content(enum store_format expected, const char *content_type, const void *head,
                        size_t len, char *err, size_t errlen);

/* ---- Reading ------------------------------------------------------------------ */

struct store_stat {
    uint64_t size;
    double mtime; /* seconds since the epoch, with fractions */
};

/* what: the label used in messages ("Reference image", "Video file"); borrowed for
 * the duration of the call only; NULL means "File". Messages:
 *   File not found: <name>                                  SZ_ENOTFOUND
 *   Invalid filename: path traversal detected in '<name>'    SZ_ETRAVERSAL
 *   <what> cannot be a symbolic link: <name>                SZ_ESYMLINK
 *   <what> is not a regular file: <name>                    SZ_ENOTREG
 *   <what> is too large: <name> is N bytes, limit M bytes   SZ_ETOOBIG
 *   Permission denied reading <what>: <name>               UV_EACCES */

/* buf: malloc'd, owned by the callback (free it), NUL-terminated at len for
 * convenience; NULL on failure. st describes the file (NULL on failure). */
typedef void store_read_fn(void *data, int err, const char *msg, char *buf, size_t len,
                           const struct store_stat *st);

/* Reads the whole regular file name (len bytes, see store_check_name) if it is at
 * most max_bytes long; otherwise SZ_ETOOBIG. name is copied. data is borrowed
 * until cb runs (the caller must keep it alive; a cancelled caller frees buf in
 * cb). Returns 0 (cb will run) or SZ_ENOMEM (cb will not run). Loop thread. */
int store_read_file(struct store *store, const char *name, size_t len, const char *what,
                    size_t max_bytes, store_read_fn *cb, void *data);

/* fd: an open, read-only descriptor of the regular file (O_CLOEXEC), owned by the
 * callback (close it, off the loop thread when possible); -1 on failure. */
typedef void store_fd_fn(void *data, int err, const char *msg, int fd, const struct store_stat *st);

/* Opens name for reading, with the same checks as store_read_file, and hands the
 * fd over (for libvips to decode from, or to stream a resource). Returns 0 or
 * SZ_ENOMEM as above. Loop thread. */
int store_open_read(struct store *store, const char *name, size_t len, const char *what,
                    store_fd_fn *cb, void *data);

typedef void store_stat_fn(void *data, int err, const char *msg, const struct store_stat *st);

/* Size and mtime of the regular file name, with the same checks (the file is not
 * opened for reading). Returns 0 or SZ_ENOMEM as above. Loop thread. */
int store_stat(struct store *store, const char *name, size_t len, const char *what,
               store_stat_fn *cb, void *data);

/* ---- Listing ------------------------------------------------------------------ */

enum store_sort { STORE_SORT_NAME, STORE_SORT_SIZE, STORE_SORT_MODIFIED };

struct store_list_opts {
    const char *pattern;     /* glob (store_glob_match); NULL or "" = everything; copied */
    bool casefold;           /* match the pattern ignoring ASCII case */
    const char *const *exts; /* extension set (static, e.g. store_image_filter()); NULL = any */
    enum store_sort sort;    /* ties are broken by name */
    bool descending;
    size_t limit; /* at most this many entries; SIZE_MAX for all */
};

/* list: a new reference to a JSON array of {filename, size_bytes,
 * modified_timestamp (whole seconds), file_type (extension, lower case, no
 * dot)}, owned by the callback (json_decref it); NULL on failure. total: how many
 * entries matched before the limit. */
typedef void store_list_fn(void *data, int err, const char *msg, json_t *list, size_t total);

/* Lists the regular files of the root that match opts. Hidden entries,
 * symlinks, directories, other non-regular files and names that are not valid
 * UTF-8 are skipped. The directory is read on the pool through its own fd.
 * opts is copied. Returns 0 (cb will run) or SZ_ENOMEM. Loop thread. */
int store_list(struct store *store, const struct store_list_opts *opts, store_list_fn *cb,
               void *data);

/* ---- Writing ------------------------------------------------------------------ */

enum store_write_flags {
    /* Replace an existing regular file of that name (atomic rename). A symlink or
     * directory under the name is still refused. */
    STORE_OVERWRITE = 1 << 0,
    /* On a collision publish name-1.ext, name-2.ext, ... instead (for default
     * names). Ignored with STORE_OVERWRITE. */
    STORE_UNIQUE = 1 << 1,
    /* Compute the SHA-256 of the bytes written, in the writer's jobs on the
     * pool (never on the loop), in file order; store_writer_sha256 gives it at
     * commit. */
    STORE_SHA256 = 1 << 2,
};

/* Generic completion: err 0 or a code, msg the sentence (NULL on success). */
typedef void store_status_fn(void *data, int err, const char *msg);

/* w: the open writer, owned by the callback: it must eventually call
 * store_writer_commit or store_writer_abort. NULL on failure. */
typedef void store_writer_open_fn(void *data, int err, const char *msg, struct store_writer *w);

/* name: the final name actually published (differs from the requested one with
 * STORE_UNIQUE), borrowed during the callback; NULL on failure. size: bytes. */
typedef void store_commit_fn(void *data, int err, const char *msg, const char *name, uint64_t size);

/* Starts writing a new file that will be published as name (len bytes, see
 * store_check_name; a relative path in a STORE_OPEN_SUBDIRS root, whose
 * directory must exist). The name is checked now: without STORE_OVERWRITE or
 * STORE_UNIQUE an existing entry fails at once with SZ_EEXISTS and
 * "File already exists: <name> (pass overwrite: true to replace it)", so a long
 * download is not wasted; the final, race-free check happens at commit. With
 * STORE_OVERWRITE a symlink or a non-regular file under the name is refused
 * ("Output file cannot be a symbolic link: <name>"). name is copied; data is
 * borrowed until cb runs. Returns 0 (cb will run) or SZ_ENOMEM. Loop thread. */
int store_writer_open(struct store *store, const char *name, size_t len, int flags,
                      store_writer_open_fn *cb, void *data);

/* Queues len bytes at the next offset. Writes are done in order by one pool
 * job at a time, which takes every write queued so far (so queuing many small
 * writes costs few thread hops). buf is borrowed until cb runs; cb may be NULL when
 * the caller needs no notice (then buf must outlive the writer's commit or abort
 * callback). cb gets the write's outcome; after an abort it gets SZ_ECANCELLED.
 * Returns 0 (cb will run), or, without calling cb: the writer's first error
 * (sticky: once a write failed every later write and the commit fail with it),
 * SZ_EINVAL after commit/abort, SZ_ENOMEM. A disk-full error reads "Not enough
 * disk space to write <name>". Loop thread. */
int store_writer_write(struct store_writer *w, const void *buf, size_t len, store_status_fn *cb,
                       void *data);

/* Bytes queued but not yet written: apply backpressure when this grows (e.g.
 * pause a download above a few MiB, resume from a write callback). Loop thread. */
size_t store_writer_inflight(const struct store_writer *w);
/* This writer's share of the bytes a store's writers should keep queued
 * together (8 MiB, split evenly among the writers open now): a caller that
 * streams into many writers at once pauses its source above the smaller of
 * this and its own high-water mark, so that memory stays bounded however many
 * downloads run, also while a disk busy with fdatasync writes slowly.
 * Loop thread. */
size_t store_writer_queue_share(const struct store_writer *w);
/* Bytes queued so far (the file's size if every write succeeds). Loop thread. */
uint64_t store_writer_size(const struct store_writer *w);
/* The writer's sticky error (0 if none) and its message (NULL if none). */
int store_writer_error(const struct store_writer *w, const char **pmsg);

/* Publishes the file: waits for writes in flight, fdatasyncs (unless the
 * store was opened with STORE_OPEN_NO_FSYNC; at most a few writers of a store
 * fdatasync at once, the others wait their turn), links it into place under its name (see
 * store_writer_open for the rules) and syncs the directory. Takes ownership of w: after cb runs w
 * is gone. On any failure nothing appears under the final name and no temporary
 * remains. data is borrowed until cb runs. Returns 0 (cb will run) or SZ_EINVAL
 * (already committing or aborted; cb will not run). Loop thread. */
int store_writer_commit(struct store_writer *w, store_commit_fn *cb, void *data);

/* The lowercase hex SHA-256 of the published bytes, for a writer opened with
 * STORE_SHA256: valid only inside a commit callback that reports success (the
 * caller kept its pointer to w), borrowed until it returns. NULL otherwise.
 * Loop thread. */
const char *store_writer_sha256(const struct store_writer *w);

/* Abandons the file: nothing appears under the final name and the temporary is
 * removed. Works with writes in flight (their callbacks get SZ_ECANCELLED and the
 * close waits for them) and while a commit still waits for writes to drain (the
 * commit callback then gets SZ_ECANCELLED "cancelled" first). Takes ownership of
 * w. cb (may be NULL) runs once the cleanup is done. Returns 0, or SZ_EBUSY when
 * the commit is already publishing (too late: the commit callback reports the
 * outcome; cb will not run). Loop thread. */
int store_writer_abort(struct store_writer *w, store_status_fn *cb, void *data);

/* Checks the first bytes of a file before it is published: head holds the
 * first min(size, STORE_CHECK_LEN) bytes, read back from the file. Returns 0
 * to publish, or a negative code with one sentence in msg (nothing is then
 * published). Runs on a pool thread: it must be pure (e.g. a magic-byte
 * check such as audio_sniff). */
#define STORE_CHECK_LEN 4096
typedef int store_check_fn(const void *head, size_t len, char *msg, size_t msglen, void *arg);

/* Makes the commit of w check the file's first bytes with fn(arg) before
 * anything is published (arg is borrowed until the commit callback). For
 * writers whose bytes come from elsewhere (an encoder, an upstream). Loop
 * thread, before store_writer_commit. */
void store_writer_set_check(struct store_writer *w, store_check_fn *fn, void *arg);

/* The writer's file descriptor (open for reading and writing), for ONE pool
 * job that writes the file itself (an encoder) or reads it back (an upload,
 * a join), instead of store_writer_write. Valid while the writer is open, no
 * write is queued or in flight and no commit or abort has started; -1
 * otherwise. Borrowed: never close it. Loop thread (the job then uses it on
 * its own thread, and must be done with it before the commit or abort). */
int store_writer_fd(const struct store_writer *w);

/* Records that size bytes are now in the file, written through
 * store_writer_fd (the commit reports this size). SZ_EINVAL for a writer
 * with STORE_SHA256 (those bytes were never hashed) or after commit/abort.
 * Loop thread. */
int store_writer_set_size(struct store_writer *w, uint64_t size);

/* Opens a scratch file: a writer on an unnamed temporary file in the root
 * (O_TMPFILE, or a hidden file unlinked at once) that is never published.
 * It takes store_writer_write, store_writer_fd and store_writer_set_size
 * like any writer; store_writer_commit refuses it (SZ_EINVAL) and
 * store_writer_abort releases it (the data vanishes). For intermediate
 * files (the windows of a long transcription, the parts of a long speech)
 * that share the root's disk and the store's budget. cb gets the writer as
 * store_writer_open's does. Returns 0 (cb will run) or SZ_ENOMEM. Loop
 * thread. */
int store_scratch_open(struct store *store, store_writer_open_fn *cb, void *data);

/* One-shot: store_writer_open + one write of buf + commit. buf is borrowed until
 * cb runs. Returns 0 (cb will run) or SZ_ENOMEM. Loop thread. */
int store_write_file(struct store *store, const char *name, size_t len, int flags, const void *buf,
                     size_t buflen, store_commit_fn *cb, void *data);

#endif
