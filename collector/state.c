/* Per-location state, quorum and incidents; see state.h. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "nines/err.h"
#include "state.h"

/* A location that sent nothing for this many intervals leaves the quorum. */
#define STATE_SILENT_INTERVALS 3
/* ... and is shown UNKNOWN after this many. */
#define STATE_UNKNOWN_INTERVALS 2

static const char *const state_names[] = { "UNKNOWN", "UP", "DOWN", "DEGRADED" };

const char *state_name(enum check_state_kind k)
{
    return (unsigned)k < 4 ? state_names[k] : "UNKNOWN";
}

int state_parse_name(const char *s, enum check_state_kind *k)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *k = (enum check_state_kind)i;
            return 0;
        }
    }
    return NINES_EINVAL;
}

void state_init(struct check_state *s, const char *id)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->last_total_us = -1;
}

int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

int stream_id_parse(const char *s, size_t len, struct stream_id *sid)
{
    char buf[48], *dash, *end;

    if (len == 0 || len >= sizeof(buf))
        return NINES_EPROTO;
    memcpy(buf, s, len);
    buf[len] = '\0';
    dash = strchr(buf, '-');
    if (dash == NULL || dash == buf || dash[1] == '\0' || dash[1] == '-' || buf[0] == '-')
        return NINES_EPROTO;
    *dash = '\0';
    errno = 0;
    sid->ms = strtoull(buf, &end, 10);
    if (*end != '\0' || errno != 0)
        return NINES_EPROTO;
    sid->seq = strtoull(dash + 1, &end, 10);
    if (*end != '\0' || errno != 0)
        return NINES_EPROTO;
    return 0;
}

static void state_emit(struct state_events *ev, enum state_event_kind kind,
                       const char *loc, enum check_state_kind from, enum check_state_kind to,
                       int64_t t_ms, int64_t t2_ms)
{
    struct state_event *e;

    if (ev == NULL || ev->n >= STATE_MAX_EVENTS)
        return;
    e = &ev->ev[ev->n++];
    e->kind = kind;
    e->from = from;
    e->to = to;
    e->t_ms = t_ms;
    e->t2_ms = t2_ms;
    snprintf(e->location, sizeof(e->location), "%s", loc ? loc : "");
}

size_t state_quorum(const struct nines_check *c, size_t reporting)
{
    if (reporting == 0)
        return SIZE_MAX;
    if (c->quorum < 0)
        return reporting;
    if (c->quorum > 0)
        return (size_t)c->quorum;
    return reporting / 2 + 1;
}

static struct loc_state *state_location(struct check_state *s, const char *name)
{
    struct loc_state *l;

    for (size_t i = 0; i < s->nloc; i++)
        if (strcmp(s->loc[i].name, name) == 0)
            return &s->loc[i];
    if (s->nloc >= STATE_MAX_LOCATIONS)
        return NULL;
    l = &s->loc[s->nloc++];
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", name);
    return l;
}

/* Appends name to the incident's location list once. */
static int state_incident_add_location(struct incident_state *in, const char *name)
{
    size_t n = strlen(in->locations), k = strlen(name);
    const char *p = in->locations;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == in->locations || p[-1] == ',') && (p[k] == ',' || p[k] == '\0'))
            return 0;
        p += k;
    }
    if (n + k + 2 > sizeof(in->locations))
        return 0;
    if (n > 0)
        in->locations[n++] = ',';
    memcpy(in->locations + n, name, k + 1);
    return 1;
}

static int state_is_down(const struct loc_state *l)
{
    return !l->silent && l->state == CHECK_DOWN;
}

/* The k-th earliest back-dated down start among reporting locations. */
static const struct loc_state *state_kth_down(const struct check_state *s, size_t k)
{
    const struct loc_state *pick[STATE_MAX_LOCATIONS];
    size_t n = 0;

    for (size_t i = 0; i < s->nloc; i++)
        if (state_is_down(&s->loc[i]))
            pick[n++] = &s->loc[i];
    if (k == 0 || k > n)
        return NULL;
    for (size_t i = 1; i < n; i++) {      /* insertion sort: n is small */
        const struct loc_state *x = pick[i];
        size_t j = i;

        for (; j > 0 && pick[j - 1]->since_ms > x->since_ms; j--)
            pick[j] = pick[j - 1];
        pick[j] = x;
    }
    return pick[k - 1];
}

