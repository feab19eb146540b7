/*
 * HTTP server on the libuv loop: libmicrohttpd in external epoll mode
 * (LIBRARIES.md §6). A uv_poll_t on MHD's epoll fd calls MHD_run(); a uv_timer
 * re-armed from MHD_get_timeout() after every run handles MHD's own timeouts.
 *
 * Request lifetime. A struct httpd_req is created on the first access-handler call
 * and holds one reference for MHD, dropped in NOTIFY_COMPLETED, plus one for the
 * handler from the moment it is called until it answers. A handler that returns
 * without answering gets its connection suspended; its later answer resumes the
 * connection and MHD calls the access handler again, which queues it. When the
 * connection is gone first, the request stays alive on the handler's reference
 * alone, with conn == NULL, and the late answer is dropped.
 *
 * Suspended requests also sit in a list ordered by deadline (all share one
 * timeout, so suspension order is deadline order); a timer answers 504 for any
 * handler that overstays. MHD must never be stopped with a suspended connection,
 * so httpd_close first answers every one of them (503), runs MHD once to take
 * them off its suspended list, and only then stops the daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "httpd.h"
#include "nines/clock.h"
#include "nines/log.h"

#define HTTPD_ROUTES_MAX 128
#define HTTPD_PATTERN_MAX 128
#define HTTPD_METHOD_MAX 16
#define HTTPD_EXTRA_MAX 16          /* response headers a handler may add */
#define HTTPD_EXTRA_LEN 1024        /* name + value */
#define HTTPD_DISCARD_MAX (1u << 20) /* chunked excess read and dropped before closing */
#define HTTPD_MSG_MAX 200           /* request text echoed in an error message */
#define HTTPD_LOG_PER_S 20          /* MHD log lines per second, the rest counted */

struct httpd_route {
    char method[HTTPD_METHOD_MAX];
    char pattern[HTTPD_PATTERN_MAX];
    size_t prefix_len;              /* wildcard routes: the pattern without its '*' */
    int wildcard;
    enum auth_role min_role;
    httpd_handler *fn;
    void *arg;
};

struct httpd_kv {
    const char *key;
    const char *value;
};

struct httpd_req {
    struct httpd *h;                /* NULL once MHD is done with the request */
    struct MHD_Connection *conn;    /* NULL once MHD is done with the request */
    struct httpd_req *sprev, *snext; /* h's suspended list, by deadline */
    int refs;
    unsigned dispatched : 1;
    unsigned in_handler : 1;
    unsigned suspended : 1;
    unsigned answered : 1;          /* a response exists (handler, 504 or 503) */
    unsigned handler_done : 1;      /* the handler has given its one answer */
    unsigned too_large : 1;
    int status;
    struct MHD_Response *response;  /* built, not yet queued */
    const struct httpd_route *route;
    char method[HTTPD_METHOD_MAX];
    char *path;
    const char *rest;
    char ip[INET6_ADDRSTRLEN];
    enum auth_role role;
    char token_name[AUTH_NAME_MAX];
    char *body;
    size_t body_len, body_cap, discarded;
    char *kv_store;                 /* one block: query and header arrays + strings */
    struct httpd_kv *query, *header;
    size_t n_query, n_header;
    char *extra[HTTPD_EXTRA_MAX];   /* "name\0value\0" */
    size_t n_extra;
    int64_t start_us;
    uint64_t deadline_ms;           /* uv_now() time, while suspended */
};

#define HTTPD_AUTHFAIL_SLOTS 256
#define HTTPD_AUTH_FAILS 10         /* failed authentications a minute per address */

struct httpd {
    uv_loop_t *loop;
    struct MHD_Daemon *d;
    uv_poll_t poll;                 /* MHD's epoll fd */
    uv_timer_t timer;               /* MHD's timeouts; the shutdown step once closing */
    uv_timer_t sweep;               /* handler deadlines */
    int open_handles;
    int closing;
    void (*closed)(void *);
    void *closed_arg;
    int port;
    char listen[80];
    unsigned connections;           /* open, counted by NOTIFY_CONNECTION */
    unsigned connection_limit;
    int rerun;                      /* run MHD again at once (a slot was freed) */
    uint64_t refused;               /* connections refused at the limit */
    uint64_t refused_logged_ms;
    const struct auth_table *auth;
    size_t max_body;
    unsigned handler_timeout_ms;
    struct httpd_req *susp_head, *susp_tail;
    char mhd_error[256];            /* MHD's last log message */
    uint64_t log_window_ms;         /* MHD log lines are capped per second */
    unsigned log_lines;
    unsigned log_dropped;
    size_t n_routes;
    struct httpd_route route[HTTPD_ROUTES_MAX];
    /* failed authentications per client address: past HTTPD_AUTH_FAILS in a
     * minute, that address gets 429 for a minute (a ring: oldest forgotten) */
    struct {
        char ip[48];
        int64_t window_ms;
        int64_t blocked_until_ms;
        int fails;
    } authfail[HTTPD_AUTHFAIL_SLOTS];
    size_t authfail_next;
};

static void httpd_on_timer(uv_timer_t *t);
static void httpd_on_sweep(uv_timer_t *t);

