/* HTTP(S) checks: one easy handle per run, driven by curl_uv. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_uv.h"
#include "http.h"
#include "nines/clock.h"
#include "nines/err.h"

#define HTTP_USER_AGENT "nines-probe/0.1"
#define HTTP_DEFAULT_EXPECT "200-399"
#define HTTP_BODY_KEEP 1024             /* body bytes kept in memory, at most */
#define HTTP_METHOD_MAX 16

/* OpenSSL's X509_V_ERR_* values, as CURLINFO_SSL_VERIFYRESULT reports them. */
#define HTTP_X509_OK 0
#define HTTP_X509_UNSPECIFIED 1
#define HTTP_X509_CERT_HAS_EXPIRED 10
#define HTTP_X509_HOSTNAME_MISMATCH 62

struct http_check {
    CURL *easy;
    struct check_http_expect expect;
    int64_t body_limit;             /* max_body_bytes: read at most this */
    int64_t body_read;              /* bytes read, up to body_limit */
    int64_t body_dropped;           /* bytes past body_limit, counted and discarded */
    size_t body_len;                /* bytes kept in body */
    char body[HTTP_BODY_KEEP];
    char errbuf[CURL_ERROR_SIZE];
    uint64_t started_ns;            /* uv_hrtime() at start */
    struct nines_result result;
    check_done_cb *done;
    void *done_arg;
};

static const char *http_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Reads one three-digit status code (100-599) at *pp. */
static int http_parse_code(const char **pp, int *code)
{
    const char *p = http_skip_space(*pp);
    int v = 0;
    int digits = 0;

    while (*p >= '0' && *p <= '9') {
        if (++digits > 3)
            return NINES_EINVAL;
        v = v * 10 + (*p - '0');
        p++;
    }
    if (digits != 3 || v < 100 || v > 599)
        return NINES_EINVAL;
    *code = v;
    *pp = http_skip_space(p);
    return 0;
}

int check_http_expect_parse(const char *spec, struct check_http_expect *e)
{
    const char *p = spec;
    int lo;
    int hi;

    memset(e, 0, sizeof(*e));
    if (!spec || strlen(spec) >= sizeof(e->text))
        return NINES_EINVAL;
    for (;;) {
        if (e->count == CHECK_HTTP_EXPECT_MAX || http_parse_code(&p, &lo) != 0)
            goto bad;
        hi = lo;
        if (*p == '-') {
            p++;
            if (http_parse_code(&p, &hi) != 0 || hi < lo)
                goto bad;
        }
        e->range[e->count].lo = lo;
        e->range[e->count].hi = hi;
        e->count++;
        if (*p == '\0')
            break;
        if (*p != ',')
            goto bad;
        p++;
    }
    memcpy(e->text, spec, strlen(spec) + 1);
    return 0;

bad:
    memset(e, 0, sizeof(*e));
    return NINES_EINVAL;
}

int check_http_expect_match(const struct check_http_expect *e, int code)
{
    for (int i = 0; i < e->count; i++) {
        if (code >= e->range[i].lo && code <= e->range[i].hi)
            return 1;
    }
    return 0;
}

/* Why verification failed, from OpenSSL's verify result. */
static const char *http_tls_reason(long verify_result)
{
    if (verify_result == HTTP_X509_CERT_HAS_EXPIRED)
        return "tls_cert_expired";
    /*
     * curl 7.88 checks the host name itself once OpenSSL has accepted the
     * chain, with the verify result preset to !X509_V_OK (1): a name mismatch
     * reads 1 (measured), never X509_V_ERR_HOSTNAME_MISMATCH; take that too.
     */
    if (verify_result == HTTP_X509_HOSTNAME_MISMATCH || verify_result == HTTP_X509_OK ||
        verify_result == HTTP_X509_UNSPECIFIED)
        return "tls_cert_hostname";
    return "tls_cert_untrusted";
}

