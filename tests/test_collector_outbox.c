/*
 * The notification outbox against a real redis-server and the hookfix webhook
 * receiver (plus a tiny SMTP server on the test's loop): delivered exactly
 * once, retried with growing gaps, 4xx failures kept, expiry, re-enqueues,
 * crash recovery through a new outbox, a killed Redis connection, a burst of
 * 200 within max_inflight, and signatures as the fixture checks them.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <curl/curl.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookfix_client.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "nines/wire.h"
#include "outbox.h"
#include "redis_fixture.h"
#include "testutil.h"
#include "looputil.h"

struct run {
    uv_loop_t loop;
    uv_timer_t tick;
    struct nines_redis_addr addr;
    struct outbox *ob;
    int (*cond)(struct run *r);
    int closed;
    uint64_t want;                 /* for the conditions */
    struct hookfix *hook;
    struct redis_fixture *redis;
};

struct enq {
    int done;
    int status;
};

struct got {
    int done;
    int status;
    json_t *item;
};

/* ---- loop helpers ------------------------------------------------------- */

static int run_cond(void *arg)
{
    struct run *r = arg;

    return r->cond(r);
}

/* Runs the loop until cond(r) holds (returns 1) or timeout_ms passes (0). */
static int run_until(struct run *r, int (*cond)(struct run *r), int timeout_ms)
{
    r->cond = cond;
    return test_loop_until(&r->loop, &r->tick, run_cond, r, timeout_ms);
}

static int cond_never(struct run *r)
{
    (void)r;
    return 0;
}

static struct outbox_stats stats_of(struct run *r)
{
    struct outbox_stats st;

    outbox_stats(r->ob, &st);
    return st;
}

static int cond_up(struct run *r)
{
    return stats_of(r).redis_up;
}

static int cond_delivered(struct run *r)
{
    struct outbox_stats st = stats_of(r);

    return st.delivered >= r->want && st.inflight == 0;
}

static int cond_some_delivered(struct run *r)
{
    return stats_of(r).delivered >= r->want;
}

static int cond_failed(struct run *r)
{
    return stats_of(r).failed >= r->want;
}

static int cond_expired(struct run *r)
{
    return stats_of(r).expired >= r->want;
}

static int cond_closed(struct run *r)
{
    return r->closed;
}

static int cond_hook_total(struct run *r)
{
    struct hookfix_stats hs;
    int ok = hookfix_get_stats(r->hook, &hs) == 0 && (uint64_t)hs.total >= r->want;

    hookfix_stats_clear(&hs);
    return ok;
}

static int cond_wall_passed(struct run *r)
{
    return (uint64_t)nines_wall_ms() >= r->want;
}

static long long redis_int(struct redis_fixture *f, const char *fmt, const char *arg)
{
    redisContext *c = redis_fixture_connect(f);
    redisReply *rep = c != NULL ? redisCommand(c, fmt, arg) : NULL;
    long long v = -1;

    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    if (rep != NULL)
        freeReplyObject(rep);
    if (c != NULL)
        redisFree(c);
    return v;
}

static int cond_due_empty(struct run *r)
{
    return redis_int(r->redis, "ZCARD %s", OUTBOX_KEY_DUE) == 0;
}

static void run_init(struct run *r, struct redis_fixture *f, struct hookfix *h)
{
    struct nines_err err = { 0 };

    signal(SIGPIPE, SIG_IGN);
    memset(r, 0, sizeof(*r));
    cr_assert(eq(int, curl_global_init(CURL_GLOBAL_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_init(&r->loop), 0));
    uv_timer_init(&r->loop, &r->tick);
    r->tick.data = r;
    r->redis = f;
    r->hook = h;
    if (f != NULL)
        cr_assert(eq(int, nines_redis_url_parse(f->url, &r->addr, &err), 0), "%s", err.msg);
}

static void on_closed(void *arg)
{
    ((struct run *)arg)->closed = 1;
}

/* A new outbox, connected (unless wait_up is 0). */
static void run_open(struct run *r, const struct outbox_opts *o, int wait_up)
{
    r->closed = 0;
    r->ob = outbox_new(&r->loop, &r->addr, o);
    cr_assert(r->ob != NULL);
    if (wait_up)
        cr_assert(run_until(r, cond_up, 5000), "the outbox reaches Redis");
}

static void run_close(struct run *r)
{
    outbox_close(r->ob, on_closed, r);
    cr_assert(run_until(r, cond_closed, 5000), "outbox_close finishes");
    r->ob = NULL;
}

static void run_fini(struct run *r)
{
    if (r->ob != NULL)
        run_close(r);
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&r->loop), 0), "nothing left open");
    curl_global_cleanup();
}

/* ---- requests ----------------------------------------------------------- */

static void make_request(struct notify_request *rq, const struct hookfix *h, const char *body)
{
    memset(rq, 0, sizeof(*rq));
    snprintf(rq->method, sizeof(rq->method), "POST");
    snprintf(rq->url, sizeof(rq->url), "%s/hook/in", h->base_url);
    rq->headers[rq->nheaders++] = strdup("Content-Type: application/json");
    rq->headers[rq->nheaders++] = strdup("Authorization: Bearer very-secret-token");
    rq->body = strdup(body);
    rq->body_len = strlen(body);
}

