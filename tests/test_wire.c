/*
 * Results as stream fields, in both forms (packed, version 2; pairs,
 * version 1): round trips, exact bytes, tables of bad entries, and real
 * stream reply shapes parsed by hiredis's reader (no server needed).
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <hiredis/hiredis.h>

#include "nines/wire.h"

static void sample_ok(struct nines_result *r)
{
    nines_result_init(r);
    snprintf(r->id, sizeof(r->id), "probe-a/1700000000000/42");
    snprintf(r->check_id, sizeof(r->check_id), "web");
    snprintf(r->probe, sizeof(r->probe), "probe-a");
    snprintf(r->location, sizeof(r->location), "eu-west");
    r->start_ms = 1700000000123;
    r->outcome = NINES_OUTCOME_OK;
    r->total_us = 12345;
    r->dns_us = 0;
    r->connect_us = 200;
    r->tls_us = 3000;
    r->ttfb_us = 9000;
    r->code = 200;
}

/* A failure whose message holds bytes a text protocol would choke on. */
static void sample_fail(struct nines_result *r)
{
    nines_result_init(r);
    snprintf(r->id, sizeof(r->id), "p/1/%d", 7);
    snprintf(r->check_id, sizeof(r->check_id), "api.example.com");
    snprintf(r->probe, sizeof(r->probe), "p");
    snprintf(r->location, sizeof(r->location), "us east");
    r->start_ms = 0;
    r->outcome = NINES_OUTCOME_FAIL;
    r->total_us = 5;
    r->code = 503;
    snprintf(r->reason, sizeof(r->reason), "status");
    snprintf(r->message, sizeof(r->message), "HTTP 503\r\n\"busy\"\t\x01\xff =x");
}

/* Every string at its maximum length, every number at an extreme. */
static void sample_extreme(struct nines_result *r)
{
    nines_result_init(r);
    memset(r->id, 'i', sizeof(r->id) - 1);
    memset(r->check_id, 'c', sizeof(r->check_id) - 1);
    memset(r->probe, 'p', sizeof(r->probe) - 1);
    memset(r->location, 'l', sizeof(r->location) - 1);
    memset(r->reason, 'r', sizeof(r->reason) - 1);
    memset(r->message, 'm', sizeof(r->message) - 1);
    r->start_ms = INT64_MAX;
    r->outcome = NINES_OUTCOME_ERROR;
    r->total_us = INT64_MAX;
    r->dns_us = -1;
    r->connect_us = 0;
    r->tls_us = -1;
    r->ttfb_us = 1;
    r->code = INT_MAX;
}

static void sample_timeout(struct nines_result *r)
{
    nines_result_init(r);
    snprintf(r->id, sizeof(r->id), "x/2/3");
    snprintf(r->check_id, sizeof(r->check_id), "slow");
    snprintf(r->probe, sizeof(r->probe), "x");
    snprintf(r->location, sizeof(r->location), "home");
    r->start_ms = 1;
    r->outcome = NINES_OUTCOME_TIMEOUT;
    snprintf(r->reason, sizeof(r->reason), "timeout");
}

/* ok, but degraded: a warning, and facts as an engine writes them. */
static void sample_warned(struct nines_result *r)
{
    sample_ok(r);
    snprintf(r->warning, sizeof(r->warning), "cert_expiring");
    snprintf(r->message, sizeof(r->message), "certificate expires in 5 days");
    snprintf(r->facts, sizeof(r->facts),
             "{\"cert\":{\"days_left\":5,\"issuer\":\"CN=Test \\\"CA\\\"\"},"
             "\"addresses\":[\"127.0.0.1\",\"::1\"],\"note\":\"caf\xc3\xa9\\n\"}");
}

/* facts and warning at their longest. */
static void sample_long_facts(struct nines_result *r)
{
    sample_fail(r);
    memset(r->warning, 'w', sizeof(r->warning) - 1);
    memset(r->facts, ' ', sizeof(r->facts) - 1);
    r->facts[0] = '{';
    r->facts[sizeof(r->facts) - 2] = '}';
}

static void assert_result_equal(const struct nines_result *got, const struct nines_result *want)
{
    cr_expect(eq(str, (char *)got->id, (char *)want->id));
    cr_expect(eq(str, (char *)got->check_id, (char *)want->check_id));
    cr_expect(eq(str, (char *)got->probe, (char *)want->probe));
    cr_expect(eq(str, (char *)got->location, (char *)want->location));
    cr_expect(eq(i64, got->start_ms, want->start_ms));
    cr_expect(eq(int, got->outcome, want->outcome));
    cr_expect(eq(i64, got->total_us, want->total_us));
    cr_expect(eq(i64, got->dns_us, want->dns_us));
    cr_expect(eq(i64, got->connect_us, want->connect_us));
    cr_expect(eq(i64, got->tls_us, want->tls_us));
    cr_expect(eq(i64, got->ttfb_us, want->ttfb_us));
    cr_expect(eq(int, got->code, want->code));
    cr_expect(eq(str, (char *)got->reason, (char *)want->reason));
    cr_expect(eq(str, (char *)got->message, (char *)want->message));
    cr_expect(eq(str, (char *)got->warning, (char *)want->warning));
    cr_expect(eq(str, (char *)got->facts, (char *)want->facts));
    cr_assert(memcmp(got, want, sizeof(*got)) == 0, "structs differ byte-wise");
}

