/* Uptime from stored intervals and maintenance windows; see sla.h. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/clock.h"
#include "nines/log.h"
#include "history.h"
#include "sla.h"
#include "store.h"

struct sla_check {
    char id[NINES_ID_LEN];
    struct nines_ivset down;
    struct nines_ivset gaps;
    struct nines_ivset imported;   /* spans `nines import` covered: data, not "before data" */
};

struct sla_query {
    struct collector *c;
    struct sla_check *checks;
    size_t n;
    size_t expect;         /* replies still due */
    size_t received;
    int failed;
    int64_t from_ms, to_ms, now_ms;
    sla_done_cb *done;
    void *arg;
};

void sla_free(struct sla_query *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n; i++) {
        nines_ivset_close(&q->checks[i].down);
        nines_ivset_close(&q->checks[i].gaps);
        nines_ivset_close(&q->checks[i].imported);
    }
    free(q->checks);
    free(q);
}

int sla_parse_interval(const char *member, int64_t now_ms, int64_t *start_ms, int64_t *end_ms)
{
    long long start, end;
    char tail;

    if (member == NULL || sscanf(member, "%lld-%lld%c", &start, &end, &tail) != 2 || start < 0 ||
        end < 0)
        return NINES_EINVAL;
    *start_ms = start;
    *end_ms = end == 0 ? now_ms : end;
    return 0;
}

/* "start-end" members; end 0 means still open (until now). */
static void sla_parse_members(const redisReply *r, int64_t now_ms, struct nines_ivset *out)
{
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        int64_t start, end;

        if (r->element[i]->type != REDIS_REPLY_STRING ||
            sla_parse_interval(r->element[i]->str, now_ms, &start, &end) != 0)
            continue;
        nines_ivset_add(out, start, end);
    }
}

static void sla_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sla_query *q = privdata;
    size_t k = q->received++;

    (void)ac;
    if (reply == NULL || ((redisReply *)reply)->type == REDIS_REPLY_ERROR)
        q->failed = 1;
    else
        sla_parse_members(reply, q->now_ms,
                          k % 3 == 0   ? &q->checks[k / 3].down
                          : k % 3 == 1 ? &q->checks[k / 3].gaps
                                       : &q->checks[k / 3].imported);
    if (--q->expect == 0)
        q->done(q, q->failed ? NINES_EIO : 0, q->arg);
}

struct sla_query *sla_fetch(struct collector *c, const char *const *checks, size_t n,
                            int64_t from_ms, int64_t to_ms, sla_done_cb *done, void *arg)
{
    redisAsyncContext *ac = collector_redis(c);
    struct sla_query *q;
    char to[32];

    if (ac == NULL || n == 0 || (q = calloc(1, sizeof(*q))) == NULL)
        return NULL;
    q->checks = calloc(n, sizeof(*q->checks));
    if (q->checks == NULL) {
        free(q);
        return NULL;
    }
    q->c = c;
    q->n = n;
    q->from_ms = from_ms;
    q->to_ms = to_ms;
    q->now_ms = nines_wall_ms();
    q->done = done;
    q->arg = arg;
    snprintf(to, sizeof(to), "(%" PRId64, to_ms);
    for (size_t i = 0; i < n; i++) {
        snprintf(q->checks[i].id, sizeof(q->checks[i].id), "%s", checks[i]);
        nines_ivset_init(&q->checks[i].down);
        nines_ivset_init(&q->checks[i].gaps);
        nines_ivset_init(&q->checks[i].imported);
    }
    /* everything that started before `to`; uptime_compute clips to the window.
     * Replies come back in order: 3i is check i's down set, 3i+1 its gaps,
     * 3i+2 the spans imported history covers. */
    for (size_t k = 0; k < 3 * n && !q->failed; k++) {
        if (redisAsyncCommand(ac, sla_on_reply, q, "ZRANGEBYSCORE %s%s -inf %s",
                              k % 3 == 0   ? STORE_KEY_DOWN
                              : k % 3 == 1 ? STORE_KEY_GAPS
                                           : HISTORY_KEY_IMPORTED,
                              checks[k / 3], to) == REDIS_OK)
            q->expect++;
        else
            q->failed = 1;     /* the connection is going */
    }
    if (q->failed && q->expect == 0) {
        sla_free(q);
        return NULL;
    }
    return q;
}

