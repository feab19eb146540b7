/*
 * The check catalogue as JSON, as the collector publishes it in Redis and
 * the probes read it back:
 *
 *   {"checks":[{"failures_to_down":2,"http":{...},"id":"web","interval_ms":30000,
 *     "kind":"http","locations":["eu"],"successes_to_up":1,"timeout_ms":10000}],
 *    "version":1}
 *
 * Keys are sorted and the output is compact, so one catalogue always gives
 * the same bytes, and their FNV-1a hash can serve as the catalogue version.
 * Defaults are written out in full (method "GET", expect_status "200-399"),
 * so a probe never depends on the collector's defaults.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nines/wire.h"

#define CAT_FORMAT_VERSION 1

uint64_t nines_fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* json_string() fails on NULL and on text that is not UTF-8: both make the
 * catalogue unencodable, like an allocation failure. */
static json_t *cat_http_to_json(const struct nines_http_opts *h)
{
    json_t *o = json_object();
    int rc = 0;

    if (o == NULL)
        return NULL;
    rc |= json_object_set_new(o, "url", json_string(h->url));
    rc |= json_object_set_new(o, "method", json_string(h->method ? h->method : "GET"));
    rc |= json_object_set_new(o, "expect_status",
                              json_string(h->expect_status ? h->expect_status : "200-399"));
    rc |= json_object_set_new(o, "follow_redirects", json_integer(h->follow_redirects));
    rc |= json_object_set_new(o, "verify_tls", json_boolean(h->verify_tls));
    rc |= json_object_set_new(o, "max_body_bytes", json_integer(h->max_body_bytes));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *cat_check_to_json(const struct nines_check *c)
{
    json_t *o = json_object();
    json_t *locs = json_array();
    int rc = 0;

    if (o == NULL || locs == NULL) {
        json_decref(o);
        json_decref(locs);
        return NULL;
    }
    for (size_t i = 0; i < c->locations_count; i++)
        rc |= json_array_append_new(locs, json_string(c->locations[i]));
    rc |= json_object_set_new(o, "locations", locs);
    rc |= json_object_set_new(o, "id", json_string(c->id));
    rc |= json_object_set_new(o, "kind", json_string(nines_check_kind_name(c->kind)));
    rc |= json_object_set_new(o, "interval_ms", json_integer(c->interval_ms));
    rc |= json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));
    rc |= json_object_set_new(o, "failures_to_down", json_integer(c->failures_to_down));
    rc |= json_object_set_new(o, "successes_to_up", json_integer(c->successes_to_up));
    rc |= json_object_set_new(o, "http", cat_http_to_json(&c->http));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * Returns malloc'd JSON, or NULL when memory ran out or a check cannot be
 * encoded (NULL id or url, text that is not UTF-8).
 */
char *nines_catalogue_encode(const struct nines_check *checks, size_t count)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    char *text = NULL;
    int rc = 0;

    if (root == NULL || arr == NULL) {
        json_decref(root);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        rc |= json_array_append_new(arr, cat_check_to_json(&checks[i]));
    rc |= json_object_set_new(root, "checks", arr);
    rc |= json_object_set_new(root, "version", json_integer(CAT_FORMAT_VERSION));
    if (rc == 0)
        text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    return text;
}

/* Where decoding is: the check index (-1 for the top level) and the error. */
struct cat_ctx {
    long index;
    struct nines_err *err;
};

static int cat_fail(struct cat_ctx *x, const char *key, const char *what)
{
    if (x->index < 0)
        return nines_err_set(x->err, NINES_EPROTO, "catalogue: field '%s': %s", key, what);
    return nines_err_set(x->err, NINES_EPROTO, "catalogue: check %ld: field '%s': %s",
                         x->index, key, what);
}

