/*
 * The option tables of every check kind, and the generic walks over them:
 * free, deep copy, deep comparison. The catalogue encodes and decodes with
 * the same tables (lib/catalogue.c).
 */
#include <stdlib.h>
#include <string.h>

#include "checkopt.h"

#define CO_MEMBER(kind, m) offsetof(struct nines_check, kind.m)
#define CO_N(tab) (sizeof(tab) / sizeof((tab)[0]))

/* A row: name, type, flags, and (CO_OPTX) more fields by designator. */
#define CO_OPT(kind, m, t, fl) \
    { .name = #m, .type = (t), .flags = (fl), .offset = CO_MEMBER(kind, m) }
#define CO_OPTX(kind, m, t, fl, ...) \
    { .name = #m, .type = (t), .flags = (fl), .offset = CO_MEMBER(kind, m), __VA_ARGS__ }
#define CO_ARR(kind, m, t) \
    { .name = #m, .type = (t), .offset = CO_MEMBER(kind, m), \
      .count_offset = CO_MEMBER(kind, m##_count) }

const char *const checkopt_methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                         "OPTIONS", NULL };
const char *const checkopt_record_types[] = { "A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA",
                                              "SRV", "PTR", "CAA", NULL };
const char *const checkopt_rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                        "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                        "NOTZONE", NULL };
const char *const checkopt_tls_versions[] = { "1.0", "1.1", "1.2", "1.3", NULL };
const char *const checkopt_auth_types[] = { "basic", "bearer", NULL };
const char *const checkopt_severities[] = { "page", "ticket", "info", NULL };

static const struct checkopt co_http[] = {
    CO_OPT(http, url, CHECKOPT_STR, CHECKOPT_REQUIRED | CHECKOPT_ALWAYS),
    CO_OPTX(http, method, CHECKOPT_STR, CHECKOPT_ALWAYS, .dflt = "GET",
           .choices = checkopt_methods),
    CO_OPTX(http, expect_status, CHECKOPT_STR, CHECKOPT_ALWAYS, .dflt = "200-399"),
    CO_OPTX(http, follow_redirects, CHECKOPT_INT, CHECKOPT_ALWAYS, .min = 0, .max = 20),
    CO_OPT(http, verify_tls, CHECKOPT_BOOL, CHECKOPT_ALWAYS),
    CO_OPTX(http, max_body_bytes, CHECKOPT_I64, CHECKOPT_ALWAYS, .min = 0, .max = INT64_MAX),
    CO_ARR(http, headers, CHECKOPT_KV),
    CO_OPT(http, body, CHECKOPT_STR, 0),
    CO_OPTX(http, auth, CHECKOPT_STR, 0, .choices = checkopt_auth_types),
    CO_OPT(http, auth_user, CHECKOPT_STR, 0),
    CO_OPT(http, secret_env, CHECKOPT_STR, 0),
    CO_OPT(http, secret_file, CHECKOPT_STR, 0),
    CO_OPT(http, body_contains, CHECKOPT_STR, 0),
    CO_OPT(http, body_not_contains, CHECKOPT_STR, 0),
    CO_OPT(http, body_regex, CHECKOPT_STR, 0),
    CO_OPT(http, json_condition, CHECKOPT_STR, 0),
    CO_OPTX(http, latency_objective_ms, CHECKOPT_I64, 0, .min = 0, .max = INT64_C(86400000)),
    CO_OPT(http, ca_file, CHECKOPT_STR, 0),
    CO_OPT(http, client_cert, CHECKOPT_STR, 0),
    CO_OPT(http, client_key, CHECKOPT_STR, 0),
    CO_OPT(http, tls_server_name, CHECKOPT_STR, 0),
    CO_OPTX(http, tls_min_version, CHECKOPT_STR, 0, .choices = checkopt_tls_versions),
    CO_OPTX(http, cert_min_days, CHECKOPT_INT, 0, .min = 0, .max = 3650),
    CO_ARR(http, header_conds, CHECKOPT_HDRCONDS),
    CO_OPT(http, ip_version, CHECKOPT_IPVER, 0),
    CO_OPT(http, all_addresses, CHECKOPT_BOOL, 0),
    CO_OPT(http, resolve, CHECKOPT_STR, 0),
    CO_OPT(http, proxy, CHECKOPT_STR, 0),
};

static const struct checkopt co_dns[] = {
    CO_OPT(dns, name, CHECKOPT_STR, CHECKOPT_REQUIRED),
    CO_OPTX(dns, record_type, CHECKOPT_STR, 0, .dflt = "A", .choices = checkopt_record_types),
    CO_ARR(dns, servers, CHECKOPT_STRV),
    CO_OPTX(dns, expect_rcode, CHECKOPT_STR, 0, .dflt = "NOERROR", .choices = checkopt_rcodes),
    CO_ARR(dns, expect_answers, CHECKOPT_STRV),
    CO_OPT(dns, match, CHECKOPT_MATCH, 0),
    CO_OPT(dns, answer_regex, CHECKOPT_STR, 0),
    CO_OPT(dns, tcp, CHECKOPT_BOOL, 0),
};

static const struct checkopt co_tcp[] = {
    CO_OPT(tcp, host, CHECKOPT_STR, CHECKOPT_REQUIRED),
    CO_OPTX(tcp, port, CHECKOPT_INT, CHECKOPT_REQUIRED, .min = 1, .max = 65535),
    CO_OPT(tcp, send, CHECKOPT_STR, 0),
    CO_OPT(tcp, expect_banner, CHECKOPT_STR, 0),
    CO_OPT(tcp, tls, CHECKOPT_BOOL, 0),
    CO_OPT(tcp, verify_tls, CHECKOPT_BOOL, 0),
    CO_OPT(tcp, ca_file, CHECKOPT_STR, 0),
    CO_OPT(tcp, tls_server_name, CHECKOPT_STR, 0),
    CO_OPTX(tcp, cert_min_days, CHECKOPT_INT, 0, .min = 0, .max = 3650),
    CO_OPT(tcp, ip_version, CHECKOPT_IPVER, 0),
};

static const struct checkopt co_icmp[] = {
    CO_OPT(icmp, host, CHECKOPT_STR, CHECKOPT_REQUIRED),
    CO_OPTX(icmp, count, CHECKOPT_INT, 0, .min = 1, .max = 100),
    CO_OPTX(icmp, spacing_ms, CHECKOPT_I64, 0, .min = 10, .max = 10000),
    CO_OPTX(icmp, max_loss_pct, CHECKOPT_INT, 0, .min = 0, .max = 100),
    CO_OPT(icmp, ip_version, CHECKOPT_IPVER, 0),
};

static const struct checkopt co_host[] = {
    CO_OPTX(host, cpu_pct, CHECKOPT_INT, 0, .min = 0, .max = 100),
    CO_OPTX(host, memory_pct, CHECKOPT_INT, 0, .min = 0, .max = 100),
    CO_OPTX(host, swap_pct, CHECKOPT_INT, 0, .min = 0, .max = 100),
    CO_OPTX(host, disk_pct, CHECKOPT_INT, 0, .min = 0, .max = 100),
    CO_OPTX(host, inode_pct, CHECKOPT_INT, 0, .min = 0, .max = 100),
    CO_OPTX(host, open_files_pct, CHECKOPT_INT, 0, .min = 0, .max = 100),
    CO_OPTX(host, load_per_cpu, CHECKOPT_DOUBLE, 0, .max = 1000),
    CO_ARR(host, mounts, CHECKOPT_STRV),
};

/* Push checks are run by no probe: the options say what the collector waits for. */
static const struct checkopt co_push[] = {
    CO_OPT(push, token_sha256, CHECKOPT_SHA256, CHECKOPT_REQUIRED),
    CO_OPTX(push, period_ms, CHECKOPT_I64, CHECKOPT_REQUIRED, .min = 10000,
            .max = INT64_C(30) * 86400000),
    CO_OPTX(push, grace_ms, CHECKOPT_I64, 0, .min = 0, .max = INT64_C(30) * 86400000),
};

static const char *const co_canary_methods[] = { "PUT", "POST", NULL };

static const struct checkopt co_redis_canary[] = {
    CO_OPT(redis_canary, address, CHECKOPT_STR, CHECKOPT_REQUIRED),
    CO_OPT(redis_canary, replica, CHECKOPT_STR, 0),
    CO_OPT(redis_canary, key, CHECKOPT_STR, 0),
    CO_OPT(redis_canary, secret_env, CHECKOPT_STR, 0),
    CO_OPT(redis_canary, secret_file, CHECKOPT_STR, 0),
};

static const struct checkopt co_http_canary[] = {
    CO_OPT(http_canary, write_url, CHECKOPT_STR, CHECKOPT_REQUIRED),
    CO_OPTX(http_canary, method, CHECKOPT_STR, 0, .dflt = "PUT", .choices = co_canary_methods),
    CO_OPT(http_canary, body, CHECKOPT_STR, 0),
    CO_OPT(http_canary, read_url, CHECKOPT_STR, 0),
    CO_OPT(http_canary, seq_path, CHECKOPT_STR, 0),
    CO_OPT(http_canary, ts_path, CHECKOPT_STR, 0),
    CO_OPT(http_canary, seq_regex, CHECKOPT_STR, 0),
    CO_OPT(http_canary, ts_regex, CHECKOPT_STR, 0),
    CO_OPT(http_canary, verify_tls, CHECKOPT_BOOL, CHECKOPT_ALWAYS),
};

const struct checkopt_kind checkopt_kinds[] = {
    { NINES_KIND_HTTP, "http", co_http, CO_N(co_http) },
    { NINES_KIND_DNS, "dns", co_dns, CO_N(co_dns) },
    { NINES_KIND_TCP, "tcp", co_tcp, CO_N(co_tcp) },
    { NINES_KIND_ICMP, "icmp", co_icmp, CO_N(co_icmp) },
    { NINES_KIND_HOST, "host", co_host, CO_N(co_host) },
    { NINES_KIND_PUSH, "push", co_push, CO_N(co_push) },
    { NINES_KIND_REDIS_CANARY, "redis_canary", co_redis_canary, CO_N(co_redis_canary) },
    { NINES_KIND_HTTP_CANARY, "http_canary", co_http_canary, CO_N(co_http_canary) },
};

const size_t checkopt_nkinds = CO_N(checkopt_kinds);

static const char *const co_match_names[] = { "none", "exact", "include" };
static const char *const co_hdr_op_names[] = { "present", "equals", "regex" };

const struct checkopt_kind *checkopt_kind(enum nines_check_kind k)
{
    for (size_t i = 0; i < checkopt_nkinds; i++) {
        if (checkopt_kinds[i].kind == k)
            return &checkopt_kinds[i];
    }
    return NULL;
}

int checkopt_one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; s != NULL && list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0)
            return 1;
    }
    return 0;
}

