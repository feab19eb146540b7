/* A check specification: what to run, where and how often. */
#ifndef NINES_CHECK_H
#define NINES_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "nines/err.h"

enum nines_check_kind {
    NINES_KIND_HTTP = 0,
    NINES_KIND_DNS,
    NINES_KIND_TCP,
    NINES_KIND_ICMP,
    NINES_KIND_HOST,         /* capacity of the probe's own host */
    NINES_KIND_PUSH,         /* heartbeat: pinged by the monitored job, not run by probes */
    NINES_KIND_REDIS_CANARY, /* writes and reads back a sequence in a protected Redis */
    NINES_KIND_HTTP_CANARY,  /* the same through the protected application's HTTP API */
};

/* A name/value pair: request headers. */
struct nines_kv {
    char *name;
    char *value;
};

/* A condition on a response header: present, equals or matches. */
enum nines_header_op { NINES_HDR_PRESENT = 0, NINES_HDR_EQUALS, NINES_HDR_REGEX };
struct nines_header_cond {
    char *name;
    enum nines_header_op op;
    char *value;             /* NULL for PRESENT */
};

struct nines_http_opts {
    char *url;
    char *method;            /* default "GET" */
    char *expect_status;     /* list of codes and ranges, default "200-399" */
    int follow_redirects;    /* maximum redirects followed; 0 = none (default) */
    int verify_tls;          /* default 1 */
    int64_t max_body_bytes;  /* read at most this, the rest is discarded; 1 MiB */
    struct nines_kv *headers;        /* request headers */
    size_t headers_count;
    char *body;                      /* request body, NULL = none */
    char *auth;                      /* NULL, "basic" or "bearer" */
    char *auth_user;                 /* basic: the user name */
    char *secret_env;                /* the password/token: from this environment variable */
    char *secret_file;               /* ... or from this file (first line) */
    char *body_contains;
    char *body_not_contains;
    char *body_regex;                /* POSIX extended */
    char *json_condition;            /* e.g. status == "UP", checks.db.ok == true */
    int64_t latency_objective_ms;    /* over it: ok but degraded (WARNING); 0 = none */
    char *ca_file;
    char *client_cert;
    char *client_key;
    char *tls_server_name;           /* SNI and Host header override */
    char *tls_min_version;           /* NULL, "1.0", "1.1", "1.2" or "1.3" */
    int cert_min_days;               /* certificate expiring sooner: WARNING; 0 = off */
    struct nines_header_cond *header_conds;
    size_t header_conds_count;
    int ip_version;                  /* 0 any, 4 or 6 */
    int all_addresses;               /* probe every address the name resolves to */
    char *resolve;                   /* fixed address for the host, like curl --resolve */
    char *proxy;
};

enum nines_dns_match { NINES_DNS_MATCH_NONE = 0, NINES_DNS_MATCH_EXACT, NINES_DNS_MATCH_INCLUDE };

struct nines_dns_opts {
    char *name;                      /* the name to query */
    char *record_type;               /* A AAAA CNAME MX TXT NS SOA SRV PTR CAA; default A */
    char **servers;                  /* "ip" or "ip:port"; empty = the system resolver */
    size_t servers_count;
    char *expect_rcode;              /* NOERROR (default), NXDOMAIN, SERVFAIL, ... */
    char **expect_answers;           /* answers as text (see the README) */
    size_t expect_answers_count;
    enum nines_dns_match match;      /* exact set or must include; NONE = any */
    char *answer_regex;              /* every answer must match; NULL = none */
    int tcp;                         /* ask over TCP only (default: UDP, TCP on truncation) */
};

struct nines_tcp_opts {
    char *host;
    int port;
    char *send;                      /* payload sent after connecting; NULL = none */
    char *expect_banner;             /* POSIX extended regex on what the server sends */
    int tls;                         /* TLS handshake after connect (465, 993, 636, ...) */
    int verify_tls;                  /* default 1 */
    char *ca_file;
    char *tls_server_name;           /* SNI and name verified; default host */
    int cert_min_days;               /* WARNING below; 0 = off */
    int ip_version;                  /* 0 any, 4 or 6 */
};

struct nines_icmp_opts {
    char *host;
    int count;                       /* echo requests per check; default 3 */
    int64_t spacing_ms;              /* between requests; default 200 */
    int max_loss_pct;                /* more lost: fail; default 0 (all lost = fail) */
    int ip_version;                  /* 0 any, 4 or 6 */
};

/* Capacity thresholds, in percent of the limit; 0 = no threshold. */
struct nines_host_opts {
    int cpu_pct;
    int memory_pct;
    int swap_pct;
    int disk_pct;                    /* bytes used on any real filesystem */
    int inode_pct;
    int open_files_pct;
    double load_per_cpu;             /* load1 / cpus; 0 = none */
    char **mounts;                   /* only these mount points; empty = every real one */
    size_t mounts_count;
};

/*
 * Every string is heap-owned by the struct; nines_check_clear frees them.
 * interval_ms and timeout_ms are always set (defaults applied by the loader).
 */
/* A heartbeat: GET/POST /api/v1/push/TOKEN records a ping; none within
 * period + grace → DOWN. The token is stored only as its SHA-256. */
struct nines_push_opts {
    unsigned char token_sha256[32];
    int64_t period_ms;
    int64_t grace_ms;                /* default 0 */
};

/*
 * Canaries for DR drills and replication lag (checks/canary.h has the facts).
 * Redis: the value written is "SEQ:TS_MS" under key (NULL = "nines:canary:<id>").
 * address/replica are "host:port" or redis://[[user]:password@]host[:port][/db];
 * a password from secret_env or secret_file wins over one in the URL.
 */
struct nines_redis_canary_opts {
    char *address;
    char *replica;                   /* NULL = none */
    char *key;
    char *secret_env;
    char *secret_file;
};

/* HTTP: method write_url with body ({seq} and {ts} replaced), then GET read_url. */
struct nines_http_canary_opts {
    char *write_url;
    char *method;                    /* "PUT" (default) or "POST" */
    char *body;                      /* NULL = {"seq":{seq},"ts":{ts}} */
    char *read_url;                  /* NULL = write_url */
    char *seq_path;                  /* JSON path; NULL = "seq" (unless seq_regex) */
    char *ts_path;                   /* NULL = "ts" (unless ts_regex) */
    char *seq_regex;                 /* POSIX extended, group 1 is the number */
    char *ts_regex;
    int verify_tls;                  /* default 1 */
};

struct nines_check {
    char *id;
    enum nines_check_kind kind;
    int64_t interval_ms;
    int64_t timeout_ms;
    char **locations;        /* empty = every location */
    size_t locations_count;
    int failures_to_down;    /* default 2 */
    int successes_to_up;     /* default 1 */
    char **depends_on;       /* checks this one depends on: while one of them is down,
                              * this check's incidents are recorded but not paged */
    size_t depends_on_count;
    char *team;              /* routing labels; NULL = none */
    char *severity;          /* page (default) | ticket | info */
    int quorum;              /* locations down for the check to be down:
                              * 0 = majority of those reporting (default),
                              * -1 = all of them, N > 0 = at least N */
    /* the options of this check's kind; the others stay zeroed */
    struct nines_http_opts http;
    struct nines_dns_opts dns;
    struct nines_tcp_opts tcp;
    struct nines_icmp_opts icmp;
    struct nines_host_opts host;
    struct nines_push_opts push;
    struct nines_redis_canary_opts redis_canary;
    struct nines_http_canary_opts http_canary;
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
