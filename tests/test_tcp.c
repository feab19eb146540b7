/*
 * TCP(+TLS) check engine: check_tcp_start driven for real against the tcpfix
 * fixture and `openssl s_server` on loopback, on a fresh libuv loop per test,
 * each test ending with check_env_close, uv_run and uv_loop_close() == 0.
 * Certificates are made per test with the openssl CLI in a private tmpdir.
 */
#define _GNU_SOURCE /* unshare(CLONE_NEWNET) */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "proc.h"
#include "tcp.h"
#include "testutil.h"

#define PATH_LEN  512
#define MARGIN_MS 250  /* a hostile case ends within timeout + this */
#define READY_MS  5000 /* for a server to come up */

/* What a done callback saw. */
struct got {
    int calls;
    uint64_t at_ms;
    struct nines_result r;
};

struct world {
    uv_loop_t loop;
    struct check_env env;
    uint64_t started_ms;
};

/* A server this test started: tcpfix or openssl s_server. */
struct server {
    pid_t pid;
    int port;
    char log[PATH_LEN];
};

static char tmpdir[PATH_LEN];
static char check_id[] = "tcp1";

static void tcp_test_teardown(void)
{
    proc_kill_all();
    if (tmpdir[0])
        test_rmtree(tmpdir);
    tmpdir[0] = '\0';
}

TestSuite(tcp, .fini = tcp_test_teardown, .timeout = 30);

static const char *dir(void)
{
    if (!tmpdir[0])
        cr_assert(eq(int, test_tmpdir(tmpdir, sizeof(tmpdir)), 0));
    return tmpdir;
}

static void path_in(char *buf, const char *name)
{
    int n = snprintf(buf, PATH_LEN, "%s/%s", dir(), name);

    cr_assert(n > 0 && n < PATH_LEN);
}

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->at_ms = test_now_ms();
    g->r = *r;
}

/* ---- tcpfix ---- */

static int file_has_port(void *arg)
{
    return test_path_exists(arg);
}

/* Starts tcpfix in mode (banner text may be NULL) on host; returns its port. */
static int tcpfix_start(const char *mode, const char *banner, const char *host)
{
    static int serial;
    char port_file[PATH_LEN];
    char name[64];
    char *text;
    const char *argv[10] = {
        NINES_FIXTURE_DIR "/tcpfix", "--port-file", port_file, "--mode", mode, NULL};
    int argc = 5;
    long port;
    pid_t pid;

    snprintf(name, sizeof(name), "tcpfix-%d.port", serial++);
    path_in(port_file, name);
    if (banner) {
        argv[argc++] = "--banner";
        argv[argc++] = banner;
    }
    if (host) {
        argv[argc++] = "--host";
        argv[argc++] = host;
    }
    pid = proc_spawn(argv, NULL);
    cr_assert(gt(int, pid, 0), "tcpfix did not start");
    cr_assert(eq(int, test_wait_until(file_has_port, port_file, READY_MS), 0),
              "tcpfix wrote no port file");
    text = test_read_file(port_file);
    cr_assert(text != NULL);
    port = strtol(text, NULL, 10);
    free(text);
    cr_assert(port > 0 && port < 65536);
    return (int)port;
}

/* ---- the check ---- */

static void check_init(struct nines_check *c, char *host, int port, int64_t timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->id = check_id;
    c->kind = NINES_KIND_TCP;
    c->interval_ms = 60000;
    c->timeout_ms = timeout_ms;
    c->tcp.host = host;
    c->tcp.port = port;
    c->tcp.verify_tls = 1;
}

static void world_init(struct world *w)
{
    cr_assert(eq(int, uv_loop_init(&w->loop), 0));
    cr_assert(eq(int, check_env_init(&w->env, &w->loop), 0));
    uv_update_time(&w->loop);
    w->started_ms = test_now_ms();
}

static void world_start(struct world *w, const struct nines_check *c, struct got *g)
{
    cr_assert(eq(int, check_tcp_start(&w->env, c, keep_result, g), 0));
    cr_assert(eq(int, g->calls, 0), "done must never run inside check_tcp_start");
}

static void world_close(struct world *w)
{
    check_env_close(&w->env);
    cr_assert(eq(int, uv_run(&w->loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w->loop), 0), "a handle was left open");
}

/* Runs one check to completion on a fresh loop; returns the ms it took. */
static uint64_t run_one(const struct nines_check *c, struct got *g)
{
    struct world w;
    uint64_t elapsed;

    world_init(&w);
    world_start(&w, c, g);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g->calls, 1));
    elapsed = g->at_ms - w.started_ms;
    world_close(&w);
    cr_assert(eq(int, g->calls, 1), "done ran again at close");
    cr_assert(eq(str, g->r.check_id, "tcp1"));
    return elapsed;
}

