/*
 * Alerting end to end: a real collector whose check goes down and up, a
 * real Prometheus Alertmanager receiving the alert and its resolution, and
 * the webhook fixture verifying HMAC signatures and counting deliveries.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
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
    struct hookfix boss;          /* a second webhook: escalations, PagerDuty */
    char dir[256];
    int am_port;
    char cfg[400];
    pid_t am, collector, probe;
};

static void world_start_collector(struct alert_world *w)
{
    char log[400];
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", w->cfg, NULL };
    const char *env[] = { "NINES_TEST_HOOK_SECRET=hook-secret", "NINES_TEST_PD_KEY=routing-key",
                          "NINES_TEST_PD_HOOK=pd-webhook-secret", NULL };

    snprintf(log, sizeof(log), "%s/collector.log", w->dir);
    w->collector = proc_spawn_env(argv, log, env);
    cr_assert(gt(int, w->collector, 0));
}

/* alerting: the receivers, routes and other sections of the configuration;
 * "%s" in it stands for the main webhook's URL, a second "%s" for the boss's. */
static void world_start_with(struct alert_world *w, int checks, const char *alerting,
                             const char *extra_sections)
{
    char yaml[65536], path[400], log[400], url[128];
    size_t n;

    memset(w, 0, sizeof(*w));
    test_wait_poll_ms(100);
    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    cr_assert(eq(int, hookfix_start(&w->hook, "hook-secret"), 0));
    cr_assert(eq(int, hookfix_start(&w->boss, NULL), 0));
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
                         "  - {name: boss, kind: webhook, url: \"%s/hook\"}\n"
                         "  - {name: pd, kind: pagerduty, url: \"%s/pd\", "
                         "secret_env: NINES_TEST_PD_KEY, webhook_secret_env: NINES_TEST_PD_HOOK}\n",
                         w->redis.url, w->dir, w->am_port, w->hook.base_url, w->boss.base_url,
                         w->boss.base_url);
    n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s", alerting);
    /* extra sections may name the HTTP fixture as HTTPFIX (checks: 0 and a
     * checks section of their own) */
    for (const char *p = extra_sections, *q; *p != '\0'; p = q + 7) {
        q = strstr(p, "HTTPFIX");
        if (q == NULL) {
            n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s", p);
            break;
        }
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%.*s%s", (int)(q - p), p,
                              w->http.base_url);
    }
    if (checks > 0)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "checks:\n");
    for (int i = 0; i < checks; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                              "  - {id: web%d, kind: http, url: \"%s/\", interval: %s, "
                              "timeout: 500ms}\n",
                              i, w->http.base_url, checks > 100 ? "3s" : "1s");
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

static void world_start(struct alert_world *w, int checks, const char *group_wait)
{
    char alerting[256];

    snprintf(alerting, sizeof(alerting), "routes:\n  - receivers: [am, hook]\n"
             "    group_wait: %s\n", group_wait);
    world_start_with(w, checks, alerting, "");
}

static void world_stop(struct alert_world *w)
{
    proc_stop(w->probe, 3000);
    proc_stop(w->collector, 5000);
    proc_stop(w->am, 5000);
    hookfix_stop(&w->hook);
    hookfix_stop(&w->boss);
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
        int hook_delivered = 0;
        char id[256] = "";

        cr_assert(eq(int, e2e_run(list, NULL, out, sizeof(out), NULL, 0, 5000), 0));
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
        cr_expect(eq(int, e2e_run(log, NULL, out, sizeof(out), NULL, 0, 5000), 0),
                  "log of %s: %s", id, out);
        cr_expect(strstr(out, "500") != NULL, "the failed attempts are in the log: %s", out);
    }
    world_stop(&w);
}

