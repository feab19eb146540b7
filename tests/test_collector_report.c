/*
 * The monthly report's renderers against a hand-built model: October 2026 in
 * Europe/Berlin (31 days and one 25-hour day), two services, 80 incidents
 * (one still open, causes with commas, quotes and newlines), a maintenance
 * window and a DR drill. Every output is read back by an independent reader:
 * jansson for JSON, xmllint for HTML, an RFC 4180 parser written here for
 * CSV, poppler's pdfinfo/pdftotext/pdffonts for PDF.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/err.h"
#include "proc.h"
#include "report.h"
#include "testutil.h"
#include "tz.h"

#define MAX_INCIDENTS 80
#define DAY_MS        INT64_C(86400000)
#define OUT_LEN       (1 << 20)

/* Each Criterion test runs in its own process: one fixture per process. */
static struct fixture {
    struct report r;
    struct report_service svc[2];
    struct report_incident inc[MAX_INCIDENTS];
    struct report_maint maint[1];
    struct report_drill drill[1];
    struct report_credit_tier tiers[2];
} fx;

/* Functions, not jansson's macros: Criterion's cr_assert cannot take those. */
static int is_null(const json_t *v)
{
    return json_is_null(v);
}

static int is_true(const json_t *v)
{
    return json_is_true(v);
}

static int is_false(const json_t *v)
{
    return json_is_false(v);
}

static const char tricky_cause[] = "http_status: 503 \"Service, Unavailable\"\nretry later";

/* Fills the figures of s from its integers, as the collector would. */
static void fill_service(struct report_service *s, const char *id, const char *name,
                         int64_t window, int64_t maint, int64_t down, int ndays)
{
    int k;

    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->target_pct = 99.9;
    s->window_ms = window;
    s->maintenance_ms = maint;
    s->eligible_ms = window - maint;
    s->downtime_ms = down;
    s->availability_pct = 100.0 * (1.0 - (double)down / (double)s->eligible_ms);
    s->met = s->availability_pct >= s->target_pct;
    s->allowed_downtime_ms = s->eligible_ms / 1000; /* 0.1 % */
    s->budget_used_pct = 100.0 * (double)down / (double)s->allowed_downtime_ms;
    s->credit_pct = s->met ? 0 : 10;
    s->coverage_pct = 100;
    s->p50_ms = 41.5;
    s->p95_ms = 120.25;
    s->p99_ms = 480;
    for (k = 0; k < ndays; k++) {
        s->daily[k].availability_pct = k == 24 ? 99.5 : 100;
        s->daily[k].downtime_ms = k == 24 ? down : 0;
        s->daily[k].p95_ms = k == 9 ? -1 : 100 + k;
    }
    for (k = 0; k < REPORT_HISTORY; k++) {
        snprintf(s->history[k].month, sizeof(s->history[k].month), "2026-%02d", 7 + k);
        s->history[k].availability_pct = k == 0 ? -1 : 99.95 + k * 0.01;
    }
}

static void fill_incident(struct report_incident *x, const struct report *r, int i)
{
    snprintf(x->id, sizeof(x->id), "inc-%03d", i);
    snprintf(x->check, sizeof(x->check), "%s", i % 2 ? "web-home" : "api-health");
    snprintf(x->services, sizeof(x->services), "%s", i % 2 ? "web" : "api, web");
    x->start_ms = r->from_ms + i * 9 * 3600000LL + 1234;
    x->end_ms = x->start_ms + (i + 1) * 61001LL;
    snprintf(x->cause, sizeof(x->cause), "%s", i == 3 ? tricky_cause : "connect_refused");
    if (i % 3 == 0) {
        snprintf(x->acked_by, sizeof(x->acked_by), "alice");
        x->acked_ms = x->start_ms + 60000;
    }
    if (i == 5)
        snprintf(x->caused_by, sizeof(x->caused_by), "db-primary");
}