/* The facts as JSON (the caller frees), asserting they parse. */
static json_t *facts_of(const struct nines_result *r)
{
    json_error_t jerr;
    json_t *f = json_loads(r->facts, 0, &jerr);
    char *again;

    cr_assert(f != NULL, "facts are not JSON: %s (%s)", r->facts, jerr.text);
    cr_assert(eq(int, json_is_object(f) ? 1 : 0, 1));
    again = json_dumps(f, JSON_COMPACT);
    cr_assert(again != NULL);
    /* written byte for byte as jansson writes the same document */
    cr_assert(eq(str, again, (char *)r->facts));
    free(again);
    return f;
}

static const char *fact_str(json_t *f, const char *key)
{
    json_t *v = json_object_get(f, key);

    cr_assert(eq(int, json_is_string(v) ? 1 : 0, 1), "no string fact %s", key);
    return json_string_value(v);
}

/* ---- plain TCP ---- */

Test(tcp, smtp_banner_matches)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char expect[] = "^220 ";
    char addr[64];
    json_t *f;
    int port = tcpfix_start("banner", "220 mail.test ESMTP", NULL);
    int64_t before = nines_wall_ms();

    check_init(&c, host, port, 2000);
    c.tcp.expect_banner = expect;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.message, ""));
    cr_assert(eq(str, g.r.warning, ""));
    cr_assert(ge(i64, g.r.start_ms, before));
    cr_assert(eq(i64, g.r.dns_us, -1), "a literal address is not resolved");
    cr_assert(ge(i64, g.r.connect_us, 0));
    cr_assert(ge(i64, g.r.ttfb_us, g.r.connect_us));
    cr_assert(ge(i64, g.r.total_us, g.r.ttfb_us));
    cr_assert(lt(i64, g.r.total_us, 1000000));
    cr_assert(eq(i64, g.r.tls_us, -1));
    f = facts_of(&g.r);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    cr_assert(eq(str, (char *)fact_str(f, "address"), addr));
    cr_assert(eq(str, (char *)fact_str(f, "banner"), "220 mail.test ESMTP\r\n"));
    cr_assert(json_object_get(f, "tls") == NULL);
    json_decref(f);
}

Test(tcp, ssh_expected_on_smtp_is_banner_mismatch)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char expect[] = "^SSH-2\\.0";
    uint64_t elapsed;
    json_t *f;
    int port = tcpfix_start("banner", "220 mail.test ESMTP", NULL);

    check_init(&c, host, port, 500);
    c.tcp.expect_banner = expect;
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "banner_mismatch"));
    cr_assert(strstr(g.r.message, "^SSH-2\\.0") != NULL, "%s", g.r.message);
    cr_assert(ge(i64, g.r.ttfb_us, 0));
    cr_assert(lt(u64, elapsed, 500 + MARGIN_MS));
    f = facts_of(&g.r);
    cr_assert(eq(str, (char *)fact_str(f, "banner"), "220 mail.test ESMTP\r\n"));
    json_decref(f);
}

Test(tcp, closed_port_is_refused_fast)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    uint64_t elapsed;
    int port = test_unused_port();

    cr_assert(gt(int, port, 0));
    check_init(&c, host, port, 5000);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "connect_refused"));
    cr_assert(ne(str, g.r.message, ""));
    cr_assert(eq(i64, g.r.connect_us, -1));
    cr_assert(lt(u64, elapsed, 500));
    cr_assert(lt(i64, g.r.total_us, 500000));
}

Test(tcp, silent_server_times_out_at_the_deadline)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char expect[] = "^220";
    uint64_t elapsed;
    int port = tcpfix_start("silent", NULL, NULL);

    check_init(&c, host, port, 400);
    c.tcp.expect_banner = expect;
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "timeout"));
    cr_assert(ge(i64, g.r.connect_us, 0), "it did connect");
    cr_assert(eq(i64, g.r.ttfb_us, -1));
    cr_assert(ge(u64, elapsed, 400 - 20));
    cr_assert(lt(u64, elapsed, 400 + MARGIN_MS));
    cr_assert(ge(i64, g.r.total_us, 380000));
}

Test(tcp, drip_never_matching_ends_at_the_deadline)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char expect[] = "^220";
    uint64_t elapsed;
    int port = tcpfix_start("drip", "xyz", NULL);

    check_init(&c, host, port, 600);
    c.tcp.expect_banner = expect;
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "banner_mismatch"));
    cr_assert(ge(u64, elapsed, 600 - 20));
    cr_assert(lt(u64, elapsed, 600 + MARGIN_MS));
}

Test(tcp, drip_matching_slowly_is_ok)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char expect[] = "^ab";
    uint64_t elapsed;
    int port = tcpfix_start("drip", "ab", NULL);

    check_init(&c, host, port, 3000);
    c.tcp.expect_banner = expect;
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(ge(u64, elapsed, 900), "the second byte comes a second later");
    cr_assert(lt(i64, g.r.ttfb_us, 500000), "ttfb is the first byte");
}

Test(tcp, send_then_expect_echo_is_ok)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char send[] = "PING nines-42\r\n";
    char expect[] = "^PING nines-[0-9]+\r\n$";
    int port = tcpfix_start("echo", NULL, NULL);

    check_init(&c, host, port, 2000);
    c.tcp.send = send;
    c.tcp.expect_banner = expect;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(ge(i64, g.r.ttfb_us, g.r.connect_us));
}

