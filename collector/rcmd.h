/*
 * A Redis command written in RESP by hand into a buffer kept between
 * commands, then queued with redisAsyncFormattedCommand. hiredis's
 * redisAsyncCommandArgv formats every argument through sdscatfmt and a
 * fresh sds string; on the ingest path (a state HSET of 30 arguments per
 * check) that was a fifth of the collector's instructions.
 *
 * The argument count is written when the command is sent, so arguments
 * can be added in a loop without counting them first. Allocation failure
 * is remembered and makes rcmd_send fail (nothing is queued).
 */
#ifndef NINES_RCMD_H
#define NINES_RCMD_H

#include <hiredis/async.h>
#include <stddef.h>
#include <stdint.h>

struct rcmd {
    char *p;
    size_t len, cap;   /* len counts from p; the first RCMD_HEAD bytes are the header's room */
    size_t argc;
    int oom;
};

void rcmd_init(struct rcmd *b);
void rcmd_close(struct rcmd *b);
/* Drops the arguments added so far (keeps the memory). */
void rcmd_reset(struct rcmd *b);
/* Appends one argument of n bytes (binary-safe). */
void rcmd_arg(struct rcmd *b, const char *s, size_t n);
void rcmd_str(struct rcmd *b, const char *s);
void rcmd_int(struct rcmd *b, int64_t v);
/*
 * The command as it will be sent ("*N\r\n$..."), *len its length; NULL
 * when there is none (no argument, or out of memory). Valid until the next
 * change to b.
 */
const char *rcmd_bytes(struct rcmd *b, size_t *len);
/*
 * Queues the command on ac (fn/privdata as for redisAsyncCommand) and
 * empties b for the next one, keeping its memory. REDIS_OK, or REDIS_ERR
 * when nothing was queued (out of memory, no argument, or hiredis refused).
 */
int rcmd_send(struct rcmd *b, redisAsyncContext *ac, redisCallbackFn *fn, void *privdata);

#endif
