/* Probe clock skew; see skew.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nines/log.h"
#include "skew.h"

static struct skew_probe *skew_find(struct skew *s, const char *probe)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->p[i].name, probe) == 0)
            return &s->p[i];
    if (s->n == SKEW_PROBES)
        return NULL;
    snprintf(s->p[s->n].name, sizeof(s->p[0].name), "%s", probe);
    return &s->p[s->n++];
}

int64_t skew_observe(struct skew *s, const char *probe, int64_t sent_ms, int64_t entry_ms,
                     int64_t max_ms, int64_t now_ms)
{
    struct skew_probe *p = skew_find(s, probe);
    int64_t skew = entry_ms - sent_ms;
    int over = skew > max_ms || skew < -max_ms;

    if (p == NULL)
        return over ? skew : 0;
    p->skew_ms = skew;
    if (over && (!p->flagged || now_ms - p->logged_ms >= 60000)) {
        log_warn("probe_clock_skew", "probe=%s skew_ms=%" PRId64 " max_ms=%" PRId64
                 " note=\"the probe's clock is off: its result times are corrected by the "
                 "skew\"", probe, skew, max_ms);
        p->logged_ms = now_ms;
    } else if (!over && p->flagged) {
        log_info("probe_clock_ok", "probe=%s skew_ms=%" PRId64, probe, skew);
    }
    p->flagged = over;
    return over ? skew : 0;
}
