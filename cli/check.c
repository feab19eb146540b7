/*
 * nines check TARGET [options] | nines check --id ID -c FILE
 *
 * Runs one check now with the same engines as the probe and prints one
 * Nagios plugin line ("HTTP OK - 200 in 0.042 s | time=0.042000s;;;0.000000")
 * or, with --json, the whole result. Exit codes follow the plugin
 * convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 */
#include <ares.h>
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "nines/config.h"

enum { NAGIOS_OK = 0, NAGIOS_WARNING = 1, NAGIOS_CRITICAL = 2, NAGIOS_UNKNOWN = 3 };

struct check_run {
    struct nines_result result;
    int done;
};

static void check_keep_result(struct nines_result *r, void *arg)
{
    struct check_run *run = arg;

    run->result = *r;
    run->done = 1;
}

static int check_usage(FILE *f)
{
    fprintf(f,
        "usage: nines check TARGET [options]\n"
        "       nines check --id ID -c FILE [--json]\n"
        "\n"
        "TARGET is one of\n"
        "  http://... | https://...              an HTTP(S) check\n"
        "  dns:NAME[/TYPE][@SERVER[:PORT]]       a DNS query (TYPE: A AAAA CNAME MX TXT NS\n"
        "                                        SOA SRV PTR CAA; default A)\n"
        "  tcp:HOST:PORT                         a TCP connect ([v6]:PORT for IPv6)\n"
        "  icmp:HOST                             ICMP echo (unprivileged ping sockets)\n"
        "  host                                  this host's capacity\n"
        "\n"
        "Common:  -t, --timeout DURATION (default 10s)   --json   -4 | -6\n"
        "HTTP:    -m, --method M   -e, --expect-status LIST   --follow N   -k, --insecure\n"
        "         -H, --header 'Name: value'   --body TEXT   --contains TEXT\n"
        "         --not-contains TEXT   --regex RE   --json-condition 'path == value'\n"
        "         --latency-objective DURATION   --ca-file F   --cert F   --key F\n"
        "         --sni NAME   --tls-min 1.2   --cert-min-days N   --all-addresses\n"
        "         --resolve HOST:PORT:ADDR   --proxy URL   --max-body BYTES\n"
        "         --basic USER | --bearer   with --secret-env VAR | --secret-file F\n"
        "DNS:     --expect-rcode RCODE   --expect ANSWER (repeatable)   --match exact|include\n"
        "         --answer-regex RE   --tcp\n"
        "TCP:     --send TEXT   --expect-banner RE   --tls   -k   --ca-file F   --sni NAME\n"
        "         --cert-min-days N\n"
        "ICMP:    --count N   --max-loss PCT\n"
        "\n"
        "Exit: 0 OK, 1 WARNING (degraded, certificate expiring, capacity),\n"
        "      2 CRITICAL (the check failed), 3 UNKNOWN (bad arguments, could not run).\n");
    return f == stdout ? NAGIOS_OK : NAGIOS_UNKNOWN;
}

static int check_unknown(const char *fmt, const char *arg)
{
    printf("UNKNOWN - ");
    printf(fmt, arg);
    printf("\n");
    return NAGIOS_UNKNOWN;
}

static char *check_dup(const char *s)
{
    char *d = strdup(s);

    if (d == NULL) {
        fprintf(stderr, "nines: out of memory\n");
        exit(NAGIOS_UNKNOWN);
    }
    return d;
}

static void check_set(char **field, const char *value)
{
    free(*field);
    *field = check_dup(value);
}

/* Appends s to a heap array of strings. */
static void check_push(char ***list, size_t *count, const char *s)
{
    char **grown = realloc(*list, (*count + 1) * sizeof(*grown));

    if (grown == NULL) {
        fprintf(stderr, "nines: out of memory\n");
        exit(NAGIOS_UNKNOWN);
    }
    *list = grown;
    (*list)[(*count)++] = check_dup(s);
}

