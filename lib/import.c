/*
 * Import parser: a byte reader over a fixed input buffer, one record buffer of
 * NINES_IMPORT_LINE_MAX bytes, and per format a way to turn a record into one
 * text value per known field. Both formats then go through the same field
 * checks (import_build), so a CSV row and a JSON line give the same result
 * and the same messages. Nothing grows with the file: a JSON line's tree is
 * freed before the next line is read.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nines/import.h"

#define IMPORT_IN_BUF 65536
#define IMPORT_MAX_FIELDS 16             /* stored per CSV record; more are only counted */
#define IMPORT_LATENCY_MAX_MS 86400000LL /* one day */
#define IMPORT_CODE_MAX 999999999LL

enum import_field {
    IMPORT_F_CHECK = 0,
    IMPORT_F_LOCATION,
    IMPORT_F_TIMESTAMP,
    IMPORT_F_OK,
    IMPORT_F_LATENCY,
    IMPORT_F_REASON,
    IMPORT_F_PROBE,
    IMPORT_F_CODE,
    IMPORT_F_MESSAGE,
    IMPORT_F_COUNT,
};

static const char *const import_field_names[IMPORT_F_COUNT] = {
    "check", "location", "timestamp", "ok", "latency", "reason", "probe", "code", "message",
};

#define IMPORT_REQUIRED(f) ((f) <= IMPORT_F_OK)

/* One record's values: text per field (NULL = not given) and its CSV column. */
struct import_values {
    const char *text[IMPORT_F_COUNT];
    int column[IMPORT_F_COUNT];
    char num[IMPORT_F_COUNT][48]; /* JSON numbers and booleans as text */
};

struct nines_import {
    FILE *f;
    char name[256];
    enum nines_import_format format;
    int64_t now_ms;
    nines_import_known_fn *known;
    void *known_arg;

    unsigned char in[IMPORT_IN_BUF];
    size_t in_pos, in_len;
    int in_eof;
    int io_errno; /* non-zero once reading failed */

    int line;     /* physical line of the next byte, 1-based */
    int column;   /* its byte column, 1-based */
    int rec_line; /* where the current record starts */

    /* CSV: the header's field per column; the current record's fields. */
    int ncols;
    enum import_field col_field[IMPORT_F_COUNT];
    size_t nfields; /* counted, may exceed IMPORT_MAX_FIELDS */
    size_t field_off[IMPORT_MAX_FIELDS];
    int field_col[IMPORT_MAX_FIELDS];

    char rec[NINES_IMPORT_LINE_MAX + 2];
    size_t rec_len;
};

/* ---- errors ---- */

static int import_verr(struct nines_import *im, struct nines_err *err, int code, int line,
                       int column, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    err->line = line;
    err->column = column;
    snprintf(err->file, sizeof(err->file), "%s", im->name);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

/* NINES_EINVAL for the current record, at column (0 = unknown). */
__attribute__((format(printf, 4, 5))) static int
import_fail(struct nines_import *im, struct nines_err *err, int column, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = import_verr(im, err, NINES_EINVAL, im->rec_line, column, fmt, ap);
    va_end(ap);
    return rc;
}

static int import_io_fail(struct nines_import *im, struct nines_err *err)
{
    if (err != NULL) {
        err->code = NINES_EIO;
        err->line = im->line;
        err->column = 0;
        snprintf(err->file, sizeof(err->file), "%s", im->name);
        snprintf(err->msg, sizeof(err->msg), "read error: %s", strerror(im->io_errno));
    }
    return NINES_EIO;
}

/* A bad value, for a message: at most 40 bytes, quoted, non-printables as '?'. */
static const char *import_show(const char *s, char *buf, size_t len)
{
    size_t i, n = 0;

    buf[n++] = '\'';
    for (i = 0; s[i] != '\0' && n + 5 < len && i < 40; i++)
        buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] != '\0' && n + 5 < len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return buf;
}

/* ---- bytes in ---- */

static int import_fill(struct nines_import *im)
{
    if (im->in_eof)
        return 0;
    im->in_pos = 0;
    im->in_len = fread(im->in, 1, sizeof(im->in), im->f);
    if (im->in_len == 0) {
        int e = errno;

        im->in_eof = 1;
        if (ferror(im->f))
            im->io_errno = e != 0 ? e : EIO;
        return 0;
    }
    return 1;
}

