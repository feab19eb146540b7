/*
 * The YAML configuration loader: a full good file lands in the struct, and
 * every kind of bad file is reported at its exact FILE:LINE:COLUMN.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nines/config.h"
#include "testutil.h"

#define MAX_EXPECT 24

/* One config file written into its own temp dir, loaded, errors formatted. */
struct loaded {
    char dir[64];
    char path[128];
    int rc;
    struct nines_config *cfg;
    struct nines_errlist errs;
    char msgs[NINES_ERRLIST_MAX][600];
};

static void load_file(struct loaded *l)
{
    l->rc = nines_config_load(l->path, &l->cfg, &l->errs);
    for (size_t i = 0; i < l->errs.count; i++)
        nines_err_format(&l->errs.item[i], l->msgs[i], sizeof(l->msgs[i]));
}

static void load_text(struct loaded *l, const char *yaml)
{
    memset(l, 0, sizeof(*l));
    cr_assert(eq(int, test_tmpdir(l->dir, sizeof(l->dir)), 0));
    snprintf(l->path, sizeof(l->path), "%s/nines.yaml", l->dir);
    cr_assert(eq(int, test_write_file(l->path, yaml), 0));
    load_file(l);
}

static void loaded_close(struct loaded *l)
{
    nines_config_free(l->cfg);
    l->cfg = NULL;
    test_rmtree(l->dir);
}

/*
 * Asserts that yaml fails to load with exactly the listed errors, in order,
 * each given as "LINE:COLUMN: message" (the file's path is prefixed here).
 * The list ends with NULL.
 */
