/*
 * The alerting part of the HTTP API:
 *
 *   GET    /api/v1/alerts                      alerts firing, held, acknowledged; silences
 *   POST   /api/v1/alerts/ack      {target, by}   acknowledge (incident id or alert key)
 *   POST   /api/v1/alerts/resolve  {target, by}   resolve by hand
 *   GET    /api/v1/notifications/ID            one outbox item with its delivery log
 *   GET    /api/v1/silences
 *   POST   /api/v1/silences        {matchers, duration | ends_ms | until_resolved, comment}
 *   DELETE /api/v1/silences/ID
 *   POST   /api/v1/integrations/pagerduty/RECEIVER   PagerDuty V3 webhooks (signed)
 */
#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "api_alerts.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "outbox.h"
#include "pdinbound.h"
#include "audit.h"
#include "silence.h"
#include "store.h"

static const char *api_alerts_by(struct httpd_req *r, json_t *body)
{
    const char *by = json_string_value(json_object_get(body, "by"));

    if (by == NULL || by[0] == '\0')
        by = httpd_token_name(r);
    return by != NULL && by[0] != '\0' ? by : "api";
}

static void api_alerts_list(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    struct alerter *a = collector_alerter(c);

    if (a == NULL) {
        httpd_respond_json(r, 200, json_pack("{s:[],s:[]}", "alerts", "silences"));
        return;
    }
    httpd_respond_json(r, 200, alerter_json(a));
}

/* POST /api/v1/alerts/ack and /api/v1/alerts/resolve */
static void api_alerts_act(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    struct alerter *a = collector_alerter(c);
    const char *verb = httpd_rest(r), *target, *by;
    struct nines_err err = { 0 };
    json_t *body;
    int n, ack = strcmp(verb, "ack") == 0;

    if (!ack && strcmp(verb, "resolve") != 0) {
        httpd_respond_error(r, 404, "use POST /api/v1/alerts/ack or /api/v1/alerts/resolve");
        return;
    }
    body = httpd_body_json(r, &err);
    if (body == NULL)
        return;
    target = json_string_value(json_object_get(body, "target"));
    if (target == NULL || target[0] == '\0' || strlen(target) >= NOTIFY_KEY_LEN) {
        httpd_respond_error(r, 400, "body: 'target' must be an incident id or an alert key");
        json_decref(body);
        return;
    }
    by = api_alerts_by(r, body);
    n = a != NULL ? (ack ? alerter_ack(a, target, by, nines_wall_ms())
                         : alerter_resolve(a, target, by, nines_wall_ms()))
                  : 0;
    if (n > 0)
        audit_api(c, r, ack ? "ack" : "resolve", target, by);
    if (n == 0)
        httpd_respond_error(r, 404, "no firing alert '%s'", target);
    else
        httpd_respond_json(r, 200, json_pack("{s:s,s:i}", ack ? "acknowledged" : "resolved",
                                             target, "alerts", n));
    json_decref(body);
}

/* ---- delivery log ---------------------------------------------------------- */

static void api_alerts_on_item(int status, json_t *item, void *arg)
{
    struct httpd_req *r = arg;

    if (status == 0)
        httpd_respond_json(r, 200, json_incref(item));
    else if (status == NINES_ENOTFOUND)
        httpd_respond_error(r, 404, "no such notification");
    else
        httpd_respond_error(r, 503, "Redis is unreachable");
}

static void api_alerts_notification(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    struct outbox *ob = collector_outbox(c);
    const char *id = httpd_rest(r);

    if (ob == NULL) {
        httpd_respond_error(r, 404, "no receivers are configured");
        return;
    }
    if (id[0] == '\0' || outbox_get(ob, id, api_alerts_on_item, r) != 0)
        httpd_respond_error(r, id[0] == '\0' ? 404 : 400, "no such notification");
}

/* ---- silences -------------------------------------------------------------- */

static void api_alerts_silences(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    struct alerter *a = collector_alerter(c);
    json_t *all = a != NULL ? alerter_json(a) : NULL;

    httpd_respond_json(r, 200, json_pack("{s:O}", "silences",
                                         all != NULL ? json_object_get(all, "silences")
                                                     : json_array()));
    json_decref(all);
}

/* Fills what the client may leave out, then validates as stored. */
static int api_alerts_silence_from(struct httpd_req *r, json_t *body, struct silence *s,
                                   struct nines_err *err)
{
    const char *dur = json_string_value(json_object_get(body, "duration"));
    int64_t now = nines_wall_ms(), ms = 0;
    unsigned char rnd[6];
    char *text;
    int rc;

