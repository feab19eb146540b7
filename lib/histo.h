/*
 * A mergeable log-bucketed latency histogram (DDSketch-style), for one check and
 * one day. Values are microseconds, clamped to [0, NINES_HISTO_MAX_US].
 *
 * Slot 0 holds the value 0. Slot s >= 1 covers (g^(s-2), g^(s-1)] with
 * g = (1 + a) / (1 - a), a = NINES_HISTO_ALPHA, and reports 2 g^(s-1) / (g + 1),
 * which is within a (1%) relative error of every value the slot covers.
 * Merging is adding slot by slot, so p50/p95/p99 over any window of days (or
 * probes) keep that bound.
 *
 * The struct is a plain value (about 8 KiB): embed it or copy it, no free needed.
 */
#ifndef NINES_HISTO_H
#define NINES_HISTO_H

#include <stddef.h>
#include <stdint.h>

#define NINES_HISTO_ALPHA 0.01
#define NINES_HISTO_MAX_US 1000000000ULL    /* 1000 s */
#define NINES_HISTO_SLOTS 1039              /* slot of NINES_HISTO_MAX_US is 1038 */
/* Longest string nines_histo_encode() can produce, with its NUL. */
#define NINES_HISTO_ENCODE_MAX (4 + 4 * 21 + NINES_HISTO_SLOTS * 26 + 1)
/* Buffer sizes for one hash field or value (decimal uint64 + NUL). */
#define NINES_HISTO_FIELD_MAX 24

struct nines_histo {
    uint64_t count;
    uint64_t sum_us;    /* saturates at UINT64_MAX */
    uint64_t min_us;    /* min/max are 0 while count is 0 */
    uint64_t max_us;
    uint64_t bucket[NINES_HISTO_SLOTS];
};

void nines_histo_init(struct nines_histo *h);
void nines_histo_add(struct nines_histo *h, uint64_t value_us);
/* dst += src. Returns 0, or NINES_EINVAL (dst unchanged) if a count would overflow. */
int nines_histo_merge(struct nines_histo *dst, const struct nines_histo *src);
/*
 * The value at rank ceil(q * count) (at least 1), as its slot's estimate clamped to
 * [min, max]. q is clamped to [0, 1]. Returns 0 for an empty histogram.
 */
double nines_histo_quantile(const struct nines_histo *h, double q);

int nines_histo_bucket_index(uint64_t value_us);
/* The slot's estimate; 0 for slot 0 or a slot out of range. */
double nines_histo_bucket_value(int slot);

/*
 * String form: "h1 COUNT MIN MAX SUM SLOT:N SLOT:N ..." (slots ascending, N > 0).
 * encode returns the length written (buf is NUL-terminated), or NINES_EINVAL if
 * len is too small (NINES_HISTO_ENCODE_MAX is always enough).
 * decode is strict: any malformed, inconsistent or out-of-range input gives
 * NINES_EINVAL and leaves *h empty.
 */
int nines_histo_encode(const struct nines_histo *h, char *buf, size_t len);
int nines_histo_decode(struct nines_histo *h, const char *s, size_t len);

/*
 * Redis hash form: fields "min", "max", "sum" and one decimal slot number per
 * non-empty slot, whose value is its count. Fill an HSET with:
 *     size_t cur = 0;
 *     while (nines_histo_hash_next(h, &cur, field, value)) ...
 * decode_hash takes HGETALL's flat field, value, field, value ... list (n strings,
 * with lengths). "min", "max" and "sum" may be missing (a hash kept with HINCRBY):
 * min/max then become the bounds of the outer slots and sum the sum of estimates.
 */
int nines_histo_hash_next(const struct nines_histo *h, size_t *cursor,
                          char field[NINES_HISTO_FIELD_MAX], char value[NINES_HISTO_FIELD_MAX]);
int nines_histo_decode_hash(struct nines_histo *h, const char *const *str, const size_t *str_len,
                            size_t n);

#endif
