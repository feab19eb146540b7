/* TLS client sessions over memory BIOs, and what their certificates say. */
#include <arpa/inet.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "nines/err.h"
#include "tls.h"

#define TLS_CACHE_MAX 8   /* CA files kept loaded; the least used is replaced */
#define TLS_NAME_TEXT 256 /* subject and issuer, at most, in facts */

/* One client context: trust anchors from a CA file or the system store. */
struct tls_cache_entry {
    char *ca_file; /* NULL: the system store */
    dev_t dev;     /* the file as loaded, so a replaced file reloads */
    ino_t ino;
    off_t size;
    struct timespec mtime;
    SSL_CTX *ctx;
    uint64_t used; /* tick of the last use */
};

struct tls_cache {
    struct tls_cache_entry entry[TLS_CACHE_MAX];
    int count;
    uint64_t tick;
};

struct tls_cache *tls_cache_new(void)
{
    return calloc(1, sizeof(struct tls_cache));
}

static void tls_cache_entry_clear(struct tls_cache_entry *e)
{
    SSL_CTX_free(e->ctx);
    free(e->ca_file);
    memset(e, 0, sizeof(*e));
}

void tls_cache_free(struct tls_cache *cache)
{
    if (!cache)
        return;
    for (int i = 0; i < cache->count; i++)
        tls_cache_entry_clear(&cache->entry[i]);
    free(cache);
}

/* The text of OpenSSL's most recent error, or fallback. */
static void tls_error_text(const char *fallback, char *err, size_t errlen)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;

    snprintf(err, errlen, "%s", reason ? reason : fallback);
    ERR_clear_error();
}

/*
 * The system trust store. The hashed directory (/etc/ssl/certs) is read
 * lazily, one issuer at a time; the bundle file is parsed whole, about 100 ms
 * of blocked loop, so it is used only when SSL_CERT_FILE names it or there is
 * no directory.
 */
