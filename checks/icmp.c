/*
 * ICMP echo checks: a ping socket driven by a uv_poll_t, a pacing timer for
 * the requests and a deadline timer. The check owns those three handles (and
 * a getaddrinfo request for names): done is called once all three have
 * closed, the socket is closed in the poll handle's close callback, and the
 * memory goes when the request is back too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icmp.h"
#include "nines/clock.h"
#include "nines/err.h"

#define ICMP_HOST_MAX        256
#define ICMP_SPACING_MAX     10000
#define ICMP_HDR_LEN         8
#define ICMP_PAYLOAD         "nines-icmp-echo!" /* 16 bytes after the header */
#define ICMP_PACKET_MAX      512
#define ICMP_ECHO_REQUEST_V4 8
#define ICMP_ECHO_REPLY_V4   0
#define ICMP_ECHO_REQUEST_V6 128
#define ICMP_ECHO_REPLY_V6   129

/* The env's ICMP driver: the checks in flight, cancelled when it closes. */
struct icmp_driver {
    struct icmp_check *head;
    int closed; /* freed when the last check leaves */
};

struct icmp_check {
    struct icmp_check *prev;
    struct icmp_check *next;
    struct icmp_driver *driver; /* NULL once unlinked */
    uv_loop_t *loop;
    uv_getaddrinfo_t resolve;
    uv_poll_t poll;
    uv_timer_t pacer;
    uv_timer_t deadline;
    int fd;           /* -1 until the socket is open */
    int open_handles; /* close callbacks still to come */
    int resolving;    /* the getaddrinfo request is out */
    int poll_open;    /* poll is initialised and not closing */
    int finished;
    int reported;
    char host[ICMP_HOST_MAX];
    int ip_version;
    int count;
    int64_t spacing_ms;
    int max_loss_pct;
    int64_t timeout_ms;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char address[INET6_ADDRSTRLEN];
    uint16_t seq_base;
    int sent;
    int received;
    int errors;           /* requests answered by an ICMP error */
    char error_text[128]; /* the last ICMP error, for the message */
    uint64_t sent_ns[CHECK_ICMP_COUNT_MAX];
    int64_t rtt_us[CHECK_ICMP_COUNT_MAX]; /* -1: no reply yet */
    unsigned char errored[CHECK_ICMP_COUNT_MAX];
    uint64_t started_ns;
    struct nines_result result;
    check_done_cb *done;
    void *done_arg;
};

static void icmp_check_on_closed(uv_handle_t *h);
static void icmp_check_send_next(struct icmp_check *c);

static int64_t icmp_check_elapsed_us(const struct icmp_check *c)
{
    return (int64_t)((uv_hrtime() - c->started_ns) / 1000);
}

static void icmp_driver_free(struct icmp_driver *d)
{
    free(d);
}

static void icmp_check_unlink(struct icmp_check *c)
{
    struct icmp_driver *d = c->driver;

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
        icmp_driver_free(d);
}

/* Decides the outcome (the first decision wins) and closes everything. */
static void icmp_check_finish(struct icmp_check *c, enum nines_outcome outcome, const char *reason,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void icmp_check_finish(struct icmp_check *c, enum nines_outcome outcome, const char *reason,
                              const char *fmt, ...)
{
    struct nines_result *r = &c->result;
    va_list ap;

    if (c->finished)
        return;
    c->finished = 1;
    r->outcome = outcome;
    r->total_us = icmp_check_elapsed_us(c); /* the average RTT replaces it, if any */
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    uv_close((uv_handle_t *)&c->deadline, icmp_check_on_closed);
    uv_close((uv_handle_t *)&c->pacer, icmp_check_on_closed);
    if (c->poll_open) {
        c->poll_open = 0;
        uv_close((uv_handle_t *)&c->poll, icmp_check_on_closed);
    }
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolve);
}

/* Milliseconds from microseconds, to the microsecond. */
static json_t *icmp_ms(int64_t us)
{
    return json_real((double)us / 1000.0);
}

