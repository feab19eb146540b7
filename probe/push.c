/* The probe's result queue and pipelined XADD sender; see push.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/log.h"
#include "nines/wire.h"
#include "nines/clock.h"
#include "fmt.h"
#include "push.h"
#include "spool.h"

/*
 * Results go in through a script that makes re-delivery idempotent: a
 * result id is "<probe>/<boot_ms>/<seq>", the key nines:probe:acked:
 * <probe>/<boot_ms> holds the highest seq added for that probe run, and a
 * seq at or below it is not added again. That holds because a run's results
 * are sent strictly in seq order (memory queue, then spool, both in order,
 * and one connection executes its commands in the order sent), so a resend
 * after a lost connection or a restart, whose first copy did reach Redis, is
 * skipped rather than duplicated.
 *
 * One call carries a batch: up to PUSH_BATCH_MAX results of one probe run,
 * in seq order. KEYS[1] is the run's acked key, KEYS[2..] the streams the
 * batch writes to; ARGV[1] is the stream's MAXLEN, then per result: the
 * index of its stream in KEYS, its seq, the number of fields, the fields.
 * The acked key is read and written once per batch rather than per result,
 * and EVAL hashes the script text once per batch (Redis caches the compiled
 * script by that hash). An XADD that fails (a key of the wrong type) fails
 * that result only; its seq still counts as done, as one rejected result
 * was dropped before. Reply: {added, rejected, last error or ""}; the rest
 * of the batch were duplicates.
 */
#define PUSH_ACKED_PREFIX "nines:probe:acked:"
#define PUSH_ACKED_TTL_S "604800"
static const char push_script[] =
    "local last = tonumber(redis.call('GET', KEYS[1]) or '-1')\n"
    "local top, topstr, added, failed, err = last, nil, 0, 0, ''\n"
    "local i, n = 2, #ARGV\n"
    "while i <= n do\n"
    "  local seq, nf = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])\n"
    "  if seq > top then\n"
    "    local r = redis.pcall('XADD', KEYS[tonumber(ARGV[i])], 'MAXLEN', '~', ARGV[1], '*',\n"
    "                          unpack(ARGV, i + 3, i + 2 + nf))\n"
    "    if type(r) == 'table' and r.err then failed = failed + 1; err = r.err\n"
    "    else added = added + 1 end\n"
    "    top, topstr = seq, ARGV[i + 1]\n"
    "  end\n"
    "  i = i + 3 + nf\n"
    "end\n"
    "if topstr then redis.call('SET', KEYS[1], topstr, 'EX', " PUSH_ACKED_TTL_S ") end\n"
    "return {added, failed, err}\n";

/* Results per script call, streams per call, script calls in flight. A
 * bounded number of calls in flight makes the results that come in
 * meanwhile wait and go together in the next call: batches under load, one
 * result per call when idle. Redis's CPU per result (redis-cli --pipe of
 * 50,000 results, AOF everysec): one EVAL each 14 us; batches of 16, 256,
 * 1,024: 9.4, 10.0, 10.9 us (Lua's cost grows with ARGV); plain pipelined
 * XADD 5.5 us, the floor for these ~18 fields. */
#define PUSH_BATCH_MAX 256
#define PUSH_BATCH_STREAMS 16
#define PUSH_CMDS_MAX 16
/* argv entries: EVAL, script, numkeys, acked key, streams, maxlen; per
 * result: stream index, seq, field count, the fields and "sent" <ms> */
#define PUSH_ARGV_MAX (5 + PUSH_BATCH_STREAMS + \
                       PUSH_BATCH_MAX * (3 + 2 * NINES_WIRE_MAX_FIELDS + 2))
#define PUSH_NUM_LEN 32     /* per result: "<index>\0<seq>\0<count>\0" */

/*
 * A queued result, already encoded: the stream fields packed into one
 * allocation (argc, then argc lengths, then the bytes), so the queue costs
 * what the results weigh rather than sizeof(struct nines_result) each: a
 * packed result has two lengths, not room for every field's.
 */
struct push_blob {
    uint32_t argc;
    uint32_t len[];             /* argc of them, then the bytes (push_blob_data) */
};

static struct push_blob *push_blob_alloc(size_t argc, size_t total)
{
    struct push_blob *b = malloc(sizeof(*b) + argc * sizeof(b->len[0]) + total);

