/*
 * The report's content, section by section, as text the renderers lay out.
 * Every figure is formatted here (report_fmt.c) and nowhere else.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_doc.h"
#include "report_fmt.h"

static struct report_block *report_doc_add(struct report_doc *d, int kind, const char *text)
{
    struct report_block *b;

    if (d->failed)
        return NULL;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        struct report_block *v = realloc(d->v, cap * sizeof(*v));

        if (v == NULL) {
            d->failed = NINES_ENOMEM;
            return NULL;
        }
        d->v = v;
        d->cap = cap;
    }
    b = &d->v[d->n];
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    if (text != NULL && (b->text = strdup(text)) == NULL) {
        d->failed = NINES_ENOMEM;
        return NULL;
    }
    d->n++;
    return b;
}

static void report_doc_textf(struct report_doc *d, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report_doc_textf(struct report_doc *d, int kind, const char *fmt, ...)
{
    struct report_buf b = {0};
    char small[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(small)) {
        /* the only long paragraphs are the footer's: build those in pieces */
        d->failed = NINES_EINVAL;
        return;
    }
    report_fmt_buf_add(&b, small, (size_t)n);
    if (b.failed)
        d->failed = NINES_ENOMEM;
    else
        report_doc_add(d, kind, b.p);
    free(b.p);
}

/* A table; the widths (relative) give its column count. */
static struct report_block *report_doc_table(struct report_doc *d, const double *widths,
                                             size_t ncols)
{
    struct report_block *b = report_doc_add(d, REPORT_BLOCK_TABLE, NULL);

    if (b != NULL) {
        b->ncols = ncols;
        memcpy(b->widths, widths, ncols * sizeof(*widths));
    }
    return b;
}

static void report_doc_cell(struct report_doc *d, struct report_block *b, const char *text,
                            int mark)
{
    if (d->failed || b == NULL)
        return;
    if (b->ncells == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct report_cell *v = realloc(b->cells, cap * sizeof(*v));

        if (v == NULL) {
            d->failed = NINES_ENOMEM;
            return;
        }
        b->cells = v;
        b->cap = cap;
    }
    b->cells[b->ncells].mark = mark;
    b->cells[b->ncells].text = strdup(text);
    if (b->cells[b->ncells].text == NULL) {
        d->failed = NINES_ENOMEM;
        return;
    }
    b->ncells++;
}

static void report_doc_row(struct report_doc *d, struct report_block *b, const char *const *t)
{
    size_t i;

    for (i = 0; b != NULL && i < b->ncols; i++)
        report_doc_cell(d, b, t[i], REPORT_MARK_NONE);
}

static void report_doc_header(struct report_doc *d)
{
    const struct report *r = d->r;
    char from[REPORT_FMT_LEN], to[REPORT_FMT_LEN], gen[REPORT_FMT_LEN];

    report_fmt_time(d->tz, r->from_ms, from, sizeof(from));
    report_fmt_time(d->tz, r->to_ms, to, sizeof(to));
    report_fmt_time(d->tz, r->generated_ms, gen, sizeof(gen));
    report_doc_textf(d, REPORT_BLOCK_TITLE, "SLA report %s: %s", r->month, r->customer_name);
    report_doc_textf(d, REPORT_BLOCK_PARA,
                     "Customer %s. Period: %s to %s (the calendar month in %s). Generated %s.",
                     r->customer_id, from, to, r->timezone, gen);
}

