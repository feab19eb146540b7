/*
 * Log-bucketed latency histogram. Bucket arithmetic follows DDSketch: with
 * g = (1 + a) / (1 - a), every value in (g^(i-1), g^i] is within a relative error
 * a of 2 g^i / (g + 1). Slot 0 is kept for the value 0, so slot = i + 1.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "histo.h"
#include "nines/err.h"

#define HISTO_GAMMA ((1.0 + NINES_HISTO_ALPHA) / (1.0 - NINES_HISTO_ALPHA))

static double histo_log_gamma(void)
{
    return log(HISTO_GAMMA);
}

void nines_histo_init(struct nines_histo *h)
{
    memset(h, 0, sizeof(*h));
}

int nines_histo_bucket_index(uint64_t value_us)
{
    double i;

    if (value_us == 0)
        return 0;
    if (value_us > NINES_HISTO_MAX_US)
        value_us = NINES_HISTO_MAX_US;
    i = ceil(log((double)value_us) / histo_log_gamma());
    if (i < 0)
        i = 0;
    return (int)i + 1;
}

double nines_histo_bucket_value(int slot)
{
    if (slot <= 0 || slot >= NINES_HISTO_SLOTS)
        return 0.0;
    return 2.0 * pow(HISTO_GAMMA, slot - 1) / (HISTO_GAMMA + 1.0);
}

/* The smallest and the largest integer value that land in slot (slot >= 1). */
static uint64_t histo_slot_min(int slot)
{
    double lo = floor(pow(HISTO_GAMMA, slot - 2));
    uint64_t v = lo < 1.0 ? 1 : (uint64_t)lo;

    while (v < NINES_HISTO_MAX_US && nines_histo_bucket_index(v) < slot)
        v++;
    while (v > 1 && nines_histo_bucket_index(v - 1) == slot)
        v--;
    return v;
}

static uint64_t histo_slot_max(int slot)
{
    double hi = floor(pow(HISTO_GAMMA, slot - 1));
    uint64_t v = hi < 1.0 ? 1 : (uint64_t)hi;

    if (v > NINES_HISTO_MAX_US)
        v = NINES_HISTO_MAX_US;
    while (v > 1 && nines_histo_bucket_index(v) > slot)
        v--;
    while (v < NINES_HISTO_MAX_US && nines_histo_bucket_index(v + 1) == slot)
        v++;
    return v;
}