/* "host:port" or "[v6]:port" into host and port; 0 or -1. */
static int check_split_host_port(const char *s, char **host, int *port)
{
    const char *colon;
    char *end;
    long p;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return -1;
        *host = strndup(s + 1, (size_t)(close - s - 1));
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || colon == s)
            return -1;
        *host = strndup(s, (size_t)(colon - s));
    }
    p = strtol(colon + 1, &end, 10);
    if (*host == NULL || *end != '\0' || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

/* Fills c's kind and target from TARGET; returns 0 or prints UNKNOWN. */
static int check_parse_target(const char *t, struct nines_check *c)
{
    if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0) {
        c->kind = NINES_KIND_HTTP;
        check_set(&c->http.url, t);
    } else if (strncmp(t, "dns:", 4) == 0) {
        char *name = check_dup(t + 4), *at = strchr(name, '@'), *slash;

        c->kind = NINES_KIND_DNS;
        if (at != NULL) {
            *at = '\0';
            check_push(&c->dns.servers, &c->dns.servers_count, at + 1);
        }
        slash = strchr(name, '/');
        if (slash != NULL) {
            *slash = '\0';
            check_set(&c->dns.record_type, slash + 1);
        }
        c->dns.name = name;
        if (name[0] == '\0')
            return check_unknown("dns target needs a name: dns:NAME[/TYPE][@SERVER]", "");
    } else if (strncmp(t, "tcp:", 4) == 0) {
        c->kind = NINES_KIND_TCP;
        if (check_split_host_port(t + 4, &c->tcp.host, &c->tcp.port) != 0)
            return check_unknown("tcp target must be tcp:HOST:PORT, got '%s'", t);
    } else if (strncmp(t, "icmp:", 5) == 0 && t[5] != '\0') {
        c->kind = NINES_KIND_ICMP;
        check_set(&c->icmp.host, t + 5);
    } else if (strcmp(t, "host") == 0) {
        c->kind = NINES_KIND_HOST;
    } else {
        return check_unknown("unrecognised target '%s' (see nines check --help)", t);
    }
    return 0;
}

enum {
    OPT_FOLLOW = 256, OPT_BODY, OPT_CONTAINS, OPT_NOT_CONTAINS, OPT_REGEX, OPT_JSON_COND,
    OPT_LATENCY, OPT_CA, OPT_CERT, OPT_KEY, OPT_SNI, OPT_TLS_MIN, OPT_CERT_DAYS, OPT_ALL_ADDR,
    OPT_RESOLVE, OPT_PROXY, OPT_MAX_BODY, OPT_BASIC, OPT_BEARER, OPT_SECRET_ENV,
    OPT_SECRET_FILE, OPT_RCODE, OPT_EXPECT, OPT_MATCH, OPT_ANSWER_RE, OPT_TCP, OPT_SEND,
    OPT_BANNER, OPT_TLS, OPT_COUNT, OPT_MAX_LOSS, OPT_JSON, OPT_ID,
};