/* The failure record of ip (made when create), or -1. */
static long httpd_authfail_slot(struct httpd *h, const char *ip, int create)
{
    for (size_t i = 0; i < HTTPD_AUTHFAIL_SLOTS; i++)
        if (strcmp(h->authfail[i].ip, ip) == 0)
            return (long)i;
    if (!create)
        return -1;
    memset(&h->authfail[h->authfail_next], 0, sizeof(h->authfail[0]));
    snprintf(h->authfail[h->authfail_next].ip, sizeof(h->authfail[0].ip), "%s", ip);
    h->authfail_next = (h->authfail_next + 1) % HTTPD_AUTHFAIL_SLOTS;
    return (long)((h->authfail_next + HTTPD_AUTHFAIL_SLOTS - 1) % HTTPD_AUTHFAIL_SLOTS);
}

/* ---- small helpers ---- */

/* Request text made safe for messages and logs: printable ASCII, bounded. */
static const char *httpd_printable(const char *s, char *buf, size_t len)
{
    size_t o = 0;

    for (; s != NULL && *s != '\0' && o + 4 < len; s++)
        buf[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (s != NULL && *s != '\0' && o + 3 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static void httpd_req_unref(struct httpd_req *r)
{
    if (--r->refs > 0)
        return;
    if (r->response != NULL)
        MHD_destroy_response(r->response);
    for (size_t i = 0; i < r->n_extra; i++)
        free(r->extra[i]);
    free(r->kv_store);
    free(r->body);
    free(r->path);
    free(r);
}

static void httpd_susp_unlink(struct httpd *h, struct httpd_req *r)
{
    if (r->sprev != NULL)
        r->sprev->snext = r->snext;
    else
        h->susp_head = r->snext;
    if (r->snext != NULL)
        r->snext->sprev = r->sprev;
    else
        h->susp_tail = r->sprev;
    r->sprev = r->snext = NULL;
    r->suspended = 0;
}

static void httpd_arm_sweep(struct httpd *h)
{
    uint64_t now = uv_now(h->loop);

    if (h->closing)
        return;
    if (h->susp_head == NULL) {
        uv_timer_stop(&h->sweep);
        return;
    }
    uv_timer_start(&h->sweep, httpd_on_sweep,
                   h->susp_head->deadline_ms > now ? h->susp_head->deadline_ms - now : 0, 0);
}

/* Re-arms the MHD timer from MHD_get_timeout(), as MHD requires after every run. */
static void httpd_rearm(struct httpd *h)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;

    if (h->closing)
        return;
    if (MHD_get_timeout(h->d, &ms) != MHD_YES) {
        uv_timer_stop(&h->timer);
        return;
    }
    uv_timer_start(&h->timer, httpd_on_timer, ms > 3600000 ? 3600000 : (uint64_t)ms, 0);
}

static void httpd_run(struct httpd *h)
{
    if (h->closing || h->d == NULL)
        return;
    MHD_run(h->d);
    if (h->closing)
        return;     /* a handler closed the server: the shutdown step owns the timer */
    if (h->rerun) {
        /* MHD puts its listen socket back into epoll only at the start of a run,
         * so after a connection closed at a limit, run again now rather than at
         * the next timeout (seconds away). */
        h->rerun = 0;
        uv_timer_start(&h->timer, httpd_on_timer, 0, 0);
        return;
    }
    httpd_rearm(h);
}

/*
 * The connection limit is enforced here rather than by MHD: at its own limit MHD
 * stops accepting and leaves newcomers waiting in the backlog; we close them at
 * once so a client learns it was refused. MHD's own limit is one higher, so it is
 * never reached.
 */
static enum MHD_Result httpd_on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct httpd *h = cls;
    uint64_t now;

    (void)addr;
    (void)len;
    if (h->connections < h->connection_limit)
        return MHD_YES;
    h->refused++;
    now = uv_now(h->loop);
    if (h->refused_logged_ms == 0 || now - h->refused_logged_ms >= 1000) {
        log_warn("httpd_connection_limit", "listen=%s limit=%u refused_total=%llu", h->listen,
                 h->connection_limit, (unsigned long long)h->refused);
        h->refused_logged_ms = now;
    }
    return MHD_NO;
}

static void httpd_on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                                enum MHD_ConnectionNotificationCode code)
{
    struct httpd *h = cls;

    (void)conn;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        h->connections++;
    } else if (h->connections > 0) {
        h->connections--;
        h->rerun = 1;
    }
}

static void httpd_on_timer(uv_timer_t *t)
{
    httpd_run(t->data);
}

static void httpd_on_poll(uv_poll_t *p, int status, int events)
{
    struct httpd *h = p->data;

    (void)events;
    if (status < 0) {
        /* libuv stopped the handle; MHD will find the problem itself. */
        log_warn("httpd_poll_error", "listen=%s error=%s", h->listen, uv_strerror(status));
        if (!h->closing)
            uv_poll_start(&h->poll, UV_READABLE, httpd_on_poll);
    }
    httpd_run(h);
}

/*
 * MHD's own messages (bad requests, refused connections...) at warn, at most
 * HTTPD_LOG_PER_S a second so that a flood of bad clients cannot flood the log.
 */
