/*
 * A c-ares channel on libuv. c-ares gives no per-socket user pointer, so the
 * fd -> uv_poll_t map is a short linked list (a channel has one socket per
 * server and transport at most). Every entry into c-ares goes through
 * ares_uv_enter/ares_uv_leave, which count the nesting so that a close asked
 * for from inside a callback is carried out once c-ares has returned.
 */
#include <stdlib.h>

#include "ares_uv.h"
#include "nines/err.h"

/* One socket c-ares asked us to watch. Freed in its close callback. */
struct ares_uv_sock {
    uv_poll_t poll;
    ares_socket_t fd;
    struct ares_uv *au;
    struct ares_uv_sock *next;
};

struct ares_uv {
    uv_loop_t *loop;
    ares_channel channel;           /* NULL once destroyed */
    uv_timer_t timer;
    struct ares_uv_sock *socks;     /* polled and not yet closing */
    int open_handles;               /* close callbacks still to come */
    int depth;                      /* calls into c-ares in progress */
    int closing;                    /* ares_uv_close was called */
    ares_socket_t active_fd;
    ares_uv_closed_cb *closed;
    void *closed_arg;
};

static void ares_uv_release(struct ares_uv *au)
{
    if (--au->open_handles > 0)
        return;
    if (au->closed)
        au->closed(au->closed_arg);
    free(au);
}

static void ares_uv_sock_closed(uv_handle_t *h)
{
    struct ares_uv_sock *s = h->data;
    struct ares_uv *au = s->au;

    free(s);
    ares_uv_release(au);
}

static void ares_uv_timer_closed(uv_handle_t *h)
{
    ares_uv_release(h->data);
}

/* Stops polling at once (c-ares is about to close the fd) and frees s later. */
static void ares_uv_sock_close(struct ares_uv_sock *s)
{
    struct ares_uv_sock **pp = &s->au->socks;

    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    uv_close((uv_handle_t *)&s->poll, ares_uv_sock_closed);
}

/* Destroys the channel and closes the handles: only outside c-ares. */
static void ares_uv_destroy(struct ares_uv *au)
{
    ares_channel ch = au->channel;

    /* Pending queries call back (EDESTRUCTION) and sockets report 0,0 here. */
    au->depth++;
    au->channel = NULL;
    ares_destroy(ch);
    au->depth--;
    while (au->socks)
        ares_uv_sock_close(au->socks);
    uv_timer_stop(&au->timer);
    uv_close((uv_handle_t *)&au->timer, ares_uv_timer_closed);
}

static void ares_uv_on_timer(uv_timer_t *t);

/* Re-arms the timer from ares_timeout(), rounded up to whole ms. */
static void ares_uv_arm(struct ares_uv *au)
{
    struct timeval tv;
    struct timeval *next = ares_timeout(au->channel, NULL, &tv);
    uint64_t ms;

    if (!next) {
        uv_timer_stop(&au->timer);
        return;
    }
    ms = (uint64_t)next->tv_sec * 1000u + ((uint64_t)next->tv_usec + 999u) / 1000u;
    uv_timer_start(&au->timer, ares_uv_on_timer, ms, 0);
}

/* Before every call into c-ares; returns the active fd to restore after it. */
static ares_socket_t ares_uv_enter(struct ares_uv *au, ares_socket_t fd)
{
    ares_socket_t prev = au->active_fd;

    au->depth++;
    au->active_fd = fd;
    return prev;
}

/* After every call into c-ares: carry out a deferred close, or re-arm. */
static void ares_uv_leave(struct ares_uv *au, ares_socket_t prev)
{
    au->active_fd = prev;
    if (--au->depth > 0)
        return;
    if (au->closing) {
        if (au->channel)
            ares_uv_destroy(au);
        return;
    }
    ares_uv_arm(au);
}