/* Both forms decode back to the result. */
static void round_trip(void (*make)(struct nines_result *))
{
    static struct nines_wire w;
    struct nines_result in, out;
    struct nines_err err = { 0 };

    make(&in);
    nines_wire_encode(&in, &w);
    cr_assert(eq(sz, w.argc, 2), "the packed form is one field");
    cr_assert(eq(str, (char *)w.argv[0], "r"));
    cr_assert(le(sz, w.argvlen[1], NINES_WIRE_PACKED_MAX));
    memset(&out, 0x77, sizeof(out));
    cr_assert(eq(int, nines_wire_decode(w.argv, w.argvlen, w.argc, &out, &err), 0), "%s",
              err.msg);
    assert_result_equal(&out, &in);

    nines_wire_encode_pairs(&in, &w);
    cr_assert(eq(sz, w.argc % 2, 0));
    cr_assert(le(sz, w.argc, 2 * NINES_WIRE_MAX_FIELDS));
    memset(&out, 0x77, sizeof(out));
    cr_assert(eq(int, nines_wire_decode(w.argv, w.argvlen, w.argc, &out, &err), 0), "%s",
              err.msg);
    assert_result_equal(&out, &in);
}

Test(wire, round_trip_ok)
{
    round_trip(sample_ok);
}

/* The same fields over an initialised or begun result; facts optional. */
static void begun_fields(struct nines_result *r, int with_facts)
{
    snprintf(r->id, sizeof(r->id), "p/1/2");
    snprintf(r->check_id, sizeof(r->check_id), "tcp-1");
    snprintf(r->probe, sizeof(r->probe), "p");
    snprintf(r->location, sizeof(r->location), "here");
    r->start_ms = 1700000000000;
    r->connect_us = 31;
    r->total_us = 40;
    if (with_facts)
        snprintf(r->facts, sizeof(r->facts), "{\"address\":\"127.0.0.1:80\"}");
}

static void assert_same_wire(const struct nines_wire *a, const struct nines_wire *b)
{
    cr_assert(eq(sz, a->argc, b->argc));
    for (size_t i = 0; i < a->argc; i++) {
        cr_assert(eq(sz, a->argvlen[i], b->argvlen[i]), "argument %zu", i);
        cr_assert(eq(int, memcmp(a->argv[i], b->argv[i], a->argvlen[i]), 0), "argument %zu", i);
    }
}

/* What the checks start a run with (nines_result_begin) leaves the 4 KiB of
 * facts unzeroed: over a struct of garbage, a begun result is an initialised
 * one up to its facts, and encodes byte for byte as one in both forms, with
 * and without facts. */
Test(wire, a_begun_result_encodes_as_an_initialised_one)
{
    static struct nines_wire wa, wb;
    static struct nines_result a, b;

    for (int with_facts = 0; with_facts < 2; with_facts++) {
        nines_result_init(&a);
        memset(&b, 0xa5, sizeof(b));
        nines_result_begin(&b);
        cr_assert(eq(int, memcmp(&a, &b, offsetof(struct nines_result, facts)), 0),
                  "everything before the facts as nines_result_init leaves it");
        cr_assert(eq(str, b.facts, ""));
        cr_assert(eq(i64, b.dns_us, -1));
        begun_fields(&a, with_facts);
        begun_fields(&b, with_facts);
        nines_wire_encode(&a, &wa);
        nines_wire_encode(&b, &wb);
        assert_same_wire(&wa, &wb);
        nines_wire_encode_pairs(&a, &wa);
        nines_wire_encode_pairs(&b, &wb);
        assert_same_wire(&wa, &wb);
    }
}

/* "XADD stream * <fields>": the command tests and bench/ add results with;
 * its fields decode back to the result. */
Test(wire, xadd_argv_carries_the_fields_after_the_stream)
{
    struct nines_result in, out;
    struct nines_wire w;
    struct nines_err err = { 0 };
    const char *av[NINES_WIRE_XADD_ARGC];
    size_t al[NINES_WIRE_XADD_ARGC];
    int n;

    sample_ok(&in);
    nines_wire_encode(&in, &w);
    n = nines_wire_xadd_argv(&w, "nines:results:{3}", av, al);
    cr_assert(eq(int, n, (int)(3 + w.argc)));
    cr_expect(eq(str, (char *)av[0], "XADD"));
    cr_expect(eq(sz, al[0], 4));
    cr_expect(eq(str, (char *)av[1], "nines:results:{3}"));
    cr_expect(eq(sz, al[1], strlen("nines:results:{3}")));
    cr_expect(eq(str, (char *)av[2], "*"));
    cr_expect(eq(sz, al[2], 1));
    cr_assert(eq(int, nines_wire_decode(av + 3, al + 3, (size_t)n - 3, &out, &err), 0), "%s",
              err.msg);
    assert_result_equal(&out, &in);
}

Test(wire, round_trip_fail)
{
    round_trip(sample_fail);
}

Test(wire, round_trip_timeout)
{
    round_trip(sample_timeout);
}

Test(wire, round_trip_extremes)
{
    round_trip(sample_extreme);
}

Test(wire, round_trip_warning_and_facts)
{
    round_trip(sample_warned);
}

Test(wire, round_trip_longest_facts_and_warning)
{
    round_trip(sample_long_facts);
}

/* Looks field name up in w; returns its value as a string or NULL. */
static const char *wire_get(const struct nines_wire *w, const char *name, char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < w->argc; i += 2) {
        if (w->argvlen[i] == strlen(name) && memcmp(w->argv[i], name, w->argvlen[i]) == 0) {
            snprintf(buf, len, "%.*s", (int)w->argvlen[i + 1], w->argv[i + 1]);
            return buf;
        }
    }
    return NULL;
}

