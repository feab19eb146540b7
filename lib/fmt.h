/*
 * Decimal numbers and bounded text copies without printf, for the paths that
 * run once per result
 * (the probe's ids and push, the TCP and DNS engines' address text, the
 * packed wire form): snprintf's format parsing cost more than the rest of
 * such a line together.
 */
#ifndef NINES_FMT_H
#define NINES_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal at out (at most 20 digits, no NUL); returns the count. */
size_t fmt_u64(char *out, uint64_t v);
/* The same with a '-' first for a negative v (at most 20 bytes, no NUL). */
size_t fmt_i64(char *out, int64_t v);
/* src into dst (size bytes with the NUL, size > 0), cut to fit, as
 * snprintf's "%s" would; returns the bytes copied. */
size_t fmt_copy(char *dst, size_t size, const char *src);

#endif
