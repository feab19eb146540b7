/* nines-collector: results → state; SIGHUP reloads, SIGTERM drains. */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "nines/config.h"
#include "nines/log.h"
#include "nines/version.h"

static struct collector *the_collector;
static const char *config_path = "/etc/nines/nines.yaml";
static uv_signal_t sig_int, sig_term, sig_hup;
static int stopping;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nines-collector [-c FILE] [--log-level LVL]\n"
            "\n"
            "Publishes the check catalogue of FILE into Redis, consumes the probes' results\n"
            "and keeps every check's state. With no collector.redis in FILE it runs its own\n"
            "redis-server in collector.data_dir.\n"
            "\n"
            "  -c, --config FILE      configuration (default /etc/nines/nines.yaml)\n"
            "      --log-level LVL    debug, info, warn or error (overrides the file)\n"
            "  -h, --help             this text\n"
            "      --version          print the version\n"
            "\n"
            "Signals: SIGHUP reloads FILE (a bad file is reported and the running\n"
            "configuration kept); SIGTERM or SIGINT finish the batch in hand and exit.\n");
}

static int load_config(struct nines_config **out)
{
    struct nines_errlist errs = { 0 };
    char line[1024], quoted[1100];

    if (nines_config_load(config_path, out, &errs) == 0)
        return 0;
    for (size_t i = 0; i < errs.count; i++)
        log_error("config_invalid", "error=%s",
                  nines_log_quote(nines_err_format(&errs.item[i], line, sizeof(line)), quoted,
                                  sizeof(quoted)));
    if (errs.dropped > 0)
        log_error("config_invalid", "more_errors=%zu", errs.dropped);
    return -1;
}

static void apply_log_level(const struct nines_config *cfg, const char *override)
{
    enum nines_log_level lvl = NINES_LOG_INFO;

    if (override != NULL)
        nines_log_level_parse(override, &lvl);
    else if (cfg->collector.log_level != NULL)
        nines_log_level_parse(cfg->collector.log_level, &lvl);
    nines_log_set_level(lvl);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct nines_config *cfg = NULL;

    if (signum == SIGHUP) {
        log_info("signal", "signal=HUP path=%s", config_path);
        if (stopping)
            return;
        if (load_config(&cfg) != 0) {
            log_error("reload_rejected", "note=\"keeping the running configuration\"");
            return;
        }
        collector_reload(the_collector, cfg);
        return;
    }
    log_info("signal", "signal=%s", signum == SIGINT ? "INT" : "TERM");
    (void)h;
    if (stopping)
        return;     /* Ctrl-C and a TERM together: one stop is enough */
    stopping = 1;
    /* keep catching signals (a second one must not kill us mid-drain), but
     * let the loop end once everything else is closed */
    uv_unref((uv_handle_t *)&sig_int);
    uv_unref((uv_handle_t *)&sig_term);
    uv_unref((uv_handle_t *)&sig_hup);
    collector_stop(the_collector);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "log-level", required_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_level = NULL;
    struct nines_config *cfg = NULL;
    struct nines_err err = { 0 };
    enum nines_log_level lvl;
    uv_loop_t loop;
    int c, rc;

    signal(SIGPIPE, SIG_IGN);
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'L':
            if (nines_log_level_parse(optarg, &lvl) != 0) {
                fprintf(stderr, "nines-collector: --log-level: '%s' is not "
                                "debug|info|warn|error\n", optarg);
                return 2;
            }
            log_level = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("nines-collector %s\n", NINES_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nines-collector: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (load_config(&cfg) != 0)
        return 2;
    apply_log_level(cfg, log_level);
    curl_global_init(CURL_GLOBAL_DEFAULT);   /* notifications go out through libcurl */
    uv_loop_init(&loop);
    the_collector = collector_new(&loop, cfg, &err);
    if (the_collector == NULL || collector_start(the_collector, &err) != 0) {
        log_error("start_failed", "error=\"%s\"", err.msg);
        if (the_collector != NULL) {
            collector_stop(the_collector);
            uv_run(&loop, UV_RUN_DEFAULT);
            collector_free(the_collector);
        } else {
            nines_config_free(cfg);
        }
        uv_loop_close(&loop);
        return 1;
    }
    uv_signal_init(&loop, &sig_int);
    uv_signal_init(&loop, &sig_term);
    uv_signal_init(&loop, &sig_hup);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_hup, on_signal, SIGHUP);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_hup, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    collector_free(the_collector);
    rc = uv_loop_close(&loop);
    curl_global_cleanup();
    if (rc != 0) {
        log_error("loop_not_empty", "note=\"handles left open at exit\"");
        return 1;
    }
    return 0;
}
