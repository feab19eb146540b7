/*
 * nines export --check ID|--service ID|--customer ID --from T --to T
 *              [--what results|incidents|days] [--format csv|jsonl] [-o FILE]
 *
 * For customers and auditors who recompute SLAs themselves:
 *   results    raw results still in the results stream (nines:results; it is
 *              trimmed, so only while retained) that started in [from, to),
 *              in the columns `nines import` reads: export → import round-trips
 *   incidents  every incident of the checks overlapping [from, to)
 *   days       per check and day (the customer's timezone with --customer,
 *              else UTC): window, maintenance, no-data, downtime and eligible
 *              ms and the uptime, computed by collector/uptime.c from the
 *              stored down intervals, gaps and maintenance windows
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "history.h"
#include "intervals.h"
#include "maint.h"
#include "nines/clock.h"
#include "nines/wire.h"
#include "sla.h"
#include "state.h"
#include "store.h"
#include "tz.h"
#include "uptime.h"

#define EXPORT_DAY_MS INT64_C(86400000)
#define EXPORT_BATCH 1000
#define EXPORT_MAX_DAYS 1000
/* A result is added to the stream after it started; by how much at most
 * (probe clocks, spooled replays) the scan reaches back before --from. */
#define EXPORT_STREAM_SLACK_MS INT64_C(3600000)

enum export_what { EXPORT_RESULTS = 0, EXPORT_INCIDENTS, EXPORT_DAYS };

struct exporter {
    const struct nines_config *cfg;
    redisContext *rc;
    FILE *out;
    int csv;
    int64_t from_ms, to_ms;
    char **checks;          /* borrowed from cfg or argv */
    size_t nchecks;
    const char *tz_name;    /* days: "UTC" or the customer's */
    uint64_t rows;
};

/* A CSV field, quoted when it needs to be (RFC 4180). */
static void export_csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* A row from parallel names and values (NULL value: not given). */
static void export_row(struct exporter *x, const char *const *names, const char *const *vals,
                       const int *is_num, size_t n)
{
    if (x->csv) {
        if (x->rows == 0)
            for (size_t i = 0; i < n; i++)
                export_csv_field(x->out, names[i], i == n - 1);
        for (size_t i = 0; i < n; i++)
            export_csv_field(x->out, vals[i] ? vals[i] : "", i == n - 1);
    } else {
        json_t *o = json_object();
        char *s;

        for (size_t i = 0; i < n; i++) {
            json_t *v;

            if (vals[i] == NULL)
                continue;
            if (is_num[i] == 2)
                v = json_boolean(strcmp(vals[i], "true") == 0);
            else if (is_num[i] == 1 && strchr(vals[i], '.') != NULL)
                v = json_real(strtod(vals[i], NULL));
            else if (is_num[i] == 1)
                v = json_integer(strtoll(vals[i], NULL, 10));
            else
                v = json_string(vals[i]);
            json_object_set_new(o, names[i], v);
        }
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s != NULL)
            fprintf(x->out, "%s\n", s);
        free(s);
        json_decref(o);
    }
    x->rows++;
}

static int export_wanted(const struct exporter *x, const char *check)
{
    for (size_t i = 0; i < x->nchecks; i++)
        if (strcmp(x->checks[i], check) == 0)
            return 1;
    return 0;
}

static void export_result(struct exporter *x, const struct nines_result *r)
{
    static const char *const names[] = { "check",  "location", "timestamp", "ok", "latency",
                                         "reason", "probe",    "code",      "message" };
    static const int num[] = { 0, 0, 0, 2, 1, 0, 0, 1, 0 };
    char ts[32], lat[32], code[16];
    int ok = r->outcome == NINES_OUTCOME_OK;
    const char *vals[9];

    snprintf(lat, sizeof(lat), "%" PRId64 ".%03" PRId64, r->total_us / 1000,
             r->total_us % 1000);
    snprintf(code, sizeof(code), "%d", r->code);
    vals[0] = r->check_id;
    vals[1] = r->location;
    vals[2] = nines_iso8601_ms(r->start_ms, ts, sizeof(ts));
    vals[3] = ok ? "true" : "false";
    vals[4] = r->total_us >= 0 ? lat : NULL;
    vals[5] = !ok && r->reason[0] ? r->reason : NULL;
    vals[6] = r->probe[0] ? r->probe : NULL;
    vals[7] = r->code > 0 ? code : NULL;
    vals[8] = r->message[0] ? r->message : NULL;
    export_row(x, names, vals, num, 9);
}

