/*
 * nines kpi --month YYYY-MM|current [--customer ID] [--team T]
 *           [--format table|json|csv] [--ack-target MINUTES] [-c CONFIG] [--redis URL]
 *
 * The operational KPIs of a month (collector/kpi.h has the formulas,
 * collector/kpigather.h where each comes from): one row per customer and
 * service, then one per team. The JSON is a contract other parts consume:
 *   {"month":"2026-10","generated_ms":N,"rows":[ROW,...]}
 * with ROW = kpi_row_json (fields are only ever added).
 * "current" is the current month in UTC, or in the customer's timezone with
 * --customer.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kpi.h"
#include "kpigather.h"
#include "nines/clock.h"

struct kpi_opts {
    const char *month, *customer, *team, *format, *config, *url;
    int64_t ack_target_ms;
};

static int kpi_usage(FILE *f)
{
    fprintf(f, "usage: nines kpi --month YYYY-MM|current [--customer ID] [--team T]\n"
               "                 [--format table|json|csv] [--ack-target MINUTES]\n"
               "                 [-c CONFIG] [--redis URL]\n"
               "  Per service and team of the month: availability vs target, incidents,\n"
               "  MTTD/MTTA/MTTR, notifications and delivery p95, acks within target\n"
               "  (default 15 min), drills, probe coverage, capacity forecasts.\n"
               "  'current' is this month (UTC, or the customer's timezone with --customer).\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

/* "YYYY-MM" or "current" (this month in tzname); 0 or -1. */
static int kpi_parse_month(const char *s, const char *tzname, int *y, int *m)
{
    if (strcmp(s, "current") == 0)
        return cli_month_now(tzname, y, m);
    return cli_parse_month(s, y, m);
}

/* A duration as "1h02m", "3m07s", "850ms"; "-" for no sample. */
static const char *kpi_dur(int64_t ms, char *buf, size_t len)
{
    if (ms < 0)
        snprintf(buf, len, "-");
    else if (ms < 1000)
        snprintf(buf, len, "%" PRId64 "ms", ms);
    else if (ms < 3600000)
        snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms / 1000 % 60);
    else
        snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms / 60000 % 60);
    return buf;
}

static const char *kpi_pct(double v, int decimals, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.*f", decimals, v);
    return buf;
}

static void kpi_print_table(const struct kpi_table *t, const char *month)
{
    printf("KPIs %s\n%-6s %-14s %-16s %9s %7s %3s %4s %7s %7s %7s %11s %7s %5s %7s %6s %6s\n",
           month, "SCOPE", "CUSTOMER", "SERVICE/TEAM", "AVAIL%", "TARGET", "MET", "INC",
           "MTTD", "MTTA", "MTTR", "SENT/OK/ERR", "DLV_P95", "ACK%", "DRILLS", "COV%",
           "FCAST");
    for (size_t i = 0; i < t->n; i++) {
        const struct kpi_row *r = &t->rows[i];
        char a[24], b[24], c[24], d[24], e[24], f[24], cov[24], notes[48], drills[32];

        snprintf(notes, sizeof(notes), "%zu/%zu/%zu", r->notif_sent, r->notif_delivered,
                 r->notif_failed);
        snprintf(drills, sizeof(drills), "%zu/%zu%s", r->drills_held, r->drills_passed,
                 r->drill_overdue ? "!" : "");
        printf("%-6s %-14.14s %-16.16s %9s %7.3f %3s %4zu %7s %7s %7s %11s %7s %5s %7s %6s "
               "%6zu\n",
               r->scope, r->customer[0] ? r->customer : "-",
               strcmp(r->scope, KPI_SCOPE_TEAM) == 0 ? r->team : r->service,
               kpi_pct(r->availability_pct, 4, a, sizeof(a)), r->target_pct,
               r->met ? "yes" : "NO", r->incidents, kpi_dur(r->mttd_ms, b, sizeof(b)),
               kpi_dur(r->mtta_ms, c, sizeof(c)), kpi_dur(r->mttr_ms, d, sizeof(d)), notes,
               kpi_dur(r->delivery_p95_ms, e, sizeof(e)),
               kpi_pct(r->ack_within_pct, 0, f, sizeof(f)), drills,
               kpi_pct(r->coverage_min_pct, 1, cov, sizeof(cov)), r->forecasts_raised);
    }
    printf("(drills held/passed, ! = overdue; COV%% = lowest probe coverage of the checks; "
           "FCAST = capacity forecasts raised)\n");
}

