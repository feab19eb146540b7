/* Operational KPIs of one service and month (kpi.h has the formulas). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi.h"

void kpi_row_init(struct kpi_row *row, int64_t ack_target_ms)
{
    memset(row, 0, sizeof(*row));
    snprintf(row->scope, sizeof(row->scope), "%s", KPI_SCOPE_SERVICE);
    row->availability_pct = -1;
    row->coverage_min_pct = -1;
    row->forecast_lead_min_ms = row->forecast_lead_median_ms = -1;
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

void kpi_row_clear(struct kpi_row *row)
{
    if (row == NULL)
        return;
    free(row->coverage);
    row->coverage = NULL;
    row->coverage_count = 0;
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

static json_t *kpi_coverage_json(const struct kpi_row *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < r->coverage_count; i++)
        if (json_array_append_new(a, json_pack("{s:s,s:f}", "check", r->coverage[i].check,
                                               "coverage_pct",
                                               r->coverage[i].coverage_pct)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *kpi_row_json(const struct kpi_row *r)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:f,s:f,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:I,s:I,s:I,s:b,s:I,s:I}",
        "customer", r->customer, "service", r->service, "month", r->month, "availability_pct",
        r->availability_pct, "target_pct", r->target_pct, "met", r->met, "incidents",
        (json_int_t)r->incidents, "mttd_ms", (json_int_t)r->mttd_ms, "mtta_ms",
        (json_int_t)r->mtta_ms, "mttr_ms", (json_int_t)r->mttr_ms, "notifications_sent",
        (json_int_t)r->notif_sent, "notifications_delivered", (json_int_t)r->notif_delivered,
        "notifications_failed", (json_int_t)r->notif_failed, "delivery_p95_ms",
        (json_int_t)r->delivery_p95_ms, "ack_within_target_pct", r->ack_within_pct,
        "ack_target_ms", (json_int_t)r->ack_target_ms, "drills_held",
        (json_int_t)r->drills_held, "drills_passed", (json_int_t)r->drills_passed,
        "drill_overdue", r->drill_overdue, "rto_ms", (json_int_t)r->rto_ms, "rpo_ms",
        (json_int_t)r->rpo_ms);
    json_t *more = json_pack("{s:s,s:s,s:f,s:o*,s:I,s:I,s:I,s:I,s:I}", "scope", r->scope, "team",
                             r->team, "coverage_min_pct", r->coverage_min_pct, "coverage",
                             kpi_coverage_json(r), "forecasts_raised",
                             (json_int_t)r->forecasts_raised, "forecast_lead_min_ms",
                             (json_int_t)r->forecast_lead_min_ms, "forecast_lead_median_ms",
                             (json_int_t)r->forecast_lead_median_ms, "downtime_ms",
                             (json_int_t)r->downtime_ms, "eligible_ms",
                             (json_int_t)r->eligible_ms);

    if (o == NULL || more == NULL || json_object_get(more, "coverage") == NULL ||
        json_object_update(o, more) != 0) {
        json_decref(o);
        json_decref(more);
        return NULL;
    }
    json_decref(more);
    return o;
}

int kpi_coverage(struct kpi_row *row, const struct kpi_coverage *c, size_t n)
{
    struct kpi_coverage *copy = n > 0 ? malloc(n * sizeof(*copy)) : NULL;

    if (n > 0 && copy == NULL)
        return -1;
    free(row->coverage);
    row->coverage = copy;
    row->coverage_count = n;
    row->coverage_min_pct = -1;
    for (size_t i = 0; i < n; i++) {
        copy[i] = c[i];
        if (c[i].coverage_pct >= 0 &&
            (row->coverage_min_pct < 0 || c[i].coverage_pct < row->coverage_min_pct))
            row->coverage_min_pct = c[i].coverage_pct;
    }
    return 0;
}

int kpi_forecasts(struct kpi_row *row, const struct kpi_forecast *f, size_t n)
{
    int64_t *lead = n > 0 ? malloc(n * sizeof(*lead)) : NULL;

    if (n > 0 && lead == NULL)
        return -1;
    row->forecasts_raised = n;
    row->forecast_lead_min_ms = row->forecast_lead_median_ms = -1;
    for (size_t i = 0; i < n; i++)
        lead[i] = f[i].exhaust_ms > f[i].raised_ms ? f[i].exhaust_ms - f[i].raised_ms : 0;
    if (n > 0) {
        qsort(lead, n, sizeof(*lead), kpi_cmp_i64);
        row->forecast_lead_min_ms = lead[0];
        row->forecast_lead_median_ms = n % 2 ? lead[n / 2]
                                             : lead[n / 2 - 1] + (lead[n / 2] - lead[n / 2 - 1]) / 2;
    }
    free(lead);
    return 0;
}

void kpi_team_totals(struct kpi_row *team, const struct kpi_row *const *svc, size_t n)
{
    int64_t down = 0, eligible = 0;

    team->target_pct = 0;
    team->met = 1;
    team->drills_held = team->drills_passed = 0;
    team->drill_overdue = 0;
    team->rto_ms = team->rpo_ms = -1;
    for (size_t i = 0; i < n; i++) {
        const struct kpi_row *s = svc[i];

        down += s->downtime_ms;
        eligible += s->eligible_ms;
        if (s->target_pct > team->target_pct)
            team->target_pct = s->target_pct;
        team->met = team->met && s->met;
        team->drills_held += s->drills_held;
        team->drills_passed += s->drills_passed;
        team->drill_overdue = team->drill_overdue || s->drill_overdue;
        if (s->rto_ms > team->rto_ms)
            team->rto_ms = s->rto_ms;
        if (s->rpo_ms > team->rpo_ms)
            team->rpo_ms = s->rpo_ms;
    }
    team->downtime_ms = down;
    team->eligible_ms = eligible;
    team->availability_pct = eligible > 0 ? 100.0 * (1.0 - (double)down / (double)eligible) : -1;
}

/* Ids are config ids ([A-Za-z0-9_.-]), so no field needs quoting but the
 * team list (comma-joined): always quoted, quotes doubled. */
