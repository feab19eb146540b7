/*
 * Capacity samples, series and forecasts. The series is a ring kept in time
 * order (late samples are refused), so "keep the newest" is simply "drop at
 * the head". The fit takes two passes over the window: the first finds the
 * means of (t − oldest) and y, the second sums the centred products, which
 * keeps the sums small and exact enough with epoch-millisecond times.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "nines/err.h"

#define CAPACITY_SERIES_CAP_MAX 1000000
#define CAPACITY_MIN_MS INT64_C(60000)
#define CAPACITY_HOUR_MS INT64_C(3600000)
#define CAPACITY_DAY_MS INT64_C(86400000)

struct capacity_point {
    int64_t t_ms;
    double value;
};

struct capacity_series {
    size_t cap;
    size_t head; /* index of the oldest sample */
    size_t count;
    uint64_t late;
    struct capacity_point v[];
};

/* ------------------------------------------------------------ facts */

struct capacity_out {
    struct capacity_sample *v;
    size_t max;
    size_t n;
    int full; /* a resource found no room */
};

static int capacity_has_name(const struct capacity_out *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->v[i].name, name) == 0)
            return 1;
    }
    return 0;
}

/* Adds name = key's value when key holds a finite number >= 0 and the name is new. */
static void capacity_take(struct capacity_out *o, json_t *obj, const char *key,
                          const char *name, double limit)
{
    json_t *j = json_object_get(obj, key);
    double v;

    if (!json_is_number(j))
        return;
    v = json_number_value(j);
    if (!isfinite(v) || v < 0 || capacity_has_name(o, name))
        return;
    if (o->n == o->max) {
        o->full = 1;
        return;
    }
    snprintf(o->v[o->n].name, sizeof(o->v[o->n].name), "%s", name);
    o->v[o->n].value = v;
    o->v[o->n].limit = limit;
    o->n++;
}

