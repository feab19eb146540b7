/*
 * The collector's built-in pages end to end: redis-server, a collector with a
 * viewer and an operator token, a probe and the HTTP fixture with three checks
 * (two in a customer's services, one internal). Headless Chromium (the
 * system's /usr/bin/chromium, driven by tests/browser/pages.mjs through
 * playwright-core) loads the dashboard, sees a check flip to DOWN without a
 * reload, acknowledges its incident, and loads the status page with
 * JavaScript off; then this test reads the status page, its Atom feed and the
 * badges over plain HTTP and checks what they show and what they must not.
 * Screenshots go to the test's temp dir (kept with NINES_TEST_KEEP=1).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "e2eworld.h"
#include "http_client.h"
#include "httpfix_client.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

#define CHECK_DOWN "chk-front-7f"      /* follows the fixture's mode */
#define CHECK_UP "chk-pay-3q"          /* /status/200: always up */
#define CHECK_INTERNAL "internal-db-9z"
#define BROWSER_DIR NINES_SOURCE_DIR "/tests/browser"

struct pages_world {
    struct e2eworld e;
    struct httpfix http;
};

static char body[1 << 20];

static int get(struct pages_world *w, const char *path, const char *token)
{
    return e2eworld_request(&w->e, "GET", path, token, NULL, body, sizeof(body));
}

struct state_want {
    struct pages_world *w;
    const char *check, *state;
};

static int check_state_is(void *arg)
{
    struct state_want *s = arg;
    char path[128];
    json_t *j;
    int ok;

    snprintf(path, sizeof(path), "/api/v1/checks/%s", s->check);
    if (get(s->w, path, "viewer-token") != 200)
        return 0;
    j = json_loads(body, 0, NULL);
    ok = j != NULL && strcmp(json_string_value(json_object_get(j, "state")), s->state) == 0;
    json_decref(j);
    return ok;
}

static void world_open(struct pages_world *w)
{
    char yaml[4096], viewer[72], operator[72];
    struct state_want up1 = { w, CHECK_DOWN, "UP" }, up2 = { w, CHECK_UP, "UP" };

    test_wait_poll_ms(100);
    memset(w, 0, sizeof(*w));
    e2eworld_open(&w->e);
    w->e.collector_stop_ms = 10000;
    cr_assert(eq(int, httpfix_start(&w->http), 0));
    e2eworld_token_hash("viewer-token", viewer);
    e2eworld_token_hash("operator-token", operator);
    snprintf(yaml, sizeof(yaml),
             "collector:\n  name: c1\n  redis: %s\n  data_dir: %s/data\n"
             "api:\n  listen: 127.0.0.1:0\n  tokens:\n"
             "    - {name: alice, role: viewer, hash: \"%s\"}\n"
             "    - {name: bob, role: operator, hash: \"%s\"}\n"
             "services:\n"
             "  - {id: svc-shop, name: Online Shop, checks: [" CHECK_DOWN "]}\n"
             "  - {id: svc-pay, name: Payments, checks: [" CHECK_UP "]}\n"
             "  - {id: backoffice-internal, checks: [" CHECK_INTERNAL "]}\n"
             "customers:\n"
             "  - id: acme\n    name: ACME Corp.\n    timezone: Europe/Berlin\n"
             "    services: [svc-shop, svc-pay]\n"
             "    slas: [{name: standard, target: 99.9}]\n"
             "checks:\n"
             "  - {id: " CHECK_DOWN ", kind: http, url: \"%s/\", interval: 1s, timeout: 500ms,"
             " failures_to_down: 1}\n"
             "  - {id: " CHECK_UP ", kind: http, url: \"%s/status/200\", interval: 1s,"
             " timeout: 500ms}\n"
             "  - {id: " CHECK_INTERNAL ", kind: http, url: \"%s/status/200\", interval: 1s,"
             " timeout: 500ms}\n",
             w->e.redis.url, w->e.dir, viewer, operator, w->http.base_url, w->http.base_url,
             w->http.base_url);
    e2eworld_config(&w->e, yaml);
    e2eworld_collector(&w->e, "collector.log", NULL);
    e2eworld_probe(&w->e);
    cr_assert(eq(int, e2eworld_wait_api(&w->e, 10000), 0), "no api.addr");
    cr_assert(eq(int, test_wait_until(check_state_is, &up1, 30000), 0));
    cr_assert(eq(int, test_wait_until(check_state_is, &up2, 30000), 0));
}

static void world_close(struct pages_world *w)
{
    if (getenv("NINES_TEST_KEEP") != NULL)
        fprintf(stderr, "e2e_pages: kept %s (screenshots in %s/screens)\n", w->e.dir, w->e.dir);
    httpfix_stop(&w->http);
    e2eworld_close(&w->e);
}

