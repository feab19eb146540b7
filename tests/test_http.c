/*
 * HTTP check engine: check_start driven for real against the httpfix fixture
 * on 127.0.0.1, on a fresh libuv loop per test, each test ending with
 * check_env_close, uv_run and uv_loop_close() == 0.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "curl_uv.h"
#include "http.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "testutil.h"

#define URL_LEN 256

/* What a done callback saw. */
struct got {
    int calls;
    uint64_t at_ms;             /* test_now_ms() when it ran */
    struct nines_result r;
};

/* One test's world: a loop, the check drivers, maybe the fixture server. */
struct world {
    uv_loop_t loop;
    struct check_env env;
    uint64_t started_ms;
};

static struct httpfix fix;
static int fix_running;
static char check_id[] = "web";

static void http_test_setup(void)
{
    cr_assert(eq(int, curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK));
}

/* Runs even when an assertion failed, so the fixture never outlives the test. */
static void http_test_teardown(void)
{
    if (fix_running)
        httpfix_stop(&fix);
    fix_running = 0;
    curl_global_cleanup();
}

TestSuite(http, .init = http_test_setup, .fini = http_test_teardown, .timeout = 30);

static void fix_start(void)
{
    cr_assert(eq(int, httpfix_start(&fix), 0), "the httpfix fixture did not start");
    fix_running = 1;
}

static void fix_url(char *buf, const char *path)
{
    int n = snprintf(buf, URL_LEN, "%s%s", fix.base_url, path);

    cr_assert(n > 0 && n < URL_LEN);
}

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->at_ms = test_now_ms();
    g->r = *r;
}

static void check_init(struct nines_check *c, char *url, int64_t timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->id = check_id;
    c->kind = NINES_KIND_HTTP;
    c->interval_ms = 60000;
    c->timeout_ms = timeout_ms;
    c->http.url = url;
    c->http.verify_tls = 1;
    c->http.max_body_bytes = 1 << 20;
}

static void world_init(struct world *w)
{
    cr_assert(eq(int, uv_loop_init(&w->loop), 0));
    cr_assert(eq(int, check_env_init(&w->env, &w->loop), 0));
    w->started_ms = test_now_ms();
}

static void world_start(struct world *w, const struct nines_check *c, struct got *g)
{
    cr_assert(eq(int, check_start(&w->env, c, keep_result, g), 0));
    cr_assert(eq(int, g->calls, 0), "done must never run inside check_start");
}

/* Closes the drivers and asserts nothing is left open on the loop. */
static void world_close(struct world *w)
{
    check_env_close(&w->env);
    cr_assert(eq(int, uv_run(&w->loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w->loop), 0), "a handle was left open");
}

/* Runs one check to completion on a fresh loop. */
static void run_one(const struct nines_check *c, struct got *g, uint64_t *elapsed_ms)
{
    struct world w;

    world_init(&w);
    world_start(&w, c, g);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g->calls, 1));
    if (elapsed_ms)
        *elapsed_ms = g->at_ms - w.started_ms;
    world_close(&w);
    cr_assert(eq(int, g->calls, 1), "done ran again at close");
    cr_assert(eq(str, g->r.check_id, "web"));
}

/* Every phase of a completed plain-HTTP exchange was measured, in order. */
static void assert_full_timings(const struct nines_result *r)
{
    cr_assert(ge(i64, r->dns_us, 0));
    cr_assert(ge(i64, r->connect_us, r->dns_us));
    cr_assert(ge(i64, r->ttfb_us, r->connect_us));
    cr_assert(ge(i64, r->total_us, r->ttfb_us));
    cr_assert(eq(i64, r->tls_us, -1), "plain http has no TLS time");
}

Test(http, ok_200)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    int64_t before = nines_wall_ms();

    fix_start();
    fix_url(url, "/");
    check_init(&c, url, 2000);
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.message, ""));
    cr_assert(eq(int, g.r.code, 200));
    cr_assert(ge(i64, g.r.start_ms, before));
    cr_assert(le(i64, g.r.start_ms, nines_wall_ms()));
    cr_assert(lt(i64, g.r.total_us, 2000000));
    assert_full_timings(&g.r);
    cr_assert(eq(long, httpfix_hits(&fix), 1));
}

