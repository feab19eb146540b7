/*
 * Time zones from the system's TZif files (package tzdata) and from crafted
 * files: DST transitions, the footer rule far in the future, nonexistent and
 * repeated local times, DST-correct month lengths, and corrupt files.
 *
 * Expected instants come from timegm() (libc's UTC arithmetic, which uses no
 * time zone), so each expectation reads as a UTC wall-clock time.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nines/err.h"
#include "testutil.h"
#include "tz.h"

#define H_MS INT64_C(3600000)

static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

static struct nines_tz *load(const char *name)
{
    struct nines_err err;
    struct nines_tz *tz;

    memset(&err, 0, sizeof(err));
    tz = nines_tz_load(name, &err);
    cr_assert(tz != NULL, "load %s: %s", name, err.msg);
    cr_assert(eq(str, (char *)nines_tz_name(tz), (char *)name));
    return tz;
}

static void assert_local(const struct nines_tz *tz, int64_t at, int y, int mo, int d, int h,
                         int mi, int off_s, const char *abbr)
{
    struct nines_tm tm;

    nines_tz_utc_to_local(tz, at, &tm);
    cr_assert(eq(int, tm.year, y), "%s at %lld: year", nines_tz_name(tz), (long long)at);
    cr_assert(eq(int, tm.month, mo), "%s at %lld: month", nines_tz_name(tz), (long long)at);
    cr_assert(eq(int, tm.day, d), "%s at %lld: day", nines_tz_name(tz), (long long)at);
    cr_assert(eq(int, tm.hour, h), "%s at %lld: hour", nines_tz_name(tz), (long long)at);
    cr_assert(eq(int, tm.minute, mi), "%s at %lld: minute", nines_tz_name(tz), (long long)at);
    cr_assert(eq(int, tm.utc_offset_s, off_s), "%s at %lld: offset", nines_tz_name(tz),
              (long long)at);
    cr_assert(eq(str, tm.abbr, (char *)abbr), "%s at %lld: abbr", nines_tz_name(tz),
              (long long)at);
}

Test(tz, expected_instants_are_anchored)
{
    /* The timegm() helper against two literal epoch values (date -u -d ... +%s). */
    cr_assert(eq(i64, utc_ms(2026, 3, 29, 1, 0), INT64_C(1774746000000)));
    cr_assert(eq(i64, utc_ms(2026, 11, 1, 6, 0), INT64_C(1793512800000)));
}

/* Europe/Berlin 2026: CET (+1) → CEST (+2) at 2026-03-29 01:00 UTC,
 * back at 2026-10-25 01:00 UTC. */
Test(tz, berlin_2026_transitions)
{
    struct nines_tz *tz = load("Europe/Berlin");
    int64_t spring = utc_ms(2026, 3, 29, 1, 0), fall = utc_ms(2026, 10, 25, 1, 0);

    cr_assert(eq(int, nines_tz_offset_s(tz, spring - 1), 3600));
    cr_assert(eq(int, nines_tz_offset_s(tz, spring), 7200));
    cr_assert(eq(int, nines_tz_offset_s(tz, fall - 1), 7200));
    cr_assert(eq(int, nines_tz_offset_s(tz, fall), 3600));
    /* The clock jumps 01:59:59.999 CET → 03:00 CEST, and 02:59:59.999 CEST → 02:00 CET. */
    assert_local(tz, spring - 60000, 2026, 3, 29, 1, 59, 3600, "CET");
    assert_local(tz, spring, 2026, 3, 29, 3, 0, 7200, "CEST");
    assert_local(tz, fall - 60000, 2026, 10, 25, 2, 59, 7200, "CEST");
    assert_local(tz, fall, 2026, 10, 25, 2, 0, 3600, "CET");
    nines_tz_free(tz);
}

/* America/New_York 2026: EST (−5) → EDT (−4) at 2026-03-08 07:00 UTC,
 * back at 2026-11-01 06:00 UTC. */
Test(tz, new_york_2026_transitions)
{
    struct nines_tz *tz = load("America/New_York");
    int64_t spring = utc_ms(2026, 3, 8, 7, 0), fall = utc_ms(2026, 11, 1, 6, 0);
    struct nines_tm tm;

    cr_assert(eq(int, nines_tz_offset_s(tz, spring - 1), -18000));
    cr_assert(eq(int, nines_tz_offset_s(tz, spring), -14400));
    cr_assert(eq(int, nines_tz_offset_s(tz, fall - 1), -14400));
    cr_assert(eq(int, nines_tz_offset_s(tz, fall), -18000));
    assert_local(tz, spring - 60000, 2026, 3, 8, 1, 59, -18000, "EST");
    assert_local(tz, spring, 2026, 3, 8, 3, 0, -14400, "EDT");
    /* 01:30 happens twice on 2026-11-01: 05:30 UTC (EDT) and 06:30 UTC (EST). */
    assert_local(tz, utc_ms(2026, 11, 1, 5, 30), 2026, 11, 1, 1, 30, -14400, "EDT");
    assert_local(tz, utc_ms(2026, 11, 1, 6, 30), 2026, 11, 1, 1, 30, -18000, "EST");
    nines_tz_utc_to_local(tz, utc_ms(2026, 11, 1, 5, 30), &tm);
    cr_assert(eq(int, tm.is_dst, 1));
    cr_assert(eq(int, tm.weekday, 0), "2026-11-01 is a Sunday");
    nines_tz_free(tz);
}

