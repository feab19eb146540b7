/*
 * nines kpi end to end: October 2026 imported for two customers, acks,
 * notifications, drills and capacity forecasts written into Redis as the
 * collector writes them; then `nines kpi --format json` against figures
 * computed by hand, team rows, probe coverage, --customer and --team
 * filters, and bad flags.
 *
 * Checks api (team payments; customer acme, service shop) and www (team
 * payments; customer globex, service web), a result every 5 min, UTC:
 *   I1 api 10-05 10:00 .. 10:30  detected_ms +3 min (stored), notified +2 min
 *                                (delivered 3 s later), acked +12 min
 *   I2 api 10-20 08:00 .. 09:00  no detected_ms: falls back to the notification
 *                                at +1 min (delivered 5 s later), acked +31 min
 *   I3 www 10-12 12:00 .. 12:10  notified +1 min (delivered 1 s later), no ack
 * www has no result on 10-25 from 00:00 to 12:00: a no-data gap.
 *
 * shop: MTTD (3 + 1) / 2 min = 120,000; MTTA (10 + 30) / 2 min = 1,200,000;
 *       MTTR (30 + 60) / 2 min = 2,700,000; ack within 15 min 50 %; p95 5,000
 * team payments (I1, I2, I3): MTTD (3 + 1 + 1) / 3 min = 100,000; MTTA
 *       1,200,000; MTTR (30 + 60 + 10) / 3 min = 2,000,000; ack within 1 of 3
 *       notified; p95 (nearest rank 3 of 1 s, 3 s, 5 s) = 5,000
 * Forecasts (raised → exhaustion): api 10-10 06:00 +19 h, api 10-22 06:00
 *       +5 h, api 09-30 06:00 +2 h (September: out), www 10-03 00:00 +1 h.
 *       shop: 2, min 5 h, median (5 + 19) / 2 = 12 h; payments: 3, min 1 h,
 *       median 5 h.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "redis_fixture.h"
#include "testutil.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)
/* 2026-10-01T00:00Z */
#define T_1001 INT64_C(1790812800000)
#define AT(d, h, m) (T_1001 + (int64_t)((d) - 1) * DAY_MS + (int64_t)(h) * HOUR_MS + (m) * MIN_MS)
#define MONTH_MS (31 * DAY_MS)

static char out[1 << 20], err[1 << 16];

struct world {
    struct redis_fixture rf;
    char dir[256], cfg[400];
};

static int down_api(int64_t t)
{
    return (t >= AT(5, 10, 0) && t < AT(5, 10, 30)) || (t >= AT(20, 8, 0) && t < AT(20, 9, 0));
}

static int down_www(int64_t t)
{
    return t >= AT(12, 12, 0) && t < AT(12, 12, 10);
}

static int silent_www(int64_t t)
{
    return t >= AT(25, 0, 0) && t < AT(25, 12, 0);
}

static void forecast(redisContext *c, const char *check, int64_t raised, int64_t lead)
{
    e2e_redis_do(c, "ZADD nines:forecasts:%s %" PRId64 " %" PRId64 ":%" PRId64 ":eu|disk", check,
             raised, raised, raised + lead);
}

static void write_history(struct world *w, const char *path)
{
    FILE *f = fopen(path, "w");

    cr_assert(ne(ptr, f, NULL));
    for (int64_t t = AT(1, 0, 0); t <= AT(32, 0, 0); t += 5 * MIN_MS) {
        fprintf(f, "{\"check\":\"api\",\"location\":\"eu\",\"timestamp\":%" PRId64
                   ",\"ok\":%s,\"latency\":100}\n", t, down_api(t) ? "false" : "true");
        if (!silent_www(t))
            fprintf(f, "{\"check\":\"www\",\"location\":\"eu\",\"timestamp\":%" PRId64
                       ",\"ok\":%s,\"latency\":100}\n", t, down_www(t) ? "false" : "true");
    }
    cr_assert(eq(int, fclose(f), 0));
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "import", path, "-c", w->cfg, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 120000), 0),
                  "import: %s", err);
    }
}

