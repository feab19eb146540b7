/*
 * The API over HTTPS: a certificate made now by openssl, the collector
 * serving with it (api.tls_cert, api.tls_key), curl verifying it; plain
 * HTTP on that port gets no answer; a missing key file stops the start.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

static char out[65536];

Test(e2e_api_tls, the_api_answers_over_https_with_the_configured_certificate, .timeout = 60)
{
    struct redis_fixture rf;
    char dir[256], cfg[400], yaml[2048], crt[400], key[400], url[300], log[400];
    char base[200];
    pid_t collector;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    snprintf(crt, sizeof(crt), "%s/api.crt", dir);
    snprintf(key, sizeof(key), "%s/api.key", dir);
    {
        const char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                               "-keyout", key, "-out", crt, "-days", "2", "-subj",
                               "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, NULL, 0, NULL, 0, 30000), 0), "openssl failed");
    }
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
             "api: {listen: \"127.0.0.1:0\", tls_cert: \"%s\", tls_key: \"%s\"}\n"
             "checks: [{id: web, kind: http, url: \"http://127.0.0.1:9/\"}]\n",
             rf.url, dir, crt, key);
    snprintf(cfg, sizeof(cfg), "%s/nines.yaml", dir);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    snprintf(log, sizeof(log), "%s/collector.log", dir);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfg, NULL };

        collector = proc_spawn(argv, log);
    }
    cr_assert(eq(int, e2eworld_wait_api_addr(dir, base, sizeof(base), 10000), 0));
    cr_assert(eq(int, strncmp(base, "https://127.0.0.1:", 18), 0), "%s", base);
    snprintf(url, sizeof(url), "%s/healthz", base);
    {
        const char *argv[] = { "curl", "-sS", "--max-time", "5", "--cacert", crt, url, NULL };

        cr_expect(eq(int, e2e_run(argv, NULL, out, sizeof(out), NULL, 0, 10000), 0),
                  "curl over TLS failed");
        cr_expect(ne(ptr, strstr(out, "\"ok\""), NULL), "%s", out);
    }
    {
        char plain[300];
        const char *argv[] = { "curl", "-sS", "--max-time", "3", plain, NULL };

        snprintf(plain, sizeof(plain), "http%s/healthz", base + 5);
        cr_expect(ne(int, e2e_run(argv, NULL, out, sizeof(out), NULL, 0, 10000), 0),
                  "plain HTTP answered on the TLS port: %s", out);
    }
    proc_stop(collector, 5000);
    /* a key that cannot be read: the collector does not start */
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
             "api: {listen: \"127.0.0.1:0\", tls_cert: \"%s\", tls_key: \"%s/nope.key\"}\n"
             "checks: [{id: web, kind: http, url: \"http://127.0.0.1:9/\"}]\n",
             rf.url, dir, crt, dir);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfg, NULL };
        char err[4096];

        cr_expect(ne(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 15000), 0));
        cr_expect(ne(ptr, strstr(err, "tls_key: cannot read"), NULL), "%s", err);
    }
    redis_fixture_stop(&rf);
    test_rmtree(dir);
}
