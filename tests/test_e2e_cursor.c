/*
 * The collector's applied cursor (nines:applied:nines:results, README
 * "Ingest"): a Redis written by the consumer-group version is taken over
 * with nothing lost and nothing applied twice, and a collector killed with
 * SIGKILL after reading a batch but before its MULTI/EXEC landed replays the
 * batch from the cursor, once.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/clock.h"
#include "nines/wire.h"
#include "e2eworld.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define CHECKS 4

struct world {
    struct e2eworld e;
    char log[400];          /* the collector's, across its restarts */
    unsigned long long seq;
};

static void start_collector(struct world *w)
{
    cr_assert(gt(int, e2eworld_collector(&w->e, "collector.log", NULL), 0));
}

static void world_start(struct world *w)
{
    char yaml[4096];
    size_t n;

    memset(w, 0, sizeof(*w));
    e2eworld_open(&w->e);
    /* results only come from the test: an hour's interval, nothing falls silent */
    n = (size_t)snprintf(yaml, sizeof(yaml),
                         "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\","
                         " log_level: info}\n"
                         "api: {listen: \"127.0.0.1:0\"}\n"
                         "checks:\n", w->e.redis.url, w->e.dir);
    for (int i = 0; i < CHECKS; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                              "  - {id: c%d, kind: http, url: \"http://127.0.0.1:9/\","
                              " interval: 1h, timeout: 1s}\n", i);
    e2eworld_config(&w->e, yaml);
    snprintf(w->log, sizeof(w->log), "%s/collector.log", w->e.dir);
}

/* Adds n results (checks in turn) to the stream, as a probe would. */
static void add_results(struct world *w, int n)
{
    redisContext *c = redis_fixture_connect(&w->e.redis);

    cr_assert(ne(ptr, c, NULL));
    for (int i = 0; i < n; i++) {
        struct nines_result r;
        static struct nines_wire wire;
        const char *av[NINES_WIRE_XADD_ARGC];
        size_t al[NINES_WIRE_XADD_ARGC];
        redisReply *rep;

        nines_result_init(&r);
        w->seq++;
        snprintf(r.id, sizeof(r.id), "p1/1/%llu", w->seq);
        snprintf(r.check_id, sizeof(r.check_id), "c%llu", w->seq % CHECKS);
        snprintf(r.location, sizeof(r.location), "local");
        snprintf(r.probe, sizeof(r.probe), "p1");
        r.start_ms = nines_wall_ms();
        r.outcome = NINES_OUTCOME_OK;
        r.code = 200;
        r.total_us = 1000;
        /* both forms, as a stream holds while probes are upgraded */
        if (w->seq % 2)
            nines_wire_encode_pairs(&r, &wire);
        else
            nines_wire_encode(&r, &wire);
        rep = redisCommandArgv(c, nines_wire_xadd_argv(&wire, NINES_KEY_RESULTS, av, al), av, al);
        cr_assert(ne(ptr, rep, NULL));
        cr_assert(eq(int, rep->type, REDIS_REPLY_STRING));
        freeReplyObject(rep);
    }
    redisFree(c);
}

static int caught_up(void *arg)
{
    struct world *w = arg;

    return redis_fixture_unapplied(&w->e.redis, NINES_KEY_RESULTS, 10) == 0;
}

/* Each check's stored results count equals its entries in the stream. */
static void expect_each_applied_once(struct world *w)
{
    redisContext *c = redis_fixture_connect(&w->e.redis);
    redisReply *r;
    long per_check[CHECKS] = { 0 };

    cr_assert(ne(ptr, c, NULL));
    r = redisCommand(c, "XRANGE %s - +", NINES_KEY_RESULTS);
    cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
    for (size_t i = 0; i < r->elements; i++) {
        struct nines_result res;

        cr_assert(eq(int, redis_fixture_entry_result(r->element[i]->element[1], &res), 0));
        per_check[atoi(res.check_id + 1) % CHECKS]++;
    }
    freeReplyObject(r);
    for (int i = 0; i < CHECKS; i++) {
        json_t *doc;

        r = redisCommand(c, "HGET nines:state:c%d doc", i);
        cr_assert(eq(int, r->type, REDIS_REPLY_STRING), "no state for c%d", i);
        doc = json_loads(r->str, 0, NULL);
        freeReplyObject(r);
        cr_expect(eq(i64, json_integer_value(json_object_get(doc, "results")), per_check[i]),
                  "c%d: applied %lld of %ld results", i,
                  (long long)json_integer_value(json_object_get(doc, "results")),
                  per_check[i]);
        json_decref(doc);
    }
    redisFree(c);
}