static void setup(struct world *w)
{
    char yaml[2048], data[400], i1[64], i2[64], i3[64];
    redisContext *c;

    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->rf, 0), 0));
    snprintf(w->cfg, sizeof(w->cfg), "%s/nines.yaml", w->dir);
    snprintf(yaml, sizeof(yaml),
             "collector: {data_dir: '%s', redis: '%s'}\n"
             "checks:\n"
             "  - {id: api, kind: http, url: 'http://a.test/', interval: 300s, timeout: 10s,\n"
             "     locations: [eu], failures_to_down: 1, team: payments}\n"
             "  - {id: www, kind: http, url: 'http://w.test/', interval: 300s, timeout: 10s,\n"
             "     locations: [eu], failures_to_down: 1, team: payments}\n"
             "services:\n"
             "  - {id: shop, checks: [api], target: 99.9, rto: 30m, drill_every: 90d}\n"
             "  - {id: web, checks: [www], target: 99.5}\n"
             "customers:\n"
             "  - {id: acme, timezone: UTC, services: [shop], slas: [{name: std, target: 99.9}]}\n"
             "  - {id: globex, timezone: UTC, services: [web], slas: [{name: std, target: 99.5}]}\n",
             w->dir, w->rf.url);
    cr_assert(eq(int, test_write_file(w->cfg, yaml), 0));
    snprintf(data, sizeof(data), "%s/oct.jsonl", w->dir);
    write_history(w, data);
    c = redis_fixture_connect(&w->rf);
    cr_assert(ne(ptr, c, NULL));
    snprintf(i1, sizeof(i1), "api@%" PRId64, AT(5, 10, 0));
    snprintf(i2, sizeof(i2), "api@%" PRId64, AT(20, 8, 0));
    snprintf(i3, sizeof(i3), "www@%" PRId64, AT(12, 12, 0));
    e2e_redis_do(c, "HSET nines:incident:%s ack_by alice ack_ms %" PRId64 " detected_ms %" PRId64,
             i1, AT(5, 10, 12), AT(5, 10, 3));
    e2e_redis_do(c, "HSET nines:incident:%s ack_by bob ack_ms %" PRId64, i2, AT(20, 8, 31));
    e2e_notification_delivered(c, i1, AT(5, 10, 2), 3000);
    e2e_notification_delivered(c, i2, AT(20, 8, 1), 5000);
    e2e_notification_delivered(c, i3, AT(12, 12, 1), 1000);
    e2e_redis_do(c, "SET nines:drill:shop@%" PRId64 " {\"id\":\"shop@%" PRId64 "\",\"service\":"
                "\"shop\",\"t0_ms\":%" PRId64 ",\"state\":\"passed\",\"rto_ms\":600000,"
                "\"rpo_ms\":2000}", AT(15, 9, 0), AT(15, 9, 0), AT(15, 9, 0));
    e2e_redis_do(c, "ZADD nines:drills %" PRId64 " shop@%" PRId64, AT(15, 9, 0), AT(15, 9, 0));
    e2e_redis_do(c, "SET nines:drill:web@%" PRId64 " {\"id\":\"web@%" PRId64 "\",\"service\":"
                "\"web\",\"t0_ms\":%" PRId64 ",\"state\":\"failed\",\"rto_ms\":5400000,"
                "\"rpo_ms\":0}", AT(16, 9, 0), AT(16, 9, 0), AT(16, 9, 0));
    e2e_redis_do(c, "ZADD nines:drills %" PRId64 " web@%" PRId64, AT(16, 9, 0), AT(16, 9, 0));
    forecast(c, "api", AT(10, 6, 0), 19 * HOUR_MS);
    forecast(c, "api", AT(22, 6, 0), 5 * HOUR_MS);
    forecast(c, "api", AT(0, 6, 0), 2 * HOUR_MS); /* 09-30: not in October */
    forecast(c, "www", AT(3, 0, 0), 1 * HOUR_MS);
    redisFree(c);
}

static void teardown(struct world *w)
{
    redis_fixture_stop(&w->rf);
    test_rmtree(w->dir);
}

/* The no-data time of www in October, from what the import stored. */
static int64_t www_nodata(struct world *w)
{
    redisContext *c = redis_fixture_connect(&w->rf);
    redisReply *r;
    int64_t total = 0;

    cr_assert(ne(ptr, c, NULL));
    r = redisCommand(c, "ZRANGE nines:gaps:www 0 -1");
    cr_assert(ne(ptr, r, NULL));
    for (size_t i = 0; i < r->elements; i++) {
        long long a, b;

        cr_assert(eq(int, sscanf(r->element[i]->str, "%lld-%lld", &a, &b), 2));
        a = a < T_1001 ? T_1001 : a;
        b = b > T_1001 + MONTH_MS ? T_1001 + MONTH_MS : b;
        total += b > a ? b - a : 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return total;
}

static char *str_of(json_t *row, const char *k)
{
    const char *v = json_string_value(json_object_get(row, k));

    cr_assert(ne(ptr, (void *)v, NULL), "%s is not a string", k);
    return (char *)v;
}

static json_t *kpi_json(struct world *w, const char *extra1, const char *extra2)
{
    const char *argv[] = { NINES_BIN_DIR "/nines", "kpi", "--month", "2026-10", "--format",
                           "json", "-c", w->cfg, extra1, extra2, NULL };
    json_t *j;

    cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 120000), 0),
              "kpi: %s", err);
    j = json_loads(out, 0, NULL);
    cr_assert(ne(ptr, j, NULL), "not JSON: %s", out);
    cr_assert(eq(str, str_of(j, "month"), "2026-10"));
    cr_assert(ne(int, json_is_integer(json_object_get(j, "generated_ms")), 0));
    cr_assert(ne(int, json_is_array(json_object_get(j, "rows")), 0));
    return j;
}

