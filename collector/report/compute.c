/* The monthly report's figures from stored intervals; see compute.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "drill.h"
#include "histo.h"
#include "kpigather.h"
#include "history.h"
#include "nines/clock.h"
#include "nines/wire.h"
#include "sla.h"
#include "state.h"
#include "store.h"
#include "tz.h"
#include "uptime.h"

#define RC_DAY_MS INT64_C(86400000)
#define RC_MAX_REPLY 1000000 /* members of one zset: far beyond any real month */

struct rc_check {
    const char *id;
    struct nines_ivset down;     /* as stored (open = until now) */
    struct nines_ivset gaps;     /* no data, incl. before the first result */
    struct nines_ivset down_net; /* down outside the check's own maintenance */
};

struct rc_svc {
    const struct nines_service_cfg *cfg;
    size_t *idx; /* into ctx.checks */
    size_t n;
    struct nines_ivset down, nodata, maint;
};

struct rc_ctx {
    redisContext *rc;
    const struct nines_config *cfg;
    const struct nines_customer_cfg *cust;
    const struct nines_sla_cfg *sla;
    struct nines_tz *tz;
    struct nines_tzcache *tzc;
    int year, month;
    int64_t now_ms, span_from, from, to;
    struct sla_maint *maint;
    size_t nmaint;
    struct rc_check *checks;
    size_t nchecks;
    struct rc_svc *svcs;
    size_t nsvcs;
    struct rc_svc overall;
    struct nines_ivset bh; /* business hours over [span_from, to) */
    struct nines_err *err;
};

/* Parts per 1e8 of the eligible time that may be down: (100 − target) × 1e6. */
static int64_t rc_allowed_ms(double target_pct, int64_t eligible_ms)
{
    int64_t ppe8 = llround((100.0 - target_pct) * 1e6);

    if (ppe8 < 0)
        ppe8 = 0;
    return eligible_ms * ppe8 / INT64_C(100000000);
}

static void rc_svc_close(struct rc_svc *s)
{
    free(s->idx);
    nines_ivset_close(&s->down);
    nines_ivset_close(&s->nodata);
    nines_ivset_close(&s->maint);
}

static void rc_ctx_close(struct rc_ctx *x)
{
    for (size_t i = 0; i < x->nmaint; i++)
        sla_maint_clear(&x->maint[i]);
    free(x->maint);
    for (size_t i = 0; i < x->nchecks; i++) {
        nines_ivset_close(&x->checks[i].down);
        nines_ivset_close(&x->checks[i].gaps);
        nines_ivset_close(&x->checks[i].down_net);
    }
    free(x->checks);
    for (size_t i = 0; i < x->nsvcs; i++)
        rc_svc_close(&x->svcs[i]);
    free(x->svcs);
    rc_svc_close(&x->overall);
    nines_ivset_close(&x->bh);
    nines_tz_free(x->tz);
    nines_tzcache_free(x->tzc);
}