/*
 * 2060 is past the last transition stored in Debian's files (2037), so the
 * footer rule decides. Berlin "CET-1CEST,M3.5.0,M10.5.0/3": last Sundays are
 * 2060-03-28 and 2060-10-31, at 01:00 UTC both. New York "EST5EDT,M3.2.0,M11.1.0":
 * second Sunday of March 2060-03-14 at 02:00 EST = 07:00 UTC; first Sunday of
 * November 2060-11-07 at 02:00 EDT = 06:00 UTC.
 */
Test(tz, far_future_uses_the_footer_rule)
{
    struct nines_tz *be = load("Europe/Berlin"), *ny = load("America/New_York");
    int64_t t;

    t = utc_ms(2060, 3, 28, 1, 0);
    cr_assert(eq(int, nines_tz_offset_s(be, t - 1), 3600));
    cr_assert(eq(int, nines_tz_offset_s(be, t), 7200));
    t = utc_ms(2060, 10, 31, 1, 0);
    cr_assert(eq(int, nines_tz_offset_s(be, t - 1), 7200));
    cr_assert(eq(int, nines_tz_offset_s(be, t), 3600));
    assert_local(be, t, 2060, 10, 31, 2, 0, 3600, "CET");
    t = utc_ms(2060, 3, 14, 7, 0);
    cr_assert(eq(int, nines_tz_offset_s(ny, t - 1), -18000));
    cr_assert(eq(int, nines_tz_offset_s(ny, t), -14400));
    t = utc_ms(2060, 11, 7, 6, 0);
    cr_assert(eq(int, nines_tz_offset_s(ny, t - 1), -14400));
    cr_assert(eq(int, nines_tz_offset_s(ny, t), -18000));
    assert_local(ny, t - 1, 2060, 11, 7, 1, 59, -14400, "EDT");
    /* Local → UTC follows the rule too: 2060-07-01 12:00 CEST = 10:00 UTC. */
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2060, 7, 1, 12, 0, 0, 0),
                 utc_ms(2060, 7, 1, 10, 0)));
    /* A year far beyond any table: 2400-07-01 12:00 EDT = 16:00 UTC. */
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(ny, 2400, 7, 1, 12, 0, 0, 0),
                 utc_ms(2400, 7, 1, 16, 0)));
    nines_tz_free(be);
    nines_tz_free(ny);
}

/* Spring forward: a local time in the gap is read with the offset from before it. */
Test(tz, nonexistent_local_times_land_after_the_gap)
{
    struct nines_tz *be = load("Europe/Berlin"), *ny = load("America/New_York");
    struct nines_tm tm;
    int64_t t;

    /* Berlin 2026-03-29 02:30 does not exist; read as CET (+1): 01:30 UTC = 03:30 CEST. */
    t = nines_tz_local_to_utc_ms(be, 2026, 3, 29, 2, 30, 0, 0);
    cr_assert(eq(i64, t, utc_ms(2026, 3, 29, 1, 30)));
    nines_tz_utc_to_local(be, t, &tm);
    cr_assert(eq(int, tm.hour, 3));
    cr_assert(eq(int, tm.minute, 30));
    /* The gap's start 02:00 is the instant after the gap, 03:00 CEST = 01:00 UTC;
     * 03:00 itself is the same instant; 01:59:59.999 is the last instant before it. */
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 3, 29, 2, 0, 0, 0),
                 utc_ms(2026, 3, 29, 1, 0)));
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 3, 29, 3, 0, 0, 0),
                 utc_ms(2026, 3, 29, 1, 0)));
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 3, 29, 1, 59, 59, 999),
                 utc_ms(2026, 3, 29, 1, 0) - 1));
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 3, 29, 2, 59, 59, 999),
                 utc_ms(2026, 3, 29, 2, 0) - 1));
    /* New York 2026-03-08 02:30 does not exist; read as EST (−5): 07:30 UTC = 03:30 EDT. */
    t = nines_tz_local_to_utc_ms(ny, 2026, 3, 8, 2, 30, 0, 0);
    cr_assert(eq(i64, t, utc_ms(2026, 3, 8, 7, 30)));
    assert_local(ny, t, 2026, 3, 8, 3, 30, -14400, "EDT");
    nines_tz_free(be);
    nines_tz_free(ny);
}

