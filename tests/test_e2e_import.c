/*
 * `nines import` and `nines export` end to end: a real redis-server and the
 * real `nines` binary. A generated week of results with a known outage and
 * a no-data gap is imported; the incident, its back-dated start and end,
 * the down interval and the gap are exact to the ms. A second import
 * changes nothing; a bad file writes nothing and names every bad line; an
 * export of results from the stream imports to the same store content.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nines/clock.h"
#include "nines/wire.h"
#include "e2eworld.h"
#include "redis_fixture.h"
#include "testutil.h"

#define MIN_MS INT64_C(60000)
#define DAY_MS INT64_C(86400000)
#define WEEK_STEPS (7 * 1440)

struct world {
    struct redis_fixture redis;
    char dir[256];
    char cfg[300];
    char file[300];
    int64_t base;       /* midnight UTC, 8 days ago */
};

static char out[1 << 16], err_out[1 << 16];

static void world_open(struct world *w)
{
    char yaml[1024];

    memset(w, 0, sizeof(*w));
    cr_assert(eq(int, test_tmpdir(w->dir, sizeof(w->dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&w->redis, 0), 0));
    snprintf(w->cfg, sizeof(w->cfg), "%s/nines.yaml", w->dir);
    snprintf(w->file, sizeof(w->file), "%s/history.jsonl", w->dir);
    snprintf(yaml, sizeof(yaml),
             "collector:\n  name: c1\n  redis: %s\n"
             "checks:\n  - id: web\n    kind: tcp\n    host: 127.0.0.1\n    port: 9\n"
             "    interval: 1m\n    failures_to_down: 2\n    locations: [eu, us]\n",
             w->redis.url);
    cr_assert(eq(int, test_write_file(w->cfg, yaml), 0));
    w->base = nines_wall_ms() - 8 * DAY_MS;
    w->base -= w->base % DAY_MS;
}

static void world_close(struct world *w)
{
    redis_fixture_stop(&w->redis);
    test_rmtree(w->dir);
}

/* eu fails at steps [100, 110), us at [101, 112); nobody reports in [2000, 2010). */
static int step_fails(int loc, int i)
{
    return loc == 0 ? (i >= 100 && i < 110) : (i >= 101 && i < 112);
}

/* The week as JSON Lines, in an order that is not time order (us first). */
static void world_write_week(struct world *w)
{
    FILE *f = fopen(w->file, "w");

    cr_assert(f != NULL);
    for (int loc = 1; loc >= 0; loc--) {
        for (int i = 0; i < WEEK_STEPS; i++) {
            int64_t t = w->base + i * MIN_MS + loc * 1000;

            if (i >= 2000 && i < 2010)
                continue;
            if (step_fails(loc, i))
                fprintf(f,
                        "{\"check\":\"web\",\"location\":\"%s\",\"timestamp\":%" PRId64
                        ",\"ok\":false,\"reason\":\"connect_refused\",\"message\":\"refused, "
                        "\\\"port 9\\\"\"}\n",
                        loc ? "us" : "eu", t);
            else
                fprintf(f,
                        "{\"check\":\"web\",\"location\":\"%s\",\"timestamp\":%" PRId64
                        ",\"ok\":true,\"latency\":%d.%03d}\n",
                        loc ? "us" : "eu", t, 10 + i % 7, (i * 37) % 1000);
        }
    }
    cr_assert(eq(int, fclose(f), 0));
}

static int world_import(struct world *w, const char *file, const char *url)
{
    const char *argv[] = { NINES_BIN_DIR "/nines", "import", file, "-c", w->cfg, "--redis",
                           url, NULL };

    return e2e_run(argv, NULL, out, sizeof(out), err_out, sizeof(err_out), 20000);
}

/* Every nines:* key with its DUMP, sorted, as one string (malloc'd). */
static char *world_snapshot(struct world *w, int db)
{
    redisContext *c = redis_fixture_connect(&w->redis);
    redisReply *keys, *r;
    size_t cap = 1 << 20, len = 0;
    char *s = calloc(1, cap);
    json_t *arr = json_array();

    cr_assert(c != NULL && s != NULL);
    freeReplyObject(redisCommand(c, "SELECT %d", db));
    keys = redisCommand(c, "KEYS nines:*");
    cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < keys->elements; i++)
        json_array_append_new(arr, json_string(keys->element[i]->str));
    freeReplyObject(keys);
    /* sort the names, then DUMP each in that order */
    for (size_t i = 0; i < json_array_size(arr); i++)
        for (size_t j = i + 1; j < json_array_size(arr); j++)
            if (strcmp(json_string_value(json_array_get(arr, i)),
                       json_string_value(json_array_get(arr, j))) > 0) {
                json_t *a = json_incref(json_array_get(arr, i));

                json_array_set(arr, i, json_array_get(arr, j));
                json_array_set_new(arr, j, a);
            }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *k = json_string_value(json_array_get(arr, i));

        r = redisCommand(c, "DUMP %s", k);
        cr_assert(r != NULL && r->type == REDIS_REPLY_STRING);
        cr_assert(lt(sz, len + strlen(k) + 2 * r->len + 4, cap));
        len += (size_t)sprintf(s + len, "%s=", k);
        for (size_t b = 0; b < r->len; b++)
            len += (size_t)sprintf(s + len, "%02x", (unsigned char)r->str[b]);
        s[len++] = '\n';
        freeReplyObject(r);
    }
    json_decref(arr);
    redisFree(c);
    return s;
}

