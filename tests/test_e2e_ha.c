/*
 * High availability (README "High availability and scale-out"): three
 * collectors share 8 partitions through leases in Redis. The partitions are
 * spread; a collector killed with SIGKILL hands its partitions to the others
 * within the lease plus two seconds; afterwards every result of every
 * partition stream was applied exactly once and acknowledged, and an
 * incident caused during the failover is exact. A collector paused past its
 * lease is fenced: after SIGCONT nothing it had in hand lands.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define CHECKS 40
#define PARTS 8
#define NCOLL 3
#define LEASE_MS 3000

struct world {
    struct redis_fixture redis;
    struct httpfix http;
    char dir[256], cfg[NCOLL][400], log[NCOLL][400];
    pid_t coll[NCOLL], probe;
    int nparts;
    /* every entry seen, read as it arrives: the collectors trim the streams */
    char last[PARTS][48];
    long per_check[CHECKS];
    int64_t since_ms, first_fail[CHECKS], first_ok_after[CHECKS];
};

static void start_collector(struct world *w, int i)
{
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", w->cfg[i], NULL };

    w->coll[i] = proc_spawn(argv, w->log[i]);
    cr_assert(gt(int, w->coll[i], 0));
}

/* Config per collector (its own name and API port), then the probe. */
static void setup(struct world *w, int ncoll, int nparts, int nchecks)
{
    char yaml[16384];
    size_t n;

    memset(w, 0, sizeof(*w));
    w->nparts = nparts;
    test_wait_poll_ms(100);
    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    for (int c = 0; c < ncoll; c++) {
        n = (size_t)snprintf(yaml, sizeof(yaml),
                             "collector: {name: c%d, redis: \"%s\", data_dir: \"%s/data%d\","
                             " partitions: %d, lease: %dms}\n"
                             "api: {listen: \"127.0.0.1:0\"}\n"
                             "checks:\n", c + 1, w->redis.url, w->dir, c, nparts, LEASE_MS);
        for (int i = 0; i < nchecks; i++)
            n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                                  "  - {id: c%02d, kind: http, url: \"%s/\", interval: 1s,"
                                  " timeout: 500ms, failures_to_down: 1}\n", i,
                                  w->http.base_url);
        snprintf(w->cfg[c], sizeof(w->cfg[c]), "%s/nines%d.yaml", w->dir, c);
        cr_assert(eq(int, test_write_file(w->cfg[c], yaml), 0));
        snprintf(w->log[c], sizeof(w->log[c]), "%s/collector%d.log", w->dir, c);
        start_collector(w, c);
    }
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", w->redis.url, "--name",
                               "p1", "--location", "local", "--poll-ms", "200", NULL };
        char plog[400];

        snprintf(plog, sizeof(plog), "%s/probe.log", w->dir);
        w->probe = proc_spawn(argv, plog);
        cr_assert(gt(int, w->probe, 0));
    }
}

static void teardown(struct world *w, int ncoll)
{
    for (int c = 0; c < ncoll; c++)
        if (w->coll[c] > 0 && proc_alive(w->coll[c]))
            proc_stop(w->coll[c], 5000);
    if (w->probe > 0 && proc_alive(w->probe))
        proc_stop(w->probe, 5000);
    httpfix_stop(&w->http);
    redis_fixture_stop(&w->redis);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(w->dir);
}

/* owner[P] = collector number (1..) holding partition P's lease, 0 = none. */
static void lease_owners(struct world *w, int *owner)
{
    redisContext *c = redis_fixture_connect(&w->redis);

    for (int p = 0; p < w->nparts; p++) {
        redisReply *r = c ? redisCommand(c, "GET nines:lease:{%d}", p) : NULL;

        owner[p] = 0;
        if (r != NULL && r->type == REDIS_REPLY_STRING && r->str[0] == 'c')
            owner[p] = atoi(r->str + 1);
        freeReplyObject(r);
    }
    redisFree(c);
}