static void free_request(struct notify_request *rq)
{
    for (size_t i = 0; i < rq->nheaders; i++)
        free(rq->headers[i]);
    for (size_t i = 0; i < rq->nrcpt; i++)
        free(rq->rcpt[i]);
    free(rq->body);
    memset(rq, 0, sizeof(*rq));
}

static void on_enqueued(int status, void *arg)
{
    struct enq *e = arg;

    e->done++;
    e->status = status;
}

static struct enq *enq_wait_target;

static int cond_enq_done(struct run *r)
{
    (void)r;
    return enq_wait_target->done > 0;
}

/* Enqueues and waits for Redis's answer; returns done's status. */
static int enqueue(struct run *r, const char *id, const struct notify_request *rq)
{
    struct enq e = { 0, -100 };

    cr_assert(eq(int, outbox_enqueue(r->ob, id, "hook", rq, on_enqueued, &e), 0), "%s", id);
    enq_wait_target = &e;
    cr_assert(run_until(r, cond_enq_done, 5000), "enqueue of %s answered", id);
    cr_assert(eq(int, e.done, 1));
    return e.status;
}

static void enqueue_body(struct run *r, const char *id, const char *body)
{
    struct notify_request rq;

    make_request(&rq, r->hook, body);
    cr_assert(eq(int, enqueue(r, id, &rq), 0), "%s is new", id);
    free_request(&rq);
}

static void on_got(int status, json_t *item, void *arg)
{
    struct got *g = arg;

    g->done = 1;
    g->status = status;
    g->item = item != NULL ? json_incref(item) : NULL;
}

static struct got *got_wait_target;

static int cond_got(struct run *r)
{
    (void)r;
    return got_wait_target->done;
}

/* The item as outbox_get shows it (caller decrefs), asserting it exists. */
static json_t *get_item(struct run *r, const char *id)
{
    struct got g = { 0, -100, NULL };

    cr_assert(eq(int, outbox_get(r->ob, id, on_got, &g), 0));
    got_wait_target = &g;
    cr_assert(run_until(r, cond_got, 5000));
    cr_assert(eq(int, g.status, 0), "%s found", id);
    cr_assert(g.item != NULL);
    return g.item;
}

static const char *jstr(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));

    return s != NULL ? s : "(none)";
}

static long long jint(const json_t *o, const char *name)
{
    return (long long)json_integer_value(json_object_get(o, name));
}

static struct hookfix_stats hook_stats(struct hookfix *h)
{
    struct hookfix_stats hs;

    cr_assert(eq(int, hookfix_get_stats(h, &hs), 0));
    return hs;
}

static void start_servers(struct redis_fixture *f, struct hookfix *h, const char *secret)
{
    cr_assert(eq(int, redis_fixture_start(f, 0), 0));
    cr_assert(eq(int, hookfix_start(h, secret), 0));
}

static void stop_servers(struct redis_fixture *f, struct hookfix *h)
{
    hookfix_stop(h);
    redis_fixture_stop(f);
}

/* ---- delivery ----------------------------------------------------------- */

