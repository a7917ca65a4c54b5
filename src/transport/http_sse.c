/* The bounded event log behind every SSE stream of the HTTP transport. Each message the
 * engine sends on a stream is formatted once as an SSE event with id "<stream>-<seq>" and
 * kept here, so a client that lost its connection can come back with Last-Event-ID and
 * get what it missed. The log drops its oldest events past a byte and count budget, but
 * never the final response of a request, nor the event being written at that moment. */
#include "fmacros.h"

#include "transport/http_int.h"
#include "core/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_sse_log_init(struct http_sse_log *l, size_t max_bytes, size_t max_count)
{
    memset(l, 0, sizeof(*l));
    sz_list_init(&l->events);
    l->next_seq = 1;
    l->max_bytes = max_bytes;
    l->max_count = max_count;
}

/* Drops old events until the log fits its budget or nothing more may go. The newest
 * event is never dropped (it was just added). */
static void trim_log(struct http_sse_log *l, uint64_t pinned)
{
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &l->events)
    {
        struct http_event *ev = container_of(pos, struct http_event, link);
        if (l->bytes <= l->max_bytes && l->count <= l->max_count)
            break;
        if (ev->final || ev->seq == pinned || pos == l->events.prev)
            continue;
        sz_list_remove(pos);
        l->bytes -= ev->len;
        l->count--;
        l->dropped++;
        free(ev);
    }
}

int http_sse_log_push(struct http_sse_log *l, uint64_t stream_id, const char *json, size_t len,
                      bool final, uint64_t pinned)
{
    char head[80];
    int hn;
    struct http_event *ev;
    static const char tail[] = "\n\n";

    if (l->no_ids)
        hn = snprintf(head, sizeof(head), "event: message\ndata: ");
    else
        hn =
            snprintf(head, sizeof(head),
                     "id: %" PRIu64 "-%" PRIu64 "\nevent: message\ndata: ", stream_id, l->next_seq);
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return SZ_EINVAL;
    ev = malloc(sizeof(*ev) + (size_t)hn + len + sizeof(tail));
    if (ev == NULL)
        return SZ_ENOMEM;
    ev->seq = l->next_seq++;
    ev->final = final;
    ev->data_off = (size_t)hn;
    ev->data_len = len;
    ev->len = (size_t)hn + len + sizeof(tail) - 1;
    memcpy(ev->text, head, (size_t)hn);
    memcpy(ev->text + hn, json, len);
    memcpy(ev->text + (size_t)hn + len, tail, sizeof(tail)); /* keeps a NUL after the event */
    sz_list_push_back(&l->events, &ev->link);
    l->count++;
    l->bytes += ev->len;
    trim_log(l, pinned);
    return 0;
}

const struct http_event *http_sse_log_find(const struct http_sse_log *l, uint64_t seq)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &l->events)
    {
        const struct http_event *ev = container_of(pos, struct http_event, link);
        if (ev->seq >= seq)
            return ev;
    }
    return NULL;
}

const struct http_event *http_sse_log_first(const struct http_sse_log *l)
{
    struct sz_link *pos = sz_list_first(&l->events);
    return pos != NULL ? container_of(pos, struct http_event, link) : NULL;
}

const struct http_event *http_sse_log_last(const struct http_sse_log *l)
{
    struct sz_link *pos = l->events.prev;
    return pos != &l->events ? container_of(pos, struct http_event, link) : NULL;
}

void http_sse_log_free(struct http_sse_log *l)
{
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &l->events)
    {
        sz_list_remove(pos);
        free(container_of(pos, struct http_event, link));
    }
    l->count = 0;
    l->bytes = 0;
}
