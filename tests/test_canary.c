/*
 * Canary checks against real servers on loopback: two redis-servers as
 * primary and replica (with a password), and the canaryapp fixture for the
 * HTTP canary. Plus the RESP decoder on crafted input, the config loader's
 * errors and the catalogue round trip.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "check.h"
#include "nines/config.h"
#include "nines/err.h"
#include "nines/wire.h"
#include "proc.h"
#include "redis_fixture.h"
#include "resp.h"
#include "testutil.h"

#define PW "s3cret-canary"

/* ---- harness: one env, checks run one after another on it ----------------- */

struct harness {
    uv_loop_t loop;
    struct check_env env;
};

struct got {
    int done;
    struct nines_result r;
    json_t *facts; /* the "canary" object, owned by root */
    json_t *root;
};

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->r = *r;
    g->done++;
}

static void harness_open(struct harness *h)
{
    cr_assert(eq(int, curl_global_init(CURL_GLOBAL_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_init(&h->loop), 0));
    cr_assert(eq(int, check_env_init(&h->env, &h->loop), 0));
}

static void harness_close(struct harness *h)
{
    check_env_close(&h->env);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&h->loop), 0)); /* nothing left open */
    curl_global_cleanup();
}

static void got_clear(struct got *g)
{
    json_decref(g->root);
    memset(g, 0, sizeof(*g));
}

/* Runs c once; g holds the result and its parsed facts. */
static void run_check(struct harness *h, const struct nines_check *c, struct got *g)
{
    got_clear(g);
    cr_assert(eq(int, check_start(&h->env, c, keep_result, g), 0));
    cr_assert(eq(int, g->done, 0)); /* never from inside check_start */
    for (int i = 0; i < 100000 && !g->done; i++)
        uv_run(&h->loop, UV_RUN_ONCE);
    cr_assert(eq(int, g->done, 1));
    if (g->r.facts[0]) {
        g->root = json_loads(g->r.facts, 0, NULL);
        cr_assert(g->root != NULL, "facts are JSON: %s", g->r.facts);
        g->facts = json_object_get(g->root, "canary");
        cr_assert(g->facts != NULL && json_typeof(g->facts) == JSON_OBJECT, "facts: %s",
                  g->r.facts);
    }
}

/* A fact, or -1 when it was left out. */
static long long fact(const struct got *g, const char *name)
{
    json_t *v = g->facts ? json_object_get(g->facts, name) : NULL;

    return v ? (long long)json_integer_value(v) : -1;
}

/* ---- Redis: a primary and a replica, both wanting PW ----------------------- */

struct pair {
    struct redis_fixture primary;
    struct redis_fixture replica;
    char addr[64];
    char replica_addr[64];
};

static redisReply *cmd(const struct redis_fixture *f, const char *fmt, ...)
{
    redisContext *c = NULL;
    redisReply *r, *a;
    va_list ap;

    /* bounded retries: a server busy with a full sync may be slow to accept */
    for (int i = 0; i < 5 && c == NULL; i++)
        c = redis_fixture_connect(f);
    cr_assert(c != NULL, "connect to %s for %s", f->sock, fmt);
    a = redisCommand(c, "AUTH %s", PW);
    if (a)
        freeReplyObject(a);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    cr_assert(r != NULL);
    return r;
}

static void cmd_ok(const struct redis_fixture *f, const char *fmt, const char *arg)
{
    redisReply *r = cmd(f, fmt, arg);

    cr_assert(r->type != REDIS_REPLY_ERROR, "%s: %s", fmt, r->str);
    freeReplyObject(r);
}

static int replica_linked(void *arg)
{
    struct pair *p = arg;
    redisReply *r = cmd(&p->replica, "INFO replication");
    int up = r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");

    freeReplyObject(r);
    return up;
}

static void pair_start(struct pair *p, int with_replica)
{
    char port[16];

    memset(p, 0, sizeof(*p));
    cr_assert(eq(int, redis_fixture_start(&p->primary, 1), 0));
    cmd_ok(&p->primary, "CONFIG SET requirepass %s", PW);
    snprintf(p->addr, sizeof(p->addr), "127.0.0.1:%d", p->primary.port);
    if (!with_replica)
        return;
    cr_assert(eq(int, redis_fixture_start(&p->replica, 1), 0));
    snprintf(p->replica_addr, sizeof(p->replica_addr), "127.0.0.1:%d", p->replica.port);
    snprintf(port, sizeof(port), "%d", p->primary.port);
    cmd_ok(&p->replica, "CONFIG SET masterauth %s", PW);
    cmd_ok(&p->replica, "CONFIG SET requirepass %s", PW);
    cmd_ok(&p->replica, "REPLICAOF 127.0.0.1 %s", port);
    cr_assert(eq(int, test_wait_until(replica_linked, p, 10000), 0), "replica linked");
}

