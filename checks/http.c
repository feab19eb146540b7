/*
 * HTTP(S) checks: easy handles driven by curl_uv. One check is one run; a run
 * makes one transfer, or one per address of the host (all_addresses), and
 * reports one result built from its transfers' verdicts.
 *
 * A run is freed when its last reference goes: its timer, its cancellation
 * watch and its getaddrinfo request (all_addresses), and each transfer in
 * flight hold one each.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "curl_uv.h"
#include "fmt.h"
#include "http.h"
#include "jsoncond.h"
#include "jsonw.h"
#include "nines/clock.h"
#include "nines/config.h"
#include "nines/err.h"
#include "regexguard.h"

#define HTTP_USER_AGENT "nines-probe/0.1"
#define HTTP_DEFAULT_EXPECT "200-399"
#define HTTP_METHOD_MAX 16
#define HTTP_BODY_START 1024            /* body bytes shown in a failed result's facts */
#define HTTP_BODY_FIRST_CAP 16384       /* first allocation when conditions keep the body */
#define HTTP_HDR_KEEP 65536             /* response header bytes kept, at most */
#define HTTP_HDR_FIRST_CAP 2048
#define HTTP_STATUS_LINE_MAX 256
#define HTTP_ADDR_MAX 16                /* addresses probed by all_addresses */
#define HTTP_ADDR_LEN 64
#define HTTP_SECRET_MAX 4096            /* longest secret, with its NUL */
#define HTTP_SHOW 60                    /* bytes of a configured text quoted in a message */
#define HTTP_NAME_LEN 256               /* certificate subject and issuer */
#define HTTP_HOST_MAX 253

/* OpenSSL's X509_V_ERR_* values, as CURLINFO_SSL_VERIFYRESULT reports them. */
#define HTTP_X509_OK 0
#define HTTP_X509_UNSPECIFIED 1
#define HTTP_X509_CERT_HAS_EXPIRED 10
#define HTTP_X509_HOSTNAME_MISMATCH 62

/* The leaf certificate a TLS handshake presented, read as it was verified. */
struct http_cert {
    int have;
    int64_t not_after;              /* seconds since the epoch */
    char subject[HTTP_NAME_LEN];
    char issuer[HTTP_NAME_LEN];
};

/* What one transfer came to. */
struct http_verdict {
    enum nines_outcome outcome;
    int code;
    long verify_result;             /* CURLINFO_SSL_VERIFYRESULT, for TLS failures */
    int tls_failed;
    int64_t total_us;
    int64_t dns_us;
    int64_t connect_us;
    int64_t tls_us;
    int64_t ttfb_us;
    char reason[NINES_REASON_LEN];
    char message[NINES_MESSAGE_LEN];
};

struct http_run;

/* One transfer: its easy handle and what it received. */
struct http_xfer {
    struct http_run *run;
    CURL *easy;                     /* NULL once the transfer is done */
    struct curl_slist *connect_to;  /* owned; curl only borrows it */
    char address[HTTP_ADDR_LEN];    /* all_addresses: the address it is pinned to */
    char errbuf[CURL_ERROR_SIZE];
    char *body;                     /* NUL-terminated; body_len bytes kept */
    size_t body_len;
    size_t body_cap;
    size_t body_keep;               /* keep at most this many bytes */
    int64_t body_read;              /* bytes read, up to max_body_bytes */
    int64_t body_total;             /* bytes received, the discarded rest included */
    int body_oom;
    char *hdr;                      /* the last response's header lines, NUL-terminated */
    size_t hdr_len;
    size_t hdr_cap;
    char status_line[HTTP_STATUS_LINE_MAX];
    struct http_cert cert;
    struct http_verdict v;
};

struct http_hdr_cond {
    char *name;
    enum nines_header_op op;
    char *value;
    regex_t re;
    int has_re;
};

struct http_run {
    struct check_env *env;
    uv_timer_t timer;               /* deadline of the resolution, or a deferred finish */
    uv_check_t watch;               /* all_addresses: notices check_env_close */
    uv_getaddrinfo_t gai;
    int refs;
    int watch_open;
    int gai_pending;
    int finished;                   /* done has been called */
    int early;                      /* the result was set without a transfer verdict */
    CURL *tmpl;                     /* configured; the transfer itself, or duplicated */
    struct curl_slist *headers;     /* request headers, Authorization included */
    struct check_http_expect expect;
    int64_t timeout_ms;
    int64_t body_limit;
    int64_t latency_objective_ms;
    int cert_min_days;
    int body_conds;                 /* a body condition needs the body kept */
    char *contains;
    char *not_contains;
    char *regex_text;
    regex_t body_re;
    int has_body_re;
    char *json_text;
    struct nines_json_cond json;
    int has_json;
    struct http_hdr_cond *hconds;
    size_t nhconds;
    char *secret;                   /* wiped before it is freed */
    char *basic_token;              /* base64 of user:secret, wiped too */
    /* all_addresses */
    int all_addresses;
    int ip_version;
    char *gai_host;                 /* the URL's host, without brackets */
    char *req_host;                 /* the host the request names, as in a URL */
    char *resolve_entry;            /* CONNECT_TO entry from the resolve option */
    int listed;                     /* all_addresses probes resolve's addresses */
    size_t nlisted;
    long port;
    int64_t resolve_us;
    uint64_t started_ns;
    size_t nxfer;
    size_t xfers_done;
    struct http_xfer *xfer[HTTP_ADDR_MAX];
    check_done_cb *done;
    void *done_arg;
    /*
     * The large members last: check_http_start zeroes only what comes before
     * listed_addr (6 KiB of zeroes per run showed in the profile); listed_addr
     * is read only below nlisted, result is set by nines_result_begin.
     */
    char listed_addr[HTTP_ADDR_MAX][HTTP_ADDR_LEN];
    struct nines_result result;
};

/* Options validated and pre-digested by http_run_prepare. */
struct http_target {
    char *url;                      /* the URL to request: host replaced by tls_server_name */
    char *connect_to;               /* the entry pinning it, or NULL */
};

static void http_run_finish(struct http_run *run);
static void http_msg_append(char *msg, size_t len, const char *fmt, ...);

/* ---- status expectations ---------------------------------------------- */

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

/* ---- classification ----------------------------------------------------- */

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

/* ---- small text helpers ------------------------------------------------- */

/* First occurrence of needle (nlen > 0) in hay, or NULL. Binary-safe. */
static const char *http_find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    const char *p = hay;
    const char *end = hay + hlen;

    while (nlen > 0 && (size_t)(end - p) >= nlen) {
        p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1);
        if (!p)
            return NULL;
        if (memcmp(p, needle, nlen) == 0)
            return p;
        p++;
    }
    return NULL;
}

/* Overwrites every occurrence of needle in s[0..len) with '*'. */
static void http_scrub(char *s, size_t len, const char *needle)
{
    size_t nlen = needle ? strlen(needle) : 0;
    char *p = s;

    while (nlen > 0 && p < s + len) {
        p = (char *)http_find(p, len - (size_t)(p - s), needle, nlen);
        if (!p)
            return;
        memset(p, '*', nlen);
        p += nlen;
    }
}

/*
 * Copies n bytes of in as printable, valid UTF-8 into out (room for n + 1):
 * control bytes other than tab and line ends become '.', bytes that are not
 * valid UTF-8 become '?'. The copy is never longer than the input, so out
 * may be in itself.
 */
static void http_sanitize(const char *in, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    size_t o = 0;
    size_t len;

    while (i < n) {
        if (s[i] < 0x80) {
            out[o++] = (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') ||
                       s[i] == 0x7f ? '.' : (char)s[i];
            i++;
        } else if ((len = jsonw_utf8_len(s + i, n - i)) > 0) {
            memmove(out + o, s + i, len);   /* out may be in (never after) in */
            o += len;
            i += len;
        } else {
            out[o++] = '?';
            i++;
        }
    }
    out[o] = '\0';
}

/* Quotes a configured text for a message, cut to HTTP_SHOW bytes. */
static const char *http_show(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s);

    if (n <= HTTP_SHOW) {
        snprintf(buf, len, "%s", s);
    } else {
        snprintf(buf, len, "%.*s...", HTTP_SHOW, s);
    }
    http_sanitize(buf, strlen(buf), buf);
    return buf;
}

static void http_set_text(char *dst, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, len, fmt, ap);
    va_end(ap);
}

static char *http_strdup_or(const char *s, int *failed)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

