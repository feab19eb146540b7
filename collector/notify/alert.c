/* Alert rules, routing and grouping; see alert.h. */
#include <inttypes.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "outbox.h"
#include "sla.h"
#include "store.h"

#define ALERT_GROUP_MAX 1000      /* members listed; more are counted */
/* Notifications made but not yet in the outbox: written in the same
 * transaction as the state change that made them, removed once the outbox
 * has taken everything made from them, and routed again after a restart. */
#define ALERT_KEY_PENDING "nines:alerts:pending"
#define ALERT_SUPPRESSED 1024     /* incidents whose firing was held back */

struct alert_route {
    const struct nines_route_cfg *cfg;   /* borrowed from the configuration */
    regex_t *re;                  /* per matcher, compiled when regex */
    unsigned char *compiled;      /* which re[] are compiled (freed without cfg) */
    size_t nre;
    struct notification *firing;  /* waiting for group_wait */
    size_t nfiring, extra_firing;
    struct notification *resolved;
    size_t nresolved, extra_resolved;
    int64_t first_ms;             /* oldest waiting notification */
};

struct alerter {
    struct collector *c;
    struct outbox *ob;
    struct receiver_cfg *rx;      /* resolved receivers (secrets read) */
    size_t nrx;
    struct alert_route *routes;
    size_t nroutes;
    /* keys whose firing was held back (dependency, maintenance): their
     * resolve is held back too. A ring: the oldest are forgotten. */
    char suppressed[ALERT_SUPPRESSED][NOTIFY_KEY_LEN];
    size_t next_suppressed;
    /* conditions firing now (degraded, silent) and the key they fired with,
     * so their resolution carries the same key */
    struct {
        char what[NOTIFY_KEY_LEN];
        char key[NOTIFY_KEY_LEN];
    } open[ALERT_SUPPRESSED];
    size_t next_open;
};

const char *alert_label(const struct notification *n, const char *name)
{
    if (strcmp(name, "check") == 0)
        return n->check;
    if (strcmp(name, "service") == 0)
        return n->service;
    if (strcmp(name, "customer") == 0)
        return n->customer;
    if (strcmp(name, "team") == 0)
        return n->team;
    if (strcmp(name, "severity") == 0)
        return n->severity;
    if (strcmp(name, "rule") == 0)
        return n->rule;
    if (strcmp(name, "location") == 0)
        return n->location;
    return NULL;
}

/* The secret of a receiver, from its environment variable or file. */
static int alert_read_secret(const struct nines_receiver_cfg *rc, char *out, size_t len)
{
    out[0] = '\0';
    if (rc->secret_env != NULL) {
        const char *v = getenv(rc->secret_env);

        if (v == NULL || v[0] == '\0')
            return -1;
        snprintf(out, len, "%s", v);
    } else if (rc->secret_file != NULL) {
        FILE *f = fopen(rc->secret_file, "r");

        if (f == NULL)
            return -1;
        if (fgets(out, (int)len, f) == NULL)
            out[0] = '\0';
        fclose(f);
        out[strcspn(out, "\r\n")] = '\0';
        if (out[0] == '\0')
            return -1;
    }
    return 0;
}

static void alert_routes_free(struct alerter *a)
{
    /* the configuration these routes came from may be gone already (reload,
     * exit): touch only what the routes own */
    for (size_t i = 0; i < a->nroutes; i++) {
        for (size_t j = 0; j < a->routes[i].nre; j++)
            if (a->routes[i].compiled[j])
                regfree(&a->routes[i].re[j]);
        free(a->routes[i].re);
        free(a->routes[i].compiled);
        free(a->routes[i].firing);
        free(a->routes[i].resolved);
    }
    free(a->routes);
    a->routes = NULL;
    a->nroutes = 0;
}

