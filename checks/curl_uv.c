/*
 * libcurl multi-socket on libuv. curl's sockets sit in an epoll set of our
 * own (epset.h), which the loop polls as one fd; one uv timer for curl's
 * timeout. curl is only ever called from libuv callbacks, never from inside
 * curl's own callbacks, which would answer CURLM_RECURSIVE_API_CALL.
 *
 * Why not a uv_poll_t per socket: libuv 1.44 spends four epoll_ctl calls and
 * an ioctl to init, start and stop one (it tests the fd with an ADD and a DEL,
 * and re-adds it on every change of direction), plus an allocation and a
 * close callback. A check's socket goes OUT (connecting, sending) then IN
 * (the answer) then away: here that is ADD, MOD and DEL, and one epoll_wait
 * serves every socket ready in a loop iteration (bench/RESULTS.md). The set
 * holds the loop while it holds a socket, as an active uv_poll_t would, so
 * an idle loop still ends.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "curl_uv.h"
#include "epset.h"
#include "sockpool.h"
#include "nines/err.h"

/*
 * Idle easy handles kept for reuse. Bounded: each holds curl's buffers
 * (about 20 KiB), and the pool only has to cover the difference between
 * transfers ending and starting within one loop iteration.
 */
#define CURL_UV_POOL_MAX 64

/* One transfer in flight, found again through CURLOPT_PRIVATE. */
struct curl_uv_xfer {
    CURL *easy;
    curl_uv_done_cb *done;
    void *arg;
    struct curl_uv_xfer *prev;
    struct curl_uv_xfer *next;
};

struct curl_uv {
    uv_loop_t *loop;
    CURLM *multi;                   /* NULL once closing */
    uv_timer_t timer;
    struct epset set;               /* curl's sockets; marks: 1 IPv4, 2 IPv6 socket of
                                     * curl_uv_on_open */
    int open_handles;               /* handles whose close callback is still to come */
    int closing;
    struct curl_uv_xfer *xfers;     /* in flight */
    struct curl_uv_xfer *aborted;   /* removed by curl_uv_close, done still to call */
    CURL *pool[CURL_UV_POOL_MAX];   /* idle, reset easy handles */
    int npool;
    struct sockpool sockets;        /* idle disconnected TCP sockets */
};

static void curl_uv_xfer_link(struct curl_uv_xfer **head, struct curl_uv_xfer *x)
{
    x->prev = NULL;
    x->next = *head;
    if (*head)
        (*head)->prev = x;
    *head = x;
}

static void curl_uv_xfer_unlink(struct curl_uv_xfer **head, struct curl_uv_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        *head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = NULL;
    x->next = NULL;
}

/* Calls the aborted transfers' done callbacks, then frees cu. */
static void curl_uv_finish(struct curl_uv *cu)
{
    struct curl_uv_xfer *x;

    while (cu->aborted) {
        x = cu->aborted;
        cu->aborted = x->next;
        x->done(x->easy, CURL_UV_ABORTED, x->arg);
        free(x);
    }
    while (cu->npool > 0)
        curl_easy_cleanup(cu->pool[--cu->npool]);
    free(cu);
}

static void curl_uv_release(struct curl_uv *cu)
{
    if (--cu->open_handles > 0 || !cu->closing)
        return;
    curl_uv_finish(cu);
}

static void curl_uv_set_closed(void *arg)
{
    curl_uv_release(arg);
}

static void curl_uv_timer_closed(uv_handle_t *h)
{
    curl_uv_release(h->data);
}

/*
 * Hands every finished transfer to its owner. A done callback may add
 * transfers (we are outside curl's callbacks here) or close cu, after which
 * the multi handle is gone and the loop must stop.
 */
static void curl_uv_drain(struct curl_uv *cu)
{
    CURLMsg *msg;
    CURL *easy;
    CURLcode rc;
    struct curl_uv_xfer *x;
    char *priv;
    int left;

    while (!cu->closing) {
        msg = curl_multi_info_read(cu->multi, &left);
        if (!msg)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* The message dies with curl_multi_remove_handle: copy it first. */
        easy = msg->easy_handle;
        rc = msg->data.result;
        priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        x = (struct curl_uv_xfer *)priv;
        curl_multi_remove_handle(cu->multi, easy);
        if (!x)
            continue;       /* not ours: every handle comes through curl_uv_add */
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        curl_uv_xfer_unlink(&cu->xfers, x);
        x->done(easy, rc, x->arg);
        free(x);
    }
}

