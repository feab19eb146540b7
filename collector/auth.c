/*
 * Bearer tokens. Only SHA-256 digests of tokens are kept; a presented token is
 * hashed and compared with CRYPTO_memcmp against every entry, so the time taken
 * does not depend on how much of a stored digest it shares.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"

static const char *const auth_role_names[] = { "none", "viewer", "operator", "admin" };

static int auth_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int auth_parse_hash(const char *text, uint8_t out[32])
{
    uint8_t tmp[32];

    if (text == NULL || strncmp(text, "sha256:", 7) != 0)
        return NINES_EINVAL;
    text += 7;
    for (int i = 0; i < 32; i++) {
        int hi = auth_hex_digit(text[2 * i]);
        int lo = hi < 0 ? -1 : auth_hex_digit(text[2 * i + 1]);

        if (lo < 0)
            return NINES_EINVAL;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    if (text[64] != '\0')
        return NINES_EINVAL;
    memcpy(out, tmp, sizeof(tmp));
    return 0;
}

int auth_parse_salted(const char *text, uint8_t out[32], uint8_t salt[AUTH_SALT_MAX],
                      size_t *salt_len)
{
    const char *colon;
    size_t n;

    if (text == NULL || strncmp(text, "sha256-salted:", 14) != 0)
        return NINES_EINVAL;
    text += 14;
    colon = strchr(text, ':');
    n = colon != NULL ? (size_t)(colon - text) : 0;
    if (n < 16 || n > 2 * AUTH_SALT_MAX || n % 2 != 0)
        return NINES_EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = auth_hex_digit(text[2 * i]);
        int lo = hi < 0 ? -1 : auth_hex_digit(text[2 * i + 1]);

        if (lo < 0)
            return NINES_EINVAL;
        salt[i] = (uint8_t)(hi << 4 | lo);
    }
    {
        char plain[72] = "sha256:";

        if (strlen(colon + 1) != 64)
            return NINES_EINVAL;
        memcpy(plain + 7, colon + 1, 65);
        if (auth_parse_hash(plain, out) != 0)
            return NINES_EINVAL;
    }
    *salt_len = n / 2;
    return 0;
}

int auth_parse_role(const char *text, enum auth_role *out)
{
    for (int r = AUTH_ROLE_VIEWER; r <= AUTH_ROLE_ADMIN; r++) {
        if (text != NULL && strcmp(text, auth_role_names[r]) == 0) {
            *out = (enum auth_role)r;
            return 0;
        }
    }
    return NINES_EINVAL;
}

const char *auth_role_name(enum auth_role role)
{
    if ((int)role < AUTH_ROLE_NONE || role > AUTH_ROLE_ADMIN)
        return "invalid";
    return auth_role_names[role];
}

void auth_table_init(struct auth_table *t)
{
    memset(t, 0, sizeof(*t));
}

int auth_table_add(struct auth_table *t, const char *name, const char *hash_text,
                   enum auth_role role, struct nines_err *err)
{
    struct auth_entry e;

    memset(&e, 0, sizeof(e));
    if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof(e.name))
        return nines_err_set(err, NINES_EINVAL, "token name must be 1 to %d characters",
                             AUTH_NAME_MAX - 1);
    if (auth_parse_salted(hash_text, e.hash, e.salt, &e.salt_len) < 0 &&
        auth_parse_hash(hash_text, e.hash) < 0)
        return nines_err_set(err, NINES_EINVAL, "token '%s': hash must be sha256-salted:SALT:HEX "
                             "or sha256: and 64 hex digits", name);
    if (role < AUTH_ROLE_VIEWER || role > AUTH_ROLE_ADMIN)
        return nines_err_set(err, NINES_EINVAL, "token '%s': invalid role", name);
    if (t->count >= AUTH_TABLE_MAX)
        return nines_err_set(err, NINES_EINVAL, "more than %d tokens", AUTH_TABLE_MAX);
    for (size_t i = 0; i < t->count; i++) {
        if (memcmp(t->entry[i].hash, e.hash, sizeof(e.hash)) == 0)
            return nines_err_set(err, NINES_EINVAL, "token '%s' has the same hash as '%s'",
                                 name, t->entry[i].name);
    }
    snprintf(e.name, sizeof(e.name), "%s", name);
    e.role = role;
    t->entry[t->count++] = e;
    return 0;
}

/* token68 (RFC 7235): ALPHA DIGIT - . _ ~ + / then any number of '='. */
static size_t auth_token68_len(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0' && (strchr("-._~+/", s[n]) != NULL ||
                            (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
                            (s[n] >= '0' && s[n] <= '9')))
        n++;
    if (n == 0)
        return 0;
    while (s[n] == '=')
        n++;
    return n;
}

