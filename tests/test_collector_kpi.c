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
