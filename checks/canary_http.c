/*
 * The HTTP canary on curl_uv: at most three transfers in a row (a GET of
 * what the store holds, the write, the read back), each with
 * what is left of the check's timeout. The run advances from curl_uv's done
 * callbacks and reports from the last one, so done never runs inside
 * check_start.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "curl_uv.h"
#include "jsoncond.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "regexguard.h"

#define HC_BODY_MAX     65536 /* bytes of a response kept; more is a read failure */
#define HC_TEMPLATE_MAX 65536
#define HC_URL_MAX      2048

enum hc_step { HC_PRE_READ, HC_WRITE, HC_READ };

/* How seq or ts is found in a read response. */
struct hc_field {
    int use_regex;
    regex_t re;
    struct nines_json_cond path; /* "PATH == null": only its path is used */
    char name[64];               /* for messages */
};

struct http_canary {
    struct canary_run run;
    struct curl_uv *curl;
    enum hc_step step;
    int known;                  /* a seq to continue from is remembered */
    int cancelled;
    int failed;
    char id[NINES_ID_LEN];
    char *write_url;
    char *read_url;
    char *method;
    char *body_template;
    int verify_tls;
    struct hc_field seq_field;
    struct hc_field ts_field;
    int64_t seq;
    int64_t ts;
    int64_t timeout_ms;
    uint64_t started_ns;
    char *wbody;            /* the body of the write in flight */
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    char *body;             /* the response, bounded */
    size_t body_len;
    int body_over;
    struct canary_facts facts;
    struct nines_result result;
    check_done_cb *done;
    void *done_arg;
};

static void hc_free(struct http_canary *hc)
{
    if (!hc)
        return;
    if (hc->seq_field.use_regex)
        regfree(&hc->seq_field.re);
    if (hc->ts_field.use_regex)
        regfree(&hc->ts_field.re);
    free(hc->write_url);
    free(hc->read_url);
    free(hc->method);
    free(hc->body_template);
    free(hc->wbody);
    free(hc->body);
    curl_slist_free_all(hc->headers);
    free(hc);
}

static void hc_fail(struct http_canary *hc, enum nines_outcome outcome, const char *reason,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The first failure decides outcome and reason; later ones add to the message. */
static void hc_fail(struct http_canary *hc, enum nines_outcome outcome, const char *reason,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    canary_failv(&hc->result, &hc->failed, outcome, reason, fmt, ap);
    va_end(ap);
}

static void hc_report(struct http_canary *hc)
{
    int64_t seq, ts;

    hc->result.total_us = (int64_t)((uv_hrtime() - hc->started_ns) / 1000);
    if (hc->facts.acked_seq < 0 && canary_recall(hc->run.driver, hc->id, &seq, &ts) == 0) {
        hc->facts.acked_seq = seq;
        hc->facts.acked_ts = ts;
    }
    canary_facts_write(&hc->facts, &hc->result);
    canary_driver_leave(&hc->run);
    hc->done(&hc->result, hc->done_arg);
    hc_free(hc);
}

static size_t hc_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_canary *hc = arg;
    size_t n = size * nmemb;
    size_t keep = n;

    if (hc->body_len + keep > HC_BODY_MAX) {
        keep = HC_BODY_MAX - hc->body_len;
        hc->body_over = 1;
    }
    memcpy(hc->body + hc->body_len, data, keep);
    hc->body_len += keep;
    hc->body[hc->body_len] = '\0';
    return n;
}

/* A number >= 0 from a JSON value: an integer, or a string of digits. */
static int hc_json_number(const json_t *v, int64_t *out)
{
    const char *s;
    int64_t x = 0;

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    s = json_string_value(v);
    if (!s[0] || strlen(s) > 18)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        x = x * 10 + (*s - '0');
    }
    *out = x;
    return 0;
}

