/*
 * The alert rules that are not state changes of a check:
 *
 *  - cert_expiry: a result warns that the certificate expires within the
 *    check's minimum days; clears once a TLS result comes without it.
 *  - capacity: a host result's resource is over its threshold; clears once a
 *    result from that host and location no longer lists it.
 *  - capacity_forecast: a least-squares trend over alerting.forecast_window
 *    reaches the resource's limit within alerting.forecast_horizon
 *    ("disk / on db1 full in ~19 h"); clears when the trend flattens or
 *    moves past 1.25 × the horizon. Samples are kept in Redis
 *    (nines:capacity:CHECK|LOCATION|RESOURCE, a sorted set by time) so that
 *    a restart keeps the trend.
 *  - burn_rate: a service's error-budget burn rate over both windows of a
 *    rule (alerting.burn_rates) exceeds its factor.
 *  - sla_breached: a customer SLA's month-to-date availability (calendar
 *    month in the customer's time zone) of one of its services is below its
 *    target.
 *
 * The windowed rules (burn rate, SLA) run every alerting.evaluate_every.
 */
#ifndef NINES_RULES_H
#define NINES_RULES_H

#include <stdint.h>

#include <hiredis/async.h>

#include "collector.h"
#include "nines/result.h"

#define RULES_KEY_CAPACITY "nines:capacity:"
#define RULES_KEY_SERIES "nines:capacity:series"

struct alerter;
struct rules;

struct rules *rules_new(struct collector *c, struct alerter *a);
void rules_free(struct rules *r);
/* After a result of check i was applied; ac is the ingest's MULTI. */
void rules_result(struct rules *r, redisAsyncContext *ac, size_t i,
                  const struct nines_result *res, int64_t now_ms);
/* Every second: loads stored series once, runs the windowed rules when due. */
void rules_tick(struct rules *r, int64_t now_ms);

#endif