/* The collector's own count at a graceful stop: "name=N" of collector_stopping. */
static long long stopped_count(const struct world *w, const char *name)
{
    char *log = test_read_file(w->log), *at = NULL;
    long long n = -1;

    /* the last run's (the log may hold several) */
    for (char *p = log; p != NULL && (p = strstr(p, "collector_stopping")) != NULL; p++)
        at = p;
    if (at != NULL && (at = strstr(at, name)) != NULL)
        n = strtoll(at + strlen(name), NULL, 10);
    free(log);
    return n;
}

static void stop_collector(struct world *w)
{
    cr_assert(eq(int, proc_stop(w->e.collector, 5000), 0));
    w->e.collector = 0;
}

static redisReply *cmd(struct world *w, const char *fmt, const char *a, const char *b)
{
    redisContext *c = redis_fixture_connect(&w->e.redis);
    redisReply *r = c ? redisCommand(c, fmt, a, b) : NULL;

    cr_assert(ne(ptr, r, NULL));
    cr_assert(ne(int, r->type, REDIS_REPLY_ERROR), "%s", r->str);
    redisFree(c);
    return r;
}

/* The id of the last entry in the stream. */
static void last_id(struct world *w, char *buf, size_t size)
{
    redisReply *r = cmd(w, "XREVRANGE %s + - COUNT 1", NINES_KEY_RESULTS, NULL);

    cr_assert(eq(sz, r->elements, 1));
    snprintf(buf, size, "%s", r->element[0]->element[0]->str);
    freeReplyObject(r);
}

/*
 * What the consumer-group version left: 40 results applied and
 * acknowledged, then (with_pending) 20 delivered to a consumer that died
 * before its MULTI/EXEC (pending, not applied), then 40 never delivered.
 * The cursor key is absent. The new collector must apply the 60 not
 * applied, once each, and none of the 40 again.
 */
static void upgrade(int with_pending)
{
    struct world w;
    char applied_to[64], last[64];
    redisReply *r;

    world_start(&w);
    add_results(&w, 40);
    start_collector(&w);
    cr_assert(eq(int, test_wait_until(caught_up, &w, 20000), 0), "never caught up");
    stop_collector(&w);
    last_id(&w, applied_to, sizeof(applied_to));
    /* as the old version would have it: a group at the last entry applied */
    freeReplyObject(cmd(&w, "DEL %s%s", NINES_KEY_APPLIED_PREFIX, NINES_KEY_RESULTS));
    freeReplyObject(cmd(&w, "XGROUP CREATE %s nines %s", NINES_KEY_RESULTS, applied_to));
    add_results(&w, 20);
    if (with_pending) {
        r = cmd(&w, "XREADGROUP GROUP nines old COUNT 20 STREAMS %s %s", NINES_KEY_RESULTS,
                ">");
        cr_assert(eq(sz, r->element[0]->element[1]->elements, 20));
        freeReplyObject(r);
    }
    add_results(&w, 40);
    last_id(&w, last, sizeof(last));
    start_collector(&w);
    cr_assert(eq(int, test_wait_until(caught_up, &w, 20000), 0), "never caught up");
    r = cmd(&w, "GET %s%s", NINES_KEY_APPLIED_PREFIX, NINES_KEY_RESULTS);
    cr_expect(eq(str, r->str, last), "the cursor is the stream's last id");
    freeReplyObject(r);
    stop_collector(&w);
    expect_each_applied_once(&w);
    cr_expect(eq(i64, stopped_count(&w, "applied="), 60), "applied the 60 not applied");
    cr_expect(eq(i64, stopped_count(&w, "duplicates="), 0), "none of the 40 again");
    {
        char *log = test_read_file(w.log);

        cr_expect(ne(ptr, log ? strstr(log, with_pending ? "from=lowest_pending"
                                                         : "from=last_delivered") : NULL,
                     NULL), "the cursor came from the group");
        free(log);
    }
    e2eworld_close(&w.e);
}

