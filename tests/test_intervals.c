/*
 * Interval-set algebra: hand-written tables (empty sets, touching, nested,
 * unsorted and self-overlapping inputs), k-of-n sweeps, and a brute-force
 * oracle that checks every operation millisecond by millisecond on random sets.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intervals.h"
#include "nines/err.h"

/* Under -DNINES_SANITIZE, let an impossible allocation return NULL instead of aborting. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

#define MAXIV 8

struct ivlist {
    size_t n;
    int64_t iv[MAXIV][2];
};

/* Fills s with exactly these intervals (empty or reversed ones included, unsorted). */
static void set_raw(struct nines_ivset *s, const struct ivlist *l)
{
    size_t i;

    nines_ivset_init(s);
    if (l->n == 0)
        return;
    s->v = malloc(l->n * sizeof(*s->v));
    cr_assert(s->v != NULL);
    s->cap = l->n;
    for (i = 0; i < l->n; i++) {
        s->v[i].start_ms = l->iv[i][0];
        s->v[i].end_ms = l->iv[i][1];
    }
    s->n = l->n;
}

static void assert_set(const struct nines_ivset *got, const struct ivlist *want, const char *what,
                       const char *row)
{
    size_t i;

    cr_assert(eq(sz, got->n, want->n), "%s / %s: count", row, what);
    for (i = 0; i < want->n; i++) {
        cr_assert(eq(i64, got->v[i].start_ms, want->iv[i][0]), "%s / %s: [%zu].start", row,
                  what, i);
        cr_assert(eq(i64, got->v[i].end_ms, want->iv[i][1]), "%s / %s: [%zu].end", row, what, i);
    }
}

struct binrow {
    char name[32];
    struct ivlist a, b, uni, inter, sub; /* sub = a − b */
};