static int import_peek(struct nines_import *im)
{
    if (im->in_pos == im->in_len && !import_fill(im))
        return EOF;
    return im->in[im->in_pos];
}

static int import_getc(struct nines_import *im)
{
    int c = import_peek(im);

    if (c == EOF)
        return EOF;
    im->in_pos++;
    if (c == '\n') {
        im->line++;
        im->column = 1;
    } else {
        im->column++;
    }
    return c;
}

/* Skips a UTF-8 byte-order mark, then blank space; returns the first other byte. */
static int import_skip_lead(struct nines_import *im)
{
    int c;

    if (import_peek(im) != EOF && im->in_len - im->in_pos >= 3
        && memcmp(im->in + im->in_pos, "\xEF\xBB\xBF", 3) == 0)
        im->in_pos += 3;
    while ((c = import_peek(im)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        import_getc(im);
    return c;
}

/* ---- JSON Lines ---- */

/*
 * One physical line into rec, without its LF or CRLF. 1, or 0 at end of input.
 * *too_long when it had more than NINES_IMPORT_LINE_MAX bytes (rec then holds
 * the start), *nul when it held a NUL byte.
 */
static int import_read_line(struct nines_import *im, int *too_long, int *nul)
{
    size_t n = 0;
    int c, any = 0;

    *too_long = *nul = 0;
    im->rec_line = im->line;
    while ((c = import_getc(im)) != EOF && c != '\n') {
        any = 1;
        if (n <= NINES_IMPORT_LINE_MAX)
            im->rec[n++] = (char)c;
        else
            *too_long = 1;
        *nul |= c == '\0';
    }
    if (!any && c == EOF)
        return 0;
    if (!*too_long && n > 0 && im->rec[n - 1] == '\r')
        n--;
    if (n > NINES_IMPORT_LINE_MAX)
        *too_long = 1;
    im->rec_len = *too_long ? 0 : n;
    im->rec[im->rec_len] = '\0';
    return 1;
}

static int import_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    }
    return 1;
}

static enum import_field import_field_of(const char *name)
{
    int i;

    for (i = 0; i < IMPORT_F_COUNT; i++) {
        if (strcmp(name, import_field_names[i]) == 0)
            return (enum import_field)i;
    }
    return IMPORT_F_COUNT;
}

/* One JSON member as text, after checking its type for the field. */
static int import_json_value(struct nines_import *im, enum import_field f, json_t *v,
                             struct import_values *val, struct nines_err *err)
{
    const char *name = import_field_names[f];

