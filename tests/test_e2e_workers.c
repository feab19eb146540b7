/*
 * End to end, nines-probe --workers 3: a real redis-server, the HTTP fixture
 * as target, nines-collector (it publishes the catalogue) and the probe as
 * processes, 30 HTTP checks at 1 s. The test reads the result stream as it
 * grows (the collector trims it) and checks that every check runs in exactly
 * one worker, once per interval; that a worker killed with SIGKILL is
 * restarted and its checks resume; that SIGTERM stops the master and every
 * worker within the drain time, and every result of a worker that stopped
 * cleanly is in the stream exactly once. Bad --workers values exit 2.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2eworld.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define WK_CHECKS 30
#define WK_WORKERS 3
#define WK_MAX_RESULTS 20000
#define WK_MAX_PIDS 16

struct wk_result {
    int check;                  /* index of web-<n> */
    int worker;
    long long boot;
    unsigned long long seq;
    long long ts;
};

struct wk {
    struct redis_fixture redis;
    struct httpfix http;
    char dir[256];
    char cfg[320];
    char plog[320];
    char spool[320];            /* DIR/spool, for a probe that spools */
    char last_id[64];
    pid_t collector, probe;
    redisContext *rc;
    struct wk_result *res;
    size_t nres;
    pid_t pids[WK_MAX_PIDS];    /* every worker pid seen in the log */
    size_t npids;
};

static char wk_last_dir[256];

static void wk_dump_logs(void)
{
    const char *names[] = { "collector.log", "probe.log" };
    char path[600], *log;

    if (getenv("NINES_TEST_LOGS") == NULL || wk_last_dir[0] == '\0')
        return;
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", wk_last_dir, names[i]);
        log = test_read_file(path);
        fprintf(stderr, "---- %s ----\n%s", names[i], log ? log : "(none)\n");
        free(log);
    }
}

TestSuite(e2e_workers, .fini = wk_dump_logs);

/* One stream entry: id "p1/w<i>/<boot>/<seq>", check "web-<n>", ts. */
static void wk_note(struct wk *s, redisReply *f)
{
    struct wk_result r = { .check = -1, .worker = -1 };
    static struct nines_result res;
    const char *id = NULL;

    if (redis_fixture_entry_result(f, &res) == 0) {
        id = res.id;
        if (strncmp(res.check_id, "web-", 4) == 0)
            r.check = atoi(res.check_id + 4);
        r.ts = res.start_ms;
    }
    cr_assert(id != NULL && r.check >= 0 && r.check < WK_CHECKS, "a result of web-N with an id");
    cr_assert(eq(int, sscanf(id, "p1/w%d/%lld/%llu", &r.worker, &r.boot, &r.seq), 3),
              "result id '%s' is p1/w<worker>/<boot>/<seq>", id);
    cr_assert(r.worker >= 0 && r.worker < WK_WORKERS, "worker of '%s' in range", id);
    cr_assert(lt(sz, s->nres, (size_t)WK_MAX_RESULTS));
    s->res[s->nres++] = r;
}

/* Reads the stream from where it left off. */
static void wk_collect(struct wk *s)
{
    for (int round = 0; round < 100; round++) {
        redisReply *r, *entries;

        r = redisCommand(s->rc, "XREAD COUNT 5000 STREAMS nines:results %s", s->last_id);
        cr_assert(r != NULL, "XREAD answered");
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            return;
        }
        entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            redisReply *e = entries->element[i];

            snprintf(s->last_id, sizeof(s->last_id), "%s", e->element[0]->str);
            if (e->element[1]->type == REDIS_REPLY_ARRAY)
                wk_note(s, e->element[1]);
        }
        freeReplyObject(r);
    }
}

/* Counts occurrences of needle in the probe's log. */
static int wk_log_count(const struct wk *s, const char *needle)
{
    char *log = test_read_file(s->plog);
    int n = 0;

    for (char *p = log ? strstr(log, needle) : NULL; p != NULL; p = strstr(p + 1, needle))
        n++;
    free(log);
    return n;
}

