/*
 * A month of results imported, then reported: every figure against values
 * computed by hand below.
 *
 * Customer acme, Europe/Berlin, October 2026: 2026-09-30T22:00Z to
 * 2026-10-31T23:00Z, 745 h (the 25th has 25 h: CEST ends) = 2,682,000,000 ms.
 * One check, api, one location, a result every minute from 09-30 20:00Z to
 * 11-01 01:00Z, failures_to_down 1, so down time runs from the first failing
 * result to the first good one:
 *
 *   A  09-30 21:30Z .. 22:30Z   crosses the month's start: 30 min inside
 *   B  10-10 10:30Z .. 11:00Z   inside maintenance 10:00Z..12:00Z: 0
 *   C  10-25 00:30Z .. 01:30Z   the night the clocks go back: 60 min
 *   D  10-31 22:45Z .. 11-01 00:15Z  crosses the month's end: 15 min
 *   no results 10-15 12:00Z .. 13:59Z (last at 11:59Z, next at 14:00Z):
 *   no data [12:00Z, 14:00Z) = 2 h
 *
 * maintenance 7,200,000, no data 7,200,000, eligible 2,667,600,000,
 * downtime 6,300,000: availability 1 − 6.3e6 / 2.6676e9 = 99.763832...%
 * (shown 99.763), target 99.9: allowed floor(0.001 × 2,667,600,000) =
 * 2,667,600, breached; credit tier "below 99.9" = 10 %.
 * Latency: every 10th good result 300 ms, the rest 100 ms: p50 100 ms,
 * p95 and p99 300 ms (within the histogram's 1 %).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "redis_fixture.h"
#include "testutil.h"

#define MIN_MS INT64_C(60000)

static char out[4 << 20];

/* 2026-09-30T00:00Z */
#define T_0930 INT64_C(1790726400000)
#define H(d, h, m) (T_0930 + (int64_t)(d) * 86400000 + (int64_t)(h) * 3600000 + (m) * MIN_MS)

static int failing(int64_t t)
{
    return (t >= H(0, 21, 30) && t < H(0, 22, 30)) || (t >= H(10, 10, 30) && t < H(10, 11, 0)) ||
           (t >= H(25, 0, 30) && t < H(25, 1, 30)) || (t >= H(31, 22, 45) && t < H(32, 0, 15));
}

