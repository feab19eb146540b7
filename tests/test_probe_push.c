/*
 * The probe's push path against a real redis-server: pipelined XADDs, one
 * stream entry per result, nothing lost across a Redis restart, and a
 * bounded queue while Redis is unreachable.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "nines/wire.h"
#include "push.h"
#include "rconn.h"
#include "redis_fixture.h"
#include "testutil.h"

struct run {
    uv_loop_t loop;
    struct rconn *rc;
    struct push *push;
    uv_timer_t tick;
    uint64_t want_acked;     /* stop once this many are acknowledged */
    uint64_t deadline_ms;
    int ups;
};

static void run_up(struct rconn *rc, void *arg)
{
    struct run *r = arg;

    (void)rc;
    r->ups++;
    push_resume(r->push);
}

static void run_down(struct rconn *rc, void *arg)
{
    struct run *r = arg;

    (void)rc;
    push_lost(r->push);
}

static void run_tick(uv_timer_t *t)
{
    struct run *r = t->data;
    struct push_stats st;

    push_get_stats(r->push, &st);
    if (st.acked >= r->want_acked || uv_now(&r->loop) >= r->deadline_ms)
        uv_stop(&r->loop);
}

/* Runs the loop until want_acked results are acknowledged or timeout_ms. */
static void run_until_acked(struct run *r, uint64_t want, int timeout_ms)
{
    r->want_acked = want;
    uv_update_time(&r->loop);
    r->deadline_ms = uv_now(&r->loop) + (uint64_t)timeout_ms;
    uv_timer_start(&r->tick, run_tick, 10, 10);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&r->tick);
}

static void run_open(struct run *r, const char *url, size_t cap)
{
    struct nines_redis_addr a;
    struct nines_err err = { 0 };

    /* as the daemons do: hiredis writes with plain write(2) */
    signal(SIGPIPE, SIG_IGN);
    memset(r, 0, sizeof(*r));
    cr_assert(eq(int, nines_redis_url_parse(url, &a, &err), 0), "%s", err.msg);
    cr_assert(eq(int, uv_loop_init(&r->loop), 0));
    r->rc = rconn_new(&r->loop, &a, "push", run_up, run_down, r);
    r->push = push_new(r->rc, cap, 100);
    uv_timer_init(&r->loop, &r->tick);
    r->tick.data = r;
    rconn_start(r->rc);
}

static void run_close(struct run *r)
{
    rconn_close(r->rc, 0);
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    push_free(r->push);
    cr_assert(eq(int, uv_loop_close(&r->loop), 0));
}

static void make_result(struct nines_result *res, int n)
{
    nines_result_init(res);
    snprintf(res->id, sizeof(res->id), "p1/1/%d", n);
    snprintf(res->check_id, sizeof(res->check_id), "web");
    snprintf(res->probe, sizeof(res->probe), "p1");
    snprintf(res->location, sizeof(res->location), "here");
    res->start_ms = 1700000000000LL + n;
    res->outcome = n % 3 ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    res->total_us = 1000 + n;
    res->code = n % 3 ? 200 : 500;
}

/* Reads the whole stream and checks it holds exactly results first..last. */
static void assert_stream_holds(const struct redis_fixture *f, int first, int last)
{
    redisContext *c = redis_fixture_connect(f);
    redisReply *r = redisCommand(c, "XRANGE %s - +", NINES_KEY_RESULTS);

    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
    cr_assert(eq(sz, r->elements, (size_t)(last - first + 1)));
    for (size_t i = 0; i < r->elements; i++) {
        struct nines_result got, want;

        cr_assert(eq(int, redis_fixture_entry_result(r->element[i]->element[1], &got), 0));
        make_result(&want, first + (int)i);
        cr_assert(eq(str, got.id, want.id), "entries in order, none twice");
        cr_assert(eq(i64, got.start_ms, want.start_ms));
        cr_assert(eq(int, got.code, want.code));
    }
    freeReplyObject(r);
    redisFree(c);
}

Test(probe_push, every_result_becomes_one_stream_entry, .timeout = 20)
{
    struct redis_fixture f;
    struct run r;
    struct push_stats st;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    run_open(&r, f.url, 1000);
    for (int i = 0; i < 500; i++) {
        struct nines_result res;

        make_result(&res, i);
        push_enqueue(r.push, &res);
    }
    run_until_acked(&r, 500, 5000);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.acked, 500));
    cr_assert(eq(sz, st.queued, 0));
    cr_assert(eq(u64, st.dropped, 0));
    assert_stream_holds(&f, 0, 499);
    run_close(&r);
    redis_fixture_stop(&f);
}

/* The form of the entries: pairs until the probe is told the collectors
 * read the packed form, then packed, each result whole either way. */
