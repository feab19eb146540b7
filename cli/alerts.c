/*
 * nines alerts [--json] [-c FILE | --redis URL]   every notification in the
 *                                                 outbox, newest first
 * nines alerts log ID [--json]                    one notification's attempts
 *
 * Read straight from Redis (collector/notify/outbox.h names the keys). The
 * stored request (which holds secrets) is never printed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nines/clock.h"
#include "outbox.h"

static const char *alerts_field(const redisReply *h, const char *name)
{
    for (size_t i = 0; h != NULL && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, name) == 0)
            return h->element[i + 1]->str;
    return "";
}

static json_t *alerts_item_json(const char *id, const redisReply *h)
{
    static const char *const names[] = { "state", "receiver", "created_ms", "attempts",
                                         "updated_ms", "delivered_ms", "next_ms",
                                         "last_status", "last_error" };
    json_t *o = json_pack("{s:s}", "id", id);

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        json_object_set_new(o, names[i], json_string(alerts_field(h, names[i])));
    return o;
}

/* Every outbox item (SCAN, bounded), as a JSON array sorted newest first. */
static json_t *alerts_collect(redisContext *rc)
{
    json_t *arr = json_array();
    char cursor[32] = "0";
    size_t prefix = strlen(OUTBOX_KEY_ITEM_PREFIX);

    for (int rounds = 0; rounds < 10000; rounds++) {
        redisReply *r = redisCommand(rc, "SCAN %s MATCH %s* COUNT 1000", cursor,
                                     OUTBOX_KEY_ITEM_PREFIX);

        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            redisReply *h = redisCommand(rc, "HGETALL %s", key);

            json_array_append_new(arr, alerts_item_json(key + prefix, h));
            freeReplyObject(h);
        }
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    return arr;
}

static int alerts_cmp(const void *a, const void *b)
{
    long long x = atoll(json_string_value(json_object_get(*(json_t *const *)a, "created_ms")));
    long long y = atoll(json_string_value(json_object_get(*(json_t *const *)b, "created_ms")));

    return x < y ? 1 : x > y ? -1 : 0;
}

static int alerts_list(redisContext *rc, int json)
{
    json_t *arr = alerts_collect(rc);
    size_t n = json_array_size(arr);
    json_t **v = calloc(n + 1, sizeof(*v));

    for (size_t i = 0; v != NULL && i < n; i++)
        v[i] = json_array_get(arr, i);
    if (v != NULL)
        qsort(v, n, sizeof(*v), alerts_cmp);
    if (json) {
        json_t *sorted = json_array();

        json_t *root;

        for (size_t i = 0; v != NULL && i < n; i++)
            json_array_append(sorted, v[i]);
        root = json_pack("{s:o}", "notifications", sorted);
        json_dumpf(root, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(root);
    } else {
        printf("%-24s  %-10s  %-12s  %8s  %-6s  %s\n", "CREATED", "STATE", "RECEIVER",
               "ATTEMPTS", "STATUS", "ID");
        for (size_t i = 0; v != NULL && i < n; i++) {
            char when[32];

            printf("%-24s  %-10s  %-12s  %8s  %-6s  %s\n",
                   nines_iso8601_ms(atoll(json_string_value(json_object_get(v[i], "created_ms"))),
                                    when, sizeof(when)),
                   json_string_value(json_object_get(v[i], "state")),
                   json_string_value(json_object_get(v[i], "receiver")),
                   json_string_value(json_object_get(v[i], "attempts")),
                   json_string_value(json_object_get(v[i], "last_status")),
                   json_string_value(json_object_get(v[i], "id")));
        }
    }
    free(v);
    json_decref(arr);
    return CLI_OK;
}

static int alerts_log(redisContext *rc, const char *id, int json)
{
    redisReply *r = redisCommand(rc, "LRANGE %s%s 0 -1", OUTBOX_KEY_LOG_PREFIX, id);
    json_t *arr = json_array();

    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        json_t *e = json_loads(r->element[r->elements - 1 - i]->str, 0, NULL);   /* oldest first */

        if (e != NULL)
            json_array_append_new(arr, e);
    }
    freeReplyObject(r);
    if (json_array_size(arr) == 0) {
        fprintf(stderr, "nines: no delivery attempts recorded for '%s'\n", id);
        json_decref(arr);
        return CLI_FAIL;
    }
    if (json)
        json_dumpf(arr, stdout, JSON_INDENT(2));
    else
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char *line = json_dumps(json_array_get(arr, i), JSON_COMPACT);

            printf("%s\n", line ? line : "");
            free(line);
        }
    printf("\n");
    json_decref(arr);
    return CLI_OK;
}