static struct report *build(size_t nincidents)
{
    struct report *r = &fx.r;
    struct nines_tz *tz = nines_tz_load("Europe/Berlin", NULL);
    int64_t window;
    size_t i;
    int k;

    cr_assert(tz != NULL);
    memset(&fx, 0, sizeof(fx));
    snprintf(r->customer_id, sizeof(r->customer_id), "acme");
    snprintf(r->customer_name, sizeof(r->customer_name), "ACME <script>alert(1)</script> & Co");
    snprintf(r->timezone, sizeof(r->timezone), "Europe/Berlin");
    snprintf(r->month, sizeof(r->month), "2026-10");
    r->from_ms = nines_tz_month_start_utc_ms(tz, 2026, 10);
    r->to_ms = nines_tz_month_start_utc_ms(tz, 2026, 11);
    r->generated_ms = r->to_ms + 3 * 3600000LL + 17;
    r->ndays = 31;
    for (k = 0; k < 31; k++)
        r->day_start_ms[k] = nines_tz_day_start_utc_ms(tz, 2026, 10, k + 1);
    nines_tz_free(tz);
    window = r->to_ms - r->from_ms;
    cr_assert(eq(i64, window, 31 * DAY_MS + 3600000)); /* the 25-hour day */

    snprintf(r->sla.name, sizeof(r->sla.name), "Gold");
    r->sla.target_pct = 99.9;
    r->sla.maintenance_excluded = 1;
    fx.tiers[0] = (struct report_credit_tier){99.9, 10};
    fx.tiers[1] = (struct report_credit_tier){99, 25};
    r->sla.tiers = fx.tiers;
    r->sla.tiers_count = 2;
    /* 10 s of 2,674,800,000 ms: 99.99962..., which must show 99.999, not 100.000 */
    fill_service(&fx.svc[0], "api", "API", window, 2 * 3600000, 10000, 31);
    fill_service(&fx.svc[1], "web", "Web shop", window, 0, 5000000, 31);
    fill_service(&r->overall, "overall", "All services", window, 2 * 3600000, 5010000, 31);
    r->services = fx.svc;
    r->services_count = 2;
    for (i = 0; i < nincidents; i++)
        fill_incident(&fx.inc[i], r, (int)i);
    if (nincidents > 0)
        fx.inc[nincidents - 1].end_ms = 0; /* still open at the month's end */
    r->incidents = fx.inc;
    r->incidents_count = nincidents;
    snprintf(fx.maint[0].id, sizeof(fx.maint[0].id), "mw-1");
    snprintf(fx.maint[0].reason, sizeof(fx.maint[0].reason), "Database upgrade");
    snprintf(fx.maint[0].services, sizeof(fx.maint[0].services), "api");
    fx.maint[0].start_ms = r->day_start_ms[11] + 2 * 3600000;
    fx.maint[0].end_ms = fx.maint[0].start_ms + 2 * 3600000;
    r->maintenance = fx.maint;
    r->maintenance_count = 1;
    snprintf(fx.drill[0].id, sizeof(fx.drill[0].id), "drill-7");
    snprintf(fx.drill[0].service, sizeof(fx.drill[0].service), "api");
    snprintf(fx.drill[0].scenario, sizeof(fx.drill[0].scenario), "primary database failover");
    fx.drill[0].start_ms = r->day_start_ms[20] + 10 * 3600000;
    fx.drill[0].rto_ms = 245000;
    fx.drill[0].rto_objective_ms = 300000;
    fx.drill[0].rpo_ms = 1200;
    fx.drill[0].rpo_objective_ms = 5000;
    fx.drill[0].passed = 1;
    r->drills = fx.drill;
    r->drills_count = 1;
    return r;
}

static char *render_json(const struct report *r, size_t *len)
{
    struct nines_err err = {0};
    char *out = NULL;

    cr_assert(eq(int, report_json(r, &out, len, &err), 0), "%s", err.msg);
    cr_assert(out != NULL);
    return out;
}

