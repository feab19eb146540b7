/*
 * The offline replay (collector/history.c) on hand-made timelines: a
 * back-dated incident, an outage still going when the history ends, a gap,
 * out-of-order input refused, and the day digest that makes latency
 * imports idempotent.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "nines/check.h"
#include "nines/err.h"

#define MIN_MS INT64_C(60000)
#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

static struct nines_check check_of(char *id)
{
    struct nines_check c;

    memset(&c, 0, sizeof(c));
    c.id = id;
    c.kind = NINES_KIND_TCP;
    c.interval_ms = MIN_MS;
    c.timeout_ms = 1000;
    c.failures_to_down = 2;
    c.successes_to_up = 1;
    return c;
}

static int apply(struct history *h, const char *loc, int64_t t, int ok, int64_t total_us)
{
    struct nines_result r;

    nines_result_init(&r);
    snprintf(r.check_id, sizeof(r.check_id), "web");
    snprintf(r.location, sizeof(r.location), "%s", loc);
    r.start_ms = t;
    r.outcome = ok ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    r.total_us = total_us;
    if (!ok)
        snprintf(r.reason, sizeof(r.reason), "connect_refused");
    return history_apply(h, &r);
}

Test(history, outage_is_back_dated_and_ends_at_the_first_success)
{
    char id[] = "web";
    struct nines_check c = check_of(id);
    struct history *h = history_new(&c);
    const struct history_incident *inc;
    int64_t from = 0, to = 0;

    cr_assert(h != NULL);
    for (int i = 0; i < 30; i++)
        cr_assert(eq(int, apply(h, "eu", T0 + i * MIN_MS, i < 10 || i >= 13, 5000), 0));
    cr_assert(eq(int, history_finish(h), 0));
    cr_assert(eq(sz, history_incidents(h, &inc), 1));
    cr_expect(eq(i64, inc[0].start_ms, T0 + 10 * MIN_MS));
    cr_expect(eq(i64, inc[0].end_ms, T0 + 13 * MIN_MS));
    cr_expect(eq(str, (char *)inc[0].reason, "connect_refused"));
    cr_expect(eq(int, history_span(h, &from, &to), 1));
    cr_expect(eq(i64, from, T0));
    cr_expect(eq(i64, to, T0 + 30 * MIN_MS));
    history_free(h);
}

Test(history, an_outage_open_at_the_end_closes_at_the_last_result)
{
    char id[] = "web";
    struct nines_check c = check_of(id);
    struct history *h = history_new(&c);
    const struct history_incident *inc;

    for (int i = 0; i < 10; i++)
        cr_assert(eq(int, apply(h, "eu", T0 + i * MIN_MS, i < 5, 2000000), 0));
    cr_assert(eq(sz, history_incidents(h, &inc), 0));
    cr_assert(eq(int, history_finish(h), 0));
    cr_assert(eq(sz, history_incidents(h, &inc), 1));
    cr_expect(eq(i64, inc[0].start_ms, T0 + 5 * MIN_MS));
    /* the last result's start plus its duration: failures carry a latency too */
    cr_expect(eq(i64, inc[0].end_ms, T0 + 9 * MIN_MS + 2000));
    history_free(h);
}

Test(history, no_data_is_a_gap_and_old_results_are_refused)
{
    char id[] = "web";
    struct nines_check c = check_of(id);
    struct history *h = history_new(&c);
    const struct history_gap *gap;

    cr_assert(eq(int, apply(h, "eu", T0, 1, 1000), 0));
    cr_assert(eq(int, apply(h, "eu", T0 + 10 * MIN_MS, 1, 1000), 0));
    cr_expect(eq(int, apply(h, "eu", T0 + 5 * MIN_MS, 1, 1000), NINES_ESTATE));
    cr_assert(eq(int, history_finish(h), 0));
    cr_expect(eq(int, apply(h, "eu", T0 + 20 * MIN_MS, 1, 1000), NINES_ESTATE));
    cr_assert(eq(sz, history_gaps(h, &gap), 1));
    cr_expect(eq(i64, gap[0].from_ms, T0 + MIN_MS));
    cr_expect(eq(i64, gap[0].to_ms, T0 + 10 * MIN_MS));
    history_free(h);
}

/* Latency by UTC day; the digest depends on exactly the rows counted. */
static void days_of(int64_t extra_us, char digest[2][65], uint64_t count[2])
{
    char id[] = "web";
    struct nines_check c = check_of(id);
    struct history *h = history_new(&c);
    const struct history_day *d;

    for (int i = 0; i < 2 * 1440; i++)
        cr_assert(eq(int, apply(h, "eu", T0 + i * MIN_MS, 1, i == 2000 ? extra_us : 1000), 0));
    cr_assert(eq(int, history_finish(h), 0));
    cr_assert(eq(sz, history_days(h, &d), 2));
    cr_expect(eq(i64, d[1].day_ms, T0 + 1440 * MIN_MS));
    for (int k = 0; k < 2; k++) {
        memcpy(digest[k], d[k].digest, 65);
        count[k] = d[k].h.count;
        cr_expect(eq(sz, strlen(d[k].digest), 64));
    }
    history_free(h);
}

Test(history, day_digests_follow_the_rows)
{
    char a[2][65], b[2][65];
    uint64_t na[2], nb[2];

    days_of(1000, a, na);
    days_of(1001, b, nb);
    cr_expect(eq(u64, na[0], 1440));
    cr_expect(eq(u64, na[1], 1440));
    cr_expect(eq(str, a[0], b[0]), "day 1 has the same rows");
    cr_expect(ne(str, a[1], b[1]), "day 2 has one latency changed");
    cr_expect(ne(str, a[0], a[1]));
}