/* One stream entry [id, [field, value, ...]]; its id into *last. */
static void export_entry(struct exporter *x, const redisReply *e, struct nines_result *r,
                         char *last, size_t len)
{
    const char *f[2 * NINES_WIRE_MAX_FIELDS + 16];
    size_t fl[2 * NINES_WIRE_MAX_FIELDS + 16];
    const redisReply *fields;
    struct nines_err err = { 0 };

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
        return;
    snprintf(last, len, "%s", e->element[0]->str);
    fields = e->element[1];
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements > sizeof(f) / sizeof(f[0]))
        return;
    for (size_t i = 0; i < fields->elements; i++) {
        f[i] = fields->element[i]->str ? fields->element[i]->str : "";
        fl[i] = fields->element[i]->str ? fields->element[i]->len : 0;
    }
    nines_result_init(r);
    if (nines_wire_decode(f, fl, fields->elements, r, &err) != 0 ||
        !export_wanted(x, r->check_id) || r->start_ms < x->from_ms || r->start_ms >= x->to_ms)
        return;
    export_result(x, r);
}

static int export_results(struct exporter *x)
{
    struct nines_result *r = malloc(sizeof(*r));
    char start[64], last[48] = "";
    int rc = 0;

    if (r == NULL)
        return CLI_FAIL;
    snprintf(start, sizeof(start), "%" PRId64,
             x->from_ms > EXPORT_STREAM_SLACK_MS ? x->from_ms - EXPORT_STREAM_SLACK_MS : 0);
    for (;;) {
        redisReply *rep = redisCommand(x->rc, "XRANGE %s %s + COUNT %d", NINES_KEY_RESULTS,
                                       start, EXPORT_BATCH);

        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "nines: export: reading %s failed: %s\n", NINES_KEY_RESULTS,
                    rep ? rep->str : x->rc->errstr);
            freeReplyObject(rep);
            rc = CLI_UNREACHABLE;
            break;
        }
        for (size_t i = 0; i < rep->elements; i++)
            export_entry(x, rep->element[i], r, last, sizeof(last));
        if (rep->elements < EXPORT_BATCH || last[0] == '\0') {
            freeReplyObject(rep);
            break;
        }
        snprintf(start, sizeof(start), "(%s", last);   /* exclusive: Redis 6.2+ */
        freeReplyObject(rep);
    }
    free(r);
    return rc;
}

static const char *export_field(const redisReply *h, const char *name)
{
    for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, name) == 0)
            return h->element[i + 1]->str;
    return "";
}

static void export_incident(struct exporter *x, const redisReply *h)
{
    static const char *const names[] = { "id",          "check",  "start",     "end",
                                         "start_ms",    "end_ms", "duration_ms", "reason",
                                         "locations",   "message", "maintenance", "source" };
    static const int num[] = { 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0 };
    long long start = atoll(export_field(h, "start_ms")), end = atoll(export_field(h, "end_ms"));
    char a[32], b[32], dur[24];
    const char *vals[12];

    if (end != 0 && end <= x->from_ms)
        return;
    snprintf(dur, sizeof(dur), "%lld", end - start);
    vals[0] = export_field(h, "id");
    vals[1] = export_field(h, "check");
    vals[2] = nines_iso8601_ms(start, a, sizeof(a));
    vals[3] = end ? nines_iso8601_ms(end, b, sizeof(b)) : NULL;
    vals[4] = export_field(h, "start_ms");
    vals[5] = end ? export_field(h, "end_ms") : NULL;
    vals[6] = end ? dur : NULL;
    for (int i = 7; i < 12; i++) {
        vals[i] = export_field(h, names[i]);
        vals[i] = vals[i][0] ? vals[i] : NULL;
    }
    export_row(x, names, vals, num, 12);
}