static redisReply *world_cmd(struct world *w, const char *cmd)
{
    redisContext *c = redis_fixture_connect(&w->redis);
    redisReply *r;

    cr_assert(c != NULL);
    r = redisCommand(c, cmd);
    redisFree(c);
    cr_assert(r != NULL);
    return r;
}

Test(e2e_import, week_with_outage_gives_the_exact_incident_gap_and_latency, .timeout = 60)
{
    struct world w;
    const char *argv[] = { NINES_BIN_DIR "/nines", "incidents", "--redis", NULL, "--check",
                           "web", "--json", NULL };
    int64_t start, end, gap_from, gap_to;
    char want[64], key[96];
    json_t *root, *list, *inc;
    redisReply *r;

    world_open(&w);
    world_write_week(&w);
    cr_assert(eq(int, world_import(&w, w.file, w.redis.url), 0), "%s", err_out);
    cr_expect(strstr(out, "1 incidents") != NULL, "%s", out);

    /* us's first failure (step 101, +1 s) makes the quorum of 2; eu's first
     * success (step 110) breaks it */
    start = w.base + 101 * MIN_MS + 1000;
    end = w.base + 110 * MIN_MS;
    argv[3] = w.redis.url;
    cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err_out, sizeof(err_out), 20000), 0),
              "%s", err_out);
    root = json_loads(out, 0, NULL);
    list = json_object_get(root, "incidents");
    cr_assert(eq(sz, json_array_size(list), 1), "%s", out);
    inc = json_array_get(list, 0);
    cr_expect(eq(i64, json_integer_value(json_object_get(inc, "start_ms")), start));
    cr_expect(eq(i64, json_integer_value(json_object_get(inc, "end_ms")), end));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(inc, "reason")),
                 "connect_refused"));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(inc, "message")),
                 "refused, \"port 9\""));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(inc, "locations")), "eu,us"));
    json_decref(root);

    r = world_cmd(&w, "ZRANGE nines:down:web 0 -1");
    snprintf(want, sizeof(want), "%" PRId64 "-%" PRId64, start, end);
    cr_assert(eq(sz, r->elements, 1));
    cr_expect(eq(str, r->element[0]->str, want));
    freeReplyObject(r);

    /* the gap: from one interval after us's last result before it to eu's first after */
    gap_from = w.base + 1999 * MIN_MS + 1000 + MIN_MS;
    gap_to = w.base + 2010 * MIN_MS;
    r = world_cmd(&w, "ZRANGE nines:gaps:web 0 -1");
    snprintf(want, sizeof(want), "%" PRId64 "-%" PRId64, gap_from, gap_to);
    cr_assert(eq(sz, r->elements, 1));
    cr_expect(eq(str, r->element[0]->str, want));
    freeReplyObject(r);

    /* the span imported history covers, for uptime's "before the first result" */
    r = world_cmd(&w, "ZRANGE nines:imported:web 0 -1");
    snprintf(want, sizeof(want), "%" PRId64 "-%" PRId64, w.base,
             w.base + (WEEK_STEPS - 1) * MIN_MS + 1000 + MIN_MS);
    cr_assert(eq(sz, r->elements, 1));
    cr_expect(eq(str, r->element[0]->str, want));
    freeReplyObject(r);

    /* day 0: 2 x 1440 results minus 10 + 11 failures, each counted once */
    {
        time_t secs = (time_t)(w.base / 1000);
        struct tm tm;
        long long sum = 0;

        gmtime_r(&secs, &tm);
        snprintf(key, sizeof(key), "HVALS nines:latency:web:%04d%02d%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday);
        r = world_cmd(&w, key);
        for (size_t i = 0; i < r->elements; i++)
            sum += atoll(r->element[i]->str);
        cr_expect(eq(i64, sum, 2 * 1440 - 21));
        freeReplyObject(r);
    }
    world_close(&w);
}

