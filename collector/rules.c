/* Alert rules on results, capacity trends and windows of uptime; see rules.h. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "burn.h"
#include "capacity.h"
#include "kpigather.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "rules.h"
#include "sla.h"
#include "tz.h"

#define RULES_SERIES_CAP 2880       /* samples per resource: a day at 30 s */
#define RULES_MAX_SERIES 4096
#define RULES_SERIES_NAME (NINES_ID_LEN * 2 + CAPACITY_NAME_LEN)

struct rules_series {
    char name[RULES_SERIES_NAME];   /* CHECK|LOCATION|RESOURCE */
    char check[NINES_ID_LEN];
    char location[NINES_ID_LEN];
    char resource[CAPACITY_NAME_LEN];
    double limit;
    struct capacity_series *s;
    int over;                       /* capacity alert firing */
    int forecast;                   /* forecast alert firing */
};

struct rules {
    struct collector *c;
    struct alerter *a;
    struct rules_series *series;
    size_t nseries, capseries;
    int loaded;                     /* stored series read once */
    int loading;
    int64_t next_eval_ms;
    size_t jobs;                    /* windowed evaluations in flight */
};

struct rules *rules_new(struct collector *c, struct alerter *a)
{
    struct rules *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->c = c;
    r->a = a;
    return r;
}

void rules_free(struct rules *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nseries; i++)
        capacity_series_free(r->series[i].s);
    free(r->series);
    free(r);
}

/* ---- labels ---------------------------------------------------------------- */

static void rules_labels(struct rules *r, const char *check, const char *service,
                         struct notification *n)
{
    const struct nines_config *cfg = collector_config(r->c);
    long i = check != NULL ? collector_check_index(r->c, check) : -1;

    if (i >= 0) {
        const struct nines_check *spec = collector_check_spec(r->c, (size_t)i);

        snprintf(n->check, sizeof(n->check), "%s", spec->id);
        snprintf(n->team, sizeof(n->team), "%s", spec->team ? spec->team : "");
        for (size_t s = 0; s < cfg->services_count && n->service[0] == '\0'; s++)
            for (size_t j = 0; j < cfg->services[s].checks_count; j++)
                if (strcmp(cfg->services[s].checks[j], spec->id) == 0)
                    snprintf(n->service, sizeof(n->service), "%s", cfg->services[s].id);
    }
    if (service != NULL)
        snprintf(n->service, sizeof(n->service), "%s", service);
    for (size_t k = 0; n->service[0] != '\0' && k < cfg->customers_count &&
                       n->customer[0] == '\0'; k++)
        for (size_t j = 0; j < cfg->customers[k].services_count; j++)
            if (strcmp(cfg->customers[k].services[j], n->service) == 0)
                snprintf(n->customer, sizeof(n->customer), "%s", cfg->customers[k].id);
}

static void rules_fire(struct rules *r, redisAsyncContext *ac, const char *what,
                       struct notification *n, int64_t start_ms, int64_t now_ms)
{
    if (alerter_firing(r->a, what))
        return;
    n->start_ms = start_ms;
    n->created_ms = now_ms;
    snprintf(n->key, sizeof(n->key), "%.150s@%" PRId64, what, start_ms);
    alerter_fire(r->a, ac, what, n, now_ms);
}

/* ---- certificates ------------------------------------------------------------ */

static void rules_cert(struct rules *r, redisAsyncContext *ac, const struct nines_check *spec,
                       const struct nines_result *res, int64_t now)
{
    char what[NOTIFY_KEY_LEN];
    struct notification n;

    snprintf(what, sizeof(what), "cert_expiry/%s", spec->id);
    if (strcmp(res->warning, "cert_expiring") == 0) {
        if (alerter_firing(r->a, what))
            return;
        memset(&n, 0, sizeof(n));
        rules_labels(r, spec->id, NULL, &n);
        snprintf(n.rule, sizeof(n.rule), "cert_expiry");
        snprintf(n.severity, sizeof(n.severity), "ticket");
        snprintf(n.location, sizeof(n.location), "%s", res->location);
        snprintf(n.reason, sizeof(n.reason), "cert_expiring");
        snprintf(n.summary, sizeof(n.summary), "%s: %.200s", spec->id, res->message);
        rules_fire(r, ac, what, &n, res->start_ms, now);
    } else if (res->outcome == NINES_OUTCOME_OK && strstr(res->facts, "\"days_left\"") != NULL) {
        alerter_clear(r->a, ac, what, res->start_ms, now);
    }
}