int kpi_csv(const struct kpi_row *rows, size_t n, char **out, size_t *len)
{
    static const char head[] =
        "customer,service,month,availability_pct,target_pct,met,incidents,mttd_ms,mtta_ms,"
        "mttr_ms,notifications_sent,notifications_delivered,notifications_failed,"
        "delivery_p95_ms,ack_within_target_pct,drills_held,drills_passed,drill_overdue,"
        "rto_ms,rpo_ms,scope,team,downtime_ms,eligible_ms,coverage_min_pct,forecasts_raised,"
        "forecast_lead_min_ms,forecast_lead_median_ms\r\n";
    size_t cap = sizeof(head) + 1, used;
    char *buf;

    for (size_t i = 0; i < n; i++)
        cap += 768 + 2 * strnlen(rows[i].team, sizeof(rows[i].team));
    buf = malloc(cap);

    *out = NULL;
    if (buf == NULL)
        return -1;
    used = (size_t)snprintf(buf, cap, "%s", head);
    for (size_t i = 0; i < n; i++) {
        const struct kpi_row *r = &rows[i];

        used += (size_t)snprintf(
            buf + used, cap - used,
            "%.63s,%.63s,%.7s,%.6f,%.6f,%d,%zu,%" PRId64 ",%" PRId64 ",%" PRId64
            ",%zu,%zu,%zu,%" PRId64 ",%.3f,%zu,%zu,%d,%" PRId64 ",%" PRId64 ",%.7s,\"",
            r->customer, r->service, r->month, r->availability_pct, r->target_pct, r->met,
            r->incidents, r->mttd_ms, r->mtta_ms, r->mttr_ms, r->notif_sent, r->notif_delivered,
            r->notif_failed, r->delivery_p95_ms, r->ack_within_pct, r->drills_held,
            r->drills_passed, r->drill_overdue, r->rto_ms, r->rpo_ms, r->scope);
        for (size_t k = 0; k < sizeof(r->team) && r->team[k] != '\0'; k++) {
            if (r->team[k] == '"')
                buf[used++] = '"';
            buf[used++] = r->team[k];
        }
        used += (size_t)snprintf(buf + used, cap - used,
                                 "\",%" PRId64 ",%" PRId64 ",%.6f,%zu,%" PRId64 ",%" PRId64 "\r\n",
                                 r->downtime_ms, r->eligible_ms, r->coverage_min_pct,
                                 r->forecasts_raised, r->forecast_lead_min_ms,
                                 r->forecast_lead_median_ms);
    }
    *out = buf;
    *len = used;
    return 0;
}

int kpi_table_add_take(struct kpi_table *t, struct kpi_row *row)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct kpi_row *g = realloc(t->rows, cap * sizeof(*g));

        if (g == NULL)
            return -1;
        t->rows = g;
        t->cap = cap;
    }
    t->rows[t->n++] = *row;
    memset(row, 0, sizeof(*row));
    return 0;
}

void kpi_table_free(struct kpi_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        kpi_row_clear(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

json_t *kpi_table_json(const struct kpi_table *t, const char *month, int64_t generated_ms)
{
    json_t *rows = json_array();

    for (size_t i = 0; rows != NULL && i < t->n; i++)
        if (json_array_append_new(rows, kpi_row_json(&t->rows[i])) != 0) {
            json_decref(rows);
            return NULL;
        }
    return rows == NULL ? NULL
                        : json_pack("{s:s,s:I,s:o}", "month", month, "generated_ms",
                                    (json_int_t)generated_ms, "rows", rows);
}
