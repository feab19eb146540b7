/* The collector's ingest pipeline; see collector.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "embed.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "nines/wire.h"
#include "rconn.h"
#include "rreply.h"
#include "alert.h"
#include "api.h"
#include "audit.h"
#include "outbox.h"
#include "partition.h"
#include "metrics.h"
#include "drill.h"
#include "kpirefresh.h"
#include "reportsched.h"
#include "rules.h"
#include "skew.h"
#include "sla.h"
#include "state.h"
#include "store.h"
#include "tz.h"

/* Entries per read. Larger batches store a check's state once for several
 * of its results (one HSET, one HINCRBY per check and batch): at 130,000
 * results/s offered (bench/ingest.sh) 2,000 kept up with lag 2.0 s, 5,000
 * and 10,000 with 0.43-0.47 s; 30,000 fell behind again (2.3 s). */
#define COLLECTOR_BATCH 10000
#define COLLECTOR_BLOCK_MS 2000
#define COLLECTOR_TRIM_MS 10000
#define COLLECTOR_TICK_MS 1000
#define COLLECTOR_SLA_MS 60000
#define COLLECTOR_BUCKETS 4096

struct ccheck {
    const struct nines_check *spec;   /* points into cfg->checks */
    struct check_state st;
    int dirty;                        /* changed in the batch being written */
    struct metrics_check m;           /* /metrics, since start or reload */
    int part;                         /* its results' partition (0 with one stream) */
    int64_t latency_expiry_day;       /* see store_latency; -1 after a resync */
    struct store_written written;     /* see store_state; zeroed after a resync */
    struct ccheck *next;              /* hash chain */
};

/*
 * One results stream (README "High availability and scale-out"), read with
 * plain XREAD from its applied cursor: the id of the last entry whose effects
 * are stored, kept in Redis (NINES_KEY_APPLIED_PREFIX + stream) and SET in
 * the same MULTI/EXEC as those effects. A crash anywhere replays from it;
 * what was applied already is a duplicate to the states (stream id per check).
 */
struct cpart {
    struct collector *c;
    int idx;
    char stream[48];                  /* nines:results, or nines:results:{P} */
    char cursor_key[80];              /* nines:applied:<stream> */
    int reading;                      /* part of the XREAD being built */
    int cursor_known;                 /* loaded since the stream became ours */
    int cursor_want;                  /* the latest sync asked for it */
    int cursor_loads;                 /* loads in flight: only the last counts */
    int in_write;                     /* its cursor is in the MULTI in flight */
    struct stream_id cursor;          /* read after this (applied, or in the write) */
    struct stream_id stored;          /* as of the last EXEC that landed: trim bound */
};

enum collector_phase { PHASE_OFFLINE, PHASE_SYNCING, PHASE_READY };

struct collector {
    struct skew skew;           /* probes' clocks against Redis's */
    uv_loop_t *loop;
    struct nines_config *cfg;
    struct nines_redis_addr addr;
    struct embed *embed;
    struct rconn *cmd;          /* state writes, acks, catalogue */
    struct rconn *blk;          /* only the blocking XREAD (LIBRARIES.md §3) */
    int cmd_up, blk_up;
    enum collector_phase phase;
    struct ccheck *checks;      /* cfg->checks_count entries, same order */
    size_t nchecks;             /* entries in checks (cfg may already be the next one) */
    struct ccheck *bucket[COLLECTOR_BUCKETS];
    size_t load_next;           /* next check whose HGETALL reply is due */
    size_t sync_skip;           /* replies still due from a superseded sync */
    size_t sync_expect;         /* HGETALLs sent by the current sync */
    int reading;                /* an XREAD is in flight */
    redisReply *held;           /* read ahead while writing: applied once the write lands */
    uint64_t read_gen;          /* bumped by every sync: older reads are stale */
    uint64_t reading_gen;       /* read_gen when the read in flight was sent */
    int writing;                /* a MULTI/EXEC is in flight */
    int resync_wanted;          /* resync once the write in flight is done */
    uv_timer_t cursor_timer;    /* a cursor could not be loaded: resync later */
    uv_timer_t trim_timer;
    uv_timer_t tick_timer;      /* silence and UNKNOWN, once caught up */
    int caught_up;              /* the last read returned less than a batch */
    uv_timer_t retry_timer;
    int stopping;
    int final_sent;             /* the last PING before closing is queued */
    uint64_t applied, invalid, duplicates;
    int64_t last_result_ms, last_applied_ms;
    struct api *api;
    struct outbox *outbox;      /* notifications, when receivers are configured */
    struct alerter *alerter;
    struct rules *rules;        /* certificate, capacity, burn-rate and SLA rules */
    struct drills *drills;      /* DR drills running */
    struct reportsched *reports;    /* monthly reports on schedule */
    struct kpirefresh *kpis;    /* the month's KPIs for /metrics (collector.kpi_refresh) */
    int alerts_restored;        /* pending notifications re-routed after start */
    struct collector_service_sla *svc_sla;   /* per cfg->services, refreshed each minute */
    struct collector_customer_sla *cust_sla; /* customers x services, month to date */
    size_t svc_sla_pending;     /* fetches in flight */
    uv_timer_t sla_timer;
    struct sla_maint *maint;    /* configuration's windows first, then stored ones */
    size_t nmaint, nmaint_config;
    struct nines_tzcache *tz;
    int npart;                  /* collector.partitions as started */
    struct cpart *part;         /* npart streams */
    struct store *store;        /* command scratch, the batch's latency counts */
    struct partitions *parts;   /* leases; NULL with a single stream (no leases) */
};

static void collector_read(struct collector *c);
static void collector_on_entries(struct collector *c, redisReply *r);
static void collector_resync(struct collector *c);
static void collector_note_maintenance(struct collector *c, redisAsyncContext *ac,
                                       const struct ccheck *k, const struct state_events *ev);
static void collector_forward(struct collector *c, redisAsyncContext *ac, const struct ccheck *k,
                              const char **f, const size_t *len, size_t n);

/* Hands every event of check k to the alerter (routing, grouping, outbox);
 * we are inside MULTI on ac. */
static void collector_alert(struct collector *c, redisAsyncContext *ac, const struct ccheck *k,
                            const struct state_events *ev)
{
    int64_t now = nines_wall_ms();

    for (size_t i = 0; c->alerter != NULL && i < ev->n; i++)
        alerter_event(c->alerter, ac, (size_t)(k - c->checks), &ev->ev[i], now);
}

/* A batch read ahead is stale once a write fails or a sync starts. */
static void collector_drop_held(struct collector *c)
{
    rreply_release(c->held);
    c->held = NULL;
}

static struct ccheck *collector_find(struct collector *c, const char *id)
{
    struct ccheck *k = c->bucket[nines_fnv1a64(id, strlen(id)) % COLLECTOR_BUCKETS];

    while (k != NULL && strcmp(k->spec->id, id) != 0)
        k = k->next;
    return k;
}

/*
 * Whether this collector may read and apply partition i now: always with a
 * single stream; with several, while its lease is certainly still ours.
 */
static int collector_part_mine(const struct collector *c, int i)
{
    return c->parts == NULL ? i == 0 : partitions_owned(c->parts, i);
}

/* The leader runs the jobs that are global rather than per check (burn
 * rate and SLA rules, drills, the report scheduler): the holder of
 * partition 0, so there is exactly one while partition 0 is held. */
static int collector_leader(const struct collector *c)
{
    return collector_part_mine(c, 0);
}

static struct cpart *collector_part_by_stream(struct collector *c, const char *s, size_t len)
{
    for (int i = 0; i < c->npart; i++)
        if (strlen(c->part[i].stream) == len && memcmp(c->part[i].stream, s, len) == 0)
            return &c->part[i];
    return NULL;
}

