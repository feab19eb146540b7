/*
 * TCP(+TLS) checks: one libuv state machine per run (resolve, connect, TLS
 * handshake, send, read the banner) under one deadline timer. The check owns
 * a getaddrinfo request, a uv_tcp_t and a uv_timer_t: done is called once
 * both handles have closed, and the memory goes when the request is back too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "fmt.h"
#include "sockpool.h"
#include "jsonw.h"
#include "tcp.h"
#include "tls.h"
#include "regexguard.h"

#define TCP_ADDR_MAX     8 /* resolved addresses tried, in order */
#define TCP_HOST_MAX     256
#define TCP_ADDR_TEXT    (INET6_ADDRSTRLEN + 8)
#define TCP_READ_CHUNK   4096
#define TCP_SEND_MAX     65536 /* longest payload */
#define TCP_PATTERN_TEXT 64    /* the regex as quoted in messages */
#define TCP_RAW_EVENTS   256   /* epoll events taken per epoll_wait */

enum tcp_phase { TCP_RESOLVING, TCP_CONNECTING, TCP_HANDSHAKING, TCP_EXCHANGING, TCP_DONE };

/*
 * The env's TCP driver: the checks in flight, the TLS contexts, and the
 * epoll set of the connect-only checks.
 *
 * A check that only connects (no TLS, nothing to send, no banner) uses a
 * plain non-blocking socket in an epoll set of the driver's, polled by the
 * loop as one fd (as curl_uv does for curl's sockets), not a uv_tcp_t:
 * libuv removes a stream's fd from its epoll set with an EPOLL_CTL_DEL
 * before closing it, while a socket closed in our own set leaves it with the
 * close.
 *
 * And the socket outlives the run: a run that ends with a reset disconnects
 * it with connect(AF_UNSPEC) (Linux's tcp_disconnect: a RST to the peer,
 * the local port released, the socket back to CLOSED) and leaves it, still
 * in the epoll set, in a small pool for the next run to connect again. The
 * next connection is as fresh as any (a new port, a full handshake, a reset
 * at the end), but socket(), SO_LINGER, close() and the file's allocation
 * and teardown are saved: about 8 of the 32 us a bare connect-and-reset
 * costs here (bench/RESULTS.md). Events are one-shot (EPOLLONESHOT), so a
 * pooled socket whose run's event was taken reports nothing until the next
 * run re-arms it with its own pointer; a run whose event never came (a
 * timeout) closes its socket instead. The pool's sockets close with the
 * driver. A run's system calls: connect, epoll MOD, connect(AF_UNSPEC),
 * and a share of one epoll_wait (SO_ERROR is read only when the event
 * carries an error).
 */
struct tcp_driver {
    struct tcp_check *head;
    struct tls_cache *tls; /* created by the first TLS check */
    int closed;            /* freed when the last check leaves */
    int epfd;              /* connect-only sockets; -1: none yet (or none possible) */
    uv_poll_t epoll;       /* epfd in the loop, unreferenced: deadlines keep the loop alive */
    uint64_t round;        /* epoll_wait batches taken, to spot stale events */
    struct sockpool pool;  /* idle sockets, disconnected, still in epfd */
};

struct tcp_check {
    struct tcp_check *prev;
    struct tcp_check *next;
    struct tcp_driver *driver; /* NULL once unlinked */
    uv_loop_t *loop;
    uv_getaddrinfo_t resolve;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_timer_t deadline;
    int open_handles; /* close callbacks still to come */
    int raw;          /* connect only: fd in the driver's epoll set, no uv_tcp_t */
    int fd;           /* the raw socket, -1 when none */
    uint64_t raw_round; /* the driver's round when fd was added */
    int raw_v6;         /* fd is an IPv6 socket */
    int raw_fired;      /* fd's one-shot event came: nothing more is due from it */
    int resolving;    /* the getaddrinfo request is out */
    int tcp_open;     /* tcp is not closing */
    int retrying;     /* tcp closing to try the next address */
    int finished;     /* outcome decided, handles closing */
    int reported;     /* done has been called */
    enum tcp_phase phase;
    char host[TCP_HOST_MAX];
    int port;
    int ip_version;
    int use_tls;
    int reset_close;  /* end with a reset, not a FIN (check_env.graceful_close) */
    int verify_tls;
    int cert_min_days;
    char server_name[TCP_HOST_MAX];
    char *payload; /* NULL = nothing to send */
    size_t payload_len;
    int has_banner;
    regex_t banner_re;
    char pattern[TCP_PATTERN_TEXT];
    struct sockaddr_storage addr[TCP_ADDR_MAX];
    int addr_count;
    int addr_next;
    char address[TCP_ADDR_TEXT]; /* the address tried last */
    struct tls_session tls;
    json_t *tls_facts; /* after the handshake */
    int64_t timeout_ms;
    uint64_t started_ns;
    size_t banner_len;
    check_done_cb *done;
    void *done_arg;
    /* not zeroed at start (see check_tcp_start): rbuf, banner and result */
    char rbuf[TCP_READ_CHUNK];
    char banner[CHECK_TCP_BANNER_MAX + 1];
    struct nines_result result;
};