static int export_incidents(struct exporter *x)
{
    for (size_t i = 0; i < x->nchecks; i++) {
        redisReply *ids = redisCommand(x->rc, "ZRANGEBYSCORE %s%s -inf (%lld",
                                       STORE_KEY_CHECK_INCIDENTS, x->checks[i],
                                       (long long)x->to_ms);

        if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "nines: export: reading incidents failed: %s\n",
                    ids ? ids->str : x->rc->errstr);
            freeReplyObject(ids);
            return CLI_UNREACHABLE;
        }
        for (size_t j = 0; j < ids->elements; j++) {
            redisReply *h = redisCommand(x->rc, "HGETALL %s%s", STORE_KEY_INCIDENT,
                                         ids->element[j]->str);

            if (h != NULL && h->type == REDIS_REPLY_ARRAY && h->elements > 0)
                export_incident(x, h);
            freeReplyObject(h);
        }
        freeReplyObject(ids);
    }
    return CLI_OK;
}

/* "start-end" members of a zset (end 0: open, until now) into out. */
static int export_members(struct exporter *x, const char *prefix, const char *check,
                          struct nines_ivset *out)
{
    redisReply *r = redisCommand(x->rc, "ZRANGEBYSCORE %s%s -inf (%lld", prefix, check,
                                 (long long)x->to_ms);
    int64_t now = nines_wall_ms();

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "nines: export: reading %s%s failed\n", prefix, check);
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        long long a, b;

        if (r->element[i]->str != NULL && sscanf(r->element[i]->str, "%lld-%lld", &a, &b) == 2)
            nines_ivset_add(out, a, b == 0 ? now : b);
    }
    freeReplyObject(r);
    return 0;
}

/* No data before the live collector's first result, except imported spans. */
static int export_nodata(struct exporter *x, const char *check, struct nines_ivset *gaps)
{
    redisReply *r = redisCommand(x->rc, "HGET %s%s doc", NINES_KEY_STATE_PREFIX, check);
    struct check_state *st = malloc(sizeof(*st));
    struct nines_ivset imported, before, tmp;
    int64_t first = nines_wall_ms();
    int rc = st != NULL ? 0 : -1;

    nines_ivset_init(&imported);
    nines_ivset_init(&before);
    nines_ivset_init(&tmp);
    if (rc == 0 && r != NULL && r->type == REDIS_REPLY_STRING) {
        state_init(st, check);
        if (state_decode(st, r->str, r->len) == 0 && st->first_ms > 0)
            first = st->first_ms;
    }
    if (rc == 0)
        rc = export_members(x, HISTORY_KEY_IMPORTED, check, &imported);
    if (rc == 0 && x->from_ms < first)
        rc = nines_ivset_add(&before, x->from_ms, first);
    if (rc == 0)
        rc = nines_ivset_subtract(&before, &imported, &tmp);
    if (rc == 0)
        rc = nines_ivset_union(gaps, &tmp, &before);
    if (rc == 0)
        rc = nines_ivset_copy(&before, gaps);
    nines_ivset_close(&imported);
    nines_ivset_close(&before);
    nines_ivset_close(&tmp);
    freeReplyObject(r);
    free(st);
    return rc;
}