/* Maintenance intervals covering the check (or service) within [from, to). */
static int sla_maint_intervals(struct collector *c, const char *check,
                               const struct nines_service_cfg *svc, int64_t from_ms,
                               int64_t to_ms, struct nines_ivset *out)
{
    for (size_t i = 0; i < sla_maint_count(c); i++) {
        const struct sla_maint *m = sla_maint_at(c, i);
        const struct nines_tz *tz = NULL;
        struct nines_err err = { 0 };

        if (!sla_maint_covers(c, m, check, svc))
            continue;
        if (m->w.kind == MAINT_RECURRING) {
            tz = nines_tzcache_get(collector_tzcache(c), m->w.tz, &err);
            if (tz == NULL) {
                log_warn("maintenance_tz", "window=%s error=\"%s\"", m->id, err.msg);
                continue;
            }
        }
        if (maint_expand(&m->w, tz, from_ms, to_ms, out) != 0)
            return NINES_ENOMEM;
    }
    return 0;
}

/* The check's down time outside its own maintenance, and its gaps. */
static int sla_check_sets(struct collector *c, struct sla_query *q, size_t i,
                          struct nines_ivset *maint, struct nines_ivset *down_net)
{
    long k = collector_check_index(c, q->checks[i].id);
    int rc = sla_maint_intervals(c, q->checks[i].id, NULL, q->from_ms, q->to_ms, maint);

    /* no data before the first result (but for imported history), and an
     * open gap the store lacks while the check has no data right now */
    if (rc == 0 && k >= 0) {
        const struct check_state *s = collector_check_state(c, (size_t)k);
        struct nines_ivset before, tmp;

        nines_ivset_init(&before);
        nines_ivset_init(&tmp);
        rc = nines_ivset_add(&before, q->from_ms, s->first_ms > 0 ? s->first_ms : q->now_ms);
        if (rc == 0)
            rc = nines_ivset_subtract(&before, &q->checks[i].imported, &tmp);
        if (rc == 0)
            rc = nines_ivset_union(&q->checks[i].gaps, &tmp, &before);
        if (rc == 0)
            rc = nines_ivset_copy(&before, &q->checks[i].gaps);
        nines_ivset_close(&before);
        nines_ivset_close(&tmp);
        if (rc == 0 && s->state == CHECK_UNKNOWN && s->last_ms > 0)
            rc = nines_ivset_add(&q->checks[i].gaps, s->since_ms, q->now_ms);
    }
    return rc != 0 ? rc : nines_ivset_subtract(&q->checks[i].down, maint, down_net);
}

int sla_check_uptime(struct collector *c, struct sla_query *q, size_t i, int64_t from_ms,
                     int64_t to_ms, struct uptime_result *out)
{
    struct nines_ivset maint, down;
    struct uptime_input in = { 0 };
    int rc;

    nines_ivset_init(&maint);
    nines_ivset_init(&down);
    rc = sla_check_sets(c, q, i, &maint, &down);
    if (rc == 0) {
        in.from_ms = from_ms;
        in.to_ms = to_ms;
        in.down = &down;
        in.maintenance = &maint;
        in.nodata = &q->checks[i].gaps;
        rc = uptime_compute(&in, out);
    }
    nines_ivset_close(&maint);
    nines_ivset_close(&down);
    return rc;
}

int sla_service_sets(const struct nines_service_cfg *svc, const char *const *ids,
                     const struct nines_ivset *down_net, const struct nines_ivset *gaps, size_t n,
                     struct nines_ivset *down, struct nines_ivset *nodata)
{
    struct uptime_member *members = calloc(n + 1, sizeof(*members));
    struct nines_ivset tmp;
    int rc = members != NULL ? 0 : NINES_ENOMEM;

    nines_ivset_init(&tmp);
    nines_ivset_close(nodata);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        members[i].down = &down_net[i];
        members[i].critical = svc->critical_count == 0;
        for (size_t j = 0; j < svc->critical_count; j++)
            members[i].critical |= strcmp(svc->critical[j], ids[i]) == 0;
        /* no data for the service: none of its checks had any */
        if (i == 0)
            rc = nines_ivset_copy(&gaps[0], nodata);
        else if ((rc = nines_ivset_intersect(nodata, &gaps[i], &tmp)) == 0)
            rc = nines_ivset_copy(&tmp, nodata);
    }
    if (rc == 0)
        rc = uptime_service_down(members, n, svc->down_when_all ? UPTIME_DOWN_ALL
                                                                : UPTIME_DOWN_ANY, down);
    nines_ivset_close(&tmp);
    free(members);
    return rc;
}

int sla_service_uptime(struct collector *c, struct sla_query *q,
                       const struct nines_service_cfg *svc, int64_t from_ms, int64_t to_ms,
                       struct uptime_result *out)
{
    struct nines_ivset *downs = calloc(q->n + 1, sizeof(*downs));
    struct nines_ivset *gaps = calloc(q->n + 1, sizeof(*gaps));
    const char **ids = calloc(q->n + 1, sizeof(*ids));
    struct nines_ivset maint, down, nodata;
    struct uptime_input in = { 0 };
    int rc = downs && gaps && ids ? 0 : NINES_ENOMEM;

