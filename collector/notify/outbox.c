/*
 * The durable notification outbox; see outbox.h for the contract and keys.
 *
 * An item goes: enqueue (MULTI: HSETNX fields, ZADD due NX now) -> pump round
 * (ZRANGEBYSCORE due -inf now) -> take (MULTI: ZADD due XX lease, HMGET) ->
 * send (curl_uv) -> record (MULTI: HSET state, ZREM or ZADD due, LPUSH log).
 * An item lives in memory (struct outbox_send) from take to record, which
 * bounds the requests in flight and keeps one id from being taken twice.
 * When a record cannot reach Redis, the outcome waits in memory and is
 * written as soon as the connection is back, well inside the lease.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/async.h>

#include "curl_uv.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "nines/log.h"
#include "outbox.h"
#include "rconn.h"

#define OUTBOX_DEF_EXPIRE_MS (24 * 3600 * INT64_C(1000))
#define OUTBOX_DEF_BACKOFF_MIN_MS 1000
#define OUTBOX_DEF_BACKOFF_MAX_MS (5 * 60 * 1000)
#define OUTBOX_DEF_INFLIGHT 16
#define OUTBOX_DEF_TIMEOUT_MS 10000
#define OUTBOX_DEF_POLL_MS 1000
#define OUTBOX_INFLIGHT_CAP 1024
#define OUTBOX_LEASE_MARGIN_MS 2000
#define OUTBOX_KEEP_S 604800               /* items and logs: 7 days */
#define OUTBOX_LOG_MAX 50
#define OUTBOX_BODY_MAX (1024 * 1024)
#define OUTBOX_KEY_MAX (OUTBOX_ID_MAX + 32)
#define OUTBOX_LIST_MAX 16                 /* notify_request's headers[] and rcpt[] */

enum outbox_stage { OUTBOX_TAKING, OUTBOX_SENDING, OUTBOX_RECORDING, OUTBOX_UNRECORDED };
enum outbox_outcome { OUTBOX_DELIVERED, OUTBOX_RETRY, OUTBOX_FAILED, OUTBOX_EXPIRED };

/* One item between take and record. */
struct outbox_send {
    struct outbox *ob;
    struct outbox_send *prev;
    struct outbox_send *next;
    enum outbox_stage stage;
    char id[OUTBOX_ID_MAX];
    char receiver[OUTBOX_RECEIVER_MAX];
    struct notify_request req;         /* decoded from the item */
    struct curl_slist *headers;
    struct curl_slist *rcpt;
    size_t body_off;                   /* SMTP upload position */
    uv_work_t work;                    /* SMTP: the blocking transfer on the thread pool */
    CURL *work_easy;
    CURLcode work_rc;
    long work_code;
    int64_t created_ms;
    long attempt;                      /* attempts so far, this one included */
    int sent;                          /* 0: decided without a request */
    int64_t started_ms;                /* wall, for the log */
    int64_t started_us;                /* monotonic, for the duration */
    int64_t duration_ms;
    int64_t retry_after_ms;            /* from a Retry-After header */
    long status;                       /* HTTP or SMTP code, 0 for none */
    enum outbox_outcome outcome;
    int64_t decided_ms;
    int64_t next_ms;                   /* OUTBOX_RETRY: when it is due again */
    char error[128];
};

struct outbox {
    uv_loop_t *loop;
    struct outbox_opts o;
    struct rconn *rc;                  /* NULL once closing */
    struct curl_uv *cu;                /* NULL once closing */
    uv_timer_t pump;
    struct outbox_send *sends;
    long nsends;
    int pumping;                       /* a round's replies are still to come */
    int again;                         /* something changed during the round */
    int taken;                         /* items the round took */
    int64_t round_ms;                  /* the round's "now" for ZRANGEBYSCORE */
    int closing;
    int pending;                       /* Redis callbacks still to come */
    int transfers;                     /* curl done callbacks still to come */
    int timer_open;
    uint64_t rng;
    struct outbox_stats st;
    void (*closed)(void *arg);
    void *closed_arg;
};

/* A MULTI ... EXEC whose inner commands have no callbacks of their own. */
struct outbox_tx {
    redisAsyncContext *ac;
    int queued;                        /* MULTI went in */
    int failed;
};

static void outbox_pump(struct outbox *ob);
static void outbox_record(struct outbox_send *s);

/* ---- lifetime --------------------------------------------------------- */

/* Frees ob once closing and every callback it waits for has come. */
static void outbox_maybe_free(struct outbox *ob)
{
    void (*closed)(void *arg) = ob->closed;
    void *arg = ob->closed_arg;

    if (!ob->closing || ob->pending > 0 || ob->transfers > 0 || ob->timer_open)
        return;
    free(ob);
    if (closed != NULL)
        closed(arg);
}

/* The last statement of every Redis callback: ob may be gone afterwards. */
static void outbox_unref(struct outbox *ob)
{
    ob->pending--;
    outbox_maybe_free(ob);
}

static redisAsyncContext *outbox_ctx(struct outbox *ob)
{
    return ob->closing ? NULL : rconn_ctx(ob->rc);
}

static void outbox_on_pump_timer(uv_timer_t *t)
{
    outbox_pump(t->data);
}

/* Runs a pump round soon (or right after the one in progress). */
static void outbox_kick(struct outbox *ob)
{
    if (ob->closing || ob->o.paused)
        return;
    if (ob->pumping) {
        ob->again = 1;
        return;
    }
    uv_timer_start(&ob->pump, outbox_on_pump_timer, 0, 0);
}