static void state_set_check(struct check_state *s, enum check_state_kind to, int64_t at_ms,
                            struct state_events *ev)
{
    if (s->state == to)
        return;
    state_emit(ev, EV_CHECK_STATE, NULL, s->state, to, at_ms, 0);
    s->state = to;
    s->since_ms = at_ms;
}

/*
 * Re-derives the check's state and incident from its locations. changed is
 * the location whose transition (or silence) prompted this, end_ms the time
 * its down time ended (the first success of its recovering streak, or its
 * last result when it fell silent).
 */
static void state_evaluate(struct check_state *s, const struct nines_check *c,
                           const struct loc_state *changed, int64_t end_ms,
                           struct state_events *ev)
{
    size_t reporting = 0, down = 0, degraded = 0, up = 0, k;
    int64_t up_since = INT64_MAX;
    struct incident_state *in = &s->incident;

    for (size_t i = 0; i < s->nloc; i++) {
        /* a location with results counts, confirmed or not: one still
         * working out its first state is reporting, just not down */
        if (s->loc[i].silent || s->loc[i].last_ms == 0)
            continue;
        reporting++;
        down += s->loc[i].state == CHECK_DOWN;
        degraded += s->loc[i].state == CHECK_DEGRADED;
        if (s->loc[i].state == CHECK_UP || s->loc[i].state == CHECK_DEGRADED) {
            up++;
            if (s->loc[i].since_ms < up_since)
                up_since = s->loc[i].since_ms;
        }
    }
    k = state_quorum(c, reporting);
    if (!in->open && down >= k) {
        const struct loc_state *first = state_kth_down(s, 1), *kth = state_kth_down(s, k);

        memset(in, 0, sizeof(*in));
        in->open = 1;
        in->start_ms = kth->since_ms;
        memcpy(in->reason, first->streak_reason, sizeof(in->reason));
        memcpy(in->message, first->streak_message, sizeof(in->message));
        for (size_t i = 0; i < s->nloc; i++)
            if (state_is_down(&s->loc[i]))
                state_incident_add_location(in, s->loc[i].name);
        state_emit(ev, EV_INCIDENT_OPEN, NULL, 0, 0, in->start_ms, 0);
        state_set_check(s, CHECK_DOWN, in->start_ms, ev);
        return;
    }
    if (in->open && down >= k) {
        for (size_t i = 0; i < s->nloc; i++)
            if (state_is_down(&s->loc[i]) && state_incident_add_location(in, s->loc[i].name))
                state_emit(ev, EV_INCIDENT_GROW, s->loc[i].name, 0, 0, s->loc[i].since_ms, 0);
        return;
    }
    if (in->open) {
        in->open = 0;
        in->end_ms = end_ms > in->start_ms ? end_ms : in->start_ms;
        state_emit(ev, EV_INCIDENT_CLOSE, changed ? changed->name : NULL, 0, 0, in->end_ms, 0);
    }
    if (reporting == 0) {
        state_set_check(s, CHECK_UNKNOWN, end_ms, ev);
    } else if (degraded > 0 && degraded + down >= k) {
        state_set_check(s, CHECK_DEGRADED, end_ms, ev);
    } else if (up > 0) {
        /* up again when the incident ended, or up for the first time when
         * the first location was */
        state_set_check(s, CHECK_UP, s->state == CHECK_DOWN ? in->end_ms : up_since, ev);
    } else if (s->state == CHECK_DOWN) {
        /* the incident ended but no location has confirmed UP yet */
        state_set_check(s, CHECK_UNKNOWN, in->end_ms, ev);
    }
    /* otherwise no location has a confirmed state yet: stay as we are */
}

static int state_result_degraded(const struct nines_check *c, const struct nines_result *r)
{
    if (strcmp(r->warning, "latency_over_objective") == 0)
        return 1;
    return c->kind == NINES_KIND_HTTP && c->http.latency_objective_ms > 0 &&
           r->total_us > c->http.latency_objective_ms * 1000;
}