/* Each row spelled out: a, b, then a ∪ b, a ∩ b, a − b (all half-open). */
static const struct binrow binrows[] = {
    { "both empty", { 0, { { 0 } } }, { 0, { { 0 } } }, { 0, { { 0 } } }, { 0, { { 0 } } },
      { 0, { { 0 } } } },
    { "a empty", { 0, { { 0 } } }, { 1, { { 0, 10 } } }, { 1, { { 0, 10 } } }, { 0, { { 0 } } },
      { 0, { { 0 } } } },
    { "b empty", { 1, { { 0, 10 } } }, { 0, { { 0 } } }, { 1, { { 0, 10 } } }, { 0, { { 0 } } },
      { 1, { { 0, 10 } } } },
    /* [0,10) and [20,30) share nothing. */
    { "disjoint", { 1, { { 0, 10 } } }, { 1, { { 20, 30 } } },
      { 2, { { 0, 10 }, { 20, 30 } } }, { 0, { { 0 } } }, { 1, { { 0, 10 } } } },
    /* [0,10) and [10,20) touch at 10: the union has no hole, the intersection is empty. */
    { "touching", { 1, { { 0, 10 } } }, { 1, { { 10, 20 } } }, { 1, { { 0, 20 } } },
      { 0, { { 0 } } }, { 1, { { 0, 10 } } } },
    { "overlap", { 1, { { 0, 10 } } }, { 1, { { 5, 15 } } }, { 1, { { 0, 15 } } },
      { 1, { { 5, 10 } } }, { 1, { { 0, 5 } } } },
    /* b inside a: a − b leaves both ends. */
    { "b nested in a", { 1, { { 0, 30 } } }, { 1, { { 10, 20 } } }, { 1, { { 0, 30 } } },
      { 1, { { 10, 20 } } }, { 2, { { 0, 10 }, { 20, 30 } } } },
    { "a nested in b", { 1, { { 10, 20 } } }, { 1, { { 0, 30 } } }, { 1, { { 0, 30 } } },
      { 1, { { 10, 20 } } }, { 0, { { 0 } } } },
    { "identical", { 1, { { 0, 10 } } }, { 1, { { 0, 10 } } }, { 1, { { 0, 10 } } },
      { 1, { { 0, 10 } } }, { 0, { { 0 } } } },
    /* b = [5,45) covers the gaps of a: ∩ = [5,10) [20,30) [40,45), − = [0,5) [45,50). */
    { "b spans several a", { 3, { { 0, 10 }, { 20, 30 }, { 40, 50 } } }, { 1, { { 5, 45 } } },
      { 1, { { 0, 50 } } }, { 3, { { 5, 10 }, { 20, 30 }, { 40, 45 } } },
      { 2, { { 0, 5 }, { 45, 50 } } } },
    /* a = [0,50) minus three holes leaves four pieces. */
    { "a spans several b", { 1, { { 0, 50 } } }, { 3, { { 5, 10 }, { 20, 30 }, { 40, 45 } } },
      { 1, { { 0, 50 } } }, { 3, { { 5, 10 }, { 20, 30 }, { 40, 45 } } },
      { 4, { { 0, 5 }, { 10, 20 }, { 30, 40 }, { 45, 50 } } } },
    /* a is unsorted and overlaps itself: it means [0,12) [40,50). b = [11,41). */
    { "unsorted, self-overlap", { 3, { { 40, 50 }, { 0, 10 }, { 5, 12 } } },
      { 1, { { 11, 41 } } }, { 1, { { 0, 50 } } }, { 2, { { 11, 12 }, { 40, 41 } } },
      { 2, { { 0, 11 }, { 41, 50 } } } },
    /* a's own pieces touch: it means [0,10); cutting [5,6) out gives two pieces. */
    { "a touches itself", { 2, { { 0, 5 }, { 5, 10 } } }, { 1, { { 5, 6 } } },
      { 1, { { 0, 10 } } }, { 1, { { 5, 6 } } }, { 2, { { 0, 5 }, { 6, 10 } } } },
    /* Empty [5,5) and reversed [7,2) intervals mean nothing. */
    { "empty pieces", { 2, { { 5, 5 }, { 0, 3 } } }, { 1, { { 7, 2 } } }, { 1, { { 0, 3 } } },
      { 0, { { 0 } } }, { 1, { { 0, 3 } } } },
    { "negative times", { 1, { { -100, -50 } } }, { 1, { { -60, 10 } } },
      { 1, { { -100, 10 } } }, { 1, { { -60, -50 } } }, { 1, { { -100, -60 } } } },
    /* b touches both ends of a from outside: nothing in common, nothing removed. */
    { "b touches a's ends", { 1, { { 10, 20 } } }, { 2, { { 0, 10 }, { 20, 30 } } },
      { 1, { { 0, 30 } } }, { 0, { { 0 } } }, { 1, { { 10, 20 } } } },
    /* One b piece reaching over two a pieces, then one more b. */
    { "b bridges a", { 2, { { 0, 10 }, { 20, 30 } } }, { 2, { { 8, 22 }, { 25, 26 } } },
      { 1, { { 0, 30 } } }, { 3, { { 8, 10 }, { 20, 22 }, { 25, 26 } } },
      { 3, { { 0, 8 }, { 22, 25 }, { 26, 30 } } } },
};

Test(intervals, binary_operations_table)
{
    size_t r;

    for (r = 0; r < sizeof(binrows) / sizeof(binrows[0]); r++) {
        const struct binrow *row = &binrows[r];
        struct nines_ivset a, b, out, a2;

        set_raw(&a, &row->a);
        set_raw(&b, &row->b);
        nines_ivset_init(&out);
        cr_assert(eq(int, nines_ivset_union(&a, &b, &out), 0));
        assert_set(&out, &row->uni, "union", row->name);
        cr_assert(eq(int, nines_ivset_union(&b, &a, &out), 0));
        assert_set(&out, &row->uni, "union b,a", row->name);
        cr_assert(eq(int, nines_ivset_intersect(&a, &b, &out), 0));
        assert_set(&out, &row->inter, "intersect", row->name);
        cr_assert(eq(int, nines_ivset_intersect(&b, &a, &out), 0));
        assert_set(&out, &row->inter, "intersect b,a", row->name);
        cr_assert(eq(int, nines_ivset_subtract(&a, &b, &out), 0));
        assert_set(&out, &row->sub, "subtract", row->name);
        /* Inputs are never modified, even when not normalised. */
        set_raw(&a2, &row->a);
        cr_assert(eq(sz, a.n, a2.n));
        cr_assert(a.n == 0 || memcmp(a.v, a2.v, a.n * sizeof(a.v[0])) == 0, "%s", row->name);
        /* A normalised a gives the same results through the no-copy path. */
        nines_ivset_normalise(&a2);
        cr_assert(eq(int, nines_ivset_subtract(&a2, &b, &out), 0));
        assert_set(&out, &row->sub, "subtract (normalised a)", row->name);
        nines_ivset_close(&a2);
        nines_ivset_close(&a);
        nines_ivset_close(&b);
        nines_ivset_close(&out);
    }
}

