/*
 * libyaml's event parser turned into a tree with positions.
 *
 * libyaml marks are 0-based; every node stores them 1-based. Containers are
 * attached to their parent when they end, which is also when their anchor
 * becomes usable: an alias inside its own anchored node is unknown, so the
 * tree has no cycles. Every node is on one list, so an alias (a second
 * pointer to a node) never causes a double free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamltree.h"

#define YAMLTREE_MAX_DEPTH 64
#define YAMLTREE_MAX_ANCHORS 1000    /* anchors are looked up linearly */
#define YAMLTREE_MAX_ALIASES 100000
#define YAMLTREE_TAG_STR "tag:yaml.org,2002:str"
#define YAMLTREE_TAG_SEQ "tag:yaml.org,2002:seq"
#define YAMLTREE_TAG_MAP "tag:yaml.org,2002:map"

struct yamltree_frame {
    struct yamltree_node *node;
    char *anchor;                   /* registered once the node is complete */
    int have_key;                   /* mapping: the next node is a value */
    struct yamltree_node *key;      /* mapping: NULL when the key was rejected */
};

struct yamltree_anchor {
    char *name;
    struct yamltree_node *node;
    struct yamltree_anchor *next;
};

struct yamltree_builder {
    struct yamltree *t;
    const char *file;
    struct nines_errlist *errs;
    int nerr;
    int documents;
    int doc_line;                   /* where the document starts */
    int doc_column;
    size_t depth;
    struct yamltree_frame stack[YAMLTREE_MAX_DEPTH];
    struct yamltree_anchor *anchors;
    size_t nanchors;
    size_t naliases;
    size_t alias_weight;            /* nodes added by expanding aliases */
};

/* A sortable view of one mapping key. */
struct yamltree_keyref {
    const struct yamltree_node *key;
    size_t index;
};

static void yamltree_error(struct yamltree_builder *b, int line, int column, const char *msg)
{
    b->nerr++;
    nines_errlist_add(b->errs, b->file, line, column, "%s", msg);
}

static void yamltree_error_at(struct yamltree_builder *b, const yaml_mark_t *m, const char *msg)
{
    yamltree_error(b, (int)m->line + 1, (int)m->column + 1, msg);
}

