/* RESP2 encoding of commands and decoding of single replies, in fixed buffers. */
#include <stdio.h>
#include <string.h>

#include "nines/err.h"
#include "resp.h"

#define RESP_LINE_MAX (RESP_STR_MAX + 2) /* type byte, text, CR; LF found after */

int resp_format(char *out, size_t cap, int argc, const char *const *argv)
{
    size_t o;
    int n;

    if (argc < 1 || argc > RESP_ARGS_MAX)
        return NINES_EINVAL;
    n = snprintf(out, cap, "*%d\r\n", argc);
    if (n < 0 || (size_t)n >= cap)
        return NINES_EINVAL;
    o = (size_t)n;
    for (int i = 0; i < argc; i++) {
        size_t alen = strlen(argv[i]);

        n = snprintf(out + o, cap - o, "$%zu\r\n", alen);
        if (n < 0 || (size_t)n >= cap - o || alen + 2 >= cap - o - (size_t)n)
            return NINES_EINVAL;
        o += (size_t)n;
        memcpy(out + o, argv[i], alen);
        memcpy(out + o + alen, "\r\n", 2);
        o += alen + 2;
    }
    out[o] = '\0';
    return (int)o;
}

/* The length of the line at buf (up to CR LF): -1 incomplete, -2 malformed or too long. */
static long resp_line(const char *buf, size_t len)
{
    size_t lim = len < RESP_LINE_MAX ? len : RESP_LINE_MAX;

    for (size_t i = 0; i < lim; i++) {
        if (buf[i] == '\r') {
            if (i + 1 == len)
                return -1;
            return buf[i + 1] == '\n' ? (long)i : -2;
        }
        if (buf[i] == '\n')
            return -2;
    }
    return len >= RESP_LINE_MAX ? -2 : -1;
}

/* A decimal integer filling buf[0..n) (an optional minus). 0 or -1. */
static int resp_int(const char *buf, size_t n, int64_t *v)
{
    int neg = n > 0 && buf[0] == '-';
    size_t i = (size_t)neg;
    int64_t x = 0;

    if (i == n || n - i > 18)
        return -1;
    for (; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        x = x * 10 + (buf[i] - '0');
    }
    *v = neg ? -x : x;
    return 0;
}

static int resp_fail(const char **why, const char *text)
{
    if (why)
        *why = text;
    return NINES_EPROTO;
}

/* $N CR LF data CR LF, the header line being n bytes long. */
static int resp_bulk(const char *buf, size_t len, size_t n, struct resp_reply *r,
                     const char **why)
{
    int64_t blen;
    size_t need;

    if (resp_int(buf + 1, n - 1, &blen) < 0 || blen < -1)
        return resp_fail(why, "bad bulk length");
    if (blen == -1) {
        r->type = RESP_NIL;
        return (int)(n + 2);
    }
    if (blen > RESP_STR_MAX)
        return resp_fail(why, "value longer than the canary accepts");
    need = n + 2 + (size_t)blen + 2;
    if (len < need)
        return 0;
    if (buf[need - 2] != '\r' || buf[need - 1] != '\n')
        return resp_fail(why, "bulk string not ended by CRLF");
    r->type = RESP_BULK;
    r->len = (size_t)blen;
    memcpy(r->str, buf + n + 2, r->len);
    r->str[r->len] = '\0';
    return (int)need;
}

int resp_parse(const char *buf, size_t len, struct resp_reply *r, const char **why)
{
    long n;

    memset(r, 0, sizeof(*r));
    if (len == 0)
        return 0;
    n = resp_line(buf, len);
    if (n == -1)
        return 0;
    if (n < 1)
        return resp_fail(why, n == -2 ? "reply line malformed or too long" : "empty line");
    switch (buf[0]) {
    case '+':
    case '-':
        r->type = buf[0] == '+' ? RESP_STATUS : RESP_ERROR;
        r->len = (size_t)n - 1;
        memcpy(r->str, buf + 1, r->len);
        r->str[r->len] = '\0';
        return (int)n + 2;
    case ':':
        if (resp_int(buf + 1, (size_t)n - 1, &r->integer) < 0)
            return resp_fail(why, "bad integer reply");
        r->type = RESP_INT;
        return (int)n + 2;
    case '$':
        return resp_bulk(buf, len, (size_t)n, r, why);
    case '*':
        return resp_fail(why, "unexpected array reply");
    default:
        return resp_fail(why, "unknown reply type");
    }
}