Test(e2e_alerts, five_hundred_checks_down_at_once_make_one_grouped_notification, .timeout = 120)
{
    struct alert_world w;
    struct hook_want one;
    struct hook_counts hc;

    /* 500 checks every 3 s: all fail within one interval (plus the second
     * failure that confirms), well inside a 10 s group_wait */
    world_start(&w, 500, "10s");
    test_sleep_ms(5000);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    one = (struct hook_want){ &w, 1, 0 };
    cr_assert(eq(int, test_wait_until(hook_has, &one, 30000), 0), "no notification at all");
    test_sleep_ms(4000);
    cr_assert(eq(int, hook_count(&w, &hc), 0));
    cr_expect(le(long, hc.firing, 2), "%ld firing notifications for 500 checks", hc.firing);
    {
        char *last = hookfix_last_request(&w.hook);

        cr_expect(not(eq(ptr, last, NULL)));
        cr_expect(not(eq(ptr, last ? strstr(last, "alerts firing") : NULL, NULL)),
                  "not a grouped notification");
        free(last);
    }
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

/* ---- on-call: repeats, escalation, acknowledgement, silences, PagerDuty ---- */

static char cli_out[262144];

/* Runs `nines ARGS... --redis URL`; the exit code. */
static int nines_cli(struct alert_world *w, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    const char *argv[10] = { NINES_BIN_DIR "/nines" };
    int n = 1, code = -1;

    for (const char *const *a = (const char *const[]){ a1, a2, a3, a4 }; n < 5 && a[n - 1];
         n++)
        argv[n] = a[n - 1];
    argv[n++] = "--redis";
    argv[n++] = w->redis.url;
    argv[n] = NULL;
    cli_out[0] = '\0';
    if (proc_run(argv, cli_out, sizeof(cli_out), 10000, &code) != 0)
        return -1;
    return code;
}

/* Outbox items (notifications) whose id contains needle. */
static int outbox_count(struct alert_world *w, const char *needle)
{
    json_t *root, *arr, *v;
    size_t i;
    int n = 0;

    if (nines_cli(w, "alerts", "--json", NULL, NULL) != 0)
        return -1;
    root = json_loads(cli_out, 0, NULL);
    arr = json_object_get(root, "notifications");
    json_array_foreach(arr, i, v) {
        const char *id = json_string_value(json_object_get(v, "id"));

        n += id != NULL && strstr(id, needle) != NULL;
    }
    json_decref(root);
    return n;
}

struct outbox_want {
    struct alert_world *w;
    const char *needle;
    int at_least;
};

static int outbox_has(void *arg)
{
    struct outbox_want *o = arg;

    return outbox_count(o->w, o->needle) >= o->at_least;
}

/* The key of the first active alert whose key starts with prefix, into key. */
static int active_key(struct alert_world *w, const char *prefix, char *key, size_t len,
                      char *held, size_t hlen)
{
    json_t *root, *arr, *v;
    size_t i;
    int found = 0;

    if (nines_cli(w, "alerts", "--active", "--json", NULL) != 0)
        return 0;
    root = json_loads(cli_out, 0, NULL);
    arr = json_object_get(root, "alerts");
    json_array_foreach(arr, i, v) {
        const char *k = json_string_value(json_object_get(json_object_get(v, "notification"),
                                                          "key"));

        if (k != NULL && strncmp(k, prefix, strlen(prefix)) == 0 && !found) {
            snprintf(key, len, "%s", k);
            if (held != NULL)
                snprintf(held, hlen, "%s", json_string_value(json_object_get(v, "held")) ?: "");
            found = 1;
        }
    }
    json_decref(root);
    return found;
}

struct key_want {
    struct alert_world *w;
    const char *prefix;
    char key[256];
};

static int key_active(void *arg)
{
    struct key_want *k = arg;

    return active_key(k->w, k->prefix, k->key, sizeof(k->key), NULL, 0);
}

static int key_gone(void *arg)
{
    struct key_want *k = arg;

    return !active_key(k->w, k->prefix, k->key, sizeof(k->key), NULL, 0);
}

Test(e2e_alerts, a_page_repeats_and_escalates_until_acknowledged, .timeout = 120)
{
    struct alert_world w;
    struct key_want k;
    struct outbox_want o;
    char inc[256], id[320];
    int before;

    world_start_with(&w, 1,
                     "routes:\n"
                     "  - receivers: [hook]\n"
                     "    group_wait: 1s\n"
                     "    repeat_interval: 10s\n"
                     "    escalate: [{after: 10s, to: [boss]}]\n", "");
    test_sleep_ms(2500);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    k = (struct key_want){ .w = &w, .prefix = "check_down/web0@" };
    cr_assert(eq(int, test_wait_until(key_active, &k, 20000), 0), "no alert");
    /* the first page, then 10 s later a repeat to hook and the escalation to boss */
    snprintf(id, sizeof(id), "hook/%s/firing", k.key);
    o = (struct outbox_want){ &w, id, 1 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 10000), 0), "no first page");
    snprintf(id, sizeof(id), "boss/%s/firing/e1", k.key);
    o = (struct outbox_want){ &w, id, 1 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 20000), 0), "no escalation");
    snprintf(id, sizeof(id), "hook/%s/firing/r1", k.key);
    o = (struct outbox_want){ &w, id, 1 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 20000), 0), "no repeat");
    /* acknowledging the incident (its id is the key without the rule) stops both */
    snprintf(inc, sizeof(inc), "%s", k.key + strlen("check_down/"));
    cr_assert(eq(int, nines_cli(&w, "ack", inc, "--by", "alice"), 0), "%s", cli_out);
    snprintf(id, sizeof(id), "%s/acknowledged/ack", k.key);
    o = (struct outbox_want){ &w, id, 2 };     /* hook, and boss since it was escalated to */
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 10000), 0), "acknowledgement not sent");
    before = outbox_count(&w, "/firing");
    test_sleep_ms(12000);
    cr_expect(eq(int, outbox_count(&w, "/firing"), before), "paged again after the ack");
    /* recovery resolves it at both */
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    snprintf(id, sizeof(id), "%s/resolved", k.key);
    o = (struct outbox_want){ &w, id, 2 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 20000), 0), "not resolved at both");
    cr_assert(eq(int, test_wait_until(key_gone, &k, 5000), 0));
    world_stop(&w);
}

