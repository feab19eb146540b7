/*
 * Generic webhook: a JSON POST signed with HMAC-SHA256.
 *
 * Body (compact JSON, UTF-8):
 *   {"version":1,"key":"check_down/web@1795889593790","state":"firing",
 *    "rule":"check_down","severity":"page","labels":{"check":"web",...},
 *    "start":"2026-11-28T17:41:10.123Z","start_ms":1795889593790,
 *    "end":null,"end_ms":null,"reason":"http_5xx","summary":"...",
 *    "details":"...","url":"https://...","sent_ms":1795889600000}
 * labels holds only the non-empty ones of check, service, customer, team,
 * location; end/end_ms are null until the incident has ended.
 *
 * Headers:
 *   Content-Type: application/json
 *   X-Nines-Timestamp: <unix seconds when the request was built and signed>
 *   X-Nines-Signature: sha256=<hex>       (only when the receiver has a secret)
 *   Idempotency-Key: <key>:<state>:<created_ms>
 *
 * Verifying a request (what a receiver should do):
 *   1. Take the raw body bytes exactly as received, before any JSON parsing.
 *   2. t = the X-Nines-Timestamp value (decimal Unix seconds).
 *   3. expected = lowercase hex of HMAC-SHA256(key = the shared secret,
 *      message = t + "." + body), e.g.
 *        printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$secret"
 *        python: hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
 *   4. Compare "sha256=" + expected with X-Nines-Signature in constant time
 *      (hmac.compare_digest, crypto.timingSafeEqual); reject on mismatch.
 *   5. Drop replays and retries by Idempotency-Key: every retry of one
 *      notification carries the same value, and each notification (firing,
 *      acknowledged, resolved, a repeat) has its own. The body's "key" is the
 *      incident's stable dedup key, the same for all its notifications.
 *   6. If you also reject old requests by t, allow at least the outbox's
 *      expiry (24 h by default): the outbox stores the signed request once
 *      and retries send the same bytes, so t is the time of signing, not of
 *      this attempt.
 * The timestamp is signed with the body, so neither can be changed alone.
 */
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "receivers.h"

/* "sha256=" + hex of HMAC-SHA256(secret, "<ts>.<body>") into sig. */
static int webhook_sign(const char *secret, const char *ts, const char *body, size_t body_len,
                        char *sig, size_t siglen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t tlen = strlen(ts);
    char *msg = malloc(tlen + 1 + body_len);
    size_t off;

    if (msg == NULL)
        return NINES_ENOMEM;
    memcpy(msg, ts, tlen);
    msg[tlen] = '.';
    memcpy(msg + tlen + 1, body, body_len);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
             tlen + 1 + body_len, md, &mdlen) == NULL) {
        free(msg);
        return NINES_ENOMEM;
    }
    free(msg);
    if (siglen < 8 + 2 * (size_t)mdlen)
        return NINES_EINVAL;
    off = (size_t)snprintf(sig, siglen, "sha256=");
    for (unsigned int i = 0; i < mdlen; i++)
        off += (size_t)snprintf(sig + off, siglen - off, "%02x", md[i]);
    explicit_bzero(md, sizeof(md));
    return 0;
}

static json_t *webhook_labels(const struct notification *n, int *err)
{
    json_t *l = json_object();

    notify_json_put_label(l, "check", n->check, err);
    notify_json_put_label(l, "service", n->service, err);
    notify_json_put_label(l, "customer", n->customer, err);
    notify_json_put_label(l, "team", n->team, err);
    notify_json_put_label(l, "location", n->location, err);
    return l;
}

static json_t *webhook_body(const struct receiver_cfg *rc, const struct notification *n,
                            int64_t now_ms, int *err)
{
    json_t *d = json_object();
    char start[40], end[40], summary[NOTIFY_SUMMARY_MAX];
    int ended = n->state != NOTIFY_FIRING && n->end_ms > 0;

    notify_summary_render(rc, n, summary, sizeof(summary));
    notify_json_put(d, "version", json_integer(1), err);
    notify_json_put_str(d, "key", n->key, err);
    notify_json_put_str(d, "state", notify_state_name(n->state), err);
    notify_json_put_str(d, "rule", n->rule, err);
    notify_json_put_str(d, "severity", n->severity, err);
    notify_json_put(d, "labels", webhook_labels(n, err), err);
    notify_json_put_str(d, "start", nines_iso8601_ms(n->start_ms, start, sizeof(start)), err);
    notify_json_put(d, "start_ms", json_integer(n->start_ms), err);
    notify_json_put(d, "end",
                    ended ? json_string(nines_iso8601_ms(n->end_ms, end, sizeof(end)))
                          : json_null(),
                    err);
    notify_json_put(d, "end_ms", ended ? json_integer(n->end_ms) : json_null(), err);
    notify_json_put_str(d, "reason", n->reason, err);
    notify_json_put_str(d, "summary", summary, err);
    notify_json_put_str(d, "details", n->details, err);
    notify_json_put_str(d, "url", n->url, err);
    notify_json_put(d, "sent_ms", json_integer(now_ms), err);
    return d;
}

int notify_webhook_build(const struct receiver_cfg *rc, const struct notification *n,
                         int64_t now_ms, struct notify_request *out)
{
    char ts[24], sig[8 + 2 * EVP_MAX_MD_SIZE + 1];
    json_t *doc;
    int err = 0;

    if (rc->url[0] == '\0' || notify_url_set(out, "%s", rc->url) != 0)
        return NINES_EINVAL;
    snprintf(out->method, sizeof(out->method), "POST");
    doc = webhook_body(rc, n, now_ms, &err);
    if (err != 0) {
        json_decref(doc);
        return err;
    }
    if ((err = notify_body_take_json(out, doc)) != 0)
        return err;
    snprintf(ts, sizeof(ts), "%" PRId64, now_ms / 1000);
    if ((err = notify_header_add(out, "Content-Type", "application/json")) != 0 ||
        (err = notify_header_add(out, "X-Nines-Timestamp", "%s", ts)) != 0)
        return err;
    if (rc->secret[0] != '\0') {
        err = webhook_sign(rc->secret, ts, out->body, out->body_len, sig, sizeof(sig));
        if (err == 0)
            err = notify_header_add(out, "X-Nines-Signature", "%s", sig);
        if (err != 0)
            return err;
    }
    return notify_header_add(out, "Idempotency-Key", "%s:%s:%" PRId64, n->key,
                             notify_state_name(n->state), n->created_ms);
}