Test(wire, encode_names_and_omissions)
{
    struct nines_result r;
    static struct nines_wire w;
    char b[300];

    sample_ok(&r);
    nines_wire_encode_pairs(&r, &w);
    cr_expect(eq(str, (char *)wire_get(&w, "v", b, sizeof(b)), "1"));
    cr_expect(eq(str, (char *)wire_get(&w, "id", b, sizeof(b)), "probe-a/1700000000000/42"));
    cr_expect(eq(str, (char *)wire_get(&w, "check", b, sizeof(b)), "web"));
    cr_expect(eq(str, (char *)wire_get(&w, "probe", b, sizeof(b)), "probe-a"));
    cr_expect(eq(str, (char *)wire_get(&w, "loc", b, sizeof(b)), "eu-west"));
    cr_expect(eq(str, (char *)wire_get(&w, "ts", b, sizeof(b)), "1700000000123"));
    cr_expect(eq(str, (char *)wire_get(&w, "out", b, sizeof(b)), "ok"));
    cr_expect(eq(str, (char *)wire_get(&w, "total_us", b, sizeof(b)), "12345"));
    cr_expect(eq(str, (char *)wire_get(&w, "dns_us", b, sizeof(b)), "0"));
    cr_expect(eq(str, (char *)wire_get(&w, "code", b, sizeof(b)), "200"));
    cr_expect(wire_get(&w, "reason", b, sizeof(b)) == NULL, "empty reason is written");
    cr_expect(wire_get(&w, "msg", b, sizeof(b)) == NULL, "empty msg is written");
    cr_expect(eq(sz, w.argc, 2 * 13));
    for (size_t i = 0; i < w.argc; i++)
        cr_expect(eq(sz, w.argvlen[i], strlen(w.argv[i])), "argvlen[%zu]", i);

    sample_timeout(&r);
    nines_wire_encode_pairs(&r, &w);
    cr_expect(eq(str, (char *)wire_get(&w, "out", b, sizeof(b)), "timeout"));
    cr_expect(eq(str, (char *)wire_get(&w, "reason", b, sizeof(b)), "timeout"));
    cr_expect(wire_get(&w, "total_us", b, sizeof(b)) == NULL, "-1 timing is written");
    cr_expect(wire_get(&w, "ttfb_us", b, sizeof(b)) == NULL, "-1 timing is written");
    cr_expect(wire_get(&w, "code", b, sizeof(b)) == NULL, "code 0 is written");
    cr_expect(wire_get(&w, "warn", b, sizeof(b)) == NULL, "empty warning is written");
    cr_expect(wire_get(&w, "facts", b, sizeof(b)) == NULL, "empty facts are written");
    cr_expect(eq(sz, w.argc, 2 * 8));

    sample_warned(&r);
    nines_wire_encode_pairs(&r, &w);
    cr_expect(eq(str, (char *)wire_get(&w, "warn", b, sizeof(b)), "cert_expiring"));
    cr_expect(eq(str, (char *)wire_get(&w, "msg", b, sizeof(b)),
                 "certificate expires in 5 days"));
    cr_expect(eq(str, (char *)wire_get(&w, "facts", b, sizeof(b)), r.facts));
    cr_expect(eq(sz, w.argc, 2 * 16));
}

/* Every field at once (17 of them) fits struct nines_wire and survives. */
Test(wire, every_field_at_once_is_bounded)
{
    struct nines_result in, out;
    static struct nines_wire w;
    struct nines_err err = { 0 };
    char b[NINES_FACTS_LEN];

    sample_extreme(&in);
    in.dns_us = 1;                  /* every timing measured */
    in.tls_us = 2;
    snprintf(in.warning, sizeof(in.warning), "cert_expiring");
    snprintf(in.facts, sizeof(in.facts), "{\"cert\":{\"days_left\":1}}");
    nines_wire_encode_pairs(&in, &w);
    cr_assert(le(sz, w.argc, 2 * NINES_WIRE_MAX_FIELDS));
    cr_expect(eq(str, (char *)wire_get(&w, "facts", b, sizeof(b)), in.facts));
    cr_assert(eq(int, nines_wire_decode(w.argv, w.argvlen, w.argc, &out, &err), 0), "%s",
              err.msg);
    cr_expect(eq(sz, w.argc, 2 * 17));
    assert_result_equal(&out, &in);
}

/* Optional fields absent, explicit defaults, unknown fields, odd numbers. */
Test(wire, decode_lenient_where_allowed)
{
    const char *f[] = { "v", "1", "id", "a/1/1", "check", "c", "probe", "a", "loc", "l",
                        "ts", "007", "out", "error", "total_us", "-1", "future", "x",
                        "n\0ul", "v", "code", "0" };
    size_t lens[sizeof(f) / sizeof(f[0])];
    struct nines_result r, want;
    struct nines_err err = { 0 };

    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        lens[i] = strlen(f[i]);
    lens[18] = 4;       /* unknown name with a NUL inside: ignored */
    cr_assert(eq(int, nines_wire_decode(f, lens, sizeof(f) / sizeof(f[0]), &r, &err), 0),
              "%s", err.msg);
    nines_result_init(&want);
    strcpy(want.id, "a/1/1");
    strcpy(want.check_id, "c");
    strcpy(want.probe, "a");
    strcpy(want.location, "l");
    want.start_ms = 7;
    want.outcome = NINES_OUTCOME_ERROR;
    assert_result_equal(&r, &want);
}

/*
 * A bad entry is the good base entry with one change: a field dropped, a
 * value replaced (or added), a duplicate added, or the last string cut off.
 */
struct wire_bad {
    char desc[40];
    char drop[16];          /* field to remove */
    char set[16];           /* field to replace, or append when absent */
    char val[40];
    size_t val_len;         /* value length (may cover NULs) */
    size_t repeat;          /* > 0: the value is val[0] repeated this often */
    int dup;                /* append set=val again after replacing */
    int odd;                /* drop the final string */
    char want[72];          /* substring of the error message */
};

