/*
 * report_compute against a real redis-server: October 2026 for a customer in
 * Europe/Berlin (the month is 31 days + 1 h: CEST until Oct 25 01:00 UTC,
 * then CET). Local month = [2026-09-30 22:00Z, 2026-10-31 23:00Z),
 * window = 31 × 86 400 000 + 3 600 000 = 2 682 000 000 ms.
 *
 * Stored data (all UTC):
 *   check api (service shop), first result 2026-06-01:
 *     A down 09-30 21:30 – 22:30   crosses the local month start: 30 min in
 *     B down 10-10 02:30 – 03:00   inside maintenance window mw 02:00-04:00
 *     C down 10-25 00:30 – 01:30   the 25-hour DST day: 1 h
 *     E down 10-20 14:30 – 15:30   Tue 16:30-17:30 CEST: 30 min in business hours
 *     F down 10-27 07:30 – 08:30   Tue 08:30-09:30 CET: 30 min in business hours
 *     D down 10-31 22:50 – 11-01 00:10   crosses the month end: 10 min in
 *     gap   10-15 10:00 – 12:00   Thu 12:00-14:00 CEST: no data, 2 h
 *     old   08-10 10:00 – 10:30   August: history only, not an incident
 *   check web (service portal), first result 2026-10-05 00:00: no data before.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "histo.h"
#include "nines/config.h"
#include "redis_fixture.h"
#include "state.h"
#include "store.h"
#include "testutil.h"
#include "tz.h"

#define H INT64_C(3600000)
#define MIN INT64_C(60000)

static struct redis_fixture rf;
static redisContext *rc;
static struct nines_config *cfg;
static char dir[256];

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return (nines_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

static void cmd(const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    cr_assert(r != NULL && r->type != REDIS_REPLY_ERROR, "redis: %s", fmt);
    freeReplyObject(r);
}

static void down(const char *check, int64_t a, int64_t b, const char *reason)
{
    char id[128];

    cmd("ZADD nines:down:%s %" PRId64 " %" PRId64 "-%" PRId64, check, a, a, b);
    store_incident_id(check, a, id, sizeof(id));
    cmd("HSET nines:incident:%s id %s check %s start_ms %" PRId64 " end_ms %" PRId64
        " reason %s message %s",
        id, id, check, a, b, reason, "Service Unavailable");
}

static void state(const char *check, int64_t first_ms)
{
    struct check_state *s = calloc(1, sizeof(*s));
    char *doc;

    state_init(s, check);
    s->state = CHECK_UP;
    s->first_ms = first_ms;
    s->last_ms = utc(2026, 11, 4, 0, 0);
    doc = state_encode(s);
    cr_assert(ne(ptr, doc, NULL));
    cmd("HSET nines:state:%s doc %s", check, doc);
    free(doc);
    free(s);
}

static void histo(const char *check, int64_t day_ms, uint64_t us, int count)
{
    struct nines_histo h;
    char key[256], field[NINES_HISTO_FIELD_MAX], value[NINES_HISTO_FIELD_MAX];
    size_t cur = 0;

    nines_histo_init(&h);
    for (int i = 0; i < count; i++)
        nines_histo_add(&h, us);
    store_latency_key(check, day_ms, key, sizeof(key));
    /* HINCRBY, as the collector keeps them: min/max/sum are then absent */
    while (nines_histo_hash_next(&h, &cur, field, value))
        if (strcmp(field, "min") && strcmp(field, "max") && strcmp(field, "sum"))
            cmd("HINCRBY %s %s %s", key, field, value);
}

static const char yaml[] =
    "checks:\n"
    "  - {id: api, kind: http, url: 'http://a.test/'}\n"
    "  - {id: web, kind: http, url: 'http://b.test/'}\n"
    "services:\n"
    "  - {id: shop, name: Shop, checks: [api]}\n"
    "  - {id: portal, checks: [web]}\n"
    "customers:\n"
    "  - id: acme\n"
    "    name: ACME Corp.\n"
    "    timezone: Europe/Berlin\n"
    "    services: [shop, portal]\n"
    "    slas:\n"
    "      - name: standard\n"
    "        target: 99.9\n"
    "        credits:\n"
    "          - {below: 99.9, credit: 10}\n"
    "          - {below: 99.0, credit: 25}\n"
    "      - name: business\n"
    "        target: 99.5\n"
    "        services: [shop]\n"
    "        business_hours: {days: mon-fri, from: '09:00', to: '17:00'}\n"
    "        nodata_counts_down: true\n"
    "        credits:\n"
    "          - {below: 99.5, credit: 10}\n"
    "          - {below: 99.0, credit: 25}\n"
    "          - {below: 98.0, credit: 50}\n";

