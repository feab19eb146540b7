/*
 * nines audit verify [--from T] [--to T]
 * nines audit export [--from T] [--to T] [--format csv|json] [-o FILE]
 *
 * Both walk the hash-chained stream nines:audit (nines/auditchain.h): verify
 * names the first altered or deleted entry; export writes the entries with
 * their prev and hash, so an extract can be checked on its own, and still
 * reports (exit 1) when the range does not verify.
 *
 * cli_audit_record is how the CLI's own actions (ack, silence, drills,
 * maintenance) enter the log, at the moment it acts.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nines/auditchain.h"

struct audit_out {
    FILE *f;
    int json;
    size_t n;
};

static int audit_usage(FILE *f)
{
    fprintf(f, "usage: nines audit verify [--from T] [--to T] [-c FILE | --redis URL]\n"
               "       nines audit export [--from T] [--to T] [--format csv|json] [-o FILE]\n"
               "                          [-c FILE | --redis URL]\n"
               "T: 2026-12-01T22:00:00Z, a date, ms since the epoch, or now-DURATION.\n"
               "Exit 0 when every entry in the range verifies, 1 when one does not (the\n"
               "first broken entry is named), 3 when Redis cannot be reached.\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

int cli_audit_record(redisContext *rc, const char *by, const char *action, const char *target,
                     const char *detail)
{
    struct nines_err err = { 0 };
    const char *actor = by != NULL && by[0] != '\0' ? by : getenv("USER");

    if (actor == NULL || actor[0] == '\0')
        actor = "unknown";
    if (detail != NULL && strlen(detail) >= AUDITCHAIN_DETAIL_MAX)
        detail = "{\"truncated\":true}";      /* a cut JSON text would not parse */
    if (auditchain_append_sync(rc, actor, "cli", action, target, detail, NULL, &err) != 0) {
        fprintf(stderr, "nines: warning: the audit log did not record %s: %s\n", action,
                err.msg);
        return -1;
    }
    return 0;
}

static void audit_iso(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    if (gmtime_r(&s, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, 32, "%" PRId64, ms);
        return;
    }
    snprintf(out + strlen(out), 32 - strlen(out), ".%03dZ", (int)(ms % 1000));
}

/* One CSV field, quoted when it holds a comma, a quote or a line break. */
static void audit_csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
    } else {
        fputc('"', f);
        for (; *s != '\0'; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    }
    fputc(last ? '\n' : ',', f);
}

static int audit_write_entry(const struct auditchain_entry *e, int ok, void *arg)
{
    struct audit_out *o = arg;
    char ts[32], seq[24], ms[24];

    audit_iso(e->ts_ms, ts);
    if (o->json) {
        json_t *j = json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "id", e->id,
                              "seq", (json_int_t)e->seq, "time", ts, "ts_ms",
                              (json_int_t)e->ts_ms, "actor", e->actor, "source", e->source,
                              "action", e->action, "target", e->target, "detail", e->detail,
                              "prev", e->prev, "hash", e->hash, "verified", ok);

        if (j == NULL)
            return -1;
        fputs(o->n ? ",\n" : "\n", o->f);
        json_dumpf(j, o->f, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
    } else {
        const char *v[12];

        snprintf(seq, sizeof(seq), "%" PRId64, e->seq);
        snprintf(ms, sizeof(ms), "%" PRId64, e->ts_ms);
        v[0] = e->id, v[1] = seq, v[2] = ts, v[3] = ms, v[4] = e->actor, v[5] = e->source;
        v[6] = e->action, v[7] = e->target, v[8] = e->detail, v[9] = e->prev, v[10] = e->hash;
        v[11] = ok ? "yes" : "NO";
        for (int i = 0; i < 12; i++)
            audit_csv_field(o->f, v[i], i == 11);
    }
    o->n++;
    return 0;
}