#define BAD_SET(d, f, v, w) { d, "", f, v, sizeof(v) - 1, 0, 0, 0, w }
#define BAD_LONG(d, f, n, w) { d, "", f, "a", 1, n, 0, 0, w }
#define BAD_DROP(f) { "missing " f, f, "", "", 0, 0, 0, 0, "field '" f "': missing" }

static struct wire_bad wire_bad_cases[] = {
    BAD_DROP("v"), BAD_DROP("id"), BAD_DROP("check"), BAD_DROP("probe"), BAD_DROP("loc"),
    BAD_DROP("ts"), BAD_DROP("out"),
    BAD_SET("ts junk", "ts", "12x", "field 'ts': not a number: '12x'"),
    BAD_SET("ts empty", "ts", "", "field 'ts': not a number: ''"),
    BAD_SET("ts space", "ts", " 12", "field 'ts': not a number"),
    BAD_SET("ts plus", "ts", "+12", "field 'ts': not a number"),
    BAD_SET("ts hex", "ts", "0x10", "field 'ts': not a number"),
    BAD_SET("ts float", "ts", "1.5", "field 'ts': not a number"),
    BAD_SET("ts minus", "ts", "-", "field 'ts': not a number"),
    BAD_SET("ts overflow", "ts", "9223372036854775808", "field 'ts': not a number"),
    BAD_SET("ts negative", "ts", "-5", "field 'ts': negative"),
    BAD_SET("ts binary", "ts", "1\xff\x01", "field 'ts': not a number: '1?" "?'"),
    BAD_SET("timing below -1", "total_us", "-2", "field 'total_us': below -1"),
    BAD_SET("timing junk", "dns_us", "5us", "field 'dns_us': not a number"),
    BAD_SET("timing overflow", "tls_us", "-9223372036854775809", "field 'tls_us': not a"),
    BAD_SET("code negative", "code", "-1", "field 'code': out of range"),
    BAD_SET("code too big", "code", "2147483648", "field 'code': out of range"),
    BAD_SET("code junk", "code", "abc", "field 'code': not a number"),
    BAD_SET("version 2", "v", "2", "field 'v': unsupported wire version '2'"),
    BAD_SET("version empty", "v", "", "field 'v': unsupported wire version"),
    BAD_SET("version 1.0", "v", "1.0", "field 'v': unsupported wire version"),
    BAD_SET("version 01", "v", "01", "field 'v': unsupported wire version"),
    BAD_SET("outcome", "out", "maybe", "field 'out': unknown outcome 'maybe'"),
    BAD_SET("outcome case", "out", "OK", "field 'out': unknown outcome"),
    BAD_SET("outcome long", "out", "timeouttimeouttimeout", "field 'out': unknown outcome"),
    BAD_SET("outcome nul", "out", "ok\0", "field 'out': contains a NUL byte"),
    BAD_SET("check nul", "check", "we\0b", "field 'check': contains a NUL byte"),
    BAD_SET("msg nul", "msg", "a\0b", "field 'msg': contains a NUL byte"),
    BAD_SET("check empty", "check", "", "field 'check': empty"),
    BAD_SET("id empty", "id", "", "field 'id': empty"),
    BAD_LONG("id long", "id", NINES_RESULT_ID_LEN, "field 'id': too long (128 bytes, max 127)"),
    BAD_LONG("check long", "check", NINES_ID_LEN, "field 'check': too long (64 bytes"),
    BAD_LONG("probe long", "probe", NINES_ID_LEN, "field 'probe': too long"),
    BAD_LONG("loc long", "loc", NINES_ID_LEN, "field 'loc': too long"),
    BAD_LONG("reason long", "reason", NINES_REASON_LEN, "field 'reason': too long (32 bytes"),
    BAD_LONG("msg long", "msg", NINES_MESSAGE_LEN, "field 'msg': too long (256 bytes"),
    BAD_LONG("msg much too long", "msg", 100000, "field 'msg': too long (100000 bytes"),
    BAD_LONG("warn long", "warn", NINES_REASON_LEN, "field 'warn': too long (32 bytes, max 31)"),
    BAD_LONG("facts long", "facts", NINES_FACTS_LEN,
             "field 'facts': too long (4096 bytes, max 4095)"),
    BAD_LONG("facts much too long", "facts", 70000, "field 'facts': too long (70000 bytes"),
    BAD_SET("facts nul", "facts", "{\"a\":\"\0\"}", "field 'facts': contains a NUL byte"),
    BAD_SET("warn nul", "warn", "cert\0", "field 'warn': contains a NUL byte"),
    { "duplicate facts", "", "facts", "{}", 2, 0, 1, 0, "field 'facts': duplicated" },
    { "duplicate ts", "", "ts", "5", 1, 0, 1, 0, "field 'ts': duplicated" },
    { "duplicate msg", "", "msg", "x", 1, 0, 1, 0, "field 'msg': duplicated" },
    { "odd count", "", "", "", 0, 0, 0, 1, "odd number of field strings (19)" },
};

#define WIRE_MAX_STRINGS 40

struct wire_entry {
    const char *f[WIRE_MAX_STRINGS];
    size_t len[WIRE_MAX_STRINGS];
    size_t n;
};

static void entry_add(struct wire_entry *e, const char *s, size_t len)
{
    cr_assert(lt(sz, e->n, WIRE_MAX_STRINGS));
    e->f[e->n] = s;
    e->len[e->n++] = len;
}

static void entry_base(struct wire_entry *e)
{
    static const char *const base[] = { "v", "1", "id", "a/1/1", "check", "web", "probe", "a",
                                        "loc", "eu", "ts", "1700000000000", "out", "ok",
                                        "total_us", "5", "code", "200", "msg", "fine" };

    e->n = 0;
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        entry_add(e, base[i], strlen(base[i]));
}

