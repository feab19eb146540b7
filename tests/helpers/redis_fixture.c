/* A real redis-server per test. See redis_fixture.h. */
#include "redis_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "nines/wire.h"
#include "proc.h"
#include "testutil.h"

#define REDIS_FIXTURE_READY_MS 5000
#define REDIS_FIXTURE_STOP_MS 2000
#define REDIS_FIXTURE_PORT_TRIES 5

/* Spawns redis-server with f's dir, socket and port (0: no TCP). Returns pid or -1. */
static pid_t redis_fixture_spawn(const struct redis_fixture *f)
{
    char port[16];
    char log_path[300];
    const char *argv[] = {
        "redis-server", "--port", port, "--bind", "127.0.0.1",
        "--unixsocket", f->sock, "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--dir", f->dir,
        "--daemonize", "no", NULL,
    };

    snprintf(port, sizeof(port), "%d", f->port);
    snprintf(log_path, sizeof(log_path), "%s/redis.log", f->dir);
    return proc_spawn(argv, log_path);
}

int redis_fixture_ping(const struct redis_fixture *f)
{
    struct timeval tv = { 0, 500000 };
    redisContext *c = redisConnectUnixWithTimeout(f->sock, tv);
    redisReply *r;
    int ok = 0;

    if (c == NULL)
        return 0;
    if (c->err == 0 && redisSetTimeout(c, tv) == REDIS_OK) {
        r = redisCommand(c, "PING");
        ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r != NULL)
            freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

/* test_wait_until condition: the server answers, or it has exited (no point waiting). */
static int redis_fixture_settled(void *arg)
{
    const struct redis_fixture *f = arg;

    return !proc_alive(f->pid) || redis_fixture_ping(f);
}

/*
 * Spawns the server for f's current settings and waits until it answers PING. On
 * failure the process is gone and f->pid is 0. Returns 0 or -1.
 */
static int redis_fixture_launch(struct redis_fixture *f)
{
    f->pid = redis_fixture_spawn(f);
    if (f->pid <= 0) {
        f->pid = 0;
        return -1;
    }
    test_wait_until(redis_fixture_settled, f, REDIS_FIXTURE_READY_MS);
    if (proc_alive(f->pid) && redis_fixture_ping(f))
        return 0;
    proc_stop(f->pid, REDIS_FIXTURE_STOP_MS);
    f->pid = 0;
    return -1;
}

/* Fills sock/url/tcp_url from dir and port. */
static void redis_fixture_set_urls(struct redis_fixture *f)
{
    snprintf(f->url, sizeof(f->url), "unix://%s", f->sock);
    f->tcp_url[0] = '\0';
    if (f->port > 0)
        snprintf(f->tcp_url, sizeof(f->tcp_url), "redis://127.0.0.1:%d", f->port);
}

int redis_fixture_start(struct redis_fixture *f, int with_tcp)
{
    int tries = with_tcp ? REDIS_FIXTURE_PORT_TRIES : 1;
    int i;

    memset(f, 0, sizeof(*f));
    if (test_tmpdir(f->dir, sizeof(f->dir)) < 0)
        return -1;
    snprintf(f->sock, sizeof(f->sock), "%s/redis.sock", f->dir);
    for (i = 0; i < tries; i++) {
        f->port = with_tcp ? test_unused_port() : 0;
        if (f->port < 0)
            break;
        if (redis_fixture_launch(f) == 0) {
            redis_fixture_set_urls(f);
            return 0;
        }
    }
    redis_fixture_stop(f);
    return -1;
}

int redis_fixture_kill9(struct redis_fixture *f)
{
    if (f->pid <= 0 || proc_signal(f->pid, SIGKILL) < 0)
        return -1;
    proc_wait(f->pid, REDIS_FIXTURE_STOP_MS, NULL);
    f->pid = 0;
    return 0;
}

int redis_fixture_restart(struct redis_fixture *f)
{
    if (f->dir[0] == '\0' || (f->pid > 0 && proc_alive(f->pid)))
        return -1;
    return redis_fixture_launch(f);
}

void redis_fixture_stop(struct redis_fixture *f)
{
    if (f->pid > 0)
        proc_stop(f->pid, REDIS_FIXTURE_STOP_MS);
    if (f->dir[0] != '\0')
        test_rmtree(f->dir);
    memset(f, 0, sizeof(*f));
}

redisContext *redis_fixture_connect(const struct redis_fixture *f)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectUnixWithTimeout(f->sock, tv);

    if (c != NULL && c->err != 0) {
        redisFree(c);
        c = NULL;
    }
    return c;
}

long long redis_fixture_unapplied(const struct redis_fixture *f, const char *stream,
                                  long long max)
{
    redisContext *c = redis_fixture_connect(f);
    redisReply *g = c ? redisCommand(c, "GET nines:applied:%s", stream) : NULL, *r = NULL;
    long long n = -1;

    if (g != NULL && (g->type == REDIS_REPLY_STRING || g->type == REDIS_REPLY_NIL))
        r = redisCommand(c, "XRANGE %s %s%s + COUNT %lld", stream,
                         g->type == REDIS_REPLY_STRING ? "(" : "",
                         g->type == REDIS_REPLY_STRING ? g->str : "-", max);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY)
        n = (long long)r->elements;
    freeReplyObject(g);
    freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    return n;
}

int redis_fixture_entry_result(const redisReply *fields, struct nines_result *out)
{
    const char *f[2 * NINES_WIRE_MAX_FIELDS + 8];
    size_t len[2 * NINES_WIRE_MAX_FIELDS + 8];
    struct nines_err err = { 0 };

    nines_result_init(out);
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY ||
        fields->elements > sizeof(f) / sizeof(f[0]))
        return NINES_EPROTO;
    for (size_t i = 0; i < fields->elements; i++) {
        if (fields->element[i]->type != REDIS_REPLY_STRING)
            return NINES_EPROTO;
        f[i] = fields->element[i]->str;
        len[i] = fields->element[i]->len;
    }
    return nines_wire_decode(f, len, fields->elements, out, &err);
}
