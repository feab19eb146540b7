/*
 * The Redis canary: RESP over uv_tcp (checks/ never includes hiredis), one
 * command at a time, first on the primary, then on the replica, all under
 * one deadline timer. One uv_tcp_t serves both: it is closed after the
 * primary and opened again for the replica. The run is freed once its
 * handles have closed, it has reported and no getaddrinfo is out.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "nines/wire.h"
#include "resp.h"

#define RC_KEY_MAX   512
#define RC_ADDR_TEXT 300
#define RC_RBUF      (RESP_STR_MAX + 64)
#define RC_CMD_MAX   (RC_KEY_MAX + 2 * CANARY_SECRET_MAX + 128)

enum rc_side { RC_PRIMARY = 0, RC_REPLICA = 1 };

enum rc_step {
    RC_RESOLVING, RC_CONNECTING, RC_AUTH, RC_SELECT, RC_GET_BEFORE, RC_SET, RC_GET_AFTER,
    RC_GET_REPLICA, RC_DONE,
};

struct redis_canary {
    struct canary_run run;
    uv_loop_t *loop;
    uv_getaddrinfo_t resolve;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_timer_t deadline;
    int open_handles; /* close callbacks still to come */
    int resolving;    /* the getaddrinfo request is out */
    int tcp_open;     /* tcp is not closing */
    int switching;    /* tcp closing to reach the replica */
    int finished;     /* handles closing: no more steps */
    int reported;
    int failed;       /* the outcome is decided; later failures only add to the message */
    int awaiting;     /* a reply is expected */
    enum rc_side side;
    enum rc_step step;
    struct nines_redis_addr addr[2];
    char where[2][RC_ADDR_TEXT]; /* "primary 127.0.0.1:6379" */
    int has_replica;
    char key[RC_KEY_MAX + 1];
    char id[NINES_ID_LEN];
    int64_t seq;   /* this run's write */
    int64_t ts;
    int64_t timeout_ms;
    uint64_t started_ns;
    char rbuf[RC_RBUF];
    size_t rlen;
    struct canary_facts facts;
    struct nines_result result;
    check_done_cb *done;
    void *done_arg;
};

/* One uv_write: the bytes live with the request. */
struct rc_write {
    uv_write_t req;
    struct redis_canary *rc;
    char data[];
};

static void rc_on_closed(uv_handle_t *h);
static void rc_begin_side(struct redis_canary *rc);

static void rc_free(struct redis_canary *rc)
{
    memset(rc->addr, 0, sizeof(rc->addr)); /* passwords */
    free(rc);
}

/* Closes every handle; done follows from the last close callback. */
static void rc_end(struct redis_canary *rc)
{
    if (rc->finished)
        return;
    rc->finished = 1;
    rc->step = RC_DONE;
    rc->result.total_us = (int64_t)((uv_hrtime() - rc->started_ns) / 1000);
    uv_close((uv_handle_t *)&rc->deadline, rc_on_closed);
    if (rc->tcp_open) {
        rc->tcp_open = 0;
        uv_close((uv_handle_t *)&rc->tcp, rc_on_closed);
    }
    if (rc->resolving)
        uv_cancel((uv_req_t *)&rc->resolve);
}

/* The primary is done with (well or not): on to the replica, or the end. */
static void rc_side_done(struct redis_canary *rc)
{
    if (rc->finished)
        return;
    if (rc->side == RC_PRIMARY && rc->has_replica) {
        rc->side = RC_REPLICA;
        rc->awaiting = 0;
        rc->rlen = 0;
        if (rc->tcp_open) {
            rc->switching = 1;
            rc->tcp_open = 0;
            uv_close((uv_handle_t *)&rc->tcp, rc_on_closed);
        } else {
            rc_begin_side(rc);
        }
        return;
    }
    rc_end(rc);
}

/*
 * Records a failure: the first decides outcome and reason, later ones are
 * appended to the message.
 */
