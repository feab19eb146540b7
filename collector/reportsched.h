/*
 * Monthly reports on schedule: every 10 s, each customer with contacts
 * whose local time is past its report_day at report_hour gets last month's
 * report generated, stored and emailed by a child `nines report --send`
 * (next to nines-collector), one at a time so that the collector's loop never
 * waits on it. The child records the outcome in nines:report:CUSTOMER:MONTH
 * (status, attempts, last_error, sha256, sent_ms); a failure is retried after
 * 15 s, doubling up to 1 h (next_ms in the same hash). Nothing is scheduled
 * without an email receiver in the configuration.
 */
#ifndef NINES_REPORTSCHED_H
#define NINES_REPORTSCHED_H

#include <stdint.h>

#include <uv.h>

#include "collector.h"
#include "tz.h"

struct reportsched;

struct reportsched *reportsched_new(uv_loop_t *loop, struct collector *c);
void reportsched_tick(struct reportsched *s, int64_t now_ms);
/* Stops a run in flight (SIGTERM) and frees s once its handle closed. */
void reportsched_close(struct reportsched *s, void (*closed)(void *), void *arg);

/* Whether the report for the month before now's (local) month is due at
 * now_ms: local time past report_day at report_hour:00. The month it is for
 * goes to *year, *month. */
int reportsched_due(const struct nines_tz *tz, int report_day, int report_hour, int64_t now_ms,
                    int *year, int *month);
/* The wait after the attempts-th failure: 15 s doubling, at most 1 h. */
int64_t reportsched_backoff_ms(int attempts);

#endif