static void httpd_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct httpd *h = cls;
    uint64_t now = uv_now(h->loop);
    char q[320];
    size_t n;

    vsnprintf(h->mhd_error, sizeof(h->mhd_error), fmt, ap);
    n = strlen(h->mhd_error);
    while (n > 0 && (h->mhd_error[n - 1] == '\n' || h->mhd_error[n - 1] == '\r'))
        h->mhd_error[--n] = '\0';
    if (now - h->log_window_ms >= 1000) {
        h->log_window_ms = now;
        h->log_lines = 0;
    }
    if (++h->log_lines > HTTPD_LOG_PER_S) {
        h->log_dropped++;
        return;
    }
    log_warn("httpd_mhd", "listen=%s msg=%s dropped=%u", h->listen,
             nines_log_quote(h->mhd_error, q, sizeof(q)), h->log_dropped);
    h->log_dropped = 0;
}

/* ---- responses ---- */

static struct MHD_Response *httpd_build(struct httpd_req *r, const char *type, void *body,
                                        size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    int ok;

    if (resp == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return NULL;
    }
    ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES &&
         MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES;
    for (size_t i = 0; ok && i < r->n_extra; i++) {
        const char *name = r->extra[i];

        ok = MHD_add_response_header(resp, name, name + strlen(name) + 1) == MHD_YES;
    }
    if (!ok) {
        MHD_destroy_response(resp);
        return NULL;
    }
    return resp;
}

static struct MHD_Response *httpd_build_json(struct httpd_req *r, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (text == NULL)
        return NULL;
    return httpd_build(r, "application/json", text, strlen(text), MHD_RESPMEM_MUST_FREE);
}

/* {"error":{"status":S,"message":M}}; msg must be printable ASCII. */
static struct MHD_Response *httpd_build_error(struct httpd_req *r, int status, const char *msg)
{
    return httpd_build_json(r, json_pack("{s:{s:i,s:s}}", "error", "status", status,
                                         "message", msg));
}

/*
 * Hands a response (or NULL, out of memory: the connection is then closed) to MHD:
 * directly when MHD is calling us, through a resume when the request is suspended.
 */
static void httpd_deliver(struct httpd_req *r, int status, struct MHD_Response *resp)
{
    struct httpd *h = r->h;

    if (resp != NULL && (status < 100 || status > 599)) {
        MHD_destroy_response(resp);
        status = 500;
        resp = httpd_build_error(r, 500, "Internal Server Error");
    }
    r->answered = 1;
    r->status = status;
    r->response = resp;
    if (!r->suspended)
        return;
    httpd_susp_unlink(h, r);
    MHD_resume_connection(r->conn);
    httpd_arm_sweep(h);
    if (!h->closing)    /* MHD wants a run after a resume in external mode */
        uv_timer_start(&h->timer, httpd_on_timer, 0, 0);
}

static enum MHD_Result httpd_queue(struct httpd_req *r)
{
    struct MHD_Response *resp = r->response;
    enum MHD_Result ok;

    if (resp == NULL)
        return MHD_NO;
    r->response = NULL;
    ok = MHD_queue_response(r->conn, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* An error the server itself answers, from inside the access handler. */
static enum MHD_Result httpd_fail(struct httpd_req *r, int status, const char *msg)
{
    httpd_deliver(r, status, httpd_build_error(r, status, msg));
    return httpd_queue(r);
}

/*
 * The handler's one answer: 1 if it should be built and delivered, 0 if it is to be
 * dropped (already answered by a timeout or shutdown, or nobody is listening), -1
 * for a second answer, a handler bug, which is ignored (it holds no reference).
 */
static int httpd_handler_answers(struct httpd_req *r)
{
    char p[HTTPD_MSG_MAX + 8], q[HTTPD_MSG_MAX + 16];

    if (r->handler_done) {
        log_error("httpd_double_answer", "method=%s path=%s", r->method,
                  nines_log_quote(httpd_printable(r->path, p, sizeof(p)), q, sizeof(q)));
        return -1;
    }
    r->handler_done = 1;
    return !r->answered && r->conn != NULL;
}

void httpd_respond_json(struct httpd_req *r, int status, json_t *body)
{
    int answer = httpd_handler_answers(r);

    if (answer <= 0) {
        json_decref(body);
        if (answer < 0)
            return;
    } else {
        struct MHD_Response *resp = httpd_build_json(r, body);

        if (resp == NULL) {
            status = 500;
            resp = httpd_build_error(r, 500, "Internal Server Error");
        }
        httpd_deliver(r, status, resp);
    }
    httpd_req_unref(r);
}

void httpd_respond_text(struct httpd_req *r, int status, const char *content_type,
                        const char *body, size_t len)
{
    int answer = httpd_handler_answers(r);

    if (content_type == NULL)
        content_type = "text/plain; charset=utf-8";
    if (answer > 0)
        httpd_deliver(r, status, httpd_build(r, content_type, (void *)body, len,
                                             MHD_RESPMEM_MUST_COPY));
    if (answer >= 0)
        httpd_req_unref(r);
}

void httpd_respond_error(struct httpd_req *r, int status, const char *fmt, ...)
{
    char msg[512], safe[HTTPD_MSG_MAX + 8], q[HTTPD_MSG_MAX + 16], qm[HTTPD_MSG_MAX + 16];
    char pm[HTTPD_MSG_MAX + 8];
    const char *reason;
    int answer;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status >= 500) {
        /* The detail is for the operator's log, never for the client. */
        reason = MHD_get_reason_phrase_for((unsigned int)status);
        log_warn("http_handler_error", "path=%s status=%d msg=%s",
                 nines_log_quote(httpd_printable(r->path, safe, sizeof(safe)), q, sizeof(q)),
                 status, nines_log_quote(httpd_printable(msg, pm, sizeof(pm)), qm, sizeof(qm)));
        snprintf(msg, sizeof(msg), "%s", reason[0] != '\0' ? reason : "Internal Server Error");
    }
    answer = httpd_handler_answers(r);
    if (answer > 0)
        httpd_deliver(r, status, httpd_build_error(r, status,
                                                   httpd_printable(msg, safe, sizeof(safe))));
    if (answer >= 0)
        httpd_req_unref(r);
}

int httpd_add_header(struct httpd_req *r, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);

