/* Public status pages and their Atom feed; see status.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "badge.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "sla.h"
#include "status.h"
#include "store.h"
#include "tz.h"
#include "webbuf.h"

#define STATUS_WAITERS 64          /* first-time requests waiting for one customer */
#define STATUS_INCIDENTS_MAX 200   /* outages kept per service (newest) */
#define STATUS_FEED_MAX 50
#define STATUS_MAINT_AHEAD_MS (INT64_C(14) * 86400000)
#define DAY_MS INT64_C(86400000)

struct status_outage {
    int64_t start_ms, end_ms;      /* end == computed_ms while it was still open */
    int open;
};

struct status_day {
    int64_t start_ms, end_ms;
    double uptime;
    int64_t downtime_ms;
    int no_data;
    int outages;
};

struct status_svc {
    char id[NINES_ID_LEN];
    int ok;                        /* history computed */
    double uptime_90d;
    int no_data_90d;
    struct status_day day[STATUS_DAYS];
    struct status_outage *out;
    size_t nout;
};

struct status_waiter {
    struct httpd_req *req;
    int atom;
};

struct status_refresh;

struct status_entry {              /* one customer */
    struct status_entry *next;
    char customer[NINES_ID_LEN];
    int64_t computed_ms;           /* 0: never */
    struct status_svc *svc;
    size_t nsvc;
    struct status_refresh *rf;     /* in progress, or NULL */
    struct status_waiter wait[STATUS_WAITERS];
    size_t nwait;
};

struct status_pages {
    struct collector *c;
    struct status_entry *entries;
    size_t refreshing;             /* refreshes whose replies are due */
    int closing;
};

/* One service of a refresh: the SLA query and the raw down sets of its checks. */
struct status_rsvc {
    char id[NINES_ID_LEN];
    char **checks;
    size_t n;
    struct sla_query *q;
    struct nines_ivset *down;
};

struct status_refresh {
    struct status_pages *p;
    struct status_entry *e;        /* NULL once the pages are closing */
    size_t pending;                /* callbacks still due */
    int failed;
    int64_t now_ms, from_ms;
    int64_t day_start[STATUS_DAYS + 1];
    struct status_rsvc *svc;
    size_t nsvc;
};

/* A down-set reply: which service and which of its checks. */
struct status_downreq {
    struct status_refresh *rf;
    size_t svc, check;
};

/* ---- configuration lookups ------------------------------------------------ */

static const struct nines_customer_cfg *status_customer(const struct nines_config *cfg,
                                                        const char *id)
{
    for (size_t i = 0; i < cfg->customers_count; i++)
        if (strcmp(cfg->customers[i].id, id) == 0)
            return &cfg->customers[i];
    return NULL;
}

