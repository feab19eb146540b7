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
                  "3:11: check 'api': 'kind': unknown check kind 'ftp' (known kinds: http)",
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
