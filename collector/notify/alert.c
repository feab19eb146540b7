/* Alert rules, routing, grouping and escalation; see alert.h. */
#include <inttypes.h>
#include <stddef.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "nines/clock.h"
#include "nines/log.h"
#include "outbox.h"
#include "silence.h"
#include "sla.h"
#include "store.h"
#include "regexguard.h"

#define ALERT_GROUP_MAX 1000      /* members listed; more are counted */
#define ALERT_MAX_SENT 4          /* routes one alert went to */
#define ALERT_MAX_TO 32           /* receivers of one direct send */
#define ALERT_MAX_SILENCES 256
#define ALERT_COMMANDS_BATCH 100
#define ALERT_SILENCE_RELOAD_MS 30000

/* Where an alert went: a route (-1 = whichever match now, after a reload)
 * and the key the receivers know it by (its own, or its group's). */
struct alert_sent {
    int route;
    char key[NOTIFY_KEY_LEN];
};

struct alert_active {
    char what[NOTIFY_KEY_LEN];
    struct notification n;        /* as it fired */
    struct alert_sent sent[ALERT_MAX_SENT];
    size_t nsent;
    int waiting;                  /* in a route's group, not sent yet */
    int64_t fired_ms;             /* first sent; 0 while held or waiting */
    int64_t last_ms;              /* last sent or repeated */
    int repeats;
    int step;                     /* escalation steps taken */
    char ack_by[64];
    int64_t ack_ms;
    char held[96];                /* "dependency db", "maintenance m1", "silence ID", "" */
};

struct alert_route {
    const struct nines_route_cfg *cfg;   /* borrowed from the configuration */
    regex_t *re;                  /* per matcher, compiled when regex */
    unsigned char *compiled;      /* which re[] are compiled (freed without cfg) */
    size_t nre;
    struct notification *firing;  /* waiting for group_wait */
    size_t nfiring, extra_firing;
    int64_t first_ms;             /* oldest waiting notification */
    int64_t last_flush_ms;        /* last group sent ... */
    size_t last_flush_n;          /* ... and how many it held */
};

struct alerter {
    struct collector *c;
    struct outbox *ob;
    struct receiver_cfg *rx;      /* resolved receivers (secrets read) */
    size_t nrx;
    char (*pd_secret)[256];       /* per rx: PagerDuty V3 webhook secret, "" = none */
    struct alert_route *routes;
    size_t nroutes;
    struct alert_active *act;
    size_t nact, capact;
    struct silence *sil;
    size_t nsil;
    int64_t silences_loaded_ms;
    int commands_in_flight;
    int silences_in_flight;
    alert_command_cb *hook;
    void *hook_arg;
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

/* Sets label name of n (cut to its field). */
static void alert_label_set(struct notification *n, const char *name, const char *v)
{
    static const struct {
        const char *name;
        size_t off, len;
    } f[] = {
        { "check", offsetof(struct notification, check), sizeof(((struct notification *)0)->check) },
        { "service", offsetof(struct notification, service),
          sizeof(((struct notification *)0)->service) },
        { "customer", offsetof(struct notification, customer),
          sizeof(((struct notification *)0)->customer) },
        { "team", offsetof(struct notification, team), sizeof(((struct notification *)0)->team) },
        { "severity", offsetof(struct notification, severity),
          sizeof(((struct notification *)0)->severity) },
        { "location", offsetof(struct notification, location),
          sizeof(((struct notification *)0)->location) },
    };

    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (strcmp(f[i].name, name) == 0)
            snprintf((char *)n + f[i].off, f[i].len, "%s", v);
}

/* ---- configuration ------------------------------------------------------- */

/* A secret from its variable or file (nines_secret_read); -1 when it is
 * missing or empty while a source is named. */
static int alert_read_secret(const char *env, const char *file, char *out, size_t len)
{
    if (nines_secret_read(env, file, out, len, NULL) != 0)
        return -1;
    return (env != NULL || file != NULL) && out[0] == '\0' ? -1 : 0;
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
    }
    free(a->routes);
    a->routes = NULL;
    a->nroutes = 0;
}

static void alert_receivers_free(struct alerter *a)
{
    if (a->rx != NULL)
        explicit_bzero(a->rx, a->nrx * sizeof(*a->rx));     /* secrets */
    if (a->pd_secret != NULL)
        explicit_bzero(a->pd_secret, a->nrx * sizeof(*a->pd_secret));
    free(a->rx);
    free(a->pd_secret);
    a->rx = NULL;
    a->pd_secret = NULL;
    a->nrx = 0;
}

static void alert_load_receivers(struct alerter *a, const struct nines_config *cfg)
{
    a->rx = calloc(cfg->receivers_count + 1, sizeof(*a->rx));
    a->pd_secret = calloc(cfg->receivers_count + 1, sizeof(*a->pd_secret));
    if (a->rx == NULL || a->pd_secret == NULL) {
        alert_receivers_free(a);
        return;
    }
    for (size_t i = 0; i < cfg->receivers_count; i++) {
        const struct nines_receiver_cfg *rc = &cfg->receivers[i];
        struct receiver_cfg *r = &a->rx[a->nrx];

        if (receiver_kind_parse(rc->kind, &r->kind) != 0)
            continue;
        if (alert_read_secret(rc->secret_env, rc->secret_file, r->secret,
                              sizeof(r->secret)) != 0) {
            log_error("receiver_secret_missing", "receiver=%s source=%s", rc->name,
                      rc->secret_env ? rc->secret_env : rc->secret_file);
            continue;
        }
        if ((rc->webhook_secret_env != NULL || rc->webhook_secret_file != NULL) &&
            alert_read_secret(rc->webhook_secret_env, rc->webhook_secret_file,
                              a->pd_secret[a->nrx], sizeof(a->pd_secret[0])) != 0)
            log_error("receiver_secret_missing", "receiver=%s source=%s what=webhook_secret",
                      rc->name, rc->webhook_secret_env ? rc->webhook_secret_env
                                                       : rc->webhook_secret_file);
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
}

void alerter_reload(struct alerter *a)
{
    const struct nines_config *cfg = collector_config(a->c);

    alert_routes_free(a);
    alert_receivers_free(a);
    alert_load_receivers(a, cfg);
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
            if (nines_regcomp(&rt->re[j], rt->cfg->match[j].value, REG_EXTENDED | REG_NOSUB) != 0 &&
                regcomp(&rt->re[j], "$^", REG_EXTENDED | REG_NOSUB) != 0)
                continue;
            rt->compiled[j] = 1;
        }
    }
    /* route indexes mean something else now: resolve to whatever matches */
    for (size_t i = 0; i < a->nact; i++)
        for (size_t j = 0; j < a->act[i].nsent; j++)
            a->act[i].sent[j].route = -1;
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

