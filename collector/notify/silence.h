/*
 * Silences: label matchers that hold notifications back until an expiry, or
 * until the alerts they held have resolved. Stored as JSON in Redis
 * (nines:silences, id -> JSON) so that the CLI, the API and every collector
 * see the same ones.
 */
#ifndef NINES_SILENCE_H
#define NINES_SILENCE_H

#include <regex.h>
#include <stdint.h>

#include "nines/err.h"
#include "notify.h"

#define SILENCE_KEY "nines:silences"
#define SILENCE_MAX_MATCHERS 8

struct silence_matcher {
    char name[16];                 /* check service customer team severity rule location */
    char value[128];
    int regex;                     /* value is a POSIX extended regex (unanchored) */
    regex_t re;
    int compiled;
};

struct silence {
    char id[40];
    struct silence_matcher m[SILENCE_MAX_MATCHERS];
    size_t nm;                     /* at least one */
    int64_t start_ms;
    int64_t end_ms;                /* 0 with until_resolved */
    int until_resolved;            /* ends once nothing it holds is firing */
    char by[64];
    char comment[256];
    int64_t created_ms;
    int64_t reminded_ms;           /* last reminder sent; 0 = none yet */
    int matched;                   /* it has held at least one alert */
};

/* "name=value" or "name=~regex" into m (compiled); 0 or NINES_EINVAL with err. */
int silence_matcher_parse(const char *text, struct silence_matcher *m, struct nines_err *err);
/* Parses a stored or posted silence; compiles its regexes. 0 or NINES_EINVAL. */
int silence_from_json(const char *json, size_t len, struct silence *s, struct nines_err *err);
/* Compact JSON (malloc'd), or NULL without memory. */
char *silence_to_json(const struct silence *s);
void silence_clear(struct silence *s);
/* Whether s holds n back at now_ms (started, not expired, every matcher matches). */
int silence_matches(const struct silence *s, const struct notification *n, int64_t now_ms);
/* Whether s has run out at now_ms (until_resolved silences end elsewhere). */
int silence_expired(const struct silence *s, int64_t now_ms);

#endif
