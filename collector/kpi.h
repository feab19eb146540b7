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
 *
 * Means are integer ms, rounded down. A figure without a sample is -1.
 * Pure: no I/O, no allocation except kpi_csv's buffer and kpi_row_json.
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

struct kpi_row {
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
};

/* Sets every incident, notification and drill figure of row to "no sample". */
void kpi_row_init(struct kpi_row *row, int64_t ack_target_ms);
/* Incidents count, MTTD, MTTA, MTTR and ack within target. */
void kpi_incidents(struct kpi_row *row, const struct kpi_incident *in, size_t n);
/* Sent/delivered/failed and delivery p95 (sorts a copy: returns -1 on no memory). */
int kpi_notifications(struct kpi_row *row, const struct kpi_notification *nt, size_t n);
/* Drills of the service (any time): those in [from_ms, to_ms) count. */
void kpi_drills(struct kpi_row *row, const struct kpi_drill *d, size_t n, int64_t from_ms,
                int64_t to_ms, int64_t drill_every_ms);
/* One row as a JSON object (new reference), NULL on no memory. */
json_t *kpi_row_json(const struct kpi_row *row);
/* RFC 4180 CSV with a header line; *out malloc'd. 0 or -1 (no memory). */
int kpi_csv(const struct kpi_row *rows, size_t n, char **out, size_t *len);

#endif
