/* mcpdrive: the MCP client side of sanzaru's benchmarks (bench/run.mjs drives it).
 *
 * It is deliberately small and single-threaded so that it does not dominate what it
 * measures: over stdio it spawns the server with two pipes and speaks newline-delimited
 * JSON-RPC through poll(); over HTTP it uses libcurl keep-alive connections. Replies
 * are matched by id with a fast prefix scan (the server writes
 * {"jsonrpc":"2.0","id":N,...}); jansson is used only outside the timed windows.
 *
 * Subcommands (each prints one JSON object on stdout):
 *   spawn   --server BIN --runs N
 *           spawn -> initialize response, N times (ms); then BIN --version to exit
 *           (the cost of exec and the shared libraries), N times
 *   rss     --server BIN --tool T --args JSON --calls N [--calls2 M]
 *           VmRSS and RssAnon idle, after N calls, after M more (KiB)
 *   latency --server BIN | --url URL  --tool T --args JSON --n N --warmup W
 *           [--window K --tput-n M]
 *           per-call round trips one at a time (µs), then M calls with K in flight
 *   rawget  --url URL --n N --warmup W
 *           the floor for a remote tool: plain keep-alive GETs of the upstream URL
 *   batch   --server BIN --spec FILE
 *           phases of tool calls, sequential or all at once, with optional pings
 *           while they run; per phase: wall time, latencies, peak RSS (VmHWM reset
 *           through /proc/PID/clear_refs), the server's CPU time (all its threads),
 *           sha256 of the files written.
 * The server inherits the environment; its stderr goes to --stderr FILE (default
 * /dev/null). */
#define _GNU_SOURCE

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTO     "2025-06-18"
#define MAX_IDS   (1u << 20)
#define SAMPLE_US 10000.0 /* RssAnon is sampled this often during a batch phase */

/* ---- small helpers ------------------------------------------------------ */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mcpdrive: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        die("out of memory");
    return q;
}

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + extra + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    int n;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vsnprintf");
    buf_reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

static long proc_status_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    size_t klen = strlen(key);
    long v = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* CPU time pid has used (user + system, all threads), in seconds; -1 when unknown. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long ut = 0, st = 0;
    const char *p;
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* after "(comm)": state is field 3; utime and stime are fields 14 and 15 */
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Resets the peak RSS (VmHWM) of pid to its current RSS (Linux >= 4.0). */
static void reset_hwm(pid_t pid)
{
    char path[64];
    int fd;
    snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "5", 1) != 1)
        die("cannot reset VmHWM through %s: %s", path, strerror(errno));
    close(fd);
}

static int sha256_file(const char *path, char hex[65], long long *psize)
{
    unsigned char md[EVP_MAX_MD_SIZE], *chunk;
    unsigned int mdlen = 0;
    long long total = 0;
    EVP_MD_CTX *ctx;
    int fd, rc = -1;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    chunk = xrealloc(NULL, 1u << 20);
    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while ((n = read(fd, chunk, 1u << 20)) > 0) {
        EVP_DigestUpdate(ctx, chunk, (size_t)n);
        total += n;
    }
    if (n == 0) {
        EVP_DigestFinal_ex(ctx, md, &mdlen);
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        *psize = total;
        rc = 0;
    }
    EVP_MD_CTX_free(ctx);
    free(chunk);
    close(fd);
    return rc;
}

/* ---- one reply, found by id --------------------------------------------- */

struct slot {
    double sent, done; /* µs, monotonic */
    bool pending;
    bool error; /* JSON-RPC error or isError:true */
    bool keep;  /* keep the reply text for verification */
    char *reply;
};

static struct slot *slots;
static long next_id = 1;
static long outstanding;

static long new_id(void)
{
    if ((unsigned long)next_id >= MAX_IDS)
        die("too many requests");
    return next_id++;
}

/* Classifies one reply line; returns its id or -1 for a notification/request. */
static long reply_id(const char *line, size_t len, bool *perror)
{
    static const char pfx[] = "{\"jsonrpc\":\"2.0\",\"id\":";
    long id = -1;
    if (len > sizeof(pfx) && memcmp(line, pfx, sizeof(pfx) - 1) == 0) {
        char *end;
        id = strtol(line + sizeof(pfx) - 1, &end, 10);
        if (*end != ',')
            id = -1;
        else if (strncmp(end, ",\"method\"", 9) == 0)
            return -2; /* a request from the server */
        else
            *perror = strncmp(end, ",\"error\"", 8) == 0 ||
                      memmem(line, len, "\"isError\":true", 14) != NULL;
        return id;
    }
    /* Not our fast path: parse properly. */
    {
        json_error_t je;
        json_t *m = json_loadb(line, len, 0, &je), *jid;
        if (m == NULL)
            die("unparsable line from the server: %.*s", (int)(len > 200 ? 200 : len), line);
        jid = json_object_get(m, "id");
        if (json_object_get(m, "method") != NULL) {
            id = jid ? -2 : -1;
        } else if (json_is_integer(jid)) {
            json_t *res = json_object_get(m, "result");
            id = (long)json_integer_value(jid);
            *perror = json_object_get(m, "error") != NULL ||
                      json_is_true(json_object_get(res, "isError"));
        }
        json_decref(m);
    }
    return id;
}

