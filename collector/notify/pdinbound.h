/*
 * PagerDuty two-way acknowledgement: the V3 webhooks a PagerDuty webhook
 * subscription POSTs to us, verified and parsed. Pure: no I/O, no clock.
 *
 * Signature (developer.pagerduty.com, "Verifying Signatures"): the header
 * X-PagerDuty-Signature holds one or more "v1=<hex>" items separated by
 * commas (several while a secret is being rotated); each is the lowercase
 * hex HMAC-SHA256 of the raw body, keyed with one subscription secret. The
 * body must be checked exactly as received, before any parsing.
 *
 * Payload ("Webhooks Overview", V3): {"event": {"id", "event_type",
 * "resource_type", "occurred_at", "agent", "client", "data"}}. For incident
 * events data is the incident: {"id", "type": "incident", "html_url",
 * "number", "status", "incident_key", "title", ...}.
 *
 * Matching: data.incident_key is the dedup_key of the Events API v2 event
 * that opened the incident. nines sends its alert key as dedup_key
 * (pagerduty.c), so incident_key is our key. It is absent on incidents not
 * opened through the Events API (created by hand, by email) and on older V3
 * payloads; then key is "" and the event cannot be ours: the caller answers
 * 2xx and ignores it (a title match would be a guess, and PagerDuty's title
 * is our summary, which is not unique). With alert grouping, an incident
 * that absorbed several alerts carries the key of the alert that opened it.
 *
 * Who: event.agent is a reference ({"type": "user_reference", "id",
 * "summary": the user's name, "html_url"}); V3 payloads carry no email
 * address (look it up with the REST API /users/{id} if needed). agent is
 * null when PagerDuty itself acted (an acknowledgement timing out).
 */
#ifndef NINES_PDINBOUND_H
#define NINES_PDINBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "nines/err.h"

/* PagerDuty drops every webhook over 256 KB ("Behavior", size limit). */
#define PDINBOUND_BODY_MAX (256 * 1024)
/* Longest X-PagerDuty-Signature header we look at (a v1 item is 67 bytes). */
#define PDINBOUND_HEADER_MAX 4096

enum pdinbound_type {
    PDINBOUND_OTHER = 0,        /* any other event type: ignore it */
    PDINBOUND_ACKNOWLEDGED,     /* incident.acknowledged */
    PDINBOUND_RESOLVED,         /* incident.resolved */
    PDINBOUND_UNACKNOWLEDGED,   /* incident.unacknowledged */
};

struct pdinbound_event {
    enum pdinbound_type type;
    char event_type[64];        /* event.event_type as sent */
    char event_id[64];          /* event.id: unique per event, for idempotency */
    int64_t occurred_ms;        /* event.occurred_at, ms since the epoch (UTC) */
    /* The rest is filled only for ACKNOWLEDGED, RESOLVED and UNACKNOWLEDGED. */
    char key[256];              /* data.incident_key (our dedup_key); "" when absent */
    char incident_id[64];       /* data.id, "PGR0VU2" */
    char html_url[512];         /* data.html_url; "" when absent or not http(s) */
    char agent[256];            /* event.agent.summary (a name), cut on a UTF-8
                                   boundary; "" when agent is null */
    char agent_type[64];        /* "user_reference", "service_reference", ... */
    char agent_id[64];
};

/*
 * 0 when one of the v1 signatures in signature_header is the HMAC-SHA256 of
 * body[0..len) keyed with secret (compared in constant time); otherwise
 * NINES_EINVAL: no secret, an empty body, a missing or oversized header, a
 * header without a well-formed v1 item (64 hex digits), or no match. Items
 * of other versions and malformed items are skipped; spaces around items
 * are allowed.
 */
int pdinbound_verify(const char *secret, const unsigned char *body, size_t len,
                     const char *signature_header);

/*
 * Parses one V3 webhook body (already verified) into *ev. Returns 0, or
 * NINES_EPROTO with err saying what is wrong and where (a JSON path such
 * as "event.data.incident_key"), *ev then zeroed: a body over PDINBOUND_BODY_MAX,
 * malformed JSON (line and column), duplicate keys, a missing or mistyped
 * field, a bad occurred_at, a value too long for its field. Required for
 * every event: event.event_type, event.id, event.occurred_at; for the three
 * incident types also data (an object of type "incident") and data.id.
 * Optional but type-checked: agent, data.incident_key, data.html_url.
 * An incident_key with spaces, controls or non-ASCII bytes is an error
 * (it cannot be one of our keys). NINES_EINVAL for a NULL ev (or body with
 * len > 0), NINES_ENOMEM when jansson cannot allocate. err may be NULL.
 */
int pdinbound_parse(const char *body, size_t len, struct pdinbound_event *ev,
                    struct nines_err *err);

/* "acknowledged", "resolved", "unacknowledged", "other". */
const char *pdinbound_type_name(enum pdinbound_type t);

#endif