/* One result into its location's streaks; returns 1 when its state changed. */
static int state_location_apply(struct loc_state *l, const struct nines_check *c,
                                const struct nines_result *r, struct state_events *ev)
{
    enum check_state_kind before = l->state, ok_state;
    int ok = r->outcome == NINES_OUTCOME_OK;

    if (ok) {
        if (l->ok_streak++ == 0)
            l->streak_start_ms = r->start_ms;
        l->fail_streak = 0;
        ok_state = state_result_degraded(c, r) ? CHECK_DEGRADED : CHECK_UP;
        if (l->state == CHECK_DOWN && l->ok_streak >= c->successes_to_up) {
            l->state = ok_state;
            l->since_ms = l->streak_start_ms;   /* back-dated recovery */
        } else if (l->state != CHECK_DOWN && l->state != ok_state) {
            l->state = ok_state;
            l->since_ms = r->start_ms;
        }
    } else {
        if (l->fail_streak++ == 0) {
            l->streak_start_ms = r->start_ms;
            memcpy(l->streak_reason, r->reason, sizeof(l->streak_reason));
            memcpy(l->streak_message, r->message, sizeof(l->streak_message));
        }
        l->ok_streak = 0;
        /* a push check is down at its first missed (or failed) ping */
        if (l->state != CHECK_DOWN &&
            l->fail_streak >= (c->kind == NINES_KIND_PUSH ? 1 : c->failures_to_down)) {
            l->state = CHECK_DOWN;
            l->since_ms = l->streak_start_ms;   /* back-dated */
        }
    }
    if (l->state == before)
        return 0;
    state_emit(ev, EV_LOCATION_STATE, l->name, before, l->state, l->since_ms, 0);
    return 1;
}

static void state_note_result(struct check_state *s, const struct nines_result *r)
{
    s->results++;
    s->last_total_us = r->total_us;
    s->last_code = r->code;
    s->last_outcome = r->outcome;
    memcpy(s->last_location, r->location, sizeof(s->last_location));
    if (r->outcome != NINES_OUTCOME_OK) {
        s->last_error_ms = r->start_ms;
        memcpy(s->last_error_reason, r->reason, sizeof(s->last_error_reason));
        memcpy(s->last_error_message, r->message, sizeof(s->last_error_message));
    }
}

int state_apply(struct check_state *s, const struct nines_check *c,
                const struct nines_result *r, struct stream_id sid, struct state_events *ev)
{
    struct loc_state *l;
    int64_t gap_from;
    int was_silent;

    if (stream_id_cmp(sid, s->applied) <= 0)
        return 1;
    l = state_location(s, r->location);
    if (l == NULL)
        return -1;
    s->applied = sid;
    /* no data from anywhere for two intervals before this result: a gap */
    gap_from = s->last_ms + STATE_UNKNOWN_INTERVALS * c->interval_ms;
    if (s->last_ms > 0 && r->start_ms > gap_from)
        state_emit(ev, EV_GAP, NULL, 0, 0, s->last_ms + c->interval_ms, r->start_ms);
    if (r->start_ms > s->last_ms)
        s->last_ms = r->start_ms;
    if (s->first_ms == 0 || r->start_ms < s->first_ms)
        s->first_ms = r->start_ms;
    state_note_result(s, r);
    memcpy(l->probe, r->probe, sizeof(l->probe));
    if (r->start_ms > l->last_ms) {
        l->last_ms = r->start_ms;
        l->last_end_ms = r->start_ms + (r->total_us > 0 ? r->total_us / 1000 : 0);
    }
    was_silent = l->silent;
    if (was_silent) {
        l->silent = 0;
        state_emit(ev, EV_LOCATION_BACK, l->name, 0, 0, r->start_ms, 0);
    }
    if (state_location_apply(l, c, r, ev) || was_silent || s->state == CHECK_UNKNOWN)
        state_evaluate(s, c, l, l->since_ms, ev);
    return 0;
}

void state_tick(struct check_state *s, const struct nines_check *c, int64_t now_ms,
                struct state_events *ev)
{
    int changed = 0;
    struct loc_state *last = NULL;

    for (size_t i = 0; i < s->nloc; i++) {
        struct loc_state *l = &s->loc[i];

        if (l->silent || l->last_ms == 0 ||
            now_ms - l->last_ms <= STATE_SILENT_INTERVALS * c->interval_ms)
            continue;
        l->silent = 1;
        changed = 1;
        last = l;
        state_emit(ev, EV_LOCATION_SILENT, l->name, 0, 0, l->last_ms, 0);
    }
    if (changed)   /* the incident, if one ends for lack of quorum, ends at
                    * the silent location's last result */
        state_evaluate(s, c, last, last->last_end_ms, ev);
    if (s->state != CHECK_UNKNOWN && s->state != CHECK_DOWN && s->last_ms > 0 &&
        now_ms - s->last_ms > STATE_UNKNOWN_INTERVALS * c->interval_ms)
        state_set_check(s, CHECK_UNKNOWN, s->last_ms + c->interval_ms, ev);
}

