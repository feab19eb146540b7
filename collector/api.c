/* The collector's API, push endpoints and /metrics; see api.h. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api.h"
#include "api_alerts.h"
#include "api_drills.h"
#include "api_kpis.h"
#include "api_reports.h"
#include "alert.h"
#include "audit.h"
#include "auth.h"
#include "httpd.h"
#include "histo.h"
#include "metrics.h"
#include "sla.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "nines/wire.h"
#include "store.h"
#include "web.h"

#define API_MAX_PUSH 1024

struct api_push_due {            /* a push check's missed-ping bookkeeping */
    char id[NINES_ID_LEN];
    int64_t emitted_deadline;    /* newest deadline a miss was emitted for */
};

struct api {
    struct collector *c;
    struct httpd *h;
    struct auth_table auth;
    int open;                    /* no tokens configured: every route public */
    int64_t started_ms;
    char *tls_cert, *tls_key;    /* PEM, for MHD while it runs */
    uint64_t push_seq;
    struct api_push_due due[API_MAX_PUSH];
    size_t ndue;
    struct web *web;             /* the built-in pages (collector/web) */
};

static void api_destroy(void *arg);

/* ---- reading checks ---------------------------------------------------- */

static json_t *api_location_json(const struct loc_state *l)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:b}", "name", l->name, "probe", l->probe, "state",
                     state_name(l->state), "since_ms", (json_int_t)l->since_ms, "last_ms",
                     (json_int_t)l->last_ms, "silent", l->silent);
}

static json_t *api_check_json(const struct nines_check *spec, const struct check_state *s)
{
    json_t *locs = json_array(), *o;
    char id[NINES_ID_LEN + 32];

    for (size_t i = 0; i < s->nloc; i++)
        json_array_append_new(locs, api_location_json(&s->loc[i]));
    o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:I,s:i,s:s,s:I}", "id", spec->id, "kind",
                  nines_check_kind_name(spec->kind), "state", state_name(s->state), "since_ms",
                  (json_int_t)s->since_ms, "interval_ms", (json_int_t)spec->interval_ms,
                  "last_result_ms", (json_int_t)s->last_ms, "locations", locs,
                  "last_latency_us", (json_int_t)s->last_total_us, "last_code", s->last_code,
                  "last_outcome", nines_outcome_name(s->last_outcome), "results",
                  (json_int_t)s->results);
    if (o == NULL)
        return json_object();
    if (s->last_error_ms > 0)
        json_object_set_new(o, "last_error",
                            json_pack("{s:I,s:s,s:s}", "at_ms", (json_int_t)s->last_error_ms,
                                      "reason", s->last_error_reason, "message",
                                      s->last_error_message));
    if (s->incident.open) {
        store_incident_id(spec->id, s->incident.start_ms, id, sizeof(id));
        json_object_set_new(o, "incident",
                            json_pack("{s:s,s:I,s:s,s:s,s:s}", "id", id, "start_ms",
                                      (json_int_t)s->incident.start_ms, "reason",
                                      s->incident.reason, "message", s->incident.message,
                                      "locations", s->incident.locations));
    }
    return o;
}

static void api_checks(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    json_t *arr = json_array();

    for (size_t i = 0; i < collector_check_count(a->c); i++)
        json_array_append_new(arr, api_check_json(collector_check_spec(a->c, i),
                                                  collector_check_state(a->c, i)));
    httpd_respond_json(r, 200, json_pack("{s:o}", "checks", arr));
}

static void api_check_one(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    long i = collector_check_index(a->c, httpd_rest(r));

    if (i < 0) {
        httpd_respond_error(r, 404, "no check '%s'", httpd_rest(r));
        return;
    }
    httpd_respond_json(r, 200, api_check_json(collector_check_spec(a->c, (size_t)i),
                                              collector_check_state(a->c, (size_t)i)));
}

static void api_services(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    const struct nines_config *cfg = collector_config(a->c);
    json_t *arr = json_array();

    for (size_t i = 0; i < cfg->services_count; i++) {
        const struct nines_service_cfg *svc = &cfg->services[i];
        json_t *checks = json_array();

        for (size_t j = 0; j < svc->checks_count; j++)
            json_array_append_new(checks, json_string(svc->checks[j]));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", svc->id, "name",
                                             svc->name ? svc->name : svc->id, "state",
                                             state_name(collector_service_state(a->c, svc)),
                                             "down_when", svc->down_when_all ? "all" : "any",
                                             "checks", checks));
    }
    httpd_respond_json(r, 200, json_pack("{s:o}", "services", arr));
}

