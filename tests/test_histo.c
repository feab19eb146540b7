/* The latency histogram: 1% quantiles, exact merges, strict text forms. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"
#include "nines/err.h"

/* Relative error allowed: alpha, plus room for the last bits of a double. */
#define REL_TOL (NINES_HISTO_ALPHA + 1e-9)

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(void)     /* (0, 1) */
{
    return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

static uint64_t clamp_us(double v)
{
    if (!(v > 0.0))
        return 0;
    if (v >= (double)NINES_HISTO_MAX_US)
        return NINES_HISTO_MAX_US;
    return (uint64_t)llround(v);
}

enum dist { UNIFORM, EXPONENTIAL, LOGNORMAL, PARETO, BIMODAL, TINY, CONSTANT, WIDE, N_DIST };

static uint64_t draw(enum dist d)
{
    switch (d) {
    case UNIFORM:
        return rng_next() % 1000001;
    case EXPONENTIAL:
        return clamp_us(-20000.0 * log(rng_unit()));
    case LOGNORMAL:
        return clamp_us(exp(log(100000.0) + 1.0 * rng_normal()));
    case PARETO:
        return clamp_us(1000.0 / pow(rng_unit(), 1.0 / 1.2));
    case BIMODAL:
        return clamp_us(rng_next() & 1 ? 2000.0 + 300.0 * rng_normal()
                                       : 800000.0 + 50000.0 * rng_normal());
    case TINY:
        return rng_next() % 31;
    case CONSTANT:
        return 12345;
    case WIDE:  /* log-uniform over the whole range, beyond it to test the clamp */
        return clamp_us(exp(rng_unit() * log(3e9)));
    default:
        return 0;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The same rank rule as the histogram: ceil(q * n), at least 1. */
static uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q)
{
    double r = ceil(q * (double)n);
    size_t rank = r < 1.0 ? 1 : (r >= (double)n ? n : (size_t)r);

    return sorted[rank - 1];
}

static void assert_close(double got, uint64_t want, const char *what, double q)
{
    if (want == 0) {
        cr_assert(eq(dbl, got, 0.0), "%s q=%g: got %f, want 0", what, q, got);
        return;
    }
    cr_assert(fabs(got - (double)want) <= REL_TOL * (double)want,
              "%s q=%g: got %f, exact %llu (rel err %g)", what, q, got,
              (unsigned long long)want, fabs(got - (double)want) / (double)want);
}

static const double quantiles[] = { 0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0 };

static void check_quantiles(const struct nines_histo *h, uint64_t *vals, size_t n,
                            const char *what)
{
    qsort(vals, n, sizeof(vals[0]), cmp_u64);
    cr_assert(eq(u64, h->count, n));
    cr_assert(eq(u64, h->min_us, vals[0]));
    cr_assert(eq(u64, h->max_us, vals[n - 1]));
    for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++)
        assert_close(nines_histo_quantile(h, quantiles[i]),
                     exact_quantile(vals, n, quantiles[i]), what, quantiles[i]);
}

Test(histo, every_value_is_within_one_percent_of_its_bucket_estimate)
{
    int prev = 0;

    cr_assert(eq(int, nines_histo_bucket_index(0), 0));
    cr_assert(eq(dbl, nines_histo_bucket_value(0), 0.0));
    cr_assert(eq(int, nines_histo_bucket_index(1), 1));
    cr_assert(eq(int, nines_histo_bucket_index(NINES_HISTO_MAX_US), NINES_HISTO_SLOTS - 1));
    cr_assert(eq(int, nines_histo_bucket_index(UINT64_MAX), NINES_HISTO_SLOTS - 1));
    cr_assert(eq(dbl, nines_histo_bucket_value(NINES_HISTO_SLOTS), 0.0));
    cr_assert(eq(dbl, nines_histo_bucket_value(-1), 0.0));
    /* Every value up to 2e6, then a geometric sweep to the top of the range. */
    for (uint64_t v = 1; v <= NINES_HISTO_MAX_US; v = v < 2000000 ? v + 1 : v + v / 997) {
        int s = nines_histo_bucket_index(v);
        double est = nines_histo_bucket_value(s);

        cr_assert(s >= prev, "index not monotonic at %llu", (unsigned long long)v);
        cr_assert(fabs(est - (double)v) <= REL_TOL * (double)v,
                  "value %llu slot %d estimate %f", (unsigned long long)v, s, est);
        prev = s;
    }
}

Test(histo, quantiles_within_one_percent_for_many_distributions)
{
    static const char *const names[N_DIST] = { "uniform", "exponential", "lognormal", "pareto",
                                               "bimodal", "tiny", "constant", "wide" };
    static const size_t sizes[] = { 1, 2, 3, 7, 100, 1000, 20000 };
    uint64_t *vals = malloc(20000 * sizeof(*vals));
    struct nines_histo h;
    char what[64];

    cr_assert_not_null(vals);
    rng_state = 20261128;
    for (int d = 0; d < N_DIST; d++) {
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            nines_histo_init(&h);
            for (size_t i = 0; i < sizes[k]; i++) {
                vals[i] = draw((enum dist)d);
                nines_histo_add(&h, vals[i]);
            }
            snprintf(what, sizeof(what), "%s n=%zu", names[d], sizes[k]);
            check_quantiles(&h, vals, sizes[k], what);
        }
    }
    free(vals);
}