/* ---- capacity ------------------------------------------------------------------ */

static struct rules_series *rules_series_get(struct rules *r, const char *check,
                                             const char *loc, const char *resource,
                                             double limit)
{
    char name[RULES_SERIES_NAME];
    struct rules_series *s;

    snprintf(name, sizeof(name), "%s|%s|%s", check, loc, resource);
    for (size_t i = 0; i < r->nseries; i++)
        if (strcmp(r->series[i].name, name) == 0)
            return &r->series[i];
    if (r->nseries >= RULES_MAX_SERIES)
        return NULL;
    if (r->nseries == r->capseries) {
        size_t cap = r->capseries ? r->capseries * 2 : 32;
        struct rules_series *grown = realloc(r->series, cap * sizeof(*grown));

        if (grown == NULL)
            return NULL;
        r->series = grown;
        r->capseries = cap;
    }
    s = &r->series[r->nseries];
    memset(s, 0, sizeof(*s));
    s->s = capacity_series_new(RULES_SERIES_CAP);
    if (s->s == NULL)
        return NULL;
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->check, sizeof(s->check), "%s", check);
    snprintf(s->location, sizeof(s->location), "%s", loc);
    snprintf(s->resource, sizeof(s->resource), "%s", resource);
    s->limit = limit;
    r->nseries++;
    return s;
}

/* The names in the facts' "over" list. */
static int rules_is_over(json_t *over, const char *resource)
{
    size_t i;
    json_t *v;

    json_array_foreach(over, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), resource) == 0)
            return 1;
    return 0;
}

static void rules_over(struct rules *r, redisAsyncContext *ac, struct rules_series *s,
                       int over, const struct nines_result *res, int64_t now)
{
    char what[NOTIFY_KEY_LEN];
    struct notification n;

    snprintf(what, sizeof(what), "capacity/%.60s/%.60s/%.60s", s->check, s->location,
             s->resource);
    if (!over) {
        if (s->over)
            alerter_clear(r->a, ac, what, res->start_ms, now);
        s->over = 0;
        return;
    }
    s->over = 1;
    memset(&n, 0, sizeof(n));
    rules_labels(r, s->check, NULL, &n);
    snprintf(n.rule, sizeof(n.rule), "capacity");
    snprintf(n.severity, sizeof(n.severity), "ticket");
    snprintf(n.location, sizeof(n.location), "%s", s->location);
    snprintf(n.reason, sizeof(n.reason), "capacity");
    snprintf(n.summary, sizeof(n.summary), "%.40s on %.40s (%.30s) is over its threshold: "
             "%.100s", s->resource, s->check, s->location, res->message);
    rules_fire(r, ac, what, &n, res->start_ms, now);
}

/*
 * The raised forecast, durably, for the KPIs (kpigather.h): a sorted set per
 * check by raise time, member RAISED:EXHAUST:LOCATION|RESOURCE, capped to the
 * newest KPIGATHER_FORECASTS_KEEP.
 */
static void rules_forecast_record(redisAsyncContext *ac, const struct rules_series *s,
                                  int64_t raised_ms, int64_t exhaust_ms)
{
    char key[RULES_SERIES_NAME + 32], member[RULES_SERIES_NAME + 64];

    if (ac == NULL)
        return;
    snprintf(key, sizeof(key), "%s%s", KPIGATHER_KEY_FORECASTS, s->check);
    snprintf(member, sizeof(member), "%" PRId64 ":%" PRId64 ":%s|%s", raised_ms, exhaust_ms,
             s->location, s->resource);
    redisAsyncCommand(ac, NULL, NULL, "ZADD %s %" PRId64 " %s", key, raised_ms, member);
    redisAsyncCommand(ac, NULL, NULL, "ZREMRANGEBYRANK %s 0 %d", key,
                      -(KPIGATHER_FORECASTS_KEEP + 1));
}