/* Probes as seen through their locations' states. */
static void api_probes(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    json_t *probes = json_object(), *arr = json_array();
    const char *name;
    json_t *p;

    for (size_t i = 0; i < collector_check_count(a->c); i++) {
        const struct check_state *s = collector_check_state(a->c, i);

        for (size_t j = 0; j < s->nloc; j++) {
            const struct loc_state *l = &s->loc[j];

            if (l->probe[0] == '\0')
                continue;
            p = json_object_get(probes, l->probe);
            if (p == NULL) {
                p = json_pack("{s:s,s:s,s:I,s:i,s:i}", "name", l->probe, "location", l->name,
                              "last_seen_ms", (json_int_t)0, "checks", 0, "silent_checks", 0);
                json_object_set_new(probes, l->probe, p);
            }
            if (l->last_ms > json_integer_value(json_object_get(p, "last_seen_ms")))
                json_object_set_new(p, "last_seen_ms", json_integer(l->last_ms));
            json_object_set_new(p, "checks",
                                json_integer(json_integer_value(json_object_get(p, "checks")) + 1));
            if (l->silent)
                json_object_set_new(
                    p, "silent_checks",
                    json_integer(json_integer_value(json_object_get(p, "silent_checks")) + 1));
        }
    }
    json_object_foreach(probes, name, p) json_array_append(arr, p);
    json_decref(probes);
    httpd_respond_json(r, 200, json_pack("{s:o}", "probes", arr));
}

/* ---- incidents (from Redis) -------------------------------------------- */

struct api_call {
    struct api *a;
    struct httpd_req *req;
    json_t *list;
    size_t expect;           /* replies still due */
    int64_t from, to;
    int open_only;
    char service[NINES_ID_LEN];   /* only incidents of this service's checks */
};

static int api_time_param(struct httpd_req *r, const char *name, int64_t dflt, int64_t *out)
{
    const char *v = httpd_query(r, name);
    char *end;

    *out = dflt;
    if (v == NULL)
        return 0;
    *out = strtoll(v, &end, 10);
    if (*end != '\0' || end == v || *out < 0) {
        httpd_respond_error(r, 400, "'%s' must be milliseconds since the epoch", name);
        return -1;
    }
    return 0;
}

static const char *api_hash_get(const redisReply *h, const char *name)
{
    if (h == NULL || h->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, name) == 0)
            return h->element[i + 1]->str;
    return NULL;
}

static json_t *api_incident_json(const redisReply *h)
{
    const char *v;
    int64_t start = 0, end = 0;
    json_t *o = json_object();
    static const char *const strs[] = { "id", "check", "reason", "message", "locations",
                                        "ack_by", "maintenance", "caused_by",
                                        "resolved_by" };

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if ((v = api_hash_get(h, strs[i])) != NULL)
            json_object_set_new(o, strs[i], json_string(v));
    if ((v = api_hash_get(h, "start_ms")) != NULL)
        start = strtoll(v, NULL, 10);
    if ((v = api_hash_get(h, "end_ms")) != NULL)
        end = strtoll(v, NULL, 10);
    json_object_set_new(o, "start_ms", json_integer(start));
    json_object_set_new(o, "end_ms", end ? json_integer(end) : json_null());
    json_object_set_new(o, "open", json_boolean(end == 0));
    json_object_set_new(o, "duration_ms", end ? json_integer(end - start) : json_null());
    if ((v = api_hash_get(h, "ack_ms")) != NULL)
        json_object_set_new(o, "ack_ms", json_integer(strtoll(v, NULL, 10)));
    return o;
}

static const struct nines_service_cfg *api_service(struct api *a, const char *id);

static int api_incident_in_service(const struct api_call *call, const char *check)
{
    const struct nines_service_cfg *svc;

    if (call->service[0] == '\0')
        return 1;
    svc = api_service(call->a, call->service);
    for (size_t i = 0; svc != NULL && check != NULL && i < svc->checks_count; i++)
        if (strcmp(svc->checks[i], check) == 0)
            return 1;
    return 0;
}

static void api_call_free(struct api_call *call)
{
    json_decref(call->list);
    free(call);
}

static void api_on_incident(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct api_call *call = privdata;
    redisReply *h = reply;
    const char *end;

    (void)ac;
    if (h != NULL && h->type == REDIS_REPLY_ARRAY && h->elements > 0) {
        int64_t e = (end = api_hash_get(h, "end_ms")) ? strtoll(end, NULL, 10) : 0;

        if (!(e != 0 && e <= call->from) && !(call->open_only && e != 0) &&
            api_incident_in_service(call, api_hash_get(h, "check")))
            json_array_append_new(call->list, api_incident_json(h));
    }
    if (--call->expect > 0)
        return;
    if (reply == NULL)
        httpd_respond_error(call->req, 503, "Redis connection lost");
    else
        httpd_respond_json(call->req, 200, json_pack("{s:O}", "incidents", call->list));
    api_call_free(call);
}

