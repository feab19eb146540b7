/* The monthly report as an email; see mail.h. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail.h"

#define MAIL_MAX_BYTES (64u << 20) /* one message: the PDF and JSON, far below this */

struct mail_buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void mail_put(struct mail_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > MAIL_MAX_BYTES || (np = realloc(b->p, cap)) == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void mail_puts(struct mail_buf *b, const char *s)
{
    mail_put(b, s, strlen(s));
}

/* Base64 (RFC 2045) in lines of 76 characters, CRLF after each. */
static void mail_base64(struct mail_buf *b, const unsigned char *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[80];
    size_t col = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);

        line[col++] = tab[(v >> 18) & 63];
        line[col++] = tab[(v >> 12) & 63];
        line[col++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        line[col++] = i + 2 < n ? tab[v & 63] : '=';
        if (col == 76 || i + 3 >= n) {
            line[col++] = '\r';
            line[col++] = '\n';
            mail_put(b, line, col);
            col = 0;
        }
    }
}

static int mail_header_ok(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

/* "Mon, 02 Nov 2026 06:00:00 +0000", without the locale. */
static void mail_date(int64_t ms, char *buf, size_t len)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : 0);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "100.000" / "99.505": truncated to 3 decimals as the report shows it. */
static void mail_pct(const struct report_service *s, char *buf, size_t len)
{
    int64_t milli;

    if (s->no_eligible_time) {
        snprintf(buf, len, "n/a");
        return;
    }
    milli = (int64_t)(s->eligible_ms - s->downtime_ms) * 100000 / s->eligible_ms;
    snprintf(buf, len, "%" PRId64 ".%03" PRId64 "%%", milli / 1000, milli % 1000);
}

static void mail_text(struct mail_buf *b, const struct report *r)
{
    char line[1024], pct[32];

    mail_pct(&r->overall, pct, sizeof(pct));
    snprintf(line, sizeof(line),
             "Service level report for %s, %s (%s)\r\n\r\n"
             "Overall availability: %s (target %g%%, %s)\r\n",
             r->customer_name, r->month, r->timezone, pct, r->sla.target_pct,
             r->overall.met ? "met" : "breached");
    mail_puts(b, line);
    for (size_t i = 0; i < r->services_count; i++) {
        mail_pct(&r->services[i], pct, sizeof(pct));
        snprintf(line, sizeof(line), "  %s: %s%s\r\n", r->services[i].name, pct,
                 r->services[i].credit_pct > 0 ? " (service credit owed)" : "");
        mail_puts(b, line);
    }
    snprintf(line, sizeof(line),
             "Incidents: %zu\r\n\r\nThe full report is attached as PDF, and its data as "
             "JSON.\r\nData SHA-256: %s\r\n",
             r->incidents_count, r->data_sha256);
    mail_puts(b, line);
}

