/*
 * json_condition: a table of conditions to parse (good and bad), and a table
 * of conditions evaluated on real JSON documents parsed by jansson.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <jansson.h>

#include "jsoncond.h"
#include "nines/err.h"

/* ---- parsing ---- */

struct jc_parse_case {
    char in[160];
    char path[64];          /* segments joined with '|'; "" for a bad case */
    int op;
    int lit;
    char str[40];           /* LIT_STRING */
    int is_int;             /* LIT_NUMBER */
    double num;
    char err[80];           /* bad case: substring of the message */
};

#define JC_OK(in, path, op, lit, str, is_int, num) \
    { in, path, NINES_JSON_##op, NINES_JSON_LIT_##lit, str, is_int, num, "" }
#define JC_BAD(in, err) { in, "", 0, 0, "", 0, 0, err }

static struct jc_parse_case jc_parse_cases[] = {
    JC_OK("status == \"UP\"", "status", EQ, STRING, "UP", 0, 0),
    JC_OK("  checks.db.ok==true  ", "checks|db|ok", EQ, TRUE, "", 0, 0),
    JC_OK("items.0.count>=3", "items|0|count", GE, NUMBER, "", 1, 3),
    JC_OK("a!=null", "a", NE, NULL, "", 0, 0),
    JC_OK("x < -1.5e3", "x", LT, NUMBER, "", 0, -1500),
    JC_OK("x <= 0", "x", LE, NUMBER, "", 1, 0),
    JC_OK("x\t>\t0.25", "x", GT, NUMBER, "", 0, 0.25),
    JC_OK("ok == false", "ok", EQ, FALSE, "", 0, 0),
    JC_OK("name == \"a \\\"q\\\" \\u00e9\\n\"", "name", EQ, STRING, "a \"q\" \xc3\xa9\n", 0, 0),
    JC_OK("$schema.v-1_x:y == \"\"", "$schema|v-1_x:y", EQ, STRING, "", 0, 0),
    JC_OK("caf\xc3\xa9 == 1", "caf\xc3\xa9", EQ, NUMBER, "", 1, 1),
    JC_BAD("", "expected a path"),
    JC_BAD("== 1", "expected a path"),
    JC_BAD("status", "expected an operator"),
    JC_BAD("status ~ 1", "expected an operator"),
    JC_BAD("status = 1", "use == to compare, not ="),
    JC_BAD("status ==", "expected a value after the operator"),
    JC_BAD("status ==   ", "expected a value after the operator"),
    JC_BAD("status == UP", "the value must be a JSON scalar"),
    JC_BAD("status == 'UP'", "the value must be a JSON scalar"),
    JC_BAD("status == {\"a\":1}", "the value must be a JSON scalar"),
    JC_BAD("status == [1]", "the value must be a JSON scalar"),
    JC_BAD("status == \"UP\" extra", "the value must be a JSON scalar"),
    JC_BAD("status === 1", "the value must be a JSON scalar"),
    JC_BAD("s == \"a\\u0000b\"", "the value must be a JSON scalar"),
    JC_BAD("a..b == 1", "empty path segment"),
    JC_BAD(".a == 1", "empty path segment"),
    JC_BAD("a. == 1", "empty path segment"),
    JC_BAD("\"status\" == 1", "without quotes"),
    JC_BAD("a\x01 == 1", "control characters"),
    JC_BAD("n < \"3\"", "compare numbers"),
    JC_BAD("n >= true", "compare numbers"),
    JC_BAD("n > null", "compare numbers"),
    JC_BAD("a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a == 1",
           "too many segments"),
};

ParameterizedTestParameters(jsoncond, parse)
{
    return cr_make_param_array(struct jc_parse_case, jc_parse_cases,
                               sizeof(jc_parse_cases) / sizeof(jc_parse_cases[0]));
}

/* The segments of c joined with '|'. */
static const char *jc_joined(const struct nines_json_cond *c, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < c->nseg && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "|" : "", c->text + c->seg[i]);
    return buf;
}

