/* KPI rows from stored data; see kpigather.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "drill.h"
#include "kpigather.h"
#include "nines/clock.h"
#include "outbox.h"
#include "store.h"

#define KG_MAX_SCAN_ROUNDS 100000

struct kg_incident {
    char id[REPORT_ID_LEN];
    char check[REPORT_ID_LEN];
    struct kpi_incident ki;
    size_t nt_first, nt_n; /* into kpigather.nt */
};

struct kg_forecast {
    char check[REPORT_ID_LEN];
    char member[256];
    struct kpi_forecast f;
};

/* A check_down outbox item, by the incident it notified. */
struct kg_outkey {
    char *incident;  /* points into key */
    size_t incident_len;
    char *key;       /* nines:outbox:item:RECEIVER/check_down/INCIDENT/... */
};

struct kpigather {
    redisContext *rc;
    const struct nines_config *cfg;
    int64_t ack_target_ms;
    struct kpigather_hooks hooks;
    struct kg_incident *inc;
    size_t ninc, capinc;
    struct kpi_notification *nt;
    size_t nnt, capnt;
    struct kg_forecast *fc;
    size_t nfc, capfc;
    struct kpi_coverage *cov;
    size_t ncov, capcov;
    struct kg_outkey *ok;   /* sorted by incident; built by the first lookup */
    size_t nok, capok;
    int ok_loaded;
};

/* Room for one more element of size in *v. 0 or -1. */
static int kg_grow(void **v, size_t *cap, size_t n, size_t size)
{
    size_t c = *cap ? *cap * 2 : 16;
    void *g;

    if (n < *cap)
        return 0;
    if ((g = realloc(*v, c * size)) == NULL)
        return -1;
    *v = g;
    *cap = c;
    return 0;
}

int kpigather_list_has(const char *list, const char *item)
{
    size_t n = strlen(item);

    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t l = e != NULL ? (size_t)(e - p) : strlen(p);

        if (l == n && strncmp(p, item, n) == 0)
            return 1;
        p = e != NULL ? e + 1 : NULL;
    }
    return 0;
}

struct kpigather *kpigather_new(redisContext *rc, const struct nines_config *cfg,
                                int64_t ack_target_ms, const struct kpigather_hooks *hooks)
{
    struct kpigather *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    g->rc = rc;
    g->cfg = cfg;
    g->ack_target_ms = ack_target_ms;
    if (hooks != NULL)
        g->hooks = *hooks;
    return g;
}

void kpigather_free(struct kpigather *g)
{
    if (g == NULL)
        return;
    free(g->inc);
    free(g->nt);
    free(g->fc);
    free(g->cov);
    for (size_t i = 0; i < g->nok; i++)
        free(g->ok[i].key);
    free(g->ok);
    free(g);
}

static const struct nines_service_cfg *kg_service(const struct nines_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->services_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

/* The team of check id, "" when it has none or is not configured. */
static const char *kg_team_of(const struct nines_config *cfg, const char *check)
{
    for (size_t i = 0; i < cfg->checks_count; i++)
        if (strcmp(cfg->checks[i].id, check) == 0)
            return cfg->checks[i].team != NULL ? cfg->checks[i].team : "";
    return "";
}

static int64_t kg_reply_i64(const redisReply *r, int64_t dflt)
{
    if (r == NULL || r->type != REDIS_REPLY_STRING || r->len == 0)
        return dflt;
    return strtoll(r->str, NULL, 10);
}

/* A usable reply, or NULL with err naming the command. */
static redisReply *kg_cmd(struct kpigather *g, redisReply *x, const char *what,
                          struct nines_err *err)
{
    if (x == NULL || x->type == REDIS_REPLY_ERROR) {
        nines_err_set(err, x == NULL ? NINES_EIO : NINES_EPROTO, "redis %s: %s", what,
                      x != NULL ? x->str : g->rc->errstr);
        freeReplyObject(x);
        return NULL;
    }
    return x;
}

/* A HGETALL reply as a JSON object of strings (new reference). */
static json_t *kg_hash_json(const redisReply *r)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && r != NULL && r->type == REDIS_REPLY_ARRAY &&
                       i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            json_object_set_new(o, r->element[i]->str,
                                json_stringn(r->element[i + 1]->str, r->element[i + 1]->len));
    return o;
}

