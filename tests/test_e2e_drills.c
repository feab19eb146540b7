/*
 * DR drills end to end: a real collector and probe checking the HTTP fixture;
 * the test starts drills with `nines drill start`, breaks and mends the
 * fixture at times it records, and compares the drill's measured RTO with
 * what really happened (within one check interval).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "http_client.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

struct drill_world {
    struct e2eworld e;
    struct httpfix http;
};

static char out[262144];

static void world_start(struct drill_world *w, const char *services)
{
    char yaml[4096];

    memset(w, 0, sizeof(*w));
    test_wait_poll_ms(100);
    e2eworld_open(&w->e);
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
             "api: {listen: \"127.0.0.1:0\"}\n"
             "checks:\n"
             "  - {id: web, kind: http, url: \"%s/\", interval: 1s, timeout: 500ms}\n"
             "  - {id: api, kind: http, url: \"%s/api\", interval: 1s, timeout: 500ms}\n"
             "%s",
             w->e.redis.url, w->e.dir, w->http.base_url, w->http.base_url, services);
    e2eworld_config(&w->e, yaml);
    cr_assert(gt(int, e2eworld_collector(&w->e, "collector.log", NULL), 0));
    e2eworld_probe(&w->e);
}

static void world_stop(struct drill_world *w)
{
    httpfix_stop(&w->http);
    e2eworld_close(&w->e);
}

static int nines(struct drill_world *w, const char *a1, const char *a2, const char *a3,
                 const char *a4, const char *a5)
{
    const char *argv[12] = { NINES_BIN_DIR "/nines", a1, a2, a3, a4, a5 };
    int n = 1, code = -1;

    while (n < 6 && argv[n] != NULL)
        n++;
    argv[n++] = "--redis";
    argv[n++] = w->e.redis.url;
    argv[n] = NULL;
    out[0] = '\0';
    if (proc_run(argv, out, sizeof(out), 15000, &code) != 0)
        return -1;
    return code;
}

struct drill_want {
    struct drill_world *w;
    char id[160];
    json_t *doc;
};

/* The drill has ended: its document (state passed or failed) is in doc. */
static int drill_ended(void *arg)
{
    struct drill_want *x = arg;
    const char *state;

    if (nines(x->w, "drill", "show", x->id, "--json", NULL) != 0)
        return 0;
    json_decref(x->doc);
    x->doc = json_loads(out, 0, NULL);
    state = json_string_value(json_object_get(x->doc, "state"));
    return state != NULL && strcmp(state, "running") != 0;
}

static int service_up(void *arg)
{
    struct drill_world *w = arg;

    return nines(w, "status", NULL, NULL, NULL, NULL) == 0 && strstr(out, "UNKNOWN") == NULL &&
           strstr(out, "DOWN") == NULL;
}

Test(e2e_drills, a_drill_without_disruption_passes_with_no_outage_observed, .timeout = 60)
{
    struct drill_world w;
    struct drill_want x = { .w = &w };

    world_start(&w, "services:\n  - {id: orders, checks: [web], rto: 30s, rpo: 0s,"
                    " drill_stable: 3s}\n");
    cr_assert(eq(int, test_wait_until(service_up, &w, 15000), 0), "checks never came up");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "nowhere", NULL), 1),
              "an unknown service must be refused");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "orders", NULL), 0), "%s", out);
    snprintf(x.id, sizeof(x.id), "%.*s", (int)strcspn(out, "\n"), out);
    cr_assert(eq(int, strncmp(x.id, "orders@", 7), 0), "%s", x.id);
    cr_assert(eq(int, test_wait_until(drill_ended, &x, 20000), 0), "the drill never ended");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(x.doc, "state")), "passed"));
    cr_expect(eq(i64, json_integer_value(json_object_get(x.doc, "rto_ms")), 0));
    cr_expect(eq(i64, json_integer_value(json_object_get(x.doc, "rpo_ms")), 0));
    cr_expect(not(eq(ptr, strstr(json_string_value(json_object_get(x.doc, "verdict")),
                                 "no outage observed"), NULL)));
    json_decref(x.doc);
    /* the report renders */
    cr_assert(eq(int, nines(&w, "drill", "show", x.id, "--html", NULL), 0));
    cr_expect(not(eq(ptr, strstr(out, "<h1>DR drill orders@"), NULL)));
    world_stop(&w);
}

