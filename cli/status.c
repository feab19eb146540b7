/* nines status: every check's state, as a table or as JSON. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nines/clock.h"

/* The value of field name in an HGETALL reply, or NULL. */
static const char *hash_get(const redisReply *r, const char *name)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1]->str;
    return NULL;
}

static long long hash_num(const redisReply *r, const char *name, long long dflt)
{
    const char *v = hash_get(r, name);

    return v != NULL ? strtoll(v, NULL, 10) : dflt;
}

static json_t *status_json_one(const struct nines_check *c, const redisReply *st)
{
    const char *state = hash_get(st, "state");
    long long since = hash_num(st, "since_ms", 0), last = hash_num(st, "last_ms", 0);
    long long lat = hash_num(st, "last_total_us", -1), err_ms = hash_num(st, "last_error_ms", 0);
    char iso[32];
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "kind", json_string(nines_check_kind_name(c->kind)));
    json_object_set_new(o, "state", json_string(state ? state : "UNKNOWN"));
    json_object_set_new(o, "since_ms", since ? json_integer(since) : json_null());
    json_object_set_new(o, "since",
                        since ? json_string(nines_iso8601_ms(since, iso, sizeof(iso)))
                              : json_null());
    json_object_set_new(o, "last_result_ms", last ? json_integer(last) : json_null());
    json_object_set_new(o, "last_latency_ms", lat >= 0 ? json_real(lat / 1000.0) : json_null());
    json_object_set_new(o, "last_code", json_integer(hash_num(st, "last_code", 0)));
    json_object_set_new(o, "last_outcome", hash_get(st, "last_outcome")
                                               ? json_string(hash_get(st, "last_outcome"))
                                               : json_null());
    json_object_set_new(o, "last_location", hash_get(st, "last_location")
                                                ? json_string(hash_get(st, "last_location"))
                                                : json_null());
    json_object_set_new(o, "results", json_integer(hash_num(st, "results", 0)));
    if (err_ms > 0) {
        json_t *e = json_object();

        json_object_set_new(e, "at_ms", json_integer(err_ms));
        json_object_set_new(e, "reason", json_string(hash_get(st, "last_error_reason")
                                                         ? hash_get(st, "last_error_reason")
                                                         : ""));
        json_object_set_new(e, "message", json_string(hash_get(st, "last_error_message")
                                                          ? hash_get(st, "last_error_message")
                                                          : ""));
        json_object_set_new(o, "last_error", e);
    } else {
        json_object_set_new(o, "last_error", json_null());
    }
    return o;
}

static void status_print_row(const struct nines_check *c, const redisReply *st, int idw)
{
    const char *state = hash_get(st, "state");
    long long since = hash_num(st, "since_ms", 0);
    long long lat = hash_num(st, "last_total_us", -1);
    const char *reason = hash_get(st, "last_error_reason");
    const char *msg = hash_get(st, "last_error_message");
    char iso[32] = "-", latency[32] = "-", error[300] = "-";

    if (since > 0)
        nines_iso8601_ms(since, iso, sizeof(iso));
    if (lat >= 0)
        snprintf(latency, sizeof(latency), "%.1f ms", lat / 1000.0);
    if (hash_num(st, "last_error_ms", 0) > 0)
        snprintf(error, sizeof(error), "%s: %s", reason ? reason : "", msg ? msg : "");
    printf("%-*s  %-7s  %-24s  %12s  %s\n", idw, c->id, state ? state : "UNKNOWN", iso,
           latency, error);
}

static int status_usage(FILE *f)
{
    fprintf(f, "usage: nines status [-c FILE | --redis URL] [--json]\n\n"
               "Prints each check: state, since when (back-dated to the first failing\n"
               "or succeeding result), the last latency and the last error.\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

static int status_fetch(redisContext *rc, struct nines_check **checks, size_t *n)
{
    struct nines_err err = { 0 };
    redisReply *r = redisCommand(rc, "GET %s", NINES_KEY_CATALOGUE);
    int ret = CLI_OK;

    if (r == NULL) {
        fprintf(stderr, "nines: reading the catalogue failed: %s\n", rc->errstr);
        return CLI_UNREACHABLE;
    }
    if (r->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "nines: no catalogue in Redis yet: is nines-collector running?\n");
        ret = CLI_FAIL;
    } else if (nines_catalogue_decode(r->str, r->len, checks, n, &err) != 0) {
        fprintf(stderr, "nines: the catalogue in Redis is unreadable: %s\n", err.msg);
        ret = CLI_FAIL;
    }
    freeReplyObject(r);
    return ret;
}

int cli_status(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *url = NULL;
    struct nines_redis_addr addr;
    struct nines_check *checks = NULL;
    redisContext *rc;
    redisReply **st;
    size_t n = 0;
    int json = 0, c, ret, idw = 5;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:jh", longopts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'r')
            url = optarg;
        else if (c == 'j')
            json = 1;
        else
            return status_usage(c == 'h' ? stdout : stderr);
    }
    if (optind < argc)
        return status_usage(stderr);
    ret = cli_redis_addr(url, config, &addr);
    if (ret != 0)
        return ret;
    rc = cli_redis_connect(&addr);
    if (rc == NULL)
        return CLI_UNREACHABLE;
    ret = status_fetch(rc, &checks, &n);
    if (ret != CLI_OK) {
        redisFree(rc);
        return ret;
    }
    st = calloc(n ? n : 1, sizeof(*st));
    for (size_t i = 0; st != NULL && i < n; i++)
        redisAppendCommand(rc, "HGETALL %s%s", NINES_KEY_STATE_PREFIX, checks[i].id);
    for (size_t i = 0; st != NULL && i < n; i++) {
        if (redisGetReply(rc, (void **)&st[i]) != REDIS_OK) {
            fprintf(stderr, "nines: reading states failed: %s\n", rc->errstr);
            ret = CLI_UNREACHABLE;
            break;
        }
        if (strlen(checks[i].id) > (size_t)idw)
            idw = (int)strlen(checks[i].id);
    }
    if (ret == CLI_OK && json) {
        json_t *root = json_object(), *arr = json_array();

        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, status_json_one(&checks[i], st[i]));
        json_object_set_new(root, "checks", arr);
        json_dumpf(root, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(root);
    } else if (ret == CLI_OK) {
        printf("%-*s  %-7s  %-24s  %12s  %s\n", idw, "CHECK", "STATE", "SINCE", "LAST LATENCY",
               "LAST ERROR");
        for (size_t i = 0; i < n; i++)
            status_print_row(&checks[i], st[i], idw);
    }
    for (size_t i = 0; st != NULL && i < n; i++)
        freeReplyObject(st[i]);
    free(st);
    nines_checks_free(checks, n);
    redisFree(rc);
    return ret;
}
