/*
 * Hand-written RESP commands (collector/rcmd.c): what rcmd builds must
 * parse back, argument for argument, as the array of bulk strings Redis
 * reads (checked with hiredis's reader), and match what hiredis's own
 * formatter makes for the same arguments, byte for byte.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rcmd.h"

/* rcmd's bytes against redisFormatCommandArgv's for the same argv. */
static void assert_like_hiredis(struct rcmd *b, int argc, const char **argv, const size_t *lens)
{
    char *ref = NULL;
    int reflen = redisFormatCommandArgv(&ref, argc, argv, lens);
    size_t len = 0;
    const char *got = rcmd_bytes(b, &len);

    cr_assert_not_null(got);
    cr_assert(gt(int, reflen, 0));
    cr_assert(eq(sz, len, (size_t)reflen));
    cr_assert(eq(int, memcmp(got, ref, len), 0));
    redisFreeCommand(ref);
}

Test(rcmd, matches_hiredis_formatter)
{
    struct rcmd b;
    const char *argv[] = { "HSET", "nines:state:api", "since_ms", "-9223372036854775808",
                           "results", "0", "doc", "", "bin", "a\0b\r\nc" };
    size_t lens[] = { 4, 15, 8, 20, 7, 1, 3, 0, 3, 6 };
    const char *ping[] = { "PING" };
    size_t ping_len = 4;

    rcmd_init(&b);
    rcmd_str(&b, "HSET");
    rcmd_str(&b, "nines:state:api");
    rcmd_arg(&b, "since_ms", 8);
    rcmd_int(&b, INT64_MIN);
    rcmd_str(&b, "results");
    rcmd_int(&b, 0);
    rcmd_str(&b, "doc");
    rcmd_arg(&b, "", 0);
    rcmd_str(&b, "bin");
    rcmd_arg(&b, "a\0b\r\nc", 6);
    assert_like_hiredis(&b, 10, argv, lens);
    /* reset keeps nothing of the last command */
    rcmd_reset(&b);
    cr_assert_null(rcmd_bytes(&b, &lens[0]));
    rcmd_str(&b, "PING");
    assert_like_hiredis(&b, 1, ping, &ping_len);
    rcmd_close(&b);
}

/* Thousands of arguments (a batch's XACK) and one of 1 MiB grow the buffer;
 * a count of 10 digits' worth of room is written in front. */
Test(rcmd, many_and_large_arguments)
{
    struct rcmd b;
    size_t n = 12000, big = 1 << 20, len = 0;
    const char **argv = calloc(n + 1, sizeof(*argv));
    size_t *lens = calloc(n + 1, sizeof(*lens));
    char (*ids)[32] = calloc(n, sizeof(*ids));
    char *blob = malloc(big);

    cr_assert(argv && lens && ids && blob);
    memset(blob, 'x', big);
    rcmd_init(&b);
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(ids[i], sizeof(ids[i]), "%zu-%zu", 1700000000000 + i, i % 7);

        argv[i] = ids[i];
        lens[i] = (size_t)k;
        rcmd_arg(&b, ids[i], lens[i]);
    }
    argv[n] = blob;
    lens[n] = big;
    rcmd_arg(&b, blob, big);
    cr_assert(eq(sz, b.argc, n + 1));
    assert_like_hiredis(&b, (int)n + 1, argv, lens);
    cr_assert_not_null(rcmd_bytes(&b, &len));
    cr_assert(eq(int, memcmp(rcmd_bytes(&b, &len), "*12001\r\n$", 9), 0));
    rcmd_close(&b);
    free(argv);
    free(lens);
    free(ids);
    free(blob);
}

/* An argument over Redis's 512 MiB limit is refused, and so is the whole
 * command: nothing half-built can be sent. */
Test(rcmd, oversized_argument_refuses_the_command)
{
    struct rcmd b;
    size_t len = 0;

    rcmd_init(&b);
    rcmd_str(&b, "SET");
    rcmd_arg(&b, "k", 1);
    rcmd_arg(&b, "v", (size_t)600 * 1024 * 1024);   /* never read: refused first */
    cr_assert_null(rcmd_bytes(&b, &len));
    cr_assert(eq(int, rcmd_send(&b, NULL, NULL, NULL), REDIS_ERR));
    /* and the next command starts clean */
    rcmd_str(&b, "PING");
    cr_assert_not_null(rcmd_bytes(&b, &len));
    cr_assert(eq(sz, len, 14));
    rcmd_close(&b);
}
