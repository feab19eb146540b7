/* The catalogue as JSON, its content version, and check value semantics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "nines/wire.h"

static char *xstrdup(const char *s)
{
    char *d = strdup(s);

    cr_assert(not(eq(ptr, d, NULL)));
    return d;
}

static void set_locations(struct nines_check *c, size_t n, const char *const *locs)
{
    c->locations = calloc(n, sizeof(*c->locations));
    cr_assert(not(eq(ptr, c->locations, NULL)));
    for (size_t i = 0; i < n; i++)
        c->locations[i] = xstrdup(locs[i]);
    c->locations_count = n;
}

/* Three checks: all defaults, everything set, and text that needs escaping. */
static void make_checks(struct nines_check c[3])
{
    static const char *const locs1[] = { "eu-west", "us-east" };
    static const char *const locs2[] = { "home" };

    memset(c, 0, 3 * sizeof(*c));
    nines_check_defaults(&c[0]);
    c[0].id = xstrdup("web");
    c[0].http.url = xstrdup("https://example.com/");

    nines_check_defaults(&c[1]);
    c[1].id = xstrdup("api-health");
    c[1].interval_ms = 5000;
    c[1].timeout_ms = 2500;
    c[1].failures_to_down = 3;
    c[1].successes_to_up = 2;
    set_locations(&c[1], 2, locs1);
    c[1].http.url = xstrdup("http://127.0.0.1:8080/health?x=1&y=2");
    c[1].http.method = xstrdup("HEAD");
    c[1].http.expect_status = xstrdup("200,204,300-302");
    c[1].http.follow_redirects = 5;
    c[1].http.verify_tls = 0;
    c[1].http.max_body_bytes = 0;

    nines_check_defaults(&c[2]);
    c[2].id = xstrdup("caf\xc3\xa9 \"quoted\" \\ /");
    c[2].interval_ms = 86400000LL * 365;
    c[2].timeout_ms = 1;
    set_locations(&c[2], 1, locs2);
    c[2].http.url = xstrdup("http://[::1]:1/\xe2\x9c\x93\t");
    c[2].http.method = xstrdup("GET");
    c[2].http.max_body_bytes = INT64_MAX;
}

Test(catalogue, round_trip)
{
    struct nines_check in[3];
    struct nines_check *out = NULL;
    size_t n = 99;
    struct nines_err err = { 0 };
    char *json;

    make_checks(in);
    json = nines_catalogue_encode(in, 3);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, &err), 0), "%s",
              err.msg);
    cr_assert(eq(sz, n, 3));
    for (size_t i = 0; i < 3; i++)
        cr_expect(nines_check_equal(&out[i], &in[i]), "check %zu differs", i);
    /* defaults travel explicitly: a probe never relies on NULL meaning "GET" */
    cr_expect(eq(str, out[0].http.method, "GET"));
    cr_expect(eq(str, out[0].http.expect_status, "200-399"));
    cr_expect(eq(int, out[1].http.verify_tls, 0));
    cr_expect(eq(i64, out[2].http.max_body_bytes, INT64_MAX));
    free(json);
    nines_checks_free(out, n);
    for (size_t i = 0; i < 3; i++)
        nines_check_clear(&in[i]);
}

/* collector.partitions travels in the catalogue only when > 1, so a
 * single-stream catalogue keeps its bytes (and version); probes read it. */
Test(catalogue, partitions_travel_only_when_several)
{
    struct nines_check in[3];
    struct nines_check *out = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };
    char *one, *plain, *eight;
    static const char *const bad[] = {
        "{\"partitions\":0}", "{\"partitions\":1025}", "{\"partitions\":\"8\"}",
        "{\"partitions\":-3}", "{\"partitions\":8", "[8]", "",
    };

    make_checks(in);
    plain = nines_catalogue_encode(in, 3);
    one = nines_catalogue_encode_partitioned(in, 3, 1);
    eight = nines_catalogue_encode_partitioned(in, 3, 8);
    cr_assert(ne(ptr, plain, NULL));
    cr_assert(ne(ptr, one, NULL));
    cr_assert(ne(ptr, eight, NULL));
    cr_expect(eq(str, one, plain));
    cr_expect(eq(ptr, strstr(plain, "partitions"), NULL));
    cr_expect(eq(int, nines_catalogue_partitions(plain, strlen(plain)), 1));
    cr_expect(eq(int, nines_catalogue_partitions(eight, strlen(eight)), 8));
    /* the decoder of the checks is not disturbed by the extra key */
    cr_assert(eq(int, nines_catalogue_decode(eight, strlen(eight), &out, &n, &err), 0), "%s",
              err.msg);
    cr_expect(eq(sz, n, 3));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect(eq(int, nines_catalogue_partitions(bad[i], strlen(bad[i])), 1), "%s", bad[i]);
    nines_checks_free(out, n);
    /* one parse gives both the checks and N */
    for (int k = 0; k < 2; k++) {
        const char *text = k ? eight : plain;
        int parts = -1;

        cr_assert(eq(int, nines_catalogue_decode_partitioned(text, strlen(text), &out, &n,
                                                             &parts, &err), 0), "%s", err.msg);
        cr_expect(eq(sz, n, 3));
        cr_expect(eq(int, parts, k ? 8 : 1));
        nines_checks_free(out, n);
    }
    free(plain);
    free(one);
    free(eight);
    for (size_t i = 0; i < 3; i++)
        nines_check_clear(&in[i]);
}

Test(catalogue, partition_streams)
{
    char buf[48];
    int seen[8] = { 0 };

    cr_expect(eq(str, (char *)nines_results_key(0, 1, buf, sizeof(buf)), "nines:results"));
    cr_expect(eq(str, (char *)nines_results_key(5, 8, buf, sizeof(buf)), "nines:results:{5}"));
    cr_expect(eq(int, nines_partition_of("web", 1), 0));
    cr_expect(eq(int, nines_partition_of("web", 0), 0));
    /* FNV-1a 64 of the id, mod N: stable, and 40 ids reach every one of 8 */
    cr_expect(eq(int, nines_partition_of("web", 8),
                 (int)(nines_fnv1a64("web", 3) % 8)));
    for (int i = 0; i < 40; i++) {
        char id[8];
        int p;

        snprintf(id, sizeof(id), "c%02d", i);
        p = nines_partition_of(id, 8);
        cr_assert(ge(int, p, 0));
        cr_assert(lt(int, p, 8));
        seen[p]++;
    }
    for (int p = 0; p < 8; p++)
        cr_expect(gt(int, seen[p], 0), "partition %d got no check", p);
}

/* The exact bytes other modules and older probes agree on. */
Test(catalogue, encoding_is_pinned)
{
    struct nines_check c;
    const char *want = "{\"checks\":[{\"failures_to_down\":2,\"http\":{\"expect_status\":"
                       "\"200-399\",\"follow_redirects\":0,\"max_body_bytes\":1048576,"
                       "\"method\":\"GET\",\"url\":\"http://a/\",\"verify_tls\":true},"
                       "\"id\":\"a\",\"interval_ms\":30000,\"kind\":\"http\",\"locations\":"
                       "[\"x\"],\"successes_to_up\":1,\"timeout_ms\":10000}],\"version\":1}";
    static const char *const locs[] = { "x" };
    char *json;

    memset(&c, 0, sizeof(c));
    nines_check_defaults(&c);
    c.id = xstrdup("a");
    c.http.url = xstrdup("http://a/");
    set_locations(&c, 1, locs);
    json = nines_catalogue_encode(&c, 1);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(eq(str, json, (char *)want));
    free(json);
    nines_check_clear(&c);

    json = nines_catalogue_encode(NULL, 0);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(eq(str, json, "{\"checks\":[],\"version\":1}"));
    free(json);
}

Test(catalogue, same_input_same_bytes_and_version)
{
    struct nines_check a[3], b[3];
    struct nines_check *dec = NULL;
    size_t n = 0;
    char *ja, *jb, *jc, *jd;

    make_checks(a);
    for (size_t i = 0; i < 3; i++)
        cr_assert(eq(int, nines_check_copy(&b[i], &a[i]), 0));
    ja = nines_catalogue_encode(a, 3);
    jb = nines_catalogue_encode(b, 3);
    cr_assert(ja != NULL && jb != NULL);
    cr_expect(eq(str, ja, jb));
    cr_expect(eq(u64, nines_fnv1a64(ja, strlen(ja)), nines_fnv1a64(jb, strlen(jb))));

    /* decoding and re-encoding gives the same bytes: the form is canonical */
    cr_assert(eq(int, nines_catalogue_decode(ja, strlen(ja), &dec, &n, NULL), 0));
    jc = nines_catalogue_encode(dec, n);
    cr_assert(not(eq(ptr, jc, NULL)));
    cr_expect(eq(str, jc, ja));

    /* one changed value gives another version */
    b[1].timeout_ms++;
    jd = nines_catalogue_encode(b, 3);
    cr_assert(not(eq(ptr, jd, NULL)));
    cr_expect(ne(u64, nines_fnv1a64(ja, strlen(ja)), nines_fnv1a64(jd, strlen(jd))));

    free(ja);
    free(jb);
    free(jc);
    free(jd);
    nines_checks_free(dec, n);
    for (size_t i = 0; i < 3; i++) {
        nines_check_clear(&a[i]);
        nines_check_clear(&b[i]);
    }
}

