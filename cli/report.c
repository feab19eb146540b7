/*
 * nines report: the monthly SLA report of one customer, computed from Redis
 * (collector/report/compute.c), rendered, and on --send stored under
 * data_dir/reports/CUSTOMER/YYYY-MM.{pdf,json,html} and emailed to the
 * customer's contacts. The delivery state is the hash
 * nines:report:CUSTOMER:YYYY-MM (status, attempts, last_error, sha256,
 * sent_ms, generated_ms), which the collector's scheduler reads.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "compute.h"
#include "mail.h"
#include "nines/clock.h"
#include "report.h"

static int report_usage(FILE *f)
{
    fprintf(f, "usage: nines report --customer ID [--month YYYY-MM] [--format "
               "html|pdf|csv|kpi-csv|json]\n"
               "                    [-o FILE] [--send] [-c CONFIG] [--redis URL]\n"
               "  the month defaults to the last one in the customer's timezone; html goes\n"
               "  to stdout unless -o; pdf needs -o; csv is the daily figures, kpi-csv the\n"
               "  report's KPI table. --send stores the report under\n"
               "  data_dir/reports/ and emails it (first email receiver) to the contacts.\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

static int report_write(const char *path, const char *data, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    int ok;

    if (f == NULL) {
        fprintf(stderr, "nines report: %s: %s\n", path, strerror(errno));
        return -1;
    }
    ok = fwrite(data, 1, len, f) == len;
    ok &= f == stdout ? fflush(f) == 0 : fclose(f) == 0;
    if (!ok)
        fprintf(stderr, "nines report: cannot write %s\n", path);
    return ok ? 0 : -1;
}

static int report_mkdirs(const char *path)
{
    char tmp[1024];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* One rendering into *out (pdf: through a file at pdf_path). */
static int report_render(const struct report *r, const char *format, const char *pdf_path,
                         char **out, size_t *len, struct nines_err *err)
{
    if (strcmp(format, "json") == 0)
        return report_json(r, out, len, err);
    if (strcmp(format, "html") == 0)
        return report_html(r, out, len, err);
    if (strcmp(format, "csv") == 0)
        return report_csv_daily(r, out, len, err);
    if (strcmp(format, "kpi-csv") == 0)
        return report_csv_kpis(r, out, len, err);
    *out = NULL;
    return report_pdf(r, pdf_path, err);
}

static void report_state(redisContext *rc, const struct report *r, int ok, const char *why)
{
    redisReply *x;
    char key[256];

    snprintf(key, sizeof(key), "nines:report:%s:%s", r->customer_id, r->month);
    x = redisCommand(rc, "HSET %s status %s last_error %s sha256 %s generated_ms %" PRId64, key,
                     ok ? "sent" : "failed", why, r->data_sha256, r->generated_ms);
    freeReplyObject(x);
    x = redisCommand(rc, "HINCRBY %s attempts 1", key);
    freeReplyObject(x);
    if (ok) {
        x = redisCommand(rc, "HSET %s sent_ms %" PRId64, key, nines_wall_ms());
        freeReplyObject(x);
    }
}