Test(histo, values_beyond_the_range_are_clamped)
{
    struct nines_histo h;

    nines_histo_init(&h);
    nines_histo_add(&h, 5000000000ULL);
    nines_histo_add(&h, UINT64_MAX);
    cr_assert(eq(u64, h.max_us, NINES_HISTO_MAX_US));
    cr_assert(eq(u64, h.sum_us, 2 * NINES_HISTO_MAX_US));
    cr_assert(eq(dbl, nines_histo_quantile(&h, 0.5), (double)NINES_HISTO_MAX_US));
    cr_assert(eq(u64, h.bucket[NINES_HISTO_SLOTS - 1], 2));
}

Test(histo, empty_histogram_and_odd_q)
{
    struct nines_histo h;

    nines_histo_init(&h);
    cr_assert(eq(dbl, nines_histo_quantile(&h, 0.5), 0.0));
    nines_histo_add(&h, 100);
    nines_histo_add(&h, 200);
    nines_histo_add(&h, 150);
    cr_assert(eq(dbl, nines_histo_quantile(&h, -3.0), 100.0));
    assert_close(nines_histo_quantile(&h, 0.5), 150, "middle", 0.5);
    cr_assert(ne(dbl, nines_histo_quantile(&h, 0.5), 150.0), "the middle is an estimate");
    cr_assert(eq(dbl, nines_histo_quantile(&h, NAN), 100.0));
    cr_assert(eq(dbl, nines_histo_quantile(&h, 7.0), 200.0));
}

Test(histo, merge_equals_the_histogram_of_the_union)
{
    struct nines_histo a, b, all, empty;
    uint64_t *vals = malloc(21000 * sizeof(*vals));
    size_t n = 0;

    cr_assert_not_null(vals);
    rng_state = 7;
    nines_histo_init(&a);
    nines_histo_init(&b);
    nines_histo_init(&all);
    nines_histo_init(&empty);
    /* a: one probe's fast day; b: another's slow one. */
    for (int i = 0; i < 12000; i++) {
        vals[n] = draw(LOGNORMAL) / 10;
        nines_histo_add(&a, vals[n]);
        nines_histo_add(&all, vals[n++]);
    }
    for (int i = 0; i < 9000; i++) {
        vals[n] = draw(i % 2 ? PARETO : TINY);
        nines_histo_add(&b, vals[n]);
        nines_histo_add(&all, vals[n++]);
    }
    cr_assert(eq(int, nines_histo_merge(&a, &b), 0));
    cr_assert(eq(int, memcmp(&a, &all, sizeof(a)), 0), "merge differs from the union");
    check_quantiles(&a, vals, n, "merged");
    /* Merging an empty histogram changes nothing; merging into one copies. */
    cr_assert(eq(int, nines_histo_merge(&a, &empty), 0));
    cr_assert(eq(int, memcmp(&a, &all, sizeof(a)), 0));
    cr_assert(eq(int, nines_histo_merge(&empty, &all), 0));
    cr_assert(eq(int, memcmp(&empty, &all, sizeof(a)), 0));
    free(vals);
}

