/*
 * The collector's state machine: per-location streaks, quorum across
 * locations, back-dated incidents, silence, gaps, and the stored form.
 * Timelines are in seconds on a 10 s interval; every expected instant is
 * written out next to the result that causes it.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/err.h"
#include "state.h"

#define T0 INT64_C(1790000000000) /* a realistic epoch: 0 is never a result time */
#define S(sec) (T0 + (int64_t)(sec) * 1000)

static struct nines_check spec(int to_down, int to_up, int quorum)
{
    struct nines_check c;

    memset(&c, 0, sizeof(c));
    nines_check_defaults(&c);
    c.interval_ms = 10000;
    c.failures_to_down = to_down;
    c.successes_to_up = to_up;
    c.quorum = quorum;
    return c;
}

static uint64_t seq;

/* One result from loc at t seconds; ok, or failing with HTTP 500. */
static int feed(struct check_state *s, const struct nines_check *c, const char *loc,
                int64_t t_ms, int ok, struct state_events *ev)
{
    struct nines_result r;
    struct stream_id sid = { 1, ++seq };

    nines_result_init(&r);
    snprintf(r.check_id, sizeof(r.check_id), "web");
    snprintf(r.probe, sizeof(r.probe), "probe-%s", loc);
    snprintf(r.location, sizeof(r.location), "%s", loc);
    r.start_ms = t_ms;
    r.outcome = ok ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    r.code = ok ? 200 : 500;
    r.total_us = 20000;
    if (!ok) {
        snprintf(r.reason, sizeof(r.reason), "http_status");
        snprintf(r.message, sizeof(r.message), "HTTP 500 from %s", loc);
    }
    if (ev != NULL)
        memset(ev, 0, sizeof(*ev));
    return state_apply(s, c, &r, sid, ev);
}

static int has_event(const struct state_events *ev, enum state_event_kind k, int64_t t_ms)
{
    for (size_t i = 0; i < ev->n; i++)
        if (ev->ev[i].kind == k && ev->ev[i].t_ms == t_ms)
            return 1;
    return 0;
}

static int count_events(const struct state_events *ev, enum state_event_kind k)
{
    int n = 0;

    for (size_t i = 0; i < ev->n; i++)
        n += ev->ev[i].kind == k;
    return n;
}

Test(state, one_location_down_is_back_dated_and_recovery_too)
{
    struct nines_check c = spec(3, 2, 0);
    struct check_state s;
    struct state_events ev;

    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 1, &ev);
    cr_assert(eq(int, s.state, CHECK_UP));
    feed(&s, &c, "eu", S(10), 0, &ev);
    feed(&s, &c, "eu", S(20), 0, &ev);
    cr_assert(eq(int, s.state, CHECK_UP), "two of three failures do not confirm");
    feed(&s, &c, "eu", S(30), 0, &ev);                /* third failure confirms */
    cr_assert(eq(int, s.state, CHECK_DOWN));
    cr_assert(has_event(&ev, EV_INCIDENT_OPEN, S(10)), "back-dated to 10 s, not 30 s");
    cr_assert(eq(i64, s.incident.start_ms, S(10)));
    cr_assert(eq(str, s.incident.reason, "http_status"));
    cr_assert(eq(str, s.incident.locations, "eu"));
    feed(&s, &c, "eu", S(40), 1, &ev);
    cr_assert(eq(int, s.state, CHECK_DOWN), "one success of two");
    feed(&s, &c, "eu", S(50), 1, &ev);
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(has_event(&ev, EV_INCIDENT_CLOSE, S(40)), "ends at the first success");
    cr_assert(eq(i64, s.incident.end_ms, S(40)));
    cr_assert(eq(i64, s.since_ms, S(40)));
    cr_assert(eq(i64, s.last_error_ms, S(30)), "the last error is kept after recovery");
}

Test(state, one_of_three_locations_failing_opens_no_incident)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s;
    struct state_events ev;

    state_init(&s, "web");
    for (int t = 0; t < 100; t += 10) {
        feed(&s, &c, "eu", S(t), 0, &ev);
        feed(&s, &c, "us", S(t) + 1, 1, &ev);
        feed(&s, &c, "ap", S(t) + 2, 1, &ev);
        cr_assert(eq(int, count_events(&ev, EV_INCIDENT_OPEN), 0));
    }
    cr_assert(eq(int, s.loc[0].state, CHECK_DOWN), "eu itself is down");
    cr_assert(eq(int, s.state, CHECK_UP), "one broken probe never pages anyone");
    cr_assert(eq(int, s.incident.open, 0));
}

