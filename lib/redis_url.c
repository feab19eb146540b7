/*
 * Redis addresses as URLs:
 *
 *   redis://[[user]:password@]host[:port][/db]    (IPv6 hosts in brackets)
 *   unix:///path/to/socket[?password=...&user=...&db=N]
 *
 * As in redis-cli, "redis://secret@host" (no colon) is a password alone.
 * user and password are percent-decoded; nothing is truncated: a value that
 * does not fit its buffer is an error.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nines/wire.h"

#define URL_DEFAULT_PORT 6379

static int url_fail(struct nines_err *err, const char *what, const char *s, size_t len)
{
    if (len > 64)
        len = 64;
    return nines_err_set(err, NINES_EINVAL, "redis url: %s '%.*s'", what, (int)len, s);
}

static int url_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into dst (size bytes, NUL-terminated). */
static int url_decode(const char *s, size_t len, char *dst, size_t size, const char *what,
                      struct nines_err *err)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '%') {
            int hi = i + 2 < len ? url_hex(s[i + 1]) : -1;
            int lo = i + 2 < len ? url_hex(s[i + 2]) : -1;

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return nines_err_set(err, NINES_EINVAL,
                                     "redis url: bad percent-encoding in %s", what);
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= size)
            return nines_err_set(err, NINES_EINVAL, "redis url: %s too long (max %zu bytes)",
                                 what, size - 1);
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

/* Strict decimal in [min, max]; -1 when s[0..len) is anything else. */
static long url_number(const char *s, size_t len, long min, long max)
{
    long v = 0;

    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < min || v > max ? -1 : v;
}

static int url_parse_db(const char *s, size_t len, struct nines_redis_addr *a,
                        struct nines_err *err)
{
    long db = url_number(s, len, 0, INT_MAX);

    if (db < 0)
        return url_fail(err, "bad db", s, len);
    a->db = (int)db;
    return 0;
}

static int url_userinfo(const char *s, size_t len, struct nines_redis_addr *a,
                        struct nines_err *err)
{
    const char *colon = memchr(s, ':', len);
    int rc;

    if (colon == NULL)
        return url_decode(s, len, a->password, sizeof(a->password), "password", err);
    rc = url_decode(s, (size_t)(colon - s), a->user, sizeof(a->user), "user", err);
    if (rc < 0)
        return rc;
    return url_decode(colon + 1, len - (size_t)(colon - s) - 1, a->password,
                      sizeof(a->password), "password", err);
}

