/*
 * The monthly report's figures, computed from what Redis stores: down
 * intervals and no-data gaps per check (nines:down:, nines:gaps:), incident
 * hashes, maintenance windows (configuration + nines:maintenance) and the
 * daily latency histograms. Never from raw results: memory is bounded by the
 * number of incidents, gaps and windows, not by result history.
 *
 * Rules (the report footer and docs/report-schema.md say the same):
 *   - the month is the calendar month in the customer's timezone; the SLA
 *     is the customer's FIRST SLA (a customer with several gets one report
 *     per SLA only through report_compute_sla);
 *   - with business hours, only local [from, to) on the chosen weekdays
 *     count: every figure is the sum of uptime_compute over the business
 *     intervals (exact integers, no rounding);
 *   - allowed downtime = floor((100 − target) / 100 × eligible), with the
 *     target resolved to 1e-6 percentage points; met = downtime <= allowed;
 *   - a service's credit is the largest credit_pct of the tiers whose
 *     below_pct its availability is under; overall's uses the worst
 *     (lowest) availability among the services and overall;
 *   - overall: down while any service is down (outside its maintenance),
 *     no data while no service has data, maintenance while all are in it;
 *   - latency: the UTC day histogram nines:latency:CHECK:YYYYMMDD belongs
 *     to the local day (and month) that holds its UTC midnight; every
 *     UTC day belongs to exactly one local day of a zone whose days are
 *     23-25 h long, so months never share a histogram.
 */
#ifndef NINES_REPORT_COMPUTE_H
#define NINES_REPORT_COMPUTE_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "nines/config.h"
#include "nines/err.h"
#include "report.h"

/*
 * Fills *out for customer's month year-month (the month must have begun at
 * now) and hashes it (report_hash). On success the caller releases the
 * arrays with report_compute_free. Errors: NINES_ENOTFOUND (unknown
 * customer), NINES_EINVAL (bad month, month not begun, no SLA, unknown
 * service, bad timezone), NINES_EIO/NINES_EPROTO (Redis), NINES_ENOMEM;
 * *out is then empty.
 */
int report_compute(redisContext *rc, const struct nines_config *cfg, const char *customer,
                   int year, int month, struct report *out, struct nines_err *err);
/* The same for the customer's sla_index-th SLA, as of now_ms. */
int report_compute_sla(redisContext *rc, const struct nines_config *cfg, const char *customer,
                       size_t sla_index, int year, int month, int64_t now_ms,
                       struct report *out, struct nines_err *err);
/* Frees what report_compute allocated; *r is zeroed. NULL is a no-op. */
void report_compute_free(struct report *r);

#endif
