/*
 * End to end, with the real binaries: a redis-server and an HTTP fixture
 * started here, nines-collector and nines-probe as processes, and
 * `nines status --json` read back. The fixture is switched between 200, 500
 * and hanging; the collector is killed with SIGKILL and restarted.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2eworld.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

struct e2e {
    struct redis_fixture redis;
    struct httpfix http;
    char dir[256];
    char cfg[512];
    char clog[512];
    pid_t collector;
    pid_t probe;
    int embedded;
};

static const char *e2e_want_state;
static const char *e2e_want_id;
static struct e2e *e2e_cur;
static char e2e_last_dir[256];  /* survives the test's stack, for the fini */

/* NINES_TEST_LOGS=1 prints the daemons' logs after each test (for failures). */
static void e2e_dump_logs(void)
{
    char path[600], *log;

    if (getenv("NINES_TEST_LOGS") == NULL || e2e_last_dir[0] == '\0')
        return;
    snprintf(path, sizeof(path), "%s/collector.log", e2e_last_dir);
    log = test_read_file(path);
    fprintf(stderr, "---- collector log ----\n%s", log ? log : "(none)\n");
    free(log);
    snprintf(path, sizeof(path), "%s/probe.log", e2e_last_dir);
    log = test_read_file(path);
    fprintf(stderr, "---- probe log ----\n%s", log ? log : "(none)\n");
    free(log);
}

TestSuite(e2e, .fini = e2e_dump_logs);

/* A wait status as an exit code, or -signal when killed. */
static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static void e2e_write_config(struct e2e *e, const char *extra_checks)
{
    char yaml[4096];
    char redis_line[600] = "";

    if (!e->embedded)
        snprintf(redis_line, sizeof(redis_line), "  redis: %s\n", e->redis.url);
    snprintf(yaml, sizeof(yaml),
             "collector:\n"
             "  name: c1\n"
             "  data_dir: %s/data\n"
             "%s"
             "api:\n"
             "  listen: 127.0.0.1:0\n"
             "checks:\n"
             "  - id: web\n"
             "    kind: http\n"
             "    url: %s/\n"
             "    interval: 1s\n"
             "    timeout: 500ms\n"
             "    failures_to_down: 2\n"
             "    successes_to_up: 1\n"
             "%s",
             e->dir, redis_line, e->http.base_url, extra_checks ? extra_checks : "");
    cr_assert(eq(int, test_write_file(e->cfg, yaml), 0));
}

static pid_t e2e_start_collector(struct e2e *e)
{
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", e->cfg, NULL };

    e->collector = proc_spawn(argv, e->clog);
    cr_assert(gt(int, e->collector, 0));
    return e->collector;
}

static void e2e_start_probe(struct e2e *e, const char *redis_url)
{
    char log[512];
    const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", redis_url, "--name",
                           "p1", "--location", "local", "--poll-ms", "200", NULL };

    snprintf(log, sizeof(log), "%s/probe.log", e->dir);
    e->probe = proc_spawn(argv, log);
    cr_assert(gt(int, e->probe, 0));
}

static void e2e_open(struct e2e *e, int embedded)
{
    test_wait_poll_ms(100);
    memset(e, 0, sizeof(*e));
    e2e_cur = e;
    e->embedded = embedded;
    cr_assert(eq(int, test_tmpdir(e->dir, sizeof(e->dir)), 0));
    snprintf(e2e_last_dir, sizeof(e2e_last_dir), "%s", e->dir);
    snprintf(e->cfg, sizeof(e->cfg), "%s/nines.yaml", e->dir);
    snprintf(e->clog, sizeof(e->clog), "%s/collector.log", e->dir);
    if (!embedded)
        cr_assert(eq(int, redis_fixture_start(&e->redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&e->http), 0));
    e2e_write_config(e, NULL);
}

/* The embedded redis-server is the collector's child; if the collector was
 * killed it is left over, so stop it through its pid file. */