Test(http, status_500_is_http_status_failure)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];

    fix_start();
    fix_url(url, "/status/500");
    check_init(&c, url, 2000);
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "http_status"));
    cr_assert(eq(int, g.r.code, 500));
    cr_assert(eq(str, g.r.message, "HTTP 500, expected 200-399"));
    assert_full_timings(&g.r);
}

Test(http, server_mode_switch_is_seen)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];

    fix_start();
    cr_assert(eq(int, httpfix_set_mode(&fix, "status=503"), 0));
    fix_url(url, "/");
    check_init(&c, url, 2000);
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "http_status"));
    cr_assert(eq(int, g.r.code, 503));
}

Test(http, expect_status_500_makes_500_ok)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    char expect[] = "500";

    fix_start();
    fix_url(url, "/status/500");
    check_init(&c, url, 2000);
    c.http.expect_status = expect;
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(int, g.r.code, 500));
}

Test(http, expect_status_list_rejects_200)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    char expect[] = "201-299,301,404";

    fix_start();
    fix_url(url, "/");
    check_init(&c, url, 2000);
    c.http.expect_status = expect;
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "http_status"));
    cr_assert(eq(str, g.r.message, "HTTP 200, expected 201-299,301,404"));
}

Test(http, head_method_is_ok)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    char method[] = "HEAD";

    fix_start();
    fix_url(url, "/bytes/100000");
    check_init(&c, url, 2000);
    c.http.method = method;
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(int, g.r.code, 200));
}

Test(http, closed_port_is_refused_fast)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    uint64_t elapsed;
    int port = test_unused_port();

    cr_assert(gt(int, port, 0));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    check_init(&c, url, 5000);
    run_one(&c, &g, &elapsed);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "connect_refused"));
    cr_assert(eq(int, g.r.code, 0));
    cr_assert(ne(str, g.r.message, ""));
    cr_assert(lt(u64, elapsed, 500));
    cr_assert(lt(i64, g.r.total_us, 500000));
    cr_assert(ge(i64, g.r.total_us, 0));
    cr_assert(eq(i64, g.r.connect_us, -1), "never connected");
    cr_assert(eq(i64, g.r.ttfb_us, -1));
}

/*
 * A listener with backlog 0 whose one queue slot is taken: the kernel drops
 * further SYNs, so the connect neither completes nor fails.
 */
Test(http, full_accept_queue_is_connect_timeout)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    uint64_t elapsed;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert(lfd >= 0 && cfd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(eq(int, bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0));
    cr_assert(eq(int, listen(lfd, 0), 0));
    cr_assert(eq(int, getsockname(lfd, (struct sockaddr *)&sa, &len), 0));
    cr_assert(eq(int, connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    check_init(&c, url, 300);
    run_one(&c, &g, &elapsed);
    close(cfd);
    close(lfd);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "connect_timeout"));
    cr_assert(ge(u64, elapsed, 290));
    cr_assert(le(u64, elapsed, 300 + 250));
}

Test(http, hang_times_out_at_deadline)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    uint64_t elapsed;

    fix_start();
    fix_url(url, "/hang");
    check_init(&c, url, 300);
    run_one(&c, &g, &elapsed);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "timeout"));
    cr_assert(ne(str, g.r.message, ""));
    cr_assert(ge(u64, elapsed, 290));
    cr_assert(le(u64, elapsed, 300 + 250));
    cr_assert(ge(i64, g.r.total_us, 290000));
    cr_assert(gt(i64, g.r.connect_us, 0));
    cr_assert(eq(i64, g.r.ttfb_us, -1), "no byte came back");
}

Test(http, drip_feed_ends_at_deadline)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    uint64_t elapsed;

    fix_start();
    fix_url(url, "/drip?bytes=100&interval_ms=1000");
    check_init(&c, url, 500);
    run_one(&c, &g, &elapsed);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "timeout"));
    cr_assert(ge(u64, elapsed, 490));
    cr_assert(le(u64, elapsed, 500 + 250));
}

Test(http, endless_headers_end_at_deadline)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    uint64_t elapsed;

    fix_start();
    fix_url(url, "/endless-headers");
    check_init(&c, url, 500);
    run_one(&c, &g, &elapsed);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT), "%s: %s", g.r.reason,
              g.r.message);
    cr_assert(eq(str, g.r.reason, "timeout"));
    cr_assert(le(u64, elapsed, 500 + 250));
}

