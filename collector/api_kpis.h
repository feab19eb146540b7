/* The operational KPIs in the HTTP API; see api_kpis.c. */
#ifndef NINES_API_KPIS_H
#define NINES_API_KPIS_H

#include "auth.h"
#include "collector.h"
#include "httpd.h"

int api_kpis_routes(struct httpd *h, struct collector *c, enum auth_role viewer);
/* Answers the requests whose KPIs are still being computed (503) and stops
 * their children: before the HTTP server closes. */
void api_kpis_close(void);
/* 0 when month is YYYY-MM, from 1971-01 to the month UTC+14 is in at now_ms
 * (the earliest time zone's current month), else -1. */
int api_kpis_month_ok(const char *month, int64_t now_ms);

#endif