/* Frees s after overwriting it. */
static void http_wipe_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* Appends a copy of s to *l (left as it was on failure). */
static int http_slist_add(struct curl_slist **l, const char *s)
{
    struct curl_slist *n = curl_slist_append(*l, s);

    if (!n)
        return NINES_ENOMEM;
    *l = n;
    return 0;
}

static void http_slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next) {
        if (p->data)
            OPENSSL_cleanse(p->data, strlen(p->data));
    }
    curl_slist_free_all(l);
}

/* ---- transfer callbacks --------------------------------------------------- */

/* Keeps up to x->body_keep bytes, growing the buffer geometrically. */
static void http_xfer_keep(struct http_xfer *x, const char *data, size_t n)
{
    size_t want;
    size_t cap;
    char *grown;

    if (n > x->body_keep - x->body_len)
        n = x->body_keep - x->body_len;
    if (n == 0 || x->body_oom)
        return;
    want = x->body_len + n;
    if (want > x->body_cap) {
        cap = x->body_cap ? x->body_cap : HTTP_BODY_FIRST_CAP;
        while (cap < want)
            cap = cap > x->body_keep / 2 ? x->body_keep : cap * 2;
        if (cap > x->body_keep)
            cap = x->body_keep;
        grown = realloc(x->body, cap + 1);
        if (!grown) {
            x->body_oom = 1;
            return;
        }
        x->body = grown;
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, data, n);
    x->body_len += n;
    x->body[x->body_len] = '\0';
}

/* CURLOPT_WRITEFUNCTION: never aborts, so a large body still ends in a status. */
static size_t http_xfer_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_xfer *x = arg;
    size_t n = size * nmemb;
    int64_t room = x->run->body_limit - x->body_read;
    size_t take = n;

    if ((int64_t)take > room)
        take = room > 0 ? (size_t)room : 0;
    x->body_read += (int64_t)take;
    x->body_total += (int64_t)n;
    http_xfer_keep(x, data, take);
    return n;
}

/*
 * CURLOPT_HEADERFUNCTION: keeps the last response's status line and at most
 * HTTP_HDR_KEEP bytes of its header lines (a status line starts a response:
 * redirects, 100 Continue and proxy answers come first).
 */
static size_t http_xfer_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_xfer *x = arg;
    size_t n = size * nmemb;
    size_t line = n;
    char *grown;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        while (line > 0 && (data[line - 1] == '\r' || data[line - 1] == '\n'))
            line--;
        if (line >= sizeof(x->status_line))
            line = sizeof(x->status_line) - 1;
        memcpy(x->status_line, data, line);
        x->status_line[line] = '\0';
        x->hdr_len = 0;
        if (x->hdr)
            x->hdr[0] = '\0';
        return n;
    }
    if (n > HTTP_HDR_KEEP - x->hdr_len)
        return n;
    if (x->hdr_len + n > x->hdr_cap) {
        size_t cap = x->hdr_cap ? x->hdr_cap : HTTP_HDR_FIRST_CAP;

        while (cap < x->hdr_len + n)
            cap *= 2;
        grown = realloc(x->hdr, cap + 1);
        if (!grown)
            return n;
        x->hdr = grown;
        x->hdr_cap = cap;
    }
    memcpy(x->hdr + x->hdr_len, data, n);
    x->hdr_len += n;
    x->hdr[x->hdr_len] = '\0';
    return n;
}

/* Copies a certificate name as one line of RFC 2253 text. */
static void http_cert_name(const X509_NAME *name, char *out, size_t len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int n = 0;

    out[0] = '\0';
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
        n = BIO_read(bio, out, (int)len - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(bio);
    http_sanitize(out, strlen(out), out);
}

/*
 * OpenSSL's certificate verification, installed through CURLOPT_SSL_CTX_FUNCTION:
 * records the leaf certificate, then verifies as OpenSSL would have. It runs
 * whether or not the chain verifies (and with verify_tls off), which certinfo
 * does not: an expired certificate still reports its expiry.
 */
static int http_xfer_on_verify(X509_STORE_CTX *store, void *arg)
{
    struct http_xfer *x = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    struct tm tm;

    if (leaf) {
        memset(&tm, 0, sizeof(tm));
        x->cert.have = ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1;
        x->cert.not_after = (int64_t)timegm(&tm);
        http_cert_name(X509_get_subject_name(leaf), x->cert.subject, sizeof(x->cert.subject));
        http_cert_name(X509_get_issuer_name(leaf), x->cert.issuer, sizeof(x->cert.issuer));
    }
    return X509_verify_cert(store);
}

static CURLcode http_xfer_on_ssl_ctx(CURL *easy, void *ssl_ctx, void *arg)
{
    (void)easy;
    SSL_CTX_set_cert_verify_callback(ssl_ctx, http_xfer_on_verify, arg);
    return CURLE_OK;
}

/* ---- judging one transfer ------------------------------------------------- */

/* A phase curl never reached reads 0 (reached ones are at least 1 us). */
static int64_t http_phase_us(CURL *easy, CURLINFO info)
{
    curl_off_t v = 0;

    if (curl_easy_getinfo(easy, info, &v) != CURLE_OK || v <= 0)
        return -1;
    return (int64_t)v;
}

static void http_xfer_timings(struct http_xfer *x)
{
    struct http_verdict *v = &x->v;

    v->total_us = http_phase_us(x->easy, CURLINFO_TOTAL_TIME_T);
    if (v->total_us < 0)
        v->total_us = (int64_t)((uv_hrtime() - x->run->started_ns) / 1000) - x->run->resolve_us;
    v->dns_us = http_phase_us(x->easy, CURLINFO_NAMELOOKUP_TIME_T);
    v->connect_us = http_phase_us(x->easy, CURLINFO_CONNECT_TIME_T);
    v->tls_us = http_phase_us(x->easy, CURLINFO_APPCONNECT_TIME_T);
    v->ttfb_us = http_phase_us(x->easy, CURLINFO_STARTTRANSFER_TIME_T);
}

/* Finds the value of the first header line named name at or after *pos. */
static int http_hdr_next(const char *hdr, size_t len, size_t *pos, const char *name,
                         const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);

    while (*pos < len) {
        const char *line = hdr + *pos;
        const char *eol = memchr(line, '\n', len - *pos);
        size_t llen = eol ? (size_t)(eol - line) : len - *pos;

        *pos += llen + 1;
        if (llen <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
            continue;
        *val = line + nlen + 1;
        *vlen = llen - nlen - 1;
        while (*vlen > 0 && (**val == ' ' || **val == '\t')) {
            (*val)++;
            (*vlen)--;
        }
        while (*vlen > 0 && ((*val)[*vlen - 1] == '\r' || (*val)[*vlen - 1] == ' ' ||
                             (*val)[*vlen - 1] == '\t'))
            (*vlen)--;
        return 1;
    }
    return 0;
}

static int http_hdr_value_ok(const struct http_hdr_cond *hc, const char *val, size_t vlen)
{
    regmatch_t m[1];

    switch (hc->op) {
    case NINES_HDR_EQUALS:
        return vlen == strlen(hc->value) && memcmp(val, hc->value, vlen) == 0;
    case NINES_HDR_REGEX:
        m[0].rm_so = 0;
        m[0].rm_eo = (regoff_t)vlen;
        return regexec(&hc->re, val, 1, m, REG_STARTEND) == 0;
    default:
        return 1;
    }
}

/* Checks one header condition; on failure writes the message and returns 0. */
static int http_hdr_cond_ok(struct http_xfer *x, const struct http_hdr_cond *hc)
{
    const char *hdr = x->hdr ? x->hdr : "";
    size_t pos = 0;
    const char *val = NULL;
    size_t vlen = 0;
    size_t first_len = 0;
    const char *first = NULL;
    char shown[HTTP_SHOW + 8];
    char want[HTTP_SHOW + 8];

    while (http_hdr_next(hdr, x->hdr_len, &pos, hc->name, &val, &vlen)) {
        if (http_hdr_value_ok(hc, val, vlen))
            return 1;
        if (!first) {
            first = val;
            first_len = vlen;
        }
    }
    if (!first) {
        http_set_text(x->v.message, sizeof(x->v.message), "header %s is missing",
                      http_show(hc->name, want, sizeof(want)));
        return 0;
    }
    if (first_len > HTTP_SHOW)
        first_len = HTTP_SHOW;
    http_sanitize(first, first_len, shown);
    http_set_text(x->v.message, sizeof(x->v.message), "header %s is \"%s\", expected %s%s%s",
                  hc->name, shown, hc->op == NINES_HDR_REGEX ? "a match of /" : "\"",
                  http_show(hc->value, want, sizeof(want)),
                  hc->op == NINES_HDR_REGEX ? "/" : "\"");
    return 0;
}

/* Body conditions; on failure writes the message and returns the reason. */
static const char *http_body_judge(struct http_xfer *x)
{
    struct http_run *run = x->run;
    const char *body = x->body ? x->body : "";
    char shown[HTTP_SHOW + 8];
    regmatch_t m[1];

    if (x->body_oom) {
        http_set_text(x->v.message, sizeof(x->v.message), "out of memory keeping the body");
        return "error";
    }
    if (run->contains && !http_find(body, x->body_len, run->contains, strlen(run->contains))) {
        http_set_text(x->v.message, sizeof(x->v.message), "body does not contain \"%s\"",
                      http_show(run->contains, shown, sizeof(shown)));
        return "body_mismatch";
    }
    if (run->not_contains &&
        http_find(body, x->body_len, run->not_contains, strlen(run->not_contains))) {
        http_set_text(x->v.message, sizeof(x->v.message), "body contains \"%s\"",
                      http_show(run->not_contains, shown, sizeof(shown)));
        return "body_mismatch";
    }
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)x->body_len;
    if (run->has_body_re && regexec(&run->body_re, body, 1, m, REG_STARTEND) != 0) {
        http_set_text(x->v.message, sizeof(x->v.message), "body does not match /%s/",
                      http_show(run->regex_text, shown, sizeof(shown)));
        return "body_mismatch";
    }
    return NULL;
}