/* The field's number from the body (doc: the parsed JSON, or NULL): 0 or -1. */
static int hc_extract(struct http_canary *hc, const struct hc_field *f, const json_t *doc,
                      int64_t *out)
{
    regmatch_t m[2];
    json_t *num;
    char digits[24];
    size_t n;

    if (!f->use_regex) {
        const json_t *v = doc ? nines_json_cond_lookup(&f->path, doc) : NULL;

        return v ? hc_json_number(v, out) : -1;
    }
    if (regexec(&f->re, hc->body, 2, m, 0) != 0 || m[1].rm_so < 0)
        return -1;
    n = (size_t)(m[1].rm_eo - m[1].rm_so);
    if (n == 0 || n >= sizeof(digits))
        return -1;
    memcpy(digits, hc->body + m[1].rm_so, n);
    digits[n] = '\0';
    num = json_string(digits);
    n = num && hc_json_number(num, out) == 0;
    json_decref(num);
    return n ? 0 : -1;
}

/* seq and ts from the response: 0, or -1 with the message set. */
static int hc_parse_read(struct http_canary *hc, int64_t *seq, int64_t *ts, char *why,
                         size_t len)
{
    json_t *doc = NULL;
    int bad = 0;

    if (hc->body_over) {
        snprintf(why, len, "response longer than %d bytes", HC_BODY_MAX);
        return -1;
    }
    if (!hc->seq_field.use_regex || !hc->ts_field.use_regex)
        doc = json_loadb(hc->body, hc->body_len, 0, NULL);
    if (hc_extract(hc, &hc->seq_field, doc, seq) < 0)
        bad = 1;
    else if (hc_extract(hc, &hc->ts_field, doc, ts) < 0)
        bad = 2;
    json_decref(doc);
    if (bad)
        snprintf(why, len, "no %s in the response (%s)",
                 bad == 1 ? hc->seq_field.name : hc->ts_field.name,
                 doc || (hc->seq_field.use_regex && hc->ts_field.use_regex) ? "not found"
                                                                             : "not JSON");
    return bad ? -1 : 0;
}

static void hc_next(struct http_canary *hc);

static const char *hc_what(const struct http_canary *hc)
{
    return hc->step == HC_WRITE ? hc->method : "GET";
}

static const char *hc_url(const struct http_canary *hc)
{
    return hc->step == HC_WRITE ? hc->write_url : hc->read_url;
}

/* A transfer that did not get a 2xx: 0 when it did. */
static int hc_transfer_failed(struct http_canary *hc, CURLcode rc, long code)
{
    int writing = hc->step == HC_WRITE;
    const char *r_fail = writing ? "canary_write_failed" : "canary_read_failed";

    if (rc == CURL_UV_ABORTED || hc->cancelled) {
        hc->failed = 0;
        hc->result.message[0] = '\0';
        hc_fail(hc, NINES_OUTCOME_ERROR, "cancelled", "check cancelled before it finished");
        return 1;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        hc_fail(hc, NINES_OUTCOME_TIMEOUT, writing ? "canary_write_timeout"
                                                   : "canary_read_timeout",
                "%s %s: no answer within the timeout", hc_what(hc), hc_url(hc));
        return 1;
    }
    if (rc != CURLE_OK) {
        hc_fail(hc, NINES_OUTCOME_FAIL, r_fail, "%s %s: %s", hc_what(hc), hc_url(hc),
                hc->errbuf[0] ? hc->errbuf : curl_easy_strerror(rc));
        return 1;
    }
    if (code == 404 && hc->step == HC_PRE_READ)
        return 0; /* nothing written yet */
    if (code < 200 || code > 299) {
        hc_fail(hc, NINES_OUTCOME_FAIL, r_fail, "%s %s answered %ld", hc_what(hc), hc_url(hc),
                code);
        if (!hc->result.code)
            hc->result.code = (int)code;
        return 1;
    }
    return 0;
}

