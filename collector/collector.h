/*
 * The collector: publishes the catalogue, consumes results through the
 * consumer group, keeps each check's state in memory written through to
 * Redis, and acknowledges an entry only in the same transaction (MULTI/EXEC)
 * that stores its effect.
 */
#ifndef NINES_COLLECTOR_H
#define NINES_COLLECTOR_H

#include <uv.h>

#include "nines/config.h"
#include "nines/err.h"

struct collector;

/* Takes cfg (freed by the collector). */
struct collector *collector_new(uv_loop_t *loop, struct nines_config *cfg,
                                struct nines_err *err);
/* Starts the embedded Redis when no address is configured, then connects. */
int collector_start(struct collector *c, struct nines_err *err);
/* Swaps in a new, already validated configuration (taken) and republishes. */
void collector_reload(struct collector *c, struct nines_config *cfg);
/* Finishes the batch in progress, closes connections, stops the embedded
 * Redis; the loop ends when all of it is done. */
void collector_stop(struct collector *c);
void collector_free(struct collector *c);

#endif
