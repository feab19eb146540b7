/*
 * Maintenance windows: weekly and daily expansion across the 2026 DST changes
 * in Europe/Berlin (03-29, 10-25) and America/New_York (03-08, 11-01), windows
 * reaching into the range from before it, one-off windows, the textual form
 * and its error messages, and a month's uptime with maintenance cut out.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <time.h>

#include "intervals.h"
#include "maint.h"
#include "nines/err.h"
#include "tz.h"
#include "uptime.h"

#define H_MS INT64_C(3600000)
#define MIN_MS INT64_C(60000)

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
    struct nines_tz *tz = nines_tz_load(name, &err);

    cr_assert(tz != NULL, "%s: %s", name, err.msg);
    return tz;
}

static struct maint_window parse(const char *spec)
{
    struct maint_window w;
    struct nines_err err;

    memset(&err, 0, sizeof(err));
    cr_assert(eq(int, maint_parse_recurring(spec, &w, &err), 0), "%s: %s", spec, err.msg);
    return w;
}

/* Expands spec over [from, to) and checks the starts; every occurrence lasts dur_ms. */
static void expect(const char *spec, int64_t from, int64_t to, const int64_t *starts, size_t n,
                   int64_t dur_ms)
{
    struct maint_window w = parse(spec);
    struct nines_tz *tz = load(w.tz);
    struct nines_ivset out;
    size_t i;

    nines_ivset_init(&out);
    cr_assert(eq(int, maint_expand(&w, tz, from, to, &out), 0), "%s", spec);
    cr_assert(eq(sz, out.n, n), "%s: count", spec);
    for (i = 0; i < n; i++) {
        cr_assert(eq(i64, out.v[i].start_ms, starts[i]), "%s: [%zu].start", spec, i);
        cr_assert(eq(i64, out.v[i].end_ms - out.v[i].start_ms, dur_ms), "%s: [%zu] length",
                  spec, i);
    }
    nines_ivset_close(&out);
    nines_tz_free(tz);
}

/*
 * Berlin, every Sunday 02:00 for 2 h, over March 2026 (its local month). Sundays:
 * 1, 8, 15, 22 at 02:00 CET = 01:00 UTC. On the 29th 02:00 does not exist: the
 * window starts at the instant after the gap, 03:00 CEST = 01:00 UTC, and lasts
 * 2 h of real time (to 05:00 CEST). April 5th: 02:00 CEST = 00:00 UTC.
 */
Test(maint, berlin_weekly_across_spring_forward)
{
    struct nines_tz *tz = load("Europe/Berlin");
    const int64_t starts[] = { utc_ms(2026, 3, 1, 1, 0), utc_ms(2026, 3, 8, 1, 0),
                               utc_ms(2026, 3, 15, 1, 0), utc_ms(2026, 3, 22, 1, 0),
                               utc_ms(2026, 3, 29, 1, 0), utc_ms(2026, 4, 5, 0, 0) };

    expect("sun 02:00 2h Europe/Berlin", nines_tz_month_start_utc_ms(tz, 2026, 3),
           nines_tz_month_start_utc_ms(tz, 2026, 4), starts, 5, 2 * H_MS);
    expect("sun 02:00 2h Europe/Berlin", utc_ms(2026, 3, 29, 0, 0), utc_ms(2026, 4, 6, 0, 0),
           starts + 4, 2, 2 * H_MS);
    nines_tz_free(tz);
}

/*
 * Berlin fall back, 2026-10-25 (02:00-02:59 happens twice). Sunday 02:00 takes the
 * first occurrence: 02:00 CEST = 00:00 UTC, as on 10-18; 11-01 02:00 CET = 01:00 UTC.
 * "sun 01:30 2h" on the 25th: 01:30 CEST = Sat 23:30 UTC to 01:30 UTC, 2 h of real
 * time straddling the change (it ends at 02:30 CET on the wall clock).
 */
Test(maint, berlin_weekly_across_fall_back)
{
    const int64_t two[] = { utc_ms(2026, 10, 18, 0, 0), utc_ms(2026, 10, 25, 0, 0),
                            utc_ms(2026, 11, 1, 1, 0) };
    const int64_t half_past_one[] = { utc_ms(2026, 10, 24, 23, 30) };

    expect("sun 02:00 2h Europe/Berlin", utc_ms(2026, 10, 17, 0, 0), utc_ms(2026, 11, 2, 0, 0),
           two, 3, 2 * H_MS);
    expect("sun 01:30 2h Europe/Berlin", utc_ms(2026, 10, 24, 0, 0), utc_ms(2026, 10, 26, 0, 0),
           half_past_one, 1, 2 * H_MS);
}