static void slot_done(long id, const char *line, size_t len, bool err, double t)
{
    struct slot *s;
    if (id <= 0 || id >= next_id)
        return;
    s = &slots[id];
    if (!s->pending)
        return;
    s->pending = false;
    s->done = t;
    s->error = err;
    outstanding--;
    if (s->keep || err) {
        s->reply = xrealloc(NULL, len + 1);
        memcpy(s->reply, line, len);
        s->reply[len] = '\0';
    }
}

/* ---- stdio connection --------------------------------------------------- */

struct conn {
    /* stdio */
    pid_t pid;
    int wfd, rfd;
    struct buf in, out;
    size_t out_off;
    /* http */
    const char *url;
    char sid[128];
};

static struct conn C;

static void flush_out(void)
{
    while (C.out_off < C.out.len) {
        ssize_t n = write(C.wfd, C.out.p + C.out_off, C.out.len - C.out_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            die("write to server: %s", strerror(errno));
        }
        C.out_off += (size_t)n;
    }
    C.out.len = 0;
    C.out_off = 0;
}

static void handle_lines(void)
{
    size_t start = 0;
    double t = now_us();
    for (;;) {
        char *nl = memchr(C.in.p + start, '\n', C.in.len - start);
        size_t len;
        bool err = false;
        long id;
        if (nl == NULL)
            break;
        len = (size_t)(nl - (C.in.p + start));
        if (len > 0) {
            id = reply_id(C.in.p + start, len, &err);
            if (id == -2)
                die("unexpected request from the server: %.*s", (int)(len > 200 ? 200 : len),
                    C.in.p + start);
            slot_done(id, C.in.p + start, len, err, t);
        }
        start += len + 1;
    }
    if (start > 0) {
        memmove(C.in.p, C.in.p + start, C.in.len - start);
        C.in.len -= start;
    }
}

/* Reads and writes until a reply arrives or timeout_us passes (-1: no timeout). */
static void pump(double timeout_us)
{
    double until = timeout_us < 0 ? -1 : now_us() + timeout_us;
    long before = outstanding;
    for (;;) {
        struct pollfd p[2];
        int n = 0, ms, rc;
        p[n].fd = C.rfd;
        p[n].events = POLLIN;
        n++;
        if (C.out.len > C.out_off) {
            p[n].fd = C.wfd;
            p[n].events = POLLOUT;
            n++;
        }
        if (until < 0) {
            ms = -1;
        } else {
            double left = until - now_us();
            if (left <= 0)
                return;
            ms = (int)(left / 1000.0);
        }
        rc = poll(p, (nfds_t)n, ms);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            die("poll: %s", strerror(errno));
        }
        if (n > 1 && (p[1].revents & (POLLOUT | POLLERR)))
            flush_out();
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r;
            buf_reserve(&C.in, 256 * 1024);
            r = read(C.rfd, C.in.p + C.in.len, C.in.cap - C.in.len - 1);
            if (r < 0 && errno != EAGAIN && errno != EINTR)
                die("read from server: %s", strerror(errno));
            if (r == 0)
                die("the server closed its stdout");
            if (r > 0) {
                C.in.len += (size_t)r;
                handle_lines();
            }
        }
        if (outstanding < before)
            return;
        if (until >= 0 && ms == 0 && rc == 0)
            return;
    }
}

static long send_raw(const char *method, const char *params, bool keep)
{
    long id = new_id();
    struct slot *s = &slots[id];
    memset(s, 0, sizeof(*s));
    s->keep = keep;
    s->pending = true;
    outstanding++;
    if (params != NULL)
        buf_printf(&C.out, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"%s\",\"params\":%s}\n", id,
                   method, params);
    else
        buf_printf(&C.out, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"%s\"}\n", id, method);
    s->sent = now_us();
    flush_out();
    return id;
}

static void send_notification(const char *method)
{
    buf_printf(&C.out, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"}\n", method);
    flush_out();
}

static char *call_params(const char *tool, const char *args)
{
    struct buf b = {0};
    buf_printf(&b, "{\"name\":\"%s\",\"arguments\":%s}", tool, args ? args : "{}");
    return b.p;
}

static const char *server_stderr = "/dev/null";