Test(probe_push, results_switch_to_the_packed_form_when_told, .timeout = 20)
{
    struct redis_fixture f;
    struct run r;
    redisContext *c;
    redisReply *x;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    run_open(&r, f.url, 1000);
    for (int i = 0; i < 20; i++) {
        struct nines_result res;

        if (i == 10)
            push_set_packed(r.push, 1);
        make_result(&res, i);
        push_enqueue(r.push, &res);
    }
    run_until_acked(&r, 20, 5000);
    assert_stream_holds(&f, 0, 19);
    c = redis_fixture_connect(&f);
    x = redisCommand(c, "XRANGE %s - +", NINES_KEY_RESULTS);
    cr_assert(eq(sz, x->elements, 20));
    for (size_t i = 0; i < 20; i++) {
        const redisReply *fields = x->element[i]->element[1];

        cr_expect(eq(str, fields->element[0]->str, i < 10 ? "v" : "r"), "entry %zu", i);
        /* the packed form is one field, then the push's "sent" */
        if (i >= 10)
            cr_expect(eq(sz, fields->elements, 4), "entry %zu", i);
    }
    freeReplyObject(x);
    redisFree(c);
    run_close(&r);
    redis_fixture_stop(&f);
}

Test(probe_push, results_made_while_redis_is_down_arrive_after_restart, .timeout = 30)
{
    struct redis_fixture f;
    struct run r;
    struct push_stats st;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    run_open(&r, f.url, 1000);
    run_until_acked(&r, 0, 2000);      /* connected */
    cr_assert(eq(int, r.ups, 1));
    cr_assert(eq(int, redis_fixture_kill9(&f), 0));
    for (int i = 0; i < 200; i++) {
        struct nines_result res;

        make_result(&res, i);
        push_enqueue(r.push, &res);
    }
    /* the loop notices the dead connection and retries for a while */
    run_until_acked(&r, 1, 800);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.acked, 0));
    cr_assert(eq(sz, st.queued, 200), "kept in memory while Redis is down");
    cr_assert(eq(int, redis_fixture_restart(&f), 0));
    run_until_acked(&r, 200, 10000);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.acked, 200));
    cr_assert(ge(int, r.ups, 2), "reconnected");
    assert_stream_holds(&f, 0, 199);
    run_close(&r);
    redis_fixture_stop(&f);
}

Test(probe_push, queue_is_bounded_and_drops_the_oldest, .timeout = 20)
{
    struct redis_fixture f;
    struct run r;
    struct push_stats st;
    char url[64];

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", test_unused_port());
    run_open(&r, url, 10);
    for (int i = 0; i < 25; i++) {
        struct nines_result res;

        make_result(&res, i);
        push_enqueue(r.push, &res);
    }
    push_get_stats(r.push, &st);
    cr_assert(eq(sz, st.queued, 10));
    cr_assert(eq(u64, st.dropped, 15));
    run_close(&r);

    /* the newest ten are what survives: deliver them to a real server */
    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    run_open(&r, f.url, 10);
    for (int i = 0; i < 25; i++) {
        struct nines_result res;

        make_result(&res, i);
        push_enqueue(r.push, &res);    /* before the connection is up */
    }
    run_until_acked(&r, 10, 5000);
    assert_stream_holds(&f, 15, 24);
    run_close(&r);
    redis_fixture_stop(&f);
}

/* Runs the loop until the queue is empty (every call answered) or timeout_ms. */
static void run_until_empty(struct run *r, int timeout_ms)
{
    struct push_stats st;

    for (int waited = 0; waited < timeout_ms; waited += 10) {
        push_get_stats(r->push, &st);
        if (st.queued == 0)
            return;
        run_until_acked(r, UINT64_MAX, 10);
    }
}

static char *redis_get(const struct redis_fixture *f, const char *key, char *buf, size_t size)
{
    redisContext *c = redis_fixture_connect(f);
    redisReply *r = redisCommand(c, "GET %s", key);

    cr_assert(r != NULL);
    snprintf(buf, size, "%s", r->type == REDIS_REPLY_STRING ? r->str : "(nil)");
    freeReplyObject(r);
    redisFree(c);
    return buf;
}

static void redis_do(const struct redis_fixture *f, const char *cmd, const char *a, const char *b)
{
    redisContext *c = redis_fixture_connect(f);
    redisReply *r = redisCommand(c, cmd, a, b);

    cr_assert(r != NULL && r->type != REDIS_REPLY_ERROR, "%s", r ? r->str : "no reply");
    freeReplyObject(r);
    redisFree(c);
}

