/*
 * IANA time zones, read from the system's TZif files (RFC 8536/9636), with no
 * global state: no TZ variable, tzset() or mktime(). A loaded zone is an
 * immutable object the caller owns; share it freely between computations.
 *
 * Zone files come from $TZDIR when set, else /usr/share/zoneinfo (Debian:
 * package tzdata). Version 2+ files are read from their 64-bit block; the
 * footer's POSIX TZ rule (e.g. "CET-1CEST,M3.5.0,M10.5.0/3") gives times after
 * the last stored transition. "UTC" and "Etc/UTC" are built in.
 *
 * Local times that do not exist or occur twice (DST changes) resolve by one
 * rule, used everywhere (reports, business hours, maintenance windows):
 *   - a nonexistent local time (spring forward) is read with the offset in
 *     force before the gap, so it lands as far after the gap as it was into
 *     it: Europe/Berlin 2026-03-29 02:30 → 01:30 UTC, shown as 03:30 CEST;
 *     the gap's start (02:00) becomes the first instant after it (03:00);
 *   - a repeated local time (fall back) is its first occurrence:
 *     America/New_York 2026-11-01 01:30 → 05:30 UTC (EDT), not 06:30 (EST).
 *
 * Instants are ms since the epoch (no leap seconds) and are clamped to
 * ±NINES_TZ_MS_LIMIT (about ±146 million years).
 */
#ifndef NINES_TZ_H
#define NINES_TZ_H

#include <stdint.h>

#include "nines/err.h"

#define NINES_TZ_MS_LIMIT INT64_C(0x3fffffffffffffff)
#define NINES_TZ_NAME_LEN 256
#define NINES_TZ_ABBR_LEN 16

struct nines_tz;

/* A broken-down local time. */
struct nines_tm {
    int year;
    int month;   /* 1-12 */
    int day;     /* 1-31 */
    int hour;
    int minute;
    int second;
    int ms;
    int weekday; /* 0 = Sunday */
    int utc_offset_s; /* local = UTC + offset */
    int is_dst;
    char abbr[NINES_TZ_ABBR_LEN]; /* "CEST", "EST", "+03" */
};

/*
 * Loads zone `name` ("Europe/Berlin"). Names are relative paths of letters,
 * digits and "_+-./"; a leading '/', ".." or other characters are
 * NINES_EINVAL; a zone with no file is NINES_ENOTFOUND; a corrupt file is
 * NINES_EPROTO. Returns NULL with err filled (err may be NULL).
 */
struct nines_tz *nines_tz_load(const char *name, struct nines_err *err);
/* Loads a TZif file by path (tests, custom zones); the zone is named `path`. */
struct nines_tz *nines_tz_load_file(const char *path, struct nines_err *err);
void nines_tz_free(struct nines_tz *tz);
const char *nines_tz_name(const struct nines_tz *tz);

/* The UTC offset in seconds (local = UTC + offset) at instant utc_ms. */
int nines_tz_offset_s(const struct nines_tz *tz, int64_t utc_ms);
void nines_tz_utc_to_local(const struct nines_tz *tz, int64_t utc_ms, struct nines_tm *out);
/*
 * The instant of a local time, resolved by the rule above. Fields may be out
 * of range and are normalised arithmetically: month 13 is January of the next
 * year, day 0 the last day of the previous month, hour 24 the next midnight.
 */
int64_t nines_tz_local_to_utc_ms(const struct nines_tz *tz, int year, int month, int day,
                                 int hour, int minute, int second, int ms);
/* Local midnight (or the first instant of the day, if midnight is skipped). */
int64_t nines_tz_day_start_utc_ms(const struct nines_tz *tz, int year, int month, int day);
/* Local midnight on the 1st; month may be out of range (see above). */
int64_t nines_tz_month_start_utc_ms(const struct nines_tz *tz, int year, int month);

/*
 * A cache of loaded zones the caller owns (one per process or per config
 * generation): each name is read from disk once. Not thread-safe.
 */
struct nines_tzcache;
struct nines_tzcache *nines_tzcache_new(void);
void nines_tzcache_free(struct nines_tzcache *c);
/* The zone, loaded on first use and owned by the cache; NULL with err filled. */
const struct nines_tz *nines_tzcache_get(struct nines_tzcache *c, const char *name,
                                         struct nines_err *err);

/* Proleptic Gregorian calendar: days since 1970-01-01 (month/day normalised). */
int64_t nines_days_from_civil(int64_t year, int month, int day);
void nines_civil_from_days(int64_t days, int64_t *year, int *month, int *day);
/* 0 = Sunday. */
int nines_weekday_from_days(int64_t days);

#endif
