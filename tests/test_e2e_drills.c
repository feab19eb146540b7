/*
 * DR drills end to end: a real collector and probe checking the HTTP fixture;
 * the test starts drills with `nines drill start`, breaks and mends the
 * fixture at times it records, and compares the drill's measured RTO with
 * what really happened (within one check interval).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

struct drill_world {
    struct redis_fixture redis;
    struct httpfix http;
    char dir[256];
    char cfg[400];
    pid_t collector, probe;
};

static char out[262144];

static void world_start(struct drill_world *w, const char *services)
{
    char yaml[4096], log[400];
    const char *cargv[] = { NINES_BIN_DIR "/nines-collector", "-c", w->cfg, NULL };

    memset(w, 0, sizeof(*w));
    test_wait_poll_ms(100);
    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
             "api: {listen: \"127.0.0.1:0\"}\n"
             "checks:\n"
             "  - {id: web, kind: http, url: \"%s/\", interval: 1s, timeout: 500ms}\n"
             "  - {id: api, kind: http, url: \"%s/api\", interval: 1s, timeout: 500ms}\n"
             "%s",
             w->redis.url, w->dir, w->http.base_url, w->http.base_url, services);
    snprintf(w->cfg, sizeof(w->cfg), "%s/nines.yaml", w->dir);
    cr_assert(eq(int, test_write_file(w->cfg, yaml), 0));
    snprintf(log, sizeof(log), "%s/collector.log", w->dir);
    w->collector = proc_spawn(cargv, log);
    cr_assert(gt(int, w->collector, 0));
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", w->redis.url, "--name",
                               "p1", "--location", "local", "--poll-ms", "200", NULL };

        snprintf(log, sizeof(log), "%s/probe.log", w->dir);
        w->probe = proc_spawn(argv, log);
    }
}

static void world_stop(struct drill_world *w)
{
    proc_stop(w->probe, 3000);
    proc_stop(w->collector, 5000);
    httpfix_stop(&w->http);
    redis_fixture_stop(&w->redis);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(w->dir);
}

static int nines(struct drill_world *w, const char *a1, const char *a2, const char *a3,
                 const char *a4, const char *a5)
{
    const char *argv[12] = { NINES_BIN_DIR "/nines", a1, a2, a3, a4, a5 };
    int n = 1, code = -1;

    while (n < 6 && argv[n] != NULL)
        n++;
    argv[n++] = "--redis";
    argv[n++] = w->redis.url;
    argv[n] = NULL;
    out[0] = '\0';
    if (proc_run(argv, out, sizeof(out), 15000, &code) != 0)
        return -1;
    return code;
}

struct drill_want {
    struct drill_world *w;
    char id[160];
    json_t *doc;
};

/* The drill has ended: its document (state passed or failed) is in doc. */
static int drill_ended(void *arg)
{
    struct drill_want *x = arg;
    const char *state;

    if (nines(x->w, "drill", "show", x->id, "--json", NULL) != 0)
        return 0;
    json_decref(x->doc);
    x->doc = json_loads(out, 0, NULL);
    state = json_string_value(json_object_get(x->doc, "state"));
    return state != NULL && strcmp(state, "running") != 0;
}

static int service_up(void *arg)
{
    struct drill_world *w = arg;

    return nines(w, "status", NULL, NULL, NULL, NULL) == 0 && strstr(out, "UNKNOWN") == NULL &&
           strstr(out, "DOWN") == NULL;
}

Test(e2e_drills, a_drill_without_disruption_passes_with_no_outage_observed, .timeout = 60)
{
    struct drill_world w;
    struct drill_want x = { .w = &w };

    world_start(&w, "services:\n  - {id: orders, checks: [web], rto: 30s, rpo: 0s,"
                    " drill_stable: 3s}\n");
    cr_assert(eq(int, test_wait_until(service_up, &w, 15000), 0), "checks never came up");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "nowhere", NULL), 1),
              "an unknown service must be refused");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "orders", NULL), 0), "%s", out);
    snprintf(x.id, sizeof(x.id), "%.*s", (int)strcspn(out, "\n"), out);
    cr_assert(eq(int, strncmp(x.id, "orders@", 7), 0), "%s", x.id);
    cr_assert(eq(int, test_wait_until(drill_ended, &x, 20000), 0), "the drill never ended");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(x.doc, "state")), "passed"));
    cr_expect(eq(i64, json_integer_value(json_object_get(x.doc, "rto_ms")), 0));
    cr_expect(eq(i64, json_integer_value(json_object_get(x.doc, "rpo_ms")), 0));
    cr_expect(not(eq(ptr, strstr(json_string_value(json_object_get(x.doc, "verdict")),
                                 "no outage observed"), NULL)));
    json_decref(x.doc);
    /* the report renders */
    cr_assert(eq(int, nines(&w, "drill", "show", x.id, "--html", NULL), 0));
    cr_expect(not(eq(ptr, strstr(out, "<h1>DR drill orders@"), NULL)));
    world_stop(&w);
}