void alerter_reload(struct alerter *a)
{
    const struct nines_config *cfg = collector_config(a->c);

    alert_routes_free(a);
    if (a->rx != NULL)
        memset(a->rx, 0, a->nrx * sizeof(*a->rx));     /* secrets */
    free(a->rx);
    a->rx = calloc(cfg->receivers_count + 1, sizeof(*a->rx));
    a->nrx = 0;
    for (size_t i = 0; a->rx != NULL && i < cfg->receivers_count; i++) {
        const struct nines_receiver_cfg *rc = &cfg->receivers[i];
        struct receiver_cfg *r = &a->rx[a->nrx];

        if (receiver_kind_parse(rc->kind, &r->kind) != 0)
            continue;
        if (alert_read_secret(rc, r->secret, sizeof(r->secret)) != 0) {
            log_error("receiver_secret_missing", "receiver=%s source=%s", rc->name,
                      rc->secret_env ? rc->secret_env : rc->secret_file);
            continue;
        }
        snprintf(r->name, sizeof(r->name), "%s", rc->name);
        snprintf(r->url, sizeof(r->url), "%s", rc->url ? rc->url : "");
        snprintf(r->user, sizeof(r->user), "%s", rc->user ? rc->user : "");
        snprintf(r->from, sizeof(r->from), "%s", rc->from ? rc->from : "");
        snprintf(r->to, sizeof(r->to), "%s", rc->to ? rc->to : "");
        snprintf(r->template_summary, sizeof(r->template_summary), "%s",
                 rc->template_summary ? rc->template_summary : "");
        r->starttls = rc->starttls;
        a->nrx++;
    }
    a->routes = calloc(cfg->routes_count + 1, sizeof(*a->routes));
    for (size_t i = 0; a->routes != NULL && i < cfg->routes_count; i++) {
        struct alert_route *rt = &a->routes[a->nroutes++];

        rt->cfg = &cfg->routes[i];
        rt->re = calloc(rt->cfg->match_count + 1, sizeof(*rt->re));
        rt->compiled = calloc(rt->cfg->match_count + 1, 1);
        if (rt->re == NULL || rt->compiled == NULL)
            continue;     /* matches nothing: alert_route_matches checks re */
        rt->nre = rt->cfg->match_count;
        for (size_t j = 0; j < rt->nre; j++) {
            if (!rt->cfg->match[j].regex)
                continue;
            /* validated at load; should it fail now, match nothing */
            if (regcomp(&rt->re[j], rt->cfg->match[j].value, REG_EXTENDED | REG_NOSUB) != 0 &&
                regcomp(&rt->re[j], "$^", REG_EXTENDED | REG_NOSUB) != 0)
                continue;
            rt->compiled[j] = 1;
        }
    }
    log_info("alerting_configured", "receivers=%zu routes=%zu", a->nrx, a->nroutes);
}

struct alerter *alerter_new(struct collector *c, struct outbox *ob)
{
    struct alerter *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->c = c;
    a->ob = ob;
    alerter_reload(a);
    return a;
}

void alerter_free(struct alerter *a)
{
    if (a == NULL)
        return;
    alert_routes_free(a);
    if (a->rx != NULL)
        memset(a->rx, 0, a->nrx * sizeof(*a->rx));
    free(a->rx);
    free(a);
}

static int alert_route_matches(const struct alert_route *rt, const struct notification *n)
{
    if (rt->nre != rt->cfg->match_count)
        return 0;     /* could not set the route up (out of memory) */
    for (size_t j = 0; j < rt->cfg->match_count; j++) {
        const struct nines_matcher *m = &rt->cfg->match[j];
        const char *v = alert_label(n, m->name);

        if (v == NULL)
            return 0;
        if (m->regex ? !rt->compiled[j] || regexec(&rt->re[j], v, 0, NULL, 0) != 0
                     : strcmp(v, m->value) != 0)
            return 0;
    }
    return 1;
}

static const struct receiver_cfg *alert_receiver(const struct alerter *a, const char *name)
{
    for (size_t i = 0; i < a->nrx; i++)
        if (strcmp(a->rx[i].name, name) == 0)
            return &a->rx[i];
    return NULL;
}

/* "KEY|STATE": a notification's field in the pending hash. */
static void alert_pending_field(const struct notification *n, char *out, size_t len)
{
    snprintf(out, len, "%s|%s", n->key, notify_state_name(n->state));
}

static char *alert_to_json(const struct notification *n)
{
    json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s}",
                          "key", n->key, "state", (int)n->state, "rule", n->rule, "severity",
                          n->severity, "check", n->check, "service", n->service, "customer",
                          n->customer, "team", n->team, "location", n->location, "start_ms",
                          (json_int_t)n->start_ms, "end_ms", (json_int_t)n->end_ms,
                          "created_ms", (json_int_t)n->created_ms, "reason", n->reason,
                          "summary", n->summary, "details", n->details, "url", n->url);
    char *out = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return out;
}

