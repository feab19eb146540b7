/*
 * Structured logging: one line per event on stderr, with a timestamp, a level
 * and key=value fields. Each line is written with a single write(2) so lines
 * from several processes sharing a terminal or file do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nines/clock.h"
#include "nines/log.h"

static enum nines_log_level log_min_level = NINES_LOG_INFO;
static char log_tag[64];        /* " key=value" after event=, or "" */

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

void nines_log_set_level(enum nines_log_level lvl)
{
    log_min_level = lvl;
}

void nines_log_set_tag(const char *kv)
{
    if (kv == NULL || kv[0] == '\0' || strlen(kv) + 2 > sizeof(log_tag))
        log_tag[0] = '\0';
    else
        snprintf(log_tag, sizeof(log_tag), " %s", kv);
}

int nines_log_level_parse(const char *s, enum nines_log_level *lvl)
{
    for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
        if (strcasecmp(s, log_level_names[i]) == 0) {
            *lvl = (enum nines_log_level)i;
            return 0;
        }
    }
    return -1;
}

void nines_log(enum nines_log_level lvl, const char *event, const char *fields, ...)
{
    char line[2048];
    char ts[32];
    size_t n;
    int w;
    va_list ap;

    if (lvl < log_min_level)
        return;
    w = snprintf(line, sizeof(line), "%s level=%s event=%s%s",
                 nines_iso8601_ms(nines_wall_ms(), ts, sizeof(ts)), log_level_names[lvl],
                 event, log_tag);
    n = w < 0 ? 0 : (size_t)w;
    if (fields != NULL && n + 2 < sizeof(line)) {
        line[n++] = ' ';
        va_start(ap, fields);
        w = vsnprintf(line + n, sizeof(line) - n, fields, ap);
        va_end(ap);
        if (w > 0)
            n += (size_t)w;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;    /* truncated: keep the newline */
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
    }
}

const char *nines_log_quote(const char *s, char *buf, size_t len)
{
    size_t o = 0;

    if (s == NULL)
        s = "";
    if (s[0] != '\0' && strpbrk(s, " \t\"=\n\r\\") == NULL) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    if (len < 3) {
        if (len > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (; *s != '\0' && o + 3 < len; s++) {
        char c = *s;

        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (c == '"' || c == '\\')
            buf[o++] = '\\';
        buf[o++] = c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