static json_t *find_row(json_t *doc, const char *scope, const char *name)
{
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(doc, "rows"), i, r) {
        const char *key = strcmp(scope, "team") == 0 ? "team" : "service";

        if (strcmp(json_string_value(json_object_get(r, "scope")), scope) == 0 &&
            strcmp(json_string_value(json_object_get(r, key)), name) == 0)
            return r;
    }
    return NULL;
}

static int64_t num(json_t *row, const char *k)
{
    cr_assert(ne(int, json_is_integer(json_object_get(row, k)), 0), "%s is not an integer", k);
    return json_integer_value(json_object_get(row, k));
}

static double real(json_t *row, const char *k)
{
    cr_assert(ne(int, json_is_number(json_object_get(row, k)), 0), "%s is not a number", k);
    return json_number_value(json_object_get(row, k));
}

static double coverage_of(json_t *row, const char *check)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(row, "coverage"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "check")), check) == 0)
            return real(c, "coverage_pct");
    cr_fail("no coverage of %s", check);
    return -2;
}

Test(e2e_kpi_cli, service_and_team_rows_match_hand_computed_figures, .timeout = 300)
{
    struct world w;
    json_t *doc, *shop, *web, *team;
    int64_t gap, elig_web;
    double want;

    setup(&w);
    doc = kpi_json(&w, NULL, NULL);
    cr_assert(eq(sz, json_array_size(json_object_get(doc, "rows")), 3), "%s", out);
    shop = find_row(doc, "service", "shop");
    web = find_row(doc, "service", "web");
    team = find_row(doc, "team", "payments");
    cr_assert(ne(ptr, shop, NULL), "%s", out);
    cr_assert(ne(ptr, web, NULL), "%s", out);
    cr_assert(ne(ptr, team, NULL), "%s", out);

    cr_expect(eq(str, str_of(shop, "customer"), "acme"));
    cr_expect(eq(str, str_of(shop, "team"), "payments"));
    cr_expect(eq(i64, num(shop, "incidents"), 2));
    cr_expect(eq(i64, num(shop, "mttd_ms"), 120000));       /* stored detection + fallback */
    cr_expect(eq(i64, num(shop, "mtta_ms"), 1200000));
    cr_expect(eq(i64, num(shop, "mttr_ms"), 2700000));
    cr_expect(eq(dbl, real(shop, "ack_within_target_pct"), 50.0));
    cr_expect(eq(i64, num(shop, "delivery_p95_ms"), 5000));
    cr_expect(eq(i64, num(shop, "downtime_ms"), 90 * MIN_MS));
    cr_expect(eq(i64, num(shop, "eligible_ms"), MONTH_MS));
    cr_expect(eq(i64, num(shop, "forecasts_raised"), 2));
    cr_expect(eq(i64, num(shop, "forecast_lead_min_ms"), 5 * HOUR_MS));
    cr_expect(eq(i64, num(shop, "forecast_lead_median_ms"), 12 * HOUR_MS));
    cr_expect(eq(dbl, coverage_of(shop, "api"), 100.0));
    cr_expect(eq(dbl, real(shop, "coverage_min_pct"), 100.0));
    cr_expect(eq(i64, num(shop, "drills_held"), 1));
    cr_expect(eq(i64, num(shop, "drills_passed"), 1));

    /* the silent half day of www: what the import stored, about 12 h */
    gap = www_nodata(&w);
    cr_assert(ge(i64, gap, 11 * HOUR_MS));
    cr_assert(le(i64, gap, 12 * HOUR_MS + 10 * MIN_MS));
    elig_web = MONTH_MS - gap;
    cr_expect(eq(i64, num(web, "eligible_ms"), elig_web));
    cr_expect(eq(i64, num(web, "downtime_ms"), 10 * MIN_MS));
    want = 100.0 * (double)elig_web / (double)MONTH_MS;
    cr_expect(ieee_ulp_eq(dbl, coverage_of(web, "www"), want, 64));
    cr_expect(eq(i64, num(web, "forecasts_raised"), 1));
    cr_expect(eq(i64, num(web, "forecast_lead_median_ms"), HOUR_MS));

    /* team payments: both services, eligible-time weighted */
    cr_expect(eq(str, str_of(team, "customer"), ""));
    cr_expect(eq(str, str_of(team, "service"), ""));
    cr_expect(eq(i64, num(team, "incidents"), 3));
    cr_expect(eq(i64, num(team, "mttd_ms"), 100000));
    cr_expect(eq(i64, num(team, "mtta_ms"), 1200000));
    cr_expect(eq(i64, num(team, "mttr_ms"), 2000000));
    cr_expect(ieee_ulp_eq(dbl, real(team, "ack_within_target_pct"), 100.0 / 3.0, 64));
    cr_expect(eq(i64, num(team, "notifications_sent"), 3));
    cr_expect(eq(i64, num(team, "notifications_delivered"), 3));
    cr_expect(eq(i64, num(team, "delivery_p95_ms"), 5000));
    want = 100.0 * (1.0 - (double)(100 * MIN_MS) / (double)(MONTH_MS + elig_web));
    cr_expect(ieee_ulp_eq(dbl, real(team, "availability_pct"), want, 64));
    cr_expect(eq(dbl, real(team, "target_pct"), 99.9));    /* the strictest */
    /* shop was down 90 min, over its 0.1 % of 31 days (44.64 min); web met 99.5 % */
    cr_expect(eq(int, json_is_true(json_object_get(shop, "met")), 0));
    cr_expect(eq(int, json_is_true(json_object_get(web, "met")), 1));
    cr_expect(eq(int, json_is_true(json_object_get(team, "met")), 0)); /* all met: no */
    cr_expect(eq(i64, num(team, "drills_held"), 2));
    cr_expect(eq(i64, num(team, "drills_passed"), 1));
    cr_expect(eq(i64, num(team, "rto_ms"), 5400000));
    cr_expect(eq(i64, num(team, "forecasts_raised"), 3));
    cr_expect(eq(i64, num(team, "forecast_lead_min_ms"), HOUR_MS));
    cr_expect(eq(i64, num(team, "forecast_lead_median_ms"), 5 * HOUR_MS));
    cr_expect(eq(sz, json_array_size(json_object_get(team, "coverage")), 2));
    cr_expect(eq(dbl, real(team, "coverage_min_pct"), coverage_of(web, "www")));
    json_decref(doc);
    teardown(&w);
}

