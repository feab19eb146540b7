/*
 * The store's writes against a real redis-server (Unix socket): the state
 * hash gets only changed fields once written (a field deleted behind the
 * store's back stays deleted until its memory is reset, then comes back),
 * always ends equal to a full write of the same state, and latency counts
 * summed within a batch reach the same hash a count per result would, with
 * the expiry set, also across the early flush of a full table.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "redis_fixture.h"
#include "histo.h"
#include "redis_uv.h"
#include "state.h"
#include "store.h"

static struct redis_fixture redis;
static redisContext *rc;
static uv_loop_t loop;
static redisAsyncContext *ac;
static struct store *st;

static void store_setup(void)
{
    cr_assert(eq(int, redis_fixture_start(&redis, 0), 0));
    rc = redis_fixture_connect(&redis);
    cr_assert_not_null(rc);
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    ac = redisAsyncConnectUnix(redis.sock);
    cr_assert(ac != NULL && ac->err == 0);
    cr_assert(eq(int, redis_uv_attach(ac, &loop), 0));
    st = store_new();
    cr_assert_not_null(st);
}

static void store_teardown(void)
{
    store_free(st);
    if (ac != NULL)
        redisAsyncFree(ac);
    ac = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);    /* the glue's close callback */
    uv_loop_close(&loop);
    if (rc != NULL)
        redisFree(rc);
    rc = NULL;
    redis_fixture_stop(&redis);
}

static void on_ping(redisAsyncContext *c, void *reply, void *privdata)
{
    (void)c;
    (void)reply;
    *(int *)privdata = 1;
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until everything queued on ac has been answered (5 s at most). */
static void drain(void)
{
    int done = 0;
    uv_timer_t deadline;
    uint64_t until = uv_now(&loop) + 5000;

    cr_assert(eq(int, redisAsyncCommand(ac, on_ping, &done, "PING"), REDIS_OK));
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, on_deadline, 5000, 0);
    while (!done && uv_now(&loop) < until)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert(done, "redis did not answer within 5 s");
}

static redisReply *cmd(const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(rc, fmt, arg);

    cr_assert_not_null(r);
    return r;
}

