/*
 * Probe clock skew. A probe stamps each result with its clock when it sends
 * it ("sent"); Redis stamps the stream entry with its own (the entry id's
 * ms). skew = entry ms − sent, the network delay (milliseconds) aside. A probe
 * whose skew exceeds collector.max_clock_skew is flagged (a log line a minute,
 * /metrics, the API) and its results' times are corrected into Redis's clock
 * (start += skew): never silently trusted. Results without "sent" (older
 * probes, imports) are taken as they are.
 */
#ifndef NINES_SKEW_H
#define NINES_SKEW_H

#include <stddef.h>
#include <stdint.h>

#define SKEW_PROBES 256

struct skew_probe {
    char name[64];
    int64_t skew_ms;               /* the latest measured */
    int flagged;                   /* over the bound now */
    int64_t logged_ms;
};

struct skew {
    struct skew_probe p[SKEW_PROBES];
    size_t n;
};

/* Notes a result of probe (sent at sent_ms, in Redis at entry_ms); returns
 * the correction to add to its times: skew when over max_ms, else 0. */
int64_t skew_observe(struct skew *s, const char *probe, int64_t sent_ms, int64_t entry_ms,
                     int64_t max_ms, int64_t now_ms);

#endif