    if (nl == 0 || nl + vl + 2 > HTTPD_EXTRA_LEN || strpbrk(name, ": \t\r\n") != NULL ||
        strpbrk(value, "\r\n") != NULL)
        return NINES_EINVAL;
    if (r->n_extra >= HTTPD_EXTRA_MAX)
        return NINES_EINVAL;
    r->extra[r->n_extra] = malloc(nl + vl + 2);
    if (r->extra[r->n_extra] == NULL)
        return NINES_ENOMEM;
    memcpy(r->extra[r->n_extra], name, nl + 1);
    memcpy(r->extra[r->n_extra] + nl + 1, value, vl + 1);
    r->n_extra++;
    return 0;
}

/* ---- request accessors ---- */

const char *httpd_method(const struct httpd_req *r)
{
    return r->method;
}

const char *httpd_path(const struct httpd_req *r)
{
    return r->path;
}

const char *httpd_rest(const struct httpd_req *r)
{
    return r->rest != NULL ? r->rest : "";
}

const char *httpd_query(const struct httpd_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_query; i++) {
        if (strcmp(r->query[i].key, name) == 0)
            return r->query[i].value;
    }
    return NULL;
}

const char *httpd_header(const struct httpd_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_header; i++) {
        if (strcasecmp(r->header[i].key, name) == 0)
            return r->header[i].value;
    }
    return NULL;
}

const char *httpd_body(const struct httpd_req *r, size_t *len)
{
    if (len != NULL)
        *len = r->body_len;
    return r->body != NULL ? r->body : "";
}

enum auth_role httpd_role(const struct httpd_req *r)
{
    return r->role;
}

const char *httpd_token_name(const struct httpd_req *r)
{
    return r->token_name;
}

const char *httpd_client_ip(const struct httpd_req *r)
{
    return r->ip;
}

int httpd_req_gone(const struct httpd_req *r)
{
    return r->conn == NULL || r->answered;
}

