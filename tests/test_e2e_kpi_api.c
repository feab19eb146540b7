/*
 * The KPIs through the collector, end to end: a real redis-server holding
 * October 2026 (imported with `nines import`, acks, notifications and drills
 * written as the collector would) for two customers, a real collector, and
 * `nines kpi` as the reference:
 *
 *   GET /api/v1/kpis/2026-10       rows == `nines kpi --month 2026-10` rows
 *   GET /api/v1/kpis/2026-10.csv   == the CLI's CSV, one record per JSON row
 *   ?customer=acme                 rows of the CLI's --customer acme, nothing of globex
 *   bad month, format, customer, team: 400 / 404 naming the field; no token 401
 *   /metrics (collector.kpi_refresh: 1s)  the nines_kpi_* gauges equal the
 *                                  figures of `nines kpi --month current`
 *
 * Check api (customer acme, service shop, team pay), a result every 5 min, UTC:
 *   I1 10-05 10:00 .. 10:30  notified +2 min (delivered 3 s later), acked +12 min
 *   I2 10-20 08:00 .. 09:00  notified +1 min (delivered 5 s later), acked +31 min
 * so MTTR = (30 + 60) / 2 min = 2,700,000 ms and MTTA = (10 + 30) / 2 min.
 * Check www (customer globex, service web, team site): I3 10-12 12:00 .. 12:10.
 * The current month has one incident of api, 40 to 30 minutes ago, notified and
 * acknowledged.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2eworld.h"
#include "http_client.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define MIN_MS INT64_C(60000)
/* 2026-10-01T00:00Z */
#define T_1001 INT64_C(1790812800000)
#define AT(d, h, m) (T_1001 + (int64_t)((d) - 1) * 86400000 + (int64_t)(h) * 3600000 + (m) * MIN_MS)
#define VIEWER "kpi-viewer-token"

static char out[1 << 20], err[1 << 16], body[1 << 20];

struct world {
    struct e2eworld e;
    int64_t now_ms;
    double refreshed_s;           /* nines_kpi_refreshed_timestamp_seconds seen */
};

static int down_api(const struct world *w, int64_t t)
{
    return (t >= AT(5, 10, 0) && t < AT(5, 10, 30)) || (t >= AT(20, 8, 0) && t < AT(20, 9, 0)) ||
           (t >= w->now_ms - 40 * MIN_MS && t < w->now_ms - 30 * MIN_MS);
}

static int down_www(int64_t t)
{
    return t >= AT(12, 12, 0) && t < AT(12, 12, 10);
}

static void write_results(struct world *w, const char *path)
{
    FILE *f = fopen(path, "w");

    cr_assert(ne(ptr, f, NULL));
    /* October, then every 5 min up to 10 min ago */
    for (int64_t t = AT(1, 0, 0); t <= w->now_ms - 10 * MIN_MS; t += 5 * MIN_MS) {
        fprintf(f, "{\"check\":\"api\",\"location\":\"eu\",\"timestamp\":%" PRId64
                   ",\"ok\":%s,\"latency\":%s}\n", t, down_api(w, t) ? "false" : "true",
                down_api(w, t) ? "null" : "100");
        fprintf(f, "{\"check\":\"www\",\"location\":\"eu\",\"timestamp\":%" PRId64
                   ",\"ok\":%s,\"latency\":%s}\n", t, down_www(t) ? "false" : "true",
                down_www(t) ? "null" : "100");
    }
    cr_assert(eq(int, fclose(f), 0));
}