static int kpi_print(const struct kpi_table *t, const char *month, const char *format)
{
    if (strcmp(format, "table") == 0) {
        kpi_print_table(t, month);
        return CLI_OK;
    }
    if (strcmp(format, "csv") == 0) {
        char *csv = NULL;
        size_t len = 0;
        int ok = kpi_csv(t->rows, t->n, &csv, &len) == 0 && fwrite(csv, 1, len, stdout) == len;

        free(csv);
        return ok ? CLI_OK : CLI_FAIL;
    }
    {
        json_t *j = kpi_table_json(t, month, nines_wall_ms());
        int ok = j != NULL && json_dumpf(j, stdout, JSON_INDENT(1) | JSON_SORT_KEYS) == 0;

        json_decref(j);
        putchar('\n');
        return ok ? CLI_OK : CLI_FAIL;
    }
}

static int kpi_team_known(const struct nines_config *cfg, const char *team)
{
    for (size_t i = 0; i < cfg->checks_count; i++)
        if (cfg->checks[i].team != NULL && strcmp(cfg->checks[i].team, team) == 0)
            return 1;
    return 0;
}

static int kpi_run(const struct kpi_opts *o, const struct nines_config *cfg)
{
    const struct nines_customer_cfg *cu = NULL;
    struct nines_err err = { 0 };
    struct kpi_table t = { 0 };
    redisContext *rc;
    char month[16];
    int y, m, ret;

    if (o->customer != NULL && (cu = cli_customer(cfg, o->customer)) == NULL) {
        fprintf(stderr, "nines kpi: --customer '%s': no such customer in %s\n", o->customer,
                cfg->path);
        return CLI_USAGE;
    }
    if (o->team != NULL && !kpi_team_known(cfg, o->team)) {
        fprintf(stderr, "nines kpi: --team '%s': no check of %s has this team\n", o->team,
                cfg->path);
        return CLI_USAGE;
    }
    if (kpi_parse_month(o->month, cu != NULL ? cu->timezone : NULL, &y, &m) != 0) {
        fprintf(stderr, "nines kpi: --month '%s': expected YYYY-MM (e.g. 2026-10) or current\n",
                o->month);
        return CLI_USAGE;
    }
    snprintf(month, sizeof(month), "%04d-%02d", y % 10000, m % 100);
    if ((ret = cli_redis_open(o->url, o->config, cfg, &rc)) != 0)
        return ret;
    ret = kpigather_month(rc, cfg, o->customer, o->team, y, m, o->ack_target_ms, &t, &err);
    if (ret != 0) {
        fprintf(stderr, "nines kpi: %s %s\n", month, err.msg);
        ret = cli_compute_exit(ret);
    } else {
        ret = kpi_print(&t, month, o->format);
    }
    kpi_table_free(&t);
    redisFree(rc);
    return ret;
}

int cli_kpi(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "month", required_argument, NULL, 'm' },      { "customer", required_argument, NULL, 'C' },
        { "team", required_argument, NULL, 't' },       { "format", required_argument, NULL, 'f' },
        { "ack-target", required_argument, NULL, 'a' }, { "config", required_argument, NULL, 'c' },
        { "redis", required_argument, NULL, 'r' },      { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const formats[] = { "table", "json", "csv", NULL };
    struct kpi_opts o = { .format = "table", .ack_target_ms = KPI_ACK_TARGET_MS_DEFAULT };
    struct nines_config *cfg;
    char *end;
    long long v;
    int c, ret;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.month = optarg; break;
        case 'C': o.customer = optarg; break;
        case 't': o.team = optarg; break;
        case 'f': o.format = optarg; break;
        case 'c': o.config = optarg; break;
        case 'r': o.url = optarg; break;
        case 'a':
            errno = 0;
            v = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 1 || v > 10080) {
                fprintf(stderr, "nines kpi: --ack-target '%s': minutes, 1 to 10080\n", optarg);
                return CLI_USAGE;
            }
            o.ack_target_ms = (int64_t)v * 60000;
            break;
        case 'h': return kpi_usage(stdout);
        default: return kpi_usage(stderr);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nines kpi: unexpected argument '%s'\n", argv[optind]);
        return kpi_usage(stderr);
    }
    if (o.month == NULL) {
        fprintf(stderr, "nines kpi: --month YYYY-MM (or current) is required\n");
        return kpi_usage(stderr);
    }
    if (!cli_one_of("nines kpi", "--format", o.format, formats))
        return CLI_USAGE;
    o.config = cli_config_path(o.config);
    if ((cfg = cli_config_load(o.config)) == NULL)
        return CLI_USAGE;
    ret = kpi_run(&o, cfg);
    nines_config_free(cfg);
    return ret;
}
