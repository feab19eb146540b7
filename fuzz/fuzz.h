/*
 * Shared bits of the libFuzzer harnesses: the entry point's prototype (the
 * project builds with -Wmissing-prototypes) and a splitter for inputs that
 * carry several strings.
 */
#ifndef NINES_FUZZ_H
#define NINES_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The next part of *data up to sep (or the end), as a malloc'd NUL-terminated
 * copy with its length in *len; *data and *size move past it and the
 * separator. NULL without memory (the harness then skips the input).
 */
static inline char *fuzz_take(const uint8_t **data, size_t *size, uint8_t sep, size_t *len)
{
    const uint8_t *end = memchr(*data, sep, *size);
    size_t n = end != NULL ? (size_t)(end - *data) : *size;
    char *s = malloc(n + 1);

    if (s == NULL)
        return NULL;
    if (n > 0)
        memcpy(s, *data, n);
    s[n] = '\0';
    if (len != NULL)
        *len = n;
    *data += n + (end != NULL);
    *size -= n + (end != NULL);
    return s;
}

#endif