static void expect_errors(const char *yaml, ...)
{
    static struct loaded l;         /* large: keep it off the stack */
    const char *want[MAX_EXPECT];
    char full[700];
    size_t n = 0, most;
    int had_cfg;
    va_list ap;

    va_start(ap, yaml);
    while (n < MAX_EXPECT && (want[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    load_text(&l, yaml);
    had_cfg = l.cfg != NULL;
    loaded_close(&l);
    cr_expect(eq(int, l.rc, NINES_ECONFIG));
    cr_expect(eq(int, had_cfg, 0), "no config is returned on failure");
    most = n > l.errs.count ? n : l.errs.count;
    for (size_t i = 0; i < most; i++) {
        if (i < n)
            snprintf(full, sizeof(full), "%s:%s", l.path, want[i]);
        else
            snprintf(full, sizeof(full), "(no more errors expected)");
        cr_expect(eq(str, i < l.errs.count ? l.msgs[i] : "(missing)", full), "error %zu", i);
    }
    cr_assert(eq(sz, l.errs.count, n));
    cr_assert(eq(sz, l.errs.dropped, 0));
}

/* Loads yaml, which must be valid; the caller frees with loaded_close. */
static void expect_good(struct loaded *l, const char *yaml)
{
    load_text(l, yaml);
    cr_assert(eq(int, l->rc, 0), "first error: %s", l->errs.count ? l->msgs[0] : "none");
    cr_assert(eq(sz, l->errs.count, 0));
    cr_assert(ne(ptr, l->cfg, NULL));
}

#define API_CHECK                                                                              \
    "checks:\n"                                                                                \
    "  - id: api\n"                                                                            \
    "    kind: http\n"                                                                         \
    "    url: http://a.test/\n"

/* ---------------------------------------------------------------- good files */

Test(config_good, full_file_round_trip)
{
    struct loaded l;
    struct nines_config *c;
    const struct nines_check *k;
    char want_dir[PATH_MAX + 16];
    char real[PATH_MAX];

    expect_good(&l, "# every field\n"
                    "collector:\n"
                    "  name: collector-1\n"
                    "  data_dir: ./data/../state\n"
                    "  redis: redis://127.0.0.1:6390/2\n"
                    "  redis_server: /usr/bin/redis-server\n"
                    "  log_level: debug\n"
                    "  stream_maxlen: 5000\n"
                    "defaults:\n"
                    "  interval: 1m\n"
                    "  timeout: 5s\n"
                    "  failures_to_down: 3\n"
                    "  successes_to_up: 2\n"
                    "  locations: [local]\n"
                    "checks:\n"
                    "  - id: api\n"
                    "    kind: http\n"
                    "    url: https://example.test/health\n"
                    "  - id: 42\n"
                    "    kind: http\n"
                    "    interval: 10s\n"
                    "    timeout: 500ms\n"
                    "    locations: [eu-west, us-east]\n"
                    "    failures_to_down: 5\n"
                    "    successes_to_up: 4\n"
                    "    url: http://127.0.0.1:8080/x?y=1\n"
                    "    method: POST\n"
                    "    expect_status: \"200-299, 301\"\n"
                    "    follow_redirects: 3\n"
                    "    verify_tls: off\n"
                    "    max_body_bytes: 0\n"
                    "  - id: \"single:loc\"\n"
                    "    kind: http\n"
                    "    url: http://b.test/\n"
                    "    locations: us-east\n"
                    "    expect_status: 204\n"
                    "    verify_tls: Yes\n"
                    "    interval: 2h\n"
                    "    timeout: 120\n");
    c = l.cfg;
    cr_assert(ne(ptr, realpath(l.dir, real), NULL));
    snprintf(want_dir, sizeof(want_dir), "%s/state", real);

    cr_expect(eq(str, c->path, l.path));
    cr_expect(eq(str, c->collector.name, "collector-1"));
    cr_expect(eq(str, c->collector.data_dir, want_dir), "relative data_dir made absolute");
    cr_expect(eq(str, c->collector.redis, "redis://127.0.0.1:6390/2"));
    cr_expect(eq(str, c->collector.redis_server, "/usr/bin/redis-server"));
    cr_expect(eq(str, c->collector.log_level, "debug"));
    cr_expect(eq(i64, c->collector.stream_maxlen, 5000));
    cr_assert(eq(sz, c->checks_count, 3));

    k = &c->checks[0];              /* everything from defaults */
    cr_expect(eq(str, k->id, "api"));
    cr_expect(eq(int, k->kind, NINES_KIND_HTTP));
    cr_expect(eq(i64, k->interval_ms, 60000));
    cr_expect(eq(i64, k->timeout_ms, 5000));
    cr_expect(eq(int, k->failures_to_down, 3));
    cr_expect(eq(int, k->successes_to_up, 2));
    cr_assert(eq(sz, k->locations_count, 1));
    cr_expect(eq(str, k->locations[0], "local"));
    cr_expect(eq(str, k->http.url, "https://example.test/health"));
    cr_expect(eq(str, k->http.method, "GET"));
    cr_expect(eq(str, k->http.expect_status, "200-399"));
    cr_expect(eq(int, k->http.follow_redirects, 0));
    cr_expect(eq(int, k->http.verify_tls, 1));
    cr_expect(eq(i64, k->http.max_body_bytes, 1048576));

    k = &c->checks[1];              /* everything set by the check */
    cr_expect(eq(str, k->id, "42"), "a plain number is a string id");
    cr_expect(eq(i64, k->interval_ms, 10000));
    cr_expect(eq(i64, k->timeout_ms, 500));
    cr_assert(eq(sz, k->locations_count, 2));
    cr_expect(eq(str, k->locations[0], "eu-west"));
    cr_expect(eq(str, k->locations[1], "us-east"));
    cr_expect(eq(int, k->failures_to_down, 5));
    cr_expect(eq(int, k->successes_to_up, 4));
    cr_expect(eq(str, k->http.url, "http://127.0.0.1:8080/x?y=1"));
    cr_expect(eq(str, k->http.method, "POST"));
    cr_expect(eq(str, k->http.expect_status, "200-299,301"));
    cr_expect(eq(int, k->http.follow_redirects, 3));
    cr_expect(eq(int, k->http.verify_tls, 0));
    cr_expect(eq(i64, k->http.max_body_bytes, 0));

    k = &c->checks[2];              /* one location as a string, int status */
    cr_expect(eq(str, k->id, "single:loc"));
    cr_assert(eq(sz, k->locations_count, 1));
    cr_expect(eq(str, k->locations[0], "us-east"));
    cr_expect(eq(str, k->http.expect_status, "204"));
    cr_expect(eq(int, k->http.verify_tls, 1));
    cr_expect(eq(i64, k->interval_ms, 2 * 3600 * 1000));
    cr_expect(eq(i64, k->timeout_ms, 120000), "a bare number is seconds");
    loaded_close(&l);
}

Test(config_good, minimal_file_gets_every_default)
{
    struct loaded l;
    const struct nines_check *k;

    expect_good(&l, "checks:\n"
                    "  - {id: only, kind: http, url: 'http://x.test'}\n");
    cr_expect(eq(str, l.cfg->collector.name, "collector"));
    cr_expect(eq(str, l.cfg->collector.data_dir, "/var/lib/nines"));
    cr_expect(eq(ptr, l.cfg->collector.redis, NULL), "no redis: embedded");
    cr_expect(eq(str, l.cfg->collector.redis_server, "redis-server"));
    cr_expect(eq(str, l.cfg->collector.log_level, "info"));
    cr_expect(eq(i64, l.cfg->collector.stream_maxlen, 1000000));
    cr_expect(eq(i64, l.cfg->collector.kpi_refresh_ms, 300000), "KPIs every 5 min");
    cr_assert(eq(sz, l.cfg->checks_count, 1));
    k = &l.cfg->checks[0];
    cr_expect(eq(i64, k->interval_ms, 30000));
    cr_expect(eq(i64, k->timeout_ms, 10000));
    cr_expect(eq(int, k->failures_to_down, 2));
    cr_expect(eq(int, k->successes_to_up, 1));
    cr_expect(eq(sz, k->locations_count, 0), "no locations: everywhere");
    cr_expect(eq(str, k->http.method, "GET"));
    cr_expect(eq(int, k->http.verify_tls, 1));
    loaded_close(&l);
}

Test(config_good, empty_check_list_and_absolute_data_dir)
{
    struct loaded l;

    expect_good(&l, "collector:\n"
                    "  data_dir: /srv//nines/./db/\n"
                    "checks: []\n");
    cr_expect(eq(sz, l.cfg->checks_count, 0));
    cr_expect(eq(ptr, l.cfg->checks, NULL));
    cr_expect(eq(str, l.cfg->collector.data_dir, "/srv/nines/db"));
    loaded_close(&l);
}

Test(config_good, aliases_resolve_to_the_anchored_node)
{
    struct loaded l;
    const struct nines_check *k;

    expect_good(&l, "checks:\n"
                    "  - id: a\n"
                    "    kind: &k http\n"
                    "    url: http://a.test/\n"
                    "    locations: &locs [eu, us]\n"
                    "  - id: b\n"
                    "    kind: *k\n"
                    "    url: http://b.test/\n"
                    "    locations: *locs\n");
    cr_assert(eq(sz, l.cfg->checks_count, 2));
    k = &l.cfg->checks[1];
    cr_expect(eq(int, k->kind, NINES_KIND_HTTP));
    cr_assert(eq(sz, k->locations_count, 2));
    cr_expect(eq(str, k->locations[0], "eu"));
    cr_expect(eq(str, k->locations[1], "us"));
    loaded_close(&l);
}

Test(config_good, default_timeout_is_checked_against_the_checks_interval)
{
    struct loaded l;

    /* 60s > the built-in 30s interval, but this check runs every 2m */
    expect_good(&l, "defaults:\n"
                    "  timeout: 60s\n"
                    "checks:\n"
                    "  - {id: slow, kind: http, url: 'http://x.test', interval: 2m}\n");
    cr_expect(eq(i64, l.cfg->checks[0].timeout_ms, 60000));
    cr_expect(eq(i64, l.cfg->checks[0].interval_ms, 120000));
    loaded_close(&l);
}

Test(config_good, relative_config_path_resolves_data_dir)
{
    struct loaded l;
    char cwd[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 16];
    struct nines_config *cfg = NULL;
    struct nines_errlist errs = { 0 };

    memset(&l, 0, sizeof(l));
    cr_assert(eq(int, test_tmpdir(l.dir, sizeof(l.dir)), 0));
    snprintf(l.path, sizeof(l.path), "%s/nines.yaml", l.dir);
    cr_assert(eq(int, test_write_file(l.path, "collector: {data_dir: db}\nchecks: []\n"), 0));
    cr_assert(ne(ptr, getcwd(cwd, sizeof(cwd)), NULL));
    cr_assert(eq(int, chdir(l.dir), 0));
    cr_expect(eq(int, nines_config_load("nines.yaml", &cfg, &errs), 0));
    cr_assert(eq(int, chdir(cwd), 0));
    cr_assert(ne(ptr, cfg, NULL));
    cr_assert(ne(ptr, realpath(l.dir, real), NULL));
    snprintf(want, sizeof(want), "%s/db", real);
    cr_expect(eq(str, cfg->collector.data_dir, want));
    cr_expect(eq(str, cfg->path, "nines.yaml"), "the path is kept as given");
    nines_config_free(cfg);
    test_rmtree(l.dir);
}

/* ------------------------------------------------------- good: kind options */

/* Every http option lands in struct nines_http_opts. */
Test(config_kinds, http_every_option)
{
    struct loaded l;
    const struct nines_http_opts *h;
    char real[PATH_MAX], parent[PATH_MAX], want[PATH_MAX + 32];

    expect_good(&l, "checks:\n"
                    "  - id: full\n"
                    "    kind: http\n"
                    "    url: https://api.test/health\n"
                    "    method: POST\n"
                    "    headers:\n"
                    "      Accept: application/json\n"
                    "      X-Count: 5\n"
                    "      X-Empty: ''\n"
                    "    body: '{\"ping\": true}'\n"
                    "    auth:\n"
                    "      type: basic\n"
                    "      user: monitor\n"
                    "      secret_env: API_PASSWORD\n"
                    "    body_contains: ok\n"
                    "    body_not_contains: error\n"
                    "    body_regex: '\"status\": *\"(UP|OK)\"'\n"
                    "    json_condition: checks.db.ok == true\n"
                    "    latency_objective: 250ms\n"
                    "    ca_file: certs/ca.pem\n"
                    "    client_cert: /etc/nines/client.pem\n"
                    "    client_key: ../keys/client.key\n"
                    "    tls_server_name: api.internal\n"
                    "    tls_min_version: 1.2\n"
                    "    cert_min_days: 14\n"
                    "    header_conditions:\n"
                    "      - {name: Content-Type, regex: '^application/json'}\n"
                    "      - {name: X-Request-Id, present: true}\n"
                    "      - {name: Cache-Control, equals: no-store}\n"
                    "    ip_version: 6\n"
                    "    addresses: all\n"
                    "    resolve: api.test:443:127.0.0.1,[::1]\n"
                    "    proxy: socks5h://proxy.test:1080\n"
                    "  - id: bearer\n"
                    "    kind: http\n"
                    "    url: http://b.test/\n"
                    "    auth: {type: bearer, secret_file: secrets/token}\n"
                    "    addresses: first\n");
    cr_assert(ne(ptr, realpath(l.dir, real), NULL));
    snprintf(parent, sizeof(parent), "%s", real);
    *strrchr(parent, '/') = '\0';
    cr_assert(eq(sz, l.cfg->checks_count, 2));
    h = &l.cfg->checks[0].http;
    cr_expect(eq(str, h->url, "https://api.test/health"));
    cr_expect(eq(str, h->method, "POST"));
    cr_assert(eq(sz, h->headers_count, 3));
    cr_expect(eq(str, h->headers[0].name, "Accept"));
    cr_expect(eq(str, h->headers[0].value, "application/json"));
    cr_expect(eq(str, h->headers[1].name, "X-Count"));
    cr_expect(eq(str, h->headers[1].value, "5"), "a plain number is header text");
    cr_expect(eq(str, h->headers[2].value, ""), "an empty header value is allowed");
    cr_expect(eq(str, h->body, "{\"ping\": true}"));
    cr_expect(eq(str, h->auth, "basic"));
    cr_expect(eq(str, h->auth_user, "monitor"));
    cr_expect(eq(str, h->secret_env, "API_PASSWORD"));
    cr_expect(eq(ptr, h->secret_file, NULL));
    cr_expect(eq(str, h->body_contains, "ok"));
    cr_expect(eq(str, h->body_not_contains, "error"));
    cr_expect(eq(str, h->body_regex, "\"status\": *\"(UP|OK)\""));
    cr_expect(eq(str, h->json_condition, "checks.db.ok == true"));
    cr_expect(eq(i64, h->latency_objective_ms, 250));
    snprintf(want, sizeof(want), "%s/certs/ca.pem", real);
    cr_expect(eq(str, h->ca_file, want), "relative to the config file");
    cr_expect(eq(str, h->client_cert, "/etc/nines/client.pem"));
    snprintf(want, sizeof(want), "%s/keys/client.key", parent);
    cr_expect(eq(str, h->client_key, want));
    cr_expect(eq(str, h->tls_server_name, "api.internal"));
    cr_expect(eq(str, h->tls_min_version, "1.2"));
    cr_expect(eq(int, h->cert_min_days, 14));
    cr_assert(eq(sz, h->header_conds_count, 3));
    cr_expect(eq(str, h->header_conds[0].name, "Content-Type"));
    cr_expect(eq(int, h->header_conds[0].op, NINES_HDR_REGEX));
    cr_expect(eq(str, h->header_conds[0].value, "^application/json"));
    cr_expect(eq(str, h->header_conds[1].name, "X-Request-Id"));
    cr_expect(eq(int, h->header_conds[1].op, NINES_HDR_PRESENT));
    cr_expect(eq(ptr, h->header_conds[1].value, NULL));
    cr_expect(eq(int, h->header_conds[2].op, NINES_HDR_EQUALS));
    cr_expect(eq(str, h->header_conds[2].value, "no-store"));
    cr_expect(eq(int, h->ip_version, 6));
    cr_expect(eq(int, h->all_addresses, 1));
    cr_expect(eq(str, h->resolve, "api.test:443:127.0.0.1,[::1]"));
    cr_expect(eq(str, h->proxy, "socks5h://proxy.test:1080"));

    h = &l.cfg->checks[1].http;
    cr_expect(eq(str, h->auth, "bearer"));
    cr_expect(eq(ptr, h->auth_user, NULL));
    cr_expect(eq(ptr, h->secret_env, NULL));
    snprintf(want, sizeof(want), "%s/secrets/token", real);
    cr_expect(eq(str, h->secret_file, want));
    cr_expect(eq(int, h->all_addresses, 0));
    cr_expect(eq(sz, h->headers_count, 0));
    cr_expect(eq(int, h->ip_version, 0));
    cr_expect(eq(i64, h->latency_objective_ms, 0));
    loaded_close(&l);
}

Test(config_kinds, dns_every_option_and_defaults)
{
    struct loaded l;
    const struct nines_check *k;

    expect_good(&l, "checks:\n"
                    "  - id: mx\n"
                    "    kind: dns\n"
                    "    name: example.test\n"
                    "    type: MX\n"
                    "    servers: [127.0.0.1, '127.0.0.1:5353', '::1', '[::1]:5353']\n"
                    "    expect_rcode: NXDOMAIN\n"
                    "    expect_answers: ['10 mail.example.test.', '20 mx2.example.test.']\n"
                    "    match: include\n"
                    "    answer_regex: 'example\\.test\\.$'\n"
                    "    tcp: true\n"
                    "  - id: a\n"
                    "    kind: dns\n"
                    "    name: _sip._tcp.example.test\n"
                    "    servers: 192.0.2.53\n"
                    "    expect_answers: 192.0.2.1\n"
                    "  - {id: plain, kind: dns, name: example.test}\n");
    cr_assert(eq(sz, l.cfg->checks_count, 3));
    k = &l.cfg->checks[0];
    cr_expect(eq(int, k->kind, NINES_KIND_DNS));
    cr_expect(eq(str, k->dns.name, "example.test"));
    cr_expect(eq(str, k->dns.record_type, "MX"));
    cr_assert(eq(sz, k->dns.servers_count, 4));
    cr_expect(eq(str, k->dns.servers[0], "127.0.0.1"));
    cr_expect(eq(str, k->dns.servers[1], "127.0.0.1:5353"));
    cr_expect(eq(str, k->dns.servers[2], "::1"));
    cr_expect(eq(str, k->dns.servers[3], "[::1]:5353"));
    cr_expect(eq(str, k->dns.expect_rcode, "NXDOMAIN"));
    cr_assert(eq(sz, k->dns.expect_answers_count, 2));
    cr_expect(eq(str, k->dns.expect_answers[0], "10 mail.example.test."));
    cr_expect(eq(str, k->dns.expect_answers[1], "20 mx2.example.test."));
    cr_expect(eq(int, k->dns.match, NINES_DNS_MATCH_INCLUDE));
    cr_expect(eq(str, k->dns.answer_regex, "example\\.test\\.$"));
    cr_expect(eq(int, k->dns.tcp, 1));
    cr_expect(eq(ptr, k->http.url, NULL), "other kinds' options stay unset");

    k = &l.cfg->checks[1];          /* single values; match defaults to exact */
    cr_expect(eq(str, k->dns.name, "_sip._tcp.example.test"));
    cr_assert(eq(sz, k->dns.servers_count, 1));
    cr_expect(eq(str, k->dns.servers[0], "192.0.2.53"));
    cr_assert(eq(sz, k->dns.expect_answers_count, 1));
    cr_expect(eq(str, k->dns.expect_answers[0], "192.0.2.1"));
    cr_expect(eq(int, k->dns.match, NINES_DNS_MATCH_EXACT));

    k = &l.cfg->checks[2];
    cr_expect(eq(ptr, k->dns.record_type, NULL), "NULL is A");
    cr_expect(eq(ptr, k->dns.expect_rcode, NULL), "NULL is NOERROR");
    cr_expect(eq(sz, k->dns.servers_count, 0));
    cr_expect(eq(int, k->dns.match, NINES_DNS_MATCH_NONE));
    cr_expect(eq(int, k->dns.tcp, 0));
    loaded_close(&l);
}

Test(config_kinds, tcp_icmp_host_every_option_and_defaults)
{
    struct loaded l;
    const struct nines_check *k;
    char real[PATH_MAX], want[PATH_MAX + 16];

    expect_good(&l, "checks:\n"
                    "  - id: smtps\n"
                    "    kind: tcp\n"
                    "    host: mail.test\n"
                    "    port: 465\n"
                    "    send: \"EHLO nines\\r\\n\"\n"
                    "    expect_banner: '^220 '\n"
                    "    tls: true\n"
                    "    verify_tls: false\n"
                    "    ca_file: ca.pem\n"
                    "    tls_server_name: mail.test\n"
                    "    cert_min_days: 7\n"
                    "    ip_version: 4\n"
                    "  - {id: ssh, kind: tcp, host: '::1', port: 22}\n"
                    "  - id: ping\n"
                    "    kind: icmp\n"
                    "    host: 192.0.2.1\n"
                    "    count: 5\n"
                    "    spacing: 50ms\n"
                    "    max_loss_pct: 20\n"
                    "    ip_version: 6\n"
                    "  - {id: ping2, kind: icmp, host: example.test}\n"
                    "  - id: self\n"
                    "    kind: host\n"
                    "    locations: probe-1\n"
                    "    cpu_pct: 90\n"
                    "    memory_pct: 80\n"
                    "    swap_pct: 50\n"
                    "    disk_pct: 85\n"
                    "    inode_pct: 70\n"
                    "    open_files_pct: 60\n"
                    "    load_per_cpu: 1.5\n"
                    "    mounts: [/, /var/lib]\n"
                    "  - {id: self2, kind: host, load_per_cpu: 2}\n");
    cr_assert(ne(ptr, realpath(l.dir, real), NULL));
    cr_assert(eq(sz, l.cfg->checks_count, 6));
    k = &l.cfg->checks[0];
    cr_expect(eq(int, k->kind, NINES_KIND_TCP));
    cr_expect(eq(str, k->tcp.host, "mail.test"));
    cr_expect(eq(int, k->tcp.port, 465));
    cr_expect(eq(str, k->tcp.send, "EHLO nines\r\n"));
    cr_expect(eq(str, k->tcp.expect_banner, "^220 "));
    cr_expect(eq(int, k->tcp.tls, 1));
    cr_expect(eq(int, k->tcp.verify_tls, 0));
    snprintf(want, sizeof(want), "%s/ca.pem", real);
    cr_expect(eq(str, k->tcp.ca_file, want));
    cr_expect(eq(str, k->tcp.tls_server_name, "mail.test"));
    cr_expect(eq(int, k->tcp.cert_min_days, 7));
    cr_expect(eq(int, k->tcp.ip_version, 4));
    k = &l.cfg->checks[1];
    cr_expect(eq(str, k->tcp.host, "::1"));
    cr_expect(eq(int, k->tcp.port, 22));
    cr_expect(eq(int, k->tcp.tls, 0));
    cr_expect(eq(int, k->tcp.verify_tls, 1), "default");
    cr_expect(eq(ptr, k->tcp.send, NULL));

    k = &l.cfg->checks[2];
    cr_expect(eq(int, k->kind, NINES_KIND_ICMP));
    cr_expect(eq(str, k->icmp.host, "192.0.2.1"));
    cr_expect(eq(int, k->icmp.count, 5));
    cr_expect(eq(i64, k->icmp.spacing_ms, 50));
    cr_expect(eq(int, k->icmp.max_loss_pct, 20));
    cr_expect(eq(int, k->icmp.ip_version, 6));
    k = &l.cfg->checks[3];
    cr_expect(eq(int, k->icmp.count, 3));
    cr_expect(eq(i64, k->icmp.spacing_ms, 200));
    cr_expect(eq(int, k->icmp.max_loss_pct, 0));
    cr_expect(eq(int, k->icmp.ip_version, 0));

    k = &l.cfg->checks[4];
    cr_expect(eq(int, k->kind, NINES_KIND_HOST));
    cr_assert(eq(sz, k->locations_count, 1));
    cr_expect(eq(str, k->locations[0], "probe-1"));
    cr_expect(eq(int, k->host.cpu_pct, 90));
    cr_expect(eq(int, k->host.memory_pct, 80));
    cr_expect(eq(int, k->host.swap_pct, 50));
    cr_expect(eq(int, k->host.disk_pct, 85));
    cr_expect(eq(int, k->host.inode_pct, 70));
    cr_expect(eq(int, k->host.open_files_pct, 60));
    cr_expect(eq(dbl, k->host.load_per_cpu, 1.5));
    cr_assert(eq(sz, k->host.mounts_count, 2));
    cr_expect(eq(str, k->host.mounts[0], "/"));
    cr_expect(eq(str, k->host.mounts[1], "/var/lib"));
    k = &l.cfg->checks[5];
    cr_expect(eq(dbl, k->host.load_per_cpu, 2.0));
    cr_expect(eq(int, k->host.cpu_pct, 0), "no threshold");
    cr_expect(eq(sz, k->host.mounts_count, 0));
    loaded_close(&l);
}

/* ------------------------------------------------------------ bad: checks */

Test(config_errors, unknown_key_with_suggestion)
{
    expect_errors(API_CHECK "    intervall: 10s\n",
                  "5:5: check 'api': unknown key 'intervall' (did you mean 'interval'?)", NULL);
}

Test(config_errors, unknown_keys_everywhere)
{
    expect_errors("chekcs: []\n"
                  "colour: red\n"
                  "collector:\n"
                  "  redis_sever: x\n"
                  "defaults:\n"
                  "  timout: 5s\n",
                  "1:1: unknown key 'chekcs' (did you mean 'checks'?)",
                  "1:1: missing required key 'checks' (a sequence of checks, may be [])",
                  "2:1: unknown key 'colour'",
                  "4:3: collector: unknown key 'redis_sever' (did you mean 'redis_server'?)",
                  "6:3: defaults: unknown key 'timout' (did you mean 'timeout'?)", NULL);
}

Test(config_errors, wrong_type_is_reported_at_the_value)
{
    expect_errors(API_CHECK "    interval: [10s]\n"
                  "    locations: {eu: 1}\n"
                  "    verify_tls: maybe\n",
                  "5:15: check 'api': 'interval': expected a duration such as 30s, "
                  "got a sequence",
                  "6:16: check 'api': 'locations': expected a location name or a sequence "
                  "of them, got a mapping",
                  "7:17: check 'api': 'verify_tls': expected true or false, got 'maybe'", NULL);
}

Test(config_errors, sections_of_the_wrong_type)
{
    expect_errors("collector: [a]\n"
                  "defaults: 5\n"
                  "checks: {id: x}\n",
                  "1:12: 'collector': expected a mapping, got a sequence",
                  "2:11: 'defaults': expected a mapping, got '5'",
                  "3:9: 'checks': expected a sequence, got a mapping", NULL);
}

Test(config_errors, duplicate_check_id_at_the_second)
{
    expect_errors("checks:\n"
                  "  - id: api\n"
                  "    kind: http\n"
                  "    url: http://a.test/\n"
                  "  - id: other\n"
                  "    kind: http\n"
                  "    url: http://a.test/\n"
                  "  - kind: http\n"
                  "    id: api\n"
                  "    url: http://b.test/\n"
                  "  - {id: 7, kind: http, url: 'http://c.test'}\n"
                  "  - {id: '7', kind: http, url: 'http://c.test'}\n",
                  "9:9: duplicate check id 'api' (first defined at line 2)",
                  "12:10: duplicate check id '7' (first defined at line 11)", NULL);
}

Test(config_errors, durations_out_of_range)
{
    expect_errors(API_CHECK "    interval: 25h\n"
                  "    timeout: 50ms\n"
                  "  - {id: b, kind: http, url: 'http://b.test', interval: 999ms}\n",
                  "5:15: check 'api': 'interval' must be between 1s and 24h, got '25h'",
                  "6:14: check 'api': 'timeout' must be between 100ms and 120s, got '50ms'",
                  "7:57: check 'b': 'interval' must be between 1s and 24h, got '999ms'", NULL);
}

Test(config_good, kpi_refresh_off_or_seconds)
{
    struct loaded l;

    expect_good(&l, "collector: {kpi_refresh: 0}\n" API_CHECK);
    cr_expect(eq(i64, l.cfg->collector.kpi_refresh_ms, 0), "0 turns the refresh off");
    loaded_close(&l);
    expect_good(&l, "collector: {kpi_refresh: 1s}\n" API_CHECK);
    cr_expect(eq(i64, l.cfg->collector.kpi_refresh_ms, 1000));
    loaded_close(&l);
}

Test(config_errors, kpi_refresh_too_short_or_long)
{
    expect_errors("collector:\n"
                  "  kpi_refresh: 500ms\n" API_CHECK,
                  "2:16: collector: 'kpi_refresh' must be 0 (off) or at least 1s, got '500ms'",
                  NULL);
    expect_errors("collector:\n"
                  "  kpi_refresh: 2d\n" API_CHECK,
                  "2:16: collector: 'kpi_refresh' must be between 0s and 24h, got '2d'", NULL);
    expect_errors("collector:\n"
                  "  kpi_refresh: soon\n" API_CHECK,
                  "2:16: collector: 'kpi_refresh': expected a duration such as 30s, got 'soon'",
                  NULL);
}

Test(config_errors, bad_durations)
{
    expect_errors(API_CHECK "    interval: -5s\n"
                  "    timeout: 5 s\n"
                  "  - {id: b, kind: http, url: 'http://b.test', interval: 1.5s, timeout: ~}\n",
                  "5:15: check 'api': 'interval': expected a duration such as 30s, got '-5s'",
                  "6:14: check 'api': 'timeout': expected a duration such as 30s, got '5 s'",
                  "7:57: check 'b': 'interval': expected a duration such as 30s, got '1.5s'",
                  "7:72: check 'b': 'timeout': expected a duration such as 30s, got null",
                  NULL);
}

Test(config_errors, timeout_must_not_exceed_interval)
{
    expect_errors(API_CHECK "    interval: 10s\n"
                  "    timeout: 20s\n",
                  "6:14: check 'api': 'timeout' (20s) must not exceed 'interval' (10s)", NULL);
}

Test(config_errors, timeout_against_an_inherited_interval)
{
    expect_errors("defaults: {interval: 5s}\n" API_CHECK "    timeout: 6s\n",
                  "6:14: check 'api': 'timeout' (6s) must not exceed 'interval' (5s)", NULL);
}

Test(config_errors, conflicting_defaults_are_reported_once)
{
    expect_errors("defaults:\n"
                  "  interval: 5s\n"
                  "  timeout: 6s\n" API_CHECK
                  "  - {id: b, kind: http, url: 'http://b.test'}\n",
                  "3:12: defaults: 'timeout' (6s) must not exceed 'interval' (5s)", NULL);
}

Test(config_errors, default_timeout_against_the_builtin_interval)
{
    expect_errors("defaults:\n"
                  "  timeout: 60s\n" API_CHECK
                  "  - {id: b, kind: http, url: 'http://b.test'}\n",
                  "2:12: defaults: 'timeout' (60s) must not exceed 'interval' (30s)", NULL);
}

Test(config_errors, missing_required_fields_at_the_mapping)
{
    expect_errors("checks:\n"
                  "  - id: api\n"
                  "    kind: http\n"
                  "  - url: http://b.test/\n"
                  "    method: GET\n",
                  "2:5: check 'api' is missing required field 'url'",
                  "4:5: checks[1] is missing required field 'id'",
                  "4:5: checks[1] is missing required field 'kind'", NULL);
}

Test(config_errors, unknown_kind_hides_its_options)
{
    expect_errors("checks:\n"
                  "  - id: api\n"
                  "    kind: ftp\n"
                  "    url: ftp://a.test/\n",
                  "3:11: check 'api': 'kind': unknown check kind 'ftp' (known kinds: http, dns, "
                  "tcp, icmp, host, push, redis_canary, http_canary)",
                  NULL);
}

Test(config_errors, bad_enum_values)
{
    expect_errors("collector:\n"
                  "  log_level: loud\n" API_CHECK "    method: get\n",
                  "2:14: collector: 'log_level' must be one of debug, info, warn, error, "
                  "got 'loud'",
                  "7:13: check 'api': 'method' must be one of GET, HEAD, POST, PUT, PATCH, "
                  "DELETE, OPTIONS, got 'get'", NULL);
}

Test(config_errors, bad_urls)
{
    expect_errors("checks:\n"
                  "  - {id: a, kind: http, url: 'ftp://a.test/'}\n"
                  "  - {id: b, kind: http, url: 'http:///path'}\n"
                  "  - {id: c, kind: http, url: 'http://a b/'}\n"
                  "  - {id: d, kind: http, url: [http://a.test]}\n",
                  "2:30: check 'a': 'url' must start with http:// or https://, got the quoted "
                  "string 'ftp://a.test/'",
                  "3:30: check 'b': 'url' has no host, got the quoted string 'http:///path'",
                  "4:30: check 'c': 'url' must not contain spaces or control characters",
                  "5:30: check 'd': 'url': expected a string, got a sequence", NULL);
}

Test(config_errors, bad_redis_url)
{
    expect_errors("collector:\n"
                  "  redis: http://127.0.0.1:6379\n"
                  "checks: []\n",
                  "2:10: collector: 'redis': unknown scheme 'http' (want redis:// or unix://)",
                  NULL);
}

Test(config_errors, bad_collector_values)
{
    expect_errors("collector:\n"
                  "  name: collector 1\n"
                  "  data_dir: ''\n"
                  "  stream_maxlen: 999\n"
                  "  redis_server: ~\n"
                  "checks: []\n",
                  "2:9: collector: 'name' must be 1-63 characters from A-Z a-z 0-9 _ . -, "
                  "got 'collector 1'",
                  "3:13: collector: 'data_dir' must not be empty",
                  "4:18: collector: 'stream_maxlen' must be between 1000 and 100000000, "
                  "got '999'",
                  "5:17: collector: 'redis_server': expected a string, got null", NULL);
}

Test(config_errors, integers_are_plain_decimal_only)
{
    expect_errors(API_CHECK "    failures_to_down: \"3\"\n"
                  "    successes_to_up: 30s\n"
                  "    max_body_bytes: 0x10\n"
                  "    follow_redirects: 21\n"
                  "  - {id: b, kind: http, url: 'http://b.test', failures_to_down: 0,\n"
                  "     max_body_bytes: 99999999999999999999}\n",
                  "5:23: check 'api': 'failures_to_down': expected an integer, got the quoted "
                  "string '3'",
                  "6:22: check 'api': 'successes_to_up': expected an integer, got '30s'",
                  "7:21: check 'api': 'max_body_bytes': expected an integer, got '0x10'",
                  "8:23: check 'api': 'follow_redirects' must be between 0 and 20, got '21'",
                  "9:65: check 'b': 'failures_to_down' must be between 1 and 100, got '0'",
                  "10:22: check 'b': 'max_body_bytes': expected an integer, "
                  "got '99999999999999999999'", NULL);
}

Test(config_errors, booleans_are_plain_words)
{
    expect_errors(API_CHECK "    verify_tls: \"true\"\n",
                  "5:17: check 'api': 'verify_tls': expected true or false, got the quoted "
                  "string 'true'", NULL);
}

Test(config_errors, bad_expect_status)
{
    expect_errors("checks:\n"
                  "  - {id: a, kind: http, url: 'http://a.test', expect_status: 299-200}\n"
                  "  - {id: b, kind: http, url: 'http://a.test', expect_status: '200,99'}\n"
                  "  - {id: c, kind: http, url: 'http://a.test', expect_status: 2xx}\n",
                  "2:62: check 'a': 'expect_status' must be status codes or ranges within "
                  "100-599 separated by commas, such as 200-299,301, got '299-200'",
                  "3:62: check 'b': 'expect_status' must be status codes or ranges within "
                  "100-599 separated by commas, such as 200-299,301, got the quoted string "
                  "'200,99'",
                  "4:62: check 'c': 'expect_status' must be status codes or ranges within "
                  "100-599 separated by commas, such as 200-299,301, got '2xx'", NULL);
}

Test(config_errors, bad_locations)
{
    expect_errors(API_CHECK "    locations: [eu, 'bad name', eu, {a: b}]\n",
                  "5:21: check 'api': 'locations': a location must be 1-63 characters from "
                  "A-Z a-z 0-9 _ . -, got the quoted string 'bad name'",
                  "5:33: check 'api': 'locations': location 'eu' is listed twice",
                  "5:37: check 'api': 'locations': expected a location name, got a mapping",
                  NULL);
}

Test(config_errors, too_many_locations)
{
    static char yaml[8192];
    size_t o = 0;

    o += (size_t)snprintf(yaml, sizeof(yaml), "defaults:\n  locations: [");
    for (int i = 0; i < 257; i++)
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "%sl%d", i ? "," : "", i);
    snprintf(yaml + o, sizeof(yaml) - o, "]\nchecks: []\n");
    expect_errors(yaml, "2:14: defaults: 'locations': at most 256 locations, got 257", NULL);
}

Test(config_errors, bad_ids_name_the_check_by_index)
{
    expect_errors("checks:\n"
                  "  - {id: 'has space', kind: http, url: 'http://a.test', intervl: 5s}\n"
                  "  - {id: \"a\\0b\", kind: http, url: 'http://a.test'}\n",
                  "2:10: checks[0]: 'id' must be 1-63 characters from A-Z a-z 0-9 _ . : -, "
                  "got the quoted string 'has space'",
                  "2:57: checks[0]: unknown key 'intervl' (did you mean 'interval'?)",
                  "3:10: checks[1]: 'id' must not contain a NUL character", NULL);
}

Test(config_errors, check_entry_not_a_mapping)
{
    expect_errors("checks:\n"
                  "  - api\n"
                  "  - [a]\n",
                  "2:5: checks[0]: expected a mapping, got 'api'",
                  "3:5: checks[1]: expected a mapping, got a sequence", NULL);
}

Test(config_errors, defaults_section_keys)
{
    expect_errors("defaults:\n"
                  "  id: x\n"
                  "  url: http://a.test\n"
                  "  successes_to_up: 0\n"
                  "checks: []\n",
                  "2:3: defaults: 'id' cannot have a default: set it in each check",
                  "3:3: defaults: unknown key 'url'",
                  "4:20: defaults: 'successes_to_up' must be between 1 and 100, got '0'", NULL);
}

/* ------------------------------------------------------ bad: kind options */

Test(config_kind_errors, bad_regexes_at_their_value)
{
    expect_errors(API_CHECK "    body_regex: 'a(b'\n"
                  "  - {id: d, kind: dns, name: a.test, answer_regex: '[z-a]'}\n"
                  "  - {id: t, kind: tcp, host: a.test, port: 25, expect_banner: '*'}\n",
                  "5:17: check 'api': 'body_regex' is not a valid regular expression: "
                  "Unmatched ( or \\(",
                  "6:52: check 'd': 'answer_regex' is not a valid regular expression: "
                  "Invalid range end",
                  "7:63: check 't': 'expect_banner' is not a valid regular expression: "
                  "Invalid preceding regular expression", NULL);
}

Test(config_kind_errors, bad_json_conditions)
{
    expect_errors(API_CHECK "    json_condition: status = \"UP\"\n"
                  "  - {id: b, kind: http, url: 'http://b.test', json_condition: 'a..b == 1'}\n"
                  "  - {id: c, kind: http, url: 'http://c.test', json_condition: 'up == UP'}\n"
                  "  - {id: d, kind: http, url: 'http://d.test', json_condition: 'n > \"3\"'}\n",
                  "5:21: check 'api': 'json_condition': use == to compare, not =",
                  "6:63: check 'b': 'json_condition': empty path segment (two dots, or a dot "
                  "at an end)",
                  "7:63: check 'c': 'json_condition': the value must be a JSON scalar: "
                  "\"string\", number, true, false or null",
                  "8:63: check 'd': 'json_condition': < <= > >= compare numbers: the value "
                  "must be a number", NULL);
}

Test(config_kind_errors, auth_secret_source)
{
    expect_errors(API_CHECK "    auth: {type: basic, user: u}\n"      /* 5 */
                  "  - id: b\n"                                        /* 6 */
                  "    kind: http\n"
                  "    url: http://b.test/\n"
                  "    auth:\n"                                        /* 9 */
                  "      type: bearer\n"
                  "      secret_env: TOKEN\n"
                  "      secret_file: /run/token\n"                    /* 12 */
                  "  - {id: c, kind: http, url: 'http://c.test', auth: {type: basic,\n"
                  "     secret_env: 'A B', password: x}}\n",          /* 14 */
                  "5:11: check 'api': auth: needs 'secret_env' or 'secret_file' (where to "
                  "read the password from)",
                  "12:20: check 'b': auth: give either 'secret_env' or 'secret_file', not both",
                  "13:53: check 'c': auth: basic auth needs 'user'",
                  "14:18: check 'c': auth: 'secret_env' must be an environment variable name "
                  "such as API_TOKEN, got the quoted string 'A B'",
                  "14:25: check 'c': auth: unknown key 'password': the configuration never "
                  "holds a secret, only where to read it: 'secret_env' or 'secret_file'", NULL);
}

Test(config_kind_errors, auth_type_and_user)
{
    expect_errors(API_CHECK "    auth: {user: u, secret_env: P}\n"
                  "  - {id: b, kind: http, url: 'http://b.test', auth: {type: digest,\n"
                  "     secret_env: P}}\n"
                  "  - {id: c, kind: http, url: 'http://c.test', auth: {type: bearer,\n"
                  "     user: u, secret_env: P}}\n"
                  "  - {id: d, kind: http, url: 'http://d.test', auth: basic}\n",
                  "5:11: check 'api': auth is missing required field 'type'",
                  "6:60: check 'b': auth: 'type' must be one of basic, bearer, got 'digest'",
                  "9:12: check 'c': auth: 'user' is for basic auth only",
                  "10:53: check 'd': 'auth': expected a mapping with 'type' and 'secret_env' "
                  "or 'secret_file', got 'basic'", NULL);
}

Test(config_kind_errors, ports_and_ranges)
{
    expect_errors("checks:\n"
                  "  - {id: t, kind: tcp, host: a.test, port: 70000}\n"
                  "  - {id: u, kind: tcp, host: a.test, port: 0}\n"
                  "  - {id: i, kind: icmp, host: a.test, count: 0, spacing: 5ms,\n"
                  "     max_loss_pct: 101}\n"
                  "  - {id: h, kind: host, cpu_pct: 0, disk_pct: 101, load_per_cpu: 0}\n"
                  "  - {id: c, kind: http, url: 'http://c.test', cert_min_days: 3651}\n",
                  "2:44: check 't': 'port' must be between 1 and 65535, got '70000'",
                  "3:44: check 'u': 'port' must be between 1 and 65535, got '0'",
                  "4:46: check 'i': 'count' must be between 1 and 100, got '0'",
                  "4:58: check 'i': 'spacing' must be between 10ms and 10s, got '5ms'",
                  "5:20: check 'i': 'max_loss_pct' must be between 0 and 100, got '101'",
                  "6:34: check 'h': 'cpu_pct' must be between 1 and 100, got '0'",
                  "6:47: check 'h': 'disk_pct' must be between 1 and 100, got '101'",
                  "6:66: check 'h': 'load_per_cpu' must be above 0 and at most 1000, got '0'",
                  "7:62: check 'c': 'cert_min_days' must be between 0 and 3650, got '3651'",
                  NULL);
}

Test(config_kind_errors, enums)
{
    expect_errors("checks:\n"
                  "  - {id: d, kind: dns, name: a.test, type: AXFR, expect_rcode: nxdomain,\n"
                  "     match: some, expect_answers: [x]}\n"
                  "  - {id: h, kind: http, url: 'http://h.test', tls_min_version: 1.4,\n"
                  "     addresses: every, ip_version: 5}\n"
                  "  - {id: i, kind: icmp, host: a.test, ip_version: v6}\n",
                  "2:44: check 'd': 'type' must be one of A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, "
                  "PTR, CAA, got 'AXFR'",
                  "2:64: check 'd': 'expect_rcode' must be one of NOERROR, FORMERR, SERVFAIL, "
                  "NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE, "
                  "got 'nxdomain'",
                  "3:13: check 'd': 'match' must be one of exact, include, got 'some'",
                  "4:64: check 'h': 'tls_min_version' must be one of 1.0, 1.1, 1.2, 1.3, "
                  "got '1.4'",
                  "5:17: check 'h': 'addresses' must be one of first, all, got 'every'",
                  "5:36: check 'h': 'ip_version' must be 4 or 6, got '5'",
                  "6:51: check 'i': 'ip_version' must be 4 or 6, got 'v6'", NULL);
}

Test(config_kind_errors, bad_dns_servers)
{
    expect_errors("checks:\n"
                  "  - id: d\n"
                  "    kind: dns\n"
                  "    name: a.test\n"
                  "    servers: [1.2.3.4, '1.2.3.4:0', dns.test, '[::1]:53', '[1.2.3.4]:53',\n"
                  "              1.2.3.4, {a: b}, '1.2.3.4:99999', '::1']\n",
                  "5:24: check 'd': 'servers': the quoted string '1.2.3.4:0' is not an IP "
                  "address with an optional port, such as 192.0.2.1:5353 or "
                  "[2001:db8::1]:5353",
                  "5:37: check 'd': 'servers': 'dns.test' is not an IP address with an "
                  "optional port, such as 192.0.2.1:5353 or [2001:db8::1]:5353",
                  "5:59: check 'd': 'servers': the quoted string '[1.2.3.4]:53' is not an IP "
                  "address with an optional port, such as 192.0.2.1:5353 or "
                  "[2001:db8::1]:5353",
                  "6:15: check 'd': 'servers': '1.2.3.4' is listed twice",
                  "6:24: check 'd': 'servers': expected an address, got a mapping",
                  "6:32: check 'd': 'servers': the quoted string '1.2.3.4:99999' is not an IP "
                  "address with an optional port, such as 192.0.2.1:5353 or "
                  "[2001:db8::1]:5353", NULL);
}

Test(config_kind_errors, options_of_another_kind)
{
    expect_errors("checks:\n"
                  "  - id: d\n"
                  "    kind: dns\n"
                  "    name: a.test\n"
                  "    url: http://a.test/\n"
                  "    port: 53\n"
                  "  - {id: h, kind: host, host: localhost, verify_tls: true}\n"
                  "  - {id: t, kind: tcp, host: a.test, port: 1, expect_baner: x}\n",
                  "5:5: check 'd': unknown key 'url' for kind dns (an option of kind http)",
                  "6:5: check 'd': unknown key 'port' for kind dns (an option of kind tcp)",
                  "7:25: check 'h': unknown key 'host' for kind host (an option of kinds tcp, "
                  "icmp)",
                  "7:42: check 'h': unknown key 'verify_tls' for kind host (an option of kinds "
                  "http, tcp, http_canary)",
                  "8:47: check 't': unknown key 'expect_baner' (did you mean "
                  "'expect_banner'?)", NULL);
}

Test(config_kind_errors, headers)
{
    expect_errors(API_CHECK "    headers:\n"
                  "      Bad Name: x\n"
                  "      Authorization: Basic Zm9vOmJhcg==\n"
                  "      X-Multi: \"a\\nb\"\n"
                  "      X-List: [1]\n"
                  "      x-ok: 1\n"
                  "      X-OK: 2\n"
                  "  - {id: b, kind: http, url: 'http://b.test', headers: [a]}\n",
                  "6:7: check 'api': 'headers': 'Bad Name' is not a header name (letters, "
                  "digits and !#$%&'*+-.^_`|~)",
                  "7:7: check 'api': 'headers': no 'Authorization' header: the configuration "
                  "never holds a secret, use 'auth' with 'secret_env' or 'secret_file'",
                  "8:16: check 'api': 'headers': the value of 'X-Multi' must be one line of "
                  "text, got the quoted string 'a?b'",
                  "9:15: check 'api': 'headers': the value of 'X-List' must be one line of "
                  "text, got a sequence",
                  "11:7: check 'api': 'headers': header 'X-OK' is set twice",
                  "12:56: check 'b': 'headers': expected a mapping of header names to values, "
                  "got a sequence", NULL);
}

Test(config_kind_errors, header_conditions)
{
    expect_errors(API_CHECK "    header_conditions:\n"
                  "      - {name: Server}\n"
                  "      - {name: X-A, present: true, equals: b}\n"
                  "      - {name: X-B, present: false}\n"
                  "      - {name: X-C, regex: '(('}\n"
                  "      - {equals: x}\n"
                  "      - nope\n"
                  "      - {name: 'a b', present: true, value: 1}\n",
                  "6:9: check 'api': header_conditions[0]: needs one of 'present: true', "
                  "'equals' or 'regex'",
                  "7:44: check 'api': header_conditions[1]: give only one of 'present', "
                  "'equals' or 'regex'",
                  "8:30: check 'api': header_conditions[2]: 'present' can only be true",
                  "9:28: check 'api': header_conditions[3]: 'regex' is not a valid regular "
                  "expression: Unmatched ( or \\(",
                  "10:9: check 'api': header_conditions[4] is missing required field 'name'",
                  "11:9: check 'api': header_conditions[5]: expected a mapping with 'name' and "
                  "one of 'present', 'equals' or 'regex', got 'nope'",
                  "12:16: check 'api': header_conditions[6]: 'name' must be a header name "
                  "(letters, digits and !#$%&'*+-.^_`|~), got the quoted string 'a b'",
                  "12:38: check 'api': header_conditions[6]: unknown key 'value'", NULL);
}

Test(config_kind_errors, addresses_proxies_and_paths)
{
    expect_errors(API_CHECK "    resolve: a.test:443\n"
                  "    proxy: http://user:pw@proxy.test:3128\n"
                  "    client_key: k.pem\n"
                  "    tls_server_name: 'a b'\n"
                  "  - {id: b, kind: http, url: 'http://b.test', resolve: 'a:80:1.2.3',\n"
                  "     proxy: 'ftp://p.test'}\n"
                  "  - {id: c, kind: host, mounts: [/, var, /]}\n"
                  "  - {id: d, kind: icmp, host: 'bad host'}\n",
                  "5:14: check 'api': 'resolve' must be host:port:address, such as "
                  "example.com:443:127.0.0.1, got 'a.test:443'",
                  "6:12: check 'api': 'proxy' must not hold a user or password: the "
                  "configuration never holds a secret",
                  "7:17: check 'api': 'client_key' needs 'client_cert'",
                  "8:22: check 'api': 'tls_server_name' must be a host name or an IP address, "
                  "got the quoted string 'a b'",
                  "9:56: check 'b': 'resolve' must be host:port:address, such as "
                  "example.com:443:127.0.0.1, got the quoted string 'a:80:1.2.3'",
                  "10:13: check 'b': 'proxy' must be a proxy URL such as "
                  "http://proxy.example:3128 (schemes http, https, socks4, socks4a, socks5, "
                  "socks5h; no user or password), got the quoted string 'ftp://p.test'",
                  "11:37: check 'c': 'mounts': 'var' is not an absolute path",
                  "11:42: check 'c': 'mounts': '/' is listed twice",
                  "12:31: check 'd': 'host' must be a host name or an IP address, got the "
                  "quoted string 'bad host'", NULL);
}

Test(config_kind_errors, options_that_need_another)
{
    expect_errors("checks:\n"
                  "  - {id: d, kind: dns, name: a.test, match: exact}\n"
                  "  - {id: t, kind: tcp, host: a.test, port: 1, ca_file: x.pem,\n"
                  "     cert_min_days: 3, tls: false}\n"
                  "  - {id: u, kind: tcp, host: a.test, port: 1, verify_tls: false, tls: yes}\n"
                  "  - {id: v, kind: tcp, host: a.test, port: 1, tls_server_name: a.test}\n",
                  "2:45: check 'd': 'match' needs 'expect_answers'",
                  "3:56: check 't': 'ca_file' needs 'tls: true'",
                  "4:21: check 't': 'cert_min_days' needs 'tls: true'",
                  "6:64: check 'v': 'tls_server_name' needs 'tls: true'", NULL);
}

Test(config_kind_errors, required_options_per_kind)
{
    expect_errors("checks:\n"
                  "  - {id: d, kind: dns, type: A}\n"
                  "  - {id: t, kind: tcp}\n"
                  "  - {id: i, kind: icmp}\n"
                  "  - {id: h, kind: host}\n",
                  "2:5: check 'd' is missing required field 'name'",
                  "3:5: check 't' is missing required field 'host'",
                  "3:5: check 't' is missing required field 'port'",
                  "4:5: check 'i' is missing required field 'host'", NULL);
}

Test(config_kind_errors, numbers_that_are_not_plain)
{
    expect_errors("checks:\n"
                  "  - {id: a, kind: host, load_per_cpu: abc}\n"
                  "  - {id: b, kind: host, load_per_cpu: 0x10}\n"
                  "  - {id: c, kind: host, load_per_cpu: '1.5'}\n"
                  "  - {id: d, kind: host, load_per_cpu: 1001}\n"
                  "  - {id: e, kind: host, load_per_cpu: .nan}\n"
                  "  - {id: f, kind: tcp, host: a.test, port: '80'}\n",
                  "2:39: check 'a': 'load_per_cpu': expected a number such as 1.5, got 'abc'",
                  "3:39: check 'b': 'load_per_cpu': expected a number such as 1.5, got '0x10'",
                  "4:39: check 'c': 'load_per_cpu': expected a number such as 1.5, got the "
                  "quoted string '1.5'",
                  "5:39: check 'd': 'load_per_cpu' must be above 0 and at most 1000, "
                  "got '1001'",
                  "6:39: check 'e': 'load_per_cpu': expected a number such as 1.5, got '.nan'",
                  "7:44: check 'f': 'port': expected an integer, got the quoted string '80'",
                  NULL);
}

/* ------------------------------------------ collector features: good files */

#define HASH_TEST "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define HASH_01 "0101010101010101010101010101010101010101010101010101010101010101"
#define HASH_AB "abababababababababababababababababababababababababababababababab"
#define HASH_FE "fefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefe"

/* Each of the n bytes of got is b. */
static int all_bytes(const unsigned char *got, size_t n, unsigned char b)
{
    for (size_t i = 0; i < n; i++) {
        if (got[i] != b)
            return 0;
    }
    return 1;
}

/* Quorum, push checks, services, maintenance and the API: every field lands. */
Test(config_features, full_file_every_field)
{
    static const unsigned char sha_test[32] = {
        0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a,
        0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15,
        0xb0, 0xf0, 0x0a, 0x08,
    };
    struct loaded l;
    const struct nines_config *c;
    const struct nines_check *k;
    const struct nines_service_cfg *s;
    const struct nines_maint_cfg *m;
    const struct nines_api_cfg *a;

    expect_good(&l, "defaults:\n"
                    "  quorum: 2\n"
                    "  locations: [eu, us, ap]\n"
                    "maintenance:\n"                    /* before what it names */
                    "  - id: upgrade\n"
                    "    reason: PostgreSQL 17 upgrade\n"
                    "    checks: [db]\n"
                    "    services: [shop, batch]\n"
                    "    start: 2026-12-01T22:00:00Z\n"
                    "    end: 2026-12-02T01:30Z\n"
                    "  - id: nightly\n"
                    "    days: [mon-fri, sun]\n"
                    "    at: '02:30'\n"
                    "    duration: 90m\n"
                    "    timezone: Europe/Berlin\n"
                    "  - {id: weekly, days: Saturday, at: 4:05, duration: 7d}\n"
                    "services:\n"
                    "  - id: shop\n"
                    "    name: Web shop\n"
                    "    checks: [web, api, db]\n"
                    "    critical: [web, api]\n"
                    "    down_when: all\n"
                    "    target: 99.95\n"
                    "  - id: batch\n"
                    "    checks: backup\n"
                    "checks:\n"
                    "  - {id: web, kind: http, url: 'http://a.test/'}\n"
                    "  - {id: api, kind: http, url: 'http://b.test/', quorum: all}\n"
                    "  - {id: db, kind: tcp, host: db.test, port: 5432, quorum: majority,\n"
                    "     locations: eu}\n"
                    "  - {id: three, kind: http, url: 'http://c.test/', quorum: 3}\n"
                    "  - id: backup\n"
                    "    kind: push\n"
                    "    token: sha256:" HASH_TEST "\n"
                    "    period: 1d\n"
                    "    grace: 2h\n"
                    "    failures_to_down: 1\n"
                    "  - {id: beat, kind: push, token: 'SHA256:" HASH_01 "', period: 10s}\n"
                    "api:\n"
                    "  listen: '[::1]:9090'\n"
                    "  connection_limit: 1000\n"
                    "  per_ip_limit: 50\n"
                    "  timeout: 30s\n"
                    "  max_body_bytes: 1048576\n"
                    "  tokens:\n"
                    "    - name: grafana\n"
                    "      role: viewer\n"
                    "      hash: sha256:" HASH_01 "\n"
                    "    - {name: ops@example.com, role: operator, hash: 'sha256:" HASH_AB "'}\n"
                    "    - {name: root, role: admin, hash: sha256:" HASH_FE "}\n");
    c = l.cfg;
    cr_assert(eq(sz, c->checks_count, 6));
    k = &c->checks[0];
    cr_expect(eq(int, k->quorum, 2), "inherited from defaults");
    cr_expect(eq(sz, k->locations_count, 3));
    cr_expect(eq(int, c->checks[1].quorum, -1), "all");
    cr_expect(eq(int, c->checks[2].quorum, 0), "majority");
    cr_expect(eq(sz, c->checks[2].locations_count, 1));
    cr_expect(eq(int, c->checks[3].quorum, 3));

    k = &c->checks[4];
    cr_expect(eq(int, k->kind, NINES_KIND_PUSH));
    cr_expect(eq(int, memcmp(k->push.token_sha256, sha_test, 32), 0));
    cr_expect(eq(i64, k->push.period_ms, 86400000));
    cr_expect(eq(i64, k->push.grace_ms, 2 * 3600000));
    cr_expect(eq(i64, k->interval_ms, 86400000), "the period is the interval");
    cr_expect(eq(i64, k->timeout_ms, 86400000));
    cr_expect(eq(sz, k->locations_count, 0), "the defaults' locations do not apply");
    cr_expect(eq(ptr, k->locations, NULL));
    cr_expect(eq(int, k->quorum, 0), "the defaults' quorum does not apply");
    cr_expect(eq(int, k->failures_to_down, 1));
    k = &c->checks[5];
    cr_expect(all_bytes(k->push.token_sha256, 32, 0x01), "'SHA256:' in any case");
    cr_expect(eq(i64, k->push.period_ms, 10000));
    cr_expect(eq(i64, k->push.grace_ms, 0));

    cr_assert(eq(sz, c->services_count, 2));
    s = &c->services[0];
    cr_expect(eq(str, s->id, "shop"));
    cr_expect(eq(str, s->name, "Web shop"));
    cr_assert(eq(sz, s->checks_count, 3));
    cr_expect(eq(str, s->checks[0], "web"));
    cr_expect(eq(str, s->checks[1], "api"));
    cr_expect(eq(str, s->checks[2], "db"));
    cr_assert(eq(sz, s->critical_count, 2));
    cr_expect(eq(str, s->critical[0], "web"));
    cr_expect(eq(str, s->critical[1], "api"));
    cr_expect(eq(int, s->down_when_all, 1));
    cr_expect(eq(dbl, s->target_pct, 99.95));
    s = &c->services[1];
    cr_expect(eq(str, s->name, "batch"), "the name defaults to the id");
    cr_assert(eq(sz, s->checks_count, 1));
    cr_expect(eq(str, s->checks[0], "backup"));
    cr_assert(eq(sz, s->critical_count, 1), "every check is critical by default");
    cr_expect(eq(str, s->critical[0], "backup"));
    cr_expect(s->critical != s->checks && s->critical[0] != s->checks[0], "a copy");
    cr_expect(eq(int, s->down_when_all, 0));

    cr_assert(eq(sz, c->maintenance_count, 3));
    m = &c->maintenance[0];
    cr_expect(eq(str, m->id, "upgrade"));
    cr_expect(eq(str, m->reason, "PostgreSQL 17 upgrade"));
    cr_assert(eq(sz, m->checks_count, 1));
    cr_expect(eq(str, m->checks[0], "db"));
    cr_assert(eq(sz, m->services_count, 2));
    cr_expect(eq(str, m->services[0], "shop"));
    cr_expect(eq(str, m->services[1], "batch"));
    cr_expect(eq(i64, m->start_ms, INT64_C(1796162400000)));
    cr_expect(eq(i64, m->end_ms, INT64_C(1796175000000)), "seconds may be left out");
    cr_expect(eq(int, m->weekdays, 0));
    cr_expect(eq(i64, m->duration_ms, 0));
    cr_expect(eq(str, m->timezone, "UTC"));
    m = &c->maintenance[1];
    cr_expect(eq(i64, m->start_ms, 0));
    cr_expect(eq(i64, m->end_ms, 0));
    cr_expect(eq(int, m->weekdays, 0x3f), "Sunday to Friday");
    cr_expect(eq(int, m->start_minute, 150));
    cr_expect(eq(i64, m->duration_ms, 90 * 60000));
    cr_expect(eq(str, m->timezone, "Europe/Berlin"));
    cr_expect(eq(sz, m->checks_count + m->services_count, 0), "covers everything");
    cr_expect(eq(ptr, m->reason, NULL));
    m = &c->maintenance[2];
    cr_expect(eq(int, m->weekdays, 0x40), "Saturday");
    cr_expect(eq(int, m->start_minute, 4 * 60 + 5));
    cr_expect(eq(i64, m->duration_ms, 7 * INT64_C(86400000)));
    cr_expect(eq(str, m->timezone, "UTC"));

    a = &c->api;
    cr_expect(eq(str, a->listen, "[::1]:9090"));
    cr_expect(eq(int, a->connection_limit, 1000));
    cr_expect(eq(int, a->per_ip_limit, 50));
    cr_expect(eq(i64, a->timeout_ms, 30000));
    cr_expect(eq(i64, a->max_body_bytes, 1048576));
    cr_assert(eq(sz, a->tokens_count, 3));
    cr_expect(eq(str, a->tokens[0].name, "grafana"));
    cr_expect(eq(int, a->tokens[0].role, NINES_ROLE_VIEWER));
    cr_expect(all_bytes(a->tokens[0].sha256, 32, 0x01));
    cr_expect(eq(str, a->tokens[1].name, "ops@example.com"));
    cr_expect(eq(int, a->tokens[1].role, NINES_ROLE_OPERATOR));
    cr_expect(all_bytes(a->tokens[1].sha256, 32, 0xab));
    cr_expect(eq(str, a->tokens[2].name, "root"));
    cr_expect(eq(int, a->tokens[2].role, NINES_ROLE_ADMIN));
    cr_expect(all_bytes(a->tokens[2].sha256, 32, 0xfe));
    loaded_close(&l);
}

Test(config_features, defaults_without_the_new_sections)
{
    struct loaded l;

    expect_good(&l, API_CHECK);
    cr_expect(eq(int, l.cfg->checks[0].quorum, 0));
    cr_expect(eq(str, l.cfg->api.listen, "127.0.0.1:8080"));
    cr_expect(eq(int, l.cfg->api.connection_limit, 256));
    cr_expect(eq(int, l.cfg->api.per_ip_limit, 32));
    cr_expect(eq(i64, l.cfg->api.timeout_ms, 10000));
    cr_expect(eq(i64, l.cfg->api.max_body_bytes, 65536));
    cr_expect(eq(sz, l.cfg->api.tokens_count, 0));
    cr_expect(eq(ptr, l.cfg->api.tokens, NULL));
    cr_expect(eq(sz, l.cfg->services_count, 0));
    cr_expect(eq(ptr, l.cfg->services, NULL));
    cr_expect(eq(sz, l.cfg->maintenance_count, 0));
    cr_expect(eq(ptr, l.cfg->maintenance, NULL));
    loaded_close(&l);

    /* a small connection limit lowers the per-IP default with it */
    expect_good(&l, "api: {connection_limit: 10, tokens: []}\n"
                    "services: []\n"
                    "maintenance: []\n"
                    "checks: []\n");
    cr_expect(eq(int, l.cfg->api.connection_limit, 10));
    cr_expect(eq(int, l.cfg->api.per_ip_limit, 10));
    loaded_close(&l);
}

/* Every way of writing days, times, listen addresses and zones that is accepted. */
Test(config_features, days_times_and_addresses)
{
    static const struct {
        const char *days;
        int mask;
    } days[] = {
        { "daily", 0x7f }, { "weekdays", 0x3e }, { "weekends", 0x41 },
        { "fri-mon", 0x63 }, { "'mon, wed,fri'", 0x2a }, { "[sun, SAT]", 0x41 },
        { "[Monday, tue-tue]", 0x06 }, { "sun-sat", 0x7f }, { "[daily, mon]", 0x7f },
    };
    static const char *const listens[] = { "':8080'", "'*:0'", "localhost:80",
                                           "'[::]:65535'", "0.0.0.0:8080" };
    struct loaded l;
    char yaml[512];

    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        snprintf(yaml, sizeof(yaml), "checks: []\n"
                 "maintenance:\n"
                 "  - {id: m, days: %s, at: '0:00', duration: 1m, timezone: Etc/UTC}\n",
                 days[i].days);
        expect_good(&l, yaml);
        cr_expect(eq(int, l.cfg->maintenance[0].weekdays, days[i].mask), "%s", days[i].days);
        cr_expect(eq(int, l.cfg->maintenance[0].start_minute, 0));
        cr_expect(eq(str, l.cfg->maintenance[0].timezone, "Etc/UTC"));
        loaded_close(&l);
    }
    for (size_t i = 0; i < sizeof(listens) / sizeof(listens[0]); i++) {
        snprintf(yaml, sizeof(yaml), "checks: []\napi: {listen: %s}\n", listens[i]);
        expect_good(&l, yaml);
        loaded_close(&l);
    }
    expect_good(&l, "checks: []\n"
                    "maintenance:\n"
                    "  - {id: leap, start: 2024-02-29T00:00:00Z, end: 2024-02-29T23:59:59Z}\n"
                    "  - {id: late, days: mon, at: '23:59', duration: 1m,\n"
                    "     timezone: America/New_York}\n");
    cr_expect(eq(i64, l.cfg->maintenance[0].start_ms, INT64_C(1709164800000)));
    cr_expect(eq(i64, l.cfg->maintenance[0].end_ms, INT64_C(1709164800000) + 86399000));
    cr_expect(eq(int, l.cfg->maintenance[1].start_minute, 1439));
    loaded_close(&l);
}

/* ------------------------------------------- collector features: bad files */

Test(config_feature_errors, bad_quorums)
{
    expect_errors("checks:\n"
                  "  - {id: a, kind: http, url: 'http://a.test', quorum: 0}\n"
                  "  - {id: b, kind: http, url: 'http://b.test', quorum: 33}\n"
                  "  - {id: c, kind: http, url: 'http://c.test', quorum: some}\n"
                  "  - {id: d, kind: http, url: 'http://d.test', quorum: '3'}\n"
                  "  - {id: e, kind: http, url: 'http://e.test', quorum: [1]}\n"
                  "  - {id: f, kind: http, url: 'http://f.test', quorum: 3, locations: [x, y]}\n",
                  "2:55: check 'a': 'quorum' must be majority, all or a number of locations "
                  "from 1 to 32, got '0'",
                  "3:55: check 'b': 'quorum' must be majority, all or a number of locations "
                  "from 1 to 32, got '33'",
                  "4:55: check 'c': 'quorum' must be majority, all or a number of locations "
                  "from 1 to 32, got 'some'",
                  "5:55: check 'd': 'quorum' must be majority, all or a number of locations "
                  "from 1 to 32, got the quoted string '3'",
                  "6:55: check 'e': 'quorum': expected majority, all or a number of locations, "
                  "got a sequence",
                  "7:55: check 'f': 'quorum' (3) is more than the 2 locations the check runs "
                  "at", NULL);
}

/* Reported where it was set: the defaults once, else the check's own value. */
Test(config_feature_errors, quorum_above_the_locations)
{
    expect_errors("defaults:\n"
                  "  quorum: 4\n"
                  "  locations: [eu, us]\n"
                  "checks:\n"
                  "  - {id: a, kind: http, url: 'http://a.test'}\n"
                  "  - {id: b, kind: http, url: 'http://b.test', locations: [x]}\n"
                  "  - {id: c, kind: http, url: 'http://c.test', locations: [x, y, z, w], "
                  "quorum: all}\n"
                  "  - {id: d, kind: http, url: 'http://d.test', locations: [x, y, z], "
                  "quorum: 4}\n",
                  "2:11: defaults: 'quorum' (4) is more than the 2 locations in 'locations'",
                  "6:58: check 'b': 'quorum' (4) is more than the 1 location the check runs "
                  "at",
                  "8:77: check 'd': 'quorum' (4) is more than the 3 locations the check runs "
                  "at", NULL);
}

Test(config_feature_errors, push_checks)
{
    static struct loaded l;

    expect_errors("checks:\n"
                  "  - id: p1\n"
                  "    kind: push\n"
                  "    period: 1h\n"
                  "  - id: p2\n"
                  "    kind: push\n"
                  "    token: my-secret-token\n"
                  "    period: 5s\n"
                  "    grace: 31d\n"
                  "  - id: p3\n"
                  "    kind: push\n"
                  "    token: sha256:" HASH_TEST "\n"
                  "    period: 1m\n"
                  "    timeout: 5s\n"
                  "    interval: 1m\n"
                  "    locations: [eu]\n"
                  "    quorum: all\n"
                  "  - {id: p4, kind: push, token: 'sha256:abc', period: 1m}\n"
                  "  - {id: p5, kind: push, token: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f"
                  "1b2b0b822cd15d6c15b0f00a0g', period: 1m}\n"
                  "  - {id: p6, kind: push, token: 'sha256:00000000000000000000000000000000000000"
                  "00000000000000000000000000', period: 1m}\n"
                  "  - {id: p7, kind: push, token: 'sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F"
                  "1B2B0B822CD15D6C15B0F00A08', period: 1m, url: 'http://x'}\n",
                  "2:5: check 'p1' is missing required field 'token'",
                  "7:12: check 'p2': 'token' must be the SHA-256 of the token, not the token: "
                  "the configuration never holds a secret (store the SHA-256: nines token hash)",
                  "8:13: check 'p2': 'period' must be between 10s and 30d, got '5s'",
                  "9:12: check 'p2': 'grace' must be between 0s and 30d, got '31d'",
                  "14:5: check 'p3': 'timeout' does not apply to a push check: the collector "
                  "waits for pings, it runs nothing",
                  "15:5: check 'p3': 'interval' does not apply to a push check: 'period' says "
                  "how often the job pings",
                  "16:5: check 'p3': 'locations' does not apply to a push check: the job pings "
                  "the collector, no probe runs it",
                  "17:5: check 'p3': 'quorum' does not apply to a push check: it has no "
                  "locations",
                  "18:33: check 'p4': 'token' must be sha256: and 64 hex digits (as nines token "
                  "hash prints it)",
                  "19:33: check 'p5': 'token' must be sha256: and 64 hex digits (as nines token "
                  "hash prints it)",
                  "20:33: check 'p6': 'token': an all-zero hash is the SHA-256 of no token",
                  "21:33: check 'p7': 'token' is also the token of check 'p3' (line 12): give "
                  "each job a token of its own",
                  "21:120: check 'p7': unknown key 'url' for kind push (an option of kind http)",
                  NULL);

    /* a plain token is a secret: it must never be repeated in a message */
    load_text(&l, "checks:\n"
                  "  - {id: p, kind: push, token: hunter2-secret, period: 1m}\n"
                  "api:\n"
                  "  tokens: [{name: a, role: admin, hash: hunter3-secret}]\n");
    loaded_close(&l);
    cr_assert(eq(sz, l.errs.count, 2));
    cr_expect(eq(ptr, strstr(l.msgs[0], "hunter"), NULL), "%s", l.msgs[0]);
    cr_expect(eq(ptr, strstr(l.msgs[1], "hunter"), NULL), "%s", l.msgs[1]);
}

Test(config_feature_errors, services)
{
    expect_errors("checks:\n"
                  "  - {id: web, kind: http, url: 'http://a.test'}\n"
                  "services:\n"
                  "  - id: shop\n"
                  "    checks: [web, nope, web, nope]\n"
                  "    critical: [web, db]\n"
                  "    down_when: some\n"
                  "  - id: shop\n"
                  "    checks: []\n"
                  "    critical: []\n"
                  "  - id: 'bad id'\n"
                  "    name: ''\n"
                  "    checks: {a: b}\n"
                  "  - name: x\n"
                  "  - [a]\n"
                  "  - {id: other, checks: web, colour: red}\n",
                  "5:19: service 'shop': 'checks': no check has id 'nope'",
                  "5:25: service 'shop': 'checks': 'web' is listed twice",
                  "5:30: service 'shop': 'checks': 'nope' is listed twice",
                  "6:21: service 'shop': 'critical': 'db' is not one of the service's checks",
                  "7:16: service 'shop': 'down_when' must be one of any, all, got 'some'",
                  "8:9: duplicate service id 'shop' (first defined at line 4)",
                  "9:13: service 'shop': 'checks' must list at least one check",
                  "10:15: service 'shop': 'critical' must not be empty: leave it out and every "
                  "check is critical",
                  "11:9: services[2]: 'id' must be 1-63 characters from A-Z a-z 0-9 _ . : -, "
                  "got the quoted string 'bad id'",
                  "12:11: services[2]: 'name' must not be empty",
                  "13:13: services[2]: 'checks': expected an id or a sequence of them, got a "
                  "mapping",
                  "14:5: services[3] is missing required field 'id'",
                  "14:5: services[3] is missing required field 'checks'",
                  "15:5: services[4]: expected a mapping, got a sequence",
                  "16:30: service 'other': unknown key 'colour'", NULL);
}

Test(config_feature_errors, maintenance_windows)
{
    expect_errors("checks:\n"
                  "  - {id: web, kind: http, url: 'http://a.test'}\n"
                  "services:\n"
                  "  - {id: shop, checks: web}\n"
                  "maintenance:\n"
                  "  - id: both\n"
                  "    start: 2026-12-01T22:00:00Z\n"
                  "    end: 2026-12-01T23:00:00Z\n"
                  "    days: mon\n"
                  "  - id: backwards\n"
                  "    start: 2026-12-01T22:00:00Z\n"
                  "    end: 2026-12-01T21:59:59Z\n"
                  "  - id: badtimes\n"
                  "    start: 2026-02-30T00:00:00Z\n"
                  "    end: '2026-12-01 23:00:00'\n"
                  "  - id: halfonce\n"
                  "    start: 2026-12-01T22:00:00Z\n"
                  "  - {id: halfrecur, days: mon}\n"
                  "  - {id: nothing, reason: why, checks: [web, gone, gone], services: [shop, "
                  "shoppe]}\n"
                  "  - {id: both, days: [], at: '1:00', duration: 1h}\n"
                  "  - {id: neither, reason: why}\n",
                  "9:11: maintenance 'both': give either 'start' and 'end' (a one-off window) "
                  "or 'days', 'at' and 'duration' (a recurring one), not both",
                  "12:10: maintenance 'backwards': 'end' (2026-12-01T21:59:59Z) must be after "
                  "'start' (2026-12-01T22:00:00Z)",
                  "14:12: maintenance 'badtimes': 'start' must be a UTC time such as "
                  "2026-12-01T22:00:00Z, got '2026-02-30T00:00:00Z'",
                  "15:10: maintenance 'badtimes': 'end' must be a UTC time such as "
                  "2026-12-01T22:00:00Z, got the quoted string '2026-12-01 23:00:00'",
                  "16:5: maintenance 'halfonce' is missing required field 'end'",
                  "18:5: maintenance 'halfrecur' is missing required field 'at'",
                  "18:5: maintenance 'halfrecur' is missing required field 'duration'",
                  "19:5: maintenance 'nothing': needs 'start' and 'end' (a one-off window) or "
                  "'days', 'at' and 'duration' (a recurring one)",
                  "19:46: maintenance 'nothing': 'checks': no check has id 'gone'",
                  "19:52: maintenance 'nothing': 'checks': 'gone' is listed twice",
                  "19:76: maintenance 'nothing': 'services': no service has id 'shoppe'",
                  "20:10: duplicate maintenance id 'both' (first defined at line 6)",
                  "20:22: maintenance 'both': 'days' must name at least one day",
                  "21:5: maintenance 'neither': needs 'start' and 'end' (a one-off window) or "
                  "'days', 'at' and 'duration' (a recurring one)", NULL);
}

#define NOT_A_DAY " is not a day: use mon..sun, a range such as mon-fri, daily, weekdays or " \
    "weekends"
#define TIME_OF_DAY "' must be a time of day HH:MM from 00:00 to 23:59, got "
#define IANA "'timezone' must be an IANA time zone name such as Europe/Berlin, got "

Test(config_feature_errors, recurring_windows)
{
    expect_errors("checks: []\n"
                  "maintenance:\n"
                  "  - id: baddays\n"
                  "    days: [mon, funday, 'tue-xyz', {a: b}]\n"
                  "    at: '24:00'\n"
                  "    duration: 30s\n"
                  "  - id: badzone\n"
                  "    days: daily\n"
                  "    at: 7:5\n"
                  "    duration: 8d\n"
                  "    timezone: Mars/Olympus\n"
                  "  - {id: escape, days: mon, at: '01:00', duration: 1h, timezone: ../etc/passwd"
                  "}\n"
                  "  - {id: abs, days: mon, at: '01:00', duration: 1h, timezone: /etc/localtime}\n"
                  "  - {id: map, days: {mon: 1}, at: [1], duration: 1h, timezone: ''}\n"
                  "  - [x]\n"
                  "  - {id: ranges, days: 'mon-', at: '1:60', duration: 1h}\n"
                  "  - {id: lists, days: 'mon,,tue', at: ' 1:00', duration: 1h}\n",
                  "4:17: maintenance 'baddays': 'days': 'funday'" NOT_A_DAY,
                  "4:25: maintenance 'baddays': 'days': the quoted string 'tue-xyz'" NOT_A_DAY,
                  "4:36: maintenance 'baddays': 'days': a mapping" NOT_A_DAY,
                  "5:9: maintenance 'baddays': 'at" TIME_OF_DAY "the quoted string '24:00'",
                  "6:15: maintenance 'baddays': 'duration' must be between 60s and 7d, "
                  "got '30s'",
                  "9:9: maintenance 'badzone': 'at" TIME_OF_DAY "'7:5'",
                  "10:15: maintenance 'badzone': 'duration' must be between 60s and 7d, "
                  "got '8d'",
                  "11:15: maintenance 'badzone': 'timezone': unknown time zone 'Mars/Olympus'",
                  "12:66: maintenance 'escape': " IANA "'../etc/passwd'",
                  "13:63: maintenance 'abs': " IANA "'/etc/localtime'",
                  "14:21: maintenance 'map': 'days': expected a day such as mon, a range such "
                  "as mon-fri, daily, or a sequence of them, got a mapping",
                  "14:35: maintenance 'map': 'at': expected a string, got a sequence",
                  "14:64: maintenance 'map': " IANA "the quoted string ''",
                  "15:5: maintenance[5]: expected a mapping, got a sequence",
                  "16:24: maintenance 'ranges': 'days': the quoted string 'mon-'" NOT_A_DAY,
                  "16:36: maintenance 'ranges': 'at" TIME_OF_DAY "the quoted string '1:60'",
                  "17:23: maintenance 'lists': 'days': the quoted string 'mon,,tue'" NOT_A_DAY,
                  "17:39: maintenance 'lists': 'at" TIME_OF_DAY "the quoted string ' 1:00'",
                  NULL);
}

/* A file in the zone directory that is not a zone is refused too. */
Test(config_feature_errors, timezone_file_that_is_not_a_zone)
{
    static struct loaded l;
    char want[400];

    load_text(&l, "checks: []\n"
                  "maintenance:\n"
                  "  - {id: m, days: mon, at: '01:00', duration: 1h, timezone: zone1970.tab}\n");
    loaded_close(&l);
    cr_expect(eq(int, l.rc, NINES_ECONFIG));
    cr_assert(eq(sz, l.errs.count, 1));
    snprintf(want, sizeof(want), "%s:3:61: maintenance 'm': 'timezone': cannot load time zone "
             "'zone1970.tab': ", l.path);
    cr_expect(eq(int, strncmp(l.msgs[0], want, strlen(want)), 0), "%s", l.msgs[0]);
}

Test(config_feature_errors, api_section)
{
    expect_errors("checks: []\n"
                  "api:\n"
                  "  listen: 8080\n"
                  "  connection_limit: 0\n"
                  "  per_ip_limit: 10001\n"
                  "  timeout: 11m\n"
                  "  max_body_bytes: 1000\n"
                  "  token: abc\n"
                  "  tokens:\n"
                  "    - {name: ci, role: root, hash: 'sha256:" HASH_01 "'}\n"
                  "    - {name: ci, role: viewer, hash: 'sha256:" HASH_01 "'}\n"
                  "    - {name: 'a b', role: admin, hash: my-plain-token}\n"
                  "    - {role: viewer, hash: 'sha256:abc', token: x}\n"
                  "    - {name: zero, role: admin, hash: 'sha256:00000000000000000000000000000000"
                  "00000000000000000000000000000000'}\n"
                  "    - ci\n",
                  "3:11: api: 'listen' must be an address and port such as 127.0.0.1:8080, "
                  "[::1]:8080 or :8080 (every IPv4 address), got '8080'",
                  "4:21: api: 'connection_limit' must be between 1 and 100000, got '0'",
                  "5:17: api: 'per_ip_limit' must be between 1 and 10000, got '10001'",
                  "6:12: api: 'timeout' must be between 1s and 600s, got '11m'",
                  "7:19: api: 'max_body_bytes' must be between 1024 and 16777216, got '1000'",
                  "8:3: api: unknown key 'token': the configuration never holds a secret, only "
                  "the SHA-256 of a token, in 'hash' (nines token hash)",
                  "10:24: api: token 'ci': 'role' must be one of viewer, operator, admin, "
                  "got 'root'",
                  "11:14: duplicate token name 'ci' (first defined at line 10)",
                  "11:38: api: token 'ci': 'hash' is also the hash of token 'ci' (line 10): "
                  "give each holder a token of their own",
                  "12:14: api: tokens[2]: 'name' must be 1-63 characters from A-Z a-z 0-9 _ . "
                  "@ -, got the quoted string 'a b'",
                  "12:40: api: tokens[2]: 'hash' must be the SHA-256 of the token, not the "
                  "token: the configuration never holds a secret (store the SHA-256: nines "
                  "token hash)",
                  "13:7: api: tokens[3] is missing required field 'name'",
                  "13:28: api: tokens[3]: 'hash' must be sha256: and 64 hex digits (as nines "
                  "token hash prints it)",
                  "13:42: api: tokens[3]: unknown key 'token': the configuration never holds a "
                  "secret, only the SHA-256 of a token, in 'hash' (nines token hash)",
                  "14:39: api: token 'zero': 'hash': an all-zero hash is the SHA-256 of no "
                  "token",
                  "15:7: api: tokens[5]: expected a mapping with 'name', 'role' and 'hash', "
                  "got 'ci'", NULL);
}

Test(config_feature_errors, api_listen_and_limits)
{
    static const char *const bad_listen[] = { "'[::1]8080'", "'::1:8080'", "example.com:80",
                                              "'127.0.0.1:65536'", "'1.2.3.4:'", "'[::1]:'",
                                              "'[]:80'", "'[1.2.3.4]:80'", "'1.2.3.4:-1'" };
    char yaml[256], want[400];

    for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
        const char *v = bad_listen[i];

        snprintf(yaml, sizeof(yaml), "checks: []\napi: {listen: %s}\n", v);
        if (v[0] == '\'')
            snprintf(want, sizeof(want), "2:15: api: 'listen' must be an address and port such "
                     "as 127.0.0.1:8080, [::1]:8080 or :8080 (every IPv4 address), got the "
                     "quoted string %s", v);
        else
            snprintf(want, sizeof(want), "2:15: api: 'listen' must be an address and port such "
                     "as 127.0.0.1:8080, [::1]:8080 or :8080 (every IPv4 address), got '%s'", v);
        expect_errors(yaml, want, NULL);
    }
    expect_errors("checks: []\n"
                  "api: {connection_limit: 100, per_ip_limit: 200}\n",
                  "2:44: api: 'per_ip_limit' (200) must not exceed 'connection_limit' (100)",
                  NULL);
    expect_errors("checks: []\n"
                  "api: {per_ip_limit: 257, tokens: {a: b}}\n",
                  "2:21: api: 'per_ip_limit' (257) must not exceed 'connection_limit' (256)",
                  "2:34: api: 'tokens': expected a sequence, got a mapping", NULL);
}