Test(outbox, delivers_once_and_logs_the_attempt, .timeout = 30)
{
    static const char id[] = "hook/check_down/web@1795889593790/firing";
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    json_t *item, *log, *a;
    char *last, *text;
    redisContext *c;
    redisReply *rep;

    start_servers(&f, &h, NULL);
    run_init(&r, &f, &h);
    run_open(&r, NULL, 1);
    enqueue_body(&r, id, "{\"state\":\"firing\"}");
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 10000), "delivered");

    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 1));
    cr_assert(eq(long, hs.accepted, 1));
    cr_assert(eq(long, hookfix_key_count(&hs, id), 1), "Idempotency-Key is the item id");
    hookfix_stats_clear(&hs);
    last = hookfix_last_request(&h);
    cr_assert(last != NULL);
    cr_assert(strncmp(last, "POST /hook/in HTTP/1.1\r\n", 24) == 0, "%s", last);
    cr_assert(strstr(last, "Authorization: Bearer very-secret-token\r\n") != NULL);
    cr_assert(strstr(last, "Content-Type: application/json\r\n") != NULL);
    cr_assert(strstr(last, "\r\n\r\n{\"state\":\"firing\"}") != NULL, "body verbatim");
    free(last);

    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "delivered"));
    cr_assert(eq(str, (char *)jstr(item, "receiver"), "hook"));
    cr_assert(eq(i64, jint(item, "attempts"), 1));
    cr_assert(gt(i64, jint(item, "delivered_ms"), 0));
    cr_assert(json_object_get(item, "request") == NULL, "the request stays in Redis");
    cr_assert(json_object_get(item, "next_ms") == NULL, "finished: no next attempt");
    log = json_object_get(item, "log");
    cr_assert(eq(sz, json_array_size(log), 1));
    a = json_array_get(log, 0);
    cr_assert(eq(str, (char *)jstr(a, "outcome"), "delivered"));
    cr_assert(eq(i64, jint(a, "status"), 200));
    cr_assert(eq(i64, jint(a, "attempt"), 1));
    cr_assert(eq(int, json_is_true(json_object_get(a, "sent")), 1));
    text = json_dumps(item, 0);
    cr_assert(text != NULL && strstr(text, "very-secret-token") == NULL);
    free(text);
    json_decref(item);

    /* in Redis: out of the due set, kept for 7 days, the request stored */
    cr_assert(eq(i64, redis_int(&f, "ZCARD %s", OUTBOX_KEY_DUE), 0));
    c = redis_fixture_connect(&f);
    rep = redisCommand(c, "TTL %s%s", OUTBOX_KEY_ITEM_PREFIX, id);
    cr_assert(rep->integer > 604000 && rep->integer <= 604800, "item TTL %lld", rep->integer);
    freeReplyObject(rep);
    rep = redisCommand(c, "TTL %s%s", OUTBOX_KEY_LOG_PREFIX, id);
    cr_assert(rep->integer > 604000 && rep->integer <= 604800, "log TTL %lld", rep->integer);
    freeReplyObject(rep);
    rep = redisCommand(c, "HGET %s%s request", OUTBOX_KEY_ITEM_PREFIX, id);
    cr_assert(rep->type == REDIS_REPLY_STRING && strstr(rep->str, h.base_url) != NULL);
    freeReplyObject(rep);
    redisFree(c);

    /* nothing more is sent */
    run_until(&r, cond_never, 300);
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 1));
    hookfix_stats_clear(&hs);
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, retries_500s_with_growing_gaps_then_delivers_once, .timeout = 30)
{
    static const char id[] = "hook/check_down/api@1/firing";
    struct outbox_opts o = { .backoff_min_ms = 100, .backoff_max_ms = 5000 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    struct outbox_stats st;
    json_t *item, *log;
    long long prev_gap = 0;

    start_servers(&f, &h, NULL);
    cr_assert(eq(int, hookfix_set_mode(&h, "status=500&count=4"), 0));
    run_init(&r, &f, &h);
    run_open(&r, &o, 1);
    enqueue_body(&r, id, "{}");
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 15000), "delivered after the receiver recovers");
    st = stats_of(&r);
    cr_assert(eq(u64, st.retried, 4));
    cr_assert(eq(u64, st.delivered, 1));
    cr_assert(eq(u64, st.attempts, 5));

    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 5));
    cr_assert(eq(long, hs.accepted, 1));
    cr_assert(eq(long, hookfix_key_count(&hs, id), 1));
    hookfix_stats_clear(&hs);

    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "delivered"));
    cr_assert(eq(i64, jint(item, "attempts"), 5));
    log = json_object_get(item, "log");
    cr_assert(eq(sz, json_array_size(log), 5));
    for (size_t i = 0; i < 5; i++) {
        json_t *a = json_array_get(log, i);

        cr_assert(eq(i64, jint(a, "attempt"), (long long)i + 1), "oldest first");
        cr_assert(eq(str, (char *)jstr(a, "outcome"), i < 4 ? "retry" : "delivered"));
        cr_assert(eq(i64, jint(a, "status"), i < 4 ? 500 : 200));
        if (i > 0) {
            long long gap = jint(a, "at_ms") - jint(json_array_get(log, i - 1), "at_ms");
            long long base = 100LL << (i - 1);

            /* backoff_min * 2^(n-1) with +-20 % jitter, plus the request itself */
            cr_assert(ge(i64, gap, base * 8 / 10), "gap %zu = %lld", i, gap);
            cr_assert(lt(i64, gap, base * 12 / 10 + 250), "gap %zu = %lld: %s", i, gap,
                      json_dumps(log, 0));
            cr_assert(gt(i64, gap, prev_gap), "gaps grow: %lld after %lld", gap, prev_gap);
            prev_gap = gap;
        }
    }
    json_decref(item);
    run_fini(&r);
    stop_servers(&f, &h);
}

struct transient {
    int status;
};

ParameterizedTestParameters(outbox, transient_statuses_are_retried)
{
    static struct transient params[] = { { 408 }, { 429 }, { 503 } };

    return cr_make_param_array(struct transient, params, sizeof(params) / sizeof(params[0]));
}

