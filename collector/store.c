/* Writing check state and its events into Redis; see store.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "histo.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "nines/wire.h"
#include "rcmd.h"
#include "store.h"

/* Latency counts of the batch, open addressing on (check, day, bucket). */
#define STORE_LAT_SLOTS 8192            /* a power of two */
#define STORE_LAT_FLUSH (STORE_LAT_SLOTS / 2)

struct store_lat {
    const char *check;                  /* NULL: free; compared by address */
    int64_t *expiry_day;
    int64_t day;                        /* UTC days since the epoch */
    int64_t count;
    int bucket;
};

struct store {
    struct rcmd cmd;
    char *doc;                          /* state document scratch */
    size_t doc_cap;
    struct store_lat *lat;              /* STORE_LAT_SLOTS, allocated on first use */
    uint32_t *lat_used;                 /* indices of the slots in use */
    size_t nlat;
    int64_t date_day;                   /* day whose "YYYYMMDD" is in date */
    char date[40];
};

struct store *store_new(void)
{
    struct store *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return NULL;
    rcmd_init(&st->cmd);
    st->date_day = INT64_MIN;
    return st;
}

void store_free(struct store *st)
{
    if (st == NULL)
        return;
    rcmd_close(&st->cmd);
    free(st->doc);
    free(st->lat);
    free(st->lat_used);
    free(st);
}

void store_incident_id(const char *check, int64_t start_ms, char *out, size_t len)
{
    snprintf(out, len, "%s@%" PRId64, check, start_ms);
}

void store_latency_key(const char *check, int64_t ms, char *out, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, len, "%s%s:%04d%02d%02d", STORE_KEY_LATENCY, check, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
}