Test(e2e_drills, an_outage_gives_the_rto_that_really_happened, .timeout = 90)
{
    struct drill_world w;
    struct drill_want x = { .w = &w };
    int64_t broke, mended, rto, truth;

    /* drill_timeout well past the outage; stable after 3 s */
    world_start(&w, "services:\n  - {id: orders, checks: [web, api], rto: 30s,"
                    " drill_stable: 3s}\n"
                    "  - {id: strict, checks: [api], rto: 1s, drill_stable: 3s}\n");
    cr_assert(eq(int, test_wait_until(service_up, &w, 15000), 0), "checks never came up");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "orders", "--expect-outage"), 0),
              "%s", out);
    snprintf(x.id, sizeof(x.id), "%.*s", (int)strcspn(out, "\n"), out);
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "orders", NULL), 1),
              "a second drill of a service must be refused");
    test_sleep_ms(1500);
    broke = nines_wall_ms();
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=503"), 0));
    test_sleep_ms(6000);
    mended = nines_wall_ms();
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    truth = mended - broke;
    cr_assert(eq(int, test_wait_until(drill_ended, &x, 30000), 0), "the drill never ended");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(x.doc, "state")), "passed"), "%s",
              json_string_value(json_object_get(x.doc, "verdict")));
    rto = json_integer_value(json_object_get(x.doc, "rto_ms"));
    /* both ends are seen by results at most one interval (1 s) late */
    cr_expect(le(i64, rto > truth ? rto - truth : truth - rto, 1100),
              "RTO %" PRId64 " ms, truth %" PRId64 " ms", rto, truth);
    cr_expect(ge(i64, json_integer_value(json_object_get(x.doc, "outage_start_ms")), broke));
    cr_expect(ge(i64, json_integer_value(json_object_get(x.doc, "detected_ms")),
                 json_integer_value(json_object_get(x.doc, "outage_start_ms"))));
    cr_expect(ge(i64, json_integer_value(json_object_get(x.doc, "recovered_ms")), mended));
    cr_expect(ge(sz, json_array_size(json_object_get(x.doc, "timeline")), 4));
    json_decref(x.doc);
    world_stop(&w);
}

Test(e2e_drills, a_missed_objective_fails_the_drill_and_raises_drill_failed, .timeout = 90)
{
    struct drill_world w;
    struct drill_want x = { .w = &w };

    world_start(&w, "services:\n  - {id: strict, checks: [api], rto: 1s, drill_stable: 2s}\n");
    cr_assert(eq(int, test_wait_until(service_up, &w, 15000), 0), "checks never came up");
    cr_assert(eq(int, nines(&w, "drill", "start", "--service", "strict", "--expect-outage"), 0),
              "%s", out);
    snprintf(x.id, sizeof(x.id), "%.*s", (int)strcspn(out, "\n"), out);
    test_sleep_ms(1200);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=503"), 0));
    test_sleep_ms(5000);
    cr_assert(eq(int, httpfix_set_mode(&w.http, "status=200"), 0));
    cr_assert(eq(int, test_wait_until(drill_ended, &x, 30000), 0), "the drill never ended");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(x.doc, "state")), "failed"));
    cr_expect(lt(i64, json_integer_value(json_object_get(x.doc, "rto_margin_ms")), 0));
    cr_expect(not(eq(ptr, strstr(json_string_value(json_object_get(x.doc, "verdict")),
                                 "RTO over its objective"), NULL)));
    json_decref(x.doc);
    cr_assert(eq(int, nines(&w, "alerts", "--active", NULL, NULL, NULL), 0));
    cr_expect(not(eq(ptr, strstr(out, "drill_failed/strict@"), NULL)), "%s", out);
    cr_assert(eq(int, nines(&w, "drill", "list", NULL, NULL, NULL), 0));
    cr_expect(not(eq(ptr, strstr(out, x.id), NULL)), "%s", out);
    world_stop(&w);
}