Test(e2e_drills, an_outage_gives_the_rto_that_really_happened, .timeout = 90)
{
    struct drill_world w;
    struct drill_want x = { .w = &w };
    int64_t broke, mended, rto, truth;

    /* drill_timeout well past the outage; stable after 3 s */
    world_start(&w, "services:\n  - {id: orders, checks: [web, api], rto: 30s,"
                    " drill_stable: 3s}\n"
                    "  - {id: strict, checks: [api], rto: 1s, drill_stable: 3s}\n");
    cr_assert(eq(int, test_wait_until(service_up, &w, 15000), 0), "checks never came up");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "orders", "--expect-outage"), 0),
              "%s", out);
    snprintf(x.id, sizeof(x.id), "%.*s", (int)strcspn(out, "\n"), out);
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "orders", NULL), 1),
              "a second drill of a service must be refused");
    test_sleep_ms(1500);
    broke = nines_wall_ms();
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=503"), 0));
    test_sleep_ms(6000);
    mended = nines_wall_ms();
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    truth = mended - broke;
    cr_assert(eq(int, test_wait_until(drill_ended, &x, 30000), 0), "the drill never ended");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(x.doc, "state")), "passed"), "%s",
              json_string_value(json_object_get(x.doc, "verdict")));
    rto = json_integer_value(json_object_get(x.doc, "rto_ms"));
    /* both ends are seen by results at most one interval (1 s) late */
    cr_expect(le(i64, rto > truth ? rto - truth : truth - rto, 1100),
              "RTO %" PRId64 " ms, truth %" PRId64 " ms", rto, truth);
    cr_expect(ge(i64, json_integer_value(json_object_get(x.doc, "outage_start_ms")), broke));
    cr_expect(ge(i64, json_integer_value(json_object_get(x.doc, "detected_ms")),
                 json_integer_value(json_object_get(x.doc, "outage_start_ms"))));
    cr_expect(ge(i64, json_integer_value(json_object_get(x.doc, "recovered_ms")), mended));
    cr_expect(ge(sz, json_array_size(json_object_get(x.doc, "timeline")), 4));
    /* and in /metrics, for the dashboards */
    {
        char want[128];

        cr_assert(eq(int, e2eworld_api_ready(&w.e), 1));
        cr_assert(eq(int, e2eworld_request(&w.e, "GET", "/metrics", NULL, NULL, out,
                                           sizeof(out)), 200));
        snprintf(want, sizeof(want), "nines_drill_rto_seconds{service=\"orders\"} %.3f",
                 (double)rto / 1000.0);
        cr_expect(ne(ptr, strstr(out, want), NULL), "no '%s' in /metrics", want);
        cr_expect(ne(ptr, strstr(out, "nines_drill_passed{service=\"orders\"} 1"), NULL));
        cr_expect(ne(ptr, strstr(out, "nines_drill_rto_objective_seconds{service=\"orders\"} "
                                      "30.000"), NULL));
    }
    json_decref(x.doc);
    world_stop(&w);
}