static void pair_stop(struct pair *p)
{
    redis_fixture_stop(&p->replica);
    redis_fixture_stop(&p->primary);
}

/* A redis_canary check (heap strings, as the loader makes them). */
static void redis_check(struct nines_check *c, const char *id, const char *addr,
                        const char *replica, const char *secret_env)
{
    memset(c, 0, sizeof(*c));
    nines_check_defaults(c);
    c->id = strdup(id);
    c->kind = NINES_KIND_REDIS_CANARY;
    c->timeout_ms = 2000;
    c->redis_canary.address = strdup(addr);
    c->redis_canary.replica = replica ? strdup(replica) : NULL;
    c->redis_canary.secret_env = strdup(secret_env);
}

static void value_of(const struct redis_fixture *f, const char *key, char *out, size_t len)
{
    redisReply *r = cmd(f, "GET %s", key);

    snprintf(out, len, "%s", r->type == REDIS_REPLY_STRING ? r->str : "(none)");
    freeReplyObject(r);
}

/* Waits until the replica holds sequence number seq (or more) under key. */
struct replica_wait {
    const struct redis_fixture *f;
    const char *key;
    long long seq;
};

static int replica_has(void *arg)
{
    struct replica_wait *w = arg;
    char v[128];

    value_of(w->f, w->key, v, sizeof(v));
    return strcmp(v, "(none)") != 0 && atoll(v) >= w->seq;
}

static void wait_replica(const struct pair *p, const char *key, long long seq)
{
    struct replica_wait w = { &p->replica, key, seq };

    cr_assert(eq(int, test_wait_until(replica_has, &w, 5000), 0), "replica has %lld", seq);
}

TestSuite(redis_canary, .timeout = 60);

Test(redis_canary, writes_are_acknowledged_and_read_back_from_both)
{
    struct pair p;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };
    char stored[128], want[128];

    setenv("CANARY_PW", PW, 1);
    pair_start(&p, 1);
    harness_open(&h);
    redis_check(&c, "orders-db", p.addr, p.replica_addr, "CANARY_PW");
    for (int i = 1; i <= 3; i++) {
        if (i > 1)
            wait_replica(&p, "nines:canary:orders-db", i - 1);
        run_check(&h, &c, &g);
        cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "run %d: %s %s", i, g.r.reason,
                  g.r.message);
        cr_assert(eq(str, g.r.check_id, "orders-db"));
        cr_assert(eq(i64, fact(&g, "acked_seq"), i));
        cr_assert(eq(i64, fact(&g, "read_seq"), i));
        cr_assert(eq(i64, fact(&g, "read_ts"), fact(&g, "acked_ts")));
        cr_assert(ge(i64, fact(&g, "acked_ts"), g.r.start_ms));
        if (i == 1 && fact(&g, "replica_seq") == -1) {
            /* replication is asynchronous: an empty replica leaves lag unmeasured */
            cr_assert(eq(i64, fact(&g, "lag_ms"), -1), "facts %s", g.r.facts);
            continue;
        }
        /* this run's write or the one before */
        cr_assert(ge(i64, fact(&g, "replica_seq"), i - 1), "facts %s", g.r.facts);
        cr_assert(ge(i64, fact(&g, "lag_ms"), 0));
        cr_assert(lt(i64, fact(&g, "lag_ms"), 1000), "facts %s", g.r.facts);
    }
    /* the value is "SEQ:TS_MS" under the default key */
    value_of(&p.primary, "nines:canary:orders-db", stored, sizeof(stored));
    snprintf(want, sizeof(want), "3:%lld", fact(&g, "acked_ts"));
    cr_assert(eq(str, stored, want));
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    pair_stop(&p);
}

