/* A blocking HTTP client for tests; see http_client.h. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "http_client.h"

struct http_sink {
    char *out;
    size_t len, cap;
};

static size_t http_client_write(char *data, size_t size, size_t n, void *arg)
{
    struct http_sink *s = arg;
    size_t bytes = size * n, room = s->cap > s->len + 1 ? s->cap - s->len - 1 : 0;
    size_t take = bytes < room ? bytes : room;

    memcpy(s->out + s->len, data, take);
    s->len += take;
    s->out[s->len] = '\0';
    return bytes;
}

int http_request(const char *method, const char *url, const char *token, const char *body,
                 char *out, size_t outlen)
{
    return http_request_headers(method, url, token, NULL, body, out, outlen);
}

int http_request_headers(const char *method, const char *url, const char *token,
                         const char *const *extra, const char *body, char *out, size_t outlen)
{
    struct http_sink sink = { out, 0, outlen };
    struct curl_slist *hdrs = NULL;
    char auth[512];
    long status = -1;
    CURL *e = curl_easy_init();

    if (e == NULL || outlen == 0)
        return -1;
    out[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_client_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, extra[i]);
    if (body != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(e);
    return (int)status;
}
