/* Disaster-recovery drills; see drill.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "drill.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "tz.h"

#define DRILL_TIMELINE_MAX 200
#define DRILL_OVERDUE_EVERY_MS 60000

struct drill {
    char id[NINES_ID_LEN + 32];
    char service[NINES_ID_LEN];
    char scenario[256];
    char by[64];
    int expect_outage;
    int64_t t0_ms;
    int64_t outage_ms;             /* first failing result at or after T0; 0 = none */
    char outage_check[NINES_ID_LEN];
    char outage_reason[NINES_REASON_LEN];
    int64_t detected_ms;           /* first incident opening; 0 = none */
    int64_t recovered_ms;          /* the service confirmed UP again */
    int64_t first_ok_ms;           /* an unconfirmed failure: the next good result */
    int have_before;               /* the canary's newest acknowledged write before */
    int64_t acked_seq, acked_ts;
    int have_after;                /* what the store held after recovery */
    int64_t found_seq, found_ts, resumed_ms;
    json_t *timeline;
};

struct drills {
    struct collector *c;
    struct alerter *a;
    struct drill *run;
    size_t nrun;
    int restored, restoring;
    json_t *passed;                /* service -> T0 of the last passed drill */
    json_t *latest;                /* service -> the newest ended drill */
    json_t *lag;                   /* canary check -> replication lag (ms) */
    json_t *sched;                 /* service -> the scheduled slot last started */
    int64_t next_overdue_ms;
};

struct drills *drills_new(struct collector *c, struct alerter *a)
{
    struct drills *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->c = c;
    d->a = a;
    d->passed = json_object();
    d->latest = json_object();
    d->lag = json_object();
    d->sched = json_object();
    return d;
}

static void drill_clear(struct drill *dr)
{
    json_decref(dr->timeline);
    dr->timeline = NULL;
}

void drills_free(struct drills *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->nrun; i++)
        drill_clear(&d->run[i]);
    free(d->run);
    json_decref(d->passed);
    json_decref(d->latest);
    json_decref(d->lag);
    json_decref(d->sched);
    free(d);
}

static const struct nines_service_cfg *drill_service(struct drills *d, const char *id)
{
    const struct nines_config *cfg = collector_config(d->c);

    for (size_t i = 0; i < cfg->services_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

static int drill_has_check(const struct nines_service_cfg *svc, const char *check)
{
    for (size_t i = 0; svc != NULL && i < svc->checks_count; i++)
        if (strcmp(svc->checks[i], check) == 0)
            return 1;
    return 0;
}

/* Whether check gives this service's RPO: listed as a canary, or (none
 * listed) any check of the service whose results carry canary facts. */
static int drill_is_canary(const struct nines_service_cfg *svc, const char *check)
{
    if (svc->canaries_count == 0)
        return drill_has_check(svc, check);
    for (size_t i = 0; i < svc->canaries_count; i++)
        if (strcmp(svc->canaries[i], check) == 0)
            return 1;
    return 0;
}

static void drill_note(struct drill *dr, int64_t t_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void drill_note(struct drill *dr, int64_t t_ms, const char *fmt, ...)
{
    char text[400];
    va_list ap;

    if (dr->timeline == NULL)
        dr->timeline = json_array();
    if (json_array_size(dr->timeline) >= DRILL_TIMELINE_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_array_append_new(dr->timeline, json_pack("{s:I,s:s}", "t_ms", (json_int_t)t_ms,
                                                  "event", text));
}

/* ---- documents ------------------------------------------------------------ */

static json_t *drill_ms_or_null(int64_t v)
{
    return v != 0 ? json_integer(v) : json_null();
}

static json_t *drill_doc(const struct drill *dr)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:s}", "id", dr->id, "service", dr->service,
                          "scenario", dr->scenario, "started_by", dr->by, "expect_outage",
                          dr->expect_outage, "t0_ms", (json_int_t)dr->t0_ms, "state", "running");

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "outage_start_ms", drill_ms_or_null(dr->outage_ms));
    json_object_set_new(o, "outage_check", json_string(dr->outage_check));
    json_object_set_new(o, "outage_reason", json_string(dr->outage_reason));
    json_object_set_new(o, "detected_ms", drill_ms_or_null(dr->detected_ms));
    json_object_set_new(o, "recovered_ms", drill_ms_or_null(dr->recovered_ms));
    json_object_set_new(o, "first_ok_ms", drill_ms_or_null(dr->first_ok_ms));
    json_object_set_new(o, "canary_resumed_ms", drill_ms_or_null(dr->resumed_ms));
    if (dr->have_before)
        json_object_set_new(o, "acked_before", json_pack("{s:I,s:I}", "seq",
                                                         (json_int_t)dr->acked_seq, "ts_ms",
                                                         (json_int_t)dr->acked_ts));
    if (dr->have_after)
        json_object_set_new(o, "found_after", json_pack("{s:I,s:I}", "seq",
                                                        (json_int_t)dr->found_seq, "ts_ms",
                                                        (json_int_t)dr->found_ts));
    json_object_set_new(o, "timeline", dr->timeline ? json_incref(dr->timeline) : json_array());
    return o;
}

