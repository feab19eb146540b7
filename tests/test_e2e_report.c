/*
 * `nines report` as a process against a real redis-server: JSON, HTML and
 * PDF of October 2026 for a customer in Europe/Berlin (pdfinfo counts pages,
 * pdftotext finds the availability), the same data twice gives the same data
 * hash, and --send delivers one message with the PDF attached to a local
 * aiosmtpd (python3-aiosmtpd), recording "sent" in nines:report:acme:2026-10.
 * Bad requests (unknown customer, bad month, month in the future) fail with a
 * clear message.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/clock.h"
#include "tz.h"
#include "e2eworld.h"
#include "http_client.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define OUT_LEN (256 * 1024)

static struct redis_fixture rf;
static char dir[256], cfgpath[320], maildir[320];
static int smtp_port;
static pid_t smtpd;

static void cmd(redisContext *c, const char *s)
{
    redisReply *r = redisCommand(c, s);

    cr_assert(ne(ptr, r, NULL));
    cr_assert(ne(int, r->type, REDIS_REPLY_ERROR), "%s", s);
    freeReplyObject(r);
}

static void setup(void)
{
    char yaml[2048];
    redisContext *c;

    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    smtp_port = test_unused_port();
    snprintf(maildir, sizeof(maildir), "%s/mail", dir);
    snprintf(cfgpath, sizeof(cfgpath), "%s/nines.yaml", dir);
    snprintf(yaml, sizeof(yaml),
             "collector: {data_dir: '%s', redis: '%s'}\n"
             "api: {listen: '127.0.0.1:0'}\n"
             "checks: [{id: api, kind: http, url: 'http://a.test/'}]\n"
             "services: [{id: shop, name: Shop, checks: [api]}]\n"
             "receivers:\n"
             "  - {name: mail, kind: email, url: 'smtp://127.0.0.1:%d',\n"
             "     from: 'Nines <reports@nines.test>', to: ops@nines.test, starttls: false}\n"
             "customers:\n"
             "  - id: acme\n"
             "    name: ACME Corp.\n"
             "    timezone: Europe/Berlin\n"
             "    contacts: [cto@acme.test]\n"
             "    services: [shop]\n"
             "    slas: [{name: standard, target: 99.9, credits: [{below: 99.9, credit: 10}]}]\n",
             dir, rf.url, smtp_port);
    cr_assert(eq(int, test_write_file(cfgpath, yaml), 0));
    c = redis_fixture_connect(&rf);
    cr_assert(ne(ptr, c, NULL));
    /* 2026-10-25 00:30Z to 03:30Z: 3 h down in October (2 682 000 000 ms):
     * availability 100 × (1 − 10 800 000 / 2 682 000 000) = 99.5973...% */
    cmd(c, "ZADD nines:down:api 1792888200000 1792888200000-1792899000000");
    cmd(c, "HSET nines:incident:api@1792888200000 id api@1792888200000 check api "
           "reason http_status message Unavailable");
    /* the check's state as the collector stores it: results since June */
    cmd(c, "HSET nines:state:api doc {\"v\":1,\"id\":\"api\",\"state\":\"UP\","
           "\"since_ms\":1780272000000,\"locations\":[],\"incident\":{\"open\":false,"
           "\"start_ms\":0,\"end_ms\":0,\"reason\":\"\",\"message\":\"\","
           "\"locations\":\"\"},\"last_ms\":1795000000000,\"last_total_us\":1000,"
           "\"last_code\":200,\"last_outcome\":\"ok\",\"last_location\":\"eu\","
           "\"last_error_ms\":0,\"last_error_reason\":\"\",\"last_error_message\":\"\","
           "\"applied\":\"1-0\",\"results\":10,\"first_ms\":1780272000000}");
    redisFree(c);
}

static void teardown(void)
{
    if (smtpd > 0)
        proc_stop(smtpd, 3000);
    redis_fixture_stop(&rf);
    test_rmtree(dir);
}

TestSuite(e2e_report, .init = setup, .fini = teardown, .timeout = 120);

