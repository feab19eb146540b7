/*
 * The monthly SLA report: a plain-data model the caller fills from stored
 * data, and four renderers (canonical JSON, HTML, CSV, PDF) that only read it.
 *
 * Units everywhere: instants are UTC epoch ms, durations ms, percentages
 * doubles in 0..100 (budget used may exceed 100), latencies ms (a double:
 * sub-millisecond figures survive). A figure that may be missing is -1.
 * Strings are NUL-terminated UTF-8 in fixed arrays; arrays of structs are
 * borrowed pointers with counts (the caller owns them; renderers never free).
 *
 * Every renderer first runs report_check(): a model that breaks a rule below
 * is refused with NINES_EINVAL and an error naming the field ("incidents[3]
 * .end_ms: before start_ms"), never rendered half-right.
 *
 * Displayed availability is truncated (rounded down) to 3 decimals, so
 * 99.9996 shows 99.999 and 100.000 appears only for exactly 100; a customer
 * never sees a figure better than the real one. JSON keeps the exact values.
 */
#ifndef NINES_REPORT_H
#define NINES_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "kpi.h"
#include "nines/err.h"

#define REPORT_MAX_DAYS   31
#define REPORT_HISTORY    3 /* previous months compared */
#define REPORT_ID_LEN     64
#define REPORT_NAME_LEN   128
#define REPORT_TEXT_LEN   512
#define REPORT_SHA256_HEX 65

struct report_credit_tier {
    double below_pct;  /* availability below this ... */
    double credit_pct; /* ... earns this credit (% of the monthly fee) */
};

struct report_sla {
    char name[REPORT_NAME_LEN];
    double target_pct;
    char business_hours[REPORT_TEXT_LEN]; /* "" = around the clock */
    int nodata_counts_down;
    int maintenance_excluded;
    const struct report_credit_tier *tiers; /* any order */
    size_t tiers_count;
};

struct report_day {
    double availability_pct; /* -1 = no eligible time that day */
    int64_t downtime_ms;
    double p95_ms; /* -1 = no latency data */
};

struct report_month {
    char month[8];           /* "YYYY-MM" */
    double availability_pct; /* -1 = no data */
};

struct report_service {
    char id[REPORT_ID_LEN];
    char name[REPORT_NAME_LEN];
    double target_pct;
    int64_t window_ms;
    int64_t eligible_ms;
    int64_t downtime_ms;
    int64_t maintenance_ms;
    int64_t nodata_ms;
    /* 100 × (1 − downtime/eligible), checked against the integers to 1e-9;
       ignored (shown "n/a") when no_eligible_time. */
    double availability_pct;
    int no_eligible_time;
    int met;
    int64_t allowed_downtime_ms; /* (1 − target) × eligible */
    double budget_used_pct;      /* downtime / allowed × 100; -1 when allowed is 0 */
    double credit_pct;           /* service credit owed, 0 = none */
    double coverage_pct;
    double p50_ms, p95_ms, p99_ms;               /* -1 = no latency data */
    struct report_day daily[REPORT_MAX_DAYS];    /* report.ndays used */
    struct report_month history[REPORT_HISTORY]; /* oldest first */
};

struct report_incident {
    char id[REPORT_ID_LEN];
    char check[REPORT_ID_LEN];
    char services[REPORT_TEXT_LEN]; /* "api,web" */
    int64_t start_ms;
    int64_t end_ms;                  /* 0 = still open at the month's end: "ongoing" */
    char cause[REPORT_TEXT_LEN];     /* "http_status: 503 Service Unavailable" */
    char acked_by[REPORT_NAME_LEN];  /* "" = not acknowledged */
    int64_t acked_ms;                /* 0 = not acknowledged */
    char caused_by[REPORT_ID_LEN];   /* parent dependency, or "" */
    char maintenance[REPORT_ID_LEN]; /* window id, or "" */
};

