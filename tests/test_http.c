/*
 * HTTP check engine: check_start driven for real against the httpfix fixture
 * on 127.0.0.1, on a fresh libuv loop per test, each test ending with
 * check_env_close, uv_run and uv_loop_close() == 0.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netdb.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

#define URL_LEN 2048

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

/* More sockets at once than curl_uv's first per-fd table (64 entries):
 * the table grows while descriptors are in the epoll set. */
#define MANY 200

Test(http, two_hundred_concurrent_checks_all_complete)
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

/*
 * A plain server for the socket-reuse test: answers RUNS requests, taking
 * them in turn from its IPv4 and IPv6 listeners, and records each client's
 * port and how its connection ended (a reset, or a FIN).
 */
#define RUNS 20

struct ender {
    int lfd[2];                 /* 127.0.0.1, ::1 */
    int port[2];
    int peer_port[RUNS];
    int reset[RUNS];            /* 1: ECONNRESET, 0: end of file, -1: nothing came */
    int served;
};

static int ender_listen(int family, int *port)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_storage got;
    socklen_t len = sizeof(got);
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert(ge(int, fd, 0));
    if (family == AF_INET6)
        cr_assert(eq(int, bind(fd, (struct sockaddr *)&a6, sizeof(a6)), 0));
    else
        cr_assert(eq(int, bind(fd, (struct sockaddr *)&a4, sizeof(a4)), 0));
    cr_assert(eq(int, listen(fd, 16), 0));
    /* accept and the reads below give up after 5 s: the thread always ends */
    cr_assert(eq(int, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0));
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&got, &len), 0));
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                     : ((struct sockaddr_in *)&got)->sin_port);
    return fd;
}

