/* The Prometheus exposition of the collector; see metrics.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "metrics.h"
#include "nines/clock.h"

const double metrics_bucket_le[METRICS_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10,  30 };

void metrics_observe(struct metrics_check *m, const struct nines_result *r)
{
    const char *days;

    if ((unsigned)r->outcome < 4)
        m->results[r->outcome]++;
    if (r->total_us >= 0 && r->outcome == NINES_OUTCOME_OK) {
        double s = r->total_us / 1e6;

        for (int i = 0; i < METRICS_BUCKETS; i++) {
            if (s <= metrics_bucket_le[i]) {
                m->bucket[i]++;
                break;
            }
        }
        m->count++;     /* above the last bucket: only in +Inf */
        m->sum_s += s;
    }
    /* "days_left" appears in the facts of TLS-checking kinds */
    days = strstr(r->facts, "\"days_left\":");
    if (days != NULL) {
        m->cert_days = strtod(days + 12, NULL);
        m->has_cert = 1;
    }
}

struct metrics_buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void out(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out(struct metrics_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        char *grown = realloc(b->p, b->cap * 2 + (size_t)n);

        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->p = grown;
        b->cap = b->cap * 2 + (size_t)n;
    }
}

static void metrics_checks(struct metrics_buf *b, struct collector *c)
{
    static const char *const states[] = { "UNKNOWN", "UP", "DOWN", "DEGRADED" };
    size_t n = collector_check_count(c);

    out(b, "# HELP nines_check_up 1 while the check is UP or DEGRADED, 0 while DOWN "
           "(absent while UNKNOWN).\n# TYPE nines_check_up gauge\n");
    for (size_t i = 0; i < n; i++) {
        const struct check_state *s = collector_check_state(c, i);

        if (s->state != CHECK_UNKNOWN)
            out(b, "nines_check_up{check=\"%s\",kind=\"%s\"} %d\n", s->id,
                nines_check_kind_name(collector_check_spec(c, i)->kind),
                s->state != CHECK_DOWN);
    }
    out(b, "# HELP nines_check_state The check's state, one series per state.\n"
           "# TYPE nines_check_state gauge\n");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            out(b, "nines_check_state{check=\"%s\",state=\"%s\"} %d\n",
                collector_check_state(c, i)->id, states[k],
                (int)collector_check_state(c, i)->state == k);
    out(b, "# HELP nines_check_location_up 1 while the location sees the check UP or "
           "DEGRADED, 0 while DOWN.\n# TYPE nines_check_location_up gauge\n");
    for (size_t i = 0; i < n; i++) {
        const struct check_state *s = collector_check_state(c, i);

        for (size_t j = 0; j < s->nloc; j++)
            if (s->loc[j].state != CHECK_UNKNOWN && !s->loc[j].silent)
                out(b, "nines_check_location_up{check=\"%s\",location=\"%s\"} %d\n", s->id,
                    s->loc[j].name, s->loc[j].state != CHECK_DOWN);
    }
    out(b, "# HELP nines_check_incident_open 1 while the check has an open incident.\n"
           "# TYPE nines_check_incident_open gauge\n");
    for (size_t i = 0; i < n; i++)
        out(b, "nines_check_incident_open{check=\"%s\"} %d\n", collector_check_state(c, i)->id,
            collector_check_state(c, i)->incident.open);
}

