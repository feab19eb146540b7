/*
 * The audit log's hash chain: the append script, the canonical form of an
 * entry, and the walk that verifies a run of entries.
 *
 * Canonical form (the same bytes in C and in the Lua script):
 *     "nines-audit-v1\n" then, for seq ts_ms actor source action target detail,
 *     NAME "=" LENGTH ":" VALUE "\n"
 * Lengths make it unambiguous whatever the values hold. The hash covers
 * prev "\n" canonical, so an entry cannot be moved without breaking the link.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/auditchain.h"

/*
 * Redis's Lua has no SHA-256, so the script carries one (FIPS 180-4, on the
 * 32-bit `bit` library: every sum is brought back to 32 bits with bit.tobit).
 * The head key is the truth for prev and seq: an entry deleted from the end
 * of the stream then shows as a link to a hash nobody holds.
 */
static const char auditchain_lua[] =
    "local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot\n"
    "local rshift, ror, tobit, tohex = bit.rshift, bit.ror, bit.tobit, bit.tohex\n"
    "local K = {\n"
    " 0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,\n"
    " 0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,\n"
    " 0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,\n"
    " 0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,\n"
    " 0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,\n"
    " 0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,\n"
    " 0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,\n"
    " 0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2}\n"
    "local function sha256(msg)\n"
    "  local H = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,\n"
    "             0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19}\n"
    "  local n = #msg\n"
    "  local bits = n * 8\n"
    "  local hi, lo = math.floor(bits / 4294967296), bits % 4294967296\n"
    "  msg = msg .. '\\128' .. string.rep('\\0', (55 - n) % 64) .. string.char(\n"
    "    math.floor(hi / 16777216) % 256, math.floor(hi / 65536) % 256,\n"
    "    math.floor(hi / 256) % 256, hi % 256,\n"
    "    math.floor(lo / 16777216) % 256, math.floor(lo / 65536) % 256,\n"
    "    math.floor(lo / 256) % 256, lo % 256)\n"
    "  local w = {}\n"
    "  for i = 1, #msg, 64 do\n"
    "    for j = 0, 15 do\n"
    "      local a, b, c, d = string.byte(msg, i + j * 4, i + j * 4 + 3)\n"
    "      w[j] = tobit(a * 16777216 + b * 65536 + c * 256 + d)\n"
    "    end\n"
    "    for j = 16, 63 do\n"
    "      local x, y = w[j - 15], w[j - 2]\n"
    "      local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))\n"
    "      local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))\n"
    "      w[j] = tobit(w[j - 16] + s0 + w[j - 7] + s1)\n"
    "    end\n"
    "    local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]\n"
    "    for j = 0, 63 do\n"
    "      local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))\n"
    "      local ch = bxor(band(e, f), band(bnot(e), g))\n"
    "      local t1 = h + S1 + ch + K[j + 1] + w[j]\n"
    "      local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))\n"
    "      local maj = bxor(band(a, b), band(a, c), band(b, c))\n"
    "      h = g; g = f; f = e; e = tobit(d + t1)\n"
    "      d = c; c = b; b = a; a = tobit(t1 + S0 + maj)\n"
    "    end\n"
    "    H[1] = tobit(H[1] + a); H[2] = tobit(H[2] + b)\n"
    "    H[3] = tobit(H[3] + c); H[4] = tobit(H[4] + d)\n"
    "    H[5] = tobit(H[5] + e); H[6] = tobit(H[6] + f)\n"
    "    H[7] = tobit(H[7] + g); H[8] = tobit(H[8] + h)\n"
    "  end\n"
    "  local out = {}\n"
    "  for i = 1, 8 do out[i] = tohex(H[i], 8) end\n"
    "  return table.concat(out)\n"
    "end\n"
    "if #ARGV ~= 5 then return redis.error_reply('audit: 5 arguments expected') end\n"
    "local head = redis.call('HMGET', KEYS[2], 'seq', 'hash')\n"
    "local seq, prev = tonumber(head[1]), head[2]\n"
    "if not seq or not prev then\n"
    "  seq, prev = 0, string.rep('0', 64)\n"
    "  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)\n"
    "  if #last == 1 then\n"
    "    local f = last[1][2]\n"
    "    for i = 1, #f, 2 do\n"
    "      if f[i] == 'seq' then seq = tonumber(f[i + 1]) or 0 end\n"
    "      if f[i] == 'hash' then prev = f[i + 1] end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "seq = seq + 1\n"
    "local t = redis.call('TIME')\n"
    "local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local v = {string.format('%d', seq), string.format('%d', ts),\n"
    "           ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]}\n"
    "local names = {'seq', 'ts_ms', 'actor', 'source', 'action', 'target', 'detail'}\n"
    "local canon = {prev, '\\n', 'nines-audit-v1\\n'}\n"
    "for i = 1, 7 do\n"
    "  canon[#canon + 1] = names[i] .. '=' .. #v[i] .. ':' .. v[i] .. '\\n'\n"
    "end\n"
    "local hash = sha256(table.concat(canon))\n"
    "local id = redis.call('XADD', KEYS[1], '*', 'seq', v[1], 'ts_ms', v[2], 'actor', v[3],\n"
    "  'source', v[4], 'action', v[5], 'target', v[6], 'detail', v[7],\n"
    "  'prev', prev, 'hash', hash)\n"
    "redis.call('HSET', KEYS[2], 'seq', v[1], 'hash', hash, 'id', id)\n"
    "return {id, v[1], hash}\n";

