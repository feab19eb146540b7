/*
 * The YAML configuration loader.
 *
 * yamltree gives a tree whose nodes remember their positions; this file walks
 * it with small tables of fields (key, kind of value, limits, where it goes)
 * and reports every problem, not just the first, each as FILE:LINE:COLUMN.
 * Messages point at the value that is wrong, at the key that is unknown, or
 * at the start of the mapping a required field is missing from.
 * References between entries (services and maintenance windows naming
 * checks, checks depending on checks, routes naming receivers) are checked
 * once the whole file is read, so an entry may name one defined after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkopt.h"
#include "jsoncond.h"
#include "nines/config.h"
#include "nines/wire.h"
#include "tz.h"
#include "yamltree.h"

#define CFG_MAX_FILE_BYTES ((size_t)16 << 20)
#define CFG_MAX_STRING 4095
#define CFG_MAX_URL 2048
#define CFG_MAX_NAME 63
#define CFG_MAX_LOCATIONS 256   /* per check; duplicates are found in O(n^2) */
#define CFG_MAX_KEY 32          /* longer keys get no "did you mean" */
#define CFG_MAX_LIST 64         /* servers, answers, mounts, headers, header conditions */
#define CFG_MAX_HOST 253

enum cfg_kind {
    CFG_MAP,            /* a section: checked by its own walker */
    CFG_SEQ,
    CFG_STRING,         /* any non-empty string */
    CFG_NAME,           /* [A-Za-z0-9_.-]{1,63} */
    CFG_ID,             /* [A-Za-z0-9_.:-]{1,63} */
    CFG_PATH,           /* stored absolute, relative to the config file's directory */
    CFG_REDIS_URL,
    CFG_LOG_LEVEL,
    CFG_INT,            /* int */
    CFG_INT64,          /* int64_t */
    CFG_DURATION,       /* int64_t milliseconds */
    CFG_BOOL,           /* int 0/1 */
    CFG_LOCATIONS,      /* char ** + size_t count */
    CFG_CHECK_KIND,
    CFG_HTTP_URL,
    CFG_METHOD,
    CFG_STATUS_LIST,
    CFG_DOUBLE,         /* double, above 0 and at most max */
    CFG_REGEX,          /* a POSIX extended regular expression, compiled to check it */
    CFG_JSON_COND,      /* path OP literal (lib/jsoncond.c) */
    CFG_RECORD_TYPE,    /* one of checkopt_record_types */
    CFG_RCODE,          /* one of checkopt_rcodes */
    CFG_TLS_VERSION,    /* one of checkopt_tls_versions */
    CFG_AUTH_TYPE,      /* one of checkopt_auth_types */
    CFG_ADDRESSES,      /* "first" or "all": int 0/1 */
    CFG_DNS_MATCH,      /* "exact" or "include": enum nines_dns_match */
    CFG_IP_VERSION,     /* 4 or 6: int */
    CFG_HOST,           /* a host name or an IP address */
    CFG_HEADER_NAME,    /* an HTTP header name (RFC 9110 token) */
    CFG_ENV_NAME,       /* an environment variable name */
    CFG_RESOLVE,        /* host:port:address[,address...] */
    CFG_PROXY,          /* scheme://host[:port] */
    CFG_SERVERS,        /* char ** + count: "ip", "ip:port" or "[v6]:port" */
    CFG_STRINGS,        /* char ** + count: non-empty strings */
    CFG_MOUNTS,         /* char ** + count: absolute paths */
    CFG_HEADERS,        /* mapping name -> value: struct nines_kv * + count */
    CFG_AUTH,           /* mapping {type, user, secret_env | secret_file} */
    CFG_HDR_CONDS,      /* sequence of {name, present | equals | regex} */
    CFG_QUORUM,         /* majority (0), all (-1) or 1..32: int */
    CFG_SHA256,         /* "sha256:" + 64 hex digits: unsigned char[32] */
    CFG_IDS,            /* char ** + count: ids of checks or services (max: most entries) */
    CFG_DOWN_WHEN,      /* "any" or "all": int 0/1 */
    CFG_ROLE,           /* viewer, operator, admin: enum nines_role */
    CFG_TOKEN_NAME,     /* [A-Za-z0-9_.@-]{1,63} */
    CFG_LISTEN,         /* "host:port", "[v6]:port" or ":port" */
    CFG_TIMESTAMP,      /* "2026-12-01T22:00:00Z": int64_t ms since the epoch */
    CFG_DAYS,           /* mon..sun, ranges, daily, or a sequence: int weekday mask */
    CFG_CLOCK,          /* "HH:MM": int minutes after midnight */
    CFG_TIMEZONE,       /* an IANA zone name that nines_tz_load can load */
    CFG_SEVERITY,       /* page, ticket, info: the string */
    CFG_RECEIVER_KIND,  /* webhook ... email: the string */
    CFG_ENDPOINT,       /* a URL without spaces (its scheme is checked against the kind) */
    CFG_LINE,           /* one line of text: no control characters */
    CFG_MAIL_FROM,      /* "addr", "Name <addr>" or "\"Name\" <addr>" */
    CFG_MAIL_TO,        /* addresses, comma-separated or a sequence: stored joined by ", " */
    CFG_TEMPLATE,       /* text with {placeholders} of the notifications */
    CFG_MATCHERS,       /* mapping label -> value | ~regex: struct nines_matcher * + count */
    CFG_ESCALATE,       /* mapping {after, to} of a route */
    CFG_TOKEN_HASH,     /* "sha256-salted:SALT:HEX" or "sha256:HEX": a token's fields */
    CFG_REDIS_ADDR,     /* "host:port" or redis://host[:port][/db], no password, no Unix socket */
    CFG_CANARY_METHOD,  /* PUT or POST */
    CFG_JSON_PATH,      /* a dotted path into a JSON document (lib/jsoncond.c) */
};

#define CFG_REQUIRED 1u
#define CFG_DEFAULTABLE 2u  /* may be set in the defaults section */

struct cfg_field {
    const char *key;
    enum cfg_kind kind;
    unsigned flags;
    size_t offset;          /* of the value in the target struct */
    size_t count_offset;    /* CFG_LOCATIONS and the other lists: of the count */
    int64_t min;            /* CFG_INT, CFG_INT64, CFG_DURATION */
    int64_t max;            /* and CFG_DOUBLE; lists: most entries; strings: most bytes */
};

#define CFG_NFIELDS(tab) (sizeof(tab) / sizeof((tab)[0]))
#define CFG_COLL(m) offsetof(struct nines_collector_cfg, m)
#define CFG_CHECK(m) offsetof(struct nines_check, m)
#define CFG_HTTP(m) offsetof(struct nines_http_opts, m)

enum { CFG_TOP_COLLECTOR, CFG_TOP_DEFAULTS, CFG_TOP_CHECKS, CFG_TOP_SERVICES,
       CFG_TOP_MAINTENANCE, CFG_TOP_API, CFG_TOP_RECEIVERS, CFG_TOP_ROUTES, CFG_TOP_ALERTING,
       CFG_TOP_CUSTOMERS, CFG_TOP_EVIDENCE };
static const struct cfg_field cfg_top_fields[] = {
    [CFG_TOP_COLLECTOR] = { "collector", CFG_MAP, 0, 0, 0, 0, 0 },
    [CFG_TOP_DEFAULTS] = { "defaults", CFG_MAP, 0, 0, 0, 0, 0 },
    [CFG_TOP_CHECKS] = { "checks", CFG_SEQ, CFG_REQUIRED, 0, 0, 0, 0 },
    [CFG_TOP_SERVICES] = { "services", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_TOP_MAINTENANCE] = { "maintenance", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_TOP_API] = { "api", CFG_MAP, 0, 0, 0, 0, 0 },
    [CFG_TOP_RECEIVERS] = { "receivers", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_TOP_ROUTES] = { "routes", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_TOP_ALERTING] = { "alerting", CFG_MAP, 0, 0, 0, 0, 0 },
    [CFG_TOP_CUSTOMERS] = { "customers", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_TOP_EVIDENCE] = { "evidence", CFG_MAP, 0, 0, 0, 0, 0 },
};

/* evidence: the signing key of `nines evidence` packs (cli/evidence.c) */
static const struct cfg_field cfg_evidence_fields[] = {
    { "signing_key_file", CFG_PATH, 0, offsetof(struct nines_evidence_cfg, signing_key_file), 0,
      0, 0 },
};

static const struct cfg_field cfg_collector_fields[] = {
    { "name", CFG_NAME, 0, CFG_COLL(name), 0, 0, 0 },
    { "data_dir", CFG_PATH, 0, CFG_COLL(data_dir), 0, 0, 0 },
    { "redis", CFG_REDIS_URL, 0, CFG_COLL(redis), 0, 0, 0 },
    { "redis_server", CFG_STRING, 0, CFG_COLL(redis_server), 0, 0, 0 },
    { "redis_password_env", CFG_ENV_NAME, 0, CFG_COLL(redis_password_env), 0, 0, 0 },
    { "redis_password_file", CFG_PATH, 0, CFG_COLL(redis_password_file), 0, 0, 0 },
    { "redis_user", CFG_NAME, 0, CFG_COLL(redis_user), 0, 0, 0 },
    { "log_level", CFG_LOG_LEVEL, 0, CFG_COLL(log_level), 0, 0, 0 },
    { "stream_maxlen", CFG_INT64, 0, CFG_COLL(stream_maxlen), 0, 1000, 100000000 },
    { "max_clock_skew", CFG_DURATION, 0, CFG_COLL(max_clock_skew_ms), 0, 100, 3600000 },
    /* high availability (collector/partition.h): several collectors share the streams */
    { "partitions", CFG_INT, 0, CFG_COLL(partitions), 0, 1, 1024 },
    { "lease", CFG_DURATION, 0, CFG_COLL(lease_ms), 0, 1000, 600000 },
    /* /metrics' KPI gauges: a child `nines kpi` this often; 0 = off (1 s at least) */
    { "kpi_refresh", CFG_DURATION, 0, CFG_COLL(kpi_refresh_ms), 0, 0, INT64_C(86400000) },
};

#define CFG_QUORUM_MAX 32
enum { CFG_CK_ID, CFG_CK_KIND, CFG_CK_INTERVAL, CFG_CK_TIMEOUT, CFG_CK_LOCATIONS,
       CFG_CK_FAILURES, CFG_CK_SUCCESSES, CFG_CK_QUORUM, CFG_CK_DEPENDS, CFG_CK_TEAM,
       CFG_CK_SEVERITY };
static const struct cfg_field cfg_check_fields[] = {
    [CFG_CK_ID] = { "id", CFG_ID, CFG_REQUIRED, CFG_CHECK(id), 0, 0, 0 },
    [CFG_CK_KIND] = { "kind", CFG_CHECK_KIND, CFG_REQUIRED, CFG_CHECK(kind), 0, 0, 0 },
    [CFG_CK_INTERVAL] = { "interval", CFG_DURATION, CFG_DEFAULTABLE, CFG_CHECK(interval_ms), 0,
                          1000, INT64_C(24) * 3600 * 1000 },
    [CFG_CK_TIMEOUT] = { "timeout", CFG_DURATION, CFG_DEFAULTABLE, CFG_CHECK(timeout_ms), 0,
                         100, INT64_C(120) * 1000 },
    [CFG_CK_LOCATIONS] = { "locations", CFG_LOCATIONS, CFG_DEFAULTABLE, CFG_CHECK(locations),
                           CFG_CHECK(locations_count), 0, 0 },
    [CFG_CK_FAILURES] = { "failures_to_down", CFG_INT, CFG_DEFAULTABLE,
                          CFG_CHECK(failures_to_down), 0, 1, 100 },
    [CFG_CK_SUCCESSES] = { "successes_to_up", CFG_INT, CFG_DEFAULTABLE,
                           CFG_CHECK(successes_to_up), 0, 1, 100 },
    [CFG_CK_QUORUM] = { "quorum", CFG_QUORUM, CFG_DEFAULTABLE, CFG_CHECK(quorum), 0, 1,
                        CFG_QUORUM_MAX },
    [CFG_CK_DEPENDS] = { "depends_on", CFG_IDS, 0, CFG_CHECK(depends_on),
                         CFG_CHECK(depends_on_count), 0, CFG_MAX_LIST },
    [CFG_CK_TEAM] = { "team", CFG_NAME, CFG_DEFAULTABLE, CFG_CHECK(team), 0, 0, 0 },
    [CFG_CK_SEVERITY] = { "severity", CFG_SEVERITY, CFG_DEFAULTABLE, CFG_CHECK(severity), 0,
                          0, 0 },
};

/* The common fields a push check cannot have, and why. */
static const struct {
    int field;
    const char *why;
} cfg_push_not[] = {
    { CFG_CK_INTERVAL, "'period' says how often the job pings" },
    { CFG_CK_TIMEOUT, "the collector waits for pings, it runs nothing" },
    { CFG_CK_LOCATIONS, "the job pings the collector, no probe runs it" },
    { CFG_CK_QUORUM, "it has no locations" },
};

/* Options of the http kind, stored in struct nines_http_opts. */
static const struct cfg_field cfg_http_fields[] = {
    { "url", CFG_HTTP_URL, CFG_REQUIRED, CFG_HTTP(url), 0, 0, 0 },
    { "method", CFG_METHOD, 0, CFG_HTTP(method), 0, 0, 0 },
    { "expect_status", CFG_STATUS_LIST, 0, CFG_HTTP(expect_status), 0, 0, 0 },
    { "follow_redirects", CFG_INT, 0, CFG_HTTP(follow_redirects), 0, 0, 20 },
    { "verify_tls", CFG_BOOL, 0, CFG_HTTP(verify_tls), 0, 0, 0 },
    { "max_body_bytes", CFG_INT64, 0, CFG_HTTP(max_body_bytes), 0, 0, 1073741824 },
    { "headers", CFG_HEADERS, 0, CFG_HTTP(headers), CFG_HTTP(headers_count), 0, 0 },
    { "body", CFG_STRING, 0, CFG_HTTP(body), 0, 0, 0 },
    { "auth", CFG_AUTH, 0, 0, 0, 0, 0 },
    { "body_contains", CFG_STRING, 0, CFG_HTTP(body_contains), 0, 0, 0 },
    { "body_not_contains", CFG_STRING, 0, CFG_HTTP(body_not_contains), 0, 0, 0 },
    { "body_regex", CFG_REGEX, 0, CFG_HTTP(body_regex), 0, 0, 0 },
    { "json_condition", CFG_JSON_COND, 0, CFG_HTTP(json_condition), 0, 0, 0 },
    { "latency_objective", CFG_DURATION, 0, CFG_HTTP(latency_objective_ms), 0, 1,
      INT64_C(120) * 1000 },
    { "ca_file", CFG_PATH, 0, CFG_HTTP(ca_file), 0, 0, 0 },
    { "client_cert", CFG_PATH, 0, CFG_HTTP(client_cert), 0, 0, 0 },
    { "client_key", CFG_PATH, 0, CFG_HTTP(client_key), 0, 0, 0 },
    { "tls_server_name", CFG_HOST, 0, CFG_HTTP(tls_server_name), 0, 0, 0 },
    { "tls_min_version", CFG_TLS_VERSION, 0, CFG_HTTP(tls_min_version), 0, 0, 0 },
    { "cert_min_days", CFG_INT, 0, CFG_HTTP(cert_min_days), 0, 0, 3650 },
    { "header_conditions", CFG_HDR_CONDS, 0, CFG_HTTP(header_conds),
      CFG_HTTP(header_conds_count), 0, 0 },
    { "ip_version", CFG_IP_VERSION, 0, CFG_HTTP(ip_version), 0, 0, 0 },
    { "addresses", CFG_ADDRESSES, 0, CFG_HTTP(all_addresses), 0, 0, 0 },
    { "resolve", CFG_RESOLVE, 0, CFG_HTTP(resolve), 0, 0, 0 },
    { "proxy", CFG_PROXY, 0, CFG_HTTP(proxy), 0, 0, 0 },
};

/* Canaries: a sequence written and read back (checks/canary.h). */
#define CFG_RCAN(m) offsetof(struct nines_redis_canary_opts, m)
static const struct cfg_field cfg_redis_canary_fields[] = {
    { "address", CFG_REDIS_ADDR, CFG_REQUIRED, CFG_RCAN(address), 0, 0, 0 },
    { "replica", CFG_REDIS_ADDR, 0, CFG_RCAN(replica), 0, 0, 0 },
    { "key", CFG_STRING, 0, CFG_RCAN(key), 0, 0, 512 },
    { "secret_env", CFG_ENV_NAME, 0, CFG_RCAN(secret_env), 0, 0, 0 },
    { "secret_file", CFG_PATH, 0, CFG_RCAN(secret_file), 0, 0, 0 },
};

#define CFG_HCAN(m) offsetof(struct nines_http_canary_opts, m)
static const struct cfg_field cfg_http_canary_fields[] = {
    { "write_url", CFG_HTTP_URL, CFG_REQUIRED, CFG_HCAN(write_url), 0, 0, 0 },
    { "method", CFG_CANARY_METHOD, 0, CFG_HCAN(method), 0, 0, 0 },
    { "body", CFG_STRING, 0, CFG_HCAN(body), 0, 0, 0 },
    { "read_url", CFG_HTTP_URL, 0, CFG_HCAN(read_url), 0, 0, 0 },
    { "seq_path", CFG_JSON_PATH, 0, CFG_HCAN(seq_path), 0, 0, 0 },
    { "ts_path", CFG_JSON_PATH, 0, CFG_HCAN(ts_path), 0, 0, 0 },
    { "seq_regex", CFG_REGEX, 0, CFG_HCAN(seq_regex), 0, 0, 0 },
    { "ts_regex", CFG_REGEX, 0, CFG_HCAN(ts_regex), 0, 0, 0 },
    { "verify_tls", CFG_BOOL, 0, CFG_HCAN(verify_tls), 0, 0, 0 },
};

/* The auth mapping of an http check, also stored in struct nines_http_opts. */
enum { CFG_AUTH_TYPE_F, CFG_AUTH_USER, CFG_AUTH_ENV, CFG_AUTH_FILE };
static const struct cfg_field cfg_auth_fields[] = {
    [CFG_AUTH_TYPE_F] = { "type", CFG_AUTH_TYPE, CFG_REQUIRED, CFG_HTTP(auth), 0, 0, 0 },
    [CFG_AUTH_USER] = { "user", CFG_STRING, 0, CFG_HTTP(auth_user), 0, 0, 0 },
    [CFG_AUTH_ENV] = { "secret_env", CFG_ENV_NAME, 0, CFG_HTTP(secret_env), 0, 0, 0 },
    [CFG_AUTH_FILE] = { "secret_file", CFG_PATH, 0, CFG_HTTP(secret_file), 0, 0, 0 },
};

/* One entry of header_conditions, read into a struct cfg_hdr_cond first. */
struct cfg_hdr_cond {
    char *name;
    int present;
    char *equals;
    char *regex;
};

#define CFG_HC(m) offsetof(struct cfg_hdr_cond, m)
enum { CFG_HC_NAME, CFG_HC_PRESENT, CFG_HC_EQUALS, CFG_HC_REGEX };
static const struct cfg_field cfg_hdr_cond_fields[] = {
    [CFG_HC_NAME] = { "name", CFG_HEADER_NAME, CFG_REQUIRED, CFG_HC(name), 0, 0, 0 },
    [CFG_HC_PRESENT] = { "present", CFG_BOOL, 0, CFG_HC(present), 0, 0, 0 },
    [CFG_HC_EQUALS] = { "equals", CFG_STRING, 0, CFG_HC(equals), 0, 0, 0 },
    [CFG_HC_REGEX] = { "regex", CFG_REGEX, 0, CFG_HC(regex), 0, 0, 0 },
};

#define CFG_DNS(m) offsetof(struct nines_dns_opts, m)
static const struct cfg_field cfg_dns_fields[] = {
    { "name", CFG_HOST, CFG_REQUIRED, CFG_DNS(name), 0, 0, 0 },
    { "type", CFG_RECORD_TYPE, 0, CFG_DNS(record_type), 0, 0, 0 },
    { "servers", CFG_SERVERS, 0, CFG_DNS(servers), CFG_DNS(servers_count), 0, 0 },
    { "expect_rcode", CFG_RCODE, 0, CFG_DNS(expect_rcode), 0, 0, 0 },
    { "expect_answers", CFG_STRINGS, 0, CFG_DNS(expect_answers),
      CFG_DNS(expect_answers_count), 0, 0 },
    { "match", CFG_DNS_MATCH, 0, CFG_DNS(match), 0, 0, 0 },
    { "answer_regex", CFG_REGEX, 0, CFG_DNS(answer_regex), 0, 0, 0 },
    { "tcp", CFG_BOOL, 0, CFG_DNS(tcp), 0, 0, 0 },
};

#define CFG_TCP(m) offsetof(struct nines_tcp_opts, m)
static const struct cfg_field cfg_tcp_fields[] = {
    { "host", CFG_HOST, CFG_REQUIRED, CFG_TCP(host), 0, 0, 0 },
    { "port", CFG_INT, CFG_REQUIRED, CFG_TCP(port), 0, 1, 65535 },
    { "send", CFG_STRING, 0, CFG_TCP(send), 0, 0, 0 },
    { "expect_banner", CFG_REGEX, 0, CFG_TCP(expect_banner), 0, 0, 0 },
    { "tls", CFG_BOOL, 0, CFG_TCP(tls), 0, 0, 0 },
    { "verify_tls", CFG_BOOL, 0, CFG_TCP(verify_tls), 0, 0, 0 },
    { "ca_file", CFG_PATH, 0, CFG_TCP(ca_file), 0, 0, 0 },
    { "tls_server_name", CFG_HOST, 0, CFG_TCP(tls_server_name), 0, 0, 0 },
    { "cert_min_days", CFG_INT, 0, CFG_TCP(cert_min_days), 0, 0, 3650 },
    { "ip_version", CFG_IP_VERSION, 0, CFG_TCP(ip_version), 0, 0, 0 },
};

#define CFG_ICMP(m) offsetof(struct nines_icmp_opts, m)
static const struct cfg_field cfg_icmp_fields[] = {
    { "host", CFG_HOST, CFG_REQUIRED, CFG_ICMP(host), 0, 0, 0 },
    { "count", CFG_INT, 0, CFG_ICMP(count), 0, 1, 100 },
    { "spacing", CFG_DURATION, 0, CFG_ICMP(spacing_ms), 0, 10, 10000 },
    { "max_loss_pct", CFG_INT, 0, CFG_ICMP(max_loss_pct), 0, 0, 100 },
    { "ip_version", CFG_IP_VERSION, 0, CFG_ICMP(ip_version), 0, 0, 0 },
};

#define CFG_HOSTO(m) offsetof(struct nines_host_opts, m)
static const struct cfg_field cfg_host_fields[] = {
    { "cpu_pct", CFG_INT, 0, CFG_HOSTO(cpu_pct), 0, 1, 100 },
    { "memory_pct", CFG_INT, 0, CFG_HOSTO(memory_pct), 0, 1, 100 },
    { "swap_pct", CFG_INT, 0, CFG_HOSTO(swap_pct), 0, 1, 100 },
    { "disk_pct", CFG_INT, 0, CFG_HOSTO(disk_pct), 0, 1, 100 },
    { "inode_pct", CFG_INT, 0, CFG_HOSTO(inode_pct), 0, 1, 100 },
    { "open_files_pct", CFG_INT, 0, CFG_HOSTO(open_files_pct), 0, 1, 100 },
    { "load_per_cpu", CFG_DOUBLE, 0, CFG_HOSTO(load_per_cpu), 0, 0, 1000 },
    { "mounts", CFG_MOUNTS, 0, CFG_HOSTO(mounts), CFG_HOSTO(mounts_count), 0, 0 },
};

/*
 * A push check: the job pings /api/v1/push/TOKEN at least every period; no
 * ping within period + grace is a failure. The token is stored as its hash.
 */
#define CFG_PUSH(m) offsetof(struct nines_push_opts, m)
#define CFG_DAY_MS (INT64_C(86400000))
static const struct cfg_field cfg_push_fields[] = {
    { "token", CFG_SHA256, CFG_REQUIRED, CFG_PUSH(token_sha256), 0, 0, 0 },
    { "period", CFG_DURATION, CFG_REQUIRED, CFG_PUSH(period_ms), 0, 10000, 30 * CFG_DAY_MS },
    { "grace", CFG_DURATION, 0, CFG_PUSH(grace_ms), 0, 0, 30 * CFG_DAY_MS },
};

/* Each kind's option table and where its options live in struct nines_check. */
struct cfg_kind_opts {
    enum nines_check_kind kind;
    const struct cfg_field *fields;
    size_t nfields;
    size_t offset;
};

static const struct cfg_kind_opts cfg_kinds[] = {
    { NINES_KIND_HTTP, cfg_http_fields, CFG_NFIELDS(cfg_http_fields), CFG_CHECK(http) },
    { NINES_KIND_DNS, cfg_dns_fields, CFG_NFIELDS(cfg_dns_fields), CFG_CHECK(dns) },
    { NINES_KIND_TCP, cfg_tcp_fields, CFG_NFIELDS(cfg_tcp_fields), CFG_CHECK(tcp) },
    { NINES_KIND_ICMP, cfg_icmp_fields, CFG_NFIELDS(cfg_icmp_fields), CFG_CHECK(icmp) },
    { NINES_KIND_HOST, cfg_host_fields, CFG_NFIELDS(cfg_host_fields), CFG_CHECK(host) },
    { NINES_KIND_PUSH, cfg_push_fields, CFG_NFIELDS(cfg_push_fields), CFG_CHECK(push) },
    { NINES_KIND_REDIS_CANARY, cfg_redis_canary_fields, CFG_NFIELDS(cfg_redis_canary_fields),
      CFG_CHECK(redis_canary) },
    { NINES_KIND_HTTP_CANARY, cfg_http_canary_fields, CFG_NFIELDS(cfg_http_canary_fields),
      CFG_CHECK(http_canary) },
};