static void setup(struct world *w, const char *refresh)
{
    char yaml[2048], data[400], hash[72], i[3][64];
    redisContext *c;

    memset(w, 0, sizeof(*w));
    w->now_ms = (int64_t)time(NULL) * 1000;
    w->now_ms -= w->now_ms % (5 * MIN_MS);         /* on the results' grid */
    e2eworld_open(&w->e);
    e2eworld_token_hash(VIEWER, hash);
    snprintf(yaml, sizeof(yaml),
             "collector: {data_dir: '%s/data', redis: '%s', kpi_refresh: %s}\n"
             "api:\n  listen: 127.0.0.1:0\n  tokens: [{name: vera, role: viewer, hash: '%s'}]\n"
             "checks:\n"
             "  - {id: api, kind: http, url: 'http://a.test/', interval: 300s, timeout: 10s,\n"
             "     locations: [eu], failures_to_down: 1, team: pay}\n"
             "  - {id: www, kind: http, url: 'http://w.test/', interval: 300s, timeout: 10s,\n"
             "     locations: [eu], failures_to_down: 1, team: site}\n"
             "services:\n"
             "  - {id: shop, checks: [api], target: 99.9, rto: 30m, drill_every: 90d}\n"
             "  - {id: web, checks: [www], target: 99.5}\n"
             "customers:\n"
             "  - {id: acme, timezone: UTC, services: [shop], slas: [{name: std, target: 99.9}]}\n"
             "  - {id: globex, timezone: UTC, services: [web], slas: [{name: std, target: 99.5}]}\n",
             w->e.dir, w->e.redis.url, refresh, hash);
    e2eworld_config(&w->e, yaml);
    snprintf(data, sizeof(data), "%s/results.jsonl", w->e.dir);
    write_results(w, data);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "import", data, "-c", w->e.cfg, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 120000), 0),
                  "import: %s", err);
    }
    c = redis_fixture_connect(&w->e.redis);
    cr_assert(ne(ptr, c, NULL));
    e2e_redis_do(c, "HSET nines:incident:api@%" PRId64 " ack_by alice ack_ms %" PRId64, AT(5, 10, 0),
             AT(5, 10, 12));
    e2e_redis_do(c, "HSET nines:incident:api@%" PRId64 " ack_by bob ack_ms %" PRId64, AT(20, 8, 0),
             AT(20, 8, 31));
    snprintf(i[0], sizeof(i[0]), "api@%" PRId64, AT(5, 10, 0));
    snprintf(i[1], sizeof(i[1]), "api@%" PRId64, AT(20, 8, 0));
    snprintf(i[2], sizeof(i[2]), "www@%" PRId64, AT(12, 12, 0));
    e2e_notification_delivered(c, i[0], AT(5, 10, 2), 3000);
    e2e_notification_delivered(c, i[1], AT(20, 8, 1), 5000);
    e2e_notification_delivered(c, i[2], AT(12, 12, 1), 1000);
    /* this month's: notified 2 min in, delivered 2 s later, acked 5 min in */
    snprintf(i[0], sizeof(i[0]), "api@%" PRId64, w->now_ms - 40 * MIN_MS);
    e2e_notification_delivered(c, i[0], w->now_ms - 38 * MIN_MS, 2000);
    e2e_redis_do(c, "HSET nines:incident:%s ack_by carol ack_ms %" PRId64, i[0],
             w->now_ms - 35 * MIN_MS);
    e2e_redis_do(c, "SET nines:drill:shop@%" PRId64 " {\"id\":\"shop@%" PRId64 "\",\"service\":"
                "\"shop\",\"scenario\":\"failover\",\"t0_ms\":%" PRId64 ",\"state\":\"passed\","
                "\"rto_ms\":600000,\"rpo_ms\":2000}", AT(15, 9, 0), AT(15, 9, 0), AT(15, 9, 0));
    e2e_redis_do(c, "ZADD nines:drills %" PRId64 " shop@%" PRId64, AT(15, 9, 0), AT(15, 9, 0));
    redisFree(c);
}

static void start_collector(struct world *w)
{
    cr_assert(gt(int, e2eworld_collector(&w->e, "collector.log", NULL), 0));
    cr_assert(eq(int, e2eworld_wait_api(&w->e, 15000), 0), "no api.addr");
    cr_assert(eq(int, e2eworld_wait_published(&w->e, 10000), 0), "the collector never reached Redis");
}

static void teardown(struct world *w)
{
    char path[400], *log;

    if (w->e.collector > 0) {
        proc_stop(w->e.collector, 5000);
        /* under NINES_SANITIZE the collector reports at exit (children, timers) */
        snprintf(path, sizeof(path), "%s/collector.log", w->e.dir);
        log = test_read_file(path);
        cr_expect(ne(ptr, log, NULL));
        if (log != NULL) {
            cr_expect(eq(ptr, strstr(log, "ERROR: LeakSanitizer"), NULL), "%s", log);
            cr_expect(eq(ptr, strstr(log, "ERROR: AddressSanitizer"), NULL), "%s", log);
            cr_expect(eq(ptr, strstr(log, "runtime error:"), NULL), "%s", log);
            cr_expect(ne(ptr, strstr(log, "collector_stopped"), NULL), "no clean stop:\n%s",
                      log);
        }
        free(log);
        w->e.collector = 0;
    }
    e2eworld_close(&w->e);
}

