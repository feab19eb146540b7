/*
 * Capacity forecasts against series whose answer is known: exact lines (the
 * ETA to the millisecond), a line with deterministic noise (within 5 %),
 * flat, falling, too short and too sparse series, the ring's overflow and
 * late samples, and epoch-millisecond times. Facts parsing runs on crafted
 * JSON, good and bad, and on the facts of the real host check run once on a
 * fresh libuv loop against the real /proc.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "check.h"
#include "host.h"
#include "nines/err.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)
#define EPOCH INT64_C(1800000000000) /* 2027-01-15, in epoch ms */

static struct capacity_series *series_new(size_t cap)
{
    struct capacity_series *s = capacity_series_new(cap);

    cr_assert(s != NULL);
    return s;
}

/* n samples every step_ms from t0 on the line v0 + slope · (t − t0). */
static void add_line(struct capacity_series *s, int64_t t0, int64_t step_ms, size_t n, double v0,
                     double slope_per_ms)
{
    for (size_t i = 0; i < n; i++) {
        int64_t dt = (int64_t)i * step_ms;

        cr_assert(eq(int, capacity_series_add(s, t0 + dt, v0 + slope_per_ms * (double)dt), 0));
    }
}

static struct capacity_forecast forecast(const struct capacity_series *s, int64_t now,
                                         int64_t window, double limit, size_t min_samples)
{
    struct capacity_forecast f;

    cr_assert(eq(int, capacity_forecast(s, now, window, limit, min_samples, &f), 0));
    return f;
}

/* ------------------------------------------------------------ forecast */

/*
 * 50 % at EPOCH, +3.6 % per hour (1e-6 per ms), one sample a minute for 6 h:
 * 71.6 % at now, so 100 % is 28.4 / 1e-6 = 28,400,000 ms away.
 */
Test(capacity_forecast, exact_line_gives_the_exact_eta)
{
    struct capacity_series *s = series_new(1440);
    int64_t now = EPOCH + 6 * HOUR_MS;
    struct capacity_forecast f;

    add_line(s, EPOCH, MIN_MS, 361, 50.0, 1e-6);
    f = forecast(s, now, 6 * HOUR_MS, 100.0, 10);

    cr_assert(eq(int, f.status, CAPACITY_ETA), "%s", capacity_status_name(f.status));
    cr_assert(le(i64, llabs(f.eta_ms - INT64_C(28400000)), 1), "eta %lld", (long long)f.eta_ms);
    cr_assert(eq(sz, f.fit.n, 361));
    cr_assert(eq(i64, f.fit.span_ms, 6 * HOUR_MS));
    cr_assert(lt(dbl, fabs(f.fit.slope_per_ms - 1e-6), 1e-15));
    cr_assert(lt(dbl, fabs(f.value_at_now - 71.6), 1e-9));
    cr_assert(gt(dbl, f.fit.r2, 1 - 1e-12));
    capacity_series_free(s);
}

/* The fit is evaluated at now, not at the newest sample: 30 min later, 1.8 % more. */
Test(capacity_forecast, eta_counts_from_now_not_from_the_newest_sample)
{
    struct capacity_series *s = series_new(1440);
    int64_t now = EPOCH + 6 * HOUR_MS + 30 * MIN_MS;
    struct capacity_forecast f;

    add_line(s, EPOCH, MIN_MS, 361, 50.0, 1e-6);
    f = forecast(s, now, 8 * HOUR_MS, 100.0, 10);

    cr_assert(eq(int, f.status, CAPACITY_ETA));
    cr_assert(le(i64, llabs(f.eta_ms - (INT64_C(28400000) - 30 * MIN_MS)), 1));
    capacity_series_free(s);
}

/* x_{k+1} = a·x_k + c mod 2^32 (Numerical Recipes' constants), as noise in [-1, 1]. */
static double lcg_noise(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return (double)*x / 2147483647.5 - 1.0;
}

/*
 * 40 % growing 10 % a day, one sample a minute for a day, each off the line
 * by up to ±1.5 %: 50 % at now, the true ETA to 100 % is 5 days.
 */
