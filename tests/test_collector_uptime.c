/*
 * Uptime arithmetic against hand-computed timelines: incidents crossing the
 * window's edges, overlapping maintenance, no-data gaps under both settings,
 * back-to-back incidents, the DST months of 2026 in Europe/Berlin and
 * America/New_York, and services combining checks. Times are written in
 * minutes (M) where the exact millisecond does not matter.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intervals.h"
#include "nines/err.h"
#include "tz.h"
#include "uptime.h"

#define M INT64_C(60000)
#define H_MS INT64_C(3600000)

struct span {
    int64_t a, b;
};

static void set_of(struct nines_ivset *s, const struct span *v, size_t n)
{
    size_t i;

    nines_ivset_init(s);
    for (i = 0; i < n; i++)
        cr_assert(eq(int, nines_ivset_add(s, v[i].a, v[i].b), 0));
}

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

static struct uptime_result run(int64_t from, int64_t to, const struct nines_ivset *down,
                                const struct nines_ivset *maint, const struct nines_ivset *nodata,
                                int nodata_is_down)
{
    struct uptime_input in = { from, to, down, maint, nodata, nodata_is_down };
    struct uptime_result r;

    cr_assert(eq(int, uptime_compute(&in, &r), 0));
    return r;
}

/*
 * Window [100, 200) min. Down [50,120) starts before the window, [180,260) ends
 * after it, [10,20) and [300,400) miss it. Counted: 120−100 + 200−180 = 40 min
 * of 100: uptime 0.6.
 */
Test(uptime, incidents_crossing_the_window_edges)
{
    const struct span d[] = { { 50 * M, 120 * M }, { 180 * M, 260 * M }, { 10 * M, 20 * M },
                              { 300 * M, 400 * M } };
    struct nines_ivset down;
    struct uptime_result r;

    set_of(&down, d, 4);
    r = run(100 * M, 200 * M, &down, NULL, NULL, 0);
    cr_assert(eq(i64, r.window_ms, 100 * M));
    cr_assert(eq(i64, r.downtime_ms, 40 * M));
    cr_assert(eq(i64, r.eligible_ms, 100 * M));
    cr_assert(eq(i64, r.maintenance_ms, 0));
    cr_assert(eq(i64, r.nodata_ms, 0));
    cr_assert(eq(dbl, r.uptime, 1.0 - 40.0 / 100.0));
    cr_assert(eq(dbl, r.coverage, 1.0));
    cr_assert(eq(int, r.no_eligible_time, 0));
    nines_ivset_close(&down);
}

/*
 * Window [0, 1000) min. Maintenance [100,300) and [200,400) overlap: [100,400)
 * = 300 min; [950,1100) reaches past the end: 50 min. Maintenance 350.
 * Down [350,500): [350,400) is maintenance, 100 min count. Down [900,1000):
 * [950,1000) is maintenance, 50 count. Downtime 150 of 1000 − 350 = 650.
 */
Test(uptime, overlapping_maintenance)
{
    const struct span mt[] = { { 100 * M, 300 * M }, { 200 * M, 400 * M },
                               { 950 * M, 1100 * M } };
    const struct span d[] = { { 350 * M, 500 * M }, { 900 * M, 1000 * M } };
    struct nines_ivset down, maint;
    struct uptime_result r;

    set_of(&down, d, 2);
    set_of(&maint, mt, 3);
    r = run(0, 1000 * M, &down, &maint, NULL, 0);
    cr_assert(eq(i64, r.maintenance_ms, 350 * M));
    cr_assert(eq(i64, r.downtime_ms, 150 * M));
    cr_assert(eq(i64, r.eligible_ms, 650 * M));
    cr_assert(eq(dbl, r.uptime, 1.0 - (double)(150 * M) / (double)(650 * M)));
    cr_assert(eq(dbl, r.coverage, 1.0));
    nines_ivset_close(&down);
    nines_ivset_close(&maint);
}

/*
 * Window [0, 1000) min. No data [0,100) and [500,600); maintenance [550,650)
 * covers part of the second gap. Down [80,120) starts inside the first gap,
 * down [700,800).
 *   maintenance  [550,650)                    100
 *   no data      [0,100) + [500,550)          150  (its [550,600) is maintenance)
 *   down         [100,120) + [700,800)        120  (its [80,100) is no data)
 * Left out (default): downtime 120 of 1000 − 100 − 150 = 750 → 1 − 120/750 = 0.84.
 * Counted as down:    downtime 120 + 150 = 270 of 900 → 1 − 270/900 = 0.7.
 * Coverage either way: (900 − 150) / 900.
 */