Test(intervals, normalise_sorts_merges_touching_and_drops_empty)
{
    /* [30,40) [0,5) [5,10) [8,9) [20,20) [12,11) → [0,10) [30,40) */
    const struct ivlist in = { 6, { { 30, 40 }, { 0, 5 }, { 5, 10 }, { 8, 9 }, { 20, 20 },
                                    { 12, 11 } } };
    const struct ivlist want = { 2, { { 0, 10 }, { 30, 40 } } };
    struct nines_ivset s;

    set_raw(&s, &in);
    nines_ivset_normalise(&s);
    assert_set(&s, &want, "normalise", "mixed");
    nines_ivset_normalise(&s); /* idempotent */
    assert_set(&s, &want, "normalise twice", "mixed");
    nines_ivset_close(&s);
    nines_ivset_close(&s); /* closing twice is harmless */
    cr_assert(eq(sz, s.n, 0));
}

Test(intervals, add_ignores_empty_and_clamps)
{
    struct nines_ivset s;

    nines_ivset_init(&s);
    cr_assert(eq(int, nines_ivset_add(&s, 5, 5), 0));
    cr_assert(eq(int, nines_ivset_add(&s, 9, 3), 0));
    cr_assert(eq(sz, s.n, 0), "empty and reversed intervals are not stored");
    cr_assert(eq(int, nines_ivset_add(&s, INT64_MIN, INT64_MAX), 0));
    cr_assert(eq(sz, s.n, 1));
    cr_assert(eq(i64, s.v[0].start_ms, -NINES_IV_LIMIT));
    cr_assert(eq(i64, s.v[0].end_ms, NINES_IV_LIMIT));
    /* 2 × (2^62 − 1) = 2^63 − 2 still fits in int64_t. */
    cr_assert(eq(i64, nines_ivset_total_ms(&s), INT64_MAX - 1));
    nines_ivset_close(&s);
}

Test(intervals, add_grows_past_initial_capacity)
{
    struct nines_ivset s;
    int64_t i;

    nines_ivset_init(&s);
    for (i = 999; i >= 0; i--)
        cr_assert(eq(int, nines_ivset_add(&s, 10 * i, 10 * i + 5), 0));
    cr_assert(eq(sz, s.n, 1000));
    /* 1000 disjoint pieces of 5 ms. */
    cr_assert(eq(i64, nines_ivset_total_ms(&s), 5000));
    cr_assert(eq(i64, s.v[0].start_ms, 0), "total_ms normalised (sorted) the set");
    cr_assert(eq(i64, s.v[999].end_ms, 9995));
    nines_ivset_close(&s);
}

Test(intervals, total_and_clip)
{
    /* [0,10) ∪ [5,15) ∪ [20,25) = [0,15) [20,25): 15 + 5 = 20 ms. */
    const struct ivlist in = { 3, { { 0, 10 }, { 5, 15 }, { 20, 25 } } };
    const struct ivlist three = { 3, { { 0, 10 }, { 20, 30 }, { 40, 50 } } };
    const struct ivlist clipped = { 3, { { 5, 10 }, { 20, 30 }, { 40, 45 } } };
    const struct ivlist none = { 0, { { 0 } } };
    struct nines_ivset s;

    set_raw(&s, &in);
    cr_assert(eq(i64, nines_ivset_total_ms(&s), 20));
    nines_ivset_close(&s);
    cr_assert(eq(i64, nines_ivset_total_ms(&s), 0), "an empty set has length 0");

    set_raw(&s, &three);
    nines_ivset_clip(&s, 5, 45);
    assert_set(&s, &clipped, "clip [5,45)", "three");
    nines_ivset_close(&s);

    /* [10,20) lies exactly in the gap: the edges 10 and 20 only touch. */
    set_raw(&s, &three);
    nines_ivset_clip(&s, 10, 20);
    assert_set(&s, &none, "clip [10,20)", "three");
    nines_ivset_close(&s);

    set_raw(&s, &three);
    nines_ivset_clip(&s, 60, 70);
    assert_set(&s, &none, "clip past the end", "three");
    nines_ivset_close(&s);
}