Test(histo, a_week_of_days_merges_to_a_window_within_one_percent)
{
    struct nines_histo day[7], week;
    uint64_t *vals = malloc(7 * 3000 * sizeof(*vals));
    size_t n = 0;

    cr_assert_not_null(vals);
    rng_state = 99;
    nines_histo_init(&week);
    for (int d = 0; d < 7; d++) {
        nines_histo_init(&day[d]);
        for (int i = 0; i < 3000; i++) {
            vals[n] = draw((enum dist)(d % N_DIST)) + (uint64_t)d * 1000;
            nines_histo_add(&day[d], vals[n++]);
        }
        cr_assert(eq(int, nines_histo_merge(&week, &day[d]), 0));
    }
    check_quantiles(&week, vals, n, "week");
    free(vals);
}

Test(histo, merge_refuses_to_overflow)
{
    struct nines_histo a, b;

    nines_histo_init(&a);
    nines_histo_init(&b);
    nines_histo_add(&a, 10);
    nines_histo_add(&b, 20);
    a.count = UINT64_MAX;
    a.bucket[nines_histo_bucket_index(10)] = UINT64_MAX;
    cr_assert(eq(int, nines_histo_merge(&a, &b), NINES_EINVAL));
    cr_assert(eq(u64, a.max_us, 10), "dst must be unchanged");
}

static void round_trip(const struct nines_histo *h)
{
    static char buf[NINES_HISTO_ENCODE_MAX], again[NINES_HISTO_ENCODE_MAX];
    struct nines_histo back;
    int len;

    len = nines_histo_encode(h, buf, sizeof(buf));
    cr_assert(gt(int, len, 0));
    cr_assert(eq(sz, strlen(buf), (size_t)len));
    cr_assert(eq(int, nines_histo_decode(&back, buf, (size_t)len), 0), "decode '%.80s'", buf);
    cr_assert(eq(int, memcmp(&back, h, sizeof(back)), 0));
    cr_assert(eq(int, nines_histo_encode(&back, again, sizeof(again)), len));
    cr_assert(eq(str, again, buf));
}

Test(histo, encode_decode_round_trip)
{
    struct nines_histo h, full;
    char small[16];

    nines_histo_init(&h);
    round_trip(&h);
    nines_histo_add(&h, 0);
    round_trip(&h);
    nines_histo_add(&h, NINES_HISTO_MAX_US);
    round_trip(&h);
    rng_state = 3;
    for (int i = 0; i < 5000; i++)
        nines_histo_add(&h, draw((enum dist)(i % N_DIST)));
    round_trip(&h);
    /* The worst case, every slot used with a large count, fits ENCODE_MAX. */
    nines_histo_init(&full);
    for (int s = 0; s < NINES_HISTO_SLOTS; s++)
        full.bucket[s] = 1000000000000000000ULL;
    full.count = (uint64_t)NINES_HISTO_SLOTS * 1000000000000000000ULL;  /* wraps: invalid */
    cr_assert(lt(int, nines_histo_encode(&full, small, sizeof(small)), 0));
    for (int s = 0; s < NINES_HISTO_SLOTS; s++)
        full.bucket[s] = 17000000000000000ULL;
    full.count = (uint64_t)NINES_HISTO_SLOTS * 17000000000000000ULL;
    full.min_us = 0;
    full.max_us = NINES_HISTO_MAX_US;
    full.sum_us = UINT64_MAX;
    round_trip(&full);
}

struct bad_case {
    const char *text;
    const char *why;
};

