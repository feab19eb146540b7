/*
 * Burn-rate rules on synthetic timelines at a 99.9 % target, stepping `now`
 * every 10 s the way a caller's evaluation timer would. Every asserted time
 * comes from burn.h's formulas, in integer arithmetic: the budget of a window
 * of W ms at factor f is f (1 − t) W, with f in thousandths and 1 − t in
 * parts per million, so 14.4 × 0.001 × 1 h = 14400 × 1000 × 3600000 / 10^9.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <string.h>

#include "burn.h"
#include "intervals.h"
#include "nines/err.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define STEP (10 * SEC)
#define T0 INT64_C(1790000000000) /* the first evaluation (2026-09-21) */
#define TARGET 99.9
#define BUDGET_PPM INT64_C(1000) /* 1 − 0.999, in millionths */

enum { FAST = 0, SLOW = 1, TICKET = 2 }; /* burn_default_rules' order */

static struct burn_rule rules[BURN_DEFAULT_RULES];

static void load_rules(void)
{
    cr_assert(eq(sz, burn_default_rules(rules), BURN_DEFAULT_RULES));
}

/* f (1 − t) W for rule i's factor and window w, exact in integers. */
static int64_t budget_ms(int i, int64_t w)
{
    int64_t f_milli = llround(rules[i].factor * 1000.0);
    int64_t num = f_milli * BUDGET_PPM * w;

    cr_assert(eq(i64, num % INT64_C(1000000000), 0), "budget of %lld ms is not whole",
              (long long)w);
    return num / INT64_C(1000000000);
}

/* The first evaluation strictly after t / at or after t (t >= T0). */
static int64_t step_after(int64_t t)
{
    return T0 + ((t - T0) / STEP + 1) * STEP;
}

static int64_t step_at_or_after(int64_t t)
{
    return T0 + ((t - T0 + STEP - 1) / STEP) * STEP;
}

static void eval_at(const struct nines_ivset *down, const struct nines_ivset *maint,
                    const struct nines_ivset *nodata, int nodata_is_down, int64_t now,
                    struct burn_status st[BURN_DEFAULT_RULES])
{
    cr_assert(eq(int,
                 burn_evaluate(down, maint, nodata, nodata_is_down, TARGET, rules,
                               BURN_DEFAULT_RULES, now, st),
                 0));
}

/* A timeline's transitions, per rule: first time firing, first time resolved after. */
struct trace {
    int64_t first_fire[BURN_DEFAULT_RULES];
    int64_t first_clear[BURN_DEFAULT_RULES]; /* after first_fire; -1 = never */
    double max_rate[BURN_DEFAULT_RULES];     /* the highest long-window burn seen */
};

static void run_steps(const struct nines_ivset *down, const struct nines_ivset *maint,
                      const struct nines_ivset *nodata, int nodata_is_down, int64_t until,
                      struct trace *tr)
{
    struct burn_status st[BURN_DEFAULT_RULES];
    int64_t now;
    int i;

    for (i = 0; i < BURN_DEFAULT_RULES; i++) {
        tr->first_fire[i] = -1;
        tr->first_clear[i] = -1;
        tr->max_rate[i] = 0;
    }
    for (now = T0; now <= until; now += STEP) {
        eval_at(down, maint, nodata, nodata_is_down, now, st);
        for (i = 0; i < BURN_DEFAULT_RULES; i++) {
            if (st[i].long_rate > tr->max_rate[i])
                tr->max_rate[i] = st[i].long_rate;
            if (st[i].firing && tr->first_fire[i] < 0)
                tr->first_fire[i] = now;
            if (!st[i].firing && tr->first_fire[i] >= 0 && tr->first_clear[i] < 0)
                tr->first_clear[i] = now;
        }
    }
}

static void set_one(struct nines_ivset *s, int64_t a, int64_t b)
{
    nines_ivset_init(s);
    cr_assert(eq(int, nines_ivset_add(s, a, b), 0));
}

/*
 * Fully down from T = T0 + 3.7 s on. Each rule fires at the first evaluation
 * after T + f (1 − t) L: 51.84 s for the fast page, 129.6 s for the slow page,
 * 259.2 s for the ticket, and never resolves while the outage lasts.
 */
Test(burn, fast_burn_pages_at_the_first_step_after_the_long_budget)
{
    const int64_t t = T0 + 3700;
    struct nines_ivset down;
    struct trace tr;
    int i;

    load_rules();
    set_one(&down, t, t + DAY);
    run_steps(&down, NULL, NULL, 0, T0 + 10 * MIN, &tr);
    for (i = 0; i < BURN_DEFAULT_RULES; i++) {
        cr_assert(eq(i64, tr.first_fire[i], step_after(t + budget_ms(i, rules[i].long_ms))),
                  "rule %d", i);
        cr_assert(eq(i64, tr.first_clear[i], -1), "rule %d", i);
    }
    cr_assert(lt(i64, tr.first_fire[FAST], tr.first_fire[SLOW]));
    cr_assert(lt(i64, tr.first_fire[SLOW], tr.first_fire[TICKET]));
    nines_ivset_close(&down);
}

