/*
 * Monthly reports in the HTTP API:
 *
 *   GET /api/v1/reports/CUSTOMER/YYYY-MM.FORMAT   (json, html, csv, pdf; viewer)
 *   GET /api/v1/reports/CUSTOMER/YYYY-MM          delivery state (nines:report:...)
 *
 * A report is computed by a child `nines report` (next to nines-collector),
 * so that the collector's loop never waits on Redis reads of a whole month;
 * at most two run at once (503 with Retry-After beyond).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_reports.h"
#include "childrun.h"
#include "nines/log.h"

#define API_REPORTS_MAX_RUNS 2
#define API_REPORTS_MAX_BYTES (64 * 1024 * 1024)

static struct childrun_pool api_reports_pool;   /* children running */

/* A request waiting for its child. */
struct api_report_run {
    struct httpd_req *req;          /* NULL once answered (server closing) */
    const char *type;
    struct api_report_run *next;
};

static struct api_report_run *api_reports_waiting;

void api_reports_close(void)
{
    for (struct api_report_run *run = api_reports_waiting; run != NULL; run = run->next) {
        if (run->req != NULL)
            httpd_respond_error(run->req, 503, "the collector is stopping");
        run->req = NULL;
    }
    childrun_pool_kill(&api_reports_pool);
}

static void api_reports_done(const struct childrun_result *res, void *arg)
{
    struct api_report_run *run = arg, **pp;

    for (pp = &api_reports_waiting; *pp != NULL; pp = &(*pp)->next)
        if (*pp == run) {
            *pp = run->next;
            break;
        }
    /* answered even when the client is gone: that releases the request */
    if (run->req != NULL) {
        if (res->status == NINES_EIO)
            httpd_respond_error(run->req, 400, "no report for this month: it is in the "
                                "future, or before any data (the collector's log has the "
                                "details)");
        else if (res->status != 0)
            httpd_respond_error(run->req, 500, "report unreadable");
        else
            httpd_respond_text(run->req, 200, run->type, res->out, res->len);
    }
    free(run);
}

static const char *api_reports_type(const char *fmt)
{
    if (strcmp(fmt, "json") == 0)
        return "application/json";
    if (strcmp(fmt, "html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(fmt, "csv") == 0)
        return "text/csv; charset=utf-8";
    if (strcmp(fmt, "pdf") == 0)
        return "application/pdf";
    return NULL;
}

static void api_reports_state_done(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct httpd_req *r = privdata;
    redisReply *rep = reply;
    json_t *o;

    (void)ac;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        httpd_respond_error(r, 503, "Redis connection lost");
        return;
    }
    if (rep->elements == 0) {
        httpd_respond_error(r, 404, "no delivery recorded for this month");
        return;
    }
    o = json_object();
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        json_object_set_new(o, rep->element[i]->str, json_string(rep->element[i + 1]->str));
    httpd_respond_json(r, 200, o);
}

static void api_reports_get(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    const struct nines_config *cfg = collector_config(c);
    char customer[NINES_ID_LEN], month[16], fmt[8];
    const char *rest = httpd_rest(r), *slash = strchr(rest, '/'), *dot;
    struct api_report_run *run;
    struct nines_err err = { 0 };
    int rc, y, m;

    if (slash == NULL || (size_t)(slash - rest) >= sizeof(customer)) {
        httpd_respond_error(r, 404, "use /api/v1/reports/CUSTOMER/YYYY-MM.FORMAT");
        return;
    }
    snprintf(customer, sizeof(customer), "%.*s", (int)(slash - rest), rest);
    dot = strchr(slash + 1, '.');
    snprintf(month, sizeof(month), "%.*s", dot ? (int)(dot - slash - 1) : 15, slash + 1);
    if (sscanf(month, "%4d-%2d", &y, &m) != 2 || strlen(month) != 7 || m < 1 || m > 12) {
        httpd_respond_error(r, 400, "month must be YYYY-MM");
        return;
    }
    rc = 0;
    for (size_t i = 0; i < cfg->customers_count && !rc; i++)
        rc = strcmp(cfg->customers[i].id, customer) == 0;
    if (!rc) {
        httpd_respond_error(r, 404, "no customer '%s'", customer);
        return;
    }
    if (dot == NULL) {
        redisAsyncContext *ac = collector_redis(c);

        if (ac == NULL)
            httpd_respond_error(r, 503, "Redis is unreachable");
        else
            redisAsyncCommand(ac, api_reports_state_done, r, "HGETALL nines:report:%s:%s",
                              customer, month);
        return;
    }
    snprintf(fmt, sizeof(fmt), "%.7s", dot + 1);
    if (api_reports_type(fmt) == NULL || strlen(dot + 1) >= sizeof(fmt)) {
        httpd_respond_error(r, 400, "format must be json, html, csv or pdf");
        return;
    }
    if (api_reports_pool.running >= API_REPORTS_MAX_RUNS) {
        httpd_add_header(r, "Retry-After", "5");
        httpd_respond_error(r, 503, "reports are being computed: try again shortly");
        return;
    }
    if (cfg->path == NULL || (run = calloc(1, sizeof(*run))) == NULL) {
        httpd_respond_error(r, 500, "cannot compute reports here");
        return;
    }
    run->req = r;
    run->type = api_reports_type(fmt);
    {
        const char *args[] = { "report", "--customer", customer, "--month", month, "--format",
                               fmt, "-o", childrun_output, "-c", cfg->path, NULL };

        if (childrun_start(&api_reports_pool, collector_loop(c), cfg->collector.data_dir, args,
                           API_REPORTS_MAX_BYTES, api_reports_done, run, &err) != 0) {
            httpd_respond_error(r, 500, "cannot run nines report: %s", err.msg);
            free(run);
            return;
        }
    }
    run->next = api_reports_waiting;
    api_reports_waiting = run;
}

int api_reports_routes(struct httpd *h, struct collector *c, enum auth_role viewer)
{
    return httpd_route(h, "GET", "/api/v1/reports/*", viewer, api_reports_get, c);
}
