/*
 * End to end, the probe's spool: a real redis-server (AOF on, so a SIGKILL
 * loses nothing acknowledged), the HTTP fixture as target, nines-collector
 * and nines-probe as processes, 200 checks at 1 s. Redis is killed under
 * load for NINES_SPOOL_TEST_S seconds (default 20; the scenario is
 * NINES_SPOOL_TEST_S=60), then started again on the same port; halfway
 * through the outage the probe is restarted. Afterwards every seq 1..last_seq
 * of both probe runs (from their logs' probe_stopped lines) is in the stream
 * exactly once, the collector applied every entry, and the checks show no
 * down time and no incident.
 *
 * The collector trims the stream once it has consumed it, so the test reads
 * the stream as it grows (XREAD every poll) and keeps every result id.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2eworld.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define SP_CHECKS 200

struct sp_seen {
    long long boot;
    unsigned long long seq;
};

struct sp {
    char dir[256];
    char rdir[300];
    char cfg[320];
    char plog[320];
    char url[64];
    char port_s[16];
    int port;
    pid_t redis, collector, probe;
    struct httpfix http;
    redisContext *rc;           /* the test's reader */
    char last_id[64];
    struct sp_seen *seen;
    size_t nseen, aseen;
};

static struct sp *sp_cur;
static char sp_last_dir[256];

static void sp_dump_logs(void)
{
    const char *names[] = { "collector.log", "probe.log", "redis/redis.log" };
    char path[600], *log;

    if (getenv("NINES_TEST_LOGS") == NULL || sp_last_dir[0] == '\0')
        return;
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", sp_last_dir, names[i]);
        log = test_read_file(path);
        fprintf(stderr, "---- %s ----\n%s", names[i], log ? log : "(none)\n");
        free(log);
    }
}

TestSuite(e2e_spool, .fini = sp_dump_logs);

static int sp_redis_pings(void *arg)
{
    struct sp *s = arg;
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
    int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    return ok;
}

/* redis-server with an append-only file fsync'd at every write. */
static void sp_redis_start(struct sp *s)
{
    char log[400];
    const char *argv[] = { "redis-server", "--port", s->port_s, "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                           "--dir", s->rdir, "--daemonize", "no", NULL };

    snprintf(log, sizeof(log), "%s/redis.log", s->rdir);
    s->redis = proc_spawn(argv, log);
    cr_assert(gt(int, s->redis, 0));
    cr_assert(eq(int, test_wait_until(sp_redis_pings, s, 10000), 0), "redis-server answers");
}

static void sp_reader_close(struct sp *s)
{
    if (s->rc != NULL)
        redisFree(s->rc);
    s->rc = NULL;
}

static void sp_note(struct sp *s, const char *id, size_t len)
{
    char tmp[128], *a, *b;

    snprintf(tmp, sizeof(tmp), "%.*s", (int)(len < 127 ? len : 127), id);
    a = strchr(tmp, '/');
    b = a ? strchr(a + 1, '/') : NULL;
    cr_assert(b != NULL, "result id '%s' is <probe>/<boot>/<seq>", tmp);
    if (s->nseen == s->aseen) {
        s->aseen = s->aseen ? s->aseen * 2 : 4096;
        s->seen = realloc(s->seen, s->aseen * sizeof(*s->seen));
        cr_assert(s->seen != NULL);
    }
    s->seen[s->nseen].boot = strtoll(a + 1, NULL, 10);
    s->seen[s->nseen].seq = strtoull(b + 1, NULL, 10);
    s->nseen++;
}

/* Reads the stream from where it left off; quiet while Redis is away. */
static void sp_collect(struct sp *s)
{
    for (int round = 0; round < 100; round++) {
        redisReply *r, *entries;
        static struct nines_result res;

        if (s->rc == NULL) {
            struct timeval tv = { 1, 0 };

            s->rc = redisConnectWithTimeout("127.0.0.1", s->port, tv);
            if (s->rc == NULL || s->rc->err) {
                sp_reader_close(s);
                return;
            }
        }
        r = redisCommand(s->rc, "XREAD COUNT 5000 STREAMS nines:results %s", s->last_id);
        if (r == NULL) {
            sp_reader_close(s);
            return;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            return;
        }
        entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            redisReply *e = entries->element[i], *f = e->element[1];

            snprintf(s->last_id, sizeof(s->last_id), "%s", e->element[0]->str);
            if (redis_fixture_entry_result(f, &res) == 0)
                sp_note(s, res.id, strlen(res.id));
        }
        freeReplyObject(r);
    }
}