/* A reply we can use, or NINES_EIO/NINES_EPROTO with err naming the command. */
static redisReply *rc_cmd(struct rc_ctx *x, int type, const char *what, const char *fmt,
                          const char *a, const char *b)
{
    redisReply *r = redisCommand(x->rc, fmt, a, b);

    if (r == NULL) {
        nines_err_set(x->err, NINES_EIO, "redis %s: %s", what, x->rc->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_NIL && type == REDIS_REPLY_STRING)
        return r;
    if (r->type != type || (type == REDIS_REPLY_ARRAY && r->elements > RC_MAX_REPLY)) {
        nines_err_set(x->err, NINES_EPROTO, "redis %s: unexpected reply%s%s", what,
                      r->type == REDIS_REPLY_ERROR ? ": " : "",
                      r->type == REDIS_REPLY_ERROR ? r->str : "");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* The stored "start-end" members of key+check that start before `to`. */
static int rc_load_intervals(struct rc_ctx *x, const char *prefix, const char *check,
                             struct nines_ivset *out)
{
    char key[256], to[32];
    redisReply *r;
    int rc = 0;

    snprintf(key, sizeof(key), "%s%s", prefix, check);
    snprintf(to, sizeof(to), "(%" PRId64, x->to);
    r = rc_cmd(x, REDIS_REPLY_ARRAY, key, "ZRANGEBYSCORE %s -inf %s", key, to);
    if (r == NULL)
        return x->err->code;
    for (size_t i = 0; rc == 0 && i < r->elements; i++) {
        int64_t s, e;

        if (r->element[i]->type != REDIS_REPLY_STRING ||
            sla_parse_interval(r->element[i]->str, x->now_ms, &s, &e) != 0) {
            rc = nines_err_set(x->err, NINES_EPROTO, "%s: member %zu is not \"start-end\"", key,
                               i);
        } else if (nines_ivset_add(out, s, e) != 0) {
            rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        }
    }
    freeReplyObject(r);
    return rc;
}

/* No data before the check's first result, and since it went UNKNOWN (the
 * store records a gap only once it closes), as the collector's sla.c does. */
static int rc_load_first(struct rc_ctx *x, struct rc_check *k)
{
    struct check_state *st = calloc(1, sizeof(*st));
    char key[256];
    redisReply *r;
    int64_t first = x->now_ms;
    int rc = 0;

    if (st == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    snprintf(key, sizeof(key), "%s%s", NINES_KEY_STATE_PREFIX, k->id);
    r = rc_cmd(x, REDIS_REPLY_STRING, key, "HGET %s %s", key, "doc");
    if (r == NULL) {
        free(st);
        return x->err->code;
    }
    if (r->type == REDIS_REPLY_STRING && state_decode(st, r->str, r->len) == 0) {
        if (st->first_ms > 0)
            first = st->first_ms;
        if (st->state == CHECK_UNKNOWN && st->last_ms > 0)
            rc = nines_ivset_add(&k->gaps, st->since_ms, x->now_ms);
    }
    freeReplyObject(r);
    free(st);
    /* no data before the first live result, except where imported history
     * covers it (nines import: HISTORY_KEY_IMPORTED), as the collector's sla.c */
    if (rc == 0) {
        struct nines_ivset before, imported, tmp;

        nines_ivset_init(&before);
        nines_ivset_init(&imported);
        nines_ivset_init(&tmp);
        rc = nines_ivset_add(&before, x->span_from, first);
        if (rc == 0)
            rc = rc_load_intervals(x, HISTORY_KEY_IMPORTED, k->id, &imported);
        if (rc == 0 && nines_ivset_subtract(&before, &imported, &tmp) != 0)
            rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        if (rc == 0 && nines_ivset_union(&k->gaps, &tmp, &before) != 0)
            rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        if (rc == 0 && nines_ivset_copy(&before, &k->gaps) != 0)
            rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        nines_ivset_close(&before);
        nines_ivset_close(&imported);
        nines_ivset_close(&tmp);
        return rc;
    }
    return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
}

/* Configured windows, then those stored through the CLI/API (invalid ones
 * are skipped, as the collector skips them). */
static int rc_load_maint(struct rc_ctx *x)
{
    size_t cap = x->cfg->maintenance_count;
    redisReply *r = rc_cmd(x, REDIS_REPLY_ARRAY, "HGETALL " SLA_KEY_MAINTENANCE, "HGETALL %s",
                           SLA_KEY_MAINTENANCE, NULL);

    if (r == NULL)
        return x->err->code;
    cap += r->elements / 2;
    x->maint = calloc(cap + 1, sizeof(*x->maint));
    if (x->maint == NULL) {
        freeReplyObject(r);
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < x->cfg->maintenance_count; i++)
        if (sla_maint_from_cfg(&x->cfg->maintenance[i], &x->maint[x->nmaint]) == 0)
            x->nmaint++;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        struct nines_err e = { 0 };
        const redisReply *v = r->element[i + 1];

        if (v->type == REDIS_REPLY_STRING &&
            sla_maint_from_json(v->str, v->len, &x->maint[x->nmaint], &e) == 0)
            x->nmaint++;
    }
    freeReplyObject(r);
    return 0;
}

/* Occurrences of window m meeting [from, to) appended to out. */
static int rc_expand(struct rc_ctx *x, const struct sla_maint *m, int64_t from, int64_t to,
                     struct nines_ivset *out)
{
    const struct nines_tz *tz = NULL;
    struct nines_err e = { 0 };

    if (m->w.kind == MAINT_RECURRING &&
        (tz = nines_tzcache_get(x->tzc, m->w.tz, &e)) == NULL)
        return nines_err_set(x->err, NINES_EINVAL, "maintenance window %s: %s", m->id, e.msg);
    if (maint_expand(&m->w, tz, from, to, out) != 0)
        return nines_err_set(x->err, NINES_EINVAL, "maintenance window %s: cannot expand",
                             m->id);
    return 0;
}

/* The maintenance covering check (svc NULL) or svc, over the whole span. */
static int rc_maint_of(struct rc_ctx *x, const char *check, const struct nines_service_cfg *svc,
                       struct nines_ivset *out)
{
    int rc = 0;

    if (x->sla->maintenance_counts)
        return 0; /* not excluded: nothing is cut out */
    for (size_t i = 0; rc == 0 && i < x->nmaint; i++)
        if (sla_maint_covers_cfg(x->cfg, &x->maint[i], check, svc))
            rc = rc_expand(x, &x->maint[i], x->span_from, x->to, out);
    if (rc == 0)
        nines_ivset_normalise(out);
    return rc;
}

static const struct nines_service_cfg *rc_service(const struct nines_config *cfg,
                                                  const char *id)
{
    for (size_t i = 0; i < cfg->services_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

static long rc_check_index(const struct rc_ctx *x, const char *id)
{
    for (size_t i = 0; i < x->nchecks; i++)
        if (strcmp(x->checks[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* The SLA's services and the distinct checks under them. */
static int rc_pick_services(struct rc_ctx *x)
{
    char *const *ids = x->sla->services_count ? x->sla->services : x->cust->services;
    size_t n = x->sla->services_count ? x->sla->services_count : x->cust->services_count;
    size_t total = 0;

    if (n == 0)
        return nines_err_set(x->err, NINES_EINVAL, "customer %s: no services", x->cust->id);
    x->svcs = calloc(n, sizeof(*x->svcs));
    for (size_t i = 0; x->svcs != NULL && i < n; i++) {
        if ((x->svcs[i].cfg = rc_service(x->cfg, ids[i])) == NULL)
            return nines_err_set(x->err, NINES_EINVAL, "customer %s: unknown service '%s'",
                                 x->cust->id, ids[i]);
        total += x->svcs[i].cfg->checks_count;
    }
    x->checks = calloc(total + 1, sizeof(*x->checks));
    if (x->svcs == NULL || x->checks == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    x->nsvcs = n;
    for (size_t i = 0; i < n; i++) {
        const struct nines_service_cfg *s = x->svcs[i].cfg;

        if ((x->svcs[i].idx = calloc(s->checks_count + 1, sizeof(size_t))) == NULL)
            return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        for (size_t j = 0; j < s->checks_count; j++) {
            long k = rc_check_index(x, s->checks[j]);

            if (k < 0) {
                k = (long)x->nchecks++;
                x->checks[k].id = s->checks[j];
            }
            x->svcs[i].idx[x->svcs[i].n++] = (size_t)k;
        }
    }
    return 0;
}

/* Down, no-data and maintenance sets of every check and service. */
static int rc_build_sets(struct rc_ctx *x)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < x->nchecks; i++) {
        struct rc_check *k = &x->checks[i];
        struct nines_ivset own;

        nines_ivset_init(&own);
        rc = rc_load_intervals(x, STORE_KEY_DOWN, k->id, &k->down);
        if (rc == 0)
            rc = rc_load_intervals(x, STORE_KEY_GAPS, k->id, &k->gaps);
        if (rc == 0)
            rc = rc_load_first(x, k);
        if (rc == 0)
            rc = rc_maint_of(x, k->id, NULL, &own);
        if (rc == 0 && nines_ivset_subtract(&k->down, &own, &k->down_net) != 0)
            rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        nines_ivset_close(&own);
    }
    for (size_t i = 0; rc == 0 && i < x->nsvcs; i++) {
        struct rc_svc *s = &x->svcs[i];
        struct nines_ivset *downs = calloc(s->n + 1, sizeof(*downs));
        struct nines_ivset *gaps = calloc(s->n + 1, sizeof(*gaps));
        const char **ids = calloc(s->n + 1, sizeof(*ids));

        for (size_t j = 0; downs && gaps && ids && j < s->n; j++) {
            downs[j] = x->checks[s->idx[j]].down_net; /* borrowed */
            gaps[j] = x->checks[s->idx[j]].gaps;
            ids[j] = x->checks[s->idx[j]].id;
        }
        if (!downs || !gaps || !ids ||
            sla_service_sets(s->cfg, ids, downs, gaps, s->n, &s->down, &s->nodata) != 0)
            rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        free(downs);
        free(gaps);
        free(ids);
        if (rc == 0)
            rc = rc_maint_of(x, NULL, s->cfg, &s->maint);
    }
    return rc;
}

/* a = a op b, through a temporary. */
static int rc_combine(struct nines_ivset *a, const struct nines_ivset *b, int intersect)
{
    struct nines_ivset t;
    int rc;

    nines_ivset_init(&t);
    rc = intersect ? nines_ivset_intersect(a, b, &t) : nines_ivset_union(a, b, &t);
    if (rc == 0)
        rc = nines_ivset_copy(&t, a);
    nines_ivset_close(&t);
    return rc;
}

/* Overall: down while any service is (outside its maintenance), no data
 * while none has data, maintenance while all are in it. */
static int rc_build_overall(struct rc_ctx *x)
{
    struct rc_svc *o = &x->overall;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < x->nsvcs; i++) {
        struct rc_svc *s = &x->svcs[i];
        struct nines_ivset net;

        nines_ivset_init(&net);
        rc = nines_ivset_subtract(&s->down, &s->maint, &net);
        if (rc == 0)
            rc = rc_combine(&o->down, &net, 0);
        nines_ivset_close(&net);
        if (rc == 0)
            rc = i == 0 ? nines_ivset_copy(&s->nodata, &o->nodata)
                        : rc_combine(&o->nodata, &s->nodata, 1);
        if (rc == 0)
            rc = i == 0 ? nines_ivset_copy(&s->maint, &o->maint)
                        : rc_combine(&o->maint, &s->maint, 1);
    }
    return rc != 0 ? nines_err_set(x->err, NINES_ENOMEM, "out of memory") : 0;
}

/* Probe coverage of every check over [from, min(to, now)), from the no-data
 * sets rc_build_sets loaded (the same the service figures use). */
static int rc_coverage(struct rc_ctx *x, struct report *r)
{
    struct report_check *v = calloc(x->nchecks + 1, sizeof(*v));
    int64_t end = x->to < x->now_ms ? x->to : x->now_ms;

    if (v == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    r->checks = v;
    r->checks_count = x->nchecks;
    for (size_t i = 0; i < x->nchecks; i++) {
        struct nines_ivset g;

        snprintf(v[i].id, sizeof(v[i].id), "%s", x->checks[i].id);
        v[i].window_ms = end > x->from ? end - x->from : 0;
        nines_ivset_init(&g);
        if (nines_ivset_copy(&x->checks[i].gaps, &g) != 0) {
            nines_ivset_close(&g);
            return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        }
        nines_ivset_clip(&g, x->from, end);
        v[i].nodata_ms = nines_ivset_total_ms(&g);
        nines_ivset_close(&g);
        v[i].coverage_pct = v[i].window_ms > 0
                                ? 100.0 * (double)(v[i].window_ms - v[i].nodata_ms) /
                                      (double)v[i].window_ms
                                : -1;
    }
    return 0;
}

/* Business-hours intervals over the span, or the span itself. */
static int rc_business_hours(struct rc_ctx *x)
{
    const struct nines_sla_cfg *sla = x->sla;
    int64_t days0 = nines_days_from_civil(x->year, x->month - 3, 1);
    int64_t days1 = nines_days_from_civil(x->year, x->month + 1, 1);
    int rc = 0;

    if (sla->business_days == 0)
        return nines_ivset_add(&x->bh, x->span_from, x->to) != 0
                   ? nines_err_set(x->err, NINES_ENOMEM, "out of memory")
                   : 0;
    for (int64_t d = days0; rc == 0 && d < days1; d++) {
        int64_t y;
        int m, dd;

        if ((sla->business_days & (1 << nines_weekday_from_days(d))) == 0)
            continue;
        nines_civil_from_days(d, &y, &m, &dd);
        rc = nines_ivset_add(
            &x->bh,
            nines_tz_local_to_utc_ms(x->tz, (int)y, m, dd, sla->business_from_minute / 60,
                                     sla->business_from_minute % 60, 0, 0),
            nines_tz_local_to_utc_ms(x->tz, (int)y, m, dd, sla->business_to_minute / 60,
                                     sla->business_to_minute % 60, 0, 0));
    }
    nines_ivset_normalise(&x->bh);
    return rc != 0 ? nines_err_set(x->err, NINES_ENOMEM, "out of memory") : 0;
}

/* uptime_compute summed over the business intervals inside [from, to). */
static int rc_figures(struct rc_ctx *x, const struct rc_svc *s, int64_t from, int64_t to,
                      struct uptime_result *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (size_t i = 0; i < x->bh.n; i++) {
        struct uptime_input in = { 0 };
        struct uptime_result r;

        in.from_ms = x->bh.v[i].start_ms > from ? x->bh.v[i].start_ms : from;
        in.to_ms = x->bh.v[i].end_ms < to ? x->bh.v[i].end_ms : to;
        if (in.from_ms >= in.to_ms)
            continue;
        in.down = &s->down;
        in.maintenance = &s->maint;
        in.nodata = &s->nodata;
        in.nodata_is_down = x->sla->nodata_counts_down;
        if (uptime_compute(&in, &r) != 0)
            return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
        sum->window_ms += r.window_ms;
        sum->maintenance_ms += r.maintenance_ms;
        sum->nodata_ms += r.nodata_ms;
        sum->downtime_ms += r.downtime_ms;
        sum->eligible_ms += r.eligible_ms;
    }
    sum->no_eligible_time = sum->eligible_ms == 0;
    return 0;
}

static double rc_pct(const struct uptime_result *u)
{
    if (u->eligible_ms == 0)
        return -1;
    return 100.0 * (1.0 - (double)u->downtime_ms / (double)u->eligible_ms);
}

/* The largest credit of the tiers availability is below. */
static double rc_credit(const struct nines_sla_cfg *sla, double avail_pct)
{
    double credit = 0;

    for (size_t i = 0; avail_pct >= 0 && i < sla->credits_count; i++)
        if (avail_pct < sla->credits[i].below_pct && sla->credits[i].credit_pct > credit)
            credit = sla->credits[i].credit_pct;
    return credit;
}

/* A day histogram's HGETALL reply r (of key) merged into h, when it exists. */
static int rc_histo_merge_reply(struct rc_ctx *x, const char *key, const redisReply *r,
                                struct nines_histo *h)
{
    struct nines_histo day;
    const char **str;
    size_t *len;
    int rc = 0;

    if (r->type != REDIS_REPLY_ARRAY || r->elements > RC_MAX_REPLY)
        return nines_err_set(x->err, NINES_EPROTO, "redis %s: unexpected reply%s%s", key,
                             r->type == REDIS_REPLY_ERROR ? ": " : "",
                             r->type == REDIS_REPLY_ERROR ? r->str : "");
    str = calloc(r->elements + 1, sizeof(*str));
    len = calloc(r->elements + 1, sizeof(*len));
    if (str == NULL || len == NULL)
        rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < r->elements; i++) {
        str[i] = r->element[i]->str;
        len[i] = r->element[i]->len;
    }
    if (rc == 0 && r->elements > 0) {
        if (nines_histo_decode_hash(&day, str, len, r->elements) != 0)
            rc = nines_err_set(x->err, NINES_EPROTO, "%s: not a latency histogram", key);
        else if (nines_histo_merge(h, &day) != 0)
            rc = nines_err_set(x->err, NINES_EPROTO, "%s: histogram count overflows", key);
    }
    free(str);
    free(len);
    return rc;
}

/*
 * The UTC day histograms of checks idx[0..n) (NULL: all) merged into h: the
 * HGETALLs pipelined, one round trip for the day instead of one per check
 * (a month's report reads thousands).
 */
static int rc_histo_day(struct rc_ctx *x, const size_t *idx, size_t n, int64_t utc_midnight,
                        struct nines_histo *h)
{
    char key[256];
    size_t sent = 0;
    int rc = 0;

    for (size_t j = 0; j < n; j++) {
        store_latency_key(x->checks[idx ? idx[j] : j].id, utc_midnight, key, sizeof(key));
        if (redisAppendCommand(x->rc, "HGETALL %s", key) != REDIS_OK)
            return nines_err_set(x->err, NINES_EIO, "redis %s: %s", key, x->rc->errstr);
        sent++;
    }
    for (size_t j = 0; j < sent; j++) {
        void *reply = NULL;

        store_latency_key(x->checks[idx ? idx[j] : j].id, utc_midnight, key, sizeof(key));
        if (redisGetReply(x->rc, &reply) != REDIS_OK)
            return nines_err_set(x->err, NINES_EIO, "redis %s: %s", key, x->rc->errstr);
        if (rc == 0)
            rc = rc_histo_merge_reply(x, key, reply, h);
        freeReplyObject(reply);   /* every reply read, so the connection stays in step */
    }
    return rc;
}

/* The UTC midnight inside [from, to), or -1 when there is none. */
static int64_t rc_utc_midnight(int64_t from, int64_t to)
{
    int64_t m = from % RC_DAY_MS == 0 ? from : (from / RC_DAY_MS + 1) * RC_DAY_MS;

    return m < to ? m : -1;
}

static double rc_quantile_ms(const struct nines_histo *h, double q)
{
    return h->count == 0 ? -1 : nines_histo_quantile(h, q) / 1000.0;
}

/* Latency of the checks idx[0..n) (NULL: all checks): per day and month. */
static int rc_latency(struct rc_ctx *x, const struct report *r, const size_t *idx, size_t n,
                      struct report_service *out)
{
    struct nines_histo *month = malloc(sizeof(*month)), *day = malloc(sizeof(*day));
    int rc = month && day ? 0 : nines_err_set(x->err, NINES_ENOMEM, "out of memory");

    if (rc == 0)
        nines_histo_init(month);
    for (int d = 0; rc == 0 && d < r->ndays; d++) {
        int64_t end = d + 1 < r->ndays ? r->day_start_ms[d + 1] : r->to_ms;
        int64_t mid = rc_utc_midnight(r->day_start_ms[d], end);

        nines_histo_init(day);
        if (mid >= 0)
            rc = rc_histo_day(x, idx, n, mid, day);
        out->daily[d].p95_ms = rc_quantile_ms(day, 0.95);
        if (rc == 0 && nines_histo_merge(month, day) != 0)
            rc = nines_err_set(x->err, NINES_EPROTO, "latency: histogram count overflows");
    }
    if (rc == 0) {
        out->p50_ms = rc_quantile_ms(month, 0.50);
        out->p95_ms = rc_quantile_ms(month, 0.95);
        out->p99_ms = rc_quantile_ms(month, 0.99);
    }
    free(month);
    free(day);
    return rc;
}

/* Every figure of one service (or overall) except latency and credit. */
static int rc_service_figures(struct rc_ctx *x, const struct report *r, const struct rc_svc *s,
                              struct report_service *out)
{
    struct uptime_result u;
    int rc = rc_figures(x, s, x->from, x->to, &u);

    if (rc != 0)
        return rc;
    out->target_pct = x->sla->target_pct;
    out->window_ms = u.window_ms;
    out->eligible_ms = u.eligible_ms;
    out->downtime_ms = u.downtime_ms;
    out->maintenance_ms = u.maintenance_ms;
    out->nodata_ms = u.nodata_ms;
    out->no_eligible_time = u.no_eligible_time;
    out->availability_pct = u.no_eligible_time ? 100.0 : rc_pct(&u);
    out->allowed_downtime_ms = rc_allowed_ms(x->sla->target_pct, u.eligible_ms);
    out->met = u.downtime_ms <= out->allowed_downtime_ms;
    out->budget_used_pct = out->allowed_downtime_ms > 0
                               ? 100.0 * (double)u.downtime_ms / (double)out->allowed_downtime_ms
                               : -1;
    out->coverage_pct = u.window_ms - u.maintenance_ms > 0
                            ? 100.0 * (double)(u.window_ms - u.maintenance_ms - u.nodata_ms) /
                                  (double)(u.window_ms - u.maintenance_ms)
                            : -1;
    out->credit_pct = rc_credit(x->sla, u.no_eligible_time ? -1 : out->availability_pct);
    for (int d = 0; rc == 0 && d < r->ndays; d++) {
        int64_t end = d + 1 < r->ndays ? r->day_start_ms[d + 1] : r->to_ms;

        rc = rc_figures(x, s, r->day_start_ms[d], end, &u);
        out->daily[d].availability_pct = rc_pct(&u);
        out->daily[d].downtime_ms = u.downtime_ms;
    }
    for (int k = 0; rc == 0 && k < REPORT_HISTORY; k++) {
        int back = REPORT_HISTORY - k; /* oldest first */
        int64_t a = nines_tz_month_start_utc_ms(x->tz, x->year, x->month - back);
        int64_t b = nines_tz_month_start_utc_ms(x->tz, x->year, x->month - back + 1);
        int64_t mi = (int64_t)x->year * 12 + (x->month - 1) - back;
        char m[32];

        rc = rc_figures(x, s, a, b, &u);
        snprintf(m, sizeof(m), "%04d-%02d", (int)(mi / 12), (int)(mi % 12) + 1);
        snprintf(out->history[k].month, sizeof(out->history[k].month), "%.7s", m);
        out->history[k].availability_pct = rc_pct(&u);
    }
    return rc;
}

/* "a,b": the SLA's services whose checks include check (or svc_of NULL). */
static void rc_services_of_check(const struct rc_ctx *x, const char *check, char *buf,
                                 size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < x->nsvcs; i++) {
        const struct nines_service_cfg *s = x->svcs[i].cfg;

        for (size_t j = 0; j < s->checks_count; j++) {
            if (strcmp(s->checks[j], check) != 0)
                continue;
            if (used + strlen(s->id) + 2 <= len)
                used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                                         s->id);
            break;
        }
    }
}

static void rc_hfield(const redisReply *h, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING &&
            h->element[i + 1]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, name) == 0)
            snprintf(out, len, "%s", h->element[i + 1]->str);
}

/* One incident from its down interval; its hash's HGETALL is queued
 * (pipelined: rc_incident_hash reads the reply). */
static int rc_incident(struct rc_ctx *x, const char *check, const struct nines_interval *iv,
                       int open, struct report_incident *out)
{
    char key[256];

    memset(out, 0, sizeof(*out));
    store_incident_id(check, iv->start_ms, out->id, sizeof(out->id));
    snprintf(out->check, sizeof(out->check), "%s", check);
    rc_services_of_check(x, check, out->services, sizeof(out->services));
    out->start_ms = iv->start_ms;
    out->end_ms = open ? 0 : iv->end_ms;
    snprintf(key, sizeof(key), "%s%s", STORE_KEY_INCIDENT, out->id);
    if (redisAppendCommand(x->rc, "HGETALL %s", key) != REDIS_OK)
        return nines_err_set(x->err, NINES_EIO, "redis %s: %s", key, x->rc->errstr);
    return 0;
}

/* The queued HGETALL of out's hash, read into its fields. */
static int rc_incident_hash(struct rc_ctx *x, struct report_incident *out)
{
    char reason[REPORT_TEXT_LEN], message[REPORT_TEXT_LEN], num[32];
    void *reply = NULL;
    redisReply *h;

    if (redisGetReply(x->rc, &reply) != REDIS_OK)
        return nines_err_set(x->err, NINES_EIO, "redis %s%s: %s", STORE_KEY_INCIDENT, out->id,
                             x->rc->errstr);
    h = reply;
    if (h->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(h);
        return nines_err_set(x->err, NINES_EPROTO, "redis %s%s: unexpected reply",
                             STORE_KEY_INCIDENT, out->id);
    }
    rc_hfield(h, "reason", reason, sizeof(reason));
    rc_hfield(h, "message", message, sizeof(message));
    snprintf(out->cause, sizeof(out->cause), "%.200s%s%.300s", reason,
             reason[0] && message[0] ? ": " : "", message);
    rc_hfield(h, "ack_by", out->acked_by, sizeof(out->acked_by));
    rc_hfield(h, "ack_ms", num, sizeof(num));
    out->acked_ms = out->acked_by[0] ? strtoll(num, NULL, 10) : 0;
    if (out->acked_ms < 0)
        out->acked_ms = 0;
    rc_hfield(h, "caused_by", out->caused_by, sizeof(out->caused_by));
    rc_hfield(h, "maintenance", out->maintenance, sizeof(out->maintenance));
    freeReplyObject(h);
    return 0;
}

static int rc_incident_cmp(const void *a, const void *b)
{
    const struct report_incident *x = a, *y = b;

    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Incidents of the SLA's checks overlapping the month: the down intervals
 * (one per incident, its id is check@start) and their hashes. */
static int rc_incidents(struct rc_ctx *x, struct report *r)
{
    struct report_incident *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < x->nchecks; i++) {
        char key[256], to[32];
        redisReply *z;
        size_t first = n;

        snprintf(key, sizeof(key), "%s%s", STORE_KEY_DOWN, x->checks[i].id);
        snprintf(to, sizeof(to), "(%" PRId64, x->to);
        if ((z = rc_cmd(x, REDIS_REPLY_ARRAY, key, "ZRANGEBYSCORE %s -inf %s", key, to)) == NULL) {
            free(v);
            return x->err->code;
        }
        for (size_t j = 0; rc == 0 && j < z->elements; j++) {
            const char *m = z->element[j]->str;
            struct nines_interval iv;
            int open;

            if (sla_parse_interval(m, x->now_ms, &iv.start_ms, &iv.end_ms) != 0)
                continue;
            open = strcmp(strchr(m, '-'), "-0") == 0;
            if (!open && iv.end_ms <= x->from)
                continue;
            if (n == cap) {
                struct report_incident *nv = realloc(v, (cap ? 2 * cap : 16) * sizeof(*v));

                if (nv == NULL) {
                    rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
                    break;
                }
                v = nv;
                cap = cap ? 2 * cap : 16;
            }
            rc = rc_incident(x, x->checks[i].id, &iv, open, &v[n]);
            n += rc == 0;
        }
        freeReplyObject(z);
        /* the check's incident hashes, queued above: one round trip */
        for (size_t k = first; k < n; k++) {
            int e = rc_incident_hash(x, &v[k]);

            rc = rc == 0 ? e : rc;  /* every reply read, so the connection stays in step */
        }
    }
    if (rc != 0) {
        free(v);
        return rc;
    }
    if (n > 0)
        qsort(v, n, sizeof(*v), rc_incident_cmp);
    r->incidents = v;
    r->incidents_count = n;
    return 0;
}

static int rc_maint_cmp(const void *a, const void *b)
{
    const struct report_maint *x = a, *y = b;

    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Which of the SLA's services window m covers: -1 none, 0 all, else n. */
static int rc_maint_services(const struct rc_ctx *x, const struct sla_maint *m, char *buf,
                             size_t len)
{
    size_t used = 0;
    int n = 0;

    buf[0] = '\0';
    if (m->checks_count == 0 && m->services_count == 0)
        return 0;
    for (size_t i = 0; i < x->nsvcs; i++) {
        const struct nines_service_cfg *s = x->svcs[i].cfg;
        int hit = sla_maint_covers_cfg(x->cfg, m, NULL, s);

        for (size_t j = 0; !hit && j < s->checks_count; j++)
            hit = sla_maint_covers_cfg(x->cfg, m, s->checks[j], NULL);
        if (!hit)
            continue;
        n++;
        if (used + strlen(s->id) + 2 <= len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", s->id);
    }
    return n > 0 ? n : -1;
}

/* Maintenance windows taken in the month that touch the SLA's services. */
static int rc_maintenance(struct rc_ctx *x, struct report *r)
{
    struct report_maint *v = NULL;
    size_t n = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < x->nmaint; i++) {
        struct nines_ivset occ;
        char services[REPORT_TEXT_LEN];

        if (rc_maint_services(x, &x->maint[i], services, sizeof(services)) < 0)
            continue;
        nines_ivset_init(&occ);
        rc = rc_expand(x, &x->maint[i], x->from, x->to, &occ);
        if (rc == 0 && occ.n > 0) {
            struct report_maint *nv = realloc(v, (n + occ.n) * sizeof(*v));

            if (nv == NULL)
                rc = nines_err_set(x->err, NINES_ENOMEM, "out of memory");
            for (size_t j = 0; nv != NULL && j < occ.n; j++) {
                struct report_maint *m = &nv[n++];

                memset(m, 0, sizeof(*m));
                snprintf(m->id, sizeof(m->id), "%s", x->maint[i].id);
                snprintf(m->reason, sizeof(m->reason), "%s", x->maint[i].reason);
                snprintf(m->services, sizeof(m->services), "%s", services);
                m->start_ms = occ.v[j].start_ms;
                m->end_ms = occ.v[j].end_ms;
            }
            if (nv != NULL)
                v = nv;
        }
        nines_ivset_close(&occ);
    }
    if (rc != 0) {
        free(v);
        return rc;
    }
    if (n > 0)
        qsort(v, n, sizeof(*v), rc_maint_cmp);
    r->maintenance = v;
    r->maintenance_count = n;
    return 0;
}

/* DR drills of the SLA's services that started in the month (ended ones:
 * nines:drill:ID, indexed by T0 in nines:drills). */
static int rc_drills(struct rc_ctx *x, struct report *r)
{
    redisReply *ids = redisCommand(x->rc, "ZRANGEBYSCORE %s %" PRId64 " (%" PRId64,
                                   DRILL_KEY_ALL, x->from, x->to);
    struct report_drill *v;
    size_t n = 0;

    if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(ids);
        return nines_err_set(x->err, NINES_EIO, "Redis: cannot read %s", DRILL_KEY_ALL);
    }
    v = calloc(ids->elements + 1, sizeof(*v));
    if (v == NULL) {
        freeReplyObject(ids);
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ids->elements; i++) {
        redisReply *d = redisCommand(x->rc, "GET %s%s", DRILL_KEY, ids->element[i]->str);
        json_t *doc = d != NULL && d->type == REDIS_REPLY_STRING
                      ? json_loadb(d->str, d->len, 0, NULL) : NULL;
        const char *svc = json_string_value(json_object_get(doc, "service"));
        int ours = 0;
        struct report_drill *o = &v[n];

        for (size_t k = 0; svc != NULL && k < x->nsvcs; k++)
            ours |= strcmp(x->svcs[k].cfg->id, svc) == 0;
        if (ours) {
            json_t *rto = json_object_get(doc, "rto_ms"), *rpo = json_object_get(doc, "rpo_ms");
            json_t *rto_o = json_object_get(doc, "rto_objective_ms");
            json_t *rpo_o = json_object_get(doc, "rpo_objective_ms");
            const char *verdict = json_string_value(json_object_get(doc, "verdict"));

            snprintf(o->id, sizeof(o->id), "%s", ids->element[i]->str);
            snprintf(o->service, sizeof(o->service), "%s", svc);
            snprintf(o->scenario, sizeof(o->scenario), "%s",
                     json_string_value(json_object_get(doc, "scenario")) ?: "");
            o->start_ms = json_integer_value(json_object_get(doc, "t0_ms"));
            o->rto_ms = json_is_integer(rto) ? json_integer_value(rto) : -1;
            o->rpo_ms = json_is_integer(rpo) ? json_integer_value(rpo) : -1;
            o->rto_objective_ms = json_is_integer(rto_o) ? json_integer_value(rto_o) : -1;
            o->rpo_objective_ms = json_is_integer(rpo_o) ? json_integer_value(rpo_o) : -1;
            o->passed = strcmp(json_string_value(json_object_get(doc, "state")) ?: "",
                               "passed") == 0;
            snprintf(o->note, sizeof(o->note), "%s", verdict ? verdict : "");
            n++;
        }
        json_decref(doc);
        freeReplyObject(d);
    }
    freeReplyObject(ids);
    r->drills = v;
    r->drills_count = n;
    return 0;
}

static const char *const rc_daynames[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* The SLA's terms as the report shows them. */
static int rc_sla_terms(struct rc_ctx *x, struct report *r)
{
    const struct nines_sla_cfg *sla = x->sla;
    struct report_credit_tier *t = calloc(sla->credits_count + 1, sizeof(*t));
    size_t used = 0;

    if (t == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    snprintf(r->sla.name, sizeof(r->sla.name), "%s", sla->name ? sla->name : "sla");
    r->sla.target_pct = sla->target_pct;
    r->sla.nodata_counts_down = sla->nodata_counts_down;
    r->sla.maintenance_excluded = !sla->maintenance_counts;
    for (size_t i = 0; i < sla->credits_count; i++) {
        t[i].below_pct = sla->credits[i].below_pct;
        t[i].credit_pct = sla->credits[i].credit_pct;
    }
    r->sla.tiers = t;
    r->sla.tiers_count = sla->credits_count;
    for (int d = 0; sla->business_days != 0 && d < 7; d++)
        if (sla->business_days & (1 << d))
            used += (size_t)snprintf(r->sla.business_hours + used,
                                     sizeof(r->sla.business_hours) - used, "%s%s",
                                     used ? "," : "", rc_daynames[d]);
    if (sla->business_days != 0)
        snprintf(r->sla.business_hours + used, sizeof(r->sla.business_hours) - used,
                 " %02d:%02d-%02d:%02d %s", sla->business_from_minute / 60,
                 sla->business_from_minute % 60, sla->business_to_minute / 60,
                 sla->business_to_minute % 60, r->timezone);
    return 0;
}

/* The KPI rows of the report's services (default ack target), kpigather.h. */
static int rc_kpis(struct rc_ctx *x, struct report *r)
{
    struct kpigather *g = kpigather_new(x->rc, x->cfg, 0, NULL);
    struct kpi_table t = { 0 };
    int rc;

    if (g == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    rc = kpigather_report(g, r, &t, x->err);
    kpigather_free(g);
    if (rc != 0) {
        kpi_table_free(&t);
        return rc;
    }
    r->kpis = t.rows;
    r->kpis_count = t.n;
    return 0;
}

static const struct nines_sla_cfg rc_default_sla = { .name = "default", .target_pct = 99.9 };

/* Calendar, customer, SLA; everything that needs no Redis. */
static int rc_setup(struct rc_ctx *x, struct report *r, const char *customer, size_t sla_index)
{
    struct nines_err e = { 0 };
    const char *tz_name;

    for (size_t i = 0; x->cust == NULL && i < x->cfg->customers_count; i++)
        if (strcmp(x->cfg->customers[i].id, customer) == 0)
            x->cust = &x->cfg->customers[i];
    if (x->cust == NULL)
        return nines_err_set(x->err, NINES_ENOTFOUND, "unknown customer '%s'", customer);
    if (x->cust->slas_count == 0 && sla_index == 0)
        x->sla = &rc_default_sla; /* a customer without terms: measured, owed nothing */
    else if (sla_index >= x->cust->slas_count)
        return nines_err_set(x->err, NINES_EINVAL, "customer %s: no SLA number %zu",
                             x->cust->id, sla_index + 1);
    else
        x->sla = &x->cust->slas[sla_index];
    if (x->year < 1971 || x->year > 9999 || x->month < 1 || x->month > 12)
        return nines_err_set(x->err, NINES_EINVAL, "month %04d-%02d: not a month (YYYY-MM)",
                             x->year, x->month);
    tz_name = x->cust->timezone ? x->cust->timezone : "UTC";
    if ((x->tz = nines_tz_load(tz_name, &e)) == NULL)
        return nines_err_set(x->err, NINES_EINVAL, "customer %s: timezone '%s': %s",
                             x->cust->id, tz_name, e.msg);
    if ((x->tzc = nines_tzcache_new()) == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "out of memory");
    x->from = nines_tz_month_start_utc_ms(x->tz, x->year, x->month);
    x->to = nines_tz_month_start_utc_ms(x->tz, x->year, x->month + 1);
    x->span_from = nines_tz_month_start_utc_ms(x->tz, x->year, x->month - REPORT_HISTORY);
    if (x->from > x->now_ms)
        return nines_err_set(x->err, NINES_EINVAL,
                             "month %04d-%02d has not begun yet in %s", x->year, x->month,
                             tz_name);
    snprintf(r->customer_id, sizeof(r->customer_id), "%s", x->cust->id);
    snprintf(r->customer_name, sizeof(r->customer_name), "%s",
             x->cust->name ? x->cust->name : x->cust->id);
    snprintf(r->timezone, sizeof(r->timezone), "%s", tz_name);
    snprintf(r->month, sizeof(r->month), "%04d-%02d", x->year, x->month);
    r->from_ms = x->from;
    r->to_ms = x->to;
    r->generated_ms = x->now_ms;
    for (r->ndays = 0; r->ndays < REPORT_MAX_DAYS; r->ndays++) {
        int64_t s = nines_tz_day_start_utc_ms(x->tz, x->year, x->month, r->ndays + 1);

        if (s >= x->to)
            break;
        r->day_start_ms[r->ndays] = s;
    }
    return rc_sla_terms(x, r);
}

/* Per-service and overall figures, credits from the worst availability. */
static int rc_all_figures(struct rc_ctx *x, struct report *r)
{
    struct report_service *svcs = calloc(x->nsvcs, sizeof(*svcs));
    double worst;
    int rc = svcs ? 0 : nines_err_set(x->err, NINES_ENOMEM, "out of memory");

    r->services = svcs;
    r->services_count = svcs ? x->nsvcs : 0;
    for (size_t i = 0; rc == 0 && i < x->nsvcs; i++) {
        const struct nines_service_cfg *c = x->svcs[i].cfg;

        snprintf(svcs[i].id, sizeof(svcs[i].id), "%s", c->id);
        snprintf(svcs[i].name, sizeof(svcs[i].name), "%s", c->name ? c->name : c->id);
        rc = rc_service_figures(x, r, &x->svcs[i], &svcs[i]);
        if (rc == 0)
            rc = rc_latency(x, r, x->svcs[i].idx, x->svcs[i].n, &svcs[i]);
    }
    snprintf(r->overall.id, sizeof(r->overall.id), "overall");
    snprintf(r->overall.name, sizeof(r->overall.name), "All services");
    if (rc == 0)
        rc = rc_service_figures(x, r, &x->overall, &r->overall);
    if (rc == 0)
        rc = rc_latency(x, r, NULL, x->nchecks, &r->overall);
    worst = r->overall.no_eligible_time ? -1 : r->overall.availability_pct;
    for (size_t i = 0; rc == 0 && i < x->nsvcs; i++)
        if (!svcs[i].no_eligible_time && (worst < 0 || svcs[i].availability_pct < worst))
            worst = svcs[i].availability_pct;
    r->overall.credit_pct = rc_credit(x->sla, worst);
    return rc;
}

int report_compute_sla(redisContext *rc, const struct nines_config *cfg, const char *customer,
                       size_t sla_index, int year, int month, int64_t now_ms,
                       struct report *out, struct nines_err *err)
{
    struct nines_err local = { 0 };
    struct rc_ctx x;
    int ret;

    memset(out, 0, sizeof(*out));
    memset(&x, 0, sizeof(x));
    x.rc = rc;
    x.cfg = cfg;
    x.year = year;
    x.month = month;
    x.now_ms = now_ms;
    x.err = err != NULL ? err : &local;
    nines_ivset_init(&x.bh);
    ret = rc_setup(&x, out, customer, sla_index);
    if (ret == 0)
        ret = rc_pick_services(&x);
    if (ret == 0)
        ret = rc_business_hours(&x);
    if (ret == 0)
        ret = rc_load_maint(&x);
    if (ret == 0)
        ret = rc_build_sets(&x);
    if (ret == 0)
        ret = rc_coverage(&x, out);
    if (ret == 0)
        ret = rc_build_overall(&x);
    if (ret == 0)
        ret = rc_all_figures(&x, out);
    if (ret == 0)
        ret = rc_incidents(&x, out);
    if (ret == 0)
        ret = rc_maintenance(&x, out);
    if (ret == 0)
        ret = rc_drills(&x, out);
    if (ret == 0)
        ret = rc_kpis(&x, out);
    if (ret == 0)
        ret = report_check(out, x.err);
    if (ret == 0)
        ret = report_hash(out, x.err);
    rc_ctx_close(&x);
    if (ret != 0)
        report_compute_free(out);
    return ret;
}

int report_compute(redisContext *rc, const struct nines_config *cfg, const char *customer,
                   int year, int month, struct report *out, struct nines_err *err)
{
    return report_compute_sla(rc, cfg, customer, 0, year, month, nines_wall_ms(), out, err);
}

void report_compute_free(struct report *r)
{
    if (r == NULL)
        return;
    free((void *)r->services);
    free((void *)r->incidents);
    free((void *)r->maintenance);
    free((void *)r->drills);
    free((void *)r->checks);
    for (size_t i = 0; i < r->kpis_count; i++)
        kpi_row_clear((struct kpi_row *)&r->kpis[i]);
    free((void *)r->kpis);
    free((void *)r->sla.tiers);
    memset(r, 0, sizeof(*r));
}
