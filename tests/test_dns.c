/*
 * DNS check engine: check_dns_start driven for real against dnsmasq and the dnsfix
 * fixture on 127.0.0.1 (and ::1), on a fresh libuv loop per test, each test ending
 * with check_env_close, uv_run and uv_loop_close() == 0; and the reply parser fed a
 * table of crafted packets, good and hostile.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <ares.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ares_uv.h"
#include "check.h"
#include "dns.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "proc.h"
#include "testutil.h"

#define SERVER_LEN 64
#define DIR_LEN 256
#define READY_MS 5000
#define MARGIN_MS 250

/* A server process the test started: dnsmasq or dnsfix. */
struct server {
    pid_t pid;
    int port;
    char dir[DIR_LEN];
    char addr[SERVER_LEN];      /* "127.0.0.1:PORT" */
};

/* What a done callback saw. */
struct got {
    int calls;
    uint64_t at_ms;             /* test_now_ms() when it ran */
    struct nines_result r;
};

struct world {
    uv_loop_t loop;
    struct check_env env;
    uint64_t started_ms;
};

static struct server dnsmasq;
static struct server fixes[2];

static void dns_test_setup(void)
{
    cr_assert(eq(int, ares_library_init(ARES_LIB_INIT_ALL), ARES_SUCCESS));
}

static void server_stop(struct server *s)
{
    if (s->pid > 0)
        proc_stop(s->pid, 2000);
    if (s->dir[0])
        test_rmtree(s->dir);
    memset(s, 0, sizeof(*s));
}

/* Runs even when an assertion failed: every server we started is stopped by pid. */
static void dns_test_teardown(void)
{
    server_stop(&dnsmasq);
    server_stop(&fixes[0]);
    server_stop(&fixes[1]);
    ares_library_cleanup();
}

TestSuite(dns, .init = dns_test_setup, .fini = dns_test_teardown, .timeout = 30);
TestSuite(dns_parse, .timeout = 10);

/* ---- dnsmasq ---- */

/* A query for ok.test A, id 0x4242, as a resolver would send it. */
static size_t probe_query(unsigned char *q)
{
    static const unsigned char pkt[] = {
        0x42, 0x42, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        2, 'o', 'k', 4, 't', 'e', 's', 't', 0, 0x00, 0x01, 0x00, 0x01,
    };

    memcpy(q, pkt, sizeof(pkt));
    return sizeof(pkt);
}

/* test_wait_until condition: the server answers a UDP query (or has exited). */
static int dnsmasq_answers(void *arg)
{
    struct server *s = arg;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
    unsigned char q[64];
    unsigned char a[512];
    struct pollfd pfd;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int ok = 0;

    if (!proc_alive(s->pid))
        return 1;
    if (fd < 0)
        return 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pfd.fd = fd;
    pfd.events = POLLIN;
    if (sendto(fd, q, probe_query(q), 0, (struct sockaddr *)&sa, sizeof(sa)) > 0 &&
        poll(&pfd, 1, 50) == 1 && recv(fd, a, sizeof(a), 0) >= 12 && a[0] == 0x42)
        ok = 1;
    close(fd);
    return ok;
}

#define TXT_LONG_N 24

/* Starts dnsmasq with every record the tests ask for, on a free port. */
static void dnsmasq_start(void)
{
    static char longtxt[TXT_LONG_N][300];
    char port_arg[32], pid_arg[300], log_path[300];
    const char *argv[80];
    int n = 0;

    cr_assert(eq(int, test_tmpdir(dnsmasq.dir, sizeof(dnsmasq.dir)), 0));
    snprintf(pid_arg, sizeof(pid_arg), "--pid-file=%s/dnsmasq.pid", dnsmasq.dir);
    snprintf(log_path, sizeof(log_path), "%s/dnsmasq.log", dnsmasq.dir);
    argv[n++] = "/usr/sbin/dnsmasq";
    argv[n++] = "--no-daemon";
    argv[n++] = "--no-resolv";
    argv[n++] = "--no-hosts";
    argv[n++] = port_arg;
    argv[n++] = "--listen-address=127.0.0.1";
    argv[n++] = "--bind-interfaces";
    argv[n++] = "--conf-file=/dev/null";
    argv[n++] = pid_arg;
    argv[n++] = "--local=/test/";
    argv[n++] = "--local-ttl=45";
    argv[n++] = "--address=/ok.test/192.0.2.10";
    argv[n++] = "--host-record=multi.test,192.0.2.1,300";
    argv[n++] = "--host-record=multi2.test,192.0.2.2,300";
    argv[n++] = "--host-record=v6.test,2001:db8::5,120";
    argv[n++] = "--mx-host=mx.test,mail.mx.test,10";
    argv[n++] = "--txt-record=txt.test,hello world,second";
    argv[n++] = "--srv-host=_sip._tcp.srv.test,sip.srv.test,5060,10,20";
    argv[n++] = "--cname=alias.test,multi.test";
    argv[n++] = "--ptr-record=5.2.0.192.in-addr.arpa,ptr-target.test";
    argv[n++] = "--caa-record=caa.test,0,issue,letsencrypt.org";
    /* NS ns1.test, SOA ns1.test hostmaster.test 2026112801 3600 600 86400 60 */
    argv[n++] = "--dns-rr=zone.test,2,036e73310474657374 00";
    argv[n++] = "--dns-rr=zone.test,6,036e73310474657374 00 0a686f73746d6173746572"
                "0474657374 00 78c40721 00000e10 00000258 00015180 0000003c";
    for (int i = 0; i < TXT_LONG_N; i++) {
        int k = snprintf(longtxt[i], sizeof(longtxt[i]), "--txt-record=big.test,%02d-", i);

        memset(longtxt[i] + k, 'x', 250);
        longtxt[i][k + 250] = '\0';
        argv[n++] = longtxt[i];
    }
    argv[n] = NULL;
    for (int attempt = 0; attempt < 5; attempt++) {
        dnsmasq.port = test_unused_port();
        cr_assert(gt(int, dnsmasq.port, 0));
        snprintf(port_arg, sizeof(port_arg), "--port=%d", dnsmasq.port);
        dnsmasq.pid = proc_spawn(argv, log_path);
        cr_assert(gt(int, dnsmasq.pid, 0), "dnsmasq did not start");
        cr_assert(eq(int, test_wait_until(dnsmasq_answers, &dnsmasq, READY_MS), 0));
        if (proc_alive(dnsmasq.pid))
            break;
        proc_stop(dnsmasq.pid, 100);        /* the port was taken: another one */
        dnsmasq.pid = 0;
    }
    cr_assert(gt(int, dnsmasq.pid, 0), "dnsmasq never came up");
    snprintf(dnsmasq.addr, sizeof(dnsmasq.addr), "127.0.0.1:%d", dnsmasq.port);
}

/* ---- dnsfix ---- */

static int dnsfix_settled(void *arg)
{
    struct server *s = arg;
    char path[300];

    snprintf(path, sizeof(path), "%s/port", s->dir);
    return test_path_exists(path) || !proc_alive(s->pid);
}