Test(e2e_drills, a_missed_objective_fails_the_drill_and_raises_drill_failed, .timeout = 90)
{
    struct drill_world w;
    struct drill_want x = { .w = &w };

    world_start(&w, "services:\n  - {id: strict, checks: [api], rto: 1s, drill_stable: 2s}\n");
    cr_assert(eq(int, test_wait_until(service_up, &w, 15000), 0), "checks never came up");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "strict", "--expect-outage"), 0),
              "%s", out);
    snprintf(x.id, sizeof(x.id), "%.*s", (int)strcspn(out, "\n"), out);
    test_sleep_ms(1200);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=503"), 0));
    test_sleep_ms(5000);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    cr_assert(eq(int, test_wait_until(drill_ended, &x, 30000), 0), "the drill never ended");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(x.doc, "state")), "failed"));
    cr_expect(lt(i64, json_integer_value(json_object_get(x.doc, "rto_margin_ms")), 0));
    cr_expect(not(eq(ptr, strstr(json_string_value(json_object_get(x.doc, "verdict")),
                                 "RTO over its objective"), NULL)));
    json_decref(x.doc);
    cr_assert(eq(int, nines(&w, "alerts", "--active", NULL, NULL, NULL), 0));
    cr_expect(not(eq(ptr, strstr(out, "drill_failed/strict@"), NULL)), "%s", out);
    cr_assert(eq(int, nines(&w, "drill", "list", NULL, NULL, NULL), 0));
    cr_expect(not(eq(ptr, strstr(out, x.id), NULL)), "%s", out);
    world_stop(&w);
}

/* ---- a real failover: primary and replica, a forwarder in front ------------- */

struct failover {
    struct redis_fixture primary, replica;
    char fwd_dir[256], target[400];
    pid_t fwd;
    int fwd_port;
};

static int fwd_port_ready(void *arg)
{
    struct failover *f = arg;
    char path[400], *t;

    snprintf(path, sizeof(path), "%s/port", f->fwd_dir);
    t = test_read_file(path);
    f->fwd_port = t != NULL ? atoi(t) : 0;
    free(t);
    return f->fwd_port > 0;
}

static int replica_linked(void *arg)
{
    struct failover *f = arg;
    redisContext *c = redis_fixture_connect(&f->replica);
    redisReply *r = c ? redisCommand(c, "INFO replication") : NULL;
    int up = r != NULL && r->type == REDIS_REPLY_STRING &&
             strstr(r->str, "master_link_status:up") != NULL;

    freeReplyObject(r);
    redisFree(c);
    return up;
}

static void failover_start(struct failover *f)
{
    char ports[32], pf[400], log[400];
    redisContext *c;
    redisReply *r;

    memset(f, 0, sizeof(*f));
    cr_assert(eq(int, redis_fixture_start(&f->primary, 1), 0));
    cr_assert(eq(int, redis_fixture_start(&f->replica, 1), 0));
    c = redis_fixture_connect(&f->replica);
    r = redisCommand(c, "REPLICAOF 127.0.0.1 %d", f->primary.port);
    cr_assert(eq(int, r->type, REDIS_REPLY_STATUS));
    freeReplyObject(r);
    redisFree(c);
    cr_assert(eq(int, test_wait_until(replica_linked, f, 10000), 0), "replica not linked");
    cr_assert(eq(int, test_tmpdir(f->fwd_dir, sizeof(f->fwd_dir)), 0));
    snprintf(f->target, sizeof(f->target), "%s/target", f->fwd_dir);
    snprintf(ports, sizeof(ports), "%d\n", f->primary.port);
    cr_assert(eq(int, test_write_file(f->target, ports), 0));
    snprintf(pf, sizeof(pf), "%s/port", f->fwd_dir);
    snprintf(log, sizeof(log), "%s/tcpfwd.log", f->fwd_dir);
    {
        const char *argv[] = { NINES_FIXTURE_DIR "/tcpfwd", "--port-file", pf, "--target-file",
                               f->target, NULL };

        f->fwd = proc_spawn(argv, log);
    }
    cr_assert(gt(int, f->fwd, 0));
    cr_assert(eq(int, test_wait_until(fwd_port_ready, f, 5000), 0), "no forwarder");
}

