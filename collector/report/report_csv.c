/*
 * CSV exports (RFC 4180): a header row, CRLF after every record, a field
 * quoted when it holds a comma, quote, CR or LF (quotes doubled) or starts or
 * ends with a space. Figures are exact (shortest text that reads back as the
 * stored double, integers for ms); a missing figure is an empty field.
 * Times carry their UTC offset (ISO 8601) so they are unambiguous across DST.
 */
#include <stdio.h>
#include <string.h>

#include "report_fmt.h"

static void report_csv_field(struct report_buf *b, const char *s, int last)
{
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));

    if (!quote) {
        report_fmt_buf_add(b, s, n);
    } else {
        const char *q;

        report_fmt_buf_add(b, "\"", 1);
        while ((q = strchr(s, '"')) != NULL) {
            report_fmt_buf_add(b, s, (size_t)(q - s) + 1);
            report_fmt_buf_add(b, "\"", 1);
            s = q + 1;
        }
        report_fmt_buf_puts(b, s);
        report_fmt_buf_add(b, "\"", 1);
    }
    report_fmt_buf_puts(b, last ? "\r\n" : ",");
}

static void report_csv_num(struct report_buf *b, double v, int last)
{
    char num[REPORT_FMT_LEN];

    if (v == -1.0)
        num[0] = '\0';
    else
        report_fmt_exact(v, num, sizeof(num));
    report_csv_field(b, num, last);
}

static void report_csv_int(struct report_buf *b, int64_t v, int last)
{
    char num[32];

    snprintf(num, sizeof(num), "%lld", (long long)v);
    report_csv_field(b, num, last);
}

static void report_csv_service_days(struct report_buf *b, const struct report *r,
                                    const struct nines_tz *tz, const struct report_service *s,
                                    const char *id)
{
    char date[16];
    int k;

    for (k = 0; k < r->ndays; k++) {
        report_fmt_date(tz, r->day_start_ms[k], date, sizeof(date));
        report_csv_field(b, id, 0);
        report_csv_field(b, s->name, 0);
        report_csv_field(b, date, 0);
        report_csv_int(b, r->day_start_ms[k], 0);
        report_csv_int(b, k + 1 < r->ndays ? r->day_start_ms[k + 1] : r->to_ms, 0);
        report_csv_num(b, s->daily[k].availability_pct, 0);
        report_csv_int(b, s->daily[k].downtime_ms, 0);
        report_csv_num(b, s->daily[k].p95_ms, 1);
    }
}

int report_csv_daily(const struct report *r, char **out, size_t *len, struct nines_err *err)
{
    struct report_buf b = {0};
    struct nines_tz *tz;
    size_t i;
    int rc;

    *out = NULL;
    *len = 0;
    rc = report_check(r, err);
    if (rc != 0)
        return rc;
    tz = nines_tz_load(r->timezone, err);
    if (tz == NULL)
        return err ? err->code : NINES_EINVAL;
    report_fmt_buf_puts(&b, "service_id,service_name,date,day_start_ms,day_end_ms,"
                            "availability_pct,downtime_ms,p95_ms\r\n");
    for (i = 0; i < r->services_count; i++)
        report_csv_service_days(&b, r, tz, &r->services[i], r->services[i].id);
    report_csv_service_days(&b, r, tz, &r->overall, r->overall.id[0] ? r->overall.id : "overall");
    nines_tz_free(tz);
    return report_fmt_buf_take(&b, out, len, err, "report: daily CSV");
}

static void report_csv_incident(struct report_buf *b, const struct report *r,
                                const struct nines_tz *tz, const struct report_incident *x)
{
    char t[REPORT_FMT_LEN];

    report_csv_field(b, x->id, 0);
    report_csv_field(b, x->check, 0);
    report_csv_field(b, x->services, 0);
    report_fmt_iso(tz, x->start_ms, t, sizeof(t));
    report_csv_field(b, t, 0);
    if (x->end_ms)
        report_fmt_iso(tz, x->end_ms, t, sizeof(t));
    report_csv_field(b, x->end_ms ? t : "", 0);
    report_csv_int(b, x->start_ms, 0);
    if (x->end_ms)
        report_csv_int(b, x->end_ms, 0);
    else
        report_csv_field(b, "", 0);
    report_csv_int(b, (x->end_ms ? x->end_ms : r->to_ms) - x->start_ms, 0);
    report_csv_field(b, x->end_ms ? "resolved" : "ongoing", 0);
    report_csv_field(b, x->cause, 0);
    report_csv_field(b, x->acked_by, 0);
    if (x->acked_ms)
        report_fmt_iso(tz, x->acked_ms, t, sizeof(t));
    report_csv_field(b, x->acked_ms ? t : "", 0);
    report_csv_field(b, x->caused_by, 0);
    report_csv_field(b, x->maintenance, 1);
}

int report_csv_incidents(const struct report *r, char **out, size_t *len, struct nines_err *err)
{
    struct report_buf b = {0};
    struct nines_tz *tz;
    size_t i;
    int rc;

    *out = NULL;
    *len = 0;
    rc = report_check(r, err);
    if (rc != 0)
        return rc;
    tz = nines_tz_load(r->timezone, err);
    if (tz == NULL)
        return err ? err->code : NINES_EINVAL;
    report_fmt_buf_puts(&b, "id,check,services,start,end,start_ms,end_ms,duration_ms,status,"
                            "cause,acked_by,acked_at,caused_by,maintenance\r\n");
    for (i = 0; i < r->incidents_count; i++)
        report_csv_incident(&b, r, tz, &r->incidents[i]);
    nines_tz_free(tz);
    return report_fmt_buf_take(&b, out, len, err, "report: incidents CSV");
}

int report_csv_kpis(const struct report *r, char **out, size_t *len, struct nines_err *err)
{
    int rc;

    *out = NULL;
    *len = 0;
    if ((rc = report_check(r, err)) != 0)
        return rc;
    if (kpi_csv(r->kpis, r->kpis_count, out, len) != 0)
        return nines_err_set(err, NINES_ENOMEM, "report: KPI CSV: out of memory");
    return 0;
}