/* services: [{id, name, checks, critical, down_when}] */
#define CFG_MAX_IDS 1024        /* checks of a service or a maintenance window */
#define CFG_SVC(m) offsetof(struct nines_service_cfg, m)
enum { CFG_SV_ID, CFG_SV_NAME, CFG_SV_CHECKS, CFG_SV_CRITICAL, CFG_SV_DOWN_WHEN,
       CFG_SV_TARGET, CFG_SV_RTO, CFG_SV_RPO, CFG_SV_DRILL_EVERY, CFG_SV_DRILL_STABLE,
       CFG_SV_DRILL_TIMEOUT, CFG_SV_CANARIES, CFG_SV_DRILL_SCHEDULE };
static const struct cfg_field cfg_service_fields[] = {
    [CFG_SV_ID] = { "id", CFG_ID, CFG_REQUIRED, CFG_SVC(id), 0, 0, 0 },
    [CFG_SV_NAME] = { "name", CFG_STRING, 0, CFG_SVC(name), 0, 0, 0 },
    [CFG_SV_CHECKS] = { "checks", CFG_IDS, CFG_REQUIRED, CFG_SVC(checks),
                        CFG_SVC(checks_count), 0, CFG_MAX_IDS },
    [CFG_SV_CRITICAL] = { "critical", CFG_IDS, 0, CFG_SVC(critical), CFG_SVC(critical_count),
                          0, CFG_MAX_IDS },
    [CFG_SV_DOWN_WHEN] = { "down_when", CFG_DOWN_WHEN, 0, CFG_SVC(down_when_all), 0, 0, 0 },
    [CFG_SV_TARGET] = { "target", CFG_DOUBLE, 0, CFG_SVC(target_pct), 0, 0, 100 },
    [CFG_SV_RTO] = { "rto", CFG_DURATION, 0, CFG_SVC(rto_ms), 0, 1000, 30 * CFG_DAY_MS },
    [CFG_SV_RPO] = { "rpo", CFG_DURATION, 0, CFG_SVC(rpo_ms), 0, 0, 30 * CFG_DAY_MS },
    [CFG_SV_DRILL_EVERY] = { "drill_every", CFG_DURATION, 0, CFG_SVC(drill_every_ms), 0, 60000,
                             3650 * CFG_DAY_MS },
    [CFG_SV_DRILL_STABLE] = { "drill_stable", CFG_DURATION, 0, CFG_SVC(drill_stable_ms), 0,
                              1000, CFG_DAY_MS },
    [CFG_SV_DRILL_TIMEOUT] = { "drill_timeout", CFG_DURATION, 0, CFG_SVC(drill_timeout_ms), 0,
                               10000, 7 * CFG_DAY_MS },
    [CFG_SV_CANARIES] = { "canaries", CFG_IDS, 0, CFG_SVC(canaries), CFG_SVC(canaries_count), 0,
                          CFG_MAX_IDS },
    [CFG_SV_DRILL_SCHEDULE] = { "drill_schedule", CFG_MAP, 0, 0, 0, 0, 0 },
};

/* drill_schedule: {days, at, timezone}: a drill starts then, by itself */
enum { CFG_DS_DAYS, CFG_DS_AT, CFG_DS_TZ };
static const struct cfg_field cfg_drill_schedule_fields[] = {
    [CFG_DS_DAYS] = { "days", CFG_DAYS, CFG_REQUIRED, CFG_SVC(drill_days), 0, 0, 0 },
    [CFG_DS_AT] = { "at", CFG_CLOCK, CFG_REQUIRED, CFG_SVC(drill_minute), 0, 0, 0 },
    [CFG_DS_TZ] = { "timezone", CFG_TIMEZONE, 0, CFG_SVC(drill_timezone), 0, 0, 0 },
};

/* maintenance: [{id, reason, checks, services, start + end | days + at + duration}] */
#define CFG_MNT(m) offsetof(struct nines_maint_cfg, m)
enum { CFG_MT_ID, CFG_MT_REASON, CFG_MT_CHECKS, CFG_MT_SERVICES, CFG_MT_START, CFG_MT_END,
       CFG_MT_DAYS, CFG_MT_AT, CFG_MT_DURATION, CFG_MT_TIMEZONE };
static const struct cfg_field cfg_maint_fields[] = {
    [CFG_MT_ID] = { "id", CFG_ID, CFG_REQUIRED, CFG_MNT(id), 0, 0, 0 },
    [CFG_MT_REASON] = { "reason", CFG_STRING, 0, CFG_MNT(reason), 0, 0, 0 },
    [CFG_MT_CHECKS] = { "checks", CFG_IDS, 0, CFG_MNT(checks), CFG_MNT(checks_count), 0,
                        CFG_MAX_IDS },
    [CFG_MT_SERVICES] = { "services", CFG_IDS, 0, CFG_MNT(services), CFG_MNT(services_count),
                          0, CFG_MAX_IDS },
    [CFG_MT_START] = { "start", CFG_TIMESTAMP, 0, CFG_MNT(start_ms), 0, 0, 0 },
    [CFG_MT_END] = { "end", CFG_TIMESTAMP, 0, CFG_MNT(end_ms), 0, 0, 0 },
    [CFG_MT_DAYS] = { "days", CFG_DAYS, 0, CFG_MNT(weekdays), 0, 0, 0 },
    [CFG_MT_AT] = { "at", CFG_CLOCK, 0, CFG_MNT(start_minute), 0, 0, 0 },
    [CFG_MT_DURATION] = { "duration", CFG_DURATION, 0, CFG_MNT(duration_ms), 0, 60000,
                          7 * CFG_DAY_MS },
    [CFG_MT_TIMEZONE] = { "timezone", CFG_TIMEZONE, 0, CFG_MNT(timezone), 0, 0, 0 },
};

/* api: {listen, connection_limit, per_ip_limit, timeout, max_body_bytes, tokens} */
#define CFG_API(m) offsetof(struct nines_api_cfg, m)
#define CFG_MAX_TOKENS 64       /* the collector's table holds this many */
enum { CFG_AP_LISTEN, CFG_AP_CONNS, CFG_AP_PER_IP, CFG_AP_TIMEOUT, CFG_AP_BODY, CFG_AP_TOKENS,
       CFG_AP_TLS_CERT, CFG_AP_TLS_KEY };
static const struct cfg_field cfg_api_fields[] = {
    [CFG_AP_LISTEN] = { "listen", CFG_LISTEN, 0, CFG_API(listen), 0, 0, 0 },
    [CFG_AP_CONNS] = { "connection_limit", CFG_INT, 0, CFG_API(connection_limit), 0, 1,
                       100000 },
    [CFG_AP_PER_IP] = { "per_ip_limit", CFG_INT, 0, CFG_API(per_ip_limit), 0, 1, 10000 },
    [CFG_AP_TIMEOUT] = { "timeout", CFG_DURATION, 0, CFG_API(timeout_ms), 0, 1000, 600000 },
    [CFG_AP_BODY] = { "max_body_bytes", CFG_INT64, 0, CFG_API(max_body_bytes), 0, 1024,
                      16777216 },
    [CFG_AP_TOKENS] = { "tokens", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_AP_TLS_CERT] = { "tls_cert", CFG_PATH, 0, CFG_API(tls_cert), 0, 0, 0 },
    [CFG_AP_TLS_KEY] = { "tls_key", CFG_PATH, 0, CFG_API(tls_key), 0, 0, 0 },
};

#define CFG_TOK(m) offsetof(struct nines_token_cfg, m)
enum { CFG_TK_NAME, CFG_TK_ROLE, CFG_TK_HASH };
static const struct cfg_field cfg_token_fields[] = {
    [CFG_TK_NAME] = { "name", CFG_TOKEN_NAME, CFG_REQUIRED, CFG_TOK(name), 0, 0, 0 },
    [CFG_TK_ROLE] = { "role", CFG_ROLE, CFG_REQUIRED, CFG_TOK(role), 0, 0, 0 },
    [CFG_TK_HASH] = { "hash", CFG_TOKEN_HASH, CFG_REQUIRED, 0, 0, 0, 0 },
};

/*
 * receivers: [{name, kind, url, secret_env | secret_file, user, from, to,
 * starttls, template_summary}]. String limits are those of struct
 * receiver_cfg in collector/notify/notify.h, so nothing is cut on the way.
 */
#define CFG_RCV(m) offsetof(struct nines_receiver_cfg, m)
#define CFG_MAX_RCPT 16         /* recipients of one email (collector/notify/email.c) */
enum { CFG_RC_NAME, CFG_RC_KIND, CFG_RC_URL, CFG_RC_ENV, CFG_RC_FILE, CFG_RC_USER, CFG_RC_FROM,
       CFG_RC_TO, CFG_RC_STARTTLS, CFG_RC_TEMPLATE, CFG_RC_HOOK_ENV, CFG_RC_HOOK_FILE };
static const struct cfg_field cfg_receiver_fields[] = {
    [CFG_RC_NAME] = { "name", CFG_ID, CFG_REQUIRED, CFG_RCV(name), 0, 0, 0 },
    [CFG_RC_KIND] = { "kind", CFG_RECEIVER_KIND, CFG_REQUIRED, CFG_RCV(kind), 0, 0, 0 },
    [CFG_RC_URL] = { "url", CFG_ENDPOINT, 0, CFG_RCV(url), 0, 0, 511 },
    [CFG_RC_ENV] = { "secret_env", CFG_ENV_NAME, 0, CFG_RCV(secret_env), 0, 0, 0 },
    [CFG_RC_FILE] = { "secret_file", CFG_PATH, 0, CFG_RCV(secret_file), 0, 0, 0 },
    [CFG_RC_USER] = { "user", CFG_LINE, 0, CFG_RCV(user), 0, 0, 127 },
    [CFG_RC_FROM] = { "from", CFG_MAIL_FROM, 0, CFG_RCV(from), 0, 0, 255 },
    [CFG_RC_TO] = { "to", CFG_MAIL_TO, 0, CFG_RCV(to), 0, 0, 511 },
    [CFG_RC_STARTTLS] = { "starttls", CFG_BOOL, 0, CFG_RCV(starttls), 0, 0, 0 },
    [CFG_RC_TEMPLATE] = { "template_summary", CFG_TEMPLATE, 0, CFG_RCV(template_summary), 0,
                          0, 500 },
    [CFG_RC_HOOK_ENV] = { "webhook_secret_env", CFG_ENV_NAME, 0, CFG_RCV(webhook_secret_env), 0,
                          0, 0 },
    [CFG_RC_HOOK_FILE] = { "webhook_secret_file", CFG_PATH, 0, CFG_RCV(webhook_secret_file), 0,
                           0, 0 },
};

/* Receiver kinds, in the order of enum receiver_kind; bit i of a mask is kind i. */
static const char *const cfg_receiver_kinds[] = { "webhook", "slack", "pagerduty", "opsgenie",
                                                  "alertmanager", "email", NULL };
#define CFG_RK(i) (1u << (i))
#define CFG_RK_WEBHOOK CFG_RK(0)
#define CFG_RK_SLACK CFG_RK(1)
#define CFG_RK_PAGERDUTY CFG_RK(2)
#define CFG_RK_OPSGENIE CFG_RK(3)
#define CFG_RK_ALERTMANAGER CFG_RK(4)
#define CFG_RK_EMAIL CFG_RK(5)
#define CFG_RK_ALL 0x3fu
#define CFG_RK_SECRET (CFG_RK_WEBHOOK | CFG_RK_PAGERDUTY | CFG_RK_OPSGENIE | CFG_RK_EMAIL)

/* Which kinds each receiver field is for, and which kinds must have it. */
static const struct {
    unsigned allowed;
    unsigned required;
} cfg_receiver_rules_of[] = {
    [CFG_RC_NAME] = { CFG_RK_ALL, 0 },
    [CFG_RC_KIND] = { CFG_RK_ALL, 0 },
    [CFG_RC_URL] = { CFG_RK_ALL, CFG_RK_WEBHOOK | CFG_RK_SLACK | CFG_RK_ALERTMANAGER
                                 | CFG_RK_EMAIL },
    [CFG_RC_ENV] = { CFG_RK_SECRET, 0 },
    [CFG_RC_FILE] = { CFG_RK_SECRET, 0 },
    [CFG_RC_USER] = { CFG_RK_EMAIL, 0 },
    [CFG_RC_FROM] = { CFG_RK_EMAIL, CFG_RK_EMAIL },
    [CFG_RC_TO] = { CFG_RK_EMAIL, CFG_RK_EMAIL },
    [CFG_RC_STARTTLS] = { CFG_RK_EMAIL, 0 },
    [CFG_RC_TEMPLATE] = { CFG_RK_ALL, 0 },
    [CFG_RC_HOOK_ENV] = { CFG_RK_PAGERDUTY, 0 },
    [CFG_RC_HOOK_FILE] = { CFG_RK_PAGERDUTY, 0 },
};

/* The public endpoints of the kinds whose url is optional. */
static const struct {
    unsigned kind;
    const char *url;
    const char *secret;     /* what secret_env / secret_file give, for messages */
} cfg_receiver_defaults[] = {
    { CFG_RK_PAGERDUTY, "https://events.pagerduty.com/v2/enqueue", "routing key" },
    { CFG_RK_OPSGENIE, "https://api.opsgenie.com", "API key" },
};

/*
 * routes: [{match, receivers, continue, group_wait, group_interval,
 * repeat_interval, escalate: {after, to}}]
 */
#define CFG_RT(m) offsetof(struct nines_route_cfg, m)
#define CFG_HOUR_MS (INT64_C(3600000))
enum { CFG_RT_MATCH, CFG_RT_RECEIVERS, CFG_RT_CONTINUE, CFG_RT_WAIT, CFG_RT_INTERVAL,
       CFG_RT_REPEAT, CFG_RT_ESCALATE };
static const struct cfg_field cfg_route_fields[] = {
    [CFG_RT_MATCH] = { "match", CFG_MATCHERS, 0, CFG_RT(match), CFG_RT(match_count), 0, 0 },
    [CFG_RT_RECEIVERS] = { "receivers", CFG_IDS, CFG_REQUIRED, CFG_RT(receivers),
                           CFG_RT(receivers_count), 0, CFG_MAX_LIST },
    [CFG_RT_CONTINUE] = { "continue", CFG_BOOL, 0, CFG_RT(continue_matching), 0, 0, 0 },
    [CFG_RT_WAIT] = { "group_wait", CFG_DURATION, 0, CFG_RT(group_wait_ms), 0, 0, CFG_HOUR_MS },
    [CFG_RT_INTERVAL] = { "group_interval", CFG_DURATION, 0, CFG_RT(group_interval_ms), 0,
                          1000, 24 * CFG_HOUR_MS },
    [CFG_RT_REPEAT] = { "repeat_interval", CFG_DURATION, 0, CFG_RT(repeat_interval_ms), 0,
                        10000, 30 * CFG_DAY_MS },
    [CFG_RT_ESCALATE] = { "escalate", CFG_ESCALATE, 0, 0, 0, 0, 0 },
};

#define CFG_ESC(m) offsetof(struct nines_escalation, m)
#define CFG_MAX_STEPS 8
enum { CFG_ES_AFTER, CFG_ES_TO };
static const struct cfg_field cfg_escalate_fields[] = {
    [CFG_ES_AFTER] = { "after", CFG_DURATION, CFG_REQUIRED, CFG_ESC(after_ms), 0, 10000,
                       24 * CFG_HOUR_MS },
    [CFG_ES_TO] = { "to", CFG_IDS, CFG_REQUIRED, CFG_ESC(to), CFG_ESC(to_count), 0,
                    CFG_MAX_LIST },
};

/* alerting: {public_url, evaluate_every, silence_reminder, burn_rates, forecast_*} */
#define CFG_AL(m) offsetof(struct nines_alerting_cfg, m)
enum { CFG_AL_URL, CFG_AL_EVERY, CFG_AL_REMIND, CFG_AL_BURN, CFG_AL_FWINDOW, CFG_AL_FHORIZON,
       CFG_AL_FSAMPLES };
static const struct cfg_field cfg_alerting_fields[] = {
    [CFG_AL_URL] = { "public_url", CFG_HTTP_URL, 0, CFG_AL(public_url), 0, 0, 0 },
    [CFG_AL_EVERY] = { "evaluate_every", CFG_DURATION, 0, CFG_AL(evaluate_every_ms), 0, 1000,
                       600000 },
    [CFG_AL_REMIND] = { "silence_reminder", CFG_DURATION, 0, CFG_AL(silence_reminder_ms), 0,
                        10000, 30 * CFG_DAY_MS },
    [CFG_AL_BURN] = { "burn_rates", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_AL_FWINDOW] = { "forecast_window", CFG_DURATION, 0, CFG_AL(forecast_window_ms), 0,
                         60000, 30 * CFG_DAY_MS },
    [CFG_AL_FHORIZON] = { "forecast_horizon", CFG_DURATION, 0, CFG_AL(forecast_horizon_ms), 0,
                          60000, 365 * CFG_DAY_MS },
    [CFG_AL_FSAMPLES] = { "forecast_min_samples", CFG_INT, 0, CFG_AL(forecast_min_samples), 0,
                          3, 100000 },
};

#define CFG_BR(m) offsetof(struct nines_burn_rule_cfg, m)
#define CFG_MAX_BURN 8
enum { CFG_BR_LONG, CFG_BR_SHORT, CFG_BR_FACTOR, CFG_BR_SEVERITY };
static const struct cfg_field cfg_burn_fields[] = {
    [CFG_BR_LONG] = { "long", CFG_DURATION, CFG_REQUIRED, CFG_BR(long_ms), 0, 60000,
                      30 * CFG_DAY_MS },
    [CFG_BR_SHORT] = { "short", CFG_DURATION, 0, CFG_BR(short_ms), 0, 10000, 30 * CFG_DAY_MS },
    [CFG_BR_FACTOR] = { "factor", CFG_DOUBLE, CFG_REQUIRED, CFG_BR(factor), 0, 0, 1000 },
    [CFG_BR_SEVERITY] = { "severity", CFG_SEVERITY, CFG_REQUIRED, CFG_BR(severity), 0, 0, 0 },
};

/* customers: [{id, name, timezone, contacts, services, slas, report_day, report_hour}] */
#define CFG_CU(m) offsetof(struct nines_customer_cfg, m)
#define CFG_MAX_SLAS 8
enum { CFG_CU_ID, CFG_CU_NAME, CFG_CU_TZ, CFG_CU_CONTACTS, CFG_CU_SERVICES, CFG_CU_SLAS,
       CFG_CU_DAY, CFG_CU_HOUR };
static const struct cfg_field cfg_customer_fields[] = {
    [CFG_CU_ID] = { "id", CFG_ID, CFG_REQUIRED, CFG_CU(id), 0, 0, 0 },
    [CFG_CU_NAME] = { "name", CFG_LINE, 0, CFG_CU(name), 0, 0, 200 },
    [CFG_CU_TZ] = { "timezone", CFG_TIMEZONE, 0, CFG_CU(timezone), 0, 0, 0 },
    [CFG_CU_CONTACTS] = { "contacts", CFG_MAIL_TO, 0, CFG_CU(contacts), 0, 0, 511 },
    [CFG_CU_SERVICES] = { "services", CFG_IDS, CFG_REQUIRED, CFG_CU(services),
                          CFG_CU(services_count), 0, CFG_MAX_IDS },
    [CFG_CU_SLAS] = { "slas", CFG_SEQ, 0, 0, 0, 0, 0 },
    [CFG_CU_DAY] = { "report_day", CFG_INT, 0, CFG_CU(report_day), 0, 1, 28 },
    [CFG_CU_HOUR] = { "report_hour", CFG_INT, 0, CFG_CU(report_hour), 0, 0, 23 },
};

#define CFG_SL(m) offsetof(struct nines_sla_cfg, m)
enum { CFG_SL_NAME, CFG_SL_TARGET, CFG_SL_SERVICES, CFG_SL_HOURS, CFG_SL_NODATA,
       CFG_SL_MAINT, CFG_SL_CREDITS };
static const struct cfg_field cfg_sla_fields[] = {
    [CFG_SL_NAME] = { "name", CFG_NAME, 0, CFG_SL(name), 0, 0, 0 },
    [CFG_SL_TARGET] = { "target", CFG_DOUBLE, CFG_REQUIRED, CFG_SL(target_pct), 0, 0, 100 },
    [CFG_SL_SERVICES] = { "services", CFG_IDS, 0, CFG_SL(services), CFG_SL(services_count), 0,
                          CFG_MAX_IDS },
    [CFG_SL_HOURS] = { "business_hours", CFG_MAP, 0, 0, 0, 0, 0 },
    [CFG_SL_NODATA] = { "nodata_counts_down", CFG_BOOL, 0, CFG_SL(nodata_counts_down), 0, 0,
                        0 },
    [CFG_SL_MAINT] = { "maintenance_counts", CFG_BOOL, 0, CFG_SL(maintenance_counts), 0, 0,
                       0 },
    [CFG_SL_CREDITS] = { "credits", CFG_SEQ, 0, 0, 0, 0, 0 },
};

enum { CFG_BH_DAYS, CFG_BH_FROM, CFG_BH_TO };
static const struct cfg_field cfg_hours_fields[] = {
    [CFG_BH_DAYS] = { "days", CFG_DAYS, CFG_REQUIRED, CFG_SL(business_days), 0, 0, 0 },
    [CFG_BH_FROM] = { "from", CFG_CLOCK, CFG_REQUIRED, CFG_SL(business_from_minute), 0, 0, 0 },
    [CFG_BH_TO] = { "to", CFG_CLOCK, CFG_REQUIRED, CFG_SL(business_to_minute), 0, 0, 0 },
};

#define CFG_CR(m) offsetof(struct nines_credit_tier, m)
#define CFG_MAX_TIERS 16
enum { CFG_CR_BELOW, CFG_CR_CREDIT };
static const struct cfg_field cfg_credit_fields[] = {
    [CFG_CR_BELOW] = { "below", CFG_DOUBLE, CFG_REQUIRED, CFG_CR(below_pct), 0, 0, 100 },
    [CFG_CR_CREDIT] = { "credit", CFG_DOUBLE, CFG_REQUIRED, CFG_CR(credit_pct), 0, 0, 100 },
};

/* The labels of a notification a route can match on. */
static const char *const cfg_match_labels[] = { "check", "service", "customer", "team",
                                                "severity", "rule", "location", NULL };

/* The placeholders of template_summary (collector/notify/payload.c). */
static const char *const cfg_placeholders[] = { "check", "service", "state", "reason",
                                                "summary", "start", "url", NULL };

static const char *const cfg_log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const cfg_addresses[] = { "first", "all", NULL };
static const char *const cfg_dns_matches[] = { "none", "exact", "include", NULL };
static const char *const cfg_down_when[] = { "any", "all", NULL };
static const char *const cfg_roles[] = { "none", "viewer", "operator", "admin", NULL };
static const char *const cfg_proxy_schemes[] = { "http", "https", "socks4", "socks4a", "socks5",
                                                 "socks5h", NULL };
static const char *const cfg_canary_methods[] = { "PUT", "POST", NULL };

/* The allowed words of an enumerated kind, and for which the index is stored. */
static const struct cfg_choice {
    enum cfg_kind kind;
    const char *const *words;
    size_t first;           /* words shown and accepted start here ("none" is not) */
} cfg_choices[] = {
    { CFG_LOG_LEVEL, cfg_log_levels, 0 },
    { CFG_METHOD, checkopt_methods, 0 },
    { CFG_CANARY_METHOD, cfg_canary_methods, 0 },
    { CFG_RECORD_TYPE, checkopt_record_types, 0 },
    { CFG_RCODE, checkopt_rcodes, 0 },
    { CFG_TLS_VERSION, checkopt_tls_versions, 0 },
    { CFG_AUTH_TYPE, checkopt_auth_types, 0 },
    { CFG_ADDRESSES, cfg_addresses, 0 },
    { CFG_DNS_MATCH, cfg_dns_matches, 1 },
    { CFG_DOWN_WHEN, cfg_down_when, 0 },
    { CFG_ROLE, cfg_roles, 1 },     /* the index is the enum nines_role */
    { CFG_SEVERITY, checkopt_severities, 0 },
    { CFG_RECEIVER_KIND, cfg_receiver_kinds, 0 },
};

struct cfg_ctx {
    const char *path;
    struct nines_errlist *errs;
    int nerr;
    int nomem;
    char where[96];         /* "collector", "check 'api'", "checks[2]" or "" (top level) */
    char *dir;              /* the config file's directory, absolute; made on first use */
};

/* The defaults section: a template check and which fields it set. */
struct cfg_defaults {
    struct nines_check tmpl;
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_check_fields)];
    int conflict_reported;  /* its timeout > interval was already reported */
};

/* Secret-looking keys are rejected with this hint (see cfg_walk). */
#define CFG_HINT_SECRET_SOURCE "only where to read it: 'secret_env' or 'secret_file'"
#define CFG_HINT_TOKEN_HASH "only the SHA-256 of a token, in 'hash' (nines token hash)"

/* A check's id, for finding duplicates. */
struct cfg_idref {
    const char *id;
    const struct yamltree_node *node;
    size_t index;
};

static void cfg_verror(struct cfg_ctx *x, int line, int column, int prefix, const char *fmt,
                       va_list ap)
{
    char msg[256];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    x->nerr++;
    if (prefix && x->where[0] != '\0')
        nines_errlist_add(x->errs, x->path, line, column, "%s: %s", x->where, msg);
    else
        nines_errlist_add(x->errs, x->path, line, column, "%s", msg);
}