static void dnsfix_start_at(struct server *s, const char *mode, const char *bind,
                            const char *delay_ms)
{
    char port_file[300], log_path[300];
    const char *argv[] = { NINES_FIXTURE_DIR "/dnsfix", "--port-file", port_file, "--mode",
                           mode, "--bind", bind, "--delay-ms", delay_ms, NULL };
    char *text;

    cr_assert(eq(int, test_tmpdir(s->dir, sizeof(s->dir)), 0));
    snprintf(port_file, sizeof(port_file), "%s/port", s->dir);
    snprintf(log_path, sizeof(log_path), "%s/dnsfix.log", s->dir);
    s->pid = proc_spawn(argv, log_path);
    cr_assert(gt(int, s->pid, 0));
    cr_assert(eq(int, test_wait_until(dnsfix_settled, s, READY_MS), 0));
    cr_assert(proc_alive(s->pid), "dnsfix exited");
    text = test_read_file(port_file);
    cr_assert(not(eq(ptr, text, NULL)));
    s->port = atoi(text);
    free(text);
    cr_assert(gt(int, s->port, 0));
    snprintf(s->addr, sizeof(s->addr), strchr(bind, ':') ? "[%s]:%d" : "%s:%d", bind, s->port);
}

static void dnsfix_start(struct server *s, const char *mode)
{
    dnsfix_start_at(s, mode, "127.0.0.1", "300");
}

/* Lines of the fixture's log that start with prefix ("query udp", "query tcp"). */
static int dnsfix_count(const struct server *s, const char *prefix)
{
    char path[300];
    char *text;
    int n = 0;

    snprintf(path, sizeof(path), "%s/dnsfix.log", s->dir);
    text = test_read_file(path);
    cr_assert(not(eq(ptr, text, NULL)));
    for (char *p = text; (p = strstr(p, prefix)) != NULL; p++)
        n++;
    free(text);
    return n;
}

/* ---- checks and loops ---- */

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->at_ms = test_now_ms();
    g->r = *r;
}

static char **strv(size_t n, const char *const *items)
{
    char **v;

    if (n == 0)
        return NULL;
    v = calloc(n, sizeof(*v));
    cr_assert(not(eq(ptr, v, NULL)));
    for (size_t i = 0; i < n; i++)
        v[i] = strdup(items[i]);
    return v;
}

/* A DNS check of name/type against one server (NULL: none set); strings are heap. */
static void check_init(struct nines_check *c, const char *server, const char *name,
                       const char *type, int64_t timeout_ms)
{
    memset(c, 0, sizeof(*c));
    nines_check_defaults(c);
    c->id = strdup("dns-check");
    c->kind = NINES_KIND_DNS;
    c->timeout_ms = timeout_ms;
    c->dns.name = strdup(name);
    if (type)
        c->dns.record_type = strdup(type);
    if (server) {
        c->dns.servers = strv(1, &server);
        c->dns.servers_count = 1;
    }
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/*
 * Frees what check_init and the tests allocated. (nines_check_clear would do, but
 * lib/checkopt.c's generic free currently reads int fields as pointers, which UBSan
 * reports as a misaligned load; this keeps the DNS tests independent of it.)
 */
static void check_free(struct nines_check *c)
{
    struct nines_dns_opts *o = &c->dns;

    free(c->id);
    free(o->name);
    free(o->record_type);
    free(o->expect_rcode);
    free(o->answer_regex);
    strv_free(o->servers, o->servers_count);
    strv_free(o->expect_answers, o->expect_answers_count);
    memset(c, 0, sizeof(*c));
}

static void check_expect(struct nines_check *c, enum nines_dns_match m, size_t n,
                         const char *const *answers)
{
    c->dns.match = m;
    c->dns.expect_answers = strv(n, answers);
    c->dns.expect_answers_count = n;
}

static void world_init(struct world *w)
{
    cr_assert(eq(int, uv_loop_init(&w->loop), 0));
    cr_assert(eq(int, check_env_init(&w->env, &w->loop), 0));
    w->started_ms = test_now_ms();
}

static void world_start(struct world *w, const struct nines_check *c, struct got *g)
{
    int calls = g->calls;

    cr_assert(eq(int, check_dns_start(&w->env, c, keep_result, g), 0));
    cr_assert(eq(int, g->calls, calls), "done must never run inside check_dns_start");
}

static void world_close(struct world *w)
{
    check_env_close(&w->env);
    cr_assert(eq(int, uv_run(&w->loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w->loop), 0), "a handle was left open");
}

/* Runs one check to completion on a fresh loop; returns the ms it took. */
static uint64_t run_one(struct nines_check *c, struct got *g)
{
    struct world w;
    uint64_t elapsed;
    int calls = g->calls;

    world_init(&w);
    world_start(&w, c, g);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g->calls, calls + 1));
    elapsed = g->at_ms - w.started_ms;
    world_close(&w);
    cr_assert(eq(int, g->calls, calls + 1), "done ran again at close");
    cr_assert(eq(str, g->r.check_id, "dns-check"));
    cr_assert(ge(i64, g->r.total_us, 0));
    cr_assert(eq(i64, g->r.dns_us, g->r.total_us));
    cr_assert(eq(i64, g->r.connect_us, -1));
    check_free(c);
    return elapsed;
}

/* ---- facts ---- */

static json_t *facts_of(const struct got *g)
{
    json_error_t err;
    json_t *j = json_loads(g->r.facts, 0, &err);
    char *again;

    cr_assert(not(eq(ptr, j, NULL)), "facts are not JSON: %s", g->r.facts);
    cr_assert(lt(sz, strlen(g->r.facts), (size_t)NINES_FACTS_LEN));
    again = json_dumps(j, JSON_COMPACT);
    cr_assert(not(eq(ptr, again, NULL)));
    /* written byte for byte as jansson writes the same document */
    cr_assert(eq(str, again, (char *)g->r.facts));
    free(again);
    return j;
}

/* A string member of o, or "" when it is missing. */
static char *js(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return (char *)(v ? v : "");
}

/* The answers of the facts, as "TYPE data ttl" lines, sorted as received. */
static void facts_answers(const struct got *g, char *out, size_t len)
{
    json_t *j = facts_of(g);
    json_t *answers = json_object_get(j, "answers");
    size_t i;
    json_t *a;
    size_t used = 0;

    int is_array = json_is_array(answers);

    out[0] = '\0';
    cr_assert(is_array, "no answers in %s", g->r.facts);
    json_array_foreach(answers, i, a) {
        int k = snprintf(out + used, len - used, "%s%s %s %lld", i ? "|" : "", js(a, "type"),
                         js(a, "data"),
                         (long long)json_integer_value(json_object_get(a, "ttl")));

        cr_assert(k > 0 && (size_t)k < len - used);
        used += (size_t)k;
    }
    json_decref(j);
}

static void assert_facts_head(const struct got *g, const char *rcode, const char *server)
{
    json_t *j = facts_of(g);

    cr_assert(eq(str, js(j, "rcode"), (char *)rcode), "%s", g->r.facts);
    if (server)
        cr_assert(eq(str, js(j, "server"), (char *)server), "%s", g->r.facts);
    json_decref(j);
}