static void setup(void)
{
    struct nines_errlist errs = { 0 };
    char path[320], json[256];

    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    rc = redis_fixture_connect(&rf);
    cr_assert(ne(ptr, rc, NULL));
    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/nines.yaml", dir);
    cr_assert(eq(int, test_write_file(path, yaml), 0));
    cr_assert(eq(int, nines_config_load(path, &cfg, &errs), 0), "config: %s",
              errs.count ? errs.item[0].msg : "");

    state("api", utc(2026, 6, 1, 0, 0));
    state("web", utc(2026, 10, 5, 0, 0));
    down("api", utc(2026, 9, 30, 21, 30), utc(2026, 9, 30, 22, 30), "http_status");
    down("api", utc(2026, 10, 10, 2, 30), utc(2026, 10, 10, 3, 0), "timeout");
    down("api", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30), "connect");
    down("api", utc(2026, 10, 20, 14, 30), utc(2026, 10, 20, 15, 30), "http_status");
    down("api", utc(2026, 10, 27, 7, 30), utc(2026, 10, 27, 8, 30), "http_status");
    down("api", utc(2026, 10, 31, 22, 50), utc(2026, 11, 1, 0, 10), "tls");
    down("api", utc(2026, 8, 10, 10, 0), utc(2026, 8, 10, 10, 30), "http_status");
    cmd("HSET nines:incident:api@%" PRId64 " ack_by alice ack_ms %" PRId64,
        utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 40));
    cmd("ZADD nines:gaps:api %" PRId64 " %" PRId64 "-%" PRId64, utc(2026, 10, 15, 10, 0),
        utc(2026, 10, 15, 10, 0), utc(2026, 10, 15, 12, 0));
    snprintf(json, sizeof(json),
             "{\"id\":\"mw\",\"reason\":\"db upgrade\",\"services\":[\"shop\"],"
             "\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64 "}",
             utc(2026, 10, 10, 2, 0), utc(2026, 10, 10, 4, 0));
    cmd("HSET nines:maintenance mw %s", json);
    /* latency: UTC 10-01 and 10-31 belong to October (their midnights are in
     * it); UTC 09-30 belongs to September and 11-01 to November */
    histo("api", utc(2026, 10, 1, 0, 0), 10000, 95);
    histo("api", utc(2026, 10, 1, 0, 0), 500000, 5);
    histo("api", utc(2026, 10, 31, 0, 0), 20000, 100);
    histo("api", utc(2026, 9, 30, 0, 0), 900000, 1000);
    histo("api", utc(2026, 11, 1, 0, 0), 900000, 1000);
}

static void teardown(void)
{
    nines_config_free(cfg);
    if (rc != NULL)
        redisFree(rc);
    redis_fixture_stop(&rf);
    test_rmtree(dir);
}

TestSuite(reportcompute, .init = setup, .fini = teardown, .timeout = 30);

static const struct report_service *svc(const struct report *r, const char *id)
{
    for (size_t i = 0; i < r->services_count; i++)
        if (strcmp(r->services[i].id, id) == 0)
            return &r->services[i];
    cr_assert(0, "no service %s", id);
    return NULL;
}