/* One outbox item, without its request and body (they hold secrets). */
static json_t *kg_notification(struct kpigather *g, const char *key, struct kpi_notification *kn)
{
    static const char *const names[] = { "state", "receiver", "created_ms", "attempts",
                                         "updated_ms", "delivered_ms", "last_status",
                                         "last_error" };
    redisReply *h = redisCommand(g->rc, "HMGET %s state receiver created_ms attempts "
                                        "updated_ms delivered_ms last_status last_error", key);
    redisReply *l;
    json_t *o, *log;

    if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements != 8) {
        freeReplyObject(h);
        return NULL;
    }
    o = json_pack("{s:s}", "id", key + strlen(OUTBOX_KEY_ITEM_PREFIX));
    for (size_t i = 0; o != NULL && i < 8; i++)
        if (h->element[i]->type == REDIS_REPLY_STRING)
            json_object_set_new(o, names[i], json_string(h->element[i]->str));
    kn->created_ms = kg_reply_i64(h->element[2], 0);
    kn->delivered_ms = kg_reply_i64(h->element[5], 0);
    kn->state = KPI_PENDING;
    if (h->element[0]->type == REDIS_REPLY_STRING) {
        if (strcmp(h->element[0]->str, "delivered") == 0)
            kn->state = KPI_DELIVERED;
        else if (strcmp(h->element[0]->str, "failed") == 0 ||
                 strcmp(h->element[0]->str, "expired") == 0)
            kn->state = KPI_FAILED;
    }
    freeReplyObject(h);
    log = json_array();
    l = redisCommand(g->rc, "LRANGE nines:outbox:log:%s 0 -1",
                     key + strlen(OUTBOX_KEY_ITEM_PREFIX));
    for (size_t i = 0; l != NULL && l->type == REDIS_REPLY_ARRAY && i < l->elements; i++) {
        json_t *a = json_loadb(l->element[i]->str, l->element[i]->len, 0, NULL);

        json_array_append_new(log, a != NULL ? a : json_string(l->element[i]->str));
    }
    freeReplyObject(l);
    json_object_set_new(o, "delivery_log", log);
    return o;
}

static int kg_cmp_notification(const void *a, const void *b)
{
    const struct kpi_notification *x = a, *y = b;

    return (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
}

static int kg_cmp_outkey(const void *a, const void *b)
{
    const struct kg_outkey *x = a, *y = b;
    size_t n = x->incident_len < y->incident_len ? x->incident_len : y->incident_len;
    int c = memcmp(x->incident, y->incident, n);

    if (c != 0)
        return c;
    if (x->incident_len != y->incident_len)
        return x->incident_len < y->incident_len ? -1 : 1;
    return strcmp(x->key, y->key);
}

/*
 * Every check_down outbox item, indexed by incident: one SCAN of the keyspace
 * per gatherer instead of one per incident (a month of 700 incidents would
 * otherwise walk every key 700 times). Item ids are
 * RECEIVER/check_down/INCIDENT/..., incident ids CHECK@START_MS (no '/').
 */
static int kg_outbox_index(struct kpigather *g, struct nines_err *err)
{
    char cursor[32] = "0", match[128];
    int rounds = 0;

    g->ok_loaded = 1;
    snprintf(match, sizeof(match), "%s*/check_down/*", OUTBOX_KEY_ITEM_PREFIX);
    do {
        redisReply *s = kg_cmd(g, redisCommand(g->rc, "SCAN %s MATCH %s COUNT 1000", cursor,
                                               match), "SCAN", err);

        if (s == NULL)
            return err->code;
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(s);
            return nines_err_set(err, NINES_EPROTO, "redis SCAN: unexpected reply");
        }
        snprintf(cursor, sizeof(cursor), "%s", s->element[0]->str);
        for (size_t i = 0; i < s->element[1]->elements; i++) {
            const redisReply *k = s->element[1]->element[i];
            const char *inc, *end;
            char *key;

            if (k->type != REDIS_REPLY_STRING ||
                (inc = strstr(k->str + strlen(OUTBOX_KEY_ITEM_PREFIX), "/check_down/")) == NULL)
                continue;
            inc += strlen("/check_down/");
            end = strchr(inc, '/');
            if (kg_grow((void **)&g->ok, &g->capok, g->nok, sizeof(*g->ok)) != 0 ||
                (key = strdup(k->str)) == NULL) {
                freeReplyObject(s);
                return nines_err_set(err, NINES_ENOMEM, "out of memory");
            }
            g->ok[g->nok].key = key;
            g->ok[g->nok].incident = key + (inc - k->str);
            g->ok[g->nok].incident_len = end != NULL ? (size_t)(end - inc) : strlen(inc);
            g->nok++;
        }
        freeReplyObject(s);
    } while (strcmp(cursor, "0") != 0 && ++rounds < KG_MAX_SCAN_ROUNDS);
    if (g->nok > 1)
        qsort(g->ok, g->nok, sizeof(*g->ok), kg_cmp_outkey);
    return 0;
}