Test(config_feature_errors, sections_of_the_wrong_type)
{
    expect_errors("checks: []\n"
                  "service: []\n"
                  "services: {id: x}\n"
                  "maintenance: yes\n"
                  "api: [a]\n",
                  "2:1: unknown key 'service' (did you mean 'services'?)",
                  "3:11: 'services': expected a sequence, got a mapping",
                  "4:14: 'maintenance': expected a sequence, got 'yes'",
                  "5:6: 'api': expected a mapping, got a sequence", NULL);
}

/* -------------------------------------------------------------- bad: YAML */

Test(config_errors, yaml_tab_indentation)
{
    expect_errors("checks:\n"
                  "\t- id: api\n",
                  "2:1: syntax error: found character that cannot start any token "
                  "(while scanning for the next token at line 2, column 1)", NULL);
}

Test(config_errors, yaml_unclosed_quote)
{
    expect_errors("checks:\n"
                  "  - id: \"api\n"
                  "    kind: http\n",
                  "4:1: syntax error: found unexpected end of stream "
                  "(while scanning a quoted scalar at line 2, column 9)", NULL);
}

Test(config_errors, yaml_bad_indentation)
{
    expect_errors("checks:\n"
                  "  - id: api\n"
                  "     kind: http\n",
                  "3:10: syntax error: mapping values are not allowed in this context", NULL);
}