Test(capacity_forecast, noisy_line_is_within_five_percent)
{
    struct capacity_series *s = series_new(1440);
    double slope = 10.0 / (double)DAY_MS;
    int64_t now = EPOCH + 1439 * MIN_MS;
    double truth = (100.0 - (40.0 + slope * (double)(1439 * MIN_MS))) / slope;
    uint32_t x = 12345;
    struct capacity_forecast f;

    for (int64_t i = 0; i < 1440; i++) {
        double v = 40.0 + slope * (double)(i * MIN_MS) + 1.5 * lcg_noise(&x);

        cr_assert(eq(int, capacity_series_add(s, EPOCH + i * MIN_MS, v), 0));
    }
    f = forecast(s, now, DAY_MS, 100.0, 60);

    cr_assert(eq(int, f.status, CAPACITY_ETA));
    cr_assert(lt(dbl, fabs((double)f.eta_ms - truth) / truth, 0.05), "eta %lld, truth %.0f",
              (long long)f.eta_ms, truth);
    cr_assert(ne(dbl, (double)f.eta_ms, truth), "the noise must move the estimate a little");
    cr_assert(gt(dbl, f.fit.r2, 0.5));
    cr_assert(lt(dbl, f.fit.r2, 1.0));
    capacity_series_free(s);
}

Test(capacity_forecast, flat_and_falling_have_no_trend)
{
    struct capacity_series *flat = series_new(100);
    struct capacity_series *down = series_new(100);
    struct capacity_forecast f;

    add_line(flat, EPOCH, MIN_MS, 61, 70.0, 0.0);
    add_line(down, EPOCH, MIN_MS, 61, 70.0, -1e-6);

    f = forecast(flat, EPOCH + HOUR_MS, HOUR_MS, 100.0, 10);
    cr_assert(eq(int, f.status, CAPACITY_NO_TREND), "%s", capacity_status_name(f.status));
    cr_assert(eq(i64, f.eta_ms, 0));
    cr_assert(eq(dbl, f.fit.slope_per_ms, 0.0));
    cr_assert(eq(dbl, f.fit.r2, 1.0), "a constant series is fitted exactly");
    f = forecast(down, EPOCH + HOUR_MS, HOUR_MS, 100.0, 10);
    cr_assert(eq(int, f.status, CAPACITY_NO_TREND), "%s", capacity_status_name(f.status));
    cr_assert(lt(dbl, f.fit.slope_per_ms, 0.0));
    capacity_series_free(flat);
    capacity_series_free(down);
}

Test(capacity_forecast, at_or_over_the_limit_is_already)
{
    struct capacity_series *up = series_new(100);
    struct capacity_series *down = series_new(100);
    struct capacity_forecast f;

    /* Reaches 100.001 at now. */
    add_line(up, EPOCH, MIN_MS, 61, 100.001 - 60.0 * 1e-3, 1e-3 / (double)MIN_MS);
    f = forecast(up, EPOCH + HOUR_MS, HOUR_MS, 100.0, 10);
    cr_assert(eq(int, f.status, CAPACITY_ALREADY), "%s, %.17g",
              capacity_status_name(f.status), f.value_at_now);
    /* Over the limit and falling is still over the limit. */
    add_line(down, EPOCH, MIN_MS, 61, 1.6, -1e-9);
    f = forecast(down, EPOCH + HOUR_MS, HOUR_MS, 1.0, 10);
    cr_assert(eq(int, f.status, CAPACITY_ALREADY), "%s", capacity_status_name(f.status));
    cr_assert(gt(dbl, f.value_at_now, 1.0));
    capacity_series_free(up);
    capacity_series_free(down);
}