static void failover_stop(struct failover *f)
{
    proc_stop(f->fwd, 3000);
    redis_fixture_stop(&f->primary);
    redis_fixture_stop(&f->replica);
    test_rmtree(f->fwd_dir);
}

/* "SEQ:TS" of the canary key on a server. */
static void canary_value(const struct redis_fixture *s, long long *seq, long long *ts)
{
    redisContext *c = redis_fixture_connect(s);
    redisReply *r = c ? redisCommand(c, "GET nines:canary:orders-db") : NULL;

    *seq = *ts = -1;
    cr_assert(ne(ptr, r, NULL));
    cr_assert(eq(int, r->type, REDIS_REPLY_STRING), "no canary value");
    cr_assert(eq(int, sscanf(r->str, "%lld:%lld", seq, ts), 2));
    freeReplyObject(r);
    redisFree(c);
}

Test(e2e_drills, a_failover_gives_the_rto_and_the_rpo_that_really_happened, .timeout = 120)
{
    struct drill_world w;
    struct drill_want x = { .w = &w };
    struct failover f;
    char services[1024], ports[32];
    long long seq_p, ts_p, seq_r, ts_r;
    int64_t killed, repointed, rto;
    redisReply *r;

    failover_start(&f);
    snprintf(services, sizeof(services),
             "  - {id: orders-db, kind: redis_canary, address: \"127.0.0.1:%d\", interval: 1s,"
             " timeout: 800ms, failures_to_down: 1}\n"
             "services:\n  - {id: orders, checks: [orders-db], rto: 60s, rpo: 60s,"
             " drill_stable: 3s, drill_timeout: 100s}\n", f.fwd_port);
    world_start(&w, services);
    cr_assert(eq(int, test_wait_until(service_up, &w, 20000), 0), "canary never came up");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "orders", "--expect-outage"), 0),
              "%s", out);
    snprintf(x.id, sizeof(x.id), "%.*s", (int)strcspn(out, "\n"), out);
    test_sleep_ms(2500);
    /* replication breaks (the replica detaches: it keeps what it has), the
     * canary goes on writing to the primary for 2.5 s, then the primary dies:
     * the writes acknowledged meanwhile are lost */
    {
        redisContext *c = redis_fixture_connect(&f.replica);

        r = redisCommand(c, "REPLICAOF NO ONE");
        cr_assert(eq(int, r->type, REDIS_REPLY_STATUS));
        freeReplyObject(r);
        redisFree(c);
    }
    canary_value(&f.replica, &seq_r, &ts_r);
    test_sleep_ms(2500);
    canary_value(&f.primary, &seq_p, &ts_p);
    cr_assert(eq(int, redis_fixture_kill9(&f.primary), 0));
    killed = nines_wall_ms();
    cr_assert(gt(i64, seq_p, seq_r), "no write was lost (%lld vs %lld)", seq_p, seq_r);
    test_sleep_ms(1500);
    /* the replica takes over: the forwarder points at it */
    snprintf(ports, sizeof(ports), "%d\n", f.replica.port);
    cr_assert(eq(int, test_write_file(f.target, ports), 0));
    repointed = nines_wall_ms();
    cr_assert(eq(int, test_wait_until(drill_ended, &x, 40000), 0), "the drill never ended");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(x.doc, "state")), "passed"),
              "%s", json_string_value(json_object_get(x.doc, "verdict")));
    rto = json_integer_value(json_object_get(x.doc, "rto_ms"));
    /* failure seen at the first run after the kill, recovery at the first after the
     * repoint: each end at most one interval (1 s) plus a timeout (0.8 s) late */
    cr_expect(le(i64, rto > repointed - killed ? rto - (repointed - killed)
                                               : (repointed - killed) - rto, 1800),
              "RTO %" PRId64 " ms, truth %" PRId64 " ms", rto, repointed - killed);
    cr_expect(eq(i64, json_integer_value(json_object_get(x.doc, "lost_writes")), seq_p - seq_r),
              "%s", json_dumps(x.doc, 0));
    cr_expect(eq(i64, json_integer_value(json_object_get(x.doc, "rpo_ms")), ts_p - ts_r));
    json_decref(x.doc);
    world_stop(&w);
    failover_stop(&f);
}