int report_mail_build(const struct report *r, const char *from, const char *to, int64_t now_ms,
                      const struct report_attachment *att, size_t natt, char **out,
                      size_t *len, struct nines_err *err)
{
    struct mail_buf b = { 0 };
    char line[1024], date[64], boundary[96];

    *out = NULL;
    *len = 0;
    if (!mail_header_ok(from) || !mail_header_ok(to) || !mail_header_ok(r->customer_name))
        return nines_err_set(err, NINES_EINVAL, "mail: From, To or the customer name holds a "
                                                "line break");
    mail_date(now_ms, date, sizeof(date));
    snprintf(boundary, sizeof(boundary), "nines-report-%.16s-%" PRId64, r->data_sha256, now_ms);
    snprintf(line, sizeof(line),
             "From: %s\r\nTo: %s\r\nSubject: SLA report %s: %s\r\nDate: %s\r\n"
             "Message-ID: <report.%s.%s.%" PRId64 "@nines>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n",
             from, to, r->month, r->customer_name, date, r->customer_id, r->month, now_ms,
             boundary);
    mail_puts(&b, line);
    snprintf(line, sizeof(line),
             "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: 8bit\r\n\r\n",
             boundary);
    mail_puts(&b, line);
    mail_text(&b, r);
    for (size_t i = 0; i < natt; i++) {
        if (!mail_header_ok(att[i].name) || strchr(att[i].name, '"') != NULL)
            return free(b.p), nines_err_set(err, NINES_EINVAL, "mail: bad attachment name");
        snprintf(line, sizeof(line),
                 "\r\n--%s\r\nContent-Type: %s; name=\"%s\"\r\n"
                 "Content-Disposition: attachment; filename=\"%s\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n",
                 boundary, att[i].content_type, att[i].name, att[i].name);
        mail_puts(&b, line);
        mail_base64(&b, (const unsigned char *)att[i].data, att[i].len);
    }
    snprintf(line, sizeof(line), "\r\n--%s--\r\n", boundary);
    mail_puts(&b, line);
    if (b.failed) {
        free(b.p);
        return nines_err_set(err, NINES_ENOMEM, "mail: out of memory (or over %u bytes)",
                             MAIL_MAX_BYTES);
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

const struct nines_receiver_cfg *report_mail_receiver(const struct nines_config *cfg)
{
    for (size_t i = 0; i < cfg->receivers_count; i++)
        if (cfg->receivers[i].kind != NULL && strcmp(cfg->receivers[i].kind, "email") == 0)
            return &cfg->receivers[i];
    return NULL;
}

/* The SMTP password from its variable or its file's first line. */
static int mail_secret(const struct nines_receiver_cfg *rcv, char *out, size_t len,
                       struct nines_err *err)
{
    out[0] = '\0';
    if (rcv->secret_env != NULL) {
        const char *v = getenv(rcv->secret_env);

        if (v == NULL || v[0] == '\0')
            return nines_err_set(err, NINES_EINVAL, "receiver %s: $%s is not set", rcv->name,
                                 rcv->secret_env);
        snprintf(out, len, "%s", v);
    } else if (rcv->secret_file != NULL) {
        FILE *f = fopen(rcv->secret_file, "r");

        if (f == NULL)
            return nines_err_set(err, NINES_EINVAL, "receiver %s: cannot read %s", rcv->name,
                                 rcv->secret_file);
        if (fgets(out, (int)len, f) == NULL)
            out[0] = '\0';
        fclose(f);
        out[strcspn(out, "\r\n")] = '\0';
    }
    return 0;
}

struct mail_upload {
    const char *p;
    size_t left;
};

static size_t mail_on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    struct mail_upload *u = arg;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;

    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* The address inside "Name <addr>", or the whole trimmed text. */
static void mail_addr(const char *s, char *out, size_t len)
{
    const char *lt = strchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;

    if (lt != NULL && gt != NULL)
        snprintf(out, len, "<%.*s>", (int)(gt - lt - 1), lt + 1);
    else {
        while (*s == ' ')
            s++;
        snprintf(out, len, "<%.*s>", (int)strcspn(s, " "), s);
    }
}

static struct curl_slist *mail_rcpts(const char *to, struct nines_err *err)
{
    struct curl_slist *l = NULL, *nl;
    char copy[1024], addr[600], *save = NULL;

    snprintf(copy, sizeof(copy), "%s", to);
    for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        mail_addr(t, addr, sizeof(addr));
        if (strlen(addr) < 5 || strchr(addr, '@') == NULL) {
            curl_slist_free_all(l);
            nines_err_set(err, NINES_EINVAL, "mail: '%s' is not an email address", t);
            return NULL;
        }
        if ((nl = curl_slist_append(l, addr)) == NULL) {
            curl_slist_free_all(l);
            nines_err_set(err, NINES_ENOMEM, "out of memory");
            return NULL;
        }
        l = nl;
    }
    if (l == NULL)
        nines_err_set(err, NINES_EINVAL, "mail: no recipient");
    return l;
}

int report_mail_send(const struct nines_receiver_cfg *rcv, const char *to, const char *msg,
                     size_t len, const char *ca_file, struct nines_err *err)
{
    struct mail_upload up = { msg, len };
    char password[256], from[600], ebuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *rcpt;
    CURLcode cc;
    CURL *e;
    int rc;

    if (rcv->url == NULL || rcv->from == NULL)
        return nines_err_set(err, NINES_EINVAL, "receiver %s: needs url and from",
                             rcv->name ? rcv->name : "?");
    if ((rc = mail_secret(rcv, password, sizeof(password), err)) != 0)
        return rc;
    if ((rcpt = mail_rcpts(to, err)) == NULL)
        return err != NULL ? err->code : NINES_EINVAL;
    mail_addr(rcv->from, from, sizeof(from));
    if ((e = curl_easy_init()) == NULL) {
        curl_slist_free_all(rcpt);
        return nines_err_set(err, NINES_ENOMEM, "curl_easy_init failed");
    }
    curl_easy_setopt(e, CURLOPT_URL, rcv->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, mail_on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, &up);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (rcv->user != NULL) {
        curl_easy_setopt(e, CURLOPT_USERNAME, rcv->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, password);
    }
    if (rcv->starttls)
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (ca_file != NULL && ca_file[0] != '\0')
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    cc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    curl_slist_free_all(rcpt);
    explicit_bzero(password, sizeof(password));
    if (cc != CURLE_OK)
        return nines_err_set(err, NINES_EIO, "smtp %s: %s", rcv->url,
                             ebuf[0] ? ebuf : curl_easy_strerror(cc));
    return 0;
}