/* The condition's path as written: "checks.db.ok". */
static void http_json_path(const struct nines_json_cond *c, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < c->nseg; i++)
        http_msg_append(buf, len, "%s%s", i ? "." : "", c->text + c->seg[i]);
}

/* Why the condition does not hold: "status is \"DOWN\"", "status not found". */
static void http_json_why(const struct http_run *run, const json_t *doc, int rc, char *msg,
                          size_t len)
{
    const json_t *val = nines_json_cond_lookup(&run->json, doc);
    char path[HTTP_SHOW + 8];
    char full[NINES_JSON_COND_MAX];
    char shown[HTTP_SHOW + 8];
    char *text = val ? json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    http_json_path(&run->json, full, sizeof(full));
    http_show(full, path, sizeof(path));
    http_set_text(msg, len, "json_condition %s is false: ",
                  http_show(run->json_text, shown, sizeof(shown)));
    if (rc == NINES_ENOTFOUND || !val)
        http_msg_append(msg, len, "%s not found", path);
    else
        http_msg_append(msg, len, "%s is %s%s", path, http_show(text ? text : "?", shown,
                                                                 sizeof(shown)),
                        rc == NINES_EINVAL ? ", not a number" : "");
    free(text);
}

/* The JSON condition on the body; on failure writes the message, returns the reason. */
static const char *http_json_judge(struct http_xfer *x)
{
    struct http_run *run = x->run;
    json_error_t jerr;
    json_t *doc;
    int rc;

    doc = json_loadb(x->body ? x->body : "", x->body_len, JSON_DECODE_ANY, &jerr);
    if (!doc) {
        http_set_text(x->v.message, sizeof(x->v.message), "body is not JSON%s: %s",
                      x->body_read < x->body_total ? " (cut at max_body_bytes)" : "",
                      jerr.text);
        return "json_invalid";
    }
    rc = nines_json_cond_eval(&run->json, doc);
    if (rc != 1)
        http_json_why(run, doc, rc, x->v.message, sizeof(x->v.message));
    json_decref(doc);
    return rc == 1 ? NULL : "json_condition";
}

/* Status, header, body and JSON conditions of a completed exchange. */
static void http_xfer_judge_response(struct http_xfer *x)
{
    struct http_run *run = x->run;
    struct http_verdict *v = &x->v;
    const char *reason = NULL;

    if (!check_http_expect_match(&run->expect, v->code)) {
        http_set_text(v->message, sizeof(v->message), "HTTP %d, expected %s", v->code,
                      run->expect.text);
        reason = "http_status";
    }
    for (size_t i = 0; !reason && i < run->nhconds; i++) {
        if (!http_hdr_cond_ok(x, &run->hconds[i]))
            reason = "header_mismatch";
    }
    if (!reason)
        reason = http_body_judge(x);
    if (!reason && run->has_json)
        reason = http_json_judge(x);
    if (!reason)
        return;
    v->outcome = strcmp(reason, "error") == 0 ? NINES_OUTCOME_ERROR : NINES_OUTCOME_FAIL;
    snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

static void http_xfer_judge(struct http_xfer *x, CURLcode rc)
{
    struct http_verdict *v = &x->v;
    const char *reason;
    long status = 0;

    http_xfer_timings(x);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_SSL_VERIFYRESULT, &v->verify_result);
    v->code = status > 0 && status < 1000 ? (int)status : 0;
    v->outcome = check_http_classify(rc, v->verify_result, v->connect_us > 0, &reason);
    v->tls_failed = rc == CURLE_PEER_FAILED_VERIFICATION;
    /*
     * TLS 1.3 servers refuse a client (no client certificate, say) with an
     * alert after the client's side of the handshake is done: curl reports a
     * receive error carrying OpenSSL's "... alert ..." text.
     */
    if ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) &&
        strstr(x->errbuf, "SSL routines") && strstr(x->errbuf, " alert "))
        reason = "tls_handshake";
    snprintf(v->reason, sizeof(v->reason), "%s", reason);
    if (rc == CURL_UV_ABORTED)
        http_set_text(v->message, sizeof(v->message), "check cancelled before it finished");
    else if (v->outcome != NINES_OUTCOME_OK)
        http_set_text(v->message, sizeof(v->message), "%s",
                      x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    else
        http_xfer_judge_response(x);
}

/* ---- facts ----------------------------------------------------------------- */

static int64_t http_days_left(const struct http_cert *c)
{
    int64_t left = c->not_after - (int64_t)time(NULL);

    /* floor: a certificate that expired an hour ago has -1 days left */
    return left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
}

static void http_cert_put(struct jsonw *w, const struct http_cert *c)
{
    char when[32];
    time_t t = (time_t)c->not_after;
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(when, sizeof(when), "?");
    jsonw_obj_open(w);
    jsonw_key(w, "subject");
    jsonw_str(w, c->subject);
    jsonw_key(w, "issuer");
    jsonw_str(w, c->issuer);
    jsonw_key(w, "not_after");
    jsonw_str(w, when);
    jsonw_key(w, "days_left");
    jsonw_int(w, http_days_left(c));
    jsonw_obj_close(w);
}

/* The first HTTP_BODY_START bytes of the body, secrets masked, as printable text. */
static void http_body_start_text(const struct http_run *run, const struct http_xfer *x,
                                 char *text)
{
    char raw[HTTP_BODY_START];
    size_t n = x->body_len < sizeof(raw) ? x->body_len : sizeof(raw);

    if (n > 0)
        memcpy(raw, x->body, n);
    http_scrub(raw, n, run->secret);
    http_scrub(raw, n, run->basic_token);
    http_sanitize(raw, n, text);
    OPENSSL_cleanse(raw, sizeof(raw));
}

static void http_addresses_put(struct jsonw *w, const struct http_run *run)
{
    jsonw_arr_open(w);
    for (size_t i = 0; i < run->nxfer; i++) {
        const struct http_xfer *x = run->xfer[i];

        jsonw_obj_open(w);
        jsonw_key(w, "address");
        jsonw_str(w, x->address);
        jsonw_key(w, "outcome");
        jsonw_str(w, nines_outcome_name(x->v.outcome));
        jsonw_key(w, "code");
        jsonw_int(w, x->v.code);
        jsonw_key(w, "total_us");
        jsonw_int(w, x->v.total_us);
        if (x->v.reason[0]) {
            jsonw_key(w, "reason");
            jsonw_str(w, x->v.reason);
        }
        jsonw_obj_close(w);
    }
    jsonw_arr_close(w);
}

/* Members the facts can do without, least important first (HTTP_FACTS_DROP). */
enum {
    HTTP_FACT_BODY_START = 1,
    HTTP_FACT_ADDRESSES = 2,
    HTTP_FACT_CERT = 4,
    HTTP_FACT_STATUS_LINE = 8,
};

