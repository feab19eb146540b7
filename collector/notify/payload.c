/*
 * Notification requests: the entry point that normalises a notification and
 * hands it to the receiver's builder, the summary template, and the helpers
 * every builder shares (bounded UTF-8, sanitised headers, JSON bodies).
 * Everything here is pure: no I/O, no clock (the caller passes now_ms).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonw.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "receivers.h"

typedef int notify_builder_fn(const struct receiver_cfg *rc, const struct notification *n,
                              int64_t now_ms, struct notify_request *out);

static notify_builder_fn *const notify_builders[] = {
    [RECEIVER_WEBHOOK] = notify_webhook_build,
    [RECEIVER_SLACK] = notify_slack_build,
    [RECEIVER_PAGERDUTY] = notify_pagerduty_build,
    [RECEIVER_OPSGENIE] = notify_opsgenie_build,
    [RECEIVER_ALERTMANAGER] = notify_alertmanager_build,
    [RECEIVER_EMAIL] = notify_email_build,
};

static const char *const notify_kind_names[] = {
    [RECEIVER_WEBHOOK] = "webhook",     [RECEIVER_SLACK] = "slack",
    [RECEIVER_PAGERDUTY] = "pagerduty", [RECEIVER_OPSGENIE] = "opsgenie",
    [RECEIVER_ALERTMANAGER] = "alertmanager", [RECEIVER_EMAIL] = "email",
};

#define NOTIFY_NKINDS (sizeof(notify_kind_names) / sizeof(notify_kind_names[0]))

const char *notify_state_name(enum notify_state s)
{
    switch (s) {
    case NOTIFY_FIRING:
        return "firing";
    case NOTIFY_RESOLVED:
        return "resolved";
    case NOTIFY_ACKNOWLEDGED:
        return "acknowledged";
    }
    return "unknown";
}

const char *notify_state_upper(enum notify_state s)
{
    switch (s) {
    case NOTIFY_FIRING:
        return "FIRING";
    case NOTIFY_RESOLVED:
        return "RESOLVED";
    case NOTIFY_ACKNOWLEDGED:
        return "ACKNOWLEDGED";
    }
    return "UNKNOWN";
}

const char *receiver_kind_name(enum receiver_kind k)
{
    if ((unsigned)k >= NOTIFY_NKINDS)
        return "unknown";
    return notify_kind_names[k];
}

/* Case-insensitive: "Slack" in a config file means slack. */
int receiver_kind_parse(const char *s, enum receiver_kind *k)
{
    if (s == NULL || k == NULL)
        return NINES_EINVAL;
    for (size_t i = 0; i < NOTIFY_NKINDS; i++) {
        if (strcasecmp(s, notify_kind_names[i]) == 0) {
            *k = (enum receiver_kind)i;
            return 0;
        }
    }
    return NINES_EINVAL;
}

/* Length of the valid UTF-8 sequence at s (NUL-terminated), or 0. */
static size_t notify_utf8_seq_len(const unsigned char *s)
{
    return s[0] < 0x80 ? 1 : jsonw_utf8_len(s, strnlen((const char *)s, 4));
}

void notify_utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p != '\0') {
        size_t n = notify_utf8_seq_len(p);

        if (n == 0) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

size_t notify_utf8_clip(char *s, size_t max_bytes)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    size_t len = strlen(s);
    size_t cut;

    if (len <= max_bytes)
        return len;
    cut = max_bytes >= sizeof(ellipsis) - 1 ? max_bytes - (sizeof(ellipsis) - 1) : max_bytes;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    if (max_bytes >= sizeof(ellipsis) - 1) {
        memcpy(s + cut, ellipsis, sizeof(ellipsis));
        return cut + sizeof(ellipsis) - 1;
    }
    s[cut] = '\0';
    return cut;
}

size_t notify_str_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (size == 0)
        return 0;
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* Bounded output that only ever holds whole UTF-8 characters. */
struct notify_out {
    char *buf;
    size_t len, cap;
    int full;
};

static void notify_out_put(struct notify_out *o, const char *s, size_t n)
{
    size_t room = o->cap - 1 - o->len;

    if (o->full)
        return;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
        o->full = 1;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* The value of placeholder name (without braces), or NULL if unknown. */
static const char *notify_placeholder(const struct notification *n, const char *name,
                                      size_t len, char *tmp, size_t tmplen)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        { "check", offsetof(struct notification, check) },
        { "service", offsetof(struct notification, service) },
        { "reason", offsetof(struct notification, reason) },
        { "summary", offsetof(struct notification, summary) },
        { "url", offsetof(struct notification, url) },
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i].name) == len && memcmp(fields[i].name, name, len) == 0)
            return (const char *)n + fields[i].off;
    }
    if (len == 5 && memcmp(name, "state", 5) == 0)
        return notify_state_name(n->state);
    if (len == 5 && memcmp(name, "start", 5) == 0)
        return nines_iso8601_ms(n->start_ms, tmp, tmplen);
    return NULL;
}

/*
 * Renders {check} {service} {state} {reason} {summary} {start} {url}; any
 * other brace text is copied as it is. The output is cut (on a character
 * boundary) at len - 1 bytes. No escaping here: each body format escapes its
 * own fields, and headers are sanitised where they are written.
 */
