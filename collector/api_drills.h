/* The drill routes of the HTTP API; see api_drills.c. */
#ifndef NINES_API_DRILLS_H
#define NINES_API_DRILLS_H

#include "auth.h"
#include "collector.h"
#include "httpd.h"

int api_drills_routes(struct httpd *h, struct collector *c, enum auth_role viewer,
                      enum auth_role operator);

#endif
