/*
 * Maintenance windows: expansion into UTC intervals, and the textual form of
 * recurring windows. Expansion walks the local calendar day by day, so a
 * window keeps its wall-clock start across DST changes while its length
 * stays real time.
 */
#include <stdio.h>
#include <string.h>

#include "maint.h"

#define MAINT_ALL_DAYS 0x7fu
#define MAINT_SPEC_MAX 256

static const char *const maint_day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const maint_day_long[7] = { "sunday",   "monday", "tuesday", "wednesday",
                                               "thursday", "friday", "saturday" };

static int maint_window_ok(const struct maint_window *w)
{
    if (w->kind == MAINT_ONCE)
        return w->start_ms < w->end_ms;
    return w->kind == MAINT_RECURRING && w->weekdays != 0 &&
           (w->weekdays & ~MAINT_ALL_DAYS) == 0 && w->start_min >= 0 && w->start_min < 1440 &&
           w->duration_ms > 0 && w->duration_ms <= MAINT_DURATION_MAX_MS;
}

/* The occurrences starting on local days [d0, d1] that meet [from, to). */
static int maint_expand_days(const struct maint_window *w, const struct nines_tz *tz,
                             int64_t d0, int64_t d1, int64_t from, int64_t to,
                             struct nines_ivset *out)
{
    int64_t d, year, s;
    int month, day, rc;

    for (d = d0; d <= d1; d++) {
        if (!(w->weekdays & (1u << nines_weekday_from_days(d))))
            continue;
        nines_civil_from_days(d, &year, &month, &day);
        s = nines_tz_local_to_utc_ms(tz, (int)year, month, day, w->start_min / 60,
                                     w->start_min % 60, 0, 0);
        if (s + w->duration_ms <= from || s >= to)
            continue;
        rc = nines_ivset_add(out, s, s + w->duration_ms);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int maint_expand(const struct maint_window *w, const struct nines_tz *tz, int64_t from_ms,
                 int64_t to_ms, struct nines_ivset *out)
{
    struct nines_tm a, b;
    size_t n0 = out->n;
    int rc;

    if (!maint_window_ok(w) || to_ms < from_ms || from_ms < -NINES_IV_LIMIT ||
        to_ms > NINES_IV_LIMIT)
        return NINES_EINVAL;
    if (w->kind == MAINT_ONCE) {
        if (w->end_ms > from_ms && w->start_ms < to_ms)
            return nines_ivset_add(out, w->start_ms, w->end_ms);
        return 0;
    }
    if (tz == NULL || to_ms - from_ms > MAINT_SPAN_MAX_MS)
        return NINES_EINVAL;
    if (from_ms == to_ms)
        return 0;
    /* Local days from the one before the earliest possible start to the day after `to`:
     * the spare day on each side absorbs UTC offsets and DST shifts. */
    nines_tz_utc_to_local(tz, from_ms - w->duration_ms, &a);
    nines_tz_utc_to_local(tz, to_ms, &b);
    rc = maint_expand_days(w, tz, nines_days_from_civil(a.year, a.month, a.day) - 1,
                           nines_days_from_civil(b.year, b.month, b.day) + 1, from_ms, to_ms,
                           out);
    if (rc != 0)
        out->n = n0;
    return rc;
}

/* ---- parsing ----------------------------------------------------------- */

static char maint_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int maint_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Case-insensitive equality of s[0..len) and the NUL-terminated word. */
static int maint_word_is(const char *s, size_t len, const char *word)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (word[i] == '\0' || maint_lower(s[i]) != word[i])
            return 0;
    }
    return word[len] == '\0';
}

static int maint_day_index(const char *s, size_t len)
{
    int d;

    for (d = 0; d < 7; d++) {
        if (maint_word_is(s, len, maint_day_names[d]) || maint_word_is(s, len, maint_day_long[d]))
            return d;
    }
    return -1;
}

/* One list item: a day or a range "mon-fri" (wrapping past Saturday). */
static int maint_day_item(const char *s, size_t len, unsigned *mask)
{
    const char *dash = memchr(s, '-', len);
    int a, b;

    if (dash == NULL) {
        a = maint_day_index(s, len);
        b = a;
    } else {
        a = maint_day_index(s, (size_t)(dash - s));
        b = maint_day_index(dash + 1, len - (size_t)(dash - s) - 1);
    }
    if (a < 0 || b < 0)
        return -1;
    for (;; a = (a + 1) % 7) {
        *mask |= 1u << a;
        if (a == b)
            break;
    }
    return 0;
}