static uint64_t outbox_rand(struct outbox *ob)
{
    uint64_t x = ob->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ob->rng = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* ---- requests as JSON ------------------------------------------------- */

static void outbox_request_free(struct notify_request *r)
{
    size_t i;

    for (i = 0; i < r->nheaders && i < OUTBOX_LIST_MAX; i++)
        free(r->headers[i]);
    for (i = 0; i < r->nrcpt && i < OUTBOX_LIST_MAX; i++)
        free(r->rcpt[i]);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* A fixed char array as a JSON string (NULL when it is not valid UTF-8). */
static json_t *outbox_json_str(const char *s, size_t cap)
{
    return json_stringn(s, strnlen(s, cap));
}

static int outbox_json_put(json_t *o, const char *name, const char *s, size_t cap)
{
    return json_object_set_new(o, name, outbox_json_str(s, cap));
}

/* Everything but the body, secrets included (they must survive a restart). */
static char *outbox_request_encode(const struct notify_request *r)
{
    json_t *o = json_object(), *h = json_array(), *rcpt = json_array();
    char *text = NULL;
    size_t i;
    int bad;

    if (o == NULL) {
        json_decref(h);
        json_decref(rcpt);
        return NULL;
    }
    bad = json_object_set_new(o, "headers", h) != 0 || json_object_set_new(o, "rcpt", rcpt) != 0;
    for (i = 0; !bad && i < r->nheaders; i++)
        bad = json_array_append_new(h, json_string(r->headers[i])) != 0;
    for (i = 0; !bad && i < r->nrcpt; i++)
        bad = json_array_append_new(rcpt, json_string(r->rcpt[i])) != 0;
    bad = bad || json_object_set_new(o, "v", json_integer(1)) != 0 ||
          json_object_set_new(o, "smtp", json_boolean(r->smtp)) != 0 ||
          json_object_set_new(o, "starttls", json_boolean(r->starttls)) != 0 ||
          outbox_json_put(o, "method", r->method, sizeof(r->method)) != 0 ||
          outbox_json_put(o, "url", r->url, sizeof(r->url)) != 0 ||
          outbox_json_put(o, "user", r->user, sizeof(r->user)) != 0 ||
          outbox_json_put(o, "password", r->password, sizeof(r->password)) != 0 ||
          outbox_json_put(o, "mail_from", r->mail_from, sizeof(r->mail_from)) != 0 ||
          (r->ca_file[0] != '\0' &&
           outbox_json_put(o, "ca_file", r->ca_file, sizeof(r->ca_file)) != 0);
    if (!bad)
        text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Copies string member name (absent: "") into out. 0, or -1 if not a fitting string. */
static int outbox_json_copy(const json_t *o, const char *name, char *out, size_t len)
{
    const json_t *v = json_object_get(o, name);

    out[0] = '\0';
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= len)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* Copies a JSON array of strings into list (at most OUTBOX_LIST_MAX). */
static int outbox_json_list(const json_t *a, char **list, size_t *n)
{
    const json_t *v;
    size_t i;

    if (!json_is_array(a) || json_array_size(a) > OUTBOX_LIST_MAX)
        return -1;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || (list[i] = strdup(json_string_value(v))) == NULL)
            return -1;
        *n = i + 1;
    }
    return 0;
}

static int outbox_request_decode(const char *json, size_t len, const char *body, size_t blen,
                                 struct notify_request *r)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    int rc = NINES_EPROTO;

    memset(r, 0, sizeof(*r));
    if (o == NULL || blen > OUTBOX_BODY_MAX)
        goto out;
    r->smtp = json_is_true(json_object_get(o, "smtp"));
    r->starttls = json_is_true(json_object_get(o, "starttls"));
    if (outbox_json_copy(o, "method", r->method, sizeof(r->method)) < 0 ||
        outbox_json_copy(o, "url", r->url, sizeof(r->url)) < 0 ||
        outbox_json_copy(o, "user", r->user, sizeof(r->user)) < 0 ||
        outbox_json_copy(o, "password", r->password, sizeof(r->password)) < 0 ||
        outbox_json_copy(o, "mail_from", r->mail_from, sizeof(r->mail_from)) < 0 ||
        outbox_json_copy(o, "ca_file", r->ca_file, sizeof(r->ca_file)) < 0 ||
        outbox_json_list(json_object_get(o, "headers"), r->headers, &r->nheaders) < 0 ||
        outbox_json_list(json_object_get(o, "rcpt"), r->rcpt, &r->nrcpt) < 0)
        goto out;
    rc = NINES_ENOMEM;
    r->body = malloc(blen + 1);
    if (r->body == NULL)
        goto out;
    memcpy(r->body, body, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    rc = 0;
out:
    json_decref(o);
    if (rc != 0)
        outbox_request_free(r);
    return rc;
}

/* Ids become key names and an HTTP header value: printable, bounded. */
static int outbox_id_ok(const char *id)
{
    size_t i, n;

    if (id == NULL)
        return 0;
    n = strnlen(id, OUTBOX_ID_MAX);
    if (n == 0 || n >= OUTBOX_ID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            return 0;
    return 1;
}

static int outbox_request_ok(const struct notify_request *r)
{
    size_t i;

    if (r == NULL || r->nheaders > OUTBOX_LIST_MAX || r->nrcpt > OUTBOX_LIST_MAX ||
        r->body_len > OUTBOX_BODY_MAX || (r->body == NULL && r->body_len > 0) ||
        strnlen(r->url, sizeof(r->url)) == 0 || strnlen(r->url, sizeof(r->url)) == sizeof(r->url))
        return 0;
    for (i = 0; i < r->nheaders; i++)
        if (r->headers[i] == NULL || strpbrk(r->headers[i], "\r\n") != NULL)
            return 0;
    for (i = 0; i < r->nrcpt; i++)
        if (r->rcpt[i] == NULL)
            return 0;
    return 1;
}

/* ---- transactions ----------------------------------------------------- */

static void outbox_tx_begin(struct outbox_tx *tx, redisAsyncContext *ac)
{
    tx->ac = ac;
    tx->failed = redisAsyncCommand(ac, NULL, NULL, "MULTI") != REDIS_OK;
    tx->queued = !tx->failed;
}

static void outbox_tx_cmd(struct outbox_tx *tx, const char *fmt, ...)
{
    va_list ap;

    if (tx->failed)
        return;
    va_start(ap, fmt);
    tx->failed = redisvAsyncCommand(tx->ac, NULL, NULL, fmt, ap) != REDIS_OK;
    va_end(ap);
}

/*
 * EXEC with cb, which then runs once (with NULL if the connection drops).
 * If any command could not be queued, the transaction is discarded rather
 * than run in part. Returns 0 or NINES_EIO (cb not called).
 */
static int outbox_tx_exec(struct outbox *ob, struct outbox_tx *tx, redisCallbackFn *cb,
                          void *priv)
{
    if (!tx->failed && redisAsyncCommand(tx->ac, cb, priv, "EXEC") == REDIS_OK) {
        ob->pending++;
        return 0;
    }
    if (tx->queued)
        redisAsyncCommand(tx->ac, NULL, NULL, "DISCARD");
    return NINES_EIO;
}

/* The EXEC reply when it holds n replies and none is an error, else NULL. */
static redisReply *outbox_exec_ok(void *reply, size_t n)
{
    redisReply *r = reply;
    size_t i;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != n)
        return NULL;
    for (i = 0; i < n; i++)
        if (r->element[i]->type == REDIS_REPLY_ERROR)
            return NULL;
    return r;
}

static void outbox_keys(const char *id, char *item, char *logk)
{
    snprintf(item, OUTBOX_KEY_MAX, "%s%s", OUTBOX_KEY_ITEM_PREFIX, id);
    snprintf(logk, OUTBOX_KEY_MAX, "%s%s", OUTBOX_KEY_LOG_PREFIX, id);
}

/* ---- enqueue ---------------------------------------------------------- */

struct outbox_enq {
    struct outbox *ob;
    outbox_done_cb *done;
    void *arg;
};

static void outbox_on_enqueued(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct outbox_enq *e = privdata;
    struct outbox *ob = e->ob;
    redisReply *r = outbox_exec_ok(reply, 8);
    int status = NINES_EIO;

    (void)ac;
    if (r != NULL && r->element[0]->type == REDIS_REPLY_INTEGER) {
        status = r->element[0]->integer == 1 ? 0 : 1;
        if (status == 0)
            ob->st.queued++;
        outbox_kick(ob);
    } else {
        log_warn("outbox_enqueue_failed", "error=\"%s\"",
                 reply == NULL ? "connection lost" : "redis error");
    }
    if (e->done != NULL)
        e->done(status, e->arg);
    free(e);
    outbox_unref(ob);
}

/*
 * HSETNX on every field: an existing item (any state) keeps its request. The
 * ZADD NX can put a finished item back in the due set; the pump then finds it
 * finished and removes it without sending. Without Lua, this keeps the write
 * a single MULTI, so a crash never leaves half an item.
 */
int outbox_enqueue(struct outbox *ob, const char *id, const char *receiver,
                   const struct notify_request *req, outbox_done_cb *done, void *arg)
{
    char key[OUTBOX_KEY_MAX], logk[OUTBOX_KEY_MAX], now[24];
    struct outbox_enq *e;
    struct outbox_tx tx;
    redisAsyncContext *ac;
    char *json;
    int rc;

    if (ob->closing)
        return NINES_ESTATE;
    if (!outbox_id_ok(id) || receiver == NULL || strlen(receiver) >= OUTBOX_RECEIVER_MAX ||
        !outbox_request_ok(req))
        return NINES_EINVAL;
    ac = outbox_ctx(ob);
    if (ac == NULL)
        return NINES_EIO;
    json = outbox_request_encode(req);
    if (json == NULL)
        return NINES_EINVAL;          /* not UTF-8 (or no memory) */
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        free(json);
        return NINES_ENOMEM;
    }
    e->ob = ob;
    e->done = done;
    e->arg = arg;
    outbox_keys(id, key, logk);
    snprintf(now, sizeof(now), "%" PRId64, nines_wall_ms());
    outbox_tx_begin(&tx, ac);
    outbox_tx_cmd(&tx, "HSETNX %s state pending", key);
    outbox_tx_cmd(&tx, "HSETNX %s receiver %s", key, receiver);
    outbox_tx_cmd(&tx, "HSETNX %s created_ms %s", key, now);
    outbox_tx_cmd(&tx, "HSETNX %s attempts 0", key);
    outbox_tx_cmd(&tx, "HSETNX %s request %s", key, json);
    outbox_tx_cmd(&tx, "HSETNX %s body %b", key, req->body != NULL ? req->body : "",
                  req->body_len);
    outbox_tx_cmd(&tx, "EXPIRE %s %d", key, OUTBOX_KEEP_S);
    outbox_tx_cmd(&tx, "ZADD %s NX %s %s", OUTBOX_KEY_DUE, now, id);
    rc = outbox_tx_exec(ob, &tx, outbox_on_enqueued, e);
    free(json);
    if (rc != 0)
        free(e);
    return rc;
}

