/* The KPI formulas against figures computed by hand. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

#include "kpi.h"

#define MIN_MS INT64_C(60000)

Test(kpi, incidents_give_mttd_mtta_mttr_and_ack_within_target)
{
    /* start, end, detected, notified, ack */
    const struct kpi_incident in[] = {
        { 1000000, 1000000 + 30 * MIN_MS, 1000000 + 2 * MIN_MS, 1000000 + 2 * MIN_MS,
          1000000 + 12 * MIN_MS },                                  /* ack after 10 min */
        { 9000000, 9000000 + 10 * MIN_MS, 9000000 + 4 * MIN_MS, 9000000 + 4 * MIN_MS,
          9000000 + 24 * MIN_MS },                                  /* after 20 min */
        { 20000000, 0, -1, -1, 0 },                                 /* open, unknown */
    };
    struct kpi_row r;

    kpi_row_init(&r, 0);
    cr_assert(eq(i64, r.ack_target_ms, 15 * MIN_MS));
    kpi_incidents(&r, in, 3);
    cr_expect(eq(sz, r.incidents, 3));
    cr_expect(eq(i64, r.mttd_ms, 3 * MIN_MS));          /* (2 + 4) / 2 */
    cr_expect(eq(i64, r.mtta_ms, 15 * MIN_MS));         /* (10 + 20) / 2 */
    cr_expect(eq(i64, r.mttr_ms, 20 * MIN_MS));         /* (30 + 10) / 2: the open one is out */
    cr_expect(eq(dbl, r.ack_within_pct, 50.0));
}

Test(kpi, no_incident_means_no_sample)
{
    struct kpi_row r;

    kpi_row_init(&r, 5 * MIN_MS);
    kpi_incidents(&r, NULL, 0);
    cr_expect(eq(i64, r.mttd_ms, -1));
    cr_expect(eq(i64, r.mtta_ms, -1));
    cr_expect(eq(i64, r.mttr_ms, -1));
    cr_expect(eq(dbl, r.ack_within_pct, -1.0));
}

Test(kpi, delivery_p95_is_nearest_rank)
{
    struct kpi_notification nt[22];
    struct kpi_row r;

    /* 20 delivered with latencies 100, 200 .. 2000 (shuffled order), 1 failed, 1 pending */
    for (int i = 0; i < 20; i++)
        nt[i] = (struct kpi_notification){ 1000, 1000 + ((i * 7) % 20 + 1) * 100, KPI_DELIVERED };
    nt[20] = (struct kpi_notification){ 1000, 0, KPI_FAILED };
    nt[21] = (struct kpi_notification){ 1000, 0, KPI_PENDING };
    kpi_row_init(&r, 0);
    cr_assert(eq(int, kpi_notifications(&r, nt, 22), 0));
    cr_expect(eq(sz, r.notif_sent, 22));
    cr_expect(eq(sz, r.notif_delivered, 20));
    cr_expect(eq(sz, r.notif_failed, 1));
    cr_expect(eq(i64, r.delivery_p95_ms, 1900));        /* rank ceil(0.95 × 20) = 19 */
}

Test(kpi, drills_held_passed_overdue)
{
    const int64_t from = 100 * MIN_MS, to = 1000 * MIN_MS, every = 300 * MIN_MS;
    const struct kpi_drill d[] = {
        { 50 * MIN_MS, 1, 1000, 0 },           /* before the month: not held in it */
        { 200 * MIN_MS, 1, 120000, 5000 },     /* passed, but older than every at the end */
        { 800 * MIN_MS, 0, 900000, 60000 },    /* failed */
    };
    struct kpi_row r;

    kpi_row_init(&r, 0);
    kpi_drills(&r, d, 3, from, to, every);
    cr_expect(eq(sz, r.drills_held, 2));
    cr_expect(eq(sz, r.drills_passed, 1));
    cr_expect(eq(int, r.drill_overdue, 1));
    cr_expect(eq(i64, r.rto_ms, 900000));
    cr_expect(eq(i64, r.rpo_ms, 60000));
    kpi_drills(&r, d, 2, from, to, 900 * MIN_MS);   /* the pass at 200 min is recent enough */
    cr_expect(eq(int, r.drill_overdue, 0));
    kpi_drills(&r, d, 3, from, to, 0);
    cr_expect(eq(int, r.drill_overdue, 0));         /* no drill_every: never overdue */
}

Test(kpi, csv_has_a_header_and_one_line_per_row)
{
    struct kpi_row rows[2];
    char *csv = NULL;
    size_t len = 0;

    memset(rows, 0, sizeof(rows));
    for (int i = 0; i < 2; i++) {
        kpi_row_init(&rows[i], 0);
        strcpy(rows[i].customer, "acme");
        strcpy(rows[i].month, "2026-10");
        rows[i].availability_pct = 99.5;
    }
    strcpy(rows[0].service, "shop");
    strcpy(rows[1].service, "api");
    rows[1].mttr_ms = 1234;
    cr_assert(eq(int, kpi_csv(rows, 2, &csv, &len), 0));
    cr_expect(eq(sz, len, strlen(csv)));
    cr_expect(eq(int, strncmp(csv, "customer,service,month,", 23), 0));
    cr_expect(ne(ptr, strstr(csv, "\r\nacme,shop,2026-10,99.500000,"), NULL));
    cr_expect(ne(ptr, strstr(csv, "\r\nacme,api,2026-10,99.500000,0.000000,0,0,-1,-1,1234,"),
                 NULL), "%s", csv);
    free(csv);
}