Test(capacity_forecast, too_few_samples_or_too_short_a_span_is_no_data)
{
    struct capacity_series *s = series_new(100);
    struct capacity_forecast f;

    f = forecast(s, EPOCH, HOUR_MS, 100.0, 2);
    cr_assert(eq(int, f.status, CAPACITY_NO_DATA), "empty series");
    cr_assert(eq(sz, f.fit.n, 0));

    add_line(s, EPOCH, MIN_MS, 1, 50.0, 0);
    f = forecast(s, EPOCH, HOUR_MS, 100.0, 0);
    cr_assert(eq(int, f.status, CAPACITY_NO_DATA), "one sample, min_samples 0 counts as 2");
    cr_assert(eq(sz, f.fit.n, 1));

    /* 16 rising samples over 15 min: enough samples, span exactly a quarter of 1 h. */
    add_line(s, EPOCH + MIN_MS, MIN_MS, 15, 51.0, 1e-6);
    f = forecast(s, EPOCH + 15 * MIN_MS, HOUR_MS, 100.0, 17);
    cr_assert(eq(int, f.status, CAPACITY_NO_DATA), "16 samples, 17 wanted");
    cr_assert(eq(sz, f.fit.n, 16));
    f = forecast(s, EPOCH + 15 * MIN_MS, HOUR_MS, 100.0, 16);
    cr_assert(eq(int, f.status, CAPACITY_ETA), "a span of window / 4 is enough");
    f = forecast(s, EPOCH + 15 * MIN_MS, HOUR_MS + 4, 100.0, 16);
    cr_assert(eq(int, f.status, CAPACITY_NO_DATA), "a span 1 ms under window / 4");
    cr_assert(eq(i64, f.fit.span_ms, 15 * MIN_MS));
    /* Samples outside [now − window, now] do not count: only 6 are in the last 5 min. */
    f = forecast(s, EPOCH + 15 * MIN_MS, 5 * MIN_MS, 100.0, 7);
    cr_assert(eq(int, f.status, CAPACITY_NO_DATA));
    cr_assert(eq(sz, f.fit.n, 6));
    capacity_series_free(s);
}

Test(capacity_forecast, bad_arguments_are_refused)
{
    struct capacity_series *s = series_new(10);
    struct capacity_forecast f;

    add_line(s, EPOCH, MIN_MS, 5, 50.0, 1e-6);
    cr_assert(eq(int, capacity_forecast(s, EPOCH, 0, 100, 2, &f), NINES_EINVAL));
    cr_assert(eq(int, capacity_forecast(s, EPOCH, -HOUR_MS, 100, 2, &f), NINES_EINVAL));
    cr_assert(eq(int, capacity_forecast(s, -1, HOUR_MS, 100, 2, &f), NINES_EINVAL));
    cr_assert(eq(int, capacity_forecast(s, EPOCH, HOUR_MS, NAN, 2, &f), NINES_EINVAL));
    cr_assert(eq(int, capacity_forecast(s, EPOCH, HOUR_MS, INFINITY, 2, &f), NINES_EINVAL));
    cr_assert(eq(int, capacity_forecast(NULL, EPOCH, HOUR_MS, 100, 2, &f), NINES_EINVAL));
    cr_assert(eq(int, capacity_forecast(s, EPOCH, HOUR_MS, 100, 2, NULL), NINES_EINVAL));
    /* A window reaching before the epoch is clipped, not an error. */
    cr_assert(eq(int, capacity_forecast(s, EPOCH + 4 * MIN_MS, INT64_MAX, 100, 2, &f), 0));
    cr_assert(eq(sz, f.fit.n, 5));
    capacity_series_free(s);
}

/* A slope of 1e-20 per ms would take 10^21 ms: reported as the cap, not overflowed. */
Test(capacity_forecast, far_eta_is_capped)
{
    struct capacity_series *s = series_new(10);
    struct capacity_forecast f;

    add_line(s, EPOCH, HOUR_MS, 3, 0.0, 1e-20);
    f = forecast(s, EPOCH + 2 * HOUR_MS, 2 * HOUR_MS, 10.0, 2);
    cr_assert(eq(int, f.status, CAPACITY_ETA));
    cr_assert(eq(i64, f.eta_ms, CAPACITY_ETA_MAX_MS));
    capacity_series_free(s);
}

/* ------------------------------------------------------------ series and fit */