/* The ids of a stream's entries, in order, into ids[] (at most max). */
static size_t stream_ids(const struct redis_fixture *f, const char *stream, char ids[][64],
                         size_t max)
{
    redisContext *c = redis_fixture_connect(f);
    redisReply *r = redisCommand(c, "XRANGE %s - +", stream);
    size_t n = 0;

    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements && n < max; i++) {
        struct nines_result res;

        cr_assert(eq(int, redis_fixture_entry_result(r->element[i]->element[1], &res), 0));
        snprintf(ids[n++], 64, "%.63s", res.id);
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

/*
 * Many results go in one script call; a resend whose first part reached
 * Redis before (the acked key says up to seq 99) adds only the rest, in
 * order, and counts the others as duplicates.
 */
Test(probe_push, a_batch_skips_what_redis_has_and_adds_the_rest, .timeout = 20)
{
    struct redis_fixture f;
    struct run r;
    struct push_stats st;
    char got[32];

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    redis_do(&f, "SET %s %s", "nines:probe:acked:p1/1", "99");
    run_open(&r, f.url, 1000);
    for (int i = 0; i < 300; i++) {
        struct nines_result res;

        make_result(&res, i);
        push_enqueue(r.push, &res);
    }
    run_until_acked(&r, 300, 5000);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.acked, 300));
    cr_assert(eq(u64, st.duplicates, 100));
    cr_assert(eq(u64, st.rejected, 0));
    cr_assert(eq(sz, st.queued, 0));
    assert_stream_holds(&f, 100, 299);
    cr_assert(eq(str, redis_get(&f, "nines:probe:acked:p1/1", got, sizeof(got)), "299"));
    run_close(&r);
    redis_fixture_stop(&f);
}

/*
 * A batch spans partition streams; a stream key of the wrong type rejects
 * the results bound for it and only those; their seqs count as done, so a
 * resend would not add them later out of order.
 */
Test(probe_push, a_bad_stream_rejects_its_results_only, .timeout = 20)
{
    struct redis_fixture f;
    struct run r;
    struct push_stats st;
    const char *check[2] = { NULL, NULL };
    char names[64][8], key[2][48], ids[200][64], got[32];
    size_t n;
    int bad = 0;

    /* two check ids that fall into different partitions of 4 */
    for (int i = 0; i < 64 && check[1] == NULL; i++) {
        snprintf(names[i], sizeof(names[i]), "c%d", i);
        if (check[0] == NULL)
            check[0] = names[i];
        else if (nines_partition_of(names[i], 4) != nines_partition_of(check[0], 4))
            check[1] = names[i];
    }
    cr_assert(check[1] != NULL);
    for (int k = 0; k < 2; k++)
        nines_results_key(nines_partition_of(check[k], 4), 4, key[k], sizeof(key[k]));
    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    redis_do(&f, "SET %s %s", key[1], "not a stream");
    run_open(&r, f.url, 1000);
    push_set_partitions(r.push, 4);
    for (int i = 0; i < 90; i++) {
        struct nines_result res;

        make_result(&res, i);
        snprintf(res.check_id, sizeof(res.check_id), "%s", check[i % 3 == 2]);
        bad += i % 3 == 2;
        push_enqueue(r.push, &res);
    }
    run_until_empty(&r, 5000);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.rejected, (uint64_t)bad));
    cr_assert(eq(u64, st.acked, (uint64_t)(90 - bad)));
    cr_assert(eq(sz, st.queued, 0));
    n = stream_ids(&f, key[0], ids, 200);
    cr_assert(eq(sz, n, (size_t)(90 - bad)));
    for (size_t i = 0, want = 0; i < n; i++, want++) {
        char id[64];

        if (want % 3 == 2)
            want++;
        snprintf(id, sizeof(id), "p1/1/%zu", want);
        cr_assert(eq(str, ids[i], id), "the good partition's results, in order");
    }
    cr_assert(eq(str, redis_get(&f, "nines:probe:acked:p1/1", got, sizeof(got)), "89"));
    run_close(&r);
    redis_fixture_stop(&f);
}

/*
 * Results of two probe runs (as a spool replays an earlier boot's) and one
 * whose id is not a probe's share the queue: each run's results go in calls
 * of their own with their own acked key (the queue holds the end of one run
 * and the start of the other side by side), the odd one as a plain XADD, and
 * the stream keeps the queue's order.
 */
