/*
 * Public status pages: /status/CUSTOMER (HTML that needs no JavaScript) and
 * /status/CUSTOMER/feed.atom (the customer's incidents as Atom).
 *
 * What is public: the customer's display name and time zone; for each of its
 * services the display name (`name`, else the id), the current state, 90
 * daily uptime figures (days of the customer's zone) with each day's count
 * and length of outages, and the service's outages (the times the service
 * itself was down, from its critical checks) and maintenance windows in
 * force or due within 14 days (times only). Never check ids, URLs, hosts,
 * probes, locations, error messages, maintenance reasons or tokens.
 *
 * The 90-day history is computed from Redis (sla.h) at most once a minute per
 * customer; a stale copy is served while a fresh one is computed, and only
 * the very first request of a customer waits for it. Current states come
 * from memory on every request.
 */
#ifndef NINES_STATUS_H
#define NINES_STATUS_H

#include "collector.h"
#include "httpd.h"

#define STATUS_DAYS 90
#define STATUS_TTL_MS 60000

struct status_pages;

struct status_pages *status_pages_new(struct collector *c);
/* Answers requests still waiting (503); frees p once no Redis reply is due. */
void status_pages_close(struct status_pages *p);
/* Answers r: the HTML page (atom 0) or the Atom feed (atom 1); 404 for an
 * unknown customer. */
void status_pages_serve(struct status_pages *p, struct httpd_req *r, const char *customer,
                        int atom);

#endif