const char *auditchain_script(void)
{
    return auditchain_lua;
}

static int auditchain_field_ok(const char *name, const char *v, size_t max, int required,
                               struct nines_err *err)
{
    size_t n;

    if (v == NULL || v[0] == '\0') {
        if (required)
            return nines_err_set(err, NINES_EINVAL, "audit %s is empty", name);
        return 0;
    }
    n = strlen(v);
    if (n >= max)
        return nines_err_set(err, NINES_EINVAL, "audit %s is %zu bytes (at most %zu)", name, n,
                             max - 1);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return nines_err_set(err, NINES_EINVAL,
                                 "audit %s holds a control character at byte %zu", name, i);
    }
    return 0;
}

int auditchain_check_fields(const char *actor, const char *source, const char *action,
                            const char *target, const char *detail, struct nines_err *err)
{
    if (auditchain_field_ok("actor", actor, AUDITCHAIN_ACTOR_MAX, 1, err) < 0 ||
        auditchain_field_ok("source", source, AUDITCHAIN_SOURCE_MAX, 1, err) < 0 ||
        auditchain_field_ok("action", action, AUDITCHAIN_ACTION_MAX, 1, err) < 0 ||
        auditchain_field_ok("target", target, AUDITCHAIN_TARGET_MAX, 0, err) < 0 ||
        auditchain_field_ok("detail", detail, AUDITCHAIN_DETAIL_MAX, 0, err) < 0)
        return NINES_EINVAL;
    return 0;
}

static int auditchain_digest_add(EVP_MD_CTX *md, const char *name, const char *value)
{
    char head[64];
    int n = snprintf(head, sizeof(head), "%s=%zu:", name, strlen(value));

    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    if (EVP_DigestUpdate(md, head, (size_t)n) != 1 ||
        EVP_DigestUpdate(md, value, strlen(value)) != 1 || EVP_DigestUpdate(md, "\n", 1) != 1)
        return -1;
    return 0;
}

int auditchain_hash(const struct auditchain_entry *e, char out[AUDITCHAIN_HASH_HEX])
{
    static const char hex[] = "0123456789abcdef";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char seq[24], ts[24];
    unsigned char d[32];
    unsigned int dl = 0;
    int bad;

    if (md == NULL)
        return NINES_ENOMEM;
    snprintf(seq, sizeof(seq), "%" PRId64, e->seq);
    snprintf(ts, sizeof(ts), "%" PRId64, e->ts_ms);
    bad = EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
          EVP_DigestUpdate(md, e->prev, strlen(e->prev)) != 1 ||
          EVP_DigestUpdate(md, "\nnines-audit-v1\n", 16) != 1 ||
          auditchain_digest_add(md, "seq", seq) < 0 ||
          auditchain_digest_add(md, "ts_ms", ts) < 0 ||
          auditchain_digest_add(md, "actor", e->actor) < 0 ||
          auditchain_digest_add(md, "source", e->source) < 0 ||
          auditchain_digest_add(md, "action", e->action) < 0 ||
          auditchain_digest_add(md, "target", e->target) < 0 ||
          auditchain_digest_add(md, "detail", e->detail) < 0 ||
          EVP_DigestFinal_ex(md, d, &dl) != 1 || dl != 32;
    EVP_MD_CTX_free(md);
    if (bad)
        return NINES_EIO;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

/* ---- reading entries ---- */

enum { AF_SEQ, AF_TS, AF_ACTOR, AF_SOURCE, AF_ACTION, AF_TARGET, AF_DETAIL, AF_PREV, AF_HASH,
       AF_COUNT };

static const char *const auditchain_names[AF_COUNT] = {
    "seq", "ts_ms", "actor", "source", "action", "target", "detail", "prev", "hash",
};

static int auditchain_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || (s[0] == '0' && s[1] != '\0'))
        return -1;
    *out = v;
    return 0;
}