/* Fall back: a repeated local time is its first occurrence. */
Test(tz, repeated_local_times_are_the_first_occurrence)
{
    struct nines_tz *be = load("Europe/Berlin"), *ny = load("America/New_York");

    /* Berlin 2026-10-25 02:30 occurs at 00:30 UTC (CEST) and 01:30 UTC (CET): the first. */
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 10, 25, 2, 30, 0, 0),
                 utc_ms(2026, 10, 25, 0, 30)));
    /* 03:00 CET exists once: 02:00 UTC. 01:59 CEST is before the repeat: 23:59 UTC. */
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 10, 25, 3, 0, 0, 0),
                 utc_ms(2026, 10, 25, 2, 0)));
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 10, 25, 1, 59, 0, 0),
                 utc_ms(2026, 10, 24, 23, 59)));
    /* New York 2026-11-01 01:30: 05:30 UTC (EDT), not 06:30 (EST). */
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(ny, 2026, 11, 1, 1, 30, 0, 0),
                 utc_ms(2026, 11, 1, 5, 30)));
    /* 00:59 EDT and 02:00 EST exist once: 04:59 and 07:00 UTC. */
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(ny, 2026, 11, 1, 0, 59, 0, 0),
                 utc_ms(2026, 11, 1, 4, 59)));
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(ny, 2026, 11, 1, 2, 0, 0, 0),
                 utc_ms(2026, 11, 1, 7, 0)));
    nines_tz_free(be);
    nines_tz_free(ny);
}

/*
 * Month lengths in local time. Berlin March 2026: 03-01 00:00 CET = 02-28 23:00 UTC,
 * 04-01 00:00 CEST = 03-31 22:00 UTC: 31 × 24 − 1 = 743 h. October: 10-01 00:00 CEST
 * = 09-30 22:00 UTC, 11-01 00:00 CET = 10-31 23:00 UTC: 31 × 24 + 1 = 745 h.
 * New York March: 05:00 UTC → 04-01 04:00 UTC: 743 h. November: 11-01 04:00 UTC →
 * 12-01 05:00 UTC: 30 × 24 + 1 = 721 h.
 */
Test(tz, month_starts_and_dst_month_lengths)
{
    struct nines_tz *be = load("Europe/Berlin"), *ny = load("America/New_York");

    cr_assert(eq(i64, nines_tz_month_start_utc_ms(be, 2026, 3), utc_ms(2026, 2, 28, 23, 0)));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(be, 2026, 4), utc_ms(2026, 3, 31, 22, 0)));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(be, 2026, 4) -
                          nines_tz_month_start_utc_ms(be, 2026, 3), 743 * H_MS));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(be, 2026, 11) -
                          nines_tz_month_start_utc_ms(be, 2026, 10), 745 * H_MS));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(ny, 2026, 3), utc_ms(2026, 3, 1, 5, 0)));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(ny, 2026, 4) -
                          nines_tz_month_start_utc_ms(ny, 2026, 3), 743 * H_MS));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(ny, 2026, 12) -
                          nines_tz_month_start_utc_ms(ny, 2026, 11), 721 * H_MS));
    /* A month without a change: June 2026 in New York, 30 × 24 = 720 h. */
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(ny, 2026, 7) -
                          nines_tz_month_start_utc_ms(ny, 2026, 6), 720 * H_MS));
    /* Out-of-range months normalise: month 13 of 2026 is January 2027, month 0 December 2025. */
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(be, 2026, 13),
                 nines_tz_month_start_utc_ms(be, 2027, 1)));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(be, 2026, 0),
                 nines_tz_month_start_utc_ms(be, 2025, 12)));
    /* Days: 2026-03-08 in New York is 23 h long, 2026-11-01 is 25 h. */
    cr_assert(eq(i64, nines_tz_day_start_utc_ms(ny, 2026, 3, 9) -
                          nines_tz_day_start_utc_ms(ny, 2026, 3, 8), 23 * H_MS));
    cr_assert(eq(i64, nines_tz_day_start_utc_ms(ny, 2026, 11, 2) -
                          nines_tz_day_start_utc_ms(ny, 2026, 11, 1), 25 * H_MS));
    /* Day 0 is the last day of the previous month; hour 24 the next midnight. */
    cr_assert(eq(i64, nines_tz_day_start_utc_ms(be, 2026, 3, 0),
                 nines_tz_day_start_utc_ms(be, 2026, 2, 28)));
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(be, 2026, 3, 28, 24, 0, 0, 0),
                 nines_tz_day_start_utc_ms(be, 2026, 3, 29)));
    nines_tz_free(be);
    nines_tz_free(ny);
}

/* America/Sao_Paulo 2018-11-04: the clocks jumped from 00:00 to 01:00, so the day
 * starts at 01:00 −02 = 03:00 UTC, the first instant of that local day. */
Test(tz, day_start_when_midnight_is_skipped)
{
    struct nines_tz *tz = load("America/Sao_Paulo");

    cr_assert(eq(i64, nines_tz_day_start_utc_ms(tz, 2018, 11, 4), utc_ms(2018, 11, 4, 3, 0)));
    assert_local(tz, utc_ms(2018, 11, 4, 3, 0), 2018, 11, 4, 1, 0, -7200, "-02");
    nines_tz_free(tz);
}

/* Every 15 minutes of 2026: UTC → local → UTC returns the instant, except in the
 * repeated hour's second pass (which maps to the first); local → UTC → local returns
 * the wall time except in the gap. */