/*
 * New York. Spring forward 2026-03-08: 02:00 does not exist; read as EST it is
 * 07:00 UTC (= 03:00 EDT), as 03-01 02:00 EST = 07:00 UTC; 03-15 02:00 EDT = 06:00 UTC.
 * Fall back 2026-11-01: 01:30 is the first occurrence, EDT: 05:30 UTC to 07:30 UTC
 * (02:30 EST on the wall); 10-25 01:30 EDT = 05:30 UTC; 11-08 01:30 EST = 06:30 UTC.
 */
Test(maint, new_york_weekly_across_both_changes)
{
    const int64_t spring[] = { utc_ms(2026, 3, 1, 7, 0), utc_ms(2026, 3, 8, 7, 0),
                               utc_ms(2026, 3, 15, 6, 0) };
    const int64_t fall[] = { utc_ms(2026, 10, 25, 5, 30), utc_ms(2026, 11, 1, 5, 30),
                             utc_ms(2026, 11, 8, 6, 30) };
    struct nines_tz *tz = load("America/New_York");
    struct nines_tm tm;

    expect("sun 02:00 2h America/New_York", utc_ms(2026, 2, 28, 0, 0),
           utc_ms(2026, 3, 16, 0, 0), spring, 3, 2 * H_MS);
    expect("sun 01:30 2h America/New_York", utc_ms(2026, 10, 24, 0, 0),
           utc_ms(2026, 11, 9, 0, 0), fall, 3, 2 * H_MS);
    /* The fall-back window ends at 02:30 EST on the wall clock. */
    nines_tz_utc_to_local(tz, fall[1] + 2 * H_MS, &tm);
    cr_assert(eq(int, tm.hour, 2));
    cr_assert(eq(int, tm.minute, 30));
    cr_assert(eq(str, tm.abbr, "EST"));
    nines_tz_free(tz);
}

/*
 * Daily 23:30 for 1 h in Berlin, over [03-28 00:00, 03-31 00:00) UTC:
 * 03-28 23:30 CET = 22:30 UTC; 03-29 and 03-30 23:30 CEST = 21:30 UTC.
 * (03-27's window, 22:30-23:30 UTC on the 27th, ends before the range.)
 * Daily 03:00 for 15 min in New York over 2026-11-01 .. 11-02 (local):
 * 11-01 03:00 EST = 08:00 UTC (after the change), 10-31 03:00 EDT = 07:00 UTC.
 */
Test(maint, daily_across_dst)
{
    const int64_t berlin[] = { utc_ms(2026, 3, 28, 22, 30), utc_ms(2026, 3, 29, 21, 30),
                               utc_ms(2026, 3, 30, 21, 30) };
    const int64_t ny[] = { utc_ms(2026, 10, 31, 7, 0), utc_ms(2026, 11, 1, 8, 0) };

    expect("daily 23:30 1h Europe/Berlin", utc_ms(2026, 3, 28, 0, 0), utc_ms(2026, 3, 31, 0, 0),
           berlin, 3, H_MS);
    expect("daily 03:00 15m America/New_York", utc_ms(2026, 10, 31, 4, 0),
           utc_ms(2026, 11, 2, 4, 0), ny, 2, 15 * MIN_MS);
}

/*
 * "daily 23:00 2h UTC": the window of May 1st (23:00-01:00) reaches into a range
 * starting 00:30 on May 2nd and comes back whole, not clipped. A range starting at
 * 01:00 (its end) or ending at 23:00 (a start) does not meet it: half-open.
 */
Test(maint, windows_reaching_into_the_range_and_edges)
{
    const int64_t may1[] = { utc_ms(2026, 5, 1, 23, 0) };

    expect("daily 23:00 2h UTC", utc_ms(2026, 5, 2, 0, 30), utc_ms(2026, 5, 2, 1, 0), may1, 1,
           2 * H_MS);
    expect("daily 23:00 2h UTC", utc_ms(2026, 5, 2, 1, 0), utc_ms(2026, 5, 2, 23, 0), NULL, 0,
           2 * H_MS);
    /* A 7-day window started last Monday still covers this Sunday. */
    {
        const int64_t mon[] = { utc_ms(2026, 6, 1, 0, 0) };

        expect("mon 00:00 7d UTC", utc_ms(2026, 6, 7, 12, 0), utc_ms(2026, 6, 7, 13, 0), mon, 1,
               7 * 24 * H_MS);
    }
}