static int auditchain_is_hash(const char *s)
{
    for (int i = 0; i < 64; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[64] == '\0';
}

/* Copies one value into its slot of e; -1 if it does not fit or is malformed. */
static int auditchain_store(struct auditchain_entry *e, int f, const redisReply *v)
{
    static const size_t off[AF_COUNT] = {
        0, 0, offsetof(struct auditchain_entry, actor),
        offsetof(struct auditchain_entry, source), offsetof(struct auditchain_entry, action),
        offsetof(struct auditchain_entry, target), offsetof(struct auditchain_entry, detail),
        offsetof(struct auditchain_entry, prev), offsetof(struct auditchain_entry, hash),
    };
    static const size_t cap[AF_COUNT] = {
        24, 24, AUDITCHAIN_ACTOR_MAX, AUDITCHAIN_SOURCE_MAX, AUDITCHAIN_ACTION_MAX,
        AUDITCHAIN_TARGET_MAX, AUDITCHAIN_DETAIL_MAX, AUDITCHAIN_HASH_HEX, AUDITCHAIN_HASH_HEX,
    };
    char num[24], *dst = f <= AF_TS ? num : (char *)e + off[f];

    if (v->type != REDIS_REPLY_STRING || v->len >= cap[f] || memchr(v->str, '\0', v->len))
        return -1;
    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';
    if (f == AF_SEQ)
        return auditchain_parse_int(num, &e->seq);
    if (f == AF_TS)
        return auditchain_parse_int(num, &e->ts_ms);
    if (f == AF_PREV || f == AF_HASH)
        return auditchain_is_hash(dst) ? 0 : -1;
    return 0;
}

int auditchain_parse(const redisReply *entry, struct auditchain_entry *e,
                     struct nines_err *err)
{
    const redisReply *fv;
    unsigned seen = 0;

    memset(e, 0, sizeof(*e));
    if (entry == NULL || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[0]->len >= sizeof(e->id))
        return nines_err_set(err, NINES_EPROTO, "audit entry is not an [id, fields] pair");
    memcpy(e->id, entry->element[0]->str, entry->element[0]->len);
    e->id[entry->element[0]->len] = '\0';
    fv = entry->element[1];
    if (fv->type != REDIS_REPLY_ARRAY || fv->elements % 2 != 0)
        return nines_err_set(err, NINES_EPROTO, "audit entry %s: fields are not pairs", e->id);
    for (size_t i = 0; i < fv->elements; i += 2) {
        const redisReply *k = fv->element[i];
        int f = -1;

        for (int j = 0; j < AF_COUNT && k->type == REDIS_REPLY_STRING; j++) {
            if (k->len == strlen(auditchain_names[j]) &&
                memcmp(k->str, auditchain_names[j], k->len) == 0)
                f = j;
        }
        if (f < 0)
            return nines_err_set(err, NINES_EPROTO, "audit entry %s: unknown field %.40s",
                                 e->id, k->type == REDIS_REPLY_STRING ? k->str : "(not text)");
        if (seen & (1u << f))
            return nines_err_set(err, NINES_EPROTO, "audit entry %s: field %s repeated", e->id,
                                 auditchain_names[f]);
        seen |= 1u << f;
        if (auditchain_store(e, f, fv->element[i + 1]) < 0)
            return nines_err_set(err, NINES_EPROTO, "audit entry %s: field %s is malformed",
                                 e->id, auditchain_names[f]);
    }
    for (int j = 0; j < AF_COUNT; j++) {
        if (!(seen & (1u << j)))
            return nines_err_set(err, NINES_EPROTO, "audit entry %s: field %s is missing",
                                 e->id, auditchain_names[j]);
    }
    return 0;
}

/* ---- verifying ---- */

void auditchain_verify_init(struct auditchain_verifier *v, const char *expect_prev)
{
    memset(v, 0, sizeof(*v));
    if (expect_prev != NULL)
        snprintf(v->last_hash, sizeof(v->last_hash), "%s", expect_prev);
}

int auditchain_verify_next(struct auditchain_verifier *v, const struct auditchain_entry *e,
                           struct nines_err *err)
{
    char want[AUDITCHAIN_HASH_HEX];

    if (auditchain_hash(e, want) < 0)
        return nines_err_set(err, NINES_EIO, "audit entry %s: cannot compute its hash", e->id);
    if (strcmp(want, e->hash) != 0)
        return nines_err_set(err, NINES_EINVAL,
                             "audit entry %s (seq %" PRId64 "): altered: its fields do not "
                             "match its hash", e->id, e->seq);
    if (v->count == 0 && v->last_hash[0] == '\0') {
        snprintf(v->first_prev, sizeof(v->first_prev), "%s", e->prev);
    } else if (strcmp(e->prev, v->last_hash) != 0) {
        if (v->count == 0)
            return nines_err_set(err, NINES_EINVAL,
                                 "audit entry %s (seq %" PRId64 "): does not link to the entry "
                                 "before it: an entry before it was deleted or altered",
                                 e->id, e->seq);
        return nines_err_set(err, NINES_EINVAL,
                             "audit entry %s (seq %" PRId64 "): prev does not match entry %s "
                             "(seq %" PRId64 "): an entry between them was deleted or "
                             "inserted", e->id, e->seq, v->last_id, v->last_seq);
    } else if (v->count == 0) {
        snprintf(v->first_prev, sizeof(v->first_prev), "%s", e->prev);
    }
    if (v->count > 0 && e->seq != v->last_seq + 1)
        return nines_err_set(err, NINES_EINVAL,
                             "audit entry %s: seq %" PRId64 " follows seq %" PRId64
                             " (entry %s): entries missing or reordered", e->id, e->seq,
                             v->last_seq, v->last_id);
    if (v->count == 0 && strcmp(e->prev, AUDITCHAIN_GENESIS) == 0 && e->seq != 1)
        return nines_err_set(err, NINES_EINVAL,
                             "audit entry %s: first entry of the chain has seq %" PRId64,
                             e->id, e->seq);
    v->count++;
    v->last_seq = e->seq;
    snprintf(v->last_hash, sizeof(v->last_hash), "%s", e->hash);
    snprintf(v->last_id, sizeof(v->last_id), "%s", e->id);
    return 0;
}

/* ---- synchronous append and walk (the CLI's side) ---- */

int auditchain_append_sync(redisContext *rc, const char *actor, const char *source,
                           const char *action, const char *target, const char *detail,
                           char id_out[48], struct nines_err *err)
{
    const char *argv[10] = { "EVAL", auditchain_lua, "2", AUDITCHAIN_KEY, AUDITCHAIN_KEY_HEAD,
                             actor, source, action, target ? target : "",
                             detail ? detail : "" };
    redisReply *r;
    int rc_out = 0;

    if (auditchain_check_fields(actor, source, action, target, detail, err) < 0)
        return NINES_EINVAL;
    r = redisCommandArgv(rc, 10, argv, NULL);
    if (r == NULL)
        return nines_err_set(err, NINES_EIO, "audit append: %s", rc->errstr);
    if (r->type == REDIS_REPLY_ERROR)
        rc_out = nines_err_set(err, NINES_EIO, "audit append refused: %.200s", r->str);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
             r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= 48)
        rc_out = nines_err_set(err, NINES_EPROTO, "audit append: unexpected reply");
    else if (id_out != NULL)
        snprintf(id_out, 48, "%s", r->element[0]->str);
    freeReplyObject(r);
    return rc_out;
}

