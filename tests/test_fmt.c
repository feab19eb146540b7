/* lib/fmt.c: decimal numbers without printf, compared with printf's. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"

static const uint64_t fmt_u_cases[] = { 0, 1, 9, 10, 99, 100, 65535, 4294967295u,
                                        4294967296u, 1700000000123u, UINT64_MAX - 1,
                                        UINT64_MAX };
static const int64_t fmt_i_cases[] = { 0, -1, 1, -9, -10, INT64_MAX, INT64_MIN, INT64_MIN + 1,
                                       -1700000000123 };

Test(fmt, unsigned_like_printf)
{
    for (size_t i = 0; i < sizeof(fmt_u_cases) / sizeof(fmt_u_cases[0]); i++) {
        char got[24], want[24];
        size_t n;

        memset(got, 'x', sizeof(got));
        n = fmt_u64(got, fmt_u_cases[i]);
        snprintf(want, sizeof(want), "%" PRIu64, fmt_u_cases[i]);
        cr_expect(eq(sz, n, strlen(want)), "%s", want);
        cr_expect(memcmp(got, want, n) == 0, "%s", want);
        cr_expect(eq(chr, got[n], 'x'), "no NUL written after %s", want);
    }
}

Test(fmt, signed_like_printf)
{
    for (size_t i = 0; i < sizeof(fmt_i_cases) / sizeof(fmt_i_cases[0]); i++) {
        char got[24], want[24];
        size_t n;

        n = fmt_i64(got, fmt_i_cases[i]);
        snprintf(want, sizeof(want), "%" PRId64, fmt_i_cases[i]);
        cr_expect(eq(sz, n, strlen(want)), "%s", want);
        cr_expect(memcmp(got, want, n) == 0, "%s", want);
    }
}

Test(fmt, copy_cuts_like_snprintf)
{
    static const char *const src[] = { "", "a", "abc", "abcdef", "abcdefgh" };

    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        char got[6], want[6];
        size_t n;

        memset(got, 'x', sizeof(got));
        n = fmt_copy(got, sizeof(got), src[i]);
        snprintf(want, sizeof(want), "%s", src[i]);
        cr_expect(eq(str, got, want), "'%s'", src[i]);
        cr_expect(eq(sz, n, strlen(want)), "'%s'", src[i]);
    }
}