/* An optional integer in [min, max]; *out keeps its value when absent. */
static int cat_get_int(struct cat_ctx *x, json_t *o, const char *key, int required,
                       int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    char what[96];

    if (v == NULL)
        return required ? cat_fail(x, key, "missing") : 0;
    if (!json_is_integer(v))
        return cat_fail(x, key, "not an integer");
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(what, sizeof(what), "%lld out of range [%lld, %lld]",
                 (long long)json_integer_value(v), (long long)min, (long long)max);
        return cat_fail(x, key, what);
    }
    *out = json_integer_value(v);
    return 0;
}

static int cat_get_small_int(struct cat_ctx *x, json_t *o, const char *key, int min, int *out)
{
    int64_t v = *out;
    int rc = cat_get_int(x, o, key, 0, min, INT_MAX, &v);

    if (rc == 0)
        *out = (int)v;
    return rc;
}

/* A non-empty string shorter than max bytes (0 = any length), strdup'd into
 * *out (whose previous value is freed). */
static int cat_check_str(struct cat_ctx *x, const char *key, json_t *v, size_t max)
{
    char what[64];

    if (!json_is_string(v))
        return cat_fail(x, key, "not a string");
    if (json_string_length(v) == 0)
        return cat_fail(x, key, "empty");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return cat_fail(x, key, "contains a NUL byte");
    if (max > 0 && json_string_length(v) >= max) {
        snprintf(what, sizeof(what), "too long (%zu bytes, max %zu)", json_string_length(v),
                 max - 1);
        return cat_fail(x, key, what);
    }
    return 0;
}

static int cat_get_str(struct cat_ctx *x, json_t *o, const char *key, int required, size_t max,
                       char **out)
{
    json_t *v = json_object_get(o, key);
    char *s;
    int rc;

    if (v == NULL)
        return required ? cat_fail(x, key, "missing") : 0;
    rc = cat_check_str(x, key, v, max);
    if (rc < 0)
        return rc;
    s = strdup(json_string_value(v));
    if (s == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "catalogue: out of memory");
    free(*out);
    *out = s;
    return 0;
}

static int cat_get_locations(struct cat_ctx *x, json_t *o, struct nines_check *c)
{
    json_t *arr = json_object_get(o, "locations");
    size_t n;
    int rc;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return cat_fail(x, "locations", "not an array");
    n = json_array_size(arr);
    if (n == 0)
        return 0;
    c->locations = calloc(n, sizeof(*c->locations));
    if (c->locations == NULL)
        return nines_err_set(x->err, NINES_ENOMEM, "catalogue: out of memory");
    for (size_t i = 0; i < n; i++) {
        rc = cat_check_str(x, "locations", json_array_get(arr, i), NINES_ID_LEN);
        if (rc < 0)
            return rc;
        c->locations[i] = strdup(json_string_value(json_array_get(arr, i)));
        if (c->locations[i] == NULL)
            return nines_err_set(x->err, NINES_ENOMEM, "catalogue: out of memory");
        c->locations_count++;
    }
    return 0;
}

static int cat_get_http(struct cat_ctx *x, json_t *o, struct nines_http_opts *h)
{
    json_t *http = json_object_get(o, "http");
    json_t *tls;
    int rc;

    if (http == NULL)
        return cat_fail(x, "http", "missing");
    if (!json_is_object(http))
        return cat_fail(x, "http", "not an object");
    if ((rc = cat_get_str(x, http, "url", 1, 0, &h->url)) < 0
        || (rc = cat_get_str(x, http, "method", 0, 0, &h->method)) < 0
        || (rc = cat_get_str(x, http, "expect_status", 0, 0, &h->expect_status)) < 0
        || (rc = cat_get_small_int(x, http, "follow_redirects", 0, &h->follow_redirects)) < 0
        || (rc = cat_get_int(x, http, "max_body_bytes", 0, 0, INT64_MAX,
                             &h->max_body_bytes)) < 0)
        return rc;
    tls = json_object_get(http, "verify_tls");
    if (tls != NULL) {
        if (!json_is_boolean(tls))
            return cat_fail(x, "verify_tls", "not a boolean");
        h->verify_tls = json_is_true(tls);
    }
    return 0;
}

