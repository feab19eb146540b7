/*
 * The rules that look at result facts and windows, end to end: a real
 * collector reads results written straight into its stream (as a probe would
 * write them, with chosen times and facts), and its alerts are read back
 * with `nines alerts --active`.
 *
 *  - a host whose disk fills at 1 %/min is forecast full in good time, and
 *    a resource over its threshold raises `capacity`;
 *  - a certificate warning raises `cert_expiry`, a clean TLS result clears it;
 *  - a customer's month-to-date availability below its SLA raises
 *    `sla_breached`.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2eworld.h"
#include "hookfix_client.h"
#include "nines/clock.h"
#include "nines/result.h"
#include "nines/wire.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

struct rules_world {
    struct e2eworld e;
    struct hookfix hook;
    long seq;
};

static char out[262144];

static void world_start(struct rules_world *w, const char *sections)
{
    char yaml[8192];

    memset(w, 0, sizeof(*w));
    test_wait_poll_ms(100);
    e2eworld_open(&w->e);
    cr_assert(eq(int, hookfix_start(&w->hook, NULL), 0));
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
             "api: {listen: \"127.0.0.1:0\"}\n"
             "receivers: [{name: hook, kind: webhook, url: \"%s/hook\"}]\n"
             "routes: [{receivers: [hook], group_wait: 0s}]\n"
             "alerting: {evaluate_every: 1s, forecast_window: 1h, forecast_horizon: 2h,\n"
             "           forecast_min_samples: 10}\n"
             "%s",
             w->e.redis.url, w->e.dir, w->hook.base_url, sections);
    e2eworld_config(&w->e, yaml);
    cr_assert(gt(int, e2eworld_collector(&w->e, "collector.log", NULL), 0));
}

static void world_stop(struct rules_world *w)
{
    hookfix_stop(&w->hook);
    e2eworld_close(&w->e);
}

static void push_sent(struct rules_world *w, const char *check, int64_t start_ms, int ok,
                      const char *warning, const char *message, const char *facts,
                      int64_t sent_ms);

/* Writes one result into the stream as a probe would. */
static void push(struct rules_world *w, const char *check, int64_t start_ms, int ok,
                 const char *warning, const char *message, const char *facts)
{
    push_sent(w, check, start_ms, ok, warning, message, facts, 0);
}

/* The same, with the probe's clock at sending ("sent"; 0: none). */
static void push_sent(struct rules_world *w, const char *check, int64_t start_ms, int ok,
                      const char *warning, const char *message, const char *facts,
                      int64_t sent_ms)
{
    struct nines_result r;
    struct nines_wire wire;
    redisContext *c = redis_fixture_connect(&w->e.redis);
    redisReply *rep;
    const char *argv[NINES_WIRE_XADD_ARGC + 2];
    size_t lens[NINES_WIRE_XADD_ARGC + 2];
    char sent[24];
    int n;

    cr_assert(not(eq(ptr, c, NULL)));
    nines_result_init(&r);
    snprintf(r.id, sizeof(r.id), "test/1/%ld", ++w->seq);
    snprintf(r.check_id, sizeof(r.check_id), "%s", check);
    snprintf(r.probe, sizeof(r.probe), "test");
    snprintf(r.location, sizeof(r.location), "local");
    r.start_ms = start_ms;
    r.outcome = ok ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    r.total_us = 1000;
    if (!ok)
        snprintf(r.reason, sizeof(r.reason), "http_status");
    snprintf(r.warning, sizeof(r.warning), "%s", warning);
    snprintf(r.message, sizeof(r.message), "%s", message);
    snprintf(r.facts, sizeof(r.facts), "%s", facts);
    nines_wire_encode(&r, &wire);
    n = nines_wire_xadd_argv(&wire, NINES_KEY_RESULTS, argv, lens);
    if (sent_ms > 0) {
        snprintf(sent, sizeof(sent), "%lld", (long long)sent_ms);
        argv[n] = "sent";
        lens[n++] = 4;
        argv[n] = sent;
        lens[n++] = strlen(sent);
    }
    rep = redisCommandArgv(c, n, argv, lens);
    cr_assert(not(eq(ptr, rep, NULL)));
    cr_assert(eq(int, rep->type, REDIS_REPLY_STRING), "XADD: %s", rep->str ? rep->str : "?");
    freeReplyObject(rep);
    redisFree(c);
}