static void curl_uv_act(struct curl_uv *cu, curl_socket_t fd, int flags)
{
    int running = 0;

    if (cu->closing)
        return;
    curl_multi_socket_action(cu->multi, fd, flags, &running);
    curl_uv_drain(cu);
}

/* A socket of the epoll set is ready: hands it to curl. */
static void curl_uv_on_ready(void *arg, int fd, uint32_t events)
{
    int flags = 0;

    /*
     * EPOLLERR/EPOLLHUP (a refused connect, a reset) come whatever was
     * asked for: curl must hear them, as an error, or the transfer would
     * wait for its deadline.
     */
    if (events & EPOLLERR)
        flags |= CURL_CSELECT_ERR;
    if (events & (EPOLLIN | EPOLLHUP))
        flags |= CURL_CSELECT_IN;
    if (events & (EPOLLOUT | EPOLLHUP))
        flags |= CURL_CSELECT_OUT;
    curl_uv_act(arg, fd, flags);
}

static void curl_uv_on_timer(uv_timer_t *t)
{
    curl_uv_act(t->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the uv timer, which does the work. */
static int curl_uv_on_timeout_change(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_uv *cu = userp;

    (void)multi;
    if (cu->closing)
        return 0;
    /*
     * 0 ("act now") becomes 1 ms: libuv before 1.45 runs a timer started
     * with 0 from inside a timer callback again in the same timer phase
     * (its due time is the loop's cached "now"), and curl asks for 0 after
     * every added transfer and again while any of its own (real-time)
     * deadlines are due. Under load that kept the loop in its timer phase
     * for seconds, no socket polled: Redis replies unread, results piling
     * up. 1 ms puts the work after the next poll.
     */
    if (timeout_ms < 0)
        uv_timer_stop(&cu->timer);
    else
        uv_timer_start(&cu->timer, curl_uv_on_timer,
                       timeout_ms > 0 ? (uint64_t)timeout_ms : 1, 0);
    return 0;
}

/*
 * CURLMOPT_SOCKETFUNCTION: the fd joins, changes in or leaves the epoll
 * set. When it cannot join (no memory), we return 0 rather than -1: -1 would
 * kill the whole multi handle, whereas this way only that transfer stalls,
 * and its own deadline (CURLOPT_TIMEOUT_MS) ends it.
 */
static int curl_uv_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                             void *socketp)
{
    struct curl_uv *cu = userp;
    uint32_t events = 0;

    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_REMOVE || cu->closing) {
        /* a DEL, not a forget, before curl closes it: a copy of the fd held
         * elsewhere (or one kept by curl_uv_on_close) would otherwise stay
         * in the set */
        epset_remove(&cu->set, fd);
        return 0;
    }
    if (what & CURL_POLL_IN)
        events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        events |= EPOLLOUT;
    (void)epset_watch(&cu->set, fd, events);
    return 0;
}

/*
 * CURLOPT_OPENSOCKETFUNCTION of curl_uv_easy_reuse_sockets: a TCP socket
 * from the pool, or a new one set up once for every connection it will
 * carry: TCP_NODELAY (curl's own setsockopt is turned off) and SO_LINGER 0,
 * so that a socket closed rather than kept still ends with a reset.
 */
static curl_socket_t curl_uv_on_open(void *clientp, curlsocktype purpose,
                                     struct curl_sockaddr *a)
{
    static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
    struct curl_uv *cu = clientp;
    int one = 1, fd, v6 = a->family == AF_INET6;

    (void)purpose;
    if (a->socktype != SOCK_STREAM || (a->family != AF_INET && a->family != AF_INET6)) {
        fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
        if (fd >= 0 && epset_mark(&cu->set, fd) != 0)
            (void)epset_set_mark(&cu->set, fd, 0);   /* left by the number's earlier socket */
        return fd >= 0 ? fd : CURL_SOCKET_BAD;
    }
    fd = cu->closing ? -1 : sockpool_take(&cu->sockets, v6);
    if (fd < 0) {
        fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, a->protocol);
        if (fd < 0)
            return CURL_SOCKET_BAD;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    }
    /* unmarked (no memory for the table), it is simply closed at the end */
    (void)epset_set_mark(&cu->set, fd, (unsigned char)(1 + v6));
    return fd;
}

/*
 * CURLOPT_CLOSESOCKETFUNCTION: curl is done with fd (its CURL_POLL_REMOVE
 * took it out of the epoll set first). A TCP socket of ours is disconnected
 * with connect(AF_UNSPEC), Linux's tcp_disconnect: a reset to the peer, the
 * local port released, the socket back to CLOSED and its pending error
 * cleared by the next connect; then it waits for the next connection.
 * curl 7.88 closes a socket whose connect never completed itself, without
 * this callback: its mark is left behind, harmless, as only sockets of
 * curl_uv_on_open reach here and that marks each one it hands out.
 */