    if (b != NULL)
        b->argc = (uint32_t)argc;
    return b;
}

/* The bytes, after the lengths. */
static char *push_blob_data(const struct push_blob *b)
{
    return (char *)(b->len + b->argc);
}

struct push_item {
    uint64_t seq;
    struct push_blob *blob;
    int spooled;                /* read from the spool: ack it there */
    uint32_t batch;             /* on the wire: results in the call this one starts */
    struct spool_mark mark;
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
    size_t inflight;        /* results sent, reply not yet in */
    size_t max_inflight;
    size_t cmds;            /* calls sent, reply not yet in */
    const char **argv;      /* one call's arguments (PUSH_ARGV_MAX), kept */
    size_t *argvlen;
    char *num;              /* its numbers, PUSH_NUM_LEN per result */
    char *cmd;              /* the call in RESP (push_format), kept */
    size_t cmdcap;
    int64_t maxlen;
    int packed;             /* results in the packed form (push_set_packed) */
    int up;                 /* the connection is ready */
    int closed;             /* push_save ran: late replies are ignored */
    struct spool *spool;    /* borrowed; NULL = memory only */
    size_t mem_max;         /* past this many queued, results go to the spool */
    unsigned char *rbuf;    /* one spool record */
    int partitions;         /* the catalogue's "partitions" (1: nines:results) */
    uv_timer_t *flush;      /* coalescing delay (push_set_flush); its own allocation,
                             * so that push_free need not wait for its close */
    unsigned flush_ms;      /* 0: send at once */
    int flush_open;         /* the timer is initialised and not closed */
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

/* Removes the newest item (it goes back to the spool it came from). */
static void push_pop_tail(struct push *p)
{
    struct push_item *it = &p->ring[(p->head + p->count - 1) % p->alloc];

    free(it->blob);
    it->blob = NULL;
    p->count--;
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
static void push_fill(struct push *p);
static void push_pump_soon(struct push *p);

/* Takes the reply to the oldest call in flight: its results leave the queue. */
static void push_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct push *p = privdata;
    redisReply *r = reply;
    size_t n, failed = 0, added;
    const char *err = NULL;

    (void)ac;
    if (p->closed)
        return;     /* saved to the spool already; a resend is skipped */
    if (p->cmds > 0)
        p->cmds--;
    if (r == NULL || p->count == 0)
        return;     /* connection lost: push_lost rewinds */
    n = p->ring[p->head].batch;
    if (n == 0 || n > p->count)
        n = 1;      /* not expected: replies come in the order sent */
    p->inflight = p->inflight > n ? p->inflight - n : 0;
    if (r->type == REDIS_REPLY_ERROR) {
        failed = n;
        err = r->str;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
               r->element[0]->type == REDIS_REPLY_INTEGER &&
               r->element[1]->type == REDIS_REPLY_INTEGER) {
        added = (size_t)r->element[0]->integer;
        failed = (size_t)r->element[1]->integer;
        if (failed > n)
            failed = n;
        if (added > n - failed)
            added = n - failed;
        p->st.duplicates += n - failed - added;    /* they had reached Redis before */
        if (failed > 0 && r->element[2]->type == REDIS_REPLY_STRING)
            err = r->element[2]->str;
    }   /* else an XADD's entry id: added */
    p->st.acked += n - failed;
    if (failed > 0) {
        p->st.rejected += failed;
        log_error("result_rejected", "queued_seq=%llu batch=%zu rejected=%zu error=\"%s\"",
                  (unsigned long long)p->head_seq, n, failed, err ? err : "?");
    }
    for (size_t i = 0; i < n; i++) {
        struct push_item *it = &p->ring[p->head];

        if (it->spooled)
            spool_ack(p->spool, &it->mark);
        push_pop(p);
    }
    push_fill(p);
    push_pump_soon(p);
}

/* b's stream fields into argv/argvlen (pointing into b); returns how many. */
static size_t push_blob_args(const struct push_blob *b, const char **argv, size_t *argvlen)
{
    const char *at = push_blob_data(b);

    for (size_t i = 0; i < b->argc; i++) {
        argv[i] = at;
        argvlen[i] = b->len[i];
        at += b->len[i];
    }
    return b->argc;
}

/* The raw value of field name in b, in either wire form; 0 or -1. */
static int push_blob_field(const struct push_blob *b, const char *name, const char **val,
                           size_t *vlen)
{
    const char *f[2 * NINES_WIRE_MAX_FIELDS];
    size_t fl[2 * NINES_WIRE_MAX_FIELDS];

    return nines_wire_field(f, fl, push_blob_args(b, f, fl), name, val, vlen);
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
    const char *val;
    size_t vlen;

    if (p->partitions > 1 && push_blob_field(b, "check", &val, &vlen) == 0 &&
        vlen < sizeof(id)) {
        memcpy(id, val, vlen);
        id[vlen] = '\0';
        return nines_results_key(nines_partition_of(id, p->partitions), p->partitions, buf,
                                 size);
    }
    return NINES_KEY_RESULTS; /* what nines_results_key(0, 1) writes, without a printf */
}

/* The result's id "<probe>/<boot_ms>/<seq>": the acked key and the seq. */
static int push_id_parts(const struct push_blob *b, char *key, size_t keylen, char *seq,
                         size_t seqlen)
{
    const char *val, *slash = NULL;
    size_t vlen;

    if (push_blob_field(b, "id", &val, &vlen) != 0)
        return -1;
    for (size_t k = 0; k < vlen; k++)
        if (val[k] == '/')
            slash = val + k;
    if (slash == NULL || slash == val + vlen - 1 || (size_t)(val + vlen - slash) > seqlen)
        return -1;
    for (const char *q = slash + 1; q < val + vlen; q++)    /* not NUL-terminated */
        if (*q < '0' || *q > '9')
            return -1;
    /* memcpy, not snprintf: this runs for every result sent */
    if (sizeof(PUSH_ACKED_PREFIX) + (size_t)(slash - val) > keylen)
        return -1;
    memcpy(key, PUSH_ACKED_PREFIX, sizeof(PUSH_ACKED_PREFIX) - 1);
    memcpy(key + sizeof(PUSH_ACKED_PREFIX) - 1, val, (size_t)(slash - val));
    key[sizeof(PUSH_ACKED_PREFIX) - 1 + (size_t)(slash - val)] = '\0';
    memcpy(seq, slash + 1, (size_t)(val + vlen - slash - 1));
    seq[val + vlen - slash - 1] = '\0';
    return 0;
}

/* Adds the index of stream name to keys (from keys[1]); 0 if it is full. */
static size_t push_key_index(const char **keys, size_t *nkeys, size_t *lens, const char *name,
                             size_t max)
{
    size_t len = strlen(name);

    for (size_t k = 1; k < *nkeys; k++)
        if (lens[k] == len && memcmp(keys[k], name, len) == 0)
            return k;
    if (*nkeys >= max)
        return 0;
    keys[*nkeys] = name;
    lens[*nkeys] = len;
    return (*nkeys)++;
}

/* Writes v in decimal with a NUL; returns the digits written. */
static size_t push_utoa(char *out, uint64_t v)
{
    size_t n = fmt_u64(out, v);

    out[n] = '\0';
    return n;
}

/*
 * Writes argv as one RESP command into p->cmd and hands it to hiredis as
 * formatted. redisAsyncCommandArgv formats each argument's "$<len>\r\n"
 * with sdscatfmt, a byte at a time, and grows its string per piece: about
 * 14,000 instructions per result pushed (~25 arguments each), the largest
 * user-space cost of a TCP check in the probe. This is one pass of memcpy.
 * REDIS_OK, or REDIS_ERR (out of memory, or hiredis refused: disconnecting).
 */
static int push_command(struct push *p, redisAsyncContext *ac, int argc, const char **argv,
                        const size_t *argvlen)
{
    size_t total = 1 + 20 + 2, at;

    for (int i = 0; i < argc; i++)
        total += 1 + 20 + 2 + argvlen[i] + 2;
    if (total > p->cmdcap) {
        char *grown = realloc(p->cmd, total);

        if (grown == NULL)
            return REDIS_ERR;
        p->cmd = grown;
        p->cmdcap = total;
    }
    p->cmd[0] = '*';
    at = 1 + push_utoa(p->cmd + 1, (uint64_t)argc);
    memcpy(p->cmd + at, "\r\n", 2);
    at += 2;
    for (int i = 0; i < argc; i++) {
        p->cmd[at++] = '$';
        at += push_utoa(p->cmd + at, argvlen[i]);
        memcpy(p->cmd + at, "\r\n", 2);
        memcpy(p->cmd + at + 2, argv[i], argvlen[i]);
        at += 2 + argvlen[i];
        memcpy(p->cmd + at, "\r\n", 2);
        at += 2;
    }
    return redisAsyncFormattedCommand(ac, push_on_reply, p, p->cmd, at);
}

/*
 * Sends one call for the results from send_seq on: a batch of at most want
 * results of one probe run (same acked key), or a plain XADD for a result
 * whose id is not a probe's (no dedup possible). Returns the number of
 * results sent, 0 if hiredis refused (disconnecting).
 */
static size_t push_send(struct push *p, redisAsyncContext *ac, size_t want, const char *maxlen)
{
    char key[2][NINES_ID_LEN + 64], stream[PUSH_BATCH_STREAMS + 1][48];
    const char *keys[PUSH_BATCH_STREAMS + 1];
    size_t keylen[PUSH_BATCH_STREAMS + 1], nkeys = 1, n = 0;
    char sent[24], numkeys[8], seq[24];
    const char **argv = p->argv;
    size_t *argvlen = p->argvlen;
    /* room for the call's head (EVAL, script, numkeys, keys, maxlen) in
     * front: filled in once the batch, and so its streams, are known */
    const size_t first = 5 + PUSH_BATCH_STREAMS;
    size_t argc = first;
    /* our clock as we send: the collector checks it against Redis's */
    size_t sentlen = push_utoa(sent, (uint64_t)nines_wall_ms());

    for (; n < want; n++) {
        const struct push_blob *b = push_at(p, p->send_seq + n)->blob;
        const char *to = push_stream(p, b, stream[nkeys], sizeof(stream[nkeys]));
        char *num = p->num + n * PUSH_NUM_LEN;   /* index [0, 4), seq [4, 28), count [28, 32) */
        size_t k;

        if (push_id_parts(b, key[n == 0 ? 0 : 1], sizeof(key[0]), seq, sizeof(seq)) != 0)
            break;
        if (n > 0 && strcmp(key[0], key[1]) != 0)
            break;      /* another probe run: a call of its own */
        k = push_key_index(keys, &nkeys, keylen, to, PUSH_BATCH_STREAMS + 1);
        if (k == 0)
            break;
        argv[argc] = num;
        argvlen[argc++] = push_utoa(num, k + 1);     /* KEYS[1] is the acked key */
        argvlen[argc] = strlen(seq);
        argv[argc] = memcpy(num + 4, seq, argvlen[argc] + 1);
        argc++;
        argv[argc] = num + 28;
        argvlen[argc++] = push_utoa(num + 28, b->argc + 2);
        argc += push_blob_args(b, argv + argc, argvlen + argc);
        argv[argc] = "sent";
        argvlen[argc++] = 4;
        argv[argc] = sent;
        argvlen[argc++] = sentlen;
    }
    if (n > 0) {        /* the script call's head, right in front of the results */
        size_t head = 4 + nkeys, at = first - head;

        push_utoa(numkeys, nkeys);
        argv[at] = "EVAL";
        argv[at + 1] = push_script;
        argv[at + 2] = numkeys;
        argv[at + 3] = key[0];
        for (size_t k = 1; k < nkeys; k++)
            argv[at + 3 + k] = keys[k];
        argv[at + 3 + nkeys] = maxlen;
        for (size_t i = 0; i < head; i++)
            argvlen[at + i] = i >= 4 && i < 3 + nkeys ? keylen[i - 3] : strlen(argv[at + i]);
        if (push_command(p, ac, (int)(argc - at), argv + at, argvlen + at) != REDIS_OK)
            return 0;
        return n;
    }
    /* not a probe's id: a plain XADD, no dedup possible */
    {
        const struct push_blob *b = push_at(p, p->send_seq)->blob;
        const char *to = push_stream(p, b, stream[0], sizeof(stream[0]));

        argc = 0;
        argv[argc++] = "XADD";
        argv[argc++] = to;
        argv[argc++] = "MAXLEN";
        argv[argc++] = "~";
        argv[argc++] = maxlen;
        argv[argc++] = "*";
        for (size_t i = 0; i < argc; i++)
            argvlen[i] = strlen(argv[i]);
        argc += push_blob_args(b, argv + argc, argvlen + argc);
        argv[argc] = "sent";
        argvlen[argc++] = 4;
        argv[argc] = sent;
        argvlen[argc++] = sentlen;
        if (push_command(p, ac, (int)argc, argv, argvlen) != REDIS_OK)
            return 0;
        return 1;
    }
}

static void push_pump(struct push *p)
{
    redisAsyncContext *ac = rconn_ctx(p->rc);
    char maxlen[24];

    if (ac == NULL || p->closed)
        return;
    if (p->argv == NULL) {
        p->argv = malloc(PUSH_ARGV_MAX * sizeof(*p->argv));
        p->argvlen = malloc(PUSH_ARGV_MAX * sizeof(*p->argvlen));
        p->num = malloc(PUSH_BATCH_MAX * PUSH_NUM_LEN);
        if (p->argv == NULL || p->argvlen == NULL || p->num == NULL) {
            free(p->argv);
            free(p->argvlen);
            free(p->num);
            p->argv = NULL;
            p->argvlen = NULL;
            p->num = NULL;
            log_error("out_of_memory", "where=push note=\"results wait in the queue\"");
            return;
        }
    }
    snprintf(maxlen, sizeof(maxlen), "%lld", (long long)p->maxlen);
    while (p->cmds < PUSH_CMDS_MAX && p->inflight < p->max_inflight &&
           p->send_seq < p->head_seq + p->count) {
        size_t want = (size_t)(p->head_seq + p->count - p->send_seq), sent;

        if (want > PUSH_BATCH_MAX)
            want = PUSH_BATCH_MAX;
        if (want > p->max_inflight - p->inflight)
            want = p->max_inflight - p->inflight;
        sent = push_send(p, ac, want, maxlen);
        if (sent == 0)
            return;     /* disconnecting: its callback will never run */
        push_at(p, p->send_seq)->batch = (uint32_t)sent;
        p->cmds++;
        p->inflight += sent;
        p->send_seq += sent;
    }
}

static void push_on_flush(uv_timer_t *t)
{
    push_pump(t->data);
}

/*
 * Sends now what fills a whole call; a smaller rest waits up to flush_ms
 * for company (unless coalescing is off). The delay counts from the oldest
 * waiting result: a timer already running is left alone.
 */
static void push_pump_soon(struct push *p)
{
    size_t unsent = (size_t)(p->head_seq + p->count - p->send_seq);

    if (p->flush_ms == 0 || !p->flush_open || unsent >= PUSH_BATCH_MAX) {
        push_pump(p);
        return;
    }
    if (unsent > 0 && !uv_is_active((uv_handle_t *)p->flush))
        uv_timer_start(p->flush, push_on_flush, p->flush_ms, 0);
}

void push_set_flush(struct push *p, uv_loop_t *loop, unsigned delay_ms)
{
    if (!p->flush_open && loop != NULL && delay_ms > 0 &&
        (p->flush = malloc(sizeof(*p->flush))) != NULL) {
        uv_timer_init(loop, p->flush);
        p->flush->data = p;
        p->flush_open = 1;
    }
    p->flush_ms = p->flush_open ? delay_ms : 0;     /* no memory: send at once */
}

static void push_flush_closed(uv_handle_t *h)
{
    free(h);
}

/* Stops and closes the timer; its memory goes in the close callback. */
static void push_flush_close(struct push *p)
{
    p->flush_open = 0;
    p->flush_ms = 0;
    uv_timer_stop(p->flush);
    uv_close((uv_handle_t *)p->flush, push_flush_closed);
    p->flush = NULL;
}

void push_stop_flush(struct push *p)
{
    if (!p->flush_open)
        return;
    push_flush_close(p);
    push_pump(p);
}

static struct push_blob *push_pack(const struct push *p, const struct nines_result *r)
{
    struct nines_wire w;
    struct push_blob *b;
    size_t total = 0, off = 0;