/* An error at node n, prefixed with where it is ("check 'api': ..."). */
static void cfg_error(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cfg_error(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_verror(x, n ? n->line : 0, n ? n->column : 0, 1, fmt, ap);
    va_end(ap);
}

/* An error whose message names its place itself. */
static void cfg_error_bare(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));
static void cfg_error_bare(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt,
                           ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_verror(x, n ? n->line : 0, n ? n->column : 0, 0, fmt, ap);
    va_end(ap);
}

/* At most 40 characters of s for a message, control characters as '?'. */
static const char *cfg_excerpt(const char *s, char *buf, size_t size)
{
    size_t o = 0, i;

    for (i = 0; i < 40 && s[i] != '\0' && o + 4 < size; i++)
        buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? (char)'?' : s[i];
    if (s[i] != '\0' && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* What a value is, for "expected X, got Y". */
static const char *cfg_got(const struct yamltree_node *v, char *buf, size_t size)
{
    char ex[64];

    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v))
        return yamltree_type_name(v);
    cfg_excerpt(v->value, ex, sizeof(ex));
    snprintf(buf, size, v->plain ? "'%s'" : "the quoted string '%s'", ex);
    return buf;
}

static const char *cfg_expected(enum cfg_kind k)
{
    switch (k) {
    case CFG_MAP:
        return "a mapping";
    case CFG_SEQ:
        return "a sequence";
    case CFG_INT:
    case CFG_INT64:
        return "an integer";
    case CFG_DURATION:
        return "a duration such as 30s";
    case CFG_BOOL:
        return "true or false";
    case CFG_LOCATIONS:
        return "a location name or a sequence of them";
    case CFG_DOUBLE:
        return "a number such as 1.5";
    case CFG_IP_VERSION:
        return "4 or 6";
    case CFG_HEADERS:
        return "a mapping of header names to values";
    case CFG_AUTH:
        return "a mapping with 'type' and 'secret_env' or 'secret_file'";
    case CFG_HDR_CONDS:
        return "a sequence of mappings";
    case CFG_SERVERS:
        return "an address or a sequence of them";
    case CFG_MOUNTS:
        return "a path or a sequence of them";
    case CFG_STRINGS:
        return "a string or a sequence of them";
    case CFG_QUORUM:
        return "majority, all or a number of locations";
    case CFG_IDS:
        return "an id or a sequence of them";
    case CFG_DAYS:
        return "a day such as mon, a range such as mon-fri, daily, or a sequence of them";
    case CFG_MAIL_TO:
        return "an address or a sequence of them";
    case CFG_MATCHERS:
        return "a mapping of labels to values";
    case CFG_ESCALATE:
        return "a mapping with 'after' and 'to', or a sequence of them";
    case CFG_TOKEN_HASH:
        return "a hash such as nines token new prints";
    default:
        return "a string";
    }
}

static void cfg_type_error(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_node *v)
{
    char got[96];

    cfg_error(x, v, "'%s': expected %s, got %s", f->key, cfg_expected(f->kind),
              cfg_got(v, got, sizeof(got)));
}

/* Optimal string alignment distance, for "did you mean" (keys are short). */
static size_t cfg_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[CFG_MAX_KEY + 1][CFG_MAX_KEY + 1];

    if (la > CFG_MAX_KEY || lb > CFG_MAX_KEY)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j - 1] + cost;

            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* Keeps in *best the closest key of tab to key, if close enough to be a typo. */
static void cfg_suggest(const char *key, const struct cfg_field *tab, size_t n,
                        unsigned need_flags, const char **best, size_t *best_d)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(tab[i].key);
        size_t limit = len / 3 > 2 ? 2 : (len / 3 < 1 ? 1 : len / 3);
        size_t d;

        if ((tab[i].flags & need_flags) != need_flags)
            continue;
        d = cfg_distance(key, tab[i].key);
        if (d <= limit && d < *best_d) {
            *best = tab[i].key;
            *best_d = d;
        }
    }
}

static void cfg_unknown_key(struct cfg_ctx *x, const struct yamltree_node *k, const char *best)
{
    char ex[64];

    cfg_excerpt(k->value, ex, sizeof(ex));
    if (best != NULL)
        cfg_error(x, k, "unknown key '%s' (did you mean '%s'?)", ex, best);
    else
        cfg_error(x, k, "unknown key '%s'", ex);
}

static const struct cfg_field *cfg_lookup(const struct cfg_field *tab, size_t n,
                                          const struct yamltree_node *k)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(tab[i].key) == k->len && strcmp(tab[i].key, k->value) == 0)
            return &tab[i];
    }
    return NULL;
}

static char *cfg_strdup(struct cfg_ctx *x, const char *s)
{
    char *d = strdup(s);

    if (d == NULL)
        x->nomem = 1;
    return d;
}

/*
 * The text of a string-valued scalar, or NULL after reporting why there is
 * none. Plain scalars count: "42" is a fine id.
 */
static const char *cfg_text(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v)
{
    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v)) {
        cfg_type_error(x, f, v);
        return NULL;
    }
    if (strlen(v->value) != v->len) {
        cfg_error(x, v, "'%s' must not contain a NUL character", f->key);
        return NULL;
    }
    if (v->len > CFG_MAX_STRING) {
        cfg_error(x, v, "'%s' is too long (%zu bytes, at most %d)", f->key, v->len,
                  CFG_MAX_STRING);
        return NULL;
    }
    return v->value;
}

static int cfg_valid_name(const char *s, const char *extra)
{
    size_t n = strlen(s);

    if (n < 1 || n > CFG_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || strchr(extra, c) != NULL))
            return 0;
    }
    return 1;
}

/* Parses a plain decimal integer: optional '-', digits, nothing else. */
static int cfg_parse_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    uint64_t v = 0;

    if (neg)
        s++;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static const char *cfg_fmt_duration(int64_t ms, char *buf, size_t size)
{
    if (ms == 0)
        snprintf(buf, size, "0s");
    else if (ms > 86400000 && ms % 86400000 == 0)
        snprintf(buf, size, "%" PRId64 "d", ms / 86400000);
    else if (ms % 1000 != 0)
        snprintf(buf, size, "%" PRId64 "ms", ms);
    else if (ms % 3600000 == 0)
        snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
    else
        snprintf(buf, size, "%" PRId64 "s", ms / 1000);
    return buf;
}

/* Parses and stores a number (integer or duration) within the field's range. */
static int cfg_apply_number(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v, void *slot)
{
    char got[96], lo[24], hi[24];
    int64_t n;

    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v) || strlen(v->value) != v->len
        || (f->kind != CFG_DURATION && !v->plain)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (f->kind == CFG_DURATION ? nines_duration_parse(v->value, &n) != 0
                                : cfg_parse_int(v->value, &n) != 0) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (n < f->min || n > f->max) {
        if (f->kind == CFG_DURATION)
            cfg_error(x, v, "'%s' must be between %s and %s, got %s", f->key,
                      cfg_fmt_duration(f->min, lo, sizeof(lo)),
                      cfg_fmt_duration(f->max, hi, sizeof(hi)), cfg_got(v, got, sizeof(got)));
        else
            cfg_error(x, v, "'%s' must be between %" PRId64 " and %" PRId64 ", got %s", f->key,
                      f->min, f->max, cfg_got(v, got, sizeof(got)));
        return -1;
    }
    if (f->kind == CFG_INT)
        *(int *)slot = (int)n;
    else
        *(int64_t *)slot = n;
    return 0;
}

static int cfg_apply_bool(struct cfg_ctx *x, const struct cfg_field *f,
                          const struct yamltree_node *v, int *slot)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };

    if (v->type == YAMLTREE_SCALAR && v->plain) {
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(v->value, yes[i]) == 0 || strcasecmp(v->value, no[i]) == 0) {
                *slot = strcasecmp(v->value, yes[i]) == 0;
                return 0;
            }
        }
    }
    cfg_type_error(x, f, v);
    return -1;
}

static void cfg_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Appends scalar s to list unless it is there already ("'KEY': WHAT'x' is
 * listed twice"); list has room for it. */
static int cfg_keep_unique(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_node *s, const char *what, char **list,
                           size_t *n)
{
    char got[96];

    for (size_t i = 0; i < *n; i++) {
        if (strcmp(list[i], s->value) == 0) {
            cfg_error(x, s, "'%s': %s'%s' is listed twice", f->key, what,
                      cfg_excerpt(s->value, got, sizeof(got)));
            return -1;
        }
    }
    list[*n] = cfg_strdup(x, s->value);
    if (list[*n] == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* One location name (scalar s) appended to list, or an error. */
static int cfg_location_add(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *s, char **list, size_t *n)
{
    char got[96];

    if (s->type != YAMLTREE_SCALAR || yamltree_is_null(s) || strlen(s->value) != s->len) {
        cfg_error(x, s, "'%s': expected a location name, got %s", f->key,
                  cfg_got(s, got, sizeof(got)));
        return -1;
    }
    if (!cfg_valid_name(s->value, "_.-")) {
        cfg_error(x, s, "'%s': a location must be 1-63 characters from A-Z a-z 0-9 _ . -, "
                  "got %s", f->key, cfg_got(s, got, sizeof(got)));
        return -1;
    }
    return cfg_keep_unique(x, f, s, "location ", list, n);
}

/* Checks and keeps one item of a string list (list has room for it). */
typedef int cfg_item_add_fn(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *s, char **list, size_t *n);

/*
 * One string or a sequence of them, at most `most` (named `noun` in the
 * error), each checked by add. On success *out holds *n strings (an array
 * even when n is 0; the caller owns it); on failure nothing is kept.
 */
static int cfg_collect_strings(struct cfg_ctx *x, const struct cfg_field *f,
                               const struct yamltree_node *v, size_t most, const char *noun,
                               cfg_item_add_fn *add, char ***out, size_t *n)
{
    size_t want = v->type == YAMLTREE_SEQUENCE ? v->count : 1;
    char **list;
    int bad = 0;

    *n = 0;
    if (v->type == YAMLTREE_MAPPING || yamltree_is_null(v)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (want > most) {
        cfg_error(x, v, "'%s': at most %zu %s, got %zu", f->key, most, noun, want);
        return -1;
    }
    list = calloc(want ? want : 1, sizeof(*list));
    if (list == NULL) {
        x->nomem = 1;
        return -1;
    }
    if (v->type == YAMLTREE_SCALAR) {
        bad = add(x, f, v, list, n) < 0;
    } else {
        for (size_t i = 0; i < v->count; i++)
            bad |= add(x, f, v->items[i], list, n) < 0;
    }
    if (bad) {
        cfg_free_strv(list, *n);
        *n = 0;
        return -1;
    }
    *out = list;
    return 0;
}

/* A location name or a sequence of them; an empty sequence means everywhere. */
static int cfg_apply_locations(struct cfg_ctx *x, const struct cfg_field *f,
                               const struct yamltree_node *v, char ***slot, size_t *count)
{
    char **list;
    size_t n = 0;

    if (cfg_collect_strings(x, f, v, CFG_MAX_LOCATIONS, "locations", cfg_location_add, &list,
                            &n) != 0)
        return -1;
    cfg_free_strv(*slot, *count);
    *slot = list;
    *count = n;
    if (n == 0) {
        free(list);
        *slot = NULL;
    }
    return 0;
}

/* Checks "200-299,301" (spaces allowed) and writes it without spaces into out. */
static int cfg_status_list(const char *s, char *out, size_t size)
{
    size_t o = 0;

    for (;;) {
        long lo, hi;
        char *end;

        while (*s == ' ')
            s++;
        if (*s < '0' || *s > '9')
            return -1;
        lo = hi = strtol(s, &end, 10);
        s = end;
        if (*s == '-') {
            s++;
            if (*s < '0' || *s > '9')
                return -1;
            hi = strtol(s, &end, 10);
            s = end;
        }
        if (lo < 100 || hi > 599 || lo > hi)
            return -1;
        o += (size_t)snprintf(out + o, size - o, lo == hi ? "%ld" : "%ld-%ld", lo, hi);
        if (o >= size)
            return -1;
        while (*s == ' ')
            s++;
        if (*s == '\0')
            return 0;
        if (*s++ != ',' || o + 1 >= size)
            return -1;
        out[o++] = ',';
        out[o] = '\0';
    }
}

/* The config file's directory, made absolute once. */
static const char *cfg_dir(struct cfg_ctx *x)
{
    char *copy, *slash;
    int err;

    if (x->dir != NULL)
        return x->dir;
    copy = cfg_strdup(x, x->path);
    if (copy == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    slash = strrchr(copy, '/');
    if (slash == NULL)
        x->dir = realpath(".", NULL);
    else if (slash == copy)
        x->dir = realpath("/", NULL);
    else {
        *slash = '\0';
        x->dir = realpath(copy, NULL);
    }
    err = errno;
    free(copy);
    errno = err;
    return x->dir;
}

/*
 * Joins dir and rel (rel may be absolute: dir is then ignored) and removes
 * "." and ".." segments and repeated slashes, as Go's filepath.Clean.
 */
static char *cfg_clean_path(const char *dir, const char *rel)
{
    size_t cap = (dir ? strlen(dir) : 0) + strlen(rel) + 3;
    char *in = malloc(cap), *out = malloc(cap);
    size_t o = 0;

    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return NULL;
    }
    snprintf(in, cap, "%s/%s", rel[0] == '/' ? "" : dir, rel);
    for (char *seg = in; *seg != '\0';) {
        size_t len = strcspn(seg, "/");

        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[--o] != '/')
                ;
        } else if (len > 0 && !(len == 1 && seg[0] == '.')) {
            out[o++] = '/';
            memcpy(out + o, seg, len);
            o += len;
        }
        seg += len;
        seg += *seg == '/';
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    free(in);
    return out;
}

static int cfg_check_url(struct cfg_ctx *x, const struct cfg_field *f,
                         const struct yamltree_node *v, const char *s)
{
    char got[96];
    size_t skip;

    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else {
        cfg_error(x, v, "'%s' must start with http:// or https://, got %s", f->key,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    if (strlen(s) > CFG_MAX_URL) {
        cfg_error(x, v, "'%s' is longer than %d bytes", f->key, CFG_MAX_URL);
        return -1;
    }
    if (s[skip] == '\0' || strchr("/?#:", s[skip]) != NULL) {
        cfg_error(x, v, "'%s' has no host, got %s", f->key, cfg_got(v, got, sizeof(got)));
        return -1;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            cfg_error(x, v, "'%s' must not contain spaces or control characters", f->key);
            return -1;
        }
    }
    return 0;
}

/* The redis address, checked by the parser the daemons use. */
static int cfg_check_redis(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_node *v, const char *s)
{
    struct nines_redis_addr a;
    struct nines_err e;
    const char *why;

    memset(&e, 0, sizeof(e));
    if (nines_redis_url_parse(s, &a, &e) == 0)
        return 0;
    why = e.msg;
    if (strncmp(why, "redis url: ", 11) == 0)
        why += 11;
    cfg_error(x, v, "'%s': %s", f->key, why[0] ? why : "not a valid address");
    return -1;
}

/*
 * A canary's Redis: "host:port" or a redis:// URL over TCP. The password
 * comes from secret_env or secret_file: the configuration holds no secret.
 */
static int cfg_check_redis_addr(struct cfg_ctx *x, const struct cfg_field *f,
                                const struct yamltree_node *v, const char *s)
{
    struct nines_redis_addr a;
    struct nines_err e;
    char url[CFG_MAX_URL + 16];
    const char *why;

    memset(&e, 0, sizeof(e));
    if (strlen(s) > CFG_MAX_URL) {
        cfg_error(x, v, "'%s' is longer than %d bytes", f->key, CFG_MAX_URL);
        return -1;
    }
    snprintf(url, sizeof(url), "%s%s", strstr(s, "://") ? "" : "redis://", s);
    if (nines_redis_url_parse(url, &a, &e) != 0) {
        why = strncmp(e.msg, "redis url: ", 11) == 0 ? e.msg + 11 : e.msg;
        cfg_error(x, v, "'%s': %s", f->key, why[0] ? why : "not a valid address");
        return -1;
    }
    if (a.path[0] != '\0') {
        cfg_error(x, v, "'%s' must be a TCP address (host:port or redis://host:port), "
                  "not a Unix socket", f->key);
        return -1;
    }
    if (a.password[0] != '\0' || a.user[0] != '\0' || strchr(s, '@') != NULL) {
        cfg_error(x, v, "'%s' must not hold a user or password: use 'secret_env' or "
                  "'secret_file'", f->key);
        return -1;
    }
    return 0;
}

/* data_dir: a relative path is taken from the config file's directory. */
static char *cfg_resolve_path(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *v, const char *s)
{
    const char *dir = s[0] == '/' ? "" : cfg_dir(x);
    char *out;

    if (dir == NULL) {
        int err = errno;

        if (err == ENOMEM)
            x->nomem = 1;
        else
            cfg_error(x, v, "'%s': cannot resolve the configuration file's directory: %s",
                      f->key, strerror(err));
        return NULL;
    }
    out = cfg_clean_path(dir, s);
    if (out == NULL)
        x->nomem = 1;
    return out;
}

/* ---- enumerations -------------------------------------------------------- */

/* "http, dns, tcp, icmp, host" into buf. */
static const char *cfg_kind_names(char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < checkopt_nkinds && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", checkopt_kinds[i].name);
    return buf;
}

static const struct cfg_choice *cfg_choice_of(enum cfg_kind k)
{
    for (size_t i = 0; i < CFG_NFIELDS(cfg_choices); i++) {
        if (cfg_choices[i].kind == k)
            return &cfg_choices[i];
    }
    return NULL;
}

/* The index of s among the choice's words (counted from words[0]), or -1. */
static int cfg_choice_index(const struct cfg_choice *ch, const char *s)
{
    for (size_t i = ch->first; ch->words[i] != NULL; i++) {
        if (strcmp(s, ch->words[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* "debug, info, warn, error" */
static const char *cfg_choice_list(const struct cfg_choice *ch, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = ch->first; ch->words[i] != NULL && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i > ch->first ? ", " : "",
                              ch->words[i]);
    return buf;
}

/* An enumerated value: the index of the word, or -1 after reporting. */
static int cfg_choice(struct cfg_ctx *x, const struct cfg_field *f, const struct yamltree_node *v,
                      const char *s)
{
    const struct cfg_choice *ch = cfg_choice_of(f->kind);
    char got[96], list[160];
    int i = cfg_choice_index(ch, s);

    if (i < 0)
        cfg_error(x, v, "'%s' must be one of %s, got %s", f->key,
                  cfg_choice_list(ch, list, sizeof(list)), cfg_got(v, got, sizeof(got)));
    return i;
}

/* ---- string syntaxes ----------------------------------------------------- */

/* A host name or an IP address: what DNS, connect and SNI can take. */
static int cfg_valid_host(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > CFG_MAX_HOST || s[0] == '-' || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && strchr("-._:%", s[i]) == NULL)
            return 0;
    }
    return 1;
}

/* An HTTP header name: an RFC 9110 token. */
static int cfg_valid_header_name(const char *s)
{
    if (s[0] == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
            return 0;
    }
    return 1;
}

static int cfg_valid_env(const char *s)
{
    if (strlen(s) > 128 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    }
    return 1;
}

/* Decimal 1..65535 in s[0..len). */
static int cfg_valid_port(const char *s, size_t len)
{
    long v = 0;

    if (len < 1 || len > 5)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/* An IPv4 or IPv6 literal in s[0..len); IPv6 may be in brackets if brackets is set. */
static int cfg_valid_ip(const char *s, size_t len, int brackets)
{
    unsigned char addr[sizeof(struct in6_addr)];
    char buf[INET6_ADDRSTRLEN + 8];

    if (brackets && len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
        if (memchr(s, ':', len) == NULL)
            return 0;
    }
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

/* A DNS server: "ip", "ip:port", bare IPv6, or "[v6]:port". */
static int cfg_valid_server(const char *s)
{
    const char *colon = strchr(s, ':');
    const char *close;

    if (s[0] == '[') {
        close = strchr(s, ']');
        if (close == NULL || !cfg_valid_ip(s, (size_t)(close - s + 1), 1))
            return 0;
        return close[1] == '\0' || (close[1] == ':' && cfg_valid_port(close + 2,
                                                                       strlen(close + 2)));
    }
    if (colon == NULL || strchr(colon + 1, ':') != NULL)
        return cfg_valid_ip(s, strlen(s), 0);       /* IPv4, or IPv6 without a port */
    return cfg_valid_ip(s, (size_t)(colon - s), 0) && memchr(s, '.', (size_t)(colon - s))
           && cfg_valid_port(colon + 1, strlen(colon + 1));
}

/* curl's --resolve: host:port:address[,address...], IPv6 optionally in brackets. */
static int cfg_valid_resolve(const char *s)
{
    const char *c1 = strchr(s, ':'), *c2, *a;
    char host[CFG_MAX_HOST + 1];

    if (c1 == NULL || c1 == s || (size_t)(c1 - s) > CFG_MAX_HOST)
        return 0;
    memcpy(host, s, (size_t)(c1 - s));
    host[c1 - s] = '\0';
    c2 = strchr(c1 + 1, ':');
    if (!cfg_valid_host(host) || c2 == NULL || !cfg_valid_port(c1 + 1, (size_t)(c2 - c1 - 1)))
        return 0;
    for (a = c2 + 1;;) {
        size_t len = strcspn(a, ",");

        if (!cfg_valid_ip(a, len, 1))
            return 0;
        if (a[len] == '\0')
            return 1;
        a += len + 1;
    }
}

/* scheme://host[:port][/]: no credentials, spaces or control characters. */
static int cfg_valid_proxy(const char *s)
{
    const char *sep = strstr(s, "://");
    char scheme[16];
    const char *h;

    if (sep == NULL || (size_t)(sep - s) >= sizeof(scheme))
        return 0;
    memcpy(scheme, s, (size_t)(sep - s));
    scheme[sep - s] = '\0';
    if (!checkopt_one_of(scheme, cfg_proxy_schemes))
        return 0;
    h = sep + 3;
    if (*h == '\0' || strchr("/:?#", *h) != NULL)
        return 0;
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '@')
            return 0;
    }
    return 1;
}

/* Decimal 0..65535, the whole of s. */
static int cfg_valid_port0(const char *s)
{
    size_t len = strlen(s);

    return len > 0 && strspn(s, "0123456789") == len && len <= 5 && atol(s) <= 65535;
}

/*
 * Where the API listens: "IPv4:port", "[IPv6]:port", "localhost:port", or
 * ":port" / "*:port" for every IPv4 address. Port 0 picks a free one.
 */
static int cfg_valid_listen(const char *s)
{
    unsigned char addr[sizeof(struct in6_addr)];
    char host[INET6_ADDRSTRLEN + 8];
    const char *colon;
    size_t hl;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return 0;
        hl = (size_t)(close - s - 1);
        if (hl == 0 || hl >= sizeof(host))
            return 0;
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        return inet_pton(AF_INET6, host, addr) == 1 && cfg_valid_port0(close + 2);
    }
    colon = strchr(s, ':');
    if (colon == NULL || strchr(colon + 1, ':') != NULL)
        return 0;                   /* no port, or IPv6 without brackets */
    hl = (size_t)(colon - s);
    if (hl >= sizeof(host))
        return 0;
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (hl != 0 && strcmp(host, "*") != 0 && strcmp(host, "localhost") != 0
        && inet_pton(AF_INET, host, addr) != 1)
        return 0;
    return cfg_valid_port0(colon + 1);
}

/* A receiver's URL before its scheme is checked: no spaces or control characters. */
static int cfg_valid_endpoint(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    }
    return 1;
}

/* One line of text: no control characters (tabs neither). */
static int cfg_valid_line(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < ' ' || *s == 0x7f)
            return 0;
    }
    return 1;
}

/*
 * local@domain in plain ASCII, as collector/notify/email.c sends it: at most
 * 254 bytes (local part 64), one '@', no spaces, controls, quotes or the
 * specials that could break out of a header or an SMTP command.
 */
static int cfg_valid_mail_addr(const char *a, size_t len)
{
    const char *at = memchr(a, '@', len);

    if (at == NULL || at == a || memchr(at + 1, '@', len - (size_t)(at - a) - 1) != NULL
        || (size_t)(at - a) == len - 1 || len > 254 || (size_t)(at - a) > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f
            || strchr("<>()[]\\,;:\"", a[i]) != NULL)
            return 0;
    }
    if (at[1] == '.' || a[len - 1] == '.')
        return 0;
    for (const char *p = at; p + 1 < a + len; p++) {
        if (p[0] == '.' && p[1] == '.')
            return 0;
    }
    return 1;
}

/* s[0..len) without the spaces and tabs around it. */
static void cfg_trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* "addr", "Display Name <addr>" or "\"Display Name\" <addr>", as email.c reads it. */
static int cfg_valid_mail_from(const char *s)
{
    const char *lt = strchr(s, '<'), *gt, *name = s, *addr = s;
    size_t len = strlen(s), nlen;

    if (lt == NULL) {
        cfg_trim(&addr, &len);
        return cfg_valid_mail_addr(addr, len);
    }
    gt = strchr(lt, '>');
    addr = lt + 1;
    len = gt != NULL ? (size_t)(gt - addr) : 0;
    nlen = (size_t)(lt - s);
    cfg_trim(&name, &nlen);
    if (nlen >= 2 && name[0] == '"' && name[nlen - 1] == '"') {
        name++;
        nlen -= 2;
    }
    if (gt == NULL || gt[1 + strspn(gt + 1, " \t")] != '\0')
        return 0;
    for (size_t i = 0; i < nlen; i++) {
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f || name[i] == '"'
            || name[i] == '\\')
            return 0;
    }
    cfg_trim(&addr, &len);
    return cfg_valid_mail_addr(addr, len);
}