Test(tz, round_trips_through_a_year)
{
    static const char names[2][20] = { "Europe/Berlin", "America/New_York" };
    int z;

    for (z = 0; z < 2; z++) {
        struct nines_tz *tz = load(names[z]);
        int64_t t, start = utc_ms(2026, 1, 1, 0, 0), repeated = 0;

        for (t = start; t < start + 366 * 24 * H_MS; t += 15 * 60000) {
            struct nines_tm tm;
            int64_t back;

            nines_tz_utc_to_local(tz, t, &tm);
            back = nines_tz_local_to_utc_ms(tz, tm.year, tm.month, tm.day, tm.hour, tm.minute,
                                            tm.second, tm.ms);
            if (back != t) {
                /* Only the second pass of the repeated hour: exactly one hour earlier. */
                cr_assert(eq(i64, back, t - H_MS), "%s %lld", names[z], (long long)t);
                cr_assert(eq(int, tm.is_dst, 0));
                repeated++;
            }
        }
        cr_assert(eq(i64, repeated, 4), "%s: one repeated hour = four quarter hours", names[z]);
        nines_tz_free(tz);
    }
}

Test(tz, utc_is_built_in)
{
    char dir[256];
    struct nines_err err;
    struct nines_tz *tz;
    struct nines_tm tm;

    /* An empty zone directory: UTC still loads, Berlin does not. */
    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    cr_assert(eq(int, setenv("TZDIR", dir, 1), 0));
    tz = load("UTC");
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2026, 7, 1, 0, 0)), 0));
    cr_assert(eq(i64, nines_tz_local_to_utc_ms(tz, 1970, 1, 1, 0, 0, 0, 0), 0));
    cr_assert(eq(i64, nines_tz_month_start_utc_ms(tz, 2026, 3), utc_ms(2026, 3, 1, 0, 0)));
    /* One millisecond before the epoch: 1969-12-31 23:59:59.999, a Wednesday. */
    nines_tz_utc_to_local(tz, -1, &tm);
    cr_assert(eq(int, tm.year, 1969));
    cr_assert(eq(int, tm.month, 12));
    cr_assert(eq(int, tm.day, 31));
    cr_assert(eq(int, tm.hour, 23));
    cr_assert(eq(int, tm.second, 59));
    cr_assert(eq(int, tm.ms, 999));
    cr_assert(eq(int, tm.weekday, 3));
    cr_assert(eq(str, tm.abbr, "UTC"));
    nines_tz_free(tz);
    tz = load("Etc/UTC");
    cr_assert(eq(int, nines_tz_offset_s(tz, INT64_MAX), 0));
    nines_tz_free(tz);
    cr_assert(nines_tz_load("Europe/Berlin", &err) == NULL);
    cr_assert(eq(int, err.code, NINES_ENOTFOUND));
    cr_assert(eq(int, test_rmtree(dir), 0));
}

Test(tz, unknown_and_invalid_names)
{
    static const char bad[][40] = { "../etc/passwd", "/etc/localtime", "Europe/../../etc/x",
                                    "",              "Europe/Berlin\n", "Europe Berlin",
                                    "Europe\\Berlin" };
    struct nines_err err;
    size_t i;

    memset(&err, 0, sizeof(err));
    cr_assert(nines_tz_load("Europe/Atlantis", &err) == NULL);
    cr_assert(eq(int, err.code, NINES_ENOTFOUND));
    cr_assert(strstr(err.msg, "unknown time zone \"Europe/Atlantis\"") != NULL, "%s", err.msg);
    /* A directory is not a zone. */
    cr_assert(nines_tz_load("Europe", &err) == NULL);
    cr_assert(eq(int, err.code, NINES_ENOTFOUND));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        cr_assert(nines_tz_load(bad[i], &err) == NULL, "%s", bad[i]);
        cr_assert(eq(int, err.code, NINES_EINVAL), "%s", bad[i]);
        cr_assert(strstr(err.msg, "invalid time zone name") != NULL, "%s", err.msg);
    }
    cr_assert(nines_tz_load(NULL, NULL) == NULL);
    nines_tz_free(NULL);
}

/* Absurd inputs saturate instead of overflowing (UBSan checks this under NINES_SANITIZE). */
Test(tz, extreme_inputs_saturate)
{
    static const char names[3][20] = { "Europe/Berlin", "America/New_York", "UTC" };
    int z;

    for (z = 0; z < 3; z++) {
        struct nines_tz *tz = load(names[z]);
        struct nines_tm tm;
        int64_t hi, lo;

        hi = nines_tz_local_to_utc_ms(tz, INT_MAX, INT_MAX, INT_MAX, INT_MAX, INT_MAX, INT_MAX,
                                      INT_MAX);
        lo = nines_tz_local_to_utc_ms(tz, INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN,
                                      INT_MIN);
        cr_assert(le(i64, hi, NINES_TZ_MS_LIMIT));
        cr_assert(gt(i64, hi, NINES_TZ_MS_LIMIT - 2 * 86400000));
        cr_assert(ge(i64, lo, -NINES_TZ_MS_LIMIT));
        cr_assert(lt(i64, lo, -NINES_TZ_MS_LIMIT + 2 * 86400000));
        nines_tz_utc_to_local(tz, INT64_MAX, &tm);
        cr_assert(gt(int, tm.year, 100000000), "about 146 million years");
        nines_tz_utc_to_local(tz, INT64_MIN, &tm);
        cr_assert(lt(int, tm.year, -100000000));
        cr_assert(ge(int, nines_tz_offset_s(tz, INT64_MIN), -26 * 3600));
        cr_assert(le(int, nines_tz_offset_s(tz, INT64_MAX), 26 * 3600));
        nines_tz_free(tz);
    }
}

