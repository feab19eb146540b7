/*
 * hiredis 0.14 async contexts on a libuv loop. Our own glue rather than the
 * stock adapters/libuv.h, which never reports a refused connect (LIBRARIES.md).
 */
#ifndef NINES_REDIS_UV_H
#define NINES_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Attaches ac to loop. Call before setting the connect callback. */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