Test(e2e_import, the_same_file_twice_changes_nothing, .timeout = 60)
{
    struct world w;
    char *once, *twice;

    world_open(&w);
    world_write_week(&w);
    cr_assert(eq(int, world_import(&w, w.file, w.redis.url), 0), "%s", err_out);
    once = world_snapshot(&w, 0);
    cr_assert(strstr(once, "nines:latency:web:") != NULL);
    cr_assert(strstr(once, "nines:incident:web@") != NULL);
    cr_assert(eq(int, world_import(&w, w.file, w.redis.url), 0), "%s", err_out);
    twice = world_snapshot(&w, 0);
    cr_expect(eq(str, once, twice));
    free(once);
    free(twice);
    world_close(&w);
}

Test(e2e_import, bad_lines_are_all_reported_and_nothing_is_written, .timeout = 60)
{
    struct world w;
    char text[1024], want[400];
    redisReply *r;
    int64_t t;

    world_open(&w);
    t = w.base + DAY_MS;
    snprintf(text, sizeof(text),
             "{\"check\":\"web\",\"location\":\"eu\",\"timestamp\":%" PRId64 ",\"ok\":false}\n"
             "{\"check\":\"web\",\"location\":\"eu\",\"timestamp\":%" PRId64 ",\"ok\":tru}\n"
             "{\"check\":\"nope\",\"location\":\"eu\",\"timestamp\":%" PRId64 ",\"ok\":true}\n"
             "{\"check\":\"web\",\"location\":\"us\",\"timestamp\":%" PRId64 ",\"ok\":true}\n"
             "{\"check\":\"web\",\"location\":\"mars\",\"timestamp\":%" PRId64
             ",\"ok\":true}\n",
             t, t + MIN_MS, t + 2 * MIN_MS, nines_wall_ms() + 10 * DAY_MS, t);
    cr_assert(eq(int, test_write_file(w.file, text), 0));
    cr_expect(eq(int, world_import(&w, w.file, w.redis.url), 1));
    for (int line = 2; line <= 5; line++) {
        snprintf(want, sizeof(want), "%s:%d:", w.file, line);
        cr_expect(strstr(err_out, want) != NULL, "no error for line %d in: %s", line, err_out);
    }
    snprintf(want, sizeof(want), "%s:1:", w.file);
    cr_expect(strstr(err_out, want) == NULL, "%s", err_out);
    cr_expect(strstr(err_out, "nope") != NULL, "%s", err_out);
    cr_expect(strstr(err_out, "mars") != NULL, "%s", err_out);
    cr_expect(strstr(err_out, "nothing imported") != NULL, "%s", err_out);
    r = world_cmd(&w, "DBSIZE");
    cr_expect(eq(i64, r->integer, 0), "Redis was written");
    freeReplyObject(r);
    world_close(&w);
}

