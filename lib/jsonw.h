/*
 * A small append-only JSON writer for the hot paths (check facts, the
 * collector's stored state), where building and dumping a jansson tree
 * costs a malloc per member. The text is what jansson's
 * json_dumps(..., JSON_COMPACT) gives for the same values, byte for byte:
 * '"', '\\' and control characters escaped (\b \f \n \r \t, else \u00XX in
 * upper case), everything else, "/" and non-ASCII included, as is; integers
 * in decimal; doubles as "%.17g" with ".0" added when that looks like an
 * integer and the exponent's '+' and leading zeros dropped. Where jansson
 * refuses a string that is not UTF-8, each byte of a bad sequence is written
 * U+FFFD instead. NaN and infinities (jansson refuses them) are written null.
 *
 * Two modes: a caller's fixed buffer (jsonw_init), where a write that does
 * not fit sets `full` and every later write does nothing; or a growing heap
 * buffer (jsonw_init_grow, jsonw_take), where only an allocation failure
 * sets `full`. The text is always NUL-terminated up to the last write that
 * fitted. Commas and colons come by themselves: call jsonw_key before each
 * member's value, nothing between array elements.
 */
#ifndef NINES_JSONW_H
#define NINES_JSONW_H

#include <stddef.h>
#include <stdint.h>

struct jsonw {
    char *buf;
    size_t cap;         /* bytes of buf, the NUL included */
    size_t len;         /* text written, without the NUL */
    int grow;           /* buf is ours and may be reallocated */
    int full;           /* a write did not fit (or out of memory) */
    int comma;          /* the next key or value needs a ',' first */
};

/* Where jsonw_rewind goes back to. */
struct jsonw_mark {
    size_t len;
    int comma;
};

/* Writes into buf[cap] (cap >= 1). */
void jsonw_init(struct jsonw *w, char *buf, size_t cap);
/* A heap buffer of initial bytes to start with; 0, or NINES_ENOMEM. */
int jsonw_init_grow(struct jsonw *w, size_t initial);
/* Grows the caller's heap buffer buf[cap] (both may be 0: NULL, 0) from its
 * start; afterwards w->buf and w->cap are the buffer to keep (and free) and
 * w->len the text's length; w->full on no memory. Never fails itself. */
void jsonw_init_reuse(struct jsonw *w, char *buf, size_t cap);
/* The grown text, now the caller's to free(); NULL if a write failed. */
char *jsonw_take(struct jsonw *w);
/* Frees a grown buffer not taken (no-op for a fixed one). */
void jsonw_free(struct jsonw *w);

void jsonw_obj_open(struct jsonw *w);
void jsonw_obj_close(struct jsonw *w);
void jsonw_arr_open(struct jsonw *w);
void jsonw_arr_close(struct jsonw *w);
/* A member's key (NUL-terminated, escaped like any string). */
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s);
/* n bytes of s, NULs included (written \u0000). */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_real(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, int v);
void jsonw_null(struct jsonw *w);
/* n bytes of text that already is one JSON value, copied as is. */
void jsonw_raw(struct jsonw *w, const char *text, size_t n);

/* Length (2..4) of the valid multi-byte UTF-8 sequence at s (left bytes
 * there), or 0 (ASCII, overlong, surrogate, past U+10FFFF, cut short): as
 * strict as jansson. For whoever cleans text before it goes into JSON. */
size_t jsonw_utf8_len(const unsigned char *s, size_t left);
/* The position now, to come back to with jsonw_rewind (which clears full). */
struct jsonw_mark jsonw_mark(const struct jsonw *w);
void jsonw_rewind(struct jsonw *w, struct jsonw_mark m);

#endif
