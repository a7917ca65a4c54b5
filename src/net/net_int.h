/* Private to src/net/: the client and request structures and the functions the
 * files of the module call in one another. Nothing outside src/net/ includes it.
 *
 * Files: client.c (client lifetime, loop integration, queue, completion, the
 * request's timer), transfer.c (one attempt on the wire: curl options, curl
 * callbacks, clocks, redirects, retries), request.c (building a request, and a
 * provider's base URL and header lines), multipart.c (multipart bodies, file parts
 * streamed from an fd), retry.c (the policy), text.c (summaries, the generic and
 * the providers' error sentences, the id check).
 *
 * A request moves NEW -> QUEUED -> ACTIVE -> (WAIT_RETRY -> QUEUED -> ACTIVE)* ->
 * FINISHED. Each request owns one uv_timer that serves, by state, as the clocks of an
 * attempt (ACTIVE: first byte, stall), the retry sleep (WAIT_RETRY), a wake-up for
 * work that could not be done inside a curl callback (ACTIVE: cancel or resume;
 * QUEUED: start), and the deferral of the done callback (FINISHED). The request is
 * freed in that timer's close callback, or later when a file read on the pool is
 * still running then.
 *
 * Nothing that calls into curl's multi API may run inside a curl callback; `in_curl`
 * counts how deep we are in curl, and work asked for while it is nonzero is deferred
 * to the request's timer or to the client's defer timer. */
#ifndef SZ_NET_INT_H
#define SZ_NET_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/list.h"
#include "net/client.h"

#define NET_MESSAGE_LEN   1024
#define NET_MAX_REDIRECTS 5

enum net_state { NET_ST_NEW, NET_ST_QUEUED, NET_ST_ACTIVE, NET_ST_WAIT_RETRY, NET_ST_FINISHED };

enum net_part_kind { NET_PART_FIELD, NET_PART_BYTES, NET_PART_FD };

/* One part of a multipart body. The read state of BYTES and FD parts lives here
 * rather than in the curl_mime of an attempt: a file read on the pool may finish
 * after its attempt has ended, and it must find valid memory. */
struct net_part {
    struct net_part *next;
    struct net_req *req;
    enum net_part_kind kind;
    char *name;
    char *filename;  /* BYTES and FD */
    char *mime_type; /* BYTES and FD */
    char *bytes;     /* FIELD: NUL-terminated copy; BYTES: owned buffer */
    size_t len;
    uv_file fd; /* FD: borrowed */
    uint64_t size;
    uint64_t pos; /* BYTES and FD: the next offset curl reads */
    /* FD: one chunk of the file, read on the pool */
    char *chunk;
    uint64_t chunk_off;
    size_t chunk_len; /* valid bytes at chunk_off (0 while a read fills it) */
    uv_fs_t fs;
    bool reading;
    int read_err; /* a failed or short read, reported at the next curl read */
};

struct net_header {
    char *name; /* "name\0value" in one allocation */
    const char *value;
};

struct net_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer;  /* curl's single timeout */
    uv_timer_t defer_timer; /* client-level work deferred out of curl callbacks */
    uv_idle_t turn_idle;    /* starts a loop iteration: resumes budget-paused sinks */
    uint64_t turn;          /* loop iterations counted by turn_idle while it runs */

    int max_retries;
    unsigned max_concurrency;
    long connect_timeout_ms, request_timeout_ms, stall_timeout_ms;
    long first_byte_timeout_ms, sink_first_byte_timeout_ms;
    char *user_agent_line; /* "User-Agent: ..." */
    const struct net_service *service;

    struct sz_link queue;   /* NET_ST_QUEUED, FIFO */
    struct sz_link active;  /* NET_ST_ACTIVE */
    struct sz_link waiting; /* NET_ST_WAIT_RETRY */
    struct sz_link sockets; /* struct sock_ctx (client.c) */
    unsigned n_finished;
    unsigned live_reqs; /* started requests not yet freed */
    unsigned open_handles;
    int in_curl;

    bool closing, torn_down, freed;
    net_close_fn *close_cb;
    void *close_data;

    net_random_fn *rand_fn;
    void *rand_data;
    uint64_t rng;

    struct net_stats stats;
};

struct net_req {
    struct net_client *client;
    struct sz_link link;
    enum net_state state;
    uv_timer_t timer;

    /* description */
    char *method;
    char *url;        /* as given, with the query added */
    char *origin;     /* "scheme://host[:port]" of url, for sentences */
    char *origin_key; /* "scheme://host:port", lowercase: where secret headers may go */
    char *label;
    struct curl_slist *user_headers;
    struct curl_slist *secret_headers;
    char *json_body;
    size_t json_len;
    bool has_json;
    struct net_part *parts, **parts_tail;
    bool has_fd_parts;
    bool has_sink;
    struct net_sink sink;
    size_t max_body;
    bool raw;
    long request_timeout_ms, stall_timeout_ms, first_byte_timeout_ms; /* -1: default */
    int max_retries;                                                  /* -1: default */
    const struct net_service *service;
    int fail_err; /* net_req_set_failure */
    char *fail_msg;
    net_done_fn *done;
    void *done_data;