Test(tz, cache_loads_each_zone_once)
{
    struct nines_tzcache *c = nines_tzcache_new();
    const struct nines_tz *a, *b, *u;
    struct nines_err err;

    cr_assert(c != NULL);
    a = nines_tzcache_get(c, "Europe/Berlin", &err);
    cr_assert(a != NULL, "%s", err.msg);
    u = nines_tzcache_get(c, "UTC", &err);
    cr_assert(u != NULL && u != a);
    b = nines_tzcache_get(c, "Europe/Berlin", &err);
    cr_assert(a == b, "the second lookup returns the cached zone");
    cr_assert(eq(int, nines_tz_offset_s(b, utc_ms(2026, 7, 1, 0, 0)), 7200));
    memset(&err, 0, sizeof(err));
    cr_assert(nines_tzcache_get(c, "Mars/Olympus_Mons", &err) == NULL);
    cr_assert(eq(int, err.code, NINES_ENOTFOUND));
    cr_assert(nines_tzcache_get(c, "../x", &err) == NULL);
    cr_assert(eq(int, err.code, NINES_EINVAL));
    cr_assert(nines_tzcache_get(c, "Europe/Berlin", &err) == a, "failures evict nothing");
    nines_tzcache_free(c);
    nines_tzcache_free(NULL);
}

Test(tz, calendar_helpers)
{
    int64_t d, y;
    int m, day;

    cr_assert(eq(i64, nines_days_from_civil(1970, 1, 1), 0));
    cr_assert(eq(i64, nines_days_from_civil(1969, 12, 31), -1));
    /* 30 years with 7 leap days (1972 … 1996) and Jan + Feb 2000 (31 + 29): 10957 + 60. */
    cr_assert(eq(i64, nines_days_from_civil(2000, 3, 1), 11017));
    cr_assert(eq(i64, nines_days_from_civil(2026, 13, 1), nines_days_from_civil(2027, 1, 1)));
    cr_assert(eq(i64, nines_days_from_civil(2024, 3, 0), nines_days_from_civil(2024, 2, 29)));
    cr_assert(eq(int, nines_weekday_from_days(0), 4), "1970-01-01 was a Thursday");
    cr_assert(eq(int, nines_weekday_from_days(nines_days_from_civil(2026, 3, 29)), 0));
    cr_assert(eq(int, nines_weekday_from_days(-1), 3));
    for (d = -800000; d <= 800000; d += 7) {
        nines_civil_from_days(d, &y, &m, &day);
        cr_assert(eq(i64, nines_days_from_civil(y, m, day), d));
        cr_assert(m >= 1 && m <= 12 && day >= 1 && day <= 31);
    }
}

/* ---- crafted and corrupt files --------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/*
 * A version 2 TZif file with no transitions, one local time type (offset
 * utoff, abbreviation "ZZZ") and the given footer: every instant follows the footer.
 */
static size_t craft_tzif(unsigned char *buf, int32_t utoff, const char *footer)
{
    size_t n = 0, k;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        memset(buf + n, 0, 44);
        memcpy(buf + n, "TZif2", 5);
        put32(buf + n + 36, 1); /* typecnt */
        put32(buf + n + 40, 4); /* charcnt */
        n += 44;
        put32(buf + n, (uint32_t)utoff);
        buf[n + 4] = 0;
        buf[n + 5] = 0;
        memcpy(buf + n + 6, "ZZZ", 4);
        n += 10;
    }
    k = strlen(footer);
    buf[n++] = '\n';
    memcpy(buf + n, footer, k);
    n += k;
    buf[n++] = '\n';
    return n;
}

static void write_bytes(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    cr_assert(f != NULL);
    cr_assert(eq(sz, fwrite(p, 1, n, f), n));
    cr_assert(eq(int, fclose(f), 0));
}

/* Rewrites a same-length file in place (fast: no truncation, which ext4 flushes). */
static void overwrite_bytes(const char *path, const unsigned char *p, size_t n)
{
    int fd = open(path, O_WRONLY);

    cr_assert(fd >= 0);
    cr_assert(eq(sz, (size_t)pwrite(fd, p, n, 0), n));
    cr_assert(eq(int, close(fd), 0));
}

static struct nines_tz *load_crafted(const char *dir, int32_t utoff, const char *footer,
                                     struct nines_err *err)
{
    unsigned char buf[512];
    char path[300];
    size_t n = craft_tzif(buf, utoff, footer);

    snprintf(path, sizeof(path), "%s/crafted", dir);
    write_bytes(path, buf, n);
    return nines_tz_load_file(path, err);
}

/*
 * POSIX rule features the system zones do not all use: a southern-hemisphere
 * rule, Julian days, negative and over-24-hour change times, half-hour offsets,
 * DST all year, negative DST (Dublin), and the default rule when none is given.
 */