json_t *httpd_body_json(struct httpd_req *r, struct nines_err *err)
{
    json_error_t jerr;
    json_t *j;

    if (r->body_len == 0) {
        nines_err_set(err, NINES_EINVAL, "request body must be JSON");
        httpd_respond_error(r, 400, "request body must be JSON");
        return NULL;
    }
    j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        nines_err_set(err, NINES_EINVAL, "malformed JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
        httpd_respond_error(r, 400, "malformed JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    }
    return j;
}

/* ---- routing ---- */

int httpd_route(struct httpd *h, const char *method, const char *pattern,
                enum auth_role min_role, httpd_handler *fn, void *arg)
{
    struct httpd_route *rt;
    size_t pl;

    if (h->n_routes >= HTTPD_ROUTES_MAX || method == NULL || pattern == NULL || fn == NULL)
        return NINES_EINVAL;
    pl = strlen(pattern);
    if (pattern[0] != '/' || pl >= HTTPD_PATTERN_MAX || strlen(method) == 0 ||
        strlen(method) >= HTTPD_METHOD_MAX || min_role < HTTPD_PUBLIC ||
        min_role > AUTH_ROLE_ADMIN)
        return NINES_EINVAL;
    if (strchr(pattern, '*') != NULL && (pl < 2 || strcmp(pattern + pl - 2, "/*") != 0 ||
                                         strchr(pattern, '*') != pattern + pl - 1))
        return NINES_EINVAL;
    for (size_t i = 0; i < h->n_routes; i++) {
        if (strcmp(h->route[i].method, method) == 0 && strcmp(h->route[i].pattern, pattern) == 0)
            return NINES_EINVAL;
    }
    rt = &h->route[h->n_routes++];
    snprintf(rt->method, sizeof(rt->method), "%s", method);
    snprintf(rt->pattern, sizeof(rt->pattern), "%s", pattern);
    rt->wildcard = pattern[pl - 1] == '*';
    rt->prefix_len = rt->wildcard ? pl - 1 : pl;
    rt->min_role = min_role;
    rt->fn = fn;
    rt->arg = arg;
    return 0;
}

/* How well a route's pattern matches path: 0 not at all, higher is more specific. */
static size_t httpd_path_score(const struct httpd_route *rt, const char *path)
{
    if (!rt->wildcard)
        return strcmp(rt->pattern, path) == 0 ? HTTPD_PATTERN_MAX + 1 : 0;
    if (strncmp(rt->pattern, path, rt->prefix_len) != 0 || path[rt->prefix_len] == '\0')
        return 0;
    return rt->prefix_len;
}

static void httpd_allow_add(char *allow, size_t len, const char *method)
{
    size_t ml = strlen(method);

    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += ml) {
        if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
            return;     /* already listed */
    }
    if (strlen(allow) + ml + 3 < len)
        snprintf(allow + strlen(allow), len - strlen(allow), "%s%s", allow[0] ? ", " : "",
                 method);
}

/* The best route for method and path; if none, allow lists the path's methods. */
static const struct httpd_route *httpd_match(const struct httpd *h, const char *method,
                                             const char *path, char *allow, size_t allow_len)
{
    const struct httpd_route *best = NULL;
    size_t best_score = 0;
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    allow[0] = '\0';
    for (size_t i = 0; i < h->n_routes; i++) {
        const struct httpd_route *rt = &h->route[i];
        size_t score = httpd_path_score(rt, path);
        int same = strcmp(rt->method, method) == 0;

        if (score == 0)
            continue;
        httpd_allow_add(allow, allow_len, rt->method);
        if (strcmp(rt->method, MHD_HTTP_METHOD_GET) == 0)
            httpd_allow_add(allow, allow_len, MHD_HTTP_METHOD_HEAD);
        if (!same && !(head && strcmp(rt->method, MHD_HTTP_METHOD_GET) == 0))
            continue;
        score = score * 2 + (size_t)same;   /* HEAD's own route beats GET's */
        if (score > best_score) {
            best = rt;
            best_score = score;
        }
    }
    return best;
}

/* ---- the access handler ---- */

static void httpd_client_addr(struct httpd_req *r, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    snprintf(r->ip, sizeof(r->ip), "?");
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->ip,
                  sizeof(r->ip));
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  r->ip, sizeof(r->ip));
}

/* 0 if the caller may use the route, else the status to answer with msg. */
static int httpd_authorize(struct httpd *h, struct httpd_req *r, char *msg, size_t len)
{
    const char *hdr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_AUTHORIZATION);
    const struct auth_entry *e = NULL;
    int64_t now = nines_wall_ms();
    long slot = httpd_authfail_slot(h, r->ip, 0);
    int st = 401;

    if (hdr != NULL && slot >= 0 && h->authfail[slot].blocked_until_ms > now) {
        char after[24];

        snprintf(after, sizeof(after), "%lld",
                 (long long)((h->authfail[slot].blocked_until_ms - now + 999) / 1000));
        httpd_add_header(r, "Retry-After", after);
        snprintf(msg, len, "too many failed authentications from this address: retry in %s s",
                 after);
        return 429;
    }
    if (hdr != NULL || r->route->min_role > HTTPD_PUBLIC)
        e = auth_lookup(h->auth, hdr, &st);
    if (hdr != NULL && e == NULL && (slot = httpd_authfail_slot(h, r->ip, 1)) >= 0) {
        if (now - h->authfail[slot].window_ms >= 60000) {
            h->authfail[slot].window_ms = now;
            h->authfail[slot].fails = 0;
        }
        if (++h->authfail[slot].fails >= HTTPD_AUTH_FAILS) {
            h->authfail[slot].blocked_until_ms = now + 60000;
            h->authfail[slot].fails = 0;
            log_warn("api_auth_rate_limited", "client=%s note=\"%d failed authentications in "
                     "a minute: refused for 60 s\"", r->ip, HTTPD_AUTH_FAILS);
        }
    }
    if (e != NULL) {
        r->role = e->role;
        snprintf(r->token_name, sizeof(r->token_name), "%s", e->name);
    }
    if (r->route->min_role == HTTPD_PUBLIC)
        return 0;
    if (e == NULL) {
        httpd_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                         hdr == NULL ? "Bearer" : "Bearer error=\"invalid_token\"");
        snprintf(msg, len, "%s", hdr == NULL ? "missing bearer token" : "invalid bearer token");
        return 401;
    }
    if (e->role < r->route->min_role) {
        snprintf(msg, len, "role %s may not do this (needs %s)", auth_role_name(e->role),
                 auth_role_name(r->route->min_role));
        return 403;
    }
    return 0;
}

/* Content-Length over the limit: answer 413 before reading the body at all. */
static int httpd_body_too_large(const struct httpd *h, struct httpd_req *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long n;
    char *end;

    if (cl == NULL)
        return 0;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno == ERANGE || n > h->max_body;
}

