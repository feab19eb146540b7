/*
 * nines import FILE [-c CONFIG] [--redis URL] [--format jsonl|csv] [--dry-run]
 *
 * Historical results (include/nines/import.h has the columns) into the
 * store, all or nothing, idempotently:
 *
 * 1. One parse of the input (a file or "-" for stdin). Every bad row, every
 *    unknown check or location, every future timestamp is printed as
 *    FILE:LINE: ...; any of them and nothing is written (exit 1). Good rows
 *    are spilled, compactly, to an anonymous temporary file in per-check
 *    chunks (IMPORT_CHUNK bytes buffered per check), so memory does not grow
 *    with the file.
 * 2. Per check: its chunks are read back (at most IMPORT_CHECK_MAX_BYTES,
 *    about 5 M results: the input need not be sorted), sorted by time,
 *    duplicate rows (same location and time) dropped, and replayed through
 *    collector/history.c. Its incidents, down intervals, gaps, latency and
 *    covered span are written in one MULTI/EXEC.
 *
 * Every write is idempotent: zset members "start-end", incidents hashed by
 * CHECK@START, and a day's latency added to the live histogram only if the
 * digest of that day's imported rows is not yet in its digest set (one Lua
 * script, so check-and-add is atomic). Imports never touch the results
 * stream or the live check state: they are meant for time before live
 * monitoring (or its gaps). Where they overlap, down intervals add up as a
 * union, both incidents are listed, and a warning is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "history.h"
#include "nines/clock.h"
#include "nines/import.h"
#include "state.h"
#include "store.h"

#define IMPORT_CHUNK 16384
#define IMPORT_CHECK_MAX_BYTES (256u << 20)
#define IMPORT_REC_HEAD 26   /* start 8, total 8, code 4, ok 1, loc 1, reason len 1, pad 1,
                              * message len 2; then reason and message bytes */
#define IMPORT_ERRORS_SHOWN 1000

struct import_chunk {
    off_t off;
    uint32_t len;
};

struct import_check {
    unsigned char buf[IMPORT_CHUNK];
    size_t used;
    struct import_chunk *chunk;
    size_t nchunk, cap;
    uint64_t bytes, rows;
    int64_t max_ms;
    char loc[STATE_MAX_LOCATIONS][NINES_ID_LEN];
    size_t nloc;
};

struct importer {
    const char *name;
    const struct nines_config *cfg;
    int fd;                     /* the spill file */
    FILE *spill;
    off_t spill_end;
    struct import_check **chk;  /* per configured check, allocated on its first row */
    size_t errors;
    uint64_t rows, duplicates, incidents, gaps, days, days_expired;
    int dry_run;
};

/* One entry of a check's sort: where its record is and what orders it. */
struct import_key {
    int64_t start_ms;
    uint32_t loc;
    uint32_t off;
};

static long import_check_index(const struct nines_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->checks_count; i++)
        if (strcmp(cfg->checks[i].id, id) == 0)
            return (long)i;
    return -1;
}

static int import_known(const char *check_id, void *arg)
{
    return import_check_index(arg, check_id) >= 0;
}

static void import_error(struct importer *im, int line, const char *fmt, const char *a,
                         const char *b)
{
    if (im->errors++ >= IMPORT_ERRORS_SHOWN)
        return;
    fprintf(stderr, "%s:%d: ", im->name, line);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
}

static int import_flush_chunk(struct importer *im, struct import_check *k)
{
    size_t done = 0;

    if (k->used == 0)
        return 0;
    if (k->nchunk == k->cap) {
        size_t ncap = k->cap ? 2 * k->cap : 64;
        struct import_chunk *p = realloc(k->chunk, ncap * sizeof(*p));

        if (p == NULL)
            return NINES_ENOMEM;
        k->chunk = p;
        k->cap = ncap;
    }
    while (done < k->used) {
        ssize_t n = pwrite(im->fd, k->buf + done, k->used - done, im->spill_end + (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "nines: import: writing the temporary file failed: %s\n",
                    n < 0 ? strerror(errno) : "no space");
            return NINES_EIO;
        }
        done += (size_t)n;
    }
    k->chunk[k->nchunk].off = im->spill_end;
    k->chunk[k->nchunk++].len = (uint32_t)k->used;
    im->spill_end += (off_t)k->used;
    k->used = 0;
    return 0;
}

