/*
 * The model's rules (report_check) and its hash. The rules are checked before
 * every render, so a renderer may trust what it reads: strings terminated and
 * valid UTF-8, figures finite and in range, month bounds and day starts the
 * ones the customer's time zone gives, availability consistent with the
 * downtime and eligible time it is computed from.
 */
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"
#include "tz.h"

/* A month is at most 31 days; the bound keeps 100000 × eligible_ms far from overflow. */
#define REPORT_MAX_WINDOW_MS (INT64_C(32) * 24 * 3600 * 1000)

/* 1 if s (within n bytes) is NUL-terminated, valid UTF-8 without C0 controls
   other than tab and newline. */
static int report_text_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = memchr(s, '\0', n);

    if (end == NULL)
        return 0;
    while (p < end) {
        unsigned c = *p;
        size_t k, more;
        unsigned cp;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= more)
            return 0;
        for (k = 1; k <= more; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[k] & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += more + 1;
    }
    return 1;
}

#define REPORT_TEXT(err, where, name, field)                                                      \
    do {                                                                                          \
        if (!report_text_ok((field), sizeof(field)))                                              \
            return nines_err_set((err), NINES_EINVAL,                                             \
                                 "report: %s%s: not NUL-terminated valid UTF-8 text", (where),    \
                                 (name));                                                         \
    } while (0)

static int report_bad(struct nines_err *err, const char *where, const char *field, const char *why)
{
    return nines_err_set(err, NINES_EINVAL, "report: %s%s: %s", where, field, why);
}

/* v in [lo, hi], or -1 when missing is allowed. */
static int report_pct_ok(double v, double lo, double hi, int may_miss)
{
    if (!isfinite(v))
        return 0;
    if (may_miss && v == -1.0)
        return 1;
    return v >= lo && v <= hi;
}

static int report_month_ok(const char *m, int *year, int *month)
{
    char tail;

    if (strlen(m) != 7 || m[4] != '-' || sscanf(m, "%4d-%2d%c", year, month, &tail) != 2)
        return 0;
    return *year >= 1970 && *year <= 9999 && *month >= 1 && *month <= 12;
}

static int report_check_service(const struct report *r, const struct report_service *s,
                                const char *where, struct nines_err *err)
{
    int i, y, m;

    REPORT_TEXT(err, where, "id", s->id);
    REPORT_TEXT(err, where, "name", s->name);
    if (!report_pct_ok(s->target_pct, 0, 100, 0) || s->target_pct <= 0)
        return report_bad(err, where, "target_pct", "not in (0, 100]");
    if (s->window_ms < 0 || s->window_ms > REPORT_MAX_WINDOW_MS)
        return report_bad(err, where, "window_ms", "not in [0, 32 days]");
    if (s->eligible_ms < 0 || s->eligible_ms > s->window_ms)
        return report_bad(err, where, "eligible_ms", "not in [0, window_ms]");
    if (s->downtime_ms < 0 || s->downtime_ms > s->eligible_ms)
        return report_bad(err, where, "downtime_ms", "not in [0, eligible_ms]");
    if (s->maintenance_ms < 0 || s->maintenance_ms > s->window_ms || s->nodata_ms < 0 ||
        s->nodata_ms > s->window_ms)
        return report_bad(err, where, "maintenance_ms/nodata_ms", "not in [0, window_ms]");
    if (s->no_eligible_time != (s->eligible_ms == 0))
        return report_bad(err, where, "no_eligible_time", "disagrees with eligible_ms");
    if (!s->no_eligible_time) {
        double exact = 100.0 * (1.0 - (double)s->downtime_ms / (double)s->eligible_ms);

        if (!isfinite(s->availability_pct) || fabs(s->availability_pct - exact) > 1e-9)
            return report_bad(err, where, "availability_pct",
                              "is not 100 × (1 − downtime_ms / eligible_ms)");
    }
    if (s->allowed_downtime_ms < 0 || s->allowed_downtime_ms > s->window_ms)
        return report_bad(err, where, "allowed_downtime_ms", "not in [0, window_ms]");
    if (!isfinite(s->budget_used_pct) || (s->budget_used_pct < 0 && s->budget_used_pct != -1))
        return report_bad(err, where, "budget_used_pct", "not >= 0 (or -1)");
    if (!report_pct_ok(s->credit_pct, 0, 100, 0))
        return report_bad(err, where, "credit_pct", "not in [0, 100]");
    if (!report_pct_ok(s->coverage_pct, 0, 100, 1))
        return report_bad(err, where, "coverage_pct", "not in [0, 100] (or -1)");
    if (!report_pct_ok(s->p50_ms, 0, 1e9, 1) || !report_pct_ok(s->p95_ms, 0, 1e9, 1) ||
        !report_pct_ok(s->p99_ms, 0, 1e9, 1))
        return report_bad(err, where, "p50_ms/p95_ms/p99_ms", "not a latency >= 0 (or -1)");
    for (i = 0; i < r->ndays; i++) {
        const struct report_day *d = &s->daily[i];

        if (!report_pct_ok(d->availability_pct, 0, 100, 1) || d->downtime_ms < 0 ||
            d->downtime_ms > 25 * 3600 * 1000 || !report_pct_ok(d->p95_ms, 0, 1e9, 1))
            return nines_err_set(err, NINES_EINVAL,
                                 "report: %sdaily[%d]: availability_pct, downtime_ms or "
                                 "p95_ms out of range",
                                 where, i);
    }
    for (i = 0; i < REPORT_HISTORY; i++) {
        REPORT_TEXT(err, where, "history.month", s->history[i].month);
        if (!report_month_ok(s->history[i].month, &y, &m) ||
            !report_pct_ok(s->history[i].availability_pct, 0, 100, 1))
            return nines_err_set(err, NINES_EINVAL,
                                 "report: %shistory[%d]: month is not YYYY-MM or "
                                 "availability_pct is out of range",
                                 where, i);
    }
    return 0;
}

