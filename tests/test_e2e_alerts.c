/*
 * Alerting end to end: a real collector whose check goes down and up, a
 * real Prometheus Alertmanager receiving the alert and its resolution, and
 * the webhook fixture verifying HMAC signatures and counting deliveries.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookfix_client.h"
#include "http_client.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

static char body[262144];

struct alert_world {
    struct redis_fixture redis;
    struct httpfix http;
    struct hookfix hook;
    char dir[256];
    int am_port;
    char cfg[400];
    pid_t am, collector, probe;
};

static void world_start_collector(struct alert_world *w)
{
    char log[400];
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", w->cfg, NULL };
    const char *env[] = { "NINES_TEST_HOOK_SECRET=hook-secret", NULL };

    snprintf(log, sizeof(log), "%s/collector.log", w->dir);
    w->collector = proc_spawn_env(argv, log, env);
    cr_assert(gt(int, w->collector, 0));
}

static void world_start(struct alert_world *w, int checks, const char *group_wait)
{
    char yaml[65536], path[400], log[400], url[128];
    size_t n;

    memset(w, 0, sizeof(*w));
    test_wait_poll_ms(100);
    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    cr_assert(eq(int, hookfix_start(&w->hook, "hook-secret"), 0));
    /* Alertmanager, its own config and storage, no cluster */
    w->am_port = test_unused_port();
    snprintf(path, sizeof(path), "%s/am.yml", w->dir);
    cr_assert(eq(int, test_write_file(path, "route:\n  receiver: nobody\n"
                                            "receivers:\n  - name: nobody\n"), 0));
    {
        char cfg[420], storage[420], listen[64];
        const char *argv[] = { "prometheus-alertmanager", cfg, storage, listen,
                               "--cluster.listen-address=", NULL };

        snprintf(cfg, sizeof(cfg), "--config.file=%s", path);
        snprintf(storage, sizeof(storage), "--storage.path=%s/am-data", w->dir);
        snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", w->am_port);
        snprintf(log, sizeof(log), "%s/alertmanager.log", w->dir);
        w->am = proc_spawn(argv, log);
        cr_assert(gt(int, w->am, 0));
    }
    n = (size_t)snprintf(yaml, sizeof(yaml),
                         "collector:\n  name: c1\n  redis: %s\n  data_dir: %s/data\n"
                         "api:\n  listen: 127.0.0.1:0\n"
                         "receivers:\n"
                         "  - {name: am, kind: alertmanager, url: \"http://127.0.0.1:%d\"}\n"
                         "  - {name: hook, kind: webhook, url: \"%s/hook\", "
                         "secret_env: NINES_TEST_HOOK_SECRET}\n"
                         "routes:\n"
                         "  - receivers: [am, hook]\n    group_wait: %s\n"
                         "checks:\n",
                         w->redis.url, w->dir, w->am_port, w->hook.base_url, group_wait);
    for (int i = 0; i < checks; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                              "  - {id: web%d, kind: http, url: \"%s/\", interval: 1s, "
                              "timeout: 500ms}\n",
                              i, w->http.base_url);
    snprintf(w->cfg, sizeof(w->cfg), "%s/nines.yaml", w->dir);
    cr_assert(eq(int, test_write_file(w->cfg, yaml), 0));
    world_start_collector(w);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", w->redis.url, "--name",
                               "p1", "--location", "local", "--poll-ms", "200", NULL };

        snprintf(log, sizeof(log), "%s/probe.log", w->dir);
        w->probe = proc_spawn(argv, log);
    }
    (void)url;
}

static void world_stop(struct alert_world *w)
{
    proc_stop(w->probe, 3000);
    proc_stop(w->collector, 5000);
    proc_stop(w->am, 5000);
    hookfix_stop(&w->hook);
    httpfix_stop(&w->http);
    redis_fixture_stop(&w->redis);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(w->dir);
}

