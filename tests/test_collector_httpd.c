/*
 * The collector's HTTP server and its tokens. The server runs for real on
 * 127.0.0.1 port 0, on a libuv loop in a second thread (every MHD call happens
 * there); the test thread is the client, with plain sockets.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth.h"
#include "httpd.h"
#include "nines/err.h"
#include "testutil.h"

#define VIEWER_TOKEN "viewer-token-1"
#define OPERATOR_TOKEN "operator.token_2~"
#define ADMIN_TOKEN "YWRtaW4tdG9rZW4tMw=="
#define MAX_BODY 4096

/* ---- the server side: runs in the loop thread ---- */

struct server {
    uv_loop_t loop;
    uv_async_t stop;
    struct httpd *h;
    struct auth_table auth;
    pthread_t thread;
    int port;
    atomic_int closed;          /* httpd_close's callback ran */
    atomic_int suspended;       /* slow requests seen by their handler */
    atomic_int answered;        /* slow requests answered by their handler */
    atomic_int saw_gone;        /* ... of which httpd_req_gone() said 1 */
    int slow_ms;                /* how long the slow handler takes */
};

struct later {
    uv_timer_t timer;
    struct httpd_req *req;
    struct server *s;
    int slow;
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_fire(uv_timer_t *t)
{
    struct later *l = t->data;

    if (l->slow) {
        if (httpd_req_gone(l->req))
            atomic_fetch_add(&l->s->saw_gone, 1);
        httpd_respond_json(l->req, 200, json_pack("{s:s}", "late", "yes"));
        atomic_fetch_add(&l->s->answered, 1);
    } else {
        httpd_respond_json(l->req, 200, json_pack("{s:s}", "answer", "later"));
    }
    l->timer.data = l;
    uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void answer_after(struct server *s, struct httpd_req *r, int ms, int slow)
{
    struct later *l = calloc(1, sizeof(*l));

    cr_assert_not_null(l);
    l->req = r;
    l->s = s;
    l->slow = slow;
    uv_timer_init(&s->loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, later_fire, (uint64_t)ms, 0);
}

static void on_later(struct httpd_req *r, void *arg)
{
    answer_after(arg, r, 50, 0);
}

static void on_slow(struct httpd_req *r, void *arg)
{
    struct server *s = arg;

    atomic_fetch_add(&s->suspended, 1);
    answer_after(s, r, s->slow_ms, 1);
}

static void on_whoami(struct httpd_req *r, void *arg)
{
    (void)arg;
    httpd_respond_json(r, 200, json_pack("{s:s,s:s,s:s}", "role", auth_role_name(httpd_role(r)),
                                         "token", httpd_token_name(r), "method",
                                         httpd_method(r)));
}

static void on_json(struct httpd_req *r, void *arg)
{
    json_t *body = httpd_body_json(r, NULL);

    (void)arg;
    if (body == NULL)
        return;     /* answered 400 already */
    httpd_respond_json(r, 200, json_pack("{s:o}", "got", body));
}

static void on_echo(struct httpd_req *r, void *arg)
{
    const char *from = httpd_query(r, "from");
    size_t len;

    (void)arg;
    httpd_body(r, &len);
    httpd_add_header(r, "X-Nines-Test", "echo");
    httpd_respond_json(r, 200, json_pack("{s:s,s:s,s:s?,s:s?,s:I,s:s}", "path", httpd_path(r),
                                         "rest", httpd_rest(r), "from", from, "agent",
                                         httpd_header(r, "user-agent"), "body_len",
                                         (json_int_t)len, "ip", httpd_client_ip(r)));
}

static void on_fail(struct httpd_req *r, void *arg)
{
    (void)arg;
    httpd_respond_error(r, 500, "redis said: secret at 10.0.0.5:6379");
}

/* Handler bugs: a second answer is ignored, a status that is no status becomes 500. */
static void on_twice(struct httpd_req *r, void *arg)
{
    (void)arg;
    httpd_respond_json(r, 201, json_pack("{s:i}", "answer", 1));
    httpd_respond_json(r, 202, json_pack("{s:i}", "answer", 2));
}

static void on_bad_status(struct httpd_req *r, void *arg)
{
    (void)arg;
    httpd_respond_json(r, 42, json_object());
}

static void on_text(struct httpd_req *r, void *arg)
{
    (void)arg;
    httpd_respond_text(r, 200, "text/plain; version=0.0.4", "nines_up 1\n", 11);
}

static void server_closed(void *arg);

/* Closes the whole server from inside a handler, after answering. */
static void on_quit(struct httpd_req *r, void *arg)
{
    struct server *s = arg;

    httpd_respond_json(r, 200, json_pack("{s:s}", "bye", "now"));
    httpd_close(s->h, server_closed, s);
    uv_close((uv_handle_t *)&s->stop, NULL);
}

static void server_closed(void *arg)
{
    struct server *s = arg;

    atomic_store(&s->closed, 1);
}

static void server_on_stop(uv_async_t *a)
{
    struct server *s = a->data;

    httpd_close(s->h, server_closed, s);
    uv_close((uv_handle_t *)&s->stop, NULL);
}

static void *server_thread(void *arg)
{
    struct server *s = arg;

    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void add_token(struct server *s, const char *name, const char *token, enum auth_role role)
{
    char hash[AUTH_HASH_TEXT_SIZE];

    cr_assert(eq(int, auth_hash_token(token, hash), 0));
    cr_assert(eq(int, auth_table_add(&s->auth, name, hash, role, NULL), 0));
}

static void server_start(struct server *s, struct httpd_opts *o, int slow_ms)
{
    struct nines_err err;

    signal(SIGPIPE, SIG_IGN);
    memset(s, 0, sizeof(*s));
    s->slow_ms = slow_ms;
    auth_table_init(&s->auth);
    add_token(s, "ann", VIEWER_TOKEN, AUTH_ROLE_VIEWER);
    add_token(s, "bob", OPERATOR_TOKEN, AUTH_ROLE_OPERATOR);
    add_token(s, "cy", ADMIN_TOKEN, AUTH_ROLE_ADMIN);
    cr_assert(eq(int, uv_loop_init(&s->loop), 0));
    if (o->listen == NULL)
        o->listen = "127.0.0.1:0";
    o->auth = &s->auth;
    if (o->max_body == 0)
        o->max_body = MAX_BODY;
    s->h = httpd_new(&s->loop, o, &err);
    cr_assert_not_null(s->h, "httpd_new: %s", err.msg);
    s->port = httpd_port(s->h);
    cr_assert(gt(int, s->port, 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/api/v1/view", AUTH_ROLE_VIEWER, on_whoami, s),
                 0));
    cr_assert(eq(int, httpd_route(s->h, "POST", "/api/v1/operate", AUTH_ROLE_OPERATOR,
                                  on_whoami, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "DELETE", "/api/v1/admin", AUTH_ROLE_ADMIN, on_whoami,
                                  s), 0));
    cr_assert(eq(int, httpd_route(s->h, "POST", "/api/v1/json", AUTH_ROLE_VIEWER, on_json, s),
                 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/api/v1/checks/*", AUTH_ROLE_VIEWER, on_echo,
                                  s), 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/api/v1/checks/web/special", AUTH_ROLE_VIEWER,
                                  on_whoami, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "POST", "/api/v1/push/*", HTTPD_PUBLIC, on_echo, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/api/v1/later", AUTH_ROLE_VIEWER, on_later, s),
                 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/slow", HTTPD_PUBLIC, on_slow, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/api/v1/fail", AUTH_ROLE_VIEWER, on_fail, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/metrics", HTTPD_PUBLIC, on_text, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "POST", "/quit", AUTH_ROLE_ADMIN, on_quit, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/twice", HTTPD_PUBLIC, on_twice, s), 0));
    cr_assert(eq(int, httpd_route(s->h, "GET", "/bad-status", HTTPD_PUBLIC, on_bad_status, s),
                 0));
    cr_assert(eq(int, uv_async_init(&s->loop, &s->stop, server_on_stop), 0));
    s->stop.data = s;
    cr_assert(eq(int, pthread_create(&s->thread, NULL, server_thread, s), 0));
}

/* Closes the server from its own loop and checks the loop ends with nothing open. */
static void server_stop(struct server *s)
{
    uv_async_send(&s->stop);
    pthread_join(s->thread, NULL);
    cr_assert(eq(int, atomic_load(&s->closed), 1));
    cr_assert(eq(int, uv_loop_close(&s->loop), 0), "handles left open on the loop");
}

static void default_start(struct server *s)
{
    struct httpd_opts o;

    memset(&o, 0, sizeof(o));
    server_start(s, &o, 150);
}

/* ---- the client side: plain sockets ---- */

struct resp {
    int status;
    char head[4096];
    char *body;         /* points into raw */
    size_t body_len;
    char raw[65536];
};

static int client_connect_from(int port, const char *src_ip)
{
    struct sockaddr_in a;
    struct timeval tv = { 5, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert(ge(int, fd, 0));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    if (src_ip != NULL) {
        inet_pton(AF_INET, src_ip, &a.sin_addr);
        cr_assert(eq(int, bind(fd, (struct sockaddr *)&a, sizeof(a)), 0), "bind %s", src_ip);
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert(eq(int, connect(fd, (struct sockaddr *)&a, sizeof(a)), 0), "connect: %s",
              strerror(errno));
    return fd;
}

static int client_connect(int port)
{
    return client_connect_from(port, NULL);
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        cr_assert(gt(long, (long)n, 0L), "send: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
}

/* Reads until the server closes; returns bytes read, or -1 on a receive timeout. */
static long read_to_eof(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    for (;;) {
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);

        if (n == 0 || (n < 0 && errno == ECONNRESET))
            break;
        if (n < 0)
            return -1;
        got += (size_t)n;
        cr_assert(lt(sz, got, cap - 1), "response too large");
    }
    buf[got] = '\0';
    return (long)got;
}

static void parse_resp(struct resp *r, size_t len)
{
    char *end = strstr(r->raw, "\r\n\r\n");

    cr_assert_not_null(end, "no end of headers in '%.200s'", r->raw);
    cr_assert(eq(int, sscanf(r->raw, "HTTP/1.1 %d", &r->status), 1), "status line '%.40s'",
              r->raw);
    snprintf(r->head, sizeof(r->head), "%.*s", (int)(end - r->raw + 2), r->raw);
    r->body = end + 4;
    r->body_len = len - (size_t)(r->body - r->raw);
}

/* Sends raw request bytes on a new connection and reads the whole response. */
static void exchange_raw(int port, const char *raw, size_t len, struct resp *r)
{
    int fd = client_connect(port);
    long n;

    send_all(fd, raw, len);
    n = read_to_eof(fd, r->raw, sizeof(r->raw));
    close(fd);
    cr_assert(ge(long, n, 0L), "no response (timeout)");
    parse_resp(r, (size_t)n);
}

static void exchange(int port, const char *method, const char *path, const char *auth,
                     const char *body, struct resp *r)
{
    static char req[MAX_BODY * 4];
    int n;

    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: nines-test\r\n"
                 "Connection: close\r\n%s%s%sContent-Length: %zu\r\n\r\n%s",
                 method, path, auth ? "Authorization: " : "", auth ? auth : "",
                 auth ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
    cr_assert(lt(int, n, (int)sizeof(req)));
    exchange_raw(port, req, (size_t)n, r);
}

/* The value of a response header, or NULL. */
static const char *resp_header(const struct resp *r, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);

    for (const char *p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            const char *e = strstr(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)(e - v), v);
            return buf;
        }
    }
    return NULL;
}

static json_t *resp_json(const struct resp *r)
{
    json_error_t jerr;
    char ct[128];
    json_t *j;

    cr_assert_not_null(resp_header(r, "Content-Type", ct, sizeof(ct)));
    cr_assert(eq(str, ct, "application/json"));
    j = json_loadb(r->body, r->body_len, 0, &jerr);
    cr_assert_not_null(j, "body is not JSON (%s): '%.200s'", jerr.text, r->body);
    return j;
}

/* Asserts r is the JSON error {"error":{"status":status,"message":...}}. */
static void assert_error(const struct resp *r, int status, const char *msg_part)
{
    json_t *j = resp_json(r);
    json_t *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));

    cr_assert(eq(int, r->status, status), "status %d, want %d: %s", r->status, status, r->body);
    cr_assert(eq(int, (int)json_integer_value(json_object_get(e, "status")), status));
    cr_assert_not_null(msg);
    if (msg_part != NULL)
        cr_assert_not_null(strstr(msg, msg_part), "message '%s' lacks '%s'", msg, msg_part);
    json_decref(j);
}

static const char *json_str(json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));

    cr_assert_not_null(v, "no string '%s'", key);
    return v;
}

/* 1 when the server closed fd (EOF or reset) within the socket's receive timeout. */
static int closed_by_server(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);

    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static int atomic_is_positive(void *arg)
{
    return atomic_load((atomic_int *)arg) > 0;
}

/* ---- auth, without a server ---- */

Test(auth, parse_hash_accepts_only_sha256_and_64_hex)
{
    static const char *const bad[] = {
        "",
        "sha256:",
        "sha1:0123456789abcdef0123456789abcdef01234567",
        "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
        "sha256: a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    };
    uint8_t out[32];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect(eq(int, auth_parse_hash(bad[i], out), NINES_EINVAL), "accepted '%s'", bad[i]);
    cr_expect(eq(int, auth_parse_hash(NULL, out), NINES_EINVAL));
    cr_assert(eq(int, auth_parse_hash("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9C"
                                      "B410FF61F20015AD", out), 0));
    cr_assert(eq(int, out[0], 0xba));
    cr_assert(eq(int, out[31], 0xad));
}

Test(auth, hash_token_is_sha256_hex)
{
    char hash[AUTH_HASH_TEXT_SIZE];

    /* The FIPS 180-2 test vector for "abc". */
    cr_assert(eq(int, auth_hash_token("abc", hash), 0));
    cr_assert(eq(str, hash,
                 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    cr_expect(eq(int, auth_hash_token("", hash), NINES_EINVAL));
    cr_expect(eq(int, auth_hash_token("has space", hash), NINES_EINVAL));
    cr_expect(eq(int, auth_hash_token("new\nline", hash), NINES_EINVAL));
    cr_expect(eq(int, auth_hash_token("=abc", hash), NINES_EINVAL));
    cr_expect(eq(int, auth_hash_token("ab=c", hash), NINES_EINVAL));
    cr_expect(eq(int, auth_hash_token(NULL, hash), NINES_EINVAL));
}

Test(auth, check_maps_headers_to_roles_and_status)
{
    static const struct {
        const char *header;
        enum auth_role role;
        int status;
    } cases[] = {
        { "Bearer " VIEWER_TOKEN, AUTH_ROLE_VIEWER, 200 },
        { "Bearer " OPERATOR_TOKEN, AUTH_ROLE_OPERATOR, 200 },
        { "Bearer " ADMIN_TOKEN, AUTH_ROLE_ADMIN, 200 },
        { "bearer " VIEWER_TOKEN, AUTH_ROLE_VIEWER, 200 },
        { "BEARER   " VIEWER_TOKEN "  ", AUTH_ROLE_VIEWER, 200 },
        { NULL, AUTH_ROLE_NONE, 401 },
        { "", AUTH_ROLE_NONE, 401 },
        { "Bearer", AUTH_ROLE_NONE, 401 },
        { "Bearer ", AUTH_ROLE_NONE, 401 },
        { "Bearer" VIEWER_TOKEN, AUTH_ROLE_NONE, 401 },
        { "Basic dmlld2VyOnRva2Vu", AUTH_ROLE_NONE, 401 },
        { "Bearer " VIEWER_TOKEN "x", AUTH_ROLE_NONE, 401 },
        { "Bearer viewer-token-", AUTH_ROLE_NONE, 401 },
        { "Bearer " VIEWER_TOKEN " extra", AUTH_ROLE_NONE, 401 },
        { "Bearer " VIEWER_TOKEN ",", AUTH_ROLE_NONE, 401 },
        { "Bearer sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
          AUTH_ROLE_NONE, 401 },
    };
    struct server s;    /* only its token table */
    char longtok[AUTH_TOKEN_MAX + 16];
    int st;

    auth_table_init(&s.auth);
    add_token(&s, "ann", VIEWER_TOKEN, AUTH_ROLE_VIEWER);
    add_token(&s, "bob", OPERATOR_TOKEN, AUTH_ROLE_OPERATOR);
    add_token(&s, "cy", ADMIN_TOKEN, AUTH_ROLE_ADMIN);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st = -1;
        cr_expect(eq(int, auth_check(&s.auth, cases[i].header, &st), cases[i].role), "'%s'",
                  cases[i].header ? cases[i].header : "(none)");
        cr_expect(eq(int, st, cases[i].status), "'%s'",
                  cases[i].header ? cases[i].header : "(none)");
    }
    cr_assert(eq(str, (char *)auth_lookup(&s.auth, "Bearer " OPERATOR_TOKEN, &st)->name, "bob"));
    /* A token over the length limit is refused without hashing it. */
    memcpy(longtok, "Bearer ", 7);
    memset(longtok + 7, 'a', AUTH_TOKEN_MAX + 1);
    longtok[7 + AUTH_TOKEN_MAX + 1] = '\0';
    cr_expect(eq(int, auth_check(&s.auth, longtok, &st), AUTH_ROLE_NONE));
    cr_expect(eq(int, auth_check(NULL, "Bearer " VIEWER_TOKEN, &st), AUTH_ROLE_NONE));
    cr_expect(eq(int, st, 401));
}

Test(auth, table_rejects_bad_entries)
{
    struct auth_table t;
    struct nines_err err;
    char hash[AUTH_HASH_TEXT_SIZE], name[16];
    enum auth_role role;

    auth_table_init(&t);
    cr_assert(eq(int, auth_hash_token("tok", hash), 0));
    cr_assert(eq(int, auth_table_add(&t, "a", hash, AUTH_ROLE_ADMIN, &err), 0));
    cr_expect(eq(int, auth_table_add(&t, "b", hash, AUTH_ROLE_VIEWER, &err), NINES_EINVAL));
    cr_expect_not_null(strstr(err.msg, "same hash"), "%s", err.msg);
    cr_expect(eq(int, auth_table_add(&t, "", hash, AUTH_ROLE_VIEWER, &err), NINES_EINVAL));
    cr_expect(eq(int, auth_table_add(&t, "c", "sha256:00", AUTH_ROLE_VIEWER, &err),
                 NINES_EINVAL));
    cr_expect(eq(int, auth_table_add(&t, "c", hash, AUTH_ROLE_NONE, &err), NINES_EINVAL));
    cr_assert(eq(sz, t.count, 1));
    for (int i = 1; i < AUTH_TABLE_MAX; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        cr_assert(eq(int, auth_hash_token(name, hash), 0));
        cr_assert(eq(int, auth_table_add(&t, name, hash, AUTH_ROLE_VIEWER, &err), 0));
    }
    cr_assert(eq(int, auth_hash_token("onemore", hash), 0));
    cr_expect(eq(int, auth_table_add(&t, "full", hash, AUTH_ROLE_VIEWER, &err), NINES_EINVAL));
    cr_assert(eq(int, auth_parse_role("operator", &role), 0));
    cr_assert(eq(int, role, AUTH_ROLE_OPERATOR));
    cr_expect(eq(int, auth_parse_role("root", &role), NINES_EINVAL));
    cr_expect(eq(int, auth_parse_role("Admin", &role), NINES_EINVAL));
}

Test(auth, new_tokens_are_random_and_hashable)
{
    char a[48], b[48], hash[AUTH_HASH_TEXT_SIZE];

    cr_assert(eq(int, auth_new_token(a), 0));
    cr_assert(eq(int, auth_new_token(b), 0));
    cr_assert(eq(sz, strlen(a), 43));
    cr_assert(ne(str, a, b));
    cr_assert(eq(int, auth_hash_token(a, hash), 0), "'%s' is not a valid token", a);
}

/* ---- the server ---- */

Test(httpd, each_role_against_each_minimum_role, .timeout = 20)
{
    static const struct {
        const char *token;
        const char *role;
        int view, operate, admin;
    } who[] = {
        { VIEWER_TOKEN, "viewer", 200, 403, 403 },
        { OPERATOR_TOKEN, "operator", 200, 200, 403 },
        { ADMIN_TOKEN, "admin", 200, 200, 200 },
    };
    struct server s;
    struct resp r;
    char auth[128];

    default_start(&s);
    for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
        snprintf(auth, sizeof(auth), "Bearer %s", who[i].token);
        exchange(s.port, "GET", "/api/v1/view", auth, NULL, &r);
        cr_expect(eq(int, r.status, who[i].view), "%s GET view", who[i].role);
        if (r.status == 200) {
            json_t *j = resp_json(&r);

            cr_expect(eq(str, (char *)json_str(j, "role"), (char *)who[i].role));
            json_decref(j);
        }
        exchange(s.port, "POST", "/api/v1/operate", auth, NULL, &r);
        cr_expect(eq(int, r.status, who[i].operate), "%s POST operate", who[i].role);
        if (r.status == 403)
            assert_error(&r, 403, "needs operator");
        exchange(s.port, "DELETE", "/api/v1/admin", auth, NULL, &r);
        cr_expect(eq(int, r.status, who[i].admin), "%s DELETE admin", who[i].role);
        if (r.status == 403)
            assert_error(&r, 403, "needs admin");
    }
    server_stop(&s);
}

Test(httpd, missing_malformed_and_unknown_tokens_get_401, .timeout = 20)
{
    static const char *const bad[] = {
        NULL,
        "Basic YW5uOnNlY3JldA==",
        "Bearer",
        "Bearer wrong-token",
        "Bearer " VIEWER_TOKEN "x",
        "Bearer " VIEWER_TOKEN " " VIEWER_TOKEN,
        "Token " VIEWER_TOKEN,
    };
    struct server s;
    struct resp r;
    char www[128];

    default_start(&s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        exchange(s.port, "GET", "/api/v1/view", bad[i], NULL, &r);
        assert_error(&r, 401, bad[i] == NULL ? "missing" : "invalid");
        cr_assert_not_null(resp_header(&r, "WWW-Authenticate", www, sizeof(www)), "%s",
                           bad[i]);
        cr_expect(eq(int, strncmp(www, "Bearer", 6), 0), "WWW-Authenticate: %s", www);
    }
    exchange(s.port, "GET", "/api/v1/view", "Bearer " VIEWER_TOKEN, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    server_stop(&s);
}

Test(httpd, public_routes_need_no_token_and_healthz_answers, .timeout = 20)
{
    struct server s;
    struct resp r;
    json_t *j;
    char v[64];

    default_start(&s);
    exchange(s.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    j = resp_json(&r);
    cr_assert(eq(str, (char *)json_str(j, "status"), "ok"));
    json_decref(j);
    /* HEAD is answered by the GET route, without a body. */
    exchange(s.port, "HEAD", "/healthz", NULL, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    cr_assert(eq(sz, r.body_len, 0));
    /* A push endpoint: public, with a bad token simply ignored. */
    exchange(s.port, "POST", "/api/v1/push/abc123", "Bearer nonsense", "{}", &r);
    cr_assert(eq(int, r.status, 200));
    j = resp_json(&r);
    cr_assert(eq(str, (char *)json_str(j, "rest"), "abc123"));
    json_decref(j);
    cr_assert_not_null(resp_header(&r, "X-Nines-Test", v, sizeof(v)));
    cr_assert(eq(str, v, "echo"));
    exchange(s.port, "GET", "/metrics", NULL, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    cr_assert(eq(str, r.body, "nines_up 1\n"));
    cr_assert_not_null(resp_header(&r, "Content-Type", v, sizeof(v)));
    cr_assert(eq(str, v, "text/plain; version=0.0.4"));
    server_stop(&s);
}

Test(httpd, unknown_route_404_and_wrong_method_405, .timeout = 20)
{
    struct server s;
    struct resp r;
    char allow[128];

    default_start(&s);
    exchange(s.port, "GET", "/nope", VIEWER_TOKEN, NULL, &r);
    assert_error(&r, 404, "no route for GET /nope");
    exchange(s.port, "GET", "/api/v1/checks/", "Bearer " VIEWER_TOKEN, NULL, &r);
    assert_error(&r, 404, NULL);        /* a wildcard needs at least one character */
    exchange(s.port, "GET", "/api/v1/checkswhatever", "Bearer " VIEWER_TOKEN, NULL, &r);
    assert_error(&r, 404, NULL);
    exchange(s.port, "PUT", "/healthz", NULL, NULL, &r);
    assert_error(&r, 405, "PUT");
    cr_assert_not_null(resp_header(&r, "Allow", allow, sizeof(allow)));
    cr_assert(eq(str, allow, "GET, HEAD"));
    /* 405 comes before authentication. */
    exchange(s.port, "GET", "/api/v1/operate", NULL, NULL, &r);
    assert_error(&r, 405, NULL);
    cr_assert(eq(str, (char *)resp_header(&r, "Allow", allow, sizeof(allow)), "POST"));
    /* Control bytes in the path never reach the message as they are. */
    exchange(s.port, "GET", "/x%0a%1b%ff", NULL, NULL, &r);
    assert_error(&r, 404, "/x???");
    server_stop(&s);
}

Test(httpd, wildcard_rest_query_and_specific_routes, .timeout = 20)
{
    struct server s;
    struct resp r;
    json_t *j;

    default_start(&s);
    exchange(s.port, "GET", "/api/v1/checks/web/history?from=17&to=x", "Bearer " ADMIN_TOKEN,
             NULL, &r);
    cr_assert(eq(int, r.status, 200));
    j = resp_json(&r);
    cr_assert(eq(str, (char *)json_str(j, "rest"), "web/history"));
    cr_assert(eq(str, (char *)json_str(j, "path"), "/api/v1/checks/web/history"));
    cr_assert(eq(str, (char *)json_str(j, "from"), "17"));
    cr_assert(eq(str, (char *)json_str(j, "agent"), "nines-test"));
    cr_assert(eq(str, (char *)json_str(j, "ip"), "127.0.0.1"));
    json_decref(j);
    /* The exact route beats the wildcard. */
    exchange(s.port, "GET", "/api/v1/checks/web/special", "Bearer " VIEWER_TOKEN, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    j = resp_json(&r);
    cr_assert(eq(str, (char *)json_str(j, "token"), "ann"));
    json_decref(j);
    /* Percent-decoding, and a missing argument. */
    exchange(s.port, "GET", "/api/v1/checks/a%20b", "Bearer " VIEWER_TOKEN, NULL, &r);
    j = resp_json(&r);
    cr_assert(eq(str, (char *)json_str(j, "rest"), "a b"));
    cr_assert_eq(json_is_null(json_object_get(j, "from")), 1);
    json_decref(j);
    server_stop(&s);
}

Test(httpd, malformed_json_gets_400, .timeout = 20)
{
    static const char *const bad[] = {
        "{", "{\"a\":}", "not json", "{\"a\":1,\"a\":2}", "\"just a string\"", "[1,2,]",
        "{\"a\":\"\xff\xfe\"}", "{} trailing",
    };
    struct server s;
    struct resp r;
    json_t *j;

    default_start(&s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        exchange(s.port, "POST", "/api/v1/json", "Bearer " VIEWER_TOKEN, bad[i], &r);
        assert_error(&r, 400, NULL);
    }
    exchange(s.port, "POST", "/api/v1/json", "Bearer " VIEWER_TOKEN, NULL, &r);
    assert_error(&r, 400, "must be JSON");
    exchange(s.port, "POST", "/api/v1/json", "Bearer " VIEWER_TOKEN, "{\"a\":[1,2]}", &r);
    cr_assert(eq(int, r.status, 200));
    j = resp_json(&r);
    cr_assert(eq(int, (int)json_array_size(json_object_get(json_object_get(j, "got"), "a")),
                 2));
    json_decref(j);
    server_stop(&s);
}

/* A JSON body of exactly n bytes: {"pad":"xxxx..."} */
static char *json_of_size(size_t n)
{
    char *b = malloc(n + 1);

    cr_assert_not_null(b);
    memset(b, 'x', n);
    memcpy(b, "{\"pad\":\"", 8);
    memcpy(b + n - 2, "\"}", 2);
    b[n] = '\0';
    return b;
}

Test(httpd, oversize_bodies_get_413, .timeout = 20)
{
    static char chunked[MAX_BODY * 3];
    struct server s;
    struct resp r;
    char *body;
    int n, fd;
    long got;

    default_start(&s);
    body = json_of_size(MAX_BODY);
    exchange(s.port, "POST", "/api/v1/json", "Bearer " VIEWER_TOKEN, body, &r);
    cr_assert(eq(int, r.status, 200), "exactly the limit is fine");
    free(body);
    body = json_of_size(MAX_BODY + 1);
    exchange(s.port, "POST", "/api/v1/json", "Bearer " VIEWER_TOKEN, body, &r);
    assert_error(&r, 413, "larger than 4096");
    free(body);
    /* A huge Content-Length is answered at once, before any body is sent. */
    fd = client_connect(s.port);
    n = snprintf(chunked, sizeof(chunked), "POST /api/v1/json HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer " VIEWER_TOKEN "\r\nContent-Length: 999999999999\r\n\r\n");
    send_all(fd, chunked, (size_t)n);
    got = read_to_eof(fd, r.raw, sizeof(r.raw));
    close(fd);
    cr_assert(gt(long, got, 0L));
    parse_resp(&r, (size_t)got);
    assert_error(&r, 413, NULL);
    /* A chunked body (no Content-Length) over the limit: read, dropped, then 413. */
    n = snprintf(chunked, sizeof(chunked), "POST /api/v1/json HTTP/1.1\r\nHost: x\r\n"
                 "Connection: close\r\nAuthorization: Bearer " VIEWER_TOKEN "\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++) {
        n += snprintf(chunked + n, sizeof(chunked) - (size_t)n, "400\r\n");
        memset(chunked + n, i == 0 ? '[' : ' ', 1024);
        n += 1024;
        n += snprintf(chunked + n, sizeof(chunked) - (size_t)n, "\r\n");
    }
    n += snprintf(chunked + n, sizeof(chunked) - (size_t)n, "0\r\n\r\n");
    exchange_raw(s.port, chunked, (size_t)n, &r);
    assert_error(&r, 413, NULL);
    server_stop(&s);
}

Test(httpd, internal_errors_do_not_leak_details, .timeout = 20)
{
    struct server s;
    struct resp r;

    default_start(&s);
    exchange(s.port, "GET", "/api/v1/fail", "Bearer " VIEWER_TOKEN, NULL, &r);
    assert_error(&r, 500, "Internal Server Error");
    cr_assert_null(strstr(r.body, "secret"));
    cr_assert_null(strstr(r.body, "10.0.0.5"));
    exchange(s.port, "GET", "/twice", NULL, NULL, &r);
    cr_assert(eq(int, r.status, 201));
    cr_assert(eq(str, r.body, "{\"answer\":1}"));
    exchange(s.port, "GET", "/bad-status", NULL, NULL, &r);
    assert_error(&r, 500, NULL);
    server_stop(&s);
}

Test(httpd, handler_answers_later_from_a_timer, .timeout = 20)
{
    struct server s;
    struct resp r;
    uint64_t t0, ms;
    json_t *j;

    default_start(&s);
    t0 = test_now_ms();
    exchange(s.port, "GET", "/api/v1/later", "Bearer " VIEWER_TOKEN, NULL, &r);
    ms = test_now_ms() - t0;
    cr_assert(eq(int, r.status, 200));
    j = resp_json(&r);
    cr_assert(eq(str, (char *)json_str(j, "answer"), "later"));
    json_decref(j);
    cr_assert(ge(u64, ms, 45), "answered after %llu ms", (unsigned long long)ms);
    cr_assert(lt(u64, ms, 2000));
    /* Several at once: every one is answered, none waits for the others in turn. */
    {
        int fds[5];
        char req[256];
        int n = snprintf(req, sizeof(req), "GET /api/v1/later HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Bearer " VIEWER_TOKEN "\r\nConnection: close\r\n\r\n");

        t0 = test_now_ms();
        for (int i = 0; i < 5; i++) {
            fds[i] = client_connect(s.port);
            send_all(fds[i], req, (size_t)n);
        }
        for (int i = 0; i < 5; i++) {
            long got = read_to_eof(fds[i], r.raw, sizeof(r.raw));

            close(fds[i]);
            cr_assert(gt(long, got, 0L));
            parse_resp(&r, (size_t)got);
            cr_assert(eq(int, r.status, 200));
        }
        cr_assert(lt(u64, test_now_ms() - t0, 1000));
    }
    server_stop(&s);
}

Test(httpd, client_gone_while_suspended_is_safe, .timeout = 20)
{
    struct server s;
    struct resp r;
    const char *req = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd;

    default_start(&s);
    fd = client_connect(s.port);
    send_all(fd, req, strlen(req));
    cr_assert(eq(int, test_wait_until(atomic_is_positive, &s.suspended, 5000), 0));
    close(fd);      /* the handler still has the request */
    cr_assert(eq(int, test_wait_until(atomic_is_positive, &s.answered, 5000), 0));
    /* The server is alive and well, and its loop ends clean. */
    exchange(s.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    server_stop(&s);
}

Test(httpd, close_with_a_suspended_request_drops_the_late_answer, .timeout = 20)
{
    struct server s;
    struct httpd_opts o;
    const char *req = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    struct resp r;
    int fd;
    long got;

    memset(&o, 0, sizeof(o));
    server_start(&s, &o, 300);
    fd = client_connect(s.port);
    send_all(fd, req, strlen(req));
    cr_assert(eq(int, test_wait_until(atomic_is_positive, &s.suspended, 5000), 0));
    /* Close while the handler is still working; its timer outlives the server. */
    server_stop(&s);
    cr_assert(eq(int, atomic_load(&s.answered), 1));
    cr_assert(eq(int, atomic_load(&s.saw_gone), 1), "the late answer must see the request gone");
    /* The client was told: the close answers suspended requests with 503. */
    got = read_to_eof(fd, r.raw, sizeof(r.raw));
    close(fd);
    cr_assert(gt(long, got, 0L));
    parse_resp(&r, (size_t)got);
    assert_error(&r, 503, "shutting down");
}

Test(httpd, slow_handler_gets_504_and_its_answer_is_dropped, .timeout = 20)
{
    struct server s;
    struct httpd_opts o;
    struct resp r;

    memset(&o, 0, sizeof(o));
    o.handler_timeout_ms = 100;
    server_start(&s, &o, 400);
    exchange(s.port, "GET", "/slow", NULL, NULL, &r);
    assert_error(&r, 504, NULL);
    cr_assert(eq(int, test_wait_until(atomic_is_positive, &s.answered, 5000), 0));
    cr_assert(eq(int, atomic_load(&s.saw_gone), 1));
    exchange(s.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    server_stop(&s);
}

Test(httpd, connection_limit_refuses_the_next_connection, .timeout = 20)
{
    struct server s;
    struct httpd_opts o;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[4096];
    int fds[3], extra;
    struct timeval tv = { 2, 0 };

    memset(&o, 0, sizeof(o));
    o.connection_limit = 3;
    server_start(&s, &o, 150);
    for (int i = 0; i < 3; i++)
        fds[i] = client_connect(s.port);
    extra = client_connect(s.port);
    setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert(closed_by_server(extra), "the 4th connection was kept");
    close(extra);
    for (int i = 0; i < 3; i++) {
        long got;
        int status = 0;

        send_all(fds[i], req, strlen(req));
        got = read_to_eof(fds[i], buf, sizeof(buf));
        close(fds[i]);
        cr_assert(gt(long, got, 0L), "connection %d got no answer", i);
        sscanf(buf, "HTTP/1.1 %d", &status);
        cr_assert(eq(int, status, 200));
    }
    server_stop(&s);
}

Test(httpd, per_ip_limit_refuses_only_that_address, .timeout = 20)
{
    struct server s;
    struct httpd_opts o;
    struct resp r;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fds[2], extra, other;
    struct timeval tv = { 2, 0 };
    long got;

    memset(&o, 0, sizeof(o));
    o.per_ip_limit = 2;
    o.connection_limit = 10;
    server_start(&s, &o, 150);
    fds[0] = client_connect(s.port);
    fds[1] = client_connect(s.port);
    extra = client_connect(s.port);
    setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert(closed_by_server(extra), "a 3rd connection from 127.0.0.1 was kept");
    close(extra);
    /* Another loopback address is a different client. */
    other = client_connect_from(s.port, "127.0.0.2");
    send_all(other, req, strlen(req));
    got = read_to_eof(other, r.raw, sizeof(r.raw));
    close(other);
    cr_assert(gt(long, got, 0L));
    parse_resp(&r, (size_t)got);
    cr_assert(eq(int, r.status, 200));
    close(fds[0]);
    close(fds[1]);
    server_stop(&s);
}

Test(httpd, idle_connection_closed_after_timeout, .timeout = 20)
{
    struct server s;
    struct httpd_opts o;
    uint64_t t0, ms;
    int fd;

    memset(&o, 0, sizeof(o));
    o.connection_timeout_s = 1;
    server_start(&s, &o, 150);
    fd = client_connect(s.port);
    t0 = test_now_ms();
    cr_assert(closed_by_server(fd), "idle connection still open after 5 s");
    ms = test_now_ms() - t0;
    close(fd);
    cr_assert(ge(u64, ms, 800), "closed after %llu ms", (unsigned long long)ms);
    cr_assert(lt(u64, ms, 3000), "closed after %llu ms", (unsigned long long)ms);
    /* A half-sent request is idle too. */
    fd = client_connect(s.port);
    send_all(fd, "GET /healthz HTTP/1.1\r\nHo", 25);
    t0 = test_now_ms();
    cr_assert(closed_by_server(fd));
    cr_assert(lt(u64, test_now_ms() - t0, 3000));
    close(fd);
    server_stop(&s);
}

Test(httpd, close_with_open_connections_leaves_the_loop_empty, .timeout = 20)
{
    struct server s;
    int fds[4];

    default_start(&s);
    for (int i = 0; i < 4; i++)
        fds[i] = client_connect(s.port);
    send_all(fds[3], "GET /heal", 9);  /* one mid-request */
    server_stop(&s);                    /* asserts uv_loop_close() == 0 */
    for (int i = 0; i < 4; i++) {
        cr_assert(closed_by_server(fds[i]), "connection %d left open", i);
        close(fds[i]);
    }
}

/* Status of the answer to raw bytes, or 0 if the server closed without one. */
static int raw_status(int port, const char *raw, size_t len)
{
    static char buf[8192];
    int fd = client_connect(port), status = 0;
    long n;

    send_all(fd, raw, len);
    n = read_to_eof(fd, buf, sizeof(buf));
    close(fd);
    cr_assert(ge(long, n, 0L), "no answer and no close (timeout)");
    if (n > 0)
        cr_assert(eq(int, sscanf(buf, "HTTP/1.1 %d", &status), 1), "'%.40s'", buf);
    return status;
}

/*
 * These are refused by libmicrohttpd itself, before our handler sees them, so the
 * answers are its own (HTML bodies; 0.9.75 has no hook to change them).
 */
Test(httpd, malformed_requests_are_refused_and_the_server_lives_on, .timeout = 20)
{
    static const struct {
        const char *raw;
        int status;
    } bad[] = {
        { "GARBAGE\r\n\r\n", 0 },     /* closed without an answer */
        { "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505 },
        { "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400 },
        { "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", 400 },
        { "POST /api/v1/json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " VIEWER_TOKEN
          "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400 },
    };
    static char big[64 * 1024];
    struct server s;
    struct resp r;
    int n;

    default_start(&s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect(eq(int, raw_status(s.port, bad[i].raw, strlen(bad[i].raw)), bad[i].status),
                  "'%s'", bad[i].raw);
    /* Headers larger than the connection's memory. */
    n = snprintf(big, sizeof(big), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', 40000);
    n += 40000;
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n\r\n");
    cr_expect(eq(int, raw_status(s.port, big, (size_t)n), 431));
    exchange(s.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    server_stop(&s);
}

Test(httpd, bad_listen_addresses_and_routes_are_refused)
{
    static const char *const bad[] = {
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:80x", "::1:8080",
        "[::1]8080", "[::1", "example.com:80", "127.0.0.1:-1", "300.0.0.1:80",
    };
    struct httpd_opts o;
    struct nines_err err;
    uv_loop_t loop;

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.listen = bad[i];
        err.msg[0] = '\0';
        cr_expect_null(httpd_new(&loop, &o, &err), "accepted '%s'", bad[i]);
        cr_expect_not_null(strstr(err.msg, bad[i]), "%s", err.msg);
    }
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

static void count_closed(void *arg)
{
    (*(int *)arg)++;
}

static void on_nothing(struct httpd_req *r, void *arg)
{
    (void)arg;
    httpd_respond_json(r, 204, json_object());
}

Test(httpd, port_in_use_routes_and_ipv6, .timeout = 20)
{
    struct httpd_opts o;
    struct nines_err err;
    uv_loop_t loop;
    struct httpd *h, *h2, *h6;
    char addr[64];
    int closed = 0;

    signal(SIGPIPE, SIG_IGN);
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    memset(&o, 0, sizeof(o));
    o.listen = "127.0.0.1:0";
    h = httpd_new(&loop, &o, &err);
    cr_assert_not_null(h, "%s", err.msg);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", httpd_port(h));
    o.listen = addr;
    h2 = httpd_new(&loop, &o, &err);
    cr_assert_null(h2, "a second server bound the same port");
    cr_assert_not_null(strstr(err.msg, "cannot listen"), "%s", err.msg);
    /* Route patterns. */
    cr_expect(eq(int, httpd_route(h, "GET", "/a/*", HTTPD_PUBLIC, on_nothing, NULL), 0));
    cr_expect(eq(int, httpd_route(h, "GET", "/a/*", HTTPD_PUBLIC, on_nothing, NULL),
                 NINES_EINVAL), "duplicate");
    cr_expect(eq(int, httpd_route(h, "GET", "/a*", HTTPD_PUBLIC, on_nothing, NULL),
                 NINES_EINVAL));
    cr_expect(eq(int, httpd_route(h, "GET", "/a/*/b", HTTPD_PUBLIC, on_nothing, NULL),
                 NINES_EINVAL));
    cr_expect(eq(int, httpd_route(h, "GET", "no-slash", HTTPD_PUBLIC, on_nothing, NULL),
                 NINES_EINVAL));
    cr_expect(eq(int, httpd_route(h, "", "/b", HTTPD_PUBLIC, on_nothing, NULL), NINES_EINVAL));
    cr_expect(eq(int, httpd_route(h, "GET", "/b", (enum auth_role)7, on_nothing, NULL),
                 NINES_EINVAL));
    /* IPv6 loopback, where the machine has it. */
    o.listen = "[::1]:0";
    h6 = httpd_new(&loop, &o, &err);
    if (h6 != NULL) {
        cr_assert(gt(int, httpd_port(h6), 0));
        httpd_close(h6, count_closed, &closed);
    } else {
        cr_log_warn("no IPv6 loopback here: %s", err.msg);
        closed++;
    }
    httpd_close(h, count_closed, &closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, closed, 2));
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

/* Reads one response on a kept-alive connection, using its Content-Length. */
static void read_one(int fd, struct resp *r)
{
    size_t got = 0, need = 0;
    char *end = NULL;
    const char *cl;

    r->raw[0] = '\0';
    for (;;) {
        ssize_t n;

        if (end == NULL && (end = strstr(r->raw, "\r\n\r\n")) != NULL) {
            cl = strstr(r->raw, "\r\nContent-Length:");   /* MHD spells it so */
            cr_assert_not_null(cl);
            need = (size_t)(end + 4 - r->raw) + strtoul(cl + 17, NULL, 10);
        }
        if (end != NULL && got >= need)
            break;
        n = recv(fd, r->raw + got, sizeof(r->raw) - 1 - got, 0);
        cr_assert(gt(long, (long)n, 0L), "connection ended early");
        got += (size_t)n;
        r->raw[got] = '\0';
    }
    cr_assert(eq(sz, got, need), "more bytes than one response");
    parse_resp(r, got);
}

Test(httpd, keep_alive_connection_serves_async_then_sync, .timeout = 20)
{
    struct server s;
    struct resp r;
    const char *a = "GET /api/v1/later HTTP/1.1\r\nHost: x\r\n"
                    "Authorization: Bearer " VIEWER_TOKEN "\r\n\r\n";
    const char *b = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd;
    json_t *j;

    default_start(&s);
    fd = client_connect(s.port);
    for (int round = 0; round < 3; round++) {
        send_all(fd, a, strlen(a));
        read_one(fd, &r);
        cr_assert(eq(int, r.status, 200));
        j = resp_json(&r);
        cr_assert(eq(str, (char *)json_str(j, "answer"), "later"));
        json_decref(j);
        send_all(fd, b, strlen(b));
        read_one(fd, &r);
        cr_assert(eq(int, r.status, 200));
    }
    close(fd);
    server_stop(&s);
}

Test(httpd, close_from_inside_a_handler, .timeout = 20)
{
    struct server s;
    struct resp r;
    json_t *j;

    default_start(&s);
    exchange(s.port, "POST", "/quit", "Bearer " VIEWER_TOKEN, NULL, &r);
    assert_error(&r, 403, NULL);
    exchange(s.port, "POST", "/quit", "Bearer " ADMIN_TOKEN, NULL, &r);
    cr_assert(eq(int, r.status, 200));
    j = resp_json(&r);
    cr_assert(eq(str, (char *)json_str(j, "bye"), "now"));
    json_decref(j);
    pthread_join(s.thread, NULL);   /* the loop ends by itself */
    cr_assert(eq(int, atomic_load(&s.closed), 1));
    cr_assert(eq(int, uv_loop_close(&s.loop), 0));
}

Test(auth, salted_hashes_match_their_token_only)
{
    struct auth_table t;
    struct nines_err err = { 0 };
    char hash[AUTH_HASH_TEXT_SIZE], again[AUTH_HASH_TEXT_SIZE];
    int status = 0;
    const struct auth_entry *e;

    cr_assert(eq(int, auth_hash_token_salted("s3cret-token", hash), 0));
    cr_assert(eq(int, auth_hash_token_salted("s3cret-token", again), 0));
    cr_expect(ne(int, strcmp(hash, again), 0), "a fresh salt each time");
    cr_expect(eq(sz, strlen(hash), 14 + 32 + 1 + 64));
    auth_table_init(&t);
    cr_assert(eq(int, auth_table_add(&t, "ops", hash, AUTH_ROLE_OPERATOR, &err), 0), "%s",
              err.msg);
    cr_assert(eq(int, auth_table_add(&t, "old", "sha256:ba7816bf8f01cfea414140de5dae2223b003"
                                                "61a396177a9cb410ff61f20015ad",
                                     AUTH_ROLE_VIEWER, &err), 0), "%s", err.msg);
    e = auth_lookup(&t, "Bearer s3cret-token", &status);
    cr_assert(ne(ptr, (void *)e, NULL));
    cr_expect(eq(int, strcmp(e->name, "ops"), 0));
    cr_expect(eq(int, status, 200));
    e = auth_lookup(&t, "Bearer abc", &status);
    cr_assert(ne(ptr, (void *)e, NULL), "an unsalted hash still works");
    cr_expect(eq(int, strcmp(e->name, "old"), 0));
    cr_expect(eq(ptr, (void *)auth_lookup(&t, "Bearer s3cret-tokeN", &status), NULL));
    cr_expect(eq(int, status, 401));
    /* malformed salted forms */
    cr_expect(eq(int, auth_table_add(&t, "x", "sha256-salted:abcd:00", AUTH_ROLE_VIEWER, &err),
                 NINES_EINVAL), "salt too short");
    cr_expect(eq(int, auth_table_add(&t, "x", "sha256-salted:zz11223344556677:ba7816bf8f01cfea"
                                              "414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                                     AUTH_ROLE_VIEWER, &err), NINES_EINVAL), "bad hex");
}

Test(httpd, repeated_failed_authentications_are_refused_for_a_minute, .timeout = 20)
{
    struct server s;
    struct resp r;
    char after[32];

    default_start(&s);
    /* nine failures: still 401; the tenth starts the block */
    for (int i = 0; i < 10; i++) {
        exchange(s.port, "GET", "/api/v1/view", "Bearer guess-number-x", NULL, &r);
        assert_error(&r, 401, "invalid");
    }
    /* now even the right token is refused from this address */
    exchange(s.port, "GET", "/api/v1/view", "Bearer " VIEWER_TOKEN, NULL, &r);
    assert_error(&r, 429, "too many failed authentications");
    cr_assert_not_null(resp_header(&r, "Retry-After", after, sizeof(after)));
    cr_expect(ge(int, atoi(after), 59));
    cr_expect(le(int, atoi(after), 60));
    /* public routes are not blocked: they need no token */
    exchange(s.port, "GET", "/healthz", NULL, NULL, &r);
    cr_expect(eq(int, r.status, 200));
    server_stop(&s);
}