Test(tcp, send_then_expect_other_reply_is_mismatch)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char send[] = "HELLO\r\n";
    char expect[] = "^OK";
    int port = tcpfix_start("echo", NULL, NULL);

    check_init(&c, host, port, 400);
    c.tcp.send = send;
    c.tcp.expect_banner = expect;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "banner_mismatch"));
}

Test(tcp, connect_only_is_ok_without_reading)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    int port = tcpfix_start("silent", NULL, NULL);

    check_init(&c, host, port, 2000);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(ge(i64, g.r.connect_us, 0));
    cr_assert(eq(i64, g.r.ttfb_us, -1));
    cr_assert(lt(i64, g.r.total_us, 500000));
}

/* Sockets closed by the probe and still held by the kernel (/proc/net/tcp
 * state 04 FIN_WAIT1, 05 FIN_WAIT2 or 06 TIME_WAIT, as far as the FIN
 * exchange has got) whose remote port is port. A reset leaves none. */
static int time_wait_to(int port)
{
    char *text = test_read_file("/proc/net/tcp"), want[3][16];
    int n = 0;

    cr_assert(ne(ptr, text, NULL));
    for (int k = 0; k < 3; k++)
        snprintf(want[k], sizeof(want[k]), ":%04X 0%d", port, 4 + k);
    for (int k = 0; k < 3; k++)
        for (char *p = strstr(text, want[k]); p != NULL; p = strstr(p + 1, want[k]))
            n++;
    free(text);
    return n;
}

static int five_closing(void *arg)
{
    return time_wait_to(*(int *)arg) >= 5;
}

/* By default a finished run resets its connection: the probe keeps no
 * TIME_WAIT; check_env.graceful_close closes with FIN, and the probe (which
 * closes first) holds the TIME_WAIT. */
Test(tcp, a_finished_run_resets_unless_graceful_close)
{
    struct nines_check c;
    char host[] = "127.0.0.1";
    int port = tcpfix_start("silent", NULL, NULL), held;

    check_init(&c, host, port, 2000);
    /* FIN first (graceful), then the default (reset): five runs each */
    for (int graceful = 1; graceful >= 0; graceful--) {
        for (int i = 0; i < 5; i++) {
            struct world w;
            struct got g = {0};

            world_init(&w);
            w.env.graceful_close = graceful;
            world_start(&w, &c, &g);
            uv_run(&w.loop, UV_RUN_DEFAULT);
            cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
            world_close(&w);
        }
        if (graceful) {
            cr_assert(eq(int, test_wait_until(five_closing, &port, 2000), 0),
                      "FIN first: the probe holds the closed sockets (%d)", time_wait_to(port));
            held = time_wait_to(port);
        } else {
            test_sleep_ms(300);
            cr_expect(eq(int, time_wait_to(port), held), "a reset leaves nothing behind");
        }
    }
}

/* A listener on 127.0.0.1 that never accepts (the kernel completes
 * handshakes up to the backlog); its port in *port. */
static int listen_never_accept(int backlog, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&a, sizeof(a)), 0));
    cr_assert(eq(int, listen(fd, backlog), 0));
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&a, &len), 0));
    *port = ntohs(a.sin_port);
    return fd;
}

/*
 * Connect-only runs one after another on one driver reuse its disconnected
 * socket (checks/tcp.c): each run is still a fresh connection (its own
 * source port, a handshake the listener accepts, a reset at the end), and
 * nothing accumulates: at most the pooled socket and the epoll set stay
 * open, and none of it once the driver is gone.
 */
Test(tcp, runs_on_one_driver_each_open_a_fresh_connection)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    unsigned char before[TEST_FD_SCAN];
    int ports[20], lfd = socket(AF_INET, SOCK_STREAM, 0), port, opened = 0;
    struct nines_check c;
    char host[] = "127.0.0.1";
    struct world w;

    cr_assert(ge(int, lfd, 0));
    cr_assert(eq(int, bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0));
    cr_assert(eq(int, listen(lfd, 64), 0));
    cr_assert(eq(int, getsockname(lfd, (struct sockaddr *)&a, &alen), 0));
    port = ntohs(a.sin_port);
    check_init(&c, host, port, 2000);
    test_open_fds(before);
    world_init(&w);
    for (int i = 0; i < 20; i++) {
        struct got g = {0};
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        char b;
        int conn;

        world_start(&w, &c, &g);
        uv_run(&w.loop, UV_RUN_DEFAULT);
        cr_assert(eq(int, g.calls, 1));
        cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "run %d: %s", i, g.r.message);
        /* the listener got a connection for this run, already reset */
        conn = accept(lfd, (struct sockaddr *)&peer, &plen);
        cr_assert(ge(int, conn, 0), "run %d: no connection accepted", i);
        ports[i] = ntohs(peer.sin_port);
        cr_expect(eq(int, (int)read(conn, &b, 1), -1), "run %d: not reset", i);
        cr_expect(eq(int, errno, ECONNRESET), "run %d: not reset", i);
        close(conn);
        for (int j = 0; j < i; j++)
            cr_expect(ne(int, ports[j], ports[i]), "runs %d and %d share a port", j, i);
        /* the loop's, the epoll set and the pooled socket: no more after each run */
        if (i == 0)
            opened = test_fds_opened_since(before);
        cr_expect(eq(int, test_fds_opened_since(before), opened),
                  "run %d: more descriptors than the %d after run 0", i, opened);
    }
    world_close(&w);
    cr_expect(eq(int, test_new_fd_since(before), -1), "a descriptor outlived the driver");
    close(lfd);
}