static int nines_report(const char *const extra[], char *out, char *err)
{
    const char *argv[16] = { NINES_BIN_DIR "/nines", "report", "-c", cfgpath, "--customer" };
    size_t n = 5;

    argv[n++] = extra[0];
    for (size_t i = 1; extra[i] != NULL && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return e2e_run(argv, NULL, out, out ? OUT_LEN : 0, err, err ? 4096 : 0, 60000);
}

static json_t *json_report(void)
{
    static char out[OUT_LEN];
    char err[4096];
    const char *a[] = { "acme", "--month", "2026-10", "--format", "json", NULL };
    json_t *j;

    cr_assert(eq(int, nines_report(a, out, err), 0), "%s", err);
    j = json_loads(out, 0, NULL);
    cr_assert(ne(ptr, j, NULL), "JSON: %.200s", out);
    return j;
}

Test(e2e_report, json_html_pdf_and_stable_hash)
{
    static char out[OUT_LEN];
    char err[4096], pdf[400], *text;
    json_t *a = json_report(), *b = json_report(), *ov;
    const char *h[] = { "acme", "--month", "2026-10", NULL };
    const char *p[] = { "acme", "--month", "2026-10", "--format", "pdf", "-o", pdf, NULL };

    ov = json_object_get(a, "overall");
    cr_expect(eq(int, (int)json_integer_value(json_object_get(ov, "downtime_ms")), 10800000));
    cr_expect(eq(dbl, json_real_value(json_object_get(ov, "availability_pct")),
                 100.0 * (1.0 - 10800000.0 / 2682000000.0)));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(a, "data_sha256")),
                 (char *)json_string_value(json_object_get(b, "data_sha256"))));
    cr_expect(eq(sz, strlen(json_string_value(json_object_get(a, "data_sha256"))), 64));
    json_decref(a);
    json_decref(b);

    cr_assert(eq(int, nines_report(h, out, err), 0), "%s", err);
    cr_expect(ne(ptr, strstr(out, "99.597"), NULL), "HTML shows the availability");

    snprintf(pdf, sizeof(pdf), "%s/r.pdf", dir);
    cr_assert(eq(int, nines_report(p, NULL, err), 0), "%s", err);
    {
        const char *info[] = { "pdfinfo", pdf, NULL };
        const char *totext[] = { "pdftotext", pdf, "-", NULL };

        cr_assert(eq(int, e2e_run(info, NULL, out, OUT_LEN, NULL, 0, 30000), 0));
        text = strstr(out, "Pages:");
        cr_assert(ne(ptr, text, NULL));
        cr_expect(gt(int, atoi(text + 6), 0));
        cr_assert(eq(int, e2e_run(totext, NULL, out, OUT_LEN, NULL, 0, 30000), 0));
        cr_expect(ne(ptr, strstr(out, "99.597"), NULL), "PDF text shows the availability");
    }
}

/* kpi-csv: the report's KPI table, one line per row of the JSON's "kpis". */
Test(e2e_report, kpi_csv_holds_the_json_kpi_rows)
{
    static char out[OUT_LEN];
    char err[4096], want[256];
    const char *k[] = { "acme", "--month", "2026-10", "--format", "kpi-csv", NULL };
    json_t *a = json_report(), *kpis = json_object_get(a, "kpis"), *row;
    size_t lines = 0, i;

    cr_assert(not(eq(int, json_is_array(kpis), 0)));
    cr_assert(gt(sz, json_array_size(kpis), 0));
    cr_assert(eq(int, nines_report(k, out, err), 0), "%s", err);
    cr_expect(eq(int, strncmp(out, "customer,service,month,", 23), 0), "%.80s", out);
    for (const char *p = out; (p = strstr(p, "\r\n")) != NULL; p += 2)
        lines++;
    cr_expect(eq(sz, lines, json_array_size(kpis) + 1), "%s", out);
    json_array_foreach(kpis, i, row) {
        snprintf(want, sizeof(want), "\r\nacme,%s,2026-10,",
                 json_string_value(json_object_get(row, "service")));
        cr_expect(ne(ptr, strstr(out, want), NULL), "no line for %s in\n%s", want + 2, out);
    }
    json_decref(a);
}

Test(e2e_report, bad_requests)
{
    char err[4096];
    const char *who[] = { "nobody", "--month", "2026-10", NULL };
    const char *bad[] = { "acme", "--month", "2026-13", NULL };
    const char *future[] = { "acme", "--month", "2099-01", NULL };
    const char *pdf[] = { "acme", "--format", "pdf", NULL };
    const char *fmt[] = { "acme", "--format", "xls", NULL };

    cr_expect(eq(int, nines_report(fmt, NULL, err), 2));
    cr_expect(ne(ptr, strstr(err, "--format 'xls'"), NULL), "%s", err);
    cr_expect(eq(int, nines_report(who, NULL, err), 2));
    cr_expect(ne(ptr, strstr(err, "unknown customer 'nobody'"), NULL), "%s", err);
    cr_expect(eq(int, nines_report(bad, NULL, err), 2));
    cr_expect(ne(ptr, strstr(err, "--month '2026-13'"), NULL), "%s", err);
    cr_expect(eq(int, nines_report(future, NULL, err), 2));
    cr_expect(ne(ptr, strstr(err, "has not begun yet"), NULL), "%s", err);
    cr_expect(eq(int, nines_report(pdf, NULL, err), 2));
    cr_expect(ne(ptr, strstr(err, "needs -o"), NULL), "%s", err);
}

