/* Media roots and names: opening a root (store_open), the pure checks every user-given name goes
 * through (one path component, no traversal, not hidden, not too long), the
 * extension sets and MIME types, the glob matcher used by listings, and the
 * openat2 resolution that every read of a user-given name goes through. */
#include "fmacros.h"

#include "store/store_int.h"

#include "core/err.h"
#include "core/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Display form of a name in messages: 80 bytes at most, each escaped to 4. */
#define DISP_MAX 336
#define DISP_CUT 80

const char *const store_video_exts[] = {"mp4", "webm", "mov", NULL};
const char *const store_image_exts[] = {"jpg", "jpeg", "png", "webp", NULL};

static const char *const ext_mp4[] = {"mp4", NULL};
static const char *const ext_webm[] = {"webm", NULL};
static const char *const ext_mov[] = {"mov", NULL};
static const char *const ext_jpeg[] = {"jpg", "jpeg", NULL};
static const char *const ext_png[] = {"png", NULL};
static const char *const ext_webp[] = {"webp", NULL};

/* ---- Store lifetime -------------------------------------------------------- */

void store_ref(struct store *s)
{
    s->refs++;
}

void store_unref(struct store *s)
{
    if (--s->refs > 0)
        return;
    /* Closing a directory fd does no I/O, so it may happen on the loop. */
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->path);
    free(s);
}

void store_close(struct store *store)
{
    if (store != NULL)
        store_unref(store);
}

const char *store_path(const struct store *store)
{
    return store->path;
}

double store_mtime(const struct stat *st)
{
    return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

/* ---- UTF-8 and display ------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s (n bytes available). Returns its length and
 * sets *cp, or 0 when the bytes are not valid UTF-8 (overlong forms, surrogates
 * and values above U+10FFFF are invalid). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len;
    uint32_t min;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        c = s[0] & 0x1fu;
        min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        c = s[0] & 0x0fu;
        min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        c = s[0] & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3fu);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

bool store_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;

    while (n > 0) {
        size_t l = utf8_next(p, n, &cp);
        if (l == 0)
            return false;
        p += l;
        n -= l;
    }
    return true;
}

void store_fmt_name(char *out, size_t outlen, const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t o = 0;
    size_t i = 0;
    uint32_t cp;

    if (outlen == 0)
        return;
    while (i < len && i < DISP_CUT) {
        size_t l = utf8_next(p + i, len - i, &cp);
        if (l == 0 || cp < 0x20 || cp == 0x7f) {
            if (o + 5 > outlen)
                break;
            snprintf(out + o, outlen - o, "\\x%02x", (unsigned)p[i]);
            o += 4;
            i++;
            continue;
        }
        if (i + l > DISP_CUT || o + l + 1 > outlen)
            break;
        memcpy(out + o, p + i, l);
        o += l;
        i += l;
    }
    if (i < len && o + 4 <= outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- Names --------------------------------------------------------------------- */

static void set_msg(char *err, size_t errlen, const char *fmt, const char *name, size_t len)
    __attribute__((format(printf, 3, 0)));

/* fmt takes exactly one %s: the display form of name. */
static void set_msg(char *err, size_t errlen, const char *fmt, const char *name, size_t len)
{
    char disp[DISP_MAX];

    if (err == NULL || errlen == 0)
        return;
    store_fmt_name(disp, sizeof(disp), name, len);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(err, errlen, fmt, disp);
#pragma GCC diagnostic pop
}

int store_check_name(const char *name, size_t len, char *err, size_t errlen)
{
    if (name == NULL || len == 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "Invalid filename: the name is empty");
        return SZ_EINVAL;
    }
    if (memchr(name, '\0', len) != NULL || memchr(name, '/', len) != NULL ||
        memmem(name, len, "..", 2) != NULL || (len == 1 && name[0] == '.')) {
        set_msg(err, errlen, "Invalid filename: path traversal detected in '%s'", name, len);
        return SZ_ETRAVERSAL;
    }
    if (len > STORE_NAME_MAX) {
        set_msg(err, errlen, "Invalid filename: '%s' is longer than 255 bytes", name, len);
        return SZ_EINVAL;
    }
    if (name[0] == '.') {
        set_msg(err, errlen,
                "Invalid filename: hidden names (starting with '.') are not allowed: '%s'", name,
                len);
        return SZ_EINVAL;
    }
    /* A newline or escape sequence in a name would forge lines in listings,
     * logs and terminals; a backslash reads as a separator to Windows clients. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) {
            set_msg(err, errlen, "Invalid filename: control characters are not allowed: '%s'", name,
                    len);
            return SZ_EINVAL;
        }
        if (c == '\\') {
            set_msg(err, errlen, "Invalid filename: backslashes are not allowed: '%s'", name, len);
            return SZ_EINVAL;
        }
    }
    return 0;
}

int store_check_path(const char *name, size_t len, char *err, size_t errlen)
{
    size_t start = 0;

    if (name == NULL || len == 0)
        return store_check_name(name, len, err, errlen);
    /* The whole path in the message when it tries to leave the root. */
    if (memchr(name, '\0', len) != NULL || name[0] == '/' || memmem(name, len, "..", 2) != NULL ||
        (len == 1 && name[0] == '.')) {
        set_msg(err, errlen, "Invalid filename: path traversal detected in '%s'", name, len);
        return SZ_ETRAVERSAL;
    }
    if (len > STORE_PATH_MAX) {
        set_msg(err, errlen, "Invalid filename: '%s' is longer than 1024 bytes", name, len);
        return SZ_EINVAL;
    }
    while (start <= len) {
        const char *slash = memchr(name + start, '/', len - start);
        size_t end = slash != NULL ? (size_t)(slash - name) : len;
        int rc;

        if (end == start) {
            set_msg(err, errlen, "Invalid filename: '%s' has an empty path component", name, len);
            return SZ_EINVAL;
        }
        if (end - start == 1 && name[start] == '.') {
            set_msg(err, errlen, "Invalid filename: path traversal detected in '%s'", name, len);
            return SZ_ETRAVERSAL;
        }
        rc = store_check_name(name + start, end - start, err, errlen);
        if (rc != 0)
            return rc;
        start = end + 1;
    }
    return 0;
}