#define MANY_CHECKS 300 /* more than one epoll_wait takes (256) */

/*
 * Connect-only checks use raw sockets in the driver's epoll set: 300 at
 * once, every other one to a closed port, complete once each with their own
 * outcome, and leave no descriptor behind (the close takes the socket out of
 * the set: nothing else does).
 */
Test(tcp, many_connect_only_checks_at_once_each_complete_once, .timeout = 20)
{
    static struct nines_check c[MANY_CHECKS];
    static struct got g[MANY_CHECKS];
    static char host[] = "127.0.0.1", ids[MANY_CHECKS][16];
    struct world w;
    int open_port, closed_port = test_unused_port();
    int lfd = listen_never_accept(1024, &open_port);
    unsigned char before[TEST_FD_SCAN];

    cr_assert(gt(int, closed_port, 0));
    test_open_fds(before);
    world_init(&w);
    for (int i = 0; i < MANY_CHECKS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "c%d", i);
        check_init(&c[i], host, i % 2 ? closed_port : open_port, 5000);
        c[i].id = ids[i];
        world_start(&w, &c[i], &g[i]);
    }
    uv_run(&w.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < MANY_CHECKS; i++) {
        cr_assert(eq(int, g[i].calls, 1), "check %d: done ran %d times", i, g[i].calls);
        cr_assert(eq(str, g[i].r.check_id, ids[i]));
        if (i % 2) {
            cr_assert(eq(str, g[i].r.reason, "connect_refused"), "check %d: %s", i,
                      g[i].r.message);
        } else {
            cr_assert(eq(int, g[i].r.outcome, NINES_OUTCOME_OK), "check %d: %s", i,
                      g[i].r.message);
            cr_assert(ge(i64, g[i].r.connect_us, 0));
        }
    }
    world_close(&w);
    cr_assert(eq(int, test_new_fd_since(before), -1), "a socket (or the epoll set) was left open");
    close(lfd);
}

/*
 * A connect that never completes (the listener's accept queue is full, so
 * the kernel drops the SYN) ends at the deadline as connect_timeout, and the
 * raw socket is closed then.
 */
Test(tcp, connect_only_to_a_full_backlog_times_out_at_the_deadline, .timeout = 10)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int port, lfd = listen_never_accept(0, &port), filler[2];
    unsigned char before[TEST_FD_SCAN];
    uint64_t elapsed;

    /* backlog 0 holds one connection: fill it (and one more for kernels that allow it) */
    a.sin_port = htons((uint16_t)port);
    for (int i = 0; i < 2; i++) {
        filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(filler[i], (struct sockaddr *)&a, sizeof(a));
    }
    test_sleep_ms(50);
    test_open_fds(before);
    check_init(&c, host, port, 300);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, "connect_timeout"));
    cr_assert(eq(i64, g.r.connect_us, -1));
    cr_assert(ge(u64, elapsed, 300 - 20));
    cr_assert(lt(u64, elapsed, 300 + MARGIN_MS));
    cr_assert(eq(int, test_new_fd_since(before), -1), "the socket was left open");
    close(filler[0]);
    close(filler[1]);
    close(lfd);
}

Test(tcp, send_without_expect_is_ok_once_sent)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char send[] = "QUIT\r\n";
    int port = tcpfix_start("silent", NULL, NULL);

    check_init(&c, host, port, 2000);
    c.tcp.send = send;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(lt(i64, g.r.total_us, 500000));
}

Test(tcp, server_closing_at_once_is_connection_closed)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char expect[] = "^220";
    uint64_t elapsed;
    int port = tcpfix_start("close", NULL, NULL);

    check_init(&c, host, port, 2000);
    c.tcp.expect_banner = expect;
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "connection_closed"));
    cr_assert(lt(u64, elapsed, 1000));
}

Test(tcp, hostname_is_resolved_and_timed)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "localhost";
    char expect[] = "^220";
    int port = tcpfix_start("banner", NULL, NULL);

    check_init(&c, host, port, 3000);
    c.tcp.expect_banner = expect;
    c.tcp.ip_version = 4;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(ge(i64, g.r.dns_us, 0));
    cr_assert(ge(i64, g.r.connect_us, g.r.dns_us));
    cr_assert(ge(i64, g.r.ttfb_us, g.r.connect_us));
}