/* The index of r's location among the check's, added if new; -1 when full. */
static int import_location(struct import_check *k, const char *loc)
{
    for (size_t i = 0; i < k->nloc; i++)
        if (strcmp(k->loc[i], loc) == 0)
            return (int)i;
    if (k->nloc >= STATE_MAX_LOCATIONS)
        return -1;
    snprintf(k->loc[k->nloc], NINES_ID_LEN, "%s", loc);
    return (int)k->nloc++;
}

/* Checks r against its check's configuration and spills it. 0, or <0 to stop. */
static int import_take(struct importer *im, const struct nines_result *r, int line)
{
    long i = import_check_index(im->cfg, r->check_id);
    const struct nines_check *c = &im->cfg->checks[i];
    size_t rl = strlen(r->reason), ml = strlen(r->message), need = IMPORT_REC_HEAD + rl + ml;
    struct import_check *k;
    unsigned char *p;
    int loc;
    int32_t code = r->code;
    uint16_t ml16 = (uint16_t)ml;

    if (!nines_check_runs_at(c, r->location)) {
        import_error(im, line, "location: '%s' is not a location of check '%s'", r->location,
                     r->check_id);
        return 0;
    }
    if (im->chk[i] == NULL && (im->chk[i] = calloc(1, sizeof(*im->chk[i]))) == NULL)
        return NINES_ENOMEM;
    k = im->chk[i];
    if ((loc = import_location(k, r->location)) < 0) {
        import_error(im, line, "location: check '%s' has more locations than %s", r->check_id,
                     "the 32 a check can have");
        return 0;
    }
    if (k->bytes + need > IMPORT_CHECK_MAX_BYTES) {
        import_error(im, line, "check '%s': too many results in one import%s", r->check_id,
                     " (256 MiB of them); split the file by time");
        return 0;
    }
    if (im->errors > 0)
        return 0;     /* nothing will be written: spare the spilling */
    if (k->used + need > IMPORT_CHUNK && import_flush_chunk(im, k) != 0)
        return NINES_EIO;
    p = k->buf + k->used;
    memcpy(p, &r->start_ms, 8);
    memcpy(p + 8, &r->total_us, 8);
    memcpy(p + 16, &code, 4);
    p[20] = r->outcome == NINES_OUTCOME_OK;
    p[21] = (unsigned char)loc;
    p[22] = (unsigned char)rl;
    p[23] = 0;
    memcpy(p + 24, &ml16, 2);
    memcpy(p + IMPORT_REC_HEAD, r->reason, rl);
    memcpy(p + IMPORT_REC_HEAD + rl, r->message, ml);
    k->used += need;
    k->bytes += need;
    k->rows++;
    if (r->start_ms > k->max_ms)
        k->max_ms = r->start_ms;
    im->rows++;
    return 0;
}

/* Pass 1: parse everything, report every problem, spill the good rows. */
static int import_parse(struct importer *im, FILE *f, enum nines_import_format fmt)
{
    struct nines_import *p = NULL;
    struct nines_result *r = malloc(sizeof(*r));
    struct nines_err err = { 0 };
    int rc;

    if (r == NULL)
        return NINES_ENOMEM;
    rc = nines_import_open(f, im->name, fmt, nines_wall_ms(), &p, &err);
    if (rc != 0) {
        fprintf(stderr, "%s:%d: %s\n", im->name, err.line, err.msg);
        im->errors++;
        free(r);
        return rc == NINES_EINVAL ? 0 : rc;
    }
    nines_import_set_known(p, import_known, (void *)im->cfg);
    while ((rc = nines_import_next(p, r, &err)) != 0) {
        if (rc == NINES_EINVAL) {
            if (im->errors++ >= IMPORT_ERRORS_SHOWN)
                continue;
            if (err.column > 0)
                fprintf(stderr, "%s:%d:%d: %s\n", im->name, err.line, err.column, err.msg);
            else
                fprintf(stderr, "%s:%d: %s\n", im->name, err.line, err.msg);
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "%s: read error: %s\n", im->name, err.msg);
            break;
        }
        if ((rc = import_take(im, r, nines_import_line(p))) != 0)
            break;
    }
    nines_import_free(p);
    free(r);
    return rc;
}

