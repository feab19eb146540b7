/* A blocking HTTP client for tests (libcurl easy), loopback only. */
#ifndef NINES_TEST_HTTP_CLIENT_H
#define NINES_TEST_HTTP_CLIENT_H

#include <stddef.h>

/*
 * method "GET"/"POST"/"DELETE"; token NULL for none (else "Authorization:
 * Bearer token"); body NULL for none. Returns the HTTP status, or -1 when
 * the request failed. The response body (truncated to outlen-1) goes to out.
 */
int http_request(const char *method, const char *url, const char *token, const char *body,
                 char *out, size_t outlen);
/* The same with extra header lines ("Name: value"), a NULL-terminated list. */
int http_request_headers(const char *method, const char *url, const char *token,
                         const char *const *extra, const char *body, char *out, size_t outlen);

#endif