/* Active alerts in Alertmanager with alertname=check_down for check. */
static int am_alert_count(struct alert_world *w, const char *check)
{
    char url[256];
    json_t *arr, *a;
    size_t i;
    int n = 0;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/alerts", w->am_port);
    if (http_request("GET", url, NULL, NULL, body, sizeof(body)) != 200)
        return -1;
    arr = json_loads(body, 0, NULL);
    json_array_foreach(arr, i, a) {
        json_t *labels = json_object_get(a, "labels");

        if (strcmp(json_string_value(json_object_get(labels, "alertname")) ?: "", "check_down") ==
                0 &&
            strcmp(json_string_value(json_object_get(labels, "check")) ?: "", check) == 0)
            n++;
    }
    json_decref(arr);
    return n;
}

struct am_want {
    struct alert_world *w;
    int count;
};

static int am_has(void *arg)
{
    struct am_want *aw = arg;

    return am_alert_count(aw->w, "web0") == aw->count;
}

/* Accepted webhook deliveries by state, and the most any one key got. */
struct hook_counts {
    long firing, resolved, max_per_key, bad_signature;
};

static int hook_count(struct alert_world *w, struct hook_counts *hc)
{
    struct hookfix_stats st;
    const char *key;
    json_t *v;

    memset(hc, 0, sizeof(*hc));
    if (hookfix_get_stats(&w->hook, &st) != 0)
        return -1;
    /* Idempotency-Key: "<dedup key>:<state>:<created ms>" */
    json_object_foreach(st.by_key, key, v) {
        long n = (long)json_integer_value(v);

        if (strstr(key, ":firing:") != NULL)
            hc->firing += n;
        if (strstr(key, ":resolved:") != NULL)
            hc->resolved += n;
        if (n > hc->max_per_key)
            hc->max_per_key = n;
    }
    hc->bad_signature = st.bad_signature;
    hookfix_stats_clear(&st);
    return 0;
}

struct hook_want {
    struct alert_world *w;
    long firing, resolved;
};

static int hook_has(void *arg)
{
    struct hook_want *hw = arg;
    struct hook_counts hc;

    return hook_count(hw->w, &hc) == 0 && hc.firing >= hw->firing &&
           hc.resolved >= hw->resolved;
}

Test(e2e_alerts, down_and_up_reach_alertmanager_and_a_signed_webhook_once_each, .timeout = 90)
{
    struct alert_world w;
    struct am_want firing, gone;
    struct hook_want both;
    struct hook_counts hc;

    world_start(&w, 1, "0s");
    test_sleep_ms(3000);    /* UP first: no alert for a healthy check */
    cr_assert(eq(int, am_alert_count(&w, "web0"), 0));
    /* a reload rebuilds receivers and routes; alerting carries on */
    cr_assert(eq(int, proc_signal(w.collector, SIGHUP), 0));
    test_sleep_ms(500);
    cr_assert(proc_alive(w.collector));
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    firing = (struct am_want){ &w, 1 };
    cr_assert(eq(int, test_wait_until(am_has, &firing, 20000), 0),
              "the alert never reached Alertmanager");
    /* the webhook answers 500 for a while: delivery waits and retries */
    cr_assert(eq(int, hookfix_set_mode(&w.hook, "status=500"), 0));
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    gone = (struct am_want){ &w, 0 };
    cr_assert(eq(int, test_wait_until(am_has, &gone, 20000), 0),
              "the alert was never resolved in Alertmanager");
    test_sleep_ms(1500);
    cr_assert(eq(int, hookfix_set_mode(&w.hook, "status=200"), 0));
    both = (struct hook_want){ &w, 1, 1 };
    cr_assert(eq(int, test_wait_until(hook_has, &both, 30000), 0),
              "the webhook did not get both notifications after it recovered");
    test_sleep_ms(2000);    /* nothing more arrives: each exactly once */
    cr_assert(eq(int, hook_count(&w, &hc), 0));
    cr_expect(eq(long, hc.firing, 1));
    cr_expect(eq(long, hc.resolved, 1));
    cr_expect(eq(long, hc.max_per_key, 1), "each notification exactly once");
    cr_expect(eq(long, hc.bad_signature, 0), "every delivery was signed correctly");
    /* the delivery log, from the CLI */
    {
        static char out[65536];
        const char *list[] = { NINES_BIN_DIR "/nines", "alerts", "--json", "--redis",
                               w.redis.url, NULL };
        const char *log[] = { NINES_BIN_DIR "/nines", "alerts", "log",
                              "hook/check_down/web0@", "--redis", w.redis.url, NULL };
        json_t *j, *item;
        size_t i;
        int code = -1, hook_delivered = 0;
        char id[256] = "";

        cr_assert(eq(int, proc_run(list, out, sizeof(out), 5000, &code), 0));
        cr_assert(eq(int, code, 0));
        j = json_loads(out, 0, NULL);
        json_array_foreach(json_object_get(j, "notifications"), i, item) {
            const char *rid = json_string_value(json_object_get(item, "id"));

            if (strcmp(json_string_value(json_object_get(item, "receiver")), "hook") == 0 &&
                strcmp(json_string_value(json_object_get(item, "state")), "delivered") == 0) {
                hook_delivered++;
                if (strstr(rid, "/resolved") != NULL)   /* it met the 500s */
                    snprintf(id, sizeof(id), "%s", rid);
            }
        }
        json_decref(j);
        cr_expect(eq(int, hook_delivered, 2), "%s", out);
        cr_expect(strstr(out, "secret") == NULL && strstr(out, "request") == NULL,
                  "no stored request or secret in the listing");
        log[3] = id;
        cr_assert(eq(int, proc_run(log, out, sizeof(out), 5000, &code), 0));
        cr_expect(eq(int, code, 0), "log of %s: %s", id, out);
        cr_expect(strstr(out, "500") != NULL, "the failed attempts are in the log: %s", out);
    }
    world_stop(&w);
}

