/*
 * Email: one RFC 5322 message sent over SMTP by libcurl (smtp:// with
 * optional STARTTLS, or smtps://), authenticated with user and password.
 *
 * The message is multipart/alternative with a text/plain and a text/html
 * part, both UTF-8 in quoted-printable, so no line is longer than 76
 * characters whatever the data holds. Lines end in CRLF. Header values that
 * come from data are made safe where they are written: the subject has its
 * control characters turned into spaces (and becomes RFC 2047 encoded-words
 * when it is not ASCII), addresses must pass email_addr_ok(), the Message-ID
 * is built from a restricted alphabet. The boundary starts with "=_", which
 * quoted-printable text can never contain.
 *
 * The SMTP password goes only into the request's password field.
 */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "receivers.h"

#define EMAIL_RCPT_MAX 16
#define EMAIL_ADDR_MAX 254
#define EMAIL_SUBJECT_SUMMARY_MAX 200
#define EMAIL_MESSAGE_MAX (256 * 1024)
#define EMAIL_QP_LINE 76
/* Bytes per encoded-word: 39 bytes are 52 of base64, and the first line,
 * "Subject: =?UTF-8?B?...?=", stays within RFC 2047's 76 characters. */
#define EMAIL_WORD_BYTES 39

/* A growing buffer with a cap; the first failure sticks. */
struct email_buf {
    char *p;
    size_t len, cap;
    int err;
};

static void email_put(struct email_buf *b, const char *s, size_t n)
{
    if (b->err != 0)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > EMAIL_MESSAGE_MAX) {
            b->err = NINES_EINVAL;
            return;
        }
        if ((p = realloc(b->p, cap)) == NULL) {
            b->err = NINES_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void email_puts(struct email_buf *b, const char *s)
{
    email_put(b, s, strlen(s));
}

static void email_printf(struct email_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void email_printf(struct email_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        if (b->err == 0)
            b->err = NINES_EINVAL;
        return;
    }
    email_put(b, tmp, (size_t)n);
}

/*
 * local@domain in plain ASCII: at most 254 bytes (local part 64), one '@',
 * no spaces, controls, quotes or the specials that would let an address
 * break out of a header or an SMTP command.
 */
static int email_addr_ok(const char *a)
{
    const char *at = strchr(a, '@');
    size_t len = strlen(a);

    if (at == NULL || at == a || strchr(at + 1, '@') != NULL || at[1] == '\0' ||
        len > EMAIL_ADDR_MAX || (size_t)(at - a) > 64)
        return 0;
    for (const char *p = a; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
            strchr("<>()[]\\,;:\"", *p) != NULL)
            return 0;
    }
    return at[1] != '.' && a[len - 1] != '.' && strstr(at, "..") == NULL;
}

static char *email_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* cfg.to: comma-separated addresses, trimmed; empty items are skipped. */
static int email_rcpts(const char *to, struct notify_request *out)
{
    char list[sizeof(((struct receiver_cfg *)0)->to)];
    char *save = NULL, *item;

    snprintf(list, sizeof(list), "%s", to);
    for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *a = email_trim(item);

        if (a[0] == '\0')
            continue;
        if (!email_addr_ok(a) || out->nrcpt >= EMAIL_RCPT_MAX)
            return NINES_EINVAL;
        if ((out->rcpt[out->nrcpt] = strdup(a)) == NULL)
            return NINES_ENOMEM;
        out->nrcpt++;
    }
    return out->nrcpt > 0 ? 0 : NINES_EINVAL;
}

/* cfg.from: "addr", "Display Name <addr>" or "\"Display Name\" <addr>"; the
 * name in printable ASCII without quotes or backslashes. */
