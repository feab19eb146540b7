/*
 * Start, steer and stop the hookfix webhook receiver (tests/fixtures/hookfix.c)
 * and read what it received.
 */
#ifndef NINES_TEST_HOOKFIX_CLIENT_H
#define NINES_TEST_HOOKFIX_CLIENT_H

#include <jansson.h>
#include <sys/types.h>

struct hookfix {
    pid_t pid;          /* 0 when not running */
    int port;           /* on 127.0.0.1 */
    char dir[256];      /* temp dir with the port file and hookfix.log */
    char base_url[80];  /* "http://127.0.0.1:PORT", no trailing slash */
};

/*
 * Spawns NINES_FIXTURE_DIR/hookfix (checking signatures with secret unless it is
 * NULL) and waits up to 5 s for its port. Returns 0, or -1 with nothing left
 * behind and *f zeroed.
 */
int hookfix_start(struct hookfix *f, const char *secret);

/* Replaces the mode, e.g. "status=500&count=3", "hang=1", "delay_ms=20". 0 or -1. */
int hookfix_set_mode(struct hookfix *f, const char *query);

struct hookfix_stats {
    long total;             /* delivery requests received */
    long accepted;          /* answered 2xx */
    long bad_signature;
    long active;            /* received, not yet answered */
    long max_concurrent;
    json_t *by_key;         /* Idempotency-Key -> accepted count; owned */
};

/* Reads the stats. 0, or -1 (st zeroed). Release with hookfix_stats_clear. */
int hookfix_get_stats(struct hookfix *f, struct hookfix_stats *st);
/* Accepted deliveries carrying key (0 when none). */
long hookfix_key_count(const struct hookfix_stats *st, const char *key);
void hookfix_stats_clear(struct hookfix_stats *st);

/* The last delivery request, raw (malloc'd, caller frees), or NULL. */
char *hookfix_last_request(struct hookfix *f);

/* Stops the server (SIGTERM, up to 2 s, then SIGKILL), removes the dir, zeroes *f. */
void hookfix_stop(struct hookfix *f);

#endif
