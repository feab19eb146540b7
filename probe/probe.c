/* The probe: catalogue watch → scheduler → check engines → push. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "probe.h"
#include "push.h"
#include "rconn.h"
#include "scheduler.h"

struct probe_check {              /* one catalogue entry this probe runs */
    struct nines_check spec;
    int running;                  /* a run is in flight */
    int removed;                  /* dropped from the catalogue meanwhile */
    struct probe *p;
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
    int open_handles;
    uint64_t version;             /* catalogue version running now (0 = none) */
    int fetching;                 /* a catalogue read is in flight */
    int catalogue_missing;        /* warned that Redis has none */
    struct probe_check **checks;
    size_t nchecks;
    int64_t boot_ms;
    uint64_t seq;
    uint64_t overlaps;
    int stopping;
    uint64_t drain_deadline;      /* loop time (ms) at which draining gives up */
};

static struct probe_check *probe_find(struct probe *p, const char *id, size_t *idx)
{
    for (size_t i = 0; i < p->nchecks; i++) {
        if (strcmp(p->checks[i]->spec.id, id) == 0) {
            if (idx != NULL)
                *idx = i;
            return p->checks[i];
        }
    }
    return NULL;
}

static void probe_check_release(struct probe_check *pc)
{
    nines_check_clear(&pc->spec);
    free(pc);
}

static void probe_on_done(struct nines_result *r, void *arg)
{
    struct probe_check *pc = arg;
    struct probe *p = pc->p;

    pc->running = 0;
    if (pc->removed) {
        probe_check_release(pc);
        return;
    }
    if (strcmp(r->reason, "cancelled") == 0)
        return;    /* the probe is stopping: not a measurement */
    snprintf(r->probe, sizeof(r->probe), "%s", p->o.name);
    snprintf(r->location, sizeof(r->location), "%s", p->o.location);
    snprintf(r->id, sizeof(r->id), "%s/%lld/%llu", p->o.name, (long long)p->boot_ms,
             (unsigned long long)++p->seq);
    log_debug("check_result", "check=%s outcome=%s total_us=%lld code=%d reason=%s",
              r->check_id, nines_outcome_name(r->outcome), (long long)r->total_us, r->code,
              r->reason[0] ? r->reason : "-");
    push_enqueue(p->push, r);
}

static void probe_on_fire(void *item, int64_t due_ms, void *arg)
{
    struct probe_check *pc = item;
    struct probe *p = arg;
    int rc;

    (void)due_ms;
    if (p->stopping)
        return;
    if (pc->running) {
        p->overlaps++;
        log_warn("check_overlap", "check=%s note=\"previous run still in flight, skipped\"",
                 pc->spec.id);
        return;
    }
    rc = check_start(&p->env, &pc->spec, probe_on_done, pc);
    if (rc != 0) {
        log_error("check_start_failed", "check=%s code=%d", pc->spec.id, rc);
        return;
    }
    pc->running = 1;
}

/* Push checks are pinged by the jobs they watch; probes never run them. */
static int probe_runs(const struct nines_check *c, const char *location)
{
    return c->kind != NINES_KIND_PUSH && nines_check_runs_at(c, location);
}

