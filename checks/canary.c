/*
 * What the two canary engines share: the env's canary driver (the runs in
 * flight, cancelled by check_env_close, and the newest acknowledged write of
 * each check, so a run whose write fails still reports it), the facts, the
 * stored value's format and the secret.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "nines/config.h"
#include "nines/result.h"

struct canary_memory {
    char id[NINES_ID_LEN];
    int64_t seq;
    int64_t ts;
    uint64_t used; /* driver tick of the last use: the oldest is replaced when full */
};

struct canary_driver {
    struct canary_run *head;
    int closed;
    uint64_t tick;
    size_t count;
    struct canary_memory mem[CANARY_REMEMBER_MAX];
};

static void canary_driver_close(void *data)
{
    struct canary_driver *d = data;
    struct canary_run *next;

    d->closed = 1;
    /* cancel may make a run leave the list: walk with next saved */
    for (struct canary_run *r = d->head; r; r = next) {
        next = r->next;
        r->cancel(r);
    }
    if (!d->head)
        free(d);
}

struct canary_driver *canary_driver_get(struct check_env *env)
{
    struct check_driver *slot = &env->driver[CHECK_DRIVER_CANARY];
    struct canary_driver *d = slot->data;

    if (d)
        return d;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    slot->data = d;
    slot->close = canary_driver_close;
    return d;
}

void canary_driver_join(struct canary_driver *d, struct canary_run *run)
{
    run->driver = d;
    run->prev = NULL;
    run->next = d->head;
    if (d->head)
        d->head->prev = run;
    d->head = run;
}

void canary_driver_leave(struct canary_run *run)
{
    struct canary_driver *d = run->driver;

    if (!d)
        return;
    if (run->prev)
        run->prev->next = run->next;
    else
        d->head = run->next;
    if (run->next)
        run->next->prev = run->prev;
    run->driver = NULL;
    if (d->closed && !d->head)
        free(d);
}

static struct canary_memory *canary_find(struct canary_driver *d, const char *id)
{
    for (size_t i = 0; i < d->count; i++) {
        if (strcmp(d->mem[i].id, id) == 0)
            return &d->mem[i];
    }
    return NULL;
}

int canary_recall(struct canary_driver *d, const char *id, int64_t *seq, int64_t *ts)
{
    struct canary_memory *m = d ? canary_find(d, id) : NULL;

    if (!m)
        return -1;
    m->used = ++d->tick;
    *seq = m->seq;
    *ts = m->ts;
    return 0;
}

void canary_remember(struct canary_driver *d, const char *id, int64_t seq, int64_t ts)
{
    struct canary_memory *m = d ? canary_find(d, id) : NULL;

    if (!d)
        return;
    if (!m && d->count < CANARY_REMEMBER_MAX) {
        m = &d->mem[d->count++];
    } else if (!m) {
        m = &d->mem[0];
        for (size_t i = 1; i < d->count; i++) {
            if (d->mem[i].used < m->used)
                m = &d->mem[i];
        }
    }
    snprintf(m->id, sizeof(m->id), "%s", id);
    m->seq = seq;
    m->ts = ts;
    m->used = ++d->tick;
}

void canary_facts_init(struct canary_facts *f)
{
    f->found_seq = f->found_ts = -1;
    f->acked_seq = f->acked_ts = -1;
    f->read_seq = f->read_ts = -1;
    f->replica_seq = f->replica_ts = -1;
    f->replica_given = 0;
}

static void canary_facts_put(json_t *o, const char *name, int64_t v)
{
    if (v >= 0)
        json_object_set_new(o, name, json_integer((json_int_t)v));
}

/* lag: from the replica when one was read, else from the read side. */
static int64_t canary_lag_ms(const struct canary_facts *f, int64_t start_ms)
{
    int64_t ts = f->replica_ts >= 0 ? f->replica_ts : f->read_ts;

    if (ts < 0 || (f->replica_given && f->replica_ts < 0))
        return -1;
    return start_ms > ts ? start_ms - ts : 0; /* this run's own write: 0 */
}

void canary_facts_write(const struct canary_facts *f, struct nines_result *r)
{
    json_t *root = json_object();
    json_t *o = json_object();
    char *text;

    r->facts[0] = '\0';
    if (!root || !o || json_object_set_new(root, "canary", o) != 0) {
        json_decref(root);
        return;
    }
    canary_facts_put(o, "found_seq", f->found_seq);
    canary_facts_put(o, "found_ts", f->found_ts);
    canary_facts_put(o, "acked_seq", f->acked_seq);
    canary_facts_put(o, "acked_ts", f->acked_ts);
    canary_facts_put(o, "read_seq", f->read_seq);
    canary_facts_put(o, "read_ts", f->read_ts);
    canary_facts_put(o, "replica_seq", f->replica_seq);
    canary_facts_put(o, "replica_ts", f->replica_ts);
    canary_facts_put(o, "lag_ms", canary_lag_ms(f, r->start_ms));
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text && strlen(text) < sizeof(r->facts))
        memcpy(r->facts, text, strlen(text) + 1);
    free(text);
    json_decref(root);
}

/* A decimal number >= 0 of at most 18 digits filling s[0..n). */
static int canary_number(const char *s, size_t n, int64_t *v)
{
    int64_t x = 0;

    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int canary_value_parse(const char *s, size_t len, int64_t *seq, int64_t *ts)
{
    const char *colon = memchr(s, ':', len);

    if (!colon)
        return -1;
    if (canary_number(s, (size_t)(colon - s), seq) < 0
        || canary_number(colon + 1, len - (size_t)(colon - s) - 1, ts) < 0)
        return -1;
    return 0;
}

int canary_secret_read(const char *env_name, const char *file, char *buf, size_t size,
                       char *why, size_t why_len)
{
    struct nines_err err = { 0 };

    if ((env_name == NULL || env_name[0] == '\0') && (file == NULL || file[0] == '\0')) {
        buf[0] = '\0';
        return 1;
    }
    /* the configuration names one source at most (secret_env, secret_file) */
    if (nines_secret_read(file != NULL && file[0] != '\0' ? NULL : env_name, file, buf, size,
                          &err) != 0) {
        snprintf(why, why_len, "secret unavailable: %s", err.msg);
        return -1;
    }
    return 0;
}

void canary_failv(struct nines_result *r, int *failed, enum nines_outcome outcome,
                  const char *reason, const char *fmt, va_list ap)
{
    size_t n = strlen(r->message);

    if (*failed && n + 3 >= sizeof(r->message))
        return;
    if (*failed) {
        memcpy(r->message + n, "; ", 3);
        n += 2;
    } else {
        *failed = 1;
        r->outcome = outcome;
        snprintf(r->reason, sizeof(r->reason), "%s", reason);
        n = 0;
    }
    vsnprintf(r->message + n, sizeof(r->message) - n, fmt, ap);
}
