/*
 * The Grafana dashboards (every .json file in dashboards/) and the Prometheus rules
 * (dashboards/prometheus-rules.yml) against a real Prometheus.
 *
 *  - every dashboard is provisionable: current schema, a uid of its own, the
 *    Prometheus data source as the variable ${datasource} on every panel and
 *    target, only panel types Grafana ships;
 *  - `promtool check rules` accepts the rules file;
 *  - a world of redis-server, the HTTP fixture, a collector, a probe running
 *    an HTTP and a host check, results written into the stream for the
 *    checks no probe here can produce (a failing payment check, a
 *    certificate 5 days from expiry, a slow check, a filling disk on another
 *    host, a location that falls silent), a service and a customer with an
 *    SLA; a real `prometheus` scrapes the collector every second and loads
 *    the rules file. Every PromQL expression of every panel target, every
 *    query variable and every rule then parses and returns at least one
 *    series: the world is built so that every alert fires.
 *
 * The exceptions: expressions on the drill metrics (nines_drill_*,
 * nines_canary_*) may return no series, because the drills feature that
 * exposes them is not part of this build; nor may the KPI figures that need
 * a sample this world does not make (MTTD, MTTA, MTTR, delivery p95, ack
 * within target, RTO, RPO, forecast lead: kpi_sampled). They must still parse.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "http_client.h"
#include "httpfix_client.h"
#include "nines/clock.h"
#include "nines/result.h"
#include "nines/wire.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"
#include "yamltree.h"

#define DASH_DIR NINES_SOURCE_DIR "/dashboards"
#define RULES_FILE DASH_DIR "/prometheus-rules.yml"
#define MAX_EXPRS 256

struct expr {
    char where[200];        /* "overview.json: panel \"Checks down\"" */
    char *text;             /* Grafana variables substituted; malloc'd */
    int optional;           /* drill metrics: no series allowed */
    int seen;               /* returned a series at least once */
};

struct expr_set {
    struct expr e[MAX_EXPRS];
    size_t n;
};

static char body[1 << 20];

/* ---- Grafana variables ------------------------------------------------------ */

/* What a variable stands for in a test query: an interval for the interval
 * variables, "match anything" for the rest (all are used in =~ matchers). */
static const char *var_value(const char *name, size_t len)
{
    static const char *const intervals[][2] = {
        { "__rate_interval", "1m" }, { "__interval", "1m" }, { "__range", "1h" },
        { "window", "5m" },
    };

    for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++)
        if (strlen(intervals[i][0]) == len && strncmp(name, intervals[i][0], len) == 0)
            return intervals[i][1];
    return ".*";
}

/* expr with $name, ${name} and ${name:format} replaced; malloc'd. */
static char *substitute(const char *expr)
{
    size_t cap = strlen(expr) * 4 + 16, n = 0;
    char *out = malloc(cap);

    cr_assert(not(eq(ptr, out, NULL)));
    for (const char *p = expr; *p != '\0';) {
        const char *name, *v;
        size_t len = 0;

        if (*p != '$') {
            out[n++] = *p++;
            continue;
        }
        if (p[1] == '{') {
            name = p + 2;
            while (name[len] != '\0' && name[len] != '}' && name[len] != ':')
                len++;
            p = strchr(p, '}');
            cr_assert(not(eq(ptr, (void *)p, NULL)), "unclosed ${ in %s", expr);
            p++;
        } else {
            name = p + 1;
            while ((name[len] >= 'a' && name[len] <= 'z') ||
                   (name[len] >= 'A' && name[len] <= 'Z') ||
                   (name[len] >= '0' && name[len] <= '9') || name[len] == '_')
                len++;
            p = name + len;
        }
        cr_assert(gt(sz, len, 0), "a lone $ in %s", expr);
        v = var_value(name, len);
        cr_assert(lt(sz, n + strlen(v), cap - 1));
        memcpy(out + n, v, strlen(v));
        n += strlen(v);
    }
    out[n] = '\0';
    return out;
}