static void ares_uv_on_timer(uv_timer_t *t)
{
    struct ares_uv *au = t->data;
    ares_socket_t prev;

    if (!au->channel)
        return;
    prev = ares_uv_enter(au, ARES_SOCKET_BAD);
    ares_process_fd(au->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    ares_uv_leave(au, prev);
}

static void ares_uv_on_poll(uv_poll_t *h, int status, int events)
{
    struct ares_uv_sock *s = h->data;
    struct ares_uv *au = s->au;
    ares_socket_t rfd = ARES_SOCKET_BAD;
    ares_socket_t wfd = ARES_SOCKET_BAD;
    ares_socket_t prev;

    if (!au->channel)
        return;
    /*
     * libuv reports EPOLLERR/EPOLLHUP as status < 0 with events 0 and stops
     * the handle: let c-ares read and write the fd so it sees the error
     * (ECONNREFUSED) and closes the socket, instead of waiting for a timeout.
     */
    if (status < 0 || (events & UV_READABLE))
        rfd = s->fd;
    if (status < 0 || (events & UV_WRITABLE))
        wfd = s->fd;
    prev = ares_uv_enter(au, s->fd);
    ares_process_fd(au->channel, rfd, wfd);
    ares_uv_leave(au, prev);
}

static struct ares_uv_sock *ares_uv_sock_find(struct ares_uv *au, ares_socket_t fd)
{
    struct ares_uv_sock *s;

    for (s = au->socks; s; s = s->next) {
        if (s->fd == fd)
            return s;
    }
    return NULL;
}

static struct ares_uv_sock *ares_uv_sock_open(struct ares_uv *au, ares_socket_t fd)
{
    struct ares_uv_sock *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    if (uv_poll_init_socket(au->loop, &s->poll, fd) != 0) {
        free(s);
        return NULL;
    }
    s->poll.data = s;
    s->fd = fd;
    s->au = au;
    s->next = au->socks;
    au->socks = s;
    au->open_handles++;
    return s;
}

/*
 * ARES_OPT_SOCK_STATE_CB. When no poll handle can be had (no memory), the
 * socket goes unwatched: its query then ends at the caller's deadline.
 */
static void ares_uv_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct ares_uv *au = data;
    struct ares_uv_sock *s = ares_uv_sock_find(au, fd);
    int events = 0;

    if (!readable && !writable) {
        if (s)
            ares_uv_sock_close(s);
        return;
    }
    if (!s) {
        s = ares_uv_sock_open(au, fd);
        if (!s)
            return;
    }
    if (readable)
        events |= UV_READABLE;
    if (writable)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, ares_uv_on_poll);
}

static int ares_uv_status_err(int status)
{
    switch (status) {
    case ARES_ENOMEM:
        return NINES_ENOMEM;
    case ARES_EBADSTR:
    case ARES_EBADFAMILY:
    case ARES_EBADFLAGS:
    case ARES_ENODATA:
        return NINES_EINVAL;
    default:
        return NINES_EIO;
    }
}

int ares_uv_new(uv_loop_t *loop, struct ares_options *opts, int optmask,
                struct ares_addr_port_node *servers, struct ares_uv **out)
{
    struct ares_uv *au = calloc(1, sizeof(*au));
    int status;

    *out = NULL;
    if (!au)
        return NINES_ENOMEM;
    au->loop = loop;
    au->active_fd = ARES_SOCKET_BAD;
    opts->sock_state_cb = ares_uv_on_sock_state;
    opts->sock_state_cb_data = au;
    status = ares_init_options(&au->channel, opts, optmask | ARES_OPT_SOCK_STATE_CB);
    if (status != ARES_SUCCESS) {
        free(au);
        return ares_uv_status_err(status);
    }
    if (servers) {
        status = ares_set_servers_ports(au->channel, servers);
        if (status != ARES_SUCCESS) {
            ares_destroy(au->channel);
            free(au);
            return ares_uv_status_err(status);
        }
    }
    /* Cannot fail for an initialised loop; the channel has no socket yet. */
    uv_timer_init(loop, &au->timer);
    au->timer.data = au;
    au->open_handles = 1;
    *out = au;
    return 0;
}

int ares_uv_query(struct ares_uv *au, const char *name, int type, ares_callback cb,
                  void *arg)
{
    ares_socket_t prev;

    if (au->closing || !au->channel)
        return NINES_ESTATE;
    prev = ares_uv_enter(au, ARES_SOCKET_BAD);
    ares_query(au->channel, name, 1 /* C_IN */, type, cb, arg);
    ares_uv_leave(au, prev);
    return 0;
}

int ares_uv_idle(struct ares_uv *au)
{
    struct timeval tv;

    return !au->closing && au->channel && au->depth == 0 && !au->socks &&
           ares_timeout(au->channel, NULL, &tv) == NULL;
}

ares_socket_t ares_uv_active_fd(const struct ares_uv *au)
{
    return au->active_fd;
}

void ares_uv_close(struct ares_uv *au, ares_uv_closed_cb *closed, void *arg)
{
    if (au->closing)
        return;
    au->closing = 1;
    au->closed = closed;
    au->closed_arg = arg;
    if (au->depth == 0)
        ares_uv_destroy(au);
    /* else ares_uv_leave destroys it once the outermost call returns */
}
