/*
 * Drills in the HTTP API:
 *
 *   GET  /api/v1/drills                       running drills and the last 100 ended
 *   POST /api/v1/drills  {service, scenario, expect_outage}   start one now (operator)
 *   POST /api/v1/drills/ID/stop               stop it (operator)
 *   GET  /api/v1/drills/ID                    its document (JSON)
 *   GET  /api/v1/drills/ID/report             its report (HTML)
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api_drills.h"
#include "audit.h"
#include "drill.h"
#include "nines/clock.h"
#include "nines/log.h"

struct api_drills_call {
    struct httpd_req *req;
    struct collector *c;
    int html;
};

static void api_drills_on_list(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct api_drills_call *call = privdata;
    redisReply *r = reply;
    json_t *ended = json_array();

    (void)ac;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        json_decref(ended);
        httpd_respond_error(call->req, 503, "Redis connection lost");
        free(call);
        return;
    }
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            json_array_append_new(ended, json_loadb(r->element[i]->str, r->element[i]->len, 0,
                                                    NULL));
    httpd_respond_json(call->req, 200, json_pack("{s:o,s:o}", "running",
                                                 drills_running_json(collector_drills(call->c)),
                                                 "ended", ended));
    free(call);
}

/* The last 100 ended drills, newest first, in one round trip. */
static const char api_drills_script[] =
    "local ids = redis.call('ZREVRANGE', KEYS[1], 0, 99) local out = {} "
    "for i, id in ipairs(ids) do local d = redis.call('GET', ARGV[1] .. id) "
    "if d then table.insert(out, d) end end return out";

static void api_drills_list(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    redisAsyncContext *ac = collector_redis(c);
    struct api_drills_call *call;

    if (ac == NULL || (call = calloc(1, sizeof(*call))) == NULL) {
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    call->req = r;
    call->c = c;
    redisAsyncCommand(ac, api_drills_on_list, call, "EVAL %s 1 %s %s", api_drills_script,
                      DRILL_KEY_ALL, DRILL_KEY);
}

static void api_drills_start(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    struct nines_err err = { 0 };
    json_t *body = httpd_body_json(r, &err);
    const char *svc, *by;
    char id[128];
    int rc;

    if (body == NULL)
        return;
    svc = json_string_value(json_object_get(body, "service"));
    by = json_string_value(json_object_get(body, "by"));
    if (by == NULL || by[0] == '\0')
        by = httpd_token_name(r)[0] ? httpd_token_name(r) : "api";
    if (svc == NULL) {
        json_decref(body);
        httpd_respond_error(r, 400, "body: 'service' is required");
        return;
    }
    rc = drills_start(collector_drills(c), svc,
                      json_string_value(json_object_get(body, "scenario")),
                      json_is_true(json_object_get(body, "expect_outage")), by, nines_wall_ms(),
                      id, sizeof(id), &err);
    json_decref(body);
    if (rc != 0)
        httpd_respond_error(r, rc == NINES_ESTATE ? 409 : 400, "%s", err.msg);
    else
        audit_api(c, r, "drill_start", id, by);
    if (rc == 0)
        httpd_respond_json(r, 201, json_pack("{s:s}", "id", id));
}

static void api_drills_on_doc(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct api_drills_call *call = privdata;
    redisReply *r = reply;
    json_t *doc;
    char *html;

    (void)ac;
    if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        httpd_respond_error(call->req, 503, "Redis connection lost");
    } else if (r->type == REDIS_REPLY_NIL) {
        httpd_respond_error(call->req, 404, "no such drill (running drills are listed under "
                            "/api/v1/drills)");
    } else if ((doc = json_loadb(r->str, r->len, 0, NULL)) == NULL) {
        httpd_respond_error(call->req, 500, "drill document unreadable");
    } else if (!call->html) {
        httpd_respond_json(call->req, 200, doc);
    } else {
        html = drill_report_html(doc);
        json_decref(doc);
        if (html == NULL)
            httpd_respond_error(call->req, 500, "out of memory");
        else
            httpd_respond_text(call->req, 200, "text/html; charset=utf-8", html, strlen(html));
        free(html);
    }
    free(call);
}

/* GET /api/v1/drills/ID[/report] and POST /api/v1/drills/ID/stop */
static void api_drills_one(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    redisAsyncContext *ac = collector_redis(c);
    const char *rest = httpd_rest(r), *slash = strrchr(rest, '/');
    struct api_drills_call *call;
    char id[160];
    size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);

    if (n == 0 || n >= sizeof(id)) {
        httpd_respond_error(r, 404, "no such drill");
        return;
    }
    memcpy(id, rest, n);
    id[n] = '\0';
    if (strcmp(httpd_method(r), "POST") == 0) {
        if (slash == NULL || strcmp(slash, "/stop") != 0) {
            httpd_respond_error(r, 404, "use POST /api/v1/drills/ID/stop");
        } else if (drills_stop(collector_drills(c), id,
                               httpd_token_name(r)[0] ? httpd_token_name(r) : "api",
                               nines_wall_ms()) != 0) {
            httpd_respond_error(r, 404, "no drill '%s' is running", id);
        } else {
            audit_api(c, r, "drill_stop", id, NULL);
            httpd_respond_json(r, 200, json_pack("{s:s}", "stopped", id));
        }
        return;
    }
    if (slash != NULL && strcmp(slash, "/report") != 0) {
        httpd_respond_error(r, 404, "use /api/v1/drills/ID or /api/v1/drills/ID/report");
        return;
    }
    if (ac == NULL || (call = calloc(1, sizeof(*call))) == NULL) {
        httpd_respond_error(r, 503, "Redis is unreachable");
        return;
    }
    call->req = r;
    call->c = c;
    call->html = slash != NULL;
    redisAsyncCommand(ac, api_drills_on_doc, call, "GET %s%s", DRILL_KEY, id);
}

int api_drills_routes(struct httpd *h, struct collector *c, enum auth_role viewer,
                      enum auth_role operator)
{
    int rc = 0;

    rc |= httpd_route(h, "GET", "/api/v1/drills", viewer, api_drills_list, c);
    rc |= httpd_route(h, "POST", "/api/v1/drills", operator, api_drills_start, c);
    rc |= httpd_route(h, "GET", "/api/v1/drills/*", viewer, api_drills_one, c);
    rc |= httpd_route(h, "POST", "/api/v1/drills/*", operator, api_drills_one, c);
    return rc;
}
