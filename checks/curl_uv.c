/*
 * libcurl multi-socket on libuv: one uv_poll_t per curl socket (attached with
 * curl_multi_assign), one uv timer for curl's timeout. curl is only ever
 * called from libuv callbacks, never from inside curl's own callbacks, which
 * would answer CURLM_RECURSIVE_API_CALL.
 */
#include <stdlib.h>

#include "curl_uv.h"
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

/* One socket curl asked us to watch. Freed in its close callback. */
struct curl_uv_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct curl_uv *cu;
    struct curl_uv_sock *prev;
    struct curl_uv_sock *next;
};

struct curl_uv {
    uv_loop_t *loop;
    CURLM *multi;                   /* NULL once closing */
    uv_timer_t timer;
    int open_handles;               /* handles whose close callback is still to come */
    int closing;
    struct curl_uv_xfer *xfers;     /* in flight */
    struct curl_uv_xfer *aborted;   /* removed by curl_uv_close, done still to call */
    struct curl_uv_sock *socks;     /* polled and not yet closing */
    CURL *pool[CURL_UV_POOL_MAX];   /* idle, reset easy handles */
    int npool;
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

static void curl_uv_sock_closed(uv_handle_t *h)
{
    struct curl_uv_sock *s = h->data;
    struct curl_uv *cu = s->cu;

    free(s);
    curl_uv_release(cu);
}

static void curl_uv_timer_closed(uv_handle_t *h)
{
    curl_uv_release(h->data);
}

static struct curl_uv_sock *curl_uv_sock_open(struct curl_uv *cu, curl_socket_t fd)
{
    struct curl_uv_sock *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    if (uv_poll_init_socket(cu->loop, &s->poll, fd) != 0) {
        free(s);
        return NULL;
    }
    s->poll.data = s;
    s->fd = fd;
    s->cu = cu;
    s->next = cu->socks;
    if (cu->socks)
        cu->socks->prev = s;
    cu->socks = s;
    cu->open_handles++;
    return s;
}

/* Stops polling at once (so curl may close the fd) and frees s later. */
static void curl_uv_sock_close(struct curl_uv_sock *s)
{
    struct curl_uv *cu = s->cu;

    if (s->prev)
        s->prev->next = s->next;
    else
        cu->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_close((uv_handle_t *)&s->poll, curl_uv_sock_closed);
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

static void curl_uv_on_poll(uv_poll_t *h, int status, int events)
{
    struct curl_uv_sock *s = h->data;
    int flags = 0;

    /*
     * libuv reports EPOLLERR/EPOLLHUP (a refused connect) as status < 0 with
     * events 0, and stops the handle: curl must hear it as an error, or the
     * transfer would hang until its deadline.
     */
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_uv_act(s->cu, s->fd, flags);
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
 * CURLMOPT_SOCKETFUNCTION. When a poll handle cannot be had (no memory), we
 * return 0 rather than -1: -1 would kill the whole multi handle, whereas this
 * way only that transfer stalls, and its own deadline (CURLOPT_TIMEOUT_MS)
 * ends it.
 */
static int curl_uv_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                             void *socketp)
{
    struct curl_uv *cu = userp;
    struct curl_uv_sock *s = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(cu->multi, fd, NULL);
            curl_uv_sock_close(s);
        }
        return 0;
    }
    if (cu->closing)
        return 0;
    if (!s) {
        s = curl_uv_sock_open(cu, fd);
        if (!s)
            return 0;
        curl_multi_assign(cu->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, curl_uv_on_poll);
    return 0;
}

struct curl_uv *curl_uv_new(uv_loop_t *loop)
{
    struct curl_uv *cu = calloc(1, sizeof(*cu));

    if (!cu)
        return NULL;
    cu->loop = loop;
    cu->multi = curl_multi_init();
    if (!cu->multi)
        goto err;
    if (curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, curl_uv_on_socket) ||
        curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu) ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, curl_uv_on_timeout_change) ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu))
        goto err;
    if (uv_timer_init(loop, &cu->timer) != 0)
        goto err;
    cu->timer.data = cu;
    cu->open_handles = 1;
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
    /* Sockets curl still holds (cached connections): stop polling first. */
    while (cu->socks) {
        curl_multi_assign(cu->multi, cu->socks->fd, NULL);
        curl_uv_sock_close(cu->socks);
    }
    curl_multi_cleanup(cu->multi);
    cu->multi = NULL;
    uv_close((uv_handle_t *)&cu->timer, curl_uv_timer_closed);
}
