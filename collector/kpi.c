/* Operational KPIs of one service and month (kpi.h has the formulas). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi.h"

void kpi_row_init(struct kpi_row *row, int64_t ack_target_ms)
{
    row->incidents = 0;
    row->mttd_ms = row->mtta_ms = row->mttr_ms = -1;
    row->notif_sent = row->notif_delivered = row->notif_failed = 0;
    row->delivery_p95_ms = -1;
    row->ack_within_pct = -1;
    row->ack_target_ms = ack_target_ms > 0 ? ack_target_ms : KPI_ACK_TARGET_MS_DEFAULT;
    row->drills_held = row->drills_passed = 0;
    row->drill_overdue = 0;
    row->rto_ms = row->rpo_ms = -1;
}

static int64_t kpi_mean(int64_t sum, size_t n)
{
    return n > 0 ? sum / (int64_t)n : -1;
}

void kpi_incidents(struct kpi_row *row, const struct kpi_incident *in, size_t n)
{
    int64_t sd = 0, sa = 0, sr = 0;
    size_t nd = 0, na = 0, nr = 0, notified = 0, within = 0;

    for (size_t i = 0; i < n; i++) {
        const struct kpi_incident *x = &in[i];

        if (x->detected_ms >= x->start_ms) {
            sd += x->detected_ms - x->start_ms;
            nd++;
        }
        if (x->end_ms > 0 && x->end_ms >= x->start_ms) {
            sr += x->end_ms - x->start_ms;
            nr++;
        }
        if (x->notified_ms < 0)
            continue;
        notified++;
        if (x->ack_ms > 0) {
            int64_t d = x->ack_ms > x->notified_ms ? x->ack_ms - x->notified_ms : 0;

            sa += d;
            na++;
            within += d <= row->ack_target_ms;
        }
    }
    row->incidents = n;
    row->mttd_ms = kpi_mean(sd, nd);
    row->mtta_ms = kpi_mean(sa, na);
    row->mttr_ms = kpi_mean(sr, nr);
    row->ack_within_pct = notified > 0 ? 100.0 * (double)within / (double)notified : -1;
}

static int kpi_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

int kpi_notifications(struct kpi_row *row, const struct kpi_notification *nt, size_t n)
{
    int64_t *lat = n > 0 ? malloc(n * sizeof(*lat)) : NULL;
    size_t nl = 0;

    if (n > 0 && lat == NULL)
        return -1;
    row->notif_sent = n;
    row->notif_delivered = row->notif_failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (nt[i].state == KPI_FAILED)
            row->notif_failed++;
        if (nt[i].state != KPI_DELIVERED)
            continue;
        row->notif_delivered++;
        lat[nl++] = nt[i].delivered_ms > nt[i].created_ms ? nt[i].delivered_ms - nt[i].created_ms
                                                           : 0;
    }
    row->delivery_p95_ms = -1;
    if (nl > 0) {
        size_t rank = (95 * nl + 99) / 100;   /* ceil(0.95 n), at least 1 */

        qsort(lat, nl, sizeof(*lat), kpi_cmp_i64);
        row->delivery_p95_ms = lat[rank - 1];
    }
    free(lat);
    return 0;
}

void kpi_drills(struct kpi_row *row, const struct kpi_drill *d, size_t n, int64_t from_ms,
                int64_t to_ms, int64_t drill_every_ms)
{
    int recent_pass = 0;

    row->drills_held = row->drills_passed = 0;
    row->rto_ms = row->rpo_ms = -1;
    for (size_t i = 0; i < n; i++) {
        if (d[i].passed && d[i].t0_ms < to_ms && d[i].t0_ms > to_ms - drill_every_ms)
            recent_pass = 1;
        if (d[i].t0_ms < from_ms || d[i].t0_ms >= to_ms)
            continue;
        row->drills_held++;
        row->drills_passed += d[i].passed != 0;
        if (d[i].rto_ms > row->rto_ms)
            row->rto_ms = d[i].rto_ms;
        if (d[i].rpo_ms > row->rpo_ms)
            row->rpo_ms = d[i].rpo_ms;
    }
    row->drill_overdue = drill_every_ms > 0 && !recent_pass;
}

json_t *kpi_row_json(const struct kpi_row *r)
{
    return json_pack("{s:s,s:s,s:s,s:f,s:f,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:I,s:I,s:I,"
                     "s:b,s:I,s:I}",
                     "customer", r->customer, "service", r->service, "month", r->month,
                     "availability_pct", r->availability_pct, "target_pct", r->target_pct,
                     "met", r->met, "incidents", (json_int_t)r->incidents, "mttd_ms",
                     (json_int_t)r->mttd_ms, "mtta_ms", (json_int_t)r->mtta_ms, "mttr_ms",
                     (json_int_t)r->mttr_ms, "notifications_sent", (json_int_t)r->notif_sent,
                     "notifications_delivered", (json_int_t)r->notif_delivered,
                     "notifications_failed", (json_int_t)r->notif_failed,
                     "delivery_p95_ms", (json_int_t)r->delivery_p95_ms, "ack_within_target_pct",
                     r->ack_within_pct, "ack_target_ms", (json_int_t)r->ack_target_ms,
                     "drills_held", (json_int_t)r->drills_held, "drills_passed",
                     (json_int_t)r->drills_passed, "drill_overdue", r->drill_overdue,
                     "rto_ms", (json_int_t)r->rto_ms, "rpo_ms", (json_int_t)r->rpo_ms);
}

/* Ids are config ids ([A-Za-z0-9_.-]), so no field needs quoting. */
int kpi_csv(const struct kpi_row *rows, size_t n, char **out, size_t *len)
{
    static const char head[] =
        "customer,service,month,availability_pct,target_pct,met,incidents,mttd_ms,mtta_ms,"
        "mttr_ms,notifications_sent,notifications_delivered,notifications_failed,"
        "delivery_p95_ms,ack_within_target_pct,drills_held,drills_passed,drill_overdue,"
        "rto_ms,rpo_ms\r\n";
    size_t cap = sizeof(head) + (n + 1) * 512, used;
    char *buf = malloc(cap);

    *out = NULL;
    if (buf == NULL)
        return -1;
    used = (size_t)snprintf(buf, cap, "%s", head);
    for (size_t i = 0; i < n; i++) {
        const struct kpi_row *r = &rows[i];

        used += (size_t)snprintf(
            buf + used, cap - used,
            "%.63s,%.63s,%.7s,%.6f,%.6f,%d,%zu,%" PRId64 ",%" PRId64 ",%" PRId64
            ",%zu,%zu,%zu,%" PRId64 ",%.3f,%zu,%zu,%d,%" PRId64 ",%" PRId64 "\r\n",
            r->customer, r->service, r->month, r->availability_pct, r->target_pct, r->met,
            r->incidents, r->mttd_ms, r->mtta_ms, r->mttr_ms, r->notif_sent, r->notif_delivered,
            r->notif_failed, r->delivery_p95_ms, r->ack_within_pct, r->drills_held,
            r->drills_passed, r->drill_overdue, r->rto_ms, r->rpo_ms);
    }
    *out = buf;
    *len = used;
    return 0;
}