Test(catalogue, fnv1a64_known_vectors)
{
    cr_expect(eq(u64, nines_fnv1a64("", 0), 0xcbf29ce484222325ULL));
    cr_expect(eq(u64, nines_fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL));
    cr_expect(eq(u64, nines_fnv1a64("foobar", 6), 0x85944171f73967e8ULL));
}

/* Optional fields take the same defaults as the loader's. */
Test(catalogue, minimal_check_gets_defaults)
{
    const char *json = "{\"version\":1,\"checks\":[{\"id\":\"m\",\"kind\":\"http\","
                       "\"interval_ms\":1000,\"timeout_ms\":500,\"http\":{\"url\":\"http://m/\"},"
                       "\"unknown_future_field\":[1,2]}]}";
    struct nines_check *out = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };

    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, &err), 0), "%s",
              err.msg);
    cr_assert(eq(sz, n, 1));
    cr_expect(eq(str, out[0].id, "m"));
    cr_expect(eq(int, out[0].kind, NINES_KIND_HTTP));
    cr_expect(eq(i64, out[0].interval_ms, 1000));
    cr_expect(eq(i64, out[0].timeout_ms, 500));
    cr_expect(eq(sz, out[0].locations_count, 0));
    cr_expect(eq(int, out[0].failures_to_down, 2));
    cr_expect(eq(int, out[0].successes_to_up, 1));
    cr_expect(eq(int, out[0].http.verify_tls, 1));
    cr_expect(eq(int, out[0].http.follow_redirects, 0));
    cr_expect(eq(i64, out[0].http.max_body_bytes, 1048576));
    cr_expect(eq(str, out[0].http.url, "http://m/"));
    nines_checks_free(out, n);
}

Test(catalogue, empty_catalogue)
{
    const char *json = "{\"checks\":[],\"version\":1}";
    struct nines_check *out = NULL;
    size_t n = 7;

    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, NULL), 0));
    cr_expect(eq(sz, n, 0));
    nines_checks_free(out, n);
}

/* decode reads exactly len bytes: no NUL terminator needed, none trusted. */
/* Builds a catalogue of n minimal TCP checks "c0".."c<n-1>"; the check at
 * dup (if < n) takes the id of check 0. Returns malloc'd text. */
static char *big_catalogue(size_t n, size_t dup)
{
    size_t cap = 64 + n * 128, len = 0;
    char *t = malloc(cap);

    cr_assert(ne(ptr, t, NULL));
    len += (size_t)snprintf(t + len, cap - len, "{\"version\":1,\"checks\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(t + len, cap - len,
                                "%s{\"id\":\"c%zu\",\"kind\":\"tcp\",\"interval_ms\":1000,"
                                "\"timeout_ms\":500,\"tcp\":{\"host\":\"h\",\"port\":1}}",
                                i ? "," : "", i == dup ? (size_t)0 : i);
    snprintf(t + len, cap - len, "]}");
    return t;
}

/* The duplicate test is a hash, not a scan of all earlier checks: 100,000
 * checks decode in well under the time a quadratic test took (minutes), and
 * a duplicate near the end is still named by its index. */
Test(catalogue, large_catalogue_decodes_and_finds_late_duplicate, .timeout = 60)
{
    struct nines_check *out = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };
    char *ok = big_catalogue(100000, 100000);
    char *dup = big_catalogue(100000, 99998);

    cr_assert(eq(int, nines_catalogue_decode(ok, strlen(ok), &out, &n, &err), 0), "%s", err.msg);
    cr_expect(eq(sz, n, 100000));
    cr_expect(eq(str, out[99999].id, "c99999"));
    nines_checks_free(out, n);
    cr_expect(eq(int, nines_catalogue_decode(dup, strlen(dup), &out, &n, &err), NINES_EPROTO));
    cr_expect(ne(ptr, strstr(err.msg, "check 99998: field 'id': duplicate"), NULL), "%s",
              err.msg);
    free(ok);
    free(dup);
}

Test(catalogue, decode_honours_len)
{
    const char *json = "{\"checks\":[],\"version\":1}GARBAGE";
    struct nines_check *out = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };

    cr_assert(eq(int, nines_catalogue_decode(json, 25, &out, &n, &err), 0), "%s", err.msg);
    nines_checks_free(out, n);
    cr_expect(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, &err), NINES_EPROTO));
    cr_expect(eq(int, nines_catalogue_decode(NULL, 0, &out, &n, &err), NINES_EINVAL));
}

#define CHK_HEAD "{\"version\":1,\"checks\":["
#define CHK_TAIL "]}"
#define CHK_HTTP "\"http\":{\"url\":\"http://u/\"}"
/* a valid check, the same without its id, and one with an extra key/value */
#define CHK_OK "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1000,\"timeout_ms\":500," \
    CHK_HTTP "}"
#define CHK_BASE_NO_ID "\"kind\":\"http\",\"interval_ms\":1000,\"timeout_ms\":500," CHK_HTTP
#define CHK_WITH(kv) CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1000," \
    "\"timeout_ms\":500," kv "," CHK_HTTP "}" CHK_TAIL
#define CHK_HTTPWITH(kv) CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1000," \
    "\"timeout_ms\":500,\"http\":{\"url\":\"http://u/\"," kv "}}" CHK_TAIL

#define CHK_KIND(kind, obj) CHK_HEAD "{\"id\":\"a\",\"kind\":\"" kind "\",\"interval_ms\":1000," \
    "\"timeout_ms\":500," obj "}" CHK_TAIL
#define CHK_DNS(kv) CHK_KIND("dns", "\"dns\":{\"name\":\"n\"," kv "}")
#define HEX64 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/* an id one byte too long */
#define ID64 "0123456789012345678901234567890123456789012345678901234567890123"
#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"
#define CHK_PUSH(kv) CHK_KIND("push", "\"push\":{\"token_sha256\":\"" HEX64 "\"," \
                              "\"period_ms\":60000," kv "}")
#define CHK_TOKEN(v) CHK_KIND("push", "\"push\":{\"period_ms\":60000,\"token_sha256\":" \
                              v "}")

struct cat_bad {
    char json[400];
    char want[80];
};