enum nines_outcome check_http_classify(CURLcode rc, long verify_result, int connected,
                                       const char **reason)
{
    switch (rc) {
    case CURLE_OK:
        *reason = "";
        return NINES_OUTCOME_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
        *reason = "dns_failure";
        return NINES_OUTCOME_FAIL;
    case CURLE_COULDNT_CONNECT:
        *reason = "connect_refused";
        return NINES_OUTCOME_FAIL;
    case CURLE_OPERATION_TIMEDOUT:
        *reason = connected ? "timeout" : "connect_timeout";
        return NINES_OUTCOME_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
        *reason = http_tls_reason(verify_result);
        return NINES_OUTCOME_FAIL;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
        *reason = "tls_handshake";
        return NINES_OUTCOME_FAIL;
    case CURLE_TOO_MANY_REDIRECTS:
        *reason = "too_many_redirects";
        return NINES_OUTCOME_FAIL;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        *reason = "connection_closed";
        return NINES_OUTCOME_FAIL;
    case CURL_UV_ABORTED:
        *reason = "cancelled";
        return NINES_OUTCOME_ERROR;
    default:
        *reason = "error";
        return NINES_OUTCOME_ERROR;
    }
}

/* CURLOPT_WRITEFUNCTION: never aborts, so a large body still ends in a status. */
static size_t http_check_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_check *hc = arg;
    size_t n = size * nmemb;
    size_t take = n;
    size_t keep;

    if ((int64_t)take > hc->body_limit - hc->body_read)
        take = (size_t)(hc->body_limit - hc->body_read);
    keep = sizeof(hc->body) - hc->body_len;
    if (keep > take)
        keep = take;
    memcpy(hc->body + hc->body_len, data, keep);
    hc->body_len += keep;
    hc->body_read += (int64_t)take;
    hc->body_dropped += (int64_t)(n - take);
    return n;
}

/* A phase curl never reached reads 0 (reached ones are at least 1 us). */
static int64_t http_phase_us(CURL *easy, CURLINFO info)
{
    curl_off_t v = 0;

    if (curl_easy_getinfo(easy, info, &v) != CURLE_OK || v <= 0)
        return -1;
    return (int64_t)v;
}

