/* /metrics in the Prometheus text format (documented in the README). */
#ifndef NINES_METRICS_H
#define NINES_METRICS_H

#include <stdint.h>

#include "nines/result.h"

struct collector;

/* Latency buckets (seconds) of nines_check_latency_seconds. */
#define METRICS_BUCKETS 12
extern const double metrics_bucket_le[METRICS_BUCKETS];

/* Per check, kept in memory since the collector started. */
struct metrics_check {
    uint64_t bucket[METRICS_BUCKETS];    /* not cumulative; rendered cumulative */
    uint64_t count;
    double sum_s;
    double cert_days;                    /* from the newest result's facts */
    int has_cert;
    uint64_t results[4];                 /* by outcome */
};

/* Counts result r into m. */
void metrics_observe(struct metrics_check *m, const struct nines_result *r);
/* The whole exposition (malloc'd), or NULL. */
char *metrics_render(struct collector *c);

#endif