static void alert_copy_str(json_t *o, const char *k, char *dst, size_t len)
{
    const char *v = json_string_value(json_object_get(o, k));

    snprintf(dst, len, "%s", v != NULL ? v : "");
}

static int alert_from_json(const char *text, size_t len, struct notification *n)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    int st;

    memset(n, 0, sizeof(*n));
    if (!json_is_object(o) || !json_is_integer(json_object_get(o, "state"))) {
        json_decref(o);
        return -1;
    }
    st = (int)json_integer_value(json_object_get(o, "state"));
    n->state = st == NOTIFY_RESOLVED ? NOTIFY_RESOLVED : NOTIFY_FIRING;
    alert_copy_str(o, "key", n->key, sizeof(n->key));
    alert_copy_str(o, "rule", n->rule, sizeof(n->rule));
    alert_copy_str(o, "severity", n->severity, sizeof(n->severity));
    alert_copy_str(o, "check", n->check, sizeof(n->check));
    alert_copy_str(o, "service", n->service, sizeof(n->service));
    alert_copy_str(o, "customer", n->customer, sizeof(n->customer));
    alert_copy_str(o, "team", n->team, sizeof(n->team));
    alert_copy_str(o, "location", n->location, sizeof(n->location));
    alert_copy_str(o, "reason", n->reason, sizeof(n->reason));
    alert_copy_str(o, "summary", n->summary, sizeof(n->summary));
    alert_copy_str(o, "details", n->details, sizeof(n->details));
    alert_copy_str(o, "url", n->url, sizeof(n->url));
    n->start_ms = json_integer_value(json_object_get(o, "start_ms"));
    n->end_ms = json_integer_value(json_object_get(o, "end_ms"));
    n->created_ms = json_integer_value(json_object_get(o, "created_ms"));
    json_decref(o);
    return n->key[0] != '\0' ? 0 : -1;
}

/* The members of one flushed group: their pending fields go once the outbox
 * has taken every request made from them. */
struct alert_flush {
    struct alerter *a;
    size_t waiting;          /* outbox enqueues not yet answered, plus a hold */
    int failed;
    size_t n;
    char (*fields)[NOTIFY_KEY_LEN + 16];
};

static void alert_flush_done(struct alert_flush *f)
{
    redisAsyncContext *ac = collector_redis(f->a->c);

    for (size_t i = 0; !f->failed && ac != NULL && i < f->n; i++)
        redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", ALERT_KEY_PENDING, f->fields[i]);
    free(f->fields);
    free(f);
}

struct alert_enqueue {
    char id[NOTIFY_KEY_LEN + 96];
    struct alert_flush *flush;
};

static void alert_enqueued(int status, void *arg)
{
    struct alert_enqueue *q = arg;

    /* 1: the id was there already (a replay): as good as queued */
    if (status != 0 && status != 1) {
        log_error("notification_not_queued", "id=%s status=%d", q->id, status);
        q->flush->failed = 1;
    }
    if (--q->flush->waiting == 0)
        alert_flush_done(q->flush);
    free(q);
}

/* Queues n for every receiver of route rt; f counts the answers. */
static void alert_send(struct alerter *a, const struct alert_route *rt,
                       const struct notification *n, int64_t now_ms, struct alert_flush *f)
{
    for (size_t i = 0; i < rt->cfg->receivers_count; i++) {
        const struct receiver_cfg *rc = alert_receiver(a, rt->cfg->receivers[i]);
        struct notify_request req;
        struct alert_enqueue *q;

        if (rc == NULL)
            continue;
        if (notify_build(rc, n, now_ms, &req) != 0) {
            log_error("notification_build_failed", "receiver=%s key=%s", rc->name, n->key);
            continue;
        }
        q = calloc(1, sizeof(*q));
        if (q == NULL) {
            f->failed = 1;
            notify_request_clear(&req);
            continue;
        }
        /* stable: a state change re-applied after a crash re-queues the same id,
         * which the outbox takes as already there */
        snprintf(q->id, sizeof(q->id), "%s/%s/%s", rc->name, n->key,
                 notify_state_name(n->state));
        q->flush = f;
        f->waiting++;
        if (a->ob == NULL || outbox_enqueue(a->ob, q->id, rc->name, &req, alert_enqueued, q) != 0) {
            log_error("notification_not_queued", "id=%s", q->id);
            f->waiting--;
            f->failed = 1;
            free(q);
        } else {
            log_info("notification_queued", "id=%s receiver=%s state=%s", q->id, rc->name,
                     notify_state_name(n->state));
        }
        notify_request_clear(&req);
    }
}

