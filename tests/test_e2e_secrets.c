/*
 * Secrets never leak: a collector whose receivers and tokens hold known
 * secrets pages, acknowledges and reports; then every log line, every result
 * in the stream, every API answer, /metrics, the status page, its feed, the
 * CLI's views and a monthly report are searched for each secret.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "hookfix_client.h"
#include "http_client.h"
#include "httpfix_client.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define HOOK_SECRET "hook-Secret-9f2c1e"
#define SMTP_PASSWORD "smtp-Password-77ab03"
#define PD_KEY "pd-RoutingKey-5c0d11"
#define PD_HOOK "pd-Webhook-4e1a99"
#define ADMIN_TOKEN "admin-Token-c4f0a1b2"
#define VIEWER_TOKEN "viewer-Token-0b9e8d7c"

static const char *const secrets[] = { HOOK_SECRET, SMTP_PASSWORD, PD_KEY, PD_HOOK,
                                       ADMIN_TOKEN, VIEWER_TOKEN };
static char buf[8 << 20];

static void no_secret_in(const char *what, const char *text)
{
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        cr_expect(eq(ptr, strstr(text, secrets[i]), NULL), "%s holds the secret %s", what,
                  secrets[i]);
}

static void hash_of(const char *token, char *out, size_t len)
{
    const char *argv[] = { NINES_BIN_DIR "/nines", "token", "hash", token, NULL };

    cr_assert(eq(int, e2e_run(argv, NULL, out, len, NULL, 0, 10000), 0));
    out[strcspn(out, "\n")] = '\0';
}

struct down_want {
    const char *base;
};

static int incident_open(void *arg)
{
    struct down_want *d = arg;
    char url[256];

    snprintf(url, sizeof(url), "%s/api/v1/incidents?open=1", d->base);
    return http_request("GET", url, ADMIN_TOKEN, NULL, buf, sizeof(buf)) == 200 &&
           strstr(buf, "\"web\"") != NULL;
}

Test(e2e_secrets, no_secret_reaches_logs_results_api_pages_or_reports, .timeout = 120)
{
    struct redis_fixture rf;
    struct httpfix http;
    struct hookfix hook;
    char dir[256], cfg[400], yaml[4096], admin_hash[200], viewer_hash[200],
        base[128], url[300], log[400], plog[400], *t;
    const char *env[] = { "NINES_T_HOOK=" HOOK_SECRET, "NINES_T_SMTP=" SMTP_PASSWORD,
                          "NINES_T_PD=" PD_KEY, "NINES_T_PDHOOK=" PD_HOOK, NULL };
    const char *routes[] = { "/api/v1/checks", "/api/v1/checks/web", "/api/v1/services",
                             "/api/v1/probes", "/api/v1/incidents", "/api/v1/alerts",
                             "/api/v1/silences", "/api/v1/maintenance", "/api/v1/drills",
                             "/api/v1/uptime?check=web", "/api/v1/latency?check=web",
                             "/metrics", "/status/acme", "/status/acme/feed.atom",
                             "/badge/web/status.svg", "/" };
    pid_t collector, probe;
    struct down_want d = { base };

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    cr_assert(eq(int, httpfix_start(&http), 0));
    cr_assert(eq(int, hookfix_start(&hook, HOOK_SECRET), 0));
    hash_of(ADMIN_TOKEN, admin_hash, sizeof(admin_hash));
    hash_of(VIEWER_TOKEN, viewer_hash, sizeof(viewer_hash));
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
             "api:\n  listen: 127.0.0.1:0\n  tokens:\n"
             "    - {name: root, role: admin, hash: \"%s\"}\n"
             "    - {name: grafana, role: viewer, hash: \"%s\"}\n"
             "receivers:\n"
             "  - {name: hook, kind: webhook, url: \"%s/hook\", secret_env: NINES_T_HOOK}\n"
             "  - {name: pd, kind: pagerduty, url: \"%s/pd\", secret_env: NINES_T_PD,\n"
             "     webhook_secret_env: NINES_T_PDHOOK}\n"
             "  - {name: mail, kind: email, url: \"smtp://127.0.0.1:9\", user: nines,\n"
             "     secret_env: NINES_T_SMTP, from: nines@x.test, to: ops@x.test,"
             " starttls: false}\n"
             "routes: [{receivers: [hook, pd, mail], group_wait: 0s}]\n"
             "checks:\n"
             "  - {id: web, kind: http, url: \"%s/\", interval: 1s, timeout: 500ms}\n"
             "services: [{id: shop, name: Shop, checks: [web]}]\n"
             "customers:\n"
             "  - {id: acme, name: ACME, services: [shop], contacts: [cto@acme.test],\n"
             "     slas: [{target: 99.9}]}\n",
             rf.url, dir, admin_hash, viewer_hash, hook.base_url, hook.base_url, http.base_url);
    snprintf(cfg, sizeof(cfg), "%s/nines.yaml", dir);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    snprintf(log, sizeof(log), "%s/collector.log", dir);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfg, NULL };

        collector = proc_spawn_env(argv, log, env);
    }
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", rf.url, "--name", "p1",
                               "--location", "local", "--poll-ms", "200", NULL };

        snprintf(plog, sizeof(plog), "%s/probe.log", dir);
        probe = proc_spawn(argv, plog);
    }
    cr_assert(eq(int, e2eworld_wait_api_addr(dir, base, sizeof(base), 10000), 0));
    test_sleep_ms(2500);
    /* down: pages go out (signed webhook, PagerDuty with its key, email with
     * its password against a closed port); a wrong token is tried; then up */
    cr_assert(eq(int, httpfix_set_mode(&http, "status=500"), 0));
    cr_assert(eq(int, test_wait_until(incident_open, &d, 20000), 0));
    snprintf(url, sizeof(url), "%s/api/v1/checks", base);
    cr_expect(eq(int, http_request("GET", url, ADMIN_TOKEN "x", NULL, buf, sizeof(buf)), 401));
    test_sleep_ms(3000);
    cr_assert(eq(int, httpfix_set_mode(&http, "status=200"), 0));
    test_sleep_ms(4000);

    /* every API answer and page */
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        snprintf(url, sizeof(url), "%s%s", base, routes[i]);
        http_request("GET", url, ADMIN_TOKEN, NULL, buf, sizeof(buf));
        no_secret_in(routes[i], buf);
    }
    /* the CLI's views of notifications and alerts */
    {
        const char *views[][4] = { { "alerts", "--json", NULL, NULL },
                                   { "alerts", "--active", "--json", NULL },
                                   { "incidents", "--json", NULL, NULL },
                                   { "status", "--json", NULL, NULL } };

        for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
            const char *argv[8] = { NINES_BIN_DIR "/nines", views[i][0], views[i][1],
                                    views[i][2] ? views[i][2] : "--redis",
                                    views[i][2] ? "--redis" : rf.url, views[i][2] ? rf.url : NULL,
                                    NULL };

            /* whatever it exits with, what it prints must hold no secret */
            e2e_run(argv, NULL, buf, sizeof(buf), NULL, 0, 10000);
            no_secret_in(views[i][0], buf);
        }
    }
    /* a report of this month */
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "report", "-c", cfg, "--customer", "acme",
                               "--month", "2026-11", "--format", "html", NULL };

        e2e_run(argv, NULL, buf, sizeof(buf), NULL, 0, 30000);
        no_secret_in("the report", buf);
    }
    /* results in the stream */
    {
        redisContext *c = redis_fixture_connect(&rf);
        redisReply *r = redisCommand(c, "XRANGE nines:results - +");

        cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
        for (size_t i = 0; i < r->elements; i++)
            for (size_t j = 0; j < r->element[i]->element[1]->elements; j++)
                no_secret_in("a result", r->element[i]->element[1]->element[j]->str);
        freeReplyObject(r);
        redisFree(c);
    }
    proc_stop(probe, 3000);
    proc_stop(collector, 5000);
    /* every log line */
    t = test_read_file(log);
    cr_assert(ne(ptr, t, NULL));
    cr_expect(ne(ptr, strstr(t, "notification_queued"), NULL), "no notification was made");
    no_secret_in("the collector's log", t);
    free(t);
    t = test_read_file(plog);
    no_secret_in("the probe's log", t ? t : "");
    free(t);
    hookfix_stop(&hook);
    httpfix_stop(&http);
    redis_fixture_stop(&rf);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(dir);
}
