/*
 * PagerDuty V3 webhooks in: signature check and payload parsing (see
 * pdinbound.h for the formats and what we match on).
 */
#include "pdinbound.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "tz.h"

#define PDINBOUND_SIG_PREFIX "v1="
#define PDINBOUND_SIG_HEX 64            /* SHA-256: 32 bytes */

static int pdinbound_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * One header item, trimmed, [s, s + n): 1 with the 32 signature bytes in out
 * when it is "v1=" and 64 hex digits, else 0 (another version, or garbled).
 */
static int pdinbound_sig_item(const char *s, size_t n, unsigned char out[32])
{
    size_t plen = strlen(PDINBOUND_SIG_PREFIX);

    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n != plen + PDINBOUND_SIG_HEX || memcmp(s, PDINBOUND_SIG_PREFIX, plen) != 0)
        return 0;
    s += plen;
    for (size_t i = 0; i < 32; i++) {
        int hi = pdinbound_hexval(s[2 * i]), lo = pdinbound_hexval(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

int pdinbound_verify(const char *secret, const unsigned char *body, size_t len,
                     const char *signature_header)
{
    unsigned char md[EVP_MAX_MD_SIZE], sig[32];
    unsigned int mdlen = 0;
    const char *p;
    size_t hlen;
    int wellformed = 0, match = 0;

    if (secret == NULL || secret[0] == '\0' || body == NULL || len == 0 ||
        signature_header == NULL)
        return NINES_EINVAL;
    hlen = strnlen(signature_header, PDINBOUND_HEADER_MAX + 1);
    if (hlen == 0 || hlen > PDINBOUND_HEADER_MAX)
        return NINES_EINVAL;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, md, &mdlen) == NULL ||
        mdlen != sizeof(sig))
        return NINES_EINVAL;
    for (p = signature_header; p != NULL;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (pdinbound_sig_item(p, n, sig)) {
            wellformed++;
            /* every item is compared, so the time does not say which matched */
            match |= CRYPTO_memcmp(sig, md, sizeof(sig)) == 0;
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    OPENSSL_cleanse(md, sizeof(md));
    return wellformed > 0 && match ? 0 : NINES_EINVAL;
}

const char *pdinbound_type_name(enum pdinbound_type t)
{
    switch (t) {
    case PDINBOUND_ACKNOWLEDGED:
        return "acknowledged";
    case PDINBOUND_RESOLVED:
        return "resolved";
    case PDINBOUND_UNACKNOWLEDGED:
        return "unacknowledged";
    default:
        return "other";
    }
}

/* ---- parsing ------------------------------------------------------------ */

/* n decimal digits at s into *v; 0 or -1. */
static int pdinbound_digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/*
 * RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" into ms since the
 * epoch; digits of the fraction past milliseconds are dropped. 0 or -1.
 */
static int pdinbound_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, scale = 100, oh = 0, om = 0, sign = 0;
    size_t i = 19;

    if (strlen(s) < 20 || pdinbound_digits(s, 4, &y) || s[4] != '-' ||
        pdinbound_digits(s + 5, 2, &mo) || s[7] != '-' || pdinbound_digits(s + 8, 2, &d) ||
        s[10] != 'T' || pdinbound_digits(s + 11, 2, &h) || s[13] != ':' ||
        pdinbound_digits(s + 14, 2, &mi) || s[16] != ':' || pdinbound_digits(s + 17, 2, &sec))
        return -1;
    if (s[i] == '.') {
        if (s[++i] < '0' || s[i] > '9')
            return -1;
        for (; s[i] >= '0' && s[i] <= '9'; i++) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (s[i] == 'Z' && s[i + 1] == '\0') {
        sign = 0;
    } else if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 && s[i + 3] == ':' &&
               pdinbound_digits(s + i + 1, 2, &oh) == 0 &&
               pdinbound_digits(s + i + 4, 2, &om) == 0 && oh < 24 && om < 60) {
        sign = s[i] == '+' ? 1 : -1;
    } else {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60 ||
        d > nines_days_from_civil(y, mo + 1, 1) - nines_days_from_civil(y, mo, 1))
        return -1;
    *ms = ((nines_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec) -
           (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + frac;
    return 0;
}

/* The member, or NULL with err filled: required and missing, or not an object. */
static json_t *pdinbound_object(json_t *parent, const char *name, const char *path,
                                struct nines_err *err)
{
    json_t *v = json_object_get(parent, name);

    if (v == NULL)
        nines_err_set(err, NINES_EPROTO, "%s: missing", path);
    else if (!json_is_object(v))
        nines_err_set(err, NINES_EPROTO, "%s: expected an object", path);
    else
        return v;
    return NULL;
}

enum pdinbound_need { PDINBOUND_OPTIONAL = 0, PDINBOUND_REQUIRED };

/*
 * The string member name of obj into buf (size bytes). A missing member or
 * null leaves buf "" (an error if required; so is ""). A longer value is an
 * error unless clip is set: then it is cut on a UTF-8 boundary.
 */
static int pdinbound_string(json_t *obj, const char *name, const char *path,
                            enum pdinbound_need need, int clip, char *buf, size_t size,
                            struct nines_err *err)
{
    json_t *v = json_object_get(obj, name);
    const char *s;
    size_t n;

    buf[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        if (need == PDINBOUND_REQUIRED)
            return nines_err_set(err, NINES_EPROTO, "%s: missing", path);
        return 0;
    }
    if (!json_is_string(v))
        return nines_err_set(err, NINES_EPROTO, "%s: expected a string", path);
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 && need == PDINBOUND_REQUIRED)
        return nines_err_set(err, NINES_EPROTO, "%s: empty", path);
    if (n >= size) {
        if (!clip)
            return nines_err_set(err, NINES_EPROTO, "%s: %zu bytes, at most %zu allowed", path,
                                 n, size - 1);
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

/* Printable ASCII only: the key is ours, and anything else cannot be. */
static int pdinbound_key_ok(const char *k)
{
    for (; *k != '\0'; k++) {
        if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f)
            return 0;
    }
    return 1;
}

/* An http(s) URL without spaces or control bytes: safe to show as a link. */
static int pdinbound_url_ok(const char *u)
{
    if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
        return 0;
    for (; *u != '\0'; u++) {
        if ((unsigned char)*u <= 0x20 || (unsigned char)*u == 0x7f)
            return 0;
    }
    return 1;
}

static int pdinbound_agent(json_t *event, struct pdinbound_event *ev, struct nines_err *err)
{
    json_t *agent = json_object_get(event, "agent");
    int rc;

    if (agent == NULL || json_is_null(agent))
        return 0;
    if (!json_is_object(agent))
        return nines_err_set(err, NINES_EPROTO, "event.agent: expected an object or null");
    if ((rc = pdinbound_string(agent, "summary", "event.agent.summary", PDINBOUND_OPTIONAL, 1,
                               ev->agent, sizeof(ev->agent), err)) != 0 ||
        (rc = pdinbound_string(agent, "type", "event.agent.type", PDINBOUND_OPTIONAL, 0,
                               ev->agent_type, sizeof(ev->agent_type), err)) != 0)
        return rc;
    return pdinbound_string(agent, "id", "event.agent.id", PDINBOUND_OPTIONAL, 0, ev->agent_id,
                            sizeof(ev->agent_id), err);
}

/* event.data of an incident event: the incident. */
static int pdinbound_incident(json_t *event, struct pdinbound_event *ev,
                              struct nines_err *err)
{
    json_t *data = pdinbound_object(event, "data", "event.data", err);
    char type[32];
    int rc;

    if (data == NULL)
        return NINES_EPROTO;
    if ((rc = pdinbound_string(data, "type", "event.data.type", PDINBOUND_REQUIRED, 0, type,
                               sizeof(type), err)) != 0)
        return rc;
    if (strcmp(type, "incident") != 0)
        return nines_err_set(err, NINES_EPROTO,
                             "event.data.type: \"%s\" for %s, expected \"incident\"", type,
                             ev->event_type);
    if ((rc = pdinbound_string(data, "id", "event.data.id", PDINBOUND_REQUIRED, 0,
                               ev->incident_id, sizeof(ev->incident_id), err)) != 0 ||
        (rc = pdinbound_string(data, "incident_key", "event.data.incident_key",
                               PDINBOUND_OPTIONAL, 0, ev->key, sizeof(ev->key), err)) != 0 ||
        (rc = pdinbound_string(data, "html_url", "event.data.html_url", PDINBOUND_OPTIONAL, 0,
                               ev->html_url, sizeof(ev->html_url), err)) != 0)
        return rc;
    if (!pdinbound_key_ok(ev->key))
        return nines_err_set(err, NINES_EPROTO,
                             "event.data.incident_key: spaces or non-ASCII bytes");
    if (!pdinbound_url_ok(ev->html_url))
        ev->html_url[0] = '\0';
    return pdinbound_agent(event, ev, err);
}

static enum pdinbound_type pdinbound_type_of(const char *event_type)
{
    if (strcmp(event_type, "incident.acknowledged") == 0)
        return PDINBOUND_ACKNOWLEDGED;
    if (strcmp(event_type, "incident.resolved") == 0)
        return PDINBOUND_RESOLVED;
    if (strcmp(event_type, "incident.unacknowledged") == 0)
        return PDINBOUND_UNACKNOWLEDGED;
    return PDINBOUND_OTHER;
}

static int pdinbound_event_parse(json_t *root, struct pdinbound_event *ev,
                                 struct nines_err *err)
{
    json_t *event;
    char when[64];
    int rc;

    if (!json_is_object(root))
        return nines_err_set(err, NINES_EPROTO, "body: expected a JSON object");
    if ((event = pdinbound_object(root, "event", "event", err)) == NULL)
        return NINES_EPROTO;
    if ((rc = pdinbound_string(event, "event_type", "event.event_type", PDINBOUND_REQUIRED, 0,
                               ev->event_type, sizeof(ev->event_type), err)) != 0 ||
        (rc = pdinbound_string(event, "id", "event.id", PDINBOUND_REQUIRED, 0, ev->event_id,
                               sizeof(ev->event_id), err)) != 0 ||
        (rc = pdinbound_string(event, "occurred_at", "event.occurred_at", PDINBOUND_REQUIRED, 0,
                               when, sizeof(when), err)) != 0)
        return rc;
    if (pdinbound_time(when, &ev->occurred_ms) != 0)
        return nines_err_set(err, NINES_EPROTO,
                             "event.occurred_at: \"%s\" is not an ISO 8601 date-time", when);
    ev->type = pdinbound_type_of(ev->event_type);
    if (ev->type == PDINBOUND_OTHER)
        return 0;
    return pdinbound_incident(event, ev, err);
}

int pdinbound_parse(const char *body, size_t len, struct pdinbound_event *ev,
                    struct nines_err *err)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    if (ev == NULL || (body == NULL && len > 0))
        return nines_err_set(err, NINES_EINVAL, "pdinbound_parse: no body or no event");
    memset(ev, 0, sizeof(*ev));
    if (len > PDINBOUND_BODY_MAX)
        return nines_err_set(err, NINES_EPROTO, "body: %zu bytes, more than the %d allowed",
                             len, PDINBOUND_BODY_MAX);
    root = json_loadb(body != NULL ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return nines_err_set(err, NINES_ENOMEM, "body: out of memory");
        return nines_err_set(err, NINES_EPROTO, "body: line %d, column %d: %s", jerr.line,
                             jerr.column, jerr.text);
    }
    rc = pdinbound_event_parse(root, ev, err);
    json_decref(root);
    if (rc != 0)
        memset(ev, 0, sizeof(*ev));     /* nothing half-filled */
    return rc;
}