Test(http, close_mid_body_is_connection_closed)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];

    fix_start();
    fix_url(url, "/close-mid");
    check_init(&c, url, 2000);
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "connection_closed"));
    cr_assert(eq(int, g.r.code, 200));
    cr_assert(ne(str, g.r.message, ""));
}

Test(http, redirect_not_followed_is_302_ok)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];

    fix_start();
    fix_url(url, "/redirect/3");
    check_init(&c, url, 2000);
    c.http.follow_redirects = 0;
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(int, g.r.code, 302));
    cr_assert(eq(long, httpfix_hits(&fix), 1));
}

Test(http, redirects_followed_to_200)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];

    fix_start();
    fix_url(url, "/redirect/3");
    check_init(&c, url, 2000);
    c.http.follow_redirects = 5;
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(int, g.r.code, 200));
    cr_assert(eq(long, httpfix_hits(&fix), 4));
    assert_full_timings(&g.r);
}

Test(http, redirect_loop_is_too_many_redirects)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];

    fix_start();
    fix_url(url, "/loop");
    check_init(&c, url, 2000);
    c.http.follow_redirects = 3;
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "too_many_redirects"));
    cr_assert(eq(long, httpfix_hits(&fix), 4), "the first request and 3 redirects");
}

static long max_rss_kib(void)
{
    struct rusage ru;

    cr_assert(eq(int, getrusage(RUSAGE_SELF, &ru), 0));
    return ru.ru_maxrss;
}

Test(http, large_body_is_read_without_buffering)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    long before;

    fix_start();
    fix_url(url, "/bytes/20000000");
    check_init(&c, url, 10000);
    c.http.max_body_bytes = 1000;
    before = max_rss_kib();
    run_one(&c, &g, NULL);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(int, g.r.code, 200));
    /* All 20 MB went through the process; its peak grew by far less. */
    cr_assert(lt(long, max_rss_kib() - before, 8 * 1024));
}

Test(http, hanging_check_does_not_delay_a_healthy_one)
{
    struct world w;
    struct nines_check slow;
    struct nines_check fast;
    struct got gs = { 0 };
    struct got gf = { 0 };
    char slow_url[URL_LEN];
    char fast_url[URL_LEN];

    fix_start();
    fix_url(slow_url, "/hang");
    fix_url(fast_url, "/");
    check_init(&slow, slow_url, 5000);
    check_init(&fast, fast_url, 5000);
    world_init(&w);
    world_start(&w, &slow, &gs);
    world_start(&w, &fast, &gf);
    while (gf.calls == 0)
        uv_run(&w.loop, UV_RUN_ONCE);

    cr_assert(eq(int, gf.r.outcome, NINES_OUTCOME_OK));
    cr_assert(lt(i64, gf.r.total_us, 200000));
    cr_assert(lt(u64, gf.at_ms - w.started_ms, 200));
    cr_assert(eq(int, gs.calls, 0), "the hanging check is still pending");
    world_close(&w);
    cr_assert(eq(int, gs.calls, 1));
    cr_assert(eq(str, gs.r.reason, "cancelled"));
    cr_assert(eq(int, gf.calls, 1));
}

static void close_env_cb(uv_timer_t *t)
{
    struct world *w = t->data;

    check_env_close(&w->env);
    uv_close((uv_handle_t *)t, NULL);
}

Test(http, close_with_check_in_flight_cancels_it)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    uv_timer_t t;

    fix_start();
    fix_url(url, "/hang");
    check_init(&c, url, 10000);
    world_init(&w);
    world_start(&w, &c, &g);
    cr_assert(eq(int, uv_timer_init(&w.loop, &t), 0));
    t.data = &w;
    cr_assert(eq(int, uv_timer_start(&t, close_env_cb, 100, 0), 0));
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));

    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(eq(str, g.r.check_id, "web"));
    cr_assert(lt(u64, g.at_ms - w.started_ms, 1000));
    cr_assert(ge(i64, g.r.total_us, 90000));
    cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_ESTATE));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
    cr_assert(eq(int, g.calls, 1));
}