static void spawn_server(const char *bin, char **extra)
{
    int in[2], out[2];
    pid_t pid;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int efd = open(server_stderr, O_WRONLY | O_CREAT | O_APPEND, 0644);
        char *argv[16];
        int i = 0;
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (efd >= 0)
            dup2(efd, 2);
        argv[i++] = strdup(bin);
        while (extra != NULL && *extra != NULL && i < 15)
            argv[i++] = *extra++;
        argv[i] = NULL;
        execv(bin, argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    C.pid = pid;
    C.wfd = in[1];
    C.rfd = out[0];
    fcntl(C.wfd, F_SETFL, O_NONBLOCK);
    fcntl(C.rfd, F_SETFL, O_NONBLOCK);
    C.in.len = 0;
    C.out.len = 0;
    C.out_off = 0;
}

static const char init_params[] = "{\"protocolVersion\":\"" PROTO "\",\"capabilities\":{},"
                                  "\"clientInfo\":{\"name\":\"mcpdrive\",\"version\":\"1\"}}";

static void initialize_stdio(void)
{
    long id = send_raw("initialize", init_params, false);
    while (slots[id].pending)
        pump(-1);
    if (slots[id].error)
        die("initialize failed: %s", slots[id].reply);
    send_notification("notifications/initialized");
}

static void stop_server(void)
{
    int st;
    if (C.pid <= 0)
        return;
    close(C.wfd);
    /* Drain stdout until EOF so a server flushing its last lines never blocks. */
    for (;;) {
        char tmp[65536];
        struct pollfd p = {.fd = C.rfd, .events = POLLIN};
        ssize_t r;
        if (poll(&p, 1, 15000) <= 0)
            break;
        r = read(C.rfd, tmp, sizeof(tmp));
        if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
            break;
    }
    close(C.rfd);
    if (waitpid(C.pid, &st, 0) == C.pid && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        fprintf(stderr, "mcpdrive: server ended with status %d\n",
                WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    C.pid = 0;
}

/* ---- http connection (libcurl, keep-alive) ------------------------------ */

struct hreq {
    CURL *easy;
    struct curl_slist *hdrs;
    struct buf body;
    char *payload;
    long id;
    bool is_init;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct hreq *r = ud;
    buf_add(&r->body, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct hreq *r = ud;
    size_t len = sz * n;
    if (r->is_init && len > 15 && strncasecmp(p, "mcp-session-id:", 15) == 0) {
        size_t i = 15, j = 0;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        while (i < len && p[i] != '\r' && p[i] != '\n' && j + 1 < sizeof(C.sid))
            C.sid[j++] = p[i++];
        C.sid[j] = '\0';
    }
    return len;
}

static size_t on_raw_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_add(ud, p, sz * n);
    return sz * n;
}

static void hreq_init(struct hreq *r)
{
    memset(r, 0, sizeof(*r));
    r->easy = curl_easy_init();
    if (r->easy == NULL)
        die("curl_easy_init");
}

/* Prepares r to POST one message; the connection of r->easy is reused. */
static void hreq_prepare(struct hreq *r, const char *method, const char *params, bool notification)
{
    struct buf b = {0};
    char h[200];
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
    r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json, text/event-stream");
    if (C.sid[0]) {
        snprintf(h, sizeof(h), "Mcp-Session-Id: %s", C.sid);
        r->hdrs = curl_slist_append(r->hdrs, h);
        r->hdrs = curl_slist_append(r->hdrs, "MCP-Protocol-Version: " PROTO);
    }
    r->id = notification ? 0 : new_id();
    if (notification)
        buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"}", method);
    else
        buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"%s\",\"params\":%s}", r->id,
                   method, params ? params : "{}");
    free(r->payload);
    r->payload = b.p;
    r->body.len = 0;
    r->is_init = strcmp(method, "initialize") == 0;
    curl_easy_setopt(r->easy, CURLOPT_URL, C.url);
    curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->payload);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)b.len);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    if (r->id > 0) {
        struct slot *s = &slots[r->id];
        memset(s, 0, sizeof(*s));
        s->pending = true;
        outstanding++;
        s->sent = now_us();
    }
}

/* Completes r: finds the JSON-RPC reply in a JSON or SSE body. */
static void hreq_finish(struct hreq *r, CURLcode cc)
{
    long status = 0;
    double t = now_us();
    const char *p;
    bool err = false;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK)
        die("HTTP request failed: %s", curl_easy_strerror(cc));
    if (r->id == 0) {
        if (status != 202)
            die("notification answered %ld", status);
        return;
    }
    if (status != 200)
        die("HTTP %ld: %s", status, r->body.p ? r->body.p : "");
    p = r->body.p ? r->body.p : "";
    if (p[0] != '{') {
        /* SSE: the reply is the data line holding our id with a result or error */
        const char *d = strstr(p, "data: {\"jsonrpc\":\"2.0\",\"id\":");
        if (d == NULL)
            die("no reply in SSE body: %.200s", p);
        p = d + 6;
    }
    {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        long id = reply_id(p, len, &err);
        if (id != r->id)
            die("reply id %ld for request %ld", id, r->id);
        slots[id].keep = true;
        slot_done(id, p, len, err, t);
    }
}