/* 2026-06-01 is a Monday. Lists, ranges, and a range wrapping past Saturday. */
Test(maint, weekday_lists_and_ranges)
{
    const int64_t mwf[] = { utc_ms(2026, 6, 1, 4, 0), utc_ms(2026, 6, 3, 4, 0),
                            utc_ms(2026, 6, 5, 4, 0) };
    const int64_t monfri[] = { utc_ms(2026, 6, 1, 22, 30), utc_ms(2026, 6, 2, 22, 30),
                               utc_ms(2026, 6, 3, 22, 30), utc_ms(2026, 6, 4, 22, 30),
                               utc_ms(2026, 6, 5, 22, 30) };
    const int64_t wrap[] = { utc_ms(2026, 6, 1, 4, 0), utc_ms(2026, 6, 5, 4, 0),
                             utc_ms(2026, 6, 6, 4, 0), utc_ms(2026, 6, 7, 4, 0) };
    int64_t from = utc_ms(2026, 6, 1, 0, 0), to = utc_ms(2026, 6, 8, 0, 0);

    expect("mon,wed,fri 04:00 45m UTC", from, to, mwf, 3, 45 * MIN_MS);
    expect("mon-fri 22:30 1h30m UTC", from, to, monfri, 5, 90 * MIN_MS);
    expect("weekdays 22:30 1h30m UTC", from, to, monfri, 5, 90 * MIN_MS);
    expect("fri-mon 04:00 45m UTC", from, to, wrap, 4, 45 * MIN_MS);
    expect("weekends 04:00 45m UTC", from, to, wrap + 2, 2, 45 * MIN_MS);
}

Test(maint, one_off_windows)
{
    struct maint_window w = { .kind = MAINT_ONCE, .start_ms = 1000, .end_ms = 5000 };
    struct nines_ivset out;

    nines_ivset_init(&out);
    cr_assert(eq(int, maint_expand(&w, NULL, 4000, 9000, &out), 0));
    cr_assert(eq(sz, out.n, 1));
    cr_assert(eq(i64, out.v[0].start_ms, 1000), "returned whole, not clipped");
    cr_assert(eq(i64, out.v[0].end_ms, 5000));
    cr_assert(eq(int, maint_expand(&w, NULL, 5000, 9000, &out), 0));
    cr_assert(eq(int, maint_expand(&w, NULL, 0, 1000, &out), 0));
    cr_assert(eq(sz, out.n, 1), "touching ranges add nothing");
    cr_assert(eq(int, maint_expand(&w, NULL, 0, 2000, &out), 0));
    cr_assert(eq(sz, out.n, 2), "expansion appends");
    w.end_ms = w.start_ms;
    cr_assert(eq(int, maint_expand(&w, NULL, 0, 9000, &out), NINES_EINVAL));
    cr_assert(eq(sz, out.n, 2));
    nines_ivset_close(&out);
}

Test(maint, invalid_windows_and_ranges_leave_out_untouched)
{
    struct maint_window good = parse("sun 02:00 2h UTC"), w;
    struct nines_tz *tz = load("UTC");
    struct nines_ivset out;
    int i;

    nines_ivset_init(&out);
    cr_assert(eq(int, nines_ivset_add(&out, 1, 2), 0));
    for (i = 0; i < 6; i++) {
        w = good;
        switch (i) {
        case 0: w.weekdays = 0; break;
        case 1: w.weekdays = 0x80; break;
        case 2: w.start_min = 1440; break;
        case 3: w.duration_ms = 0; break;
        case 4: w.duration_ms = MAINT_DURATION_MAX_MS + 1; break;
        case 5: w.kind = (enum maint_kind)7; break;
        }
        cr_assert(eq(int, maint_expand(&w, tz, 0, 10 * 24 * H_MS, &out), NINES_EINVAL),
                  "case %d", i);
    }
    cr_assert(eq(int, maint_expand(&good, NULL, 0, 10 * 24 * H_MS, &out), NINES_EINVAL));
    cr_assert(eq(int, maint_expand(&good, tz, 100, 50, &out), NINES_EINVAL));
    cr_assert(eq(int, maint_expand(&good, tz, 0, MAINT_SPAN_MAX_MS + 1, &out), NINES_EINVAL));
    cr_assert(eq(sz, out.n, 1));
    cr_assert(eq(i64, out.v[0].start_ms, 1));
    /* An empty range is fine and adds nothing. */
    cr_assert(eq(int, maint_expand(&good, tz, 100, 100, &out), 0));
    cr_assert(eq(sz, out.n, 1));
    nines_ivset_close(&out);
    nines_tz_free(tz);
}