static void metrics_latency(struct metrics_buf *b, struct collector *c)
{
    size_t n = collector_check_count(c);

    out(b, "# HELP nines_check_latency_seconds Total time of successful results since the "
           "collector started.\n# TYPE nines_check_latency_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        const struct metrics_check *m = collector_check_metrics(c, i);
        const char *id = collector_check_state(c, i)->id;
        uint64_t cum = 0;

        for (int k = 0; k < METRICS_BUCKETS; k++) {
            cum += m->bucket[k];
            out(b, "nines_check_latency_seconds_bucket{check=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                id, metrics_bucket_le[k], cum);
        }
        out(b, "nines_check_latency_seconds_bucket{check=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", id,
            m->count);
        out(b, "nines_check_latency_seconds_sum{check=\"%s\"} %.6f\n", id, m->sum_s);
        out(b, "nines_check_latency_seconds_count{check=\"%s\"} %" PRIu64 "\n", id, m->count);
    }
    out(b, "# HELP nines_check_results_total Results applied, by outcome.\n"
           "# TYPE nines_check_results_total counter\n");
    for (size_t i = 0; i < n; i++) {
        const struct metrics_check *m = collector_check_metrics(c, i);

        for (int k = 0; k < 4; k++)
            out(b, "nines_check_results_total{check=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
                collector_check_state(c, i)->id, nines_outcome_name((enum nines_outcome)k),
                m->results[k]);
    }
    out(b, "# HELP nines_check_cert_expiry_days Days until the certificate seen by the newest "
           "result expires.\n# TYPE nines_check_cert_expiry_days gauge\n");
    for (size_t i = 0; i < n; i++) {
        const struct metrics_check *m = collector_check_metrics(c, i);

        if (m->has_cert)
            out(b, "nines_check_cert_expiry_days{check=\"%s\"} %g\n",
                collector_check_state(c, i)->id, m->cert_days);
    }
}

static void metrics_probes(struct metrics_buf *b, struct collector *c)
{
    out(b, "# HELP nines_probe_last_seen_timestamp_seconds Start of the newest result from "
           "the probe for the check.\n# TYPE nines_probe_last_seen_timestamp_seconds gauge\n");
    for (size_t i = 0; i < collector_check_count(c); i++) {
        const struct check_state *s = collector_check_state(c, i);

        for (size_t j = 0; j < s->nloc; j++)
            if (s->loc[j].probe[0] != '\0')
                out(b, "nines_probe_last_seen_timestamp_seconds{probe=\"%s\",location=\"%s\","
                       "check=\"%s\"} %.3f\n",
                    s->loc[j].probe, s->loc[j].name, s->id, s->loc[j].last_ms / 1000.0);
    }
    out(b, "# HELP nines_probe_silent 1 while the probe's location sent nothing for 3 "
           "intervals.\n# TYPE nines_probe_silent gauge\n");
    for (size_t i = 0; i < collector_check_count(c); i++) {
        const struct check_state *s = collector_check_state(c, i);

        for (size_t j = 0; j < s->nloc; j++)
            out(b, "nines_probe_silent{location=\"%s\",check=\"%s\"} %d\n", s->loc[j].name,
                s->id, s->loc[j].silent);
    }
}

static void metrics_collector(struct metrics_buf *b, struct collector *c)
{
    struct collector_stats st;

    collector_get_stats(c, &st);
    out(b, "# HELP nines_collector_results_total Results applied.\n"
           "# TYPE nines_collector_results_total counter\n"
           "nines_collector_results_total %" PRIu64 "\n"
           "# HELP nines_collector_invalid_results_total Stream entries that were not valid "
           "results.\n# TYPE nines_collector_invalid_results_total counter\n"
           "nines_collector_invalid_results_total %" PRIu64 "\n"
           "# HELP nines_collector_duplicate_results_total Entries seen again after a "
           "restart and skipped.\n# TYPE nines_collector_duplicate_results_total counter\n"
           "nines_collector_duplicate_results_total %" PRIu64 "\n",
        st.applied, st.invalid, st.duplicates);
    out(b, "# HELP nines_collector_ingest_lag_seconds Time from the start of the newest "
           "result to its application.\n# TYPE nines_collector_ingest_lag_seconds gauge\n"
           "nines_collector_ingest_lag_seconds %.3f\n",
        st.last_result_ms > 0 ? (st.last_applied_ms - st.last_result_ms) / 1000.0 : 0.0);
    out(b, "# HELP nines_collector_redis_up 1 while both Redis connections are up.\n"
           "# TYPE nines_collector_redis_up gauge\nnines_collector_redis_up %d\n",
        st.redis_up);
}

static void metrics_services(struct metrics_buf *b, struct collector *c)
{
    const struct nines_config *cfg = collector_config(c);

    out(b, "# HELP nines_service_up 1 while the service is UP or DEGRADED, 0 while DOWN "
           "(absent while UNKNOWN).\n# TYPE nines_service_up gauge\n");
    for (size_t i = 0; i < cfg->services_count; i++) {
        enum check_state_kind st = collector_service_state(c, &cfg->services[i]);

        if (st != CHECK_UNKNOWN)
            out(b, "nines_service_up{service=\"%s\"} %d\n", cfg->services[i].id,
                st != CHECK_DOWN);
    }
    out(b, "# HELP nines_service_availability_30d Exact availability over the last 30 days "
           "(maintenance and no-data time excluded), refreshed each minute.\n"
           "# TYPE nines_service_availability_30d gauge\n");
    for (size_t i = 0; i < cfg->services_count; i++) {
        const struct collector_service_sla *s = collector_service_sla(c, i);

        if (s != NULL)
            out(b, "nines_service_availability_30d{service=\"%s\"} %.9f\n",
                cfg->services[i].id, s->availability);
    }
    out(b, "# HELP nines_service_availability_target The service's availability objective.\n"
           "# TYPE nines_service_availability_target gauge\n");
    for (size_t i = 0; i < cfg->services_count; i++) {
        const struct collector_service_sla *s = collector_service_sla(c, i);

        if (s != NULL)
            out(b, "nines_service_availability_target{service=\"%s\"} %.6f\n",
                cfg->services[i].id, s->target);
    }
    out(b, "# HELP nines_service_error_budget_remaining_ratio Share of the 30-day error "
           "budget ((1 - target) x eligible time) not yet spent; negative when overspent.\n"
           "# TYPE nines_service_error_budget_remaining_ratio gauge\n");
    for (size_t i = 0; i < cfg->services_count; i++) {
        const struct collector_service_sla *s = collector_service_sla(c, i);

        if (s != NULL)
            out(b, "nines_service_error_budget_remaining_ratio{service=\"%s\"} %.6f\n",
                cfg->services[i].id, s->budget_remaining);
    }
}

char *metrics_render(struct collector *c)
{
    struct metrics_buf b = { malloc(16384), 0, 16384, 0 };

    if (b.p == NULL)
        return NULL;
    b.p[0] = '\0';
    metrics_checks(&b, c);
    metrics_latency(&b, c);
    metrics_probes(&b, c);
    metrics_collector(&b, c);
    metrics_services(&b, c);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