/* Copies at most 40 characters of s for a message, control characters as '?'. */
static const char *yamltree_excerpt(const char *s, size_t len, char *buf, size_t size)
{
    size_t n = len < 40 ? len : 40;
    size_t o = 0;

    for (size_t i = 0; i < n && o + 4 < size; i++)
        buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? (char)'?' : s[i];
    if (n < len && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static struct yamltree_node *yamltree_node_new(struct yamltree_builder *b,
                                               enum yamltree_type type, const yaml_mark_t *m)
{
    struct yamltree_node *n = calloc(1, sizeof(*n));

    if (n == NULL)
        return NULL;
    n->type = type;
    n->weight = 1;
    n->line = (int)m->line + 1;
    n->column = (int)m->column + 1;
    n->next_alloc = b->t->nodes;
    b->t->nodes = n;
    return n;
}

/* Makes room for one more entry in a sequence or mapping. */
static int yamltree_grow(struct yamltree_node *n)
{
    size_t cap = n->cap ? 2 * n->cap : 4;
    void *p;

    if (n->count < n->cap)
        return 0;
    if (n->type == YAMLTREE_SEQUENCE)
        p = realloc(n->items, cap * sizeof(*n->items));
    else
        p = realloc(n->pairs, cap * sizeof(*n->pairs));
    if (p == NULL)
        return NINES_ENOMEM;
    if (n->type == YAMLTREE_SEQUENCE)
        n->items = p;
    else
        n->pairs = p;
    n->cap = cap;
    return 0;
}

static int yamltree_anchor_add(struct yamltree_builder *b, const char *name,
                               struct yamltree_node *n)
{
    struct yamltree_anchor *a;

    if (b->nanchors == YAMLTREE_MAX_ANCHORS) {
        yamltree_error(b, n->line, n->column, "too many anchors (at most 1000)");
        return NINES_ECONFIG;
    }
    a = malloc(sizeof(*a));
    if (a == NULL)
        return NINES_ENOMEM;
    a->name = strdup(name);
    if (a->name == NULL) {
        free(a);
        return NINES_ENOMEM;
    }
    a->node = n;
    a->next = b->anchors;           /* newest first: a redefined anchor wins */
    b->anchors = a;
    b->nanchors++;
    return 0;
}

static struct yamltree_node *yamltree_anchor_find(const struct yamltree_builder *b,
                                                  const char *name)
{
    for (const struct yamltree_anchor *a = b->anchors; a != NULL; a = a->next) {
        if (strcmp(a->name, name) == 0)
            return a->node;
    }
    return NULL;
}

/*
 * Only the core schema's own tags are accepted; "!" and "!!str" make a
 * scalar a string even when it looks like a number.
 */
static void yamltree_check_tag(struct yamltree_builder *b, struct yamltree_node *n,
                               const char *tag)
{
    char msg[160];
    char ex[48];

    if (tag == NULL)
        return;
    if (n->type == YAMLTREE_SCALAR
        && (strcmp(tag, "!") == 0 || strcmp(tag, YAMLTREE_TAG_STR) == 0)) {
        n->plain = 0;
        return;
    }
    if ((n->type == YAMLTREE_SEQUENCE && strcmp(tag, YAMLTREE_TAG_SEQ) == 0)
        || (n->type == YAMLTREE_MAPPING && strcmp(tag, YAMLTREE_TAG_MAP) == 0))
        return;
    snprintf(msg, sizeof(msg), "unsupported YAML tag '%s'",
             yamltree_excerpt(tag, strlen(tag), ex, sizeof(ex)));
    yamltree_error(b, n->line, n->column, msg);
}

/* n is the next key of mapping frame f: keep it unless it cannot be one. */
static void yamltree_take_key(struct yamltree_builder *b, struct yamltree_frame *f,
                              struct yamltree_node *n)
{
    char msg[160];

    f->have_key = 1;
    f->key = NULL;
    if (n->type != YAMLTREE_SCALAR) {
        snprintf(msg, sizeof(msg), "a mapping key must be a string, not %s",
                 yamltree_type_name(n));
        yamltree_error(b, n->line, n->column, msg);
    } else if (n->plain && n->len == 2 && strcmp(n->value, "<<") == 0) {
        yamltree_error(b, n->line, n->column,
                       "merge keys ('<<') are not supported: write the keys out");
    } else {
        f->key = n;
    }
}

/* Places a complete node: as the root, a sequence entry, a key or a value. */
static int yamltree_attach(struct yamltree_builder *b, struct yamltree_node *n)
{
    struct yamltree_frame *f;
    struct yamltree_node *p;

    if (b->depth == 0) {
        if (n->type == YAMLTREE_SCALAR && n->plain && n->len == 0) {
            n->line = b->doc_line;  /* an empty document: point at its start */
            n->column = b->doc_column;
        }
        b->t->root = n;
        return 0;
    }
    f = &b->stack[b->depth - 1];
    p = f->node;
    p->weight += n->weight;         /* both are at most YAMLTREE_MAX_WEIGHT */
    if (p->weight > YAMLTREE_MAX_WEIGHT)
        p->weight = YAMLTREE_MAX_WEIGHT + 1;
    if (p->type == YAMLTREE_SEQUENCE) {
        if (yamltree_grow(p) < 0)
            return NINES_ENOMEM;
        p->items[p->count++] = n;
        return 0;
    }
    if (!f->have_key) {
        yamltree_take_key(b, f, n);
        return 0;
    }
    f->have_key = 0;
    if (f->key == NULL)
        return 0;                   /* the key was rejected: drop its value */
    if (n->type == YAMLTREE_SCALAR && n->plain && n->len == 0) {
        n->line = f->key->line;     /* libyaml marks "key:" + nothing at the next token */
        n->column = f->key->column;
    }
    if (yamltree_grow(p) < 0)
        return NINES_ENOMEM;
    p->pairs[p->count].key = f->key;
    p->pairs[p->count].value = n;
    p->count++;
    return 0;
}

static int yamltree_keyref_cmp(const void *a, const void *b)
{
    const struct yamltree_keyref *x = a;
    const struct yamltree_keyref *y = b;
    size_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
    int c = memcmp(x->key->value, y->key->value, n);

    if (c != 0)
        return c;
    if (x->key->len != y->key->len)
        return x->key->len < y->key->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Reports every repeated key of a mapping at the repetition and drops it,
 * keeping the first. Sorting keeps this O(n log n) for huge mappings.
 */
static int yamltree_dedupe(struct yamltree_builder *b, struct yamltree_node *map)
{
    struct yamltree_keyref *refs;
    unsigned char *drop;
    size_t first = 0, out = 0;
    char msg[160];
    char ex[48];

    if (map->count < 2)
        return 0;
    refs = malloc(map->count * sizeof(*refs));
    drop = calloc(map->count, 1);
    if (refs == NULL || drop == NULL) {
        free(refs);
        free(drop);
        return NINES_ENOMEM;
    }
    for (size_t i = 0; i < map->count; i++) {
        refs[i].key = map->pairs[i].key;
        refs[i].index = i;
    }
    qsort(refs, map->count, sizeof(*refs), yamltree_keyref_cmp);
    for (size_t i = 1; i < map->count; i++) {
        const struct yamltree_node *k = refs[i].key;
        const struct yamltree_node *k0 = refs[first].key;

        if (k->len != k0->len || memcmp(k->value, k0->value, k->len) != 0) {
            first = i;
            continue;
        }
        drop[refs[i].index] = 1;
        snprintf(msg, sizeof(msg), "duplicate key '%s' (first at line %d)",
                 yamltree_excerpt(k->value, k->len, ex, sizeof(ex)), k0->line);
        yamltree_error(b, k->line, k->column, msg);
    }
    for (size_t i = 0; i < map->count; i++) {
        if (!drop[i])
            map->pairs[out++] = map->pairs[i];
    }
    map->count = out;
    free(refs);
    free(drop);
    return 0;
}

static int yamltree_on_scalar(struct yamltree_builder *b, const yaml_event_t *ev)
{
    struct yamltree_node *n = yamltree_node_new(b, YAMLTREE_SCALAR, &ev->start_mark);
    size_t len = ev->data.scalar.length;

    if (n == NULL)
        return NINES_ENOMEM;
    n->value = malloc(len + 1);
    if (n->value == NULL)
        return NINES_ENOMEM;
    memcpy(n->value, ev->data.scalar.value, len);
    n->value[len] = '\0';
    n->len = len;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    yamltree_check_tag(b, n, (const char *)ev->data.scalar.tag);
    if (ev->data.scalar.anchor != NULL) {
        int rc = yamltree_anchor_add(b, (const char *)ev->data.scalar.anchor, n);

        if (rc < 0)
            return rc;
    }
    return yamltree_attach(b, n);
}

static int yamltree_on_alias(struct yamltree_builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct yamltree_node *n = yamltree_anchor_find(b, name);
    char msg[160];
    char ex[48];

    if (n == NULL) {
        snprintf(msg, sizeof(msg), "unknown alias '*%s' (no complete node has anchor '&%s')",
                 yamltree_excerpt(name, strlen(name), ex, sizeof(ex)), ex);
        yamltree_error_at(b, &ev->start_mark, msg);
        return NINES_ECONFIG;
    }
    b->alias_weight += n->weight;
    if (++b->naliases > YAMLTREE_MAX_ALIASES || b->alias_weight > YAMLTREE_MAX_WEIGHT) {
        snprintf(msg, sizeof(msg), "aliases expand to too many nodes (at most %d aliases "
                 "and %d nodes)", YAMLTREE_MAX_ALIASES, YAMLTREE_MAX_WEIGHT);
        yamltree_error_at(b, &ev->start_mark, msg);
        return NINES_ECONFIG;
    }
    return yamltree_attach(b, n);
}

static int yamltree_on_start(struct yamltree_builder *b, const yaml_event_t *ev)
{
    int is_seq = ev->type == YAML_SEQUENCE_START_EVENT;
    const yaml_char_t *anchor = is_seq ? ev->data.sequence_start.anchor
                                       : ev->data.mapping_start.anchor;
    const yaml_char_t *tag = is_seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
    struct yamltree_frame *f;
    struct yamltree_node *n;

    if (b->depth == YAMLTREE_MAX_DEPTH) {
        yamltree_error_at(b, &ev->start_mark, "nested deeper than 64 levels");
        return NINES_ECONFIG;
    }
    n = yamltree_node_new(b, is_seq ? YAMLTREE_SEQUENCE : YAMLTREE_MAPPING, &ev->start_mark);
    if (n == NULL)
        return NINES_ENOMEM;
    yamltree_check_tag(b, n, (const char *)tag);
    f = &b->stack[b->depth];
    memset(f, 0, sizeof(*f));
    f->node = n;
    if (anchor != NULL) {
        f->anchor = strdup((const char *)anchor);
        if (f->anchor == NULL)
            return NINES_ENOMEM;
    }
    b->depth++;
    return 0;
}

static int yamltree_on_end(struct yamltree_builder *b)
{
    struct yamltree_frame *f = &b->stack[b->depth - 1];
    struct yamltree_node *n = f->node;
    int rc = 0;

    if (n->type == YAMLTREE_MAPPING)
        rc = yamltree_dedupe(b, n);
    if (rc == 0 && f->anchor != NULL)
        rc = yamltree_anchor_add(b, f->anchor, n);
    free(f->anchor);
    f->anchor = NULL;
    b->depth--;
    return rc < 0 ? rc : yamltree_attach(b, n);
}

/* One event; a negative return stops the parse. */
static int yamltree_on_event(struct yamltree_builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->documents++ == 0) {
            b->doc_line = (int)ev->start_mark.line + 1;
            b->doc_column = (int)ev->start_mark.column + 1;
            return 0;
        }
        yamltree_error_at(b, &ev->start_mark,
                          "only one YAML document is allowed in a configuration file");
        return NINES_ECONFIG;
    case YAML_SCALAR_EVENT:
        return yamltree_on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return yamltree_on_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return yamltree_on_start(b, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return b->depth > 0 ? yamltree_on_end(b) : 0;
    default:
        return 0;
    }
}

/* A reader error carries a byte offset; count lines and characters up to it. */
static void yamltree_offset_pos(const char *buf, size_t len, size_t offset, int *line,
                                int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
            (*column)++;            /* UTF-8 continuation bytes share a column */
        }
    }
}

