/*
 * One c-ares 1.18 channel driven by a libuv loop: its sockets (c-ares
 * reports them through ARES_OPT_SOCK_STATE_CB) in an epoll set of its own,
 * watched by one uv_poll_t, and a uv timer armed from ares_timeout() after
 * every call into c-ares.
 *
 * ares_library_init is the caller's job, like curl_global_init for curl_uv:
 * call ares_library_init(ARES_LIB_INIT_ALL) once before the first
 * ares_uv_new and ares_library_cleanup at exit (on Linux 1.18 it only counts,
 * but nothing here relies on that). This module keeps no globals.
 *
 * c-ares may call a query's callback synchronously, from inside
 * ares_uv_query, ares_uv_close or any later processing, and ares_destroy
 * must never run inside one of its own callbacks. So ares_uv_close may be
 * called from anywhere, a query callback included: the channel is destroyed
 * once the outermost call into c-ares has returned.
 */
#ifndef NINES_CHECKS_ARES_UV_H
#define NINES_CHECKS_ARES_UV_H

#include <ares.h>
#include <uv.h>

struct ares_uv;

typedef void ares_uv_closed_cb(void *arg);

/*
 * Creates a channel on loop with opts/optmask; ARES_OPT_SOCK_STATE_CB is
 * added here (opts->sock_state_cb and its data are overwritten). servers,
 * when not NULL, replaces the configured name servers (ares_set_servers_ports). Returns 0 and sets *out, or NINES_ENOMEM,
 * NINES_EINVAL (options or servers rejected) or NINES_EIO; nothing is left
 * open on the loop on failure.
 */
int ares_uv_new(uv_loop_t *loop, struct ares_options *opts, int optmask,
                struct ares_addr_port_node *servers, struct ares_uv **out);

/*
 * ares_query on the channel (class IN). cb may run before this returns.
 * Returns 0, or NINES_ESTATE once ares_uv_close was called (cb never runs).
 */
int ares_uv_query(struct ares_uv *au, const char *name, int type, ares_callback cb,
                  void *arg);

/*
 * The socket c-ares is reading or writing right now (so a query callback can
 * tell which server answered), or ARES_SOCKET_BAD outside socket processing.
 */
ares_socket_t ares_uv_active_fd(const struct ares_uv *au);

/*
 * 1 when the channel can serve a new query as if fresh: no query pending, no
 * socket open (c-ares 1.18 closes them when its last query ends, unless
 * ARES_FLAG_STAYOPEN), not closing and not inside c-ares.
 */
int ares_uv_idle(struct ares_uv *au);

/*
 * Destroys the channel (pending queries call back with ARES_EDESTRUCTION,
 * synchronously unless we are inside c-ares, see above) and closes every
 * handle. closed(arg) runs from the loop once the last handle has closed,
 * and au is freed right after it. A second call is a no-op.
 */
void ares_uv_close(struct ares_uv *au, ares_uv_closed_cb *closed, void *arg);

#endif