static void rules_forecast(struct rules *r, redisAsyncContext *ac, struct rules_series *s,
                           int64_t t_ms, int64_t now)
{
    const struct nines_alerting_cfg *al = &collector_config(r->c)->alerting;
    struct capacity_forecast f;
    char what[NOTIFY_KEY_LEN], eta[32];
    struct notification n;
    int fire, clear;

    if (capacity_forecast(s->s, t_ms, al->forecast_window_ms, s->limit,
                          (size_t)al->forecast_min_samples, &f) != 0 ||
        f.status == CAPACITY_NO_DATA)
        return;                    /* not enough to say anything: as it was */
    fire = f.status == CAPACITY_ALREADY ||
           (f.status == CAPACITY_ETA && f.eta_ms <= al->forecast_horizon_ms);
    clear = f.status == CAPACITY_NO_TREND ||
            (f.status == CAPACITY_ETA && (double)f.eta_ms > 1.25 * (double)al->forecast_horizon_ms);
    snprintf(what, sizeof(what), "capacity_forecast/%.55s/%.55s/%.55s", s->check, s->location,
             s->resource);
    if (clear && s->forecast) {
        alerter_clear(r->a, ac, what, t_ms, now);
        s->forecast = 0;
    }
    if (!fire || s->forecast)
        return;
    s->forecast = 1;
    rules_forecast_record(ac, s, t_ms, f.status == CAPACITY_ALREADY ? t_ms : t_ms + f.eta_ms);
    capacity_eta_text(f.status == CAPACITY_ALREADY ? 0 : f.eta_ms, eta, sizeof(eta));
    memset(&n, 0, sizeof(n));
    rules_labels(r, s->check, NULL, &n);
    snprintf(n.rule, sizeof(n.rule), "capacity_forecast");
    snprintf(n.severity, sizeof(n.severity), "ticket");
    snprintf(n.location, sizeof(n.location), "%s", s->location);
    snprintf(n.reason, sizeof(n.reason), "capacity_forecast");
    snprintf(n.summary, sizeof(n.summary), "%.80s on %.60s full in %s", s->resource, s->check,
             f.status == CAPACITY_ALREADY ? "no time (at its limit)" : eta);
    snprintf(n.details, sizeof(n.details), "least-squares trend over the last %" PRId64
             " min: %+.4f per hour, %.1f now of %.1f (%zu samples, r2 %.2f)",
             al->forecast_window_ms / 60000, f.fit.slope_per_ms * 3600000.0, f.value_at_now,
             s->limit, f.fit.n, f.fit.r2);
    rules_fire(r, ac, what, &n, t_ms, now);
}