/* ---- stored form ------------------------------------------------------- */

/*
 * Version 2 of the stored form, written since v1 was found to be mostly
 * member names and zeros: with three locations about 1.1 KB, rewritten with
 * every batch that touches the check, so the bytes Redis parses and appends
 * to its AOF per result. In v2:
 *  - a member whose value is 0, "" or false is left out (a reader gets the
 *    same from json_integer_value / json_is_true of a missing member), at
 *    the top level and in "incident"; "incident" itself is left out when
 *    all of its members are;
 *  - each location is an array of STATE_LOC_FIELDS values, always all of
 *    them, in the order of state_put_loc (silent as 0/1). Leaving out its
 *    trailing defaults would only ever save ",0": a location exists once it
 *    sent a result, so last_ms and last_end_ms are never 0;
 *  - the other member names are v1's, for tools that read the document.
 * state_decode reads v1 as well.
 */
#define STATE_DOC_VERSION 2
#define STATE_LOC_FIELDS 12

/*
 * The stored form is written with lib/jsonw rather than through json_pack
 * and json_dumps: the collector stores a check's state with every batch that
 * touched it, and building and dumping a jansson tree (an object per member,
 * a malloc each) was 40 % of its CPU per result. The output is what
 * jansson's JSON_COMPACT makes of the same members, byte for byte for valid
 * UTF-8; where jansson refused a string that is not UTF-8 (and the whole
 * state went unstored), each bad byte becomes U+FFFD.
 */
static void state_put_kstr(struct jsonw *w, const char *key, const char *v)
{
    if (v[0] == '\0')
        return;
    jsonw_key(w, key);
    jsonw_str(w, v);
}

static void state_put_kint(struct jsonw *w, const char *key, int64_t v)
{
    if (v == 0)
        return;
    jsonw_key(w, key);
    jsonw_int(w, v);
}

/* [name, probe, state, fail_streak, ok_streak, streak_start_ms,
 *  streak_reason, streak_message, since_ms, last_ms, last_end_ms, silent] */
static void state_put_loc(struct jsonw *w, const struct loc_state *l)
{
    jsonw_arr_open(w);
    jsonw_str(w, l->name);
    jsonw_str(w, l->probe);
    jsonw_str(w, state_name(l->state));
    jsonw_int(w, l->fail_streak);
    jsonw_int(w, l->ok_streak);
    jsonw_int(w, l->streak_start_ms);
    jsonw_str(w, l->streak_reason);
    jsonw_str(w, l->streak_message);
    jsonw_int(w, l->since_ms);
    jsonw_int(w, l->last_ms);
    jsonw_int(w, l->last_end_ms);
    jsonw_int(w, l->silent != 0);
    jsonw_arr_close(w);
}

static void state_put_incident(struct jsonw *w, const struct incident_state *in)
{
    if (!in->open && in->start_ms == 0 && in->end_ms == 0 && in->reason[0] == '\0' &&
        in->message[0] == '\0' && in->locations[0] == '\0')
        return;
    jsonw_key(w, "incident");
    jsonw_obj_open(w);
    if (in->open) {
        jsonw_key(w, "open");
        jsonw_bool(w, 1);
    }
    state_put_kint(w, "start_ms", in->start_ms);
    state_put_kint(w, "end_ms", in->end_ms);
    state_put_kstr(w, "reason", in->reason);
    state_put_kstr(w, "message", in->message);
    state_put_kstr(w, "locations", in->locations);
    jsonw_obj_close(w);
}