static void alert_silences_free(struct alerter *a)
{
    for (size_t i = 0; i < a->nsil; i++)
        silence_clear(&a->sil[i]);
    free(a->sil);
    a->sil = NULL;
    a->nsil = 0;
}

void alerter_free(struct alerter *a)
{
    if (a == NULL)
        return;
    alert_routes_free(a);
    alert_receivers_free(a);
    alert_silences_free(a);
    free(a->act);
    free(a);
}

const char *alerter_pagerduty_secret(const struct alerter *a, const char *receiver)
{
    for (size_t i = 0; a != NULL && i < a->nrx; i++)
        if (a->rx[i].kind == RECEIVER_PAGERDUTY && strcmp(a->rx[i].name, receiver) == 0)
            return a->pd_secret[i][0] != '\0' ? a->pd_secret[i] : NULL;
    return NULL;
}

/* ---- matching ------------------------------------------------------------ */

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

/* ---- JSON of notifications and active alerts ------------------------------ */

static json_t *alert_n_json(const struct notification *n)
{
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s}",
                     "key", n->key, "state", (int)n->state, "rule", n->rule, "severity",
                     n->severity, "check", n->check, "service", n->service, "customer",
                     n->customer, "team", n->team, "location", n->location, "start_ms",
                     (json_int_t)n->start_ms, "end_ms", (json_int_t)n->end_ms, "created_ms",
                     (json_int_t)n->created_ms, "reason", n->reason, "summary", n->summary,
                     "details", n->details, "url", n->url);
}

static void alert_copy_str(json_t *o, const char *k, char *dst, size_t len)
{
    const char *v = json_string_value(json_object_get(o, k));

    snprintf(dst, len, "%s", v != NULL ? v : "");
}

static int alert_n_from(json_t *o, struct notification *n)
{
    int st;

    memset(n, 0, sizeof(*n));
    if (!json_is_object(o) || !json_is_integer(json_object_get(o, "state")))
        return -1;
    st = (int)json_integer_value(json_object_get(o, "state"));
    n->state = st == NOTIFY_RESOLVED ? NOTIFY_RESOLVED
             : st == NOTIFY_ACKNOWLEDGED ? NOTIFY_ACKNOWLEDGED : NOTIFY_FIRING;
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
    return n->key[0] != '\0' ? 0 : -1;
}

static json_t *alert_active_json(const struct alert_active *e)
{
    json_t *sent = json_array();

    for (size_t j = 0; sent != NULL && j < e->nsent; j++)
        json_array_append_new(sent, json_pack("{s:i,s:s}", "route", e->sent[j].route, "key",
                                              e->sent[j].key));
    return json_pack("{s:s,s:o,s:o,s:b,s:I,s:I,s:i,s:i,s:s,s:I,s:s}", "what", e->what,
                     "notification", alert_n_json(&e->n), "sent", sent, "waiting", e->waiting,
                     "fired_ms", (json_int_t)e->fired_ms, "last_ms", (json_int_t)e->last_ms,
                     "repeats", e->repeats, "step", e->step, "ack_by", e->ack_by, "ack_ms",
                     (json_int_t)e->ack_ms, "held", e->held);
}

static int alert_active_from(const char *text, size_t len, struct alert_active *e)
{
    json_t *o = json_loadb(text, len, 0, NULL), *sent;
    int rc = -1;

    memset(e, 0, sizeof(*e));
    if (json_is_object(o) && alert_n_from(json_object_get(o, "notification"), &e->n) == 0) {
        alert_copy_str(o, "what", e->what, sizeof(e->what));
        sent = json_object_get(o, "sent");
        for (size_t j = 0; j < json_array_size(sent) && e->nsent < ALERT_MAX_SENT; j++) {
            json_t *s = json_array_get(sent, j);

            e->sent[e->nsent].route = -1;     /* routes may differ since */
            alert_copy_str(s, "key", e->sent[e->nsent].key, NOTIFY_KEY_LEN);
            if (e->sent[e->nsent].key[0] != '\0')
                e->nsent++;
        }
        e->waiting = json_is_true(json_object_get(o, "waiting"));
        e->fired_ms = json_integer_value(json_object_get(o, "fired_ms"));
        e->last_ms = json_integer_value(json_object_get(o, "last_ms"));
        e->repeats = (int)json_integer_value(json_object_get(o, "repeats"));
        e->step = (int)json_integer_value(json_object_get(o, "step"));
        alert_copy_str(o, "ack_by", e->ack_by, sizeof(e->ack_by));
        e->ack_ms = json_integer_value(json_object_get(o, "ack_ms"));
        alert_copy_str(o, "held", e->held, sizeof(e->held));
        rc = e->what[0] != '\0' ? 0 : -1;
    }
    json_decref(o);
    return rc;
}

/* ---- the active table ---------------------------------------------------- */

static struct alert_active *alert_find(struct alerter *a, const char *what)
{
    for (size_t i = 0; i < a->nact; i++)
        if (strcmp(a->act[i].what, what) == 0)
            return &a->act[i];
    return NULL;
}

static struct alert_active *alert_add(struct alerter *a, const char *what)
{
    if (a->nact == a->capact) {
        size_t cap = a->capact ? a->capact * 2 : 64;
        struct alert_active *grown = realloc(a->act, cap * sizeof(*grown));

        if (grown == NULL)
            return NULL;
        a->act = grown;
        a->capact = cap;
    }
    memset(&a->act[a->nact], 0, sizeof(a->act[0]));
    snprintf(a->act[a->nact].what, NOTIFY_KEY_LEN, "%s", what);
    return &a->act[a->nact++];
}

static void alert_remove(struct alerter *a, struct alert_active *e)
{
    size_t i = (size_t)(e - a->act);

    memmove(&a->act[i], &a->act[i + 1], (a->nact - i - 1) * sizeof(a->act[0]));
    a->nact--;
}

/* Writes e (or, with del, its removal) on ac. */
static void alert_persist(redisAsyncContext *ac, const struct alert_active *e, int del)
{
    json_t *o;
    char *text;

    if (ac == NULL)
        return;
    if (del) {
        redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", ALERT_KEY_ACTIVE, e->what);
        return;
    }
    o = alert_active_json(e);
    text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text != NULL)
        redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", ALERT_KEY_ACTIVE, e->what, text);
    free(text);
    json_decref(o);
}

/* ---- sending ------------------------------------------------------------- */

/* The notifications of one send: their pending fields go once the outbox has
 * taken every request made from them. */
struct alert_flush {
    struct alerter *a;
    size_t waiting;          /* outbox enqueues not yet answered, plus a hold */
    int failed;
    size_t n;
    char (*fields)[NOTIFY_KEY_LEN + 32];
};

static void alert_flush_done(struct alert_flush *f)
{
    redisAsyncContext *ac = collector_redis(f->a->c);

    for (size_t i = 0; !f->failed && ac != NULL && i < f->n; i++)
        redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", ALERT_KEY_PENDING, f->fields[i]);
    free(f->fields);
    free(f);
}

