/*
 * The collector killed with SIGKILL twenty times under load, at random
 * points, while its checks go down and up: afterwards every result in the
 * stream was applied exactly once (each check's applied count equals its
 * entries in the stream), every incident is exactly where the results put
 * it, and every notification reached the webhook exactly once.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookfix_client.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define CHECKS 40
#define KILLS 20

struct world {
    struct redis_fixture redis;
    struct httpfix http;
    struct hookfix hook;
    char dir[256], cfg[400], log[400];
    pid_t collector, probe;
};

static void start_collector(struct world *w)
{
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", w->cfg, NULL };
    const char *env[] = { "NINES_TEST_HOOK_SECRET=s3cret", NULL };

    w->collector = proc_spawn_env(argv, w->log, env);
    cr_assert(gt(int, w->collector, 0));
}

/* Every entry in the stream is applied: the collector's cursor is its last. */
static int caught_up(void *arg)
{
    struct world *w = arg;

    return redis_fixture_unapplied(&w->redis, "nines:results", 10) == 0;
}

Test(e2e_crashloop, twenty_kills_lose_nothing_and_count_nothing_twice, .timeout = 300)
{
    struct world w;
    char yaml[16384];
    size_t n;
    int64_t flip_down = 0, flip_up = 0;
    long per_check[CHECKS] = { 0 };
    redisContext *c;
    redisReply *r;
    struct hookfix_stats st;
    const char *key;
    json_t *v;

    memset(&w, 0, sizeof(w));
    test_wait_poll_ms(100);
    cr_assert(eq(int, test_tmpdir(w.dir, sizeof(w.dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w.redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&w.http), 0));
    cr_assert(eq(int, hookfix_start(&w.hook, "s3cret"), 0));
    n = (size_t)snprintf(yaml, sizeof(yaml),
                         "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
                         "api: {listen: \"127.0.0.1:0\"}\n"
                         "receivers: [{name: hook, kind: webhook, url: \"%s/hook\","
                         " secret_env: NINES_TEST_HOOK_SECRET}]\n"
                         "routes: [{receivers: [hook], group_wait: 0s}]\n"
                         "checks:\n", w.redis.url, w.dir, w.hook.base_url);
    for (int i = 0; i < CHECKS; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                              "  - {id: c%02d, kind: http, url: \"%s/\", interval: 1s,"
                              " timeout: 500ms, failures_to_down: 1}\n", i, w.http.base_url);
    snprintf(w.cfg, sizeof(w.cfg), "%s/nines.yaml", w.dir);
    cr_assert(eq(int, test_write_file(w.cfg, yaml), 0));
    snprintf(w.log, sizeof(w.log), "%s/collector.log", w.dir);
    start_collector(&w);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", w.redis.url, "--name",
                               "p1", "--location", "local", "--poll-ms", "200", NULL };
        char plog[400];

        snprintf(plog, sizeof(plog), "%s/probe.log", w.dir);
        w.probe = proc_spawn(argv, plog);
    }
    srand(20261128);
    for (int k = 0; k < KILLS; k++) {
        test_sleep_ms(300 + rand() % 1200);
        if (k == 6) {
            cr_assert(eq(int, httpfix_set_mode(&w.http, "status=503"), 0));
            flip_down = nines_wall_ms();
        } else if (k == 13) {
            cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
            flip_up = nines_wall_ms();
        }
        cr_assert(eq(int, proc_signal(w.collector, SIGKILL), 0));
        proc_wait(w.collector, 5000, NULL);
        start_collector(&w);
    }
    test_sleep_ms(3000);
    proc_stop(w.probe, 5000);           /* no more results: the stream is final */
    cr_assert(eq(int, test_wait_until(caught_up, &w, 60000), 0), "the collector never caught up");
    test_sleep_ms(3000);                /* the last notifications go out */

    c = redis_fixture_connect(&w.redis);
    cr_assert(ne(ptr, c, NULL));
    /* every entry of the stream, per check; and where each check's run of
     * failures began and ended */
    {
        int64_t first_fail[CHECKS], first_ok_after[CHECKS];

        for (int i = 0; i < CHECKS; i++)
            first_fail[i] = first_ok_after[i] = 0;
        r = redisCommand(c, "XRANGE nines:results - +");
        cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
        for (size_t i = 0; i < r->elements; i++) {
            struct nines_result res;
            int idx, ok;
            int64_t ts;

            cr_assert(eq(int, redis_fixture_entry_result(r->element[i]->element[1], &res), 0));
            idx = atoi(res.check_id + 1);
            ts = res.start_ms;
            ok = res.outcome == NINES_OUTCOME_OK;

            cr_assert(lt(int, idx, CHECKS));
            per_check[idx]++;
            if (!ok && first_fail[idx] == 0)
                first_fail[idx] = ts;
            if (ok && first_fail[idx] != 0 && first_ok_after[idx] == 0)
                first_ok_after[idx] = ts;
        }
        freeReplyObject(r);
        for (int i = 0; i < CHECKS; i++) {
            char id[16];
            json_t *doc, *inc;

            snprintf(id, sizeof(id), "c%02d", i);
            r = redisCommand(c, "HGET nines:state:%s doc", id);
            cr_assert(eq(int, r->type, REDIS_REPLY_STRING), "no state for %s", id);
            doc = json_loads(r->str, 0, NULL);
            freeReplyObject(r);
            cr_expect(eq(i64, json_integer_value(json_object_get(doc, "results")),
                         per_check[i]), "%s: applied %lld of %ld results", id,
                      (long long)json_integer_value(json_object_get(doc, "results")),
                      per_check[i]);
            json_decref(doc);
            /* one incident, from the first failure to the first success */
            cr_assert(gt(i64, first_fail[i], flip_down - 2000));
            cr_assert(gt(i64, first_ok_after[i], flip_up - 2000));
            r = redisCommand(c, "ZRANGE nines:incidents:check:%s 0 -1", id);
            cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
            cr_expect(eq(sz, r->elements, 1), "%s: %zu incidents", id, r->elements);
            if (r->elements == 1) {
                redisReply *h = redisCommand(c, "HMGET nines:incident:%s start_ms end_ms",
                                             r->element[0]->str);

                cr_expect(eq(i64, strtoll(h->element[0]->str ?: "0", NULL, 10), first_fail[i]),
                          "%s: incident start", id);
                cr_expect(eq(i64, strtoll(h->element[1]->str ?: "0", NULL, 10),
                             first_ok_after[i]), "%s: incident end", id);
                freeReplyObject(h);
            }
            freeReplyObject(r);
            (void)inc;
        }
    }
    redisFree(c);
    /* the outbox: each incident's page and resolution exactly once (grouped
     * pages carry a group key: every key at most once, and some arrived) */
    cr_assert(eq(int, hookfix_get_stats(&w.hook, &st), 0));
    cr_expect(gt(long, st.accepted, 0), "no notification at all");
    cr_expect(eq(long, st.bad_signature, 0));
    json_object_foreach(st.by_key, key, v)
        cr_expect(eq(i64, json_integer_value(v), 1), "key %s delivered %lld times", key,
                  (long long)json_integer_value(v));
    hookfix_stats_clear(&st);
    proc_stop(w.collector, 5000);
    hookfix_stop(&w.hook);
    httpfix_stop(&w.http);
    redis_fixture_stop(&w.redis);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(w.dir);
}
