/*
 * The collector's side of the audit log (see nines/auditchain.h): operator
 * actions taken through the API, by PagerDuty, or by the collector itself
 * (reloads, silences expiring) are appended to the hash-chained stream.
 */
#ifndef NINES_AUDIT_H
#define NINES_AUDIT_H

#include "collector.h"

/*
 * Appends one entry through the collector's state connection, in call order,
 * without waiting. actor: a token name, a user or "collector"; source: api,
 * cli, collector, pagerduty; detail: short JSON or NULL. An entry that
 * cannot be written (bad field, Redis down) is logged as audit_lost, never
 * silently dropped.
 */
void audit_record(struct collector *c, const char *actor, const char *source,
                  const char *action, const char *target, const char *detail);

/*
 * What a reload changed, as compact JSON (malloc'd; NULL without memory):
 * {"checks":{"added":[..],"removed":[..],"changed":[..]},"sections":[..]}
 * with ids only: never a URL, header or secret. Lists are capped, with counts.
 */
char *audit_config_diff(const struct nines_config *was, const struct nines_config *now);

struct httpd_req;
/* An API action: actor is the request's token name ("anonymous" on an API
 * without tokens), source "api", detail {"ip":..,"by":..} (by may be NULL). */
void audit_api(struct collector *c, struct httpd_req *r, const char *action,
               const char *target, const char *by);

/* A reload: records config_reload by "collector" with the diff as detail. */
void audit_reload(struct collector *c, const struct nines_config *was,
                  const struct nines_config *now);

#endif