const char *checkopt_match_name(enum nines_dns_match m)
{
    if ((unsigned)m >= CO_N(co_match_names))
        return "unknown";
    return co_match_names[m];
}

int checkopt_match_parse(const char *s, enum nines_dns_match *m)
{
    for (size_t i = 0; i < CO_N(co_match_names); i++) {
        if (strcmp(s, co_match_names[i]) == 0) {
            *m = (enum nines_dns_match)i;
            return 0;
        }
    }
    return NINES_EINVAL;
}

const char *checkopt_hdr_op_name(enum nines_header_op op)
{
    if ((unsigned)op >= CO_N(co_hdr_op_names))
        return "unknown";
    return co_hdr_op_names[op];
}

int checkopt_hdr_op_parse(const char *s, enum nines_header_op *op)
{
    for (size_t i = 0; i < CO_N(co_hdr_op_names); i++) {
        if (strcmp(s, co_hdr_op_names[i]) == 0) {
            *op = (enum nines_header_op)i;
            return 0;
        }
    }
    return NINES_EINVAL;
}

/* ---- free ---------------------------------------------------------------- */

static int co_is_array(const struct checkopt *o)
{
    return o->type == CHECKOPT_STRV || o->type == CHECKOPT_KV || o->type == CHECKOPT_HDRCONDS;
}