Test(redis_canary, lag_grows_while_the_replica_stands_still)
{
    struct pair p;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };
    uint64_t t0;

    setenv("CANARY_PW", PW, 1);
    pair_start(&p, 1);
    harness_open(&h);
    redis_check(&c, "lagging", p.addr, p.replica_addr, "CANARY_PW");
    c.redis_canary.key = strdup("custom:key");
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    wait_replica(&p, "custom:key", 1);
    /* the replica applies no writes (its replication stream included) for 3 s */
    cmd_ok(&p.replica, "CLIENT PAUSE %s WRITE", "3000");
    t0 = test_now_ms();
    test_sleep_ms(800); /* pacing: the lag to measure */
    run_check(&h, &c, &g);
    cr_assert(lt(u64, test_now_ms() - t0, 2500), "measured while paused");
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(i64, fact(&g, "acked_seq"), 2));
    cr_assert(eq(i64, fact(&g, "read_seq"), 2));
    cr_assert(eq(i64, fact(&g, "replica_seq"), 1), "facts %s", g.r.facts);
    cr_assert(ge(i64, fact(&g, "lag_ms"), 800), "facts %s", g.r.facts);
    cr_assert(eq(i64, fact(&g, "lag_ms"), g.r.start_ms - fact(&g, "replica_ts")));
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    pair_stop(&p);
}

Test(redis_canary, dead_primary_fails_the_write_and_the_replica_shows_what_survived)
{
    struct pair p;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    setenv("CANARY_PW", PW, 1);
    pair_start(&p, 1);
    harness_open(&h);
    redis_check(&c, "failover", p.addr, p.replica_addr, "CANARY_PW");
    run_check(&h, &c, &g);
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    wait_replica(&p, "nines:canary:failover", 2);
    cr_assert(eq(int, redis_fixture_kill9(&p.primary), 0));
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "canary_write_failed"));
    cr_assert(strstr(g.r.message, "primary redis://127.0.0.1:") != NULL, "%s", g.r.message);
    cr_assert(strstr(g.r.message, PW) == NULL);
    cr_assert(eq(i64, fact(&g, "acked_seq"), 2), "remembered: %s", g.r.facts);
    cr_assert(eq(i64, fact(&g, "read_seq"), -1));
    cr_assert(eq(i64, fact(&g, "replica_seq"), 2), "facts %s", g.r.facts);
    cr_assert(ge(i64, fact(&g, "lag_ms"), 0));
    cr_assert(lt(u64, (uint64_t)g.r.total_us, 1500000), "refused fast, not timed out");
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    pair_stop(&p);
}

Test(redis_canary, seq_continues_after_the_probe_restarts)
{
    struct pair p;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    setenv("CANARY_PW", PW, 1);
    pair_start(&p, 0);
    redis_check(&c, "restart", p.addr, NULL, "CANARY_PW");
    harness_open(&h);
    for (int i = 0; i < 3; i++)
        run_check(&h, &c, &g);
    cr_assert(eq(i64, fact(&g, "acked_seq"), 3));
    harness_close(&h);
    harness_open(&h); /* a new probe: nothing remembered */
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(i64, fact(&g, "acked_seq"), 4));
    cr_assert(eq(i64, fact(&g, "read_seq"), 4));
    cr_assert(eq(i64, fact(&g, "replica_seq"), -1), "no replica given");
    cr_assert(eq(i64, fact(&g, "lag_ms"), 0), "the read holds this run's write");
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    pair_stop(&p);
}

Test(redis_canary, wrong_or_missing_password_is_a_clear_failure)
{
    struct pair p;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    setenv("CANARY_BAD", "not-the-password", 1);
    unsetenv("CANARY_UNSET");
    pair_start(&p, 0);
    harness_open(&h);
    redis_check(&c, "badpw", p.addr, NULL, "CANARY_BAD");
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "canary_auth_failed"));
    cr_assert(strstr(g.r.message, "refused the password") != NULL, "%s", g.r.message);
    cr_assert(strstr(g.r.message, "not-the-password") == NULL, "no secret in messages");
    cr_assert(eq(i64, fact(&g, "acked_seq"), -1));
    nines_check_clear(&c);
    redis_check(&c, "nopw", p.addr, NULL, "CANARY_UNSET");
    run_check(&h, &c, &g);
    cr_assert(eq(str, g.r.reason, "canary_auth_failed"));
    cr_assert(strstr(g.r.message, "CANARY_UNSET is not set") != NULL, "%s", g.r.message);
    nines_check_clear(&c);
    /* no secret at all: the server says NOAUTH */
    redis_check(&c, "noauth", p.addr, NULL, "CANARY_BAD");
    free(c.redis_canary.secret_env);
    c.redis_canary.secret_env = NULL;
    run_check(&h, &c, &g);
    cr_assert(eq(str, g.r.reason, "canary_auth_failed"), "%s", g.r.message);
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    pair_stop(&p);
}