static void rules_capacity(struct rules *r, redisAsyncContext *ac, const struct nines_check *spec,
                           const struct nines_result *res, int64_t now)
{
    struct capacity_sample smp[CAPACITY_SAMPLES_MAX];
    double load_limit = spec->host.load_per_cpu > 0 ? spec->host.load_per_cpu
                                                    : CAPACITY_LOAD_LIMIT_DEFAULT;
    size_t n = 0;
    json_t *facts, *over;
    char key[RULES_SERIES_NAME + 32], member[64];

    if (res->facts[0] == '\0' ||
        (capacity_samples_from_facts(res->facts, strlen(res->facts), load_limit, smp,
                                     CAPACITY_SAMPLES_MAX, &n) < 0 && n == 0))
        return;
    facts = json_loads(res->facts, 0, NULL);
    over = json_object_get(facts, "over");
    for (size_t i = 0; i < n; i++) {
        struct rules_series *s = rules_series_get(r, spec->id, res->location, smp[i].name,
                                                  smp[i].limit);

        if (s == NULL)
            continue;
        s->limit = smp[i].limit;
        rules_over(r, ac, s, strcmp(res->warning, "capacity") == 0 &&
                              rules_is_over(over, smp[i].name), res, now);
        if (capacity_series_add(s->s, res->start_ms, smp[i].value) != 0)
            continue;
        if (ac != NULL) {
            snprintf(key, sizeof(key), "%s%s", RULES_KEY_CAPACITY, s->name);
            snprintf(member, sizeof(member), "%" PRId64 ":%.6g", res->start_ms, smp[i].value);
            redisAsyncCommand(ac, NULL, NULL, "ZADD %s %" PRId64 " %s", key, res->start_ms,
                              member);
            redisAsyncCommand(ac, NULL, NULL, "ZREMRANGEBYSCORE %s -inf (%" PRId64, key,
                              res->start_ms - collector_config(r->c)->alerting.forecast_window_ms);
            redisAsyncCommand(ac, NULL, NULL, "SADD %s %s", RULES_KEY_SERIES, s->name);
        }
        rules_forecast(r, ac, s, res->start_ms, now);
    }
    json_decref(facts);
}

void rules_result(struct rules *r, redisAsyncContext *ac, size_t i,
                  const struct nines_result *res, int64_t now_ms)
{
    const struct nines_check *spec;

    if (r == NULL || r->a == NULL)
        return;
    spec = collector_check_spec(r->c, i);
    rules_cert(r, ac, spec, res, now_ms);
    if (spec->kind == NINES_KIND_HOST)
        rules_capacity(r, ac, spec, res, now_ms);
}

/* ---- stored series, once after a start ------------------------------------- */

struct rules_load {
    struct rules *r;
    char name[RULES_SERIES_NAME];
};

static void rules_on_series(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rules_load *l = privdata;
    redisReply *rep = reply;
    char check[NINES_ID_LEN], loc[NINES_ID_LEN];
    const char *p = l->name, *q;
    struct rules_series *s;

    (void)ac;
    q = strchr(p, '|');
    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && q != NULL &&
        (size_t)(q - p) < sizeof(check) && strchr(q + 1, '|') != NULL &&
        (size_t)(strchr(q + 1, '|') - q - 1) < sizeof(loc)) {
        snprintf(check, sizeof(check), "%.*s", (int)(q - p), p);
        snprintf(loc, sizeof(loc), "%.*s", (int)(strchr(q + 1, '|') - q - 1), q + 1);
        s = collector_check_index(l->r->c, check) >= 0
            ? rules_series_get(l->r, check, loc, strchr(q + 1, '|') + 1, 100.0) : NULL;
        for (size_t i = 0; s != NULL && i < rep->elements; i++) {
            long long t;
            double v;

            if (rep->element[i]->type == REDIS_REPLY_STRING &&
                sscanf(rep->element[i]->str, "%lld:%lf", &t, &v) == 2)
                capacity_series_add(s->s, t, v);
        }
        if (s != NULL && strcmp(s->resource, "load") == 0)
            s->limit = CAPACITY_LOAD_LIMIT_DEFAULT;
    }
    free(l);
}

static void rules_on_series_names(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rules *r = privdata;
    redisReply *rep = reply;

    r->loading = 0;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
        return;
    r->loaded = 1;
    for (size_t i = 0; i < rep->elements; i++) {
        struct rules_load *l;

        if (rep->element[i]->type != REDIS_REPLY_STRING ||
            (l = calloc(1, sizeof(*l))) == NULL)
            continue;
        l->r = r;
        snprintf(l->name, sizeof(l->name), "%s", rep->element[i]->str);
        redisAsyncCommand(ac, rules_on_series, l, "ZRANGE %s%s 0 -1", RULES_KEY_CAPACITY,
                          l->name);
    }
}

/* ---- windows: burn rate and SLA ------------------------------------------------ */

