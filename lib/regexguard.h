/*
 * regcomp behind a guard. glibc's regcomp copies a subexpression for every
 * repetition applied to it, so a short pattern can make it allocate
 * gigabytes: "e+++++++++++++++++++++++++++++u" (a fuzzer found it through a
 * silence matcher). Patterns come from the API and the configuration, so
 * every regcomp of ours goes through nines_regcomp, which refuses (with
 * REG_ESPACE, as if regcomp had run out of memory) a pattern longer than
 * NINES_REGEX_MAX, a repetition applied to a repetition ("a++", "a*{2}"),
 * brace bounds whose product passes NINES_REGEX_BOUND_PRODUCT, and more than
 * NINES_REGEX_GROUP_REPEATS repetitions of groups ("((a+)+)+": each level
 * doubles what regcomp builds).
 */
#ifndef NINES_REGEXGUARD_H
#define NINES_REGEXGUARD_H

#include <regex.h>

#define NINES_REGEX_MAX 1024
#define NINES_REGEX_BOUND_PRODUCT 1000
#define NINES_REGEX_GROUP_REPEATS 8

/* 1 when pattern is within the limits above, else 0. */
int nines_regex_tame(const char *pattern);
/* regcomp(re, pattern, flags), or REG_ESPACE (re untouched) for a pattern
 * nines_regex_tame refuses. */
int nines_regcomp(regex_t *re, const char *pattern, int flags);

#endif
