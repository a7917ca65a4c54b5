/* Multipart bodies (see client.h): the parts a request describes become a curl_mime
 * on every attempt, so a retry or a 307 resends them from the start.
 *
 * File parts given as an fd are streamed, never read whole (an audio upload may be
 * 25 MB): curl asks for bytes through fd_read; a chunk of the file is read into a
 * small buffer with uv_fs_read on libuv's thread pool while the upload is paused
 * (CURL_READFUNC_PAUSE), and the read's callback resumes it (net_apply_pause). As soon
 * as curl has taken a whole chunk the next one is read ahead, so the disk works
 * while the socket drains. Reads use explicit offsets, so rewinding is setting
 * `pos`, and the fd's own file position is never touched. */
#include "fmacros.h"

#include "net/net_int.h"

#include "core/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FD_CHUNK ((size_t)128 * 1024)

/* BYTES parts: straight from the caller's buffer, without the copy curl_mime_data
 * would make. */
static size_t bytes_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct net_part *p = arg;
    size_t n = size * nitems;

    if (n > p->len - (size_t)p->pos)
        n = p->len - (size_t)p->pos;
    memcpy(buf, p->bytes + p->pos, n);
    p->pos += n;
    return n;
}

static int part_seek(void *arg, curl_off_t offset, int origin)
{
    struct net_part *p = arg;
    uint64_t total = p->kind == NET_PART_FD ? p->size : (uint64_t)p->len;

    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > total)
        return CURL_SEEKFUNC_FAIL;
    p->pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static void fd_read_done(uv_fs_t *fs);

/* Starts reading the chunk at `off` into p->chunk. 0 or a libuv error (recorded). */
static int start_read(struct net_part *p, uint64_t off)
{
    struct net_req *req = p->req;
    uint64_t left = p->size - off;
    uv_buf_t b;
    int rc;

    p->chunk_off = off;
    p->chunk_len = 0;
    p->read_err = 0;
    b = uv_buf_init(p->chunk, (unsigned)(left < FD_CHUNK ? left : FD_CHUNK));
    rc = uv_fs_read(req->client->loop, &p->fs, p->fd, &b, 1, (int64_t)off, fd_read_done);
    if (rc != 0) {
        p->read_err = rc;
        return rc;
    }
    p->reading = true;
    req->fs_pending++;
    return 0;
}

/* Makes the transfer fail with a sentence naming the file. */
static size_t read_failed(struct net_part *p)
{
    struct net_req *req = p->req;

    req->abort_err = SZ_EIO;
    if (p->read_err == UV_EOF)
        snprintf(req->abort_msg, sizeof(req->abort_msg),
                 "Could not read %s: the file ended after %" PRIu64 " of %" PRIu64 " bytes",
                 p->filename, p->chunk_off, p->size);
    else
        snprintf(req->abort_msg, sizeof(req->abort_msg), "Could not read %s: %s", p->filename,
                 uv_strerror(p->read_err));
    return CURL_READFUNC_ABORT;
}

/* FD parts. Runs inside curl: only libuv calls here, never curl's multi API. */
static size_t fd_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct net_part *p = arg;
    struct net_req *req = p->req;
    size_t want = size * nitems, n;

    if (req->cancelled || req->abort_err != 0)
        return CURL_READFUNC_ABORT;
    if (p->pos >= p->size)
        return 0;
    if (p->chunk_len > 0 && p->pos >= p->chunk_off && p->pos < p->chunk_off + p->chunk_len) {
        n = (size_t)(p->chunk_off + p->chunk_len - p->pos);
        if (n > want)
            n = want;
        memcpy(buf, p->chunk + (p->pos - p->chunk_off), n);
        p->pos += n;
        /* Read ahead once the chunk is used up (a failure waits for the next call). */
        if (p->pos == p->chunk_off + p->chunk_len && p->pos < p->size && !p->reading)
            start_read(p, p->pos);
        return n;
    }
    if (!p->reading) {
        if (p->read_err != 0)
            return read_failed(p);
        if (start_read(p, p->pos) != 0)
            return read_failed(p);
    }
    req->send_paused = true;
    return CURL_READFUNC_PAUSE;
}

/* A chunk arrived (or failed): resume the upload that waits for it. On the loop,
 * outside curl. */
static void fd_read_done(uv_fs_t *fs)
{
    struct net_part *p = container_of(fs, struct net_part, fs);
    struct net_req *req = p->req;
    ssize_t r = fs->result;

    uv_fs_req_cleanup(fs);
    p->reading = false;
    req->fs_pending--;
    if (req->zombie) {
        if (req->fs_pending == 0)
            net_req_destroy(req);
        return;
    }
    if (r < 0)
        p->read_err = (int)r;
    else if (r == 0)
        p->read_err = UV_EOF; /* the file is shorter than announced */
    else
        p->chunk_len = (size_t)r;
    if (req->send_paused && req->easy != NULL && req->state == NET_ST_ACTIVE) {
        req->send_paused = false;
        net_apply_pause(req, true);
    }
}

static int add_file_part(curl_mimepart *mp, struct net_part *p)
{
    curl_read_callback reader = bytes_read;
    curl_off_t size = (curl_off_t)p->len;

    p->pos = 0;
    if (p->kind == NET_PART_FD) {
        if (p->chunk == NULL && (p->chunk = malloc(FD_CHUNK)) == NULL)
            return SZ_ENOMEM;
        if (!p->reading)
            p->read_err = 0; /* a failure of an earlier attempt is retried */
        reader = fd_read;
        size = (curl_off_t)p->size;
    }
    if (curl_mime_data_cb(mp, size, reader, part_seek, NULL, p) != CURLE_OK ||
        curl_mime_filename(mp, p->filename) != CURLE_OK ||
        curl_mime_type(mp, p->mime_type) != CURLE_OK)
        return SZ_ENOMEM;
    return 0;
}

int net_mime_build(struct net_req *req)
{
    curl_mime *mime = curl_mime_init(req->easy);
    int rc;

    if (mime == NULL)
        return SZ_ENOMEM;
    req->mime = mime;
    for (struct net_part *p = req->parts; p != NULL; p = p->next) {
        curl_mimepart *mp = curl_mime_addpart(mime);
        if (mp == NULL || curl_mime_name(mp, p->name) != CURLE_OK)
            return SZ_ENOMEM;
        if (p->kind == NET_PART_FIELD) {
            if (curl_mime_data(mp, p->bytes, p->len) != CURLE_OK)
                return SZ_ENOMEM;
        } else if ((rc = add_file_part(mp, p)) != 0) {
            return rc;
        }
    }
    return curl_easy_setopt(req->easy, CURLOPT_MIMEPOST, mime) == CURLE_OK ? 0 : SZ_ENOMEM;
}

void net_parts_free(struct net_part *p)
{
    while (p != NULL) {
        struct net_part *next = p->next;
        free(p->name);
        free(p->filename);
        free(p->mime_type);
        free(p->bytes);
        free(p->chunk);
        free(p);
        p = next;
    }
}