/* Sets name to (val, len): replaces the value when present, else appends. */
static void entry_set(struct wire_entry *e, const char *name, const char *val, size_t len)
{
    for (size_t i = 0; i + 1 < e->n; i += 2) {
        if (strcmp(e->f[i], name) == 0) {
            e->f[i + 1] = val;
            e->len[i + 1] = len;
            return;
        }
    }
    entry_add(e, name, strlen(name));
    entry_add(e, val, len);
}

static void entry_drop(struct wire_entry *e, const char *name)
{
    for (size_t i = 0; i + 1 < e->n; i += 2) {
        if (strcmp(e->f[i], name) == 0) {
            memmove(&e->f[i], &e->f[i + 2], (e->n - i - 2) * sizeof(e->f[0]));
            memmove(&e->len[i], &e->len[i + 2], (e->n - i - 2) * sizeof(e->len[0]));
            e->n -= 2;
            return;
        }
    }
    cr_fatal("no field %s to drop", name);
}

Test(wire, base_entry_is_valid)
{
    struct wire_entry e;
    struct nines_result r;
    struct nines_err err = { 0 };

    entry_base(&e);
    cr_assert(eq(int, nines_wire_decode(e.f, e.len, e.n, &r, &err), 0), "%s", err.msg);
    cr_expect(eq(str, r.check_id, "web"));
    cr_expect(eq(str, r.message, "fine"));
    cr_expect(eq(int, r.code, 200));
}

ParameterizedTestParameters(wire, decode_bad)
{
    return cr_make_param_array(struct wire_bad, wire_bad_cases,
                               sizeof(wire_bad_cases) / sizeof(wire_bad_cases[0]));
}

ParameterizedTest(struct wire_bad *c, wire, decode_bad)
{
    static char longval[100001];
    struct wire_entry e;
    struct nines_result r, clean;
    struct nines_err err = { 0 };
    const char *val = c->val;
    size_t len = c->val_len;

    entry_base(&e);
    if (c->drop[0] != '\0')
        entry_drop(&e, c->drop);
    if (c->repeat > 0) {
        cr_assert(lt(sz, c->repeat, sizeof(longval)));
        memset(longval, c->val[0], c->repeat);
        val = longval;
        len = c->repeat;
    }
    if (c->set[0] != '\0')
        entry_set(&e, c->set, val, len);
    if (c->dup) {
        entry_add(&e, c->set, strlen(c->set));
        entry_add(&e, val, len);
    }
    if (c->odd)
        e.n--;
    cr_assert(eq(int, nines_wire_decode(e.f, e.len, e.n, &r, &err), NINES_EPROTO),
              "%s: accepted", c->desc);
    cr_expect(eq(int, err.code, NINES_EPROTO));
    cr_expect(strstr(err.msg, c->want) != NULL, "%s: got \"%s\", want \"%s\"", c->desc,
              err.msg, c->want);
    nines_result_init(&clean);
    cr_expect(memcmp(&r, &clean, sizeof(r)) == 0, "%s: half-decoded result left", c->desc);
}

/* Exactly at the limit is accepted (the "too long" cases are one byte more). */
Test(wire, decode_strings_at_limit)
{
    static char id[NINES_RESULT_ID_LEN], msg[NINES_MESSAGE_LEN], reason[NINES_REASON_LEN];
    struct wire_entry e;
    struct nines_result r;
    struct nines_err err = { 0 };

    memset(id, 'i', sizeof(id) - 1);
    memset(msg, 'm', sizeof(msg) - 1);
    memset(reason, 'r', sizeof(reason) - 1);
    entry_base(&e);
    entry_set(&e, "id", id, sizeof(id) - 1);
    entry_set(&e, "msg", msg, sizeof(msg) - 1);
    entry_set(&e, "reason", reason, sizeof(reason) - 1);
    cr_assert(eq(int, nines_wire_decode(e.f, e.len, e.n, &r, &err), 0), "%s", err.msg);
    cr_expect(eq(sz, strlen(r.id), sizeof(id) - 1));
    cr_expect(eq(sz, strlen(r.message), sizeof(msg) - 1));
    cr_expect(eq(sz, strlen(r.reason), sizeof(reason) - 1));
}

Test(wire, decode_nothing)
{
    struct nines_result r;
    struct nines_err err = { 0 };

    cr_expect(eq(int, nines_wire_decode(NULL, NULL, 0, &r, &err), NINES_EPROTO));
    cr_expect(strstr(err.msg, "field 'v': missing") != NULL, "%s", err.msg);
    cr_expect(eq(int, nines_wire_decode(NULL, NULL, 2, &r, NULL), NINES_EINVAL));
}

/* ---- The packed form (version 2) ---- */