Test(tz, footer_rule_features)
{
    char dir[256];
    struct nines_err err;
    struct nines_tz *tz, *sys;
    int64_t t;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));

    /* Sydney: AEDT (+11) ends 1st Sunday of April at 03:00 AEDT, starts 1st Sunday of
     * October at 02:00 AEST. 2030: 04-07 03:00 AEDT = 04-06 16:00 UTC; 10-06 02:00 AEST
     * = 10-05 16:00 UTC. The footer-only zone must agree with the system's table. */
    tz = load_crafted(dir, 36000, "AEST-10AEDT,M10.1.0,M4.1.0/3", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    t = utc_ms(2030, 4, 6, 16, 0);
    cr_assert(eq(int, nines_tz_offset_s(tz, t - 1), 39600));
    cr_assert(eq(int, nines_tz_offset_s(tz, t), 36000));
    t = utc_ms(2030, 10, 5, 16, 0);
    cr_assert(eq(int, nines_tz_offset_s(tz, t - 1), 36000));
    cr_assert(eq(int, nines_tz_offset_s(tz, t), 39600));
    sys = load("Australia/Sydney");
    for (t = utc_ms(2026, 1, 1, 0, 0); t < utc_ms(2036, 1, 1, 0, 0); t += 6 * H_MS + 60000)
        cr_assert(eq(int, nines_tz_offset_s(tz, t), nines_tz_offset_s(sys, t)), "%lld",
                  (long long)t);
    nines_tz_free(sys);
    nines_tz_free(tz);

    /* J60/0 is March 1 even in a leap year; 2028-03-01 00:00 UTC (offset 0 before).
     * J300 skips Feb 29: Jan–Sep = 273 days, so day 300 is Oct 27; 00:00 in DST (+1)
     * is 10-26 23:00 UTC. */
    tz = load_crafted(dir, 0, "XXX0YYY,J60/0,J300/0", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2028, 3, 1, 0, 0) - 1), 0));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2028, 3, 1, 0, 0)), 3600));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2028, 10, 26, 23, 0) - 1), 3600));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2028, 10, 26, 23, 0)), 0));
    nines_tz_free(tz);

    /* Zero-based 59 counts Feb 29: Feb 29 in 2028, March 1 in 2027. */
    tz = load_crafted(dir, 0, "XXX0YYY,59/0,299/0", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2028, 2, 29, 0, 0)), 3600));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2028, 2, 28, 23, 59)), 0));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2027, 3, 1, 0, 0)), 3600));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2027, 2, 28, 23, 59)), 0));
    nines_tz_free(tz);

    /* "/-1": Saturday 2030-03-30 23:00 standard (= UTC). "/25": Monday 2030-10-28 01:00
     * DST = 00:00 UTC. (Last Sundays of 2030: March 31, October 27.) */
    tz = load_crafted(dir, 0, "XXX0YYY,M3.5.0/-1,M10.5.0/25", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2030, 3, 30, 23, 0) - 1), 0));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2030, 3, 30, 23, 0)), 3600));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2030, 10, 28, 0, 0) - 1), 3600));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2030, 10, 28, 0, 0)), 0));
    nines_tz_free(tz);

    /* Offsets with minutes, and a quoted numeric abbreviation. */
    tz = load_crafted(dir, 19800, "<+0530>-5:30", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    assert_local(tz, utc_ms(2050, 1, 1, 0, 0), 2050, 1, 1, 5, 30, 19800, "+0530");
    nines_tz_free(tz);

    /* DST all year (RFC 9636 §3.3.1): −4 h at every instant, across year ends too. */
    tz = load_crafted(dir, -18000, "EST5EDT4,0/0,J365/25", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    for (t = utc_ms(2029, 12, 31, 0, 0); t < utc_ms(2031, 1, 2, 0, 0); t += H_MS / 2)
        cr_assert(eq(int, nines_tz_offset_s(tz, t), -14400), "%lld", (long long)t);
    nines_tz_free(tz);

    /* Europe/Dublin's negative DST: IST (+1) is standard, GMT in winter is "DST". */
    tz = load_crafted(dir, 3600, "IST-1GMT0,M10.5.0,M3.5.0/1", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    sys = load("Europe/Dublin");
    for (t = utc_ms(2026, 1, 1, 0, 0); t < utc_ms(2036, 1, 1, 0, 0); t += 6 * H_MS + 60000)
        cr_assert(eq(int, nines_tz_offset_s(tz, t), nines_tz_offset_s(sys, t)), "%lld",
                  (long long)t);
    nines_tz_free(sys);
    nines_tz_free(tz);

    /* DST named without a rule: the US rule, as glibc does. */
    tz = load_crafted(dir, -18000, "EST5EDT", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    sys = load("America/New_York");
    for (t = utc_ms(2030, 1, 1, 0, 0); t < utc_ms(2031, 1, 1, 0, 0); t += H_MS)
        cr_assert(eq(int, nines_tz_offset_s(tz, t), nines_tz_offset_s(sys, t)));
    nines_tz_free(sys);
    nines_tz_free(tz);

    /* An empty footer: the last (only) type stays in force. */
    tz = load_crafted(dir, 7200, "", &err);
    cr_assert(tz != NULL, "%s", err.msg);
    assert_local(tz, utc_ms(2100, 6, 1, 0, 0), 2100, 6, 1, 2, 0, 7200, "ZZZ");
    nines_tz_free(tz);
    cr_assert(eq(int, test_rmtree(dir), 0));
}

Test(tz, bad_footers_are_rejected)
{
    static const char bad[][48] = {
        "CET-1CEST,M3.5.0",          /* no end */
        "CET-1CEST,M13.5.0,M10.5.0", /* month 13 */
        "CET-1CEST,M3.6.0,M10.5.0",  /* week 6 */
        "CET-1CEST,M3.5.7,M10.5.0",  /* weekday 7 */
        "CET-1CEST,M3.5.0,M10.5.0/168", /* over 167 h */
        "CET-1CEST,J0,J100",         /* J is 1-based */
        "CE-1",                      /* abbreviation too short */
        "CET",                       /* no offset */
        "CET-25",                    /* offset over 24 h */
        "CET-1:60",                  /* minutes */
        "<+03-3",                    /* unclosed quote */
        "CET-1CEST,M3.5.0,M10.5.0x", /* trailing junk */
    };
    char dir[256];
    struct nines_err err;
    size_t i;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        cr_assert(load_crafted(dir, 3600, bad[i], &err) == NULL, "%s", bad[i]);
        cr_assert(eq(int, err.code, NINES_EPROTO), "%s", bad[i]);
        cr_assert(strstr(err.msg, "footer") != NULL, "%s: %s", bad[i], err.msg);
    }
    cr_assert(eq(int, test_rmtree(dir), 0));
}

static unsigned char *read_system_zone(const char *name, size_t *len)
{
    char path[300];
    unsigned char *buf;
    FILE *f;

    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    f = fopen(path, "rb");
    cr_assert(f != NULL, "tzdata is installed");
    buf = malloc(1 << 16);
    cr_assert(buf != NULL);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    cr_assert(gt(sz, *len, 100));
    return buf;
}

/* Every strict prefix of a real file fails with NINES_EPROTO; the whole file loads. */
Test(tz, every_truncation_fails_cleanly)
{
    char dir[256], path[300];
    struct nines_err err;
    struct nines_tz *tz, *sys;
    unsigned char *buf;
    size_t len, cut;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/Berlin", dir);
    buf = read_system_zone("Europe/Berlin", &len);
    write_bytes(path, buf, len);
    for (cut = len; cut-- > 0;) {
        cr_assert(eq(int, truncate(path, (off_t)cut), 0));
        memset(&err, 0, sizeof(err));
        tz = nines_tz_load_file(path, &err);
        cr_assert(tz == NULL, "a %zu-byte prefix of %zu loaded", cut, len);
        cr_assert(eq(int, err.code, NINES_EPROTO), "cut %zu: %s", cut, err.msg);
    }
    write_bytes(path, buf, len);
    tz = nines_tz_load_file(path, &err);
    cr_assert(tz != NULL, "%s", err.msg);
    cr_assert(eq(str, (char *)nines_tz_name(tz), path));
    sys = load("Europe/Berlin");
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2026, 7, 1, 0, 0)), 7200));
    cr_assert(eq(int, nines_tz_offset_s(tz, utc_ms(2099, 1, 1, 0, 0)),
                 nines_tz_offset_s(sys, utc_ms(2099, 1, 1, 0, 0))));
    nines_tz_free(sys);
    nines_tz_free(tz);
    free(buf);
    cr_assert(eq(int, test_rmtree(dir), 0));
}