/* playwright-core as pinned in tests/browser/package-lock.json (npm ci once;
 * PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the system's Chromium is used). */
static void browser_deps(void)
{
    const char *argv[] = { "npm", "ci", "--prefix", BROWSER_DIR, "--no-audit", "--no-fund",
                           NULL };
    const char *envx[] = { "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", NULL };
    static char err[8192];
    int code = -1;

    if (test_path_exists(BROWSER_DIR "/node_modules/playwright-core/package.json"))
        return;
    proc_run_full(argv, envx, NULL, 0, err, sizeof(err), 300000, &code);
    cr_assert(eq(int, code, 0), "npm ci in tests/browser failed: %s", err);
}

/* Text of the element with id `id` in an SVG file, through xmllint's XPath. */
static void svg_text(const char *file, const char *id, char *out, size_t len)
{
    char xpath[128];
    int code = -1;

    snprintf(xpath, sizeof(xpath), "string(//*[local-name()='text'][@id='%s'])", id);
    {
        const char *argv[] = { "xmllint", "--xpath", xpath, file, NULL };

        proc_run(argv, out, len, 10000, &code);
    }
    cr_assert(eq(int, code, 0), "xmllint rejected %s", file);
    out[strcspn(out, "\n")] = '\0';
}

static void save_body(const char *path)
{
    cr_assert(eq(int, test_write_file(path, body), 0));
}

static void xml_valid(const char *file)
{
    const char *argv[] = { "xmllint", "--noout", file, NULL };
    int code = -1;

    proc_run(argv, NULL, 0, 10000, &code);
    cr_assert(eq(int, code, 0), "%s is not well-formed XML", file);
}

/* Nothing internal in a public document. */
static void assert_no_secrets(const struct pages_world *w, const char *doc, const char *what)
{
    static const char *const never[] = { "viewer-token", "operator-token", CHECK_DOWN, CHECK_UP,
                                          CHECK_INTERNAL, "backoffice", "svc-shop", "svc-pay",
                                          "127.0.0.1", "http_status", "localhost", "alice",
                                          "/api/v1" };
    char port[16];

    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        cr_expect(strstr(doc, never[i]) == NULL, "%s shows '%s'", what, never[i]);
    snprintf(port, sizeof(port), ":%d", w->http.port);
    cr_expect(strstr(doc, port) == NULL, "%s shows the fixture's port", what);
    cr_expect(strstr(doc, w->http.base_url) == NULL, "%s shows the fixture's URL", what);
}

static void run_browser(struct pages_world *w)
{
    char screens[400], out[8192], base[200], fix[200], cmdlog[400];
    static char err[65536];
    const char *argv[] = { "node", BROWSER_DIR "/pages.mjs", NULL };
    int code = -1;

    snprintf(screens, sizeof(screens), "%s/screens", w->e.dir);
    cr_assert(eq(int, mkdir(screens, 0700), 0));
    snprintf(base, sizeof(base), "NINES_BASE=%s", w->e.base);
    snprintf(fix, sizeof(fix), "NINES_FIXTURE=%s", w->http.base_url);
    {
        char outdir[420];
        const char *envx[] = { base, fix, "NINES_TOKEN=operator-token", outdir,
                               "NINES_CHECK_DOWN=" CHECK_DOWN, "NINES_CHECK_UP=" CHECK_UP,
                               "NINES_CUSTOMER=acme", NULL };

        snprintf(outdir, sizeof(outdir), "NINES_OUT=%s", screens);
        proc_run_full(argv, envx, out, sizeof(out), err, sizeof(err), 240000, &code);
    }
    snprintf(cmdlog, sizeof(cmdlog), "%s/browser.log", w->e.dir);
    test_write_file(cmdlog, err);
    fprintf(stderr, "e2e_pages: browser report %s", out);
    cr_assert(eq(int, code, 0), "pages.mjs failed (%d): %s\n%s", code, out, err);
    cr_expect(strstr(out, "\"ok\":true") != NULL, "%s", out);
    cr_expect(strstr(out, "[\"Online Shop\",\"down\",90]") != NULL, "%s", out);
    cr_expect(strstr(out, "[\"Payments\",\"up\",90]") != NULL, "%s", out);
    cr_expect(strstr(out, "\"acked_text\":\"acknowledged by bob\"") != NULL, "%s", out);
    {
        static const char *const shots[] = { "dashboard-up.png", "dashboard-down.png",
                                              "dashboard-acked.png", "dashboard-phone.png",
                                              "status.png" };
        char p[500];

        for (size_t i = 0; i < sizeof(shots) / sizeof(shots[0]); i++) {
            snprintf(p, sizeof(p), "%s/%s", screens, shots[i]);
            cr_expect(test_path_exists(p), "no screenshot %s", p);
        }
    }
}