/* sent, received, loss_pct, rtt_ms {min, avg, max}, address; total_us too. */
static void icmp_check_facts(struct icmp_check *c)
{
    json_t *f = json_object();
    json_t *rtt;
    int64_t min = -1;
    int64_t max = -1;
    int64_t sum = 0;
    char *text;

    for (int i = 0; i < c->sent; i++) {
        if (c->rtt_us[i] < 0)
            continue;
        sum += c->rtt_us[i];
        min = min < 0 || c->rtt_us[i] < min ? c->rtt_us[i] : min;
        max = c->rtt_us[i] > max ? c->rtt_us[i] : max;
    }
    c->result.total_us = c->received > 0 ? sum / c->received : c->result.total_us;
    c->result.facts[0] = '\0';
    if (!f)
        return;
    json_object_set_new(f, "sent", json_integer(c->sent));
    json_object_set_new(f, "received", json_integer(c->received));
    if (c->sent > 0)
        json_object_set_new(f, "loss_pct",
                            json_integer(((c->sent - c->received) * 100 + c->sent / 2) / c->sent));
    if (c->errors > 0)
        json_object_set_new(f, "errors", json_integer(c->errors));
    if (c->received > 0) {
        rtt = json_object();
        json_object_set_new(rtt, "min", icmp_ms(min));
        json_object_set_new(rtt, "avg", icmp_ms(sum / c->received));
        json_object_set_new(rtt, "max", icmp_ms(max));
        json_object_set_new(f, "rtt_ms", rtt);
    }
    if (c->address[0])
        json_object_set_new(f, "address", json_string(c->address));
    text = json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (text && strlen(text) < sizeof(c->result.facts))
        memcpy(c->result.facts, text, strlen(text) + 1);
    free(text);
    json_decref(f);
}

static void icmp_check_report(struct icmp_check *c)
{
    icmp_check_facts(c);
    icmp_check_unlink(c);
    c->reported = 1;
    c->done(&c->result, c->done_arg);
    if (!c->resolving)
        free(c);
}

static void icmp_check_on_closed(uv_handle_t *h)
{
    struct icmp_check *c = h->data;

    if (h == (uv_handle_t *)&c->poll) {
        close(c->fd); /* only now: never while it is polled */
        c->fd = -1;
    }
    if (--c->open_handles == 0)
        icmp_check_report(c);
}

/* Every request sent is answered (or the deadline came): the verdict. */
static void icmp_check_verdict(struct icmp_check *c)
{
    int lost = c->sent - c->received;

    if (c->received == 0 && c->errors > 0) {
        icmp_check_finish(c, NINES_OUTCOME_FAIL, "icmp_unreachable", "%s: %s", c->address,
                          c->error_text);
    } else if (c->received == 0) {
        icmp_check_finish(c, NINES_OUTCOME_TIMEOUT, "icmp_timeout",
                          "no echo reply from %s to %d requests within %lld ms", c->address,
                          c->sent, (long long)c->timeout_ms);
    } else if (c->sent > 0 && (int64_t)lost * 100 > (int64_t)c->max_loss_pct * c->sent) {
        icmp_check_finish(c, NINES_OUTCOME_FAIL, "icmp_loss",
                          "%d of %d echo requests to %s lost (limit %d%%)", lost, c->sent,
                          c->address, c->max_loss_pct);
    } else {
        icmp_check_finish(c, NINES_OUTCOME_OK, "", "%s", "");
    }
}

static void icmp_check_maybe_complete(struct icmp_check *c)
{
    if (c->sent == c->count && c->received + c->errors >= c->count)
        icmp_check_verdict(c);
}

/* The index of our request with this sequence number, or -1. */
static int icmp_check_index(const struct icmp_check *c, uint16_t seq)
{
    int i = (uint16_t)(seq - c->seq_base);

    return i < c->sent ? i : -1;
}

static void icmp_check_on_reply(struct icmp_check *c, const unsigned char *p, ssize_t n)
{
    unsigned char want = c->addr.ss_family == AF_INET6 ? ICMP_ECHO_REPLY_V6 : ICMP_ECHO_REPLY_V4;
    int i;

    if (n < ICMP_HDR_LEN || p[0] != want)
        return;
    i = icmp_check_index(c, (uint16_t)(p[6] << 8 | p[7]));
    if (i < 0 || c->rtt_us[i] >= 0 || c->errored[i])
        return;
    c->rtt_us[i] = (int64_t)((uv_hrtime() - c->sent_ns[i]) / 1000);
    c->received++;
}

