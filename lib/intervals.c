/*
 * Interval-set algebra. Binary operations run as a linear merge over
 * normalised inputs; an input that is not normalised is first copied and
 * normalised (the only temporary allocation). Results are reserved at their
 * worst-case size before anything is written, so a failure never leaves a
 * half-built result behind.
 */
#include <stdlib.h>
#include <string.h>

#include "intervals.h"
#include "nines/err.h"

static int64_t ivset_clamp(int64_t t)
{
    if (t > NINES_IV_LIMIT)
        return NINES_IV_LIMIT;
    if (t < -NINES_IV_LIMIT)
        return -NINES_IV_LIMIT;
    return t;
}

/* Makes room for at least want intervals in total. */
static int ivset_reserve(struct nines_ivset *s, size_t want)
{
    struct nines_interval *v;
    size_t cap = s->cap ? s->cap : 8;

    if (want <= s->cap)
        return 0;
    if (want > SIZE_MAX / 2 / sizeof(*v))
        return NINES_ENOMEM;
    while (cap < want)
        cap *= 2;
    v = realloc(s->v, cap * sizeof(*v));
    if (v == NULL)
        return NINES_ENOMEM;
    s->v = v;
    s->cap = cap;
    return 0;
}

/* Appends without clamping or checks; the caller reserved the room. */
static void ivset_push(struct nines_ivset *s, int64_t start_ms, int64_t end_ms)
{
    s->v[s->n].start_ms = start_ms;
    s->v[s->n].end_ms = end_ms;
    s->n++;
}

static int ivset_is_normal(const struct nines_ivset *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        if (s->v[i].start_ms >= s->v[i].end_ms)
            return 0;
        if (i > 0 && s->v[i - 1].end_ms >= s->v[i].start_ms)
            return 0;
    }
    return 1;
}

static int ivset_cmp_start(const void *pa, const void *pb)
{
    const struct nines_interval *a = pa, *b = pb;

    if (a->start_ms != b->start_ms)
        return a->start_ms < b->start_ms ? -1 : 1;
    if (a->end_ms != b->end_ms)
        return a->end_ms < b->end_ms ? -1 : 1;
    return 0;
}

void nines_ivset_init(struct nines_ivset *s)
{
    s->v = NULL;
    s->n = 0;
    s->cap = 0;
}

void nines_ivset_close(struct nines_ivset *s)
{
    free(s->v);
    nines_ivset_init(s);
}

int nines_ivset_add(struct nines_ivset *s, int64_t start_ms, int64_t end_ms)
{
    int rc;

    start_ms = ivset_clamp(start_ms);
    end_ms = ivset_clamp(end_ms);
    if (start_ms >= end_ms)
        return 0;
    if (s->n == SIZE_MAX)
        return NINES_ENOMEM;
    rc = ivset_reserve(s, s->n + 1);
    if (rc != 0)
        return rc;
    ivset_push(s, start_ms, end_ms);
    return 0;
}

void nines_ivset_normalise(struct nines_ivset *s)
{
    size_t i, w = 0;

    if (ivset_is_normal(s))
        return;
    qsort(s->v, s->n, sizeof(s->v[0]), ivset_cmp_start);
    for (i = 0; i < s->n; i++) {
        const struct nines_interval *iv = &s->v[i];

        if (iv->start_ms >= iv->end_ms)
            continue;
        if (w > 0 && s->v[w - 1].end_ms >= iv->start_ms) {
            if (iv->end_ms > s->v[w - 1].end_ms)
                s->v[w - 1].end_ms = iv->end_ms;
            continue;
        }
        s->v[w++] = *iv;
    }
    s->n = w;
}

void nines_ivset_clip(struct nines_ivset *s, int64_t from_ms, int64_t to_ms)
{
    size_t i, w = 0;

    for (i = 0; i < s->n; i++) {
        int64_t a = s->v[i].start_ms > from_ms ? s->v[i].start_ms : from_ms;
        int64_t b = s->v[i].end_ms < to_ms ? s->v[i].end_ms : to_ms;

        if (a >= b)
            continue;
        s->v[w].start_ms = a;
        s->v[w].end_ms = b;
        w++;
    }
    s->n = w;
}