static void co_free_one(struct nines_check *c, const struct checkopt *o)
{
    char *base = (char *)c;
    void *p;
    size_t n;

    if (o->type != CHECKOPT_STR && !co_is_array(o))
        return;                     /* a scalar: nothing to free */
    p = *(void **)(base + o->offset);
    n = co_is_array(o) ? *(size_t *)(base + o->count_offset) : 0;
    switch (o->type) {
    case CHECKOPT_STR:
        free(p);
        break;
    case CHECKOPT_STRV:
        for (size_t i = 0; i < n; i++)
            free(((char **)p)[i]);
        free(p);
        break;
    case CHECKOPT_KV:
        for (size_t i = 0; i < n; i++) {
            free(((struct nines_kv *)p)[i].name);
            free(((struct nines_kv *)p)[i].value);
        }
        free(p);
        break;
    case CHECKOPT_HDRCONDS:
        for (size_t i = 0; i < n; i++) {
            free(((struct nines_header_cond *)p)[i].name);
            free(((struct nines_header_cond *)p)[i].value);
        }
        free(p);
        break;
    default:
        break;
    }
}

void checkopt_free(struct nines_check *c)
{
    for (size_t k = 0; k < checkopt_nkinds; k++) {
        for (size_t i = 0; i < checkopt_kinds[k].count; i++)
            co_free_one(c, &checkopt_kinds[k].opts[i]);
    }
}