static const struct nines_service_cfg *status_service(const struct nines_config *cfg,
                                                      const char *id)
{
    for (size_t i = 0; i < cfg->services_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

static const char *status_svc_name(const struct nines_service_cfg *svc)
{
    return svc->name != NULL && svc->name[0] != '\0' ? svc->name : svc->id;
}

static const struct nines_tz *status_zone(struct collector *c,
                                          const struct nines_customer_cfg *cu)
{
    struct nines_err err = { 0 };
    const struct nines_tz *tz = NULL;

    if (cu->timezone != NULL)
        tz = nines_tzcache_get(collector_tzcache(c), cu->timezone, &err);
    if (tz == NULL)
        tz = nines_tzcache_get(collector_tzcache(c), "UTC", &err);
    return tz;
}

/* ---- entries -------------------------------------------------------------- */

static void status_svcs_free(struct status_svc *svc, size_t n)
{
    for (size_t i = 0; svc != NULL && i < n; i++)
        free(svc[i].out);
    free(svc);
}

static struct status_entry *status_entry_get(struct status_pages *p, const char *customer)
{
    struct status_entry *e;

    for (e = p->entries; e != NULL; e = e->next)
        if (strcmp(e->customer, customer) == 0)
            return e;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    snprintf(e->customer, sizeof(e->customer), "%s", customer);
    e->next = p->entries;
    p->entries = e;
    return e;
}

static void status_rf_free(struct status_refresh *rf)
{
    for (size_t i = 0; i < rf->nsvc; i++) {
        struct status_rsvc *s = &rf->svc[i];

        sla_free(s->q);
        for (size_t j = 0; j < s->n; j++) {
            free(s->checks[j]);
            nines_ivset_close(&s->down[j]);
        }
        free(s->checks);
        free(s->down);
    }
    free(rf->svc);
    free(rf);
}

/* ---- computing the history ------------------------------------------------ */

/* The service's outages: its down set from its checks' (critical, any/all). */
static int status_outages(const struct nines_service_cfg *cfg, struct status_rsvc *s,
                          int64_t from_ms, int64_t now_ms, struct status_svc *out)
{
    struct nines_ivset *gaps = calloc(s->n + 1, sizeof(*gaps));
    struct nines_ivset down, nodata;
    int rc = gaps != NULL ? 0 : NINES_ENOMEM;
    size_t first;

    nines_ivset_init(&down);
    nines_ivset_init(&nodata);
    for (size_t i = 0; gaps != NULL && i < s->n; i++)
        nines_ivset_init(&gaps[i]);
    if (rc == 0)
        rc = sla_service_sets(cfg, (const char *const *)s->checks, s->down, gaps, s->n, &down,
                              &nodata);
    if (rc == 0) {
        nines_ivset_clip(&down, from_ms, now_ms + 1);
        first = down.n > STATUS_INCIDENTS_MAX ? down.n - STATUS_INCIDENTS_MAX : 0;
        out->out = calloc(down.n - first + 1, sizeof(*out->out));
        if (out->out == NULL)
            rc = NINES_ENOMEM;
        for (size_t i = first; rc == 0 && i < down.n; i++) {
            struct status_outage *o = &out->out[out->nout++];

            o->start_ms = down.v[i].start_ms;
            o->end_ms = down.v[i].end_ms;
            o->open = o->end_ms >= now_ms;
        }
    }
    nines_ivset_close(&down);
    nines_ivset_close(&nodata);
    free(gaps);
    return rc;
}

/* Daily uptime, 90-day uptime and outages of one service. */
static int status_compute_svc(struct status_refresh *rf, struct status_rsvc *s,
                              struct status_svc *out)
{
    const struct nines_service_cfg *cfg = status_service(collector_config(rf->p->c), s->id);
    struct uptime_result u;
    int rc;

    snprintf(out->id, sizeof(out->id), "%s", s->id);
    if (cfg == NULL || s->q == NULL || cfg->checks_count != s->n)
        return NINES_ENOTFOUND;
    for (size_t j = 0; j < s->n; j++)
        if (strcmp(cfg->checks[j], s->checks[j]) != 0)
            return NINES_ENOTFOUND;     /* reloaded meanwhile: next time */
    rc = status_outages(cfg, s, rf->from_ms, rf->now_ms, out);
    for (int d = 0; rc == 0 && d < STATUS_DAYS; d++) {
        struct status_day *day = &out->day[d];

        day->start_ms = rf->day_start[d];
        day->end_ms = rf->day_start[d + 1];
        rc = sla_service_uptime(rf->p->c, s->q, cfg, day->start_ms, day->end_ms, &u);
        day->uptime = u.uptime;
        day->downtime_ms = u.downtime_ms;
        day->no_data = u.no_eligible_time;
        for (size_t k = 0; k < out->nout; k++)
            day->outages += out->out[k].start_ms < day->end_ms &&
                            out->out[k].end_ms > day->start_ms;
    }
    if (rc == 0)
        rc = sla_service_uptime(rf->p->c, s->q, cfg, rf->from_ms, rf->now_ms, &u);
    if (rc == 0) {
        out->uptime_90d = u.uptime;
        out->no_data_90d = u.no_eligible_time;
        out->ok = 1;
    }
    return rc;
}

static void status_answer(struct status_pages *p, struct status_entry *e, struct httpd_req *r,
                          int atom);

/* Every reply is in: compute, swap into the entry, answer the waiters. */
static void status_refresh_done(struct status_refresh *rf)
{
    struct status_pages *p = rf->p;
    struct status_entry *e = rf->e;
    struct status_svc *svc = calloc(rf->nsvc + 1, sizeof(*svc));

    p->refreshing--;
    if (e != NULL) {
        e->rf = NULL;
        for (size_t i = 0; svc != NULL && i < rf->nsvc; i++)
            if (!rf->failed && status_compute_svc(rf, &rf->svc[i], &svc[i]) != 0)
                svc[i].ok = 0;
        if (svc != NULL) {
            status_svcs_free(e->svc, e->nsvc);
            e->svc = svc;
            e->nsvc = rf->nsvc;
            svc = NULL;
        }
        e->computed_ms = rf->now_ms;
        if (rf->failed)
            log_warn("status_history", "customer=%s note=\"Redis failed; history not shown\"",
                     e->customer);
        for (size_t i = 0; i < e->nwait; i++)
            status_answer(p, e, e->wait[i].req, e->wait[i].atom);
        e->nwait = 0;
    }
    free(svc);
    status_rf_free(rf);
    if (p->closing && p->refreshing == 0)
        status_pages_close(p);
}

static void status_on_sla(struct sla_query *q, int status, void *arg)
{
    struct status_refresh *rf = arg;

    (void)q;
    if (status != 0)
        rf->failed = 1;
    if (--rf->pending == 0)
        status_refresh_done(rf);
}

static void status_on_down(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct status_downreq *dr = privdata;
    struct status_refresh *rf = dr->rf;
    redisReply *r = reply;

    (void)ac;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        rf->failed = 1;
    } else {
        for (size_t i = 0; i < r->elements; i++) {
            int64_t start, end;

            if (r->element[i]->type == REDIS_REPLY_STRING &&
                sla_parse_interval(r->element[i]->str, rf->now_ms, &start, &end) == 0)
                nines_ivset_add(&rf->svc[dr->svc].down[dr->check], start, end);
        }
    }
    free(dr);
    if (--rf->pending == 0)
        status_refresh_done(rf);
}

/* Day i's local midnight, i = 0 the oldest, STATUS_DAYS - 1 today. */
static void status_days(const struct nines_tz *tz, int64_t now_ms, int64_t *start)
{
    struct nines_tm tm;

    nines_tz_utc_to_local(tz, now_ms, &tm);
    for (int d = 0; d < STATUS_DAYS; d++)
        start[d] = nines_tz_day_start_utc_ms(tz, tm.year, tm.month,
                                             tm.day - (STATUS_DAYS - 1) + d);
    start[STATUS_DAYS] = now_ms;
}

/* Copies the customer's services (ids and checks) into rf; 0 or NINES_ENOMEM. */
static int status_rf_services(struct status_refresh *rf, const struct nines_config *cfg,
                              const struct nines_customer_cfg *cu)
{
    rf->svc = calloc(cu->services_count + 1, sizeof(*rf->svc));
    if (rf->svc == NULL)
        return NINES_ENOMEM;
    for (size_t i = 0; i < cu->services_count; i++) {
        const struct nines_service_cfg *svc = status_service(cfg, cu->services[i]);
        struct status_rsvc *s = &rf->svc[rf->nsvc++];

        snprintf(s->id, sizeof(s->id), "%s", cu->services[i]);
        if (svc == NULL)
            continue;
        s->checks = calloc(svc->checks_count + 1, sizeof(*s->checks));
        s->down = calloc(svc->checks_count + 1, sizeof(*s->down));
        if (s->checks == NULL || s->down == NULL)
            return NINES_ENOMEM;
        for (size_t j = 0; j < svc->checks_count; j++) {
            nines_ivset_init(&s->down[j]);
            if ((s->checks[j] = strdup(svc->checks[j])) == NULL)
                return NINES_ENOMEM;
            s->n++;
        }
    }
    return 0;
}

/* Sends the queries; pending counts the callbacks that will come. */
static void status_rf_send(struct status_refresh *rf)
{
    redisAsyncContext *ac = collector_redis(rf->p->c);
    char to[32];

    snprintf(to, sizeof(to), "(%" PRId64, rf->now_ms + 1);
    for (size_t i = 0; i < rf->nsvc; i++) {
        struct status_rsvc *s = &rf->svc[i];

        if (s->n == 0)
            continue;
        s->q = sla_fetch(rf->p->c, (const char *const *)s->checks, s->n, rf->from_ms,
                         rf->now_ms, status_on_sla, rf);
        if (s->q == NULL) {
            rf->failed = 1;
            continue;
        }
        rf->pending++;
        for (size_t j = 0; ac != NULL && j < s->n; j++) {
            struct status_downreq *dr = malloc(sizeof(*dr));

            if (dr == NULL) {
                rf->failed = 1;
                continue;
            }
            *dr = (struct status_downreq){ rf, i, j };
            if (redisAsyncCommand(ac, status_on_down, dr, "ZRANGEBYSCORE %s%s -inf %s",
                                  STORE_KEY_DOWN, s->checks[j], to) == REDIS_OK) {
                rf->pending++;
            } else {
                free(dr);
                rf->failed = 1;
            }
        }
    }
}

/* Starts computing e's history; the answer comes in status_refresh_done. */
static void status_refresh_start(struct status_pages *p, struct status_entry *e,
                                 const struct nines_customer_cfg *cu)
{
    const struct nines_tz *tz = status_zone(p->c, cu);
    struct status_refresh *rf = calloc(1, sizeof(*rf));

    if (rf == NULL || tz == NULL) {
        free(rf);
        e->computed_ms = nines_wall_ms();      /* shown without history; retried later */
        return;
    }
    rf->p = p;
    rf->e = e;
    rf->now_ms = nines_wall_ms();
    status_days(tz, rf->now_ms, rf->day_start);
    rf->from_ms = rf->day_start[0];
    if (status_rf_services(rf, collector_config(p->c), cu) != 0)
        rf->failed = 1;
    else
        status_rf_send(rf);
    e->rf = rf;
    p->refreshing++;
    rf->pending++;                     /* held until every query is sent */
    if (--rf->pending == 0)
        status_refresh_done(rf);
}

/* ---- rendering ------------------------------------------------------------ */

static void status_fmt_local(const struct nines_tz *tz, int64_t ms, char *buf, size_t len)
{
    struct nines_tm tm;

    nines_tz_utc_to_local(tz, ms, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d %s", tm.year, tm.month, tm.day, tm.hour,
             tm.minute, tm.abbr);
}

static void status_fmt_day(const struct nines_tz *tz, int64_t ms, char *buf, size_t len)
{
    struct nines_tm tm;

    nines_tz_utc_to_local(tz, ms, &tm);
    snprintf(buf, len, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
}

static void status_fmt_duration(int64_t ms, char *buf, size_t len)
{
    int64_t min = (ms + 59999) / 60000;

    if (ms < 60000)
        snprintf(buf, len, "%" PRId64 " s", (ms + 999) / 1000);
    else if (min < 120)
        snprintf(buf, len, "%" PRId64 " min", min);
    else
        snprintf(buf, len, "%" PRId64 " h %" PRId64 " min", min / 60, min % 60);
}

static const char *status_state_class(enum check_state_kind k)
{
    return k == CHECK_UP ? "up" : k == CHECK_DOWN ? "down" : k == CHECK_DEGRADED ? "degraded"
                                                                                 : "unknown";
}

static const char *status_state_text(enum check_state_kind k)
{
    return k == CHECK_UP         ? "Operational"
           : k == CHECK_DOWN     ? "Outage"
           : k == CHECK_DEGRADED ? "Degraded performance"
                                 : "No data";
}

static const struct status_svc *status_entry_svc(const struct status_entry *e, const char *id)
{
    for (size_t i = 0; i < e->nsvc; i++)
        if (e->svc[i].ok && strcmp(e->svc[i].id, id) == 0)
            return &e->svc[i];
    return NULL;
}

/* The earliest open incident among the service's checks (0: none). */
static int64_t status_down_since(struct collector *c, const struct nines_service_cfg *svc)
{
    int64_t since = 0;

    for (size_t j = 0; j < svc->checks_count; j++) {
        long k = collector_check_index(c, svc->checks[j]);
        const struct check_state *s = k >= 0 ? collector_check_state(c, (size_t)k) : NULL;

        if (s != NULL && s->incident.open && (since == 0 || s->incident.start_ms < since))
            since = s->incident.start_ms;
    }
    return since;
}

static void status_render_bars(struct webbuf *b, const struct nines_tz *tz,
                               const struct status_svc *h)
{
    char day[16], pct[16], dur[32];

    webbuf_put(b, "<div class=\"bars\">");
    for (int d = 0; d < STATUS_DAYS; d++) {
        const struct status_day *x = &h->day[d];
        const char *cls = x->no_data ? "nodata" : x->downtime_ms == 0 ? "ok"
                                              : x->uptime >= 0.99     ? "minor"
                                                                      : "major";

        status_fmt_day(tz, x->start_ms, day, sizeof(day));
        badge_uptime_text(x->uptime, pct, sizeof(pct));
        status_fmt_duration(x->downtime_ms, dur, sizeof(dur));
        webbuf_printf(b, "<span class=\"bar %s\" tabindex=\"0\" data-day=\"%s\" title=\"%s: ",
                      cls, day, day);
        if (x->no_data)
            webbuf_put(b, "no data");
        else if (x->outages == 0 && x->downtime_ms == 0)
            webbuf_printf(b, "%s uptime, no incidents", pct);
        else
            webbuf_printf(b, "%s uptime, %d incident%s, %s down", pct, x->outages,
                          x->outages == 1 ? "" : "s", dur);
        webbuf_put(b, "\"></span>");
    }
    webbuf_put(b, "</div><p class=\"axis\"><span>90 days ago</span><span>today</span></p>");
}

static void status_render_service(struct webbuf *b, struct collector *c,
                                  const struct nines_tz *tz, const struct nines_service_cfg *svc,
                                  const struct status_svc *h)
{
    enum check_state_kind st = collector_service_state(c, svc);
    char pct[16];

    webbuf_printf(b, "<article class=\"service\" data-state=\"%s\"><h3><span class=\"name\">",
                  status_state_class(st));
    webbuf_esc(b, status_svc_name(svc));
    webbuf_printf(b, "</span> <span class=\"state state-%s\">%s</span></h3>",
                  status_state_class(st), status_state_text(st));
    if (h == NULL) {
        webbuf_put(b, "<p class=\"uptime\">History is not available right now.</p>");
    } else {
        if (h->no_data_90d)
            webbuf_put(b, "<p class=\"uptime\">No data in the last 90 days.</p>");
        else {
            badge_uptime_text(h->uptime_90d, pct, sizeof(pct));
            webbuf_printf(b, "<p class=\"uptime\"><span class=\"figure\">%s</span> uptime over "
                             "the last 90 days</p>", pct);
        }
        status_render_bars(b, tz, h);
    }
    webbuf_put(b, "</article>\n");
}

/* Maintenance in force or due within 14 days for any of the customer's services. */
static void status_render_maint(struct webbuf *b, struct collector *c,
                                const struct nines_customer_cfg *cu, const struct nines_tz *tz,
                                int64_t now_ms)
{
    const struct nines_config *cfg = collector_config(c);
    int any = 0;

    for (size_t i = 0; i < sla_maint_count(c); i++) {
        const struct sla_maint *m = sla_maint_at(c, i);
        const struct nines_tz *mtz = NULL;
        struct nines_err err = { 0 };
        struct nines_ivset occ;
        char from[64], to[64];
        int named = 0;

        if (m->w.kind == MAINT_RECURRING &&
            (mtz = nines_tzcache_get(collector_tzcache(c), m->w.tz, &err)) == NULL)
            continue;
        nines_ivset_init(&occ);
        if (maint_expand(&m->w, mtz, now_ms, now_ms + STATUS_MAINT_AHEAD_MS, &occ) != 0 ||
            occ.n == 0) {
            nines_ivset_close(&occ);
            continue;
        }
        nines_ivset_normalise(&occ);
        for (size_t s = 0; s < cu->services_count; s++) {
            const struct nines_service_cfg *svc = status_service(cfg, cu->services[s]);
            int covered = svc != NULL && sla_maint_covers(c, m, NULL, svc);

            for (size_t j = 0; svc != NULL && !covered && j < svc->checks_count; j++)
                covered = sla_maint_covers(c, m, svc->checks[j], NULL);
            if (!covered)
                continue;
            if (!any)
                webbuf_put(b, "<section class=\"maintenance\"><h2>Scheduled maintenance</h2>"
                              "<ul>");
            any = 1;
            webbuf_put(b, named ? ", " : "<li><span class=\"what\">");
            webbuf_esc(b, status_svc_name(svc));
            named = 1;
        }
        if (named) {
            status_fmt_local(tz, occ.v[0].start_ms, from, sizeof(from));
            status_fmt_local(tz, occ.v[0].end_ms, to, sizeof(to));
            webbuf_printf(b, "</span>: %s from %s to %s%s</li>",
                          occ.v[0].start_ms <= now_ms ? "in progress" : "planned", from, to,
                          m->w.kind == MAINT_RECURRING ? " (recurring)" : "");
        }
        nines_ivset_close(&occ);
    }
    if (any)
        webbuf_put(b, "</ul></section>\n");
}

static void status_render_ongoing(struct webbuf *b, struct collector *c,
                                  const struct nines_customer_cfg *cu, const struct nines_tz *tz)
{
    const struct nines_config *cfg = collector_config(c);
    int any = 0;
    char since[64];

    for (size_t s = 0; s < cu->services_count; s++) {
        const struct nines_service_cfg *svc = status_service(cfg, cu->services[s]);
        enum check_state_kind st = svc ? collector_service_state(c, svc) : CHECK_UNKNOWN;
        int64_t t;

        if (st != CHECK_DOWN && st != CHECK_DEGRADED)
            continue;
        if (!any)
            webbuf_put(b, "<section class=\"ongoing\"><h2>Ongoing incidents</h2><ul>");
        any = 1;
        webbuf_put(b, "<li class=\"incident\"><span class=\"what\">");
        webbuf_esc(b, status_svc_name(svc));
        webbuf_printf(b, " %s</span>", st == CHECK_DOWN ? "is down" : "is degraded");
        t = st == CHECK_DOWN ? status_down_since(c, svc) : 0;
        if (t > 0) {
            status_fmt_local(tz, t, since, sizeof(since));
            webbuf_printf(b, " since %s", since);
        }
        webbuf_put(b, "</li>");
    }
    if (any)
        webbuf_put(b, "</ul></section>\n");
}

/* The outages of the customer's services, newest first, at most max. */
struct status_item {
    const char *service;
    const struct status_outage *o;
};

static size_t status_collect(const struct status_entry *e, const struct nines_config *cfg,
                             const struct nines_customer_cfg *cu, struct status_item *items,
                             size_t max)
{
    size_t n = 0;

    for (size_t s = 0; s < cu->services_count; s++) {
        const struct nines_service_cfg *svc = status_service(cfg, cu->services[s]);
        const struct status_svc *h = svc ? status_entry_svc(e, svc->id) : NULL;

        for (size_t k = 0; h != NULL && k < h->nout; k++) {
            size_t at;

            if (n == max) {
                if (items[max - 1].o->start_ms >= h->out[k].start_ms)
                    continue;      /* older than everything kept */
                at = max - 1;
            } else {
                at = n++;
            }
            items[at] = (struct status_item){ status_svc_name(svc), &h->out[k] };
            while (at > 0 && items[at - 1].o->start_ms < items[at].o->start_ms) {
                struct status_item t = items[at - 1];

                items[at - 1] = items[at];
                items[at] = t;
                at--;
            }
        }
    }
    return n;
}

static void status_render_past(struct webbuf *b, const struct status_entry *e,
                               const struct nines_config *cfg,
                               const struct nines_customer_cfg *cu, const struct nines_tz *tz)
{
    struct status_item items[STATUS_FEED_MAX];
    size_t n = status_collect(e, cfg, cu, items, STATUS_FEED_MAX);
    char from[64], to[64], dur[32];

    webbuf_put(b, "<section class=\"history\"><h2>Past incidents</h2>");
    if (n == 0)
        webbuf_put(b, "<p>No incidents in the last 90 days.</p>");
    else
        webbuf_put(b, "<ul>");
    for (size_t i = 0; i < n; i++) {
        status_fmt_local(tz, items[i].o->start_ms, from, sizeof(from));
        status_fmt_local(tz, items[i].o->end_ms, to, sizeof(to));
        status_fmt_duration(items[i].o->end_ms - items[i].o->start_ms, dur, sizeof(dur));
        webbuf_put(b, "<li><span class=\"what\">");
        webbuf_esc(b, items[i].service);
        if (items[i].o->open)
            webbuf_printf(b, " outage</span>: since %s (ongoing)</li>", from);
        else
            webbuf_printf(b, " outage</span>: %s to %s (%s)</li>", from, to, dur);
    }
    webbuf_put(b, n > 0 ? "</ul></section>\n" : "</section>\n");
}

static void status_render_html(struct webbuf *b, struct status_pages *p,
                               const struct status_entry *e,
                               const struct nines_customer_cfg *cu, const struct nines_tz *tz)
{
    const struct nines_config *cfg = collector_config(p->c);
    const char *cname = cu->name ? cu->name : cu->id;
    int64_t now = nines_wall_ms();
    int worst = 0;
    char when[64];

    for (size_t s = 0; s < cu->services_count; s++) {
        const struct nines_service_cfg *svc = status_service(cfg, cu->services[s]);
        enum check_state_kind st = svc ? collector_service_state(p->c, svc) : CHECK_UNKNOWN;
        int rank = st == CHECK_DOWN ? 3 : st == CHECK_DEGRADED ? 2 : st == CHECK_UNKNOWN;

        worst = rank > worst ? rank : worst;
    }
    webbuf_put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>");
    webbuf_esc(b, cname);
    webbuf_put(b, " status</title><link rel=\"icon\" href=\"/assets/favicon.svg\" "
                  "type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/assets/status.css\">"
                  "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Incidents\" "
                  "href=\"/status/");
    webbuf_esc(b, cu->id);
    webbuf_put(b, "/feed.atom\"></head>\n<body><header><h1>");
    webbuf_esc(b, cname);
    webbuf_printf(b, " status</h1><p class=\"overall overall-%s\">%s</p></header>\n<main>",
                  worst == 3 ? "down" : worst == 2 ? "degraded" : worst == 1 ? "unknown" : "up",
                  worst == 3   ? "Some services are down"
                  : worst == 2 ? "Some services are degraded"
                  : worst == 1 ? "Some services have no current data"
                               : "All services are operational");
    status_render_ongoing(b, p->c, cu, tz);
    status_render_maint(b, p->c, cu, tz, now);
    webbuf_put(b, "<section class=\"services\"><h2>Services</h2>\n");
    for (size_t s = 0; s < cu->services_count; s++) {
        const struct nines_service_cfg *svc = status_service(cfg, cu->services[s]);

        if (svc != NULL)
            status_render_service(b, p->c, tz, svc, status_entry_svc(e, svc->id));
    }
    webbuf_put(b, "</section>\n");
    status_render_past(b, e, cfg, cu, tz);
    status_fmt_local(tz, e->computed_ms ? e->computed_ms : now, when, sizeof(when));
    webbuf_printf(b, "</main><footer><p>Times are in %s. History as of %s; current states "
                     "are live. <a href=\"/status/", nines_tz_name(tz), when);
    webbuf_esc(b, cu->id);
    webbuf_put(b, "/feed.atom\">Incident feed (Atom)</a></p></footer></body></html>\n");
}

static void status_fmt_rfc3339(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void status_render_atom(struct webbuf *b, struct status_pages *p,
                               const struct status_entry *e,
                               const struct nines_customer_cfg *cu, const struct nines_tz *tz)
{
    struct status_item items[STATUS_FEED_MAX];
    size_t n = status_collect(e, collector_config(p->c), cu, items, STATUS_FEED_MAX);
    const char *cname = cu->name ? cu->name : cu->id;
    char updated[32], from[64], to[64], dur[32];

    status_fmt_rfc3339(n > 0 ? (items[0].o->open ? items[0].o->start_ms : items[0].o->end_ms)
                             : (e->computed_ms ? e->computed_ms : nines_wall_ms()),
                       updated, sizeof(updated));
    webbuf_put(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                  "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>");
    webbuf_esc(b, cname);
    webbuf_put(b, " status: incidents</title><id>urn:nines:status:");
    webbuf_esc(b, cu->id);
    webbuf_printf(b, "</id><updated>%s</updated><link rel=\"alternate\" href=\"/status/",
                  updated);
    webbuf_esc(b, cu->id);
    webbuf_put(b, "\"/><link rel=\"self\" href=\"/status/");
    webbuf_esc(b, cu->id);
    webbuf_put(b, "/feed.atom\"/><author><name>");
    webbuf_esc(b, cname);
    webbuf_put(b, "</name></author>\n");
    for (size_t i = 0; i < n; i++) {
        const struct status_outage *o = items[i].o;

        status_fmt_local(tz, o->start_ms, from, sizeof(from));
        status_fmt_local(tz, o->end_ms, to, sizeof(to));
        status_fmt_duration(o->end_ms - o->start_ms, dur, sizeof(dur));
        status_fmt_rfc3339(o->open ? o->start_ms : o->end_ms, updated, sizeof(updated));
        webbuf_put(b, "<entry><title>");
        webbuf_esc(b, items[i].service);
        webbuf_printf(b, " outage%s</title><id>urn:nines:status:", o->open ? "" : " (resolved)");
        webbuf_esc(b, cu->id);
        webbuf_put(b, ":");
        webbuf_esc(b, items[i].service);
        webbuf_printf(b, ":%" PRId64 "</id><updated>%s</updated><content type=\"text\">",
                      o->start_ms, updated);
        webbuf_esc(b, items[i].service);
        if (o->open)
            webbuf_printf(b, " has been unavailable since %s.", from);
        else
            webbuf_printf(b, " was unavailable from %s to %s (%s).", from, to, dur);
        webbuf_put(b, "</content></entry>\n");
    }
    webbuf_put(b, "</feed>\n");
}

static void status_answer(struct status_pages *p, struct status_entry *e, struct httpd_req *r,
                          int atom)
{
    const struct nines_customer_cfg *cu = status_customer(collector_config(p->c), e->customer);
    const struct nines_tz *tz = cu ? status_zone(p->c, cu) : NULL;
    struct webbuf b;

    if (cu == NULL) {
        httpd_respond_text(r, 404, "text/plain; charset=utf-8", "no such status page\n", 20);
        return;
    }
    if (tz == NULL) {
        httpd_respond_error(r, 500, "no time zone for customer %s", cu->id);
        return;
    }
    webbuf_init(&b, 0);
    if (atom)
        status_render_atom(&b, p, e, cu, tz);
    else
        status_render_html(&b, p, e, cu, tz);
    if (b.failed)
        httpd_respond_error(r, 500, "status page of %s too large or out of memory", cu->id);
    else
        httpd_respond_text(r, 200, atom ? "application/atom+xml; charset=utf-8"
                                        : "text/html; charset=utf-8", b.s, b.len);
    webbuf_close(&b);
}

/* ---- the public interface ------------------------------------------------- */

struct status_pages *status_pages_new(struct collector *c)
{
    struct status_pages *p = calloc(1, sizeof(*p));

    if (p != NULL)
        p->c = c;
    return p;
}

void status_pages_close(struct status_pages *p)
{
    struct status_entry *e, *next;

    if (p == NULL)
        return;
    p->closing = 1;
    for (e = p->entries; e != NULL; e = next) {
        next = e->next;
        for (size_t i = 0; i < e->nwait; i++)
            httpd_respond_error(e->wait[i].req, 503, "the server is shutting down");
        e->nwait = 0;
        if (e->rf != NULL)
            e->rf->e = NULL;           /* its replies still come, to nobody */
        status_svcs_free(e->svc, e->nsvc);
        free(e);
    }
    p->entries = NULL;
    if (p->refreshing == 0)
        free(p);
}

void status_pages_serve(struct status_pages *p, struct httpd_req *r, const char *customer,
                        int atom)
{
    const struct nines_customer_cfg *cu = status_customer(collector_config(p->c), customer);
    struct status_entry *e;
    int64_t now = nines_wall_ms();

    if (cu == NULL) {
        httpd_respond_text(r, 404, "text/plain; charset=utf-8", "no such status page\n", 20);
        return;
    }
    e = status_entry_get(p, cu->id);
    if (e == NULL) {
        httpd_respond_error(r, 503, "out of memory");
        return;
    }
    if (e->rf == NULL && (e->computed_ms == 0 || now - e->computed_ms >= STATUS_TTL_MS ||
                          now < e->computed_ms))
        status_refresh_start(p, e, cu);
    if (e->rf == NULL || e->computed_ms > 0) {     /* fresh, or stale while refreshing */
        status_answer(p, e, r, atom);
        return;
    }
    if (e->nwait >= STATUS_WAITERS) {
        httpd_respond_error(r, 503, "status page of %s is being computed; retry", cu->id);
        return;
    }
    e->wait[e->nwait++] = (struct status_waiter){ r, atom };
}