/* The cert to report: the one closest to expiry among the transfers. */
static const struct http_cert *http_run_cert(const struct http_run *run)
{
    const struct http_cert *best = NULL;

    for (size_t i = 0; i < run->nxfer; i++) {
        const struct http_cert *c = &run->xfer[i]->cert;

        if (c->have && (!best || c->not_after < best->not_after))
            best = c;
    }
    return best;
}

/*
 * Writes the facts into the result, without the members in drop; 0, or -1
 * if they do not fit. line and body are the sanitised status line and body
 * start, or NULL when the run has none to report.
 */
static int http_facts_write(struct http_run *run, const struct http_xfer *rep,
                            const struct http_cert *cert, const char *line, const char *body,
                            unsigned drop)
{
    struct jsonw w;

    jsonw_init(&w, run->result.facts, sizeof(run->result.facts));
    jsonw_obj_open(&w);
    jsonw_key(&w, "body_bytes");
    jsonw_int(&w, rep->body_total);
    if (run->body_conds && rep->body_total > rep->body_read) {
        jsonw_key(&w, "body_truncated");
        jsonw_bool(&w, 1);
    }
    if (line && !(drop & HTTP_FACT_STATUS_LINE)) {
        jsonw_key(&w, "status_line");
        jsonw_str(&w, line);
    }
    if (body && !(drop & HTTP_FACT_BODY_START)) {
        jsonw_key(&w, "body_start");
        jsonw_str(&w, body);
    }
    if (cert && !(drop & HTTP_FACT_CERT)) {
        jsonw_key(&w, "cert");
        http_cert_put(&w, cert);
    }
    if (rep->v.tls_failed) {
        jsonw_key(&w, "tls_verify_result");
        jsonw_int(&w, rep->v.verify_result);
    }
    if (run->all_addresses && run->nxfer > 0 && !(drop & HTTP_FACT_ADDRESSES)) {
        jsonw_key(&w, "addresses");
        http_addresses_put(&w, run);
    }
    jsonw_obj_close(&w);
    return w.full ? -1 : 0;
}

/*
 * The facts, written with lib/jsonw as json_dumps wrote them (building and
 * dumping a jansson object was 4 % of a check's instructions). When they do
 * not fit, the least important members go first (body_start, addresses,
 * cert, status_line) until they do.
 */
static void http_run_facts(struct http_run *run, const struct http_xfer *rep)
{
    static const unsigned drop[] = { 0, HTTP_FACT_BODY_START,
                                     HTTP_FACT_BODY_START | HTTP_FACT_ADDRESSES,
                                     HTTP_FACT_BODY_START | HTTP_FACT_ADDRESSES | HTTP_FACT_CERT,
                                     HTTP_FACT_BODY_START | HTTP_FACT_ADDRESSES | HTTP_FACT_CERT |
                                         HTTP_FACT_STATUS_LINE };
    const struct http_cert *cert = http_run_cert(run);
    char line[HTTP_STATUS_LINE_MAX];
    char body[HTTP_BODY_START + 1];
    int failed_with_line;

    if (!rep)
        return;
    failed_with_line = run->result.outcome != NINES_OUTCOME_OK && rep->status_line[0];
    if (failed_with_line) {
        snprintf(line, sizeof(line), "%s", rep->status_line);
        http_scrub(line, strlen(line), run->secret);
        http_scrub(line, strlen(line), run->basic_token);
        http_sanitize(line, strlen(line), line);
        http_body_start_text(run, rep, body);
    }
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (http_facts_write(run, rep, cert, failed_with_line ? line : NULL,
                             failed_with_line ? body : NULL, drop[i]) == 0)
            return;
    }
    run->result.facts[0] = '\0';
}

/* ---- the run's result -------------------------------------------------------- */

/* Appends to the message, if it fits. */
static void http_msg_append(char *msg, size_t len, const char *fmt, ...)
{
    size_t used = strlen(msg);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg + used, len - used, fmt, ap);
    va_end(ap);
}

static int64_t http_offset(int64_t us, int64_t by)
{
    return us < 0 ? -1 : us + by;
}

/* "2 of 3 addresses failed: 10.0.0.3: connect_refused, ..." */
static void http_run_address_message(struct http_run *run, size_t nfail)
{
    char *msg = run->result.message;
    size_t len = sizeof(run->result.message);
    size_t shown = 0;

    snprintf(msg, len, "%zu of %zu addresses failed: ", nfail, run->nxfer);
    for (size_t i = 0; i < run->nxfer; i++) {
        const struct http_xfer *x = run->xfer[i];
        char item[HTTP_ADDR_LEN + NINES_REASON_LEN + 8];

        if (x->v.outcome == NINES_OUTCOME_OK)
            continue;
        snprintf(item, sizeof(item), "%s%s: %s", shown ? ", " : "", x->address, x->v.reason);
        if (strlen(msg) + strlen(item) + 4 >= len) {
            http_msg_append(msg, len, ", ...");
            return;
        }
        http_msg_append(msg, len, "%s", item);
        shown++;
    }
}

/* Builds the result from the transfers; returns the transfer it speaks for. */
static const struct http_xfer *http_run_aggregate(struct http_run *run)
{
    struct nines_result *r = &run->result;
    const struct http_xfer *rep = NULL;
    size_t nfail = 0;
    int cancelled = 0;
    int64_t slowest = 0;

    for (size_t i = 0; i < run->nxfer; i++) {
        const struct http_xfer *x = run->xfer[i];

        if (x->v.outcome != NINES_OUTCOME_OK && nfail++ == 0)
            rep = x;
        cancelled |= strcmp(x->v.reason, "cancelled") == 0;
        if (x->v.total_us > slowest)
            slowest = x->v.total_us;
    }
    if (!rep)
        rep = run->xfer[0];
    r->outcome = rep->v.outcome;
    r->code = rep->v.code;
    snprintf(r->reason, sizeof(r->reason), "%s", rep->v.reason);
    snprintf(r->message, sizeof(r->message), "%s", rep->v.message);
    r->total_us = run->resolve_us + (run->all_addresses ? slowest : rep->v.total_us);
    r->dns_us = !run->all_addresses ? rep->v.dns_us : run->listed ? -1 : run->resolve_us;
    r->connect_us = http_offset(rep->v.connect_us, run->resolve_us);
    r->tls_us = http_offset(rep->v.tls_us, run->resolve_us);
    r->ttfb_us = http_offset(rep->v.ttfb_us, run->resolve_us);
    if (cancelled) {
        r->outcome = NINES_OUTCOME_ERROR;
        snprintf(r->reason, sizeof(r->reason), "cancelled");
        snprintf(r->message, sizeof(r->message), "check cancelled before it finished");
    } else if (run->all_addresses && nfail > 0) {
        http_run_address_message(run, nfail);
    }
    return rep;
}

/* ok but not quite: a certificate close to expiry, or slower than the objective. */
static void http_run_warn(struct http_run *run)
{
    struct nines_result *r = &run->result;
    const struct http_cert *cert = http_run_cert(run);
    int64_t took_ms = r->total_us / 1000;
    int64_t days;

    if (r->outcome != NINES_OUTCOME_OK)
        return;
    if (cert && run->cert_min_days > 0 && (days = http_days_left(cert)) < run->cert_min_days) {
        snprintf(r->warning, sizeof(r->warning), "cert_expiring");
        http_set_text(r->message, sizeof(r->message),
                      "certificate expires in %lld days (minimum %d)", (long long)days,
                      run->cert_min_days);
    }
    if (run->latency_objective_ms > 0 && r->total_us > run->latency_objective_ms * 1000) {
        if (!r->warning[0])
            snprintf(r->warning, sizeof(r->warning), "latency_over_objective");
        http_msg_append(r->message, sizeof(r->message), "%stook %lld ms (objective %lld ms)",
                        r->message[0] ? "; " : "", (long long)took_ms,
                        (long long)run->latency_objective_ms);
    }
}

static void http_run_release(struct http_run *run);

static void http_run_handle_closed(uv_handle_t *h)
{
    http_run_release(h->data);
}