ParameterizedTest(struct transient *p, outbox, transient_statuses_are_retried, .timeout = 30)
{
    struct outbox_opts o = { .backoff_min_ms = 50 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    char mode[64];

    start_servers(&f, &h, NULL);
    snprintf(mode, sizeof(mode), "status=%d&count=1", p->status);
    cr_assert(eq(int, hookfix_set_mode(&h, mode), 0));
    run_init(&r, &f, &h);
    run_open(&r, &o, 1);
    enqueue_body(&r, "hook/x/firing", "{}");
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 10000), "%d is retried", p->status);
    cr_assert(eq(u64, stats_of(&r).retried, 1));
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 2));
    cr_assert(eq(long, hookfix_key_count(&hs, "hook/x/firing"), 1));
    hookfix_stats_clear(&hs);
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, a_400_is_failed_and_never_retried, .timeout = 30)
{
    static const char id[] = "hook/bad/firing";
    struct outbox_opts o = { .backoff_min_ms = 50 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    json_t *item, *a;

    start_servers(&f, &h, NULL);
    cr_assert(eq(int, hookfix_set_mode(&h, "status=400"), 0));
    run_init(&r, &f, &h);
    run_open(&r, &o, 1);
    enqueue_body(&r, id, "{}");
    r.want = 1;
    cr_assert(run_until(&r, cond_failed, 10000));
    run_until(&r, cond_never, 600);          /* a retry would come after ~50 ms */
    cr_assert(eq(u64, stats_of(&r).retried, 0));
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 1), "sent once");
    hookfix_stats_clear(&hs);
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "failed"));
    cr_assert(eq(i64, jint(item, "last_status"), 400));
    cr_assert(eq(sz, json_array_size(json_object_get(item, "log")), 1));
    a = json_array_get(json_object_get(item, "log"), 0);
    cr_assert(eq(str, (char *)jstr(a, "outcome"), "failed"));
    cr_assert(eq(i64, jint(a, "status"), 400));
    json_decref(item);
    cr_assert(eq(i64, redis_int(&f, "ZCARD %s", OUTBOX_KEY_DUE), 0));
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, an_item_that_keeps_failing_expires, .timeout = 30)
{
    static const char id[] = "hook/flaky/firing";
    struct outbox_opts o = { .backoff_min_ms = 100, .expire_ms = 800 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    json_t *item, *log;
    long total;

    start_servers(&f, &h, NULL);
    cr_assert(eq(int, hookfix_set_mode(&h, "status=500"), 0));
    run_init(&r, &f, &h);
    run_open(&r, &o, 1);
    enqueue_body(&r, id, "{}");
    r.want = 1;
    cr_assert(run_until(&r, cond_expired, 10000));
    hs = hook_stats(&h);
    total = hs.total;
    hookfix_stats_clear(&hs);
    /* 0, ~100, ~300 (then ~700 would be the last before 800 or none) */
    cr_assert(ge(long, total, 3));
    cr_assert(le(long, total, 4));
    run_until(&r, cond_never, 500);
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, total), "never sent again");
    cr_assert(eq(long, hs.accepted, 0));
    hookfix_stats_clear(&hs);
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "expired"));
    log = json_object_get(item, "log");
    /* the expiry is written on the last attempt when it fails past the
     * deadline, or as an entry of its own when the deadline came while
     * waiting for the next one (a slow machine): either way it is the last */
    {
        size_t n = json_array_size(log);
        json_t *last = json_array_get(log, n - 1);
        int64_t status = jint(last, "status");
        int own = n == (size_t)total + 1;
        char outcome[32];

        snprintf(outcome, sizeof(outcome), "%s", jstr(last, "outcome"));
        json_decref(item);
        cr_assert(own || n == (size_t)total, "%zu log entries for %ld attempts", n, total);
        cr_assert(eq(str, outcome, "expired"));
        cr_assert(eq(i64, status, own ? 0 : 500));
    }
    cr_assert(eq(i64, redis_int(&f, "ZCARD %s", OUTBOX_KEY_DUE), 0));
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, an_item_found_after_its_expiry_is_not_sent, .timeout = 30)
{
    static const char id[] = "hook/old/firing";
    struct outbox_opts paused = { .paused = 1 };
    struct outbox_opts o = { .expire_ms = 300 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    json_t *item, *a;

    start_servers(&f, &h, NULL);
    run_init(&r, &f, &h);
    run_open(&r, &paused, 1);
    enqueue_body(&r, id, "{}");
    run_close(&r);
    r.want = (uint64_t)nines_wall_ms() + 400;
    cr_assert(run_until(&r, cond_wall_passed, 2000));
    run_open(&r, &o, 1);
    r.want = 1;
    cr_assert(run_until(&r, cond_expired, 5000));
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 0), "not sent");
    hookfix_stats_clear(&hs);
    item = get_item(&r, id);
    cr_assert(eq(str, (char *)jstr(item, "state"), "expired"));
    cr_assert(eq(i64, jint(item, "attempts"), 0));
    a = json_array_get(json_object_get(item, "log"), 0);
    cr_assert(a != NULL);
    cr_assert(eq(int, json_is_false(json_object_get(a, "sent")), 1));
    cr_assert(eq(str, (char *)jstr(a, "outcome"), "expired"));
    json_decref(item);
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, enqueueing_a_delivered_id_again_sends_nothing, .timeout = 30)
{
    static const char id[] = "hook/check_down/web@5/resolved";
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    struct notify_request rq;
    redisContext *c;
    redisReply *rep;

    start_servers(&f, &h, NULL);
    run_init(&r, &f, &h);
    run_open(&r, NULL, 1);
    enqueue_body(&r, id, "{\"v\":1}");
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 10000));
    make_request(&rq, &h, "{\"v\":2}");
    cr_assert(eq(int, enqueue(&r, id, &rq), 1), "the id exists");
    free_request(&rq);
    /* the pump finds it delivered and takes it out of the due set */
    cr_assert(run_until(&r, cond_due_empty, 5000));
    run_until(&r, cond_never, 200);
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 1));
    hookfix_stats_clear(&hs);
    cr_assert(eq(u64, stats_of(&r).queued, 1));
    cr_assert(eq(u64, stats_of(&r).delivered, 1));
    c = redis_fixture_connect(&f);
    rep = redisCommand(c, "HMGET %s%s body state", OUTBOX_KEY_ITEM_PREFIX, id);
    cr_assert(eq(str, rep->element[0]->str, "{\"v\":1}"), "the first request is kept");
    cr_assert(eq(str, rep->element[1]->str, "delivered"));
    freeReplyObject(rep);
    redisFree(c);
    run_fini(&r);
    stop_servers(&f, &h);
}