/* HGET key field, "" when there is none; into buf. */
static char *hget(const char *key, const char *field, char *buf, size_t len)
{
    redisReply *r = redisCommand(rc, "HGET %s %s", key, field);

    cr_assert_not_null(r);
    snprintf(buf, len, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return buf;
}

static const char *const fields[] = { "state", "since_ms", "last_ms", "last_total_us",
                                      "last_code", "last_outcome", "last_location",
                                      "last_error_ms", "last_error_reason",
                                      "last_error_message", "results" };

/* Every field of a equals b's, and a's doc is a's state encoded: the
 * current version, which reads back as s exactly. */
static void assert_like_full(const char *a, const char *b, const struct check_state *s)
{
    char x[4096], y[4096];
    char *doc = state_encode(s);
    struct check_state *back = malloc(sizeof(*back));

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        cr_assert(eq(str, hget(a, fields[i], x, sizeof(x)), hget(b, fields[i], y, sizeof(y))),
                  "field %s", fields[i]);
    cr_assert(doc != NULL && back != NULL);
    cr_assert(eq(str, hget(a, "doc", x, sizeof(x)), doc));
    cr_assert(eq(int, strncmp(x, "{\"v\":2,", 7), 0), "%s", x);
    state_init(back, s->id);
    cr_assert(eq(int, state_decode(back, x, strlen(x)), 0), "%s", x);
    cr_assert(eq(int, memcmp(back, s, sizeof(*s)), 0), "%s", x);
    free(back);
    free(doc);
}

TestSuite(store, .init = store_setup, .fini = store_teardown, .timeout = 60);

Test(store, state_sends_changed_fields_and_ends_like_a_full_write)
{
    struct check_state *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    struct store_written w = { 0 };
    char v[64];

    cr_assert(a != NULL && b != NULL);
    state_init(a, "a");
    a->state = CHECK_UP;
    a->since_ms = 1000;
    a->last_ms = 2000;
    a->last_total_us = 1500;
    a->last_code = 200;
    snprintf(a->last_location, sizeof(a->last_location), "fra");
    a->results = 1;
    a->nloc = 1;        /* the doc's location array goes through Redis too */
    snprintf(a->loc[0].name, sizeof(a->loc[0].name), "fra");
    snprintf(a->loc[0].probe, sizeof(a->loc[0].probe), "p1");
    a->loc[0].state = CHECK_UP;
    a->loc[0].ok_streak = 1;
    a->loc[0].since_ms = a->loc[0].last_ms = 2000;
    a->loc[0].last_end_ms = 2001;
    *b = *a;
    snprintf(b->id, sizeof(b->id), "b");
    cr_assert(eq(int, store_state(st, ac, a, &w), 0));
    cr_assert(eq(int, store_state(st, ac, b, NULL), 0));
    drain();
    assert_like_full("nines:state:a", "nines:state:b", a);

    /* a field deleted behind the store's back: unchanged, so not sent */
    freeReplyObject(cmd("HDEL nines:state:%s state", "a"));
    a->last_ms = b->last_ms = 3000;
    a->results = b->results = 2;
    snprintf(a->last_location, sizeof(a->last_location), "nyc");
    snprintf(b->last_location, sizeof(b->last_location), "nyc");
    a->last_error_ms = b->last_error_ms = 2500;
    snprintf(a->last_error_message, sizeof(a->last_error_message), "connection refused");
    snprintf(b->last_error_message, sizeof(b->last_error_message), "connection refused");
    cr_assert(eq(int, store_state(st, ac, a, &w), 0));
    cr_assert(eq(int, store_state(st, ac, b, NULL), 0));
    drain();
    cr_assert(eq(str, hget("nines:state:a", "state", v, sizeof(v)), ""));
    cr_assert(eq(str, hget("nines:state:a", "last_location", v, sizeof(v)), "nyc"));
    cr_assert(eq(str, hget("nines:state:a", "last_error_message", v, sizeof(v)),
                 "connection refused"));
    cr_assert(eq(str, hget("nines:state:a", "results", v, sizeof(v)), "2"));

    /* forgotten (as after a resync): every field again */
    memset(&w, 0, sizeof(w));
    a->state = b->state = CHECK_DOWN;
    cr_assert(eq(int, store_state(st, ac, a, &w), 0));
    cr_assert(eq(int, store_state(st, ac, b, NULL), 0));
    drain();
    assert_like_full("nines:state:a", "nines:state:b", a);
    cr_assert(eq(str, hget("nines:state:a", "state", v, sizeof(v)), "DOWN"));
    free(a);
    free(b);
}

static void ok_result(struct nines_result *r, const char *check, int64_t ms, int64_t us)
{
    nines_result_init(r);
    snprintf(r->check_id, sizeof(r->check_id), "%s", check);
    r->outcome = NINES_OUTCOME_OK;
    r->start_ms = ms;
    r->total_us = us;
}

static int64_t hget_ll(const char *key, const char *field)
{
    char v[64];

    return atoll(hget(key, field, v, sizeof(v)));
}

static int64_t ttl(const char *key)
{
    redisReply *r = cmd("TTL %s", key);
    int64_t t = r->integer;

    freeReplyObject(r);
    return t;
}

/* 2026-11-28 12:00 UTC and the next day */
#define DAY1 INT64_C(1795867200000)
#define DAY2 (DAY1 + 86400000)

Test(store, latency_counts_summed_per_check_day_and_bucket)
{
    static const char check_x[] = "x", check_y[] = "y";
    int64_t exp_x = -1, exp_y = -1;
    struct nines_result r;
    char kx1[128], kx2[128], ky1[128], f[16];

    store_latency_key("x", DAY1, kx1, sizeof(kx1));
    store_latency_key("x", DAY2, kx2, sizeof(kx2));
    store_latency_key("y", DAY1, ky1, sizeof(ky1));
    cr_assert(eq(str, kx1, "nines:latency:x:20261128"));
    for (int i = 0; i < 3; i++) {
        ok_result(&r, "x", DAY1 + i, 1500);
        store_latency(st, ac, check_x, &r, &exp_x);
    }
    ok_result(&r, "x", DAY1, 250000);
    store_latency(st, ac, check_x, &r, &exp_x);
    ok_result(&r, "x", DAY2, 1500);
    store_latency(st, ac, check_x, &r, &exp_x);
    ok_result(&r, "y", DAY1, 1500);
    store_latency(st, ac, check_y, &r, &exp_y);
    ok_result(&r, "y", DAY1, 1500);
    r.outcome = NINES_OUTCOME_FAIL;                   /* not counted */
    store_latency(st, ac, check_y, &r, &exp_y);
    drain();
    cr_assert(eq(i64, ttl(kx1), -2), "nothing is sent before the flush");
    store_latency_flush(st, ac);
    drain();
    snprintf(f, sizeof(f), "%d", nines_histo_bucket_index(1500));
    cr_assert(eq(i64, hget_ll(kx1, f), 3));
    cr_assert(eq(i64, hget_ll(kx2, f), 1));
    cr_assert(eq(i64, hget_ll(ky1, f), 1));
    snprintf(f, sizeof(f), "%d", nines_histo_bucket_index(250000));
    cr_assert(eq(i64, hget_ll(kx1, f), 1));
    cr_assert(gt(i64, ttl(kx1), 86400));
    cr_assert(gt(i64, ttl(kx2), 86400));
    cr_assert(gt(i64, ttl(ky1), 86400));
    cr_assert(eq(i64, exp_y, DAY1 / 86400000));
    /* a second batch adds to the same fields */
    ok_result(&r, "x", DAY1, 1500);
    store_latency(st, ac, check_x, &r, &exp_x);
    store_latency_flush(st, ac);
    drain();
    snprintf(f, sizeof(f), "%d", nines_histo_bucket_index(1500));
    cr_assert(eq(i64, hget_ll(kx1, f), 4));
}

/* More distinct (check, bucket) pairs than the table holds: it is flushed
 * early, and every count still arrives once. */
Test(store, latency_table_full_flushes_early)
{
    enum { NCHECK = 3000, PER = 3 };
    char (*ids)[8] = calloc(NCHECK, sizeof(*ids));
    int64_t *exp = calloc(NCHECK, sizeof(*exp));
    struct nines_result r;
    char key[128], f[16];
    int64_t total = 0;

    cr_assert(ids != NULL && exp != NULL);
    for (int i = 0; i < NCHECK; i++) {
        snprintf(ids[i], sizeof(ids[i]), "c%d", i);
        exp[i] = -1;
    }
    for (int k = 0; k < PER; k++)
        for (int i = 0; i < NCHECK; i++) {
            ok_result(&r, ids[i], DAY1, 1000 + 100000 * k);   /* PER buckets per check */
            store_latency(st, ac, ids[i], &r, &exp[i]);
        }
    store_latency_flush(st, ac);
    drain();
    for (int i = 0; i < NCHECK; i += 97) {
        store_latency_key(ids[i], DAY1, key, sizeof(key));
        for (int k = 0; k < PER; k++) {
            snprintf(f, sizeof(f), "%d", nines_histo_bucket_index(1000 + 100000 * k));
            cr_assert(eq(i64, hget_ll(key, f), 1), "check %s bucket %s", ids[i], f);
            total++;
        }
        cr_assert(gt(i64, ttl(key), 86400));
    }
    cr_assert(gt(i64, total, 0));
    free(ids);
    free(exp);
}