Test(maint, parse_fields)
{
    struct maint_window w = parse("sun 02:00 2h Europe/Berlin");

    cr_assert(eq(int, w.kind, MAINT_RECURRING));
    cr_assert(eq(u32, w.weekdays, 0x01));
    cr_assert(eq(int, w.start_min, 120));
    cr_assert(eq(i64, w.duration_ms, 2 * H_MS));
    cr_assert(eq(str, w.tz, "Europe/Berlin"));
    w = parse("  Mon-FRI\t22:30  1h30m   UTC ");
    cr_assert(eq(u32, w.weekdays, 0x3e));
    cr_assert(eq(int, w.start_min, 22 * 60 + 30));
    cr_assert(eq(i64, w.duration_ms, 90 * MIN_MS));
    w = parse("Saturday,sunday 0:05 1d2h3m4s5ms UTC");
    cr_assert(eq(u32, w.weekdays, 0x41));
    cr_assert(eq(int, w.start_min, 5));
    cr_assert(eq(i64, w.duration_ms, 86400000 + 2 * H_MS + 3 * MIN_MS + 4005));
    w = parse("daily 23:59 7d America/Argentina/Buenos_Aires");
    cr_assert(eq(u32, w.weekdays, 0x7f));
    cr_assert(eq(int, w.start_min, 1439));
    cr_assert(eq(str, w.tz, "America/Argentina/Buenos_Aires"));
    w = parse("sat-tue 12:00 250ms Etc/GMT+5");
    cr_assert(eq(u32, w.weekdays, 0x47), "sat sun mon tue");
    cr_assert(eq(i64, w.duration_ms, 250));
}

struct parse_case {
    char spec[96];
    char want[80];
};

Test(maint, parse_errors_name_the_bad_part)
{
    static const struct parse_case cases[] = {
        { "", "empty maintenance schedule" },
        { "   ", "empty maintenance schedule" },
        { "sun", "missing start time" },
        { "sun 02:00", "missing duration" },
        { "sun 02:00 2h", "missing time zone" },
        { "sun 02:00 2h Europe/Berlin extra", "unexpected text after the time zone" },
        { "sux 02:00 2h UTC", "bad weekday \"sux\"" },
        { "mon,,fri 02:00 2h UTC", "bad weekday \"\" in \"mon,,fri\"" },
        { "mon, 02:00 2h UTC", "bad weekday \"\"" },
        { "mon-fry 02:00 2h UTC", "bad weekday \"mon-fry\"" },
        { "mon-tue-wed 02:00 2h UTC", "bad weekday \"mon-tue-wed\"" },
        { "sun 25:00 2h UTC", "bad start time \"25:00\"" },
        { "sun 2:60 2h UTC", "bad start time \"2:60\"" },
        { "sun 0200 2h UTC", "bad start time \"0200\"" },
        { "sun 02:0 2h UTC", "bad start time \"02:0\"" },
        { "sun 02:00 2x UTC", "bad duration \"2x\"" },
        { "sun 02:00 0m UTC", "bad duration \"0m\"" },
        { "sun 02:00 8d UTC", "bad duration \"8d\"" },
        { "sun 02:00 7d1ms UTC", "bad duration \"7d1ms\"" },
        { "sun 02:00 30m1h UTC", "bad duration \"30m1h\"" },
        { "sun 02:00 1h1h UTC", "bad duration \"1h1h\"" },
        { "sun 02:00 h UTC", "bad duration \"h\"" },
        { "sun 02:00 99999999999h UTC", "bad duration" },
        { "sun 02:00 2h ../etc/passwd", "bad time zone name \"../etc/passwd\"" },
        { "sun 02:00 2h /etc/localtime", "bad time zone name \"/etc/localtime\"" },
        { "sun 02:00 2h Europe/Berl;n", "bad time zone name" },
    };
    struct maint_window w;
    struct nines_err err;
    char longspec[400];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        cr_assert(eq(int, maint_parse_recurring(cases[i].spec, &w, &err), NINES_EINVAL), "%s",
                  cases[i].spec);
        cr_assert(eq(int, err.code, NINES_EINVAL));
        cr_assert(strstr(err.msg, cases[i].want) != NULL, "\"%s\": got \"%s\", want \"%s\"",
                  cases[i].spec, err.msg, cases[i].want);
    }
    memset(longspec, 'a', sizeof(longspec) - 1);
    longspec[sizeof(longspec) - 1] = '\0';
    cr_assert(eq(int, maint_parse_recurring(longspec, &w, &err), NINES_EINVAL));
    cr_assert(strstr(err.msg, "too long") != NULL, "%s", err.msg);
}

