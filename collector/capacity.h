/*
 * Capacity forecasting: the resources of one host result, a bounded time
 * series per resource, and a least-squares line through its recent samples
 * that says when the resource reaches its limit ("disk / full in ~19 h").
 * Pure computation; no I/O, no globals.
 *
 * The fit. Over the n samples (t_i, y_i) with from <= t_i <= to, and with
 * times centred on their mean (epoch milliseconds squared lose precision in
 * a double; differences from the mean do not):
 *
 *   x_i = t_i − mean(t)        slope = Σ x_i (y_i − mean(y)) / Σ x_i²
 *   y(t) = mean(y) + slope · (t − mean(t))
 *   r²   = (Σ x_i (y_i − ȳ))² / (Σ x_i² · Σ (y_i − ȳ)²)      (1 when all y_i are equal)
 *
 * Units: t in epoch milliseconds, values in the resource's own unit (percent,
 * or load per CPU), slope in that unit per millisecond.
 *
 * The forecast at now over window w fits [now − w, now] and reports, in this
 * order of precedence:
 *   NO_DATA   fewer than min_samples samples, or their span < w / 4
 *   ALREADY   the fitted value at now is >= limit (whatever the slope)
 *   NO_TREND  slope <= 0
 *   ETA       eta_ms = (limit − y(now)) / slope, rounded to the millisecond
 *
 * Hysteresis for the "capacity forecast" alert, with horizon H (e.g. 24 h):
 * fire when the status is ALREADY or ETA with eta_ms <= H; resolve only when
 * the status is NO_TREND or ETA with eta_ms > 1.25 × H. Anything between
 * (and NO_DATA, e.g. after a probe restart) keeps the alert as it is, so a
 * line wobbling around the horizon does not flap.
 */
#ifndef NINES_CAPACITY_H
#define NINES_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

/* "inodes " + a mount point of up to 255 bytes + NUL, rounded up. */
#define CAPACITY_NAME_LEN 272
/* Enough for every resource of one host result (5 scalars, 2 × 40 mounts). */
#define CAPACITY_SAMPLES_MAX 96
/* The usual limit of "load" (the 1-minute load average per CPU). */
#define CAPACITY_LOAD_LIMIT_DEFAULT 1.0
/* Series timestamps are epoch ms in [0, CAPACITY_T_MAX] (the year 9999). */
#define CAPACITY_T_MAX INT64_C(253402300799999)
/* An ETA further away than this (100 years) is reported as this. */
#define CAPACITY_ETA_MAX_MS INT64_C(3155760000000)

/* One resource of one host: "disk /var" at 87.5 of 100. */
struct capacity_sample {
    char name[CAPACITY_NAME_LEN];
    double value;
    double limit;
};

/*
 * The resources in a host result's facts (compact JSON, len bytes, no NUL
 * needed): "memory" (mem_pct), "swap" (swap_pct, present only when the host
 * has swap), "cpu" (cpu_pct), "load" (load_per_cpu, limit load_limit),
 * "open files" (open_files_pct), then for each fs entry "disk <mount>" (pct)
 * and "inodes <mount>" (inodes_pct, when reported). Limits are 100 except
 * for load. A field that is missing, not a number, negative, or an fs entry
 * without a usable mount (empty, control characters, too long, repeated) is
 * skipped. Empty facts (len 0) give no samples.
 *
 * Returns 0; NINES_EINVAL (not a JSON object: *n = 0; a NULL argument;
 * load_limit not > 0); NINES_ENOMEM when more than max resources were found
 * (the first max are stored, *n = max).
 */
int capacity_samples_from_facts(const char *json, size_t len, double load_limit,
                                struct capacity_sample *out, size_t max, size_t *n);

/*
 * A bounded series of (t_ms, value), oldest first. Timestamps strictly
 * increase: a sample at the newest timestamp replaces its value (a result
 * delivered twice), and one older than the newest is refused with
 * NINES_ESTATE (counted in late). When full, the oldest sample is dropped.
 */
struct capacity_series;

/* NULL for capacity 0, capacity > 1,000,000, or no memory. */
struct capacity_series *capacity_series_new(size_t capacity);
void capacity_series_free(struct capacity_series *s);
/* 0; NINES_EINVAL (t_ms outside [0, CAPACITY_T_MAX], value not finite); NINES_ESTATE (late). */
int capacity_series_add(struct capacity_series *s, int64_t t_ms, double value);
/* Samples held, and samples refused as late so far. */
size_t capacity_series_count(const struct capacity_series *s);
uint64_t capacity_series_late(const struct capacity_series *s);
/* The i-th held sample, oldest first: 0, or NINES_EINVAL past the end. */
int capacity_series_at(const struct capacity_series *s, size_t i, int64_t *t_ms, double *value);

struct capacity_fit {
    size_t n;            /* samples with from_ms <= t <= to_ms */
    int64_t span_ms;     /* newest − oldest of them */
    double slope_per_ms; /* unit per ms */
    double value_at_to;  /* the line at to_ms */
    double r2;           /* in [0, 1] */
};

/*
 * Least-squares line through the samples in [from_ms, to_ms]. Returns 0;
 * NINES_ENOTFOUND when fewer than 2 samples or a span of 0 leave no line
 * (n and span_ms are still set, the rest 0); NINES_EINVAL for to < from.
 */
int capacity_fit(const struct capacity_series *s, int64_t from_ms, int64_t to_ms,
                 struct capacity_fit *out);

enum capacity_status {
    CAPACITY_NO_DATA = 0,
    CAPACITY_ALREADY,
    CAPACITY_NO_TREND,
    CAPACITY_ETA,
};

struct capacity_forecast {
    enum capacity_status status;
    int64_t eta_ms;         /* ETA: now → limit, in [0, CAPACITY_ETA_MAX_MS]; else 0 */
    double value_at_now;    /* the fitted line at now (0 when NO_DATA) */
    struct capacity_fit fit; /* over [now − window, now] */
};

/*
 * Forecast as described at the top. min_samples below 2 counts as 2.
 * Returns 0, or NINES_EINVAL (window_ms <= 0, now_ms outside
 * [0, CAPACITY_T_MAX], limit not finite).
 */
int capacity_forecast(const struct capacity_series *s, int64_t now_ms, int64_t window_ms,
                      double limit, size_t min_samples, struct capacity_forecast *out);

/* Name of a status: "no_data", "already", "no_trend", "eta"; "?" if unknown. */
const char *capacity_status_name(enum capacity_status st);

/*
 * A duration for people: "now" (<= 0), "< 1 min", "~45 min" (under an hour
 * once rounded), "~19 h" (under 48 h), "~3 d". Returns 0, or NINES_EINVAL
 * (NULL buf, or len too small: buf then holds what fits).
 */
int capacity_eta_text(int64_t ms, char *buf, size_t len);

#endif