Test(histo, decode_rejects_bad_input)
{
    static const struct bad_case bad[] = {
        { "", "empty" },
        { "h1", "no header numbers" },
        { "h2 0 0 0 0", "unknown version" },
        { "H1 0 0 0 0", "version is case-sensitive" },
        { "h1 0 0 0", "header too short" },
        { "h1 0 0 0 0 ", "trailing space" },
        { " h1 0 0 0 0", "leading space" },
        { "h1  0 0 0 0", "double space" },
        { "h1 0 0 0 1", "empty with a sum" },
        { "h1 1 5 5 5", "count without slots" },
        { "h1 1 5 5 5 82:2", "count disagrees with slots" },
        { "h1 1 5 5 5 80:1", "min/max not in the slot" },
        { "h1 2 5 5 10 82:1 82:1", "repeated slot" },
        { "h1 2 5 9 14 112:1 82:1", "slots out of order" },
        { "h1 1 5 5 5 82:0", "zero count" },
        { "h1 1 5 5 5 1039:1", "slot out of range" },
        { "h1 1 5 5 5 99999999999999999999999:1", "slot overflows" },
        { "h1 1 5 5 5 82", "slot without count" },
        { "h1 1 5 5 5 :1", "count without slot" },
        { "h1 1 5 5 5 82:", "empty count" },
        { "h1 1 5 5 5 82:1:1", "two colons" },
        { "h1 01 5 5 5 82:1", "leading zero" },
        { "h1 +1 5 5 5 82:1", "sign" },
        { "h1 -1 5 5 5 82:1", "negative" },
        { "h1 1 5 5 5 082:1", "leading zero in slot" },
        { "h1 1 5 5 5 82:1x", "junk after count" },
        { "h1 1 5 5 5\t82:1", "tab" },
        { "h1 18446744073709551616 5 5 5 82:1", "count overflows" },
        { "h1 2 5 5 5 82:2", "sum below max" },
        { "h1 1 5 5 6 82:1", "one value but sum differs" },
        { "h1 3 5 9 100 82:2 111:1", "sum above what the values allow" },
        { "h1 3 5 9 18 82:2 111:1", "sum below what the values allow" },
        { "h1 1 9 5 9 82:1", "min above max" },
        { "h1 1 1000000001 1000000001 1000000001 1038:1", "beyond the range" },
        { "h1 3 5 5 15 82:18446744073709551615 83:2", "slot counts overflow" },
        { "h1 0 0 0 0\n", "newline" },
    };
    struct nines_histo h;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        h.count = 42;
        cr_expect(eq(int, nines_histo_decode(&h, bad[i].text, strlen(bad[i].text)),
                     NINES_EINVAL), "accepted '%s' (%s)", bad[i].text, bad[i].why);
        cr_expect(eq(u64, h.count, 0), "'%s' left data behind", bad[i].text);
    }
    /* An embedded NUL, a length past the text, NULL, and a huge length. */
    cr_expect(eq(int, nines_histo_decode(&h, "h1 0 0\0 0 0", 11), NINES_EINVAL));
    cr_expect(eq(int, nines_histo_decode(&h, NULL, 0), NINES_EINVAL));
    cr_expect(eq(int, nines_histo_decode(&h, "h1 0 0 0 0", SIZE_MAX), NINES_EINVAL));
    /* The good twin of the table's shapes is accepted. */
    cr_assert(eq(int, nines_histo_decode(&h, "h1 0 0 0 0", 10), 0));
    cr_assert(eq(int, nines_histo_decode(&h, "h1 1 5 5 5 82:1", 15), 0));
    cr_assert(eq(u64, h.bucket[82], 1));
    cr_assert(eq(int, nines_histo_bucket_index(5), 82));
}

/* Collects hash_next's output as an HGETALL-style flat list. */
static size_t to_hash(const struct nines_histo *h, char store[][NINES_HISTO_FIELD_MAX],
                      const char **str, size_t *len, size_t cap)
{
    size_t cur = 0, n = 0;

    while (n + 2 <= cap && nines_histo_hash_next(h, &cur, store[n], store[n + 1])) {
        str[n] = store[n];
        len[n] = strlen(store[n]);
        str[n + 1] = store[n + 1];
        len[n + 1] = strlen(store[n + 1]);
        n += 2;
    }
    cr_assert(eq(int, nines_histo_hash_next(h, &cur, store[0], store[1]), 0));
    return n;
}

Test(histo, hash_form_round_trip)
{
    static char store[2 * (NINES_HISTO_SLOTS + 3)][NINES_HISTO_FIELD_MAX];
    static const char *str[2 * (NINES_HISTO_SLOTS + 3)];
    static size_t len[2 * (NINES_HISTO_SLOTS + 3)];
    struct nines_histo h, back;
    size_t n;

    nines_histo_init(&h);
    n = to_hash(&h, store, str, len, 2 * (NINES_HISTO_SLOTS + 3));
    cr_assert(eq(sz, n, 0));
    cr_assert(eq(int, nines_histo_decode_hash(&back, str, len, 0), 0));
    cr_assert(eq(u64, back.count, 0));

    rng_state = 11;
    for (int i = 0; i < 3000; i++)
        nines_histo_add(&h, draw((enum dist)(i % N_DIST)));
    n = to_hash(&h, store, str, len, 2 * (NINES_HISTO_SLOTS + 3));
    cr_assert(eq(str, (char *)str[0], "min"));
    cr_assert(eq(str, (char *)str[2], "max"));
    cr_assert(eq(str, (char *)str[4], "sum"));
    cr_assert(eq(int, nines_histo_decode_hash(&back, str, len, n), 0));
    cr_assert(eq(int, memcmp(&back, &h, sizeof(h)), 0));
}

