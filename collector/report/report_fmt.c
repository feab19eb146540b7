/*
 * Shared formats. Availability is truncated, never rounded up: a figure shown
 * to a customer must not be better than the real one (99.9996 → 99.999).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"

void report_fmt_buf_add(struct report_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n > REPORT_BUF_MAX - b->len - 1) {
        b->failed = NINES_ENOMEM;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > REPORT_BUF_MAX)
            cap = REPORT_BUF_MAX;
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = NINES_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void report_fmt_buf_puts(struct report_buf *b, const char *s)
{
    report_fmt_buf_add(b, s, strlen(s));
}

void report_fmt_buf_printf(struct report_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = NINES_ENOMEM;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        report_fmt_buf_add(b, small, (size_t)n);
        return;
    }
    {
        char *big = malloc((size_t)n + 1);

        if (big == NULL) {
            b->failed = NINES_ENOMEM;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        report_fmt_buf_add(b, big, (size_t)n);
        free(big);
    }
}

int report_fmt_buf_take(struct report_buf *b, char **out, size_t *len, struct nines_err *err,
                        const char *what)
{
    if (b->failed == 0 && b->p == NULL)
        report_fmt_buf_add(b, "", 0);
    if (b->failed) {
        free(b->p);
        *out = NULL;
        *len = 0;
        return nines_err_set(err, NINES_ENOMEM, "%s: out of memory (or over %zu bytes)", what,
                             (size_t)REPORT_BUF_MAX);
    }
    *out = b->p;
    *len = b->len;
    return 0;
}

void report_fmt_exact(double v, char *buf, size_t len)
{
    int prec;

    /* whole numbers in plain digits: %g would write 10 as "1e+01" */
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
        snprintf(buf, len, "%.0f", v);
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/*
 * Truncation of a double: printed to 9 decimals first, which removes binary
 * noise (99.9 is 99.8999999999999915 in binary and must still show 99.900),
 * then cut to 3. A value below 100 that printing rounds up to 100 shows 99.999.
 */
void report_fmt_pct(double v, char *buf, size_t len)
{
    char tmp[64];
    char *dot;

    if (v < 0 || !isfinite(v)) {
        snprintf(buf, len, "n/a");
        return;
    }
    snprintf(tmp, sizeof(tmp), "%.9f", v);
    dot = strchr(tmp, '.');
    if (dot != NULL)
        dot[4] = '\0';
    if (v < 100.0 && strcmp(tmp, "100.000") == 0)
        snprintf(tmp, sizeof(tmp), "99.999");
    snprintf(buf, len, "%s", tmp);
}

void report_fmt_availability(const struct report_service *s, char *buf, size_t len)
{
    int64_t up, milli;

    if (s->no_eligible_time || s->eligible_ms <= 0) {
        snprintf(buf, len, "n/a");
        return;
    }
    /* thousandths of a percent, in integers: floor(100000 × up / eligible);
       report_check bounds eligible_ms so the product cannot overflow */
    up = s->eligible_ms - s->downtime_ms;
    milli = up / s->eligible_ms * 100000 + up % s->eligible_ms * 100000 / s->eligible_ms;
    snprintf(buf, len, "%" PRId64 ".%03" PRId64, milli / 1000, milli % 1000);
}

void report_fmt_duration(int64_t ms, char *buf, size_t len)
{
    int64_t s = ms / 1000;

    if (ms < 0) {
        snprintf(buf, len, "n/a");
    } else if (ms < 60000 && ms % 1000 != 0) {
        snprintf(buf, len, "%" PRId64 ".%03" PRId64 " s", s, ms % 1000);
    } else if (s < 60) {
        snprintf(buf, len, "%" PRId64 " s", s);
    } else if (s < 3600) {
        snprintf(buf, len, "%" PRId64 " min %02" PRId64 " s", s / 60, s % 60);
    } else {
        snprintf(buf, len, "%" PRId64 " h %02" PRId64 " min %02" PRId64 " s", s / 3600,
                 s / 60 % 60, s % 60);
    }
}

void report_fmt_latency(double ms, char *buf, size_t len)
{
    if (ms < 0 || !isfinite(ms))
        snprintf(buf, len, "n/a");
    else
        snprintf(buf, len, "%.1f ms", ms);
}

static void report_fmt_offset(int off_s, char *buf, size_t len)
{
    int a = off_s < 0 ? -off_s : off_s;

    snprintf(buf, len, "%c%02d:%02d", off_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

void report_fmt_time(const struct nines_tz *tz, int64_t ms, char *buf, size_t len)
{
    struct nines_tm tm;
    char off[16];

    nines_tz_utc_to_local(tz, ms, &tm);
    report_fmt_offset(tm.utc_offset_s, off, sizeof(off));
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d %s (UTC%s)", tm.year, tm.month, tm.day,
             tm.hour, tm.minute, tm.second, tm.abbr, off);
}

void report_fmt_iso(const struct nines_tz *tz, int64_t ms, char *buf, size_t len)
{
    struct nines_tm tm;
    char off[16];

    nines_tz_utc_to_local(tz, ms, &tm);
    report_fmt_offset(tm.utc_offset_s, off, sizeof(off));
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.year, tm.month, tm.day, tm.hour,
             tm.minute, tm.second, tm.ms, off);
}

void report_fmt_date(const struct nines_tz *tz, int64_t ms, char *buf, size_t len)
{
    struct nines_tm tm;

    nines_tz_utc_to_local(tz, ms, &tm);
    snprintf(buf, len, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
}