/* What each syntax-checked string kind must look like, for the message. */
static const struct cfg_syntax {
    enum cfg_kind kind;
    int (*valid)(const char *s);
    const char *want;
} cfg_syntaxes[] = {
    { CFG_HOST, cfg_valid_host, "a host name or an IP address" },
    { CFG_HEADER_NAME, cfg_valid_header_name,
      "a header name (letters, digits and !#$%&'*+-.^_`|~)" },
    { CFG_ENV_NAME, cfg_valid_env, "an environment variable name such as API_TOKEN" },
    { CFG_RESOLVE, cfg_valid_resolve, "host:port:address, such as example.com:443:127.0.0.1" },
    { CFG_PROXY, cfg_valid_proxy, "a proxy URL such as http://proxy.example:3128 (schemes "
      "http, https, socks4, socks4a, socks5, socks5h; no user or password)" },
    { CFG_LISTEN, cfg_valid_listen, "an address and port such as 127.0.0.1:8080, [::1]:8080 "
      "or :8080 (every IPv4 address)" },
    { CFG_ENDPOINT, cfg_valid_endpoint, "a URL without spaces or control characters" },
    { CFG_LINE, cfg_valid_line, "one line of text" },
    { CFG_MAIL_FROM, cfg_valid_mail_from, "an address such as nines@example.com or "
      "Nines <nines@example.com>" },
};

static int cfg_check_syntax(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v, const char *s)
{
    char got[96];

    for (size_t i = 0; i < CFG_NFIELDS(cfg_syntaxes); i++) {
        if (cfg_syntaxes[i].kind != f->kind || cfg_syntaxes[i].valid(s))
            continue;
        cfg_error(x, v, "'%s' must be %s, got %s", f->key, cfg_syntaxes[i].want,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    return 0;
}

static int cfg_check_regex(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_node *v, const char *s)
{
    char why[128];
    regex_t re;
    int rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB);

    if (rc == 0) {
        regfree(&re);
        return 0;
    }
    regerror(rc, &re, why, sizeof(why));
    cfg_error(x, v, "'%s' is not a valid regular expression: %s", f->key, why);
    return -1;
}

static int cfg_check_json_cond(struct cfg_ctx *x, const struct cfg_field *f,
                               const struct yamltree_node *v, const char *s)
{
    struct nines_json_cond jc;
    char why[128];

    if (nines_json_cond_parse(s, &jc, why, sizeof(why)) == 0)
        return 0;
    cfg_error(x, v, "'%s': %s", f->key, why);
    return -1;
}

/* A path as the left side of a json_condition: "seq", "data.items.0.seq". */
static int cfg_check_json_path(struct cfg_ctx *x, const struct cfg_field *f,
                               const struct yamltree_node *v, const char *s)
{
    struct nines_json_cond jc;
    char cond[NINES_JSON_COND_MAX], why[128], got[96];

    if (strlen(s) + sizeof(" == null") > sizeof(cond) || strpbrk(s, " \t=!<>\"") != NULL) {
        cfg_error(x, v, "'%s' must be a dotted JSON path such as data.seq, got %s", f->key,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    snprintf(cond, sizeof(cond), "%s == null", s);
    if (nines_json_cond_parse(cond, &jc, why, sizeof(why)) == 0)
        return 0;
    cfg_error(x, v, "'%s': %s", f->key, why);
    return -1;
}

/* A zone nines_tz_load can load: "UTC", "Etc/UTC" or a TZif file under the zone directory. */
static char *cfg_timezone(struct cfg_ctx *x, const struct cfg_field *f,
                          const struct yamltree_node *v, const char *s)
{
    struct nines_tz *tz;
    struct nines_err e;
    char got[96];

    memset(&e, 0, sizeof(e));
    tz = nines_tz_load(s, &e);
    if (tz != NULL) {
        nines_tz_free(tz);
        return cfg_strdup(x, s);
    }
    cfg_got(v, got, sizeof(got));
    if (e.code == NINES_ENOMEM)
        x->nomem = 1;
    else if (e.code == NINES_EINVAL)
        cfg_error(x, v, "'%s' must be an IANA time zone name such as Europe/Berlin, got %s",
                  f->key, got);
    else if (e.code == NINES_ENOTFOUND)
        cfg_error(x, v, "'%s': unknown time zone %s", f->key, got);
    else
        cfg_error(x, v, "'%s': cannot load time zone %s: %s", f->key, got, e.msg);
    return NULL;
}

/* Every {word} of lowercase letters and '_' in s must be a known placeholder. */
static int cfg_check_template(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *v, const char *s)
{
    char word[24];
    int bad = 0;

    for (const char *p = strchr(s, '{'); p != NULL; p = strchr(p + 1, '{')) {
        size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");

        if (n == 0 || p[1 + n] != '}')
            continue;               /* not a placeholder: sent as it is */
        if (n < sizeof(word)) {
            memcpy(word, p + 1, n);
            word[n] = '\0';
            if (checkopt_one_of(word, cfg_placeholders))
                continue;
        }
        cfg_error(x, v, "'%s': unknown placeholder {%.*s} (known: {check} {service} {state} "
                  "{reason} {summary} {start} {url})", f->key, n > 20 ? 20 : (int)n, p + 1);
        bad = 1;
    }
    return bad ? -1 : 0;
}

/*
 * Validates the string s of field f and returns the value to store
 * (malloc'd), or NULL after reporting why (or after running out of memory).
 */
static char *cfg_string_value(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *v, const char *s)
{
    char got[96], status[128];

    switch (f->kind) {
    case CFG_NAME:
    case CFG_ID:
        if (cfg_valid_name(s, f->kind == CFG_ID ? "_.:-" : "_.-"))
            return cfg_strdup(x, s);
        cfg_error(x, v, "'%s' must be 1-63 characters from A-Z a-z 0-9 _ . %s-, got %s", f->key,
                  f->kind == CFG_ID ? ": " : "", cfg_got(v, got, sizeof(got)));
        return NULL;
    case CFG_STATUS_LIST:
        if (cfg_status_list(s, status, sizeof(status)) == 0)
            return cfg_strdup(x, status);
        cfg_error(x, v, "'%s' must be status codes or ranges within 100-599 separated by "
                  "commas, such as 200-299,301, got %s", f->key, cfg_got(v, got, sizeof(got)));
        return NULL;
    case CFG_HTTP_URL:
        return cfg_check_url(x, f, v, s) == 0 ? cfg_strdup(x, s) : NULL;
    case CFG_REDIS_URL:
        return cfg_check_redis(x, f, v, s) == 0 ? cfg_strdup(x, s) : NULL;
    case CFG_REDIS_ADDR:
        return cfg_check_redis_addr(x, f, v, s) == 0 ? cfg_strdup(x, s) : NULL;
    case CFG_JSON_PATH:
        return cfg_check_json_path(x, f, v, s) == 0 ? cfg_strdup(x, s) : NULL;
    case CFG_TOKEN_NAME:
        if (cfg_valid_name(s, "_.@-"))
            return cfg_strdup(x, s);
        cfg_error(x, v, "'%s' must be 1-63 characters from A-Z a-z 0-9 _ . @ -, got %s", f->key,
                  cfg_got(v, got, sizeof(got)));
        return NULL;
    case CFG_TIMEZONE:
        return cfg_timezone(x, f, v, s);
    default:
        break;
    }
    if (cfg_choice_of(f->kind) != NULL)
        return cfg_choice(x, f, v, s) < 0 ? NULL : cfg_strdup(x, s);
    if (s[0] == '\0') {
        cfg_error(x, v, "'%s' must not be empty", f->key);
        return NULL;
    }
    if (f->kind == CFG_PATH)
        return cfg_resolve_path(x, f, v, s);
    if (f->kind == CFG_PROXY && strchr(s, '@') != NULL) {
        cfg_error(x, v, "'%s' must not hold a user or password: the configuration never "
                  "holds a secret", f->key);
        return NULL;
    }
    if ((f->kind == CFG_REGEX && cfg_check_regex(x, f, v, s) < 0)
        || (f->kind == CFG_JSON_COND && cfg_check_json_cond(x, f, v, s) < 0)
        || (f->kind == CFG_TEMPLATE && cfg_check_template(x, f, v, s) < 0)
        || cfg_check_syntax(x, f, v, s) < 0)
        return NULL;
    return cfg_strdup(x, s);
}

/* ---- numbers that are not plain integers --------------------------------- */

/* A plain decimal number above 0 and at most f->max: 1, 0.75, 2.5e1. */
static int cfg_apply_double(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v, double *slot)
{
    char got[96];
    const char *p;
    char *end;
    double d;

    if (v->type != YAMLTREE_SCALAR || !v->plain || yamltree_is_null(v)
        || strlen(v->value) != v->len) {
        cfg_type_error(x, f, v);
        return -1;
    }
    /* strtod also takes hex, "inf" and "nan": allow only digits, '.', exponent */
    for (p = v->value; *p != '\0' && strchr("0123456789.eE+-", *p) != NULL; p++)
        ;
    errno = 0;
    d = strtod(v->value, &end);
    if (*p != '\0' || *end != '\0' || end == v->value || errno != 0 || !isfinite(d)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (!(d > 0) || d > (double)f->max) {
        cfg_error(x, v, "'%s' must be above 0 and at most %" PRId64 ", got %s", f->key, f->max,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    *slot = d;
    return 0;
}

static int cfg_apply_ip_version(struct cfg_ctx *x, const struct cfg_field *f,
                                const struct yamltree_node *v, int *slot)
{
    char got[96];

    if (v->type == YAMLTREE_SCALAR && v->plain
        && (strcmp(v->value, "4") == 0 || strcmp(v->value, "6") == 0)) {
        *slot = v->value[0] - '0';
        return 0;
    }
    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v))
        cfg_type_error(x, f, v);
    else
        cfg_error(x, v, "'%s' must be 4 or 6, got %s", f->key, cfg_got(v, got, sizeof(got)));
    return -1;
}

/* ---- lists of strings ---------------------------------------------------- */

/* One entry of a list option (scalar s) appended to list, or an error. */
static int cfg_list_add(struct cfg_ctx *x, const struct cfg_field *f,
                        const struct yamltree_node *s, char **list, size_t *n)
{
    const char *what = f->kind == CFG_SERVERS ? "an address"
                       : f->kind == CFG_MOUNTS ? "a path"
                       : f->kind == CFG_IDS ? "an id" : "a string";
    char got[96];

    if (s->type != YAMLTREE_SCALAR || yamltree_is_null(s) || strlen(s->value) != s->len
        || s->len == 0 || s->len > CFG_MAX_STRING) {
        cfg_error(x, s, "'%s': expected %s, got %s", f->key, what,
                  s->len == 0 && s->type == YAMLTREE_SCALAR ? "an empty string"
                                                            : cfg_got(s, got, sizeof(got)));
        return -1;
    }
    if (f->kind == CFG_SERVERS && !cfg_valid_server(s->value)) {
        cfg_error(x, s, "'%s': %s is not an IP address with an optional port, such as "
                  "192.0.2.1:5353 or [2001:db8::1]:5353", f->key, cfg_got(s, got, sizeof(got)));
        return -1;
    }
    if (f->kind == CFG_IDS && !cfg_valid_name(s->value, "_.:-")) {
        cfg_error(x, s, "'%s': %s is not an id (1-63 characters from A-Z a-z 0-9 _ . : -)",
                  f->key, cfg_got(s, got, sizeof(got)));
        return -1;
    }
    if (f->kind == CFG_MOUNTS && s->value[0] != '/') {
        cfg_error(x, s, "'%s': %s is not an absolute path", f->key,
                  cfg_got(s, got, sizeof(got)));
        return -1;
    }
    return cfg_keep_unique(x, f, s, "", list, n);
}

/* One string or a sequence of them, each checked by cfg_list_add. */
static int cfg_apply_list(struct cfg_ctx *x, const struct cfg_field *f,
                          const struct yamltree_node *v, char ***slot, size_t *count)
{
    size_t most = f->max > 0 ? (size_t)f->max : CFG_MAX_LIST;
    char **list;
    size_t n = 0;
    int bad;

    bad = cfg_collect_strings(x, f, v, most, "entries", cfg_list_add, &list, &n) != 0;
    if (bad)
        return -1;
    if (n == 0) {
        cfg_free_strv(list, n);
        return 0;
    }
    cfg_free_strv(*slot, *count);
    *slot = list;
    *count = n;
    return 0;
}

/* ---- headers ------------------------------------------------------------- */

static void cfg_free_kv(struct nines_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

/* A header value: any text but line breaks and other control characters. */
static int cfg_valid_header_value(const char *s)
{
    for (; *s != '\0'; s++) {
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    }
    return 1;
}

/* One "name: value" pair of headers appended to kv, or an error. */
static int cfg_header_add(struct cfg_ctx *x, const struct cfg_field *f,
                          const struct yamltree_pair *p, struct nines_kv *kv, size_t *n)
{
    const struct yamltree_node *k = p->key, *v = p->value;
    char ex[64], got[96];

    cfg_excerpt(k->value, ex, sizeof(ex));
    if (strlen(k->value) != k->len || !cfg_valid_header_name(k->value)) {
        cfg_error(x, k, "'%s': '%s' is not a header name (letters, digits and "
                  "!#$%%&'*+-.^_`|~)", f->key, ex);
        return -1;
    }
    if (strcasecmp(k->value, "Authorization") == 0
        || strcasecmp(k->value, "Proxy-Authorization") == 0) {
        cfg_error(x, k, "'%s': no '%s' header: the configuration never holds a secret, use "
                  "'auth' with 'secret_env' or 'secret_file'", f->key, ex);
        return -1;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strcasecmp(kv[i].name, k->value) == 0) {
            cfg_error(x, k, "'%s': header '%s' is set twice", f->key, ex);
            return -1;
        }
    }
    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v) || strlen(v->value) != v->len
        || !cfg_valid_header_value(v->value) || v->len > CFG_MAX_STRING) {
        cfg_error(x, v, "'%s': the value of '%s' must be one line of text, got %s", f->key, ex,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    kv[*n].name = cfg_strdup(x, k->value);
    kv[*n].value = cfg_strdup(x, v->value);
    (*n)++;                         /* freed as a pair, even if one dup failed */
    return x->nomem ? -1 : 0;
}

static int cfg_apply_headers(struct cfg_ctx *x, const struct cfg_field *f,
                             const struct yamltree_node *v, struct nines_kv **slot,
                             size_t *count)
{
    struct nines_kv *kv;
    size_t n = 0;
    int bad = 0;

    if (v->type != YAMLTREE_MAPPING) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (v->count > CFG_MAX_LIST) {
        cfg_error(x, v, "'%s': at most %d headers, got %zu", f->key, CFG_MAX_LIST, v->count);
        return -1;
    }
    kv = calloc(v->count ? v->count : 1, sizeof(*kv));
    if (kv == NULL) {
        x->nomem = 1;
        return -1;
    }
    for (size_t i = 0; i < v->count; i++)
        bad |= cfg_header_add(x, f, &v->pairs[i], kv, &n) < 0;
    if (bad || n == 0) {
        cfg_free_kv(kv, n);
        return bad ? -1 : 0;
    }
    cfg_free_kv(*slot, *count);
    *slot = kv;
    *count = n;
    return 0;
}

/* ---- sub-mappings: auth, header_conditions -------------------------------- */

static int cfg_apply(struct cfg_ctx *x, const struct cfg_field *f, const struct yamltree_node *v,
                     void *base);
static void cfg_check_required(struct cfg_ctx *x, const struct yamltree_node *map,
                               const struct cfg_field *tab, size_t n);

/* Keys people may try for a secret itself. */
static const char *const cfg_secret_words[] = { "password", "passwd", "pass", "token",
                                                "secret", "bearer", "api_key", "apikey",
                                                "routing_key", "integration_key", NULL };

/*
 * Applies each pair of map through tab onto base; seen[i] gets the value
 * node of tab[i] (whether or not it was valid). Unknown keys are reported;
 * with a secret_hint, keys such as 'password' are reported with it.
 */
static void cfg_walk(struct cfg_ctx *x, const struct yamltree_node *map,
                     const struct cfg_field *tab, size_t n, void *base,
                     const struct yamltree_node **seen, const char *secret_hint)
{
    for (size_t i = 0; i < map->count; i++) {
        const struct yamltree_node *k = map->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(tab, n, k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;
        char ex[64];

        if (f != NULL) {
            seen[f - tab] = map->pairs[i].value;
            cfg_apply(x, f, map->pairs[i].value, base);
            continue;
        }
        if (secret_hint != NULL && checkopt_one_of(k->value, cfg_secret_words)) {
            cfg_error(x, k, "unknown key '%s': the configuration never holds a secret, %s",
                      cfg_excerpt(k->value, ex, sizeof(ex)), secret_hint);
            continue;
        }
        cfg_suggest(k->value, tab, n, 0, &best, &best_d);
        cfg_unknown_key(x, k, best);
    }
}

/* The later of two nodes in the file. */
static const struct yamltree_node *cfg_later(const struct yamltree_node *a,
                                             const struct yamltree_node *b)
{
    if (a->line != b->line)
        return a->line > b->line ? a : b;
    return a->column > b->column ? a : b;
}

/* auth: {type: basic|bearer, user: (basic), secret_env: VAR | secret_file: PATH} */
static int cfg_apply_auth(struct cfg_ctx *x, const struct cfg_field *f,
                          const struct yamltree_node *v, struct nines_http_opts *h)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_auth_fields)] = { 0 };
    const struct yamltree_node *env, *file;
    char saved[sizeof(x->where)];
    int nerr = x->nerr;

    if (v->type != YAMLTREE_MAPPING) {
        cfg_type_error(x, f, v);
        return -1;
    }
    memcpy(saved, x->where, sizeof(saved));
    snprintf(x->where, sizeof(x->where), "%.80s: auth", saved);
    cfg_walk(x, v, cfg_auth_fields, CFG_NFIELDS(cfg_auth_fields), h, seen,
             CFG_HINT_SECRET_SOURCE);
    cfg_check_required(x, v, cfg_auth_fields, CFG_NFIELDS(cfg_auth_fields));
    env = seen[CFG_AUTH_ENV];
    file = seen[CFG_AUTH_FILE];
    if (env == NULL && file == NULL)
        cfg_error(x, v, "needs 'secret_env' or 'secret_file' (where to read the %s from)",
                  h->auth != NULL && strcmp(h->auth, "bearer") == 0 ? "token" : "password");
    else if (env != NULL && file != NULL)
        cfg_error(x, cfg_later(env, file), "give either 'secret_env' or 'secret_file', "
                  "not both");
    if (h->auth != NULL && strcmp(h->auth, "bearer") == 0 && seen[CFG_AUTH_USER] != NULL)
        cfg_error(x, seen[CFG_AUTH_USER], "'user' is for basic auth only");
    if (h->auth != NULL && strcmp(h->auth, "basic") == 0 && seen[CFG_AUTH_USER] == NULL)
        cfg_error(x, v, "basic auth needs 'user'");
    memcpy(x->where, saved, sizeof(saved));
    return x->nerr > nerr ? -1 : 0;
}

static void cfg_free_conds(struct nines_header_cond *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].name);
        free(c[i].value);
    }
    free(c);
}

/* One entry of header_conditions into *out; -1 after reporting. */
static int cfg_hdr_cond(struct cfg_ctx *x, const struct yamltree_node *item,
                        struct nines_header_cond *out)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_hdr_cond_fields)] = { 0 };
    const struct yamltree_node *op = NULL;
    struct cfg_hdr_cond t = { NULL, 0, NULL, NULL };
    char got[96];
    int nerr = x->nerr;

    if (item->type != YAMLTREE_MAPPING) {
        cfg_error(x, item, "expected a mapping with 'name' and one of 'present', 'equals' or "
                  "'regex', got %s", cfg_got(item, got, sizeof(got)));
        return -1;
    }
    cfg_walk(x, item, cfg_hdr_cond_fields, CFG_NFIELDS(cfg_hdr_cond_fields), &t, seen,
             CFG_HINT_SECRET_SOURCE);
    cfg_check_required(x, item, cfg_hdr_cond_fields, CFG_NFIELDS(cfg_hdr_cond_fields));
    for (size_t i = CFG_HC_PRESENT; i <= CFG_HC_REGEX; i++) {
        if (seen[i] != NULL && op != NULL)
            cfg_error(x, cfg_later(seen[i], op), "give only one of 'present', 'equals' or "
                      "'regex'");
        else if (seen[i] != NULL)
            op = seen[i];
    }
    if (op == NULL)
        cfg_error(x, item, "needs one of 'present: true', 'equals' or 'regex'");
    if (seen[CFG_HC_PRESENT] != NULL && x->nerr == nerr && !t.present)
        cfg_error(x, seen[CFG_HC_PRESENT], "'present' can only be true");
    out->name = t.name;
    out->op = t.regex ? NINES_HDR_REGEX : t.equals ? NINES_HDR_EQUALS : NINES_HDR_PRESENT;
    out->value = t.regex ? t.regex : t.equals;
    if (x->nerr > nerr) {
        free(t.name);
        free(t.equals);
        free(t.regex);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

static int cfg_apply_hdr_conds(struct cfg_ctx *x, const struct cfg_field *f,
                               const struct yamltree_node *v,
                               struct nines_header_cond **slot, size_t *count)
{
    char saved[sizeof(x->where)];
    struct nines_header_cond *c;
    size_t n = 0;
    int bad = 0;

    if (v->type != YAMLTREE_SEQUENCE) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (v->count > CFG_MAX_LIST) {
        cfg_error(x, v, "'%s': at most %d conditions, got %zu", f->key, CFG_MAX_LIST, v->count);
        return -1;
    }
    c = calloc(v->count ? v->count : 1, sizeof(*c));
    if (c == NULL) {
        x->nomem = 1;
        return -1;
    }
    memcpy(saved, x->where, sizeof(saved));
    for (size_t i = 0; i < v->count; i++) {
        snprintf(x->where, sizeof(x->where), "%.60s: %s[%zu]", saved, f->key, i);
        if (cfg_hdr_cond(x, v->items[i], &c[n]) < 0)
            bad = 1;
        else
            n++;
    }
    memcpy(x->where, saved, sizeof(saved));
    if (bad || n == 0) {
        cfg_free_conds(c, n);
        return bad ? -1 : 0;
    }
    cfg_free_conds(*slot, *count);
    *slot = c;
    *count = n;
    return 0;
}

/* ---- alerting: recipients, matchers, escalation -------------------------- */

/* One address (s[0..len) of entry node e) appended to the joined list, or an error. */
static int cfg_mail_to_add(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_node *e, const char *s, size_t len,
                           char *out, size_t *olen, size_t *n)
{
    char ex[64], addr[300];

    cfg_trim(&s, &len);
    snprintf(addr, sizeof(addr), "%.*s", (int)(len < 299 ? len : 299), s);
    if (len == 0) {
        cfg_error(x, e, "'%s': an address is empty (two commas in a row, or one at an end)",
                  f->key);
        return -1;
    }
    if (!cfg_valid_mail_addr(s, len)) {
        cfg_error(x, e, "'%s': '%s' is not an email address such as ops@example.com", f->key,
                  cfg_excerpt(addr, ex, sizeof(ex)));
        return -1;
    }
    for (const char *p = out; *p != '\0';) {     /* out: addresses joined by ", " */
        size_t l = strcspn(p, ",");

        if (l == len && strncasecmp(p, s, len) == 0) {
            cfg_error(x, e, "'%s': '%s' is listed twice", f->key,
                      cfg_excerpt(addr, ex, sizeof(ex)));
            return -1;
        }
        p += l;
        p += *p == ',' ? 2 : 0;
    }
    if (*n == CFG_MAX_RCPT || *olen + len + 2 > (size_t)f->max) {
        cfg_error(x, e, "'%s': at most %d addresses and %" PRId64 " bytes", f->key,
                  CFG_MAX_RCPT, f->max);
        return -1;
    }
    *olen += (size_t)snprintf(out + *olen, (size_t)f->max + 1 - *olen, "%s%.*s",
                              *n ? ", " : "", (int)len, s);
    (*n)++;
    return 0;
}

/* The addresses of one scalar, comma-separated ("a@x, b@y"), appended. */
static int cfg_mail_to_scalar(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *e, char *out, size_t *olen,
                              size_t *n)
{
    char got[96];
    const char *p;

    if (e->type != YAMLTREE_SCALAR || yamltree_is_null(e) || strlen(e->value) != e->len
        || e->len > CFG_MAX_STRING) {
        cfg_error(x, e, "'%s': expected an address, got %s", f->key, cfg_got(e, got,
                                                                             sizeof(got)));
        return -1;
    }
    for (p = e->value;; p++) {
        size_t len = strcspn(p, ",");

        if (cfg_mail_to_add(x, f, e, p, len, out, olen, n) < 0)
            return -1;
        p += len;
        if (*p == '\0')
            return 0;
    }
}

/* to: "a@x, b@y" or [a@x, b@y]: stored as "a@x, b@y". */
static int cfg_apply_mail_to(struct cfg_ctx *x, const struct cfg_field *f,
                             const struct yamltree_node *v, char **slot)
{
    char *out;
    size_t olen = 0, n = 0;
    int bad = 0;

    if (v->type == YAMLTREE_MAPPING || yamltree_is_null(v)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (v->type == YAMLTREE_SEQUENCE && v->count == 0) {
        cfg_error(x, v, "'%s' must list at least one address", f->key);
        return -1;
    }
    out = calloc(1, (size_t)f->max + 1);
    if (out == NULL) {
        x->nomem = 1;
        return -1;
    }
    if (v->type == YAMLTREE_SCALAR)
        bad = cfg_mail_to_scalar(x, f, v, out, &olen, &n) < 0;
    for (size_t i = 0; v->type == YAMLTREE_SEQUENCE && i < v->count; i++)
        bad |= cfg_mail_to_scalar(x, f, v->items[i], out, &olen, &n) < 0;
    if (bad) {
        free(out);
        return -1;
    }
    free(*slot);
    *slot = out;
    return 0;
}

static void cfg_free_matchers(struct nines_matcher *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].value);
    }
    free(m);
}