/* Translates libyaml's error state into one error record. */
static int yamltree_syntax_error(struct yamltree_builder *b, const yaml_parser_t *p,
                                 const char *buf, size_t len)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    char msg[256];
    int line, column;

    if (p->error == YAML_MEMORY_ERROR)
        return NINES_ENOMEM;
    if (p->error == YAML_READER_ERROR) {
        yamltree_offset_pos(buf, len, p->problem_offset, &line, &column);
        snprintf(msg, sizeof(msg), "unreadable text: %s", problem);
        yamltree_error(b, line, column, msg);
        return NINES_ECONFIG;
    }
    if (p->context != NULL)
        snprintf(msg, sizeof(msg), "syntax error: %s (%s at line %d, column %d)", problem,
                 p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        snprintf(msg, sizeof(msg), "syntax error: %s", problem);
    yamltree_error_at(b, &p->problem_mark, msg);
    return NINES_ECONFIG;
}

static void yamltree_builder_close(struct yamltree_builder *b)
{
    while (b->anchors != NULL) {
        struct yamltree_anchor *a = b->anchors;

        b->anchors = a->next;
        free(a->name);
        free(a);
    }
    for (size_t i = 0; i < b->depth; i++)
        free(b->stack[i].anchor);
    b->depth = 0;
}

