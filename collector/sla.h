/*
 * Uptime of checks and services over a window, from what Redis holds: each
 * check's down intervals (nines:down:CHECK), its no-data gaps
 * (nines:gaps:CHECK) and the maintenance windows (configuration plus those
 * added through the CLI or API, nines:maintenance). Fetching is
 * asynchronous; the arithmetic is uptime.c's.
 */
#ifndef NINES_SLA_H
#define NINES_SLA_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "intervals.h"
#include "maint.h"
#include "uptime.h"

#define SLA_KEY_MAINTENANCE "nines:maintenance"  /* hash id → JSON window */

/* A maintenance window with what it covers (checks, services; none = all). */
struct sla_maint {
    char id[NINES_ID_LEN];
    char reason[128];
    char **checks;
    size_t checks_count;
    char **services;
    size_t services_count;
    struct maint_window w;
    int from_config;
};

struct sla_query;
typedef void sla_done_cb(struct sla_query *q, int status, void *arg);

/* Fetches down intervals and gaps of the n checks meeting [from, to); done
 * runs once (status 0, or NINES_EIO when Redis failed). NULL when it could
 * not start (Redis down, no memory): done is then not called. */
struct sla_query *sla_fetch(struct collector *c, const char *const *checks, size_t n,
                            int64_t from_ms, int64_t to_ms, sla_done_cb *done, void *arg);
void sla_free(struct sla_query *q);
size_t sla_query_count(const struct sla_query *q);

/* Uptime of the i-th check of q over [from, to) (within the fetched range). */
int sla_check_uptime(struct collector *c, struct sla_query *q, size_t i, int64_t from_ms,
                     int64_t to_ms, struct uptime_result *out);
/* Uptime of svc; q must have been fetched for svc->checks, in order. */
int sla_service_uptime(struct collector *c, struct sla_query *q,
                       const struct nines_service_cfg *svc, int64_t from_ms, int64_t to_ms,
                       struct uptime_result *out);

/*
 * The pure pieces, shared with the report (collector/report/compute.c), which
 * reads Redis synchronously:
 *   sla_parse_interval: a "start-end" member of nines:down:/nines:gaps:
 *     (end 0 = still open: now_ms); 0 or NINES_EINVAL;
 *   sla_service_sets: a service's down and no-data sets from its n checks'
 *     (ids[i], down_net[i] = down outside the check's own maintenance,
 *     gaps[i]); down and nodata are overwritten; 0 or NINES_E*;
 *   sla_maint_covers_cfg: sla_maint_covers against a configuration;
 *   sla_maint_from_cfg: a configured window as sla_maint (0 or NINES_ENOMEM).
 */
int sla_parse_interval(const char *member, int64_t now_ms, int64_t *start_ms, int64_t *end_ms);
int sla_service_sets(const struct nines_service_cfg *svc, const char *const *ids,
                     const struct nines_ivset *down_net, const struct nines_ivset *gaps, size_t n,
                     struct nines_ivset *down, struct nines_ivset *nodata);
int sla_maint_covers_cfg(const struct nines_config *cfg, const struct sla_maint *m,
                         const char *check, const struct nines_service_cfg *svc);
int sla_maint_from_cfg(const struct nines_maint_cfg *mc, struct sla_maint *m);

/* The maintenance windows in force (configuration first, then stored ones). */
size_t sla_maint_count(const struct collector *c);
const struct sla_maint *sla_maint_at(const struct collector *c, size_t i);
/* Parses a stored window (JSON); 0 or NINES_EINVAL with err. */
int sla_maint_from_json(const char *json, size_t len, struct sla_maint *m, struct nines_err *err);
char *sla_maint_to_json(const struct sla_maint *m);
void sla_maint_clear(struct sla_maint *m);
/* The windows covering check at at_ms, as "id,id" in ids; returns how many. */
size_t sla_maint_active(struct collector *c, const char *check, int64_t at_ms, char *ids,
                        size_t len);
/* Whether the window covers the check or the service (NULL for neither). */
int sla_maint_covers(const struct collector *c, const struct sla_maint *m, const char *check,
                     const struct nines_service_cfg *svc);

#endif
