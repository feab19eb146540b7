/*
 * The collector's HTTP API end to end: a real collector with tokens of each
 * role, a probe, the HTTP fixture and redis-server; requests over loopback.
 * Also push (heartbeat) monitors and /metrics scraped by a real Prometheus.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "http_client.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

struct api_world {
    struct e2eworld e;
    struct httpfix http;
};

static char body[262144];

static void world_open(struct api_world *w, const char *extra_checks)
{
    char yaml[4096], viewer[72], operator[72], admin[72], beat[72];

    test_wait_poll_ms(100);
    memset(w, 0, sizeof(*w));
    e2eworld_open(&w->e);
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    e2eworld_token_hash("viewer-token", viewer);
    e2eworld_token_hash("operator-token", operator);
    e2eworld_token_hash("admin-token", admin);
    e2eworld_token_hash("beat-secret", beat);
    snprintf(yaml, sizeof(yaml),
             "collector:\n  name: c1\n  redis: %s\n  data_dir: %s/data\n"
             "api:\n  listen: 127.0.0.1:0\n  tokens:\n"
             "    - {name: alice, role: viewer, hash: \"%s\"}\n"
             "    - {name: bob, role: operator, hash: \"%s\"}\n"
             "    - {name: root, role: admin, hash: \"%s\"}\n"
             "services:\n  - id: shop\n    checks: [web, api]\n    target: 99.9\n"
             "maintenance:\n  - id: migration\n    checks: [legacy]\n"
             "    start: 2020-01-01T00:00:00Z\n    end: 2099-01-01T00:00:00Z\n"
             "checks:\n"
             "  - id: legacy\n    kind: http\n    url: %s/status/500\n    interval: 1s\n"
             "    timeout: 500ms\n    failures_to_down: 1\n"
             "  - id: web\n    kind: http\n    url: %s/\n    interval: 1s\n    timeout: 500ms\n"
             "  - id: api\n    kind: http\n    url: %s/status/503\n    interval: 1s\n"
             "    timeout: 500ms\n    failures_to_down: 1\n"
             "  - id: beat\n    kind: push\n    token: \"%s\"\n    period: 10s\n"
             "%s",
             w->e.redis.url, w->e.dir, viewer, operator, admin, w->http.base_url, w->http.base_url,
             w->http.base_url, beat, extra_checks ? extra_checks : "");
    e2eworld_config(&w->e, yaml);
    e2eworld_collector(&w->e, "collector.log", NULL);
    e2eworld_probe(&w->e);
    cr_assert(eq(int, e2eworld_wait_api(&w->e, 5000), 0), "no api.addr");
    cr_assert(eq(int, e2eworld_wait_published(&w->e, 10000), 0), "the collector never reached Redis");
}

static void world_close(struct api_world *w)
{
    httpfix_stop(&w->http);
    e2eworld_close(&w->e);
}

static int req(struct api_world *w, const char *method, const char *path, const char *token,
               const char *json)
{
    return e2eworld_request(&w->e, method, path, token, json, body, sizeof(body));
}

struct state_want {
    struct api_world *w;
    const char *check, *state;
};

static int check_state_is(void *arg)
{
    struct state_want *s = arg;
    char path[128];
    json_t *j;
    int ok;

    snprintf(path, sizeof(path), "/api/v1/checks/%s", s->check);
    if (req(s->w, "GET", path, "viewer-token", NULL) != 200)
        return 0;
    j = json_loads(body, 0, NULL);
    ok = j != NULL && strcmp(json_string_value(json_object_get(j, "state")), s->state) == 0;
    json_decref(j);
    return ok;
}

Test(e2e_api, roles_tokens_and_errors, .timeout = 60)
{
    struct api_world w;
    struct state_want up;

    world_open(&w, NULL);
    up = (struct state_want){ &w, "web", "UP" };
    cr_assert(eq(int, test_wait_until(check_state_is, &up, 20000), 0));
    cr_expect(eq(int, req(&w, "GET", "/healthz", NULL, NULL), 200));
    cr_expect(eq(int, req(&w, "GET", "/api/v1/checks", NULL, NULL), 401), "no token");
    cr_expect(eq(int, req(&w, "GET", "/api/v1/checks", "wrong", NULL), 401), "bad token");
    cr_expect(eq(int, req(&w, "GET", "/api/v1/checks", "viewer-token", NULL), 200));
    cr_expect(strstr(body, "\"id\":\"web\"") != NULL, "%s", body);
    cr_expect(eq(int, req(&w, "GET", "/metrics", NULL, NULL), 401));
    cr_expect(eq(int, req(&w, "GET", "/metrics", "viewer-token", NULL), 200));
    cr_expect(strstr(body, "nines_check_up{check=\"web\",kind=\"http\"} 1") != NULL, "%s", body);
    /* too low a role */
    cr_expect(eq(int, req(&w, "POST", "/api/v1/maintenance", "viewer-token",
                          "{\"id\":\"m1\",\"start_ms\":1,\"end_ms\":2}"), 403));
    /* malformed, oversize, unknown */
    cr_expect(eq(int, req(&w, "POST", "/api/v1/maintenance", "operator-token", "{nope"), 400));
    memset(body, 'x', 100000);
    body[100000] = '\0';
    {
        char *big = strdup(body);

        cr_expect(eq(int, req(&w, "POST", "/api/v1/maintenance", "operator-token", big), 413));
        free(big);
    }
    cr_expect(eq(int, req(&w, "GET", "/api/v1/nothing-here", "viewer-token", NULL), 404));
    cr_expect(strstr(body, "\"error\"") != NULL, "errors are JSON: %s", body);
    cr_expect(eq(int, req(&w, "DELETE", "/api/v1/checks", "admin-token", NULL), 405));
    world_close(&w);
}