/* The value of label k: text, or "~" and a regex; -1 after reporting. */
static int cfg_matcher_value(struct cfg_ctx *x, const struct cfg_field *f,
                             const struct yamltree_node *k, const struct yamltree_node *v)
{
    char got[96], why[128], list[64];
    regex_t re;
    int rc;

    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v) || strlen(v->value) != v->len
        || v->len == 0 || v->len > CFG_MAX_STRING) {
        cfg_error(x, v, "'%s': '%s' needs a value or ~regex, got %s", f->key, k->value,
                  v->len == 0 && v->type == YAMLTREE_SCALAR ? "an empty string"
                                                            : cfg_got(v, got, sizeof(got)));
        return -1;
    }
    if (v->value[0] != '~') {
        if (strcmp(k->value, "severity") != 0 || checkopt_one_of(v->value, checkopt_severities))
            return 0;
        cfg_error(x, v, "'%s': 'severity' must be one of %s (or ~regex), got %s", f->key,
                  cfg_choice_list(cfg_choice_of(CFG_SEVERITY), list, sizeof(list)),
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    if (v->value[1] == '\0') {
        cfg_error(x, v, "'%s': '%s': '~' must be followed by a regular expression", f->key,
                  k->value);
        return -1;
    }
    rc = regcomp(&re, v->value + 1, REG_EXTENDED | REG_NOSUB);
    if (rc == 0) {
        regfree(&re);
        return 0;
    }
    regerror(rc, &re, why, sizeof(why));
    cfg_error(x, v, "'%s': '%s': %s is not a valid regular expression: %s", f->key, k->value,
              cfg_got(v, got, sizeof(got)), why);
    return -1;
}

/* One "label: value" pair of match appended to m, or an error. */
static int cfg_matcher_add(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_pair *p, struct nines_matcher *m, size_t *n)
{
    const struct yamltree_node *k = p->key, *v = p->value;
    char ex[64];

    if (strlen(k->value) != k->len || !checkopt_one_of(k->value, cfg_match_labels)) {
        cfg_error(x, k, "'%s': unknown label '%s' (labels: check, service, customer, team, "
                  "severity, rule, location)", f->key, cfg_excerpt(k->value, ex, sizeof(ex)));
        return -1;
    }
    if (cfg_matcher_value(x, f, k, v) < 0)
        return -1;
    m[*n].regex = v->value[0] == '~';
    m[*n].name = cfg_strdup(x, k->value);
    m[*n].value = cfg_strdup(x, v->value + m[*n].regex);
    (*n)++;                         /* freed as a pair, even if one dup failed */
    return x->nomem ? -1 : 0;
}

/* match: {label: value | ~regex, ...}; labels are unique (YAML keys). */
static int cfg_apply_matchers(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *v, struct nines_matcher **slot,
                              size_t *count)
{
    struct nines_matcher *m;
    size_t n = 0;
    int bad = 0;

    if (v->type != YAMLTREE_MAPPING) {
        cfg_type_error(x, f, v);
        return -1;
    }
    m = calloc(v->count ? v->count : 1, sizeof(*m));
    if (m == NULL) {
        x->nomem = 1;
        return -1;
    }
    for (size_t i = 0; i < v->count; i++)
        bad |= cfg_matcher_add(x, f, &v->pairs[i], m, &n) < 0;
    if (bad || n == 0) {
        cfg_free_matchers(m, n);
        return bad ? -1 : 0;
    }
    cfg_free_matchers(*slot, *count);
    *slot = m;
    *count = n;
    return 0;
}

/* One escalation step (a mapping) into e; where names it. 0 or -1. */
static int cfg_escalate_step(struct cfg_ctx *x, const struct yamltree_node *v,
                             struct nines_escalation *e, const char *where)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_escalate_fields)] = { 0 };
    const struct yamltree_node *to;
    char saved[sizeof(x->where)];
    char got[96];
    int nerr = x->nerr;

    memcpy(saved, x->where, sizeof(saved));
    snprintf(x->where, sizeof(x->where), "%.70s: %.20s", saved, where);
    if (v->type != YAMLTREE_MAPPING) {
        cfg_error(x, v, "expected a mapping with 'after' and 'to', got %s",
                  cfg_got(v, got, sizeof(got)));
    } else {
        cfg_walk(x, v, cfg_escalate_fields, CFG_NFIELDS(cfg_escalate_fields), e, seen, NULL);
        cfg_check_required(x, v, cfg_escalate_fields, CFG_NFIELDS(cfg_escalate_fields));
        to = seen[CFG_ES_TO];
        if (to != NULL && to->type == YAMLTREE_SEQUENCE && to->count == 0)
            cfg_error(x, to, "'to' must list at least one receiver");
    }
    memcpy(x->where, saved, sizeof(saved));
    return x->nerr > nerr ? -1 : 0;
}

static void cfg_free_escalation(struct nines_escalation *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cfg_free_strv(e[i].to, e[i].to_count);
    free(e);
}

/*
 * escalate: {after: DURATION, to: [receiver names]}, or a sequence of such
 * steps with increasing 'after'; stored in the route.
 */