/* One uv_write: the bytes live with the request. */
struct tcp_write {
    uv_write_t req;
    struct tcp_check *check;
    int payload; /* carries the end of the payload */
    size_t len;
    char data[];
};

static void tcp_check_on_closed(uv_handle_t *h);
static void tcp_check_connect_next(struct tcp_check *c);

static int64_t tcp_check_elapsed_us(const struct tcp_check *c)
{
    return (int64_t)((uv_hrtime() - c->started_ns) / 1000);
}

static void tcp_check_free(struct tcp_check *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->tls.ssl)
        tls_session_close(&c->tls);
    if (c->has_banner)
        regfree(&c->banner_re);
    json_decref(c->tls_facts);
    free(c->payload);
    free(c);
}

static void tcp_driver_on_epoll_closed(uv_handle_t *h)
{
    struct tcp_driver *d = h->data;

    close(d->epfd);
    free(d);
}

static void tcp_driver_free(struct tcp_driver *d)
{
    tls_cache_free(d->tls);
    d->tls = NULL;
    sockpool_close(&d->pool);
    if (d->epfd >= 0) { /* the memory goes with the poll handle */
        uv_close((uv_handle_t *)&d->epoll, tcp_driver_on_epoll_closed);
        return;
    }
    free(d);
}

static void tcp_check_unlink(struct tcp_check *c)
{
    struct tcp_driver *d = c->driver;

    if (!d)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        d->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->driver = NULL;
    if (d->closed && !d->head)
        tcp_driver_free(d);
}

static void tcp_check_close_raw(struct tcp_check *c);

static void tcp_check_close_tcp(struct tcp_check *c)
{
    if (!c->tcp_open)
        return;
    c->tcp_open = 0;
    if (c->raw) {
        tcp_check_close_raw(c);
        return;
    }
    /* a reset discards what is unsent: never with TLS (its close_notify) */
    if (c->reset_close && !c->use_tls && !c->retrying &&
        uv_tcp_close_reset(&c->tcp, tcp_check_on_closed) == 0)
        return;
    uv_close((uv_handle_t *)&c->tcp, tcp_check_on_closed);
}

/* Sends whatever TLS has queued for the peer, in one write. */
static void tcp_check_flush_tls(struct tcp_check *c, int payload);

/*
 * Decides the outcome (the first decision wins) and closes everything; done
 * follows from the last close callback, never from here. The message is the
 * caller's to set.
 */
static void tcp_check_end(struct tcp_check *c, enum nines_outcome outcome, const char *reason)
{
    struct nines_result *r = &c->result;

    c->finished = 1;
    c->phase = TCP_DONE;
    r->outcome = outcome;
    r->total_us = tcp_check_elapsed_us(c);
    fmt_copy(r->reason, sizeof(r->reason), reason);
    if (outcome != NINES_OUTCOME_OK)
        r->warning[0] = '\0'; /* a warning qualifies an OK only */
    if (outcome == NINES_OUTCOME_OK && c->tls.ssl && c->tcp_open) {
        tls_session_shutdown(&c->tls); /* a polite close_notify, best effort */
        tcp_check_flush_tls(c, 0);
    }
    uv_close((uv_handle_t *)&c->deadline, tcp_check_on_closed);
    tcp_check_close_tcp(c);
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolve);
}

/* OK: the message stays as a warning may have set it. */
static void tcp_check_succeed(struct tcp_check *c)
{
    if (!c->finished)
        tcp_check_end(c, NINES_OUTCOME_OK, "");
}

static void tcp_check_finish(struct tcp_check *c, enum nines_outcome outcome, const char *reason,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void tcp_check_finish(struct tcp_check *c, enum nines_outcome outcome, const char *reason,
                             const char *fmt, ...)
{
    va_list ap;

    if (c->finished)
        return;
    va_start(ap, fmt);
    vsnprintf(c->result.message, sizeof(c->result.message), fmt, ap);
    va_end(ap);
    tcp_check_end(c, outcome, reason);
}

/* Printable ASCII, CR, LF and tab survive; any other byte becomes '.'. */
static void tcp_sanitise(const char *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];

        out[i] =
            (ch >= 0x20 && ch < 0x7f) || ch == '\r' || ch == '\n' || ch == '\t' ? (char)ch : '.';
    }
    out[len] = '\0';
}

/*
 * Writes {"address","banner","tls"} into the result's facts (as json_dumps
 * wrote them), each member only when given; 0, or -1 if it does not fit.
 * tls is the TLS facts object already dumped.
 */
static int tcp_facts_write(struct tcp_check *c, const char *banner, const char *tls)
{
    struct jsonw w;

    jsonw_init(&w, c->result.facts, sizeof(c->result.facts));
    jsonw_obj_open(&w);
    if (c->address[0]) {
        jsonw_key(&w, "address");
        jsonw_str(&w, c->address);
    }
    if (banner) {
        jsonw_key(&w, "banner");
        jsonw_str(&w, banner);
    }
    if (tls) {
        jsonw_key(&w, "tls");
        jsonw_raw(&w, tls, strlen(tls));
    }
    jsonw_obj_close(&w);
    return w.full ? -1 : 0;
}

