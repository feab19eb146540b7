/*
 * Notifications: what alert rules produce and receivers deliver. A
 * notification is a plain value; receivers turn it into one request
 * (HTTP or SMTP) from their configuration.
 */
#ifndef NINES_NOTIFY_H
#define NINES_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

enum notify_state { NOTIFY_FIRING = 0, NOTIFY_RESOLVED, NOTIFY_ACKNOWLEDGED };

#define NOTIFY_KEY_LEN 192

struct notification {
    char key[NOTIFY_KEY_LEN];      /* stable dedup key, e.g. "check_down/web@1795889593790" */
    enum notify_state state;
    char rule[64];                 /* check_down, degraded, cert_expiry, probe_silent, ... */
    char severity[16];             /* page | ticket | info */
    char check[64];                /* labels; "" when not applicable */
    char service[64];
    char customer[64];
    char team[64];
    char location[64];
    int64_t start_ms;              /* when the condition began (back-dated) */
    int64_t end_ms;                /* when it ended; 0 while firing */
    int64_t created_ms;            /* when this notification was made */
    char reason[32];               /* reason code of the first failure */
    char summary[256];             /* one line: "web is DOWN: HTTP 503 (eu,us)" */
    char details[1024];            /* more text for bodies */
    char url[256];                 /* link to the incident in the dashboard */
};

enum receiver_kind {
    RECEIVER_WEBHOOK = 0,
    RECEIVER_SLACK,
    RECEIVER_PAGERDUTY,
    RECEIVER_OPSGENIE,
    RECEIVER_ALERTMANAGER,
    RECEIVER_EMAIL,
};

/* A receiver's settings. Secrets are resolved (from env or file) before use
 * and never logged. */
struct receiver_cfg {
    char name[64];
    enum receiver_kind kind;
    char url[512];                 /* webhook/slack/alertmanager/opsgenie endpoint;
                                      pagerduty events endpoint; email: smtp[s]://host:port */
    char secret[256];              /* webhook HMAC key; PagerDuty routing key; Opsgenie API
                                      key (GenieKey); SMTP password */
    char user[128];                /* SMTP user */
    char from[256];                /* email From */
    char to[512];                  /* email To, comma-separated */
    int starttls;                  /* email: require STARTTLS */
    char template_summary[512];    /* optional, "" = default: placeholders {check}
                                      {service} {state} {reason} {summary} {start} {url} */
};

/* One outgoing request, owned by the caller (notify_request_clear frees it). */
struct notify_request {
    int smtp;                      /* 1: SMTP through libcurl; 0: HTTP */
    char method[8];                /* HTTP: POST */
    char url[512];
    char *headers[16];             /* "Name: value", malloc'd */
    size_t nheaders;
    char *body;                    /* malloc'd; for SMTP the whole RFC 5322 message */
    size_t body_len;
    char user[128];                /* SMTP auth */
    char password[256];
    char mail_from[256];
    char *rcpt[16];                /* SMTP recipients, malloc'd */
    size_t nrcpt;
    int starttls;
    char ca_file[256];             /* PEM bundle to verify the server's TLS certificate
                                      with (HTTPS, SMTPS, STARTTLS); "" = the system store */
};

void notify_request_clear(struct notify_request *r);
/* Builds the request receiver rc sends for n at now_ms; 0 or NINES_E*. */
int notify_build(const struct receiver_cfg *rc, const struct notification *n, int64_t now_ms,
                 struct notify_request *out);
const char *notify_state_name(enum notify_state s);
const char *receiver_kind_name(enum receiver_kind k);
int receiver_kind_parse(const char *s, enum receiver_kind *k);

#endif