static void report_doc_summary_row(struct report_doc *d, struct report_block *t,
                                   const struct report_service *s, const char *name)
{
    char f[8][REPORT_FMT_LEN];

    report_fmt_availability(s, f[0], sizeof(f[0]));
    report_fmt_exact(s->target_pct, f[1], sizeof(f[1]));
    report_fmt_duration(s->allowed_downtime_ms, f[2], sizeof(f[2]));
    report_fmt_duration(s->downtime_ms, f[3], sizeof(f[3]));
    report_fmt_pct(s->budget_used_pct, f[4], sizeof(f[4]));
    report_fmt_exact(s->credit_pct, f[5], sizeof(f[5]));
    report_fmt_pct(s->coverage_pct, f[6], sizeof(f[6]));
    report_fmt_duration(s->maintenance_ms, f[7], sizeof(f[7]));
    report_doc_cell(d, t, name, REPORT_MARK_NONE);
    report_doc_cell(d, t, strcat(f[0], s->no_eligible_time ? "" : " %"), REPORT_MARK_NONE);
    report_doc_cell(d, t, strcat(f[1], " %"), REPORT_MARK_NONE);
    if (s->no_eligible_time)
        report_doc_cell(d, t, "no eligible time", REPORT_MARK_NONE);
    else
        report_doc_cell(d, t, s->met ? "met" : "breached",
                        s->met ? REPORT_MARK_OK : REPORT_MARK_BAD);
    report_doc_cell(d, t, f[2], REPORT_MARK_NONE);
    report_doc_cell(d, t, f[3], REPORT_MARK_NONE);
    report_doc_cell(d, t, s->budget_used_pct < 0 ? f[4] : strcat(f[4], " %"),
                    s->budget_used_pct > 100 ? REPORT_MARK_BAD : REPORT_MARK_NONE);
    report_doc_cell(d, t, strcat(f[5], " %"),
                    s->credit_pct > 0 ? REPORT_MARK_BAD : REPORT_MARK_NONE);
    report_doc_cell(d, t, s->coverage_pct < 0 ? f[6] : strcat(f[6], " %"), REPORT_MARK_NONE);
    report_doc_cell(d, t, f[7], REPORT_MARK_NONE);
}

static void report_doc_summary(struct report_doc *d)
{
    static const double w[] = {1.6, 1.35, 1, 1.1, 1.4, 1.4, 1.3, 0.9, 1.35, 1.4};
    static const char *const head[] = {
        "Service",         "Availability", "Target", "SLA",           "Allowed downtime",
        "Actual downtime", "Budget used",  "Credit", "Data coverage", "Maintenance"};
    const struct report *r = d->r;
    struct report_block *t;
    size_t i;

    report_doc_add(d, REPORT_BLOCK_HEADING, "Summary");
    t = report_doc_table(d, w, 10);
    report_doc_row(d, t, head);
    for (i = 0; i < r->services_count; i++)
        report_doc_summary_row(d, t, &r->services[i], r->services[i].name);
    report_doc_summary_row(d, t, &r->overall, "Overall");
}

static void report_doc_terms(struct report_doc *d)
{
    static const double w[] = {1, 1};
    static const char *const head[] = {"Availability below", "Service credit"};
    const struct report_sla *s = &d->r->sla;
    char target[REPORT_FMT_LEN], a[REPORT_FMT_LEN], c[REPORT_FMT_LEN];
    struct report_block *t;
    size_t i;

    report_fmt_exact(s->target_pct, target, sizeof(target));
    report_doc_add(d, REPORT_BLOCK_HEADING, "SLA terms");
    report_doc_textf(d, REPORT_BLOCK_PARA,
                     "%s: target %s %% per calendar month, measured %s. Time without data is "
                     "%s. Maintenance windows are %s.",
                     s->name, target,
                     s->business_hours[0] ? s->business_hours : "around the clock",
                     s->nodata_counts_down ? "counted as downtime" : "left out",
                     s->maintenance_excluded ? "excluded" : "counted as ordinary time");
    if (s->tiers_count == 0) {
        report_doc_add(d, REPORT_BLOCK_PARA, "This SLA has no service credits.");
        return;
    }
    t = report_doc_table(d, w, 2);
    report_doc_row(d, t, head);
    for (i = 0; i < s->tiers_count; i++) {
        report_fmt_exact(s->tiers[i].below_pct, a, sizeof(a));
        report_fmt_exact(s->tiers[i].credit_pct, c, sizeof(c));
        report_doc_cell(d, t, strcat(a, " %"), REPORT_MARK_NONE);
        report_doc_cell(d, t, strcat(c, " % of the monthly fee"), REPORT_MARK_NONE);
    }
}