/* The facts, dropping the least important ones until they fit. */
static void tcp_check_facts(struct tcp_check *c)
{
    char text[CHECK_TCP_BANNER_FACT + 1];
    size_t n = c->banner_len < CHECK_TCP_BANNER_FACT ? c->banner_len : CHECK_TCP_BANNER_FACT;
    char *tls = c->tls_facts ? json_dumps(c->tls_facts, JSON_COMPACT) : NULL;

    if (n > 0)
        tcp_sanitise(c->banner, n, text);
    if (tcp_facts_write(c, n > 0 ? text : NULL, tls) != 0) {
        free(tls);
        tls = NULL;
        if (c->tls_facts) {
            json_object_del(c->tls_facts, "subject");
            json_object_del(c->tls_facts, "issuer");
            tls = json_dumps(c->tls_facts, JSON_COMPACT);
        }
        if (tcp_facts_write(c, NULL, tls) != 0)
            c->result.facts[0] = '\0';
    }
    free(tls);
}

/* All handles closed: report, then free unless the resolver still holds c. */
static void tcp_check_report(struct tcp_check *c)
{
    tcp_check_facts(c);
    tcp_check_unlink(c);
    c->reported = 1;
    c->done(&c->result, c->done_arg);
    if (!c->resolving)
        tcp_check_free(c);
}

static void tcp_check_reconnect(struct tcp_check *c)
{
    int err = c->raw ? 0 : uv_tcp_init(c->loop, &c->tcp);

    if (err) {
        tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "socket: %s", uv_strerror(err));
        return;
    }
    c->tcp.data = c;
    c->tcp_open = 1;
    c->open_handles++;
    tcp_check_connect_next(c);
}

/* One of c's handles is closed (tcp: the connection, raw or not). */
static void tcp_check_gone(struct tcp_check *c, int tcp)
{
    c->open_handles--;
    if (tcp && c->retrying) {
        c->retrying = 0;
        if (!c->finished) {
            tcp_check_reconnect(c);
            return;
        }
    }
    if (c->open_handles == 0)
        tcp_check_report(c);
}

static void tcp_check_on_closed(uv_handle_t *h)
{
    struct tcp_check *c = h->data;

    tcp_check_gone(c, h == (uv_handle_t *)&c->tcp);
}

/*
 * Closes the raw socket (with a reset unless graceful or retrying, as
 * uv_tcp_close_reset would); the close takes it out of the epoll set. The
 * deadline's close callback is still to come whenever this runs (or a retry
 * reopens), so done is not called from here.
 */
static void tcp_check_close_raw(struct tcp_check *c)
{
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    struct tcp_driver *d = c->driver;

    if (c->fd >= 0) {
        /* kept for the next run: disconnected with a reset (see the driver) */
        if (c->reset_close && !c->retrying && c->raw_fired && d != NULL && !d->closed &&
            sockpool_put(&d->pool, c->raw_v6, c->fd)) {
            c->fd = -1;
        } else {
            if (c->reset_close && !c->retrying)
                setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
            close(c->fd);
            c->fd = -1;
        }
    }
    tcp_check_gone(c, 1);
}

static void tcp_check_on_write(uv_write_t *req, int status)
{
    struct tcp_write *w = req->data;
    struct tcp_check *c = w->check;
    int payload = w->payload;

    free(w);
    if (status == UV_ECANCELED || c->finished)
        return;
    if (status == UV_EPIPE || status == UV_ECONNRESET || status == UV_ENOTCONN) {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "connection_closed",
                         "%s closed the connection while we were sending", c->address);
        return;
    }
    if (status < 0) {
        tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "sending to %s: %s", c->address,
                         uv_strerror(status));
        return;
    }
    if (payload && !c->has_banner)
        tcp_check_succeed(c);
}

/* Writes len bytes (copied) to the connection. */
static void tcp_check_write(struct tcp_check *c, const char *data, size_t len, int payload)
{
    struct tcp_write *w = malloc(sizeof(*w) + len);
    uv_buf_t buf;
    int err;

    if (!w) {
        tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "out of memory");
        return;
    }
    w->check = c;
    w->payload = payload;
    w->len = len;
    memcpy(w->data, data, len);
    w->req.data = w;
    buf = uv_buf_init(w->data, (unsigned int)len);
    err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, tcp_check_on_write);
    if (err) {
        free(w);
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "connection_closed", "sending to %s: %s",
                         c->address, uv_strerror(err));
    }
}