static size_t sp_count_boot(const struct sp *s, long long boot, unsigned long long *max)
{
    size_t n = 0;

    *max = 0;
    for (size_t i = 0; i < s->nseen; i++) {
        if (s->seen[i].boot != boot)
            continue;
        n++;
        if (s->seen[i].seq > *max)
            *max = s->seen[i].seq;
    }
    return n;
}

struct sp_want {
    struct sp *s;
    size_t n;
    long long boot;
    const char *needle;
};

static int sp_seen_at_least(void *arg)
{
    struct sp_want *w = arg;

    sp_collect(w->s);
    return w->s->nseen >= w->n;
}

static int sp_log_has(void *arg)
{
    struct sp_want *w = arg;
    char *log = test_read_file(w->s->plog);
    int ok = log != NULL && strstr(log, w->needle) != NULL;

    free(log);
    sp_collect(w->s);
    return ok;
}

/* Every seq 1..n of boot seen, or a second boot's first results. */
static int sp_boot_complete(void *arg)
{
    struct sp_want *w = arg;
    unsigned long long max;

    sp_collect(w->s);
    return sp_count_boot(w->s, w->boot, &max) >= w->n;
}

static void sp_write_config(struct sp *s)
{
    size_t cap = 64 * 1024, off;
    char *y = malloc(cap);

    cr_assert(y != NULL);
    off = (size_t)snprintf(y, cap,
                           "collector:\n  name: c1\n  data_dir: %s/data\n  redis: %s\n"
                           "api:\n  listen: 127.0.0.1:0\nchecks:\n",
                           s->dir, s->url);
    for (int i = 0; i < SP_CHECKS; i++)
        off += (size_t)snprintf(y + off, cap - off,
                                "  - id: web-%d\n    kind: http\n    url: %s/\n"
                                "    interval: 1s\n    timeout: 800ms\n",
                                i, s->http.base_url);
    cr_assert(lt(sz, off, cap));
    cr_assert(eq(int, test_write_file(s->cfg, y), 0));
    free(y);
}

static void sp_start_probe(struct sp *s)
{
    char spool[400];
    const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", s->url, "--name", "p1",
                           "--location", "local", "--poll-ms", "200", "--spool-dir", spool,
                           "--spool-segment-bytes", "256K", NULL };

    snprintf(spool, sizeof(spool), "%s/spool", s->dir);
    s->probe = proc_spawn(argv, s->plog);
    cr_assert(gt(int, s->probe, 0));
}

/* The last probe_stopped line's field (last_seq=, boot_ms=), or -1. */
static long long sp_stopped_field(const struct sp *s, const char *field)
{
    char *log = test_read_file(s->plog), *line, *f;
    long long v = -1;

    cr_assert(log != NULL);
    line = log;
    for (char *p = strstr(log, "event=probe_stopped"); p; p = strstr(p + 1, "event=probe_stopped"))
        line = p;
    f = strstr(line, field);
    if (line != log && f != NULL)
        v = strtoll(f + strlen(field), NULL, 10);
    free(log);
    return v;
}