Test(config_errors, yaml_duplicate_key)
{
    expect_errors(API_CHECK "    url: http://b.test/\n"
                  "checks: []\n",
                  "5:5: duplicate key 'url' (first at line 4)",
                  "6:1: duplicate key 'checks' (first at line 1)", NULL);
}

Test(config_errors, yaml_merge_key_rejected)
{
    expect_errors("checks:\n"
                  "  - <<: {kind: http}\n"
                  "    id: api\n"
                  "    url: http://a.test/\n",
                  "2:5: merge keys ('<<') are not supported: write the keys out",
                  "2:5: check 'api' is missing required field 'kind'", NULL);
}

Test(config_errors, yaml_unknown_alias)
{
    expect_errors(API_CHECK "    locations: *nope\n",
                  "5:16: unknown alias '*nope' (no complete node has anchor '&nope')", NULL);
}

Test(config_errors, yaml_alias_inside_its_own_anchor)
{
    expect_errors("checks:\n"
                  "  - &c {id: a, kind: http, url: 'http://a.test', locations: *c}\n",
                  "2:61: unknown alias '*c' (no complete node has anchor '&c')", NULL);
}

Test(config_errors, yaml_alias_bomb)
{
    /* each level doubles: 2^25 nodes if expanded */
    char yaml[4096];
    size_t o = 0;

    o += (size_t)snprintf(yaml, sizeof(yaml), "a0: &a0 [x, x]\n");
    for (int i = 1; i < 25; i++)
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "a%d: &a%d [*a%d, *a%d]\n", i, i,
                              i - 1, i - 1);
    /*
     * a_i stands for 2^(i+2) - 1 nodes; after line 17 (a16) the aliases have
     * added 2^19 - 40, and the second alias to a16 on line 18 passes 10^6.
     */
    expect_errors(yaml, "18:18: aliases expand to too many nodes (at most 100000 aliases "
                  "and 1000000 nodes)", NULL);
}

