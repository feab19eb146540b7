/*
 * nines maintenance add ID [--check C]... [--service S]...
 *                          (--start T --end T | --recurring "sun 02:00 2h Europe/Berlin")
 *                          [--reason TEXT]
 * nines maintenance list [--json]
 * nines maintenance rm ID
 *
 * Windows are stored in Redis (nines:maintenance, one JSON value per id, the
 * format the API takes); the collector picks changes up within 10 s.
 * Windows from the configuration file are listed but changed there.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nines/clock.h"
#include "sla.h"

static int maint_usage(FILE *f)
{
    fprintf(f, "usage: nines maintenance add ID [--check C]... [--service S]...\n"
               "           (--start T --end T | --recurring \"DAYS HH:MM DURATION [ZONE]\")\n"
               "           [--reason TEXT] [-c FILE | --redis URL]\n"
               "       nines maintenance list [--json] [-c FILE | --redis URL]\n"
               "       nines maintenance rm ID [-c FILE | --redis URL]\n"
               "T: 2026-12-01T22:00:00Z or ms since the epoch. DAYS: sun, mon-fri, daily,\n"
               "weekdays, sat,sun. No --check/--service: the window covers everything.\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

static redisContext *maint_connect(const char *url, const char *config, int *rc)
{
    struct nines_redis_addr addr;
    redisContext *c;

    *rc = cli_redis_addr(url, config, &addr);
    if (*rc != 0)
        return NULL;
    c = cli_redis_connect(&addr);
    if (c == NULL)
        *rc = CLI_UNREACHABLE;
    return c;
}

static int maint_add(int argc, char **argv, const char *url, const char *config)
{
    static const struct option longopts[] = {
        { "check", required_argument, NULL, 'k' },  { "service", required_argument, NULL, 's' },
        { "start", required_argument, NULL, 'b' },  { "end", required_argument, NULL, 'e' },
        { "recurring", required_argument, NULL, 'R' },
        { "reason", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 },
    };
    json_t *o = json_object(), *checks = json_array(), *services = json_array();
    struct nines_err err = { 0 };
    struct sla_maint m;
    int64_t t;
    char *js;
    int c, rc = 0;
    redisContext *rcx;
    redisReply *r;

    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "services", services);
    optind = 2;
    while (rc == 0 && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'k')
            json_array_append_new(checks, json_string(optarg));
        else if (c == 's')
            json_array_append_new(services, json_string(optarg));
        else if (c == 'R')
            json_object_set_new(o, "recurring", json_string(optarg));
        else if (c == 'n')
            json_object_set_new(o, "reason", json_string(optarg));
        else if ((c == 'b' || c == 'e') && cli_parse_time(optarg, &t) == 0)
            json_object_set_new(o, c == 'b' ? "start_ms" : "end_ms", json_integer(t));
        else if (c == 'b' || c == 'e') {
            fprintf(stderr, "nines: --%s: '%s' is not a time\n", c == 'b' ? "start" : "end",
                    optarg);
            rc = CLI_USAGE;
        } else
            rc = CLI_USAGE;
    }
    if (rc == 0 && optind + 1 != argc)
        rc = maint_usage(stderr);
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "id", json_string(argv[optind]));
    js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    /* the collector's own parser decides what is valid */
    if (js == NULL || sla_maint_from_json(js, strlen(js), &m, &err) != 0) {
        fprintf(stderr, "nines: %s\n", js ? err.msg : "out of memory");
        free(js);
        return CLI_USAGE;
    }
    free(js);
    js = sla_maint_to_json(&m);
    sla_maint_clear(&m);
    rcx = maint_connect(url, config, &rc);
    if (rcx != NULL && js != NULL) {
        r = redisCommand(rcx, "HSET %s %s %s", SLA_KEY_MAINTENANCE, argv[optind], js);
        rc = r != NULL && r->type == REDIS_REPLY_INTEGER ? CLI_OK : CLI_UNREACHABLE;
        if (rc == CLI_OK)
            cli_audit_record(rcx, NULL, "maintenance_add", argv[optind], js);
        if (rc == CLI_OK)
            printf("added maintenance window %s: %s\n", argv[optind], js);
        freeReplyObject(r);
    }
    redisFree(rcx);
    free(js);
    return rc;
}