static void api_on_incident_ids(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct api_call *call = privdata;
    redisReply *ids = reply;

    if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        httpd_respond_error(call->req, 503, "Redis: %s", ids ? ids->str : "connection lost");
        api_call_free(call);
        return;
    }
    if (ids->elements == 0) {
        httpd_respond_json(call->req, 200, json_pack("{s:O}", "incidents", call->list));
        api_call_free(call);
        return;
    }
    call->expect = ids->elements;
    for (size_t i = 0; i < ids->elements; i++)
        if (redisAsyncCommand(ac, api_on_incident, call, "HGETALL %s%s", STORE_KEY_INCIDENT,
                              ids->element[i]->str) != REDIS_OK)
            call->expect--;    /* never called back */
    if (call->expect == 0) {
        httpd_respond_error(call->req, 503, "Redis connection lost");
        api_call_free(call);
    }
}

/* GET /api/v1/incidents?check=ID&service=ID&from=MS&to=MS&open=1 */
static void api_incidents(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    redisAsyncContext *ac = collector_redis(a->c);
    const char *check = httpd_query(r, "check"), *service = httpd_query(r, "service");
    struct api_call *call;
    char key[NINES_ID_LEN + 48], to[32];

    if (ac == NULL) {
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    call = calloc(1, sizeof(*call));
    if (call == NULL) {
        httpd_respond_error(r, 500, "out of memory");
        return;
    }
    call->a = a;
    call->req = r;
    call->list = json_array();
    call->open_only = httpd_query(r, "open") != NULL;
    if (api_time_param(r, "from", 0, &call->from) != 0 ||
        api_time_param(r, "to", INT64_MAX, &call->to) != 0) {
        api_call_free(call);
        return;
    }
    if (service != NULL) {
        if (api_service(a, service) == NULL) {
            httpd_respond_error(r, 404, "no service '%s'", service);
            api_call_free(call);
            return;
        }
        snprintf(call->service, sizeof(call->service), "%s", service);
    }
    if (check != NULL)
        snprintf(key, sizeof(key), "%s%s", STORE_KEY_CHECK_INCIDENTS, check);
    else
        snprintf(key, sizeof(key), "%s", STORE_KEY_INCIDENTS);
    snprintf(to, sizeof(to), "(%" PRId64, call->to);
    if (redisAsyncCommand(ac, api_on_incident_ids, call, "ZREVRANGEBYSCORE %s %s -inf LIMIT 0 1000",
                          key, to) != REDIS_OK) {
        httpd_respond_error(r, 503, "Redis is unreachable");
        api_call_free(call);
    }
}

static void api_on_acked(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct api_call *call = privdata;
    redisReply *rep = reply;

    (void)ac;
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
        httpd_respond_error(call->req, 503, "Redis connection lost");
    else if (rep->integer == 0)
        httpd_respond_error(call->req, 404, "no such incident");
    else
        httpd_respond_json(call->req, 200, json_pack("{s:b}", "acknowledged", 1));
    api_call_free(call);
}

/* POST /api/v1/incidents/ID/ack  {"by": "name"} (operator) */
static void api_ack(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    redisAsyncContext *ac = collector_redis(a->c);
    const char *rest = httpd_rest(r), *slash = strrchr(rest, '/'), *by;
    struct nines_err err = { 0 };
    struct api_call *call;
    char id[NINES_ID_LEN + 32], now[24];
    json_t *body = NULL;
    size_t blen = 0;

    if (slash == NULL || strcmp(slash, "/ack") != 0 || (size_t)(slash - rest) >= sizeof(id)) {
        httpd_respond_error(r, 404, "use POST /api/v1/incidents/ID/ack");
        return;
    }
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    by = httpd_token_name(r);
    if (httpd_body(r, &blen) != NULL && blen > 0) {
        body = httpd_body_json(r, &err);
        if (body == NULL)
            return;          /* answered 400 */
        if (json_is_string(json_object_get(body, "by")))
            by = json_string_value(json_object_get(body, "by"));
    }
    if (by == NULL || by[0] == '\0')
        by = "api";
    if (ac == NULL || (call = calloc(1, sizeof(*call))) == NULL) {
        json_decref(body);
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    call->req = r;
    snprintf(now, sizeof(now), "%" PRId64, nines_wall_ms());
    /* HSET alone would create a missing incident: test and set in one step */
    redisAsyncCommand(ac, api_on_acked, call,
                      "EVAL %s 1 %s%s %s %s", "if redis.call('EXISTS', KEYS[1]) == 1 then "
                      "redis.call('HSET', KEYS[1], 'ack_by', ARGV[1], 'ack_ms', ARGV[2]) "
                      "return 1 end return 0",
                      STORE_KEY_INCIDENT, id, by, now);
    log_info("incident_acknowledged", "incident=%s by=%s", id, by);
    alerter_ack(collector_alerter(a->c), id, by, nines_wall_ms());
    audit_api(a->c, r, "ack", id, by);
    json_decref(body);
}

/* ---- push (heartbeat) monitors ----------------------------------------- */

/* The push check whose token hashes to the presented one, or -1. */
static long api_push_find(struct api *a, const char *token)
{
    unsigned char digest[32];
    unsigned int dlen = 0;

    if (token == NULL || token[0] == '\0' ||
        EVP_Digest(token, strlen(token), digest, &dlen, EVP_sha256(), NULL) != 1)
        return -1;
    for (size_t i = 0; i < collector_check_count(a->c); i++) {
        const struct nines_check *c = collector_check_spec(a->c, i);

        if (c->kind == NINES_KIND_PUSH && CRYPTO_memcmp(c->push.token_sha256, digest, 32) == 0)
            return (long)i;
    }
    return -1;
}

static int api_push_emit(struct api *a, const struct nines_check *c, int64_t at_ms, int ok,
                         const char *reason, const char *msg)
{
    struct nines_result r;

    nines_result_init(&r);
    snprintf(r.id, sizeof(r.id), "push/%s/%" PRId64 "/%" PRIu64, c->id, at_ms, ++a->push_seq);
    snprintf(r.check_id, sizeof(r.check_id), "%s", c->id);
    snprintf(r.probe, sizeof(r.probe), "push");
    snprintf(r.location, sizeof(r.location), "push");
    r.start_ms = at_ms;
    r.total_us = 0;
    r.outcome = ok ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    if (!ok) {
        snprintf(r.reason, sizeof(r.reason), "%s", reason);
        snprintf(r.message, sizeof(r.message), "%s", msg);
    }
    return collector_push_result(a->c, &r);
}

/* GET or POST /api/v1/push/TOKEN[?status=fail&msg=...] (public) */
static void api_push(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    long i = api_push_find(a, httpd_rest(r));
    const char *status = httpd_query(r, "status"), *msg = httpd_query(r, "msg");
    int ok = status == NULL || strcmp(status, "ok") == 0 || strcmp(status, "up") == 0;

    if (i < 0) {
        httpd_respond_error(r, 404, "unknown push token");
        return;
    }
    if (!ok && strcmp(status, "fail") != 0 && strcmp(status, "down") != 0) {
        httpd_respond_error(r, 400, "status must be ok or fail");
        return;
    }
    if (api_push_emit(a, collector_check_spec(a->c, (size_t)i), nines_wall_ms(), ok,
                      "push_failed", msg ? msg : "the job reported a failure") != 0) {
        httpd_respond_error(r, 503, "Redis is unreachable; ping not recorded");
        return;
    }
    httpd_respond_json(r, 200, json_pack("{s:b,s:s}", "recorded", 1, "status",
                                         ok ? "ok" : "fail"));
}

static struct api_push_due *api_due(struct api *a, const char *id)
{
    for (size_t i = 0; i < a->ndue; i++)
        if (strcmp(a->due[i].id, id) == 0)
            return &a->due[i];
    if (a->ndue >= API_MAX_PUSH)
        return NULL;
    snprintf(a->due[a->ndue].id, sizeof(a->due[0].id), "%s", id);
    a->due[a->ndue].emitted_deadline = 0;
    return &a->due[a->ndue++];
}

void api_tick(struct api *a, int64_t now_ms)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < collector_check_count(a->c); i++) {
        const struct nines_check *c = collector_check_spec(a->c, i);
        const struct check_state *s = collector_check_state(a->c, i);
        struct api_push_due *d;
        int64_t last, deadline;

        if (c->kind != NINES_KIND_PUSH || (d = api_due(a, c->id)) == NULL)
            continue;
        last = s->last_ms > 0 ? s->last_ms : a->started_ms;
        if (d->emitted_deadline > last)
            last = d->emitted_deadline;   /* our own miss, not applied yet */
        deadline = last + c->push.period_ms + c->push.grace_ms;
        if (now_ms < deadline)
            continue;
        if (api_push_emit(a, c, deadline, 0, "push_missed",
                          "no ping within the period and grace") == 0) {
            d->emitted_deadline = deadline;
            log_warn("push_missed", "check=%s deadline_ms=%" PRId64, c->id, deadline);
        }
    }
}