static int64_t drill_int(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void drill_str(json_t *o, const char *k, char *dst, size_t len)
{
    const char *v = json_string_value(json_object_get(o, k));

    snprintf(dst, len, "%s", v != NULL ? v : "");
}

static int drill_from_doc(json_t *o, struct drill *dr)
{
    memset(dr, 0, sizeof(*dr));
    if (!json_is_object(o))
        return -1;
    drill_str(o, "id", dr->id, sizeof(dr->id));
    drill_str(o, "service", dr->service, sizeof(dr->service));
    drill_str(o, "scenario", dr->scenario, sizeof(dr->scenario));
    drill_str(o, "started_by", dr->by, sizeof(dr->by));
    drill_str(o, "outage_check", dr->outage_check, sizeof(dr->outage_check));
    drill_str(o, "outage_reason", dr->outage_reason, sizeof(dr->outage_reason));
    dr->expect_outage = json_is_true(json_object_get(o, "expect_outage"));
    dr->t0_ms = drill_int(o, "t0_ms");
    dr->outage_ms = drill_int(o, "outage_start_ms");
    dr->detected_ms = drill_int(o, "detected_ms");
    dr->recovered_ms = drill_int(o, "recovered_ms");
    dr->first_ok_ms = drill_int(o, "first_ok_ms");
    dr->resumed_ms = drill_int(o, "canary_resumed_ms");
    if (json_is_object(json_object_get(o, "acked_before"))) {
        dr->have_before = 1;
        dr->acked_seq = drill_int(json_object_get(o, "acked_before"), "seq");
        dr->acked_ts = drill_int(json_object_get(o, "acked_before"), "ts_ms");
    }
    if (json_is_object(json_object_get(o, "found_after"))) {
        dr->have_after = 1;
        dr->found_seq = drill_int(json_object_get(o, "found_after"), "seq");
        dr->found_ts = drill_int(json_object_get(o, "found_after"), "ts_ms");
    }
    dr->timeline = json_incref(json_object_get(o, "timeline"));
    if (!json_is_array(dr->timeline)) {
        json_decref(dr->timeline);
        dr->timeline = json_array();
    }
    return dr->id[0] != '\0' && dr->service[0] != '\0' ? 0 : -1;
}

static void drill_save_running(redisAsyncContext *ac, const struct drill *dr)
{
    json_t *o = drill_doc(dr);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    if (ac != NULL && text != NULL)
        redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", DRILL_KEY_RUNNING, dr->id, text);
    free(text);
    json_decref(o);
}

/* ---- alerts ----------------------------------------------------------------- */

static void drill_alert(struct drills *d, redisAsyncContext *ac, const char *what,
                        const char *rule, const char *severity, const char *service,
                        const char *check, int64_t start_ms, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static void drill_alert(struct drills *d, redisAsyncContext *ac, const char *what,
                        const char *rule, const char *severity, const char *service,
                        const char *check, int64_t start_ms, const char *fmt, ...)
{
    struct notification n;
    va_list ap;

    if (d->a == NULL || alerter_firing(d->a, what))
        return;
    memset(&n, 0, sizeof(n));
    snprintf(n.rule, sizeof(n.rule), "%s", rule);
    snprintf(n.severity, sizeof(n.severity), "%s", severity);
    snprintf(n.service, sizeof(n.service), "%s", service ? service : "");
    snprintf(n.check, sizeof(n.check), "%s", check ? check : "");
    snprintf(n.reason, sizeof(n.reason), "%s", rule);
    snprintf(n.key, sizeof(n.key), "%.150s@%" PRId64, what, start_ms);
    n.start_ms = start_ms;
    va_start(ap, fmt);
    vsnprintf(n.summary, sizeof(n.summary), fmt, ap);
    va_end(ap);
    alerter_fire(d->a, ac, what, &n, nines_wall_ms());
}

static void drill_unalert(struct drills *d, redisAsyncContext *ac, const char *what,
                          int64_t end_ms)
{
    if (d->a != NULL)
        alerter_clear(d->a, ac, what, end_ms, nines_wall_ms());
}

/* ---- the end of a drill: figures and verdict ------------------------------- */

static void drill_verdict(const struct drill *dr, const struct nines_service_cfg *svc,
                          const char *end_reason, json_t *doc)
{
    int64_t rto = -1, rpo = -1, lost = 0;
    int rto_ok, rpo_ok, passed;
    char verdict[512];
    size_t used = 0;

    if (dr->outage_ms == 0) {
        rto = rpo = 0;
    } else {
        if (dr->recovered_ms > 0)
            rto = dr->recovered_ms - dr->outage_ms;
        if (dr->have_before && dr->have_after) {
            lost = dr->acked_seq - dr->found_seq;
            rpo = lost > 0 ? dr->acked_ts - dr->found_ts : 0;
            if (lost < 0)
                lost = 0;
        }
    }
    rto_ok = svc == NULL || svc->rto_ms == 0 ? rto >= 0 || dr->outage_ms == 0
                                             : rto >= 0 && rto <= svc->rto_ms;
    rpo_ok = svc == NULL || svc->rpo_ms == 0 ? 1 : rpo >= 0 && rpo <= svc->rpo_ms;
    passed = rto_ok && rpo_ok && !(dr->expect_outage && dr->outage_ms == 0);
    json_object_set_new(doc, "state", json_string(passed ? "passed" : "failed"));
    json_object_set_new(doc, "end_reason", json_string(end_reason));
    json_object_set_new(doc, "rto_ms", rto >= 0 ? json_integer(rto) : json_null());
    json_object_set_new(doc, "rpo_ms", rpo >= 0 ? json_integer(rpo) : json_null());
    json_object_set_new(doc, "lost_writes", json_integer(lost));
    json_object_set_new(doc, "rto_objective_ms",
                        svc && svc->rto_ms ? json_integer(svc->rto_ms) : json_null());
    json_object_set_new(doc, "rpo_objective_ms",
                        svc && svc->rpo_ms ? json_integer(svc->rpo_ms) : json_null());
    json_object_set_new(doc, "rto_margin_ms", svc && svc->rto_ms && rto >= 0
                                                  ? json_integer(svc->rto_ms - rto)
                                                  : json_null());
    json_object_set_new(doc, "rpo_margin_ms", svc && svc->rpo_ms && rpo >= 0
                                                  ? json_integer(svc->rpo_ms - rpo)
                                                  : json_null());
    if (dr->outage_ms == 0)
        used += (size_t)snprintf(verdict + used, sizeof(verdict) - used,
                                 "no outage observed: RTO 0, RPO 0");
    else
        used += (size_t)snprintf(verdict + used, sizeof(verdict) - used,
                                 "outage from %s (%s); RTO %s; RPO %s", dr->outage_check,
                                 dr->outage_reason[0] ? dr->outage_reason : "failed",
                                 rto >= 0 ? "measured" : "not measured (no recovery)",
                                 rpo >= 0 ? "measured" : "not measured (no canary before and "
                                                         "after)");
    if (dr->expect_outage && dr->outage_ms == 0)
        used += (size_t)snprintf(verdict + used, sizeof(verdict) - used,
                                 "; an outage was expected and none happened");
    if (!rto_ok && rto >= 0)
        used += (size_t)snprintf(verdict + used, sizeof(verdict) - used,
                                 "; RTO over its objective");
    if (!rpo_ok && rpo >= 0)
        used += (size_t)snprintf(verdict + used, sizeof(verdict) - used,
                                 "; RPO over its objective");
    snprintf(verdict + used, sizeof(verdict) - used, ": %s", passed ? "PASSED" : "FAILED");
    json_object_set_new(doc, "verdict", json_string(verdict));
}

/* Ends running drill k: its final document goes to Redis, alerts follow. */
static void drill_end(struct drills *d, size_t k, const char *reason, const char *by,
                      int64_t now)
{
    struct drill *dr = &d->run[k];
    const struct nines_service_cfg *svc = drill_service(d, dr->service);
    redisAsyncContext *ac = collector_redis(d->c);
    json_t *doc;
    char *text, what[NOTIFY_KEY_LEN];
    int passed;

    drill_note(dr, now, "drill ended (%s%s%s)", reason, by ? " by " : "", by ? by : "");
    doc = drill_doc(dr);
    if (doc == NULL)
        return;
    json_object_set_new(doc, "ended_ms", json_integer(now));
    json_object_set_new(doc, "stopped_by", json_string(by ? by : ""));
    drill_verdict(dr, svc, reason, doc);
    passed = strcmp(json_string_value(json_object_get(doc, "state")), "passed") == 0;
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (ac != NULL && text != NULL) {
        redisAsyncCommand(ac, NULL, NULL, "MULTI");
        redisAsyncCommand(ac, NULL, NULL, "SET %s%s %s", DRILL_KEY, dr->id, text);
        redisAsyncCommand(ac, NULL, NULL, "ZADD %s %" PRId64 " %s", DRILL_KEY_ALL, dr->t0_ms,
                          dr->id);
        redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", DRILL_KEY_RUNNING, dr->id);
        if (passed)
            redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %" PRId64, DRILL_KEY_PASSED,
                              dr->service, dr->t0_ms);
        redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", DRILL_KEY_LATEST, dr->service, text);
    }
    json_object_set(d->latest, dr->service, doc);
    log_info("drill_ended", "id=%s service=%s state=%s reason=%s verdict=\"%s\"", dr->id,
             dr->service, passed ? "passed" : "failed", reason,
             json_string_value(json_object_get(doc, "verdict")));
    snprintf(what, sizeof(what), "drill_failed/%s", dr->service);
    if (passed) {
        json_object_set_new(d->passed, dr->service, json_integer(dr->t0_ms));
        drill_unalert(d, ac, what, now);
        snprintf(what, sizeof(what), "drill_overdue/%s", dr->service);
        drill_unalert(d, ac, what, now);
    } else {
        drill_unalert(d, ac, what, now);   /* a new failure replaces an old one */
        drill_alert(d, ac, what, "drill_failed", "ticket", dr->service, NULL, dr->t0_ms,
                    "DR drill %.80s of %.60s failed: %.100s", dr->id, dr->service,
                    json_string_value(json_object_get(doc, "verdict")));
    }
    if (ac != NULL && text != NULL)
        redisAsyncCommand(ac, NULL, NULL, "EXEC");
    free(text);
    json_decref(doc);
    drill_clear(dr);
    memmove(dr, dr + 1, (d->nrun - k - 1) * sizeof(*dr));
    d->nrun--;
}

/* ---- starting and stopping ------------------------------------------------- */

int drills_start(struct drills *d, const char *service, const char *scenario,
                 int expect_outage, const char *by, int64_t t0_ms, char *id, size_t idlen,
                 struct nines_err *err)
{
    const struct nines_service_cfg *svc = drill_service(d, service);
    struct drill *grown, *dr;

    if (svc == NULL)
        return nines_err_set(err, NINES_EINVAL, "no service '%s'", service);
    for (size_t i = 0; i < d->nrun; i++)
        if (strcmp(d->run[i].service, service) == 0)
            return nines_err_set(err, NINES_ESTATE, "drill %s of '%s' is running",
                                 d->run[i].id, service);
    grown = realloc(d->run, (d->nrun + 1) * sizeof(*grown));
    if (grown == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    d->run = grown;
    dr = &d->run[d->nrun++];
    memset(dr, 0, sizeof(*dr));
    snprintf(dr->id, sizeof(dr->id), "%s@%" PRId64, service, t0_ms);
    snprintf(dr->service, sizeof(dr->service), "%s", service);
    snprintf(dr->scenario, sizeof(dr->scenario), "%s", scenario ? scenario : "");
    snprintf(dr->by, sizeof(dr->by), "%s", by && by[0] ? by : "unknown");
    dr->expect_outage = expect_outage;
    dr->t0_ms = t0_ms;
    drill_note(dr, t0_ms, "drill started by %s%s%s", dr->by, dr->scenario[0] ? ": " : "",
               dr->scenario);
    drill_save_running(collector_redis(d->c), dr);
    log_info("drill_started", "id=%s service=%s by=%s expect_outage=%d scenario=\"%s\"", dr->id,
             service, dr->by, expect_outage, dr->scenario);
    if (id != NULL)
        snprintf(id, idlen, "%s", dr->id);
    return 0;
}

int drills_stop(struct drills *d, const char *target, const char *by, int64_t now_ms)
{
    for (size_t i = 0; d != NULL && i < d->nrun; i++) {
        if (strcmp(d->run[i].id, target) == 0 || strcmp(d->run[i].service, target) == 0) {
            drill_end(d, i, "stopped", by, now_ms);
            return 0;
        }
    }
    return NINES_ENOTFOUND;
}

json_t *drills_running_json(const struct drills *d)
{
    json_t *arr = json_array();

    for (size_t i = 0; d != NULL && arr != NULL && i < d->nrun; i++)
        json_array_append_new(arr, drill_doc(&d->run[i]));
    return arr;
}

/* ---- results and events ------------------------------------------------------ */

/* The canary facts of a result, or NULL (new reference). */
static json_t *drill_canary(const struct nines_result *r)
{
    json_t *facts, *c;

    if (strstr(r->facts, "\"canary\"") == NULL)
        return NULL;
    facts = json_loads(r->facts, 0, NULL);
    c = json_incref(json_object_get(facts, "canary"));
    json_decref(facts);
    if (!json_is_object(c)) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* Outside drills: replication lag over the RPO, and canary writes failing. */
static void drill_canary_rules(struct drills *d, redisAsyncContext *ac,
                               const struct nines_check *spec, const struct nines_result *r,
                               json_t *canary)
{
    const struct nines_config *cfg = collector_config(d->c);
    char what[NOTIFY_KEY_LEN];

    snprintf(what, sizeof(what), "canary_failing/%s", spec->id);
    if (r->outcome != NINES_OUTCOME_OK && strncmp(r->reason, "canary_", 7) == 0)
        drill_alert(d, ac, what, "canary_failing", "ticket", NULL, spec->id, r->start_ms,
                    "canary %.60s cannot write or read: %.120s", spec->id, r->message);
    else if (r->outcome == NINES_OUTCOME_OK)
        drill_unalert(d, ac, what, r->start_ms);
    if (canary == NULL || !json_is_integer(json_object_get(canary, "lag_ms")))
        return;
    json_object_set_new(d->lag, spec->id, json_integer(drill_int(canary, "lag_ms")));
    for (size_t s = 0; s < cfg->services_count; s++) {
        const struct nines_service_cfg *svc = &cfg->services[s];
        int64_t lag = drill_int(canary, "lag_ms");
        int drilling = 0;

        if (svc->rpo_ms <= 0 || !drill_has_check(svc, spec->id) ||
            !drill_is_canary(svc, spec->id))
            continue;
        for (size_t i = 0; i < d->nrun; i++)
            drilling |= strcmp(d->run[i].service, svc->id) == 0;
        snprintf(what, sizeof(what), "rpo_at_risk/%s", svc->id);
        if (drilling)
            continue;
        if (lag > svc->rpo_ms)
            drill_alert(d, ac, what, "rpo_at_risk", "page", svc->id, spec->id, r->start_ms,
                        "%.60s: replication lag %" PRId64 " ms (canary %.60s) is over the RPO "
                        "of %" PRId64 " ms", svc->id, lag, spec->id, svc->rpo_ms);
        else
            drill_unalert(d, ac, what, r->start_ms);
    }
}

void drills_result(struct drills *d, redisAsyncContext *ac, size_t i,
                   const struct nines_result *r, int64_t now_ms)
{
    const struct nines_check *spec;
    json_t *canary;

    if (d == NULL)
        return;
    (void)now_ms;
    spec = collector_check_spec(d->c, i);
    canary = drill_canary(r);
    drill_canary_rules(d, ac, spec, r, canary);
    for (size_t k = 0; k < d->nrun; k++) {
        struct drill *dr = &d->run[k];
        const struct nines_service_cfg *svc = drill_service(d, dr->service);
        int changed = 0, ok = r->outcome == NINES_OUTCOME_OK;

        if (!drill_has_check(svc, spec->id))
            continue;
        if (!ok && r->start_ms >= dr->t0_ms && dr->outage_ms == 0) {
            dr->outage_ms = r->start_ms;
            snprintf(dr->outage_check, sizeof(dr->outage_check), "%s", spec->id);
            snprintf(dr->outage_reason, sizeof(dr->outage_reason), "%s", r->reason);
            drill_note(dr, r->start_ms, "first failing result: %s at %s: %s", spec->id,
                       r->location, r->message[0] ? r->message : r->reason);
            changed = 1;
        }
        if (ok && dr->outage_ms != 0 && dr->detected_ms == 0 && dr->first_ok_ms == 0 &&
            strcmp(spec->id, dr->outage_check) == 0 && r->start_ms > dr->outage_ms) {
            dr->first_ok_ms = r->start_ms;
            drill_note(dr, r->start_ms, "%s good again before any incident was confirmed",
                       spec->id);
            changed = 1;
        }
        if (ok && canary != NULL && drill_is_canary(svc, spec->id) &&
            json_is_integer(json_object_get(canary, "acked_seq")) &&
            (dr->outage_ms == 0 || r->start_ms < dr->outage_ms)) {
            dr->have_before = 1;
            dr->acked_seq = drill_int(canary, "acked_seq");
            dr->acked_ts = drill_int(canary, "acked_ts");
            changed = 1;
        }
        if (ok && canary != NULL && drill_is_canary(svc, spec->id) && dr->recovered_ms > 0 &&
            !dr->have_after && r->start_ms >= dr->recovered_ms &&
            json_is_integer(json_object_get(canary, "found_seq"))) {
            dr->have_after = 1;
            dr->found_seq = drill_int(canary, "found_seq");
            dr->found_ts = drill_int(canary, "found_ts");
            dr->resumed_ms = r->start_ms;
            drill_note(dr, r->start_ms, "canary %s wrote again (seq %" PRId64 "); the store "
                       "held seq %" PRId64 " (newest acknowledged before the outage: %" PRId64
                       ")", spec->id, drill_int(canary, "acked_seq"), dr->found_seq,
                       dr->acked_seq);
            changed = 1;
        }
        if (changed)
            drill_save_running(ac, dr);
    }
    json_decref(canary);
}

void drills_event(struct drills *d, redisAsyncContext *ac, size_t i,
                  const struct state_event *e, int64_t now_ms)
{
    const struct nines_check *spec;

    if (d == NULL || (e->kind != EV_INCIDENT_OPEN && e->kind != EV_INCIDENT_CLOSE))
        return;
    spec = collector_check_spec(d->c, i);
    for (size_t k = 0; k < d->nrun; k++) {
        struct drill *dr = &d->run[k];
        const struct nines_service_cfg *svc = drill_service(d, dr->service);

        if (!drill_has_check(svc, spec->id) || e->t_ms < dr->t0_ms)
            continue;
        if (e->kind == EV_INCIDENT_OPEN && dr->detected_ms == 0) {
            dr->detected_ms = now_ms;
            drill_note(dr, now_ms, "outage detected: %s confirmed down (back-dated to %" PRId64
                       ")", spec->id, e->t_ms);
        } else if (e->kind == EV_INCIDENT_CLOSE && dr->detected_ms != 0 &&
                   dr->recovered_ms == 0 && collector_service_state(d->c, svc) != CHECK_DOWN) {
            dr->recovered_ms = e->t_ms;
            drill_note(dr, e->t_ms, "recovered: %s is up again (the service with it)",
                       spec->id);
        } else {
            continue;
        }
        drill_save_running(ac, dr);
    }
}

/* ---- time ------------------------------------------------------------------------ */

static void drills_on_running(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct drills *d = privdata;
    redisReply *r = reply;

    (void)ac;
    d->restoring = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    d->restored = 1;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        json_t *o = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);
        struct drill dr, *grown;

        if (drill_from_doc(o, &dr) == 0 && drill_service(d, dr.service) != NULL &&
            (grown = realloc(d->run, (d->nrun + 1) * sizeof(*grown))) != NULL) {
            d->run = grown;
            d->run[d->nrun++] = dr;
            log_info("drill_restored", "id=%s", dr.id);
        } else {
            drill_clear(&dr);
        }
        json_decref(o);
    }
}

static void drills_on_passed(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct drills *d = privdata;
    redisReply *r = reply;

    (void)ac;
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        json_object_set_new(d->passed, r->element[i]->str,
                            json_integer(strtoll(r->element[i + 1]->str, NULL, 10)));
}

static void drills_on_latest(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct drills *d = privdata;
    redisReply *r = reply;

    (void)ac;
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        json_t *doc = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);

        if (json_is_object(doc))
            json_object_set_new(d->latest, r->element[i]->str, doc);
        else
            json_decref(doc);
    }
}

