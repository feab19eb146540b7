/*
 * HTTPS checks against `openssl s_server -www` on 127.0.0.1, with certificates
 * made per test by the openssl CLI in a private temp dir: an own CA, leaves for
 * localhost/127.0.0.1, for another name, expired, expiring soon, self-signed,
 * and a client certificate. Each test ends with check_env_close, uv_run and
 * uv_loop_close() == 0.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "http.h"
#include "nines/err.h"
#include "proc.h"
#include "testutil.h"

#define PATH_LEN 320
#define OPENSSL_MS 10000
#define SERVER_READY_MS 5000

struct got {
    int calls;
    struct nines_result r;
};

/* This test's PKI directory and its s_server, cleaned up by the fini. */
static char pki[256];
static pid_t server_pid;
static int server_port;
static char check_id[] = "tls";

static void https_setup(void)
{
    cr_assert(eq(int, curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK));
}

static void https_teardown(void)
{
    if (server_pid > 0)
        proc_stop(server_pid, 2000);
    server_pid = 0;
    if (pki[0])
        test_rmtree(pki);
    pki[0] = '\0';
    curl_global_cleanup();
}

TestSuite(https, .init = https_setup, .fini = https_teardown, .timeout = 30);

static void pki_path(char *buf, const char *name)
{
    int n = snprintf(buf, PATH_LEN, "%s/%s", pki, name);

    cr_assert(n > 0 && n < PATH_LEN);
}

/* Runs an openssl command; it must succeed. */
static void openssl_run(const char *const argv[])
{
    char err[2048];
    int code = -1;

    cr_assert(eq(int, proc_run_full(argv, NULL, NULL, 0, err, sizeof(err), OPENSSL_MS, &code),
                 0), "openssl %s did not finish", argv[1]);
    cr_assert(eq(int, code, 0), "openssl %s failed: %s", argv[1], err);
}

/* The CA ("nines test CA") and the config `openssl ca` signs leaves with. */
static void pki_init(void)
{
    char cnf[PATH_LEN], path[PATH_LEN], key[PATH_LEN], pem[PATH_LEN];
    char text[2048];
    const char *const req[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                                pem, "-days", "30", "-subj", "/CN=nines test CA", NULL };

    cr_assert(eq(int, test_tmpdir(pki, sizeof(pki)), 0));
    pki_path(cnf, "ca.cnf");
    pki_path(key, "ca.key");
    pki_path(pem, "ca.pem");
    snprintf(text, sizeof(text),
             "[ ca ]\ndefault_ca = ca_default\n[ ca_default ]\ndatabase = %s/index.txt\n"
             "new_certs_dir = %s\nserial = %s/serial\ncertificate = %s\nprivate_key = %s\n"
             "default_md = sha256\npolicy = policy_any\ncopy_extensions = copy\n"
             "unique_subject = no\n[ policy_any ]\ncommonName = supplied\n",
             pki, pki, pki, pem, key);
    cr_assert(eq(int, test_write_file(cnf, text), 0));
    pki_path(path, "index.txt");
    cr_assert(eq(int, test_write_file(path, ""), 0));
    pki_path(path, "serial");
    cr_assert(eq(int, test_write_file(path, "01\n"), 0));
    openssl_run(req);
}

/*
 * NAME.key + NAME.pem for cn with subjectAltName san, signed by the CA: valid
 * for days from now, or from start to end ("YYYYMMDDHHMMSSZ") when start is set.
 */