/* Adds n to route rt's waiting group. */
static void alert_group_add(struct alert_route *rt, const struct notification *n, int64_t now)
{
    struct notification **list = n->state == NOTIFY_RESOLVED ? &rt->resolved : &rt->firing;
    size_t *count = n->state == NOTIFY_RESOLVED ? &rt->nresolved : &rt->nfiring;
    size_t *extra = n->state == NOTIFY_RESOLVED ? &rt->extra_resolved : &rt->extra_firing;
    struct notification *grown;

    if (rt->nfiring + rt->nresolved + rt->extra_firing + rt->extra_resolved == 0)
        rt->first_ms = now;
    if (*count >= ALERT_GROUP_MAX) {
        (*extra)++;       /* counted in the grouped message, never dropped silently */
        return;
    }
    grown = realloc(*list, (*count + 1) * sizeof(*grown));
    if (grown == NULL) {
        (*extra)++;
        return;
    }
    *list = grown;
    grown[(*count)++] = *n;
}

/* One notification for a group: itself when alone, else a summary. */
static void alert_group_flush(struct alerter *a, struct alert_route *rt,
                              struct notification *list, size_t n, size_t extra, int64_t now)
{
    struct notification g;
    size_t used = 0;
    struct alert_flush *f;

    if (n == 0)
        return;
    f = calloc(1, sizeof(*f));
    if (f != NULL)
        f->fields = calloc(n, sizeof(*f->fields));
    if (f == NULL || f->fields == NULL) {
        log_error("out_of_memory", "where=alert_flush");
        free(f);
        return;      /* the members stay pending in Redis: sent after a restart */
    }
    f->a = a;
    f->n = n;
    for (size_t i = 0; i < n; i++)
        alert_pending_field(&list[i], f->fields[i], sizeof(f->fields[i]));
    f->waiting = 1;      /* held until every send below is queued */
    if (n == 1 && extra == 0) {
        alert_send(a, rt, &list[0], now, f);
        if (--f->waiting == 0)
            alert_flush_done(f);
        return;
    }
    g = list[0];
    snprintf(g.key, sizeof(g.key), "group/%zu/%" PRId64, (size_t)(rt - a->routes),
             list[0].created_ms);
    snprintf(g.rule, sizeof(g.rule), "%s", list[0].rule);
    g.check[0] = g.location[0] = '\0';
    /* summaries are cut to fit: the details list every member */
    snprintf(g.summary, sizeof(g.summary), "%zu alerts %s: %.160s and %zu more", n + extra,
             g.state == NOTIFY_RESOLVED ? "resolved" : "firing", list[0].summary,
             n + extra - 1);
    g.details[0] = '\0';
    for (size_t i = 0; i < n && used + 2 < sizeof(g.details); i++)
        used += (size_t)snprintf(g.details + used, sizeof(g.details) - used, "%s\n",
                                 list[i].summary);
    alert_send(a, rt, &g, now, f);
    if (--f->waiting == 0)
        alert_flush_done(f);
}

static void alert_flush_groups(struct alerter *a, int64_t now_ms, int all)
{
    for (size_t i = 0; a != NULL && i < a->nroutes; i++) {
        struct alert_route *rt = &a->routes[i];

        if (rt->nfiring + rt->nresolved + rt->extra_firing + rt->extra_resolved == 0 ||
            (!all && now_ms - rt->first_ms < rt->cfg->group_wait_ms))
            continue;
        alert_group_flush(a, rt, rt->firing, rt->nfiring, rt->extra_firing, now_ms);
        alert_group_flush(a, rt, rt->resolved, rt->nresolved, rt->extra_resolved, now_ms);
        rt->nfiring = rt->nresolved = rt->extra_firing = rt->extra_resolved = 0;
    }
}

