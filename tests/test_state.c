/* The collector's per-check state machine and its Redis hash form. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

#include "nines/err.h"
#include "state.h"

static struct nines_check spec(int to_down, int to_up)
{
    struct nines_check c;

    memset(&c, 0, sizeof(c));
    nines_check_defaults(&c);
    c.failures_to_down = to_down;
    c.successes_to_up = to_up;
    return c;
}

static struct nines_result result(int64_t at_ms, int ok)
{
    struct nines_result r;

    nines_result_init(&r);
    snprintf(r.check_id, sizeof(r.check_id), "web");
    snprintf(r.probe, sizeof(r.probe), "p1");
    snprintf(r.location, sizeof(r.location), "here");
    r.start_ms = at_ms;
    r.outcome = ok ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    r.code = ok ? 200 : 500;
    r.total_us = 1234;
    if (!ok) {
        snprintf(r.reason, sizeof(r.reason), "http_status");
        snprintf(r.message, sizeof(r.message), "HTTP 500");
    }
    return r;
}

static enum state_change feed(struct check_state *s, const struct nines_check *c, int64_t at,
                              int ok, uint64_t seq)
{
    struct nines_result r = result(at, ok);
    struct stream_id sid = { (uint64_t)at, seq };

    return state_apply(s, c, &r, sid);
}

Test(state, down_is_back_dated_to_the_first_failure_of_the_streak)
{
    struct nines_check c = spec(3, 2);
    struct check_state s;

    state_init(&s, "web");
    cr_assert(eq(int, feed(&s, &c, 1000, 1, 0), STATE_CHANGED));
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(i64, s.since_ms, 1000));
    cr_assert(eq(int, feed(&s, &c, 2000, 0, 0), STATE_SAME));
    cr_assert(eq(int, feed(&s, &c, 3000, 0, 0), STATE_SAME));
    cr_assert(eq(int, s.state, CHECK_UP), "two of three failures do not confirm");
    cr_assert(eq(int, feed(&s, &c, 4000, 0, 0), STATE_CHANGED));
    cr_assert(eq(int, s.state, CHECK_DOWN));
    cr_assert(eq(i64, s.since_ms, 2000), "since the first failing result, not 4000");
    cr_assert(eq(str, s.last_error_reason, "http_status"));
    /* recovery needs two successes, dated from the first of them */
    cr_assert(eq(int, feed(&s, &c, 5000, 1, 0), STATE_SAME));
    cr_assert(eq(int, feed(&s, &c, 6000, 1, 0), STATE_CHANGED));
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(i64, s.since_ms, 5000));
    cr_assert(eq(i64, s.last_error_ms, 4000), "the last error is kept after recovery");
}

Test(state, an_interrupted_streak_starts_over)
{
    struct nines_check c = spec(2, 1);
    struct check_state s;

    state_init(&s, "web");
    feed(&s, &c, 1000, 1, 0);
    feed(&s, &c, 2000, 0, 0);
    feed(&s, &c, 3000, 1, 0);
    feed(&s, &c, 4000, 0, 0);
    cr_assert(eq(int, s.state, CHECK_UP), "flapping never confirms");
    feed(&s, &c, 5000, 0, 0);
    cr_assert(eq(int, s.state, CHECK_DOWN));
    cr_assert(eq(i64, s.since_ms, 4000));
}

Test(state, unknown_check_confirms_down_and_first_success_is_up)
{
    struct nines_check c = spec(2, 3);
    struct check_state s;

    state_init(&s, "web");
    feed(&s, &c, 1000, 0, 0);
    cr_assert(eq(int, s.state, CHECK_UNKNOWN));
    feed(&s, &c, 2000, 0, 0);
    cr_assert(eq(int, s.state, CHECK_DOWN));
    cr_assert(eq(i64, s.since_ms, 1000));

    state_init(&s, "web");
    feed(&s, &c, 1000, 1, 0);
    cr_assert(eq(int, s.state, CHECK_UP), "no need to wait for three from UNKNOWN");
}

Test(state, replayed_entries_are_skipped)
{
    struct nines_check c = spec(1, 1);
    struct check_state s;

    state_init(&s, "web");
    cr_assert(eq(int, feed(&s, &c, 1000, 1, 0), STATE_CHANGED));
    cr_assert(eq(int, feed(&s, &c, 1000, 1, 0), STATE_DUPLICATE));
    cr_assert(eq(int, feed(&s, &c, 999, 0, 5), STATE_DUPLICATE), "older stream id");
    cr_assert(eq(int, s.state, CHECK_UP));
    cr_assert(eq(u64, s.results, 1));
    cr_assert(eq(int, feed(&s, &c, 1000, 0, 1), STATE_CHANGED), "same ms, next seq");
}

Test(state, hash_form_round_trips)
{
    struct nines_check c = spec(2, 1);
    struct check_state s, back;
    struct state_fields f;
    const char *argv[2 * STATE_FIELDS];

    state_init(&s, "web");
    feed(&s, &c, 1000, 1, 0);
    feed(&s, &c, 2000, 0, 3);
    feed(&s, &c, 3000, 0, 7);
    state_encode(&s, &f);
    cr_assert(eq(sz, f.argc % 2, 0));
    for (size_t i = 0; i < f.argc; i++)
        argv[i] = f.argv[i];
    state_init(&back, "web");
    cr_assert(eq(int, state_decode(&back, argv, f.argvlen, f.argc), 0));
    cr_assert(eq(int, memcmp(&back, &s, sizeof(s)), 0));
}

Test(state, bad_stored_fields_are_refused)
{
    struct check_state s;
    const char *bad_num[] = { "since_ms", "12x" };
    size_t bad_num_len[] = { 8, 3 };
    const char *bad_id[] = { "applied", "17-" };
    size_t bad_id_len[] = { 7, 3 };
    const char *odd[] = { "state" };
    size_t odd_len[] = { 5 };
    struct stream_id sid;

    state_init(&s, "web");
    cr_assert(eq(int, state_decode(&s, bad_num, bad_num_len, 2), NINES_EPROTO));
    cr_assert(eq(int, state_decode(&s, bad_id, bad_id_len, 2), NINES_EPROTO));
    cr_assert(eq(int, state_decode(&s, odd, odd_len, 1), NINES_EPROTO));
    cr_assert(eq(int, stream_id_parse("1700000000000-5", 15, &sid), 0));
    cr_assert(eq(u64, sid.ms, 1700000000000ULL));
    cr_assert(eq(u64, sid.seq, 5));
    cr_assert(eq(int, stream_id_parse("-5", 2, &sid), NINES_EPROTO));
    cr_assert(eq(int, stream_id_parse("5", 1, &sid), NINES_EPROTO));
    cr_assert(eq(int, stream_id_parse("1-2-3", 5, &sid), NINES_EPROTO));
}