static struct cat_bad cat_bad_cases[] = {
    { "", "not JSON" },
    { "not json", "not JSON" },
    { "{\"version\":1,\"checks\":[]", "not JSON" },
    { "{\"version\":1,\"checks\":[]} x", "not JSON" },
    { "{\"version\":1,\"version\":1,\"checks\":[]}", "not JSON" },
    { "[]", "not a JSON object" },
    { "{}", "field 'version': missing" },
    { "{\"version\":\"1\",\"checks\":[]}", "field 'version': not an integer" },
    { "{\"version\":2,\"checks\":[]}", "field 'version': 2 out of range" },
    { "{\"version\":1}", "field 'checks': missing" },
    { "{\"version\":1,\"checks\":{}}", "field 'checks': not an array" },
    { "{\"version\":1,\"checks\":null}", "field 'checks': not an array" },
    { CHK_HEAD "1" CHK_TAIL, "check 0: not an object" },
    { CHK_HEAD "{" CHK_BASE_NO_ID "}" CHK_TAIL, "check 0: field 'id': missing" },
    { CHK_HEAD "{\"id\":5," CHK_BASE_NO_ID "}" CHK_TAIL, "check 0: field 'id': not a string" },
    { CHK_HEAD "{\"id\":\"\"," CHK_BASE_NO_ID "}" CHK_TAIL, "check 0: field 'id': empty" },
    { CHK_HEAD "{\"id\":\"a\\u0000b\"," CHK_BASE_NO_ID "}" CHK_TAIL, "not JSON" },
    { CHK_HEAD "{\"id\":\"" "0123456789012345678901234567890123456789012345678901234567890123"
      "\"," CHK_BASE_NO_ID "}" CHK_TAIL, "check 0: field 'id': too long (64 bytes, max 63)" },
    { CHK_HEAD CHK_OK ",{\"id\":\"a\"," CHK_BASE_NO_ID "}" CHK_TAIL,
      "check 1: field 'id': duplicate check id" },
    { CHK_HEAD CHK_OK "," CHK_OK "," CHK_OK CHK_TAIL, "check 1: field 'id': duplicate" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"ftp\",\"interval_ms\":1000,\"timeout_ms\":500,"
      CHK_HTTP "}" CHK_TAIL, "check 0: field 'kind': unknown check kind 'ftp'" },
    { CHK_HEAD "{\"id\":\"a\",\"interval_ms\":1000,\"timeout_ms\":500," CHK_HTTP "}"
      CHK_TAIL, "check 0: field 'kind': missing" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":1,\"interval_ms\":1000,\"timeout_ms\":500,"
      CHK_HTTP "}" CHK_TAIL, "check 0: field 'kind': not a string" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"timeout_ms\":500," CHK_HTTP "}" CHK_TAIL,
      "check 0: field 'interval_ms': missing" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1000," CHK_HTTP "}" CHK_TAIL,
      "check 0: field 'timeout_ms': missing" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":\"30\",\"timeout_ms\":500,"
      CHK_HTTP "}" CHK_TAIL, "field 'interval_ms': not an integer" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1.5,\"timeout_ms\":500,"
      CHK_HTTP "}" CHK_TAIL, "field 'interval_ms': not an integer" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":0,\"timeout_ms\":500,"
      CHK_HTTP "}" CHK_TAIL, "field 'interval_ms': 0 out of range" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":10,\"timeout_ms\":-5,"
      CHK_HTTP "}" CHK_TAIL, "field 'timeout_ms': -5 out of range" },
    { CHK_WITH("\"locations\":\"eu\""), "field 'locations': not an array" },
    { CHK_WITH("\"locations\":[\"eu\",1]"), "field 'locations': not a string" },
    { CHK_WITH("\"locations\":[\"\"]"), "field 'locations': empty" },
    { CHK_WITH("\"failures_to_down\":0"), "field 'failures_to_down': 0 out of range" },
    { CHK_WITH("\"failures_to_down\":true"), "field 'failures_to_down': not an integer" },
    { CHK_WITH("\"successes_to_up\":2147483648"), "field 'successes_to_up': 2147483648 out" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1000,\"timeout_ms\":500}"
      CHK_TAIL, "check 0: field 'http': missing" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1000,\"timeout_ms\":500,"
      "\"http\":[]}" CHK_TAIL, "check 0: field 'http': not an object" },
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"http\",\"interval_ms\":1000,\"timeout_ms\":500,"
      "\"http\":{}}" CHK_TAIL, "check 0: field 'url': missing" },
    { CHK_HTTPWITH("\"method\":null"), "field 'method': not a string" },
    { CHK_HTTPWITH("\"expect_status\":\"\""), "field 'expect_status': empty" },
    { CHK_HTTPWITH("\"verify_tls\":1"), "field 'verify_tls': not a boolean" },
    { CHK_HTTPWITH("\"follow_redirects\":-1"), "field 'follow_redirects': -1 out of range" },
    { CHK_HTTPWITH("\"max_body_bytes\":\"1M\""), "field 'max_body_bytes': not an integer" },
    { CHK_HEAD CHK_OK ",{\"id\":\"b\",\"kind\":\"http\",\"interval_ms\":1000,\"timeout_ms\":500,"
      "\"http\":{\"url\":\"http://u/\",\"verify_tls\":\"yes\"}}" CHK_TAIL,
      "check 1: field 'verify_tls': not a boolean" },
    /* the options of the other kinds */
    { CHK_KIND("dns", CHK_HTTP), "check 0: field 'dns': missing" },
    { CHK_KIND("dns", "\"dns\":[]"), "check 0: field 'dns': not an object" },
    { CHK_KIND("dns", "\"dns\":{}"), "check 0: field 'name': missing" },
    { CHK_DNS("\"record_type\":\"AXFR\""), "field 'record_type': unknown value 'AXFR'" },
    { CHK_DNS("\"expect_rcode\":\"\""), "field 'expect_rcode': empty" },
    { CHK_DNS("\"servers\":\"1.1.1.1\""), "field 'servers': not an array" },
    { CHK_DNS("\"servers\":[\"1.1.1.1\",1]"), "field 'servers': not a string" },
    { CHK_DNS("\"expect_answers\":[\"\"]"), "field 'expect_answers': empty" },
    { CHK_DNS("\"match\":\"all\""), "field 'match': not one of none, exact, include" },
    { CHK_DNS("\"match\":1"), "field 'match': not one of none, exact, include" },
    { CHK_DNS("\"tcp\":1"), "field 'tcp': not a boolean" },
    { CHK_KIND("tcp", "\"tcp\":{\"host\":\"h\"}"), "field 'port': missing" },
    { CHK_KIND("tcp", "\"tcp\":{\"host\":\"h\",\"port\":65536}"),
      "field 'port': 65536 out of range" },
    { CHK_KIND("tcp", "\"tcp\":{\"host\":\"h\",\"port\":1,\"ip_version\":5}"),
      "field 'ip_version': not 0, 4 or 6" },
    { CHK_KIND("tcp", "\"tcp\":{\"host\":\"h\",\"port\":1,\"cert_min_days\":-1}"),
      "field 'cert_min_days': -1 out of range" },
    { CHK_KIND("icmp", "\"icmp\":{\"host\":\"h\",\"count\":0}"),
      "field 'count': 0 out of range" },
    { CHK_KIND("icmp", "\"icmp\":{\"host\":\"h\",\"spacing_ms\":5}"),
      "field 'spacing_ms': 5 out of range" },
    { CHK_KIND("icmp", "\"icmp\":{\"host\":5}"), "field 'host': not a string" },
    { CHK_KIND("host", "\"host\":{\"load_per_cpu\":\"1\"}"),
      "field 'load_per_cpu': not a number in range" },
    { CHK_KIND("host", "\"host\":{\"load_per_cpu\":-1}"),
      "field 'load_per_cpu': not a number in range" },
    { CHK_KIND("host", "\"host\":{\"cpu_pct\":101}"), "field 'cpu_pct': 101 out of range" },
    { CHK_KIND("host", "\"host\":{\"mounts\":[null]}"), "field 'mounts': not a string" },
    { CHK_KIND("host", "\"host\":5"), "field 'host': not an object" },
    { CHK_HTTPWITH("\"headers\":[{\"name\":\"A\"}]"), "field 'headers[0].value': missing" },
    { CHK_HTTPWITH("\"headers\":[1]"), "field 'headers': an element is not an object" },
    { CHK_HTTPWITH("\"headers\":{\"A\":\"b\"}"), "field 'headers': not an array" },
    { CHK_HTTPWITH("\"headers\":[{\"name\":\"\",\"value\":\"x\"}]"),
      "field 'headers[0].name': empty" },
    { CHK_HTTPWITH("\"headers\":[{\"name\":\"A\",\"value\":\"\"},{\"name\":\"B\","
                   "\"value\":7}]"), "field 'headers[1].value': not a string" },
    { CHK_HTTPWITH("\"header_conds\":[{\"name\":\"A\",\"op\":\"like\"}]"),
      "field 'header_conds': an 'op' is not one of present, equals, regex" },
    { CHK_HTTPWITH("\"header_conds\":[{\"name\":\"A\",\"op\":\"equals\"}]"),
      "field 'header_conds[0].value': missing" },
    { CHK_HTTPWITH("\"header_conds\":[{\"name\":\"A\"}]"),
      "field 'header_conds[0].op': missing" },
    { CHK_HTTPWITH("\"tls_min_version\":\"1.4\""),
      "field 'tls_min_version': unknown value '1.4'" },
    { CHK_HTTPWITH("\"auth\":\"digest\""), "field 'auth': unknown value 'digest'" },
    { CHK_HTTPWITH("\"method\":\"FETCH\""), "field 'method': unknown value 'FETCH'" },
    { CHK_HTTPWITH("\"latency_objective_ms\":-1"),
      "field 'latency_objective_ms': -1 out of range" },
    { CHK_HTTPWITH("\"all_addresses\":\"all\""), "field 'all_addresses': not a boolean" },
    /* quorum, and the options of push checks */
    { CHK_WITH("\"quorum\":33"), "check 0: field 'quorum': 33 out of range" },
    { CHK_WITH("\"quorum\":-2"), "check 0: field 'quorum': -2 out of range" },
    { CHK_WITH("\"quorum\":\"all\""), "check 0: field 'quorum': not an integer" },
    { CHK_KIND("push", "\"push\":{\"period_ms\":60000}"), "field 'token_sha256': missing" },
    { CHK_KIND("push", "\"push\":{\"token_sha256\":\"" HEX64 "\"}"),
      "field 'period_ms': missing" },
    { CHK_TOKEN("\"" HEX64 "0\""), "field 'token_sha256': not 64 hex digits" },
    { CHK_TOKEN("\"sha256:" HEX64 "\""),
      "field 'token_sha256': not 64 hex digits" },
    { CHK_TOKEN("\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f0"
               "0a0x\""), "field 'token_sha256': not 64 hex digits" },
    { CHK_TOKEN("\"" ZERO64 "\""), "field 'token_sha256': all zeros" },
    { CHK_TOKEN("7"), "field 'token_sha256': not 64 hex digits" },
    { CHK_KIND("push", "\"push\":{\"token_sha256\":\"" HEX64 "\",\"period_ms\":9999}"),
      "field 'period_ms': 9999 out of range" },
    { CHK_PUSH("\"grace_ms\":-1"), "field 'grace_ms': -1 out of range" },
    { CHK_PUSH("\"grace_ms\":2592000001"), "field 'grace_ms': 2592000001 out of range" },
    { CHK_KIND("push", "\"http\":{\"url\":\"http://u/\"}"), "check 0: field 'push': missing" },
    { CHK_WITH("\"depends_on\":\"db\""), "check 0: field 'depends_on': not an array" },
    { CHK_WITH("\"depends_on\":[\"db\",1]"), "field 'depends_on': not a string" },
    { CHK_WITH("\"depends_on\":[\"\"]"), "field 'depends_on': empty" },
    { CHK_WITH("\"depends_on\":[\"" ID64 "\"]"),
      "field 'depends_on': too long (64 bytes, max 63)" },
    { CHK_WITH("\"team\":\"\""), "check 0: field 'team': empty" },
    { CHK_WITH("\"team\":[\"a\"]"), "check 0: field 'team': not a string" },
    { CHK_WITH("\"team\":\"" ID64 "\""), "field 'team': too long (64 bytes, max 63)" },
    { CHK_WITH("\"severity\":\"urgent\""), "check 0: field 'severity': unknown value 'urgent'" },
    { CHK_WITH("\"severity\":\"\""), "check 0: field 'severity': empty" },
    { CHK_WITH("\"severity\":null"), "check 0: field 'severity': not a string" },
};