/* A mount point fit for a resource name: non-empty, printable, short enough. */
static int capacity_mount_ok(const char *m)
{
    size_t len = strlen(m);

    if (len == 0 || len + sizeof("inodes ") > CAPACITY_NAME_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)m[i];

        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

static void capacity_take_fs(struct capacity_out *o, json_t *fs)
{
    char name[CAPACITY_NAME_LEN];
    const char *mount;
    json_t *e;
    size_t i;

    json_array_foreach(fs, i, e) {
        mount = json_string_value(json_object_get(e, "mount"));
        if (mount == NULL || !capacity_mount_ok(mount))
            continue;
        /* The length check above makes both names fit. */
        snprintf(name, sizeof(name), "disk %s", mount);
        capacity_take(o, e, "pct", name, 100.0);
        snprintf(name, sizeof(name), "inodes %s", mount);
        capacity_take(o, e, "inodes_pct", name, 100.0);
    }
}

int capacity_samples_from_facts(const char *json, size_t len, double load_limit,
                                struct capacity_sample *out, size_t max, size_t *n)
{
    struct capacity_out o = { out, max, 0, 0 };
    json_error_t err;
    json_t *root;

    if (n == NULL)
        return NINES_EINVAL;
    *n = 0;
    if ((json == NULL && len > 0) || (out == NULL && max > 0) || !isfinite(load_limit) ||
        load_limit <= 0)
        return NINES_EINVAL;
    if (len == 0)
        return 0;
    root = json_loadb(json, len, 0, &err);
    if (root == NULL)
        return NINES_EINVAL;
    if (!json_is_object(root)) {
        json_decref(root);
        return NINES_EINVAL;
    }
    capacity_take(&o, root, "mem_pct", "memory", 100.0);
    capacity_take(&o, root, "swap_pct", "swap", 100.0);
    capacity_take(&o, root, "cpu_pct", "cpu", 100.0);
    capacity_take(&o, root, "load_per_cpu", "load", load_limit);
    capacity_take(&o, root, "open_files_pct", "open files", 100.0);
    capacity_take_fs(&o, json_object_get(root, "fs"));
    json_decref(root);
    *n = o.n;
    return o.full ? NINES_ENOMEM : 0;
}

/* ------------------------------------------------------------ series */

struct capacity_series *capacity_series_new(size_t capacity)
{
    struct capacity_series *s;

    if (capacity == 0 || capacity > CAPACITY_SERIES_CAP_MAX)
        return NULL;
    s = malloc(sizeof(*s) + capacity * sizeof(s->v[0]));
    if (s == NULL)
        return NULL;
    s->cap = capacity;
    s->head = 0;
    s->count = 0;
    s->late = 0;
    return s;
}

void capacity_series_free(struct capacity_series *s)
{
    free(s);
}

/* Where the i-th oldest sample lives. */
static size_t capacity_slot(const struct capacity_series *s, size_t i)
{
    return (s->head + i) % s->cap;
}

int capacity_series_add(struct capacity_series *s, int64_t t_ms, double value)
{
    struct capacity_point *newest;

    if (s == NULL || t_ms < 0 || t_ms > CAPACITY_T_MAX || !isfinite(value))
        return NINES_EINVAL;
    if (s->count > 0) {
        newest = &s->v[capacity_slot(s, s->count - 1)];
        if (t_ms == newest->t_ms) {
            newest->value = value;
            return 0;
        }
        if (t_ms < newest->t_ms) {
            s->late++;
            return NINES_ESTATE;
        }
    }
    if (s->count == s->cap) {
        s->head = (s->head + 1) % s->cap;
        s->count--;
    }
    s->v[capacity_slot(s, s->count)] = (struct capacity_point){ t_ms, value };
    s->count++;
    return 0;
}

size_t capacity_series_count(const struct capacity_series *s)
{
    return s == NULL ? 0 : s->count;
}

int capacity_series_at(const struct capacity_series *s, size_t i, int64_t *t_ms, double *value)
{
    const struct capacity_point *p;

    if (s == NULL || i >= s->count)
        return NINES_EINVAL;
    p = &s->v[capacity_slot(s, i)];
    *t_ms = p->t_ms;
    *value = p->value;
    return 0;
}

uint64_t capacity_series_late(const struct capacity_series *s)
{
    return s == NULL ? 0 : s->late;
}

/* ------------------------------------------------------------ fit */

/* Sums over the window, all relative to the oldest sample in it (t0). */
struct capacity_sums {
    size_t n;
    int64_t t0;
    int64_t t1;    /* newest */
    double mean_x; /* of t − t0 */
    double mean_y;
    double sxx, sxy, syy;
};

static int capacity_in(const struct capacity_point *p, int64_t from, int64_t to)
{
    return p->t_ms >= from && p->t_ms <= to;
}

static void capacity_first_pass(const struct capacity_series *s, int64_t from, int64_t to,
                                struct capacity_sums *m)
{
    double sum_x = 0, sum_y = 0;

    for (size_t i = 0; i < s->count; i++) {
        const struct capacity_point *p = &s->v[capacity_slot(s, i)];

        if (!capacity_in(p, from, to))
            continue;
        if (m->n == 0)
            m->t0 = p->t_ms; /* time order: the first in range is the oldest */
        m->t1 = p->t_ms;
        sum_x += (double)(p->t_ms - m->t0);
        sum_y += p->value;
        m->n++;
    }
    if (m->n > 0) {
        m->mean_x = sum_x / (double)m->n;
        m->mean_y = sum_y / (double)m->n;
    }
}

static void capacity_second_pass(const struct capacity_series *s, int64_t from, int64_t to,
                                 struct capacity_sums *m)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct capacity_point *p = &s->v[capacity_slot(s, i)];
        double dx, dy;

        if (!capacity_in(p, from, to))
            continue;
        dx = (double)(p->t_ms - m->t0) - m->mean_x;
        dy = p->value - m->mean_y;
        m->sxx += dx * dx;
        m->sxy += dx * dy;
        m->syy += dy * dy;
    }
}

int capacity_fit(const struct capacity_series *s, int64_t from_ms, int64_t to_ms,
                 struct capacity_fit *out)
{
    struct capacity_sums m;
    double r2;