static void hreq_perform(struct hreq *r)
{
    hreq_finish(r, curl_easy_perform(r->easy));
}

static void hreq_free(struct hreq *r)
{
    curl_slist_free_all(r->hdrs);
    curl_easy_cleanup(r->easy);
    free(r->payload);
    free(r->body.p);
}

static void initialize_http(void)
{
    struct hreq r;
    hreq_init(&r);
    hreq_prepare(&r, "initialize", init_params, false);
    hreq_perform(&r);
    if (slots[r.id].error || C.sid[0] == '\0')
        die("HTTP initialize failed");
    hreq_prepare(&r, "notifications/initialized", NULL, true);
    hreq_perform(&r);
    hreq_free(&r);
}

/* ---- argument parsing ---------------------------------------------------- */

struct opts {
    const char *server, *url, *tool, *args, *spec;
    int runs, calls, calls2, n, warmup, window, tput_n;
};

static void parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->runs = 20;
    o->calls = 1000;
    o->n = 2000;
    o->warmup = 200;
    o->window = 32;
    o->tput_n = 5000;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            die("%s needs a value", k);
        i++;
        if (strcmp(k, "--server") == 0)
            o->server = v;
        else if (strcmp(k, "--url") == 0)
            o->url = v;
        else if (strcmp(k, "--tool") == 0)
            o->tool = v;
        else if (strcmp(k, "--args") == 0)
            o->args = v;
        else if (strcmp(k, "--spec") == 0)
            o->spec = v;
        else if (strcmp(k, "--stderr") == 0)
            server_stderr = v;
        else if (strcmp(k, "--runs") == 0)
            o->runs = atoi(v);
        else if (strcmp(k, "--calls") == 0)
            o->calls = atoi(v);
        else if (strcmp(k, "--calls2") == 0)
            o->calls2 = atoi(v);
        else if (strcmp(k, "--n") == 0)
            o->n = atoi(v);
        else if (strcmp(k, "--warmup") == 0)
            o->warmup = atoi(v);
        else if (strcmp(k, "--window") == 0)
            o->window = atoi(v);
        else if (strcmp(k, "--tput-n") == 0)
            o->tput_n = atoi(v);
        else
            die("unknown option %s", k);
    }
}

static void print_doubles(const char *key, const double *v, size_t n, int decimals)
{
    printf("\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            putchar(',');
        printf("%.*f", decimals, v[i]);
    }
    putchar(']');
}

/* ---- spawn --------------------------------------------------------------- */

static int cmd_spawn(const struct opts *o)
{
    double *t = xrealloc(NULL, sizeof(double) * (size_t)o->runs);
    double *v = xrealloc(NULL, sizeof(double) * (size_t)o->runs);
    long vmax = 0;
    for (int i = 0; i < o->runs; i++) {
        double t0 = now_us();
        long id;
        spawn_server(o->server, NULL);
        id = send_raw("initialize", init_params, false);
        while (slots[id].pending)
            pump(-1);
        t[i] = (slots[id].done - t0) / 1000.0;
        if (slots[id].error)
            die("initialize failed");
        stop_server();
    }
    /* The floor: exec the same binary with --version (loads every shared library,
     * runs no loop) until it exits. */
    for (int i = 0; i < o->runs; i++) {
        double t0 = now_us();
        struct rusage ru;
        int st;
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            int nul = open("/dev/null", O_WRONLY);
            dup2(nul, 1);
            execl(o->server, o->server, "--version", (char *)NULL);
            _exit(127);
        }
        if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("%s --version failed", o->server);
        v[i] = (now_us() - t0) / 1000.0;
        if (ru.ru_maxrss > vmax)
            vmax = ru.ru_maxrss;
    }
    printf("{");
    print_doubles("spawn_to_init_ms", t, (size_t)o->runs, 3);
    putchar(',');
    print_doubles("version_exit_ms", v, (size_t)o->runs, 3);
    printf(",\"version_maxrss_kb\":%ld}\n", vmax);
    free(t);
    free(v);
    return 0;
}

/* ---- rss ----------------------------------------------------------------- */

static void call_n_sequential(const char *method, const char *params, int n)
{
    for (int i = 0; i < n; i++) {
        long id = send_raw(method, params, false);
        while (slots[id].pending)
            pump(-1);
        if (slots[id].error)
            die("call failed: %s", slots[id].reply);
    }
}

