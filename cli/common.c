/*
 * Helpers the subcommands share: finding the config and Redis, and reading the
 * options several commands take alike (a month, a customer, a choice of format).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cli.h"
#include "nines/clock.h"
#include "tz.h"

void cli_print_errors(const struct nines_errlist *errs)
{
    char line[1024];

    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "%s\n", nines_err_format(&errs->item[i], line, sizeof(line)));
    if (errs->dropped > 0)
        fprintf(stderr, "(%zu more errors not shown)\n", errs->dropped);
}

const char *cli_config_path(const char *path)
{
    if (path != NULL)
        return path;
    return getenv("NINES_CONFIG") ? getenv("NINES_CONFIG") : "/etc/nines/nines.yaml";
}

struct nines_config *cli_config_load(const char *path)
{
    struct nines_errlist errs = { 0 };
    struct nines_config *cfg = NULL;

    if (nines_config_load(path, &cfg, &errs) != 0) {
        cli_print_errors(&errs);
        return NULL;
    }
    return cfg;
}

/* --redis or $NINES_REDIS into *a: 1 if there is one (*rc then 0 or CLI_USAGE), else 0. */
static int cli_redis_url(const char *url, struct nines_redis_addr *a, int *rc)
{
    struct nines_err err = { 0 };

    if (url == NULL)
        url = getenv("NINES_REDIS");
    if (url == NULL)
        return 0;
    *rc = 0;
    if (nines_redis_url_parse(url, a, &err) != 0) {
        fprintf(stderr, "nines: --redis: %s\n", err.msg);
        *rc = CLI_USAGE;
    }
    return 1;
}

int cli_redis_addr_cfg(const char *url, const struct nines_config *cfg,
                       struct nines_redis_addr *a)
{
    struct nines_err err = { 0 };
    int rc;

    if (cli_redis_url(url, a, &rc))
        return rc;
    if (cfg->collector.redis != NULL) {
        if (nines_config_redis_addr(cfg, a, &err) != 0) {
            fprintf(stderr, "nines: %s: %s\n", cfg->path, err.msg);
            return CLI_USAGE;
        }
        return 0;
    }
    memset(a, 0, sizeof(*a));
    if ((size_t)snprintf(a->path, sizeof(a->path), "%s/redis.sock", cfg->collector.data_dir) >=
        sizeof(a->path)) {
        fprintf(stderr, "nines: %s: data_dir is too long for a socket path\n", cfg->path);
        return CLI_USAGE;
    }
    return 0;
}

int cli_redis_addr(const char *url, const char *config_path, struct nines_redis_addr *a)
{
    struct nines_config *cfg;
    int rc;

    if (cli_redis_url(url, a, &rc))
        return rc;                  /* the config is not read at all */
    if ((cfg = cli_config_load(cli_config_path(config_path))) == NULL)
        return CLI_USAGE;
    rc = cli_redis_addr_cfg(NULL, cfg, a);
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

int cli_redis_open(const char *url, const char *config_path, const struct nines_config *cfg,
                   redisContext **rc)
{
    struct nines_redis_addr addr;
    int ret = cfg != NULL ? cli_redis_addr_cfg(url, cfg, &addr)
                          : cli_redis_addr(url, config_path, &addr);

    if (ret != 0)
        return ret;
    *rc = cli_redis_connect(&addr);
    return *rc != NULL ? 0 : CLI_UNREACHABLE;
}

const struct nines_customer_cfg *cli_customer(const struct nines_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->customers_count; i++)
        if (strcmp(cfg->customers[i].id, id) == 0)
            return &cfg->customers[i];
    return NULL;
}

int cli_parse_month(const char *s, int *y, int *m)
{
    char tail;

    return strlen(s) == 7 && s[4] == '-' && sscanf(s, "%4d-%2d%c", y, m, &tail) == 2 &&
                   *y >= 1971 && *m >= 1 && *m <= 12
               ? 0
               : -1;
}

int cli_month_now(const char *tzname, int *y, int *m)
{
    struct nines_tz *tz = nines_tz_load(tzname ? tzname : "UTC", NULL);
    struct nines_tm tm;

    if (tz == NULL)
        return -1;
    nines_tz_utc_to_local(tz, nines_wall_ms(), &tm);
    nines_tz_free(tz);
    *y = tm.year;
    *m = tm.month;
    return 0;
}

int cli_one_of(const char *cmd, const char *flag, const char *value, const char *const choices[])
{
    char list[256] = "";
    size_t n, len = 0;

    for (n = 0; choices[n] != NULL; n++)
        if (strcmp(value, choices[n]) == 0)
            return 1;
    /* "a, b or c": one line, written at once */
    for (size_t i = 0; i < n && len < sizeof(list); i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
                                i == 0 ? "" : i + 1 < n ? ", " : " or ", choices[i]);
    fprintf(stderr, "%s: %s '%s': expected %s\n", cmd, flag, value, list);
    return 0;
}

int cli_compute_exit(int nines_rc)
{
    return nines_rc == NINES_EIO || nines_rc == NINES_EPROTO ? CLI_UNREACHABLE : CLI_USAGE;
}