Test(config_errors, yaml_too_many_anchors)
{
    static char yaml[32768];
    size_t o = 0;

    for (int i = 0; i < 1001; i++)
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "k%d: &a%d v\n", i, i);
    expect_errors(yaml, "1001:8: too many anchors (at most 1000)", NULL);
}

Test(config_errors, yaml_two_documents)
{
    expect_errors("checks: []\n"
                  "---\n"
                  "checks: []\n",
                  "2:1: only one YAML document is allowed in a configuration file", NULL);
}

Test(config_errors, yaml_unsupported_tag_and_complex_key)
{
    expect_errors("checks: !!set []\n"
                  "? [a]\n"
                  ": b\n",
                  "1:9: unsupported YAML tag 'tag:yaml.org,2002:set'",
                  "2:3: a mapping key must be a string, not a sequence", NULL);
}

Test(config_errors, yaml_invalid_utf8)
{
    expect_errors("checks: []\n"
                  "# caf\xc3\xa9 \xff\n",
                  "2:8: unreadable text: invalid leading UTF-8 octet", NULL);
}

Test(config_errors, yaml_nested_too_deep)
{
    char yaml[200];
    size_t o = 0;

    o += (size_t)snprintf(yaml, sizeof(yaml), "checks: ");
    for (int i = 0; i < 70; i++)
        yaml[o++] = '[';
    yaml[o] = '\0';
    /* the top mapping is level 1, so the 64th '[' (column 9 + 63) is level 65 */
    expect_errors(yaml, "1:72: nested deeper than 64 levels", NULL);
}

/* -------------------------------------------------------- bad: whole file */

Test(config_errors, empty_file)
{
    expect_errors("", "1:1: the file is empty: expected a mapping with a 'checks' key", NULL);
}

Test(config_errors, comments_only)
{
    expect_errors("# nothing here\n\n",
                  "1:1: the file is empty: expected a mapping with a 'checks' key", NULL);
}

Test(config_errors, top_level_not_a_mapping)
{
    expect_errors("\n- id: a\n- id: b\n",
                  "2:1: the top level must be a mapping with a 'checks' key, got a sequence",
                  NULL);
}

