/* The monthly reports in the HTTP API; see api_reports.c. */
#ifndef NINES_API_REPORTS_H
#define NINES_API_REPORTS_H

#include "auth.h"
#include "collector.h"
#include "httpd.h"

int api_reports_routes(struct httpd *h, struct collector *c, enum auth_role viewer);
/* Answers the requests whose reports are still being computed (503) and
 * stops their children: before the HTTP server closes. */
void api_reports_close(void);

#endif
