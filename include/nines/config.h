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
    char *redis_password_env;   /* the Redis password (and redis_user) from this variable */
    char *redis_password_file;  /* ... or this file's first line; never in the URL */
    char *redis_user;           /* ACL user for AUTH user password (default: none) */
    char *log_level;      /* debug|info|warn|error; "info" */
    int64_t stream_maxlen;  /* approximate cap on the results stream; 1000000 */
    int64_t max_clock_skew_ms;  /* a probe's clock off by more is flagged, corrected; 5 s */
    int partitions;         /* result streams, each leased to one collector; 1 = no leases */
    int64_t lease_ms;       /* partition lease, renewed every third of it; default 5 s */
    int64_t kpi_refresh_ms; /* /metrics' KPIs recomputed this often; default 5 min, 0 = off */
};

/* A bearer token of the HTTP API, stored as the SHA-256 of its text. */
enum nines_role { NINES_ROLE_VIEWER = 1, NINES_ROLE_OPERATOR = 2, NINES_ROLE_ADMIN = 3 };
struct nines_token_cfg {
    char *name;                    /* who holds it, for logs and audit */
    enum nines_role role;
    unsigned char sha256[32];      /* SHA-256(salt || token), or SHA-256(token) */
    unsigned char salt[32];        /* "sha256-salted:SALT:HASH" (nines token new) */
    size_t salt_len;               /* 0: the older unsalted "sha256:HASH" */
};

struct nines_api_cfg {
    char *listen;                  /* "127.0.0.1:8080" (default), "[::1]:8080", ":8080" */
    int connection_limit;          /* default 256 */
    int per_ip_limit;              /* default 32 */
    int64_t timeout_ms;            /* idle connection timeout, default 10 s */
    int64_t max_body_bytes;        /* default 65536 */
    char *tls_cert;                /* HTTPS: PEM certificate chain (path) ... */
    char *tls_key;                 /* ... and its key (path, mode 0600); both or none */
    struct nines_token_cfg *tokens;
    size_t tokens_count;
};

/* A service: checks combined. Down while any (or all) critical checks are. */
struct nines_service_cfg {
    char *id;
    char *name;                    /* display name; default the id */
    char **checks;
    size_t checks_count;
    char **critical;               /* subset of checks; empty = every check is critical */
    size_t critical_count;
    int down_when_all;             /* 0: any critical check down; 1: all of them */
    double target_pct;             /* availability objective, e.g. 99.9; 0 = 99.9 */
    int64_t rto_ms;                /* recovery time objective; 0 = none */
    int64_t rpo_ms;                /* recovery point objective; 0 = none */
    int64_t drill_every_ms;        /* a passed drill is due this often; 0 = never */
    int64_t drill_stable_ms;       /* a drill ends once UP this long after recovery (5 min) */
    int64_t drill_timeout_ms;      /* and at the latest this long after it started (4 h) */
    char **canaries;               /* checks whose canary facts give RPO; default: the
                                    * service's redis_canary and http_canary checks */
    size_t canaries_count;
    int drill_days;                /* drill_schedule: weekday mask (bit 0 = Sunday); 0 = none */
    int drill_minute;              /* local minutes after midnight */
    char *drill_timezone;          /* IANA; default UTC */
};

/* A maintenance window: one-off [start, end) or weekly/daily recurring. */
struct nines_maint_cfg {
    char *id;
    char *reason;
    char **checks;                 /* what it covers; both empty = everything */
    size_t checks_count;
    char **services;
    size_t services_count;
    int64_t start_ms;              /* one-off (UTC ms); 0 when recurring */
    int64_t end_ms;
    int weekdays;                  /* recurring: bit 0 = Sunday ... bit 6 = Saturday */
    int start_minute;              /* minutes after local midnight */
    int64_t duration_ms;
    char *timezone;                /* IANA name; default "UTC" */
};

/* Where notifications go (collector/notify/notify.h has the kinds). */
struct nines_receiver_cfg {
    char *name;                    /* unique */
    char *kind;                    /* webhook slack pagerduty opsgenie alertmanager email */
    char *url;                     /* endpoint; email: smtp[s]://host:port */
    char *secret_env;              /* the secret (HMAC key, routing key, API key, SMTP
                                    * password) from this environment variable ... */
    char *secret_file;             /* ... or this file's first line; never in the YAML */
    char *user;                    /* SMTP user */
    char *from;                    /* email From */
    char *to;                      /* email To, comma-separated */
    int starttls;                  /* email: require STARTTLS (default 1) */
    char *template_summary;        /* optional summary template, see the README */
    char *webhook_secret_env;      /* pagerduty: the signing secret of the V3 webhook that
                                    * reports acknowledgements back (two-way), from ... */
    char *webhook_secret_file;     /* ... this variable or file; none = one-way */
};

/* A label matcher of a route or silence: name = value, or name =~ regex. */
struct nines_matcher {
    char *name;                    /* check service customer team severity rule location */
    char *value;
    int regex;
};

/* An escalation step: still unacknowledged after_ms after the first page,
 * the notification also goes to these receivers. */