static int export_in(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* Whether a window listing these checks and services covers check. */
static int export_maint_covers(const struct nines_config *cfg, char **checks, size_t nc,
                               char **services, size_t ns, const char *check)
{
    if (nc == 0 && ns == 0)
        return 1;
    if (export_in(checks, nc, check))
        return 1;
    for (size_t i = 0; i < cfg->services_count; i++)
        if (export_in(services, ns, cfg->services[i].id) &&
            export_in(cfg->services[i].checks, cfg->services[i].checks_count, check))
            return 1;
    return 0;
}

static int export_expand(const struct maint_window *w, int64_t from, int64_t to,
                         struct nines_ivset *out)
{
    struct nines_err err = { 0 };
    struct nines_tz *tz = NULL;
    int rc;

    if (w->kind == MAINT_RECURRING && (tz = nines_tz_load(w->tz, &err)) == NULL) {
        fprintf(stderr, "nines: export: maintenance zone %s: %s\n", w->tz, err.msg);
        return 0;
    }
    rc = maint_expand(w, tz, from, to, out);
    nines_tz_free(tz);
    return rc;
}

/* Maintenance covering check: the configuration's windows and the stored ones. */
static int export_maintenance(struct exporter *x, const char *check, struct nines_ivset *out)
{
    const struct nines_config *cfg = x->cfg;
    redisReply *r;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < cfg->maintenance_count; i++) {
        const struct nines_maint_cfg *mc = &cfg->maintenance[i];
        struct maint_window w = { 0 };

        if (!export_maint_covers(cfg, mc->checks, mc->checks_count, mc->services,
                                 mc->services_count, check))
            continue;
        if (mc->weekdays != 0) {
            w.kind = MAINT_RECURRING;
            w.weekdays = (unsigned)mc->weekdays;
            w.start_min = mc->start_minute;
            w.duration_ms = mc->duration_ms;
            snprintf(w.tz, sizeof(w.tz), "%s", mc->timezone ? mc->timezone : "UTC");
        } else {
            w.start_ms = mc->start_ms;
            w.end_ms = mc->end_ms;
        }
        rc = export_expand(&w, x->from_ms, x->to_ms, out);
    }
    r = redisCommand(x->rc, "HVALS %s", SLA_KEY_MAINTENANCE);
    for (size_t i = 0; rc == 0 && r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++) {
        struct nines_err err = { 0 };
        struct sla_maint m;

        if (sla_maint_from_json(r->element[i]->str, r->element[i]->len, &m, &err) != 0)
            continue;
        if (export_maint_covers(cfg, m.checks, m.checks_count, m.services, m.services_count,
                                check))
            rc = export_expand(&m.w, x->from_ms, x->to_ms, out);
        sla_maint_clear(&m);
    }
    freeReplyObject(r);
    return rc;
}

static void export_day_row(struct exporter *x, const char *date, const char *check,
                           const struct uptime_result *u)
{
    static const char *const names[] = { "date",        "check",     "window_ms",
                                         "maintenance_ms", "nodata_ms", "downtime_ms",
                                         "eligible_ms", "uptime" };
    static const int num[] = { 0, 0, 1, 1, 1, 1, 1, 1 };
    char v[6][32];
    const char *vals[8] = { date, check, v[0], v[1], v[2], v[3], v[4], v[5] };

    snprintf(v[0], sizeof(v[0]), "%" PRId64, u->window_ms);
    snprintf(v[1], sizeof(v[1]), "%" PRId64, u->maintenance_ms);
    snprintf(v[2], sizeof(v[2]), "%" PRId64, u->nodata_ms);
    snprintf(v[3], sizeof(v[3]), "%" PRId64, u->downtime_ms);
    snprintf(v[4], sizeof(v[4]), "%" PRId64, u->eligible_ms);
    snprintf(v[5], sizeof(v[5]), "%.9f", u->uptime);
    export_row(x, names, vals, num, 8);
}

static int export_check_days(struct exporter *x, const struct nines_tz *tz, const char *check)
{
    struct nines_ivset down, gaps, maint;
    struct nines_tm tm;
    int64_t day;
    int rc = 0, n = 0;

    nines_ivset_init(&down);
    nines_ivset_init(&gaps);
    nines_ivset_init(&maint);
    if (export_members(x, STORE_KEY_DOWN, check, &down) != 0 ||
        export_members(x, STORE_KEY_GAPS, check, &gaps) != 0 ||
        export_nodata(x, check, &gaps) != 0 || export_maintenance(x, check, &maint) != 0)
        rc = CLI_FAIL;
    nines_tz_utc_to_local(tz, x->from_ms, &tm);
    day = nines_tz_day_start_utc_ms(tz, tm.year, tm.month, tm.day);
    while (rc == 0 && day < x->to_ms && n++ < EXPORT_MAX_DAYS) {
        struct uptime_input in = { 0 };
        struct uptime_result u;
        char date[16];
        int64_t next;

        nines_tz_utc_to_local(tz, day, &tm);
        next = nines_tz_day_start_utc_ms(tz, tm.year, tm.month, tm.day + 1);
        snprintf(date, sizeof(date), "%04d-%02d-%02d", tm.year, tm.month, tm.day);
        in.from_ms = day > x->from_ms ? day : x->from_ms;
        in.to_ms = next < x->to_ms ? next : x->to_ms;
        in.down = &down;
        in.maintenance = &maint;
        in.nodata = &gaps;
        if (uptime_compute(&in, &u) != 0)
            rc = CLI_FAIL;
        else
            export_day_row(x, date, check, &u);
        day = next;
    }
    nines_ivset_close(&down);
    nines_ivset_close(&gaps);
    nines_ivset_close(&maint);
    return rc;
}