    if (p->packed)
        nines_wire_encode(r, &w);
    else
        nines_wire_encode_pairs(r, &w);
    for (size_t i = 0; i < w.argc; i++)
        total += w.argvlen[i];
    b = push_blob_alloc(w.argc, total);
    if (b == NULL)
        return NULL;
    for (size_t i = 0; i < w.argc; i++) {
        b->len[i] = (uint32_t)w.argvlen[i];
        memcpy(push_blob_data(b) + off, w.argv[i], w.argvlen[i]);
        off += w.argvlen[i];
    }
    return b;
}

/* ---- blobs as spool records: u32 argc, argc x u32 length, the bytes ------- */

static size_t push_blob_bytes(const struct push_blob *b)
{
    size_t total = 0;

    for (size_t i = 0; i < b->argc; i++)
        total += b->len[i];
    return total;
}

static size_t push_record_len(const struct push_blob *b)
{
    return 4 * (1 + b->argc) + push_blob_bytes(b);
}

static void push_put32(unsigned char *q, size_t v)
{
    for (int i = 0; i < 4; i++)
        q[i] = (unsigned char)(v >> (8 * i));
}

static size_t push_get32(const unsigned char *q)
{
    return (size_t)q[0] | (size_t)q[1] << 8 | (size_t)q[2] << 16 | (size_t)q[3] << 24;
}

/* Encodes b into out (push_record_len(b) bytes). */
static void push_record_encode(const struct push_blob *b, unsigned char *out)
{
    push_put32(out, b->argc);
    for (size_t i = 0; i < b->argc; i++)
        push_put32(out + 4 * (1 + i), b->len[i]);
    memcpy(out + 4 * (1 + b->argc), push_blob_data(b), push_blob_bytes(b));
}

/* A malloc'd blob from a record, or NULL if it does not parse. */
static struct push_blob *push_record_decode(const unsigned char *rec, size_t len)
{
    struct push_blob *b;
    size_t argc, total = 0;