static int url_host_char_ok(char c, int ipv6)
{
    if (ipv6)
        return isxdigit((unsigned char)c) || c == ':' || c == '.';
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* host[:port] or [v6]:port in s[0..len). */
static int url_hostport(const char *s, size_t len, struct nines_redis_addr *a,
                        struct nines_err *err)
{
    const char *end = s + len, *h = s, *he;
    const char *p;
    int ipv6 = len > 0 && s[0] == '[';
    long port;

    if (ipv6) {
        h = s + 1;
        he = memchr(h, ']', (size_t)(end - h));
        if (he == NULL)
            return url_fail(err, "unterminated IPv6 address", s, len);
        p = he + 1;
        if (p < end && *p != ':')
            return url_fail(err, "trailing junk after IPv6 address", p, (size_t)(end - p));
    } else {
        he = memchr(s, ':', len);
        if (he == NULL)
            he = end;
        p = he;
    }
    if (he == h)
        return nines_err_set(err, NINES_EINVAL, "redis url: empty host");
    if ((size_t)(he - h) >= sizeof(a->host))
        return nines_err_set(err, NINES_EINVAL, "redis url: host too long (max %zu bytes)",
                             sizeof(a->host) - 1);
    for (const char *c = h; c < he; c++) {
        if (!url_host_char_ok(*c, ipv6))
            return url_fail(err, "bad character in host", h, (size_t)(he - h));
    }
    memcpy(a->host, h, (size_t)(he - h));
    a->host[he - h] = '\0';
    if (p < end) {                          /* *p == ':' */
        port = url_number(p + 1, (size_t)(end - p - 1), 1, 65535);
        if (port < 0)
            return url_fail(err, "bad port", p + 1, (size_t)(end - p - 1));
        a->port = (int)port;
    }
    return 0;
}

static int url_parse_tcp(const char *s, struct nines_redis_addr *a, struct nines_err *err)
{
    size_t auth_len = strcspn(s, "/?#");
    const char *at = NULL, *rest = s + auth_len;
    size_t db_len;
    int rc;

    a->port = URL_DEFAULT_PORT;
    for (size_t i = 0; i < auth_len; i++) {
        if (s[i] == '@')
            at = s + i;                     /* the last '@' ends the userinfo */
    }
    if (at != NULL) {
        rc = url_userinfo(s, (size_t)(at - s), a, err);
        if (rc < 0)
            return rc;
        auth_len -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    rc = url_hostport(s, auth_len, a, err);
    if (rc < 0)
        return rc;
    if (*rest == '/') {
        rest++;
        db_len = strcspn(rest, "/?#");
        if (db_len > 0 && (rc = url_parse_db(rest, db_len, a, err)) < 0)
            return rc;
        rest += db_len;
    }
    if (*rest != '\0')
        return url_fail(err, "trailing junk", rest, strlen(rest));
    return 0;
}

static int url_unix_param(const char *s, size_t len, struct nines_redis_addr *a,
                          struct nines_err *err)
{
    const char *eq = memchr(s, '=', len);
    size_t klen = eq ? (size_t)(eq - s) : len;
    const char *v = eq ? eq + 1 : s + len;
    size_t vlen = (size_t)(s + len - v);

    if (eq == NULL)
        return url_fail(err, "parameter without a value", s, len);
    if (klen == 8 && memcmp(s, "password", 8) == 0)
        return url_decode(v, vlen, a->password, sizeof(a->password), "password", err);
    if (klen == 4 && memcmp(s, "user", 4) == 0)
        return url_decode(v, vlen, a->user, sizeof(a->user), "user", err);
    if (klen == 2 && memcmp(s, "db", 2) == 0)
        return url_parse_db(v, vlen, a, err);
    return url_fail(err, "unknown parameter", s, klen);
}

static int url_parse_unix(const char *s, struct nines_redis_addr *a, struct nines_err *err)
{
    size_t path_len = strcspn(s, "?#");
    const char *q = s + path_len;
    size_t n;
    int rc;

    a->port = 0;
    if (s[0] != '/')
        return url_fail(err, "unix socket path must be absolute (unix:///path)", s, path_len);
    if (path_len < 2)
        return nines_err_set(err, NINES_EINVAL, "redis url: empty unix socket path");
    if (path_len >= sizeof(a->path))
        return nines_err_set(err, NINES_EINVAL, "redis url: path too long (max %zu bytes)",
                             sizeof(a->path) - 1);
    memcpy(a->path, s, path_len);
    a->path[path_len] = '\0';
    if (*q == '?') {
        for (q++; *q != '\0' && *q != '#'; q += n + (q[n] == '&')) {
            n = strcspn(q, "&#");
            if (n > 0 && (rc = url_unix_param(q, n, a, err)) < 0)
                return rc;
        }
    }
    if (*q != '\0')
        return url_fail(err, "trailing junk", q, strlen(q));
    return 0;
}

/* On failure *a is left untouched and err names what is wrong. */
int nines_redis_url_parse(const char *url, struct nines_redis_addr *a, struct nines_err *err)
{
    struct nines_redis_addr t;
    const char *sep;
    size_t scheme_len;
    int rc;

    if (url == NULL)
        return nines_err_set(err, NINES_EINVAL, "redis url: none given");
    memset(&t, 0, sizeof(t));
    sep = strstr(url, "://");
    scheme_len = sep ? (size_t)(sep - url) : 0;
    if (sep == NULL || strcspn(url, "/?#@") < scheme_len)
        return url_fail(err, "no scheme (want redis:// or unix://)", url, strlen(url));
    if (scheme_len == 5 && strncasecmp(url, "redis", 5) == 0)
        rc = url_parse_tcp(sep + 3, &t, err);
    else if (scheme_len == 4 && strncasecmp(url, "unix", 4) == 0)
        rc = url_parse_unix(sep + 3, &t, err);
    else if (scheme_len == 6 && strncasecmp(url, "rediss", 6) == 0)
        rc = nines_err_set(err, NINES_EINVAL, "redis url: TLS (rediss://) is not supported");
    else
        rc = nines_err_set(err, NINES_EINVAL,
                           "redis url: unknown scheme '%.*s' (want redis:// or unix://)",
                           (int)(scheme_len > 32 ? 32 : scheme_len), url);
    if (rc == 0)
        *a = t;
    return rc;
}

/* "redis://[user@]host:port/db" or "unix:///path[?db=N]"; never the password. */
const char *nines_redis_addr_str(const struct nines_redis_addr *a, char *buf, size_t len)
{
    const char *at = a->user[0] != '\0' ? "@" : "";
    int v6 = strchr(a->host, ':') != NULL;

    if (len == 0)
        return buf;
    if (a->path[0] != '\0' && a->db != 0)
        snprintf(buf, len, "unix://%s?db=%d", a->path, a->db);
    else if (a->path[0] != '\0')
        snprintf(buf, len, "unix://%s", a->path);
    else
        snprintf(buf, len, "redis://%s%s%s%s%s:%d/%d", a->user, at, v6 ? "[" : "", a->host,
                 v6 ? "]" : "", a->port, a->db);
    return buf;
}