static int import_key_cmp(const void *pa, const void *pb)
{
    const struct import_key *a = pa, *b = pb;

    if (a->start_ms != b->start_ms)
        return a->start_ms < b->start_ms ? -1 : 1;
    if (a->loc != b->loc)
        return a->loc < b->loc ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;
}

/* A check's records back into memory: buf (bytes) and their sorted keys. */
static int import_load(struct importer *im, struct import_check *k, unsigned char **buf,
                       struct import_key **keys)
{
    size_t pos = 0, n = 0;

    *buf = malloc(k->bytes ? k->bytes : 1);
    *keys = malloc((k->rows ? k->rows : 1) * sizeof(**keys));
    if (*buf == NULL || *keys == NULL)
        return NINES_ENOMEM;
    for (size_t c = 0; c < k->nchunk; c++) {
        size_t got = 0;

        while (got < k->chunk[c].len) {
            ssize_t r = pread(im->fd, *buf + pos + got, k->chunk[c].len - got,
                              k->chunk[c].off + (off_t)got);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                fprintf(stderr, "nines: import: reading the temporary file failed\n");
                return NINES_EIO;
            }
            got += (size_t)r;
        }
        pos += got;
    }
    memcpy(*buf + pos, k->buf, k->used);
    for (size_t off = 0; off < k->bytes && n < k->rows; n++) {
        const unsigned char *p = *buf + off;
        uint16_t ml;

        memcpy(&(*keys)[n].start_ms, p, 8);
        (*keys)[n].loc = p[21];
        (*keys)[n].off = (uint32_t)off;
        memcpy(&ml, p + 24, 2);
        off += IMPORT_REC_HEAD + p[22] + ml;
    }
    qsort(*keys, n, sizeof(**keys), import_key_cmp);
    return 0;
}

static void import_record(const struct import_check *k, const char *check,
                          const unsigned char *p, struct nines_result *r)
{
    int32_t code;
    uint16_t ml;

    nines_result_init(r);
    snprintf(r->check_id, sizeof(r->check_id), "%s", check);
    snprintf(r->location, sizeof(r->location), "%s", k->loc[p[21]]);
    snprintf(r->probe, sizeof(r->probe), "import");
    memcpy(&r->start_ms, p, 8);
    memcpy(&r->total_us, p + 8, 8);
    memcpy(&code, p + 16, 4);
    r->code = code;
    r->outcome = p[20] ? NINES_OUTCOME_OK : NINES_OUTCOME_FAIL;
    memcpy(r->reason, p + IMPORT_REC_HEAD, p[22]);
    memcpy(&ml, p + 24, 2);
    memcpy(r->message, p + IMPORT_REC_HEAD + p[22], ml);
    nines_import_id(check, r->location, r->start_ms, r->id, sizeof(r->id));
}

/* Pass 2 for one check: sorted, deduplicated, replayed. */
static int import_replay(struct importer *im, const struct nines_check *c,
                         struct import_check *k, struct history *h)
{
    unsigned char *buf = NULL;
    struct import_key *keys = NULL;
    struct nines_result *r = malloc(sizeof(*r));
    int rc = r != NULL ? import_load(im, k, &buf, &keys) : NINES_ENOMEM;

    for (uint64_t i = 0; rc == 0 && i < k->rows; i++) {
        if (i > 0 && keys[i].start_ms == keys[i - 1].start_ms &&
            keys[i].loc == keys[i - 1].loc) {
            im->duplicates++;    /* the same row again: the same id, counted once */
            continue;
        }
        import_record(k, c->id, buf + keys[i].off, r);
        rc = history_apply(h, r);
    }
    if (rc == 0)
        rc = history_finish(h);
    if (rc != 0 && rc != NINES_EIO)
        fprintf(stderr, "nines: import: check %s: replay failed (%s)\n", c->id,
                rc == NINES_ENOMEM ? "out of memory" : "bad record");
    free(r);
    free(buf);
    free(keys);
    return rc;
}