Test(e2e_month, an_imported_month_reports_the_figures_computed_by_hand, .timeout = 180)
{
    struct redis_fixture rf;
    char dir[256], cfg[400], data[400], yaml[2048], err[4096];
    FILE *f;
    int64_t n = 0, good = 0;
    json_t *rep, *svc;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    snprintf(cfg, sizeof(cfg), "%s/nines.yaml", dir);
    snprintf(yaml, sizeof(yaml),
             "collector: {data_dir: '%s', redis: '%s'}\n"
             "checks:\n"
             "  - {id: api, kind: http, url: 'http://a.test/', interval: 60s, timeout: 10s,\n"
             "     locations: [eu], failures_to_down: 1}\n"
             "services: [{id: shop, name: Shop, checks: [api], target: 99.9}]\n"
             "maintenance:\n"
             "  - {id: upgrade, services: [shop], start: '2026-10-10T10:00:00Z',"
             " end: '2026-10-10T12:00:00Z', reason: 'db upgrade'}\n"
             "customers:\n"
             "  - id: acme\n    name: ACME\n    timezone: Europe/Berlin\n    services: [shop]\n"
             "    slas: [{name: standard, target: 99.9,\n"
             "            credits: [{below: 99.9, credit: 10}, {below: 99.0, credit: 25}]}]\n",
             dir, rf.url);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    snprintf(data, sizeof(data), "%s/month.jsonl", dir);
    f = fopen(data, "w");
    cr_assert(ne(ptr, f, NULL));
    for (int64_t t = H(0, 20, 0); t <= H(32, 1, 0); t += MIN_MS) {
        int bad = failing(t);

        if (t >= H(15, 12, 0) && t < H(15, 14, 0))
            continue;              /* the probe was away */
        fprintf(f, "{\"check\":\"api\",\"location\":\"eu\",\"timestamp\":%" PRId64
                ",\"ok\":%s,\"latency\":%s%s}\n", t, bad ? "false" : "true",
                bad ? "null" : (good++ % 10 == 9 ? "300" : "100"),
                bad ? ",\"reason\":\"http_status\"" : "");
        n++;
    }
    cr_assert(eq(int, fclose(f), 0));
    cr_assert(gt(i64, n, 44000));
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "import", data, "-c", cfg, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 120000), 0),
                  "import: %s", err);
    }
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "report", "-c", cfg, "--customer", "acme",
                               "--month", "2026-10", "--format", "json", NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 60000), 0),
                  "report: %s", err);
    }
    rep = json_loads(out, 0, NULL);
    cr_assert(ne(ptr, rep, NULL), "%.200s", out);
    svc = json_array_get(json_object_get(rep, "services"), 0);
    cr_assert(ne(ptr, svc, NULL));
    cr_expect(eq(i64, json_integer_value(json_object_get(svc, "window_ms")),
                 INT64_C(2682000000)));
    cr_expect(eq(i64, json_integer_value(json_object_get(svc, "maintenance_ms")), 7200000));
    cr_expect(eq(i64, json_integer_value(json_object_get(svc, "nodata_ms")), 7200000));
    cr_expect(eq(i64, json_integer_value(json_object_get(svc, "eligible_ms")),
                 INT64_C(2667600000)));
    {
        char *dump = json_dumps(svc, JSON_COMPACT);

        cr_expect(eq(i64, json_integer_value(json_object_get(svc, "downtime_ms")), 6300000),
                  "%.3000s", dump);
        free(dump);
    }
    cr_expect(eq(i64, json_integer_value(json_object_get(svc, "allowed_downtime_ms")), 2667600));
    cr_expect(eq(dbl, json_number_value(json_object_get(svc, "availability_pct")),
                 100.0 * (1.0 - 6300000.0 / 2667600000.0)));
    cr_expect(eq(int, json_is_true(json_object_get(svc, "met")), 0));
    cr_expect(eq(dbl, json_number_value(json_object_get(svc, "credit_pct")), 10.0));
    cr_expect(le(dbl, fabs(json_number_value(json_object_get(svc, "p50_ms")) - 100.0), 1.0));
    cr_expect(le(dbl, fabs(json_number_value(json_object_get(svc, "p95_ms")) - 300.0), 3.0));
    cr_expect(le(dbl, fabs(json_number_value(json_object_get(svc, "p99_ms")) - 300.0), 3.0));
    /* A, B, C and D overlap the month; the 25th has 25 h of window */
    cr_expect(eq(sz, json_array_size(json_object_get(rep, "incidents")), 4));
    cr_expect(eq(sz, json_array_size(json_object_get(rep, "days")), 31));
    {
        json_t *d25 = json_array_get(json_object_get(svc, "daily"), 24);

        cr_expect(eq(i64, json_integer_value(json_object_get(d25, "downtime_ms")), 3600000));
    }
    {
        /* the KPI section: B, C and D started in the month (A before it); MTTR
           (30 + 60 + 90) / 3 min; coverage 1 − 2 h no data / 745 h */
        json_t *k = json_array_get(json_object_get(rep, "kpis"), 0);

        cr_assert(eq(sz, json_array_size(json_object_get(rep, "kpis")), 1));
        cr_expect(eq(i64, json_integer_value(json_object_get(k, "incidents")), 3));
        cr_expect(eq(i64, json_integer_value(json_object_get(k, "mttr_ms")), 60 * MIN_MS));
        cr_expect(eq(i64, json_integer_value(json_object_get(k, "downtime_ms")), 6300000));
        cr_expect(eq(dbl, json_number_value(json_object_get(k, "coverage_min_pct")),
                     100.0 * (2682000000.0 - 7200000.0) / 2682000000.0));
    }
    json_decref(rep);
    redis_fixture_stop(&rf);
    test_rmtree(dir);
}