Test(e2e_alerts, a_silence_holds_pages_reminds_and_ends_when_they_resolve, .timeout = 120)
{
    struct alert_world w;
    struct key_want k;
    struct outbox_want o;
    char held[128], key[256];

    world_start_with(&w, 2,
                     "routes:\n"
                     "  - receivers: [hook]\n"
                     "    group_wait: 1s\n"
                     "alerting:\n"
                     "  silence_reminder: 10s\n", "");
    test_sleep_ms(2000);
    cr_assert(eq(int, nines_cli(&w, "silence", "add", "--match", "check=web0"), 2),
              "no end given: usage error");
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "silence", "add", "--match",
                               "check=~^web[0-9]$", "--until-resolved", "--comment",
                               "db migration", "--by", "bob", "--redis", w.redis.url, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, cli_out, sizeof(cli_out), NULL, 0, 10000), 0));
    }
    test_sleep_ms(1500);       /* the collector reads the silence */
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    k = (struct key_want){ .w = &w, .prefix = "check_down/web0@" };
    cr_assert(eq(int, test_wait_until(key_active, &k, 20000), 0), "no alert");
    cr_assert(active_key(&w, "check_down/web0@", key, sizeof(key), held, sizeof(held)));
    cr_expect(eq(int, strncmp(held, "silence s-", 10), 0), "held by '%s'", held);
    /* a reminder while it holds, never a page */
    o = (struct outbox_want){ &w, "hook/silence_reminder/", 1 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 25000), 0), "no reminder");
    cr_expect(eq(int, outbox_count(&w, "check_down/"), 0), "a silenced alert was sent");
    /* both recover: nothing was sent, so nothing resolves; the silence ends */
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    cr_assert(eq(int, test_wait_until(key_gone, &k, 20000), 0));
    test_sleep_ms(2500);
    cr_assert(eq(int, nines_cli(&w, "silence", "list", NULL, NULL), 0));
    cr_expect(not(eq(ptr, strstr(cli_out, "no silences"), NULL)), "silence left: %s", cli_out);
    cr_expect(eq(int, outbox_count(&w, "check_down/"), 0));
    world_stop(&w);
}

Test(e2e_alerts, an_expired_silence_releases_a_page_still_firing, .timeout = 90)
{
    struct alert_world w;
    struct key_want k;
    struct outbox_want o;
    char id[320];

    world_start_with(&w, 1, "routes:\n  - receivers: [hook]\n    group_wait: 1s\n", "");
    test_sleep_ms(2000);
    cr_assert(eq(int, nines_cli(&w, "silence", "add", "--match", "check=web0"), 2));
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "silence", "add", "--match", "check=web0",
                               "--for", "12s", "--redis", w.redis.url, NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, cli_out, sizeof(cli_out), NULL, 0, 10000), 0));
    }
    test_sleep_ms(1500);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    k = (struct key_want){ .w = &w, .prefix = "check_down/web0@" };
    cr_assert(eq(int, test_wait_until(key_active, &k, 20000), 0), "no alert");
    cr_expect(eq(int, outbox_count(&w, "check_down/"), 0), "sent while silenced");
    snprintf(id, sizeof(id), "hook/%s/firing", k.key);
    o = (struct outbox_want){ &w, id, 1 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 25000), 0), "not released");
    world_stop(&w);
}