static void pki_leaf(const char *name, const char *cn, const char *san, const char *days,
                     const char *start, const char *end)
{
    char key[PATH_LEN], csr[PATH_LEN], pem[PATH_LEN], cnf[PATH_LEN], subj[128], ext[256];
    const char *const req[] = { "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                                csr, "-subj", subj, "-addext", ext, NULL };
    const char *const sign_days[] = { "openssl", "ca", "-batch", "-config", cnf, "-notext",
                                      "-in", csr, "-out", pem, "-days", days, NULL };
    const char *const sign_dates[] = { "openssl", "ca", "-batch", "-config", cnf, "-notext",
                                       "-in", csr, "-out", pem, "-startdate", start,
                                       "-enddate", end, NULL };
    char base[64];

    snprintf(base, sizeof(base), "%s.key", name);
    pki_path(key, base);
    snprintf(base, sizeof(base), "%s.csr", name);
    pki_path(csr, base);
    snprintf(base, sizeof(base), "%s.pem", name);
    pki_path(pem, base);
    pki_path(cnf, "ca.cnf");
    snprintf(subj, sizeof(subj), "/CN=%s", cn);
    snprintf(ext, sizeof(ext), "subjectAltName=%s", san);
    openssl_run(req);
    openssl_run(start ? sign_dates : sign_days);
}

/* NAME.key + NAME.pem, self-signed for localhost and 127.0.0.1. */
static void pki_self_signed(const char *name)
{
    char key[PATH_LEN], pem[PATH_LEN], base[64];
    const char *const req[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                                pem, "-days", "30", "-subj", "/CN=localhost", "-addext",
                                "subjectAltName=DNS:localhost,IP:127.0.0.1", NULL };

    snprintf(base, sizeof(base), "%s.key", name);
    pki_path(key, base);
    snprintf(base, sizeof(base), "%s.pem", name);
    pki_path(pem, base);
    openssl_run(req);
}

static char server_log[PATH_LEN];

/* test_wait_until condition: s_server printed ACCEPT, or died. */
static int server_settled(void *arg)
{
    char *text;
    int ready;

    (void)arg;
    if (!proc_alive(server_pid))
        return 1;
    text = test_read_file(server_log);
    ready = text && strstr(text, "ACCEPT") != NULL;
    free(text);
    return ready;
}

/*
 * Serves NAME.pem on 127.0.0.1 with -www, plus up to two extra arguments
 * (NULL-ended pairs). Retries on another port if the chosen one was taken.
 */
static void server_start(const char *name, const char *x1, const char *x2, const char *x3,
                         const char *x4)
{
    char cert[PATH_LEN], key[PATH_LEN], accept[32], base[64];
    const char *argv[16] = { "openssl", "s_server", "-accept", accept, "-cert", cert, "-key",
                             key, "-www", x1, x2, x3, x4, NULL };

    snprintf(base, sizeof(base), "%s.pem", name);
    pki_path(cert, base);
    snprintf(base, sizeof(base), "%s.key", name);
    pki_path(key, base);
    pki_path(server_log, "s_server.log");
    for (int attempt = 0; attempt < 5; attempt++) {
        server_port = test_unused_port();
        cr_assert(gt(int, server_port, 0));
        snprintf(accept, sizeof(accept), "127.0.0.1:%d", server_port);
        cr_assert(eq(int, test_write_file(server_log, ""), 0));
        server_pid = proc_spawn(argv, server_log);
        cr_assert(gt(int, server_pid, 0));
        cr_assert(eq(int, test_wait_until(server_settled, NULL, SERVER_READY_MS), 0));
        if (proc_alive(server_pid))
            return;
        proc_wait(server_pid, 1000, NULL);
        server_pid = 0;
    }
    cr_assert(ne(int, server_pid, 0), "openssl s_server did not start");
}

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->r = *r;
}

/* A check of https://HOST:PORT/ trusting the test CA (strings on the heap). */
static void check_init(struct nines_check *c, const char *host)
{
    char url[128];
    char ca[PATH_LEN];

    memset(c, 0, sizeof(*c));
    nines_check_defaults(c);
    c->id = strdup(check_id);
    c->kind = NINES_KIND_HTTP;
    c->interval_ms = 60000;
    c->timeout_ms = 3000;
    snprintf(url, sizeof(url), "https://%s:%d/", host, server_port);
    free(c->http.url);
    c->http.url = strdup(url);
    pki_path(ca, "ca.pem");
    c->http.ca_file = strdup(ca);
    c->http.verify_tls = 1;
    c->http.max_body_bytes = 1 << 20;
}