struct rules_job {
    struct rules *r;
    size_t service;                 /* index in the configuration */
    int64_t now_ms;
};

static double rules_burn(const struct uptime_result *u, double target_pct)
{
    double rate = 0;

    return burn_rate(u, target_pct, &rate) == 0 ? rate : 0;
}

static void rules_burn_eval(struct rules *r, struct sla_query *q,
                            const struct nines_service_cfg *svc, int64_t now)
{
    const struct nines_alerting_cfg *al = &collector_config(r->c)->alerting;
    double target = svc->target_pct > 0 ? svc->target_pct : 99.9;

    for (size_t k = 0; k < al->burn_rates_count; k++) {
        const struct nines_burn_rule_cfg *b = &al->burn_rates[k];
        struct uptime_result lu, su;
        double lr, sr = 0;
        char what[NOTIFY_KEY_LEN];
        struct notification n;

        if (sla_service_uptime(r->c, q, svc, now - b->long_ms, now, &lu) != 0 ||
            (b->short_ms > 0 &&
             sla_service_uptime(r->c, q, svc, now - b->short_ms, now, &su) != 0))
            continue;
        lr = rules_burn(&lu, target);
        if (b->short_ms > 0)
            sr = rules_burn(&su, target);
        snprintf(what, sizeof(what), "burn_rate/%s/%zu", svc->id, k);
        if (!burn_exceeds(lr, b->factor) || (b->short_ms > 0 && !burn_exceeds(sr, b->factor))) {
            alerter_clear(r->a, NULL, what, now, now);
            continue;
        }
        memset(&n, 0, sizeof(n));
        rules_labels(r, NULL, svc->id, &n);
        snprintf(n.rule, sizeof(n.rule), "burn_rate");
        snprintf(n.severity, sizeof(n.severity), "%s", b->severity);
        snprintf(n.reason, sizeof(n.reason), "burn_rate");
        snprintf(n.summary, sizeof(n.summary), "%.60s burns its error budget %.1fx over %"
                 PRId64 " min (%.1fx over %" PRId64 " min; factor %.1f, target %.3f%%)",
                 svc->id, lr, b->long_ms / 60000, sr, b->short_ms / 60000, b->factor, target);
        rules_fire(r, NULL, what, &n, now, now);
    }
}

/* Month-to-date availability of the service against every customer SLA
 * that covers it. */
static void rules_sla_eval(struct rules *r, struct sla_query *q,
                           const struct nines_service_cfg *svc, int64_t now)
{
    const struct nines_config *cfg = collector_config(r->c);

    for (size_t c = 0; c < cfg->customers_count; c++) {
        const struct nines_customer_cfg *cu = &cfg->customers[c];
        const struct nines_tz *tz;
        struct nines_err err = { 0 };
        struct nines_tm tm;
        int64_t from;

        tz = nines_tzcache_get(collector_tzcache(r->c), cu->timezone, &err);
        if (tz == NULL)
            continue;
        nines_tz_utc_to_local(tz, now, &tm);
        from = nines_tz_month_start_utc_ms(tz, tm.year, tm.month);
        for (size_t s = 0; s < cu->slas_count; s++) {
            const struct nines_sla_cfg *sla = &cu->slas[s];
            int covers = 0;
            struct uptime_result u;
            char what[NOTIFY_KEY_LEN];
            struct notification n;

            for (size_t j = 0; j < cu->services_count && !covers; j++)
                covers = strcmp(cu->services[j], svc->id) == 0;
            for (size_t j = 0; covers && sla->services_count > 0 && j < sla->services_count; j++)
                covers = strcmp(sla->services[j], svc->id) == 0 ? 2 : covers;
            if (!covers || (sla->services_count > 0 && covers != 2) ||
                sla_service_uptime(r->c, q, svc, from, now, &u) != 0)
                continue;
            snprintf(what, sizeof(what), "sla_breached/%.55s/%.55s/%.55s", cu->id, sla->name,
                     svc->id);
            if (u.no_eligible_time || u.uptime * 100.0 >= sla->target_pct) {
                alerter_clear(r->a, NULL, what, now, now);
                continue;
            }
            memset(&n, 0, sizeof(n));
            rules_labels(r, NULL, svc->id, &n);
            snprintf(n.customer, sizeof(n.customer), "%s", cu->id);
            snprintf(n.rule, sizeof(n.rule), "sla_breached");
            snprintf(n.severity, sizeof(n.severity), "ticket");
            snprintf(n.reason, sizeof(n.reason), "sla_breached");
            snprintf(n.summary, sizeof(n.summary), "%.60s: SLA %.40s of %.60s breached this "
                     "month: %.3f%% (target %.3f%%)", svc->id, sla->name, cu->id,
                     floor(u.uptime * 100000.0) / 1000.0, sla->target_pct);
            rules_fire(r, NULL, what, &n, from, now);
        }
    }
}