static struct alert_flush *alert_flush_new(struct alerter *a, size_t n)
{
    struct alert_flush *f = calloc(1, sizeof(*f));

    if (f != NULL && n > 0 && (f->fields = calloc(n, sizeof(*f->fields))) == NULL) {
        free(f);
        f = NULL;
    }
    if (f == NULL) {
        log_error("out_of_memory", "where=alert_flush");
        return NULL;
    }
    f->a = a;
    f->waiting = 1;      /* held until every send is queued */
    return f;
}

static void alert_flush_release(struct alert_flush *f)
{
    if (--f->waiting == 0)
        alert_flush_done(f);
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
    alert_flush_release(q->flush);
    free(q);
}

/* Queues n for one receiver; tag ("" or r2, e1 ...) tells repeats apart in
 * the outbox id, which is stable so that a replay queues nothing new. */
static void alert_send_one(struct alerter *a, const char *receiver, const struct notification *n,
                           const char *tag, int64_t now_ms, struct alert_flush *f)
{
    const struct receiver_cfg *rc = alert_receiver(a, receiver);
    struct notify_request req;
    struct alert_enqueue *q;

    if (rc == NULL)
        return;
    if (notify_build(rc, n, now_ms, &req) != 0) {
        log_error("notification_build_failed", "receiver=%s key=%s", rc->name, n->key);
        return;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        f->failed = 1;
        notify_request_clear(&req);
        return;
    }
    snprintf(q->id, sizeof(q->id), "%s/%s/%s%s%s", rc->name, n->key, notify_state_name(n->state),
             tag[0] ? "/" : "", tag);
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

/* A set of receiver names, each once. */
struct alert_to {
    const char *name[ALERT_MAX_TO];
    size_t n;
};

static void alert_to_add(struct alert_to *t, char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t j;

        for (j = 0; j < t->n && strcmp(t->name[j], names[i]) != 0; j++)
            ;
        if (j == t->n && t->n < ALERT_MAX_TO)
            t->name[t->n++] = names[i];
    }
}

/* The receivers of route rt, plus those of the escalation steps taken. */
static void alert_to_route(struct alert_to *t, const struct alert_route *rt, int steps)
{
    alert_to_add(t, rt->cfg->receivers, rt->cfg->receivers_count);
    for (int s = 0; s < steps && (size_t)s < rt->cfg->escalate_count; s++)
        alert_to_add(t, rt->cfg->escalate[s].to, rt->cfg->escalate[s].to_count);
}

/* The routes n goes to: the first match, and on while routes say continue. */
static size_t alert_matching(const struct alerter *a, const struct notification *n, int *out,
                             size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < a->nroutes && k < max; i++) {
        if (!alert_route_matches(&a->routes[i], n))
            continue;
        out[k++] = (int)i;
        if (!a->routes[i].cfg->continue_matching)
            break;
    }
    return k;
}

/* "KEY|STATE[|TAG]": a notification's field in the pending hash. */
static void alert_pending_field(const struct notification *n, const char *tag, char *out,
                                size_t len)
{
    snprintf(out, len, "%s|%s%s%s", n->key, notify_state_name(n->state), tag[0] ? "|" : "",
             tag);
}

/* Writes n to the pending hash on ac (NULL: not at all) with the receivers
 * it is for (none: it is routed, grouped). */
static void alert_pending_write(redisAsyncContext *ac, const struct notification *n,
                                const char *tag, const struct alert_to *to)
{
    char field[NOTIFY_KEY_LEN + 32], *text;
    json_t *o = alert_n_json(n), *arr;

    if (ac == NULL || o == NULL) {
        json_decref(o);
        return;
    }
    if (to != NULL && (arr = json_array()) != NULL) {
        for (size_t i = 0; i < to->n; i++)
            json_array_append_new(arr, json_string(to->name[i]));
        json_object_set_new(o, "to", arr);
        json_object_set_new(o, "tag", json_string(tag));
    }
    alert_pending_field(n, tag, field, sizeof(field));
    text = json_dumps(o, JSON_COMPACT);
    if (text != NULL)
        redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", ALERT_KEY_PENDING, field, text);
    free(text);
    json_decref(o);
}

/* Sends n now to the receivers in to (its pending field goes once queued). */
static void alert_send_direct(struct alerter *a, const struct notification *n, const char *tag,
                              const struct alert_to *to, int64_t now_ms)
{
    struct alert_flush *f = alert_flush_new(a, 1);

    if (f == NULL)
        return;            /* stays pending: sent after a restart */
    f->n = 1;
    alert_pending_field(n, tag, f->fields[0], sizeof(f->fields[0]));
    for (size_t i = 0; i < to->n; i++)
        alert_send_one(a, to->name[i], n, tag, now_ms, f);
    alert_flush_release(f);
}

/* Our own transaction for what happens outside the ingest's (tick, API). */
static redisAsyncContext *alert_multi(struct alerter *a)
{
    redisAsyncContext *ac = collector_redis(a->c);

    if (ac != NULL)
        redisAsyncCommand(ac, NULL, NULL, "MULTI");
    return ac;
}

static void alert_exec(redisAsyncContext *ac)
{
    if (ac != NULL)
        redisAsyncCommand(ac, NULL, NULL, "EXEC");
}

/* ---- grouping ------------------------------------------------------------ */

/* Adds n to route rt's waiting group. */
static void alert_group_add(struct alert_route *rt, const struct notification *n, int64_t now)
{
    struct notification *grown;

    if (rt->nfiring + rt->extra_firing == 0)
        rt->first_ms = now;
    if (rt->nfiring >= ALERT_GROUP_MAX) {
        rt->extra_firing++;       /* counted in the grouped message, never dropped silently */
        return;
    }
    grown = realloc(rt->firing, (rt->nfiring + 1) * sizeof(*grown));
    if (grown == NULL) {
        rt->extra_firing++;
        return;
    }
    rt->firing = grown;
    grown[rt->nfiring++] = *n;
}

/* Takes the notification with key out of every waiting group. */
static void alert_group_remove(struct alerter *a, const char *key)
{
    for (size_t i = 0; i < a->nroutes; i++) {
        struct alert_route *rt = &a->routes[i];

        for (size_t j = 0; j < rt->nfiring; j++) {
            if (strcmp(rt->firing[j].key, key) != 0)
                continue;
            memmove(&rt->firing[j], &rt->firing[j + 1],
                    (rt->nfiring - j - 1) * sizeof(rt->firing[0]));
            rt->nfiring--;
            break;
        }
    }
}

