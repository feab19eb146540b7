/*
 * Block-allocated hiredis replies (lib/rreply.c) against hiredis's own
 * objects: the same RESP bytes, fed whole and in small pieces, must give the
 * same tree (types, lengths, bytes, integers, NULs inside strings, nil,
 * empty and nested arrays, strings larger than a block). A reply the reader
 * abandons (protocol error, reader freed half-way) is freed without a leak
 * (ASan build).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rreply.h"

struct rbuf {
    char *p;
    size_t len, cap;
};

static void rbuf_add(struct rbuf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void rbuf_str(struct rbuf *b, const char *s)
{
    rbuf_add(b, s, strlen(s));
}

static void rbuf_fmt(struct rbuf *b, const char *fmt, long long v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), fmt, v);

    rbuf_add(b, tmp, (size_t)n);
}

static void rbuf_bulk(struct rbuf *b, const void *s, size_t n)
{
    rbuf_fmt(b, "$%lld\r\n", (long long)n);
    rbuf_add(b, s, n);
    rbuf_add(b, "\r\n", 2);
}

/*
 * An XREADGROUP-shaped reply of entries entries over two streams, plus
 * every other RESP type and a string of big bytes, as one array.
 */
static void build_reply(struct rbuf *b, int entries, size_t big)
{
    char *blob = malloc(big);

    cr_assert_not_null(blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = (char)(i * 31 + 7);   /* NULs and CRLFs included */
    rbuf_add(b, "*4\r\n", 4);
    /* 1: [[stream, [[id, [f, v, ...]], [id, nil] ...]] x 2] */
    rbuf_add(b, "*2\r\n", 4);
    for (int s = 0; s < 2; s++) {
        rbuf_add(b, "*2\r\n", 4);
        rbuf_bulk(b, s ? "nines:results:{1}" : "nines:results", s ? 17 : 13);
        rbuf_fmt(b, "*%lld\r\n", entries);
        for (int e = 0; e < entries; e++) {
            char id[32], v[32];
            int n = snprintf(id, sizeof(id), "%d-%d", 1700000000 + e, s);

            rbuf_add(b, "*2\r\n", 4);
            rbuf_bulk(b, id, (size_t)n);
            if (e % 17 == 16) {
                rbuf_add(b, "$-1\r\n", 5);   /* trimmed since delivery */
                continue;
            }
            rbuf_add(b, "*18\r\n", 5);
            for (int f = 0; f < 9; f++) {
                n = snprintf(v, sizeof(v), "f%d", f);
                rbuf_bulk(b, v, (size_t)n);
                n = snprintf(v, sizeof(v), "value-%d-%d", e, f * e);
                rbuf_bulk(b, v, (size_t)(f == 8 ? 0 : n));   /* one empty */
            }
        }
    }
    /* 2: scalars */
    rbuf_str(b, "*6\r\n:-9223372036854775807\r\n:42\r\n+OK\r\n-ERR no such thing\r\n*-1\r\n*0\r\n");
    /* 3: nesting */
    rbuf_str(b, "*1\r\n*1\r\n*1\r\n*1\r\n*2\r\n$0\r\n\r\n:7\r\n");
    /* 4: larger than any block */
    rbuf_bulk(b, blob, big);
    free(blob);
}

static void assert_same(const redisReply *a, const redisReply *b, int depth)
{
    cr_assert(lt(int, depth, 16));
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert(eq(int, a->type, b->type));
    cr_assert(eq(i64, a->integer, b->integer));
    cr_assert(eq(sz, a->len, b->len));
    cr_assert(eq(sz, a->elements, b->elements));
    if (a->str == NULL) {
        cr_assert_null(b->str);
    } else {
        cr_assert_not_null(b->str);
        cr_assert(eq(int, memcmp(a->str, b->str, a->len), 0));
        cr_assert(eq(int, b->str[b->len], '\0'));
    }
    cr_assert(eq(sz, (size_t)b % sizeof(void *), 0), "objects must be aligned");
    for (size_t i = 0; i < a->elements; i++)
        assert_same(a->element[i], b->element[i], depth + 1);
}

/* Feeds bytes in pieces of step (0: whole) and returns the single reply. */
static redisReply *parse(redisReader *rd, const struct rbuf *b, size_t step)
{
    void *reply = NULL;

    for (size_t off = 0; off < b->len && reply == NULL;) {
        size_t n = step == 0 || b->len - off < step ? b->len - off : step;

        cr_assert(eq(int, redisReaderFeed(rd, b->p + off, n), REDIS_OK));
        off += n;
        cr_assert(eq(int, redisReaderGetReply(rd, &reply), REDIS_OK));
        if (reply == NULL)
            cr_assert(lt(sz, off, b->len), "whole reply fed but none returned");
    }
    cr_assert_not_null(reply);
    return reply;
}

static void compare(int entries, size_t big, size_t step)
{
    struct rbuf b = { 0 };
    redisReader *def = redisReaderCreate(), *blk = redisReaderCreate();
    redisReply *a, *r;

    cr_assert_not_null(def);
    cr_assert_not_null(blk);
    rreply_use_blocks(blk);
    build_reply(&b, entries, big);
    a = parse(def, &b, 0);
    r = parse(blk, &b, step);
    assert_same(a, r, 0);
    cr_assert(eq(sz, r->element[0]->element[1]->element[1]->elements, (size_t)entries));
    cr_assert(eq(int, r->element[1]->element[4]->type, REDIS_REPLY_NIL));
    cr_assert(eq(sz, r->element[3]->len, big));
    freeReplyObject(a);
    blk->fn->freeObject(r);
    redisReaderFree(def);
    redisReaderFree(blk);
    free(b.p);
}

Test(rreply, same_tree_whole)
{
    compare(2000, 300 * 1024, 0);
}

Test(rreply, same_tree_in_small_pieces)
{
    compare(200, 5000, 7);
    compare(3, 1, 1);
}

Test(rreply, tiny_replies_one_after_another)
{
    static const char in[] = "+PONG\r\n:1\r\n$-1\r\n*0\r\n-ERR x\r\n$3\r\nabc\r\n";
    static const int types[] = { REDIS_REPLY_STATUS, REDIS_REPLY_INTEGER, REDIS_REPLY_NIL,
                                 REDIS_REPLY_ARRAY, REDIS_REPLY_ERROR, REDIS_REPLY_STRING };
    redisReader *rd = redisReaderCreate();

    rreply_use_blocks(rd);
    cr_assert(eq(int, redisReaderFeed(rd, in, sizeof(in) - 1), REDIS_OK));
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        redisReply *r = NULL;

        cr_assert(eq(int, redisReaderGetReply(rd, (void **)&r), REDIS_OK));
        cr_assert_not_null(r);
        cr_assert(eq(int, r->type, types[i]));
        if (types[i] == REDIS_REPLY_STRING)
            cr_assert(eq(str, r->str, "abc"));
        if (types[i] == REDIS_REPLY_STATUS)
            cr_assert(eq(str, r->str, "PONG"));
        rd->fn->freeObject(r);
    }
    redisReaderFree(rd);
}