/* The exact bytes: the order of the fields and what an absent one looks like. */
Test(wire_packed, exact_bytes)
{
    static struct nines_wire w;
    struct nines_result r;

    sample_ok(&r);
    nines_wire_encode(&r, &w);
    cr_assert(eq(sz, w.argc, 2));
    cr_expect(eq(sz, w.argvlen[0], 1));
    cr_expect(eq(str, (char *)w.argv[0], NINES_WIRE_PACKED_FIELD));
    cr_assert(eq(sz, w.argvlen[1],
                 strlen("1:224:probe-a/1700000000000/423:web7:probe-a7:eu-west13:1700000000123"
                        "2:ok5:123451:03:2004:30004:90003:2000:0:0:0:")));
    cr_expect(memcmp(w.argv[1],
                     "1:224:probe-a/1700000000000/423:web7:probe-a7:eu-west13:1700000000123"
                     "2:ok5:123451:03:2004:30004:90003:2000:0:0:0:",
                     w.argvlen[1]) == 0,
              "got %.*s", (int)w.argvlen[1], w.argv[1]);

    sample_timeout(&r);     /* timings -1 and code 0 are empty */
    nines_wire_encode(&r, &w);
    cr_expect(eq(sz, w.argvlen[1],
                 strlen("1:25:x/2/34:slow1:x4:home1:17:timeout0:0:0:0:0:0:7:timeout0:0:0:")));
    cr_expect(memcmp(w.argv[1], "1:25:x/2/34:slow1:x4:home1:17:timeout0:0:0:0:0:0:7:timeout0:0:0:",
                     w.argvlen[1]) == 0,
              "got %.*s", (int)w.argvlen[1], w.argv[1]);
}

/* Every string at its limit, every number at an extreme, every field set:
 * within NINES_WIRE_PACKED_MAX, and back again. */
Test(wire_packed, longest_value_fits)
{
    static struct nines_wire w;
    struct nines_result in, out;
    struct nines_err err = { 0 };

    sample_extreme(&in);
    in.start_ms = INT64_MAX;
    in.total_us = INT64_MAX;
    in.dns_us = INT64_MAX;
    in.connect_us = INT64_MAX;
    in.tls_us = INT64_MAX;
    in.ttfb_us = INT64_MAX;
    memset(in.warning, 'w', sizeof(in.warning) - 1);
    memset(in.facts, 'f', sizeof(in.facts) - 1);
    nines_wire_encode(&in, &w);
    cr_assert(le(sz, w.argvlen[1], NINES_WIRE_PACKED_MAX));
    cr_assert(eq(int, nines_wire_decode(w.argv, w.argvlen, w.argc, &out, &err), 0), "%s",
              err.msg);
    assert_result_equal(&out, &in);
}

/* A shorter value (fields after "out" absent), bytes after the last known
 * field (a newer producer's), and pairs after "r" are all accepted. */
Test(wire_packed, lenient_where_allowed)
{
    const char *f[] = { "r", "1:25:a/1/13:web1:a2:eu13:17000000000002:ok", "future", "x" };
    size_t lens[4];
    struct nines_result r;
    struct nines_err err = { 0 };

    for (size_t i = 0; i < 4; i++)
        lens[i] = strlen(f[i]);
    cr_assert(eq(int, nines_wire_decode(f, lens, 4, &r, &err), 0), "%s", err.msg);
    cr_expect(eq(str, r.check_id, "web"));
    cr_expect(eq(i64, r.start_ms, 1700000000000));
    cr_expect(eq(i64, r.total_us, -1));
    cr_expect(eq(int, r.code, 0));

    f[1] = "1:25:a/1/13:web1:a2:eu13:17000000000002:ok3:1230:0:0:0:3:2040:0:0:0:"
           "3:new5:field";
    lens[1] = strlen(f[1]);
    cr_assert(eq(int, nines_wire_decode(f, lens, 2, &r, &err), 0), "%s", err.msg);
    cr_expect(eq(i64, r.total_us, 123));
    cr_expect(eq(int, r.code, 204));
}

/* One raw field, in either form, as the probe routes and acks by it. */
Test(wire_packed, one_field_without_decoding)
{
    static struct nines_wire w;
    struct nines_result r;
    const char *v;
    size_t n;
    const char *bad[] = { "r", "1:25:a/1/19:web" };
    size_t badlen[] = { 1, strlen(bad[1]) };

    sample_ok(&r);
    for (int form = 0; form < 2; form++) {
        if (form == 0)
            nines_wire_encode(&r, &w);
        else
            nines_wire_encode_pairs(&r, &w);
        cr_assert(eq(int, nines_wire_field(w.argv, w.argvlen, w.argc, "id", &v, &n), 0));
        cr_expect(eq(sz, n, strlen(r.id)));
        cr_expect(memcmp(v, r.id, n) == 0);
        cr_assert(eq(int, nines_wire_field(w.argv, w.argvlen, w.argc, "check", &v, &n), 0));
        cr_expect(eq(sz, n, 3));
        cr_expect(memcmp(v, "web", 3) == 0);
        cr_assert(eq(int, nines_wire_field(w.argv, w.argvlen, w.argc, "code", &v, &n), 0));
        cr_expect(memcmp(v, "200", 3) == 0);
        cr_expect(eq(int, nines_wire_field(w.argv, w.argvlen, w.argc, "reason", &v, &n), -1),
                  "absent in form %d", form);
        cr_expect(eq(int, nines_wire_field(w.argv, w.argvlen, w.argc, "nope", &v, &n), -1));
    }
    /* "check" announces 9 bytes where 3 are left */
    cr_expect(eq(int, nines_wire_field(bad, badlen, 2, "id", &v, &n), 0));
    cr_expect(eq(int, nines_wire_field(bad, badlen, 2, "check", &v, &n), -1));
    cr_expect(eq(int, nines_wire_field(bad, badlen, 2, "probe", &v, &n), -1));
}

struct packed_bad {
    char desc[40];
    char val[160];
    size_t len;
    char want[72];
};

#define PB(d, v, w) { d, v, sizeof(v) - 1, w }
#define PB_HEAD "1:25:a/1/13:web1:a2:eu"