/* `nines kpi --month M --format F [--customer C]`: its stdout in out. */
static void cli_kpi(const struct world *w, const char *month, const char *format,
                    const char *customer)
{
    const char *argv[] = { NINES_BIN_DIR "/nines", "kpi", "--month", month, "--format", format,
                           "-c", w->e.cfg, customer ? "--customer" : NULL, customer, NULL };

    cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 120000), 0),
              "nines kpi: %s", err);
}

static json_t *cli_rows(const struct world *w, const char *month, const char *customer)
{
    json_t *doc, *rows;

    cli_kpi(w, month, "json", customer);
    doc = json_loads(out, 0, NULL);
    cr_assert(ne(ptr, doc, NULL), "CLI JSON: %.200s", out);
    rows = json_incref(json_object_get(doc, "rows"));
    json_decref(doc);
    cr_assert(eq(int, json_is_array(rows) ? 1 : 0, 1), "no rows array");
    return rows;
}

static int get(const struct world *w, const char *path, const char *token)
{
    body[0] = '\0';
    return e2eworld_request(&w->e, "GET", path, token, NULL, body, sizeof(body));
}

static json_t *api_rows(const struct world *w, const char *path)
{
    json_t *doc, *rows;

    cr_assert(eq(int, get(w, path, VIEWER), 200), "%s: %s", path, body);
    doc = json_loads(body, 0, NULL);
    cr_assert(ne(ptr, doc, NULL), "API JSON: %.200s", body);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(doc, "month")), "2026-10"));
    rows = json_incref(json_object_get(doc, "rows"));
    json_decref(doc);
    cr_assert(eq(int, json_is_array(rows) ? 1 : 0, 1), "no rows array");
    return rows;
}

static const json_t *find_row(const json_t *rows, const char *scope, const char *key,
                              const char *value)
{
    size_t i;
    json_t *r;

    json_array_foreach(rows, i, r)
        if (strcmp(json_string_value(json_object_get(r, "scope")) ?: "", scope) == 0 &&
            strcmp(json_string_value(json_object_get(r, key)) ?: "", value) == 0)
            return r;
    return NULL;
}

static int64_t figure(const json_t *row, const char *field)
{
    return (int64_t)json_number_value(json_object_get(row, field));
}

Test(e2e_kpi_api, json_rows_are_the_cli_rows, .timeout = 300)
{
    struct world w;
    json_t *api, *cli;
    const json_t *shop;

    setup(&w, "0");
    start_collector(&w);
    api = api_rows(&w, "/api/v1/kpis/2026-10");
    cli = cli_rows(&w, "2026-10", NULL);
    cr_expect(eq(int, json_equal(api, cli), 1), "the API's rows differ from the CLI's:\n%.2000s", body);
    shop = find_row(api, "service", "service", "shop");
    cr_assert(ne(ptr, (void *)shop, NULL), "no row of service shop: %.2000s", body);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(shop, "customer")), "acme"));
    cr_expect(eq(i64, figure(shop, "incidents"), 2));
    cr_expect(eq(i64, figure(shop, "mttr_ms"), 45 * MIN_MS));
    cr_expect(eq(i64, figure(shop, "mtta_ms"), 20 * MIN_MS));
    cr_expect(eq(i64, figure(shop, "drills_passed"), 1));
    cr_expect(ne(ptr, (void *)find_row(api, "service", "service", "web"), NULL));
    cr_expect(ne(ptr, (void *)find_row(api, "team", "team", "pay"), NULL), "no team row");
    json_decref(api);
    json_decref(cli);
    /* ".json" is the same table */
    api = api_rows(&w, "/api/v1/kpis/2026-10.json");
    cli = cli_rows(&w, "2026-10", NULL);
    cr_expect(eq(int, json_equal(api, cli), 1));
    json_decref(api);
    json_decref(cli);
    teardown(&w);
}

/* Fields of one CSV record starting at *p (RFC 4180 quotes); *p moves past it. */
static int csv_record(const char **p)
{
    int fields = 1, quoted = 0;

    for (; **p != '\0'; (*p)++) {
        if (quoted) {
            if (**p == '"' && (*p)[1] == '"')
                (*p)++;
            else if (**p == '"')
                quoted = 0;
        } else if (**p == '"') {
            quoted = 1;
        } else if (**p == ',') {
            fields++;
        } else if (**p == '\n' || (**p == '\r' && (*p)[1] == '\n')) {
            *p += **p == '\r' ? 2 : 1;
            return fields;
        }
    }
    return fields;
}