static enum MHD_Result httpd_on_first_call(struct httpd *h, struct MHD_Connection *conn,
                                           const char *url, const char *method, void **con_cls)
{
    struct httpd_req *r = calloc(1, sizeof(*r));
    char allow[128], msg[HTTPD_MSG_MAX + 64], p[HTTPD_MSG_MAX + 8], m[24];
    int st;

    if (r == NULL)
        return MHD_NO;
    r->refs = 1;
    r->h = h;
    r->conn = conn;
    r->start_us = nines_mono_us();
    *con_cls = r;
    httpd_printable(method, r->method, sizeof(r->method));
    httpd_client_addr(r, conn);
    r->path = strdup(url);
    if (r->path == NULL)
        return MHD_NO;
    r->route = httpd_match(h, method, url, allow, sizeof(allow));
    if (r->route == NULL && allow[0] != '\0') {
        httpd_add_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        snprintf(msg, sizeof(msg), "method %s not allowed for %s", httpd_printable(method, m,
                 sizeof(m)), httpd_printable(url, p, sizeof(p)));
        return httpd_fail(r, 405, msg);
    }
    if (r->route == NULL) {
        snprintf(msg, sizeof(msg), "no route for %s %s", httpd_printable(method, m, sizeof(m)),
                 httpd_printable(url, p, sizeof(p)));
        return httpd_fail(r, 404, msg);
    }
    r->rest = r->route->wildcard ? r->path + r->route->prefix_len : "";
    st = httpd_authorize(h, r, msg, sizeof(msg));
    if (st != 0)
        return httpd_fail(r, st, msg);
    if (httpd_body_too_large(h, r)) {
        snprintf(msg, sizeof(msg), "request body larger than %zu bytes", h->max_body);
        return httpd_fail(r, 413, msg);
    }
    return MHD_YES;
}

static enum MHD_Result httpd_on_body(struct httpd_req *r, const char *data, size_t *size)
{
    size_t n = *size, max = r->h->max_body;

    *size = 0;
    if (!r->too_large && r->body_len + n > max) {
        /* Chunked body over the limit: drop what we have, discard the rest. */
        free(r->body);
        r->body = NULL;
        r->body_len = r->body_cap = 0;
        r->too_large = 1;
    }
    if (r->too_large) {
        r->discarded += n;
        return r->discarded > HTTPD_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        char *nb;

        while (cap < r->body_len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        nb = realloc(r->body, cap);
        if (nb == NULL)
            return MHD_NO;
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return MHD_YES;
}

/* Copies the query arguments and headers out of MHD's connection pool. */
struct httpd_kv_copy {
    size_t count[2];
    size_t bytes;
    struct httpd_kv *kv[2];
    char *strings;
};

static enum MHD_Result httpd_kv_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct httpd_kv_copy *c = cls;
    int k = kind == MHD_GET_ARGUMENT_KIND ? 0 : 1;
    size_t kl = strlen(key), vl = value != NULL ? strlen(value) : 0;

    if (c->kv[k] != NULL) {
        struct httpd_kv *e = &c->kv[k][c->count[k]];

        memcpy(c->strings, key, kl + 1);
        e->key = c->strings;
        c->strings += kl + 1;
        memcpy(c->strings, value != NULL ? value : "", vl + 1);
        e->value = c->strings;
        c->strings += vl + 1;
    }
    c->count[k]++;
    c->bytes += kl + vl + 2;
    return MHD_YES;
}

static int httpd_copy_values(struct httpd_req *r)
{
    const enum MHD_ValueKind kinds = MHD_GET_ARGUMENT_KIND | MHD_HEADER_KIND;
    struct httpd_kv_copy c;
    size_t total;

    memset(&c, 0, sizeof(c));
    MHD_get_connection_values(r->conn, kinds, httpd_kv_visit, &c);
    total = (c.count[0] + c.count[1]) * sizeof(struct httpd_kv) + c.bytes + 1;
    r->kv_store = malloc(total);
    if (r->kv_store == NULL)
        return NINES_ENOMEM;
    r->query = (struct httpd_kv *)(void *)r->kv_store;
    r->header = r->query + c.count[0];
    c.kv[0] = r->query;
    c.kv[1] = r->header;
    c.strings = (char *)(r->header + c.count[1]);
    c.count[0] = c.count[1] = 0;
    MHD_get_connection_values(r->conn, kinds, httpd_kv_visit, &c);
    r->n_query = c.count[0];
    r->n_header = c.count[1];
    return 0;
}

static enum MHD_Result httpd_dispatch(struct httpd *h, struct httpd_req *r)
{
    char msg[64];

    if (r->too_large) {
        snprintf(msg, sizeof(msg), "request body larger than %zu bytes", h->max_body);
        return httpd_fail(r, 413, msg);
    }
    if (httpd_copy_values(r) < 0)
        return httpd_fail(r, 500, "Internal Server Error");
    r->dispatched = 1;
    r->refs++;                          /* the handler's, until it answers */
    r->in_handler = 1;
    r->route->fn(r, r->route->arg);
    r->in_handler = 0;
    if (r->answered)
        return httpd_queue(r);
    MHD_suspend_connection(r->conn);
    r->suspended = 1;
    r->deadline_ms = uv_now(h->loop) + h->handler_timeout_ms;
    r->sprev = h->susp_tail;
    if (h->susp_tail != NULL)
        h->susp_tail->snext = r;
    else
        h->susp_head = r;
    h->susp_tail = r;
    httpd_arm_sweep(h);
    return MHD_YES;
}

static enum MHD_Result httpd_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls)
{
    struct httpd *h = cls;
    struct httpd_req *r = *con_cls;

