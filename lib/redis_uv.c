/*
 * The glue fills ac->ev with five functions that arm a uv_poll_t. A poll
 * error (status < 0, e.g. UV_EBADF for a refused connect; libuv has stopped
 * the handle) is turned into a read or write attempt, so hiredis itself sees
 * the socket error and runs its connect or disconnect path. The glue struct
 * is freed once both its handles are closed, never earlier.
 *
 * System calls: libuv's uv_poll_start always removes the descriptor from
 * epoll first (an epoll_ctl DEL) and adds it again at the next poll, so
 * arming costs two system calls even when nothing changes. hiredis asks for
 * write interest on every command and for read interest after every write,
 * so the poll is re-armed only when the wanted events differ from those
 * armed. And on a connected context a new command does not arm write
 * interest at all: a prepare handle writes whatever the iteration queued
 * just before the loop blocks (one write for all of them, no epoll_ctl);
 * only a write the socket could not take whole arms UV_WRITABLE. A command
 * sent from inside the prepare phase itself would wait for the loop's next
 * wake-up (libuv runs a prepare handle started there only in the next
 * iteration): nothing of ours sends from a prepare handle (checks/http.c's
 * watch is a check handle for that reason).
 *
 * Writes: on a connected context the glue writes hiredis's output buffer
 * itself, from an offset it keeps, and empties the buffer only once all of
 * it is out. hiredis's redisBufferWrite moves what is left to the front of
 * the buffer after every partial write (sdsrange): the collector's batch of
 * several MiB, written through a Unix socket that takes ~200 KiB at a time,
 * was moved about twenty times over, 14 % of the collector's CPU at 170,000
 * results/s. Anything unusual (not connected yet, an error on the context
 * or the socket) goes through redisAsyncHandleWrite as before, the buffer
 * first cut to what is still unsent, so hiredis sees exactly its own state.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <hiredis/sds.h>

#include "redis_uv.h"

struct redis_uv {
    uv_poll_t poll;
    uv_prepare_t flush;      /* writes the queued commands before the loop blocks */
    redisAsyncContext *ac;   /* NULL once hiredis has cleaned up */
    int events;              /* UV_READABLE | UV_WRITABLE wanted by hiredis */
    int armed;               /* events the poll handle watches now */
    int writing;             /* inside our redisAsyncHandleWrite */
    size_t woff;             /* bytes at the front of c->obuf already written */
    int open;                /* handles not yet closed */
};

static void redis_uv_on_poll(uv_poll_t *h, int status, int events);

static void redis_uv_arm(struct redis_uv *p)
{
    if (p->events == p->armed)
        return;
    if (p->events != 0 && uv_poll_start(&p->poll, p->events, redis_uv_on_poll) == 0) {
        p->armed = p->events;
        return;
    }
    uv_poll_stop(&p->poll);
    p->armed = 0;
}

/* Lets hiredis write its output buffer: it then asks for write interest
 * (the socket is full: the poll handle waits for room) or drops it. */
static void redis_uv_hiredis_write(struct redis_uv *p)
{
    redisContext *c = &p->ac->c;

    if (p->woff > 0) {
        sdsrange(c->obuf, (int)p->woff, -1);
        p->woff = 0;
    }
    p->writing = 1;
    redisAsyncHandleWrite(p->ac);   /* may free the context: cleanup clears p->ac */
    p->writing = 0;
}

/* Writes what hiredis queued, from our offset (see the top of the file). */
static void redis_uv_write(struct redis_uv *p)
{
    redisContext *c = &p->ac->c;
    size_t len;

    uv_prepare_stop(&p->flush);
    if (!(c->flags & REDIS_CONNECTED) || c->err != 0) {
        redis_uv_hiredis_write(p);
        return;
    }
    len = sdslen(c->obuf);
    while (p->woff < len) {
        ssize_t n = write(c->fd, c->obuf + p->woff, len - p->woff);

        if (n > 0) {
            p->woff += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            redis_uv_hiredis_write(p);  /* hiredis meets the error itself */
            return;
        }
    }
    if (p->woff == len) {
        /* as hiredis does: a fresh buffer, not a large one kept */
        sdsfree(c->obuf);
        c->obuf = sdsempty();
        p->woff = 0;
        p->events &= ~UV_WRITABLE;
    } else {
        p->events |= UV_WRITABLE;   /* the socket is full: wait for room */
    }
    p->events |= UV_READABLE;       /* as redisAsyncHandleWrite does */
    redis_uv_arm(p);
}

static void redis_uv_on_flush(uv_prepare_t *h)
{
    struct redis_uv *p = h->data;

    if (p->ac != NULL)
        redis_uv_write(p);
    else
        uv_prepare_stop(h);
}

static void redis_uv_on_poll(uv_poll_t *h, int status, int events)
{
    struct redis_uv *p = h->data;

    if (status < 0) {
        p->armed = 0;           /* libuv stopped the handle */
        events = p->events ? p->events : UV_READABLE;
    }
    if (p->ac != NULL && (events & UV_WRITABLE))
        redis_uv_write(p);
    /* the write may have freed the context; cleanup cleared p->ac then */
    if (p->ac != NULL && (events & UV_READABLE)) {
        redisAsyncHandleRead(p->ac);
        /* what the reply callbacks sent goes out now rather than after the
         * next poll: under load one loop iteration can take a long time */
        if (p->ac != NULL && ((p->events & UV_WRITABLE) || uv_is_active((uv_handle_t *)&p->flush)))
            redis_uv_write(p);
    }
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

    /* a new command on a connected context: written before the loop
     * blocks; otherwise (connecting, or a write that did not finish) the
     * socket's writability is what we wait for */
    if (!p->writing && !(p->events & UV_WRITABLE) && p->ac != NULL &&
        (p->ac->c.flags & REDIS_CONNECTED) && uv_prepare_start(&p->flush, redis_uv_on_flush) == 0)
        return;
    p->events |= UV_WRITABLE;
    redis_uv_arm(p);
}

static void redis_uv_del_write(void *data)
{
    struct redis_uv *p = data;

    p->events &= ~UV_WRITABLE;
    redis_uv_arm(p);
}

static void redis_uv_closed(uv_handle_t *h)
{
    struct redis_uv *p = h->data;

    if (--p->open == 0)
        free(p);
}

static void redis_uv_cleanup(void *data)
{
    struct redis_uv *p = data;

    p->ac = NULL;
    p->events = 0;
    p->armed = 0;
    uv_close((uv_handle_t *)&p->poll, redis_uv_closed);
    uv_close((uv_handle_t *)&p->flush, redis_uv_closed);
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
    uv_prepare_init(loop, &p->flush);
    p->open = 2;
    p->poll.data = p;
    p->flush.data = p;
    p->ac = ac;
    ac->ev.data = p;
    ac->ev.addRead = redis_uv_add_read;
    ac->ev.delRead = redis_uv_del_read;
    ac->ev.addWrite = redis_uv_add_write;
    ac->ev.delWrite = redis_uv_del_write;
    ac->ev.cleanup = redis_uv_cleanup;
    return 0;
}
