/*
 * Silences as the API receives and Redis stores them: silence_from_json on
 * the input; a silence that parses must serialise (silence_to_json), parse
 * again, and serialise to the same text; then it is matched against a fixed
 * notification (its regexes run).
 */
#include "fuzz.h"
#include "silence.h"

static void fuzz_silence_round_trip(const struct silence *s)
{
    static struct silence s2;
    struct nines_err err = { 0 };
    char *j1 = silence_to_json(s), *j2;

    if (j1 == NULL)
        abort();        /* a silence we accepted must be storable */
    if (silence_from_json(j1, strlen(j1), &s2, &err) != 0)
        abort();
    j2 = silence_to_json(&s2);
    if (j2 == NULL || strcmp(j1, j2) != 0)
        abort();
    silence_clear(&s2);
    free(j1);
    free(j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct silence s;
    static const struct notification n = {
        .key = "check_down/web@1795889593790", .rule = "check_down", .severity = "page",
        .check = "web", .service = "shop", .customer = "acme", .team = "ops",
        .location = "eu-west", .start_ms = 1795889593790,
    };
    struct nines_err err = { 0 };
    int rc;

    rc = silence_from_json((const char *)data, size, &s, &err);
    if (rc != 0) {
        if (rc != NINES_EINVAL || err.msg[0] == '\0')
            abort();
        return 0;
    }
    if (s.nm == 0 || s.nm > SILENCE_MAX_MATCHERS)
        abort();
    fuzz_silence_round_trip(&s);
    (void)silence_matches(&s, &n, 1795889600000);
    (void)silence_expired(&s, 1795889600000);
    silence_clear(&s);
    return 0;
}
