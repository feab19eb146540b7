/* The pages' text buffer and escaping; see webbuf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webbuf.h"

void webbuf_init(struct webbuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max > 0 ? max : WEBBUF_MAX;
}

void webbuf_close(struct webbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

/* Room for n more bytes plus the NUL; 0, or -1 with the buffer failed. */
static int webbuf_reserve(struct webbuf *b, size_t n)
{
    size_t want, cap;
    char *s;

    if (b->failed)
        return -1;
    if (n >= b->max || b->len + n + 1 > b->max) {
        b->failed = 1;
        return -1;
    }
    want = b->len + n + 1;
    if (want <= b->cap)
        return 0;
    cap = b->cap > 0 ? b->cap : 4096;
    while (cap < want)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    s = realloc(b->s, cap);
    if (s == NULL) {
        b->failed = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

static void webbuf_add(struct webbuf *b, const char *s, size_t n)
{
    if (webbuf_reserve(b, n) != 0)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void webbuf_put(struct webbuf *b, const char *s)
{
    webbuf_add(b, s, strlen(s));
}

void webbuf_printf(struct webbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || webbuf_reserve(b, (size_t)n) != 0) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
static size_t webbuf_utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

void webbuf_esc(struct webbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");

    while (*p != '\0' && !b->failed) {
        size_t n = webbuf_utf8_len(p);

        if (n == 0) {
            webbuf_put(b, "\xef\xbf\xbd");     /* U+FFFD */
            p++;
            continue;
        }
        switch (*p) {
        case '&': webbuf_put(b, "&amp;"); break;
        case '<': webbuf_put(b, "&lt;"); break;
        case '>': webbuf_put(b, "&gt;"); break;
        case '"': webbuf_put(b, "&quot;"); break;
        case '\'': webbuf_put(b, "&#39;"); break;
        default:
            if (*p >= 0x20 || *p == '\n' || *p == '\t')
                webbuf_add(b, (const char *)p, n);
            break;
        }
        p += n;
    }
}