int store_check_for(const struct store *s, const char *name, size_t len, char *err, size_t errlen)
{
    if (s->flags & STORE_OPEN_SUBDIRS)
        return store_check_path(name, len, err, errlen);
    return store_check_name(name, len, err, errlen);
}

/* The extension span of name: after the last '.', which must not be the first
 * byte (".png" is a hidden name, not an extension, as in Python's Path.suffix). */
static size_t ext_span(const char *name, size_t len, const char **pext)
{
    for (size_t i = len; i > 1; i--) {
        if (name[i - 1] == '.') {
            *pext = name + i;
            return len - i;
        }
    }
    *pext = name + len;
    return 0;
}

char *store_name_ext(const char *name, size_t len, char *buf, size_t buflen)
{
    const char *ext;
    size_t n = ext_span(name, len, &ext);

    if (buflen == 0)
        return buf;
    if (n >= buflen || memchr(ext, '\0', n) != NULL)
        n = 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)ext[i]);
    buf[n] = '\0';
    return buf;
}

static bool ext_in(const char *ext, size_t n, const char *const *set)
{
    for (; *set != NULL; set++) {
        if (strlen(*set) == n && strncasecmp(*set, ext, n) == 0)
            return true;
    }
    return false;
}

int store_check_ext(const char *name, size_t len, const char *const *allowed, const char *label,
                    char *err, size_t errlen)
{
    const char *ext;
    size_t n = ext_span(name, len, &ext);
    char lower[DISP_CUT + 1];
    char disp[DISP_MAX];

    if (n > 0 && ext_in(ext, n, allowed))
        return 0;
    if (err != NULL && errlen > 0) {
        if (n == 0) {
            store_fmt_name(disp, sizeof(disp), name, len);
            snprintf(err, errlen, "Unsupported file type: '%s' has no extension. Use: %s", disp,
                     label);
        } else {
            size_t m = n < DISP_CUT ? n : DISP_CUT;
            for (size_t i = 0; i < m; i++)
                lower[i] = (char)tolower((unsigned char)ext[i]);
            store_fmt_name(disp, sizeof(disp), lower, m);
            snprintf(err, errlen, "Unsupported file type: .%s%s. Use: %s", disp, m < n ? "..." : "",
                     label);
        }
    }
    return SZ_EUNSUPPORTED;
}