Test(redis_canary, a_primary_that_never_answers_is_a_write_timeout)
{
    struct pair p;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    setenv("CANARY_PW", PW, 1);
    pair_start(&p, 0);
    harness_open(&h);
    redis_check(&c, "frozen", p.addr, NULL, "CANARY_PW");
    c.timeout_ms = 400;
    cr_assert(eq(int, proc_signal(p.primary.pid, SIGSTOP), 0));
    run_check(&h, &c, &g);
    cr_assert(eq(int, proc_signal(p.primary.pid, SIGCONT), 0));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "canary_write_timeout"));
    cr_assert(ge(i64, g.r.total_us, 390000));
    cr_assert(lt(i64, g.r.total_us, 1500000));
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    pair_stop(&p);
}

Test(redis_canary, closing_the_env_cancels_a_run_in_flight)
{
    struct pair p;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    setenv("CANARY_PW", PW, 1);
    pair_start(&p, 0);
    harness_open(&h);
    redis_check(&c, "cancel", p.addr, NULL, "CANARY_PW");
    cr_assert(eq(int, proc_signal(p.primary.pid, SIGSTOP), 0));
    cr_assert(eq(int, check_start(&h.env, &c, keep_result, &g), 0));
    uv_run(&h.loop, UV_RUN_NOWAIT);
    harness_close(&h);
    cr_assert(eq(int, proc_signal(p.primary.pid, SIGCONT), 0));
    cr_assert(eq(int, g.done, 1));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    nines_check_clear(&c);
    pair_stop(&p);
}

Test(redis_canary, bad_options_are_refused_at_start)
{
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    harness_open(&h);
    redis_check(&c, "bad", "unix:///tmp/x.sock", NULL, "X");
    cr_assert(eq(int, check_start(&h.env, &c, keep_result, &g), NINES_EINVAL));
    nines_check_clear(&c);
    redis_check(&c, "bad", "redis://127.0.0.1:99999", NULL, "X");
    cr_assert(eq(int, check_start(&h.env, &c, keep_result, &g), NINES_EINVAL));
    nines_check_clear(&c);
    cr_assert(eq(int, g.done, 0));
    harness_close(&h);
}

/* ---- HTTP canary against canaryapp ------------------------------------------ */

struct app {
    pid_t pid;
    int port;
    char dir[256];
    char url[128];
};

static int port_file_ready(void *arg)
{
    struct app *a = arg;
    char path[300];
    char *text;

    snprintf(path, sizeof(path), "%s/port", a->dir);
    text = test_read_file(path);
    if (text)
        a->port = atoi(text);
    free(text);
    return a->port > 0;
}

static void app_start(struct app *a)
{
    char path[300], log[300];
    const char *argv[] = { NINES_FIXTURE_DIR "/canaryapp", "--port-file", path, NULL };

    memset(a, 0, sizeof(*a));
    cr_assert(eq(int, test_tmpdir(a->dir, sizeof(a->dir)), 0));
    snprintf(path, sizeof(path), "%s/port", a->dir);
    snprintf(log, sizeof(log), "%s/canaryapp.log", a->dir);
    a->pid = proc_spawn(argv, log);
    cr_assert(gt(int, a->pid, 0));
    cr_assert(eq(int, test_wait_until(port_file_ready, a, 5000), 0));
    snprintf(a->url, sizeof(a->url), "http://127.0.0.1:%d/canary", a->port);
}

static void app_stop(struct app *a)
{
    proc_stop(a->pid, 2000);
    test_rmtree(a->dir);
}