static void *ender_serve(void *arg)
{
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct ender *e = arg;

    for (int i = 0; i < RUNS; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        char req[4096];
        size_t have = 0;
        ssize_t n;
        int conn = accept(e->lfd[i % 2], (struct sockaddr *)&peer, &plen);

        e->reset[i] = -1;
        if (conn < 0)
            break;
        e->peer_port[i] = ntohs(peer.ss_family == AF_INET6
                                    ? ((struct sockaddr_in6 *)&peer)->sin6_port
                                    : ((struct sockaddr_in *)&peer)->sin_port);
        while (have < sizeof(req) - 1 && (n = read(conn, req + have, sizeof(req) - 1 - have)) > 0) {
            have += (size_t)n;
            req[have] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        if (write(conn, answer, sizeof(answer) - 1) == (ssize_t)(sizeof(answer) - 1)) {
            n = read(conn, req, 1);      /* how the client ends the connection */
            e->reset[i] = n < 0 && errno == ECONNRESET ? 1 : n == 0 ? 0 : -1;
        }
        close(conn);
        __atomic_store_n(&e->served, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

struct ender_wait {
    struct ender *e;
    int runs;
};

static int ender_served(void *arg)
{
    struct ender_wait *w = arg;

    return __atomic_load_n(&w->e->served, __ATOMIC_ACQUIRE) >= w->runs;
}

/*
 * Runs one after another on one env, alternating IPv4 and IPv6: the sockets
 * are kept and connected again (curl_uv_easy_reuse_sockets), yet each run is a
 * fresh connection (its own source port, accepted anew) that ends with a reset,
 * an IPv6 socket never carries an IPv4 connection, and the descriptors stop
 * growing once each family has its socket. With graceful_close the runs end
 * with a FIN instead.
 */
static void runs_on_one_env(int graceful)
{
    struct ender e = {0};
    unsigned char before[TEST_FD_SCAN];
    char url[2][URL_LEN];
    struct nines_check c[2];
    struct world w;
    pthread_t th;
    int opened = 0;

    e.lfd[0] = ender_listen(AF_INET, &e.port[0]);
    e.lfd[1] = ender_listen(AF_INET6, &e.port[1]);
    snprintf(url[0], URL_LEN, "http://127.0.0.1:%d/", e.port[0]);
    snprintf(url[1], URL_LEN, "http://[::1]:%d/", e.port[1]);
    check_init(&c[0], url[0], 5000);
    check_init(&c[1], url[1], 5000);
    cr_assert(eq(int, pthread_create(&th, NULL, ender_serve, &e), 0));
    test_open_fds(before);
    world_init(&w);
    w.env.graceful_close = graceful;
    for (int i = 0; i < RUNS; i++) {
        struct got g = {0};

        world_start(&w, &c[i % 2], &g);
        uv_run(&w.loop, UV_RUN_DEFAULT);
        cr_assert(eq(int, g.calls, 1));
        cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "run %d: %s %s", i, g.r.reason,
                  g.r.message);
        cr_expect(gt(i64, g.r.connect_us, 0), "run %d: no connect measured", i);
        /* the server thread's end of the connection is closed before counting */
        cr_assert(eq(int, test_wait_until(ender_served, &(struct ender_wait){&e, i + 1}, 5000), 0),
                  "run %d: the server did not finish", i);
        if (i == 1)
            opened = test_fds_opened_since(before);
        else if (i > 1 && !graceful)
            cr_expect(le(int, test_fds_opened_since(before), opened),
                      "run %d: more descriptors than the %d after run 1", i, opened);
    }
    world_close(&w);
    cr_assert(eq(int, pthread_join(th, NULL), 0));
    cr_expect(eq(int, test_new_fd_since(before), -1), "a socket outlived the env");
    cr_assert(eq(int, __atomic_load_n(&e.served, __ATOMIC_ACQUIRE), RUNS));
    for (int i = 0; i < RUNS; i++) {
        cr_expect(eq(int, e.reset[i], graceful ? 0 : 1), "run %d ended with %s", i,
                  e.reset[i] == 1 ? "a reset" : e.reset[i] == 0 ? "a FIN" : "nothing");
        for (int j = i % 2; j < i; j += 2)
            cr_expect(ne(int, e.peer_port[j], e.peer_port[i]), "runs %d and %d share a port",
                      j, i);
    }
    close(e.lfd[0]);
    close(e.lfd[1]);
}

Test(http, runs_on_one_env_reuse_sockets_yet_each_connection_is_fresh_and_reset)
{
    runs_on_one_env(0);
}

Test(http, graceful_close_ends_each_connection_with_a_fin)
{
    runs_on_one_env(1);
}

/*
 * Kept sockets carry on whatever their last run ended in: on one env, runs
 * refused, timed out after connecting (a socket curl had in use, reset and
 * kept) and answered, in turn, each get their own outcome, three times over.
 */
Test(http, kept_sockets_carry_runs_after_refused_and_timed_out_ones)
{
    struct nines_check ok, refused, hang;
    char ok_url[URL_LEN], hang_url[URL_LEN], refused_url[URL_LEN];
    int port = test_unused_port();
    struct world w;

    cr_assert(gt(int, port, 0));
    fix_start();
    fix_url(ok_url, "/");
    fix_url(hang_url, "/hang");
    snprintf(refused_url, sizeof(refused_url), "http://127.0.0.1:%d/", port);
    check_init(&ok, ok_url, 5000);
    check_init(&refused, refused_url, 5000);
    check_init(&hang, hang_url, 200);
    world_init(&w);
    for (int i = 0; i < 9; i++) {
        const struct nines_check *c = i % 3 == 0 ? &refused : i % 3 == 1 ? &hang : &ok;
        const char *want = i % 3 == 0 ? "connect_refused" : i % 3 == 1 ? "timeout" : "";
        struct got g = {0};

        world_start(&w, c, &g);
        uv_run(&w.loop, UV_RUN_DEFAULT);
        cr_assert(eq(int, g.calls, 1));
        cr_expect(eq(str, g.r.reason, (char *)want), "run %d: %s", i, g.r.message);
        if (i % 3 == 2) {
            cr_expect(eq(int, g.r.outcome, NINES_OUTCOME_OK), "run %d", i);
            assert_full_timings(&g.r);
        }
    }
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

/* ---- options of issue 3: request, conditions, secrets, facts, addresses ---- */

/* fix_url for "/PREFIX?body=" + text, URL-encoded. */
static void fix_url_body(char *buf, const char *prefix, const char *text)
{
    char *enc = curl_easy_escape(NULL, text, (int)strlen(text));
    int n;

    cr_assert(enc != NULL);
    n = snprintf(buf, URL_LEN, "%s%s?body=%s", fix.base_url, prefix, enc);
    curl_free(enc);
    cr_assert(n > 0 && n < URL_LEN);
}

/* The result's facts, parsed (the caller json_decrefs). */
static json_t *facts_of(const struct got *g)
{
    json_error_t err;
    json_t *f = json_loads(g->r.facts, 0, &err);
    char *again;

    cr_assert(f != NULL, "facts are not JSON: '%s' (%s)", g->r.facts, err.text);
    cr_assert(ne(int, json_is_object(f), 0));
    again = json_dumps(f, JSON_COMPACT);
    cr_assert(again != NULL);
    /* written byte for byte as jansson writes the same document */
    cr_assert(eq(str, again, (char *)g->r.facts));
    free(again);
    return f;
}

static json_int_t fact_int(json_t *facts, const char *key)
{
    json_t *v = json_object_get(facts, key);

    cr_assert(ne(int, json_is_integer(v), 0), "fact %s missing", key);
    return json_integer_value(v);
}

/* Runs c against the fixture with path; returns the result in g. */
static void run_on(struct nines_check *c, char *url, const char *path, struct got *g)
{
    fix_url(url, path);
    check_init(c, url, 2000);
    run_one(c, g, NULL);
}

Test(http, body_contains_passes_and_fails)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char yes[] = "\"status\":\"UP\"";
    char no[] = "DOWN";

    fix_start();
    fix_url_body(url, "/text", "{\"status\":\"UP\",\"n\":1}");
    check_init(&c, url, 2000);
    c.http.body_contains = yes;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);

    c.http.body_contains = no;
    run_one(&c, &g2, NULL);
    cr_assert(eq(int, g2.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g2.r.reason, "body_mismatch"));
    cr_assert(eq(str, g2.r.message, "body does not contain \"DOWN\""));
    cr_assert(eq(int, g2.r.code, 200));
}

Test(http, body_not_contains_passes_and_fails)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char absent[] = "Exception";
    char present[] = "degraded";

    fix_start();
    fix_url_body(url, "/text", "service degraded but answering");
    check_init(&c, url, 2000);
    c.http.body_not_contains = absent;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);

    c.http.body_not_contains = present;
    run_one(&c, &g2, NULL);
    cr_assert(eq(int, g2.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g2.r.reason, "body_mismatch"));
    cr_assert(eq(str, g2.r.message, "body contains \"degraded\""));
}

