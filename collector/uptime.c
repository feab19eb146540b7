/*
 * Uptime arithmetic in one sweep: the ends of every down, maintenance and
 * no-data interval (clipped to the window) are sorted, and each stretch
 * between two consecutive ends is classified once, by the first of
 * maintenance > no-data > down that covers it. One allocation, freed before
 * returning; overlaps within one kind count once.
 */
#include <stdlib.h>

#include "nines/err.h"
#include "uptime.h"

#define UPTIME_HOUR_MS INT64_C(3600000)
#define UPTIME_DAY_MS (24 * UPTIME_HOUR_MS)

enum uptime_kind { UPTIME_KIND_DOWN = 0, UPTIME_KIND_MAINT, UPTIME_KIND_NODATA };

struct uptime_event {
    int64_t t;
    int kind;
    int delta; /* +1 start, -1 end */
};

static int uptime_cmp_event(const void *pa, const void *pb)
{
    const struct uptime_event *a = pa, *b = pb;

    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return b->delta - a->delta;
}

static size_t uptime_count(const struct nines_ivset *s)
{
    return s == NULL ? 0 : s->n;
}

/* Appends the events of s's intervals, clipped to [from, to); returns the new count. */
static size_t uptime_add_events(const struct nines_ivset *s, int kind, int64_t from,
                                int64_t to, struct uptime_event *ev, size_t n)
{
    size_t i;

    for (i = 0; i < uptime_count(s); i++) {
        int64_t a = s->v[i].start_ms > from ? s->v[i].start_ms : from;
        int64_t b = s->v[i].end_ms < to ? s->v[i].end_ms : to;

        if (a >= b)
            continue;
        ev[n].t = a;
        ev[n].kind = kind;
        ev[n++].delta = 1;
        ev[n].t = b;
        ev[n].kind = kind;
        ev[n++].delta = -1;
    }
    return n;
}

/* Adds the stretch [a, b) to its class given the open counts per kind. */
static void uptime_account(struct uptime_result *r, const int64_t depth[3], int nodata_is_down,
                           int64_t len)
{
    if (depth[UPTIME_KIND_MAINT] > 0) {
        r->maintenance_ms += len;
    } else if (depth[UPTIME_KIND_NODATA] > 0) {
        r->nodata_ms += len;
        if (nodata_is_down)
            r->downtime_ms += len;
    } else if (depth[UPTIME_KIND_DOWN] > 0) {
        r->downtime_ms += len;
    }
}

static void uptime_finish(struct uptime_result *r, int nodata_is_down)
{
    int64_t base = r->window_ms - r->maintenance_ms;

    r->eligible_ms = base - (nodata_is_down ? 0 : r->nodata_ms);
    r->no_eligible_time = r->eligible_ms == 0;
    r->uptime = r->no_eligible_time ? 1.0
                                    : 1.0 - (double)r->downtime_ms / (double)r->eligible_ms;
    r->coverage = base == 0 ? 1.0 : (double)(base - r->nodata_ms) / (double)base;
}

int uptime_compute(const struct uptime_input *in, struct uptime_result *out)
{
    struct uptime_event *ev = NULL;
    int64_t depth[3] = { 0, 0, 0 }, prev;
    size_t total, nev = 0, i = 0;

    *out = (struct uptime_result){ 0 };
    if (in->to_ms < in->from_ms || in->from_ms < -NINES_IV_LIMIT || in->to_ms > NINES_IV_LIMIT)
        return NINES_EINVAL;
    total = uptime_count(in->down) + uptime_count(in->maintenance) + uptime_count(in->nodata);
    if (total > SIZE_MAX / 2 / sizeof(*ev))
        return NINES_ENOMEM;
    if (total > 0) {
        ev = malloc(2 * total * sizeof(*ev));
        if (ev == NULL)
            return NINES_ENOMEM;
    }
    nev = uptime_add_events(in->down, UPTIME_KIND_DOWN, in->from_ms, in->to_ms, ev, nev);
    nev = uptime_add_events(in->maintenance, UPTIME_KIND_MAINT, in->from_ms, in->to_ms, ev, nev);
    nev = uptime_add_events(in->nodata, UPTIME_KIND_NODATA, in->from_ms, in->to_ms, ev, nev);
    if (nev > 0)
        qsort(ev, nev, sizeof(*ev), uptime_cmp_event);
    out->window_ms = in->to_ms - in->from_ms;
    prev = in->from_ms;
    while (i < nev) {
        int64_t t = ev[i].t;

        uptime_account(out, depth, in->nodata_is_down, t - prev);
        for (; i < nev && ev[i].t == t; i++)
            depth[ev[i].kind] += ev[i].delta;
        prev = t;
    }
    /* Every interval was clipped to `to`, so nothing is open after the last end. */
    free(ev);
    uptime_finish(out, in->nodata_is_down);
    return 0;
}

int uptime_service_down(const struct uptime_member *checks, size_t n,
                        enum uptime_down_when when, struct nines_ivset *out)
{
    struct nines_ivset *crit;
    size_t i, ncrit = 0;
    int rc;

    for (i = 0; i < n; i++) {
        if (checks[i].down == out)
            return NINES_EINVAL;
        ncrit += checks[i].critical != 0;
    }
    out->n = 0;
    if (ncrit == 0)
        return 0;
    crit = malloc(ncrit * sizeof(*crit));
    if (crit == NULL)
        return NINES_ENOMEM;
    ncrit = 0;
    for (i = 0; i < n; i++) {
        if (!checks[i].critical)
            continue;
        if (checks[i].down != NULL)
            crit[ncrit] = *checks[i].down; /* a shallow view: at_least only reads */
        else
            nines_ivset_init(&crit[ncrit]);
        ncrit++;
    }
    rc = nines_ivset_at_least(crit, ncrit, when == UPTIME_DOWN_ALL ? ncrit : 1, out);
    free(crit);
    return rc;
}

int uptime_window_range(enum uptime_window w, int64_t now_ms, int64_t *from_ms, int64_t *to_ms)
{
    static const int64_t len[UPTIME_WINDOWS] = { UPTIME_DAY_MS, 7 * UPTIME_DAY_MS,
                                                 30 * UPTIME_DAY_MS, 90 * UPTIME_DAY_MS };

    if ((int)w < 0 || w >= UPTIME_WINDOWS || now_ms < INT64_MIN + len[w])
        return NINES_EINVAL;
    *to_ms = now_ms;
    *from_ms = now_ms - len[w];
    return 0;
}

const char *uptime_window_name(enum uptime_window w)
{
    static const char *const names[UPTIME_WINDOWS] = { "24h", "7d", "30d", "90d" };

    if ((int)w < 0 || w >= UPTIME_WINDOWS)
        return NULL;
    return names[w];
}
