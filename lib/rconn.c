/* A self-healing hiredis async connection on libuv; see rconn.h. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/log.h"
#include "rconn.h"
#include "redis_uv.h"
#include "rreply.h"

#define RCONN_CONNECT_TIMEOUT_MS 5000
#define RCONN_BACKOFF_MIN_MS 100
#define RCONN_BACKOFF_MAX_MS 5000

enum rconn_phase { RCONN_IDLE, RCONN_CONNECTING, RCONN_HANDSHAKE, RCONN_UP, RCONN_CLOSED };

struct rconn {
    uv_loop_t *loop;
    struct nines_redis_addr addr;
    char role[32];
    rconn_event_cb *up;
    rconn_event_cb *down;
    void *arg;
    redisAsyncContext *ac;
    enum rconn_phase phase;
    uv_timer_t retry;        /* reconnect backoff */
    uv_timer_t watchdog;     /* connect + handshake deadline */
    int open_handles;
    int backoff_ms;
    int failures;            /* consecutive, for quieter logs */
    int block_replies;       /* rreply_use_blocks on each new context */
};

static void rconn_connect(struct rconn *rc);

static void rconn_on_retry(uv_timer_t *t)
{
    rconn_connect(t->data);
}

static void rconn_schedule_retry(struct rconn *rc)
{
    if (rc->phase == RCONN_CLOSED)
        return;
    rc->phase = RCONN_IDLE;
    uv_timer_stop(&rc->watchdog);
    uv_timer_start(&rc->retry, rconn_on_retry, (uint64_t)rc->backoff_ms, 0);
    rc->backoff_ms *= 2;
    if (rc->backoff_ms > RCONN_BACKOFF_MAX_MS)
        rc->backoff_ms = RCONN_BACKOFF_MAX_MS;
}

static void rconn_log_failure(struct rconn *rc, const char *what, const char *why)
{
    char addr[600];

    rc->failures++;
    /* the first failure and then every 20th: an outage must not flood the log */
    if (rc->failures == 1 || rc->failures % 20 == 0)
        log_warn("redis_unreachable", "role=%s addr=%s stage=%s error=\"%s\" attempts=%d",
                 rc->role, nines_redis_addr_str(&rc->addr, addr, sizeof(addr)), what, why,
                 rc->failures);
}

static void rconn_became_up(struct rconn *rc)
{
    char addr[600];

    uv_timer_stop(&rc->watchdog);
    rc->phase = RCONN_UP;
    rc->backoff_ms = RCONN_BACKOFF_MIN_MS;
    log_info("redis_connected", "role=%s addr=%s after_failures=%d", rc->role,
             nines_redis_addr_str(&rc->addr, addr, sizeof(addr)), rc->failures);
    rc->failures = 0;
    if (rc->up != NULL)
        rc->up(rc, rc->arg);
}

/* Replies to AUTH, SELECT and the final PING arrive in order; PING ends it. */
static void rconn_on_handshake(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rconn *rc = ac->data;
    redisReply *r = reply;
    long step = (long)(intptr_t)privdata;

    if (rc == NULL || rc->phase != RCONN_HANDSHAKE || r == NULL)
        return;    /* dropped: the disconnect callback handles it */
    if (r->type == REDIS_REPLY_ERROR) {
        rconn_log_failure(rc, step == 0 ? "auth" : step == 1 ? "select" : "ping", r->str);
        rc->phase = RCONN_CONNECTING;  /* so the disconnect retries quietly */
        redisAsyncDisconnect(ac);
        return;
    }
    if (step == 2)
        rconn_became_up(rc);
}

static void rconn_on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct rconn *rc = ac->data;

    if (rc == NULL)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context right after; ac->err is not set yet */
        rconn_log_failure(rc, "connect", ac->c.errstr);
        rc->ac = NULL;
        rconn_schedule_retry(rc);
        return;
    }
    rc->phase = RCONN_HANDSHAKE;
    if (rc->addr.password[0] != '\0') {
        if (rc->addr.user[0] != '\0')
            redisAsyncCommand(ac, rconn_on_handshake, (void *)(intptr_t)0, "AUTH %s %s",
                              rc->addr.user, rc->addr.password);
        else
            redisAsyncCommand(ac, rconn_on_handshake, (void *)(intptr_t)0, "AUTH %s",
                              rc->addr.password);
    }
    if (rc->addr.db != 0)
        redisAsyncCommand(ac, rconn_on_handshake, (void *)(intptr_t)1, "SELECT %d",
                          rc->addr.db);
    redisAsyncCommand(ac, rconn_on_handshake, (void *)(intptr_t)2, "PING");
}