/* from/to and the day starts must be the ones the customer's zone gives. */
static int report_check_calendar(const struct report *r, struct nines_err *err)
{
    struct nines_err tzerr = {0};
    struct nines_tz *tz;
    int y, m, i, rc = 0;

    if (!report_month_ok(r->month, &y, &m))
        return report_bad(err, "", "month", "not YYYY-MM");
    tz = nines_tz_load(r->timezone, &tzerr);
    if (tz == NULL)
        return nines_err_set(err, NINES_EINVAL, "report: timezone \"%s\": %s", r->timezone,
                             tzerr.msg);
    if (r->from_ms != nines_tz_month_start_utc_ms(tz, y, m) ||
        r->to_ms != nines_tz_month_start_utc_ms(tz, y, m + 1)) {
        rc = report_bad(err, "", "from_ms/to_ms", "not the month's bounds in its timezone");
    } else if (r->ndays < 28 || r->ndays > REPORT_MAX_DAYS ||
               nines_tz_month_start_utc_ms(tz, y, m + 1) !=
                   nines_tz_day_start_utc_ms(tz, y, m, r->ndays + 1)) {
        rc = report_bad(err, "", "ndays", "not the number of days in the month");
    } else {
        for (i = 0; i < r->ndays && rc == 0; i++) {
            if (r->day_start_ms[i] != nines_tz_day_start_utc_ms(tz, y, m, i + 1))
                rc = nines_err_set(err, NINES_EINVAL,
                                   "report: day_start_ms[%d]: not local midnight of day %d", i,
                                   i + 1);
        }
    }
    nines_tz_free(tz);
    return rc;
}