static void tcp_check_flush_tls(struct tcp_check *c, int payload)
{
    size_t pending = tls_session_pending(&c->tls);
    struct tcp_write *w;
    uv_buf_t buf;

    if (pending == 0 || !c->tcp_open)
        return;
    w = malloc(sizeof(*w) + pending);
    if (!w) {
        tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "out of memory");
        return;
    }
    w->len = tls_session_take(&c->tls, w->data, pending);
    w->check = c;
    w->payload = payload;
    w->req.data = w;
    buf = uv_buf_init(w->data, (unsigned int)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, tcp_check_on_write) != 0) {
        free(w);
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "connection_closed", "%s closed the connection",
                         c->address);
    }
}

static int tcp_check_banner_matches(struct tcp_check *c)
{
#ifdef REG_STARTEND
    regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t)c->banner_len}};

    return regexec(&c->banner_re, c->banner, 1, m, REG_STARTEND) == 0;
#else
    return regexec(&c->banner_re, c->banner, 0, NULL, 0) == 0;
#endif
}

/* Plaintext from the server: keep it, match it, give up once 4 KiB are in. */
static void tcp_check_banner_add(struct tcp_check *c, const char *data, size_t len)
{
    size_t room = CHECK_TCP_BANNER_MAX - c->banner_len;

    if (len == 0 || c->finished || !c->has_banner)
        return;
    if (c->banner_len == 0)
        c->result.ttfb_us = tcp_check_elapsed_us(c);
    if (len > room)
        len = room;
    memcpy(c->banner + c->banner_len, data, len);
    c->banner_len += len;
    c->banner[c->banner_len] = '\0';
    if (tcp_check_banner_matches(c))
        tcp_check_succeed(c);
    else if (c->banner_len == CHECK_TCP_BANNER_MAX)
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "banner_mismatch",
                         "no match for /%s/ in the first %d bytes from %s", c->pattern,
                         CHECK_TCP_BANNER_MAX, c->address);
}

/* The connection ended (EOF or an error) before the check was decided. */
static void tcp_check_on_eof(struct tcp_check *c, ssize_t status)
{
    const char *how = status == UV_EOF ? "closed" : uv_strerror((int)status);

    if (c->phase == TCP_HANDSHAKING) {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "tls_handshake",
                         "connection to %s %s during the TLS handshake", c->address, how);
    } else if (c->has_banner && c->banner_len > 0) {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "banner_mismatch",
                         "no match for /%s/: connection %s after %zu bytes", c->pattern, how,
                         c->banner_len);
    } else {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "connection_closed",
                         "connection to %s %s before the server sent anything", c->address, how);
    }
}

/* Decrypted data after the handshake, into the banner. */
static void tcp_check_tls_drain(struct tcp_check *c)
{
    char err[128];
    char buf[TCP_READ_CHUNK];
    int n;

    while (!c->finished) {
        n = tls_session_read(&c->tls, buf, sizeof(buf), err, sizeof(err));
        if (n == TLS_AGAIN)
            break;
        if (n == TLS_CLOSED) {
            tcp_check_on_eof(c, UV_EOF);
        } else if (n == TLS_FAILED) {
            tcp_check_finish(c, NINES_OUTCOME_FAIL, "tls_error", "TLS error from %s: %s",
                             c->address, err);
        } else if (c->has_banner) {
            tcp_check_banner_add(c, buf, (size_t)n);
        }
    }
    if (!c->finished)
        tcp_check_flush_tls(c, 0);
}

/* Connected (and through TLS): send the payload, then wait for the banner. */
static void tcp_check_ready(struct tcp_check *c)
{
    c->phase = TCP_EXCHANGING;
    if (c->payload && c->use_tls) {
        if (tls_session_write(&c->tls, c->payload, c->payload_len) != 0) {
            tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "TLS write failed");
            return;
        }
        tcp_check_flush_tls(c, 1);
    } else if (c->payload) {
        tcp_check_write(c, c->payload, c->payload_len, 1);
    } else if (!c->has_banner) {
        tcp_check_succeed(c);
        return;
    }
    if (c->use_tls && !c->finished)
        tcp_check_tls_drain(c); /* the banner may have come with the handshake */
}

/* The handshake is through: facts, the verdict on the certificate, then on. */
static void tcp_check_handshake_done(struct tcp_check *c)
{
    int64_t days = 0;
    long verify = tls_session_verify_result(&c->tls);
    int have_days;

    c->result.tls_us = tcp_check_elapsed_us(c);
    c->tls_facts = json_object();
    have_days = c->tls_facts && tls_session_facts(&c->tls, c->tls_facts, &days) == 0;
    if (c->verify_tls && verify != 0) {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, tls_verify_reason(verify), "certificate of %s: %s",
                         c->server_name, tls_verify_text(verify));
        return;
    }
    if (have_days && c->cert_min_days > 0 && days < c->cert_min_days) {
        snprintf(c->result.warning, sizeof(c->result.warning), "cert_expiring");
        snprintf(c->result.message, sizeof(c->result.message),
                 "certificate of %.120s expires in %lld days (warning below %d)", c->server_name,
                 (long long)days, c->cert_min_days);
    }
    tcp_check_ready(c);
}