ParameterizedTestParameters(catalogue, decode_bad)
{
    return cr_make_param_array(struct cat_bad, cat_bad_cases,
                               sizeof(cat_bad_cases) / sizeof(cat_bad_cases[0]));
}

ParameterizedTest(struct cat_bad *c, catalogue, decode_bad)
{
    struct nines_check sentinel;
    struct nines_check *out = &sentinel;
    size_t n = 12345;
    struct nines_err err = { 0 };
    int rc = nines_catalogue_decode(c->json, strlen(c->json), &out, &n, &err);

    cr_assert(eq(int, rc, NINES_EPROTO), "accepted: %s", c->json);
    cr_expect(eq(int, err.code, NINES_EPROTO));
    cr_expect(strstr(err.msg, c->want) != NULL, "got \"%s\", want \"%s\"", err.msg, c->want);
    cr_expect(eq(ptr, out, &sentinel), "*out touched on failure");
    cr_expect(eq(sz, n, 12345), "*count touched on failure");
}

/* ---- nines_check value semantics ---- */

Test(check, kind_names)
{
    enum nines_check_kind k = (enum nines_check_kind)7;

    cr_expect(eq(str, (char *)nines_check_kind_name(NINES_KIND_HTTP), "http"));
    cr_expect(eq(int, nines_check_kind_parse("http", &k), 0));
    cr_expect(eq(int, k, NINES_KIND_HTTP));
    cr_expect(eq(int, nines_check_kind_parse("HTTP", &k), NINES_EINVAL));
    cr_expect(eq(int, nines_check_kind_parse("", &k), NINES_EINVAL));
    cr_expect(eq(int, nines_check_kind_parse(NULL, &k), NINES_EINVAL));
    cr_expect(eq(int, nines_check_kind_parse("ftp", &k), NINES_EINVAL));
    cr_expect(eq(int, k, NINES_KIND_HTTP), "left alone on failure");
    cr_expect(eq(str, (char *)nines_check_kind_name((enum nines_check_kind)99), "unknown"));
    for (int i = NINES_KIND_HTTP; i <= NINES_KIND_PUSH; i++) {
        static const char *const names[] = { "http", "dns", "tcp", "icmp", "host", "push" };

        cr_expect(eq(str, (char *)nines_check_kind_name((enum nines_check_kind)i),
                     (char *)names[i]));
        cr_expect(eq(int, nines_check_kind_parse(names[i], &k), 0));
        cr_expect(eq(int, k, i));
    }
}

Test(check, defaults)
{
    struct nines_check c;

    memset(&c, 0, sizeof(c));
    nines_check_defaults(&c);
    cr_expect(eq(i64, c.interval_ms, 30000));
    cr_expect(eq(i64, c.timeout_ms, 10000));
    cr_expect(eq(int, c.failures_to_down, 2));
    cr_expect(eq(int, c.successes_to_up, 1));
    cr_expect(eq(int, c.http.follow_redirects, 0));
    cr_expect(eq(int, c.http.verify_tls, 1));
    cr_expect(eq(i64, c.http.max_body_bytes, 1048576));
    cr_expect(eq(sz, c.locations_count, 0));
    cr_expect(eq(ptr, c.http.method, NULL), "NULL means GET");
    cr_expect(eq(ptr, c.dns.record_type, NULL), "NULL means A");
    cr_expect(eq(ptr, c.dns.expect_rcode, NULL), "NULL means NOERROR");
    cr_expect(eq(int, c.dns.match, NINES_DNS_MATCH_NONE));
    cr_expect(eq(int, c.tcp.verify_tls, 1));
    cr_expect(eq(int, c.tcp.tls, 0));
    cr_expect(eq(int, c.icmp.count, 3));
    cr_expect(eq(i64, c.icmp.spacing_ms, 200));
    cr_expect(eq(int, c.icmp.max_loss_pct, 0));
    cr_expect(eq(int, c.host.cpu_pct, 0));
    cr_expect(eq(dbl, c.host.load_per_cpu, 0.0));
    nines_check_clear(&c);
}

Test(check, copy_is_deep_and_clear_zeroes)
{
    struct nines_check c[3], d, zero;

    make_checks(c);
    cr_assert(eq(int, nines_check_copy(&d, &c[1]), 0));
    cr_expect(nines_check_equal(&d, &c[1]));
    cr_expect(d.id != c[1].id && d.http.url != c[1].http.url && d.locations != c[1].locations);
    cr_expect(d.locations[0] != c[1].locations[0]);
    /* the copy survives the original */
    nines_check_clear(&c[1]);
    cr_expect(eq(str, d.id, "api-health"));
    cr_expect(eq(str, d.locations[1], "us-east"));
    cr_expect(eq(str, d.http.expect_status, "200,204,300-302"));
    nines_check_clear(&d);
    memset(&zero, 0, sizeof(zero));
    cr_expect(memcmp(&d, &zero, sizeof(d)) == 0, "clear left something");
    nines_check_clear(&d);          /* twice is harmless */
    nines_check_clear(NULL);
    nines_check_clear(&c[0]);
    nines_check_clear(&c[2]);
}

/* Each mutation of a copy must make it unequal. */
Test(check, equal_sees_every_field)
{
    struct nines_check c[3], d;
    int n = 0;

    make_checks(c);
    for (int m = 0; m < 16; m++) {
        cr_assert(eq(int, nines_check_copy(&d, &c[1]), 0));
        cr_assert(nines_check_equal(&d, &c[1]));
        switch (m) {
        case 0: d.id[0] = 'X'; break;
        case 1: d.kind = (enum nines_check_kind)1; break;
        case 2: d.interval_ms++; break;
        case 3: d.timeout_ms++; break;
        case 4: d.failures_to_down++; break;
        case 5: d.successes_to_up++; break;
        case 6: d.locations[1][0] = 'X'; break;
        case 7: d.locations_count = 1; break;
        case 8: d.http.url[0] = 'X'; break;
        case 9: d.http.method[0] = 'X'; break;
        case 10: d.http.expect_status[0] = 'X'; break;
        case 11: d.http.follow_redirects++; break;
        case 12: d.http.verify_tls = 1; break;
        case 13: d.http.max_body_bytes++; break;
        case 14: free(d.http.url); d.http.url = NULL; break;
        case 15: free(d.id); d.id = NULL; break;
        }
        cr_expect(not(nines_check_equal(&d, &c[1])), "mutation %d not seen", m);
        cr_expect(not(nines_check_equal(&c[1], &d)), "mutation %d not seen (swapped)", m);
        if (m == 7)
            d.locations_count = 2;  /* so clear frees both */
        nines_check_clear(&d);
        n++;
    }
    cr_expect(eq(int, n, 16));
    for (size_t i = 0; i < 3; i++)
        nines_check_clear(&c[i]);
}

/* NULL method / expect_status mean the defaults, and compare so. */
Test(check, equal_treats_null_as_default)
{
    struct nines_check a, b;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    nines_check_defaults(&a);
    nines_check_defaults(&b);
    a.id = xstrdup("x");
    b.id = xstrdup("x");
    b.http.method = xstrdup("GET");
    b.http.expect_status = xstrdup("200-399");
    cr_expect(nines_check_equal(&a, &b));
    cr_expect(nines_check_equal(&b, &a));
    free(b.http.method);
    b.http.method = xstrdup("POST");
    cr_expect(not(nines_check_equal(&a, &b)));
    cr_expect(not(nines_check_equal(&b, &a)));
    free(b.http.method);
    b.http.method = NULL;
    free(b.http.expect_status);
    b.http.expect_status = xstrdup("200");
    cr_expect(not(nines_check_equal(&a, &b)));
    nines_check_clear(&a);
    nines_check_clear(&b);
}

Test(check, runs_at)
{
    struct nines_check c[3];

    make_checks(c);
    cr_expect(nines_check_runs_at(&c[0], "anywhere"));
    cr_expect(nines_check_runs_at(&c[0], NULL));
    cr_expect(nines_check_runs_at(&c[1], "eu-west"));
    cr_expect(nines_check_runs_at(&c[1], "us-east"));
    cr_expect(not(nines_check_runs_at(&c[1], "eu")));
    cr_expect(not(nines_check_runs_at(&c[1], "eu-west-2")));
    cr_expect(not(nines_check_runs_at(&c[1], "")));
    cr_expect(not(nines_check_runs_at(&c[1], NULL)));
    cr_expect(not(nines_check_runs_at(&c[2], "eu-west")));
    nines_checks_free(NULL, 0);
    for (size_t i = 0; i < 3; i++)
        nines_check_clear(&c[i]);
}

