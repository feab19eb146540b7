/* Error records: filled once where a failure happens, formatted for humans. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nines/err.h"

static void err_vfill(struct nines_err *e, int code, const char *file, int line, int column,
                      const char *fmt, va_list ap)
{
    e->code = code;
    e->line = line;
    e->column = column;
    snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int nines_err_set(struct nines_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    va_start(ap, fmt);
    err_vfill(e, code, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return code;
}

int nines_err_at(struct nines_err *e, const char *file, int line, int column, const char *fmt,
                 ...)
{
    va_list ap;

    if (e == NULL)
        return NINES_ECONFIG;
    va_start(ap, fmt);
    err_vfill(e, NINES_ECONFIG, file, line, column, fmt, ap);
    va_end(ap);
    return NINES_ECONFIG;
}

int nines_errlist_add(struct nines_errlist *l, const char *file, int line, int column,
                      const char *fmt, ...)
{
    va_list ap;

    if (l == NULL)
        return NINES_ECONFIG;
    if (l->count >= NINES_ERRLIST_MAX) {
        l->dropped++;
        return NINES_ECONFIG;
    }
    va_start(ap, fmt);
    err_vfill(&l->item[l->count++], NINES_ECONFIG, file, line, column, fmt, ap);
    va_end(ap);
    return NINES_ECONFIG;
}

const char *nines_err_format(const struct nines_err *e, char *buf, size_t len)
{
    if (e->file[0] == '\0')
        snprintf(buf, len, "%s", e->msg);
    else if (e->line <= 0)
        snprintf(buf, len, "%s: %s", e->file, e->msg);
    else
        snprintf(buf, len, "%s:%d:%d: %s", e->file, e->line, e->column, e->msg);
    return buf;
}