static void report_doc_charts(struct report_doc *d)
{
    const struct report *r = d->r;
    struct report_block *b;
    size_t i, n = r->services_count ? r->services_count : 1;

    report_doc_add(d, REPORT_BLOCK_HEADING, "Daily availability");
    for (i = 0; i < n; i++) {
        const struct report_service *s = r->services_count ? &r->services[i] : &r->overall;

        b = report_doc_add(d, REPORT_BLOCK_CHART, s->name);
        if (b != NULL) {
            b->chart = REPORT_CHART_DAILY;
            b->svc = s;
        }
    }
}

static void report_doc_latency(struct report_doc *d)
{
    static const double w[] = {2, 1, 1, 1};
    static const char *const head[] = {"Service", "p50", "p95", "p99"};
    const struct report *r = d->r;
    char f[3][REPORT_FMT_LEN];
    struct report_block *b, *t;
    size_t i;

    report_doc_add(d, REPORT_BLOCK_HEADING, "Response times");
    b = report_doc_add(d, REPORT_BLOCK_CHART, "Daily p95 response time");
    if (b != NULL)
        b->chart = REPORT_CHART_LATENCY;
    t = report_doc_table(d, w, 4);
    report_doc_row(d, t, head);
    for (i = 0; i <= r->services_count; i++) {
        const struct report_service *s = i < r->services_count ? &r->services[i] : &r->overall;
        const char *row[4];

        report_fmt_latency(s->p50_ms, f[0], sizeof(f[0]));
        report_fmt_latency(s->p95_ms, f[1], sizeof(f[1]));
        report_fmt_latency(s->p99_ms, f[2], sizeof(f[2]));
        row[0] = i < r->services_count ? s->name : "Overall";
        row[1] = f[0];
        row[2] = f[1];
        row[3] = f[2];
        report_doc_row(d, t, row);
    }
}

static void report_doc_history(struct report_doc *d)
{
    static const double w[] = {2, 1, 1, 1, 1};
    const struct report *r = d->r;
    const char *head[2 + REPORT_HISTORY];
    char f[1 + REPORT_HISTORY][REPORT_FMT_LEN];
    struct report_block *t;
    size_t i;
    int k;

    report_doc_add(d, REPORT_BLOCK_HEADING, "Month over month");
    t = report_doc_table(d, w, 2 + REPORT_HISTORY);
    head[0] = "Service";
    for (k = 0; k < REPORT_HISTORY; k++)
        head[1 + k] = r->overall.history[k].month;
    head[1 + REPORT_HISTORY] = r->month;
    report_doc_row(d, t, head);
    for (i = 0; i <= r->services_count; i++) {
        const struct report_service *s = i < r->services_count ? &r->services[i] : &r->overall;

        report_doc_cell(d, t, i < r->services_count ? s->name : "Overall", REPORT_MARK_NONE);
        for (k = 0; k < REPORT_HISTORY; k++) {
            report_fmt_pct(s->history[k].availability_pct, f[k], sizeof(f[k]));
            report_doc_cell(d, t, s->history[k].availability_pct < 0 ? f[k] : strcat(f[k], " %"),
                            REPORT_MARK_NONE);
        }
        report_fmt_availability(s, f[REPORT_HISTORY], sizeof(f[0]));
        if (!s->no_eligible_time)
            strcat(f[REPORT_HISTORY], " %");
        report_doc_cell(d, t, f[REPORT_HISTORY], REPORT_MARK_NONE);
    }
}