    if (dur != NULL && nines_duration_parse(dur, &ms) != 0)
        return nines_err_set(err, NINES_EINVAL, "'duration' must be a duration such as 2h");
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return nines_err_set(err, NINES_EIO, "no randomness for an id");
    json_object_set_new(body, "id", json_sprintf("s-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                                                 rnd[2], rnd[3], rnd[4], rnd[5]));
    if (!json_is_integer(json_object_get(body, "starts_ms")))
        json_object_set_new(body, "starts_ms", json_integer(now));
    if (ms > 0)
        json_object_set_new(body, "ends_ms", json_integer(json_integer_value(
                                                 json_object_get(body, "starts_ms")) + ms));
    json_object_set_new(body, "created_ms", json_integer(now));
    json_object_set_new(body, "created_by", json_string(api_alerts_by(r, body)));
    json_object_del(body, "duration");
    json_object_del(body, "by");
    json_object_del(body, "reminded_ms");
    json_object_del(body, "matched");
    text = json_dumps(body, JSON_COMPACT);
    if (text == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    rc = silence_from_json(text, strlen(text), s, err);
    free(text);
    return rc;
}

static void api_alerts_silence_add(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    redisAsyncContext *ac = collector_redis(c);
    struct nines_err err = { 0 };
    struct silence s;
    json_t *body = httpd_body_json(r, &err);
    char *text;

    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        json_decref(body);
        httpd_respond_error(r, 400, "body: expected a JSON object");
        return;
    }
    if (api_alerts_silence_from(r, body, &s, &err) != 0) {
        json_decref(body);
        httpd_respond_error(r, 400, "%s", err.msg);
        return;
    }
    json_decref(body);
    text = silence_to_json(&s);
    if (ac == NULL || text == NULL) {
        free(text);
        silence_clear(&s);
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", SILENCE_KEY, s.id, text);
    alerter_silences_changed(collector_alerter(c));
    log_info("silence_added", "id=%s by=%s", s.id, s.by);
    audit_api(c, r, "silence_add", s.id, s.by);
    httpd_respond_json(r, 201, json_loads(text, 0, NULL));
    free(text);
    silence_clear(&s);
}

static void api_alerts_on_silence_deleted(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct httpd_req *r = privdata;
    redisReply *rep = reply;

    (void)ac;
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
        httpd_respond_error(r, 503, "Redis connection lost");
    else if (rep->integer == 0)
        httpd_respond_error(r, 404, "no such silence");
    else
        httpd_respond_json(r, 200, json_pack("{s:b}", "expired", 1));
}

static void api_alerts_silence_delete(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    redisAsyncContext *ac = collector_redis(c);

    if (ac == NULL) {
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    redisAsyncCommand(ac, api_alerts_on_silence_deleted, r, "HDEL %s %s", SILENCE_KEY,
                      httpd_rest(r));
    alerter_silences_changed(collector_alerter(c));
    log_info("silence_expired", "id=%s by=%s", httpd_rest(r), httpd_token_name(r));
    audit_api(c, r, "silence_expire", httpd_rest(r), NULL);
}

/* ---- PagerDuty V3 webhooks: acknowledgements and resolutions come back ----- */

static void api_alerts_pagerduty(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    struct alerter *a = collector_alerter(c);
    const char *secret = a != NULL ? alerter_pagerduty_secret(a, httpd_rest(r)) : NULL;
    const char *body;
    struct pdinbound_event ev;
    struct nines_err err = { 0 };
    char by[300];
    size_t len = 0;
    int n = 0;

    if (secret == NULL) {
        httpd_respond_error(r, 404, "no PagerDuty receiver '%s' with a webhook secret",
                            httpd_rest(r));
        return;
    }
    body = httpd_body(r, &len);
    if (body == NULL ||
        pdinbound_verify(secret, (const unsigned char *)body, len,
                         httpd_header(r, "X-PagerDuty-Signature")) != 0) {
        log_warn("pagerduty_webhook_rejected", "receiver=%s client=%s reason=signature",
                 httpd_rest(r), httpd_client_ip(r));
        httpd_respond_error(r, 401, "signature does not verify");
        return;
    }
    if (pdinbound_parse(body, len, &ev, &err) != 0) {
        httpd_respond_error(r, 400, "%s", err.msg);
        return;
    }
    snprintf(by, sizeof(by), "pagerduty:%s", ev.agent[0] ? ev.agent : "pagerduty");
    if (ev.key[0] != '\0' && ev.type == PDINBOUND_ACKNOWLEDGED)
        n = alerter_ack(a, ev.key, by, ev.occurred_ms > 0 ? ev.occurred_ms : nines_wall_ms());
    else if (ev.key[0] != '\0' && ev.type == PDINBOUND_RESOLVED)
        n = alerter_resolve(a, ev.key, by, nines_wall_ms());
    if (n > 0)
        audit_record(c, by, "pagerduty", ev.type == PDINBOUND_ACKNOWLEDGED ? "ack" : "resolve",
                     ev.key, NULL);
    log_info("pagerduty_webhook", "receiver=%s event=%s key=%s alerts=%d", httpd_rest(r),
             ev.event_type, ev.key, n);
    /* 2xx whatever we matched: PagerDuty would only retry */
    httpd_respond_json(r, 200, json_pack("{s:s,s:i}", "event", ev.event_type, "alerts", n));
}

int api_alerts_routes(struct httpd *h, struct collector *c, enum auth_role viewer,
                      enum auth_role operator)
{
    int rc = 0;

    rc |= httpd_route(h, "GET", "/api/v1/alerts", viewer, api_alerts_list, c);
    rc |= httpd_route(h, "POST", "/api/v1/alerts/*", operator, api_alerts_act, c);
    rc |= httpd_route(h, "GET", "/api/v1/notifications/*", viewer, api_alerts_notification, c);
    rc |= httpd_route(h, "GET", "/api/v1/silences", viewer, api_alerts_silences, c);
    rc |= httpd_route(h, "POST", "/api/v1/silences", operator, api_alerts_silence_add, c);
    rc |= httpd_route(h, "DELETE", "/api/v1/silences/*", operator, api_alerts_silence_delete,
                      c);
    rc |= httpd_route(h, "POST", "/api/v1/integrations/pagerduty/*", HTTPD_PUBLIC,
                      api_alerts_pagerduty, c);
    return rc;
}