Test(e2e_kpi_api, csv_is_the_cli_csv_and_customer_filters, .timeout = 300)
{
    struct world w;
    json_t *api, *cli, *r;
    const char *p;
    size_t records = 0, i;
    int head;

    setup(&w, "0");
    start_collector(&w);
    cli = cli_rows(&w, "2026-10", NULL);
    cr_assert(eq(int, get(&w, "/api/v1/kpis/2026-10.csv", VIEWER), 200), "%s", body);
    cli_kpi(&w, "2026-10", "csv", NULL);
    cr_expect(eq(str, body, out), "the API's CSV differs from the CLI's");
    p = body;
    head = csv_record(&p);
    cr_expect(ge(int, head, 20), "header: %.300s", body);
    while (*p != '\0' && records < 1000) {
        cr_expect(eq(int, csv_record(&p), head), "record %zu", records + 1);
        records++;
    }
    cr_expect(eq(sz, records, json_array_size(cli)), "one record per row");
    json_decref(cli);

    api = api_rows(&w, "/api/v1/kpis/2026-10?customer=acme");
    cli = cli_rows(&w, "2026-10", "acme");
    cr_expect(eq(int, json_equal(api, cli), 1), "the API's rows differ from the CLI's:\n%.2000s", body);
    cr_expect(ne(ptr, (void *)find_row(api, "service", "service", "shop"), NULL));
    json_array_foreach(api, i, r) {
        cr_expect(ne(str, (char *)(json_string_value(json_object_get(r, "customer")) ?: ""),
                     "globex"));
        cr_expect(ne(str, (char *)(json_string_value(json_object_get(r, "service")) ?: ""),
                     "web"));
    }
    cr_expect(eq(ptr, strstr(body, "globex"), NULL), "globex in acme's KPIs: %.2000s", body);
    json_decref(api);
    json_decref(cli);
    teardown(&w);
}

Test(e2e_kpi_api, bad_requests_name_the_field, .timeout = 300)
{
    static const struct {
        char path[80];
        int status;
        char word[16];
    } bad[] = {
        { "/api/v1/kpis/2026-13", 400, "month" },
        { "/api/v1/kpis/2026-1", 400, "month" },
        { "/api/v1/kpis/october", 400, "month" },
        { "/api/v1/kpis/2099-01", 400, "month" },
        { "/api/v1/kpis/2026-10.xml", 400, "format" },
        { "/api/v1/kpis/2026-10?customer=nobody", 404, "customer" },
        { "/api/v1/kpis/2026-10?team=-rf", 400, "team" },
        { "/api/v1/kpis/2026-10?team=a%20b", 400, "team" },
    };
    struct world w;

    setup(&w, "0");
    start_collector(&w);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc;
        const char *msg;

        cr_expect(eq(int, get(&w, bad[i].path, VIEWER), bad[i].status), "%s: %s", bad[i].path,
                  body);
        doc = json_loads(body, 0, NULL);
        msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
        cr_expect(ne(ptr, msg ? strstr(msg, bad[i].word) : NULL, NULL), "%s: %s", bad[i].path,
                  body);
        json_decref(doc);
    }
    cr_expect(eq(int, get(&w, "/api/v1/kpis/2026-10", NULL), 401), "no token");
    cr_expect(eq(int, get(&w, "/api/v1/kpis/2026-10", "wrong-token"), 401));
    cr_expect(eq(int, get(&w, "/api/v1/kpis/2026-10?team=pay", VIEWER), 200), "%s", body);
    teardown(&w);
}

/* The value of the series name{labels} in the exposition, or NAN when absent. */
static double series(const char *text, const char *name, const json_t *row, const char *state)
{
    char want[512];
    const char *p;

    snprintf(want, sizeof(want), "\n%s{scope=\"%s\",customer=\"%s\",service=\"%s\",team=\"%s\"%s%s%s} ",
             name, json_string_value(json_object_get(row, "scope")) ?: "",
             json_string_value(json_object_get(row, "customer")) ?: "",
             json_string_value(json_object_get(row, "service")) ?: "",
             json_string_value(json_object_get(row, "team")) ?: "", state ? ",state=\"" : "",
             state ? state : "", state ? "\"" : "");
    p = strstr(text, want);
    return p != NULL ? strtod(p + strlen(want), NULL) : NAN;
}

#define REFRESHED "\nnines_kpi_refreshed_timestamp_seconds "

/* /metrics into body; its refresh time, or -1 without KPIs. */
static double metrics_refreshed_s(struct world *w)
{
    const char *p;

    if (get(w, "/metrics", VIEWER) != 200 || (p = strstr(body, REFRESHED)) == NULL)
        return -1;
    return strtod(p + strlen(REFRESHED), NULL);
}