/* RSS idle, after `calls` calls, and after `calls2` more: the second figure
 * includes the one-off costs of the first calls (code faulted in, allocator
 * arenas, thread-pool stacks), so growth is judged between the last two. */
static int cmd_rss(const struct opts *o)
{
    char *params = call_params(o->tool, o->args);
    long idle, idle_anon, idle_file, after1, after1_anon, after2, after2_anon;
    struct timespec pause = {0, 200 * 1000 * 1000};
    int calls2 = o->calls2 > 0 ? o->calls2 : o->calls;
    spawn_server(o->server, NULL);
    initialize_stdio();
    nanosleep(&pause, NULL);
    idle = proc_status_kb(C.pid, "VmRSS");
    idle_anon = proc_status_kb(C.pid, "RssAnon");
    idle_file = proc_status_kb(C.pid, "RssFile");
    call_n_sequential("tools/call", params, o->calls);
    nanosleep(&pause, NULL);
    after1 = proc_status_kb(C.pid, "VmRSS");
    after1_anon = proc_status_kb(C.pid, "RssAnon");
    call_n_sequential("tools/call", params, calls2);
    nanosleep(&pause, NULL);
    after2 = proc_status_kb(C.pid, "VmRSS");
    after2_anon = proc_status_kb(C.pid, "RssAnon");
    printf("{\"idle_kb\":%ld,\"idle_anon_kb\":%ld,\"idle_file_kb\":%ld,\"after_n_kb\":%ld,"
           "\"after_n_anon_kb\":%ld,\"after_more_kb\":%ld,\"after_more_anon_kb\":%ld,\"n\":%d,"
           "\"more\":%d,\"hwm_kb\":%ld}\n",
           idle, idle_anon, idle_file, after1, after1_anon, after2, after2_anon, o->calls, calls2,
           proc_status_kb(C.pid, "VmHWM"));
    stop_server();
    free(params);
    return 0;
}

/* ---- latency and throughput --------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_latency(const struct opts *o)
{
    /* --tool @ping measures the protocol's own round trip: `ping`, no tool */
    bool ping = strcmp(o->tool, "@ping") == 0;
    const char *method = ping ? "ping" : "tools/call";
    char *params = ping ? NULL : call_params(o->tool, o->args);
    double *lat = xrealloc(NULL, sizeof(double) * (size_t)o->n);
    double t0, t1, seq_wall, tput_wall;
    long first;
    int errors = 0;

    if (o->url != NULL) {
        struct hreq r;
        C.url = o->url;
        initialize_http();
        hreq_init(&r);
        for (int i = 0; i < o->warmup; i++) {
            hreq_prepare(&r, method, params, false);
            hreq_perform(&r);
        }
        t0 = now_us();
        for (int i = 0; i < o->n; i++) {
            hreq_prepare(&r, method, params, false);
            hreq_perform(&r);
            lat[i] = slots[r.id].done - slots[r.id].sent;
            errors += slots[r.id].error;
            free(slots[r.id].reply);
            slots[r.id].reply = NULL;
        }
        seq_wall = now_us() - t0;
        hreq_free(&r);
        /* throughput: `window` keep-alive connections, each one call at a time */
        {
            CURLM *m = curl_multi_init();
            struct hreq *rs = xrealloc(NULL, sizeof(*rs) * (size_t)o->window);
            int started = 0, finished = 0, running = 0;
            curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->window);
            for (int i = 0; i < o->window; i++) {
                hreq_init(&rs[i]);
                curl_easy_setopt(rs[i].easy, CURLOPT_PRIVATE, &rs[i]);
            }
            t1 = now_us();
            for (int i = 0; i < o->window && started < o->tput_n; i++, started++) {
                hreq_prepare(&rs[i], method, params, false);
                curl_multi_add_handle(m, rs[i].easy);
            }
            while (finished < o->tput_n) {
                CURLMsg *msg;
                int left;
                curl_multi_perform(m, &running);
                while ((msg = curl_multi_info_read(m, &left)) != NULL) {
                    struct hreq *r2;
                    if (msg->msg != CURLMSG_DONE)
                        continue;
                    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r2);
                    curl_multi_remove_handle(m, r2->easy);
                    hreq_finish(r2, msg->data.result);
                    errors += slots[r2->id].error;
                    free(slots[r2->id].reply);
                    slots[r2->id].reply = NULL;
                    finished++;
                    if (started < o->tput_n) {
                        hreq_prepare(r2, method, params, false);
                        curl_multi_add_handle(m, r2->easy);
                        started++;
                    }
                }
                if (finished < o->tput_n)
                    curl_multi_poll(m, NULL, 0, 1000, NULL);
            }
            tput_wall = now_us() - t1;
            for (int i = 0; i < o->window; i++)
                hreq_free(&rs[i]);
            free(rs);
            curl_multi_cleanup(m);
        }
    } else {
        spawn_server(o->server, NULL);
        initialize_stdio();
        call_n_sequential(method, params, o->warmup);
        t0 = now_us();
        for (int i = 0; i < o->n; i++) {
            long id = send_raw(method, params, false);
            while (slots[id].pending)
                pump(-1);
            lat[i] = slots[id].done - slots[id].sent;
            errors += slots[id].error;
        }
        seq_wall = now_us() - t0;
        /* throughput: `window` requests in flight on the one pipe */
        first = next_id;
        t1 = now_us();
        {
            int sent = 0;
            while (sent < o->tput_n || outstanding > 0) {
                while (sent < o->tput_n && outstanding < o->window) {
                    send_raw(method, params, false);
                    sent++;
                }
                pump(-1);
            }
        }
        tput_wall = now_us() - t1;
        for (long id = first; id < next_id; id++)
            errors += slots[id].error;
        stop_server();
    }
    qsort(lat, (size_t)o->n, sizeof(double), cmp_double);
    printf("{\"transport\":\"%s\",\"n\":%d,\"errors\":%d,\"seq_calls_per_s\":%.1f,",
           o->url ? "http" : "stdio", o->n, errors, o->n / (seq_wall / 1e6));
    printf("\"window\":%d,\"tput_n\":%d,\"tput_calls_per_s\":%.1f,", o->window, o->tput_n,
           o->tput_n / (tput_wall / 1e6));
    print_doubles("lat_us", lat, (size_t)o->n, 1);
    printf("}\n");
    free(lat);
    free(params);
    return 0;
}