static void hc_after_pre_read(struct http_canary *hc, long code)
{
    int64_t seq = 0, ts = 0;
    char why[160];

    if (code != 404 && hc_parse_read(hc, &seq, &ts, why, sizeof(why)) < 0) {
        hc_fail(hc, NINES_OUTCOME_FAIL, "canary_read_failed", "GET %s: %s; nothing written",
                hc->read_url, why);
        hc_report(hc);
        return;
    }
    hc->seq = seq;
    hc->facts.found_seq = seq;      /* 0, 0 on 404: nothing there */
    hc->facts.found_ts = ts;
    hc->step = HC_WRITE;
    hc_next(hc);
}

static void hc_after_read(struct http_canary *hc)
{
    int64_t seq, ts;
    char why[160];

    if (hc_parse_read(hc, &seq, &ts, why, sizeof(why)) < 0) {
        hc_fail(hc, NINES_OUTCOME_FAIL, "canary_read_failed", "GET %s: %s", hc->read_url, why);
    } else {
        hc->facts.read_seq = seq;
        hc->facts.read_ts = ts;
    }
    hc_report(hc);
}

static void hc_on_done(CURL *easy, CURLcode rc, void *arg)
{
    struct http_canary *hc = arg;
    long code = 0;

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(easy);
    if (hc_transfer_failed(hc, rc, code)) {
        if (hc->step == HC_WRITE && !hc->cancelled && rc != CURL_UV_ABORTED
            && rc != CURLE_OPERATION_TIMEDOUT) {
            hc->step = HC_READ; /* the read side still says what survived */
            hc_next(hc);
            return;
        }
        if (hc->step == HC_PRE_READ && hc->known && !hc->cancelled && rc != CURL_UV_ABORTED) {
            hc->step = HC_WRITE; /* failed, but the sequence is known: write on */
            hc_next(hc);
            return;
        }
        if (hc->step == HC_PRE_READ && hc->result.outcome != NINES_OUTCOME_ERROR)
            hc_fail(hc, NINES_OUTCOME_FAIL, "", "nothing written: the sequence to continue "
                    "is unknown");
        hc_report(hc);
        return;
    }
    if (hc->step == HC_PRE_READ) {
        hc_after_pre_read(hc, code);
    } else if (hc->step == HC_WRITE) {
        hc->facts.acked_seq = hc->seq;
        hc->facts.acked_ts = hc->ts;
        canary_remember(hc->run.driver, hc->id, hc->seq, hc->ts);
        hc->step = HC_READ;
        hc_next(hc);
    } else {
        hc_after_read(hc);
    }
}

/* The body template with {seq} and {ts} replaced (malloc'd), or NULL. */
static char *hc_render(const char *tmpl, int64_t seq, int64_t ts)
{
    char sseq[24], sts[24];
    size_t cap = strlen(tmpl) * 3 + 64, o = 0; /* each 5-byte {seq}: at most 19 digits */
    char *out = malloc(cap);

    if (!out)
        return NULL;
    snprintf(sseq, sizeof(sseq), "%lld", (long long)seq);
    snprintf(sts, sizeof(sts), "%lld", (long long)ts);
    for (const char *p = tmpl; *p;) {
        const char *v = strncmp(p, "{seq}", 5) == 0 ? sseq : strncmp(p, "{ts}", 4) == 0 ? sts
                                                                                       : NULL;
        size_t vl = v ? strlen(v) : 1;

        if (o + vl + 1 > cap) {
            free(out);
            return NULL;
        }
        memcpy(out + o, v ? v : p, vl);
        o += vl;
        p += v == sseq ? 5 : v == sts ? 4 : 1;
    }
    out[o] = '\0';
    return out;
}

#define HC_SETOPT(easy, opt, val)                                  \
    do {                                                           \
        if (curl_easy_setopt(easy, opt, val) != CURLE_OK)          \
            return -1;                                             \
    } while (0)

