/*
 * The import parser on crafted files: both formats with every column form,
 * CRLF, quoted commas, quotes and line breaks, a byte-order mark, one table
 * per format of bad records (each error with its line), header errors, ids
 * checked against SHA-256 computed here from the documented definition,
 * RFC 3339 against timegm, and a generated 100,000-line file.
 * Files are tmpfile()s: they vanish when closed or when the test exits.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nines/err.h"
#include "nines/import.h"
#include "nines/result.h"
#include "testutil.h"

#define MAX_ROWS 64
#define MAX_ERRS 64

struct run {
    int open_rc;
    struct nines_err open_err;
    enum nines_import_format format;
    int nres, nerr, end_rc;
    struct nines_result res[MAX_ROWS];
    struct nines_err errs[MAX_ERRS];
};

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * 1000;
}

static int64_t now_ms(void)
{
    return utc_ms(2026, 11, 28, 0, 0, 0);
}

static FILE *file_of(const char *content, size_t len)
{
    FILE *f = tmpfile();

    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(sz, fwrite(content, 1, len, f), len));
    rewind(f);
    return f;
}

/* Parses content to the end, keeping every result and every error. */
static struct run *parse_n(const char *content, size_t len, enum nines_import_format fmt,
                           nines_import_known_fn *known)
{
    struct run *r = calloc(1, sizeof(*r));
    struct nines_import *im = NULL;
    FILE *f = file_of(content, len);
    int rc, guard;

    cr_assert(ne(ptr, r, NULL));
    r->open_rc = nines_import_open(f, "data.in", fmt, now_ms(), &im, &r->open_err);
    if (r->open_rc != 0) {
        cr_assert(eq(ptr, im, NULL));
        fclose(f);
        return r;
    }
    r->format = nines_import_format_of(im);
    nines_import_set_known(im, known, NULL);
    for (guard = 0; guard < MAX_ROWS + MAX_ERRS; guard++) {
        struct nines_result res;
        struct nines_err err;

        memset(&err, 0, sizeof(err));
        rc = nines_import_next(im, &res, &err);
        if (rc == 1) {
            cr_assert(lt(int, r->nres, MAX_ROWS));
            r->res[r->nres++] = res;
        } else if (rc == NINES_EINVAL) {
            cr_assert(lt(int, r->nerr, MAX_ERRS));
            r->errs[r->nerr++] = err;
        } else {
            r->end_rc = rc;
            break;
        }
    }
    cr_assert(lt(int, guard, MAX_ROWS + MAX_ERRS), "never ended");
    nines_import_free(im);
    fclose(f);
    return r;
}

static struct run *parse(const char *content, enum nines_import_format fmt)
{
    return parse_n(content, strlen(content), fmt, NULL);
}

static void dump(const struct run *r)
{
    char buf[600];
    int i;

    for (i = 0; i < r->nerr; i++)
        fprintf(stderr, "  %s\n", nines_err_format(&r->errs[i], buf, sizeof(buf)));
}

/* ---- both formats, every column form ---- */

