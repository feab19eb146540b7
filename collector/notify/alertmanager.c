/*
 * Prometheus Alertmanager API v2: POST {url}/api/v2/alerts with an array of
 * postableAlert objects (labels required; annotations, startsAt, endsAt,
 * generatorURL optional).
 *
 *   [{"labels": {"alertname": rule, "severity", "check", "service", ...,
 *                "nines_key": key},
 *     "annotations": {"summary", "description", "reason", "state"},
 *     "startsAt": "<start>", "endsAt": "<end, resolved only>",
 *     "generatorURL": "<url>"}]
 *
 * Labels are the alert's identity, so they never change between states.
 * A firing (or acknowledged: Alertmanager has no such state) alert has no
 * endsAt; Alertmanager then keeps it active for resolve_timeout, and the
 * delivery engine re-sends it before that runs out. A resolved alert carries
 * its end time as endsAt.
 */
#include <stdio.h>
#include <string.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "receivers.h"

static json_t *alertmanager_labels(const struct notification *n, int *err)
{
    json_t *l = json_object();

    notify_json_put_str(l, "alertname", n->rule[0] != '\0' ? n->rule : "nines", err);
    notify_json_put_label(l, "severity", n->severity, err);
    notify_json_put_label(l, "check", n->check, err);
    notify_json_put_label(l, "service", n->service, err);
    notify_json_put_label(l, "customer", n->customer, err);
    notify_json_put_label(l, "team", n->team, err);
    notify_json_put_label(l, "location", n->location, err);
    notify_json_put_str(l, "nines_key", n->key, err);
    return l;
}

static json_t *alertmanager_annotations(const struct receiver_cfg *rc,
                                        const struct notification *n, int *err)
{
    json_t *a = json_object();
    char summary[NOTIFY_SUMMARY_MAX];

    notify_summary_render(rc, n, summary, sizeof(summary));
    notify_json_put_str(a, "summary", summary, err);
    notify_json_put_label(a, "description", n->details, err);
    notify_json_put_label(a, "reason", n->reason, err);
    notify_json_put_str(a, "state", notify_state_name(n->state), err);
    return a;
}

static json_t *alertmanager_alert(const struct receiver_cfg *rc, const struct notification *n,
                                  int64_t now_ms, int *err)
{
    json_t *a = json_object();
    char when[40];

    notify_json_put(a, "labels", alertmanager_labels(n, err), err);
    notify_json_put(a, "annotations", alertmanager_annotations(rc, n, err), err);
    notify_json_put_str(a, "startsAt", nines_iso8601_ms(n->start_ms, when, sizeof(when)), err);
    if (n->state == NOTIFY_RESOLVED)
        notify_json_put_str(a, "endsAt",
                            nines_iso8601_ms(n->end_ms > 0 ? n->end_ms : now_ms, when,
                                             sizeof(when)),
                            err);
    notify_json_put_label(a, "generatorURL", n->url, err);
    return a;
}

int notify_alertmanager_build(const struct receiver_cfg *rc, const struct notification *n,
                              int64_t now_ms, struct notify_request *out)
{
    char base[sizeof(rc->url)];
    size_t blen;
    json_t *doc;
    int err = 0;

    if (rc->url[0] == '\0')
        return NINES_EINVAL;
    blen = notify_str_copy(base, sizeof(base), rc->url);
    while (blen > 0 && base[blen - 1] == '/')
        base[--blen] = '\0';
    if (notify_url_set(out, "%s/api/v2/alerts", base) != 0)
        return NINES_EINVAL;
    snprintf(out->method, sizeof(out->method), "POST");
    doc = json_array();
    notify_json_append(doc, alertmanager_alert(rc, n, now_ms, &err), &err);
    if (err != 0) {
        json_decref(doc);
        return err;
    }
    if ((err = notify_body_take_json(out, doc)) != 0)
        return err;
    return notify_header_add(out, "Content-Type", "application/json");
}
