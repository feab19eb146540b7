/*
 * nines ack TARGET [--by NAME]        acknowledge an incident or alert
 * nines resolve TARGET [--by NAME]    resolve an alert by hand
 * nines silence add|list|expire       silences by label matcher
 *
 * The CLI writes to Redis and queues a command (nines:commands) that the
 * collector carries out within a second: the same path as the API's.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "cli.h"
#include "nines/clock.h"
#include "silence.h"
#include "store.h"

struct cli_target {
    const char *config, *url, *by;
    int json;
};

/* Whether an active alert (nines:alerts:active) answers to target. */
static int cli_alert_known(redisContext *rc, const char *target)
{
    redisReply *r = redisCommand(rc, "HGETALL %s", ALERT_KEY_ACTIVE);
    int found = 0;

    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements && !found;
         i += 2) {
        json_t *o = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);
        json_t *sent = json_object_get(o, "sent"), *v;
        const char *key = json_string_value(json_object_get(json_object_get(o, "notification"),
                                                            "key"));
        size_t j;

        found = strcmp(r->element[i]->str, target) == 0 || (key != NULL && strcmp(key, target) == 0);
        json_array_foreach(sent, j, v) {
            const char *k = json_string_value(json_object_get(v, "key"));

            found |= k != NULL && strcmp(k, target) == 0;
        }
        json_decref(o);
    }
    freeReplyObject(r);
    return found;
}

static int cli_push_command(redisContext *rc, const char *op, const char *target, const char *by)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "op", op, "target", target ? target : "", "by",
                          by ? by : "", "at_ms", (json_int_t)nines_wall_ms());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    redisReply *r = text ? redisCommand(rc, "RPUSH %s %s", ALERT_KEY_COMMANDS, text) : NULL;
    int ok = r != NULL && r->type == REDIS_REPLY_INTEGER;

    freeReplyObject(r);
    free(text);
    json_decref(o);
    return ok ? CLI_OK : CLI_UNREACHABLE;
}

static int cli_parse_target(int argc, char **argv, const char *cmd, struct cli_target *t)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
        { "by", required_argument, NULL, 'b' },     { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(t, 0, sizeof(*t));
    t->by = getenv("USER");
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:b:h", longopts, NULL)) != -1) {
        if (c == 'c')
            t->config = optarg;
        else if (c == 'r')
            t->url = optarg;
        else if (c == 'b')
            t->by = optarg;
        else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: nines %s INCIDENT|ALERT_KEY [--by NAME] [-c FILE | --redis URL]\n"
                    "  INCIDENT is an id from 'nines incidents' (check@start_ms); ALERT_KEY a\n"
                    "  key from 'nines alerts --active' (rule/...@start_ms).\n", cmd);
            return c == 'h' ? -CLI_OK - 1 : CLI_USAGE;
        }
    }
    if (optind + 1 != argc || t->by == NULL || t->by[0] == '\0') {
        fprintf(stderr, "usage: nines %s INCIDENT|ALERT_KEY --by NAME\n", cmd);
        return CLI_USAGE;
    }
    return 0;
}

/* ack and resolve: the incident's fields (ack) and a command for the collector. */
static int cli_ack_or_resolve(int argc, char **argv, const char *op)
{
    struct cli_target t;
    redisContext *rc;
    redisReply *r;
    const char *target;
    int ret, incident;

    ret = cli_parse_target(argc, argv, op, &t);
    if (ret != 0)
        return ret < 0 ? CLI_OK : ret;
    target = argv[optind];
    if ((ret = cli_redis_open(t.url, t.config, NULL, &rc)) != 0)
        return ret;
    r = redisCommand(rc, "EXISTS %s%s", STORE_KEY_INCIDENT, target);
    incident = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    if (!incident && !cli_alert_known(rc, target)) {
        fprintf(stderr, "nines: no incident or firing alert '%s' (see 'nines incidents' and "
                "'nines alerts --active')\n", target);
        redisFree(rc);
        return CLI_FAIL;
    }
    if (incident && strcmp(op, "ack") == 0) {
        r = redisCommand(rc, "HSET %s%s ack_by %s ack_ms %" PRId64, STORE_KEY_INCIDENT, target,
                         t.by, nines_wall_ms());
        freeReplyObject(r);
    } else if (incident) {
        r = redisCommand(rc, "HSET %s%s resolved_by %s resolved_ms %" PRId64,
                         STORE_KEY_INCIDENT, target, t.by, nines_wall_ms());
        freeReplyObject(r);
    }
    ret = cli_push_command(rc, op, target, t.by);
    if (ret == CLI_OK)
        cli_audit_record(rc, t.by, op, target, NULL);
    if (ret == CLI_OK)
        printf("%s %s by %s\n", strcmp(op, "ack") == 0 ? "acknowledged" : "resolved", target,
               t.by);
    redisFree(rc);
    return ret;
}