static int report_check_lists(const struct report *r, struct nines_err *err)
{
    char where[64];
    size_t i;

    for (i = 0; i < r->incidents_count; i++) {
        const struct report_incident *x = &r->incidents[i];

        snprintf(where, sizeof(where), "incidents[%zu].", i);
        REPORT_TEXT(err, where, "id", x->id);
        REPORT_TEXT(err, where, "check", x->check);
        REPORT_TEXT(err, where, "services", x->services);
        REPORT_TEXT(err, where, "cause", x->cause);
        REPORT_TEXT(err, where, "acked_by", x->acked_by);
        REPORT_TEXT(err, where, "caused_by", x->caused_by);
        REPORT_TEXT(err, where, "maintenance", x->maintenance);
        if (x->start_ms >= r->to_ms || (x->end_ms != 0 && x->end_ms <= r->from_ms))
            return report_bad(err, where, "start_ms/end_ms", "outside the month");
        if (x->end_ms != 0 && x->end_ms < x->start_ms)
            return report_bad(err, where, "end_ms", "before start_ms");
        if (x->acked_ms < 0)
            return report_bad(err, where, "acked_ms", "negative");
    }
    for (i = 0; i < r->maintenance_count; i++) {
        const struct report_maint *x = &r->maintenance[i];

        snprintf(where, sizeof(where), "maintenance[%zu].", i);
        REPORT_TEXT(err, where, "id", x->id);
        REPORT_TEXT(err, where, "reason", x->reason);
        REPORT_TEXT(err, where, "services", x->services);
        if (x->end_ms < x->start_ms)
            return report_bad(err, where, "end_ms", "before start_ms");
    }
    for (i = 0; i < r->drills_count; i++) {
        const struct report_drill *x = &r->drills[i];

        snprintf(where, sizeof(where), "drills[%zu].", i);
        REPORT_TEXT(err, where, "id", x->id);
        REPORT_TEXT(err, where, "service", x->service);
        REPORT_TEXT(err, where, "scenario", x->scenario);
        REPORT_TEXT(err, where, "note", x->note);
        if (x->rto_ms < -1 || x->rto_objective_ms < -1 || x->rpo_ms < -1 ||
            x->rpo_objective_ms < -1)
            return report_bad(err, where, "rto/rpo", "negative (only -1 means none)");
    }
    for (i = 0; i < r->sla.tiers_count; i++) {
        if (!report_pct_ok(r->sla.tiers[i].below_pct, 0, 100, 0) ||
            !report_pct_ok(r->sla.tiers[i].credit_pct, 0, 100, 0))
            return nines_err_set(err, NINES_EINVAL,
                                 "report: sla.tiers[%zu]: below_pct or credit_pct not in "
                                 "[0, 100]",
                                 i);
    }
    return 0;
}

int report_check(const struct report *r, struct nines_err *err)
{
    char where[64];
    size_t i;
    int rc;

    if ((r->services_count && r->services == NULL) ||
        (r->incidents_count && r->incidents == NULL) ||
        (r->maintenance_count && r->maintenance == NULL) ||
        (r->drills_count && r->drills == NULL) || (r->sla.tiers_count && r->sla.tiers == NULL))
        return report_bad(err, "", "services/incidents/maintenance/drills/sla.tiers",
                          "a count without an array");
    REPORT_TEXT(err, "", "customer_id", r->customer_id);
    REPORT_TEXT(err, "", "customer_name", r->customer_name);
    REPORT_TEXT(err, "", "timezone", r->timezone);
    REPORT_TEXT(err, "", "month", r->month);
    REPORT_TEXT(err, "sla.", "name", r->sla.name);
    REPORT_TEXT(err, "sla.", "business_hours", r->sla.business_hours);
    if (!report_pct_ok(r->sla.target_pct, 0, 100, 0) || r->sla.target_pct <= 0)
        return report_bad(err, "sla.", "target_pct", "not in (0, 100]");
    if (r->generated_ms < 0)
        return report_bad(err, "", "generated_ms", "negative");
    rc = report_check_calendar(r, err);
    if (rc == 0)
        rc = report_check_service(r, &r->overall, "overall.", err);
    for (i = 0; rc == 0 && i < r->services_count; i++) {
        snprintf(where, sizeof(where), "services[%zu].", i);
        rc = report_check_service(r, &r->services[i], where, err);
    }
    if (rc == 0)
        rc = report_check_lists(r, err);
    return rc;
}

int report_hash(struct report *r, struct nines_err *err)
{
    static const char hex[] = "0123456789abcdef";
    struct report_buf b = {0};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned int i;
    int rc;

    rc = report_json_canonical(r, 0, &b, err);
    if (rc != 0)
        return rc;
    if (EVP_Digest(b.p, b.len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        free(b.p);
        return nines_err_set(err, NINES_EIO, "report: SHA-256 failed (OpenSSL EVP_Digest)");
    }
    free(b.p);
    for (i = 0; i < mdlen; i++) {
        r->data_sha256[2 * i] = hex[md[i] >> 4];
        r->data_sha256[2 * i + 1] = hex[md[i] & 15];
    }
    r->data_sha256[2 * mdlen] = '\0';
    return 0;
}