static void tcp_check_handshake_step(struct tcp_check *c)
{
    char err[128];
    int rc = tls_session_handshake(&c->tls, err, sizeof(err));

    tcp_check_flush_tls(c, 0); /* the next flight, or an alert */
    if (rc == TLS_FAILED)
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "tls_handshake",
                         "TLS handshake with %s failed: %s", c->address, err);
    else if (rc == TLS_DONE && !c->finished)
        tcp_check_handshake_done(c);
}

static void tcp_check_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_check *c = h->data;

    (void)suggested;
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void tcp_check_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_check *c = s->data;

    if (c->finished || nread == 0)
        return;
    if (nread < 0) {
        tcp_check_on_eof(c, nread);
        return;
    }
    if (!c->use_tls) {
        tcp_check_banner_add(c, buf->base, (size_t)nread);
        return;
    }
    if (tls_session_feed(&c->tls, buf->base, (size_t)nread) != 0) {
        tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "out of memory");
        return;
    }
    if (c->phase == TCP_HANDSHAKING)
        tcp_check_handshake_step(c);
    else
        tcp_check_tls_drain(c);
}

static void tcp_check_connected(struct tcp_check *c)
{
    int err;

    c->result.connect_us = tcp_check_elapsed_us(c);
    if (c->use_tls || c->has_banner) {
        err = uv_read_start((uv_stream_t *)&c->tcp, tcp_check_on_alloc, tcp_check_on_read);
        if (err) {
            tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "reading from %s: %s", c->address,
                             uv_strerror(err));
            return;
        }
    }
    if (!c->use_tls) {
        tcp_check_ready(c);
        return;
    }
    c->phase = TCP_HANDSHAKING;
    tcp_check_handshake_step(c);
}

/* A failed connect: the next address when the failure is this address's. */
static void tcp_check_connect_failed(struct tcp_check *c, int status)
{
    int local = status == UV_ECONNREFUSED || status == UV_ENETUNREACH ||
                status == UV_EHOSTUNREACH || status == UV_EADDRNOTAVAIL ||
                status == UV_EAFNOSUPPORT;

    if (local && c->addr_next < c->addr_count) {
        c->retrying = 1;
        tcp_check_close_tcp(c);
    } else if (status == UV_ECONNREFUSED) {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "connect_refused", "connection to %s refused",
                         c->address);
    } else if (status == UV_ETIMEDOUT) {
        tcp_check_finish(c, NINES_OUTCOME_TIMEOUT, "connect_timeout", "connecting to %s timed out",
                         c->address);
    } else if (status == UV_ENETUNREACH || status == UV_EHOSTUNREACH) {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "connect_unreachable", "%s: %s", c->address,
                         uv_strerror(status));
    } else {
        tcp_check_finish(c, NINES_OUTCOME_ERROR, "error", "connecting to %s: %s", c->address,
                         uv_strerror(status));
    }
}

static void tcp_check_on_connect(uv_connect_t *req, int status)
{
    struct tcp_check *c = req->data;

    if (status == UV_ECANCELED || c->finished) /* our own close */
        return;
    if (status < 0)
        tcp_check_connect_failed(c, status);
    else
        tcp_check_connected(c);
}

static void tcp_format_address(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "";

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;

        uv_ip6_name(a6, ip, sizeof(ip));
        snprintf(buf, len, "[%s]:%d", ip, ntohs(a6->sin6_port));
    } else if (len >= sizeof("255.255.255.255:65535")) {
        /* by hand: uv_ip4_name and snprintf cost about 2,800 instructions a
         * run, a fifth of the engine's own work for a plain connect check */
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        const unsigned char *b = (const unsigned char *)&a4->sin_addr.s_addr;
        size_t n = 0;

        for (int i = 0; i < 4; i++) {
            n += fmt_u64(buf + n, b[i]);
            buf[n++] = i < 3 ? '.' : ':';
        }
        n += fmt_u64(buf + n, ntohs(a4->sin_port));
        buf[n] = '\0';
    } else {
        buf[0] = '\0';
    }
}

/*
 * Starts a raw connect: a non-blocking socket in the driver's epoll set,
 * waiting to be writable. 0, or a negative errno (libuv's codes on Linux).
 * On failure the socket, if any, stays in c->fd for the close to take.
 */
static int tcp_check_raw_connect(struct tcp_check *c, const struct sockaddr *sa)
{
    struct tcp_driver *d = c->driver;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.ptr = c};
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int op = EPOLL_CTL_ADD;

    c->raw_v6 = sa->sa_family == AF_INET6;
    c->raw_fired = 0;
    c->fd = sockpool_take(&d->pool, c->raw_v6);
    if (c->fd >= 0) {
        op = EPOLL_CTL_MOD;     /* in the set already, disarmed */
    } else {
        c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            return -errno;
    }
    if (connect(c->fd, sa, len) != 0 && errno != EINPROGRESS && errno != EINTR)
        return -errno;
    if (epoll_ctl(d->epfd, op, c->fd, &ev) != 0)
        return -errno;
    c->raw_round = d->round;
    return 0;
}

