/*
 * Pushes results into the results stream: a bounded in-memory queue of
 * results not yet acknowledged by Redis, sent pipelined (XADD) with a cap on
 * commands in flight. A result leaves the queue only when its XADD reply
 * arrives; on a lost connection everything unacknowledged is sent again.
 * When the queue is full the oldest result is dropped and counted.
 *
 * With a spool (push_set_spool), results go to disk instead while Redis is
 * unreachable, while the spool is not empty, or past mem_max queued; they
 * come back into the queue, oldest first, while connected. Each run of a
 * probe sends its results in seq order and Redis skips a seq it has (see
 * push.c), so a resend after a lost reply or a restart is not a duplicate.
 */
#ifndef NINES_PUSH_H
#define NINES_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "nines/result.h"
#include "rconn.h"
#include <uv.h>

struct push;

struct push_stats {
    uint64_t enqueued;
    uint64_t acked;
    uint64_t dropped;     /* oldest results dropped because the queue was full */
    uint64_t rejected;    /* XADD answered with an error */
    uint64_t duplicates;  /* resent results Redis already had (skipped there) */
    uint64_t spooled;     /* results written to the spool */
    size_t queued;        /* not yet acknowledged */
};

struct spool;

struct push *push_new(struct rconn *rc, size_t cap, size_t max_inflight);
/* Borrows s (the caller closes it after push_free); mem_max as above. */
int push_set_spool(struct push *p, struct spool *s, size_t mem_max);
/*
 * Coalescing: with a loop and delay_ms > 0, a result that does not fill a
 * call waits up to delay_ms for others to share it (one script call then
 * carries them all; at a few thousand results a second most calls carried
 * one result). delay_ms 0 (the default) sends at once. push_stop_flush
 * sends what waits and closes the timer; later results are sent at once.
 * Call it before closing the connection: a flush still due would send on it.
 */
void push_set_flush(struct push *p, uv_loop_t *loop, unsigned delay_ms);
void push_stop_flush(struct push *p);
/* Copies r into the queue and sends when connected. */
void push_enqueue(struct push *p, const struct nines_result *r);
/* The connection is up: start (re)sending from the oldest unacknowledged. */
void push_resume(struct push *p);
/* The connection is down: what was in flight will be sent again. */
void push_lost(struct push *p);
/* Stopping: moves what is only in memory into the spool (if any) and
 * ignores replies from now on; later results go to the spool. */
void push_save(struct push *p);
void push_set_maxlen(struct push *p, int64_t maxlen);
/*
 * Results enqueued from now on go in the packed wire form (version 2) when
 * on, else in the pairs form (version 1), which every collector reads. The
 * probe turns it on when the collector says it reads the packed form
 * (NINES_KEY_WIRE); off by default. Queued results keep their form.
 */
void push_set_packed(struct push *p, int on);
/* The catalogue's partition count: results go to their check's partition stream. */
void push_set_partitions(struct push *p, int partitions);
void push_get_stats(const struct push *p, struct push_stats *st);
/* Frees the queue; call only once the connection is closed and its
 * pending callbacks have run (after the loop has finished). A flush timer
 * still open is closed here: the loop frees it when it next runs. */
void push_free(struct push *p);

#endif