Test(uptime, nodata_gaps_left_out_or_counted_as_down)
{
    const struct span nd[] = { { 0, 100 * M }, { 500 * M, 600 * M } };
    const struct span mt[] = { { 550 * M, 650 * M } };
    const struct span d[] = { { 80 * M, 120 * M }, { 700 * M, 800 * M } };
    struct nines_ivset down, maint, nodata;
    struct uptime_result r;

    set_of(&down, d, 2);
    set_of(&maint, mt, 1);
    set_of(&nodata, nd, 2);
    r = run(0, 1000 * M, &down, &maint, &nodata, 0);
    cr_assert(eq(i64, r.maintenance_ms, 100 * M));
    cr_assert(eq(i64, r.nodata_ms, 150 * M));
    cr_assert(eq(i64, r.downtime_ms, 120 * M));
    cr_assert(eq(i64, r.eligible_ms, 750 * M));
    cr_assert(eq(dbl, r.uptime, 1.0 - (double)(120 * M) / (double)(750 * M)));
    cr_assert(eq(dbl, r.coverage, (double)(750 * M) / (double)(900 * M)));

    r = run(0, 1000 * M, &down, &maint, &nodata, 1);
    cr_assert(eq(i64, r.maintenance_ms, 100 * M));
    cr_assert(eq(i64, r.nodata_ms, 150 * M));
    cr_assert(eq(i64, r.downtime_ms, 270 * M));
    cr_assert(eq(i64, r.eligible_ms, 900 * M));
    cr_assert(eq(dbl, r.uptime, 1.0 - (double)(270 * M) / (double)(900 * M)));
    cr_assert(eq(dbl, r.coverage, (double)(750 * M) / (double)(900 * M)));
    nines_ivset_close(&down);
    nines_ivset_close(&maint);
    nines_ivset_close(&nodata);
}

/*
 * Back-to-back incidents [100,200) and [200,300), plus a duplicate report
 * [250,300): 200 min of downtime, not 250. With a 1 ms gap between two
 * incidents, [100 min, 200 min) and [200 min + 1 ms, 300 min): 200 min − 1 ms.
 */
Test(uptime, back_to_back_incidents)
{
    const struct span touching[] = { { 100 * M, 200 * M }, { 200 * M, 300 * M },
                                     { 250 * M, 300 * M } };
    const struct span gap[] = { { 100 * M, 200 * M }, { 200 * M + 1, 300 * M } };
    struct nines_ivset down;
    struct uptime_result r;

    set_of(&down, touching, 3);
    r = run(0, 1000 * M, &down, NULL, NULL, 0);
    cr_assert(eq(i64, r.downtime_ms, 200 * M));
    cr_assert(eq(dbl, r.uptime, 1.0 - (double)(200 * M) / (double)(1000 * M)));
    nines_ivset_close(&down);

    set_of(&down, gap, 2);
    r = run(0, 1000 * M, &down, NULL, NULL, 0);
    cr_assert(eq(i64, r.downtime_ms, 200 * M - 1));
    nines_ivset_close(&down);
}

/*
 * October 2026 in Europe/Berlin: 2026-09-30 22:00 UTC to 2026-10-31 23:00 UTC,
 * 745 h (the clocks go back on the 25th). 30 min down, 00:45-01:15 UTC on the
 * 25th, straddling the change at 01:00 UTC: uptime = 1 − 1800000 / (745 × 3600000).
 * March 2026 is 743 h; 10 min down across the spring-forward instant:
 * 1 − 600000 / (743 × 3600000).
 */