/*
 * A stream's applied cursor (KEYS[1] the cursor key, KEYS[2] the stream,
 * ARGV[1] the consumer group of the versions before the cursor): {1, id}
 * when stored. Else, in a Redis such a version wrote: {2, lowest pending
 * id} of the group when it has pending entries (delivered, maybe not
 * applied: read from just before it), or {3, last-delivered id} (everything
 * delivered was acknowledged, so applied). {0} when there is neither: read
 * the stream from its start. One script, so the group cannot change between
 * its two looks; ids stay strings (Lua numbers would round them).
 */
static const char collector_lua_cursor[] =
    "local v = redis.call('get', KEYS[1]) "
    "if v then return {1, v} end "
    "local gs = redis.pcall('xinfo', 'groups', KEYS[2]) "
    "if type(gs) ~= 'table' or gs.err then return {0} end "
    "for _, g in ipairs(gs) do "
    "  local name, pending, last "
    "  for i = 1, #g - 1, 2 do "
    "    if g[i] == 'name' then name = g[i + 1] "
    "    elseif g[i] == 'pending' then pending = g[i + 1] "
    "    elseif g[i] == 'last-delivered-id' then last = g[i + 1] end "
    "  end "
    "  if name == ARGV[1] and pending and last then "
    "    if pending > 0 then "
    "      return {2, redis.call('xpending', KEYS[2], ARGV[1])[2]} end "
    "    return {3, last} "
    "  end "
    "end "
    "return {0}";

static void collector_cursor_retry(uv_timer_t *t)
{
    collector_resync(t->data);
}

/* The id just before sid (the lowest pending entry is not known applied). */
static struct stream_id collector_id_before(struct stream_id sid)
{
    if (sid.seq > 0)
        sid.seq--;
    else if (sid.ms > 0) {
        sid.ms--;
        sid.seq = UINT64_MAX;
    }
    return sid;
}

static void collector_on_cursor(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cpart *cp = privdata;
    struct collector *c = cp->c;
    redisReply *r = reply;
    struct stream_id sid = { 0, 0 };
    long long how = -1;

    (void)ac;
    if (--cp->cursor_loads > 0 || !cp->cursor_want || r == NULL)
        return;     /* a later sync's load is due, or it no longer wants it */
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER)
        how = r->element[0]->integer;
    if (how < 0 || how > 3 ||
        (how > 0 && (r->elements != 2 || r->element[1]->type != REDIS_REPLY_STRING ||
                     stream_id_parse(r->element[1]->str, r->element[1]->len, &sid) != 0))) {
        log_error("cursor_load_failed", "stream=%s error=\"%s\"", cp->stream,
                  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        if (!c->stopping && !uv_is_active((uv_handle_t *)&c->cursor_timer))
            uv_timer_start(&c->cursor_timer, collector_cursor_retry, 1000, 0);
        return;
    }
    if (how == 2)
        sid = collector_id_before(sid);
    if (how >= 2)
        log_info("cursor_from_group", "stream=%s group=%s cursor=%llu-%llu from=%s", cp->stream,
                 NINES_GROUP, (unsigned long long)sid.ms, (unsigned long long)sid.seq,
                 how == 2 ? "lowest_pending" : "last_delivered");
    cp->cursor = sid;
    cp->stored = sid;
    cp->cursor_known = 1;
}

/* Loads the cursor of every stream that is ours; queued on the command
 * connection after the lease acquisitions that made them ours. */
static void collector_load_cursors(struct collector *c, redisAsyncContext *ac)
{
    for (int i = 0; i < c->npart; i++) {
        struct cpart *cp = &c->part[i];

        cp->cursor_known = 0;
        /* held, even while its validity by our clock lapses until the next
         * renewal: reading waits for that, not for another resync */
        cp->cursor_want = c->parts == NULL ? i == 0 : partitions_held(c->parts, i);
        if (!cp->cursor_want)
            continue;
        if (redisAsyncCommand(ac, collector_on_cursor, cp, "EVAL %s 2 %s %s %s",
                              collector_lua_cursor, cp->cursor_key, cp->stream,
                              NINES_GROUP) == REDIS_OK)
            cp->cursor_loads++;
    }
}

/* Replaces the windows of one origin (configuration or Redis) by m[0..n). */
static void collector_maint_replace(struct collector *c, int from_config, struct sla_maint *m,
                                    size_t n)
{
    size_t keep = from_config ? c->nmaint - c->nmaint_config : c->nmaint_config;
    size_t keep_at = from_config ? c->nmaint_config : 0;
    struct sla_maint *all = calloc(keep + n + 1, sizeof(*all));

    if (all == NULL) {
        for (size_t i = 0; i < n; i++)
            sla_maint_clear(&m[i]);
        log_error("out_of_memory", "where=maintenance");
        return;
    }
    for (size_t i = 0; i < c->nmaint; i++)
        if (i < keep_at || i >= keep_at + keep)
            sla_maint_clear(&c->maint[i]);
    /* memcpy with a NULL pointer is undefined even for 0 bytes: copy by loop */
    for (size_t i = 0; i < n; i++)
        all[from_config ? i : keep + i] = m[i];
    for (size_t i = 0; i < keep; i++)
        all[from_config ? n + i : i] = c->maint[keep_at + i];
    if (from_config)
        c->nmaint_config = n;
    free(c->maint);
    c->maint = all;
    c->nmaint = keep + n;
}

/* The configuration's maintenance windows, as sla_maint. */
static void collector_maint_from_config(struct collector *c)
{
    size_t n = c->cfg->maintenance_count;
    struct sla_maint *m = calloc(n + 1, sizeof(*m));

    for (size_t i = 0; m != NULL && i < n; i++)
        if (sla_maint_from_cfg(&c->cfg->maintenance[i], &m[i]) != 0)
            log_error("out_of_memory", "where=maintenance id=%s", c->cfg->maintenance[i].id);
    if (m == NULL)
        n = 0;
    collector_maint_replace(c, 1, m, n);
    free(m);
}

static void collector_on_maint_loaded(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;
    redisReply *r = reply;
    struct sla_maint *m;
    size_t n = 0;

    (void)ac;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    m = calloc(r->elements / 2 + 1, sizeof(*m));
    if (m == NULL)
        return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        struct nines_err err = { 0 };

        if (sla_maint_from_json(r->element[i + 1]->str, r->element[i + 1]->len, &m[n], &err) ==
            0)
            n++;
        else
            log_warn("maintenance_invalid", "id=%s error=\"%s\"", r->element[i]->str, err.msg);
    }
    collector_maint_replace(c, 0, m, n);
    free(m);
}

/* Re-reads the windows added through the CLI or API. */
static void collector_maint_refresh(struct collector *c)
{
    redisAsyncContext *ac = collector_redis(c);

    if (ac != NULL)
        redisAsyncCommand(ac, collector_on_maint_loaded, c, "HGETALL %s", SLA_KEY_MAINTENANCE);
}

static void collector_free_checks(struct collector *c)
{
    for (size_t i = 0; c->checks != NULL && i < c->nchecks; i++)
        metrics_check_clear(&c->checks[i].m);
    free(c->checks);
    c->checks = NULL;
    c->nchecks = 0;
}