static void state_encode_w(const struct check_state *s, struct jsonw *w)
{
    char applied[48];

    snprintf(applied, sizeof(applied), "%" PRIu64 "-%" PRIu64, s->applied.ms, s->applied.seq);
    jsonw_obj_open(w);
    state_put_kint(w, "v", STATE_DOC_VERSION);
    state_put_kstr(w, "id", s->id);
    state_put_kstr(w, "state", state_name(s->state));
    state_put_kint(w, "since_ms", s->since_ms);
    if (s->nloc > 0) {
        jsonw_key(w, "locations");
        jsonw_arr_open(w);
        for (size_t i = 0; i < s->nloc; i++)
            state_put_loc(w, &s->loc[i]);
        jsonw_arr_close(w);
    }
    state_put_incident(w, &s->incident);
    state_put_kint(w, "last_ms", s->last_ms);
    state_put_kint(w, "last_total_us", s->last_total_us);
    state_put_kint(w, "last_code", s->last_code);
    state_put_kstr(w, "last_outcome", nines_outcome_name(s->last_outcome));
    state_put_kstr(w, "last_location", s->last_location);
    state_put_kint(w, "last_error_ms", s->last_error_ms);
    state_put_kstr(w, "last_error_reason", s->last_error_reason);
    state_put_kstr(w, "last_error_message", s->last_error_message);
    state_put_kstr(w, "applied", applied);
    state_put_kint(w, "results", (int64_t)s->results);
    state_put_kint(w, "first_ms", s->first_ms);
    jsonw_obj_close(w);
}

char *state_encode(const struct check_state *s)
{
    struct jsonw w;

    if (jsonw_init_grow(&w, 2048) != 0)
        return NULL;
    state_encode_w(s, &w);
    return jsonw_take(&w);
}

int state_encode_to(const struct check_state *s, char **buf, size_t *cap, size_t *len)
{
    struct jsonw w;

    jsonw_init_reuse(&w, *buf, *cap);
    state_encode_w(s, &w);
    *buf = w.buf;
    *cap = w.cap;
    if (w.full)
        return NINES_ENOMEM;
    *len = w.len;
    return 0;
}

/* A JSON string into a fixed buffer; 0, or -1 (and dst empty). */
static int state_str(json_t *v, char *dst, size_t cap)
{
    const char *str = json_string_value(v);
    size_t n = str != NULL ? strlen(str) : 0;

    dst[0] = '\0';
    if (str == NULL || n >= cap)
        return -1;
    memcpy(dst, str, n + 1);
    return 0;
}

static int state_int(json_t *v, int64_t *out)
{
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* An integer that must fit an int. */
static int state_int32(json_t *v, int *out)
{
    int64_t x = 0;

    if (state_int(v, &x) != 0 || x < INT_MIN || x > INT_MAX)
        return -1;
    *out = (int)x;
    return 0;
}

/* v1: every member present. Copies a JSON string member; 0 or -1. */
static int state_get_str(json_t *o, const char *key, char *dst, size_t cap)
{
    return state_str(json_object_get(o, key), dst, cap);
}

static int state_get_int(json_t *o, const char *key, int64_t *out)
{
    return state_int(json_object_get(o, key), out);
}

/* v2: a member left out is "" (0, false); one present must have its type. */
static int state_opt_str(json_t *o, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, key);

    dst[0] = '\0';
    return v == NULL ? 0 : state_str(v, dst, cap);
}

static int state_opt_int(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    *out = 0;
    return v == NULL ? 0 : state_int(v, out);
}

static int state_opt_int32(json_t *o, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);

    *out = 0;
    return v == NULL ? 0 : state_int32(v, out);
}

static int state_opt_bool(json_t *o, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);

    *out = json_is_true(v);
    return v == NULL || json_is_boolean(v) ? 0 : -1;
}

/* A state name (never ""); the state kind in *k. */
static int state_parse_str(json_t *v, enum check_state_kind *k)
{
    char st[16];

    if (state_str(v, st, sizeof(st)) != 0)
        return -1;
    return state_parse_name(st, k) == 0 ? 0 : -1;
}

static int state_decode_loc_v1(json_t *o, struct loc_state *l)
{
    char st[16];
    int64_t fs = 0, os = 0;
    int bad = 0;

    memset(l, 0, sizeof(*l));
    bad |= state_get_str(o, "name", l->name, sizeof(l->name));
    bad |= state_get_str(o, "probe", l->probe, sizeof(l->probe));
    bad |= state_get_str(o, "state", st, sizeof(st));
    bad |= st[0] ? state_parse_name(st, &l->state) : -1;
    bad |= state_get_int(o, "fail_streak", &fs);
    bad |= state_get_int(o, "ok_streak", &os);
    bad |= state_get_int(o, "streak_start_ms", &l->streak_start_ms);
    bad |= state_get_str(o, "streak_reason", l->streak_reason, sizeof(l->streak_reason));
    bad |= state_get_str(o, "streak_message", l->streak_message, sizeof(l->streak_message));
    bad |= state_get_int(o, "since_ms", &l->since_ms);
    bad |= state_get_int(o, "last_ms", &l->last_ms);
    bad |= state_get_int(o, "last_end_ms", &l->last_end_ms);
    l->silent = json_is_true(json_object_get(o, "silent"));
    l->fail_streak = (int)fs;
    l->ok_streak = (int)os;
    return bad ? -1 : 0;
}

