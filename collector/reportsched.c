/* Monthly reports on schedule; see reportsched.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "childrun.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "report/mail.h"
#include "reportsched.h"
#include "tz.h"

#define REPORTSCHED_EVERY_MS 10000
#define REPORTSCHED_BACKOFF_MAX_MS 3600000
#define REPORTSCHED_OUT_MAX (64 * 1024)   /* --send prints nothing to stdout */

struct reportsched {
    struct collector *c;
    uv_loop_t *loop;
    struct childrun_pool pool;    /* the `nines report --send` in flight, or none */
    int closing;
    char customer[NINES_ID_LEN];
    char month[16];
    int64_t next_ms;              /* next look */
    void (*closed)(void *);
    void *closed_arg;
};

int reportsched_due(const struct nines_tz *tz, int report_day, int report_hour, int64_t now_ms,
                    int *year, int *month)
{
    struct nines_tm tm;
    int64_t due;

    nines_tz_utc_to_local(tz, now_ms, &tm);
    due = nines_tz_local_to_utc_ms(tz, tm.year, tm.month, report_day, report_hour, 0, 0, 0);
    *year = tm.month == 1 ? tm.year - 1 : tm.year;
    *month = tm.month == 1 ? 12 : tm.month - 1;
    return now_ms >= due;
}

int64_t reportsched_backoff_ms(int attempts)
{
    int64_t ms = 15000;

    for (int i = 1; i < attempts && ms < REPORTSCHED_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < REPORTSCHED_BACKOFF_MAX_MS ? ms : REPORTSCHED_BACKOFF_MAX_MS;
}

/* Once closing and no child is left: the owner is told, s is freed. */
static void reportsched_maybe_free(struct reportsched *s)
{
    if (!s->closing || s->pool.running > 0)
        return;
    if (s->closed != NULL)
        s->closed(s->closed_arg);
    free(s);
}

static void reportsched_on_unspawned(struct childrun_pool *pool, void *arg)
{
    (void)pool;
    reportsched_maybe_free(arg);
}

struct reportsched *reportsched_new(uv_loop_t *loop, struct collector *c)
{
    struct reportsched *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->c = c;
    s->loop = loop;
    s->pool.unspawned = reportsched_on_unspawned;
    s->pool.unspawned_arg = s;
    return s;
}

/* What a finished run left to record: a copy, so that it outlives s. */
struct reportsched_note {
    char customer[NINES_ID_LEN];
    char month[16];
    int ok;
};

static void reportsched_on_state(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct reportsched_note *note = privdata;
    redisReply *r = reply;
    char key[NINES_ID_LEN + 32];
    int attempts = r != NULL && r->type == REDIS_REPLY_STRING ? atoi(r->str) : 1;
    int64_t next = nines_wall_ms() + reportsched_backoff_ms(attempts);

    if (!note->ok && ac != NULL && r != NULL) {
        snprintf(key, sizeof(key), "nines:report:%s:%s", note->customer, note->month);
        redisAsyncCommand(ac, NULL, NULL, "HSET %s next_ms %" PRId64, key, next);
        log_warn("report_delivery_failed", "customer=%s month=%s attempts=%d retry_in_s=%" PRId64,
                 note->customer, note->month, attempts, (next - nines_wall_ms()) / 1000);
    }
    free(note);
}

static void reportsched_on_done(const struct childrun_result *res, void *arg)
{
    struct reportsched *s = arg;
    /* while closing, the collector (and its connections) may be gone */
    redisAsyncContext *ac = s->closing ? NULL : collector_redis(s->c);
    struct reportsched_note *note = ac != NULL ? calloc(1, sizeof(*note)) : NULL;
    char key[NINES_ID_LEN + 32];

    log_info("report_run_done", "customer=%s month=%s exit=%" PRId64 " signal=%d", s->customer,
             s->month, res->exit_status, res->term_signal);
    if (note != NULL) {
        snprintf(note->customer, sizeof(note->customer), "%s", s->customer);
        snprintf(note->month, sizeof(note->month), "%s", s->month);
        /* its outcome is its exit: --send writes nothing to stdout */
        note->ok = res->exit_status == 0 && res->term_signal == 0;
        snprintf(key, sizeof(key), "nines:report:%s:%s", s->customer, s->month);
        redisAsyncCommand(ac, reportsched_on_state, note, "HGET %s attempts", key);
    }
    reportsched_maybe_free(s);
}

static void reportsched_spawn(struct reportsched *s, const char *customer, int year, int month)
{
    const char *cfg = collector_config(s->c)->path;
    char m[16];
    const char *args[] = { "report", "--send", "--customer", customer, "--month", m, "-c", cfg,
                           NULL };
    struct nines_err err = { 0 };

    snprintf(m, sizeof(m), "%04d-%02d", year, month);
    snprintf(s->customer, sizeof(s->customer), "%s", customer);
    snprintf(s->month, sizeof(s->month), "%s", m);
    if (childrun_start(&s->pool, s->loop, collector_config(s->c)->collector.data_dir, args,
                       REPORTSCHED_OUT_MAX, reportsched_on_done, s, &err) != 0) {
        log_error("report_spawn_failed", "customer=%s month=%s error=\"%s\"", customer, m,
                  err.msg);
        return;
    }
    log_info("report_run", "customer=%s month=%s", customer, m);
}

struct reportsched_look {
    struct reportsched *s;
    char customer[NINES_ID_LEN];
    int year, month;
};

static void reportsched_on_look(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct reportsched_look *l = privdata;
    redisReply *r = reply;
    const char *status = NULL;
    int64_t next = 0;

    (void)ac;
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        if (strcmp(r->element[i]->str, "status") == 0)
            status = r->element[i + 1]->str;
        else if (strcmp(r->element[i]->str, "next_ms") == 0)
            next = strtoll(r->element[i + 1]->str, NULL, 10);
    }
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && l->s->pool.running == 0 && !l->s->closing &&
        (status == NULL || strcmp(status, "sent") != 0) && nines_wall_ms() >= next)
        reportsched_spawn(l->s, l->customer, l->year, l->month);
    free(l);
}