/* The pid of the latest "worker_started worker=i" line, or -1. */
static pid_t wk_worker_pid(struct wk *s, int worker)
{
    char *log = test_read_file(s->plog), needle[64];
    pid_t pid = -1;
    size_t len;

    snprintf(needle, sizeof(needle), "event=worker_started worker=%d pid=", worker);
    len = strlen(needle);
    for (char *p = log ? strstr(log, needle) : NULL; p != NULL; p = strstr(p + 1, needle))
        pid = (pid_t)atoi(p + len);
    free(log);
    if (pid > 0) {
        size_t i = 0;

        while (i < s->npids && s->pids[i] != pid)
            i++;
        if (i == s->npids && s->npids < WK_MAX_PIDS)
            s->pids[s->npids++] = pid;
    }
    return pid;
}

/* The parent pid of pid from /proc, or -1 if it is gone. */
static pid_t wk_ppid(pid_t pid)
{
    char path[64], *stat, *rp;
    pid_t ppid = -1;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    stat = test_read_file(path);
    rp = stat ? strrchr(stat, ')') : NULL;     /* "pid (comm) S ppid ..." */
    if (rp != NULL && rp[1] == ' ' && rp[2] != '\0' && rp[2] != 'Z')
        ppid = (pid_t)atoi(rp + 4);
    free(stat);
    return ppid;
}

struct wk_want {
    struct wk *s;
    int worker;
    long long after_ts;         /* results of every check with ts >= this */
    int rounds;                 /* ... at least this many per check */
    const char *needle;
    int count;
};

static int wk_rounds_done(void *arg)
{
    struct wk_want *w = arg;
    int per[WK_CHECKS] = { 0 };

    wk_collect(w->s);
    for (size_t i = 0; i < w->s->nres; i++)
        if (w->s->res[i].ts >= w->after_ts)
            per[w->s->res[i].check]++;
    for (int c = 0; c < WK_CHECKS; c++)
        if (per[c] < w->rounds)
            return 0;
    return 1;
}

static int wk_log_has(void *arg)
{
    struct wk_want *w = arg;

    wk_collect(w->s);
    return wk_log_count(w->s, w->needle) >= w->count;
}

/* wk_log_has without reading the stream (no Redis). */
static int wk_log_has_only(void *arg)
{
    struct wk_want *w = arg;

    return wk_log_count(w->s, w->needle) >= w->count;
}

static void wk_write_config(struct wk *s)
{
    size_t cap = 16 * 1024, off;
    char *y = malloc(cap);

    cr_assert(y != NULL);
    off = (size_t)snprintf(y, cap,
                           "collector:\n  name: c1\n  data_dir: %s/data\n  redis: %s\n"
                           "api:\n  listen: 127.0.0.1:0\nchecks:\n",
                           s->dir, s->redis.url);
    for (int i = 0; i < WK_CHECKS; i++)
        off += (size_t)snprintf(y + off, cap - off,
                                "  - id: web-%d\n    kind: http\n    url: %s/\n"
                                "    interval: 1s\n    timeout: 800ms\n",
                                i, s->http.base_url);
    cr_assert(lt(sz, off, cap));
    cr_assert(eq(int, test_write_file(s->cfg, y), 0));
    free(y);
}

/* The worker each check ran in (-1 if none); fails if one ran in two. */
static void wk_assert_one_worker_per_check(const struct wk *s, int owner[WK_CHECKS])
{
    for (int c = 0; c < WK_CHECKS; c++)
        owner[c] = -1;
    for (size_t i = 0; i < s->nres; i++) {
        const struct wk_result *r = &s->res[i];

        cr_assert(owner[r->check] == -1 || owner[r->check] == r->worker,
                  "web-%d ran in worker %d and in worker %d", r->check, owner[r->check],
                  r->worker);
        owner[r->check] = r->worker;
    }
}