int cli_ack(int argc, char **argv)
{
    return cli_ack_or_resolve(argc, argv, "ack");
}

int cli_resolve(int argc, char **argv)
{
    return cli_ack_or_resolve(argc, argv, "resolve");
}

/* ---- silences ---------------------------------------------------------------- */

static void cli_silence_usage(FILE *f)
{
    fprintf(f,
            "usage: nines silence add --match LABEL=VALUE [--match LABEL=~REGEX ...]\n"
            "                         (--for DURATION | --until TIME | --until-resolved)\n"
            "                         [--start TIME] [--comment TEXT] [--by NAME]\n"
            "       nines silence list [--json]\n"
            "       nines silence expire ID\n"
            "  (each also takes -c FILE | --redis URL)\n"
            "Labels: check service customer team severity rule location. A silence holds\n"
            "matching notifications back; once it ends, alerts still firing are sent.\n");
}

static int cli_silence_add(redisContext *rc, struct silence *s)
{
    unsigned char rnd[6];
    char *text;
    redisReply *r;
    int ok;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return CLI_FAIL;
    snprintf(s->id, sizeof(s->id), "s-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
             rnd[4], rnd[5]);
    text = silence_to_json(s);
    r = text ? redisCommand(rc, "HSET %s %s %s", SILENCE_KEY, s->id, text) : NULL;
    ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
    freeReplyObject(r);
    if (!ok || cli_push_command(rc, "silences", s->id, s->by) != CLI_OK) {
        free(text);
        return CLI_UNREACHABLE;
    }
    cli_audit_record(rc, s->by, "silence_add", s->id, text);
    free(text);
    printf("%s\n", s->id);
    return CLI_OK;
}

static int cli_silence_list(redisContext *rc, int as_json)
{
    redisReply *r = redisCommand(rc, "HGETALL %s", SILENCE_KEY);
    json_t *arr = json_array();

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        json_decref(arr);
        return CLI_UNREACHABLE;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        struct silence s;
        struct nines_err err = { 0 };
        char m[512] = "", until[48];
        size_t used = 0;

        if (silence_from_json(r->element[i + 1]->str, r->element[i + 1]->len, &s, &err) != 0)
            continue;
        if (as_json) {
            json_array_append_new(arr, json_loadb(r->element[i + 1]->str,
                                                  r->element[i + 1]->len, 0, NULL));
            silence_clear(&s);
            continue;
        }
        for (size_t j = 0; j < s.nm && used < sizeof(m); j++)
            used += (size_t)snprintf(m + used, sizeof(m) - used, "%s%s=%s%s", j ? "," : "",
                                     s.m[j].name, s.m[j].regex ? "~" : "", s.m[j].value);
        if (s.until_resolved)
            snprintf(until, sizeof(until), "until resolved");
        else
            snprintf(until, sizeof(until), "until %" PRId64, s.end_ms);
        printf("%-16s %-40s %-24s by %s%s%s\n", s.id, m, until, s.by, s.comment[0] ? ": " : "",
               s.comment);
        silence_clear(&s);
    }
    if (as_json) {
        json_t *root = json_pack("{s:O}", "silences", arr);
        char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(root);
    } else if (r->elements == 0) {
        printf("no silences\n");
    }
    json_decref(arr);
    freeReplyObject(r);
    return CLI_OK;
}

