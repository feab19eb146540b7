/* The probe: catalogue watch → scheduler → check engines → push. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>             /* malloc_trim */
#endif

#include "check.h"
#include "fmt.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "probe.h"
#include "push.h"
#include "rconn.h"
#include "scheduler.h"
#include "spool.h"

#define PROBE_SPOOL_SYNC_MS 1000
#define PROBE_SPOOL_MEM_MAX 10000  /* results in memory before the spool takes over */
/*
 * Runs in flight at most (per worker; --max-inflight). Past it, due runs wait in order for a
 * free place: an overloaded probe then runs late at its full rate instead of
 * opening ever more connections at once (tens of thousands of sockets make
 * the kernel's search for a free local port dominate, and the rate collapse).
 */
#define PROBE_INFLIGHT_DEFAULT 1024
/*
 * A result that does not fill a script call waits this long for others to
 * share it. At the bench's 2,000 results a second almost every call
 * carried one result (12,605 calls for 14,180 results): a call costs the
 * probe the ~1 KB script and ~20 arguments formatted, a reply parsed, and
 * Redis 16 us. 5 ms makes about 10 per call at that rate; at rest a result
 * reaches Redis 5 ms later. Stopping sends what waits at once.
 */
#define PROBE_PUSH_FLUSH_MS 5

struct probe_check {              /* one catalogue entry this probe runs */
    struct nines_check spec;
    int running;                  /* a run is in flight, or waits for a place */
    int removed;                  /* dropped from the catalogue meanwhile */
    int ran;                      /* started a run since the catalogue brought it */
    struct probe *p;
    struct probe_check *qnext;    /* in probe.waiting */
    int64_t due_ms;               /* of the waiting run */
};

struct probe {
    uv_loop_t *loop;
    struct probe_opts o;
    struct rconn *rc;
    struct push *push;
    struct scheduler *sched;
    struct check_env env;
    uv_timer_t poll_timer;
    uv_timer_t drain_timer;
    uv_timer_t sync_timer;        /* fdatasync of the spool, off the loop thread */
    uv_fs_t sync_req;
    int sync_fd;                  /* -1, or the dup'd fd being synced */
    struct spool *spool;          /* NULL when running without one */
    uint64_t spool_dropped_seen;
    int open_handles;
    uint64_t version;             /* catalogue version running now (0 = none) */
    int fetching;                 /* a catalogue read is in flight */
    int catalogue_missing;        /* warned that Redis has none */
    int trim_pending;             /* a catalogue was applied: give freed heap back */
    struct probe_check **checks;
    size_t nchecks, capchecks;
    int64_t boot_ms;
    uint64_t seq;
    uint64_t overlaps;
    uint64_t overlaps_logged;     /* overlaps already in a check_overlap line */
    int64_t overlap_log_ms;       /* when check_overlap was last logged */
    size_t inflight;              /* runs started and not done */
    size_t inflight_max;          /* --max-inflight */
    struct probe_check *waiting, *waiting_tail;   /* due runs waiting for a place */
    uint64_t waited;              /* runs that had to wait */
    int64_t late_max_ms;          /* largest fire time - due time (bench/ reads it) */
    uint64_t late_over_100ms;     /* runs started more than 100 ms after their due time */
    /* the same for each check's first run after the catalogue brought it:
     * those are all due at once (a catalogue of N checks is N runs due now),
     * a burst apart from the steady rate the figures above describe */
    int64_t first_late_max_ms;
    uint64_t first_late_over_100ms;
    uint64_t missed;              /* runs the scheduler skipped, read at stop */
    int stopping;
    uint64_t drain_deadline;      /* loop time (ms) at which draining gives up */
};

static void probe_check_release(struct probe_check *pc)
{
    nines_check_clear(&pc->spec);
    free(pc);
}

static void probe_begin(struct probe *p, struct probe_check *pc, int64_t due_ms);

/* The next waiting run, now that a place is free. */
static void probe_next_waiting(struct probe *p)
{
    while (p->waiting != NULL && p->inflight < p->inflight_max && !p->stopping) {
        struct probe_check *pc = p->waiting;

        p->waiting = pc->qnext;
        if (p->waiting == NULL)
            p->waiting_tail = NULL;
        pc->qnext = NULL;
        pc->running = 0;
        if (pc->removed)
            probe_check_release(pc);
        else
            probe_begin(p, pc, pc->due_ms);
    }
}

