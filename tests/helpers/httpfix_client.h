/*
 * Start, steer and stop the httpfix fixture server (tests/fixtures/httpfix.c), plus a
 * tiny blocking HTTP/1.1 GET for talking to it (or to any loopback server).
 */
#ifndef NINES_TEST_HTTPFIX_CLIENT_H
#define NINES_TEST_HTTPFIX_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

struct httpfix {
    pid_t pid;          /* 0 when not running */
    int port;           /* on 127.0.0.1 */
    char dir[256];      /* temp dir with the port file and httpfix.log */
    char base_url[80];  /* "http://127.0.0.1:PORT", no trailing slash */
};

/*
 * Spawns NINES_FIXTURE_DIR/httpfix with a port file in a new temp dir (its log is
 * DIR/httpfix.log) and waits up to 5 s for the port. Returns 0, or -1 with nothing
 * left behind and *f zeroed.
 */
int httpfix_start(struct httpfix *f);

/*
 * httpfix_start listening on bind:port instead of 127.0.0.1:0 (bind NULL means
 * 127.0.0.1, port 0 lets the kernel choose). base_url then names bind (IPv6 in
 * brackets). The control helpers below (set_mode, hits) talk to 127.0.0.1 only.
 */
int httpfix_start_at(struct httpfix *f, const char *bind, int port);

/*
 * Replaces the server's mode with query, e.g. "status=500", "hang=1",
 * "delay_ms=300&status=503"; parameters left out take their defaults (status 200, no
 * hang, no delay), so "status=200" resets everything. Returns 0 once the server
 * acknowledged it with a 200, else -1.
 */
int httpfix_set_mode(struct httpfix *f, const char *query);

/* Number of ordinary (non-/__fixture) requests the server has received, or -1. */
long httpfix_hits(struct httpfix *f);

/*
 * Stops the server (SIGTERM, up to 2 s, then SIGKILL), removes the dir and zeroes *f.
 * Safe on a stopped or zeroed fixture.
 */
void httpfix_stop(struct httpfix *f);

/*
 * Sends "GET path HTTP/1.1" with "Connection: close" to 127.0.0.1:port and reads the
 * raw response until the server closes. Up to outlen - 1 bytes are kept in out
 * (NUL-terminated; the rest is counted and dropped). Returns the number of bytes
 * received, -1 if connecting or sending failed, or -2 if timeout_ms passed before the
 * server closed (out then holds what arrived so far).
 */
int httpfix_get(int port, const char *path, char *out, size_t outlen, int timeout_ms);

/* Status code of a raw response ("HTTP/1.1 302 Found..."), or -1 if malformed. */
int httpfix_response_status(const char *resp);

/* Pointer to the body of a raw response (after the blank line), or NULL if none. */
const char *httpfix_response_body(const char *resp);

#endif
