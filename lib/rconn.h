/*
 * One Redis connection that keeps itself up: connect (with a watchdog),
 * AUTH and SELECT when configured, then "up". When the connection drops,
 * hiredis first fails every pending callback with reply == NULL, then
 * rconn reports "down" and reconnects from a timer with capped backoff.
 */
#ifndef NINES_RCONN_H
#define NINES_RCONN_H

#include <hiredis/async.h>
#include <uv.h>

#include "nines/wire.h"

struct rconn;
typedef void rconn_event_cb(struct rconn *rc, void *arg);

/* role names the connection in logs ("push", "ingest", ...). */
struct rconn *rconn_new(uv_loop_t *loop, const struct nines_redis_addr *addr, const char *role,
                        rconn_event_cb *up, rconn_event_cb *down, void *arg);
/*
 * Replies on this connection are built in blocks (rreply.h): for
 * connections that read large replies. Call before rconn_start.
 */
void rconn_use_block_replies(struct rconn *rc);
/* Starts connecting; up is called once ready, again after each reconnect. */
void rconn_start(struct rconn *rc);
/* The live context, or NULL while not up. Borrowed: valid until "down". */
redisAsyncContext *rconn_ctx(struct rconn *rc);
/*
 * Stops for good. graceful: let pending replies arrive first. Pending
 * callbacks may still run (with NULL on a hard close); up/down are not
 * called again. Memory goes in close callbacks: run the loop afterwards.
 */
void rconn_close(struct rconn *rc, int graceful);

#endif
