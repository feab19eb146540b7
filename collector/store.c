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
#include "store.h"

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

void store_latency(redisAsyncContext *ac, const struct nines_result *r)
{
    char key[NINES_ID_LEN + 48], bucket[16];

    if (r->outcome != NINES_OUTCOME_OK || r->total_us < 0)
        return;
    store_latency_key(r->check_id, r->start_ms, key, sizeof(key));
    snprintf(bucket, sizeof(bucket), "%d", nines_histo_bucket_index((uint64_t)r->total_us));
    redisAsyncCommand(ac, NULL, NULL, "HINCRBY %s %s 1", key, bucket);
    redisAsyncCommand(ac, NULL, NULL, "EXPIRE %s %d NX", key, STORE_LATENCY_TTL_S);
}

int store_state(redisAsyncContext *ac, const struct check_state *s)
{
    char key[NINES_ID_LEN + 32], since[24], last[24], total[24], code[24], err_ms[24];
    char results[24];
    char *doc = state_encode(s);
    const char *argv[32];
    size_t n = 0;

    if (doc == NULL) {
        log_error("state_encode_failed", "check=%s", s->id);
        return -1;
    }
    snprintf(key, sizeof(key), "%s%s", NINES_KEY_STATE_PREFIX, s->id);
    snprintf(since, sizeof(since), "%" PRId64, s->since_ms);
    snprintf(last, sizeof(last), "%" PRId64, s->last_ms);
    snprintf(total, sizeof(total), "%" PRId64, s->last_total_us);
    snprintf(code, sizeof(code), "%d", s->last_code);
    snprintf(err_ms, sizeof(err_ms), "%" PRId64, s->last_error_ms);
    snprintf(results, sizeof(results), "%" PRIu64, s->results);
    argv[n++] = "HSET";
    argv[n++] = key;
    argv[n++] = "state";
    argv[n++] = state_name(s->state);
    argv[n++] = "since_ms";
    argv[n++] = since;
    argv[n++] = "last_ms";
    argv[n++] = last;
    argv[n++] = "last_total_us";
    argv[n++] = total;
    argv[n++] = "last_code";
    argv[n++] = code;
    argv[n++] = "last_outcome";
    argv[n++] = nines_outcome_name(s->last_outcome);
    argv[n++] = "last_location";
    argv[n++] = s->last_location;
    argv[n++] = "last_error_ms";
    argv[n++] = err_ms;
    argv[n++] = "last_error_reason";
    argv[n++] = s->last_error_reason;
    argv[n++] = "last_error_message";
    argv[n++] = s->last_error_message;
    argv[n++] = "results";
    argv[n++] = results;
    argv[n++] = "doc";
    argv[n++] = doc;
    redisAsyncCommandArgv(ac, NULL, NULL, (int)n, argv, NULL);
    free(doc);
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