static int email_from(const char *from, char *name, size_t nlen, char *addr, size_t alen)
{
    char tmp[sizeof(((struct receiver_cfg *)0)->from)];
    char *s, *lt, *gt;

    snprintf(tmp, sizeof(tmp), "%s", from);
    s = email_trim(tmp);
    name[0] = '\0';
    lt = strchr(s, '<');
    if (lt != NULL) {
        gt = strchr(lt, '>');
        if (gt == NULL || gt[1] != '\0')
            return NINES_EINVAL;
        *gt = '\0';
        *lt = '\0';
        s = email_trim(s);
        if (s[0] == '"' && strlen(s) >= 2 && s[strlen(s) - 1] == '"') {
            s[strlen(s) - 1] = '\0';
            s++;
        }
        for (const char *p = s; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || *p == '"' ||
                *p == '\\')
                return NINES_EINVAL;
        }
        snprintf(name, nlen, "%s", s);
        s = email_trim(lt + 1);
    }
    if (!email_addr_ok(s) || strlen(s) >= alen)
        return NINES_EINVAL;
    snprintf(addr, alen, "%s", s);
    return 0;
}

static int email_url_ok(const char *url)
{
    if (strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0)
        return 0;
    for (const char *p = url; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
    }
    return 1;
}

/* RFC 5322 date in UTC, without the locale: "Sat, 28 Nov 2026 17:41:10 +0000". */
static void email_date(int64_t ms, char *buf, size_t len)
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

static uint64_t email_fnv1a(const char *s, uint64_t h)
{
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* "<key-with-safe-chars>.<state>.<created_ms>.<hash>@nines>": the same for
 * every retry of one notification, different between notifications. */
static void email_message_id(const struct notification *n, char *buf, size_t len)
{
    char safe[NOTIFY_KEY_LEN];
    size_t i;

    for (i = 0; n->key[i] != '\0' && i < sizeof(safe) - 1; i++) {
        char c = n->key[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '+' || c == '=';

        safe[i] = ok ? c : '_';
    }
    safe[i] = '\0';
    snprintf(buf, len, "<%s.%s.%" PRId64 ".%016" PRIx64 "@nines>", safe,
             notify_state_name(n->state), n->created_ms,
             email_fnv1a(n->key, 0xcbf29ce484222325ULL));
}

/* Subject: "[nines] FIRING: <summary>", controls turned into spaces; as
 * RFC 2047 base64 encoded-words (folded) when it is not plain ASCII. */
static void email_subject(struct email_buf *b, const struct notification *n, const char *summary)
{
    char s[EMAIL_SUBJECT_SUMMARY_MAX + 64];
    int ascii = 1;
    size_t i;

    i = (size_t)snprintf(s, sizeof(s), "[nines] %s: ", notify_state_upper(n->state));
    notify_str_copy(s + i, sizeof(s) - i, summary);
    notify_utf8_clip(s + i, EMAIL_SUBJECT_SUMMARY_MAX);
    for (char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
        if ((unsigned char)*p >= 0x80)
            ascii = 0;
    }
    email_puts(b, "Subject: ");
    if (ascii) {
        email_puts(b, s);
        email_puts(b, "\r\n");
        return;
    }
    for (i = 0; s[i] != '\0';) {
        unsigned char enc[64];
        size_t w = strlen(s + i) > EMAIL_WORD_BYTES ? EMAIL_WORD_BYTES : strlen(s + i);

        while (w > 0 && ((unsigned char)s[i + w] & 0xc0) == 0x80)
            w--;
        EVP_EncodeBlock(enc, (const unsigned char *)s + i, (int)w);
        email_printf(b, "%s=?UTF-8?B?%s?=", i == 0 ? "" : "\r\n ", (const char *)enc);
        i += w;
    }
    email_puts(b, "\r\n");
}

/* Text with every line break (CRLF, CR, LF) as CRLF and other controls but
 * tab as spaces. */
static void email_text_put(struct email_buf *b, const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\r' || *p == '\n') {
            email_put(b, "\r\n", 2);
            if (*p == '\r' && p[1] == '\n')
                p++;
        } else if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
            email_put(b, " ", 1);
        } else {
            email_put(b, p, 1);
        }
    }
}

/* HTML-escaped, line breaks as <br>. */
static void email_html_put(struct email_buf *b, const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            email_puts(b, "&amp;");
            break;
        case '<':
            email_puts(b, "&lt;");
            break;
        case '>':
            email_puts(b, "&gt;");
            break;
        case '"':
            email_puts(b, "&quot;");
            break;
        case '\'':
            email_puts(b, "&#39;");
            break;
        case '\r':
            if (p[1] == '\n')
                p++;
            /* fall through */
        case '\n':
            email_puts(b, "<br>\r\n");
            break;
        default:
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
                email_put(b, " ", 1);
            else
                email_put(b, p, 1);
        }
    }
}