void notify_summary_render(const struct receiver_cfg *rc, const struct notification *n,
                           char *buf, size_t len)
{
    struct notify_out o = { buf, 0, len, 0 };
    const char *t = rc->template_summary;
    char tmp[40];

    if (len == 0)
        return;
    buf[0] = '\0';
    if (t[0] == '\0') {
        notify_out_put(&o, n->summary, strlen(n->summary));
        return;
    }
    while (*t != '\0' && !o.full) {
        const char *close = *t == '{' ? strchr(t + 1, '}') : NULL;
        const char *v = NULL;

        if (close != NULL && close - t <= 16)
            v = notify_placeholder(n, t + 1, (size_t)(close - t - 1), tmp, sizeof(tmp));
        if (v != NULL) {
            notify_out_put(&o, v, strlen(v));
            t = close + 1;
            continue;
        }
        notify_out_put(&o, t, 1);
        t++;
    }
}

int notify_header_add(struct notify_request *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    size_t nlen = strlen(name);
    int vlen;
    char *h;

    if (r->nheaders >= sizeof(r->headers) / sizeof(r->headers[0]))
        return NINES_EINVAL;
    va_start(ap, fmt);
    vlen = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (vlen < 0)
        return NINES_EINVAL;
    h = malloc(nlen + 2 + (size_t)vlen + 1);
    if (h == NULL)
        return NINES_ENOMEM;
    memcpy(h, name, nlen);
    memcpy(h + nlen, ": ", 2);
    va_start(ap, fmt);
    vsnprintf(h + nlen + 2, (size_t)vlen + 1, fmt, ap);
    va_end(ap);
    for (char *p = h + nlen + 2; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
    r->headers[r->nheaders++] = h;
    return 0;
}

int notify_body_take_json(struct notify_request *r, json_t *doc)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (s == NULL)
        return NINES_ENOMEM;
    free(r->body);
    r->body = s;
    r->body_len = strlen(s);
    return 0;
}

int notify_url_set(struct notify_request *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(r->url, sizeof(r->url), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(r->url))
        goto bad;
    if (strncasecmp(r->url, "http://", 7) != 0 && strncasecmp(r->url, "https://", 8) != 0)
        goto bad;
    for (const char *p = r->url; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            goto bad;
    }
    return 0;
bad:
    r->url[0] = '\0';
    return NINES_EINVAL;
}

void notify_json_put(json_t *obj, const char *key, json_t *v, int *err)
{
    /* json_object_set_new drops v on failure, including when obj is NULL. */
    if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        if (*err == 0)
            *err = NINES_ENOMEM;
    }
}

void notify_json_put_str(json_t *obj, const char *key, const char *s, int *err)
{
    notify_json_put(obj, key, json_string(s), err);
}

void notify_json_put_label(json_t *obj, const char *key, const char *s, int *err)
{
    if (s[0] != '\0')
        notify_json_put(obj, key, json_string(s), err);
}

void notify_json_append(json_t *arr, json_t *v, int *err)
{
    if (v == NULL || json_array_append_new(arr, v) != 0) {
        if (*err == 0)
            *err = NINES_ENOMEM;
    }
}

void notify_request_clear(struct notify_request *r)
{
    if (r == NULL)
        return;
    /* Headers and bodies may hold a key (GenieKey, routing_key): wipe them. */
    for (size_t i = 0; i < r->nheaders && i < sizeof(r->headers) / sizeof(r->headers[0]); i++) {
        if (r->headers[i] != NULL)
            explicit_bzero(r->headers[i], strlen(r->headers[i]));
        free(r->headers[i]);
    }
    if (r->body != NULL)
        explicit_bzero(r->body, r->body_len);
    free(r->body);
    for (size_t i = 0; i < r->nrcpt && i < sizeof(r->rcpt) / sizeof(r->rcpt[0]); i++)
        free(r->rcpt[i]);
    explicit_bzero(r, sizeof(*r));
}

/* NUL-terminates a fixed-size field and makes it valid UTF-8. */
static void notify_field_fix(char *s, size_t size)
{
    s[size - 1] = '\0';
    notify_utf8_repair(s);
}

#define NOTIFY_FIX(f) notify_field_fix((f), sizeof(f))

static void notify_normalise(struct notification *n, struct receiver_cfg *c)
{
    NOTIFY_FIX(n->key);
    NOTIFY_FIX(n->rule);
    NOTIFY_FIX(n->severity);
    NOTIFY_FIX(n->check);
    NOTIFY_FIX(n->service);
    NOTIFY_FIX(n->customer);
    NOTIFY_FIX(n->team);
    NOTIFY_FIX(n->location);
    NOTIFY_FIX(n->reason);
    NOTIFY_FIX(n->summary);
    NOTIFY_FIX(n->details);
    NOTIFY_FIX(n->url);
    NOTIFY_FIX(c->name);
    NOTIFY_FIX(c->url);
    NOTIFY_FIX(c->secret);
    NOTIFY_FIX(c->user);
    NOTIFY_FIX(c->from);
    NOTIFY_FIX(c->to);
    NOTIFY_FIX(c->template_summary);
}

/*
 * out is overwritten, not freed: clear a request before building another into
 * it. On failure out is left cleared, so notify_request_clear is still safe.
 */
int notify_build(const struct receiver_cfg *rc, const struct notification *n, int64_t now_ms,
                 struct notify_request *out)
{
    struct notification nn;
    struct receiver_cfg cc;
    int err;

    if (out == NULL)
        return NINES_EINVAL;
    memset(out, 0, sizeof(*out));
    if (rc == NULL || n == NULL || (unsigned)n->state > NOTIFY_ACKNOWLEDGED ||
        (unsigned)rc->kind >= NOTIFY_NKINDS)
        return NINES_EINVAL;
    nn = *n;
    cc = *rc;
    notify_normalise(&nn, &cc);
    if (nn.key[0] == '\0')
        err = NINES_EINVAL;
    else
        err = notify_builders[cc.kind](&cc, &nn, now_ms, out);
    explicit_bzero(&cc, sizeof(cc));
    if (err != 0)
        notify_request_clear(out);
    return err;
}