static void rconn_on_disconnect(const redisAsyncContext *cac, int status)
{
    struct rconn *rc = cac->data;
    int was_up;

    if (rc == NULL)
        return;
    was_up = rc->phase == RCONN_UP;
    rc->ac = NULL;
    if (rc->phase == RCONN_CLOSED)
        return;
    if (was_up) {
        log_warn("redis_disconnected", "role=%s error=\"%s\"", rc->role,
                 status == REDIS_OK ? "closed" : cac->errstr);
        if (rc->down != NULL)
            rc->down(rc, rc->arg);
    }
    rconn_schedule_retry(rc);
}

/* Connect and handshake must finish within the deadline, else start over. */
static void rconn_on_watchdog(uv_timer_t *t)
{
    struct rconn *rc = t->data;
    redisAsyncContext *ac = rc->ac;

    if (ac == NULL || rc->phase == RCONN_UP)
        return;
    rconn_log_failure(rc, "connect", "timed out");
    ac->data = NULL;        /* its callbacks must not reach us any more */
    rc->ac = NULL;
    redisAsyncFree(ac);
    rconn_schedule_retry(rc);
}

static redisAsyncContext *rconn_open(struct rconn *rc)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    char ip[INET6_ADDRSTRLEN];
    redisAsyncContext *ac;

    if (rc->addr.path[0] != '\0')
        return redisAsyncConnectUnix(rc->addr.path);
    /* hiredis resolves with a blocking getaddrinfo; do it here, once per
     * attempt, and give hiredis a literal */
    if (getaddrinfo(rc->addr.host, NULL, &hints, &res) != 0 || res == NULL) {
        rconn_log_failure(rc, "resolve", "cannot resolve host");
        return NULL;
    }
    if (res->ai_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, ip, sizeof(ip));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof(ip));
    freeaddrinfo(res);
    ac = redisAsyncConnect(ip, rc->addr.port);
    return ac;
}

static void rconn_connect(struct rconn *rc)
{
    redisAsyncContext *ac;

    if (rc->phase == RCONN_CLOSED)
        return;
    ac = rconn_open(rc);
    if (ac == NULL) {
        rconn_schedule_retry(rc);
        return;
    }
    if (ac->err) {
        rconn_log_failure(rc, "connect", ac->errstr);
        redisAsyncFree(ac);
        rconn_schedule_retry(rc);
        return;
    }
    ac->data = rc;
    if (rc->block_replies)
        rreply_use_blocks(ac->c.reader);    /* nothing parsed yet */
    if (redis_uv_attach(ac, rc->loop) != 0) {
        rconn_log_failure(rc, "connect", "cannot attach to the event loop");
        redisAsyncFree(ac);
        rconn_schedule_retry(rc);
        return;
    }
    rc->ac = ac;
    rc->phase = RCONN_CONNECTING;
    /* attach first: setting the callback arms write interest (LIBRARIES.md) */
    redisAsyncSetConnectCallback(ac, rconn_on_connect);
    redisAsyncSetDisconnectCallback(ac, rconn_on_disconnect);
    uv_timer_start(&rc->watchdog, rconn_on_watchdog, RCONN_CONNECT_TIMEOUT_MS, 0);
}

struct rconn *rconn_new(uv_loop_t *loop, const struct nines_redis_addr *addr, const char *role,
                        rconn_event_cb *up, rconn_event_cb *down, void *arg)
{
    struct rconn *rc = calloc(1, sizeof(*rc));

    if (rc == NULL)
        return NULL;
    rc->loop = loop;
    rc->addr = *addr;
    snprintf(rc->role, sizeof(rc->role), "%s", role);
    rc->up = up;
    rc->down = down;
    rc->arg = arg;
    rc->backoff_ms = RCONN_BACKOFF_MIN_MS;
    uv_timer_init(loop, &rc->retry);
    uv_timer_init(loop, &rc->watchdog);
    rc->retry.data = rc;
    rc->watchdog.data = rc;
    rc->open_handles = 2;
    return rc;
}

void rconn_use_block_replies(struct rconn *rc)
{
    rc->block_replies = 1;
}

void rconn_start(struct rconn *rc)
{
    rconn_connect(rc);
}

redisAsyncContext *rconn_ctx(struct rconn *rc)
{
    return rc->phase == RCONN_UP ? rc->ac : NULL;
}

static void rconn_handle_closed(uv_handle_t *h)
{
    struct rconn *rc = h->data;

    if (--rc->open_handles == 0)
        free(rc);
}

void rconn_close(struct rconn *rc, int graceful)
{
    redisAsyncContext *ac;

    if (rc == NULL || rc->phase == RCONN_CLOSED)
        return;
    ac = rc->ac;
    rc->phase = RCONN_CLOSED;
    rc->ac = NULL;
    if (ac != NULL) {
        ac->data = NULL;
        if (graceful)
            redisAsyncDisconnect(ac);
        else
            redisAsyncFree(ac);
    }
    uv_close((uv_handle_t *)&rc->retry, rconn_handle_closed);
    uv_close((uv_handle_t *)&rc->watchdog, rconn_handle_closed);
}