/* Version 1, as every collector before v2 stored it: all members, each
 * location an object. Its leniencies (silent and open read as "is true",
 * streaks cast to int) are kept, so an old document reads as it always did. */
static int state_decode_v1(struct check_state *s, json_t *doc)
{
    json_t *locs = json_object_get(doc, "locations"), *in = json_object_get(doc, "incident");
    char st[16] = "", outcome[16] = "", applied[48] = "";
    int64_t code = 0, results = 0;
    int bad = 0;

    bad |= state_get_str(doc, "state", st, sizeof(st));
    bad |= st[0] ? state_parse_name(st, &s->state) : -1;
    bad |= state_get_int(doc, "since_ms", &s->since_ms);
    if (!json_is_array(locs) || json_array_size(locs) > STATE_MAX_LOCATIONS ||
        !json_is_object(in))
        return -1;
    s->nloc = json_array_size(locs);
    for (size_t i = 0; i < s->nloc; i++)
        bad |= state_decode_loc_v1(json_array_get(locs, i), &s->loc[i]);
    s->incident.open = json_is_true(json_object_get(in, "open"));
    bad |= state_get_int(in, "start_ms", &s->incident.start_ms);
    bad |= state_get_int(in, "end_ms", &s->incident.end_ms);
    bad |= state_get_str(in, "reason", s->incident.reason, sizeof(s->incident.reason));
    bad |= state_get_str(in, "message", s->incident.message, sizeof(s->incident.message));
    bad |= state_get_str(in, "locations", s->incident.locations,
                         sizeof(s->incident.locations));
    bad |= state_get_int(doc, "last_ms", &s->last_ms);
    bad |= state_get_int(doc, "last_total_us", &s->last_total_us);
    bad |= state_get_int(doc, "last_code", &code);
    bad |= state_get_str(doc, "last_outcome", outcome, sizeof(outcome));
    bad |= outcome[0] ? nines_outcome_parse(outcome, &s->last_outcome) : -1;
    bad |= state_get_str(doc, "last_location", s->last_location, sizeof(s->last_location));
    bad |= state_get_int(doc, "last_error_ms", &s->last_error_ms);
    bad |= state_get_str(doc, "last_error_reason", s->last_error_reason,
                         sizeof(s->last_error_reason));
    bad |= state_get_str(doc, "last_error_message", s->last_error_message,
                         sizeof(s->last_error_message));
    bad |= state_get_str(doc, "applied", applied, sizeof(applied));
    bad |= stream_id_parse(applied, strlen(applied), &s->applied);
    bad |= state_get_int(doc, "results", &results);
    if (state_get_int(doc, "first_ms", &s->first_ms) != 0)
        s->first_ms = 0;     /* stored before the field existed */
    s->last_code = (int)code;
    s->results = (uint64_t)results;
    return bad ? -1 : 0;
}

/* One v2 location: exactly STATE_LOC_FIELDS values of the right types. */
static int state_decode_loc_v2(json_t *a, struct loc_state *l)
{
    int64_t silent = -1;
    int bad = 0;

    memset(l, 0, sizeof(*l));
    if (!json_is_array(a) || json_array_size(a) != STATE_LOC_FIELDS)
        return -1;
    bad |= state_str(json_array_get(a, 0), l->name, sizeof(l->name));
    bad |= state_str(json_array_get(a, 1), l->probe, sizeof(l->probe));
    bad |= state_parse_str(json_array_get(a, 2), &l->state);
    bad |= state_int32(json_array_get(a, 3), &l->fail_streak);
    bad |= state_int32(json_array_get(a, 4), &l->ok_streak);
    bad |= state_int(json_array_get(a, 5), &l->streak_start_ms);
    bad |= state_str(json_array_get(a, 6), l->streak_reason, sizeof(l->streak_reason));
    bad |= state_str(json_array_get(a, 7), l->streak_message, sizeof(l->streak_message));
    bad |= state_int(json_array_get(a, 8), &l->since_ms);
    bad |= state_int(json_array_get(a, 9), &l->last_ms);
    bad |= state_int(json_array_get(a, 10), &l->last_end_ms);
    bad |= state_int(json_array_get(a, 11), &silent);
    if (silent != 0 && silent != 1)
        return -1;
    l->silent = (int)silent;
    return bad ? -1 : 0;
}