static int maint_list(int json, const char *url, const char *config)
{
    struct nines_config *cfg = NULL;
    struct nines_errlist errs = { 0 };
    json_t *arr = json_array();
    redisContext *rcx;
    redisReply *r;
    int rc = 0;

    if (config != NULL && nines_config_load(config, &cfg, &errs) == 0) {
        for (size_t i = 0; i < cfg->maintenance_count; i++)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:b}", "id", cfg->maintenance[i].id,
                                                 "reason", cfg->maintenance[i].reason
                                                               ? cfg->maintenance[i].reason
                                                               : "",
                                                 "from_config", 1));
        nines_config_free(cfg);
    }
    rcx = maint_connect(url, config, &rc);
    if (rcx == NULL) {
        json_decref(arr);
        return rc;
    }
    r = redisCommand(rcx, "HGETALL %s", SLA_KEY_MAINTENANCE);
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        json_t *o = json_loads(r->element[i + 1]->str, 0, NULL);

        if (o != NULL)
            json_array_append_new(arr, o);
    }
    freeReplyObject(r);
    redisFree(rcx);
    if (json) {
        json_t *root = json_pack("{s:o}", "maintenance", arr);

        json_dumpf(root, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(root);
        return CLI_OK;
    }
    printf("%-20s  %-40s  %s\n", "ID", "WHEN", "COVERS");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        char when[80] = "(from the configuration)", a[32], b[32];
        const char *rec = json_string_value(json_object_get(o, "recurring"));

        if (rec != NULL)
            snprintf(when, sizeof(when), "%s", rec);
        else if (json_object_get(o, "start_ms") != NULL)
            snprintf(when, sizeof(when), "%s .. %s",
                     nines_iso8601_ms(json_integer_value(json_object_get(o, "start_ms")), a,
                                      sizeof(a)),
                     nines_iso8601_ms(json_integer_value(json_object_get(o, "end_ms")), b,
                                      sizeof(b)));
        printf("%-20s  %-40s  %s%s\n", json_string_value(json_object_get(o, "id")), when,
               json_array_size(json_object_get(o, "checks")) ||
                       json_array_size(json_object_get(o, "services"))
                   ? "listed checks/services"
                   : "everything",
               "");
    }
    json_decref(arr);
    return CLI_OK;
}

static int maint_rm(const char *id, const char *url, const char *config)
{
    int rc = 0;
    redisContext *rcx = maint_connect(url, config, &rc);
    redisReply *r;

    if (rcx == NULL)
        return rc;
    r = redisCommand(rcx, "HDEL %s %s", SLA_KEY_MAINTENANCE, id);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        rc = CLI_UNREACHABLE;
    else if (r->integer == 0) {
        fprintf(stderr, "nines: no stored maintenance window '%s'\n", id);
        rc = CLI_FAIL;
    } else {
        cli_audit_record(rcx, NULL, "maintenance_remove", id, NULL);
        printf("removed maintenance window %s\n", id);
    }
    freeReplyObject(r);
    redisFree(rcx);
    return rc;
}

int cli_maintenance(int argc, char **argv)
{
    const char *url = NULL, *config = NULL;
    int json = 0;

    /* common options may come anywhere: take them out first */
    for (int i = 1; i < argc; i++) {
        int take = 0;

        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            config = argv[i + 1], take = 2;
        else if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
            url = argv[i + 1], take = 2;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1, take = 1;
        if (take) {
            memmove(argv + i, argv + i + take, (size_t)(argc - i - take + 1) * sizeof(*argv));
            argc -= take;
            i--;
        }
    }
    if (argc < 2)
        return maint_usage(stderr);
    if (strcmp(argv[1], "add") == 0)
        return maint_add(argc, argv, url, config);
    if (strcmp(argv[1], "list") == 0 && argc == 2)
        return maint_list(json, url, config);
    if ((strcmp(argv[1], "rm") == 0 || strcmp(argv[1], "remove") == 0) && argc == 3)
        return maint_rm(argv[2], url, config);
    return maint_usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
}
