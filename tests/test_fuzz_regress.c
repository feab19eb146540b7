/*
 * Inputs the libFuzzer targets (fuzz/) found crashing, replayed through the
 * same entry points. Each crashing input is also kept in its target's
 * committed corpus (fuzz/corpus/<target>/crash-*), which this file reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "nines/err.h"
#include "regexguard.h"
#include "resp.h"

/* Reads a committed corpus file whole; the test fails if it is missing. */
static char *regress_read(const char *target, const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/fuzz/corpus/%s/%s", NINES_SOURCE_DIR, target, name);
    f = fopen(path, "rb");
    cr_assert(ne(ptr, f, NULL), "cannot open %s", path);
    cr_assert(eq(int, fseek(f, 0, SEEK_END), 0));
    n = ftell(f);
    cr_assert(ge(long, n, 0));
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert(ne(ptr, buf, NULL));
    cr_assert(eq(sz, fread(buf, 1, (size_t)n, f), (size_t)n));
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/*
 * resp_parse: a status or error line of 513 or 514 text bytes passed the line
 * bound (off by two) and was copied into the 513-byte str: a write past the
 * reply (UBSan: index 513 out of bounds). 512 bytes is the most a reply holds.
 */
Test(fuzz_regress, resp_status_line_at_the_bound)
{
    static struct resp_reply r;
    char line[RESP_STR_MAX + 8];
    const char *why = NULL;

    for (size_t text = RESP_STR_MAX - 1; text <= RESP_STR_MAX + 3; text++) {
        for (int kind = 0; kind < 2; kind++) {
            line[0] = kind == 0 ? '+' : '-';
            memset(line + 1, 'a', text);
            memcpy(line + 1 + text, "\r\n", 2);
            why = NULL;
            int n = resp_parse(line, text + 3, &r, &why);

            if (text <= RESP_STR_MAX) {
                cr_assert(eq(int, n, (int)text + 3), "text %zu", text);
                cr_assert(eq(sz, r.len, text));
                cr_assert(eq(int, (int)r.type, kind == 0 ? RESP_STATUS : RESP_ERROR));
            } else {
                cr_assert(eq(int, n, NINES_EPROTO), "text %zu", text);
                cr_assert(ne(ptr, (void *)why, NULL));
            }
        }
    }
    /* without its CR yet: incomplete while it could still fit, too long after */
    memset(line, 'a', sizeof(line));
    line[0] = '+';
    cr_assert(eq(int, resp_parse(line, RESP_STR_MAX + 1, &r, &why), 0));
    cr_assert(eq(int, resp_parse(line, RESP_STR_MAX + 2, &r, &why), NINES_EPROTO));
}

/* The fuzzer's inputs, replayed as fuzz_resp does: reply after reply. */
Test(fuzz_regress, resp_fuzzer_inputs)
{
    static const char *const names[] = {
        "crash-26c319c10c0b7a59e57d4726f77d74a07d011786", /* found by fuzz_resp */
        "crash-status-514",                               /* its minimal form */
    };
    static struct resp_reply r;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len, off = 0;
        char *buf = regress_read("resp", names[i], &len);
        int n = 1, replies = 0;

        while (off < len && replies < 64) {
            const char *why = NULL;

            n = resp_parse(buf + off, len - off, &r, &why);
            if (n <= 0)
                break;
            cr_assert(le(sz, r.len, (size_t)RESP_STR_MAX), "%s", names[i]);
            off += (size_t)n;
            replies++;
        }
        /* each ends in a line longer than any reply: refused, not copied */
        cr_assert(eq(int, n, NINES_EPROTO), "%s", names[i]);
        free(buf);
    }
}

/*
 * fuzz_silence (2026-11-29): a silence matcher's regex "e+++...u(.*" made
 * glibc's regcomp copy the subexpression for every stacked "+", past 2 GB.
 * nines_regcomp refuses stacked repetitions and large brace products, and
 * still compiles ordinary patterns.
 */
Test(fuzz_regress, stacked_repetitions_are_refused_before_regcomp)
{
    static const char *const refused[] = {
        "e+++++++++++++++++++++++++++++++u(.*", "a**", "a+?", "a{2}{3}", "a*{2}",
        "(a{40}){40}", "x{1001}",
        "((((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
    };
    static const char *const tame[] = {
        "^eu-(west|east)-[0-9]+$", "a+b*c?", "a{2,5}", "[+*?]+", "\\++", "(ab)+c", "a{,}",
        "x{1000}", "((a+)+b)*(c|d)?",
    };
    regex_t re;

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        cr_expect(eq(int, nines_regex_tame(refused[i]), 0), "%s", refused[i]);
        cr_expect(eq(int, nines_regcomp(&re, refused[i], REG_EXTENDED | REG_NOSUB), REG_ESPACE),
                  "%s", refused[i]);
    }
    for (size_t i = 0; i < sizeof(tame) / sizeof(tame[0]); i++)
        cr_expect(eq(int, nines_regex_tame(tame[i]), 1), "%s", tame[i]);
    cr_assert(eq(int, nines_regcomp(&re, "^eu-(west|east)-[0-9]+$", REG_EXTENDED | REG_NOSUB), 0));
    cr_expect(eq(int, regexec(&re, "eu-west-1", 0, NULL, 0), 0));
    regfree(&re);
}
