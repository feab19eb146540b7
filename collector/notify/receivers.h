/*
 * Private to collector/notify: one request builder per receiver kind, and the
 * helpers they share (payload.c). notify_build() normalises its inputs before
 * it calls a builder: every string field of the notification and of the
 * receiver settings is NUL-terminated and valid UTF-8 (invalid bytes became
 * '?'), the state and kind are in range, and the key is not empty. Builders
 * fill a zeroed request; on failure the caller clears it.
 */
#ifndef NINES_NOTIFY_RECEIVERS_H
#define NINES_NOTIFY_RECEIVERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "notify.h"

/* Bound of a rendered summary (bytes, with the NUL). */
#define NOTIFY_SUMMARY_MAX 2048

int notify_webhook_build(const struct receiver_cfg *rc, const struct notification *n,
                         int64_t now_ms, struct notify_request *out);
int notify_slack_build(const struct receiver_cfg *rc, const struct notification *n,
                       int64_t now_ms, struct notify_request *out);
int notify_pagerduty_build(const struct receiver_cfg *rc, const struct notification *n,
                           int64_t now_ms, struct notify_request *out);
int notify_opsgenie_build(const struct receiver_cfg *rc, const struct notification *n,
                          int64_t now_ms, struct notify_request *out);
int notify_alertmanager_build(const struct receiver_cfg *rc, const struct notification *n,
                              int64_t now_ms, struct notify_request *out);
int notify_email_build(const struct receiver_cfg *rc, const struct notification *n,
                       int64_t now_ms, struct notify_request *out);

/* "FIRING", "RESOLVED", "ACKNOWLEDGED". */
const char *notify_state_upper(enum notify_state s);
/* The summary line: cfg.template_summary rendered, or n->summary. */
void notify_summary_render(const struct receiver_cfg *rc, const struct notification *n,
                           char *buf, size_t len);
/* Cuts s to at most max_bytes bytes on a UTF-8 boundary; a cut string ends in
 * "..." (U+2026) within the bound. Returns the new length. */
size_t notify_utf8_clip(char *s, size_t max_bytes);
/* Copies src into dst (size bytes), cut on a UTF-8 boundary; returns the length. */
size_t notify_str_copy(char *dst, size_t size, const char *src);
/* Replaces bytes that are not valid UTF-8 with '?', in place. */
void notify_utf8_repair(char *s);

/* Adds "Name: value" (printf-formatted value); control characters in the
 * value become spaces, so data can never start a new header line. */
int notify_header_add(struct notify_request *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Serialises doc (compact) as the body and drops the reference to doc. */
int notify_body_take_json(struct notify_request *r, json_t *doc);
/* Copies a URL into r->url; NINES_EINVAL unless it is http(s):// and fits. */
int notify_url_set(struct notify_request *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* JSON building that records the first failure in *err instead of checking
 * every call: v is stolen (NULL counts as out of memory). */
void notify_json_put(json_t *obj, const char *key, json_t *v, int *err);
void notify_json_put_str(json_t *obj, const char *key, const char *s, int *err);
/* Only when s is not empty. */
void notify_json_put_label(json_t *obj, const char *key, const char *s, int *err);
void notify_json_append(json_t *arr, json_t *v, int *err);

#endif