/* The check_down notifications of incident id appended to g->nt and notes. */
static int kg_notifications(struct kpigather *g, const char *id, json_t *notes,
                            struct nines_err *err)
{
    size_t idlen = strlen(id), lo = 0, hi;

    if (!g->ok_loaded) {
        int ret = kg_outbox_index(g, err);

        if (ret != 0)
            return ret;
    }
    /* the first item of incident id: lower bound on (incident, "") */
    hi = g->nok;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct kg_outkey *m = &g->ok[mid];
        size_t n = m->incident_len < idlen ? m->incident_len : idlen;
        int c = memcmp(m->incident, id, n);

        if (c < 0 || (c == 0 && m->incident_len < idlen))
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < g->nok && g->ok[lo].incident_len == idlen &&
           memcmp(g->ok[lo].incident, id, idlen) == 0;
         lo++) {
        struct kpi_notification kn;
        json_t *n = kg_notification(g, g->ok[lo].key, &kn);

        if (n == NULL)
            continue;
        json_array_append_new(notes, n);
        if (kg_grow((void **)&g->nt, &g->capnt, g->nnt, sizeof(*g->nt)) != 0)
            return nines_err_set(err, NINES_ENOMEM, "out of memory");
        g->nt[g->nnt++] = kn;
    }
    return 0;
}

/* The incident's fields from its hash. */
static void kg_incident_fields(const redisReply *h, struct kpi_incident *ki)
{
    memset(ki, 0, sizeof(*ki));
    ki->detected_ms = -1;
    ki->notified_ms = -1;
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *k = h->element[i]->str;
        const redisReply *v = h->element[i + 1];

        if (h->element[i]->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k, "start_ms") == 0)
            ki->start_ms = kg_reply_i64(v, 0);
        else if (strcmp(k, "end_ms") == 0)
            ki->end_ms = kg_reply_i64(v, 0);
        else if (strcmp(k, "ack_ms") == 0)
            ki->ack_ms = kg_reply_i64(v, 0);
        else if (strcmp(k, "detected_ms") == 0)
            ki->detected_ms = kg_reply_i64(v, -1);
    }
}