/* ---- crashes and Redis -------------------------------------------------- */

static struct enq many_enq[200];
static int many_n;

static int cond_many_enqueued(struct run *r)
{
    (void)r;
    for (int i = 0; i < many_n; i++)
        if (many_enq[i].done == 0)
            return 0;
    return 1;
}

/* Enqueues n items "hook/<prefix><i>/firing" at once and waits until all are written. */
static void enqueue_many(struct run *r, const char *prefix, int n)
{
    struct notify_request rq;
    char id[64], body[64];

    cr_assert(le(int, n, 200));
    memset(many_enq, 0, sizeof(many_enq));
    many_n = n;
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "hook/%s%d/firing", prefix, i);
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        make_request(&rq, r->hook, body);
        cr_assert(eq(int, outbox_enqueue(r->ob, id, "hook", &rq, on_enqueued, &many_enq[i]), 0));
        free_request(&rq);
    }
    cr_assert(run_until(r, cond_many_enqueued, 10000));
    for (int i = 0; i < n; i++)
        cr_assert(eq(int, many_enq[i].status, 0));
}

Test(outbox, a_new_outbox_sends_what_a_stopped_one_queued, .timeout = 30)
{
    struct outbox_opts paused = { .paused = 1 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    struct notify_request rq;
    char id[64];

    start_servers(&f, &h, NULL);
    run_init(&r, &f, &h);
    run_open(&r, &paused, 1);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "hook/n%d/firing", i);
        enqueue_body(&r, id, "{}");
    }
    make_request(&rq, &h, "{}");
    cr_assert(eq(int, enqueue(&r, "hook/n0/firing", &rq), 1), "pending: no-op");
    free_request(&rq);
    run_close(&r);                             /* the "crash": nothing was sent */
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 0));
    hookfix_stats_clear(&hs);

    run_open(&r, NULL, 1);
    r.want = 5;
    cr_assert(run_until(&r, cond_delivered, 10000));
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 5));
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "hook/n%d/firing", i);
        cr_assert(eq(long, hookfix_key_count(&hs, id), 1), "%s once", id);
    }
    hookfix_stats_clear(&hs);
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, a_send_cut_short_is_sent_again_after_its_lease, .timeout = 30)
{
    static const char id[] = "hook/cut/firing";
    struct outbox_opts o = { .request_timeout_ms = 500 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    int64_t first_ms;
    json_t *item, *log;

    start_servers(&f, &h, NULL);
    cr_assert(eq(int, hookfix_set_mode(&h, "hang=1"), 0));
    run_init(&r, &f, &h);
    run_open(&r, &o, 1);
    enqueue_body(&r, id, "{}");
    r.want = 1;
    cr_assert(run_until(&r, cond_hook_total, 5000), "the request reached the receiver");
    first_ms = nines_wall_ms();
    run_close(&r);                             /* dies mid-request */
    cr_assert(eq(int, hookfix_set_mode(&h, "status=200"), 0));

    run_open(&r, &o, 1);
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 10000));
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 2));
    cr_assert(eq(long, hookfix_key_count(&hs, id), 1));
    hookfix_stats_clear(&hs);
    item = get_item(&r, id);
    log = json_object_get(item, "log");
    cr_assert(eq(sz, json_array_size(log), 1));
    /* leased for request_timeout + 2 s from the take */
    cr_assert(ge(i64, jint(json_array_get(log, 0), "at_ms"), first_ms + 2000),
              "not before the lease ran out");
    json_decref(item);
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, killing_the_redis_connection_loses_nothing_and_doubles_nothing, .timeout = 60)
{
    struct outbox_opts o = { .max_inflight = 4, .request_timeout_ms = 2000 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    redisContext *c;
    redisReply *rep;
    char id[64];

    start_servers(&f, &h, NULL);
    cr_assert(eq(int, hookfix_set_mode(&h, "delay_ms=30"), 0));
    run_init(&r, &f, &h);
    run_open(&r, &o, 1);
    enqueue_many(&r, "k", 40);
    r.want = 8;
    cr_assert(run_until(&r, cond_some_delivered, 10000));
    cr_assert(lt(u64, stats_of(&r).delivered, 40), "killed in the middle");
    c = redis_fixture_connect(&f);
    rep = redisCommand(c, "CLIENT KILL TYPE normal");
    cr_assert(rep->type == REDIS_REPLY_INTEGER && rep->integer >= 1, "the outbox was cut off");
    freeReplyObject(rep);
    r.want = 40;
    cr_assert(run_until(&r, cond_delivered, 30000), "all delivered after the reconnect");
    cr_assert(run_until(&r, cond_due_empty, 5000));

    hs = hook_stats(&h);
    cr_assert(eq(long, hs.accepted, 40));
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "hook/k%d/firing", i);
        cr_assert(eq(long, hookfix_key_count(&hs, id), 1), "%s once", id);
        rep = redisCommand(c, "HGET %s%s state", OUTBOX_KEY_ITEM_PREFIX, id);
        cr_assert(eq(str, rep->str, "delivered"), "%s recorded", id);
        freeReplyObject(rep);
    }
    hookfix_stats_clear(&hs);
    redisFree(c);
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, a_burst_of_200_is_delivered_once_each_within_max_inflight, .timeout = 60)
{
    struct outbox_opts o = { .max_inflight = 8 };
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    const char *key;
    json_t *v;
    uint64_t t0;

    start_servers(&f, &h, NULL);
    cr_assert(eq(int, hookfix_set_mode(&h, "delay_ms=20"), 0));
    run_init(&r, &f, &h);
    run_open(&r, &o, 1);
    t0 = test_now_ms();
    enqueue_many(&r, "burst", 200);
    r.want = 200;
    cr_assert(run_until(&r, cond_delivered, 20000));
    cr_assert(lt(u64, test_now_ms() - t0, 8000), "within a few seconds");

    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 200));
    cr_assert(eq(long, hs.accepted, 200));
    cr_assert(le(long, hs.max_concurrent, 8), "max_inflight respected");
    cr_assert(ge(long, hs.max_concurrent, 2), "sent in parallel");
    cr_assert(eq(sz, json_object_size(hs.by_key), 200));
    json_object_foreach(hs.by_key, key, v)
        cr_assert(eq(i64, json_integer_value(v), 1), "%s once", key);
    hookfix_stats_clear(&hs);
    run_fini(&r);
    stop_servers(&f, &h);
}

