/*
 * Offline replay of one check's historical results (`nines import`): the
 * results go, in time order, through a fresh state machine (state.c, the
 * live collector's), and what the live collector would have stored comes
 * out as plain data: closed incidents (= down intervals), no-data gaps,
 * per-UTC-day latency histograms with a digest of the results counted, and
 * the span the history covers. No I/O; the caller writes it.
 *
 * Time between results is handled as the live collector's tick would: a
 * tick at each result's start time, before the result. At the end the
 * history stops as if every probe had fallen silent: an incident still open
 * closes at the last result of the location that ends it (state.c's rule
 * for silent locations).
 */
#ifndef NINES_HISTORY_H
#define NINES_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "histo.h"
#include "nines/check.h"
#include "nines/result.h"
#include "state.h"

/* Where an import's own records go (besides store.h's incident, down and gap keys). */
#define HISTORY_KEY_IMPORTED "nines:imported:"   /* + check: zset "start-end", score start:
                                                  * time covered by imported results */
#define HISTORY_KEY_LATENCY_IMPORTS "nines:latency-imports:"  /* + check:YYYYMMDD: set of
                                                  * the digests already counted that day */

struct history_incident {
    int64_t start_ms;
    int64_t end_ms;
    char reason[NINES_REASON_LEN];
    char message[NINES_MESSAGE_LEN];
    char locations[256];
};

struct history_gap {
    int64_t from_ms;
    int64_t to_ms;
};

/* Latency of the ok results of one UTC day; digest identifies the set. */
struct history_day {
    int64_t day_ms;                  /* 00:00 UTC */
    struct nines_histo h;
    /* SHA-256 (hex) over the day's counted results, in replay order:
     * location NUL start_ms NUL total_us NUL each; the same rows, the same digest */
    char digest[65];
};

struct history;

/* A replay of check c (borrowed: it must outlive the history); NULL on ENOMEM. */
struct history *history_new(const struct nines_check *c);
void history_free(struct history *h);
/*
 * Applies the next result. Results must come in start_ms order (equal
 * times in any order); NINES_ESTATE for an older one or after finish,
 * NINES_EINVAL when the check would have more than STATE_MAX_LOCATIONS
 * locations (the result is not applied), NINES_ENOMEM. 0 else.
 */
int history_apply(struct history *h, const struct nines_result *r);
/* Ends the replay (see above); after it only the getters below. 0 or NINES_ENOMEM. */
int history_finish(struct history *h);

size_t history_incidents(const struct history *h, const struct history_incident **out);
size_t history_gaps(const struct history *h, const struct history_gap **out);
size_t history_days(const struct history *h, const struct history_day **out);
/* [first result, last result + interval): the time the history covers; 0 without results. */
int history_span(const struct history *h, int64_t *from_ms, int64_t *to_ms);
/* Results applied. */
uint64_t history_results(const struct history *h);

#endif