/* nines_checks_free releases every string of every check (ASan checks). */
Test(check, checks_free_releases_everything)
{
    struct nines_check *arr = calloc(3, sizeof(*arr));

    cr_assert(not(eq(ptr, arr, NULL)));
    make_checks(arr);
    nines_checks_free(arr, 3);
}

/* A check that cannot be written as JSON gives NULL, and nothing leaks. */
Test(catalogue, encode_refuses_unencodable_checks)
{
    struct nines_check c[3];

    make_checks(c);
    free(c[2].http.url);
    c[2].http.url = NULL;
    cr_expect(eq(ptr, nines_catalogue_encode(c, 3), NULL), "NULL url encoded");
    c[2].http.url = xstrdup("http://ok/");
    c[1].locations[0][0] = (char)0xff;      /* not UTF-8 */
    cr_expect(eq(ptr, nines_catalogue_encode(c, 3), NULL), "invalid UTF-8 encoded");
    for (size_t i = 0; i < 3; i++)
        nines_check_clear(&c[i]);
}

/* ---- every option of every kind ---- */

static char **strv(size_t n, const char *const *s)
{
    char **v = calloc(n, sizeof(*v));

    cr_assert(not(eq(ptr, v, NULL)));
    for (size_t i = 0; i < n; i++)
        v[i] = xstrdup(s[i]);
    return v;
}

/* One check of each kind with every option set to something not default. */
static void make_full(struct nines_check c[5])
{
    static const char *const servers[] = { "127.0.0.1:5353", "[::1]:53" };
    static const char *const answers[] = { "10 mx1.example.test.", "20 mx2.example.test." };
    static const char *const mounts[] = { "/", "/var/lib" };
    static const char *const locs[] = { "probe-1" };
    struct nines_http_opts *h = &c[0].http;

    memset(c, 0, 5 * sizeof(*c));
    for (int i = 0; i < 5; i++) {
        nines_check_defaults(&c[i]);
        c[i].kind = (enum nines_check_kind)i;
    }
    c[0].id = xstrdup("http-full");
    h->url = xstrdup("https://api.test/health");
    h->method = xstrdup("POST");
    h->expect_status = xstrdup("200,204");
    h->follow_redirects = 3;
    h->verify_tls = 0;
    h->max_body_bytes = 4096;
    h->headers = calloc(2, sizeof(*h->headers));
    cr_assert(not(eq(ptr, h->headers, NULL)));
    h->headers[0].name = xstrdup("Accept");
    h->headers[0].value = xstrdup("application/json");
    h->headers[1].name = xstrdup("X-Empty");
    h->headers[1].value = xstrdup("");
    h->headers_count = 2;
    h->body = xstrdup("{\"ping\":true}");
    h->auth = xstrdup("basic");
    h->auth_user = xstrdup("monitor");
    h->secret_env = xstrdup("NINES_TEST_SECRET");
    h->body_contains = xstrdup("ok");
    h->body_not_contains = xstrdup("error");
    h->body_regex = xstrdup("\"status\": *\"UP\"");
    h->json_condition = xstrdup("checks.db.ok == true");
    h->latency_objective_ms = 250;
    h->ca_file = xstrdup("/etc/ca.pem");
    h->client_cert = xstrdup("/etc/client.pem");
    h->client_key = xstrdup("/etc/client.key");
    h->tls_server_name = xstrdup("api.internal");
    h->tls_min_version = xstrdup("1.2");
    h->cert_min_days = 14;
    h->header_conds = calloc(3, sizeof(*h->header_conds));
    cr_assert(not(eq(ptr, h->header_conds, NULL)));
    h->header_conds[0].name = xstrdup("X-Request-Id");
    h->header_conds[0].op = NINES_HDR_PRESENT;
    h->header_conds[1].name = xstrdup("Cache-Control");
    h->header_conds[1].op = NINES_HDR_EQUALS;
    h->header_conds[1].value = xstrdup("no-store");
    h->header_conds[2].name = xstrdup("Content-Type");
    h->header_conds[2].op = NINES_HDR_REGEX;
    h->header_conds[2].value = xstrdup("^application/json");
    h->header_conds_count = 3;
    h->ip_version = 6;
    h->all_addresses = 1;
    h->resolve = xstrdup("api.test:443:127.0.0.1");
    h->proxy = xstrdup("http://proxy.test:3128");

    c[1].id = xstrdup("dns-full");
    c[1].dns.name = xstrdup("example.test");
    c[1].dns.record_type = xstrdup("MX");
    c[1].dns.servers = strv(2, servers);
    c[1].dns.servers_count = 2;
    c[1].dns.expect_rcode = xstrdup("NXDOMAIN");
    c[1].dns.expect_answers = strv(2, answers);
    c[1].dns.expect_answers_count = 2;
    c[1].dns.match = NINES_DNS_MATCH_INCLUDE;
    c[1].dns.answer_regex = xstrdup("example\\.test\\.$");
    c[1].dns.tcp = 1;

    c[2].id = xstrdup("tcp-full");
    c[2].tcp.host = xstrdup("mail.test");
    c[2].tcp.port = 465;
    c[2].tcp.send = xstrdup("EHLO nines\r\n");
    c[2].tcp.expect_banner = xstrdup("^220 ");
    c[2].tcp.tls = 1;
    c[2].tcp.verify_tls = 0;
    c[2].tcp.ca_file = xstrdup("/etc/ca.pem");
    c[2].tcp.tls_server_name = xstrdup("mail.internal");
    c[2].tcp.cert_min_days = 7;
    c[2].tcp.ip_version = 4;

    c[3].id = xstrdup("icmp-full");
    c[3].icmp.host = xstrdup("192.0.2.1");
    c[3].icmp.count = 10;
    c[3].icmp.spacing_ms = 50;
    c[3].icmp.max_loss_pct = 20;
    c[3].icmp.ip_version = 4;

    c[4].id = xstrdup("host-full");
    c[4].locations = strv(1, locs);
    c[4].locations_count = 1;
    c[4].host.cpu_pct = 90;
    c[4].host.memory_pct = 80;
    c[4].host.swap_pct = 50;
    c[4].host.disk_pct = 85;
    c[4].host.inode_pct = 70;
    c[4].host.open_files_pct = 60;
    c[4].host.load_per_cpu = 1.5;
    c[4].host.mounts = strv(2, mounts);
    c[4].host.mounts_count = 2;
}

static void clear_all(struct nines_check *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nines_check_clear(&c[i]);
}

Test(catalogue, every_kind_round_trips)
{
    struct nines_check in[5];
    struct nines_check *out = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };
    char *json, *again;

    make_full(in);
    json = nines_catalogue_encode(in, 5);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, &err), 0), "%s",
              err.msg);
    cr_assert(eq(sz, n, 5));
    for (size_t i = 0; i < 5; i++)
        cr_expect(nines_check_equal(&out[i], &in[i]), "check %zu differs", i);
    /* and field by field, so the test does not rest on nines_check_equal alone */
    cr_expect(eq(int, out[0].kind, NINES_KIND_HTTP));
    cr_assert(eq(sz, out[0].http.headers_count, 2));
    cr_expect(eq(str, out[0].http.headers[1].name, "X-Empty"));
    cr_expect(eq(str, out[0].http.headers[1].value, ""));
    cr_assert(eq(sz, out[0].http.header_conds_count, 3));
    cr_expect(eq(int, out[0].http.header_conds[0].op, NINES_HDR_PRESENT));
    cr_expect(eq(ptr, out[0].http.header_conds[0].value, NULL));
    cr_expect(eq(int, out[0].http.header_conds[2].op, NINES_HDR_REGEX));
    cr_expect(eq(str, out[0].http.header_conds[2].value, "^application/json"));
    cr_expect(eq(str, out[0].http.secret_env, "NINES_TEST_SECRET"));
    cr_expect(eq(str, out[0].http.json_condition, "checks.db.ok == true"));
    cr_expect(eq(i64, out[0].http.latency_objective_ms, 250));
    cr_expect(eq(int, out[0].http.all_addresses, 1));
    cr_expect(eq(int, out[1].kind, NINES_KIND_DNS));
    cr_assert(eq(sz, out[1].dns.servers_count, 2));
    cr_expect(eq(str, out[1].dns.servers[1], "[::1]:53"));
    cr_assert(eq(sz, out[1].dns.expect_answers_count, 2));
    cr_expect(eq(int, out[1].dns.match, NINES_DNS_MATCH_INCLUDE));
    cr_expect(eq(int, out[1].dns.tcp, 1));
    cr_expect(eq(int, out[2].tcp.port, 465));
    cr_expect(eq(str, out[2].tcp.send, "EHLO nines\r\n"));
    cr_expect(eq(int, out[2].tcp.verify_tls, 0));
    cr_expect(eq(int, out[3].icmp.count, 10));
    cr_expect(eq(i64, out[3].icmp.spacing_ms, 50));
    cr_expect(eq(dbl, out[4].host.load_per_cpu, 1.5));
    cr_assert(eq(sz, out[4].host.mounts_count, 2));
    cr_expect(eq(str, out[4].host.mounts[1], "/var/lib"));
    /* canonical: decoding and encoding again gives the same bytes */
    again = nines_catalogue_encode(out, n);
    cr_assert(not(eq(ptr, again, NULL)));
    cr_expect(eq(str, again, json));
    free(again);
    free(json);
    nines_checks_free(out, n);
    clear_all(in, 5);
}

