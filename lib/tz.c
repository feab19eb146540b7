/*
 * IANA time zones from TZif files, evaluated without the C library's global
 * time zone state. A zone holds its transition table (seconds, strictly
 * increasing), its local time types, and the footer's POSIX TZ rule for the
 * instants after the last transition. Everything lives in one allocation.
 *
 * Converting a local time back to UTC enumerates the offsets in force within
 * ±26 h of it (no UTC offset is larger) and keeps the candidate whose offset
 * agrees with itself; see tz.h for how gaps and repeats resolve.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tz.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_FILE_MAX (1 << 20)
#define TZ_PATH_MAX 4096
#define TZ_HEADER_LEN 44
#define TZ_OFFSET_MIN (-89999) /* RFC 9636 §3.2: -25:59:59 .. +25:59:59 */
#define TZ_OFFSET_MAX 93599
#define TZ_RULE_HOURS_MAX 167  /* RFC 9636 §3.3.1 extension of POSIX */
#define TZ_FOOTER_MAX 256
#define TZ_SPAN_S (26 * 3600 + 1) /* more than any |UTC offset| */
#define TZ_SEGMENTS_MAX 32
#define TZ_DAY_S INT64_C(86400)
#define TZ_DAY_MS INT64_C(86400000)
#define TZ_CACHE_MAX 1024 /* tzdata has about 600 names */

enum tz_date_kind { TZ_DATE_JULIAN1, TZ_DATE_JULIAN0, TZ_DATE_MONTH };

/* One end of DST in a POSIX TZ rule: "M3.5.0/3", "J60", "59/-1". */
struct tz_date {
    enum tz_date_kind kind;
    int month;
    int week; /* 1-5, 5 = last */
    int wday; /* 0 = Sunday */
    int yday; /* Jn: 1-365 (no Feb 29); n: 0-365 */
    int32_t secs; /* local time of day of the change */
};

struct tz_rule {
    int32_t std_off; /* UTC offsets, east positive */
    int32_t dst_off;
    int has_dst;
    struct tz_date start;
    struct tz_date end;
    char std_abbr[NINES_TZ_ABBR_LEN];
    char dst_abbr[NINES_TZ_ABBR_LEN];
};

struct tz_type {
    int32_t utoff;
    uint8_t is_dst;
    uint8_t abbr; /* index into chars */
};

struct nines_tz {
    char name[NINES_TZ_NAME_LEN];
    size_t ntrans;
    size_t ntypes;
    size_t nchars;
    int64_t *trans;
    uint8_t *trans_type;
    struct tz_type *types;
    char *chars; /* NUL-terminated abbreviations */
    int has_rule;
    struct tz_rule rule;
};

/* What is in force at one instant. */
struct tz_info {
    int32_t utoff;
    int is_dst;
    const char *abbr;
};

struct tz_header {
    int version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* ---- calendar ---------------------------------------------------------- */

static int64_t tz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t tz_clamp_ms(int64_t ms)
{
    if (ms > NINES_TZ_MS_LIMIT)
        return NINES_TZ_MS_LIMIT;
    if (ms < -NINES_TZ_MS_LIMIT)
        return -NINES_TZ_MS_LIMIT;
    return ms;
}

/* H. Hinnant's days_from_civil, with the month normalised first. */
int64_t nines_days_from_civil(int64_t year, int month, int day)
{
    int64_t m0 = (int64_t)month - 1, m, era, yoe, doy, doe;

    year += tz_floor_div(m0, 12);
    m = m0 - 12 * tz_floor_div(m0, 12) + 1;
    year -= m <= 2;
    era = tz_floor_div(year, 400);
    yoe = year - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + (int64_t)day - 1;
}

void nines_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468, era, doe, yoe, doy, mp;