/* The alerts firing now (nines:alerts:active), oldest first. */
static int alerts_active(redisContext *rc, int json)
{
    redisReply *r = redisCommand(rc, "HGETALL nines:alerts:active");
    json_t *arr = json_array();

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        json_decref(arr);
        return CLI_UNREACHABLE;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        json_t *e = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);

        if (e != NULL)
            json_array_append_new(arr, e);
    }
    freeReplyObject(r);
    if (json) {
        json_t *root = json_pack("{s:O}", "alerts", arr);

        if (root != NULL)
            json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        json_decref(root);
    } else if (json_array_size(arr) == 0) {
        printf("no alerts firing\n");
    } else {
        printf("%-46s  %-8s  %-22s  %s\n", "KEY", "SEVERITY", "STATUS", "SUMMARY");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *e = json_array_get(arr, i), *n = json_object_get(e, "notification");
            const char *held = json_string_value(json_object_get(e, "held"));
            const char *ack = json_string_value(json_object_get(e, "ack_by"));
            char status[64];

            if (held != NULL && held[0] != '\0')
                snprintf(status, sizeof(status), "held: %.40s", held);
            else if (ack != NULL && ack[0] != '\0')
                snprintf(status, sizeof(status), "acked by %.40s", ack);
            else if (json_is_true(json_object_get(e, "waiting")))
                snprintf(status, sizeof(status), "grouping");
            else if (json_array_size(json_object_get(e, "sent")) == 0)
                snprintf(status, sizeof(status), "recorded (no route)");
            else
                snprintf(status, sizeof(status), "sent (step %d, repeat %d)",
                         (int)json_integer_value(json_object_get(e, "step")),
                         (int)json_integer_value(json_object_get(e, "repeats")));
            printf("%-46s  %-8s  %-22s  %s\n", json_string_value(json_object_get(n, "key")),
                   json_string_value(json_object_get(n, "severity")), status,
                   json_string_value(json_object_get(n, "summary")));
        }
    }
    json_decref(arr);
    return CLI_OK;
}

int cli_alerts(int argc, char **argv)
{
    const char *url = NULL, *config = NULL, *id = NULL;
    redisContext *rc;
    int json = 0, log = 0, active = 0, ret;

    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--active") == 0)
            active = 1;
        else if (strcmp(argv[i], "log") == 0 && !log && i + 1 < argc)
            log = 1, id = argv[++i];
        else {
            fprintf(strcmp(argv[i], "--help") == 0 ? stdout : stderr,
                    "usage: nines alerts [--json] [-c FILE | --redis URL]   the outbox\n"
                    "       nines alerts --active [--json]   alerts firing, held, acknowledged\n"
                    "       nines alerts log ID [--json]\n");
            return strcmp(argv[i], "--help") == 0 ? CLI_OK : CLI_USAGE;
        }
    }
    if ((ret = cli_redis_open(url, config, NULL, &rc)) != 0)
        return ret;
    ret = log ? alerts_log(rc, id, json) : active ? alerts_active(rc, json) : alerts_list(rc, json);
    redisFree(rc);
    return ret;
}