static int hc_configure(struct http_canary *hc, CURL *e, int64_t left_ms)
{
    HC_SETOPT(e, CURLOPT_URL, hc_url(hc));
    HC_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    HC_SETOPT(e, CURLOPT_TIMEOUT_MS, (long)left_ms);
    HC_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
    HC_SETOPT(e, CURLOPT_ERRORBUFFER, hc->errbuf);
    HC_SETOPT(e, CURLOPT_WRITEFUNCTION, hc_on_body);
    HC_SETOPT(e, CURLOPT_WRITEDATA, hc);
    HC_SETOPT(e, CURLOPT_SSL_VERIFYPEER, hc->verify_tls ? 1L : 0L);
    HC_SETOPT(e, CURLOPT_SSL_VERIFYHOST, hc->verify_tls ? 2L : 0L);
    HC_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (hc->step != HC_WRITE)
        return 0;
    hc->ts = nines_wall_ms();
    free(hc->wbody);
    hc->wbody = hc_render(hc->body_template, hc->seq, hc->ts);
    if (!hc->wbody)
        return -1;
    HC_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(hc->wbody));
    HC_SETOPT(e, CURLOPT_POSTFIELDS, hc->wbody);
    HC_SETOPT(e, CURLOPT_HTTPHEADER, hc->headers);
    if (strcmp(hc->method, "POST") != 0)
        HC_SETOPT(e, CURLOPT_CUSTOMREQUEST, hc->method);
    return 0;
}

/* Starts the transfer of hc->step: 0, or -1 when it could not be started. */
static int hc_launch(struct http_canary *hc, int64_t left_ms)
{
    int64_t seq, ts;
    CURL *e;

    if (hc->step == HC_WRITE) {
        if (canary_recall(hc->run.driver, hc->id, &seq, &ts) == 0 && seq > hc->seq)
            hc->seq = seq;
        hc->seq++;
    }
    hc->errbuf[0] = '\0';
    hc->body_len = 0;
    hc->body_over = 0;
    hc->body[0] = '\0';
    e = curl_easy_init();
    if (!e || hc_configure(hc, e, left_ms) != 0 || curl_uv_add(hc->curl, e, hc_on_done, hc)) {
        if (e)
            curl_easy_cleanup(e);
        return -1;
    }
    return 0;
}

/* The next transfer from a done callback; reports when there is none. */
static void hc_next(struct http_canary *hc)
{
    int64_t left_ms = hc->timeout_ms - (int64_t)((uv_hrtime() - hc->started_ns) / 1000000);

    if (hc->cancelled) {
        hc_report(hc);
        return;
    }
    if (left_ms <= 0) {
        hc_fail(hc, NINES_OUTCOME_TIMEOUT, hc->step == HC_READ ? "canary_read_timeout"
                                                               : "canary_write_timeout",
                "no time left for %s %s", hc_what(hc), hc_url(hc));
        hc_report(hc);
        return;
    }
    if (hc_launch(hc, left_ms) != 0) {
        hc_fail(hc, NINES_OUTCOME_ERROR, "error", "cannot start %s %s", hc_what(hc),
                hc_url(hc));
        hc_report(hc);
    }
}

static void hc_cancel(struct canary_run *run)
{
    /* curl_uv_close aborts the transfer in flight: its done callback reports */
    ((struct http_canary *)run)->cancelled = 1;
}

static int hc_field_init(struct hc_field *f, const char *path, const char *regex,
                         const char *dflt)
{
    char cond[NINES_JSON_COND_MAX], why[128];

    if (regex) {
        if (nines_regcomp(&f->re, regex, REG_EXTENDED) != 0)
            return NINES_EINVAL;
        f->use_regex = 1;
        snprintf(f->name, sizeof(f->name), "match for /%.40s/", regex);
        return f->re.re_nsub >= 1 ? 0 : NINES_EINVAL;
    }
    if (!path)
        path = dflt;
    if (strlen(path) + 9 > sizeof(cond) || strpbrk(path, " \t=!<>\""))
        return NINES_EINVAL;
    snprintf(cond, sizeof(cond), "%s == null", path);
    snprintf(f->name, sizeof(f->name), "'%.50s'", path);
    return nines_json_cond_parse(cond, &f->path, why, sizeof(why)) == 0 ? 0 : NINES_EINVAL;
}

