/*
 * The result decoder, nines_wire_decode. The input is the stream entry's
 * field/value strings separated by NUL bytes (NUL inside a value is covered
 * by tests/test_wire.c). A decoded result must survive encode -> decode ->
 * encode unchanged.
 */
#include "fuzz.h"
#include "nines/wire.h"

#define FUZZ_WIRE_MAX (2 * NINES_WIRE_MAX_FIELDS + 4)

static int fuzz_wire_same(const struct nines_wire *a, const struct nines_wire *b)
{
    if (a->argc != b->argc)
        return 0;
    for (size_t i = 0; i < a->argc; i++) {
        if (a->argvlen[i] != b->argvlen[i] || memcmp(a->argv[i], b->argv[i], a->argvlen[i]))
            return 0;
    }
    return 1;
}

static void fuzz_wire_round_trip(const struct nines_result *r)
{
    static struct nines_wire w1, w2;
    static struct nines_result r2;
    struct nines_err err = { 0 };

    nines_wire_encode(r, &w1);
    if (nines_wire_decode(w1.argv, w1.argvlen, w1.argc, &r2, &err) != 0)
        abort();        /* what we encode, we must decode */
    nines_wire_encode(&r2, &w2);
    if (!fuzz_wire_same(&w1, &w2))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *field[FUZZ_WIRE_MAX];
    size_t len[FUZZ_WIRE_MAX], n = 0;
    static struct nines_result r;
    struct nines_err err = { 0 };
    int rc;

    while (size > 0 && n < FUZZ_WIRE_MAX) {
        field[n] = fuzz_take(&data, &size, '\0', &len[n]);
        if (field[n] == NULL)
            goto out;
        n++;
    }
    rc = nines_wire_decode((const char *const *)field, len, n, &r, &err);
    if (rc == 0)
        fuzz_wire_round_trip(&r);
    else if (rc != NINES_EPROTO || err.msg[0] == '\0')
        abort();
out:
    for (size_t i = 0; i < n; i++)
        free(field[i]);
    return 0;
}