static int cfg_apply_escalate(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *v, struct nines_route_cfg *r)
{
    size_t n = v->type == YAMLTREE_SEQUENCE ? v->count : 1;
    struct nines_escalation *steps;
    char where[32];
    int bad = 0;

    if (v->type != YAMLTREE_MAPPING && (v->type != YAMLTREE_SEQUENCE || v->count == 0)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (n > CFG_MAX_STEPS) {
        cfg_error(x, v, "'escalate': at most %d steps, got %zu", CFG_MAX_STEPS, n);
        return -1;
    }
    steps = calloc(n, sizeof(*steps));
    if (steps == NULL) {
        x->nomem = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct yamltree_node *item = v->type == YAMLTREE_SEQUENCE ? v->items[i] : v;

        if (v->type == YAMLTREE_SEQUENCE)
            snprintf(where, sizeof(where), "escalate[%zu]", i);
        else
            snprintf(where, sizeof(where), "escalate");
        if (cfg_escalate_step(x, item, &steps[i], where) < 0) {
            bad = 1;
            continue;
        }
        if (i > 0 && !bad && steps[i].after_ms <= steps[i - 1].after_ms) {
            cfg_error(x, yamltree_get(item, "after"), "escalate[%zu]: 'after' must be later "
                      "than the step before it", i);
            bad = 1;
        }
    }
    if (bad) {
        cfg_free_escalation(steps, n);
        return -1;
    }
    cfg_free_escalation(r->escalate, r->escalate_count);
    r->escalate = steps;
    r->escalate_count = n;
    return 0;
}

/*
 * Loads each mapping of seq (a list inside an entry, such as a customer's
 * slas) into a new zeroed array of n entries of stride bytes, naming them
 * "WHERE: noun[i]" in errors. At most max entries.
 */
static void *cfg_load_sublist(struct cfg_ctx *x, const struct yamltree_node *seq,
                              size_t stride, const char *noun, size_t max,
                              void (*load)(struct cfg_ctx *, const struct yamltree_node *,
                                           void *),
                              size_t *count)
{
    char saved[sizeof(x->where)], got[96];
    char *arr;

    *count = 0;
    if (seq->type != YAMLTREE_SEQUENCE) {
        cfg_error(x, seq, "'%s': expected a sequence of mappings, got %s", noun,
                  cfg_got(seq, got, sizeof(got)));
        return NULL;
    }
    if (seq->count > max) {
        cfg_error(x, seq, "'%s': at most %zu entries, got %zu", noun, max, seq->count);
        return NULL;
    }
    if (seq->count == 0)
        return NULL;
    arr = calloc(seq->count, stride);
    if (arr == NULL) {
        x->nomem = 1;
        return NULL;
    }
    memcpy(saved, x->where, sizeof(saved));
    for (size_t i = 0; i < seq->count; i++) {
        snprintf(x->where, sizeof(x->where), "%.50s: %.12s[%zu]", saved, noun, i);
        if (seq->items[i]->type != YAMLTREE_MAPPING) {
            cfg_error(x, seq->items[i], "expected a mapping, got %s",
                      cfg_got(seq->items[i], got, sizeof(got)));
            continue;
        }
        load(x, seq->items[i], arr + *count * stride);
        (*count)++;
    }
    memcpy(x->where, saved, sizeof(saved));
    return arr;
}

/* ---- collector features: quorum, token hashes, days and times ------------ */

static int cfg_apply_sha256(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v, const char *s, unsigned char *slot);
static int cfg_hex_digit(char c);

/* An API token's hash: "sha256-salted:SALT:HEX" (SALT 16 to 64 hex digits)
 * or the older "sha256:HEX", into the token's fields. */
static int cfg_apply_token_hash(struct cfg_ctx *x, const struct cfg_field *f,
                                const struct yamltree_node *v, struct nines_token_cfg *t)
{
    const char *s = cfg_text(x, f, v), *colon;
    char plain[80];
    size_t n;

    if (s == NULL)
        return -1;
    if (strncasecmp(s, "sha256-salted:", 14) != 0)
        return cfg_apply_sha256(x, f, v, s, t->sha256);
    colon = strchr(s + 14, ':');
    n = colon != NULL ? (size_t)(colon - s - 14) : 0;
    for (size_t i = 0; i < n && n % 2 == 0 && n >= 16 && n <= 64; i += 2) {
        int hi = cfg_hex_digit(s[14 + i]), lo = cfg_hex_digit(s[15 + i]);

        if (hi < 0 || lo < 0) {
            n = 0;
            break;
        }
        t->salt[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    if (n < 16 || n > 64 || n % 2 != 0 || strlen(colon + 1) > 64) {
        cfg_error(x, v, "'%s' must be sha256-salted:SALT:HASH with 16 to 64 hex digits of salt "
                  "and 64 of hash (as nines token new prints it)", f->key);
        return -1;
    }
    snprintf(plain, sizeof(plain), "sha256:%s", colon + 1);
    if (cfg_apply_sha256(x, f, v, plain, t->sha256) != 0)
        return -1;
    t->salt_len = n / 2;
    return 0;
}

/* majority (0), all (-1), or a plain number of locations in [min, max]. */
static int cfg_apply_quorum(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v, const char *s, int *slot)
{
    char got[96];
    int64_t n;

    if (strcmp(s, "majority") == 0 || strcmp(s, "all") == 0) {
        *slot = s[0] == 'a' ? -1 : 0;
        return 0;
    }
    if (v->plain && cfg_parse_int(s, &n) == 0 && n >= f->min && n <= f->max) {
        *slot = (int)n;
        return 0;
    }
    cfg_error(x, v, "'%s' must be majority, all or a number of locations from %" PRId64
              " to %" PRId64 ", got %s", f->key, f->min, f->max, cfg_got(v, got, sizeof(got)));
    return -1;
}

static int cfg_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * "sha256:" and 64 hex digits (either case) into 32 bytes. The value is
 * never echoed in a message: a mistake here may be the secret itself.
 */
static int cfg_apply_sha256(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v, const char *s, unsigned char *slot)
{
    unsigned char h[32], any = 0;

    if (strncasecmp(s, "sha256:", 7) != 0) {
        cfg_error(x, v, "'%s' must be the SHA-256 of the token, not the token: the "
                  "configuration never holds a secret (store the SHA-256: nines token hash)",
                  f->key);
        return -1;
    }
    s += 7;
    for (size_t i = 0; i < 32; i++) {
        int hi = cfg_hex_digit(s[2 * i]);
        int lo = hi < 0 ? -1 : cfg_hex_digit(s[2 * i + 1]);

        if (lo < 0)
            break;
        h[i] = (unsigned char)(hi << 4 | lo);
        any |= h[i];
        if (i == 31 && s[64] == '\0') {
            if (!any) {
                cfg_error(x, v, "'%s': an all-zero hash is the SHA-256 of no token", f->key);
                return -1;
            }
            memcpy(slot, h, sizeof(h));
            return 0;
        }
    }
    cfg_error(x, v, "'%s' must be sha256: and 64 hex digits (as nines token hash prints it)",
              f->key);
    return -1;
}

/* Exactly width decimal digits at *p, which moves past them. */
static int cfg_digits(const char **p, int width, int *out)
{
    int v = 0;

    for (int i = 0; i < width; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += width;
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM[:SS]Z", a real UTC time from 1970 on, into ms since the epoch. */
static int cfg_parse_timestamp(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec = 0;
    const char *p = s;
    int64_t days;

    if (cfg_digits(&p, 4, &y) < 0 || *p++ != '-' || cfg_digits(&p, 2, &mo) < 0
        || *p++ != '-' || cfg_digits(&p, 2, &d) < 0 || *p++ != 'T' || cfg_digits(&p, 2, &h) < 0
        || *p++ != ':' || cfg_digits(&p, 2, &mi) < 0)
        return -1;
    if (*p == ':' && (p++, cfg_digits(&p, 2, &sec) < 0))
        return -1;
    if (strcmp(p, "Z") != 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59
        || sec > 59)
        return -1;
    days = nines_days_from_civil(y, mo, d);
    if (d > nines_days_from_civil(y, mo + 1, 1) - nines_days_from_civil(y, mo, 1))
        return -1;                  /* no 30 February */
    *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000;
    return 0;
}

/* "H:MM" or "HH:MM", 00:00 to 23:59, into minutes after midnight. */
static int cfg_parse_clock(const char *s, int *minutes)
{
    const char *p = s;
    int width = s[0] != '\0' && s[1] == ':' ? 1 : 2;
    int h, m;

    if (cfg_digits(&p, width, &h) < 0 || *p++ != ':' || cfg_digits(&p, 2, &m) < 0
        || *p != '\0' || h > 23 || m > 59)
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

static const char *const cfg_day_short[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const cfg_day_long[] = { "sunday", "monday", "tuesday", "wednesday",
                                            "thursday", "friday", "saturday" };

/* The weekday (0 = Sunday) named by s[0..len) in any case, or -1. */
static int cfg_day(const char *s, size_t len)
{
    for (int i = 0; i < 7; i++) {
        if ((len == 3 && strncasecmp(s, cfg_day_short[i], 3) == 0)
            || (len == strlen(cfg_day_long[i]) && strncasecmp(s, cfg_day_long[i], len) == 0))
            return i;
    }
    return -1;
}

/* daily, weekdays, weekends, a day, or a range of days (fri-mon wraps): a mask, or -1. */
static int cfg_day_part(const char *s, size_t len)
{
    const char *dash = memchr(s, '-', len);
    int a, b, mask = 0;

    if (len == 5 && strncasecmp(s, "daily", 5) == 0)
        return 0x7f;
    if (len == 8 && strncasecmp(s, "weekdays", 8) == 0)
        return 0x3e;
    if (len == 8 && strncasecmp(s, "weekends", 8) == 0)
        return 0x41;
    if (dash == NULL) {
        a = cfg_day(s, len);
        return a < 0 ? -1 : 1 << a;
    }
    a = cfg_day(s, (size_t)(dash - s));
    b = cfg_day(dash + 1, len - (size_t)(dash - s) - 1);
    if (a < 0 || b < 0)
        return -1;
    for (int d = a;; d = (d + 1) % 7) {
        mask |= 1 << d;
        if (d == b)
            return mask;
    }
}

/* Parts separated by commas ("mon-fri", "mon, wed, fri"): a mask, or -1. */
static int cfg_days_text(const char *s)
{
    int mask = 0;

    for (;;) {
        size_t len, t;
        int m;

        while (*s == ' ')
            s++;
        len = strcspn(s, ",");
        for (t = len; t > 0 && s[t - 1] == ' '; t--)
            ;
        m = t > 0 ? cfg_day_part(s, t) : -1;
        if (m < 0)
            return -1;
        mask |= m;
        if (s[len] == '\0')
            return mask;
        s += len + 1;
    }
}

/* One entry of days (a scalar) OR'ed into *mask, or an error at it. */
static int cfg_days_add(struct cfg_ctx *x, const struct cfg_field *f,
                        const struct yamltree_node *s, int *mask)
{
    char got[96];
    int m = -1;

    if (s->type == YAMLTREE_SCALAR && !yamltree_is_null(s) && strlen(s->value) == s->len
        && s->len <= CFG_MAX_STRING)
        m = cfg_days_text(s->value);
    if (m < 0) {
        cfg_error(x, s, "'%s': %s is not a day: use mon..sun, a range such as mon-fri, daily, "
                  "weekdays or weekends", f->key, cfg_got(s, got, sizeof(got)));
        return -1;
    }
    *mask |= m;
    return 0;
}

/* days: a scalar or a sequence of them; the weekday mask (bit 0 = Sunday). */
static int cfg_apply_days(struct cfg_ctx *x, const struct cfg_field *f,
                          const struct yamltree_node *v, int *slot)
{
    int mask = 0, bad = 0;

    if (v->type == YAMLTREE_MAPPING || yamltree_is_null(v)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (v->type == YAMLTREE_SCALAR)
        bad = cfg_days_add(x, f, v, &mask) < 0;
    for (size_t i = 0; v->type == YAMLTREE_SEQUENCE && i < v->count; i++)
        bad |= cfg_days_add(x, f, v->items[i], &mask) < 0;
    if (!bad && mask == 0) {
        cfg_error(x, v, "'%s' must name at least one day", f->key);
        bad = 1;
    }
    if (bad)
        return -1;
    *slot = mask;
    return 0;
}

/* The scalar kinds of the collector features, after cfg_text gave s. */
static int cfg_apply_feature_scalar(struct cfg_ctx *x, const struct cfg_field *f,
                                    const struct yamltree_node *v, const char *s, void *slot)
{
    char got[96];

    switch (f->kind) {
    case CFG_QUORUM:
        return cfg_apply_quorum(x, f, v, s, slot);
    case CFG_SHA256:
        return cfg_apply_sha256(x, f, v, s, slot);
    case CFG_TIMESTAMP:
        if (cfg_parse_timestamp(s, slot) == 0)
            return 0;
        cfg_error(x, v, "'%s' must be a UTC time such as 2026-12-01T22:00:00Z, got %s", f->key,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    default:                        /* CFG_CLOCK */
        if (cfg_parse_clock(s, slot) == 0)
            return 0;
        cfg_error(x, v, "'%s' must be a time of day HH:MM from 00:00 to 23:59, got %s", f->key,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
}

/* Validates v against f and stores it into base + f->offset. 0 or -1. */
static int cfg_apply(struct cfg_ctx *x, const struct cfg_field *f, const struct yamltree_node *v,
                     void *base)
{
    void *slot = (char *)base + f->offset;
    size_t *count = (size_t *)((char *)base + f->count_offset);
    enum nines_check_kind kind;
    const char *s;
    char got[96], kinds[64];
    char *val;
    int i;

    switch (f->kind) {
    case CFG_INT:
    case CFG_INT64:
    case CFG_DURATION:
        return cfg_apply_number(x, f, v, slot);
    case CFG_BOOL:
        return cfg_apply_bool(x, f, v, slot);
    case CFG_DOUBLE:
        return cfg_apply_double(x, f, v, slot);
    case CFG_IP_VERSION:
        return cfg_apply_ip_version(x, f, v, slot);
    case CFG_LOCATIONS:
        return cfg_apply_locations(x, f, v, slot, count);
    case CFG_SERVERS:
    case CFG_STRINGS:
    case CFG_MOUNTS:
    case CFG_IDS:
        return cfg_apply_list(x, f, v, slot, count);
    case CFG_DAYS:
        return cfg_apply_days(x, f, v, slot);
    case CFG_HEADERS:
        return cfg_apply_headers(x, f, v, slot, count);
    case CFG_AUTH:
        return cfg_apply_auth(x, f, v, base);
    case CFG_HDR_CONDS:
        return cfg_apply_hdr_conds(x, f, v, slot, count);
    case CFG_MAIL_TO:
        return cfg_apply_mail_to(x, f, v, slot);
    case CFG_MATCHERS:
        return cfg_apply_matchers(x, f, v, slot, count);
    case CFG_ESCALATE:
        return cfg_apply_escalate(x, f, v, base);
    case CFG_TOKEN_HASH:
        return cfg_apply_token_hash(x, f, v, base);
    case CFG_MAP:
    case CFG_SEQ:
        return -1;                  /* sections have their own walkers */
    default:
        break;
    }
    s = cfg_text(x, f, v);
    if (s == NULL)
        return -1;
    if (f->kind == CFG_CHECK_KIND) {
        if (nines_check_kind_parse(s, &kind) == 0) {
            *(enum nines_check_kind *)slot = kind;
            return 0;
        }
        cfg_error(x, v, "'%s': unknown check kind %s (known kinds: %s)", f->key,
                  cfg_got(v, got, sizeof(got)), cfg_kind_names(kinds, sizeof(kinds)));
        return -1;
    }
    if (f->kind == CFG_QUORUM || f->kind == CFG_SHA256 || f->kind == CFG_TIMESTAMP
        || f->kind == CFG_CLOCK)
        return cfg_apply_feature_scalar(x, f, v, s, slot);
    if (f->kind == CFG_ADDRESSES || f->kind == CFG_DNS_MATCH || f->kind == CFG_DOWN_WHEN
        || f->kind == CFG_ROLE) {
        i = cfg_choice(x, f, v, s);
        if (i < 0)
            return -1;
        if (f->kind == CFG_DNS_MATCH)
            *(enum nines_dns_match *)slot = (enum nines_dns_match)i;
        else if (f->kind == CFG_ROLE)
            *(enum nines_role *)slot = (enum nines_role)i;
        else
            *(int *)slot = i;
        return 0;
    }
    if (f->max > 0 && strlen(s) > (size_t)f->max) {
        cfg_error(x, v, "'%s' is too long (%zu bytes, at most %" PRId64 ")", f->key, strlen(s),
                  f->max);
        return -1;
    }
    val = cfg_string_value(x, f, v, s);
    if (val == NULL)
        return -1;
    free(*(char **)slot);
    *(char **)slot = val;
    return 0;
}

/* Reports v unless it has the type the section needs. */
static int cfg_want_type(struct cfg_ctx *x, const struct cfg_field *f,
                         const struct yamltree_node *v, enum yamltree_type type)
{
    if (v->type == type)
        return 0;
    cfg_type_error(x, f, v);
    return -1;
}

static int cfg_set_default_str(struct cfg_ctx *x, char **slot, const char *s)
{
    *slot = cfg_strdup(x, s);
    return *slot == NULL ? -1 : 0;
}

static void cfg_load_collector(struct cfg_ctx *x, const struct yamltree_node *map,
                               struct nines_collector_cfg *c)
{
    char got[96];

    snprintf(x->where, sizeof(x->where), "collector");
    for (size_t i = 0; i < map->count; i++) {
        const struct yamltree_node *k = map->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(cfg_collector_fields,
                                               CFG_NFIELDS(cfg_collector_fields), k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        if (f != NULL) {
            if (cfg_apply(x, f, map->pairs[i].value, c) == 0 &&
                f->offset == CFG_COLL(kpi_refresh_ms) && c->kpi_refresh_ms > 0 &&
                c->kpi_refresh_ms < 1000)
                cfg_error(x, map->pairs[i].value, "'kpi_refresh' must be 0 (off) or at least "
                          "1s, got %s", cfg_got(map->pairs[i].value, got, sizeof(got)));
            continue;
        }
        cfg_suggest(k->value, cfg_collector_fields, CFG_NFIELDS(cfg_collector_fields), 0,
                    &best, &best_d);
        cfg_unknown_key(x, k, best);
    }
    x->where[0] = '\0';
}

static void cfg_load_defaults(struct cfg_ctx *x, const struct yamltree_node *map,
                              struct cfg_defaults *d)
{
    snprintf(x->where, sizeof(x->where), "defaults");
    for (size_t i = 0; i < map->count; i++) {
        const struct yamltree_node *k = map->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(cfg_check_fields, CFG_NFIELDS(cfg_check_fields),
                                               k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        if (f != NULL && (f->flags & CFG_DEFAULTABLE)) {
            if (cfg_apply(x, f, map->pairs[i].value, &d->tmpl) == 0)
                d->seen[f - cfg_check_fields] = map->pairs[i].value;
            continue;
        }
        if (f != NULL) {
            cfg_error(x, k, "'%s' cannot have a default: set it in each check", f->key);
            continue;
        }
        cfg_suggest(k->value, cfg_check_fields, CFG_NFIELDS(cfg_check_fields), CFG_DEFAULTABLE,
                    &best, &best_d);
        cfg_unknown_key(x, k, best);
    }
    if (d->seen[CFG_CK_TIMEOUT] && d->seen[CFG_CK_INTERVAL]
        && d->tmpl.timeout_ms > d->tmpl.interval_ms) {
        char t[24], iv[24];

        cfg_error(x, d->seen[CFG_CK_TIMEOUT], "'timeout' (%s) must not exceed 'interval' (%s)",
                  cfg_fmt_duration(d->tmpl.timeout_ms, t, sizeof(t)),
                  cfg_fmt_duration(d->tmpl.interval_ms, iv, sizeof(iv)));
        d->conflict_reported = 1;
    }
    if (d->seen[CFG_CK_QUORUM] && d->tmpl.quorum > 0 && d->tmpl.locations_count > 0
        && (size_t)d->tmpl.quorum > d->tmpl.locations_count)
        cfg_error(x, d->seen[CFG_CK_QUORUM], "'quorum' (%d) is more than the %zu location%s "
                  "in 'locations'", d->tmpl.quorum, d->tmpl.locations_count,
                  d->tmpl.locations_count == 1 ? "" : "s");
    x->where[0] = '\0';
}

/* Which kind a check declares, looked up before its options are read. */
static const struct cfg_kind_opts *cfg_check_kind(const struct yamltree_node *map)
{
    const struct yamltree_node *v = yamltree_get(map, "kind");
    enum nines_check_kind kind;

    if (v == NULL || v->type != YAMLTREE_SCALAR || strlen(v->value) != v->len
        || nines_check_kind_parse(v->value, &kind) != 0)
        return NULL;
    for (size_t i = 0; i < CFG_NFIELDS(cfg_kinds); i++) {
        if (cfg_kinds[i].kind == kind)
            return &cfg_kinds[i];
    }
    return NULL;
}

/* 1 when n is a scalar that is a good id. */
static int cfg_is_id(const struct yamltree_node *n)
{
    return n != NULL && n->type == YAMLTREE_SCALAR && !yamltree_is_null(n)
           && strlen(n->value) == n->len && cfg_valid_name(n->value, "_.:-");
}

/*
 * Names an entry of a list section in messages: by its id (the value of key)
 * when it has a good one, else by its index; key NULL: always by index.
 */
static void cfg_entry_where(struct cfg_ctx *x, const struct yamltree_node *map,
                            const char *noun, const char *section, const char *key,
                            size_t index)
{
    const struct yamltree_node *v = key != NULL ? yamltree_get(map, key) : NULL;

    if (cfg_is_id(v))
        snprintf(x->where, sizeof(x->where), "%s '%s'", noun, v->value);
    else
        snprintf(x->where, sizeof(x->where), "%s[%zu]", section, index);
}

static void cfg_check_where(struct cfg_ctx *x, const struct yamltree_node *map, size_t index)
{
    cfg_entry_where(x, map, "check", "checks", "id", index);
}

/* A key that is not a common check field: an option of some kind, or unknown. */
static void cfg_check_option(struct cfg_ctx *x, const struct yamltree_pair *p,
                             const struct cfg_kind_opts *ko, struct nines_check *c)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    const struct cfg_field *f;
    char kinds[64], ex[64];
    size_t o = 0;

    if (ko != NULL) {
        f = cfg_lookup(ko->fields, ko->nfields, p->key);
        if (f != NULL) {
            cfg_apply(x, f, p->value, (char *)c + ko->offset);
            return;
        }
    }
    kinds[0] = '\0';
    for (size_t i = 0; i < CFG_NFIELDS(cfg_kinds); i++) {
        if (cfg_lookup(cfg_kinds[i].fields, cfg_kinds[i].nfields, p->key) != NULL)
            o += (size_t)snprintf(kinds + o, sizeof(kinds) - o, "%s%s", o ? ", " : "",
                                  nines_check_kind_name(cfg_kinds[i].kind));
    }
    if (o > 0 && ko == NULL)
        return;                     /* without a good kind: reported there */
    if (o > 0) {
        cfg_error(x, p->key, "unknown key '%s' for kind %s (an option of kind%s %s)",
                  cfg_excerpt(p->key->value, ex, sizeof(ex)), nines_check_kind_name(ko->kind),
                  strchr(kinds, ',') ? "s" : "", kinds);
        return;
    }
    cfg_suggest(p->key->value, cfg_check_fields, CFG_NFIELDS(cfg_check_fields), 0, &best,
                &best_d);
    for (size_t i = 0; i < CFG_NFIELDS(cfg_kinds); i++) {
        if (ko == NULL || ko == &cfg_kinds[i])
            cfg_suggest(p->key->value, cfg_kinds[i].fields, cfg_kinds[i].nfields, 0, &best,
                        &best_d);
    }
    cfg_unknown_key(x, p->key, best);
}

/*
 * Reports a timeout longer than the interval at the value the check itself
 * set, or once at the defaults when both came from there.
 */
static void cfg_check_timeout(struct cfg_ctx *x, const struct nines_check *c,
                              const struct yamltree_node **seen, struct cfg_defaults *d)
{
    const struct yamltree_node *at = seen[CFG_CK_TIMEOUT];
    char t[24], iv[24];

    if (c->timeout_ms <= c->interval_ms)
        return;
    if (at == NULL)
        at = seen[CFG_CK_INTERVAL];
    if (at == NULL) {
        if (d->conflict_reported)
            return;
        d->conflict_reported = 1;
        at = d->seen[CFG_CK_TIMEOUT] ? d->seen[CFG_CK_TIMEOUT] : d->seen[CFG_CK_INTERVAL];
        snprintf(x->where, sizeof(x->where), "defaults");
    }
    cfg_error(x, at, "'timeout' (%s) must not exceed 'interval' (%s)",
              cfg_fmt_duration(c->timeout_ms, t, sizeof(t)),
              cfg_fmt_duration(c->interval_ms, iv, sizeof(iv)));
}

/* Reports, at the start of map, each required field of tab it lacks. */
static void cfg_check_required(struct cfg_ctx *x, const struct yamltree_node *map,
                               const struct cfg_field *tab, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((tab[i].flags & CFG_REQUIRED) && yamltree_get(map, tab[i].key) == NULL)
            cfg_error_bare(x, map, "%s is missing required field '%s'", x->where, tab[i].key);
    }
}

/* 1 when v is written as false (false, no, off). */
static int cfg_written_false(const struct yamltree_node *v)
{
    return v->type == YAMLTREE_SCALAR && v->plain
           && (strcasecmp(v->value, "false") == 0 || strcasecmp(v->value, "no") == 0
               || strcasecmp(v->value, "off") == 0);
}

/* Reports b when map has both a and b. */
static void cfg_check_exclusive(struct cfg_ctx *x, const struct yamltree_node *map,
                                const char *a, const char *b)
{
    const struct yamltree_node *n = yamltree_get(map, b);

    if (n != NULL && yamltree_get(map, a) != NULL)
        cfg_error(x, n, "'%s' and '%s' exclude each other: give one", a, b);
}

/* Rules between the options of one kind, and defaults that depend on others. */
static void cfg_check_kind_rules(struct cfg_ctx *x, const struct yamltree_node *map,
                                 struct nines_check *c)
{
    static const char *const tcp_tls_only[] = { "verify_tls", "ca_file", "tls_server_name",
                                                "cert_min_days" };
    const struct yamltree_node *n, *tls;

    switch (c->kind) {
    case NINES_KIND_HTTP:
        if (c->http.method == NULL)
            cfg_set_default_str(x, &c->http.method, "GET");
        if (c->http.expect_status == NULL)
            cfg_set_default_str(x, &c->http.expect_status, "200-399");
        n = yamltree_get(map, "client_key");
        if (n != NULL && yamltree_get(map, "client_cert") == NULL)
            cfg_error(x, n, "'client_key' needs 'client_cert'");
        break;
    case NINES_KIND_DNS:
        n = yamltree_get(map, "match");
        if (n != NULL && yamltree_get(map, "expect_answers") == NULL)
            cfg_error(x, n, "'match' needs 'expect_answers'");
        if (n == NULL && c->dns.expect_answers_count > 0)
            c->dns.match = NINES_DNS_MATCH_EXACT;
        break;
    case NINES_KIND_PUSH:
        /* nothing runs it anywhere: it waits for pings every period */
        cfg_free_strv(c->locations, c->locations_count);
        c->locations = NULL;
        c->locations_count = 0;
        c->quorum = 0;
        if (c->push.period_ms > 0)
            c->interval_ms = c->timeout_ms = c->push.period_ms;
        break;
    case NINES_KIND_TCP:
        tls = yamltree_get(map, "tls");
        if (c->tcp.tls || (tls != NULL && !cfg_written_false(tls)))
            break;                  /* TLS on, or 'tls' is wrong and reported */
        for (size_t i = 0; i < sizeof(tcp_tls_only) / sizeof(tcp_tls_only[0]); i++) {
            n = yamltree_get(map, tcp_tls_only[i]);
            if (n != NULL)
                cfg_error(x, n, "'%s' needs 'tls: true'", tcp_tls_only[i]);
        }
        break;
    case NINES_KIND_REDIS_CANARY:
        cfg_check_exclusive(x, map, "secret_env", "secret_file");
        break;
    case NINES_KIND_HTTP_CANARY:
        if (c->http_canary.method == NULL)
            cfg_set_default_str(x, &c->http_canary.method, "PUT");
        cfg_check_exclusive(x, map, "seq_path", "seq_regex");
        cfg_check_exclusive(x, map, "ts_path", "ts_regex");
        break;
    default:
        break;
    }
}

/* Starts c (zeroed) from the built-in defaults and the defaults section. */
static int cfg_check_inherit(struct cfg_ctx *x, const struct cfg_defaults *d,
                             struct nines_check *c)
{
    nines_check_defaults(c);
    c->interval_ms = d->tmpl.interval_ms;
    c->timeout_ms = d->tmpl.timeout_ms;
    c->failures_to_down = d->tmpl.failures_to_down;
    c->successes_to_up = d->tmpl.successes_to_up;
    c->quorum = d->tmpl.quorum;
    if ((d->tmpl.team != NULL && (c->team = cfg_strdup(x, d->tmpl.team)) == NULL)
        || (d->tmpl.severity != NULL
            && (c->severity = cfg_strdup(x, d->tmpl.severity)) == NULL))
        return -1;
    if (d->tmpl.locations_count == 0)
        return 0;
    c->locations = calloc(d->tmpl.locations_count, sizeof(*c->locations));
    if (c->locations == NULL) {
        x->nomem = 1;
        return -1;
    }
    for (size_t i = 0; i < d->tmpl.locations_count; i++) {
        c->locations[i] = cfg_strdup(x, d->tmpl.locations[i]);
        if (c->locations[i] == NULL)
            return -1;
        c->locations_count++;
    }
    return 0;
}

/* 1 after reporting key k when field f is one a push check cannot have. */
static int cfg_push_forbids(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *k)
{
    for (size_t i = 0; i < sizeof(cfg_push_not) / sizeof(cfg_push_not[0]); i++) {
        if (f == &cfg_check_fields[cfg_push_not[i].field]) {
            cfg_error(x, k, "'%s' does not apply to a push check: %s", f->key,
                      cfg_push_not[i].why);
            return 1;
        }
    }
    return 0;
}

/*
 * A quorum above the number of locations can never be met. Reported at the
 * value the check set itself (quorum, else locations); when both came from
 * the defaults, cfg_load_defaults has said so.
 */
static void cfg_check_quorum(struct cfg_ctx *x, const struct nines_check *c,
                             const struct yamltree_node **seen)
{
    const struct yamltree_node *at = seen[CFG_CK_QUORUM];

    if (at == NULL)
        at = seen[CFG_CK_LOCATIONS];
    if (at == NULL || c->quorum <= 0 || c->locations_count == 0
        || (size_t)c->quorum <= c->locations_count)
        return;
    cfg_error(x, at, "'quorum' (%d) is more than the %zu location%s the check runs at",
              c->quorum, c->locations_count, c->locations_count == 1 ? "" : "s");
}

/* Fills c (zeroed) from the defaults, then from one check mapping. */
static void cfg_load_check(struct cfg_ctx *x, const struct yamltree_node *map, size_t index,
                           struct cfg_defaults *d, struct nines_check *c)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_check_fields)] = { 0 };
    const struct cfg_kind_opts *ko = cfg_check_kind(map);
    int push = ko != NULL && ko->kind == NINES_KIND_PUSH;

    if (cfg_check_inherit(x, d, c) < 0)
        return;
    cfg_check_where(x, map, index);
    for (size_t i = 0; i < map->count; i++) {
        const struct cfg_field *f = cfg_lookup(cfg_check_fields,
                                               CFG_NFIELDS(cfg_check_fields), map->pairs[i].key);

        if (f == NULL)
            cfg_check_option(x, &map->pairs[i], ko, c);
        else if (push && cfg_push_forbids(x, f, map->pairs[i].key))
            continue;
        else if (cfg_apply(x, f, map->pairs[i].value, c) == 0)
            seen[f - cfg_check_fields] = map->pairs[i].value;
    }
    cfg_check_required(x, map, cfg_check_fields, CFG_NFIELDS(cfg_check_fields));
    if (ko != NULL) {
        cfg_check_required(x, map, ko->fields, ko->nfields);
        cfg_check_kind_rules(x, map, c);
    }
    if (!push) {
        cfg_check_timeout(x, c, seen, d);
        cfg_check_quorum(x, c, seen);
    }
    x->where[0] = '\0';
}

static int cfg_idref_cmp(const void *a, const void *b)
{
    const struct cfg_idref *x = a;
    const struct cfg_idref *y = b;
    int c = strcmp(x->id, y->id);

    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Reports every entry whose id (the char * at id_offset in each of the n
 * structs of size stride at base) an earlier entry already uses, at its
 * node; what names the id in the message ("check id").
 */
static void cfg_check_unique(struct cfg_ctx *x, const void *base, size_t stride,
                             size_t id_offset, size_t n, const struct yamltree_node **nodes,
                             const char *what)
{
    struct cfg_idref *refs = calloc(n ? n : 1, sizeof(*refs));
    size_t m = 0, first = 0;
    char ex[64];

    if (refs == NULL) {
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = *(char *const *)((const char *)base + i * stride + id_offset);

        if (id != NULL && nodes[i] != NULL) {
            refs[m].id = id;
            refs[m].node = nodes[i];
            refs[m].index = i;
            m++;
        }
    }
    qsort(refs, m, sizeof(*refs), cfg_idref_cmp);
    for (size_t i = 1; i < m; i++) {
        if (strcmp(refs[i].id, refs[first].id) != 0) {
            first = i;
            continue;
        }
        cfg_error_bare(x, refs[i].node, "duplicate %s '%s' (first defined at line %d)", what,
                       cfg_excerpt(refs[i].id, ex, sizeof(ex)), refs[first].node->line);
    }
    free(refs);
}

static int cfg_sha256_set(const unsigned char *h)
{
    unsigned char any = 0;

    for (size_t i = 0; i < 32; i++)
        any |= h[i];
    return any != 0;
}

/*
 * Two push checks with one token could not be told apart by their pings.
 * maps[i] is the mapping checks[i] was read from.
 */
static void cfg_check_push_tokens(struct cfg_ctx *x, const struct nines_check *checks,
                                  size_t n, const struct yamltree_node **maps)
{
    char ex[64];

    for (size_t i = 0; i < n; i++) {
        const struct nines_check *a = &checks[i];

        if (a->kind != NINES_KIND_PUSH || !cfg_sha256_set(a->push.token_sha256))
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct nines_check *b = &checks[j];

            if (b->kind != NINES_KIND_PUSH
                || memcmp(a->push.token_sha256, b->push.token_sha256, 32) != 0)
                continue;
            cfg_error_bare(x, yamltree_get(maps[i], "token"), "check '%s': 'token' is also the "
                           "token of check '%s' (line %d): give each job a token of its own",
                           a->id ? a->id : "?", cfg_excerpt(b->id ? b->id : "?", ex, sizeof(ex)),
                           yamltree_get(maps[j], "token")->line);
            break;
        }
    }
}

static void cfg_load_checks(struct cfg_ctx *x, const struct yamltree_node *seq,
                            struct cfg_defaults *d, struct nines_config *cfg)
{
    const struct yamltree_node **id_nodes, **maps;
    char got[96];

    if (seq->count == 0)
        return;
    cfg->checks = calloc(seq->count, sizeof(*cfg->checks));
    id_nodes = calloc(seq->count, sizeof(*id_nodes));
    maps = calloc(seq->count, sizeof(*maps));
    if (cfg->checks == NULL || id_nodes == NULL || maps == NULL) {
        free(id_nodes);
        free(maps);
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i < seq->count && !x->nomem; i++) {
        const struct yamltree_node *item = seq->items[i];

        if (item->type != YAMLTREE_MAPPING) {
            cfg_error_bare(x, item, "checks[%zu]: expected a mapping, got %s", i,
                           cfg_got(item, got, sizeof(got)));
            continue;
        }
        id_nodes[cfg->checks_count] = yamltree_get(item, "id");
        maps[cfg->checks_count] = item;
        cfg_load_check(x, item, i, d, &cfg->checks[cfg->checks_count++]);
    }
    cfg_check_unique(x, cfg->checks, sizeof(*cfg->checks), offsetof(struct nines_check, id),
                     cfg->checks_count, id_nodes, "check id");
    cfg_check_push_tokens(x, cfg->checks, cfg->checks_count, maps);
    free(id_nodes);
    free(maps);
}

/* ---- services, maintenance, api ------------------------------------------ */

/* Entries of a list value: a sequence's items, or a single scalar. */
static size_t cfg_list_len(const struct yamltree_node *list)
{
    if (list == NULL || list->type == YAMLTREE_MAPPING)
        return 0;
    return list->type == YAMLTREE_SEQUENCE ? list->count : 1;
}

static const struct yamltree_node *cfg_list_item(const struct yamltree_node *list, size_t i)
{
    return list->type == YAMLTREE_SEQUENCE ? list->items[i] : list;
}

/* The index of the first entry of list with the text of entry i (i when none before it). */
static size_t cfg_list_first(const struct yamltree_node *list, size_t i)
{
    const struct yamltree_node *e = cfg_list_item(list, i);

    for (size_t j = 0; j < i; j++) {
        const struct yamltree_node *o = cfg_list_item(list, j);

        if (o->type == YAMLTREE_SCALAR && o->len == e->len && strcmp(o->value, e->value) == 0)
            return j;
    }
    return i;
}

/* 1 when list (a scalar or a sequence) holds a scalar with the text s. */
static int cfg_list_has(const struct yamltree_node *list, const char *s)
{
    for (size_t i = 0; i < cfg_list_len(list); i++) {
        const struct yamltree_node *e = cfg_list_item(list, i);

        if (e->type == YAMLTREE_SCALAR && strlen(e->value) == e->len && strcmp(e->value, s) == 0)
            return 1;
    }
    return 0;
}

/* A copy of the n strings of v (for critical: every check). */
static char **cfg_strv_dup(struct cfg_ctx *x, char *const *v, size_t n)
{
    char **d = calloc(n ? n : 1, sizeof(*d));

    if (d == NULL) {
        x->nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        d[i] = cfg_strdup(x, v[i]);
        if (d[i] == NULL) {
            cfg_free_strv(d, i);
            return NULL;
        }
    }
    return d;
}

static void cfg_load_service(struct cfg_ctx *x, const struct yamltree_node *map,
                             struct nines_service_cfg *svc)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_service_fields)] = { 0 };
    const struct yamltree_node *checks, *crit;
    char ex[64];

    svc->drill_stable_ms = 5 * 60000;
    svc->drill_timeout_ms = 4 * CFG_HOUR_MS;
    cfg_walk(x, map, cfg_service_fields, CFG_NFIELDS(cfg_service_fields), svc, seen, NULL);
    cfg_check_required(x, map, cfg_service_fields, CFG_NFIELDS(cfg_service_fields));
    checks = seen[CFG_SV_CHECKS];
    crit = seen[CFG_SV_CRITICAL];
    if (seen[CFG_SV_DRILL_SCHEDULE] != NULL) {
        const struct yamltree_node *ds = seen[CFG_SV_DRILL_SCHEDULE];
        const struct yamltree_node *dseen[CFG_NFIELDS(cfg_drill_schedule_fields)] = { 0 };
        char got[96];

        if (ds->type != YAMLTREE_MAPPING) {
            cfg_error(x, ds, "'drill_schedule': expected a mapping with 'days', 'at' and "
                      "'timezone', got %s", cfg_got(ds, got, sizeof(got)));
        } else {
            cfg_walk(x, ds, cfg_drill_schedule_fields, CFG_NFIELDS(cfg_drill_schedule_fields),
                     svc, dseen, NULL);
            cfg_check_required(x, ds, cfg_drill_schedule_fields,
                               CFG_NFIELDS(cfg_drill_schedule_fields));
            if (svc->drill_timezone == NULL)
                cfg_set_default_str(x, &svc->drill_timezone, "UTC");
        }
    }
    for (size_t i = 0; checks != NULL && i < cfg_list_len(seen[CFG_SV_CANARIES]); i++) {
        const struct yamltree_node *e = cfg_list_item(seen[CFG_SV_CANARIES], i);

        if (cfg_is_id(e) && !cfg_list_has(seen[CFG_SV_CHECKS], e->value))
            cfg_error(x, e, "'canaries': '%s' is not one of the service's checks",
                      cfg_excerpt(e->value, ex, sizeof(ex)));
    }
    if (checks != NULL && checks->type == YAMLTREE_SEQUENCE && checks->count == 0)
        cfg_error(x, checks, "'checks' must list at least one check");
    if (crit != NULL && crit->type == YAMLTREE_SEQUENCE && crit->count == 0)
        cfg_error(x, crit, "'critical' must not be empty: leave it out and every check is "
                  "critical");
    for (size_t i = 0; checks != NULL && i < cfg_list_len(crit); i++) {
        const struct yamltree_node *e = cfg_list_item(crit, i);

        if (cfg_is_id(e) && !cfg_list_has(checks, e->value))
            cfg_error(x, e, "'critical': '%s' is not one of the service's checks",
                      cfg_excerpt(e->value, ex, sizeof(ex)));
    }
    if (svc->name == NULL && svc->id != NULL)
        svc->name = cfg_strdup(x, svc->id);
    if (crit == NULL && svc->checks_count > 0) {
        svc->critical = cfg_strv_dup(x, svc->checks, svc->checks_count);
        if (svc->critical != NULL)
            svc->critical_count = svc->checks_count;
    }
}

/* A list section: how its entries are named, and where their unique id is. */
struct cfg_list_kind {
    size_t stride;          /* of the struct each entry is read into */
    const char *noun;       /* "service": names an entry with a good id */
    const char *section;    /* "services": names one by index */
    const char *key;        /* the key of the unique id, "id" or "name"; NULL: none */
    size_t id_offset;       /* of the id (char *) in the struct */
    void (*load)(struct cfg_ctx *, const struct yamltree_node *, void *);
};

/*
 * Reads each mapping of seq into a zeroed struct in a new array (returned;
 * *count entries) with lk->load(); entries that are not mappings are
 * reported. Then ids must be unique.
 */
static void *cfg_load_list(struct cfg_ctx *x, const struct yamltree_node *seq,
                           const struct cfg_list_kind *lk, size_t *count)
{
    const struct yamltree_node **id_nodes;
    size_t stride = lk->stride;
    char got[96], what[32];
    char *arr;

    if (seq->count == 0)
        return NULL;
    arr = calloc(seq->count, stride);
    id_nodes = calloc(seq->count, sizeof(*id_nodes));
    if (arr == NULL || id_nodes == NULL) {
        free(arr);
        free(id_nodes);
        x->nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < seq->count && !x->nomem; i++) {
        const struct yamltree_node *item = seq->items[i];

        if (item->type != YAMLTREE_MAPPING) {
            cfg_error_bare(x, item, "%s[%zu]: expected a mapping, got %s", lk->section, i,
                           cfg_got(item, got, sizeof(got)));
            continue;
        }
        cfg_entry_where(x, item, lk->noun, lk->section, lk->key, i);
        id_nodes[*count] = lk->key != NULL ? yamltree_get(item, lk->key) : NULL;
        lk->load(x, item, arr + *count * stride);
        (*count)++;
        x->where[0] = '\0';
    }
    snprintf(what, sizeof(what), "%s %s", lk->noun, lk->key != NULL ? lk->key : "");
    if (lk->key != NULL)
        cfg_check_unique(x, arr, stride, lk->id_offset, *count, id_nodes, what);
    free(id_nodes);
    return arr;
}

static void cfg_load_service_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    cfg_load_service(x, map, p);
}

/* The first of two nodes in the file; either may be NULL. */
static const struct yamltree_node *cfg_earlier(const struct yamltree_node *a,
                                               const struct yamltree_node *b)
{
    if (a == NULL || b == NULL)
        return a != NULL ? a : b;
    return cfg_later(a, b) == a ? b : a;
}

/* Reports, at map, the fields from..to (indexes of cfg_maint_fields) it lacks. */
static void cfg_maint_missing(struct cfg_ctx *x, const struct yamltree_node *map,
                              const struct yamltree_node **seen, int from, int to)
{
    for (int i = from; i <= to; i++) {
        if (seen[i] == NULL)
            cfg_error_bare(x, map, "%s is missing required field '%s'", x->where,
                           cfg_maint_fields[i].key);
    }
}

/* One-off (start, end) or recurring (days, at, duration, timezone): one of them, whole. */
static void cfg_maint_rules(struct cfg_ctx *x, const struct yamltree_node *map,
                            const struct yamltree_node **seen)
{
    const struct yamltree_node *once = cfg_earlier(seen[CFG_MT_START], seen[CFG_MT_END]);
    const struct yamltree_node *recur = NULL;
    char a[64], b[64];
    int64_t start, end;

    for (int i = CFG_MT_DAYS; i <= CFG_MT_TIMEZONE; i++)
        recur = cfg_earlier(recur, seen[i]);
    if (once != NULL && recur != NULL) {
        cfg_error(x, cfg_later(once, recur), "give either 'start' and 'end' (a one-off window) "
                  "or 'days', 'at' and 'duration' (a recurring one), not both");
    } else if (once != NULL) {
        cfg_maint_missing(x, map, seen, CFG_MT_START, CFG_MT_END);
        if (seen[CFG_MT_START] != NULL && seen[CFG_MT_END] != NULL
            && seen[CFG_MT_START]->type == YAMLTREE_SCALAR
            && seen[CFG_MT_END]->type == YAMLTREE_SCALAR
            && cfg_parse_timestamp(seen[CFG_MT_START]->value, &start) == 0
            && cfg_parse_timestamp(seen[CFG_MT_END]->value, &end) == 0 && end <= start)
            cfg_error(x, seen[CFG_MT_END], "'end' (%s) must be after 'start' (%s)",
                      cfg_excerpt(seen[CFG_MT_END]->value, a, sizeof(a)),
                      cfg_excerpt(seen[CFG_MT_START]->value, b, sizeof(b)));
    } else if (recur != NULL) {
        cfg_maint_missing(x, map, seen, CFG_MT_DAYS, CFG_MT_DURATION);
    } else {
        cfg_error(x, map, "needs 'start' and 'end' (a one-off window) or 'days', 'at' and "
                  "'duration' (a recurring one)");
    }
}

static void cfg_load_maint_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_maint_fields)] = { 0 };
    struct nines_maint_cfg *m = p;

    cfg_walk(x, map, cfg_maint_fields, CFG_NFIELDS(cfg_maint_fields), m, seen, NULL);
    cfg_check_required(x, map, cfg_maint_fields, CFG_NFIELDS(cfg_maint_fields));
    cfg_maint_rules(x, map, seen);
    if (m->timezone == NULL)
        cfg_set_default_str(x, &m->timezone, "UTC");
}

static const struct cfg_list_kind cfg_services_list = {
    sizeof(struct nines_service_cfg), "service", "services", "id",
    offsetof(struct nines_service_cfg, id), cfg_load_service_cb,
};

static const struct cfg_list_kind cfg_maint_list = {
    sizeof(struct nines_maint_cfg), "maintenance", "maintenance", "id",
    offsetof(struct nines_maint_cfg, id), cfg_load_maint_cb,
};

/* ---- receivers and routes ------------------------------------------------ */

/* "kind email" or "kinds webhook, pagerduty" for the kinds of mask. */
static const char *cfg_receiver_kind_names(unsigned mask, char *buf, size_t size)
{
    size_t o = 0;
    int n = 0;

    buf[0] = '\0';
    for (int i = 0; cfg_receiver_kinds[i] != NULL; i++)
        n += (mask & CFG_RK(i)) != 0;
    o += (size_t)snprintf(buf, size, "kind%s", n > 1 ? "s" : "");
    for (int i = 0, k = 0; cfg_receiver_kinds[i] != NULL && o < size; i++) {
        if (mask & CFG_RK(i))
            o += (size_t)snprintf(buf + o, size - o, "%s%s", k++ ? ", " : " ",
                                  cfg_receiver_kinds[i]);
    }
    return buf;
}

/* The kind bit a receiver mapping declares, looked up before its fields; 0 if none. */
static unsigned cfg_receiver_kind(const struct yamltree_node *map)
{
    const struct yamltree_node *v = yamltree_get(map, "kind");

    for (int i = 0; v != NULL && v->type == YAMLTREE_SCALAR && cfg_receiver_kinds[i]; i++) {
        if (strlen(v->value) == v->len && strcmp(v->value, cfg_receiver_kinds[i]) == 0)
            return CFG_RK(i);
    }
    return 0;
}

/* Applies the pairs of a receiver mapping; a field its kind does not have is an error. */
static void cfg_receiver_walk(struct cfg_ctx *x, const struct yamltree_node *map, unsigned kind,
                              struct nines_receiver_cfg *r, const struct yamltree_node **seen)
{
    const struct cfg_field *tab = cfg_receiver_fields;
    size_t n = CFG_NFIELDS(cfg_receiver_fields);
    char kinds[96], ex[64];

    for (size_t i = 0; i < map->count; i++) {
        const struct yamltree_node *k = map->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(tab, n, k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        if (f != NULL && kind != 0 && !(cfg_receiver_rules_of[f - tab].allowed & kind)) {
            cfg_error(x, k, "'%s' is only for %s", f->key,
                      cfg_receiver_kind_names(cfg_receiver_rules_of[f - tab].allowed, kinds,
                                              sizeof(kinds)));
        } else if (f != NULL) {
            seen[f - tab] = map->pairs[i].value;
            cfg_apply(x, f, map->pairs[i].value, r);
        } else if (checkopt_one_of(k->value, cfg_secret_words)) {
            cfg_error(x, k, "unknown key '%s': the configuration never holds a secret, %s",
                      cfg_excerpt(k->value, ex, sizeof(ex)), CFG_HINT_SECRET_SOURCE);
        } else {
            cfg_suggest(k->value, tab, n, 0, &best, &best_d);
            cfg_unknown_key(x, k, best);
        }
    }
}

/* url by kind: smtp[s]://host for email, http(s) otherwise; no credentials in it. */
static void cfg_receiver_url(struct cfg_ctx *x, unsigned kind, const struct yamltree_node *v,
                             const char *url)
{
    const struct cfg_field *f = &cfg_receiver_fields[CFG_RC_URL];
    size_t skip = strncasecmp(url, "smtps://", 8) == 0 ? 8 : 7;
    char got[96];

    if (kind != CFG_RK_EMAIL) {
        cfg_check_url(x, f, v, url);
        return;
    }
    if (strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0)
        cfg_error(x, v, "'url' must start with smtp:// or smtps:// (kind email), got %s",
                  cfg_got(v, got, sizeof(got)));
    else if (url[skip] == '\0' || strchr("/?#:", url[skip]) != NULL)
        cfg_error(x, v, "'url' has no host, got %s", cfg_got(v, got, sizeof(got)));
    else if (strchr(url, '@') != NULL)
        cfg_error(x, v, "'url' must not hold a user or password: use 'user' and 'secret_env' "
                  "or 'secret_file'");
}

/* What the receiver's kind requires, and the defaults that depend on it. */
static void cfg_receiver_rules(struct cfg_ctx *x, const struct yamltree_node *map,
                               unsigned kind, const struct yamltree_node **seen,
                               struct nines_receiver_cfg *r)
{
    const struct yamltree_node *env = seen[CFG_RC_ENV], *file = seen[CFG_RC_FILE];

    if (kind == 0)
        return;                     /* no good kind: reported */
    for (size_t i = 0; i < CFG_NFIELDS(cfg_receiver_fields); i++) {
        if ((cfg_receiver_rules_of[i].required & kind) && seen[i] == NULL)
            cfg_error_bare(x, map, "%s is missing required field '%s'", x->where,
                           cfg_receiver_fields[i].key);
    }
    if (env != NULL && file != NULL)
        cfg_error(x, cfg_later(env, file), "give either 'secret_env' or 'secret_file', "
                  "not both");
    if (seen[CFG_RC_HOOK_ENV] != NULL && seen[CFG_RC_HOOK_FILE] != NULL)
        cfg_error(x, cfg_later(seen[CFG_RC_HOOK_ENV], seen[CFG_RC_HOOK_FILE]),
                  "give either 'webhook_secret_env' or 'webhook_secret_file', not both");
    for (size_t i = 0; i < CFG_NFIELDS(cfg_receiver_defaults); i++) {
        if (cfg_receiver_defaults[i].kind != kind)
            continue;
        if (env == NULL && file == NULL)
            cfg_error(x, map, "needs 'secret_env' or 'secret_file' (where to read the %s "
                      "from)", cfg_receiver_defaults[i].secret);
        if (r->url == NULL && seen[CFG_RC_URL] == NULL)
            cfg_set_default_str(x, &r->url, cfg_receiver_defaults[i].url);
    }
    if (r->url != NULL && seen[CFG_RC_URL] != NULL)
        cfg_receiver_url(x, kind, seen[CFG_RC_URL], r->url);
}

static void cfg_load_receiver_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_receiver_fields)] = { 0 };
    struct nines_receiver_cfg *r = p;
    unsigned kind = cfg_receiver_kind(map);

    r->starttls = 1;
    cfg_receiver_walk(x, map, kind, r, seen);
    cfg_check_required(x, map, cfg_receiver_fields, CFG_NFIELDS(cfg_receiver_fields));
    cfg_receiver_rules(x, map, kind, seen, r);
}