static int curl_uv_on_close(void *clientp, curl_socket_t fd)
{
    struct curl_uv *cu = clientp;
    int kind = epset_mark(&cu->set, fd);

    if (kind)
        (void)epset_set_mark(&cu->set, fd, 0);
    if (kind && !cu->closing && sockpool_put(&cu->sockets, kind == 2, fd))
        return 0;
    return close(fd);
}

int curl_uv_easy_reuse_sockets(struct curl_uv *cu, CURL *easy)
{
    if (curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, curl_uv_on_open) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, cu) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, curl_uv_on_close) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, cu) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 0L) != CURLE_OK)
        return NINES_EIO;
    return 0;
}

struct curl_uv *curl_uv_new(uv_loop_t *loop)
{
    struct curl_uv *cu = calloc(1, sizeof(*cu));

    if (!cu)
        return NULL;
    cu->loop = loop;
    epset_init(&cu->set, loop, 1, curl_uv_on_ready, curl_uv_set_closed, cu);
    cu->multi = curl_multi_init();
    if (!cu->multi)
        goto err;
    if (curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, curl_uv_on_socket) ||
        curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu) ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, curl_uv_on_timeout_change) ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu))
        goto err;
    if (epset_open(&cu->set) != 0)
        goto err;
    if (uv_timer_init(loop, &cu->timer) != 0) {
        cu->open_handles = 1;       /* only the set's poll handle: closed below */
        cu->closing = 1;
        curl_multi_cleanup(cu->multi);
        cu->multi = NULL;
        epset_close(&cu->set);
        return NULL;
    }
    cu->timer.data = cu;
    cu->open_handles = 2;
    return cu;

err:
    if (cu->multi)
        curl_multi_cleanup(cu->multi);
    free(cu);
    return NULL;
}

int curl_uv_add(struct curl_uv *cu, CURL *easy, curl_uv_done_cb *done, void *arg)
{
    struct curl_uv_xfer *x;
    CURLMcode mc;

    if (cu->closing)
        return NINES_ESTATE;
    x = calloc(1, sizeof(*x));
    if (!x)
        return NINES_ENOMEM;
    x->easy = easy;
    x->done = done;
    x->arg = arg;
    if (curl_easy_setopt(easy, CURLOPT_PRIVATE, x) != CURLE_OK) {
        free(x);
        return NINES_EIO;
    }
    /* curl may call the timer function from inside add_handle: link first. */
    curl_uv_xfer_link(&cu->xfers, x);
    mc = curl_multi_add_handle(cu->multi, easy);
    if (mc != CURLM_OK) {
        curl_uv_xfer_unlink(&cu->xfers, x);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(x);
        return mc == CURLM_OUT_OF_MEMORY ? NINES_ENOMEM : NINES_EIO;
    }
    return 0;
}

CURL *curl_uv_easy_get(struct curl_uv *cu)
{
    if (cu && !cu->closing && cu->npool > 0)
        return cu->pool[--cu->npool];
    return curl_easy_init();
}

void curl_uv_easy_put(struct curl_uv *cu, CURL *easy)
{
    if (!easy)
        return;
    if (!cu || cu->closing || cu->npool == CURL_UV_POOL_MAX) {
        curl_easy_cleanup(easy);
        return;
    }
    curl_easy_reset(easy);
    cu->pool[cu->npool++] = easy;
}

void curl_uv_close(struct curl_uv *cu)
{
    struct curl_uv_xfer *x;

    if (cu->closing)
        return;
    cu->closing = 1;
    /* Removing a transfer closes its sockets: curl reports CURL_POLL_REMOVE. */
    while (cu->xfers) {
        x = cu->xfers;
        curl_uv_xfer_unlink(&cu->xfers, x);
        curl_multi_remove_handle(cu->multi, x->easy);
        curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
        curl_uv_xfer_link(&cu->aborted, x);
    }
    /* Sockets curl still holds (cached connections) leave the set as
     * curl closes them (CURL_POLL_REMOVE, or closing, above). */
    curl_multi_cleanup(cu->multi);
    cu->multi = NULL;
    sockpool_close(&cu->sockets);
    epset_close(&cu->set);
    uv_close((uv_handle_t *)&cu->timer, curl_uv_timer_closed);
}
