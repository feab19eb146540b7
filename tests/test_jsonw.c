/*
 * The JSON writer: every value compared byte for byte with what jansson's
 * json_dumps(JSON_COMPACT) makes of the same value, then the cases jansson
 * refuses (bad UTF-8, NaN), truncation into a fixed buffer, rewinding, and a
 * growing buffer.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

/* jansson's text for v (taken), which must not be NULL. */
static char *jansson_text(json_t *v)
{
    char *text;

    cr_assert(v != NULL, "jansson built the value");
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    cr_assert(text != NULL);
    return text;
}

static void expect_same(const struct jsonw *w, json_t *v, const char *what)
{
    char *want = jansson_text(v);

    cr_assert(eq(int, w->full, 0), "%s: fits", what);
    cr_assert(eq(str, w->buf, want), "%s", what);
    cr_assert(eq(sz, w->len, strlen(want)), "%s: length", what);
    free(want);
}

/* Strings: every byte below 0x80, quotes, backslash, slash, multi-byte UTF-8. */
static const char *const strings[] = {
    "",
    "plain",
    "quote \" and backslash \\ and slash /",
    "\b\f\n\r\t",
    "\x01\x02\x1f\x7f end",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf",
    "<script>alert('x')</script>&amp;",
    "\xe2\x80\xa8 line separator",
};

Test(jsonw, strings_match_jansson)
{
    char buf[1024];
    struct jsonw w;
    char all[128];

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        jsonw_init(&w, buf, sizeof(buf));
        jsonw_str(&w, strings[i]);
        expect_same(&w, json_string(strings[i]), strings[i]);
    }
    /* every byte from 1 to 127 in one string */
    for (int c = 1; c < 128; c++)
        all[c - 1] = (char)c;
    all[127] = '\0';
    jsonw_init(&w, buf, sizeof(buf));
    jsonw_str(&w, all);
    expect_same(&w, json_string(all), "bytes 1..127");
    /* a NUL inside a counted string */
    jsonw_init(&w, buf, sizeof(buf));
    jsonw_strn(&w, "a\0b", 3);
    expect_same(&w, json_stringn("a\0b", 3), "embedded NUL");
}

Test(jsonw, integers_match_jansson)
{
    static const int64_t v[] = { 0, 1, -1, 9, 10, -10, 123456789, 1790000000000,
                                 INT64_MAX, INT64_MIN, INT64_MIN + 1, INT32_MAX, INT32_MIN };
    char buf[64];
    struct jsonw w;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        jsonw_init(&w, buf, sizeof(buf));
        jsonw_int(&w, v[i]);
        expect_same(&w, json_integer(v[i]), "integer");
    }
}

Test(jsonw, reals_match_jansson)
{
    static const double v[] = { 0.0, -0.0, 0.1, 1.0, -1.0, 1.5, 100.0, 1e16, 1e17, 1e300,
                                1e-300, 1e-5, 1.25e-7, 123456789.125, 3.141592653589793,
                                DBL_MAX, DBL_MIN, 5e-324, -2.5e22, 0.3, 2.0 / 3.0, 1e21 };
    char buf[64];
    struct jsonw w;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char what[64];

        snprintf(what, sizeof(what), "real %.17g", v[i]);
        jsonw_init(&w, buf, sizeof(buf));
        jsonw_real(&w, v[i]);
        expect_same(&w, json_real(v[i]), what);
    }
}

