/* nines-probe: runs the checks assigned to its location, pushes results. */
#include <ares.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nines/log.h"
#include "nines/version.h"
#include "probe.h"

#define PROBE_WORKERS_MAX 64
#define PROBE_DRAIN_MS 2000
#define MASTER_STOP_GRACE_MS (PROBE_DRAIN_MS + 8000)   /* then SIGKILL */
#define MASTER_BACKOFF_MIN_MS 100
#define MASTER_BACKOFF_MAX_MS 5000
#define MASTER_STABLE_MS 10000    /* a run this long resets the backoff */
#define MASTER_STARTUP_MS 1000    /* a first start failing this fast is fatal */

static struct probe *the_probe;
static uv_signal_t sig_int, sig_term;
static int stopping;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nines-probe --redis URL --name NAME --location LOC [options]\n"
            "\n"
            "Runs the checks of the catalogue in Redis that are assigned to LOC and pushes\n"
            "every result into Redis.\n"
            "\n"
            "  -r, --redis URL        redis://[:password@]host:port[/db] or unix:///path\n"
            "                         (default: $NINES_REDIS)\n"
            "  -n, --name NAME        this probe's unique name (default: the host name)\n"
            "  -l, --location LOC     location whose checks to run (default: \"local\")\n"
            "      --queue-max N      results kept in memory while Redis is unreachable\n"
            "                         (default 100000; the oldest are dropped past it)\n"
            "      --poll-ms MS       how often to look for catalogue changes (default 2000)\n"
            "      --spool-dir DIR    where results wait on disk while Redis is unreachable\n"
            "                         (default $STATE_DIRECTORY/probe-NAME, else\n"
            "                         /var/lib/nines/probe-NAME, used when it can be made;\n"
            "                         a DIR given here must work; 'off': memory only)\n"
            "      --spool-max-bytes N  bound of the spool (K, M, G suffixes; default 256M);\n"
            "                         past it the oldest results are dropped and counted\n"
            "      --workers N|auto   worker processes, each running a shard of the checks\n"
            "                         (default 1; auto: one per CPU; at most 64)\n"
            "      --max-inflight N   runs in flight at most per worker (default 1024); past\n"
            "                         it due runs wait their turn, late\n"
            "      --graceful-close   end TCP (without TLS) and HTTP connections with FIN;\n"
            "                         by default a finished run resets its connection, so\n"
            "                         no TIME_WAIT piles up on the probe's ports\n"
            "      --log-level LVL    debug, info, warn or error (default info)\n"
            "  -h, --help             this text\n"
            "      --version          print the version\n");
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= NINES_ID_LEN)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void on_signal(uv_signal_t *h, int signum)
{
    log_info("signal", "signal=%s", signum == SIGINT ? "INT" : "TERM");
    (void)h;
    if (stopping)
        return;     /* one stop; a second signal must not kill the drain */
    stopping = 1;
    uv_unref((uv_handle_t *)&sig_int);
    uv_unref((uv_handle_t *)&sig_term);
    probe_stop(the_probe, PROBE_DRAIN_MS);
}

/* "auto" (online CPUs, capped) or 1..PROBE_WORKERS_MAX; -1 if neither. */
static int parse_workers(const char *s)
{
    char *end;
    long v;

    if (strcmp(s, "auto") == 0) {
        v = sysconf(_SC_NPROCESSORS_ONLN);
        return v < 1 ? 1 : v > PROBE_WORKERS_MAX ? PROBE_WORKERS_MAX : (int)v;
    }
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > PROBE_WORKERS_MAX)
        return -1;
    return (int)v;
}

