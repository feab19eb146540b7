/*
 * A c-ares channel on libuv. c-ares gives no per-socket user pointer; the
 * epoll set's table, indexed by fd, is the map of the sockets it reported.
 * Every entry into c-ares goes through ares_uv_enter/ares_uv_leave, which
 * count the nesting so that a close asked for from inside a callback is
 * carried out once c-ares has returned.
 *
 * The sockets are watched by an epoll set of the channel's own (epset.h),
 * itself watched by one uv_poll_t, rather than by a uv_poll_t each. Each
 * query opens a fresh socket, and libuv spends five epoll_ctl calls on a poll
 * handle's life (a probing ADD and DEL in uv_poll_init, a DEL in every
 * uv_poll_start, the ADD at the next poll, a DEL at close) where one ADD
 * does: the kernel drops a closed socket from the set by itself, and c-ares
 * closes a socket right after reporting it with no interest left, so a
 * socket leaving is only forgotten (epset_forget), no DEL.
 */
#include <stdlib.h>
#include <sys/epoll.h>

#include "ares_uv.h"
#include "epset.h"
#include "nines/err.h"

struct ares_uv {
    uv_loop_t *loop;
    ares_channel channel;           /* NULL once destroyed */
    uv_timer_t timer;
    struct epset set;               /* the sockets; opened with the first one */
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

static void ares_uv_timer_closed(uv_handle_t *h)
{
    ares_uv_release(h->data);
}

static void ares_uv_set_closed(void *arg)
{
    ares_uv_release(arg);
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
    uv_timer_stop(&au->timer);
    uv_close((uv_handle_t *)&au->timer, ares_uv_timer_closed);
    /* its closed callback comes only if it was opened, and counted then */
    epset_close(&au->set);
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

/* A socket of the epoll set is ready: hand it to c-ares. */
static void ares_uv_on_ready(void *arg, int fd, uint32_t events)
{
    struct ares_uv *au = arg;
    ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD, prev;
    /* EPOLLERR/EPOLLHUP: let c-ares read and write the fd so it sees the
     * error (ECONNREFUSED) and closes the socket, not wait for a timeout */
    uint32_t bad = events & (EPOLLERR | EPOLLHUP);

    if (!au->channel)
        return;
    if (bad || (events & EPOLLIN))
        rfd = fd;
    if (bad || (events & EPOLLOUT))
        wfd = fd;
    prev = ares_uv_enter(au, fd);
    ares_process_fd(au->channel, rfd, wfd);
    ares_uv_leave(au, prev);
}

/* The epoll set and its poll handle, made with the first socket. */
static int ares_uv_set_open(struct ares_uv *au)
{
    if (epset_is_open(&au->set))
        return 0;
    if (epset_open(&au->set) != 0)
        return -1;
    au->open_handles++;
    return 0;
}

/*
 * ARES_OPT_SOCK_STATE_CB. When a socket cannot be watched (no memory, no
 * epoll), it goes unwatched: its query then ends at the caller's deadline.
 */
static void ares_uv_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct ares_uv *au = data;

    if (!readable && !writable) {
        /* c-ares closes it right after this */
        epset_forget(&au->set, fd);
        return;
    }
    if (ares_uv_set_open(au) != 0)
        return;
    (void)epset_watch(&au->set, fd, (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0));
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
    /* it stays started for the channel's life, idle ones included, and
     * never holds the loop: what keeps the loop running is the timer, armed
     * while a query is out */
    epset_init(&au->set, loop, 0, ares_uv_on_ready, ares_uv_set_closed, au);
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

    return !au->closing && au->channel && au->depth == 0 &&
           epset_count(&au->set) == 0 &&
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