/* Runs name/type against dnsmasq and asserts OK with exactly these answers. */
static void expect_ok_answers(const char *name, const char *type, const char *want)
{
    struct nines_check c;
    struct got g = { 0 };
    char answers[2048];

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, name, type, 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.message, ""));
    cr_assert(eq(int, g.r.code, 0));
    facts_answers(&g, answers, sizeof(answers));
    cr_assert(eq(str, answers, (char *)want));
    assert_facts_head(&g, "NOERROR", dnsmasq.addr);
}

/* ---- answers from a real server ---- */

Test(dns, a_record)
{
    int64_t before = nines_wall_ms();
    struct nines_check c;
    struct got g = { 0 };
    char want[256];

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "ok.test", NULL, 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(ge(i64, g.r.start_ms, before));
    cr_assert(le(i64, g.r.start_ms, nines_wall_ms()));
    cr_assert(lt(i64, g.r.total_us, 1000000));
    cr_assert(eq(str, g.r.warning, ""));
    snprintf(want, sizeof(want), "{\"answers\":[{\"type\":\"A\",\"data\":\"192.0.2.10\","
             "\"ttl\":45}],\"rcode\":\"NOERROR\",\"server\":\"%s\"}", dnsmasq.addr);
    cr_assert(eq(str, g.r.facts, want));
}

Test(dns, a_record_ttl_from_host_record)
{
    expect_ok_answers("multi.test", "A", "A 192.0.2.1 300");
}

Test(dns, aaaa_record)
{
    expect_ok_answers("v6.test", "AAAA", "AAAA 2001:db8::5 120");
}

Test(dns, mx_record)
{
    expect_ok_answers("mx.test", "MX", "MX 10 mail.mx.test 45");
}

Test(dns, txt_strings_are_concatenated)
{
    expect_ok_answers("txt.test", "TXT", "TXT hello worldsecond 45");
}

Test(dns, srv_record)
{
    expect_ok_answers("_sip._tcp.srv.test", "SRV", "SRV 10 20 5060 sip.srv.test 45");
}

Test(dns, cname_record)
{
    expect_ok_answers("alias.test", "CNAME", "CNAME multi.test 45");
}

Test(dns, a_through_cname_lists_the_chain)
{
    expect_ok_answers("alias.test", "A", "CNAME multi.test 45|A 192.0.2.1 300");
}

Test(dns, ptr_by_name)
{
    expect_ok_answers("5.2.0.192.in-addr.arpa", "PTR", "PTR ptr-target.test 45");
}

Test(dns, ptr_by_address_is_reversed)
{
    expect_ok_answers("192.0.2.5", "ptr", "PTR ptr-target.test 45");
}

Test(dns, caa_record)
{
    expect_ok_answers("caa.test", "CAA", "CAA 0 issue letsencrypt.org 45");
}

Test(dns, ns_record)
{
    expect_ok_answers("zone.test", "NS", "NS ns1.test 45");
}

Test(dns, soa_record)
{
    expect_ok_answers("zone.test", "SOA",
                      "SOA ns1.test hostmaster.test 2026112801 3600 600 86400 60 45");
}

Test(dns, tcp_only_against_dnsmasq)
{
    struct nines_check c;
    struct got g = { 0 };
    char answers[256];

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "multi.test", "A", 2000);
    c.dns.tcp = 1;
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    facts_answers(&g, answers, sizeof(answers));
    cr_assert(eq(str, answers, "A 192.0.2.1 300"));
    assert_facts_head(&g, "NOERROR", dnsmasq.addr);
}

/* 24 TXT records of 254 bytes: truncated over UDP, fetched over TCP, facts cut to fit. */
Test(dns, large_reply_over_tcp_fallback_facts_fit)
{
    struct nines_check c;
    struct got g = { 0 };
    json_t *j;
    json_t *answers;
    char *one;

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "big.test", "TXT", 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    j = facts_of(&g);
    answers = json_object_get(j, "answers");
    cr_assert(gt(sz, json_array_size(answers), 5));
    cr_assert(lt(sz, json_array_size(answers), (size_t)TXT_LONG_N));
    cr_assert(eq(i64, (int64_t)json_array_size(answers) +
                      json_integer_value(json_object_get(j, "answers_omitted")),
                 TXT_LONG_N));
    cr_assert(eq(str, js(j, "rcode"), "NOERROR"));
    /* as many answers as fit: one more would not (give or take a digit
     * of answers_omitted) */
    one = json_dumps(json_array_get(answers, 0), JSON_COMPACT);
    cr_assert(not(eq(ptr, one, NULL)));
    cr_assert(ge(sz, strlen(g.r.facts) + 1 + strlen(one), (size_t)NINES_FACTS_LEN - 1),
              "%zu + %zu", strlen(g.r.facts), strlen(one));
    free(one);
    json_decref(j);
}

/* ---- expectations ---- */

struct expect_case {
    char name[32];
    char type[8];
    int match;                  /* enum nines_dns_match */
    int n;
    char answers[3][48];
    char regex[48];
    int ok;
};

ParameterizedTestParameters(dns, expectations)
{
    static struct expect_case cases[] = {
        { "multi.test", "A", NINES_DNS_MATCH_EXACT, 1, { "192.0.2.1" }, "", 1 },
        { "multi.test", "A", NINES_DNS_MATCH_EXACT, 2, { "192.0.2.1", "192.0.2.2" }, "", 0 },
        { "multi.test", "A", NINES_DNS_MATCH_INCLUDE, 1, { "192.0.2.1" }, "", 1 },
        { "multi.test", "A", NINES_DNS_MATCH_INCLUDE, 1, { "192.0.2.9" }, "", 0 },
        { "multi.test", "A", NINES_DNS_MATCH_NONE, 1, { "192.0.2.9" }, "", 0 },
        { "v6.test", "AAAA", NINES_DNS_MATCH_EXACT, 1, { "2001:0db8:0:0::5" }, "", 1 },
        { "mx.test", "MX", NINES_DNS_MATCH_EXACT, 1, { "10  MAIL.mx.test." }, "", 1 },
        { "mx.test", "MX", NINES_DNS_MATCH_EXACT, 1, { "20 mail.mx.test" }, "", 0 },
        { "txt.test", "TXT", NINES_DNS_MATCH_EXACT, 1, { "hello worldsecond" }, "", 1 },
        { "txt.test", "TXT", NINES_DNS_MATCH_EXACT, 1, { "Hello worldsecond" }, "", 0 },
        { "alias.test", "A", NINES_DNS_MATCH_EXACT, 1, { "192.0.2.1" }, "", 1 },
        { "multi.test", "A", NINES_DNS_MATCH_NONE, 0, { "" }, "^192\\.0\\.2\\.1$", 1 },
        { "multi.test", "A", NINES_DNS_MATCH_NONE, 0, { "" }, "^10\\.", 0 },
        { "mx.test", "MX", NINES_DNS_MATCH_INCLUDE, 1, { "10 mail.mx.test" }, "^10 ", 1 },
        { "caa.test", "CAA", NINES_DNS_MATCH_EXACT, 1, { "0 issue letsencrypt.org" }, "", 1 },
        /* exact with an empty list: no record of that type is what is wanted */
        { "multi.test", "AAAA", NINES_DNS_MATCH_EXACT, 0, { "" }, "", 1 },
        { "ok.test", "A", NINES_DNS_MATCH_EXACT, 0, { "" }, "", 0 },
    };

    return cr_make_param_array(struct expect_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct expect_case *p, dns, expectations)
{
    struct nines_check c;
    struct got g = { 0 };
    const char *answers[3] = { p->answers[0], p->answers[1], p->answers[2] };

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, p->name, p->type, 2000);
    if (p->n > 0 || p->match != NINES_DNS_MATCH_NONE)
        check_expect(&c, (enum nines_dns_match)p->match, (size_t)p->n, answers);
    if (p->regex[0])
        c.dns.answer_regex = strdup(p->regex);
    run_one(&c, &g);
    if (p->ok) {
        cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
        cr_assert(eq(str, g.r.reason, ""));
    } else {
        cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
        cr_assert(eq(str, g.r.reason, "dns_answer_mismatch"), "%s", g.r.message);
        cr_assert(not(eq(str, g.r.message, "")));
    }
}