static struct packed_bad packed_bad_cases[] = {
    PB("empty", "", "field 'v': missing"),
    PB("version 1", "1:1", "field 'v': unsupported packed version '1' (want '2')"),
    PB("version 22", "2:22", "field 'v': unsupported packed version '22'"),
    PB("version only", "1:2", "field 'id': missing"),
    PB("cut after loc", PB_HEAD, "field 'ts': missing"),
    PB("empty check", "1:25:a/1/10:1:a2:eu13:17000000000002:ok", "field 'check': missing"),
    PB("empty out", PB_HEAD "13:17000000000000:", "field 'out': missing"),
    PB("no length", "1:2:a/1/1", "field 'id': bad length prefix at byte 3"),
    PB("no colon", "1:25", "field 'id': bad length prefix"),
    PB("letter in length", "1:25x:a/1/1", "field 'id': bad length prefix"),
    PB("leading zero", "1:205:a/1/1", "field 'id': bad length prefix"),
    PB("negative length", "1:2-1:", "field 'id': bad length prefix"),
    PB("seven digits", "1:21000000:", "field 'id': bad length prefix"),
    PB("past the end", "1:29:a/1/1", "field 'id': 9 bytes announced, 5 left"),
    PB("ts junk", PB_HEAD "3:12x2:ok", "field 'ts': not a number: '12x'"),
    PB("ts negative", PB_HEAD "2:-52:ok", "field 'ts': negative"),
    PB("outcome", PB_HEAD "1:15:maybe", "field 'out': unknown outcome 'maybe'"),
    PB("timing below -1", PB_HEAD "1:12:ok2:-2", "field 'total_us': below -1"),
    PB("code range", PB_HEAD "1:12:ok0:0:0:0:0:2:-1", "field 'code': out of range"),
    PB("nul in msg", PB_HEAD "1:12:ok0:0:0:0:0:0:0:3:a\0b", "field 'msg': contains a NUL"),
    PB("check too long", "1:25:a/1/164:cccccccccccccccccccccccccccccccccccccccccccccccc"
                         "cccccccccccccccc", "field 'check': too long (64 bytes, max 63)"),
};

ParameterizedTestParameters(wire_packed, decode_bad)
{
    return cr_make_param_array(struct packed_bad, packed_bad_cases,
                               sizeof(packed_bad_cases) / sizeof(packed_bad_cases[0]));
}

ParameterizedTest(struct packed_bad *c, wire_packed, decode_bad)
{
    const char *f[2] = { "r", c->val };
    size_t lens[2] = { 1, c->len };
    struct nines_result r, clean;
    struct nines_err err = { 0 };

    cr_assert(eq(int, nines_wire_decode(f, lens, 2, &r, &err), NINES_EPROTO), "%s: accepted",
              c->desc);
    cr_expect(strstr(err.msg, c->want) != NULL, "%s: got \"%s\", want \"%s\"", c->desc,
              err.msg, c->want);
    nines_result_init(&clean);
    cr_expect(memcmp(&r, &clean, sizeof(r)) == 0, "%s: half-decoded result left", c->desc);
}

/* ---- Real reply shapes, parsed by hiredis's reader ---- */

struct resp {
    char buf[8192];
    size_t len;
};

static void resp_raw(struct resp *p, const char *s)
{
    size_t n = strlen(s);

    cr_assert(lt(sz, p->len + n, sizeof(p->buf)));
    memcpy(p->buf + p->len, s, n);
    p->len += n;
}

static void resp_array(struct resp *p, long n)
{
    char h[32];

    snprintf(h, sizeof(h), "*%ld\r\n", n);
    resp_raw(p, h);
}

static void resp_bulk(struct resp *p, const char *s, size_t n)
{
    char h[32];

    snprintf(h, sizeof(h), "$%zu\r\n", n);
    resp_raw(p, h);
    cr_assert(lt(sz, p->len + n + 2, sizeof(p->buf)));
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    resp_raw(p, "\r\n");
}

/* The stream entry [id, [f, v, ...]] as the server writes it. */
static void resp_entry(struct resp *p, const char *id, const struct nines_wire *w)
{
    resp_array(p, 2);
    resp_bulk(p, id, strlen(id));
    resp_array(p, (long)w->argc);
    for (size_t i = 0; i < w->argc; i++)
        resp_bulk(p, w->argv[i], w->argvlen[i]);
}

/* Parses p with hiredis, fed in chunks of step bytes like a socket would. */
static redisReply *resp_parse(const struct resp *p, size_t step)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;

    cr_assert(not(eq(ptr, rd, NULL)));
    for (size_t off = 0; off < p->len && reply == NULL; off += step) {
        size_t n = p->len - off < step ? p->len - off : step;

        cr_assert(eq(int, redisReaderFeed(rd, p->buf + off, n), REDIS_OK));
        cr_assert(eq(int, redisReaderGetReply(rd, &reply), REDIS_OK), "%s", rd->errstr);
    }
    redisReaderFree(rd);
    cr_assert(not(eq(ptr, reply, NULL)), "reply incomplete");
    return reply;
}

enum entry_shape { ENTRY_FIELDS, ENTRY_TRIMMED, ENTRY_MALFORMED };

/*
 * Collects one stream entry's field strings, as the collector must: a
 * trimmed entry is [id, NIL] and has no fields at all.
 */
static enum entry_shape entry_fields(const redisReply *entry, struct wire_entry *e)
{
    const redisReply *fv;

    e->n = 0;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING)
        return ENTRY_MALFORMED;
    fv = entry->element[1];
    if (fv->type == REDIS_REPLY_NIL)
        return ENTRY_TRIMMED;
    if (fv->type != REDIS_REPLY_ARRAY || fv->elements > WIRE_MAX_STRINGS)
        return ENTRY_MALFORMED;
    for (size_t i = 0; i < fv->elements; i++) {
        if (fv->element[i]->type != REDIS_REPLY_STRING)
            return ENTRY_MALFORMED;
        e->f[i] = fv->element[i]->str;
        e->len[i] = (size_t)fv->element[i]->len;
    }
    e->n = fv->elements;
    return ENTRY_FIELDS;
}