/* KPI figures that need a sample (an acknowledged incident, a drill, a
 * forecast): a world without one has no series for them. */
static const char *const kpi_sampled[] = {
    "nines_kpi_mttd_", "nines_kpi_mtta_", "nines_kpi_mttr_", "nines_kpi_delivery_p95_",
    "nines_kpi_ack_within_", "nines_kpi_rto_", "nines_kpi_rpo_", "nines_kpi_forecast_lead_",
};

static void add_expr(struct expr_set *s, const char *where, const char *text)
{
    struct expr *e;

    cr_assert(lt(sz, s->n, MAX_EXPRS), "more than %d expressions", MAX_EXPRS);
    e = &s->e[s->n++];
    snprintf(e->where, sizeof(e->where), "%s", where);
    e->text = substitute(text);
    e->optional = strstr(text, "nines_drill_") != NULL || strstr(text, "nines_canary_") != NULL;
    for (size_t i = 0; i < sizeof(kpi_sampled) / sizeof(kpi_sampled[0]); i++)
        e->optional |= strstr(text, kpi_sampled[i]) != NULL;
    e->seen = 0;
}

static void free_exprs(struct expr_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].text);
    s->n = 0;
}

/* ---- the dashboards ------------------------------------------------------------ */

static int is_ds_variable(json_t *ds)
{
    return json_is_object(ds) &&
           strcmp(json_string_value(json_object_get(ds, "uid")) ?: "", "${datasource}") == 0 &&
           strcmp(json_string_value(json_object_get(ds, "type")) ?: "", "prometheus") == 0;
}

/* The panel's targets into s, after checking the panel is provisionable. */
static void collect_panel(struct expr_set *s, const char *file, json_t *p)
{
    static const char *const kinds[] = { "timeseries", "stat", "table", "gauge" };
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *title = json_string_value(json_object_get(p, "title"));
    char where[200];
    json_t *t;
    size_t i;
    int known = 0;

    cr_assert(not(eq(ptr, (void *)type, NULL)), "%s: a panel without a type", file);
    cr_assert(not(eq(ptr, (void *)title, NULL)), "%s: a %s panel without a title", file, type);
    if (strcmp(type, "row") == 0)
        return;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        known |= strcmp(type, kinds[i]) == 0;
    cr_expect(known, "%s: panel \"%s\" has type %s", file, title, type);
    cr_expect(is_ds_variable(json_object_get(p, "datasource")),
              "%s: panel \"%s\" does not use ${datasource}", file, title);
    known = json_is_object(json_object_get(p, "gridPos"));
    cr_expect(known, "%s: \"%s\" has no gridPos", file, title);
    cr_expect(gt(sz, json_array_size(json_object_get(p, "targets")), 0),
              "%s: panel \"%s\" has no target", file, title);
    json_array_foreach(json_object_get(p, "targets"), i, t) {
        const char *expr = json_string_value(json_object_get(t, "expr"));

        cr_expect(is_ds_variable(json_object_get(t, "datasource")),
                  "%s: a target of \"%s\" does not use ${datasource}", file, title);
        cr_assert(not(eq(ptr, (void *)expr, NULL)), "%s: a target of \"%s\" has no expr", file,
                  title);
        snprintf(where, sizeof(where), "%s: panel \"%.100s\" %s", file, title,
                 json_string_value(json_object_get(t, "refId")) ?: "?");
        add_expr(s, where, expr);
    }
}

/* The templating list: a data source variable of type prometheus named
 * "datasource"; query variables are collected as queries too. */