Test(capacity_series, overflow_keeps_the_newest)
{
    struct capacity_series *s = series_new(10);
    struct capacity_fit fit;

    for (int64_t i = 0; i < 25; i++)
        cr_assert(eq(int, capacity_series_add(s, EPOCH + i * MIN_MS, (double)i), 0));
    cr_assert(eq(sz, capacity_series_count(s), 10));

    cr_assert(eq(int, capacity_fit(s, 0, EPOCH + 24 * MIN_MS, &fit), 0));
    cr_assert(eq(sz, fit.n, 10));
    cr_assert(eq(i64, fit.span_ms, 9 * MIN_MS), "samples 15..24 remain");
    /* value i at EPOCH + i min: the line through 15..24 is that same line */
    cr_assert(lt(dbl, fabs(fit.value_at_to - 24.0), 1e-9), "%.17g", fit.value_at_to);
    cr_assert(eq(int, capacity_fit(s, 0, EPOCH + 14 * MIN_MS, &fit), NINES_ENOTFOUND));
    cr_assert(eq(sz, fit.n, 0), "samples 0..14 are gone");
    cr_assert(eq(int, capacity_fit(s, EPOCH + 15 * MIN_MS, EPOCH + 16 * MIN_MS, &fit), 0));
    cr_assert(eq(sz, fit.n, 2));
    capacity_series_free(s);
}

Test(capacity_series, duplicate_replaces_and_late_is_refused)
{
    struct capacity_series *s = series_new(10);
    struct capacity_fit fit;

    cr_assert(eq(int, capacity_series_add(s, EPOCH, 10.0), 0));
    cr_assert(eq(int, capacity_series_add(s, EPOCH + MIN_MS, 99.0), 0));
    cr_assert(eq(int, capacity_series_add(s, EPOCH + MIN_MS, 20.0), 0), "same time: replaced");
    cr_assert(eq(sz, capacity_series_count(s), 2));
    cr_assert(eq(int, capacity_series_add(s, EPOCH + MIN_MS - 1, 5.0), NINES_ESTATE));
    cr_assert(eq(int, capacity_series_add(s, EPOCH, 5.0), NINES_ESTATE), "older than newest");
    cr_assert(eq(u64, capacity_series_late(s), 2));
    cr_assert(eq(sz, capacity_series_count(s), 2));

    cr_assert(eq(int, capacity_fit(s, EPOCH, EPOCH + MIN_MS, &fit), 0));
    cr_assert(lt(dbl, fabs(fit.slope_per_ms - 10.0 / (double)MIN_MS), 1e-18));
    cr_assert(lt(dbl, fabs(fit.value_at_to - 20.0), 1e-12));
    capacity_series_free(s);
}

Test(capacity_series, bad_samples_and_sizes_are_refused)
{
    struct capacity_series *s = series_new(4);

    cr_assert(eq(ptr, capacity_series_new(0), NULL));
    cr_assert(eq(ptr, capacity_series_new(1000001), NULL));
    cr_assert(eq(int, capacity_series_add(s, -1, 1.0), NINES_EINVAL));
    cr_assert(eq(int, capacity_series_add(s, CAPACITY_T_MAX + 1, 1.0), NINES_EINVAL));
    cr_assert(eq(int, capacity_series_add(s, EPOCH, NAN), NINES_EINVAL));
    cr_assert(eq(int, capacity_series_add(s, EPOCH, -INFINITY), NINES_EINVAL));
    cr_assert(eq(int, capacity_series_add(NULL, EPOCH, 1.0), NINES_EINVAL));
    cr_assert(eq(sz, capacity_series_count(s), 0));
    cr_assert(eq(int, capacity_series_add(s, CAPACITY_T_MAX, 1.0), 0));
    capacity_series_free(s);
    capacity_series_free(NULL);
}

