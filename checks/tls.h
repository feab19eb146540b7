/*
 * TLS client sessions over memory BIOs, for engines that own their socket
 * (the TCP check): ciphertext goes in and out as plain bytes, so a libuv
 * stream can carry it. Also the certificate facts and verify-result reasons.
 */
#ifndef NINES_CHECKS_TLS_H
#define NINES_CHECKS_TLS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct tls_cache;
struct ssl_st;

/* Client contexts by CA file (NULL = the system store), created on first use. */
struct tls_cache *tls_cache_new(void);
void tls_cache_free(struct tls_cache *cache);

/* One client connection. Verification is judged after the handshake. */
struct tls_session {
    struct ssl_st *ssl;
};

/*
 * Starts a client session: SNI = server_name (not sent for an IP literal),
 * the name (or IP) checked against the certificate. The handshake always
 * completes whatever the chain is; tls_session_verify_result says what
 * OpenSSL found. Returns 0, or a negative NINES_E* with err filled.
 */
int tls_session_init(struct tls_session *s, struct tls_cache *cache, const char *ca_file,
                     const char *server_name, char *err, size_t errlen);
void tls_session_close(struct tls_session *s);

/* Ciphertext received from the peer. Returns 0 or NINES_ENOMEM. */
int tls_session_feed(struct tls_session *s, const char *data, size_t len);
/* Ciphertext waiting to go to the peer, into buf; returns the bytes taken. */
size_t tls_session_take(struct tls_session *s, char *buf, size_t cap);
size_t tls_session_pending(const struct tls_session *s);

enum { TLS_AGAIN = 0, TLS_DONE = 1, TLS_CLOSED = -1, TLS_FAILED = -2 };

/* One handshake step: TLS_DONE, TLS_AGAIN (needs input) or TLS_FAILED (err). */
int tls_session_handshake(struct tls_session *s, char *err, size_t errlen);
/*
 * Reads plaintext: n > 0 bytes, TLS_AGAIN, TLS_CLOSED (close_notify) or
 * TLS_FAILED (err).
 */
int tls_session_read(struct tls_session *s, char *buf, size_t cap, char *err, size_t errlen);
/* Encrypts all of data (output via tls_session_take). 0 or TLS_FAILED. */
int tls_session_write(struct tls_session *s, const char *data, size_t len);
/* Queues a close_notify (best effort). */
void tls_session_shutdown(struct tls_session *s);

/* OpenSSL's X509_V_* result of verifying the peer (0 = trusted, name ok). */
long tls_session_verify_result(const struct tls_session *s);
/* The stable reason for a failed verify result: tls_cert_expired, ... */
const char *tls_verify_reason(long verify_result);
const char *tls_verify_text(long verify_result);

/*
 * Facts about the session into obj: version, cipher, subject, issuer,
 * not_after, days_left. *days_left gets the leaf's full days to expiry
 * (negative once expired); returns 0, or NINES_ENOTFOUND without a leaf.
 */
int tls_session_facts(const struct tls_session *s, json_t *obj, int64_t *days_left);

#endif