static void collect_variables(struct expr_set *s, const char *file, json_t *list)
{
    char where[200], sel[512];
    int has_ds = 0;
    json_t *v;
    size_t i;

    json_array_foreach(list, i, v) {
        const char *type = json_string_value(json_object_get(v, "type")) ?: "";
        const char *name = json_string_value(json_object_get(v, "name")) ?: "";
        const char *def = json_string_value(json_object_get(v, "definition"));
        const char *comma;

        if (strcmp(type, "datasource") == 0 && strcmp(name, "datasource") == 0)
            has_ds = strcmp(json_string_value(json_object_get(v, "query")) ?: "",
                            "prometheus") == 0;
        if (strcmp(type, "query") != 0)
            continue;
        cr_expect(is_ds_variable(json_object_get(v, "datasource")),
                  "%s: variable %s does not use ${datasource}", file, name);
        cr_assert(not(eq(ptr, (void *)def, NULL)), "%s: variable %s has no query", file, name);
        /* label_values(SELECTOR, label): the selector must find series */
        comma = strrchr(def, ',');
        cr_assert(eq(int, strncmp(def, "label_values(", 13), 0), "%s: %s", file, def);
        cr_assert(not(eq(ptr, (void *)comma, NULL)), "%s: %s", file, def);
        snprintf(sel, sizeof(sel), "%.*s", (int)(comma - def - 13), def + 13);
        snprintf(where, sizeof(where), "%s: variable %s", file, name);
        add_expr(s, where, sel);
    }
    cr_expect(has_ds, "%s: no data source variable \"datasource\" of type prometheus", file);
}

/* Loads one dashboard, checks its frame and collects its expressions. */
static void collect_dashboard(struct expr_set *s, const char *file, char uids[][64],
                              size_t *nuids)
{
    char path[512];
    json_error_t jerr;
    json_t *d, *p, *inputs;
    const char *uid;
    size_t i;

    snprintf(path, sizeof(path), "%s/%s", DASH_DIR, file);
    d = json_load_file(path, 0, &jerr);
    cr_assert(not(eq(ptr, d, NULL)), "%s:%d: %s", file, jerr.line, jerr.text);
    cr_expect(ge(i64, json_integer_value(json_object_get(d, "schemaVersion")), 39),
              "%s: schemaVersion", file);
    i = json_is_null(json_object_get(d, "id"));
    cr_expect(i, "%s: id must be null", file);
    inputs = json_array_get(json_object_get(d, "__inputs"), 0);
    cr_expect(eq(str, (char *)(json_string_value(json_object_get(inputs, "pluginId")) ?: ""),
                 "prometheus"), "%s: __inputs", file);
    uid = json_string_value(json_object_get(d, "uid"));
    cr_assert(not(eq(ptr, (void *)uid, NULL)), "%s: no uid", file);
    cr_assert(lt(sz, strlen(uid), 41), "%s: a uid has at most 40 characters", file);
    for (i = 0; i < *nuids; i++)
        cr_expect(not(eq(str, uids[i], (char *)uid)), "%s: uid %s used twice", file, uid);
    cr_assert(lt(sz, *nuids, 16));
    snprintf(uids[(*nuids)++], 64, "%s", uid);
    collect_variables(s, file, json_object_get(json_object_get(d, "templating"), "list"));
    json_array_foreach(json_object_get(d, "panels"), i, p) {
        json_t *inner;
        size_t j;

        collect_panel(s, file, p);
        json_array_foreach(json_object_get(p, "panels"), j, inner)   /* collapsed rows */
            collect_panel(s, file, inner);
    }
    json_decref(d);
}

/* Every .json file in dashboards/; returns how many. */
static size_t collect_dashboards(struct expr_set *s)
{
    char uids[16][64];
    size_t nuids = 0, files = 0;
    DIR *dir = opendir(DASH_DIR);
    struct dirent *de;

    cr_assert(not(eq(ptr, dir, NULL)), "cannot open %s", DASH_DIR);
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);

        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        collect_dashboard(s, de->d_name, uids, &nuids);
        files++;
    }
    closedir(dir);
    return files;
}

/* ---- the rules file ------------------------------------------------------------ */

