/*
 * Alert rules, routing and escalation: conditions become notifications,
 * which routes send (grouped) to receivers through the durable outbox.
 *
 * A condition has a stable name ("what": check_down/web, cert_expiry/web,
 * burn/shop/0 ...) and, while it fires, one active alert with the key its
 * notifications carry (what@start). Active alerts live in Redis
 * (nines:alerts:active) with where they were sent, repeats, escalation
 * steps taken, acknowledgement and what holds them back (a dependency that
 * is down, a maintenance window, a silence); a held alert is routed once the
 * hold lifts and it still fires.
 *
 * Every notification is written to nines:alerts:pending before it reaches
 * the outbox (inside the caller's MULTI when there is one) and removed once
 * the outbox holds it, so a crash in between sends it after the restart.
 */
#ifndef NINES_ALERT_H
#define NINES_ALERT_H

#include <stdint.h>

#include <hiredis/async.h>
#include <jansson.h>

#include "collector.h"
#include "notify.h"

#define ALERT_KEY_ACTIVE "nines:alerts:active"    /* what -> JSON */
#define ALERT_KEY_PENDING "nines:alerts:pending"  /* KEY|STATE[|TAG] -> JSON */
#define ALERT_KEY_COMMANDS "nines:commands"       /* list of JSON commands (CLI, API) */

struct outbox;
struct alerter;

/* Receivers' secrets are read now (env or file); errors are logged and that
 * receiver skipped. */
struct alerter *alerter_new(struct collector *c, struct outbox *ob);
void alerter_reload(struct alerter *a);
void alerter_free(struct alerter *a);

/* One state event of check index i (incidents, degraded, silent probes). */
void alerter_event(struct alerter *a, redisAsyncContext *ac, size_t i,
                   const struct state_event *e, int64_t now_ms);
/* A condition fires with n (n->key, labels, summary set by the caller;
 * ignored when it already fires with that key) or clears (ignored when it
 * does not fire). ac: the caller's MULTI, or NULL for a transaction of our
 * own. */
void alerter_fire(struct alerter *a, redisAsyncContext *ac, const char *what,
                  const struct notification *n, int64_t now_ms);
void alerter_clear(struct alerter *a, redisAsyncContext *ac, const char *what, int64_t end_ms,
                   int64_t now_ms);
int alerter_firing(const struct alerter *a, const char *what);

/* After a restart: the active alerts (HGETALL reply of nines:alerts:active),
 * then the pending notifications (of nines:alerts:pending). */
void alerter_restore_active(struct alerter *a, const redisReply *r);
void alerter_restore(struct alerter *a, const redisReply *r, int64_t now_ms);

/* Repeats, escalations, holds that lifted, silences, commands; groups whose
 * wait is over. Every second. */
void alerter_tick(struct alerter *a, int64_t now_ms);
/* Sends every waiting group now: before a reload frees the routes' config. */
void alerter_flush(struct alerter *a, int64_t now_ms);

/* Acknowledges (stops repeats and escalation, tells the receivers) or
 * resolves by hand the alerts named by target: an incident id, an alert key
 * or a condition. Returns how many alerts it touched. */
int alerter_ack(struct alerter *a, const char *target, const char *by, int64_t now_ms);
int alerter_resolve(struct alerter *a, const char *target, const char *by, int64_t now_ms);

/* {"alerts": [...], "silences": [...]} for the API and CLI (new reference). */
json_t *alerter_json(const struct alerter *a);
/* Commands of nines:commands other than ack, resolve and silences (drills)
 * go to hook, with the command's JSON object. */
typedef void alert_command_cb(const char *op, json_t *cmd, void *arg);
void alerter_set_command_hook(struct alerter *a, alert_command_cb *hook, void *arg);
/* Reloads the silences from Redis (after a change). */
void alerter_silences_changed(struct alerter *a);

/* Labels of a notification, for matching: check service customer team
 * severity rule location. NULL for an unknown label. */
const char *alert_label(const struct notification *n, const char *name);
/* The receiver's webhook secret for PagerDuty's V3 webhooks (two-way), or
 * NULL when it has none. */
const char *alerter_pagerduty_secret(const struct alerter *a, const char *receiver);

#endif