static void e2e_stop_embedded_leftover(struct e2e *e)
{
    char path[600], cmd[256] = "", *pidtxt;
    long pid;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/data/redis.pid", e->dir);
    pidtxt = test_read_file(path);
    if (pidtxt == NULL)
        return;
    pid = strtol(pidtxt, NULL, 10);
    free(pidtxt);
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    f = pid > 1 ? fopen(path, "r") : NULL;
    if (f == NULL)
        return;
    n = fread(cmd, 1, sizeof(cmd) - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    if (strstr(cmd, "redis-server") != NULL && strstr(cmd, e->dir) == NULL)
        return;
    if (strstr(cmd, "redis-server") != NULL)
        kill((pid_t)pid, SIGKILL);
}

static void e2e_close(struct e2e *e)
{
    if (e->probe > 0)
        proc_stop(e->probe, 3000);
    if (e->collector > 0)
        proc_stop(e->collector, 5000);
    if (e->embedded)
        e2e_stop_embedded_leftover(e);
    httpfix_stop(&e->http);
    if (!e->embedded)
        redis_fixture_stop(&e->redis);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(e->dir);
}

/* One check's object from `nines status --json`, or NULL. Caller decrefs root. */
static json_t *e2e_status(struct e2e *e, const char *id, json_t **root)
{
    static char out[65536];
    /* by config file for the embedded Redis, else by URL (the file may be
     * broken on purpose) */
    const char *argv[] = { NINES_BIN_DIR "/nines", "status", e->embedded ? "-c" : "--redis",
                           e->embedded ? e->cfg : e->redis.url, "--json", NULL };
    json_t *checks;
    size_t i;
    json_t *c;
    int code = -1;

    *root = NULL;
    if (proc_run(argv, out, sizeof(out), 5000, &code) != 0 || code != 0)
        return NULL;
    *root = json_loads(out, 0, NULL);
    checks = json_object_get(*root, "checks");
    json_array_foreach(checks, i, c) {
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
            return c;
    }
    return NULL;
}


static int e2e_state_is(void *arg)
{
    json_t *root, *c = e2e_status(e2e_cur, e2e_want_id, &root);
    int ok = c != NULL &&
             strcmp(json_string_value(json_object_get(c, "state")), e2e_want_state) == 0;

    (void)arg;
    json_decref(root);
    return ok;
}

/* Waits until check id shows state; returns the ms it took, or -1. */
static int e2e_wait_state(struct e2e *e, const char *id, const char *state, int timeout_ms)
{
    uint64_t t0 = test_now_ms();

    e2e_cur = e;
    e2e_want_id = id;
    e2e_want_state = state;
    if (test_wait_until(e2e_state_is, NULL, timeout_ms) != 0)
        return -1;
    return (int)(test_now_ms() - t0);
}

static long long e2e_field(struct e2e *e, const char *id, const char *field)
{
    json_t *root, *c = e2e_status(e, id, &root);
    long long v = c ? json_integer_value(json_object_get(c, field)) : -1;

    json_decref(root);
    return v;
}

Test(e2e, fixture_500_makes_check_down_within_two_intervals_then_up, .timeout = 60)
{
    struct e2e e;
    json_t *root, *c, *err;
    long long switched, since;
    int took;

    e2e_open(&e, 0);
    e2e_start_collector(&e);
    e2e_start_probe(&e, e.redis.url);
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 20000), 0), "web never came UP");

    switched = (long long)nines_wall_ms();
    cr_assert(eq(int, httpfix_set_mode(&e.http, "status=500"), 0));
    took = e2e_wait_state(&e, "web", "DOWN", 6000);
    cr_assert(ge(int, took, 0), "web never went DOWN");
    /* two failing runs 1 s apart, the first within 1 s of the switch */
    cr_expect(le(int, took, 3500), "DOWN after %d ms", took);
    c = e2e_status(&e, "web", &root);
    cr_assert(c != NULL);
    since = json_integer_value(json_object_get(c, "since_ms"));
    /* back-dated to the first failing result, not the moment of confirmation */
    cr_expect(ge(i64, since, switched - 50));
    cr_expect(le(i64, since, switched + 1100));
    err = json_object_get(c, "last_error");
    cr_assert(err != NULL && json_is_object(err));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(err, "reason")), "http_status"));
    cr_expect(eq(int, (int)json_integer_value(json_object_get(c, "last_code")), 500));
    json_decref(root);

    cr_assert(eq(int, httpfix_set_mode(&e.http, "status=200"), 0));
    took = e2e_wait_state(&e, "web", "UP", 4000);
    cr_assert(ge(int, took, 0), "web never came back UP");
    cr_expect(le(int, took, 2500), "UP after %d ms", took);

    /* a hanging target is a failure too (timeout), never a stuck probe */
    cr_assert(eq(int, httpfix_set_mode(&e.http, "hang=1"), 0));
    cr_assert(ge(int, e2e_wait_state(&e, "web", "DOWN", 6000), 0), "hang never went DOWN");
    c = e2e_status(&e, "web", &root);
    err = json_object_get(c, "last_error");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(err, "reason")), "timeout"));
    json_decref(root);
    e2e_close(&e);
}