Test(http, body_regex_passes_and_fails)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char good[] = "^version: [0-9]+\\.[0-9]+$";
    char bad[] = "version: 2\\.";

    fix_start();
    fix_url_body(url, "/text", "version: 1.42");
    check_init(&c, url, 2000);
    c.http.body_regex = good;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);

    c.http.body_regex = bad;
    run_one(&c, &g2, NULL);
    cr_assert(eq(int, g2.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g2.r.reason, "body_mismatch"));
    cr_assert(eq(str, g2.r.message, "body does not match /version: 2\\./"));
}

Test(http, json_condition_true_false_and_invalid)
{
    struct nines_check c;
    struct got ok = { 0 };
    struct got bad = { 0 };
    struct got nojson = { 0 };
    struct got missing = { 0 };
    char url[URL_LEN];
    char url2[URL_LEN];
    char cond_ok[] = "checks.db.ok == true";
    char cond_bad[] = "status == \"UP\"";
    char cond_missing[] = "checks.cache.ok == true";

    fix_start();
    fix_url_body(url, "/json", "{\"status\":\"DOWN\",\"checks\":{\"db\":{\"ok\":true}}}");
    check_init(&c, url, 2000);
    c.http.json_condition = cond_ok;
    run_one(&c, &ok, NULL);
    cr_assert(eq(int, ok.r.outcome, NINES_OUTCOME_OK), "%s", ok.r.message);

    c.http.json_condition = cond_bad;
    run_one(&c, &bad, NULL);
    cr_assert(eq(int, bad.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, bad.r.reason, "json_condition"));
    cr_assert(eq(str, bad.r.message,
                 "json_condition status == \"UP\" is false: status is \"DOWN\""));

    c.http.json_condition = cond_missing;
    run_one(&c, &missing, NULL);
    cr_assert(eq(str, missing.r.reason, "json_condition"));
    cr_assert(ne(ptr, strstr(missing.r.message, "checks.cache.ok not found"), NULL), "%s",
              missing.r.message);

    fix_url_body(url2, "/text", "<html>oops</html>");
    c.http.url = url2;
    c.http.json_condition = cond_ok;
    run_one(&c, &nojson, NULL);
    cr_assert(eq(int, nojson.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, nojson.r.reason, "json_invalid"));
    cr_assert(eq(int, strncmp(nojson.r.message, "body is not JSON: ", 18), 0), "%s",
              nojson.r.message);
}

Test(http, header_conditions)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got missing = { 0 };
    struct got differs = { 0 };
    struct got nomatch = { 0 };
    char url[URL_LEN];
    char n1[] = "cache-control", n2[] = "X-Version", n3[] = "Content-Type", n4[] = "X-Absent";
    char v1[] = "no-store", v2[] = "^2\\.[0-9]+$", v3[] = "^application/json";
    struct nines_header_cond conds[3] = {
        { n1, NINES_HDR_EQUALS, v1 },
        { n2, NINES_HDR_REGEX, v2 },
        { n3, NINES_HDR_PRESENT, NULL },
    };
    struct nines_header_cond absent = { n4, NINES_HDR_PRESENT, NULL };
    struct nines_header_cond wrong = { n1, NINES_HDR_EQUALS, v2 };
    struct nines_header_cond bad_re = { n3, NINES_HDR_REGEX, v3 };

    fix_start();
    fix_url(url, "/headers?Cache-Control=no-store&X-Version=2.17");
    check_init(&c, url, 2000);
    c.http.header_conds = conds;
    c.http.header_conds_count = 3;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);

    c.http.header_conds = &absent;
    c.http.header_conds_count = 1;
    run_one(&c, &missing, NULL);
    cr_assert(eq(int, missing.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, missing.r.reason, "header_mismatch"));
    cr_assert(eq(str, missing.r.message, "header X-Absent is missing"));

    c.http.header_conds = &wrong;
    run_one(&c, &differs, NULL);
    cr_assert(eq(str, differs.r.reason, "header_mismatch"));
    cr_assert(eq(str, differs.r.message,
                 "header cache-control is \"no-store\", expected \"^2\\.[0-9]+$\""));

    c.http.header_conds = &bad_re;
    run_one(&c, &nomatch, NULL);
    cr_assert(eq(str, nomatch.r.reason, "header_mismatch"));
    cr_assert(eq(str, nomatch.r.message,
                 "header Content-Type is \"text/plain\", expected a match of "
                 "/^application/json/"));
}