/* ---- rawget: the upstream floor ------------------------------------------- */

/* Sequential GETs of one URL on one keep-alive connection (with a bearer token), the
 * request a remote tool makes upstream, without MCP or sanzaru in between. */
static int cmd_rawget(const struct opts *o)
{
    double *lat = xrealloc(NULL, sizeof(double) * (size_t)o->n);
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer bench");
    struct buf body = {0};
    CURL *e = curl_easy_init();
    double t0 = 0, wall;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_raw_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    for (int i = 0; i < o->warmup + o->n; i++) {
        double t = now_us();
        long status = 0;
        CURLcode cc;
        body.len = 0;
        cc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK || status != 200)
            die("GET %s: %s %ld", o->url, curl_easy_strerror(cc), status);
        if (i == o->warmup)
            t0 = t;
        if (i >= o->warmup)
            lat[i - o->warmup] = now_us() - t;
    }
    wall = now_us() - t0;
    qsort(lat, (size_t)o->n, sizeof(double), cmp_double);
    printf("{\"n\":%d,\"seq_calls_per_s\":%.1f,", o->n, o->n / (wall / 1e6));
    print_doubles("lat_us", lat, (size_t)o->n, 1);
    printf("}\n");
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    free(body.p);
    free(lat);
    return 0;
}

/* ---- batch ----------------------------------------------------------------- */

struct call {
    char *params;
    const char *vpath, *vsha, *result_sha_key;
    long long vsize;
    bool vdelete;
    long id;
    /* the file's hash, computed after the phase by hash_files() */
    int hash_rc, hash_errno;
    char hex[65];
    long long size;
};

struct hash_job {
    struct call *cs;
    size_t n;
    atomic_size_t next;
};

static void *hash_worker(void *arg)
{
    struct hash_job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        struct call *c;
        if (i >= j->n)
            return NULL;
        c = &j->cs[i];
        if (c->vpath == NULL || slots[c->id].error)
            continue;
        c->hash_rc = sha256_file(c->vpath, c->hex, &c->size);
        c->hash_errno = errno;
    }
}

