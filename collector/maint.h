/*
 * Maintenance windows: one-off [start, end) in UTC, or recurring ("every
 * Sunday at 02:00 for 2 h in Europe/Berlin"). Expansion turns a window into
 * the concrete UTC intervals that meet [from, to); uptime cuts them out of the
 * SLA time, incidents show them, and alerting holds notifications back.
 *
 * A recurring window starts at its local wall-clock time on each chosen
 * weekday and lasts duration_ms of real time, across DST changes too. Local
 * start times that do not exist or occur twice resolve as tz.h says: on the
 * spring-forward Sunday "02:00" in Europe/Berlin starts at 03:00 CEST, the
 * instant after the gap; "01:30" on the fall-back Sunday in America/New_York
 * is the first 01:30 (EDT).
 */
#ifndef NINES_MAINT_H
#define NINES_MAINT_H

#include <stdint.h>

#include "intervals.h"
#include "nines/err.h"
#include "tz.h"

#define MAINT_TZ_LEN 64
#define MAINT_DURATION_MAX_MS (INT64_C(7) * 86400000) /* a window is at most a week */
#define MAINT_SPAN_MAX_MS (INT64_C(100) * 366 * 86400000) /* longest [from, to) expanded */

enum maint_kind { MAINT_ONCE = 0, MAINT_RECURRING };

struct maint_window {
    enum maint_kind kind;
    int64_t start_ms;      /* ONCE: [start_ms, end_ms), UTC */
    int64_t end_ms;
    unsigned weekdays;     /* RECURRING: bit d = weekday d, 0 = Sunday */
    int start_min;         /* RECURRING: local start, minutes after midnight, 0-1439 */
    int64_t duration_ms;   /* RECURRING: 1 ms .. MAINT_DURATION_MAX_MS of real time */
    char tz[MAINT_TZ_LEN]; /* RECURRING: IANA zone name; the caller loads it */
};

/*
 * Appends to out (not normalised, not clipped) every occurrence of w that
 * meets [from, to), including one that began before `from` and reaches into
 * it. tz is the loaded zone w->tz names (unused for ONCE). On error out is
 * as it was: NINES_EINVAL (bad window, to < from, span over
 * MAINT_SPAN_MAX_MS), NINES_ENOMEM.
 */
int maint_expand(const struct maint_window *w, const struct nines_tz *tz, int64_t from_ms,
                 int64_t to_ms, struct nines_ivset *out);

/*
 * "DAYS HH:MM DURATION ZONE", as in config, CLI and API:
 *   "sun 02:00 2h Europe/Berlin", "mon-fri 22:30 1h30m UTC",
 *   "mon,wed,fri 04:00 45m America/New_York", "daily 03:00 15m Asia/Tokyo".
 * DAYS: daily | weekdays | weekends | a comma list of days (sun..sat or
 * sunday..saturday, any case) and ranges (mon-fri; fri-mon wraps).
 * DURATION: units in order from d, h, m, s, ms ("1h30m"), at most 7d.
 * The zone name is checked for form only; nines_tz_load says if it exists.
 * NINES_EINVAL with a message naming the bad part.
 */
int maint_parse_recurring(const char *spec, struct maint_window *out, struct nines_err *err);
/* The DAYS part alone: a weekday mask (bit 0 = Sunday). */
int maint_parse_weekdays(const char *s, unsigned *mask, struct nines_err *err);
/* The DURATION part alone ("1h30m"); 1 ms .. MAINT_DURATION_MAX_MS. */
int maint_parse_duration(const char *s, int64_t *ms, struct nines_err *err);
/* The canonical spec of a recurring window ("mon-fri 02:00 2h Europe/Berlin"). */
int maint_format_recurring(const struct maint_window *w, char *buf, size_t len);

#endif