Test(state, two_of_three_open_one_incident_from_the_second_locations_down_time)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s;
    struct state_events ev;

    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 1, &ev);
    feed(&s, &c, "us", S(1), 1, &ev);
    feed(&s, &c, "ap", S(2), 1, &ev);
    /* eu fails from 10 s (confirmed at 20 s); us fails from 31 s (confirmed 41 s) */
    feed(&s, &c, "eu", S(10), 0, &ev);
    feed(&s, &c, "us", S(11), 1, &ev);
    feed(&s, &c, "eu", S(20), 0, &ev);
    cr_assert(eq(int, s.state, CHECK_UP), "1 of 3 down");
    feed(&s, &c, "us", S(21), 1, &ev);
    feed(&s, &c, "eu", S(30), 0, &ev);
    feed(&s, &c, "us", S(31), 0, &ev);
    feed(&s, &c, "eu", S(40), 0, &ev);
    feed(&s, &c, "us", S(41), 0, &ev);
    cr_assert(eq(int, s.state, CHECK_DOWN));
    cr_assert(eq(int, count_events(&ev, EV_INCIDENT_OPEN), 1));
    /* the quorum-th (2nd) location's back-dated down time: us at 31 s */
    cr_assert(eq(i64, s.incident.start_ms, S(31)));
    cr_assert(eq(str, s.incident.reason, "http_status"));
    cr_assert(eq(str, s.incident.message, "HTTP 500 from eu"), "the first failure");
    cr_assert(eq(str, s.incident.locations, "eu,us"));
    /* ap joins: the incident grows, no second one */
    feed(&s, &c, "ap", S(42), 0, &ev);
    feed(&s, &c, "ap", S(52), 0, &ev);
    cr_assert(eq(int, count_events(&ev, EV_INCIDENT_GROW), 1));
    cr_assert(eq(str, s.incident.locations, "eu,us,ap"));
    /* eu recovers at 60 s: two remain down, still an incident */
    feed(&s, &c, "eu", S(60), 1, &ev);
    cr_assert(eq(int, s.state, CHECK_DOWN));
    /* us recovers at 61 s: fewer than two remain down */
    feed(&s, &c, "us", S(61), 1, &ev);
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(has_event(&ev, EV_INCIDENT_CLOSE, S(61)));
    cr_assert(eq(i64, s.incident.end_ms - s.incident.start_ms, 30000), "exactly 30 s");
}

Test(state, quorum_all_and_fixed_n)
{
    struct nines_check all = spec(1, 1, -1), two = spec(1, 1, 2), maj = spec(1, 1, 0);
    struct check_state s;
    struct state_events ev;

    cr_assert(eq(sz, state_quorum(&all, 3), 3));
    cr_assert(eq(sz, state_quorum(&two, 3), 2));
    cr_assert(eq(sz, state_quorum(&maj, 4), 3), "majority of four is three");
    cr_assert(eq(sz, state_quorum(&maj, 1), 1));
    state_init(&s, "web");
    feed(&s, &all, "eu", S(0), 0, &ev);
    feed(&s, &all, "us", S(1), 0, &ev);
    feed(&s, &all, "ap", S(2), 1, &ev);
    cr_assert(ne(int, s.state, CHECK_DOWN), "all: two of three is not enough");
    feed(&s, &all, "ap", S(12), 0, &ev);
    cr_assert(eq(int, s.state, CHECK_DOWN));
    cr_assert(eq(i64, s.incident.start_ms, S(12)));
}

Test(state, a_silent_probe_leaves_the_quorum_and_opens_no_incident)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s;
    struct state_events ev;

    state_init(&s, "web");
    for (int t = 0; t <= 20; t += 10) {
        feed(&s, &c, "eu", S(t), 1, &ev);
        feed(&s, &c, "us", S(t) + 1, 1, &ev);
        feed(&s, &c, "ap", S(t) + 2, 1, &ev);
    }
    /* ap's probe dies after 22 s; 3 intervals later (at 52 s+) it is silent */
    for (int t = 30; t <= 60; t += 10) {
        feed(&s, &c, "eu", S(t), 1, &ev);
        feed(&s, &c, "us", S(t) + 1, 1, &ev);
        memset(&ev, 0, sizeof(ev));
        state_tick(&s, &c, S(t) + 5, &ev);
    }
    cr_assert(eq(int, s.loc[2].silent, 1));
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(int, s.incident.open, 0));
    /* now eu fails: 1 of the 2 reporting is not a majority of 2 */
    feed(&s, &c, "eu", S(70), 0, &ev);
    feed(&s, &c, "eu", S(80), 0, &ev);
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(int, count_events(&ev, EV_INCIDENT_OPEN), 0));
}

Test(state, silence_is_raised_once_and_cleared_when_the_probe_is_back)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s;
    struct state_events ev = { 0 };

    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 1, NULL);
    feed(&s, &c, "us", S(1), 1, NULL);
    state_tick(&s, &c, S(30), &ev);
    cr_assert(eq(int, count_events(&ev, EV_LOCATION_SILENT), 0), "3 intervals not passed");
    memset(&ev, 0, sizeof(ev));
    feed(&s, &c, "eu", S(35), 1, NULL);
    state_tick(&s, &c, S(32) + 1, &ev);
    cr_assert(eq(int, count_events(&ev, EV_LOCATION_SILENT), 1));
    cr_assert(eq(str, ev.ev[0].location, "us"));
    memset(&ev, 0, sizeof(ev));
    state_tick(&s, &c, S(33), &ev);
    cr_assert(eq(int, count_events(&ev, EV_LOCATION_SILENT), 0), "raised once");
    feed(&s, &c, "us", S(40), 1, &ev);
    cr_assert(eq(int, count_events(&ev, EV_LOCATION_BACK), 1));
}

Test(state, no_data_for_two_intervals_is_a_gap_and_unknown)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s;
    struct state_events ev = { 0 };

    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 1, NULL);
    feed(&s, &c, "eu", S(10), 1, NULL);
    state_tick(&s, &c, S(31), &ev);
    cr_assert(eq(int, s.state, CHECK_UNKNOWN));
    cr_assert(eq(i64, s.since_ms, S(20)), "unknown from the first missing result");
    feed(&s, &c, "eu", S(70), 1, &ev);
    /* nothing between the result at 10 s and the one at 70 s: [20 s, 70 s) */
    cr_assert(eq(int, count_events(&ev, EV_GAP), 1));
    for (size_t i = 0; i < ev.n; i++)
        if (ev.ev[i].kind == EV_GAP) {
            cr_assert(eq(i64, ev.ev[i].t_ms, S(20)));
            cr_assert(eq(i64, ev.ev[i].t2_ms, S(70)));
        }
    cr_assert(eq(int, s.state, CHECK_UP));
}

