/*
 * Route × role, end to end. The table lives in README.md (between the
 * rbac-table markers); this test checks that it lists exactly the routes the
 * collector's sources register with httpd_route, so a new route cannot escape
 * it, then walks every row against a real collector with no token and with a
 * viewer, an operator and an admin token.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2eworld.h"
#include "http_client.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define ROWS_MAX 96

struct row {
    char method[16];
    char pattern[128];
    int role;               /* 0 public, 1 viewer, 2 operator, 3 admin */
    char example[160];
    int registered;
};

static struct row rows[ROWS_MAX];
static size_t n_rows;
static char body[65536];

static int role_of(const char *s)
{
    static const char *const names[] = { "public", "viewer", "operator", "admin" };

    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    return -1;
}

/* "`text`" -> text */
static void unquote(const char *in, char *out, size_t len)
{
    size_t n = strlen(in);

    if (n >= 2 && in[0] == '`' && in[n - 1] == '`') {
        in++;
        n -= 2;
    }
    if (n >= len)
        n = len - 1;  /* cut, as snprintf would */
    memcpy(out, in, n);
    out[n] = '\0';
}

static void read_table(void)
{
    char *readme = test_read_file(NINES_SOURCE_DIR "/README.md");
    char *start, *end, *line, *save = NULL;

    cr_assert(not(eq(ptr, readme, NULL)));
    start = strstr(readme, "<!-- rbac-table -->");
    end = strstr(readme, "<!-- /rbac-table -->");
    cr_assert(not(eq(ptr, start, NULL)), "README has no rbac-table");
    cr_assert(not(eq(ptr, end, NULL)), "README's rbac-table has no end marker");
    *end = '\0';
    n_rows = 0;
    for (line = strtok_r(start, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char m[16], p[160], r[16], e[200];
        struct row *rw;

        if (sscanf(line, "| %15s | %159s | %15s | %199s |", m, p, r, e) != 4 ||
            strcmp(m, "method") == 0 || strcmp(m, "---") == 0)
            continue;
        cr_assert(lt(sz, n_rows, ROWS_MAX));
        rw = &rows[n_rows++];
        memset(rw, 0, sizeof(*rw));
        snprintf(rw->method, sizeof(rw->method), "%s", m);
        unquote(p, rw->pattern, sizeof(rw->pattern));
        unquote(e, rw->example, sizeof(rw->example));
        rw->role = role_of(r);
        cr_assert(ge(int, rw->role, 0), "README row %s %s: unknown role %s", m, p, r);
    }
    free(readme);
    cr_assert(gt(sz, n_rows, 10));
}

/* Every httpd_route(..., "METHOD", "PATTERN", ...) in one source file. */
static void scan_file(const char *path, size_t *found)
{
    char *src = test_read_file(path), *p;

    cr_assert(not(eq(ptr, src, NULL)), "%s", path);
    for (p = src; (p = strstr(p, "httpd_route(")) != NULL; p++) {
        char m[16], pat[128];
        const char *q = strchr(p, '"');
        int hit = 0;

        if (q == NULL || sscanf(q, "\"%15[^\"]\", \"%127[^\"]\"", m, pat) != 2)
            continue;       /* the declaration or the definition */
        (*found)++;
        for (size_t i = 0; i < n_rows; i++) {
            if (strcmp(rows[i].method, m) == 0 && strcmp(rows[i].pattern, pat) == 0) {
                rows[i].registered = 1;
                hit = 1;
            }
        }
        cr_assert(eq(int, hit, 1), "%s registers %s %s, which README's route table lacks",
                  path, m, pat);
    }
    free(src);
}

static void scan_dir(const char *dir, size_t *found)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[600];

    cr_assert(not(eq(ptr, d, NULL)), "%s", dir);
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);

        if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        scan_file(path, found);
    }
    closedir(d);
}

Test(e2e_rbac, the_readme_table_lists_exactly_the_registered_routes)
{
    static const char *const dirs[] = { "collector", "collector/web", "collector/notify",
                                        "collector/report" };
    size_t found = 0;
    char dir[400];

    read_table();
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(dir, sizeof(dir), "%s/%s", NINES_SOURCE_DIR, dirs[i]);
        scan_dir(dir, &found);
    }
    cr_assert(gt(sz, found, 10));
    for (size_t i = 0; i < n_rows; i++)
        cr_assert(eq(int, rows[i].registered, 1), "README lists %s %s, which nothing registers",
                  rows[i].method, rows[i].pattern);
}

Test(e2e_rbac, every_route_with_every_role, .timeout = 120)
{
    static const char *const tokens[] = { NULL, "viewer-token", "operator-token",
                                          "admin-token" };
    char yaml[2048], v[72], o[72], a[72], url[400];
    struct e2eworld w;

    read_table();
    e2eworld_open(&w);
    e2eworld_token_hash("viewer-token", v);
    e2eworld_token_hash("operator-token", o);
    e2eworld_token_hash("admin-token", a);
    snprintf(yaml, sizeof(yaml),
             "collector:\n  name: c1\n  redis: %s\n  data_dir: %s/data\n"
             "api:\n  listen: 127.0.0.1:0\n  tokens:\n"
             "    - {name: vera, role: viewer, hash: \"%s\"}\n"
             "    - {name: otto, role: operator, hash: \"%s\"}\n"
             "    - {name: ada, role: admin, hash: \"%s\"}\n"
             "services:\n  - id: shop\n    checks: [web]\n"
             "checks:\n  - {id: web, kind: tcp, host: 127.0.0.1, port: 1, interval: 60s}\n",
             w.redis.url, w.dir, v, o, a);
    e2eworld_config(&w, yaml);
    e2eworld_collector(&w, "collector.log", NULL);
    cr_assert(eq(int, e2eworld_wait_api(&w, 10000), 0), "no api.addr");
    cr_assert(eq(int, e2eworld_wait_published(&w, 10000), 0), "the collector never reached Redis");

    for (size_t i = 0; i < n_rows; i++) {
        const struct row *r = &rows[i];
        int post = strcmp(r->method, "GET") != 0;

        snprintf(url, sizeof(url), "%s%s", w.base, r->example);
        for (int role = 0; role < 4; role++) {
            int st = http_request(r->method, url, tokens[role], post ? "{}" : NULL, body,
                                  sizeof(body));

            cr_assert(gt(int, st, 0), "%s %s: no answer", r->method, r->example);
            if (r->role == 0 || role >= r->role)
                cr_expect(eq(int, st == 401 || st == 403, 0), "%s %s as %s: %d %s", r->method, r->example,
                          tokens[role] ? tokens[role] : "nobody", st, body);
            else if (role == 0)
                cr_expect(eq(int, st, 401), "%s %s without a token", r->method, r->example);
            else
                cr_expect(eq(int, st, 403), "%s %s as %s", r->method, r->example,
                          tokens[role]);
        }
    }
    e2eworld_close(&w);
}
