/*
 * Canary checks for DR drills and replication lag: every run writes an
 * increasing sequence number and its write time into the protected store,
 * then reads the newest value back.
 *
 * redis_canary (canary_redis.c), over its own RESP client (resp.c):
 *   on the primary: [AUTH] [SELECT db] GET key, SET key "SEQ:TS_MS", GET key;
 *   then on the replica, if one is given: [AUTH] [SELECT db] GET key.
 *   seq = max(value found, newest seq this env saw acknowledged) + 1, so the
 *   sequence continues across probe restarts and between probes.
 * http_canary (canary_http.c), on curl_uv: the first run on an env GETs
 *   read_url to continue the sequence (404 = start at 1); every run sends
 *   method write_url with the body template ({seq}, {ts} replaced), then GETs
 *   read_url (default write_url) and extracts seq and ts (JSON paths or regexes).
 *   The read side is read_*: lost or lagging writes show as read_seq < acked_seq.
 *
 * Result facts (compact JSON; a field that could not be measured is left out):
 *   {"canary":{"acked_seq":N,"acked_ts":MS,"read_seq":N,"read_ts":MS,
 *              "replica_seq":N,"replica_ts":MS,"lag_ms":MS}}
 *   acked_*    the newest write acknowledged: this run's if it succeeded, else
 *              the newest an earlier run on this env had acknowledged
 *   read_*     the newest value read back from the primary / read_url
 *   replica_*  the newest value read from the replica (redis only)
 *   lag_ms     start_ms - replica_ts (or - read_ts without a replica), never
 *              below 0 (the side read holds this run's own write: 0); left
 *              out when the replica holds no canary yet (not a failure)
 * The read side is read even when the write failed (a dead primary still
 * lets the replica say what survived).
 *
 * Reasons: canary_write_failed, canary_write_timeout (no acknowledgement in
 * time), canary_auth_failed (the password was refused or is unavailable),
 * canary_read_failed, canary_read_timeout, cancelled. OK means the write was
 * acknowledged and every read worked.
 */
#ifndef NINES_CHECKS_CANARY_H
#define NINES_CHECKS_CANARY_H

#include <stdarg.h>
#include <stdint.h>

#include "check.h"

#define CANARY_KEY_PREFIX "nines:canary:"
#define CANARY_REMEMBER_MAX 1024 /* checks whose last acknowledged write an env keeps */
#define CANARY_SECRET_MAX 256

/* Starts a redis_canary check as check_start does. NINES_EINVAL for a bad option. */
int check_redis_canary_start(struct check_env *env, const struct nines_check *c,
                             check_done_cb *done, void *arg);
/* Starts an http_canary check as check_start does. NINES_EINVAL for a bad option. */
int check_http_canary_start(struct check_env *env, const struct nines_check *c,
                            check_done_cb *done, void *arg);

/* ---- shared by the two engines (canary.c) ---------------------------------- */

/* What one run measured; -1 = not measured. */
struct canary_facts {
    int64_t found_seq, found_ts;   /* what the store held before this run's write
                                    * (0, 0: nothing) -- what survived a failover */
    int64_t acked_seq, acked_ts;
    int64_t read_seq, read_ts;
    int64_t replica_seq, replica_ts;
    int replica_given; /* a replica holding nothing leaves lag unmeasured */
};

/* A run in flight, on its driver's list so that check_env_close reaches it. */
struct canary_run {
    struct canary_run *prev, *next;
    struct canary_driver *driver;
    void (*cancel)(struct canary_run *run);
};

/* The env's canary driver (created on first use): runs in flight, acks remembered. */
struct canary_driver *canary_driver_get(struct check_env *env);
void canary_driver_join(struct canary_driver *d, struct canary_run *run);
/* Leaves the list; the driver is freed here if it was closed and this was the last run. */
void canary_driver_leave(struct canary_run *run);
/* The newest acknowledged write remembered for id: 0, or -1 when none. */
int canary_recall(struct canary_driver *d, const char *id, int64_t *seq, int64_t *ts);
void canary_remember(struct canary_driver *d, const char *id, int64_t seq, int64_t ts);

void canary_facts_init(struct canary_facts *f);
/*
 * Records a failure in r: the first (*failed still 0) decides the outcome and
 * the reason and sets *failed; later ones are appended to the message after
 * "; " while room is left.
 */
void canary_failv(struct nines_result *r, int *failed, enum nines_outcome outcome,
                  const char *reason, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
/* Writes the facts (and nothing else) into r->facts. */
void canary_facts_write(const struct canary_facts *f, struct nines_result *r);
/* Parses "SEQ:TS" (both decimal, >= 0): 0, or -1. */
int canary_value_parse(const char *s, size_t len, int64_t *seq, int64_t *ts);
/*
 * The password from secret_env or secret_file (first line) into buf, read by
 * nines_secret_read (a secret of size bytes or more is refused): 0, 1 when
 * neither is set, or -1 with why filled ("secret unavailable: " and what,
 * naming the variable or file).
 */
int canary_secret_read(const char *env_name, const char *file, char *buf, size_t size,
                       char *why, size_t why_len);

#endif