/* The messages say what differs. */
Test(dns, mismatch_messages)
{
    const char *want9 = "192.0.2.9";
    struct nines_check c;
    struct got g = { 0 };

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "multi.test", NULL, 2000);
    check_expect(&c, NINES_DNS_MATCH_INCLUDE, 1, &want9);
    run_one(&c, &g);
    cr_assert(eq(str, g.r.message, "expected answer 192.0.2.9 missing; got 192.0.2.1"));

    check_init(&c, dnsmasq.addr, "ok.test", NULL, 2000);
    check_expect(&c, NINES_DNS_MATCH_EXACT, 0, NULL);
    run_one(&c, &g);
    cr_assert(eq(str, g.r.message, "unexpected answer 192.0.2.10; got 192.0.2.10"));

    check_init(&c, dnsmasq.addr, "mx.test", "MX", 2000);
    c.dns.answer_regex = strdup("^20 ");
    run_one(&c, &g);
    cr_assert(eq(str, g.r.reason, "dns_answer_mismatch"));
    cr_assert(eq(str, g.r.message, "answer 10 mail.mx.test does not match answer_regex"));
    cr_assert(eq(int, g.calls, 3));
}

/* ---- rcodes and empty answers ---- */

Test(dns, unknown_local_name_is_nxdomain)
{
    struct nines_check c;
    struct got g = { 0 };

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "nothere.test", NULL, 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_nxdomain"));
    cr_assert(eq(int, g.r.code, 3));
    cr_assert(eq(str, g.r.message, "NXDOMAIN for nothere.test, expected NOERROR"));
    assert_facts_head(&g, "NXDOMAIN", dnsmasq.addr);
}

Test(dns, expected_nxdomain_is_ok)
{
    struct nines_check c;
    struct got g = { 0 };

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "nothere.test", NULL, 2000);
    c.dns.expect_rcode = strdup("nxdomain");
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(int, g.r.code, 3));
}

Test(dns, noerror_when_nxdomain_expected_is_rcode)
{
    struct nines_check c;
    struct got g = { 0 };

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "ok.test", NULL, 2000);
    c.dns.expect_rcode = strdup("NXDOMAIN");
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_rcode"));
    cr_assert(eq(int, g.r.code, 0));
}

Test(dns, no_record_of_that_type_is_no_answer)
{
    struct nines_check c;
    struct got g = { 0 };

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "multi.test", "AAAA", 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_no_answer"));
    cr_assert(eq(str, g.r.message, "no AAAA record for multi.test"));
    cr_assert(eq(int, g.r.code, 0));
}

/* No upstream for names outside test/: dnsmasq refuses them. */
Test(dns, name_without_upstream_is_refused)
{
    struct nines_check c;
    struct got g = { 0 };

    dnsmasq_start();
    check_init(&c, dnsmasq.addr, "example.com", NULL, 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_refused"), "%s", g.r.message);
    cr_assert(eq(int, g.r.code, 5));
}

/* ---- hostile and broken servers ---- */

Test(dns, servfail)
{
    struct nines_check c;
    struct got g = { 0 };
    uint64_t ms;

    dnsfix_start(&fixes[0], "servfail");
    check_init(&c, fixes[0].addr, "any.example", NULL, 2000);
    ms = run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_servfail"));
    cr_assert(eq(int, g.r.code, 2));
    cr_assert(lt(u64, ms, 1000));
    assert_facts_head(&g, "SERVFAIL", fixes[0].addr);
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 1), "one server: no retry");
}

Test(dns, refused_by_fixture)
{
    struct nines_check c;
    struct got g = { 0 };

    dnsfix_start(&fixes[0], "refused");
    check_init(&c, fixes[0].addr, "any.example", NULL, 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_refused"));
    cr_assert(eq(int, g.r.code, 5));
}

/* Several servers: c-ares fails over from a SERVFAIL to the next, which answers. */
Test(dns, servfail_fails_over_to_the_next_server)
{
    struct nines_check c;
    struct got g = { 0 };
    const char *servers[2];

    dnsfix_start(&fixes[0], "servfail");
    dnsfix_start(&fixes[1], "ok");
    servers[0] = fixes[0].addr;
    servers[1] = fixes[1].addr;
    check_init(&c, NULL, "any.example", NULL, 2000);
    c.dns.servers = strv(2, servers);
    c.dns.servers_count = 2;
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    assert_facts_head(&g, "NOERROR", fixes[1].addr);
}

/* Runs c on w's env to completion (the env, and its idle channels, stay). */
static void run_on(struct world *w, const struct nines_check *c, struct got *g)
{
    int calls = g->calls;

    world_start(w, c, g);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g->calls, calls + 1));
}

/*
 * One env runs checks one after another, as the probe does: a channel whose
 * query ended is reused, yet every run sends a query of its own (the server
 * sees each), a run that hit its deadline on a silent server does not
 * disturb the next, and a TCP-only check with the same server is not served
 * by a UDP channel.
 */
Test(dns, reused_channels_still_ask_every_run)
{
    struct nines_check ok, tcp, silent;
    struct got g = { 0 };
    struct world w;

    dnsfix_start(&fixes[0], "ok");
    dnsfix_start(&fixes[1], "silent");
    check_init(&ok, fixes[0].addr, "any.example", NULL, 2000);
    check_init(&tcp, fixes[0].addr, "any.example", NULL, 2000);
    tcp.dns.tcp = 1;
    check_init(&silent, fixes[1].addr, "any.example", NULL, 300);
    world_init(&w);
    for (int i = 0; i < 5; i++) {
        run_on(&w, &ok, &g);
        cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "run %d: %s", i, g.r.message);
        assert_facts_head(&g, "NOERROR", fixes[0].addr);
    }
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 5), "a query per run");
    run_on(&w, &silent, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    run_on(&w, &silent, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    run_on(&w, &tcp, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query tcp"), 1), "TCP-only asked over TCP");
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 5));
    run_on(&w, &ok, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 6));
    world_close(&w);
    check_free(&ok);
    check_free(&tcp);
    check_free(&silent);
}