/* The result is complete: close what is open, hand the result over. */
static void http_run_finish(struct http_run *run)
{
    struct nines_result r;
    const struct http_xfer *rep = NULL;

    if (!run->early)
        rep = http_run_aggregate(run);
    if (run->early && run->result.total_us < 0)
        run->result.total_us = (int64_t)((uv_hrtime() - run->started_ns) / 1000);
    http_run_warn(run);
    http_run_facts(run, rep);
    http_scrub(run->result.message, strlen(run->result.message), run->secret);
    http_scrub(run->result.message, strlen(run->result.message), run->basic_token);
    run->finished = 1;
    uv_close((uv_handle_t *)&run->timer, http_run_handle_closed);
    if (run->watch_open) {
        run->watch_open = 0;
        uv_close((uv_handle_t *)&run->watch, http_run_handle_closed);
    }
    if (run->gai_pending)
        uv_cancel((uv_req_t *)&run->gai);
    r = run->result;
    run->refs++;
    run->done(&r, run->done_arg);
    http_run_release(run);
}

/* Ends the run without a transfer verdict (secret, resolution, cancel). */
static void http_run_end_early(struct http_run *run, enum nines_outcome outcome,
                               const char *reason, const char *fmt, ...)
{
    va_list ap;

    if (run->finished)
        return;
    run->early = 1;
    run->result.outcome = outcome;
    snprintf(run->result.reason, sizeof(run->result.reason), "%s", reason);
    va_start(ap, fmt);
    vsnprintf(run->result.message, sizeof(run->result.message), fmt, ap);
    va_end(ap);
    http_run_finish(run);
}

/* ---- freeing ------------------------------------------------------------------ */

static void http_xfer_free(struct http_xfer *x)
{
    if (!x)
        return;
    if (x->easy && x->easy != x->run->tmpl)
        curl_uv_easy_put(x->run->env->curl, x->easy);
    curl_slist_free_all(x->connect_to);
    if (x->body) {
        OPENSSL_cleanse(x->body, x->body_len);
        free(x->body);
    }
    if (x->hdr) {
        OPENSSL_cleanse(x->hdr, x->hdr_len);
        free(x->hdr);
    }
    free(x);
}

static void http_run_free(struct http_run *run)
{
    for (size_t i = 0; i < run->nxfer; i++)
        http_xfer_free(run->xfer[i]);
    if (run->tmpl)
        curl_uv_easy_put(run->env->curl, run->tmpl);
    http_slist_wipe_free(run->headers);
    if (run->has_body_re)
        regfree(&run->body_re);
    for (size_t i = 0; i < run->nhconds; i++) {
        free(run->hconds[i].name);
        free(run->hconds[i].value);
        if (run->hconds[i].has_re)
            regfree(&run->hconds[i].re);
    }
    free(run->hconds);
    free(run->json_text);
    free(run->contains);
    free(run->not_contains);
    free(run->regex_text);
    http_wipe_free(run->secret);
    http_wipe_free(run->basic_token);
    free(run->gai_host);
    free(run->req_host);
    free(run->resolve_entry);
    free(run);
}

static void http_run_release(struct http_run *run)
{
    if (--run->refs == 0)
        http_run_free(run);
}

/* ---- transfers ------------------------------------------------------------------ */

static void http_xfer_on_done(CURL *easy, CURLcode rc, void *arg)
{
    struct http_xfer *x = arg;
    struct http_run *run = x->run;

    http_xfer_judge(x, rc);
    if (easy == run->tmpl)
        run->tmpl = NULL;
    curl_uv_easy_put(run->env->curl, easy);
    x->easy = NULL;
    curl_slist_free_all(x->connect_to);
    x->connect_to = NULL;
    if (++run->xfers_done == run->nxfer && !run->finished)
        http_run_finish(run);
    http_run_release(run);
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

/* The options that point at the transfer itself (a duplicate must reset them). */
static int http_xfer_bind(struct http_xfer *x, const char *pin, int64_t timeout_ms)
{
    struct http_run *run = x->run;
    CURL *e = x->easy;

    HTTP_SETOPT(e, CURLOPT_ERRORBUFFER, x->errbuf);
    HTTP_SETOPT(e, CURLOPT_WRITEDATA, x);
    HTTP_SETOPT(e, CURLOPT_HEADERDATA, x);
    HTTP_SETOPT(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    HTTP_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    /* Only OpenSSL builds take it: elsewhere the cert facts are simply missing. */
    if (curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, http_xfer_on_ssl_ctx) == CURLE_OK)
        HTTP_SETOPT(e, CURLOPT_SSL_CTX_DATA, x);
    x->body_keep = run->body_conds ? (size_t)run->body_limit : HTTP_BODY_START;
    if (pin && http_slist_add(&x->connect_to, pin) != 0)
        return NINES_ENOMEM;
    if (run->resolve_entry && http_slist_add(&x->connect_to, run->resolve_entry) != 0)
        return NINES_ENOMEM;
    HTTP_SETOPT(e, CURLOPT_CONNECT_TO, x->connect_to);
    return 0;
}

static struct http_xfer *http_xfer_new(struct http_run *run, const char *address)
{
    struct http_xfer *x = calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    x->run = run;
    snprintf(x->address, sizeof(x->address), "%s", address);
    x->v.outcome = NINES_OUTCOME_ERROR;
    x->v.total_us = -1;
    x->v.dns_us = -1;
    x->v.connect_us = -1;
    x->v.tls_us = -1;
    x->v.ttfb_us = -1;
    return x;
}

/* "host:port:address:port" for CURLOPT_CONNECT_TO; IPv6 addresses in brackets. */
static void http_pin(char *buf, size_t len, const char *host, long port, const char *address)
{
    int v6 = strchr(address, ':') != NULL && address[0] != '[';

    snprintf(buf, len, "%s:%ld:%s%s%s:%ld", host, port, v6 ? "[" : "", address, v6 ? "]" : "",
             port);
}

/* The one transfer of an ordinary run: the configured handle itself. */
static int http_run_start_single(struct http_run *run, const char *pin)
{
    struct http_xfer *x = http_xfer_new(run, "");
    int err;

    if (!x)
        return NINES_ENOMEM;
    run->xfer[0] = x;
    run->nxfer = 1;
    x->easy = run->tmpl;
    err = http_xfer_bind(x, pin, run->timeout_ms);
    if (!err)
        err = curl_uv_add(run->env->curl, x->easy, http_xfer_on_done, x);
    if (err)
        return err;
    run->refs++;
    return 0;
}

/* One transfer of an all_addresses run, pinned to x->address. */
static int http_xfer_launch(struct http_run *run, struct http_xfer *x, int64_t timeout_ms)
{
    char pin[HTTP_HOST_MAX + HTTP_ADDR_LEN + 32];
    int err;

    x->easy = curl_easy_duphandle(run->tmpl);
    if (!x->easy)
        return NINES_ENOMEM;
    http_pin(pin, sizeof(pin), run->req_host, run->port, x->address);
    err = http_xfer_bind(x, pin, timeout_ms);
    if (!err)
        err = curl_uv_add(run->env->curl, x->easy, http_xfer_on_done, x);
    if (err) {
        curl_uv_easy_put(run->env->curl, x->easy);
        x->easy = NULL;
        curl_slist_free_all(x->connect_to);
        x->connect_to = NULL;
        return err;
    }
    run->refs++;
    return 0;
}

static int http_addr_text(const struct addrinfo *ai, char *buf, size_t len)
{
    if (ai->ai_family == AF_INET)
        return uv_ip4_name((const struct sockaddr_in *)ai->ai_addr, buf, len);
    if (ai->ai_family == AF_INET6)
        return uv_ip6_name((const struct sockaddr_in6 *)ai->ai_addr, buf, len);
    return UV_EAI_FAMILY;
}

/* Adds a transfer per distinct address, at most HTTP_ADDR_MAX. */
static void http_run_collect(struct http_run *run, const struct addrinfo *res)
{
    char addr[HTTP_ADDR_LEN];
    size_t i;

    for (; res && run->nxfer < HTTP_ADDR_MAX; res = res->ai_next) {
        if (http_addr_text(res, addr, sizeof(addr)) != 0)
            continue;
        for (i = 0; i < run->nxfer && strcmp(run->xfer[i]->address, addr) != 0; i++)
            ;
        if (i < run->nxfer)
            continue;
        run->xfer[run->nxfer] = http_xfer_new(run, addr);
        if (!run->xfer[run->nxfer])
            return;
        run->nxfer++;
    }
}

/* The addresses are known: one transfer per address, concurrently. */
static void http_run_spawn(struct http_run *run)
{
    int64_t left_ms = run->timeout_ms - run->resolve_us / 1000;

    if (run->nxfer == 0) {
        http_run_end_early(run, NINES_OUTCOME_FAIL, "dns_failure", "%s has no usable address",
                           run->gai_host);
        return;
    }
    if (run->env->closed || !run->env->curl) {
        http_run_end_early(run, NINES_OUTCOME_ERROR, "cancelled",
                           "check cancelled before it finished");
        return;
    }
    if (left_ms <= 0) {
        http_run_end_early(run, NINES_OUTCOME_TIMEOUT, "dns_timeout",
                           "resolving %s took the whole %lld ms", run->gai_host,
                           (long long)run->timeout_ms);
        return;
    }
    for (size_t i = 0; i < run->nxfer; i++) {
        if (http_xfer_launch(run, run->xfer[i], left_ms) == 0)
            continue;
        snprintf(run->xfer[i]->v.reason, sizeof(run->xfer[i]->v.reason), "error");
        http_set_text(run->xfer[i]->v.message, sizeof(run->xfer[i]->v.message),
                      "could not start the transfer to %s", run->xfer[i]->address);
        run->xfers_done++;
    }
    if (run->xfers_done == run->nxfer)
        http_run_finish(run);
}

/* all_addresses with resolve: its addresses, no resolver. */
static void http_run_spawn_listed(struct http_run *run)
{
    for (size_t i = 0; i < run->nlisted; i++) {
        run->xfer[run->nxfer] = http_xfer_new(run, run->listed_addr[i]);
        if (!run->xfer[run->nxfer])
            break;
        run->nxfer++;
    }
    http_run_spawn(run);
}

static int64_t http_run_elapsed_us(const struct http_run *run)
{
    return (int64_t)((uv_hrtime() - run->started_ns) / 1000);
}

static void http_run_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct http_run *run = req->data;

    run->gai_pending = 0;
    if (!run->finished) {
        run->resolve_us = http_run_elapsed_us(run);
        run->result.dns_us = run->resolve_us;
        uv_timer_stop(&run->timer);
        if (run->watch_open) {
            run->watch_open = 0;
            uv_close((uv_handle_t *)&run->watch, http_run_handle_closed);
        }
        if (status < 0) {
            http_run_end_early(run, NINES_OUTCOME_FAIL, "dns_failure", "cannot resolve %s: %s",
                               run->gai_host, uv_strerror(status));
        } else {
            http_run_collect(run, res);
            http_run_spawn(run);
        }
    }
    uv_freeaddrinfo(res);
    http_run_release(run);
}

