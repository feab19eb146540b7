/*
 * The durable outbox: every notification request is written to Redis before
 * it is sent, and sent (libcurl on the loop, HTTP or SMTP) only once Redis has
 * confirmed the write. Delivery retries with exponential backoff and jitter
 * until the receiver accepts (2xx, SMTP 250), the answer says it never will
 * (other 4xx: "failed"), or the item expires. Every attempt is logged.
 *
 * At most once per accepted request, except in one window: a crash between
 * the receiver's acceptance and the recording of it sends the request again.
 * Every HTTP request therefore carries "Idempotency-Key: <id>" (added unless
 * the request has one), next to the dedup key in its body, so receivers drop
 * the duplicate.
 *
 * HTTP goes through curl_uv on the loop. SMTP runs on libuv's thread pool
 * (curl_easy_perform): curl 7.88 waits for the end-of-message and QUIT
 * replies in blocking loops that would otherwise stall the whole loop.
 *
 * One writer per Redis: two outboxes on the same keys could both take an item.
 *
 * Redis keys:
 *   nines:outbox:due        ZSET id -> when it is next due (wall ms). An item in
 *                           flight is leased: due = now + request_timeout + 2 s,
 *                           so a crash mid-send makes it due again.
 *   nines:outbox:item:<id>  HASH state (pending|delivered|failed|expired),
 *                           receiver, created_ms, attempts, updated_ms,
 *                           delivered_ms, next_ms, last_status, last_error,
 *                           request (JSON; holds secrets), body. 7 days TTL.
 *   nines:outbox:log:<id>   LIST of JSON attempts, newest first, at most 50:
 *                           {"attempt","at_ms","duration_ms","sent","status",
 *                           "error","outcome","next_ms"}. 7 days TTL.
 */
#ifndef NINES_OUTBOX_H
#define NINES_OUTBOX_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "nines/wire.h"
#include "notify.h"

#define OUTBOX_KEY_DUE "nines:outbox:due"
#define OUTBOX_KEY_ITEM_PREFIX "nines:outbox:item:"
#define OUTBOX_KEY_LOG_PREFIX "nines:outbox:log:"
#define OUTBOX_ID_MAX 384          /* bytes of an id, NUL included */
#define OUTBOX_RECEIVER_MAX 64

/* Zero fields take the defaults in the comments. */
struct outbox_opts {
    int64_t expire_ms;             /* 24 h: give up this long after the enqueue */
    int64_t backoff_min_ms;        /* 1 s: first retry delay, doubled per attempt */
    int64_t backoff_max_ms;        /* 5 min */
    int max_inflight;              /* 16: items taken and not yet recorded */
    int64_t request_timeout_ms;    /* 10 s per request */
    int64_t poll_ms;               /* 1 s: longest wait between looks at the due set */
    int paused;                    /* 1: enqueue only, never send */
};

struct outbox_stats {
    uint64_t queued;               /* new items written (re-enqueues not counted) */
    uint64_t inflight;             /* taken and not yet recorded, right now */
    uint64_t attempts;             /* requests sent */
    uint64_t delivered, retried, failed, expired;
    int redis_up;
};

struct outbox;

/* Starts connecting at once (role "outbox"); the caller did curl_global_init. o may be
 * NULL. Returns NULL when memory or the curl multi handle cannot be had. */
struct outbox *outbox_new(uv_loop_t *loop, const struct nines_redis_addr *redis,
                          const struct outbox_opts *o);

typedef void outbox_done_cb(int status, void *arg);
/*
 * Durably queues req (copied) under id, a stable name such as
 * "<receiver>/<notification key>/<state>": a second enqueue of an id that
 * exists (pending, delivered, failed or expired) changes nothing.
 * Returns 0 when the write is issued: done (may be NULL) then runs once, from
 * the loop, with 0 (queued), 1 (the id existed) or NINES_EIO (the connection
 * dropped: the write may or may not have happened; enqueue again later).
 * Returns NINES_EIO while Redis is unreachable, NINES_EINVAL for a bad id or
 * request, NINES_ENOMEM, NINES_ESTATE after outbox_close; done is then not
 * called. On any error the caller keeps the notification and raises it again
 * later with the same id.
 */
int outbox_enqueue(struct outbox *ob, const char *id, const char *receiver,
                   const struct notify_request *req, outbox_done_cb *done, void *arg);

/*
 * An item for the API: {"id","receiver","state","created_ms","attempts",
 * "updated_ms","delivered_ms","next_ms","last_status","last_error","log":[...]}
 * (next_ms only while pending) with the log oldest first; never the request
 * or its secrets. cb runs once
 * from the loop with 0 and the item (borrowed: json_incref to keep it),
 * NINES_ENOTFOUND or NINES_EIO (and NULL). Returns 0, or an error as
 * outbox_enqueue does (cb not called).
 */
typedef void outbox_get_cb(int status, json_t *item, void *arg);
int outbox_get(struct outbox *ob, const char *id, outbox_get_cb *cb, void *arg);

int outbox_stats(const struct outbox *ob, struct outbox_stats *st);

/*
 * Stops sending (transfers in flight are aborted and stay leased: they are
 * sent again after the lease), lets pending Redis replies arrive, and frees
 * ob; closed (may be NULL) runs from the loop when all of it is done.
 */
void outbox_close(struct outbox *ob, void (*closed)(void *arg), void *arg);

#endif
