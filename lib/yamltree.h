/*
 * A YAML document as a small tree of mappings, sequences and scalars, each
 * remembering where it was written (1-based line and column), for loaders
 * that must point at the exact FILE:LINE:COLUMN of a problem.
 */
#ifndef NINES_YAMLTREE_H
#define NINES_YAMLTREE_H

#include <stddef.h>

#include "nines/err.h"

#define YAMLTREE_MAX_WEIGHT 1000000

enum yamltree_type {
    YAMLTREE_SCALAR = 0,
    YAMLTREE_SEQUENCE,
    YAMLTREE_MAPPING,
};

struct yamltree_node;

struct yamltree_pair {
    struct yamltree_node *key;      /* always a scalar */
    struct yamltree_node *value;
};

/*
 * An alias (*ref) is the anchored node itself, so a node may be reachable
 * twice; it reports the anchor's position. Nodes belong to their tree.
 */
struct yamltree_node {
    enum yamltree_type type;
    int line;                       /* 1-based, of the node's first character */
    int column;
    int plain;                      /* scalar written unquoted: may be a number, bool, null */
    char *value;                    /* scalar text, NUL-terminated (may also hold NULs) */
    size_t len;
    struct yamltree_node **items;   /* sequence entries */
    struct yamltree_pair *pairs;    /* mapping entries in file order, duplicates dropped */
    size_t count;                   /* entries in items or pairs */
    size_t cap;
    size_t weight;                  /* nodes it stands for, aliases expanded (capped) */
    struct yamltree_node *next_alloc;
};

struct yamltree {
    struct yamltree_node *root;     /* NULL: no document, or a syntax error */
    struct yamltree_node *nodes;    /* every node made, for yamltree_free */
};

/*
 * Parses buf[0..len) (at most one document). Aliases may expand the tree to
 * at most YAMLTREE_MAX_WEIGHT nodes (an "alias bomb" is an error). Every problem is added to errs
 * against file. Returns 0; NINES_ECONFIG when a problem was found (root is
 * NULL after a syntax error, and still set after a duplicate or merge key,
 * which are dropped from their mapping); or NINES_ENOMEM. Free t in all cases.
 */
int yamltree_parse(struct yamltree *t, const char *file, const char *buf, size_t len,
                   struct nines_errlist *errs);
void yamltree_free(struct yamltree *t);

/* The value stored under key in mapping map, or NULL. */
const struct yamltree_node *yamltree_get(const struct yamltree_node *map, const char *key);
/* 1 for a plain empty, "~" or "null" scalar. */
int yamltree_is_null(const struct yamltree_node *n);
/* "a mapping", "a sequence", "null" or "a string", for messages. */
const char *yamltree_type_name(const struct yamltree_node *n);

#endif