/* The incident document handed to the hook; takes inc and notes. */
static int kg_incident_hook(struct kpigather *g, const char *id, const struct kpi_incident *ki,
                            json_t *inc, json_t *notes, struct nines_err *err)
{
    json_t *by = json_object_get(inc, "ack_by"), *ms = json_object_get(inc, "ack_ms");
    json_t *doc = json_pack("{s:o,s:o,s:{s:O,s:O},s:I,s:I}", "incident", inc, "notifications",
                            notes, "ack", "by", by != NULL ? by : json_null(), "ms",
                            ms != NULL ? ms : json_null(), "detected_ms",
                            (json_int_t)ki->detected_ms, "first_notification_ms",
                            (json_int_t)ki->notified_ms);
    int ret;

    if (doc == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    ret = g->hooks.incident(g->hooks.arg, id, doc);
    json_decref(doc);
    return ret != 0 ? nines_err_set(err, NINES_EIO, "incident %s: not recorded", id) : 0;
}

/*
 * Incident id of check, pooled once: its hash, its notifications (sorted by
 * creation) and the detection time (detected_ms, else the first
 * notification). *index is its place in g->inc.
 */
static int kg_pooled(const struct kpigather *g, const char *id, size_t *index)
{
    for (size_t i = 0; i < g->ninc; i++)
        if (strcmp(g->inc[i].id, id) == 0) {
            *index = i;
            return 1;
        }
    return 0;
}

/* pre: its HGETALL reply read ahead (taken), or NULL to ask now. */
static int kg_incident(struct kpigather *g, const char *id, const char *check, redisReply *pre,
                       size_t *index, struct nines_err *err)
{
    struct kg_incident *e;
    redisReply *h;
    json_t *inc, *notes;
    int ret;

    if (kg_pooled(g, id, index)) {
        freeReplyObject(pre);
        return 0;
    }
    if (kg_grow((void **)&g->inc, &g->capinc, g->ninc, sizeof(*g->inc)) != 0) {
        freeReplyObject(pre);
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    }
    h = kg_cmd(g, pre != NULL ? pre : redisCommand(g->rc, "HGETALL %s%s", STORE_KEY_INCIDENT, id),
               id, err);
    if (h == NULL)
        return err->code;
    e = &g->inc[g->ninc];
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->check, sizeof(e->check), "%s", check);
    kg_incident_fields(h, &e->ki);
    inc = kg_hash_json(h);
    freeReplyObject(h);
    notes = json_array();
    e->nt_first = g->nnt;
    ret = kg_notifications(g, id, notes, err);
    e->nt_n = g->nnt - e->nt_first;
    if (ret == 0 && e->nt_n > 0) {
        qsort(g->nt + e->nt_first, e->nt_n, sizeof(*g->nt), kg_cmp_notification);
        e->ki.notified_ms = g->nt[e->nt_first].created_ms;
        if (e->ki.detected_ms < 0)
            e->ki.detected_ms = e->ki.notified_ms; /* stored before detected_ms was */
    }
    if (ret == 0 && g->hooks.incident != NULL) {
        ret = kg_incident_hook(g, id, &e->ki, inc, notes, err);
        inc = notes = NULL;
    }
    json_decref(inc);
    json_decref(notes);
    if (ret != 0)
        return ret;
    *index = g->ninc++;
    return 0;
}

/* The drills of svc (every T0, for overdue), each handed to the hook. */
static int kg_drills(struct kpigather *g, const char *svc, struct kpi_drill **out, size_t *n,
                     struct nines_err *err)
{
    redisReply *z = kg_cmd(g, redisCommand(g->rc, "ZRANGE %s 0 -1", DRILL_KEY_ALL),
                           DRILL_KEY_ALL, err);
    size_t cap = 0;
    int ret = 0;

    *out = NULL;
    *n = 0;
    if (z == NULL)
        return err->code;
    for (size_t i = 0; ret == 0 && z->type == REDIS_REPLY_ARRAY && i < z->elements; i++) {
        redisReply *d = redisCommand(g->rc, "GET %s%s", DRILL_KEY, z->element[i]->str);
        json_t *doc = d != NULL && d->type == REDIS_REPLY_STRING
                          ? json_loadb(d->str, d->len, 0, NULL) : NULL;
        const char *s = json_string_value(json_object_get(doc, "service"));
        const char *st = json_string_value(json_object_get(doc, "state"));
        struct kpi_drill k;

        freeReplyObject(d);
        if (s == NULL || strcmp(s, svc) != 0 || st == NULL || strcmp(st, "running") == 0) {
            json_decref(doc);
            continue;
        }
        k.t0_ms = json_integer_value(json_object_get(doc, "t0_ms"));
        k.passed = strcmp(st, "passed") == 0;
        k.rto_ms = json_is_integer(json_object_get(doc, "rto_ms"))
                       ? json_integer_value(json_object_get(doc, "rto_ms")) : -1;
        k.rpo_ms = json_is_integer(json_object_get(doc, "rpo_ms"))
                       ? json_integer_value(json_object_get(doc, "rpo_ms")) : -1;
        if (kg_grow((void **)out, &cap, *n, sizeof(**out)) != 0)
            ret = nines_err_set(err, NINES_ENOMEM, "out of memory");
        else
            (*out)[(*n)++] = k;
        if (ret == 0 && g->hooks.drill != NULL &&
            g->hooks.drill(g->hooks.arg, z->element[i]->str, doc) != 0)
            ret = nines_err_set(err, NINES_EIO, "drill %s: not recorded", z->element[i]->str);
        json_decref(doc);
    }
    freeReplyObject(z);
    return ret;
}

/* Parses "RAISED:EXHAUST:REST". 0 or -1. */
static int kg_parse_forecast(const char *m, struct kpi_forecast *f)
{
    char *end;

    f->raised_ms = strtoll(m, &end, 10);
    if (*end != ':')
        return -1;
    f->exhaust_ms = strtoll(end + 1, &end, 10);
    return *end == ':' ? 0 : -1;
}