Test(http, request_headers_host_override_and_body_reach_the_server)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    char n1[] = "X-Probe", v1[] = "nines", n2[] = "Host", v2[] = "status.example";
    char n3[] = "X-Empty", v3[] = "";
    struct nines_kv hdrs[3] = { { n1, v1 }, { n2, v2 }, { n3, v3 } };
    char method[] = "PATCH";
    char body[] = "{\"drill\":42}";
    char want[] = "PATCH /echo HTTP/1.1\r\nHost: status.example\r\n";
    char want_body[] = "\r\n\r\n{\"drill\":42}";
    char expect[] = "599";
    json_t *facts;

    fix_start();
    fix_url(url, "/echo");
    check_init(&c, url, 2000);
    c.http.headers = hdrs;
    c.http.headers_count = 3;
    c.http.method = method;
    c.http.body = body;
    /* an impossible status makes the echo land in the facts */
    c.http.expect_status = expect;
    run_one(&c, &g, NULL);

    cr_assert(eq(str, g.r.reason, "http_status"));
    facts = facts_of(&g);
    {
        const char *echo = json_string_value(json_object_get(facts, "body_start"));

        cr_assert(echo != NULL);
        cr_assert(eq(int, strncmp(echo, want, strlen(want)), 0), "%s", echo);
        cr_assert(ne(ptr, strstr(echo, "X-Probe: nines\r\n"), NULL), "%s", echo);
        cr_assert(ne(ptr, strstr(echo, "X-Empty:"), NULL), "%s", echo);
        cr_assert(eq(ptr, strstr(echo, "Expect:"), NULL), "%s", echo);
        cr_assert(ne(ptr, strstr(echo, want_body), NULL), "%s", echo);
    }
    cr_assert(eq(str, (char *)json_string_value(json_object_get(facts, "status_line")),
                 "HTTP/1.1 200 OK"));
    json_decref(facts);
}

/*
 * Runs are handed easy handles that earlier runs gave back (curl_uv's pool):
 * a plain GET after a PATCH with headers and a body, on the same env, must
 * carry none of them and still make its own connection.
 */
Test(http, reused_handle_carries_nothing_of_the_previous_run)
{
    struct nines_check c;
    struct world w;
    struct got g1 = { 0 };
    struct got g2 = { 0 };
    struct got g3 = { 0 };
    char url[URL_LEN];
    char n1[] = "X-Probe", v1[] = "nines";
    struct nines_kv hdrs[1] = { { n1, v1 } };
    char method[] = "PATCH";
    char body[] = "{\"drill\":42}";
    char expect[] = "599";
    json_t *facts;
    const char *echo;

    fix_start();
    fix_url(url, "/echo");
    world_init(&w);
    check_init(&c, url, 2000);
    c.http.headers = hdrs;
    c.http.headers_count = 1;
    c.http.method = method;
    c.http.body = body;
    c.http.expect_status = expect;
    world_start(&w, &c, &g1);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g1.calls, 1));
    cr_assert(eq(str, g1.r.reason, "http_status"));

    check_init(&c, url, 2000);
    c.http.expect_status = expect;
    world_start(&w, &c, &g2);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g2.calls, 1));
    cr_assert(eq(str, g2.r.reason, "http_status"));
    assert_full_timings(&g2.r);
    facts = facts_of(&g2);
    echo = json_string_value(json_object_get(facts, "body_start"));
    cr_assert(echo != NULL);
    cr_assert(eq(int, strncmp(echo, "GET /echo HTTP/1.1\r\n", 20), 0), "%s", echo);
    cr_assert(eq(ptr, strstr(echo, "X-Probe"), NULL), "%s", echo);
    cr_assert(eq(ptr, strstr(echo, "drill"), NULL), "%s", echo);
    json_decref(facts);

    /* an ok run: facts are the body size alone */
    check_init(&c, url, 2000);
    world_start(&w, &c, &g3);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g3.calls, 1));
    cr_assert(eq(str, g3.r.reason, ""));
    assert_full_timings(&g3.r);
    facts = facts_of(&g3);
    cr_assert(eq(sz, json_object_size(facts), 1), "%s", g3.r.facts);
    cr_assert(gt(i64, (int64_t)fact_int(facts, "body_bytes"), 0), "%s", g3.r.facts);
    json_decref(facts);
    world_close(&w);
}

/* Asserts that secret appears nowhere in the result's text. */
static void assert_no_secret(const struct got *g, const char *secret)
{
    cr_assert(eq(ptr, strstr(g->r.message, secret), NULL), "message: %s", g->r.message);
    cr_assert(eq(ptr, strstr(g->r.facts, secret), NULL), "facts: %s", g->r.facts);
    cr_assert(eq(ptr, strstr(g->r.reason, secret), NULL));
}

