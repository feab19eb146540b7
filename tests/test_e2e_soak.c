/*
 * A soak: 4 probes run 2,000 checks at 1 s against the HTTP fixture for a
 * minute (CI). After a warm-up a third of the run long, the resident memory
 * of every probe and of the collector grows by less than 5 % (+ 2 MiB of
 * slack for allocator noise), no file descriptor leaks, and the collector
 * keeps up. NINES_SOAK_CHECKS, NINES_SOAK_INTERVAL (s) and NINES_SOAK_SECONDS
 * change the load: bench/soak.sh runs the 20,000 checks at 10 s for
 * 30 minutes. Skipped under AddressSanitizer, whose quarantine makes RSS
 * meaningless.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpfix_client.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define PROBES 4

__attribute__((unused)) static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);

    return v != NULL && atol(v) > 0 ? atol(v) : dflt;
}

__attribute__((unused)) static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    long kib = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kib;
}

__attribute__((unused)) static int fd_count(pid_t pid)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    while (d != NULL && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

Test(e2e_soak, a_minute_of_load_leaves_memory_and_descriptors_flat, .timeout = 7200)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("RSS means nothing under AddressSanitizer");
#else
    struct redis_fixture rf;
    struct httpfix http;
    long checks = env_long("NINES_SOAK_CHECKS", 2000);
    long interval = env_long("NINES_SOAK_INTERVAL", 1);
    long seconds = env_long("NINES_SOAK_SECONDS", 60);
    size_t cap = (size_t)checks * 128 + 1024;
    char *yaml = malloc(cap);
    char dir[256], cfg[400], log[400];
    pid_t pids[PROBES + 1];
    long rss0[PROBES + 1], rss1[PROBES + 1];
    int fd0[PROBES + 1], fd1[PROBES + 1];
    size_t n;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    cr_assert(eq(int, httpfix_start(&http), 0));
    cr_assert(ne(ptr, yaml, NULL));
    n = (size_t)snprintf(yaml, cap,
                         "collector: {name: c1, redis: \"%s\", data_dir: \"%s/data\"}\n"
                         "api: {listen: \"127.0.0.1:0\"}\n"
                         "checks:\n", rf.url, dir);
    for (long i = 0; i < checks; i++)
        n += (size_t)snprintf(yaml + n, cap - n,
                              "  - {id: s%05ld, kind: http, url: \"%s/\", interval: %lds,"
                              " timeout: 800ms, locations: [l%ld]}\n", i, http.base_url,
                              interval, i % PROBES);
    snprintf(cfg, sizeof(cfg), "%s/nines.yaml", dir);
    cr_assert(eq(int, test_write_file(cfg, yaml), 0));
    free(yaml);
    snprintf(log, sizeof(log), "%s/collector.log", dir);
    {
        const char *argv[] = { NINES_BIN_DIR "/nines-collector", "-c", cfg, NULL };

        pids[0] = proc_spawn(argv, log);
    }
    for (int p = 0; p < PROBES; p++) {
        char name[16], loc[16], spool[300];
        const char *argv[] = { NINES_BIN_DIR "/nines-probe", "--redis", rf.url, "--name", name,
                               "--location", loc, "--spool-dir", spool, NULL };

        snprintf(name, sizeof(name), "p%d", p);
        snprintf(loc, sizeof(loc), "l%d", p);
        snprintf(spool, sizeof(spool), "%s/spool-%d", dir, p);
        snprintf(log, sizeof(log), "%s/probe-%d.log", dir, p);
        pids[1 + p] = proc_spawn(argv, log);
    }
    test_sleep_ms((int)(seconds * 1000 / 3)); /* warm-up: every check ran many times */
    for (int i = 0; i <= PROBES; i++) {
        rss0[i] = rss_kib(pids[i]);
        fd0[i] = fd_count(pids[i]);
    }
    test_sleep_ms((int)(seconds * 2000 / 3));
    for (int i = 0; i <= PROBES; i++) {
        rss1[i] = rss_kib(pids[i]);
        fd1[i] = fd_count(pids[i]);
        cr_expect(le(long, rss1[i], rss0[i] + rss0[i] / 20 + 2048),
                  "%s: RSS %ld KiB after warm-up, %ld KiB at the end", i ? "probe" : "collector",
                  rss0[i], rss1[i]);
        printf("soak: %s%d rss_kib %ld -> %ld fds %d -> %d\n", i ? "probe" : "collector",
               i ? i - 1 : 0, rss0[i], rss1[i], fd0[i], fd1[i]);
        cr_expect(le(int, fd1[i], fd0[i] + 8), "%s: %d descriptors, then %d",
                  i ? "probe" : "collector", fd0[i], fd1[i]);
    }
    /* the collector keeps up: at most a few batches in hand */
    cr_expect(le(i64, redis_fixture_unapplied(&rf, "nines:results", 100000), 2 * checks),
              "results left unapplied");
    for (int i = PROBES; i >= 0; i--)
        proc_stop(pids[i], 10000);
    httpfix_stop(&http);
    redis_fixture_stop(&rf);
    test_rmtree(dir);
#endif
}
