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

/*
 * The store's scratch: the command and state-document buffers it writes
 * into (kept between calls), and the latency counts of the batch being
 * written, summed per (check, day, bucket) so that each becomes one
 * HINCRBY. One per collector; the functions below take it.
 */
struct store;
struct store *store_new(void);
void store_free(struct store *st);

/*
 * Counts an ok result's latency into its check's histogram of the day
 * (nines:latency:CHECK:YYYYMMDD, field = bucket). Counts are held in st
 * until store_latency_flush, which the caller runs inside the same MULTI as
 * the results' acknowledgement (a count is then applied exactly once with
 * it). check must stay valid until the flush. The key's expiry is set with
 * the first count of each day only: *expiry_day (the check's, NULL to always
 * set it) remembers the UTC day it was set for. The caller resets it (to -1)
 * whenever a transaction may have been lost, so an expiry is never skipped
 * for a key whose EXPIRE did not land.
 */
void store_latency(struct store *st, redisAsyncContext *ac, const char *check,
                   const struct nines_result *r, int64_t *expiry_day);
/* Queues one HINCRBY per (check, day, bucket) counted since the last flush
 * (and the EXPIREs due), and forgets them. */
void store_latency_flush(struct store *st, redisAsyncContext *ac);
/* "nines:latency:CHECK:20261128" for the UTC day holding ms. */
void store_latency_key(const char *check, int64_t ms, char *out, size_t len);

/* "api@1700000000000": stable, so replays write the same incident. */
void store_incident_id(const char *check, int64_t start_ms, char *out, size_t len);
/*
 * What store_state last queued for one check's hash, so that it sends only
 * the fields that changed since (the doc always). Zero it whenever a
 * transaction may have been lost or the state is reloaded from Redis: the
 * next write then sends every field.
 */
struct store_written {
    int valid;
    enum check_state_kind state;
    int last_code;
    enum nines_outcome last_outcome;
    int64_t since_ms, last_ms, last_total_us, last_error_ms;
    uint64_t results;
    char last_location[NINES_ID_LEN];
    char last_error_reason[NINES_REASON_LEN];
    char last_error_message[NINES_MESSAGE_LEN];
};

/*
 * HSET nines:state:<id> with the fields `nines status` reads and the doc:
 * every field when w is NULL or not valid, else those that differ from *w;
 * *w is then updated to what was queued.
 */
int store_state(struct store *st, redisAsyncContext *ac, const struct check_state *s,
                struct store_written *w);
/* The Redis side of each event, and one log line per event. An opening
 * incident gets detected_ms = now_ms (the collector's clock when it confirmed
 * the check down; HSETNX, so a replay keeps the first). */
void store_events(redisAsyncContext *ac, const struct check_state *s,
                  const struct state_events *ev, int64_t now_ms);

#endif