/* The hash the first entry at or after from must link to; 0 or an error. */
static int auditchain_link_before(redisContext *rc, const char *from, char out[65],
                                  struct nines_err *err)
{
    struct auditchain_entry *e;
    redisReply *r;
    char excl[64];
    int rc_out = 0;

    snprintf(out, AUDITCHAIN_HASH_HEX, "%s", AUDITCHAIN_GENESIS);
    if (strcmp(from, "-") == 0)
        return 0;
    /* a bare ms means ms-0 here: as an end, Redis would read it as the ms's last id */
    snprintf(excl, sizeof(excl), "(%s%s", from, strchr(from, '-') == NULL ? "-0" : "");
    r = redisCommand(rc, "XREVRANGE %s %s - COUNT 1", AUDITCHAIN_KEY, excl);
    if (r == NULL)
        return nines_err_set(err, NINES_EIO, "audit read: %s", rc->errstr);
    if (r->type == REDIS_REPLY_ERROR) {
        rc_out = nines_err_set(err, NINES_EINVAL, "audit range start %.60s: %.160s", from,
                               r->str);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        e = malloc(sizeof(*e));
        if (e == NULL)
            rc_out = nines_err_set(err, NINES_ENOMEM, "out of memory");
        else if ((rc_out = auditchain_parse(r->element[0], e, err)) == 0)
            snprintf(out, AUDITCHAIN_HASH_HEX, "%s", e->hash);
        free(e);
    }
    freeReplyObject(r);
    return rc_out;
}