static int hc_url_ok(const char *u)
{
    return u && strlen(u) <= HC_URL_MAX
           && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
}

static int hc_setup(struct http_canary *hc, const struct nines_check *c)
{
    const struct nines_http_canary_opts *o = &c->http_canary;
    const char *m = o->method ? o->method : "PUT";
    const char *body = o->body ? o->body : "{\"seq\":{seq},\"ts\":{ts}}";
    const char *ctype = body[0] == '{' || body[0] == '[' ? "Content-Type: application/json"
                                                         : "Content-Type: text/plain";
    int err;

    if (c->kind != NINES_KIND_HTTP_CANARY || c->timeout_ms <= 0 || c->timeout_ms > INT32_MAX
        || !hc_url_ok(o->write_url) || (o->read_url && !hc_url_ok(o->read_url))
        || (strcmp(m, "PUT") != 0 && strcmp(m, "POST") != 0) || strlen(body) > HC_TEMPLATE_MAX)
        return NINES_EINVAL;
    err = hc_field_init(&hc->seq_field, o->seq_path, o->seq_regex, "seq");
    if (!err)
        err = hc_field_init(&hc->ts_field, o->ts_path, o->ts_regex, "ts");
    if (err)
        return err;
    hc->write_url = strdup(o->write_url);
    hc->read_url = strdup(o->read_url ? o->read_url : o->write_url);
    hc->method = strdup(m);
    hc->body_template = strdup(body);
    hc->body = malloc(HC_BODY_MAX + 1);
    hc->headers = curl_slist_append(NULL, ctype);
    if (!hc->write_url || !hc->read_url || !hc->method || !hc->body_template || !hc->body
        || !hc->headers)
        return NINES_ENOMEM;
    snprintf(hc->id, sizeof(hc->id), "%s", c->id ? c->id : "");
    hc->verify_tls = o->verify_tls;
    hc->timeout_ms = c->timeout_ms;
    return 0;
}

int check_http_canary_start(struct check_env *env, const struct nines_check *c,
                            check_done_cb *done, void *arg)
{
    struct canary_driver *d;
    struct http_canary *hc;
    int64_t seq, ts;
    int err;

    if (!env || !c || !done)
        return NINES_EINVAL;
    if (env->closed || !env->curl)
        return NINES_ESTATE;
    hc = calloc(1, sizeof(*hc));
    if (!hc)
        return NINES_ENOMEM;
    err = hc_setup(hc, c);
    d = err ? NULL : canary_driver_get(env);
    if (!d) {
        hc_free(hc);
        return err ? err : NINES_ENOMEM;
    }
    hc->curl = env->curl;
    hc->run.cancel = hc_cancel;
    canary_driver_join(d, &hc->run);
    hc->done = done;
    hc->done_arg = arg;
    nines_result_init(&hc->result);
    canary_facts_init(&hc->facts);
    snprintf(hc->result.check_id, sizeof(hc->result.check_id), "%s", hc->id);
    hc->result.start_ms = nines_wall_ms();
    hc->started_ns = uv_hrtime();
    /* every run reads first: what the store holds before this write is what
     * survived a failover (found_*), the drills' RPO */
    hc->known = canary_recall(d, hc->id, &seq, &ts) == 0;
    hc->step = HC_PRE_READ;
    if (hc_launch(hc, hc->timeout_ms) != 0) {
        canary_driver_leave(&hc->run);
        hc_free(hc);
        return NINES_ENOMEM;
    }
    return 0;
}
