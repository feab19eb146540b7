/*
 * The audit log's hash chain, shared by the collector (writer) and the CLI
 * (writer, verifier, exporter).
 *
 * Stream nines:audit, never trimmed. Each entry has the fields
 *     seq ts_ms actor source action target detail prev hash
 * where hash = hex SHA-256 of (prev || canonical(entry)) and prev is the hash
 * of the entry before (64 zeros for the first). The key nines:audit:head
 * holds the newest entry's seq and hash, so that deleting the newest entries
 * is noticed too. An extract (entries A..B) verifies on its own: its entries
 * link to each other and its first prev is stated.
 *
 * Appending is one Lua script (auditchain_script) that reads the head, takes
 * the server's TIME, hashes (SHA-256 written in Lua) and XADDs, so any number
 * of writers (collector, CLI) never fork the chain.
 */
#ifndef NINES_AUDITCHAIN_H
#define NINES_AUDITCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "nines/err.h"

#define AUDITCHAIN_KEY "nines:audit"
#define AUDITCHAIN_KEY_HEAD "nines:audit:head"
#define AUDITCHAIN_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

#define AUDITCHAIN_ACTOR_MAX 128      /* bytes, including the NUL */
#define AUDITCHAIN_SOURCE_MAX 32
#define AUDITCHAIN_ACTION_MAX 48
#define AUDITCHAIN_TARGET_MAX 256
#define AUDITCHAIN_DETAIL_MAX 4096
#define AUDITCHAIN_HASH_HEX 65        /* 64 hex digits + NUL */

struct auditchain_entry {
    char id[48];                      /* stream id, "1700000000000-0" */
    int64_t seq;                      /* 1, 2, 3... */
    int64_t ts_ms;                    /* the Redis server's clock at append */
    char actor[AUDITCHAIN_ACTOR_MAX];
    char source[AUDITCHAIN_SOURCE_MAX];
    char action[AUDITCHAIN_ACTION_MAX];
    char target[AUDITCHAIN_TARGET_MAX];
    char detail[AUDITCHAIN_DETAIL_MAX];
    char prev[AUDITCHAIN_HASH_HEX];
    char hash[AUDITCHAIN_HASH_HEX];
};

/* The append script: EVAL script 2 nines:audit nines:audit:head actor source
 * action target detail -> {id, seq, hash}. */
const char *auditchain_script(void);

/*
 * Checks one entry's fields before an append: actor, source and action
 * non-empty, every field within its size, no control characters (detail may
 * not hold newlines either). 0, or NINES_EINVAL naming the field.
 */
int auditchain_check_fields(const char *actor, const char *source, const char *action,
                            const char *target, const char *detail, struct nines_err *err);

/* hex SHA-256 of prev || canonical(e) (e->prev is used, e->hash is not). */
int auditchain_hash(const struct auditchain_entry *e, char out[AUDITCHAIN_HASH_HEX]);

/*
 * Reads one stream entry (the [id, [field, value...]] pair XRANGE gives).
 * A missing, repeated, unknown or oversized field, or a malformed number or
 * hash, is NINES_EPROTO naming the entry and the field.
 */
int auditchain_parse(const redisReply *entry, struct auditchain_entry *e,
                     struct nines_err *err);

/* Walks entries in stream order. */
struct auditchain_verifier {
    size_t count;                     /* entries accepted so far */
    int64_t last_seq;
    char last_hash[AUDITCHAIN_HASH_HEX];
    char first_prev[AUDITCHAIN_HASH_HEX];   /* the extract's stated start */
    char last_id[48];
};

/*
 * Starts a walk. expect_prev is the hash the first entry must link to
 * (AUDITCHAIN_GENESIS from the stream's start, or NULL to accept the first
 * entry's prev as stated, for an extract).
 */
void auditchain_verify_init(struct auditchain_verifier *v, const char *expect_prev);
/*
 * Accepts the next entry, or returns NINES_EINVAL naming it: its hash does
 * not match its fields (altered), or its prev or seq does not follow the entry
 * before (an entry deleted, inserted or reordered).
 */
int auditchain_verify_next(struct auditchain_verifier *v, const struct auditchain_entry *e,
                           struct nines_err *err);

/*
 * Appends one entry over a synchronous connection (the CLI's): checks the
 * fields, runs the script, and gives the new entry's stream id. 0, or
 * NINES_EINVAL (bad field), NINES_EIO (Redis unreachable or refused).
 */
int auditchain_append_sync(redisContext *rc, const char *actor, const char *source,
                           const char *action, const char *target, const char *detail,
                           char id_out[48], struct nines_err *err);

/* Called for every entry of a walk, in order; ok is 0 for the entries that fail
 * verification. A non-zero return stops the walk. */
typedef int auditchain_entry_cb(const struct auditchain_entry *e, int ok, void *arg);

/*
 * Reads entries from..to (stream ids or ms; "-" and "+" for the ends) in pages
 * and verifies them: the first must link to the entry just before from (or be
 * the chain's first), each the one before it, and with to = "+" the last must
 * be the head. Every entry is passed to cb (NULL: none) even after a failure;
 * the return is 0 when all verify, else NINES_EINVAL with err naming the first
 * broken entry, or NINES_EIO/NINES_EPROTO when Redis cannot be read.
 */
int auditchain_walk(redisContext *rc, const char *from, const char *to,
                    struct auditchain_verifier *v, auditchain_entry_cb *cb, void *arg,
                    struct nines_err *err);

#endif