/* The head's seq and hash against the walk's end; 0 or NINES_EINVAL. */
static int auditchain_check_head(redisContext *rc, const struct auditchain_verifier *v,
                                 struct nines_err *err)
{
    redisReply *r = redisCommand(rc, "HMGET %s seq hash", AUDITCHAIN_KEY_HEAD);
    int rc_out = 0;

    if (r == NULL)
        return nines_err_set(err, NINES_EIO, "audit read: %s", rc->errstr);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[1]->str, v->last_hash) != 0)
        rc_out = nines_err_set(err, NINES_EINVAL,
                               "audit log ends at %s (seq %" PRId64 ") but its head records "
                               "seq %.20s: the newest entries were deleted or altered",
                               v->count ? v->last_id : "the start", v->last_seq,
                               r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str
                                                                         : "?");
    freeReplyObject(r);
    return rc_out;
}

/* One page of the walk; sets *next to the next start id, or "" at the end. */
static int auditchain_walk_page(redisContext *rc, const char *start, const char *to,
                                struct auditchain_verifier *v, auditchain_entry_cb *cb,
                                void *arg, struct auditchain_entry *e, char next[64],
                                int *broken, struct nines_err *err)
{
    redisReply *r = redisCommand(rc, "XRANGE %s %s %s COUNT 500", AUDITCHAIN_KEY, start, to);
    struct nines_err one;
    int rc_out = 0;

    next[0] = '\0';
    if (r == NULL)
        return nines_err_set(err, NINES_EIO, "audit read: %s", rc->errstr);
    if (r->type != REDIS_REPLY_ARRAY) {
        rc_out = nines_err_set(err, NINES_EINVAL, "audit range %.60s..%.60s: %.160s", start,
                               to, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return rc_out;
    }
    for (size_t i = 0; i < r->elements && rc_out == 0; i++) {
        int ok = auditchain_parse(r->element[i], e, &one) == 0 &&
                 auditchain_verify_next(v, e, &one) == 0;

        if (!ok && !*broken) {
            *broken = 1;
            *err = one;
        }
        if (!ok) {      /* go on from this entry, so later breaks show too */
            v->count++;
            v->last_seq = e->seq;
            snprintf(v->last_hash, sizeof(v->last_hash), "%s", e->hash);
            snprintf(v->last_id, sizeof(v->last_id), "%s", e->id);
        }
        if (cb != NULL && cb(e, ok, arg) != 0)
            rc_out = 1;
        if (i + 1 == r->elements && r->elements == 500 && e->id[0] != '\0')
            snprintf(next, 64, "(%s", e->id);
    }
    freeReplyObject(r);
    return rc_out;
}

int auditchain_walk(redisContext *rc, const char *from, const char *to,
                    struct auditchain_verifier *v, auditchain_entry_cb *cb, void *arg,
                    struct nines_err *err)
{
    struct auditchain_entry *e = malloc(sizeof(*e));
    char link[AUDITCHAIN_HASH_HEX], start[64], next[64];
    int broken = 0, rc_out;

    if (e == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    rc_out = auditchain_link_before(rc, from, link, err);
    auditchain_verify_init(v, link);
    snprintf(start, sizeof(start), "%s", from);
    while (rc_out == 0) {
        rc_out = auditchain_walk_page(rc, start, to, v, cb, arg, e, next, &broken, err);
        if (rc_out != 0 || next[0] == '\0')
            break;
        snprintf(start, sizeof(start), "%s", next);
    }
    free(e);
    if (rc_out < 0)
        return rc_out;
    if (rc_out > 0)     /* stopped by the callback */
        return broken ? NINES_EINVAL : 0;
    if (broken)
        return NINES_EINVAL;
    if (strcmp(to, "+") == 0)
        return auditchain_check_head(rc, v, err);
    return 0;
}