static int sp_cmp_seen(const void *a, const void *b)
{
    const struct sp_seen *x = a, *y = b;

    if (x->boot != y->boot)
        return x->boot < y->boot ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sum of the collector's per-check result counts equals what we saw. */
static int sp_collector_applied_all(void *arg)
{
    struct sp *s = arg;
    static char out[1 << 20];
    const char *argv[] = { NINES_BIN_DIR "/nines", "status", "--redis", s->url, "--json", NULL };
    json_t *root, *c;
    size_t i;
    long long sum = 0;
    int code = -1;

    if (proc_run(argv, out, sizeof(out), 10000, &code) != 0 || code != 0)
        return 0;
    root = json_loads(out, 0, NULL);
    json_array_foreach(json_object_get(root, "checks"), i, c)
        sum += json_integer_value(json_object_get(c, "results"));
    json_decref(root);
    return sum == (long long)s->nseen;
}

static void sp_assert_no_downtime(struct sp *s, const char *check, int64_t from_ms)
{
    static char out[65536];
    char from[32], to[32];
    const char *argv[] = { NINES_BIN_DIR "/nines", "export", "-c", s->cfg, "--check", check,
                           "--from", from, "--to", to, "--what", "days", "--format", "jsonl",
                           NULL };
    int rows = 0;
    char *line, *save = NULL;

    snprintf(from, sizeof(from), "%lld", (long long)from_ms);
    snprintf(to, sizeof(to), "%lld", (long long)nines_wall_ms());
    cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), NULL, 0, 10000), 0),
              "nines export: %s", out);
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *row = json_loads(line, 0, NULL);

        cr_assert(row != NULL, "export row: %s", line);
        cr_assert(eq(i64, json_integer_value(json_object_get(row, "downtime_ms")), 0),
                  "%s: the gap is not down time: %s", check, line);
        cr_assert(eq(dbl, json_real_value(json_object_get(row, "uptime")), 1.0), "%s: %s",
                  check, line);
        json_decref(row);
        rows++;
    }
    cr_assert(gt(int, rows, 0), "%s: a day row", check);
}

static void sp_assert_no_incidents(struct sp *s)
{
    static char out[65536];
    const char *argv[] = { NINES_BIN_DIR "/nines", "incidents", "--redis", s->url, "--json",
                           NULL };
    json_t *root;

    cr_assert(eq(int, e2e_run(argv, NULL, out, sizeof(out), NULL, 0, 10000), 0),
              "nines incidents: %s", out);
    root = json_loads(out, 0, NULL);
    cr_assert(root != NULL, "incidents JSON: %s", out);
    cr_assert(eq(sz, json_array_size(json_object_get(root, "incidents")), 0),
              "no incident from the Redis outage: %s", out);
    json_decref(root);
}

static void sp_close(struct sp *s)
{
    if (s->probe > 0)
        proc_stop(s->probe, 5000);
    if (s->collector > 0)
        proc_stop(s->collector, 5000);
    if (s->redis > 0)
        proc_stop(s->redis, 3000);
    sp_reader_close(s);
    httpfix_stop(&s->http);
    free(s->seen);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(s->dir);
}