Test(intervals, copy_normalises)
{
    const struct ivlist in = { 3, { { 20, 30 }, { 0, 10 }, { 10, 12 } } };
    const struct ivlist want = { 2, { { 0, 12 }, { 20, 30 } } };
    struct nines_ivset s, out;

    set_raw(&s, &in);
    nines_ivset_init(&out);
    cr_assert(eq(int, nines_ivset_add(&out, 100, 200), 0));
    cr_assert(eq(int, nines_ivset_copy(&s, &out), 0));
    assert_set(&out, &want, "copy", "overwrites out");
    nines_ivset_close(&s);
    nines_ivset_close(&out);
}

Test(intervals, aliasing_out_and_input_is_rejected_untouched)
{
    const struct ivlist in = { 2, { { 0, 10 }, { 20, 30 } } };
    struct nines_ivset a, b;

    set_raw(&a, &in);
    set_raw(&b, &in);
    cr_assert(eq(int, nines_ivset_union(&a, &b, &a), NINES_EINVAL));
    cr_assert(eq(int, nines_ivset_intersect(&a, &b, &b), NINES_EINVAL));
    cr_assert(eq(int, nines_ivset_subtract(&a, &b, &a), NINES_EINVAL));
    cr_assert(eq(int, nines_ivset_copy(&a, &a), NINES_EINVAL));
    cr_assert(eq(int, nines_ivset_at_least(&a, 1, 1, &a), NINES_EINVAL));
    assert_set(&a, &in, "a", "after aliasing");
    assert_set(&b, &in, "b", "after aliasing");
    nines_ivset_close(&a);
    nines_ivset_close(&b);
}

/*
 * Three sets over [0,40):
 *   A = [0,10) [20,30)    B = [5,25)    C = [8,22) [28,40)
 * How many cover each stretch:
 *   [0,5) 1 · [5,8) 2 · [8,10) 3 · [10,20) 2 · [20,22) 3 · [22,25) 2 · [25,28) 1
 *   [28,30) 2 · [30,40) 1
 * so k=1: [0,40); k=2: [5,25) [28,30); k=3: [8,10) [20,22); k=4: nothing.
 */
Test(intervals, at_least_k_of_three)
{
    const struct ivlist la = { 2, { { 0, 10 }, { 20, 30 } } };
    const struct ivlist lb = { 1, { { 5, 25 } } };
    const struct ivlist lc = { 2, { { 8, 22 }, { 28, 40 } } };
    const struct ivlist k1 = { 1, { { 0, 40 } } };
    const struct ivlist k2 = { 2, { { 5, 25 }, { 28, 30 } } };
    const struct ivlist k3 = { 2, { { 8, 10 }, { 20, 22 } } };
    const struct ivlist none = { 0, { { 0 } } };
    struct nines_ivset sets[3], out;
    size_t i;

    set_raw(&sets[0], &la);
    set_raw(&sets[1], &lb);
    set_raw(&sets[2], &lc);
    nines_ivset_init(&out);
    cr_assert(eq(int, nines_ivset_at_least(sets, 3, 1, &out), 0));
    assert_set(&out, &k1, "k=1", "abc");
    cr_assert(eq(int, nines_ivset_at_least(sets, 3, 2, &out), 0));
    assert_set(&out, &k2, "k=2", "abc");
    cr_assert(eq(int, nines_ivset_at_least(sets, 3, 3, &out), 0));
    assert_set(&out, &k3, "k=3", "abc");
    cr_assert(eq(int, nines_ivset_at_least(sets, 3, 4, &out), 0));
    assert_set(&out, &none, "k=4", "abc");
    cr_assert(eq(int, nines_ivset_at_least(sets, 3, 0, &out), NINES_EINVAL));
    cr_assert(eq(int, nines_ivset_at_least(sets, 0, 1, &out), 0));
    assert_set(&out, &none, "no sets", "abc");
    for (i = 0; i < 3; i++)
        nines_ivset_close(&sets[i]);
    nines_ivset_close(&out);
}