/* ---- items in memory -------------------------------------------------- */

static struct outbox_send *outbox_find(struct outbox *ob, const char *id)
{
    struct outbox_send *s;

    for (s = ob->sends; s != NULL; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static struct outbox_send *outbox_send_new(struct outbox *ob, const char *id)
{
    struct outbox_send *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->ob = ob;
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->next = ob->sends;
    if (ob->sends != NULL)
        ob->sends->prev = s;
    ob->sends = s;
    ob->nsends++;
    return s;
}

/* Forgets s; a slot is free, so the pump may take another item. */
static void outbox_send_free(struct outbox_send *s)
{
    struct outbox *ob = s->ob;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        ob->sends = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    ob->nsends--;
    curl_slist_free_all(s->headers);
    curl_slist_free_all(s->rcpt);
    outbox_request_free(&s->req);
    free(s);
    outbox_kick(ob);
}

/* ---- deciding and recording ------------------------------------------- */

static const char *outbox_outcome_name(enum outbox_outcome oc)
{
    switch (oc) {
    case OUTBOX_DELIVERED: return "delivered";
    case OUTBOX_RETRY: return "retry";
    case OUTBOX_FAILED: return "failed";
    case OUTBOX_EXPIRED: return "expired";
    }
    return "unknown";
}

/*
 * What an answer means. HTTP: 2xx accepted; 408, 429 and 5xx may pass later;
 * any other answer never will. SMTP: curl succeeds only on the final 250;
 * a 5xx reply is permanent, 4xx transient. Transport errors are retried,
 * except a URL or protocol that can never work.
 */
static enum outbox_outcome outbox_classify(int smtp, CURLcode rc, long status)
{
    if (rc == CURLE_OK && smtp)
        return OUTBOX_DELIVERED;
    if (rc == CURLE_OK) {
        if (status >= 200 && status < 300)
            return OUTBOX_DELIVERED;
        if (status == 408 || status == 429 || status >= 500)
            return OUTBOX_RETRY;
        return OUTBOX_FAILED;
    }
    if (smtp && status >= 500 && status < 600)
        return OUTBOX_FAILED;
    if (smtp && status >= 400 && status < 500)
        return OUTBOX_RETRY;
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return OUTBOX_FAILED;
    default:
        return OUTBOX_RETRY;
    }
}

/* backoff_min * 2^(attempt-1), capped, times 0.8..1.2; at least Retry-After (capped). */
static int64_t outbox_backoff(struct outbox *ob, long attempt, int64_t retry_after_ms)
{
    double d = (double)ob->o.backoff_min_ms, max = (double)ob->o.backoff_max_ms;
    long i;

    for (i = 1; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    d *= 0.8 + 0.4 * (double)(outbox_rand(ob) >> 11) / 9007199254740992.0;
    if ((double)retry_after_ms > d)
        d = (double)retry_after_ms < max ? (double)retry_after_ms : max;
    return (int64_t)d;
}

/* One stderr line per outcome: id, receiver and status, never the request. */
static void outbox_log_outcome(const struct outbox_send *s)
{
    char id[OUTBOX_ID_MAX + 8], rcv[OUTBOX_RECEIVER_MAX + 8], err[160];
    const char *ev = s->outcome == OUTBOX_DELIVERED ? "notify_delivered"
                     : s->outcome == OUTBOX_RETRY ? "notify_retry"
                     : s->outcome == OUTBOX_FAILED ? "notify_failed" : "notify_expired";

    nines_log_quote(s->id, id, sizeof(id));
    nines_log_quote(s->receiver, rcv, sizeof(rcv));
    nines_log_quote(s->error, err, sizeof(err));
    if (s->outcome == OUTBOX_DELIVERED)
        log_info(ev, "id=%s receiver=%s status=%ld attempt=%ld", id, rcv, s->status, s->attempt);
    else
        log_warn(ev, "id=%s receiver=%s status=%ld error=%s attempt=%ld next_in_ms=%" PRId64,
                 id, rcv, s->status, err, s->attempt,
                 s->outcome == OUTBOX_RETRY ? s->next_ms - s->decided_ms : 0);
}

static void outbox_decide(struct outbox_send *s, enum outbox_outcome oc)
{
    struct outbox *ob = s->ob;
    int64_t delay;

    s->decided_ms = nines_wall_ms();
    if (oc == OUTBOX_RETRY) {
        delay = outbox_backoff(ob, s->attempt, s->retry_after_ms);
        if (s->decided_ms + delay >= s->created_ms + ob->o.expire_ms)
            oc = OUTBOX_EXPIRED;      /* the next try would come too late */
        else
            s->next_ms = s->decided_ms + delay;
    }
    s->outcome = oc;
    switch (oc) {
    case OUTBOX_DELIVERED: ob->st.delivered++; break;
    case OUTBOX_RETRY: ob->st.retried++; break;
    case OUTBOX_FAILED: ob->st.failed++; break;
    case OUTBOX_EXPIRED: ob->st.expired++; break;
    }
    outbox_log_outcome(s);
    outbox_record(s);
}

static char *outbox_log_entry(const struct outbox_send *s)
{
    json_t *o = json_object();
    char *text = NULL;
    int bad;

    if (o == NULL)
        return NULL;
    bad = json_object_set_new(o, "attempt", json_integer(s->attempt)) != 0 ||
          json_object_set_new(o, "at_ms", json_integer(s->sent ? s->started_ms
                                                                : s->decided_ms)) != 0 ||
          json_object_set_new(o, "duration_ms", json_integer(s->duration_ms)) != 0 ||
          json_object_set_new(o, "sent", json_boolean(s->sent)) != 0 ||
          json_object_set_new(o, "status", json_integer(s->status)) != 0 ||
          outbox_json_put(o, "error", s->error, sizeof(s->error)) != 0 ||
          json_object_set_new(o, "outcome", json_string(outbox_outcome_name(s->outcome))) != 0;
    if (!bad && s->outcome == OUTBOX_RETRY)
        bad = json_object_set_new(o, "next_ms", json_integer(s->next_ms)) != 0;
    if (!bad)
        text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void outbox_on_recorded(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct outbox_send *s = privdata;
    struct outbox *ob = s->ob;
    char id[OUTBOX_ID_MAX + 8];

    (void)ac;
    if (outbox_exec_ok(reply, 6) != NULL) {
        outbox_send_free(s);
    } else if (reply == NULL && !ob->closing) {
        s->stage = OUTBOX_UNRECORDED;       /* written again once Redis is back */
    } else {
        /* Closing, or Redis refused the write: the lease runs out and the
         * item is sent again (a duplicate if it was delivered). */
        log_warn("notify_unrecorded", "id=%s outcome=%s",
                 nines_log_quote(s->id, id, sizeof(id)), outbox_outcome_name(s->outcome));
        outbox_send_free(s);
    }
    outbox_unref(ob);
}

/* Writes the decided outcome; without Redis it waits in memory for "up". */
static void outbox_record(struct outbox_send *s)
{
    struct outbox *ob = s->ob;
    redisAsyncContext *ac = outbox_ctx(ob);
    char key[OUTBOX_KEY_MAX], logk[OUTBOX_KEY_MAX], now[24], next[24], att[24], st[24];
    struct outbox_tx tx;
    char *entry;

    s->stage = OUTBOX_UNRECORDED;
    if (ac == NULL)
        return;
    entry = outbox_log_entry(s);
    if (entry == NULL) {
        outbox_send_free(s);               /* no memory: the lease will retry it */
        return;
    }
    outbox_keys(s->id, key, logk);
    snprintf(now, sizeof(now), "%" PRId64, s->decided_ms);
    snprintf(next, sizeof(next), "%" PRId64, s->next_ms);
    snprintf(att, sizeof(att), "%ld", s->attempt);
    snprintf(st, sizeof(st), "%ld", s->status);
    outbox_tx_begin(&tx, ac);
    if (s->outcome == OUTBOX_DELIVERED)
        outbox_tx_cmd(&tx, "HSET %s state delivered attempts %s last_status %s last_error %s "
                      "updated_ms %s delivered_ms %s", key, att, st, s->error, now, now);
    else if (s->outcome == OUTBOX_RETRY)
        outbox_tx_cmd(&tx, "HSET %s state pending attempts %s last_status %s last_error %s "
                      "updated_ms %s next_ms %s", key, att, st, s->error, now, next);
    else
        outbox_tx_cmd(&tx, "HSET %s state %s attempts %s last_status %s last_error %s "
                      "updated_ms %s", key, outbox_outcome_name(s->outcome), att, st,
                      s->error, now);
    if (s->outcome == OUTBOX_RETRY)
        outbox_tx_cmd(&tx, "ZADD %s %s %s", OUTBOX_KEY_DUE, next, s->id);
    else
        outbox_tx_cmd(&tx, "ZREM %s %s", OUTBOX_KEY_DUE, s->id);
    outbox_tx_cmd(&tx, "LPUSH %s %s", logk, entry);
    outbox_tx_cmd(&tx, "LTRIM %s 0 %d", logk, OUTBOX_LOG_MAX - 1);
    outbox_tx_cmd(&tx, "EXPIRE %s %d", logk, OUTBOX_KEEP_S);
    outbox_tx_cmd(&tx, "EXPIRE %s %d", key, OUTBOX_KEEP_S);
    free(entry);
    if (outbox_tx_exec(ob, &tx, outbox_on_recorded, s) == 0)
        s->stage = OUTBOX_RECORDING;
}

/* ---- sending ---------------------------------------------------------- */

static size_t outbox_on_body(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n;                       /* the answer's body is not needed */
}

/* Keeps "Retry-After: <seconds>" (the date form is ignored). */
static size_t outbox_on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct outbox_send *s = arg;
    size_t len = size * n;
    char num[16];
    size_t i = 12, k = 0;

    if (len > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
        while (i < len && buf[i] == ' ')
            i++;
        while (i < len && k + 1 < sizeof(num) && buf[i] >= '0' && buf[i] <= '9')
            num[k++] = buf[i++];
        num[k] = '\0';
        if (k > 0 && k < 8)
            s->retry_after_ms = strtoll(num, NULL, 10) * 1000;
    }
    return len;
}

static size_t outbox_on_upload(char *buf, size_t size, size_t n, void *arg)
{
    struct outbox_send *s = arg;
    size_t left = s->req.body_len - s->body_off;
    size_t take = size * n < left ? size * n : left;

    memcpy(buf, s->req.body + s->body_off, take);
    s->body_off += take;
    return take;
}

static int outbox_has_header(const struct notify_request *r, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < r->nheaders; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return 1;
    return 0;
}

/* Appends to *l; -1 (list unchanged) when out of memory. */
static int outbox_slist_add(struct curl_slist **l, const char *s)
{
    struct curl_slist *n = curl_slist_append(*l, s);

    if (n == NULL)
        return -1;
    *l = n;
    return 0;
}

static int outbox_setup_http(struct outbox_send *s, CURL *e)
{
    const struct notify_request *r = &s->req;
    char idem[OUTBOX_ID_MAX + 32];
    size_t i;

    for (i = 0; i < r->nheaders; i++)
        if (outbox_slist_add(&s->headers, r->headers[i]) < 0)
            return -1;
    snprintf(idem, sizeof(idem), "Idempotency-Key: %s", s->id);
    if ((!outbox_has_header(r, "Idempotency-Key") && outbox_slist_add(&s->headers, idem) < 0) ||
        outbox_slist_add(&s->headers, "Expect:") < 0)
        return -1;
    if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, outbox_on_body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, outbox_on_header) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, s) != CURLE_OK)
        return -1;
    if (r->method[0] != '\0' && strcmp(r->method, "POST") != 0 &&
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method) != CURLE_OK)
        return -1;
    return 0;
}