static void http_check_fill(struct http_check *hc, CURLcode rc)
{
    struct nines_result *r = &hc->result;
    enum nines_outcome outcome;
    const char *reason;
    long status = 0;
    long verify = 0;

    r->total_us = http_phase_us(hc->easy, CURLINFO_TOTAL_TIME_T);
    if (r->total_us < 0)
        r->total_us = (int64_t)((uv_hrtime() - hc->started_ns) / 1000);
    r->dns_us = http_phase_us(hc->easy, CURLINFO_NAMELOOKUP_TIME_T);
    r->connect_us = http_phase_us(hc->easy, CURLINFO_CONNECT_TIME_T);
    r->tls_us = http_phase_us(hc->easy, CURLINFO_APPCONNECT_TIME_T);
    r->ttfb_us = http_phase_us(hc->easy, CURLINFO_STARTTRANSFER_TIME_T);
    curl_easy_getinfo(hc->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(hc->easy, CURLINFO_SSL_VERIFYRESULT, &verify);
    r->code = status > 0 && status < 1000 ? (int)status : 0;

    outcome = check_http_classify(rc, verify, r->connect_us > 0, &reason);
    if (outcome == NINES_OUTCOME_OK && !check_http_expect_match(&hc->expect, r->code)) {
        outcome = NINES_OUTCOME_FAIL;
        reason = "http_status";
        snprintf(r->message, sizeof(r->message), "HTTP %d, expected %s", r->code,
                 hc->expect.text);
    } else if (rc == CURL_UV_ABORTED) {
        snprintf(r->message, sizeof(r->message), "check cancelled before it finished");
    } else if (outcome != NINES_OUTCOME_OK) {
        snprintf(r->message, sizeof(r->message), "%s",
                 hc->errbuf[0] ? hc->errbuf : curl_easy_strerror(rc));
    }
    r->outcome = outcome;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

static void http_check_on_done(CURL *easy, CURLcode rc, void *arg)
{
    struct http_check *hc = arg;
    check_done_cb *done = hc->done;
    void *done_arg = hc->done_arg;
    struct nines_result r;

    http_check_fill(hc, rc);
    r = hc->result;
    curl_easy_cleanup(easy);
    free(hc);
    done(&r, done_arg);
}

static int http_valid_method(const char *m)
{
    size_t n = strlen(m);

    if (n == 0 || n > HTTP_METHOD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((m[i] >= 'A' && m[i] <= 'Z') || (m[i] >= 'a' && m[i] <= 'z') ||
              (m[i] >= '0' && m[i] <= '9') || m[i] == '-' || m[i] == '_'))
            return 0;
    }
    return 1;
}

static int http_check_validate(const struct nines_check *c)
{
    const struct nines_http_opts *o = &c->http;

    if (c->kind != NINES_KIND_HTTP || !o->url || !o->url[0] || c->timeout_ms <= 0 ||
        c->timeout_ms > LONG_MAX || o->follow_redirects < 0 || o->max_body_bytes < 0)
        return NINES_EINVAL;
    if (o->method && !http_valid_method(o->method))
        return NINES_EINVAL;
    return 0;
}

static int http_setopt_result(CURLcode rc)
{
    if (rc == CURLE_OK)
        return 0;
    return rc == CURLE_OUT_OF_MEMORY ? NINES_ENOMEM : NINES_EINVAL;
}

#define HTTP_SETOPT(easy, opt, val)                                        \
    do {                                                                   \
        int err_ = http_setopt_result(curl_easy_setopt(easy, opt, val));   \
        if (err_)                                                          \
            return err_;                                                   \
    } while (0)

static int http_check_configure(struct http_check *hc, const struct nines_check *c)
{
    const struct nines_http_opts *o = &c->http;
    CURL *e = hc->easy;

    HTTP_SETOPT(e, CURLOPT_URL, o->url);
    HTTP_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    HTTP_SETOPT(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    HTTP_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    /* A reused connection reads 0 for connect and TLS times: never reuse. */
    HTTP_SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
    HTTP_SETOPT(e, CURLOPT_FORBID_REUSE, 1L);
    /* Resolve on every run, so DNS time and DNS failures are measured. */
    HTTP_SETOPT(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    HTTP_SETOPT(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
    HTTP_SETOPT(e, CURLOPT_ERRORBUFFER, hc->errbuf);
    HTTP_SETOPT(e, CURLOPT_WRITEFUNCTION, http_check_on_body);
    HTTP_SETOPT(e, CURLOPT_WRITEDATA, hc);
    HTTP_SETOPT(e, CURLOPT_FOLLOWLOCATION, o->follow_redirects > 0 ? 1L : 0L);
    if (o->follow_redirects > 0)
        HTTP_SETOPT(e, CURLOPT_MAXREDIRS, (long)o->follow_redirects);
    HTTP_SETOPT(e, CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    HTTP_SETOPT(e, CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    if (o->method && strcmp(o->method, "HEAD") == 0)
        HTTP_SETOPT(e, CURLOPT_NOBODY, 1L);
    else if (o->method && strcmp(o->method, "GET") != 0)
        HTTP_SETOPT(e, CURLOPT_CUSTOMREQUEST, o->method);
    return 0;
}

int check_http_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg)
{
    struct http_check *hc;
    int err;

    err = http_check_validate(c);
    if (err)
        return err;
    hc = calloc(1, sizeof(*hc));
    if (!hc)
        return NINES_ENOMEM;
    err = check_http_expect_parse(c->http.expect_status ? c->http.expect_status
                                                        : HTTP_DEFAULT_EXPECT, &hc->expect);
    if (err)
        goto fail;
    hc->body_limit = c->http.max_body_bytes;
    hc->done = done;
    hc->done_arg = arg;
    nines_result_init(&hc->result);
    snprintf(hc->result.check_id, sizeof(hc->result.check_id), "%s", c->id ? c->id : "");
    err = NINES_ENOMEM;
    hc->easy = curl_easy_init();
    if (!hc->easy)
        goto fail;
    err = http_check_configure(hc, c);
    if (err)
        goto fail;
    hc->result.start_ms = nines_wall_ms();
    hc->started_ns = uv_hrtime();
    err = curl_uv_add(env->curl, hc->easy, http_check_on_done, hc);
    if (err)
        goto fail;
    return 0;

fail:
    if (hc->easy)
        curl_easy_cleanup(hc->easy);
    free(hc);
    return err;
}
