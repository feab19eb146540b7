/*
 * The audit log end to end: a real collector and redis-server; operator actions
 * through the API (as a token), a configuration reload (SIGHUP) and the CLI's
 * own actions (as $USER) all land in one hash chain; `nines audit verify`
 * accepts it and names the entry an attacker deleted or altered; `nines audit
 * export` gives CSV and JSON, a time range verifying on its own.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "http_client.h"
#include "nines/auditchain.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

struct audit_world {
    struct e2eworld e;
    redisContext *rc;
};

static char out[262144], errout[8192];

static void write_config(struct audit_world *w, const char *checks)
{
    char yaml[4096], op[72];

    e2eworld_token_hash("operator-token", op);
    snprintf(yaml, sizeof(yaml),
             "collector:\n  name: c1\n  redis: %s\n  data_dir: %s/data\n"
             "api:\n  listen: 127.0.0.1:0\n  tokens:\n"
             "    - {name: bob, role: operator, hash: \"%s\"}\n"
             "checks:\n%s",
             w->e.redis.url, w->e.dir, op, checks);
    e2eworld_config(&w->e, yaml);
}

#define CHECK(id, port) "  - id: " id "\n    kind: tcp\n    host: 127.0.0.1\n    port: " port \
                        "\n    interval: 60s\n"

static void world_open(struct audit_world *w)
{
    memset(w, 0, sizeof(*w));
    e2eworld_open(&w->e);
    write_config(w, CHECK("web", "1") CHECK("old", "2"));
    e2eworld_collector(&w->e, "collector.log", NULL);
    cr_assert(eq(int, e2eworld_wait_api(&w->e, 10000), 0), "no api.addr");
    cr_assert(eq(int, e2eworld_wait_published(&w->e, 10000), 0), "the collector never reached Redis");
    w->rc = redis_fixture_connect(&w->e.redis);
    cr_assert(not(eq(ptr, w->rc, NULL)));
}

static void world_close(struct audit_world *w)
{
    if (w->rc != NULL)
        redisFree(w->rc);
    e2eworld_close(&w->e);
}

static int api(struct audit_world *w, const char *method, const char *path, const char *json)
{
    return e2eworld_request(&w->e, method, path, "operator-token", json, out, sizeof(out));
}

/* Runs nines with args (NULL-terminated) against the world's Redis; the exit code. */
static int nines(struct audit_world *w, const char *user, const char *const *args)
{
    const char *argv[24] = { NINES_BIN_DIR "/nines" };
    char env_user[80];
    const char *env[] = { env_user, NULL };
    size_t n = 1;

    for (; *args != NULL && n < 20; args++)
        argv[n++] = *args;
    argv[n++] = "--redis";
    argv[n++] = w->e.redis.url;
    argv[n] = NULL;
    snprintf(env_user, sizeof(env_user), "USER=%s", user);
    return e2e_run(argv, env, out, sizeof(out), errout, sizeof(errout), 15000);
}

struct len_want {
    struct audit_world *w;
    long long n;
};

static int stream_has(void *arg)
{
    struct len_want *l = arg;
    redisReply *r = redisCommand(l->w->rc, "XLEN %s", AUDITCHAIN_KEY);
    int ok = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= l->n;

    freeReplyObject(r);
    return ok;
}

static json_t *export_json(struct audit_world *w, const char *from, const char *to, int *code)
{
    const char *args[] = { "audit", "export", "--format", "json", from ? "--from" : NULL, from,
                           to ? "--to" : NULL, to, NULL };
    json_t *j;

    if (from == NULL) {
        args[4] = NULL;
    } else if (to == NULL) {
        args[6] = NULL;
    }
    *code = nines(w, "auditor", args);
    j = json_loads(out, 0, NULL);
    cr_assert(not(eq(ptr, j, NULL)), "export is not JSON: %s", out);
    return j;
}

static const char *entry_str(json_t *entries, size_t i, const char *key)
{
    const char *s = json_string_value(json_object_get(json_array_get(entries, i), key));

    cr_assert(not(eq(ptr, (void *)s, NULL)), "entry %zu has no %s", i, key);
    return s;
}

