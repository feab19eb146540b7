/*
 * ICMP check engine: check_icmp_start driven for real over loopback inside a
 * private network namespace that each test makes for itself (Criterion runs
 * every test in its own process): lo is brought up there and
 * net.ipv4.ping_group_range set there, so the host's settings are never
 * touched and no packet can leave. Each test ends with check_env_close,
 * uv_run and uv_loop_close() == 0.
 */
#define _GNU_SOURCE /* unshare(CLONE_NEWNET) */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "icmp.h"
#include "nines/err.h"
#include "proc.h"
#include "testutil.h"

#define MARGIN_MS  250
#define RANGE_ALL  "0 2147483647"
#define RANGE_NONE "1 0"

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

static char check_id[] = "ping1";

TestSuite(icmp, .timeout = 30);

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->at_ms = test_now_ms();
    g->r = *r;
}

static int write_sysctl(const char *path, const char *value)
{
    return test_write_file(path, value);
}

/*
 * Moves this test process into a new, empty network namespace with lo up
 * and ping sockets allowed for range; skips the test if that is not possible.
 */
static void netns_enter(const char *range)
{
    struct ifreq ifr;
    int fd;

    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted (%s): ICMP tests need a private "
                     "network namespace",
                     strerror(errno));
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert(ge(int, fd, 0));
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    cr_assert(eq(int, ioctl(fd, SIOCGIFFLAGS, &ifr), 0));
    ifr.ifr_flags |= IFF_UP;
    cr_assert(eq(int, ioctl(fd, SIOCSIFFLAGS, &ifr), 0), "lo up: %s", strerror(errno));
    close(fd);
    cr_assert(eq(int, write_sysctl("/proc/sys/net/ipv4/ping_group_range", range), 0),
              "cannot set ping_group_range in the namespace");
}

/* Makes the namespace's stack ignore echo requests (1) or answer them (0). */
static void echo_ignore(int on)
{
    cr_assert(eq(int, write_sysctl("/proc/sys/net/ipv4/icmp_echo_ignore_all", on ? "1" : "0"), 0));
}

static void check_init(struct nines_check *c, char *host, int count, int64_t spacing_ms,
                       int64_t timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->id = check_id;
    c->kind = NINES_KIND_ICMP;
    c->interval_ms = 60000;
    c->timeout_ms = timeout_ms;
    c->icmp.host = host;
    c->icmp.count = count;
    c->icmp.spacing_ms = spacing_ms;
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
    cr_assert(eq(int, check_icmp_start(&w->env, c, keep_result, g), 0));
    cr_assert(eq(int, g->calls, 0), "done must never run inside check_icmp_start");
}

static void world_close(struct world *w)
{
    check_env_close(&w->env);
    cr_assert(eq(int, uv_run(&w->loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w->loop), 0), "a handle was left open");
}

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
    cr_assert(eq(str, g->r.check_id, "ping1"));
    return elapsed;
}

static json_t *facts_of(const struct nines_result *r)
{
    json_error_t jerr;
    json_t *f = json_loads(r->facts, 0, &jerr);

    cr_assert(f != NULL, "facts are not JSON: %s (%s)", r->facts, jerr.text);
    return f;
}

static json_int_t fact_int(json_t *f, const char *key)
{
    json_t *v = json_object_get(f, key);

    cr_assert(eq(int, json_is_integer(v) ? 1 : 0, 1), "no integer fact %s", key);
    return json_integer_value(v);
}

static double fact_num(json_t *f, const char *key)
{
    json_t *v = json_object_get(f, key);

    cr_assert(eq(int, json_is_number(v) ? 1 : 0, 1), "no number fact %s", key);
    return json_number_value(v);
}

/* The facts of an all-answered run, and total_us as the average RTT. */
static void assert_all_answered(const struct nines_result *r, int count, const char *address)
{
    json_t *f = facts_of(r);
    json_t *rtt = json_object_get(f, "rtt_ms");
    double min, avg, max;

    cr_assert(eq(i64, fact_int(f, "sent"), count));
    cr_assert(eq(i64, fact_int(f, "received"), count));
    cr_assert(eq(i64, fact_int(f, "loss_pct"), 0));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(f, "address")), (char *)address));
    cr_assert(rtt != NULL, "no rtt_ms: %s", r->facts);
    min = fact_num(rtt, "min");
    avg = fact_num(rtt, "avg");
    max = fact_num(rtt, "max");
    cr_assert(min > 0.0 && min <= avg && avg <= max && max < 100.0, "rtt %f %f %f", min, avg, max);
    cr_assert(ge(i64, r->total_us, (int64_t)(min * 1000.0) - 1));
    cr_assert(le(i64, r->total_us, (int64_t)(max * 1000.0) + 1));
    json_decref(f);
}