struct alert_want {
    struct drill_world *w;
    const char *needle;
};

static int alert_active(void *arg)
{
    struct alert_want *a = arg;

    return nines(a->w, "alerts", "--active", NULL, NULL, NULL) == 0 &&
           strstr(out, a->needle) != NULL;
}

static int alert_gone(void *arg)
{
    return !alert_active(arg);
}

Test(e2e_drills, replication_lag_over_the_rpo_raises_rpo_at_risk_until_it_drops, .timeout = 90)
{
    struct drill_world w;
    struct failover f;
    struct alert_want a = { &w, "rpo_at_risk/orders@" };
    char services[1024];
    redisContext *c;
    redisReply *r;

    failover_start(&f);
    snprintf(services, sizeof(services),
             "  - {id: orders-db, kind: redis_canary, address: \"127.0.0.1:%d\","
             " replica: \"127.0.0.1:%d\", interval: 1s, timeout: 800ms}\n"
             "services:\n  - {id: orders, checks: [orders-db], rpo: 1500ms}\n",
             f.primary.port, f.replica.port);
    world_start(&w, services);
    cr_assert(eq(int, test_wait_until(service_up, &w, 20000), 0), "canary never came up");
    cr_expect(eq(int, alert_active(&a), 0), "at risk before any lag");
    /* the replica stops applying writes for 6 s: the lag it shows grows past 1.5 s */
    c = redis_fixture_connect(&f.replica);
    r = redisCommand(c, "CLIENT PAUSE 6000 WRITE");
    cr_assert(eq(int, r->type, REDIS_REPLY_STATUS));
    freeReplyObject(r);
    redisFree(c);
    cr_assert(eq(int, test_wait_until(alert_active, &a, 10000), 0), "no rpo_at_risk alert");
    cr_assert(eq(int, test_wait_until(alert_gone, &a, 15000), 0), "rpo_at_risk not resolved");
    world_stop(&w);
    failover_stop(&f);
}

static int scheduled_drill_passed(void *arg)
{
    struct drill_world *w = arg;

    return nines(w, "drill", "list", "--json", NULL, NULL) == 0 &&
           strstr(out, "\"scenario\": \"scheduled drill\"") != NULL &&
           strstr(out, "\"started_by\": \"schedule\"") != NULL &&
           strstr(out, "\"state\": \"passed\"") != NULL;
}

Test(e2e_drills, a_drill_on_schedule_starts_by_itself_once, .timeout = 90)
{
    struct drill_world w;
    char services[512];
    int64_t now = nines_wall_ms();
    int minute;

    /* the slot is this minute (UTC): leave it at least 15 s to run in */
    if (now % 60000 > 45000) {
        test_sleep_ms((int)(60000 - now % 60000) + 100);
        now = nines_wall_ms();
    }
    minute = (int)(now / 60000 % 1440);
    snprintf(services, sizeof(services),
             "services:\n  - id: orders\n    checks: [web]\n    rto: 30s\n    drill_stable: 2s\n"
             "    drill_schedule: {days: daily, at: \"%02d:%02d\", timezone: UTC}\n",
             minute / 60, minute % 60);
    world_start(&w, services);
    cr_assert(eq(int, test_wait_until(scheduled_drill_passed, &w, 40000), 0),
              "no scheduled drill passed: %s", out);
    /* once per slot, even across the rest of the minute */
    test_sleep_ms(3000);
    cr_assert(eq(int, nines(&w, "drill", "list", NULL, NULL, NULL), 0));
    cr_expect(eq(ptr, strstr(strstr(out, "orders@") + 1, "orders@"), NULL),
              "more than one drill: %s", out);
    world_stop(&w);
}