Test(report_json, parses_and_round_trips_every_figure)
{
    struct report *r = build(MAX_INCIDENTS);
    json_error_t jerr;
    json_t *root, *api, *inc, *day;
    size_t len;
    char *text = render_json(r, &len);

    cr_assert(eq(sz, strlen(text), len));
    root = json_loads(text, 0, &jerr);
    cr_assert(root != NULL, "line %d: %s", jerr.line, jerr.text);
    cr_assert(
        eq(str, (char *)json_string_value(json_object_get(root, "format")), "nines-report/1"));
    cr_assert(eq(
        str, (char *)json_string_value(json_object_get(json_object_get(root, "customer"), "name")),
        r->customer_name));
    cr_assert(eq(i64, json_integer_value(json_object_get(root, "from_ms")), r->from_ms));
    cr_assert(eq(i64, json_integer_value(json_object_get(root, "generated_ms")), r->generated_ms));
    api = json_array_get(json_object_get(root, "services"), 0);
    cr_assert(eq(dbl, json_number_value(json_object_get(api, "availability_pct")),
                 fx.svc[0].availability_pct)); /* bit for bit */
    cr_assert(
        eq(i64, json_integer_value(json_object_get(api, "eligible_ms")), fx.svc[0].eligible_ms));
    cr_assert(eq(dbl, json_number_value(json_object_get(api, "budget_used_pct")),
                 fx.svc[0].budget_used_pct));
    cr_assert(
        is_false(json_object_get(json_array_get(json_object_get(root, "services"), 1), "met")));
    cr_assert(eq(sz, json_array_size(json_object_get(api, "daily")), 31));
    day = json_array_get(json_object_get(api, "daily"), 9);
    cr_assert(is_null(json_object_get(day, "p95_ms")), "-1 must be null");
    cr_assert(is_null(
        json_object_get(json_array_get(json_object_get(api, "history"), 0), "availability_pct")));
    day = json_array_get(json_object_get(root, "days"), 25);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(day, "date")), "2026-10-26"));
    cr_assert(eq(i64, json_integer_value(json_object_get(day, "start_ms")), r->day_start_ms[25]));
    cr_assert(eq(sz, json_array_size(json_object_get(root, "incidents")), MAX_INCIDENTS));
    inc = json_array_get(json_object_get(root, "incidents"), 3);
    cr_assert(
        eq(str, (char *)json_string_value(json_object_get(inc, "cause")), (char *)tricky_cause));
    cr_assert(eq(i64, json_integer_value(json_object_get(inc, "duration_ms")), 4 * 61001));
    cr_assert(
        eq(str,
           (char *)json_string_value(json_array_get(
               json_object_get(json_array_get(json_object_get(root, "incidents"), 0), "services"),
               1)),
           "web"));
    inc = json_array_get(json_object_get(root, "incidents"), MAX_INCIDENTS - 1);
    cr_assert(is_null(json_object_get(inc, "end_ms")));
    cr_assert(is_true(json_object_get(inc, "ongoing")));
    cr_assert(eq(i64, json_integer_value(json_object_get(inc, "duration_ms")),
                 r->to_ms - fx.inc[MAX_INCIDENTS - 1].start_ms));
    cr_assert(eq(i64,
                 json_integer_value(json_object_get(
                     json_array_get(json_object_get(root, "drills"), 0), "rto_ms")),
                 245000));
    /* shortest exact numbers, sorted keys, no spaces */
    cr_assert(strstr(text, "\"target_pct\":99.9,") != NULL);
    cr_assert(strstr(text, "\"customer\":{") < strstr(text, "\"data_sha256\":"));
    cr_assert(strstr(text, "\"data_sha256\":") < strstr(text, "\"days\":"));
    cr_assert(strstr(text, "\"drills\":") < strstr(text, "\"format\":"));
    cr_assert(strstr(text, ": ") == NULL || strstr(text, ": ") > strstr(text, "\"cause\""));
    json_decref(root);
    free(text);
}

