/* RESP commands built by hand; see rcmd.h. */
#include <stdlib.h>
#include <string.h>

#include "rcmd.h"

/* Room for "*<argc>\r\n" before the first argument: 20 digits + 3. */
#define RCMD_HEAD 24
#define RCMD_MAX (512u * 1024 * 1024)   /* Redis's own limit on a bulk argument */

void rcmd_init(struct rcmd *b)
{
    memset(b, 0, sizeof(*b));
    b->len = RCMD_HEAD;
}

void rcmd_close(struct rcmd *b)
{
    free(b->p);
    rcmd_init(b);
}

void rcmd_reset(struct rcmd *b)
{
    b->len = RCMD_HEAD;
    b->argc = 0;
    b->oom = 0;
}

static int rcmd_room(struct rcmd *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->oom)
        return -1;
    if (b->p != NULL && b->cap - b->len >= n)
        return 0;
    if (n > RCMD_MAX || b->len > RCMD_MAX) {
        b->oom = 1;
        return -1;
    }
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Decimal digits of u, written backwards ending at end; returns the start. */
static char *rcmd_digits(char *end, uint64_t u)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    return end;
}

void rcmd_arg(struct rcmd *b, const char *s, size_t n)
{
    char tmp[24], *d;
    size_t dn;

    d = rcmd_digits(tmp + sizeof(tmp), n);
    dn = (size_t)(tmp + sizeof(tmp) - d);
    if (n > RCMD_MAX)
        b->oom = 1;
    if (b->oom || rcmd_room(b, 1 + dn + 2 + n + 2) != 0)
        return;
    b->p[b->len++] = '$';
    memcpy(b->p + b->len, d, dn);
    b->len += dn;
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
    b->argc++;
}

void rcmd_str(struct rcmd *b, const char *s)
{
    rcmd_arg(b, s, strlen(s));
}

void rcmd_int(struct rcmd *b, int64_t v)
{
    char tmp[24], *d;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    d = rcmd_digits(tmp + sizeof(tmp), u);
    if (v < 0)
        *--d = '-';
    rcmd_arg(b, d, (size_t)(tmp + sizeof(tmp) - d));
}

const char *rcmd_bytes(struct rcmd *b, size_t *len)
{
    char tmp[24], *d, *start;
    size_t dn;

    if (b->oom || b->argc == 0)
        return NULL;
    d = rcmd_digits(tmp + sizeof(tmp), b->argc);
    dn = (size_t)(tmp + sizeof(tmp) - d);
    start = b->p + RCMD_HEAD - (dn + 3);
    start[0] = '*';
    memcpy(start + 1, d, dn);
    start[dn + 1] = '\r';
    start[dn + 2] = '\n';
    *len = b->len - (size_t)(start - b->p);
    return start;
}

int rcmd_send(struct rcmd *b, redisAsyncContext *ac, redisCallbackFn *fn, void *privdata)
{
    size_t len = 0;
    const char *cmd = rcmd_bytes(b, &len);
    int rc = REDIS_ERR;

    if (cmd != NULL)
        rc = redisAsyncFormattedCommand(ac, fn, privdata, cmd, len);
    rcmd_reset(b);
    return rc;
}