Test(state, over_the_latency_objective_is_degraded_not_down)
{
    struct nines_check c = spec(1, 1, 0);
    struct check_state s;
    struct nines_result r;
    struct stream_id sid = { 9, 1 };

    c.http.latency_objective_ms = 10;      /* results take 20 ms */
    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 1, NULL);
    cr_assert(eq(int, s.state, CHECK_DEGRADED));
    c.http.latency_objective_ms = 0;
    nines_result_init(&r);
    snprintf(r.location, sizeof(r.location), "eu");
    r.start_ms = S(10);
    r.total_us = 1000;
    cr_assert(eq(int, state_apply(&s, &c, &r, sid, NULL), 0));
    cr_assert(eq(int, s.state, CHECK_UP));
}

Test(state, replayed_entries_change_nothing)
{
    struct nines_check c = spec(1, 1, 0);
    struct check_state s;
    struct nines_result r;
    struct stream_id a = { 100, 0 }, older = { 99, 5 };

    state_init(&s, "web");
    nines_result_init(&r);
    snprintf(r.location, sizeof(r.location), "eu");
    r.start_ms = S(1);
    cr_assert(eq(int, state_apply(&s, &c, &r, a, NULL), 0));
    cr_assert(eq(int, state_apply(&s, &c, &r, a, NULL), 1));
    r.outcome = NINES_OUTCOME_FAIL;
    cr_assert(eq(int, state_apply(&s, &c, &r, older, NULL), 1));
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(u64, s.results, 1));
}

Test(state, stored_form_round_trips_mid_incident)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s, back;
    char *doc;

    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 0, NULL);
    feed(&s, &c, "us", S(1), 0, NULL);
    feed(&s, &c, "eu", S(10), 0, NULL);
    feed(&s, &c, "us", S(11), 0, NULL);
    cr_assert(eq(int, s.incident.open, 1));
    doc = state_encode(&s);
    cr_assert(doc != NULL);
    state_init(&back, "web");
    cr_assert(eq(int, state_decode(&back, doc, strlen(doc)), 0));
    cr_assert(eq(int, memcmp(&back, &s, sizeof(s)), 0), "restart resumes exactly");
    /* and the restarted state carries on: both recover, the incident ends */
    feed(&back, &c, "eu", S(20), 1, NULL);
    cr_assert(eq(int, back.incident.open, 0));
    cr_assert(eq(i64, back.incident.start_ms, S(1)));
    cr_assert(eq(i64, back.incident.end_ms, S(20)));
    free(doc);
}

Test(state, bad_stored_forms_are_refused)
{
    static const char *const bad[] = {
        "", "{", "[]", "{\"state\":\"UP\"}", "{\"state\":\"SIDEWAYS\",\"since_ms\":1}",
        "{\"state\":\"UP\",\"since_ms\":1,\"locations\":{},\"incident\":{}}",
    };
    struct check_state s;
    struct stream_id sid;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        state_init(&s, "web");
        cr_assert(eq(int, state_decode(&s, bad[i], strlen(bad[i])), NINES_EPROTO), "%s",
                  bad[i]);
        cr_assert(eq(int, s.state, CHECK_UNKNOWN));
        cr_assert(eq(str, s.id, "web"));
    }
    cr_assert(eq(int, stream_id_parse("1700000000000-5", 15, &sid), 0));
    cr_assert(eq(u64, sid.ms, 1700000000000ULL));
    cr_assert(eq(u64, sid.seq, 5));
    cr_assert(eq(int, stream_id_parse("-5", 2, &sid), NINES_EPROTO));
    cr_assert(eq(int, stream_id_parse("5", 1, &sid), NINES_EPROTO));
    cr_assert(eq(int, stream_id_parse("1-2-3", 5, &sid), NINES_EPROTO));
}

Test(state, unconfirmed_failures_leave_a_new_check_unknown)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s;
    struct state_events ev;

    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 0, &ev);
    cr_assert(eq(int, s.state, CHECK_UNKNOWN), "one failure of two: not UP, not DOWN");
    cr_assert(eq(int, count_events(&ev, EV_CHECK_STATE), 0));
    feed(&s, &c, "eu", S(10), 0, &ev);
    cr_assert(eq(int, s.state, CHECK_DOWN));
    cr_assert(eq(i64, s.since_ms, S(0)));
}

Test(state, first_up_is_dated_from_the_first_location_up)
{
    struct nines_check c = spec(2, 1, 0);
    struct check_state s;

    state_init(&s, "web");
    feed(&s, &c, "eu", S(0), 0, NULL);     /* eu unconfirmed */
    feed(&s, &c, "us", S(3), 1, NULL);     /* us UP at 3 s */
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(i64, s.since_ms, S(3)));
}

/* Version 1 of the stored form as jansson made it before state_encode was
 * written by hand (and state_encode then made byte for byte, until v2): what
 * users' Redis still holds, to be read as it always was. */