/*
 * The run's id, "<probe>/<boot_ms>/<seq>" (a worker's: "<probe>/w<n>/<boot_ms>/<seq>", so
 * its acked key never dedups another worker's). It is built once per result, so by hand:
 * snprintf was a third of probe_on_done. The name is cut as snprintf would cut the whole.
 */
static void probe_result_id(struct probe *p, struct nines_result *r)
{
    char buf[NINES_ID_LEN + 3 * 24];
    size_t n = strnlen(p->o.name, NINES_ID_LEN - 1);

    memcpy(buf, p->o.name, n);
    buf[n++] = '/';
    if (p->o.workers > 1) {
        buf[n++] = 'w';
        n += fmt_u64(buf + n, (uint64_t)(p->o.worker > 0 ? p->o.worker : 0));
        buf[n++] = '/';
    }
    n += fmt_i64(buf + n, p->boot_ms);  /* negative only with a clock before 1970 */
    buf[n++] = '/';
    n += fmt_u64(buf + n, ++p->seq);
    if (n > sizeof(r->id) - 1)
        n = sizeof(r->id) - 1;
    memcpy(r->id, buf, n);
    r->id[n] = '\0';
}

static void probe_on_done(struct nines_result *r, void *arg)
{
    struct probe_check *pc = arg;
    struct probe *p = pc->p;

    pc->running = 0;
    p->inflight--;
    probe_next_waiting(p);
    if (pc->removed) {
        probe_check_release(pc);
        return;
    }
    if (strcmp(r->reason, "cancelled") == 0)
        return;    /* the probe is stopping: not a measurement */
    fmt_copy(r->probe, sizeof(r->probe), p->o.name);
    fmt_copy(r->location, sizeof(r->location), p->o.location);
    probe_result_id(p, r);
    log_debug("check_result", "check=%s outcome=%s total_us=%lld code=%d reason=%s",
              r->check_id, nines_outcome_name(r->outcome), (long long)r->total_us, r->code,
              r->reason[0] ? r->reason : "-");
    push_enqueue(p->push, r);
}

/* Starts a run of pc due at due_ms; its lateness is measured here. */
static void probe_begin(struct probe *p, struct probe_check *pc, int64_t due_ms)
{
    int64_t late = nines_wall_ms() - due_ms;
    int64_t *late_max = pc->ran ? &p->late_max_ms : &p->first_late_max_ms;
    uint64_t *late_over = pc->ran ? &p->late_over_100ms : &p->first_late_over_100ms;
    int rc;

    if (late > *late_max)
        *late_max = late;
    if (late > 100)
        (*late_over)++;
    pc->ran = 1;
    rc = check_start(&p->env, &pc->spec, probe_on_done, pc);
    if (rc != 0) {
        log_error("check_start_failed", "check=%s code=%d", pc->spec.id, rc);
        return;
    }
    pc->running = 1;
    p->inflight++;
}

static void probe_on_fire(void *item, int64_t due_ms, void *arg)
{
    struct probe_check *pc = item;
    struct probe *p = arg;

    if (p->stopping)
        return;
    if (pc->running) {
        int64_t now = nines_wall_ms();

        /* one line at most every 10 s: an overloaded probe must not also
         * drown in its own warnings */
        p->overlaps++;
        if (now - p->overlap_log_ms >= 10000) {
            log_warn("check_overlap", "check=%s skipped=%llu note=\"previous run still in "
                     "flight or waiting, skipped (count since the last such line)\"",
                     pc->spec.id, (unsigned long long)(p->overlaps - p->overlaps_logged));
            p->overlaps_logged = p->overlaps;
            p->overlap_log_ms = now;
        }
        return;
    }
    if (p->inflight >= p->inflight_max) {
        pc->running = 1;          /* waiting counts as running: no second run queues */
        pc->due_ms = due_ms;
        pc->qnext = NULL;
        if (p->waiting_tail != NULL)
            p->waiting_tail->qnext = pc;
        else
            p->waiting = pc;
        p->waiting_tail = pc;
        p->waited++;
        return;
    }
    probe_begin(p, pc, due_ms);
}

int probe_shard(const char *id, int workers)
{
    if (workers <= 1)
        return 0;
    return (int)(nines_fnv1a64(id, strlen(id)) % (uint64_t)workers);
}

/* Push checks are pinged by the jobs they watch; probes never run them. A
 * worker runs only the checks of its shard. */
