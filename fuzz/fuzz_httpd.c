/*
 * The HTTP API's request handling without a socket: what httpd_on_first_call
 * and the handlers do with a request's text. The path is percent-decoded
 * with MHD's own MHD_http_unescape (as MHD does before our access handler),
 * routed by httpd_match over the API's real route table, authorised with
 * auth_lookup against a token table, and the body parsed by httpd_body_json.
 * httpd.c's routing is static, so the file is compiled into this harness.
 *
 * Input: "METHOD PATH\nAuthorization value\nbody" ("-" as the Authorization
 * value: no header).
 */
#include "../collector/httpd.c"

#include "fuzz.h"

static struct httpd fuzz_h;
static struct auth_table fuzz_auth;

static void fuzz_httpd_noop(struct httpd_req *r, void *arg)
{
}

static void fuzz_httpd_setup(void)
{
    /* collector/api*.c, collector/web: method, pattern, role */
    static const struct {
        const char *method, *pattern;
        enum auth_role role;
    } routes[] = {
        { "GET", "/", HTTPD_PUBLIC }, { "GET", "/metrics", HTTPD_PUBLIC },
        { "GET", "/assets/*", HTTPD_PUBLIC }, { "GET", "/badge/*", HTTPD_PUBLIC },
        { "GET", "/status/*", HTTPD_PUBLIC }, { "GET", "/healthz", HTTPD_PUBLIC },
        { "GET", "/api/v1/checks", AUTH_ROLE_VIEWER },
        { "GET", "/api/v1/checks/*", AUTH_ROLE_VIEWER },
        { "GET", "/api/v1/alerts", AUTH_ROLE_VIEWER },
        { "POST", "/api/v1/alerts/*", AUTH_ROLE_OPERATOR },
        { "GET", "/api/v1/drills", AUTH_ROLE_VIEWER },
        { "POST", "/api/v1/drills", AUTH_ROLE_OPERATOR },
        { "GET", "/api/v1/drills/*", AUTH_ROLE_VIEWER },
        { "POST", "/api/v1/drills/*", AUTH_ROLE_OPERATOR },
        { "GET", "/api/v1/incidents", AUTH_ROLE_VIEWER },
        { "POST", "/api/v1/incidents/*", AUTH_ROLE_OPERATOR },
        { "POST", "/api/v1/integrations/pagerduty/*", HTTPD_PUBLIC },
        { "GET", "/api/v1/latency", AUTH_ROLE_VIEWER },
        { "GET", "/api/v1/maintenance", AUTH_ROLE_VIEWER },
        { "POST", "/api/v1/maintenance", AUTH_ROLE_OPERATOR },
        { "DELETE", "/api/v1/maintenance/*", AUTH_ROLE_OPERATOR },
        { "GET", "/api/v1/notifications/*", AUTH_ROLE_VIEWER },
        { "GET", "/api/v1/probes", AUTH_ROLE_VIEWER },
        { "GET", "/api/v1/push/*", AUTH_ROLE_VIEWER },
        { "POST", "/api/v1/push/*", HTTPD_PUBLIC },
        { "GET", "/api/v1/reports/*", AUTH_ROLE_VIEWER },
        { "GET", "/api/v1/services", AUTH_ROLE_VIEWER },
        { "GET", "/api/v1/silences", AUTH_ROLE_VIEWER },
        { "POST", "/api/v1/silences", AUTH_ROLE_OPERATOR },
        { "DELETE", "/api/v1/silences/*", AUTH_ROLE_OPERATOR },
        { "GET", "/api/v1/uptime", AUTH_ROLE_VIEWER },
    };
    /* tokens "viewer-token" and "admin-token", hashed as `nines token hash` does */
    static const char *const tokens[][2] = { { "viewer-token", "viewer" },
                                             { "admin-token", "admin" } };

    fuzz_h.max_body = 65536;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (httpd_route(&fuzz_h, routes[i].method, routes[i].pattern, routes[i].role,
                        fuzz_httpd_noop, NULL) != 0)
            abort();
    }
    auth_table_init(&fuzz_auth);
    for (size_t i = 0; i < 2; i++) {
        char hash[AUTH_HASH_TEXT_SIZE];
        enum auth_role role;

        if (auth_hash_token(tokens[i][0], hash) != 0 || auth_parse_role(tokens[i][1], &role)
            || auth_table_add(&fuzz_auth, tokens[i][0], hash, role, NULL) != 0)
            abort();
    }
    fuzz_h.auth = &fuzz_auth;
}

/* The route, its rest and the caller's role, as httpd_on_first_call decides them. */
static int fuzz_httpd_route(struct httpd_req *r, const char *method, const char *auth)
{
    char allow[128], msg[HTTPD_MSG_MAX + 64], p[HTTPD_MSG_MAX + 8], m[24];
    const struct auth_entry *e;
    int st;

    httpd_printable(method, r->method, sizeof(r->method));
    r->route = httpd_match(&fuzz_h, method, r->path, allow, sizeof(allow));
    if (r->route == NULL) {
        if (allow[0] != '\0' && httpd_add_header(r, MHD_HTTP_HEADER_ALLOW, allow) != 0)
            abort();
        snprintf(msg, sizeof(msg), "no route for %s %s", httpd_printable(method, m, sizeof(m)),
                 httpd_printable(r->path, p, sizeof(p)));
        return allow[0] != '\0' ? 405 : 404;
    }
    if (strcmp(r->route->method, method) != 0 && !(strcmp(method, "HEAD") == 0
                                                   && strcmp(r->route->method, "GET") == 0))
        abort();        /* a route for another method */
    r->rest = r->route->wildcard ? r->path + r->route->prefix_len : "";
    if (r->route->wildcard && (strncmp(r->path, r->route->pattern, r->route->prefix_len) != 0
                               || r->rest[0] == '\0'))
        abort();
    e = auth_lookup(fuzz_h.auth, auth, &st);
    if ((e != NULL) != (st == 200))
        abort();
    r->role = e != NULL ? e->role : AUTH_ROLE_NONE;
    return r->route->min_role > r->role ? (e == NULL ? 401 : 403) : 200;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nines_err err = { 0 };
    struct httpd_req *r;
    char *line, *auth, *sp;
    json_t *j;
    size_t blen;

    if (fuzz_h.n_routes == 0)
        fuzz_httpd_setup();
    line = fuzz_take(&data, &size, '\n', NULL);
    auth = fuzz_take(&data, &size, '\n', NULL);
    r = calloc(1, sizeof(*r));
    if (line == NULL || auth == NULL || r == NULL)
        goto out;
    r->refs = 1;
    sp = strchr(line, ' ');
    r->path = strdup(sp != NULL ? sp + 1 : "/");
    if (sp != NULL)
        *sp = '\0';
    if (r->path == NULL)
        goto out;
    MHD_http_unescape(r->path);
    if (fuzz_httpd_route(r, line, strcmp(auth, "-") == 0 ? NULL : auth) != 200)
        goto out;
    blen = size < fuzz_h.max_body ? size : fuzz_h.max_body;
    r->body = malloc(blen + 1);
    if (r->body == NULL)
        goto out;
    if (blen > 0)
        memcpy(r->body, data, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    r->body_cap = blen + 1;
    r->refs++;                  /* httpd_body_json answers (and unrefs) on bad JSON */
    j = httpd_body_json(r, &err);
    if (j == NULL && (err.msg[0] == '\0' || r->refs != 1))
        abort();
    if (j != NULL)
        r->refs--;
    json_decref(j);
out:
    if (r != NULL)
        httpd_req_unref(r);
    free(line);
    free(auth);
    return 0;
}
