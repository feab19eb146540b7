/*
 * The audit hash chain: the canonical hash, entry parsing (crafted replies fed
 * through redisReader, no server), and against a real redis-server the append
 * script (its Lua SHA-256 must agree with OpenSSL's for every message length),
 * two writers appending at once, and verification naming an altered, deleted or
 * truncated entry.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nines/auditchain.h"
#include "redis_fixture.h"

static struct redis_fixture redis;
static redisContext *rc;

static void chain_setup(void)
{
    cr_assert(eq(int, redis_fixture_start(&redis, 0), 0));
    rc = redis_fixture_connect(&redis);
    cr_assert(not(eq(ptr, rc, NULL)));
}

static void chain_teardown(void)
{
    if (rc != NULL)
        redisFree(rc);
    rc = NULL;
    redis_fixture_stop(&redis);
}

static struct auditchain_entry *entry_new(void)
{
    struct auditchain_entry *e = calloc(1, sizeof(*e));

    cr_assert(not(eq(ptr, e, NULL)));
    return e;
}

/* The hash written out by hand, the way an auditor would recompute it. */
static void reference_hash(const char *text, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;

    EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

Test(auditchain, hash_is_sha256_of_prev_and_the_documented_canonical_form)
{
    struct auditchain_entry *e = entry_new();
    char got[65], want[65], text[1024];

    e->seq = 7;
    e->ts_ms = 1700000000123;
    strcpy(e->actor, "alice");
    strcpy(e->source, "cli");
    strcpy(e->action, "ack");
    strcpy(e->target, "web:1700000000000");
    strcpy(e->detail, "{\"why\":\"a=b:c\"}");
    strcpy(e->prev, AUDITCHAIN_GENESIS);
    snprintf(text, sizeof(text),
             "%s\nnines-audit-v1\nseq=1:7\nts_ms=13:1700000000123\nactor=5:alice\n"
             "source=3:cli\naction=3:ack\ntarget=17:web:1700000000000\n"
             "detail=15:{\"why\":\"a=b:c\"}\n", AUDITCHAIN_GENESIS);
    reference_hash(text, want);
    cr_assert(eq(int, auditchain_hash(e, got), 0));
    cr_assert(eq(str, got, want));

    /* every field is covered */
    strcpy(e->actor, "alicf");
    cr_assert(eq(int, auditchain_hash(e, text), 0));
    cr_assert(not(eq(str, text, want)));
    free(e);
}

Test(auditchain, fields_are_checked_before_an_append)
{
    struct nines_err err = { 0 };
    char big[AUDITCHAIN_DETAIL_MAX + 10];

    cr_assert(eq(int, auditchain_check_fields("bob", "cli", "ack", "x", "{}", &err), 0));
    cr_assert(eq(int, auditchain_check_fields("", "cli", "ack", "x", "", &err), NINES_EINVAL));
    cr_assert(not(eq(ptr, strstr(err.msg, "actor"), NULL)));
    cr_assert(eq(int, auditchain_check_fields("bob", "cli", NULL, "x", "", &err),
                 NINES_EINVAL));
    cr_assert(not(eq(ptr, strstr(err.msg, "action"), NULL)));
    cr_assert(eq(int, auditchain_check_fields("bob", "cli", "ack", "a\nb", "", &err),
                 NINES_EINVAL));
    cr_assert(not(eq(ptr, strstr(err.msg, "target holds a control character"), NULL)));
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_assert(eq(int, auditchain_check_fields("bob", "cli", "ack", "x", big, &err),
                 NINES_EINVAL));
    cr_assert(not(eq(ptr, strstr(err.msg, "detail is"), NULL)));
}

/* One stream entry as RESP text, parsed with hiredis's reader. */
static redisReply *resp_parse(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *out = NULL;

    cr_assert(eq(int, redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK));
    cr_assert(eq(int, redisReaderGetReply(rd, &out), REDIS_OK));
    redisReaderFree(rd);
    cr_assert(not(eq(ptr, out, NULL)));
    return out;
}

#define H64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ENTRY_HEAD "*2\r\n$4\r\n17-0\r\n"

struct bad_entry {
    char resp[900];
    char why[40];
};

Test(auditchain, parse_names_the_broken_field)
{
    static const struct bad_entry bad[] = {
        { "*1\r\n$4\r\n17-0\r\n", "not an [id, fields] pair" },
        { ENTRY_HEAD "*3\r\n$3\r\nseq\r\n$1\r\n1\r\n$1\r\nx\r\n", "not pairs" },
        { ENTRY_HEAD "*2\r\n$3\r\nfoo\r\n$1\r\n1\r\n", "unknown field foo" },
        { ENTRY_HEAD "*4\r\n$3\r\nseq\r\n$1\r\n1\r\n$3\r\nseq\r\n$1\r\n2\r\n", "seq repeated" },
        { ENTRY_HEAD "*2\r\n$3\r\nseq\r\n$2\r\n1x\r\n", "seq is malformed" },
        { ENTRY_HEAD "*2\r\n$3\r\nseq\r\n$-1\r\n", "seq is malformed" },
        { ENTRY_HEAD "*2\r\n$4\r\nprev\r\n$3\r\nabc\r\n", "prev is malformed" },
        { ENTRY_HEAD "*2\r\n$3\r\nseq\r\n$1\r\n1\r\n", "ts_ms is missing" },
    };
    struct auditchain_entry *e = entry_new();

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        redisReply *r = resp_parse(bad[i].resp);
        struct nines_err err = { 0 };

        cr_assert(eq(int, auditchain_parse(r, e, &err), NINES_EPROTO), "case %zu", i);
        cr_assert(not(eq(ptr, strstr(err.msg, bad[i].why), NULL)), "case %zu: %s", i, err.msg);
        freeReplyObject(r);
    }
    free(e);
}

