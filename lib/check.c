/*
 * Check specifications: defaults, deep copy, deep comparison.
 *
 * Some string options may be NULL, meaning their defaults: http.method
 * ("GET"), http.expect_status ("200-399"), dns.record_type ("A") and
 * dns.expect_rcode ("NOERROR"), and the check's severity ("page").
 * nines_check_defaults leaves them NULL because it cannot report an
 * allocation failure; nines_check_equal compares the values in effect, so
 * NULL and the default string are equal.
 *
 * The options of every kind are handled through the tables in checkopt.c.
 */
#include <stdlib.h>
#include <string.h>

#include "checkopt.h"
#include "nines/check.h"

const char *nines_check_kind_name(enum nines_check_kind k)
{
    const struct checkopt_kind *ko = checkopt_kind(k);

    return ko != NULL ? ko->name : "unknown";
}

int nines_check_kind_parse(const char *name, enum nines_check_kind *k)
{
    for (size_t i = 0; name != NULL && i < checkopt_nkinds; i++) {
        if (strcmp(name, checkopt_kinds[i].name) == 0) {
            *k = checkopt_kinds[i].kind;
            return 0;
        }
    }
    return NINES_EINVAL;
}

/* Every kind's defaults are set, whatever c->kind is: the others stay unused. */
void nines_check_defaults(struct nines_check *c)
{
    c->interval_ms = 30000;
    c->timeout_ms = 10000;
    c->failures_to_down = 2;
    c->successes_to_up = 1;
    c->quorum = 0;                  /* a majority of the locations reporting */
    c->http.method = NULL;          /* "GET" */
    c->http.expect_status = NULL;   /* "200-399" */
    c->http.follow_redirects = 0;
    c->http.verify_tls = 1;
    c->http.max_body_bytes = 1048576;
    c->dns.record_type = NULL;      /* "A" */
    c->dns.expect_rcode = NULL;     /* "NOERROR" */
    c->dns.match = NINES_DNS_MATCH_NONE;
    c->tcp.verify_tls = 1;
    c->icmp.count = 3;
    c->icmp.spacing_ms = 200;
    c->icmp.max_loss_pct = 0;
    c->push.grace_ms = 0;
    c->http_canary.verify_tls = 1;
}

static void check_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void nines_check_clear(struct nines_check *c)
{
    if (c == NULL)
        return;
    free(c->id);
    check_free_strv(c->locations, c->locations_count);
    check_free_strv(c->depends_on, c->depends_on_count);
    free(c->team);
    free(c->severity);
    checkopt_free(c);
    memset(c, 0, sizeof(*c));
}

/* strdup that keeps NULL as NULL; returns -1 only when an allocation failed. */
static int check_dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst == NULL ? -1 : 0;
}

/* Copies n strings of src into *dst, counting in *dn each one made. */
static int check_copy_strv(char ***dst, size_t *dn, char *const *src, size_t n)
{
    *dst = NULL;
    *dn = 0;
    if (n == 0)
        return 0;
    *dst = calloc(n, sizeof(**dst));
    if (*dst == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* count each string as it is made, so a failure frees what exists */
        if (check_dup_str(&(*dst)[i], src[i]) < 0)
            return -1;
        (*dn)++;
    }
    return 0;
}

/*
 * Deep copy. dst is overwritten, not freed first: pass a zeroed or cleared
 * struct. On NINES_ENOMEM dst is left zeroed.
 */
int nines_check_copy(struct nines_check *dst, const struct nines_check *src)
{
    struct nines_check tmp;

    if (dst == src)
        return 0;
    tmp = *src;                     /* scalars; every pointer is replaced below */
    tmp.id = tmp.team = tmp.severity = NULL;
    tmp.locations = tmp.depends_on = NULL;
    tmp.locations_count = tmp.depends_on_count = 0;
    if (checkopt_copy(&tmp, src) < 0 || check_dup_str(&tmp.id, src->id) < 0
        || check_dup_str(&tmp.team, src->team) < 0
        || check_dup_str(&tmp.severity, src->severity) < 0
        || check_copy_strv(&tmp.locations, &tmp.locations_count, src->locations,
                           src->locations_count) < 0
        || check_copy_strv(&tmp.depends_on, &tmp.depends_on_count, src->depends_on,
                           src->depends_on_count) < 0) {
        nines_check_clear(&tmp);
        memset(dst, 0, sizeof(*dst));
        return NINES_ENOMEM;
    }
    *dst = tmp;
    return 0;
}

static int check_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int check_strv_eq(char *const *a, size_t an, char *const *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++) {
        if (!check_str_eq(a[i], b[i]))
            return 0;
    }
    return 1;
}

/* The severity in effect: NULL is "page". */
static const char *check_severity(const struct nines_check *c)
{
    return c->severity != NULL ? c->severity : CHECKOPT_SEVERITY_DEFAULT;
}

/*
 * Compares the common fields and the options of the check's own kind: the
 * other kinds' options are unused, whatever they hold. Lists compare in
 * order.
 */
int nines_check_equal(const struct nines_check *a, const struct nines_check *b)
{
    const struct checkopt_kind *ko;

    if (!check_str_eq(a->id, b->id) || a->kind != b->kind
        || a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms
        || a->failures_to_down != b->failures_to_down
        || a->successes_to_up != b->successes_to_up || a->quorum != b->quorum
        || !check_strv_eq(a->locations, a->locations_count, b->locations, b->locations_count)
        || !check_strv_eq(a->depends_on, a->depends_on_count, b->depends_on,
                          b->depends_on_count)
        || !check_str_eq(a->team, b->team)
        || !check_str_eq(check_severity(a), check_severity(b)))
        return 0;
    ko = checkopt_kind(a->kind);
    return ko == NULL || checkopt_equal(ko, a, b);
}

int nines_check_runs_at(const struct nines_check *c, const char *loc)
{
    if (c->locations_count == 0)
        return 1;
    if (loc == NULL)
        return 0;
    for (size_t i = 0; i < c->locations_count; i++) {
        if (c->locations[i] != NULL && strcmp(c->locations[i], loc) == 0)
            return 1;
    }
    return 0;
}

void nines_checks_free(struct nines_check *checks, size_t count)
{
    if (checks == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        nines_check_clear(&checks[i]);
    free(checks);
}