Test(e2e_kpi_cli, one_customer_holds_nothing_of_another, .timeout = 300)
{
    struct world w;
    json_t *doc, *team;

    setup(&w);
    doc = kpi_json(&w, "--customer", "globex");
    cr_expect(eq(ptr, strstr(out, "acme"), NULL), "%s", out);
    cr_expect(eq(ptr, strstr(out, "shop"), NULL), "%s", out);
    cr_expect(eq(ptr, strstr(out, "\"api\""), NULL), "%s", out);
    cr_expect(eq(sz, json_array_size(json_object_get(doc, "rows")), 2), "%s", out);
    team = find_row(doc, "team", "payments");
    cr_assert(ne(ptr, team, NULL));
    cr_expect(eq(i64, num(team, "incidents"), 1));          /* I3 only */
    cr_expect(eq(i64, num(team, "forecasts_raised"), 1));
    json_decref(doc);

    doc = kpi_json(&w, "--team", "payments");
    cr_expect(eq(sz, json_array_size(json_object_get(doc, "rows")), 3), "%s", out);
    json_decref(doc);
    teardown(&w);
}

Test(e2e_kpi_cli, bad_flags_exit_2_naming_them, .timeout = 120)
{
    struct world w;
    const char *cases[][3] = {
        { "--month", "2026-13", "--month '2026-13'" },
        { "--format", "xml", "--format 'xml'" },
        { "--ack-target", "0", "--ack-target '0'" },
        { "--customer", "nobody", "--customer 'nobody'" },
        { "--team", "nobody", "--team 'nobody'" },
    };

    cr_assert(eq(int, test_tmpdir(w.dir, sizeof(w.dir)), 0));
    snprintf(w.cfg, sizeof(w.cfg), "%s/nines.yaml", w.dir);
    cr_assert(eq(int, test_write_file(w.cfg, "checks:\n  - {id: api, kind: http, url: "
                                             "'http://a.test/', team: payments}\n"), 0));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *month = strcmp(cases[i][0], "--month") == 0 ? cases[i][1] : "2026-10";
        const char *argv[] = { NINES_BIN_DIR "/nines", "kpi", "--month", month, "-c", w.cfg,
                               strcmp(cases[i][0], "--month") == 0 ? NULL : cases[i][0],
                               cases[i][1], NULL };

        cr_expect(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 30000), 2),
                  "%s %s", cases[i][0], cases[i][1]);
        cr_expect(ne(ptr, strstr(err, cases[i][2]), NULL), "%s", err);
    }
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "kpi", "-c", w.cfg, NULL };

        cr_expect(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 30000), 2));
        cr_expect(ne(ptr, strstr(err, "--month"), NULL), "%s", err);
    }
    test_rmtree(w.dir);
}