static char *reference_encode_v1(const struct check_state *s)
{
    json_t *locs = json_array(), *doc;
    char applied[48];
    char *out;

    for (size_t i = 0; i < s->nloc; i++) {
        const struct loc_state *l = &s->loc[i];

        json_array_append_new(
            locs, json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:s,s:s,s:I,s:I,s:I,s:b}", "name",
                            l->name, "probe", l->probe, "state", state_name(l->state),
                            "fail_streak", l->fail_streak, "ok_streak", l->ok_streak,
                            "streak_start_ms", (json_int_t)l->streak_start_ms,
                            "streak_reason", l->streak_reason, "streak_message",
                            l->streak_message, "since_ms", (json_int_t)l->since_ms, "last_ms",
                            (json_int_t)l->last_ms, "last_end_ms", (json_int_t)l->last_end_ms,
                            "silent", l->silent));
    }
    snprintf(applied, sizeof(applied), "%llu-%llu", (unsigned long long)s->applied.ms,
             (unsigned long long)s->applied.seq);
    doc = json_pack("{s:i,s:s,s:s,s:I,s:o,s:{s:b,s:I,s:I,s:s,s:s,s:s},s:I,s:I,s:i,s:s,s:s,"
                    "s:I,s:s,s:s,s:s,s:I,s:I}",
                    "v", 1, "id", s->id, "state", state_name(s->state), "since_ms",
                    (json_int_t)s->since_ms, "locations", locs, "incident", "open",
                    s->incident.open, "start_ms", (json_int_t)s->incident.start_ms, "end_ms",
                    (json_int_t)s->incident.end_ms, "reason", s->incident.reason, "message",
                    s->incident.message, "locations", s->incident.locations, "last_ms",
                    (json_int_t)s->last_ms, "last_total_us", (json_int_t)s->last_total_us,
                    "last_code", s->last_code, "last_outcome",
                    nines_outcome_name(s->last_outcome), "last_location", s->last_location,
                    "last_error_ms", (json_int_t)s->last_error_ms, "last_error_reason",
                    s->last_error_reason, "last_error_message", s->last_error_message,
                    "applied", applied, "results", (json_int_t)s->results, "first_ms",
                    (json_int_t)s->first_ms);
    if (doc == NULL)
        return NULL;
    out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return out;
}