static void report_doc_incident(struct report_doc *d, struct report_block *t,
                                const struct report_incident *x)
{
    char start[REPORT_FMT_LEN], end[REPORT_FMT_LEN], dur[REPORT_FMT_LEN];
    char ack[REPORT_FMT_LEN], acked[REPORT_NAME_LEN + REPORT_FMT_LEN + 8];
    char cause[REPORT_TEXT_LEN + 2 * REPORT_ID_LEN + 64];

    report_fmt_time(d->tz, x->start_ms, start, sizeof(start));
    if (x->end_ms == 0) {
        snprintf(end, sizeof(end), "ongoing");
        report_fmt_duration(d->r->to_ms - x->start_ms, dur, sizeof(dur));
        strcat(dur, " (to month end)");
    } else {
        report_fmt_time(d->tz, x->end_ms, end, sizeof(end));
        report_fmt_duration(x->end_ms - x->start_ms, dur, sizeof(dur));
    }
    snprintf(cause, sizeof(cause), "%s%s%s%s%s", x->cause, x->caused_by[0] ? "; caused by " : "",
             x->caused_by, x->maintenance[0] ? "; during maintenance " : "", x->maintenance);
    if (x->acked_by[0] && x->acked_ms > 0) {
        report_fmt_time(d->tz, x->acked_ms, ack, sizeof(ack));
        snprintf(acked, sizeof(acked), "%s at %s", x->acked_by, ack);
    } else {
        snprintf(acked, sizeof(acked), "%s", x->acked_by[0] ? x->acked_by : "not acknowledged");
    }
    report_doc_cell(d, t, x->id, REPORT_MARK_NONE);
    report_doc_cell(d, t, start, REPORT_MARK_NONE);
    report_doc_cell(d, t, end, x->end_ms == 0 ? REPORT_MARK_BAD : REPORT_MARK_NONE);
    report_doc_cell(d, t, dur, REPORT_MARK_NONE);
    report_doc_cell(d, t, cause, REPORT_MARK_NONE);
    report_doc_cell(d, t, x->services, REPORT_MARK_NONE);
    report_doc_cell(d, t, acked, REPORT_MARK_NONE);
}

static void report_doc_incidents(struct report_doc *d)
{
    static const double w[] = {1, 1.6, 1.6, 1.2, 2.3, 1.2, 1.6};
    static const char *const head[] = {"Incident", "Start",          "End", "Duration", "Cause",
                                       "Services", "Acknowledged by"};
    const struct report *r = d->r;
    struct report_block *t;
    size_t i;

    report_doc_textf(d, REPORT_BLOCK_HEADING, "Incidents (%zu)", r->incidents_count);
    if (r->incidents_count == 0) {
        report_doc_add(d, REPORT_BLOCK_PARA, "No incidents this month.");
        return;
    }
    t = report_doc_table(d, w, 7);
    report_doc_row(d, t, head);
    for (i = 0; i < r->incidents_count; i++)
        report_doc_incident(d, t, &r->incidents[i]);
}

static void report_doc_maintenance(struct report_doc *d)
{
    static const double w[] = {1, 1.6, 1.6, 1.2, 1, 2};
    static const char *const head[] = {"Window", "Start", "End", "Duration", "Services", "Reason"};
    const struct report *r = d->r;
    char f[3][REPORT_FMT_LEN];
    struct report_block *t;
    size_t i;

    report_doc_textf(d, REPORT_BLOCK_HEADING, "Maintenance windows (%zu)", r->maintenance_count);
    if (r->maintenance_count == 0) {
        report_doc_add(d, REPORT_BLOCK_PARA, "No maintenance this month.");
        return;
    }
    t = report_doc_table(d, w, 6);
    report_doc_row(d, t, head);
    for (i = 0; i < r->maintenance_count; i++) {
        const struct report_maint *m = &r->maintenance[i];
        const char *row[6];

        report_fmt_time(d->tz, m->start_ms, f[0], sizeof(f[0]));
        report_fmt_time(d->tz, m->end_ms, f[1], sizeof(f[1]));
        report_fmt_duration(m->end_ms - m->start_ms, f[2], sizeof(f[2]));
        row[0] = m->id;
        row[1] = f[0];
        row[2] = f[1];
        row[3] = f[2];
        row[4] = m->services[0] ? m->services : "all";
        row[5] = m->reason;
        report_doc_row(d, t, row);
    }
}

/* "4 min 00 s (objective 5 min 00 s)" */
static void report_doc_objective(int64_t got, int64_t want, char *buf, size_t len)
{
    char a[REPORT_FMT_LEN], b[REPORT_FMT_LEN];

    report_fmt_duration(got, a, sizeof(a));
    report_fmt_duration(want, b, sizeof(b));
    snprintf(buf, len, "%s (objective %s)", got < 0 ? "not measured" : a, want < 0 ? "none" : b);
}

