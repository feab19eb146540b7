/*
 * Canonical JSON of the report (docs/report-schema.md). The tree is built
 * with jansson and written by our own writer, because the bytes must be
 * stable and readable: keys sorted bytewise at every level, no whitespace,
 * integers for ms, numbers in the shortest text that reads back exactly
 * (99.9, not 99.900000000000006), strings escaped only where JSON requires
 * (", \ and control characters) with other UTF-8 passed through.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"

#define REPORT_JSON_FORMAT "nines-report/1"

/* A json_t the tree takes over; a NULL (allocation failure) marks the tree failed. */
static void report_json_put(json_t *o, const char *key, json_t *v, int *failed)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        *failed = 1;
}

static void report_json_append(json_t *a, json_t *v, int *failed)
{
    if (v == NULL || json_array_append_new(a, v) != 0)
        *failed = 1;
}

/* A number, or null for the "-1 = none" convention. */
static json_t *report_json_opt_real(double v)
{
    return v == -1.0 ? json_null() : json_real(v);
}

static json_t *report_json_opt_int(int64_t v)
{
    return v == -1 ? json_null() : json_integer(v);
}

/* "api, web" → ["api","web"]; "" → []. */
static json_t *report_json_list(const char *s, int *failed)
{
    json_t *a = json_array();
    const char *p = s;

    if (a == NULL) {
        *failed = 1;
        return NULL;
    }
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > 0)
            report_json_append(a, json_stringn(p, n), failed);
        if (end == NULL)
            break;
        p = end + 1;
    }
    return a;
}

static json_t *report_json_service(const struct report *r, const struct report_service *s,
                                   int *failed)
{
    json_t *o = json_object(), *daily = json_array(), *hist = json_array();
    int i;

    if (o == NULL || daily == NULL || hist == NULL) {
        json_decref(o);
        json_decref(daily);
        json_decref(hist);
        *failed = 1;
        return NULL;
    }
    report_json_put(o, "id", json_string(s->id), failed);
    report_json_put(o, "name", json_string(s->name), failed);
    report_json_put(o, "target_pct", json_real(s->target_pct), failed);
    report_json_put(o, "window_ms", json_integer(s->window_ms), failed);
    report_json_put(o, "eligible_ms", json_integer(s->eligible_ms), failed);
    report_json_put(o, "downtime_ms", json_integer(s->downtime_ms), failed);
    report_json_put(o, "maintenance_ms", json_integer(s->maintenance_ms), failed);
    report_json_put(o, "nodata_ms", json_integer(s->nodata_ms), failed);
    report_json_put(o, "availability_pct",
                    s->no_eligible_time ? json_null() : json_real(s->availability_pct), failed);
    report_json_put(o, "no_eligible_time", json_boolean(s->no_eligible_time), failed);
    report_json_put(o, "met", json_boolean(s->met), failed);
    report_json_put(o, "allowed_downtime_ms", json_integer(s->allowed_downtime_ms), failed);
    report_json_put(o, "budget_used_pct", report_json_opt_real(s->budget_used_pct), failed);
    report_json_put(o, "credit_pct", json_real(s->credit_pct), failed);
    report_json_put(o, "coverage_pct", report_json_opt_real(s->coverage_pct), failed);
    report_json_put(o, "p50_ms", report_json_opt_real(s->p50_ms), failed);
    report_json_put(o, "p95_ms", report_json_opt_real(s->p95_ms), failed);
    report_json_put(o, "p99_ms", report_json_opt_real(s->p99_ms), failed);
    for (i = 0; i < r->ndays; i++) {
        json_t *d = json_object();

        if (d != NULL) {
            report_json_put(d, "availability_pct",
                            report_json_opt_real(s->daily[i].availability_pct), failed);
            report_json_put(d, "downtime_ms", json_integer(s->daily[i].downtime_ms), failed);
            report_json_put(d, "p95_ms", report_json_opt_real(s->daily[i].p95_ms), failed);
        }
        report_json_append(daily, d, failed);
    }
    report_json_put(o, "daily", daily, failed);
    for (i = 0; i < REPORT_HISTORY; i++) {
        json_t *h = json_object();

        if (h != NULL) {
            report_json_put(h, "month", json_string(s->history[i].month), failed);
            report_json_put(h, "availability_pct",
                            report_json_opt_real(s->history[i].availability_pct), failed);
        }
        report_json_append(hist, h, failed);
    }
    report_json_put(o, "history", hist, failed);
    return o;
}