/* A whole file (at most 64 MiB) into a malloc'd buffer. */
static char *report_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= (64L << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, f);
        if (*len != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* The three files under data_dir/reports/CUSTOMER/. */
static int report_store(const struct nines_config *cfg, const struct report *r, char *pdf_path,
                        size_t plen, struct nines_err *err)
{
    char dir[700], path[800], *json = NULL, *html = NULL;
    size_t jlen = 0, hlen = 0;
    int rc;

    snprintf(dir, sizeof(dir), "%s/reports/%s", cfg->collector.data_dir, r->customer_id);
    if (report_mkdirs(dir) != 0)
        return nines_err_set(err, NINES_EIO, "cannot create %s: %s", dir, strerror(errno));
    rc = report_json(r, &json, &jlen, err);
    if (rc == 0)
        rc = report_html(r, &html, &hlen, err);
    if (rc == 0) {
        snprintf(path, sizeof(path), "%s/%s.json", dir, r->month);
        if (report_write(path, json, jlen) != 0)
            rc = nines_err_set(err, NINES_EIO, "cannot write %s", path);
        snprintf(path, sizeof(path), "%s/%s.html", dir, r->month);
        if (rc == 0 && report_write(path, html, hlen) != 0)
            rc = nines_err_set(err, NINES_EIO, "cannot write %s", path);
        snprintf(pdf_path, plen, "%s/%s.pdf", dir, r->month);
        if (rc == 0)
            rc = report_pdf(r, pdf_path, err);
    }
    free(json);
    free(html);
    return rc;
}

/* Store, then mail the PDF and JSON to the contacts; the outcome goes to
 * nines:report:CUSTOMER:MONTH. */
static int report_send(redisContext *rc, const struct nines_config *cfg,
                       const struct nines_customer_cfg *cu, const struct report *r)
{
    const struct nines_receiver_cfg *rcv = report_mail_receiver(cfg);
    struct nines_err err = { 0 };
    struct report_attachment att[2];
    char pdf_path[800], pdf_name[200], json_name[200], *pdf = NULL, *json = NULL, *msg = NULL;
    size_t plen = 0, jlen = 0, mlen = 0;
    int ret = 0;

    if (rcv == NULL)
        ret = nines_err_set(&err, NINES_EINVAL, "no receiver of kind email in %s", cfg->path);
    else if (cu->contacts == NULL)
        ret = nines_err_set(&err, NINES_EINVAL, "customer %s has no contacts", cu->id);
    if (ret == 0)
        ret = report_store(cfg, r, pdf_path, sizeof(pdf_path), &err);
    if (ret == 0 && (pdf = report_slurp(pdf_path, &plen)) == NULL)
        ret = nines_err_set(&err, NINES_EIO, "cannot read back %s", pdf_path);
    if (ret == 0)
        ret = report_json(r, &json, &jlen, &err);
    if (ret == 0) {
        snprintf(pdf_name, sizeof(pdf_name), "%s-%s.pdf", r->customer_id, r->month);
        snprintf(json_name, sizeof(json_name), "%s-%s.json", r->customer_id, r->month);
        att[0] = (struct report_attachment){ pdf_name, "application/pdf", pdf, plen };
        att[1] = (struct report_attachment){ json_name, "application/json", json, jlen };
        ret = report_mail_build(r, rcv->from, cu->contacts, nines_wall_ms(), att, 2, &msg,
                                &mlen, &err);
    }
    if (ret == 0)
        ret = report_mail_send(rcv, cu->contacts, msg, mlen, getenv("NINES_SMTP_CA_FILE"), &err);
    free(pdf);
    free(json);
    free(msg);
    report_state(rc, r, ret == 0, ret == 0 ? "" : err.msg);
    if (ret != 0)
        fprintf(stderr, "nines report: %s %s: not sent: %s\n", r->customer_id, r->month,
                err.msg);
    else
        fprintf(stderr, "nines report: %s %s: sent to %s (sha256 %s)\n", r->customer_id,
                r->month, cu->contacts, r->data_sha256);
    return ret;
}

/* The month before now in tz (1970-01 if the zone cannot be loaded). */
static void report_last_month(const char *tzname, int *y, int *m)
{
    if (cli_month_now(tzname, y, m) != 0) {
        *y = 1970;
        *m = 1;
    } else if (*m == 1) {
        *y -= 1;
        *m = 12;
    } else {
        *m -= 1;
    }
}

struct report_opts {
    const char *customer, *month, *format, *out, *config, *url;
    int send;
};

static int report_run(const struct report_opts *o, struct nines_config *cfg)
{
    const struct nines_customer_cfg *cu = cli_customer(cfg, o->customer);
    struct nines_err err = { 0 };
    struct report r;
    redisContext *rc;
    char *buf = NULL;
    size_t len = 0;
    int y, m, ret;

    if (cu == NULL) {
        fprintf(stderr, "nines report: unknown customer '%s' (not in %s)\n", o->customer,
                cfg->path);
        return CLI_USAGE;
    }
    if (o->month == NULL)
        report_last_month(cu->timezone, &y, &m);
    else if (cli_parse_month(o->month, &y, &m) != 0) {
        fprintf(stderr, "nines report: --month '%s': expected YYYY-MM, e.g. 2026-10\n", o->month);
        return CLI_USAGE;
    }
    if ((ret = cli_redis_open(o->url, o->config, cfg, &rc)) != 0)
        return ret;
    if ((ret = report_compute(rc, cfg, o->customer, y, m, &r, &err)) != 0) {
        fprintf(stderr, "nines report: %s\n", err.msg);
        redisFree(rc);
        return cli_compute_exit(ret);
    }
    ret = CLI_OK;
    if (o->send && report_send(rc, cfg, cu, &r) != 0)
        ret = CLI_FAIL;
    if (!o->send || o->out != NULL) {
        if (report_render(&r, o->format, o->out, &buf, &len, &err) != 0) {
            fprintf(stderr, "nines report: %s\n", err.msg);
            ret = CLI_FAIL;
        } else if (buf != NULL && report_write(o->out ? o->out : "-", buf, len) != 0) {
            ret = CLI_FAIL;
        }
    }
    free(buf);
    report_compute_free(&r);
    redisFree(rc);
    return ret;
}

int cli_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "customer", required_argument, NULL, 'C' }, { "month", required_argument, NULL, 'm' },
        { "format", required_argument, NULL, 'f' },   { "send", no_argument, NULL, 's' },
        { "config", required_argument, NULL, 'c' },   { "redis", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 }
    };
    static const char *const formats[] = { "html", "pdf", "csv", "kpi-csv", "json", NULL };
    struct report_opts o = { .format = "html" };
    struct nines_config *cfg;
    int c, ret;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'C': o.customer = optarg; break;
        case 'm': o.month = optarg; break;
        case 'f': o.format = optarg; break;
        case 's': o.send = 1; break;
        case 'c': o.config = optarg; break;
        case 'r': o.url = optarg; break;
        case 'o': o.out = optarg; break;
        case 'h': return report_usage(stdout);
        default: return report_usage(stderr);
        }
    }
    if (optind < argc || o.customer == NULL) {
        fprintf(stderr, "nines report: %s\n",
                o.customer == NULL ? "--customer ID is required" : "unexpected argument");
        return report_usage(stderr);
    }
    if (!cli_one_of("nines report", "--format", o.format, formats))
        return CLI_USAGE;
    if (strcmp(o.format, "pdf") == 0 && o.out == NULL && !o.send) {
        fprintf(stderr, "nines report: --format pdf needs -o FILE\n");
        return CLI_USAGE;
    }
    o.config = cli_config_path(o.config);
    if ((cfg = cli_config_load(o.config)) == NULL)
        return CLI_USAGE;
    ret = report_run(&o, cfg);
    nines_config_free(cfg);
    return ret;
}
