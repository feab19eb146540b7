/* A check specification: what to run, where and how often. */
#ifndef NINES_CHECK_H
#define NINES_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "nines/err.h"

enum nines_check_kind {
    NINES_KIND_HTTP = 0,
};

struct nines_http_opts {
    char *url;
    char *method;            /* default "GET" */
    char *expect_status;     /* list of codes and ranges, default "200-399" */
    int follow_redirects;    /* maximum redirects followed; 0 = none (default) */
    int verify_tls;          /* default 1 */
    int64_t max_body_bytes;  /* read at most this, the rest is discarded; 1 MiB */
};

/*
 * Every string is heap-owned by the struct; nines_check_clear frees them.
 * interval_ms and timeout_ms are always set (defaults applied by the loader).
 */
struct nines_check {
    char *id;
    enum nines_check_kind kind;
    int64_t interval_ms;
    int64_t timeout_ms;
    char **locations;        /* empty = every location */
    size_t locations_count;
    int failures_to_down;    /* default 2 */
    int successes_to_up;     /* default 1 */
    struct nines_http_opts http;
};

const char *nines_check_kind_name(enum nines_check_kind k);
int nines_check_kind_parse(const char *name, enum nines_check_kind *k);
/* Sets defaults on a zeroed check (kind options included). */
void nines_check_defaults(struct nines_check *c);
void nines_check_clear(struct nines_check *c);
/* Deep copy; returns 0 or NINES_ENOMEM (dst is then cleared). */
int nines_check_copy(struct nines_check *dst, const struct nines_check *src);
/* 1 when every field is equal (deep). */
int nines_check_equal(const struct nines_check *a, const struct nines_check *b);
/* 1 when the check runs at location loc (no locations = everywhere). */
int nines_check_runs_at(const struct nines_check *c, const char *loc);
void nines_checks_free(struct nines_check *checks, size_t count);

#endif
