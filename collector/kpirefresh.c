/* The current month's KPIs for /metrics; see kpirefresh.h. */
#include <stdlib.h>
#include <string.h>

#include "childrun.h"
#include "collector.h"
#include "kpirefresh.h"
#include "nines/clock.h"
#include "nines/log.h"

#define KPIREFRESH_FIRST_MS 2000            /* first run soon after start */
#define KPIREFRESH_MAX_BYTES (16 * 1024 * 1024)

struct kpirefresh {
    uv_timer_t timer;
    struct collector *c;
    struct childrun_pool pool;          /* at most one child */
    int64_t every_ms;                   /* as the timer runs now; 0 = stopped */
    json_t *rows;                       /* the newest rows, or NULL */
    int64_t refreshed_ms;
    int closing;
    int timer_open;
};

static void kpirefresh_maybe_free(struct kpirefresh *k)
{
    if (!k->closing || k->timer_open || k->pool.running > 0)
        return;
    json_decref(k->rows);
    free(k);
}

static void kpirefresh_done(const struct childrun_result *res, void *arg)
{
    struct kpirefresh *k = arg;
    json_error_t jerr;
    json_t *doc, *rows;

    if (res->status == 0 && !k->closing) {
        doc = json_loadb(res->out, res->len, JSON_REJECT_DUPLICATES, &jerr);
        rows = json_object_get(doc, "rows");
        if (json_is_array(rows)) {
            json_decref(k->rows);
            k->rows = json_incref(rows);
            k->refreshed_ms = nines_wall_ms();
            log_debug("kpi_refreshed", "rows=%zu", json_array_size(rows));
        } else {
            log_warn("kpi_refresh_unreadable", "error=\"%s\"",
                     doc == NULL ? jerr.text : "no rows array");
        }
        json_decref(doc);
    }
    /* a failed child is logged by childrun; the previous rows stay */
    kpirefresh_maybe_free(k);
}

/* A child that could not be spawned has released its handle. */
static void kpirefresh_unspawned(struct childrun_pool *pool, void *arg)
{
    (void)pool;
    kpirefresh_maybe_free(arg);
}

static void kpirefresh_tick(uv_timer_t *t)
{
    struct kpirefresh *k = t->data;
    const struct nines_config *cfg = collector_config(k->c);
    struct nines_err err = { 0 };
    const char *args[] = { "kpi", "--month", "current", "--format", "json", "-c", cfg->path,
                           NULL };

    if (k->pool.running > 0 || cfg->path == NULL)
        return;                         /* the previous run is still going */
    if (childrun_start(&k->pool, collector_loop(k->c), cfg->collector.data_dir, args,
                       KPIREFRESH_MAX_BYTES, kpirefresh_done, k, &err) != 0)
        log_warn("kpi_refresh_failed", "error=\"%s\"", err.msg);
}

/* (Re)arms the timer when the configured interval differs from the running one. */
static void kpirefresh_arm(struct kpirefresh *k)
{
    int64_t every = collector_config(k->c)->collector.kpi_refresh_ms;

    if (every == k->every_ms)
        return;
    k->every_ms = every;
    if (every <= 0) {
        uv_timer_stop(&k->timer);
        return;
    }
    uv_timer_start(&k->timer, kpirefresh_tick,
                   (uint64_t)(every < KPIREFRESH_FIRST_MS ? every : KPIREFRESH_FIRST_MS),
                   (uint64_t)every);
}

struct kpirefresh *kpirefresh_new(uv_loop_t *loop, struct collector *c)
{
    struct kpirefresh *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    k->c = c;
    k->pool.unspawned = kpirefresh_unspawned;
    k->pool.unspawned_arg = k;
    uv_timer_init(loop, &k->timer);
    k->timer.data = k;
    k->timer_open = 1;
    kpirefresh_arm(k);
    return k;
}

void kpirefresh_reload(struct kpirefresh *k)
{
    if (k != NULL && !k->closing)
        kpirefresh_arm(k);
}

const json_t *kpirefresh_rows(const struct kpirefresh *k, int64_t *refreshed_ms)
{
    if (k == NULL || k->rows == NULL)
        return NULL;
    *refreshed_ms = k->refreshed_ms;
    return k->rows;
}

static void kpirefresh_timer_closed(uv_handle_t *h)
{
    struct kpirefresh *k = h->data;

    k->timer_open = 0;
    kpirefresh_maybe_free(k);
}

void kpirefresh_close(struct kpirefresh *k)
{
    if (k == NULL || k->closing)
        return;
    k->closing = 1;
    childrun_pool_kill(&k->pool);
    uv_close((uv_handle_t *)&k->timer, kpirefresh_timer_closed);
}