static void rc_fail(struct redis_canary *rc, enum nines_outcome outcome, const char *reason,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void rc_fail(struct redis_canary *rc, enum nines_outcome outcome, const char *reason,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    canary_failv(&rc->result, &rc->failed, outcome, reason, fmt, ap);
    va_end(ap);
}

/* A failure of the current side's exchange: the write side's before the ack. */
static void rc_side_fail(struct redis_canary *rc, const char *what)
{
    int writing = rc->side == RC_PRIMARY && rc->step <= RC_SET;

    rc_fail(rc, NINES_OUTCOME_FAIL, writing ? "canary_write_failed" : "canary_read_failed",
            "%s: %s", rc->where[rc->side], what);
    rc_side_done(rc);
}

static void rc_on_write(uv_write_t *req, int status)
{
    struct rc_write *w = req->data;
    struct redis_canary *rc = w->rc;

    free(w);
    if (status == UV_ECANCELED || rc->finished || status == 0 || !rc->tcp_open)
        return;
    rc_side_fail(rc, uv_strerror(status));
}

/* Sends one command and waits for its reply. */
static void rc_send(struct redis_canary *rc, enum rc_step step, int argc,
                   const char *const *argv)
{
    struct rc_write *w = malloc(sizeof(*w) + RC_CMD_MAX);
    uv_buf_t buf;
    int n = w ? resp_format(w->data, RC_CMD_MAX, argc, argv) : NINES_ENOMEM;
    int err;

    if (n < 0) {
        free(w);
        rc_fail(rc, NINES_OUTCOME_ERROR, "error", "cannot build a command (%s)",
                n == NINES_ENOMEM ? "out of memory" : "too long");
        rc_end(rc);
        return;
    }
    w->rc = rc;
    w->req.data = w;
    rc->step = step;
    rc->awaiting = 1;
    buf = uv_buf_init(w->data, (unsigned int)n);
    err = uv_write(&w->req, (uv_stream_t *)&rc->tcp, &buf, 1, rc_on_write);
    if (err) {
        free(w);
        rc_side_fail(rc, uv_strerror(err));
    }
}

static void rc_send_get(struct redis_canary *rc, enum rc_step step)
{
    const char *argv[] = { "GET", rc->key };

    rc_send(rc, step, 2, argv);
}

/* The first command after connecting: AUTH, SELECT or the side's GET. */
static void rc_send_from(struct redis_canary *rc, enum rc_step from)
{
    const struct nines_redis_addr *a = &rc->addr[rc->side];
    char db[16];

    if (from <= RC_AUTH && a->password[0]) {
        const char *argv[] = { "AUTH", a->user[0] ? a->user : a->password, a->password };

        rc_send(rc, RC_AUTH, a->user[0] ? 3 : 2, argv);
    } else if (from <= RC_SELECT && a->db != 0) {
        const char *argv[] = { "SELECT", db };

        snprintf(db, sizeof(db), "%d", a->db);
        rc_send(rc, RC_SELECT, 2, argv);
    } else {
        rc_send_get(rc, rc->side == RC_PRIMARY ? RC_GET_BEFORE : RC_GET_REPLICA);
    }
}

/* Writes seq = max(found, remembered) + 1 with the time of writing. */
static void rc_send_set(struct redis_canary *rc, int64_t found)
{
    char value[48];
    const char *argv[] = { "SET", rc->key, value };
    int64_t seq, ts;

    rc->seq = found + 1;
    if (canary_recall(rc->run.driver, rc->id, &seq, &ts) == 0 && seq >= found)
        rc->seq = seq + 1;
    rc->ts = nines_wall_ms();
    snprintf(value, sizeof(value), "%lld:%lld", (long long)rc->seq, (long long)rc->ts);
    rc_send(rc, RC_SET, 3, argv);
}

/* A GET reply as seq and ts: 0; NIL is 1 (no value); -1 with why filled. */
static int rc_value(const struct resp_reply *r, int64_t *seq, int64_t *ts, char *why,
                    size_t len)
{
    if (r->type == RESP_NIL)
        return 1;
    if (r->type == RESP_BULK && canary_value_parse(r->str, r->len, seq, ts) == 0)
        return 0;
    if (r->type == RESP_ERROR)
        snprintf(why, len, "GET answered: %.160s", r->str);
    else
        snprintf(why, len, "the key holds '%.60s', not a canary value (SEQ:TS_MS)", r->str);
    return -1;
}

static void rc_on_auth_reply(struct redis_canary *rc, const struct resp_reply *r)
{
    if (r->type == RESP_STATUS) {
        rc_send_from(rc, RC_SELECT);
        return;
    }
    rc_fail(rc, NINES_OUTCOME_FAIL, "canary_auth_failed", "%s refused the password: %.160s",
            rc->where[rc->side], r->str);
    rc_side_done(rc);
}

static void rc_on_get_before(struct redis_canary *rc, const struct resp_reply *r)
{
    int64_t seq = 0, ts = 0;
    char why[240];

    if (rc_value(r, &seq, &ts, why, sizeof(why)) < 0) {
        if (r->type == RESP_ERROR && strncmp(r->str, "NOAUTH", 6) == 0) {
            rc_fail(rc, NINES_OUTCOME_FAIL, "canary_auth_failed", "%s wants a password: %.160s",
                    rc->where[rc->side], r->str);
            rc_side_done(rc);
            return;
        }
        rc_side_fail(rc, why);
        return;
    }
    rc->facts.found_seq = seq;       /* 0, 0 when the key held nothing */
    rc->facts.found_ts = ts;
    rc_send_set(rc, seq);
}

static void rc_on_set_reply(struct redis_canary *rc, const struct resp_reply *r)
{
    char why[240];

    if (r->type != RESP_STATUS) {
        snprintf(why, sizeof(why), "SET answered: %.160s", r->str);
        rc_side_fail(rc, why);
        return;
    }
    rc->facts.acked_seq = rc->seq;
    rc->facts.acked_ts = rc->ts;
    canary_remember(rc->run.driver, rc->id, rc->seq, rc->ts);
    rc_send_get(rc, RC_GET_AFTER);
}

static void rc_on_get_after(struct redis_canary *rc, const struct resp_reply *r)
{
    int64_t seq, ts;
    char why[240];
    int got = rc_value(r, &seq, &ts, why, sizeof(why));

    if (got == 0 && rc->side == RC_PRIMARY) {
        rc->facts.read_seq = seq;
        rc->facts.read_ts = ts;
    } else if (got == 0) {
        rc->facts.replica_seq = seq;
        rc->facts.replica_ts = ts;
    } else if (got == 1 && rc->side == RC_PRIMARY) {
        rc_side_fail(rc, "the key is missing right after the write");
        return;
    } else if (got < 0) {
        rc_side_fail(rc, why);
        return;
    }
    rc_side_done(rc);
}

static void rc_on_reply(struct redis_canary *rc, const struct resp_reply *r)
{
    rc->awaiting = 0;
    switch (rc->step) {
    case RC_AUTH:
        rc_on_auth_reply(rc, r);
        break;
    case RC_SELECT:
        if (r->type == RESP_STATUS)
            rc_send_from(rc, RC_GET_BEFORE);
        else
            rc_side_fail(rc, r->type == RESP_ERROR ? r->str : "SELECT failed");
        break;
    case RC_GET_BEFORE:
        rc_on_get_before(rc, r);
        break;
    case RC_SET:
        rc_on_set_reply(rc, r);
        break;
    case RC_GET_AFTER:
    case RC_GET_REPLICA:
        rc_on_get_after(rc, r);
        break;
    default:
        break;
    }
}

static void rc_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct redis_canary *rc = h->data;

    (void)suggested;
    *buf = uv_buf_init(rc->rbuf + rc->rlen, (unsigned int)(sizeof(rc->rbuf) - rc->rlen));
}

