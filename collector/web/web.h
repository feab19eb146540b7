/*
 * The collector's built-in pages, all public (they hold no secret):
 *   GET /                         the ops dashboard (static HTML; its script reads
 *                                 the JSON API with a token the user pastes)
 *   GET /kpis                     the month's operational KPIs (/api/v1/kpis)
 *   GET /assets/NAME              the dashboard's and status page's JS and CSS,
 *                                 embedded into the binary at build time
 *   GET /status/CUSTOMER          a customer's status page (status.h)
 *   GET /status/CUSTOMER/feed.atom
 *   GET /badge/CHECK/status.svg   shields-style badges: "up", "down", ...
 *   GET /badge/CHECK/uptime-30d.svg   the check's uptime over the last 30 days
 * Every page is sent with a Content-Security-Policy of 'self' only.
 */
#ifndef NINES_WEB_H
#define NINES_WEB_H

#include "auth.h"
#include "collector.h"
#include "httpd.h"

struct web;

/* Registers the routes; NULL if that failed. The API's roles are accepted for
 * symmetry with the other route groups: every page here is public. */
struct web *web_routes(struct httpd *h, struct collector *c, enum auth_role viewer,
                       enum auth_role operator);
/* Answers what still waits (503) and frees w once no Redis reply is due. Call
 * before closing the httpd. NULL is a no-op. */
void web_close(struct web *w);

#endif
