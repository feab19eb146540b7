/*
 * One line per event on stderr:
 *   2026-11-28T17:41:10.123Z level=info event=check_down check=api since_ms=...
 */
#ifndef NINES_LOG_H
#define NINES_LOG_H

#include <stddef.h>

enum nines_log_level {
    NINES_LOG_DEBUG = 0,
    NINES_LOG_INFO,
    NINES_LOG_WARN,
    NINES_LOG_ERROR,
};

void nines_log_set_level(enum nines_log_level lvl);
/* A "key=value" field written after event= on every line from now on (a
 * process's identity, e.g. "worker=2"); NULL or "" for none. */
void nines_log_set_tag(const char *kv);
int nines_log_level_parse(const char *s, enum nines_log_level *lvl);
/* fields is printf-formatted "key=value ..." text, may be NULL. */
void nines_log(enum nines_log_level lvl, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));
/* Quotes s for a key=value field when it holds spaces, quotes or '='. */
const char *nines_log_quote(const char *s, char *buf, size_t len);

#define log_debug(ev, ...) nines_log(NINES_LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) nines_log(NINES_LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) nines_log(NINES_LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) nines_log(NINES_LOG_ERROR, ev, __VA_ARGS__)

#endif