/* A PagerDuty V3 webhook, signed as PagerDuty signs it. */
static int pd_post(struct alert_world *w, const char *key, const char *secret)
{
    char data[400], base[128], url[512], payload[2048], sig[80], hdr[128];
    unsigned char mac[32];
    unsigned int maclen = 0;
    const char *hdrs[2];

    snprintf(data, sizeof(data), "%s/data", w->dir);
    if (e2eworld_read_api_addr(data, base, sizeof(base)) != 0)
        return -1;
    snprintf(url, sizeof(url), "%s/api/v1/integrations/pagerduty/pd", base);
    snprintf(payload, sizeof(payload),
             "{\"event\":{\"id\":\"01DEN8N5NHMHOY9F4N3F8M0XZ5\",\"event_type\":"
             "\"incident.acknowledged\",\"resource_type\":\"incident\",\"occurred_at\":"
             "\"2026-11-28T12:00:00.000Z\",\"agent\":{\"html_url\":\"https://acme.pagerduty.com/"
             "users/PLH1HKV\",\"id\":\"PLH1HKV\",\"self\":\"https://api.pagerduty.com/users/"
             "PLH1HKV\",\"summary\":\"Tenex Engineer\",\"type\":\"user_reference\"},"
             "\"client\":null,\"data\":{\"id\":\"PGR0VU2\",\"type\":\"incident\",\"self\":"
             "\"https://api.pagerduty.com/incidents/PGR0VU2\",\"html_url\":"
             "\"https://acme.pagerduty.com/incidents/PGR0VU2\",\"number\":2,\"status\":"
             "\"acknowledged\",\"incident_key\":\"%s\",\"title\":\"web0 is DOWN\"}}}",
             key);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)payload, strlen(payload),
         mac, &maclen);
    strcpy(sig, "v1=");
    for (unsigned i = 0; i < maclen; i++)
        sprintf(sig + 3 + 2 * i, "%02x", mac[i]);
    snprintf(hdr, sizeof(hdr), "X-PagerDuty-Signature: %s", sig);
    hdrs[0] = hdr;
    hdrs[1] = NULL;
    return http_request_headers("POST", url, NULL, hdrs, payload, body, sizeof(body));
}

Test(e2e_alerts, a_pagerduty_acknowledgement_comes_back_and_stops_repeats, .timeout = 120)
{
    struct alert_world w;
    struct key_want k;
    struct outbox_want o;
    char id[320], held[128];
    int before;

    world_start_with(&w, 1,
                     "routes:\n"
                     "  - receivers: [pd]\n"
                     "    group_wait: 1s\n"
                     "    repeat_interval: 10s\n", "");
    test_sleep_ms(2500);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    k = (struct key_want){ .w = &w, .prefix = "check_down/web0@" };
    cr_assert(eq(int, test_wait_until(key_active, &k, 20000), 0), "no alert");
    snprintf(id, sizeof(id), "pd/%s/firing", k.key);
    o = (struct outbox_want){ &w, id, 1 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 10000), 0), "no trigger event");
    cr_expect(eq(int, pd_post(&w, k.key, "wrong-secret"), 401), "%s", body);
    cr_assert(eq(int, pd_post(&w, k.key, "pd-webhook-secret"), 200), "%s", body);
    cr_expect(not(eq(ptr, strstr(body, "\"alerts\":1"), NULL)), "%s", body);
    cr_assert(active_key(&w, "check_down/web0@", id, sizeof(id), held, sizeof(held)));
    cr_assert(eq(int, nines_cli(&w, "alerts", "--active", NULL, NULL), 0));
    cr_expect(not(eq(ptr, strstr(cli_out, "acked by pagerduty:Tenex Engineer"), NULL)), "%s",
              cli_out);
    before = outbox_count(&w, "/firing");
    test_sleep_ms(12000);
    cr_expect(eq(int, outbox_count(&w, "/firing"), before), "repeated after the ack");
    world_stop(&w);
}