Test(auditchain, parse_accepts_a_complete_entry)
{
    redisReply *r = resp_parse(ENTRY_HEAD "*18\r\n"
                               "$3\r\nseq\r\n$1\r\n3\r\n$5\r\nts_ms\r\n$2\r\n17\r\n"
                               "$5\r\nactor\r\n$3\r\nbob\r\n$6\r\nsource\r\n$3\r\napi\r\n"
                               "$6\r\naction\r\n$3\r\nack\r\n$6\r\ntarget\r\n$0\r\n\r\n"
                               "$6\r\ndetail\r\n$2\r\n{}\r\n$4\r\nprev\r\n$64\r\n" H64 "\r\n"
                               "$4\r\nhash\r\n$64\r\n" H64 "\r\n");
    struct auditchain_entry *e = entry_new();
    struct nines_err err = { 0 };

    cr_assert(eq(int, auditchain_parse(r, e, &err), 0), "%s", err.msg);
    cr_assert(eq(str, e->id, "17-0"));
    cr_assert(eq(i64, e->seq, 3));
    cr_assert(eq(i64, e->ts_ms, 17));
    cr_assert(eq(str, e->actor, "bob"));
    cr_assert(eq(str, e->target, ""));
    cr_assert(eq(str, e->prev, H64));
    freeReplyObject(r);
    free(e);
}

static int collect_ok(const struct auditchain_entry *e, int ok, void *arg)
{
    int *bad = arg;

    if (!ok)
        (*bad)++;
    return 0;
}

/* Lua's SHA-256 against OpenSSL: lengths around every padding boundary. */
Test(auditchain, script_hash_agrees_with_openssl_for_all_lengths, .init = chain_setup,
     .fini = chain_teardown, .timeout = 60)
{
    struct auditchain_verifier v;
    struct nines_err err = { 0 };
    char detail[300], id[48];
    int bad = 0;

    for (int n = 0; n < 200; n++) {
        memset(detail, 'a' + n % 26, (size_t)n);
        detail[n] = '\0';
        if (n > 3)
            memcpy(detail, "\xc3\xa9t\xc3", 4); /* bytes over 127 */
        cr_assert(eq(int, auditchain_append_sync(rc, "tester", "cli", "ack", "t", detail, id,
                                                 &err), 0), "%s", err.msg);
    }
    cr_assert(eq(int, auditchain_walk(rc, "-", "+", &v, collect_ok, &bad, &err), 0), "%s",
              err.msg);
    cr_assert(eq(int, bad, 0));
    cr_assert(eq(sz, v.count, 200));
    cr_assert(eq(i64, v.last_seq, 200));
    cr_assert(eq(str, v.first_prev, AUDITCHAIN_GENESIS));
}