static int outbox_setup_smtp(struct outbox_send *s, CURL *e)
{
    const struct notify_request *r = &s->req;
    size_t i;

    for (i = 0; i < r->nrcpt; i++)
        if (outbox_slist_add(&s->rcpt, r->rcpt[i]) < 0)
            return -1;
    if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, r->mail_from) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, s->rcpt) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_READFUNCTION, outbox_on_upload) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_READDATA, s) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len) != CURLE_OK)
        return -1;
    if (r->user[0] != '\0' &&
        (curl_easy_setopt(e, CURLOPT_USERNAME, r->user) != CURLE_OK ||
         curl_easy_setopt(e, CURLOPT_PASSWORD, r->password) != CURLE_OK))
        return -1;
    if (r->starttls && curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) != CURLE_OK)
        return -1;
    return 0;
}

/* The request is over (or aborted by outbox_close): decide and record. */
static void outbox_sent(struct outbox_send *s, CURLcode rc, long code)
{
    struct outbox *ob = s->ob;

    ob->transfers--;
    s->duration_ms = (nines_mono_us() - s->started_us) / 1000;
    if (ob->closing) {                     /* aborted: stays leased, sent again later */
        outbox_send_free(s);
        outbox_maybe_free(ob);
        return;
    }
    s->status = code;
    if (rc != CURLE_OK)
        snprintf(s->error, sizeof(s->error), "%s", curl_easy_strerror(rc));
    outbox_decide(s, outbox_classify(s->req.smtp, rc, code));
}