/* Members of a version 2 document: left out when 0 or "". */
static void ref_int(json_t *o, const char *key, int64_t v)
{
    if (v != 0)
        json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void ref_str(json_t *o, const char *key, const char *v)
{
    if (v[0] != '\0')
        json_object_set_new(o, key, json_string(v));
}

/* Version 2 as jansson makes it from the rules in state.c, written apart
 * from the encoder: what state_encode must give byte for byte. */
static char *reference_encode_v2(const struct check_state *s)
{
    const struct incident_state *in = &s->incident;
    json_t *doc = json_object(), *locs = json_array(), *inc = json_object();
    char applied[48];
    char *out;

    snprintf(applied, sizeof(applied), "%llu-%llu", (unsigned long long)s->applied.ms,
             (unsigned long long)s->applied.seq);
    for (size_t i = 0; i < s->nloc; i++) {
        const struct loc_state *l = &s->loc[i];

        json_array_append_new(
            locs, json_pack("[s,s,s,i,i,I,s,s,I,I,I,i]", l->name, l->probe,
                            state_name(l->state), l->fail_streak, l->ok_streak,
                            (json_int_t)l->streak_start_ms, l->streak_reason, l->streak_message,
                            (json_int_t)l->since_ms, (json_int_t)l->last_ms,
                            (json_int_t)l->last_end_ms, l->silent ? 1 : 0));
    }
    if (in->open)
        json_object_set_new(inc, "open", json_true());
    ref_int(inc, "start_ms", in->start_ms);
    ref_int(inc, "end_ms", in->end_ms);
    ref_str(inc, "reason", in->reason);
    ref_str(inc, "message", in->message);
    ref_str(inc, "locations", in->locations);
    ref_int(doc, "v", 2);
    ref_str(doc, "id", s->id);
    ref_str(doc, "state", state_name(s->state));
    ref_int(doc, "since_ms", s->since_ms);
    if (s->nloc > 0)
        json_object_set(doc, "locations", locs);
    if (json_object_size(inc) > 0)
        json_object_set(doc, "incident", inc);
    ref_int(doc, "last_ms", s->last_ms);
    ref_int(doc, "last_total_us", s->last_total_us);
    ref_int(doc, "last_code", s->last_code);
    ref_str(doc, "last_outcome", nines_outcome_name(s->last_outcome));
    ref_str(doc, "last_location", s->last_location);
    ref_int(doc, "last_error_ms", s->last_error_ms);
    ref_str(doc, "last_error_reason", s->last_error_reason);
    ref_str(doc, "last_error_message", s->last_error_message);
    ref_str(doc, "applied", applied);
    ref_int(doc, "results", (int64_t)s->results);
    ref_int(doc, "first_ms", s->first_ms);
    out = json_dumps(doc, JSON_COMPACT);
    json_decref(locs);
    json_decref(inc);
    json_decref(doc);
    return out;
}

Test(state, encoder_matches_jansson_byte_for_byte)
{
    /* messages with everything JSON escapes, multi-byte UTF-8, negatives */
    static const char msgs[][64] = {
        "", "plain", "quote \" and \\ backslash", "ctl \b\f\n\r\t \x01\x1f end",
        "slash / del \x7f", "utf-8 \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    };
    struct nines_check c = spec(2, 1, 0);

    for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
        struct check_state s, back;
        char *mine, *ref;

        state_init(&s, "web");
        feed(&s, &c, "eu", S(0), 0, NULL);
        feed(&s, &c, "us", S(1), 0, NULL);
        feed(&s, &c, "eu", S(10), 0, NULL);
        feed(&s, &c, "us", S(11), 0, NULL);
        feed(&s, &c, "ap", S(12), 1, NULL);
        /* whole buffers, so what decode gives back compares with memcmp */
        memset(s.loc[0].streak_message, 0, sizeof(s.loc[0].streak_message));
        memset(s.incident.message, 0, sizeof(s.incident.message));
        memset(s.last_error_message, 0, sizeof(s.last_error_message));
        snprintf(s.loc[0].streak_message, sizeof(s.loc[0].streak_message), "%.63s", msgs[m]);
        snprintf(s.incident.message, sizeof(s.incident.message), "%.63s", msgs[m]);
        snprintf(s.last_error_message, sizeof(s.last_error_message), "%.63s", msgs[m]);
        s.last_total_us = -1;
        s.loc[1].silent = 1;
        mine = state_encode(&s);
        ref = reference_encode_v2(&s);
        cr_assert(mine != NULL && ref != NULL);
        cr_assert(eq(str, mine, ref), "message %zu", m);
        state_init(&back, "web");
        cr_assert(eq(int, state_decode(&back, mine, strlen(mine)), 0));
        cr_assert(eq(int, memcmp(&back, &s, sizeof(s)), 0));
        free(mine);
        free(ref);
        /* the same state stored by an older collector reads the same */
        ref = reference_encode_v1(&s);
        cr_assert(ref != NULL);
        state_init(&back, "web");
        cr_assert(eq(int, state_decode(&back, ref, strlen(ref)), 0), "v1, message %zu", m);
        cr_assert(eq(int, memcmp(&back, &s, sizeof(s)), 0), "v1, message %zu", m);
        free(ref);
    }
}

Test(state, encoder_replaces_bytes_that_are_not_utf8)
{
    static const char bad[][16] = {
        "a\xff" "b", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "x\xe2\x82",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct check_state s, back;
        char *doc;
        json_t *j;

        state_init(&s, "web");
        snprintf(s.last_error_message, sizeof(s.last_error_message), "%s", bad[i]);
        doc = state_encode(&s);
        cr_assert(doc != NULL, "case %zu", i);
        j = json_loads(doc, 0, NULL);
        cr_assert(j != NULL, "case %zu: jansson reads what we wrote: %s", i, doc);
        cr_assert(strstr(json_string_value(json_object_get(j, "last_error_message")),
                         "\xef\xbf\xbd") != NULL, "case %zu", i);
        json_decref(j);
        state_init(&back, "web");
        cr_assert(eq(int, state_decode(&back, doc, strlen(doc)), 0), "case %zu", i);
        free(doc);
    }
}

/* A state with every member set (not at its default), built by hand. */
static void rich_state(struct check_state *s)
{
    struct loc_state *eu = &s->loc[0], *us = &s->loc[1];

    state_init(s, "web");
    s->state = CHECK_DOWN;
    s->since_ms = S(1);
    s->nloc = 2;
    snprintf(eu->name, sizeof(eu->name), "eu");
    snprintf(eu->probe, sizeof(eu->probe), "probe-eu");
    eu->state = CHECK_DOWN;
    eu->fail_streak = 3;
    eu->streak_start_ms = S(0);
    snprintf(eu->streak_reason, sizeof(eu->streak_reason), "http_status");
    snprintf(eu->streak_message, sizeof(eu->streak_message), "HTTP 500 \"x\" \\ \x01 \xc3\xa9");
    eu->since_ms = S(0);
    eu->last_ms = S(20);
    eu->last_end_ms = S(20) + 23;
    snprintf(us->name, sizeof(us->name), "us");
    snprintf(us->probe, sizeof(us->probe), "probe-us");
    us->state = CHECK_UP;
    us->ok_streak = 7;
    us->streak_start_ms = S(1);
    us->since_ms = S(1);
    us->last_ms = S(21);
    us->last_end_ms = S(21) + 5;
    us->silent = 1;
    s->incident.open = 1;
    s->incident.start_ms = S(1);
    snprintf(s->incident.reason, sizeof(s->incident.reason), "http_status");
    snprintf(s->incident.message, sizeof(s->incident.message), "HTTP 500");
    snprintf(s->incident.locations, sizeof(s->incident.locations), "eu");
    s->first_ms = S(0);
    s->last_ms = S(21);
    s->last_total_us = 5000;
    s->last_code = 200;
    s->last_outcome = NINES_OUTCOME_OK;
    snprintf(s->last_location, sizeof(s->last_location), "us");
    s->last_error_ms = S(20);
    snprintf(s->last_error_reason, sizeof(s->last_error_reason), "http_status");
    snprintf(s->last_error_message, sizeof(s->last_error_message), "HTTP 500");
    s->applied = (struct stream_id){ 1790000021000, 7 };
    s->results = 42;
}

/* rich_state as the collector before v2 stored it (state_encode then,
 * copied byte for byte), and as v2 stores it. */
static const char rich_v1[] =
    "{\"v\":1,\"id\":\"web\",\"state\":\"DOWN\",\"since_ms\":1790000001000,\"locations\":["
    "{\"name\":\"eu\",\"probe\":\"probe-eu\",\"state\":\"DOWN\",\"fail_streak\":3,"
    "\"ok_streak\":0,\"streak_start_ms\":1790000000000,\"streak_reason\":\"http_status\","
    "\"streak_message\":\"HTTP 500 \\\"x\\\" \\\\ \\u0001 \xc3\xa9\","
    "\"since_ms\":1790000000000,\"last_ms\":1790000020000,\"last_end_ms\":1790000020023,"
    "\"silent\":false},{\"name\":\"us\",\"probe\":\"probe-us\",\"state\":\"UP\","
    "\"fail_streak\":0,\"ok_streak\":7,\"streak_start_ms\":1790000001000,"
    "\"streak_reason\":\"\",\"streak_message\":\"\",\"since_ms\":1790000001000,"
    "\"last_ms\":1790000021000,\"last_end_ms\":1790000021005,\"silent\":true}],"
    "\"incident\":{\"open\":true,\"start_ms\":1790000001000,\"end_ms\":0,"
    "\"reason\":\"http_status\",\"message\":\"HTTP 500\",\"locations\":\"eu\"},"
    "\"last_ms\":1790000021000,\"last_total_us\":5000,\"last_code\":200,"
    "\"last_outcome\":\"ok\",\"last_location\":\"us\",\"last_error_ms\":1790000020000,"
    "\"last_error_reason\":\"http_status\",\"last_error_message\":\"HTTP 500\","
    "\"applied\":\"1790000021000-7\",\"results\":42,\"first_ms\":1790000000000}";

static const char rich_v2[] =
    "{\"v\":2,\"id\":\"web\",\"state\":\"DOWN\",\"since_ms\":1790000001000,\"locations\":["
    "[\"eu\",\"probe-eu\",\"DOWN\",3,0,1790000000000,\"http_status\","
    "\"HTTP 500 \\\"x\\\" \\\\ \\u0001 \xc3\xa9\",1790000000000,1790000020000,"
    "1790000020023,0],"
    "[\"us\",\"probe-us\",\"UP\",0,7,1790000001000,\"\",\"\",1790000001000,1790000021000,"
    "1790000021005,1]],"
    "\"incident\":{\"open\":true,\"start_ms\":1790000001000,\"reason\":\"http_status\","
    "\"message\":\"HTTP 500\",\"locations\":\"eu\"},"
    "\"last_ms\":1790000021000,\"last_total_us\":5000,\"last_code\":200,"
    "\"last_outcome\":\"ok\",\"last_location\":\"us\",\"last_error_ms\":1790000020000,"
    "\"last_error_reason\":\"http_status\",\"last_error_message\":\"HTTP 500\","
    "\"applied\":\"1790000021000-7\",\"results\":42,\"first_ms\":1790000000000}";

/* Encodes s, checks the text against jansson's and that it decodes back
 * to s exactly; the document, for the caller to free. */
static char *assert_round_trip(const struct check_state *s, const char *what)
{
    struct check_state *back = malloc(sizeof(*back));
    char *doc = state_encode(s), *ref = reference_encode_v2(s);

    cr_assert(back != NULL && doc != NULL && ref != NULL, "%s", what);
    cr_assert(eq(str, doc, ref), "%s", what);
    memset(back, 0xa5, sizeof(*back));      /* nothing of before may survive */
    snprintf(back->id, sizeof(back->id), "%s", s->id);
    cr_assert(eq(int, state_decode(back, doc, strlen(doc)), 0), "%s: %s", what, doc);
    cr_assert(eq(int, memcmp(back, s, sizeof(*s)), 0), "%s: %s", what, doc);
    free(ref);
    free(back);
    return doc;
}

Test(state, v2_leaves_defaults_out_and_writes_locations_as_arrays)
{
    struct check_state s;
    char *doc;

    rich_state(&s);
    doc = assert_round_trip(&s, "every member set");
    cr_assert(eq(str, doc, (char *)rich_v2));
    free(doc);
    /* a check with no result yet: what is not 0, "" or false */
    state_init(&s, "web");
    doc = assert_round_trip(&s, "new check");
    cr_assert(eq(str, doc, "{\"v\":2,\"id\":\"web\",\"state\":\"UNKNOWN\","
                           "\"last_total_us\":-1,\"last_outcome\":\"ok\",\"applied\":\"0-0\"}"));
    free(doc);
    /* an open incident with nothing else set still says it is open */
    s.incident.open = 1;
    doc = assert_round_trip(&s, "bare open incident");
    cr_assert(strstr(doc, "\"incident\":{\"open\":true}") != NULL, "%s", doc);
    free(doc);
}

/* s with n locations whose strings are as long as they may be, and values
 * at the edges of their types. */
static void extreme_state(struct check_state *s, size_t n, char fill)
{
    state_init(s, "check-with-a-name-as-long-as-an-id-may-be-0123456789abcdefghijklm");
    s->state = CHECK_DEGRADED;
    s->since_ms = INT64_MAX;
    s->nloc = n;
    for (size_t i = 0; i < n; i++) {
        struct loc_state *l = &s->loc[i];

        memset(l->name, fill, sizeof(l->name) - 1);
        l->name[0] = (char)('A' + i);       /* names differ */
        memset(l->probe, 'p', sizeof(l->probe) - 1);
        l->state = (enum check_state_kind)(i % 4);
        l->fail_streak = i % 2 ? INT_MAX : 0;
        l->ok_streak = i % 2 ? 0 : INT_MAX;
        l->streak_start_ms = i % 3 == 0 ? INT64_MIN : -1;
        memset(l->streak_reason, fill, sizeof(l->streak_reason) - 1);
        memset(l->streak_message, fill, sizeof(l->streak_message) - 1);
        l->since_ms = INT64_MIN + (int64_t)i;
        l->last_ms = INT64_MAX - (int64_t)i;
        l->last_end_ms = i % 2 ? 0 : INT64_MAX;
        l->silent = (int)(i % 2);
    }
    /* the last incident, closed, is kept */
    s->incident.open = 0;
    s->incident.start_ms = INT64_MIN;
    s->incident.end_ms = INT64_MAX;
    memset(s->incident.reason, fill, sizeof(s->incident.reason) - 1);
    memset(s->incident.message, fill, sizeof(s->incident.message) - 1);
    memset(s->incident.locations, fill, sizeof(s->incident.locations) - 1);
    s->first_ms = INT64_MIN;
    s->last_ms = INT64_MAX;
    s->last_total_us = INT64_MIN;
    s->last_code = INT_MIN;
    s->last_outcome = NINES_OUTCOME_ERROR;
    memset(s->last_location, fill, sizeof(s->last_location) - 1);
    s->last_error_ms = -1;
    memset(s->last_error_reason, fill, sizeof(s->last_error_reason) - 1);
    memset(s->last_error_message, fill, sizeof(s->last_error_message) - 1);
    s->applied = (struct stream_id){ UINT64_MAX, UINT64_MAX };
    s->results = UINT64_MAX;
}

Test(state, v2_round_trips_every_field_at_its_limits)
{
    static const char fills[] = { 'x', '"', '\x01' };  /* plain, escaped, \u0001 */
    struct check_state *s = malloc(sizeof(*s));
    char *doc;

    cr_assert(s != NULL);
    for (size_t f = 0; f < sizeof(fills); f++) {
        extreme_state(s, STATE_MAX_LOCATIONS, fills[f]);
        doc = assert_round_trip(s, "32 locations at the limits");
        free(doc);
        extreme_state(s, 1, fills[f]);
        s->incident.open = 1;
        s->incident.end_ms = 0;
        s->last_outcome = NINES_OUTCOME_TIMEOUT;
        doc = assert_round_trip(s, "one location, open incident");
        free(doc);
    }
    /* every member 0 or "" but set explicitly, a location included */
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "web");
    s->nloc = 1;
    s->last_outcome = NINES_OUTCOME_FAIL;
    doc = assert_round_trip(s, "zeros");
    cr_assert(eq(str, doc, "{\"v\":2,\"id\":\"web\",\"state\":\"UNKNOWN\",\"locations\":"
                           "[[\"\",\"\",\"UNKNOWN\",0,0,0,\"\",\"\",0,0,0,0]],"
                           "\"last_outcome\":\"fail\",\"applied\":\"0-0\"}"));
    free(doc);
    free(s);
}