static int owners_spread(void *arg)
{
    struct world *w = arg;
    int owner[PARTS], per[NCOLL + 1] = { 0 };

    lease_owners(w, owner);
    for (int p = 0; p < PARTS; p++) {
        if (owner[p] < 1 || owner[p] > NCOLL)
            return 0;
        per[owner[p]]++;
    }
    for (int c = 1; c <= NCOLL; c++)
        if (per[c] < 2 || per[c] > 4)
            return 0;
    return 1;
}

/* Every partition owned, and none by collector 1 (killed or paused). */
static int taken_from_c1(void *arg)
{
    struct world *w = arg;
    int owner[PARTS];

    lease_owners(w, owner);
    for (int p = 0; p < w->nparts; p++)
        if (owner[p] == 0 || owner[p] == 1)
            return 0;
    return 1;
}

/* In every partition stream: every entry applied (the cursor is its last). */
static int caught_up(void *arg)
{
    struct world *w = arg;
    int done = 1;

    for (int p = 0; done && p < w->nparts; p++) {
        char stream[48];

        snprintf(stream, sizeof(stream), "nines:results:{%d}", p);
        done = redis_fixture_unapplied(&w->redis, stream, 10) == 0;
    }
    return done;
}

/* The "results" count of check id's stored state (-1 when none). */
static long long applied_count(redisContext *c, const char *id)
{
    redisReply *r = redisCommand(c, "HGET nines:state:%s doc", id);
    long long n = -1;

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        json_t *doc = json_loads(r->str, 0, NULL);

        n = json_integer_value(json_object_get(doc, "results"));
        json_decref(doc);
    }
    freeReplyObject(r);
    return n;
}

/* Reads what was added to every partition stream since the last call:
 * per check, its entries; the first failure at or after since_ms and the
 * first success after that. */
static void collect_once(struct world *w, int nchecks)
{
    redisContext *c = redis_fixture_connect(&w->redis);

    for (int p = 0; c != NULL && p < w->nparts; p++) {
        redisReply *r = redisCommand(c, "XRANGE nines:results:{%d} %s%s +", p,
                                     w->last[p][0] ? "(" : "", w->last[p][0] ? w->last[p] : "-");

        cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
        for (size_t i = 0; i < r->elements; i++) {
            struct nines_result res;
            int idx, ok;
            int64_t ts;

            cr_assert(eq(int, redis_fixture_entry_result(r->element[i]->element[1], &res), 0));
            /* probes read the catalogue with the collectors' wire key: packed */
            cr_expect(eq(str, r->element[i]->element[1]->element[0]->str, "r"),
                      "entry %s not in the packed form", r->element[i]->element[0]->str);
            idx = atoi(res.check_id + 1);
            ts = res.start_ms;
            ok = res.outcome == NINES_OUTCOME_OK;

            cr_assert(lt(int, idx, nchecks));
            w->per_check[idx]++;
            if (!ok && w->since_ms != 0 && ts >= w->since_ms && w->first_fail[idx] == 0)
                w->first_fail[idx] = ts;
            if (ok && w->first_fail[idx] != 0 && w->first_ok_after[idx] == 0)
                w->first_ok_after[idx] = ts;
            snprintf(w->last[p], sizeof(w->last[p]), "%s", r->element[i]->element[0]->str);
        }
        freeReplyObject(r);
    }
    redisFree(c);
}

/* Sleeps ms while collecting every 100 ms. */
static void collect_for(struct world *w, int nchecks, int ms)
{
    uint64_t end = test_now_ms() + (uint64_t)ms;

    while (test_now_ms() < end) {
        collect_once(w, nchecks);
        test_sleep_ms(100);
    }
    collect_once(w, nchecks);
}

/* test_wait_until(cond) while collecting; 0 once cond holds. */
static int collect_until(struct world *w, int nchecks, int (*cond)(void *), int timeout_ms)
{
    uint64_t end = test_now_ms() + (uint64_t)timeout_ms;

    while (test_now_ms() < end) {
        collect_once(w, nchecks);
        if (cond(w))
            return 0;
        test_sleep_ms(100);
    }
    return -1;
}

