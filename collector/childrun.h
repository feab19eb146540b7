/*
 * Children that compute something for the collector (`nines report`, `nines kpi`),
 * so that the collector's loop never waits on Redis reads of a whole month.
 *
 * The child is the `nines` binary next to nines-collector, run by libuv with
 * stdin closed. Its result is a file in dir (the collector's data_dir): the one
 * named where args holds childrun_output (`-o FILE`), or else its stdout. Its
 * stderr is kept too: logged (one line) and handed to done. Output and stderr
 * files are removed once done has returned.
 *
 * A pool is what one caller has running: its length caps concurrency, and
 * childrun_pool_kill stops them all when the collector closes.
 */
#ifndef NINES_CHILDRUN_H
#define NINES_CHILDRUN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "nines/err.h"

#define CHILDRUN_MAX_ARGS 24
#define CHILDRUN_ERRTEXT_MAX 512

/* Put this very pointer in args where the child takes its output file's path. */
extern const char childrun_output[];

struct childrun;

/* Zero-initialised: empty. */
struct childrun_pool {
    struct childrun *runs;     /* started and not yet closed */
    int running;               /* how many */
    /* Optional: called from the loop when a child that childrun_start could
     * not spawn has released its handle (running already lowered), since no
     * done runs for it. An owner that frees itself once running is 0 does it
     * there as in its done. */
    void (*unspawned)(struct childrun_pool *pool, void *arg);
    void *unspawned_arg;
};

struct childrun_result {
    int status;                /* 0; NINES_EIO: the child failed (exit status or signal);
                                * NINES_EPROTO: its output is missing or over max_bytes;
                                * NINES_ENOMEM */
    int64_t exit_status;
    int term_signal;
    const char *out;           /* status 0: the output, NUL-terminated (borrowed) */
    size_t len;
    const char *errtext;       /* the start of its stderr, on one line; "" when none */
};

typedef void childrun_done_cb(const struct childrun_result *res, void *arg);

/*
 * Runs `nines ARGS...` (args NULL-terminated, at most CHILDRUN_MAX_ARGS, without
 * the program name). On 0, done(res, arg) runs exactly once, from the loop, when
 * the child has exited; on failure (err filled) it never runs.
 */
int childrun_start(struct childrun_pool *pool, uv_loop_t *loop, const char *dir,
                   const char *const *args, size_t max_bytes, childrun_done_cb *done,
                   void *arg, struct nines_err *err);
/* SIGTERM to every child of the pool still running; their done still runs. */
void childrun_pool_kill(struct childrun_pool *pool);

#endif