/* A document with every kind of value, nested, against the same built in jansson. */
Test(jsonw, nested_document_matches_jansson)
{
    char buf[512];
    struct jsonw w;
    json_t *doc;

    jsonw_init(&w, buf, sizeof(buf));
    jsonw_obj_open(&w);
    jsonw_key(&w, "answers");
    jsonw_arr_open(&w);
    for (int i = 0; i < 3; i++) {
        jsonw_obj_open(&w);
        jsonw_key(&w, "type");
        jsonw_str(&w, "A");
        jsonw_key(&w, "ttl");
        jsonw_int(&w, i * 300);
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_key(&w, "empty_obj");
    jsonw_obj_open(&w);
    jsonw_obj_close(&w);
    jsonw_key(&w, "empty_arr");
    jsonw_arr_open(&w);
    jsonw_arr_close(&w);
    jsonw_key(&w, "mixed");
    jsonw_arr_open(&w);
    jsonw_bool(&w, 1);
    jsonw_bool(&w, 0);
    jsonw_null(&w);
    jsonw_real(&w, 0.5);
    jsonw_arr_open(&w);
    jsonw_arr_close(&w);
    jsonw_int(&w, -7);
    jsonw_arr_close(&w);
    jsonw_key(&w, "key \"quoted\"\n");
    jsonw_raw(&w, "{\"pre\":1}", 9);
    jsonw_obj_close(&w);

    doc = json_pack("{s:[{s:s,s:i},{s:s,s:i},{s:s,s:i}],s:{},s:[],s:[b,b,n,f,[],i],s:{s:i}}",
                    "answers", "type", "A", "ttl", 0, "type", "A", "ttl", 300, "type", "A",
                    "ttl", 600, "empty_obj", "empty_arr", "mixed", 1, 0, 0.5, -7,
                    "key \"quoted\"\n", "pre", 1);
    expect_same(&w, doc, "nested document");
}

/* What jansson refuses: bytes that are not UTF-8 become U+FFFD, each one. */
Test(jsonw, bad_utf8_is_replaced_byte_by_byte)
{
    static const struct {
        char in[16];
        char out[48];
    } cases[] = {
        { "a\xff" "b", "\"a\xef\xbf\xbd" "b\"" },
        { "\xc3", "\"\xef\xbf\xbd\"" },                          /* cut sequence */
        { "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },           /* overlong '/' */
        { "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },   /* surrogate */
        { "\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
        { "\xe2\x82" "x", "\"\xef\xbf\xbd\xef\xbf\xbd" "x\"" },
    };
    char buf[64];
    struct jsonw w;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert(json_string(cases[i].in) == NULL, "case %zu: jansson refuses it", i);
        jsonw_init(&w, buf, sizeof(buf));
        jsonw_str(&w, cases[i].in);
        cr_assert(eq(str, buf, (char *)cases[i].out), "case %zu", i);
    }
}

Test(jsonw, non_finite_reals_are_null)
{
    char buf[64];
    struct jsonw w;

    jsonw_init(&w, buf, sizeof(buf));
    jsonw_arr_open(&w);
    jsonw_real(&w, NAN);
    jsonw_real(&w, INFINITY);
    jsonw_real(&w, -INFINITY);
    jsonw_arr_close(&w);
    cr_assert(eq(str, buf, "[null,null,null]"));
}

/* Each capacity from 1 up: either the whole text fits, or `full` is set and
 * the buffer holds a NUL-terminated prefix ending at a whole write. */
Test(jsonw, truncation_is_detected_at_every_size)
{
    static const char want[] = "{\"name\":\"caf\xc3\xa9\\n\",\"n\":-12,\"ok\":true}";
    char buf[64];

    for (size_t cap = 1; cap <= sizeof(want) + 4; cap++) {
        struct jsonw w;

        memset(buf, 'X', sizeof(buf));
        jsonw_init(&w, buf, cap);
        jsonw_obj_open(&w);
        jsonw_key(&w, "name");
        jsonw_str(&w, "caf\xc3\xa9\n");
        jsonw_key(&w, "n");
        jsonw_int(&w, -12);
        jsonw_key(&w, "ok");
        jsonw_bool(&w, 1);
        jsonw_obj_close(&w);
        if (cap >= sizeof(want)) {
            cr_assert(eq(int, w.full, 0), "cap %zu", cap);
            cr_assert(eq(str, buf, (char *)want), "cap %zu", cap);
        } else {
            cr_assert(w.full, "cap %zu: too small, and said so", cap);
            cr_assert(lt(sz, strlen(buf), cap), "cap %zu: NUL inside the buffer", cap);
            cr_assert(eq(sz, strlen(buf), w.len), "cap %zu", cap);
            cr_assert(eq(int, strncmp(buf, want, w.len), 0), "cap %zu: a prefix", cap);
            cr_assert(eq(chr, buf[cap], 'X'), "cap %zu: nothing past the buffer", cap);
        }
    }
}

Test(jsonw, zero_capacity_writes_nothing)
{
    char buf[4] = "XYZ";
    struct jsonw w;

    jsonw_init(&w, buf, 0);
    jsonw_int(&w, 1);
    cr_assert(w.full);
    cr_assert(eq(str, buf, "XYZ"));
}

/* Rewinding drops what came after the mark, the comma state included. */
Test(jsonw, rewind_drops_later_members)
{
    char buf[24];
    struct jsonw w;
    struct jsonw_mark m;

    jsonw_init(&w, buf, sizeof(buf));
    jsonw_arr_open(&w);
    jsonw_int(&w, 1);
    m = jsonw_mark(&w);
    jsonw_str(&w, "a string too long to fit here");
    cr_assert(w.full);
    jsonw_rewind(&w, m);
    cr_assert(eq(int, w.full, 0));
    jsonw_int(&w, 2);
    jsonw_arr_close(&w);
    cr_assert(eq(str, buf, "[1,2]"));
}

Test(jsonw, growing_buffer_takes_any_length)
{
    struct jsonw w;
    json_t *arr = json_array();
    char *got, *want;

    cr_assert(eq(int, jsonw_init_grow(&w, 0), 0));
    jsonw_arr_open(&w);
    for (int i = 0; i < 2000; i++) {
        jsonw_str(&w, "x\"y\x01");
        jsonw_int(&w, i);
        json_array_append_new(arr, json_string("x\"y\x01"));
        json_array_append_new(arr, json_integer(i));
    }
    jsonw_arr_close(&w);
    got = jsonw_take(&w);
    want = jansson_text(arr);
    cr_assert(got != NULL);
    cr_assert(eq(str, got, want));
    cr_assert(jsonw_take(&w) == NULL, "taken once");
    free(got);
    free(want);
    jsonw_free(&w);
}

/* The caller keeps the buffer between documents: from none, then grown. */
Test(jsonw, reused_buffer_grows_and_is_handed_back)
{
    struct jsonw w;
    char *buf = NULL;
    size_t cap = 0;

    for (int round = 0; round < 3; round++) {
        json_t *arr = json_array();
        char *want;

        jsonw_init_reuse(&w, buf, cap);
        jsonw_arr_open(&w);
        for (int i = 0; i < 500 * (round + 1); i++) {
            jsonw_int(&w, i);
            json_array_append_new(arr, json_integer(i));
        }
        jsonw_arr_close(&w);
        cr_assert(eq(int, w.full, 0));
        buf = w.buf;
        cap = w.cap;
        want = jansson_text(arr);
        cr_assert(eq(sz, w.len, strlen(want)));
        cr_assert(eq(str, buf, want));
        cr_assert(gt(sz, cap, w.len));
        free(want);
    }
    free(buf);
}