/* Hashes the files of a phase on every core (outside the timed window). */
static void hash_files(struct call *cs, size_t n)
{
    struct hash_job j = {.cs = cs, .n = n};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    pthread_t th[16];
    size_t nt = ncpu > 1 ? (size_t)(ncpu > 16 ? 16 : ncpu) : 1, started = 0;
    atomic_init(&j.next, 0);
    for (size_t i = 1; i < nt; i++)
        if (pthread_create(&th[started], NULL, hash_worker, &j) == 0)
            started++;
    hash_worker(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

static json_t *load_spec(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (j == NULL)
        die("%s:%d: %s", path, je.line, je.text);
    return j;
}

/* Checks one call's reply and the file it wrote; appends a reason on failure. */
static bool verify_call(struct call *c, struct buf *why)
{
    struct slot *s = &slots[c->id];
    bool ok = true;
    if (s->error) {
        buf_printf(why, "call %ld failed: %.300s; ", c->id, s->reply ? s->reply : "");
        return false;
    }
    if (c->vpath == NULL)
        return true;
    if (c->result_sha_key != NULL && s->reply != NULL) {
        json_t *m = json_loads(s->reply, 0, NULL);
        json_t *sc = json_object_get(json_object_get(m, "result"), "structuredContent");
        const char *got = json_string_value(json_object_get(sc, c->result_sha_key));
        /* a result without the field is not a mismatch; the file is hashed below */
        if (got != NULL && (c->vsha == NULL || strcmp(got, c->vsha) != 0)) {
            buf_printf(why, "call %ld: the result's %s is %s; ", c->id, c->result_sha_key, got);
            ok = false;
        }
        json_decref(m);
    }
    if (c->hash_rc != 0) {
        buf_printf(why, "%s: %s; ", c->vpath, strerror(c->hash_errno));
        return false;
    }
    if ((c->vsha != NULL && strcmp(c->hex, c->vsha) != 0) ||
        (c->vsize >= 0 && c->size != c->vsize)) {
        buf_printf(why, "%s: file sha256 %s, %lld bytes; ", c->vpath, c->hex, c->size);
        ok = false;
    }
    return ok;
}

static int cmd_batch(const struct opts *o)
{
    json_t *spec = load_spec(o->spec), *phases = json_object_get(spec, "phases"), *ph;
    size_t pi;
    bool first_out = true;

    spawn_server(o->server, NULL);
    initialize_stdio();
    {
        /* a first call of each kind warms the server (e.g. opens the stores) */
        json_t *warm = json_object_get(spec, "warmup"), *w;
        size_t wi;
        json_array_foreach(warm, wi, w)
        {
            char *a = json_dumps(json_object_get(w, "args"), JSON_COMPACT);
            char *params = call_params(json_string_value(json_object_get(w, "tool")), a);
            call_n_sequential("tools/call", params, 1);
            free(a);
            free(params);
        }
    }
    printf("{\"phases\":[");
    json_array_foreach(phases, pi, ph)
    {
        json_t *calls = json_object_get(ph, "calls"), *jc;
        const char *mode = json_string_value(json_object_get(ph, "mode"));
        bool concurrent = mode != NULL && strcmp(mode, "concurrent") == 0;
        double ping_ms = json_number_value(json_object_get(ph, "ping_interval_ms"));
        int ping_count = (int)json_integer_value(json_object_get(ph, "ping_count"));
        size_t nc = json_array_size(calls), ci;
        struct call *cs = xrealloc(NULL, sizeof(*cs) * (nc ? nc : 1));
        double *pings = NULL;
        size_t np = 0, pcap = 0;
        double t0, wall, next_ping, next_sample, cpu0;
        long peak_anon;
        long ping_id = 0;
        size_t verified = 0, failed = 0, errors = 0;
        struct buf why = {0};
        long hwm;

        memset(cs, 0, sizeof(*cs) * (nc ? nc : 1));
        json_array_foreach(calls, ci, jc)
        {
            json_t *v = json_object_get(jc, "verify");
            char *a = json_dumps(json_object_get(jc, "args"), JSON_COMPACT);
            cs[ci].params = call_params(json_string_value(json_object_get(jc, "tool")), a);
            free(a);
            cs[ci].vsize = -1;
            if (v != NULL) {
                cs[ci].vpath = json_string_value(json_object_get(v, "path"));
                cs[ci].vsha = json_string_value(json_object_get(v, "sha256"));
                cs[ci].result_sha_key = json_string_value(json_object_get(v, "result_sha256_key"));
                if (json_is_integer(json_object_get(v, "size")))
                    cs[ci].vsize = (long long)json_integer_value(json_object_get(v, "size"));
                cs[ci].vdelete = json_is_true(json_object_get(v, "delete"));
            }
        }
        reset_hwm(C.pid);
        cpu0 = proc_cpu_s(C.pid);
        t0 = now_us();
        next_ping = t0;
        next_sample = t0;
        peak_anon = 0;
        if (concurrent) {
            for (ci = 0; ci < nc; ci++)
                cs[ci].id = send_raw("tools/call", cs[ci].params, cs[ci].result_sha_key != NULL);
        }
        ci = 0;
        for (;;) {
            bool calls_done = true, want_ping;
            if (ping_id > 0 && !slots[ping_id].pending) {
                if (np == pcap) {
                    pcap = pcap ? pcap * 2 : 256;
                    pings = xrealloc(pings, sizeof(double) * pcap);
                }
                pings[np++] = (slots[ping_id].done - slots[ping_id].sent) / 1000.0;
                if (slots[ping_id].error)
                    die("ping failed");
                ping_id = 0;
            }
            /* sequential: the next call once the previous one is answered */
            if (!concurrent && ci < nc && (ci == 0 || !slots[cs[ci - 1].id].pending)) {
                cs[ci].id = send_raw("tools/call", cs[ci].params, cs[ci].result_sha_key != NULL);
                ci++;
            }
            for (size_t k = 0; k < nc; k++)
                if (cs[k].id == 0 || slots[cs[k].id].pending) {
                    calls_done = false;
                    break;
                }
            want_ping = ping_ms > 0 && (nc > 0 ? !calls_done : (int)np < ping_count);
            if (ping_id == 0 && !want_ping && calls_done)
                break;
            if (ping_id == 0 && want_ping && now_us() >= next_ping) {
                ping_id = send_raw("ping", NULL, false);
                next_ping = slots[ping_id].sent + ping_ms * 1000.0;
            }
            {
                /* wake for the next ping and the next RSS sample, or a reply */
                double t = now_us(), until;
                if (t >= next_sample) {
                    long a = proc_status_kb(C.pid, "RssAnon");
                    if (a > peak_anon)
                        peak_anon = a;
                    next_sample = t + SAMPLE_US;
                }
                until = next_sample;
                if (ping_id == 0 && want_ping && next_ping < until)
                    until = next_ping;
                pump(until > t ? until - t : 0);
            }
        }
        {
            long a = proc_status_kb(C.pid, "RssAnon");
            if (a > peak_anon)
                peak_anon = a;
        }
        wall = 0;
        for (size_t k = 0; k < nc; k++)
            if (slots[cs[k].id].done - t0 > wall)
                wall = slots[cs[k].id].done - t0;
        if (nc == 0)
            wall = now_us() - t0;
        hwm = proc_status_kb(C.pid, "VmHWM");
        cpu0 = cpu0 >= 0 ? proc_cpu_s(C.pid) - cpu0 : -1;

        hash_files(cs, nc);
        for (size_t k = 0; k < nc; k++) {
            errors += slots[cs[k].id].error;
            if (cs[k].vpath != NULL || slots[cs[k].id].error) {
                if (verify_call(&cs[k], &why))
                    verified++;
                else
                    failed++;
            }
            if (cs[k].vdelete && cs[k].vpath != NULL)
                unlink(cs[k].vpath);
        }
        printf("%s{\"name\":%s,\"mode\":\"%s\",\"calls\":%zu,\"wall_ms\":%.3f,\"hwm_kb\":%ld,"
               "\"peak_anon_kb\":%ld,\"cpu_s\":%.2f,"
               "\"errors\":%zu,\"verified\":%zu,\"verify_failed\":%zu,",
               first_out ? "" : ",", json_dumps(json_object_get(ph, "name"), JSON_ENCODE_ANY),
               concurrent ? "concurrent" : "sequential", nc, wall / 1000.0, hwm, peak_anon, cpu0,
               errors, verified, failed);
        if (why.len)
            printf("\"why\":%s,", json_dumps(json_string(why.p), JSON_ENCODE_ANY));
        {
            double *lat = xrealloc(NULL, sizeof(double) * (nc ? nc : 1));
            for (size_t k = 0; k < nc; k++)
                lat[k] = (slots[cs[k].id].done - slots[cs[k].id].sent) / 1000.0;
            print_doubles("lat_ms", lat, nc, 3);
            free(lat);
        }
        putchar(',');
        print_doubles("ping_ms", pings, np, 3);
        printf(",\"file_bytes\":[");
        for (size_t k = 0, m = 0; k < nc; k++)
            if (cs[k].vpath != NULL && cs[k].hash_rc == 0 && !slots[cs[k].id].error)
                printf("%s%lld", m++ ? "," : "", cs[k].size);
        printf("]}");
        fflush(stdout);
        first_out = false;
        for (size_t k = 0; k < nc; k++) {
            free(cs[k].params);
            free(slots[cs[k].id].reply);
            slots[cs[k].id].reply = NULL;
        }
        free(cs);
        free(pings);
        free(why.p);
    }
    printf("],\"final_rss_kb\":%ld}\n", proc_status_kb(C.pid, "VmRSS"));
    stop_server();
    json_decref(spec);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        die("usage: mcpdrive spawn|rss|latency|batch [options] (see the source)");
    parse_opts(argc, argv, &o);
    slots = calloc(MAX_IDS, sizeof(*slots));
    if (slots == NULL)
        die("out of memory");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[1], "spawn") == 0)
        return cmd_spawn(&o);
    if (strcmp(argv[1], "rss") == 0)
        return cmd_rss(&o);
    if (strcmp(argv[1], "latency") == 0)
        return cmd_latency(&o);
    if (strcmp(argv[1], "batch") == 0)
        return cmd_batch(&o);
    if (strcmp(argv[1], "rawget") == 0)
        return cmd_rawget(&o);
    die("unknown subcommand %s", argv[1]);
    return 1;
}