Test(uptime, berlin_dst_months_exactly)
{
    struct nines_err err;
    struct nines_tz *tz = nines_tz_load("Europe/Berlin", &err);
    const struct span oct[] = { { utc_ms(2026, 10, 25, 0, 45), utc_ms(2026, 10, 25, 1, 15) } };
    const struct span mar[] = { { utc_ms(2026, 3, 29, 0, 55), utc_ms(2026, 3, 29, 1, 5) } };
    struct nines_ivset down;
    struct uptime_result r;
    int64_t from, to;

    cr_assert(tz != NULL, "%s", err.msg);
    from = nines_tz_month_start_utc_ms(tz, 2026, 10);
    to = nines_tz_month_start_utc_ms(tz, 2026, 11);
    cr_assert(eq(i64, from, utc_ms(2026, 9, 30, 22, 0)));
    cr_assert(eq(i64, to, utc_ms(2026, 10, 31, 23, 0)));
    set_of(&down, oct, 1);
    r = run(from, to, &down, NULL, NULL, 0);
    cr_assert(eq(i64, r.window_ms, 745 * H_MS));
    cr_assert(eq(i64, r.downtime_ms, 1800000));
    cr_assert(eq(dbl, r.uptime, 1.0 - 1800000.0 / (745.0 * 3600000.0)));
    nines_ivset_close(&down);

    from = nines_tz_month_start_utc_ms(tz, 2026, 3);
    to = nines_tz_month_start_utc_ms(tz, 2026, 4);
    set_of(&down, mar, 1);
    r = run(from, to, &down, NULL, NULL, 0);
    cr_assert(eq(i64, r.window_ms, 743 * H_MS));
    cr_assert(eq(i64, r.downtime_ms, 600000));
    cr_assert(eq(dbl, r.uptime, 1.0 - 600000.0 / (743.0 * 3600000.0)));
    nines_ivset_close(&down);
    nines_tz_free(tz);
}

/*
 * November 2026 in America/New_York: 2026-11-01 04:00 UTC (00:00 EDT) to
 * 2026-12-01 05:00 UTC (00:00 EST), 721 h. An incident from 03:00 UTC (the
 * evening of October 31, local) to 06:30 UTC counts only from the month's
 * start: 2.5 h = 9000000 ms. A maintenance window 2026-11-15 07:00-09:00 UTC
 * (2 h) comes off the eligible time: 1 − 9000000 / (719 × 3600000).
 * March 2026 (743 h), one 1-hour incident: 1 − 3600000 / (743 × 3600000).
 */
Test(uptime, new_york_dst_months_exactly)
{
    struct nines_err err;
    struct nines_tz *tz = nines_tz_load("America/New_York", &err);
    const struct span nov[] = { { utc_ms(2026, 11, 1, 3, 0), utc_ms(2026, 11, 1, 6, 30) } };
    const struct span mt[] = { { utc_ms(2026, 11, 15, 7, 0), utc_ms(2026, 11, 15, 9, 0) } };
    const struct span mar[] = { { utc_ms(2026, 3, 8, 6, 30), utc_ms(2026, 3, 8, 7, 30) } };
    struct nines_ivset down, maint;
    struct uptime_result r;
    int64_t from, to;

    cr_assert(tz != NULL, "%s", err.msg);
    from = nines_tz_month_start_utc_ms(tz, 2026, 11);
    to = nines_tz_month_start_utc_ms(tz, 2026, 12);
    set_of(&down, nov, 1);
    set_of(&maint, mt, 1);
    r = run(from, to, &down, &maint, NULL, 0);
    cr_assert(eq(i64, r.window_ms, 721 * H_MS));
    cr_assert(eq(i64, r.maintenance_ms, 2 * H_MS));
    cr_assert(eq(i64, r.downtime_ms, 9000000));
    cr_assert(eq(i64, r.eligible_ms, 719 * H_MS));
    cr_assert(eq(dbl, r.uptime, 1.0 - 9000000.0 / (719.0 * 3600000.0)));
    nines_ivset_close(&down);
    nines_ivset_close(&maint);

    from = nines_tz_month_start_utc_ms(tz, 2026, 3);
    to = nines_tz_month_start_utc_ms(tz, 2026, 4);
    set_of(&down, mar, 1);
    r = run(from, to, &down, NULL, NULL, 0);
    cr_assert(eq(i64, r.window_ms, 743 * H_MS));
    cr_assert(eq(i64, r.downtime_ms, H_MS));
    cr_assert(eq(dbl, r.uptime, 1.0 - 3600000.0 / (743.0 * 3600000.0)));
    nines_ivset_close(&down);
    nines_tz_free(tz);
}

