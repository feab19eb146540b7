/*
 * A condition on a JSON document, as an HTTP check's json_condition:
 *
 *   path OP literal        e.g.  status == "UP"   checks.db.ok == true
 *                                items.0.count >= 3   error == null
 *
 * path is dotted object keys and array indices; OP is == != < <= > >=;
 * literal is a JSON scalar ("string", number, true, false, null). Ordering
 * operators need a number literal. Numbers compare numerically (1 == 1.0).
 */
#ifndef NINES_JSONCOND_H
#define NINES_JSONCOND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NINES_JSON_COND_MAX 1024    /* bytes of condition text (with NUL) */
#define NINES_JSON_PATH_DEPTH 32    /* segments of a path */

enum nines_json_op {
    NINES_JSON_EQ = 0,
    NINES_JSON_NE,
    NINES_JSON_LT,
    NINES_JSON_LE,
    NINES_JSON_GT,
    NINES_JSON_GE,
};

enum nines_json_lit {
    NINES_JSON_LIT_STRING = 0,
    NINES_JSON_LIT_NUMBER,
    NINES_JSON_LIT_TRUE,
    NINES_JSON_LIT_FALSE,
    NINES_JSON_LIT_NULL,
};

/* A parsed condition: a plain value (no pointers), safe to copy. */
struct nines_json_cond {
    char text[NINES_JSON_COND_MAX];     /* path segments, each NUL-ended, then the string */
    size_t nseg;
    size_t seg[NINES_JSON_PATH_DEPTH];  /* offsets of the segments in text */
    enum nines_json_op op;
    enum nines_json_lit lit;
    size_t str;                         /* LIT_STRING: offset of the value in text */
    size_t str_len;
    int is_int;                         /* LIT_NUMBER: integer literal (ival exact) */
    int64_t ival;
    double dval;
};

/*
 * Parses s into *out. Returns 0, or NINES_EINVAL with a short reason in err
 * (for "FILE:LINE:COLUMN: 'json_condition': <reason>").
 */
int nines_json_cond_parse(const char *s, struct nines_json_cond *out, char *err, size_t errlen);
/*
 * Evaluates c on doc: 1 when the condition holds, 0 when it does not,
 * NINES_ENOTFOUND when the path leads nowhere, NINES_EINVAL when an ordering
 * operator meets a value that is not a number. Only 1 means "holds".
 */
int nines_json_cond_eval(const struct nines_json_cond *c, const json_t *doc);
/* The value the path leads to in doc (borrowed from doc), or NULL. */
const json_t *nines_json_cond_lookup(const struct nines_json_cond *c, const json_t *doc);
const char *nines_json_op_name(enum nines_json_op op);

#endif