int64_t nines_ivset_total_ms(struct nines_ivset *s)
{
    int64_t total = 0;
    size_t i;

    nines_ivset_normalise(s);
    for (i = 0; i < s->n; i++)
        total += s->v[i].end_ms - s->v[i].start_ms;
    return total;
}

int nines_ivset_copy(const struct nines_ivset *src, struct nines_ivset *out)
{
    int rc;

    if (src == out)
        return NINES_EINVAL;
    out->n = 0;
    rc = ivset_reserve(out, src->n);
    if (rc != 0)
        return rc;
    if (src->n > 0)
        memcpy(out->v, src->v, src->n * sizeof(src->v[0]));
    out->n = src->n;
    nines_ivset_normalise(out);
    return 0;
}

int nines_ivset_union(const struct nines_ivset *a, const struct nines_ivset *b,
                      struct nines_ivset *out)
{
    int rc;

    if (out == a || out == b || a->n > SIZE_MAX - b->n)
        return NINES_EINVAL;
    out->n = 0;
    rc = ivset_reserve(out, a->n + b->n);
    if (rc != 0)
        return rc;
    if (a->n > 0)
        memcpy(out->v, a->v, a->n * sizeof(a->v[0]));
    if (b->n > 0)
        memcpy(out->v + a->n, b->v, b->n * sizeof(b->v[0]));
    out->n = a->n + b->n;
    nines_ivset_normalise(out);
    return 0;
}

/*
 * Points *use at src when it is normalised, else at a normalised copy in tmp.
 * tmp is always initialised, so the caller can close it unconditionally.
 */
static int ivset_normal_view(const struct nines_ivset *src, struct nines_ivset *tmp,
                             const struct nines_ivset **use)
{
    nines_ivset_init(tmp);
    *use = src;
    if (ivset_is_normal(src))
        return 0;
    *use = tmp;
    return nines_ivset_copy(src, tmp);
}

static void ivset_intersect_normal(const struct nines_ivset *a, const struct nines_ivset *b,
                                   struct nines_ivset *out)
{
    size_t i = 0, j = 0;

    while (i < a->n && j < b->n) {
        const struct nines_interval *x = &a->v[i], *y = &b->v[j];
        int64_t lo = x->start_ms > y->start_ms ? x->start_ms : y->start_ms;
        int64_t hi = x->end_ms < y->end_ms ? x->end_ms : y->end_ms;

        if (lo < hi)
            ivset_push(out, lo, hi);
        if (x->end_ms < y->end_ms)
            i++;
        else
            j++;
    }
}

static void ivset_subtract_normal(const struct nines_ivset *a, const struct nines_ivset *b,
                                  struct nines_ivset *out)
{
    size_t i, j = 0, k;

    for (i = 0; i < a->n; i++) {
        int64_t cur = a->v[i].start_ms, end = a->v[i].end_ms;

        while (j < b->n && b->v[j].end_ms <= cur)
            j++;
        for (k = j; k < b->n && b->v[k].start_ms < end && cur < end; k++) {
            if (b->v[k].start_ms > cur)
                ivset_push(out, cur, b->v[k].start_ms);
            if (b->v[k].end_ms > cur)
                cur = b->v[k].end_ms;
        }
        if (cur < end)
            ivset_push(out, cur, end);
    }
}

/* op 'i' = intersection, 's' = subtraction. Both results have at most |a|+|b| pieces. */
static int ivset_binary(const struct nines_ivset *a, const struct nines_ivset *b,
                        struct nines_ivset *out, char op)
{
    struct nines_ivset ta, tb;
    const struct nines_ivset *na, *nb;
    int rc;