Test(capacity_fit, edge_cases)
{
    struct capacity_series *s = series_new(4);
    struct capacity_fit fit;

    cr_assert(eq(int, capacity_fit(s, 10, 9, &fit), NINES_EINVAL));
    cr_assert(eq(int, capacity_fit(s, 0, 10, &fit), NINES_ENOTFOUND));
    cr_assert(eq(sz, fit.n, 0));
    cr_assert(eq(int, capacity_series_add(s, 5, 1.0), 0));
    cr_assert(eq(int, capacity_fit(s, 0, 10, &fit), NINES_ENOTFOUND));
    cr_assert(eq(sz, fit.n, 1));
    cr_assert(eq(i64, fit.span_ms, 0));
    cr_assert(eq(int, capacity_fit(s, 5, 5, &fit), NINES_ENOTFOUND), "bounds are inclusive");
    cr_assert(eq(sz, fit.n, 1));
    cr_assert(eq(int, capacity_series_add(s, 7, 3.0), 0));
    cr_assert(eq(int, capacity_fit(s, 5, 7, &fit), 0));
    cr_assert(eq(dbl, fit.slope_per_ms, 1.0));
    cr_assert(eq(dbl, fit.value_at_to, 3.0));
    cr_assert(eq(dbl, fit.r2, 1.0));
    capacity_series_free(s);
}

/*
 * The same line, once with times near 0 and once near 1.8e12 ms, rising
 * 1e-9 per ms (2.592 over 30 days, one sample every 30 min). t² at 1.8e12
 * is 3.2e24, past a double's 53 bits: the textbook one-pass formula
 * (nΣty − ΣtΣy) / (nΣt² − (Σt)²) is off by 7.6e-9 relative here; centred
 * sums must keep slope and level within 1e-10.
 */
Test(capacity_fit, epoch_times_keep_precision)
{
    struct capacity_series *a = series_new(2000);
    struct capacity_series *b = series_new(2000);
    int64_t base = EPOCH + 123456789;
    int64_t step = 30 * DAY_MS / 1440;
    struct capacity_fit fa, fb;

    add_line(a, 0, step, 1441, 42.0, 1e-9);
    add_line(b, base, step, 1441, 42.0, 1e-9);
    cr_assert(eq(int, capacity_fit(a, 0, 1440 * step, &fa), 0));
    cr_assert(eq(int, capacity_fit(b, base, base + 1440 * step, &fb), 0));

    cr_assert(lt(dbl, fabs(fb.slope_per_ms - 1e-9) / 1e-9, 1e-10), "%.17g", fb.slope_per_ms);
    cr_assert(lt(dbl, fabs(fb.slope_per_ms - fa.slope_per_ms) / 1e-9, 1e-10));
    cr_assert(lt(dbl, fabs(fb.value_at_to - (42.0 + 1e-9 * (double)(1440 * step))), 1e-10));
    cr_assert(gt(dbl, fb.r2, 1 - 1e-9));
    cr_assert(eq(i64, fb.span_ms, 1440 * step));
    capacity_series_free(a);
    capacity_series_free(b);
}

/* ------------------------------------------------------------ eta text */

struct eta_case {
    int64_t ms;
    char text[16];
};

Test(capacity_eta_text, rounds_to_the_nearest_unit)
{
    static const struct eta_case cases[] = {
        { -5, "now" },
        { 0, "now" },
        { 1, "< 1 min" },
        { MIN_MS - 1, "< 1 min" },
        { MIN_MS, "~1 min" },
        { 45 * MIN_MS, "~45 min" },
        { 59 * MIN_MS + 29999, "~59 min" },
        { 59 * MIN_MS + 30000, "~1 h" },
        { 19 * HOUR_MS + 20 * MIN_MS, "~19 h" },
        { 19 * HOUR_MS + 30 * MIN_MS, "~20 h" },
        { 47 * HOUR_MS + 29 * MIN_MS, "~47 h" },
        { 47 * HOUR_MS + 30 * MIN_MS, "~2 d" },
        { 3 * DAY_MS + 11 * HOUR_MS, "~3 d" },
        { 3 * DAY_MS + 12 * HOUR_MS, "~4 d" },
        { INT64_MAX, "~106751991167 d" },
    };
    char buf[32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert(eq(int, capacity_eta_text(cases[i].ms, buf, sizeof(buf)), 0));
        cr_assert(eq(str, buf, (char *)cases[i].text), "for %lld ms",
                  (long long)cases[i].ms);
    }
}

Test(capacity_eta_text, small_buffer_is_an_error_and_terminated)
{
    char buf[4] = "xyz";

    cr_assert(eq(int, capacity_eta_text(45 * MIN_MS, buf, sizeof(buf)), NINES_EINVAL));
    cr_assert(eq(str, buf, "~45"));
    cr_assert(eq(int, capacity_eta_text(45 * MIN_MS, NULL, 10), NINES_EINVAL));
    cr_assert(eq(int, capacity_eta_text(45 * MIN_MS, buf, 0), NINES_EINVAL));
}

