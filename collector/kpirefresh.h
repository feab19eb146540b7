/*
 * The current month's KPIs for /metrics: every collector.kpi_refresh (0 = off)
 * a child `nines kpi --month current --format json` (childrun.h) computes them
 * from Redis; the parsed rows are kept until the next success. A failed run
 * is logged and keeps the previous rows (their refresh time tells their age).
 */
#ifndef NINES_KPIREFRESH_H
#define NINES_KPIREFRESH_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

struct collector;
struct kpirefresh;

/* Starts the timer from the collector's configuration; NULL on no memory. */
struct kpirefresh *kpirefresh_new(uv_loop_t *loop, struct collector *c);
/* The configuration was reloaded: kpi_refresh may have changed. */
void kpirefresh_reload(struct kpirefresh *k);
/* The rows array of the newest successful run (borrowed until the next run),
 * with its wall-clock time; NULL before the first. */
const json_t *kpirefresh_rows(const struct kpirefresh *k, int64_t *refreshed_ms);
/* Stops the timer and a running child; k frees itself once both are closed.
 * NULL is a no-op. */
void kpirefresh_close(struct kpirefresh *k);

#endif