/* The summary of the active alert whose key starts with prefix ("" if none). */
static int active_summary(struct rules_world *w, const char *prefix, char *summary,
                          size_t len)
{
    const char *argv[] = { NINES_BIN_DIR "/nines", "alerts", "--active", "--json", "--redis",
                           w->e.redis.url, NULL };
    json_t *root, *v;
    size_t i;
    int code = -1, found = 0;

    summary[0] = '\0';
    if (proc_run(argv, out, sizeof(out), 10000, &code) != 0 || code != 0)
        return 0;
    root = json_loads(out, 0, NULL);
    json_array_foreach(json_object_get(root, "alerts"), i, v) {
        json_t *n = json_object_get(v, "notification");
        const char *k = json_string_value(json_object_get(n, "key"));

        if (!found && k != NULL && strncmp(k, prefix, strlen(prefix)) == 0) {
            snprintf(summary, len, "%s", json_string_value(json_object_get(n, "summary")));
            found = 1;
        }
    }
    json_decref(root);
    return found;
}

struct want {
    struct rules_world *w;
    const char *prefix;
    char summary[512];
};

static int is_active(void *arg)
{
    struct want *x = arg;

    return active_summary(x->w, x->prefix, x->summary, sizeof(x->summary));
}

static int is_gone(void *arg)
{
    return !is_active(arg);
}

static int collector_ready(void *arg)
{
    struct rules_world *w = arg;

    return e2eworld_api_ready(&w->e);
}

/* The collector has read the stored capacity series (forecasts wait for
 * them) and logged it in log (a file name in the world's directory). */
struct history_wait {
    struct rules_world *w;
    const char *log;
};

static int history_loaded(void *arg)
{
    struct history_wait *h = arg;
    char path[400], *text;
    int found;

    snprintf(path, sizeof(path), "%s/%s", h->w->e.dir, h->log);
    text = test_read_file(path);
    found = text != NULL && strstr(text, "event=capacity_history_loaded") != NULL;
    free(text);
    return found;
}