void alerter_tick(struct alerter *a, int64_t now_ms)
{
    alert_flush_groups(a, now_ms, 0);
}

void alerter_flush(struct alerter *a, int64_t now_ms)
{
    alert_flush_groups(a, now_ms, 1);
}

/* Routes n: to the first matching route, and on while routes say continue.
 * Returns how many routes took it. */
static int alert_route(struct alerter *a, const struct notification *n, int64_t now)
{
    int taken = 0;

    for (size_t i = 0; i < a->nroutes; i++) {
        if (!alert_route_matches(&a->routes[i], n))
            continue;
        alert_group_add(&a->routes[i], n, now);
        taken++;
        if (!a->routes[i].cfg->continue_matching)
            break;
    }
    return taken;
}

void alerter_restore(struct alerter *a, const redisReply *r, int64_t now_ms)
{
    redisAsyncContext *ac = collector_redis(a->c);
    size_t restored = 0;

    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2) {
        struct notification n;

        if (alert_from_json(r->element[i + 1]->str, r->element[i + 1]->len, &n) == 0 &&
            alert_route(a, &n, now_ms) > 0) {
            restored++;
            continue;
        }
        if (ac != NULL)    /* unreadable, or no route wants it any more */
            redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", ALERT_KEY_PENDING,
                              r->element[i]->str);
    }
    if (restored > 0)
        log_info("notifications_restored", "count=%zu", restored);
}

/* A dependency of check i that is down now, or NULL. */
static const char *alert_parent_down(struct alerter *a, const struct nines_check *spec)
{
    for (size_t j = 0; j < spec->depends_on_count; j++) {
        long p = collector_check_index(a->c, spec->depends_on[j]);

        if (p >= 0 && collector_check_state(a->c, (size_t)p)->state == CHECK_DOWN)
            return spec->depends_on[j];
    }
    return NULL;
}

static void alert_labels(struct alerter *a, const struct nines_check *spec,
                         struct notification *n)
{
    const struct nines_config *cfg = collector_config(a->c);

    snprintf(n->check, sizeof(n->check), "%s", spec->id);
    snprintf(n->team, sizeof(n->team), "%s", spec->team ? spec->team : "");
    snprintf(n->severity, sizeof(n->severity), "%s", spec->severity ? spec->severity : "page");
    for (size_t i = 0; i < cfg->services_count && n->service[0] == '\0'; i++)
        for (size_t j = 0; j < cfg->services[i].checks_count; j++)
            if (strcmp(cfg->services[i].checks[j], spec->id) == 0)
                snprintf(n->service, sizeof(n->service), "%s", cfg->services[i].id);
}

/* The key of a condition: new (what@start) when it fires, the one it fired
 * with when it resolves. */
static void alert_condition_key(struct alerter *a, const char *what, int firing,
                                int64_t start_ms, char *key, size_t len)
{
    if (!firing) {
        for (size_t i = 0; i < ALERT_SUPPRESSED; i++) {
            if (strcmp(a->open[i].what, what) == 0) {
                snprintf(key, len, "%s", a->open[i].key);
                a->open[i].what[0] = '\0';
                return;
            }
        }
    }
    snprintf(key, len, "%.150s@%" PRId64, what, start_ms);
    if (firing) {
        snprintf(a->open[a->next_open].what, NOTIFY_KEY_LEN, "%s", what);
        snprintf(a->open[a->next_open].key, NOTIFY_KEY_LEN, "%s", key);
        a->next_open = (a->next_open + 1) % ALERT_SUPPRESSED;
    }
}

static int alert_was_suppressed(const struct alerter *a, const char *key)
{
    for (size_t i = 0; i < ALERT_SUPPRESSED; i++)
        if (strcmp(a->suppressed[i], key) == 0)
            return 1;
    return 0;
}

static void alert_suppress(struct alerter *a, const char *key, const char *cause,
                           const char *what)
{
    snprintf(a->suppressed[a->next_suppressed], NOTIFY_KEY_LEN, "%s", key);
    a->next_suppressed = (a->next_suppressed + 1) % ALERT_SUPPRESSED;
    log_info("notification_suppressed", "key=%s cause=%s by=%s", key, cause, what);
}

