/*
 * PagerDuty Events API v2 (POST https://events.pagerduty.com/v2/enqueue).
 *
 *   {"routing_key": "<integration key>", "event_action": "trigger",
 *    "dedup_key": "<key>",
 *    "payload": {"summary", "source", "severity", "timestamp", "component",
 *                "group", "class", "custom_details": {...}},
 *    "client": "nines", "client_url": "<url>",
 *    "links": [{"href": "<url>", "text": "nines incident"}]}
 *
 * acknowledge and resolve carry only routing_key, event_action and dedup_key,
 * as in PagerDuty's examples. The routing key has to be in the body (the API
 * takes it nowhere else); nothing else secret is sent. Limits from the API
 * reference: summary 1024 characters, dedup_key 255 (our keys are shorter).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "receivers.h"

#define PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"
#define PAGERDUTY_SUMMARY_MAX 1024

static const char *pagerduty_action(enum notify_state s)
{
    return s == NOTIFY_FIRING ? "trigger" : s == NOTIFY_RESOLVED ? "resolve" : "acknowledge";
}

/* page -> critical, ticket -> warning, info -> info; anything else -> error. */
static const char *pagerduty_severity(const char *sev)
{
    if (strcasecmp(sev, "page") == 0)
        return "critical";
    if (strcasecmp(sev, "ticket") == 0)
        return "warning";
    if (strcasecmp(sev, "info") == 0)
        return "info";
    return "error";
}

static json_t *pagerduty_details(const struct notification *n, int *err)
{
    json_t *d = json_object();

    notify_json_put_str(d, "reason", n->reason, err);
    notify_json_put_str(d, "details", n->details, err);
    notify_json_put_label(d, "location", n->location, err);
    notify_json_put_label(d, "customer", n->customer, err);
    notify_json_put_label(d, "team", n->team, err);
    notify_json_put(d, "start_ms", json_integer(n->start_ms), err);
    return d;
}

static json_t *pagerduty_payload(const struct receiver_cfg *rc, const struct notification *n,
                                 int *err)
{
    json_t *p = json_object();
    char summary[NOTIFY_SUMMARY_MAX], when[40];
    const char *source = n->check[0] != '\0' ? n->check
                         : n->service[0] != '\0' ? n->service
                                                 : "nines";

    notify_summary_render(rc, n, summary, sizeof(summary));
    notify_utf8_clip(summary, PAGERDUTY_SUMMARY_MAX);
    if (summary[0] == '\0')
        snprintf(summary, sizeof(summary), "%s", n->rule[0] != '\0' ? n->rule : n->key);
    notify_json_put_str(p, "summary", summary, err);
    notify_json_put_str(p, "source", source, err);
    notify_json_put_str(p, "severity", pagerduty_severity(n->severity), err);
    notify_json_put_str(p, "timestamp", nines_iso8601_ms(n->start_ms, when, sizeof(when)), err);
    notify_json_put_label(p, "component", n->check, err);
    notify_json_put_label(p, "group", n->service, err);
    notify_json_put_label(p, "class", n->rule, err);
    notify_json_put(p, "custom_details", pagerduty_details(n, err), err);
    return p;
}

static json_t *pagerduty_links(const struct notification *n, int *err)
{
    json_t *links = json_array(), *l = json_object();

    notify_json_put_str(l, "href", n->url, err);
    notify_json_put_str(l, "text", "nines incident", err);
    notify_json_append(links, l, err);
    return links;
}

int notify_pagerduty_build(const struct receiver_cfg *rc, const struct notification *n,
                           int64_t now_ms, struct notify_request *out)
{
    json_t *doc;
    int err = 0;

    (void)now_ms;
    if (rc->secret[0] == '\0' ||
        notify_url_set(out, "%s", rc->url[0] != '\0' ? rc->url : PAGERDUTY_URL) != 0)
        return NINES_EINVAL;
    snprintf(out->method, sizeof(out->method), "POST");
    doc = json_object();
    notify_json_put_str(doc, "routing_key", rc->secret, &err);
    notify_json_put_str(doc, "event_action", pagerduty_action(n->state), &err);
    notify_json_put_str(doc, "dedup_key", n->key, &err);
    if (n->state == NOTIFY_FIRING) {
        notify_json_put(doc, "payload", pagerduty_payload(rc, n, &err), &err);
        notify_json_put_str(doc, "client", "nines", &err);
        if (n->url[0] != '\0') {
            notify_json_put_str(doc, "client_url", n->url, &err);
            notify_json_put(doc, "links", pagerduty_links(n, &err), &err);
        }
    }
    if (err != 0) {
        json_decref(doc);
        return err;
    }
    if ((err = notify_body_take_json(out, doc)) != 0)
        return err;
    return notify_header_add(out, "Content-Type", "application/json");
}
