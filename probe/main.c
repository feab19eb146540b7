/* nines-probe: runs the checks assigned to its location, pushes results. */
#include <ares.h>
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nines/log.h"
#include "nines/version.h"
#include "probe.h"

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
    probe_stop(the_probe, 2000);
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

int main(int argc, char **argv)
{
    struct probe_opts o = { 0 };
    struct nines_err err = { 0 };
    uv_loop_t loop;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        fprintf(stderr, "nines-probe: library initialisation failed\n");
        return 1;
    }
    uv_loop_init(&loop);
    the_probe = probe_new(&loop, &o, &err);
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
