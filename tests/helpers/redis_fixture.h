/*
 * A real redis-server per test, in its own mkdtemp directory, reachable on a Unix
 * socket (always) and on 127.0.0.1:PORT (when asked). No persistence: no RDB, no AOF.
 * The server is a proc.c child, so it dies with the test even if the test crashes.
 */
#ifndef NINES_TEST_REDIS_FIXTURE_H
#define NINES_TEST_REDIS_FIXTURE_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "nines/result.h"

struct redis_fixture {
    char dir[256];      /* "/tmp/nines-test-XXXXXX"; holds redis.sock and redis.log */
    char sock[300];     /* dir + "/redis.sock" */
    int port;           /* TCP port on 127.0.0.1, or 0 when started without TCP */
    pid_t pid;          /* 0 while the server is not running */
    char url[400];      /* "unix://" + sock */
    char tcp_url[400];  /* "redis://127.0.0.1:PORT", or "" without TCP */
};

/*
 * Starts redis-server in a new temp dir (log in DIR/redis.log) and waits up to 5 s
 * for it to answer PING on the socket. with_tcp != 0 also listens on a free port of
 * 127.0.0.1 (retried with another port if that one was taken meanwhile). Returns 0,
 * or -1 with nothing left behind (no process, no dir) and *f zeroed.
 */
int redis_fixture_start(struct redis_fixture *f, int with_tcp);

/*
 * Kills the server with SIGKILL (a crash: nothing is saved) and reaps it. The dir,
 * socket path and port are kept for redis_fixture_restart. Returns 0, or -1 if no
 * server was running.
 */
int redis_fixture_kill9(struct redis_fixture *f);

/*
 * Starts the server again with the same dir, socket and TCP port (the data is gone)
 * and waits up to 5 s for PING. Fails (-1) if it is already running or cannot start,
 * for instance because another process took the TCP port meanwhile. Returns 0.
 */
int redis_fixture_restart(struct redis_fixture *f);

/*
 * Stops the server (SIGTERM, up to 2 s, then SIGKILL), removes the dir and zeroes *f.
 * Safe on a fixture that was already stopped, killed or never started (zeroed).
 */
void redis_fixture_stop(struct redis_fixture *f);

/*
 * A new synchronous hiredis connection over the Unix socket (1 s connect timeout), or
 * NULL if the server does not accept it. The caller releases it with redisFree().
 */
redisContext *redis_fixture_connect(const struct redis_fixture *f);

/*
 * Entries of results stream `stream` not yet applied by a collector: those
 * after its applied cursor (nines:applied:<stream>; all of them when it has
 * none), counted up to max. -1 when Redis cannot be asked. 0 means every
 * entry in the stream is applied and stored.
 */
long long redis_fixture_unapplied(const struct redis_fixture *f, const char *stream,
                                  long long max);

/*
 * Decodes one results-stream entry, given its field array as XRANGE and
 * XREAD return it ([f, v, ...]), with nines_wire_decode: whichever form the
 * entry is in. Returns 0, or NINES_E* with out reset.
 */
int redis_fixture_entry_result(const redisReply *fields, struct nines_result *out);

/* Returns 1 if the server answers PING with PONG on the socket right now, else 0. */
int redis_fixture_ping(const struct redis_fixture *f);

#endif