/*
 * Once per interval: in [from, to), each check's consecutive results are
 * 1 s apart (none twice: no gap under 500 ms; none missing: none over 1.5 s).
 */
static void wk_assert_once_per_interval(const struct wk *s, long long from, long long to)
{
    for (int c = 0; c < WK_CHECKS; c++) {
        long long prev = -1;
        int n = 0;

        for (size_t i = 0; i < s->nres; i++) {
            const struct wk_result *r = &s->res[i];

            if (r->check != c || r->ts < from || r->ts >= to)
                continue;
            if (prev >= 0)
                cr_assert(r->ts - prev >= 500 && r->ts - prev <= 1500,
                          "web-%d: results %lld ms apart (want one per 1 s interval)", c,
                          r->ts - prev);
            prev = r->ts;
            n++;
        }
        cr_assert(ge(int, n, (int)((to - from) / 1000) - 1), "web-%d ran %d times in %lld ms",
                  c, n, to - from);
    }
}

static int wk_cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/*
 * Every probe_stopped line (one per worker run that stopped cleanly): its
 * run's seqs 1..last_seq each appear in the stream exactly once.
 */
static void wk_assert_clean_runs_complete(const struct wk *s)
{
    char *log = test_read_file(s->plog);
    int runs = 0;

    cr_assert(log != NULL);
    for (char *p = strstr(log, "event=probe_stopped"); p != NULL;
         p = strstr(p + 1, "event=probe_stopped")) {
        char *eol = strchr(p, '\n'), *wf = strstr(p, "worker="), *lf = strstr(p, "last_seq="),
             *bf = strstr(p, "boot_ms="), *fl = strstr(p, " first_late_max_ms="),
             *sl = strstr(p, " late_max_ms=");
        long long *seqs = calloc(s->nres + 1, sizeof(*seqs));
        unsigned long long last;
        long long boot;
        size_t n = 0;
        int worker;

        cr_assert(seqs != NULL && eol != NULL && wf && lf && bf && wf < eol && lf < eol &&
                  bf < eol, "probe_stopped carries worker=, last_seq=, boot_ms=");
        /* lateness, read by bench/run.sh: each check's first run apart */
        cr_assert(fl != NULL && sl != NULL && fl < eol && sl < eol,
                  "probe_stopped carries late_max_ms= and first_late_max_ms=");
        worker = atoi(wf + 7);
        last = strtoull(lf + 9, NULL, 10);
        boot = strtoll(bf + 8, NULL, 10);
        for (size_t i = 0; i < s->nres; i++)
            if (s->res[i].worker == worker && s->res[i].boot == boot)
                seqs[n++] = (long long)s->res[i].seq;
        qsort(seqs, n, sizeof(*seqs), wk_cmp_ll);
        cr_assert(eq(sz, n, (size_t)last), "worker %d run %lld: %zu results stored, last_seq %llu",
                  worker, boot, n, last);
        for (size_t i = 0; i < n; i++)
            cr_assert(eq(i64, seqs[i], (long long)i + 1), "worker %d: seq %zu once", worker, i + 1);
        free(seqs);
        runs++;
    }
    free(log);
    cr_assert(eq(int, runs, WK_WORKERS), "one clean probe_stopped per worker");
}

static void wk_close(struct wk *s)
{
    if (s->probe > 0)
        proc_stop(s->probe, 5000);
    if (s->collector > 0)
        proc_stop(s->collector, 5000);
    if (s->rc != NULL)
        redisFree(s->rc);
    redis_fixture_stop(&s->redis);
    httpfix_stop(&s->http);
    free(s->res);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(s->dir);
}

/*
 * A world: its temp dir, Redis, the HTTP fixture (in http_mode, or its
 * default with NULL), a collector, then the probe pargv (its argv[0] the
 * nines-probe binary), each logging into the dir.
 */
