/*
 * json_condition: "path OP literal", parsed once at load time into a plain
 * struct, evaluated on each response body with jansson.
 *
 * The literal is parsed by jansson itself (JSON_DECODE_ANY), so escapes and
 * number syntax are exactly JSON's.
 */
#include <stdio.h>
#include <string.h>

#include "jsoncond.h"
#include "nines/err.h"

static const char *const jc_op_names[] = { "==", "!=", "<", "<=", ">", ">=" };

const char *nines_json_op_name(enum nines_json_op op)
{
    if ((unsigned)op >= sizeof(jc_op_names) / sizeof(jc_op_names[0]))
        return "?";
    return jc_op_names[op];
}

static int jc_fail(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return NINES_EINVAL;
}

static int jc_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* A byte that may be part of a path segment. */
static int jc_path_char(char ch)
{
    unsigned char u = (unsigned char)ch;

    return u > ' ' && u != 0x7f && strchr("=!<>\".", ch) == NULL;
}

/* Splits the path s[0..len) at '.' into NUL-ended segments in out->text. */
static int jc_parse_path(const char *s, size_t len, struct nines_json_cond *out, size_t *used,
                         char *err, size_t errlen)
{
    size_t i = 0;

    if (len == 0)
        return jc_fail(err, errlen, "expected a path such as status or checks.db.ok");
    while (i <= len) {
        size_t n = 0;

        while (i + n < len && s[i + n] != '.')
            n++;
        if (n == 0)
            return jc_fail(err, errlen, "empty path segment (two dots, or a dot at an end)");
        if (out->nseg == NINES_JSON_PATH_DEPTH)
            return jc_fail(err, errlen, "the path has too many segments");
        out->seg[out->nseg++] = *used;
        memcpy(out->text + *used, s + i, n);
        out->text[*used + n] = '\0';
        *used += n + 1;
        i += n + 1;
    }
    return 0;
}

/* "==" etc. at *p; advances *p past it. */
static int jc_parse_op(const char **p, enum nines_json_op *op, char *err, size_t errlen)
{
    static const struct {
        const char *text;
        enum nines_json_op op;
    } ops[] = { { "==", NINES_JSON_EQ }, { "!=", NINES_JSON_NE }, { "<=", NINES_JSON_LE },
                { ">=", NINES_JSON_GE }, { "<", NINES_JSON_LT }, { ">", NINES_JSON_GT } };

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].text);

        if (strncmp(*p, ops[i].text, n) == 0) {
            *op = ops[i].op;
            *p += n;
            return 0;
        }
    }
    if (**p == '=')
        return jc_fail(err, errlen, "use == to compare, not =");
    return jc_fail(err, errlen, "expected an operator (== != < <= > >=) after the path");
}

/* The literal s[0..len) into out (text from offset used on). */
static int jc_parse_literal(const char *s, size_t len, struct nines_json_cond *out,
                            size_t used, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v;

    if (len == 0)
        return jc_fail(err, errlen, "expected a value after the operator");
    v = json_loadb(s, len, JSON_DECODE_ANY, &jerr);
    if (v == NULL || json_is_object(v) || json_is_array(v)) {
        json_decref(v);
        return jc_fail(err, errlen, "the value must be a JSON scalar: \"string\", number, "
                       "true, false or null");
    }
    if (json_is_string(v)) {
        /* jansson refuses \u0000 without JSON_ALLOW_NUL; the decoded string is
         * shorter than its literal, so it fits after the path segments */
        out->lit = NINES_JSON_LIT_STRING;
        out->str = used;
        out->str_len = json_string_length(v);
        memcpy(out->text + used, json_string_value(v), out->str_len + 1);
    } else if (json_is_integer(v)) {
        out->lit = NINES_JSON_LIT_NUMBER;
        out->is_int = 1;
        out->ival = (int64_t)json_integer_value(v);
        out->dval = (double)out->ival;
    } else if (json_is_real(v)) {
        out->lit = NINES_JSON_LIT_NUMBER;
        out->dval = json_real_value(v);
    } else {
        out->lit = json_is_true(v) ? NINES_JSON_LIT_TRUE
                   : json_is_false(v) ? NINES_JSON_LIT_FALSE : NINES_JSON_LIT_NULL;
    }
    json_decref(v);
    return 0;
}