static void cfg_load_route_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_route_fields)] = { 0 };
    const struct yamltree_node *rcv;
    struct nines_route_cfg *r = p;

    r->group_wait_ms = 10000;
    r->group_interval_ms = 5 * 60000;
    r->repeat_interval_ms = 4 * CFG_HOUR_MS;
    cfg_walk(x, map, cfg_route_fields, CFG_NFIELDS(cfg_route_fields), r, seen, NULL);
    cfg_check_required(x, map, cfg_route_fields, CFG_NFIELDS(cfg_route_fields));
    rcv = seen[CFG_RT_RECEIVERS];
    if (rcv != NULL && rcv->type == YAMLTREE_SEQUENCE && rcv->count == 0)
        cfg_error(x, rcv, "'receivers' must list at least one receiver");
}

static const struct cfg_list_kind cfg_receivers_list = {
    sizeof(struct nines_receiver_cfg), "receiver", "receivers", "name",
    offsetof(struct nines_receiver_cfg, name), cfg_load_receiver_cb,
};

static const struct cfg_list_kind cfg_routes_list = {
    sizeof(struct nines_route_cfg), "route", "routes", NULL, 0, cfg_load_route_cb,
};

/* ---- alerting settings and customers --------------------------------------- */

static void cfg_load_burn_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_burn_fields)] = { 0 };
    struct nines_burn_rule_cfg *b = p;

    cfg_walk(x, map, cfg_burn_fields, CFG_NFIELDS(cfg_burn_fields), b, seen, NULL);
    cfg_check_required(x, map, cfg_burn_fields, CFG_NFIELDS(cfg_burn_fields));
    if (seen[CFG_BR_SHORT] != NULL && b->short_ms > 0 && b->long_ms > 0
        && b->short_ms >= b->long_ms)
        cfg_error(x, seen[CFG_BR_SHORT], "'short' must be shorter than 'long'");
}

/* The multi-window, multi-burn-rate defaults of the SRE workbook. */
static void cfg_burn_defaults(struct cfg_ctx *x, struct nines_alerting_cfg *a)
{
    static const struct {
        int64_t long_ms, short_ms;
        double factor;
        const char *severity;
    } d[] = { { CFG_HOUR_MS, 5 * 60000, 14.4, "page" },
              { 6 * CFG_HOUR_MS, 30 * 60000, 6, "page" },
              { 3 * CFG_DAY_MS, 0, 1, "ticket" } };

    a->burn_rates = calloc(CFG_NFIELDS(d), sizeof(*a->burn_rates));
    if (a->burn_rates == NULL) {
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i < CFG_NFIELDS(d); i++) {
        a->burn_rates[i].long_ms = d[i].long_ms;
        a->burn_rates[i].short_ms = d[i].short_ms;
        a->burn_rates[i].factor = d[i].factor;
        a->burn_rates[i].severity = cfg_strdup(x, d[i].severity);
        a->burn_rates_count++;
    }
}

static void cfg_load_alerting(struct cfg_ctx *x, const struct yamltree_node *map,
                              struct nines_alerting_cfg *a)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_alerting_fields)] = { 0 };
    const struct yamltree_node *burn;

    snprintf(x->where, sizeof(x->where), "alerting");
    cfg_walk(x, map, cfg_alerting_fields, CFG_NFIELDS(cfg_alerting_fields), a, seen, NULL);
    burn = seen[CFG_AL_BURN];
    if (burn != NULL)
        a->burn_rates = cfg_load_sublist(x, burn, sizeof(*a->burn_rates), "burn_rates",
                                         CFG_MAX_BURN, cfg_load_burn_cb, &a->burn_rates_count);
    else
        cfg_burn_defaults(x, a);
    x->where[0] = '\0';
}

/* public_url from the API's address when not given: a link that works on
 * this host at least. */
static void cfg_alerting_defaults(struct cfg_ctx *x, struct nines_config *cfg)
{
    struct nines_alerting_cfg *a = &cfg->alerting;
    const char *l = cfg->api.listen != NULL ? cfg->api.listen : "127.0.0.1:8080";
    char url[300];

    if (a->public_url != NULL)
        return;
    if (l[0] == ':')
        snprintf(url, sizeof(url), "http://localhost%s", l);
    else
        snprintf(url, sizeof(url), "http://%s", l);
    a->public_url = cfg_strdup(x, url);
}

static void cfg_load_credit_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_credit_fields)] = { 0 };

    cfg_walk(x, map, cfg_credit_fields, CFG_NFIELDS(cfg_credit_fields), p, seen, NULL);
    cfg_check_required(x, map, cfg_credit_fields, CFG_NFIELDS(cfg_credit_fields));
}

/* Tiers by strictly decreasing 'below', credits not decreasing: the worse the
 * availability, the larger the credit. */
static void cfg_credit_order(struct cfg_ctx *x, const struct yamltree_node *seq,
                             const struct nines_sla_cfg *sla)
{
    for (size_t i = 1; i < sla->credits_count && i < seq->count; i++) {
        const struct nines_credit_tier *a = &sla->credits[i - 1], *b = &sla->credits[i];

        if (!(a->below_pct > 0) || !(b->below_pct > 0))
            continue;               /* reported already */
        if (b->below_pct >= a->below_pct)
            cfg_error(x, seq->items[i], "credits[%zu]: 'below' must be lower than the tier "
                      "before it (%g)", i, a->below_pct);
        else if (b->credit_pct < a->credit_pct)
            cfg_error(x, seq->items[i], "credits[%zu]: 'credit' must not be smaller than the "
                      "tier before it (%g)", i, a->credit_pct);
    }
}

static void cfg_load_sla_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_sla_fields)] = { 0 };
    const struct yamltree_node *hseen[CFG_NFIELDS(cfg_hours_fields)] = { 0 };
    const struct yamltree_node *hours, *cred;
    struct nines_sla_cfg *sla = p;
    char got[96];

    cfg_walk(x, map, cfg_sla_fields, CFG_NFIELDS(cfg_sla_fields), sla, seen, NULL);
    cfg_check_required(x, map, cfg_sla_fields, CFG_NFIELDS(cfg_sla_fields));
    if (sla->name == NULL)
        cfg_set_default_str(x, &sla->name, "sla");
    hours = seen[CFG_SL_HOURS];
    if (hours != NULL && hours->type != YAMLTREE_MAPPING) {
        cfg_error(x, hours, "'business_hours': expected a mapping with 'days', 'from' and "
                  "'to', got %s", cfg_got(hours, got, sizeof(got)));
    } else if (hours != NULL) {
        cfg_walk(x, hours, cfg_hours_fields, CFG_NFIELDS(cfg_hours_fields), sla, hseen, NULL);
        cfg_check_required(x, hours, cfg_hours_fields, CFG_NFIELDS(cfg_hours_fields));
        if (hseen[CFG_BH_FROM] != NULL && hseen[CFG_BH_TO] != NULL
            && sla->business_to_minute <= sla->business_from_minute)
            cfg_error(x, hseen[CFG_BH_TO], "'business_hours': 'to' must be after 'from'");
    }
    cred = seen[CFG_SL_CREDITS];
    if (cred != NULL) {
        sla->credits = cfg_load_sublist(x, cred, sizeof(*sla->credits), "credits",
                                        CFG_MAX_TIERS, cfg_load_credit_cb,
                                        &sla->credits_count);
        if (cred->type == YAMLTREE_SEQUENCE)
            cfg_credit_order(x, cred, sla);
    }
}

static void cfg_load_customer_cb(struct cfg_ctx *x, const struct yamltree_node *map, void *p)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_customer_fields)] = { 0 };
    struct nines_customer_cfg *c = p;
    const struct yamltree_node *slas;
    char ex[64];

    c->report_day = 1;
    c->report_hour = 6;
    cfg_walk(x, map, cfg_customer_fields, CFG_NFIELDS(cfg_customer_fields), c, seen, NULL);
    cfg_check_required(x, map, cfg_customer_fields, CFG_NFIELDS(cfg_customer_fields));
    if (c->name == NULL && c->id != NULL)
        c->name = cfg_strdup(x, c->id);
    if (c->timezone == NULL)
        cfg_set_default_str(x, &c->timezone, "UTC");
    slas = seen[CFG_CU_SLAS];
    if (slas == NULL)
        return;
    c->slas = cfg_load_sublist(x, slas, sizeof(*c->slas), "slas", CFG_MAX_SLAS, cfg_load_sla_cb,
                               &c->slas_count);
    /* an SLA's services are some of the customer's */
    for (size_t i = 0; i < c->slas_count && slas->type == YAMLTREE_SEQUENCE; i++) {
        const struct yamltree_node *list = yamltree_get(slas->items[i], "services");

        for (size_t j = 0; j < cfg_list_len(list) && seen[CFG_CU_SERVICES] != NULL; j++) {
            const struct yamltree_node *e = cfg_list_item(list, j);

            if (cfg_is_id(e) && !cfg_list_has(seen[CFG_CU_SERVICES], e->value))
                cfg_error(x, e, "slas[%zu]: 'services': '%s' is not one of the customer's "
                          "services", i, cfg_excerpt(e->value, ex, sizeof(ex)));
        }
    }
}

static const struct cfg_list_kind cfg_customers_list = {
    sizeof(struct nines_customer_cfg), "customer", "customers", "id",
    offsetof(struct nines_customer_cfg, id), cfg_load_customer_cb,
};

/* 1 when v is a plain integer in [min, max] (a limit that loaded). */
static int cfg_int_ok(const struct yamltree_node *v, int64_t min, int64_t max)
{
    int64_t n;

    return v->type == YAMLTREE_SCALAR && v->plain && cfg_parse_int(v->value, &n) == 0
           && n >= min && n <= max;
}

/* api: tokens: [{name, role, hash}]; names and hashes unique. */
static void cfg_load_tokens(struct cfg_ctx *x, const struct yamltree_node *seq,
                            struct nines_api_cfg *api)
{
    const struct yamltree_node *names[CFG_MAX_TOKENS], *hashes[CFG_MAX_TOKENS];
    char got[96], ex[64];

    if (seq->count > CFG_MAX_TOKENS) {
        cfg_error(x, seq, "'tokens': at most %d tokens, got %zu", CFG_MAX_TOKENS, seq->count);
        return;
    }
    if (seq->count == 0)
        return;
    api->tokens = calloc(seq->count, sizeof(*api->tokens));
    if (api->tokens == NULL) {
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i < seq->count; i++) {
        const struct yamltree_node *item = seq->items[i];
        const struct yamltree_node *seen[CFG_NFIELDS(cfg_token_fields)] = { 0 };
        const struct yamltree_node *name;
        size_t k = api->tokens_count;

        if (item->type != YAMLTREE_MAPPING) {
            cfg_error_bare(x, item, "api: tokens[%zu]: expected a mapping with 'name', 'role' "
                           "and 'hash', got %s", i, cfg_got(item, got, sizeof(got)));
            continue;
        }
        name = yamltree_get(item, "name");
        if (name != NULL && name->type == YAMLTREE_SCALAR && strlen(name->value) == name->len
            && cfg_valid_name(name->value, "_.@-"))
            snprintf(x->where, sizeof(x->where), "api: token '%s'", name->value);
        else
            snprintf(x->where, sizeof(x->where), "api: tokens[%zu]", i);
        cfg_walk(x, item, cfg_token_fields, CFG_NFIELDS(cfg_token_fields), &api->tokens[k],
                 seen, CFG_HINT_TOKEN_HASH);
        cfg_check_required(x, item, cfg_token_fields, CFG_NFIELDS(cfg_token_fields));
        names[k] = seen[CFG_TK_NAME];
        hashes[k] = seen[CFG_TK_HASH];
        api->tokens_count++;
        for (size_t j = 0; j < k && cfg_sha256_set(api->tokens[k].sha256); j++) {
            if (memcmp(api->tokens[j].sha256, api->tokens[k].sha256, 32) == 0) {
                cfg_error(x, hashes[k], "'hash' is also the hash of token '%s' (line %d): "
                          "give each holder a token of their own",
                          cfg_excerpt(api->tokens[j].name ? api->tokens[j].name : "?", ex,
                                      sizeof(ex)), hashes[j]->line);
                break;
            }
        }
    }
    snprintf(x->where, sizeof(x->where), "api");
    cfg_check_unique(x, api->tokens, sizeof(*api->tokens), offsetof(struct nines_token_cfg, name),
                     api->tokens_count, names, "token name");
}

static void cfg_load_api(struct cfg_ctx *x, const struct yamltree_node *map,
                         struct nines_api_cfg *api)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_api_fields)] = { 0 };
    const struct yamltree_node *per_ip, *conns;

    snprintf(x->where, sizeof(x->where), "api");
    cfg_walk(x, map, cfg_api_fields, CFG_NFIELDS(cfg_api_fields), api, seen,
             CFG_HINT_TOKEN_HASH);
    if (seen[CFG_AP_TOKENS] != NULL
        && cfg_want_type(x, &cfg_api_fields[CFG_AP_TOKENS], seen[CFG_AP_TOKENS],
                         YAMLTREE_SEQUENCE) == 0)
        cfg_load_tokens(x, seen[CFG_AP_TOKENS], api);
    if ((seen[CFG_AP_TLS_CERT] == NULL) != (seen[CFG_AP_TLS_KEY] == NULL))
        cfg_error(x, seen[CFG_AP_TLS_CERT] ? seen[CFG_AP_TLS_CERT] : seen[CFG_AP_TLS_KEY],
                  "give both 'tls_cert' and 'tls_key' (HTTPS), or neither");
    per_ip = seen[CFG_AP_PER_IP];
    conns = seen[CFG_AP_CONNS];
    if (per_ip == NULL && api->per_ip_limit > api->connection_limit)
        api->per_ip_limit = api->connection_limit;
    else if (per_ip != NULL && api->per_ip_limit > api->connection_limit
             && cfg_int_ok(per_ip, cfg_api_fields[CFG_AP_PER_IP].min,
                           cfg_api_fields[CFG_AP_PER_IP].max)
             && (conns == NULL || cfg_int_ok(conns, cfg_api_fields[CFG_AP_CONNS].min,
                                             cfg_api_fields[CFG_AP_CONNS].max)))
        cfg_error(x, per_ip, "'per_ip_limit' (%d) must not exceed 'connection_limit' (%d)",
                  api->per_ip_limit, api->connection_limit);
    x->where[0] = '\0';
}

/* Sorted ids, for finding references. */
static int cfg_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct cfg_idset {
    const char **ids;
    size_t count;
};

/* The ids (char * at id_offset) of n structs of size stride at base. */
static int cfg_idset_make(struct cfg_ctx *x, struct cfg_idset *set, const void *base,
                          size_t stride, size_t id_offset, size_t n)
{
    set->count = 0;
    set->ids = calloc(n ? n : 1, sizeof(*set->ids));
    if (set->ids == NULL) {
        x->nomem = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = *(char *const *)((const char *)base + i * stride + id_offset);

        if (id != NULL)
            set->ids[set->count++] = id;
    }
    qsort(set->ids, set->count, sizeof(*set->ids), cfg_str_cmp);
    return 0;
}

static int cfg_idset_has(const struct cfg_idset *set, const char *id)
{
    return bsearch(&id, set->ids, set->count, sizeof(*set->ids), cfg_str_cmp) != NULL;
}

/*
 * Reports each good id in the list value of key that set lacks (once per
 * id); noun and attr name what it should be ("no receiver has name 'x'").
 */
static void cfg_refs_exist(struct cfg_ctx *x, const struct yamltree_node *map, const char *key,
                           const struct cfg_idset *set, const char *noun, const char *attr)
{
    const struct yamltree_node *list = map != NULL && map->type == YAMLTREE_MAPPING
                                       ? yamltree_get(map, key) : NULL;
    char ex[64];

    for (size_t i = 0; i < cfg_list_len(list); i++) {
        const struct yamltree_node *e = cfg_list_item(list, i);

        if (!cfg_is_id(e) || cfg_list_first(list, i) != i || cfg_idset_has(set, e->value))
            continue;
        cfg_error(x, e, "'%s': no %s has %s '%s'", key, noun, attr,
                  cfg_excerpt(e->value, ex, sizeof(ex)));
    }
}

