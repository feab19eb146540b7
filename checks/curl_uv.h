/*
 * libcurl's multi-socket API driven by a libuv loop.
 *
 * The caller runs curl_global_init(CURL_GLOBAL_DEFAULT) once, before the
 * first curl_uv_new (the probe's main and the tests do): this module keeps no
 * globals and never calls curl_global_*.
 *
 * A transfer is an easy handle the caller configures; curl_uv_add hands it to
 * the multi handle. When the transfer ends, the easy handle has already been
 * removed from the multi handle and done(easy, rc, arg) runs from the loop,
 * never inside curl_uv_add; from then on the callback owns the easy handle and
 * must curl_easy_cleanup it (or hand it back with curl_uv_easy_put). done may
 * call curl_uv_add or curl_uv_close.
 *
 * Easy handles may come from a small pool of idle ones (curl_uv_easy_get),
 * so that a run does not pay for creating and destroying a handle and its
 * buffers: a pooled handle has been through curl_easy_reset, so it carries
 * no option of its previous transfer (connections are not kept across
 * transfers of ours: the callers set FORBID_REUSE).
 */
#ifndef NINES_CHECKS_CURL_UV_H
#define NINES_CHECKS_CURL_UV_H

#include <curl/curl.h>
#include <uv.h>

/* The code a transfer's done callback gets when curl_uv_close aborted it. */
#define CURL_UV_ABORTED CURLE_ABORTED_BY_CALLBACK

typedef void curl_uv_done_cb(CURL *easy, CURLcode rc, void *arg);

struct curl_uv;

/* Returns NULL when memory or the multi handle cannot be had. */
struct curl_uv *curl_uv_new(uv_loop_t *loop);

/*
 * Starts the transfer. curl_uv uses the easy handle's CURLOPT_PRIVATE: the
 * caller must not set it. Returns 0, or a negative NINES_E* (done is then not
 * called and the caller keeps the easy handle): NINES_ESTATE after
 * curl_uv_close, NINES_ENOMEM, NINES_EIO when curl refuses the handle.
 */
int curl_uv_add(struct curl_uv *cu, CURL *easy, curl_uv_done_cb *done, void *arg);

/* An easy handle with every option at its default: from the pool, or new. NULL on ENOMEM. */
CURL *curl_uv_easy_get(struct curl_uv *cu);

/*
 * Takes back an easy handle that is in no multi handle (a done callback's,
 * or one from curl_uv_easy_get never added): reset and kept for the next
 * curl_uv_easy_get, or cleaned up when the pool is full or cu is closing.
 * cu may be NULL (the env's curl_uv is gone): the handle is cleaned up.
 */
void curl_uv_easy_put(struct curl_uv *cu, CURL *easy);

/*
 * Gives easy's TCP connections sockets kept by cu: a socket curl is done
 * with is disconnected with a reset (connect(AF_UNSPEC): the peer gets a RST,
 * the local port is released) and the next connection connects it again,
 * from a new port with a full handshake: as fresh a connection as any, without
 * socket(), its set-up and close(). At most 64 idle per address family; a
 * socket closed instead (pool full, cu closing) also ends with a reset
 * (SO_LINGER 0). For callers that close every connection with a reset and
 * never bind one (CURLOPT_INTERFACE, CURLOPT_LOCALPORT): a kept socket
 * would keep its binding. Sets CURLOPT_TCP_NODELAY to 0, as the sockets
 * carry TCP_NODELAY from their creation. 0, or NINES_EIO.
 */
int curl_uv_easy_reuse_sockets(struct curl_uv *cu, CURL *easy);

/*
 * Aborts every transfer in flight and closes every handle. The aborted
 * transfers' done callbacks get CURL_UV_ABORTED, from the loop, once the last
 * handle has closed; cu is freed right after, so run the loop until it has
 * nothing left and do not touch cu afterwards. A second call made before
 * then (from one of those done callbacks, say) is a no-op.
 */
void curl_uv_close(struct curl_uv *cu);

#endif
