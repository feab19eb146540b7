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
 * must curl_easy_cleanup it. done may call curl_uv_add or curl_uv_close.
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

/*
 * Aborts every transfer in flight and closes every handle. The aborted
 * transfers' done callbacks get CURL_UV_ABORTED, from the loop, once the last
 * handle has closed; cu is freed right after, so run the loop until it has
 * nothing left and do not touch cu afterwards. A second call made before
 * then (from one of those done callbacks, say) is a no-op.
 */
void curl_uv_close(struct curl_uv *cu);

#endif
