/* The common part of an end-to-end test's world; see e2eworld.h. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "nines/wire.h"
#include "http_client.h"
#include "proc.h"
#include "testutil.h"

void e2eworld_token_hash(const char *token, char out[72])
{
    unsigned char d[32];
    unsigned int n = 0;

    EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
}

void e2eworld_open(struct e2eworld *w)
{
    memset(w, 0, sizeof(*w));
    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->redis, 0), 0));
    snprintf(w->cfg, sizeof(w->cfg), "%s/nines.yaml", w->dir);
}

void e2eworld_config(struct e2eworld *w, const char *yaml)
{
    cr_assert(eq(int, test_write_file(w->cfg, yaml), 0), "cannot write %s", w->cfg);
}

pid_t e2eworld_collector(struct e2eworld *w, const char *log_name,
                         const char *const env_extra[])
{
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", w->cfg, NULL };
    char log[400];

    snprintf(log, sizeof(log), "%s/%s", w->dir, log_name);
    w->collector = proc_spawn_env(argv, log, env_extra);
    return w->collector;
}

pid_t e2eworld_probe(struct e2eworld *w)
{
    const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", w->redis.url, "--name",
                           "p1", "--location", "local", "--poll-ms", "200", NULL };
    char log[400];

    snprintf(log, sizeof(log), "%s/probe.log", w->dir);
    w->probe = proc_spawn(argv, log);
    return w->probe;
}

int e2eworld_read_api_addr(const char *data_dir, char *base, size_t len)
{
    char path[400], *t;

    snprintf(path, sizeof(path), "%s/api.addr", data_dir);
    t = test_read_file(path);
    if (t == NULL)
        return -1;
    t[strcspn(t, "\n")] = '\0';
    snprintf(base, len, "%s", t);
    free(t);
    return 0;
}

struct e2eworld_addr_wait {
    char data[300];
    char *base;
    size_t len;
};

static int e2eworld_addr_ready(void *arg)
{
    struct e2eworld_addr_wait *a = arg;

    return e2eworld_read_api_addr(a->data, a->base, a->len) == 0;
}

int e2eworld_wait_api_addr(const char *dir, char *base, size_t len, int timeout_ms)
{
    struct e2eworld_addr_wait a = { .base = base, .len = len };

    snprintf(a.data, sizeof(a.data), "%s/data", dir);
    return test_wait_until(e2eworld_addr_ready, &a, timeout_ms);
}

int e2eworld_api_ready(void *arg)
{
    struct e2eworld *w = arg;
    char data[300];

    snprintf(data, sizeof(data), "%s/data", w->dir);
    return e2eworld_read_api_addr(data, w->base, sizeof(w->base)) == 0;
}

int e2eworld_wait_api(struct e2eworld *w, int timeout_ms)
{
    return test_wait_until(e2eworld_api_ready, w, timeout_ms);
}

static int e2eworld_published(void *arg)
{
    struct e2eworld *w = arg;
    redisContext *c = redis_fixture_connect(&w->redis);
    redisReply *r = c != NULL ? redisCommand(c, "EXISTS %s", NINES_KEY_CATALOGUE) : NULL;
    int yes = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

    freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    return yes;
}

int e2eworld_wait_published(struct e2eworld *w, int timeout_ms)
{
    return test_wait_until(e2eworld_published, w, timeout_ms);
}

int e2eworld_request(const struct e2eworld *w, const char *method, const char *path,
                     const char *token, const char *json, char *out, size_t outlen)
{
    char url[1024];

    snprintf(url, sizeof(url), "%.127s%.800s", w->base, path);
    return http_request(method, url, token, json, out, outlen);
}

void e2eworld_close(struct e2eworld *w)
{
    if (w->probe > 0)
        proc_stop(w->probe, 3000);
    if (w->collector > 0)
        proc_stop(w->collector, w->collector_stop_ms > 0 ? w->collector_stop_ms : 5000);
    redis_fixture_stop(&w->redis);
    if (w->dir[0] != '\0' && getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(w->dir);
}

int e2e_run(const char *const argv[], const char *const env_extra[], char *out, size_t outlen,
            char *err, size_t errlen, int timeout_ms)
{
    int code = -1;

    cr_assert(eq(int, proc_run_full(argv, env_extra, out, outlen, err, errlen, timeout_ms,
                                    &code), 0),
              "%s: not started, or still running after %d ms", argv[0], timeout_ms);
    return code;
}

void e2e_redis_do(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(ne(ptr, r, NULL));
    cr_assert(ne(int, r->type, REDIS_REPLY_ERROR), "%s", r->str);
    freeReplyObject(r);
}

void e2e_notification_delivered(redisContext *c, const char *inc, int64_t created, int64_t lat)
{
    e2e_redis_do(c, "HSET nines:outbox:item:pager/check_down/%s/firing state delivered receiver "
                    "pager created_ms %" PRId64 " delivered_ms %" PRId64 " attempts 1", inc,
                 created, created + lat);
}