/* Takes the complete replies out of rbuf, one step each. */
static void rc_drain(struct redis_canary *rc)
{
    struct resp_reply r;
    const char *why = "";
    enum rc_side side = rc->side;
    int n;

    while (rc->rlen > 0 && !rc->finished && rc->side == side && rc->tcp_open) {
        n = resp_parse(rc->rbuf, rc->rlen, &r, &why);
        if (n == 0 && rc->rlen == sizeof(rc->rbuf))
            n = NINES_EPROTO, why = "reply too long";
        if (n == 0)
            return;
        if (n < 0 || !rc->awaiting) {
            rc_side_fail(rc, n < 0 ? why : "a reply nobody asked for");
            return;
        }
        memmove(rc->rbuf, rc->rbuf + n, rc->rlen - (size_t)n);
        rc->rlen -= (size_t)n;
        rc_on_reply(rc, &r);
    }
}

static void rc_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct redis_canary *rc = s->data;

    (void)buf;
    if (rc->finished || !rc->tcp_open || nread == 0)
        return;
    if (nread < 0) {
        rc_side_fail(rc, nread == UV_EOF ? "the server closed the connection"
                                         : uv_strerror((int)nread));
        return;
    }
    rc->rlen += (size_t)nread;
    rc_drain(rc);
}

