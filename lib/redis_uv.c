/*
 * The glue fills ac->ev with five functions that arm a uv_poll_t. A poll
 * error (status < 0, e.g. UV_EBADF for a refused connect; libuv has stopped
 * the handle) is turned into a read or write attempt, so hiredis itself sees
 * the socket error and runs its connect or disconnect path. The glue struct
 * is freed in the poll handle's close callback, never earlier.
 */
#include <stdlib.h>

#include "redis_uv.h"

struct redis_uv {
    uv_poll_t poll;
    redisAsyncContext *ac;   /* NULL once hiredis has cleaned up */
    int events;              /* UV_READABLE | UV_WRITABLE wanted by hiredis */
};

static void redis_uv_on_poll(uv_poll_t *h, int status, int events)
{
    struct redis_uv *p = h->data;

    if (status < 0)
        events = p->events ? p->events : UV_READABLE;
    if (p->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->ac);
    /* the write may have freed the context; cleanup cleared p->ac then */
    if (p->ac != NULL && (events & UV_READABLE)) {
        redisAsyncHandleRead(p->ac);
        /* what the reply callbacks sent goes out now rather than after the
         * next poll: under load one loop iteration can take a long time */
        if (p->ac != NULL && (p->events & UV_WRITABLE))
            redisAsyncHandleWrite(p->ac);
    }
}

static void redis_uv_arm(struct redis_uv *p)
{
    if (p->events != 0)
        uv_poll_start(&p->poll, p->events, redis_uv_on_poll);
    else
        uv_poll_stop(&p->poll);
}

static void redis_uv_add_read(void *data)
{
    struct redis_uv *p = data;

    p->events |= UV_READABLE;
    redis_uv_arm(p);
}

static void redis_uv_del_read(void *data)
{
    struct redis_uv *p = data;

    p->events &= ~UV_READABLE;
    redis_uv_arm(p);
}

static void redis_uv_add_write(void *data)
{
    struct redis_uv *p = data;

    p->events |= UV_WRITABLE;
    redis_uv_arm(p);
}

static void redis_uv_del_write(void *data)
{
    struct redis_uv *p = data;

    p->events &= ~UV_WRITABLE;
    redis_uv_arm(p);
}

static void redis_uv_poll_closed(uv_handle_t *h)
{
    free(h->data);
}

static void redis_uv_cleanup(void *data)
{
    struct redis_uv *p = data;

    p->ac = NULL;
    p->events = 0;
    uv_close((uv_handle_t *)&p->poll, redis_uv_poll_closed);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct redis_uv *p;
    int rc;

    if (ac->ev.data != NULL)
        return UV_EEXIST;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return UV_ENOMEM;
    rc = uv_poll_init(loop, &p->poll, ac->c.fd);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->poll.data = p;
    p->ac = ac;
    ac->ev.data = p;
    ac->ev.addRead = redis_uv_add_read;
    ac->ev.delRead = redis_uv_del_read;
    ac->ev.addWrite = redis_uv_add_write;
    ac->ev.delWrite = redis_uv_del_write;
    ac->ev.cleanup = redis_uv_cleanup;
    return 0;
}