/* Builds the check table for cfg; states start UNKNOWN until loaded. */
static int collector_index(struct collector *c)
{
    size_t n = c->cfg->checks_count;

    collector_free_checks(c);
    memset(c->bucket, 0, sizeof(c->bucket));
    c->checks = calloc(n ? n : 1, sizeof(*c->checks));
    if (c->checks == NULL)
        return NINES_ENOMEM;
    c->nchecks = n;
    for (size_t i = 0; i < n; i++) {
        struct ccheck *k = &c->checks[i];
        const char *id = c->cfg->checks[i].id;
        size_t b = nines_fnv1a64(id, strlen(id)) % COLLECTOR_BUCKETS;

        k->spec = &c->cfg->checks[i];
        k->part = nines_partition_of(id, c->npart);
        k->latency_expiry_day = -1;
        memset(&k->written, 0, sizeof(k->written));
        state_init(&k->st, id);
        k->next = c->bucket[b];
        c->bucket[b] = k;
    }
    collector_maint_from_config(c);
    free(c->svc_sla);
    c->svc_sla = calloc(c->cfg->services_count + 1, sizeof(*c->svc_sla));
    free(c->cust_sla);
    c->cust_sla = calloc(c->cfg->customers_count * c->cfg->services_count + 1,
                         sizeof(*c->cust_sla));
    return c->svc_sla != NULL && c->cust_sla != NULL ? 0 : NINES_ENOMEM;
}

/* ---- synchronisation: publish the catalogue, load every state ---------- */

/* Active alerts, then the notifications made before a crash and not yet in
 * the outbox: once. */
static void collector_on_active_alerts(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;

    (void)ac;
    if (reply == NULL || c->alerter == NULL || c->alerts_restored)
        return;
    alerter_restore_active(c->alerter, reply);
}

static void collector_on_pending_alerts(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;

    (void)ac;
    if (reply == NULL || c->alerter == NULL || c->alerts_restored)
        return;
    c->alerts_restored = 1;
    alerter_restore(c->alerter, reply, nines_wall_ms());
    alerter_silences_changed(c->alerter);
}

static void collector_on_synced(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;

    (void)ac;
    if (reply == NULL)
        return;
    if (c->sync_skip > 0) {
        c->sync_skip--;
        return;
    }
    if (c->phase != PHASE_SYNCING)
        return;
    c->phase = PHASE_READY;
    c->caught_up = 0;
    log_info("collector_ready", "checks=%zu", c->cfg->checks_count);
    collector_maint_refresh(c);
    if (c->alerter != NULL && !c->alerts_restored) {
        redisAsyncCommand(ac, collector_on_active_alerts, c, "HGETALL %s", ALERT_KEY_ACTIVE);
        redisAsyncCommand(ac, collector_on_pending_alerts, c, "HGETALL %s", ALERT_KEY_PENDING);
    }
    collector_read(c);
}

static void collector_on_state_loaded(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;
    redisReply *r = reply;
    struct ccheck *k;

    (void)ac;
    if (r == NULL)
        return;
    if (c->sync_skip > 0) {
        c->sync_skip--;
        return;
    }
    if (c->phase != PHASE_SYNCING || c->load_next >= c->cfg->checks_count)
        return;
    k = &c->checks[c->load_next++];
    state_init(&k->st, k->spec->id);
    k->latency_expiry_day = -1;     /* a lost transaction may have held its EXPIRE */
    k->written.valid = 0;           /* ... or state fields: send them all again */
    if (r->type != REDIS_REPLY_STRING)
        return;    /* never seen: UNKNOWN */
    if (state_decode(&k->st, r->str, r->len) != 0)
        log_warn("state_invalid", "check=%s note=\"stored state unreadable; starting afresh\"",
                 k->spec->id);
}

/* Stops ingesting; the replies a sync still in progress has due are
 * skipped (its HGETALLs, then its PING: counted, as replies come in order). */
static void collector_abandon_sync(struct collector *c)
{
    if (c->phase == PHASE_SYNCING)
        c->sync_skip += c->sync_expect - c->load_next + 1;
    c->phase = PHASE_OFFLINE;
}

static void collector_resync(struct collector *c)
{
    redisAsyncContext *ac = rconn_ctx(c->cmd);
    char *json, version[24], maxlen[24];

    if (ac == NULL || c->stopping)
        return;
    if (c->writing) {
        c->resync_wanted = 1;   /* after the transaction in flight */
        return;
    }
    c->resync_wanted = 0;
    collector_abandon_sync(c);
    c->phase = PHASE_SYNCING;
    c->load_next = 0;
    c->sync_expect = c->cfg->checks_count;
    json = nines_catalogue_encode_partitioned(c->cfg->checks, c->cfg->checks_count, c->npart);
    if (json == NULL) {
        log_error("out_of_memory", "where=catalogue");
        return;
    }
    snprintf(version, sizeof(version), "%016llx",
             (unsigned long long)nines_fnv1a64(json, strlen(json)));
    snprintf(maxlen, sizeof(maxlen), "%lld", (long long)c->cfg->collector.stream_maxlen);
    /* one MSET: a probe that reads the new version reads the wire key with it */
    redisAsyncCommand(ac, NULL, NULL, "MSET %s %s %s %s %s %s %s %s", NINES_KEY_WIRE,
                      NINES_WIRE_PACKED_VERSION, NINES_KEY_CATALOGUE, json,
                      NINES_KEY_CATALOGUE_VERSION, version, NINES_KEY_STREAM_MAXLEN, maxlen);
    log_info("catalogue_published", "checks=%zu version=%s bytes=%zu", c->cfg->checks_count,
             version, strlen(json));
    free(json);
    /* a read in flight was sent with the old cursors and set of streams */
    c->read_gen++;
    collector_drop_held(c);
    c->caught_up = 0;
    /* the cursors of the streams that are ours, then their checks' states:
     * both as the last EXEC that landed left them */
    collector_load_cursors(c, ac);
    for (size_t i = 0; i < c->cfg->checks_count; i++)
        redisAsyncCommand(ac, collector_on_state_loaded, c, "HGET %s%s doc",
                          NINES_KEY_STATE_PREFIX, c->cfg->checks[i].id);
    redisAsyncCommand(ac, collector_on_synced, c, "PING");
}

/* ---- the ingest loop: read a batch, apply, store + cursor atomically ---- */

static void collector_on_written(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;
    redisReply *r = reply;

    int landed = r != NULL && r->type == REDIS_REPLY_ARRAY;

    (void)ac;
    c->writing = 0;
    if (!landed)
        collector_drop_held(c);     /* read past what memory now has to forget */
    for (int i = 0; i < c->npart; i++) {
        if (c->part[i].in_write && landed)
            c->part[i].stored = c->part[i].cursor;
        c->part[i].in_write = 0;
    }
    if (c->stopping) {
        collector_stop(c);
        return;
    }
    if (r == NULL)
        return;     /* lost: resync on reconnect reloads states and cursors */
    if (r->type == REDIS_REPLY_NIL && c->parts != NULL) {
        /* a watched lease changed hands or expired: nothing of it landed */
        log_warn("write_fenced", "note=\"a partition lease was lost; batch discarded\"");
        partitions_check_now(c->parts);
        c->resync_wanted = 1;
    } else if (r->type != REDIS_REPLY_ARRAY) {
        log_error("state_write_failed", "error=\"%s\"",
                  r->type == REDIS_REPLY_ERROR ? r->str : "transaction aborted");
        c->resync_wanted = 1;
    }
    if (c->resync_wanted) {
        collector_drop_held(c);
        collector_resync(c);
        return;
    }
    if (c->held != NULL) {
        redisReply *next = c->held;

        c->held = NULL;
        collector_on_entries(c, next);
        rreply_release(next);
        return;
    }
    collector_read(c);
}

/*
 * Applies one entry and queues the Redis side of its events (we are inside
 * MULTI). Whatever it is (applied, invalid, a duplicate, forwarded), the
 * cursor moves past it.
 */