static void rc_on_connect(uv_connect_t *req, int status)
{
    struct redis_canary *rc = req->data;
    char why[128];
    int err;

    if (status == UV_ECANCELED || rc->finished || !rc->tcp_open)
        return;
    if (status < 0) {
        snprintf(why, sizeof(why), "cannot connect: %s", uv_strerror(status));
        rc_side_fail(rc, why);
        return;
    }
    if (rc->side == RC_PRIMARY)
        rc->result.connect_us = (int64_t)((uv_hrtime() - rc->started_ns) / 1000);
    err = uv_read_start((uv_stream_t *)&rc->tcp, rc_on_alloc, rc_on_read);
    if (err) {
        rc_side_fail(rc, uv_strerror(err));
        return;
    }
    rc_send_from(rc, RC_AUTH);
}

static void rc_connect(struct redis_canary *rc, const struct sockaddr *sa)
{
    int err;

    rc->step = RC_CONNECTING;
    rc->connect.data = rc;
    err = uv_tcp_connect(&rc->connect, &rc->tcp, sa, rc_on_connect);
    if (err)
        rc_side_fail(rc, uv_strerror(err));
}

static void rc_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct redis_canary *rc = req->data;
    char why[160];

    rc->resolving = 0;
    if (rc->finished) {
        uv_freeaddrinfo(res);
        if (rc->reported)
            rc_free(rc); /* reported already: this was the last hold */
        return;
    }
    if (status < 0 || !res) {
        uv_freeaddrinfo(res);
        snprintf(why, sizeof(why), "cannot resolve %.100s: %s", rc->addr[rc->side].host,
                 status < 0 ? uv_strerror(status) : "no address");
        rc_side_fail(rc, why);
        return;
    }
    if (rc->side == RC_PRIMARY)
        rc->result.dns_us = (int64_t)((uv_hrtime() - rc->started_ns) / 1000);
    rc_connect(rc, res->ai_addr);
    uv_freeaddrinfo(res);
}

