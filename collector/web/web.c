/* The built-in pages: dashboard, assets, status pages, badges; see web.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "badge.h"
#include "nines/clock.h"
#include "sla.h"
#include "status.h"
#include "uptime.h"
#include "web.h"
#include "web_assets.h"
#include "webbuf.h"

#define WEB_BADGE_CACHE 128        /* checks whose 30-day uptime is remembered */
#define WEB_BADGE_INFLIGHT 32      /* uptime computations at once */
#define WEB_BADGE_TTL_MS 60000

#define WEB_CSP "default-src 'self'; img-src 'self' data:; object-src 'none'; " \
                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct web_uptime {                /* a check's cached 30-day uptime */
    char id[NINES_ID_LEN];
    int64_t computed_ms;
    double uptime;
    int no_data;
};

struct web_badge_fetch {
    struct web *w;
    struct httpd_req *req;         /* NULL once answered at close */
    char id[NINES_ID_LEN];
    int64_t from_ms, to_ms;
};

struct web {
    struct collector *c;
    struct status_pages *status;
    struct web_uptime up[WEB_BADGE_CACHE];
    struct web_badge_fetch *inflight[WEB_BADGE_INFLIGHT];
    size_t ninflight;
    int closing;
};

static void web_security_headers(struct httpd_req *r, const char *csp, const char *cache)
{
    httpd_add_header(r, "Content-Security-Policy", csp);
    httpd_add_header(r, "X-Content-Type-Options", "nosniff");
    httpd_add_header(r, "Referrer-Policy", "no-referrer");
    httpd_add_header(r, "Cache-Control", cache);
}

