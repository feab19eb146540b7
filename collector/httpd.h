/*
 * The collector's HTTP server: libmicrohttpd in external epoll mode, driven from
 * the collector's libuv loop (one thread, no MHD threads). Routes carry the minimum
 * role a Bearer token must have; errors are JSON:
 *     {"error":{"status":404,"message":"no route for GET /x"}}
 *
 * A handler answers with one httpd_respond_*() call, either before it returns or
 * later from any loop callback (after a Redis reply, say). Until it answers, the
 * connection is suspended. A handler must answer exactly once, even when the
 * client has gone (httpd_req_gone) or the server is closed: that call releases the
 * request. An answer after the client left, or after the server answered 504
 * because the handler took longer than handler_timeout_ms, is dropped.
 */
#ifndef NINES_HTTPD_H
#define NINES_HTTPD_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "auth.h"
#include "nines/err.h"

#define HTTPD_PUBLIC AUTH_ROLE_NONE

struct httpd;
struct httpd_req;

typedef void httpd_handler(struct httpd_req *req, void *arg);

/* Zero means the default given after each field. */
struct httpd_opts {
    const char *listen;             /* "127.0.0.1:8080", "[::1]:8080"; port 0 = any */
    const struct auth_table *auth;  /* borrowed; NULL: no token is valid */
    unsigned connection_timeout_s;  /* idle connections are closed: 10 */
    unsigned connection_limit;      /* 256 */
    unsigned per_ip_limit;          /* 32 */
    size_t connection_memory;       /* MHD's per-connection buffer: 32 KiB */
    size_t max_body;                /* larger bodies get 413: 64 KiB */
    unsigned handler_timeout_ms;    /* unanswered requests get 504: 30000 */
    const char *tls_cert_pem;       /* HTTPS (GnuTLS in libmicrohttpd) with this PEM chain ... */
    const char *tls_key_pem;        /* ... and key; both NULL: plain HTTP */
};

struct httpd *httpd_new(uv_loop_t *loop, const struct httpd_opts *o, struct nines_err *err);
/* The bound port (useful after listening on port 0). */
int httpd_port(const struct httpd *h);
/* Swaps the token table (borrowed) for requests that arrive from now on. */
void httpd_set_auth(struct httpd *h, const struct auth_table *auth);
/*
 * pattern is exact ("/api/v1/checks") or a prefix ending in a slash and a star
 * (like the C comment opener), which takes one or more trailing characters: the
 * rest, see httpd_rest. Exact routes win over wildcards, longer wildcards over
 * shorter ones. GET routes also answer HEAD.
 */
int httpd_route(struct httpd *h, const char *method, const char *pattern,
                enum auth_role min_role, httpd_handler *fn, void *arg);
/*
 * Stops listening, answers or drops every open request, closes all connections and
 * handles; closed(arg) runs when the last handle is closed and h is freed. Safe to
 * call from inside a handler.
 */
void httpd_close(struct httpd *h, void (*closed)(void *), void *arg);

/* The request. Strings stay valid until the handler's answer. */
const char *httpd_method(const struct httpd_req *r);
const char *httpd_path(const struct httpd_req *r);          /* percent-decoded */
const char *httpd_rest(const struct httpd_req *r);          /* "" on exact routes */
const char *httpd_query(const struct httpd_req *r, const char *name);  /* NULL if absent */
const char *httpd_header(const struct httpd_req *r, const char *name); /* case-insensitive */
const char *httpd_body(const struct httpd_req *r, size_t *len);     /* NUL-terminated */
enum auth_role httpd_role(const struct httpd_req *r);
const char *httpd_token_name(const struct httpd_req *r);   /* "" without a valid token */
const char *httpd_client_ip(const struct httpd_req *r);
/* 1 once nobody will see an answer (client gone, timed out, server closed). */
int httpd_req_gone(const struct httpd_req *r);
/*
 * The body parsed as JSON (object or array, duplicate keys rejected). On failure
 * this answers 400 itself, fills err if not NULL and returns NULL: the handler then
 * just returns.
 */
json_t *httpd_body_json(struct httpd_req *r, struct nines_err *err);

/* Adds a response header (copied; no CR/LF). 0 or NINES_EINVAL/NINES_ENOMEM. */
int httpd_add_header(struct httpd_req *r, const char *name, const char *value);
/* Answers; body is taken (decref'd) whatever happens. */
void httpd_respond_json(struct httpd_req *r, int status, json_t *body);
void httpd_respond_text(struct httpd_req *r, int status, const char *content_type,
                        const char *body, size_t len);
/* A JSON error; for status >= 500 the message is logged and the client sees only
 * "internal error". */
void httpd_respond_error(struct httpd_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