Test(uptime, windows_without_eligible_time)
{
    const struct span all[] = { { -10, 200 } };
    struct nines_ivset s;
    struct uptime_input bad = { 10, 5, NULL, NULL, NULL, 0 };
    struct uptime_result r;

    /* An empty window. */
    r = run(50, 50, NULL, NULL, NULL, 0);
    cr_assert(eq(i64, r.window_ms, 0));
    cr_assert(eq(int, r.no_eligible_time, 1));
    cr_assert(eq(dbl, r.uptime, 1.0));
    cr_assert(eq(dbl, r.coverage, 1.0));
    /* All maintenance, even with downtime inside: nothing counts. */
    set_of(&s, all, 1);
    r = run(0, 100, &s, &s, NULL, 0);
    cr_assert(eq(i64, r.maintenance_ms, 100));
    cr_assert(eq(i64, r.downtime_ms, 0));
    cr_assert(eq(i64, r.eligible_ms, 0));
    cr_assert(eq(int, r.no_eligible_time, 1));
    cr_assert(eq(dbl, r.uptime, 1.0));
    /* No data at all: left out, nothing is eligible and coverage is 0; counted as
     * down, the whole window is down. */
    r = run(0, 100, NULL, NULL, &s, 0);
    cr_assert(eq(int, r.no_eligible_time, 1));
    cr_assert(eq(dbl, r.coverage, 0.0));
    r = run(0, 100, NULL, NULL, &s, 1);
    cr_assert(eq(int, r.no_eligible_time, 0));
    cr_assert(eq(i64, r.downtime_ms, 100));
    cr_assert(eq(dbl, r.uptime, 0.0));
    cr_assert(eq(dbl, r.coverage, 0.0));
    nines_ivset_close(&s);
    cr_assert(eq(int, uptime_compute(&bad, &r), NINES_EINVAL));
}

/*
 * A: [0,100) [300,400) critical.  B: [50,150) [350,360) critical.
 * C: [500,600) not critical.
 * any: A ∪ B = [0,150) [300,400).   all: A ∩ B = [50,100) [350,360).
 * C never counts.
 */
Test(uptime, services_any_and_all_with_critical_flags)
{
    const struct span a[] = { { 0, 100 }, { 300, 400 } };
    const struct span b[] = { { 50, 150 }, { 350, 360 } };
    const struct span c[] = { { 500, 600 } };
    struct nines_ivset sa, sb, sc, out;
    struct uptime_member m[3];

    set_of(&sa, a, 2);
    set_of(&sb, b, 2);
    set_of(&sc, c, 1);
    nines_ivset_init(&out);
    m[0] = (struct uptime_member){ &sa, 1 };
    m[1] = (struct uptime_member){ &sb, 1 };
    m[2] = (struct uptime_member){ &sc, 0 };
    cr_assert(eq(int, uptime_service_down(m, 3, UPTIME_DOWN_ANY, &out), 0));
    cr_assert(eq(sz, out.n, 2));
    cr_assert(eq(i64, out.v[0].start_ms, 0));
    cr_assert(eq(i64, out.v[0].end_ms, 150));
    cr_assert(eq(i64, out.v[1].start_ms, 300));
    cr_assert(eq(i64, out.v[1].end_ms, 400));
    cr_assert(eq(int, uptime_service_down(m, 3, UPTIME_DOWN_ALL, &out), 0));
    cr_assert(eq(sz, out.n, 2));
    cr_assert(eq(i64, out.v[0].start_ms, 50));
    cr_assert(eq(i64, out.v[0].end_ms, 100));
    cr_assert(eq(i64, out.v[1].start_ms, 350));
    cr_assert(eq(i64, out.v[1].end_ms, 360));

    /* C made critical joins the union: [500,600) too; the intersection becomes empty. */
    m[2].critical = 1;
    cr_assert(eq(int, uptime_service_down(m, 3, UPTIME_DOWN_ANY, &out), 0));
    cr_assert(eq(sz, out.n, 3));
    cr_assert(eq(i64, out.v[2].start_ms, 500));
    cr_assert(eq(int, uptime_service_down(m, 3, UPTIME_DOWN_ALL, &out), 0));
    cr_assert(eq(sz, out.n, 0));

    /* Only non-critical checks: never down. A critical check with no down set is up. */
    m[0].critical = m[1].critical = m[2].critical = 0;
    cr_assert(eq(int, uptime_service_down(m, 3, UPTIME_DOWN_ANY, &out), 0));
    cr_assert(eq(sz, out.n, 0));
    m[0] = (struct uptime_member){ &sa, 1 };
    m[1] = (struct uptime_member){ NULL, 1 };
    cr_assert(eq(int, uptime_service_down(m, 2, UPTIME_DOWN_ANY, &out), 0));
    cr_assert(eq(sz, out.n, 2));
    cr_assert(eq(int, uptime_service_down(m, 2, UPTIME_DOWN_ALL, &out), 0));
    cr_assert(eq(sz, out.n, 0));
    cr_assert(eq(int, uptime_service_down(m, 2, UPTIME_DOWN_ANY, &sa), NINES_EINVAL));
    nines_ivset_close(&sa);
    nines_ivset_close(&sb);
    nines_ivset_close(&sc);
    nines_ivset_close(&out);
}