static void collector_apply_entry(struct collector *c, redisAsyncContext *ac, struct cpart *cp,
                                 redisReply *e)
{
    const char *f[2 * NINES_WIRE_MAX_FIELDS + 16];
    size_t len[2 * NINES_WIRE_MAX_FIELDS + 16];
    struct nines_result res;
    struct nines_err err = { 0 };
    struct state_events ev = { 0 };
    struct stream_id sid;
    redisReply *fields;
    struct ccheck *k;
    int rc;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        stream_id_parse(e->element[0]->str, e->element[0]->len, &sid) != 0)
        return;     /* not an entry (the shape was checked: not reached) */
    cp->cursor = sid;
    fields = e->element[1];
    if (fields->type != REDIS_REPLY_ARRAY)
        return;     /* no fields */
    if (fields->elements > sizeof(f) / sizeof(f[0])) {
        nines_result_init(&res);
        nines_err_set(&err, NINES_EPROTO, "too many fields (%zu)", fields->elements);
    } else {
        for (size_t i = 0; i < fields->elements; i++) {
            f[i] = fields->element[i]->str ? fields->element[i]->str : "";
            len[i] = fields->element[i]->str ? fields->element[i]->len : 0;
        }
        /* initialises res itself (a 5 KiB memset: not twice) */
        nines_wire_decode(f, len, fields->elements, &res, &err);
    }
    if (err.code != 0) {
        c->invalid++;
        log_warn("result_invalid", "entry=%s error=\"%s\"", e->element[0]->str, err.msg);
        return;
    }
    /* the probe's clock against Redis's: flagged and corrected past the bound */
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (len[i] == 4 && memcmp(f[i], "sent", 4) == 0) {
            int64_t corr = skew_observe(&c->skew, res.probe, strtoll(f[i + 1], NULL, 10),
                                        (int64_t)sid.ms, c->cfg->collector.max_clock_skew_ms,
                                        nines_wall_ms());

            res.start_ms += corr;
            break;
        }
    }
    k = collector_find(c, res.check_id);
    if (k == NULL) {
        log_debug("result_unknown_check", "check=%s entry=%s", res.check_id,
                  e->element[0]->str);
        return;
    }
    if (k->part != cp->idx) {
        /* a probe with an older partition count: hand it to its own stream */
        collector_forward(c, ac, k, f, len, fields->elements);
        return;
    }
    rc = state_apply(&k->st, k->spec, &res, sid, &ev);
    if (rc == 1) {
        c->duplicates++;
        return;
    }
    if (rc < 0) {
        log_warn("too_many_locations", "check=%s location=%s max=%d", res.check_id,
                 res.location, STATE_MAX_LOCATIONS);
        return;
    }
    store_events(ac, &k->st, &ev, nines_wall_ms());
    collector_note_maintenance(c, ac, k, &ev);
    collector_alert(c, ac, k, &ev);
    for (size_t i = 0; i < ev.n; i++)
        drills_event(c->drills, ac, (size_t)(k - c->checks), &ev.ev[i], nines_wall_ms());
    rules_result(c->rules, ac, (size_t)(k - c->checks), &res, nines_wall_ms());
    drills_result(c->drills, ac, (size_t)(k - c->checks), &res, nines_wall_ms());
    store_latency(c->store, ac, k->spec->id, &res, &k->latency_expiry_day);
    metrics_observe(&k->m, &res);
    c->applied++;
    c->last_result_ms = res.start_ms;
    c->last_applied_ms = nines_wall_ms();
    k->dirty = 1;
    return;
}

/* Re-adds a result to its check's partition stream (inside MULTI, so the
 * move and the cursor past it land together). */
static void collector_forward(struct collector *c, redisAsyncContext *ac, const struct ccheck *k,
                              const char **f, const size_t *len, size_t n)
{
    const char *argv[3 + 2 * NINES_WIRE_MAX_FIELDS + 16];
    size_t argvlen[3 + 2 * NINES_WIRE_MAX_FIELDS + 16];

    argv[0] = "XADD";
    argvlen[0] = 4;
    argv[1] = c->part[k->part].stream;
    argvlen[1] = strlen(argv[1]);
    argv[2] = "*";
    argvlen[2] = 1;
    for (size_t i = 0; i < n; i++) {
        argv[3 + i] = f[i];
        argvlen[3 + i] = len[i];
    }
    redisAsyncCommandArgv(ac, NULL, NULL, (int)(3 + n), argv, argvlen);
    log_debug("result_forwarded", "check=%s to=%s", k->spec->id, argv[1]);
}

/* An incident opened during maintenance says so (shown in the API and CLI). */
static void collector_note_maintenance(struct collector *c, redisAsyncContext *ac,
                                       const struct ccheck *k, const struct state_events *ev)
{
    char ids[256], id[NINES_ID_LEN + 32];

    for (size_t i = 0; i < ev->n; i++) {
        if (ev->ev[i].kind != EV_INCIDENT_OPEN ||
            sla_maint_active(c, k->spec->id, ev->ev[i].t_ms, ids, sizeof(ids)) == 0)
            continue;
        store_incident_id(k->spec->id, ev->ev[i].t_ms, id, sizeof(id));
        redisAsyncCommand(ac, NULL, NULL, "HSET %s%s maintenance %s", STORE_KEY_INCIDENT, id,
                          ids);
        log_info("incident_in_maintenance", "incident=%s maintenance=%s", id, ids);
    }
}

/* ---- service availability over 30 days and customers' month to date --- */

struct collector_sla_job {
    struct collector *c;
    char service[NINES_ID_LEN];
    int64_t from, to;           /* the 30-day window */
};

static int collector_customer_has(const struct nines_customer_cfg *cu, const char *service)
{
    for (size_t j = 0; j < cu->services_count; j++)
        if (strcmp(cu->services[j], service) == 0)
            return 1;
    return 0;
}

/* Start of the calendar month of now in the customer's zone; 0 and *ms = now
 * when its zone cannot be read. */
static int collector_month_start(struct collector *c, const struct nines_customer_cfg *cu,
                                 int64_t now, int64_t *ms)
{
    struct nines_err err = { 0 };
    const struct nines_tz *tz = nines_tzcache_get(c->tz, cu->timezone, &err);
    struct nines_tm tm;

    *ms = now;
    if (tz == NULL)
        return NINES_EINVAL;
    nines_tz_utc_to_local(tz, now, &tm);
    *ms = nines_tz_month_start_utc_ms(tz, tm.year, tm.month);
    return 0;
}

/* Month to date of service s (index si) for every customer that has it. */
static void collector_customers_mtd(struct collector *c, struct sla_query *q, size_t si,
                                    int64_t to)
{
    const struct nines_service_cfg *svc = &c->cfg->services[si];

    for (size_t k = 0; k < c->cfg->customers_count; k++) {
        struct collector_customer_sla *m = &c->cust_sla[k * c->cfg->services_count + si];
        struct uptime_result u;
        int64_t from;

        if (!collector_customer_has(&c->cfg->customers[k], svc->id) ||
            collector_month_start(c, &c->cfg->customers[k], to, &from) != 0 ||
            sla_service_uptime(c, q, svc, from, to, &u) != 0)
            continue;
        m->valid = 1;
        m->availability = u.uptime;
        m->downtime_ms = u.downtime_ms;
        m->eligible_ms = u.eligible_ms;
    }
}