static void rules_on_fetched(struct sla_query *q, int status, void *arg)
{
    struct rules_job *job = arg;
    struct rules *r = job->r;
    const struct nines_config *cfg = collector_config(r->c);

    r->jobs--;
    if (status == 0 && job->service < cfg->services_count &&
        cfg->services[job->service].checks_count == sla_query_count(q)) {
        rules_burn_eval(r, q, &cfg->services[job->service], job->now_ms);
        rules_sla_eval(r, q, &cfg->services[job->service], job->now_ms);
    }
    sla_free(q);
    free(job);
}

/* How far back the service's rules look: the longest burn window, and the
 * start of the month in its customers' time zones. */
static int64_t rules_from(struct rules *r, const struct nines_service_cfg *svc, int64_t now)
{
    const struct nines_config *cfg = collector_config(r->c);
    int64_t from = now;

    for (size_t k = 0; k < cfg->alerting.burn_rates_count; k++)
        if (now - cfg->alerting.burn_rates[k].long_ms < from)
            from = now - cfg->alerting.burn_rates[k].long_ms;
    for (size_t c = 0; c < cfg->customers_count; c++) {
        const struct nines_tz *tz;
        struct nines_err err = { 0 };
        struct nines_tm tm;
        int64_t m;

        for (size_t j = 0; j < cfg->customers[c].services_count; j++) {
            if (strcmp(cfg->customers[c].services[j], svc->id) != 0 ||
                (tz = nines_tzcache_get(collector_tzcache(r->c), cfg->customers[c].timezone,
                                        &err)) == NULL)
                continue;
            nines_tz_utc_to_local(tz, now, &tm);
            m = nines_tz_month_start_utc_ms(tz, tm.year, tm.month);
            if (m < from)
                from = m;
        }
    }
    return from;
}

void rules_tick(struct rules *r, int64_t now_ms)
{
    const struct nines_config *cfg;
    redisAsyncContext *ac;

    if (r == NULL || r->a == NULL || (ac = collector_redis(r->c)) == NULL)
        return;
    if (!r->loaded && !r->loading) {
        r->loading = 1;
        if (redisAsyncCommand(ac, rules_on_series_names, r, "SMEMBERS %s", RULES_KEY_SERIES) !=
            REDIS_OK)
            r->loading = 0;
    }
    cfg = collector_config(r->c);
    if (now_ms < r->next_eval_ms || r->jobs > 0)
        return;
    r->next_eval_ms = now_ms + cfg->alerting.evaluate_every_ms;
    for (size_t i = 0; i < cfg->services_count; i++) {
        const struct nines_service_cfg *svc = &cfg->services[i];
        struct rules_job *job = calloc(1, sizeof(*job));

        if (job == NULL)
            return;
        job->r = r;
        job->service = i;
        job->now_ms = now_ms;
        if (sla_fetch(r->c, (const char *const *)svc->checks, svc->checks_count,
                      rules_from(r, svc, now_ms), now_ms, rules_on_fetched, job) == NULL) {
            free(job);
            return;
        }
        r->jobs++;
    }
}