/*
 * Quoted-printable (RFC 2045 6.7) of CRLF-separated text: CRLF stays a hard
 * line break, '=' and bytes outside 33..126 become =XX (space and tab only
 * before a line end), a '.' starting a line too, and soft breaks keep every
 * line within 76 characters.
 */
static void email_qp_put(struct email_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int eol = i + 1 >= len || (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n');
        char tok[3];
        size_t tn = 1;

        if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
            email_put(b, "\r\n", 2);
            col = 0;
            i++;
            continue;
        }
        tok[0] = (char)c;
        if (c == '=' || c > 126 || (c < 33 && !((c == ' ' || c == '\t') && !eol)) ||
            (c == '.' && col == 0)) {
            tok[0] = '=';
            tok[1] = hex[c >> 4];
            tok[2] = hex[c & 15];
            tn = 3;
        }
        if (col + tn > EMAIL_QP_LINE - 1) {
            email_put(b, "=\r\n", 3);
            col = 0;
            if (c == '.') {
                tok[0] = '=';
                tok[1] = '2';
                tok[2] = 'E';
                tn = 3;
            }
        }
        email_put(b, tok, tn);
        col += tn;
    }
}

struct email_row {
    const char *name;
    const char *value;
};

/* The facts both parts show, in order; rows with an empty value are left out. */
static size_t email_rows(const struct notification *n, char *start, char *end, size_t tlen,
                         struct email_row *rows)
{
    size_t k = 0;
    const struct email_row all[] = {
        { "Check", n->check },       { "Service", n->service },
        { "Customer", n->customer }, { "Team", n->team },
        { "Location", n->location }, { "Rule", n->rule },
        { "Severity", n->severity }, { "State", notify_state_name(n->state) },
        { "Started", nines_iso8601_ms(n->start_ms, start, tlen) },
        { "Resolved", n->state != NOTIFY_FIRING && n->end_ms > 0
                          ? nines_iso8601_ms(n->end_ms, end, tlen)
                          : "" },
        { "Reason", n->reason },     { "Key", n->key },
    };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (all[i].value[0] != '\0')
            rows[k++] = all[i];
    }
    return k;
}