/* Records that the alert with n's key went out on route r as key. */
static void alert_mark_sent(struct alerter *a, redisAsyncContext *ac, const char *nkey, int r,
                            const char *key, int64_t now)
{
    for (size_t i = 0; i < a->nact; i++) {
        struct alert_active *e = &a->act[i];

        if (strcmp(e->n.key, nkey) != 0)
            continue;
        if (e->nsent < ALERT_MAX_SENT) {
            e->sent[e->nsent].route = r;
            snprintf(e->sent[e->nsent].key, NOTIFY_KEY_LEN, "%s", key);
            e->nsent++;
        }
        e->waiting = 0;
        if (e->fired_ms == 0)
            e->fired_ms = now;
        e->last_ms = now;
        alert_persist(ac, e, 0);
        return;
    }
}

/* One notification for a route's group: the alert itself when alone, else a
 * summary listing every member under a key of the group's own. */
static void alert_group_flush(struct alerter *a, struct alert_route *rt, int64_t now)
{
    size_t n = rt->nfiring, used = 0;
    int r = (int)(rt - a->routes);
    redisAsyncContext *ac;
    struct notification g;
    struct alert_flush *f;
    struct alert_to to = { .n = 0 };

    if (n == 0)
        return;
    f = alert_flush_new(a, n);
    if (f == NULL)
        return;      /* the members stay pending in Redis: sent after a restart */
    f->n = n;
    for (size_t i = 0; i < n; i++)
        alert_pending_field(&rt->firing[i], "", f->fields[i], sizeof(f->fields[i]));
    g = rt->firing[0];
    if (n > 1 || rt->extra_firing > 0) {
        snprintf(g.key, sizeof(g.key), "group/%d/%" PRId64, r, rt->firing[0].created_ms);
        g.check[0] = g.location[0] = '\0';
        /* summaries are cut to fit: the details list every member */
        snprintf(g.summary, sizeof(g.summary), "%zu alerts firing: %.160s and %zu more",
                 n + rt->extra_firing, rt->firing[0].summary, n + rt->extra_firing - 1);
        g.details[0] = '\0';
        for (size_t i = 0; i < n && used + 2 < sizeof(g.details); i++)
            used += (size_t)snprintf(g.details + used, sizeof(g.details) - used, "%s\n",
                                     rt->firing[i].summary);
    }
    ac = alert_multi(a);
    for (size_t i = 0; i < n; i++)
        alert_mark_sent(a, ac, rt->firing[i].key, r, g.key, now);
    alert_exec(ac);
    alert_to_route(&to, rt, 0);
    for (size_t i = 0; i < to.n; i++)
        alert_send_one(a, to.name[i], &g, "", now, f);
    alert_flush_release(f);
    rt->last_flush_ms = now;
    rt->last_flush_n = n + rt->extra_firing;
    rt->nfiring = rt->extra_firing = 0;
}

/*
 * A route's group goes out group_wait after its first member arrived; while
 * a flood goes on (the route's last group had several members), the next
 * group also waits until group_interval after the last one.
 */
static void alert_flush_groups(struct alerter *a, int64_t now_ms, int all)
{
    for (size_t i = 0; a != NULL && i < a->nroutes; i++) {
        struct alert_route *rt = &a->routes[i];
        int64_t due = rt->first_ms + rt->cfg->group_wait_ms;

        if (rt->last_flush_n > 1 && rt->last_flush_ms + rt->cfg->group_interval_ms > due)
            due = rt->last_flush_ms + rt->cfg->group_interval_ms;
        if (rt->nfiring + rt->extra_firing == 0 || (!all && now_ms < due))
            continue;
        alert_group_flush(a, rt, now_ms);
    }
}

void alerter_flush(struct alerter *a, int64_t now_ms)
{
    alert_flush_groups(a, now_ms, 1);
}

/* Puts a firing alert into the groups of its routes; 0 when no route wants it. */
static size_t alert_route_firing(struct alerter *a, struct alert_active *e, int64_t now)
{
    int routes[8];
    size_t k = alert_matching(a, &e->n, routes, 8);

    for (size_t i = 0; i < k; i++)
        alert_group_add(&a->routes[routes[i]], &e->n, now);
    e->waiting = k > 0;
    return k;
}

/* ---- holds: dependencies, maintenance, silences --------------------------- */

/* A dependency of the check that is down now, or NULL. */
static const char *alert_parent_down(struct alerter *a, const char *check)
{
    long i = collector_check_index(a->c, check);
    const struct nines_check *spec;

    if (i < 0)
        return NULL;
    spec = collector_check_spec(a->c, (size_t)i);
    for (size_t j = 0; j < spec->depends_on_count; j++) {
        long p = collector_check_index(a->c, spec->depends_on[j]);

        if (p >= 0 && collector_check_state(a->c, (size_t)p)->state == CHECK_DOWN)
            return spec->depends_on[j];
    }
    return NULL;
}

/* What holds n back at at_ms (into why), or 0 when nothing does. */
static int alert_hold(struct alerter *a, const struct notification *n, int64_t at_ms,
                      int64_t now_ms, char *why, size_t len)
{
    const char *parent;
    char maint[64];

    if (n->check[0] != '\0' && (strcmp(n->rule, "check_down") == 0 ||
                                strcmp(n->rule, "degraded") == 0) &&
        (parent = alert_parent_down(a, n->check)) != NULL) {
        snprintf(why, len, "dependency %s", parent);
        return 1;
    }
    if (n->check[0] != '\0' &&
        sla_maint_active(a->c, n->check, at_ms, maint, sizeof(maint)) > 0 &&
        sla_maint_active(a->c, n->check, now_ms, maint, sizeof(maint)) > 0) {
        snprintf(why, len, "maintenance %s", maint);
        return 1;
    }
    for (size_t i = 0; i < a->nsil; i++) {
        if (silence_matches(&a->sil[i], n, now_ms)) {
            snprintf(why, len, "silence %s", a->sil[i].id);
            a->sil[i].matched = 1;
            return 1;
        }
    }
    return 0;
}

/* ---- conditions ----------------------------------------------------------- */

static void alert_link(struct alerter *a, struct notification *n)
{
    const char *base = collector_config(a->c)->alerting.public_url;
    size_t len = base != NULL ? strlen(base) : 0;
    char inc[NOTIFY_KEY_LEN];

    if (n->url[0] != '\0' || base == NULL)
        return;
    if (len > 0 && base[len - 1] == '/')
        len--;
    if (strncmp(n->key, "check_down/", 11) == 0) {
        snprintf(inc, sizeof(inc), "%s", n->key + 11);
        snprintf(n->url, sizeof(n->url), "%.*s/incidents/%s", (int)len, base, inc);
    } else if (n->check[0] != '\0') {
        snprintf(n->url, sizeof(n->url), "%.*s/checks/%s", (int)len, base, n->check);
    } else if (n->service[0] != '\0') {
        snprintf(n->url, sizeof(n->url), "%.*s/services/%s", (int)len, base, n->service);
    } else {
        snprintf(n->url, sizeof(n->url), "%.*s/", (int)len, base);
    }
}