/* The first python3 that can import aiosmtpd (PATH may hold another Python). */
static const char *smtpd_python(void)
{
    static const char *const candidates[] = { "python3", "/usr/bin/python3" };

    for (size_t i = 0; i < 2; i++) {
        const char *argv[] = { candidates[i], "-c", "import aiosmtpd", NULL };
        int code = -1;

        if (proc_run(argv, NULL, 0, 10000, &code) == 0 && code == 0)
            return candidates[i];
    }
    cr_assert(0, "no python3 with aiosmtpd: install python3-aiosmtpd (scripts/deps.sh test)");
    return NULL;
}

static int smtpd_up(void *arg)
{
    char line[96];
    const char *nc[] = { "/usr/bin/python3", "-c", line, NULL };
    int code = -1;

    (void)arg;
    snprintf(line, sizeof(line), "import socket;socket.create_connection(('127.0.0.1',%d))",
             smtp_port);
    return proc_run(nc, NULL, 0, 5000, &code) == 0 && code == 0;
}

/* The only file in maildir/new, read. */
static char *one_message(int *count)
{
    char path[400], first[700] = "";
    struct dirent *de;
    DIR *d;

    *count = 0;
    snprintf(path, sizeof(path), "%s/new", maildir);
    if ((d = opendir(path)) == NULL)
        return NULL;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' && (*count)++ == 0)
            snprintf(first, sizeof(first), "%s/%s", path, de->d_name);
    closedir(d);
    return first[0] ? test_read_file(first) : NULL;
}

Test(e2e_report, send_delivers_one_message_with_the_pdf)
{
    char err[4096], listen[32], stored[400];
    const char *send[] = { "acme", "--month", "2026-10", "--send", NULL };
    redisContext *c;
    redisReply *r;
    char *msg;
    int n;

    /* SMTP down first: the attempt fails and is recorded */
    cr_expect(eq(int, nines_report(send, NULL, err), 1));
    cr_expect(ne(ptr, strstr(err, "not sent"), NULL), "%s", err);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", smtp_port);
    {
        const char *argv[] = { smtpd_python(), "-m", "aiosmtpd", "-n", "-l", listen, "-c",
                               "aiosmtpd.handlers.Mailbox", maildir, NULL };

        smtpd = proc_spawn(argv, NULL);
    }
    cr_assert(gt(int, smtpd, 0));
    cr_assert(eq(int, test_wait_until(smtpd_up, NULL, 15000), 0));
    cr_assert(eq(int, nines_report(send, NULL, err), 0), "%s", err);
    msg = one_message(&n);
    cr_assert(eq(int, n, 1));
    cr_assert(ne(ptr, msg, NULL));
    cr_expect(ne(ptr, strstr(msg, "Content-Type: application/pdf; name=\"acme-2026-10.pdf\""),
                 NULL));
    cr_expect(ne(ptr, strstr(msg, "\nJVBERi0"), NULL), "base64 of %PDF-");
    cr_expect(ne(ptr, strstr(msg, "application/json"), NULL));
    cr_expect(ne(ptr, strstr(msg, "To: cto@acme.test"), NULL));
    free(msg);
    snprintf(stored, sizeof(stored), "%s/reports/acme/2026-10.pdf", dir);
    cr_expect(test_path_exists(stored));
    c = redis_fixture_connect(&rf);
    r = redisCommand(c, "HMGET nines:report:acme:2026-10 status attempts");
    cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
    cr_expect(eq(str, r->element[0]->str, "sent"));
    cr_expect(eq(str, r->element[1]->str, "2"));
    freeReplyObject(r);
    redisFree(c);
}

struct report_state {
    const char *status;
    int min_attempts;
    const char *month;
};

/* nines:report:acme:MONTH has status (and at least min_attempts attempts). */
static int report_state_is(void *arg)
{
    struct report_state *st = arg;
    redisContext *c = redis_fixture_connect(&rf);
    redisReply *r = c ? redisCommand(c, "HMGET nines:report:acme:%s status attempts next_ms",
                                     st->month)
                      : NULL;
    int yes = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(r->element[0]->str, st->status) == 0 &&
              r->element[1]->type == REDIS_REPLY_STRING &&
              atoi(r->element[1]->str) >= st->min_attempts &&
              (strcmp(st->status, "failed") != 0 || r->element[2]->type == REDIS_REPLY_STRING);

    freeReplyObject(r);
    redisFree(c);
    return yes;
}