const char *const *store_video_filter(const char *file_type)
{
    if (file_type == NULL || strcmp(file_type, "all") == 0)
        return store_video_exts;
    if (strcmp(file_type, "mp4") == 0)
        return ext_mp4;
    if (strcmp(file_type, "webm") == 0)
        return ext_webm;
    if (strcmp(file_type, "mov") == 0)
        return ext_mov;
    return NULL;
}

const char *const *store_image_filter(const char *file_type)
{
    if (file_type == NULL || strcmp(file_type, "all") == 0)
        return store_image_exts;
    if (strcmp(file_type, "jpeg") == 0 || strcmp(file_type, "jpg") == 0)
        return ext_jpeg;
    if (strcmp(file_type, "png") == 0)
        return ext_png;
    if (strcmp(file_type, "webp") == 0)
        return ext_webp;
    return NULL;
}

const char *store_mime_type(const char *name, size_t len)
{
    static const struct {
        const char *ext;
        const char *mime;
    } map[] = {
        {"mp4", "video/mp4"},   {"webm", "video/webm"}, {"mov", "video/quicktime"},
        {"png", "image/png"},   {"jpg", "image/jpeg"},  {"jpeg", "image/jpeg"},
        {"webp", "image/webp"}, {"gif", "image/gif"},
    };
    const char *ext;
    size_t n = ext_span(name, len, &ext);

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].ext) == n && strncasecmp(map[i].ext, ext, n) == 0)
            return map[i].mime;
    }
    return "application/octet-stream";
}

/* ---- Glob ------------------------------------------------------------------------ */

int store_check_pattern(const char *pattern, size_t len, char *err, size_t errlen)
{
    if (len > STORE_PATTERN_MAX) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "pattern is %zu bytes long; the limit is %d", len,
                     STORE_PATTERN_MAX);
        return SZ_EINVAL;
    }
    if (pattern != NULL && memchr(pattern, '\0', len) != NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "pattern must not contain a NUL byte");
        return SZ_EINVAL;
    }
    return 0;
}

/* One code point of a pattern or name; an invalid byte stands for itself. */
static size_t cp_at(const char *s, size_t n, uint32_t *cp)
{
    size_t l = utf8_next((const unsigned char *)s, n, cp);
    if (l == 0) {
        *cp = 0x110000u + (unsigned char)s[0]; /* never equal to a real code point */
        l = 1;
    }
    return l;
}