    if (s == NULL || out == NULL || to_ms < from_ms)
        return NINES_EINVAL;
    memset(out, 0, sizeof(*out));
    memset(&m, 0, sizeof(m));
    capacity_first_pass(s, from_ms, to_ms, &m);
    out->n = m.n;
    out->span_ms = m.n > 0 ? m.t1 - m.t0 : 0;
    if (m.n < 2 || out->span_ms == 0)
        return NINES_ENOTFOUND;
    capacity_second_pass(s, from_ms, to_ms, &m);
    out->slope_per_ms = m.sxy / m.sxx;
    /* to − t0 in double: both are within [0, CAPACITY_T_MAX], so it is exact. */
    out->value_at_to = m.mean_y + out->slope_per_ms * ((double)(to_ms - m.t0) - m.mean_x);
    r2 = m.syy > 0 ? (m.sxy * m.sxy) / (m.sxx * m.syy) : 1.0;
    out->r2 = r2 > 1.0 ? 1.0 : r2;
    return 0;
}

/* ------------------------------------------------------------ forecast */

int capacity_forecast(const struct capacity_series *s, int64_t now_ms, int64_t window_ms,
                      double limit, size_t min_samples, struct capacity_forecast *out)
{
    int64_t from;
    double eta;
    int rc;

    if (s == NULL || out == NULL || window_ms <= 0 || now_ms < 0 || now_ms > CAPACITY_T_MAX ||
        !isfinite(limit))
        return NINES_EINVAL;
    memset(out, 0, sizeof(*out));
    out->status = CAPACITY_NO_DATA;
    from = window_ms > now_ms ? 0 : now_ms - window_ms;
    rc = capacity_fit(s, from, now_ms, &out->fit);
    if (rc == NINES_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (out->fit.n < (min_samples < 2 ? 2 : min_samples) ||
        out->fit.span_ms * 4 < window_ms)
        return 0;
    out->value_at_now = out->fit.value_at_to;
    if (out->value_at_now >= limit) {
        out->status = CAPACITY_ALREADY;
    } else if (!(out->fit.slope_per_ms > 0)) {
        out->status = CAPACITY_NO_TREND;
    } else {
        out->status = CAPACITY_ETA;
        eta = (limit - out->value_at_now) / out->fit.slope_per_ms;
        out->eta_ms = eta >= (double)CAPACITY_ETA_MAX_MS ? CAPACITY_ETA_MAX_MS : llround(eta);
    }
    return 0;
}

const char *capacity_status_name(enum capacity_status st)
{
    switch (st) {
    case CAPACITY_NO_DATA:
        return "no_data";
    case CAPACITY_ALREADY:
        return "already";
    case CAPACITY_NO_TREND:
        return "no_trend";
    case CAPACITY_ETA:
        return "eta";
    }
    return "?";
}

/* ms / unit rounded half up, for ms >= 0. */
static int64_t capacity_round_div(int64_t ms, int64_t unit)
{
    return ms / unit + (ms % unit >= unit - unit / 2);
}

int capacity_eta_text(int64_t ms, char *buf, size_t len)
{
    int64_t minutes, hours;
    int w;

    if (buf == NULL || len == 0)
        return NINES_EINVAL;
    minutes = ms > 0 ? capacity_round_div(ms, CAPACITY_MIN_MS) : 0;
    hours = ms > 0 ? capacity_round_div(ms, CAPACITY_HOUR_MS) : 0;
    if (ms <= 0)
        w = snprintf(buf, len, "now");
    else if (ms < CAPACITY_MIN_MS)
        w = snprintf(buf, len, "< 1 min");
    else if (minutes < 60)
        w = snprintf(buf, len, "~%lld min", (long long)minutes);
    else if (hours < 48)
        w = snprintf(buf, len, "~%lld h", (long long)hours);
    else
        w = snprintf(buf, len, "~%lld d", (long long)capacity_round_div(ms, CAPACITY_DAY_MS));
    return w < 0 || (size_t)w >= len ? NINES_EINVAL : 0;
}