ParameterizedTest(struct jc_parse_case *t, jsoncond, parse)
{
    struct nines_json_cond c;
    char err[128] = "";
    char path[256];
    int rc = nines_json_cond_parse(t->in, &c, err, sizeof(err));

    if (t->path[0] == '\0') {
        cr_assert(eq(int, rc, NINES_EINVAL), "accepted '%s'", t->in);
        cr_expect(strstr(err, t->err) != NULL, "'%s': got \"%s\", want \"%s\"", t->in, err,
                  t->err);
        cr_expect(eq(sz, c.nseg, 0), "a failed parse leaves a zeroed struct");
        return;
    }
    cr_assert(eq(int, rc, 0), "'%s': %s", t->in, err);
    cr_expect(eq(str, (char *)jc_joined(&c, path, sizeof(path)), t->path), "'%s'", t->in);
    cr_expect(eq(int, c.op, t->op), "'%s'", t->in);
    cr_expect(eq(int, c.lit, t->lit), "'%s'", t->in);
    if (t->lit == NINES_JSON_LIT_STRING) {
        cr_expect(eq(sz, c.str_len, strlen(t->str)), "'%s'", t->in);
        cr_expect(eq(str, c.text + c.str, t->str), "'%s'", t->in);
    }
    if (t->lit == NINES_JSON_LIT_NUMBER) {
        cr_expect(eq(int, c.is_int, t->is_int), "'%s'", t->in);
        cr_expect(eq(dbl, c.dval, t->num), "'%s'", t->in);
        if (t->is_int)
            cr_expect(eq(i64, c.ival, (int64_t)t->num), "'%s'", t->in);
    }
}

Test(jsoncond, parse_null_and_too_long)
{
    struct nines_json_cond c;
    char err[128] = "";
    static char big[NINES_JSON_COND_MAX + 8];

    cr_expect(eq(int, nines_json_cond_parse(NULL, &c, err, sizeof(err)), NINES_EINVAL));
    memset(big, 'a', sizeof(big) - 1);
    cr_expect(eq(int, nines_json_cond_parse(big, &c, err, sizeof(err)), NINES_EINVAL));
    cr_expect(strstr(err, "too long") != NULL, "%s", err);
    /* no error buffer is fine too */
    cr_expect(eq(int, nines_json_cond_parse("x = 1", &c, NULL, 0), NINES_EINVAL));
    /* just under the limit: a long string literal still fits */
    memset(big, 0, sizeof(big));
    memcpy(big, "k == \"", 6);
    memset(big + 6, 's', NINES_JSON_COND_MAX - 8);
    big[NINES_JSON_COND_MAX - 2] = '"';
    cr_assert(eq(sz, strlen(big), NINES_JSON_COND_MAX - 1));
    cr_assert(eq(int, nines_json_cond_parse(big, &c, err, sizeof(err)), 0), "%s", err);
    cr_expect(eq(sz, c.str_len, NINES_JSON_COND_MAX - 8));
}

Test(jsoncond, op_names)
{
    cr_expect(eq(str, (char *)nines_json_op_name(NINES_JSON_EQ), "=="));
    cr_expect(eq(str, (char *)nines_json_op_name(NINES_JSON_GE), ">="));
    cr_expect(eq(str, (char *)nines_json_op_name((enum nines_json_op)42), "?"));
}

/* ---- evaluation ---- */

#define JC_DOC                                                                                 \
    "{\"status\":\"UP\",\"checks\":{\"db\":{\"ok\":true,\"latency\":12.5},"                    \
    "\"cache\":{\"ok\":false}},\"items\":[{\"name\":\"a\",\"count\":3},"                      \
    "{\"name\":\"b\",\"count\":0}],\"version\":2,\"big\":9007199254740993,"                   \
    "\"nothing\":null,\"0\":\"zero-key\",\"empty\":\"\",\"neg\":-1.5e3,"                      \
    "\"unicode\":\"caf\\u00e9\",\"ratio\":0.1}"

struct jc_eval_case {
    char doc[400];
    char cond[96];
    int want;               /* 1, 0, NINES_ENOTFOUND or NINES_EINVAL */
};

#define JC_ON(cond, want) { JC_DOC, cond, want }