/* A blocking GET to the app's control paths. */
static void app_control(const struct app *a, const char *path)
{
    char url[300];
    CURL *e = curl_easy_init();
    long code = 0;
    FILE *sink = fopen("/dev/null", "w");

    cr_assert(e != NULL && sink != NULL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", a->port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    cr_assert(eq(int, curl_easy_perform(e), CURLE_OK));
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    cr_assert(eq(long, code, 200));
    curl_easy_cleanup(e);
    fclose(sink);
}

static void http_check(struct nines_check *c, const char *id, const char *url)
{
    memset(c, 0, sizeof(*c));
    nines_check_defaults(c);
    c->id = strdup(id);
    c->kind = NINES_KIND_HTTP_CANARY;
    c->timeout_ms = 2000;
    c->http_canary.write_url = strdup(url);
}

TestSuite(http_canary, .timeout = 60);

Test(http_canary, writes_read_back_and_lost_writes_show)
{
    struct app a;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    app_start(&a);
    harness_open(&h);
    http_check(&c, "orders-app", a.url);
    c.http_canary.read_url = strdup(a.url);
    for (int i = 1; i <= 3; i++) {
        run_check(&h, &c, &g);
        cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "run %d: %s", i, g.r.message);
        cr_assert(eq(i64, fact(&g, "acked_seq"), i));
        cr_assert(eq(i64, fact(&g, "read_seq"), i));
        cr_assert(eq(i64, fact(&g, "read_ts"), fact(&g, "acked_ts")));
        cr_assert(eq(i64, fact(&g, "replica_seq"), -1));
        cr_assert(eq(i64, fact(&g, "lag_ms"), 0));
    }
    /* a failover that lost the newest two writes, and the app still down */
    app_control(&a, "/control/lose?n=2");
    app_control(&a, "/control/fail_writes?n=1");
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "canary_write_failed"));
    cr_assert(eq(int, g.r.code, 503));
    cr_assert(eq(i64, fact(&g, "acked_seq"), 3), "facts %s", g.r.facts);
    cr_assert(eq(i64, fact(&g, "read_seq"), 1), "facts %s", g.r.facts);
    cr_assert(lt(i64, fact(&g, "read_seq"), fact(&g, "acked_seq")));
    cr_assert(ge(i64, fact(&g, "lag_ms"), 0));
    /* back: the sequence goes on from the newest acknowledged */
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(i64, fact(&g, "acked_seq"), 4)); /* the refused 4 was never acknowledged */
    cr_assert(eq(i64, fact(&g, "read_seq"), 4));
    harness_close(&h);
    /* a new probe continues from what the app holds */
    harness_open(&h);
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(i64, fact(&g, "acked_seq"), 5));
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    app_stop(&a);
}

Test(http_canary, post_with_a_template_and_regexes)
{
    struct app a;
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };

    app_start(&a);
    harness_open(&h);
    http_check(&c, "regex", a.url);
    c.http_canary.method = strdup("POST");
    c.http_canary.body = strdup("token seq={seq} at ts={ts};");
    c.http_canary.seq_regex = strdup("seq=([0-9]+)");
    c.http_canary.ts_regex = strdup("ts=([0-9]+)");
    run_check(&h, &c, &g);
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(i64, fact(&g, "acked_seq"), 2));
    cr_assert(eq(i64, fact(&g, "read_seq"), 2));
    cr_assert(eq(i64, fact(&g, "read_ts"), fact(&g, "acked_ts")));
    nines_check_clear(&c);
    /* the JSON path finds nothing in that text */
    http_check(&c, "regex", a.url);
    c.http_canary.seq_path = strdup("data.seq");
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "canary_read_failed"));
    cr_assert(strstr(g.r.message, "'data.seq'") != NULL, "%s", g.r.message);
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
    app_stop(&a);
}

Test(http_canary, unreachable_app_fails_to_read_before_writing)
{
    struct harness h;
    struct nines_check c;
    struct got g = { 0 };
    char url[64];
    int port = test_unused_port();

    cr_assert(gt(int, port, 0));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/canary", port);
    harness_open(&h);
    http_check(&c, "down", url);
    run_check(&h, &c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "canary_read_failed"));
    cr_assert(strstr(g.r.message, "nothing written") != NULL, "%s", g.r.message);
    cr_assert(eq(i64, fact(&g, "acked_seq"), -1));
    got_clear(&g);
    nines_check_clear(&c);
    harness_close(&h);
}

/* ---- RESP decoding ----------------------------------------------------------- */

struct resp_case {
    char in[96];
    int want; /* bytes taken, 0 incomplete, -1 protocol error */
    int type;
    char str[32];
};