static int jc_parse(const char *s, struct nines_json_cond *out, char *err, size_t errlen)
{
    const char *p, *path, *lit;
    size_t used = 0, lit_len;
    int rc;

    if (s == NULL || strlen(s) >= NINES_JSON_COND_MAX)
        return jc_fail(err, errlen, "the condition is empty or too long");
    for (p = s; jc_space(*p); p++)
        ;
    for (path = p; jc_path_char(*p) || *p == '.'; p++)
        ;
    if (*p == '"')
        return jc_fail(err, errlen, "the path is written without quotes: status, not "
                       "\"status\"");
    if (*p != '\0' && !jc_space(*p) && strchr("=!<>", *p) == NULL)
        return jc_fail(err, errlen, "a path must not contain control characters");
    rc = jc_parse_path(path, (size_t)(p - path), out, &used, err, errlen);
    if (rc < 0)
        return rc;
    while (jc_space(*p))
        p++;
    rc = jc_parse_op(&p, &out->op, err, errlen);
    if (rc < 0)
        return rc;
    for (lit = p; jc_space(*lit); lit++)
        ;
    for (lit_len = strlen(lit); lit_len > 0 && jc_space(lit[lit_len - 1]); lit_len--)
        ;
    rc = jc_parse_literal(lit, lit_len, out, used, err, errlen);
    if (rc == 0 && out->op != NINES_JSON_EQ && out->op != NINES_JSON_NE
        && out->lit != NINES_JSON_LIT_NUMBER)
        rc = jc_fail(err, errlen, "< <= > >= compare numbers: the value must be a number");
    return rc;
}

/* On failure *out is left zeroed: no half-parsed condition escapes. */
int nines_json_cond_parse(const char *s, struct nines_json_cond *out, char *err, size_t errlen)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = jc_parse(s, out, err, errlen);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* An array index: decimal digits only, no sign, no overflow. */
static int jc_index(const char *s, size_t *out)
{
    size_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
            return -1;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return 0;
}

const json_t *nines_json_cond_lookup(const struct nines_json_cond *c, const json_t *doc)
{
    const json_t *v = doc;

    for (size_t i = 0; i < c->nseg && v != NULL; i++) {
        const char *seg = c->text + c->seg[i];
        size_t idx;

        if (json_is_object(v))
            v = json_object_get(v, seg);
        else if (json_is_array(v) && jc_index(seg, &idx) == 0)
            v = json_array_get(v, idx);
        else
            v = NULL;
    }
    return v;
}

/* -1, 0 or 1 as the number v is below, equal to or above the literal. */
static int jc_num_cmp(const struct nines_json_cond *c, const json_t *v)
{
    double d;

    if (json_is_integer(v) && c->is_int) {
        json_int_t i = json_integer_value(v);

        return i < c->ival ? -1 : i > c->ival;
    }
    d = json_number_value(v);
    return d < c->dval ? -1 : d > c->dval;
}

static int jc_lit_equal(const struct nines_json_cond *c, const json_t *v)
{
    switch (c->lit) {
    case NINES_JSON_LIT_STRING:
        return json_is_string(v) && json_string_length(v) == c->str_len
               && memcmp(json_string_value(v), c->text + c->str, c->str_len) == 0;
    case NINES_JSON_LIT_NUMBER:
        return json_is_number(v) && jc_num_cmp(c, v) == 0;
    case NINES_JSON_LIT_TRUE:
        return json_is_true(v);
    case NINES_JSON_LIT_FALSE:
        return json_is_false(v);
    case NINES_JSON_LIT_NULL:
        return json_is_null(v);
    }
    return 0;
}

int nines_json_cond_eval(const struct nines_json_cond *c, const json_t *doc)
{
    const json_t *v = nines_json_cond_lookup(c, doc);
    int cmp;

    if (v == NULL)
        return NINES_ENOTFOUND;
    switch (c->op) {
    case NINES_JSON_EQ:
        return jc_lit_equal(c, v);
    case NINES_JSON_NE:
        return !jc_lit_equal(c, v);
    default:
        break;
    }
    if (!json_is_number(v) || c->lit != NINES_JSON_LIT_NUMBER)
        return NINES_EINVAL;
    cmp = jc_num_cmp(c, v);
    switch (c->op) {
    case NINES_JSON_LT:
        return cmp < 0;
    case NINES_JSON_LE:
        return cmp <= 0;
    case NINES_JSON_GT:
        return cmp > 0;
    default:
        return cmp >= 0;
    }
}