void alerter_event(struct alerter *a, redisAsyncContext *ac, size_t i,
                   const struct state_event *e, int64_t now_ms)
{
    const struct nines_check *spec;
    const struct check_state *s;
    struct notification n;
    char inc[NINES_ID_LEN + 32], maint[128], what[NOTIFY_KEY_LEN];
    const char *parent;

    if (a == NULL || a->nroutes == 0)
        return;
    spec = collector_check_spec(a->c, i);
    s = collector_check_state(a->c, i);
    memset(&n, 0, sizeof(n));
    n.created_ms = now_ms;
    alert_labels(a, spec, &n);
    store_incident_id(spec->id, s->incident.start_ms, inc, sizeof(inc));
    switch (e->kind) {
    case EV_INCIDENT_OPEN:
    case EV_INCIDENT_CLOSE:
        n.state = e->kind == EV_INCIDENT_OPEN ? NOTIFY_FIRING : NOTIFY_RESOLVED;
        snprintf(n.rule, sizeof(n.rule), "check_down");
        snprintf(n.key, sizeof(n.key), "check_down/%s", inc);
        n.start_ms = s->incident.start_ms;
        n.end_ms = e->kind == EV_INCIDENT_CLOSE ? s->incident.end_ms : 0;
        snprintf(n.reason, sizeof(n.reason), "%s", s->incident.reason);
        snprintf(n.summary, sizeof(n.summary), "%s is %s: %.120s (%.60s)", spec->id,
                 n.state == NOTIFY_FIRING ? "DOWN" : "UP again", s->incident.message,
                 s->incident.locations);
        break;
    case EV_CHECK_STATE:
        if (e->to != CHECK_DEGRADED && e->from != CHECK_DEGRADED)
            return;
        n.state = e->to == CHECK_DEGRADED ? NOTIFY_FIRING : NOTIFY_RESOLVED;
        snprintf(n.rule, sizeof(n.rule), "degraded");
        snprintf(n.severity, sizeof(n.severity), "ticket");
        snprintf(what, sizeof(what), "degraded/%s", spec->id);
        alert_condition_key(a, what, n.state == NOTIFY_FIRING, e->t_ms, n.key, sizeof(n.key));
        n.start_ms = e->t_ms;
        snprintf(n.summary, sizeof(n.summary), "%s is %s", spec->id,
                 n.state == NOTIFY_FIRING ? "slower than its latency objective" : "fast again");
        break;
    case EV_LOCATION_SILENT:
    case EV_LOCATION_BACK:
        n.state = e->kind == EV_LOCATION_SILENT ? NOTIFY_FIRING : NOTIFY_RESOLVED;
        snprintf(n.rule, sizeof(n.rule), "probe_silent");
        snprintf(n.severity, sizeof(n.severity), "ticket");
        snprintf(n.location, sizeof(n.location), "%s", e->location);
        snprintf(what, sizeof(what), "probe_silent/%s/%s", e->location, spec->id);
        alert_condition_key(a, what, n.state == NOTIFY_FIRING, e->t_ms, n.key, sizeof(n.key));
        n.start_ms = e->t_ms;
        snprintf(n.summary, sizeof(n.summary), "probe at %s %s for %s", e->location,
                 n.state == NOTIFY_FIRING ? "is silent" : "reports again", spec->id);
        break;
    default:
        return;
    }
    if (e->kind == EV_INCIDENT_OPEN && (parent = alert_parent_down(a, spec)) != NULL) {
        alert_suppress(a, n.key, "dependency", parent);
        return;
    }
    if (e->kind == EV_INCIDENT_OPEN &&
        sla_maint_active(a->c, spec->id, s->incident.start_ms, maint, sizeof(maint)) > 0) {
        alert_suppress(a, n.key, "maintenance", maint);
        return;
    }
    if (n.state == NOTIFY_RESOLVED && alert_was_suppressed(a, n.key))
        return;
    if (alert_route(a, &n, now_ms) > 0 && ac != NULL) {
        char field[NOTIFY_KEY_LEN + 16], *json = alert_to_json(&n);

        /* inside the caller's MULTI: durable together with the state change */
        alert_pending_field(&n, field, sizeof(field));
        if (json != NULL)
            redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", ALERT_KEY_PENDING, field, json);
        free(json);
    }
}