static int metrics_have_service_sla(void *arg)
{
    struct api_world *w = arg;

    return req(w, "GET", "/metrics", "viewer-token", NULL) == 200 &&
           strstr(body, "nines_service_availability_30d{service=\"shop\"} 0.") != NULL;
}

Test(e2e_api, incidents_services_ack_uptime_latency_and_maintenance, .timeout = 90)
{
    struct api_world w;
    struct state_want down, up;
    json_t *j, *inc, *win;
    char path[256];

    world_open(&w, NULL);
    down = (struct state_want){ &w, "api", "DOWN" };
    up = (struct state_want){ &w, "web", "UP" };
    cr_assert(eq(int, test_wait_until(check_state_is, &down, 20000), 0));
    cr_assert(eq(int, test_wait_until(check_state_is, &up, 20000), 0));
    test_sleep_ms(1500);      /* a few more results for latency */

    cr_assert(eq(int, req(&w, "GET", "/api/v1/services", "viewer-token", NULL), 200));
    cr_expect(strstr(body, "\"state\":\"DOWN\"") != NULL, "shop is down with api: %s", body);

    cr_assert(eq(int, req(&w, "GET", "/api/v1/incidents?check=api&open=1", "viewer-token",
                          NULL), 200));
    j = json_loads(body, 0, NULL);
    inc = json_array_get(json_object_get(j, "incidents"), 0);
    cr_assert(inc != NULL, "%s", body);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(inc, "reason")),
                 "http_status"));
    snprintf(path, sizeof(path), "/api/v1/incidents/%s/ack",
             json_string_value(json_object_get(inc, "id")));
    json_decref(j);
    cr_expect(eq(int, req(&w, "POST", path, "viewer-token", NULL), 403));
    cr_expect(eq(int, req(&w, "POST", path, "operator-token", "{\"by\":\"carol\"}"), 200),
              "%s", body);
    cr_expect(eq(int, req(&w, "POST", "/api/v1/incidents/nope@1/ack", "operator-token", NULL),
                 404));
    cr_assert(eq(int, req(&w, "GET", "/api/v1/incidents?check=api", "viewer-token", NULL), 200));
    cr_expect(strstr(body, "\"ack_by\":\"carol\"") != NULL, "%s", body);

    /* uptime: web never failed, api failed from its first result */
    cr_assert(eq(int, req(&w, "GET", "/api/v1/uptime?check=web", "viewer-token", NULL), 200));
    j = json_loads(body, 0, NULL);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(j, "check")), "web"), "%s", body);
    win = json_object_get(json_object_get(j, "windows"), "24h");
    cr_expect(eq(dbl, json_real_value(json_object_get(win, "uptime")), 1.0), "%s", body);
    json_decref(j);
    cr_assert(eq(int, req(&w, "GET", "/api/v1/uptime?service=shop", "viewer-token", NULL), 200));
    j = json_loads(body, 0, NULL);
    win = json_object_get(json_object_get(j, "windows"), "24h");
    cr_expect(gt(i64, json_integer_value(json_object_get(win, "downtime_ms")), 0), "%s", body);
    json_decref(j);
    cr_expect(eq(int, req(&w, "GET", "/api/v1/uptime?check=nope", "viewer-token", NULL), 404));

    cr_assert(eq(int, req(&w, "GET", "/api/v1/latency?check=web", "viewer-token", NULL), 200));
    j = json_loads(body, 0, NULL);
    cr_expect(gt(i64, json_integer_value(json_object_get(j, "count")), 0), "%s", body);
    cr_expect(gt(dbl, json_real_value(json_object_get(j, "p50_ms")), 0.0), "%s", body);
    json_decref(j);

    /* an incident during maintenance says so, and the time is not SLA time */
    down = (struct state_want){ &w, "legacy", "DOWN" };
    cr_assert(eq(int, test_wait_until(check_state_is, &down, 10000), 0));
    cr_assert(eq(int, req(&w, "GET", "/api/v1/incidents?check=legacy", "viewer-token", NULL),
                 200));
    cr_expect(strstr(body, "\"maintenance\":\"migration\"") != NULL, "%s", body);
    cr_assert(eq(int, req(&w, "GET", "/api/v1/uptime?check=legacy", "viewer-token", NULL), 200));
    j = json_loads(body, 0, NULL);
    win = json_object_get(json_object_get(j, "windows"), "24h");
    cr_expect(eq(i64, json_integer_value(json_object_get(win, "downtime_ms")), 0), "%s", body);
    cr_expect(eq(int, json_is_true(json_object_get(win, "no_eligible_time")), 1), "%s", body);
    json_decref(j);
    /* incidents by service: api's, not legacy's */
    cr_assert(eq(int, req(&w, "GET", "/api/v1/incidents?service=shop", "viewer-token", NULL),
                 200));
    cr_expect(strstr(body, "\"check\":\"api\"") != NULL, "%s", body);
    cr_expect(strstr(body, "\"check\":\"legacy\"") == NULL, "%s", body);
    /* the service's 30-day availability and error budget in /metrics */
    cr_assert(eq(int, test_wait_until(metrics_have_service_sla, &w, 10000), 0), "%s", body);
    cr_expect(strstr(body, "nines_service_error_budget_remaining_ratio{service=\"shop\"} -")
                  != NULL, "api has been down for seconds: the budget is overspent: %s", body);

    /* maintenance through the API */
    cr_expect(eq(int, req(&w, "POST", "/api/v1/maintenance", "operator-token",
                          "{\"id\":\"weekly\",\"checks\":[\"web\"],"
                          "\"recurring\":\"sun 02:00 2h Europe/Berlin\"}"), 201), "%s", body);
    cr_expect(eq(int, req(&w, "GET", "/api/v1/maintenance", "viewer-token", NULL), 200));
    cr_expect(strstr(body, "\"weekly\"") != NULL, "%s", body);
    cr_expect(eq(int, req(&w, "DELETE", "/api/v1/maintenance/weekly", "operator-token", NULL),
                 200));
    cr_expect(eq(int, req(&w, "DELETE", "/api/v1/maintenance/weekly", "operator-token", NULL),
                 404));
    world_close(&w);
}