Test(http, basic_auth_reaches_server_and_never_the_result)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char auth[] = "basic", user[] = "probe", var[] = "NINES_TEST_BASIC";
    /* base64("probe:pa55-w0rd") */
    char sent[] = "Authorization: Basic cHJvYmU6cGE1NS13MHJk";
    char expect_fail[] = "401";

    cr_assert(eq(int, setenv("NINES_TEST_BASIC", "pa55-w0rd", 1), 0));
    fix_start();
    fix_url(url, "/echo");
    check_init(&c, url, 2000);
    c.http.auth = auth;
    c.http.auth_user = user;
    c.http.secret_env = var;
    c.http.body_contains = sent;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    assert_no_secret(&g, "pa55-w0rd");

    /* failed: the echoed request goes into the facts, credentials masked */
    c.http.expect_status = expect_fail;
    run_one(&c, &g2, NULL);
    cr_assert(eq(str, g2.r.reason, "http_status"));
    cr_assert(ne(ptr, strstr(g2.r.facts, "Authorization: Basic ****"), NULL), "%s",
              g2.r.facts);
    assert_no_secret(&g2, "pa55-w0rd");
    assert_no_secret(&g2, "cHJvYmU6cGE1NS13MHJk");
}

Test(http, bearer_from_file_reaches_server_and_never_the_result)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char dir[256], path[300];
    char auth[] = "bearer";
    char sent[] = "Authorization: Bearer tok-3f9a77\r\n";
    char bearer[] = "Bearer";

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/token", dir);
    cr_assert(eq(int, test_write_file(path, "tok-3f9a77\nsecond line is ignored\n"), 0));
    fix_start();
    fix_url(url, "/echo");
    check_init(&c, url, 2000);
    c.http.auth = auth;
    c.http.secret_file = path;
    c.http.body_contains = sent;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    assert_no_secret(&g, "tok-3f9a77");

    c.http.body_contains = NULL;
    c.http.body_not_contains = bearer;
    run_one(&c, &g2, NULL);
    cr_assert(eq(str, g2.r.reason, "body_mismatch"));
    cr_assert(ne(ptr, strstr(g2.r.facts, "Bearer **********"), NULL), "%s", g2.r.facts);
    assert_no_secret(&g2, "tok-3f9a77");
    test_rmtree(dir);
}

Test(http, missing_secret_is_secret_unavailable)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char auth[] = "bearer", var[] = "NINES_TEST_NO_SUCH_VAR";
    char file[] = "/nonexistent/nines/token";

    unsetenv("NINES_TEST_NO_SUCH_VAR");
    fix_start();
    fix_url(url, "/");
    check_init(&c, url, 2000);
    c.http.auth = auth;
    c.http.secret_env = var;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "secret_unavailable"));
    cr_assert(ne(ptr, strstr(g.r.message, "NINES_TEST_NO_SUCH_VAR"), NULL), "%s",
              g.r.message);

    c.http.secret_env = NULL;
    c.http.secret_file = file;
    run_one(&c, &g2, NULL);
    cr_assert(eq(str, g2.r.reason, "secret_unavailable"));
    cr_assert(ne(ptr, strstr(g2.r.message, file), NULL), "%s", g2.r.message);
    cr_assert(eq(long, httpfix_hits(&fix), 0), "no request without its credentials");
}

/* A secret that would break the request: a line break in the variable (a
 * header injection), an empty first line in the file. No request goes out. */
Test(http, secret_with_a_line_break_or_empty_is_secret_unavailable)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN], dir[256], path[300];
    char auth[] = "bearer", var[] = "NINES_TEST_CRLF_SECRET";

    cr_assert(eq(int, setenv("NINES_TEST_CRLF_SECRET", "tok\r\nX-Injected: 1", 1), 0));
    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/token", dir);
    cr_assert(eq(int, test_write_file(path, "\nsecond line is not the secret\n"), 0));
    fix_start();
    fix_url(url, "/");
    check_init(&c, url, 2000);
    c.http.auth = auth;
    c.http.secret_env = var;
    run_one(&c, &g, NULL);
    cr_expect(eq(str, g.r.reason, "secret_unavailable"));
    cr_expect(ne(ptr, strstr(g.r.message, "NINES_TEST_CRLF_SECRET holds a line break"), NULL),
              "%s", g.r.message);
    assert_no_secret(&g, "tok");

    c.http.secret_env = NULL;
    c.http.secret_file = path;
    run_one(&c, &g2, NULL);
    cr_expect(eq(str, g2.r.reason, "secret_unavailable"));
    cr_expect(ne(ptr, strstr(g2.r.message, "has an empty first line"), NULL), "%s",
              g2.r.message);
    cr_expect(eq(long, httpfix_hits(&fix), 0), "no request without its credentials");
    unsetenv("NINES_TEST_CRLF_SECRET");
    test_rmtree(dir);
}

/* A run closes its connection: it says "Connection: close" (the server then
 * closes first), unless the check sets a Connection header itself. */