static json_t *report_json_incident(const struct report *r, const struct report_incident *x,
                                    int *failed)
{
    json_t *o = json_object();
    int64_t end = x->end_ms ? x->end_ms : r->to_ms;

    if (o == NULL) {
        *failed = 1;
        return NULL;
    }
    report_json_put(o, "id", json_string(x->id), failed);
    report_json_put(o, "check", json_string(x->check), failed);
    report_json_put(o, "services", report_json_list(x->services, failed), failed);
    report_json_put(o, "start_ms", json_integer(x->start_ms), failed);
    report_json_put(o, "end_ms", x->end_ms ? json_integer(x->end_ms) : json_null(), failed);
    report_json_put(o, "ongoing", json_boolean(x->end_ms == 0), failed);
    report_json_put(o, "duration_ms", json_integer(end - x->start_ms), failed);
    report_json_put(o, "cause", json_string(x->cause), failed);
    report_json_put(o, "acked_by", x->acked_by[0] ? json_string(x->acked_by) : json_null(),
                    failed);
    report_json_put(o, "acked_ms", x->acked_ms ? json_integer(x->acked_ms) : json_null(), failed);
    report_json_put(o, "caused_by", x->caused_by[0] ? json_string(x->caused_by) : json_null(),
                    failed);
    report_json_put(o, "maintenance",
                    x->maintenance[0] ? json_string(x->maintenance) : json_null(), failed);
    return o;
}

static json_t *report_json_maint(const struct report_maint *x, int *failed)
{
    json_t *o = json_object();

    if (o == NULL) {
        *failed = 1;
        return NULL;
    }
    report_json_put(o, "id", json_string(x->id), failed);
    report_json_put(o, "reason", json_string(x->reason), failed);
    report_json_put(o, "start_ms", json_integer(x->start_ms), failed);
    report_json_put(o, "end_ms", json_integer(x->end_ms), failed);
    report_json_put(o, "duration_ms", json_integer(x->end_ms - x->start_ms), failed);
    report_json_put(o, "services", report_json_list(x->services, failed), failed);
    return o;
}

static json_t *report_json_drill(const struct report_drill *x, int *failed)
{
    json_t *o = json_object();

    if (o == NULL) {
        *failed = 1;
        return NULL;
    }
    report_json_put(o, "id", json_string(x->id), failed);
    report_json_put(o, "service", json_string(x->service), failed);
    report_json_put(o, "scenario", json_string(x->scenario), failed);
    report_json_put(o, "start_ms", json_integer(x->start_ms), failed);
    report_json_put(o, "rto_ms", report_json_opt_int(x->rto_ms), failed);
    report_json_put(o, "rto_objective_ms", report_json_opt_int(x->rto_objective_ms), failed);
    report_json_put(o, "rpo_ms", report_json_opt_int(x->rpo_ms), failed);
    report_json_put(o, "rpo_objective_ms", report_json_opt_int(x->rpo_objective_ms), failed);
    report_json_put(o, "passed", json_boolean(x->passed), failed);
    report_json_put(o, "note", json_string(x->note), failed);
    return o;
}

static json_t *report_json_sla(const struct report *r, int *failed)
{
    json_t *o = json_object(), *tiers = json_array();
    size_t i;

    if (o == NULL || tiers == NULL) {
        json_decref(o);
        json_decref(tiers);
        *failed = 1;
        return NULL;
    }
    report_json_put(o, "name", json_string(r->sla.name), failed);
    report_json_put(o, "target_pct", json_real(r->sla.target_pct), failed);
    report_json_put(o, "business_hours", json_string(r->sla.business_hours), failed);
    report_json_put(o, "nodata_counts_down", json_boolean(r->sla.nodata_counts_down), failed);
    report_json_put(o, "maintenance_excluded", json_boolean(r->sla.maintenance_excluded), failed);
    for (i = 0; i < r->sla.tiers_count; i++) {
        json_t *t = json_object();

        if (t != NULL) {
            report_json_put(t, "below_pct", json_real(r->sla.tiers[i].below_pct), failed);
            report_json_put(t, "credit_pct", json_real(r->sla.tiers[i].credit_pct), failed);
        }
        report_json_append(tiers, t, failed);
    }
    report_json_put(o, "credit_tiers", tiers, failed);
    return o;
}

static json_t *report_json_days(const struct report *r, int *failed)
{
    struct nines_tz *tz = nines_tz_load(r->timezone, NULL); /* report_check loaded it */
    json_t *a = json_array();
    char date[16];
    int i;

    if (tz == NULL || a == NULL) {
        nines_tz_free(tz);
        json_decref(a);
        *failed = 1;
        return NULL;
    }
    for (i = 0; i < r->ndays; i++) {
        json_t *d = json_object();

        report_fmt_date(tz, r->day_start_ms[i], date, sizeof(date));
        if (d != NULL) {
            report_json_put(d, "date", json_string(date), failed);
            report_json_put(d, "start_ms", json_integer(r->day_start_ms[i]), failed);
        }
        report_json_append(a, d, failed);
    }
    nines_tz_free(tz);
    return a;
}

static json_t *report_json_kpis(const struct report *r, int *failed)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < r->kpis_count; i++)
        report_json_append(a, kpi_row_json(&r->kpis[i]), failed);
    return a;
}