/* Opens the side's connection: a literal address at once, a name through getaddrinfo. */
static void rc_begin_side(struct redis_canary *rc)
{
    const struct nines_redis_addr *a = &rc->addr[rc->side];
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    struct addrinfo hints;
    char port[16];

    if (!rc->tcp_open) {
        if (uv_tcp_init(rc->loop, &rc->tcp) != 0) {
            rc_fail(rc, NINES_OUTCOME_ERROR, "error", "cannot open a socket");
            rc_end(rc);
            return;
        }
        rc->tcp.data = rc;
        rc->tcp_open = 1;
        rc->open_handles++;
    }
    if (uv_ip4_addr(a->host, a->port, &a4) == 0) {
        rc_connect(rc, (const struct sockaddr *)&a4);
        return;
    }
    if (uv_ip6_addr(a->host, a->port, &a6) == 0) {
        rc_connect(rc, (const struct sockaddr *)&a6);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", a->port);
    rc->step = RC_RESOLVING;
    rc->resolve.data = rc;
    rc->resolving = 1;
    if (uv_getaddrinfo(rc->loop, &rc->resolve, rc_on_resolved, a->host, port, &hints) != 0) {
        rc->resolving = 0;
        rc_side_fail(rc, "cannot start resolving");
    }
}

static void rc_report(struct redis_canary *rc)
{
    int64_t seq, ts;

    if (rc->facts.acked_seq < 0 && canary_recall(rc->run.driver, rc->id, &seq, &ts) == 0) {
        rc->facts.acked_seq = seq;
        rc->facts.acked_ts = ts;
    }
    canary_facts_write(&rc->facts, &rc->result);
    canary_driver_leave(&rc->run);
    rc->reported = 1;
    rc->done(&rc->result, rc->done_arg);
    if (!rc->resolving)
        rc_free(rc);
}

static void rc_on_closed(uv_handle_t *h)
{
    struct redis_canary *rc = h->data;

    rc->open_handles--;
    if (h == (uv_handle_t *)&rc->tcp && rc->switching) {
        rc->switching = 0;
        if (!rc->finished) {
            rc_begin_side(rc);
            return;
        }
    }
    if (rc->open_handles == 0)
        rc_report(rc);
}

static void rc_on_deadline(uv_timer_t *t)
{
    struct redis_canary *rc = t->data;
    int writing = rc->side == RC_PRIMARY && rc->step <= RC_SET;

    rc_fail(rc, NINES_OUTCOME_TIMEOUT, writing ? "canary_write_timeout" : "canary_read_timeout",
            "%s: no answer within %lld ms", rc->where[rc->side], (long long)rc->timeout_ms);
    rc_end(rc);
}

static void rc_cancel(struct canary_run *run)
{
    struct redis_canary *rc = (struct redis_canary *)run;

    if (rc->finished)
        return;
    rc->failed = 0;
    rc->result.message[0] = '\0';
    rc_fail(rc, NINES_OUTCOME_ERROR, "cancelled", "check cancelled before it finished");
    rc_end(rc);
}

/* "host:port" or a redis:// URL, over TCP; the secret replaces a password in it. */
static int rc_parse_addr(const char *s, const char *secret, const char *role,
                         struct nines_redis_addr *a, char *where, size_t wlen)
{
    char url[2300];
    char text[300];
    struct nines_err e;

    memset(&e, 0, sizeof(e));
    if (!s || !s[0] || strlen(s) > 2048)
        return NINES_EINVAL;
    snprintf(url, sizeof(url), "%s%s", strstr(s, "://") ? "" : "redis://", s);
    if (nines_redis_url_parse(url, a, &e) != 0 || a->path[0] || a->port <= 0)
        return NINES_EINVAL;
    if (secret && secret[0])
        snprintf(a->password, sizeof(a->password), "%s", secret);
    snprintf(where, wlen, "%s %s", role, nines_redis_addr_str(a, text, sizeof(text)));
    return 0;
}

/* Copies what the run needs; NINES_EINVAL for a bad option. */
static int rc_setup(struct redis_canary *rc, const struct nines_check *c)
{
    const struct nines_redis_canary_opts *o = &c->redis_canary;
    char secret[CANARY_SECRET_MAX];
    char why[200];
    int got, err;

    if (c->kind != NINES_KIND_REDIS_CANARY || c->timeout_ms <= 0 || c->timeout_ms > INT32_MAX
        || (o->key && (!o->key[0] || strlen(o->key) > RC_KEY_MAX)))
        return NINES_EINVAL;
    got = canary_secret_read(o->secret_env, o->secret_file, secret, sizeof(secret), why,
                             sizeof(why));
    err = rc_parse_addr(o->address, got == 0 ? secret : NULL, "primary", &rc->addr[0],
                        rc->where[0], sizeof(rc->where[0]));
    if (!err && o->replica) {
        rc->has_replica = 1;
        rc->facts.replica_given = 1;
        err = rc_parse_addr(o->replica, got == 0 ? secret : NULL, "replica", &rc->addr[1],
                            rc->where[1], sizeof(rc->where[1]));
    }
    memset(secret, 0, sizeof(secret));
    if (err)
        return err;
    snprintf(rc->id, sizeof(rc->id), "%s", c->id ? c->id : "");
    if (o->key)
        snprintf(rc->key, sizeof(rc->key), "%s", o->key);
    else
        snprintf(rc->key, sizeof(rc->key), CANARY_KEY_PREFIX "%s", rc->id);
    rc->timeout_ms = c->timeout_ms;
    if (got < 0)
        rc_fail(rc, NINES_OUTCOME_FAIL, "canary_auth_failed", "%s", why);
    return 0;
}

int check_redis_canary_start(struct check_env *env, const struct nines_check *c,
                             check_done_cb *done, void *arg)
{
    struct canary_driver *d;
    struct redis_canary *rc;
    int err;

    if (!env || !c || !done)
        return NINES_EINVAL;
    if (env->closed)
        return NINES_ESTATE;
    rc = calloc(1, sizeof(*rc));
    if (!rc)
        return NINES_ENOMEM;
    nines_result_init(&rc->result);
    canary_facts_init(&rc->facts);
    err = rc_setup(rc, c);
    d = err ? NULL : canary_driver_get(env);
    if (!d || uv_timer_init(env->loop, &rc->deadline) != 0) {
        rc_free(rc);
        return err ? err : NINES_ENOMEM;
    }
    rc->loop = env->loop;
    rc->deadline.data = rc;
    rc->open_handles = 1;
    rc->run.cancel = rc_cancel;
    canary_driver_join(d, &rc->run);
    rc->done = done;
    rc->done_arg = arg;
    snprintf(rc->result.check_id, sizeof(rc->result.check_id), "%s", rc->id);
    rc->result.start_ms = nines_wall_ms();
    rc->started_ns = uv_hrtime();
    if (rc->failed) { /* the secret is unavailable: nothing to try */
        rc_end(rc);
        return 0;
    }
    uv_timer_start(&rc->deadline, rc_on_deadline, (uint64_t)rc->timeout_ms, 0);
    rc_begin_side(rc);
    return 0;
}
