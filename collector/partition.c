/* Partition leases with renewal and fencing; see partition.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/clock.h"
#include "nines/log.h"
#include "nines/result.h"
#include "nines/wire.h"
#include "partition.h"

#define PARTITIONS_KEY_LIVE "nines:collectors"
#define PARTITIONS_TICK_MAX_MS 1000

/* Take the lease when it is free or already ours (a restart under the same
 * name): a new fencing token every time. Returns the token, or 0. */
static const char partitions_lua_acquire[] =
    "local v = redis.call('get', KEYS[1]) "
    "if v and string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then return 0 end "
    "local t = redis.call('incr', KEYS[2]) "
    "redis.call('set', KEYS[1], ARGV[1] .. ':' .. t, 'px', ARGV[2]) "
    "return t";
/* Extend the lease only while it holds our value. */
static const char partitions_lua_renew[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
/* Hand over: shorten the lease to ARGV[2] ms rather than delete it, so that
 * a blocking read of ours still in flight (at most lease/5) has ended before
 * the next owner can claim what it delivered. */
static const char partitions_lua_release[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
/* Run after WATCH: when the lease is not ours, touch the watched fence key
 * so that this client's EXEC aborts. */
static const char partitions_lua_fence[] =
    "if redis.call('get', KEYS[1]) ~= ARGV[1] then "
    "redis.call('incr', KEYS[2]) return 0 end return 1";

struct part {
    int owned;
    char value[NINES_ID_LEN + 24];  /* "<name>:<token>" */
    uint64_t valid_until_ns;        /* uv_hrtime: certainly ours until then */
};

struct partitions {
    uv_loop_t *loop;
    struct rconn *cmd;
    char name[NINES_ID_LEN];
    int n;
    int64_t lease_ms;
    partitions_changed_cb *cb;
    void *arg;
    uv_timer_t timer;
    struct part *part;
    long live;              /* collectors with a recent heartbeat */
    int ticking;            /* a tick's replies are still due */
    int tries;              /* acquisitions still to try in this tick */
    int cursor;             /* next candidate partition */
    int changed;
    int closing;
    uint64_t epoch;         /* bumped by reset: older replies are stale */
};

/* One request in flight about partition idx. */
struct partitions_req {
    struct partitions *p;
    int idx;
    uint64_t epoch;
    uint64_t sent_ns;
};

static void partitions_try_next(struct partitions *p, redisAsyncContext *ac);

static void partitions_key(char *buf, size_t size, int i, const char *suffix)
{
    snprintf(buf, size, "nines:lease:{%d}%s", i, suffix);
}

/* The lease is certainly ours for 3/4 of its length from when the command
 * that set or extended it was sent (README: why the read block is L/5). */
static uint64_t partitions_valid_until(const struct partitions *p, uint64_t sent_ns)
{
    return sent_ns + (uint64_t)p->lease_ms * 750000u;
}

static struct partitions_req *partitions_req_new(struct partitions *p, int idx)
{
    struct partitions_req *q = malloc(sizeof(*q));

    if (q == NULL) {
        log_error("out_of_memory", "where=partitions");
        return NULL;
    }
    q->p = p;
    q->idx = idx;
    q->epoch = p->epoch;
    q->sent_ns = uv_hrtime();
    return q;
}

/* Sends one script about partition i; the callback gets a partitions_req. */
static int partitions_eval(struct partitions *p, redisAsyncContext *ac, const char *lua, int i,
                           const char *arg, redisCallbackFn *fn)
{
    char lease[48], fence[48], ms[24];
    struct partitions_req *q = partitions_req_new(p, i);

    if (q == NULL)
        return NINES_ENOMEM;
    partitions_key(lease, sizeof(lease), i, "");
    partitions_key(fence, sizeof(fence), i, ":fence");
    snprintf(ms, sizeof(ms), "%lld", (long long)p->lease_ms);
    if (redisAsyncCommand(ac, fn, q, "EVAL %s 2 %s %s %s %s", lua, lease, fence, arg, ms) !=
        REDIS_OK) {
        free(q);
        return NINES_EIO;
    }
    return 0;
}

static void partitions_lose(struct partitions *p, int i, const char *why)
{
    if (!p->part[i].owned)
        return;
    p->part[i].owned = 0;
    p->changed = 1;
    log_warn("partition_lost", "partition=%d collector=%s reason=%s", i, p->name, why);
}

static void partitions_notify(struct partitions *p)
{
    if (!p->changed || p->closing)
        return;
    p->changed = 0;
    p->cb(p->arg);
}

/* Frees q; returns the reply when it is current, else NULL. */
static redisReply *partitions_req_done(struct partitions_req *q, void *reply)
{
    int current = reply != NULL && q->epoch == q->p->epoch;

    free(q);
    return current ? reply : NULL;
}

static void partitions_on_renewed(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct partitions_req *q = privdata;
    struct partitions *p = q->p;
    int i = q->idx;
    uint64_t sent = q->sent_ns;
    redisReply *r = partitions_req_done(q, reply);

    (void)ac;
    if (r == NULL || !p->part[i].owned)
        return;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
        p->part[i].valid_until_ns = partitions_valid_until(p, sent);
    else
        partitions_lose(p, i, r->type == REDIS_REPLY_ERROR ? "renew_error" : "taken_or_expired");
}

static void partitions_on_fence(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct partitions_req *q = privdata;
    struct partitions *p = q->p;
    int i = q->idx;
    redisReply *r = partitions_req_done(q, reply);

    (void)ac;
    if (r == NULL || (r->type == REDIS_REPLY_INTEGER && r->integer == 1))
        return;
    partitions_lose(p, i, "fenced");
    partitions_notify(p);
}

static void partitions_on_acquired(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct partitions_req *q = privdata;
    struct partitions *p = q->p;
    int i = q->idx;
    uint64_t sent = q->sent_ns;
    redisReply *r = partitions_req_done(q, reply);

    if (r == NULL || p->closing)
        return;
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
        struct part *pt = &p->part[i];

        pt->owned = 1;
        pt->valid_until_ns = partitions_valid_until(p, sent);
        snprintf(pt->value, sizeof(pt->value), "%s:%lld", p->name, (long long)r->integer);
        p->changed = 1;
        log_info("partition_acquired", "partition=%d collector=%s token=%lld", i, p->name,
                 (long long)r->integer);
    } else if (r->type == REDIS_REPLY_ERROR) {
        log_error("partition_acquire_failed", "partition=%d error=\"%s\"", i, r->str);
    }
    partitions_try_next(p, ac);
}

static int partitions_share(const struct partitions *p)
{
    long live = p->live > 0 ? p->live : 1;

    return (int)((p->n + live - 1) / live);
}

/* Tries the next free-looking partition while we hold less than our share;
 * one at a time, so that we never take more than the share. */
static void partitions_try_next(struct partitions *p, redisAsyncContext *ac)
{
    while (p->tries > 0 && partitions_owned_count(p) < partitions_share(p)) {
        int i = p->cursor;

        p->cursor = (p->cursor + 1) % p->n;
        p->tries--;
        if (p->part[i].owned)
            continue;
        if (partitions_eval(p, ac, partitions_lua_acquire, i, p->name,
                            partitions_on_acquired) == 0)
            return;
    }
    p->tries = 0;
    p->ticking = 0;
    partitions_notify(p);
}

static void partitions_release(struct partitions *p, redisAsyncContext *ac, int i)
{
    char lease[48], ms[24];

    partitions_key(lease, sizeof(lease), i, "");
    snprintf(ms, sizeof(ms), "%lld", (long long)(p->lease_ms / 4));
    redisAsyncCommand(ac, NULL, NULL, "EVAL %s 1 %s %s %s", partitions_lua_release, lease,
                      p->part[i].value, ms);
    p->part[i].owned = 0;
    p->changed = 1;
    log_info("partition_released", "partition=%d collector=%s", i, p->name);
}

static void partitions_on_live(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct partitions_req *q = privdata;
    struct partitions *p = q->p;
    redisReply *r = partitions_req_done(q, reply);
    int share;

    if (r == NULL || p->closing)
        return;     /* disconnected: partitions_reset clears the tick */
    if (r->type == REDIS_REPLY_INTEGER)
        p->live = r->integer;
    share = partitions_share(p);
    /* more than our share (others joined): hand back the excess, highest first */
    for (int i = p->n - 1; i >= 0 && partitions_owned_count(p) > share; i--)
        if (p->part[i].owned)
            partitions_release(p, ac, i);
    p->tries = p->n;
    partitions_try_next(p, ac);
}

static void partitions_tick(uv_timer_t *t)
{
    struct partitions *p = t->data;
    redisAsyncContext *ac = rconn_ctx(p->cmd);
    int64_t now = nines_wall_ms();
    struct partitions_req *q;

    if (ac == NULL || p->ticking || p->closing)
        return;
    redisAsyncCommand(ac, NULL, NULL, "ZADD %s %lld %s", PARTITIONS_KEY_LIVE, (long long)now,
                      p->name);
    redisAsyncCommand(ac, NULL, NULL, "ZREMRANGEBYSCORE %s -inf %lld", PARTITIONS_KEY_LIVE,
                      (long long)(now - p->lease_ms));   /* silent for a lease: gone */
    for (int i = 0; i < p->n; i++)
        if (p->part[i].owned)
            partitions_eval(p, ac, partitions_lua_renew, i, p->part[i].value,
                            partitions_on_renewed);
    q = partitions_req_new(p, -1);
    if (q == NULL)
        return;
    if (redisAsyncCommand(ac, partitions_on_live, q, "ZCARD %s", PARTITIONS_KEY_LIVE) !=
        REDIS_OK) {
        free(q);
        return;
    }
    p->ticking = 1;
}

struct partitions *partitions_new(uv_loop_t *loop, struct rconn *cmd, const char *name, int n,
                                  int64_t lease_ms, partitions_changed_cb *cb, void *arg)
{
    struct partitions *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->part = calloc((size_t)n, sizeof(*p->part));
    if (p->part == NULL || n < 1) {
        free(p->part);
        free(p);
        return NULL;
    }
    p->loop = loop;
    p->cmd = cmd;
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->n = n;
    p->lease_ms = lease_ms;
    p->cb = cb;
    p->arg = arg;
    p->live = 1;
    /* each collector starts looking at a different place: spread from the start */
    p->cursor = (int)(nines_fnv1a64(name, strlen(name)) % (uint64_t)n);
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    return p;
}

void partitions_start(struct partitions *p)
{
    uint64_t every = (uint64_t)p->lease_ms / 3;

    if (every > PARTITIONS_TICK_MAX_MS)
        every = PARTITIONS_TICK_MAX_MS;
    uv_timer_start(&p->timer, partitions_tick, 0, every);
}

int partitions_owned(const struct partitions *p, int i)
{
    return i >= 0 && i < p->n && p->part[i].owned && uv_hrtime() < p->part[i].valid_until_ns;
}

int partitions_held(const struct partitions *p, int i)
{
    return i >= 0 && i < p->n && p->part[i].owned;
}

int partitions_owned_count(const struct partitions *p)
{
    int k = 0;

    for (int i = 0; i < p->n; i++)
        k += p->part[i].owned;
    return k;
}

int partitions_fence(struct partitions *p, redisAsyncContext *ac)
{
    const char **argv = malloc((size_t)(1 + 2 * p->n) * sizeof(*argv));
    char (*keys)[48] = malloc((size_t)(2 * p->n) * sizeof(*keys));
    int argc = 1, k = 0;

    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        log_error("out_of_memory", "where=fence");
        return NINES_ENOMEM;
    }
    argv[0] = "WATCH";
    for (int i = 0; i < p->n; i++) {
        if (!p->part[i].owned)
            continue;
        partitions_key(keys[argc - 1], sizeof(keys[0]), i, "");
        argv[argc] = keys[argc - 1];
        argc++;
        partitions_key(keys[argc - 1], sizeof(keys[0]), i, ":fence");
        argv[argc] = keys[argc - 1];
        argc++;
    }
    if (argc > 1)
        redisAsyncCommandArgv(ac, NULL, NULL, argc, argv, NULL);
    for (int i = 0; i < p->n; i++)
        if (p->part[i].owned &&
            partitions_eval(p, ac, partitions_lua_fence, i, p->part[i].value,
                            partitions_on_fence) == 0)
            k++;
    free(argv);
    free(keys);
    return k;
}

void partitions_reset(struct partitions *p)
{
    for (int i = 0; i < p->n; i++)
        p->part[i].owned = 0;
    p->epoch++;
    p->ticking = 0;
    p->tries = 0;
    p->changed = 0;
}

void partitions_check_now(struct partitions *p)
{
    if (!p->closing && !p->ticking)
        uv_timer_start(&p->timer, partitions_tick, 0, p->timer.repeat);
}

void partitions_close(struct partitions *p)
{
    redisAsyncContext *ac;

    if (p == NULL || p->closing)
        return;
    ac = rconn_ctx(p->cmd);
    for (int i = 0; ac != NULL && i < p->n; i++)
        if (p->part[i].owned)
            partitions_release(p, ac, i);
    if (ac != NULL)
        redisAsyncCommand(ac, NULL, NULL, "ZREM %s %s", PARTITIONS_KEY_LIVE, p->name);
    p->closing = 1;
    uv_close((uv_handle_t *)&p->timer, NULL);
}

void partitions_free(struct partitions *p)
{
    if (p == NULL)
        return;
    free(p->part);
    free(p);
}