static uint64_t histo_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t histo_sat_mul(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/*
 * The range a (saturating) sum can have: one value at min and one at max, the
 * others anywhere between. count must be at least 1.
 */
static void histo_sum_bounds(const struct nines_histo *h, uint64_t *lo, uint64_t *hi)
{
    if (h->count == 1) {
        *lo = *hi = h->max_us;
        return;
    }
    *lo = histo_sat_add(h->min_us + h->max_us, histo_sat_mul(h->min_us, h->count - 2));
    *hi = histo_sat_add(h->min_us + h->max_us, histo_sat_mul(h->max_us, h->count - 2));
}

void nines_histo_add(struct nines_histo *h, uint64_t value_us)
{
    if (value_us > NINES_HISTO_MAX_US)
        value_us = NINES_HISTO_MAX_US;
    if (h->count == 0 || value_us < h->min_us)
        h->min_us = value_us;
    if (h->count == 0 || value_us > h->max_us)
        h->max_us = value_us;
    h->count++;
    h->sum_us = histo_sat_add(h->sum_us, value_us);
    h->bucket[nines_histo_bucket_index(value_us)]++;
}

int nines_histo_merge(struct nines_histo *dst, const struct nines_histo *src)
{
    if (src->count == 0)
        return 0;
    if (dst->count > UINT64_MAX - src->count)
        return NINES_EINVAL;
    /* Every slot count is at most its total, so no slot can overflow either. */
    for (int s = 0; s < NINES_HISTO_SLOTS; s++)
        dst->bucket[s] += src->bucket[s];
    if (dst->count == 0 || src->min_us < dst->min_us)
        dst->min_us = src->min_us;
    if (dst->count == 0 || src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    dst->count += src->count;
    dst->sum_us = histo_sat_add(dst->sum_us, src->sum_us);
    return 0;
}

double nines_histo_quantile(const struct nines_histo *h, double q)
{
    uint64_t rank, seen = 0;
    double r, v;
    int s;

    if (h->count == 0)
        return 0.0;
    if (!(q > 0.0))     /* also catches NaN */
        q = 0.0;
    if (q > 1.0)
        q = 1.0;
    r = ceil(q * (double)h->count);
    rank = r < 1.0 ? 1 : (r >= (double)h->count ? h->count : (uint64_t)r);
    if (rank == 1)
        return (double)h->min_us;   /* the extremes are known exactly */
    if (rank == h->count)
        return (double)h->max_us;
    for (s = 0; s < NINES_HISTO_SLOTS - 1; s++) {
        seen += h->bucket[s];
        if (seen >= rank)
            break;
    }
    v = nines_histo_bucket_value(s);
    if (v < (double)h->min_us)
        v = (double)h->min_us;
    if (v > (double)h->max_us)
        v = (double)h->max_us;
    return v;
}

/* ---- text forms ---- */

/* Canonical unsigned decimal: 1..20 digits, no sign, no leading zero, no overflow. */
static int histo_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return NINES_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return NINES_EINVAL;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return NINES_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/*
 * Checks a freshly decoded histogram: the slot counts add up to count without
 * overflow, and min/max/sum agree with the outer slots.
 */
static int histo_validate(const struct nines_histo *h)
{
    uint64_t total = 0, lo, hi;
    int first = -1, last = -1;

    for (int s = 0; s < NINES_HISTO_SLOTS; s++) {
        if (h->bucket[s] == 0)
            continue;
        if (total > UINT64_MAX - h->bucket[s])
            return NINES_EINVAL;
        total += h->bucket[s];
        if (first < 0)
            first = s;
        last = s;
    }
    if (total != h->count)
        return NINES_EINVAL;
    if (h->count == 0)
        return (h->min_us | h->max_us | h->sum_us) == 0 ? 0 : NINES_EINVAL;
    if (h->min_us > h->max_us || h->max_us > NINES_HISTO_MAX_US)
        return NINES_EINVAL;
    if (nines_histo_bucket_index(h->min_us) != first ||
        nines_histo_bucket_index(h->max_us) != last)
        return NINES_EINVAL;
    histo_sum_bounds(h, &lo, &hi);
    return h->sum_us < lo || h->sum_us > hi ? NINES_EINVAL : 0;
}

int nines_histo_encode(const struct nines_histo *h, char *buf, size_t len)
{
    size_t o;
    int w;

    w = snprintf(buf, len, "h1 %llu %llu %llu %llu", (unsigned long long)h->count,
                 (unsigned long long)h->min_us, (unsigned long long)h->max_us,
                 (unsigned long long)h->sum_us);
    if (w < 0 || (size_t)w >= len)
        return NINES_EINVAL;
    o = (size_t)w;
    for (int s = 0; s < NINES_HISTO_SLOTS; s++) {
        if (h->bucket[s] == 0)
            continue;
        w = snprintf(buf + o, len - o, " %d:%llu", s, (unsigned long long)h->bucket[s]);
        if (w < 0 || (size_t)w >= len - o)
            return NINES_EINVAL;
        o += (size_t)w;
    }
    return (int)o;
}

/* Splits off the next space-terminated token of s[*pos..len). */
static int histo_next_token(const char *s, size_t len, size_t *pos, const char **tok,
                            size_t *tok_len)
{
    size_t start = *pos, end = start;

    while (end < len && s[end] != ' ')
        end++;
    if (end == start)
        return NINES_EINVAL;        /* empty token: double or trailing space */
    *tok = s + start;
    *tok_len = end - start;
    if (end < len) {
        end++;                      /* the separator */
        if (end == len)
            return NINES_EINVAL;    /* trailing space */
    }
    *pos = end;
    return 0;
}

static int histo_decode_slot(struct nines_histo *h, const char *t, size_t tl, int *prev)
{
    const char *colon = memchr(t, ':', tl);
    uint64_t slot, n;

    if (colon == NULL)
        return NINES_EINVAL;
    if (histo_parse_u64(t, (size_t)(colon - t), &slot) < 0 ||
        histo_parse_u64(colon + 1, tl - (size_t)(colon - t) - 1, &n) < 0)
        return NINES_EINVAL;
    if (slot >= NINES_HISTO_SLOTS || (int)slot <= *prev || n == 0)
        return NINES_EINVAL;
    h->bucket[slot] = n;
    *prev = (int)slot;
    return 0;
}

static int histo_decode_body(struct nines_histo *h, const char *s, size_t len)
{
    uint64_t *head[4] = { &h->count, &h->min_us, &h->max_us, &h->sum_us };
    size_t pos = 0, tl;
    const char *t;
    int prev = -1;

    if (histo_next_token(s, len, &pos, &t, &tl) < 0 || tl != 2 || memcmp(t, "h1", 2) != 0)
        return NINES_EINVAL;
    for (int i = 0; i < 4; i++) {
        if (pos >= len || histo_next_token(s, len, &pos, &t, &tl) < 0 ||
            histo_parse_u64(t, tl, head[i]) < 0)
            return NINES_EINVAL;
    }
    while (pos < len) {
        if (histo_next_token(s, len, &pos, &t, &tl) < 0 || histo_decode_slot(h, t, tl, &prev) < 0)
            return NINES_EINVAL;
    }
    return histo_validate(h);
}

int nines_histo_decode(struct nines_histo *h, const char *s, size_t len)
{
    nines_histo_init(h);
    if (s == NULL || len >= NINES_HISTO_ENCODE_MAX || histo_decode_body(h, s, len) < 0) {
        nines_histo_init(h);
        return NINES_EINVAL;
    }
    return 0;
}

int nines_histo_hash_next(const struct nines_histo *h, size_t *cursor,
                          char field[NINES_HISTO_FIELD_MAX], char value[NINES_HISTO_FIELD_MAX])
{
    static const char *const head[3] = { "min", "max", "sum" };
    const uint64_t head_val[3] = { h->min_us, h->max_us, h->sum_us };
    size_t c = *cursor;

    if (h->count == 0)
        return 0;
    if (c < 3) {
        snprintf(field, NINES_HISTO_FIELD_MAX, "%s", head[c]);
        snprintf(value, NINES_HISTO_FIELD_MAX, "%llu", (unsigned long long)head_val[c]);
        *cursor = c + 1;
        return 1;
    }
    for (c -= 3; c < NINES_HISTO_SLOTS; c++) {
        if (h->bucket[c] == 0)
            continue;
        snprintf(field, NINES_HISTO_FIELD_MAX, "%zu", c);
        snprintf(value, NINES_HISTO_FIELD_MAX, "%llu", (unsigned long long)h->bucket[c]);
        *cursor = c + 1 + 3;
        return 1;
    }
    *cursor = NINES_HISTO_SLOTS + 3;
    return 0;
}

/* Fills min/max/sum that the hash did not carry, from the outer slots. */
static void histo_fill_missing(struct nines_histo *h, int have_min, int have_max, int have_sum)
{
    int first = -1, last = -1;
    uint64_t sum = 0;

    for (int s = 0; s < NINES_HISTO_SLOTS; s++) {
        if (h->bucket[s] == 0)
            continue;
        if (first < 0)
            first = s;
        last = s;
        if (!have_sum) {
            double est = floor(nines_histo_bucket_value(s) + 0.5);
            double add = est * (double)h->bucket[s];

            sum = add >= 1.8e19 ? UINT64_MAX : histo_sat_add(sum, (uint64_t)add);
        }
    }
    if (first < 0)
        return;
    if (!have_min)
        h->min_us = first == 0 ? 0 : histo_slot_min(first);
    if (!have_max)
        h->max_us = last == 0 ? 0 : histo_slot_max(last);
    if (!have_sum) {
        uint64_t lo, hi;

        histo_sum_bounds(h, &lo, &hi);
        h->sum_us = sum < lo ? lo : (sum > hi ? hi : sum);
    }
}

static int histo_decode_pair(struct nines_histo *h, const char *f, size_t fl, const char *v,
                             size_t vl, unsigned *seen)
{
    static const char *const head[3] = { "min", "max", "sum" };
    uint64_t *dst[3] = { &h->min_us, &h->max_us, &h->sum_us };
    uint64_t slot, n;

    if (f == NULL || v == NULL || histo_parse_u64(v, vl, &n) < 0)
        return NINES_EINVAL;
    for (int i = 0; i < 3; i++) {
        if (fl == 3 && memcmp(f, head[i], 3) == 0) {
            if (*seen & (1u << i))
                return NINES_EINVAL;
            *seen |= 1u << i;
            *dst[i] = n;
            return 0;
        }
    }
    if (histo_parse_u64(f, fl, &slot) < 0 || slot >= NINES_HISTO_SLOTS || n == 0 ||
        h->bucket[slot] != 0)
        return NINES_EINVAL;
    if (h->count > UINT64_MAX - n)
        return NINES_EINVAL;
    h->bucket[slot] = n;
    h->count += n;
    return 0;
}

int nines_histo_decode_hash(struct nines_histo *h, const char *const *str, const size_t *str_len,
                            size_t n)
{
    unsigned seen = 0;

    nines_histo_init(h);
    if (n % 2 != 0 || (n > 0 && (str == NULL || str_len == NULL)))
        return NINES_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        if (histo_decode_pair(h, str[i], str_len[i], str[i + 1], str_len[i + 1], &seen) < 0)
            goto bad;
    }
    if (h->count == 0 && seen != 0)
        goto bad;   /* min/max/sum without any slot */
    histo_fill_missing(h, seen & 1u, seen & 2u, seen & 4u);
    if (histo_validate(h) < 0)
        goto bad;
    return 0;
bad:
    nines_histo_init(h);
    return NINES_EINVAL;
}