Test(outbox, enqueue_fails_at_once_while_redis_is_unreachable, .timeout = 20)
{
    struct run r;
    struct notify_request rq;
    struct hookfix h;
    struct got g = { 0, 0, NULL };
    struct nines_err err = { 0 };
    char url[64];

    memset(&h, 0, sizeof(h));
    snprintf(h.base_url, sizeof(h.base_url), "http://127.0.0.1:9");
    run_init(&r, NULL, &h);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", test_unused_port());
    cr_assert(eq(int, nines_redis_url_parse(url, &r.addr, &err), 0));
    run_open(&r, NULL, 0);
    run_until(&r, cond_never, 300);            /* a refused connect or two */
    cr_assert(eq(int, stats_of(&r).redis_up, 0));
    make_request(&rq, &h, "{}");
    cr_assert(eq(int, outbox_enqueue(r.ob, "hook/a/firing", "hook", &rq, on_enqueued, NULL),
                 NINES_EIO));
    cr_assert(eq(int, outbox_get(r.ob, "hook/a/firing", on_got, &g), NINES_EIO));
    free_request(&rq);
    run_fini(&r);
}

Test(outbox, bad_ids_and_unknown_items, .timeout = 20)
{
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct notify_request rq;
    struct got g = { 0, -100, NULL };
    char long_id[OUTBOX_ID_MAX + 1];

    start_servers(&f, &h, NULL);
    run_init(&r, &f, &h);
    run_open(&r, NULL, 1);
    make_request(&rq, &h, "{}");
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    cr_assert(eq(int, outbox_enqueue(r.ob, "", "hook", &rq, NULL, NULL), NINES_EINVAL));
    cr_assert(eq(int, outbox_enqueue(r.ob, "a\r\nb", "hook", &rq, NULL, NULL), NINES_EINVAL));
    cr_assert(eq(int, outbox_enqueue(r.ob, long_id, "hook", &rq, NULL, NULL), NINES_EINVAL));
    free(rq.headers[1]);
    rq.headers[1] = strdup("X-Evil: a\r\nX-Injected: b");
    cr_assert(eq(int, outbox_enqueue(r.ob, "hook/a", "hook", &rq, NULL, NULL), NINES_EINVAL));
    free_request(&rq);
    cr_assert(eq(int, outbox_get(r.ob, "hook/none", on_got, &g), 0));
    got_wait_target = &g;
    cr_assert(run_until(&r, cond_got, 5000));
    cr_assert(eq(int, g.status, NINES_ENOTFOUND));
    cr_assert(g.item == NULL);
    run_fini(&r);
    stop_servers(&f, &h);
}

/* ---- signatures --------------------------------------------------------- */

/* A webhook request signed as notify_build signs it: HMAC over "<ts>.<body>". */
static void make_signed(struct notify_request *rq, const struct hookfix *h, const char *secret,
                        const char *body)
{
    unsigned char mac[32];
    unsigned int len = 0;
    char msg[256], hex[65], hdr[128];

    make_request(rq, h, body);
    snprintf(msg, sizeof(msg), "1795889593.%s", body);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg),
         mac, &len);
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    rq->headers[rq->nheaders++] = strdup("X-Nines-Timestamp: 1795889593");
    snprintf(hdr, sizeof(hdr), "X-Nines-Signature: sha256=%s", hex);
    rq->headers[rq->nheaders++] = strdup(hdr);
}

