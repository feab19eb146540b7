/*
 * API tokens and roles. The configuration stores only "sha256:<64 hex>" of each
 * token; a request's "Authorization: Bearer TOKEN" is hashed and compared in
 * constant time against every entry.
 */
#ifndef NINES_AUTH_H
#define NINES_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "nines/err.h"

/* Ordered: a role may do everything the roles below it may. */
enum auth_role {
    AUTH_ROLE_NONE = 0,     /* no valid token (public routes only) */
    AUTH_ROLE_VIEWER,
    AUTH_ROLE_OPERATOR,
    AUTH_ROLE_ADMIN,
};

#define AUTH_HASH_TEXT_SIZE 144     /* "sha256-salted:" + up to 64 hex salt + ":" + 64 hex */
#define AUTH_SALT_MAX 32
#define AUTH_TOKEN_MAX 512          /* longest token accepted, in bytes */
#define AUTH_TABLE_MAX 64
#define AUTH_NAME_MAX 64

struct auth_entry {
    char name[AUTH_NAME_MAX];       /* who holds the token, for logs and audit */
    enum auth_role role;
    uint8_t hash[32];               /* SHA-256(salt || token), or SHA-256(token) */
    uint8_t salt[AUTH_SALT_MAX];
    size_t salt_len;                /* 0: an unsalted (older) hash */
};

struct auth_table {
    size_t count;
    struct auth_entry entry[AUTH_TABLE_MAX];
};

/* "sha256:" followed by exactly 64 hex digits (either case). 0 or NINES_EINVAL. */
int auth_parse_hash(const char *text, uint8_t out[32]);
/* "sha256-salted:SALT:HASH": SALT 16 to 64 hex digits (8 to 32 bytes), HASH the
 * SHA-256 of the salt's bytes followed by the token. 0 or NINES_EINVAL. */
int auth_parse_salted(const char *text, uint8_t out[32], uint8_t salt[AUTH_SALT_MAX],
                      size_t *salt_len);
/* "viewer", "operator", "admin" -> 0, else NINES_EINVAL. */
int auth_parse_role(const char *text, enum auth_role *out);
const char *auth_role_name(enum auth_role role);    /* "none" for AUTH_ROLE_NONE */

void auth_table_init(struct auth_table *t);
/* Adds one token; rejects a bad hash or role, an empty or long name, a full table or
 * a hash already present. */
int auth_table_add(struct auth_table *t, const char *name, const char *hash_text,
                   enum auth_role role, struct nines_err *err);

/*
 * Checks an Authorization header value (NULL when the header is missing).
 * Returns the token's role with *status_out = 200, or AUTH_ROLE_NONE with
 * *status_out = 401 for a missing or malformed header or an unknown token.
 * auth_lookup is the same but returns the matching entry (or NULL).
 */
enum auth_role auth_check(const struct auth_table *t, const char *authorization,
                          int *status_out);
const struct auth_entry *auth_lookup(const struct auth_table *t, const char *authorization,
                                     int *status_out);

/* "sha256:<hex>" of token. NINES_EINVAL if the token is empty,
 * too long or holds a character a Bearer header cannot carry. */
int auth_hash_token(const char *token, char out[AUTH_HASH_TEXT_SIZE]);
/* "sha256-salted:<16 random bytes, hex>:<hex>" of token, for `nines token`:
 * the form to store (a stolen configuration gives no precomputed lookup). */
int auth_hash_token_salted(const char *token, char out[AUTH_HASH_TEXT_SIZE]);
/* A fresh random token: 32 bytes from the OpenSSL CSPRNG, base64url, 43 chars. */
int auth_new_token(char out[48]);

#endif