const json_t *drills_latest(const struct drills *d)
{
    return d != NULL ? d->latest : NULL;
}

const json_t *drills_passed(const struct drills *d)
{
    return d != NULL ? d->passed : NULL;
}

const json_t *drills_lag(const struct drills *d)
{
    return d != NULL ? d->lag : NULL;
}

static void drills_on_sched(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct drills *d = privdata;
    redisReply *r = reply;

    (void)ac;
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        json_object_set_new(d->sched, r->element[i]->str,
                            json_integer(strtoll(r->element[i + 1]->str, NULL, 10)));
}

/* Drills on schedule (drill_schedule): once per slot, within its minute. */
static void drills_scheduled(struct drills *d, int64_t now)
{
    const struct nines_config *cfg = collector_config(d->c);
    redisAsyncContext *ac = collector_redis(d->c);

    for (size_t s = 0; s < cfg->services_count; s++) {
        const struct nines_service_cfg *svc = &cfg->services[s];
        const struct nines_tz *tz;
        struct nines_err err = { 0 };
        struct nines_tm tm;
        int64_t slot;

        if (svc->drill_days == 0 ||
            (tz = nines_tzcache_get(collector_tzcache(d->c), svc->drill_timezone, &err)) == NULL)
            continue;
        nines_tz_utc_to_local(tz, now, &tm);
        if (!(svc->drill_days & (1 << tm.weekday)))
            continue;
        slot = nines_tz_local_to_utc_ms(tz, tm.year, tm.month, tm.day, svc->drill_minute / 60,
                                        svc->drill_minute % 60, 0, 0);
        if (now < slot || now >= slot + 60000 ||
            json_integer_value(json_object_get(d->sched, svc->id)) == slot)
            continue;
        json_object_set_new(d->sched, svc->id, json_integer(slot));
        if (ac != NULL)
            redisAsyncCommand(ac, NULL, NULL, "HSET nines:drills:scheduled %s %" PRId64, svc->id,
                              slot);
        if (drills_start(d, svc->id, "scheduled drill", 0, "schedule", now, NULL, 0, &err) != 0)
            log_warn("drill_not_started", "service=%s error=\"%s\"", svc->id, err.msg);
    }
}

