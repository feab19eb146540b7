/*
 * Burn rates: each rule's windows go through uptime_compute, so maintenance,
 * no-data and overlapping incidents count exactly as they do for uptime.
 */
#include <math.h>
#include <string.h>

#include "burn.h"

#define BURN_MIN_MS INT64_C(60000)
#define BURN_HOUR_MS (60 * BURN_MIN_MS)
#define BURN_DAY_MS (24 * BURN_HOUR_MS)
/*
 * "Exceeds f" means by more than one part in 10^9: 99.9 and 14.4 have no exact
 * binary form, and without the margin a burn of exactly f (51 840 ms down in
 * 1 h at 99.9 %) may come out a hair above it. One millisecond more is a
 * relative step of 1 / (f (1 − t) L), far above 10^-9 for any window below
 * 10^9 ms of budget (11 days).
 */
#define BURN_MARGIN 1e-9

size_t burn_default_rules(struct burn_rule out[BURN_DEFAULT_RULES])
{
    static const struct burn_rule defaults[BURN_DEFAULT_RULES] = {
        { BURN_HOUR_MS, 5 * BURN_MIN_MS, 14.4, "page" },
        { 6 * BURN_HOUR_MS, 30 * BURN_MIN_MS, 6.0, "page" },
        { 3 * BURN_DAY_MS, 0, 1.0, "ticket" },
    };

    memcpy(out, defaults, sizeof(defaults));
    return BURN_DEFAULT_RULES;
}

static int burn_fail(struct nines_err *err, const char *what)
{
    return nines_err_set(err, NINES_EINVAL, "burn rule: %s", what);
}

int burn_rule_check(const struct burn_rule *rule, struct nines_err *err)
{
    if (rule->long_ms <= 0 || rule->long_ms > NINES_IV_LIMIT)
        return burn_fail(err, "the long window must be longer than 0 ms");
    if (rule->short_ms < 0)
        return burn_fail(err, "the short window must not be negative");
    if (rule->short_ms > rule->long_ms)
        return burn_fail(err, "the short window must not be longer than the long window");
    if (!isfinite(rule->factor) || rule->factor <= 0)
        return burn_fail(err, "the factor must be a number greater than 0");
    if (memchr(rule->severity, '\0', sizeof(rule->severity)) == NULL)
        return burn_fail(err, "the severity is longer than 15 bytes");
    if (rule->severity[0] == '\0')
        return burn_fail(err, "the severity is empty");
    return 0;
}

static int burn_target_ok(double target_pct)
{
    return isfinite(target_pct) && target_pct > 0 && target_pct < 100;
}

int burn_exceeds(double rate, double factor)
{
    return rate > factor * (1.0 + BURN_MARGIN);
}

int burn_rate(const struct uptime_result *r, double target_pct, double *rate)
{
    *rate = 0;
    if (!burn_target_ok(target_pct))
        return NINES_EINVAL;
    if (r->no_eligible_time || r->eligible_ms <= 0)
        return 0;
    /* (down / eligible) / (1 − t) with t = pct / 100, as one division. */
    *rate = (double)r->downtime_ms * 100.0 / ((double)r->eligible_ms * (100.0 - target_pct));
    return 0;
}

/* One window [now − len, now) into *res and its burn into *rate. */
static int burn_window(const struct uptime_input *base, int64_t len, int64_t now_ms,
                       double target_pct, struct uptime_result *res, double *rate)
{
    struct uptime_input in = *base;
    int rc;

    in.from_ms = now_ms - len;
    in.to_ms = now_ms;
    rc = uptime_compute(&in, res);
    if (rc != 0)
        return rc;
    return burn_rate(res, target_pct, rate);
}

static int burn_one(const struct uptime_input *base, double target_pct,
                    const struct burn_rule *rule, int64_t now_ms, struct burn_status *st)
{
    int rc;

    rc = burn_window(base, rule->long_ms, now_ms, target_pct, &st->long_window, &st->long_rate);
    if (rc == 0 && rule->short_ms > 0)
        rc = burn_window(base, rule->short_ms, now_ms, target_pct, &st->short_window,
                         &st->short_rate);
    if (rc != 0)
        return rc;
    st->firing = burn_exceeds(st->long_rate, rule->factor) &&
                 (rule->short_ms == 0 || burn_exceeds(st->short_rate, rule->factor));
    return 0;
}

int burn_evaluate(const struct nines_ivset *down, const struct nines_ivset *maintenance,
                  const struct nines_ivset *nodata, int nodata_is_down, double target_pct,
                  const struct burn_rule *rules, size_t n, int64_t now_ms,
                  struct burn_status *out)
{
    struct uptime_input base = { 0, 0, down, maintenance, nodata, nodata_is_down };
    size_t i;
    int rc = 0;

    memset(out, 0, n * sizeof(*out));
    if (!burn_target_ok(target_pct) || now_ms < -NINES_IV_LIMIT || now_ms > NINES_IV_LIMIT)
        return NINES_EINVAL;
    for (i = 0; i < n; i++) {
        if (burn_rule_check(&rules[i], NULL) != 0)
            return NINES_EINVAL;
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = burn_one(&base, target_pct, &rules[i], now_ms, &out[i]);
    if (rc != 0)
        memset(out, 0, n * sizeof(*out));
    return rc;
}