/* The forecasts of check raised in [from, to), pooled (each member once)
 * and appended to *out. */
static int kg_forecasts(struct kpigather *g, const char *check, int64_t from, int64_t to,
                        struct kpi_forecast **out, size_t *n, size_t *cap,
                        struct nines_err *err)
{
    redisReply *z = kg_cmd(g, redisCommand(g->rc, "ZRANGEBYSCORE %s%s %" PRId64 " (%" PRId64,
                                           KPIGATHER_KEY_FORECASTS, check, from, to),
                           KPIGATHER_KEY_FORECASTS, err);

    if (z == NULL)
        return err->code;
    for (size_t i = 0; z->type == REDIS_REPLY_ARRAY && i < z->elements; i++) {
        struct kpi_forecast f;
        const char *m = z->element[i]->str;
        size_t k = 0;

        if (z->element[i]->type != REDIS_REPLY_STRING || kg_parse_forecast(m, &f) != 0)
            continue; /* not ours: skipped, as the collector would never write it */
        if (kg_grow((void **)out, cap, *n, sizeof(**out)) != 0) {
            freeReplyObject(z);
            return nines_err_set(err, NINES_ENOMEM, "out of memory");
        }
        (*out)[(*n)++] = f;
        while (k < g->nfc && !(strcmp(g->fc[k].check, check) == 0 &&
                               strcmp(g->fc[k].member, m) == 0))
            k++;
        if (k < g->nfc)
            continue;
        if (kg_grow((void **)&g->fc, &g->capfc, g->nfc, sizeof(*g->fc)) != 0) {
            freeReplyObject(z);
            return nines_err_set(err, NINES_ENOMEM, "out of memory");
        }
        snprintf(g->fc[g->nfc].check, sizeof(g->fc[g->nfc].check), "%s", check);
        snprintf(g->fc[g->nfc].member, sizeof(g->fc[g->nfc].member), "%s", m);
        g->fc[g->nfc++].f = f;
    }
    freeReplyObject(z);
    return 0;
}

/* The report's coverage of check, pooled once. */
static int kg_coverage(struct kpigather *g, const struct report *r, const char *check,
                       struct kpi_coverage *out, struct nines_err *err)
{
    size_t k = 0;

    snprintf(out->check, sizeof(out->check), "%s", check);
    out->coverage_pct = -1;
    for (size_t i = 0; i < r->checks_count; i++)
        if (strcmp(r->checks[i].id, check) == 0)
            out->coverage_pct = r->checks[i].coverage_pct;
    while (k < g->ncov && strcmp(g->cov[k].check, check) != 0)
        k++;
    if (k < g->ncov)
        return 0;
    if (kg_grow((void **)&g->cov, &g->capcov, g->ncov, sizeof(*g->cov)) != 0)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    g->cov[g->ncov++] = *out;
    return 0;
}

/* "a,b": the distinct teams of the service's checks, in config order. */
static void kg_teams_of_service(const struct nines_config *cfg,
                                const struct nines_service_cfg *sc, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; sc != NULL && i < sc->checks_count; i++) {
        const char *t = kg_team_of(cfg, sc->checks[i]);

        if (t[0] == '\0' || kpigather_list_has(buf, t) || used + strlen(t) + 2 > len)
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", t);
    }
}

/* Coverage and forecasts of the service's checks. */
static int kg_checks(struct kpigather *g, const struct report *r,
                     const struct nines_service_cfg *sc, struct kpi_row *row,
                     struct nines_err *err)
{
    size_t n = sc != NULL ? sc->checks_count : 0, nf = 0, capf = 0;
    struct kpi_coverage *cov = calloc(n + 1, sizeof(*cov));
    struct kpi_forecast *f = NULL;
    int ret = cov == NULL ? nines_err_set(err, NINES_ENOMEM, "out of memory") : 0;

    for (size_t i = 0; ret == 0 && i < n; i++) {
        ret = kg_coverage(g, r, sc->checks[i], &cov[i], err);
        if (ret == 0)
            ret = kg_forecasts(g, sc->checks[i], r->from_ms, r->to_ms, &f, &nf, &capf, err);
    }
    if (ret == 0 && (kpi_coverage(row, cov, n) != 0 || kpi_forecasts(row, f, nf) != 0))
        ret = nines_err_set(err, NINES_ENOMEM, "out of memory");
    free(cov);
    free(f);
    return ret;
}

