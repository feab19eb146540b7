/* Monthly reports on schedule; see reportsched.h. */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "nines/clock.h"
#include "nines/log.h"
#include "report/mail.h"
#include "reportsched.h"
#include "tz.h"

#define REPORTSCHED_EVERY_MS 10000
#define REPORTSCHED_BACKOFF_MAX_MS 3600000

struct reportsched {
    struct collector *c;
    uv_loop_t *loop;
    uv_process_t proc;
    int running;                  /* a `nines report --send` in flight */
    int closing;
    char customer[NINES_ID_LEN];
    char month[16];
    int64_t next_ms;              /* next look */
    char nines_bin[PATH_MAX];
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

struct reportsched *reportsched_new(uv_loop_t *loop, struct collector *c)
{
    struct reportsched *s = calloc(1, sizeof(*s));
    char self[PATH_MAX];
    ssize_t n;

    if (s == NULL)
        return NULL;
    s->c = c;
    s->loop = loop;
    /* `nines` lives next to nines-collector */
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        if (strrchr(self, '/') != NULL)
            *strrchr(self, '/') = '\0';
        snprintf(s->nines_bin, sizeof(s->nines_bin), "%.*s/nines", PATH_MAX - 8, self);
    } else {
        snprintf(s->nines_bin, sizeof(s->nines_bin), "nines");
    }
    return s;
}

static void reportsched_on_closed(uv_handle_t *h)
{
    struct reportsched *s = h->data;

    s->running = 0;
    if (s->closing) {
        if (s->closed != NULL)
            s->closed(s->closed_arg);
        free(s);
    }
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

static void reportsched_on_exit(uv_process_t *p, int64_t status, int sig)
{
    struct reportsched *s = p->data;
    /* while closing, the collector (and its connections) may be gone */
    redisAsyncContext *ac = s->closing ? NULL : collector_redis(s->c);
    struct reportsched_note *note = ac != NULL ? calloc(1, sizeof(*note)) : NULL;
    char key[NINES_ID_LEN + 32];

    log_info("report_run_done", "customer=%s month=%s exit=%" PRId64 " signal=%d", s->customer,
             s->month, status, sig);
    if (note != NULL) {
        snprintf(note->customer, sizeof(note->customer), "%s", s->customer);
        snprintf(note->month, sizeof(note->month), "%s", s->month);
        note->ok = status == 0 && sig == 0;
        snprintf(key, sizeof(key), "nines:report:%s:%s", s->customer, s->month);
        redisAsyncCommand(ac, reportsched_on_state, note, "HGET %s attempts", key);
    } else {
        free(note);
    }
    uv_close((uv_handle_t *)p, reportsched_on_closed);
}

static void reportsched_spawn(struct reportsched *s, const char *customer, int year, int month)
{
    const char *cfg = collector_config(s->c)->path;
    char m[16];
    char *args[] = { s->nines_bin, "report", "--send", "--customer", (char *)customer,
                     "--month", m, "-c", (char *)cfg, NULL };
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    int rc;

    snprintf(m, sizeof(m), "%04d-%02d", year, month);
    memset(&o, 0, sizeof(o));
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_INHERIT_FD;
    io[1].data.fd = 2;            /* its output joins the collector's log */
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = 2;
    o.file = s->nines_bin;
    o.args = args;
    o.exit_cb = reportsched_on_exit;
    o.stdio = io;
    o.stdio_count = 3;
    s->proc.data = s;
    snprintf(s->customer, sizeof(s->customer), "%s", customer);
    snprintf(s->month, sizeof(s->month), "%s", m);
    rc = uv_spawn(s->loop, &s->proc, &o);
    if (rc != 0) {
        log_error("report_spawn_failed", "binary=%s error=\"%s\"", s->nines_bin, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->proc, reportsched_on_closed);
        s->running = 1;           /* until the close callback */
        return;
    }
    s->running = 1;
    log_info("report_run", "customer=%s month=%s pid=%d", customer, m, s->proc.pid);
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
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && !l->s->running && !l->s->closing &&
        (status == NULL || strcmp(status, "sent") != 0) && nines_wall_ms() >= next)
        reportsched_spawn(l->s, l->customer, l->year, l->month);
    free(l);
}

void reportsched_tick(struct reportsched *s, int64_t now_ms)
{
    const struct nines_config *cfg;
    redisAsyncContext *ac;

    if (s == NULL || s->running || s->closing || now_ms < s->next_ms ||
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
    if (s->running) {
        uv_process_kill(&s->proc, SIGTERM);
        return;                   /* freed when the handle closes */
    }
    if (closed != NULL)
        closed(arg);
    free(s);
}