/*
 * Quorum 2 of 3 locations: eu down [100,400), us down [200,500), ap down
 * [300,350). Two or more are down from 200 (us joins) until 400 (eu leaves).
 */
Test(intervals, at_least_quorum_of_locations)
{
    const struct ivlist eu = { 1, { { 100, 400 } } };
    const struct ivlist us = { 1, { { 200, 500 } } };
    const struct ivlist ap = { 1, { { 300, 350 } } };
    const struct ivlist want = { 1, { { 200, 400 } } };
    struct nines_ivset sets[3], out;
    size_t i;

    set_raw(&sets[0], &eu);
    set_raw(&sets[1], &us);
    set_raw(&sets[2], &ap);
    nines_ivset_init(&out);
    cr_assert(eq(int, nines_ivset_at_least(sets, 3, 2, &out), 0));
    assert_set(&out, &want, "quorum 2", "eu/us/ap");
    for (i = 0; i < 3; i++)
        nines_ivset_close(&sets[i]);
    nines_ivset_close(&out);
}

Test(intervals, at_least_counts_a_set_once_and_leaves_no_hole_at_touch_points)
{
    /* A overlaps itself: one location, not two. */
    const struct ivlist dup = { 2, { { 0, 10 }, { 0, 10 } } };
    /* A's touching halves [0,10) [10,20) and B = [5,15): both down over [5,15), no hole at 10. */
    const struct ivlist halves = { 2, { { 0, 10 }, { 10, 20 } } };
    const struct ivlist mid = { 1, { { 5, 15 } } };
    /* B ends at 10 where C starts: at no instant are both down. */
    const struct ivlist left = { 1, { { 0, 10 } } };
    const struct ivlist right = { 1, { { 10, 20 } } };
    const struct ivlist want_mid = { 1, { { 5, 15 } } };
    const struct ivlist none = { 0, { { 0 } } };
    struct nines_ivset sets[2], out;

    nines_ivset_init(&out);
    set_raw(&sets[0], &dup);
    nines_ivset_init(&sets[1]);
    cr_assert(eq(int, nines_ivset_at_least(sets, 2, 2, &out), 0));
    assert_set(&out, &none, "k=2", "self-overlap");
    nines_ivset_close(&sets[0]);

    set_raw(&sets[0], &halves);
    set_raw(&sets[1], &mid);
    cr_assert(eq(int, nines_ivset_at_least(sets, 2, 2, &out), 0));
    assert_set(&out, &want_mid, "k=2", "touching halves");
    nines_ivset_close(&sets[0]);
    nines_ivset_close(&sets[1]);

    set_raw(&sets[0], &left);
    set_raw(&sets[1], &right);
    cr_assert(eq(int, nines_ivset_at_least(sets, 2, 2, &out), 0));
    assert_set(&out, &none, "k=2", "hand-over at 10");
    cr_assert(eq(int, nines_ivset_at_least(sets, 2, 1, &out), 0));
    cr_assert(eq(sz, out.n, 1), "k=1 joins the hand-over into one interval");
    cr_assert(eq(i64, out.v[0].start_ms, 0));
    cr_assert(eq(i64, out.v[0].end_ms, 20));
    nines_ivset_close(&sets[0]);
    nines_ivset_close(&sets[1]);
    nines_ivset_close(&out);
}

Test(intervals, impossible_allocation_fails_cleanly)
{
    /* A set that claims 2^40 intervals: reserving room for the result must fail
     * with NINES_ENOMEM before anything reads them, leaving out empty and usable. */
    struct nines_interval one = { 0, 10 };
    struct nines_ivset huge = { &one, (size_t)1 << 40, (size_t)1 << 40 }, out;

    nines_ivset_init(&out);
    cr_assert(eq(int, nines_ivset_add(&out, 1, 2), 0));
    cr_assert(eq(int, nines_ivset_at_least(&huge, 1, 1, &out), NINES_ENOMEM));
    cr_assert(eq(sz, out.n, 0));
    cr_assert(eq(int, nines_ivset_add(&out, 1, 2), 0));
    cr_assert(eq(int, nines_ivset_copy(&huge, &out), NINES_ENOMEM));
    cr_assert(eq(sz, out.n, 0));
    cr_assert(eq(int, nines_ivset_union(&huge, &huge, &out), NINES_ENOMEM));
    cr_assert(eq(sz, out.n, 0));
    cr_assert(eq(int, nines_ivset_add(&out, 3, 4), 0), "out is still usable");
    cr_assert(eq(i64, nines_ivset_total_ms(&out), 1));
    nines_ivset_close(&out);
}

