/*
 * HTTP(S) checks on curl_uv: one fresh connection per run, a hard deadline,
 * a bounded body, and a stable reason code for every way a check can fail.
 */
#ifndef NINES_CHECKS_HTTP_H
#define NINES_CHECKS_HTTP_H

#include <curl/curl.h>

#include "check.h"

#define CHECK_HTTP_EXPECT_MAX 16       /* codes and ranges in one spec */
#define CHECK_HTTP_EXPECT_TEXT 128     /* longest spec, with its NUL */

/* A parsed expect_status: "200-299,301,404" (codes 100-599). */
struct check_http_expect {
    int count;
    struct {
        int lo;
        int hi;
    } range[CHECK_HTTP_EXPECT_MAX];
    char text[CHECK_HTTP_EXPECT_TEXT];  /* the spec as given, for messages */
};

/*
 * Starts an HTTP check as check_start does (c->kind must be HTTP). Returns
 * NINES_EINVAL for a bad option (no URL, timeout_ms <= 0, bad expect_status
 * or method, negative follow_redirects or max_body_bytes).
 */
int check_http_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg);

/*
 * Parses a comma-separated list of codes and ranges ("200-399", "200-299, 301").
 * Returns 0, or NINES_EINVAL (empty item, code outside 100-599, lo > hi, more
 * than CHECK_HTTP_EXPECT_MAX items, spec too long).
 */
int check_http_expect_parse(const char *spec, struct check_http_expect *e);
/* 1 when code is in the set. */
int check_http_expect_match(const struct check_http_expect *e, int code);

/*
 * The one translation of a finished transfer's CURLcode into an outcome and a
 * stable reason ("" for CURLE_OK: the status is judged separately).
 * verify_result is CURLINFO_SSL_VERIFYRESULT; connected is 1 when a TCP
 * connection was made (CURLINFO_CONNECT_TIME_T > 0).
 */
enum nines_outcome check_http_classify(CURLcode rc, long verify_result, int connected,
                                       const char **reason);

#endif
