/* Dispatch from a check's kind to its engine; owns the shared drivers. */
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "check.h"
#include "curl_uv.h"
#include "dns.h"
#include "host.h"
#include "http.h"
#include "icmp.h"
#include "tcp.h"
#include "nines/err.h"

int check_env_init(struct check_env *env, uv_loop_t *loop)
{
    memset(env, 0, sizeof(*env));
    env->loop = loop;
    env->curl = curl_uv_new(loop);
    if (!env->curl)
        return NINES_ENOMEM;
    return 0;
}

/* Checks in flight complete, from the loop, with ERROR "cancelled". */
void check_env_close(struct check_env *env)
{
    if (env->curl)
        curl_uv_close(env->curl);
    env->curl = NULL;
    for (int i = 0; i < CHECK_DRIVER_MAX; i++) {
        if (env->driver[i].close != NULL)
            env->driver[i].close(env->driver[i].data);
        env->driver[i].close = NULL;
        env->driver[i].data = NULL;
    }
    env->closed = 1;
}

int check_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                void *arg)
{
    if (!env || !c || !done)
        return NINES_EINVAL;
    if (!env->curl || env->closed)
        return NINES_ESTATE;
    switch (c->kind) {
    case NINES_KIND_HTTP:
        return check_http_start(env, c, done, arg);
    case NINES_KIND_HOST:
        return check_host_start(env, c, done, arg);
    case NINES_KIND_DNS:
        return check_dns_start(env, c, done, arg);
    case NINES_KIND_TCP:
        return check_tcp_start(env, c, done, arg);
    case NINES_KIND_ICMP:
        return check_icmp_start(env, c, done, arg);
    case NINES_KIND_REDIS_CANARY:
        return check_redis_canary_start(env, c, done, arg);
    case NINES_KIND_HTTP_CANARY:
        return check_http_canary_start(env, c, done, arg);
    default:
        return NINES_EINVAL;
    }
}
