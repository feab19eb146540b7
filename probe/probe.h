/*
 * A probe: follows the catalogue in Redis, runs the checks assigned to its
 * location on schedule, and pushes every result.
 */
#ifndef NINES_PROBE_H
#define NINES_PROBE_H

#include <stddef.h>
#include <uv.h>

#include "nines/wire.h"

struct probe_opts {
    struct nines_redis_addr redis;
    char name[NINES_ID_LEN];
    char location[NINES_ID_LEN];
    size_t queue_max;             /* results kept while Redis is unreachable */
    int catalogue_poll_ms;        /* how often the catalogue version is read */
    char spool_dir[1024];         /* "" = no spool (results kept in memory only) */
    int spool_required;           /* fail to start if the spool cannot open */
    uint64_t spool_max_bytes;
    uint32_t spool_segment_bytes;
    int worker;                   /* this process's shard, 0..workers-1 */
    int workers;                  /* shards of the location's checks (0 or 1: all) */
    int graceful_close;           /* checks close with FIN, not a reset (check_env) */
    int max_inflight;             /* runs in flight at most; 0 = the default (1024) */
};

struct probe;

/* The shard (0..workers-1) that runs check id: FNV-1a of the id mod workers,
 * the same in every process and every release. */
int probe_shard(const char *id, int workers);

/* NULL on failure, with err saying why (out of memory, or a required
 * spool that cannot be opened). */
struct probe *probe_new(uv_loop_t *loop, const struct probe_opts *o, struct nines_err *err);
void probe_start(struct probe *p);
/* Stops scheduling, gives queued results up to drain_ms to reach Redis,
 * then closes everything; the loop ends once it is done. */
void probe_stop(struct probe *p, int drain_ms);
/* Frees what is left; call after the loop has ended. */
void probe_free(struct probe *p);

#endif