Test(e2e_spool, redis_killed_under_load_loses_and_duplicates_nothing, .timeout = 900)
{
    struct sp s = { 0 };
    const char *env = getenv("NINES_SPOOL_TEST_S");
    int outage_s = env ? atoi(env) : 20;
    const char *cargv[] = { NINES_BIN_DIR "/nines-collector", "-c", s.cfg, NULL };
    char clog[320];
    struct sp_want w = { .s = &s };
    int64_t t0 = nines_wall_ms();
    long long boot1, last1, boot2, last2;
    unsigned long long max;
    size_t before_kill;

    cr_assert(gt(int, outage_s, 0), "NINES_SPOOL_TEST_S is a number of seconds");
    sp_cur = &s;
    test_wait_poll_ms(50);
    cr_assert(eq(int, test_tmpdir(s.dir, sizeof(s.dir)), 0));
    snprintf(sp_last_dir, sizeof(sp_last_dir), "%s", s.dir);
    snprintf(s.rdir, sizeof(s.rdir), "%s/redis", s.dir);
    snprintf(s.cfg, sizeof(s.cfg), "%s/nines.yaml", s.dir);
    snprintf(s.plog, sizeof(s.plog), "%s/probe.log", s.dir);
    snprintf(clog, sizeof(clog), "%s/collector.log", s.dir);
    snprintf(s.last_id, sizeof(s.last_id), "0-0");
    cr_assert(eq(int, mkdir(s.rdir, 0700), 0));
    s.port = test_unused_port();
    cr_assert(gt(int, s.port, 0));
    snprintf(s.port_s, sizeof(s.port_s), "%d", s.port);
    snprintf(s.url, sizeof(s.url), "redis://127.0.0.1:%d", s.port);
    sp_redis_start(&s);
    cr_assert(eq(int, httpfix_start(&s.http), 0));
    sp_write_config(&s);
    s.collector = proc_spawn(cargv, clog);
    cr_assert(gt(int, s.collector, 0));
    sp_start_probe(&s);

    /* load: two rounds of all checks before the outage */
    w.n = 2 * SP_CHECKS;
    cr_assert(eq(int, test_wait_until(sp_seen_at_least, &w, 30000), 0), "results flow");
    boot1 = s.seen[0].boot;
    before_kill = s.nseen;

    cr_assert(eq(int, proc_signal(s.redis, SIGKILL), 0));
    cr_assert(eq(int, proc_wait(s.redis, 5000, NULL), 0));
    s.redis = 0;
    sp_reader_close(&s);
    w.needle = "event=results_spooling";
    cr_assert(eq(int, test_wait_until(sp_log_has, &w, 10000), 0), "the probe spools");
    /* the outage itself (not a synchronisation); halfway through, the probe
     * restarts: the next run must replay what the last one spooled */
    test_sleep_ms(outage_s * 500);
    cr_assert(eq(int, proc_stop(s.probe, 10000) >= 0, 1));
    s.probe = 0;
    last1 = sp_stopped_field(&s, "last_seq=");
    cr_assert(eq(i64, sp_stopped_field(&s, "boot_ms="), boot1));
    cr_assert(gt(i64, sp_stopped_field(&s, "spool_pending="), 0), "results wait on disk");
    cr_assert(gt(i64, last1, (long long)before_kill), "the probe kept checking");
    sp_start_probe(&s);
    test_sleep_ms(outage_s * 500);
    sp_redis_start(&s);                      /* same port, same AOF */
    w.needle = "event=results_replaying spool_pending=";
    w.boot = boot1;
    w.n = (size_t)last1;
    cr_assert(eq(int, test_wait_until(sp_boot_complete, &w, 60000), 0),
              "every result of the first run arrives (%zu of %lld)",
              sp_count_boot(&s, boot1, &max), last1);
    w.n = s.nseen + SP_CHECKS;
    cr_assert(eq(int, test_wait_until(sp_seen_at_least, &w, 30000), 0), "the schedule resumes");
    cr_assert(eq(int, proc_stop(s.probe, 10000) >= 0, 1));
    s.probe = 0;
    last2 = sp_stopped_field(&s, "last_seq=");
    boot2 = sp_stopped_field(&s, "boot_ms=");
    cr_assert(ne(i64, boot2, boot1));
    w.boot = boot2;
    w.n = (size_t)last2;
    cr_assert(eq(int, test_wait_until(sp_boot_complete, &w, 10000), 0),
              "every result of the second run arrives (%zu of %lld)",
              sp_count_boot(&s, boot2, &max), last2);

    /* exactly once: sort by (boot, seq) and walk */
    qsort(s.seen, s.nseen, sizeof(*s.seen), sp_cmp_seen);
    for (size_t i = 0; i < s.nseen; i++) {
        cr_assert(s.seen[i].boot == boot1 || s.seen[i].boot == boot2);
        if (i > 0 && s.seen[i].boot == s.seen[i - 1].boot)
            cr_assert(eq(u64, s.seen[i].seq, s.seen[i - 1].seq + 1),
                      "boot %lld: seq %llu follows %llu (no gap, no duplicate)", s.seen[i].boot,
                      s.seen[i].seq, s.seen[i - 1].seq);
        else
            cr_assert(eq(u64, s.seen[i].seq, 1), "boot %lld starts at seq 1", s.seen[i].boot);
    }
    cr_assert(eq(sz, sp_count_boot(&s, boot1, &max), (size_t)last1));
    cr_assert(eq(u64, max, (unsigned long long)last1), "every seq 1..last_seq, once");
    cr_assert(eq(sz, sp_count_boot(&s, boot2, &max), (size_t)last2));
    cr_assert(eq(u64, max, (unsigned long long)last2));
    cr_assert(eq(i64, sp_stopped_field(&s, "spool_dropped="), 0));

    /* the collector applied every entry once, and saw no outage */
    test_wait_poll_ms(500);
    cr_assert(eq(int, test_wait_until(sp_collector_applied_all, &s, 60000), 0),
              "the collector applied all %zu results", s.nseen);
    sp_assert_no_incidents(&s);
    for (int i = 0; i < SP_CHECKS; i += 40) {
        char id[32];

        snprintf(id, sizeof(id), "web-%d", i);
        sp_assert_no_downtime(&s, id, t0);
    }
    sp_close(&s);
}