/* Targeted corruptions of a crafted file, each with its own reason. */
Test(tz, corrupt_fields_are_rejected)
{
    char dir[256], path[300];
    unsigned char good[512], buf[512];
    struct nines_err err;
    size_t n;
    int i;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/z", dir);
    n = craft_tzif(good, 3600, "CET-1");
    /* The v2 header starts at 44 + 10 = 54; its block at 98: utoff(4) isdst abbr "ZZZ\0". */
    for (i = 0; i < 8; i++) {
        static const char want[8][40] = { "not a TZif file", "unknown TZif version",
                                          "inconsistent counts", "inconsistent counts",
                                          "invalid local time type", "invalid local time type",
                                          "unterminated abbreviation", "missing footer" };

        memcpy(buf, good, n);
        switch (i) {
        case 0: buf[0] = 'X'; break;                      /* magic */
        case 1: buf[4] = '1'; break;                      /* version */
        case 2: put32(buf + 54 + 36, 0); break;           /* typecnt 0 */
        case 3: put32(buf + 54 + 20, 5); break;           /* isutcnt ≠ typecnt */
        case 4: put32(buf + 98, 200000); break;           /* offset over 26 h */
        case 5: buf[98 + 5] = 9; break;                   /* abbreviation index ≥ charcnt */
        case 6: buf[98 + 9] = 'Z'; break;                 /* no NUL */
        case 7: buf[108] = 'x'; break;                    /* footer's leading newline */
        }
        write_bytes(path, buf, n);
        memset(&err, 0, sizeof(err));
        cr_assert(nines_tz_load_file(path, &err) == NULL, "case %d", i);
        cr_assert(eq(int, err.code, NINES_EPROTO), "case %d", i);
        cr_assert(strstr(err.msg, want[i]) != NULL, "case %d: %s", i, err.msg);
    }
    /* Leap-second zones are refused by name, not misread. */
    memcpy(buf, good, n);
    put32(buf + 54 + 28, 1);
    write_bytes(path, buf, n);
    cr_assert(nines_tz_load_file(path, &err) == NULL);
    cr_assert(strstr(err.msg, "leap-second") != NULL, "%s", err.msg);
    /* A corrupt zone found by name through $TZDIR: NINES_EPROTO, not "unknown". */
    memcpy(buf, good, n);
    buf[0] = 'X';
    snprintf(path, sizeof(path), "%s/Bad", dir);
    write_bytes(path, buf, n);
    cr_assert(eq(int, setenv("TZDIR", dir, 1), 0));
    cr_assert(nines_tz_load("Bad", &err) == NULL);
    cr_assert(eq(int, err.code, NINES_EPROTO), "%s", err.msg);
    cr_assert(eq(int, test_rmtree(dir), 0));
}