Test(e2e_alerts, a_fast_burn_pages_and_recovery_resolves_it, .timeout = 120)
{
    struct alert_world w;
    struct key_want k;

    /* 99 %: a budget of 1 %; factor 2 over 1 min and 10 s: 1.2 s and 0.2 s down */
    world_start_with(&w, 1,
                     "routes:\n"
                     "  - receivers: [hook]\n"
                     "    match: {rule: burn_rate}\n"
                     "    group_wait: 1s\n"
                     "alerting:\n"
                     "  evaluate_every: 1s\n"
                     "  burn_rates: [{long: 1m, short: 10s, factor: 2, severity: page}]\n"
                     "services:\n"
                     "  - {id: shop, checks: [web0], target: 99}\n", "");
    test_sleep_ms(2500);
    k = (struct key_want){ .w = &w, .prefix = "burn_rate/shop/0@" };
    cr_expect(eq(int, key_active(&k), 0), "burning while up");
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    cr_assert(eq(int, test_wait_until(key_active, &k, 20000), 0), "no burn-rate page");
    {
        struct outbox_want o = { &w, "hook/burn_rate/shop/0@", 1 };

        cr_assert(eq(int, test_wait_until(outbox_has, &o, 10000), 0), "not sent");
    }
    /* up again: the 10 s window clears first */
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    cr_assert(eq(int, test_wait_until(key_gone, &k, 30000), 0), "never resolved");
    {
        struct outbox_want o = { &w, "/resolved", 1 };

        cr_assert(eq(int, test_wait_until(outbox_has, &o, 10000), 0), "resolution not sent");
    }
    world_stop(&w);
}

struct incident_want {
    struct alert_world *w;
    const char *check;
    char caused_by[64];
};

/* The newest incident of check, if it has caused_by set. */
static int incident_caused(void *arg)
{
    struct incident_want *x = arg;
    json_t *root, *inc;
    const char *c;

    if (nines_cli(x->w, "incidents", "--check", x->check, "--json") != 0)
        return 0;
    root = json_loads(cli_out, 0, NULL);
    inc = json_array_get(json_object_get(root, "incidents"), 0);
    c = json_string_value(json_object_get(inc, "caused_by"));
    if (c != NULL)
        snprintf(x->caused_by, sizeof(x->caused_by), "%s", c);
    json_decref(root);
    return c != NULL;
}

Test(e2e_alerts, a_dead_dependency_pages_once_and_marks_its_dependents, .timeout = 90)
{
    struct alert_world w;
    struct key_want k;
    struct outbox_want o;
    struct incident_want x;

    /* db confirms after one failure, web after three: db is down first */
    world_start_with(&w, 0, "routes:\n  - receivers: [hook]\n    group_wait: 1s\n",
                     "checks:\n"
                     "  - {id: db, kind: http, url: \"HTTPFIX/db\", interval: 1s, timeout: 500ms,"
                     " failures_to_down: 1}\n"
                     "  - {id: web, kind: http, url: \"HTTPFIX/web\", interval: 1s, timeout: 500ms,"
                     " failures_to_down: 3, depends_on: [db]}\n");
    test_sleep_ms(2500);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    k = (struct key_want){ .w = &w, .prefix = "check_down/web@" };
    cr_assert(eq(int, test_wait_until(key_active, &k, 20000), 0), "web's alert not recorded");
    x = (struct incident_want){ .w = &w, .check = "web" };
    cr_assert(eq(int, test_wait_until(incident_caused, &x, 10000), 0), "no caused_by");
    cr_expect(eq(str, x.caused_by, "db"));
    o = (struct outbox_want){ &w, "hook/check_down/db@", 1 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 10000), 0), "db not paged");
    test_sleep_ms(3000);
    cr_expect(eq(int, outbox_count(&w, "check_down/web@"), 0), "web paged under a dead db");
    /* both recover: db resolves, web was never sent and stays unsent */
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    o = (struct outbox_want){ &w, "hook/check_down/db@", 2 };
    cr_assert(eq(int, test_wait_until(outbox_has, &o, 20000), 0), "db not resolved");
    cr_assert(eq(int, test_wait_until(key_gone, &k, 10000), 0));
    cr_expect(eq(int, outbox_count(&w, "check_down/web@"), 0));
    world_stop(&w);
}