static void wk_open(struct wk *s, const char *const pargv[], const char *http_mode)
{
    char clog[320];
    const char *cargv[] = { NINES_BIN_DIR "/nines-collector", "-c", s->cfg, NULL };

    cr_assert(eq(int, test_tmpdir(s->dir, sizeof(s->dir)), 0));
    snprintf(wk_last_dir, sizeof(wk_last_dir), "%s", s->dir);
    snprintf(s->cfg, sizeof(s->cfg), "%s/nines.yaml", s->dir);
    snprintf(s->plog, sizeof(s->plog), "%s/probe.log", s->dir);
    snprintf(clog, sizeof(clog), "%s/collector.log", s->dir);
    snprintf(s->spool, sizeof(s->spool), "%s/spool", s->dir);
    snprintf(s->last_id, sizeof(s->last_id), "0-0");
    s->res = calloc(WK_MAX_RESULTS, sizeof(*s->res));
    cr_assert(s->res != NULL);
    cr_assert(eq(int, redis_fixture_start(&s->redis, 0), 0));
    cr_assert(eq(int, httpfix_start(&s->http), 0));
    if (http_mode != NULL)
        cr_assert(eq(int, httpfix_set_mode(&s->http, http_mode), 0));
    s->rc = redis_fixture_connect(&s->redis);
    cr_assert(s->rc != NULL);
    wk_write_config(s);
    s->collector = proc_spawn(cargv, clog);
    cr_assert(gt(int, s->collector, 0));
    s->probe = proc_spawn(pargv, s->plog);
    cr_assert(gt(int, s->probe, 0));
}

Test(e2e_workers, three_workers_share_the_checks_restart_and_stop, .timeout = 120)
{
    struct wk s = { 0 };
    const char *pargv[] = { NINES_BIN_DIR "/nines-probe", "--redis", s.redis.url, "--name", "p1",
                            "--location", "local", "--poll-ms", "200", "--spool-dir", s.spool,
                            "--workers", "3", NULL };
    struct wk_want w = { .s = &s };
    int owner[WK_CHECKS], used[WK_WORKERS] = { 0 }, status, code, victim;
    pid_t pids[WK_WORKERS], newpid;
    long long t_first;
    uint64_t t_stop;

    wk_open(&s, pargv, NULL);

    /* three workers, children of the master */
    w.needle = "event=worker_started";
    w.count = WK_WORKERS;
    cr_assert(eq(int, test_wait_until(wk_log_has, &w, 5000), 0), "three workers start");
    for (int i = 0; i < WK_WORKERS; i++) {
        pids[i] = wk_worker_pid(&s, i);
        cr_assert(gt(int, pids[i], 0), "worker %d logged its pid", i);
        cr_assert(eq(int, wk_ppid(pids[i]), s.probe), "worker %d is the master's child", i);
    }

    /* every check: several rounds, each in one worker, once per interval */
    w.after_ts = 0;
    w.rounds = 1;
    cr_assert(eq(int, test_wait_until(wk_rounds_done, &w, 10000), 0), "all 30 checks run");
    t_first = s.res[s.nres - 1].ts;
    w.after_ts = t_first + 1;
    w.rounds = 3;
    cr_assert(eq(int, test_wait_until(wk_rounds_done, &w, 8000), 0), "three more rounds");
    wk_assert_one_worker_per_check(&s, owner);
    for (int c = 0; c < WK_CHECKS; c++)
        used[owner[c]]++;
    for (int i = 0; i < WK_WORKERS; i++)
        cr_assert(gt(int, used[i], 0), "worker %d has checks of its own", i);
    wk_assert_once_per_interval(&s, t_first + 1, t_first + 3001);

    /* SIGKILL one worker: the master restarts it and its checks resume */
    victim = 1;
    cr_assert(eq(int, wk_ppid(pids[victim]), s.probe));
    cr_assert(eq(int, kill(pids[victim], SIGKILL), 0));
    w.needle = "event=worker_died worker=1";
    w.count = 1;
    cr_assert(eq(int, test_wait_until(wk_log_has, &w, 5000), 0), "the master sees it die");
    w.needle = "event=worker_started worker=1";
    w.count = 2;
    cr_assert(eq(int, test_wait_until(wk_log_has, &w, 5000), 0), "the master restarts it");
    newpid = wk_worker_pid(&s, victim);
    cr_assert(ne(int, newpid, pids[victim]));
    cr_assert(eq(int, wk_ppid(newpid), s.probe), "the new worker is the master's child");
    w.after_ts = (long long)nines_wall_ms();   /* results carry wall-clock ms */
    w.rounds = 2;
    cr_assert(eq(int, test_wait_until(wk_rounds_done, &w, 8000), 0),
              "every check, the restarted worker's too, runs again");
    wk_assert_one_worker_per_check(&s, owner);

    /* SIGTERM: all stop within the drain time, nothing left */
    t_stop = test_now_ms();
    cr_assert(eq(int, proc_signal(s.probe, SIGTERM), 0));
    cr_assert(eq(int, proc_wait(s.probe, 5000, &status), 0), "the master stops");
    t_stop = test_now_ms() - t_stop;
    cr_assert(t_stop < 4000, "stopped in %llu ms: within the 2 s drain (+ margin)",
              (unsigned long long)t_stop);
    s.probe = 0;
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    cr_assert(eq(int, code, 0), "the master exits 0 (status %d)", status);
    for (size_t i = 0; i < s.npids; i++) {
        int gone = kill(s.pids[i], 0) == -1 && errno == ESRCH;

        cr_assert(gone, "worker pid %d is gone", (int)s.pids[i]);
    }
    cr_assert(eq(int, wk_log_count(&s, "event=worker_stopped"), WK_WORKERS));
    wk_collect(&s);
    wk_assert_one_worker_per_check(&s, owner);
    wk_assert_clean_runs_complete(&s);
    for (int i = 0; i < WK_WORKERS; i++) {
        char sub[400];

        snprintf(sub, sizeof(sub), "%s/w%d", s.spool, i);
        cr_assert(test_path_exists(sub), "worker %d spools in %s", i, sub);
    }
    wk_close(&s);
}