int alerter_firing(const struct alerter *a, const char *what)
{
    for (size_t i = 0; a != NULL && i < a->nact; i++)
        if (strcmp(a->act[i].what, what) == 0)
            return 1;
    return 0;
}

/* Sends the resolution (or acknowledgement) of e to where it went. A member
 * of a group resolves with the group, once its last member does. */
static void alert_tell(struct alerter *a, redisAsyncContext *ac, const struct alert_active *e,
                       enum notify_state state, int64_t end_ms, const char *tag, int64_t now)
{
    for (size_t j = 0; j < e->nsent; j++) {
        struct notification m = e->n;
        struct alert_to to = { .n = 0 };
        int same = 0;

        for (size_t k = 0; k < j; k++)
            same |= strcmp(e->sent[k].key, e->sent[j].key) == 0;
        if (same)
            continue;
        if (state == NOTIFY_RESOLVED && strcmp(e->sent[j].key, e->n.key) != 0) {
            for (size_t i = 0; i < a->nact && !same; i++)
                for (size_t k = 0; &a->act[i] != e && k < a->act[i].nsent; k++)
                    same |= strcmp(a->act[i].sent[k].key, e->sent[j].key) == 0;
            if (same)
                continue;      /* the group still fires */
            snprintf(m.summary, sizeof(m.summary), "all alerts of the group resolved (last: "
                     "%.180s)", e->n.summary);
        }
        snprintf(m.key, sizeof(m.key), "%s", e->sent[j].key);
        m.state = state;
        m.end_ms = state == NOTIFY_RESOLVED ? end_ms : 0;
        m.created_ms = now;
        if (state == NOTIFY_ACKNOWLEDGED)
            snprintf(m.details, sizeof(m.details), "acknowledged by %s", e->ack_by);
        if (e->sent[j].route >= 0 && (size_t)e->sent[j].route < a->nroutes) {
            alert_to_route(&to, &a->routes[e->sent[j].route], e->step);
        } else {
            int routes[8];
            size_t k = alert_matching(a, &e->n, routes, 8);

            for (size_t i = 0; i < k; i++)
                alert_to_route(&to, &a->routes[routes[i]], e->step);
        }
        if (to.n == 0)
            continue;
        alert_pending_write(ac, &m, tag, &to);
        alert_send_direct(a, &m, tag, &to, now);
    }
}

void alerter_fire(struct alerter *a, redisAsyncContext *ac, const char *what,
                  const struct notification *n, int64_t now_ms)
{
    struct alert_active *e;
    char why[96];
    int own = ac == NULL;

    if (a == NULL)
        return;
    e = alert_find(a, what);
    if (e != NULL && strcmp(e->n.key, n->key) == 0)
        return;                   /* fires already (a replay) */
    if (own)
        ac = alert_multi(a);
    if (e != NULL)                /* fired again under a new key: end the old one */
        alerter_clear(a, ac, what, now_ms, now_ms);
    e = alert_add(a, what);
    if (e == NULL) {
        log_error("out_of_memory", "where=alerter_fire what=%s", what);
        if (own)
            alert_exec(ac);
        return;
    }
    e->n = *n;
    e->n.state = NOTIFY_FIRING;
    e->n.created_ms = now_ms;
    alert_link(a, &e->n);
    if (alert_hold(a, &e->n, n->start_ms > 0 ? n->start_ms : now_ms, now_ms, why,
                   sizeof(why))) {
        snprintf(e->held, sizeof(e->held), "%s", why);
        log_info("notification_held", "key=%s by=\"%s\"", e->n.key, why);
        if (strcmp(e->n.rule, "check_down") == 0 && strncmp(why, "dependency ", 11) == 0 &&
            ac != NULL)
            redisAsyncCommand(ac, NULL, NULL, "HSET %s%s caused_by %s", STORE_KEY_INCIDENT,
                              e->n.key + 11, why + 11);
    } else if (alert_route_firing(a, e, now_ms) > 0) {
        alert_pending_write(ac, &e->n, "", NULL);
    }
    alert_persist(ac, e, 0);
    if (own)
        alert_exec(ac);
}

void alerter_clear(struct alerter *a, redisAsyncContext *ac, const char *what, int64_t end_ms,
                   int64_t now_ms)
{
    struct alert_active *e = a != NULL ? alert_find(a, what) : NULL;
    struct alert_active copy;
    int own = ac == NULL;
    char field[NOTIFY_KEY_LEN + 32];

    if (e == NULL)
        return;
    if (own)
        ac = alert_multi(a);
    copy = *e;
    if (e->waiting) {             /* over before its group went out: nothing to say */
        alert_group_remove(a, e->n.key);
        alert_pending_field(&e->n, "", field, sizeof(field));
        if (ac != NULL)
            redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", ALERT_KEY_PENDING, field);
    }
    alert_persist(ac, e, 1);
    alert_remove(a, e);
    if (copy.nsent > 0)
        alert_tell(a, ac, &copy, NOTIFY_RESOLVED, end_ms, "", now_ms);
    if (own)
        alert_exec(ac);
}

/* ---- state events of checks ------------------------------------------------ */

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
    for (size_t i = 0; n->service[0] != '\0' && i < cfg->customers_count &&
                       n->customer[0] == '\0'; i++)
        for (size_t j = 0; j < cfg->customers[i].services_count; j++)
            if (strcmp(cfg->customers[i].services[j], n->service) == 0)
                snprintf(n->customer, sizeof(n->customer), "%s", cfg->customers[i].id);
}