static int tls_ctx_load_system(SSL_CTX *ctx)
{
    const char *dir = getenv(X509_get_default_cert_dir_env());
    struct stat st;

    if (!dir || !dir[0])
        dir = X509_get_default_cert_dir();
    if (getenv(X509_get_default_cert_file_env()) || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return SSL_CTX_set_default_verify_paths(ctx);
    return SSL_CTX_load_verify_dir(ctx, dir);
}

static SSL_CTX *tls_ctx_new(const char *ca_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int ok;

    if (!ctx) {
        tls_error_text("cannot create a TLS context", err, errlen);
        return NULL;
    }
    /* The chain is judged after the handshake, from the verify result. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (ca_file)
        ok = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
    else
        ok = tls_ctx_load_system(ctx);
    if (ok != 1) {
        snprintf(err, errlen, "cannot load CA file %.200s", ca_file ? ca_file : "(system)");
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int tls_entry_matches(const struct tls_cache_entry *e, const char *ca_file,
                             const struct stat *st)
{
    if (!ca_file || !e->ca_file)
        return !ca_file && !e->ca_file;
    return strcmp(e->ca_file, ca_file) == 0 && e->dev == st->st_dev && e->ino == st->st_ino &&
           e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
           e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The slot for a new entry: a free one, or the least recently used. */
static struct tls_cache_entry *tls_cache_slot(struct tls_cache *cache)
{
    struct tls_cache_entry *lru = &cache->entry[0];

    if (cache->count < TLS_CACHE_MAX)
        return &cache->entry[cache->count++];
    for (int i = 1; i < TLS_CACHE_MAX; i++) {
        if (cache->entry[i].used < lru->used)
            lru = &cache->entry[i];
    }
    tls_cache_entry_clear(lru);
    return lru;
}

/* A context for ca_file (borrowed from the cache), loading it on first use. */
static SSL_CTX *tls_cache_get(struct tls_cache *cache, const char *ca_file, char *err,
                              size_t errlen)
{
    struct tls_cache_entry *e;
    struct stat st;
    SSL_CTX *ctx;

    memset(&st, 0, sizeof(st));
    if (ca_file && stat(ca_file, &st) != 0) {
        snprintf(err, errlen, "cannot read CA file %.200s", ca_file);
        return NULL;
    }
    for (int i = 0; i < cache->count; i++) {
        if (tls_entry_matches(&cache->entry[i], ca_file, &st)) {
            cache->entry[i].used = ++cache->tick;
            return cache->entry[i].ctx;
        }
    }
    ctx = tls_ctx_new(ca_file, err, errlen);
    if (!ctx)
        return NULL;
    e = tls_cache_slot(cache);
    e->ca_file = ca_file ? strdup(ca_file) : NULL;
    if (ca_file && !e->ca_file) {
        SSL_CTX_free(ctx);
        cache->count--; /* the slot was the last one taken */
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    e->ctx = ctx;
    e->used = ++cache->tick;
    return ctx;
}

static int tls_is_ip(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* SNI for a DNS name only (RFC 6066), and the name or IP the leaf must carry. */
static int tls_session_name(SSL *ssl, const char *name)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (tls_is_ip(name))
        return X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1 ? 0 : NINES_EINVAL;
    if (SSL_set_tlsext_host_name(ssl, name) != 1)
        return NINES_EINVAL;
    return X509_VERIFY_PARAM_set1_host(param, name, 0) == 1 ? 0 : NINES_EINVAL;
}

int tls_session_init(struct tls_session *s, struct tls_cache *cache, const char *ca_file,
                     const char *server_name, char *err, size_t errlen)
{
    SSL_CTX *ctx = tls_cache_get(cache, ca_file, err, errlen);
    BIO *in = NULL;
    BIO *out = NULL;

    s->ssl = NULL;
    if (!ctx)
        return NINES_EINVAL;
    s->ssl = SSL_new(ctx);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    if (!s->ssl || !in || !out) {
        BIO_free(in);
        BIO_free(out);
        tls_session_close(s);
        snprintf(err, errlen, "out of memory");
        return NINES_ENOMEM;
    }
    BIO_set_mem_eof_return(in, -1); /* empty means "more to come", not EOF */
    SSL_set_bio(s->ssl, in, out);   /* s->ssl owns both */
    SSL_set_connect_state(s->ssl);
    if (tls_session_name(s->ssl, server_name) != 0) {
        tls_session_close(s);
        snprintf(err, errlen, "bad TLS server name %.200s", server_name);
        ERR_clear_error();
        return NINES_EINVAL;
    }
    return 0;
}

void tls_session_close(struct tls_session *s)
{
    SSL_free(s->ssl);
    s->ssl = NULL;
}

int tls_session_feed(struct tls_session *s, const char *data, size_t len)
{
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        int n = BIO_write(SSL_get_rbio(s->ssl), data, chunk);

        if (n <= 0)
            return NINES_ENOMEM;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

size_t tls_session_pending(const struct tls_session *s)
{
    return BIO_ctrl_pending(SSL_get_wbio(s->ssl));
}

size_t tls_session_take(struct tls_session *s, char *buf, size_t cap)
{
    int chunk = cap > INT_MAX ? INT_MAX : (int)cap;
    int n = chunk > 0 ? BIO_read(SSL_get_wbio(s->ssl), buf, chunk) : 0;

    return n > 0 ? (size_t)n : 0;
}

int tls_session_handshake(struct tls_session *s, char *err, size_t errlen)
{
    int rc;
    int e;

    ERR_clear_error();
    rc = SSL_do_handshake(s->ssl);
    if (rc == 1)
        return TLS_DONE;
    e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return TLS_AGAIN;
    tls_error_text("TLS handshake failed", err, errlen);
    return TLS_FAILED;
}

int tls_session_read(struct tls_session *s, char *buf, size_t cap, char *err, size_t errlen)
{
    int chunk = cap > INT_MAX ? INT_MAX : (int)cap;
    int n;
    int e;

    if (chunk <= 0)
        return TLS_AGAIN;
    ERR_clear_error();
    n = SSL_read(s->ssl, buf, chunk);
    if (n > 0)
        return n;
    e = SSL_get_error(s->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return TLS_AGAIN;
    if (e == SSL_ERROR_ZERO_RETURN)
        return TLS_CLOSED;
    tls_error_text("TLS read failed", err, errlen);
    return TLS_FAILED;
}

int tls_session_write(struct tls_session *s, const char *data, size_t len)
{
    size_t done;

    while (len > 0) {
        ERR_clear_error();
        if (SSL_write_ex(s->ssl, data, len, &done) != 1) {
            ERR_clear_error();
            return TLS_FAILED;
        }
        data += done;
        len -= done;
    }
    return 0;
}

void tls_session_shutdown(struct tls_session *s)
{
    if (SSL_is_init_finished(s->ssl))
        SSL_shutdown(s->ssl);
    ERR_clear_error();
}

long tls_session_verify_result(const struct tls_session *s)
{
    return SSL_get_verify_result(s->ssl);
}

const char *tls_verify_reason(long verify_result)
{
    switch (verify_result) {
    case X509_V_OK:
        return "";
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "tls_cert_expired";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return "tls_cert_hostname";
    default:
        return "tls_cert_untrusted";
    }
}

const char *tls_verify_text(long verify_result)
{
    return X509_verify_cert_error_string(verify_result);
}

/* An X509 name as RFC 2253 text ("CN=localhost,O=..."), cut to fit. */
static void tls_name_text(const X509_NAME *name, char *buf, size_t len)
{
    BIO *mem = BIO_new(BIO_s_mem());
    int n = 0;

    buf[0] = '\0';
    if (!mem)
        return;
    if (X509_NAME_print_ex(mem, name, 0, XN_FLAG_RFC2253) >= 0)
        n = BIO_read(mem, buf, (int)len - 1);
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(mem);
}

/* Whole days from now to t, toward zero: 9.9 days is 9, expired 2.1 days ago is -2. */
static int tls_days_until(const ASN1_TIME *t, int64_t *days)
{
    int day;
    int sec;
    int64_t total;

    if (ASN1_TIME_diff(&day, &sec, NULL, t) != 1)
        return NINES_EINVAL;
    total = (int64_t)day * 86400 + sec;
    *days = total / 86400;
    return 0;
}

static void tls_time_text(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;

    buf[0] = '\0';
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int tls_session_facts(const struct tls_session *s, json_t *obj, int64_t *days_left)
{
    X509 *leaf = SSL_get1_peer_certificate(s->ssl);
    long verify = SSL_get_verify_result(s->ssl);
    char text[TLS_NAME_TEXT];
    int err = 0;

    json_object_set_new(obj, "version", json_string(SSL_get_version(s->ssl)));
    json_object_set_new(obj, "cipher", json_string(SSL_get_cipher_name(s->ssl)));
    if (verify != X509_V_OK)
        json_object_set_new(obj, "verify", json_string(tls_verify_text(verify)));
    if (!leaf)
        return NINES_ENOTFOUND;
    tls_name_text(X509_get_subject_name(leaf), text, sizeof(text));
    json_object_set_new(obj, "subject", json_string(text));
    tls_name_text(X509_get_issuer_name(leaf), text, sizeof(text));
    json_object_set_new(obj, "issuer", json_string(text));
    tls_time_text(X509_get0_notAfter(leaf), text, sizeof(text));
    json_object_set_new(obj, "not_after", json_string(text));
    if (tls_days_until(X509_get0_notAfter(leaf), days_left) == 0)
        json_object_set_new(obj, "days_left", json_integer(*days_left));
    else
        err = NINES_EINVAL;
    X509_free(leaf);
    return err;
}