Test(state, v1_documents_read_as_before)
{
    struct check_state want, got;
    char old[sizeof(rich_v1)], *p;

    rich_state(&want);
    memset(&got, 0xa5, sizeof(got));
    snprintf(got.id, sizeof(got.id), "web");
    cr_assert(eq(int, state_decode(&got, rich_v1, strlen(rich_v1)), 0));
    cr_assert(eq(int, memcmp(&got, &want, sizeof(want)), 0));
    /* stored before first_ms existed: no first result known */
    memcpy(old, rich_v1, sizeof(old));
    p = strstr(old, ",\"first_ms\":");
    cr_assert(p != NULL);
    memcpy(p, "}", 2);
    want.first_ms = 0;
    cr_assert(eq(int, state_decode(&got, old, strlen(old)), 0));
    cr_assert(eq(int, memcmp(&got, &want, sizeof(want)), 0));
    /* v1 requires its members: one left out as v2 may leave it is refused */
    memcpy(old, rich_v1, sizeof(old));
    p = strstr(old, "\"last_error_ms\":1790000020000,");
    cr_assert(p != NULL);
    memmove(p, p + strlen("\"last_error_ms\":1790000020000,"),
            strlen(p + strlen("\"last_error_ms\":1790000020000,")) + 1);
    cr_assert(eq(int, state_decode(&got, old, strlen(old)), NINES_EPROTO), "%s", old);
}