static size_t collect_rules(struct expr_set *s)
{
    struct yamltree t = { 0 };
    struct nines_errlist errs = { 0 };
    const struct yamltree_node *groups;
    char *text = test_read_file(RULES_FILE), where[200];
    size_t count = 0;

    cr_assert(not(eq(ptr, text, NULL)), "cannot read %s", RULES_FILE);
    cr_assert(eq(int, yamltree_parse(&t, RULES_FILE, text, strlen(text), &errs), 0), "%s",
              errs.count ? errs.item[0].msg : "?");
    groups = yamltree_get(t.root, "groups");
    cr_assert(not(eq(ptr, (void *)groups, NULL)));
    for (size_t g = 0; g < groups->count; g++) {
        const struct yamltree_node *rules = yamltree_get(groups->items[g], "rules");

        cr_assert(not(eq(ptr, (void *)rules, NULL)));
        for (size_t r = 0; r < rules->count; r++) {
            const struct yamltree_node *expr = yamltree_get(rules->items[r], "expr");
            const struct yamltree_node *name = yamltree_get(rules->items[r], "alert");

            if (name == NULL)
                name = yamltree_get(rules->items[r], "record");
            cr_assert(not(eq(ptr, (void *)expr, NULL)), "rules line %d: no expr",
                      rules->items[r]->line);
            snprintf(where, sizeof(where), "prometheus-rules.yml:%d: %s", expr->line,
                     name != NULL ? name->value : "?");
            add_expr(s, where, expr->value);
            count++;
        }
    }
    yamltree_free(&t);
    free(text);
    return count;
}

/* ---- the world ---------------------------------------------------------------- */

struct dash_world {
    struct e2eworld e;
    struct httpfix http;
    int prom_port;
    pid_t prom;
    long seq;
};

/* Writes one result into the stream as a probe would. */
static void push(struct dash_world *w, const char *check, const char *location, int64_t start_ms,
                 enum nines_outcome outcome, const char *warning, const char *facts)
{
    struct nines_result r;
    struct nines_wire wire;
    redisContext *c = redis_fixture_connect(&w->e.redis);
    redisReply *rep;
    const char *argv[NINES_WIRE_XADD_ARGC];
    size_t lens[NINES_WIRE_XADD_ARGC];

    cr_assert(not(eq(ptr, c, NULL)));
    nines_result_init(&r);
    snprintf(r.id, sizeof(r.id), "lab/1/%ld", ++w->seq);
    snprintf(r.check_id, sizeof(r.check_id), "%s", check);
    snprintf(r.probe, sizeof(r.probe), "lab-%s", location);
    snprintf(r.location, sizeof(r.location), "%s", location);
    r.start_ms = start_ms;
    r.outcome = outcome;
    r.total_us = 20000;
    r.connect_us = 1000;
    r.code = outcome == NINES_OUTCOME_OK ? 200 : 503;
    if (outcome != NINES_OUTCOME_OK)
        snprintf(r.reason, sizeof(r.reason), "http_status");
    snprintf(r.warning, sizeof(r.warning), "%s", warning);
    snprintf(r.facts, sizeof(r.facts), "%s", facts);
    nines_wire_encode(&r, &wire);
    rep = redisCommandArgv(c, nines_wire_xadd_argv(&wire, NINES_KEY_RESULTS, argv, lens), argv,
                           lens);
    cr_assert(not(eq(ptr, rep, NULL)));
    cr_assert(eq(int, rep->type, REDIS_REPLY_STRING), "XADD: %s", rep->str ? rep->str : "?");
    freeReplyObject(rep);
    redisFree(c);
}

/* Another host's disk, filling: pct rises with every call. */
static void push_disk(struct dash_world *w, int step)
{
    char facts[256];

    snprintf(facts, sizeof(facts),
             "{\"cpu_pct\":20.0,\"mem_pct\":95.0,\"cpus\":4,\"load_per_cpu\":0.25,"
             "\"fs\":[{\"mount\":\"/data\",\"fstype\":\"ext4\",\"pct\":%.1f}]}",
             step < 90 ? 50.0 + 0.5 * step : 95.0);
    push(w, "db1", "lab", nines_wall_ms(), NINES_OUTCOME_OK, "capacity", facts);
}

