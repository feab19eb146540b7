/*
 * checkbench: runs checks through the real check engine on a libuv loop, as
 * the probe does, for a fixed count, so that a profiler (callgrind, perf)
 * sees the work of exactly that many checks and nothing else.
 *
 *   checkbench CATALOGUE_JSON COUNT [PARALLEL]
 *
 * CATALOGUE_JSON is a catalogue as the collector publishes it
 * ({"version":1,"checks":[...]}). Its first PARALLEL checks (default 1) run
 * back to back, each starting again as soon as its previous run ended,
 * until COUNT runs have completed in all. Each result gets its id, probe and
 * location as the probe gives them and is encoded for the results stream
 * (nines_wire_encode) the way the probe's push queue does, but not sent:
 * Redis is not part of the figure. COUNT 0 runs nothing (the start-up cost).
 *
 * Prints one line:  checkbench runs=N ok=K failed=F
 * and exits 1 when a run did not end "ok" (a figure made of failures would
 * measure the wrong thing), 2 on bad arguments or input.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "check.h"
#include "nines/wire.h"

#define CHECKBENCH_MAX_COUNT 10000000L
#define CHECKBENCH_MAX_PARALLEL 1024L
#define CHECKBENCH_MAX_FILE (64L * 1024 * 1024)

struct checkbench {
    struct check_env env;
    const struct nines_check *checks;
    long count;                 /* runs wanted */
    long started;
    long done;
    long ok;
    long failed;
    unsigned long long seq;
    size_t wire_bytes;          /* keeps the encoding from being optimised away */
    int env_closed;
};

struct checkbench_slot {
    struct checkbench *cb;
    const struct nines_check *check;
};

static void checkbench_start(struct checkbench_slot *s);

static void checkbench_on_done(struct nines_result *r, void *arg)
{
    struct checkbench_slot *s = arg;
    struct checkbench *cb = s->cb;
    struct nines_wire w;

    snprintf(r->probe, sizeof(r->probe), "%s", "bench");
    snprintf(r->location, sizeof(r->location), "%s", "bench");
    snprintf(r->id, sizeof(r->id), "bench/1/%llu", ++cb->seq);
    nines_wire_encode(r, &w);
    for (size_t i = 0; i < w.argc; i++)
        cb->wire_bytes += w.argvlen[i];
    cb->done++;
    if (r->outcome == NINES_OUTCOME_OK) {
        cb->ok++;
    } else {
        if (cb->failed++ == 0)
            fprintf(stderr, "checkbench: check %s: %s %s: %s\n", r->check_id,
                    nines_outcome_name(r->outcome), r->reason, r->message);
    }
    if (cb->started < cb->count && !cb->env_closed) {
        checkbench_start(s);
    } else if (cb->done == cb->started && !cb->env_closed) {
        cb->env_closed = 1;
        check_env_close(&cb->env);
    }
}

static void checkbench_start(struct checkbench_slot *s)
{
    struct checkbench *cb = s->cb;
    int rc = check_start(&cb->env, s->check, checkbench_on_done, s);

    if (rc != 0) {
        fprintf(stderr, "checkbench: check %s could not start: error %d\n", s->check->id,
                rc);
        exit(1);
    }
    cb->started++;
}

/* The whole file into a malloc'd buffer; NULL with the reason printed. */
static char *checkbench_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    size_t got;

    if (!f) {
        fprintf(stderr, "checkbench: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(CHECKBENCH_MAX_FILE + 1);
    while (buf && n < CHECKBENCH_MAX_FILE &&
           (got = fread(buf + n, 1, CHECKBENCH_MAX_FILE - n, f)) > 0)
        n += got;
    if (!buf || ferror(f) || n == CHECKBENCH_MAX_FILE) {
        fprintf(stderr, "checkbench: cannot read %s (or it is over %ld bytes)\n", path,
                CHECKBENCH_MAX_FILE);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static long checkbench_arg(const char *s, const char *what, long lo, long hi)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "checkbench: %s must be an integer in %ld..%ld, got '%s'\n", what, lo,
                hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct checkbench cb;
    struct checkbench_slot *slots;
    struct nines_check *checks = NULL;
    struct nines_err err;
    uv_loop_t loop;
    size_t nchecks = 0;
    size_t len = 0;
    long parallel = 1;
    char *text;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: checkbench CATALOGUE_JSON COUNT [PARALLEL]\n");
        return 2;
    }
    memset(&cb, 0, sizeof(cb));
    cb.count = checkbench_arg(argv[2], "COUNT", 0, CHECKBENCH_MAX_COUNT);
    if (argc == 4)
        parallel = checkbench_arg(argv[3], "PARALLEL", 1, CHECKBENCH_MAX_PARALLEL);
    text = checkbench_read(argv[1], &len);
    if (!text)
        return 2;
    memset(&err, 0, sizeof(err));
    if (nines_catalogue_decode(text, len, &checks, &nchecks, &err) != 0) {
        fprintf(stderr, "checkbench: %s: %s\n", argv[1], err.msg);
        free(text);
        return 2;
    }
    free(text);
    if (nchecks < (size_t)parallel) {
        fprintf(stderr, "checkbench: %s has %zu checks, PARALLEL is %ld\n", argv[1], nchecks,
                parallel);
        nines_checks_free(checks, nchecks);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || uv_loop_init(&loop) != 0 ||
        check_env_init(&cb.env, &loop) != 0) {
        fprintf(stderr, "checkbench: cannot set up curl, the loop or the check engine\n");
        return 1;
    }
    slots = calloc((size_t)parallel, sizeof(*slots));
    if (!slots) {
        fprintf(stderr, "checkbench: out of memory\n");
        return 1;
    }
    cb.checks = checks;
    for (long i = 0; i < parallel; i++) {
        slots[i].cb = &cb;
        slots[i].check = &checks[i];
        if (cb.started < cb.count)
            checkbench_start(&slots[i]);
    }
    if (cb.count == 0) {
        cb.env_closed = 1;
        check_env_close(&cb.env);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "checkbench: the loop still had handles open\n");
    curl_global_cleanup();
    free(slots);
    nines_checks_free(checks, nchecks);
    printf("checkbench runs=%ld ok=%ld failed=%ld wire_bytes=%zu\n", cb.done, cb.ok, cb.failed,
           cb.wire_bytes);
    return cb.failed == 0 && cb.done == cb.count ? 0 : 1;
}
