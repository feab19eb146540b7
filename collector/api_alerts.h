/* The alerting routes of the HTTP API (alerts, silences, delivery log,
 * PagerDuty's webhooks); see api_alerts.c. */
#ifndef NINES_API_ALERTS_H
#define NINES_API_ALERTS_H

#include "auth.h"
#include "collector.h"
#include "httpd.h"

int api_alerts_routes(struct httpd *h, struct collector *c, enum auth_role viewer,
                      enum auth_role operator);

#endif
