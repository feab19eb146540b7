/*
 * The import parser: nines_import_open on the input as a memory FILE
 * (fmemopen), then nines_import_next until the end. The first byte picks
 * the format (auto, JSON Lines, CSV). Every record must end in a result or
 * a message naming the line, and the reader must reach the end in a bounded
 * number of calls.
 */
#include <stdio.h>

#include "fuzz.h"
#include "nines/import.h"

#define FUZZ_IMPORT_NOW_MS INT64_C(1800000000000)   /* 2027-01-15: a fixed "now" */

static int fuzz_import_known(const char *check_id, void *arg)
{
    return check_id[0] != 'x';     /* some rows unknown, to walk that path too */
}

static void fuzz_import_check_result(const struct nines_result *r)
{
    if (r->start_ms < 0 || r->start_ms > FUZZ_IMPORT_NOW_MS || r->check_id[0] == '\0'
        || r->location[0] == '\0' || strncmp(r->id, "import/", 7) != 0
        || (r->outcome != NINES_OUTCOME_OK && r->outcome != NINES_OUTCOME_FAIL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nines_result r;
    struct nines_import *im = NULL;
    struct nines_err err = { 0 };
    enum nines_import_format fmt;
    size_t calls = 0;
    FILE *f;
    int rc;

    if (size < 1)
        return 0;
    fmt = (enum nines_import_format)(data[0] % 3);
    /* fmemopen of 0 bytes fails with EINVAL on some glibc versions: keep a byte */
    f = fmemopen((void *)(data + 1), size > 1 ? size - 1 : 1, "r");
    if (f == NULL)
        return 0;
    rc = nines_import_open(f, "fuzz.in", fmt, FUZZ_IMPORT_NOW_MS, &im, &err);
    if (rc != 0) {
        if (im != NULL || err.msg[0] == '\0')
            abort();
        fclose(f);
        return 0;
    }
    if (data[0] & 4)
        nines_import_set_known(im, fuzz_import_known, NULL);
    for (;;) {
        memset(&err, 0, sizeof(err));
        rc = nines_import_next(im, &r, &err);
        if (rc == 1)
            fuzz_import_check_result(&r);
        else if (rc == NINES_EINVAL && (err.msg[0] == '\0' || err.line <= 0))
            abort();
        else if (rc != NINES_EINVAL)
            break;
        /* each call consumes at least one byte (or ends): more calls than bytes is a loop */
        if (++calls > size + 2)
            abort();
    }
    if (rc != 0)
        abort();        /* memory never fails to read */
    nines_import_free(im);
    fclose(f);
    return 0;
}