static void collector_on_service_sla(struct sla_query *q, int status, void *arg)
{
    struct collector_sla_job *job = arg;
    struct collector *c = job->c;
    struct uptime_result u;

    c->svc_sla_pending--;
    for (size_t i = 0; status == 0 && i < c->cfg->services_count; i++) {
        const struct nines_service_cfg *svc = &c->cfg->services[i];
        double target = svc->target_pct > 0 ? svc->target_pct : 99.9;
        double allowed;

        if (strcmp(svc->id, job->service) != 0 || svc->checks_count != sla_query_count(q) ||
            sla_service_uptime(c, q, svc, job->from, job->to, &u) != 0)
            continue;
        allowed = (1.0 - target / 100.0) * (double)u.eligible_ms;
        c->svc_sla[i].valid = 1;
        c->svc_sla[i].availability = u.uptime;
        c->svc_sla[i].target = target / 100.0;
        c->svc_sla[i].downtime_ms = u.downtime_ms;
        c->svc_sla[i].eligible_ms = u.eligible_ms;
        c->svc_sla[i].budget_remaining = allowed > 0 ? 1.0 - (double)u.downtime_ms / allowed
                                                     : (u.downtime_ms > 0 ? -1.0 : 1.0);
        collector_customers_mtd(c, q, i, job->to);
    }
    sla_free(q);
    free(job);
}

/* Starts the 30-day (and month-to-date) computation for every service (one
 * round at a time); the fetch reaches back to the earliest month start. */
static void collector_refresh_service_sla(uv_timer_t *t)
{
    struct collector *c = t->data;
    int64_t now = nines_wall_ms();

    if (c->svc_sla_pending > 0 || c->phase != PHASE_READY || c->stopping)
        return;
    for (size_t i = 0; i < c->cfg->services_count; i++) {
        const struct nines_service_cfg *svc = &c->cfg->services[i];
        struct collector_sla_job *job = calloc(1, sizeof(*job));
        int64_t fetch_from, month;

        if (job == NULL)
            return;
        job->c = c;
        snprintf(job->service, sizeof(job->service), "%s", svc->id);
        uptime_window_range(UPTIME_30D, now, &job->from, &job->to);
        fetch_from = job->from;
        for (size_t k = 0; k < c->cfg->customers_count; k++)
            if (collector_customer_has(&c->cfg->customers[k], svc->id) &&
                collector_month_start(c, &c->cfg->customers[k], job->to, &month) == 0 &&
                month < fetch_from)
                fetch_from = month;
        if (sla_fetch(c, (const char *const *)svc->checks, svc->checks_count, fetch_from,
                      job->to, collector_on_service_sla, job) == NULL) {
            free(job);
            return;
        }
        c->svc_sla_pending++;
    }
}

const struct collector_service_sla *collector_service_sla(const struct collector *c, size_t i)
{
    return c->svc_sla[i].valid ? &c->svc_sla[i] : NULL;
}

const struct collector_customer_sla *collector_customer_sla(const struct collector *c,
                                                            size_t customer, size_t service)
{
    const struct collector_customer_sla *m;

    if (customer >= c->cfg->customers_count || service >= c->cfg->services_count)
        return NULL;
    m = &c->cust_sla[customer * c->cfg->services_count + service];
    return m->valid ? m : NULL;
}

/* Queues the state of every check changed since the last write. */
static void collector_store_dirty(struct collector *c, redisAsyncContext *ac)
{
    for (size_t i = 0; i < c->cfg->checks_count; i++) {
        if (!c->checks[i].dirty)
            continue;
        c->checks[i].dirty = 0;
        store_state(c->store, ac, &c->checks[i].st, &c->checks[i].written);
    }
}

/* Applies one stream's entries (inside MULTI) and queues its cursor: the
 * last entry read, whatever became of each entry. */
static void collector_write_stream(struct collector *c, redisAsyncContext *ac, struct cpart *cp,
                                   redisReply *entries)
{
    char id[48];

    if (entries->elements == 0)
        return;
    for (size_t i = 0; i < entries->elements; i++)
        collector_apply_entry(c, ac, cp, entries->element[i]);
    snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)cp->cursor.ms,
             (unsigned long long)cp->cursor.seq);
    redisAsyncCommand(ac, NULL, NULL, "SET %s %s", cp->cursor_key, id);
    cp->in_write = 1;
}

/*
 * [WATCH + lease checks,] MULTI, the batch's effects, each changed state,
 * the cursor of each stream read, EXEC. r is the XREAD reply: one [stream,
 * entries] per stream read. With leases, the WATCH and checks are queued
 * with the transaction, so no renewal of ours can come between them, and a
 * lease lost meanwhile aborts the EXEC: nothing of the batch lands, the
 * cursor included, and the resync that follows re-reads it.
 */
static void collector_write(struct collector *c, redisReply *r)
{
    redisAsyncContext *ac = rconn_ctx(c->cmd);

    if (ac == NULL)
        return;     /* nothing applied; the resync on reconnect re-reads the cursors */
    if (c->parts != NULL)
        partitions_fence(c->parts, ac);
    redisAsyncCommand(ac, NULL, NULL, "MULTI");
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *s = r->element[i];
        struct cpart *cp = collector_part_by_stream(c, s->element[0]->str, s->element[0]->len);

        /* lease in doubt since the read: leave them; the cursor stays, so
         * they are read again while it is ours, by the next owner if not */
        if (cp == NULL || !cp->cursor_known || !collector_part_mine(c, cp->idx))
            continue;
        collector_write_stream(c, ac, cp, s->element[1]);
    }
    store_latency_flush(c->store, ac);
    collector_store_dirty(c, ac);
    if (redisAsyncCommand(ac, collector_on_written, c, "EXEC") == REDIS_OK) {
        c->writing = 1;
        return;
    }
    /* not sent (the connection is going): the memory is ahead of Redis */
    for (int i = 0; i < c->npart; i++)
        c->part[i].in_write = 0;
    c->resync_wanted = 1;
    collector_resync(c);
}

/* Once caught up with the stream, time itself changes state: locations
 * fall silent, checks go UNKNOWN. Written like a batch, without cursors. */
static void collector_tick(uv_timer_t *t)
{
    struct collector *c = t->data;
    redisAsyncContext *ac = rconn_ctx(c->cmd);
    int64_t now = nines_wall_ms();
    int any = 0;

    if (ac != NULL && c->phase == PHASE_READY && !c->stopping)
        api_tick(c->api, now);
    if (!c->stopping)
        alerter_tick(c->alerter, now);
    if (!c->stopping && ac != NULL && c->phase == PHASE_READY && collector_leader(c)) {
        rules_tick(c->rules, now);
        drills_tick(c->drills, now);
        reportsched_tick(c->reports, now);
    }
    if (ac == NULL || c->phase != PHASE_READY || !c->caught_up || c->writing || c->stopping)
        return;
    for (size_t i = 0; i < c->cfg->checks_count; i++) {
        struct ccheck *k = &c->checks[i];
        struct state_events ev = { 0 };

        if (!collector_part_mine(c, k->part))
            continue;       /* another collector's check */
        state_tick(&k->st, k->spec, now, &ev);
        if (ev.n == 0)
            continue;
        if (!any && c->parts != NULL)
            partitions_fence(c->parts, ac);
        if (!any)
            redisAsyncCommand(ac, NULL, NULL, "MULTI");
        any = 1;
        store_events(ac, &k->st, &ev, now);
        collector_alert(c, ac, k, &ev);
        k->dirty = 1;
    }
    if (!any)
        return;
    collector_store_dirty(c, ac);
    if (redisAsyncCommand(ac, collector_on_written, c, "EXEC") == REDIS_OK)
        c->writing = 1;
}

static void collector_retry_read(uv_timer_t *t)
{
    collector_read(t->data);
}

/* Checks the reply's shape: [[stream, [entries...]], ...]; 0 when good. */
static int collector_read_shape(const redisReply *r)
{
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *s = r->element[i];

        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[0]->type != REDIS_REPLY_STRING || s->element[1]->type != REDIS_REPLY_ARRAY)
            return NINES_EPROTO;
    }
    return 0;
}

