/* /metrics in the Prometheus text format (documented in the README). */
#ifndef NINES_METRICS_H
#define NINES_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "capacity.h"
#include "nines/result.h"

struct collector;

/* Latency buckets (seconds) of nines_check_latency_seconds. */
#define METRICS_BUCKETS 12
extern const double metrics_bucket_le[METRICS_BUCKETS];

#define METRICS_MAX_LOCATIONS 32         /* more are not counted per location */
#define METRICS_MAX_CODES 16             /* distinct HTTP statuses per check; then "other" */
#define METRICS_PHASES 4                 /* dns, connect, tls, ttfb */

/* Per check and location: latency and the newest host resources. */
struct metrics_loc {
    char name[NINES_ID_LEN];
    uint64_t bucket[METRICS_BUCKETS];
    uint64_t count;
    double sum_s;
    uint64_t results;                    /* every outcome */
    struct capacity_sample *cap;         /* malloc'd; the newest host result's resources */
    size_t ncap;
};

/* Per check, kept in memory since the collector started (or was reloaded). */
struct metrics_check {
    uint64_t bucket[METRICS_BUCKETS];    /* not cumulative; rendered cumulative */
    uint64_t count;
    double sum_s;
    double cert_days;                    /* from the newest result's facts */
    int has_cert;
    uint64_t results[4];                 /* by outcome */
    double phase_sum_s[METRICS_PHASES];  /* ok results with the phase measured */
    uint64_t phase_count[METRICS_PHASES];
    int code[METRICS_MAX_CODES];         /* HTTP statuses seen, with their counts */
    uint64_t code_n[METRICS_MAX_CODES];
    size_t ncodes;
    uint64_t code_other;                 /* statuses past the first METRICS_MAX_CODES */
    struct metrics_loc *loc;             /* malloc'd, up to METRICS_MAX_LOCATIONS */
    size_t nloc;
    uint64_t dropped;                    /* observations lost to the caps or to memory */
};

/* Counts result r into m (which starts zeroed). */
void metrics_observe(struct metrics_check *m, const struct nines_result *r);
/* Frees what m holds and zeroes it; m itself belongs to the caller. */
void metrics_check_clear(struct metrics_check *m);
/* The whole exposition (malloc'd), or NULL. */
char *metrics_render(struct collector *c);

#endif
