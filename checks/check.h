/*
 * The check engines' shared surface: a check runs on a libuv loop and ends
 * with exactly one call of its done callback. No Redis, no globals.
 */
#ifndef NINES_CHECKS_CHECK_H
#define NINES_CHECKS_CHECK_H

#include <uv.h>

#include "nines/check.h"
#include "nines/result.h"

/* r is borrowed for the duration of the call: copy what you keep. */
typedef void check_done_cb(struct nines_result *r, void *arg);

struct curl_uv;

/* What the engines need from their host: the loop and shared drivers. */
/*
 * A driver an engine creates on first use and keeps for the env's lifetime
 * (a c-ares channel, an OpenSSL context, ...): close is called once by
 * check_env_close and must make the engine's checks in flight complete
 * ("cancelled") and release the driver from the loop, like curl_uv_close.
 */
struct check_driver {
    void *data;
    void (*close)(void *data);
};

enum { CHECK_DRIVER_DNS, CHECK_DRIVER_TCP, CHECK_DRIVER_ICMP, CHECK_DRIVER_HOST,
       CHECK_DRIVER_CANARY, CHECK_DRIVER_MAX };

struct check_env {
    uv_loop_t *loop;
    struct curl_uv *curl;
    struct check_driver driver[CHECK_DRIVER_MAX];   /* zeroed until first use */
    int closed;
    /*
     * 0 (the default): a TCP check without TLS and an HTTP check end their
     * connection with a reset (SO_LINGER 0) once the run is decided, so that
     * no TIME_WAIT is left on the probe's ports (at thousands of fresh
     * connections a second they run out, and the kernel's search for a free
     * port grows costly). 1: close with FIN as usual.
     */
    int graceful_close;
};

/*
 * Creates the drivers on loop. check_env_close closes them: checks still in
 * flight complete with outcome ERROR, reason "cancelled"; memory is released
 * in close callbacks, so run the loop afterwards until it has nothing left.
 */
int check_env_init(struct check_env *env, uv_loop_t *loop);
void check_env_close(struct check_env *env);

/*
 * Starts check c (copied: c may be freed once this returns). The result's
 * check_id, start_ms, outcome, timings, code, reason and message are filled;
 * id, probe and location are left for the caller. done is called exactly once
 * and never before check_start returns. Returns 0, or a negative NINES_E*
 * when the check could not be started (done is then not called).
 */
int check_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                void *arg);

#endif