static void drills_overdue(struct drills *d, int64_t now)
{
    const struct nines_config *cfg = collector_config(d->c);

    for (size_t s = 0; s < cfg->services_count; s++) {
        const struct nines_service_cfg *svc = &cfg->services[s];
        int64_t last = json_integer_value(json_object_get(d->passed, svc->id));
        char what[NOTIFY_KEY_LEN];

        if (svc->drill_every_ms <= 0)
            continue;
        snprintf(what, sizeof(what), "drill_overdue/%s", svc->id);
        if (now - last > svc->drill_every_ms)
            drill_alert(d, NULL, what, "drill_overdue", "ticket", svc->id, NULL,
                        last > 0 ? last + svc->drill_every_ms : now,
                        "%.60s: no passed DR drill %s", svc->id,
                        last > 0 ? "within its drill_every" : "yet");
        else
            drill_unalert(d, NULL, what, now);
    }
}

void drills_tick(struct drills *d, int64_t now_ms)
{
    redisAsyncContext *ac;

    if (d == NULL || (ac = collector_redis(d->c)) == NULL)
        return;
    if (!d->restored) {
        if (!d->restoring) {
            d->restoring = 1;
            redisAsyncCommand(ac, drills_on_passed, d, "HGETALL %s", DRILL_KEY_PASSED);
            redisAsyncCommand(ac, drills_on_latest, d, "HGETALL %s", DRILL_KEY_LATEST);
            redisAsyncCommand(ac, drills_on_sched, d, "HGETALL nines:drills:scheduled");
            if (redisAsyncCommand(ac, drills_on_running, d, "HGETALL %s", DRILL_KEY_RUNNING) !=
                REDIS_OK)
                d->restoring = 0;
        }
        return;
    }
    for (size_t k = 0; k < d->nrun;) {
        struct drill *dr = &d->run[k];
        const struct nines_service_cfg *svc = drill_service(d, dr->service);
        int up = svc != NULL && collector_service_state(d->c, svc) == CHECK_UP;
        int64_t stable = svc != NULL ? svc->drill_stable_ms : 300000;
        int64_t timeout = svc != NULL ? svc->drill_timeout_ms : 4 * 3600000;

        if (svc == NULL) {
            drill_end(d, k, "service removed", NULL, now_ms);
        } else if (dr->recovered_ms > 0 && up && now_ms - dr->recovered_ms >= stable) {
            drill_end(d, k, "stable after recovery", NULL, now_ms);
        } else if (dr->outage_ms != 0 && dr->detected_ms == 0 && dr->first_ok_ms > 0 && up &&
                   now_ms - dr->first_ok_ms >= stable) {
            dr->recovered_ms = dr->first_ok_ms;
            drill_end(d, k, "stable after a failure never confirmed", NULL, now_ms);
        } else if (dr->outage_ms == 0 && !dr->expect_outage && up &&
                   now_ms - dr->t0_ms >= stable) {
            drill_end(d, k, "stable, no outage", NULL, now_ms);
        } else if (now_ms - dr->t0_ms >= timeout) {
            drill_end(d, k, "timeout", NULL, now_ms);
        } else {
            k++;
        }
    }
    drills_scheduled(d, now_ms);
    if (now_ms >= d->next_overdue_ms) {
        d->next_overdue_ms = now_ms + DRILL_OVERDUE_EVERY_MS;
        drills_overdue(d, now_ms);
    }
}