/* The index of the first check with id, or -1 (refs sorted by id, then index). */
static long cfg_dep_lookup(const struct cfg_idref *refs, size_t n, const char *id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(refs[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(refs[lo].id, id) == 0 ? (long)refs[lo].index : -1;
}

/* A check's own depends_on entries: each must name another check that exists. */
static void cfg_deps_exist(struct cfg_ctx *x, const struct yamltree_node *map,
                           const struct nines_check *c, const struct cfg_idset *checks)
{
    const struct yamltree_node *list = yamltree_get(map, "depends_on");
    char ex[64];

    for (size_t i = 0; i < cfg_list_len(list); i++) {
        const struct yamltree_node *e = cfg_list_item(list, i);

        if (!cfg_is_id(e) || cfg_list_first(list, i) != i)
            continue;
        if (c->id != NULL && strcmp(c->id, e->value) == 0)
            cfg_error(x, e, "'depends_on': a check cannot depend on itself");
        else if (!cfg_idset_has(checks, e->value))
            cfg_error(x, e, "'depends_on': no check has id '%s'",
                      cfg_excerpt(e->value, ex, sizeof(ex)));
    }
}

/* The state of a depth-first walk of the dependencies. */
struct cfg_deps {
    const struct nines_check *checks;
    const struct yamltree_node **maps;  /* the mapping each check was read from */
    size_t *index;                      /* its index in the checks sequence */
    struct cfg_idref *refs;             /* ids sorted, for cfg_dep_lookup */
    size_t nrefs;
    unsigned char *state;               /* 0 unseen, 1 on the stack, 2 done */
    size_t *stack, *edge, *pos;         /* check, next depends_on entry; stack position */
};

/* The edge u -> depends_on[j] closes a cycle through the stack from pos[v] to the top. */
static void cfg_deps_cycle(struct cfg_ctx *x, const struct cfg_deps *g, size_t top, size_t u,
                           size_t j, size_t v)
{
    const struct yamltree_node *list = yamltree_get(g->maps[u], "depends_on");
    char path[160];
    size_t o = 0;

    for (size_t i = g->pos[v]; i <= top && o < sizeof(path); i++)
        o += (size_t)snprintf(path + o, sizeof(path) - o, "%s -> ", g->checks[g->stack[i]].id);
    if (o < sizeof(path))
        snprintf(path + o, sizeof(path) - o, "%s", g->checks[v].id);
    else
        memcpy(path + sizeof(path) - 4, "...", 4);
    cfg_check_where(x, g->maps[u], g->index[u]);
    cfg_error(x, cfg_list_item(list, j), "'depends_on': '%s' closes a dependency cycle: %s",
              g->checks[v].id, path);
}

/* Walks the dependencies from check s, reporting every edge that closes a cycle. */
static void cfg_deps_walk(struct cfg_ctx *x, struct cfg_deps *g, size_t s)
{
    size_t top = 0;

    g->stack[0] = s;
    g->edge[0] = 0;
    g->pos[s] = 0;
    g->state[s] = 1;
    for (;;) {
        size_t u = g->stack[top], j = g->edge[top];
        long v;

        if (j == g->checks[u].depends_on_count) {
            g->state[u] = 2;
            if (top-- == 0)
                return;
            continue;
        }
        g->edge[top]++;
        v = cfg_dep_lookup(g->refs, g->nrefs, g->checks[u].depends_on[j]);
        if (v < 0 || (size_t)v == u || g->state[v] == 2)
            continue;               /* unknown or itself: reported by cfg_deps_exist */
        if (g->state[v] == 1) {
            cfg_deps_cycle(x, g, top, u, j, (size_t)v);
            continue;
        }
        top++;
        g->stack[top] = (size_t)v;
        g->edge[top] = 0;
        g->pos[v] = top;
        g->state[v] = 1;
    }
}

/*
 * depends_on: every entry names another existing check, and no chain of
 * dependencies leads back to where it started. Checks are walked in file
 * order, so a cycle is reported at the entry that closes it, once.
 */
static void cfg_check_deps(struct cfg_ctx *x, const struct yamltree_node *seq,
                           const struct nines_config *cfg, const struct cfg_idset *ids)
{
    size_t n = cfg->checks_count, k = 0;
    struct cfg_deps g;

    memset(&g, 0, sizeof(g));
    g.checks = cfg->checks;
    g.maps = calloc(n ? n : 1, sizeof(*g.maps));
    g.index = calloc(n ? n : 1, sizeof(*g.index));
    g.refs = calloc(n ? n : 1, sizeof(*g.refs));
    g.state = calloc(n ? n : 1, 1);
    g.stack = calloc(n ? n : 1, sizeof(*g.stack));
    g.edge = calloc(n ? n : 1, sizeof(*g.edge));
    g.pos = calloc(n ? n : 1, sizeof(*g.pos));
    if (g.maps == NULL || g.index == NULL || g.refs == NULL || g.state == NULL
        || g.stack == NULL || g.edge == NULL || g.pos == NULL) {
        x->nomem = 1;
        goto done;
    }
    for (size_t i = 0; seq != NULL && i < seq->count && k < n; i++) {
        if (seq->items[i]->type != YAMLTREE_MAPPING)
            continue;               /* no check was made of it */
        g.maps[k] = seq->items[i];
        g.index[k] = i;
        cfg_check_where(x, g.maps[k], i);
        cfg_deps_exist(x, g.maps[k], &cfg->checks[k], ids);
        if (cfg->checks[k].id != NULL) {
            g.refs[g.nrefs].id = cfg->checks[k].id;
            g.refs[g.nrefs].index = k;
            g.nrefs++;
        }
        k++;
    }
    qsort(g.refs, g.nrefs, sizeof(*g.refs), cfg_idref_cmp);
    for (size_t s = 0; s < k; s++) {
        if (g.state[s] == 0 && cfg->checks[s].id != NULL)
            cfg_deps_walk(x, &g, s);
    }
done:
    free(g.maps);
    free(g.index);
    free(g.refs);
    free(g.state);
    free(g.stack);
    free(g.edge);
    free(g.pos);
}

/* Routes name receivers, in 'receivers' and in 'escalate: to'. */
static void cfg_route_refs(struct cfg_ctx *x, const struct yamltree_node *routes,
                           const struct cfg_idset *rcvs)
{
    const struct yamltree_node *esc;

    for (size_t i = 0; routes != NULL && i < routes->count; i++) {
        const struct yamltree_node *item = routes->items[i];

        if (item->type != YAMLTREE_MAPPING)
            continue;
        cfg_entry_where(x, item, "route", "routes", NULL, i);
        cfg_refs_exist(x, item, "receivers", rcvs, "receiver", "name");
        esc = yamltree_get(item, "escalate");
        if (esc != NULL && esc->type == YAMLTREE_SEQUENCE) {
            for (size_t j = 0; j < esc->count; j++) {
                snprintf(x->where, sizeof(x->where), "routes[%zu]: escalate[%zu]", i, j);
                cfg_refs_exist(x, esc->items[j], "to", rcvs, "receiver", "name");
            }
        } else {
            snprintf(x->where, sizeof(x->where), "routes[%zu]: escalate", i);
            cfg_refs_exist(x, esc, "to", rcvs, "receiver", "name");
        }
    }
}

/*
 * Checks depend on checks, services name checks, maintenance windows name
 * checks and services, routes name receivers: each must exist somewhere in
 * the file (before or after the reference). sec holds the top-level values
 * by cfg_top_fields, NULL where a section is missing or of the wrong type.
 */
static void cfg_check_refs(struct cfg_ctx *x, const struct yamltree_node **sec,
                           const struct nines_config *cfg)
{
    struct cfg_idset checks = { NULL, 0 }, svcs = { NULL, 0 }, rcvs = { NULL, 0 };
    const struct yamltree_node *item, *services = sec[CFG_TOP_SERVICES];
    const struct yamltree_node *maint = sec[CFG_TOP_MAINTENANCE];

    if (cfg_idset_make(x, &checks, cfg->checks, sizeof(*cfg->checks),
                       offsetof(struct nines_check, id), cfg->checks_count) < 0
        || cfg_idset_make(x, &svcs, cfg->services, sizeof(*cfg->services),
                          offsetof(struct nines_service_cfg, id), cfg->services_count) < 0
        || cfg_idset_make(x, &rcvs, cfg->receivers, sizeof(*cfg->receivers),
                          offsetof(struct nines_receiver_cfg, name), cfg->receivers_count) < 0)
        goto done;
    cfg_check_deps(x, sec[CFG_TOP_CHECKS], cfg, &checks);
    for (size_t i = 0; services != NULL && i < services->count; i++) {
        item = services->items[i];
        if (item->type != YAMLTREE_MAPPING)
            continue;
        cfg_entry_where(x, item, "service", "services", "id", i);
        cfg_refs_exist(x, item, "checks", &checks, "check", "id");
    }
    for (size_t i = 0; maint != NULL && i < maint->count; i++) {
        item = maint->items[i];
        if (item->type != YAMLTREE_MAPPING)
            continue;
        cfg_entry_where(x, item, "maintenance", "maintenance", "id", i);
        cfg_refs_exist(x, item, "checks", &checks, "check", "id");
        cfg_refs_exist(x, item, "services", &svcs, "service", "id");
    }
    cfg_route_refs(x, sec[CFG_TOP_ROUTES], &rcvs);
    for (size_t i = 0; sec[CFG_TOP_CUSTOMERS] != NULL && i < sec[CFG_TOP_CUSTOMERS]->count; i++) {
        item = sec[CFG_TOP_CUSTOMERS]->items[i];
        if (item->type != YAMLTREE_MAPPING)
            continue;
        cfg_entry_where(x, item, "customer", "customers", "id", i);
        cfg_refs_exist(x, item, "services", &svcs, "service", "id");
    }
done:
    x->where[0] = '\0';
    free(checks.ids);
    free(svcs.ids);
    free(rcvs.ids);
}

/* A list section's value, or NULL after reporting that it is not a sequence. */
static const struct yamltree_node *cfg_section_seq(struct cfg_ctx *x,
                                                   const struct yamltree_node **sec, int which)
{
    const struct yamltree_node *v = sec[which];

    if (v != NULL && cfg_want_type(x, &cfg_top_fields[which], v, YAMLTREE_SEQUENCE) != 0)
        sec[which] = v = NULL;
    return v;
}

/*
 * api, services, maintenance, receivers and routes, then the references
 * between sections; sec holds the top-level values by cfg_top_fields.
 */
static void cfg_load_sections(struct cfg_ctx *x, const struct yamltree_node **sec,
                              struct nines_config *cfg)
{
    const struct yamltree_node *svc, *mnt, *rcv, *rt, *cu, *al = sec[CFG_TOP_ALERTING];
    struct nines_alerting_cfg *a = &cfg->alerting;

    if (sec[CFG_TOP_API] != NULL
        && cfg_want_type(x, &cfg_top_fields[CFG_TOP_API], sec[CFG_TOP_API],
                         YAMLTREE_MAPPING) == 0)
        cfg_load_api(x, sec[CFG_TOP_API], &cfg->api);
    svc = cfg_section_seq(x, sec, CFG_TOP_SERVICES);
    mnt = cfg_section_seq(x, sec, CFG_TOP_MAINTENANCE);
    rcv = cfg_section_seq(x, sec, CFG_TOP_RECEIVERS);
    rt = cfg_section_seq(x, sec, CFG_TOP_ROUTES);
    if (svc != NULL)
        cfg->services = cfg_load_list(x, svc, &cfg_services_list, &cfg->services_count);
    if (mnt != NULL && !x->nomem)
        cfg->maintenance = cfg_load_list(x, mnt, &cfg_maint_list, &cfg->maintenance_count);
    if (rcv != NULL && !x->nomem)
        cfg->receivers = cfg_load_list(x, rcv, &cfg_receivers_list, &cfg->receivers_count);
    if (rt != NULL && !x->nomem)
        cfg->routes = cfg_load_list(x, rt, &cfg_routes_list, &cfg->routes_count);
    a->evaluate_every_ms = 30000;
    a->silence_reminder_ms = 24 * CFG_HOUR_MS;
    a->forecast_window_ms = 6 * CFG_HOUR_MS;
    a->forecast_horizon_ms = 24 * CFG_HOUR_MS;
    a->forecast_min_samples = 10;
    if (al != NULL && cfg_want_type(x, &cfg_top_fields[CFG_TOP_ALERTING], al,
                                    YAMLTREE_MAPPING) == 0)
        cfg_load_alerting(x, al, a);
    else
        cfg_burn_defaults(x, a);
    cfg_alerting_defaults(x, cfg);
    cu = cfg_section_seq(x, sec, CFG_TOP_CUSTOMERS);
    if (cu != NULL && !x->nomem)
        cfg->customers = cfg_load_list(x, cu, &cfg_customers_list, &cfg->customers_count);
    if (sec[CFG_TOP_EVIDENCE] != NULL
        && cfg_want_type(x, &cfg_top_fields[CFG_TOP_EVIDENCE], sec[CFG_TOP_EVIDENCE],
                         YAMLTREE_MAPPING) == 0) {
        const struct yamltree_node *seen[CFG_NFIELDS(cfg_evidence_fields)] = { 0 };

        snprintf(x->where, sizeof(x->where), "evidence");
        cfg_walk(x, sec[CFG_TOP_EVIDENCE], cfg_evidence_fields,
                 CFG_NFIELDS(cfg_evidence_fields), &cfg->evidence, seen,
                 "only where to read it: 'signing_key_file'");
    }
    if (!x->nomem)
        cfg_check_refs(x, sec, cfg);
}

static void cfg_load_root(struct cfg_ctx *x, const struct yamltree_node *root,
                          struct nines_config *cfg)
{
    const struct yamltree_node *sec[CFG_NFIELDS(cfg_top_fields)] = { 0 };
    struct cfg_defaults d;
    char got[96];

    if (root->type != YAMLTREE_MAPPING) {
        cfg_error(x, root, "the top level must be a mapping with a 'checks' key, got %s",
                  cfg_got(root, got, sizeof(got)));
        return;
    }
    for (size_t i = 0; i < root->count; i++) {
        const struct yamltree_node *k = root->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(cfg_top_fields, CFG_NFIELDS(cfg_top_fields), k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        if (f != NULL) {
            sec[f - cfg_top_fields] = root->pairs[i].value;
            continue;
        }
        cfg_suggest(k->value, cfg_top_fields, CFG_NFIELDS(cfg_top_fields), 0, &best, &best_d);
        cfg_unknown_key(x, k, best);
    }
    if (sec[CFG_TOP_COLLECTOR] != NULL
        && cfg_want_type(x, &cfg_top_fields[CFG_TOP_COLLECTOR], sec[CFG_TOP_COLLECTOR],
                         YAMLTREE_MAPPING) == 0)
        cfg_load_collector(x, sec[CFG_TOP_COLLECTOR], &cfg->collector);
    memset(&d, 0, sizeof(d));
    nines_check_defaults(&d.tmpl);
    d.tmpl.interval_ms = 30000;
    d.tmpl.timeout_ms = 10000;
    d.tmpl.failures_to_down = 2;
    d.tmpl.successes_to_up = 1;
    if (sec[CFG_TOP_DEFAULTS] != NULL
        && cfg_want_type(x, &cfg_top_fields[CFG_TOP_DEFAULTS], sec[CFG_TOP_DEFAULTS],
                         YAMLTREE_MAPPING) == 0)
        cfg_load_defaults(x, sec[CFG_TOP_DEFAULTS], &d);
    if (sec[CFG_TOP_CHECKS] == NULL)
        cfg_error(x, root, "missing required key 'checks' (a sequence of checks, may be [])");
    else if (cfg_want_type(x, &cfg_top_fields[CFG_TOP_CHECKS], sec[CFG_TOP_CHECKS],
                           YAMLTREE_SEQUENCE) == 0)
        cfg_load_checks(x, sec[CFG_TOP_CHECKS], &d, cfg);
    else
        sec[CFG_TOP_CHECKS] = NULL;     /* reported; no references into it */
    nines_check_clear(&d.tmpl);
    cfg_load_sections(x, sec, cfg);
}

/* Reads the whole file (at most CFG_MAX_FILE_BYTES) into a NUL-terminated buffer. */
static int cfg_read_file(struct cfg_ctx *x, char **out, size_t *out_len)
{
    size_t len = 0, cap = 4096;
    int fd = open(x->path, O_RDONLY | O_CLOEXEC);
    int err = errno;
    char *buf;
    ssize_t n;

    if (fd < 0)
        goto unreadable;
    buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        return NINES_ENOMEM;
    }
    for (;;) {
        if (len + 1 == cap && cap <= CFG_MAX_FILE_BYTES) {
            char *p = realloc(buf, 2 * cap);

            if (p == NULL) {
                close(fd);
                free(buf);
                return NINES_ENOMEM;
            }
            buf = p;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len > CFG_MAX_FILE_BYTES) {
            close(fd);
            free(buf);
            nines_errlist_add(x->errs, x->path, 0, 0, "the file is larger than %zu MiB",
                              CFG_MAX_FILE_BYTES >> 20);
            return NINES_ECONFIG;
        }
    }
    err = errno;
    close(fd);
    if (n == 0) {
        buf[len] = '\0';
        *out = buf;
        *out_len = len;
        return 0;
    }
    free(buf);
unreadable:
    nines_errlist_add(x->errs, x->path, 0, 0, "cannot read the configuration file: %s",
                      strerror(err));
    return NINES_EIO;
}

/* Orders this call's errors by position, keeping the order of equal ones. */
static void cfg_sort_errors(struct nines_errlist *errs, size_t start)
{
    if (errs == NULL)
        return;
    for (size_t i = start + 1; i < errs->count; i++) {
        struct nines_err e = errs->item[i];
        size_t j = i;

        while (j > start && (errs->item[j - 1].line > e.line
                             || (errs->item[j - 1].line == e.line
                                 && errs->item[j - 1].column > e.column))) {
            errs->item[j] = errs->item[j - 1];
            j--;
        }
        errs->item[j] = e;
    }
}

/* Where an error about the whole file points. */
static const struct yamltree_node cfg_file_start = { .line = 1, .column = 1 };

static int cfg_api_defaults(struct cfg_ctx *x, struct nines_api_cfg *a)
{
    a->connection_limit = 256;
    a->per_ip_limit = 32;
    a->timeout_ms = 10000;
    a->max_body_bytes = 65536;
    return cfg_set_default_str(x, &a->listen, "127.0.0.1:8080") < 0 ? NINES_ENOMEM : 0;
}

static int cfg_collector_defaults(struct cfg_ctx *x, struct nines_collector_cfg *c)
{
    c->stream_maxlen = 1000000;
    c->max_clock_skew_ms = 5000;
    c->partitions = 1;
    c->lease_ms = 5000;
    c->kpi_refresh_ms = 5 * 60 * 1000;
    if (cfg_set_default_str(x, &c->name, "collector") < 0
        || cfg_set_default_str(x, &c->data_dir, "/var/lib/nines") < 0
        || cfg_set_default_str(x, &c->redis_server, "redis-server") < 0
        || cfg_set_default_str(x, &c->log_level, "info") < 0)
        return NINES_ENOMEM;
    return 0;
}

int nines_config_load(const char *path, struct nines_config **out, struct nines_errlist *errs)
{
    struct cfg_ctx x;
    struct yamltree tree;
    struct nines_config *cfg;
    size_t start = errs ? errs->count : 0;
    size_t len;
    char *buf;
    int rc;

    *out = NULL;
    memset(&x, 0, sizeof(x));
    x.path = path;
    x.errs = errs;
    rc = cfg_read_file(&x, &buf, &len);
    if (rc != 0)
        return rc;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || (cfg->path = cfg_strdup(&x, path)) == NULL
        || cfg_collector_defaults(&x, &cfg->collector) < 0
        || cfg_api_defaults(&x, &cfg->api) < 0) {
        free(buf);
        nines_config_free(cfg);
        return NINES_ENOMEM;
    }
    rc = yamltree_parse(&tree, path, buf, len, errs);
    if (rc == 0 && tree.root == NULL)
        cfg_error(&x, &cfg_file_start, "the file is empty: expected a mapping with a "
                  "'checks' key");
    if (tree.root != NULL && rc != NINES_ENOMEM)
        cfg_load_root(&x, tree.root, cfg);
    yamltree_free(&tree);
    free(buf);
    free(x.dir);
    if (rc == NINES_ENOMEM || x.nomem) {
        nines_config_free(cfg);
        nines_errlist_add(errs, path, 0, 0, "out of memory");
        return NINES_ENOMEM;
    }
    if (rc != 0 || x.nerr > 0) {
        cfg_sort_errors(errs, start);
        nines_config_free(cfg);
        return NINES_ECONFIG;
    }
    *out = cfg;
    return 0;
}

static void cfg_free_api(struct nines_api_cfg *a)
{
    free(a->listen);
    free(a->tls_cert);
    free(a->tls_key);
    for (size_t i = 0; i < a->tokens_count; i++)
        free(a->tokens[i].name);
    free(a->tokens);
}

static void cfg_free_services(struct nines_service_cfg *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].id);
        free(s[i].name);
        cfg_free_strv(s[i].checks, s[i].checks_count);
        cfg_free_strv(s[i].critical, s[i].critical_count);
        cfg_free_strv(s[i].canaries, s[i].canaries_count);
        free(s[i].drill_timezone);
    }
    free(s);
}

static void cfg_free_maintenance(struct nines_maint_cfg *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].id);
        free(m[i].reason);
        cfg_free_strv(m[i].checks, m[i].checks_count);
        cfg_free_strv(m[i].services, m[i].services_count);
        free(m[i].timezone);
    }
    free(m);
}

static void cfg_free_receivers(struct nines_receiver_cfg *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].kind);
        free(r[i].url);
        free(r[i].secret_env);
        free(r[i].secret_file);
        free(r[i].user);
        free(r[i].from);
        free(r[i].to);
        free(r[i].template_summary);
        free(r[i].webhook_secret_env);
        free(r[i].webhook_secret_file);
    }
    free(r);
}

static void cfg_free_routes(struct nines_route_cfg *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cfg_free_matchers(r[i].match, r[i].match_count);
        cfg_free_strv(r[i].receivers, r[i].receivers_count);
        cfg_free_escalation(r[i].escalate, r[i].escalate_count);
    }
    free(r);
}

static void cfg_free_customers(struct nines_customer_cfg *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].id);
        free(c[i].name);
        free(c[i].timezone);
        free(c[i].contacts);
        cfg_free_strv(c[i].services, c[i].services_count);
        for (size_t j = 0; j < c[i].slas_count; j++) {
            free(c[i].slas[j].name);
            cfg_free_strv(c[i].slas[j].services, c[i].slas[j].services_count);
            free(c[i].slas[j].credits);
        }
        free(c[i].slas);
    }
    free(c);
}

void nines_config_free(struct nines_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->collector.name);
    free(cfg->collector.data_dir);
    free(cfg->collector.redis);
    free(cfg->collector.redis_server);
    free(cfg->collector.redis_password_env);
    free(cfg->collector.redis_password_file);
    free(cfg->collector.redis_user);
    free(cfg->collector.log_level);
    cfg_free_api(&cfg->api);
    nines_checks_free(cfg->checks, cfg->checks_count);
    cfg_free_services(cfg->services, cfg->services_count);
    cfg_free_maintenance(cfg->maintenance, cfg->maintenance_count);
    cfg_free_receivers(cfg->receivers, cfg->receivers_count);
    cfg_free_routes(cfg->routes, cfg->routes_count);
    free(cfg->alerting.public_url);
    for (size_t i = 0; i < cfg->alerting.burn_rates_count; i++)
        free(cfg->alerting.burn_rates[i].severity);
    free(cfg->alerting.burn_rates);
    cfg_free_customers(cfg->customers, cfg->customers_count);
    free(cfg->evidence.signing_key_file);
    free(cfg);
}

/* A secret's first line from file into out (len bytes with the NUL); see nines_secret_read. */
static int secret_read_file(const char *file, char *out, size_t len, struct nines_err *err)
{
    FILE *f = fopen(file, "r");
    int e = errno, c;
    size_t n;

    if (f == NULL)
        return nines_err_set(err, NINES_EIO, "cannot read %s: %s", file, strerror(e));
    if (fgets(out, (int)len, f) == NULL) {
        fclose(f);
        return nines_err_set(err, NINES_EIO, "%s is empty", file);
    }
    n = strcspn(out, "\r\n");
    /* a full buffer without the line's end: longer, unless the line ends next */
    if (n == len - 1 && (c = fgetc(f)) != EOF && c != '\n' && c != '\r') {
        fclose(f);
        return nines_err_set(err, NINES_EINVAL, "the first line of %s is longer than %zu bytes",
                             file, len - 1);
    }
    fclose(f);
    out[n] = '\0';
    return 0;
}

int nines_secret_read(const char *env, const char *file, char *out, size_t len,
                      struct nines_err *err)
{
    struct nines_err local = { 0 };
    const char *v;
    int rc = 0;

    if (err == NULL)
        err = &local;
    out[0] = '\0';
    if (env != NULL && env[0] != '\0') {
        v = getenv(env);
        if (v == NULL || v[0] == '\0')
            rc = nines_err_set(err, NINES_ENOTFOUND, "environment variable %s is %s", env,
                               v == NULL ? "not set" : "empty");
        else if (strlen(v) >= len)
            rc = nines_err_set(err, NINES_EINVAL,
                               "environment variable %s is longer than %zu bytes", env, len - 1);
        else if (strpbrk(v, "\r\n") != NULL)
            rc = nines_err_set(err, NINES_EINVAL, "environment variable %s holds a line break",
                               env);
        else
            memcpy(out, v, strlen(v) + 1);
    } else if (file != NULL && file[0] != '\0') {
        rc = secret_read_file(file, out, len, err);
    }
    if (rc != 0)
        memset(out, 0, len);          /* no part of a refused secret stays */
    return rc;
}

int nines_config_redis_addr(const struct nines_config *cfg, struct nines_redis_addr *a,
                            struct nines_err *err)
{
    const struct nines_collector_cfg *cc = &cfg->collector;
    struct nines_err why = { 0 };

    if (cc->redis == NULL)
        return nines_err_set(err, NINES_EINVAL, "collector.redis is not set");
    if (nines_redis_url_parse(cc->redis, a, err) != 0)
        return NINES_EINVAL;
    if (cc->redis_user != NULL)
        snprintf(a->user, sizeof(a->user), "%s", cc->redis_user);
    if (nines_secret_read(cc->redis_password_env, cc->redis_password_file, a->password,
                          sizeof(a->password), &why) != 0)
        return nines_err_set(err, NINES_EINVAL, "collector.%s: %s",
                             cc->redis_password_env != NULL ? "redis_password_env"
                                                            : "redis_password_file",
                             why.msg);
    return 0;
}

/*
 * "500ms", "10s", "5m", "2h", "1d" or a bare number of seconds. Digits only
 * (no sign, no fraction, no spaces); overflow is an error.
 */
int nines_duration_parse(const char *s, int64_t *ms)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
                  { "h", 3600000 }, { "d", 86400000 } };
    int64_t v = 0;
    const char *p = s;

    if (s == NULL || *s < '0' || *s > '9')
        return NINES_EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return NINES_EINVAL;
        v = v * 10 + (*p - '0');
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].suffix) != 0)
            continue;
        if (v > INT64_MAX / units[i].ms)
            return NINES_EINVAL;
        *ms = v * units[i].ms;
        return 0;
    }
    return NINES_EINVAL;
}