/* A deferred early result, or the deadline of the resolution. */
static void http_run_on_timer(uv_timer_t *t)
{
    struct http_run *run = t->data;

    if (run->finished)
        return;
    if (run->env->closed) {
        http_run_end_early(run, NINES_OUTCOME_ERROR, "cancelled",
                           "check cancelled before it finished");
        return;
    }
    if (run->early) {
        http_run_finish(run);
        return;
    }
    if (run->listed) {
        http_run_spawn_listed(run);
        return;
    }
    run->result.dns_us = http_run_elapsed_us(run);
    http_run_end_early(run, NINES_OUTCOME_TIMEOUT, "dns_timeout",
                       "resolving %s took longer than %lld ms", run->gai_host,
                       (long long)run->timeout_ms);
}

/*
 * While resolving, no curl transfer of ours is in flight for check_env_close
 * to abort: this watch notices the close right after the loop's next poll.
 * A check handle, not a prepare handle: the result it may end the run with
 * is pushed to Redis, and lib/redis_uv.c writes new commands from a prepare
 * handle, which would not run again before the loop blocks if started from
 * inside the prepare phase.
 */
static void http_run_on_watch(uv_check_t *p)
{
    struct http_run *run = p->data;

    if (run->env->closed)
        http_run_end_early(run, NINES_OUTCOME_ERROR, "cancelled",
                           "check cancelled before it finished");
}

static int http_run_resolve(struct http_run *run)
{
    struct addrinfo hints;
    int err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = run->ip_version == 4 ? AF_INET : run->ip_version == 6 ? AF_INET6
                                                                            : AF_UNSPEC;
    run->gai.data = run;
    err = uv_getaddrinfo(run->env->loop, &run->gai, http_run_on_resolved, run->gai_host, NULL,
                         &hints);
    if (err)
        return err == UV_ENOMEM ? NINES_ENOMEM : NINES_EIO;
    run->gai_pending = 1;
    run->refs++;
    uv_check_init(run->env->loop, &run->watch);
    run->watch.data = run;
    uv_check_start(&run->watch, http_run_on_watch);
    run->watch_open = 1;
    run->refs++;
    return 0;
}

/* Starts the run: its transfer, its resolution, or its deferred early result. */
static int http_run_launch(struct http_run *run, const char *pin)
{
    int err = 0;

    run->result.start_ms = nines_wall_ms();
    run->started_ns = uv_hrtime();
    if (run->early || run->listed)
        err = 0;
    else if (run->all_addresses)
        err = http_run_resolve(run);
    else
        err = http_run_start_single(run, pin);
    if (err)
        return err;
    uv_timer_init(run->env->loop, &run->timer);
    run->timer.data = run;
    run->refs++;
    if (run->early || run->listed)
        uv_timer_start(&run->timer, http_run_on_timer, 0, 0);
    else if (run->all_addresses)
        uv_timer_start(&run->timer, http_run_on_timer, (uint64_t)run->timeout_ms, 0);
    return 0;
}

/* ---- options ------------------------------------------------------------------- */

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

/* An HTTP token (a header name). */
static int http_valid_token(const char *s)
{
    if (!s || !s[0])
        return 0;
    for (; *s; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return 0;
    }
    return 1;
}

static int http_valid_hostname(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > HTTP_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' || s[i] == '_'))
            return 0;
    }
    return 1;
}

static int http_no_line_break(const char *s)
{
    return !s || !strpbrk(s, "\r\n");
}

static int http_validate_headers(const struct nines_http_opts *o)
{
    for (size_t i = 0; i < o->headers_count; i++) {
        if (!http_valid_token(o->headers[i].name) || !http_no_line_break(o->headers[i].value))
            return NINES_EINVAL;
    }
    for (size_t i = 0; i < o->header_conds_count; i++) {
        const struct nines_header_cond *h = &o->header_conds[i];

        if (!http_valid_token(h->name) || (h->op != NINES_HDR_PRESENT && !h->value) ||
            (h->op != NINES_HDR_PRESENT && h->op != NINES_HDR_EQUALS &&
             h->op != NINES_HDR_REGEX))
            return NINES_EINVAL;
    }
    return 0;
}

static int http_validate_auth(const struct nines_http_opts *o)
{
    if (!o->auth)
        return 0;
    if (!o->secret_env == !o->secret_file)
        return NINES_EINVAL;        /* exactly one source */
    if (strcmp(o->auth, "bearer") == 0)
        return 0;
    if (strcmp(o->auth, "basic") != 0 || !o->auth_user || strchr(o->auth_user, ':') ||
        !http_no_line_break(o->auth_user))
        return NINES_EINVAL;
    return 0;
}

static int http_check_validate(const struct nines_check *c)
{
    const struct nines_http_opts *o = &c->http;
    const char *v = o->tls_min_version;

    if (c->kind != NINES_KIND_HTTP || !o->url || !o->url[0] || c->timeout_ms <= 0 ||
        c->timeout_ms > LONG_MAX || o->follow_redirects < 0 || o->max_body_bytes < 0 ||
        o->latency_objective_ms < 0 || o->cert_min_days < 0)
        return NINES_EINVAL;
    if (o->method && !http_valid_method(o->method))
        return NINES_EINVAL;
    if (o->body && o->method && strcmp(o->method, "HEAD") == 0)
        return NINES_EINVAL;
    if (v && strcmp(v, "1.0") != 0 && strcmp(v, "1.1") != 0 && strcmp(v, "1.2") != 0 &&
        strcmp(v, "1.3") != 0)
        return NINES_EINVAL;
    if (o->ip_version != 0 && o->ip_version != 4 && o->ip_version != 6)
        return NINES_EINVAL;
    if (o->tls_server_name && !http_valid_hostname(o->tls_server_name))
        return NINES_EINVAL;
    if (http_validate_auth(o) != 0)
        return NINES_EINVAL;
    return http_validate_headers(o);
}

/* Compiles a POSIX extended regex: 0, NINES_EINVAL or NINES_ENOMEM. */
static int http_regcomp(regex_t *re, const char *text)
{
    int rc = nines_regcomp(re, text, REG_EXTENDED | REG_NOSUB);

    if (rc == 0)
        return 0;
    return rc == REG_ESPACE ? NINES_ENOMEM : NINES_EINVAL;
}