/* An ICMP error for one of our requests (IP_RECVERR): unreachable and kin. */
static void icmp_check_on_error(struct icmp_check *c, const struct sock_extended_err *ee,
                                const unsigned char *p, ssize_t n)
{
    char from[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr *off = SO_EE_OFFENDER(ee);
    int i;

    if (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6)
        return;
    if (off->sa_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)off, from, sizeof(from));
    else if (off->sa_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)off, from, sizeof(from));
    snprintf(c->error_text, sizeof(c->error_text), "%s (ICMP type %u code %u from %s)",
             strerror((int)ee->ee_errno), ee->ee_type, ee->ee_code, from);
    if (n < ICMP_HDR_LEN)
        return;
    i = icmp_check_index(c, (uint16_t)(p[6] << 8 | p[7]));
    if (i < 0 || c->rtt_us[i] >= 0 || c->errored[i])
        return;
    c->errored[i] = 1;
    c->errors++;
}

/* Drains the error queue; returns how many messages it held. */
static int icmp_check_drain_errors(struct icmp_check *c)
{
    unsigned char data[ICMP_PACKET_MAX];
    union {
        char buf[512];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct msghdr msg;
    struct cmsghdr *cm;
    int drained = 0;
    ssize_t n;

    for (;;) {
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        n = recvmsg(c->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (n < 0)
            return drained;
        drained++;
        for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
                (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR))
                icmp_check_on_error(c, (const struct sock_extended_err *)CMSG_DATA(cm), data, n);
        }
    }
}

/* A pending socket error without a queued message: read (and so clear) it. */
static int icmp_check_socket_error(struct icmp_check *c)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr == 0)
        return 0;
    snprintf(c->error_text, sizeof(c->error_text), "%s", strerror(soerr));
    return soerr;
}

static void icmp_check_read(struct icmp_check *c)
{
    unsigned char buf[ICMP_PACKET_MAX];
    ssize_t n;

    for (;;) {
        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0)
            return;
        icmp_check_on_reply(c, buf, n);
    }
}

static void icmp_check_on_poll(uv_poll_t *h, int status, int events)
{
    struct icmp_check *c = h->data;
    int err;

    if (c->finished)
        return;
    if (status < 0) {
        /* POLLERR: libuv stopped the watcher; the error queue says why */
        if (icmp_check_drain_errors(c) == 0 && icmp_check_socket_error(c) == 0) {
            icmp_check_finish(c, NINES_OUTCOME_ERROR, "error", "ping socket: %s",
                              uv_strerror(status));
            return;
        }
        err = uv_poll_start(&c->poll, UV_READABLE, icmp_check_on_poll);
        if (err) {
            icmp_check_finish(c, NINES_OUTCOME_ERROR, "error", "poll: %s", uv_strerror(err));
            return;
        }
    }
    if (status == 0 && (events & UV_READABLE))
        icmp_check_read(c);
    icmp_check_maybe_complete(c);
}

/* A send that failed at once: no route is the target's problem, not ours. */
static void icmp_check_send_failed(struct icmp_check *c, int err)
{
    if (err == ENETUNREACH || err == EHOSTUNREACH || err == EACCES || err == EPERM ||
        err == EADDRNOTAVAIL)
        icmp_check_finish(c, NINES_OUTCOME_FAIL, "icmp_unreachable", "sending to %s: %s",
                          c->address, strerror(err));
    else
        icmp_check_finish(c, NINES_OUTCOME_ERROR, "error", "sending to %s: %s", c->address,
                          strerror(err));
}

static void icmp_check_send_next(struct icmp_check *c)
{
    unsigned char pkt[ICMP_HDR_LEN + sizeof(ICMP_PAYLOAD) - 1];
    uint16_t seq = (uint16_t)(c->seq_base + c->sent);
    ssize_t n;
    int err;

    memset(pkt, 0, sizeof(pkt));
    pkt[0] = c->addr.ss_family == AF_INET6 ? ICMP_ECHO_REQUEST_V6 : ICMP_ECHO_REQUEST_V4;
    pkt[6] = (unsigned char)(seq >> 8); /* the kernel fills id and checksum */
    pkt[7] = (unsigned char)(seq & 0xff);
    memcpy(pkt + ICMP_HDR_LEN, ICMP_PAYLOAD, sizeof(ICMP_PAYLOAD) - 1);
    c->sent_ns[c->sent] = uv_hrtime();
    c->rtt_us[c->sent] = -1;
    n = sendto(c->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&c->addr, c->addr_len);
    err = errno;
    if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != ENOBUFS) {
        icmp_check_send_failed(c, err);
        return;
    }
    c->sent++; /* a full buffer counts as a lost request */
    if (c->sent == c->count)
        uv_timer_stop(&c->pacer);
}

