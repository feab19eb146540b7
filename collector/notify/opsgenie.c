/*
 * Opsgenie Alert API v2, authenticated with "Authorization: GenieKey <key>"
 * (the key goes in that header only).
 *
 *   firing:       POST {base}/v2/alerts
 *                 {"message", "alias": key, "description", "priority",
 *                  "tags": [rule, severity], "details": {...}, "entity", "source"}
 *   resolved:     POST {base}/v2/alerts/{alias}/close?identifierType=alias
 *   acknowledged: POST {base}/v2/alerts/{alias}/acknowledge?identifierType=alias
 *                 {"source": "nines", "user": "nines", "note": "..."}
 *
 * base is the receiver's url (e.g. https://api.eu.opsgenie.com) or
 * https://api.opsgenie.com. Limits from Opsgenie's documentation: message
 * 130 characters, alias 512, description 15000, tags 50 characters each.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "receivers.h"

#define OPSGENIE_URL "https://api.opsgenie.com"
#define OPSGENIE_MESSAGE_MAX 130
#define OPSGENIE_ALIAS_MAX 512
#define OPSGENIE_DESCRIPTION_MAX 15000
#define OPSGENIE_TAG_MAX 50

/* page -> P1, ticket -> P3, info -> P5; anything else -> P3 (Opsgenie's default). */
static const char *opsgenie_priority(const char *sev)
{
    if (strcasecmp(sev, "page") == 0)
        return "P1";
    if (strcasecmp(sev, "info") == 0)
        return "P5";
    return "P3";
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static int opsgenie_urlencode(const char *in, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
                    *p == '~';

        if (o + (plain ? 1 : 3) >= len)
            return NINES_EINVAL;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static void opsgenie_tag(json_t *tags, const char *s, int *err)
{
    char tag[OPSGENIE_TAG_MAX + 1];

    if (s[0] == '\0')
        return;
    notify_str_copy(tag, sizeof(tag), s);
    notify_utf8_clip(tag, OPSGENIE_TAG_MAX);
    notify_json_append(tags, json_string(tag), err);
}

static json_t *opsgenie_details(const struct notification *n, int *err)
{
    json_t *d = json_object();
    char when[40];

    notify_json_put_label(d, "check", n->check, err);
    notify_json_put_label(d, "service", n->service, err);
    notify_json_put_label(d, "customer", n->customer, err);
    notify_json_put_label(d, "team", n->team, err);
    notify_json_put_label(d, "location", n->location, err);
    notify_json_put_label(d, "reason", n->reason, err);
    notify_json_put_label(d, "url", n->url, err);
    notify_json_put_str(d, "start", nines_iso8601_ms(n->start_ms, when, sizeof(when)), err);
    return d;
}

static json_t *opsgenie_create(const struct receiver_cfg *rc, const struct notification *n,
                               int *err)
{
    json_t *d = json_object(), *tags = json_array();
    char summary[NOTIFY_SUMMARY_MAX], alias[OPSGENIE_ALIAS_MAX + 1];

    notify_summary_render(rc, n, summary, sizeof(summary));
    notify_json_put_str(d, "description",
                        n->details[0] != '\0' ? n->details : summary, err);
    notify_utf8_clip(summary, OPSGENIE_MESSAGE_MAX);
    if (summary[0] == '\0')
        snprintf(summary, sizeof(summary), "%s", n->rule[0] != '\0' ? n->rule : "nines alert");
    snprintf(alias, sizeof(alias), "%s", n->key);
    notify_utf8_clip(alias, OPSGENIE_ALIAS_MAX);
    notify_json_put_str(d, "message", summary, err);
    notify_json_put_str(d, "alias", alias, err);
    notify_json_put_str(d, "priority", opsgenie_priority(n->severity), err);
    opsgenie_tag(tags, n->rule, err);
    opsgenie_tag(tags, n->severity, err);
    notify_json_put(d, "tags", tags, err);
    notify_json_put(d, "details", opsgenie_details(n, err), err);
    notify_json_put_label(d, "entity", n->check[0] != '\0' ? n->check : n->service, err);
    notify_json_put_str(d, "source", "nines", err);
    return d;
}

static json_t *opsgenie_action(const struct receiver_cfg *rc, const struct notification *n,
                               int *err)
{
    json_t *d = json_object();
    char summary[NOTIFY_SUMMARY_MAX], note[NOTIFY_SUMMARY_MAX + 96], when[40];
    int ended = n->state == NOTIFY_RESOLVED && n->end_ms > 0;

    notify_summary_render(rc, n, summary, sizeof(summary));
    if (ended)
        snprintf(note, sizeof(note), "Resolved at %s: %s",
                 nines_iso8601_ms(n->end_ms, when, sizeof(when)), summary);
    else
        snprintf(note, sizeof(note), "%s in nines: %s",
                 n->state == NOTIFY_RESOLVED ? "Resolved" : "Acknowledged", summary);
    notify_json_put_str(d, "source", "nines", err);
    notify_json_put_str(d, "user", "nines", err);
    notify_json_put_str(d, "note", note, err);
    return d;
}

int notify_opsgenie_build(const struct receiver_cfg *rc, const struct notification *n,
                          int64_t now_ms, struct notify_request *out)
{
    char base[sizeof(rc->url)], alias[3 * NOTIFY_KEY_LEN];
    size_t blen;
    json_t *doc;
    int err = 0;

    (void)now_ms;
    if (rc->secret[0] == '\0')
        return NINES_EINVAL;
    blen = notify_str_copy(base, sizeof(base), rc->url[0] != '\0' ? rc->url : OPSGENIE_URL);
    while (blen > 0 && base[blen - 1] == '/')
        base[--blen] = '\0';
    if (n->state == NOTIFY_FIRING)
        err = notify_url_set(out, "%s/v2/alerts", base);
    else if ((err = opsgenie_urlencode(n->key, alias, sizeof(alias))) == 0)
        err = notify_url_set(out, "%s/v2/alerts/%s/%s?identifierType=alias", base, alias,
                             n->state == NOTIFY_RESOLVED ? "close" : "acknowledge");
    if (err != 0)
        return err;
    snprintf(out->method, sizeof(out->method), "POST");
    doc = n->state == NOTIFY_FIRING ? opsgenie_create(rc, n, &err) : opsgenie_action(rc, n, &err);
    if (err != 0) {
        json_decref(doc);
        return err;
    }
    if ((err = notify_body_take_json(out, doc)) != 0 ||
        (err = notify_header_add(out, "Content-Type", "application/json")) != 0)
        return err;
    return notify_header_add(out, "Authorization", "GenieKey %s", rc->secret);
}