/* Adds the day's histogram unless this digest was counted already. */
static const char import_latency_lua[] =
    "if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end "
    "for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end "
    "redis.call('EXPIREAT', KEYS[1], ARGV[2], 'NX') "
    "redis.call('EXPIREAT', KEYS[2], ARGV[2], 'NX') "
    "return 1";

/* Queues one day's latency; returns the number of commands queued (0 or 1). */
static int import_queue_day(struct importer *im, redisContext *rc, const char *check,
                            const struct history_day *d)
{
    static const char *argv[6 + 2 * NINES_HISTO_SLOTS];
    static size_t len[6 + 2 * NINES_HISTO_SLOTS];
    static char num[2 * NINES_HISTO_SLOTS][NINES_HISTO_FIELD_MAX];
    char key[NINES_ID_LEN + 48], idx[NINES_ID_LEN + 80], at[24];
    int64_t expire_s = (d->day_ms + 86400000) / 1000 + STORE_LATENCY_TTL_S;
    size_t n = 0, m = 0;

    if (expire_s <= nines_wall_ms() / 1000) {
        im->days_expired++;     /* older than the live collector keeps latency */
        return 0;
    }
    store_latency_key(check, d->day_ms, key, sizeof(key));
    snprintf(idx, sizeof(idx), "%s%s", HISTORY_KEY_LATENCY_IMPORTS,
             key + strlen(STORE_KEY_LATENCY));
    snprintf(at, sizeof(at), "%" PRId64, expire_s);
    argv[n++] = "EVAL";
    argv[n++] = import_latency_lua;
    argv[n++] = "2";
    argv[n++] = key;
    argv[n++] = idx;
    argv[n++] = d->digest;
    argv[n++] = at;
    for (int s = 0; s < NINES_HISTO_SLOTS; s++) {
        if (d->h.bucket[s] == 0)
            continue;
        snprintf(num[m], sizeof(num[m]), "%d", s);
        argv[n++] = num[m++];
        snprintf(num[m], sizeof(num[m]), "%" PRIu64, d->h.bucket[s]);
        argv[n++] = num[m++];
    }
    for (size_t i = 0; i < n; i++)
        len[i] = strlen(argv[i]);
    redisAppendCommandArgv(rc, (int)n, argv, len);
    im->days++;
    return 1;
}

static int import_queue_incident(redisContext *rc, const char *check,
                                 const struct history_incident *in)
{
    char id[NINES_ID_LEN + 32], start[24], end[24], member[48];

    store_incident_id(check, in->start_ms, id, sizeof(id));
    snprintf(start, sizeof(start), "%" PRId64, in->start_ms);
    snprintf(end, sizeof(end), "%" PRId64, in->end_ms);
    snprintf(member, sizeof(member), "%s-%s", start, end);
    redisAppendCommand(rc,
                       "HSET %s%s id %s check %s start_ms %s end_ms %s reason %s message %s "
                       "locations %s source import",
                       STORE_KEY_INCIDENT, id, id, check, start, end, in->reason, in->message,
                       in->locations);
    redisAppendCommand(rc, "ZADD %s %s %s", STORE_KEY_INCIDENTS, start, id);
    redisAppendCommand(rc, "ZADD %s%s %s %s", STORE_KEY_CHECK_INCIDENTS, check, start, id);
    redisAppendCommand(rc, "ZADD %s%s %s %s", STORE_KEY_DOWN, check, start, member);
    return 4;
}