/* c-ares alone would give up at 1.5 x the timeout: the engine's deadline rules. */
Test(dns, silent_server_times_out_at_the_deadline)
{
    struct nines_check c;
    struct got g = { 0 };
    char want[128];
    uint64_t ms;

    dnsfix_start(&fixes[0], "silent");
    check_init(&c, fixes[0].addr, "any.example", NULL, 600);
    ms = run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "dns_timeout"));
    snprintf(want, sizeof(want), "no answer from %s within 600 ms", fixes[0].addr);
    cr_assert(eq(str, g.r.message, want));
    cr_assert(ge(u64, ms, 590));
    cr_assert(lt(u64, ms, 600 + MARGIN_MS));
    cr_assert(ge(i64, g.r.total_us, 590000));
    cr_assert(eq(int, g.r.code, 0));
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 2), "one resend, halfway");
    assert_facts_head(&g, "", fixes[0].addr);
}

Test(dns, silent_server_over_tcp_times_out_at_the_deadline)
{
    struct nines_check c;
    struct got g = { 0 };
    uint64_t ms;

    dnsfix_start(&fixes[0], "silent");
    check_init(&c, fixes[0].addr, "any.example", NULL, 300);
    c.dns.tcp = 1;
    ms = run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT), "%s %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, "dns_timeout"));
    cr_assert(ge(u64, ms, 290), "ended early: %s (%lld us)", g.r.message,
              (long long)g.r.total_us);
    cr_assert(lt(u64, ms, 300 + MARGIN_MS));
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 0));
}

/* UDP says "truncated", TCP stays silent: still a timeout at the deadline, not before. */
Test(dns, truncated_then_silent_tcp_times_out_at_the_deadline)
{
    struct nines_check c;
    struct got g = { 0 };
    uint64_t ms;

    dnsfix_start(&fixes[0], "tc-silent");
    check_init(&c, fixes[0].addr, "any.example", NULL, 400);
    ms = run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT), "%s", g.r.message);
    cr_assert(eq(str, g.r.reason, "dns_timeout"));
    cr_assert(ge(u64, ms, 390));
    cr_assert(lt(u64, ms, 400 + MARGIN_MS));
    cr_assert(ge(int, dnsfix_count(&fixes[0], "query tcp"), 1));
}

Test(dns, garbage_reply_is_bad_reply)
{
    struct nines_check c;
    struct got g = { 0 };
    uint64_t ms;

    dnsfix_start(&fixes[0], "garbage");
    check_init(&c, fixes[0].addr, "any.example", NULL, 2000);
    ms = run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_bad_reply"));
    cr_assert(eq(str, g.r.message, "malformed reply: rdlength runs past the end"));
    cr_assert(lt(u64, ms, 1000));
}

Test(dns, truncated_udp_falls_back_to_tcp)
{
    struct nines_check c;
    struct got g = { 0 };
    char answers[256];

    dnsfix_start(&fixes[0], "truncated");
    check_init(&c, fixes[0].addr, "any.example", NULL, 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    facts_answers(&g, answers, sizeof(answers));
    cr_assert(eq(str, answers, "A 192.0.2.77 77"));
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 1));
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query tcp"), 1));
}

Test(dns, tcp_only_never_uses_udp)
{
    struct nines_check c;
    struct got g = { 0 };
    char answers[256];

    dnsfix_start(&fixes[0], "truncated");
    check_init(&c, fixes[0].addr, "any.example", NULL, 2000);
    c.dns.tcp = 1;
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    facts_answers(&g, answers, sizeof(answers));
    cr_assert(eq(str, answers, "A 192.0.2.77 77"));
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query udp"), 0));
    cr_assert(eq(int, dnsfix_count(&fixes[0], "query tcp"), 1));
}

Test(dns, slow_answer_within_the_deadline_is_ok)
{
    struct nines_check c;
    struct got g = { 0 };

    dnsfix_start_at(&fixes[0], "slow", "127.0.0.1", "150");
    check_init(&c, fixes[0].addr, "any.example", NULL, 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    /* the fixture's 150 ms timer runs on libuv's cached loop time and can
     * fire a millisecond early, as the other deadline tests allow for */
    cr_assert(ge(i64, g.r.total_us, 148000));
    cr_assert(lt(i64, g.r.total_us, 1000000));
}

Test(dns, slow_answer_after_the_deadline_is_timeout)
{
    struct nines_check c;
    struct got g = { 0 };
    uint64_t ms;

    dnsfix_start_at(&fixes[0], "slow", "127.0.0.1", "700");
    check_init(&c, fixes[0].addr, "any.example", NULL, 300);
    ms = run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_TIMEOUT));
    cr_assert(eq(str, g.r.reason, "dns_timeout"));
    cr_assert(lt(u64, ms, 300 + MARGIN_MS));
}

Test(dns, closed_port_is_connection_refused)
{
    struct nines_check c;
    struct got g = { 0 };
    char server[SERVER_LEN];
    uint64_t ms;

    /* A UDP port nothing listens on: the kernel answers ICMP port unreachable. */
    snprintf(server, sizeof(server), "127.0.0.1:%d", test_unused_port());
    check_init(&c, server, "any.example", NULL, 2000);
    ms = run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "dns_connection_refused"), "%s", g.r.message);
    cr_assert(lt(u64, ms, 1000));
}

Test(dns, ipv6_server)
{
    struct nines_check c;
    struct got g = { 0 };
    char answers[256];

    dnsfix_start_at(&fixes[0], "ok", "::1", "0");
    check_init(&c, fixes[0].addr, "any.example", "AAAA", 2000);
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s", g.r.message);
    facts_answers(&g, answers, sizeof(answers));
    cr_assert(eq(str, answers, "AAAA 2001:db8::1 60"));
    assert_facts_head(&g, "NOERROR", fixes[0].addr);
}

/* ---- the loop: concurrency and cancellation ---- */

Test(dns, healthy_check_is_not_held_up_by_a_silent_one)
{
    struct world w;
    struct nines_check slow_c;
    struct nines_check fast_c;
    struct got slow_g = { 0 };
    struct got fast_g = { 0 };

    dnsmasq_start();
    dnsfix_start(&fixes[0], "silent");
    check_init(&slow_c, fixes[0].addr, "any.example", NULL, 800);
    check_init(&fast_c, dnsmasq.addr, "ok.test", NULL, 800);
    world_init(&w);
    world_start(&w, &slow_c, &slow_g);
    world_start(&w, &fast_c, &fast_g);
    check_free(&slow_c);                /* the engine copied what it needs */
    check_free(&fast_c);
    while (fast_g.calls == 0 && uv_run(&w.loop, UV_RUN_ONCE) != 0)
        ;
    cr_assert(eq(int, fast_g.calls, 1));
    cr_assert(eq(int, fast_g.r.outcome, NINES_OUTCOME_OK), "%s", fast_g.r.message);
    cr_assert(lt(u64, fast_g.at_ms - w.started_ms, 200));
    cr_assert(eq(int, slow_g.calls, 0), "the silent check is still pending");
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, slow_g.calls, 1));
    cr_assert(eq(str, slow_g.r.reason, "dns_timeout"));
    cr_assert(lt(u64, slow_g.at_ms - w.started_ms, 800 + MARGIN_MS));
    world_close(&w);
}

Test(dns, many_checks_at_once)
{
    enum { N = 40 };
    struct world w;
    struct nines_check c;
    static struct got g[N];

    dnsmasq_start();
    world_init(&w);
    for (int i = 0; i < N; i++) {
        check_init(&c, dnsmasq.addr, i % 2 ? "multi.test" : "nothere.test", NULL, 2000);
        world_start(&w, &c, &g[i]);
        check_free(&c);
    }
    uv_run(&w.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++) {
        cr_assert(eq(int, g[i].calls, 1));
        cr_assert(eq(str, g[i].r.reason, i % 2 ? "" : "dns_nxdomain"));
    }
    world_close(&w);
}

