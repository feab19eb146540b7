/*
 * loadgen: offers results to the collector as probes would, at a fixed
 * rate for a bounded time, and measures how far the collector falls behind.
 *
 *   loadgen --redis-socket PATH --checks N --locations L --rate R --seconds S
 *           [--drain-s D]
 *
 * Every result goes into the results stream with XADD (pipelined, a batch
 * every 10 ms). Every 250 ms it samples the age of the oldest result the
 * collector has not applied yet (the first entry after its applied cursor,
 * nines:applied:nines:results, on a second connection). After the load it waits (at most D s, default 60) for the
 * backlog to drain. Prints one machine-readable line:
 *   ingest ... sent=... rate_sent=... lag_max_s=... lag_p99_s=... drain_s=...
 *          loadgen_cpu_ms=...
 * (loadgen_cpu_ms: its own user+system CPU while offering the load, for the
 * CPU budget per result.)
 */
#include <hiredis/hiredis.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nines/clock.h"
#include "nines/wire.h"

/* The first entry after the collector's applied cursor (NULL when none:
 * everything in the stream is applied). Caller frees. */
static redisReply *first_unapplied(redisContext *c)
{
    redisReply *g = redisCommand(c, "GET %s%s", NINES_KEY_APPLIED_PREFIX, NINES_KEY_RESULTS), *r;
    char cursor[64] = "0-0";

    if (g != NULL && g->type == REDIS_REPLY_STRING)
        snprintf(cursor, sizeof(cursor), "%s", g->str);
    freeReplyObject(g);
    r = redisCommand(c, "XRANGE %s (%s + COUNT 1", NINES_KEY_RESULTS, cursor);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements > 0)
        return r;
    freeReplyObject(r);
    return NULL;
}

/*
 * Age (s) of the oldest result the collector has not yet applied: stream ids
 * are millisecond timestamps, so it is now minus the id of the first entry
 * after the collector's applied cursor. 0 when nothing is waiting.
 */
static double oldest_unapplied_s(redisContext *c)
{
    redisReply *r = first_unapplied(c);
    double age = 0;

    if (r != NULL)
        age = (nines_wall_ms() - atoll(r->element[0]->element[0]->str)) / 1000.0;
    freeReplyObject(r);
    return age > 0 ? age : 0;
}

/* 1 while any entry is after the applied cursor, else 0. */
static int backlog(redisContext *c)
{
    redisReply *r = first_unapplied(c);

    freeReplyObject(r);
    return r != NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *redis_sock = NULL;
    long checks = 10000, locations = 3, rate = 3000, seconds = 20, drain_s = 60;
    redisContext *c, *probe;
    double lags[4096];
    size_t nlags = 0;
    uint64_t seq = 0, sent = 0;
    int64_t t0, next_sample, end;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--redis-socket") == 0)
            redis_sock = argv[i + 1];
        else if (strcmp(argv[i], "--checks") == 0)
            checks = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--locations") == 0)
            locations = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--rate") == 0)
            rate = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--drain-s") == 0)
            drain_s = atol(argv[i + 1]);
    }
    if (redis_sock == NULL || checks < 1 || locations < 1 || rate < 1 ||
        seconds < 1 || seconds > 600 || drain_s < 0 || drain_s > 600) {
        fprintf(stderr, "usage: loadgen --redis-socket PATH [--checks N] "
                        "[--locations L] [--rate R] [--seconds 1..600] "
                        "[--drain-s 0..600]\n");
        return 2;
    }
    c = redisConnectUnix(redis_sock);
    probe = redisConnectUnix(redis_sock);
    if (c == NULL || c->err || probe == NULL || probe->err) {
        fprintf(stderr, "loadgen: cannot connect to %s\n", redis_sock);
        return 1;
    }
    t0 = nines_wall_ms();
    end = t0 + seconds * 1000;
    next_sample = t0;
    while (nines_wall_ms() < end) {
        int64_t now = nines_wall_ms();
        uint64_t due = (uint64_t)((now - t0) * rate / 1000), batch = 0;

        for (; sent < due; sent++, batch++) {
            struct nines_result r;
            struct nines_wire w;
            const char *av[NINES_WIRE_XADD_ARGC];
            size_t al[NINES_WIRE_XADD_ARGC];
            long k = (long)(seq % (uint64_t)(checks * locations));

            nines_result_init(&r);
            snprintf(r.id, sizeof(r.id), "load/%lld/%llu", (long long)t0,
                     (unsigned long long)++seq);
            snprintf(r.check_id, sizeof(r.check_id), "c%ld", k / locations);
            snprintf(r.location, sizeof(r.location), "l%ld", k % locations);
            snprintf(r.probe, sizeof(r.probe), "p%ld", k % locations);
            r.start_ms = now;
            r.outcome = NINES_OUTCOME_OK;
            r.code = 200;
            r.total_us = 1000 + (int64_t)(seq % 5000);
            nines_wire_encode(&r, &w);
            redisAppendCommandArgv(c, nines_wire_xadd_argv(&w, NINES_KEY_RESULTS, av, al), av, al);
        }
        for (uint64_t i = 0; i < batch; i++) {
            redisReply *rep = NULL;

            if (redisGetReply(c, (void **)&rep) != REDIS_OK) {
                fprintf(stderr, "loadgen: redis: %s\n", c->errstr);
                return 1;
            }
            freeReplyObject(rep);
        }
        if (now >= next_sample) {
            double lag = oldest_unapplied_s(probe);

            if (nlags < sizeof(lags) / sizeof(lags[0]))
                lags[nlags++] = lag;
            next_sample = now + 250;
        }
        sleep_ms(10);
    }
    {
        int64_t stop = nines_wall_ms(), drained = -1;
        double lag_max = 0, p99, cpu_ms;
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;

        while (nines_wall_ms() - stop < drain_s * 1000) {
            if (backlog(probe) == 0) {
                drained = nines_wall_ms() - stop;
                break;
            }
            sleep_ms(50);
        }
        qsort(lags, nlags, sizeof(lags[0]), cmp_double);
        for (size_t i = 0; i < nlags; i++)
            if (lags[i] > lag_max)
                lag_max = lags[i];
        p99 = nlags ? lags[(size_t)((double)(nlags - 1) * 0.99)] : -1;
        printf("ingest checks=%ld locations=%ld rate_offered=%ld sent=%llu rate_sent=%.0f "
               "seconds=%ld lag_max_s=%.3f lag_p99_s=%.3f drain_s=%.3f loadgen_cpu_ms=%.1f\n",
               checks, locations, rate, (unsigned long long)sent,
               sent * 1000.0 / (double)(stop - t0), seconds, lag_max,
               p99, drained >= 0 ? drained / 1000.0 : -1.0, cpu_ms);
    }
    redisFree(c);
    redisFree(probe);
    return 0;
}