static void start_collector_and_probe(struct dash_world *w)
{
    char yaml[4096];

    snprintf(yaml, sizeof(yaml),
             "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
             "api:\n  listen: 127.0.0.1:0\n"
             "services:\n  - {id: shop, checks: [web, pay], target: 99.9}\n"
             "customers:\n  - id: acme\n    timezone: Europe/Berlin\n    services: [shop]\n"
             "    slas: [{name: standard, target: 99.9}]\n"
             "checks:\n"
             "  - {id: web, kind: http, url: \"%s/\", interval: 1s, timeout: 500ms,"
             " locations: [local], team: storefront}\n"
             "  - {id: ghost, kind: http, url: \"%s/\", interval: 1s, timeout: 500ms,"
             " locations: [local, far]}\n"
             "  - {id: self, kind: host, interval: 1s, timeout: 900ms, locations: [local]}\n"
             "  - {id: pay, kind: http, url: \"http://127.0.0.1:9/\", interval: 1h,"
             " failures_to_down: 1, locations: [lab]}\n"
             "  - {id: tls, kind: http, url: \"https://127.0.0.1:9/\", interval: 1h,"
             " locations: [lab]}\n"
             "  - {id: slow, kind: http, url: \"http://127.0.0.1:9/\", interval: 1h,"
             " latency_objective: 10ms, locations: [lab]}\n"
             "  - {id: db1, kind: host, interval: 1h, locations: [lab]}\n",
             w->e.redis.url, w->e.dir, w->http.base_url, w->http.base_url);
    e2eworld_config(&w->e, yaml);
    cr_assert(gt(int, e2eworld_collector(&w->e, "collector.log", NULL), 0));
    cr_assert(gt(int, e2eworld_probe(&w->e), 0));
    cr_assert(eq(int, e2eworld_wait_api(&w->e, 10000), 0), "no api.addr");
}

/* Prometheus scraping the collector every second, with the rules loaded. */
static void start_prometheus(struct dash_world *w)
{
    char yml[1024], path[400], cfgarg[420], data[400], listen[64], log[400];
    const char *argv[] = { "prometheus", cfgarg, data, listen, NULL };

    w->prom_port = test_unused_port();
    cr_assert(gt(int, w->prom_port, 0));
    snprintf(path, sizeof(path), "%s/prometheus.yml", w->e.dir);
    snprintf(yml, sizeof(yml),
             "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
             "rule_files: ['%s']\n"
             "scrape_configs:\n  - job_name: nines\n"
             "    static_configs:\n      - targets: ['%s']\n",
             RULES_FILE, w->e.base + strlen("http://"));
    cr_assert(eq(int, test_write_file(path, yml), 0));
    snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", path);
    snprintf(data, sizeof(data), "--storage.tsdb.path=%s/prom", w->e.dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", w->prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", w->e.dir);
    w->prom = proc_spawn(argv, log);
    cr_assert(gt(int, w->prom, 0));
}

static void world_open(struct dash_world *w)
{
    int64_t now = nines_wall_ms();

    memset(w, 0, sizeof(*w));
    e2eworld_open(&w->e);
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    /* Written before the collector starts: its group reads the stream from
     * the start, so the first month-to-date figures (2 s after start) already
     * see pay down since a minute ago. */
    push(w, "pay", "lab", now - 60000, NINES_OUTCOME_FAIL, "", "");
    push(w, "pay", "lab", now - 30000, NINES_OUTCOME_FAIL, "", "");
    push(w, "tls", "lab", now - 1000, NINES_OUTCOME_OK, "cert_expiring",
         "{\"subject\":\"CN=pay.example\",\"days_left\":5}");
    push(w, "slow", "lab", now - 1000, NINES_OUTCOME_OK, "latency_over_objective", "");
    push(w, "ghost", "far", now, NINES_OUTCOME_OK, "", "");   /* then never again */
    push_disk(w, 0);
    start_collector_and_probe(w);
    start_prometheus(w);
}