/* ------------------------------------------------------------ facts */

static const struct capacity_sample *find(const struct capacity_sample *v, size_t n,
                                          const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    }
    return NULL;
}

static size_t parse(const char *json, double load_limit, struct capacity_sample *v, size_t max)
{
    size_t n = 999;

    cr_assert(eq(int, capacity_samples_from_facts(json, strlen(json), load_limit, v, max, &n),
                 0), "%s", json);
    return n;
}

static void expect(const struct capacity_sample *v, size_t n, const char *name, double value,
                   double limit)
{
    const struct capacity_sample *s = find(v, n, name);

    cr_assert(s != NULL, "no \"%s\"", name);
    cr_assert(eq(dbl, s->value, value), "%s", name);
    cr_assert(eq(dbl, s->limit, limit), "%s", name);
}

Test(capacity_facts, every_resource_with_its_name_and_limit)
{
    const char *json = "{\"cpu_pct\":12.5,\"iowait_pct\":1,\"cpus\":4,\"load\":[3.2,2,1],"
                       "\"load_per_cpu\":0.8,\"mem_pct\":61.2,\"mem_total\":8000,"
                       "\"swap_pct\":3,\"open_files_pct\":0.4,"
                       "\"fs\":[{\"mount\":\"/var\",\"fstype\":\"ext4\",\"bytes_total\":10,"
                       "\"bytes_used\":9,\"pct\":90,\"inodes_pct\":12.1},"
                       "{\"mount\":\"/\",\"fstype\":\"xfs\",\"pct\":40}],"
                       "\"net\":[{\"if\":\"eth0\",\"rx_bps\":5,\"tx_bps\":6}],"
                       "\"over\":[\"disk /var\"]}";
    struct capacity_sample v[CAPACITY_SAMPLES_MAX];
    size_t n = parse(json, 2.0, v, CAPACITY_SAMPLES_MAX);

    cr_assert(eq(sz, n, 8));
    expect(v, n, "memory", 61.2, 100);
    expect(v, n, "swap", 3, 100);
    expect(v, n, "cpu", 12.5, 100);
    expect(v, n, "load", 0.8, 2.0);
    expect(v, n, "open files", 0.4, 100);
    expect(v, n, "disk /var", 90, 100);
    expect(v, n, "inodes /var", 12.1, 100);
    expect(v, n, "disk /", 40, 100);
    cr_assert(eq(ptr, (void *)find(v, n, "inodes /"), NULL), "no inodes_pct for /");
}

Test(capacity_facts, no_swap_no_sample)
{
    struct capacity_sample v[8];
    size_t n = parse("{\"mem_pct\":5,\"fs\":[]}", 1.0, v, 8);

    cr_assert(eq(sz, n, 1));
    expect(v, n, "memory", 5, 100);
}

Test(capacity_facts, bad_parts_are_skipped)
{
    char long_mount[300];
    char json[1024];
    struct capacity_sample v[16];
    size_t n;

    memset(long_mount, 'a', sizeof(long_mount) - 1);
    long_mount[0] = '/';
    long_mount[sizeof(long_mount) - 1] = '\0';
    snprintf(json, sizeof(json),
             "{\"mem_pct\":\"61\",\"swap_pct\":null,\"cpu_pct\":-1,\"load_per_cpu\":true,"
             "\"open_files_pct\":[1],"
             "\"fs\":[7,\"x\",null,{\"pct\":3},{\"mount\":\"\",\"pct\":4},"
             "{\"mount\":\"/bad\\nname\",\"pct\":5},{\"mount\":\"%s\",\"pct\":6},"
             "{\"mount\":17,\"pct\":7},{\"mount\":\"/ok\",\"pct\":{},\"inodes_pct\":3},"
             "{\"mount\":\"/ok\",\"pct\":8,\"inodes_pct\":9}]}",
             long_mount);
    n = parse(json, 1.0, v, 16);

    cr_assert(eq(sz, n, 2), "got %zu: %s", n, n ? v[0].name : "");
    expect(v, n, "inodes /ok", 3, 100);
    expect(v, n, "disk /ok", 8, 100);
}