/* ---- copy ---------------------------------------------------------------- */

/* strdup that keeps NULL as NULL; -1 only when an allocation failed. */
static int co_dup(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst == NULL ? -1 : 0;
}

static int co_copy_strv(char ***dst, size_t *dn, char *const *src, size_t n)
{
    if (n == 0)
        return 0;
    *dst = calloc(n, sizeof(**dst));
    if (*dst == NULL)
        return -1;
    for (; *dn < n; (*dn)++) {
        if (co_dup(&(*dst)[*dn], src[*dn]) < 0)
            return -1;
    }
    return 0;
}

/* Both strings of one pair, or neither. */
static int co_dup_pair(char **a, const char *sa, char **b, const char *sb)
{
    if (co_dup(a, sa) < 0)
        return -1;
    if (co_dup(b, sb) < 0) {
        free(*a);
        *a = NULL;
        return -1;
    }
    return 0;
}

static int co_copy_kv(struct nines_kv **dst, size_t *dn, const struct nines_kv *src, size_t n)
{
    if (n == 0)
        return 0;
    *dst = calloc(n, sizeof(**dst));
    if (*dst == NULL)
        return -1;
    for (; *dn < n; (*dn)++) {
        struct nines_kv *d = &(*dst)[*dn];

        if (co_dup_pair(&d->name, src[*dn].name, &d->value, src[*dn].value) < 0)
            return -1;
    }
    return 0;
}

static int co_copy_conds(struct nines_header_cond **dst, size_t *dn,
                         const struct nines_header_cond *src, size_t n)
{
    if (n == 0)
        return 0;
    *dst = calloc(n, sizeof(**dst));
    if (*dst == NULL)
        return -1;
    for (; *dn < n; (*dn)++) {
        struct nines_header_cond *d = &(*dst)[*dn];

        d->op = src[*dn].op;
        if (co_dup_pair(&d->name, src[*dn].name, &d->value, src[*dn].value) < 0)
            return -1;
    }
    return 0;
}

/* Sets dst's pointer (and count) of option o to "none", without freeing. */
static void co_forget(struct nines_check *dst, const struct checkopt *o)
{
    char *base = (char *)dst;

    if (o->type != CHECKOPT_STR && !co_is_array(o))
        return;
    *(void **)(base + o->offset) = NULL;
    if (co_is_array(o))
        *(size_t *)(base + o->count_offset) = 0;
}