static int email_url_is_web(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static void email_text_part(struct email_buf *b, const struct notification *n,
                            const char *title, const struct email_row *rows, size_t nrows)
{
    email_text_put(b, title);
    email_puts(b, "\r\n\r\n");
    for (size_t i = 0; i < nrows; i++) {
        char name[16];

        snprintf(name, sizeof(name), "%s:", rows[i].name);
        email_printf(b, "%-10s", name);
        email_text_put(b, rows[i].value);
        email_puts(b, "\r\n");
    }
    if (n->details[0] != '\0') {
        email_puts(b, "\r\n");
        email_text_put(b, n->details);
        email_puts(b, "\r\n");
    }
    if (n->url[0] != '\0') {
        email_puts(b, "\r\nIncident: ");
        email_text_put(b, n->url);
        email_puts(b, "\r\n");
    }
}

static void email_html_part(struct email_buf *b, const struct notification *n,
                            const char *title, const struct email_row *rows, size_t nrows)
{
    email_puts(b, "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>");
    email_html_put(b, title);
    email_puts(b, "</title></head>\r\n<body>\r\n<h2>");
    email_html_put(b, title);
    email_puts(b, "</h2>\r\n<table>\r\n");
    for (size_t i = 0; i < nrows; i++) {
        email_printf(b, "<tr><th align=\"left\">%s</th><td>", rows[i].name);
        email_html_put(b, rows[i].value);
        email_puts(b, "</td></tr>\r\n");
    }
    email_puts(b, "</table>\r\n");
    if (n->details[0] != '\0') {
        email_puts(b, "<p>");
        email_html_put(b, n->details);
        email_puts(b, "</p>\r\n");
    }
    if (email_url_is_web(n->url)) {
        email_puts(b, "<p><a href=\"");
        email_html_put(b, n->url);
        email_puts(b, "\">Open the incident</a></p>\r\n");
    }
    email_puts(b, "</body></html>\r\n");
}

static void email_part(struct email_buf *m, const char *boundary, const char *type,
                       const struct email_buf *content)
{
    email_printf(m, "--%s\r\nContent-Type: %s; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                 boundary, type);
    email_qp_put(m, content->p != NULL ? content->p : "", content->len);
    email_puts(m, "\r\n");
}

static void email_headers(struct email_buf *m, const struct notify_request *out,
                          const char *from_name, const struct notification *n,
                          const char *summary, int64_t now_ms, const char *boundary)
{
    char date[64], id[NOTIFY_KEY_LEN + 96];
    size_t col;

    email_date(now_ms, date, sizeof(date));
    email_printf(m, "Date: %s\r\n", date);
    if (from_name[0] != '\0')
        email_printf(m, "From: \"%s\" <%s>\r\n", from_name, out->mail_from);
    else
        email_printf(m, "From: %s\r\n", out->mail_from);
    email_puts(m, "To: ");
    col = 4;
    for (size_t i = 0; i < out->nrcpt; i++) {
        size_t alen = strlen(out->rcpt[i]);

        if (i > 0) {
            email_puts(m, col + alen + 2 > 78 ? ",\r\n " : ", ");
            col = col + alen + 2 > 78 ? 1 : col + 2;
        }
        email_puts(m, out->rcpt[i]);
        col += alen;
    }
    email_puts(m, "\r\n");
    email_subject(m, n, summary);
    email_message_id(n, id, sizeof(id));
    email_printf(m, "Message-ID: %s\r\n", id);
    email_puts(m, "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n");
    email_printf(m, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
}

static int email_message(const struct receiver_cfg *rc, const struct notification *n,
                         int64_t now_ms, const char *from_name, struct notify_request *out)
{
    struct email_buf m = { 0 }, text = { 0 }, html = { 0 };
    struct email_row rows[12];
    char summary[NOTIFY_SUMMARY_MAX], title[NOTIFY_SUMMARY_MAX + 32];
    char start[40], end[40], boundary[48];
    size_t nrows = email_rows(n, start, end, sizeof(start), rows);
    int err;

    notify_summary_render(rc, n, summary, sizeof(summary));
    snprintf(title, sizeof(title), "%s: %s", notify_state_upper(n->state), summary);
    snprintf(boundary, sizeof(boundary), "=_nines_%016" PRIx64,
             email_fnv1a(n->key, (uint64_t)n->created_ms ^ (uint64_t)n->state));
    email_text_part(&text, n, title, rows, nrows);
    email_html_part(&html, n, title, rows, nrows);
    email_headers(&m, out, from_name, n, summary, now_ms, boundary);
    email_puts(&m, "This is a MIME message: text/plain and text/html alternatives.\r\n");
    email_part(&m, boundary, "text/plain", &text);
    email_part(&m, boundary, "text/html", &html);
    email_printf(&m, "--%s--\r\n", boundary);
    err = m.err != 0 ? m.err : text.err != 0 ? text.err : html.err;
    free(text.p);
    free(html.p);
    if (err != 0) {
        free(m.p);
        return err;
    }
    out->body = m.p;
    out->body_len = m.len;
    return 0;
}

int notify_email_build(const struct receiver_cfg *rc, const struct notification *n,
                       int64_t now_ms, struct notify_request *out)
{
    char from_name[sizeof(rc->from)];
    int err;

    if (!email_url_ok(rc->url) || strlen(rc->url) >= sizeof(out->url))
        return NINES_EINVAL;
    err = email_from(rc->from, from_name, sizeof(from_name), out->mail_from,
                     sizeof(out->mail_from));
    if (err != 0 || (err = email_rcpts(rc->to, out)) != 0)
        return err;
    out->smtp = 1;
    out->starttls = rc->starttls;
    snprintf(out->url, sizeof(out->url), "%s", rc->url);
    snprintf(out->user, sizeof(out->user), "%s", rc->user);
    snprintf(out->password, sizeof(out->password), "%s", rc->secret);
    return email_message(rc, n, now_ms, from_name, out);
}