Test(http, close_right_after_start_cancels_from_the_loop)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];

    fix_start();
    fix_url(url, "/");
    check_init(&c, url, 2000);
    world_init(&w);
    world_start(&w, &c, &g);
    check_env_close(&w.env);
    cr_assert(eq(int, g.calls, 0), "done must run from the loop, not inside close");
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
}

#define MANY 50

Test(http, fifty_concurrent_checks_all_complete)
{
    struct world w;
    struct nines_check c[MANY];
    struct got g[MANY];
    char url[MANY][URL_LEN];

    memset(g, 0, sizeof(g));
    fix_start();
    world_init(&w);
    for (int i = 0; i < MANY; i++) {
        fix_url(url[i], i % 2 ? "/delay/50" : "/");
        check_init(&c[i], url[i], 5000);
        world_start(&w, &c[i], &g[i]);
    }
    uv_run(&w.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < MANY; i++) {
        cr_assert(eq(int, g[i].calls, 1), "check %d", i);
        cr_assert(eq(int, g[i].r.outcome, NINES_OUTCOME_OK), "check %d: %s", i,
                  g[i].r.message);
        cr_assert(eq(int, g[i].r.code, 200));
    }
    cr_assert(eq(long, httpfix_hits(&fix), MANY));
    world_close(&w);
}

Test(http, bad_options_are_refused_without_callback)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    char url[] = "http://127.0.0.1:9/";
    char empty[] = "";
    char bad_expect[] = "200-";
    char bad_method[] = "GET /x";

    world_init(&w);
    check_init(&c, url, 1000);
    c.http.expect_status = bad_expect;
    cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, url, 1000);
    c.http.method = bad_method;
    cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, empty, 1000);
    cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, url, 0);
    cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, url, 1000);
    c.http.follow_redirects = -1;
    cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, url, 1000);
    c.kind = (enum nines_check_kind)99;
    cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    world_close(&w);
    cr_assert(eq(int, g.calls, 0));
}

struct expect_case {
    const char *spec;
    int ok;
    int in[4];          /* codes in the set (0 ends) */
    int out[4];         /* codes not in it (0 ends) */
};

/* Run in-process (a plain table, not a parameterized test), so literals are fine. */
static const struct expect_case expect_cases[] = {
    { "200", 1, { 200 }, { 199, 201 } },
    { "200-399", 1, { 200, 302, 399 }, { 199, 400, 500 } },
    { "200-299,301,404", 1, { 200, 299, 301, 404 }, { 300, 302, 403, 405 } },
    { " 200 - 204 , 500 ", 1, { 204, 500 }, { 205, 499 } },
    { "100-599", 1, { 100, 599 }, { 99, 600 } },
    { "301,301", 1, { 301 }, { 302 } },
    { "", 0, { 0 }, { 0 } },
    { " ", 0, { 0 }, { 0 } },
    { ",", 0, { 0 }, { 0 } },
    { "200,", 0, { 0 }, { 0 } },
    { ",200", 0, { 0 }, { 0 } },
    { "200,,300", 0, { 0 }, { 0 } },
    { "200-", 0, { 0 }, { 0 } },
    { "-200", 0, { 0 }, { 0 } },
    { "200--300", 0, { 0 }, { 0 } },
    { "299-200", 0, { 0 }, { 0 } },
    { "abc", 0, { 0 }, { 0 } },
    { "2xx", 0, { 0 }, { 0 } },
    { "20", 0, { 0 }, { 0 } },
    { "2000", 0, { 0 }, { 0 } },
    { "099", 0, { 0 }, { 0 } },
    { "600", 0, { 0 }, { 0 } },
    { "200 300", 0, { 0 }, { 0 } },
    { "200;300", 0, { 0 }, { 0 } },
    { "+200", 0, { 0 }, { 0 } },
    { "200-300-400", 0, { 0 }, { 0 } },
    /* 17 items: one more than CHECK_HTTP_EXPECT_MAX */
    { "200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216", 0, { 0 },
      { 0 } },
};

