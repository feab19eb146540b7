/*
 * A Redis that wants a password: the collector and the CLI read it from the
 * file or variable the configuration names (never from the YAML), and a
 * missing one is a clear error at start.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

static char out[65536];

static int status_shows_the_check(void *arg)
{
    const char *cfg = arg;
    const char *argv[] = { NINES_BIN_DIR "/nines", "status", "-c", cfg, NULL };
    int code = -1;

    return proc_run(argv, out, sizeof(out), 10000, &code) == 0 && code == 0 &&
           strstr(out, "web") != NULL;
}

Test(e2e_redis_auth, the_password_comes_from_a_file_or_a_variable, .timeout = 60)
{
    struct redis_fixture rf;
    char dir[256], cfg[400], pwfile[400], yaml[2048], log[400];
    redisContext *c;
    redisReply *r;
    pid_t collector;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    c = redis_fixture_connect(&rf);
    r = redisCommand(c, "CONFIG SET requirepass s3cret-pw");
    cr_assert(eq(int, r->type, REDIS_REPLY_STATUS));
    freeReplyObject(r);
    redisFree(c);
    snprintf(pwfile, sizeof(pwfile), "%s/redis.pw", dir);
    cr_assert(eq(int, test_write_file(pwfile, "s3cret-pw\n"), 0));
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", redis_password_file: \"%s\","
             " data_dir: \"%s/data\"}\n"
             "api: {listen: \"127.0.0.1:0\"}\n"
             "checks: [{id: web, kind: http, url: \"http://127.0.0.1:9/\"}]\n",
             rf.url, pwfile, dir);
    snprintf(cfg, sizeof(cfg), "%s/nines.yaml", dir);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    snprintf(log, sizeof(log), "%s/collector.log", dir);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfg, NULL };

        collector = proc_spawn(argv, log);
    }
    /* the collector published its catalogue and states through AUTH; the CLI
     * reads the same password */
    cr_assert(eq(int, test_wait_until(status_shows_the_check, cfg, 15000), 0), "%s", out);
    proc_stop(collector, 5000);
    /* a variable that is not set: a clear error, exit 2 */
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", redis_password_env: NINES_NO_SUCH_PW,"
             " data_dir: \"%s/data\"}\n"
             "checks: [{id: web, kind: http, url: \"http://127.0.0.1:9/\"}]\n",
             rf.url, dir);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfg, NULL };
        char err[4096];

        cr_expect(ne(int, e2e_run(argv, NULL, out, sizeof(out), err, sizeof(err), 15000), 0));
        cr_expect(ne(ptr, strstr(err, "NINES_NO_SUCH_PW is not set"), NULL), "%s", err);
    }
    redis_fixture_stop(&rf);
    test_rmtree(dir);
}

static int results_arrived(void *arg)
{
    struct redis_fixture *rf = arg;
    redisContext *c = redis_fixture_connect(rf);
    redisReply *r = c ? redisCommand(c, "AUTH admin-pw") : NULL;
    int yes;

    freeReplyObject(r);
    r = c ? redisCommand(c, "XLEN nines:results") : NULL;
    yes = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= 3;
    freeReplyObject(r);
    redisFree(c);
    return yes;
}

/* A command split at spaces (no format: '%' is literal in ACL rules). */
static redisReply *split_command(redisContext *c, const char *line)
{
    char copy[1024], *argv[32], *save = NULL;
    int argc = 0;

    snprintf(copy, sizeof(copy), "%s", line);
    for (char *t = strtok_r(copy, " ", &save); t != NULL && argc < 32;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    return redisCommandArgv(c, argc, (const char **)argv, NULL);
}

/* The README's ACL for probes: results in, the catalogue out, nothing else. */
Test(e2e_redis_auth, a_probe_with_the_documented_acl_pushes_results_and_nothing_more,
     .timeout = 60)
{
    struct redis_fixture rf;
    char url[200], log[400], dir[256];
    redisContext *c;
    redisReply *r;
    pid_t probe;
    static const char *const setup[] = {
        "ACL SETUSER default on >admin-pw ~* &* +@all",
        "ACL SETUSER nines-probe on >probe-pw resetkeys ~nines:results* ~nines:probe:acked:* "
        "%R~nines:catalogue* %R~nines:settings:* -@all +ping +select +get +mget +eval +evalsha "
        "+xadd +set",
    };
    char yaml[1024], cfg[400], clog[400];
    const char *cenv[] = { "NINES_T_ADMIN=admin-pw", NULL };
    pid_t collector;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&rf, 1), 0));
    c = redis_fixture_connect(&rf);
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
        r = split_command(c, setup[i]);
        if (i == 0) {
            freeReplyObject(r);
            r = redisCommand(c, "AUTH admin-pw");
        }
        cr_assert(ne(int, r->type, REDIS_REPLY_ERROR), "%s: %s", setup[i], r->str);
        freeReplyObject(r);
    }
    /* the probe's user cannot touch state, incidents or the outbox */
    {
        redisContext *p = redisConnect("127.0.0.1", rf.port);

        r = redisCommand(p, "AUTH nines-probe probe-pw");
        cr_assert(eq(int, r->type, REDIS_REPLY_STATUS));
        freeReplyObject(r);
        r = redisCommand(p, "HSET nines:state:web doc x");
        cr_expect(eq(int, r->type, REDIS_REPLY_ERROR), "the probe wrote a state");
        freeReplyObject(r);
        r = redisCommand(p, "SET nines:catalogue x");
        cr_expect(eq(int, r->type, REDIS_REPLY_ERROR), "the probe wrote the catalogue");
        freeReplyObject(r);
        redisFree(p);
    }
    redisFree(c);
    /* the collector as the administrator publishes the catalogue */
    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"redis://127.0.0.1:%d\","
             " redis_password_env: NINES_T_ADMIN, data_dir: \"%s/data\"}\n"
             "api: {listen: \"127.0.0.1:0\"}\n"
             "checks: [{id: web, kind: tcp, host: 127.0.0.1, port: 9, interval: 1s,"
             " timeout: 500ms}]\n", rf.port, dir);
    snprintf(cfg, sizeof(cfg), "%s/nines.yaml", dir);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    snprintf(clog, sizeof(clog), "%s/collector.log", dir);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfg, NULL };

        collector = proc_spawn_env(argv, clog, cenv);
    }
    snprintf(url, sizeof(url), "redis://nines-probe:probe-pw@127.0.0.1:%d", rf.port);
    snprintf(log, sizeof(log), "%s/probe.log", dir);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", url, "--name", "p1",
                               "--location", "local", "--poll-ms", "200", "--spool-dir", "off",
                               NULL };

        probe = proc_spawn(argv, log);
    }
    if (test_wait_until(results_arrived, &rf, 20000) != 0) {
        char *t = test_read_file(log);

        cr_assert(0, "no results with the probe's ACL:\n%s", t ? t : "(no log)");
    }
    proc_stop(probe, 3000);
    proc_stop(collector, 5000);
    redis_fixture_stop(&rf);
    test_rmtree(dir);
}
