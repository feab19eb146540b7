/*
 * The hiredis <-> libuv glue (lib/redis_uv.c) against a real redis-server:
 * its own writes of hiredis's output buffer, from an offset, must send
 * every byte once and in order, across partial writes of a buffer many
 * times larger than the socket takes at once, with commands added from
 * reply callbacks meanwhile (hiredis 0.14's formats have no %zu: %d with
 * casts); and a server that dies mid-write must fail
 * every pending callback (NULL) rather than hang or crash.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/async.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <uv.h>

#include "looputil.h"
#include "redis_fixture.h"
#include "redis_uv.h"

#define RU_KEYS 2000
#define RU_VALUE 4096       /* 2,000 x 4 KiB: about 8 MiB in one iteration */

struct ru {
    uv_loop_t loop;
    uv_timer_t tick;
    redisAsyncContext *ac;
    int connected, disconnected, disconnect_status;
    size_t sets_ok, gets_ok, gets_bad, nulls, extra_ok, extra_nulls;
    char value[RU_VALUE + 1];
};

static void ru_on_connect(const redisAsyncContext *ac, int status)
{
    struct ru *u = ac->data;

    u->connected = status == REDIS_OK ? 1 : -1;
}

static void ru_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct ru *u = ac->data;

    u->disconnected = 1;
    u->disconnect_status = status;
    u->ac = NULL;
}

static int ru_is_connected(void *arg)
{
    return ((struct ru *)arg)->connected != 0;
}

static void ru_open(struct ru *u, const struct redis_fixture *f)
{
    memset(u, 0, sizeof(*u));
    cr_assert(eq(int, uv_loop_init(&u->loop), 0));
    cr_assert(eq(int, uv_timer_init(&u->loop, &u->tick), 0));
    u->ac = redisAsyncConnectUnix(f->sock);
    cr_assert(ne(ptr, u->ac, NULL));
    cr_assert(eq(int, u->ac->err, 0), "%s", u->ac->errstr);
    u->ac->data = u;
    cr_assert(eq(int, redis_uv_attach(u->ac, &u->loop), 0));
    redisAsyncSetConnectCallback(u->ac, ru_on_connect);
    redisAsyncSetDisconnectCallback(u->ac, ru_on_disconnect);
    cr_assert(test_loop_until(&u->loop, &u->tick, ru_is_connected, u, 5000), "no connect");
    cr_assert(eq(int, u->connected, 1));
    /* each key's value differs from the others': a byte sent twice or out of
     * order would show as a wrong value somewhere */
    memset(u->value, 'v', RU_VALUE);
}

static void ru_close(struct ru *u)
{
    if (u->ac != NULL)
        redisAsyncFree(u->ac);
    u->ac = NULL;
    uv_run(&u->loop, UV_RUN_NOWAIT);
    uv_close((uv_handle_t *)&u->tick, NULL);
    while (uv_run(&u->loop, UV_RUN_NOWAIT) != 0)
        ;
    cr_expect(eq(int, uv_loop_close(&u->loop), 0), "a handle was left open");
}

static void ru_on_set(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct ru *u = ac->data;
    redisReply *r = reply;

    (void)privdata;
    if (r == NULL)
        u->nulls++;
    else if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0)
        u->sets_ok++;
}

static void ru_on_extra(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct ru *u = ac->data;
    redisReply *r = reply;

    if (r == NULL)
        u->extra_nulls++;
    else if (r->type == REDIS_REPLY_INTEGER && r->integer == (long long)(intptr_t)privdata)
        u->extra_ok++;
}

static void ru_on_get(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct ru *u = ac->data;
    redisReply *r = reply;
    size_t i = (size_t)(intptr_t)privdata;
    char head[32];
    int n = snprintf(head, sizeof(head), "%zu:", i);

    if (r == NULL) {
        u->nulls++;
        return;
    }
    if (r->type == REDIS_REPLY_STRING && r->len == RU_VALUE &&
        memcmp(r->str, head, (size_t)n) == 0 && r->str[RU_VALUE - 1] == 'v')
        u->gets_ok++;
    else
        u->gets_bad++;
    /* a command added from a callback while the big buffer may still be
     * going out: it must follow, in order, after everything queued before */
    if (i % 100 == 0)
        redisAsyncCommand(ac, ru_on_extra, (void *)(intptr_t)RU_VALUE, "STRLEN ru:%d", (int)i);
}