static int probe_runs(const struct probe *p, const struct nines_check *c)
{
    return c->kind != NINES_KIND_PUSH && nines_check_runs_at(c, p->o.location) &&
           probe_shard(c->id, p->o.workers) == p->o.worker;
}

/* An id -> index table for one catalogue apply: open addressing, so that
 * 100,000 checks apply in linear time. */
struct probe_index {
    size_t cap;                      /* a power of two, >= twice the entries */
    const char **key;
    size_t *val;
};

static int probe_index_init(struct probe_index *x, size_t n)
{
    x->cap = 16;
    while (x->cap < 2 * n + 2)
        x->cap *= 2;
    x->key = calloc(x->cap, sizeof(*x->key));
    x->val = calloc(x->cap, sizeof(*x->val));
    return x->key != NULL && x->val != NULL ? 0 : -1;
}

static void probe_index_free(struct probe_index *x)
{
    free(x->key);
    free(x->val);
}

/* The slot of id: its own, or the empty one it would take. */
static size_t probe_index_slot(const struct probe_index *x, const char *id)
{
    size_t i = (size_t)nines_fnv1a64(id, strlen(id)) & (x->cap - 1);

    while (x->key[i] != NULL && strcmp(x->key[i], id) != 0)
        i = (i + 1) & (x->cap - 1);
    return i;
}

static void probe_index_put(struct probe_index *x, const char *id, size_t val)
{
    size_t i = probe_index_slot(x, id);

    x->key[i] = id;
    x->val[i] = val;
}

/* Replaces the running set with the checks of cat that run here. */
static void probe_apply_catalogue(struct probe *p, struct nines_check *cat, size_t n)
{
    size_t added = 0, changed = 0, removed = 0;
    struct probe_index wanted, running;

    if (probe_index_init(&wanted, n) != 0 || probe_index_init(&running, p->nchecks + n) != 0) {
        probe_index_free(&wanted);
        log_error("out_of_memory", "where=catalogue checks=%zu", n);
        return;
    }
    for (size_t j = 0; j < n; j++)
        if (probe_runs(p, &cat[j]))
            probe_index_put(&wanted, cat[j].id, j);
    for (size_t i = 0; i < p->nchecks;) {
        struct probe_check *pc = p->checks[i];
        int keep = wanted.key[probe_index_slot(&wanted, pc->spec.id)] != NULL;

        if (keep) {
            i++;
            continue;
        }
        scheduler_remove(p->sched, pc->spec.id);
        p->checks[i] = p->checks[--p->nchecks];
        removed++;
        if (pc->running)
            pc->removed = 1;      /* freed when its run completes */
        else
            probe_check_release(pc);
    }
    for (size_t i = 0; i < p->nchecks; i++)
        probe_index_put(&running, p->checks[i]->spec.id, i);
    for (size_t j = 0; j < n; j++) {
        struct probe_check *pc;
        size_t slot;

        if (!probe_runs(p, &cat[j]))
            continue;
        slot = probe_index_slot(&running, cat[j].id);
        pc = running.key[slot] != NULL ? p->checks[running.val[slot]] : NULL;
        if (pc != NULL) {
            if (nines_check_equal(&pc->spec, &cat[j]))
                continue;
            running.key[slot] = cat[j].id;   /* the old id is freed next */
            nines_check_clear(&pc->spec);
            pc->spec = cat[j];            /* take it */
            pc->ran = 0;                  /* rescheduled: its next run is a first one */
            memset(&cat[j], 0, sizeof(cat[j]));
            changed++;
        } else {
            struct probe_check **grown = p->checks;

            if (p->nchecks == p->capchecks) {
                size_t cap = p->capchecks ? 2 * p->capchecks : 64;

                grown = realloc(p->checks, cap * sizeof(*grown));
                if (grown != NULL)
                    p->capchecks = cap;
            }

            pc = calloc(1, sizeof(*pc));
            if (grown == NULL || pc == NULL) {
                free(pc);
                if (grown != NULL)
                    p->checks = grown;
                log_error("out_of_memory", "where=catalogue check=%s", cat[j].id);
                continue;
            }
            p->checks = grown;
            pc->p = p;
            pc->spec = cat[j];
            memset(&cat[j], 0, sizeof(cat[j]));
            p->checks[p->nchecks++] = pc;
            probe_index_put(&running, pc->spec.id, p->nchecks - 1);
            added++;
        }
        if (scheduler_put(p->sched, pc->spec.id, pc->spec.interval_ms, pc) != 0)
            log_error("schedule_failed", "check=%s", pc->spec.id);
    }
    probe_index_free(&wanted);
    probe_index_free(&running);
    log_info("catalogue_applied", "checks=%zu added=%zu changed=%zu removed=%zu location=%s",
             p->nchecks, added, changed, removed, p->o.location);
}