/* Whether incident in counts for svc: one of its services, started in the month. */
static int kg_counts(const struct report *r, const struct report_incident *in, const char *svc)
{
    return kpigather_list_has(in->services, svc) && in->start_ms >= r->from_ms;
}

/*
 * The HGETALL of every incident of svc not pooled yet, pipelined (one round
 * trip instead of one per incident: a month has hundreds): pre[i] for
 * r->incidents[i], or NULL. 0, or an error (what was read is in pre).
 */
static int kg_prefetch(struct kpigather *g, const struct report *r, const char *svc,
                       redisReply **pre, struct nines_err *err)
{
    size_t sent = 0, got = 0, idx;
    int ret = 0;

    for (size_t i = 0; i < r->incidents_count; i++) {
        const struct report_incident *in = &r->incidents[i];

        if (!kg_counts(r, in, svc) || kg_pooled(g, in->id, &idx))
            continue;
        if (redisAppendCommand(g->rc, "HGETALL %s%s", STORE_KEY_INCIDENT, in->id) != REDIS_OK)
            return nines_err_set(err, NINES_EIO, "redis: %s", g->rc->errstr);
        sent++;
    }
    for (size_t i = 0; got < sent && i < r->incidents_count; i++) {
        const struct report_incident *in = &r->incidents[i];
        void *reply = NULL;

        if (!kg_counts(r, in, svc) || kg_pooled(g, in->id, &idx))
            continue;
        got++;
        if (redisGetReply(g->rc, &reply) != REDIS_OK) {
            ret = nines_err_set(err, NINES_EIO, "redis HGETALL %s: %s", in->id, g->rc->errstr);
            break;
        }
        pre[i] = reply;
    }
    return ret;
}

/* Incidents of row's service that started in the month, with notifications. */
static int kg_row_incidents(struct kpigather *g, const struct report *r, const char *svc,
                            struct kpi_row *row, struct nines_err *err)
{
    struct kpi_incident *ki = calloc(r->incidents_count + 1, sizeof(*ki));
    redisReply **pre = calloc(r->incidents_count + 1, sizeof(*pre));
    struct kpi_notification *nt = NULL;
    size_t nki = 0, nnt = 0, capnt = 0, idx = 0;
    int ret = ki == NULL || pre == NULL ? nines_err_set(err, NINES_ENOMEM, "out of memory") : 0;

    if (ret == 0)
        ret = kg_prefetch(g, r, svc, pre, err);
    for (size_t i = 0; ret == 0 && i < r->incidents_count; i++) {
        const struct report_incident *in = &r->incidents[i];

        /* an incident counts in the month it started */
        if (!kg_counts(r, in, svc))
            continue;
        ret = kg_incident(g, in->id, in->check, pre[i], &idx, err);
        pre[i] = NULL;                /* taken */
        if (ret != 0)
            break;
        ki[nki++] = g->inc[idx].ki;
        for (size_t k = 0; ret == 0 && k < g->inc[idx].nt_n; k++) {
            if (kg_grow((void **)&nt, &capnt, nnt, sizeof(*nt)) != 0)
                ret = nines_err_set(err, NINES_ENOMEM, "out of memory");
            else
                nt[nnt++] = g->nt[g->inc[idx].nt_first + k];
        }
    }
    if (ret == 0) {
        kpi_incidents(row, ki, nki);
        if (kpi_notifications(row, nt, nnt) != 0)
            ret = nines_err_set(err, NINES_ENOMEM, "out of memory");
    }
    for (size_t i = 0; pre != NULL && i < r->incidents_count; i++)
        freeReplyObject(pre[i]);
    free(pre);
    free(ki);
    free(nt);
    return ret;
}

/* The service row of s in report r. */
static int kg_service_row(struct kpigather *g, const struct report *r,
                          const struct report_service *s, struct kpi_row *row,
                          struct nines_err *err)
{
    const struct nines_service_cfg *sc = kg_service(g->cfg, s->id);
    struct kpi_drill *dr = NULL;
    size_t ndr = 0;
    int ret;