static void world_close(struct dash_world *w)
{
    proc_stop(w->prom, 5000);
    httpfix_stop(&w->http);
    e2eworld_close(&w->e);
}

/* ---- Prometheus queries ------------------------------------------------------------ */

/*
 * Runs expr as an instant query. Returns the number of series (or 1 for a
 * scalar), or -1 when Prometheus refused it (error copied into err).
 */
static int prom_query(struct dash_world *w, const char *expr, char *err, size_t errlen)
{
    size_t cap = strlen(expr) * 3 + 128, n;
    char *url = malloc(cap);
    json_t *j, *data;
    int code, series = -1;

    cr_assert(not(eq(ptr, url, NULL)));
    n = (size_t)snprintf(url, cap, "http://127.0.0.1:%d/api/v1/query?query=", w->prom_port);
    for (const unsigned char *q = (const unsigned char *)expr; *q != '\0'; q++) {
        if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            *q == '_' || *q == '-' || *q == '.')
            url[n++] = (char)*q;
        else
            n += (size_t)snprintf(url + n, cap - n, "%%%02X", *q);
    }
    url[n] = '\0';
    code = http_request("GET", url, NULL, NULL, body, sizeof(body));
    free(url);
    j = json_loads(body, 0, NULL);
    data = json_object_get(j, "data");
    if (code == 200 && strcmp(json_string_value(json_object_get(j, "status")) ?: "", "success")
                           == 0) {
        const char *type = json_string_value(json_object_get(data, "resultType")) ?: "";

        series = strcmp(type, "scalar") == 0
                     ? 1
                     : (int)json_array_size(json_object_get(data, "result"));
    } else {
        snprintf(err, errlen, "HTTP %d: %.300s", code,
                 json_string_value(json_object_get(j, "error")) ?: body);
    }
    json_decref(j);
    return series;
}

/* Every rule was evaluated at least once, none failed (an evaluation error
 * leaves health "err" with lastError). */
static int rules_all_healthy(struct dash_world *w, char *why, size_t len, size_t want)
{
    char url[128];
    json_t *j, *g, *r;
    size_t i, k, ok = 0;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/rules", w->prom_port);
    snprintf(why, len, "no answer");
    if (http_request("GET", url, NULL, NULL, body, sizeof(body)) != 200)
        return 0;
    j = json_loads(body, 0, NULL);
    json_array_foreach(json_object_get(json_object_get(j, "data"), "groups"), i, g) {
        json_array_foreach(json_object_get(g, "rules"), k, r) {
            const char *health = json_string_value(json_object_get(r, "health")) ?: "";

            if (strcmp(health, "ok") == 0)
                ok++;
            else
                snprintf(why, len, "%s: %s %s",
                         json_string_value(json_object_get(r, "name")) ?: "?", health,
                         json_string_value(json_object_get(r, "lastError")) ?: "");
        }
    }
    json_decref(j);
    return ok == want;
}

/* ---- tests ---------------------------------------------------------------------- */

Test(e2e_dashboards, every_dashboard_is_provisionable_and_every_panel_queries)
{
    struct expr_set *s = calloc(1, sizeof(*s));
    size_t files;

    cr_assert(not(eq(ptr, s, NULL)));
    files = collect_dashboards(s);
    cr_expect(eq(sz, files, 7), "overview, sla, check detail, capacity, drills, probes, kpis");
    cr_expect(gt(sz, s->n, 40), "only %zu expressions", s->n);
    free_exprs(s);
    free(s);
}

Test(e2e_dashboards, promtool_accepts_the_rules_file, .timeout = 30)
{
    const char *argv[] = { "promtool", "check", "rules", RULES_FILE, NULL };

    cr_expect(eq(int, e2e_run(argv, NULL, body, sizeof(body), NULL, 0, 20000), 0), "%s", body);
    cr_expect(not(eq(ptr, strstr(body, "SUCCESS"), NULL)), "%s", body);
}