/*
 * At the budget itself the burn is exactly f, which does not fire; one
 * millisecond later it does. The rates are (x / W) / (1 − t).
 */
Test(burn, exactly_the_factor_does_not_fire_one_ms_more_does)
{
    const int64_t t = T0;
    struct burn_status st[BURN_DEFAULT_RULES];
    struct nines_ivset down;
    int64_t x;

    load_rules();
    set_one(&down, t, t + DAY);
    x = budget_ms(FAST, rules[FAST].long_ms);
    eval_at(&down, NULL, NULL, 0, t + x, st);
    cr_assert(epsilon_eq(dbl, st[FAST].long_rate, rules[FAST].factor, 1e-9));
    cr_assert(eq(int, st[FAST].firing, 0));
    cr_assert(eq(i64, st[FAST].long_window.downtime_ms, x));
    /* x < S: the short window holds all of it, min(x, S) */
    cr_assert(eq(i64, st[FAST].short_window.downtime_ms, x));
    cr_assert(epsilon_eq(dbl, st[FAST].short_rate,
                         (double)x / (double)rules[FAST].short_ms / 0.001, 1e-9));

    eval_at(&down, NULL, NULL, 0, t + x + 1, st);
    cr_assert(eq(int, st[FAST].firing, 1));
    cr_assert(epsilon_eq(dbl, st[FAST].long_rate,
                         (double)(x + 1) / (double)rules[FAST].long_ms / 0.001, 1e-9));
    nines_ivset_close(&down);
}

/*
 * 10 s down every hour (3 s past the hour) for four days. The 1 h and 6 h
 * windows never burn above 10 s / 1 h / 0.001 = 2.8, below both page factors.
 * The 3 d window holds whole outages of d = 10 s: the ticket opens during the
 * k-th outage (0-based, k = budget / d) once it has added budget − k d:
 * at T + 3 s + k h + (budget − k d), and stays open.
 */
Test(burn, slow_burn_opens_the_ticket_but_never_pages, .timeout = 60)
{
    const int64_t t = T0, d = 10 * SEC, until = T0 + 4 * DAY;
    struct nines_ivset down;
    struct trace tr;
    int64_t k, b, at;

    load_rules();
    nines_ivset_init(&down);
    for (k = 0; t + k * HOUR <= until; k++)
        cr_assert(eq(int, nines_ivset_add(&down, t + k * HOUR + 3 * SEC,
                                          t + k * HOUR + 3 * SEC + d), 0));
    run_steps(&down, NULL, NULL, 0, until, &tr);

    b = budget_ms(TICKET, rules[TICKET].long_ms);
    k = b / d;
    at = t + 3 * SEC + k * HOUR + (b - k * d);
    cr_assert(lt(i64, k * HOUR, rules[TICKET].long_ms)); /* the first outage is still in */
    cr_assert(eq(i64, tr.first_fire[TICKET], step_after(at)));
    cr_assert(eq(i64, tr.first_clear[TICKET], -1));
    cr_assert(eq(i64, tr.first_fire[FAST], -1));
    cr_assert(eq(i64, tr.first_fire[SLOW], -1));
    cr_assert(le(dbl, tr.max_rate[FAST], (double)d / (double)HOUR / 0.001 + 1e-9));
    cr_assert(gt(dbl, tr.max_rate[FAST], 0.0));
    nines_ivset_close(&down);
}

/*
 * Down for 20 min from T, up again at R. Both pages resolve at the first step
 * at or after R + (1 − f (1 − t)) S (295.68 s and 1789.2 s), inside their short
 * windows, while the long windows still burn above the factors. The ticket
 * (no short window) stays open.
 */