Test(import, csv_every_column_form)
{
    /* Columns in an unusual order, CRLF line ends, a quoted comma, "" quotes,
     * a line break inside quotes; empty optional fields. */
    const char *csv =
        "message,ok,timestamp,latency,location,reason,check,code,probe\r\n"
        "\"down, says \"\"nginx\"\"\",false,2026-10-03T12:00:00.250Z,12.5,fra,http_status,"
        "web,503,p1\r\n"
        ",true,2026-10-03T14:00:00+02:00,3,fra,,web,,\r\n"
        "\"two\nlines\",0,1790000000123,0.0004,\"ams\",,api,0,\r\n"
        ",1,2026-10-03t12:00:00.9999-01:30,0.0005,ams,,api,,\r\n"
        ",TRUE,2026-10-03 12:00:00Z,,ams,,api,,\r\n";
    struct run *r = parse(csv, NINES_IMPORT_AUTO);

    cr_assert(eq(int, r->open_rc, 0));
    cr_assert(eq(int, r->format, NINES_IMPORT_CSV));
    dump(r);
    cr_assert(eq(int, r->nerr, 0));
    cr_assert(eq(int, r->nres, 5));
    cr_assert(eq(int, r->end_rc, 0));

    cr_assert(eq(str, r->res[0].check_id, "web"));
    cr_assert(eq(str, r->res[0].location, "fra"));
    cr_assert(eq(str, r->res[0].probe, "p1"));
    cr_assert(eq(i64, r->res[0].start_ms, utc_ms(2026, 10, 3, 12, 0, 0) + 250));
    cr_assert(eq(int, r->res[0].outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(i64, r->res[0].total_us, 12500));
    cr_assert(eq(int, r->res[0].code, 503));
    cr_assert(eq(str, r->res[0].reason, "http_status"));
    cr_assert(eq(str, r->res[0].message, "down, says \"nginx\""));

    cr_assert(eq(i64, r->res[1].start_ms, utc_ms(2026, 10, 3, 12, 0, 0)));
    cr_assert(eq(int, r->res[1].outcome, NINES_OUTCOME_OK));
    cr_assert(eq(i64, r->res[1].total_us, 3000));
    cr_assert(eq(int, r->res[1].code, 0));
    cr_assert(eq(str, r->res[1].probe, "import"));
    cr_assert(eq(str, r->res[1].reason, ""));
    cr_assert(eq(str, r->res[1].message, ""));

    cr_assert(eq(str, r->res[2].message, "two\nlines"));
    cr_assert(eq(str, r->res[2].location, "ams"));
    cr_assert(eq(i64, r->res[2].start_ms, INT64_C(1790000000123)));
    cr_assert(eq(int, r->res[2].outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(i64, r->res[2].total_us, 0)); /* 0.4 µs rounds down */

    /* 12:00:00.9999 at −01:30 is 13:30:00.999 UTC: the fraction is cut, not rounded */
    cr_assert(eq(i64, r->res[3].start_ms, utc_ms(2026, 10, 3, 13, 30, 0) + 999));
    cr_assert(eq(i64, r->res[3].total_us, 1)); /* 0.5 µs rounds up */
    cr_assert(eq(int, r->res[3].outcome, NINES_OUTCOME_OK));

    cr_assert(eq(i64, r->res[4].start_ms, utc_ms(2026, 10, 3, 12, 0, 0)));
    cr_assert(eq(i64, r->res[4].total_us, -1)); /* not given */
    cr_assert(eq(int, r->res[4].outcome, NINES_OUTCOME_OK));
    free(r);
}

Test(import, jsonl_every_column_form)
{
    const char *jl =
        "{\"check\":\"web\",\"location\":\"fra\",\"timestamp\":\"2026-10-03T12:00:00.250Z\","
        "\"ok\":false,\"latency\":12.5,\"reason\":\"timeout\",\"probe\":\"p1\",\"code\":0,"
        "\"message\":\"took \\\"long\\\", \\u00e9\"}\n"
        "{\"ok\":true,\"timestamp\":1790000000123,\"location\":\"ams\",\"check\":\"api\","
        "\"latency\":7,\"reason\":null,\"message\":null,\"code\":null,\"probe\":null}\n"
        "  \t \n"
        "{\"check\":\"api\",\"location\":\"ams\",\"timestamp\":\"2026-10-03T14:00:00+02:00\","
        "\"ok\":0,\"code\":404}\r\n"
        "{\"check\":\"api\",\"location\":\"ams\",\"timestamp\":\"1790000000000\",\"ok\":1,"
        "\"latency\":0.0015}";
    struct run *r = parse(jl, NINES_IMPORT_AUTO);

    cr_assert(eq(int, r->open_rc, 0));
    cr_assert(eq(int, r->format, NINES_IMPORT_JSONL));
    dump(r);
    cr_assert(eq(int, r->nerr, 0));
    cr_assert(eq(int, r->nres, 4));

    cr_assert(eq(str, r->res[0].check_id, "web"));
    cr_assert(eq(str, r->res[0].probe, "p1"));
    cr_assert(eq(i64, r->res[0].start_ms, utc_ms(2026, 10, 3, 12, 0, 0) + 250));
    cr_assert(eq(int, r->res[0].outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(i64, r->res[0].total_us, 12500));
    cr_assert(eq(str, r->res[0].reason, "timeout"));
    cr_assert(eq(str, r->res[0].message, "took \"long\", \xc3\xa9"));

    cr_assert(eq(i64, r->res[1].start_ms, INT64_C(1790000000123)));
    cr_assert(eq(int, r->res[1].outcome, NINES_OUTCOME_OK));
    cr_assert(eq(i64, r->res[1].total_us, 7000));
    cr_assert(eq(str, r->res[1].probe, "import"));

    cr_assert(eq(i64, r->res[2].start_ms, utc_ms(2026, 10, 3, 12, 0, 0)));
    cr_assert(eq(int, r->res[2].outcome, NINES_OUTCOME_FAIL));
    cr_assert(eq(int, r->res[2].code, 404));
    cr_assert(eq(i64, r->res[2].total_us, -1));

    cr_assert(eq(i64, r->res[3].start_ms, INT64_C(1790000000000)));
    cr_assert(eq(i64, r->res[3].total_us, 2)); /* 1.5 µs, half up */
    free(r);
}

/* The same rows in both formats give the same results, ids included. */
Test(import, both_formats_agree)
{
    const char *csv = "check,location,timestamp,ok,latency,code\n"
                      "web,fra,2026-10-03T12:00:00.250Z,false,12.5,503\n";
    const char *jl = "{\"check\":\"web\",\"location\":\"fra\",\"timestamp\":1790000000000,"
                     "\"ok\":false,\"latency\":12.5,\"code\":503}\n";
    char csv2[200];
    struct run *a, *b;

    snprintf(csv2, sizeof(csv2), "check,location,timestamp,ok,latency,code\n"
                                 "web,fra,1790000000000,false,12.5,503\n");
    a = parse(csv2, NINES_IMPORT_AUTO);
    b = parse(jl, NINES_IMPORT_AUTO);
    cr_assert(eq(int, a->nres, 1));
    cr_assert(eq(int, b->nres, 1));
    cr_assert(eq(int, memcmp(&a->res[0], &b->res[0], sizeof(a->res[0])), 0));
    free(a);
    free(b);
    a = parse(csv, NINES_IMPORT_CSV);
    cr_assert(eq(int, a->nres, 1));
    free(a);
}

/* A byte-order mark and blank lines before the first record, in both formats. */
Test(import, bom_and_leading_blank_lines)
{
    struct run *r;

    r = parse("\xEF\xBB\xBF\n\ncheck,location,timestamp,ok\nweb,fra,1000,1\nweb,fra,x,1\n",
              NINES_IMPORT_AUTO);
    cr_assert(eq(int, r->open_rc, 0));
    cr_assert(eq(int, r->format, NINES_IMPORT_CSV));
    cr_assert(eq(int, r->nres, 1));
    cr_assert(eq(str, r->res[0].check_id, "web")); /* not "\xEF\xBB\xBFweb" */
    cr_assert(eq(int, r->nerr, 1));
    cr_assert(eq(int, r->errs[0].line, 5));
    free(r);

    r = parse("\xEF\xBB\xBF\r\n{\"check\":\"web\",\"location\":\"fra\",\"timestamp\":1000,"
              "\"ok\":true}\n",
              NINES_IMPORT_AUTO);
    cr_assert(eq(int, r->format, NINES_IMPORT_JSONL));
    cr_assert(eq(int, r->nres, 1));
    free(r);

    /* only a BOM and blank lines: nothing to import, in either format */
    r = parse("\xEF\xBB\xBF\n  \n", NINES_IMPORT_CSV);
    cr_assert(eq(int, r->open_rc, 0));
    cr_assert(eq(int, r->nres + r->nerr, 0));
    free(r);
    r = parse("", NINES_IMPORT_AUTO);
    cr_assert(eq(int, r->open_rc, 0));
    cr_assert(eq(int, r->nres + r->nerr, 0));
    free(r);
}

/* ---- errors, each with its line ---- */

struct bad_row {
    char row[96];
    char expect[64]; /* "" = a good row */
    int column;      /* expected column, 0 = not checked */
};

static void check_table(const char *head, const struct bad_row *rows, size_t n,
                        enum nines_import_format fmt, int first_line)
{
    char *file = malloc(16384);
    size_t i, used = 0;
    int nerr = 0, ngood = 0;
    struct run *r;

    cr_assert(ne(ptr, file, NULL));
    used = (size_t)snprintf(file, 16384, "%s", head);
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(file + used, 16384 - used, "%s\n", rows[i].row);
    r = parse_n(file, used, fmt, NULL);
    cr_assert(eq(int, r->open_rc, 0), "%s", r->open_err.msg);
    for (i = 0; i < n; i++) {
        char buf[600];

        if (rows[i].expect[0] == '\0') {
            ngood++;
            continue;
        }
        cr_assert(lt(int, nerr, r->nerr), "row %zu (%s) gave no error", i, rows[i].row);
        nines_err_format(&r->errs[nerr], buf, sizeof(buf));
        cr_expect(eq(int, r->errs[nerr].code, NINES_EINVAL));
        cr_expect(eq(int, r->errs[nerr].line, first_line + (int)i), "row %zu: %s", i, buf);
        cr_expect(eq(str, r->errs[nerr].file, "data.in"));
        cr_expect(ne(ptr, strstr(r->errs[nerr].msg, rows[i].expect), NULL),
                  "row %zu: wanted '%s', got %s", i, rows[i].expect, buf);
        if (rows[i].column != 0)
            cr_expect(eq(int, r->errs[nerr].column, rows[i].column), "row %zu: %s", i, buf);
        nerr++;
    }
    if (r->nerr != nerr || r->nres != ngood)
        dump(r);
    cr_assert(eq(int, r->nerr, nerr));
    cr_assert(eq(int, r->nres, ngood));
    cr_assert(eq(int, r->end_rc, 0));
    free(r);
    free(file);
}

Test(import, csv_errors_name_line_and_field)
{
    static const struct bad_row rows[] = {
        { "web,fra,2026-10-03T12:00:00Z,1,", "", 0 },
        { "web,fra,yesterday,1,", "timestamp: not RFC 3339 or epoch ms: 'yesterday'", 9 },
        { "web,fra,2026-02-29T12:00:00Z,1,", "timestamp: not RFC 3339", 0 },
        { "web,fra,2026-10-03T24:00:00Z,1,", "timestamp: not RFC 3339", 0 },
        { "web,fra,2026-10-03T12:00:00,1,", "timestamp: not RFC 3339", 0 },
        { "web,fra,2026-10-03T12:00:00+2:00,1,", "timestamp: not RFC 3339", 0 },
        { "web,fra,2026-10-03T12:00:00.Z,1,", "timestamp: not RFC 3339", 0 },
        { "web,fra,2026-10-03T12:00:60Z,1,", "timestamp: not RFC 3339", 0 },
        { "web,fra,2027-01-01T00:00:00Z,1,", "timestamp: '2027-01-01T00:00:00Z' is in the future",
          0 },
        { "web,fra,1969-12-31T23:59:59Z,1,", "before 1970", 0 },
        { "web,fra,99999999999999999999,1,", "in the future", 0 },
        { ",fra,1000,1,", "check: empty", 1 },
        { "web,,1000,1,", "location: empty", 5 },
        { "web,fra,1000,yes,", "ok: must be true, false, 1 or 0, not 'yes'", 14 },
        { "web,fra,1000,,", "ok: empty", 0 },
        { "web,fra,1000,1,-1", "latency: not milliseconds", 16 },
        { "web,fra,1000,1,1e3", "latency: not milliseconds", 0 },
        { "web,fra,1000,1,12.", "latency: not milliseconds", 0 },
        { "web,fra,1000,1,86400000.001", "latency: not milliseconds", 0 },
        { "web,fra,1000,1,86400000", "", 0 },
        { "web,fra,1000,1", "4 fields, the header has 5", 0 },
        { "web,fra,1000,1,,", "6 fields, the header has 5", 0 },
        { "web,\"fra\"x,1000,1,", "text after the closing quote", 10 },
        { "web,fr\"a,1000,1,", "a quote inside an unquoted field", 7 },
        { "web,fra\r,1000,1,", "a CR not followed by LF", 8 },
        { "0123456789012345678901234567890123456789012345678901234567890123,fra,1000,1,",
          "check: longer than 63 bytes", 0 },
        { "w\xC3,fra,1000,1,", "check: not valid UTF-8", 0 },
        { "w\xC0\xAF,fra,1000,1,", "check: not valid UTF-8", 0 }, /* overlong '/' */
        { "\"w\te\",fra,1000,1,", "check: contains a control character", 0 },
        { "web,fra,1000,1,1.5", "", 0 },
    };

    check_table("check,location,timestamp,ok,latency\n", rows, sizeof(rows) / sizeof(rows[0]),
                NINES_IMPORT_CSV, 2);
}

Test(import, csv_optional_field_errors)
{
    static const struct bad_row rows[] = {
        { "web,fra,1000,0,timeout,504,p1,hi", "", 0 },
        { "web,fra,1000,1,timeout,,,", "reason: given for an ok result", 0 },
        { "web,fra,1000,0,Time Out,,,", "reason: only a-z", 0 },
        { "web,fra,1000,0,,x,,", "code: not an integer", 0 },
        { "web,fra,1000,0,,1234567890,,", "code: not an integer", 0 },
        { "web,fra,1000,0,,-1,,", "code: not an integer", 0 },
        { "web,fra,1000,0,,,p\x01,", "probe: contains a control character", 0 },
        { "web,fra,1000,0,,,,\xff", "message: not valid UTF-8", 0 },
        { "web,fra,1000,0,,999999999,,", "", 0 },
    };

    check_table("check,location,timestamp,ok,reason,code,probe,message\n", rows,
                sizeof(rows) / sizeof(rows[0]), NINES_IMPORT_CSV, 2);
}

Test(import, jsonl_errors_name_line_and_field)
{
    static const struct bad_row rows[] = {
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":true}", "", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":true", "not JSON", 0 },
        { "[1,2]", "not a JSON object", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":true,\"x\":1}",
          "unknown field 'x'", 0 },
        { "{\"check\":\"w\",\"check\":\"v\",\"location\":\"f\",\"timestamp\":1000,\"ok\":1}",
          "not JSON: duplicate", 0 },
        { "{\"check\":7,\"location\":\"f\",\"timestamp\":1000,\"ok\":true}",
          "check: must be a string", 0 },
        { "{\"location\":\"f\",\"timestamp\":1000,\"ok\":true}", "check: missing", 0 },
        { "{\"check\":null,\"location\":\"f\",\"timestamp\":1000,\"ok\":true}",
          "check: missing", 0 },
        { "{\"check\":\"\",\"location\":\"f\",\"timestamp\":1000,\"ok\":true}", "check: empty",
          0 },
        { "{\"check\":\"w\",\"timestamp\":1000,\"ok\":true}", "location: missing", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000.5,\"ok\":true}",
          "timestamp: must be a string or an integer", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":-5,\"ok\":true}",
          "timestamp: not RFC 3339", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":\"true\"}",
          "ok: must be true, false, 1 or 0", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":2}",
          "ok: must be true, false, 1 or 0", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000}", "ok: missing", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":1,\"latency\":\"3\"}",
          "latency: must be a number", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":1,\"latency\":-0.5}",
          "latency: not milliseconds", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":1,\"latency\":1e300}",
          "latency: not milliseconds", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":0,\"code\":\"5\"}",
          "code: must be an integer", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":0,\"code\":-5}",
          "code: not an integer", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":0,\"message\":[]}",
          "message: must be a string", 0 },
        { "{\"check\":\"w\\u0001\",\"location\":\"f\",\"timestamp\":1000,\"ok\":0}",
          "check: contains a control character", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":\"2026-10-03T12:00:00+24:00\","
          "\"ok\":0}",
          "timestamp: not RFC 3339", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":\"2026-13-03T12:00:00Z\",\"ok\":0}",
          "timestamp: not RFC 3339", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":\"2026-10-03T12:00:00Zjunk\","
          "\"ok\":0}",
          "timestamp: not RFC 3339", 0 },
        { "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":false}", "", 0 },
    };

    check_table("", rows, sizeof(rows) / sizeof(rows[0]), NINES_IMPORT_JSONL, 1);
}

/* A NUL byte, a line over 64 KiB (then good lines, still counted right). */
Test(import, jsonl_nul_and_too_long_lines)
{
    const char good[] = "{\"check\":\"w\",\"location\":\"f\",\"timestamp\":1000,\"ok\":true}\n";
    const char nul_line[] = "{\"check\":\"w\0\"}\n";
    size_t glen = strlen(good), big = NINES_IMPORT_LINE_MAX + 100, used = 0;
    char *file = malloc(2 * big + 4 * glen + 64);
    struct run *r;

    cr_assert(ne(ptr, file, NULL));
    memcpy(file + used, good, glen), used += glen;                           /* line 1 */
    memcpy(file + used, nul_line, sizeof(nul_line) - 1), used += sizeof(nul_line) - 1; /* 2 */
    memset(file + used, ' ', big), used += big, file[used++] = '\n';         /* line 3 */
    memcpy(file + used, good, glen), used += glen;                           /* line 4 */
    /* exactly the limit, then CRLF: allowed (and then not JSON: only spaces and x) */
    memset(file + used, ' ', NINES_IMPORT_LINE_MAX - 1), used += NINES_IMPORT_LINE_MAX - 1;
    file[used++] = 'x', file[used++] = '\r', file[used++] = '\n';            /* line 5 */
    memcpy(file + used, good, glen), used += glen;                           /* line 6 */
    r = parse_n(file, used, NINES_IMPORT_JSONL, NULL);
    cr_assert(eq(int, r->nres, 3));
    cr_assert(eq(int, r->nerr, 3));
    cr_assert(eq(int, r->errs[0].line, 2));
    cr_assert(ne(ptr, strstr(r->errs[0].msg, "NUL"), NULL), "%s", r->errs[0].msg);
    cr_assert(eq(int, r->errs[1].line, 3));
    cr_assert(ne(ptr, strstr(r->errs[1].msg, "line longer than 65536 bytes"), NULL));
    cr_assert(eq(int, r->errs[2].line, 5));
    cr_assert(ne(ptr, strstr(r->errs[2].msg, "not JSON"), NULL), "%s", r->errs[2].msg);
    free(r);
    free(file);
}

Test(import, csv_too_long_record_and_unterminated_quote)
{
    const char head[] = "check,location,timestamp,ok\n";
    const char good[] = "web,fra,1000,1\n";
    size_t big = NINES_IMPORT_LINE_MAX + 10, used = 0;
    char *file = malloc(big + 256);
    struct run *r;

    cr_assert(ne(ptr, file, NULL));
    used += (size_t)sprintf(file + used, "%s%s", head, good);                /* 1, 2 */
    used += (size_t)sprintf(file + used, "web,fra,1000,\"");                 /* 3 */
    memset(file + used, 'a', big), used += big;
    file[used++] = '\n';
    used += (size_t)sprintf(file + used, "%s", good);                        /* 4 */
    used += (size_t)sprintf(file + used, "web,\"fra\nams\",1000,1\n");       /* 5-6 */
    used += (size_t)sprintf(file + used, "%s", good);                        /* 7 */
    used += (size_t)sprintf(file + used, "web,fra,1000,\"1\nweb,fra\n");     /* 8-9 */
    r = parse_n(file, used, NINES_IMPORT_CSV, NULL);
    if (r->nerr != 3)
        dump(r);
    cr_assert(eq(int, r->nres, 3));
    cr_assert(eq(int, r->nerr, 3));
    cr_assert(eq(int, r->errs[0].line, 3));
    cr_assert(ne(ptr, strstr(r->errs[0].msg, "record longer than 65536 bytes"), NULL));
    cr_assert(ne(ptr, strstr(r->errs[0].msg, "missing quote"), NULL));
    cr_assert(eq(int, r->errs[1].line, 5)); /* a location with a line break */
    cr_assert(ne(ptr, strstr(r->errs[1].msg, "location: contains a control"), NULL));
    cr_assert(eq(int, r->errs[2].line, 8));
    cr_assert(ne(ptr, strstr(r->errs[2].msg, "opened on line 8 is never closed"), NULL),
              "%s", r->errs[2].msg);
    free(r);
    free(file);
}

/* Line breaks inside quotes count towards the limit too. */
Test(import, csv_quoted_line_breaks_count_towards_the_limit)
{
    size_t big = NINES_IMPORT_LINE_MAX + 10, used = 0;
    char *file = malloc(big + 256);
    struct run *r;

    cr_assert(ne(ptr, file, NULL));
    used += (size_t)sprintf(file, "check,location,timestamp,ok\nweb,fra,1000,\"");
    memset(file + used, '\n', big), used += big;
    used += (size_t)sprintf(file + used, "\"\n");
    r = parse_n(file, used, NINES_IMPORT_CSV, NULL);
    cr_assert(eq(int, r->nres, 0));
    cr_assert(ge(int, r->nerr, 1));
    cr_assert(eq(int, r->errs[0].line, 2));
    cr_assert(ne(ptr, strstr(r->errs[0].msg, "record longer than 65536 bytes"), NULL), "%s",
              r->errs[0].msg);
    free(r);
    free(file);
}

struct bad_header {
    char file[96];
    char expect[96];
    int line, column;
};

Test(import, header_errors)
{
    static const struct bad_header cases[] = {
        { "check,location,timestamp,ok,colour\n", "header: unknown column 'colour'", 1, 29 },
        { "\n\ncheck,location,ok,timestamp,ok\n", "header: column 'ok' appears twice", 3, 29 },
        { "check,latency,location\n", "header: missing column(s) timestamp, ok", 1, 0 },
        { "Check,location,timestamp,ok\n", "unknown column 'Check'", 1, 1 },
        { "check,location,timestamp,ok,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n",
          "unknown column 'a'", 1, 0 },
        { "check,location,\"timestamp\"x,ok\n", "header: text after the closing quote", 1, 0 },
        { "{\"check\":1}\n", "header: a quote inside an unquoted field", 1, 2 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run *r = parse(cases[i].file, NINES_IMPORT_CSV);
        char buf[600];

        nines_err_format(&r->open_err, buf, sizeof(buf));
        cr_expect(eq(int, r->open_rc, NINES_EINVAL), "case %zu", i);
        cr_expect(ne(ptr, strstr(r->open_err.msg, cases[i].expect), NULL),
                  "case %zu: wanted %s, got %s", i, cases[i].expect, buf);
        cr_expect(eq(int, r->open_err.line, cases[i].line), "case %zu: %s", i, buf);
        if (cases[i].column != 0)
            cr_expect(eq(int, r->open_err.column, cases[i].column), "case %zu: %s", i, buf);
        free(r);
    }
}

Test(import, read_error_is_eio)
{
    char dir[128], path[200], buf[600];
    struct nines_import *im = (struct nines_import *)1;
    struct nines_err err;
    FILE *f;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(path, sizeof(path), "%s/x.csv", dir);
    f = fopen(path, "w"); /* not readable: fread fails with EBADF */
    cr_assert(ne(ptr, f, NULL));
    memset(&err, 0, sizeof(err));
    cr_assert(eq(int, nines_import_open(f, path, NINES_IMPORT_AUTO, now_ms(), &im, &err),
                 NINES_EIO));
    cr_assert(eq(ptr, im, NULL));
    cr_assert(ne(ptr, strstr(err.msg, "read error"), NULL), "%s",
              nines_err_format(&err, buf, sizeof(buf)));
    fclose(f);
    cr_assert(eq(int, test_rmtree(dir), 0));
}

/* ---- ids ---- */

/* The documented definition, computed here independently of the parser. */
static void expected_id(const char *check, const char *loc, int64_t ms, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char in[256];
    size_t len = 0;
    int i;

    memcpy(in + len, check, strlen(check) + 1), len += strlen(check) + 1;
    memcpy(in + len, loc, strlen(loc) + 1), len += strlen(loc) + 1;
    len += (size_t)sprintf(in + len, "%lld", (long long)ms);
    cr_assert(eq(int, EVP_Digest(in, len, md, &n, EVP_sha256(), NULL), 1));
    strcpy(out, "import/");
    for (i = 0; i < 8; i++)
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

Test(import, ids_are_stable_and_distinct)
{
    const char *csv = "check,location,timestamp,ok\n"
                      "web,fra,1790000000000,1\n"
                      "web,fra,1790000000001,1\n"
                      "web,ams,1790000000000,1\n"
                      "api,fra,1790000000000,1\n"
                      "a,bc,1790000000000,1\n"
                      "ab,c,1790000000000,1\n"
                      "web,fra,2026-09-21T16:13:20.000+02:00,0\n"; /* = row 1 */
    char want[32];
    struct run *a = parse(csv, NINES_IMPORT_CSV), *b = parse(csv, NINES_IMPORT_CSV);
    int i, j;

    cr_assert(eq(int, a->nres, 7));
    cr_assert(eq(int, b->nres, 7));
    for (i = 0; i < a->nres; i++) {
        expected_id(a->res[i].check_id, a->res[i].location, a->res[i].start_ms, want);
        cr_assert(eq(str, a->res[i].id, want), "row %d", i);
        cr_assert(eq(str, a->res[i].id, b->res[i].id), "row %d", i);
        cr_assert(eq(sz, strlen(a->res[i].id), strlen("import/") + NINES_IMPORT_ID_HEX));
        for (j = 0; j < i && i < 6; j++)
            cr_assert(ne(str, a->res[i].id, a->res[j].id), "rows %d and %d", j, i);
    }
    /* the same check, location and instant is the same row, whatever the form */
    cr_assert(eq(i64, a->res[6].start_ms, a->res[0].start_ms));
    cr_assert(eq(str, a->res[6].id, a->res[0].id));
    cr_assert(eq(int, nines_import_id("web", "fra", 1, want, 23), NINES_EINVAL));
    free(a);
    free(b);
}

static int only_web(const char *check_id, void *arg)
{
    (void)arg;
    return strcmp(check_id, "web") == 0;
}

Test(import, unknown_checks_through_the_hook)
{
    const char *csv = "check,location,timestamp,ok\nweb,fra,1000,1\nwbe,fra,1000,1\n";
    struct run *r = parse_n(csv, strlen(csv), NINES_IMPORT_CSV, only_web);

    cr_assert(eq(int, r->nres, 1));
    cr_assert(eq(int, r->nerr, 1));
    cr_assert(eq(int, r->errs[0].line, 3));
    cr_assert(eq(str, r->errs[0].msg, "check: unknown check 'wbe'"));
    free(r);
}

/* ---- RFC 3339 against the C library ---- */

Test(import, rfc3339_agrees_with_timegm)
{
    enum { N = 2000 };
    char *file = malloc(N * 128);
    int64_t want[N];
    size_t used = 0;
    int i, k = 0, got = 0;

    cr_assert(ne(ptr, file, NULL));
    used = (size_t)sprintf(file, "check,location,timestamp,ok\n");
    /* 1970 to 2026, every 10 days and 7 h 13 min 17 s, each at one of four offsets */
    for (i = 0; i < N; i++) {
        static const int off_min[4] = { 0, 120, -330, 845 };
        time_t t = (time_t)i * (10 * 86400 + 7 * 3600 + 13 * 60 + 17) + 86400;
        int off = off_min[i % 4];
        time_t local = t + off * 60;
        struct tm tm;
        char ts[64];

        gmtime_r(&local, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        if (off == 0)
            used += (size_t)sprintf(file + used, "c,l,%s.%03dZ,1\n", ts, i % 1000);
        else
            used += (size_t)sprintf(file + used, "c,l,%s.%03d%c%02d:%02d,1\n", ts, i % 1000,
                                    off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
        want[k++] = (int64_t)t * 1000 + i % 1000;
    }
    cr_assert(lt(i64, want[N - 1], now_ms()));
    {
        struct nines_import *im;
        struct nines_result res;
        FILE *f = file_of(file, used);
        int rc;

        cr_assert(eq(int, nines_import_open(f, "t", NINES_IMPORT_CSV, now_ms(), &im, NULL), 0));
        while ((rc = nines_import_next(im, &res, NULL)) == 1) {
            cr_assert(lt(int, got, N));
            cr_assert(eq(i64, res.start_ms, want[got]), "row %d", got);
            got++;
        }
        cr_assert(eq(int, rc, 0));
        nines_import_free(im);
        fclose(f);
    }
    cr_assert(eq(int, got, N));
    free(file);
}

/* ---- size ---- */

/*
 * 100,000 generated lines in bounded time; the heap in use after the last row
 * is what it was after the first thousand (nothing grows with the file).
 */
static void hundred_thousand_lines(enum nines_import_format fmt)
{
    enum { LINES = 100000 };
    const int64_t base = INT64_C(1780000000000);
    FILE *f = tmpfile();
    struct nines_import *im;
    struct nines_result res;
    struct nines_err err;
    struct mallinfo2 early = { 0 }, late;
    uint64_t t0;
    int i, rc, n = 0;

    cr_assert(ne(ptr, f, NULL));
    if (fmt == NINES_IMPORT_CSV)
        fprintf(f, "check,location,timestamp,ok,latency,reason,message\r\n");
    for (i = 0; i < LINES; i++) {
        const char *form = fmt == NINES_IMPORT_CSV
                               ? "chk%d,loc%d,%lld,%s,%d.%03d,%s,\"msg, %d \"\"q\"\"\"\r\n"
                               : "{\"check\":\"chk%d\",\"location\":\"loc%d\",\"timestamp\":"
                                 "%lld,\"ok\":%s,\"latency\":%d.%03d,\"reason\":\"%s\","
                                 "\"message\":\"msg, %d \\\"q\\\"\"}\n";

        fprintf(f, form, i % 50, i % 7, (long long)(base + (int64_t)i * 60000),
                i % 10 ? "true" : "false", i % 5000, i % 1000, i % 10 ? "" : "timeout", i);
    }
    rewind(f);
    t0 = test_now_ms();
    cr_assert(eq(int, nines_import_open(f, "big", NINES_IMPORT_AUTO, now_ms(), &im, &err), 0));
    cr_assert(eq(int, nines_import_format_of(im), fmt));
    while ((rc = nines_import_next(im, &res, &err)) == 1) {
        if (n == 1000)
            early = mallinfo2();
        cr_assert(eq(i64, res.start_ms, base + (int64_t)n * 60000));
        n++;
    }
    late = mallinfo2();
    cr_assert(eq(int, rc, 0), "%s", err.msg);
    cr_assert(eq(int, n, LINES));
    cr_assert(eq(int, res.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(i64, res.total_us, (int64_t)((LINES - 1) % 5000) * 1000 + (LINES - 1) % 1000));
    cr_assert(eq(str, res.message, "msg, 99999 \"q\""));
    cr_assert(le(sz, late.uordblks, early.uordblks + 4096));
    cr_assert(lt(u64, test_now_ms() - t0, 60000));
    nines_import_free(im);
    fclose(f);
}

Test(import, hundred_thousand_csv_lines, .timeout = 120)
{
    hundred_thousand_lines(NINES_IMPORT_CSV);
}

Test(import, hundred_thousand_jsonl_lines, .timeout = 120)
{
    hundred_thousand_lines(NINES_IMPORT_JSONL);
}