/* Queues RU_KEYS SETs of distinct 4 KiB values and their GETs at once. */
static void ru_queue_round(struct ru *u, int round)
{
    for (size_t i = 0; i < RU_KEYS; i++) {
        int n = snprintf(u->value, sizeof(u->value), "%zu:%d:", i, round);

        u->value[n] = 'x';      /* snprintf's NUL replaced: the value is RU_VALUE bytes */
        cr_assert(eq(int, redisAsyncCommand(u->ac, ru_on_set, NULL, "SET ru:%d %b", (int)i, u->value,
                                            (size_t)RU_VALUE), REDIS_OK));
    }
    for (size_t i = 0; i < RU_KEYS; i++)
        cr_assert(eq(int, redisAsyncCommand(u->ac, ru_on_get, (void *)(intptr_t)i, "GET ru:%d", (int)i),
                     REDIS_OK));
}

static int ru_round_done(void *arg)
{
    struct ru *u = arg;

    return u->gets_ok + u->gets_bad + u->nulls >= RU_KEYS &&
           u->extra_ok + u->extra_nulls >= RU_KEYS / 100;
}

Test(redis_uv, megabytes_in_one_iteration_arrive_whole_and_in_order, .timeout = 60)
{
    struct redis_fixture f;
    struct ru u;

    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    ru_open(&u, &f);
    for (int round = 0; round < 3; round++) {
        u.sets_ok = u.gets_ok = u.gets_bad = u.extra_ok = 0;
        ru_queue_round(&u, round);
        cr_assert(test_loop_until(&u.loop, &u.tick, ru_round_done, &u, 30000),
                  "round %d: %zu gets, %zu extra", round, u.gets_ok, u.extra_ok);
        cr_expect(eq(sz, u.sets_ok, RU_KEYS), "round %d", round);
        cr_expect(eq(sz, u.gets_ok, RU_KEYS), "round %d", round);
        cr_expect(eq(sz, u.gets_bad, 0), "round %d", round);
        cr_expect(eq(sz, u.nulls + u.extra_nulls, 0), "round %d", round);
        /* the buffer is handed back empty: nothing is left to send */
        cr_expect(eq(sz, sdslen(u.ac->c.obuf), 0), "round %d", round);
    }
    ru_close(&u);
    redis_fixture_stop(&f);
}

static int ru_gone(void *arg)
{
    return ((struct ru *)arg)->disconnected;
}

Test(redis_uv, a_server_killed_mid_write_fails_every_callback, .timeout = 60)
{
    struct redis_fixture f;
    struct ru u;

    /* as the programs do (probe/main.c, collector/main.c): a write to a
     * dead peer is an EPIPE for hiredis to see, not a signal */
    signal(SIGPIPE, SIG_IGN);
    cr_assert(eq(int, redis_fixture_start(&f, 0), 0));
    ru_open(&u, &f);
    ru_queue_round(&u, 0);
    /* one loop pass: the socket is full, most of the buffer still ours */
    uv_run(&u.loop, UV_RUN_NOWAIT);
    cr_assert(gt(sz, sdslen(u.ac->c.obuf), (size_t)RU_VALUE), "all of it went out at once");
    cr_assert(eq(int, redis_fixture_kill9(&f), 0));
    cr_assert(test_loop_until(&u.loop, &u.tick, ru_gone, &u, 10000), "no disconnect");
    cr_expect(eq(int, u.disconnect_status, REDIS_ERR));
    cr_expect(eq(sz, u.sets_ok + u.gets_ok + u.nulls, 2 * (size_t)RU_KEYS),
              "every callback ran once: %zu sets, %zu gets, %zu NULL", u.sets_ok, u.gets_ok,
              u.nulls);
    ru_close(&u);
    redis_fixture_stop(&f);
}