static int metrics_refreshed(void *arg)
{
    return metrics_refreshed_s(arg) >= 0;
}

static int metrics_refreshed_again(void *arg)
{
    struct world *w = arg;

    return metrics_refreshed_s(w) > w->refreshed_s;
}

Test(e2e_kpi_api, metrics_carry_the_current_months_kpis, .timeout = 300)
{
    static const struct {
        char name[48], state[12], field[32];
        double div;
        int exact;            /* counts and figures of whole incidents: equal */
    } g[] = {
        { "nines_kpi_availability_ratio", "", "availability_pct", 100, 0 },
        { "nines_kpi_target_ratio", "", "target_pct", 100, 1 },
        { "nines_kpi_incidents", "", "incidents", 1, 1 },
        { "nines_kpi_mttd_seconds", "", "mttd_ms", 1000, 1 },
        { "nines_kpi_mtta_seconds", "", "mtta_ms", 1000, 1 },
        { "nines_kpi_mttr_seconds", "", "mttr_ms", 1000, 1 },
        { "nines_kpi_notifications", "sent", "notifications_sent", 1, 1 },
        { "nines_kpi_notifications", "delivered", "notifications_delivered", 1, 1 },
        { "nines_kpi_notifications", "failed", "notifications_failed", 1, 1 },
        { "nines_kpi_delivery_p95_seconds", "", "delivery_p95_ms", 1000, 1 },
        { "nines_kpi_ack_within_target_ratio", "", "ack_within_target_pct", 100, 1 },
        { "nines_kpi_drills", "held", "drills_held", 1, 1 },
        { "nines_kpi_drills", "passed", "drills_passed", 1, 1 },
        { "nines_kpi_drill_overdue", "", "drill_overdue", 1, 1 },
        { "nines_kpi_rto_seconds", "", "rto_ms", 1000, 1 },
        { "nines_kpi_rpo_seconds", "", "rpo_ms", 1000, 1 },
        { "nines_kpi_coverage_min_ratio", "", "coverage_min_pct", 100, 0 },
        { "nines_kpi_forecasts_raised", "", "forecasts_raised", 1, 1 },
        { "nines_kpi_forecast_lead_min_seconds", "", "forecast_lead_min_ms", 1000, 1 },
    };
    struct world w;
    json_t *rows, *row;
    size_t i, shown = 0;
    double before;

    setup(&w, "1s");
    start_collector(&w);
    cr_assert(eq(int, test_wait_until(metrics_refreshed, &w, 60000), 0),
              "no nines_kpi_refreshed_timestamp_seconds in /metrics:\n%.3000s", body);
    before = strtod(strstr(body, REFRESHED) + strlen(REFRESHED), NULL);
    cr_expect(ge(dbl, before, (double)(w.now_ms / 1000 - 3600)), "refreshed at %f", before);
    rows = cli_rows(&w, "current", NULL);
    cr_assert(gt(sz, json_array_size(rows), 0));
    json_array_foreach(rows, i, row) {
        for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
            const json_t *f = json_object_get(row, g[k].field);
            double want = json_is_boolean(f) ? json_is_true(f) : json_number_value(f);
            double got = series(body, g[k].name, row, g[k].state[0] ? g[k].state : NULL);

            if (f == NULL || want < 0) {
                cr_expect(isnan(got), "%s of row %zu has no sample yet is shown: %f",
                          g[k].name, i, got);
                continue;
            }
            shown++;
            cr_expect(not(isnan(got)), "%s %s of row %zu is missing", g[k].name, g[k].state, i);
            if (g[k].exact)     /* /metrics prints 12 significant digits */
                cr_expect(le(dbl, fabs(got - want / g[k].div), 1e-9 * fmax(1, want / g[k].div)),
                          "%s %s of row %zu: %.12g vs %.12g", g[k].name, g[k].state, i, got,
                          want / g[k].div);
            else      /* the month runs on between the two computations */
                cr_expect(lt(dbl, fabs(got - want / g[k].div), 1e-4), "%s of row %zu: %f vs %f",
                          g[k].name, i, got, want / g[k].div);
        }
    }
    cr_expect(gt(sz, shown, 5), "hardly any figure was compared");
    /* refreshed again within a few seconds (kpi_refresh: 1s) */
    w.refreshed_s = before;
    cr_expect(eq(int, test_wait_until(metrics_refreshed_again, &w, 30000), 0),
              "the KPIs were not refreshed again");
    json_decref(rows);
    teardown(&w);
}