Test(e2e_cursor, upgrade_from_a_group_with_pending_entries, .timeout = 60)
{
    upgrade(1);
}

Test(e2e_cursor, upgrade_from_a_group_with_nothing_pending, .timeout = 60)
{
    upgrade(0);
}

static long long multi_calls(struct world *w)
{
    redisReply *r = cmd(w, "INFO %s", "commandstats", NULL);
    const char *at = strstr(r->str, "cmdstat_multi:calls=");
    long long n = at ? strtoll(at + strlen("cmdstat_multi:calls="), NULL, 10) : 0;

    freeReplyObject(r);
    return n;
}

struct multi_wait {
    struct world *w;
    long long before;
};

static int multi_sent(void *arg)
{
    struct multi_wait *m = arg;

    return multi_calls(m->w) > m->before;
}

/*
 * The collector reads a batch and sends its MULTI/EXEC, which Redis holds
 * (CLIENT PAUSE WRITE); it is killed with SIGKILL there, so nothing of the
 * batch lands, its cursor included. Restarted, it reads the batch again
 * from the cursor: every result applied once, none twice.
 */
Test(e2e_cursor, killed_between_read_and_exec_replays_from_the_cursor, .timeout = 60)
{
    struct world w;
    struct multi_wait m;
    char before[64];
    redisReply *r;

    world_start(&w);
    add_results(&w, 30);
    start_collector(&w);
    cr_assert(eq(int, test_wait_until(caught_up, &w, 20000), 0), "never caught up");
    r = cmd(&w, "GET %s%s", NINES_KEY_APPLIED_PREFIX, NINES_KEY_RESULTS);
    snprintf(before, sizeof(before), "%s", r->str ? r->str : "");
    freeReplyObject(r);
    /* the collector's XREAD is blocked: the batch is in its socket when it wakes */
    cr_assert(eq(int, proc_signal(w.e.collector, SIGSTOP), 0));
    add_results(&w, 50);
    m.w = &w;
    m.before = multi_calls(&w);
    freeReplyObject(cmd(&w, "CLIENT PAUSE %s %s", "20000", "WRITE"));
    cr_assert(eq(int, proc_signal(w.e.collector, SIGCONT), 0));
    cr_assert(eq(int, test_wait_until(multi_sent, &m, 10000), 0), "no write attempted");
    test_sleep_ms(300);     /* the rest of the transaction and its EXEC arrive, held */
    cr_assert(eq(int, proc_signal(w.e.collector, SIGKILL), 0));
    proc_wait(w.e.collector, 5000, NULL);
    w.e.collector = 0;
    freeReplyObject(cmd(&w, "CLIENT UNPAUSE", NULL, NULL));
    r = cmd(&w, "GET %s%s", NINES_KEY_APPLIED_PREFIX, NINES_KEY_RESULTS);
    cr_expect(eq(str, r->str ? r->str : "", before), "the cursor did not move");
    freeReplyObject(r);
    cr_expect(eq(i64, redis_fixture_unapplied(&w.e.redis, NINES_KEY_RESULTS, 100), 50));
    start_collector(&w);
    cr_assert(eq(int, test_wait_until(caught_up, &w, 20000), 0), "never caught up");
    stop_collector(&w);
    expect_each_applied_once(&w);
    cr_expect(eq(i64, stopped_count(&w, "applied="), 50), "the batch, replayed");
    cr_expect(eq(i64, stopped_count(&w, "duplicates="), 0));
    e2eworld_close(&w.e);
}