static uint32_t fold(uint32_t c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Matches the bracket expression that starts at p[0] == '[' against c. Returns
 * the bytes it spans, or 0 when it is unterminated (then '[' is a literal). */
static size_t bracket(const char *p, size_t n, uint32_t c, bool casefold, bool *pok)
{
    size_t i = 1;
    bool neg = false;
    bool hit = false;
    bool first = true;

    if (i < n && (p[i] == '!' || p[i] == '^')) {
        neg = true;
        i++;
    }
    while (i < n) {
        uint32_t lo;
        uint32_t hi;

        if (p[i] == ']' && !first) {
            *pok = hit != neg;
            return i + 1;
        }
        first = false;
        if (p[i] == '\\' && i + 1 < n)
            i++;
        i += cp_at(p + i, n - i, &lo);
        hi = lo;
        if (i + 1 < n && p[i] == '-' && p[i + 1] != ']') {
            i++;
            if (p[i] == '\\' && i + 1 < n)
                i++;
            i += cp_at(p + i, n - i, &hi);
        }
        if (c >= lo && c <= hi)
            hit = true;
        else if (casefold && fold(c) >= fold(lo) && fold(c) <= fold(hi))
            hit = true;
        else if (casefold && c >= 'a' && c <= 'z' && c - ('a' - 'A') >= lo && c - ('a' - 'A') <= hi)
            hit = true;
    }
    return 0;
}

/* Matches the single-character element at p (not '*') against c. Returns the
 * bytes the element spans and sets *pok. */
static size_t element(const char *p, size_t n, uint32_t c, bool casefold, bool *pok)
{
    uint32_t pc;
    size_t l;

    if (p[0] == '?') {
        *pok = true;
        return 1;
    }
    if (p[0] == '[') {
        l = bracket(p, n, c, casefold, pok);
        if (l > 0)
            return l;
        *pok = c == '[';
        return 1;
    }
    if (p[0] == '\\' && n > 1) {
        l = 1 + cp_at(p + 1, n - 1, &pc);
    } else {
        l = cp_at(p, n, &pc);
    }
    *pok = pc == c || (casefold && fold(pc) == fold(c));
    return l;
}

bool store_glob_match(const char *pattern, size_t plen, const char *name, size_t nlen,
                      bool casefold)
{
    size_t pi = 0;
    size_t ni = 0;
    size_t star_pi = 0;
    size_t star_ni = 0;
    bool have_star = false;

    /* Every element but '*' matches exactly one character, so remembering only
     * the last star is enough: a later star subsumes every earlier choice. */
    while (ni < nlen) {
        uint32_t c;
        size_t cl = cp_at(name + ni, nlen - ni, &c);
        bool ok = false;

        if (pi < plen && pattern[pi] == '*') {
            while (pi < plen && pattern[pi] == '*')
                pi++;
            have_star = true;
            star_pi = pi;
            star_ni = ni;
            continue;
        }
        if (pi < plen) {
            size_t el = element(pattern + pi, plen - pi, c, casefold, &ok);
            if (ok) {
                pi += el;
                ni += cl;
                continue;
            }
        }
        if (!have_star)
            return false;
        star_ni += cp_at(name + star_ni, nlen - star_ni, &c);
        ni = star_ni;
        pi = star_pi;
    }
    while (pi < plen && pattern[pi] == '*')
        pi++;
    return pi == plen;
}

/* ---- Resolving a name beneath the root (pool thread) ------------------------------- */

int store_openat_beneath(int dirfd, const char *name, int flags)
{
    struct open_how how;
    long r;

    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(unsigned)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    r = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
    /* A kernel before 5.6 (or a seccomp filter that does not know openat2): a
     * single checked component with O_NOFOLLOW keeps the same guarantees with
     * plain openat; a path through subdirectories would follow a symlinked
     * directory there, so it is refused. */
    if (r < 0 && errno == ENOSYS) {
        if (strchr(name, '/') != NULL) {
            errno = EOPNOTSUPP;
            return -1;
        }
        r = openat(dirfd, name, flags);
    }
    return (int)r;
}

static int open_errmsg(int e, const char *what, const char *name, size_t len, char *msg,
                       size_t msglen)
{
    char disp[DISP_MAX];

    store_fmt_name(disp, sizeof(disp), name, len);
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        snprintf(msg, msglen, "File not found: %s", disp);
        return SZ_ENOTFOUND;
    case ELOOP:
        snprintf(msg, msglen, "%s cannot be a symbolic link: %s", what, disp);
        return SZ_ESYMLINK;
    case EXDEV:
        snprintf(msg, msglen, "Invalid filename: path traversal detected in '%s'", disp);
        return SZ_ETRAVERSAL;
    case ENAMETOOLONG:
        snprintf(msg, msglen, "Invalid filename: '%s' is longer than 255 bytes", disp);
        return SZ_EINVAL;
    case EACCES:
    case EPERM:
        snprintf(msg, msglen, "Permission denied reading %s: %s", what, disp);
        return -e;
    default:
        snprintf(msg, msglen, "Cannot open %s: %s", disp, uv_strerror(-e));
        return -e;
    }
}