Test(histo, hash_kept_by_hincrby_has_only_slots)
{
    /* HINCRBY on slot fields only: min/max/sum are filled from the slots. */
    const char *str[] = { "82", "3", "1038", "1", "1", "2" };
    size_t len[] = { 2, 1, 4, 1, 1, 1 };
    char enc[NINES_HISTO_ENCODE_MAX];
    struct nines_histo h, back;

    cr_assert(eq(int, nines_histo_decode_hash(&h, str, len, 6), 0));
    cr_assert(eq(u64, h.count, 6));
    cr_assert(eq(u64, h.min_us, 1));
    cr_assert(eq(u64, h.max_us, NINES_HISTO_MAX_US));
    cr_assert(eq(int, nines_histo_bucket_index(h.min_us), 1));
    cr_assert(ge(u64, h.sum_us, NINES_HISTO_MAX_US + 2 + 3 * 4));
    assert_close(nines_histo_quantile(&h, 0.5), 5, "hincrby p50", 0.5);
    /* The result is itself a valid histogram. */
    cr_assert(gt(int, nines_histo_encode(&h, enc, sizeof(enc)), 0));
    cr_assert(eq(int, nines_histo_decode(&back, enc, strlen(enc)), 0));
    /* Derived bounds are the tightest integers of their slots. */
    for (uint64_t v = 2; v < 5000000; v = v * 3 / 2 + 1) {
        const char *one[] = { NULL, "1" };
        size_t one_len[] = { 0, 1 };
        char f[NINES_HISTO_FIELD_MAX];
        int s = nines_histo_bucket_index(v);

        snprintf(f, sizeof(f), "%d", s);
        one[0] = f;
        one_len[0] = strlen(f);
        cr_assert(eq(int, nines_histo_decode_hash(&h, one, one_len, 2), 0));
        cr_assert(le(u64, h.min_us, v));
        cr_assert(ge(u64, h.max_us, v));
        cr_assert(eq(int, nines_histo_bucket_index(h.min_us), s));
        cr_assert(lt(int, nines_histo_bucket_index(h.min_us - 1), s));
        cr_assert(eq(int, nines_histo_bucket_index(h.max_us), s));
        cr_assert(gt(int, nines_histo_bucket_index(h.max_us + 1), s));
    }
}

Test(histo, hash_decode_rejects_bad_input)
{
    static const struct {
        const char *kv[4];
        size_t n;
        const char *why;
    } bad[] = {
        { { "82" }, 1, "odd number of strings" },
        { { "82", "0" }, 2, "zero count" },
        { { "82", "x" }, 2, "non-numeric count" },
        { { "082", "1" }, 2, "leading zero slot" },
        { { "1039", "1" }, 2, "slot out of range" },
        { { "count", "1" }, 2, "unknown field" },
        { { "82", "1", "82", "1" }, 4, "duplicate slot" },
        { { "min", "5", "min", "5" }, 4, "duplicate min" },
        { { "min", "5" }, 2, "min without slots" },
        { { "82", "1", "min", "9" }, 4, "min in another slot" },
        { { "82", "1", "sum", "4" }, 4, "sum below max" },
        { { "82", "18446744073709551615", "83", "1" }, 4, "count overflows" },
        { { "82", "-1" }, 2, "negative" },
        { { "", "1" }, 2, "empty field" },
    };
    struct nines_histo h;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len[4] = { 0, 0, 0, 0 };

        for (size_t k = 0; k < bad[i].n; k++)
            len[k] = strlen(bad[i].kv[k]);
        cr_expect(eq(int, nines_histo_decode_hash(&h, bad[i].kv, len, bad[i].n), NINES_EINVAL),
                  "accepted: %s", bad[i].why);
        cr_expect(eq(u64, h.count, 0), "%s left data behind", bad[i].why);
    }
    {
        const char *kv[] = { "82", NULL };
        size_t len[] = { 2, 0 };

        cr_expect(eq(int, nines_histo_decode_hash(&h, kv, len, 2), NINES_EINVAL), "NULL value");
        cr_expect(eq(int, nines_histo_decode_hash(&h, NULL, NULL, 2), NINES_EINVAL));
    }
}