static void icmp_check_on_pace(uv_timer_t *t)
{
    struct icmp_check *c = t->data;

    if (!c->finished && c->sent < c->count)
        icmp_check_send_next(c);
    if (!c->finished)
        icmp_check_maybe_complete(c);
}

static void icmp_check_on_deadline(uv_timer_t *t)
{
    struct icmp_check *c = t->data;

    if (c->resolving)
        icmp_check_finish(c, NINES_OUTCOME_TIMEOUT, "dns_timeout",
                          "resolving %s took longer than %lld ms", c->host,
                          (long long)c->timeout_ms);
    else
        icmp_check_verdict(c);
}

/* Opens the ping socket and sends the first request. */
static void icmp_check_open(struct icmp_check *c)
{
    int v6 = c->addr.ss_family == AF_INET6;
    int one = 1;
    int err;

    uv_ip_name((struct sockaddr *)&c->addr, c->address, sizeof(c->address));
    c->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    err = errno;
    if (c->fd < 0 && (err == EACCES || err == EPERM)) {
        icmp_check_finish(c, NINES_OUTCOME_ERROR, "icmp_not_permitted",
                          "ping sockets not permitted for gid %u: add it to the sysctl "
                          "net.ipv4.ping_group_range (e.g. sysctl -w "
                          "net.ipv4.ping_group_range=\"0 2147483647\")",
                          (unsigned)getgid());
        return;
    }
    if (c->fd < 0) {
        icmp_check_finish(c, NINES_OUTCOME_ERROR, "error", "ping socket: %s", strerror(err));
        return;
    }
    setsockopt(c->fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &one,
               sizeof(one));
    err = uv_poll_init_socket(c->loop, &c->poll, c->fd);
    if (err) {
        close(c->fd);
        c->fd = -1;
        icmp_check_finish(c, NINES_OUTCOME_ERROR, "error", "poll: %s", uv_strerror(err));
        return;
    }
    c->poll.data = c;
    c->poll_open = 1;
    c->open_handles++;
    uv_poll_start(&c->poll, UV_READABLE, icmp_check_on_poll);
    do {
        icmp_check_send_next(c); /* spacing 0: all at once */
    } while (c->spacing_ms == 0 && !c->finished && c->sent < c->count);
    if (!c->finished && c->sent < c->count)
        uv_timer_start(&c->pacer, icmp_check_on_pace, (uint64_t)c->spacing_ms,
                       (uint64_t)c->spacing_ms);
}

static void icmp_check_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct icmp_check *c = req->data;
    struct addrinfo *ai;

    c->resolving = 0;
    if (c->finished) {
        uv_freeaddrinfo(res);
        if (c->reported)
            free(c); /* reported already: this was the last hold */
        return;
    }
    c->result.dns_us = icmp_check_elapsed_us(c);
    for (ai = res; status == 0 && ai; ai = ai->ai_next) {
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            ai->ai_addrlen <= sizeof(c->addr))
            break;
    }
    if (status < 0 || !ai) {
        icmp_check_finish(c, NINES_OUTCOME_FAIL, "dns_failure", "cannot resolve %s: %s", c->host,
                          status < 0 ? uv_strerror(status) : "no address");
        uv_freeaddrinfo(res);
        return;
    }
    memcpy(&c->addr, ai->ai_addr, ai->ai_addrlen);
    c->addr_len = ai->ai_addrlen;
    uv_freeaddrinfo(res);
    icmp_check_open(c);
}

/* host as a literal address, brackets allowed; 1 if it was one. */
static int icmp_literal(const char *host, int ip_version, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    char ip[ICMP_HOST_MAX];
    size_t n = strlen(host);

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memcpy(ip, host + 1, n - 2);
        ip[n - 2] = '\0';
    } else {
        memcpy(ip, host, n + 1);
    }
    memset(ss, 0, sizeof(*ss));
    if (ip_version != 6 && uv_ip4_addr(ip, 0, (struct sockaddr_in *)ss) == 0) {
        *len = sizeof(struct sockaddr_in);
        return 1;
    }
    if (ip_version != 4 && uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)ss) == 0) {
        *len = sizeof(struct sockaddr_in6);
        return 1;
    }
    return 0;
}