static void outbox_on_sent(CURL *easy, CURLcode rc, void *arg)
{
    long code = 0;

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(easy);
    outbox_sent(arg, rc, code);
}

/*
 * SMTP runs on the thread pool: curl 7.88 waits for the answer to the end
 * of the message (smtp_done) and for the one to QUIT (smtp_disconnect, in
 * curl_easy_cleanup) in blocking loops, which on the collector's loop would
 * stall everything for up to the timeout. The thread owns the easy handle
 * for its whole life; the loop sees only the result.
 */
static void outbox_smtp_work(uv_work_t *w)
{
    struct outbox_send *s = w->data;
    long code = 0;

    s->work_rc = curl_easy_perform(s->work_easy);
    curl_easy_getinfo(s->work_easy, CURLINFO_RESPONSE_CODE, &code);
    s->work_code = code;
    curl_easy_cleanup(s->work_easy);
    s->work_easy = NULL;
}

static void outbox_smtp_after(uv_work_t *w, int status)
{
    struct outbox_send *s = w->data;

    if (status == UV_ECANCELED) {          /* never started: outbox_close */
        curl_easy_cleanup(s->work_easy);
        outbox_sent(s, CURL_UV_ABORTED, 0);
        return;
    }
    outbox_sent(s, s->work_rc, s->work_code);
}