Test(e2e_rules, a_filling_disk_is_forecast_and_a_full_one_is_over_its_threshold, .timeout = 60)
{
    struct rules_world w;
    struct want x;
    int64_t now = nines_wall_ms();
    char facts[512];

    world_start(&w, "checks:\n  - {id: db1, kind: host, locations: [local], disk_pct: 90,"
                    " interval: 60s}\n");
    cr_assert(eq(int, test_wait_until(collector_ready, &w, 10000), 0));
    {
        struct history_wait h = { &w, "collector.log" };

        cr_assert(eq(int, test_wait_until(history_loaded, &h, 10000), 0));
    }
    /* the last 30 minutes: /data from 50 % up 1 % a minute: 80 % now, full in 20 min */
    for (int i = 30; i >= 0; i--) {
        snprintf(facts, sizeof(facts), "{\"mem_pct\":40.0,\"fs\":[{\"mount\":\"/data\","
                 "\"fstype\":\"ext4\",\"pct\":%d.0}]}", 80 - i);
        push(&w, "db1", now - (int64_t)i * 60000, 1, "", "", facts);
    }
    x = (struct want){ .w = &w, .prefix = "capacity_forecast/db1/local/disk /data@" };
    cr_assert(eq(int, test_wait_until(is_active, &x, 15000), 0), "no forecast");
    /* it fires as soon as the trend may be trusted: 10 samples spanning a quarter
     * of the 1 h window, i.e. at the sample 15 min in, at 65 %: 35 min to go */
    cr_expect(eq(str, x.summary, "disk /data on db1 full in ~35 min"));
    {
        /* recorded for the KPIs (kpigather.h): raised at that sample, exhaustion ~35 min on */
        redisContext *c = redis_fixture_connect(&w.e.redis);
        redisReply *r = c ? redisCommand(c, "ZRANGE nines:forecasts:db1 0 -1") : NULL;
        long long raised = 0, exhaust = 0;

        cr_assert(ne(ptr, r, NULL));
        cr_assert(eq(sz, r->elements, 1));
        cr_expect(eq(int, sscanf(r->element[0]->str, "%lld:%lld:", &raised, &exhaust), 2));
        cr_expect(eq(i64, raised, now - 15 * 60000));
        cr_expect(ge(i64, exhaust - raised, 30 * 60000));
        cr_expect(le(i64, exhaust - raised, 40 * 60000));
        cr_expect(ne(ptr, strstr(r->element[0]->str, ":local|disk /data"), NULL), "%s",
                  r->element[0]->str);
        freeReplyObject(r);
        redisFree(c);
    }
    x.prefix = "capacity_forecast/db1/local/memory@";
    cr_expect(eq(int, is_active(&x), 0), "flat memory forecast: %s", x.summary);
    /* over the threshold: the probe lists it under "over" */
    push(&w, "db1", now + 1000, 1, "capacity", "disk /data at 95.0% (limit 90%)",
         "{\"mem_pct\":40.0,\"fs\":[{\"mount\":\"/data\",\"pct\":95.0}],"
         "\"over\":[\"disk /data\"]}");
    x = (struct want){ .w = &w, .prefix = "capacity/db1/local/disk /data@" };
    cr_assert(eq(int, test_wait_until(is_active, &x, 15000), 0), "no capacity alert");
    cr_expect(not(eq(ptr, strstr(x.summary, "95.0%"), NULL)), "%s", x.summary);
    {
        /* a restart while both fire: the restored alerts are neither raised nor
         * recorded again, and both still clear when their conditions do */
        char path[400];
        redisContext *c;
        redisReply *r;

        proc_stop(w.e.collector, 5000);
        snprintf(path, sizeof(path), "%s/data/api.addr", w.e.dir);
        unlink(path);
        cr_assert(gt(int, e2eworld_collector(&w.e, "collector2.log", NULL), 0));
        cr_assert(eq(int, test_wait_until(collector_ready, &w, 10000), 0));
        {
            struct history_wait h = { &w, "collector2.log" };

            cr_assert(eq(int, test_wait_until(history_loaded, &h, 10000), 0));
        }
        push(&w, "db1", now + 2000, 1, "capacity", "disk /data at 96.0% (limit 90%)",
             "{\"mem_pct\":40.0,\"fs\":[{\"mount\":\"/data\",\"pct\":96.0}],"
             "\"over\":[\"disk /data\"]}");
        test_wait_poll_ms(1500);
        c = redis_fixture_connect(&w.e.redis);
        r = c ? redisCommand(c, "ZCARD nines:forecasts:db1") : NULL;
        cr_assert(ne(ptr, r, NULL));
        cr_expect(eq(i64, (int64_t)r->integer, 1), "the forecast was recorded again");
        freeReplyObject(r);
        redisFree(c);
    }
    /* cleaned up: the threshold clears; the trend turns down and the forecast clears */
    for (int i = 1; i <= 12; i++)
        push(&w, "db1", now + 1000 + (int64_t)i * 60000, 1, "", "",
             "{\"mem_pct\":40.0,\"fs\":[{\"mount\":\"/data\",\"pct\":10.0}]}");
    cr_assert(eq(int, test_wait_until(is_gone, &x, 15000), 0), "capacity alert stays");
    x.prefix = "capacity_forecast/db1/local/disk /data@";
    cr_assert(eq(int, test_wait_until(is_gone, &x, 15000), 0), "forecast stays");
    world_stop(&w);
}

Test(e2e_rules, an_expiring_certificate_raises_cert_expiry_until_renewed, .timeout = 60)
{
    struct rules_world w;
    struct want x;
    int64_t now = nines_wall_ms();

    world_start(&w, "checks:\n  - {id: site, kind: http, url: \"https://site.test/\","
                    " locations: [local], interval: 60s, cert_min_days: 14}\n");
    cr_assert(eq(int, test_wait_until(collector_ready, &w, 10000), 0));
    push(&w, "site", now - 2000, 1, "cert_expiring", "certificate expires in 5 days (minimum 14)",
         "{\"cert\":{\"days_left\":5}}");
    x = (struct want){ .w = &w, .prefix = "cert_expiry/site@" };
    cr_assert(eq(int, test_wait_until(is_active, &x, 15000), 0), "no cert_expiry alert");
    cr_expect(eq(str, x.summary, "site: certificate expires in 5 days (minimum 14)"));
    push(&w, "site", now - 1000, 1, "", "", "{\"cert\":{\"days_left\":89}}");
    cr_assert(eq(int, test_wait_until(is_gone, &x, 15000), 0), "not cleared by the renewal");
    world_stop(&w);
}

