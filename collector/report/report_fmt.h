/*
 * Internal to collector/report/: a bounded growable buffer and the number,
 * duration and time formats every renderer shares, so HTML, PDF and CSV show
 * the same figure the same way.
 */
#ifndef NINES_REPORT_FMT_H
#define NINES_REPORT_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "nines/err.h"
#include "report.h"
#include "tz.h"

#define REPORT_BUF_MAX ((size_t)64 << 20) /* no report is anywhere near this */

/* A growable buffer whose first failure sticks: append freely, check once. */
struct report_buf {
    char *p;
    size_t len;
    size_t cap;
    int failed; /* 0, or NINES_ENOMEM (allocation failed or past REPORT_BUF_MAX) */
};

void report_fmt_buf_add(struct report_buf *b, const char *s, size_t n);
void report_fmt_buf_puts(struct report_buf *b, const char *s);
void report_fmt_buf_printf(struct report_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the text to the caller (*out, *len), or frees it and fills err. */
int report_fmt_buf_take(struct report_buf *b, char **out, size_t *len, struct nines_err *err,
                        const char *what);

#define REPORT_FMT_LEN 96

/* Shortest decimal text that reads back as exactly v ("99.9", "1e-05"). */
void report_fmt_exact(double v, char *buf, size_t len);
/* A percentage truncated to 3 decimals ("99.999"); "n/a" for a negative v. */
void report_fmt_pct(double v, char *buf, size_t len);
/* A service's availability from its integers, truncated to 3 decimals; "n/a"
   when it has no eligible time. */
void report_fmt_availability(const struct report_service *s, char *buf, size_t len);
/* "1 h 02 min 05 s", "4 min 00 s", "12.250 s"; whole seconds, truncated. */
void report_fmt_duration(int64_t ms, char *buf, size_t len);
/* "12.3 ms"; "n/a" for a negative v. */
void report_fmt_latency(double ms, char *buf, size_t len);
/* "2026-10-25 02:30:00 CEST (UTC+02:00)". */
void report_fmt_time(const struct nines_tz *tz, int64_t ms, char *buf, size_t len);
/* "2026-10-25T02:30:00.000+02:00" (ISO 8601 with the local offset). */
void report_fmt_iso(const struct nines_tz *tz, int64_t ms, char *buf, size_t len);
/* "2026-10-25" for a day's local start. */
void report_fmt_date(const struct nines_tz *tz, int64_t ms, char *buf, size_t len);

/*
 * Canonical JSON of r into b (checked first): with_meta = 0 leaves out
 * generated_ms and data_sha256 (what report_hash digests). b must be empty;
 * on failure it is freed and err filled.
 */
int report_json_canonical(const struct report *r, int with_meta, struct report_buf *b,
                          struct nines_err *err);

#endif
