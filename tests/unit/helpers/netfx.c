/* The HTTP client's test fixture (see netfx.h). */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/netfx.h"

static void dispatch(struct tsrv_conn *c, int idx, void *data)
{
    struct fx *fx = data;
    fx->handler(fx, c, idx);
}

static void default_handler(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(c, 200, NULL, "{\"ok\":true}");
}

int fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    tsrv_start(&fx->srv, &fx->loop, dispatch, fx);
    snprintf(fx->base, sizeof(fx->base), "%s/v1", fx->srv.url);
    fx->handler = default_handler;
    net_options_init(&fx->opts);
    fx->opts.max_retries = 2;
    fx->opts.max_concurrency = 16;
    fx->opts.connect_timeout_ms = 5000;
    fx->opts.request_timeout_ms = 10000;
    fx->opts.stall_timeout_ms = 5000;
    uv_timer_init(&fx->loop, &fx->watchdog);
    fx->watchdog.data = fx;
    uv_timer_init(&fx->loop, &fx->resume_timer);
    fx->resume_timer.data = fx;
    *state = fx;
    return 0;
}

void fx_on_client_closed(struct net_client *client, void *data)
{
    struct fx *fx = data;
    (void)client;
    fx->client_closed++;
}

int fx_teardown(void **state)
{
    struct fx *fx = *state;

    if (fx->client != NULL)
        net_client_close(fx->client, fx_on_client_closed, fx);
    tsrv_stop(&fx->srv);
    uv_close((uv_handle_t *)&fx->watchdog, NULL);
    uv_close((uv_handle_t *)&fx->resume_timer, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    if (fx->client != NULL)
        assert_int_equal(fx->client_closed, 1);
    assert_int_equal(fx->srv.open_handles, 0);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    tsrv_free(&fx->srv);
    for (int i = 0; i < 8; i++) {
        json_decref(fx->done[i].json);
        free(fx->done[i].body);
    }
    free(fx);
    return 0;
}

static double random_one(void *data)
{
    (void)data;
    return 0.9999999;
}

void fx_make_client(struct fx *fx)
{
    assert_int_equal(net_client_new(&fx->loop, &fx->opts, &fx->client), 0);
    net_client_set_random(fx->client, random_one, NULL);
}

static void watchdog_cb(uv_timer_t *t)
{
    struct fx *fx = t->data;
    fx->timed_out = 1;
}

void fx_run_until(struct fx *fx, const int *flag)
{
    fx->timed_out = 0;
    uv_timer_start(&fx->watchdog, watchdog_cb, 10000, 0);
    while (!*flag && !fx->timed_out)
        uv_run(&fx->loop, UV_RUN_ONCE);
    uv_timer_stop(&fx->watchdog);
    if (fx->timed_out)
        fail_msg("timed out waiting for the loop");
}

void fx_on_done(struct net_req *req, const struct net_result *res, void *data)
{
    struct done_rec *d = data;
    (void)req;
    d->calls++;
    d->err = res->err;
    d->status = res->status;
    d->retries = res->retries;
    snprintf(d->message, sizeof(d->message), "%s", res->message ? res->message : "");
    snprintf(d->code, sizeof(d->code), "%s", res->api_code ? res->api_code : "");
    json_decref(d->json);
    d->json = res->json != NULL ? json_incref(res->json) : NULL;
    free(d->body);
    d->body = NULL;
    d->body_len = res->body_len;
    if (res->body != NULL) {
        d->body = malloc(res->body_len + 1);
        assert_non_null(d->body);
        memcpy(d->body, res->body, res->body_len + 1);
    }
}

struct net_req *fx_req(struct fx *fx, const char *method, const char *path)
{
    struct net_req *req = NULL;
    char url[1024];

    snprintf(url, sizeof(url), "%s%s", fx->base, path);
    assert_int_equal(net_req_new(fx->client, method, url, &req), 0);
    return req;
}

void fx_start(struct fx *fx, struct net_req *req, struct done_rec *d)
{
    (void)fx;
    assert_int_equal(net_req_start(req, fx_on_done, d), 0);
}

int fx_has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}