    kpi_row_init(row, g->ack_target_ms);
    snprintf(row->customer, sizeof(row->customer), "%s", r->customer_id);
    snprintf(row->service, sizeof(row->service), "%s", s->id);
    snprintf(row->month, sizeof(row->month), "%s", r->month);
    kg_teams_of_service(g->cfg, sc, row->team, sizeof(row->team));
    row->availability_pct = s->no_eligible_time ? -1 : s->availability_pct;
    row->target_pct = s->target_pct;
    row->met = s->met;
    row->downtime_ms = s->downtime_ms;
    row->eligible_ms = s->eligible_ms;
    ret = kg_row_incidents(g, r, s->id, row, err);
    if (ret == 0 && (ret = kg_drills(g, s->id, &dr, &ndr, err)) == 0)
        kpi_drills(row, dr, ndr, r->from_ms, r->to_ms, sc != NULL ? sc->drill_every_ms : 0);
    free(dr);
    if (ret == 0)
        ret = kg_checks(g, r, sc, row, err);
    if (ret != 0)
        kpi_row_clear(row);
    return ret;
}

int kpigather_report(struct kpigather *g, const struct report *r, struct kpi_table *t,
                     struct nines_err *err)
{
    int ret = 0;

    for (size_t i = 0; ret == 0 && i < r->services_count; i++) {
        struct kpi_row row;

        ret = kg_service_row(g, r, &r->services[i], &row, err);
        if (ret == 0 && kpi_table_add_take(t, &row) != 0) {
            kpi_row_clear(&row);
            ret = nines_err_set(err, NINES_ENOMEM, "out of memory");
        }
    }
    return ret;
}

/* 1 when one of the service's checks has team. */
static int kg_service_has_team(const struct nines_config *cfg, const char *svc,
                               const char *team)
{
    const struct nines_service_cfg *sc = kg_service(cfg, svc);

    for (size_t i = 0; sc != NULL && i < sc->checks_count; i++)
        if (strcmp(kg_team_of(cfg, sc->checks[i]), team) == 0)
            return 1;
    return 0;
}

/* Incidents (with notifications) and forecasts of the team's checks. */
static int kg_team_pool(struct kpigather *g, const char *team, struct kpi_row *row)
{
    struct kpi_incident *ki = calloc(g->ninc + 1, sizeof(*ki));
    struct kpi_notification *nt = calloc(g->nnt + 1, sizeof(*nt));
    struct kpi_forecast *f = calloc(g->nfc + 1, sizeof(*f));
    struct kpi_coverage *cov = calloc(g->ncov + 1, sizeof(*cov));
    size_t nki = 0, nnt = 0, nf = 0, ncov = 0;
    int ret = ki && nt && f && cov ? 0 : -1;

    for (size_t i = 0; ret == 0 && i < g->ninc; i++) {
        if (strcmp(kg_team_of(g->cfg, g->inc[i].check), team) != 0)
            continue;
        ki[nki++] = g->inc[i].ki;
        memcpy(nt + nnt, g->nt + g->inc[i].nt_first, g->inc[i].nt_n * sizeof(*nt));
        nnt += g->inc[i].nt_n;
    }
    for (size_t i = 0; ret == 0 && i < g->nfc; i++)
        if (strcmp(kg_team_of(g->cfg, g->fc[i].check), team) == 0)
            f[nf++] = g->fc[i].f;
    for (size_t i = 0; ret == 0 && i < g->ncov; i++)
        if (strcmp(kg_team_of(g->cfg, g->cov[i].check), team) == 0)
            cov[ncov++] = g->cov[i];
    if (ret == 0) {
        kpi_incidents(row, ki, nki);
        ret = kpi_notifications(row, nt, nnt);
    }
    if (ret == 0)
        ret = kpi_forecasts(row, f, nf);
    if (ret == 0)
        ret = kpi_coverage(row, cov, ncov);
    free(ki);
    free(nt);
    free(f);
    free(cov);
    return ret;
}