Test(report_json, identical_bytes_across_renders)
{
    struct report *r = build(MAX_INCIDENTS);
    size_t la, lb;
    char *a = render_json(r, &la), *b = render_json(r, &lb);

    cr_assert(eq(sz, la, lb));
    cr_assert(memcmp(a, b, la) == 0);
    free(a);
    free(b);
}

Test(report_hash, stable_ignores_generated_changes_with_any_figure)
{
    struct report *r = build(MAX_INCIDENTS);
    struct nines_err err = {0};
    char first[REPORT_SHA256_HEX], json_hash[REPORT_SHA256_HEX];
    size_t len, i;
    char *text;

    cr_assert(eq(int, report_hash(r, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, strlen(r->data_sha256), 64));
    for (i = 0; i < 64; i++)
        cr_assert(strchr("0123456789abcdef", r->data_sha256[i]) != NULL);
    memcpy(first, r->data_sha256, sizeof(first));
    cr_assert(eq(int, report_hash(r, &err), 0));
    cr_assert(eq(str, r->data_sha256, first), "the stored hash must not feed the hash");

    r->generated_ms += 86400000;
    cr_assert(eq(int, report_hash(r, &err), 0));
    cr_assert(eq(str, r->data_sha256, first), "generated_ms must not change the hash");

    text = render_json(r, &len);
    snprintf(json_hash, sizeof(json_hash), "%.64s", strstr(text, "\"data_sha256\":\"") + 15);
    cr_assert(eq(str, json_hash, first), "the JSON carries the hash");
    free(text);

    fx.svc[1].daily[3].downtime_ms += 1;
    cr_assert(eq(int, report_hash(r, &err), 0));
    cr_assert(ne(str, r->data_sha256, first), "one ms more downtime on one day");
    fx.svc[1].daily[3].downtime_ms -= 1;
    snprintf(fx.inc[40].acked_by, sizeof(fx.inc[40].acked_by), "bob");
    cr_assert(eq(int, report_hash(r, &err), 0));
    cr_assert(ne(str, r->data_sha256, first), "who acknowledged an incident");
}

/* A model broken one way each time, and the field the error must name. */
struct bad_case {
    int which;
    char field[48];
};

static void break_model(struct report *r, int which)
{
    switch (which) {
    case 0:
        memcpy(r->customer_name, "bad \xff byte", 11);
        break;
    case 1:
        fx.svc[0].availability_pct = 99.9999;
        break;
    case 2:
        r->from_ms += 3600000;
        break;
    case 3:
        fx.inc[3].end_ms = fx.inc[3].start_ms - 1;
        break;
    case 4:
        memset(fx.inc[7].cause, 'x', sizeof(fx.inc[7].cause));
        break;
    case 5:
        snprintf(r->timezone, sizeof(r->timezone), "Mars/Olympus");
        break;
    case 6:
        r->overall.daily[30].availability_pct = 100.5;
        break;
    case 7:
        r->day_start_ms[25] -= 3600000;
        break; /* ignores the DST change */
    case 8:
        fx.svc[1].downtime_ms = fx.svc[1].eligible_ms + 1;
        break;
    case 9:
        r->sla.tiers_count = 3;
        r->sla.tiers = NULL;
        break;
    case 10:
        fx.svc[0].p95_ms = NAN;
        break;
    }
}

ParameterizedTestParameters(report_check, bad_models_are_refused_by_name)
{
    static struct bad_case cases[] = {
        {0, "customer_name"},
        {1, "services[0].availability_pct"},
        {2, "from_ms"},
        {3, "incidents[3].end_ms"},
        {4, "incidents[7].cause"},
        {5, "Mars/Olympus"},
        {6, "overall.daily[30]"},
        {7, "day_start_ms[25]"},
        {8, "services[1].downtime_ms"},
        {9, "sla.tiers"},
        {10, "services[0].p50_ms/p95_ms"},
    };

    return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, report_check, bad_models_are_refused_by_name)
{
    struct report *r = build(MAX_INCIDENTS);
    struct nines_err err = {0};
    char *out = (char *)1;
    size_t len = 1;

    break_model(r, c->which);
    cr_assert(eq(int, report_json(r, &out, &len, &err), NINES_EINVAL));
    cr_assert(out == NULL && len == 0);
    cr_assert(strstr(err.msg, c->field) != NULL, "case %d: \"%s\"", c->which, err.msg);
    cr_assert(eq(int, report_html(r, &out, &len, &err), NINES_EINVAL));
    cr_assert(eq(int, report_csv_incidents(r, &out, &len, &err), NINES_EINVAL));
    cr_assert(eq(int, report_pdf(r, "/nonexistent/never-written.pdf", &err), NINES_EINVAL));
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

static void write_in(const char *dir, const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    cr_assert(eq(int, test_write_file(path, text), 0));
}

Test(report_html, valid_escaped_self_contained, .timeout = 30)
{
    struct report *r = build(MAX_INCIDENTS);
    struct nines_err err = {0};
    char dir[256], path[512], out[4096], errout[4096];
    const char *p;
    size_t len;
    char *html;
    int code;

    cr_assert(eq(int, report_hash(r, &err), 0));
    cr_assert(eq(int, report_html(r, &html, &len, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, strlen(html), len));
    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    write_in(dir, "report.html", html, path, sizeof(path));
    {
        const char *argv[] = {"xmllint", "--html", "--noout", path, NULL};

        cr_assert(eq(
            int, proc_run_full(argv, NULL, out, sizeof(out), errout, sizeof(errout), 20000, &code),
            0));
    }
    cr_assert(eq(int, code, 0), "xmllint: %s", errout);
    cr_assert(eq(str, errout, ""), "xmllint reports: %s", errout);

    cr_assert(strstr(html, "<script") == NULL, "the hostile name must be escaped");
    cr_assert(strstr(html, "ACME &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co") != NULL);
    cr_assert(strstr(html, "<td>API</td><td>99.999 %</td>") != NULL,
              "API truncated, not rounded to 100.000");
    cr_assert(strstr(html, ">99.813 %<") != NULL, "Web shop");
    cr_assert(strstr(html, ">breached<") != NULL);
    cr_assert(strstr(html, "<td>10 % of the monthly fee</td>") != NULL, "10, not 1e+01");
    cr_assert(strstr(html, "1 h 23 min 20 s") != NULL, "web's downtime");
    cr_assert(strstr(html, "2026-10-01 00:00:00 CEST (UTC+02:00)") != NULL);
    cr_assert(strstr(html, "2026-11-01 00:00:00 CET (UTC+01:00)") != NULL);
    cr_assert(strstr(html, ">ongoing<") != NULL);
    cr_assert(strstr(html, "&quot;Service, Unavailable&quot;") != NULL);
    cr_assert(strstr(html, r->data_sha256) != NULL, "the footer's hash");
    cr_assert(strstr(html, "4 min 05 s (objective 5 min 00 s)") != NULL, "drill RTO");
    cr_assert(eq(int, count_of(html, "<img class=\"chart\""), 3), "2 daily + 1 latency");
    cr_assert(eq(int, count_of(html, "inc-0"), MAX_INCIDENTS));
    /* every src/href is inline data */
    for (p = html; (p = strstr(p, "src=\"")) != NULL; p++)
        cr_assert(strncmp(p + 5, "data:", 5) == 0, "src: %.40s", p);
    cr_assert(strstr(html, "href=") == NULL);
    cr_assert(strstr(html, "<link") == NULL && strstr(html, "@import") == NULL);
    free(html);
    test_rmtree(dir);
}

/*
 * An RFC 4180 reader: records end in CRLF, quoted fields may hold commas,
 * doubled quotes and line breaks. Returns the number of records, or -1 on a
 * syntax error (bare LF, quote inside an unquoted field, unterminated quote).
 * Fields are stored as rows[rec][field] (at most 16 fields of 600 bytes).
 */
#define CSV_FIELDS    16
#define CSV_FIELD_LEN 600
struct csv_row {
    int n;
    char f[CSV_FIELDS][CSV_FIELD_LEN];
};

static int csv_parse(const char *s, struct csv_row *rows, int max_rows)
{
    int nrec = 0;

    while (*s != '\0') {
        struct csv_row *row = &rows[nrec];
        size_t k;

        if (nrec == max_rows)
            return -1;
        row->n = 0;
        for (;;) {
            char *f = row->f[row->n];

            if (row->n == CSV_FIELDS)
                return -1;
            k = 0;
            if (*s == '"') {
                for (s++;; s++) {
                    if (*s == '\0')
                        return -1;
                    if (*s == '"' && s[1] != '"')
                        break;
                    if (*s == '"')
                        s++;
                    if (k + 1 < CSV_FIELD_LEN)
                        f[k++] = *s;
                }
                s++;
            } else {
                for (; *s != ',' && *s != '\r' && *s != '\0'; s++) {
                    if (*s == '"' || *s == '\n')
                        return -1;
                    if (k + 1 < CSV_FIELD_LEN)
                        f[k++] = *s;
                }
            }
            f[k] = '\0';
            row->n++;
            if (*s == ',') {
                s++;
                continue;
            }
            if (s[0] != '\r' || s[1] != '\n')
                return -1;
            s += 2;
            break;
        }
        nrec++;
    }
    return nrec;
}

Test(report_csv, incidents_parse_back)
{
    struct report *r = build(MAX_INCIDENTS);
    struct nines_err err = {0};
    struct csv_row *rows = calloc(MAX_INCIDENTS + 2, sizeof(*rows));
    size_t len;
    char *csv;
    int n, i;

    cr_assert(rows != NULL);
    cr_assert(eq(int, report_csv_incidents(r, &csv, &len, &err), 0), "%s", err.msg);
    n = csv_parse(csv, rows, MAX_INCIDENTS + 2);
    cr_assert(eq(int, n, MAX_INCIDENTS + 1), "header + one record per incident");
    cr_assert(eq(int, rows[0].n, 14));
    cr_assert(eq(str, rows[0].f[0], "id"));
    cr_assert(eq(str, rows[0].f[9], "cause"));
    for (i = 1; i < n; i++)
        cr_assert(eq(int, rows[i].n, 14), "record %d", i);
    cr_assert(eq(str, rows[4].f[9], (char *)tricky_cause), "quotes, comma, newline");
    cr_assert(eq(str, rows[1].f[2], "api, web"));
    cr_assert(eq(i64, strtoll(rows[1].f[5], NULL, 10), fx.inc[0].start_ms));
    cr_assert(eq(str, rows[1].f[3], "2026-10-01T00:00:01.234+02:00"));
    cr_assert(eq(str, rows[n - 1].f[8], "ongoing"));
    cr_assert(eq(str, rows[n - 1].f[4], ""));
    cr_assert(eq(str, rows[1].f[10], "alice"));
    cr_assert(eq(str, rows[6].f[12], "db-primary"));
    free(csv);
    free(rows);
}

Test(report_csv, daily_parse_back)
{
    struct report *r = build(3);
    struct nines_err err = {0};
    struct csv_row *rows = calloc(3 * 31 + 2, sizeof(*rows));
    size_t len;
    char *csv;
    int n;

    cr_assert(rows != NULL);
    cr_assert(eq(int, report_csv_daily(r, &csv, &len, &err), 0), "%s", err.msg);
    n = csv_parse(csv, rows, 3 * 31 + 2);
    cr_assert(eq(int, n, 3 * 31 + 1), "header + 31 days of api, web and overall");
    cr_assert(eq(int, rows[0].n, 8));
    cr_assert(eq(str, rows[1].f[0], "api"));
    cr_assert(eq(str, rows[1].f[2], "2026-10-01"));
    /* day 25 lasts 25 hours */
    cr_assert(eq(str, rows[25].f[2], "2026-10-25"));
    cr_assert(eq(i64, strtoll(rows[25].f[4], NULL, 10) - strtoll(rows[25].f[3], NULL, 10),
                 25 * 3600000LL));
    cr_assert(eq(dbl, strtod(rows[25].f[5], NULL), 99.5));
    cr_assert(eq(str, rows[10].f[7], ""), "no latency that day");
    cr_assert(eq(str, rows[32].f[0], "web"));
    cr_assert(eq(str, rows[3 * 31].f[0], "overall"));
    free(csv);
    free(rows);
}

static int pdf_pages(const char *info)
{
    const char *p = strstr(info, "\nPages:");

    cr_assert(p != NULL, "pdfinfo: %s", info);
    return atoi(p + 7);
}

static void run_tool(const char *tool, const char *arg1, const char *path, char *out, size_t len)
{
    const char *argv[] = {tool, arg1, path, arg1 ? "-" : NULL, NULL};
    const char *argv1[] = {tool, path, NULL};
    int code;

    cr_assert(eq(int, proc_run(arg1 ? argv : argv1, out, len, 30000, &code), 0), "%s", tool);
    cr_assert(eq(int, code, 0), "%s exited %d", tool, code);
}

static int render_pdf_pages(struct report *r, const char *path, char *out, size_t len)
{
    struct nines_err err = {0};

    cr_assert(eq(int, report_pdf(r, path, &err), 0), "%s", err.msg);
    run_tool("pdfinfo", NULL, path, out, len);
    return pdf_pages(out);
}

Test(report_pdf, a4_paged_numbered_fonts_embedded, .timeout = 60)
{
    struct report *r = build(MAX_INCIDENTS);
    struct nines_err err = {0};
    char dir[256], path[512], footer[64];
    char *out = malloc(OUT_LEN);
    int pages, few, k;

    cr_assert(out != NULL);
    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/few.pdf", dir);
    few = render_pdf_pages(build(3), path, out, OUT_LEN);

    r = build(MAX_INCIDENTS);
    cr_assert(eq(int, report_hash(r, &err), 0));
    snprintf(path, sizeof(path), "%s/report.pdf", dir);
    pages = render_pdf_pages(r, path, out, OUT_LEN);
    cr_assert(strstr(out, "595.28 x 841.89 pts (A4)") != NULL, "pdfinfo: %s", out);
    cr_assert(strstr(out, "Author:          nines") != NULL, "pdfinfo: %s", out);
    cr_assert(strstr(out, "Title:           SLA report 2026-10: ACME <script>") != NULL);
    /* generated 2026-11-01 03:00:00.017 local = 02:00:00 UTC */
    cr_assert(strstr(out, "CreationDate:") != NULL);
    cr_assert(gt(int, pages, 1));
    /* 77 more incidents take at least one more page: no row is ever dropped */
    cr_assert(gt(int, pages, few), "%d pages for 80 incidents, %d for 3", pages, few);

    run_tool("pdftotext", "-layout", path, out, OUT_LEN);
    cr_assert(strstr(out, "99.999 %") != NULL, "API availability");
    cr_assert(strstr(out, "99.813 %") != NULL, "Web shop availability");
    for (k = 1; k <= pages; k++) {
        snprintf(footer, sizeof(footer), "Page %d of %d", k, pages);
        cr_assert(eq(int, count_of(out, footer), 1), "%s", footer);
    }
    cr_assert(eq(int, count_of(out, "Page "), pages));
    for (k = 0; k < MAX_INCIDENTS; k++) {
        snprintf(footer, sizeof(footer), "inc-%03d", k);
        cr_assert(strstr(out, footer) != NULL, "%s is in the PDF", footer);
    }
    cr_assert(strstr(out, r->data_sha256) != NULL || strstr(out, "Data SHA-256") != NULL);

    run_tool("pdffonts", NULL, path, out, OUT_LEN);
    cr_assert(strstr(out, "DejaVuSans") != NULL, "pdffonts: %s", out);
    {
        /* every font row says emb = yes: "name type encoding emb sub uni object ID" */
        char *line = strstr(out, "\n---");
        int fonts = 0;

        cr_assert(line != NULL);
        for (line = strchr(line + 1, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
            fonts++;
            cr_assert(strstr(line, " yes ") != NULL, "not embedded: %.80s", line + 1);
        }
        cr_assert(gt(int, fonts, 0));
    }
    free(out);
    test_rmtree(dir);
}

Test(report_pdf, unwritable_path_is_an_io_error_naming_it)
{
    struct report *r = build(3);
    struct nines_err err = {0};

    cr_assert(eq(int, report_pdf(r, "/nonexistent-dir/r.pdf", &err), NINES_EIO));
    cr_assert(strstr(err.msg, "/nonexistent-dir/r.pdf") != NULL, "%s", err.msg);
}

/* The KPI section: in the hashed JSON, as a table in HTML, and as CSV. */
Test(report_kpis, json_hash_html_and_csv_carry_the_rows)
{
    struct report *r = build(3);
    struct kpi_row k[2];
    struct nines_err err = {0};
    char first[REPORT_SHA256_HEX], *text = NULL;
    size_t len = 0;
    json_t *doc, *rows;

    for (int i = 0; i < 2; i++) {
        kpi_row_init(&k[i], 0);
        snprintf(k[i].customer, sizeof(k[i].customer), "acme");
        snprintf(k[i].service, sizeof(k[i].service), "%s", i ? "web" : "api");
        snprintf(k[i].month, sizeof(k[i].month), "2026-10");
    }
    k[0].incidents = 2;
    k[0].mttr_ms = 2700000;
    k[1].forecasts_raised = 1;
    k[1].forecast_lead_min_ms = 5 * 3600000;
    r->kpis = k;
    r->kpis_count = 2;

    text = render_json(r, &len);
    doc = json_loads(text, 0, NULL);
    cr_assert(ne(ptr, doc, NULL));
    rows = json_object_get(doc, "kpis");
    cr_assert(eq(sz, json_array_size(rows), 2));
    cr_expect(eq(i64, json_integer_value(json_object_get(json_array_get(rows, 0), "mttr_ms")),
                 2700000));
    cr_expect(eq(i64, json_integer_value(json_object_get(json_array_get(rows, 1),
                                                         "forecasts_raised")), 1));
    json_decref(doc);
    free(text);

    cr_assert(eq(int, report_hash(r, &err), 0), "%s", err.msg);
    memcpy(first, r->data_sha256, sizeof(first));
    k[0].mttr_ms += 1;
    cr_assert(eq(int, report_hash(r, &err), 0));
    cr_expect(ne(str, r->data_sha256, first), "the KPIs are part of the hashed data");
    k[0].mttr_ms -= 1;

    cr_assert(eq(int, report_html(r, &text, &len, &err), 0), "%s", err.msg);
    cr_expect(ne(ptr, strstr(text, "Operational KPIs"), NULL));
    cr_expect(ne(ptr, strstr(text, "Ack in target"), NULL));
    cr_expect(ne(ptr, strstr(text, "1 (earliest"), NULL), "web's forecast");
    free(text);

    cr_assert(eq(int, report_csv_kpis(r, &text, &len, &err), 0), "%s", err.msg);
    cr_expect(ne(ptr, strstr(text, "\r\nacme,api,2026-10,"), NULL), "%s", text);
    cr_expect(ne(ptr, strstr(text, "\r\nacme,web,2026-10,"), NULL), "%s", text);
    free(text);
}