int maint_parse_weekdays(const char *s, unsigned *mask, struct nines_err *err)
{
    const char *p, *end;
    unsigned m = 0;

    if (maint_word_is(s, strlen(s), "daily")) {
        *mask = MAINT_ALL_DAYS;
        return 0;
    }
    if (maint_word_is(s, strlen(s), "weekdays")) {
        *mask = 0x3eu; /* mon-fri */
        return 0;
    }
    if (maint_word_is(s, strlen(s), "weekends")) {
        *mask = 0x41u; /* sat,sun */
        return 0;
    }
    for (p = s;; p = end + 1) {
        end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        if (maint_day_item(p, (size_t)(end - p), &m) != 0)
            return nines_err_set(err, NINES_EINVAL,
                                 "bad weekday \"%.*s\" in \"%.40s\" (want sun..sat, a range "
                                 "like mon-fri, a list like mon,wed,fri, or daily)",
                                 (int)(end - p > 40 ? 40 : end - p), p, s);
        if (*end == '\0')
            break;
    }
    *mask = m;
    return 0;
}

/* The unit after a number, largest first: 0 d, 1 h, 2 m, 3 s, 4 ms; -1 if none. */
static int maint_unit(const char **sp)
{
    static const char *const units[] = { "d", "h", "ms", "m", "s" }; /* "ms" before "m" */
    static const int order[] = { 0, 1, 4, 2, 3 };
    size_t i, n;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        n = strlen(units[i]);
        if (strncmp(*sp, units[i], n) == 0) {
            *sp += n;
            return order[i];
        }
    }
    return -1;
}

int maint_parse_duration(const char *s, int64_t *ms, struct nines_err *err)
{
    static const int64_t unit_ms[] = { 86400000, 3600000, 60000, 1000, 1 };
    const char *p = s;
    int64_t total = 0;
    int last = -1, ok = *s != '\0';

    while (ok && *p != '\0') {
        int64_t v = 0;
        int digits = 0, u;

        for (; maint_is_digit(*p) && digits < 10; p++, digits++)
            v = v * 10 + (*p - '0');
        u = digits > 0 ? maint_unit(&p) : -1;
        if (u <= last) {
            ok = 0; /* no number, unknown unit, or units repeated or out of order */
        } else {
            last = u;
            total += v * unit_ms[u];
            ok = total <= MAINT_DURATION_MAX_MS;
        }
    }
    if (!ok || total <= 0)
        return nines_err_set(err, NINES_EINVAL,
                             "bad duration \"%.40s\" (want e.g. 30m, 2h, 1h30m; more than 0, "
                             "at most 7d)", s);
    *ms = total;
    return 0;
}

/* "HH:MM" or "H:MM", 00:00-23:59. */
static int maint_parse_clock(const char *s, int *minutes)
{
    int h = 0, i = 0;

    for (; maint_is_digit(s[i]) && i < 2; i++)
        h = h * 10 + (s[i] - '0');
    if (i == 0 || s[i] != ':' || !maint_is_digit(s[i + 1]) || !maint_is_digit(s[i + 2]) ||
        s[i + 3] != '\0')
        return -1;
    if (h > 23 || s[i + 1] > '5')
        return -1;
    *minutes = h * 60 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
    return 0;
}

static int maint_tz_name_ok(const char *s)
{
    const char *c;

    if (s[0] == '\0' || s[0] == '/' || strstr(s, "..") != NULL || strlen(s) >= MAINT_TZ_LEN)
        return 0;
    for (c = s; *c != '\0'; c++) {
        if (!maint_is_digit(*c) && !(maint_lower(*c) >= 'a' && maint_lower(*c) <= 'z') &&
            strchr("_+-./", *c) == NULL)
            return 0;
    }
    return 1;
}