    if (out == a || out == b || a->n > SIZE_MAX - b->n)
        return NINES_EINVAL;
    out->n = 0;
    rc = ivset_normal_view(a, &ta, &na);
    if (rc == 0)
        rc = ivset_normal_view(b, &tb, &nb);
    else
        nines_ivset_init(&tb);
    if (rc == 0)
        rc = ivset_reserve(out, na->n + nb->n);
    if (rc == 0 && op == 'i')
        ivset_intersect_normal(na, nb, out);
    else if (rc == 0)
        ivset_subtract_normal(na, nb, out);
    nines_ivset_close(&ta);
    nines_ivset_close(&tb);
    return rc;
}

int nines_ivset_intersect(const struct nines_ivset *a, const struct nines_ivset *b,
                          struct nines_ivset *out)
{
    return ivset_binary(a, b, out, 'i');
}

int nines_ivset_subtract(const struct nines_ivset *a, const struct nines_ivset *b,
                         struct nines_ivset *out)
{
    return ivset_binary(a, b, out, 's');
}

/* One end of an interval in the k-of-n sweep. */
struct ivset_event {
    int64_t t;
    size_t set;
    int delta; /* +1 start, -1 end */
};

static int ivset_cmp_event(const void *pa, const void *pb)
{
    const struct ivset_event *a = pa, *b = pb;

    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return b->delta - a->delta; /* starts first; any order works, this one is stable */
}

/* Every non-empty interval of every set, as two events; returns the event count. */
static size_t ivset_fill_events(const struct nines_ivset *sets, size_t nsets,
                                struct ivset_event *ev)
{
    size_t s, i, n = 0;

    for (s = 0; s < nsets; s++) {
        for (i = 0; i < sets[s].n; i++) {
            const struct nines_interval *iv = &sets[s].v[i];

            if (iv->start_ms >= iv->end_ms)
                continue;
            ev[n].t = iv->start_ms;
            ev[n].set = s;
            ev[n++].delta = 1;
            ev[n].t = iv->end_ms;
            ev[n].set = s;
            ev[n++].delta = -1;
        }
    }
    return n;
}

/*
 * Sweeps the sorted events. depth[s] counts the open intervals of set s (a set
 * may overlap itself); active counts the sets with depth > 0. The state is
 * judged only after all events at one instant, which keeps [a,t) and [t,b)
 * from leaving a zero-length hole at t.
 */
static void ivset_sweep(const struct ivset_event *ev, size_t nev, size_t *depth, size_t k,
                        struct nines_ivset *out)
{
    size_t i = 0, active = 0;
    int64_t open_at = 0;
    int open = 0;

    while (i < nev) {
        int64_t t = ev[i].t;

        for (; i < nev && ev[i].t == t; i++) {
            size_t s = ev[i].set;

            if (ev[i].delta > 0 && depth[s]++ == 0)
                active++;
            else if (ev[i].delta < 0 && --depth[s] == 0)
                active--;
        }
        if (!open && active >= k) {
            open = 1;
            open_at = t;
        } else if (open && active < k) {
            open = 0;
            ivset_push(out, open_at, t);
        }
    }
}

int nines_ivset_at_least(const struct nines_ivset *sets, size_t nsets, size_t k,
                         struct nines_ivset *out)
{
    struct ivset_event *ev;
    size_t *depth;
    size_t s, total = 0, nev;
    int rc;

    for (s = 0; s < nsets; s++) {
        if (&sets[s] == out || sets[s].n > SIZE_MAX / 4 / sizeof(*ev) - total)
            return NINES_EINVAL;
        total += sets[s].n;
    }
    out->n = 0;
    if (k == 0)
        return NINES_EINVAL;
    if (k > nsets || total == 0)
        return 0;
    /* An output interval opens at a start event: at most `total` of them. */
    rc = ivset_reserve(out, total);
    if (rc != 0)
        return rc;
    ev = malloc(2 * total * sizeof(*ev));
    depth = calloc(nsets, sizeof(*depth));
    if (ev == NULL || depth == NULL) {
        free(ev);
        free(depth);
        return NINES_ENOMEM;
    }
    nev = ivset_fill_events(sets, nsets, ev);
    qsort(ev, nev, sizeof(*ev), ivset_cmp_event);
    ivset_sweep(ev, nev, depth, k, out);
    free(ev);
    free(depth);
    return 0;
}