/* The team row of team over the (distinct) service rows owning its checks. */
static int kg_team_row(struct kpigather *g, const struct kpi_table *svc, const char *team,
                       const char *month, struct kpi_row *row, struct nines_err *err)
{
    const struct kpi_row **mine = calloc(svc->n + 1, sizeof(*mine));
    size_t n = 0;
    int ret;

    if (mine == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    for (size_t i = 0; i < svc->n; i++) {
        const struct kpi_row *s = &svc->rows[i];
        int seen = 0;

        if (strcmp(s->scope, KPI_SCOPE_SERVICE) != 0 ||
            !kg_service_has_team(g->cfg, s->service, team))
            continue;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(mine[k]->service, s->service) == 0;
        if (!seen)
            mine[n++] = s;
    }
    kpi_row_init(row, g->ack_target_ms);
    snprintf(row->scope, sizeof(row->scope), "%s", KPI_SCOPE_TEAM);
    snprintf(row->team, sizeof(row->team), "%s", team);
    snprintf(row->month, sizeof(row->month), "%s", month);
    kpi_team_totals(row, mine, n);
    ret = kg_team_pool(g, team, row);
    free(mine);
    if (ret != 0) {
        kpi_row_clear(row);
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    }
    return 0;
}

int kpigather_teams(struct kpigather *g, const struct kpi_table *svc_rows, const char *team,
                    const char *month, struct kpi_table *t, struct nines_err *err)
{
    const struct nines_config *cfg = g->cfg;
    int ret = 0;

    /* each team once, in the order of the config's checks */
    for (size_t i = 0; ret == 0 && i < cfg->checks_count; i++) {
        const char *tm = cfg->checks[i].team;
        int owned = 0, dup = 0;
        struct kpi_row row;

        if (tm == NULL || tm[0] == '\0' || (team != NULL && strcmp(team, tm) != 0))
            continue;
        for (size_t k = 0; k < i && !dup; k++)
            dup = cfg->checks[k].team != NULL && strcmp(cfg->checks[k].team, tm) == 0;
        for (size_t k = 0; k < svc_rows->n && !owned && !dup; k++)
            owned = kg_service_has_team(cfg, svc_rows->rows[k].service, tm);
        if (dup || !owned)
            continue;
        ret = kg_team_row(g, svc_rows, tm, month, &row, err);
        if (ret == 0 && kpi_table_add_take(t, &row) != 0) {
            kpi_row_clear(&row);
            ret = nines_err_set(err, NINES_ENOMEM, "out of memory");
        }
    }
    return ret;
}

/* Moves the rows of src whose team list holds team (all without one) to dst. */
static int kg_keep_rows(struct kpi_table *src, const char *team, struct kpi_table *dst)
{
    int ret = 0;

    for (size_t i = 0; i < src->n; i++)
        if (ret == 0 && (team == NULL || kpigather_list_has(src->rows[i].team, team)))
            ret = kpi_table_add_take(dst, &src->rows[i]);
    kpi_table_free(src);
    return ret;
}

int kpigather_month(redisContext *rc, const struct nines_config *cfg, const char *customer,
                    const char *team, int year, int month, int64_t ack_target_ms,
                    struct kpi_table *t, struct nines_err *err)
{
    struct kpigather *g = kpigather_new(rc, cfg, ack_target_ms, NULL);
    struct kpi_table svc = { 0 };
    char label[16];
    int ret = g == NULL ? nines_err_set(err, NINES_ENOMEM, "out of memory") : 0;
    int found = 0;

    snprintf(label, sizeof(label), "%04d-%02d", year % 10000, month % 100);
    for (size_t c = 0; ret == 0 && c < cfg->customers_count; c++) {
        const struct nines_customer_cfg *cu = &cfg->customers[c];
        struct report r;

        if (customer != NULL && strcmp(cu->id, customer) != 0)
            continue;
        found = 1;
        if ((ret = report_compute(rc, cfg, cu->id, year, month, &r, err)) != 0)
            break;
        ret = kpigather_report(g, &r, &svc, err);
        report_compute_free(&r);
    }
    if (ret == 0 && customer != NULL && !found)
        ret = nines_err_set(err, NINES_ENOTFOUND, "unknown customer '%s'", customer);
    if (ret == 0)
        ret = kpigather_teams(g, &svc, team, label, t, err);
    /* service rows first: team rows are moved behind them */
    if (ret == 0) {
        struct kpi_table teams = *t;

        memset(t, 0, sizeof(*t));
        if (kg_keep_rows(&svc, team, t) != 0 || kg_keep_rows(&teams, NULL, t) != 0)
            ret = nines_err_set(err, NINES_ENOMEM, "out of memory");
    }
    kpi_table_free(&svc);
    kpigather_free(g);
    return ret;
}