Test(kpi, coverage_keeps_each_check_and_the_lowest)
{
    const struct kpi_coverage c[] = { { "api", 100.0 }, { "www", 98.5 }, { "new", -1 } };
    struct kpi_row r;
    json_t *j;

    kpi_row_init(&r, 0);
    cr_expect(eq(dbl, r.coverage_min_pct, -1.0));
    cr_assert(eq(int, kpi_coverage(&r, c, 3), 0));
    cr_expect(eq(sz, r.coverage_count, 3));
    cr_expect(eq(dbl, r.coverage_min_pct, 98.5));       /* -1 (no window) is no sample */
    j = kpi_row_json(&r);
    cr_assert(ne(ptr, j, NULL));
    cr_expect(eq(sz, json_array_size(json_object_get(j, "coverage")), 3));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(
                          json_array_get(json_object_get(j, "coverage"), 1), "check")), "www"));
    json_decref(j);
    kpi_row_clear(&r);
    cr_expect(eq(ptr, r.coverage, NULL));
}

Test(kpi, forecast_lead_times_min_and_median)
{
    /* leads 19 h, 5 h, 0 (already at the limit), 2 h: sorted 0, 2, 5, 19 */
    const struct kpi_forecast f[] = {
        { 1000, 1000 + 19 * 60 * MIN_MS },
        { 5000, 5000 + 5 * 60 * MIN_MS },
        { 9000, 9000 },
        { 7000, 7000 + 2 * 60 * MIN_MS },
    };
    struct kpi_row r;

    kpi_row_init(&r, 0);
    cr_expect(eq(i64, r.forecast_lead_min_ms, -1));
    cr_assert(eq(int, kpi_forecasts(&r, f, 4), 0));
    cr_expect(eq(sz, r.forecasts_raised, 4));
    cr_expect(eq(i64, r.forecast_lead_min_ms, 0));
    cr_expect(eq(i64, r.forecast_lead_median_ms, (2 + 5) * 60 * MIN_MS / 2));  /* 3.5 h */
    cr_assert(eq(int, kpi_forecasts(&r, f, 3), 0));
    cr_expect(eq(i64, r.forecast_lead_median_ms, 5 * 60 * MIN_MS));           /* odd: middle */
    cr_assert(eq(int, kpi_forecasts(&r, NULL, 0), 0));
    cr_expect(eq(i64, r.forecast_lead_median_ms, -1));
}

Test(kpi, team_totals_weight_by_eligible_time)
{
    struct kpi_row a, b, t;
    const struct kpi_row *svc[2] = { &a, &b };

    kpi_row_init(&a, 0);
    kpi_row_init(&b, 0);
    /* a: 60 min down of 1000 h, 99.9, met; b: 6 min of 100 h, 99.95, not met */
    a.downtime_ms = 60 * MIN_MS, a.eligible_ms = 1000 * 60 * MIN_MS;
    a.target_pct = 99.9, a.met = 1, a.drills_held = 2, a.drills_passed = 1, a.rto_ms = 5000;
    b.downtime_ms = 6 * MIN_MS, b.eligible_ms = 100 * 60 * MIN_MS;
    b.target_pct = 99.95, b.met = 0, b.drills_held = 1, b.drill_overdue = 1, b.rpo_ms = 700;
    kpi_row_init(&t, 0);
    kpi_team_totals(&t, svc, 2);
    /* 100 × (1 − 66 / 66000) = 99.9 exactly; the unweighted mean would be 99.95 */
    cr_expect(ieee_ulp_eq(dbl, t.availability_pct, 100.0 * (1.0 - 66.0 / 66000.0), 4));
    cr_expect(eq(i64, t.downtime_ms, 66 * MIN_MS));
    cr_expect(eq(dbl, t.target_pct, 99.95));
    cr_expect(eq(int, t.met, 0));
    cr_expect(eq(sz, t.drills_held, 3));
    cr_expect(eq(sz, t.drills_passed, 1));
    cr_expect(eq(int, t.drill_overdue, 1));
    cr_expect(eq(i64, t.rto_ms, 5000));
    cr_expect(eq(i64, t.rpo_ms, 700));
    kpi_team_totals(&t, svc, 0);
    cr_expect(eq(dbl, t.availability_pct, -1.0));       /* no eligible time */
}

Test(kpi, table_json_has_the_contract_shape)
{
    struct kpi_table t = { 0 };
    struct kpi_row r;
    json_t *j, *row;

    kpi_row_init(&r, 0);
    strcpy(r.service, "shop");
    strcpy(r.team, "a,b");
    cr_assert(eq(int, kpi_table_add_take(&t, &r), 0));
    kpi_row_init(&r, 0);
    strcpy(r.scope, KPI_SCOPE_TEAM);
    strcpy(r.team, "a");
    cr_assert(eq(int, kpi_table_add_take(&t, &r), 0));
    j = kpi_table_json(&t, "2026-10", 42);
    cr_assert(ne(ptr, j, NULL));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(j, "month")), "2026-10"));
    cr_expect(eq(i64, json_integer_value(json_object_get(j, "generated_ms")), 42));
    row = json_array_get(json_object_get(j, "rows"), 1);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(row, "scope")), "team"));
    cr_expect(eq(i64, json_integer_value(json_object_get(row, "forecast_lead_min_ms")), -1));
    cr_expect(eq(dbl, json_real_value(json_object_get(row, "coverage_min_pct")), -1.0));
    json_decref(j);
    {
        char *csv = NULL;
        size_t len = 0;

        cr_assert(eq(int, kpi_csv(t.rows, t.n, &csv, &len), 0));
        cr_expect(ne(ptr, strstr(csv, ",service,\"a,b\","), NULL), "%s", csv);
        free(csv);
    }
    kpi_table_free(&t);
}