/* Hands the request to curl. Returns 0, or NINES_E* (nothing started). */
static int outbox_send_start(struct outbox_send *s)
{
    struct outbox *ob = s->ob;
    CURL *e = curl_easy_init();
    long timeout = (long)ob->o.request_timeout_ms;

    if (e == NULL)
        return NINES_ENOMEM;
    if (curl_easy_setopt(e, CURLOPT_URL, s->req.url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout) != CURLE_OK ||
        (s->req.ca_file[0] != '\0' &&
         curl_easy_setopt(e, CURLOPT_CAINFO, s->req.ca_file) != CURLE_OK) ||
        (s->req.smtp ? outbox_setup_smtp(s, e) : outbox_setup_http(s, e)) != 0) {
        curl_easy_cleanup(e);
        return NINES_EINVAL;
    }
    s->started_ms = nines_wall_ms();
    s->started_us = nines_mono_us();
    s->work.data = s;
    s->work_easy = e;
    if ((s->req.smtp ? uv_queue_work(ob->loop, &s->work, outbox_smtp_work, outbox_smtp_after)
                     : curl_uv_add(ob->cu, e, outbox_on_sent, s)) != 0) {
        curl_easy_cleanup(e);
        return NINES_EIO;
    }
    ob->transfers++;
    ob->st.attempts++;
    s->stage = OUTBOX_SENDING;
    s->attempt++;
    s->sent = 1;
    return 0;
}

/* ---- the pump --------------------------------------------------------- */

static int64_t outbox_reply_i64(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

/* The take's HMGET: state receiver created_ms attempts request body. */
static void outbox_taken(struct outbox_send *s, redisAsyncContext *ac, redisReply **f)
{
    struct outbox *ob = s->ob;
    int rc;

    if (f[0]->type != REDIS_REPLY_STRING || strcmp(f[0]->str, "pending") != 0 ||
        f[4]->type != REDIS_REPLY_STRING) {
        /* finished (and enqueued again), or gone: not sent, out of the due set */
        redisAsyncCommand(ac, NULL, NULL, "ZREM %s %s", OUTBOX_KEY_DUE, s->id);
        outbox_send_free(s);
        return;
    }
    if (f[1]->type == REDIS_REPLY_STRING)
        snprintf(s->receiver, sizeof(s->receiver), "%s", f[1]->str);
    s->created_ms = outbox_reply_i64(f[2]);
    s->attempt = (long)outbox_reply_i64(f[3]);
    if (nines_wall_ms() >= s->created_ms + ob->o.expire_ms) {
        snprintf(s->error, sizeof(s->error), "expired before it could be sent");
        outbox_decide(s, OUTBOX_EXPIRED);
        return;
    }
    rc = outbox_request_decode(f[4]->str, f[4]->len,
                               f[5]->type == REDIS_REPLY_STRING ? f[5]->str : "",
                               f[5]->type == REDIS_REPLY_STRING ? f[5]->len : 0, &s->req);
    if (rc == 0)
        rc = outbox_send_start(s);
    if (rc == NINES_EPROTO || rc == NINES_EINVAL) {
        snprintf(s->error, sizeof(s->error), "unusable request");
        outbox_decide(s, OUTBOX_FAILED);
    } else if (rc != 0) {
        snprintf(s->error, sizeof(s->error), "cannot start the request");
        s->attempt++;
        outbox_decide(s, OUTBOX_RETRY);
    }
}

static void outbox_on_taken(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct outbox_send *s = privdata;
    struct outbox *ob = s->ob;
    redisReply *r = outbox_exec_ok(reply, 2);

    if (ob->closing || r == NULL || r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->elements != 6)
        outbox_send_free(s);               /* leased or not: due again later */
    else
        outbox_taken(s, ac, r->element[1]->element);
    outbox_unref(ob);
}

/* Leases one due item and reads it, in one transaction. */
static void outbox_take(struct outbox *ob, redisAsyncContext *ac, const redisReply *idr)
{
    char key[OUTBOX_KEY_MAX], logk[OUTBOX_KEY_MAX], lease[24];
    struct outbox_send *s;
    struct outbox_tx tx;

    if (idr->type != REDIS_REPLY_STRING || idr->len == 0 || idr->len >= OUTBOX_ID_MAX ||
        memchr(idr->str, '\0', idr->len) != NULL || outbox_find(ob, idr->str) != NULL ||
        ob->nsends >= ob->o.max_inflight)
        return;
    s = outbox_send_new(ob, idr->str);
    if (s == NULL)
        return;
    s->stage = OUTBOX_TAKING;
    outbox_keys(s->id, key, logk);
    snprintf(lease, sizeof(lease), "%" PRId64,
             nines_wall_ms() + ob->o.request_timeout_ms + OUTBOX_LEASE_MARGIN_MS);
    outbox_tx_begin(&tx, ac);
    outbox_tx_cmd(&tx, "ZADD %s XX %s %s", OUTBOX_KEY_DUE, lease, s->id);
    outbox_tx_cmd(&tx, "HMGET %s state receiver created_ms attempts request body", key);
    if (outbox_tx_exec(ob, &tx, outbox_on_taken, s) != 0) {
        outbox_send_free(s);
        return;
    }
    ob->taken++;
}

/*
 * The round's last reply: when the earliest item is due. The timer wakes
 * the pump then (at most poll_ms away). Overdue items that the round could
 * not take (no free slot, already in memory) wait for a slot's kick or poll.
 */
static void outbox_on_earliest(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct outbox *ob = privdata;
    redisReply *r = reply;
    int64_t delay = ob->o.poll_ms, now = nines_wall_ms(), due;

    (void)ac;
    ob->pumping = 0;
    if (!ob->closing && r != NULL) {
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            due = (int64_t)strtod(r->element[1]->str, NULL);
            if (due > now)
                delay = due - now;
            else if (due > ob->round_ms || ob->taken > 0)
                delay = 0;                 /* became due since, or more may be due */
        }
        if (ob->again || delay < 0)
            delay = 0;
        if (delay > ob->o.poll_ms)
            delay = ob->o.poll_ms;
        uv_timer_start(&ob->pump, outbox_on_pump_timer, (uint64_t)delay, 0);
    }
    ob->again = 0;
    outbox_unref(ob);
}