struct nines_escalation {
    int64_t after_ms;
    char **to;
    size_t to_count;
};

/* Routes are tried in order; the first match takes the notification, unless
 * it says continue. */
struct nines_route_cfg {
    struct nines_matcher *match;   /* all must match; none = every notification */
    size_t match_count;
    char **receivers;              /* names; at least one */
    size_t receivers_count;
    int continue_matching;
    int64_t group_wait_ms;         /* default 10 s */
    int64_t group_interval_ms;     /* default 5 min */
    int64_t repeat_interval_ms;    /* default 4 h */
    struct nines_escalation *escalate;  /* steps, by increasing after_ms */
    size_t escalate_count;
};

/* A multi-window burn-rate rule: fires while the burn rate over both windows
 * exceeds factor (short_ms 0: the long window alone). */
struct nines_burn_rule_cfg {
    int64_t long_ms;
    int64_t short_ms;
    double factor;
    char *severity;                /* page | ticket | info */
};

/* alerting: settings of the rules that are not tied to one check. */
struct nines_alerting_cfg {
    char *public_url;              /* base of the links in notifications; default
                                    * http://LISTEN of the API */
    int64_t evaluate_every_ms;     /* burn rate, SLA and forecast rules; default 30 s */
    int64_t silence_reminder_ms;   /* remind of a silence on this long; default 24 h */
    struct nines_burn_rule_cfg *burn_rates;  /* default 1h/5m 14.4 page, 6h/30m 6 page,
                                              * 3d 1 ticket */
    size_t burn_rates_count;
    int64_t forecast_window_ms;    /* least-squares trend over; default 6 h */
    int64_t forecast_horizon_ms;   /* alert when a limit is crossed within; default 24 h */
    int forecast_min_samples;      /* default 10 */
};

/* A service-credit tier: availability below below_pct owes credit_pct. */
struct nines_credit_tier {
    double below_pct;
    double credit_pct;
};

/* One SLA of a customer. */
struct nines_sla_cfg {
    char *name;                    /* default "sla" */
    double target_pct;             /* e.g. 99.9 (required) */
    char **services;               /* subset of the customer's; empty = all of them */
    size_t services_count;
    int business_days;             /* business hours only: weekday mask (bit 0 = Sunday);
                                    * 0 = all the time */
    int business_from_minute;      /* local minutes after midnight, [from, to) */
    int business_to_minute;
    int nodata_counts_down;        /* time without data counts as downtime (default no) */
    int maintenance_counts;        /* maintenance is not excluded (default: excluded) */
    struct nines_credit_tier *credits;  /* by decreasing below_pct */
    size_t credits_count;
};

/* A customer: the services it buys, its SLAs, who gets its reports. */
struct nines_customer_cfg {
    char *id;
    char *name;                    /* default the id */
    char *timezone;                /* IANA; default UTC */
    char *contacts;                /* report recipients, joined by ", "; may be NULL */
    char **services;
    size_t services_count;
    struct nines_sla_cfg *slas;
    size_t slas_count;
    int report_day;                /* monthly report on this day (1..28), default 1 */
    int report_hour;               /* at this local hour (0..23), default 6 */
};

/* evidence: how `nines evidence` signs its packs. */
struct nines_evidence_cfg {
    char *signing_key_file;        /* PEM Ed25519 private key; NULL = not configured */
};

struct nines_config {
    char *path;
    struct nines_collector_cfg collector;
    struct nines_api_cfg api;
    struct nines_check *checks;
    size_t checks_count;
    struct nines_service_cfg *services;
    size_t services_count;
    struct nines_maint_cfg *maintenance;
    size_t maintenance_count;
    struct nines_receiver_cfg *receivers;
    size_t receivers_count;
    struct nines_route_cfg *routes;
    size_t routes_count;
    struct nines_alerting_cfg alerting;
    struct nines_customer_cfg *customers;
    size_t customers_count;
    struct nines_evidence_cfg evidence;
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
/*
 * A secret from an environment variable (env) or a file's first line (file;
 * CR/LF cut); env wins when both are given, and NULL or "" means not given.
 * len is the cap: a secret of len bytes or more is refused, never cut.
 * 0 with out filled ("" when neither is given, or the file's first line is
 * empty). Else out is zeroed and err (may be NULL) says what and which
 * variable or file: NINES_ENOTFOUND, the variable is unset or empty;
 * NINES_EIO, the file cannot be read or is empty; NINES_EINVAL, too long (or
 * the variable holds a line break: a secret is one line).
 */
int nines_secret_read(const char *env, const char *file, char *out, size_t len,
                      struct nines_err *err);
/* The address of collector.redis with its password from redis_password_env
 * or redis_password_file and redis_user: 0, or NINES_EINVAL with err. */
struct nines_redis_addr;
int nines_config_redis_addr(const struct nines_config *cfg, struct nines_redis_addr *a,
                            struct nines_err *err);
/* Parses "500ms", "10s", "5m", "2h", "1d" or a bare number of seconds. */
int nines_duration_parse(const char *s, int64_t *ms);

#endif