/* Splits buf in place at blanks into at most max tokens; returns the count (max+1 = more). */
static int maint_tokens(char *buf, char **tok, int max)
{
    int n = 0;
    char *p = buf;

    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return n;
        if (n == max)
            return max + 1;
        tok[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
}

int maint_parse_recurring(const char *spec, struct maint_window *out, struct nines_err *err)
{
    static const char *const parts[] = { "weekdays", "start time (HH:MM)", "duration",
                                         "time zone" };
    struct maint_window w = { .kind = MAINT_RECURRING };
    char buf[MAINT_SPEC_MAX], *tok[4];
    struct nines_err sub;
    int n;

    if (strlen(spec) >= sizeof(buf))
        return nines_err_set(err, NINES_EINVAL, "maintenance schedule too long (max %d bytes)",
                             MAINT_SPEC_MAX - 1);
    memcpy(buf, spec, strlen(spec) + 1);
    n = maint_tokens(buf, tok, 4);
    if (n == 0)
        return nines_err_set(err, NINES_EINVAL, "empty maintenance schedule (want e.g. "
                             "\"sun 02:00 2h Europe/Berlin\")");
    if (n > 4)
        return nines_err_set(err, NINES_EINVAL, "maintenance \"%.80s\": unexpected text after "
                             "the time zone", spec);
    if (maint_parse_weekdays(tok[0], &w.weekdays, &sub) != 0)
        return nines_err_set(err, NINES_EINVAL, "maintenance \"%.60s\": %s", spec, sub.msg);
    if (n < 4)
        return nines_err_set(err, NINES_EINVAL, "maintenance \"%.80s\": missing %s (want e.g. "
                             "\"sun 02:00 2h Europe/Berlin\")", spec, parts[n]);
    if (maint_parse_clock(tok[1], &w.start_min) != 0)
        return nines_err_set(err, NINES_EINVAL, "maintenance \"%.80s\": bad start time \"%.20s\""
                             " (want HH:MM, 00:00-23:59)", spec, tok[1]);
    if (maint_parse_duration(tok[2], &w.duration_ms, &sub) != 0)
        return nines_err_set(err, NINES_EINVAL, "maintenance \"%.60s\": %s", spec, sub.msg);
    if (!maint_tz_name_ok(tok[3]))
        return nines_err_set(err, NINES_EINVAL, "maintenance \"%.80s\": bad time zone name "
                             "\"%.64s\"", spec, tok[3]);
    snprintf(w.tz, sizeof(w.tz), "%s", tok[3]);
    *out = w;
    return 0;
}

/* ---- formatting -------------------------------------------------------- */

/* Days in Monday-first order; runs of three or more as ranges. */
static void maint_format_days(unsigned mask, char *buf, size_t len)
{
    size_t used = 0;
    int i = 0;

    buf[0] = '\0';
    if (mask == MAINT_ALL_DAYS) {
        snprintf(buf, len, "daily");
        return;
    }
    while (i < 7) {
        int j = i, d = (i + 1) % 7;

        if (!(mask & (1u << d))) {
            i++;
            continue;
        }
        while (j + 1 < 7 && (mask & (1u << ((j + 2) % 7))))
            j++;
        if (j - i >= 2)
            used += (size_t)snprintf(buf + used, len - used, "%s%s-%s", used ? "," : "",
                                     maint_day_names[d], maint_day_names[(j + 1) % 7]);
        else
            for (; i <= j; i++)
                used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                                         maint_day_names[(i + 1) % 7]);
        i = j + 1;
    }
}

static void maint_format_duration(int64_t ms, char *buf, size_t len)
{
    static const int64_t unit_ms[] = { 86400000, 3600000, 60000, 1000, 1 };
    static const char *const unit[] = { "d", "h", "m", "s", "ms" };
    size_t used = 0, i;

    buf[0] = '\0';
    for (i = 0; i < 5; i++) {
        if (ms >= unit_ms[i]) {
            used += (size_t)snprintf(buf + used, len - used, "%lld%s",
                                     (long long)(ms / unit_ms[i]), unit[i]);
            ms %= unit_ms[i];
        }
    }
}

int maint_format_recurring(const struct maint_window *w, char *buf, size_t len)
{
    char days[64], dur[64];
    int n;

    if (w->kind != MAINT_RECURRING || !maint_window_ok(w) || len == 0)
        return NINES_EINVAL;
    maint_format_days(w->weekdays, days, sizeof(days));
    maint_format_duration(w->duration_ms, dur, sizeof(dur));
    n = snprintf(buf, len, "%s %02d:%02d %s %s", days, w->start_min / 60, w->start_min % 60, dur,
                 w->tz);
    return n < 0 || (size_t)n >= len ? NINES_EINVAL : 0;
}