/* reply → [[key, entries]] → entries, checking each level's type. */
static const redisReply *stream_entries(const redisReply *reply, const char *key)
{
    const redisReply *s;

    cr_assert(eq(int, reply->type, REDIS_REPLY_ARRAY));
    cr_assert(eq(sz, reply->elements, 1));
    s = reply->element[0];
    cr_assert(eq(int, s->type, REDIS_REPLY_ARRAY));
    cr_assert(eq(sz, s->elements, 2));
    cr_assert(eq(int, s->element[0]->type, REDIS_REPLY_STRING));
    cr_assert(eq(str, s->element[0]->str, (char *)key));
    cr_assert(eq(int, s->element[1]->type, REDIS_REPLY_ARRAY));
    return s->element[1];
}

static void xreadgroup_reply(size_t step)
{
    struct nines_result ok, fail, got;
    static struct nines_wire wok, wfail;
    struct nines_err err = { 0 };
    struct wire_entry e;
    struct resp p = { .len = 0 };
    const redisReply *entries;
    redisReply *reply;

    sample_ok(&ok);
    sample_fail(&fail);
    nines_wire_encode(&ok, &wok);               /* one stream may hold both forms */
    nines_wire_encode_pairs(&fail, &wfail);
    resp_array(&p, 1);
    resp_array(&p, 2);
    resp_bulk(&p, NINES_KEY_RESULTS, strlen(NINES_KEY_RESULTS));
    resp_array(&p, 3);
    resp_entry(&p, "1700000000000-0", &wok);
    resp_array(&p, 2);                          /* trimmed: [id, NIL] */
    resp_bulk(&p, "1700000000001-0", 15);
    resp_raw(&p, "*-1\r\n");
    resp_entry(&p, "1700000000002-5", &wfail);

    reply = resp_parse(&p, step);
    entries = stream_entries(reply, NINES_KEY_RESULTS);
    cr_assert(eq(sz, entries->elements, 3));

    cr_assert(eq(int, entry_fields(entries->element[0], &e), ENTRY_FIELDS));
    cr_assert(eq(int, nines_wire_decode(e.f, e.len, e.n, &got, &err), 0), "%s", err.msg);
    assert_result_equal(&got, &ok);

    cr_assert(eq(int, entry_fields(entries->element[1], &e), ENTRY_TRIMMED));
    cr_expect(eq(str, entries->element[1]->element[0]->str, "1700000000001-0"));
    cr_expect(eq(sz, e.n, 0));
    /* a collector that decoded it anyway would get an error, not a crash */
    cr_expect(eq(int, nines_wire_decode(e.f, e.len, e.n, &got, &err), NINES_EPROTO));

    cr_assert(eq(int, entry_fields(entries->element[2], &e), ENTRY_FIELDS));
    cr_assert(eq(int, nines_wire_decode(e.f, e.len, e.n, &got, &err), 0), "%s", err.msg);
    assert_result_equal(&got, &fail);
    freeReplyObject(reply);
}

Test(wire_resp, xreadgroup_reply_in_one_piece)
{
    xreadgroup_reply(1 << 20);
}

Test(wire_resp, xreadgroup_reply_byte_by_byte)
{
    xreadgroup_reply(1);
}

/* A BLOCK that times out answers NIL rather than an empty array. */
Test(wire_resp, block_timeout_is_nil)
{
    struct resp p = { .len = 0 };
    redisReply *reply;

    resp_raw(&p, "*-1\r\n");
    reply = resp_parse(&p, 64);
    cr_expect(eq(int, reply->type, REDIS_REPLY_NIL));
    freeReplyObject(reply);
}

/* Bulk strings are binary: a NUL inside a value reaches the decoder intact. */
Test(wire_resp, binary_values_from_the_wire)
{
    static const char msg_nul[] = "bad\0byte";
    struct resp p = { .len = 0 };
    struct nines_result got;
    struct nines_err err = { 0 };
    struct wire_entry e;
    redisReply *reply;
    const redisReply *entries;
    static const char *const f[] = { "v", "1", "id", "a/1/1", "check", "c", "probe", "a",
                                     "loc", "l", "ts", "10", "out", "fail", "msg" };

    resp_array(&p, 1);
    resp_array(&p, 2);
    resp_bulk(&p, "k", 1);
    resp_array(&p, 2);
    resp_array(&p, 2);                          /* entry with a NUL in msg */
    resp_bulk(&p, "1-0", 3);
    resp_array(&p, 16);
    for (size_t i = 0; i < 15; i++)
        resp_bulk(&p, f[i], strlen(f[i]));
    resp_bulk(&p, msg_nul, sizeof(msg_nul) - 1);
    resp_array(&p, 2);                          /* entry with an integer field */
    resp_bulk(&p, "2-0", 3);
    resp_array(&p, 2);
    resp_bulk(&p, "v", 1);
    resp_raw(&p, ":1\r\n");

    reply = resp_parse(&p, 7);
    entries = stream_entries(reply, "k");
    cr_assert(eq(int, entry_fields(entries->element[0], &e), ENTRY_FIELDS));
    cr_expect(eq(sz, e.len[15], sizeof(msg_nul) - 1));
    cr_expect(eq(int, nines_wire_decode(e.f, e.len, e.n, &got, &err), NINES_EPROTO));
    cr_expect(strstr(err.msg, "field 'msg': contains a NUL byte") != NULL, "%s", err.msg);
    cr_expect(eq(int, entry_fields(entries->element[1], &e), ENTRY_MALFORMED));
    freeReplyObject(reply);
}