Test(resp, replies_and_malformed_input)
{
    static const struct resp_case cases[] = {
        { "+OK\r\n", 5, RESP_STATUS, "OK" },
        { "-WRONGPASS invalid\r\n", 20, RESP_ERROR, "WRONGPASS invalid" },
        { ":42\r\n", 5, RESP_INT, "" },
        { "$5\r\n3:100\r\n", 11, RESP_BULK, "3:100" },
        { "$-1\r\n", 5, RESP_NIL, "" },
        { "$5\r\n3:1", 0, 0, "" },
        { "+OK\r", 0, 0, "" },
        { "+OK", 0, 0, "" },
        { "$5\r\n3:100XX", -1, 0, "" },
        { "$-2\r\n", -1, 0, "" },
        { "$x\r\n", -1, 0, "" },
        { ":1a\r\n", -1, 0, "" },
        { "*1\r\n$1\r\na\r\n", -1, 0, "" },
        { "?\r\n", -1, 0, "" },
        { "+O\nK\r\n", -1, 0, "" },
        { "$99999\r\n", -1, 0, "" },
        { "\r\n", -1, 0, "" },
    };
    struct resp_reply r;
    const char *why = NULL;
    char big[RESP_STR_MAX + 16];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = resp_parse(cases[i].in, strlen(cases[i].in), &r, &why);

        cr_expect(eq(int, n < 0 ? -1 : n, cases[i].want), "case %zu", i);
        if (n > 0) {
            cr_expect(eq(int, (int)r.type, cases[i].type), "case %zu", i);
            cr_expect(eq(str, r.str, (char *)cases[i].str), "case %zu", i);
        }
    }
    cr_assert(eq(int, resp_parse(":42\r\n", 5, &r, &why), 5));
    cr_assert(eq(i64, r.integer, 42));
    /* a status line longer than the bound is refused, not buffered */
    memset(big, 'a', sizeof(big));
    big[0] = '+';
    cr_assert(eq(int, resp_parse(big, sizeof(big), &r, &why), NINES_EPROTO));
    cr_assert(why != NULL);
}

Test(resp, commands_are_bulk_arrays_and_bounded)
{
    const char *argv[] = { "SET", "k", "1:2" };
    char out[64];

    cr_assert(eq(int, resp_format(out, sizeof(out), 3, argv), 29));
    cr_assert(eq(str, out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n1:2\r\n"));
    cr_assert(eq(int, resp_format(out, 20, 3, argv), NINES_EINVAL));
    cr_assert(eq(int, resp_format(out, sizeof(out), 0, argv), NINES_EINVAL));
}

Test(canary, value_format)
{
    int64_t seq, ts;

    cr_assert(eq(int, canary_value_parse("12:1700000000000", 16, &seq, &ts), 0));
    cr_assert(eq(i64, seq, 12));
    cr_assert(eq(i64, ts, 1700000000000));
    cr_assert(eq(int, canary_value_parse("12", 2, &seq, &ts), -1));
    cr_assert(eq(int, canary_value_parse(":5", 2, &seq, &ts), -1));
    cr_assert(eq(int, canary_value_parse("1:-5", 4, &seq, &ts), -1));
    cr_assert(eq(int, canary_value_parse("1:5 ", 4, &seq, &ts), -1));
}

/* ---- configuration and catalogue ------------------------------------------- */

static void load_yaml(const char *yaml, struct nines_config **cfg, struct nines_errlist *errs,
                      char *dir, size_t dlen)
{
    char path[300];

    cr_assert(eq(int, test_tmpdir(dir, dlen), 0));
    snprintf(path, sizeof(path), "%s/nines.yaml", dir);
    cr_assert(eq(int, test_write_file(path, yaml), 0));
    memset(errs, 0, sizeof(*errs));
    *cfg = NULL;
    nines_config_load(path, cfg, errs);
}

Test(canary_config, good_checks_load_and_survive_the_catalogue)
{
    struct nines_config *cfg;
    struct nines_errlist errs;
    struct nines_check *back = NULL;
    size_t nback = 0;
    struct nines_err err;
    char dir[256], *json;

    load_yaml("checks:\n"
              "  - id: orders-db-canary\n"
              "    kind: redis_canary\n"
              "    address: \"10.0.0.5:6379\"\n"
              "    replica: \"redis://10.0.0.6:6379/2\"\n"
              "    secret_env: ORDERS_REDIS_PASSWORD\n"
              "  - id: orders-app-canary\n"
              "    kind: http_canary\n"
              "    write_url: \"https://app.example/canary\"\n"
              "    body: '{\"seq\": {seq}, \"ts\": {ts}}'\n"
              "    read_url: \"https://replica.example/canary\"\n"
              "    seq_path: data.seq\n"
              "    ts_regex: 'ts=([0-9]+)'\n",
              &cfg, &errs, dir, sizeof(dir));
    cr_assert(eq(sz, errs.count, 0), "%s", errs.count ? errs.item[0].msg : "");
    cr_assert(cfg != NULL);
    cr_assert(eq(int, cfg->checks[0].kind, NINES_KIND_REDIS_CANARY));
    cr_assert(eq(str, cfg->checks[0].redis_canary.replica, "redis://10.0.0.6:6379/2"));
    cr_assert(eq(int, cfg->checks[1].kind, NINES_KIND_HTTP_CANARY));
    cr_assert(eq(str, cfg->checks[1].http_canary.method, "PUT"));
    cr_assert(eq(int, cfg->checks[1].http_canary.verify_tls, 1));
    json = nines_catalogue_encode(cfg->checks, cfg->checks_count);
    cr_assert(json != NULL);
    memset(&err, 0, sizeof(err));
    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &back, &nback, &err), 0),
              "%s", err.msg);
    cr_assert(eq(sz, nback, 2));
    cr_assert(nines_check_equal(&back[0], &cfg->checks[0]));
    cr_assert(nines_check_equal(&back[1], &cfg->checks[1]));
    cr_assert(eq(str, back[1].http_canary.ts_regex, "ts=([0-9]+)"));
    free(json);
    nines_checks_free(back, nback);
    nines_config_free(cfg);
    test_rmtree(dir);
}

