/*
 * A tiny RESP2 client codec for the canary: commands out, one reply in.
 * Bounded: a reply line or bulk string longer than RESP_STR_MAX is a
 * protocol error, never a bigger buffer. Arrays are not needed and are
 * refused.
 */
#ifndef NINES_CHECKS_RESP_H
#define NINES_CHECKS_RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_STR_MAX 512 /* bytes of a status, error or bulk string */
#define RESP_ARGS_MAX 8  /* arguments of one command */

enum resp_type { RESP_STATUS = 0, RESP_ERROR, RESP_INT, RESP_BULK, RESP_NIL };

/* One reply, a plain value: str is NUL-terminated (bulk strings may hold NULs: see len). */
struct resp_reply {
    enum resp_type type;
    int64_t integer;
    size_t len;
    char str[RESP_STR_MAX + 1];
};

/*
 * Formats argv[0..argc) as a RESP array of bulk strings into out. Returns the
 * length, or NINES_EINVAL when argc is outside 1..RESP_ARGS_MAX or the
 * command does not fit in cap bytes.
 */
int resp_format(char *out, size_t cap, int argc, const char *const *argv);

/*
 * Parses the reply at the start of buf[0..len). Returns the bytes it took
 * (> 0, *r filled), 0 when the reply is not complete yet, or NINES_EPROTO
 * when it is malformed, an array, or too long (why says which, for a message).
 */
int resp_parse(const char *buf, size_t len, struct resp_reply *r, const char **why);

#endif