Test(tcp, ipv6_literal_connects)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "::1";
    char expect[] = "^220";
    char addr[64];
    json_t *f;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int port;

    if (fd < 0 || bind(fd, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
        if (fd >= 0)
            close(fd);
        cr_skip_test("no IPv6 loopback on this machine");
    }
    close(fd);
    port = tcpfix_start("banner", NULL, "::1");
    check_init(&c, host, port, 2000);
    c.tcp.expect_banner = expect;
    c.tcp.ip_version = 6;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    f = facts_of(&g.r);
    snprintf(addr, sizeof(addr), "[::1]:%d", port);
    cr_assert(eq(str, (char *)fact_str(f, "address"), addr));
    json_decref(f);
}

/* Brings lo up in the current network namespace. */
static int netns_lo_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int rc = -1;

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc;
}

/*
 * A name that does not resolve, looked up inside a private, empty network
 * namespace (this test process only): the resolver's queries cannot leave it.
 */
Test(tcp, unknown_name_is_dns_failure)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "nines-no-such-host.invalid";

    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: %s", strerror(errno));
    cr_assert(eq(int, netns_lo_up(), 0));
    check_init(&c, host, 4242, 3000);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, "dns_failure"));
    cr_assert(strstr(g.r.message, host) != NULL, "%s", g.r.message);
    cr_assert(ge(i64, g.r.dns_us, 0));
    cr_assert(eq(i64, g.r.connect_us, -1));
}

Test(tcp, bad_options_are_refused_at_start)
{
    struct world w;
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char host6[] = "::1";
    char empty[] = "";
    char bad_re[] = "([";

    world_init(&w);
    check_init(&c, host, 0, 1000);
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 70000, 1000);
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, empty, 80, 1000);
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 80, 0);
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 80, 1000);
    c.tcp.ip_version = 5;
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host6, 80, 1000);
    c.tcp.ip_version = 4;
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 80, 1000);
    c.tcp.expect_banner = bad_re;
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 80, 1000);
    c.kind = NINES_KIND_HTTP;
    cr_assert(eq(int, check_tcp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g.calls, 0));
    world_close(&w);
}

/* ---- several checks on one loop ---- */

Test(tcp, healthy_check_is_not_held_up_by_a_silent_one)
{
    struct world w;
    struct nines_check slow;
    struct nines_check fast;
    struct got gs = {0};
    struct got gf = {0};
    char host[] = "127.0.0.1";
    char expect[] = "^220";
    int silent = tcpfix_start("silent", NULL, NULL);
    int banner = tcpfix_start("banner", NULL, NULL);

    check_init(&slow, host, silent, 700);
    slow.tcp.expect_banner = expect;
    check_init(&fast, host, banner, 700);
    fast.tcp.expect_banner = expect;
    world_init(&w);
    world_start(&w, &slow, &gs);
    world_start(&w, &fast, &gf);
    uv_run(&w.loop, UV_RUN_DEFAULT);

    cr_assert(eq(int, gf.calls, 1));
    cr_assert(eq(int, gs.calls, 1));
    cr_assert(eq(int, gf.r.outcome, NINES_OUTCOME_OK), "%s", gf.r.message);
    cr_assert(eq(int, gs.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(lt(u64, gf.at_ms - w.started_ms, 200), "the healthy check waited");
    cr_assert(lt(i64, gf.r.total_us, 200000));
    cr_assert(ge(u64, gs.at_ms - w.started_ms, 700 - 20));
    cr_assert(lt(u64, gs.at_ms - w.started_ms, 700 + MARGIN_MS));
    world_close(&w);
}

struct closer {
    uv_timer_t timer;
    struct check_env *env;
};

static void close_env_now(uv_timer_t *t)
{
    struct closer *cl = t->data;

    check_env_close(cl->env);
    uv_close((uv_handle_t *)t, NULL);
}

Test(tcp, env_close_cancels_checks_in_flight_once)
{
    struct world w;
    struct nines_check c1;
    struct nines_check c2;
    struct nines_check c3;
    struct got g1 = {0};
    struct got g2 = {0};
    struct got g3 = {0};
    struct got late = {0};
    struct closer cl;
    char host[] = "127.0.0.1";
    char name[] = "localhost";
    char expect[] = "^220";
    int silent = tcpfix_start("silent", NULL, NULL);
    int drip = tcpfix_start("drip", NULL, NULL);

    check_init(&c1, host, silent, 5000);
    c1.tcp.expect_banner = expect;
    check_init(&c2, host, drip, 5000);
    c2.tcp.expect_banner = expect;
    check_init(&c3, name, silent, 5000);
    c3.tcp.expect_banner = expect;
    world_init(&w);
    world_start(&w, &c1, &g1);
    world_start(&w, &c2, &g2);
    world_start(&w, &c3, &g3);
    cl.env = &w.env;
    cl.timer.data = &cl;
    uv_timer_init(&w.loop, &cl.timer);
    uv_timer_start(&cl.timer, close_env_now, 150, 0);
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));

    cr_assert(lt(u64, test_now_ms() - w.started_ms, 1000), "close did not end the checks");
    cr_assert(eq(int, check_tcp_start(&w.env, &c1, keep_result, &late), NINES_ESTATE));
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0), "a handle was left open");
    for (int i = 0; i < 3; i++) {
        struct got *g = i == 0 ? &g1 : i == 1 ? &g2 : &g3;

        cr_assert(eq(int, g->calls, 1), "check %d: %d calls", i, g->calls);
        cr_assert(eq(int, g->r.outcome, NINES_OUTCOME_ERROR));
        cr_assert(eq(str, g->r.reason, "cancelled"));
    }
    cr_assert(eq(int, late.calls, 0));
}

