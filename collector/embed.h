/*
 * The embedded Redis: with no address configured, the collector runs its own
 * redis-server (AOF on, Unix socket in the data directory, no TCP port),
 * restarts it when it dies and stops it on exit.
 */
#ifndef NINES_EMBED_H
#define NINES_EMBED_H

#include <uv.h>

#include "nines/err.h"

struct embed;
typedef void embed_stopped_cb(void *arg);

/* Creates data_dir if needed, stops a stale server left by a collector
 * that died, and starts redis-server. */
struct embed *embed_start(uv_loop_t *loop, const char *data_dir, const char *server_bin,
                          struct nines_err *err);
/* The server's Unix socket path. */
const char *embed_socket(const struct embed *e);
/* The running server's pid, or 0. */
int embed_pid(const struct embed *e);
/* SIGTERM (Redis writes its AOF), wait for it to exit, free, call done. */
void embed_stop(struct embed *e, embed_stopped_cb *done, void *arg);

#endif
