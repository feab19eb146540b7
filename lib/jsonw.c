/* Append-only JSON writer, jansson-compatible output; see jsonw.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "nines/err.h"

void jsonw_init(struct jsonw *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    if (cap > 0)
        buf[0] = '\0';
    else
        w->full = 1;
}

int jsonw_init_grow(struct jsonw *w, size_t initial)
{
    memset(w, 0, sizeof(*w));
    w->cap = initial > 16 ? initial : 16;
    w->buf = malloc(w->cap);
    if (w->buf == NULL) {
        w->full = 1;
        return NINES_ENOMEM;
    }
    w->buf[0] = '\0';
    w->grow = 1;
    return 0;
}

void jsonw_init_reuse(struct jsonw *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->grow = 1;
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
    if (w->cap == 0) {
        free(buf);
        w->buf = malloc(w->cap = 2048);
        if (w->buf == NULL) {
            w->cap = 0;
            w->full = 1;
            return;
        }
    }
    w->buf[0] = '\0';
}

char *jsonw_take(struct jsonw *w)
{
    char *p = w->buf;

    if (!w->grow)
        return NULL;
    w->buf = NULL;
    w->cap = w->len = 0;
    if (w->full) {
        free(p);
        return NULL;
    }
    return p;
}

void jsonw_free(struct jsonw *w)
{
    if (w->grow) {
        free(w->buf);
        w->buf = NULL;
        w->cap = w->len = 0;
    }
}

/* jsonw_room when the buffer is full or too small: grows it if it may. */
static int jsonw_room_slow(struct jsonw *w, size_t n)
{
    size_t cap;
    char *p;

    if (w->full)
        return -1;
    if (n < w->cap - w->len)
        return 0;
    if (!w->grow || n > SIZE_MAX / 4 - w->len) {
        w->full = 1;
        return -1;
    }
    cap = w->cap * 2;
    while (cap <= w->len + n)
        cap *= 2;
    p = realloc(w->buf, cap);
    if (p == NULL) {
        w->full = 1;
        return -1;
    }
    w->buf = p;
    w->cap = cap;
    return 0;
}

/* Room for n more bytes and the NUL: 0, or -1 (and w->full). */
static inline int jsonw_room(struct jsonw *w, size_t n)
{
    if (!w->full && n < w->cap - w->len)
        return 0;
    return jsonw_room_slow(w, n);
}

static inline int jsonw_put(struct jsonw *w, const char *s, size_t n)
{
    if (jsonw_room(w, n) != 0)
        return -1;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return 0;
}

/* Undoes a write that did not fit: the text ends where it began. */
static void jsonw_undo(struct jsonw *w, size_t start, int comma)
{
    w->len = start;
    w->comma = comma;
    if (w->cap > 0 && w->buf != NULL)
        w->buf[start] = '\0';
}

/* The ',' a key or value needs after an earlier one at the same level. */
static int jsonw_sep(struct jsonw *w)
{
    if (!w->comma)
        return 0;
    return jsonw_put(w, ",", 1);
}

/* A value's one-piece text, with its separator; the text ends a value. */
static void jsonw_value(struct jsonw *w, const char *s, size_t n)
{
    size_t start = w->len;
    int comma = w->comma;

    if (jsonw_sep(w) != 0 || jsonw_put(w, s, n) != 0) {
        jsonw_undo(w, start, comma);
        return;
    }
    w->buf[w->len] = '\0';
    w->comma = 1;
}

void jsonw_obj_open(struct jsonw *w)
{
    jsonw_value(w, "{", 1);
    if (!w->full)
        w->comma = 0;
}

void jsonw_arr_open(struct jsonw *w)
{
    jsonw_value(w, "[", 1);
    if (!w->full)
        w->comma = 0;
}

static void jsonw_close(struct jsonw *w, char c)
{
    size_t start = w->len;
    int comma = w->comma;

    if (jsonw_put(w, &c, 1) != 0) {
        jsonw_undo(w, start, comma);
        return;
    }
    w->buf[w->len] = '\0';
    w->comma = 1;
}

void jsonw_obj_close(struct jsonw *w)
{
    jsonw_close(w, '}');
}

void jsonw_arr_close(struct jsonw *w)
{
    jsonw_close(w, ']');
}

/*
 * Per byte: 0 copied as is, 1 escaped, 2 the start (or not) of a UTF-8
 * sequence to check.
 */
static const unsigned char jsonw_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

size_t jsonw_utf8_len(const unsigned char *s, size_t left)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (n > left)
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;          /* overlong */
    else if (s[0] == 0xed)
        hi = 0x9f;          /* surrogates */
    else if (s[0] == 0xf0)
        lo = 0x90;          /* overlong */
    else if (s[0] == 0xf4)
        hi = 0x8f;          /* above U+10FFFF */
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* The escape of one byte of class 1, into o (2 or 6 bytes); its length. */
static size_t jsonw_escape(unsigned char c, char *o)
{
    static const char hex[] = "0123456789ABCDEF";

    o[0] = '\\';
    switch (c) {
    case '"': o[1] = '"'; return 2;
    case '\\': o[1] = '\\'; return 2;
    case '\b': o[1] = 'b'; return 2;
    case '\f': o[1] = 'f'; return 2;
    case '\n': o[1] = 'n'; return 2;
    case '\r': o[1] = 'r'; return 2;
    case '\t': o[1] = 't'; return 2;
    default:
        memcpy(o + 1, "u00", 3);
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        return 6;
    }
}