    (void)version;
    if (r == NULL)
        return httpd_on_first_call(h, conn, url, method, con_cls);
    if (r->answered)
        return httpd_queue(r);          /* resumed with its answer */
    if (*upload_data_size > 0)
        return httpd_on_body(r, upload_data, upload_data_size);
    if (r->dispatched)
        return MHD_NO;                  /* resumed without one: cannot happen */
    return httpd_dispatch(h, r);
}

static void httpd_log_request(const struct httpd_req *r, enum MHD_RequestTerminationCode toe)
{
    static const char *const ends[] = { "ok", "error", "timeout", "shutdown", "read_error",
                                        "client_abort" };
    char p[HTTPD_MSG_MAX + 8], q[HTTPD_MSG_MAX + 16];
    const char *end = (unsigned)toe < sizeof(ends) / sizeof(ends[0]) ? ends[toe] : "other";
    int64_t us = nines_mono_us() - r->start_us;

    nines_log(r->status >= 500 ? NINES_LOG_WARN : NINES_LOG_DEBUG, "http_request",
              "method=%s path=%s status=%d ms=%lld.%03lld ip=%s role=%s end=%s", r->method,
              nines_log_quote(httpd_printable(r->path, p, sizeof(p)), q, sizeof(q)), r->status,
              (long long)(us / 1000), (long long)(us % 1000), r->ip, auth_role_name(r->role),
              end);
}

static void httpd_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                               enum MHD_RequestTerminationCode toe)
{
    struct httpd *h = cls;
    struct httpd_req *r = *con_cls;

    (void)conn;
    if (r == NULL)
        return;
    *con_cls = NULL;
    httpd_log_request(r, toe);
    if (r->suspended)
        httpd_susp_unlink(h, r);
    if (r->response != NULL) {
        MHD_destroy_response(r->response);
        r->response = NULL;
    }
    r->conn = NULL;
    r->h = NULL;
    httpd_req_unref(r);
}

/* Handlers whose deadline passed get 504; their own answer will be dropped. */
static void httpd_on_sweep(uv_timer_t *t)
{
    struct httpd *h = t->data;
    uint64_t now = uv_now(h->loop);
    struct httpd_req *r;

    while ((r = h->susp_head) != NULL && r->deadline_ms <= now) {
        log_warn("http_handler_timeout", "method=%s route=%s timeout_ms=%u", r->method,
                 r->route->pattern, h->handler_timeout_ms);
        httpd_deliver(r, 504, httpd_build_error(r, 504, "the request took too long"));
    }
    httpd_arm_sweep(h);
}

static void httpd_on_healthz(struct httpd_req *r, void *arg)
{
    (void)arg;
    httpd_respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* ---- lifecycle ---- */

static int httpd_parse_listen(const char *s, struct sockaddr_storage *ss, int *v6)
{
    char host[64];
    const char *colon;
    size_t hl;
    char *end;
    unsigned long port;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return NINES_EINVAL;
        hl = (size_t)(close - s - 1);
        colon = close + 1;
        s++;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return NINES_EINVAL;    /* IPv6 needs brackets */
        hl = (size_t)(colon - s);
    }
    if (hl >= sizeof(host) || colon[1] < '0' || colon[1] > '9' || strlen(colon + 1) > 5)
        return NINES_EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535)
        return NINES_EINVAL;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    else if (hl == 0 || strcmp(host, "*") == 0)
        snprintf(host, sizeof(host), "0.0.0.0");
    *v6 = strchr(host, ':') != NULL;
    if (*v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : NINES_EINVAL;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)(void *)ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : NINES_EINVAL;
    }
}

static void httpd_set_defaults(struct httpd_opts *o)
{
    if (o->listen == NULL)
        o->listen = "127.0.0.1:8080";
    if (o->connection_timeout_s == 0)
        o->connection_timeout_s = 10;
    if (o->connection_limit == 0)
        o->connection_limit = 256;
    if (o->connection_limit > 65536)
        o->connection_limit = 65536;
    if (o->per_ip_limit == 0)
        o->per_ip_limit = 32;
    if (o->connection_memory == 0)
        o->connection_memory = 32 * 1024;
    if (o->max_body == 0)
        o->max_body = 64 * 1024;
    if (o->handler_timeout_ms == 0)
        o->handler_timeout_ms = 30000;
}

static struct MHD_Daemon *httpd_start_mhd(struct httpd *h, const struct httpd_opts *o,
                                          struct sockaddr_storage *ss, int v6)
{
    unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