    nines_ivset_init(&maint);
    nines_ivset_init(&down);
    nines_ivset_init(&nodata);
    for (size_t i = 0; rc == 0 && i < q->n; i++) {
        struct nines_ivset own;

        nines_ivset_init(&own);
        nines_ivset_init(&downs[i]);
        rc = sla_check_sets(c, q, i, &own, &downs[i]);
        nines_ivset_close(&own);
        gaps[i] = q->checks[i].gaps;      /* borrowed: never closed here */
        ids[i] = q->checks[i].id;
    }
    if (rc == 0)
        rc = sla_service_sets(svc, ids, downs, gaps, q->n, &down, &nodata);
    if (rc == 0)
        rc = sla_maint_intervals(c, NULL, svc, from_ms, to_ms, &maint);
    if (rc == 0) {
        in.from_ms = from_ms;
        in.to_ms = to_ms;
        in.down = &down;
        in.maintenance = &maint;
        in.nodata = &nodata;
        rc = uptime_compute(&in, out);
    }
    for (size_t i = 0; downs != NULL && i < q->n; i++)
        nines_ivset_close(&downs[i]);
    free(downs);
    free(gaps);
    free(ids);
    nines_ivset_close(&maint);
    nines_ivset_close(&down);
    nines_ivset_close(&nodata);
    return rc;
}

/* ---- maintenance windows ----------------------------------------------- */

static int sla_in(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

int sla_maint_covers_cfg(const struct nines_config *cfg, const struct sla_maint *m,
                         const char *check, const struct nines_service_cfg *svc)
{
    if (m->checks_count == 0 && m->services_count == 0)
        return 1;
    if (svc != NULL)
        return sla_in(m->services, m->services_count, svc->id);
    if (sla_in(m->checks, m->checks_count, check))
        return 1;
    for (size_t i = 0; i < cfg->services_count; i++)
        if (sla_in(m->services, m->services_count, cfg->services[i].id) &&
            sla_in(cfg->services[i].checks, cfg->services[i].checks_count, check))
            return 1;
    return 0;
}

int sla_maint_covers(const struct collector *c, const struct sla_maint *m, const char *check,
                     const struct nines_service_cfg *svc)
{
    return sla_maint_covers_cfg(collector_config(c), m, check, svc);
}

static char **sla_strv(char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof(*out));

    for (size_t i = 0; out != NULL && i < n; i++) {
        if ((out[i] = strdup(v[i])) == NULL) {
            while (i > 0)
                free(out[--i]);
            free(out);
            return NULL;
        }
    }
    return out;
}

int sla_maint_from_cfg(const struct nines_maint_cfg *mc, struct sla_maint *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->id, sizeof(m->id), "%s", mc->id);
    snprintf(m->reason, sizeof(m->reason), "%s", mc->reason ? mc->reason : "");
    m->checks = sla_strv(mc->checks, mc->checks_count);
    m->services = sla_strv(mc->services, mc->services_count);
    if (m->checks == NULL || m->services == NULL) {
        sla_maint_clear(m);
        return NINES_ENOMEM;
    }
    m->checks_count = mc->checks_count;
    m->services_count = mc->services_count;
    m->from_config = 1;
    if (mc->weekdays != 0) {
        m->w.kind = MAINT_RECURRING;
        m->w.weekdays = (unsigned)mc->weekdays;
        m->w.start_min = mc->start_minute;
        m->w.duration_ms = mc->duration_ms;
        snprintf(m->w.tz, sizeof(m->w.tz), "%s", mc->timezone ? mc->timezone : "UTC");
    } else {
        m->w.kind = MAINT_ONCE;
        m->w.start_ms = mc->start_ms;
        m->w.end_ms = mc->end_ms;
    }
    return 0;
}

void sla_maint_clear(struct sla_maint *m)
{
    for (size_t i = 0; i < m->checks_count; i++)
        free(m->checks[i]);
    for (size_t i = 0; i < m->services_count; i++)
        free(m->services[i]);
    free(m->checks);
    free(m->services);
    memset(m, 0, sizeof(*m));
}