Test(config_errors, empty_values_point_at_their_key)
{
    expect_errors("collector:\n"
                  "checks:\n"
                  "  - id:\n"
                  "    kind: http\n"
                  "    url: http://a.test/\n",
                  "1:1: 'collector': expected a mapping, got null",
                  "3:5: checks[0]: 'id': expected a string, got null", NULL);
}

Test(config_errors, top_level_null_document)
{
    expect_errors("--- \n",
                  "1:1: the top level must be a mapping with a 'checks' key, got null", NULL);
}

Test(config_errors, several_problems_all_reported)
{
    expect_errors("collector:\n"                              /* 1 */
                  "  log_level: verbose\n"                    /* 2 */
                  "  stream_maxlen: 10\n"                     /* 3 */
                  "checks:\n"                                 /* 4 */
                  "  - id: api\n"                             /* 5 */
                  "    kind: http\n"                          /* 6 */
                  "    url: http://a.test/\n"                 /* 7 */
                  "    intervall: 10s\n"                      /* 8 */
                  "  - id: web\n"                             /* 9 */
                  "    kind: http\n"                          /* 10 */
                  "    interval: 10s\n"                       /* 11 */
                  "    timeout: 11s\n"                        /* 12 */
                  "  - id: api\n"                             /* 13 */
                  "    kind: http\n"                          /* 14 */
                  "    url: http://c.test/\n"                 /* 15 */
                  "    method: FETCH\n",                      /* 16 */
                  "2:14: collector: 'log_level' must be one of debug, info, warn, error, "
                  "got 'verbose'",
                  "3:18: collector: 'stream_maxlen' must be between 1000 and 100000000, "
                  "got '10'",
                  "8:5: check 'api': unknown key 'intervall' (did you mean 'interval'?)",
                  "9:5: check 'web' is missing required field 'url'",
                  "12:14: check 'web': 'timeout' (11s) must not exceed 'interval' (10s)",
                  "13:9: duplicate check id 'api' (first defined at line 5)",
                  "16:13: check 'api': 'method' must be one of GET, HEAD, POST, PUT, PATCH, "
                  "DELETE, OPTIONS, got 'FETCH'", NULL);
}

Test(config_errors, more_errors_than_the_list_holds)
{
    static struct loaded l;
    char yaml[1024];
    size_t o = 0;

    for (int i = 0; i < 25; i++)
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "bogus%d: 1\n", i);
    load_text(&l, yaml);
    loaded_close(&l);
    cr_expect(eq(int, l.rc, NINES_ECONFIG));
    cr_expect(eq(sz, l.errs.count, NINES_ERRLIST_MAX));
    cr_expect(eq(sz, l.errs.dropped, 26 - NINES_ERRLIST_MAX), "25 keys + missing checks");
}

Test(config_errors, without_an_error_list)
{
    char dir[64], path[128];
    struct nines_config dummy;
    struct nines_config *cfg = &dummy;     /* must be reset to NULL */

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    cr_assert(eq(int, test_write_file(path, "checks: [1]\n"), 0));
    cr_expect(eq(int, nines_config_load(path, &cfg, NULL), NINES_ECONFIG));
    cr_expect(eq(ptr, cfg, NULL));
    test_rmtree(dir);
}

Test(config_errors, unreadable_paths)
{
    static struct loaded l;
    char want[300];

    memset(&l, 0, sizeof(l));
    cr_assert(eq(int, test_tmpdir(l.dir, sizeof(l.dir)), 0));
    snprintf(l.path, sizeof(l.path), "%s/missing.yaml", l.dir);
    load_file(&l);
    cr_expect(eq(int, l.rc, NINES_EIO));
    cr_expect(eq(ptr, l.cfg, NULL));
    cr_assert(eq(sz, l.errs.count, 1));
    cr_expect(eq(int, l.errs.item[0].line, 0));
    snprintf(want, sizeof(want), "%s: cannot read the configuration file: "
             "No such file or directory", l.path);
    cr_expect(eq(str, l.msgs[0], want));

    /* a directory opens, but cannot be read */
    memset(&l.errs, 0, sizeof(l.errs));
    snprintf(l.path, sizeof(l.path), "%s", l.dir);
    load_file(&l);
    cr_expect(eq(int, l.rc, NINES_EIO));
    snprintf(want, sizeof(want), "%s: cannot read the configuration file: Is a directory",
             l.path);
    cr_expect(eq(str, l.msgs[0], want));
    test_rmtree(l.dir);
}

Test(config_errors, file_too_large)
{
    static struct loaded l;
    char want[300];

    memset(&l, 0, sizeof(l));
    cr_assert(eq(int, test_tmpdir(l.dir, sizeof(l.dir)), 0));
    snprintf(l.path, sizeof(l.path), "%s/huge.yaml", l.dir);
    cr_assert(eq(int, test_write_file(l.path, ""), 0));
    cr_assert(eq(int, truncate(l.path, (16 << 20) + 1), 0));     /* sparse */
    load_file(&l);
    test_rmtree(l.dir);
    cr_expect(eq(int, l.rc, NINES_ECONFIG));
    cr_expect(eq(ptr, l.cfg, NULL));
    cr_assert(eq(sz, l.errs.count, 1));
    snprintf(want, sizeof(want), "%s: the file is larger than 16 MiB", l.path);
    cr_expect(eq(str, l.msgs[0], want));
}

Test(config_errors, file_without_read_permission)
{
    static struct loaded l;

    if (geteuid() == 0)
        cr_skip_test("root reads any file");
    memset(&l, 0, sizeof(l));
    cr_assert(eq(int, test_tmpdir(l.dir, sizeof(l.dir)), 0));
    snprintf(l.path, sizeof(l.path), "%s/secret.yaml", l.dir);
    cr_assert(eq(int, test_write_file(l.path, "checks: []\n"), 0));
    cr_assert(eq(int, chmod(l.path, 0), 0));
    load_file(&l);
    test_rmtree(l.dir);
    cr_expect(eq(int, l.rc, NINES_EIO));
    cr_assert(eq(sz, l.errs.count, 1));
    cr_expect(ne(ptr, strstr(l.msgs[0], "Permission denied"), NULL), "%s", l.msgs[0]);
}

/* --------------------------------------------------------------- durations */

struct duration_case {
    char in[32];
    int ok;
    int64_t ms;
};