void reportsched_tick(struct reportsched *s, int64_t now_ms)
{
    const struct nines_config *cfg;
    redisAsyncContext *ac;

    if (s == NULL || s->pool.running > 0 || s->closing || now_ms < s->next_ms ||
        (ac = collector_redis(s->c)) == NULL)
        return;
    s->next_ms = now_ms + REPORTSCHED_EVERY_MS;
    cfg = collector_config(s->c);
    if (report_mail_receiver(cfg) == NULL || cfg->path == NULL)
        return;                   /* no email receiver: nowhere to send reports */
    for (size_t i = 0; i < cfg->customers_count; i++) {
        const struct nines_customer_cfg *cu = &cfg->customers[i];
        const struct nines_tz *tz;
        struct nines_err err = { 0 };
        struct reportsched_look *l;
        int y, m;

        if (cu->contacts == NULL ||
            (tz = nines_tzcache_get(collector_tzcache(s->c), cu->timezone, &err)) == NULL ||
            !reportsched_due(tz, cu->report_day, cu->report_hour, now_ms, &y, &m) ||
            (l = calloc(1, sizeof(*l))) == NULL)
            continue;
        l->s = s;
        l->year = y;
        l->month = m;
        snprintf(l->customer, sizeof(l->customer), "%s", cu->id);
        /* one run at a time: the first customer due is looked at first; the
         * others on later ticks */
        redisAsyncCommand(ac, reportsched_on_look, l, "HGETALL nines:report:%s:%04d-%02d", cu->id,
                          y, m);
    }
}

void reportsched_close(struct reportsched *s, void (*closed)(void *), void *arg)
{
    if (s == NULL) {
        if (closed != NULL)
            closed(arg);
        return;
    }
    s->closing = 1;
    s->closed = closed;
    s->closed_arg = arg;
    childrun_pool_kill(&s->pool);   /* its done (or unspawned) frees s */
    reportsched_maybe_free(s);
}