Test(outbox, signed_webhooks_pass_and_a_bad_signature_fails, .timeout = 30)
{
    struct redis_fixture f;
    struct hookfix h;
    struct run r;
    struct hookfix_stats hs;
    struct notify_request rq;
    json_t *item;

    start_servers(&f, &h, "hook-secret");
    run_init(&r, &f, &h);
    run_open(&r, NULL, 1);
    make_signed(&rq, &h, "hook-secret", "{\"state\":\"firing\",\"check\":\"web\"}");
    cr_assert(eq(int, enqueue(&r, "hook/good/firing", &rq), 0));
    free_request(&rq);
    make_signed(&rq, &h, "wrong-secret", "{\"state\":\"firing\"}");
    cr_assert(eq(int, enqueue(&r, "hook/bad/firing", &rq), 0));
    free_request(&rq);
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 10000));
    cr_assert(run_until(&r, cond_failed, 10000));
    hs = hook_stats(&h);
    cr_assert(eq(long, hs.total, 2));
    cr_assert(eq(long, hs.bad_signature, 1));
    cr_assert(eq(long, hookfix_key_count(&hs, "hook/good/firing"), 1));
    cr_assert(eq(long, hookfix_key_count(&hs, "hook/bad/firing"), 0));
    hookfix_stats_clear(&hs);
    item = get_item(&r, "hook/bad/firing");
    cr_assert(eq(str, (char *)jstr(item, "state"), "failed"));
    cr_assert(eq(i64, jint(item, "last_status"), 401));
    json_decref(item);
    run_fini(&r);
    stop_servers(&f, &h);
}

/* ---- SMTP: a minimal server on the test's loop ------------------------- */

struct smtpfix {
    uv_tcp_t listener;
    int port;
    char mail_from[256];
    char rcpt[4][256];
    int nrcpt;
    int messages;
    char data[4096];
    size_t data_len;
    struct smtp_conn *conns;
};

struct smtp_conn {
    uv_tcp_t tcp;
    struct smtpfix *fx;
    struct smtp_conn *next;
    int in_data;
    int closing;
    size_t len;
    char line[2048];
    char buf[4096];
};

static void smtp_conn_closed(uv_handle_t *h)
{
    struct smtp_conn *c = h->data, **p;

    for (p = &c->fx->conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    free(c);
}

static void smtp_close(struct smtp_conn *c)
{
    if (!c->closing) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, smtp_conn_closed);
    }
}

/* Small answers on loopback: a synchronous write always takes them whole. */
static void smtp_say(struct smtp_conn *c, const char *text)
{
    uv_buf_t b = uv_buf_init((char *)text, (unsigned int)strlen(text));

    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
}

static void smtp_copy_addr(char *out, size_t len, const char *line)
{
    const char *lt = strchr(line, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;

    snprintf(out, len, "%.*s", gt != NULL ? (int)(gt - lt - 1) : 0, lt != NULL ? lt + 1 : "");
}

static void smtp_line(struct smtp_conn *c, const char *line)
{
    struct smtpfix *fx = c->fx;

    if (c->in_data) {
        if (strcmp(line, ".") == 0) {
            c->in_data = 0;
            fx->messages++;
            smtp_say(c, "250 queued\r\n");
            return;
        }
        if (line[0] == '.')
            line++;                             /* dot-stuffing */
        fx->data_len += (size_t)snprintf(fx->data + fx->data_len,
                                         sizeof(fx->data) - fx->data_len, "%s\r\n", line);
        if (fx->data_len >= sizeof(fx->data))
            fx->data_len = sizeof(fx->data) - 1;
    } else if (strncasecmp(line, "EHLO", 4) == 0) {
        smtp_say(c, "250-smtpfix\r\n250 8BITMIME\r\n");
    } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
        smtp_copy_addr(fx->mail_from, sizeof(fx->mail_from), line);
        smtp_say(c, "250 ok\r\n");
    } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
        if (strstr(line, "reject") != NULL) {
            smtp_say(c, "550 no such user\r\n");
        } else {
            if (fx->nrcpt < 4)
                smtp_copy_addr(fx->rcpt[fx->nrcpt++], sizeof(fx->rcpt[0]), line);
            smtp_say(c, "250 ok\r\n");
        }
    } else if (strncasecmp(line, "DATA", 4) == 0) {
        c->in_data = 1;
        smtp_say(c, "354 go ahead\r\n");
    } else if (strncasecmp(line, "QUIT", 4) == 0) {
        smtp_say(c, "221 bye\r\n");
        smtp_close(c);
    } else if (strncasecmp(line, "RSET", 4) == 0 || strncasecmp(line, "NOOP", 4) == 0) {
        smtp_say(c, "250 ok\r\n");
    } else {
        smtp_say(c, "502 unknown\r\n");
    }
}