/* Probe coverage of one check: the share of [from, min(to, generated)) with
 * a known state (not no-data). Not rendered by itself: the KPI rows carry it. */
struct report_check {
    char id[REPORT_ID_LEN];
    int64_t window_ms;
    int64_t nodata_ms;
    double coverage_pct; /* -1 = no window */
};

struct report_maint {
    char id[REPORT_ID_LEN];
    char reason[REPORT_TEXT_LEN];
    int64_t start_ms;
    int64_t end_ms;
    char services[REPORT_TEXT_LEN]; /* "" = all */
};

struct report_drill {
    char id[REPORT_ID_LEN];
    char service[REPORT_ID_LEN];
    char scenario[REPORT_TEXT_LEN];
    int64_t start_ms;
    int64_t rto_ms;           /* measured; -1 = not measured */
    int64_t rto_objective_ms; /* -1 = none */
    int64_t rpo_ms;
    int64_t rpo_objective_ms;
    int passed;
    char note[REPORT_TEXT_LEN];
};

struct report {
    char customer_id[REPORT_ID_LEN];
    char customer_name[REPORT_NAME_LEN];
    char timezone[REPORT_NAME_LEN]; /* IANA, "Europe/Berlin" */
    char month[8];                  /* "YYYY-MM" */
    int64_t from_ms;                /* month bounds in UTC, [from, to) */
    int64_t to_ms;
    int64_t generated_ms; /* not part of data_sha256 */
    struct report_sla sla;
    int ndays;                             /* 28..31 */
    int64_t day_start_ms[REPORT_MAX_DAYS]; /* local midnights, day_start_ms[0] = from_ms */
    struct report_service overall;
    const struct report_service *services;
    size_t services_count;
    const struct report_incident *incidents; /* shown in this order */
    size_t incidents_count;
    const struct report_maint *maintenance;
    size_t maintenance_count;
    const struct report_drill *drills;
    size_t drills_count;
    const struct report_check *checks; /* every check of the SLA's services */
    size_t checks_count;
    const struct kpi_row *kpis; /* one per service (kpi.h); JSON "kpis", hashed */
    size_t kpis_count;
    char data_sha256[REPORT_SHA256_HEX]; /* hex, filled by report_hash() */
};

/* 0, or NINES_EINVAL naming the first field that breaks the rules above. */
int report_check(const struct report *r, struct nines_err *err);

/*
 * SHA-256 of the canonical JSON without generated_ms and data_sha256, as
 * lowercase hex into r->data_sha256: two runs over the same data agree.
 */
int report_hash(struct report *r, struct nines_err *err);

/*
 * Renderers. On success *out is a malloc'd NUL-terminated buffer the caller
 * frees and *len its length; on failure *out is NULL and err says why
 * (NINES_EINVAL for a bad model, NINES_ENOMEM, NINES_EIO).
 */
/* Canonical JSON (docs/report-schema.md): sorted keys, no spaces, stable bytes. */
int report_json(const struct report *r, char **out, size_t *len, struct nines_err *err);
/* One self-contained HTML file: inline CSS and SVG, no script, no external URL. */
int report_html(const struct report *r, char **out, size_t *len, struct nines_err *err);
/* RFC 4180 CSV (CRLF): one row per service and day, including "overall". */
int report_csv_daily(const struct report *r, char **out, size_t *len, struct nines_err *err);
/* RFC 4180 CSV (CRLF): the KPI rows (kpi_csv's columns). */
int report_csv_kpis(const struct report *r, char **out, size_t *len, struct nines_err *err);
/* RFC 4180 CSV (CRLF): one row per incident. */
int report_csv_incidents(const struct report *r, char **out, size_t *len, struct nines_err *err);
/* A4 PDF at path (cairo, pango, DejaVu Sans embedded), "Page N of M" footers. */
int report_pdf(const struct report *r, const char *path, struct nines_err *err);

#endif