/* --from/--to as stream ids: ms, or the ends. */
static int audit_range(const char *from, const char *to, char a[32], char b[32])
{
    int64_t ms;

    snprintf(a, 32, "-");
    snprintf(b, 32, "+");
    if (from != NULL) {
        if (cli_parse_time(from, &ms) != 0 || ms < 0) {
            fprintf(stderr, "nines: --from '%s' is not a time\n", from);
            return CLI_USAGE;
        }
        snprintf(a, 32, "%" PRId64, ms);
    }
    if (to != NULL) {
        if (cli_parse_time(to, &ms) != 0 || ms < 0) {
            fprintf(stderr, "nines: --to '%s' is not a time\n", to);
            return CLI_USAGE;
        }
        snprintf(b, 32, "%" PRId64, ms);
    }
    return CLI_OK;
}

static int audit_run(redisContext *rc, int export, const char *a, const char *b,
                     struct audit_out *o)
{
    struct auditchain_verifier v;
    struct nines_err err = { 0 };
    int st;

    if (export && o->json)
        fputs("{\"stream\":\"" AUDITCHAIN_KEY "\",\"entries\":[", o->f);
    else if (export)
        fputs("id,seq,time,ts_ms,actor,source,action,target,detail,prev,hash,verified\n", o->f);
    st = auditchain_walk(rc, a, b, &v, export ? audit_write_entry : NULL, o, &err);
    if (export && o->json) {
        json_t *tail = json_pack("{s:s,s:s,s:s,s:I,s:s,s:b,s:s}", "from", a, "to", b,
                                 "first_prev", v.count ? v.first_prev : "",
                                 "count", (json_int_t)v.count, "last_hash", v.last_hash,
                                 "verified", st == 0, "error", st == 0 ? "" : err.msg);
        char *t = tail != NULL ? json_dumps(tail, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

        /* the summary's keys follow the entries in the same object */
        fprintf(o->f, "\n],%s\n", t != NULL ? t + 1 : "\"error\":\"out of memory\"}");
        free(t);
        json_decref(tail);
    }
    if (st == NINES_EIO || st == NINES_ENOMEM) {
        fprintf(stderr, "nines: %s\n", err.msg);
        return CLI_UNREACHABLE;
    }
    if (st != 0) {
        fprintf(stderr, "nines: audit log does not verify: %s\n", err.msg);
        return CLI_FAIL;
    }
    if (!export)
        printf("audit log verified: %zu entries%s%s, up to seq %" PRId64 "\n"
               "first prev %s\nlast hash  %s\n", v.count, a[0] == '-' ? " from the start" : "",
               b[0] == '+' ? " to the head" : "", v.last_seq,
               v.count ? v.first_prev : "(none)", v.count ? v.last_hash : "(none)");
    return CLI_OK;
}

int cli_audit(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "from", required_argument, NULL, 'f' },   { "to", required_argument, NULL, 't' },
        { "format", required_argument, NULL, 'F' }, { "output", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    const char *from = NULL, *to = NULL, *format = "csv", *out = NULL, *config = NULL,
               *url = NULL;
    struct audit_out o = { stdout, 0, 0 };
    struct nines_redis_addr addr;
    redisContext *rc;
    char a[32], b[32];
    int opt, st, export;

    if (argc < 2 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "export") != 0))
        return audit_usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    export = argv[1][0] == 'e';
    optind = 2;
    while ((opt = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'F': format = optarg; break;
        case 'o': out = optarg; break;
        case 'c': config = optarg; break;
        case 'r': url = optarg; break;
        case 'h': return audit_usage(stdout);
        default: return audit_usage(stderr);
        }
    }
    if (optind != argc || (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) ||
        (!export && (out != NULL || strcmp(format, "csv") != 0)))
        return audit_usage(stderr);
    o.json = strcmp(format, "json") == 0;
    st = audit_range(from, to, a, b);
    if (st == CLI_OK)
        st = cli_redis_addr(url, config, &addr);
    if (st != CLI_OK)
        return st;
    rc = cli_redis_connect(&addr);
    if (rc == NULL)
        return CLI_UNREACHABLE;
    if (out != NULL && (o.f = fopen(out, "w")) == NULL) {
        perror(out);
        redisFree(rc);
        return CLI_FAIL;
    }
    st = audit_run(rc, export, a, b, &o);
    if (out != NULL && fclose(o.f) != 0 && st == CLI_OK) {
        perror(out);
        st = CLI_FAIL;
    }
    redisFree(rc);
    return st;
}