static void smtp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct smtp_conn *c = h->data;

    (void)suggested;
    *b = uv_buf_init(c->buf, sizeof(c->buf));
}

static void smtp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct smtp_conn *c = s->data;

    if (n < 0) {
        smtp_close(c);
        return;
    }
    for (ssize_t i = 0; i < n && !c->closing; i++) {
        if (b->base[i] == '\n') {
            if (c->len > 0 && c->line[c->len - 1] == '\r')
                c->len--;
            c->line[c->len] = '\0';
            c->len = 0;
            smtp_line(c, c->line);
        } else if (c->len + 1 < sizeof(c->line)) {
            c->line[c->len++] = b->base[i];
        }
    }
}

static void smtp_accept(uv_stream_t *l, int status)
{
    struct smtpfix *fx = l->data;
    struct smtp_conn *c;

    if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
        return;
    c->fx = fx;
    c->next = fx->conns;
    fx->conns = c;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, smtp_alloc, smtp_read) < 0) {
        smtp_close(c);
        return;
    }
    smtp_say(c, "220 smtpfix ESMTP\r\n");
}

static void smtpfix_start(struct smtpfix *fx, uv_loop_t *loop)
{
    struct sockaddr_in sa;
    int len = sizeof(sa);

    memset(fx, 0, sizeof(*fx));
    uv_ip4_addr("127.0.0.1", 0, &sa);
    cr_assert(eq(int, uv_tcp_init(loop, &fx->listener), 0));
    fx->listener.data = fx;
    cr_assert(eq(int, uv_tcp_bind(&fx->listener, (struct sockaddr *)&sa, 0), 0));
    cr_assert(eq(int, uv_listen((uv_stream_t *)&fx->listener, 16, smtp_accept), 0));
    cr_assert(eq(int, uv_tcp_getsockname(&fx->listener, (struct sockaddr *)&sa, &len), 0));
    fx->port = ntohs(sa.sin_port);
}

static void smtpfix_stop(struct smtpfix *fx)
{
    uv_close((uv_handle_t *)&fx->listener, NULL);
    for (struct smtp_conn *c = fx->conns; c != NULL; c = c->next)
        smtp_close(c);
}

static void make_mail(struct notify_request *rq, int port, const char *to)
{
    static const char msg[] = "From: nines <nines@example.test>\r\nTo: ops@example.test\r\n"
                              "Subject: web is DOWN\r\n\r\nweb is DOWN: HTTP 503\r\n"
                              ".a line starting with a dot\r\n";

    memset(rq, 0, sizeof(*rq));
    rq->smtp = 1;
    snprintf(rq->url, sizeof(rq->url), "smtp://127.0.0.1:%d/nines.test", port);
    snprintf(rq->mail_from, sizeof(rq->mail_from), "<nines@example.test>");
    rq->rcpt[rq->nrcpt++] = strdup(to);
    rq->body = strdup(msg);
    rq->body_len = strlen(msg);
}

Test(outbox, email_goes_out_over_smtp_and_a_rejected_recipient_fails, .timeout = 30)
{
    struct redis_fixture f;
    struct run r;
    struct smtpfix fx;
    struct notify_request rq;
    json_t *item;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    run_init(&r, &f, NULL);
    smtpfix_start(&fx, &r.loop);
    run_open(&r, NULL, 1);
    make_mail(&rq, fx.port, "<ops@example.test>");
    cr_assert(eq(int, enqueue(&r, "mail/check_down/web@1/firing", &rq), 0));
    free_request(&rq);
    r.want = 1;
    cr_assert(run_until(&r, cond_delivered, 10000));
    cr_assert(eq(int, fx.messages, 1));
    cr_assert(eq(str, fx.mail_from, "nines@example.test"));
    cr_assert(eq(int, fx.nrcpt, 1));
    cr_assert(eq(str, fx.rcpt[0], "ops@example.test"));
    cr_assert(eq(str, fx.data, "From: nines <nines@example.test>\r\nTo: ops@example.test\r\n"
                               "Subject: web is DOWN\r\n\r\nweb is DOWN: HTTP 503\r\n"
                               ".a line starting with a dot\r\n"));
    item = get_item(&r, "mail/check_down/web@1/firing");
    cr_assert(eq(str, (char *)jstr(item, "state"), "delivered"));
    cr_assert(eq(i64, jint(item, "last_status"), 250));
    json_decref(item);

    make_mail(&rq, fx.port, "<reject@example.test>");
    cr_assert(eq(int, enqueue(&r, "mail/check_down/web@2/firing", &rq), 0));
    free_request(&rq);
    r.want = 1;
    cr_assert(run_until(&r, cond_failed, 10000), "a 550 is permanent");
    cr_assert(eq(int, fx.messages, 1));
    item = get_item(&r, "mail/check_down/web@2/firing");
    cr_assert(eq(str, (char *)jstr(item, "state"), "failed"));
    cr_assert(eq(i64, jint(item, "last_status"), 550));
    json_decref(item);
    run_close(&r);
    smtpfix_stop(&fx);
    run_fini(&r);
    redis_fixture_stop(&f);
}