void alerter_event(struct alerter *a, redisAsyncContext *ac, size_t i,
                   const struct state_event *e, int64_t now_ms)
{
    const struct nines_check *spec;
    const struct check_state *s;
    struct notification n;
    char inc[NINES_ID_LEN + 32], what[NOTIFY_KEY_LEN];

    if (a == NULL)
        return;
    spec = collector_check_spec(a->c, i);
    s = collector_check_state(a->c, i);
    memset(&n, 0, sizeof(n));
    n.created_ms = now_ms;
    alert_labels(a, spec, &n);
    switch (e->kind) {
    case EV_INCIDENT_OPEN:
        store_incident_id(spec->id, s->incident.start_ms, inc, sizeof(inc));
        snprintf(what, sizeof(what), "check_down/%s", spec->id);
        snprintf(n.rule, sizeof(n.rule), "check_down");
        snprintf(n.key, sizeof(n.key), "check_down/%s", inc);
        n.start_ms = s->incident.start_ms;
        snprintf(n.reason, sizeof(n.reason), "%s", s->incident.reason);
        snprintf(n.summary, sizeof(n.summary), "%s is DOWN: %.120s (%.60s)", spec->id,
                 s->incident.message, s->incident.locations);
        alerter_fire(a, ac, what, &n, now_ms);
        return;
    case EV_INCIDENT_CLOSE:
        snprintf(what, sizeof(what), "check_down/%s", spec->id);
        alerter_clear(a, ac, what, s->incident.end_ms, now_ms);
        return;
    case EV_CHECK_STATE:
        if (e->to != CHECK_DEGRADED && e->from != CHECK_DEGRADED)
            return;
        snprintf(what, sizeof(what), "degraded/%s", spec->id);
        if (e->to != CHECK_DEGRADED) {
            alerter_clear(a, ac, what, e->t_ms, now_ms);
            return;
        }
        snprintf(n.rule, sizeof(n.rule), "degraded");
        snprintf(n.severity, sizeof(n.severity), "ticket");
        snprintf(n.key, sizeof(n.key), "%.150s@%" PRId64, what, e->t_ms);
        n.start_ms = e->t_ms;
        snprintf(n.summary, sizeof(n.summary), "%s is slower than its latency objective",
                 spec->id);
        alerter_fire(a, ac, what, &n, now_ms);
        return;
    case EV_LOCATION_SILENT:
    case EV_LOCATION_BACK:
        snprintf(what, sizeof(what), "probe_silent/%s/%s", e->location, spec->id);
        if (e->kind == EV_LOCATION_BACK) {
            alerter_clear(a, ac, what, e->t_ms, now_ms);
            return;
        }
        snprintf(n.rule, sizeof(n.rule), "probe_silent");
        snprintf(n.severity, sizeof(n.severity), "ticket");
        snprintf(n.location, sizeof(n.location), "%s", e->location);
        snprintf(n.key, sizeof(n.key), "%.150s@%" PRId64, what, e->t_ms);
        n.start_ms = e->t_ms;
        snprintf(n.summary, sizeof(n.summary), "probe at %s is silent for %s", e->location,
                 spec->id);
        alerter_fire(a, ac, what, &n, now_ms);
        return;
    default:
        return;
    }
}

/* ---- restart --------------------------------------------------------------- */

void alerter_restore_active(struct alerter *a, const redisReply *r)
{
    size_t restored = 0;

    for (size_t i = 0; a != NULL && r != NULL && r->type == REDIS_REPLY_ARRAY &&
                       i + 1 < r->elements; i += 2) {
        struct alert_active e, *slot;

        if (alert_active_from(r->element[i + 1]->str, r->element[i + 1]->len, &e) != 0 ||
            alert_find(a, e.what) != NULL || (slot = alert_add(a, e.what)) == NULL)
            continue;
        e.waiting = 0;            /* pending notifications route it again */
        *slot = e;
        restored++;
    }
    if (restored > 0)
        log_info("alerts_restored", "count=%zu", restored);
}

void alerter_restore(struct alerter *a, const redisReply *r, int64_t now_ms)
{
    redisAsyncContext *ac = collector_redis(a->c);
    size_t restored = 0;

    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2) {
        json_t *o = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);
        json_t *to = json_object_get(o, "to");
        struct notification n;
        struct alert_active *e;
        int ok = 0;

        if (alert_n_from(o, &n) == 0 && json_is_array(to)) {
            struct alert_to t = { .n = 0 };
            const char *tag = json_string_value(json_object_get(o, "tag"));

            for (size_t j = 0; j < json_array_size(to) && t.n < ALERT_MAX_TO; j++)
                if (json_is_string(json_array_get(to, j)) &&
                    alert_receiver(a, json_string_value(json_array_get(to, j))) != NULL)
                    t.name[t.n++] = json_string_value(json_array_get(to, j));
            if (t.n > 0) {
                alert_send_direct(a, &n, tag != NULL ? tag : "", &t, now_ms);
                ok = 1;
            }
        } else if (alert_n_from(o, &n) == 0 && n.state == NOTIFY_FIRING) {
            for (size_t j = 0; j < a->nact && !ok; j++) {
                e = &a->act[j];
                if (strcmp(e->n.key, n.key) == 0 && e->nsent == 0)
                    ok = alert_route_firing(a, e, now_ms) > 0;
            }
        }
        json_decref(o);
        if (ok)
            restored++;
        else if (ac != NULL)    /* unreadable, done already, or no route wants it */
            redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", ALERT_KEY_PENDING,
                              r->element[i]->str);
    }
    if (restored > 0)
        log_info("notifications_restored", "count=%zu", restored);
}

/* ---- acknowledgement and resolution by hand ------------------------------- */

/* Whether target names e: its condition, its key, the key it went out as,
 * or the incident it is about. */
static int alert_named(const struct alert_active *e, const char *target)
{
    if (strcmp(e->what, target) == 0 || strcmp(e->n.key, target) == 0)
        return 1;
    if (strncmp(e->n.key, "check_down/", 11) == 0 && strcmp(e->n.key + 11, target) == 0)
        return 1;
    for (size_t j = 0; j < e->nsent; j++)
        if (strcmp(e->sent[j].key, target) == 0)
            return 1;
    return 0;
}

int alerter_ack(struct alerter *a, const char *target, const char *by, int64_t now_ms)
{
    redisAsyncContext *ac;
    char grp[ALERT_MAX_SENT][NOTIFY_KEY_LEN];
    size_t ngrp = 0;
    int touched = 0;

    if (a == NULL)
        return 0;
    ac = alert_multi(a);
    /* acknowledging one alert of a grouped page acknowledges the page */
    for (size_t i = 0; i < a->nact; i++) {
        struct alert_active *e = &a->act[i];

        if (!alert_named(e, target))
            continue;
        for (size_t j = 0; j < e->nsent && ngrp < ALERT_MAX_SENT; j++)
            if (strcmp(e->sent[j].key, e->n.key) != 0)
                snprintf(grp[ngrp++], NOTIFY_KEY_LEN, "%s", e->sent[j].key);
    }
    for (size_t i = 0; i < a->nact; i++) {
        struct alert_active *e = &a->act[i];
        int hit = alert_named(e, target);

        for (size_t g = 0; !hit && g < ngrp; g++)
            hit = alert_named(e, grp[g]);
        if (!hit || e->ack_ms != 0)
            continue;
        snprintf(e->ack_by, sizeof(e->ack_by), "%s", by != NULL && by[0] ? by : "unknown");
        e->ack_ms = now_ms;
        touched++;
        log_info("alert_acknowledged", "key=%s by=%s", e->n.key, e->ack_by);
        if (strncmp(e->n.key, "check_down/", 11) == 0 && ac != NULL)
            redisAsyncCommand(ac, NULL, NULL,
                              "EVAL %s 1 %s%s %s %" PRId64,
                              "if redis.call('EXISTS', KEYS[1]) == 1 and "
                              "redis.call('HEXISTS', KEYS[1], 'ack_by') == 0 then "
                              "redis.call('HSET', KEYS[1], 'ack_by', ARGV[1], 'ack_ms', ARGV[2]) "
                              "end return 0",
                              STORE_KEY_INCIDENT, e->n.key + 11, e->ack_by, now_ms);
        alert_persist(ac, e, 0);
        /* a group is told once: by its first member acknowledged */
        alert_tell(a, ac, e, NOTIFY_ACKNOWLEDGED, 0, "ack", now_ms);
    }
    alert_exec(ac);
    return touched;
}