static int export_days(struct exporter *x)
{
    struct nines_err err = { 0 };
    struct nines_tz *tz = nines_tz_load(x->tz_name, &err);
    int rc = CLI_OK;

    if (tz == NULL) {
        fprintf(stderr, "nines: export: timezone %s: %s\n", x->tz_name, err.msg);
        return CLI_FAIL;
    }
    if ((x->to_ms - x->from_ms) / EXPORT_DAY_MS > EXPORT_MAX_DAYS) {
        fprintf(stderr, "nines: export: --from/--to: at most %d days\n", EXPORT_MAX_DAYS);
        rc = CLI_USAGE;
    }
    for (size_t i = 0; rc == CLI_OK && i < x->nchecks; i++)
        rc = export_check_days(x, tz, x->checks[i]);
    nines_tz_free(tz);
    return rc;
}

/* The checks --service or --customer name, from the configuration. */
static int export_select(struct exporter *x, const char *service, const char *customer)
{
    const struct nines_config *cfg = x->cfg;
    const struct nines_customer_cfg *cu = NULL;

    if (customer != NULL && (cu = cli_customer(cfg, customer)) == NULL) {
        fprintf(stderr, "nines: export: --customer: no customer '%s' in %s\n", customer,
                cfg->path);
        return CLI_USAGE;
    }
    if (cu != NULL && cu->timezone != NULL)
        x->tz_name = cu->timezone;
    x->checks = calloc(cfg->checks_count + 1, sizeof(*x->checks));
    if (x->checks == NULL)
        return CLI_FAIL;
    for (size_t i = 0; i < cfg->services_count; i++) {
        const struct nines_service_cfg *s = &cfg->services[i];

        if (service != NULL ? strcmp(s->id, service) != 0
                            : !export_in(cu->services, cu->services_count, s->id))
            continue;
        for (size_t j = 0; j < s->checks_count; j++)
            if (!export_in(x->checks, x->nchecks, s->checks[j]))
                x->checks[x->nchecks++] = s->checks[j];
    }
    if (x->nchecks == 0) {
        fprintf(stderr, "nines: export: %s '%s' has no checks in %s\n",
                service ? "--service" : "--customer", service ? service : customer, cfg->path);
        return CLI_USAGE;
    }
    return 0;
}