Test(reportcompute, month_around_the_clock)
{
    struct report r;
    struct nines_err err = { 0 };
    const struct report_service *s, *p;
    double slot20ms = nines_histo_bucket_value(nines_histo_bucket_index(20000)) / 1000.0;

    cr_assert(eq(int, report_compute_sla(rc, cfg, "acme", 0, 2026, 10, utc(2026, 11, 5, 0, 0),
                                         &r, &err), 0), "%s", err.msg);
    cr_expect(eq(i64, r.from_ms, utc(2026, 9, 30, 22, 0)));
    cr_expect(eq(i64, r.to_ms, utc(2026, 10, 31, 23, 0)));
    cr_expect(eq(int, r.ndays, 31));
    s = svc(&r, "shop");
    /* window 2 682 000 000; maintenance mw 2 h = 7 200 000; no data 2 h;
     * eligible = 2 682 000 000 − 14 400 000 = 2 667 600 000;
     * down = A 30 min + C 60 + E 60 + F 60 + D 10 = 220 min = 13 200 000
     * (B lies inside the maintenance window: not counted) */
    cr_expect(eq(i64, s->window_ms, 2682000000));
    cr_expect(eq(i64, s->maintenance_ms, 7200000));
    cr_expect(eq(i64, s->nodata_ms, 7200000));
    cr_expect(eq(i64, s->eligible_ms, 2667600000));
    cr_expect(eq(i64, s->downtime_ms, 13200000));
    cr_expect(eq(dbl, s->availability_pct, 100.0 * (1.0 - 13200000.0 / 2667600000.0)));
    /* allowed = 0.1 % of 2 667 600 000 = 2 667 600; 99.505 % < 99.9: 10 %, not < 99 */
    cr_expect(eq(i64, s->allowed_downtime_ms, 2667600));
    cr_expect(eq(int, s->met, 0));
    cr_expect(eq(dbl, s->credit_pct, 10.0));
    cr_expect(eq(dbl, s->budget_used_pct, 100.0 * 13200000.0 / 2667600.0));
    /* p95 over 200 values in October: 95 × 10 ms, 100 × 20 ms, 5 × 500 ms;
     * rank 190 is a 20 ms value (September/November's 900 ms left out) */
    cr_expect(eq(dbl, s->p95_ms, slot20ms));
    cr_expect(lt(dbl, fabs(s->p95_ms - 20.0), 0.2));
    cr_expect(eq(dbl, s->p50_ms, slot20ms));
    cr_expect(gt(dbl, s->p99_ms, 495.0));
    /* day 1: [09-30 22:00, 10-01 22:00): A's 30 min; day 25 is 25 h long:
     * 1 h down of 90 000 000 → 96 % exactly */
    cr_expect(eq(i64, s->daily[0].downtime_ms, 30 * MIN));
    cr_expect(eq(i64, s->daily[24].downtime_ms, H));
    cr_expect(eq(dbl, s->daily[24].availability_pct, 100.0 * (1.0 - 3600000.0 / 90000000.0)));
    cr_expect(eq(i64, s->daily[30].downtime_ms, 10 * MIN));
    /* history: July 100 %; August 30 min of 31 days (2 678 400 000);
     * September 30 min (A's first half) of 30 days (2 592 000 000) */
    cr_expect(eq(str, (char *)s->history[0].month, "2026-07"));
    cr_expect(eq(dbl, s->history[0].availability_pct, 100.0));
    cr_expect(eq(dbl, s->history[1].availability_pct, 100.0 * (1.0 - 1800000.0 / 2678400000.0)));
    cr_expect(eq(str, (char *)s->history[2].month, "2026-09"));
    cr_expect(eq(dbl, s->history[2].availability_pct, 100.0 * (1.0 - 1800000.0 / 2592000000.0)));

    /* portal: no data until 10-05 00:00Z = 4 days + 2 h = 352 800 000 */
    p = svc(&r, "portal");
    cr_expect(eq(i64, p->nodata_ms, 352800000));
    cr_expect(eq(i64, p->eligible_ms, 2682000000 - 352800000));
    cr_expect(eq(i64, p->downtime_ms, 0));
    cr_expect(eq(dbl, p->credit_pct, 0.0));
    cr_expect(eq(dbl, p->p95_ms, -1.0));
    cr_expect(eq(int, p->met, 1));

    /* overall: down whenever shop is (outside its maintenance) = 13 200 000;
     * no data only while both have none (never); maintenance only while both
     * are in it (never); credit from the worst availability: shop's */
    cr_expect(eq(i64, r.overall.eligible_ms, 2682000000));
    cr_expect(eq(i64, r.overall.downtime_ms, 13200000));
    cr_expect(eq(dbl, r.overall.credit_pct, 10.0));

    /* incidents A, B, E, C, F, D by start; August's is not in the month */
    cr_assert(eq(sz, r.incidents_count, 6));
    cr_expect(eq(i64, r.incidents[0].start_ms, utc(2026, 9, 30, 21, 30)));
    cr_expect(eq(str, (char *)r.incidents[0].cause, "http_status: Service Unavailable"));
    cr_expect(eq(str, (char *)r.incidents[0].services, "shop"));
    cr_expect(eq(str, (char *)r.incidents[3].acked_by, "alice"));
    cr_expect(eq(i64, r.incidents[3].acked_ms, utc(2026, 10, 25, 0, 40)));
    cr_expect(eq(i64, r.incidents[5].end_ms, utc(2026, 11, 1, 0, 10)));
    cr_assert(eq(sz, r.maintenance_count, 1));
    cr_expect(eq(str, (char *)r.maintenance[0].id, "mw"));
    cr_expect(eq(str, (char *)r.maintenance[0].services, "shop"));
    cr_expect(eq(sz, strlen(r.data_sha256), 64));
    report_compute_free(&r);
}

