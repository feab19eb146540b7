/*
 * Half-open millisecond intervals [start_ms, end_ms) and sets of them: the
 * algebra behind downtime, maintenance and no-data accounting.
 *
 * A set is "normalised" when its intervals are non-empty, sorted, and neither
 * overlap nor touch ([0,5) and [5,9) become [0,9)). Every function accepts sets
 * in any order, with overlaps; every result written to `out` is normalised.
 * `out` is an initialised set the caller owns; it is overwritten (never
 * appended to) and must not be one of the inputs (that is NINES_EINVAL, with
 * nothing touched). On NINES_ENOMEM `out` is left empty and still owned by the
 * caller: nothing leaks.
 *
 * Times are clamped to [-NINES_IV_LIMIT, NINES_IV_LIMIT] (about ±146 million
 * years), so lengths and sums of disjoint lengths never overflow int64_t.
 */
#ifndef NINES_INTERVALS_H
#define NINES_INTERVALS_H

#include <stddef.h>
#include <stdint.h>

#define NINES_IV_LIMIT INT64_C(0x3fffffffffffffff)

struct nines_interval {
    int64_t start_ms;
    int64_t end_ms;
};

struct nines_ivset {
    struct nines_interval *v;
    size_t n;
    size_t cap;
};

void nines_ivset_init(struct nines_ivset *s);
/* Frees the storage; s is empty and may be reused or closed again. */
void nines_ivset_close(struct nines_ivset *s);
/* Appends [start, end) (clamped); an empty interval (start >= end) is ignored. */
int nines_ivset_add(struct nines_ivset *s, int64_t start_ms, int64_t end_ms);
/* Sorts, drops empty intervals, merges overlapping and touching ones. In place. */
void nines_ivset_normalise(struct nines_ivset *s);
/* Trims every interval to [from, to) and drops those left empty. In place. */
void nines_ivset_clip(struct nines_ivset *s, int64_t from_ms, int64_t to_ms);
/* Normalises s (in place, no allocation), then returns the length of its union. */
int64_t nines_ivset_total_ms(struct nines_ivset *s);

/* out = src, normalised. */
int nines_ivset_copy(const struct nines_ivset *src, struct nines_ivset *out);
int nines_ivset_union(const struct nines_ivset *a, const struct nines_ivset *b,
                      struct nines_ivset *out);
int nines_ivset_intersect(const struct nines_ivset *a, const struct nines_ivset *b,
                          struct nines_ivset *out);
/* out = a − b. */
int nines_ivset_subtract(const struct nines_ivset *a, const struct nines_ivset *b,
                         struct nines_ivset *out);
/*
 * out = the times covered by at least k of the nsets sets at once (quorum: a
 * check is down while >= quorum of its locations are down). Overlaps inside one
 * set count once. k = 1 is the union, k = nsets the intersection, k > nsets is
 * empty; k = 0 ("always") is NINES_EINVAL.
 */
int nines_ivset_at_least(const struct nines_ivset *sets, size_t nsets, size_t k,
                         struct nines_ivset *out);

#endif