static int log_count(const char *path, const char *what)
{
    char *text = test_read_file(path);
    int n = 0;

    for (const char *s = text; s != NULL && (s = strstr(s, what)) != NULL; s++)
        n++;
    free(text);
    return n;
}

Test(e2e_ha, three_collectors_spread_and_survive_kill9, .timeout = 240)
{
    struct world w;
    int64_t killed, took;
    redisContext *c;

    setup(&w, NCOLL, PARTS, CHECKS);
    /* all 8 owned, spread 2..4 each (the first collector gives back its excess) */
    cr_assert(eq(int, collect_until(&w, CHECKS, owners_spread, 30000), 0),
              "partitions never spread over the three collectors");
    collect_for(&w, CHECKS, 4000);  /* steady state: many renewals between transactions */
    for (int i = 0; i < NCOLL; i++)
        cr_expect(eq(int, log_count(w.log[i], "write_fenced"), 0),
                  "collector %d: a renewal aborted its own transaction", i + 1);

    /* checks go down, and at the same moment one collector dies */
    w.since_ms = nines_wall_ms() - 1500;
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=503"), 0));
    cr_assert(eq(int, proc_signal(w.coll[0], SIGKILL), 0));
    killed = nines_wall_ms();
    proc_wait(w.coll[0], 5000, NULL);
    w.coll[0] = 0;
    cr_assert(eq(int, collect_until(&w, CHECKS, taken_from_c1, LEASE_MS + 5000), 0),
              "the dead collector's partitions were not taken over");
    took = nines_wall_ms() - killed;
    cr_expect(le(i64, took, LEASE_MS + 2000), "failover took %lld ms", (long long)took);
    collect_for(&w, CHECKS, 3000);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    collect_for(&w, CHECKS, 3000);
    proc_stop(w.probe, 5000);           /* no more results: the streams are final */
    w.probe = 0;
    cr_assert(eq(int, collect_until(&w, CHECKS, caught_up, 60000), 0), "never caught up");
    collect_for(&w, CHECKS, 1000);

    c = redis_fixture_connect(&w.redis);
    cr_assert(ne(ptr, c, NULL));
    for (int i = 0; i < CHECKS; i++) {
        char id[16];
        redisReply *r;

        snprintf(id, sizeof(id), "c%02d", i);
        cr_expect(gt(long, w.per_check[i], 5), "%s: only %ld results", id, w.per_check[i]);
        cr_expect(eq(i64, applied_count(c, id), w.per_check[i]), "%s: applied %lld of %ld", id,
                  applied_count(c, id), w.per_check[i]);
        cr_assert(gt(i64, w.first_fail[i], 0), "%s never failed", id);
        r = redisCommand(c, "ZRANGE nines:incidents:check:%s 0 -1", id);
        cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
        cr_expect(eq(sz, r->elements, 1), "%s: %zu incidents", id, r->elements);
        if (r->elements == 1) {
            redisReply *h = redisCommand(c, "HMGET nines:incident:%s start_ms end_ms",
                                         r->element[0]->str);

            cr_expect(eq(i64, strtoll(h->element[0]->str ?: "0", NULL, 10), w.first_fail[i]),
                      "%s: incident start", id);
            cr_expect(eq(i64, strtoll(h->element[1]->str ?: "0", NULL, 10),
                         w.first_ok_after[i]), "%s: incident end", id);
            freeReplyObject(h);
        }
        freeReplyObject(r);
    }
    redisFree(c);
    teardown(&w, NCOLL);
}

/* Redis Cluster's key slot: CRC16-XMODEM of the hash tag (or the key). */
static unsigned cluster_slot(const char *key)
{
    const char *open = strchr(key, '{'), *close = open ? strchr(open + 1, '}') : NULL;
    size_t len = strlen(key);
    unsigned crc = 0;

    if (close != NULL && close > open + 1) {
        len = (size_t)(close - open - 1);
        key = open + 1;
    }
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned)(unsigned char)key[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    return crc & 16383;
}

