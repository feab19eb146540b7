/*
 * The collector's JSON API under /api/v1, /metrics and push endpoints, on
 * the HTTP server of httpd.c. Roles: viewer reads, operator acknowledges
 * and manages maintenance, admin everything; pushes and /healthz are public.
 */
#ifndef NINES_API_H
#define NINES_API_H

#include <uv.h>

#include "collector.h"
#include "nines/err.h"

struct api;

/* Listens as configured (api.listen) and writes the bound address to
 * DATA_DIR/api.addr so scripts and tests can find a port chosen by the
 * kernel. */
struct api *api_start(uv_loop_t *loop, struct collector *c, struct nines_err *err);
/* The configuration was reloaded: tokens may have changed. */
void api_reload(struct api *a);
int api_port(const struct api *a);
/* Once a second: push checks whose ping is overdue get a failing result. */
void api_tick(struct api *a, int64_t now_ms);
void api_close(struct api *a, void (*closed)(void *), void *arg);

#endif