Test(e2e_workers, bad_workers_values_exit_2_naming_the_flag, .timeout = 30)
{
    const char *bad[] = { "0", "65", "x", "", "2x", "-1", "99999999999999999999" };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", "redis://127.0.0.1:1",
                               "--workers", bad[i], NULL };
        char err[1024] = "";
        int code = -1;

        code = e2e_run(argv, NULL, NULL, 0, err, sizeof(err), 5000);
        cr_assert(eq(int, code, 2), "--workers '%s' exits 2 (got %d)", bad[i], code);
        cr_assert(strstr(err, "--workers") != NULL, "the error names the flag: %s", err);
    }
}

struct wk_gone {
    pid_t pids[2];
};

static int wk_workers_gone(void *arg)
{
    struct wk_gone *g = arg;

    return wk_ppid(g->pids[0]) == -1 && wk_ppid(g->pids[1]) == -1;
}

/* No orphan: workers end when their master is killed outright. */
Test(e2e_workers, workers_exit_when_the_master_is_killed, .timeout = 60)
{
    struct wk s = { 0 };
    const char *pargv[] = { NINES_BIN_DIR "/nines-probe", "--redis", "unix:///nonexistent/r.sock",
                            "--name", "p1", "--location", "local", "--spool-dir", "off",
                            "--workers", "2", NULL };
    struct wk_want w = { .s = &s, .needle = "event=probe_started", .count = 2 };
    struct wk_gone g;
    int status;

    cr_assert(eq(int, test_tmpdir(s.dir, sizeof(s.dir)), 0));
    snprintf(wk_last_dir, sizeof(wk_last_dir), "%s", s.dir);
    snprintf(s.plog, sizeof(s.plog), "%s/probe.log", s.dir);
    s.probe = proc_spawn(pargv, s.plog);
    cr_assert(gt(int, s.probe, 0));
    cr_assert(eq(int, test_wait_until(wk_log_has_only, &w, 5000), 0), "both workers run");
    for (int i = 0; i < 2; i++) {
        g.pids[i] = wk_worker_pid(&s, i);
        cr_assert(eq(int, wk_ppid(g.pids[i]), s.probe), "worker %d is the master's child", i);
    }
    cr_assert(eq(int, proc_signal(s.probe, SIGKILL), 0));
    cr_assert(eq(int, proc_wait(s.probe, 5000, &status), 0));
    s.probe = 0;
    cr_assert(eq(int, test_wait_until(wk_workers_gone, &g, 5000), 0),
              "workers %d and %d exit after their master", (int)g.pids[0], (int)g.pids[1]);
    if (getenv("NINES_TEST_KEEP") == NULL)
        test_rmtree(s.dir);
}

