/*
 * nines drill start --service S [--scenario TEXT] [--expect-outage] [--by NAME]
 * nines drill stop ID|SERVICE [--by NAME]
 * nines drill list [--json]
 * nines drill show ID [--json | --html]
 *
 * start and stop queue a command for the collector (nines:commands) and wait
 * up to 5 s for it to take effect; T0 is the moment `start` ran.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "cli.h"
#include "drill.h"
#include "nines/clock.h"

static void drill_usage(FILE *f)
{
    fprintf(f,
            "usage: nines drill start --service S [--scenario TEXT] [--expect-outage] [--by NAME]\n"
            "       nines drill stop ID|SERVICE [--by NAME]\n"
            "       nines drill list [--json]\n"
            "       nines drill show ID [--json | --html]\n"
            "  (each also takes -c FILE | --redis URL)\n"
            "A drill measures RTO (recovery - first failing result at or after its start) and\n"
            "RPO (canary writes lost) against the service's rto and rpo objectives.\n");
}

static int drill_push(redisContext *rc, json_t *cmd)
{
    char *text = json_dumps(cmd, JSON_COMPACT);
    redisReply *r = text ? redisCommand(rc, "RPUSH %s %s", ALERT_KEY_COMMANDS, text) : NULL;
    int ok = r != NULL && r->type == REDIS_REPLY_INTEGER;

    freeReplyObject(r);
    free(text);
    return ok ? CLI_OK : CLI_UNREACHABLE;
}

/* Polls cmd (an EXISTS-like command on key/field) until it answers 1, up to 5 s. */
static int drill_wait(redisContext *rc, const char *fmt, const char *a, const char *b)
{
    for (int i = 0; i < 50; i++) {
        redisReply *r = redisCommand(rc, fmt, a, b);
        int yes = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

        freeReplyObject(r);
        if (yes)
            return 1;
        nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
    }
    return 0;
}

static json_t *drill_get(redisContext *rc, const char *id)
{
    redisReply *r = redisCommand(rc, "GET %s%s", DRILL_KEY, id);
    json_t *doc = NULL;

    if (r != NULL && r->type == REDIS_REPLY_STRING)
        doc = json_loadb(r->str, r->len, 0, NULL);
    freeReplyObject(r);
    if (doc != NULL)
        return doc;
    r = redisCommand(rc, "HGET %s %s", DRILL_KEY_RUNNING, id);
    if (r != NULL && r->type == REDIS_REPLY_STRING)
        doc = json_loadb(r->str, r->len, 0, NULL);
    freeReplyObject(r);
    return doc;
}

static void drill_print_ms(const char *label, json_t *v)
{
    char t[40];

    if (json_is_integer(v))
        printf("  %-20s %s\n", label, nines_iso8601_ms(json_integer_value(v), t, sizeof(t)));
    else
        printf("  %-20s -\n", label);
}

static void drill_print_dur(const char *label, json_t *v)
{
    if (json_is_integer(v))
        printf("  %-20s %.3f s\n", label, (double)json_integer_value(v) / 1000.0);
    else
        printf("  %-20s not measured\n", label);
}

static void drill_print(json_t *doc)
{
    size_t i;
    json_t *v;

    printf("%s  %s\n", json_string_value(json_object_get(doc, "id")),
           json_string_value(json_object_get(doc, "state")));
    if (json_is_string(json_object_get(doc, "verdict")))
        printf("  %s\n", json_string_value(json_object_get(doc, "verdict")));
    drill_print_ms("started", json_object_get(doc, "t0_ms"));
    drill_print_ms("outage start", json_object_get(doc, "outage_start_ms"));
    drill_print_ms("detected", json_object_get(doc, "detected_ms"));
    drill_print_ms("recovered", json_object_get(doc, "recovered_ms"));
    drill_print_dur("RTO measured", json_object_get(doc, "rto_ms"));
    drill_print_dur("RTO objective", json_object_get(doc, "rto_objective_ms"));
    drill_print_dur("RPO measured", json_object_get(doc, "rpo_ms"));
    drill_print_dur("RPO objective", json_object_get(doc, "rpo_objective_ms"));
    printf("timeline:\n");
    json_array_foreach(json_object_get(doc, "timeline"), i, v) {
        char t[40];

        printf("  %s  %s\n", nines_iso8601_ms(json_integer_value(json_object_get(v, "t_ms")), t,
                                              sizeof(t)),
               json_string_value(json_object_get(v, "event")));
    }
}