struct results_after {
    struct e2e *e;
    long long after_ms;
};

static int e2e_result_after(void *arg)
{
    struct results_after *ra = arg;

    return e2e_field(ra->e, "web", "last_result_ms") > ra->after_ms;
}

Test(e2e, collector_killed_mid_run_loses_no_state_and_resumes, .timeout = 60)
{
    struct e2e e;
    struct results_after ra;
    long long since, results_before, results_after;
    int status = 0;

    e2e_open(&e, 0);
    e2e_start_collector(&e);
    e2e_start_probe(&e, e.redis.url);
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 20000), 0));
    cr_assert(eq(int, httpfix_set_mode(&e.http, "status=500"), 0));
    cr_assert(ge(int, e2e_wait_state(&e, "web", "DOWN", 6000), 0));
    since = e2e_field(&e, "web", "since_ms");
    results_before = e2e_field(&e, "web", "results");

    cr_assert(eq(int, proc_signal(e.collector, SIGKILL), 0));
    cr_assert(eq(int, proc_wait(e.collector, 3000, &status), 0));
    cr_assert(eq(int, exit_code(status), -SIGKILL));
    /* results keep arriving in the stream while no collector runs */
    ra.e = &e;
    ra.after_ms = (long long)nines_wall_ms() + 1500;
    test_sleep_ms(1500);    /* the outage itself: a fixed length of downtime */
    e2e_start_collector(&e);
    cr_assert(eq(int, test_wait_until(e2e_result_after, &ra, 6000), 0),
              "consumption did not resume after the restart");
    /* the same DOWN, back-dated to the same first failure */
    cr_expect(ge(int, e2e_wait_state(&e, "web", "DOWN", 100), 0));
    cr_expect(eq(i64, e2e_field(&e, "web", "since_ms"), since));
    results_after = e2e_field(&e, "web", "results");
    cr_expect(gt(i64, results_after, results_before + 1),
              "results made while the collector was dead were consumed");
    /* and it still reacts */
    cr_assert(eq(int, httpfix_set_mode(&e.http, "status=200"), 0));
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 5000), 0));
    e2e_close(&e);
}

static int e2e_count_results(struct e2e *e)
{
    redisContext *c = redis_fixture_connect(&e->redis);
    redisReply *r = c ? redisCommand(c, "XLEN nines:results") : NULL;
    int n = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;

    freeReplyObject(r);
    redisFree(c);
    return n;
}

Test(e2e, sigterm_drains_and_exits_zero, .timeout = 30)
{
    struct e2e e;
    int status = -1;

    e2e_open(&e, 0);
    e2e_start_collector(&e);
    e2e_start_probe(&e, e.redis.url);
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 20000), 0));
    cr_assert(ge(int, e2e_count_results(&e), 0));
    cr_assert(eq(int, proc_signal(e.collector, SIGTERM), 0));
    cr_assert(eq(int, proc_wait(e.collector, 5000, &status), 0), "collector did not exit");
    cr_expect(eq(int, exit_code(status), 0), "collector wait status %d", status);
    e.collector = 0;
    cr_assert(eq(int, proc_signal(e.probe, SIGTERM), 0));
    cr_assert(eq(int, proc_wait(e.probe, 5000, &status), 0), "probe did not exit");
    cr_expect(eq(int, exit_code(status), 0), "probe wait status %d", status);
    e.probe = 0;
    e2e_close(&e);
}

static int e2e_has_check(void *arg)
{
    struct e2e *e = arg;

    return e2e_field(e, "api", "results") > 0;
}

static int e2e_log_has(struct e2e *e, const char *needle)
{
    char *log = test_read_file(e->clog);
    int found = log != NULL && strstr(log, needle) != NULL;

    free(log);
    return found;
}

struct log_wait {
    struct e2e *e;
    const char *needle;
};

static int e2e_log_has_cond(void *arg)
{
    struct log_wait *w = arg;

    return e2e_log_has(w->e, w->needle);
}

