/* The probe's result queue and pipelined XADD sender; see push.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/log.h"
#include "nines/wire.h"
#include "push.h"

/*
 * A queued result, already encoded: the stream fields packed into one
 * allocation (argc, then argc lengths, then the bytes), so the queue costs
 * what the results weigh rather than sizeof(struct nines_result) each.
 */
struct push_blob {
    size_t argc;
    size_t len[2 * NINES_WIRE_MAX_FIELDS];
    char bytes[];
};

struct push_item {
    uint64_t seq;
    struct push_blob *blob;
};

struct push {
    struct rconn *rc;
    struct push_item *ring;
    size_t cap;             /* the bound */
    size_t alloc;           /* ring slots allocated so far (grows to cap) */
    size_t head;            /* index of the oldest item */
    size_t count;
    uint64_t head_seq;      /* seq of the oldest item; items are contiguous */
    uint64_t send_seq;      /* next seq to send on this connection */
    size_t inflight;
    size_t max_inflight;
    int64_t maxlen;
    int partitions;         /* the catalogue's "partitions" (1: nines:results) */
    struct push_stats st;
};

struct push *push_new(struct rconn *rc, size_t cap, size_t max_inflight)
{
    struct push *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->rc = rc;
    p->cap = cap > 0 ? cap : 1;
    p->max_inflight = max_inflight > 0 ? max_inflight : 1;
    p->head_seq = 1;
    p->send_seq = 1;
    p->maxlen = 1000000;
    return p;
}

static struct push_item *push_at(struct push *p, uint64_t seq)
{
    return &p->ring[(p->head + (size_t)(seq - p->head_seq)) % p->alloc];
}

static void push_pop(struct push *p)
{
    free(p->ring[p->head].blob);
    p->ring[p->head].blob = NULL;
    p->head = (p->head + 1) % p->alloc;
    p->count--;
    p->head_seq++;
    if (p->send_seq < p->head_seq)
        p->send_seq = p->head_seq;
}

/* Grows the ring (up to cap) keeping items in order; 0 if it cannot. */
static int push_grow(struct push *p)
{
    size_t n = p->alloc ? p->alloc * 2 : 64;
    struct push_item *ring;

    if (n > p->cap)
        n = p->cap;
    if (n <= p->alloc)
        return 0;
    ring = malloc(n * sizeof(*ring));
    if (ring == NULL)
        return 0;
    for (size_t i = 0; i < p->count; i++)
        ring[i] = p->ring[(p->head + i) % p->alloc];
    free(p->ring);
    p->ring = ring;
    p->alloc = n;
    p->head = 0;
    return 1;
}

static void push_pump(struct push *p);

static void push_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct push *p = privdata;
    redisReply *r = reply;

    (void)ac;
    if (p->inflight > 0)
        p->inflight--;
    if (r == NULL)
        return;     /* connection lost: push_lost rewinds */
    if (p->count == 0)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        p->st.rejected++;
        log_error("result_rejected", "queued_seq=%llu error=\"%s\"",
                  (unsigned long long)p->head_seq, r->str);
    } else {
        p->st.acked++;
    }
    push_pop(p);
    push_pump(p);
}

/*
 * The stream a queued result goes to: its check's partition stream when the
 * catalogue has several partitions (README "High availability"), decided at
 * send time from the blob's "check" field, so a result queued before the
 * partition count changed still reaches the right stream.
 */
static const char *push_stream(const struct push *p, const struct push_blob *b, char *buf,
                               size_t size)
{
    char id[NINES_ID_LEN];
    size_t off = 0;

    for (size_t i = 0; p->partitions > 1 && i + 1 < b->argc; i += 2) {
        if (b->len[i] == 5 && memcmp(b->bytes + off, "check", 5) == 0 &&
            b->len[i + 1] < sizeof(id)) {
            memcpy(id, b->bytes + off + b->len[i], b->len[i + 1]);
            id[b->len[i + 1]] = '\0';
            return nines_results_key(nines_partition_of(id, p->partitions), p->partitions,
                                     buf, size);
        }
        off += b->len[i] + b->len[i + 1];
    }
    return nines_results_key(0, 1, buf, size);
}