Test(burn, recovery_resolves_the_page_within_the_short_window)
{
    const int64_t t = T0 + 3700, r = t + 20 * MIN;
    struct nines_ivset down;
    struct burn_status st[BURN_DEFAULT_RULES];
    struct trace tr;
    int i;

    load_rules();
    set_one(&down, t, r);
    run_steps(&down, NULL, NULL, 0, r + 40 * MIN, &tr);
    for (i = FAST; i <= SLOW; i++) {
        int64_t s = rules[i].short_ms;
        int64_t clear = step_at_or_after(r + s - budget_ms(i, s));

        cr_assert(eq(i64, tr.first_fire[i], step_after(t + budget_ms(i, rules[i].long_ms))));
        cr_assert(eq(i64, tr.first_clear[i], clear), "rule %d", i);
        cr_assert(lt(i64, tr.first_clear[i] - r, s));
        eval_at(&down, NULL, NULL, 0, tr.first_clear[i], st);
        cr_assert(gt(dbl, st[i].long_rate, rules[i].factor));
        cr_assert(le(dbl, st[i].short_rate, rules[i].factor * (1 + 1e-9)));
    }
    cr_assert(ne(i64, tr.first_fire[TICKET], -1));
    cr_assert(eq(i64, tr.first_clear[TICKET], -1));
    nines_ivset_close(&down);
}

/* The same 20 min outage inside a maintenance window burns nothing at all. */
Test(burn, maintenance_during_the_outage_means_no_burn)
{
    const int64_t t = T0 + 3700;
    struct nines_ivset down, maint;
    struct trace tr;
    int i;

    load_rules();
    set_one(&down, t, t + 20 * MIN);
    set_one(&maint, t - MIN, t + 21 * MIN);
    run_steps(&down, &maint, NULL, 0, t + 2 * HOUR, &tr);
    for (i = 0; i < BURN_DEFAULT_RULES; i++) {
        cr_assert(eq(i64, tr.first_fire[i], -1), "rule %d", i);
        cr_assert(eq(dbl, tr.max_rate[i], 0.0), "rule %d", i);
    }
    nines_ivset_close(&down);
    nines_ivset_close(&maint);
}

/*
 * Down from T, the first M = 10 min of it in maintenance. Maintenance is cut
 * out of the 1 h window too, so the budget shrinks to f (1 − t) (L − M) = 43.2 s
 * of downtime after the maintenance ends.
 */
Test(burn, maintenance_shrinks_the_eligible_window)
{
    const int64_t t = T0 + 3700, m = 10 * MIN;
    struct nines_ivset down, maint;
    struct trace tr;

    load_rules();
    set_one(&down, t, t + HOUR);
    set_one(&maint, t, t + m);
    run_steps(&down, &maint, NULL, 0, t + 30 * MIN, &tr);
    cr_assert(eq(i64, tr.first_fire[FAST],
                 step_after(t + m + budget_ms(FAST, rules[FAST].long_ms - m))));
    nines_ivset_close(&down);
    nines_ivset_close(&maint);
}

/*
 * A 20 min gap without data where the outage would be: left out of the
 * windows by default (nothing burns), paging exactly like the fast burn when
 * the SLA counts no-data as down.
 */
Test(burn, nodata_is_left_out_unless_it_counts_as_down)
{
    const int64_t t = T0 + 3700;
    struct nines_ivset nodata;
    struct trace tr;
    int i;

    load_rules();
    set_one(&nodata, t, t + 20 * MIN);
    run_steps(NULL, NULL, &nodata, 0, t + HOUR, &tr);
    for (i = 0; i < BURN_DEFAULT_RULES; i++) {
        cr_assert(eq(i64, tr.first_fire[i], -1), "rule %d", i);
        cr_assert(eq(dbl, tr.max_rate[i], 0.0), "rule %d", i);
    }
    run_steps(NULL, NULL, &nodata, 1, t + HOUR, &tr);
    for (i = 0; i < BURN_DEFAULT_RULES; i++)
        cr_assert(eq(i64, tr.first_fire[i], step_after(t + budget_ms(i, rules[i].long_ms))),
                  "rule %d", i);
    nines_ivset_close(&nodata);
}

/* 36 s down in 1 h at 99.9 % is a burn of (36 / 3600) / 0.001 = 10. */
Test(burn, rate_of_one_window)
{
    struct uptime_result r = { 0 };
    double rate = -1;

    r.window_ms = r.eligible_ms = HOUR;
    r.downtime_ms = 36 * SEC;
    cr_assert(eq(int, burn_rate(&r, TARGET, &rate), 0));
    cr_assert(epsilon_eq(dbl, rate, 10.0, 1e-9));
    cr_assert(eq(int, burn_rate(&r, 99.0, &rate), 0));
    cr_assert(epsilon_eq(dbl, rate, 1.0, 1e-9));

    r = (struct uptime_result){ .window_ms = HOUR, .maintenance_ms = HOUR,
                                .no_eligible_time = 1 };
    rate = -1;
    cr_assert(eq(int, burn_rate(&r, TARGET, &rate), 0));
    cr_assert(eq(dbl, rate, 0.0));

    cr_assert(eq(int, burn_rate(&r, 100.0, &rate), NINES_EINVAL));
    cr_assert(eq(int, burn_rate(&r, 0.0, &rate), NINES_EINVAL));
    cr_assert(eq(int, burn_rate(&r, NAN, &rate), NINES_EINVAL));
}