Test(e2e, sighup_adds_a_check_to_running_probes_and_rejects_a_bad_file, .timeout = 60)
{
    struct e2e e;
    struct log_wait w;
    char extra[512];
    json_t *root;

    e2e_open(&e, 0);
    e2e_start_collector(&e);
    e2e_start_probe(&e, e.redis.url);
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 20000), 0));
    cr_assert(e2e_status(&e, "api", &root) == NULL);
    json_decref(root);

    snprintf(extra, sizeof(extra),
             "  - id: api\n    kind: http\n    url: %s/status/503\n    interval: 1s\n"
             "    timeout: 500ms\n    failures_to_down: 1\n",
             e.http.base_url);
    e2e_write_config(&e, extra);
    cr_assert(eq(int, proc_signal(e.collector, SIGHUP), 0));
    cr_assert(eq(int, test_wait_until(e2e_has_check, &e, 8000), 0),
              "the probe never ran the added check");
    cr_assert(ge(int, e2e_wait_state(&e, "api", "DOWN", 5000), 0));

    /* a broken file is rejected with its position; the old one keeps running */
    cr_assert(eq(int, test_write_file(e.cfg, "checks:\n  - id: x\n    kind: [\n"), 0));
    cr_assert(eq(int, proc_signal(e.collector, SIGHUP), 0));
    w.e = &e;
    w.needle = "reload_rejected";
    cr_assert(eq(int, test_wait_until(e2e_log_has_cond, &w, 5000), 0));
    cr_expect(e2e_log_has(&e, "nines.yaml:"), "the error names the file and line");
    cr_assert(proc_alive(e.collector));
    cr_assert(ge(int, e2e_wait_state(&e, "api", "DOWN", 3000), 0));
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 3000), 0));
    e2e_close(&e);
}

Test(e2e, both_daemons_survive_a_redis_restart, .timeout = 60)
{
    struct e2e e;
    struct results_after ra;

    e2e_open(&e, 0);
    e2e_start_collector(&e);
    e2e_start_probe(&e, e.redis.url);
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 20000), 0));
    cr_assert(eq(int, redis_fixture_kill9(&e.redis), 0));
    test_sleep_ms(1500);     /* a real outage, long enough for both to notice */
    cr_assert(proc_alive(e.collector));
    cr_assert(proc_alive(e.probe));
    cr_assert(eq(int, redis_fixture_restart(&e.redis), 0));
    /* this Redis kept nothing (no AOF): the collector republishes the
     * catalogue and states rebuild from the results that follow */
    ra.e = &e;
    ra.after_ms = (long long)nines_wall_ms();
    cr_assert(eq(int, test_wait_until(e2e_result_after, &ra, 10000), 0),
              "results did not flow again after Redis came back");
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 5000), 0));
    e2e_close(&e);
}

Test(e2e, bad_config_exits_nonzero_without_touching_stored_state, .timeout = 30)
{
    struct e2e e;
    char out[4096] = "", errout[4096] = "";
    const char *validate[] = { NINES_BIN_DIR "/nines", "validate", "-c", e.cfg, NULL };
    redisContext *c;
    redisReply *r;
    int status = -1;

    e2e_open(&e, 0);
    c = redis_fixture_connect(&e.redis);
    r = redisCommand(c, "SET nines:catalogue keep-me");
    freeReplyObject(r);
    cr_assert(eq(int, test_write_file(e.cfg, "collector:\n  redis: unix:///nowhere\n"
                                             "checks:\n  - id: a\n    kind: http\n"
                                             "    url: http://127.0.0.1:1/\n"
                                             "    intervall: 5s\n"), 0));
    cr_expect(eq(int, e2e_run(validate, NULL, out, sizeof(out), errout, sizeof(errout), 5000),
                 2));
    cr_expect(strstr(errout, "nines.yaml:7:5: ") != NULL, "got: %s", errout);
    cr_expect(strstr(errout, "intervall") != NULL, "got: %s", errout);

    /* the same file, now pointing at the real Redis: still refused */
    e2e_write_config(&e, "    intervall: 5s\n");
    e2e_start_collector(&e);
    cr_assert(eq(int, proc_wait(e.collector, 5000, &status), 0));
    cr_expect(eq(int, exit_code(status), 2));
    e.collector = 0;
    r = redisCommand(c, "GET nines:catalogue");
    cr_expect(eq(str, r->str, "keep-me"), "stored state was touched");
    freeReplyObject(r);
    redisFree(c);
    e2e_close(&e);
}