/* Two processes append 300 entries each at the same time: one chain, no fork. */
Test(auditchain, two_writers_never_fork_the_chain, .init = chain_setup, .fini = chain_teardown,
     .timeout = 60)
{
    struct auditchain_verifier v;
    struct nines_err err = { 0 };
    pid_t kids[2];
    int bad = 0;

    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        cr_assert(ge(int, kids[k], 0));
        if (kids[k] == 0) {
            redisContext *c = redis_fixture_connect(&redis);
            int fails = c == NULL;

            for (int i = 0; i < 300 && c != NULL; i++)
                fails += auditchain_append_sync(c, k ? "collector" : "cli-user",
                                                k ? "collector" : "cli", "config_reload", "",
                                                "{}", NULL, NULL) != 0;
            if (c != NULL)
                redisFree(c);
            _exit(fails ? 1 : 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;

        cr_assert(eq(int, waitpid(kids[k], &st, 0), kids[k]));
        cr_assert(eq(int, WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0));
    }
    cr_assert(eq(int, auditchain_walk(rc, "-", "+", &v, collect_ok, &bad, &err), 0), "%s",
              err.msg);
    cr_assert(eq(sz, v.count, 600));
    cr_assert(eq(i64, v.last_seq, 600));
}

/* Ids of the n entries of the stream, in order. */
static void stream_ids(char ids[][48], size_t n)
{
    redisReply *r = redisCommand(rc, "XRANGE %s - +", AUDITCHAIN_KEY);

    cr_assert(not(eq(ptr, r, NULL)));
    cr_assert(eq(sz, r->elements, n));
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], 48, "%s", r->element[i]->element[0]->str);
    freeReplyObject(r);
}

static void append_n(int n)
{
    struct nines_err err = { 0 };
    char detail[64];

    for (int i = 0; i < n; i++) {
        snprintf(detail, sizeof(detail), "{\"n\":%d}", i);
        cr_assert(eq(int, auditchain_append_sync(rc, "alice", "cli", "maintenance_add",
                                                 "m1", detail, NULL, &err), 0), "%s", err.msg);
    }
}

static void expect_broken(const char *from, const char *to, const char *id, const char *why)
{
    struct auditchain_verifier v;
    struct nines_err err = { 0 };
    int bad = 0;

    cr_assert(eq(int, auditchain_walk(rc, from, to, &v, collect_ok, &bad, &err), NINES_EINVAL));
    if (id != NULL)
        cr_assert(not(eq(ptr, strstr(err.msg, id), NULL)), "%s", err.msg);
    cr_assert(not(eq(ptr, strstr(err.msg, why), NULL)), "%s", err.msg);
}

Test(auditchain, a_deleted_middle_entry_names_the_one_after_it, .init = chain_setup, .fini = chain_teardown)
{
    char ids[5][48];
    redisReply *r;

    append_n(5);
    stream_ids(ids, 5);
    /* delete entry 3: entry 4 no longer links to the entry before it */
    r = redisCommand(rc, "XDEL %s %s", AUDITCHAIN_KEY, ids[2]);
    freeReplyObject(r);
    expect_broken("-", "+", ids[3], "an entry between them was deleted");
}