static int state_decode_incident_v2(json_t *in, struct incident_state *i)
{
    int bad = 0;

    if (in == NULL)
        return 0;           /* closed and all default: left out */
    if (!json_is_object(in))
        return -1;
    bad |= state_opt_bool(in, "open", &i->open);
    bad |= state_opt_int(in, "start_ms", &i->start_ms);
    bad |= state_opt_int(in, "end_ms", &i->end_ms);
    bad |= state_opt_str(in, "reason", i->reason, sizeof(i->reason));
    bad |= state_opt_str(in, "message", i->message, sizeof(i->message));
    bad |= state_opt_str(in, "locations", i->locations, sizeof(i->locations));
    return bad;
}

/* Version 2 (see above): a member left out is 0, "" or false; "state",
 * "last_outcome" and "applied" are never "" and so must be there. */
static int state_decode_v2(struct check_state *s, json_t *doc)
{
    json_t *locs = json_object_get(doc, "locations");
    char outcome[16], applied[48];
    int64_t results = 0;
    int bad = 0;

    bad |= state_parse_str(json_object_get(doc, "state"), &s->state);
    bad |= state_opt_int(doc, "since_ms", &s->since_ms);
    if (locs != NULL && (!json_is_array(locs) || json_array_size(locs) > STATE_MAX_LOCATIONS))
        return -1;
    s->nloc = json_array_size(locs);
    for (size_t i = 0; i < s->nloc; i++)
        bad |= state_decode_loc_v2(json_array_get(locs, i), &s->loc[i]);
    bad |= state_decode_incident_v2(json_object_get(doc, "incident"), &s->incident);
    bad |= state_opt_int(doc, "last_ms", &s->last_ms);
    bad |= state_opt_int(doc, "last_total_us", &s->last_total_us);
    bad |= state_opt_int32(doc, "last_code", &s->last_code);
    bad |= state_opt_str(doc, "last_outcome", outcome, sizeof(outcome));
    bad |= nines_outcome_parse(outcome, &s->last_outcome) == 0 ? 0 : -1;
    bad |= state_opt_str(doc, "last_location", s->last_location, sizeof(s->last_location));
    bad |= state_opt_int(doc, "last_error_ms", &s->last_error_ms);
    bad |= state_opt_str(doc, "last_error_reason", s->last_error_reason,
                         sizeof(s->last_error_reason));
    bad |= state_opt_str(doc, "last_error_message", s->last_error_message,
                         sizeof(s->last_error_message));
    bad |= state_opt_str(doc, "applied", applied, sizeof(applied));
    bad |= stream_id_parse(applied, strlen(applied), &s->applied) == 0 ? 0 : -1;
    bad |= state_opt_int(doc, "results", &results);
    bad |= state_opt_int(doc, "first_ms", &s->first_ms);
    s->results = (uint64_t)results;
    return bad ? -1 : 0;
}

/*
 * Reads a stored document of version 1 or 2 into s, whose id is kept (the
 * key names the check; the document's "id" is not read). Anything else, a
 * version this collector does not know included, is NINES_EPROTO and leaves
 * s as state_init made it.
 */
int state_decode(struct check_state *s, const char *json, size_t len)
{
    json_t *doc = json_loadb(json, len, 0, NULL), *v = json_object_get(doc, "v");
    char id[NINES_ID_LEN];
    int rc = -1;

    memcpy(id, s->id, sizeof(id));
    id[sizeof(id) - 1] = '\0';
    state_init(s, id);      /* nothing of what s held before survives */
    if (json_is_object(doc) && json_is_integer(v)) {
        if (json_integer_value(v) == 1)
            rc = state_decode_v1(s, doc);
        else if (json_integer_value(v) == STATE_DOC_VERSION)
            rc = state_decode_v2(s, doc);
    }
    json_decref(doc);
    if (rc != 0) {
        state_init(s, id);
        return NINES_EPROTO;
    }
    return 0;
}