static const struct option check_longopts[] = {
    { "timeout", required_argument, NULL, 't' }, { "json", no_argument, NULL, OPT_JSON },
    { "method", required_argument, NULL, 'm' }, { "expect-status", required_argument, NULL, 'e' },
    { "follow", required_argument, NULL, OPT_FOLLOW }, { "insecure", no_argument, NULL, 'k' },
    { "header", required_argument, NULL, 'H' }, { "body", required_argument, NULL, OPT_BODY },
    { "contains", required_argument, NULL, OPT_CONTAINS },
    { "not-contains", required_argument, NULL, OPT_NOT_CONTAINS },
    { "regex", required_argument, NULL, OPT_REGEX },
    { "json-condition", required_argument, NULL, OPT_JSON_COND },
    { "latency-objective", required_argument, NULL, OPT_LATENCY },
    { "ca-file", required_argument, NULL, OPT_CA }, { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY }, { "sni", required_argument, NULL, OPT_SNI },
    { "tls-min", required_argument, NULL, OPT_TLS_MIN },
    { "cert-min-days", required_argument, NULL, OPT_CERT_DAYS },
    { "all-addresses", no_argument, NULL, OPT_ALL_ADDR },
    { "resolve", required_argument, NULL, OPT_RESOLVE },
    { "proxy", required_argument, NULL, OPT_PROXY },
    { "max-body", required_argument, NULL, OPT_MAX_BODY },
    { "basic", required_argument, NULL, OPT_BASIC }, { "bearer", no_argument, NULL, OPT_BEARER },
    { "secret-env", required_argument, NULL, OPT_SECRET_ENV },
    { "secret-file", required_argument, NULL, OPT_SECRET_FILE },
    { "expect-rcode", required_argument, NULL, OPT_RCODE },
    { "expect", required_argument, NULL, OPT_EXPECT }, { "match", required_argument, NULL, OPT_MATCH },
    { "answer-regex", required_argument, NULL, OPT_ANSWER_RE },
    { "tcp", no_argument, NULL, OPT_TCP }, { "send", required_argument, NULL, OPT_SEND },
    { "expect-banner", required_argument, NULL, OPT_BANNER }, { "tls", no_argument, NULL, OPT_TLS },
    { "count", required_argument, NULL, OPT_COUNT },
    { "max-loss", required_argument, NULL, OPT_MAX_LOSS },
    { "id", required_argument, NULL, OPT_ID }, { "config", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

/* A whole number in [lo, hi], or -1 after printing UNKNOWN. */
static long check_num(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (*end != '\0' || end == v || n < lo || n > hi) {
        printf("UNKNOWN - --%s: '%s' is not a number from %ld to %ld\n", opt, v, lo, hi);
        return -1;
    }
    return n;
}

static int check_duration(const char *opt, const char *v, int64_t *ms)
{
    if (nines_duration_parse(v, ms) != 0 || *ms <= 0) {
        printf("UNKNOWN - --%s: '%s' is not a duration such as 500ms or 10s\n", opt, v);
        return -1;
    }
    return 0;
}

/* Adds "Name: value" to the request headers. */
static int check_add_header(struct nines_http_opts *h, const char *v)
{
    const char *colon = strchr(v, ':');
    struct nines_kv *grown;

    if (colon == NULL || colon == v)
        return check_unknown("--header: '%s' is not 'Name: value'", v);
    grown = realloc(h->headers, (h->headers_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return check_unknown("out of memory%s", "");
    h->headers = grown;
    grown[h->headers_count].name = strndup(v, (size_t)(colon - v));
    colon++;
    while (*colon == ' ')
        colon++;
    grown[h->headers_count++].value = check_dup(colon);
    return 0;
}

/* Applies one option to c (whose kind is known); 0 or UNKNOWN. */
static int check_apply(struct nines_check *c, int opt, const char *v)
{
    struct nines_http_opts *h = &c->http;
    long n = 0;

    switch (opt) {
    case 't':
        return check_duration("timeout", v, &c->timeout_ms) ? NAGIOS_UNKNOWN : 0;
    case '4':
    case '6':
        h->ip_version = c->tcp.ip_version = c->icmp.ip_version = opt - '0';
        return 0;
    case 'm':
        check_set(&h->method, v);
        return 0;
    case 'e':
        check_set(&h->expect_status, v);
        return 0;
    case OPT_FOLLOW:
        n = check_num("follow", v, 0, 20);
        h->follow_redirects = (int)n;
        break;
    case 'k':
        h->verify_tls = c->tcp.verify_tls = 0;
        return 0;
    case 'H':
        return check_add_header(h, v);
    case OPT_BODY:
        check_set(&h->body, v);
        return 0;
    case OPT_CONTAINS:
        check_set(&h->body_contains, v);
        return 0;
    case OPT_NOT_CONTAINS:
        check_set(&h->body_not_contains, v);
        return 0;
    case OPT_REGEX:
        check_set(&h->body_regex, v);
        return 0;
    case OPT_JSON_COND:
        check_set(&h->json_condition, v);
        return 0;
    case OPT_LATENCY:
        return check_duration("latency-objective", v, &h->latency_objective_ms) ? 3 : 0;
    case OPT_CA:
        check_set(&h->ca_file, v);
        check_set(&c->tcp.ca_file, v);
        return 0;
    case OPT_CERT:
        check_set(&h->client_cert, v);
        return 0;
    case OPT_KEY:
        check_set(&h->client_key, v);
        return 0;
    case OPT_SNI:
        check_set(&h->tls_server_name, v);
        check_set(&c->tcp.tls_server_name, v);
        return 0;
    case OPT_TLS_MIN:
        check_set(&h->tls_min_version, v);
        return 0;
    case OPT_CERT_DAYS:
        n = check_num("cert-min-days", v, 0, 3650);
        h->cert_min_days = c->tcp.cert_min_days = (int)n;
        break;
    case OPT_ALL_ADDR:
        h->all_addresses = 1;
        return 0;
    case OPT_RESOLVE:
        check_set(&h->resolve, v);
        return 0;
    case OPT_PROXY:
        check_set(&h->proxy, v);
        return 0;
    case OPT_MAX_BODY:
        n = check_num("max-body", v, 0, 1073741824);
        h->max_body_bytes = n;
        break;
    case OPT_BASIC:
        check_set(&h->auth, "basic");
        check_set(&h->auth_user, v);
        return 0;
    case OPT_BEARER:
        check_set(&h->auth, "bearer");
        return 0;
    case OPT_SECRET_ENV:
        check_set(&h->secret_env, v);
        return 0;
    case OPT_SECRET_FILE:
        check_set(&h->secret_file, v);
        return 0;
    case OPT_RCODE:
        check_set(&c->dns.expect_rcode, v);
        return 0;
    case OPT_EXPECT:
        check_push(&c->dns.expect_answers, &c->dns.expect_answers_count, v);
        if (c->dns.match == NINES_DNS_MATCH_NONE)
            c->dns.match = NINES_DNS_MATCH_EXACT;
        return 0;
    case OPT_MATCH:
        if (strcmp(v, "exact") != 0 && strcmp(v, "include") != 0)
            return check_unknown("--match: '%s' is not exact or include", v);
        c->dns.match = v[0] == 'e' ? NINES_DNS_MATCH_EXACT : NINES_DNS_MATCH_INCLUDE;
        return 0;
    case OPT_ANSWER_RE:
        check_set(&c->dns.answer_regex, v);
        return 0;
    case OPT_TCP:
        c->dns.tcp = 1;
        return 0;
    case OPT_SEND:
        check_set(&c->tcp.send, v);
        return 0;
    case OPT_BANNER:
        check_set(&c->tcp.expect_banner, v);
        return 0;
    case OPT_TLS:
        c->tcp.tls = 1;
        return 0;
    case OPT_COUNT:
        n = check_num("count", v, 1, 100);
        c->icmp.count = (int)n;
        break;
    case OPT_MAX_LOSS:
        n = check_num("max-loss", v, 0, 100);
        c->icmp.max_loss_pct = (int)n;
        break;
    default:
        return NAGIOS_UNKNOWN;
    }
    return n < 0 ? NAGIOS_UNKNOWN : 0;
}

/* The check from --id in a configuration file, copied into c. */
static int check_from_config(const char *path, const char *id, struct nines_check *c)
{
    struct nines_config *cfg = NULL;
    struct nines_errlist errs = { 0 };
    int rc = NAGIOS_UNKNOWN;

    if (nines_config_load(path, &cfg, &errs) != 0) {
        printf("UNKNOWN - invalid configuration %s\n", path);
        cli_print_errors(&errs);
        return NAGIOS_UNKNOWN;
    }
    for (size_t i = 0; i < cfg->checks_count; i++) {
        if (strcmp(cfg->checks[i].id, id) == 0) {
            nines_check_clear(c);
            rc = nines_check_copy(c, &cfg->checks[i]) == 0 ? 0 : NAGIOS_UNKNOWN;
            break;
        }
    }
    if (rc != 0)
        printf("UNKNOWN - no check '%s' in %s\n", id, path);
    nines_config_free(cfg);
    return rc;
}

static const char *check_label(enum nines_check_kind k)
{
    static const char *const labels[] = { "HTTP", "DNS", "TCP", "PING", "HOST" };

    return (unsigned)k < sizeof(labels) / sizeof(labels[0]) ? labels[k] : "CHECK";
}

static int check_status(const struct nines_result *r)
{
    switch (r->outcome) {
    case NINES_OUTCOME_OK:
        return r->warning[0] != '\0' ? NAGIOS_WARNING : NAGIOS_OK;
    case NINES_OUTCOME_FAIL:
    case NINES_OUTCOME_TIMEOUT:
        return NAGIOS_CRITICAL;
    case NINES_OUTCOME_ERROR:
        break;
    }
    return NAGIOS_UNKNOWN;
}

/* Kind-specific performance data found in the facts. */
static void check_perf_facts(const struct nines_result *r, json_t *facts)
{
    json_t *v;

    if (facts == NULL)
        return;
    if ((v = json_object_get(facts, "body_bytes")) != NULL && json_is_integer(v))
        printf(" size=%lldB;;;0", (long long)json_integer_value(v));
    if ((v = json_object_get(facts, "days_left")) != NULL && json_is_number(v))
        printf(" cert_days=%g;;;", json_number_value(v));
    if ((v = json_object_get(facts, "loss_pct")) != NULL && json_is_number(v))
        printf(" pl=%g%%;;;0;100", json_number_value(v));
    if ((v = json_object_get(json_object_get(facts, "rtt_ms"), "avg")) != NULL &&
        json_is_number(v))
        printf(" rta=%gms;;;0", json_number_value(v));
    if ((v = json_object_get(facts, "cpu_pct")) != NULL && json_is_number(v))
        printf(" cpu=%g%%;;;0;100", json_number_value(v));
    if ((v = json_object_get(facts, "mem_pct")) != NULL && json_is_number(v))
        printf(" mem=%g%%;;;0;100", json_number_value(v));
    (void)r;
}

static void check_print_line(const struct nines_check *c, const struct nines_result *r)
{
    static const char *const words[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    int st = check_status(r);
    double secs = r->total_us >= 0 ? r->total_us / 1e6 : 0;
    json_t *facts = r->facts[0] ? json_loads(r->facts, 0, NULL) : NULL;

    printf("%s %s - ", check_label(c->kind), words[st]);
    if (st == NAGIOS_OK && c->kind == NINES_KIND_HOST && facts != NULL) {
        json_t *fs = json_array_get(json_object_get(facts, "fs"), 0);

        printf("cpu %.1f%%, memory %.1f%%", json_number_value(json_object_get(facts, "cpu_pct")),
               json_number_value(json_object_get(facts, "mem_pct")));
        if (fs != NULL)
            printf(", fullest disk %s %.1f%%", json_string_value(json_object_get(fs, "mount")),
                   json_number_value(json_object_get(fs, "pct")));
        printf(" (%.3f s)", secs);
    } else if (st == NAGIOS_OK && c->kind == NINES_KIND_DNS && facts != NULL) {
        json_t *answers = json_object_get(facts, "answers");

        printf("%zu answer%s", json_array_size(answers), json_array_size(answers) == 1 ? "" : "s");
        if (json_array_size(answers) > 0)
            printf(", first %s", json_string_value(
                                     json_object_get(json_array_get(answers, 0), "data")));
        printf(" in %.3f s", secs);
    } else if (st == NAGIOS_OK && c->kind == NINES_KIND_TCP && facts != NULL) {
        printf("connected to %s in %.3f s",
               json_string_value(json_object_get(facts, "address"))
                   ? json_string_value(json_object_get(facts, "address"))
                   : "?",
               secs);
    } else if (st == NAGIOS_OK && c->kind == NINES_KIND_ICMP && facts != NULL) {
        printf("%g%% loss, rta %.3f ms", json_number_value(json_object_get(facts, "loss_pct")),
               json_number_value(json_object_get(json_object_get(facts, "rtt_ms"), "avg")));
    } else if (st == NAGIOS_OK && c->kind == NINES_KIND_HTTP)
        printf("%d in %.3f s", r->code, secs);
    else if (st == NAGIOS_OK)
        printf("%s%sin %.3f s", r->message, r->message[0] ? " " : "", secs);
    else if (st == NAGIOS_WARNING)
        printf("%s: %s (%.3f s)", r->warning, r->message, secs);
    else
        printf("%s: %s (%.3f s)", r->reason, r->message, secs);
    printf(" | time=%.6fs;", secs);
    if (c->kind == NINES_KIND_HTTP && c->http.latency_objective_ms > 0)
        printf("%.6f", c->http.latency_objective_ms / 1000.0);
    printf(";%.6f;0.000000", c->timeout_ms / 1000.0);
    check_perf_facts(r, facts);
    printf("\n");
    json_decref(facts);
}

static void check_print_json(const struct nines_check *c, const struct nines_result *r)
{
    json_t *o = json_object();
    json_t *facts = r->facts[0] ? json_loads(r->facts, 0, NULL) : NULL;
    static const char *const words[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

    json_object_set_new(o, "check", json_string(c->id ? c->id : ""));
    json_object_set_new(o, "kind", json_string(nines_check_kind_name(c->kind)));
    json_object_set_new(o, "status", json_string(words[check_status(r)]));
    json_object_set_new(o, "outcome", json_string(nines_outcome_name(r->outcome)));
    json_object_set_new(o, "start_ms", json_integer(r->start_ms));
    json_object_set_new(o, "code", json_integer(r->code));
    json_object_set_new(o, "reason", json_string(r->reason));
    json_object_set_new(o, "message", json_string(r->message));
    json_object_set_new(o, "warning", json_string(r->warning));
    json_object_set_new(o, "total_us", json_integer(r->total_us));
    json_object_set_new(o, "dns_us", json_integer(r->dns_us));
    json_object_set_new(o, "connect_us", json_integer(r->connect_us));
    json_object_set_new(o, "tls_us", json_integer(r->tls_us));
    json_object_set_new(o, "ttfb_us", json_integer(r->ttfb_us));
    json_object_set_new(o, "facts", facts ? facts : json_object());
    json_dumpf(o, stdout, JSON_INDENT(2));
    printf("\n");
    json_decref(o);
}

/* Runs c once on a fresh loop; 0 and *r, or UNKNOWN. */
static int check_run_once(const struct nines_check *c, struct nines_result *r)
{
    struct check_run run = { .done = 0 };
    struct check_env env;
    uv_loop_t loop;
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    ares_library_init(ARES_LIB_INIT_ALL);
    uv_loop_init(&loop);
    check_env_init(&env, &loop);
    rc = check_start(&env, c, check_keep_result, &run);
    if (rc == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
    check_env_close(&env);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    ares_library_cleanup();
    curl_global_cleanup();
    if (rc != 0 || !run.done) {
        printf("UNKNOWN - the %s check could not run (error %d)\n",
               nines_check_kind_name(c->kind), rc);
        return NAGIOS_UNKNOWN;
    }
    *r = run.result;
    return 0;
}

struct check_opt {
    int opt;
    const char *arg;
};

int cli_check(int argc, char **argv)
{
    struct check_opt opts[64];
    size_t nopts = 0;
    const char *id = NULL, *config = NULL, *target = NULL;
    struct nines_check c;
    struct nines_result r;
    int json = 0, o, rc = 0;

    memset(&c, 0, sizeof(c));
    nines_check_defaults(&c);
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "t:m:e:kH:c:h46", check_longopts, NULL)) != -1) {
        if (o == 'h')
            return check_usage(stdout);
        if (o == '?') {
            printf("UNKNOWN - unknown or incomplete option '%s' (see nines check --help)\n",
                   argv[optind - 1]);
            return NAGIOS_UNKNOWN;
        }
        if (o == OPT_JSON)
            json = 1;
        else if (o == OPT_ID)
            id = optarg;
        else if (o == 'c')
            config = optarg;
        else if (nopts < sizeof(opts) / sizeof(opts[0]))
            opts[nopts++] = (struct check_opt){ o, optarg };
        else
            return check_unknown("too many options%s", "");
    }
    if (optind < argc)
        target = argv[optind++];
    if (optind < argc)
        return check_unknown("unexpected argument '%s'", argv[optind]);
    if ((id != NULL) != (config != NULL) || (id != NULL) == (target != NULL)) {
        check_usage(stderr);
        return NAGIOS_UNKNOWN;
    }
    if (id != NULL)
        rc = check_from_config(config, id, &c);
    else
        rc = check_parse_target(target, &c);
    for (size_t i = 0; rc == 0 && i < nopts; i++)
        rc = check_apply(&c, opts[i].opt, opts[i].arg);
    if (rc == 0 && c.id == NULL)
        c.id = check_dup(target);
    if (rc == 0)
        rc = check_run_once(&c, &r);
    if (rc == 0) {
        if (json)
            check_print_json(&c, &r);
        else
            check_print_line(&c, &r);
        rc = check_status(&r);
    }
    nines_check_clear(&c);
    return rc;
}