/* The week's results as a probe would have pushed them, into the stream. */
static void world_push_week(struct world *w)
{
    redisContext *c = redis_fixture_connect(&w->redis);
    struct nines_result *r = malloc(sizeof(*r));
    struct nines_wire *wire = malloc(sizeof(*wire));
    const char *argv[NINES_WIRE_XADD_ARGC];
    size_t len[NINES_WIRE_XADD_ARGC];
    int n = 0;

    cr_assert(c != NULL && r != NULL && wire != NULL);
    for (int i = 0; i < 3 * 1440; i++) {
        for (int loc = 0; loc < 2; loc++) {
            nines_result_init(r);
            snprintf(r->id, sizeof(r->id), "p/%d/%d", loc, i);
            snprintf(r->check_id, sizeof(r->check_id), "web");
            snprintf(r->probe, sizeof(r->probe), "p-%s", loc ? "us" : "eu");
            snprintf(r->location, sizeof(r->location), "%s", loc ? "us" : "eu");
            r->start_ms = w->base + i * MIN_MS + loc * 1000;
            r->outcome = step_fails(loc, i) ? NINES_OUTCOME_FAIL : NINES_OUTCOME_OK;
            r->total_us = 12345 + i;
            if (r->outcome != NINES_OUTCOME_OK) {
                snprintf(r->reason, sizeof(r->reason), "connect_refused");
                snprintf(r->message, sizeof(r->message), "refused, \"port 9\"");
            }
            nines_wire_encode(r, wire);
            redisAppendCommandArgv(c, nines_wire_xadd_argv(wire, NINES_KEY_RESULTS, argv, len),
                                   argv, len);
            n++;
        }
    }
    for (int i = 0; i < n; i++) {
        redisReply *rep = NULL;

        cr_assert(eq(int, redisGetReply(c, (void **)&rep), REDIS_OK));
        cr_assert(rep->type == REDIS_REPLY_STRING);
        freeReplyObject(rep);
    }
    free(r);
    free(wire);
    redisFree(c);
}

Test(e2e_import, exported_results_import_to_the_same_store, .timeout = 90)
{
    struct world w;
    char from[32], to[32], csv[320], url1[420], url2[420], text[600];
    char *a, *b;
    FILE *f;

    world_open(&w);
    world_push_week(&w);
    snprintf(from, sizeof(from), "%" PRId64, w.base);
    snprintf(to, sizeof(to), "%" PRId64, w.base + 3 * DAY_MS);
    snprintf(csv, sizeof(csv), "%s/export.csv", w.dir);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines", "export", "-c", w.cfg, "--check", "web",
                               "--from", from, "--to", to, "--format", "csv", "-o", csv,
                               NULL };

        cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), err_out, sizeof(err_out), 20000),
                     0), "%s", err_out);
    }
    /* the same rows written by hand in the import format, into db 2 */
    f = fopen(w.file, "w");
    cr_assert(f != NULL);
    for (int i = 0; i < 3 * 1440; i++)
        for (int loc = 0; loc < 2; loc++) {
            int fails = step_fails(loc, i);

            fprintf(f,
                    "{\"check\":\"web\",\"location\":\"%s\",\"timestamp\":%" PRId64
                    ",\"ok\":%s,\"latency\":%d.%03d%s}\n",
                    loc ? "us" : "eu", w.base + i * MIN_MS + loc * 1000,
                    fails ? "false" : "true", (12345 + i) / 1000, (12345 + i) % 1000,
                    fails ? ",\"reason\":\"connect_refused\",\"message\":\"refused, "
                            "\\\"port 9\\\"\""
                          : "");
        }
    cr_assert(eq(int, fclose(f), 0));
    snprintf(url1, sizeof(url1), "%s?db=1", w.redis.url);
    snprintf(url2, sizeof(url2), "%s?db=2", w.redis.url);
    cr_assert(eq(int, world_import(&w, csv, url1), 0), "%s", err_out);
    snprintf(text, sizeof(text), "imported %s: %d results", csv, 2 * 3 * 1440);
    cr_expect(strstr(out, text) != NULL, "%s", out);
    cr_assert(eq(int, world_import(&w, w.file, url2), 0), "%s", err_out);
    a = world_snapshot(&w, 1);
    b = world_snapshot(&w, 2);
    cr_expect(strstr(a, "nines:incident:web@") != NULL, "%s", a);
    cr_expect(eq(str, a, b));
    free(a);
    free(b);
    world_close(&w);
}