int alerter_resolve(struct alerter *a, const char *target, const char *by, int64_t now_ms)
{
    int touched = 0;

    for (size_t i = 0; a != NULL && i < a->nact;) {
        char what[NOTIFY_KEY_LEN];

        if (!alert_named(&a->act[i], target)) {
            i++;
            continue;
        }
        snprintf(what, sizeof(what), "%s", a->act[i].what);
        log_info("alert_resolved_by_hand", "key=%s by=%s", a->act[i].n.key,
                 by != NULL ? by : "unknown");
        alerter_clear(a, NULL, what, now_ms, now_ms);
        touched++;
    }
    return touched;
}

/* ---- repeats, escalation, holds -------------------------------------------- */

/* The route of e that escalates (the first that has steps), or NULL. */
static const struct alert_route *alert_escalating_route(struct alerter *a,
                                                        const struct alert_active *e)
{
    int routes[8];
    size_t k;

    for (size_t j = 0; j < e->nsent; j++) {
        int r = e->sent[j].route;

        if (r >= 0 && (size_t)r < a->nroutes && a->routes[r].cfg->escalate_count > 0)
            return &a->routes[r];
    }
    k = alert_matching(a, &e->n, routes, 8);
    for (size_t i = 0; i < k; i++)
        if (a->routes[routes[i]].cfg->escalate_count > 0)
            return &a->routes[routes[i]];
    return NULL;
}

/* The shortest repeat_interval of e's routes (0: none known). */
static int64_t alert_repeat_ms(struct alerter *a, const struct alert_active *e)
{
    int64_t best = 0;

    for (size_t j = 0; j < e->nsent; j++) {
        int r = e->sent[j].route, routes[8];
        size_t k = 1;

        if (r < 0 || (size_t)r >= a->nroutes)
            k = alert_matching(a, &e->n, routes, 8);
        else
            routes[0] = r;
        for (size_t i = 0; i < k; i++) {
            int64_t v = a->routes[routes[i]].cfg->repeat_interval_ms;

            if (v > 0 && (best == 0 || v < best))
                best = v;
        }
    }
    return best;
}

static void alert_escalate(struct alerter *a, redisAsyncContext *ac, struct alert_active *e,
                           int64_t now)
{
    const struct alert_route *rt = alert_escalating_route(a, e);
    char tag[16];

    while (rt != NULL && (size_t)e->step < rt->cfg->escalate_count &&
           now - e->fired_ms >= rt->cfg->escalate[e->step].after_ms) {
        const struct nines_escalation *s = &rt->cfg->escalate[e->step];
        struct alert_to to = { .n = 0 };
        struct notification m = e->n;

        alert_to_add(&to, s->to, s->to_count);
        e->step++;
        snprintf(tag, sizeof(tag), "e%d", e->step);
        snprintf(m.key, sizeof(m.key), "%s", e->nsent > 0 ? e->sent[0].key : e->n.key);
        snprintf(m.details, sizeof(m.details), "escalated: not acknowledged %" PRId64
                 " min after the first page\n%.900s", (now - e->fired_ms) / 60000,
                 e->n.details);
        m.created_ms = now;
        alert_pending_write(ac, &m, tag, &to);
        alert_send_direct(a, &m, tag, &to, now);
        log_info("alert_escalated", "key=%s step=%d", e->n.key, e->step);
        alert_persist(ac, e, 0);
    }
}

static void alert_repeat(struct alerter *a, redisAsyncContext *ac, struct alert_active *e,
                         int64_t now)
{
    int64_t every = alert_repeat_ms(a, e);
    char tag[16];

    if (every <= 0 || now - e->last_ms < every)
        return;
    /* a group repeats once, for all its members: by the first one due */
    for (size_t i = 0; i < a->nact; i++) {
        struct alert_active *o = &a->act[i];

        if (o != e && o->nsent > 0 && e->nsent > 0 && strcmp(o->sent[0].key, e->sent[0].key) == 0)
            o->last_ms = now;
    }
    e->repeats++;
    e->last_ms = now;
    snprintf(tag, sizeof(tag), "r%d", e->repeats);
    alert_tell(a, ac, e, NOTIFY_FIRING, 0, tag, now);
    log_info("alert_repeated", "key=%s repeat=%d", e->n.key, e->repeats);
    alert_persist(ac, e, 0);
}

/* A held alert whose hold lifted goes out now, if it still fires. */
static void alert_unhold(struct alerter *a, redisAsyncContext *ac, struct alert_active *e,
                         int64_t now)
{
    char why[96];

    if (alert_hold(a, &e->n, now, now, why, sizeof(why))) {
        if (strcmp(why, e->held) != 0) {
            snprintf(e->held, sizeof(e->held), "%s", why);
            alert_persist(ac, e, 0);
        }
        return;
    }
    log_info("notification_released", "key=%s was=\"%s\"", e->n.key, e->held);
    e->held[0] = '\0';
    if (alert_route_firing(a, e, now) > 0)
        alert_pending_write(ac, &e->n, "", NULL);
    alert_persist(ac, e, 0);
}

/* ---- silences ---------------------------------------------------------------- */

static void alert_on_silences(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct alerter *a = privdata;
    redisReply *r = reply;
    struct silence *sil;
    size_t n = 0;

    (void)ac;
    a->silences_in_flight = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    sil = calloc(r->elements / 2 + 1, sizeof(*sil));
    if (sil == NULL)
        return;
    for (size_t i = 0; i + 1 < r->elements && n < ALERT_MAX_SILENCES; i += 2) {
        struct nines_err err = { 0 };

        if (silence_from_json(r->element[i + 1]->str, r->element[i + 1]->len, &sil[n],
                              &err) == 0)
            n++;
        else
            log_warn("silence_unreadable", "id=%s error=\"%s\"", r->element[i]->str, err.msg);
    }
    /* what this collector learnt since (matched, reminded) is kept */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < a->nsil; j++)
            if (strcmp(sil[i].id, a->sil[j].id) == 0) {
                sil[i].matched |= a->sil[j].matched;
                if (a->sil[j].reminded_ms > sil[i].reminded_ms)
                    sil[i].reminded_ms = a->sil[j].reminded_ms;
            }
    alert_silences_free(a);
    a->sil = sil;
    a->nsil = n;
}