Test(dns, env_close_cancels_a_query_in_flight)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };

    dnsfix_start(&fixes[0], "silent");
    check_init(&c, fixes[0].addr, "any.example", NULL, 5000);
    world_init(&w);
    world_start(&w, &c, &g);
    check_free(&c);
    /* let the query go out */
    uv_run(&w.loop, UV_RUN_NOWAIT);
    cr_assert(eq(int, g.calls, 0));
    check_env_close(&w.env);
    cr_assert(eq(int, g.calls, 0), "done runs from the loop, not inside check_env_close");
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(lt(u64, g.at_ms - w.started_ms, 1000));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0), "a handle was left open");
}

Test(dns, start_after_close_is_refused)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };

    world_init(&w);
    check_env_close(&w.env);
    check_init(&c, "127.0.0.1:53", "ok.test", NULL, 1000);
    cr_assert(eq(int, check_dns_start(&w.env, &c, keep_result, &g), NINES_ESTATE));
    check_free(&c);
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
    cr_assert(eq(int, g.calls, 0));
}

/* ---- ares_uv on its own: synchronous callbacks and deferred destruction ---- */

struct au_seen {
    struct ares_uv *au;
    int answers;
    int status;
    int closed;
    int close_inside;           /* call ares_uv_close from inside the callback */
};

static void au_on_closed(void *arg)
{
    ((struct au_seen *)arg)->closed++;
}

static void au_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct au_seen *s = arg;

    (void)timeouts;
    (void)abuf;
    (void)alen;
    s->answers++;
    s->status = status;
    if (s->close_inside)
        ares_uv_close(s->au, au_on_closed, s);  /* c-ares is on the stack: deferred */
}

static struct ares_uv *au_new(uv_loop_t *loop, int port)
{
    struct ares_addr_port_node node = { .family = AF_INET };
    struct ares_options opts = { .flags = ARES_FLAG_NOCHECKRESP, .timeout = 5000, .tries = 1 };
    struct ares_uv *au = NULL;

    node.addr.addr4.s_addr = htonl(INADDR_LOOPBACK);
    node.udp_port = port;
    node.tcp_port = port;
    cr_assert(eq(int, ares_uv_new(loop, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
                                  ARES_OPT_TRIES | ARES_OPT_SERVERS, &node, &au), 0));
    return au;
}

Test(dns, ares_uv_close_inside_a_synchronous_callback_is_deferred)
{
    char label[80];
    uv_loop_t loop;
    struct au_seen s = { .close_inside = 1 };

    memset(label, 'x', 70);     /* a label over 63 bytes: c-ares calls back at once */
    label[70] = '\0';
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    s.au = au_new(&loop, 9);
    cr_assert(eq(int, ares_uv_query(s.au, label, 1, au_on_answer, &s), 0));
    cr_assert(eq(int, s.answers, 1));
    cr_assert(eq(int, s.status, ARES_EBADNAME));
    cr_assert(eq(int, s.closed, 0), "closed runs from the loop");
    cr_assert(eq(int, ares_uv_query(s.au, "ok.test", 1, au_on_answer, &s), NINES_ESTATE));
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, s.closed, 1));
    cr_assert(eq(int, s.answers, 1));
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

/* Inside ares_process_fd: c-ares still uses the channel after the callback returns. */
Test(dns, ares_uv_close_inside_an_answer_callback)
{
    uv_loop_t loop;
    struct au_seen s = { .close_inside = 1 };

    dnsfix_start(&fixes[0], "ok");
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    s.au = au_new(&loop, fixes[0].port);
    cr_assert(eq(int, ares_uv_query(s.au, "ok.test", 1, au_on_answer, &s), 0));
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, s.answers, 1));
    cr_assert(eq(int, s.status, ARES_SUCCESS));
    cr_assert(eq(int, s.closed, 1));
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

Test(dns, ares_uv_close_with_a_query_pending)
{
    uv_loop_t loop;
    struct au_seen s = { 0 };

    dnsfix_start(&fixes[0], "silent");
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    s.au = au_new(&loop, fixes[0].port);
    cr_assert(eq(int, ares_uv_query(s.au, "ok.test", 1, au_on_answer, &s), 0));
    cr_assert(eq(int, uv_run(&loop, UV_RUN_NOWAIT), 1), "socket and timer are active");
    cr_assert(eq(int, s.answers, 0));
    ares_uv_close(s.au, au_on_closed, &s);
    cr_assert(eq(int, s.answers, 1), "ares_destroy calls back at once");
    cr_assert(eq(int, s.status, ARES_EDESTRUCTION));
    ares_uv_close(s.au, au_on_closed, &s);      /* a second call is a no-op */
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, s.closed, 1));
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

/* ---- bad options are refused at start, with nothing left behind ---- */

struct bad_option {
    char server[48];
    char name[80];
    char type[8];
    char rcode[12];
    char regex[16];
    char answer[24];
    int timeout_ms;
};