static void outbox_on_due(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct outbox *ob = privdata;
    redisReply *r = reply;
    size_t i;

    if (!ob->closing && r != NULL && r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; i++)
            outbox_take(ob, ac, r->element[i]);
        if (redisAsyncCommand(ac, outbox_on_earliest, ob, "ZRANGE %s 0 0 WITHSCORES",
                              OUTBOX_KEY_DUE) == REDIS_OK) {
            ob->pending++;
            outbox_unref(ob);              /* still pending: ob stays */
            return;
        }
    }
    ob->pumping = 0;                        /* "up" kicks the next round */
    outbox_unref(ob);
}

static void outbox_pump(struct outbox *ob)
{
    redisAsyncContext *ac = outbox_ctx(ob);
    long slots = ob->o.max_inflight - ob->nsends;
    char now[24], limit[24];

    if (ac == NULL || ob->o.paused || ob->pumping || slots <= 0)
        return;                            /* "up" or a freed slot kicks again */
    ob->round_ms = nines_wall_ms();
    snprintf(now, sizeof(now), "%" PRId64, ob->round_ms);
    snprintf(limit, sizeof(limit), "%ld", slots);
    if (redisAsyncCommand(ac, outbox_on_due, ob, "ZRANGEBYSCORE %s -inf %s LIMIT 0 %s",
                          OUTBOX_KEY_DUE, now, limit) != REDIS_OK)
        return;
    ob->pending++;
    ob->pumping = 1;
    ob->again = 0;
    ob->taken = 0;
}

/* ---- the API's view of an item ---------------------------------------- */

struct outbox_getreq {
    struct outbox *ob;
    outbox_get_cb *cb;
    void *arg;
    char id[OUTBOX_ID_MAX];
};

static const char *const outbox_get_fields[] = {
    "state", "receiver", "created_ms", "attempts", "updated_ms", "delivered_ms", "next_ms",
    "last_status", "last_error",
};
#define OUTBOX_GET_NFIELDS (sizeof(outbox_get_fields) / sizeof(outbox_get_fields[0]))

