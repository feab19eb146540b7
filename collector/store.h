/*
 * How the collector's state reaches Redis: the commands that store a
 * check's state and the effects of its events (incidents, gaps, silent
 * locations). They are queued on the caller's connection, inside the
 * caller's MULTI, so they land together with the acknowledgement.
 */
#ifndef NINES_STORE_H
#define NINES_STORE_H

#include <hiredis/async.h>

#include "state.h"

#define STORE_KEY_INCIDENT "nines:incident:"          /* + incident id: hash */
#define STORE_KEY_INCIDENTS "nines:incidents"          /* zset id by start */
#define STORE_KEY_CHECK_INCIDENTS "nines:incidents:check:"   /* + check: zset */
#define STORE_KEY_OPEN_INCIDENTS "nines:incidents:open"      /* set */
#define STORE_KEY_GAPS "nines:gaps:"                   /* + check: zset "start-end" */
#define STORE_KEY_DOWN "nines:down:"   /* + check: zset "start-end", end 0 while open */
#define STORE_KEY_SILENT "nines:silent"                /* hash "check/location" → ms */

#define STORE_KEY_LATENCY "nines:latency:"  /* + check:YYYYMMDD (UTC): hash bucket → count */
#define STORE_LATENCY_TTL_S (400 * 86400)     /* a year of monthly reports, and then some */

/* Counts an ok result's latency into its check's histogram of the day. */
void store_latency(redisAsyncContext *ac, const struct nines_result *r);
/* "nines:latency:CHECK:20261128" for the UTC day holding ms. */
void store_latency_key(const char *check, int64_t ms, char *out, size_t len);

/* "api@1700000000000": stable, so replays write the same incident. */
void store_incident_id(const char *check, int64_t start_ms, char *out, size_t len);
/* HSET nines:state:<id> with the fields `nines status` reads and the doc. */
int store_state(redisAsyncContext *ac, const struct check_state *s);
/* The Redis side of each event, and one log line per event. An opening
 * incident gets detected_ms = now_ms (the collector's clock when it confirmed
 * the check down; HSETNX, so a replay keeps the first). */
void store_events(redisAsyncContext *ac, const struct check_state *s,
                  const struct state_events *ev, int64_t now_ms);

#endif