/* ---- uptime ------------------------------------------------------------ */

struct api_uptime {
    struct api *a;
    struct httpd_req *req;
    char service[NINES_ID_LEN];   /* "" for a check */
    char check[NINES_ID_LEN];
    int64_t from, to;             /* a custom window, or 0 */
    int64_t now;
};

static json_t *api_uptime_json(const struct uptime_result *u, int64_t from, int64_t to)
{
    return json_pack("{s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:f,s:b}", "from_ms", (json_int_t)from,
                     "to_ms", (json_int_t)to, "uptime", u->uptime, "uptime_pct",
                     u->uptime * 100.0, "downtime_ms", (json_int_t)u->downtime_ms,
                     "maintenance_ms", (json_int_t)u->maintenance_ms, "nodata_ms",
                     (json_int_t)u->nodata_ms, "eligible_ms", (json_int_t)u->eligible_ms,
                     "coverage", u->coverage, "no_eligible_time", u->no_eligible_time);
}

static const struct nines_service_cfg *api_service(struct api *a, const char *id)
{
    const struct nines_config *cfg = collector_config(a->c);

    for (size_t i = 0; id != NULL && i < cfg->services_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

static void api_on_uptime(struct sla_query *q, int status, void *arg)
{
    struct api_uptime *u = arg;
    const struct nines_service_cfg *svc = u->service[0] ? api_service(u->a, u->service) : NULL;
    json_t *windows = json_object();
    struct uptime_result r;
    int rc = status;

    if (rc == 0 && u->service[0] && svc == NULL)
        rc = NINES_ENOTFOUND;       /* reloaded away meanwhile */
    for (int w = 0; rc == 0 && w < UPTIME_WINDOWS + (u->from != 0); w++) {
        int64_t from = u->from, to = u->to;

        if (w < UPTIME_WINDOWS)
            uptime_window_range((enum uptime_window)w, u->now, &from, &to);
        rc = svc ? sla_service_uptime(u->a->c, q, svc, from, to, &r)
                 : sla_check_uptime(u->a->c, q, 0, from, to, &r);
        if (rc == 0)
            json_object_set_new(windows,
                                w < UPTIME_WINDOWS ? uptime_window_name((enum uptime_window)w)
                                                   : "custom",
                                api_uptime_json(&r, from, to));
    }
    if (rc == 0)
        httpd_respond_json(u->req, 200, json_pack("{s:s,s:s,s:o}", svc ? "service" : "check",
                                                  svc ? svc->id : u->check, "computed",
                                                  "exact", "windows", windows));
    else {
        json_decref(windows);
        httpd_respond_error(u->req, rc == NINES_ENOTFOUND ? 404 : 503,
                            "uptime could not be computed (Redis)");
    }
    sla_free(q);
    free(u);
}

/* GET /api/v1/uptime?check=ID | service=ID [&from=MS&to=MS] */
static void api_uptime(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    const char *check = httpd_query(r, "check"), *service = httpd_query(r, "service");
    const struct nines_service_cfg *svc = api_service(a, service);
    struct api_uptime *u;
    int64_t from, to, span_from;

    if ((check == NULL) == (service == NULL)) {
        httpd_respond_error(r, 400, "give check=ID or service=ID");
        return;
    }
    if ((check && collector_check_index(a->c, check) < 0) || (service && svc == NULL)) {
        httpd_respond_error(r, 404, "no %s '%s'", check ? "check" : "service",
                            check ? check : service);
        return;
    }
    if (api_time_param(r, "from", 0, &from) != 0 || api_time_param(r, "to", 0, &to) != 0)
        return;
    if ((from != 0) != (to != 0) || (from != 0 && to <= from)) {
        httpd_respond_error(r, 400, "give both from and to, with from < to");
        return;
    }
    u = calloc(1, sizeof(*u));
    if (u == NULL) {
        httpd_respond_error(r, 500, "out of memory");
        return;
    }
    u->a = a;
    u->req = r;
    u->from = from;
    u->to = to;
    u->now = nines_wall_ms();
    if (svc != NULL)
        snprintf(u->service, sizeof(u->service), "%s", svc->id);
    else
        snprintf(u->check, sizeof(u->check), "%s", check);
    uptime_window_range(UPTIME_90D, u->now, &span_from, &to);
    if (u->to > to)
        to = u->to;
    if (!(svc ? sla_fetch(a->c, (const char *const *)svc->checks, svc->checks_count, span_from,
                          to, api_on_uptime, u)
              : sla_fetch(a->c, &check, 1, span_from, to, api_on_uptime, u))) {
        free(u);
        httpd_respond_error(r, 503, "Redis is unreachable");
    }
}

/* ---- latency percentiles ----------------------------------------------- */

struct api_latency {
    struct httpd_req *req;
    struct nines_histo h;
    size_t expect;
    int failed;
    int64_t from, to;
};

static void api_on_latency_day(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct api_latency *l = privdata;
    redisReply *r = reply;

    (void)ac;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        l->failed = 1;
    } else if (r->elements > 0) {
        const char **f = malloc(r->elements * sizeof(*f));
        size_t *len = malloc(r->elements * sizeof(*len));
        struct nines_histo day;

        nines_histo_init(&day);
        for (size_t i = 0; f && len && i < r->elements; i++) {
            f[i] = r->element[i]->str;
            len[i] = r->element[i]->len;
        }
        if (f && len && nines_histo_decode_hash(&day, f, len, r->elements) == 0)
            nines_histo_merge(&l->h, &day);
        free(f);
        free(len);
    }
    if (--l->expect > 0)
        return;
    if (l->failed) {
        httpd_respond_error(l->req, 503, "Redis connection lost");
    } else {
        json_t *o = json_pack("{s:I,s:I,s:I,s:s}", "from_ms", (json_int_t)l->from, "to_ms",
                              (json_int_t)l->to, "count", (json_int_t)l->h.count,
                              "granularity", "UTC days");

        if (l->h.count > 0) {
            json_object_set_new(o, "p50_ms", json_real(nines_histo_quantile(&l->h, 0.50) / 1e3));
            json_object_set_new(o, "p95_ms", json_real(nines_histo_quantile(&l->h, 0.95) / 1e3));
            json_object_set_new(o, "p99_ms", json_real(nines_histo_quantile(&l->h, 0.99) / 1e3));
        }
        httpd_respond_json(l->req, 200, o);
    }
    free(l);
}

/* GET /api/v1/latency?check=ID[&from=MS&to=MS] (default: the last 24 h) */
static void api_latency(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    const char *check = httpd_query(r, "check");
    redisAsyncContext *ac = collector_redis(a->c);
    struct api_latency *l;
    int64_t now = nines_wall_ms();

    if (check == NULL || collector_check_index(a->c, check) < 0) {
        httpd_respond_error(r, check ? 404 : 400, "give check=ID of a known check");
        return;
    }
    if (ac == NULL || (l = calloc(1, sizeof(*l))) == NULL) {
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    l->req = r;
    nines_histo_init(&l->h);
    if (api_time_param(r, "from", now - 86400000, &l->from) != 0 ||
        api_time_param(r, "to", now, &l->to) != 0) {
        free(l);
        return;
    }
    if (l->to <= l->from || l->to - l->from > INT64_C(400) * 86400000) {
        free(l);
        httpd_respond_error(r, 400, "from < to, at most 400 days apart");
        return;
    }
    for (int64_t day = l->from - l->from % 86400000; day < l->to; day += 86400000) {
        char key[NINES_ID_LEN + 48];

        store_latency_key(check, day, key, sizeof(key));
        if (redisAsyncCommand(ac, api_on_latency_day, l, "HGETALL %s", key) == REDIS_OK)
            l->expect++;
    }
    if (l->expect == 0) {
        free(l);
        httpd_respond_error(r, 503, "Redis is unreachable");
    }
}

/* ---- maintenance windows ----------------------------------------------- */

static void api_maint_list(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    json_t *arr = json_array();

    for (size_t i = 0; i < sla_maint_count(a->c); i++) {
        char *js = sla_maint_to_json(sla_maint_at(a->c, i));
        json_t *o = js ? json_loads(js, 0, NULL) : NULL;

        if (o != NULL)
            json_array_append_new(arr, o);
        free(js);
    }
    httpd_respond_json(r, 200, json_pack("{s:o}", "maintenance", arr));
}

/* POST /api/v1/maintenance {"id", "checks", "services", "reason",
 * "start_ms"+"end_ms" | "recurring": "sun 02:00 2h Europe/Berlin"} */
static void api_maint_add(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    redisAsyncContext *ac = collector_redis(a->c);
    struct nines_err err = { 0 };
    struct sla_maint m;
    size_t len = 0;
    const char *body = httpd_body(r, &len);
    char *js;

    if (sla_maint_from_json(body ? body : "", len, &m, &err) != 0) {
        httpd_respond_error(r, 400, "%s", err.msg);
        return;
    }
    if (ac == NULL || (js = sla_maint_to_json(&m)) == NULL) {
        sla_maint_clear(&m);
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", SLA_KEY_MAINTENANCE, m.id, js);
    log_info("maintenance_added", "id=%s by=%s", m.id, httpd_token_name(r)[0]
                                                           ? httpd_token_name(r)
                                                           : "api");
    audit_api(a->c, r, "maintenance_add", m.id, NULL);
    collector_maint_put(a->c, &m);
    httpd_respond_json(r, 201, json_loads(js, 0, NULL));
    free(js);
}

static void api_maint_delete(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    redisAsyncContext *ac = collector_redis(a->c);

    if (ac == NULL) {
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    if (collector_maint_remove(a->c, httpd_rest(r)) != 0) {
        httpd_respond_error(r, 404, "no stored maintenance window '%s' (windows from the "
                                    "configuration are changed there)", httpd_rest(r));
        return;
    }
    redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", SLA_KEY_MAINTENANCE, httpd_rest(r));
    log_info("maintenance_removed", "id=%s", httpd_rest(r));
    audit_api(a->c, r, "maintenance_remove", httpd_rest(r), NULL);
    httpd_respond_json(r, 200, json_pack("{s:b}", "removed", 1));
}

/* ---- setup ------------------------------------------------------------- */

static void api_metrics_route(struct httpd_req *r, void *arg)
{
    struct api *a = arg;
    char *text = metrics_render(a->c);

    if (text == NULL) {
        httpd_respond_error(r, 500, "out of memory");
        return;
    }
    httpd_respond_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
    free(text);
}

static enum auth_role api_role(const struct api *a, enum auth_role role)
{
    return a->open ? HTTPD_PUBLIC : role;
}

static int api_routes(struct api *a)
{
    int rc = 0;

    rc |= httpd_route(a->h, "GET", "/api/v1/checks", api_role(a, AUTH_ROLE_VIEWER), api_checks,
                      a);
    rc |= httpd_route(a->h, "GET", "/api/v1/checks/*", api_role(a, AUTH_ROLE_VIEWER),
                      api_check_one, a);
    rc |= httpd_route(a->h, "GET", "/api/v1/services", api_role(a, AUTH_ROLE_VIEWER),
                      api_services, a);
    rc |= httpd_route(a->h, "GET", "/api/v1/probes", api_role(a, AUTH_ROLE_VIEWER), api_probes,
                      a);
    rc |= httpd_route(a->h, "GET", "/api/v1/incidents", api_role(a, AUTH_ROLE_VIEWER),
                      api_incidents, a);
    rc |= httpd_route(a->h, "POST", "/api/v1/incidents/*", api_role(a, AUTH_ROLE_OPERATOR),
                      api_ack, a);
    rc |= httpd_route(a->h, "GET", "/api/v1/uptime", api_role(a, AUTH_ROLE_VIEWER), api_uptime,
                      a);
    rc |= httpd_route(a->h, "GET", "/api/v1/latency", api_role(a, AUTH_ROLE_VIEWER),
                      api_latency, a);
    rc |= httpd_route(a->h, "GET", "/api/v1/maintenance", api_role(a, AUTH_ROLE_VIEWER),
                      api_maint_list, a);
    rc |= httpd_route(a->h, "POST", "/api/v1/maintenance", api_role(a, AUTH_ROLE_OPERATOR),
                      api_maint_add, a);
    rc |= httpd_route(a->h, "DELETE", "/api/v1/maintenance/*", api_role(a, AUTH_ROLE_OPERATOR),
                      api_maint_delete, a);
    rc |= httpd_route(a->h, "GET", "/api/v1/push/*", HTTPD_PUBLIC, api_push, a);
    rc |= httpd_route(a->h, "POST", "/api/v1/push/*", HTTPD_PUBLIC, api_push, a);
    rc |= httpd_route(a->h, "GET", "/metrics", api_role(a, AUTH_ROLE_VIEWER),
                      api_metrics_route, a);
    rc |= api_alerts_routes(a->h, a->c, api_role(a, AUTH_ROLE_VIEWER),
                            api_role(a, AUTH_ROLE_OPERATOR));
    rc |= api_drills_routes(a->h, a->c, api_role(a, AUTH_ROLE_VIEWER),
                            api_role(a, AUTH_ROLE_OPERATOR));
    rc |= api_reports_routes(a->h, a->c, api_role(a, AUTH_ROLE_VIEWER));
    rc |= api_kpis_routes(a->h, a->c, api_role(a, AUTH_ROLE_VIEWER));
    rc |= (a->web = web_routes(a->h, a->c, api_role(a, AUTH_ROLE_VIEWER),
                               api_role(a, AUTH_ROLE_OPERATOR))) == NULL;
    return rc;
}

/* Loads api.tokens into the auth table; 0 or -1 (logged). */
static int api_load_tokens(struct api *a)
{
    const struct nines_api_cfg *cfg = &collector_config(a->c)->api;

    auth_table_init(&a->auth);
    for (size_t i = 0; i < cfg->tokens_count; i++) {
        const struct nines_token_cfg *t = &cfg->tokens[i];
        struct nines_err err = { 0 };
        char hash[AUTH_HASH_TEXT_SIZE];
        size_t o = 0;

        if (t->salt_len > 0) {
            o += (size_t)snprintf(hash, sizeof(hash), "sha256-salted:");
            for (size_t b = 0; b < t->salt_len && b < 32; b++)
                o += (size_t)snprintf(hash + o, sizeof(hash) - o, "%02x", t->salt[b]);
            o += (size_t)snprintf(hash + o, sizeof(hash) - o, ":");
        } else {
            o += (size_t)snprintf(hash, sizeof(hash), "sha256:");
        }
        for (size_t b = 0; b < 32; b++)
            o += (size_t)snprintf(hash + o, sizeof(hash) - o, "%02x", t->sha256[b]);
        if (auth_table_add(&a->auth, t->name, hash, (enum auth_role)t->role, &err) != 0) {
            log_error("api_token_invalid", "name=%s error=\"%s\"", t->name, err.msg);
            return -1;
        }
    }
    a->open = cfg->tokens_count == 0;
    if (a->open)
        log_warn("api_open", "note=\"no api.tokens configured: the API answers anyone who can "
                             "reach it\"");
    return 0;
}

static void api_write_addr(const struct nines_config *cfg, int port)
{
    char path[600], tmp[620];
    FILE *f;

    mkdir(cfg->collector.data_dir, 0700);     /* exists already with the embedded Redis */
    snprintf(path, sizeof(path), "%s/api.addr", cfg->collector.data_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return;     /* data_dir may not exist without the embedded Redis */
    fprintf(f, "%s://127.0.0.1:%d\n", cfg->api.tls_cert != NULL ? "https" : "http", port);
    if (fclose(f) == 0)
        rename(tmp, path);
}

/* A PEM file, whole (at most 1 MiB), malloc'd; NULL with err. */
static char *api_read_pem(const char *path, const char *what, struct nines_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;

    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n <= (1L << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
    } else {
        free(buf);
        buf = NULL;
        nines_err_set(err, NINES_EINVAL, "api.%s: cannot read %s", what, path);
    }
    if (f != NULL)
        fclose(f);
    return buf;
}

struct api *api_start(uv_loop_t *loop, struct collector *c, struct nines_err *err)
{
    const struct nines_api_cfg *cfg = &collector_config(c)->api;
    struct httpd_opts o = { 0 };
    struct api *a = calloc(1, sizeof(*a));
    char *cert = NULL, *key = NULL;

    if (a == NULL) {
        nines_err_set(err, NINES_ENOMEM, "out of memory");
        return NULL;
    }
    a->c = c;
    a->started_ms = nines_wall_ms();
    if (api_load_tokens(a) != 0) {
        free(a);
        nines_err_set(err, NINES_EINVAL, "invalid api.tokens");
        return NULL;
    }
    o.listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    o.auth = &a->auth;
    o.connection_timeout_s = cfg->timeout_ms > 0 ? (unsigned)((cfg->timeout_ms + 999) / 1000) : 0;
    o.connection_limit = (unsigned)cfg->connection_limit;
    o.per_ip_limit = (unsigned)cfg->per_ip_limit;
    o.max_body = (size_t)cfg->max_body_bytes;
    if (cfg->tls_cert != NULL &&
        ((cert = api_read_pem(cfg->tls_cert, "tls_cert", err)) == NULL ||
         (key = api_read_pem(cfg->tls_key, "tls_key", err)) == NULL)) {
        free(cert);
        free(a);
        return NULL;
    }
    o.tls_cert_pem = cert;
    o.tls_key_pem = key;
    a->h = httpd_new(loop, &o, err);
    /* MHD may refer to the credentials while it runs: kept until close */
    a->tls_cert = cert;
    a->tls_key = key;
    if (a->h == NULL || api_routes(a) != 0) {
        if (a->h != NULL) {
            httpd_close(a->h, api_destroy, a);
        } else {
            api_destroy(a);
        }
        if (err->code == 0)
            nines_err_set(err, NINES_EINVAL, "cannot register the API routes");
        return NULL;
    }
    api_write_addr(collector_config(c), httpd_port(a->h));
    log_info("api_listening", "listen=%s port=%d auth=%s tls=%s", o.listen, httpd_port(a->h),
             a->open ? "none" : "tokens", cfg->tls_cert != NULL ? "yes" : "no");
    return a;
}

void api_reload(struct api *a)
{
    if (a != NULL && api_load_tokens(a) == 0)
        httpd_set_auth(a->h, &a->auth);
}

int api_port(const struct api *a)
{
    return a != NULL ? httpd_port(a->h) : 0;
}

struct api_closing {
    struct api *a;
    void (*closed)(void *);
    void *arg;
};

static void api_free_tls(struct api *a)
{
    if (a->tls_key != NULL)
        explicit_bzero(a->tls_key, strlen(a->tls_key));
    free(a->tls_key);
    free(a->tls_cert);
    a->tls_key = a->tls_cert = NULL;
}

static void api_destroy(void *arg)
{
    api_free_tls(arg);
    free(arg);
}

static void api_closed(void *arg)
{
    struct api_closing *cl = arg;

    if (cl->closed != NULL)
        cl->closed(cl->arg);
    api_free_tls(cl->a);
    free(cl->a);
    free(cl);
}

void api_close(struct api *a, void (*closed)(void *), void *arg)
{
    struct api_closing *cl;

    if (a == NULL) {
        if (closed != NULL)
            closed(arg);
        return;
    }
    cl = malloc(sizeof(*cl));
    if (cl == NULL) {
        web_close(a->web);
        api_reports_close();
        api_kpis_close();
        httpd_close(a->h, api_destroy, a);
        return;
    }
    cl->a = a;
    cl->closed = closed;
    cl->arg = arg;
    web_close(a->web);           /* answers its waiting requests first */
    api_reports_close();         /* and the reports being computed */
    api_kpis_close();            /* and the KPIs */
    httpd_close(a->h, api_closed, cl);
}