Test(auditchain, altering_a_value_is_found_even_with_the_hash_left_alone,
     .init = chain_setup, .fini = chain_teardown)
{
    struct auditchain_entry *e = entry_new();
    struct nines_err err = { 0 };
    char ids[3][48];
    redisReply *r;

    append_n(3);
    stream_ids(ids, 3);
    /* Streams cannot be edited, so the attacker rebuilds the stream with the middle
     * entry's actor changed and every other field (prev, hash) copied. */
    r = redisCommand(rc, "XRANGE %s - +", AUDITCHAIN_KEY);
    cr_assert(eq(int, auditchain_parse(r->element[1], e, &err), 0));
    freeReplyObject(r);
    freeReplyObject(redisCommand(rc, "RENAME %s old", AUDITCHAIN_KEY));
    r = redisCommand(rc, "XRANGE old - +");
    for (size_t i = 0; i < 3; i++) {
        struct auditchain_entry *x = entry_new();

        cr_assert(eq(int, auditchain_parse(r->element[i], x, &err), 0));
        if (i == 1)
            strcpy(x->actor, "mallory");
        freeReplyObject(redisCommand(rc, "XADD %s %s seq %lld ts_ms %lld actor %s source %s "
                                     "action %s target %s detail %s prev %s hash %s",
                                     AUDITCHAIN_KEY, x->id, (long long)x->seq,
                                     (long long)x->ts_ms, x->actor, x->source, x->action,
                                     x->target, x->detail, x->prev, x->hash));
        free(x);
    }
    freeReplyObject(r);
    expect_broken("-", "+", ids[1], "altered");
    free(e);
}

Test(auditchain, deleting_the_newest_entry_is_found_by_the_head, .init = chain_setup,
     .fini = chain_teardown)
{
    char ids[4][48];

    append_n(4);
    stream_ids(ids, 4);
    freeReplyObject(redisCommand(rc, "XDEL %s %s", AUDITCHAIN_KEY, ids[3]));
    expect_broken("-", "+", NULL, "newest entries were deleted");
    /* and the next append links to the lost entry, so the gap stays visible */
    append_n(1);
    expect_broken("-", "+", NULL, "an entry between them was deleted");
}

Test(auditchain, deleting_the_first_entry_is_found, .init = chain_setup, .fini = chain_teardown)
{
    char ids[3][48];

    append_n(3);
    stream_ids(ids, 3);
    freeReplyObject(redisCommand(rc, "XDEL %s %s", AUDITCHAIN_KEY, ids[0]));
    expect_broken("-", "+", ids[1], "an entry before it was deleted");
}

Test(auditchain, an_extract_verifies_on_its_own_and_states_its_first_prev,
     .init = chain_setup, .fini = chain_teardown)
{
    struct auditchain_verifier v, whole;
    struct nines_err err = { 0 };
    char ids[6][48];
    int bad = 0;

    append_n(6);
    stream_ids(ids, 6);
    cr_assert(eq(int, auditchain_walk(rc, ids[2], ids[4], &v, collect_ok, &bad, &err), 0),
              "%s", err.msg);
    cr_assert(eq(sz, v.count, 3));
    cr_assert(eq(i64, v.last_seq, 5));
    /* the stated start is entry 2's hash */
    cr_assert(eq(int, auditchain_walk(rc, "-", ids[1], &whole, NULL, NULL, &err), 0));
    cr_assert(eq(str, v.first_prev, whole.last_hash));
    /* an extract whose predecessor is gone does not verify */
    freeReplyObject(redisCommand(rc, "XDEL %s %s", AUDITCHAIN_KEY, ids[1]));
    expect_broken(ids[2], ids[4], ids[2], "an entry before it was deleted");
    /* a malformed range start is an error naming it */
    expect_broken("nonsense", "+", "nonsense", "audit range");
}

Test(auditchain, a_script_error_is_reported, .init = chain_setup, .fini = chain_teardown)
{
    struct nines_err err = { 0 };

    /* the stream key holds the wrong type */
    freeReplyObject(redisCommand(rc, "SET %s x", AUDITCHAIN_KEY));
    cr_assert(eq(int, auditchain_append_sync(rc, "a", "cli", "ack", "", "", NULL, &err),
                 NINES_EIO));
    cr_assert(not(eq(ptr, strstr(err.msg, "audit append refused"), NULL)), "%s", err.msg);
}