Test(http, requests_say_connection_close_unless_configured)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char want[] = "\r\nConnection: close\r\n", keep[] = "\r\nConnection: keep-alive\r\n";
    char name[] = "Connection", value[] = "keep-alive";
    struct nines_kv hdr = { name, value };

    fix_start();
    fix_url(url, "/echo");
    check_init(&c, url, 2000);
    c.http.body_contains = want;
    run_one(&c, &g, NULL);
    cr_expect(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s %s", g.r.reason, g.r.message);

    c.http.headers = &hdr;
    c.http.headers_count = 1;
    c.http.body_contains = keep;
    c.http.body_not_contains = want;
    run_one(&c, &g2, NULL);
    cr_expect(eq(int, g2.r.outcome, NINES_OUTCOME_OK), "%s %s", g2.r.reason, g2.r.message);
}

Test(http, latency_over_objective_is_ok_with_warning)
{
    struct nines_check c;
    struct got slow = { 0 };
    struct got fast = { 0 };
    char url[URL_LEN];
    long long took;

    fix_start();
    fix_url(url, "/delay/250");
    check_init(&c, url, 2000);
    c.http.latency_objective_ms = 100;
    run_one(&c, &slow, NULL);
    cr_assert(eq(int, slow.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, slow.r.reason, ""));
    cr_assert(eq(str, slow.r.warning, "latency_over_objective"));
    cr_assert(eq(int, sscanf(slow.r.message, "took %lld ms (objective 100 ms)", &took), 1),
              "%s", slow.r.message);
    /* the fixture's 250 ms timer runs on libuv's cached loop time and may
     * fire a millisecond or two early; well above the 100 ms objective */
    cr_assert(ge(int, took, 240));
    cr_assert(eq(i64, took, slow.r.total_us / 1000));

    c.http.latency_objective_ms = 1500;
    run_one(&c, &fast, NULL);
    cr_assert(eq(str, fast.r.warning, ""));
    cr_assert(eq(str, fast.r.message, ""));
}

Test(http, facts_body_bytes_always_and_body_start_on_failure_only)
{
    struct nines_check c;
    struct got ok = { 0 };
    struct got bad = { 0 };
    char url[URL_LEN];
    char expect[] = "500";
    json_t *f;

    fix_start();
    run_on(&c, url, "/bytes/5000", &ok);
    f = facts_of(&ok);
    cr_assert(eq(i64, fact_int(f, "body_bytes"), 5000));
    cr_assert(eq(ptr, json_object_get(f, "body_start"), NULL), "no body_start when ok");
    cr_assert(eq(ptr, json_object_get(f, "status_line"), NULL));
    json_decref(f);

    c.http.expect_status = expect;
    run_one(&c, &bad, NULL);
    cr_assert(eq(str, bad.r.reason, "http_status"));
    f = facts_of(&bad);
    cr_assert(eq(i64, fact_int(f, "body_bytes"), 5000));
    cr_assert(eq(sz, strlen(json_string_value(json_object_get(f, "body_start"))), 1024));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(f, "status_line")),
                 "HTTP/1.1 200 OK"));
    json_decref(f);
}

Test(http, body_start_is_sanitised)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    char expect[] = "500";
    json_t *f;

    fix_start();
    /* a NUL cuts the fixture's body: only control, invalid and valid UTF-8 bytes */
    fix_url(url, "/text?body=a%01b%FFc%C3%A9d%E2%82e%1B");
    check_init(&c, url, 2000);
    c.http.expect_status = expect;
    run_one(&c, &g, NULL);
    f = facts_of(&g);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(f, "body_start")),
                 "a.b?c\xc3\xa9" "d??e."));
    json_decref(f);
}

Test(http, long_body_with_condition_is_truncated_and_judged_on_the_start)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[URL_LEN];
    char xs[] = "xxxxxxxxxx";
    json_t *f;

    fix_start();
    fix_url(url, "/bytes/300000");
    check_init(&c, url, 5000);
    c.http.max_body_bytes = 100000;
    c.http.body_contains = xs;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    f = facts_of(&g);
    cr_assert(eq(i64, fact_int(f, "body_bytes"), 300000));
    cr_assert(ne(int, json_is_true(json_object_get(f, "body_truncated")), 0), "%s", g.r.facts);
    json_decref(f);

    /* without a body condition, the excess is dropped silently */
    c.http.body_contains = NULL;
    run_one(&c, &g2, NULL);
    f = facts_of(&g2);
    cr_assert(eq(ptr, json_object_get(f, "body_truncated"), NULL), "%s", g2.r.facts);
    json_decref(f);
}

Test(http, resolve_pins_a_name_without_dns)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    char resolve[128];
    char want[] = "Host: pinned.nines-test.invalid:";

    fix_start();
    snprintf(url, sizeof(url), "http://pinned.nines-test.invalid:%d/echo", fix.port);
    snprintf(resolve, sizeof(resolve), "pinned.nines-test.invalid:%d:127.0.0.1", fix.port);
    check_init(&c, url, 2000);
    c.http.resolve = resolve;
    c.http.body_contains = want;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(int, g.r.code, 200));
}

