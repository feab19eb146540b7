/*
 * Disaster-recovery drills: a drill of a service starts at T0 (CLI, API),
 * watches the service's results and state changes, and ends when stopped,
 * once the service has been UP for drill_stable after recovery (or after
 * T0 when nothing failed), or at drill_timeout. Measured:
 *
 *   outage start  first failing result of the service's checks at or after T0
 *   detected      the first incident of those checks opening (confirmation)
 *   recovered     the service back UP (the incident's back-dated end); for a
 *                 failure never confirmed, the first good result after it
 *   RTO           recovered − outage start (0 when nothing failed)
 *   RPO           from canary results (facts "canary"): the newest write
 *                 acknowledged before the outage minus the newest write found
 *                 after recovery (found_* facts: what the store held before
 *                 the canary's next write); 0 when nothing was lost
 *
 * A drill passes when each objective the service has (rto, rpo) is met.
 * Drills live in Redis: nines:drill:ID (JSON), nines:drills (zset by T0),
 * nines:drills:running (hash id -> JSON), nines:drills:passed (hash service
 * -> T0 of the last passed drill).
 *
 * Rules: drill_failed, drill_overdue (no passed drill within drill_every),
 * rpo_at_risk (canary lag over the RPO outside drills), canary_failing.
 */
#ifndef NINES_DRILL_H
#define NINES_DRILL_H

#include <stdint.h>

#include <hiredis/async.h>
#include <jansson.h>

#include "collector.h"
#include "nines/result.h"
#include "state.h"

#define DRILL_KEY "nines:drill:"
#define DRILL_KEY_ALL "nines:drills"
#define DRILL_KEY_RUNNING "nines:drills:running"
#define DRILL_KEY_PASSED "nines:drills:passed"
#define DRILL_KEY_LATEST "nines:drills:latest"    /* service -> newest ended drill */

struct alerter;
struct drills;

struct drills *drills_new(struct collector *c, struct alerter *a);
void drills_free(struct drills *d);
/* After a result of check i was applied; ac is the ingest's MULTI. */
void drills_result(struct drills *d, redisAsyncContext *ac, size_t i,
                   const struct nines_result *r, int64_t now_ms);
/* A state event of check i (after the state changed). */
void drills_event(struct drills *d, redisAsyncContext *ac, size_t i,
                  const struct state_event *e, int64_t now_ms);
/* Every second: restores running drills once, ends drills that are due,
 * raises overdue drills. */
void drills_tick(struct drills *d, int64_t now_ms);

/* Starts a drill of service at t0_ms (id "SERVICE@T0"); 0, or NINES_EINVAL
 * (unknown service: err says so) / NINES_ESTATE (one runs already). */
int drills_start(struct drills *d, const char *service, const char *scenario,
                 int expect_outage, const char *by, int64_t t0_ms, char *id, size_t idlen,
                 struct nines_err *err);
/* Stops the running drill with this id or of this service: 0, or
 * NINES_ENOTFOUND. */
int drills_stop(struct drills *d, const char *target, const char *by, int64_t now_ms);
/* The running drills (new reference). */
json_t *drills_running_json(const struct drills *d);

/* For /metrics: service -> the newest ended drill's document; service -> T0
 * of the last passed drill; canary check -> its last replication lag (ms).
 * Borrowed; may be empty. */
const json_t *drills_latest(const struct drills *d);
const json_t *drills_passed(const struct drills *d);
const json_t *drills_lag(const struct drills *d);

/* A drill report as one self-contained HTML page (malloc'd). */
char *drill_report_html(const json_t *doc);

#endif