static int co_copy_one(struct nines_check *dst, const struct nines_check *src,
                       const struct checkopt *o)
{
    char *d = (char *)dst + o->offset;
    const char *s = (const char *)src + o->offset;
    size_t *dn = (size_t *)((char *)dst + o->count_offset);
    size_t n = co_is_array(o) ? *(const size_t *)((const char *)src + o->count_offset) : 0;

    switch (o->type) {
    case CHECKOPT_STR:
        return co_dup((char **)d, *(char *const *)s);
    case CHECKOPT_STRV:
        return co_copy_strv((char ***)d, dn, *(char **const *)s, n);
    case CHECKOPT_KV:
        return co_copy_kv((struct nines_kv **)d, dn, *(struct nines_kv *const *)s, n);
    case CHECKOPT_HDRCONDS:
        return co_copy_conds((struct nines_header_cond **)d, dn,
                             *(struct nines_header_cond *const *)s, n);
    default:
        return 0;                   /* scalars came with the shallow copy */
    }
}

int checkopt_copy(struct nines_check *dst, const struct nines_check *src)
{
    for (size_t k = 0; k < checkopt_nkinds; k++) {
        for (size_t i = 0; i < checkopt_kinds[k].count; i++)
            co_forget(dst, &checkopt_kinds[k].opts[i]);
    }
    for (size_t k = 0; k < checkopt_nkinds; k++) {
        for (size_t i = 0; i < checkopt_kinds[k].count; i++) {
            if (co_copy_one(dst, src, &checkopt_kinds[k].opts[i]) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- equal --------------------------------------------------------------- */

static int co_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int co_strv_eq(char *const *a, char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!co_str_eq(a[i], b[i]))
            return 0;
    }
    return 1;
}

static int co_kv_eq(const struct nines_kv *a, const struct nines_kv *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!co_str_eq(a[i].name, b[i].name) || !co_str_eq(a[i].value, b[i].value))
            return 0;
    }
    return 1;
}

static int co_conds_eq(const struct nines_header_cond *a, const struct nines_header_cond *b,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].op != b[i].op || !co_str_eq(a[i].name, b[i].name)
            || !co_str_eq(a[i].value, b[i].value))
            return 0;
    }
    return 1;
}

static int co_equal_one(const struct checkopt *o, const char *a, const char *b, size_t n)
{
    switch (o->type) {
    case CHECKOPT_STR: {
        const char *x = *(char *const *)a, *y = *(char *const *)b;

        return co_str_eq(x != NULL ? x : o->dflt, y != NULL ? y : o->dflt);
    }
    case CHECKOPT_INT:
    case CHECKOPT_IPVER:
        return *(const int *)a == *(const int *)b;
    case CHECKOPT_BOOL:
        return !*(const int *)a == !*(const int *)b;
    case CHECKOPT_I64:
        return *(const int64_t *)a == *(const int64_t *)b;
    case CHECKOPT_DOUBLE:
        return *(const double *)a == *(const double *)b;
    case CHECKOPT_MATCH:
        return *(const enum nines_dns_match *)a == *(const enum nines_dns_match *)b;
    case CHECKOPT_STRV:
        return co_strv_eq(*(char **const *)a, *(char **const *)b, n);
    case CHECKOPT_KV:
        return co_kv_eq(*(struct nines_kv *const *)a, *(struct nines_kv *const *)b, n);
    case CHECKOPT_HDRCONDS:
        return co_conds_eq(*(struct nines_header_cond *const *)a,
                           *(struct nines_header_cond *const *)b, n);
    case CHECKOPT_SHA256:
        return memcmp(a, b, 32) == 0;
    }
    return 0;
}

int checkopt_equal(const struct checkopt_kind *k, const struct nines_check *a,
                   const struct nines_check *b)
{
    for (size_t i = 0; i < k->count; i++) {
        const struct checkopt *o = &k->opts[i];
        size_t n = 0;

        if (co_is_array(o)) {
            n = *(const size_t *)((const char *)a + o->count_offset);
            if (n != *(const size_t *)((const char *)b + o->count_offset))
                return 0;
        }
        if (!co_equal_one(o, (const char *)a + o->offset, (const char *)b + o->offset, n))
            return 0;
    }
    return 1;
}
