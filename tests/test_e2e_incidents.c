/*
 * Incidents end to end: three probes in three locations, a real collector
 * and redis-server, the HTTP fixture switched to 500 and back. The collector
 * is killed mid-incident; the same incident must carry on, exact to the ms.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

struct world {
    struct redis_fixture redis;
    struct httpfix http;
    char dir[256];
    char cfg[300];
    pid_t collector;
    pid_t probe[3];
};

static const char *const locations[] = { "eu", "us", "ap" };

static void world_start_collector(struct world *w)
{
    char log[320];
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", w->cfg, NULL };

    snprintf(log, sizeof(log), "%s/collector.log", w->dir);
    w->collector = proc_spawn(argv, log);
    cr_assert(gt(int, w->collector, 0));
}

static void world_open(struct world *w)
{
    char yaml[1024];

    test_wait_poll_ms(100);
    memset(w, 0, sizeof(*w));
    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    snprintf(w->cfg, sizeof(w->cfg), "%s/nines.yaml", w->dir);
    snprintf(yaml, sizeof(yaml),
             "collector:\n  name: c1\n  redis: %s\n"
             "api:\n  listen: 127.0.0.1:0\n"
             "checks:\n  - id: web\n    kind: http\n    url: %s/\n    interval: 1s\n"
             "    timeout: 500ms\n    failures_to_down: 2\n    locations: [eu, us, ap]\n",
             w->redis.url, w->http.base_url);
    cr_assert(eq(int, test_write_file(w->cfg, yaml), 0));
    world_start_collector(w);
    for (int i = 0; i < 3; i++) {
        char log[320], name[16];
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", w->redis.url, "--name",
                               name, "--location", locations[i], "--poll-ms", "200", NULL };

        snprintf(name, sizeof(name), "p-%s", locations[i]);
        snprintf(log, sizeof(log), "%s/probe-%s.log", w->dir, locations[i]);
        w->probe[i] = proc_spawn(argv, log);
        cr_assert(gt(int, w->probe[i], 0));
    }
}

static void world_close(struct world *w)
{
    for (int i = 0; i < 3; i++) {
        proc_signal(w->probe[i], SIGCONT);
        proc_stop(w->probe[i], 3000);
    }
    proc_stop(w->collector, 5000);
    httpfix_stop(&w->http);
    redis_fixture_stop(&w->redis);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(w->dir);
}

/* `nines incidents --check web --json`, parsed; NULL on failure. */
static json_t *world_incidents(struct world *w)
{
    static char out[65536];
    const char *argv[] = { NINES_BIN_DIR "/nines", "incidents", "--redis", w->redis.url,
                           "--check", "web", "--json", NULL };
    int code = -1;
    json_t *root;

    if (proc_run(argv, out, sizeof(out), 5000, &code) != 0 || code != 0)
        return NULL;
    root = json_loads(out, 0, NULL);
    if (json_object_get(root, "incidents") == NULL) {
        json_decref(root);
        return NULL;
    }
    return root;
}

struct want {
    struct world *w;
    size_t count;
    int open;
};

static int world_has_incidents(void *arg)
{
    struct want *want = arg;
    json_t *root = world_incidents(want->w), *list = json_object_get(root, "incidents");
    int ok = json_array_size(list) == want->count &&
             (want->count == 0 ||
              json_is_true(json_object_get(json_array_get(list, 0), "open")) == want->open);

    json_decref(root);
    return ok;
}

static int world_all_up(void *arg)
{
    struct world *w = arg;
    static char out[65536];
    const char *argv[] = { NINES_BIN_DIR "/nines", "status", "--redis", w->redis.url, "--json",
                           NULL };
    int code = -1;

    return proc_run(argv, out, sizeof(out), 5000, &code) == 0 && code == 0 &&
           strstr(out, "\"state\": \"UP\"") != NULL;
}

/* The incident hash's detected_ms, -1 when absent. */
static long long incident_detected(struct world *w, const char *id)
{
    redisContext *c = redis_fixture_connect(&w->redis);
    redisReply *r = c ? redisCommand(c, "HGET nines:incident:%s detected_ms", id) : NULL;
    long long v = r != NULL && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;

    freeReplyObject(r);
    redisFree(c);
    return v;
}

