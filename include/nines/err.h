/* Error codes and the error record every fallible call can fill. */
#ifndef NINES_ERR_H
#define NINES_ERR_H

#include <stddef.h>

/* Negative codes, in the libuv manner: 0 is success. */
enum {
    NINES_OK = 0,
    NINES_EINVAL = -1,   /* bad argument or bad input */
    NINES_ENOMEM = -2,
    NINES_EIO = -3,      /* file or socket error */
    NINES_ECONFIG = -4,  /* configuration error (see file/line/column) */
    NINES_EPROTO = -5,   /* malformed data from a peer (Redis, wire format) */
    NINES_ENOTFOUND = -6,
    NINES_ESTATE = -7,   /* not possible in the current state */
};

/*
 * Why a call failed, for a human. Filled once, where the failure happens.
 * file/line/column are set for configuration errors (1-based; 0 = unknown).
 */
struct nines_err {
    int code;
    int line;
    int column;
    char file[256];
    char msg[256];
};

/* A bounded list of errors, for loaders that report every problem at once. */
#define NINES_ERRLIST_MAX 20
struct nines_errlist {
    size_t count;
    size_t dropped; /* errors past NINES_ERRLIST_MAX, counted, not kept */
    struct nines_err item[NINES_ERRLIST_MAX];
};

int nines_err_set(struct nines_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int nines_err_at(struct nines_err *e, const char *file, int line, int column,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Appends to the list (or counts it as dropped); returns NINES_ECONFIG. */
int nines_errlist_add(struct nines_errlist *l, const char *file, int line, int column,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "FILE:LINE:COLUMN: msg" (or just "msg" when no file is set), into buf. */
const char *nines_err_format(const struct nines_err *e, char *buf, size_t len);

#endif