static void run_one(struct nines_check *c, struct got *g)
{
    uv_loop_t loop;
    struct check_env env;

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    cr_assert(eq(int, check_env_init(&env, &loop), 0));
    cr_assert(eq(int, check_http_start(&env, c, keep_result, g), 0));
    nines_check_clear(c);   /* the engine keeps its own copies */
    cr_assert(eq(int, g->calls, 0));
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g->calls, 1));
    check_env_close(&env);
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&loop), 0), "a handle was left open");
    cr_assert(eq(int, g->calls, 1));
}

/* facts.cert.days_left; fails the test if it is missing. */
static json_int_t cert_days_left(const struct got *g, char *subject, size_t len)
{
    json_t *f = json_loads(g->r.facts, 0, NULL);
    json_t *cert = json_object_get(f, "cert");
    json_t *days = json_object_get(cert, "days_left");
    json_int_t v;
    char *again = json_dumps(f, JSON_COMPACT);

    cr_assert(ne(ptr, days, NULL), "no cert.days_left in '%s'", g->r.facts);
    /* written byte for byte as jansson writes the same document */
    cr_assert(ne(ptr, again, NULL));
    cr_assert(eq(str, again, (char *)g->r.facts));
    free(again);
    v = json_integer_value(days);
    if (subject)
        snprintf(subject, len, "%s", json_string_value(json_object_get(cert, "subject")));
    cr_assert(ne(ptr, (void *)json_string_value(json_object_get(cert, "not_after")), NULL));
    json_decref(f);
    return v;
}

static void replace(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

Test(https, valid_certificate_is_ok_with_expiry_facts)
{
    struct nines_check c;
    struct got g = { 0 };
    char subject[256];
    json_int_t days;

    pki_init();
    pki_leaf("leaf", "localhost", "DNS:localhost,IP:127.0.0.1", "90", NULL, NULL);
    server_start("leaf", NULL, NULL, NULL, NULL);
    check_init(&c, "127.0.0.1");
    c.http.cert_min_days = 30;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.warning, ""));
    cr_assert(eq(int, g.r.code, 200));
    cr_assert(gt(i64, g.r.tls_us, g.r.connect_us), "the handshake is timed");
    cr_assert(ge(i64, g.r.ttfb_us, g.r.tls_us));
    days = cert_days_left(&g, subject, sizeof(subject));
    cr_assert(ge(i64, days, 89));
    cr_assert(le(i64, days, 90));
    cr_assert(eq(str, subject, "CN=localhost"));
}

Test(https, self_signed_is_untrusted)
{
    struct nines_check c;
    struct got g = { 0 };

    pki_init();
    pki_self_signed("self");
    server_start("self", NULL, NULL, NULL, NULL);
    check_init(&c, "127.0.0.1");
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_cert_untrusted"), "%s", g.r.message);
    cr_assert(ne(ptr, strstr(g.r.facts, "\"tls_verify_result\":"), NULL), "%s", g.r.facts);
}

Test(https, verify_off_accepts_self_signed)
{
    struct nines_check c;
    struct got g = { 0 };

    pki_init();
    pki_self_signed("self");
    server_start("self", NULL, NULL, NULL, NULL);
    check_init(&c, "127.0.0.1");
    c.http.verify_tls = 0;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(ge(i64, cert_days_left(&g, NULL, 0), 29), "still reported: %s", g.r.facts);
}

Test(https, expired_certificate_is_tls_cert_expired_with_its_date)
{
    struct nines_check c;
    struct got g = { 0 };
    json_t *f;

    pki_init();
    pki_leaf("old", "localhost", "DNS:localhost,IP:127.0.0.1", NULL, "20200101000000Z",
             "20200201000000Z");
    server_start("old", NULL, NULL, NULL, NULL);
    check_init(&c, "127.0.0.1");
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_cert_expired"), "%s", g.r.message);
    cr_assert(lt(i64, cert_days_left(&g, NULL, 0), -300));
    f = json_loads(g.r.facts, 0, NULL);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(json_object_get(f, "cert"),
                                                                "not_after")),
                 "2020-02-01T00:00:00Z"));
    cr_assert(eq(i64, json_integer_value(json_object_get(f, "tls_verify_result")), 10));
    json_decref(f);
}

