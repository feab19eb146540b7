/*
 * The collector: publishes the catalogue, consumes results through the
 * consumer group, keeps each check's state in memory written through to
 * Redis, and acknowledges an entry only in the same transaction (MULTI/EXEC)
 * that stores its effect.
 */
#ifndef NINES_COLLECTOR_H
#define NINES_COLLECTOR_H

#include <hiredis/async.h>
#include <uv.h>

#include "nines/config.h"
#include "nines/err.h"
#include "metrics.h"
#include "state.h"

struct collector;
struct alerter;
struct drills;
struct outbox;

/* Takes cfg (freed by the collector). */
struct collector *collector_new(uv_loop_t *loop, struct nines_config *cfg,
                                struct nines_err *err);
/* Starts the embedded Redis when no address is configured, then connects. */
int collector_start(struct collector *c, struct nines_err *err);
/* Swaps in a new, already validated configuration (taken) and republishes. */
void collector_reload(struct collector *c, struct nines_config *cfg);
/* Finishes the batch in progress, closes connections, stops the embedded
 * Redis; the loop ends when all of it is done. */
void collector_stop(struct collector *c);
void collector_free(struct collector *c);

/*
 * What the API and /metrics read. Pointers are borrowed until the next
 * reload: an asynchronous handler looks a check up again by id.
 */
const struct nines_config *collector_config(const struct collector *c);
size_t collector_check_count(const struct collector *c);
const struct nines_check *collector_check_spec(const struct collector *c, size_t i);
const struct check_state *collector_check_state(const struct collector *c, size_t i);
const struct metrics_check *collector_check_metrics(const struct collector *c, size_t i);
/* A service's state from its critical checks: any (or all) down → DOWN. */
enum check_state_kind collector_service_state(const struct collector *c,
                                              const struct nines_service_cfg *svc);
/* Index of check id, or -1. */
long collector_check_index(const struct collector *c, const char *id);
/* The state connection when Redis is reachable, else NULL. */
redisAsyncContext *collector_redis(struct collector *c);
/* The alerter and the outbox; NULL when no receivers are configured. */
struct alerter *collector_alerter(struct collector *c);
struct outbox *collector_outbox(struct collector *c);
struct drills *collector_drills(struct collector *c);
/* The month's KPIs for /metrics (kpirefresh.h); NULL before start, after stop. */
struct kpirefresh;
const struct kpirefresh *collector_kpis(const struct collector *c);
struct skew;
const struct skew *collector_skew(const struct collector *c);
uv_loop_t *collector_loop(struct collector *c);
/* Appends a result to the results stream, as a probe would (push pings). */
int collector_push_result(struct collector *c, const struct nines_result *r);

/* A service's availability over the last 30 days (refreshed each minute),
 * or NULL before the first computation. */
struct collector_service_sla {
    int valid;
    double availability;       /* 0..1 */
    double target;             /* 0..1 */
    int64_t downtime_ms, eligible_ms;
    double budget_remaining;   /* 1 = untouched, 0 = spent, < 0 = overspent */
};
const struct collector_service_sla *collector_service_sla(const struct collector *c, size_t i);

/* A customer's month to date (its calendar month, in its time zone) of one
 * of its services, by index in cfg->customers and cfg->services (refreshed
 * with the 30-day figures), or NULL when not computed or not its service. */
struct collector_customer_sla {
    int valid;
    double availability;       /* 0..1 */
    int64_t downtime_ms, eligible_ms;
};
const struct collector_customer_sla *collector_customer_sla(const struct collector *c,
                                                            size_t customer, size_t service);

struct nines_tzcache *collector_tzcache(struct collector *c);
struct sla_maint;
/* Adds (or replaces, by id) a stored maintenance window in memory; takes m. */
int collector_maint_put(struct collector *c, struct sla_maint *m);
int collector_maint_remove(struct collector *c, const char *id);

struct collector_stats {
    uint64_t applied, invalid, duplicates;
    int64_t last_result_ms;     /* start of the newest result applied */
    int64_t last_applied_ms;    /* when it was applied (wall clock) */
    int redis_up;
    int caught_up;
};
void collector_get_stats(const struct collector *c, struct collector_stats *st);

#endif