Test(http, proxy_carries_the_request)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[] = "http://via-proxy.nines-test.invalid/echo";
    char want[] = "GET http://via-proxy.nines-test.invalid/echo HTTP/1.1";

    fix_start();
    check_init(&c, url, 2000);
    c.http.proxy = fix.base_url;
    c.http.body_contains = want;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(long, httpfix_hits(&fix), 1));
}

Test(http, all_addresses_reports_the_dead_one)
{
    struct nines_check c;
    struct got g = { 0 };
    struct httpfix second;
    char url[URL_LEN];
    char resolve[160];
    json_t *f;
    json_t *addrs;

    fix_start();
    cr_assert(eq(int, httpfix_start_at(&second, "127.0.0.2", fix.port), 0));
    snprintf(url, sizeof(url), "http://lb.nines-test.invalid:%d/", fix.port);
    snprintf(resolve, sizeof(resolve),
             "lb.nines-test.invalid:%d:127.0.0.1,127.0.0.3,[127.0.0.2]", fix.port);
    check_init(&c, url, 2000);
    c.http.resolve = resolve;
    c.http.all_addresses = 1;
    run_one(&c, &g, NULL);
    httpfix_stop(&second);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "connect_refused"));
    cr_assert(eq(str, g.r.message, "1 of 3 addresses failed: 127.0.0.3: connect_refused"));
    f = facts_of(&g);
    addrs = json_object_get(f, "addresses");
    cr_assert(eq(sz, json_array_size(addrs), 3), "%s", g.r.facts);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(json_array_get(addrs, 0),
                                                                "outcome")), "ok"));
    cr_assert(eq(i64, json_integer_value(json_object_get(json_array_get(addrs, 0), "code")),
                 200));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(json_array_get(addrs, 1),
                                                                "reason")),
                 "connect_refused"));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(json_array_get(addrs, 2),
                                                                "address")), "127.0.0.2"));
    cr_assert(eq(i64, json_integer_value(json_object_get(json_array_get(addrs, 2), "code")),
                 200));
    json_decref(f);
    cr_assert(eq(long, httpfix_hits(&fix), 1));
}

Test(http, all_addresses_via_resolver_probes_each)
{
    struct nines_check c;
    struct got g = { 0 };
    struct httpfix v6 = { 0 };
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char url[URL_LEN];
    size_t naddr = 0;
    int has_v6 = 0;
    json_t *f;

    /* localhost is 127.0.0.1 here, sometimes ::1 too: serve every address it has */
    cr_assert(eq(int, getaddrinfo("localhost", NULL, &hints, &res), 0));
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        naddr++;
        has_v6 |= ai->ai_family == AF_INET6;
    }
    freeaddrinfo(res);
    fix_start();
    if (has_v6)
        cr_assert(eq(int, httpfix_start_at(&v6, "::1", fix.port), 0));
    snprintf(url, sizeof(url), "http://localhost:%d/", fix.port);
    check_init(&c, url, 2000);
    c.http.all_addresses = 1;
    run_one(&c, &g, NULL);
    httpfix_stop(&v6);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(ge(i64, g.r.dns_us, 0));
    cr_assert(ge(i64, g.r.connect_us, g.r.dns_us));
    f = facts_of(&g);
    cr_assert(eq(sz, json_array_size(json_object_get(f, "addresses")), naddr), "%s",
              g.r.facts);
    json_decref(f);
}

Test(http, all_addresses_hanging_ends_at_deadline)
{
    struct nines_check c;
    struct got g = { 0 };
    struct httpfix second;
    char url[URL_LEN];
    char resolve[160];
    uint64_t elapsed;

    fix_start();
    cr_assert(eq(int, httpfix_start_at(&second, "127.0.0.2", fix.port), 0));
    snprintf(url, sizeof(url), "http://lb.nines-test.invalid:%d/hang", fix.port);
    snprintf(resolve, sizeof(resolve), "lb.nines-test.invalid:%d:127.0.0.1,127.0.0.2",
             fix.port);
    check_init(&c, url, 400);
    c.http.resolve = resolve;
    c.http.all_addresses = 1;
    run_one(&c, &g, &elapsed);
    httpfix_stop(&second);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "timeout"));
    cr_assert(eq(str, g.r.message, "2 of 2 addresses failed: 127.0.0.1: timeout, "
                 "127.0.0.2: timeout"));
    cr_assert(le(u64, elapsed, 400 + 250));
}

Test(http, close_while_resolving_cancels_from_the_loop)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    struct got g2 = { 0 };
    char url[] = "http://localhost:9/";
    char url2[] = "http://lb.nines-test.invalid:9/";
    char resolve[] = "lb.nines-test.invalid:9:127.0.0.1,127.0.0.2";

    world_init(&w);
    check_init(&c, url, 2000);
    c.http.all_addresses = 1;
    world_start(&w, &c, &g);
    check_init(&c, url2, 2000);
    c.http.all_addresses = 1;
    c.http.resolve = resolve;
    world_start(&w, &c, &g2);
    check_env_close(&w.env);
    cr_assert(eq(int, g.calls + g2.calls, 0));
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(int, g2.calls, 1));
    cr_assert(eq(str, g2.r.reason, "cancelled"));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
}