static void probe_on_catalogue(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct probe *p = privdata;
    redisReply *r = reply;
    struct nines_check *cat = NULL;
    size_t n = 0;
    int partitions = 1;
    struct nines_err err = { 0 };

    (void)ac;
    p->fetching = 0;
    if (r == NULL || p->stopping)
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
        if (!p->catalogue_missing)    /* once, not at every poll */
            log_warn("catalogue_missing",
                     "note=\"no catalogue in Redis yet; is a collector running?\"");
        p->catalogue_missing = 1;
        return;
    }
    p->catalogue_missing = 0;
    if (r->element[2]->type == REDIS_REPLY_STRING)
        push_set_maxlen(p->push, strtoll(r->element[2]->str, NULL, 10));
    /* the packed form only once the collectors say they read it: a probe
     * upgraded before its collector still writes what that collector reads */
    push_set_packed(p->push, r->element[3]->type == REDIS_REPLY_STRING &&
                                 strcmp(r->element[3]->str, NINES_WIRE_PACKED_VERSION) == 0);
    if (nines_catalogue_decode_partitioned(r->element[1]->str, r->element[1]->len, &cat, &n,
                                           &partitions, &err) != 0) {
        log_error("catalogue_invalid", "error=\"%s\"", err.msg);
        return;
    }
    p->version = strtoull(r->element[0]->str, NULL, 16);
    push_set_partitions(p->push, partitions);
    probe_apply_catalogue(p, cat, n);
    nines_checks_free(cat, n);
    p->trim_pending = 1;
}

static void probe_on_version(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct probe *p = privdata;
    redisReply *r = reply;

    if (r == NULL || p->stopping) {
        p->fetching = 0;
        return;
    }
    if (r->type == REDIS_REPLY_STRING && strtoull(r->str, NULL, 16) == p->version &&
        p->version != 0) {
        p->fetching = 0;
        return;
    }
    /* changed (or first time): read version, catalogue and settings together */
    if (redisAsyncCommand(ac, probe_on_catalogue, p, "MGET %s %s %s %s",
                          NINES_KEY_CATALOGUE_VERSION, NINES_KEY_CATALOGUE,
                          NINES_KEY_STREAM_MAXLEN, NINES_KEY_WIRE) != REDIS_OK)
        p->fetching = 0;
}

/*
 * Decoding a catalogue (its text in the reply, the JSON tree, the decoded
 * array) takes about as much heap again as the checks it leaves behind;
 * once that is freed, malloc keeps the pages. Hand them back to the system
 * at the next poll, after the reply is gone, so the resident size is what
 * the checks need (about 1 KiB per idle check less at 10,000 checks).
 */