Test(tcp, env_close_right_after_start_reports_from_the_loop)
{
    struct world w;
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char name[] = "localhost";
    int port = tcpfix_start("silent", NULL, NULL);
    struct got g2 = {0};
    struct nines_check c2;

    check_init(&c, host, port, 5000);
    check_init(&c2, name, port, 5000);
    world_init(&w);
    world_start(&w, &c, &g);
    world_start(&w, &c2, &g2);
    check_env_close(&w.env);
    cr_assert(eq(int, g.calls, 0), "done ran inside check_env_close");
    cr_assert(eq(int, g2.calls, 0), "done ran inside check_env_close");
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(eq(int, g2.calls, 1));
    cr_assert(eq(str, g2.r.reason, "cancelled"));
}

/* ---- TLS ---- */

/* Runs the openssl CLI with args (NULL-terminated), asserting success. */
static void openssl_run(const char *const *args)
{
    const char *argv[32] = {"openssl"};
    char err[2048] = "";
    int code = -1;
    int n = 1;

    while (*args && n < 31)
        argv[n++] = *args++;
    argv[n] = NULL;
    cr_assert(eq(int, proc_run_full(argv, NULL, NULL, 0, err, sizeof(err), 20000, &code), 0));
    cr_assert(eq(int, code, 0), "openssl %s failed: %s", argv[1], err);
}

/* The test CA (ca.pem, ca.key) and one leaf key (leaf.key), made once per test. */
static void make_ca(void)
{
    char ca[PATH_LEN], cakey[PATH_LEN], key[PATH_LEN];

    path_in(ca, "ca.pem");
    path_in(cakey, "ca.key");
    path_in(key, "leaf.key");
    if (test_path_exists(ca))
        return;
    openssl_run((const char *[]){"req", "-x509", "-newkey", "ec", "-pkeyopt",
                                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cakey,
                                 "-out", ca, "-days", "30", "-subj", "/CN=nines-test-ca", NULL});
    openssl_run((const char *[]){"genpkey", "-algorithm", "EC", "-pkeyopt",
                                 "ec_paramgen_curve:prime256v1", "-out", key, NULL});
}

/* A leaf NAME.pem for cn (SAN: cn, and 127.0.0.1), days valid (may be < 0). */
static void make_leaf(const char *name, const char *cn, int days, int self_signed)
{
    char ca[PATH_LEN], cakey[PATH_LEN], key[PATH_LEN], csr[PATH_LEN], out[PATH_LEN];
    char ext[PATH_LEN], subj[128], san[160], days_text[16], file[64];

    make_ca();
    path_in(ca, "ca.pem");
    path_in(cakey, "ca.key");
    path_in(key, "leaf.key");
    snprintf(file, sizeof(file), "%s.csr", name);
    path_in(csr, file);
    snprintf(file, sizeof(file), "%s.pem", name);
    path_in(out, file);
    snprintf(file, sizeof(file), "%s.ext", name);
    path_in(ext, file);
    snprintf(subj, sizeof(subj), "/CN=%s", cn);
    snprintf(san, sizeof(san), "subjectAltName=DNS:%s,IP:127.0.0.1", cn);
    snprintf(days_text, sizeof(days_text), "%d", days);
    if (self_signed) {
        openssl_run((const char *[]){"req", "-x509", "-key", key, "-subj", subj, "-days",
                                     days_text, "-addext", san, "-out", out, NULL});
        return;
    }
    /* SAN by name only, so a wrong name cannot be rescued by the IP entry */
    snprintf(san, sizeof(san), "subjectAltName=DNS:%s\n", cn);
    cr_assert(eq(int, test_write_file(ext, san), 0));
    openssl_run((const char *[]){"req", "-new", "-key", key, "-subj", subj, "-out", csr, NULL});
    openssl_run((const char *[]){"x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                                 "-set_serial", "7", "-days", days_text, "-extfile", ext, "-out",
                                 out, NULL});
}

static int log_has_accept(void *arg)
{
    struct server *s = arg;
    char *text = test_read_file(s->log);
    char *p = text ? strstr(text, "ACCEPT ") : NULL;
    char *colon = p ? strchr(p, '\n') : NULL;

    if (colon) {
        *colon = '\0';
        colon = strrchr(p, ':');
        if (colon)
            s->port = atoi(colon + 1);
    }
    free(text);
    return s->port > 0;
}