/* Values the world above must produce (each returns a series once true). */
static const char *const facts[] = {
    "nines_customer_availability_month_to_date{customer=\"acme\",service=\"shop\"} < 0.999",
    "nines_customer_error_budget_remaining_ratio{customer=\"acme\",sla=\"standard\"} < 0",
    "nines_service_sla_up{service=\"shop\"} == 0",
    "nines_check_cert_expiry_days{check=\"tls\"} == 5",
    "nines_capacity_used{check=\"db1\",location=\"lab\",resource=\"memory\"} == 95",
    "nines_capacity_limit{check=\"db1\",location=\"lab\",resource=\"disk /data\"} == 100",
    "nines_capacity_used{check=\"self\",location=\"local\",resource=\"memory\"} > 0",
    "nines_check_http_responses_total{check=\"web\",code=\"200\"} > 0",
    "nines_check_location_results_total{check=\"ghost\",location=\"far\"} == 1",
    "nines_check_location_latency_seconds_count{check=\"ghost\",location=\"local\"} > 1",
    "nines_check_phase_seconds_count{check=\"web\",phase=\"connect\"} > 0",
    "nines_probe_silent{check=\"ghost\",location=\"far\"} == 1",
    "ALERTS{alertname=\"NinesErrorBudgetBurnFast\",service=\"shop\"}",
    "ALERTS{alertname=\"NinesSLABreached\",customer=\"acme\",sla=\"standard\"}",
    "ALERTS{alertname=\"NinesCapacityForecast\",check=\"db1\",resource=\"disk /data\"}",
};

Test(e2e_dashboards, every_expression_returns_series_from_a_real_prometheus, .timeout = 150)
{
    struct dash_world w;
    struct expr_set *s = calloc(1, sizeof(*s));
    char err[512], why[512];
    size_t nrules, missing = 0, step = 0;
    uint64_t deadline;

    cr_assert(not(eq(ptr, s, NULL)));
    collect_dashboards(s);
    nrules = collect_rules(s);
    /* and what the world must show through them */
    for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
        add_expr(s, "expected", facts[i]);
    world_open(&w);
    /* Every expression parses at once; series come as scrapes, rule
     * evaluations and the silence of "far" accumulate (bounded wait). The
     * disk of db1 keeps filling meanwhile, so its trend rises. */
    deadline = test_now_ms() + 90000;
    do {
        push_disk(&w, (int)++step);
        missing = 0;
        for (size_t i = 0; i < s->n; i++) {
            int n = prom_query(&w, s->e[i].text, err, sizeof(err));

            /* Prometheus still starting: not listening yet, or listening and
             * answering 503 until its storage is ready (seen under ASan) */
            if (n < 0 && (strstr(err, "HTTP -1") != NULL || strstr(err, "HTTP 503") != NULL))
                n = 0;
            cr_assert(ge(int, n, 0), "%s does not run: %s\n%s", s->e[i].where, err,
                      s->e[i].text);
            s->e[i].seen |= n > 0;
            missing += !s->e[i].seen && !s->e[i].optional;
        }
        if (missing > 0)
            test_sleep_ms(500);
    } while (missing > 0 && test_now_ms() < deadline);
    for (size_t i = 0; i < s->n; i++)
        cr_expect(s->e[i].seen || s->e[i].optional, "%s returned no series:\n%s",
                  s->e[i].where, s->e[i].text);
    cr_expect(eq(sz, missing, 0));
    /* Prometheus loaded the file and evaluates every rule without error */
    deadline = test_now_ms() + 10000;
    while (!rules_all_healthy(&w, why, sizeof(why), nrules) && test_now_ms() < deadline)
        test_sleep_ms(200);
    cr_expect(rules_all_healthy(&w, why, sizeof(why), nrules), "%s", why);
    world_close(&w);
    free_exprs(s);
    free(s);
}
