/* The Prometheus exposition of the collector; see metrics.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "drill.h"
#include "kpirefresh.h"
#include "skew.h"
#include "metrics.h"
#include "nines/clock.h"
#include "sla.h"

const double metrics_bucket_le[METRICS_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10,  30 };

static const char *const metrics_phase_names[METRICS_PHASES] = { "dns", "connect", "tls",
                                                                   "ttfb" };

/* The bucket index of s seconds, or METRICS_BUCKETS when above the last bound. */
static int metrics_bucket_of(double s)
{
    int i = 0;

    while (i < METRICS_BUCKETS && s > metrics_bucket_le[i])
        i++;
    return i;
}

/* The location's slot, added when new; NULL past the cap or without memory. */
static struct metrics_loc *metrics_loc_of(struct metrics_check *m, const char *name)
{
    struct metrics_loc *grown;

    for (size_t i = 0; i < m->nloc; i++)
        if (strcmp(m->loc[i].name, name) == 0)
            return &m->loc[i];
    if (m->nloc >= METRICS_MAX_LOCATIONS)
        return NULL;
    grown = realloc(m->loc, (m->nloc + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    m->loc = grown;
    memset(&m->loc[m->nloc], 0, sizeof(m->loc[0]));
    snprintf(m->loc[m->nloc].name, sizeof(m->loc[0].name), "%s", name);
    return &m->loc[m->nloc++];
}

/* HTTP statuses (100..599) by code; DNS rcodes and "none" (0) are not counted. */
static void metrics_count_code(struct metrics_check *m, int code)
{
    if (code < 100 || code > 599)
        return;
    for (size_t i = 0; i < m->ncodes; i++) {
        if (m->code[i] == code) {
            m->code_n[i]++;
            return;
        }
    }
    if (m->ncodes < METRICS_MAX_CODES) {
        m->code[m->ncodes] = code;
        m->code_n[m->ncodes++] = 1;
    } else {
        m->code_other++;
    }
}

/* Keeps the resources of a host result (facts naming capacity figures);
 * a result without any keeps the previous ones. */
static void metrics_keep_capacity(struct metrics_check *m, struct metrics_loc *l,
                                  const char *facts)
{
    struct capacity_sample *got, *fit;
    size_t n = 0;

    if (strstr(facts, "_pct\":") == NULL)
        return;
    got = malloc(CAPACITY_SAMPLES_MAX * sizeof(*got));
    if (got == NULL) {
        m->dropped++;
        return;
    }
    /* NINES_ENOMEM still stores the first CAPACITY_SAMPLES_MAX */
    capacity_samples_from_facts(facts, strlen(facts), CAPACITY_LOAD_LIMIT_DEFAULT, got,
                                CAPACITY_SAMPLES_MAX, &n);
    if (n == 0) {
        free(got);
        return;
    }
    fit = realloc(got, n * sizeof(*fit));
    free(l->cap);
    l->cap = fit != NULL ? fit : got;
    l->ncap = n;
}

void metrics_observe(struct metrics_check *m, const struct nines_result *r)
{
    const int64_t phase_us[METRICS_PHASES] = { r->dns_us, r->connect_us, r->tls_us, r->ttfb_us };
    struct metrics_loc *l = metrics_loc_of(m, r->location);
    const char *days;

    if (l == NULL)
        m->dropped++;
    else
        l->results++;
    if ((unsigned)r->outcome < 4)
        m->results[r->outcome]++;
    metrics_count_code(m, r->code);
    if (r->total_us >= 0 && r->outcome == NINES_OUTCOME_OK) {
        double s = r->total_us / 1e6;
        int b = metrics_bucket_of(s);

        if (b < METRICS_BUCKETS)
            m->bucket[b]++;
        m->count++;     /* above the last bucket: only in +Inf */
        m->sum_s += s;
        if (l != NULL) {
            if (b < METRICS_BUCKETS)
                l->bucket[b]++;
            l->count++;
            l->sum_s += s;
        }
        for (int i = 0; i < METRICS_PHASES; i++) {
            if (phase_us[i] >= 0) {
                m->phase_sum_s[i] += phase_us[i] / 1e6;
                m->phase_count[i]++;
            }
        }
    }
    /* "days_left" appears in the facts of TLS-checking kinds */
    days = strstr(r->facts, "\"days_left\":");
    if (days != NULL) {
        m->cert_days = strtod(days + 12, NULL);
        m->has_cert = 1;
    }
    if (l != NULL)
        metrics_keep_capacity(m, l, r->facts);
}

void metrics_check_clear(struct metrics_check *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nloc; i++)
        free(m->loc[i].cap);
    free(m->loc);
    memset(m, 0, sizeof(*m));
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

/* A label value as the text format wants it: backslash, quote and newline escaped. */
static const char *metrics_label(const char *in, char *buf, size_t len)
{
    size_t n = 0;

    for (; *in != '\0' && n + 3 < len; in++) {
        if (*in == '\\' || *in == '"') {
            buf[n++] = '\\';
            buf[n++] = *in;
        } else if (*in == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else {
            buf[n++] = *in;
        }
    }
    buf[n] = '\0';
    return buf;
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

/* Latency by location, phase timings and HTTP statuses. */
static void metrics_detail(struct metrics_buf *b, struct collector *c)
{
    size_t n = collector_check_count(c);
    char loc[2 * NINES_ID_LEN];

    out(b, "# HELP nines_check_location_latency_seconds Total time of successful results by "
           "location since the collector started.\n"
           "# TYPE nines_check_location_latency_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        const struct metrics_check *m = collector_check_metrics(c, i);
        const char *id = collector_check_state(c, i)->id;

        for (size_t j = 0; j < m->nloc; j++) {
            const struct metrics_loc *l = &m->loc[j];
            uint64_t cum = 0;

            metrics_label(l->name, loc, sizeof(loc));
            for (int k = 0; k < METRICS_BUCKETS; k++) {
                cum += l->bucket[k];
                out(b, "nines_check_location_latency_seconds_bucket{check=\"%s\",location=\"%s\","
                       "le=\"%g\"} %" PRIu64 "\n", id, loc, metrics_bucket_le[k], cum);
            }
            out(b, "nines_check_location_latency_seconds_bucket{check=\"%s\",location=\"%s\","
                   "le=\"+Inf\"} %" PRIu64 "\n", id, loc, l->count);
            out(b, "nines_check_location_latency_seconds_sum{check=\"%s\",location=\"%s\"} %.6f\n",
                id, loc, l->sum_s);
            out(b, "nines_check_location_latency_seconds_count{check=\"%s\",location=\"%s\"} %"
                   PRIu64 "\n", id, loc, l->count);
        }
    }
    out(b, "# HELP nines_check_location_results_total Results applied, by location.\n"
           "# TYPE nines_check_location_results_total counter\n");
    for (size_t i = 0; i < n; i++) {
        const struct metrics_check *m = collector_check_metrics(c, i);

        for (size_t j = 0; j < m->nloc; j++)
            out(b, "nines_check_location_results_total{check=\"%s\",location=\"%s\"} %" PRIu64
                   "\n", collector_check_state(c, i)->id,
                metrics_label(m->loc[j].name, loc, sizeof(loc)), m->loc[j].results);
    }
    out(b, "# HELP nines_check_phase_seconds Phase timings (dns, connect, tls, ttfb) of "
           "successful results that measured the phase.\n"
           "# TYPE nines_check_phase_seconds summary\n");
    for (size_t i = 0; i < n; i++) {
        const struct metrics_check *m = collector_check_metrics(c, i);
        const char *id = collector_check_state(c, i)->id;

        for (int k = 0; k < METRICS_PHASES; k++) {
            if (m->phase_count[k] == 0)
                continue;
            out(b, "nines_check_phase_seconds_sum{check=\"%s\",phase=\"%s\"} %.6f\n", id,
                metrics_phase_names[k], m->phase_sum_s[k]);
            out(b, "nines_check_phase_seconds_count{check=\"%s\",phase=\"%s\"} %" PRIu64 "\n",
                id, metrics_phase_names[k], m->phase_count[k]);
        }
    }
    out(b, "# HELP nines_check_http_responses_total Results by HTTP status (the first %d "
           "statuses of a check, then code=\"other\").\n"
           "# TYPE nines_check_http_responses_total counter\n", METRICS_MAX_CODES);
    for (size_t i = 0; i < n; i++) {
        const struct metrics_check *m = collector_check_metrics(c, i);
        const char *id = collector_check_state(c, i)->id;

        for (size_t k = 0; k < m->ncodes; k++)
            out(b, "nines_check_http_responses_total{check=\"%s\",code=\"%d\"} %" PRIu64 "\n",
                id, m->code[k], m->code_n[k]);
        if (m->code_other > 0)
            out(b, "nines_check_http_responses_total{check=\"%s\",code=\"other\"} %" PRIu64
                   "\n", id, m->code_other);
    }
}

/* The newest resources of each host check, by location. */
static void metrics_capacity(struct metrics_buf *b, struct collector *c)
{
    static const char *const what[2] = { "used", "limit" };
    char loc[2 * NINES_ID_LEN], res[2 * CAPACITY_NAME_LEN];

    for (int w = 0; w < 2; w++) {
        out(b, w == 0 ? "# HELP nines_capacity_used A host resource as of the newest result "
                        "(percent; load: the 1-minute load per CPU).\n"
                      : "# HELP nines_capacity_limit The value at which the resource is "
                        "exhausted (100; load: 1 per CPU).\n");
        out(b, "# TYPE nines_capacity_%s gauge\n", what[w]);
        for (size_t i = 0; i < collector_check_count(c); i++) {
            const struct metrics_check *m = collector_check_metrics(c, i);

            for (size_t j = 0; j < m->nloc; j++) {
                metrics_label(m->loc[j].name, loc, sizeof(loc));
                for (size_t k = 0; k < m->loc[j].ncap; k++) {
                    const struct capacity_sample *cs = &m->loc[j].cap[k];

                    out(b, "nines_capacity_%s{check=\"%s\",location=\"%s\",resource=\"%s\"} "
                           "%g\n", what[w], collector_check_state(c, i)->id, loc,
                        metrics_label(cs->name, res, sizeof(res)),
                        w == 0 ? cs->value : cs->limit);
                }
            }
        }
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

/* Each probe's clock against Redis's (the newest result's). */
static void metrics_skew(struct metrics_buf *b, struct collector *c)
{
    const struct skew *s = collector_skew(c);
    char name[2 * 64];

    out(b, "# HELP nines_probe_clock_skew_seconds Redis's time minus the probe's when it sent "
           "its newest result (network delay included).\n"
           "# TYPE nines_probe_clock_skew_seconds gauge\n"
           "# HELP nines_probe_clock_flagged 1 while the skew is over collector.max_clock_skew "
           "(its times are then corrected).\n# TYPE nines_probe_clock_flagged gauge\n");
    for (size_t i = 0; i < s->n; i++) {
        metrics_label(s->p[i].name, name, sizeof(name));
        out(b, "nines_probe_clock_skew_seconds{probe=\"%s\"} %.3f\n", name,
            (double)s->p[i].skew_ms / 1000.0);
        out(b, "nines_probe_clock_flagged{probe=\"%s\"} %d\n", name, s->p[i].flagged);
    }
}

static void metrics_collector(struct metrics_buf *b, struct collector *c)
{
    struct collector_stats st;
    uint64_t dropped = 0;

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
    for (size_t i = 0; i < collector_check_count(c); i++)
        dropped += collector_check_metrics(c, i)->dropped;
    out(b, "# HELP nines_collector_metrics_dropped_total Observations not counted per location "
           "(more than %d locations) or for want of memory.\n"
           "# TYPE nines_collector_metrics_dropped_total counter\n"
           "nines_collector_metrics_dropped_total %" PRIu64 "\n", METRICS_MAX_LOCATIONS, dropped);
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

/*
 * The service as SLA time sees it now: 1 UP/DEGRADED, 0 DOWN, -1 for no
 * sample (UNKNOWN, or every critical check under maintenance). Critical
 * checks under a maintenance window are left out, as uptime leaves their
 * maintenance out; averaged over a window in Prometheus this gives the
 * sampled availability that the burn-rate rules use.
 */
static int metrics_service_sla_up(struct collector *c, const struct nines_service_cfg *svc,
                                  int64_t now_ms)
{
    size_t n = 0, down = 0;
    char ids[8];

    for (size_t i = 0; i < svc->checks_count; i++) {
        long k = collector_check_index(c, svc->checks[i]);
        int critical = svc->critical_count == 0;
        enum check_state_kind st;

        for (size_t j = 0; j < svc->critical_count && !critical; j++)
            critical = strcmp(svc->critical[j], svc->checks[i]) == 0;
        if (k < 0 || !critical)
            continue;
        st = collector_check_state(c, (size_t)k)->state;
        if (st == CHECK_UNKNOWN ||
            sla_maint_active(c, svc->checks[i], now_ms, ids, sizeof(ids)) > 0)
            continue;
        n++;
        down += st == CHECK_DOWN;
    }
    if (n == 0)
        return -1;
    return !(svc->down_when_all ? down == n : down > 0);
}

static void metrics_services_sla(struct metrics_buf *b, struct collector *c)
{
    const struct nines_config *cfg = collector_config(c);
    int64_t now = nines_wall_ms();

    out(b, "# HELP nines_service_sla_up 1 while the service is UP or DEGRADED, 0 while DOWN, "
           "absent while UNKNOWN or under maintenance: the samples of SLA time.\n"
           "# TYPE nines_service_sla_up gauge\n");
    for (size_t i = 0; i < cfg->services_count; i++) {
        int up = metrics_service_sla_up(c, &cfg->services[i], now);

        if (up >= 0)
            out(b, "nines_service_sla_up{service=\"%s\"} %d\n", cfg->services[i].id, up);
    }
}

/* Whether the SLA covers the service (an SLA without services covers all of
 * its customer's; the caller only asks about the customer's services). */
static int metrics_sla_covers(const struct nines_sla_cfg *a, const char *service)
{
    for (size_t i = 0; i < a->services_count; i++)
        if (strcmp(a->services[i], service) == 0)
            return 1;
    return a->services_count == 0;
}

/* One SLA's month-to-date target or budget left for a service. */
static void metrics_customer_sla(struct metrics_buf *b, const char *name, int budget,
                                 const struct nines_customer_cfg *k, const char *service,
                                 const struct collector_customer_sla *m)
{
    char sla[2 * NINES_ID_LEN];

    for (size_t j = 0; j < k->slas_count; j++) {
        const struct nines_sla_cfg *a = &k->slas[j];
        double target = a->target_pct / 100.0;
        double allowed = (1.0 - target) * (double)m->eligible_ms;
        double left = allowed > 0 ? 1.0 - (double)m->downtime_ms / allowed
                                  : (m->downtime_ms > 0 ? -1.0 : 1.0);

        if (!metrics_sla_covers(a, service))
            continue;
        out(b, "%s{customer=\"%s\",sla=\"%s\",service=\"%s\"} %.9f\n", name, k->id,
            metrics_label(a->name ? a->name : "sla", sla, sizeof(sla)), service,
            budget ? left : target);
    }
}

/* Month-to-date figures of each customer SLA, per service it covers. */
static void metrics_customers(struct metrics_buf *b, struct collector *c)
{
    static const char *const names[3] = { "nines_customer_availability_month_to_date",
                                           "nines_customer_sla_target",
                                           "nines_customer_error_budget_remaining_ratio" };
    static const char *const help[3] = {
        "Exact availability of the service since the start of the customer's calendar month "
        "(in its time zone), refreshed each minute.",
        "The SLA's availability target as a ratio.",
        "Share of the month-to-date error budget ((1 - target) x eligible time) not yet "
        "spent; negative when overspent.",
    };
    const struct nines_config *cfg = collector_config(c);

    for (int w = 0; w < 3; w++) {
        out(b, "# HELP %s %s\n# TYPE %s gauge\n", names[w], help[w], names[w]);
        for (size_t cu = 0; cu < cfg->customers_count; cu++) {
            const struct nines_customer_cfg *k = &cfg->customers[cu];

            for (size_t s = 0; s < cfg->services_count; s++) {
                const struct collector_customer_sla *m = collector_customer_sla(c, cu, s);

                if (m == NULL)
                    continue;
                if (w == 0)
                    out(b, "%s{customer=\"%s\",service=\"%s\"} %.9f\n", names[w], k->id,
                        cfg->services[s].id, m->availability);
                else
                    metrics_customer_sla(b, names[w], w == 2, k, cfg->services[s].id, m);
            }
        }
    }
}

/* The newest finished drill of each service, objectives, canary lag. */
static void metrics_drills(struct metrics_buf *b, struct collector *c)
{
    const struct nines_config *cfg = collector_config(c);
    const json_t *latest = drills_latest(collector_drills(c));
    const json_t *passed = drills_passed(collector_drills(c));
    const json_t *lag = drills_lag(collector_drills(c));
    static const struct {
        const char *name, *help, *field;
    } m[] = {
        { "rto_seconds", "RTO measured by the newest finished drill.", "rto_ms" },
        { "rpo_seconds", "RPO measured by the newest finished drill.", "rpo_ms" },
    };
    char svc[2 * NINES_ID_LEN];
    const char *key;
    json_t *v;

    for (size_t k = 0; k < 2; k++) {
        out(b, "# HELP nines_drill_%s %s\n# TYPE nines_drill_%s gauge\n", m[k].name, m[k].help,
            m[k].name);
        json_object_foreach((json_t *)latest, key, v) {
            json_t *f = json_object_get(v, m[k].field);

            if (json_is_integer(f))
                out(b, "nines_drill_%s{service=\"%s\"} %.3f\n", m[k].name,
                    metrics_label(key, svc, sizeof(svc)), (double)json_integer_value(f) / 1000.0);
        }
    }
    out(b, "# HELP nines_drill_passed 1 when the newest finished drill passed.\n"
           "# TYPE nines_drill_passed gauge\n");
    json_object_foreach((json_t *)latest, key, v)
        out(b, "nines_drill_passed{service=\"%s\"} %d\n", metrics_label(key, svc, sizeof(svc)),
            strcmp(json_string_value(json_object_get(v, "state")) ?: "", "passed") == 0);
    out(b, "# HELP nines_drill_last_pass_timestamp_seconds Start of the last passed drill.\n"
           "# TYPE nines_drill_last_pass_timestamp_seconds gauge\n");
    json_object_foreach((json_t *)passed, key, v)
        out(b, "nines_drill_last_pass_timestamp_seconds{service=\"%s\"} %.3f\n",
            metrics_label(key, svc, sizeof(svc)), (double)json_integer_value(v) / 1000.0);
    out(b, "# HELP nines_drill_rto_objective_seconds The service's RTO objective.\n"
           "# TYPE nines_drill_rto_objective_seconds gauge\n"
           "# HELP nines_drill_rpo_objective_seconds The service's RPO objective.\n"
           "# TYPE nines_drill_rpo_objective_seconds gauge\n"
           "# HELP nines_drill_every_seconds How often a passed drill is due.\n"
           "# TYPE nines_drill_every_seconds gauge\n");
    for (size_t i = 0; i < cfg->services_count; i++) {
        const struct nines_service_cfg *s = &cfg->services[i];

        metrics_label(s->id, svc, sizeof(svc));
        if (s->rto_ms > 0)
            out(b, "nines_drill_rto_objective_seconds{service=\"%s\"} %.3f\n", svc,
                (double)s->rto_ms / 1000.0);
        if (s->rpo_ms > 0 || s->rto_ms > 0)
            out(b, "nines_drill_rpo_objective_seconds{service=\"%s\"} %.3f\n", svc,
                (double)s->rpo_ms / 1000.0);
        if (s->drill_every_ms > 0)
            out(b, "nines_drill_every_seconds{service=\"%s\"} %.3f\n", svc,
                (double)s->drill_every_ms / 1000.0);
    }
    out(b, "# HELP nines_canary_lag_seconds Replication lag the canary saw last.\n"
           "# TYPE nines_canary_lag_seconds gauge\n");
    json_object_foreach((json_t *)lag, key, v)
        out(b, "nines_canary_lag_seconds{check=\"%s\"} %.3f\n",
            metrics_label(key, svc, sizeof(svc)), (double)json_integer_value(v) / 1000.0);
}

/* A KPI figure of a row; -1 when absent or without a sample (README "Metrics"). */
static double metrics_kpi_value(const json_t *row, const char *field)
{
    const json_t *v = json_object_get(row, field);

    if (json_is_boolean(v))
        return json_is_true(v) ? 1 : 0;
    return json_is_number(v) && json_number_value(v) >= 0 ? json_number_value(v) : -1;
}

/* The current month's KPIs (collector/kpirefresh.c), one series per row. */
static void metrics_kpis(struct metrics_buf *b, struct collector *c)
{
    static const struct {
        const char *name, *state, *field, *help;
        double div;                     /* JSON unit per metric unit */
    } g[] = {
        { "availability_ratio", NULL, "availability_pct", "Availability this month.", 100 },
        { "target_ratio", NULL, "target_pct", "The availability commitment.", 100 },
        { "incidents", NULL, "incidents", "Incidents started this month.", 1 },
        { "mttd_seconds", NULL, "mttd_ms", "Mean time to detect.", 1000 },
        { "mtta_seconds", NULL, "mtta_ms", "Mean time to acknowledge (from the first "
          "notification).", 1000 },
        { "mttr_seconds", NULL, "mttr_ms", "Mean time to recover.", 1000 },
        { "notifications", "sent", "notifications_sent", "Notifications by delivery state.",
          1 },
        { "notifications", "delivered", "notifications_delivered", NULL, 1 },
        { "notifications", "failed", "notifications_failed", NULL, 1 },
        { "delivery_p95_seconds", NULL, "delivery_p95_ms", "95th percentile of notification "
          "delivery time.", 1000 },
        { "ack_within_target_ratio", NULL, "ack_within_target_pct", "Share of notified "
          "incidents acknowledged within the target.", 100 },
        { "drills", "held", "drills_held", "DR drills started this month, and passed.", 1 },
        { "drills", "passed", "drills_passed", NULL, 1 },
        { "drill_overdue", NULL, "drill_overdue", "1 when no drill passed within drill_every.",
          1 },
        { "rto_seconds", NULL, "rto_ms", "Worst RTO measured by this month's drills.", 1000 },
        { "rpo_seconds", NULL, "rpo_ms", "Worst RPO measured by this month's drills.", 1000 },
        { "coverage_min_ratio", NULL, "coverage_min_pct", "Probe coverage of the least "
          "covered check.", 100 },
        { "forecasts_raised", NULL, "forecasts_raised", "Capacity forecasts raised.", 1 },
        { "forecast_lead_min_seconds", NULL, "forecast_lead_min_ms", "Shortest lead time of a "
          "capacity forecast before its limit.", 1000 },
    };
    char cu[2 * NINES_ID_LEN], svc[2 * NINES_ID_LEN], team[2 * NINES_ID_LEN], sc[32];
    int64_t refreshed_ms = 0;
    const json_t *rows = kpirefresh_rows(collector_kpis(c), &refreshed_ms), *row;
    size_t i;

    if (rows == NULL)
        return;                         /* off, or not computed yet */
    out(b, "# HELP nines_kpi_refreshed_timestamp_seconds When the KPIs below were computed.\n"
           "# TYPE nines_kpi_refreshed_timestamp_seconds gauge\n"
           "nines_kpi_refreshed_timestamp_seconds %.3f\n", (double)refreshed_ms / 1000.0);
    for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
        if (g[k].help != NULL)
            out(b, "# HELP nines_kpi_%s %s\n# TYPE nines_kpi_%s gauge\n", g[k].name, g[k].help,
                g[k].name);
        json_array_foreach(rows, i, row) {
            double v = metrics_kpi_value(row, g[k].field);

            if (v < 0)
                continue;
            out(b, "nines_kpi_%s{scope=\"%s\",customer=\"%s\",service=\"%s\",team=\"%s\"%s%s%s} "
                "%.12g\n", g[k].name,
                metrics_label(json_string_value(json_object_get(row, "scope")) ?: "", sc,
                              sizeof(sc)),
                metrics_label(json_string_value(json_object_get(row, "customer")) ?: "", cu,
                              sizeof(cu)),
                metrics_label(json_string_value(json_object_get(row, "service")) ?: "", svc,
                              sizeof(svc)),
                metrics_label(json_string_value(json_object_get(row, "team")) ?: "", team,
                              sizeof(team)),
                g[k].state ? ",state=\"" : "", g[k].state ? g[k].state : "",
                g[k].state ? "\"" : "", v / g[k].div);
        }
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
    metrics_detail(&b, c);
    metrics_capacity(&b, c);
    metrics_probes(&b, c);
    metrics_collector(&b, c);
    metrics_services(&b, c);
    metrics_services_sla(&b, c);
    metrics_customers(&b, c);
    metrics_drills(&b, c);
    metrics_skew(&b, c);
    metrics_kpis(&b, c);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
