/*
 * Partition leases: with collector.partitions = N > 1, results are spread
 * over N streams and each stream is owned by one collector at a time through
 * a lease in Redis (README "High availability and scale-out").
 *
 *   nines:lease:{P}        "<collector name>:<fencing token>", PX lease_ms
 *   nines:lease:{P}:fence  INCR'd at every acquisition: the fencing token
 *   nines:collectors       ZSET name -> last heartbeat (ms): live collectors
 *
 * Every tick (a third of the lease, at most 1 s) the module heartbeats,
 * renews what it owns (PEXPIRE only while the value is still ours) and takes
 * free partitions up to a fair share, ceil(N / live collectors), releasing
 * any excess. All of it goes over the caller's command connection, so a
 * renewal is ordered with the caller's transactions and never lands between
 * one's WATCH and EXEC (partitions_fence queues them together).
 */
#ifndef NINES_PARTITION_H
#define NINES_PARTITION_H

#include <hiredis/async.h>
#include <stdint.h>
#include <uv.h>

#include "rconn.h"

struct partitions;

/* The set of owned partitions changed (taken, released or lost). */
typedef void partitions_changed_cb(void *arg);

struct partitions *partitions_new(uv_loop_t *loop, struct rconn *cmd, const char *name, int n,
                                  int64_t lease_ms, partitions_changed_cb *cb, void *arg);
void partitions_start(struct partitions *p);
/* 1 when p holds partition i and its lease is certainly still valid by our
 * own clock (acquired or renewed less than lease_ms ago, minus a margin). */
int partitions_owned(const struct partitions *p, int i);
int partitions_owned_count(const struct partitions *p);
/* 1 when p holds partition i, its lease valid by our clock or not (yet
 * renewed): what a resync loads cursors for, reading waiting for validity. */
int partitions_held(const struct partitions *p, int i);
/*
 * Queues, before the caller's MULTI on ac: WATCH of every owned lease and
 * fence key, then per partition a script that bumps the fence key when the
 * lease is no longer ours, so the following EXEC aborts (nothing lands).
 * Returns the number of partitions fenced.
 */
int partitions_fence(struct partitions *p, redisAsyncContext *ac);
/* The command connection dropped: nothing is owned until the next tick. */
void partitions_reset(struct partitions *p);
/* A write was aborted: check the leases now rather than at the next tick. */
void partitions_check_now(struct partitions *p);
/* Releases every lease (graceful stop) and closes the timer; free after
 * the loop has run the close callback. */
void partitions_close(struct partitions *p);
void partitions_free(struct partitions *p);

#endif