/* Fills c (zeroed by the caller) from one element of "checks". */
static int cat_check_from_json(struct cat_ctx *x, json_t *o, struct nines_check *c)
{
    char *kind = NULL;
    char what[96];
    int rc;

    if (!json_is_object(o))
        return nines_err_set(x->err, NINES_EPROTO, "catalogue: check %ld: not an object",
                             x->index);
    nines_check_defaults(c);
    rc = cat_get_str(x, o, "kind", 1, 0, &kind);
    if (rc == 0 && nines_check_kind_parse(kind, &c->kind) < 0) {
        snprintf(what, sizeof(what), "unknown check kind '%.40s'", kind);
        rc = cat_fail(x, "kind", what);
    }
    free(kind);
    if (rc < 0)
        return rc;
    if ((rc = cat_get_str(x, o, "id", 1, NINES_ID_LEN, &c->id)) < 0
        || (rc = cat_get_int(x, o, "interval_ms", 1, 1, INT64_MAX, &c->interval_ms)) < 0
        || (rc = cat_get_int(x, o, "timeout_ms", 1, 1, INT64_MAX, &c->timeout_ms)) < 0
        || (rc = cat_get_locations(x, o, c)) < 0
        || (rc = cat_get_small_int(x, o, "failures_to_down", 1, &c->failures_to_down)) < 0
        || (rc = cat_get_small_int(x, o, "successes_to_up", 1, &c->successes_to_up)) < 0)
        return rc;
    return cat_get_http(x, o, &c->http);
}

static int cat_checks_from_json(struct cat_ctx *x, json_t *arr, struct nines_check *checks)
{
    size_t n = json_array_size(arr);
    int rc;

    for (size_t i = 0; i < n; i++) {
        x->index = (long)i;
        rc = cat_check_from_json(x, json_array_get(arr, i), &checks[i]);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(checks[j].id, checks[i].id) == 0)
                return cat_fail(x, "id", "duplicate check id");
        }
    }
    return 0;
}

static int cat_decode_root(json_t *root, struct nines_check **out, size_t *count,
                           struct nines_err *err)
{
    struct cat_ctx x = { -1, err };
    struct nines_check *checks;
    json_t *arr;
    int64_t version = 0;
    size_t n;
    int rc;

    if (!json_is_object(root))
        return nines_err_set(err, NINES_EPROTO, "catalogue: not a JSON object");
    rc = cat_get_int(&x, root, "version", 1, CAT_FORMAT_VERSION, CAT_FORMAT_VERSION, &version);
    if (rc < 0)
        return rc;
    arr = json_object_get(root, "checks");
    if (arr == NULL)
        return cat_fail(&x, "checks", "missing");
    if (!json_is_array(arr))
        return cat_fail(&x, "checks", "not an array");
    n = json_array_size(arr);
    checks = calloc(n > 0 ? n : 1, sizeof(*checks));    /* never NULL on success */
    if (checks == NULL)
        return nines_err_set(err, NINES_ENOMEM, "catalogue: out of memory");
    rc = cat_checks_from_json(&x, arr, checks);
    if (rc < 0) {
        nines_checks_free(checks, n);   /* checks past the failure are still zeroed */
        return rc;
    }
    *out = checks;
    *count = n;
    return 0;
}

/*
 * On success *out (never NULL, even for no checks) and *count belong to the
 * caller: free with nines_checks_free. On failure neither is touched.
 */
int nines_catalogue_decode(const char *json, size_t len, struct nines_check **out,
                           size_t *count, struct nines_err *err)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    if (json == NULL)
        return nines_err_set(err, NINES_EINVAL, "catalogue: no text");
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return nines_err_set(err, NINES_EPROTO, "catalogue: not JSON: %s (line %d, column %d)",
                             jerr.text, jerr.line, jerr.column);
    rc = cat_decode_root(root, out, count, err);
    json_decref(root);
    return rc;
}