/* What can be checked of the Redis Cluster mapping without a cluster: every
 * key a partition's fenced transaction and lease scripts touch exists under
 * the names used here, and they share one slot per partition; partitions
 * spread over different slots. */
static void assert_partition_slots(redisContext *c, int nparts)
{
    unsigned slots[PARTS];

    cr_assert(eq(u32, cluster_slot("123456789"), 0x31C3 & 16383));  /* the CRC's check value */
    for (int p = 0; p < nparts; p++) {
        char keys[3][48];

        snprintf(keys[0], sizeof(keys[0]), "nines:results:{%d}", p);
        snprintf(keys[1], sizeof(keys[1]), "nines:lease:{%d}", p);
        snprintf(keys[2], sizeof(keys[2]), "nines:lease:{%d}:fence", p);
        for (int k = 0; k < 3; k++) {
            redisReply *r = redisCommand(c, "EXISTS %s", keys[k]);

            cr_expect(eq(i64, r->integer, 1), "%s missing", keys[k]);
            freeReplyObject(r);
            cr_expect(eq(u32, cluster_slot(keys[k]), cluster_slot(keys[0])));
        }
        snprintf(keys[1], sizeof(keys[1]), "nines:applied:nines:results:{%d}", p);
        cr_expect(eq(u32, cluster_slot(keys[1]), cluster_slot(keys[0])), "%s", keys[1]);
        slots[p] = cluster_slot(keys[0]);
        for (int q = 0; q < p; q++)
            cr_expect(ne(u32, slots[q], slots[p]), "partitions %d and %d share a slot", q, p);
    }
}

/* Every check's applied count, or -1 each when unreadable. */
static void snapshot(struct world *w, int nchecks, long long *out)
{
    redisContext *c = redis_fixture_connect(&w->redis);

    for (int i = 0; i < nchecks; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%02d", i);
        out[i] = c ? applied_count(c, id) : -1;
    }
    redisFree(c);
}

Test(e2e_ha, paused_collector_is_fenced, .timeout = 180)
{
    enum { N = 20, P = 4 };
    struct world w;
    long long before[N], after[N];
    redisContext *c;

    setup(&w, 2, P, N);
    cr_assert(eq(int, collect_until(&w, N, taken_from_c1, 1), -1));
    collect_for(&w, N, 4000);
    cr_assert(eq(int, proc_signal(w.coll[0], SIGSTOP), 0));
    cr_assert(eq(int, collect_until(&w, N, taken_from_c1, LEASE_MS + 5000), 0),
              "the paused collector's partitions were not taken over");
    collect_for(&w, N, 2000);           /* c2 applies results c1 may still hold */
    snapshot(&w, N, before);
    cr_assert(eq(int, proc_signal(w.coll[0], SIGCONT), 0));
    collect_for(&w, N, 3000);
    snapshot(&w, N, after);
    for (int i = 0; i < N; i++)
        cr_expect(ge(i64, after[i], before[i]), "c%02d went back from %lld to %lld", i,
                  before[i], after[i]);
    /* c1 learnt it lost them (renewal refused, or its batch fenced) */
    cr_expect(gt(int, log_count(w.log[0], "partition_lost"), 0), "c1 never noticed");
    proc_stop(w.probe, 5000);
    w.probe = 0;
    cr_assert(eq(int, collect_until(&w, N, caught_up, 60000), 0), "never caught up");
    collect_for(&w, N, 1000);
    c = redis_fixture_connect(&w.redis);
    for (int i = 0; i < N; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%02d", i);
        cr_expect(gt(long, w.per_check[i], 5), "%s: only %ld results", id, w.per_check[i]);
        cr_expect(eq(i64, applied_count(c, id), w.per_check[i]), "%s: applied %lld of %ld", id,
                  applied_count(c, id), w.per_check[i]);
    }
    assert_partition_slots(c, P);
    redisFree(c);
    teardown(&w, 2);
}