    era = tz_floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

int nines_weekday_from_days(int64_t days)
{
    /* 1970-01-01 was a Thursday. */
    return (int)(days + 4 - 7 * tz_floor_div(days + 4, 7));
}

static int tz_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- POSIX TZ rule ----------------------------------------------------- */

static int tz_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int tz_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "CET" or "<+03>": 3 or more characters. */
static int tz_rule_abbr(const char **sp, char *out)
{
    const char *s = *sp;
    size_t n = 0;

    if (*s == '<') {
        for (s++; tz_is_alpha(*s) || tz_is_digit(*s) || *s == '+' || *s == '-'; s++) {
            if (n + 1 >= NINES_TZ_ABBR_LEN)
                return -1;
            out[n++] = *s;
        }
        if (*s++ != '>')
            return -1;
    } else {
        for (; tz_is_alpha(*s); s++) {
            if (n + 1 >= NINES_TZ_ABBR_LEN)
                return -1;
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    *sp = s;
    return n >= 3 ? 0 : -1;
}

/* Up to `max` digits as a number no larger than limit. */
static int tz_rule_num(const char **sp, int max, int limit, int *out)
{
    const char *s = *sp;
    int v = 0, n = 0;

    while (n < max && tz_is_digit(*s)) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0 || v > limit || tz_is_digit(*s))
        return -1;
    *out = v;
    *sp = s;
    return 0;
}

/* [+-]hh[:mm[:ss]], hours at most max_hours. */
static int tz_rule_hms(const char **sp, int max_hours, int32_t *out)
{
    const char *s = *sp;
    int sign = 1, h, m = 0, sec = 0;

    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (tz_rule_num(&s, 3, max_hours, &h) != 0)
        return -1;
    if (*s == ':') {
        s++;
        if (tz_rule_num(&s, 2, 59, &m) != 0)
            return -1;
        if (*s == ':') {
            s++;
            if (tz_rule_num(&s, 2, 59, &sec) != 0)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    *sp = s;
    return 0;
}

/* "Jn", "n" or "Mm.w.d", then an optional "/time" (default 02:00). */
static int tz_rule_date(const char **sp, struct tz_date *d)
{
    const char *s = *sp;

    memset(d, 0, sizeof(*d));
    d->secs = 7200;
    if (*s == 'M') {
        s++;
        d->kind = TZ_DATE_MONTH;
        if (tz_rule_num(&s, 2, 12, &d->month) != 0 || d->month < 1 || *s++ != '.' ||
            tz_rule_num(&s, 1, 5, &d->week) != 0 || d->week < 1 || *s++ != '.' ||
            tz_rule_num(&s, 1, 6, &d->wday) != 0)
            return -1;
    } else if (*s == 'J') {
        s++;
        d->kind = TZ_DATE_JULIAN1;
        if (tz_rule_num(&s, 3, 365, &d->yday) != 0 || d->yday < 1)
            return -1;
    } else {
        d->kind = TZ_DATE_JULIAN0;
        if (tz_rule_num(&s, 3, 365, &d->yday) != 0)
            return -1;
    }
    if (*s == '/') {
        s++;
        if (tz_rule_hms(&s, TZ_RULE_HOURS_MAX, &d->secs) != 0)
            return -1;
    }
    *sp = s;
    return 0;
}

static int tz_offset_ok(int32_t off)
{
    return off >= TZ_OFFSET_MIN && off <= TZ_OFFSET_MAX;
}

/* std offset [dst [offset] [,start[/time],end[/time]]]; POSIX offsets are west-positive. */
static int tz_rule_parse(const char *s, struct tz_rule *r)
{
    int32_t v;

    memset(r, 0, sizeof(*r));
    if (tz_rule_abbr(&s, r->std_abbr) != 0 || tz_rule_hms(&s, 24, &v) != 0)
        return -1;
    r->std_off = -v;
    if (*s == '\0')
        return tz_offset_ok(r->std_off) ? 0 : -1;
    if (tz_rule_abbr(&s, r->dst_abbr) != 0)
        return -1;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (tz_rule_hms(&s, 24, &v) != 0)
            return -1;
        r->dst_off = -v;
    }
    if (*s == '\0') {
        s = ",M3.2.0,M11.1.0"; /* POSIX leaves it to us; glibc's choice */
    }
    if (*s++ != ',' || tz_rule_date(&s, &r->start) != 0 || *s++ != ',' ||
        tz_rule_date(&s, &r->end) != 0 || *s != '\0')
        return -1;
    r->has_dst = 1;
    return tz_offset_ok(r->std_off) && tz_offset_ok(r->dst_off) ? 0 : -1;
}

/* Days since the epoch of the rule date d in year y. */
static int64_t tz_rule_day(const struct tz_date *d, int64_t y)
{
    int64_t jan1 = nines_days_from_civil(y, 1, 1), first, day;

    if (d->kind == TZ_DATE_JULIAN1)
        return jan1 + d->yday - 1 + (tz_is_leap(y) && d->yday >= 60);
    if (d->kind == TZ_DATE_JULIAN0)
        return jan1 + d->yday;
    first = nines_days_from_civil(y, d->month, 1);
    day = first + (d->wday - nines_weekday_from_days(first) + 7) % 7 + 7 * (d->week - 1);
    while (day >= nines_days_from_civil(y, d->month + 1, 1))
        day -= 7; /* week 5 = the last such weekday */
    return day;
}

/*
 * The DST changes of years y-1 .. y+2 around instant t, as UTC seconds:
 * ev[2i] starts DST (given in standard time), ev[2i+1] ends it (in DST).
 */
static void tz_rule_events(const struct tz_rule *r, int64_t t, int64_t ev[8])
{
    int64_t y;
    int month, day, i;

    nines_civil_from_days(tz_floor_div(t + r->std_off, TZ_DAY_S), &y, &month, &day);
    for (i = 0; i < 4; i++) {
        ev[2 * i] = tz_rule_day(&r->start, y - 1 + i) * TZ_DAY_S + r->start.secs - r->std_off;
        ev[2 * i + 1] = tz_rule_day(&r->end, y - 1 + i) * TZ_DAY_S + r->end.secs - r->dst_off;
    }
}

/* DST is in force when the latest change at or before t is a start (a tie goes to
 * the start: "DST all year" ends one year at the instant it starts the next). */
static void tz_rule_info(const struct tz_rule *r, int64_t t, struct tz_info *out)
{
    int64_t ev[8], best = 0;
    int i, found = 0, dst = 0;

    if (r->has_dst) {
        tz_rule_events(r, t, ev);
        for (i = 0; i < 8; i++) {
            int is_start = (i % 2) == 0;

            if (ev[i] > t)
                continue;
            if (!found || ev[i] > best || (ev[i] == best && is_start)) {
                best = ev[i];
                dst = is_start;
                found = 1;
            }
        }
    }
    out->utoff = dst ? r->dst_off : r->std_off;
    out->is_dst = dst;
    out->abbr = dst ? r->dst_abbr : r->std_abbr;
}

static int tz_rule_next(const struct tz_rule *r, int64_t t, int64_t *next)
{
    int64_t ev[8], best = 0;
    int i, found = 0;

    if (!r->has_dst)
        return 0;
    tz_rule_events(r, t, ev);
    for (i = 0; i < 8; i++) {
        if (ev[i] > t && (!found || ev[i] < best)) {
            best = ev[i];
            found = 1;
        }
    }
    *next = best;
    return found;
}

/* ---- lookups ----------------------------------------------------------- */

/* The first index whose transition is after t (ntrans if none). */
static size_t tz_upper(const struct nines_tz *z, int64_t t)
{
    size_t lo = 0, hi = z->ntrans;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->trans[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void tz_info_at(const struct nines_tz *z, int64_t t, struct tz_info *out)
{
    const struct tz_type *ty;
    size_t i = tz_upper(z, t);

    if (i == z->ntrans && z->has_rule) {
        tz_rule_info(&z->rule, t, out);
        return;
    }
    ty = &z->types[i == 0 ? 0 : z->trans_type[i - 1]];
    out->utoff = ty->utoff;
    out->is_dst = ty->is_dst;
    out->abbr = &z->chars[ty->abbr];
}

/* The first change after t; 0 if there is none. */
static int tz_next_change(const struct nines_tz *z, int64_t t, int64_t *next)
{
    size_t i = tz_upper(z, t);

    if (i < z->ntrans) {
        *next = z->trans[i];
        return 1;
    }
    return z->has_rule ? tz_rule_next(&z->rule, t, next) : 0;
}

int nines_tz_offset_s(const struct nines_tz *tz, int64_t utc_ms)
{
    struct tz_info info;

    tz_info_at(tz, tz_floor_div(tz_clamp_ms(utc_ms), 1000), &info);
    return info.utoff;
}

void nines_tz_utc_to_local(const struct nines_tz *tz, int64_t utc_ms, struct nines_tm *out)
{
    struct tz_info info;
    int64_t local, days, rem, year;

    utc_ms = tz_clamp_ms(utc_ms);
    tz_info_at(tz, tz_floor_div(utc_ms, 1000), &info);
    local = utc_ms + (int64_t)info.utoff * 1000;
    days = tz_floor_div(local, TZ_DAY_MS);
    rem = local - days * TZ_DAY_MS;
    nines_civil_from_days(days, &year, &out->month, &out->day);
    out->year = (int)year;
    out->hour = (int)(rem / 3600000);
    out->minute = (int)(rem / 60000 % 60);
    out->second = (int)(rem / 1000 % 60);
    out->ms = (int)(rem % 1000);
    out->weekday = nines_weekday_from_days(days);
    out->utc_offset_s = info.utoff;
    out->is_dst = info.is_dst;
    snprintf(out->abbr, sizeof(out->abbr), "%s", info.abbr);
}

/*
 * The UTC instant of local time local_ms. The offsets in force from
 * local - 26 h to local + 26 h form segments [seg_t[i], seg_t[i+1]) of UTC; a
 * candidate u = local - off[i] is real when it falls inside its own segment.
 * The first real one is the first occurrence. With none, local is in a gap:
 * use the offset from before the gap.
 */
static int64_t tz_resolve(const struct nines_tz *z, int64_t local_ms)
{
    int64_t seg_t[TZ_SEGMENTS_MAX], ls = tz_floor_div(local_ms, 1000), t, next;
    int32_t off[TZ_SEGMENTS_MAX];
    struct tz_info info;
    size_t n = 1, i;

    t = ls - TZ_SPAN_S;
    seg_t[0] = t;
    tz_info_at(z, t, &info);
    off[0] = info.utoff;
    while (n < TZ_SEGMENTS_MAX && tz_next_change(z, t, &next) && next <= ls + TZ_SPAN_S) {
        tz_info_at(z, next, &info);
        seg_t[n] = next;
        off[n++] = info.utoff;
        t = next;
    }
    for (i = 0; i < n; i++) {
        int64_t u = local_ms - (int64_t)off[i] * 1000;

        if ((i == 0 || u >= seg_t[i] * 1000) && (i + 1 == n || u < seg_t[i + 1] * 1000))
            return u;
    }
    for (i = 0; i + 1 < n; i++) {
        int64_t b = seg_t[i + 1] * 1000;

        if (local_ms >= b + (int64_t)off[i] * 1000 && local_ms < b + (int64_t)off[i + 1] * 1000)
            return local_ms - (int64_t)off[i] * 1000;
    }
    return local_ms - (int64_t)off[0] * 1000;
}

int64_t nines_tz_local_to_utc_ms(const struct nines_tz *tz, int year, int month, int day,
                                 int hour, int minute, int second, int ms)
{
    const int64_t limit_s = NINES_TZ_MS_LIMIT / 1000 - 1;
    int64_t secs;

    secs = nines_days_from_civil(year, month, day) * TZ_DAY_S + (int64_t)hour * 3600 +
           (int64_t)minute * 60 + second + tz_floor_div(ms, 1000);
    ms = (int)(ms - 1000 * tz_floor_div(ms, 1000));
    if (secs > limit_s)
        secs = limit_s;
    else if (secs < -limit_s)
        secs = -limit_s;
    return tz_clamp_ms(tz_resolve(tz, secs * 1000 + ms));
}

int64_t nines_tz_day_start_utc_ms(const struct nines_tz *tz, int year, int month, int day)
{
    return nines_tz_local_to_utc_ms(tz, year, month, day, 0, 0, 0, 0);
}

int64_t nines_tz_month_start_utc_ms(const struct nines_tz *tz, int year, int month)
{
    return nines_tz_local_to_utc_ms(tz, year, month, 1, 0, 0, 0, 0);
}

const char *nines_tz_name(const struct nines_tz *tz)
{
    return tz->name;
}

void nines_tz_free(struct nines_tz *tz)
{
    free(tz);
}

/* ---- TZif parsing ------------------------------------------------------ */

static uint32_t tz_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t tz_be64(const unsigned char *p)
{
    uint64_t u = (uint64_t)tz_be32(p) << 32 | tz_be32(p + 4);

    return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

static int32_t tz_be32s(const unsigned char *p)
{
    uint32_t u = tz_be32(p);

    return u <= INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static int tz_bad(struct nines_err *err, const char *label, const char *what)
{
    return nines_err_set(err, NINES_EPROTO, "time zone file %s: %s", label, what);
}

static int tz_parse_header(const unsigned char *p, size_t len, struct tz_header *h,
                           struct nines_err *err, const char *label)
{
    if (len < TZ_HEADER_LEN)
        return tz_bad(err, label, "truncated header");
    if (memcmp(p, "TZif", 4) != 0)
        return tz_bad(err, label, "not a TZif file");
    if (p[4] == 0)
        h->version = 1;
    else if (p[4] >= '2' && p[4] <= '9')
        h->version = p[4] - '0';
    else
        return tz_bad(err, label, "unknown TZif version");
    h->isutcnt = tz_be32(p + 20);
    h->isstdcnt = tz_be32(p + 24);
    h->leapcnt = tz_be32(p + 28);
    h->timecnt = tz_be32(p + 32);
    h->typecnt = tz_be32(p + 36);
    h->charcnt = tz_be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 || h->charcnt > 256 ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return tz_bad(err, label, "inconsistent counts in header");
    return 0;
}

static uint64_t tz_block_len(const struct tz_header *h, size_t tsize)
{
    return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* One allocation: the zone, then transitions, types, transition types, abbreviations. */
static struct nines_tz *tz_alloc(size_t ntrans, size_t ntypes, size_t nchars)
{
    size_t size = sizeof(struct nines_tz) + ntrans * sizeof(int64_t) +
                  ntypes * sizeof(struct tz_type) + ntrans + nchars;
    struct nines_tz *z = calloc(1, size);

    if (z == NULL)
        return NULL;
    z->ntrans = ntrans;
    z->ntypes = ntypes;
    z->nchars = nchars;
    z->trans = (int64_t *)(z + 1);
    z->types = (struct tz_type *)(z->trans + ntrans);
    z->trans_type = (uint8_t *)(z->types + ntypes);
    z->chars = (char *)(z->trans_type + ntrans);
    return z;
}

static int tz_parse_block(struct nines_tz *z, const unsigned char *p, size_t tsize,
                          struct nines_err *err, const char *label)
{
    size_t i;

    for (i = 0; i < z->ntrans; i++, p += tsize) {
        z->trans[i] = tsize == 8 ? tz_be64(p) : tz_be32s(p);
        if (i > 0 && z->trans[i] <= z->trans[i - 1])
            return tz_bad(err, label, "transition times out of order");
    }
    for (i = 0; i < z->ntrans; i++, p++) {
        if (*p >= z->ntypes)
            return tz_bad(err, label, "transition to an undefined type");
        z->trans_type[i] = *p;
    }
    for (i = 0; i < z->ntypes; i++, p += 6) {
        z->types[i].utoff = tz_be32s(p);
        z->types[i].is_dst = p[4];
        z->types[i].abbr = p[5];
        if (!tz_offset_ok(z->types[i].utoff) || p[4] > 1 || p[5] >= z->nchars)
            return tz_bad(err, label, "invalid local time type");
    }
    memcpy(z->chars, p, z->nchars);
    if (z->chars[z->nchars - 1] != '\0')
        return tz_bad(err, label, "unterminated abbreviation");
    return 0;
}

/* The footer of a v2+ file: "\n" TZ-string "\n", the string possibly empty. */
static int tz_parse_footer(struct nines_tz *z, const unsigned char *p, size_t len,
                           struct nines_err *err, const char *label)
{
    char buf[TZ_FOOTER_MAX];
    const unsigned char *nl;

    if (len < 2 || p[0] != '\n')
        return tz_bad(err, label, "missing footer");
    nl = memchr(p + 1, '\n', len - 1 < TZ_FOOTER_MAX ? len - 1 : TZ_FOOTER_MAX);
    if (nl == NULL)
        return tz_bad(err, label, "truncated or overlong footer");
    memcpy(buf, p + 1, (size_t)(nl - p - 1));
    buf[nl - p - 1] = '\0';
    if (buf[0] == '\0')
        return 0; /* no rule: the last type stays in force */
    if (memchr(buf, '\0', (size_t)(nl - p - 1)) != NULL || tz_rule_parse(buf, &z->rule) != 0)
        return tz_bad(err, label, "invalid TZ rule in footer");
    z->has_rule = 1;
    return 0;
}

static struct nines_tz *tz_parse(const unsigned char *p, size_t len, const char *name,
                                 struct nines_err *err, const char *label)
{
    struct tz_header h;
    struct nines_tz *z;
    size_t off = 0, tsize = 4;
    uint64_t blen;

    if (tz_parse_header(p, len, &h, err, label) != 0)
        return NULL;
    if (h.version >= 2) {
        /* Skip the 32-bit block; the 64-bit header, block and footer follow. */
        blen = tz_block_len(&h, 4);
        if (blen > len - TZ_HEADER_LEN) {
            tz_bad(err, label, "truncated data");
            return NULL;
        }
        off = TZ_HEADER_LEN + (size_t)blen;
        if (tz_parse_header(p + off, len - off, &h, err, label) != 0)
            return NULL;
        if (h.version < 2) {
            tz_bad(err, label, "second header is not version 2+");
            return NULL;
        }
        tsize = 8;
    }
    off += TZ_HEADER_LEN;
    if (h.leapcnt != 0) {
        nines_err_set(err, NINES_EPROTO, "time zone file %s: leap-second zones "
                      "(right/...) are not supported", label);
        return NULL;
    }
    blen = tz_block_len(&h, tsize);
    if (blen > len - off) {
        tz_bad(err, label, "truncated data");
        return NULL;
    }
    z = tz_alloc(h.timecnt, h.typecnt, h.charcnt);
    if (z == NULL) {
        nines_err_set(err, NINES_ENOMEM, "time zone %s: out of memory", label);
        return NULL;
    }
    snprintf(z->name, sizeof(z->name), "%s", name);
    if (tz_parse_block(z, p + off, tsize, err, label) != 0 ||
        (tsize == 8 &&
         tz_parse_footer(z, p + off + blen, len - off - (size_t)blen, err, label) != 0)) {
        free(z);
        return NULL;
    }
    return z;
}

/* Reads a whole regular file of at most TZ_FILE_MAX bytes. */
static int tz_read_file(const char *path, unsigned char **out, size_t *len,
                        struct nines_err *err)
{
    struct stat st;
    unsigned char *buf;
    size_t got = 0;
    int fd, e;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        return nines_err_set(err, e == ENOENT || e == ENOTDIR ? NINES_ENOTFOUND : NINES_EIO,
                             "cannot open %s: %s", path, strerror(e));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return nines_err_set(err, NINES_ENOTFOUND, "%s is not a time zone file", path);
    }
    if (st.st_size > TZ_FILE_MAX) {
        close(fd);
        return nines_err_set(err, NINES_EPROTO, "time zone file %s: too large", path);
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return nines_err_set(err, NINES_ENOMEM, "time zone file %s: out of memory", path);
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            close(fd);
            free(buf);
            return nines_err_set(err, NINES_EIO, "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0)
            break; /* shrank under us: parse what is there */
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
}

static struct nines_tz *tz_load_path(const char *path, const char *name, struct nines_err *err)
{
    unsigned char *buf = NULL;
    struct nines_tz *z;
    size_t len = 0;

    if (tz_read_file(path, &buf, &len, err) != 0)
        return NULL;
    z = tz_parse(buf, len, name, err, path);
    free(buf);
    return z;
}

static struct nines_tz *tz_utc(const char *name, struct nines_err *err)
{
    struct nines_tz *z = tz_alloc(0, 1, 4);

    if (z == NULL) {
        nines_err_set(err, NINES_ENOMEM, "time zone %s: out of memory", name);
        return NULL;
    }
    snprintf(z->name, sizeof(z->name), "%s", name);
    memcpy(z->chars, "UTC", 4);
    return z;
}

static int tz_name_ok(const char *name)
{
    const char *c;

    if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL ||
        strlen(name) >= NINES_TZ_NAME_LEN)
        return 0;
    for (c = name; *c != '\0'; c++) {
        if (!tz_is_alpha(*c) && !tz_is_digit(*c) && strchr("_+-./", *c) == NULL)
            return 0;
    }
    return 1;
}

struct nines_tz *nines_tz_load(const char *name, struct nines_err *err)
{
    char path[TZ_PATH_MAX];
    const char *dir = getenv("TZDIR");
    struct nines_err e2;
    struct nines_tz *z;
    int n;

    if (name == NULL || !tz_name_ok(name)) {
        nines_err_set(err, NINES_EINVAL, "invalid time zone name \"%.64s\"", name ? name : "");
        return NULL;
    }
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return tz_utc(name, err);
    if (dir == NULL || dir[0] == '\0')
        dir = TZ_DEFAULT_DIR;
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        nines_err_set(err, NINES_EINVAL, "time zone path too long for \"%.64s\"", name);
        return NULL;
    }
    memset(&e2, 0, sizeof(e2));
    z = tz_load_path(path, name, &e2);
    if (z == NULL && e2.code == NINES_ENOTFOUND)
        nines_err_set(err, NINES_ENOTFOUND, "unknown time zone \"%s\" (no %s)", name, path);
    else if (z == NULL && err != NULL)
        *err = e2;
    return z;
}

struct nines_tz *nines_tz_load_file(const char *path, struct nines_err *err)
{
    return tz_load_path(path, path, err);
}

/* ---- cache ------------------------------------------------------------- */

struct nines_tzcache {
    struct nines_tz **zones;
    size_t n;
    size_t cap;
};

struct nines_tzcache *nines_tzcache_new(void)
{
    return calloc(1, sizeof(struct nines_tzcache));
}

void nines_tzcache_free(struct nines_tzcache *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n; i++)
        nines_tz_free(c->zones[i]);
    free(c->zones);
    free(c);
}

const struct nines_tz *nines_tzcache_get(struct nines_tzcache *c, const char *name,
                                         struct nines_err *err)
{
    struct nines_tz *z;
    size_t i;

    for (i = 0; name != NULL && i < c->n; i++) {
        if (strcmp(c->zones[i]->name, name) == 0)
            return c->zones[i];
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        struct nines_tz **zones;

        if (cap > TZ_CACHE_MAX) {
            nines_err_set(err, NINES_ESTATE, "time zone cache full (%d zones)", TZ_CACHE_MAX);
            return NULL;
        }
        zones = realloc(c->zones, cap * sizeof(*zones));
        if (zones == NULL) {
            nines_err_set(err, NINES_ENOMEM, "time zone cache: out of memory");
            return NULL;
        }
        c->zones = zones;
        c->cap = cap;
    }
    z = nines_tz_load(name, err);
    if (z != NULL)
        c->zones[c->n++] = z;
    return z;
}