Test(capacity_facts, fs_that_is_not_an_array_is_ignored)
{
    struct capacity_sample v[8];
    size_t n = parse("{\"cpu_pct\":1,\"fs\":{\"mount\":\"/\",\"pct\":3}}", 1.0, v, 8);

    cr_assert(eq(sz, n, 1));
    expect(v, n, "cpu", 1, 100);
}

struct bad_json {
    char text[64];
};

Test(capacity_facts, malformed_json_gives_no_samples)
{
    static const struct bad_json bad[] = {
        { "{" },
        { "{\"mem_pct\":" },
        { "{\"mem_pct\":5,}" },
        { "[{\"mem_pct\":5}]" },
        { "null" },
        { "42" },
        { "\"mem_pct\"" },
        { "{\"mem_pct\":5}garbage" },
        { "{'mem_pct':5}" },
        { "\xff\xfe{}" },
        { "{\"mem_pct\":5" },
        { "{\"mem_pct\":1e400}" }, /* jansson refuses a real that overflows */
    };
    struct capacity_sample v[8];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = 999;

        cr_assert(eq(int, capacity_samples_from_facts(bad[i].text, strlen(bad[i].text), 1.0, v,
                                                      8, &n),
                     NINES_EINVAL), "accepted: %s", bad[i].text);
        cr_assert(eq(sz, n, 0), "%s", bad[i].text);
    }
}

Test(capacity_facts, embedded_nul_truncation_and_deep_nesting)
{
    static const char with_nul[] = "{\"mem_pct\":5}\0{\"cpu_pct\":1}";
    struct capacity_sample v[8];
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    size_t n = 999;

    cr_assert(deep != NULL);
    cr_assert(eq(int, capacity_samples_from_facts(with_nul, sizeof(with_nul) - 1, 1.0, v, 8, &n),
                 NINES_EINVAL));
    cr_assert(eq(sz, n, 0));
    /* Only the first 10 bytes of a good object: cut in the middle. */
    cr_assert(eq(int, capacity_samples_from_facts(with_nul, 10, 1.0, v, 8, &n), NINES_EINVAL));
    cr_assert(eq(sz, n, 0));
    /* len is honoured: the object alone parses although no NUL follows it in the count */
    cr_assert(eq(int, capacity_samples_from_facts(with_nul, 13, 1.0, v, 8, &n), 0));
    cr_assert(eq(sz, n, 1));
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    cr_assert(eq(int, capacity_samples_from_facts(deep, 2 * depth, 1.0, v, 8, &n), NINES_EINVAL));
    cr_assert(eq(sz, n, 0));
    free(deep);
}

Test(capacity_facts, empty_facts_and_bad_arguments)
{
    struct capacity_sample v[8];
    size_t n = 999;

    cr_assert(eq(int, capacity_samples_from_facts("", 0, 1.0, v, 8, &n), 0));
    cr_assert(eq(sz, n, 0));
    cr_assert(eq(int, capacity_samples_from_facts(NULL, 0, 1.0, v, 8, &n), 0));
    cr_assert(eq(int, capacity_samples_from_facts("{}", 2, 1.0, v, 8, &n), 0));
    cr_assert(eq(sz, n, 0));
    cr_assert(eq(int, capacity_samples_from_facts(NULL, 5, 1.0, v, 8, &n), NINES_EINVAL));
    cr_assert(eq(int, capacity_samples_from_facts("{}", 2, 0.0, v, 8, &n), NINES_EINVAL));
    cr_assert(eq(int, capacity_samples_from_facts("{}", 2, -1.0, v, 8, &n), NINES_EINVAL));
    cr_assert(eq(int, capacity_samples_from_facts("{}", 2, NAN, v, 8, &n), NINES_EINVAL));
    cr_assert(eq(int, capacity_samples_from_facts("{}", 2, 1.0, NULL, 8, &n), NINES_EINVAL));
    cr_assert(eq(int, capacity_samples_from_facts("{}", 2, 1.0, v, 8, NULL), NINES_EINVAL));
}