static void push_pump(struct push *p)
{
    redisAsyncContext *ac = rconn_ctx(p->rc);
    char maxlen[24];

    if (ac == NULL)
        return;
    snprintf(maxlen, sizeof(maxlen), "%lld", (long long)p->maxlen);
    while (p->inflight < p->max_inflight && p->send_seq < p->head_seq + p->count) {
        struct push_blob *b = push_at(p, p->send_seq)->blob;
        const char *argv[6 + 2 * NINES_WIRE_MAX_FIELDS];
        size_t argvlen[6 + 2 * NINES_WIRE_MAX_FIELDS];
        size_t argc = 0, off = 0;
        char stream[48];

        argv[argc] = "XADD";
        argvlen[argc++] = 4;
        argv[argc] = push_stream(p, b, stream, sizeof(stream));
        argvlen[argc] = strlen(argv[argc]);
        argc++;
        argv[argc] = "MAXLEN";
        argvlen[argc++] = 6;
        argv[argc] = "~";
        argvlen[argc++] = 1;
        argv[argc] = maxlen;
        argvlen[argc++] = strlen(maxlen);
        argv[argc] = "*";
        argvlen[argc++] = 1;
        for (size_t i = 0; i < b->argc; i++) {
            argv[argc] = b->bytes + off;
            argvlen[argc++] = b->len[i];
            off += b->len[i];
        }
        if (redisAsyncCommandArgv(ac, push_on_reply, p, (int)argc, argv, argvlen) != REDIS_OK)
            return;     /* disconnecting: its callback will never run */
        p->inflight++;
        p->send_seq++;
    }
}

static struct push_blob *push_pack(const struct nines_result *r)
{
    struct nines_wire w;
    struct push_blob *b;
    size_t total = 0, off = 0;

    nines_wire_encode(r, &w);
    for (size_t i = 0; i < w.argc; i++)
        total += w.argvlen[i];
    b = malloc(sizeof(*b) + total);
    if (b == NULL)
        return NULL;
    b->argc = w.argc;
    for (size_t i = 0; i < w.argc; i++) {
        b->len[i] = w.argvlen[i];
        memcpy(b->bytes + off, w.argv[i], w.argvlen[i]);
        off += w.argvlen[i];
    }
    return b;
}

void push_enqueue(struct push *p, const struct nines_result *r)
{
    struct push_item *it;
    struct push_blob *b = push_pack(r);

    if (b == NULL) {
        p->st.dropped++;
        log_error("out_of_memory", "where=push check=%s", r->check_id);
        return;
    }
    if (p->count == p->alloc && !push_grow(p)) {
        /* Full. Replies pop the head in order, so an item on the wire
         * cannot be dropped: drop the oldest when nothing is in flight
         * (Redis unreachable, the usual case), else the newest. */
        p->st.dropped++;
        if (p->inflight != 0) {
            free(b);
            return;
        }
        push_pop(p);
    }
    it = &p->ring[(p->head + p->count) % p->alloc];
    it->seq = p->head_seq + p->count;
    it->blob = b;
    p->count++;
    p->st.enqueued++;
    push_pump(p);
}

void push_resume(struct push *p)
{
    p->inflight = 0;
    p->send_seq = p->head_seq;
    push_pump(p);
}

void push_lost(struct push *p)
{
    p->inflight = 0;
    p->send_seq = p->head_seq;
}

void push_set_maxlen(struct push *p, int64_t maxlen)
{
    if (maxlen > 0)
        p->maxlen = maxlen;
}

void push_set_partitions(struct push *p, int partitions)
{
    p->partitions = partitions;
}

void push_get_stats(const struct push *p, struct push_stats *st)
{
    *st = p->st;
    st->queued = p->count;
}

void push_free(struct push *p)
{
    if (p == NULL)
        return;
    while (p->count > 0)
        push_pop(p);
    free(p->ring);
    free(p);
}