static struct jc_eval_case jc_eval_cases[] = {
    JC_ON("status == \"UP\"", 1),
    JC_ON("status != \"UP\"", 0),
    JC_ON("status == \"up\"", 0),
    JC_ON("checks.db.ok == true", 1),
    JC_ON("checks.db.ok != false", 1),
    JC_ON("checks.cache.ok == true", 0),
    JC_ON("checks.cache.ok == false", 1),
    JC_ON("checks.db.latency < 20", 1),
    JC_ON("checks.db.latency >= 12.5", 1),
    JC_ON("checks.db.latency > 12.5", 0),
    JC_ON("checks.db.latency <= 12.4", 0),
    JC_ON("items.0.name == \"a\"", 1),
    JC_ON("items.1.count == 0", 1),
    JC_ON("items.1.count <= -1", 0),
    JC_ON("items.0.count > 2.5", 1),
    /* missing paths */
    JC_ON("items.2.name == \"c\"", NINES_ENOTFOUND),
    JC_ON("items.x.name == \"a\"", NINES_ENOTFOUND),
    JC_ON("items.-1.name == \"a\"", NINES_ENOTFOUND),
    JC_ON("items.99999999999999999999999.name == \"a\"", NINES_ENOTFOUND),
    JC_ON("missing == null", NINES_ENOTFOUND),
    JC_ON("missing != 1", NINES_ENOTFOUND),
    JC_ON("status.deeper == 1", NINES_ENOTFOUND),
    JC_ON("Status == \"UP\"", NINES_ENOTFOUND),
    /* null is a value, not a missing path */
    JC_ON("nothing == null", 1),
    JC_ON("nothing != null", 0),
    JC_ON("nothing == false", 0),
    /* numbers compare numerically, across integer and real */
    JC_ON("version == 2.0", 1),
    JC_ON("version == 2", 1),
    JC_ON("version >= 2", 1),
    JC_ON("version < 10", 1),
    JC_ON("ratio == 0.1", 1),
    JC_ON("neg < -1000", 1),
    JC_ON("neg == -1500", 1),
    /* integers beyond 2^53 compare exactly */
    JC_ON("big == 9007199254740993", 1),
    JC_ON("big != 9007199254740992", 1),
    JC_ON("big > 9007199254740992", 1),
    /* type mismatches: unequal, and ordering is an error */
    JC_ON("version == \"2\"", 0),
    JC_ON("version != \"2\"", 1),
    JC_ON("status == 1", 0),
    JC_ON("status > 1", NINES_EINVAL),
    JC_ON("checks.db.ok >= 1", NINES_EINVAL),
    JC_ON("nothing < 1", NINES_EINVAL),
    JC_ON("checks == true", 0),
    JC_ON("items == null", 0),
    JC_ON("items.0 != \"a\"", 1),
    /* a digit segment is a key on an object */
    JC_ON("0 == \"zero-key\"", 1),
    JC_ON("empty == \"\"", 1),
    JC_ON("empty != \"x\"", 1),
    JC_ON("unicode == \"caf\xc3\xa9\"", 1),
    JC_ON("unicode == \"caf\\u00e9\"", 1),
    JC_ON("unicode == \"cafe\"", 0),
    /* other roots */
    { "[10, 20, 30]", "1 == 20", 1 },
    { "[10, 20, 30]", "3 == 40", NINES_ENOTFOUND },
    { "[[1, 2], [3, [4, 5]]]", "1.1.0 >= 4", 1 },
    { "5", "x == 5", NINES_ENOTFOUND },
    { "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":\"deep\"}}}}}", "a.b.c.d.e == \"deep\"", 1 },
    { "{\"a.b\":1}", "a.b == 1", NINES_ENOTFOUND },
};

ParameterizedTestParameters(jsoncond, eval)
{
    return cr_make_param_array(struct jc_eval_case, jc_eval_cases,
                               sizeof(jc_eval_cases) / sizeof(jc_eval_cases[0]));
}

ParameterizedTest(struct jc_eval_case *t, jsoncond, eval)
{
    struct nines_json_cond c;
    json_error_t jerr;
    char err[128] = "";
    json_t *doc = json_loads(t->doc, JSON_DECODE_ANY, &jerr);

    cr_assert(not(eq(ptr, doc, NULL)), "test document: %s", jerr.text);
    cr_assert(eq(int, nines_json_cond_parse(t->cond, &c, err, sizeof(err)), 0), "'%s': %s",
              t->cond, err);
    cr_expect(eq(int, nines_json_cond_eval(&c, doc), t->want), "'%s'", t->cond);
    json_decref(doc);
}

Test(jsoncond, lookup_borrows_from_the_document)
{
    struct nines_json_cond c;
    json_t *doc = json_loads(JC_DOC, 0, NULL);
    const json_t *v;
    json_t *item;

    cr_assert(not(eq(ptr, doc, NULL)));
    cr_assert(eq(int, nines_json_cond_parse("items.1.name == \"x\"", &c, NULL, 0), 0));
    v = nines_json_cond_lookup(&c, doc);
    cr_assert(v != NULL);
    item = json_array_get(json_object_get(doc, "items"), 1);
    cr_expect(v == json_object_get(item, "name"), "not a copy");
    cr_expect(eq(str, (char *)json_string_value(v), "b"));
    cr_expect(eq(int, nines_json_cond_eval(&c, doc), 0));
    cr_expect(eq(int, nines_json_cond_eval(&c, NULL), NINES_ENOTFOUND), "no document");
    json_decref(doc);
}

/* A parsed condition is a plain value: a copy works after the original is gone. */
Test(jsoncond, parsed_condition_is_copyable)
{
    struct nines_json_cond *a = malloc(sizeof(*a));
    struct nines_json_cond b;
    json_t *doc = json_loads("{\"s\":\"UP\"}", 0, NULL);

    cr_assert(a != NULL && doc != NULL);
    cr_assert(eq(int, nines_json_cond_parse("s == \"UP\"", a, NULL, 0), 0));
    b = *a;
    memset(a, 0xff, sizeof(*a));
    free(a);
    cr_expect(eq(int, nines_json_cond_eval(&b, doc), 1));
    json_decref(doc);
}