/* The item as JSON from the HMGET values and the log (newest first), or NULL. */
static json_t *outbox_item_json(const char *id, redisReply **f, const redisReply *logr)
{
    json_t *o = json_object(), *log = json_array(), *v;
    size_t i;
    int bad;

    if (o == NULL || json_object_set_new(o, "log", log) != 0) {
        json_decref(o);
        return NULL;
    }
    bad = json_object_set_new(o, "id", json_string(id)) != 0;
    for (i = 0; !bad && i < OUTBOX_GET_NFIELDS; i++) {
        if (f[i]->type != REDIS_REPLY_STRING)
            continue;
        if (i == 6 && strcmp(f[0]->str, "pending") != 0)
            continue;                      /* next_ms means nothing once finished */
        if (i == 0 || i == 1 || i == 8)
            v = json_stringn(f[i]->str, f[i]->len);
        else
            v = json_integer(outbox_reply_i64(f[i]));
        bad = json_object_set_new(o, outbox_get_fields[i], v) != 0;
    }
    for (i = logr->elements; !bad && i > 0; i--) {
        if (logr->element[i - 1]->type != REDIS_REPLY_STRING)
            continue;
        v = json_loadb(logr->element[i - 1]->str, logr->element[i - 1]->len, 0, NULL);
        bad = v != NULL && json_array_append_new(log, v) != 0;
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void outbox_on_got(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct outbox_getreq *g = privdata;
    struct outbox *ob = g->ob;
    redisReply *r = outbox_exec_ok(reply, 2);
    json_t *item = NULL;
    int status = NINES_EIO;

    (void)ac;
    if (r != NULL && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == OUTBOX_GET_NFIELDS &&
        r->element[1]->type == REDIS_REPLY_ARRAY) {
        if (r->element[0]->element[0]->type != REDIS_REPLY_STRING) {
            status = NINES_ENOTFOUND;
        } else {
            item = outbox_item_json(g->id, r->element[0]->element, r->element[1]);
            status = item != NULL ? 0 : NINES_ENOMEM;
        }
    }
    g->cb(status, item, g->arg);
    json_decref(item);
    free(g);
    outbox_unref(ob);
}

int outbox_get(struct outbox *ob, const char *id, outbox_get_cb *cb, void *arg)
{
    char key[OUTBOX_KEY_MAX], logk[OUTBOX_KEY_MAX];
    struct outbox_getreq *g;
    struct outbox_tx tx;
    redisAsyncContext *ac;
    int rc;

    if (ob->closing)
        return NINES_ESTATE;
    if (!outbox_id_ok(id) || cb == NULL)
        return NINES_EINVAL;
    ac = outbox_ctx(ob);
    if (ac == NULL)
        return NINES_EIO;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NINES_ENOMEM;
    g->ob = ob;
    g->cb = cb;
    g->arg = arg;
    snprintf(g->id, sizeof(g->id), "%s", id);
    outbox_keys(id, key, logk);
    outbox_tx_begin(&tx, ac);
    outbox_tx_cmd(&tx, "HMGET %s state receiver created_ms attempts updated_ms delivered_ms "
                  "next_ms last_status last_error", key);
    outbox_tx_cmd(&tx, "LRANGE %s 0 -1", logk);
    rc = outbox_tx_exec(ob, &tx, outbox_on_got, g);
    if (rc != 0)
        free(g);
    return rc;
}

/* ---- setup and teardown ----------------------------------------------- */

static void outbox_on_up(struct rconn *rc, void *arg)
{
    struct outbox *ob = arg;
    struct outbox_send *s, *next;

    (void)rc;
    /* outcomes first: pipelined ahead of the next round's reads */
    for (s = ob->sends; s != NULL; s = next) {
        next = s->next;
        if (s->stage == OUTBOX_UNRECORDED)
            outbox_record(s);
    }
    outbox_kick(ob);
}

int outbox_stats(const struct outbox *ob, struct outbox_stats *st)
{
    *st = ob->st;
    st->inflight = (uint64_t)ob->nsends;
    st->redis_up = !ob->closing && rconn_ctx(ob->rc) != NULL;
    return 0;
}

static void outbox_opts_fill(struct outbox_opts *o, const struct outbox_opts *in)
{
    memset(o, 0, sizeof(*o));
    if (in != NULL)
        *o = *in;
    if (o->expire_ms <= 0)
        o->expire_ms = OUTBOX_DEF_EXPIRE_MS;
    if (o->backoff_min_ms <= 0)
        o->backoff_min_ms = OUTBOX_DEF_BACKOFF_MIN_MS;
    if (o->backoff_max_ms <= 0)
        o->backoff_max_ms = OUTBOX_DEF_BACKOFF_MAX_MS;
    if (o->backoff_max_ms < o->backoff_min_ms)
        o->backoff_max_ms = o->backoff_min_ms;
    if (o->max_inflight <= 0)
        o->max_inflight = OUTBOX_DEF_INFLIGHT;
    if (o->max_inflight > OUTBOX_INFLIGHT_CAP)
        o->max_inflight = OUTBOX_INFLIGHT_CAP;
    if (o->request_timeout_ms <= 0)
        o->request_timeout_ms = OUTBOX_DEF_TIMEOUT_MS;
    if (o->poll_ms <= 0)
        o->poll_ms = OUTBOX_DEF_POLL_MS;
}

struct outbox *outbox_new(uv_loop_t *loop, const struct nines_redis_addr *redis,
                          const struct outbox_opts *o)
{
    struct outbox *ob = calloc(1, sizeof(*ob));

    if (ob == NULL)
        return NULL;
    ob->loop = loop;
    outbox_opts_fill(&ob->o, o);
    ob->rng = (uv_hrtime() ^ ((uint64_t)getpid() << 32)) | 1;
    ob->cu = curl_uv_new(loop);
    if (ob->cu == NULL) {
        free(ob);
        return NULL;
    }
    ob->rc = rconn_new(loop, redis, "outbox", outbox_on_up, NULL, ob);
    if (ob->rc == NULL) {
        curl_uv_close(ob->cu);             /* frees itself from the loop */
        free(ob);
        return NULL;
    }
    uv_timer_init(loop, &ob->pump);
    ob->pump.data = ob;
    ob->timer_open = 1;
    rconn_start(ob->rc);
    return ob;
}

static void outbox_on_timer_closed(uv_handle_t *h)
{
    struct outbox *ob = h->data;

    ob->timer_open = 0;
    outbox_maybe_free(ob);
}

void outbox_close(struct outbox *ob, void (*closed)(void *arg), void *arg)
{
    struct outbox_send *s, *next;
    char id[OUTBOX_ID_MAX + 8];

    if (ob == NULL || ob->closing)
        return;
    ob->closing = 1;
    ob->closed = closed;
    ob->closed_arg = arg;
    uv_close((uv_handle_t *)&ob->pump, outbox_on_timer_closed);
    for (s = ob->sends; s != NULL; s = next) {
        next = s->next;
        if (s->stage == OUTBOX_SENDING && s->req.smtp)
            uv_cancel((uv_req_t *)&s->work);   /* only if not started; else it finishes */
        if (s->stage != OUTBOX_UNRECORDED)
            continue;
        log_warn("notify_unrecorded", "id=%s outcome=%s",
                 nines_log_quote(s->id, id, sizeof(id)), outbox_outcome_name(s->outcome));
        outbox_send_free(s);
    }
    curl_uv_close(ob->cu);                 /* aborted transfers come back to outbox_on_sent */
    ob->cu = NULL;
    rconn_close(ob->rc, 1);                /* pending replies still arrive */
    ob->rc = NULL;
}
