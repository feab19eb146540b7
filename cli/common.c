/* Helpers the subcommands share: finding and connecting to Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cli.h"

void cli_print_errors(const struct nines_errlist *errs)
{
    char line[1024];

    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "%s\n", nines_err_format(&errs->item[i], line, sizeof(line)));
    if (errs->dropped > 0)
        fprintf(stderr, "(%zu more errors not shown)\n", errs->dropped);
}

int cli_redis_addr(const char *url, const char *config_path, struct nines_redis_addr *a)
{
    struct nines_config *cfg = NULL;
    struct nines_errlist errs = { 0 };
    struct nines_err err = { 0 };
    int rc = 0;

    if (url == NULL)
        url = getenv("NINES_REDIS");
    if (url != NULL) {
        if (nines_redis_url_parse(url, a, &err) != 0) {
            fprintf(stderr, "nines: --redis: %s\n", err.msg);
            return CLI_USAGE;
        }
        return 0;
    }
    if (config_path == NULL)
        config_path = getenv("NINES_CONFIG") ? getenv("NINES_CONFIG") : "/etc/nines/nines.yaml";
    if (nines_config_load(config_path, &cfg, &errs) != 0) {
        cli_print_errors(&errs);
        return CLI_USAGE;
    }
    if (cfg->collector.redis != NULL) {
        if (nines_config_redis_addr(cfg, a, &err) != 0) {
            fprintf(stderr, "nines: %s: %s\n", config_path, err.msg);
            rc = CLI_USAGE;
        }
    } else {
        memset(a, 0, sizeof(*a));
        if ((size_t)snprintf(a->path, sizeof(a->path), "%s/redis.sock",
                             cfg->collector.data_dir) >= sizeof(a->path)) {
            fprintf(stderr, "nines: %s: data_dir is too long for a socket path\n",
                    config_path);
            rc = CLI_USAGE;
        }
    }
    nines_config_free(cfg);
    return rc;
}

static int cli_redis_ok(redisContext *c, const char *what, redisReply *r)
{
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;

    if (!ok)
        fprintf(stderr, "nines: redis %s failed: %s\n", what,
                r != NULL ? r->str : c->errstr);
    freeReplyObject(r);
    return ok;
}

redisContext *cli_redis_connect(const struct nines_redis_addr *a)
{
    struct timeval tv = { 3, 0 };
    char where[600];
    redisContext *c;

    if (a->path[0] != '\0')
        c = redisConnectUnixWithTimeout(a->path, tv);
    else
        c = redisConnectWithTimeout(a->host, a->port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "nines: cannot reach Redis at %s: %s\n",
                nines_redis_addr_str(a, where, sizeof(where)),
                c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (a->password[0] != '\0' &&
        !cli_redis_ok(c, "AUTH",
                      a->user[0] ? redisCommand(c, "AUTH %s %s", a->user, a->password)
                                 : redisCommand(c, "AUTH %s", a->password))) {
        redisFree(c);
        return NULL;
    }
    if (a->db != 0 && !cli_redis_ok(c, "SELECT", redisCommand(c, "SELECT %d", a->db))) {
        redisFree(c);
        return NULL;
    }
    return c;
}