/* A valid v2 document with `loc` as its one location and `extra` as more
 * top-level members (a later duplicate key wins in jansson). */
static void v2_doc(char *out, size_t cap, const char *loc, const char *extra)
{
    int n = snprintf(out, cap,
                     "{\"v\":2,\"state\":\"UP\",\"locations\":[%s],\"last_outcome\":\"ok\","
                     "\"applied\":\"1-0\"%s}", loc, extra);

    /* checked, not left to a truncation warning (gcc -O2 sees the sizes) */
    cr_assert(n >= 0 && (size_t)n < cap, "test document too long for its buffer");
}

#define GOOD_LOC "[\"eu\",\"p\",\"UP\",0,1,5,\"\",\"\",5,6,7,0]"

Test(state, bad_v2_documents_are_refused)
{
    static const struct {
        char loc[160];
        char extra[96];
    } bad[] = {
        { "[\"eu\",\"p\",\"UP\",0,1,5,\"\",\"\",5,6,7]", "" },           /* 11 values */
        { "[\"eu\",\"p\",\"UP\",0,1,5,\"\",\"\",5,6,7,0,0]", "" },       /* 13 */
        { "{\"name\":\"eu\"}", "" },                                     /* v1's object */
        { "[\"eu\",\"p\",\"SIDEWAYS\",0,1,5,\"\",\"\",5,6,7,0]", "" },
        { "[\"eu\",\"p\",\"\",0,1,5,\"\",\"\",5,6,7,0]", "" },
        { "[\"eu\",\"p\",\"UP\",\"0\",1,5,\"\",\"\",5,6,7,0]", "" },     /* string count */
        { "[\"eu\",\"p\",\"UP\",0,1,5.5,\"\",\"\",5,6,7,0]", "" },       /* real time */
        { "[\"eu\",\"p\",\"UP\",0,2147483648,5,\"\",\"\",5,6,7,0]", "" }, /* past int */
        { "[7,\"p\",\"UP\",0,1,5,\"\",\"\",5,6,7,0]", "" },              /* number name */
        { "[\"eu\",\"p\",\"UP\",0,1,5,null,\"\",5,6,7,0]", "" },
        { "[\"eu\",\"p\",\"UP\",0,1,5,\"\",\"\",5,6,7,2]", "" },         /* silent 2 */
        { "[\"eu\",\"p\",\"UP\",0,1,5,\"\",\"\",5,6,7,true]", "" },      /* silent bool */
        { "[\"eu\",\"0123456789012345678901234567890123456789012345678901234567890123\","
          "\"UP\",0,1,5,\"\",\"\",5,6,7,0]", "" },                       /* 64 chars */
        { GOOD_LOC, ",\"state\":\"SIDEWAYS\"" },
        { GOOD_LOC, ",\"state\":0" },
        { GOOD_LOC, ",\"since_ms\":\"5\"" },
        { GOOD_LOC, ",\"incident\":[]" },
        { GOOD_LOC, ",\"incident\":{\"open\":1}" },
        { GOOD_LOC, ",\"incident\":{\"start_ms\":true}" },
        { GOOD_LOC, ",\"incident\":{\"reason\":5}" },
        { GOOD_LOC, ",\"last_code\":4294967296" },
        { GOOD_LOC, ",\"last_outcome\":\"meh\"" },
        { GOOD_LOC, ",\"applied\":\"x\"" },
        { GOOD_LOC, ",\"results\":1.0" },
        { GOOD_LOC, ",\"locations\":{}" },
        { GOOD_LOC, ",\"v\":3" },
        { GOOD_LOC, ",\"v\":\"2\"" },
        { GOOD_LOC, ",\"v\":1" },                                     /* v2 body as v1 */
    };
    char doc[512];
    struct check_state s;

    /* the document every bad one is made from reads */
    v2_doc(doc, sizeof(doc), GOOD_LOC, ",\"results\":3");
    state_init(&s, "web");
    cr_assert(eq(int, state_decode(&s, doc, strlen(doc)), 0), "%s", doc);
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(u64, s.results, 3));
    cr_assert(eq(sz, s.nloc, 1));
    cr_assert(eq(i64, s.loc[0].last_end_ms, 7));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v2_doc(doc, sizeof(doc), bad[i].loc, bad[i].extra);
        state_init(&s, "web");
        s.results = 9;
        cr_assert(eq(int, state_decode(&s, doc, strlen(doc)), NINES_EPROTO), "%s", doc);
        cr_assert(eq(u64, s.results, 0), "left as a new check: %s", doc);
        cr_assert(eq(str, s.id, "web"));
    }
    /* more locations than a state holds; a v1 document labelled v2 */
    {
        char many[2048] = "", *big;
        size_t n = 0;

        for (int i = 0; i <= STATE_MAX_LOCATIONS; i++)
            n += (size_t)snprintf(many + n, sizeof(many) - n, "%s" GOOD_LOC, i ? "," : "");
        cr_assert(lt(sz, n, sizeof(many)));
        big = malloc(n + 256);
        cr_assert(big != NULL);
        v2_doc(big, n + 256, many, "");
        cr_assert(eq(int, state_decode(&s, big, strlen(big)), NINES_EPROTO));
        free(big);
        memcpy(many, rich_v1, sizeof(rich_v1));
        many[5] = '2';
        cr_assert(eq(int, strncmp(many, "{\"v\":2,", 7), 0));
        cr_assert(eq(int, state_decode(&s, many, strlen(many)), NINES_EPROTO));
    }
}