Test(uptime, standard_windows)
{
    static const int64_t days[UPTIME_WINDOWS] = { 1, 7, 30, 90 };
    static const char names[UPTIME_WINDOWS][4] = { "24h", "7d", "30d", "90d" };
    int64_t now = utc_ms(2026, 11, 28, 17, 41), from, to;
    int w;

    for (w = 0; w < UPTIME_WINDOWS; w++) {
        cr_assert(eq(int, uptime_window_range((enum uptime_window)w, now, &from, &to), 0));
        cr_assert(eq(i64, to, now));
        cr_assert(eq(i64, to - from, days[w] * 24 * H_MS));
        cr_assert(eq(str, (char *)uptime_window_name((enum uptime_window)w), (char *)names[w]));
    }
    cr_assert(eq(int, uptime_window_range(UPTIME_WINDOWS, now, &from, &to), NINES_EINVAL));
    cr_assert(uptime_window_name(UPTIME_WINDOWS) == NULL);
}

/* ---- the sweep against the interval algebra, on random timelines ------ */

static uint32_t rng_state = 99991;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void random_set(struct nines_ivset *s)
{
    int n = (int)(rng() % 5), i;

    nines_ivset_init(s);
    for (i = 0; i < n; i++) {
        int64_t a = (int64_t)(rng() % 1200) - 100;

        cr_assert(eq(int, nines_ivset_add(s, a, a + (int64_t)(rng() % 300)), 0));
    }
}

/* The same quantities through clip / subtract / union / total. */
static void algebra(int64_t from, int64_t to, const struct nines_ivset *down,
                    const struct nines_ivset *maint, const struct nines_ivset *nodata,
                    int nodata_is_down, int64_t *maint_ms, int64_t *nodata_ms, int64_t *down_ms)
{
    struct nines_ivset m, n, d, t;

    nines_ivset_init(&m);
    nines_ivset_init(&n);
    nines_ivset_init(&d);
    nines_ivset_init(&t);
    cr_assert(eq(int, nines_ivset_copy(maint, &m), 0));
    nines_ivset_clip(&m, from, to);
    cr_assert(eq(int, nines_ivset_copy(nodata, &t), 0));
    nines_ivset_clip(&t, from, to);
    cr_assert(eq(int, nines_ivset_subtract(&t, &m, &n), 0));
    cr_assert(eq(int, nines_ivset_copy(down, &t), 0));
    nines_ivset_clip(&t, from, to);
    cr_assert(eq(int, nines_ivset_subtract(&t, &m, &d), 0));
    if (nodata_is_down) {
        cr_assert(eq(int, nines_ivset_union(&d, &n, &t), 0));
    } else {
        cr_assert(eq(int, nines_ivset_subtract(&d, &n, &t), 0));
    }
    *maint_ms = nines_ivset_total_ms(&m);
    *nodata_ms = nines_ivset_total_ms(&n);
    *down_ms = nines_ivset_total_ms(&t);
    nines_ivset_close(&m);
    nines_ivset_close(&n);
    nines_ivset_close(&d);
    nines_ivset_close(&t);
}

Test(uptime, sweep_agrees_with_interval_algebra)
{
    int iter;

    for (iter = 0; iter < 2000; iter++) {
        struct nines_ivset down, maint, nodata;
        int64_t from = (int64_t)(rng() % 500), to = from + (int64_t)(rng() % 600);
        int64_t mm, nm, dm;
        int nd = iter % 2;
        struct uptime_result r;

        random_set(&down);
        random_set(&maint);
        random_set(&nodata);
        r = run(from, to, &down, &maint, &nodata, nd);
        algebra(from, to, &down, &maint, &nodata, nd, &mm, &nm, &dm);
        cr_assert(eq(i64, r.maintenance_ms, mm), "iter %d", iter);
        cr_assert(eq(i64, r.nodata_ms, nm), "iter %d", iter);
        cr_assert(eq(i64, r.downtime_ms, dm), "iter %d", iter);
        cr_assert(eq(i64, r.eligible_ms, to - from - mm - (nd ? 0 : nm)), "iter %d", iter);
        cr_assert(r.downtime_ms <= r.eligible_ms, "iter %d", iter);
        nines_ivset_close(&down);
        nines_ivset_close(&maint);
        nines_ivset_close(&nodata);
    }
}
