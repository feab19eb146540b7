/*
 * The canary's RESP2 reply parser, resp_parse. Replies are parsed one after
 * another from the input, as the canary reads them from a socket; every
 * proper prefix of a complete reply must say "not complete yet" (0), never
 * something else.
 */
#include "fuzz.h"
#include "nines/err.h"
#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct resp_reply r, p;
    const char *buf = (const char *)data;
    const char *why;

    for (int guard = 0; size > 0 && guard < 64; guard++) {
        int n;

        why = NULL;
        n = resp_parse(buf, size, &r, &why);
        if (n == NINES_EPROTO) {
            if (why == NULL)
                abort();
            return 0;
        }
        if (n == 0)
            return 0;
        if (n < 0 || (size_t)n > size || r.type > RESP_NIL || r.len > RESP_STR_MAX
            || r.str[r.len] != '\0')
            abort();
        /* a prefix a socket read could give: incomplete, not an error or a reply */
        if (resp_parse(buf, (size_t)n - 1, &p, &why) != 0 && n > 1)
            abort();
        buf += n;
        size -= (size_t)n;
    }
    return 0;
}