Test(state, v2_is_at_most_half_of_v1)
{
    static const char locs[][8] = { "fra", "iad", "sin" };
    struct nines_check c = spec(2, 1, 0);
    struct check_state up, down;
    char *v1, *v2;

    state_init(&up, "api-health-eu");
    state_init(&down, "api-health-eu");
    for (int t = 0; t < 10; t++) {
        for (int i = 0; i < 3; i++) {
            feed(&up, &c, locs[i], S(t * 10 + i), 1, NULL);
            feed(&down, &c, locs[i], S(t * 10 + i), t < 5, NULL);
        }
    }
    cr_assert(eq(int, up.state, CHECK_UP));
    cr_assert(eq(int, down.state, CHECK_DOWN));
    cr_assert(eq(int, down.incident.open, 1));
    v1 = reference_encode_v1(&up);
    v2 = assert_round_trip(&up, "3 locations UP");
    /* v1 is 1,1xx bytes here; v2 about 520 */
    cr_assert(le(sz, strlen(v2), 540), "%zu: %s", strlen(v2), v2);
    cr_assert(le(sz, 2 * strlen(v2), strlen(v1)), "%zu against %zu", strlen(v2), strlen(v1));
    free(v1);
    free(v2);
    v1 = reference_encode_v1(&down);
    v2 = assert_round_trip(&down, "3 locations DOWN, incident open");
    cr_assert(le(sz, strlen(v2), 880), "%zu: %s", strlen(v2), v2);
    cr_assert(le(sz, 3 * strlen(v2), 2 * strlen(v1)), "%zu against %zu", strlen(v2),
              strlen(v1));
    free(v1);
    free(v2);
}