/* A protocol error half-way through a large reply: the reader frees what it
 * had built (no leak under ASan) and reports the error. */
Test(rreply, protocol_error_frees_partial_reply)
{
    struct rbuf b = { 0 };
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;

    rreply_use_blocks(rd);
    build_reply(&b, 500, 10);
    cr_assert(eq(int, redisReaderFeed(rd, b.p, b.len / 2), REDIS_OK));
    cr_assert(eq(int, redisReaderGetReply(rd, &reply), REDIS_OK));
    cr_assert_null(reply);
    cr_assert(eq(int, redisReaderFeed(rd, "\r\n!bad\r\n", 8), REDIS_OK));
    cr_assert(eq(int, redisReaderGetReply(rd, &reply), REDIS_ERR));
    cr_assert_null(reply);
    cr_assert(ne(int, rd->err, 0));
    redisReaderFree(rd);
    free(b.p);
}

/* The reader freed with a reply half built (connection dropped). */
Test(rreply, reader_freed_mid_reply)
{
    struct rbuf b = { 0 };
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;

    rreply_use_blocks(rd);
    build_reply(&b, 300, 100);
    cr_assert(eq(int, redisReaderFeed(rd, b.p, b.len - 3), REDIS_OK));
    cr_assert(eq(int, redisReaderGetReply(rd, &reply), REDIS_OK));
    cr_assert_null(reply);
    redisReaderFree(rd);
    free(b.p);
}

/* A kept reply survives the reader's free (as hiredis's async API frees
 * each reply after its callback) and the reader itself; rreply_release
 * frees it (ASan in CI sees a leak or a double free). */
Test(rreply, kept_reply_outlives_the_free_and_the_reader)
{
    static const char in[] = "*2\r\n$5\r\nhello\r\n*1\r\n:42\r\n";
    redisReader *rd = redisReaderCreate();
    redisReply *r = NULL;

    rreply_use_blocks(rd);
    cr_assert(eq(int, redisReaderFeed(rd, in, sizeof(in) - 1), REDIS_OK));
    cr_assert(eq(int, redisReaderGetReply(rd, (void **)&r), REDIS_OK));
    cr_assert_not_null(r);
    rreply_keep(r);
    rd->fn->freeObject(r);          /* what hiredis does after the callback */
    redisReaderFree(rd);
    cr_assert(eq(int, r->type, REDIS_REPLY_ARRAY));
    cr_assert(eq(str, r->element[0]->str, "hello"));
    cr_assert(eq(i64, (int64_t)r->element[1]->element[0]->integer, 42));
    rreply_release(r);
}
