/*
 * Reply objects in blocks; see rreply.h.
 *
 * The root object of a reply sits in its first block, right after a small
 * head that records the block being filled. Every later object of the same
 * reply finds that head through its read task's parents (the root task's
 * obj is the root reply) and is bumped out of the current block; a full
 * block is chained behind a new one, twice as large up to a cap. A string's
 * bytes follow its redisReply, an array's element pointers follow its own.
 * Freeing the root frees the chain. hiredis only ever frees roots: the
 * reply handed to a callback, or a half-built one when the reader fails or
 * is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rreply.h"

#define RREPLY_FIRST_BLOCK 4096
#define RREPLY_MAX_BLOCK (256 * 1024)
#define RREPLY_ALIGN(n) (((n) + 7) & ~(size_t)7)

struct rreply_block {
    struct rreply_block *prev;   /* filled before this one; NULL for the first */
    size_t cap, used;            /* bytes of data */
    unsigned char data[];        /* 8-aligned: the header is 24 bytes */
};

/* At the start of the first block, before the root object. */
struct rreply_head {
    struct rreply_block *cur;    /* the block being filled */
    size_t next_cap;             /* size of the next block */
    int kept;                    /* rreply_keep: hiredis's free leaves it */
};

#define RREPLY_HEAD_SIZE RREPLY_ALIGN(sizeof(struct rreply_head))

static struct rreply_head *rreply_head_of(void *root)
{
    return (struct rreply_head *)(void *)((unsigned char *)root - RREPLY_HEAD_SIZE);
}

/* need bytes (8-aligned) from the reply's current block, or a new one. */
static void *rreply_take(struct rreply_head *h, size_t need)
{
    struct rreply_block *b = h->cur;
    void *p;

    if (b->cap - b->used < need) {
        size_t cap = h->next_cap > need ? h->next_cap : need;

        if (cap > SIZE_MAX - sizeof(*b))
            return NULL;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->prev = h->cur;
        b->cap = cap;
        b->used = 0;
        h->cur = b;
        if (h->next_cap < RREPLY_MAX_BLOCK)
            h->next_cap *= 2;
    }
    p = b->data + b->used;
    b->used += need;
    return p;
}

/* A new object of type with extra bytes after it, linked into its parent. */
static redisReply *rreply_new(const redisReadTask *task, int type, size_t extra)
{
    const redisReadTask *t = task->parent;
    redisReply *r;
    size_t need;

    if (extra > SIZE_MAX - sizeof(*r) - 8 - RREPLY_HEAD_SIZE - RREPLY_FIRST_BLOCK)
        return NULL;
    need = RREPLY_ALIGN(sizeof(*r) + extra);
    if (t == NULL) {
        size_t cap = RREPLY_HEAD_SIZE + need;
        struct rreply_block *b;
        struct rreply_head *h;

        if (cap < RREPLY_FIRST_BLOCK)
            cap = RREPLY_FIRST_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->prev = NULL;
        b->cap = cap;
        b->used = RREPLY_HEAD_SIZE + need;
        h = (struct rreply_head *)(void *)b->data;
        h->cur = b;
        h->next_cap = 2 * RREPLY_FIRST_BLOCK;
        h->kept = 0;
        r = (redisReply *)(void *)(b->data + RREPLY_HEAD_SIZE);
    } else {
        while (t->parent != NULL)
            t = t->parent;
        r = rreply_take(rreply_head_of(t->obj), need);
        if (r == NULL)
            return NULL;
    }
    memset(r, 0, sizeof(*r));
    r->type = type;
    if (task->parent != NULL) {
        redisReply *parent = task->parent->obj;

        parent->element[task->idx] = r;
    }
    return r;
}

static void *rreply_create_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r;

    if (len == SIZE_MAX)
        return NULL;
    r = rreply_new(task, task->type, len + 1);
    if (r == NULL)
        return NULL;
    r->str = (char *)(r + 1);
    memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static void *rreply_create_array(const redisReadTask *task, int elements)
{
    size_t n = elements > 0 ? (size_t)elements : 0;
    redisReply *r;

    if (n > SIZE_MAX / sizeof(redisReply *) / 2)
        return NULL;
    r = rreply_new(task, REDIS_REPLY_ARRAY, n * sizeof(redisReply *));
    if (r == NULL)
        return NULL;
    r->elements = n;
    if (n > 0) {
        r->element = (redisReply **)(void *)(r + 1);
        memset(r->element, 0, n * sizeof(redisReply *));
    }
    return r;
}

static void *rreply_create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = rreply_new(task, REDIS_REPLY_INTEGER, 0);

    if (r != NULL)
        r->integer = value;
    return r;
}

static void *rreply_create_nil(const redisReadTask *task)
{
    return rreply_new(task, REDIS_REPLY_NIL, 0);
}

static void rreply_free_blocks(void *root)
{
    struct rreply_block *b;

    /* the head lives in the first block, which is freed last */
    b = rreply_head_of(root)->cur;
    while (b != NULL) {
        struct rreply_block *prev = b->prev;

        free(b);
        b = prev;
    }
}

static void rreply_free(void *root)
{
    if (root == NULL || rreply_head_of(root)->kept)
        return;
    rreply_free_blocks(root);
}

void rreply_keep(redisReply *root)
{
    rreply_head_of(root)->kept = 1;
}

void rreply_release(redisReply *root)
{
    if (root != NULL)
        rreply_free_blocks(root);
}

/* Never written: hiredis takes a non-const pointer to it. */
static redisReplyObjectFunctions rreply_functions = {
    rreply_create_string, rreply_create_array, rreply_create_integer, rreply_create_nil,
    rreply_free,
};

void rreply_use_blocks(redisReader *r)
{
    r->fn = &rreply_functions;
}