/* `openssl s_server -www` on 127.0.0.1, port 0, serving NAME.pem. */
static int tls_server_start(const char *name)
{
    static struct server s;
    char cert[PATH_LEN], key[PATH_LEN], file[64];
    const char *argv[] = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                          cert,      "-key",     key,       "-www",        NULL};

    snprintf(file, sizeof(file), "%s.pem", name);
    path_in(cert, file);
    path_in(key, "leaf.key");
    snprintf(file, sizeof(file), "s_server-%s.log", name);
    path_in(s.log, file);
    s.port = 0;
    s.pid = proc_spawn(argv, s.log);
    cr_assert(gt(int, s.pid, 0), "openssl s_server did not start");
    cr_assert(eq(int, test_wait_until(log_has_accept, &s, READY_MS), 0),
              "s_server did not report its port");
    return s.port;
}

/* A TLS check of 127.0.0.1:port, CA file set, SNI and name "localhost". */
static void tls_check_init(struct nines_check *c, char *host, int port, char *ca, char *sni)
{
    check_init(c, host, port, 3000);
    c->tcp.tls = 1;
    c->tcp.ca_file = ca;
    c->tcp.tls_server_name = sni;
}

static json_t *tls_facts_of(const struct nines_result *r, json_t **root)
{
    json_t *tls;

    *root = facts_of(r);
    tls = json_object_get(*root, "tls");
    cr_assert(eq(int, json_is_object(tls) ? 1 : 0, 1), "no tls facts: %s", r->facts);
    return tls;
}

static json_int_t fact_int(json_t *f, const char *key)
{
    json_t *v = json_object_get(f, key);

    cr_assert(eq(int, json_is_integer(v) ? 1 : 0, 1), "no integer fact %s", key);
    return json_integer_value(v);
}

Test(tcp, tls_trusted_certificate_is_ok_with_facts)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    char ca[PATH_LEN];
    char send[] = "GET / HTTP/1.0\r\n\r\n";
    char expect[] = "^HTTP/1\\.[01] 200";
    json_t *root;
    json_t *tls;
    int port;

    make_leaf("good", "localhost", 365, 0);
    port = tls_server_start("good");
    path_in(ca, "ca.pem");
    tls_check_init(&c, host, port, ca, sni);
    c.tcp.send = send;
    c.tcp.expect_banner = expect;
    c.tcp.cert_min_days = 30;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.warning, ""));
    cr_assert(ge(i64, g.r.connect_us, 0));
    cr_assert(ge(i64, g.r.tls_us, g.r.connect_us));
    cr_assert(ge(i64, g.r.ttfb_us, g.r.tls_us));
    cr_assert(ge(i64, g.r.total_us, g.r.ttfb_us));
    tls = tls_facts_of(&g.r, &root);
    cr_assert(eq(int, strncmp(fact_str(tls, "version"), "TLSv1.", 6), 0));
    cr_assert(ne(str, (char *)fact_str(tls, "cipher"), ""));
    cr_assert(eq(str, (char *)fact_str(tls, "subject"), "CN=localhost"));
    cr_assert(eq(str, (char *)fact_str(tls, "issuer"), "CN=nines-test-ca"));
    cr_assert(eq(int, (int)strlen(fact_str(tls, "not_after")), 20));
    cr_assert(ge(i64, fact_int(tls, "days_left"), 363));
    cr_assert(le(i64, fact_int(tls, "days_left"), 365));
    cr_assert(json_object_get(tls, "verify") == NULL);
    cr_assert(eq(int, strncmp(fact_str(root, "banner"), "HTTP/1.0 200", 12), 0));
    json_decref(root);
}

Test(tcp, tls_handshake_only_checks_the_ip_address)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char ca[PATH_LEN];
    int port;

    make_leaf("self", "localhost", 30, 1); /* has IP:127.0.0.1 */
    port = tls_server_start("self");
    path_in(ca, "self.pem"); /* trust the self-signed leaf itself */
    tls_check_init(&c, host, port, ca, NULL);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(ge(i64, g.r.tls_us, g.r.connect_us));
    cr_assert(eq(i64, g.r.ttfb_us, -1));
}

Test(tcp, tls_self_signed_is_untrusted)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    char ca[PATH_LEN];
    json_t *root;
    json_t *tls;
    int port;

    make_leaf("self", "localhost", 30, 1);
    port = tls_server_start("self");
    path_in(ca, "ca.pem");
    tls_check_init(&c, host, port, ca, sni);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_cert_untrusted"), "%s", g.r.message);
    cr_assert(strstr(g.r.message, "self-signed") != NULL, "%s", g.r.message);
    tls = tls_facts_of(&g.r, &root);
    cr_assert(eq(str, (char *)fact_str(tls, "subject"), "CN=localhost"));
    cr_assert(ne(str, (char *)fact_str(tls, "verify"), ""));
    json_decref(root);
}

