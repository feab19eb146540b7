/*
 * A bounded, growable text buffer for the built-in pages, with the escaping
 * they need. Every append is checked: once the cap is reached (or malloc
 * fails) the buffer is marked failed, later appends do nothing, and the
 * caller answers 500 instead of a truncated page.
 */
#ifndef NINES_WEBBUF_H
#define NINES_WEBBUF_H

#include <stddef.h>

#define WEBBUF_MAX (4u << 20)   /* no page or feed is larger than 4 MiB */

struct webbuf {
    char *s;            /* NUL-terminated while !failed */
    size_t len, cap, max;
    int failed;
};

void webbuf_init(struct webbuf *b, size_t max);   /* max 0: WEBBUF_MAX */
void webbuf_close(struct webbuf *b);
void webbuf_put(struct webbuf *b, const char *s);
void webbuf_printf(struct webbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s escaped for HTML/XML text and quoted attributes (& < > " '); invalid
 * UTF-8 and control characters become U+FFFD / are dropped. */
void webbuf_esc(struct webbuf *b, const char *s);

#endif
