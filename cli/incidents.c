/*
 * nines incidents [--check ID] [--from T] [--to T] [--open] [--json]
 *
 * Incidents are read straight from Redis (collector/store.h names the keys):
 * every incident overlapping [from, to), newest first.
 */
#define _XOPEN_SOURCE 700   /* strptime */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nines/clock.h"

#define KEY_INCIDENT "nines:incident:"
#define KEY_INCIDENTS "nines:incidents"
#define KEY_CHECK_INCIDENTS "nines:incidents:check:"
#define KEY_OPEN "nines:incidents:open"

/* "2026-11-28T17:00:00Z", "2026-11-28", a number of ms, or "now-24h". */
int cli_parse_time(const char *s, int64_t *ms)
{
    struct tm tm;
    char *end;
    int64_t d;

    memset(&tm, 0, sizeof(tm));
    if (strncmp(s, "now", 3) == 0) {
        *ms = nines_wall_ms();
        if (s[3] == '\0')
            return 0;
        if (s[3] != '-' || nines_duration_parse(s + 4, &d) != 0)
            return -1;
        *ms -= d;
        return 0;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL)
        end = strptime(s, "%Y-%m-%d", &tm);
    if (end != NULL && (*end == '\0' || strcmp(end, "Z") == 0)) {
        *ms = (int64_t)timegm(&tm) * 1000;
        return 0;
    }
    *ms = strtoll(s, &end, 10);
    return *end == '\0' && end != s ? 0 : -1;
}

static const char *field(const redisReply *h, const char *name)
{
    if (h == NULL || h->type != REDIS_REPLY_ARRAY)
        return "";
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, name) == 0)
            return h->element[i + 1]->str;
    return "";
}

static json_t *incident_json(const redisReply *h)
{
    long long start = atoll(field(h, "start_ms")), end = atoll(field(h, "end_ms"));
    char a[32], b[32];
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(field(h, "id")));
    json_object_set_new(o, "check", json_string(field(h, "check")));
    json_object_set_new(o, "start_ms", json_integer(start));
    json_object_set_new(o, "start", json_string(nines_iso8601_ms(start, a, sizeof(a))));
    json_object_set_new(o, "end_ms", end ? json_integer(end) : json_null());
    json_object_set_new(o, "end", end ? json_string(nines_iso8601_ms(end, b, sizeof(b)))
                                      : json_null());
    json_object_set_new(o, "duration_ms", end ? json_integer(end - start) : json_null());
    json_object_set_new(o, "open", json_boolean(end == 0));
    json_object_set_new(o, "reason", json_string(field(h, "reason")));
    json_object_set_new(o, "message", json_string(field(h, "message")));
    json_object_set_new(o, "locations", json_string(field(h, "locations")));
    json_object_set_new(o, "maintenance", field(h, "maintenance")[0]
                                              ? json_string(field(h, "maintenance"))
                                              : json_null());
    json_object_set_new(o, "caused_by", field(h, "caused_by")[0]
                                            ? json_string(field(h, "caused_by"))
                                            : json_null());
    json_object_set_new(o, "acknowledged_by", field(h, "ack_by")[0]
                                                  ? json_string(field(h, "ack_by"))
                                                  : json_null());
    json_object_set_new(o, "acknowledged_ms", field(h, "ack_ms")[0]
                                                  ? json_integer(atoll(field(h, "ack_ms")))
                                                  : json_null());
    return o;
}

static void incident_row(const redisReply *h)
{
    long long start = atoll(field(h, "start_ms")), end = atoll(field(h, "end_ms"));
    char a[32], b[32] = "(open)", dur[32] = "-";

    nines_iso8601_ms(start, a, sizeof(a));
    if (end) {
        nines_iso8601_ms(end, b, sizeof(b));
        snprintf(dur, sizeof(dur), "%.3f s", (end - start) / 1000.0);
    }
    printf("%-36s  %-24s  %-24s  %12s  %-10s  %s%s%s\n", field(h, "id"), a, b, dur,
           field(h, "locations"), field(h, "reason"), field(h, "ack_by")[0] ? "  ack: " : "",
           field(h, "ack_by"));
}