static void report_doc_drills(struct report_doc *d)
{
    static const double w[] = {1, 1, 1.7, 1.6, 1.5, 1.5, 1, 1.5};
    static const char *const head[] = {"Drill", "Service", "Scenario", "Start",
                                       "RTO",   "RPO",     "Result",   "Note"};
    const struct report *r = d->r;
    char f[3][2 * REPORT_FMT_LEN + 16];
    struct report_block *t;
    size_t i;

    report_doc_textf(d, REPORT_BLOCK_HEADING, "Disaster-recovery drills (%zu)", r->drills_count);
    if (r->drills_count == 0) {
        report_doc_add(d, REPORT_BLOCK_PARA, "No drill was held this month.");
        return;
    }
    t = report_doc_table(d, w, 8);
    report_doc_row(d, t, head);
    for (i = 0; i < r->drills_count; i++) {
        const struct report_drill *x = &r->drills[i];

        report_fmt_time(d->tz, x->start_ms, f[0], sizeof(f[0]));
        report_doc_objective(x->rto_ms, x->rto_objective_ms, f[1], sizeof(f[1]));
        report_doc_objective(x->rpo_ms, x->rpo_objective_ms, f[2], sizeof(f[2]));
        report_doc_cell(d, t, x->id, REPORT_MARK_NONE);
        report_doc_cell(d, t, x->service, REPORT_MARK_NONE);
        report_doc_cell(d, t, x->scenario, REPORT_MARK_NONE);
        report_doc_cell(d, t, f[0], REPORT_MARK_NONE);
        report_doc_cell(d, t, f[1], REPORT_MARK_NONE);
        report_doc_cell(d, t, f[2], REPORT_MARK_NONE);
        report_doc_cell(d, t, x->passed ? "passed" : "failed",
                        x->passed ? REPORT_MARK_OK : REPORT_MARK_BAD);
        report_doc_cell(d, t, x->note, REPORT_MARK_NONE);
    }
}

/* "12.5" or "-" (no sample). */
static void report_doc_opt_pct(double v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else
        report_fmt_pct(v, buf, len);
}

static void report_doc_opt_dur(int64_t ms, char *buf, size_t len)
{
    if (ms < 0)
        snprintf(buf, len, "-");
    else
        report_fmt_duration(ms, buf, len);
}

static void report_doc_kpis(struct report_doc *d)
{
    static const double w[] = {1.3, 0.8, 1, 1, 1, 1.3, 1, 1, 1, 1, 1.2};
    static const char *const head[] = {"Service",   "Incidents",    "MTTD",     "MTTA",
                                       "MTTR",      "Notifications", "Delivery p95",
                                       "Ack in target", "Drills",   "Coverage", "Forecasts"};
    const struct report *r = d->r;
    char f[11][2 * REPORT_FMT_LEN + 32];
    struct report_block *t;

    report_doc_add(d, REPORT_BLOCK_HEADING, "Operational KPIs");
    if (r->kpis_count == 0) {
        report_doc_add(d, REPORT_BLOCK_PARA, "No KPI was computed for this report.");
        return;
    }
    t = report_doc_table(d, w, 11);
    report_doc_row(d, t, head);
    for (size_t i = 0; i < r->kpis_count; i++) {
        const struct kpi_row *k = &r->kpis[i];
        const char *row[11];
        char lead[REPORT_FMT_LEN + 8];

        snprintf(f[0], sizeof(f[0]), "%s", k->service);
        snprintf(f[1], sizeof(f[1]), "%zu", k->incidents);
        report_doc_opt_dur(k->mttd_ms, f[2], sizeof(f[2]));
        report_doc_opt_dur(k->mtta_ms, f[3], sizeof(f[3]));
        report_doc_opt_dur(k->mttr_ms, f[4], sizeof(f[4]));
        snprintf(f[5], sizeof(f[5]), "%zu sent, %zu delivered, %zu failed", k->notif_sent,
                 k->notif_delivered, k->notif_failed);
        report_doc_opt_dur(k->delivery_p95_ms, f[6], sizeof(f[6]));
        report_doc_opt_pct(k->ack_within_pct, f[7], sizeof(f[7]));
        snprintf(f[8], sizeof(f[8]), "%zu held, %zu passed%s", k->drills_held, k->drills_passed,
                 k->drill_overdue ? ", overdue" : "");
        report_doc_opt_pct(k->coverage_min_pct, f[9], sizeof(f[9]));
        report_doc_opt_dur(k->forecast_lead_min_ms, lead, sizeof(lead));
        snprintf(f[10], sizeof(f[10]), "%zu (earliest %s ahead)", k->forecasts_raised, lead);
        if (k->forecasts_raised == 0)
            snprintf(f[10], sizeof(f[10]), "0");
        for (size_t c = 0; c < 11; c++)
            row[c] = f[c];
        report_doc_row(d, t, row);
    }
    report_doc_add(d, REPORT_BLOCK_PARA,
                   "MTTD: outage start to detection; MTTA: first notification to "
                   "acknowledgement; MTTR: outage start to recovery (means over the incidents "
                   "that started this month). Ack in target: acknowledged within 15 minutes of "
                   "the first notification, as a share of the notified incidents. Coverage: "
                   "the lowest share of the month in which a check of the service had enough "
                   "locations reporting. Forecasts: capacity exhaustion forecasts raised, and "
                   "how long before the predicted exhaustion the earliest came. \"-\": no "
                   "sample.");
}

