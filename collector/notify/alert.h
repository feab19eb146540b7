/*
 * Alert rules and routing: state events become notifications, which routes
 * send (grouped) to receivers through the durable outbox.
 *
 * Rules so far: check_down / recovered (incidents, including missed pushes),
 * degraded, probe_silent. A check whose dependency is down, or that is in
 * maintenance, records its incident but pages no one.
 */
#ifndef NINES_ALERT_H
#define NINES_ALERT_H

#include <stdint.h>

#include <hiredis/async.h>

#include "collector.h"
#include "notify.h"

struct outbox;
struct alerter;

/* Receivers' secrets are read now (env or file); errors are logged and that
 * receiver skipped. */
struct alerter *alerter_new(struct collector *c, struct outbox *ob);
void alerter_reload(struct alerter *a);
/* One state event of check index i. The notification it makes is written to
 * Redis on ac, inside the caller's MULTI with the state change, so that a
 * crash before it reaches the outbox loses nothing (NULL: memory only). */
void alerter_event(struct alerter *a, redisAsyncContext *ac, size_t i,
                   const struct state_event *e, int64_t now_ms);
/* Routes again the notifications found pending in Redis (HGETALL reply of
 * nines:alerts:pending) after a restart. */
void alerter_restore(struct alerter *a, const redisReply *r, int64_t now_ms);
/* Sends groups whose wait is over. */
void alerter_tick(struct alerter *a, int64_t now_ms);
/* Sends every waiting group now: before a reload frees the routes' config. */
void alerter_flush(struct alerter *a, int64_t now_ms);
void alerter_free(struct alerter *a);

/* Labels of a notification, for matching: check service customer team
 * severity rule location. NULL for an unknown label. */
const char *alert_label(const struct notification *n, const char *name);

#endif