/*
 * The quoted string when the room for its longest escaping (6 bytes a byte)
 * is there already: no check per piece.
 */
static void jsonw_quoted_roomy(struct jsonw *w, const unsigned char *s, size_t left)
{
    char *o = w->buf + w->len;

    *o++ = '"';
    while (left > 0) {
        size_t n;

        if (jsonw_class[*s] == 0) {
            *o++ = (char)*s++;
            left--;
        } else if (jsonw_class[*s] == 1) {
            o += jsonw_escape(*s++, o);
            left--;
        } else if ((n = jsonw_utf8_len(s, left)) > 0) {
            memcpy(o, s, n);
            o += n;
            s += n;
            left -= n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);   /* U+FFFD for the bad byte */
            o += 3;
            s++;
            left--;
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

/* The quoted string, without separator; 0 or -1. */
static int jsonw_quoted(struct jsonw *w, const char *str, size_t left)
{
    const unsigned char *s = (const unsigned char *)str;

    if (!w->full && left + 1 < (w->cap - w->len) / 6) {
        jsonw_quoted_roomy(w, s, left);
        return 0;
    }
    if (jsonw_put(w, "\"", 1) != 0)
        return -1;
    while (left > 0) {
        size_t run = 0, n;
        char esc[6];

        while (run < left && jsonw_class[s[run]] == 0)
            run++;
        if (run > 0) {
            if (jsonw_put(w, (const char *)s, run) != 0)
                return -1;
            s += run;
            left -= run;
            continue;
        }
        if (jsonw_class[*s] == 1) {
            n = jsonw_escape(*s, esc);
            if (jsonw_put(w, esc, n) != 0)
                return -1;
            s++;
            left--;
        } else if ((n = jsonw_utf8_len(s, left)) > 0) {
            if (jsonw_put(w, (const char *)s, n) != 0)
                return -1;
            s += n;
            left -= n;
        } else {
            if (jsonw_put(w, "\xef\xbf\xbd", 3) != 0)  /* U+FFFD for the bad byte */
                return -1;
            s++;
            left--;
        }
    }
    return jsonw_put(w, "\"", 1);
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    size_t start = w->len;
    int comma = w->comma;

    if (jsonw_sep(w) != 0 || jsonw_quoted(w, s, n) != 0) {
        jsonw_undo(w, start, comma);
        return;
    }
    w->buf[w->len] = '\0';
    w->comma = 1;
}

void jsonw_str(struct jsonw *w, const char *s)
{
    jsonw_strn(w, s, strlen(s));
}

void jsonw_key(struct jsonw *w, const char *key)
{
    size_t start = w->len;
    int comma = w->comma;

    if (jsonw_sep(w) != 0 || jsonw_quoted(w, key, strlen(key)) != 0 ||
        jsonw_put(w, ":", 1) != 0) {
        jsonw_undo(w, start, comma);
        return;
    }
    w->buf[w->len] = '\0';
    w->comma = 0;
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[sizeof(tmp) - 1 - n++] = '-';
    jsonw_value(w, tmp + sizeof(tmp) - n, n);
}

/*
 * As jansson's jsonp_dtostr at precision 17: "%.17g", then ".0" when there
 * is neither '.' nor 'e', then the exponent without '+' and leading zeros.
 * snprintf's decimal point follows LC_NUMERIC, which the daemons leave "C";
 * a ',' is put back to '.' as jansson does.
 */
void jsonw_real(struct jsonw *w, double v)
{
    char tmp[40];
    char *e, *from;
    int n;

    if (!isfinite(v)) {
        jsonw_null(w);
        return;
    }
    n = snprintf(tmp, sizeof(tmp) - 3, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof(tmp) - 3) {
        jsonw_null(w);  /* cannot happen: %.17g of a double is at most 24 bytes */
        return;
    }
    for (char *p = tmp; *p; p++)
        if (*p == ',')
            *p = '.';
    if (strchr(tmp, '.') == NULL && strchr(tmp, 'e') == NULL) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    e = strchr(tmp, 'e');
    if (e != NULL) {
        e++;
        if (*e == '-')
            e++;
        from = e;
        if (*from == '+')
            from++;
        while (*from == '0' && from[1] != '\0')
            from++;
        memmove(e, from, strlen(from) + 1);
        n = (int)strlen(tmp);
    }
    jsonw_value(w, tmp, (size_t)n);
}

void jsonw_bool(struct jsonw *w, int v)
{
    if (v)
        jsonw_value(w, "true", 4);
    else
        jsonw_value(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
    jsonw_value(w, "null", 4);
}

void jsonw_raw(struct jsonw *w, const char *text, size_t n)
{
    jsonw_value(w, text, n);
}

struct jsonw_mark jsonw_mark(const struct jsonw *w)
{
    struct jsonw_mark m = { w->len, w->comma };

    return m;
}

void jsonw_rewind(struct jsonw *w, struct jsonw_mark m)
{
    if (w->buf == NULL || m.len > w->len)
        return;
    w->full = 0;
    jsonw_undo(w, m.len, m.comma);
}