Test(capacity_facts, full_output_keeps_the_first_and_says_so)
{
    const char *json = "{\"mem_pct\":1,\"cpu_pct\":2,\"open_files_pct\":3,"
                       "\"fs\":[{\"mount\":\"/\",\"pct\":4}]}";
    struct capacity_sample v[2];
    size_t n = 999;

    cr_assert(eq(int, capacity_samples_from_facts(json, strlen(json), 1.0, v, 2, &n),
                 NINES_ENOMEM));
    cr_assert(eq(sz, n, 2));
    expect(v, n, "memory", 1, 100);
    expect(v, n, "cpu", 2, 100);
    cr_assert(eq(int, capacity_samples_from_facts(json, strlen(json), 1.0, NULL, 0, &n),
                 NINES_ENOMEM));
    cr_assert(eq(sz, n, 0));
}

/* ------------------------------------------------------------ the real host check */

struct got {
    int calls;
    struct nines_result r;
};

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->r = *r;
}

static char host_id[] = "host";

/* The root mount, or else the fullest real filesystem the host reported. */
static const struct capacity_sample *some_disk(const struct capacity_sample *v, size_t n)
{
    const struct capacity_sample *root = find(v, n, "disk /");

    if (root != NULL)
        return root;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(v[i].name, "disk /", 6) == 0)
            return &v[i];
    }
    return NULL;
}

Test(capacity_facts, from_a_real_host_result, .timeout = 30)
{
    uv_loop_t loop;
    struct check_env env;
    struct nines_check c;
    struct got *g = calloc(1, sizeof(*g));
    struct capacity_sample v[CAPACITY_SAMPLES_MAX];
    const struct capacity_sample *mem;
    const struct capacity_sample *disk;
    size_t n = 0;

    cr_assert(g != NULL);
    cr_assert(eq(int, curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK));
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    cr_assert(eq(int, check_env_init(&env, &loop), 0));
    memset(&c, 0, sizeof(c));
    c.id = host_id;
    c.kind = NINES_KIND_HOST;
    c.interval_ms = 60000;
    c.timeout_ms = 2000;
    cr_assert(eq(int, check_host_start(&env, &c, keep_result, g), 0));
    uv_run(&loop, UV_RUN_DEFAULT);
    check_env_close(&env);
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&loop), 0), "a handle was left open");
    curl_global_cleanup();

    cr_assert(eq(int, g->calls, 1));
    cr_assert(eq(int, g->r.outcome, NINES_OUTCOME_OK), "%s: %s", g->r.reason, g->r.message);
    cr_assert(eq(int, capacity_samples_from_facts(g->r.facts, strlen(g->r.facts),
                                                  CAPACITY_LOAD_LIMIT_DEFAULT, v,
                                                  CAPACITY_SAMPLES_MAX, &n), 0), "%s",
              g->r.facts);
    mem = find(v, n, "memory");
    disk = some_disk(v, n);
    cr_assert(mem != NULL, "%s", g->r.facts);
    cr_assert(disk != NULL, "%s", g->r.facts);
    cr_assert(gt(dbl, mem->value, 0));
    cr_assert(le(dbl, mem->value, 100));
    cr_assert(eq(dbl, mem->limit, 100));
    cr_assert(ge(dbl, disk->value, 0));
    cr_assert(le(dbl, disk->value, 100));
    cr_assert(ne(ptr, (void *)find(v, n, "cpu"), NULL), "%s", g->r.facts);
    cr_assert(ne(ptr, (void *)find(v, n, "load"), NULL), "%s", g->r.facts);
    cr_assert(eq(dbl, find(v, n, "load")->limit, CAPACITY_LOAD_LIMIT_DEFAULT));
    for (size_t i = 0; i < n; i++) {
        cr_assert(ge(dbl, v[i].value, 0), "%s", v[i].name);
        if (v[i].limit == 100.0)
            cr_assert(le(dbl, v[i].value, 100), "%s = %g", v[i].name, v[i].value);
    }
    free(g);
}