/* Reads n queued replies; the EXEC one must be an array without errors. */
static int import_replies(redisContext *rc, int n, const char *check)
{
    int bad = 0;

    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;

        if (redisGetReply(rc, (void **)&r) != REDIS_OK) {
            fprintf(stderr, "nines: import: check %s: Redis: %s\n", check, rc->errstr);
            return NINES_EIO;
        }
        if (r->type == REDIS_REPLY_ERROR && !bad++)
            fprintf(stderr, "nines: import: check %s: Redis: %s\n", check, r->str);
        if (i == n - 1 && r->type == REDIS_REPLY_ARRAY)
            for (size_t j = 0; j < r->elements; j++)
                if (r->element[j]->type == REDIS_REPLY_ERROR && !bad++)
                    fprintf(stderr, "nines: import: check %s: Redis: %s\n", check,
                            r->element[j]->str);
        if (i == n - 1 && r->type != REDIS_REPLY_ARRAY)
            bad++;
        freeReplyObject(r);
    }
    return bad ? NINES_EIO : 0;
}

/* One check's history, in one transaction. */
static int import_write(struct importer *im, redisContext *rc, const char *check,
                        const struct history *h)
{
    const struct history_incident *inc;
    const struct history_gap *gap;
    const struct history_day *day;
    size_t ninc = history_incidents(h, &inc), ngap = history_gaps(h, &gap);
    size_t nday = history_days(h, &day);
    int64_t from, to;
    int n = 2;

    im->incidents += ninc;
    im->gaps += ngap;
    if (im->dry_run) {
        im->days += nday;
        return 0;
    }
    redisAppendCommand(rc, "MULTI");
    for (size_t i = 0; i < ninc; i++)
        n += import_queue_incident(rc, check, &inc[i]);
    for (size_t i = 0; i < ngap; i++, n++)
        redisAppendCommand(rc, "ZADD %s%s %lld %lld-%lld", STORE_KEY_GAPS, check,
                           (long long)gap[i].from_ms, (long long)gap[i].from_ms,
                           (long long)gap[i].to_ms);
    if (history_span(h, &from, &to)) {
        redisAppendCommand(rc, "ZADD %s%s %lld %lld-%lld", HISTORY_KEY_IMPORTED, check,
                           (long long)from, (long long)from, (long long)to);
        n++;
    }
    for (size_t i = 0; i < nday; i++)
        n += import_queue_day(im, rc, check, &day[i]);
    redisAppendCommand(rc, "EXEC");
    return import_replies(rc, n, check);
}

/* Warns when imported results reach into the check's live monitoring. */
static void import_overlap(redisContext *rc, const char *check, int64_t max_ms)
{
    redisReply *r = redisCommand(rc, "HGET %s%s doc", NINES_KEY_STATE_PREFIX, check);
    struct check_state *st = malloc(sizeof(*st));
    char a[32];

    if (st != NULL && r != NULL && r->type == REDIS_REPLY_STRING) {
        state_init(st, check);
        if (state_decode(st, r->str, r->len) == 0 && st->first_ms > 0 && max_ms >= st->first_ms)
            fprintf(stderr,
                    "nines: import: warning: check %s: imported results reach into live "
                    "monitoring (since %s); both are kept\n",
                    check, nines_iso8601_ms(st->first_ms, a, sizeof(a)));
    }
    freeReplyObject(r);
    free(st);
}

static int import_all(struct importer *im, redisContext *rc)
{
    for (size_t i = 0; i < im->cfg->checks_count; i++) {
        const struct nines_check *c = &im->cfg->checks[i];
        struct history *h;
        int err;

        if (im->chk[i] == NULL || im->chk[i]->rows == 0)
            continue;
        if ((h = history_new(c)) == NULL)
            return NINES_ENOMEM;
        err = import_replay(im, c, im->chk[i], h);
        if (err == 0 && rc != NULL)
            import_overlap(rc, c->id, im->chk[i]->max_ms);
        if (err == 0)
            err = import_write(im, rc, c->id, h);
        history_free(h);
        if (err != 0)
            return err;
    }
    return 0;
}

static int import_usage(FILE *f)
{
    fprintf(f,
            "usage: nines import FILE|- [-c CONFIG] [--redis URL] [--format jsonl|csv]\n"
            "                    [--dry-run]\n"
            "Loads historical results: JSON Lines or CSV with the columns check, location,\n"
            "timestamp, ok and optionally latency (ms), reason, probe, code, message.\n"
            "Every problem is reported as FILE:LINE; any problem and nothing is written.\n"
            "Importing the same rows again changes nothing. Meant for the time before\n"
            "live monitoring: imported results are not fed to the collector.\n");
    return f == stdout ? CLI_OK : CLI_USAGE;
}