/* The raw socket is writable or failed: the connect's outcome, as uv_tcp_connect reports it. */
static void tcp_check_on_raw_event(struct tcp_check *c, uint32_t events)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (c->finished || c->fd < 0)
        return;
    c->raw_fired = 1;
    /* writable with no error or hang-up: connected (a failed connect sets
     * EPOLLERR), so SO_ERROR is asked only when there is one to read */
    if ((events & (EPOLLERR | EPOLLHUP)) == 0 && (events & EPOLLOUT) != 0)
        err = 0;
    else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == EINPROGRESS) {
        /* not decided yet: wait for the next event (one-shot: re-armed) */
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.ptr = c};

        if (epoll_ctl(c->driver->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
            c->raw_fired = 0;
        return;
    }
    if (err != 0)
        tcp_check_connect_failed(c, -err);
    else
        tcp_check_connected(c);
}

/*
 * The epoll set has events: take them all in one epoll_wait. An event taken
 * in this round for a check whose socket was (re)opened in this round
 * belongs to the socket it closed (a retry on the next address): skipped.
 * No check is freed here (only from a close callback), so every pointer in
 * the batch stays valid.
 */
static void tcp_driver_on_epoll(uv_poll_t *h, int status, int events)
{
    struct tcp_driver *d = h->data;
    struct epoll_event ev[TCP_RAW_EVENTS];
    int n;

    (void)status; /* an error on the epoll fd itself: epoll_wait says */
    (void)events;
    d->round++;
    n = epoll_wait(d->epfd, ev, TCP_RAW_EVENTS, 0);
    for (int i = 0; i < n; i++) {
        struct tcp_check *c = ev[i].data.ptr;

        if (c->raw_round != d->round)
            tcp_check_on_raw_event(c, ev[i].events);
    }
}

/* The epoll set for connect-only checks, made once; 0, or -1 to use uv_tcp_t instead. */
static int tcp_driver_raw_init(struct tcp_driver *d, uv_loop_t *loop)
{
    if (d->epfd >= 0)
        return 0;
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->epfd < 0)
        return -1;
    if (uv_poll_init(loop, &d->epoll, d->epfd) != 0) {
        close(d->epfd);
        d->epfd = -1;
        return -1;
    }
    d->epoll.data = d;
    uv_poll_start(&d->epoll, UV_READABLE, tcp_driver_on_epoll);
    uv_unref((uv_handle_t *)&d->epoll);
    return 0;
}

static void tcp_check_connect_next(struct tcp_check *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->addr[c->addr_next++];
    int err;

    tcp_format_address(sa, c->address, sizeof(c->address));
    c->phase = TCP_CONNECTING;
    c->connect.data = c;
    if (c->raw)
        err = tcp_check_raw_connect(c, sa);
    else
        err = uv_tcp_connect(&c->connect, &c->tcp, sa, tcp_check_on_connect);
    if (err)
        tcp_check_connect_failed(c, err);
}

/* Adds sa (len bytes: its family decides how many are read). */
static void tcp_check_add_address(struct tcp_check *c, const struct sockaddr *sa, size_t len)
{
    struct sockaddr_storage *dst = &c->addr[c->addr_count];

    if (c->addr_count == TCP_ADDR_MAX)
        return;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        memcpy(dst, sa, sizeof(struct sockaddr_in));
        ((struct sockaddr_in *)dst)->sin_port = htons((uint16_t)c->port);
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        memcpy(dst, sa, sizeof(struct sockaddr_in6));
        ((struct sockaddr_in6 *)dst)->sin6_port = htons((uint16_t)c->port);
    } else {
        return;
    }
    c->addr_count++;
}

static void tcp_check_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tcp_check *c = req->data;

    c->resolving = 0;
    if (c->finished) {
        uv_freeaddrinfo(res);
        if (c->reported)
            tcp_check_free(c); /* reported already: this was the last hold */
        return;
    }
    c->result.dns_us = tcp_check_elapsed_us(c);
    for (struct addrinfo *ai = res; status == 0 && ai; ai = ai->ai_next)
        tcp_check_add_address(c, ai->ai_addr, ai->ai_addrlen);
    uv_freeaddrinfo(res);
    if (status < 0 || c->addr_count == 0) {
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "dns_failure", "cannot resolve %s: %s", c->host,
                         status < 0 ? uv_strerror(status) : "no address");
        return;
    }
    tcp_check_connect_next(c);
}