static int mode_errmsg(const struct stat *st, const char *what, const char *name, size_t len,
                       char *msg, size_t msglen)
{
    char disp[DISP_MAX];

    if (S_ISREG(st->st_mode))
        return 0;
    store_fmt_name(disp, sizeof(disp), name, len);
    if (S_ISLNK(st->st_mode)) {
        snprintf(msg, msglen, "%s cannot be a symbolic link: %s", what, disp);
        return SZ_ESYMLINK;
    }
    snprintf(msg, msglen, "%s is not a regular file: %s", what, disp);
    return SZ_ENOTREG;
}

int store_resolve(const struct store *s, const char *name, size_t len, const char *what,
                  bool for_read, int *pfd, struct stat *pst, char *msg, size_t msglen)
{
    char path[STORE_PATH_MAX + 1];
    int fd = -1;
    int rc;

    *pfd = -1;
    if (what == NULL)
        what = "File";
    rc = store_check_for(s, name, len, msg, msglen);
    if (rc != 0)
        goto out;
    memcpy(path, name, len);
    path[len] = '\0';

    /* Probe with O_PATH first so a FIFO or a device is refused without ever
     * being opened for real (opening some devices has side effects). With
     * O_PATH | O_NOFOLLOW a trailing symlink yields an fd on the link itself,
     * which fstat then reports as a link. */
    fd = store_openat_beneath(s->dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = open_errmsg(errno, what, name, len, msg, msglen);
        goto out;
    }
    if (fstat(fd, pst) != 0) {
        rc = open_errmsg(errno, what, name, len, msg, msglen);
        goto out;
    }
    rc = mode_errmsg(pst, what, name, len, msg, msglen);
    if (rc != 0 || !for_read)
        goto out;
    close(fd);

    /* The entry may have been swapped since the probe: check the opened file
     * again. O_NONBLOCK keeps a FIFO swapped in from blocking the open. */
    fd = store_openat_beneath(s->dirfd, path,
                              O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        rc = open_errmsg(errno, what, name, len, msg, msglen);
        goto out;
    }
    if (fstat(fd, pst) != 0) {
        rc = open_errmsg(errno, what, name, len, msg, msglen);
        goto out;
    }
    rc = mode_errmsg(pst, what, name, len, msg, msglen);
    if (rc != 0)
        goto out;
    *pfd = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int store_write_errmsg(int e, const char *name, char *msg, size_t msglen)
{
    char disp[DISP_MAX];

    store_fmt_name(disp, sizeof(disp), name, strlen(name));
    switch (e) {
    case ENOSPC:
        snprintf(msg, msglen, "Not enough disk space to write %s", disp);
        break;
    case EDQUOT:
        snprintf(msg, msglen, "Disk quota exceeded writing %s", disp);
        break;
    case EFBIG:
        snprintf(msg, msglen, "%s is too large for the file system", disp);
        break;
    case EROFS:
        snprintf(msg, msglen, "The media directory is read-only; cannot write %s", disp);
        break;
    case EACCES:
    case EPERM:
        snprintf(msg, msglen, "Permission denied writing %s", disp);
        break;
    case EIO:
        snprintf(msg, msglen, "I/O error writing %s", disp);
        break;
    default:
        snprintf(msg, msglen, "Cannot write %s: %s", disp, uv_strerror(-e));
        break;
    }
    return -e;
}

/* ---- Opening a root ------------------------------------------------------------------ */

/* mkdir -p. Returns 0 or -errno; *pcreated tells whether the last level was made. */
static int mkdir_p(char *path, bool *pcreated)
{
    *pcreated = false;
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            *p = '/';
            return -e;
        }
        *p = '/';
    }
    if (mkdir(path, 0777) == 0) {
        *pcreated = true;
        return 0;
    }
    return errno == EEXIST ? 0 : -errno;
}