Test(https, wrong_host_then_tls_server_name_override)
{
    struct nines_check c;
    struct got wrong = { 0 };
    struct got right = { 0 };

    pki_init();
    pki_leaf("other", "api.nines-test.example", "DNS:api.nines-test.example", "30", NULL,
             NULL);
    server_start("other", NULL, NULL, NULL, NULL);
    check_init(&c, "127.0.0.1");
    run_one(&c, &wrong);
    cr_assert(eq(int, wrong.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, wrong.r.reason, "tls_cert_hostname"), "%s", wrong.r.message);

    /* connect to 127.0.0.1, present and verify the name the certificate carries */
    check_init(&c, "127.0.0.1");
    replace(&c.http.tls_server_name, "api.nines-test.example");
    run_one(&c, &right);
    cr_assert(eq(int, right.r.outcome, NINES_OUTCOME_OK), "%s: %s", right.r.reason,
              right.r.message);
    cr_assert(eq(int, right.r.code, 200));
}

Test(https, certificate_expiring_soon_warns)
{
    struct nines_check c;
    struct got g = { 0 };
    json_int_t days;
    char want[96];

    pki_init();
    pki_leaf("soon", "localhost", "DNS:localhost,IP:127.0.0.1", "10", NULL, NULL);
    server_start("soon", NULL, NULL, NULL, NULL);
    check_init(&c, "localhost");
    c.http.cert_min_days = 30;
    run_one(&c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.warning, "cert_expiring"));
    days = cert_days_left(&g, NULL, 0);
    cr_assert(ge(i64, days, 9));
    cr_assert(le(i64, days, 10));
    snprintf(want, sizeof(want), "certificate expires in %lld days (minimum 30)",
             (long long)days);
    cr_assert(eq(str, g.r.message, want));
}

Test(https, tls_min_version_above_server_is_tls_handshake)
{
    struct nines_check c;
    struct got g = { 0 };
    struct got ok = { 0 };

    pki_init();
    pki_leaf("leaf", "localhost", "DNS:localhost,IP:127.0.0.1", "30", NULL, NULL);
    server_start("leaf", "-tls1_2", NULL, NULL, NULL);
    check_init(&c, "127.0.0.1");
    replace(&c.http.tls_min_version, "1.3");
    run_one(&c, &g);
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(str, g.r.reason, "tls_handshake"), "%s", g.r.message);

    check_init(&c, "127.0.0.1");
    replace(&c.http.tls_min_version, "1.2");
    run_one(&c, &ok);
    cr_assert(eq(int, ok.r.outcome, NINES_OUTCOME_OK), "%s: %s", ok.r.reason, ok.r.message);
}

Test(https, client_certificate_required)
{
    struct nines_check c;
    struct got without = { 0 };
    struct got with = { 0 };
    char ca[PATH_LEN], cert[PATH_LEN], key[PATH_LEN];

    pki_init();
    pki_leaf("leaf", "localhost", "DNS:localhost,IP:127.0.0.1", "30", NULL, NULL);
    pki_leaf("client", "probe", "DNS:probe.nines-test.example", "30", NULL, NULL);
    pki_path(ca, "ca.pem");
    server_start("leaf", "-Verify", "1", "-CAfile", ca);
    check_init(&c, "127.0.0.1");
    run_one(&c, &without);
    cr_assert(eq(int, without.r.outcome, NINES_OUTCOME_FAIL), "no client certificate");
    cr_assert(eq(str, without.r.reason, "tls_handshake"), "%s", without.r.message);

    check_init(&c, "127.0.0.1");
    pki_path(cert, "client.pem");
    pki_path(key, "client.key");
    replace(&c.http.client_cert, cert);
    replace(&c.http.client_key, key);
    run_one(&c, &with);
    cr_assert(eq(int, with.r.outcome, NINES_OUTCOME_OK), "%s: %s", with.r.reason,
              with.r.message);
    cr_assert(eq(int, with.r.code, 200));
}
