/*
 * The common part of an end-to-end test's world: a private temp dir, a
 * redis-server, a nines.yaml in the dir, a collector (and maybe a probe)
 * started from it, and the API's address the collector publishes in
 * DIR/data/api.addr. A test embeds struct e2eworld in its own world and adds
 * its fixtures (HTTP, webhook, Prometheus) beside it.
 *
 * Functions that set up assert (Criterion) on what must not fail; the others
 * return results for the test to assert on.
 */
#ifndef NINES_TEST_E2EWORLD_H
#define NINES_TEST_E2EWORLD_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "redis_fixture.h"

struct e2eworld {
    struct redis_fixture redis;
    char dir[256];           /* "/tmp/nines-test-XXXXXX" */
    char cfg[300];           /* dir + "/nines.yaml" */
    char base[128];          /* "http://127.0.0.1:PORT" from api.addr; "" until read */
    pid_t collector, probe;  /* 0 when not started */
    int collector_stop_ms;   /* how long e2eworld_close gives it after SIGTERM; 0: 5000 */
};

/* "sha256:" and the hex SHA-256 of token: how api.tokens stores a token. */
void e2eworld_token_hash(const char *token, char out[72]);

/* Zeroes w, makes its dir, starts redis-server (socket only), names cfg. */
void e2eworld_open(struct e2eworld *w);
/* Writes yaml to w->cfg. */
void e2eworld_config(struct e2eworld *w, const char *yaml);
/*
 * Starts nines-collector -c w->cfg, its output in DIR/log_name, with env_extra
 * (NULL-terminated "KEY=VALUE" list, or NULL) added to its environment.
 * Returns the pid (also in w->collector), or -1.
 */
pid_t e2eworld_collector(struct e2eworld *w, const char *log_name,
                         const char *const env_extra[]);
/* Starts the probe "p1" at location "local" (poll 200 ms) on w's Redis, its
 * output in DIR/probe.log. Returns the pid (also in w->probe), or -1. */
pid_t e2eworld_probe(struct e2eworld *w);

/* The first line of DATA_DIR/api.addr into base: 0, or -1 while it is missing. */
int e2eworld_read_api_addr(const char *data_dir, char *base, size_t len);
/* Waits up to timeout_ms for DIR/data/api.addr (a collector started without
 * an e2eworld) and reads its first line into base: 0, or -1. */
int e2eworld_wait_api_addr(const char *dir, char *base, size_t len, int timeout_ms);
/* A test_wait_until condition (arg: struct e2eworld *): 1 once DIR/data/api.addr
 * could be read into w->base. */
int e2eworld_api_ready(void *arg);
/* Waits up to timeout_ms for the collector's API address: 0, or -1. */
int e2eworld_wait_api(struct e2eworld *w, int timeout_ms);
/* Waits up to timeout_ms until the collector has published its catalogue to
 * w's Redis: its command connection is up, so API calls that write to Redis
 * no longer answer 503 (the API listens before Redis is reached). 0, or -1. */
int e2eworld_wait_published(struct e2eworld *w, int timeout_ms);

/*
 * method on w->base + path with token (NULL: none) and body json (NULL: none),
 * as http_request: the HTTP status or -1; the response body into out.
 */
int e2eworld_request(const struct e2eworld *w, const char *method, const char *path,
                     const char *token, const char *json, char *out, size_t outlen);

/*
 * Runs a command (a nines binary as NINES_BIN_DIR "/nines", or a tool found in PATH)
 * to completion, as proc_run_full: env_extra added to its environment (NULL: none), its
 * stdout into out and its stderr into err, each NUL-terminated and cut to its size (NULL:
 * discarded). Asserts that it started and exited by itself within timeout_ms, so a command
 * that hangs fails the test here rather than later as a wrong exit code. Returns the exit
 * code (128 + N if signal N ended it).
 */
int e2e_run(const char *const argv[], const char *const env_extra[], char *out, size_t outlen,
            char *err, size_t errlen, int timeout_ms);

/* A Redis command (printf-like, hiredis formats) that must succeed (asserts). */
void e2e_redis_do(redisContext *c, const char *fmt, ...);

/* A delivered check_down notification of incident inc, as the outbox stores
 * it: receiver "pager", created at created (ms), delivered lat ms later. */
void e2e_notification_delivered(redisContext *c, const char *inc, int64_t created, int64_t lat);

/* Stops the probe (3 s) and the collector (collector_stop_ms), then redis-server, and removes
 * the dir unless NINES_TEST_KEEP is set. Safe on parts never started. */
void e2eworld_close(struct e2eworld *w);

#endif