/* ---- the report ---------------------------------------------------------------------- */

static void drill_html_text(json_t *buf, const char *s)
{
    char out[1024];
    size_t o = 0;

    for (; s != NULL && *s != '\0' && o + 8 < sizeof(out); s++) {
        const char *rep = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;"
                        : *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;

        if (rep != NULL) {
            memcpy(out + o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    json_array_append_new(buf, json_string(out));
}

static void drill_html_ms(json_t *buf, json_t *v)
{
    char t[40];

    if (!json_is_integer(v)) {
        json_array_append_new(buf, json_string("&mdash;"));
        return;
    }
    json_array_append_new(buf, json_string(nines_iso8601_ms(json_integer_value(v), t,
                                                            sizeof(t))));
}

static void drill_html_dur(json_t *buf, json_t *v)
{
    char t[48];

    if (!json_is_integer(v)) {
        json_array_append_new(buf, json_string("not measured"));
        return;
    }
    snprintf(t, sizeof(t), "%.3f s", (double)json_integer_value(v) / 1000.0);
    json_array_append_new(buf, json_string(t));
}

char *drill_report_html(const json_t *doc_c)
{
    json_t *doc = (json_t *)doc_c, *buf = json_array(), *v;
    static const struct {
        const char *label, *key;
        int kind;         /* 0 text, 1 time, 2 duration */
    } rows[] = {
        { "Service", "service", 0 },       { "Scenario", "scenario", 0 },
        { "Started by", "started_by", 0 }, { "T0", "t0_ms", 1 },
        { "Outage start", "outage_start_ms", 1 }, { "Detected", "detected_ms", 1 },
        { "Recovered", "recovered_ms", 1 }, { "Canary wrote again", "canary_resumed_ms", 1 },
        { "RTO measured", "rto_ms", 2 },   { "RTO objective", "rto_objective_ms", 2 },
        { "RPO measured", "rpo_ms", 2 },   { "RPO objective", "rpo_objective_ms", 2 },
        { "Ended", "ended_ms", 1 },        { "End", "end_reason", 0 },
    };
    size_t i, len = 0;
    char *out, *p;

    if (buf == NULL)
        return NULL;
    json_array_append_new(buf, json_string(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>DR drill "));
    drill_html_text(buf, json_string_value(json_object_get(doc, "id")));
    json_array_append_new(buf, json_string(
        "</title><style>body{font:14px/1.4 sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}.passed{color:#176317}.failed{color:#a31515}</style></head><body>"
        "<h1>DR drill "));
    drill_html_text(buf, json_string_value(json_object_get(doc, "id")));
    json_array_append_new(buf, json_string("</h1><p class=\""));
    drill_html_text(buf, json_string_value(json_object_get(doc, "state")));
    json_array_append_new(buf, json_string("\"><strong>"));
    drill_html_text(buf, json_string_value(json_object_get(doc, "verdict")) ?: "running");
    json_array_append_new(buf, json_string("</strong></p><table>"));
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_array_append_new(buf, json_string("<tr><th>"));
        json_array_append_new(buf, json_string(rows[i].label));
        json_array_append_new(buf, json_string("</th><td>"));
        v = json_object_get(doc, rows[i].key);
        if (rows[i].kind == 1)
            drill_html_ms(buf, v);
        else if (rows[i].kind == 2)
            drill_html_dur(buf, v);
        else
            drill_html_text(buf, json_string_value(v) ?: "");
        json_array_append_new(buf, json_string("</td></tr>"));
    }
    json_array_append_new(buf, json_string("</table><h2>Timeline (UTC)</h2><table>"
                                           "<tr><th>Time</th><th>Event</th></tr>"));
    json_array_foreach(json_object_get(doc, "timeline"), i, v) {
        json_array_append_new(buf, json_string("<tr><td>"));
        drill_html_ms(buf, json_object_get(v, "t_ms"));
        json_array_append_new(buf, json_string("</td><td>"));
        drill_html_text(buf, json_string_value(json_object_get(v, "event")));
        json_array_append_new(buf, json_string("</td></tr>"));
    }
    json_array_append_new(buf, json_string(
        "</table><p>RTO = recovery (back-dated first good result) &minus; outage start (first "
        "failing result at or after T0). RPO = newest canary write acknowledged before the "
        "outage &minus; newest write found after recovery.</p></body></html>\n"));
    json_array_foreach(buf, i, v)
        len += json_string_length(v);
    out = malloc(len + 1);
    if (out != NULL) {
        p = out;
        json_array_foreach(buf, i, v) {
            memcpy(p, json_string_value(v), json_string_length(v));
            p += json_string_length(v);
        }
        *p = '\0';
    }
    json_decref(buf);
    return out;
}