/* Counts non-overlapping occurrences of needle. */
static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

Test(e2e_pages, dashboard_status_page_feed_and_badges, .timeout = 300)
{
    struct pages_world w;
    struct state_want down = { &w, CHECK_DOWN, "DOWN" };
    char file[400], text[256];
    json_t *j, *inc;

    browser_deps();
    world_open(&w);
    run_browser(&w);

    /* the click reached the API: the incident is acknowledged by the token's owner */
    cr_assert(eq(int, test_wait_until(check_state_is, &down, 1000), 0));
    cr_assert(eq(int, get(&w, "/api/v1/incidents?check=" CHECK_DOWN "&open=1", "viewer-token"),
                 200));
    j = json_loads(body, 0, NULL);
    inc = json_array_get(json_object_get(j, "incidents"), 0);
    cr_assert(inc != NULL, "%s", body);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(inc, "ack_by")), "bob"), "%s",
              body);
    json_decref(j);

    /* the status page: plain HTML, the customer's services and their state */
    cr_assert(eq(int, get(&w, "/status/acme", NULL), 200), "%s", body);
    cr_expect(strstr(body, "<h1>ACME Corp. status</h1>") != NULL, "%s", body);
    cr_expect(strstr(body, "<article class=\"service\" data-state=\"down\"><h3><span "
                           "class=\"name\">Online Shop</span>") != NULL, "%s", body);
    cr_expect(strstr(body, "<article class=\"service\" data-state=\"up\"><h3><span "
                           "class=\"name\">Payments</span>") != NULL, "%s", body);
    cr_expect(eq(int, count(body, "<span class=\"bar "), 180), "90 days for each of 2 services");
    cr_expect(strstr(body, "Online Shop is down") != NULL, "ongoing incident: %s", body);
    cr_expect(strstr(body, "<script") == NULL, "the status page needs no JavaScript");
    assert_no_secrets(&w, body, "the status page");
    cr_expect(eq(int, get(&w, "/status/nobody", NULL), 404));
    cr_expect(eq(int, get(&w, "/status/..%2fapi", NULL), 404));

    /* its Atom feed */
    cr_assert(eq(int, get(&w, "/status/acme/feed.atom", NULL), 200), "%s", body);
    snprintf(file, sizeof(file), "%s/feed.atom", w.e.dir);
    save_body(file);
    xml_valid(file);
    cr_expect(strstr(body, "<title>Online Shop outage</title>") != NULL, "%s", body);
    cr_expect(strstr(body, "<title>Payments") == NULL, "Payments never failed: %s", body);
    assert_no_secrets(&w, body, "the feed");

    /* badges: valid SVG with the right figure */
    cr_assert(eq(int, get(&w, "/badge/" CHECK_DOWN "/status.svg", NULL), 200), "%s", body);
    snprintf(file, sizeof(file), "%s/down.svg", w.e.dir);
    save_body(file);
    svg_text(file, "value", text, sizeof(text));
    cr_expect(eq(str, text, "down"));
    cr_assert(eq(int, get(&w, "/badge/" CHECK_UP "/status.svg", NULL), 200), "%s", body);
    snprintf(file, sizeof(file), "%s/up.svg", w.e.dir);
    save_body(file);
    svg_text(file, "value", text, sizeof(text));
    cr_expect(eq(str, text, "up"));
    svg_text(file, "label", text, sizeof(text));
    cr_expect(eq(str, text, "status"));
    cr_assert(eq(int, get(&w, "/badge/" CHECK_UP "/uptime-30d.svg", NULL), 200), "%s", body);
    snprintf(file, sizeof(file), "%s/up30.svg", w.e.dir);
    save_body(file);
    svg_text(file, "value", text, sizeof(text));
    cr_expect(eq(str, text, "100%"));
    cr_assert(eq(int, get(&w, "/badge/" CHECK_DOWN "/uptime-30d.svg", NULL), 200), "%s", body);
    snprintf(file, sizeof(file), "%s/down30.svg", w.e.dir);
    save_body(file);
    svg_text(file, "value", text, sizeof(text));
    cr_expect(strcmp(text, "100%") != 0 && strlen(text) >= 2 && text[strlen(text) - 1] == '%',
              "a check that was down is below 100%%: '%s'", text);
    cr_expect(eq(int, get(&w, "/badge/nope/status.svg", NULL), 404));
    cr_expect(eq(int, get(&w, "/badge/" CHECK_UP "/other.svg", NULL), 404));
    world_close(&w);
}