/* "N", "NK", "NM" or "NG" (powers of 1024). */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    int shift = 0;

    if (*s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    else if (*end != '\0')
        return -1;
    if (shift != 0 && end[1] != '\0')
        return -1;
    if (v > (UINT64_C(1) << 50) >> shift)
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/*
 * The spool directory: one given on the command line must work ("off" turns
 * the spool off); the default is used when it can be made, else the probe
 * runs with memory only and says so.
 */
static void default_spool_dir(struct probe_opts *o, int given)
{
    const char *state = getenv("STATE_DIRECTORY");
    size_t n;

    if (given) {
        if (strcmp(o->spool_dir, "off") == 0)
            o->spool_dir[0] = '\0';
        o->spool_required = o->spool_dir[0] != '\0';
        return;
    }
    /* systemd may list several directories, colon-separated: take the first */
    n = state != NULL ? strcspn(state, ":") : 0;
    if (n > 0 && n < 900)
        snprintf(o->spool_dir, sizeof(o->spool_dir), "%.*s/probe-%s", (int)n, state, o->name);
    else
        snprintf(o->spool_dir, sizeof(o->spool_dir), "/var/lib/nines/probe-%s", o->name);
    o->spool_required = 0;
}

static int parse_args(int argc, char **argv, struct probe_opts *o)
{
    static const struct option longopts[] = {
        { "redis", required_argument, NULL, 'r' },
        { "name", required_argument, NULL, 'n' },
        { "location", required_argument, NULL, 'l' },
        { "queue-max", required_argument, NULL, 'Q' },
        { "poll-ms", required_argument, NULL, 'P' },
        { "log-level", required_argument, NULL, 'L' },
        { "spool-dir", required_argument, NULL, 'S' },
        { "spool-max-bytes", required_argument, NULL, 'B' },
        { "spool-segment-bytes", required_argument, NULL, 'G' },
        { "workers", required_argument, NULL, 'W' },
        { "graceful-close", no_argument, NULL, 'g' },
        { "max-inflight", required_argument, NULL, 'I' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *redis = getenv("NINES_REDIS");
    struct nines_err err = { 0 };
    enum nines_log_level lvl;
    char *end;
    uint64_t n;
    int spool_set = 0;
    int c;

    gethostname(o->name, sizeof(o->name) - 1);
    snprintf(o->location, sizeof(o->location), "local");
    o->queue_max = 100000;
    o->catalogue_poll_ms = 2000;
    o->spool_max_bytes = UINT64_C(256) << 20;
    o->spool_segment_bytes = 4u << 20;
    o->workers = 1;
    while ((c = getopt_long(argc, argv, "r:n:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            redis = optarg;
            break;
        case 'n':
            snprintf(o->name, sizeof(o->name), "%s", optarg);
            if (!valid_name(optarg)) {
                fprintf(stderr, "nines-probe: --name: '%s' must be 1-63 of [A-Za-z0-9_.-]\n",
                        optarg);
                return 2;
            }
            break;
        case 'l':
            snprintf(o->location, sizeof(o->location), "%s", optarg);
            if (!valid_name(optarg)) {
                fprintf(stderr,
                        "nines-probe: --location: '%s' must be 1-63 of [A-Za-z0-9_.-]\n",
                        optarg);
                return 2;
            }
            break;
        case 'Q':
            o->queue_max = strtoull(optarg, &end, 10);
            if (*end != '\0' || o->queue_max < 1 || o->queue_max > 100000000) {
                fprintf(stderr, "nines-probe: --queue-max: '%s' is not 1..100000000\n", optarg);
                return 2;
            }
            break;
        case 'P':
            o->catalogue_poll_ms = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || o->catalogue_poll_ms < 100 || o->catalogue_poll_ms > 600000) {
                fprintf(stderr, "nines-probe: --poll-ms: '%s' is not 100..600000\n", optarg);
                return 2;
            }
            break;
        case 'S':
            if (strlen(optarg) == 0 || strlen(optarg) >= sizeof(o->spool_dir) - 1) {
                fprintf(stderr, "nines-probe: --spool-dir: '%s' is empty or too long\n",
                        optarg);
                return 2;
            }
            snprintf(o->spool_dir, sizeof(o->spool_dir), "%s", optarg);
            spool_set = 1;
            break;
        case 'B':
            if (parse_bytes(optarg, &o->spool_max_bytes) != 0 ||
                o->spool_max_bytes < (UINT64_C(64) << 10)) {
                fprintf(stderr, "nines-probe: --spool-max-bytes: '%s' is not a size of at least "
                        "64K (N, NK, NM or NG)\n", optarg);
                return 2;
            }
            break;
        case 'G':
            if (parse_bytes(optarg, &n) != 0 || n < 4096 || n > (UINT64_C(1) << 30)) {
                fprintf(stderr, "nines-probe: --spool-segment-bytes: '%s' is not 4K..1G\n",
                        optarg);
                return 2;
            }
            o->spool_segment_bytes = (uint32_t)n;
            break;
        case 'g':
            o->graceful_close = 1;
            break;
        case 'I': {
            char *e = NULL;
            long v = strtol(optarg, &e, 10);

            if (e == optarg || *e != '\0' || v < 1 || v > 1000000) {
                fprintf(stderr, "nines-probe: --max-inflight: '%s' is not 1..1000000\n", optarg);
                return 2;
            }
            o->max_inflight = (int)v;
            break;
        }
        case 'W':
            o->workers = parse_workers(optarg);
            if (o->workers < 0) {
                fprintf(stderr, "nines-probe: --workers: '%s' is not 1..%d or 'auto'\n",
                        optarg, PROBE_WORKERS_MAX);
                return 2;
            }
            break;
        case 'L':
            if (nines_log_level_parse(optarg, &lvl) != 0) {
                fprintf(stderr, "nines-probe: --log-level: '%s' is not debug|info|warn|error\n",
                        optarg);
                return 2;
            }
            nines_log_set_level(lvl);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("nines-probe %s\n", NINES_VERSION);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nines-probe: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (redis == NULL) {
        fprintf(stderr, "nines-probe: --redis URL is required (or set NINES_REDIS)\n");
        return 2;
    }
    if (nines_redis_url_parse(redis, &o->redis, &err) != 0) {
        fprintf(stderr, "nines-probe: --redis: %s\n", err.msg);
        return 2;
    }
    if (!valid_name(o->name))
        snprintf(o->name, sizeof(o->name), "probe");
    default_spool_dir(o, spool_set);
    return 0;
}

/*
 * Runs one probe in this process until a signal stops it; the exit code.
 * SIGTERM/SIGINT may arrive blocked (a worker inherits the master's mask):
 * they are unblocked only once the loop's handlers are in place.
 */
static int probe_run(const struct probe_opts *o)
{
    struct nines_err err = { 0 };
    sigset_t set;
    uv_loop_t loop;
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        fprintf(stderr, "nines-probe: library initialisation failed\n");
        return 1;
    }
    uv_loop_init(&loop);
    the_probe = probe_new(&loop, o, &err);
    if (the_probe == NULL) {
        fprintf(stderr, "nines-probe: %s\n", err.msg);
        uv_run(&loop, UV_RUN_DEFAULT);   /* let a half-made probe close */
        uv_loop_close(&loop);
        return 1;
    }
    uv_signal_init(&loop, &sig_int);
    uv_signal_init(&loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    probe_start(the_probe);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    probe_free(the_probe);
    rc = uv_loop_close(&loop);
    ares_library_cleanup();
    curl_global_cleanup();
    if (rc != 0) {
        log_error("loop_not_empty", "note=\"handles left open at exit\"");
        return 1;
    }
    return 0;
}

struct master_worker {
    pid_t pid;                    /* 0: not running */
    int64_t started_ms;
    int64_t restart_at_ms;        /* 0: no restart pending */
    int backoff_ms;
    int starts;
    int failed;                   /* its last exit, at stop, was not clean */
};

static int64_t master_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * In the child: worker i of the probe. It dies with the master
 * (PR_SET_PDEATHSIG, then getppid() for a master already gone), runs its
 * shard with its own spool directory DIR/w<i>, and logs worker=i.
 */
static void master_worker_main(const struct probe_opts *base, int i, pid_t master)
{
    struct probe_opts o = *base;
    char tag[32];
    int n;

    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master)
        _exit(1);
    snprintf(tag, sizeof(tag), "worker=%d", i);
    nines_log_set_tag(tag);
    o.worker = i;
    if (o.spool_dir[0] != '\0') {
        /* the parent first (spool_open makes one level); its errors show there */
        if (mkdir(o.spool_dir, 0700) != 0 && errno != EEXIST)
            log_warn("spool_dir_failed", "dir=%s error=\"%s\"", o.spool_dir, strerror(errno));
        n = snprintf(o.spool_dir, sizeof(o.spool_dir), "%s/w%d", base->spool_dir, i);
        if (n < 0 || (size_t)n >= sizeof(o.spool_dir)) {
            log_error("spool_dir_too_long", "dir=%s", base->spool_dir);
            _exit(1);
        }
    }
    exit(probe_run(&o));   /* exit, not _exit: leak checks run in workers too */
}

static int master_spawn(struct master_worker *w, const struct probe_opts *o, int i)
{
    pid_t master = getpid();
    pid_t pid = fork();

    if (pid < 0) {
        int e = errno;

        log_error("worker_fork_failed", "worker=%d error=\"%s\"", i, strerror(e));
        return -1;
    }
    if (pid == 0)
        master_worker_main(o, i, master);
    w->pid = pid;
    w->started_ms = master_now_ms();
    w->restart_at_ms = 0;
    w->starts++;
    log_info("worker_started", "worker=%d pid=%d starts=%d", i, (int)pid, w->starts);
    return 0;
}

/* How a worker ended, for the log: "exit=N" or "signal=N". */
static void master_status_text(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exit=%d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "signal=%d", WTERMSIG(status));
    else
        snprintf(buf, len, "status=%d", status);
}

/*
 * A worker ended. While stopping, a non-zero exit marks it failed. Else a
 * clean exit (it was told to stop, e.g. by a signal sent to the whole group)
 * is left alone; a crash is restarted after a backoff that doubles up to
 * MASTER_BACKOFF_MAX_MS and resets once a run lasted MASTER_STABLE_MS. A
 * first start that fails within MASTER_STARTUP_MS (bad spool directory,
 * ...) is fatal: restarting would fail the same way. Returns -1 then.
 */
static int master_reaped(struct master_worker *w, int i, int status, int stopping_now)
{
    int64_t now = master_now_ms(), ran = now - w->started_ms;
    char how[32];

    w->pid = 0;
    master_status_text(status, how, sizeof(how));
    if (stopping_now) {
        w->failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (w->failed)
            log_error("worker_failed", "worker=%d %s", i, how);
        else
            log_info("worker_stopped", "worker=%d", i);
        return 0;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        log_info("worker_exited", "worker=%d %s note=\"stopped by itself; not restarted\"", i,
                 how);
        return 0;
    }
    if (w->starts == 1 && ran < MASTER_STARTUP_MS && WIFEXITED(status)) {
        w->failed = 1;
        log_error("worker_start_failed", "worker=%d %s ran_ms=%lld", i, how, (long long)ran);
        return -1;
    }
    if (ran >= MASTER_STABLE_MS || w->backoff_ms == 0)
        w->backoff_ms = MASTER_BACKOFF_MIN_MS;
    else if (w->backoff_ms < MASTER_BACKOFF_MAX_MS)
        w->backoff_ms = w->backoff_ms * 2 > MASTER_BACKOFF_MAX_MS ? MASTER_BACKOFF_MAX_MS
                                                                 : w->backoff_ms * 2;
    w->restart_at_ms = now + w->backoff_ms;
    log_warn("worker_died", "worker=%d %s ran_ms=%lld restart_in_ms=%d", i, how, (long long)ran,
             w->backoff_ms);
    return 0;
}

static int master_restart_pending(const struct master_worker *w, int n)
{
    for (int i = 0; i < n; i++)
        if (w[i].restart_at_ms != 0)
            return 1;
    return 0;
}

static void master_signal_all(struct master_worker *w, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
}

/*
 * The master of --workers N: forks the workers, then waits for signals
 * (sigtimedwait with them blocked: no signal handler runs in the master).
 * SIGTERM/SIGINT are forwarded once; the master exits when every worker has
 * stopped, 1 if one failed. Workers still running MASTER_STOP_GRACE_MS after
 * the stop are killed and count as failed.
 */
static int master_run(const struct probe_opts *o)
{
    struct master_worker w[PROBE_WORKERS_MAX] = { { 0 } };
    int n = o->workers, running = 0, failed = 0, stop = 0;
    int64_t stop_deadline = 0;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    log_info("master_started", "workers=%d name=%s location=%s pid=%d", n, o->name,
             o->location, (int)getpid());
    for (int i = 0; i < n; i++) {
        if (master_spawn(&w[i], o, i) != 0) {
            failed = 1;
            stop = 1;
            break;
        }
    }
    if (stop)
        master_signal_all(w, n, SIGTERM);
    stop_deadline = stop ? master_now_ms() + MASTER_STOP_GRACE_MS : 0;
    for (;;) {
        int64_t now = master_now_ms(), wake = now + 1000;
        struct timespec ts;
        siginfo_t info;
        pid_t pid;
        int status, sig;

        running = 0;
        for (int i = 0; i < n; i++) {
            if (!stop && w[i].pid == 0 && w[i].restart_at_ms != 0 && w[i].restart_at_ms <= now)
                if (master_spawn(&w[i], o, i) != 0)
                    w[i].restart_at_ms = now + MASTER_BACKOFF_MAX_MS;
            if (w[i].pid > 0)
                running++;
            else if (!stop && w[i].restart_at_ms != 0 && w[i].restart_at_ms < wake)
                wake = w[i].restart_at_ms;
        }
        if (running == 0 && (stop || !master_restart_pending(w, n)))
            break;
        if (stop && now >= stop_deadline) {
            log_error("workers_killed", "running=%d after_ms=%d", running, MASTER_STOP_GRACE_MS);
            master_signal_all(w, n, SIGKILL);
            stop_deadline = now + 60000;   /* SIGKILL ends them: just reap */
        }
        if (stop && stop_deadline < wake)
            wake = stop_deadline;
        ts.tv_sec = (time_t)((wake - now) / 1000);
        ts.tv_nsec = (long)((wake - now) % 1000) * 1000000L;
        sig = sigtimedwait(&set, &info, &ts);
        if ((sig == SIGTERM || sig == SIGINT) && !stop) {
            log_info("signal", "signal=%s workers_running=%d", sig == SIGINT ? "INT" : "TERM",
                     running);
            stop = 1;
            stop_deadline = master_now_ms() + MASTER_STOP_GRACE_MS;
            master_signal_all(w, n, SIGTERM);
        }
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++) {
                if (w[i].pid != pid)
                    continue;
                if (master_reaped(&w[i], i, status, stop) != 0 && !stop) {
                    stop = 1;
                    stop_deadline = master_now_ms() + MASTER_STOP_GRACE_MS;
                    master_signal_all(w, n, SIGTERM);
                }
                break;
            }
        }
    }
    for (int i = 0; i < n; i++)
        failed |= w[i].failed;
    log_info("master_stopped", "workers=%d failed=%d", n, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct probe_opts o = { 0 };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.workers > 1)
        return master_run(&o);
    return probe_run(&o);
}