Test(e2e_alerts, fifty_checks_down_at_once_make_one_grouped_notification, .timeout = 90)
{
    struct alert_world w;
    struct hook_want one;
    struct hook_counts hc;

    world_start(&w, 50, "3s");
    test_sleep_ms(3000);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    one = (struct hook_want){ &w, 1, 0 };
    cr_assert(eq(int, test_wait_until(hook_has, &one, 30000), 0), "no notification at all");
    test_sleep_ms(4000);
    cr_assert(eq(int, hook_count(&w, &hc), 0));
    cr_expect(le(long, hc.firing, 2), "%ld firing notifications for 50 checks", hc.firing);
    world_stop(&w);
}

static int pending_alert_written(void *arg)
{
    struct alert_world *w = arg;
    redisContext *c = redis_fixture_connect(&w->redis);
    redisReply *r = c ? redisCommand(c, "HLEN nines:alerts:pending") : NULL;
    int yes = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer > 0;

    freeReplyObject(r);
    redisFree(c);
    return yes;
}

Test(e2e_alerts, a_collector_killed_while_grouping_still_delivers_once, .timeout = 90)
{
    struct alert_world w;
    struct hook_want one;
    struct hook_counts hc;
    int status;

    world_start(&w, 1, "5s");    /* the notification waits 5 s in its group */
    test_sleep_ms(3000);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    cr_assert(eq(int, test_wait_until(pending_alert_written, &w, 15000), 0),
              "no pending notification was written with the incident");
    cr_assert(eq(int, proc_signal(w.collector, SIGKILL), 0));    /* inside group_wait */
    cr_assert(eq(int, proc_wait(w.collector, 3000, &status), 0));
    world_start_collector(&w);
    one = (struct hook_want){ &w, 1, 0 };
    cr_assert(eq(int, test_wait_until(hook_has, &one, 30000), 0),
              "the notification made before the crash was never delivered");
    test_sleep_ms(2000);
    cr_assert(eq(int, hook_count(&w, &hc), 0));
    cr_expect(eq(long, hc.firing, 1), "exactly once");
    cr_expect(eq(int, pending_alert_written(&w), 0), "nothing left pending once delivered");
    world_stop(&w);
}