Test(http, new_bad_options_are_refused_without_callback)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    char url[] = "http://127.0.0.1:9/";
    char bad_re[] = "([a-z", bad_json[] = "status ==", bad_name[] = "X Bad";
    char val[] = "v", bearer[] = "bearer", basic[] = "basic", var[] = "V", colon[] = "a:b";
    char head[] = "HEAD", body[] = "x", tls14[] = "1.4", sni[] = "bad/name";
    char res1[] = "host:80", res2[] = "host:0:127.0.0.1", res3[] = "host:80:not-an-ip";
    char crlf[] = "a\r\nInjected: 1";
    struct nines_kv kv = { bad_name, val };
    struct nines_kv kv2 = { val, crlf };
    struct nines_header_cond hc = { val, NINES_HDR_EQUALS, NULL };
    struct nines_header_cond hre = { val, NINES_HDR_REGEX, bad_re };

    world_init(&w);
#define REFUSED(setup)                                                               \
    do {                                                                             \
        check_init(&c, url, 1000);                                                   \
        setup;                                                                       \
        cr_assert(eq(int, check_start(&w.env, &c, keep_result, &g), NINES_EINVAL),   \
                  "%s", #setup);                                                     \
    } while (0)
    REFUSED(c.http.body_regex = bad_re);
    REFUSED(c.http.json_condition = bad_json);
    REFUSED((c.http.headers = &kv, c.http.headers_count = 1));
    REFUSED((c.http.headers = &kv2, c.http.headers_count = 1));
    REFUSED((c.http.header_conds = &hc, c.http.header_conds_count = 1));
    REFUSED((c.http.header_conds = &hre, c.http.header_conds_count = 1));
    REFUSED(c.http.auth = bearer);
    REFUSED((c.http.auth = basic, c.http.secret_env = var));
    REFUSED((c.http.auth = basic, c.http.secret_env = var, c.http.auth_user = colon));
    REFUSED((c.http.auth = bearer, c.http.secret_env = var, c.http.secret_file = var));
    REFUSED((c.http.method = head, c.http.body = body));
    REFUSED(c.http.tls_min_version = tls14);
    REFUSED(c.http.tls_server_name = sni);
    REFUSED(c.http.ip_version = 5);
    REFUSED(c.http.resolve = res1);
    REFUSED(c.http.resolve = res2);
    REFUSED(c.http.resolve = res3);
    REFUSED(c.http.latency_objective_ms = -1);
#undef REFUSED
    world_close(&w);
    cr_assert(eq(int, g.calls, 0));
}

Test(http, ip_version_restricts_the_family)
{
    struct nines_check c;
    struct got v4 = { 0 };
    struct got v6 = { 0 };
    char url[URL_LEN];

    fix_start();
    snprintf(url, sizeof(url), "http://localhost:%d/", fix.port);
    check_init(&c, url, 2000);
    c.http.ip_version = 4;
    run_one(&c, &v4, NULL);
    cr_assert(eq(int, v4.r.outcome, NINES_OUTCOME_OK), "%s: %s", v4.r.reason, v4.r.message);

    /* the fixture listens on 127.0.0.1 only: over IPv6 localhost is absent or refused */
    c.http.ip_version = 6;
    run_one(&c, &v6, NULL);
    cr_assert(eq(int, v6.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(long, httpfix_hits(&fix), 1));
}

Test(http, tls_server_name_names_the_host_but_not_the_connection)
{
    struct nines_check c;
    struct got g = { 0 };
    char url[URL_LEN];
    char name[] = "api.nines-test.invalid";
    char want[80];

    fix_start();
    fix_url(url, "/echo");
    snprintf(want, sizeof(want), "\r\nHost: api.nines-test.invalid:%d\r\n", fix.port);
    check_init(&c, url, 2000);
    c.http.tls_server_name = name;
    c.http.body_contains = want;
    run_one(&c, &g, NULL);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
}

Test(http, close_with_addresses_in_flight_cancels_once)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    struct httpfix second;
    char url[URL_LEN];
    char resolve[160];
    uv_timer_t t;

    fix_start();
    cr_assert(eq(int, httpfix_start_at(&second, "127.0.0.2", fix.port), 0));
    snprintf(url, sizeof(url), "http://lb.nines-test.invalid:%d/hang", fix.port);
    snprintf(resolve, sizeof(resolve), "lb.nines-test.invalid:%d:127.0.0.1,127.0.0.2",
             fix.port);
    check_init(&c, url, 10000);
    c.http.resolve = resolve;
    c.http.all_addresses = 1;
    world_init(&w);
    world_start(&w, &c, &g);
    cr_assert(eq(int, uv_timer_init(&w.loop, &t), 0));
    t.data = &w;
    cr_assert(eq(int, uv_timer_start(&t, close_env_cb, 100, 0), 0));
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    httpfix_stop(&second);

    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(eq(str, g.r.message, "check cancelled before it finished"));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
}
