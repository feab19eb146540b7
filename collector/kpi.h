/*
 * Operational KPIs of one service over one month, computed from stored data
 * only (README "Audit evidence" gives the same formulas):
 *
 *   MTTD  mean(detected − start) over incidents with a known detection
 *   MTTA  mean(ack − first notification) over acknowledged, notified incidents
 *   MTTR  mean(end − start) over incidents that ended
 *   ack within target  acknowledged within target of the first notification,
 *         as a % of the notified incidents
 *   delivery p95  nearest-rank 95th percentile of (delivered − created) of
 *         the delivered notifications
 *   drills  held / passed = drills with T0 in [from, to); overdue = 1 when the
 *         service has drill_every and no drill passed in (to − every, to]
 *   coverage  per check: 100 × (1 − no-data time / window) over the month's
 *         window so far; coverage_min_pct the lowest of the row's checks
 *   forecasts  capacity_forecast alerts raised in the month; lead time =
 *         predicted exhaustion − raise time (0 when already at the limit);
 *         min and median (lower middle of an even count's two, mean of both)
 *   team rows  the checks whose team is T: availability = 100 × (1 −
 *         Σ downtime / Σ eligible) over the services owning them (eligible-
 *         time weighted), target the strictest, met = all met, drills summed
 *
 * Means are integer ms, rounded down. A figure without a sample is -1.
 * Pure: no I/O; allocation only in kpi_csv, kpi_row_json, kpi_coverage and
 * the table.
 */
#ifndef NINES_KPI_H
#define NINES_KPI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define KPI_ACK_TARGET_MS_DEFAULT (INT64_C(15) * 60 * 1000)

struct kpi_incident {
    int64_t start_ms;
    int64_t end_ms;      /* 0 = still open */
    int64_t detected_ms; /* -1 = unknown */
    int64_t notified_ms; /* first notification; -1 = none */
    int64_t ack_ms;      /* 0 = not acknowledged */
};

enum kpi_delivery { KPI_PENDING, KPI_DELIVERED, KPI_FAILED };

struct kpi_notification {
    int64_t created_ms;
    int64_t delivered_ms; /* KPI_DELIVERED only */
    enum kpi_delivery state;
};

struct kpi_drill {
    int64_t t0_ms;
    int passed;
    int64_t rto_ms; /* -1 = not measured */
    int64_t rpo_ms;
};

struct kpi_coverage {
    char check[64];
    double coverage_pct; /* -1 = no window */
};

struct kpi_forecast {
    int64_t raised_ms;
    int64_t exhaust_ms; /* predicted; <= raised_ms = already at the limit */
};

#define KPI_SCOPE_SERVICE "service"
#define KPI_SCOPE_TEAM "team"

/* A row owns its coverage array: kpi_row_clear releases it. */
struct kpi_row {
    char scope[8]; /* KPI_SCOPE_SERVICE | KPI_SCOPE_TEAM */
    char team[256]; /* service rows: its checks' teams, comma-joined; "" = none */
    char customer[64];
    char service[64];
    char month[8]; /* YYYY-MM */
    double availability_pct; /* -1 = no eligible time */
    double target_pct;
    int met;
    size_t incidents;
    int64_t mttd_ms, mtta_ms, mttr_ms;
    size_t notif_sent, notif_delivered, notif_failed;
    int64_t delivery_p95_ms;
    double ack_within_pct;
    int64_t ack_target_ms;
    size_t drills_held, drills_passed;
    int drill_overdue;
    int64_t rto_ms, rpo_ms; /* worst measured in the month, -1 = none */
    int64_t downtime_ms, eligible_ms; /* the availability's terms */
    double coverage_min_pct; /* -1 = no check */
    struct kpi_coverage *coverage;
    size_t coverage_count;
    size_t forecasts_raised;
    int64_t forecast_lead_min_ms, forecast_lead_median_ms; /* -1 = none */
};

struct kpi_table {
    struct kpi_row *rows;
    size_t n, cap;
};

/* Zeroes row, scope "service", every figure "no sample". */
void kpi_row_init(struct kpi_row *row, int64_t ack_target_ms);
/* Frees the coverage array. */
void kpi_row_clear(struct kpi_row *row);
/* Incidents count, MTTD, MTTA, MTTR and ack within target. */
void kpi_incidents(struct kpi_row *row, const struct kpi_incident *in, size_t n);
/* Sent/delivered/failed and delivery p95 (sorts a copy: returns -1 on no memory). */
int kpi_notifications(struct kpi_row *row, const struct kpi_notification *nt, size_t n);
/* Drills of the service (any time): those in [from_ms, to_ms) count. */
void kpi_drills(struct kpi_row *row, const struct kpi_drill *d, size_t n, int64_t from_ms,
                int64_t to_ms, int64_t drill_every_ms);
/* Copies the coverage of the row's checks and sets coverage_min_pct. 0 or -1 (no memory). */
int kpi_coverage(struct kpi_row *row, const struct kpi_coverage *c, size_t n);
/* Forecasts raised (already filtered to the row's checks and month): count and lead times.
   0 or -1 (no memory). */
int kpi_forecasts(struct kpi_row *row, const struct kpi_forecast *f, size_t n);
/* A team row's availability, target, met and drills from its services' rows. */
void kpi_team_totals(struct kpi_row *team, const struct kpi_row *const *svc, size_t n);
/* One row as a JSON object (new reference), NULL on no memory. */
json_t *kpi_row_json(const struct kpi_row *row);
/* RFC 4180 CSV with a header line; *out malloc'd. 0 or -1 (no memory). */
int kpi_csv(const struct kpi_row *rows, size_t n, char **out, size_t *len);

/* Appends *row to t, which takes its coverage (row is then zeroed). 0 or -1. */
int kpi_table_add_take(struct kpi_table *t, struct kpi_row *row);
void kpi_table_free(struct kpi_table *t);
/* {"month":M,"generated_ms":N,"rows":[...]} (new reference), NULL on no memory. */
json_t *kpi_table_json(const struct kpi_table *t, const char *month, int64_t generated_ms);

#endif