Test(http, expect_status_parser_table)
{
    struct check_http_expect e;
    char sixteen[] = "200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215";
    char too_long[CHECK_HTTP_EXPECT_TEXT + 8];

    for (size_t i = 0; i < sizeof(expect_cases) / sizeof(expect_cases[0]); i++) {
        const struct expect_case *t = &expect_cases[i];
        int rc = check_http_expect_parse(t->spec, &e);

        cr_expect(eq(int, rc, t->ok ? 0 : NINES_EINVAL), "spec \"%s\"", t->spec);
        if (rc != 0)
            continue;
        cr_expect(eq(str, e.text, (char *)t->spec));
        for (int j = 0; j < 4 && t->in[j]; j++)
            cr_expect(eq(int, check_http_expect_match(&e, t->in[j]), 1), "%d in \"%s\"", t->in[j],
                      t->spec);
        for (int j = 0; j < 4 && t->out[j]; j++)
            cr_expect(eq(int, check_http_expect_match(&e, t->out[j]), 0), "%d not in \"%s\"",
                      t->out[j], t->spec);
    }
    cr_assert(eq(int, check_http_expect_parse(sixteen, &e), 0));
    cr_assert(eq(int, e.count, CHECK_HTTP_EXPECT_MAX));
    memset(too_long, ' ', sizeof(too_long) - 5);
    memcpy(too_long + sizeof(too_long) - 5, "200", 4);
    cr_assert(eq(int, check_http_expect_parse(too_long, &e), NINES_EINVAL));
    cr_assert(eq(int, check_http_expect_parse(NULL, &e), NINES_EINVAL));
}

struct classify_case {
    CURLcode rc;
    long verify;
    int connected;
    enum nines_outcome outcome;
    const char *reason;
};

static const struct classify_case classify_cases[] = {
    { CURLE_OK, 0, 1, NINES_OUTCOME_OK, "" },
    { CURLE_COULDNT_RESOLVE_HOST, 0, 0, NINES_OUTCOME_FAIL, "dns_failure" },
    { CURLE_COULDNT_CONNECT, 0, 0, NINES_OUTCOME_FAIL, "connect_refused" },
    { CURLE_OPERATION_TIMEDOUT, 0, 0, NINES_OUTCOME_TIMEOUT, "connect_timeout" },
    { CURLE_OPERATION_TIMEDOUT, 0, 1, NINES_OUTCOME_TIMEOUT, "timeout" },
    { CURLE_PEER_FAILED_VERIFICATION, 10, 1, NINES_OUTCOME_FAIL, "tls_cert_expired" },
    { CURLE_PEER_FAILED_VERIFICATION, 62, 1, NINES_OUTCOME_FAIL, "tls_cert_hostname" },
    { CURLE_PEER_FAILED_VERIFICATION, 1, 1, NINES_OUTCOME_FAIL, "tls_cert_hostname" },
    { CURLE_PEER_FAILED_VERIFICATION, 18, 1, NINES_OUTCOME_FAIL, "tls_cert_untrusted" },
    { CURLE_PEER_FAILED_VERIFICATION, 20, 1, NINES_OUTCOME_FAIL, "tls_cert_untrusted" },
    { CURLE_SSL_CONNECT_ERROR, 20, 1, NINES_OUTCOME_FAIL, "tls_handshake" },
    { CURLE_TOO_MANY_REDIRECTS, 0, 1, NINES_OUTCOME_FAIL, "too_many_redirects" },
    { CURLE_GOT_NOTHING, 0, 1, NINES_OUTCOME_FAIL, "connection_closed" },
    { CURLE_RECV_ERROR, 0, 1, NINES_OUTCOME_FAIL, "connection_closed" },
    { CURLE_PARTIAL_FILE, 0, 1, NINES_OUTCOME_FAIL, "connection_closed" },
    { CURL_UV_ABORTED, 0, 1, NINES_OUTCOME_ERROR, "cancelled" },
    { CURLE_URL_MALFORMAT, 0, 0, NINES_OUTCOME_ERROR, "error" },
    { CURLE_UNSUPPORTED_PROTOCOL, 0, 0, NINES_OUTCOME_ERROR, "error" },
};

Test(http, classify_table)
{
    for (size_t i = 0; i < sizeof(classify_cases) / sizeof(classify_cases[0]); i++) {
        const struct classify_case *t = &classify_cases[i];
        const char *reason = NULL;
        enum nines_outcome o = check_http_classify(t->rc, t->verify, t->connected, &reason);

        cr_expect(eq(int, o, t->outcome), "CURLcode %d", t->rc);
        cr_expect(eq(str, (char *)reason, (char *)t->reason), "CURLcode %d", t->rc);
    }
}