static const struct web_asset *web_asset(const char *name)
{
    for (size_t i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    return NULL;
}

static void web_send_asset(struct httpd_req *r, const char *name)
{
    const struct web_asset *a = web_asset(name);

    if (a == NULL) {
        httpd_respond_text(r, 404, "text/plain; charset=utf-8", "no such asset\n", 14);
        return;
    }
    web_security_headers(r, WEB_CSP, "no-cache");
    httpd_respond_text(r, 200, a->type, (const char *)a->data, a->len);
}

/* GET / : the dashboard shell; its script does the rest. */
static void web_dashboard(struct httpd_req *r, void *arg)
{
    (void)arg;
    web_send_asset(r, "dashboard.html");
}

/* GET /kpis : the month's KPI table; its script reads /api/v1/kpis. */
static void web_kpis(struct httpd_req *r, void *arg)
{
    (void)arg;
    web_send_asset(r, "kpis.html");
}

/* GET /assets/NAME */
static void web_assets_route(struct httpd_req *r, void *arg)
{
    (void)arg;
    if (strcmp(httpd_rest(r), "dashboard.html") == 0 ||     /* served at / only */
        strcmp(httpd_rest(r), "kpis.html") == 0) {          /* and at /kpis */
        httpd_respond_text(r, 404, "text/plain; charset=utf-8", "no such asset\n", 14);
        return;
    }
    web_send_asset(r, httpd_rest(r));
}

/* Ids are letters, digits and "-_." (as the configuration allows); anything
 * else in a public URL is answered 404 without a lookup. */
static int web_id_ok(const char *s, size_t n)
{
    if (n == 0 || n >= NINES_ID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

/* GET /status/CUSTOMER and /status/CUSTOMER/feed.atom */
static void web_status(struct httpd_req *r, void *arg)
{
    struct web *w = arg;
    const char *rest = httpd_rest(r), *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    char id[NINES_ID_LEN];
    int atom = slash != NULL && strcmp(slash, "/feed.atom") == 0;

    if (!web_id_ok(rest, n) || (slash != NULL && !atom && strcmp(slash, "/") != 0)) {
        httpd_respond_text(r, 404, "text/plain; charset=utf-8", "no such status page\n", 20);
        return;
    }
    memcpy(id, rest, n);
    id[n] = '\0';
    web_security_headers(r, WEB_CSP, "public, max-age=30");
    status_pages_serve(w->status, r, id, atom);
}

/* ---- badges --------------------------------------------------------------- */

static void web_send_badge(struct httpd_req *r, const char *label, const char *value,
                           const char *color)
{
    struct webbuf b;

    webbuf_init(&b, 16384);
    badge_svg(&b, label, value, color);
    if (b.failed) {
        httpd_respond_error(r, 500, "badge too large");
    } else {
        web_security_headers(r, "default-src 'none'", "public, max-age=60");
        httpd_respond_text(r, 200, "image/svg+xml; charset=utf-8", b.s, b.len);
    }
    webbuf_close(&b);
}

static void web_send_uptime_badge(struct httpd_req *r, const struct web_uptime *u)
{
    char text[16];

    if (u->no_data) {
        web_send_badge(r, "uptime 30d", "no data", BADGE_GREY);
        return;
    }
    badge_uptime_text(u->uptime, text, sizeof(text));
    web_send_badge(r, "uptime 30d", text, badge_uptime_color(u->uptime));
}

static struct web_uptime *web_uptime_slot(struct web *w, const char *id, int create)
{
    struct web_uptime *oldest = &w->up[0];

    for (size_t i = 0; i < WEB_BADGE_CACHE; i++) {
        if (strcmp(w->up[i].id, id) == 0)
            return &w->up[i];
        if (w->up[i].computed_ms < oldest->computed_ms)
            oldest = &w->up[i];
    }
    if (!create)
        return NULL;
    snprintf(oldest->id, sizeof(oldest->id), "%s", id);
    oldest->computed_ms = 0;
    return oldest;
}

static void web_inflight_remove(struct web *w, struct web_badge_fetch *f)
{
    for (size_t i = 0; i < w->ninflight; i++)
        if (w->inflight[i] == f) {
            w->inflight[i] = w->inflight[--w->ninflight];
            return;
        }
}

static void web_on_badge_uptime(struct sla_query *q, int status, void *arg)
{
    struct web_badge_fetch *f = arg;
    struct web *w = f->w;
    struct uptime_result u;
    struct web_uptime *slot;

    web_inflight_remove(w, f);
    if (status == 0 && !w->closing && collector_check_index(w->c, f->id) >= 0 &&
        sla_check_uptime(w->c, q, 0, f->from_ms, f->to_ms, &u) == 0) {
        slot = web_uptime_slot(w, f->id, 1);
        slot->computed_ms = f->to_ms;
        slot->uptime = u.uptime;
        slot->no_data = u.no_eligible_time;
        if (f->req != NULL)
            web_send_uptime_badge(f->req, slot);
    } else if (f->req != NULL) {
        httpd_respond_error(f->req, 503, "uptime could not be computed");
    }
    sla_free(q);
    free(f);
    if (w->closing && w->ninflight == 0)
        web_close(w);
}

static void web_uptime_badge(struct web *w, struct httpd_req *r, const char *id)
{
    struct web_uptime *u = web_uptime_slot(w, id, 0);
    int64_t now = nines_wall_ms();
    struct web_badge_fetch *f;
    const char *ids[1] = { id };

    if (u != NULL && u->computed_ms > 0 && now - u->computed_ms < WEB_BADGE_TTL_MS &&
        now >= u->computed_ms) {
        web_send_uptime_badge(r, u);
        return;
    }
    if (w->ninflight >= WEB_BADGE_INFLIGHT || (f = calloc(1, sizeof(*f))) == NULL) {
        httpd_respond_error(r, 503, "too many badges being computed; retry");
        return;
    }
    f->w = w;
    f->req = r;
    snprintf(f->id, sizeof(f->id), "%s", id);
    uptime_window_range(UPTIME_30D, now, &f->from_ms, &f->to_ms);
    w->inflight[w->ninflight++] = f;
    if (sla_fetch(w->c, ids, 1, f->from_ms, f->to_ms, web_on_badge_uptime, f) == NULL) {
        web_inflight_remove(w, f);
        free(f);
        httpd_respond_error(r, 503, "Redis is unreachable");
    }
}

/* GET /badge/CHECK/status.svg and /badge/CHECK/uptime-30d.svg */
static void web_badge(struct httpd_req *r, void *arg)
{
    struct web *w = arg;
    const char *rest = httpd_rest(r), *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : 0;
    char id[NINES_ID_LEN];
    long i;

    if (slash == NULL || !web_id_ok(rest, n)) {
        httpd_respond_error(r, 404, "use /badge/CHECK/status.svg or /badge/CHECK/uptime-30d.svg");
        return;
    }
    memcpy(id, rest, n);
    id[n] = '\0';
    i = collector_check_index(w->c, id);
    if (i < 0) {
        httpd_respond_error(r, 404, "no such check");
        return;
    }
    if (strcmp(slash, "/status.svg") == 0) {
        enum check_state_kind k = collector_check_state(w->c, (size_t)i)->state;

        web_send_badge(r, "status", k == CHECK_UP     ? "up"
                                    : k == CHECK_DOWN ? "down"
                                    : k == CHECK_DEGRADED ? "degraded" : "unknown",
                       k == CHECK_UP     ? BADGE_GREEN
                       : k == CHECK_DOWN ? BADGE_RED
                       : k == CHECK_DEGRADED ? BADGE_YELLOW : BADGE_GREY);
    } else if (strcmp(slash, "/uptime-30d.svg") == 0) {
        web_uptime_badge(w, r, id);
    } else {
        httpd_respond_error(r, 404, "use /badge/CHECK/status.svg or /badge/CHECK/uptime-30d.svg");
    }
}

/* ---- setup ---------------------------------------------------------------- */

struct web *web_routes(struct httpd *h, struct collector *c, enum auth_role viewer,
                       enum auth_role operator)
{
    struct web *w = calloc(1, sizeof(*w));
    int rc = 0;

    (void)viewer;
    (void)operator;
    if (w == NULL)
        return NULL;
    w->c = c;
    w->status = status_pages_new(c);
    if (w->status == NULL) {
        free(w);
        return NULL;
    }
    rc |= httpd_route(h, "GET", "/", HTTPD_PUBLIC, web_dashboard, w);
    rc |= httpd_route(h, "GET", "/kpis", HTTPD_PUBLIC, web_kpis, w);
    rc |= httpd_route(h, "GET", "/assets/*", HTTPD_PUBLIC, web_assets_route, w);
    rc |= httpd_route(h, "GET", "/status/*", HTTPD_PUBLIC, web_status, w);
    rc |= httpd_route(h, "GET", "/badge/*", HTTPD_PUBLIC, web_badge, w);
    if (rc != 0) {      /* api_start gives up and closes the server */
        web_close(w);
        return NULL;
    }
    return w;
}

void web_close(struct web *w)
{
    if (w == NULL)
        return;
    if (!w->closing) {
        w->closing = 1;
        status_pages_close(w->status);
        w->status = NULL;
        for (size_t i = 0; i < w->ninflight; i++)
            if (w->inflight[i]->req != NULL) {
                httpd_respond_error(w->inflight[i]->req, 503, "the server is shutting down");
                w->inflight[i]->req = NULL;
            }
    }
    if (w->ninflight == 0)
        free(w);
}