/* Options at their defaults are left out; the original http ones never are. */
Test(catalogue, defaults_are_left_out)
{
    struct nines_check c[5];
    const char *want = "{\"checks\":["
        "{\"failures_to_down\":2,\"http\":{\"body_contains\":\"ok\",\"expect_status\":"
        "\"200-399\",\"follow_redirects\":0,\"max_body_bytes\":1048576,\"method\":\"GET\","
        "\"url\":\"http://a/\",\"verify_tls\":true},\"id\":\"h\",\"interval_ms\":30000,"
        "\"kind\":\"http\",\"locations\":[],\"successes_to_up\":1,\"timeout_ms\":10000},"
        "{\"dns\":{\"name\":\"a.test\"},\"failures_to_down\":2,\"id\":\"d\",\"interval_ms\":"
        "30000,\"kind\":\"dns\",\"locations\":[],\"successes_to_up\":1,\"timeout_ms\":10000},"
        "{\"failures_to_down\":2,\"id\":\"t\",\"interval_ms\":30000,\"kind\":\"tcp\","
        "\"locations\":[],\"successes_to_up\":1,\"tcp\":{\"host\":\"a.test\",\"port\":22,"
        "\"verify_tls\":false},\"timeout_ms\":10000},"
        "{\"failures_to_down\":2,\"icmp\":{\"host\":\"a.test\"},\"id\":\"i\",\"interval_ms\":"
        "30000,\"kind\":\"icmp\",\"locations\":[],\"successes_to_up\":1,\"timeout_ms\":10000},"
        "{\"failures_to_down\":2,\"host\":{},\"id\":\"s\",\"interval_ms\":30000,\"kind\":"
        "\"host\",\"locations\":[],\"successes_to_up\":1,\"timeout_ms\":10000}],\"version\":1}";
    struct nines_check *out = NULL;
    size_t n = 0;
    char *json;

    memset(c, 0, sizeof(c));
    for (int i = 0; i < 5; i++) {
        nines_check_defaults(&c[i]);
        c[i].kind = (enum nines_check_kind)i;
    }
    c[0].id = xstrdup("h");
    c[0].http.url = xstrdup("http://a/");
    c[0].http.body_contains = xstrdup("ok");
    c[1].id = xstrdup("d");
    c[1].dns.name = xstrdup("a.test");
    c[2].id = xstrdup("t");
    c[2].tcp.host = xstrdup("a.test");
    c[2].tcp.port = 22;
    c[2].tcp.verify_tls = 0;        /* not its default: written */
    c[3].id = xstrdup("i");
    c[3].icmp.host = xstrdup("a.test");
    c[4].id = xstrdup("s");
    json = nines_catalogue_encode(c, 5);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(eq(str, json, (char *)want));
    /* and what was left out comes back as the defaults */
    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, NULL), 0));
    cr_assert(eq(sz, n, 5));
    for (size_t i = 0; i < 5; i++)
        cr_expect(nines_check_equal(&out[i], &c[i]), "check %zu differs", i);
    cr_expect(eq(int, out[2].tcp.verify_tls, 0));
    cr_expect(eq(int, out[3].icmp.count, 3));
    cr_expect(eq(i64, out[3].icmp.spacing_ms, 200));
    cr_expect(eq(ptr, out[1].dns.record_type, NULL));
    free(json);
    nines_checks_free(out, n);
    clear_all(c, 5);
}

/* Where a secret is read from travels; the secret itself never does. */
Test(catalogue, secret_locations_only)
{
    struct nines_check c[5];
    char *json;

    cr_assert(eq(int, setenv("NINES_TEST_SECRET", "hunter2-value", 1), 0));
    make_full(c);
    json = nines_catalogue_encode(c, 5);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(not(eq(ptr, strstr(json, "\"secret_env\":\"NINES_TEST_SECRET\""), NULL)));
    cr_expect(eq(ptr, strstr(json, "hunter2"), NULL), "a secret value was encoded");
    free(json);
    free(c[0].http.secret_env);
    c[0].http.secret_env = NULL;
    c[0].http.secret_file = xstrdup("/run/secrets/api");
    json = nines_catalogue_encode(c, 5);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(not(eq(ptr, strstr(json, "\"secret_file\":\"/run/secrets/api\""), NULL)));
    cr_expect(eq(ptr, strstr(json, "secret_env"), NULL));
    free(json);
    clear_all(c, 5);
}

/* What the decoder would refuse, the encoder refuses too (NULL, nothing leaks). */
Test(catalogue, encode_refuses_invalid_options)
{
    struct nines_check c[5];

    for (int m = 0; m < 8; m++) {
        make_full(c);
        switch (m) {
        case 0: c[2].tcp.port = 0; break;
        case 1: free(c[1].dns.record_type); c[1].dns.record_type = xstrdup("AXFR"); break;
        case 2: free(c[0].http.body); c[0].http.body = xstrdup(""); break;
        case 3: free(c[0].http.header_conds[1].value);
                c[0].http.header_conds[1].value = NULL; break;
        case 4: c[3].icmp.ip_version = 5; break;
        case 5: free(c[1].dns.name); c[1].dns.name = NULL; break;
        case 6: c[4].host.load_per_cpu = -1; break;
        case 7: c[4].kind = (enum nines_check_kind)9; break;
        }
        cr_expect(eq(ptr, nines_catalogue_encode(c, 5), NULL), "mutation %d encoded", m);
        clear_all(c, 5);
    }
}

/* Each option of each kind, changed in a copy, makes the copy unequal. */
Test(check, equal_sees_every_option)
{
    struct nines_check c[5], d;
    int k, m, seen = 0;

    make_full(c);
    for (k = 0; k < 5; k++) {
        for (m = 0; m < 40; m++) {
            int changed = 1;

            cr_assert(eq(int, nines_check_copy(&d, &c[k]), 0));
            cr_assert(nines_check_equal(&d, &c[k]));
            switch (k * 100 + m) {
            case 0: d.http.url[0] = 'X'; break;
            case 1: d.http.method[0] = 'X'; break;
            case 2: d.http.expect_status[0] = '3'; break;
            case 3: d.http.follow_redirects++; break;
            case 4: d.http.verify_tls = 1; break;
            case 5: d.http.max_body_bytes++; break;
            case 6: d.http.headers_count = 1; break;
            case 7: d.http.headers[0].name[0] = 'a'; break;
            case 8: d.http.headers[0].value[0] = 'X'; break;
            case 9: d.http.body[0] = 'X'; break;
            case 10: d.http.auth[0] = 'X'; break;
            case 11: d.http.auth_user[0] = 'X'; break;
            case 12: d.http.secret_env[0] = 'X'; break;
            case 13: d.http.secret_file = xstrdup("/x"); break;
            case 14: d.http.body_contains[0] = 'X'; break;
            case 15: d.http.body_not_contains[0] = 'X'; break;
            case 16: d.http.body_regex[0] = 'X'; break;
            case 17: d.http.json_condition[0] = 'X'; break;
            case 18: d.http.latency_objective_ms++; break;
            case 19: d.http.ca_file[0] = 'X'; break;
            case 20: d.http.client_cert[0] = 'X'; break;
            case 21: d.http.client_key[0] = 'X'; break;
            case 22: d.http.tls_server_name[0] = 'X'; break;
            case 23: d.http.tls_min_version[2] = '3'; break;
            case 24: d.http.cert_min_days++; break;
            case 25: d.http.header_conds[0].op = NINES_HDR_EQUALS; break;
            case 26: d.http.header_conds[1].name[0] = 'X'; break;
            case 27: d.http.header_conds[2].value[0] = 'X'; break;
            case 28: d.http.header_conds_count = 2; break;
            case 29: d.http.ip_version = 4; break;
            case 30: d.http.all_addresses = 0; break;
            case 31: d.http.resolve[0] = 'X'; break;
            case 32: d.http.proxy[0] = 'X'; break;
            case 100: d.dns.name[0] = 'X'; break;
            case 101: d.dns.record_type[0] = 'X'; break;
            case 102: d.dns.servers[1][1] = '2'; break;
            case 103: d.dns.servers_count = 1; break;
            case 104: d.dns.expect_rcode[0] = 'X'; break;
            case 105: d.dns.expect_answers[0][0] = '9'; break;
            case 106: d.dns.expect_answers_count = 1; break;
            case 107: d.dns.match = NINES_DNS_MATCH_EXACT; break;
            case 108: d.dns.answer_regex[0] = 'X'; break;
            case 109: d.dns.tcp = 0; break;
            case 200: d.tcp.host[0] = 'X'; break;
            case 201: d.tcp.port++; break;
            case 202: d.tcp.send[0] = 'X'; break;
            case 203: d.tcp.expect_banner[0] = 'X'; break;
            case 204: d.tcp.tls = 0; break;
            case 205: d.tcp.verify_tls = 1; break;
            case 206: d.tcp.ca_file[0] = 'X'; break;
            case 207: d.tcp.tls_server_name[0] = 'X'; break;
            case 208: d.tcp.cert_min_days++; break;
            case 209: d.tcp.ip_version = 6; break;
            case 300: d.icmp.host[0] = 'X'; break;
            case 301: d.icmp.count++; break;
            case 302: d.icmp.spacing_ms++; break;
            case 303: d.icmp.max_loss_pct++; break;
            case 304: d.icmp.ip_version = 6; break;
            case 400: d.host.cpu_pct++; break;
            case 401: d.host.memory_pct++; break;
            case 402: d.host.swap_pct++; break;
            case 403: d.host.disk_pct++; break;
            case 404: d.host.inode_pct++; break;
            case 405: d.host.open_files_pct++; break;
            case 406: d.host.load_per_cpu += 0.25; break;
            case 407: d.host.mounts[0][0] = 'X'; break;
            case 408: d.host.mounts_count = 1; break;
            default: changed = 0; break;
            }
            if (changed) {
                cr_expect(not(nines_check_equal(&d, &c[k])), "kind %d mutation %d not seen",
                          k, m);
                cr_expect(not(nines_check_equal(&c[k], &d)), "kind %d mutation %d (swapped)",
                          k, m);
                seen++;
            }
            /* restore counts so clear frees every element */
            d.http.headers_count = c[k].http.headers_count;
            d.http.header_conds_count = c[k].http.header_conds_count;
            d.dns.servers_count = c[k].dns.servers_count;
            d.dns.expect_answers_count = c[k].dns.expect_answers_count;
            d.host.mounts_count = c[k].host.mounts_count;
            nines_check_clear(&d);
        }
    }
    cr_expect(eq(int, seen, 33 + 10 + 10 + 5 + 9));
    clear_all(c, 5);
}