static void store_latency_send(struct store *st, redisAsyncContext *ac,
                               const struct store_lat *l)
{
    char key[sizeof(STORE_KEY_LATENCY) + NINES_ID_LEN + 16];
    size_t n = sizeof(STORE_KEY_LATENCY) - 1, idlen = strlen(l->check), datelen;

    if (idlen >= NINES_ID_LEN)
        idlen = NINES_ID_LEN - 1;
    if (st->date_day != l->day) {
        time_t secs = (time_t)(l->day * 86400);
        struct tm tm;

        gmtime_r(&secs, &tm);
        snprintf(st->date, sizeof(st->date), "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday);
        st->date_day = l->day;
    }
    memcpy(key, STORE_KEY_LATENCY, n);
    memcpy(key + n, l->check, idlen);
    n += idlen;
    key[n++] = ':';
    datelen = strlen(st->date);
    memcpy(key + n, st->date, datelen);
    n += datelen;
    rcmd_arg(&st->cmd, "HINCRBY", 7);
    rcmd_arg(&st->cmd, key, n);
    rcmd_int(&st->cmd, l->bucket);
    rcmd_int(&st->cmd, l->count);
    rcmd_send(&st->cmd, ac, NULL, NULL);
    /* the day's key gets its expiry once, not with every count */
    if (l->expiry_day != NULL && *l->expiry_day == l->day)
        return;
    rcmd_arg(&st->cmd, "EXPIRE", 6);
    rcmd_arg(&st->cmd, key, n);
    rcmd_int(&st->cmd, STORE_LATENCY_TTL_S);
    rcmd_arg(&st->cmd, "NX", 2);
    rcmd_send(&st->cmd, ac, NULL, NULL);
    if (l->expiry_day != NULL)
        *l->expiry_day = l->day;
}

void store_latency_flush(struct store *st, redisAsyncContext *ac)
{
    for (size_t i = 0; i < st->nlat; i++) {
        struct store_lat *l = &st->lat[st->lat_used[i]];

        store_latency_send(st, ac, l);
        l->check = NULL;
    }
    st->nlat = 0;
}

void store_latency(struct store *st, redisAsyncContext *ac, const char *check,
                   const struct nines_result *r, int64_t *expiry_day)
{
    struct store_lat one, *l;
    int64_t day;
    int bucket;
    uint64_t h;

    if (r->outcome != NINES_OUTCOME_OK || r->total_us < 0)
        return;
    day = r->start_ms / 86400000 - (r->start_ms % 86400000 < 0);
    bucket = nines_histo_bucket_index((uint64_t)r->total_us);
    if (st->lat == NULL) {
        st->lat = calloc(STORE_LAT_SLOTS, sizeof(*st->lat));
        st->lat_used = malloc(STORE_LAT_FLUSH * sizeof(*st->lat_used));
        if (st->lat == NULL || st->lat_used == NULL) {
            free(st->lat);
            free(st->lat_used);
            st->lat = NULL;
            st->lat_used = NULL;
            /* no memory to sum: send this one count as it is */
            one = (struct store_lat){ check, expiry_day, day, 1, bucket };
            store_latency_send(st, ac, &one);
            return;
        }
    }
    h = ((uint64_t)(uintptr_t)check >> 3) * 0x9e3779b97f4a7c15ULL ^
        (uint64_t)day * 0xbf58476d1ce4e5b9ULL ^ (uint64_t)bucket;
    h ^= h >> 29;
    for (size_t i = h & (STORE_LAT_SLOTS - 1);; i = (i + 1) & (STORE_LAT_SLOTS - 1)) {
        l = &st->lat[i];
        if (l->check == check && l->day == day && l->bucket == bucket) {
            l->count++;
            return;
        }
        if (l->check == NULL) {
            *l = (struct store_lat){ check, expiry_day, day, 1, bucket };
            st->lat_used[st->nlat++] = (uint32_t)i;
            break;
        }
    }
    if (st->nlat >= STORE_LAT_FLUSH)
        store_latency_flush(st, ac);    /* still inside the caller's MULTI */
}

/* Whether field f must be sent: every field without a valid w. */
#define STORE_CHANGED(w, f, v) ((w) == NULL || !(w)->valid || (w)->f != (v))
#define STORE_CHANGED_STR(w, f, v) ((w) == NULL || !(w)->valid || strcmp((w)->f, (v)) != 0)

int store_state(struct store *st, redisAsyncContext *ac, const struct check_state *s,
                struct store_written *w)
{
    struct rcmd *b = &st->cmd;
    char key[sizeof(NINES_KEY_STATE_PREFIX) + NINES_ID_LEN];
    size_t doclen = 0, n = sizeof(NINES_KEY_STATE_PREFIX) - 1, idlen = strlen(s->id);

    if (state_encode_to(s, &st->doc, &st->doc_cap, &doclen) != 0) {
        log_error("state_encode_failed", "check=%s", s->id);
        return -1;
    }
    if (idlen >= NINES_ID_LEN)
        idlen = NINES_ID_LEN - 1;
    memcpy(key, NINES_KEY_STATE_PREFIX, n);
    memcpy(key + n, s->id, idlen);
    rcmd_arg(b, "HSET", 4);
    rcmd_arg(b, key, n + idlen);
    if (STORE_CHANGED(w, state, s->state)) {
        rcmd_arg(b, "state", 5);
        rcmd_str(b, state_name(s->state));
    }
    if (STORE_CHANGED(w, since_ms, s->since_ms)) {
        rcmd_arg(b, "since_ms", 8);
        rcmd_int(b, s->since_ms);
    }
    if (STORE_CHANGED(w, last_ms, s->last_ms)) {
        rcmd_arg(b, "last_ms", 7);
        rcmd_int(b, s->last_ms);
    }
    if (STORE_CHANGED(w, last_total_us, s->last_total_us)) {
        rcmd_arg(b, "last_total_us", 13);
        rcmd_int(b, s->last_total_us);
    }
    if (STORE_CHANGED(w, last_code, s->last_code)) {
        rcmd_arg(b, "last_code", 9);
        rcmd_int(b, s->last_code);
    }
    if (STORE_CHANGED(w, last_outcome, s->last_outcome)) {
        rcmd_arg(b, "last_outcome", 12);
        rcmd_str(b, nines_outcome_name(s->last_outcome));
    }
    if (STORE_CHANGED_STR(w, last_location, s->last_location)) {
        rcmd_arg(b, "last_location", 13);
        rcmd_str(b, s->last_location);
    }
    if (STORE_CHANGED(w, last_error_ms, s->last_error_ms)) {
        rcmd_arg(b, "last_error_ms", 13);
        rcmd_int(b, s->last_error_ms);
    }
    if (STORE_CHANGED_STR(w, last_error_reason, s->last_error_reason)) {
        rcmd_arg(b, "last_error_reason", 17);
        rcmd_str(b, s->last_error_reason);
    }
    if (STORE_CHANGED_STR(w, last_error_message, s->last_error_message)) {
        rcmd_arg(b, "last_error_message", 18);
        rcmd_str(b, s->last_error_message);
    }
    if (STORE_CHANGED(w, results, s->results)) {
        rcmd_arg(b, "results", 7);
        rcmd_int(b, (int64_t)s->results);
    }
    rcmd_arg(b, "doc", 3);
    rcmd_arg(b, st->doc, doclen);
    if (rcmd_send(b, ac, NULL, NULL) != REDIS_OK) {
        log_error("state_write_failed", "check=%s error=\"cannot queue the command\"", s->id);
        if (w != NULL)
            w->valid = 0;
        return -1;
    }
    if (w != NULL) {
        w->valid = 1;
        w->state = s->state;
        w->since_ms = s->since_ms;
        w->last_ms = s->last_ms;
        w->last_total_us = s->last_total_us;
        w->last_code = s->last_code;
        w->last_outcome = s->last_outcome;
        w->last_error_ms = s->last_error_ms;
        w->results = s->results;
        memcpy(w->last_location, s->last_location, sizeof(w->last_location));
        memcpy(w->last_error_reason, s->last_error_reason, sizeof(w->last_error_reason));
        memcpy(w->last_error_message, s->last_error_message, sizeof(w->last_error_message));
    }
    return 0;
}

static void store_incident_open(redisAsyncContext *ac, const struct check_state *s,
                                const char *id, int64_t now_ms)
{
    const struct incident_state *in = &s->incident;
    char start[24], when[32], msg[300];

    snprintf(start, sizeof(start), "%" PRId64, in->start_ms);
    redisAsyncCommand(ac, NULL, NULL,
                      "HSET %s%s id %s check %s start_ms %s end_ms 0 reason %s message %s "
                      "locations %s",
                      STORE_KEY_INCIDENT, id, id, s->id, start, in->reason, in->message,
                      in->locations);
    redisAsyncCommand(ac, NULL, NULL, "HSETNX %s%s detected_ms %" PRId64, STORE_KEY_INCIDENT, id,
                      now_ms);
    redisAsyncCommand(ac, NULL, NULL, "ZADD %s %s %s", STORE_KEY_INCIDENTS, start, id);
    redisAsyncCommand(ac, NULL, NULL, "ZADD %s%s %s %s", STORE_KEY_CHECK_INCIDENTS, s->id,
                      start, id);
    redisAsyncCommand(ac, NULL, NULL, "SADD %s %s", STORE_KEY_OPEN_INCIDENTS, id);
    redisAsyncCommand(ac, NULL, NULL, "ZADD %s%s %s %s-0", STORE_KEY_DOWN, s->id, start, start);
    log_warn("incident_opened", "incident=%s check=%s start=%s reason=%s message=%s locations=%s",
             id, s->id, nines_iso8601_ms(in->start_ms, when, sizeof(when)),
             in->reason[0] ? in->reason : "-", nines_log_quote(in->message, msg, sizeof(msg)),
             in->locations);
}

static void store_incident_close(redisAsyncContext *ac, const struct check_state *s,
                                 const char *id)
{
    const struct incident_state *in = &s->incident;
    char start[24], end[24], when[32];

    snprintf(start, sizeof(start), "%" PRId64, in->start_ms);
    snprintf(end, sizeof(end), "%" PRId64, in->end_ms);
    redisAsyncCommand(ac, NULL, NULL, "HSET %s%s end_ms %s locations %s", STORE_KEY_INCIDENT,
                      id, end, in->locations);
    redisAsyncCommand(ac, NULL, NULL, "SREM %s %s", STORE_KEY_OPEN_INCIDENTS, id);
    redisAsyncCommand(ac, NULL, NULL, "ZREM %s%s %s-0", STORE_KEY_DOWN, s->id, start);
    redisAsyncCommand(ac, NULL, NULL, "ZADD %s%s %s %s-%s", STORE_KEY_DOWN, s->id, start, start,
                      end);
    log_info("incident_closed", "incident=%s check=%s end=%s duration_ms=%" PRId64, id, s->id,
             nines_iso8601_ms(in->end_ms, when, sizeof(when)), in->end_ms - in->start_ms);
}

static void store_one_event(redisAsyncContext *ac, const struct check_state *s,
                            const struct state_event *e, int64_t now_ms)
{
    char id[NINES_ID_LEN + 32], a[32], b[32], field[2 * NINES_ID_LEN + 2];

    store_incident_id(s->id, s->incident.start_ms, id, sizeof(id));
    snprintf(field, sizeof(field), "%s/%s", s->id, e->location);
    switch (e->kind) {
    case EV_CHECK_STATE:
        log_info("check_state", "check=%s from=%s to=%s since=%s", s->id, state_name(e->from),
                 state_name(e->to), nines_iso8601_ms(e->t_ms, a, sizeof(a)));
        break;
    case EV_LOCATION_STATE:
        log_info("location_state", "check=%s location=%s from=%s to=%s since=%s", s->id,
                 e->location, state_name(e->from), state_name(e->to),
                 nines_iso8601_ms(e->t_ms, a, sizeof(a)));
        break;
    case EV_INCIDENT_OPEN:
        store_incident_open(ac, s, id, now_ms);
        break;
    case EV_INCIDENT_GROW:
        redisAsyncCommand(ac, NULL, NULL, "HSET %s%s locations %s", STORE_KEY_INCIDENT, id,
                          s->incident.locations);
        break;
    case EV_INCIDENT_CLOSE:
        store_incident_close(ac, s, id);
        break;
    case EV_GAP:
        snprintf(a, sizeof(a), "%" PRId64, e->t_ms);
        snprintf(b, sizeof(b), "%" PRId64 "-%" PRId64, e->t_ms, e->t2_ms);
        redisAsyncCommand(ac, NULL, NULL, "ZADD %s%s %s %s", STORE_KEY_GAPS, s->id, a, b);
        log_warn("no_data", "check=%s from=%s to_ms=%" PRId64, s->id,
                 nines_iso8601_ms(e->t_ms, a, sizeof(a)), e->t2_ms);
        break;
    case EV_LOCATION_SILENT:
        snprintf(a, sizeof(a), "%" PRId64, e->t_ms);
        redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", STORE_KEY_SILENT, field, a);
        log_warn("probe_silent", "check=%s location=%s last_result=%s", s->id, e->location,
                 nines_iso8601_ms(e->t_ms, b, sizeof(b)));
        break;
    case EV_LOCATION_BACK:
        redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", STORE_KEY_SILENT, field);
        log_info("probe_back", "check=%s location=%s", s->id, e->location);
        break;
    }
}

void store_events(redisAsyncContext *ac, const struct check_state *s,
                  const struct state_events *ev, int64_t now_ms)
{
    for (size_t i = 0; i < ev->n; i++)
        store_one_event(ac, s, &ev->ev[i], now_ms);
}