static int export_usage(FILE *f)
{
    fprintf(f,
            "usage: nines export --check ID|--service ID|--customer ID --from T --to T\n"
            "                    [--what results|incidents|days] [--format csv|jsonl]\n"
            "                    [-o FILE] [-c CONFIG] [--redis URL]\n"
            "T is 2026-11-28, 2026-11-28T17:00:00Z, ms since the epoch or now-24h.\n"
            "results: raw results still in the stream, in the columns `nines import`\n"
            "reads; incidents: those overlapping [from, to); days: per check and day\n"
            "(the customer's timezone, else UTC) the exact figures behind uptime.\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

struct export_args {
    const char *config, *url, *check, *service, *customer, *out;
    enum export_what what;
    int have_from, have_to;
};

static int export_parse_args(int argc, char **argv, struct export_args *a, struct exporter *x)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
        { "check", required_argument, NULL, 'k' },  { "service", required_argument, NULL, 's' },
        { "customer", required_argument, NULL, 'u' }, { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },     { "what", required_argument, NULL, 'w' },
        { "format", required_argument, NULL, 'F' }, { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:o:h", longopts, NULL)) != -1) {
        if (c == 'c' || c == 'r' || c == 'k' || c == 's' || c == 'u' || c == 'o')
            *(c == 'c'   ? &a->config
              : c == 'r' ? &a->url
              : c == 'k' ? &a->check
              : c == 's' ? &a->service
              : c == 'u' ? &a->customer
                         : &a->out) = optarg;
        else if ((c == 'f' || c == 't') &&
                 cli_parse_time(optarg, c == 'f' ? &x->from_ms : &x->to_ms) == 0)
            *(c == 'f' ? &a->have_from : &a->have_to) = 1;
        else if (c == 'w' && strcmp(optarg, "results") == 0)
            a->what = EXPORT_RESULTS;
        else if (c == 'w' && strcmp(optarg, "incidents") == 0)
            a->what = EXPORT_INCIDENTS;
        else if (c == 'w' && strcmp(optarg, "days") == 0)
            a->what = EXPORT_DAYS;
        else if (c == 'F' && (strcmp(optarg, "csv") == 0 || strcmp(optarg, "jsonl") == 0))
            x->csv = optarg[0] == 'c';
        else {
            if (c == 'f' || c == 't' || c == 'w' || c == 'F')
                fprintf(stderr, "nines: export: bad value '%s' for --%s\n", optarg,
                        c == 'f' ? "from" : c == 't' ? "to" : c == 'w' ? "what" : "format");
            return c == 'h' ? export_usage(stdout) : export_usage(stderr);
        }
    }
    if (optind != argc || !a->have_from || !a->have_to || x->to_ms <= x->from_ms ||
        (a->check != NULL) + (a->service != NULL) + (a->customer != NULL) != 1) {
        fprintf(stderr, "nines: export: give one of --check, --service, --customer and "
                        "--from < --to\n");
        return export_usage(stderr);
    }
    return -1;
}

static int export_run(struct exporter *x, const struct export_args *a)
{
    struct nines_redis_addr addr;
    int rc = cli_redis_addr_cfg(a->url, x->cfg, &addr);

    if (rc != 0)
        return rc;
    if ((x->rc = cli_redis_connect(&addr)) == NULL)
        return CLI_UNREACHABLE;
    x->out = stdout;
    if (a->out != NULL && (x->out = fopen(a->out, "w")) == NULL) {
        fprintf(stderr, "nines: export: %s: %s\n", a->out, strerror(errno));
        x->out = NULL;
        return CLI_USAGE;
    }
    if (a->what == EXPORT_RESULTS)
        rc = export_results(x);
    else if (a->what == EXPORT_INCIDENTS)
        rc = export_incidents(x);
    else
        rc = export_days(x);
    if ((x->out != stdout ? fclose(x->out) : fflush(x->out)) != 0 && rc == 0) {
        fprintf(stderr, "nines: export: writing %s failed\n", a->out ? a->out : "stdout");
        rc = CLI_FAIL;
    }
    return rc;
}

int cli_export(int argc, char **argv)
{
    struct export_args a = { 0 };
    struct exporter x = { 0 };
    struct nines_config *cfg = NULL;
    char *one[1];
    int rc = export_parse_args(argc, argv, &a, &x);

    if (rc >= 0)
        return rc;
    a.config = cli_config_path(a.config);
    if ((cfg = cli_config_load(a.config)) == NULL)
        return CLI_USAGE;
    x.cfg = cfg;
    x.tz_name = "UTC";
    if (a.check != NULL) {
        int known = 0;

        for (size_t i = 0; i < cfg->checks_count; i++)
            known |= strcmp(cfg->checks[i].id, a.check) == 0;
        one[0] = (char *)a.check;
        x.checks = one;
        x.nchecks = 1;
        rc = known ? 0 : CLI_USAGE;
        if (!known)
            fprintf(stderr, "nines: export: --check: no check '%s' in %s\n", a.check,
                    a.config);
    } else {
        rc = export_select(&x, a.service, a.customer);
    }
    if (rc == 0)
        rc = export_run(&x, &a);
    if (x.checks != one)
        free(x.checks);
    redisFree(x.rc);
    nines_config_free(cfg);
    return rc;
}