Test(reportcompute, business_hours_and_nodata_as_down)
{
    struct report r;
    struct nines_err err = { 0 };
    const struct report_service *s;

    cr_assert(eq(int, report_compute_sla(rc, cfg, "acme", 1, 2026, 10, utc(2026, 11, 5, 0, 0),
                                         &r, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, r.services_count, 1));
    s = &r.services[0];
    /* Mon-Fri 09:00-17:00 local: October 2026 has 22 weekdays (Thu 1, Fri 2,
     * then four full weeks) × 8 h = 633 600 000. A, B (Sat), C (Sun) and
     * D (Sat) fall outside; E gives 16:30-17:00 CEST and F 09:00-09:30 CET
     * (after the DST change: 08:00Z is 09:00): 2 × 30 min = 3 600 000.
     * The gap (Thu 12:00-14:00 CEST) counts as down: + 7 200 000. */
    cr_expect(eq(i64, s->window_ms, 633600000));
    cr_expect(eq(i64, s->nodata_ms, 7200000));
    cr_expect(eq(i64, s->eligible_ms, 633600000));
    cr_expect(eq(i64, s->downtime_ms, 10800000));
    cr_expect(eq(dbl, s->availability_pct, 100.0 * (1.0 - 10800000.0 / 633600000.0)));
    /* allowed = 0.5 % of 633 600 000 = 3 168 000; 98.295 % is below 99.5 and
     * 99 but not 98: the largest applicable credit is 25 % */
    cr_expect(eq(i64, s->allowed_downtime_ms, 3168000));
    cr_expect(eq(dbl, s->credit_pct, 25.0));
    cr_expect(eq(dbl, r.overall.credit_pct, 25.0));
    /* Oct 20 (day 20): 30 min of its 8 business hours */
    cr_expect(eq(i64, s->daily[19].downtime_ms, 30 * MIN));
    cr_expect(eq(dbl, s->daily[19].availability_pct, 100.0 * (1.0 - 1800000.0 / 28800000.0)));
    cr_expect(eq(dbl, s->daily[3].availability_pct, -1.0), "Sunday Oct 4: no business time");
    report_compute_free(&r);
}

Test(reportcompute, same_data_same_hash)
{
    struct report a, b;
    struct nines_err err = { 0 };

    cr_assert(eq(int, report_compute_sla(rc, cfg, "acme", 0, 2026, 10, utc(2026, 11, 5, 0, 0),
                                         &a, &err), 0), "%s", err.msg);
    cr_assert(eq(int, report_compute_sla(rc, cfg, "acme", 0, 2026, 10, utc(2026, 12, 9, 0, 0),
                                         &b, &err), 0), "%s", err.msg);
    cr_expect(eq(str, a.data_sha256, b.data_sha256));
    report_compute_free(&b);
    cmd("ZADD nines:down:web %" PRId64 " %" PRId64 "-%" PRId64, utc(2026, 10, 7, 0, 0),
        utc(2026, 10, 7, 0, 0), utc(2026, 10, 7, 0, 0) + 1);
    cr_assert(eq(int, report_compute_sla(rc, cfg, "acme", 0, 2026, 10, utc(2026, 11, 5, 0, 0),
                                         &b, &err), 0), "%s", err.msg);
    cr_expect(ne(str, a.data_sha256, b.data_sha256), "1 ms more downtime changes the hash");
    report_compute_free(&a);
    report_compute_free(&b);
}

Test(reportcompute, bad_requests)
{
    struct report r;
    struct nines_err err = { 0 };

    cr_expect(eq(int, report_compute_sla(rc, cfg, "nobody", 0, 2026, 10, utc(2026, 11, 5, 0, 0),
                                         &r, &err), NINES_ENOTFOUND));
    cr_expect(eq(str, err.msg, "unknown customer 'nobody'"));
    cr_expect(eq(int, report_compute_sla(rc, cfg, "acme", 0, 2026, 11, utc(2026, 10, 31, 22, 0),
                                         &r, &err), NINES_EINVAL));
    cr_expect(eq(str, err.msg, "month 2026-11 has not begun yet in Europe/Berlin"));
    cr_expect(eq(int, report_compute_sla(rc, cfg, "acme", 0, 2026, 13, utc(2026, 11, 5, 0, 0),
                                         &r, &err), NINES_EINVAL));
    cr_expect(eq(int, report_compute_sla(rc, cfg, "acme", 2, 2026, 10, utc(2026, 11, 5, 0, 0),
                                         &r, &err), NINES_EINVAL));
    cmd("ZADD nines:down:api 1 garbage");
    cr_expect(eq(int, report_compute_sla(rc, cfg, "acme", 0, 2026, 10, utc(2026, 11, 5, 0, 0),
                                         &r, &err), NINES_EPROTO));
    cr_expect(eq(str, err.msg, "nines:down:api: member 0 is not \"start-end\""));
}