static int drill_list(redisContext *rc, int as_json)
{
    redisReply *run = redisCommand(rc, "HVALS %s", DRILL_KEY_RUNNING);
    redisReply *ids = redisCommand(rc, "ZREVRANGE %s 0 49", DRILL_KEY_ALL);
    json_t *arr = json_array();

    if (run == NULL || ids == NULL || run->type != REDIS_REPLY_ARRAY ||
        ids->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(run);
        freeReplyObject(ids);
        json_decref(arr);
        return CLI_UNREACHABLE;
    }
    for (size_t i = 0; i < run->elements; i++)
        json_array_append_new(arr, json_loadb(run->element[i]->str, run->element[i]->len, 0,
                                              NULL));
    for (size_t i = 0; i < ids->elements; i++) {
        json_t *doc = drill_get(rc, ids->element[i]->str);

        if (doc != NULL)
            json_array_append_new(arr, doc);
    }
    if (as_json) {
        json_t *root = json_pack("{s:O}", "drills", arr);

        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        json_decref(root);
    } else if (json_array_size(arr) == 0) {
        printf("no drills\n");
    } else {
        size_t i;
        json_t *d;

        printf("%-40s  %-8s  %-12s  %-12s  %s\n", "ID", "STATE", "RTO", "RPO", "SCENARIO");
        json_array_foreach(arr, i, d) {
            char rto[24] = "-", rpo[24] = "-";

            if (json_is_integer(json_object_get(d, "rto_ms")))
                snprintf(rto, sizeof(rto), "%.3f s",
                         (double)json_integer_value(json_object_get(d, "rto_ms")) / 1000.0);
            if (json_is_integer(json_object_get(d, "rpo_ms")))
                snprintf(rpo, sizeof(rpo), "%.3f s",
                         (double)json_integer_value(json_object_get(d, "rpo_ms")) / 1000.0);
            printf("%-40s  %-8s  %-12s  %-12s  %s\n",
                   json_string_value(json_object_get(d, "id")),
                   json_string_value(json_object_get(d, "state")), rto, rpo,
                   json_string_value(json_object_get(d, "scenario")));
        }
    }
    json_decref(arr);
    freeReplyObject(run);
    freeReplyObject(ids);
    return CLI_OK;
}

int cli_drill(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },  { "redis", required_argument, NULL, 'r' },
        { "by", required_argument, NULL, 'b' },      { "service", required_argument, NULL, 's' },
        { "scenario", required_argument, NULL, 'S' }, { "expect-outage", no_argument, NULL, 'E' },
        { "json", no_argument, NULL, 'j' },          { "html", no_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *url = NULL, *by = getenv("USER"), *svc = NULL, *scen = "";
    int c, expect = 0, as_json = 0, html = 0, ret;
    redisContext *rc;
    const char *verb;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        drill_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    verb = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "c:r:b:s:S:EjHh", longopts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'r')
            url = optarg;
        else if (c == 'b')
            by = optarg;
        else if (c == 's')
            svc = optarg;
        else if (c == 'S')
            scen = optarg;
        else if (c == 'E')
            expect = 1;
        else if (c == 'j')
            as_json = 1;
        else if (c == 'H')
            html = 1;
        else {
            drill_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? CLI_OK : CLI_USAGE;
        }
    }
    if ((strcmp(verb, "start") == 0 && (svc == NULL || optind != argc)) ||
        ((strcmp(verb, "stop") == 0 || strcmp(verb, "show") == 0) && optind + 1 != argc) ||
        (strcmp(verb, "list") == 0 && optind != argc) ||
        (strcmp(verb, "start") && strcmp(verb, "stop") && strcmp(verb, "show") &&
         strcmp(verb, "list"))) {
        drill_usage(stderr);
        return CLI_USAGE;
    }
    if (by == NULL || by[0] == '\0')
        by = "cli";
    if ((ret = cli_redis_open(url, config, NULL, &rc)) != 0)
        return ret;
    if (strcmp(verb, "list") == 0) {
        ret = drill_list(rc, as_json);
    } else if (strcmp(verb, "show") == 0) {
        json_t *doc = drill_get(rc, argv[optind]);

        ret = CLI_OK;
        if (doc == NULL) {
            fprintf(stderr, "nines: no drill '%s' (see 'nines drill list')\n", argv[optind]);
            ret = CLI_FAIL;
        } else if (html) {
            char *text = drill_report_html(doc);

            printf("%s", text ? text : "");
            free(text);
        } else if (as_json) {
            json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
            printf("\n");
        } else {
            drill_print(doc);
        }
        json_decref(doc);
    } else if (strcmp(verb, "start") == 0) {
        int64_t t0 = nines_wall_ms();
        char id[160];
        json_t *cmd = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I}", "op", "drill_start", "service", svc,
                                "scenario", scen, "expect_outage", expect, "by", by, "t0_ms",
                                (json_int_t)t0);

        ret = cmd != NULL ? drill_push(rc, cmd) : CLI_FAIL;
        json_decref(cmd);
        snprintf(id, sizeof(id), "%s@%" PRId64, svc, t0);
        if (ret == CLI_OK && !drill_wait(rc, "HEXISTS %s %s", DRILL_KEY_RUNNING, id)) {
            fprintf(stderr, "nines: the collector did not start the drill within 5 s (is it "
                    "running? is '%s' a service? see its log: drill_not_started)\n", svc);
            ret = CLI_FAIL;
        } else if (ret == CLI_OK) {
            cli_audit_record(rc, by, "drill_start", id, NULL);
            printf("%s\n", id);
        }
    } else {
        json_t *cmd = json_pack("{s:s,s:s,s:s}", "op", "drill_stop", "target", argv[optind],
                                "by", by);
        char key[200];

        ret = cmd != NULL ? drill_push(rc, cmd) : CLI_FAIL;
        json_decref(cmd);
        snprintf(key, sizeof(key), "%s%s", DRILL_KEY, argv[optind]);
        if (ret == CLI_OK)
            cli_audit_record(rc, by, "drill_stop", argv[optind], NULL);
        if (ret == CLI_OK && strchr(argv[optind], '@') != NULL &&
            drill_wait(rc, "EXISTS %s%s", key, "")) {
            json_t *doc = drill_get(rc, argv[optind]);

            if (doc != NULL)
                drill_print(doc);
            json_decref(doc);
        } else if (ret == CLI_OK) {
            printf("stop requested for %s\n", argv[optind]);
        }
    }
    redisFree(rc);
    return ret;
}