Test(e2e_api, push_monitor_pings_and_goes_down_when_they_stop, .timeout = 60)
{
    struct api_world w;
    struct state_want beat_up, beat_down;

    world_open(&w, NULL);
    cr_expect(eq(int, req(&w, "GET", "/api/v1/push/not-a-token", NULL, NULL), 404));
    cr_assert(eq(int, req(&w, "GET", "/api/v1/push/beat-secret", NULL, NULL), 200), "%s", body);
    beat_up = (struct state_want){ &w, "beat", "UP" };
    cr_assert(eq(int, test_wait_until(check_state_is, &beat_up, 5000), 0));
    /* a job reporting failure is down at once */
    cr_assert(eq(int, req(&w, "POST", "/api/v1/push/beat-secret?status=fail&msg=backup%20failed",
                          NULL, ""), 200));
    beat_down = (struct state_want){ &w, "beat", "DOWN" };
    cr_assert(eq(int, test_wait_until(check_state_is, &beat_down, 5000), 0));
    cr_assert(eq(int, req(&w, "GET", "/api/v1/push/beat-secret", NULL, NULL), 200));
    cr_assert(eq(int, test_wait_until(check_state_is, &beat_up, 5000), 0));
    /* then silence: period 10 s, no grace → DOWN about 10 s after the last ping */
    cr_assert(eq(int, test_wait_until(check_state_is, &beat_down, 14000), 0),
              "a missed ping did not make the push check DOWN");
    cr_assert(eq(int, req(&w, "GET", "/api/v1/checks/beat", "viewer-token", NULL), 200));
    cr_expect(strstr(body, "push_missed") != NULL, "%s", body);
    world_close(&w);
}