static int e2e_embedded_pid(struct e2e *e)
{
    char path[600], *t;
    int pid;

    snprintf(path, sizeof(path), "%s/data/redis.pid", e->dir);
    t = test_read_file(path);
    pid = t ? atoi(t) : 0;
    free(t);
    return pid;
}

struct pid_change {
    struct e2e *e;
    int old;
};

static int e2e_embedded_restarted(void *arg)
{
    struct pid_change *pc = arg;
    int now = e2e_embedded_pid(pc->e);

    return now > 0 && now != pc->old && kill(now, 0) == 0;
}

Test(e2e, embedded_redis_is_started_supervised_and_stopped, .timeout = 60)
{
    struct e2e e;
    struct pid_change pc;
    char sock[600], probe_url[700];
    int status = -1, pid;

    e2e_open(&e, 1);
    e2e_start_collector(&e);
    snprintf(sock, sizeof(sock), "%s/data/redis.sock", e.dir);
    snprintf(probe_url, sizeof(probe_url), "unix://%s", sock);
    e2e_start_probe(&e, probe_url);
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 20000), 0));
    pid = e2e_embedded_pid(&e);
    cr_assert(gt(int, pid, 0));
    {
        char path[600], *aof;

        /* AOF on (Redis 7 keeps it in appendonlydir/) */
        snprintf(path, sizeof(path), "%s/data/appendonlydir", e.dir);
        cr_expect(test_path_exists(path), "no AOF directory");
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        aof = test_read_file(path);
        cr_assert(aof != NULL);
        free(aof);
    }

    /* it dies: the collector starts it again and everything carries on */
    kill(pid, SIGKILL);
    pc.e = &e;
    pc.old = pid;
    cr_assert(eq(int, test_wait_until(e2e_embedded_restarted, &pc, 8000), 0),
              "the embedded Redis was not restarted");
    cr_assert(eq(int, httpfix_set_mode(&e.http, "status=500"), 0));
    cr_assert(ge(int, e2e_wait_state(&e, "web", "DOWN", 8000), 0));

    /* SIGTERM stops the collector and its Redis */
    pid = e2e_embedded_pid(&e);
    cr_assert(eq(int, proc_signal(e.collector, SIGTERM), 0));
    cr_assert(eq(int, proc_wait(e.collector, 8000, &status), 0));
    cr_expect(eq(int, exit_code(status), 0));
    e.collector = 0;
    cr_expect(kill(pid, 0) != 0, "the embedded Redis outlived its collector");
    e2e_close(&e);
}

struct schedule_probe {
    struct e2e *e;
    long long results_at_start;
};

Test(e2e, a_hanging_check_does_not_delay_a_healthy_one_in_the_same_probe, .timeout = 60)
{
    struct e2e e;
    char extra[512];
    long long before, after, t0, t1;

    e2e_open(&e, 0);
    /* a second check in the same probe that hangs until its 900 ms deadline */
    snprintf(extra, sizeof(extra),
             "  - id: stuck\n    kind: http\n    url: %s/hang\n    interval: 1s\n"
             "    timeout: 900ms\n",
             e.http.base_url);
    e2e_write_config(&e, extra);
    e2e_start_collector(&e);
    e2e_start_probe(&e, e.redis.url);
    cr_assert(ge(int, e2e_wait_state(&e, "web", "UP", 20000), 0));
    cr_assert(ge(int, e2e_wait_state(&e, "stuck", "DOWN", 10000), 0));
    before = e2e_field(&e, "web", "results");
    t0 = (long long)nines_wall_ms();
    test_sleep_ms(5000);     /* five intervals of both checks */
    after = e2e_field(&e, "web", "results");
    t1 = (long long)nines_wall_ms();
    /* one result per second, on time, whatever the stuck check does */
    cr_expect(ge(i64, after - before, (t1 - t0) / 1000 - 1), "web ran %lld times in %lld ms",
              after - before, t1 - t0);
    cr_expect(le(i64, t1 - e2e_field(&e, "web", "last_result_ms"), 1500),
              "web's newest result is recent");
    e2e_close(&e);
}