static int sla_json_list(json_t *arr, char ***out, size_t *n, struct nines_err *err,
                         const char *name)
{
    size_t i;
    json_t *v;

    *out = NULL;
    *n = 0;
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > 1000)
        return nines_err_set(err, NINES_EINVAL, "'%s' must be a list of ids", name);
    *out = calloc(json_array_size(arr) + 1, sizeof(char *));
    if (*out == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) >= NINES_ID_LEN)
            return nines_err_set(err, NINES_EINVAL, "'%s' must be a list of ids", name);
        (*out)[(*n)++] = strdup(json_string_value(v));
    }
    return 0;
}

int sla_maint_from_json(const char *json, size_t len, struct sla_maint *m, struct nines_err *err)
{
    json_t *o = json_loadb(json, len, 0, NULL), *v;
    const char *spec, *id;
    int rc = 0;

    memset(m, 0, sizeof(*m));
    if (!json_is_object(o)) {
        json_decref(o);
        return nines_err_set(err, NINES_EINVAL, "a maintenance window is a JSON object");
    }
    id = json_string_value(json_object_get(o, "id"));
    if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof(m->id) ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") !=
            strlen(id))
        rc = nines_err_set(err, NINES_EINVAL, "'id' must be 1-63 of [A-Za-z0-9_.:-]");
    else
        snprintf(m->id, sizeof(m->id), "%s", id);
    if ((v = json_object_get(o, "reason")) != NULL && json_is_string(v))
        snprintf(m->reason, sizeof(m->reason), "%s", json_string_value(v));
    if (rc == 0)
        rc = sla_json_list(json_object_get(o, "checks"), &m->checks, &m->checks_count, err,
                           "checks");
    if (rc == 0)
        rc = sla_json_list(json_object_get(o, "services"), &m->services, &m->services_count,
                           err, "services");
    spec = json_string_value(json_object_get(o, "recurring"));
    if (rc == 0 && spec != NULL) {
        rc = maint_parse_recurring(spec, &m->w, err);
    } else if (rc == 0) {
        json_t *s = json_object_get(o, "start_ms"), *e = json_object_get(o, "end_ms");

        if (!json_is_integer(s) || !json_is_integer(e) ||
            json_integer_value(e) <= json_integer_value(s) || json_integer_value(s) < 0)
            rc = nines_err_set(err, NINES_EINVAL,
                               "give 'recurring' (e.g. \"sun 02:00 2h Europe/Berlin\") or "
                               "'start_ms' < 'end_ms'");
        else {
            m->w.kind = MAINT_ONCE;
            m->w.start_ms = json_integer_value(s);
            m->w.end_ms = json_integer_value(e);
        }
    }
    json_decref(o);
    if (rc != 0)
        sla_maint_clear(m);
    return rc;
}

char *sla_maint_to_json(const struct sla_maint *m)
{
    json_t *o = json_pack("{s:s,s:s,s:b}", "id", m->id, "reason", m->reason, "from_config",
                          m->from_config);
    json_t *checks = json_array(), *services = json_array();
    char *out;

    for (size_t i = 0; i < m->checks_count; i++)
        json_array_append_new(checks, json_string(m->checks[i]));
    for (size_t i = 0; i < m->services_count; i++)
        json_array_append_new(services, json_string(m->services[i]));
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "services", services);
    if (m->w.kind == MAINT_RECURRING) {
        char spec[160];

        maint_format_recurring(&m->w, spec, sizeof(spec));
        json_object_set_new(o, "recurring", json_string(spec));
    } else {
        json_object_set_new(o, "start_ms", json_integer(m->w.start_ms));
        json_object_set_new(o, "end_ms", json_integer(m->w.end_ms));
    }
    out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return out;
}

size_t sla_maint_active(struct collector *c, const char *check, int64_t at_ms, char *ids,
                        size_t len)
{
    size_t n = 0, used = 0;

    if (len > 0)
        ids[0] = '\0';
    for (size_t i = 0; i < sla_maint_count(c); i++) {
        const struct sla_maint *m = sla_maint_at(c, i);
        const struct nines_tz *tz = NULL;
        struct nines_err err = { 0 };
        struct nines_ivset hit;
        int on;

        if (!sla_maint_covers(c, m, check, NULL))
            continue;
        if (m->w.kind == MAINT_RECURRING &&
            (tz = nines_tzcache_get(collector_tzcache(c), m->w.tz, &err)) == NULL)
            continue;
        nines_ivset_init(&hit);
        on = maint_expand(&m->w, tz, at_ms, at_ms + 1, &hit) == 0 && hit.n > 0;
        nines_ivset_close(&hit);
        if (!on)
            continue;
        n++;
        if (used + strlen(m->id) + 2 <= len)
            used += (size_t)snprintf(ids + used, len - used, "%s%s", used ? "," : "", m->id);
    }
    return n;
}

size_t sla_query_count(const struct sla_query *q)
{
    return q->n;
}