static void import_close(struct importer *im)
{
    if (im->chk != NULL)
        for (size_t i = 0; im->cfg != NULL && i < im->cfg->checks_count; i++) {
            if (im->chk[i] != NULL)
                free(im->chk[i]->chunk);
            free(im->chk[i]);
        }
    free(im->chk);
    if (im->spill != NULL)
        fclose(im->spill);
}

/* Pass 1 and 2 with the config loaded; returns the exit code. */
static int import_run(struct importer *im, FILE *f, enum nines_import_format fmt,
                      const char *url)
{
    struct nines_redis_addr addr;
    redisContext *rc = NULL;
    int err;

    im->spill = tmpfile();
    im->chk = calloc(im->cfg->checks_count ? im->cfg->checks_count : 1, sizeof(*im->chk));
    if (im->spill == NULL || im->chk == NULL) {
        fprintf(stderr, "nines: import: no temporary file: %s\n", strerror(errno));
        return CLI_FAIL;
    }
    im->fd = fileno(im->spill);
    err = import_parse(im, f, fmt);
    if (err != 0 || im->errors > 0) {
        if (im->errors > IMPORT_ERRORS_SHOWN)
            fprintf(stderr, "(%zu more errors not shown)\n", im->errors - IMPORT_ERRORS_SHOWN);
        fprintf(stderr, "nines: import: %s: %zu error%s; nothing imported\n", im->name,
                im->errors, im->errors == 1 ? "" : "s");
        return CLI_FAIL;
    }
    if (!im->dry_run) {
        if ((err = cli_redis_addr_cfg(url, im->cfg, &addr)) != 0)
            return err;
        if ((rc = cli_redis_connect(&addr)) == NULL)
            return CLI_UNREACHABLE;
    }
    err = import_all(im, rc);
    redisFree(rc);
    if (err != 0)
        return err == NINES_EIO && rc != NULL ? CLI_UNREACHABLE : CLI_FAIL;
    printf("%s %s: %" PRIu64 " results (%" PRIu64 " duplicates dropped): %" PRIu64
           " incidents, %" PRIu64 " no-data gaps, %" PRIu64 " days of latency",
           im->dry_run ? "would import" : "imported", im->name, im->rows - im->duplicates,
           im->duplicates, im->incidents, im->gaps, im->days);
    if (im->days_expired > 0)
        printf(" (%" PRIu64 " days older than latency retention skipped)", im->days_expired);
    printf("\n");
    return CLI_OK;
}

int cli_import(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
        { "format", required_argument, NULL, 'F' }, { "dry-run", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *url = NULL;
    enum nines_import_format fmt = NINES_IMPORT_AUTO;
    struct importer im = { 0 };
    struct nines_config *cfg = NULL;
    FILE *f;
    int c, ret;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:h", longopts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'r')
            url = optarg;
        else if (c == 'n')
            im.dry_run = 1;
        else if (c == 'F' && strcmp(optarg, "jsonl") == 0)
            fmt = NINES_IMPORT_JSONL;
        else if (c == 'F' && strcmp(optarg, "csv") == 0)
            fmt = NINES_IMPORT_CSV;
        else
            return import_usage(c == 'h' ? stdout : stderr);
    }
    if (optind != argc - 1)
        return import_usage(stderr);
    config = cli_config_path(config);
    if ((cfg = cli_config_load(config)) == NULL)
        return CLI_USAGE;
    im.name = argv[optind];
    im.cfg = cfg;
    f = strcmp(im.name, "-") == 0 ? stdin : fopen(im.name, "rb");
    if (f == NULL) {
        fprintf(stderr, "nines: import: %s: %s\n", im.name, strerror(errno));
        nines_config_free(cfg);
        return CLI_USAGE;
    }
    ret = import_run(&im, f, fmt, url);
    if (f != stdin)
        fclose(f);
    import_close(&im);
    nines_config_free(cfg);
    return ret;
}
