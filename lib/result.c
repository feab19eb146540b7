/* Result values and outcome names. */
#include <stddef.h>
#include <string.h>

#include "nines/err.h"
#include "nines/result.h"

static const char *const outcome_names[] = { "ok", "fail", "timeout", "error" };

static void result_timings_unmeasured(struct nines_result *r)
{
    r->total_us = -1;
    r->dns_us = -1;
    r->connect_us = -1;
    r->tls_us = -1;
    r->ttfb_us = -1;
}

void nines_result_init(struct nines_result *r)
{
    memset(r, 0, sizeof(*r));
    result_timings_unmeasured(r);
}

_Static_assert(sizeof(struct nines_result) - offsetof(struct nines_result, facts) <
                   NINES_FACTS_LEN + sizeof(int64_t),
               "facts must be the last member: nines_result_begin zeroes all before it");

void nines_result_begin(struct nines_result *r)
{
    memset(r, 0, offsetof(struct nines_result, facts));
    r->facts[0] = '\0';
    result_timings_unmeasured(r);
}

const char *nines_outcome_name(enum nines_outcome o)
{
    if ((unsigned)o >= sizeof(outcome_names) / sizeof(outcome_names[0]))
        return "unknown";
    return outcome_names[o];
}

int nines_outcome_parse(const char *name, enum nines_outcome *o)
{
    for (size_t i = 0; i < sizeof(outcome_names) / sizeof(outcome_names[0]); i++) {
        if (strcmp(name, outcome_names[i]) == 0) {
            *o = (enum nines_outcome)i;
            return 0;
        }
    }
    return NINES_EINVAL;
}