static json_t *report_json_tree(const struct report *r, int with_meta, int *failed)
{
    json_t *o = json_object(), *cust = json_object();
    json_t *svcs = json_array(), *inc = json_array(), *mnt = json_array(), *dr = json_array();
    size_t i;

    report_json_put(o, "format", json_string(REPORT_JSON_FORMAT), failed);
    if (cust != NULL) {
        report_json_put(cust, "id", json_string(r->customer_id), failed);
        report_json_put(cust, "name", json_string(r->customer_name), failed);
        report_json_put(cust, "timezone", json_string(r->timezone), failed);
    }
    report_json_put(o, "customer", cust, failed);
    report_json_put(o, "month", json_string(r->month), failed);
    report_json_put(o, "from_ms", json_integer(r->from_ms), failed);
    report_json_put(o, "to_ms", json_integer(r->to_ms), failed);
    if (with_meta) {
        report_json_put(o, "generated_ms", json_integer(r->generated_ms), failed);
        report_json_put(o, "data_sha256", json_string(r->data_sha256), failed);
    }
    report_json_put(o, "sla", report_json_sla(r, failed), failed);
    report_json_put(o, "days", report_json_days(r, failed), failed);
    report_json_put(o, "overall", report_json_service(r, &r->overall, failed), failed);
    for (i = 0; svcs != NULL && i < r->services_count; i++)
        report_json_append(svcs, report_json_service(r, &r->services[i], failed), failed);
    report_json_put(o, "services", svcs, failed);
    for (i = 0; inc != NULL && i < r->incidents_count; i++)
        report_json_append(inc, report_json_incident(r, &r->incidents[i], failed), failed);
    report_json_put(o, "incidents", inc, failed);
    for (i = 0; mnt != NULL && i < r->maintenance_count; i++)
        report_json_append(mnt, report_json_maint(&r->maintenance[i], failed), failed);
    report_json_put(o, "maintenance", mnt, failed);
    for (i = 0; dr != NULL && i < r->drills_count; i++)
        report_json_append(dr, report_json_drill(&r->drills[i], failed), failed);
    report_json_put(o, "drills", dr, failed);
    report_json_put(o, "kpis", report_json_kpis(r, failed), failed);
    if (o == NULL)
        *failed = 1;
    return o;
}

static void report_json_write_string(struct report_buf *b, const char *s, size_t n)
{
    size_t i, run = 0;

    report_fmt_buf_add(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        report_fmt_buf_add(b, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof(esc), "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof(esc), "\\n");
        else if (c == '\t')
            snprintf(esc, sizeof(esc), "\\t");
        else
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        report_fmt_buf_puts(b, esc);
    }
    report_fmt_buf_add(b, s + run, n - run);
    report_fmt_buf_add(b, "\"", 1);
}

static int report_json_cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void report_json_write(struct report_buf *b, const json_t *v, int depth)
{
    char num[REPORT_FMT_LEN];
    size_t i, n;

    if (depth > 16) { /* our own tree is 5 deep: anything else is a bug */
        b->failed = NINES_EINVAL;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char **keys = malloc((json_object_size(v) + 1) * sizeof(*keys));
        const char *key;
        json_t *item;

        if (keys == NULL) {
            b->failed = NINES_ENOMEM;
            return;
        }
        n = 0;
        json_object_foreach((json_t *)v, key, item) keys[n++] = key;
        qsort(keys, n, sizeof(*keys), report_json_cmp_key);
        report_fmt_buf_add(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i > 0)
                report_fmt_buf_add(b, ",", 1);
            report_json_write_string(b, keys[i], strlen(keys[i]));
            report_fmt_buf_add(b, ":", 1);
            report_json_write(b, json_object_get(v, keys[i]), depth + 1);
        }
        report_fmt_buf_add(b, "}", 1);
        free(keys);
        break;
    }
    case JSON_ARRAY:
        report_fmt_buf_add(b, "[", 1);
        for (i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                report_fmt_buf_add(b, ",", 1);
            report_json_write(b, json_array_get(v, i), depth + 1);
        }
        report_fmt_buf_add(b, "]", 1);
        break;
    case JSON_STRING:
        report_json_write_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        report_fmt_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        report_fmt_exact(json_real_value(v), num, sizeof(num));
        report_fmt_buf_puts(b, num);
        break;
    case JSON_TRUE:
        report_fmt_buf_puts(b, "true");
        break;
    case JSON_FALSE:
        report_fmt_buf_puts(b, "false");
        break;
    case JSON_NULL:
        report_fmt_buf_puts(b, "null");
        break;
    }
}

int report_json_canonical(const struct report *r, int with_meta, struct report_buf *b,
                          struct nines_err *err)
{
    int failed = 0, rc;
    json_t *root;

    rc = report_check(r, err);
    if (rc != 0)
        return rc;
    root = report_json_tree(r, with_meta, &failed);
    if (!failed)
        report_json_write(b, root, 0);
    json_decref(root);
    if (failed || b->failed) {
        free(b->p);
        b->p = NULL;
        return nines_err_set(err, NINES_ENOMEM, "report: JSON: out of memory");
    }
    return 0;
}

int report_json(const struct report *r, char **out, size_t *len, struct nines_err *err)
{
    struct report_buf b = {0};
    int rc;

    *out = NULL;
    *len = 0;
    rc = report_json_canonical(r, 1, &b, err);
    if (rc != 0)
        return rc;
    report_fmt_buf_add(&b, "\n", 1);
    return report_fmt_buf_take(&b, out, len, err, "report: JSON");
}