ParameterizedTestParameters(dns, bad_options)
{
    static struct bad_option cases[] = {
        { "127.0.0.1:0", "ok.test", "A", "", "", "", 1000 },
        { "127.0.0.1:65536", "ok.test", "A", "", "", "", 1000 },
        { "127.0.0.1:53x", "ok.test", "A", "", "", "", 1000 },
        { "127.0.0.1,127.0.0.2", "ok.test", "A", "", "", "", 1000 },
        { "[::1", "ok.test", "A", "", "", "", 1000 },
        { "[::1]53", "ok.test", "A", "", "", "", 1000 },
        { "dns.example", "ok.test", "A", "", "", "", 1000 },
        { "", "ok.test", "A", "", "", "", 1000 },
        { "127.0.0.1", "", "A", "", "", "", 1000 },
        { "127.0.0.1", "a..b", "A", "", "", "", 1000 },
        { "127.0.0.1", "has space.test", "A", "", "", "", 1000 },
        { "127.0.0.1", "x234567890123456789012345678901234567890123456789012345678901234.t",
          "A", "", "", "", 1000 },
        { "127.0.0.1", "ok.test", "AXFR", "", "", "", 1000 },
        { "127.0.0.1", "ok.test", "A", "NOPE", "", "", 1000 },
        { "127.0.0.1", "ok.test", "A", "", "(", "", 1000 },
        { "127.0.0.1", "ok.test", "A", "", "", "not-an-ip", 1000 },
        { "127.0.0.1", "ok.test", "AAAA", "", "", "192.0.2.1", 1000 },
        { "127.0.0.1", "ok.test", "A", "", "", "", 0 },
    };

    return cr_make_param_array(struct bad_option, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_option *p, dns, bad_options)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    const char *answer = p->answer;

    check_init(&c, p->server, p->name, p->type, p->timeout_ms);
    if (p->rcode[0])
        c.dns.expect_rcode = strdup(p->rcode);
    if (p->regex[0])
        c.dns.answer_regex = strdup(p->regex);
    if (p->answer[0])
        check_expect(&c, NINES_DNS_MATCH_EXACT, 1, &answer);
    world_init(&w);
    cr_assert(eq(int, check_dns_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_free(&c);
    world_close(&w);
    cr_assert(eq(int, g.calls, 0));
}

/* ---- the reply parser ---- */

#define PKT_MAX 600

struct pkt_case {
    char what[48];
    int len;
    unsigned char pkt[PKT_MAX];
    int ok;                     /* 1: parses; 0: rejected */
    char first[96];             /* ok: the first answer's text */
    int count;                  /* ok: answers kept */
};

/* Header: id 1, QR|RD, RA, rcode 0, qd=1, an=ancount; then "a.test" A IN. */
#define HDR(an) 0, 1, 0x81, 0x80, 0, 1, 0, (an), 0, 0, 0, 0
#define QNAME 1, 'a', 4, 't', 'e', 's', 't', 0
#define Q QNAME, 0, 1, 0, 1
#define RRHEAD(type, rdlen) 0xC0, 12, 0, (type), 0, 1, 0, 0, 0x0e, 0x10, 0, (rdlen)

#define PKT(...) sizeof((unsigned char[]){ __VA_ARGS__ }), { __VA_ARGS__ }

ParameterizedTestParameters(dns_parse, table)
{
    static struct pkt_case cases[] = {
        /* good */
        { "a record", PKT(HDR(1), Q, RRHEAD(1, 4), 192, 0, 2, 1), 1, "192.0.2.1", 1 },
        { "aaaa", PKT(HDR(1), Q, RRHEAD(28, 16), 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
                      0, 0, 0, 1), 1, "2001:db8::1", 1 },
        { "ns via pointer", PKT(HDR(1), Q, RRHEAD(2, 5), 2, 'n', 's', 0xC0, 12), 1,
          "ns.a.test", 1 },
        { "mx", PKT(HDR(1), Q, RRHEAD(15, 4), 0, 10, 0xC0, 12), 1, "10 a.test", 1 },
        { "srv", PKT(HDR(1), Q, RRHEAD(33, 8), 0, 1, 0, 2, 0, 3, 0xC0, 12), 1,
          "1 2 3 a.test", 1 },
        { "soa", PKT(HDR(1), Q, RRHEAD(6, 26), 0xC0, 12, 1, 'h', 0xC0, 12, 0, 0, 0, 1, 0, 0,
                     0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5), 1, "a.test h.a.test 1 2 3 4 5",
          1 },
        { "txt escapes", PKT(HDR(1), Q, RRHEAD(16, 8), 3, 'a', 0x01, 'b', 3, 0xC3, 0xA9, 0xFF),
          1, "a\\001b\xC3\xA9\\255", 1 },
        { "txt empty string", PKT(HDR(1), Q, RRHEAD(16, 1), 0), 1, "", 1 },
        { "caa ok", PKT(HDR(1), Q, 0xC0, 12, 1, 1, 0, 1, 0, 0, 0, 1, 0, 9, 128, 5, 'i', 's',
                        's', 'u', 'e', 'c', 'a'), 1, "128 issue ca", 1 },
        { "label with dot", PKT(HDR(1), Q, RRHEAD(5, 5), 3, 'a', '.', ' ', 0), 1,
          "a\\.\\032", 1 },
        { "root name", PKT(HDR(1), Q, RRHEAD(5, 1), 0), 1, ".", 1 },
        { "unknown type", PKT(HDR(1), Q, 0xC0, 12, 0, 99, 0, 1, 0, 0, 0, 1, 0, 2, 0xAB, 0xCD),
          1, "\\# 2 abcd", 1 },
        { "nxdomain no answers", PKT(0, 1, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0, Q), 1, "", 0 },
        { "two answers", PKT(HDR(2), Q, RRHEAD(1, 4), 1, 2, 3, 4, RRHEAD(1, 4), 5, 6, 7, 8), 1,
          "1.2.3.4", 2 },
        { "chained pointers", PKT(HDR(2), Q, RRHEAD(5, 4), 1, 'y', 0xC0, 12, 0xC0, 36, 0, 5,
                                  0, 1, 0, 0, 0, 1, 0, 2, 0xC0, 36), 1, "y.a.test", 2 },
        /* hostile */
        { "zero length", 0, { 0 }, 0, "", 0 },
        { "truncated header", PKT(0, 1, 0x81, 0x80, 0, 1), 0, "", 0 },
        { "not a response", PKT(0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, Q), 0, "", 0 },
        { "question cut", PKT(HDR(0), QNAME, 0), 0, "", 0 },
        { "qname past end", PKT(HDR(0), 9, 'a'), 0, "", 0 },
        { "label past end", PKT(HDR(0), 40, 'a', 'b', 'c', 0, 0, 1, 0, 1), 0, "", 0 },
        { "pointer past end", PKT(HDR(1), Q, 0xC0, 0xF0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0), 0, "",
          0 },
        { "pointer forward", PKT(HDR(1), Q, 0xC0, 31, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4,
                                 1, 'x', 0), 0, "", 0 },
        { "pointer to itself", PKT(HDR(1), Q, 0xC0, 24, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3,
                                   4), 0, "", 0 },
        { "compression loop", PKT(HDR(1), Q, RRHEAD(5, 4), 1, 'x', 0xC0, 36), 0, "", 0 },
        { "pointer ping-pong", PKT(HDR(1), Q, RRHEAD(5, 4), 0xC0, 38, 0xC0, 36), 0, "", 0 },

        { "pointer into header", PKT(HDR(1), Q, 0xC0, 2, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3,
                                     4), 0, "", 0 },
        { "pointer cut short", PKT(HDR(1), Q, 0xC0), 0, "", 0 },
        { "extended label", PKT(HDR(1), Q, 0x41, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0), 0, "", 0 },
        { "rdlength past end", PKT(HDR(1), Q, RRHEAD(1, 200), 1, 2), 0, "", 0 },
        { "record head cut", PKT(HDR(1), Q, 0xC0, 12, 0, 1, 0, 1, 0), 0, "", 0 },
        { "a zero rdlength", PKT(HDR(1), Q, RRHEAD(1, 0), HDR(0)), 0, "", 0 },
        { "a wrong length", PKT(HDR(1), Q, RRHEAD(1, 3), 1, 2, 3), 0, "", 0 },
        { "aaaa wrong length", PKT(HDR(1), Q, RRHEAD(28, 4), 1, 2, 3, 4), 0, "", 0 },
        { "name past rdata", PKT(HDR(1), Q, RRHEAD(5, 2), 3, 'a', 'b', 'c', 0), 0, "", 0 },
        { "rdata longer than name", PKT(HDR(1), Q, RRHEAD(5, 3), 0, 1, 2), 0, "", 0 },
        { "mx too short", PKT(HDR(1), Q, RRHEAD(15, 2), 0, 10), 0, "", 0 },
        { "srv too short", PKT(HDR(1), Q, RRHEAD(33, 6), 0, 1, 0, 2, 0, 3), 0, "", 0 },
        { "soa numbers short", PKT(HDR(1), Q, RRHEAD(6, 6), 0xC0, 12, 0xC0, 12, 0, 1), 0, "",
          0 },
        { "txt string past rdata", PKT(HDR(1), Q, RRHEAD(16, 3), 9, 'a', 'b'), 0, "", 0 },
        { "caa tag too long", PKT(HDR(1), Q, 0xC0, 12, 1, 1, 0, 1, 0, 0, 0, 1, 0, 4, 0, 9, 'a',
                                  'b'), 0, "", 0 },
        { "caa tag empty", PKT(HDR(1), Q, 0xC0, 12, 1, 1, 0, 1, 0, 0, 0, 1, 0, 2, 0, 0), 0, "",
          0 },
        { "caa tag not alnum", PKT(HDR(1), Q, 0xC0, 12, 1, 1, 0, 1, 0, 0, 0, 1, 0, 3, 0, 1,
                                   '-'), 0, "", 0 },
        { "huge ancount", PKT(0, 1, 0x81, 0x80, 0, 1, 0xFF, 0xFF, 0, 0, 0, 0, Q, RRHEAD(1, 4),
                              1, 2, 3, 4), 0, "", 0 },
        { "huge qdcount", PKT(0, 1, 0x81, 0x80, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, Q), 0, "", 0 },
        { "fewer answers than counted", PKT(HDR(3), Q, RRHEAD(1, 4), 1, 2, 3, 4, RRHEAD(1, 4),
                                            1, 2, 3, 4), 0, "", 0 },
    };

    return cr_make_param_array(struct pkt_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pkt_case *p, dns_parse, table)
{
    struct check_dns_reply *rep = malloc(sizeof(*rep));
    unsigned char *exact = malloc(p->len > 0 ? (size_t)p->len : 1);
    const char *why = NULL;
    int rc;

    cr_assert(rep && exact);
    /* An exact-size heap copy: ASan sees any read past the end. */
    memcpy(exact, p->pkt, (size_t)p->len);
    memset(rep, 0xA5, sizeof(*rep));
    rc = check_dns_parse_reply(exact, (size_t)p->len, rep, &why);
    if (p->ok) {
        cr_assert(eq(int, rc, 0), "%s: %s", p->what, why ? why : "");
        cr_assert(eq(sz, rep->count, (size_t)p->count), "%s", p->what);
        if (p->count > 0)
            cr_assert(eq(str, rep->answer[0].data, p->first), "%s", p->what);
    } else {
        cr_assert(eq(int, rc, NINES_EPROTO), "%s was accepted", p->what);
        cr_assert(not(eq(ptr, (void *)why, NULL)));
    }
    free(exact);
    free(rep);
}

/* More records than are kept: counted, all validated. */
Test(dns_parse, answers_past_the_cap_are_counted)
{
    enum { N = CHECK_DNS_ANSWERS_MAX + 5 };
    unsigned char pkt[12 + 12 + N * 16];
    struct check_dns_reply *rep = malloc(sizeof(*rep));
    const unsigned char head[] = { 0, 1, 0x81, 0x80, 0, 1, 0, N, 0, 0, 0, 0, Q };
    const char *why;
    size_t off = sizeof(head);

    memcpy(pkt, head, sizeof(head));
    for (int i = 0; i < N; i++) {
        const unsigned char rr[] = { RRHEAD(1, 4), 10, 0, 0, (unsigned char)i };

        memcpy(pkt + off, rr, sizeof(rr));
        off += sizeof(rr);
    }
    cr_assert(eq(int, check_dns_parse_reply(pkt, off, rep, &why), 0));
    cr_assert(eq(sz, rep->count, (size_t)CHECK_DNS_ANSWERS_MAX));
    cr_assert(eq(sz, rep->omitted, 5));
    cr_assert(eq(str, rep->answer[63].data, "10.0.0.63"));
    cr_assert(eq(u32, rep->answer[0].ttl, 3600));
    /* one bad record at the very end spoils the reply */
    pkt[off - 5] = 5;
    cr_assert(eq(int, check_dns_parse_reply(pkt, off, rep, &why), NINES_EPROTO));
    free(rep);
}

/*
 * An SOA whose mname is a 255-byte wire name of \001 bytes (each written \001) and
 * whose rname points to it: its text is over the cap; last is the last label's length.
 */
static size_t long_soa(unsigned char *pkt, int last)
{
    const unsigned char head[] = { 0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, Q, RRHEAD(6, 0) };
    size_t off = sizeof(head);
    size_t rd = off;

    memcpy(pkt, head, sizeof(head));
    for (int l = 0; l < 4; l++) {
        int n = l < 3 ? 63 : last;

        pkt[off++] = (unsigned char)n;
        memset(pkt + off, 0x01, (size_t)n);
        off += (size_t)n;
    }
    pkt[off++] = 0;
    pkt[off++] = 0xC0;
    pkt[off++] = (unsigned char)rd;
    memset(pkt + off, 0, 20);
    off += 20;
    pkt[rd - 2] = (unsigned char)((off - rd) >> 8);
    pkt[rd - 1] = (unsigned char)(off - rd);
    return off;
}

Test(dns_parse, long_escaped_names_are_cut_safely)
{
    static unsigned char pkt[600];
    struct check_dns_reply *rep = malloc(sizeof(*rep));
    const char *why = NULL;
    size_t len;
    const char *data;

    len = long_soa(pkt, 61);            /* 3 * 64 + 62 + 1 = 255 bytes */
    cr_assert(eq(int, check_dns_parse_reply(pkt, len, rep, &why), 0), "%s", why);
    data = rep->answer[0].data;
    cr_assert(eq(int, rep->answer[0].truncated, 1));
    cr_assert(lt(sz, strlen(data), sizeof(rep->answer[0].data)));
    cr_assert(eq(int, strncmp(data, "\\001\\001", 8), 0));
    cr_assert(eq(str, (char *)data + strlen(data) - 3, "..."));
    len = long_soa(pkt, 62);            /* 256 bytes */
    cr_assert(eq(int, check_dns_parse_reply(pkt, len, rep, &why), NINES_EPROTO));
    cr_assert(eq(str, (char *)why, "name longer than 255 bytes"));
    free(rep);
}

Test(dns_parse, reverse_names)
{
    char buf[128];

    cr_assert(eq(int, check_dns_reverse_name("192.0.2.5", buf, sizeof(buf)), 0));
    cr_assert(eq(str, buf, "5.2.0.192.in-addr.arpa"));
    cr_assert(eq(int, check_dns_reverse_name("2001:db8::1", buf, sizeof(buf)), 0));
    cr_assert(eq(str, buf, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
                           "ip6.arpa"));
    cr_assert(eq(int, check_dns_reverse_name("ok.test", buf, sizeof(buf)), NINES_EINVAL));
    cr_assert(eq(int, check_dns_reverse_name("2001:db8::1", buf, 20), NINES_EINVAL));
}

Test(dns_parse, type_names)
{
    char buf[16];

    cr_assert(eq(int, check_dns_type_parse("caa"), 257));
    cr_assert(eq(int, check_dns_type_parse("Srv"), 33));
    cr_assert(eq(int, check_dns_type_parse("ANY"), NINES_EINVAL));
    cr_assert(eq(str, (char *)check_dns_type_name(28, buf, sizeof(buf)), "AAAA"));
    cr_assert(eq(str, (char *)check_dns_type_name(99, buf, sizeof(buf)), "TYPE99"));
}