    if (len < 4)
        return NULL;
    argc = push_get32(rec);
    if (argc == 0 || argc > 2 * NINES_WIRE_MAX_FIELDS || argc % 2 != 0 || len < 4 * (1 + argc))
        return NULL;
    for (size_t i = 0; i < argc; i++)
        total += push_get32(rec + 4 * (1 + i));
    if (total != len - 4 * (1 + argc))
        return NULL;
    b = push_blob_alloc(argc, total);
    if (b == NULL)
        return NULL;
    for (size_t i = 0; i < argc; i++)
        b->len[i] = push_get32(rec + 4 * (1 + i));
    memcpy(push_blob_data(b), rec + 4 * (1 + argc), total);
    return b;
}

/* Appends a result to the spool; on failure it is dropped and counted. */
static void push_spool_blob(struct push *p, const struct push_blob *b)
{
    struct nines_err err = { 0 };
    size_t n = push_record_len(b);
    unsigned char *rec = malloc(n);

    if (rec == NULL || (push_record_encode(b, rec), spool_append(p->spool, rec, n, &err)) != 0) {
        p->st.dropped++;
        log_error("spool_append_failed", "error=\"%s\" dropped=%llu",
                  rec ? err.msg : "out of memory", (unsigned long long)p->st.dropped);
    } else {
        p->st.spooled++;
    }
    free(rec);
}

static void push_ring_add(struct push *p, struct push_blob *b, const struct spool_mark *m)
{
    struct push_item *it = &p->ring[(p->head + p->count) % p->alloc];

    it->seq = p->head_seq + p->count;
    it->blob = b;
    it->spooled = m != NULL;
    if (m != NULL)
        it->mark = *m;
    p->count++;
}

/* While connected and below the threshold, moves spooled results into the
 * ring behind the ones already there (all older), to be sent in order. */
static void push_fill(struct push *p)
{
    struct spool_mark m;
    size_t len;
    int rc;

    if (p->spool == NULL || !p->up || p->closed)
        return;
    while (p->count < p->mem_max && (p->count < p->alloc || push_grow(p))) {
        struct push_blob *b;

        rc = spool_next(p->spool, p->rbuf, SPOOL_MAX_RECORD, &len, &m);
        if (rc <= 0)
            return;
        b = push_record_decode(p->rbuf, len);
        if (b == NULL) {      /* covered by the next ack (acks are cumulative) */
            p->st.dropped++;
            log_error("spool_record_invalid", "segment=%016llx index=%llu",
                      (unsigned long long)m.seg, (unsigned long long)m.index);
            continue;
        }
        push_ring_add(p, b, &m);
    }
}

void push_enqueue(struct push *p, const struct nines_result *r)
{
    struct spool_stats ss;
    struct push_blob *b = push_pack(p, r);

    if (b == NULL) {
        p->st.dropped++;
        log_error("out_of_memory", "where=push check=%s", r->check_id);
        return;
    }
    p->st.enqueued++;
    if (p->spool != NULL) {
        spool_get_stats(p->spool, &ss);
        /* memory only while the spool is empty: the ring then never holds a
         * spooled result in front of one that is only in memory */
        if (ss.pending > 0 || !p->up || p->closed || p->count >= p->mem_max) {
            push_spool_blob(p, b);   /* behind what is spooled already */
            free(b);
            push_fill(p);
            push_pump(p);
            return;
        }
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
    push_ring_add(p, b, NULL);
    push_pump_soon(p);
}

void push_resume(struct push *p)
{
    p->up = 1;
    p->inflight = 0;
    p->cmds = 0;
    p->send_seq = p->head_seq;
    push_fill(p);
    push_pump(p);
}

/*
 * Leaves the ring empty when it can: results read from the spool go back
 * (the reader rewinds to the oldest unacknowledged), and the ones only in
 * memory, older than anything spooled, are written in front of the spool.
 * If that write fails they stay in memory, still first in line.
 */
static void push_spill(struct push *p)
{
    const void **recs;
    size_t *lens, n = 0;
    struct nines_err err = { 0 };
    size_t keep = 0;

    if (p->spool == NULL)
        return;
    spool_rewind(p->spool);
    for (size_t i = 0; i < p->count; i++)
        keep += !p->ring[(p->head + i) % p->alloc].spooled;
    recs = calloc(keep + 1, sizeof(*recs));
    lens = calloc(keep + 1, sizeof(*lens));
    for (size_t i = 0; i < p->count && recs != NULL && lens != NULL; i++) {
        struct push_item *it = &p->ring[(p->head + i) % p->alloc];

        if (it->spooled)
            continue;
        lens[n] = push_record_len(it->blob);
        recs[n] = malloc(lens[n]);
        if (recs[n] == NULL)
            break;
        push_record_encode(it->blob, (unsigned char *)recs[n]);
        n++;
    }
    if (n == keep && recs != NULL && lens != NULL &&
        spool_prepend(p->spool, recs, lens, n, &err) == 0) {
        p->st.spooled += n;
        keep = 0;
    } else if (keep > 0) {
        log_error("spool_spill_failed", "kept_in_memory=%zu error=\"%s\"", keep,
                  err.msg[0] ? err.msg : "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        free((void *)recs[i]);
    free(recs);
    free(lens);
    /* what stays: the memory-only results (all older than the spooled) */
    while (p->count > keep)
        push_pop_tail(p);
    p->send_seq = p->head_seq;
}

void push_lost(struct push *p)
{
    p->up = 0;
    p->inflight = 0;
    p->cmds = 0;
    p->send_seq = p->head_seq;
    push_spill(p);
}

void push_save(struct push *p)
{
    p->up = 0;
    push_spill(p);
    p->closed = 1;
}

int push_set_spool(struct push *p, struct spool *s, size_t mem_max)
{
    if (s != NULL && p->rbuf == NULL && (p->rbuf = malloc(SPOOL_MAX_RECORD)) == NULL)
        return NINES_ENOMEM;
    p->spool = s;
    p->mem_max = mem_max > 0 ? mem_max : 1;
    if (p->mem_max > p->cap)
        p->mem_max = p->cap;
    return 0;
}

void push_set_packed(struct push *p, int on)
{
    p->packed = on != 0;
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
    if (p->flush_open)          /* push_stop_flush was not called: the loop frees the timer */
        push_flush_close(p);
    while (p->count > 0)
        push_pop(p);
    free(p->ring);
    free(p->rbuf);
    free(p->argv);
    free(p->argvlen);
    free(p->num);
    free(p->cmd);
    free(p);
}