static void probe_trim_heap(struct probe *p)
{
    if (!p->trim_pending)
        return;
    p->trim_pending = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void probe_poll_catalogue(uv_timer_t *t)
{
    struct probe *p = t->data;
    redisAsyncContext *ac = rconn_ctx(p->rc);

    probe_trim_heap(p);

    if (ac == NULL || p->fetching || p->stopping)
        return;
    if (redisAsyncCommand(ac, probe_on_version, p, "GET %s", NINES_KEY_CATALOGUE_VERSION) ==
        REDIS_OK)
        p->fetching = 1;
}

static void probe_log_spool(struct probe *p, const char *event)
{
    struct spool_stats ss;

    if (p->spool == NULL)
        return;
    spool_get_stats(p->spool, &ss);
    log_info(event, "spool_pending=%llu spool_bytes=%llu spool_segments=%zu spool_dropped=%llu",
             (unsigned long long)ss.pending, (unsigned long long)ss.bytes, ss.segments,
             (unsigned long long)ss.dropped);
}

static void probe_on_redis_up(struct rconn *rc, void *arg)
{
    struct probe *p = arg;

    (void)rc;
    probe_log_spool(p, "results_replaying");
    push_resume(p->push);
    probe_poll_catalogue(&p->poll_timer);
}

static void probe_on_redis_down(struct rconn *rc, void *arg)
{
    struct probe *p = arg;

    (void)rc;
    p->fetching = 0;
    push_lost(p->push);
    probe_log_spool(p, "results_spooling");
}

static void probe_on_synced(uv_fs_t *req)
{
    struct probe *p = req->data;

    if (req->result < 0)
        log_warn("spool_sync_failed", "error=\"%s\"", uv_strerror((int)req->result));
    uv_fs_req_cleanup(req);
    close(p->sync_fd);
    p->sync_fd = -1;
}

/*
 * Once a second: the spool's buffer goes to the file (a write to the page
 * cache, at most 64 KiB) and fdatasync runs in libuv's thread pool on a dup
 * of the descriptor, so a slow disk never stalls checks. Spool drops past
 * the bound are logged here as well as where they happen.
 */
static void probe_sync_tick(uv_timer_t *t)
{
    struct probe *p = t->data;
    struct spool_stats ss;

    spool_get_stats(p->spool, &ss);
    if (ss.dropped != p->spool_dropped_seen) {
        log_warn("spool_full", "spool_dropped=%llu new=%llu max_bytes=%llu",
                 (unsigned long long)ss.dropped,
                 (unsigned long long)(ss.dropped - p->spool_dropped_seen),
                 (unsigned long long)p->o.spool_max_bytes);
        p->spool_dropped_seen = ss.dropped;
    }
    if (p->sync_fd >= 0)
        return;     /* the last one is still running */
    p->sync_fd = spool_sync_fd(p->spool);
    if (p->sync_fd < 0)
        return;
    if (uv_fs_fdatasync(p->loop, &p->sync_req, p->sync_fd, probe_on_synced) != 0) {
        close(p->sync_fd);
        p->sync_fd = -1;
    }
}

static int probe_open_spool(struct probe *p, struct nines_err *err)
{
    struct nines_err e = { 0 };
    struct spool_stats ss;

    if (p->o.spool_dir[0] == '\0')
        return 0;
    p->spool = spool_open(p->o.spool_dir, p->o.spool_max_bytes, p->o.spool_segment_bytes, &e);
    if (p->spool == NULL) {
        if (p->o.spool_required)
            return nines_err_set(err, e.code, "%s", e.msg);
        log_warn("spool_unavailable", "error=\"%s\" note=\"results kept in memory only\"",
                 e.msg);
        return 0;
    }
    if (push_set_spool(p->push, p->spool, PROBE_SPOOL_MEM_MAX) != 0)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    spool_get_stats(p->spool, &ss);
    log_info("spool_opened", "dir=%s max_bytes=%llu pending=%llu segments=%zu truncated=%llu "
             "corrupt_segments=%llu", p->o.spool_dir, (unsigned long long)p->o.spool_max_bytes,
             (unsigned long long)ss.pending, ss.segments, (unsigned long long)ss.truncated,
             (unsigned long long)ss.corrupt_segments);
    return 0;
}

struct probe *probe_new(uv_loop_t *loop, const struct probe_opts *o, struct nines_err *err)
{
    struct probe *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        nines_err_set(err, NINES_ENOMEM, "out of memory");
        return NULL;
    }
    p->sync_fd = -1;
    p->loop = loop;
    p->o = *o;
    p->boot_ms = nines_wall_ms();
    p->rc = rconn_new(loop, &o->redis, "push", probe_on_redis_up, probe_on_redis_down, p);
    p->push = p->rc ? push_new(p->rc, o->queue_max, 4096) : NULL;
    p->sched = scheduler_new(loop, probe_on_fire, p);
    if (p->rc == NULL || p->push == NULL || p->sched == NULL) {
        nines_err_set(err, NINES_ENOMEM, "out of memory");
        goto fail;
    }
    if (probe_open_spool(p, err) != 0)
        goto fail;
    if (check_env_init(&p->env, loop) != 0) {
        nines_err_set(err, NINES_ENOMEM, "check engines failed to start");
        goto fail;
    }
    p->env.graceful_close = o->graceful_close;
    p->inflight_max = o->max_inflight > 0 ? (size_t)o->max_inflight : PROBE_INFLIGHT_DEFAULT;
    uv_timer_init(loop, &p->poll_timer);
    uv_timer_init(loop, &p->drain_timer);
    uv_timer_init(loop, &p->sync_timer);
    p->poll_timer.data = p;
    p->drain_timer.data = p;
    p->sync_timer.data = p;
    p->sync_req.data = p;
    return p;

fail:
    if (p->rc != NULL)
        rconn_close(p->rc, 0);
    push_free(p->push);
    spool_close(p->spool);
    scheduler_close(p->sched);
    free(p);
    return NULL;
}