static int cli_silence_expire(redisContext *rc, const char *id, const char *by)
{
    redisReply *r = redisCommand(rc, "HDEL %s %s", SILENCE_KEY, id);
    int found = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

    freeReplyObject(r);
    if (!found) {
        fprintf(stderr, "nines: no silence '%s' (see 'nines silence list')\n", id);
        return CLI_FAIL;
    }
    if (cli_push_command(rc, "silences", id, by) != CLI_OK)
        return CLI_UNREACHABLE;
    cli_audit_record(rc, by, "silence_expire", id, NULL);
    printf("expired %s\n", id);
    return CLI_OK;
}

int cli_silence(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
        { "by", required_argument, NULL, 'b' },     { "match", required_argument, NULL, 'm' },
        { "for", required_argument, NULL, 'f' },    { "until", required_argument, NULL, 'u' },
        { "until-resolved", no_argument, NULL, 'R' },
        { "start", required_argument, NULL, 's' },  { "comment", required_argument, NULL, 'C' },
        { "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *url = NULL, *verb;
    struct silence s;
    struct nines_err err = { 0 };
    int64_t dur = 0, t;
    int c, ret, as_json = 0, ends = 0;
    redisContext *rc;

    memset(&s, 0, sizeof(s));
    snprintf(s.by, sizeof(s.by), "%s", getenv("USER") ? getenv("USER") : "");
    s.created_ms = s.start_ms = nines_wall_ms();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_silence_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    verb = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "c:r:b:m:f:u:Rs:C:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'r': url = optarg; break;
        case 'b': snprintf(s.by, sizeof(s.by), "%s", optarg); break;
        case 'j': as_json = 1; break;
        case 'C': snprintf(s.comment, sizeof(s.comment), "%s", optarg); break;
        case 'm':
            if (s.nm >= SILENCE_MAX_MATCHERS ||
                silence_matcher_parse(optarg, &s.m[s.nm], &err) != 0) {
                fprintf(stderr, "nines: --match: %s\n", s.nm >= SILENCE_MAX_MATCHERS
                        ? "too many matchers (at most 8)" : err.msg);
                silence_clear(&s);
                return CLI_USAGE;
            }
            s.nm++;
            break;
        case 'f':
            ends++;
            if (nines_duration_parse(optarg, &dur) != 0 || dur <= 0) {
                fprintf(stderr, "nines: --for: '%s' is not a duration such as 2h\n", optarg);
                silence_clear(&s);
                return CLI_USAGE;
            }
            break;
        case 'u':
            ends++;
            if (cli_parse_time(optarg, &t) != 0) {
                fprintf(stderr, "nines: --until: '%s' is not a time such as "
                        "2026-12-01T10:00:00Z\n", optarg);
                silence_clear(&s);
                return CLI_USAGE;
            }
            s.end_ms = t;
            break;
        case 'R': ends++; s.until_resolved = 1; break;
        case 's':
            if (cli_parse_time(optarg, &s.start_ms) != 0) {
                fprintf(stderr, "nines: --start: '%s' is not a time\n", optarg);
                silence_clear(&s);
                return CLI_USAGE;
            }
            break;
        default:
            cli_silence_usage(c == 'h' ? stdout : stderr);
            silence_clear(&s);
            return c == 'h' ? CLI_OK : CLI_USAGE;
        }
    }
    if (dur > 0)
        s.end_ms = s.start_ms + dur;
    if (strcmp(verb, "add") == 0 && (s.nm == 0 || ends != 1 || optind != argc ||
                                     (!s.until_resolved && s.end_ms <= s.start_ms))) {
        fprintf(stderr, "nines: silence add needs at least one --match and exactly one of "
                "--for, --until (after the start) or --until-resolved\n");
        silence_clear(&s);
        return CLI_USAGE;
    }
    if ((strcmp(verb, "expire") == 0 && optind + 1 != argc) ||
        (strcmp(verb, "list") == 0 && optind != argc) ||
        (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "expire") != 0)) {
        cli_silence_usage(stderr);
        silence_clear(&s);
        return CLI_USAGE;
    }
    if ((ret = cli_redis_open(url, config, NULL, &rc)) != 0) {
        silence_clear(&s);
        return ret;
    }
    if (strcmp(verb, "add") == 0)
        ret = cli_silence_add(rc, &s);
    else if (strcmp(verb, "list") == 0)
        ret = cli_silence_list(rc, as_json);
    else
        ret = cli_silence_expire(rc, argv[optind], s.by);
    silence_clear(&s);
    redisFree(rc);
    return ret;
}