/* Transitions out of order and type indices out of range, in a real file. */
Test(tz, corrupt_tables_in_a_real_file)
{
    char dir[256], path[300];
    struct nines_err err;
    unsigned char *buf;
    size_t len, v1, v2data;
    uint32_t timecnt, typecnt, charcnt;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/NY", dir);
    buf = read_system_zone("America/New_York", &len);
    /* Skip the v1 block to the v2 header; its transitions start 44 bytes later. */
    v1 = 44 + (size_t)(buf[35] | buf[34] << 8) * 5 + (size_t)buf[39] * 6 + buf[43] +
         ((size_t)buf[27] | (size_t)buf[26] << 8) + ((size_t)buf[23] | (size_t)buf[22] << 8);
    cr_assert(eq(int, memcmp(buf + v1, "TZif", 4), 0));
    timecnt = (uint32_t)buf[v1 + 32] << 24 | (uint32_t)buf[v1 + 33] << 16 |
              (uint32_t)buf[v1 + 34] << 8 | buf[v1 + 35];
    typecnt = buf[v1 + 39];
    charcnt = buf[v1 + 43];
    cr_assert(timecnt > 10 && typecnt > 1 && charcnt > 1);
    v2data = v1 + 44;
    /* Swap transitions 5 and 6. */
    {
        unsigned char tmp[8];

        memcpy(tmp, buf + v2data + 5 * 8, 8);
        memcpy(buf + v2data + 5 * 8, buf + v2data + 6 * 8, 8);
        memcpy(buf + v2data + 6 * 8, tmp, 8);
        write_bytes(path, buf, len);
        cr_assert(nines_tz_load_file(path, &err) == NULL);
        cr_assert(strstr(err.msg, "out of order") != NULL, "%s", err.msg);
        memcpy(buf + v2data + 6 * 8, buf + v2data + 5 * 8, 8);
        memcpy(buf + v2data + 5 * 8, tmp, 8);
    }
    /* Transition 3 to type `typecnt` (one past the last). */
    buf[v2data + timecnt * 8 + 3] = (unsigned char)typecnt;
    write_bytes(path, buf, len);
    cr_assert(nines_tz_load_file(path, &err) == NULL);
    cr_assert(strstr(err.msg, "undefined type") != NULL, "%s", err.msg);
    free(buf);
    cr_assert(eq(int, test_rmtree(dir), 0));
}

/* Asks a zone about instants from 1800 to 2200, one a little over a year apart. */
static void exercise(const struct nines_tz *tz)
{
    int64_t t, end = utc_ms(2200, 1, 1, 0, 0);

    for (t = utc_ms(1800, 1, 1, 0, 0); t < end; t += 397 * 24 * H_MS) {
        struct nines_tm tm;
        int off = nines_tz_offset_s(tz, t);

        cr_assert(gt(int, off, -26 * 3600));
        cr_assert(lt(int, off, 26 * 3600));
        nines_tz_utc_to_local(tz, t, &tm);
        (void)nines_tz_local_to_utc_ms(tz, tm.year, tm.month, tm.day, tm.hour, 30, 0, 0);
    }
}

/* Random byte damage: every result is a clean failure or a zone that answers sanely. */
Test(tz, random_damage_never_crashes)
{
    char dir[256], path[300];
    struct nines_err err;
    unsigned char *good, *buf;
    size_t len;
    uint32_t seed = 2463534242u;
    int iter, loaded = 0;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/z", dir);
    good = read_system_zone("America/New_York", &len);
    buf = malloc(len);
    cr_assert(buf != NULL);
    write_bytes(path, good, len);
    for (iter = 0; iter < 1500; iter++) {
        struct nines_tz *tz;
        int k, hits = 1 + iter % 4;

        memcpy(buf, good, len);
        for (k = 0; k < hits; k++) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            buf[seed % len] ^= (unsigned char)(1u << (seed >> 8) % 8);
        }
        overwrite_bytes(path, buf, len);
        memset(&err, 0, sizeof(err));
        tz = nines_tz_load_file(path, &err);
        if (tz == NULL) {
            cr_assert(eq(int, err.code, NINES_EPROTO), "iter %d: %s", iter, err.msg);
            continue;
        }
        loaded++;
        exercise(tz);
        nines_tz_free(tz);
    }
    cr_assert(loaded > 0, "some damage (in transition times) leaves a loadable file");
    free(good);
    free(buf);
    cr_assert(eq(int, test_rmtree(dir), 0));
}
