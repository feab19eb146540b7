/* The YAML configuration: collector settings and the check catalogue. */
#ifndef NINES_CONFIG_H
#define NINES_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "nines/check.h"
#include "nines/err.h"

struct nines_collector_cfg {
    char *name;           /* consumer name in the results group; "collector" */
    char *data_dir;       /* embedded Redis lives here; default "/var/lib/nines" */
    char *redis;          /* redis://..., unix:///...; NULL = embedded redis-server */
    char *redis_server;   /* binary for the embedded server; "redis-server" */
    char *log_level;      /* debug|info|warn|error; "info" */
    int64_t stream_maxlen;  /* approximate cap on the results stream; 1000000 */
};

struct nines_config {
    char *path;
    struct nines_collector_cfg collector;
    struct nines_check *checks;
    size_t checks_count;
};

/*
 * Loads and validates path. On success returns 0 and *out (free with
 * nines_config_free). On failure returns NINES_ECONFIG (or NINES_EIO when the
 * file cannot be read) with every problem found in errs, each as
 * FILE:LINE:COLUMN: what is wrong. Nothing outside the returned struct is
 * touched.
 */
int nines_config_load(const char *path, struct nines_config **out, struct nines_errlist *errs);
void nines_config_free(struct nines_config *cfg);
/* Parses "500ms", "10s", "5m", "2h", "1d" or a bare number of seconds. */
int nines_duration_parse(const char *s, int64_t *ms);

#endif