Test(e2e_rules, month_to_date_availability_under_the_sla_raises_sla_breached, .timeout = 60)
{
    struct rules_world w;
    struct want x;
    int64_t now = nines_wall_ms();

    world_start(&w, "checks:\n  - {id: api, kind: http, url: \"http://api.test/\","
                    " locations: [local], interval: 10s, failures_to_down: 1}\n"
                    "services: [{id: shop, checks: [api], target: 99.9}]\n"
                    "customers:\n  - id: acme\n    timezone: Pacific/Auckland\n"
                    "    services: [shop]\n    slas: [{name: gold, target: 99.9}]\n");
    cr_assert(eq(int, test_wait_until(collector_ready, &w, 10000), 0));
    /* up for 100 s, then down: well below 99.9 % of the time with data */
    for (int i = 10; i >= 1; i--)
        push(&w, "api", now - (int64_t)i * 10000 - 10000, 1, "", "", "");
    push(&w, "api", now - 10000, 0, "", "HTTP 503", "");
    push(&w, "api", now, 0, "", "HTTP 503", "");
    x = (struct want){ .w = &w, .prefix = "sla_breached/acme/gold/shop@" };
    cr_assert(eq(int, test_wait_until(is_active, &x, 15000), 0), "no sla_breached alert");
    cr_expect(not(eq(ptr, strstr(x.summary, "target 99.900%"), NULL)), "%s", x.summary);
    world_stop(&w);
}

/* The newest result's time in the check's state. */
static int64_t state_last_ms(struct rules_world *w, const char *check)
{
    redisContext *c = redis_fixture_connect(&w->e.redis);
    redisReply *r = c ? redisCommand(c, "HGET nines:state:%s doc", check) : NULL;
    json_t *doc = r != NULL && r->type == REDIS_REPLY_STRING ? json_loads(r->str, 0, NULL) : NULL;
    int64_t last = json_integer_value(json_object_get(doc, "last_ms"));

    json_decref(doc);
    freeReplyObject(r);
    redisFree(c);
    return last;
}

struct last_want {
    struct rules_world *w;
    int64_t at_least;
};

static int state_has_result(void *arg)
{
    struct last_want *x = arg;

    return state_last_ms(x->w, "site") >= x->at_least;
}

Test(e2e_rules, a_probe_clock_an_hour_ahead_is_flagged_and_its_times_corrected, .timeout = 60)
{
    struct rules_world w;
    struct last_want x;
    int64_t now = nines_wall_ms(), last;

    world_start(&w, "checks:\n  - {id: site, kind: http, url: \"https://site.test/\","
                    " locations: [local], interval: 60s}\n");
    cr_assert(eq(int, test_wait_until(collector_ready, &w, 10000), 0));
    /* the probe believes it is an hour later than Redis does */
    push_sent(&w, "site", now + 3600000, 1, "", "", "", now + 3600000 + 5);
    x = (struct last_want){ &w, now - 5000 };
    cr_assert(eq(int, test_wait_until(state_has_result, &x, 10000), 0));
    last = state_last_ms(&w, "site");
    /* corrected into Redis's clock: near now, not an hour ahead */
    cr_expect(lt(i64, last, now + 60000), "not corrected: %lld", (long long)last);
    cr_expect(gt(i64, last, now - 60000), "over-corrected: %lld", (long long)last);
    {
        char path[400], *t;

        snprintf(path, sizeof(path), "%s/collector.log", w.e.dir);
        t = test_read_file(path);
        cr_expect(ne(ptr, t ? strstr(t, "event=probe_clock_skew probe=test") : NULL, NULL),
                  "not flagged in the log");
        free(t);
    }
    world_stop(&w);
}
