/*
 * One table row per check option (where it lives in struct nines_check, what
 * type it has, what NULL means), so that clearing, copying, comparing and the
 * catalogue all follow the same list: a new option is one row here.
 */
#ifndef NINES_CHECKOPT_H
#define NINES_CHECKOPT_H

#include <stddef.h>
#include <stdint.h>

#include "nines/check.h"

enum checkopt_type {
    CHECKOPT_STR,           /* char *; NULL = dflt (or unset) */
    CHECKOPT_INT,           /* int in [min, max] */
    CHECKOPT_I64,           /* int64_t in [min, max] */
    CHECKOPT_BOOL,          /* int, 0 or 1 */
    CHECKOPT_DOUBLE,        /* double, 0 or in (0, max] */
    CHECKOPT_IPVER,         /* int: 0 (any), 4 or 6 */
    CHECKOPT_MATCH,         /* enum nines_dns_match */
    CHECKOPT_STRV,          /* char ** + size_t count */
    CHECKOPT_KV,            /* struct nines_kv * + size_t count */
    CHECKOPT_HDRCONDS,      /* struct nines_header_cond * + size_t count */
    CHECKOPT_SHA256,        /* unsigned char[32]; all zeros = unset (hex in the catalogue) */
};

#define CHECKOPT_REQUIRED 1u    /* the check cannot run without it */
#define CHECKOPT_ALWAYS 2u      /* written to the catalogue even at its default */

struct checkopt {
    const char *name;               /* the struct member: also the catalogue key */
    enum checkopt_type type;
    unsigned flags;
    size_t offset;                  /* in struct nines_check */
    size_t count_offset;            /* arrays: of the size_t count */
    const char *dflt;               /* strings: what NULL stands for, or NULL */
    const char *const *choices;     /* strings: the allowed values (NULL-ended), or NULL */
    int64_t min;                    /* integers */
    int64_t max;                    /* integers, and the double's maximum */
};

struct checkopt_kind {
    enum nines_check_kind kind;
    const char *name;               /* "http": also the catalogue key of the options */
    const struct checkopt *opts;
    size_t count;
};

extern const struct checkopt_kind checkopt_kinds[];
extern const size_t checkopt_nkinds;

/* NULL-ended lists of allowed values, shared with the YAML loader. */
extern const char *const checkopt_methods[];
extern const char *const checkopt_record_types[];
extern const char *const checkopt_rcodes[];
extern const char *const checkopt_tls_versions[];
extern const char *const checkopt_auth_types[];
/* A check's severity, a routing label: page (what NULL stands for), ticket, info. */
extern const char *const checkopt_severities[];
#define CHECKOPT_SEVERITY_DEFAULT "page"

/* The table of kind k, or NULL for a kind that does not exist. */
const struct checkopt_kind *checkopt_kind(enum nines_check_kind k);
/* 1 when s is one of the NULL-ended list. */
int checkopt_one_of(const char *s, const char *const *list);
const char *checkopt_match_name(enum nines_dns_match m);
int checkopt_match_parse(const char *s, enum nines_dns_match *m);
const char *checkopt_hdr_op_name(enum nines_header_op op);
int checkopt_hdr_op_parse(const char *s, enum nines_header_op *op);

/* Frees every option of every kind (pointers are left dangling: zero after). */
void checkopt_free(struct nines_check *c);
/*
 * Replaces every option pointer of dst (a shallow copy of src) with a deep
 * copy. On failure returns -1; the pointers not yet copied are NULL, so
 * checkopt_free(dst) releases exactly what was made.
 */
int checkopt_copy(struct nines_check *dst, const struct nines_check *src);
/* 1 when the options of kind k are equal in a and b (NULL equals dflt). */
int checkopt_equal(const struct checkopt_kind *k, const struct nines_check *a,
                   const struct nines_check *b);

#endif