static void report_doc_method(struct report_doc *d)
{
    const struct report *r = d->r;

    report_doc_add(d, REPORT_BLOCK_HEADING, "How these figures are computed");
    report_doc_add(d, REPORT_BLOCK_PARA,
                   "Availability = 100 × (1 − downtime / eligible time), exact to the "
                   "millisecond. An incident starts at the first failing result of the streak "
                   "that confirmed it (back-dated, not the moment it was confirmed) and ends at "
                   "the first success of the recovering streak; a check is down while a quorum "
                   "of its locations is down. Error budget = (1 − target) × eligible time.");
    report_doc_textf(d, REPORT_BLOCK_PARA,
                     "Eligible time is the month%s%s. Days and month bounds are in %s "
                     "(DST-correct). Availability is truncated to 3 decimals, never rounded up "
                     "(99.9996 is shown as 99.999); durations are truncated to the second. The "
                     "JSON export has every figure exact, in milliseconds.",
                     r->sla.maintenance_excluded
                         ? " minus maintenance windows (cut out of both the month and downtime)"
                         : " (maintenance counts as ordinary time)",
                     r->sla.nodata_counts_down ? "; time without data counts as downtime"
                                               : " minus time without data",
                     r->timezone);
    report_doc_textf(d, REPORT_BLOCK_PARA,
                     "Data SHA-256: %s. It is the SHA-256 of the report's canonical JSON "
                     "without generated_ms and this hash: a re-run over the same data gives "
                     "the same value.",
                     r->data_sha256[0] ? r->data_sha256 : "(not computed)");
}

int report_doc_build(const struct report *r, struct report_doc *d, struct nines_err *err)
{
    int rc;

    memset(d, 0, sizeof(*d));
    d->r = r;
    rc = report_check(r, err);
    if (rc != 0)
        return rc;
    d->tz = nines_tz_load(r->timezone, err);
    if (d->tz == NULL)
        return err ? err->code : NINES_EINVAL;
    report_doc_header(d);
    report_doc_summary(d);
    report_doc_terms(d);
    report_doc_charts(d);
    report_doc_latency(d);
    report_doc_history(d);
    report_doc_incidents(d);
    report_doc_maintenance(d);
    report_doc_drills(d);
    report_doc_kpis(d);
    report_doc_method(d);
    if (d->failed)
        return nines_err_set(err, d->failed, "report: %s while laying out the content",
                             d->failed == NINES_ENOMEM ? "out of memory" : "text too long");
    return 0;
}

void report_doc_close(struct report_doc *d)
{
    size_t i, k;

    for (i = 0; i < d->n; i++) {
        for (k = 0; k < d->v[i].ncells; k++)
            free(d->v[i].cells[k].text);
        free(d->v[i].cells);
        free(d->v[i].text);
    }
    free(d->v);
    nines_tz_free(d->tz);
    memset(d, 0, sizeof(*d));
}
