/*
 * Operational KPIs in the HTTP API (README "HTTP API", "Audit evidence"):
 *
 *   GET /api/v1/kpis/YYYY-MM[.json|.csv][?customer=ID][&team=T]   (viewer)
 *
 * The table is the output of a child `nines kpi` (next to nines-collector),
 * the same program and rows as the CLI, so the collector's loop never waits on
 * a month of Redis reads; at most two run at once (503 with Retry-After beyond).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_kpis.h"
#include "childrun.h"
#include "nines/clock.h"
#include "nines/log.h"

#define API_KPIS_MAX_RUNS 2
#define API_KPIS_MAX_BYTES (16 * 1024 * 1024)
#define API_KPIS_TEAM_MAX 63

static struct childrun_pool api_kpis_pool;

/* A request waiting for its child. */
struct api_kpis_run {
    struct httpd_req *req;          /* NULL once answered (server closing) */
    int csv;
    struct api_kpis_run *next;
};

static struct api_kpis_run *api_kpis_waiting;

void api_kpis_close(void)
{
    for (struct api_kpis_run *run = api_kpis_waiting; run != NULL; run = run->next) {
        if (run->req != NULL)
            httpd_respond_error(run->req, 503, "the collector is stopping");
        run->req = NULL;
    }
    childrun_pool_kill(&api_kpis_pool);
}

int api_kpis_month_ok(const char *month, int64_t now_ms)
{
    time_t ahead = (time_t)(now_ms / 1000 + 14 * 3600);
    struct tm tm;
    char tail;
    int y, m;

    if (strlen(month) != 7 || month[4] != '-' || !isdigit((unsigned char)month[0]) ||
        !isdigit((unsigned char)month[5]) ||
        sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2 || y < 1971 || m < 1 || m > 12 ||
        gmtime_r(&ahead, &tm) == NULL)
        return -1;
    return y * 12 + m <= (tm.tm_year + 1900) * 12 + tm.tm_mon + 1 ? 0 : -1;
}

/* A team label as the configuration allows it: letters, digits, - _ . */
static int api_kpis_team_ok(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > API_KPIS_TEAM_MAX || !isalnum((unsigned char)t[0]))
        return 0;
    for (; *t != '\0'; t++)
        if (!isalnum((unsigned char)*t) && strchr("-_.", *t) == NULL)
            return 0;
    return 1;
}

static void api_kpis_done(const struct childrun_result *res, void *arg)
{
    struct api_kpis_run *run = arg, **pp;
    json_t *doc = NULL;

    for (pp = &api_kpis_waiting; *pp != NULL; pp = &(*pp)->next)
        if (*pp == run) {
            *pp = run->next;
            break;
        }
    if (run->req == NULL) {
        free(run);
        return;
    }
    if (res->status == 0 && !run->csv)
        doc = json_loadb(res->out, res->len, JSON_REJECT_DUPLICATES, NULL);
    if (res->status != 0)
        httpd_respond_error(run->req, 500, "nines kpi failed: %s",
                            res->errtext[0] ? res->errtext : "no output");
    else if (!run->csv && !json_is_array(json_object_get(doc, "rows")))
        httpd_respond_error(run->req, 500, "nines kpi gave no rows");
    else      /* the CLI's bytes as they are: the same rows, the same numbers */
        httpd_respond_text(run->req, 200,
                           run->csv ? "text/csv; charset=utf-8" : "application/json", res->out,
                           res->len);
    json_decref(doc);
    free(run);
}

/* Parses REST ("YYYY-MM", ".json" or ".csv" after it) and the query; 0 or answered. */
static int api_kpis_parse(struct httpd_req *r, const struct nines_config *cfg, char *month,
                          int *csv)
{
    const char *rest = httpd_rest(r), *dot = strchr(rest, '.');
    const char *customer = httpd_query(r, "customer"), *team = httpd_query(r, "team");
    size_t mlen = dot != NULL ? (size_t)(dot - rest) : strlen(rest);
    int found = 0;

    snprintf(month, 8, "%.*s", mlen < 8 ? (int)mlen : 8, rest);
    if (mlen != 7 || api_kpis_month_ok(month, nines_wall_ms()) != 0) {
        httpd_respond_error(r, 400, "month: expected YYYY-MM, not later than this month, got "
                            "'%.16s'", rest);
        return -1;
    }
    *csv = dot != NULL && strcmp(dot, ".csv") == 0;
    if (dot != NULL && !*csv && strcmp(dot, ".json") != 0) {
        httpd_respond_error(r, 400, "format: expected .json or .csv, got '%.16s'", dot);
        return -1;
    }
    for (size_t i = 0; customer != NULL && i < cfg->customers_count && !found; i++)
        found = strcmp(cfg->customers[i].id, customer) == 0;
    if (customer != NULL && !found) {
        httpd_respond_error(r, 404, "customer: no customer '%.64s'", customer);
        return -1;
    }
    if (team != NULL && !api_kpis_team_ok(team)) {
        httpd_respond_error(r, 400, "team: expected 1 to %d letters, digits, '-', '_' or '.', "
                            "starting with a letter or digit",
                            API_KPIS_TEAM_MAX);
        return -1;
    }
    return 0;
}

static void api_kpis_get(struct httpd_req *r, void *arg)
{
    struct collector *c = arg;
    const struct nines_config *cfg = collector_config(c);
    const char *customer = httpd_query(r, "customer"), *team = httpd_query(r, "team");
    const char *args[16];
    struct nines_err err = { 0 };
    struct api_kpis_run *run;
    char month[8];
    size_t n = 0;
    int csv;

    if (api_kpis_parse(r, cfg, month, &csv) != 0)
        return;
    if (api_kpis_pool.running >= API_KPIS_MAX_RUNS) {
        httpd_add_header(r, "Retry-After", "5");
        httpd_respond_error(r, 503, "KPIs are being computed: try again shortly");
        return;
    }
    if (cfg->path == NULL || (run = calloc(1, sizeof(*run))) == NULL) {
        httpd_respond_error(r, 500, "cannot compute KPIs here");
        return;
    }
    run->req = r;
    run->csv = csv;
    args[n++] = "kpi";
    args[n++] = "--month";
    args[n++] = month;
    args[n++] = "--format";
    args[n++] = csv ? "csv" : "json";
    if (customer != NULL) {
        args[n++] = "--customer";
        args[n++] = customer;
    }
    if (team != NULL) {
        args[n++] = "--team";
        args[n++] = team;
    }
    args[n++] = "-c";
    args[n++] = cfg->path;
    args[n] = NULL;
    if (childrun_start(&api_kpis_pool, collector_loop(c), cfg->collector.data_dir, args,
                       API_KPIS_MAX_BYTES, api_kpis_done, run, &err) != 0) {
        httpd_respond_error(r, 500, "cannot run nines kpi: %s", err.msg);
        free(run);
        return;
    }
    run->next = api_kpis_waiting;
    api_kpis_waiting = run;
}

int api_kpis_routes(struct httpd *h, struct collector *c, enum auth_role viewer)
{
    return httpd_route(h, "GET", "/api/v1/kpis/*", viewer, api_kpis_get, c);
}