static int http_run_header_conds(struct http_run *run, const struct nines_http_opts *o)
{
    int failed = 0;
    int err;

    if (o->header_conds_count == 0)
        return 0;
    run->hconds = calloc(o->header_conds_count, sizeof(*run->hconds));
    if (!run->hconds)
        return NINES_ENOMEM;
    for (size_t i = 0; i < o->header_conds_count; i++) {
        struct http_hdr_cond *h = &run->hconds[i];

        run->nhconds++;
        h->op = o->header_conds[i].op;
        h->name = http_strdup_or(o->header_conds[i].name, &failed);
        h->value = http_strdup_or(o->header_conds[i].value, &failed);
        if (failed)
            return NINES_ENOMEM;
        if (h->op == NINES_HDR_REGEX) {
            err = http_regcomp(&h->re, h->value);
            if (err)
                return err;
            h->has_re = 1;
        }
    }
    return 0;
}

/* Copies and compiles the response conditions. */
static int http_run_conditions(struct http_run *run, const struct nines_http_opts *o)
{
    int failed = 0;
    int err;

    err = check_http_expect_parse(o->expect_status ? o->expect_status : HTTP_DEFAULT_EXPECT,
                                  &run->expect);
    if (err)
        return err;
    /* an empty text is in every body: no condition */
    if (o->body_contains && o->body_contains[0])
        run->contains = http_strdup_or(o->body_contains, &failed);
    if (o->body_not_contains && o->body_not_contains[0])
        run->not_contains = http_strdup_or(o->body_not_contains, &failed);
    run->regex_text = http_strdup_or(o->body_regex, &failed);
    run->json_text = http_strdup_or(o->json_condition, &failed);
    if (failed)
        return NINES_ENOMEM;
    if (o->body_regex) {
        err = http_regcomp(&run->body_re, o->body_regex);
        if (err)
            return err;
        run->has_body_re = 1;
    }
    if (o->json_condition) {
        if (nines_json_cond_parse(o->json_condition, &run->json, NULL, 0) != 0)
            return NINES_EINVAL;
        run->has_json = 1;
    }
    run->body_conds = run->contains || run->not_contains || run->has_body_re || run->has_json;
    return http_run_header_conds(run, o);
}

/* One IP address of a resolve option, brackets removed, into out. */
static int http_parse_address(const char *s, size_t n, char *out, size_t len)
{
    unsigned char bin[sizeof(struct in6_addr)];

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= len)
        return NINES_EINVAL;
    memcpy(out, s, n);
    out[n] = '\0';
    if (uv_inet_pton(AF_INET, out, bin) != 0 && uv_inet_pton(AF_INET6, out, bin) != 0)
        return NINES_EINVAL;
    return 0;
}

/*
 * The resolve option, "host:port:address[,address]..." as curl's --resolve:
 * the addresses (IP literals, brackets allowed) go to run->listed_addr, and
 * run->resolve_entry becomes the CONNECT_TO entry pinning host:port to the
 * first one.
 */
