/* regcomp behind a guard; see regexguard.h. */
#include <stdlib.h>
#include <string.h>

#include "regexguard.h"

int nines_regex_tame(const char *p)
{
    size_t n = strlen(p);
    long product = 1;
    int after_repeat = 0;   /* the previous token was a repetition */
    int after_group = 0;    /* the previous token closed a group */
    int group_repeats = 0;  /* repetitions applied to a group */

    if (n > NINES_REGEX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        /* each repetition of a group copies all it holds: nested, they
         * multiply ("((a+)+)+..." doubles per level) */
        if ((c == '*' || c == '+' || c == '?' || c == '{') && after_group &&
            ++group_repeats > NINES_REGEX_GROUP_REPEATS)
            return 0;
        after_group = c == ')';
        if (c == '\\') {                     /* an escaped character is a literal */
            i += i + 1 < n;
            after_repeat = 0;
        } else if (c == '[') {               /* a bracket expression: skip it whole */
            size_t j = i + 1;

            if (j < n && p[j] == '^')
                j++;
            if (j < n && p[j] == ']')
                j++;
            while (j < n && p[j] != ']')
                j++;
            i = j;
            after_repeat = 0;
        } else if (c == '*' || c == '+' || c == '?') {
            if (after_repeat)
                return 0;
            after_repeat = 1;
        } else if (c == '{') {
            const char *e = strchr(p + i, '}');
            char *end;
            long lo, hi;

            if (after_repeat || e == NULL)
                return after_repeat ? 0 : 1;  /* an unclosed brace: regcomp's to refuse */
            lo = strtol(p + i + 1, &end, 10);
            hi = *end == ',' ? (end[1] == '}' ? lo : strtol(end + 1, NULL, 10)) : lo;
            if (lo < 0 || hi < 0)
                return 0;
            product *= hi > 1 ? hi : 1;
            if (product > NINES_REGEX_BOUND_PRODUCT)
                return 0;
            i = (size_t)(e - p);
            after_repeat = 1;
        } else {
            after_repeat = 0;
        }
    }
    return 1;
}

int nines_regcomp(regex_t *re, const char *pattern, int flags)
{
    if (!nines_regex_tame(pattern))
        return REG_ESPACE;
    return regcomp(re, pattern, flags);
}