Test(e2e_audit, api_reload_and_cli_actions_form_one_verifiable_chain, .timeout = 90)
{
    static const char *const verify[] = { "audit", "verify", NULL };
    static const char *const maint[] = { "maintenance", "add", "m2", "--start",
                                         "2030-01-01T00:00:00Z", "--end",
                                         "2030-01-01T01:00:00Z", NULL };
    struct audit_world w;
    struct len_want want;
    json_t *j, *entries, *detail;
    int code;

    world_open(&w);
    /* 1, 2: the API, as the token bob */
    cr_assert(eq(int, api(&w, "POST", "/api/v1/maintenance",
                          "{\"id\":\"m1\",\"start_ms\":1,\"end_ms\":2}"), 201), "%s", out);
    cr_assert(eq(int, api(&w, "DELETE", "/api/v1/maintenance/m1", NULL), 200), "%s", out);
    /* 3: a reload that adds db, removes old and changes web */
    write_config(&w, CHECK("web", "3") CHECK("db", "4"));
    cr_assert(eq(int, proc_signal(w.e.collector, SIGHUP), 0));
    want = (struct len_want){ &w, 3 };
    cr_assert(eq(int, test_wait_until(stream_has, &want, 10000), 0), "no reload entry");
    /* 4: the CLI's own action, as $USER */
    cr_assert(eq(int, nines(&w, "carol", maint), 0), "%s", errout);

    cr_assert(eq(int, nines(&w, "auditor", verify), 0), "%s%s", out, errout);
    cr_assert(not(eq(ptr, strstr(out, "verified: 4 entries"), NULL)), "%s", out);

    j = export_json(&w, NULL, NULL, &code);
    cr_assert(eq(int, code, 0), "%s", errout);
    entries = json_object_get(j, "entries");
    cr_assert(eq(sz, json_array_size(entries), 4));
    cr_assert(eq(str, (char *)entry_str(entries, 0, "action"), "maintenance_add"));
    cr_assert(eq(str, (char *)entry_str(entries, 0, "actor"), "bob"));
    cr_assert(eq(str, (char *)entry_str(entries, 0, "source"), "api"));
    cr_assert(eq(str, (char *)entry_str(entries, 0, "target"), "m1"));
    cr_assert(eq(str, (char *)entry_str(entries, 1, "action"), "maintenance_remove"));
    cr_assert(eq(str, (char *)entry_str(entries, 2, "action"), "config_reload"));
    cr_assert(eq(str, (char *)entry_str(entries, 2, "actor"), "collector"));
    detail = json_loads(entry_str(entries, 2, "detail"), 0, NULL);
    cr_assert(not(eq(ptr, detail, NULL)));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(
                     json_object_get(json_object_get(detail, "checks"), "added"), 0)), "db"));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(
                     json_object_get(json_object_get(detail, "checks"), "removed"), 0)), "old"));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(
                     json_object_get(json_object_get(detail, "checks"), "changed"), 0)), "web"));
    json_decref(detail);
    cr_assert(eq(str, (char *)entry_str(entries, 3, "actor"), "carol"));
    cr_assert(eq(str, (char *)entry_str(entries, 3, "source"), "cli"));
    cr_assert(eq(str, (char *)entry_str(entries, 3, "target"), "m2"));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(j, "first_prev")),
                 AUDITCHAIN_GENESIS));
    cr_assert(eq(int, json_is_true(json_object_get(j, "verified")), 1));
    json_decref(j);

    /* CSV: a header and one line per entry; the reload's JSON detail is quoted */
    {
        const char *const csv[] = { "audit", "export", NULL };

        cr_assert(eq(int, nines(&w, "auditor", csv), 0), "%s", errout);
        cr_assert(eq(int, strncmp(out, "id,seq,time,ts_ms,actor,source,action,target,detail,"
                                       "prev,hash,verified\n", 67), 0), "%s", out);
        cr_assert(not(eq(ptr, strstr(out, ",collector,collector,config_reload,"), NULL)));
        cr_assert(not(eq(ptr, strstr(out, "\"{\"\"checks\"\":"), NULL)), "%s", out);
    }
    world_close(&w);
}

Test(e2e_audit, verify_names_the_deleted_entry_and_an_extract_stands_alone, .timeout = 90)
{
    static const char *const verify[] = { "audit", "verify", NULL };
    struct audit_world w;
    json_t *j, *entries, *all;
    char from[32], to[32], victim[48];
    int code;

    world_open(&w);
    for (int i = 0; i < 5; i++) {
        char body[96];

        snprintf(body, sizeof(body), "{\"id\":\"w%d\",\"start_ms\":1,\"end_ms\":2}", i);
        cr_assert(eq(int, api(&w, "POST", "/api/v1/maintenance", body), 201), "%s", out);
    }
    {
        struct len_want want = { &w, 5 };

        cr_assert(eq(int, test_wait_until(stream_has, &want, 10000), 0));
    }
    all = export_json(&w, NULL, NULL, &code);
    cr_assert(eq(int, code, 0));
    entries = json_object_get(all, "entries");
    /* an extract: entries 2..4 by time, verified against entry 1's hash */
    snprintf(from, sizeof(from), "%lld", (long long)json_integer_value(
                 json_object_get(json_array_get(entries, 1), "ts_ms")));
    snprintf(to, sizeof(to), "%lld", (long long)json_integer_value(
                 json_object_get(json_array_get(entries, 3), "ts_ms")));
    j = export_json(&w, from, to, &code);
    cr_assert(eq(int, code, 0), "%s", errout);
    cr_assert(eq(int, json_is_true(json_object_get(j, "verified")), 1));
    cr_assert(ge(sz, json_array_size(json_object_get(j, "entries")), 1));
    json_decref(j);

    /* the attacker deletes the third entry */
    snprintf(victim, sizeof(victim), "%s", entry_str(entries, 3, "id"));
    freeReplyObject(redisCommand(w.rc, "XDEL %s %s", AUDITCHAIN_KEY,
                                 entry_str(entries, 2, "id")));
    cr_assert(eq(int, nines(&w, "auditor", verify), 1));
    cr_assert(not(eq(ptr, strstr(errout, victim), NULL)), "names the entry after it: %s",
              errout);
    cr_assert(not(eq(ptr, strstr(errout, "deleted"), NULL)), "%s", errout);
    /* the export still gives everything, marks it and fails */
    j = export_json(&w, NULL, NULL, &code);
    cr_assert(eq(int, code, 1));
    cr_assert(eq(int, json_is_false(json_object_get(j, "verified")), 1));
    cr_assert(eq(sz, json_array_size(json_object_get(j, "entries")), 4));
    json_decref(j);
    json_decref(all);
    world_close(&w);
}