/* Removes hidden temporaries (STORE_TMP_PREFIX) older than STORE_TMP_STALE_SEC:
 * what a crash can leave behind where O_TMPFILE is not available. A live
 * writer's temporary is younger (every write updates its mtime, and a transfer
 * that stalls fails long before), so a second server on the same root is safe.
 * Blocking; runs in store_open. */
static void sweep_stale(int dirfd, const char *path)
{
    int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *de;
    time_t now = time(NULL);
    unsigned n = 0;

    if (dir == NULL) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    while ((de = readdir(dir)) != NULL) {
        struct stat st;

        if (strncmp(de->d_name, STORE_TMP_PREFIX, strlen(STORE_TMP_PREFIX)) != 0)
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (now - st.st_mtim.tv_sec < STORE_TMP_STALE_SEC)
            continue;
        if (unlinkat(dfd, de->d_name, 0) == 0)
            n++;
    }
    closedir(dir);
    if (n > 0)
        SZ_INFO("removed %u stale temporary file%s from %s", n, n == 1 ? "" : "s", path);
}

static int open_root(uv_loop_t *loop, const char *path, int flags, const char *label,
                     struct store **pstore, char *err, size_t errlen)
{
    struct store *s = NULL;
    char *p = NULL;
    struct stat st;
    int fd = -1;
    int rc;
    size_t n;
    bool created = false;

    *pstore = NULL;
    if (path == NULL || path[0] == '\0') {
        snprintf(err, errlen, "%s is empty", label);
        rc = SZ_EINVAL;
        goto out;
    }
    p = strdup(path);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = SZ_ENOMEM;
        goto out;
    }
    /* "dir/" would make lstat and O_NOFOLLOW look through a symlinked dir. */
    for (n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
        p[n - 1] = '\0';

    if (flags & STORE_OPEN_CREATE) {
        rc = mkdir_p(p, &created);
        if (rc != 0) {
            snprintf(err, errlen, "Cannot create directory %s (%s): %s", p, label, uv_strerror(rc));
            goto out;
        }
        if (created)
            SZ_INFO("created media directory %s", p);
    }
    if (lstat(p, &st) != 0) {
        rc = -errno;
        if (rc == -ENOENT) {
            snprintf(err, errlen, "%s does not exist: %s", label, p);
            rc = SZ_ENOTFOUND;
        } else {
            snprintf(err, errlen, "Cannot access %s %s: %s", label, p, uv_strerror(rc));
        }
        goto out;
    }
    if (S_ISLNK(st.st_mode) && (flags & STORE_OPEN_NOFOLLOW)) {
        snprintf(err, errlen, "%s cannot be a symbolic link: %s", label, p);
        rc = SZ_ESYMLINK;
        goto out;
    }
    fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                     ((flags & STORE_OPEN_NOFOLLOW) ? O_NOFOLLOW : 0));
    if (fd < 0) {
        rc = -errno;
        if (rc == -ELOOP && (flags & STORE_OPEN_NOFOLLOW)) {
            snprintf(err, errlen, "%s cannot be a symbolic link: %s", label, p);
            rc = SZ_ESYMLINK;
        } else if (rc == -ENOTDIR) {
            snprintf(err, errlen, "%s is not a directory: %s", label, p);
            rc = SZ_ENOTREG;
        } else if (rc == -ENOENT) {
            snprintf(err, errlen, "%s does not exist: %s", label, p);
            rc = SZ_ENOTFOUND;
        } else {
            snprintf(err, errlen, "Cannot open %s %s: %s", label, p, uv_strerror(rc));
        }
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = SZ_ENOMEM;
        goto out;
    }
    sweep_stale(fd, p);
    s->loop = loop;
    s->dirfd = fd;
    s->flags = flags;
    s->refs = 1;
    s->path = p;
    sz_list_init(&s->sync_queue);
    fd = -1;
    p = NULL;
    *pstore = s;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(p);
    return rc;
}

int store_open(uv_loop_t *loop, const struct store_options *opts, struct store **pstore, char *err,
               size_t errlen)
{
    return open_root(loop, opts->path, opts->flags, opts->label != NULL ? opts->label : "Directory",
                     pstore, err, errlen);
}