void alerter_silences_changed(struct alerter *a)
{
    redisAsyncContext *ac = a != NULL ? collector_redis(a->c) : NULL;

    if (ac == NULL || a->silences_in_flight)
        return;
    a->silences_in_flight = 1;
    a->silences_loaded_ms = nines_wall_ms();
    if (redisAsyncCommand(ac, alert_on_silences, a, "HGETALL %s", SILENCE_KEY) != REDIS_OK)
        a->silences_in_flight = 0;
}

static void alert_silence_save(redisAsyncContext *ac, const struct silence *s)
{
    char *text = silence_to_json(s);

    if (text != NULL && ac != NULL)
        redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", SILENCE_KEY, s->id, text);
    free(text);
}

/* Expires silences, ends until-resolved ones, sends reminders. */
static void alert_silences_tick(struct alerter *a, redisAsyncContext *ac, int64_t now)
{
    int64_t remind = collector_config(a->c)->alerting.silence_reminder_ms;

    for (size_t i = 0; i < a->nsil;) {
        struct silence *s = &a->sil[i];
        int holding = 0, gone;
        char held[96];

        snprintf(held, sizeof(held), "silence %s", s->id);
        for (size_t j = 0; j < a->nact && !holding; j++)
            holding = strcmp(a->act[j].held, held) == 0;
        gone = silence_expired(s, now) || (s->until_resolved && s->matched && !holding);
        if (gone) {
            log_info("silence_ended", "id=%s", s->id);
            if (ac != NULL)
                redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", SILENCE_KEY, s->id);
            silence_clear(s);
            memmove(s, s + 1, (a->nsil - i - 1) * sizeof(*s));
            a->nsil--;
            continue;
        }
        if (remind > 0 && now >= s->start_ms + remind &&
            now - (s->reminded_ms > s->start_ms ? s->reminded_ms : s->start_ms) >= remind) {
            struct notification n;
            struct alert_to to = { .n = 0 };
            int routes[8];
            size_t k;
            char tag[24];

            memset(&n, 0, sizeof(n));
            for (size_t m = 0; m < s->nm; m++)
                if (!s->m[m].regex)
                    alert_label_set(&n, s->m[m].name, s->m[m].value);
            snprintf(n.rule, sizeof(n.rule), "silence_reminder");
            snprintf(n.severity, sizeof(n.severity), "ticket");
            snprintf(n.key, sizeof(n.key), "silence_reminder/%s", s->id);
            n.start_ms = s->start_ms;
            n.created_ms = now;
            snprintf(n.summary, sizeof(n.summary), "silence %.39s (by %.40s) has been on for %"
                     PRId64 " h: %.100s", s->id, s->by, (now - s->start_ms) / 3600000, s->comment);
            alert_link(a, &n);
            k = alert_matching(a, &n, routes, 8);
            for (size_t r = 0; r < k; r++)
                alert_to_route(&to, &a->routes[routes[r]], 0);
            s->reminded_ms = now;
            snprintf(tag, sizeof(tag), "m%" PRId64, now / 1000);
            if (to.n > 0) {
                alert_pending_write(ac, &n, tag, &to);
                alert_send_direct(a, &n, tag, &to, now);
            }
            alert_silence_save(ac, s);
            log_info("silence_reminder", "id=%s receivers=%zu", s->id, to.n);
        }
        i++;
    }
}

/* ---- commands from the CLI and the API (nines:commands) -------------------- */

static void alert_on_commands(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct alerter *a = privdata;
    redisReply *r = reply;
    int64_t now = nines_wall_ms();

    a->commands_in_flight = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return;
    for (size_t i = 0; i < r->elements; i++) {
        json_t *o = r->element[i]->type == REDIS_REPLY_STRING
                    ? json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL) : NULL;
        const char *op = json_string_value(json_object_get(o, "op"));
        const char *target = json_string_value(json_object_get(o, "target"));
        const char *by = json_string_value(json_object_get(o, "by"));

        if (op != NULL && strcmp(op, "ack") == 0 && target != NULL)
            alerter_ack(a, target, by, now);
        else if (op != NULL && strcmp(op, "resolve") == 0 && target != NULL)
            alerter_resolve(a, target, by, now);
        else if (op != NULL && strcmp(op, "silences") == 0)
            alerter_silences_changed(a);
        else if (op != NULL && a->hook != NULL)
            a->hook(op, o, a->hook_arg);
        else
            log_warn("command_unknown", "index=%zu", i);
        json_decref(o);
    }
    /* what was read goes; what came in since stays */
    redisAsyncCommand(ac, NULL, NULL, "LTRIM %s %d -1", ALERT_KEY_COMMANDS, (int)r->elements);
}

static void alert_poll_commands(struct alerter *a)
{
    redisAsyncContext *ac = collector_redis(a->c);

    if (ac == NULL || a->commands_in_flight)
        return;
    a->commands_in_flight = 1;
    if (redisAsyncCommand(ac, alert_on_commands, a, "LRANGE %s 0 %d", ALERT_KEY_COMMANDS,
                          ALERT_COMMANDS_BATCH - 1) != REDIS_OK)
        a->commands_in_flight = 0;
}

void alerter_set_command_hook(struct alerter *a, alert_command_cb *hook, void *arg)
{
    if (a != NULL) {
        a->hook = hook;
        a->hook_arg = arg;
    }
}

void alerter_tick(struct alerter *a, int64_t now_ms)
{
    redisAsyncContext *ac;

    if (a == NULL)
        return;
    alert_poll_commands(a);
    if (now_ms - a->silences_loaded_ms >= ALERT_SILENCE_RELOAD_MS)
        alerter_silences_changed(a);
    if (a->nact == 0 && a->nsil == 0) {
        alert_flush_groups(a, now_ms, 0);
        return;
    }
    ac = alert_multi(a);
    alert_silences_tick(a, ac, now_ms);
    for (size_t i = 0; i < a->nact; i++) {
        struct alert_active *e = &a->act[i];

        if (e->held[0] != '\0')
            alert_unhold(a, ac, e, now_ms);
        else if (e->ack_ms == 0 && e->nsent > 0 && !e->waiting) {
            alert_escalate(a, ac, e, now_ms);
            alert_repeat(a, ac, e, now_ms);
        }
    }
    alert_exec(ac);
    alert_flush_groups(a, now_ms, 0);
}

/* ---- views ------------------------------------------------------------------ */

json_t *alerter_json(const struct alerter *a)
{
    json_t *alerts = json_array(), *sil = json_array();

    for (size_t i = 0; a != NULL && alerts != NULL && i < a->nact; i++)
        json_array_append_new(alerts, alert_active_json(&a->act[i]));
    for (size_t i = 0; a != NULL && sil != NULL && i < a->nsil; i++) {
        char *text = silence_to_json(&a->sil[i]);

        if (text != NULL)
            json_array_append_new(sil, json_loads(text, 0, NULL));
        free(text);
    }
    return json_pack("{s:o,s:o}", "alerts", alerts, "silences", sil);
}