/* The collector sends last month's report on its own once the customer's
 * report day and hour have passed (the 1st, 06:00 Berlin); a first failure
 * (SMTP down) is recorded and retried 15 s later. */
Test(e2e_report, the_collector_sends_the_report_on_schedule_and_retries, .timeout = 180)
{
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfgpath, NULL };
    struct report_state failed = { "failed", 1, NULL }, sent = { "sent", 2, NULL };
    char listen[32], log[400], month[32], *msg;
    struct nines_err err = { 0 };
    struct nines_tz *tz = nines_tz_load("Europe/Berlin", &err);
    struct nines_tm tm;
    pid_t collector;
    int n;

    cr_assert(ne(ptr, tz, NULL), "%s", err.msg);
    nines_tz_utc_to_local(tz, nines_wall_ms(), &tm);
    nines_tz_free(tz);
    if (tm.day == 1 && tm.hour < 6)
        cr_skip_test("last month's report is due at 06:00 on the 1st: not yet");
    snprintf(month, sizeof(month), "%04d-%02d", tm.month == 1 ? tm.year - 1 : tm.year,
             tm.month == 1 ? 12 : tm.month - 1);
    failed.month = sent.month = month;
    snprintf(log, sizeof(log), "%s/collector.log", dir);
    collector = proc_spawn(argv, log);
    cr_assert(gt(int, collector, 0));
    cr_assert(eq(int, test_wait_until(report_state_is, &failed, 20000), 0),
              "no failed attempt recorded while SMTP is down");
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", smtp_port);
    {
        const char *sargv[] = { smtpd_python(), "-m", "aiosmtpd", "-n", "-l", listen, "-c",
                                "aiosmtpd.handlers.Mailbox", maildir, NULL };

        smtpd = proc_spawn(sargv, NULL);
    }
    cr_assert(gt(int, smtpd, 0));
    cr_assert(eq(int, test_wait_until(smtpd_up, NULL, 15000), 0));
    test_wait_poll_ms(500);
    cr_assert(eq(int, test_wait_until(report_state_is, &sent, 60000), 0),
              "not sent after the retry");
    msg = one_message(&n);
    cr_expect(eq(int, n, 1));
    {
        char name[64];

        snprintf(name, sizeof(name), "acme-%s.pdf", month);
        cr_expect(ne(ptr, msg ? strstr(msg, name) : NULL, NULL));
    }
    free(msg);
    proc_stop(collector, 5000);
}

/* arg: the base URL's buffer, 128 bytes */
static int api_addr_ready(void *arg)
{
    return e2eworld_read_api_addr(dir, arg, 128) == 0;
}

Test(e2e_report, the_api_serves_each_format_computed_like_the_cli)
{
    static char body[4 << 20];
    const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfgpath, NULL };
    char base[128], url[256], log[400];
    json_t *api, *cli;
    pid_t collector;

    snprintf(log, sizeof(log), "%s/collector.log", dir);
    collector = proc_spawn(argv, log);
    cr_assert(gt(int, collector, 0));
    cr_assert(eq(int, test_wait_until(api_addr_ready, base, 10000), 0));
    snprintf(url, sizeof(url), "%s/api/v1/reports/acme/2026-10.json", base);
    cr_assert(eq(int, http_request("GET", url, NULL, NULL, body, sizeof(body)), 200), "%s", body);
    api = json_loads(body, 0, NULL);
    cli = json_report();
    cr_assert(ne(ptr, api, NULL));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(api, "data_sha256")),
                 (char *)json_string_value(json_object_get(cli, "data_sha256"))),
              "the API and the CLI disagree");
    json_decref(api);
    json_decref(cli);
    snprintf(url, sizeof(url), "%s/api/v1/reports/acme/2026-10.pdf", base);
    cr_assert(eq(int, http_request("GET", url, NULL, NULL, body, sizeof(body)), 200));
    cr_expect(eq(int, strncmp(body, "%PDF-", 5), 0));
    snprintf(url, sizeof(url), "%s/api/v1/reports/acme/2026-13.json", base);
    cr_expect(eq(int, http_request("GET", url, NULL, NULL, body, sizeof(body)), 400));
    snprintf(url, sizeof(url), "%s/api/v1/reports/nobody/2026-10.json", base);
    cr_expect(eq(int, http_request("GET", url, NULL, NULL, body, sizeof(body)), 404));
    snprintf(url, sizeof(url), "%s/api/v1/reports/acme/2026-10.docx", base);
    cr_expect(eq(int, http_request("GET", url, NULL, NULL, body, sizeof(body)), 400));
    proc_stop(collector, 5000);
}