static void tcp_check_on_deadline(uv_timer_t *t)
{
    struct tcp_check *c = t->data;
    long long ms = (long long)c->timeout_ms;

    if (c->phase == TCP_RESOLVING)
        tcp_check_finish(c, NINES_OUTCOME_TIMEOUT, "dns_timeout",
                         "resolving %s took longer than %lld ms", c->host, ms);
    else if (c->phase == TCP_CONNECTING)
        tcp_check_finish(c, NINES_OUTCOME_TIMEOUT, "connect_timeout",
                         "no connection to %s within %lld ms", c->address, ms);
    else if (c->phase == TCP_HANDSHAKING)
        tcp_check_finish(c, NINES_OUTCOME_TIMEOUT, "timeout",
                         "TLS handshake with %s incomplete after %lld ms", c->address, ms);
    else if (c->has_banner && c->banner_len > 0)
        tcp_check_finish(c, NINES_OUTCOME_FAIL, "banner_mismatch",
                         "no match for /%s/ from %s within %lld ms", c->pattern, c->address, ms);
    else if (c->has_banner)
        tcp_check_finish(c, NINES_OUTCOME_TIMEOUT, "timeout", "%s sent nothing within %lld ms",
                         c->address, ms);
    else
        tcp_check_finish(c, NINES_OUTCOME_TIMEOUT, "timeout",
                         "sending to %s incomplete after %lld ms", c->address, ms);
}

/* A literal address ("127.0.0.1", "::1", "[::1]") into c->addr[0]; 0 if not one. */
static int tcp_check_literal(struct tcp_check *c)
{
    char ip[TCP_HOST_MAX];
    size_t n = strlen(c->host);
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;

    if (n >= 2 && c->host[0] == '[' && c->host[n - 1] == ']') {
        memcpy(ip, c->host + 1, n - 2);
        ip[n - 2] = '\0';
    } else {
        memcpy(ip, c->host, n + 1);
    }
    if (uv_ip4_addr(ip, c->port, &a4) == 0 && c->ip_version != 6) {
        tcp_check_add_address(c, (struct sockaddr *)&a4, sizeof(a4));
        return 1;
    }
    if (uv_ip6_addr(ip, c->port, &a6) == 0 && c->ip_version != 4) {
        tcp_check_add_address(c, (struct sockaddr *)&a6, sizeof(a6));
        return 1;
    }
    return 0;
}

static int tcp_check_resolve(struct tcp_check *c)
{
    struct addrinfo hints;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = c->ip_version == 4 ? AF_INET : c->ip_version == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    c->resolve.data = c;
    c->phase = TCP_RESOLVING;
    c->resolving = 1;
    if (uv_getaddrinfo(c->loop, &c->resolve, tcp_check_on_resolved, c->host, NULL, &hints) != 0) {
        c->resolving = 0;
        return NINES_ENOMEM;
    }
    return 0;
}

static int tcp_is_literal_of_other_family(const char *host, int ip_version)
{
    unsigned char buf[sizeof(struct in6_addr)];
    char ip[TCP_HOST_MAX];
    size_t n = strlen(host);

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memcpy(ip, host + 1, n - 2);
        ip[n - 2] = '\0';
    } else {
        memcpy(ip, host, n + 1);
    }
    if (ip_version == 4)
        return inet_pton(AF_INET6, ip, buf) == 1;
    if (ip_version == 6)
        return inet_pton(AF_INET, ip, buf) == 1;
    return 0;
}

static int tcp_check_validate(const struct nines_check *c)
{
    const struct nines_tcp_opts *o = &c->tcp;

    if (c->kind != NINES_KIND_TCP || !o->host || !o->host[0] || strlen(o->host) >= TCP_HOST_MAX ||
        o->port < 1 || o->port > 65535 || c->timeout_ms <= 0 || c->timeout_ms > INT32_MAX)
        return NINES_EINVAL;
    if (o->ip_version != 0 && o->ip_version != 4 && o->ip_version != 6)
        return NINES_EINVAL;
    if (tcp_is_literal_of_other_family(o->host, o->ip_version))
        return NINES_EINVAL;
    if (o->send && strlen(o->send) > TCP_SEND_MAX)
        return NINES_EINVAL;
    if (o->tls_server_name && strlen(o->tls_server_name) >= TCP_HOST_MAX)
        return NINES_EINVAL;
    return 0;
}

/* Copies the options c needs to keep. */
static int tcp_check_copy(struct tcp_check *tc, const struct nines_check *c)
{
    const struct nines_tcp_opts *o = &c->tcp;
    const char *name = o->tls_server_name && o->tls_server_name[0] ? o->tls_server_name : o->host;
    size_t n;

    fmt_copy(tc->host, sizeof(tc->host), o->host);
    n = strlen(name);
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']')
        snprintf(tc->server_name, sizeof(tc->server_name), "%.*s", (int)(n - 2), name + 1);
    else
        fmt_copy(tc->server_name, sizeof(tc->server_name), name);
    tc->port = o->port;
    tc->ip_version = o->ip_version;
    tc->use_tls = o->tls;
    tc->verify_tls = o->verify_tls;
    tc->cert_min_days = o->cert_min_days;
    tc->timeout_ms = c->timeout_ms;
    if (o->send && o->send[0]) {
        tc->payload_len = strlen(o->send);
        tc->payload = malloc(tc->payload_len + 1);
        if (!tc->payload)
            return NINES_ENOMEM;
        memcpy(tc->payload, o->send, tc->payload_len + 1);
    }
    if (o->expect_banner) {
        if (nines_regcomp(&tc->banner_re, o->expect_banner, REG_EXTENDED | REG_NOSUB) != 0)
            return NINES_EINVAL;
        tc->has_banner = 1;
        snprintf(tc->pattern, sizeof(tc->pattern), "%s", o->expect_banner);
    }
    return 0;
}