Test(icmp, loopback_v4_answers)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    uint64_t elapsed;

    netns_enter(RANGE_ALL);
    check_init(&c, host, 3, 100, 2000);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.message, ""));
    cr_assert(eq(i64, g.r.dns_us, -1));
    cr_assert(eq(i64, g.r.connect_us, -1));
    cr_assert(ge(u64, elapsed, 200 - 10), "three requests 100 ms apart");
    cr_assert(lt(u64, elapsed, 800));
    assert_all_answered(&g.r, 3, "127.0.0.1");
}

Test(icmp, loopback_v6_answers)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "::1";
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd;

    netns_enter(RANGE_ALL);
    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
        if (fd >= 0)
            close(fd);
        cr_skip_test("no IPv6 loopback in the namespace");
    }
    close(fd);
    check_init(&c, host, 2, 50, 2000);
    c.icmp.ip_version = 6;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    assert_all_answered(&g.r, 2, "::1");
}

Test(icmp, all_at_once_with_zero_spacing)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    uint64_t elapsed;

    netns_enter(RANGE_ALL);
    check_init(&c, host, 5, 0, 2000);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(lt(u64, elapsed, 200));
    assert_all_answered(&g.r, 5, "127.0.0.1");
}

Test(icmp, hostname_is_resolved)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "localhost";

    netns_enter(RANGE_ALL);
    check_init(&c, host, 1, 10, 3000);
    c.icmp.ip_version = 4;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(ge(i64, g.r.dns_us, 0));
    assert_all_answered(&g.r, 1, "127.0.0.1");
}

/* The namespace has no route but lo's: the send fails at once. */
Test(icmp, no_route_is_unreachable)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "192.0.2.1";
    uint64_t elapsed;

    netns_enter(RANGE_ALL);
    check_init(&c, host, 3, 100, 2000);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "icmp_unreachable"), "%s", g.r.message);
    cr_assert(strstr(g.r.message, "192.0.2.1") != NULL, "%s", g.r.message);
    cr_assert(lt(u64, elapsed, 200));
}

/* Runs `ip ARGS...` (in this namespace); 0 if it worked. */
static int ip_cmd(const char *const *args)
{
    const char *argv[16] = {"ip"};
    int n = 1;
    int code = -1;

    while (*args && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    if (proc_run(argv, NULL, 0, 5000, &code) != 0)
        return -1;
    return code == 0 ? 0 : -1;
}

/*
 * A veth pair inside the namespace, 10.9.0.1/24 on v0: 10.9.0.2 never answers
 * ARP, so after one 100 ms solicitation the stack itself answers our echo
 * requests with ICMP host unreachable, which arrives on the error queue.
 */
Test(icmp, icmp_error_replies_are_unreachable)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "10.9.0.2";
    uint64_t elapsed;
    json_t *f;

    netns_enter(RANGE_ALL);
    if (ip_cmd((const char *[]){"link", "add", "v0", "type", "veth", "peer", "name", "v1",
                                NULL}) != 0)
        cr_skip_test("cannot make a veth pair in the namespace (no `ip` or no veth)");
    cr_assert(
        eq(int, ip_cmd((const char *[]){"addr", "add", "10.9.0.1/24", "dev", "v0", NULL}), 0));
    cr_assert(eq(int, ip_cmd((const char *[]){"link", "set", "v0", "up", NULL}), 0));
    cr_assert(eq(int, ip_cmd((const char *[]){"link", "set", "v1", "up", NULL}), 0));
    cr_assert(eq(int, write_sysctl("/proc/sys/net/ipv4/neigh/v0/mcast_solicit", "1"), 0));
    cr_assert(eq(int, write_sysctl("/proc/sys/net/ipv4/neigh/v0/retrans_time_ms", "100"), 0));
    check_init(&c, host, 3, 50, 2000);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "icmp_unreachable"), "%s: %s", g.r.reason, g.r.message);
    cr_assert(lt(u64, elapsed, 1500), "ended before the deadline, when all were answered");
    /*
     * Usually the host-unreachable errors come back on the error queue, one
     * per request; on a slow run (sanitizers) the neighbour entry has failed
     * before a later request goes out, and that send itself fails with
     * EHOSTUNREACH: the same verdict, said by the send.
     */
    if (strstr(g.r.message, "sending to 10.9.0.2") != NULL) {
        cr_assert(ne(ptr, strstr(g.r.message, "No route to host"), NULL), "%s", g.r.message);
    } else {
        cr_assert(strstr(g.r.message, "ICMP type 3") != NULL, "%s", g.r.message);
        f = facts_of(&g.r);
        cr_assert(eq(i64, fact_int(f, "received"), 0));
        cr_assert(eq(i64, fact_int(f, "errors"), 3));
        json_decref(f);
    }
}

Test(icmp, nobody_answering_times_out)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    uint64_t elapsed;
    json_t *f;

    netns_enter(RANGE_ALL);
    echo_ignore(1);
    check_init(&c, host, 3, 100, 500);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "icmp_timeout"), "%s", g.r.message);
    cr_assert(ge(u64, elapsed, 500 - 20));
    cr_assert(lt(u64, elapsed, 500 + MARGIN_MS));
    cr_assert(ge(i64, g.r.total_us, 480000), "total_us is the time spent");
    f = facts_of(&g.r);
    cr_assert(eq(i64, fact_int(f, "sent"), 3));
    cr_assert(eq(i64, fact_int(f, "received"), 0));
    cr_assert(eq(i64, fact_int(f, "loss_pct"), 100));
    cr_assert(json_object_get(f, "rtt_ms") == NULL);
    json_decref(f);
}