/* A window that is all maintenance has no budget and burns nothing. */
Test(burn, all_maintenance_window_burns_nothing)
{
    struct burn_status st[BURN_DEFAULT_RULES];
    struct nines_ivset down, maint;

    load_rules();
    set_one(&down, T0 - 4 * DAY, T0);
    set_one(&maint, T0 - 4 * DAY, T0);
    eval_at(&down, &maint, NULL, 0, T0, st);
    cr_assert(eq(int, st[TICKET].long_window.no_eligible_time, 1));
    cr_assert(eq(dbl, st[TICKET].long_rate, 0.0));
    cr_assert(eq(int, st[TICKET].firing, 0));
    cr_assert(eq(int, st[FAST].firing, 0));
    nines_ivset_close(&down);
    nines_ivset_close(&maint);
}

/* A rule without a short window fires on the long one alone. */
Test(burn, no_short_window_uses_the_long_one_alone)
{
    struct burn_rule one = { HOUR, 0, 2.0, "ticket" };
    struct burn_status st;
    struct nines_ivset down;

    set_one(&down, T0, T0 + DAY);
    /* 2 × 0.001 × 1 h = 7.2 s */
    cr_assert(eq(int, burn_evaluate(&down, NULL, NULL, 0, TARGET, &one, 1, T0 + 7200, &st), 0));
    cr_assert(eq(int, st.firing, 0));
    cr_assert(eq(int, burn_evaluate(&down, NULL, NULL, 0, TARGET, &one, 1, T0 + 7201, &st), 0));
    cr_assert(eq(int, st.firing, 1));
    cr_assert(eq(dbl, st.short_rate, 0.0));
    cr_assert(eq(i64, st.short_window.window_ms, 0));
    nines_ivset_close(&down);
}

struct bad_rule {
    int64_t long_ms, short_ms;
    double factor;
    char severity[BURN_SEVERITY_LEN];
    char expect[48];
};

Test(burn, bad_rules_and_targets_are_rejected)
{
    static const struct bad_rule bad[] = {
        { 0, 0, 1.0, "page", "long window" },
        { -HOUR, 0, 1.0, "page", "long window" },
        { HOUR, -1, 1.0, "page", "short window must not be negative" },
        { HOUR, 2 * HOUR, 1.0, "page", "not be longer than the long" },
        { HOUR, MIN, 0.0, "page", "factor" },
        { HOUR, MIN, NAN, "page", "factor" },
        { HOUR, MIN, INFINITY, "page", "factor" },
        { HOUR, MIN, 1.0, "", "severity is empty" },
    };
    struct burn_status st[2];
    struct burn_rule r;
    struct nines_err err;
    size_t i;

    load_rules();
    for (i = 0; i < BURN_DEFAULT_RULES; i++)
        cr_assert(eq(int, burn_rule_check(&rules[i], &err), 0));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.long_ms = bad[i].long_ms;
        r.short_ms = bad[i].short_ms;
        r.factor = bad[i].factor;
        memcpy(r.severity, bad[i].severity, sizeof(r.severity));
        memset(&err, 0, sizeof(err));
        cr_assert(eq(int, burn_rule_check(&r, &err), NINES_EINVAL), "case %zu", i);
        cr_assert(ne(ptr, strstr(err.msg, bad[i].expect), NULL), "case %zu: %s", i, err.msg);
        memset(st, 0x55, sizeof(st));
        cr_assert(eq(int, burn_evaluate(NULL, NULL, NULL, 0, TARGET, &r, 1, T0, st),
                     NINES_EINVAL));
        cr_assert(eq(int, st[0].firing, 0));
    }
    memset(r.severity, 'x', sizeof(r.severity)); /* no NUL */
    cr_assert(eq(int, burn_rule_check(&r, &err), NINES_EINVAL));
    cr_assert(ne(ptr, strstr(err.msg, "severity"), NULL));

    memset(st, 0x55, sizeof(st));
    cr_assert(eq(int, burn_evaluate(NULL, NULL, NULL, 0, 100.0, rules, 2, T0, st),
                 NINES_EINVAL));
    cr_assert(eq(dbl, st[1].long_rate, 0.0));
    cr_assert(eq(int, burn_evaluate(NULL, NULL, NULL, 0, TARGET, rules, 1, NINES_IV_LIMIT + 1,
                                    st),
                 NINES_EINVAL));
    /* the window would start before -NINES_IV_LIMIT */
    cr_assert(eq(int, burn_evaluate(NULL, NULL, NULL, 0, TARGET, rules, 1, -NINES_IV_LIMIT,
                                    st),
                 NINES_EINVAL));
}