/* The other kinds' options do not count: only the check's own kind is compared. */
Test(check, equal_ignores_other_kinds_options)
{
    struct nines_check c[5], d;

    make_full(c);
    cr_assert(eq(int, nines_check_copy(&d, &c[1]), 0));
    d.icmp.count = 77;
    d.http.url = xstrdup("http://unused/");
    cr_expect(nines_check_equal(&d, &c[1]));
    d.dns.tcp = 0;
    cr_expect(not(nines_check_equal(&d, &c[1])));
    nines_check_clear(&d);
    clear_all(c, 5);
}

/* A copy of every kind owns all its memory: it outlives the original. */
Test(check, copy_of_every_kind_is_deep)
{
    struct nines_check c[5], d[5];

    make_full(c);
    for (int i = 0; i < 5; i++)
        cr_assert(eq(int, nines_check_copy(&d[i], &c[i]), 0));
    cr_expect(d[0].http.headers != c[0].http.headers);
    cr_expect(d[0].http.headers[0].name != c[0].http.headers[0].name);
    cr_expect(d[0].http.header_conds[1].value != c[0].http.header_conds[1].value);
    cr_expect(d[1].dns.servers[0] != c[1].dns.servers[0]);
    cr_expect(d[4].host.mounts != c[4].host.mounts);
    clear_all(c, 5);
    cr_expect(eq(str, d[0].http.headers[0].value, "application/json"));
    cr_expect(eq(str, d[0].http.header_conds[2].value, "^application/json"));
    cr_expect(eq(str, d[0].http.proxy, "http://proxy.test:3128"));
    cr_expect(eq(str, d[1].dns.expect_answers[1], "20 mx2.example.test."));
    cr_expect(eq(str, d[2].tcp.send, "EHLO nines\r\n"));
    cr_expect(eq(str, d[4].host.mounts[1], "/var/lib"));
    clear_all(d, 5);
}

Test(check, checks_free_releases_every_kind)
{
    struct nines_check *arr = calloc(5, sizeof(*arr));

    cr_assert(not(eq(ptr, arr, NULL)));
    make_full(arr);
    nines_checks_free(arr, 5);
}

/* ---- push checks and quorum ---- */

static const unsigned char sha_test[32] = {
    0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a, 0xd0, 0x15,
    0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08,
};

/* A push check (every option set), an http check with quorum all, a dns one with 2. */
static void make_push_quorum(struct nines_check c[3])
{
    static const char *const locs[] = { "eu", "us", "ap" };

    memset(c, 0, 3 * sizeof(*c));
    for (int i = 0; i < 3; i++)
        nines_check_defaults(&c[i]);
    c[0].id = xstrdup("nightly-backup");
    c[0].kind = NINES_KIND_PUSH;
    memcpy(c[0].push.token_sha256, sha_test, 32);
    c[0].push.period_ms = 86400000;
    c[0].push.grace_ms = 1800000;
    c[0].interval_ms = c[0].timeout_ms = 86400000;
    c[0].failures_to_down = 1;

    c[1].id = xstrdup("web");
    c[1].http.url = xstrdup("http://a.test/");
    c[1].quorum = -1;
    c[1].locations = strv(3, locs);
    c[1].locations_count = 3;

    c[2].id = xstrdup("dns");
    c[2].kind = NINES_KIND_DNS;
    c[2].dns.name = xstrdup("a.test");
    c[2].quorum = 2;
    c[2].locations = strv(3, locs);
    c[2].locations_count = 3;
}

Test(catalogue, push_and_quorum_round_trip)
{
    struct nines_check in[3];
    struct nines_check *out = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };
    char *json, *again;

    make_push_quorum(in);
    json = nines_catalogue_encode(in, 3);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, &err), 0), "%s",
              err.msg);
    cr_assert(eq(sz, n, 3));
    for (size_t i = 0; i < 3; i++)
        cr_expect(nines_check_equal(&out[i], &in[i]), "check %zu differs", i);
    cr_expect(eq(int, out[0].kind, NINES_KIND_PUSH));
    cr_expect(eq(int, memcmp(out[0].push.token_sha256, sha_test, 32), 0));
    cr_expect(eq(i64, out[0].push.period_ms, 86400000));
    cr_expect(eq(i64, out[0].push.grace_ms, 1800000));
    cr_expect(eq(i64, out[0].interval_ms, 86400000));
    cr_expect(eq(int, out[0].quorum, 0));
    cr_expect(eq(sz, out[0].locations_count, 0));
    cr_expect(eq(int, out[1].quorum, -1));
    cr_expect(eq(int, out[2].quorum, 2));
    again = nines_catalogue_encode(out, n);
    cr_assert(not(eq(ptr, again, NULL)));
    cr_expect(eq(str, again, json), "canonical");
    free(again);
    free(json);
    nines_checks_free(out, n);
    clear_all(in, 3);
}

/* The token travels as lowercase hex; a quorum of 0 (majority) is left out. */
Test(catalogue, push_and_quorum_encoding_is_pinned)
{
    struct nines_check c[3];
    const char *want = "{\"checks\":["
        "{\"failures_to_down\":1,\"id\":\"nightly-backup\",\"interval_ms\":86400000,\"kind\":"
        "\"push\",\"locations\":[],\"push\":{\"grace_ms\":1800000,\"period_ms\":86400000,"
        "\"token_sha256\":\"" HEX64 "\"},\"successes_to_up\":1,\"timeout_ms\":86400000},"
        "{\"failures_to_down\":2,\"http\":{\"expect_status\":\"200-399\",\"follow_redirects\":0,"
        "\"max_body_bytes\":1048576,\"method\":\"GET\",\"url\":\"http://a.test/\","
        "\"verify_tls\":true},\"id\":\"web\",\"interval_ms\":30000,\"kind\":\"http\","
        "\"locations\":[\"eu\",\"us\",\"ap\"],\"quorum\":-1,\"successes_to_up\":1,"
        "\"timeout_ms\":10000}],\"version\":1}";
    char *json;

    make_push_quorum(c);
    c[0].push.grace_ms = 1800000;
    json = nines_catalogue_encode(c, 2);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(eq(str, json, (char *)want));
    free(json);

    /* grace 0 is the default: left out */
    c[0].push.grace_ms = 0;
    json = nines_catalogue_encode(c, 1);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(eq(ptr, strstr(json, "grace_ms"), NULL), "%s", json);
    free(json);
    clear_all(c, 3);
}

/* What the decoder refuses, the encoder refuses too. */
Test(catalogue, encode_refuses_bad_push_and_quorum)
{
    struct nines_check c[3];

    for (int m = 0; m < 6; m++) {
        make_push_quorum(c);
        switch (m) {
        case 0: memset(c[0].push.token_sha256, 0, 32); break;     /* no token */
        case 1: c[0].push.period_ms = 0; break;
        case 2: c[0].push.period_ms = 9999; break;
        case 3: c[0].push.grace_ms = -1; break;
        case 4: c[1].quorum = 33; break;
        case 5: c[2].quorum = -2; break;
        }
        cr_expect(eq(ptr, nines_catalogue_encode(c, 3), NULL), "mutation %d encoded", m);
        clear_all(c, 3);
    }
}