/* Replaces the running set with the checks of cat that run here. */
static void probe_apply_catalogue(struct probe *p, struct nines_check *cat, size_t n)
{
    size_t added = 0, changed = 0, removed = 0;

    for (size_t i = 0; i < p->nchecks;) {
        struct probe_check *pc = p->checks[i];
        int keep = 0;

        for (size_t j = 0; j < n && !keep; j++)
            keep = strcmp(cat[j].id, pc->spec.id) == 0 && probe_runs(&cat[j], p->o.location);
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
    for (size_t j = 0; j < n; j++) {
        struct probe_check *pc;

        if (!probe_runs(&cat[j], p->o.location))
            continue;
        pc = probe_find(p, cat[j].id, NULL);
        if (pc != NULL) {
            if (nines_check_equal(&pc->spec, &cat[j]))
                continue;
            nines_check_clear(&pc->spec);
            pc->spec = cat[j];            /* take it */
            memset(&cat[j], 0, sizeof(cat[j]));
            changed++;
        } else {
            struct probe_check **grown = realloc(p->checks, (p->nchecks + 1) * sizeof(*grown));

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
            added++;
        }
        if (scheduler_put(p->sched, pc->spec.id, pc->spec.interval_ms, pc) != 0)
            log_error("schedule_failed", "check=%s", pc->spec.id);
    }
    log_info("catalogue_applied", "checks=%zu added=%zu changed=%zu removed=%zu location=%s",
             p->nchecks, added, changed, removed, p->o.location);
}

static void probe_on_catalogue(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct probe *p = privdata;
    redisReply *r = reply;
    struct nines_check *cat = NULL;
    size_t n = 0;
    struct nines_err err = { 0 };

    (void)ac;
    p->fetching = 0;
    if (r == NULL || p->stopping)
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
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
    if (nines_catalogue_decode(r->element[1]->str, r->element[1]->len, &cat, &n, &err) != 0) {
        log_error("catalogue_invalid", "error=\"%s\"", err.msg);
        return;
    }
    p->version = strtoull(r->element[0]->str, NULL, 16);
    push_set_partitions(p->push, nines_catalogue_partitions(r->element[1]->str,
                                                            r->element[1]->len));
    probe_apply_catalogue(p, cat, n);
    nines_checks_free(cat, n);
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
    if (redisAsyncCommand(ac, probe_on_catalogue, p, "MGET %s %s %s",
                          NINES_KEY_CATALOGUE_VERSION, NINES_KEY_CATALOGUE,
                          NINES_KEY_STREAM_MAXLEN) != REDIS_OK)
        p->fetching = 0;
}

static void probe_poll_catalogue(uv_timer_t *t)
{
    struct probe *p = t->data;
    redisAsyncContext *ac = rconn_ctx(p->rc);

    if (ac == NULL || p->fetching || p->stopping)
        return;
    if (redisAsyncCommand(ac, probe_on_version, p, "GET %s", NINES_KEY_CATALOGUE_VERSION) ==
        REDIS_OK)
        p->fetching = 1;
}

static void probe_on_redis_up(struct rconn *rc, void *arg)
{
    struct probe *p = arg;

    (void)rc;
    push_resume(p->push);
    probe_poll_catalogue(&p->poll_timer);
}

static void probe_on_redis_down(struct rconn *rc, void *arg)
{
    struct probe *p = arg;

    (void)rc;
    p->fetching = 0;
    push_lost(p->push);
}

struct probe *probe_new(uv_loop_t *loop, const struct probe_opts *o)
{
    struct probe *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->loop = loop;
    p->o = *o;
    p->boot_ms = nines_wall_ms();
    p->rc = rconn_new(loop, &o->redis, "push", probe_on_redis_up, probe_on_redis_down, p);
    p->push = p->rc ? push_new(p->rc, o->queue_max, 1000) : NULL;
    p->sched = scheduler_new(loop, probe_on_fire, p);
    if (p->rc == NULL || p->push == NULL || p->sched == NULL ||
        check_env_init(&p->env, loop) != 0) {
        if (p->rc != NULL)
            rconn_close(p->rc, 0);
        push_free(p->push);
        scheduler_close(p->sched);
        free(p);
        return NULL;
    }
    uv_timer_init(loop, &p->poll_timer);
    uv_timer_init(loop, &p->drain_timer);
    p->poll_timer.data = p;
    p->drain_timer.data = p;
    return p;
}

void probe_start(struct probe *p)
{
    log_info("probe_started", "name=%s location=%s queue_max=%zu", p->o.name, p->o.location,
             p->o.queue_max);
    rconn_start(p->rc);
    uv_timer_start(&p->poll_timer, probe_poll_catalogue, (uint64_t)p->o.catalogue_poll_ms,
                   (uint64_t)p->o.catalogue_poll_ms);
}

static void probe_finish(struct probe *p)
{
    struct push_stats st;

    push_get_stats(p->push, &st);
    log_info("probe_stopped", "results=%llu acked=%llu unsent=%zu dropped=%llu",
             (unsigned long long)st.enqueued, (unsigned long long)st.acked, st.queued,
             (unsigned long long)st.dropped);
    uv_timer_stop(&p->drain_timer);
    uv_close((uv_handle_t *)&p->drain_timer, NULL);
    rconn_close(p->rc, 1);
}

/* Waits for the queue to empty, or for the drain deadline, every 20 ms. */
static void probe_drain_tick(uv_timer_t *t)
{
    struct probe *p = t->data;
    struct push_stats st;

    push_get_stats(p->push, &st);
    if (st.queued == 0 || uv_now(p->loop) >= p->drain_deadline)
        probe_finish(p);
}

void probe_stop(struct probe *p, int drain_ms)
{
    if (p->stopping)
        return;
    p->stopping = 1;
    log_info("probe_stopping", "drain_ms=%d", drain_ms);
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
    for (size_t i = 0; i < p->nchecks; i++)
        probe_check_release(p->checks[i]);
    free(p->checks);
    push_free(p->push);
    free(p);
}
