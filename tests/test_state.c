/*
 * The collector's state machine: per-location streaks, quorum across
 * locations, back-dated incidents, silence, gaps, and the stored form.
 * Timelines are in seconds on a 10 s interval; every expected instant is
 * written out next to the result that causes it.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
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

/* The stored form as jansson made it before state_encode was written by
 * hand: the reference the hand-written encoder must match byte for byte. */
static char *reference_encode(const struct check_state *s)
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
        snprintf(s.loc[0].streak_message, sizeof(s.loc[0].streak_message), "%.*s", (int)sizeof(s.loc[0].streak_message) - 1, msgs[m]);
        snprintf(s.incident.message, sizeof(s.incident.message), "%.*s", (int)sizeof(s.incident.message) - 1, msgs[m]);
        snprintf(s.last_error_message, sizeof(s.last_error_message), "%.*s", (int)sizeof(s.last_error_message) - 1, msgs[m]);
        s.last_total_us = -1;
        s.loc[1].silent = 1;
        mine = state_encode(&s);
        ref = reference_encode(&s);
        cr_assert(mine != NULL && ref != NULL);
        cr_assert(eq(str, mine, ref), "message %zu", m);
        state_init(&back, "web");
        cr_assert(eq(int, state_decode(&back, mine, strlen(mine)), 0));
        cr_assert(eq(int, memcmp(&back, &s, sizeof(s)), 0));
        free(mine);
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