int yamltree_parse(struct yamltree *t, const char *file, const char *buf, size_t len,
                   struct nines_errlist *errs)
{
    struct yamltree_builder *b;
    yaml_parser_t parser;
    int rc = 0;

    memset(t, 0, sizeof(*t));
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NINES_ENOMEM;
    if (!yaml_parser_initialize(&parser)) {
        free(b);
        return NINES_ENOMEM;
    }
    b->t = t;
    b->file = file;
    b->errs = errs;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    for (;;) {
        yaml_event_t ev;
        int done;

        if (!yaml_parser_parse(&parser, &ev)) {
            rc = yamltree_syntax_error(b, &parser, buf, len);
            break;
        }
        rc = yamltree_on_event(b, &ev);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc < 0 || done)
            break;
    }
    yaml_parser_delete(&parser);
    yamltree_builder_close(b);
    if (rc == 0 && b->nerr > 0)
        rc = NINES_ECONFIG;
    else if (rc < 0)
        t->root = NULL;             /* a partial tree is not worth validating */
    free(b);
    return rc;
}

void yamltree_free(struct yamltree *t)
{
    while (t->nodes != NULL) {
        struct yamltree_node *n = t->nodes;

        t->nodes = n->next_alloc;
        free(n->value);
        free(n->items);
        free(n->pairs);
        free(n);
    }
    t->root = NULL;
}

const struct yamltree_node *yamltree_get(const struct yamltree_node *map, const char *key)
{
    size_t len = strlen(key);

    if (map == NULL || map->type != YAMLTREE_MAPPING)
        return NULL;
    for (size_t i = 0; i < map->count; i++) {
        const struct yamltree_node *k = map->pairs[i].key;

        if (k->len == len && memcmp(k->value, key, len) == 0)
            return map->pairs[i].value;
    }
    return NULL;
}

int yamltree_is_null(const struct yamltree_node *n)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

    if (n->type != YAMLTREE_SCALAR || !n->plain)
        return 0;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        if (strcmp(n->value, nulls[i]) == 0 && strlen(nulls[i]) == n->len)
            return 1;
    }
    return 0;
}

const char *yamltree_type_name(const struct yamltree_node *n)
{
    switch (n->type) {
    case YAMLTREE_MAPPING:
        return "a mapping";
    case YAMLTREE_SEQUENCE:
        return "a sequence";
    case YAMLTREE_SCALAR:
        break;
    }
    return yamltree_is_null(n) ? "null" : "a string";
}