Test(check, equal_sees_push_options_and_quorum)
{
    struct nines_check c[3], d;

    make_push_quorum(c);
    for (int m = 0; m < 6; m++) {
        int k = m < 4 ? 0 : 1;

        cr_assert(eq(int, nines_check_copy(&d, &c[k]), 0));
        cr_assert(nines_check_equal(&d, &c[k]));
        switch (m) {
        case 0: d.push.token_sha256[31] ^= 1; break;
        case 1: d.push.token_sha256[0] ^= 0x80; break;
        case 2: d.push.period_ms++; break;
        case 3: d.push.grace_ms++; break;
        case 4: d.quorum = 0; break;
        case 5: d.quorum = 3; break;
        }
        cr_expect(not(nines_check_equal(&d, &c[k])), "mutation %d not seen", m);
        cr_expect(not(nines_check_equal(&c[k], &d)), "mutation %d not seen (swapped)", m);
        nines_check_clear(&d);
    }
    /* a copy of a push check carries its token and survives the original */
    cr_assert(eq(int, nines_check_copy(&d, &c[0]), 0));
    clear_all(c, 3);
    cr_expect(eq(int, memcmp(d.push.token_sha256, sha_test, 32), 0));
    cr_expect(eq(i64, d.push.period_ms, 86400000));
    nines_check_clear(&d);
}

/* ---- dependencies and routing labels ---- */

/* web depends on two checks, with a team and a severity; db says page outright; dns nothing. */
static void make_labelled(struct nines_check c[3])
{
    static const char *const deps[] = { "db", "dns" };

    memset(c, 0, 3 * sizeof(*c));
    for (int i = 0; i < 3; i++)
        nines_check_defaults(&c[i]);
    c[0].id = xstrdup("web");
    c[0].http.url = xstrdup("http://a.test/");
    c[0].depends_on = strv(2, deps);
    c[0].depends_on_count = 2;
    c[0].team = xstrdup("web-team");
    c[0].severity = xstrdup("ticket");

    c[1].id = xstrdup("db");
    c[1].kind = NINES_KIND_TCP;
    c[1].tcp.host = xstrdup("db.test");
    c[1].tcp.port = 5432;
    c[1].depends_on = strv(1, deps + 1);
    c[1].depends_on_count = 1;
    c[1].severity = xstrdup("page");

    c[2].id = xstrdup("dns");
    c[2].kind = NINES_KIND_DNS;
    c[2].dns.name = xstrdup("a.test");
}

Test(catalogue, labels_round_trip)
{
    struct nines_check in[3];
    struct nines_check *out = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };
    char *json, *again;

    make_labelled(in);
    json = nines_catalogue_encode(in, 3);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_assert(eq(int, nines_catalogue_decode(json, strlen(json), &out, &n, &err), 0), "%s",
              err.msg);
    cr_assert(eq(sz, n, 3));
    for (size_t i = 0; i < 3; i++)
        cr_expect(nines_check_equal(&out[i], &in[i]), "check %zu differs", i);
    cr_assert(eq(sz, out[0].depends_on_count, 2));
    cr_expect(eq(str, out[0].depends_on[0], "db"));
    cr_expect(eq(str, out[0].depends_on[1], "dns"));
    cr_expect(eq(str, out[0].team, "web-team"));
    cr_expect(eq(str, out[0].severity, "ticket"));
    cr_assert(eq(sz, out[1].depends_on_count, 1));
    cr_expect(eq(str, out[1].depends_on[0], "dns"));
    cr_expect(eq(ptr, out[1].team, NULL));
    cr_expect(eq(ptr, out[1].severity, NULL), "page, the default, does not travel");
    cr_expect(eq(sz, out[2].depends_on_count, 0));
    cr_expect(eq(ptr, out[2].depends_on, NULL));
    cr_expect(eq(ptr, out[2].team, NULL));
    cr_expect(eq(ptr, out[2].severity, NULL));
    again = nines_catalogue_encode(out, n);
    cr_assert(not(eq(ptr, again, NULL)));
    cr_expect(eq(str, again, json), "canonical");
    free(again);
    free(json);
    nines_checks_free(out, n);
    clear_all(in, 3);
}

/* Labels sit beside the common fields; empty ones and severity page are left out. */
Test(catalogue, labels_encoding_is_pinned)
{
    struct nines_check c[3];
    const char *want = "{\"checks\":["
        "{\"depends_on\":[\"db\",\"dns\"],\"failures_to_down\":2,\"http\":{\"expect_status\":"
        "\"200-399\",\"follow_redirects\":0,\"max_body_bytes\":1048576,\"method\":\"GET\","
        "\"url\":\"http://a.test/\",\"verify_tls\":true},\"id\":\"web\",\"interval_ms\":30000,"
        "\"kind\":\"http\",\"locations\":[],\"severity\":\"ticket\",\"successes_to_up\":1,"
        "\"team\":\"web-team\",\"timeout_ms\":10000},"
        "{\"depends_on\":[\"dns\"],\"failures_to_down\":2,\"id\":\"db\",\"interval_ms\":30000,"
        "\"kind\":\"tcp\",\"locations\":[],\"successes_to_up\":1,\"tcp\":{\"host\":\"db.test\","
        "\"port\":5432},\"timeout_ms\":10000}],\"version\":1}";
    char *json;

    make_labelled(c);
    json = nines_catalogue_encode(c, 2);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_expect(eq(str, json, (char *)want));
    free(json);
    clear_all(c, 3);
}

/* What the decoder refuses, the encoder refuses too. */
Test(catalogue, encode_refuses_bad_labels)
{
    struct nines_check c[3];

    for (int m = 0; m < 6; m++) {
        make_labelled(c);
        switch (m) {
        case 0:
            free(c[0].severity);
            c[0].severity = xstrdup("urgent");
            break;
        case 1:
            free(c[0].team);
            c[0].team = xstrdup("");
            break;
        case 2:
            free(c[0].team);
            c[0].team = xstrdup(ID64);
            break;
        case 3:
            free(c[0].depends_on[1]);
            c[0].depends_on[1] = xstrdup("");
            break;
        case 4:
            free(c[0].depends_on[0]);
            c[0].depends_on[0] = NULL;
            break;
        case 5:
            free(c[1].depends_on[0]);
            c[1].depends_on[0] = xstrdup(ID64);
            break;
        }
        cr_expect(eq(ptr, nines_catalogue_encode(c, 3), NULL), "mutation %d encoded", m);
        clear_all(c, 3);
    }
}

Test(check, equal_and_copy_see_labels)
{
    static const char *const other[] = { "dns", "db" };
    struct nines_check c[3], d;

    make_labelled(c);
    for (int m = 0; m < 8; m++) {
        cr_assert(eq(int, nines_check_copy(&d, &c[0]), 0));
        cr_assert(nines_check_equal(&d, &c[0]));
        switch (m) {
        case 0:                     /* the order of dependencies counts */
            free(d.depends_on[0]);
            free(d.depends_on[1]);
            d.depends_on[0] = xstrdup(other[0]);
            d.depends_on[1] = xstrdup(other[1]);
            break;
        case 1: d.depends_on_count = 1; break;
        case 2: d.depends_on[1][0] = 'x'; break;
        case 3: free(d.team); d.team = NULL; break;
        case 4: d.team[0] = 'x'; break;
        case 5: free(d.severity); d.severity = NULL; break;    /* page */
        case 6: free(d.severity); d.severity = xstrdup("info"); break;
        case 7: free(d.severity); d.severity = xstrdup("page"); break;
        }
        cr_expect(not(nines_check_equal(&d, &c[0])), "mutation %d not seen", m);
        cr_expect(not(nines_check_equal(&c[0], &d)), "mutation %d not seen (swapped)", m);
        if (m == 1)
            d.depends_on_count = 2;     /* so clear frees both */
        nines_check_clear(&d);
    }
    /* NULL severity is page */
    cr_assert(eq(int, nines_check_copy(&d, &c[1]), 0));
    free(d.severity);
    d.severity = NULL;
    cr_expect(nines_check_equal(&d, &c[1]));
    cr_expect(nines_check_equal(&c[1], &d));
    nines_check_clear(&d);

    /* a copy is deep: it outlives the original */
    cr_assert(eq(int, nines_check_copy(&d, &c[0]), 0));
    cr_expect(d.depends_on != c[0].depends_on && d.depends_on[0] != c[0].depends_on[0]);
    cr_expect(d.team != c[0].team && d.severity != c[0].severity);
    clear_all(c, 3);
    cr_assert(eq(sz, d.depends_on_count, 2));
    cr_expect(eq(str, d.depends_on[0], "db"));
    cr_expect(eq(str, d.depends_on[1], "dns"));
    cr_expect(eq(str, d.team, "web-team"));
    cr_expect(eq(str, d.severity, "ticket"));
    nines_check_clear(&d);
    cr_expect(eq(ptr, d.depends_on, NULL), "clear zeroes");
    cr_expect(eq(sz, d.depends_on_count, 0));
    cr_expect(eq(ptr, d.team, NULL));
    cr_expect(eq(ptr, d.severity, NULL));
}