/* A worker that cannot start (its required spool cannot be made) fails the
 * master at once, with status 1, instead of restarting forever. */
Test(e2e_workers, a_worker_failing_at_start_fails_the_master, .timeout = 30)
{
    const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", "unix:///nonexistent/r.sock",
                           "--workers", "2", "--spool-dir", "/proc/nines-no-such-dir", NULL };
    char err[8192] = "";
    int code = -1;

    code = e2e_run(argv, NULL, NULL, 0, err, sizeof(err), 10000);    /* exits by itself */
    cr_assert(eq(int, code, 1), "exit status 1 (got %d)", code);
    cr_assert(strstr(err, "event=worker_start_failed") != NULL, "logged: %s", err);
    cr_assert(strstr(err, "failed=1") != NULL, "master_stopped failed=1: %s", err);
}

/* The value of key=N in the probe's probe_stopped line, or -1. */
static long long wk_stopped_field(const struct wk *s, const char *key)
{
    char *log = test_read_file(s->plog), *line, *p, needle[64];
    long long v = -1;

    line = log != NULL ? strstr(log, "event=probe_stopped") : NULL;
    snprintf(needle, sizeof(needle), " %s=", key);
    if (line != NULL && (p = strstr(line, needle)) != NULL)
        v = atoll(p + strlen(needle));
    free(log);
    return v;
}

/*
 * --max-inflight 2 against a target that takes 300 ms: 30 checks a second
 * are offered, about 6.7 runs a second fit through two places. The runs wait
 * their turn (counted as waited) instead of all going out at once, and no
 * more finish than two places allow.
 */
Test(e2e_workers, max_inflight_bounds_the_runs_in_flight, .timeout = 60)
{
    struct wk s = { 0 };
    const char *pargv[] = { NINES_BIN_DIR "/nines-probe", "--redis", s.redis.url, "--name", "p1",
                            "--location", "local", "--poll-ms", "200", "--spool-dir", "off",
                            "--max-inflight", "2", NULL };
    struct wk_want w = { .s = &s };
    long long results, waited;
    int status;

    wk_open(&s, pargv, "delay_ms=300");
    w.needle = "event=catalogue_applied";
    w.count = 1;
    cr_assert(eq(int, test_wait_until(wk_log_has, &w, 10000), 0), "the probe runs the checks");
    test_sleep_ms(4000);
    cr_assert(eq(int, proc_signal(s.probe, SIGTERM), 0));
    cr_assert(eq(int, proc_wait(s.probe, 8000, &status), 0), "the probe stops");
    s.probe = 0;
    results = wk_stopped_field(&s, "results");
    waited = wk_stopped_field(&s, "waited");
    /* two places of 300 ms for ~4.2 s (+ the drain): about 28 runs, not 120 */
    cr_expect(ge(i64, (int64_t)results, 10), "runs went on (%lld)", results);
    cr_expect(le(i64, (int64_t)results, 40), "%lld runs: more than two places allow", results);
    cr_expect(gt(i64, (int64_t)waited, 0), "runs waited for a place (%lld)", waited);
    wk_close(&s);
}