static void tcp_driver_close(void *data)
{
    struct tcp_driver *d = data;

    d->closed = 1;
    for (struct tcp_check *c = d->head; c; c = c->next)
        tcp_check_finish(c, NINES_OUTCOME_ERROR, "cancelled",
                         "check cancelled before it finished");
    if (!d->head)
        tcp_driver_free(d);
}

static struct tcp_driver *tcp_driver_get(struct check_env *env)
{
    struct check_driver *slot = &env->driver[CHECK_DRIVER_TCP];
    struct tcp_driver *d = slot->data;

    if (d)
        return d;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->epfd = -1;
    slot->data = d;
    slot->close = tcp_driver_close;
    return d;
}

/* TLS state for the run; a bad CA file ends the check with an error. */
static void tcp_check_tls_init(struct tcp_check *tc, const struct nines_check *c)
{
    char err[256];
    struct tcp_driver *d = tc->driver;

    if (!d->tls)
        d->tls = tls_cache_new();
    if (!d->tls) {
        tcp_check_finish(tc, NINES_OUTCOME_ERROR, "error", "out of memory");
        return;
    }
    if (tls_session_init(&tc->tls, d->tls,
                         c->tcp.ca_file && c->tcp.ca_file[0] ? c->tcp.ca_file : NULL,
                         tc->server_name, err, sizeof(err)) != 0)
        tcp_check_finish(tc, NINES_OUTCOME_ERROR, "error", "%s", err);
}

/* Handles are open: from here on every outcome is reported through done. */
static void tcp_check_begin(struct tcp_check *tc)
{
    if (tcp_check_literal(tc))
        tcp_check_connect_next(tc);
    else if (tcp_check_resolve(tc) != 0)
        tcp_check_finish(tc, NINES_OUTCOME_ERROR, "error", "cannot start resolving %s", tc->host);
}

/* Opens the handles and joins the driver's list: done will be called from here on. */
static void tcp_check_attach(struct tcp_check *tc, struct tcp_driver *d, uv_loop_t *loop)
{
    uv_timer_init(loop, &tc->deadline);
    tc->loop = loop;
    tc->tcp.data = tc;
    tc->deadline.data = tc;
    tc->tcp_open = 1;
    tc->open_handles = 2;
    tc->driver = d;
    tc->next = d->head;
    if (d->head)
        d->head->prev = tc;
    d->head = tc;
}

int check_tcp_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                    void *arg)
{
    struct tcp_driver *d;
    struct tcp_check *tc;
    int64_t spent_ms;
    int err;

    if (!env || !c || !done)
        return NINES_EINVAL;
    if (env->closed)
        return NINES_ESTATE;
    err = tcp_check_validate(c);
    if (err)
        return err;
    /*
     * 13 KiB, of which only the fields before rbuf need zeroing: the read
     * buffer and banner are used up to banner_len, and the result is begun
     * by nines_result_begin (all but its 4 KiB of facts zeroed).
     */
    tc = malloc(sizeof(*tc));
    if (!tc)
        return NINES_ENOMEM;
    memset(tc, 0, offsetof(struct tcp_check, rbuf));
    tc->fd = -1;
    tc->banner[0] = '\0';
    nines_result_begin(&tc->result);
    err = tcp_check_copy(tc, c);
    tc->reset_close = !env->graceful_close;
    d = err ? NULL : tcp_driver_get(env);
    /* connect only: a raw socket (see struct tcp_driver) */
    tc->raw = d && !tc->use_tls && !tc->payload && !tc->has_banner &&
              tcp_driver_raw_init(d, env->loop) == 0;
    if (!d || (!tc->raw && uv_tcp_init(env->loop, &tc->tcp) != 0)) {
        tcp_check_free(tc);
        return err ? err : NINES_ENOMEM;
    }
    tcp_check_attach(tc, d, env->loop);
    tc->done = done;
    tc->done_arg = arg;
    if (c->id)                      /* cut to fit, without printf */
        fmt_copy(tc->result.check_id, sizeof(tc->result.check_id), c->id);
    tc->result.start_ms = nines_wall_ms();
    tc->started_ns = uv_hrtime();
    if (tc->use_tls)
        tcp_check_tls_init(tc, c);
    if (tc->finished)
        return 0;
    /*
     * Phases are timed from here, so loading a CA file (once per driver) does
     * not count as connect time; the deadline still counts from the call.
     */
    uv_update_time(env->loop);
    spent_ms = (int64_t)((uv_hrtime() - tc->started_ns) / 1000000);
    tc->started_ns = uv_hrtime();
    uv_timer_start(&tc->deadline, tcp_check_on_deadline,
                   (uint64_t)(spent_ms < c->timeout_ms ? c->timeout_ms - spent_ms : 0), 0);
    tcp_check_begin(tc);
    return 0;
}