static int http_parse_resolve(struct http_run *run, const char *s, char *host, size_t hlen,
                              long *port)
{
    const char *c1 = strchr(s, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char pin[HTTP_HOST_MAX + HTTP_ADDR_LEN + 32];
    char *end;
    size_t n;

    if (!c1 || !c2 || c1 == s || (size_t)(c1 - s) >= hlen || c2 == c1 + 1)
        return NINES_EINVAL;
    memcpy(host, s, (size_t)(c1 - s));
    host[c1 - s] = '\0';
    *port = strtol(c1 + 1, &end, 10);
    if (end != c2 || *port < 1 || *port > 65535 || !http_valid_hostname(host))
        return NINES_EINVAL;
    for (s = c2 + 1;; s += n + 1) {
        n = strcspn(s, ",");
        if (run->nlisted == HTTP_ADDR_MAX ||
            http_parse_address(s, n, run->listed_addr[run->nlisted], HTTP_ADDR_LEN) != 0)
            return NINES_EINVAL;
        run->nlisted++;
        if (s[n] == '\0')
            break;
    }
    http_pin(pin, sizeof(pin), host, *port, run->listed_addr[0]);
    run->resolve_entry = strdup(pin);
    return run->resolve_entry ? 0 : NINES_ENOMEM;
}

/* Host (brackets kept), port and, with tls_server_name, the rewritten URL. */
static int http_url_parts(const struct nines_http_opts *o, char **host, long *port,
                          char **url)
{
    CURLU *u = curl_url();
    char *p = NULL;
    int err = NINES_EINVAL;

    if (!u)
        return NINES_ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, o->url, CURLU_GUESS_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    *port = strtol(p, NULL, 10);
    if (o->tls_server_name &&
        (curl_url_set(u, CURLUPART_HOST, o->tls_server_name, 0) != CURLUE_OK ||
         curl_url_get(u, CURLUPART_URL, url, 0) != CURLUE_OK))
        goto out;
    err = 0;
out:
    curl_free(p);
    curl_url_cleanup(u);
    return err;
}

/*
 * Works out where the request goes. The URL's host stays what is resolved and
 * connected to; tls_server_name replaces it in the URL (so in SNI, the Host
 * header and certificate verification) and a CONNECT_TO entry (*pin) sends
 * the connection to the original host, or to the resolve address.
 */
static int http_run_target(struct http_run *run, const struct nines_http_opts *o, char **url,
                           char **pin)
{
    char rhost[HTTP_HOST_MAX + 1] = "";
    char buf[2 * HTTP_HOST_MAX + 32];
    long rport = 0;
    char *host = NULL;
    int pinned;
    size_t n;
    int err;

    if (!o->tls_server_name && !o->all_addresses && !o->resolve)
        return 0;
    if (o->resolve) {
        err = http_parse_resolve(run, o->resolve, rhost, sizeof(rhost), &rport);
        if (err)
            return err;
    }
    err = http_url_parts(o, &host, &run->port, url);
    if (err)
        goto out;
    n = strlen(host);
    err = NINES_ENOMEM;
    run->gai_host = n > 2 && host[0] == '[' ? strndup(host + 1, n - 2) : strdup(host);
    run->req_host = strdup(o->tls_server_name ? o->tls_server_name : host);
    if (!run->gai_host || !run->req_host)
        goto out;
    err = 0;
    /* resolve names the addresses to probe instead of the resolver */
    pinned = run->nlisted && rport == run->port && strcasecmp(rhost, run->gai_host) == 0;
    run->listed = pinned && run->all_addresses;
    if (o->tls_server_name && !run->all_addresses) {
        http_pin(buf, sizeof(buf), run->req_host, run->port,
                 pinned ? run->listed_addr[0] : host);
        *pin = strdup(buf);
        err = *pin ? 0 : NINES_ENOMEM;
    }
out:
    curl_free(host);
    return err;
}

/*
 * Reads the secret: 0 with *out set, 1 when it is unavailable (why says which
 * variable or file, never the value), or NINES_ENOMEM.
 */
static int http_secret_read(const struct nines_http_opts *o, char **out, char *why,
                            size_t len)
{
    char buf[HTTP_SECRET_MAX];
    struct nines_err err = { 0 };
    int rc = 0;

    /* the configuration names one source (secret_env or secret_file) */
    if (nines_secret_read(o->secret_env, o->secret_env ? NULL : o->secret_file, buf,
                          sizeof(buf), &err) != 0) {
        http_set_text(why, len, "secret unavailable: %s", err.msg);
        rc = 1;
    } else if (buf[0] == '\0') {
        http_set_text(why, len, "secret unavailable: %s has an empty first line",
                      o->secret_file ? o->secret_file : "?");
        rc = 1;
    }
    if (rc == 0) {
        *out = strdup(buf);
        rc = *out ? 0 : NINES_ENOMEM;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* "Authorization: Basic base64(user:secret)" or "Authorization: Bearer secret". */
static int http_run_auth_header(struct http_run *run, const struct nines_http_opts *o)
{
    size_t ulen = o->auth_user ? strlen(o->auth_user) : 0;
    size_t slen = strlen(run->secret);
    size_t plain_len = ulen + 1 + slen;
    char *plain = NULL;
    char *line = NULL;
    int err = NINES_ENOMEM;

    if (strcmp(o->auth, "basic") == 0) {
        plain = malloc(plain_len + 1);
        run->basic_token = malloc(4 * ((plain_len + 2) / 3) + 1);
        if (!plain || !run->basic_token)
            goto out;
        snprintf(plain, plain_len + 1, "%s:%s", o->auth_user, run->secret);
        EVP_EncodeBlock((unsigned char *)run->basic_token, (unsigned char *)plain,
                        (int)plain_len);
    }
    line = malloc(32 + slen + (run->basic_token ? strlen(run->basic_token) : 0));
    if (!line)
        goto out;
    sprintf(line, "Authorization: %s %s", run->basic_token ? "Basic" : "Bearer",
            run->basic_token ? run->basic_token : run->secret);
    err = http_slist_add(&run->headers, line);
out:
    http_wipe_free(plain);
    http_wipe_free(line);
    return err;
}

/* Request headers: the configured ones, Authorization, and no "Expect: 100-continue". */
static int http_run_headers(struct http_run *run, const struct nines_http_opts *o)
{
    char *line;
    int err = 0, connection = 0;

    for (size_t i = 0; !err && i < o->headers_count; i++) {
        const char *name = o->headers[i].name;
        const char *value = o->headers[i].value ? o->headers[i].value : "";

        if (run->secret && strcasecmp(name, "Authorization") == 0)
            continue;   /* auth decides */
        connection |= strcasecmp(name, "Connection") == 0;
        line = malloc(strlen(name) + strlen(value) + 3);
        if (!line)
            return NINES_ENOMEM;
        /* curl drops "Name:" with no value; "Name;" sends it empty */
        sprintf(line, value[0] ? "%s: %s" : "%s;", name, value);
        err = http_slist_add(&run->headers, line);
        http_wipe_free(line);
    }
    /*
     * Every run uses a fresh connection and closes it: say so, as HTTP/1.1
     * asks, so that the server closes first and the TIME_WAIT stays on its
     * side rather than piling up on the probe's ports at high check rates
     * (curl leaves it out of HTTP/2 requests, where it is not allowed).
     */
    if (!err && !connection)
        err = http_slist_add(&run->headers, "Connection: close");
    if (!err && o->body)
        err = http_slist_add(&run->headers, "Expect:");
    if (!err && run->secret)
        err = http_run_auth_header(run, o);
    return err;
}

static long http_tls_version(const char *v)
{
    if (!v)
        return CURL_SSLVERSION_DEFAULT;
    if (strcmp(v, "1.0") == 0)
        return CURL_SSLVERSION_TLSv1_0;
    if (strcmp(v, "1.1") == 0)
        return CURL_SSLVERSION_TLSv1_1;
    if (strcmp(v, "1.2") == 0)
        return CURL_SSLVERSION_TLSv1_2;
    return CURL_SSLVERSION_TLSv1_3;
}

static int http_configure_tls(CURL *e, const struct nines_http_opts *o)
{
    HTTP_SETOPT(e, CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    HTTP_SETOPT(e, CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    /* A resumed session skips the certificate: every check does a full handshake. */
    HTTP_SETOPT(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    HTTP_SETOPT(e, CURLOPT_SSLVERSION, http_tls_version(o->tls_min_version));
    if (o->ca_file)
        HTTP_SETOPT(e, CURLOPT_CAINFO, o->ca_file);
    if (o->client_cert)
        HTTP_SETOPT(e, CURLOPT_SSLCERT, o->client_cert);
    if (o->client_key)
        HTTP_SETOPT(e, CURLOPT_SSLKEY, o->client_key);
    return 0;
}

static int http_configure_request(CURL *e, const struct nines_http_opts *o)
{
    const char *m = o->method;

    if (m && strcmp(m, "HEAD") == 0) {
        HTTP_SETOPT(e, CURLOPT_NOBODY, 1L);
    } else if (o->body) {
        HTTP_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(o->body));
        HTTP_SETOPT(e, CURLOPT_COPYPOSTFIELDS, o->body);
        if (m && strcmp(m, "POST") != 0)
            HTTP_SETOPT(e, CURLOPT_CUSTOMREQUEST, m);
    } else if (m && strcmp(m, "GET") != 0) {
        HTTP_SETOPT(e, CURLOPT_CUSTOMREQUEST, m);
    }
    if (o->ip_version)
        HTTP_SETOPT(e, CURLOPT_IPRESOLVE, o->ip_version == 4 ? CURL_IPRESOLVE_V4
                                                             : CURL_IPRESOLVE_V6);
    if (o->proxy)
        HTTP_SETOPT(e, CURLOPT_PROXY, o->proxy);
    return 0;
}

/* Everything but what points at a transfer (http_xfer_bind). */
static int http_run_configure(struct http_run *run, const struct nines_check *c,
                              const char *url)
{
    const struct nines_http_opts *o = &c->http;
    CURL *e;
    int err;

    e = run->tmpl = curl_uv_easy_get(run->env->curl);
    if (!e)
        return NINES_ENOMEM;
    /* every connection ends with a reset (check_env's graceful_close): curl
     * closes it only once the run is over (FORBID_REUSE), so nothing the
     * check needs is lost, the probe keeps no TIME_WAIT, and the socket
     * itself can carry the next run's connection */
    if (!run->env->graceful_close &&
        curl_uv_easy_reuse_sockets(run->env->curl, e) != 0)
        return NINES_EIO;
    HTTP_SETOPT(e, CURLOPT_URL, url ? url : o->url);
    HTTP_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    /* A reused connection reads 0 for connect and TLS times: never reuse. */
    HTTP_SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
    HTTP_SETOPT(e, CURLOPT_FORBID_REUSE, 1L);
    /* Resolve on every run, so DNS time and DNS failures are measured. */
    HTTP_SETOPT(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    HTTP_SETOPT(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
    HTTP_SETOPT(e, CURLOPT_WRITEFUNCTION, http_xfer_on_body);
    HTTP_SETOPT(e, CURLOPT_HEADERFUNCTION, http_xfer_on_header);
    HTTP_SETOPT(e, CURLOPT_FOLLOWLOCATION, o->follow_redirects > 0 ? 1L : 0L);
    if (o->follow_redirects > 0)
        HTTP_SETOPT(e, CURLOPT_MAXREDIRS, (long)o->follow_redirects);
    err = http_configure_tls(e, o);
    if (!err)
        err = http_configure_request(e, o);
    if (!err)
        err = http_run_headers(run, o);
    if (!err && run->headers)
        err = http_setopt_result(curl_easy_setopt(e, CURLOPT_HTTPHEADER, run->headers));
    return err;
}

/* Reads the secret; a missing one makes the run's (deferred) result. */
static int http_run_secret(struct http_run *run, const struct nines_http_opts *o)
{
    int rc;

    if (!o->auth)
        return 0;
    rc = http_secret_read(o, &run->secret, run->result.message, sizeof(run->result.message));
    if (rc != 1)
        return rc;
    run->early = 1;
    run->result.outcome = NINES_OUTCOME_ERROR;
    snprintf(run->result.reason, sizeof(run->result.reason), "secret_unavailable");
    return 0;
}

static int http_run_prepare(struct http_run *run, const struct nines_check *c, char **url,
                            char **pin)
{
    const struct nines_http_opts *o = &c->http;
    int err;

    run->timeout_ms = c->timeout_ms;
    run->body_limit = o->max_body_bytes;
    run->latency_objective_ms = o->latency_objective_ms;
    run->cert_min_days = o->cert_min_days;
    run->all_addresses = o->all_addresses;
    run->ip_version = o->ip_version;
    err = http_run_conditions(run, o);
    if (!err)
        err = http_run_target(run, o, url, pin);
    if (!err)
        err = http_run_secret(run, o);
    if (!err && !run->early)
        err = http_run_configure(run, c, *url);
    return err;
}

int check_http_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg)
{
    struct http_run *run;
    char *url = NULL;
    char *pin = NULL;
    int err;

    err = http_check_validate(c);
    if (err)
        return err;
    run = malloc(sizeof(*run));
    if (!run)
        return NINES_ENOMEM;
    memset(run, 0, offsetof(struct http_run, listed_addr));
    run->env = env;
    run->done = done;
    run->done_arg = arg;
    nines_result_begin(&run->result);
    fmt_copy(run->result.check_id, sizeof(run->result.check_id), c->id ? c->id : "");
    err = http_run_prepare(run, c, &url, &pin);
    if (!err)
        err = http_run_launch(run, pin);
    curl_free(url);
    free(pin);
    if (err)
        http_run_free(run);
    return err;
}