void probe_start(struct probe *p)
{
    log_info("probe_started", "name=%s location=%s queue_max=%zu shard=%d/%d", p->o.name,
             p->o.location, p->o.queue_max, p->o.worker, p->o.workers > 1 ? p->o.workers : 1);
    push_set_flush(p->push, p->loop, PROBE_PUSH_FLUSH_MS);
    rconn_start(p->rc);
    uv_timer_start(&p->poll_timer, probe_poll_catalogue, (uint64_t)p->o.catalogue_poll_ms,
                   (uint64_t)p->o.catalogue_poll_ms);
    if (p->spool != NULL)
        uv_timer_start(&p->sync_timer, probe_sync_tick, PROBE_SPOOL_SYNC_MS,
                       PROBE_SPOOL_SYNC_MS);
}

static void probe_finish(struct probe *p)
{
    struct push_stats st;

    struct spool_stats ss = { 0 };

    push_save(p->push);      /* unsent results to disk, for the next start */
    push_get_stats(p->push, &st);
    if (p->spool != NULL)
        spool_get_stats(p->spool, &ss);
    log_info("probe_stopped",
             "results=%llu last_seq=%llu boot_ms=%lld acked=%llu duplicates=%llu unsent=%zu "
             "dropped=%llu spooled=%llu spool_pending=%llu spool_dropped=%llu overlaps=%llu "
             "missed=%llu waited=%llu late_max_ms=%lld late_over_100ms=%llu "
             "first_late_max_ms=%lld first_late_over_100ms=%llu",
             (unsigned long long)st.enqueued, (unsigned long long)p->seq, (long long)p->boot_ms,
             (unsigned long long)st.acked, (unsigned long long)st.duplicates, st.queued,
             (unsigned long long)st.dropped, (unsigned long long)st.spooled,
             (unsigned long long)ss.pending, (unsigned long long)ss.dropped,
             (unsigned long long)p->overlaps, (unsigned long long)p->missed,
             (unsigned long long)p->waited, (long long)p->late_max_ms, (unsigned long long)p->late_over_100ms,
             (long long)p->first_late_max_ms, (unsigned long long)p->first_late_over_100ms);
    uv_timer_stop(&p->drain_timer);
    uv_close((uv_handle_t *)&p->drain_timer, NULL);
    uv_close((uv_handle_t *)&p->sync_timer, NULL);
    rconn_close(p->rc, 1);
}

/* Waits for the queue to empty, or for the drain deadline, every 20 ms. */
static void probe_drain_tick(uv_timer_t *t)
{
    struct probe *p = t->data;
    struct push_stats st;

    struct spool_stats ss = { 0 };

    push_get_stats(p->push, &st);
    if (p->spool != NULL)
        spool_get_stats(p->spool, &ss);
    if ((st.queued == 0 && ss.pending == 0) || uv_now(p->loop) >= p->drain_deadline)
        probe_finish(p);
}

void probe_stop(struct probe *p, int drain_ms)
{
    if (p->stopping)
        return;
    p->stopping = 1;
    log_info("probe_stopping", "drain_ms=%d", drain_ms);
    push_stop_flush(p->push);   /* what waits goes now; the drain sees it acked */
    p->missed = scheduler_missed(p->sched);
    scheduler_close(p->sched);
    p->sched = NULL;
    uv_close((uv_handle_t *)&p->poll_timer, NULL);
    check_env_close(&p->env);
    p->drain_deadline = uv_now(p->loop) + (uint64_t)(drain_ms > 0 ? drain_ms : 0);
    uv_timer_start(&p->drain_timer, probe_drain_tick, 0, 20);
}

void probe_free(struct probe *p)
{
    if (p == NULL)
        return;
    /* runs that never got a place: those of removed checks are only here */
    for (struct probe_check *pc = p->waiting, *next; pc != NULL; pc = next) {
        next = pc->qnext;
        if (pc->removed)
            probe_check_release(pc);
    }
    for (size_t i = 0; i < p->nchecks; i++)
        probe_check_release(p->checks[i]);
    free(p->checks);
    push_free(p->push);
    spool_close(p->spool);
    free(p);
}
