/* One check result: what a probe measured, as it travels to the collector. */
#ifndef NINES_RESULT_H
#define NINES_RESULT_H

#include <stdint.h>

enum nines_outcome {
    NINES_OUTCOME_OK = 0,
    NINES_OUTCOME_FAIL,    /* the target answered wrongly (status, refused, ...) */
    NINES_OUTCOME_TIMEOUT, /* the check's deadline passed */
    NINES_OUTCOME_ERROR,   /* the probe could not run the check properly */
};

#define NINES_ID_LEN 64      /* check ids, probe names, locations (with NUL) */
#define NINES_RESULT_ID_LEN 128
#define NINES_REASON_LEN 32
#define NINES_MESSAGE_LEN 256
#define NINES_FACTS_LEN 4096 /* kind-specific facts, compact JSON */

/*
 * A result is a plain value: fixed-size strings, no pointers, so it can be
 * copied, queued and compared without ownership questions.
 * Timings are microseconds, -1 when not measured.
 */
struct nines_result {
    char id[NINES_RESULT_ID_LEN];       /* unique: "<probe>/<boot_ms>/<seq>" */
    char check_id[NINES_ID_LEN];
    char probe[NINES_ID_LEN];
    char location[NINES_ID_LEN];
    int64_t start_ms;                   /* wall clock, ms since the epoch */
    enum nines_outcome outcome;
    int64_t total_us;
    int64_t dns_us;
    int64_t connect_us;
    int64_t tls_us;
    int64_t ttfb_us;
    int code;                           /* HTTP status, DNS rcode; 0 if none */
    char reason[NINES_REASON_LEN];      /* stable reason code, "" when ok */
    char message[NINES_MESSAGE_LEN];    /* short human text, "" when ok */
    /* ok, but not quite: "latency_over_objective", "cert_expiring", "capacity";
     * "" when none. The message then says why. */
    char warning[NINES_REASON_LEN];
    /* Kind-specific facts as a compact JSON object, "" when none: certificate
     * expiry, DNS answers and TTLs, ping RTTs, capacity samples, the start of
     * a failed HTTP body, per-address results. */
    char facts[NINES_FACTS_LEN];
};

/* Zeroes r and marks every timing as not measured. */
void nines_result_init(struct nines_result *r);
/*
 * The same for a result a check is about to fill, except that facts is only
 * emptied: its 4 KiB are written as a string by whoever sets them and never
 * read past the NUL, and zeroing them on every run is most of what a cheap
 * check's start touches in memory. r then encodes (lib/wire.c) and reads as
 * an initialised one, but does not compare equal to one with memcmp: decode
 * targets and values compared whole take nines_result_init.
 */
void nines_result_begin(struct nines_result *r);
const char *nines_outcome_name(enum nines_outcome o);
/* Returns 0 and sets *o, or NINES_EINVAL for an unknown name. */
int nines_outcome_parse(const char *name, enum nines_outcome *o);

#endif