Test(e2e_incidents, collector_killed_mid_incident_carries_it_on_exactly, .timeout = 90)
{
    struct world w;
    struct want open1, closed1;
    json_t *root, *inc;
    long long start, start_after, end, switched, healed, detected;
    const char *id_before;
    char id[128];
    int status;

    world_open(&w);
    cr_assert(eq(int, test_wait_until(world_all_up, &w, 20000), 0), "never UP");
    switched = (long long)nines_wall_ms();
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=500"), 0));
    open1 = (struct want){ &w, 1, 1 };
    cr_assert(eq(int, test_wait_until(world_has_incidents, &open1, 8000), 0),
              "no incident opened");
    root = world_incidents(&w);
    inc = json_array_get(json_object_get(root, "incidents"), 0);
    start = json_integer_value(json_object_get(inc, "start_ms"));
    id_before = json_string_value(json_object_get(inc, "id"));
    snprintf(id, sizeof(id), "%s", id_before);
    /* back-dated: the second location's first failing result, after the switch
     * and within one interval of it */
    cr_expect(ge(i64, start, switched - 50));
    cr_expect(le(i64, start, switched + 1100));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(inc, "reason")),
                 "http_status"));
    json_decref(root);
    /* detection (KPIs' MTTD): the collector's clock when it opened it, after the start */
    detected = incident_detected(&w, id);
    cr_expect(ge(i64, detected, start));
    cr_expect(le(i64, detected, (long long)nines_wall_ms()));

    cr_assert(eq(int, proc_signal(w.collector, SIGKILL), 0));
    cr_assert(eq(int, proc_wait(w.collector, 3000, &status), 0));
    test_sleep_ms(1500);          /* down for a while; results pile up */
    world_start_collector(&w);
    test_sleep_ms(1500);          /* still failing after the restart */
    healed = (long long)nines_wall_ms();
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    closed1 = (struct want){ &w, 1, 0 };
    cr_assert(eq(int, test_wait_until(world_has_incidents, &closed1, 8000), 0),
              "the incident did not close (or another one opened)");
    root = world_incidents(&w);
    inc = json_array_get(json_object_get(root, "incidents"), 0);
    start_after = json_integer_value(json_object_get(inc, "start_ms"));
    end = json_integer_value(json_object_get(inc, "end_ms"));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(inc, "id")), id),
              "the same incident");
    cr_expect(eq(i64, start_after, start), "its start did not move");
    /* it ends at the first success of the recovering location that broke
     * the quorum: after the heal, within an interval */
    cr_expect(ge(i64, end, healed - 50));
    cr_expect(le(i64, end, healed + 1100));
    cr_expect(eq(i64, json_integer_value(json_object_get(inc, "duration_ms")), end - start));
    cr_expect(strstr(json_string_value(json_object_get(inc, "locations")), "eu") != NULL);
    json_decref(root);
    cr_expect(eq(i64, incident_detected(&w, id), detected), "the restart kept its detection");
    world_close(&w);
}

static int world_silent_raised(void *arg)
{
    struct world *w = arg;
    redisContext *c = redis_fixture_connect(&w->redis);
    redisReply *r = c ? redisCommand(c, "HEXISTS nines:silent web/ap") : NULL;
    int yes = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

    freeReplyObject(r);
    redisFree(c);
    return yes;
}

/* Every location has reported at least once (the collector's stored state). */
static int world_all_reporting(void *arg)
{
    struct world *w = arg;
    redisContext *c = redis_fixture_connect(&w->redis);
    redisReply *r = c ? redisCommand(c, "HGET nines:state:web doc") : NULL;
    int yes = r != NULL && r->type == REDIS_REPLY_STRING;

    for (int i = 0; yes && i < 3; i++) {
        char name[32];

        /* doc v2: each location is an array that starts with its name */
        snprintf(name, sizeof(name), "[\"%s\",", locations[i]);
        yes = strstr(r->str, name) != NULL;
    }
    freeReplyObject(r);
    redisFree(c);
    return yes;
}

Test(e2e_incidents, a_silent_probe_raises_probe_silent_and_no_incident, .timeout = 60)
{
    struct world w;
    struct want none;

    world_open(&w);
    cr_assert(eq(int, test_wait_until(world_all_up, &w, 20000), 0), "never UP");
    /* ap must have reported before it can fall silent */
    cr_assert(eq(int, test_wait_until(world_all_reporting, &w, 10000), 0),
              "not every location reported");
    cr_assert(eq(int, proc_signal(w.probe[2], SIGSTOP), 0));     /* ap goes quiet */
    cr_assert(eq(int, test_wait_until(world_silent_raised, &w, 8000), 0),
              "probe silent was not raised");
    none = (struct want){ &w, 0, 0 };
    cr_assert(world_has_incidents(&none), "a silent probe opened an incident");
    cr_assert(world_all_up(&w), "the check stayed UP");
    cr_assert(eq(int, proc_signal(w.probe[2], SIGCONT), 0));
    world_close(&w);
}
