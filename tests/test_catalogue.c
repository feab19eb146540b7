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
    { CHK_HEAD "{\"id\":\"a\",\"kind\":\"tcp\",\"interval_ms\":1000,\"timeout_ms\":500,"
      CHK_HTTP "}" CHK_TAIL, "check 0: field 'kind': unknown check kind 'tcp'" },
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
    cr_expect(eq(int, nines_check_kind_parse("tcp", &k), NINES_EINVAL));
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
