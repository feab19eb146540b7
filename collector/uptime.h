/*
 * Uptime over a window [from, to), exact to the millisecond:
 *
 *   uptime = 1 − downtime / (window − maintenance − no-data)
 *
 * Every instant of the window falls in exactly one class, decided in this
 * order: maintenance (cut out of the window and out of downtime), no data
 * (left out by default; counted as down when the SLA says so), down, up.
 * Pure computation on interval sets; no I/O.
 */
#ifndef NINES_UPTIME_H
#define NINES_UPTIME_H

#include <stddef.h>
#include <stdint.h>

#include "intervals.h"

struct uptime_input {
    int64_t from_ms;
    int64_t to_ms;
    /* Any order, may overlap each other and the window's edges; NULL = none. */
    const struct nines_ivset *down;
    const struct nines_ivset *maintenance;
    const struct nines_ivset *nodata;
    int nodata_is_down; /* the SLA counts time without data as downtime */
};

struct uptime_result {
    int64_t window_ms;      /* to − from */
    int64_t maintenance_ms; /* maintenance ∩ window */
    int64_t nodata_ms;      /* no-data ∩ window, outside maintenance */
    int64_t downtime_ms;    /* down ∩ window − maintenance − no-data (+ no-data if down) */
    int64_t eligible_ms;    /* window − maintenance − (no-data unless it counts as down) */
    double uptime;          /* 1 − downtime / eligible; 1.0 when no_eligible_time */
    double coverage;        /* (window − maintenance − no-data) / (window − maintenance);
                               1.0 when the window is all maintenance */
    int no_eligible_time;   /* eligible_ms == 0: the uptime figure means nothing */
};

/* 0, or NINES_EINVAL (to < from, or beyond ±NINES_IV_LIMIT), NINES_ENOMEM. */
int uptime_compute(const struct uptime_input *in, struct uptime_result *out);

enum uptime_down_when { UPTIME_DOWN_ANY = 0, UPTIME_DOWN_ALL };

/* One check of a service: its down intervals and whether it is critical. */
struct uptime_member {
    const struct nines_ivset *down;
    int critical;
};

/*
 * A service's down intervals from its checks': the union (ANY) or the
 * intersection (ALL) over its critical checks. A non-critical check never
 * makes the service down; a service without critical checks is never down.
 * out is overwritten (see intervals.h); 0 or NINES_ENOMEM / NINES_EINVAL.
 */
int uptime_service_down(const struct uptime_member *checks, size_t n,
                        enum uptime_down_when when, struct nines_ivset *out);

/* The rolling windows shown everywhere: exactly 24 h, 7, 30, 90 days of real time. */
enum uptime_window { UPTIME_24H = 0, UPTIME_7D, UPTIME_30D, UPTIME_90D, UPTIME_WINDOWS };

/* [now − length, now); NINES_EINVAL for an unknown window. */
int uptime_window_range(enum uptime_window w, int64_t now_ms, int64_t *from_ms,
                        int64_t *to_ms);
/* "24h", "7d", "30d", "90d"; NULL for an unknown window. */
const char *uptime_window_name(enum uptime_window w);

#endif