/* A batch read from one or more streams: applied and written. */
static void collector_on_entries(struct collector *c, redisReply *r)
{
    size_t total = 0;
    int full = 0;

    if (collector_read_shape(r) != 0) {
        log_error("read_failed", "error=\"unexpected reply shape\"");
        uv_timer_start(&c->retry_timer, collector_retry_read, 1000, 0);
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        size_t n = r->element[i]->element[1]->elements;

        total += n;
        full |= n >= COLLECTOR_BATCH;
    }
    c->caught_up = !full;
    if (total == 0) {
        collector_read(c);
        return;
    }
    collector_write(c, r);
    /* the next batch is read while this one is written: Redis runs the EXEC
     * while the reply of the read arrives and is parsed here */
    collector_read(c);
}

static void collector_on_read(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;
    redisReply *r = reply;

    (void)ac;
    c->reading = 0;
    if (r == NULL || c->stopping || c->phase != PHASE_READY)
        return;     /* nothing applied: the cursors stay where they were */
    if (c->reading_gen != c->read_gen) {
        collector_read(c);      /* sent before a sync: old cursors, old streams */
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("read_failed", "error=\"%s\"", r->str);
        uv_timer_start(&c->retry_timer, collector_retry_read, 1000, 0);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        c->caught_up = 1;
        collector_read(c);        /* BLOCK ran out: NIL */
        return;
    }
    if (c->writing) {
        /* read ahead: applied after the write in flight lands (its
         * effects come first in memory as in Redis), dropped if it fails */
        rreply_keep(r);
        c->held = r;
        return;
    }
    collector_on_entries(c, r);
}

/*
 * XREAD from the cursor of every stream that is ours. A read changes
 * nothing in Redis (no consumer group, no pending entries): reading a
 * stream whose lease has just passed to another collector is harmless, as
 * our write of what we read is fenced by the lease. The block is still a
 * fifth of the lease with leases, so that a change of the streams we own
 * (taken over, handed back) is read within that; a stream is read again
 * only once its cursor is loaded after it became ours.
 */
static void collector_read(struct collector *c)
{
    redisAsyncContext *ac = rconn_ctx(c->blk);
    char count[16], block[24], (*ids)[48];
    const char **argv;
    int argc = 0, k = 0;
    int64_t block_ms = COLLECTOR_BLOCK_MS;

    if (ac == NULL || c->reading || c->held != NULL || c->stopping ||
        c->phase != PHASE_READY || rconn_ctx(c->cmd) == NULL)
        return;
    for (int i = 0; i < c->npart; i++)     /* decided once: validity runs out by the clock */
        if ((c->part[i].reading = c->part[i].cursor_known && collector_part_mine(c, i)) != 0)
            k++;
    if (k == 0) {
        /* no partition (yet, or any more): look again soon */
        uv_timer_start(&c->retry_timer, collector_retry_read, 200, 0);
        return;
    }
    argv = malloc((size_t)(6 + 2 * k) * sizeof(*argv));
    ids = malloc((size_t)k * sizeof(*ids));
    if (argv == NULL || ids == NULL) {
        free(argv);
        free(ids);
        log_error("out_of_memory", "where=read");
        uv_timer_start(&c->retry_timer, collector_retry_read, 1000, 0);
        return;
    }
    if (c->parts != NULL && c->cfg->collector.lease_ms / 5 < block_ms)
        block_ms = c->cfg->collector.lease_ms / 5;
    snprintf(count, sizeof(count), "%d", COLLECTOR_BATCH);
    snprintf(block, sizeof(block), "%lld", (long long)block_ms);
    argv[argc++] = "XREAD";
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    argv[argc++] = "BLOCK";
    argv[argc++] = block;
    argv[argc++] = "STREAMS";
    for (int i = 0; i < c->npart; i++)
        if (c->part[i].reading)
            argv[argc++] = c->part[i].stream;
    k = 0;
    for (int i = 0; i < c->npart; i++) {
        if (!c->part[i].reading)
            continue;
        snprintf(ids[k], sizeof(ids[k]), "%llu-%llu", (unsigned long long)c->part[i].cursor.ms,
                 (unsigned long long)c->part[i].cursor.seq);
        argv[argc++] = ids[k++];
    }
    if (redisAsyncCommandArgv(ac, collector_on_read, c, argc, argv, NULL) == REDIS_OK) {
        c->reading = 1;
        c->reading_gen = c->read_gen;
    }
    free(argv);
    free(ids);
}

/* ---- trimming: drop stream entries applied and stored ------------------ */

/* Entries up to the stored cursor of each stream we own are done with: no
 * other reader needs them (collectors read only the streams they own). */
static void collector_trim(uv_timer_t *t)
{
    struct collector *c = t->data;
    redisAsyncContext *ac = rconn_ctx(c->cmd);

    for (int i = 0; ac != NULL && c->phase == PHASE_READY && i < c->npart; i++) {
        const struct cpart *cp = &c->part[i];

        if (!collector_part_mine(c, i) || !cp->cursor_known || cp->stored.ms == 0)
            continue;
        redisAsyncCommand(ac, NULL, NULL, "XTRIM %s MINID ~ %llu-%llu", cp->stream,
                          (unsigned long long)cp->stored.ms, (unsigned long long)cp->stored.seq);
    }
    collector_maint_refresh(c);
}

/* ---- connections ------------------------------------------------------- */

static void collector_on_up(struct rconn *rc, void *arg)
{
    struct collector *c = arg;

    if (rc == c->cmd) {
        c->cmd_up = 1;
        collector_resync(c);
    } else {
        redisAsyncContext *ac = rconn_ctx(rc);

        /* a batch's reply is hundreds of KiB: keep the reader's buffer
         * rather than free and regrow it with every reply (hiredis frees
         * it whenever more than 16 KiB of it is unused) */
        if (ac != NULL && ac->c.reader != NULL)
            ac->c.reader->maxbuf = 0;
        c->blk_up = 1;
        collector_read(c);
    }
}

static void collector_on_down(struct rconn *rc, void *arg)
{
    struct collector *c = arg;

    if (rc == c->cmd) {
        c->cmd_up = 0;
        c->phase = PHASE_OFFLINE;     /* states are reloaded on reconnect */
        if (c->parts != NULL)
            partitions_reset(c->parts);   /* leases cannot be renewed: taken again */
        c->writing = 0;
        c->sync_skip = 0;             /* every reply due has come back NULL */
    } else {
        c->blk_up = 0;
        c->reading = 0;
    }
}