    if (v6)
        flags |= MHD_USE_IPv6;
    if (o->tls_cert_pem != NULL && o->tls_key_pem != NULL)
        return MHD_start_daemon(
            flags | MHD_USE_TLS, 0, httpd_on_accept, h, httpd_on_access, h,
            MHD_OPTION_EXTERNAL_LOGGER, (MHD_LogCallback)httpd_on_mhd_log, h,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->connection_timeout_s,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)o->connection_limit + 1,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)o->per_ip_limit,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)o->connection_memory,
            MHD_OPTION_NOTIFY_COMPLETED, (MHD_RequestCompletedCallback)httpd_on_completed, h,
            MHD_OPTION_NOTIFY_CONNECTION, (MHD_NotifyConnectionCallback)httpd_on_connection, h,
            MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1,
            MHD_OPTION_HTTPS_MEM_CERT, o->tls_cert_pem,
            MHD_OPTION_HTTPS_MEM_KEY, o->tls_key_pem,
            MHD_OPTION_END);
    return MHD_start_daemon(
        flags, 0, httpd_on_accept, h, httpd_on_access, h,
        MHD_OPTION_EXTERNAL_LOGGER, (MHD_LogCallback)httpd_on_mhd_log, h,  /* must be first */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->connection_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)o->connection_limit + 1,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)o->per_ip_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)o->connection_memory,
        MHD_OPTION_NOTIFY_COMPLETED, (MHD_RequestCompletedCallback)httpd_on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, (MHD_NotifyConnectionCallback)httpd_on_connection, h,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1,
        MHD_OPTION_END);
}

struct httpd *httpd_new(uv_loop_t *loop, const struct httpd_opts *opts, struct nines_err *err)
{
    struct httpd_opts o = *opts;
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    struct httpd *h;
    int v6 = 0, rc;

    httpd_set_defaults(&o);
    if (httpd_parse_listen(o.listen, &ss, &v6) < 0) {
        nines_err_set(err, NINES_EINVAL, "listen address '%s': want IP:PORT or [IPv6]:PORT",
                      o.listen);
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        nines_err_set(err, NINES_ENOMEM, "out of memory");
        return NULL;
    }
    h->loop = loop;
    h->auth = o.auth;
    h->max_body = o.max_body;
    h->connection_limit = o.connection_limit;
    h->handler_timeout_ms = o.handler_timeout_ms;
    snprintf(h->listen, sizeof(h->listen), "%s", o.listen);
    h->d = httpd_start_mhd(h, &o, &ss, v6);
    if (h->d == NULL) {
        nines_err_set(err, NINES_EIO, "cannot listen on %s: %s", o.listen,
                      h->mhd_error[0] ? h->mhd_error : "libmicrohttpd failed to start");
        free(h);
        return NULL;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : 0;
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    rc = info != NULL ? uv_poll_init(loop, &h->poll, info->epoll_fd) : UV_EINVAL;
    if (rc < 0) {
        nines_err_set(err, NINES_EIO, "cannot poll libmicrohttpd: %s", uv_strerror(rc));
        MHD_stop_daemon(h->d);
        free(h);
        return NULL;
    }
    uv_timer_init(loop, &h->timer);
    uv_timer_init(loop, &h->sweep);
    h->poll.data = h->timer.data = h->sweep.data = h;
    h->open_handles = 3;
    uv_poll_start(&h->poll, UV_READABLE, httpd_on_poll);
    httpd_route(h, MHD_HTTP_METHOD_GET, "/healthz", HTTPD_PUBLIC, httpd_on_healthz, NULL);
    httpd_rearm(h);
    log_info("httpd_listen", "listen=%s port=%d", h->listen, h->port);
    return h;
}

int httpd_port(const struct httpd *h)
{
    return h->port;
}

void httpd_set_auth(struct httpd *h, const struct auth_table *auth)
{
    h->auth = auth;
}

static void httpd_on_handle_closed(uv_handle_t *handle)
{
    struct httpd *h = handle->data;

    if (--h->open_handles > 0)
        return;
    if (h->closed != NULL)
        h->closed(h->closed_arg);
    free(h);
}

/* The deferred half of httpd_close, outside any MHD callback. */
static void httpd_on_shutdown(uv_timer_t *t)
{
    struct httpd *h = t->data;

    while (h->susp_head != NULL)
        httpd_deliver(h->susp_head, 503,
                      httpd_build_error(h->susp_head, 503, "the server is shutting down"));
    /* The resumes take effect in MHD_run; MHD must not stop with any suspended. */
    MHD_run(h->d);
    MHD_stop_daemon(h->d);      /* completes every request it still has */
    h->d = NULL;
    uv_close((uv_handle_t *)&h->poll, httpd_on_handle_closed);
    uv_close((uv_handle_t *)&h->timer, httpd_on_handle_closed);
    uv_close((uv_handle_t *)&h->sweep, httpd_on_handle_closed);
}

void httpd_close(struct httpd *h, void (*closed)(void *), void *arg)
{
    if (h == NULL || h->closing)
        return;
    log_info("httpd_close", "listen=%s", h->listen);
    h->closed = closed;
    h->closed_arg = arg;
    /* Stop polling before MHD closes its epoll fd; finish on the next loop turn,
     * since this may run inside a handler, where MHD_stop_daemon is not allowed. */
    uv_poll_stop(&h->poll);
    uv_timer_stop(&h->sweep);
    uv_timer_start(&h->timer, httpd_on_shutdown, 0, 0);
    h->closing = 1;
}