ParameterizedTestParameters(duration, parse)
{
    static struct duration_case cases[] = {
        { "500ms", 1, 500 },
        { "10s", 1, 10000 },
        { "5m", 1, 300000 },
        { "2h", 1, 7200000 },
        { "1d", 1, 86400000 },
        { "30", 1, 30000 },
        { "0", 1, 0 },
        { "0ms", 1, 0 },
        { "007s", 1, 7000 },
        { "9223372036854775807ms", 1, INT64_MAX },
        { "9223372036854775s", 1, 9223372036854775000 },
        { "", 0, 0 },
        { "-5s", 0, 0 },
        { "+5s", 0, 0 },
        { "5x", 0, 0 },
        { "5 s", 0, 0 },
        { " 5s", 0, 0 },
        { "5s ", 0, 0 },
        { "1.5s", 0, 0 },
        { "s", 0, 0 },
        { "ms", 0, 0 },
        { "10sec", 0, 0 },
        { "5M", 0, 0 },
        { "1h30m", 0, 0 },
        { "0x10", 0, 0 },
        { "9223372036854775808ms", 0, 0 },
        { "9223372036854776s", 0, 0 },
        { "99999999999999999999", 0, 0 },
        { "106751991167301d", 0, 0 },
    };

    return cr_make_param_array(struct duration_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct duration_case *c, duration, parse)
{
    int64_t ms = -42;
    int rc = nines_duration_parse(c->in, &ms);

    if (c->ok) {
        cr_expect(eq(int, rc, 0), "'%s'", c->in);
        cr_expect(eq(i64, ms, c->ms), "'%s'", c->in);
    } else {
        cr_expect(eq(int, rc, NINES_EINVAL), "'%s'", c->in);
        cr_expect(eq(i64, ms, -42), "'%s' leaves the output alone", c->in);
    }
}

Test(duration, null_is_invalid)
{
    int64_t ms = 0;

    cr_expect(eq(int, nines_duration_parse(NULL, &ms), NINES_EINVAL));
}

/* ------------------------------------------------------------------ alerting */

/* Dependencies, routing labels, every receiver kind and routes: every field lands. */
Test(config_alerting, full_file_every_field)
{
    struct loaded l;
    const struct nines_config *c;
    const struct nines_check *k;
    const struct nines_receiver_cfg *r;
    const struct nines_route_cfg *rt;
    char real[PATH_MAX], want[PATH_MAX + 16];

    expect_good(&l, "defaults:\n"
                    "  team: core\n"
                    "  severity: ticket\n"
                    "routes:\n"                          /* before what it names */
                    "  - match:\n"
                    "      severity: page\n"
                    "      check: '~^(web|api)$'\n"
                    "      customer: acme\n"
                    "      service: ~shop\n"
                    "      team: web-team\n"
                    "      rule: check_down\n"
                    "      location: eu\n"
                    "    receivers: [pd, chat]\n"
                    "    continue: true\n"
                    "    group_wait: 0s\n"
                    "    group_interval: 1m\n"
                    "    repeat_interval: 30d\n"
                    "    escalate: {after: 15m, to: [og, mail]}\n"
                    "  - receivers: mail\n"
                    "checks:\n"
                    "  - id: web\n"
                    "    kind: http\n"
                    "    url: http://a.test/\n"
                    "    depends_on: [db, dns]\n"          /* defined after it */
                    "    team: web-team\n"
                    "    severity: page\n"
                    "  - {id: db, kind: tcp, host: db.test, port: 5432, depends_on: dns}\n"
                    "  - {id: dns, kind: dns, name: a.test, severity: info}\n"
                    "  - {id: beat, kind: push, token: 'sha256:" HASH_01 "', period: 1m,\n"
                    "     depends_on: [web]}\n"
                    "receivers:\n"
                    "  - name: hook\n"
                    "    kind: webhook\n"
                    "    url: https://hooks.example/nines\n"
                    "    secret_env: HOOK_KEY\n"
                    "    template_summary: '{check} is {state} since {start}: {reason} {url}'\n"
                    "  - {name: hook2, kind: webhook, url: 'http://127.0.0.1:9/x'}\n"
                    "  - {name: chat, kind: slack,\n"
                    "     url: 'https://hooks.slack.com/services/T/B/X'}\n"
                    "  - {name: pd, kind: pagerduty, secret_file: keys/pd}\n"
                    "  - {name: og, kind: opsgenie, secret_env: OG_KEY,\n"
                    "     url: 'https://api.eu.opsgenie.com'}\n"
                    "  - {name: og2, kind: opsgenie, secret_file: /run/og}\n"
                    "  - {name: 'am:1', kind: alertmanager, url: 'http://127.0.0.1:9093'}\n"
                    "  - name: mail\n"
                    "    kind: email\n"
                    "    url: smtps://mail.example:465\n"
                    "    user: nines@example.com\n"
                    "    secret_env: SMTP_PASSWORD\n"
                    "    from: '\"Nines\" <nines@example.com>'\n"
                    "    to: [ops@example.com, 'dev@example.com,boss@Example.com']\n"
                    "    starttls: false\n"
                    "  - {name: mail2, kind: email, url: 'smtp://127.0.0.1:2525',\n"
                    "     from: alerts@example.com, to: ' a@example.com ,b@example.com'}\n");
    c = l.cfg;
    cr_assert(eq(sz, c->checks_count, 4));
    k = &c->checks[0];
    cr_assert(eq(sz, k->depends_on_count, 2));
    cr_expect(eq(str, k->depends_on[0], "db"));
    cr_expect(eq(str, k->depends_on[1], "dns"));
    cr_expect(eq(str, k->team, "web-team"));
    cr_expect(eq(str, k->severity, "page"));
    k = &c->checks[1];
    cr_assert(eq(sz, k->depends_on_count, 1), "one id as a string");
    cr_expect(eq(str, k->depends_on[0], "dns"));
    cr_expect(eq(str, k->team, "core"), "from defaults");
    cr_expect(eq(str, k->severity, "ticket"), "from defaults");
    k = &c->checks[2];
    cr_expect(eq(sz, k->depends_on_count, 0));
    cr_expect(eq(ptr, k->depends_on, NULL));
    cr_expect(eq(str, k->severity, "info"));
    cr_expect(eq(str, c->checks[3].depends_on[0], "web"), "a push check may depend too");
    cr_expect(eq(str, c->checks[3].team, "core"));

    cr_assert(eq(sz, c->receivers_count, 9));
    r = &c->receivers[0];
    cr_expect(eq(str, r->name, "hook"));
    cr_expect(eq(str, r->kind, "webhook"));
    cr_expect(eq(str, r->url, "https://hooks.example/nines"));
    cr_expect(eq(str, r->secret_env, "HOOK_KEY"));
    cr_expect(eq(ptr, r->secret_file, NULL));
    cr_expect(eq(str, r->template_summary, "{check} is {state} since {start}: {reason} {url}"));
    cr_expect(eq(ptr, c->receivers[1].secret_env, NULL), "a webhook need not sign");
    cr_expect(eq(ptr, c->receivers[1].template_summary, NULL));
    r = &c->receivers[2];
    cr_expect(eq(str, r->kind, "slack"));
    cr_expect(eq(str, r->url, "https://hooks.slack.com/services/T/B/X"));
    r = &c->receivers[3];
    cr_expect(eq(str, r->kind, "pagerduty"));
    cr_expect(eq(str, r->url, "https://events.pagerduty.com/v2/enqueue"), "the public endpoint");
    cr_assert(ne(ptr, realpath(l.dir, real), NULL));
    snprintf(want, sizeof(want), "%s/keys/pd", real);
    cr_expect(eq(str, r->secret_file, want), "relative to the file");
    cr_expect(eq(ptr, r->secret_env, NULL));
    r = &c->receivers[4];
    cr_expect(eq(str, r->url, "https://api.eu.opsgenie.com"));
    cr_expect(eq(str, r->secret_env, "OG_KEY"));
    cr_expect(eq(str, c->receivers[5].url, "https://api.opsgenie.com"), "the public endpoint");
    cr_expect(eq(str, c->receivers[5].secret_file, "/run/og"));
    cr_expect(eq(str, c->receivers[6].name, "am:1"));
    cr_expect(eq(str, c->receivers[6].kind, "alertmanager"));
    r = &c->receivers[7];
    cr_expect(eq(str, r->kind, "email"));
    cr_expect(eq(str, r->url, "smtps://mail.example:465"));
    cr_expect(eq(str, r->user, "nines@example.com"));
    cr_expect(eq(str, r->secret_env, "SMTP_PASSWORD"));
    cr_expect(eq(str, r->from, "\"Nines\" <nines@example.com>"));
    cr_expect(eq(str, r->to, "ops@example.com, dev@example.com, boss@Example.com"));
    cr_expect(eq(int, r->starttls, 0));
    r = &c->receivers[8];
    cr_expect(eq(str, r->to, "a@example.com, b@example.com"), "trimmed and joined");
    cr_expect(eq(int, r->starttls, 1), "the default");
    cr_expect(eq(ptr, r->user, NULL));
    cr_expect(eq(ptr, r->secret_env, NULL), "SMTP without auth");

    cr_assert(eq(sz, c->routes_count, 2));
    rt = &c->routes[0];
    cr_assert(eq(sz, rt->match_count, 7));
    cr_expect(eq(str, rt->match[0].name, "severity"));
    cr_expect(eq(str, rt->match[0].value, "page"));
    cr_expect(eq(int, rt->match[0].regex, 0));
    cr_expect(eq(str, rt->match[1].name, "check"));
    cr_expect(eq(str, rt->match[1].value, "^(web|api)$"), "stored without the ~");
    cr_expect(eq(int, rt->match[1].regex, 1));
    cr_expect(eq(str, rt->match[2].name, "customer"));
    cr_expect(eq(str, rt->match[2].value, "acme"));
    cr_expect(eq(str, rt->match[3].value, "shop"));
    cr_expect(eq(int, rt->match[3].regex, 1));
    cr_expect(eq(str, rt->match[4].name, "team"));
    cr_expect(eq(str, rt->match[5].name, "rule"));
    cr_expect(eq(str, rt->match[6].name, "location"));
    cr_expect(eq(str, rt->match[6].value, "eu"));
    cr_expect(eq(int, rt->match[6].regex, 0));
    cr_assert(eq(sz, rt->receivers_count, 2));
    cr_expect(eq(str, rt->receivers[0], "pd"));
    cr_expect(eq(str, rt->receivers[1], "chat"));
    cr_expect(eq(int, rt->continue_matching, 1));
    cr_expect(eq(i64, rt->group_wait_ms, 0));
    cr_expect(eq(i64, rt->group_interval_ms, 60000));
    cr_expect(eq(i64, rt->repeat_interval_ms, 30 * INT64_C(86400000)));
    cr_assert(eq(sz, rt->escalate_count, 1));
    cr_expect(eq(i64, rt->escalate[0].after_ms, 15 * 60000));
    cr_assert(eq(sz, rt->escalate[0].to_count, 2));
    cr_expect(eq(str, rt->escalate[0].to[0], "og"));
    cr_expect(eq(str, rt->escalate[0].to[1], "mail"));
    rt = &c->routes[1];             /* every default */
    cr_expect(eq(sz, rt->match_count, 0));
    cr_expect(eq(ptr, rt->match, NULL));
    cr_assert(eq(sz, rt->receivers_count, 1));
    cr_expect(eq(str, rt->receivers[0], "mail"));
    cr_expect(eq(int, rt->continue_matching, 0));
    cr_expect(eq(i64, rt->group_wait_ms, 10000));
    cr_expect(eq(i64, rt->group_interval_ms, 300000));
    cr_expect(eq(i64, rt->repeat_interval_ms, 4 * INT64_C(3600000)));
    cr_expect(eq(sz, rt->escalate_count, 0));
    cr_expect(eq(ptr, rt->escalate, NULL));
    loaded_close(&l);
}

/* Receivers without routes send nothing, and that is allowed; none at all by default. */
Test(config_alerting, receivers_without_routes_and_defaults)
{
    struct loaded l;

    expect_good(&l, API_CHECK);
    cr_expect(eq(sz, l.cfg->receivers_count, 0));
    cr_expect(eq(ptr, l.cfg->receivers, NULL));
    cr_expect(eq(sz, l.cfg->routes_count, 0));
    cr_expect(eq(ptr, l.cfg->routes, NULL));
    cr_expect(eq(sz, l.cfg->checks[0].depends_on_count, 0));
    cr_expect(eq(ptr, l.cfg->checks[0].team, NULL));
    cr_expect(eq(ptr, l.cfg->checks[0].severity, NULL), "NULL means page");
    loaded_close(&l);

    expect_good(&l, API_CHECK
                "receivers:\n"
                "  - {name: chat, kind: slack, url: 'https://hooks.slack.test/x'}\n"
                "routes: []\n");
    cr_expect(eq(sz, l.cfg->receivers_count, 1));
    cr_expect(eq(sz, l.cfg->routes_count, 0));
    cr_expect(eq(ptr, l.cfg->routes, NULL));
    loaded_close(&l);

    /* an empty match is every notification; the longest escalation */
    expect_good(&l, API_CHECK
                "routes:\n"
                "  - {match: {}, receivers: [a], escalate: {after: 24h, to: a}}\n"
                "receivers: [{name: a, kind: alertmanager, url: 'http://am.test'}]\n");
    cr_assert(eq(sz, l.cfg->routes_count, 1));
    cr_expect(eq(sz, l.cfg->routes[0].match_count, 0));
    cr_assert(eq(sz, l.cfg->routes[0].escalate_count, 1));
    cr_expect(eq(i64, l.cfg->routes[0].escalate[0].after_ms, 24 * INT64_C(3600000)));
    cr_assert(eq(sz, l.cfg->routes[0].escalate[0].to_count, 1));
    cr_expect(eq(str, l.cfg->routes[0].escalate[0].to[0], "a"));
    loaded_close(&l);
}

/* -------------------------------------------------------- alerting: bad files */

Test(config_alerting_errors, dependencies_and_labels)
{
    expect_errors("defaults:\n"
                  "  depends_on: [a]\n"
                  "checks:\n"
                  "  - {id: a, kind: http, url: 'http://a.test/', depends_on: [b]}\n"
                  "  - {id: b, kind: http, url: 'http://b.test/', depends_on: [a, nope]}\n"
                  "  - {id: c, kind: http, url: 'http://c.test/', depends_on: c}\n"
                  "  - {id: d, kind: http, url: 'http://d.test/', depends_on: [e]}\n"
                  "  - {id: e, kind: http, url: 'http://e.test/', depends_on: [f, a]}\n"
                  "  - {id: f, kind: http, url: 'http://f.test/', depends_on: [d]}\n"
                  "  - {id: g, kind: http, url: 'http://g.test/', depends_on: [g, 'x y', g]}\n"
                  "  - {id: h, kind: http, url: 'http://h.test/', severity: urgent, team: 'a b'}\n"
                  "  - id: i\n"
                  "    kind: http\n"
                  "    url: http://i.test/\n"
                  "    depends_on: {a: b}\n"
                  "    severity: [page]\n"
                  "    team: ''\n"
                  "  - {id: j, kind: push, token: 'sha256:" HASH_01 "', period: 1m, "
                  "depends_on: [j2]}\n"
                  "  - {kind: http, url: 'http://k.test/', depends_on: [nope2]}\n",
                  "2:3: defaults: 'depends_on' cannot have a default: set it in each check",
                  "5:61: check 'b': 'depends_on': 'a' closes a dependency cycle: a -> b -> a",
                  "5:64: check 'b': 'depends_on': no check has id 'nope'",
                  "6:60: check 'c': 'depends_on': a check cannot depend on itself",
                  "9:61: check 'f': 'depends_on': 'd' closes a dependency cycle: d -> e -> f -> d",
                  "10:61: check 'g': 'depends_on': a check cannot depend on itself",
                  "10:64: check 'g': 'depends_on': the quoted string 'x y' is not an id (1-63 "
                  "characters from A-Z a-z 0-9 _ . : -)",
                  "10:71: check 'g': 'depends_on': 'g' is listed twice",
                  "11:58: check 'h': 'severity' must be one of page, ticket, info, got 'urgent'",
                  "11:72: check 'h': 'team' must be 1-63 characters from A-Z a-z 0-9 _ . -, got "
                  "the quoted string 'a b'",
                  "15:17: check 'i': 'depends_on': expected an id or a sequence of them, got a "
                  "mapping",
                  "16:15: check 'i': 'severity': expected a string, got a sequence",
                  "17:11: check 'i': 'team' must be 1-63 characters from A-Z a-z 0-9 _ . -, got "
                  "the quoted string ''",
                  "18:132: check 'j': 'depends_on': no check has id 'j2'",
                  "19:5: checks[10] is missing required field 'id'",
                  "19:54: checks[10]: 'depends_on': no check has id 'nope2'", NULL);
}

/* Two cycles through one check are two errors; a dependency on a cycle is not one. */
Test(config_alerting_errors, every_cycle_once)
{
    expect_errors("checks:\n"
                  "  - {id: a, kind: http, url: 'http://a.test/', depends_on: [b, c]}\n"
                  "  - {id: b, kind: http, url: 'http://b.test/', depends_on: a}\n"
                  "  - {id: c, kind: http, url: 'http://c.test/', depends_on: [a]}\n"
                  "  - {id: d, kind: http, url: 'http://d.test/', depends_on: [a, b]}\n",
                  "3:60: check 'b': 'depends_on': 'a' closes a dependency cycle: a -> b -> a",
                  "4:61: check 'c': 'depends_on': 'a' closes a dependency cycle: a -> c -> a",
                  NULL);
}

Test(config_alerting_errors, receivers)
{
    expect_errors("checks: []\n"
                  "receivers:\n"
                  "  - {name: chat, kind: slack, url: 'https://hooks.slack.test/x', "
                  "secret_env: SLACK_KEY}\n"
                  "  - {name: am, kind: alertmanager, url: 'http://am.test', secret_file: /k, "
                  "starttls: true}\n"
                  "  - {name: pd, kind: pagerduty}\n"
                  "  - {name: og, kind: opsgenie, user: me}\n"
                  "  - {name: hook, kind: webhook, secret_env: A, secret_file: /b, "
                  "from: a@b.test}\n"
                  "  - {name: chat, kind: sms, from: x, url: 'mailto:x'}\n"
                  "  - {kind: webhook, url: 'ftp://hooks.test/'}\n"
                  "  - name: 'bad name'\n"
                  "    url: https://x.test/\n"
                  "  - {name: tpl, kind: webhook, url: 'http://h.test/', "
                  "template_summary: '{chek} {check} {Check} {}'}\n"
                  "  - {name: pw, kind: webhook, url: 'http://h.test/', password: hunter2, "
                  "routing_key: hunter3}\n"
                  "  - [x]\n",
                  "3:66: receiver 'chat': 'secret_env' is only for kinds webhook, pagerduty, "
                  "opsgenie, email",
                  "4:59: receiver 'am': 'secret_file' is only for kinds webhook, pagerduty, "
                  "opsgenie, email",
                  "4:76: receiver 'am': 'starttls' is only for kind email",
                  "5:5: receiver 'pd': needs 'secret_env' or 'secret_file' (where to read the "
                  "routing key from)",
                  "6:5: receiver 'og': needs 'secret_env' or 'secret_file' (where to read the "
                  "API key from)",
                  "6:32: receiver 'og': 'user' is only for kind email",
                  "7:5: receiver 'hook' is missing required field 'url'",
                  "7:61: receiver 'hook': give either 'secret_env' or 'secret_file', not both",
                  "7:65: receiver 'hook': 'from' is only for kind email",
                  "8:12: duplicate receiver name 'chat' (first defined at line 3)",
                  "8:24: receiver 'chat': 'kind' must be one of webhook, slack, pagerduty, "
                  "opsgenie, alertmanager, email, got 'sms'",
                  "8:35: receiver 'chat': 'from' must be an address such as nines@example.com "
                  "or Nines <nines@example.com>, got 'x'",
                  "9:5: receivers[6] is missing required field 'name'",
                  "9:26: receivers[6]: 'url' must start with http:// or https://, got the "
                  "quoted string 'ftp://hooks.test/'",
                  "10:5: receivers[7] is missing required field 'kind'",
                  "10:11: receivers[7]: 'name' must be 1-63 characters from A-Z a-z 0-9 _ . : -, "
                  "got the quoted string 'bad name'",
                  "12:73: receiver 'tpl': 'template_summary': unknown placeholder {chek} (known: "
                  "{check} {service} {state} {reason} {summary} {start} {url})",
                  "13:54: receiver 'pw': unknown key 'password': the configuration never holds "
                  "a secret, only where to read it: 'secret_env' or 'secret_file'",
                  "13:73: receiver 'pw': unknown key 'routing_key': the configuration never "
                  "holds a secret, only where to read it: 'secret_env' or 'secret_file'",
                  "14:5: receivers[10]: expected a mapping, got a sequence", NULL);
}

Test(config_alerting_errors, email_receivers)
{
    expect_errors("checks: []\n"
                  "receivers:\n"
                  "  - {name: m1, kind: email, url: 'smtp://mail.test', from: a@b.test}\n"
                  "  - {name: m2, kind: email, to: ops@b.test}\n"
                  "  - {name: m3, kind: email, url: 'https://mail.test', from: a@b.test, "
                  "to: ops@b.test}\n"
                  "  - {name: m4, kind: email, url: 'smtp://u:pw@mail.test', from: a@b.test, "
                  "to: ops@b.test}\n"
                  "  - {name: m5, kind: email, url: 'smtps://:465', from: 'Nines <a@b.test', "
                  "to: [ops@b.test, OPS@b.test]}\n"
                  "  - {name: m6, kind: email, url: 'smtp://mail.test', "
                  "from: '\"Q\\\"x\" <a@b.test>', to: 'a@b.test,, c@d.test'}\n"
                  "  - {name: m7, kind: email, url: 'smtp://mail.test', from: a@b.test, to: [], "
                  "starttls: maybe}\n"
                  "  - {name: m8, kind: email, url: 'smtp://mail.test', from: a@b.test, "
                  "to: {a: b}, user: \"a\\tb\"}\n"
                  "  - {name: m9, kind: email, url: 'smtp://mail.test', from: a@b.test, "
                  "to: [a@b.test, [x], 'c d@e.test', 'x@y..z']}\n"
                  "  - {name: m10, kind: email, url: 'smtp://mail.test', from: a@b.test, "
                  "to: [a1@b.test, a2@b.test, a3@b.test, a4@b.test, a5@b.test, a6@b.test, "
                  "a7@b.test, a8@b.test, a9@b.test, a10@b.test, a11@b.test, a12@b.test, "
                  "a13@b.test, a14@b.test, a15@b.test, a16@b.test, a17@b.test]}\n",
                  "3:5: receiver 'm1' is missing required field 'to'",
                  "4:5: receiver 'm2' is missing required field 'url'",
                  "4:5: receiver 'm2' is missing required field 'from'",
                  "5:34: receiver 'm3': 'url' must start with smtp:// or smtps:// (kind email), "
                  "got the quoted string 'https://mail.test'",
                  "6:34: receiver 'm4': 'url' must not hold a user or password: use 'user' and "
                  "'secret_env' or 'secret_file'",
                  "7:34: receiver 'm5': 'url' has no host, got the quoted string 'smtps://:465'",
                  "7:56: receiver 'm5': 'from' must be an address such as nines@example.com or "
                  "Nines <nines@example.com>, got the quoted string 'Nines <a@b.test'",
                  "7:92: receiver 'm5': 'to': 'OPS@b.test' is listed twice",
                  "8:60: receiver 'm6': 'from' must be an address such as nines@example.com or "
                  "Nines <nines@example.com>, got the quoted string '\"Q\\\"x\" <a@b.test>'",
                  "8:85: receiver 'm6': 'to': an address is empty (two commas in a row, or one "
                  "at an end)",
                  "9:74: receiver 'm7': 'to' must list at least one address",
                  "9:88: receiver 'm7': 'starttls': expected true or false, got 'maybe'",
                  "10:74: receiver 'm8': 'to': expected an address or a sequence of them, got a "
                  "mapping",
                  "10:88: receiver 'm8': 'user' must be one line of text, got the quoted string "
                  "'a?b'",
                  "11:85: receiver 'm9': 'to': expected an address, got a sequence",
                  "11:90: receiver 'm9': 'to': 'c d@e.test' is not an email address such as "
                  "ops@example.com",
                  "11:104: receiver 'm9': 'to': 'x@y..z' is not an email address such as "
                  "ops@example.com",
                  "12:259: receiver 'm10': 'to': at most 16 addresses and 511 bytes", NULL);
}

Test(config_alerting_errors, routes)
{
    expect_errors("checks: []\n"
                  "receivers:\n"
                  "  - {name: pd, kind: pagerduty, secret_env: PD_KEY}\n"
                  "routes:\n"
                  "  - match: {check: '~(', colour: red, severity: pag, team: '', rule: ~}\n"
                  "    receivers: [pd, pager]\n"
                  "    escalate: {after: 5s, to: [nobody, pd], when: later}\n"
                  "  - receivers: []\n"
                  "    group_wait: 2h\n"
                  "    group_interval: 0s\n"
                  "    repeat_interval: 9s\n"
                  "    continue: sometimes\n"
                  "  - {match: [a], receivers: pd, escalate: 5m}\n"
                  "  - escalate: {to: []}\n"
                  "  - just text\n",
                  "5:20: routes[0]: 'match': 'check': the quoted string '~(' is not a valid "
                  "regular expression: Unmatched ( or \\(",
                  "5:26: routes[0]: 'match': unknown label 'colour' (labels: check, service, "
                  "customer, team, severity, rule, location)",
                  "5:49: routes[0]: 'match': 'severity' must be one of page, ticket, info (or "
                  "~regex), got 'pag'",
                  "5:60: routes[0]: 'match': 'team' needs a value or ~regex, got an empty string",
                  "5:70: routes[0]: 'match': 'rule' needs a value or ~regex, got null",
                  "6:21: routes[0]: 'receivers': no receiver has name 'pager'",
                  "7:23: routes[0]: escalate: 'after' must be between 10s and 24h, got '5s'",
                  "7:32: routes[0]: escalate: 'to': no receiver has name 'nobody'",
                  "7:45: routes[0]: escalate: unknown key 'when'",
                  "8:16: routes[1]: 'receivers' must list at least one receiver",
                  "9:17: routes[1]: 'group_wait' must be between 0s and 1h, got '2h'",
                  "10:21: routes[1]: 'group_interval' must be between 1s and 24h, got '0s'",
                  "11:22: routes[1]: 'repeat_interval' must be between 10s and 30d, got '9s'",
                  "12:15: routes[1]: 'continue': expected true or false, got 'sometimes'",
                  "13:13: routes[2]: 'match': expected a mapping of labels to values, got a "
                  "sequence",
                  "13:43: routes[2]: 'escalate': expected a mapping with 'after' and 'to', or a "
                  "sequence of them, got '5m'",
                  "14:5: routes[3] is missing required field 'receivers'",
                  "14:15: routes[3]: escalate is missing required field 'after'",
                  "14:20: routes[3]: escalate: 'to' must list at least one receiver",
                  "15:5: routes[4]: expected a mapping, got 'just text'", NULL);
}

/* Regexes that do not compile, an empty one, and references without receivers at all. */
Test(config_alerting_errors, matchers_and_missing_receivers)
{
    expect_errors("checks: []\n"
                  "routes:\n"
                  "  - receivers: [pd, pd]\n"
                  "    match: {location: '~', service: '~a[', customer: ~ok, "
                  "severity: '~x{2,1}'}\n"
                  "  - {receivers: ops, escalate: {after: 25h, to: ops}}\n"
                  "receivers: {pd: x}\n",
                  "3:17: routes[0]: 'receivers': no receiver has name 'pd'",
                  "3:21: routes[0]: 'receivers': 'pd' is listed twice",
                  "4:23: routes[0]: 'match': 'location': '~' must be followed by a regular "
                  "expression",
                  "4:37: routes[0]: 'match': 'service': the quoted string '~a[' is not a valid "
                  "regular expression: Invalid regular expression",
                  "4:69: routes[0]: 'match': 'severity': the quoted string '~x{2,1}' is not a "
                  "valid regular expression: Invalid content of \\{\\}",
                  "5:17: routes[1]: 'receivers': no receiver has name 'ops'",
                  "5:40: routes[1]: escalate: 'after' must be between 10s and 24h, got '25h'",
                  "5:49: routes[1]: escalate: 'to': no receiver has name 'ops'",
                  "6:12: 'receivers': expected a sequence, got a mapping", NULL);
}

/* Whatever is written where a secret does not belong, it is never repeated in a message. */
Test(config_alerting_errors, secrets_are_not_echoed)
{
    static struct loaded l;

    load_text(&l, "checks: []\n"
                  "receivers:\n"
                  "  - {name: a, kind: pagerduty, routing_key: hunter1-secret}\n"
                  "  - {name: b, kind: opsgenie, api_key: hunter2-secret, secret_env: X}\n"
                  "  - {name: c, kind: email, url: 'smtp://u:hunter3-secret@m.test', from: a@b.c,"
                  " to: a@b.c}\n");
    loaded_close(&l);
    cr_assert(eq(sz, l.errs.count, 4));
    for (size_t i = 0; i < l.errs.count; i++)
        cr_expect(eq(ptr, strstr(l.msgs[i], "hunter"), NULL), "%s", l.msgs[i]);
}

/* Strings are limited to what the notifier's fixed buffers hold: nothing is cut later. */
Test(config_alerting_errors, lengths_fit_the_notifier)
{
    static char yaml[4096], url[600], tpl[600], user[200];
    static struct loaded l;

    snprintf(url, sizeof(url), "https://h.test/%0497d", 0);     /* 512 bytes */
    memset(tpl, 'x', 501);
    tpl[501] = '\0';
    memset(user, 'u', 128);
    user[128] = '\0';
    snprintf(yaml, sizeof(yaml), "checks: []\n"
             "receivers:\n"
             "  - {name: a, kind: webhook, url: '%s', template_summary: %s}\n"
             "  - {name: b, kind: email, url: 'smtp://m.test', from: a@b.test, to: a@b.test,\n"
             "     user: %s}\n", url, tpl, user);
    expect_errors(yaml, "3:35: receiver 'a': 'url' is too long (512 bytes, at most 511)",
                  "3:569: receiver 'a': 'template_summary' is too long (501 bytes, at most 500)",
                  "5:12: receiver 'b': 'user' is too long (128 bytes, at most 127)", NULL);

    /* one byte less of each is fine */
    url[511] = '\0';
    tpl[500] = '\0';
    user[127] = '\0';
    snprintf(yaml, sizeof(yaml), "checks: []\n"
             "receivers:\n"
             "  - {name: a, kind: webhook, url: '%s', template_summary: %s}\n"
             "  - {name: b, kind: email, url: 'smtp://m.test', from: a@b.test, to: a@b.test,\n"
             "     user: %s}\n", url, tpl, user);
    expect_good(&l, yaml);
    cr_expect(eq(sz, strlen(l.cfg->receivers[0].url), 511));
    cr_expect(eq(sz, strlen(l.cfg->receivers[0].template_summary), 500));
    cr_expect(eq(sz, strlen(l.cfg->receivers[1].user), 127));
    loaded_close(&l);
}

/* -------------------------------------- escalation steps, alerting, customers */

Test(config_alerting, escalation_steps_and_alerting_section)
{
    struct loaded l;

    expect_good(&l, API_CHECK
                "receivers:\n"
                "  - {name: a, kind: alertmanager, url: 'http://am.test'}\n"
                "  - {name: pd, kind: pagerduty, secret_env: PD_KEY,\n"
                "     webhook_secret_env: PD_HOOK_SECRET}\n"
                "routes:\n"
                "  - receivers: [a]\n"
                "    escalate:\n"
                "      - {after: 10m, to: [pd]}\n"
                "      - {after: 30m, to: [a, pd]}\n"
                "alerting:\n"
                "  public_url: 'https://nines.example.test/'\n"
                "  evaluate_every: 10s\n"
                "  silence_reminder: 2h\n"
                "  burn_rates:\n"
                "    - {long: 2h, short: 10m, factor: 10, severity: page}\n"
                "  forecast_window: 12h\n"
                "  forecast_horizon: 2d\n"
                "  forecast_min_samples: 20\n");
    cr_assert(eq(sz, l.cfg->routes[0].escalate_count, 2));
    cr_expect(eq(i64, l.cfg->routes[0].escalate[0].after_ms, 600000));
    cr_expect(eq(str, l.cfg->routes[0].escalate[0].to[0], "pd"));
    cr_expect(eq(i64, l.cfg->routes[0].escalate[1].after_ms, 1800000));
    cr_assert(eq(sz, l.cfg->routes[0].escalate[1].to_count, 2));
    cr_expect(eq(str, l.cfg->receivers[1].webhook_secret_env, "PD_HOOK_SECRET"));
    cr_expect(eq(str, l.cfg->alerting.public_url, "https://nines.example.test/"));
    cr_expect(eq(i64, l.cfg->alerting.evaluate_every_ms, 10000));
    cr_expect(eq(i64, l.cfg->alerting.silence_reminder_ms, 7200000));
    cr_assert(eq(sz, l.cfg->alerting.burn_rates_count, 1));
    cr_expect(eq(i64, l.cfg->alerting.burn_rates[0].long_ms, 7200000));
    cr_expect(eq(i64, l.cfg->alerting.burn_rates[0].short_ms, 600000));
    cr_expect(eq(dbl, l.cfg->alerting.burn_rates[0].factor, 10.0));
    cr_expect(eq(str, l.cfg->alerting.burn_rates[0].severity, "page"));
    cr_expect(eq(i64, l.cfg->alerting.forecast_window_ms, 12 * 3600000));
    cr_expect(eq(i64, l.cfg->alerting.forecast_horizon_ms, 48 * 3600000));
    cr_expect(eq(int, l.cfg->alerting.forecast_min_samples, 20));
    loaded_close(&l);

    /* defaults: the SRE workbook's three rules, a link from the API address */
    expect_good(&l, API_CHECK "api: {listen: '127.0.0.1:9099'}\n");
    cr_expect(eq(str, l.cfg->alerting.public_url, "http://127.0.0.1:9099"));
    cr_expect(eq(i64, l.cfg->alerting.evaluate_every_ms, 30000));
    cr_expect(eq(i64, l.cfg->alerting.silence_reminder_ms, 24 * 3600000));
    cr_assert(eq(sz, l.cfg->alerting.burn_rates_count, 3));
    cr_expect(eq(i64, l.cfg->alerting.burn_rates[0].long_ms, 3600000));
    cr_expect(eq(i64, l.cfg->alerting.burn_rates[0].short_ms, 300000));
    cr_expect(eq(dbl, l.cfg->alerting.burn_rates[0].factor, 14.4));
    cr_expect(eq(i64, l.cfg->alerting.burn_rates[1].long_ms, 6 * 3600000));
    cr_expect(eq(dbl, l.cfg->alerting.burn_rates[1].factor, 6.0));
    cr_expect(eq(i64, l.cfg->alerting.burn_rates[2].long_ms, 3 * 86400000));
    cr_expect(eq(i64, l.cfg->alerting.burn_rates[2].short_ms, 0));
    cr_expect(eq(str, l.cfg->alerting.burn_rates[2].severity, "ticket"));
    cr_expect(eq(i64, l.cfg->alerting.forecast_horizon_ms, 24 * 3600000));
    loaded_close(&l);

    /* burn_rates: [] turns the rules off */
    expect_good(&l, API_CHECK "alerting: {burn_rates: []}\n");
    cr_expect(eq(sz, l.cfg->alerting.burn_rates_count, 0));
    loaded_close(&l);
}

Test(config_alerting_errors, escalation_steps_and_alerting_section)
{
    expect_errors("checks: []\n"
                  "receivers: [{name: a, kind: alertmanager, url: 'http://am.test',\n"
                  "             webhook_secret_env: X}]\n"
                  "routes:\n"
                  "  - receivers: [a]\n"
                  "    escalate: [{after: 30m, to: [a]}, {after: 10m, to: [b]}, 7]\n"
                  "alerting:\n"
                  "  public_url: 'ftp://x'\n"
                  "  evaluate_every: 0s\n"
                  "  burn_rates:\n"
                  "    - {long: 1h, short: 2h, factor: 0, severity: loud}\n"
                  "    - {short: 5m}\n"
                  "  colour: blue\n",
                  "3:14: receiver 'a': 'webhook_secret_env' is only for kind pagerduty",
                  "6:47: routes[0]: escalate[1]: 'after' must be later than the step before it",
                  "6:57: routes[0]: escalate[1]: 'to': no receiver has name 'b'",
                  "6:62: routes[0]: escalate[2]: expected a mapping with 'after' and 'to', got "
                  "'7'",
                  "8:15: alerting: 'public_url' must start with http:// or https://, got the "
                  "quoted string 'ftp://x'",
                  "9:19: alerting: 'evaluate_every' must be between 1s and 600s, got '0s'",
                  "11:25: alerting: burn_rates[0]: 'short' must be shorter than 'long'",
                  "11:37: alerting: burn_rates[0]: 'factor' must be above 0 and at most 1000, "
                  "got '0'",
                  "11:50: alerting: burn_rates[0]: 'severity' must be one of page, ticket, info, "
                  "got 'loud'",
                  "12:7: alerting: burn_rates[1] is missing required field 'long'",
                  "12:7: alerting: burn_rates[1] is missing required field 'factor'",
                  "12:7: alerting: burn_rates[1] is missing required field 'severity'",
                  "13:3: alerting: unknown key 'colour'", NULL);
}

Test(config_customers, full_customer)
{
    struct loaded l;
    const struct nines_customer_cfg *c;
    const struct nines_sla_cfg *s;

    expect_good(&l, API_CHECK
                "services:\n"
                "  - {id: shop, checks: [api]}\n"
                "  - {id: admin, checks: [api]}\n"
                "customers:\n"
                "  - id: acme\n"
                "    name: ACME Corp.\n"
                "    timezone: Europe/Berlin\n"
                "    contacts: [cto@acme.test, ops@acme.test]\n"
                "    services: [shop, admin]\n"
                "    report_day: 2\n"
                "    report_hour: 7\n"
                "    slas:\n"
                "      - name: standard\n"
                "        target: 99.9\n"
                "        credits:\n"
                "          - {below: 99.9, credit: 10}\n"
                "          - {below: 99.0, credit: 25}\n"
                "          - {below: 95, credit: 100}\n"
                "      - name: business\n"
                "        target: 99.95\n"
                "        services: [shop]\n"
                "        business_hours: {days: mon-fri, from: '09:00', to: '18:00'}\n"
                "        nodata_counts_down: true\n"
                "        maintenance_counts: true\n"
                "  - {id: tiny, services: [shop]}\n");
    cr_assert(eq(sz, l.cfg->customers_count, 2));
    c = &l.cfg->customers[0];
    cr_expect(eq(str, c->id, "acme"));
    cr_expect(eq(str, c->name, "ACME Corp."));
    cr_expect(eq(str, c->timezone, "Europe/Berlin"));
    cr_expect(eq(str, c->contacts, "cto@acme.test, ops@acme.test"));
    cr_assert(eq(sz, c->services_count, 2));
    cr_expect(eq(int, c->report_day, 2));
    cr_expect(eq(int, c->report_hour, 7));
    cr_assert(eq(sz, c->slas_count, 2));
    s = &c->slas[0];
    cr_expect(eq(str, s->name, "standard"));
    cr_expect(eq(dbl, s->target_pct, 99.9));
    cr_expect(eq(sz, s->services_count, 0));
    cr_expect(eq(int, s->business_days, 0));
    cr_assert(eq(sz, s->credits_count, 3));
    cr_expect(eq(dbl, s->credits[1].below_pct, 99.0));
    cr_expect(eq(dbl, s->credits[1].credit_pct, 25.0));
    s = &c->slas[1];
    cr_expect(eq(sz, s->services_count, 1));
    cr_expect(eq(int, s->business_days, 0x3e), "monday to friday");
    cr_expect(eq(int, s->business_from_minute, 9 * 60));
    cr_expect(eq(int, s->business_to_minute, 18 * 60));
    cr_expect(eq(int, s->nodata_counts_down, 1));
    cr_expect(eq(int, s->maintenance_counts, 1));
    c = &l.cfg->customers[1];
    cr_expect(eq(str, c->name, "tiny"));
    cr_expect(eq(str, c->timezone, "UTC"));
    cr_expect(eq(ptr, c->contacts, NULL));
    cr_expect(eq(int, c->report_day, 1));
    cr_expect(eq(int, c->report_hour, 6));
    cr_expect(eq(sz, c->slas_count, 0));
    loaded_close(&l);
}

Test(config_customers_errors, every_field)
{
    expect_errors("checks: [{id: api, kind: http, url: 'http://a.test/'}]\n"
                  "services: [{id: shop, checks: [api]}]\n"
                  "customers:\n"
                  "  - id: acme\n"
                  "    timezone: Mars/Olympus\n"
                  "    contacts: [not-an-address]\n"
                  "    services: [shop, nowhere]\n"
                  "    report_day: 31\n"
                  "    slas:\n"
                  "      - {target: 101}\n"
                  "      - target: 99.9\n"
                  "        services: [admin]\n"
                  "        business_hours: {days: funday, from: '18:00', to: '09:00'}\n"
                  "        credits: [{below: 99, credit: 10}, {below: 99.5, credit: 5}, 3]\n"
                  "  - {id: acme, services: [shop]}\n"
                  "  - {name: nobody}\n",
                  "5:15: customer 'acme': 'timezone': unknown time zone 'Mars/Olympus'",
                  "6:16: customer 'acme': 'contacts': 'not-an-address' is not an email address "
                  "such as ops@example.com",
                  "7:22: customer 'acme': 'services': no service has id 'nowhere'",
                  "8:17: customer 'acme': 'report_day' must be between 1 and 28, got '31'",
                  "10:18: customer 'acme': slas[0]: 'target' must be above 0 and at most 100, "
                  "got '101'",
                  "12:20: customer 'acme': slas[1]: 'services': 'admin' is not one of the "
                  "customer's services",
                  "13:32: customer 'acme': slas[1]: 'days': 'funday' is not a day: use mon..sun, "
                  "a range such as mon-fri, daily, weekdays or weekends",
                  "13:59: customer 'acme': slas[1]: 'business_hours': 'to' must be after 'from'",
                  "14:44: customer 'acme': slas[1]: credits[1]: 'below' must be lower than the "
                  "tier before it (99)",
                  "14:70: customer 'acme': slas[1]: credits[2]: expected a mapping, got '3'",
                  "15:10: duplicate customer id 'acme' (first defined at line 4)",
                  "16:5: customers[2] is missing required field 'id'",
                  "16:5: customers[2] is missing required field 'services'", NULL);
}

Test(config_drills, objectives_schedule_and_canaries)
{
    struct loaded l;
    const struct nines_service_cfg *s;

    expect_good(&l, API_CHECK
                "  - {id: db, kind: tcp, host: db.test, port: 5432}\n"
                "services:\n"
                "  - id: orders\n"
                "    checks: [api, db]\n"
                "    rto: 5m\n"
                "    rpo: 30s\n"
                "    drill_every: 90d\n"
                "    drill_stable: 2m\n"
                "    drill_timeout: 1h\n"
                "    canaries: [db]\n"
                "    drill_schedule: {days: sat, at: \"03:00\", timezone: Europe/Berlin}\n"
                "  - {id: plain, checks: [api]}\n");
    s = &l.cfg->services[0];
    cr_expect(eq(i64, s->rto_ms, 300000));
    cr_expect(eq(i64, s->rpo_ms, 30000));
    cr_expect(eq(i64, s->drill_every_ms, 90 * INT64_C(86400000)));
    cr_expect(eq(i64, s->drill_stable_ms, 120000));
    cr_expect(eq(i64, s->drill_timeout_ms, 3600000));
    cr_assert(eq(sz, s->canaries_count, 1));
    cr_expect(eq(str, s->canaries[0], "db"));
    cr_expect(eq(int, s->drill_days, 1 << 6));
    cr_expect(eq(int, s->drill_minute, 180));
    cr_expect(eq(str, s->drill_timezone, "Europe/Berlin"));
    s = &l.cfg->services[1];
    cr_expect(eq(i64, s->drill_stable_ms, 300000), "default 5 min");
    cr_expect(eq(i64, s->drill_timeout_ms, 4 * INT64_C(3600000)), "default 4 h");
    cr_expect(eq(int, s->drill_days, 0));
    loaded_close(&l);
}

Test(config_drills_errors, bad_objectives_and_schedules)
{
    expect_errors("checks: [{id: api, kind: http, url: 'http://a.test/'}]\n"
                  "services:\n"
                  "  - {id: a, checks: [api], rto: 0s, canaries: [nope],\n"
                  "     drill_schedule: {days: funday, at: '25:00'}}\n"
                  "  - {id: b, checks: [api], drill_schedule: weekly}\n",
                  "3:33: service 'a': 'rto' must be between 1s and 30d, got '0s'",
                  "3:48: service 'a': 'canaries': 'nope' is not one of the service's checks",
                  "4:29: service 'a': 'days': 'funday' is not a day: use mon..sun, a range such "
                  "as mon-fri, daily, weekdays or weekends",
                  "4:41: service 'a': 'at' must be a time of day HH:MM from 00:00 to 23:59, got "
                  "the quoted string '25:00'",
                  "5:44: service 'b': 'drill_schedule': expected a mapping with 'days', 'at' and "
                  "'timezone', got 'weekly'", NULL);
}

/* ---- secrets: one reader, over-long refused ---------------------------------- */

Test(config_secret, from_a_variable_or_a_file_refusing_what_does_not_fit)
{
    char dir[256], path[400], out[8];
    struct nines_err err = { 0 };

    setenv("NINES_T_SECRET_OK", "1234567", 1);         /* 7 bytes: fits out[8] */
    setenv("NINES_T_SECRET_LONG", "12345678", 1);
    setenv("NINES_T_SECRET_EMPTY", "", 1);
    unsetenv("NINES_T_SECRET_UNSET");
    cr_assert(eq(int, nines_secret_read("NINES_T_SECRET_OK", NULL, out, sizeof(out), &err), 0));
    cr_expect(eq(str, out, "1234567"));
    cr_assert(eq(int, nines_secret_read("NINES_T_SECRET_LONG", NULL, out, sizeof(out), &err),
                 NINES_EINVAL));
    cr_expect(eq(str, err.msg, "environment variable NINES_T_SECRET_LONG is longer than 7 bytes"));
    cr_expect(eq(str, out, ""), "nothing of a refused secret is kept");
    cr_assert(eq(int, nines_secret_read("NINES_T_SECRET_UNSET", NULL, out, sizeof(out), &err),
                 NINES_ENOTFOUND));
    cr_expect(eq(str, err.msg, "environment variable NINES_T_SECRET_UNSET is not set"));
    cr_assert(eq(int, nines_secret_read("NINES_T_SECRET_EMPTY", NULL, out, sizeof(out), NULL),
                 NINES_ENOTFOUND));
    cr_assert(eq(int, nines_secret_read(NULL, NULL, out, sizeof(out), NULL), 0));
    cr_expect(eq(str, out, ""));

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/pw", dir);
    cr_assert(eq(int, test_write_file(path, "1234567\nsecond line\n"), 0));
    cr_assert(eq(int, nines_secret_read(NULL, path, out, sizeof(out), &err), 0));
    cr_expect(eq(str, out, "1234567"), "a line that just fits, its end cut");
    cr_assert(eq(int, test_write_file(path, "1234567"), 0));
    cr_assert(eq(int, nines_secret_read(NULL, path, out, sizeof(out), &err), 0));
    cr_expect(eq(str, out, "1234567"), "a line that just fits, at the file's end");
    cr_assert(eq(int, test_write_file(path, "12345678\n"), 0));
    cr_assert(eq(int, nines_secret_read(NULL, path, out, sizeof(out), &err), NINES_EINVAL));
    cr_expect(ne(ptr, strstr(err.msg, "the first line of "), NULL), "%s", err.msg);
    cr_expect(ne(ptr, strstr(err.msg, "/pw is longer than 7 bytes"), NULL), "%s", err.msg);
    cr_expect(eq(str, out, ""));
    cr_assert(eq(int, test_write_file(path, ""), 0));
    cr_assert(eq(int, nines_secret_read(NULL, path, out, sizeof(out), &err), NINES_EIO));
    cr_expect(ne(ptr, strstr(err.msg, "/pw is empty"), NULL), "%s", err.msg);
    cr_assert(eq(int, test_rmtree(dir), 0));
    cr_assert(eq(int, nines_secret_read(NULL, path, out, sizeof(out), &err), NINES_EIO));
    cr_expect(ne(ptr, strstr(err.msg, "cannot read "), NULL), "%s", err.msg);
    cr_expect(ne(ptr, strstr(err.msg, "No such file"), NULL), "%s", err.msg);
    /* the variable wins when both are named */
    cr_assert(eq(int, nines_secret_read("NINES_T_SECRET_OK", path, out, sizeof(out), &err), 0));
    cr_expect(eq(str, out, "1234567"));
}