struct collector *collector_new(uv_loop_t *loop, struct nines_config *cfg,
                                struct nines_err *err)
{
    struct collector *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        nines_err_set(err, NINES_ENOMEM, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->cfg = cfg;
    c->tz = nines_tzcache_new();
    c->npart = cfg->collector.partitions > 1 ? cfg->collector.partitions : 1;
    c->part = calloc((size_t)c->npart, sizeof(*c->part));
    for (int i = 0; c->part != NULL && i < c->npart; i++) {
        c->part[i].c = c;
        c->part[i].idx = i;
        nines_results_key(i, c->npart, c->part[i].stream, sizeof(c->part[i].stream));
        snprintf(c->part[i].cursor_key, sizeof(c->part[i].cursor_key), "%s%s",
                 NINES_KEY_APPLIED_PREFIX, c->part[i].stream);
    }
    c->store = store_new();
    if (c->tz == NULL || c->part == NULL || c->store == NULL || collector_index(c) != 0) {
        nines_tzcache_free(c->tz);
        store_free(c->store);
        free(c->part);
        free(c);
        nines_err_set(err, NINES_ENOMEM, "out of memory");
        return NULL;
    }
    uv_timer_init(loop, &c->trim_timer);
    uv_timer_init(loop, &c->retry_timer);
    uv_timer_init(loop, &c->tick_timer);
    uv_timer_init(loop, &c->sla_timer);
    uv_timer_init(loop, &c->cursor_timer);
    c->cursor_timer.data = c;
    c->tick_timer.data = c;
    c->sla_timer.data = c;
    c->trim_timer.data = c;
    c->retry_timer.data = c;
    return c;
}

/* Drill commands queued by the CLI (nines:commands). */
static void collector_on_command(const char *op, json_t *cmd, void *arg)
{
    struct collector *c = arg;
    const char *by = json_string_value(json_object_get(cmd, "by"));
    struct nines_err err = { 0 };

    if (strcmp(op, "drill_start") == 0) {
        const char *svc = json_string_value(json_object_get(cmd, "service"));
        int64_t t0 = json_integer_value(json_object_get(cmd, "t0_ms"));

        if (svc == NULL || drills_start(c->drills, svc,
                                        json_string_value(json_object_get(cmd, "scenario")),
                                        json_is_true(json_object_get(cmd, "expect_outage")), by,
                                        t0 > 0 ? t0 : nines_wall_ms(), NULL, 0, &err) != 0)
            log_warn("drill_not_started", "service=%s error=\"%s\"", svc ? svc : "?",
                     err.msg[0] ? err.msg : "no service given");
    } else if (strcmp(op, "drill_stop") == 0) {
        const char *target = json_string_value(json_object_get(cmd, "target"));

        if (target == NULL || drills_stop(c->drills, target, by, nines_wall_ms()) != 0)
            log_warn("drill_not_stopped", "target=%s note=\"no such drill running\"",
                     target ? target : "?");
    } else {
        log_warn("command_unknown", "op=%s", op);
    }
}

/* Partitions taken or lost: reload every state and the cursors from Redis
 * (what another owner wrote), read the new set from there. */
static void collector_on_partitions_changed(void *arg)
{
    struct collector *c = arg;

    log_info("partitions_changed", "owned=%d of=%d", partitions_owned_count(c->parts),
             c->npart);
    collector_resync(c);
}

int collector_start(struct collector *c, struct nines_err *err)
{
    const struct nines_collector_cfg *cc = &c->cfg->collector;
    char where[600];

    if (cc->redis != NULL) {
        if (nines_config_redis_addr(c->cfg, &c->addr, err) != 0)
            return NINES_EINVAL;
    } else {
        c->embed = embed_start(c->loop, cc->data_dir, cc->redis_server, err);
        if (c->embed == NULL)
            return err->code ? err->code : NINES_EIO;
        memset(&c->addr, 0, sizeof(c->addr));
        snprintf(c->addr.path, sizeof(c->addr.path), "%s", embed_socket(c->embed));
    }
    c->cmd = rconn_new(c->loop, &c->addr, "state", collector_on_up, collector_on_down, c);
    c->blk = rconn_new(c->loop, &c->addr, "ingest", collector_on_up, collector_on_down, c);
    if (c->cmd == NULL || c->blk == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    /* a batch's reply is ~22 objects per entry: one malloc each by default */
    rconn_use_block_replies(c->blk);
    if (c->npart > 1) {
        c->parts = partitions_new(c->loop, c->cmd, cc->name, c->npart, cc->lease_ms,
                                  collector_on_partitions_changed, c);
        if (c->parts == NULL)
            return nines_err_set(err, NINES_ENOMEM, "out of memory");
    }
    log_info("collector_started", "name=%s redis=%s embedded=%s checks=%zu", cc->name,
             nines_redis_addr_str(&c->addr, where, sizeof(where)), c->embed ? "yes" : "no",
             c->cfg->checks_count);
    if (c->cfg->receivers_count > 0) {
        struct outbox_opts oo = { 0 };

        c->outbox = outbox_new(c->loop, &c->addr, &oo);
        if (c->outbox == NULL)
            return nines_err_set(err, NINES_ENOMEM, "cannot start the outbox");
    }
    /* alerts are tracked (and acknowledged, silenced) with or without receivers */
    c->alerter = alerter_new(c, c->outbox);
    c->rules = c->alerter ? rules_new(c, c->alerter) : NULL;
    c->drills = c->alerter ? drills_new(c, c->alerter) : NULL;
    if (c->drills == NULL)
        return nines_err_set(err, NINES_ENOMEM, "cannot start alerting");
    alerter_set_command_hook(c->alerter, collector_on_command, c);
    c->reports = reportsched_new(c->loop, c);
    c->api = api_start(c->loop, c, err);
    if (c->api == NULL)
        return err->code ? err->code : NINES_EIO;
    c->kpis = kpirefresh_new(c->loop, c);
    if (c->kpis == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    rconn_start(c->cmd);
    rconn_start(c->blk);
    if (c->parts != NULL)
        partitions_start(c->parts);
    uv_timer_start(&c->trim_timer, collector_trim, COLLECTOR_TRIM_MS, COLLECTOR_TRIM_MS);
    uv_timer_start(&c->tick_timer, collector_tick, COLLECTOR_TICK_MS, COLLECTOR_TICK_MS);
    uv_timer_start(&c->sla_timer, collector_refresh_service_sla, 2000, COLLECTOR_SLA_MS);
    return 0;
}

void collector_reload(struct collector *c, struct nines_config *cfg)
{
    const char *was = c->cfg->collector.redis ? c->cfg->collector.redis : "";
    const char *now = cfg->collector.redis ? cfg->collector.redis : "";

    if (strcmp(was, now) != 0 ||
        strcmp(c->cfg->collector.data_dir, cfg->collector.data_dir) != 0 ||
        strcmp(c->cfg->collector.name, cfg->collector.name) != 0 ||
        c->cfg->collector.partitions != cfg->collector.partitions ||
        c->cfg->collector.lease_ms != cfg->collector.lease_ms)
        log_warn("reload_partial", "note=\"collector.redis, data_dir, name, partitions and "
                                   "lease take effect on restart\"");
    cfg->collector.partitions = c->cfg->collector.partitions;
    cfg->collector.lease_ms = c->cfg->collector.lease_ms;
    free(cfg->collector.redis);
    cfg->collector.redis = c->cfg->collector.redis ? strdup(c->cfg->collector.redis) : NULL;
    free(cfg->collector.data_dir);
    cfg->collector.data_dir = strdup(c->cfg->collector.data_dir);
    free(cfg->collector.name);
    cfg->collector.name = strdup(c->cfg->collector.name);
    collector_abandon_sync(c);
    if (c->alerter != NULL)
        alerter_flush(c->alerter, nines_wall_ms());   /* groups point into the old config */
    audit_reload(c, c->cfg, cfg);
    nines_config_free(c->cfg);
    c->cfg = cfg;
    if (collector_index(c) != 0) {
        log_error("out_of_memory", "where=reload");
        return;
    }
    log_info("config_reloaded", "checks=%zu", cfg->checks_count);
    api_reload(c->api);
    kpirefresh_reload(c->kpis);
    if (c->alerter != NULL)
        alerter_reload(c->alerter);
    else if (cfg->receivers_count > 0)
        log_warn("reload_partial", "note=\"alerting starts with the first configuration "
                                   "that has receivers: restart to enable it\"");
    collector_resync(c);
}

static void collector_closed_all(void *arg)
{
    (void)arg;
    log_info("collector_stopped", NULL);
}

static void collector_on_final_ping(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct collector *c = privdata;

    (void)ac;
    (void)reply;
    rconn_close(c->cmd, 1);
    if (c->embed != NULL) {
        embed_stop(c->embed, collector_closed_all, c);
        c->embed = NULL;
    } else {
        collector_closed_all(c);
    }
}

void collector_stop(struct collector *c)
{
    redisAsyncContext *ac;

    if (!c->stopping) {
        c->stopping = 1;
        log_info("collector_stopping", "applied=%llu invalid=%llu duplicates=%llu",
                 (unsigned long long)c->applied, (unsigned long long)c->invalid,
                 (unsigned long long)c->duplicates);
        uv_close((uv_handle_t *)&c->trim_timer, NULL);
        uv_close((uv_handle_t *)&c->retry_timer, NULL);
        uv_close((uv_handle_t *)&c->tick_timer, NULL);
        uv_close((uv_handle_t *)&c->sla_timer, NULL);
        uv_close((uv_handle_t *)&c->cursor_timer, NULL);
        api_close(c->api, NULL, NULL);
        c->api = NULL;
        if (c->outbox != NULL)
            outbox_close(c->outbox, NULL, NULL);
        c->outbox = NULL;
        reportsched_close(c->reports, NULL, NULL);
        c->reports = NULL;
        kpirefresh_close(c->kpis);
        c->kpis = NULL;
        partitions_close(c->parts);   /* hand the leases over at once */
        /* the blocking read holds no state: the cursors stay where they are */
        rconn_close(c->blk, 0);
        collector_drop_held(c);     /* nor does a batch read ahead */
    }
    if (c->writing || c->final_sent)
        return;     /* collector_on_written calls us again */
    c->final_sent = 1;
    ac = c->cmd ? rconn_ctx(c->cmd) : NULL;
    if (ac != NULL && redisAsyncCommand(ac, collector_on_final_ping, c, "PING") == REDIS_OK)
        return;
    collector_on_final_ping(NULL, NULL, c);
}

void collector_free(struct collector *c)
{
    if (c == NULL)
        return;
    collector_drop_held(c);
    nines_config_free(c->cfg);
    collector_free_checks(c);
    for (size_t i = 0; i < c->nmaint; i++)
        sla_maint_clear(&c->maint[i]);
    free(c->maint);
    free(c->svc_sla);
    free(c->cust_sla);
    drills_free(c->drills);
    rules_free(c->rules);
    alerter_free(c->alerter);
    nines_tzcache_free(c->tz);
    partitions_free(c->parts);
    free(c->part);
    store_free(c->store);
    free(c);
}

/* ---- accessors for the API --------------------------------------------- */

const struct nines_config *collector_config(const struct collector *c)
{
    return c->cfg;
}

size_t collector_check_count(const struct collector *c)
{
    return c->cfg->checks_count;
}

const struct nines_check *collector_check_spec(const struct collector *c, size_t i)
{
    return c->checks[i].spec;
}

const struct check_state *collector_check_state(const struct collector *c, size_t i)
{
    return &c->checks[i].st;
}

const struct metrics_check *collector_check_metrics(const struct collector *c, size_t i)
{
    return &c->checks[i].m;
}

long collector_check_index(const struct collector *c, const char *id)
{
    struct ccheck *k = collector_find((struct collector *)c, id);

    return k != NULL ? (long)(k - c->checks) : -1;
}

redisAsyncContext *collector_redis(struct collector *c)
{
    return c->cmd != NULL ? rconn_ctx(c->cmd) : NULL;
}

struct alerter *collector_alerter(struct collector *c)
{
    return c->alerter;
}

struct outbox *collector_outbox(struct collector *c)
{
    return c->outbox;
}

const struct skew *collector_skew(const struct collector *c)
{
    return &c->skew;
}

const struct kpirefresh *collector_kpis(const struct collector *c)
{
    return c->kpis;
}

struct drills *collector_drills(struct collector *c)
{
    return c->drills;
}

uv_loop_t *collector_loop(struct collector *c)
{
    return c->loop;
}

int collector_push_result(struct collector *c, const struct nines_result *r)
{
    redisAsyncContext *ac = collector_redis(c);
    static struct nines_wire w;     /* 5 KiB; the loop is single-threaded */
    const char *argv[NINES_WIRE_XADD_ARGC];
    size_t len[NINES_WIRE_XADD_ARGC];
    int argc;

    if (ac == NULL)
        return NINES_ESTATE;
    /* the pairs form: another collector of an older version may own the
     * stream during a rolling upgrade, and push monitors are few */
    nines_wire_encode_pairs(r, &w);
    argc = nines_wire_xadd_argv(&w, c->part[nines_partition_of(r->check_id, c->npart)].stream,
                                argv, len);
    return redisAsyncCommandArgv(ac, NULL, NULL, argc, argv, len) == REDIS_OK ? 0 : NINES_EIO;
}

void collector_get_stats(const struct collector *c, struct collector_stats *st)
{
    st->applied = c->applied;
    st->invalid = c->invalid;
    st->duplicates = c->duplicates;
    st->last_result_ms = c->last_result_ms;
    st->last_applied_ms = c->last_applied_ms;
    st->redis_up = c->cmd_up && c->blk_up;
    st->caught_up = c->caught_up;
}

/* A service's state from its critical checks: any (or all) down → DOWN. */
enum check_state_kind collector_service_state(const struct collector *c,
                                              const struct nines_service_cfg *svc)
{
    size_t n = 0, down = 0, degraded = 0, unknown = 0;

    for (size_t i = 0; i < svc->checks_count; i++) {
        long k = collector_check_index(c, svc->checks[i]);
        int critical = svc->critical_count == 0;
        enum check_state_kind st;

        for (size_t j = 0; j < svc->critical_count && !critical; j++)
            critical = strcmp(svc->critical[j], svc->checks[i]) == 0;
        if (k < 0 || !critical)
            continue;
        st = collector_check_state(c, (size_t)k)->state;
        n++;
        down += st == CHECK_DOWN;
        degraded += st == CHECK_DEGRADED;
        unknown += st == CHECK_UNKNOWN;
    }
    if (n == 0 || unknown == n)
        return CHECK_UNKNOWN;
    if (svc->down_when_all ? down == n : down > 0)
        return CHECK_DOWN;
    return degraded > 0 || down > 0 ? CHECK_DEGRADED : CHECK_UP;
}


size_t sla_maint_count(const struct collector *c)
{
    return c->nmaint;
}

const struct sla_maint *sla_maint_at(const struct collector *c, size_t i)
{
    return &c->maint[i];
}

struct nines_tzcache *collector_tzcache(struct collector *c)
{
    return c->tz;
}

int collector_maint_put(struct collector *c, struct sla_maint *m)
{
    size_t stored = c->nmaint - c->nmaint_config, n = 0;
    struct sla_maint *list = calloc(stored + 1, sizeof(*list));

    if (list == NULL)
        return NINES_ENOMEM;
    /* the stored windows, less one of the same id, plus m (taken) */
    for (size_t i = c->nmaint_config; i < c->nmaint; i++) {
        if (strcmp(c->maint[i].id, m->id) == 0)
            continue;
        list[n] = c->maint[i];
        memset(&c->maint[i], 0, sizeof(c->maint[i]));
        n++;
    }
    list[n++] = *m;
    memset(m, 0, sizeof(*m));
    collector_maint_replace(c, 0, list, n);
    free(list);
    return 0;
}

int collector_maint_remove(struct collector *c, const char *id)
{
    size_t stored = c->nmaint - c->nmaint_config, n = 0;
    struct sla_maint *list = calloc(stored + 1, sizeof(*list));
    int found = 0;

    if (list == NULL)
        return NINES_ENOMEM;
    for (size_t i = c->nmaint_config; i < c->nmaint; i++) {
        if (strcmp(c->maint[i].id, id) == 0) {
            found = 1;
            continue;
        }
        list[n] = c->maint[i];
        memset(&c->maint[i], 0, sizeof(c->maint[i]));
        n++;
    }
    collector_maint_replace(c, 0, list, n);
    free(list);
    return found ? 0 : NINES_ENOTFOUND;
}