    /* request-wide progress */
    int retries;
    bool cancelled;
    bool sink_started;   /* the sink saw on_headers: no more retries */
    uint64_t received;   /* body bytes given to the sink */
    unsigned fs_pending; /* file reads on the pool that still point here */
    bool zombie;         /* done and closed, waiting for fs_pending to drop to 0 */

    /* current attempt (a redirect hop is a new transfer of the same attempt) */
    CURL *easy;
    curl_mime *mime;
    struct curl_slist *headers; /* everything sent on this hop */
    char *hop_url;              /* NULL: url; else the redirect target */
    bool hop_get;               /* a 301/302/303 turned the request into a bodiless GET */
    int redirects;
    uint64_t t_attempt; /* uv_now when the attempt began (whole-request clock) */
    uint64_t t_sent;    /* uv_now of the hop's start or of its last upload progress */
    curl_off_t ul_last; /* bytes uploaded at t_sent */
    char errbuf[CURL_ERROR_SIZE];
    long status;        /* status of the header block being read */
    bool final_headers; /* the final response's headers are complete */
    bool redirecting;   /* the response is a redirect we follow */
    bool sink_mode;     /* body bytes go to the sink */
    bool rx_started;    /* a response byte arrived (stops the first-byte clock) */
    bool paused;        /* receiving paused (sink or budget) */
    bool send_paused;   /* sending paused until a file chunk is read */
    bool in_on_data;
    bool resume_pending;
    bool cancel_pending; /* cancelled inside a curl callback: remove at next wake-up */
    bool resumed_in_cb;
    int abort_err;       /* set by a callback that made curl abort the transfer */
    char abort_msg[256]; /* its sentence, when the generic one would not do */
    size_t skip;         /* bytes curl will redeliver after a pause that the sink already has */
    uint64_t turn;       /* the loop iteration that turn_bytes counts */
    size_t turn_bytes;   /* bytes given to the sink in that iteration */
    bool budget_paused;  /* paused by the per-iteration budget; turn_idle resumes it */
    uint64_t last_rx;
    struct net_header *hdrs;
    size_t n_hdrs, hdr_bytes;
    struct sz_buf body;

    /* outcome */
    struct net_result res;
    json_t *json;
    char message[NET_MESSAGE_LEN];
    char api_code[64];
};

/* ---- client.c ---- */

/* Records the outcome and schedules the done callback on the request's timer. The
 * transfer must already be off the multi. fmt may be NULL on success. */
void net_complete(struct net_req *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Starts queued requests while slots are free (deferred when inside curl). */
void net_pump(struct net_client *c);
/* Runs the client's deferred work from a 0 ms timer. */
void net_schedule_defer(struct net_client *c);
/* A jitter value in [0, 1). */
double net_next_random(struct net_client *c);
/* The request's timer callback (client.c owns the state machine). */
void net_req_timer_cb(uv_timer_t *t);
/* Starts the budget idle handle if it is not running. */
void net_turn_idle_start(struct net_client *c);
/* Frees a request's memory, or marks it a zombie while file reads still point at it. */
void net_req_destroy(struct net_req *req);
/* The request's label for log lines, and the part of its URL after the origin. */
const char *net_req_name(const struct net_req *req);
const char *net_req_path(const struct net_req *req);
/* The service of a request: its own, else the client's, else a generic one. */
const struct net_service *net_req_service(const struct net_req *req);
/* Completes the request as cancelled ("The <service> request was cancelled"). */
void net_complete_cancelled(struct net_req *req);

/* ---- transfer.c ---- */

/* Puts a queued request on the wire. Not inside a curl callback. */
void net_attempt_start(struct net_req *req);
/* curl finished the transfer with `code` (from drain): outcome, redirect or retry. */
void net_attempt_done(struct net_req *req, CURLcode code);
/* Takes the current attempt off the multi and frees its curl objects. */
void net_detach(struct net_req *req);
/* Applies the wanted pause state (recv: paused; send: send_paused) to the transfer
 * and handles what happened inside curl meanwhile; unpause_send when a file part
 * that returned CURL_READFUNC_PAUSE has its bytes now. Not inside a curl callback. */
void net_apply_pause(struct net_req *req, bool unpause_send);
/* Checks the attempt's clocks: fails the attempt when one ran out, else re-arms the
 * request's timer for the nearest deadline. */
void net_clock_check(struct net_req *req);
/* Re-arms the request's timer for the nearest deadline (or a pending wake-up). */
void net_clock_arm(struct net_req *req);
/* Frees the per-attempt response state (headers, body). */
void net_headers_clear(struct net_req *req);

/* ---- request.c ---- */

/* Frees everything a request owns (parts, strings, buffers) and the request. */
void net_req_free_memory(struct net_req *req);

/* ---- multipart.c ---- */

/* Builds the attempt's curl_mime from the parts and sets it on the easy handle;
 * rewinds every part. 0 or SZ_ENOMEM. */
int net_mime_build(struct net_req *req);
/* Frees the parts (not the fds). */
void net_parts_free(struct net_part *p);

#endif