Test(tcp, tls_verify_off_accepts_untrusted)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    int port;

    make_leaf("self", "localhost", 30, 1);
    port = tls_server_start("self");
    tls_check_init(&c, host, port, NULL, sni);
    c.tcp.verify_tls = 0;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(ne(str, g.r.facts, ""));
}

Test(tcp, tls_system_store_does_not_trust_the_test_ca)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    int port;

    make_leaf("good", "localhost", 365, 0);
    port = tls_server_start("good");
    tls_check_init(&c, host, port, NULL, sni);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_cert_untrusted"), "%s", g.r.message);
}

/* The system store is a hashed directory; SSL_CERT_DIR points it at the test CA. */
Test(tcp, tls_system_store_directory_is_used)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    char certs[PATH_LEN];
    char ca[PATH_LEN];
    char copy[PATH_LEN];
    char *pem;
    int port;

    make_leaf("good", "localhost", 365, 0);
    port = tls_server_start("good");
    path_in(certs, "certs");
    path_in(ca, "ca.pem");
    path_in(copy, "certs/ca.pem");
    cr_assert(eq(int, mkdir(certs, 0700), 0));
    pem = test_read_file(ca);
    cr_assert(pem != NULL);
    cr_assert(eq(int, test_write_file(copy, pem), 0));
    free(pem);
    openssl_run((const char *[]){"rehash", certs, NULL});
    cr_assert(eq(int, setenv("SSL_CERT_DIR", certs, 1), 0));
    tls_check_init(&c, host, port, NULL, sni);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
}

Test(tcp, tls_expired_certificate)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    char ca[PATH_LEN];
    json_t *root;
    json_t *tls;
    int port;

    make_leaf("expired", "localhost", -1, 0);
    port = tls_server_start("expired");
    path_in(ca, "ca.pem");
    tls_check_init(&c, host, port, ca, sni);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_cert_expired"), "%s", g.r.message);
    tls = tls_facts_of(&g.r, &root);
    cr_assert(eq(i64, fact_int(tls, "days_left"), -1));
    json_decref(root);
}

Test(tcp, tls_wrong_host_name)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    char ca[PATH_LEN];
    int port;

    make_leaf("wrong", "wrong.example", 365, 0);
    port = tls_server_start("wrong");
    path_in(ca, "ca.pem");
    tls_check_init(&c, host, port, ca, sni);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_cert_hostname"), "%s", g.r.message);
}

Test(tcp, tls_expiring_soon_is_ok_with_warning)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    char ca[PATH_LEN];
    json_t *root;
    json_t *tls;
    json_int_t days;
    int port;

    make_leaf("soon", "localhost", 10, 0);
    port = tls_server_start("soon");
    path_in(ca, "ca.pem");
    tls_check_init(&c, host, port, ca, sni);
    c.tcp.cert_min_days = 30;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.warning, "cert_expiring"));
    tls = tls_facts_of(&g.r, &root);
    days = fact_int(tls, "days_left");
    cr_assert(days == 9 || days == 10, "days_left %lld", (long long)days);
    cr_assert(strstr(g.r.message, "expires in") != NULL, "%s", g.r.message);
    json_decref(root);
}

Test(tcp, tls_expiring_warning_is_dropped_when_the_check_fails)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char sni[] = "localhost";
    char ca[PATH_LEN];
    char send[] = "GET / HTTP/1.0\r\n\r\n";
    char expect[] = "^NOT-HTTP";
    int port;

    make_leaf("soon", "localhost", 10, 0);
    port = tls_server_start("soon");
    path_in(ca, "ca.pem");
    tls_check_init(&c, host, port, ca, sni);
    c.tcp.cert_min_days = 30;
    c.tcp.send = send;
    c.tcp.expect_banner = expect;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "banner_mismatch"), "%s", g.r.message);
    cr_assert(eq(str, g.r.warning, ""));
}

Test(tcp, tls_to_a_plain_server_is_a_handshake_failure)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    uint64_t elapsed;
    int port = tcpfix_start("banner", "220 not tls at all", NULL);

    check_init(&c, host, port, 2000);
    c.tcp.tls = 1;
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_handshake"), "%s", g.r.message);
    cr_assert(lt(u64, elapsed, 1000));
    cr_assert(eq(i64, g.r.tls_us, -1));
}

Test(tcp, tls_to_a_silent_server_times_out)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    uint64_t elapsed;
    int port = tcpfix_start("silent", NULL, NULL);

    check_init(&c, host, port, 400);
    c.tcp.tls = 1;
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "timeout"));
    cr_assert(strstr(g.r.message, "TLS") != NULL, "%s", g.r.message);
    cr_assert(lt(u64, elapsed, 400 + MARGIN_MS));
}

Test(tcp, tls_missing_ca_file_is_an_error)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char ca[PATH_LEN];
    int port = tcpfix_start("silent", NULL, NULL);

    path_in(ca, "no-such-ca.pem");
    tls_check_init(&c, host, port, ca, NULL);
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "error"));
    cr_assert(strstr(g.r.message, "no-such-ca.pem") != NULL, "%s", g.r.message);
}