/* ---- brute-force oracle over [0, 64) --------------------------------- */

#define SPAN 64

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* A random unsorted set (possibly overlapping, touching, empty pieces) and its bitmap. */
static void random_set(struct nines_ivset *s, uint64_t *bits)
{
    size_t n = rng() % 6, i;

    nines_ivset_init(s);
    *bits = 0;
    if (n == 0)
        return;
    s->v = malloc(n * sizeof(*s->v));
    cr_assert(s->v != NULL);
    s->n = s->cap = n;
    for (i = 0; i < n; i++) {
        int64_t a = rng() % SPAN, len = rng() % 20, t;

        s->v[i].start_ms = a;
        s->v[i].end_ms = a + len > SPAN ? SPAN : a + len;
        for (t = s->v[i].start_ms; t < s->v[i].end_ms; t++)
            *bits |= (uint64_t)1 << t;
    }
}

static void assert_bits(const struct nines_ivset *s, uint64_t want, int iter, const char *what)
{
    uint64_t got = 0;
    size_t i;
    int64_t t;

    for (i = 0; i < s->n; i++) {
        cr_assert(s->v[i].start_ms < s->v[i].end_ms, "%s #%d: empty piece", what, iter);
        if (i > 0)
            cr_assert(s->v[i - 1].end_ms < s->v[i].start_ms, "%s #%d: not normalised", what,
                      iter);
        for (t = s->v[i].start_ms; t < s->v[i].end_ms; t++)
            got |= (uint64_t)1 << t;
    }
    cr_assert(eq(u64, got, want), "%s #%d", what, iter);
}

Test(intervals, random_sets_match_a_bitmap_oracle)
{
    int iter;

    for (iter = 0; iter < 3000; iter++) {
        struct nines_ivset s[3], out;
        uint64_t bits[3], want1 = 0, want2 = 0, want3 = 0;
        int64_t t;

        random_set(&s[0], &bits[0]);
        random_set(&s[1], &bits[1]);
        random_set(&s[2], &bits[2]);
        nines_ivset_init(&out);
        cr_assert(eq(int, nines_ivset_union(&s[0], &s[1], &out), 0));
        assert_bits(&out, bits[0] | bits[1], iter, "union");
        cr_assert(eq(int, nines_ivset_intersect(&s[0], &s[1], &out), 0));
        assert_bits(&out, bits[0] & bits[1], iter, "intersect");
        cr_assert(eq(int, nines_ivset_subtract(&s[0], &s[1], &out), 0));
        assert_bits(&out, bits[0] & ~bits[1], iter, "subtract");
        for (t = 0; t < SPAN; t++) {
            int c = !!(bits[0] >> t & 1) + !!(bits[1] >> t & 1) + !!(bits[2] >> t & 1);

            want1 |= (uint64_t)(c >= 1) << t;
            want2 |= (uint64_t)(c >= 2) << t;
            want3 |= (uint64_t)(c >= 3) << t;
        }
        cr_assert(eq(int, nines_ivset_at_least(s, 3, 1, &out), 0));
        assert_bits(&out, want1, iter, "at_least 1");
        cr_assert(eq(int, nines_ivset_at_least(s, 3, 2, &out), 0));
        assert_bits(&out, want2, iter, "at_least 2");
        cr_assert(eq(int, nines_ivset_at_least(s, 3, 3, &out), 0));
        assert_bits(&out, want3, iter, "at_least 3");
        cr_assert(eq(i64, nines_ivset_total_ms(&s[2]), (int64_t)__builtin_popcountll(bits[2])));
        assert_bits(&s[2], bits[2], iter, "normalised in place");
        nines_ivset_clip(&s[0], 10, 40);
        nines_ivset_normalise(&s[0]);
        assert_bits(&s[0], bits[0] & (((uint64_t)1 << 40) - ((uint64_t)1 << 10)), iter, "clip");
        nines_ivset_close(&s[0]);
        nines_ivset_close(&s[1]);
        nines_ivset_close(&s[2]);
        nines_ivset_close(&out);
    }
}
