/*
 * Error-budget burn rate, multi-window and multi-burn-rate (the SRE
 * workbook's method). Pure computation on interval sets; no I/O.
 *
 * With a target t (99.9 % → t = 0.999) the error budget of a window is
 * (1 − t) × eligible time, and the burn rate over a window is
 *
 *   burn = (downtime / eligible) / (1 − t)
 *
 * where downtime and eligible come from uptime_compute (maintenance cut out,
 * no-data left out unless it counts as down). Burn 1 spends the budget exactly
 * over the window; burn 14.4 spends a 30-day budget in 50 hours.
 *
 * A rule (long window L, short window S, factor f) fires at `now` when the
 * burn over [now − L, now) AND the burn over [now − S, now) both exceed f
 * (strictly, by more than one part in 10^9 so that float rounding of 99.9 %
 * cannot make a burn of exactly f fire). S = 0 means no short window: the
 * long one alone decides.
 *
 * Delay, for a full outage from T with the windows otherwise up and
 * eligible (no maintenance, no no-data). At T + x the downtime in a window of
 * length W is min(x, W), so its burn is min(x, W) / (W (1 − t)). Both windows
 * exceed f once x > f (1 − t) L and x > f (1 − t) S; as S ≤ L the long window
 * decides:
 *
 *   fires at   T + f (1 − t) L   (exclusive; plus up to one evaluation period P
 *                                 of the caller: the first evaluation after it)
 *
 *   14.4 × 0.001 × 1 h = 51.84 s,  6 × 0.001 × 6 h = 129.6 s,
 *   1 × 0.001 × 3 d = 259.2 s  (at 99.9 %).
 *
 * A rule with f (1 − t) ≥ 1 can never fire: no window burns faster than
 * 1 / (1 − t).
 *
 * Resolution, after the outage [T, R) ends at R: at R + y (y < S) the short
 * window holds min(D, S − y) of downtime, D = R − T. A rule that fired had
 * D > f (1 − t) L ≥ f (1 − t) S, so its short burn stays above f exactly while
 * S − y > f (1 − t) S: the rule resolves at
 *
 *   R + (1 − f (1 − t)) S        (inclusive: a burn of exactly f does not fire;
 *                                 plus up to P)
 *
 *   (1 − 0.0144) × 5 min = 295.68 s,  (1 − 0.006) × 30 min = 1789.2 s.
 *
 * The long window still burns above f then; the short window is what makes
 * the page resolve quickly. With S = 0 the same formula applies with L for S.
 */
#ifndef NINES_BURN_H
#define NINES_BURN_H

#include <stddef.h>
#include <stdint.h>

#include "intervals.h"
#include "nines/err.h"
#include "uptime.h"

#define BURN_SEVERITY_LEN 16
#define BURN_DEFAULT_RULES 3

struct burn_rule {
    int64_t long_ms;
    int64_t short_ms;                /* 0 = no short window */
    double factor;                   /* fires when both burns exceed it */
    char severity[BURN_SEVERITY_LEN]; /* "page", "ticket", ... */
};

struct burn_status {
    double long_rate;
    double short_rate;               /* 0 when the rule has no short window */
    struct uptime_result long_window;
    struct uptime_result short_window; /* all zero when there is none */
    int firing;
};

/*
 * Writes the three default rules into out and returns BURN_DEFAULT_RULES:
 *   page    14.4 × over 1 h and 5 min
 *   page    6 ×    over 6 h and 30 min
 *   ticket  1 ×    over 3 d (no short window)
 */
size_t burn_default_rules(struct burn_rule out[BURN_DEFAULT_RULES]);

/*
 * 0, or NINES_EINVAL with err saying what is wrong: long window ≤ 0 or over
 * NINES_IV_LIMIT, short window < 0 or longer than the long one, factor not a
 * finite number > 0, severity empty or not NUL-terminated. err may be NULL.
 */
int burn_rule_check(const struct burn_rule *rule, struct nines_err *err);

/*
 * The burn rate of one window for a target in percent (0 < target_pct < 100).
 * *rate = 0 when the window has no eligible time (r->no_eligible_time): no
 * budget to burn, nothing burnt. 0, or NINES_EINVAL for a bad target.
 */
/* Whether rate exceeds factor (by more than one part in 10^9, see above). */
int burn_exceeds(double rate, double factor);
int burn_rate(const struct uptime_result *r, double target_pct, double *rate);

/*
 * Evaluates n rules at now_ms: out[i] gets rule i's long and short burn over
 * [now − window, now) and whether it fires. down, maintenance and nodata are
 * as in struct uptime_input (NULL = none). Exact: every window goes through
 * uptime_compute. 0, NINES_EINVAL (bad target, bad rule, now_ms beyond
 * ±NINES_IV_LIMIT) or NINES_ENOMEM; out is all zero on failure.
 */
int burn_evaluate(const struct nines_ivset *down, const struct nines_ivset *maintenance,
                  const struct nines_ivset *nodata, int nodata_is_down, double target_pct,
                  const struct burn_rule *rules, size_t n, int64_t now_ms,
                  struct burn_status *out);

#endif