Test(canary_config, bad_options_point_at_file_line_column)
{
    static const char *const want[] = {
        "4:14: check 'c1': 'address' must not hold a user or password",
        "5:14: check 'c1': 'replica' must be a TCP address",
        "7:18: check 'c1': 'secret_env' and 'secret_file' exclude each other",
        "10:13: check 'c2': 'method' must be one of",
        "11:15: check 'c2': 'seq_path' must be a dotted JSON path",
        "12:16: check 'c2': 'seq_path' and 'seq_regex' exclude each other",
        "13:15: check 'c2': 'read_url' must start with http:// or https://",
        "8:5: check 'c2' is missing required field 'write_url'",
    };
    struct nines_config *cfg;
    struct nines_errlist errs;
    char dir[256], msg[700], at[300];

    load_yaml("checks:\n"
              "  - id: c1\n"
              "    kind: redis_canary\n"
              "    address: \"redis://:pw@10.0.0.5:6379\"\n"
              "    replica: \"unix:///run/redis.sock\"\n"
              "    secret_env: PW\n"
              "    secret_file: /etc/pw\n"
              "  - id: c2\n"
              "    kind: http_canary\n"
              "    method: GET\n"
              "    seq_path: \"a == 1\"\n"
              "    seq_regex: \"x([0-9]+)\"\n"
              "    read_url: ftp://x/\n",
              &cfg, &errs, dir, sizeof(dir));
    cr_assert(cfg == NULL);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int found = 0;

        for (size_t j = 0; j < errs.count && !found; j++) {
            nines_err_format(&errs.item[j], msg, sizeof(msg));
            snprintf(at, sizeof(at), "%s/nines.yaml:", dir);
            found = strncmp(msg, at, strlen(at)) == 0
                    && strncmp(msg + strlen(at), want[i], strlen(want[i])) == 0;
        }
        cr_expect(found, "expected: %s", want[i]);
    }
    test_rmtree(dir);
}

Test(canary_secret, an_over_long_secret_is_refused_naming_its_source)
{
    char big[CANARY_SECRET_MAX + 1], buf[CANARY_SECRET_MAX], why[200];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    setenv("CANARY_TOO_LONG", big, 1);
    cr_assert(eq(int, canary_secret_read("CANARY_TOO_LONG", NULL, buf, sizeof(buf), why,
                                         sizeof(why)), -1));
    cr_expect(eq(str, why, "secret unavailable: environment variable CANARY_TOO_LONG is longer "
                           "than 255 bytes"));
    cr_expect(eq(str, buf, ""));
    big[sizeof(big) - 2] = '\0';               /* 255 bytes: fits */
    setenv("CANARY_TOO_LONG", big, 1);
    cr_assert(eq(int, canary_secret_read("CANARY_TOO_LONG", NULL, buf, sizeof(buf), why,
                                         sizeof(why)), 0));
    cr_expect(eq(sz, strlen(buf), CANARY_SECRET_MAX - 1));
    cr_assert(eq(int, canary_secret_read(NULL, NULL, buf, sizeof(buf), why, sizeof(why)), 1));
}