/* ---- a real Prometheus scraping /metrics ---------------------------------- */

struct prom {
    pid_t pid;
    int port;
};

static int prom_query_value(struct prom *p, const char *query, double *value)
{
    char url[512], enc[256];
    json_t *j, *res;
    int n = 0;

    for (const char *q = query; *q && n < (int)sizeof(enc) - 4; q++) {
        if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            *q == '_')
            enc[n++] = *q;
        else
            n += snprintf(enc + n, sizeof(enc) - (size_t)n, "%%%02X", (unsigned char)*q);
    }
    enc[n] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s", p->port, enc);
    if (http_request("GET", url, NULL, NULL, body, sizeof(body)) != 200)
        return -1;
    j = json_loads(body, 0, NULL);
    res = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
    if (res == NULL) {
        json_decref(j);
        return -1;
    }
    *value = atof(json_string_value(json_array_get(json_object_get(res, "value"), 1)));
    json_decref(j);
    return 0;
}

struct prom_want {
    struct prom *p;
    double v;
};

static int prom_web_up_is(void *arg)
{
    struct prom_want *pw = arg;
    double v;

    return prom_query_value(pw->p, "nines_check_up{check=\"web\"}", &v) == 0 && v == pw->v;
}

Test(e2e_api, prometheus_scrapes_metrics_and_sees_a_check_go_down, .timeout = 90)
{
    struct api_world w;
    struct prom p;
    struct prom_want want;
    char yml[1024], path[400], data[400], listen[64], log[400];
    const char *host;

    world_open(&w, NULL);
    host = w.e.base + strlen("http://");
    p.port = test_unused_port();
    snprintf(path, sizeof(path), "%s/prometheus.yml", w.e.dir);
    snprintf(data, sizeof(data), "--storage.tsdb.path=%s/prom", w.e.dir);
    snprintf(yml, sizeof(yml),
             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
             "scrape_configs:\n  - job_name: nines\n    metrics_path: /metrics\n"
             "    authorization:\n      credentials: viewer-token\n"
             "    static_configs:\n      - targets: ['%s']\n",
             host);
    cr_assert(eq(int, test_write_file(path, yml), 0));
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", p.port);
    {
        char cfgarg[420];
        const char *argv[] = { "prometheus", cfgarg, data, listen, NULL };

        snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", path);
        snprintf(log, sizeof(log), "%s/prometheus.log", w.e.dir);
        p.pid = proc_spawn(argv, log);
    }
    cr_assert(gt(int, p.pid, 0));
    want = (struct prom_want){ &p, 1.0 };
    cr_assert(eq(int, test_wait_until(prom_web_up_is, &want, 30000), 0),
              "Prometheus never saw nines_check_up{check=\"web\"} == 1");
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    want.v = 0.0;
    cr_assert(eq(int, test_wait_until(prom_web_up_is, &want, 20000), 0),
              "Prometheus never saw the check go down");
    proc_stop(p.pid, 5000);
    world_close(&w);
}