static int icmp_check_validate(const struct nines_check *c)
{
    const struct nines_icmp_opts *o = &c->icmp;
    struct sockaddr_storage ss;
    socklen_t len;

    if (c->kind != NINES_KIND_ICMP || !o->host || !o->host[0] ||
        strlen(o->host) >= ICMP_HOST_MAX || o->count < 1 || o->count > CHECK_ICMP_COUNT_MAX ||
        o->spacing_ms < 0 || o->spacing_ms > ICMP_SPACING_MAX || o->max_loss_pct < 0 ||
        o->max_loss_pct > 100 || c->timeout_ms <= 0 || c->timeout_ms > INT32_MAX)
        return NINES_EINVAL;
    if (o->ip_version != 0 && o->ip_version != 4 && o->ip_version != 6)
        return NINES_EINVAL;
    /* a literal of the other family */
    if (o->ip_version != 0 && !icmp_literal(o->host, o->ip_version, &ss, &len) &&
        icmp_literal(o->host, 0, &ss, &len))
        return NINES_EINVAL;
    return 0;
}

static void icmp_driver_close(void *data)
{
    struct icmp_driver *d = data;

    d->closed = 1;
    for (struct icmp_check *c = d->head; c; c = c->next)
        icmp_check_finish(c, NINES_OUTCOME_ERROR, "cancelled",
                          "check cancelled before it finished");
    if (!d->head)
        icmp_driver_free(d);
}

static struct icmp_driver *icmp_driver_get(struct check_env *env)
{
    struct check_driver *slot = &env->driver[CHECK_DRIVER_ICMP];
    struct icmp_driver *d = slot->data;

    if (d)
        return d;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    slot->data = d;
    slot->close = icmp_driver_close;
    return d;
}

static void icmp_check_begin(struct icmp_check *ic)
{
    struct addrinfo hints;

    if (icmp_literal(ic->host, ic->ip_version, &ic->addr, &ic->addr_len)) {
        icmp_check_open(ic);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = ic->ip_version == 4 ? AF_INET : ic->ip_version == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    ic->resolve.data = ic;
    ic->resolving = 1;
    if (uv_getaddrinfo(ic->loop, &ic->resolve, icmp_check_on_resolved, ic->host, NULL, &hints) !=
        0) {
        ic->resolving = 0;
        icmp_check_finish(ic, NINES_OUTCOME_ERROR, "error", "cannot start resolving %s", ic->host);
    }
}

int check_icmp_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg)
{
    struct icmp_driver *d;
    struct icmp_check *ic;
    int err;

    if (!env || !c || !done)
        return NINES_EINVAL;
    if (env->closed)
        return NINES_ESTATE;
    err = icmp_check_validate(c);
    if (err)
        return err;
    d = icmp_driver_get(env);
    ic = d ? calloc(1, sizeof(*ic)) : NULL;
    if (!ic)
        return NINES_ENOMEM;
    snprintf(ic->host, sizeof(ic->host), "%s", c->icmp.host);
    ic->ip_version = c->icmp.ip_version;
    ic->count = c->icmp.count;
    ic->spacing_ms = c->icmp.spacing_ms;
    ic->max_loss_pct = c->icmp.max_loss_pct;
    ic->timeout_ms = c->timeout_ms;
    ic->loop = env->loop;
    ic->fd = -1;
    ic->done = done;
    ic->done_arg = arg;
    ic->seq_base = (uint16_t)(uv_hrtime() >> 10);
    uv_timer_init(env->loop, &ic->deadline);
    uv_timer_init(env->loop, &ic->pacer);
    ic->deadline.data = ic;
    ic->pacer.data = ic;
    ic->open_handles = 2;
    ic->driver = d;
    ic->next = d->head;
    if (d->head)
        d->head->prev = ic;
    d->head = ic;
    nines_result_init(&ic->result);
    snprintf(ic->result.check_id, sizeof(ic->result.check_id), "%s", c->id ? c->id : "");
    ic->result.start_ms = nines_wall_ms();
    uv_update_time(env->loop);
    ic->started_ns = uv_hrtime();
    uv_timer_start(&ic->deadline, icmp_check_on_deadline, (uint64_t)c->timeout_ms, 0);
    icmp_check_begin(ic);
    return 0;
}