static int auth_sha256(const char *data, size_t len, uint8_t out[32])
{
    unsigned int out_len = 0;

    if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 || out_len != 32)
        return NINES_EIO;
    return 0;
}

/* Finds the token in "Bearer TOKEN"; returns its length, or 0 if malformed. */
static size_t auth_bearer_token(const char *h, const char **token)
{
    size_t n;

    if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return 0;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    n = auth_token68_len(h);
    if (n == 0 || n > AUTH_TOKEN_MAX)
        return 0;
    for (const char *p = h + n; *p != '\0'; p++) {
        if (*p != ' ' && *p != '\t')
            return 0;   /* anything but trailing blanks */
    }
    *token = h;
    return n;
}

/* SHA-256(salt || token). */
static int auth_salted(const uint8_t *salt, size_t salt_len, const char *token, size_t n,
                       uint8_t out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
             EVP_DigestUpdate(ctx, token, n) == 1 && EVP_DigestFinal_ex(ctx, out, &len) == 1 &&
             len == 32;

    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

const struct auth_entry *auth_lookup(const struct auth_table *t, const char *authorization,
                                     int *status_out)
{
    const struct auth_entry *found = NULL;
    const char *token = NULL;
    uint8_t digest[32];
    size_t n;

    *status_out = 401;
    n = auth_bearer_token(authorization, &token);
    if (n == 0 || t == NULL || auth_sha256(token, n, digest) < 0)
        return NULL;
    /* Compare with every entry, never stopping early. */
    for (size_t i = 0; i < t->count; i++) {
        const struct auth_entry *e = &t->entry[i];
        uint8_t salted[32];

        if (e->salt_len > 0) {
            if (auth_salted(e->salt, e->salt_len, token, n, salted) == 0 &&
                CRYPTO_memcmp(salted, e->hash, sizeof(salted)) == 0)
                found = e;
        } else if (CRYPTO_memcmp(digest, e->hash, sizeof(digest)) == 0) {
            found = e;
        }
    }
    if (found != NULL)
        *status_out = 200;
    return found;
}

enum auth_role auth_check(const struct auth_table *t, const char *authorization,
                          int *status_out)
{
    const struct auth_entry *e = auth_lookup(t, authorization, status_out);

    return e != NULL ? e->role : AUTH_ROLE_NONE;
}

int auth_hash_token(const char *token, char out[AUTH_HASH_TEXT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t digest[32];
    size_t n;

    if (token == NULL)
        return NINES_EINVAL;
    n = auth_token68_len(token);
    if (n == 0 || n > AUTH_TOKEN_MAX || token[n] != '\0')
        return NINES_EINVAL;
    if (auth_sha256(token, n, digest) < 0)
        return NINES_EIO;
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[digest[i] >> 4];
        out[8 + 2 * i] = hex[digest[i] & 15];
    }
    out[71] = '\0';
    return 0;
}

int auth_hash_token_salted(const char *token, char out[AUTH_HASH_TEXT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t salt[16], digest[32];
    size_t n, o = 14;

    if (token == NULL)
        return NINES_EINVAL;
    n = auth_token68_len(token);
    if (n == 0 || n > AUTH_TOKEN_MAX || token[n] != '\0')
        return NINES_EINVAL;
    if (RAND_bytes(salt, sizeof(salt)) != 1 ||
        auth_salted(salt, sizeof(salt), token, n, digest) != 0)
        return NINES_EIO;
    memcpy(out, "sha256-salted:", 14);
    for (size_t i = 0; i < sizeof(salt); i++) {
        out[o++] = hex[salt[i] >> 4];
        out[o++] = hex[salt[i] & 15];
    }
    out[o++] = ':';
    for (int i = 0; i < 32; i++) {
        out[o++] = hex[digest[i] >> 4];
        out[o++] = hex[digest[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

int auth_new_token(char out[48])
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[33];    /* 32 random bytes, padded to a multiple of 3 */
    size_t o = 0;

    if (RAND_bytes(raw, 32) != 1)
        return NINES_EIO;
    raw[32] = 0;
    for (int i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];

        for (int k = 3; k >= 0; k--)
            out[o++] = b64url[(v >> (6 * k)) & 63];
    }
    out[43] = '\0';     /* 32 bytes are 43 base64 digits; drop the padding digit */
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}