Test(probe_push, runs_of_two_boots_keep_their_own_acked_keys, .timeout = 20)
{
    struct redis_fixture f;
    struct run r;
    struct push_stats st;
    char ids[300][64], got[32], want[64];
    size_t n;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    run_open(&r, f.url, 1000);
    for (int i = 0; i < 301; i++) {
        struct nines_result res;

        make_result(&res, i);
        if (i == 50)
            snprintf(res.id, sizeof(res.id), "imported-%d", i);
        else if (i >= 130)
            snprintf(res.id, sizeof(res.id), "p1/2/%d", i - 129);
        push_enqueue(r.push, &res);
    }
    run_until_acked(&r, 301, 5000);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.acked, 301));
    cr_assert(eq(u64, st.duplicates, 0));
    n = stream_ids(&f, NINES_KEY_RESULTS, ids, 300);
    cr_assert(eq(sz, n, 300));    /* at most 300 read: the last is checked by its key */
    for (size_t i = 0; i < n; i++) {
        if (i == 50)
            snprintf(want, sizeof(want), "imported-50");
        else if (i < 130)
            snprintf(want, sizeof(want), "p1/1/%zu", i);
        else
            snprintf(want, sizeof(want), "p1/2/%zu", i - 129);
        cr_assert(eq(str, ids[i], want), "in the queue's order");
    }
    cr_assert(eq(str, redis_get(&f, "nines:probe:acked:p1/1", got, sizeof(got)), "129"));
    cr_assert(eq(str, redis_get(&f, "nines:probe:acked:p1/2", got, sizeof(got)), "171"));
    run_close(&r);
    redis_fixture_stop(&f);
}

/* calls= of one command in INFO commandstats (0 if it never ran). */
static long long redis_calls(const struct redis_fixture *f, const char *cmd)
{
    redisContext *c = redis_fixture_connect(f);
    redisReply *r = redisCommand(c, "INFO commandstats");
    char key[64];
    const char *p;
    long long n = 0;

    cr_assert(r != NULL && r->type == REDIS_REPLY_STRING);
    snprintf(key, sizeof(key), "cmdstat_%s:calls=", cmd);
    p = strstr(r->str, key);
    if (p != NULL)
        n = atoll(p + strlen(key));
    freeReplyObject(r);
    redisFree(c);
    return n;
}

struct drip {
    struct run *r;
    uv_timer_t t;
    int next, last;
};

/* One result per loop iteration (every ms): as checks finish at low rates. */
static void drip_tick(uv_timer_t *t)
{
    struct drip *d = t->data;
    struct nines_result res;

    make_result(&res, d->next++);
    push_enqueue(d->r->push, &res);
    if (d->next > d->last)
        uv_timer_stop(t);
}

/* A push freed while its flush timer is still open (push_stop_flush never
 * called) closes the timer itself: the loop then ends cleanly, nothing left
 * (ASan: the timer's memory is not the push's). */
Test(probe_push, freed_without_stop_flush_closes_its_timer)
{
    struct nines_redis_addr a;
    struct nines_err err = { 0 };
    struct rconn *rc;
    struct push *p;
    uv_loop_t loop;

    cr_assert(eq(int, nines_redis_url_parse("redis://127.0.0.1:1", &a, &err), 0), "%s", err.msg);
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    rc = rconn_new(&loop, &a, "push", NULL, NULL, NULL);   /* never started */
    cr_assert(rc != NULL);
    p = push_new(rc, 16, 4);
    cr_assert(p != NULL);
    push_set_flush(p, &loop, 300);
    push_free(p);
    rconn_close(rc, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0), "a handle was left open");
}

Test(probe_push, results_that_trickle_in_share_one_call_within_the_flush_delay, .timeout = 20)
{
    struct redis_fixture f;
    struct run r;
    struct push_stats st;
    struct nines_result res;
    struct drip d = { .next = 1, .last = 10 };

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    run_open(&r, f.url, 1000);
    push_set_flush(r.push, &r.loop, 300);
    make_result(&res, 0);
    push_enqueue(r.push, &res);
    run_until_acked(&r, 1, 5000);        /* connected, result 0 in */
    redis_do(&f, "CONFIG RESETSTAT", NULL, NULL);
    d.r = &r;
    uv_timer_init(&r.loop, &d.t);
    d.t.data = &d;
    uv_timer_start(&d.t, drip_tick, 1, 1);
    run_until_acked(&r, 11, 5000);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.acked, 11));
    /* ten results enqueued a loop iteration apart, well within 300 ms: one
     * script call (without the delay, one call each) */
    cr_assert(eq(i64, redis_calls(&f, "eval"), 1));
    assert_stream_holds(&f, 0, 10);
    /* stopping sends what waits at once, and closes the timer */
    make_result(&res, 11);
    push_enqueue(r.push, &res);
    push_stop_flush(r.push);
    run_until_acked(&r, 12, 250);
    push_get_stats(r.push, &st);
    cr_assert(eq(u64, st.acked, 12), "sent at stop, not after the delay");
    uv_close((uv_handle_t *)&d.t, NULL);
    run_close(&r);
    redis_fixture_stop(&f);
}