    if (json_is_null(v))
        return 0;
    if (json_is_string(v) && f != IMPORT_F_OK && f != IMPORT_F_LATENCY && f != IMPORT_F_CODE) {
        val->text[f] = json_string_value(v);
        return 0;
    }
    if (json_is_integer(v) && f >= IMPORT_F_TIMESTAMP && f <= IMPORT_F_LATENCY) {
        snprintf(val->num[f], sizeof(val->num[f]), "%lld", (long long)json_integer_value(v));
    } else if (json_is_integer(v) && f == IMPORT_F_CODE) {
        snprintf(val->num[f], sizeof(val->num[f]), "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v) && f == IMPORT_F_OK) {
        snprintf(val->num[f], sizeof(val->num[f]), "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_real(v) && f == IMPORT_F_LATENCY) {
        double ms = json_real_value(v);

        if (!(ms >= 0 && ms <= (double)IMPORT_LATENCY_MAX_MS))
            return import_fail(im, err, 0, "latency: not milliseconds from 0 to %lld",
                               IMPORT_LATENCY_MAX_MS);
        snprintf(val->num[f], sizeof(val->num[f]), "%.4f", ms);
    } else {
        static const char *const want[IMPORT_F_COUNT] = {
            "a string", "a string", "a string or an integer", "true, false, 1 or 0",
            "a number", "a string", "a string", "an integer", "a string",
        };
        return import_fail(im, err, 0, "%s: must be %s", name, want[f]);
    }
    val->text[f] = val->num[f];
    return 0;
}

/* The current line as an object; *obj is the caller's to json_decref. */
static int import_json_record(struct nines_import *im, struct import_values *val, json_t **obj,
                              struct nines_err *err)
{
    json_error_t jerr;
    const char *key;
    json_t *v;

    *obj = json_loadb(im->rec, im->rec_len, JSON_REJECT_DUPLICATES, &jerr);
    if (*obj == NULL)
        return import_fail(im, err, jerr.column > 0 ? jerr.column : 0, "not JSON: %s",
                           jerr.text);
    if (!json_is_object(*obj))
        return import_fail(im, err, 0, "not a JSON object");
    json_object_foreach(*obj, key, v) {
        enum import_field f = import_field_of(key);
        char shown[64];
        int rc;

        if (f == IMPORT_F_COUNT)
            return import_fail(im, err, 0, "unknown field %s", import_show(key, shown,
                                                                            sizeof(shown)));
        rc = import_json_value(im, f, v, val, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- CSV ---- */

enum csv_state { CSV_FIELD_START, CSV_UNQUOTED, CSV_QUOTED, CSV_QUOTE_SEEN, CSV_CR };

struct csv_scan {
    enum csv_state state;
    size_t raw;         /* bytes of the record so far */
    int quote_line;     /* where the open quoted field started */
    int err_column;     /* the first problem's column; 0 = none */
    char err_msg[128];
};

static void csv_problem(struct csv_scan *s, int column, const char *msg)
{
    if (s->err_column == 0) {
        s->err_column = column > 0 ? column : 1;
        snprintf(s->err_msg, sizeof(s->err_msg), "%s", msg);
    }
}

static void csv_end_field(struct nines_import *im)
{
    im->rec[im->rec_len++] = '\0';
    im->nfields++;
}

static void csv_start_field(struct nines_import *im)
{
    if (im->nfields < IMPORT_MAX_FIELDS) {
        im->field_off[im->nfields] = im->rec_len;
        im->field_col[im->nfields] = im->column;
    }
}

/* Feeds byte c to the state machine; returns 1 when it ended the record. */
static int csv_byte(struct nines_import *im, struct csv_scan *s, int c, int col)
{
    switch (s->state) {
    case CSV_CR:
        if (c == '\n')
            return 1;
        csv_problem(s, col - 1, "a CR not followed by LF");
        s->state = CSV_UNQUOTED;
        break;
    case CSV_QUOTE_SEEN:
        if (c == '"') {
            im->rec[im->rec_len++] = '"';
            s->state = CSV_QUOTED;
            return 0;
        }
        if (c != ',' && c != '\n' && c != '\r') {
            csv_problem(s, col, "text after the closing quote of a field");
            s->state = CSV_UNQUOTED;
        }
        break;
    case CSV_QUOTED:
        if (c == '"')
            s->state = CSV_QUOTE_SEEN;
        else
            im->rec[im->rec_len++] = (char)c;
        return 0;
    case CSV_FIELD_START:
        if (c == '"') {
            s->state = CSV_QUOTED;
            s->quote_line = im->line;
            return 0;
        }
        s->state = CSV_UNQUOTED;
        break;
    case CSV_UNQUOTED:
        break;
    }
    /* Outside quotes. */
    if (c == ',') {
        csv_end_field(im);
        csv_start_field(im);
        s->state = CSV_FIELD_START;
    } else if (c == '\n') {
        return 1;
    } else if (c == '\r') {
        s->state = CSV_CR;
    } else {
        if (c == '"')
            csv_problem(s, col, "a quote inside an unquoted field (quote the whole field)");
        im->rec[im->rec_len++] = (char)c;
    }
    return 0;
}

/*
 * One CSV record into rec: its fields NUL-separated at field_off. 1, or 0 at
 * end of input. A malformed record is still read to its end (so the next one
 * starts in the right place) and reported through s->err_column/err_msg.
 */
static int csv_read_record(struct nines_import *im, struct csv_scan *s)
{
    int c, col, any = 0;

    memset(s, 0, sizeof(*s));
    im->rec_len = 0;
    im->nfields = 0;
    im->rec_line = im->line;
    csv_start_field(im);
    for (;;) {
        col = im->column;
        c = import_getc(im);
        if (c == EOF)
            break;
        any = 1;
        if (c == '\0')
            csv_problem(s, col, "a NUL byte");
        /* Count every byte but the record's end (CR, LF outside quotes): each
         * counted byte stores at most one, so rec cannot overflow. */
        if ((s->state == CSV_QUOTED || (c != '\n' && c != '\r'))
            && s->raw++ >= NINES_IMPORT_LINE_MAX) {
            /* Too long: drop the rest of this line, quotes or not. */
            while (c != '\n' && c != EOF)
                c = import_getc(im);
            snprintf(s->err_msg, sizeof(s->err_msg), "record longer than %d bytes%s",
                     NINES_IMPORT_LINE_MAX,
                     s->state == CSV_QUOTED ? " (inside a quoted field: a missing quote?)" : "");
            s->err_column = 1;
            im->rec[0] = '\0';
            return 1;
        }
        if (csv_byte(im, s, c, col)) {
            csv_end_field(im);
            return 1;
        }
    }
    if (!any)
        return 0;
    if (s->state == CSV_QUOTED) {
        snprintf(s->err_msg, sizeof(s->err_msg),
                 "a quoted field opened on line %d is never closed", s->quote_line);
        s->err_column = 1;
    }
    if (s->state == CSV_CR)
        csv_problem(s, im->column - 1, "a CR not followed by LF");
    csv_end_field(im);
    return 1;
}

/* An empty line: one empty field, read without any problem. */
static int csv_record_empty(const struct nines_import *im, const struct csv_scan *s)
{
    return s->err_column == 0 && im->nfields == 1 && im->rec[0] == '\0'
           && s->state != CSV_QUOTE_SEEN;
}

static int csv_header(struct nines_import *im, struct nines_err *err)
{
    int seen[IMPORT_F_COUNT] = { 0 };
    char missing[128] = "", shown[64];
    struct csv_scan s;
    size_t i;

    if (csv_read_record(im, &s) == 0)
        return 0; /* empty file: nothing to import */
    if (s.err_column != 0)
        return import_fail(im, err, s.err_column, "header: %s", s.err_msg);
    /* More than IMPORT_F_COUNT columns: one of the first IMPORT_F_COUNT + 1 is
     * unknown or repeated, and the loop returns there. */
    for (i = 0; i < im->nfields && i <= IMPORT_F_COUNT; i++) {
        const char *name = im->rec + im->field_off[i];
        enum import_field f = import_field_of(name);

        if (f == IMPORT_F_COUNT)
            return import_fail(im, err, im->field_col[i],
                               "header: unknown column %s (known: check, location, timestamp,"
                               " ok, latency, reason, probe, code, message)",
                               import_show(name, shown, sizeof(shown)));
        if (seen[f]++ || i >= IMPORT_F_COUNT)
            return import_fail(im, err, im->field_col[i], "header: column '%s' appears twice",
                               name);
        im->col_field[i] = f;
    }
    im->ncols = (int)im->nfields;
    for (i = 0; i < IMPORT_F_COUNT; i++) {
        if (IMPORT_REQUIRED(i) && !seen[i]) {
            size_t used = strlen(missing);

            snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? ", " : "",
                     import_field_names[i]);
        }
    }
    if (missing[0] != '\0')
        return import_fail(im, err, 0, "header: missing column(s) %s", missing);
    return 0;
}

static int csv_values(struct nines_import *im, const struct csv_scan *s,
                      struct import_values *val, struct nines_err *err)
{
    int i;

    if (s->err_column != 0)
        return import_fail(im, err, s->err_column, "%s", s->err_msg);
    if (im->nfields != (size_t)im->ncols)
        return import_fail(im, err, 0, "%zu fields, the header has %d", im->nfields,
                           im->ncols);
    for (i = 0; i < im->ncols; i++) {
        const char *t = im->rec + im->field_off[i];
        enum import_field f = im->col_field[i];

        val->column[f] = im->field_col[i];
        val->text[f] = t[0] == '\0' ? NULL : t;
    }
    return 0;
}

/* ---- field checks ---- */

/* Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF)? */
static int import_utf8_ok(const unsigned char *s)
{
    while (*s != '\0') {
        unsigned c = *s, need, cp, min;

        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        for (s++; need > 0; need--, s++) {
            if ((*s & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (*s & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    }
    return 1;
}

/* An id: 1..cap−1 bytes of UTF-8 without control characters. */
static int import_id(struct nines_import *im, const struct import_values *val,
                     enum import_field f, char *out, size_t cap, struct nines_err *err)
{
    const char *s = val->text[f], *name = import_field_names[f];
    size_t i, n;

    if (s == NULL || s[0] == '\0')
        return import_fail(im, err, val->column[f], "%s: %s", name,
                           s == NULL && im->format == NINES_IMPORT_JSONL ? "missing" : "empty");
    n = strlen(s);
    if (n >= cap)
        return import_fail(im, err, val->column[f], "%s: longer than %zu bytes", name,
                           cap - 1);
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return import_fail(im, err, val->column[f], "%s: contains a control character",
                               name);
    }
    if (!import_utf8_ok((const unsigned char *)s))
        return import_fail(im, err, val->column[f], "%s: not valid UTF-8", name);
    memcpy(out, s, n + 1);
    return 0;
}

/* Exactly n digits at s into *v. */
static int import_digits(const char *s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t import_days(int y, int m, int d)
{
    static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
    int64_t yy = y - 1; /* leap days before year y, counted from year 1 */
    int64_t days = 365 * (int64_t)(y - 1970) + (yy / 4 - yy / 100 + yy / 400)
                   - (1969 / 4 - 1969 / 100 + 1969 / 400);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days + before[m - 1] + (m > 2 && leap) + d - 1;
}

static int import_month_days(int y, int m)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return len[m - 1] + (m == 2 && leap);
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM) into ms since the epoch. 0 or -1. */
static int import_rfc3339(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, scale = 100, oh = 0, om = 0, sign = 0;
    const char *p = s + 19;

    if (strlen(s) < 20 || import_digits(s, 4, &y) || s[4] != '-' || import_digits(s + 5, 2, &mo)
        || s[7] != '-' || import_digits(s + 8, 2, &d)
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || import_digits(s + 11, 2, &h)
        || s[13] != ':' || import_digits(s + 14, 2, &mi) || s[16] != ':'
        || import_digits(s + 17, 2, &sec))
        return -1;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            return -1;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale; /* digits past the millisecond are cut off */
            scale /= 10;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (import_digits(p + 1, 2, &oh) || p[3] != ':' || import_digits(p + 4, 2, &om))
            return -1;
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > import_month_days(y, mo) || h > 23
        || mi > 59 || sec > 59 || oh > 23 || om > 59)
        return -1;
    *ms = (((import_days(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec) * 1000 + frac
          - (int64_t)sign * (oh * 60 + om) * 60000;
    return 0;
}

static int import_timestamp(struct nines_import *im, const struct import_values *val,
                            int64_t *start_ms, struct nines_err *err)
{
    const char *s = val->text[IMPORT_F_TIMESTAMP];
    int col = val->column[IMPORT_F_TIMESTAMP];
    char shown[64];
    int64_t v = 0;
    size_t i, n;

    if (s == NULL)
        return import_fail(im, err, col, "timestamp: %s",
                           im->format == NINES_IMPORT_JSONL ? "missing" : "empty");
    n = strspn(s, "0123456789");
    if (n > 0 && s[n] == '\0') {
        if (n > 15) /* year 33658: no overflow below this */
            return import_fail(im, err, col, "timestamp: %s is in the future",
                               import_show(s, shown, sizeof(shown)));
        for (i = 0; i < n; i++)
            v = v * 10 + (s[i] - '0');
    } else if (import_rfc3339(s, &v) != 0) {
        return import_fail(im, err, col, "timestamp: not RFC 3339 or epoch ms: %s",
                           import_show(s, shown, sizeof(shown)));
    }
    if (v < 0)
        return import_fail(im, err, col, "timestamp: %s is before 1970",
                           import_show(s, shown, sizeof(shown)));
    if (v > im->now_ms)
        return import_fail(im, err, col, "timestamp: %s is in the future",
                           import_show(s, shown, sizeof(shown)));
    *start_ms = v;
    return 0;
}

static int import_ok(struct nines_import *im, const struct import_values *val, int *ok,
                     struct nines_err *err)
{
    const char *s = val->text[IMPORT_F_OK];
    int col = val->column[IMPORT_F_OK];
    char shown[64];

    if (s == NULL)
        return import_fail(im, err, col, "ok: %s",
                           im->format == NINES_IMPORT_JSONL ? "missing" : "empty");
    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
        *ok = 1;
    else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
        *ok = 0;
    else
        return import_fail(im, err, col, "ok: must be true, false, 1 or 0, not %s",
                           import_show(s, shown, sizeof(shown)));
    return 0;
}

/* "12", "12.5", "0.0004": milliseconds into microseconds, rounded half up. */
static int import_latency(struct nines_import *im, const struct import_values *val,
                          int64_t *total_us, struct nines_err *err)
{
    const char *s = val->text[IMPORT_F_LATENCY], *p;
    int64_t ms = 0, us = 0;
    int i;

    if (s == NULL)
        return 0;
    for (p = s; *p >= '0' && *p <= '9' && ms <= IMPORT_LATENCY_MAX_MS; p++)
        ms = ms * 10 + (*p - '0');
    if (p != s && *p == '.' && p[1] >= '0' && p[1] <= '9') {
        for (p++, i = 0; *p >= '0' && *p <= '9'; p++, i++) {
            if (i < 3)
                us = us * 10 + (*p - '0');
            else if (i == 3 && *p >= '5')
                us++;
        }
        for (; i < 3; i++)
            us *= 10;
    }
    if (p == s || *p != '\0' || ms * 1000 + us > IMPORT_LATENCY_MAX_MS * 1000)
        return import_fail(im, err, val->column[IMPORT_F_LATENCY],
                           "latency: not milliseconds from 0 to %lld", IMPORT_LATENCY_MAX_MS);
    *total_us = ms * 1000 + us;
    return 0;
}

static int import_code(struct nines_import *im, const struct import_values *val, int *code,
                       struct nines_err *err)
{
    const char *s = val->text[IMPORT_F_CODE];
    size_t n;
    int i;

    if (s == NULL)
        return 0;
    n = strspn(s, "0123456789");
    if (n == 0 || n > 9 || s[n] != '\0')
        return import_fail(im, err, val->column[IMPORT_F_CODE],
                           "code: not an integer from 0 to %lld", IMPORT_CODE_MAX);
    for (*code = 0, i = 0; i < (int)n; i++)
        *code = *code * 10 + (s[i] - '0');
    return 0;
}

static int import_reason(struct nines_import *im, const struct import_values *val, int ok,
                         char *out, struct nines_err *err)
{
    const char *s = val->text[IMPORT_F_REASON];
    int col = val->column[IMPORT_F_REASON];
    size_t n;

    if (s == NULL || s[0] == '\0')
        return 0;
    n = strlen(s);
    if (n >= NINES_REASON_LEN)
        return import_fail(im, err, col, "reason: longer than %d bytes", NINES_REASON_LEN - 1);
    if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
        return import_fail(im, err, col, "reason: only a-z, 0-9, '_', '.' and '-' are allowed");
    if (ok)
        return import_fail(im, err, col, "reason: given for an ok result");
    memcpy(out, s, n + 1);
    return 0;
}

/* Copies at most cap − 1 bytes, never cutting a UTF-8 sequence. */
static int import_message(struct nines_import *im, const struct import_values *val, char *out,
                          size_t cap, struct nines_err *err)
{
    const char *s = val->text[IMPORT_F_MESSAGE];
    size_t n;

    if (s == NULL)
        return 0;
    if (!import_utf8_ok((const unsigned char *)s))
        return import_fail(im, err, val->column[IMPORT_F_MESSAGE], "message: not valid UTF-8");
    n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int import_build(struct nines_import *im, const struct import_values *val,
                        struct nines_result *r, struct nines_err *err)
{
    int ok = 0;

    nines_result_init(r);
    if (import_id(im, val, IMPORT_F_CHECK, r->check_id, sizeof(r->check_id), err)
        || import_id(im, val, IMPORT_F_LOCATION, r->location, sizeof(r->location), err)
        || import_timestamp(im, val, &r->start_ms, err) || import_ok(im, val, &ok, err)
        || import_latency(im, val, &r->total_us, err) || import_code(im, val, &r->code, err)
        || import_reason(im, val, ok, r->reason, err)
        || import_message(im, val, r->message, sizeof(r->message), err))
        return NINES_EINVAL;
    if (val->text[IMPORT_F_PROBE] != NULL) {
        if (import_id(im, val, IMPORT_F_PROBE, r->probe, sizeof(r->probe), err))
            return NINES_EINVAL;
    } else {
        snprintf(r->probe, sizeof(r->probe), "import");
    }
    if (im->known != NULL && !im->known(r->check_id, im->known_arg))
        return import_fail(im, err, val->column[IMPORT_F_CHECK], "check: unknown check '%s'",
                           r->check_id);
    r->outcome = ok ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    if (nines_import_id(r->check_id, r->location, r->start_ms, r->id, sizeof(r->id)) != 0)
        return import_fail(im, err, 0, "id: SHA-256 failed");
    return 0;
}

/* ---- public ---- */

int nines_import_id(const char *check_id, const char *location, int64_t start_ms, char *out,
                    size_t len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    char buf[2 * NINES_ID_LEN + 32];
    unsigned int dlen = 0;
    int n, i;

    if (len < sizeof("import/") + NINES_IMPORT_ID_HEX)
        return NINES_EINVAL;
    /* The NULs keep ("a", "bc") and ("ab", "c") apart. */
    n = snprintf(buf, sizeof(buf), "%s%c%s%c%lld", check_id, '\0', location, '\0',
                 (long long)start_ms);
    if (n < 0 || (size_t)n >= sizeof(buf)
        || EVP_Digest(buf, (size_t)n, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen < 8)
        return NINES_EINVAL;
    n = snprintf(out, len, "import/");
    for (i = 0; i < NINES_IMPORT_ID_HEX / 2; i++)
        n += snprintf(out + n, len - (size_t)n, "%02x", digest[i]);
    return 0;
}

int nines_import_open(FILE *f, const char *name, enum nines_import_format format,
                      int64_t now_ms, struct nines_import **out, struct nines_err *err)
{
    struct nines_import *im;
    int c, rc = 0;

    *out = NULL;
    im = calloc(1, sizeof(*im));
    if (im == NULL)
        return nines_err_set(err, NINES_ENOMEM, "%s: out of memory", name ? name : "import");
    im->f = f;
    snprintf(im->name, sizeof(im->name), "%s", name != NULL ? name : "-");
    im->now_ms = now_ms;
    im->line = im->column = im->rec_line = 1;
    c = import_skip_lead(im);
    if (im->io_errno != 0) {
        rc = import_io_fail(im, err);
    } else {
        if (format == NINES_IMPORT_AUTO)
            format = c == '{' ? NINES_IMPORT_JSONL : NINES_IMPORT_CSV;
        im->format = format;
        if (format == NINES_IMPORT_CSV)
            rc = csv_header(im, err);
        if (rc == 0 && im->io_errno != 0)
            rc = import_io_fail(im, err);
    }
    if (rc != 0) {
        free(im);
        return rc;
    }
    *out = im;
    return 0;
}

void nines_import_set_known(struct nines_import *im, nines_import_known_fn *known, void *arg)
{
    im->known = known;
    im->known_arg = arg;
}

int nines_import_line(const struct nines_import *im)
{
    return im->rec_line;
}

enum nines_import_format nines_import_format_of(const struct nines_import *im)
{
    return im->format;
}

static int import_next_jsonl(struct nines_import *im, struct nines_result *r,
                             struct nines_err *err)
{
    struct import_values val;
    int too_long, nul, rc;
    json_t *obj = NULL;

    do {
        if (!import_read_line(im, &too_long, &nul))
            return im->io_errno != 0 ? import_io_fail(im, err) : 0;
    } while (!too_long && import_blank(im->rec, im->rec_len));
    if (too_long)
        return import_fail(im, err, 0, "line longer than %d bytes", NINES_IMPORT_LINE_MAX);
    if (nul)
        return import_fail(im, err, 0, "a NUL byte");
    memset(&val, 0, sizeof(val));
    rc = import_json_record(im, &val, &obj, err);
    if (rc == 0)
        rc = import_build(im, &val, r, err);
    json_decref(obj);
    return rc == 0 ? 1 : rc;
}

static int import_next_csv(struct nines_import *im, struct nines_result *r,
                           struct nines_err *err)
{
    struct import_values val;
    struct csv_scan s;

    if (im->ncols == 0)
        return 0; /* the file was empty */
    do {
        if (!csv_read_record(im, &s))
            return im->io_errno != 0 ? import_io_fail(im, err) : 0;
    } while (csv_record_empty(im, &s));
    memset(&val, 0, sizeof(val));
    if (csv_values(im, &s, &val, err) != 0 || import_build(im, &val, r, err) != 0)
        return NINES_EINVAL;
    return 1;
}

int nines_import_next(struct nines_import *im, struct nines_result *r, struct nines_err *err)
{
    struct nines_result tmp;
    int rc;

    if (im->io_errno != 0)
        return import_io_fail(im, err);
    if (im->format == NINES_IMPORT_JSONL)
        rc = import_next_jsonl(im, &tmp, err);
    else
        rc = import_next_csv(im, &tmp, err);
    if (rc == 1)
        *r = tmp;
    return rc;
}

void nines_import_free(struct nines_import *im)
{
    free(im);
}