struct toggler {
    uv_timer_t timer;
};

static void stop_answering(uv_timer_t *t)
{
    echo_ignore(1);
    uv_close((uv_handle_t *)t, NULL);
}

/*
 * Four requests 200 ms apart (at 0, 200, 400, 600 ms); at 300 ms the stack
 * stops answering, so exactly two replies come back.
 */
static void run_half_lost(int max_loss_pct, struct got *g, uint64_t *elapsed)
{
    struct world w;
    struct nines_check c;
    struct toggler tg;
    char host[] = "127.0.0.1";

    netns_enter(RANGE_ALL);
    check_init(&c, host, 4, 200, 1000);
    c.icmp.max_loss_pct = max_loss_pct;
    world_init(&w);
    uv_timer_init(&w.loop, &tg.timer);
    uv_timer_start(&tg.timer, stop_answering, 300, 0);
    world_start(&w, &c, g);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    *elapsed = g->at_ms - w.started_ms;
    world_close(&w);
    cr_assert(eq(int, g->calls, 1));
}

Test(icmp, half_lost_over_the_limit_is_icmp_loss)
{
    struct got g = {0};
    uint64_t elapsed;
    json_t *f;

    run_half_lost(25, &g, &elapsed);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "icmp_loss"), "%s: %s", g.r.reason, g.r.message);
    cr_assert(strstr(g.r.message, "2 of 4") != NULL, "%s", g.r.message);
    cr_assert(lt(u64, elapsed, 1000 + MARGIN_MS));
    f = facts_of(&g.r);
    cr_assert(eq(i64, fact_int(f, "sent"), 4));
    cr_assert(eq(i64, fact_int(f, "received"), 2));
    cr_assert(eq(i64, fact_int(f, "loss_pct"), 50));
    json_decref(f);
}

Test(icmp, half_lost_within_the_limit_is_ok)
{
    struct got g = {0};
    uint64_t elapsed;

    run_half_lost(50, &g, &elapsed);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(ge(i64, g.r.total_us, 0));
    cr_assert(lt(i64, g.r.total_us, 100000), "total_us is the average RTT");
}

Test(icmp, ping_sockets_not_permitted)
{
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    uint64_t elapsed;

    netns_enter(RANGE_NONE);
    check_init(&c, host, 3, 100, 2000);
    elapsed = run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "icmp_not_permitted"), "%s", g.r.message);
    cr_assert(strstr(g.r.message, "net.ipv4.ping_group_range") != NULL, "%s", g.r.message);
    cr_assert(lt(u64, elapsed, 200));
}

Test(icmp, bad_options_are_refused_at_start)
{
    struct world w;
    struct nines_check c;
    struct got g = {0};
    char host[] = "127.0.0.1";
    char host6[] = "::1";
    char empty[] = "";

    world_init(&w);
    check_init(&c, host, 0, 100, 1000);
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 101, 100, 1000);
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 3, -1, 1000);
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 3, 100, 0);
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, empty, 3, 100, 1000);
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 3, 100, 1000);
    c.icmp.max_loss_pct = 101;
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host6, 3, 100, 1000);
    c.icmp.ip_version = 4;
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, host, 3, 100, 1000);
    c.kind = NINES_KIND_TCP;
    cr_assert(eq(int, check_icmp_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g.calls, 0));
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

Test(icmp, env_close_cancels_checks_in_flight_once)
{
    struct world w;
    struct nines_check c1;
    struct nines_check c2;
    struct got g1 = {0};
    struct got g2 = {0};
    struct got late = {0};
    struct closer cl;
    char host[] = "127.0.0.1";
    char name[] = "localhost";

    netns_enter(RANGE_ALL);
    echo_ignore(1);
    check_init(&c1, host, 5, 100, 5000);
    check_init(&c2, name, 5, 100, 5000);
    world_init(&w);
    world_start(&w, &c1, &g1);
    world_start(&w, &c2, &g2);
    cl.env = &w.env;
    cl.timer.data = &cl;
    uv_timer_init(&w.loop, &cl.timer);
    uv_timer_start(&cl.timer, close_env_now, 150, 0);
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));

    cr_assert(lt(u64, test_now_ms() - w.started_ms, 1000), "close did not end the checks");
    cr_assert(eq(int, check_icmp_start(&w.env, &c1, keep_result, &late), NINES_ESTATE));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0), "a handle was left open");
    cr_assert(eq(int, g1.calls, 1));
    cr_assert(eq(int, g1.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g1.r.reason, "cancelled"));
    cr_assert(eq(int, g2.calls, 1));
    cr_assert(eq(str, g2.r.reason, "cancelled"));
    cr_assert(eq(int, late.calls, 0));
}