static int incidents_usage(FILE *f)
{
    fprintf(f, "usage: nines incidents [-c FILE | --redis URL] [--check ID] [--from T]\n"
               "                       [--to T] [--open] [--json]\n"
               "T is 2026-11-28, 2026-11-28T17:00:00Z, ms since the epoch or now-24h.\n"
               "Lists incidents overlapping [from, to), newest first; times are exact\n"
               "to the millisecond (back-dated to the first failing result).\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

int cli_incidents(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
        { "check", required_argument, NULL, 'k' },  { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },     { "open", no_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *url = NULL, *check = NULL;
    int64_t from = 0, to = INT64_MAX;
    int json = 0, open_only = 0, c, ret = 0;
    struct nines_redis_addr addr;
    redisContext *rc;
    redisReply *ids;
    json_t *arr = json_array();
    char key[NINES_ID_LEN + 40];

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:h", longopts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'r')
            url = optarg;
        else if (c == 'k')
            check = optarg;
        else if (c == 'f' || c == 't') {
            if (cli_parse_time(optarg, c == 'f' ? &from : &to) != 0) {
                fprintf(stderr, "nines: --%s: '%s' is not a time\n", c == 'f' ? "from" : "to",
                        optarg);
                json_decref(arr);
                return CLI_USAGE;
            }
        } else if (c == 'o')
            open_only = 1;
        else if (c == 'j')
            json = 1;
        else {
            json_decref(arr);
            return incidents_usage(c == 'h' ? stdout : stderr);
        }
    }
    if (optind < argc || (ret = cli_redis_addr(url, config, &addr)) != 0) {
        json_decref(arr);
        return optind < argc ? incidents_usage(stderr) : ret;
    }
    rc = cli_redis_connect(&addr);
    if (rc == NULL) {
        json_decref(arr);
        return CLI_UNREACHABLE;
    }
    if (check != NULL)
        snprintf(key, sizeof(key), "%s%s", KEY_CHECK_INCIDENTS, check);
    else
        snprintf(key, sizeof(key), "%s", KEY_INCIDENTS);
    /* every incident that started before `to`; those ended by `from` are dropped */
    ids = redisCommand(rc, "ZREVRANGEBYSCORE %s (%lld -inf", key, (long long)to);
    if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "nines: reading incidents failed: %s\n", ids ? ids->str : rc->errstr);
        freeReplyObject(ids);
        redisFree(rc);
        json_decref(arr);
        return CLI_UNREACHABLE;
    }
    for (size_t i = 0; i < ids->elements; i++)
        redisAppendCommand(rc, "HGETALL %s%s", KEY_INCIDENT, ids->element[i]->str);
    if (!json)
        printf("%-36s  %-24s  %-24s  %12s  %-10s  %s\n", "INCIDENT", "START", "END",
               "DURATION", "LOCATIONS", "CAUSE");
    for (size_t i = 0; i < ids->elements; i++) {
        redisReply *h = NULL;
        long long end;

        if (redisGetReply(rc, (void **)&h) != REDIS_OK)
            break;
        end = atoll(field(h, "end_ms"));
        if ((end != 0 && end <= from) || (open_only && end != 0)) {
            freeReplyObject(h);
            continue;
        }
        if (json)
            json_array_append_new(arr, incident_json(h));
        else
            incident_row(h);
        freeReplyObject(h);
    }
    if (json) {
        json_t *root = json_pack("{s:o}", "incidents", arr);

        json_dumpf(root, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(root);
    } else {
        json_decref(arr);
    }
    freeReplyObject(ids);
    redisFree(rc);
    return CLI_OK;
}
