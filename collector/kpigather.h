/*
 * The KPI rows (kpi.h) gathered from what Redis stores, over a synchronous
 * hiredis connection (the CLI's, or a worker's; never the collector's loop):
 *
 *   incidents      the report's incidents that started in its month, their
 *                  hash (nines:incident:ID: start_ms, end_ms, detected_ms,
 *                  ack_ms) and their check_down notifications (outbox items
 *                  RECEIVER/check_down/ID/...); detection is detected_ms when
 *                  the collector stored it, else (incidents stored before it
 *                  did) the first notification's created_ms
 *   drills         nines:drills / nines:drill:ID of the service
 *   coverage       the report's per-check coverage (report.checks)
 *   forecasts      KPIGATHER_KEY_FORECASTS + CHECK, written by rules.c when a
 *                  capacity_forecast alert is raised
 *
 * A gatherer pools what it read (each incident once) so that team rows
 * (kpi.h) can be built from the same data after the service rows.
 */
#ifndef NINES_KPIGATHER_H
#define NINES_KPIGATHER_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdint.h>

#include "kpi.h"
#include "nines/config.h"
#include "nines/err.h"
#include "report.h"

/* Sorted set per check, score = raise time (ms), member
 * "RAISED_MS:EXHAUST_MS:LOCATION|RESOURCE"; the newest
 * KPIGATHER_FORECASTS_KEEP are kept. */
#define KPIGATHER_KEY_FORECASTS "nines:forecasts:"
#define KPIGATHER_FORECASTS_KEEP 1000

/* Optional callbacks of the evidence pack; documents are borrowed. A
 * non-zero return stops the gathering with that error. */
struct kpigather_hooks {
    /* once per incident: {"incident":{hash},"notifications":[...],"ack":{by,ms},
       "detected_ms":N,"first_notification_ms":N} */
    int (*incident)(void *arg, const char *id, json_t *doc);
    /* each ended drill of a row's service, whatever its T0 */
    int (*drill)(void *arg, const char *id, json_t *doc);
    void *arg;
};

struct kpigather;

/* hooks may be NULL; ack_target_ms <= 0 = the default. NULL on no memory. */
struct kpigather *kpigather_new(redisContext *rc, const struct nines_config *cfg,
                                int64_t ack_target_ms, const struct kpigather_hooks *hooks);
void kpigather_free(struct kpigather *g);

/* Appends one service row per service of the computed report r to t. */
int kpigather_report(struct kpigather *g, const struct report *r, struct kpi_table *t,
                     struct nines_err *err);

/* Appends one team row per team (or only `team`) owning a check of the
 * service rows in t, from what the gatherer pooled. month labels the rows. */
int kpigather_teams(struct kpigather *g, const struct kpi_table *svc_rows, const char *team,
                    const char *month, struct kpi_table *t, struct nines_err *err);

/*
 * The whole table of year-month: the service rows of every customer (or
 * only `customer`), then the team rows. With `team`, only the service rows
 * whose team list holds it and that team's row. now_ms bounds "current".
 * Errors as report_compute's (the customer and month are named).
 */
int kpigather_month(redisContext *rc, const struct nines_config *cfg, const char *customer,
                    const char *team, int year, int month, int64_t ack_target_ms,
                    struct kpi_table *t, struct nines_err *err);

/* 1 when the comma list has item. */
int kpigather_list_has(const char *list, const char *item);

#endif