Test(maint, parse_duration_and_weekdays_alone)
{
    struct nines_err err;
    int64_t ms;
    unsigned mask;

    cr_assert(eq(int, maint_parse_duration("90s", &ms, &err), 0));
    cr_assert(eq(i64, ms, 90000));
    cr_assert(eq(int, maint_parse_duration("1m30s", &ms, &err), 0));
    cr_assert(eq(i64, ms, 90000));
    cr_assert(eq(int, maint_parse_duration("7d", &ms, &err), 0));
    cr_assert(eq(i64, ms, 7 * 24 * H_MS));
    cr_assert(eq(int, maint_parse_duration("", &ms, &err), NINES_EINVAL));
    cr_assert(eq(int, maint_parse_weekdays("tue,thu", &mask, &err), 0));
    cr_assert(eq(u32, mask, 0x14));
    cr_assert(eq(int, maint_parse_weekdays("sun-sun", &mask, &err), 0));
    cr_assert(eq(u32, mask, 0x01));
    cr_assert(eq(int, maint_parse_weekdays("", &mask, &err), NINES_EINVAL));
}

/* The canonical form, and parse(format(w)) giving w back. */
Test(maint, format_round_trips)
{
    static const char cases[][2][64] = {
        { "sun 02:00 2h Europe/Berlin", "sun 02:00 2h Europe/Berlin" },
        { "Sunday 2:00 120m Europe/Berlin", "sun 02:00 2h Europe/Berlin" },
        { "fri,mon-thu 22:30 90m UTC", "mon-fri 22:30 1h30m UTC" },
        { "fri-mon 04:00 45m UTC", "mon,fri-sun 04:00 45m UTC" },
        { "weekends 04:00 1d2h3m4s5ms UTC", "sat,sun 04:00 1d2h3m4s5ms UTC" },
        { "mon,tue 00:00 1s UTC", "mon,tue 00:00 1s UTC" },
        { "sun-sat 23:59 7d UTC", "daily 23:59 7d UTC" },
    };
    char buf[128];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct maint_window w = parse(cases[i][0]), back;

        cr_assert(eq(int, maint_format_recurring(&w, buf, sizeof(buf)), 0));
        cr_assert(eq(str, buf, (char *)cases[i][1]), "%s", cases[i][0]);
        back = parse(buf);
        cr_assert(eq(u32, back.weekdays, w.weekdays));
        cr_assert(eq(int, back.start_min, w.start_min));
        cr_assert(eq(i64, back.duration_ms, w.duration_ms));
    }
    {
        struct maint_window w = parse("sun 02:00 2h Europe/Berlin");

        cr_assert(eq(int, maint_format_recurring(&w, buf, 10), NINES_EINVAL), "too small");
    }
}

/*
 * March 2026 in Berlin (743 h) with "sun 02:00 2h": five Sundays, 10 h of
 * maintenance, 733 h eligible. Down 01:00-02:00 UTC on the 29th is inside the
 * maintenance window; down 12:00-12:30 UTC on the 10th counts:
 * uptime = 1 − 1800000 / (733 × 3600000).
 */
Test(maint, month_uptime_with_weekly_maintenance)
{
    struct nines_tz *tz = load("Europe/Berlin");
    struct maint_window w = parse("sun 02:00 2h Europe/Berlin");
    struct nines_ivset maint, down;
    struct uptime_input in;
    struct uptime_result r;
    int64_t from = nines_tz_month_start_utc_ms(tz, 2026, 3);
    int64_t to = nines_tz_month_start_utc_ms(tz, 2026, 4);

    nines_ivset_init(&maint);
    nines_ivset_init(&down);
    cr_assert(eq(int, maint_expand(&w, tz, from, to, &maint), 0));
    cr_assert(eq(int, nines_ivset_add(&down, utc_ms(2026, 3, 29, 1, 0),
                                      utc_ms(2026, 3, 29, 2, 0)), 0));
    cr_assert(eq(int, nines_ivset_add(&down, utc_ms(2026, 3, 10, 12, 0),
                                      utc_ms(2026, 3, 10, 12, 30)), 0));
    in = (struct uptime_input){ from, to, &down, &maint, NULL, 0 };
    cr_assert(eq(int, uptime_compute(&in, &r), 0));
    cr_assert(eq(i64, r.window_ms, 743 * H_MS));
    cr_assert(eq(i64, r.maintenance_ms, 10 * H_MS));
    cr_assert(eq(i64, r.eligible_ms, 733 * H_MS));
    cr_assert(eq(i64, r.downtime_ms, 30 * MIN_MS));
    cr_assert(eq(dbl, r.uptime, 1.0 - 1800000.0 / (733.0 * 3600000.0)));
    nines_ivset_close(&maint);
    nines_ivset_close(&down);
    nines_tz_free(tz);
}
