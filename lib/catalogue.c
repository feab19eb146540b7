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
 *
 * Each check carries the options of its own kind in an object named after
 * the kind ("http", "dns", "tcp", "icmp", "host", "push"), keyed by the member names
 * of the kind's struct. The options are listed once, in lib/checkopt.c. The
 * original http options (url, method, expect_status, follow_redirects,
 * verify_tls, max_body_bytes) are always written out in full, defaults
 * included; every other option is left out while it has its default (NULL,
 * 0, empty), and the decoder starts from nines_check_defaults, so both ends
 * agree. Arrays keep their order: headers as [{"name","value"}], header
 * conditions as [{"name","op","value"}]. Only where a secret is read from
 * (secret_env, secret_file) travels, never a secret: a push check's token
 * travels as its SHA-256, 64 lowercase hex digits ("token_sha256"). A
 * check's "quorum" (-1 = all locations, N = at least N) is left out while it
 * is 0, a majority of the locations reporting. The routing labels are left
 * out while empty: "depends_on" (an array of check ids, in order), "team",
 * and "severity" (ticket or info; page, the default, is never written, so
 * NULL and "page" give the same bytes).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checkopt.h"
#include "nines/wire.h"

#define CAT_FORMAT_VERSION 1
#define CAT_QUORUM_MIN -1       /* every location */
#define CAT_QUORUM_MAX 32

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

/* ---- encoding ------------------------------------------------------------ */

/* An array of the option's strings; NULL when one cannot be written. */
static json_t *cat_strv_to_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    int rc = 0;

    for (size_t i = 0; a != NULL && i < n; i++) {
        if (v[i] == NULL || v[i][0] == '\0')
            rc = -1;
        else
            rc |= json_array_append_new(a, json_string(v[i]));
    }
    if (rc != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* {"name": ..., <vkey>: value} (value left out when NULL); NULL on failure. */
static json_t *cat_pair_to_json(const char *name, const char *op, const char *value)
{
    json_t *o = json_object();
    int rc = 0;

    if (o == NULL || name == NULL || name[0] == '\0') {
        json_decref(o);
        return NULL;
    }
    rc |= json_object_set_new(o, "name", json_string(name));
    if (op != NULL)
        rc |= json_object_set_new(o, "op", json_string(op));
    if (value != NULL)
        rc |= json_object_set_new(o, "value", json_string(value));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *cat_kv_to_json(const struct nines_kv *v, size_t n)
{
    json_t *a = json_array();
    int rc = 0;

    for (size_t i = 0; a != NULL && i < n; i++) {
        if (v[i].value == NULL)
            rc = -1;
        else
            rc |= json_array_append_new(a, cat_pair_to_json(v[i].name, NULL, v[i].value));
    }
    if (rc != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *cat_conds_to_json(const struct nines_header_cond *v, size_t n)
{
    json_t *a = json_array();
    int rc = 0;

    for (size_t i = 0; a != NULL && i < n; i++) {
        if (v[i].op != NINES_HDR_PRESENT && v[i].value == NULL)
            rc = -1;
        else
            rc |= json_array_append_new(a, cat_pair_to_json(v[i].name,
                                                            checkopt_hdr_op_name(v[i].op),
                                                            v[i].value));
    }
    if (rc != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* A string option: NULL is its default (left out, or written when ALWAYS). */
static int cat_str_to_json(const struct checkopt *o, const char *s, json_t *obj)
{
    if (s == NULL && (o->flags & CHECKOPT_ALWAYS) && o->dflt != NULL)
        s = o->dflt;
    if (s == NULL)
        return (o->flags & CHECKOPT_REQUIRED) ? -1 : 0;
    if (s[0] == '\0' || (o->choices != NULL && !checkopt_one_of(s, o->choices)))
        return -1;
    return json_object_set_new(obj, o->name, json_string(s));
}

/* The integer v of option o; left out at its default d unless required. */
static int cat_int_to_json(const struct checkopt *o, int64_t v, int64_t d, json_t *obj)
{
    if (v == d && !(o->flags & (CHECKOPT_ALWAYS | CHECKOPT_REQUIRED)))
        return 0;
    if (o->type == CHECKOPT_BOOL)
        return json_object_set_new(obj, o->name, json_boolean(v));
    if (o->type == CHECKOPT_IPVER ? v != 0 && v != 4 && v != 6 : v < o->min || v > o->max)
        return -1;
    return json_object_set_new(obj, o->name, json_integer(v));
}

/* The array options: left out when empty. */
static int cat_array_to_json(const struct checkopt *o, const void *p, size_t n, json_t *obj)
{
    if (n == 0)
        return 0;
    if (o->type == CHECKOPT_STRV)
        return json_object_set_new(obj, o->name, cat_strv_to_json(*(char **const *)p, n));
    if (o->type == CHECKOPT_KV)
        return json_object_set_new(obj, o->name,
                                   cat_kv_to_json(*(struct nines_kv *const *)p, n));
    return json_object_set_new(obj, o->name,
                               cat_conds_to_json(*(struct nines_header_cond *const *)p, n));
}

/* A SHA-256 as 64 lowercase hex digits; all zeros is "unset" and unencodable. */
static int cat_sha256_to_json(const struct checkopt *o, const unsigned char *h, json_t *obj)
{
    static const char hex[] = "0123456789abcdef";
    char text[65];
    unsigned char any = 0;

    for (size_t i = 0; i < 32; i++) {
        any |= h[i];
        text[2 * i] = hex[h[i] >> 4];
        text[2 * i + 1] = hex[h[i] & 0x0f];
    }
    text[64] = '\0';
    if (!any)
        return -1;
    return json_object_set_new(obj, o->name, json_string(text));
}

/* One option of c into obj; d holds the defaults. 0, or -1 when unencodable. */
static int cat_opt_to_json(const struct checkopt *o, const struct nines_check *c,
                           const struct nines_check *d, json_t *obj)
{
    const char *p = (const char *)c + o->offset;
    const char *dp = (const char *)d + o->offset;
    double x;
    int m;

    switch (o->type) {
    case CHECKOPT_STR:
        return cat_str_to_json(o, *(char *const *)p, obj);
    case CHECKOPT_INT:
    case CHECKOPT_IPVER:
        return cat_int_to_json(o, *(const int *)p, *(const int *)dp, obj);
    case CHECKOPT_BOOL:
        return cat_int_to_json(o, *(const int *)p != 0, *(const int *)dp != 0, obj);
    case CHECKOPT_I64:
        return cat_int_to_json(o, *(const int64_t *)p, *(const int64_t *)dp, obj);
    case CHECKOPT_DOUBLE:
        x = *(const double *)p;
        if (x == *(const double *)dp)
            return 0;
        if (!(x > 0 && x <= (double)o->max))
            return -1;
        return json_object_set_new(obj, o->name, json_real(x));
    case CHECKOPT_MATCH:
        m = (int)*(const enum nines_dns_match *)p;
        if (m == (int)*(const enum nines_dns_match *)dp)
            return 0;
        if (m < NINES_DNS_MATCH_NONE || m > NINES_DNS_MATCH_INCLUDE)
            return -1;
        return json_object_set_new(obj, o->name,
                                   json_string(checkopt_match_name((enum nines_dns_match)m)));
    case CHECKOPT_SHA256:
        return cat_sha256_to_json(o, (const unsigned char *)p, obj);
    default:
        return cat_array_to_json(o, p, *(const size_t *)((const char *)c + o->count_offset),
                                 obj);
    }
}

/* The options of c's kind as an object; NULL when one cannot be encoded. */
static json_t *cat_opts_to_json(const struct checkopt_kind *k, const struct nines_check *c)
{
    struct nines_check d;
    json_t *o = json_object();
    int rc = 0;

    if (o == NULL)
        return NULL;
    memset(&d, 0, sizeof(d));
    nines_check_defaults(&d);       /* allocates nothing */
    for (size_t i = 0; i < k->count && rc == 0; i++)
        rc = cat_opt_to_json(&k->opts[i], c, &d, o);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* 1 when s is a string the decoder takes as an id: 1..NINES_ID_LEN-1 bytes. */
static int cat_id_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) < NINES_ID_LEN;
}

/* depends_on, team and severity into o, each left out while empty. */
static int cat_labels_to_json(const struct nines_check *c, json_t *o)
{
    int rc = 0;

    for (size_t i = 0; i < c->depends_on_count; i++) {
        if (!cat_id_ok(c->depends_on[i]))
            return -1;
    }
    if (c->depends_on_count > 0)
        rc |= json_object_set_new(o, "depends_on",
                                  cat_strv_to_json(c->depends_on, c->depends_on_count));
    if (c->team != NULL && !cat_id_ok(c->team))
        return -1;
    if (c->team != NULL)
        rc |= json_object_set_new(o, "team", json_string(c->team));
    if (c->severity == NULL || strcmp(c->severity, CHECKOPT_SEVERITY_DEFAULT) == 0)
        return rc;
    if (!checkopt_one_of(c->severity, checkopt_severities))
        return -1;
    return rc | json_object_set_new(o, "severity", json_string(c->severity));
}

static json_t *cat_check_to_json(const struct nines_check *c)
{
    const struct checkopt_kind *k = checkopt_kind(c->kind);
    json_t *o = json_object();
    json_t *locs = json_array();
    int rc = 0;

    if (o == NULL || locs == NULL || k == NULL) {
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
    if (c->quorum < CAT_QUORUM_MIN || c->quorum > CAT_QUORUM_MAX)
        rc = -1;
    else if (c->quorum != 0)
        rc |= json_object_set_new(o, "quorum", json_integer(c->quorum));
    rc |= json_object_set_new(o, k->name, cat_opts_to_json(k, c));
    rc |= cat_labels_to_json(c, o);
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
    return nines_catalogue_encode_partitioned(checks, count, 1);
}

/* As nines_catalogue_encode; "partitions" is written only when > 1, so a
 * single-partition catalogue (and its version) is what it always was. */
char *nines_catalogue_encode_partitioned(const struct nines_check *checks, size_t count,
                                         int partitions)
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
    if (partitions > 1)
        rc |= json_object_set_new(root, "partitions", json_integer(partitions));
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

/* The integer v in [min, max] into *out. */
static int cat_int_value(struct cat_ctx *x, const char *key, json_t *v, int64_t min,
                         int64_t max, int64_t *out)
{
    char what[96];

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

/* An optional integer in [min, max]; *out keeps its value when absent. */
static int cat_get_int(struct cat_ctx *x, json_t *o, const char *key, int required,
                       int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL)
        return required ? cat_fail(x, key, "missing") : 0;
    return cat_int_value(x, key, v, min, max, out);
}

static int cat_get_small_int(struct cat_ctx *x, json_t *o, const char *key, int min, int *out)
{
    int64_t v = *out;
    int rc = cat_get_int(x, o, key, 0, min, INT_MAX, &v);

    if (rc == 0)
        *out = (int)v;
    return rc;
}

/* A non-empty string (empty too when allow_empty) shorter than max bytes
 * (0 = any length). */
static int cat_check_text(struct cat_ctx *x, const char *key, json_t *v, size_t max,
                          int allow_empty)
{
    char what[64];

    if (!json_is_string(v))
        return cat_fail(x, key, "not a string");
    if (json_string_length(v) == 0 && !allow_empty)
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

static int cat_check_str(struct cat_ctx *x, const char *key, json_t *v, size_t max)
{
    return cat_check_text(x, key, v, max, 0);
}

static int cat_nomem(struct cat_ctx *x)
{
    return nines_err_set(x->err, NINES_ENOMEM, "catalogue: out of memory");
}

/* The string v, checked, strdup'd into *out (whose previous value is freed). */
static int cat_str_value(struct cat_ctx *x, const char *key, json_t *v, size_t max,
                         int allow_empty, char **out)
{
    int rc = cat_check_text(x, key, v, max, allow_empty);
    char *s;

    if (rc < 0)
        return rc;
    s = strdup(json_string_value(v));
    if (s == NULL)
        return cat_nomem(x);
    free(*out);
    *out = s;
    return 0;
}

static int cat_get_str(struct cat_ctx *x, json_t *o, const char *key, int required, size_t max,
                       char **out)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL)
        return required ? cat_fail(x, key, "missing") : 0;
    return cat_str_value(x, key, v, max, 0, out);
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
        return cat_nomem(x);
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

/*
 * The string member key of element i of array option o ("headers[2].name" in
 * messages); a missing one is an error only when required.
 */
static int cat_elem_str(struct cat_ctx *x, const struct checkopt *o, size_t i, json_t *e,
                        const char *key, int required, char **out)
{
    char label[64];
    json_t *v = json_object_get(e, key);

    snprintf(label, sizeof(label), "%s[%zu].%s", o->name, i, key);
    if (v == NULL)
        return required ? cat_fail(x, label, "missing") : 0;
    /* a header may be sent empty; names and expected values may not be */
    return cat_str_value(x, label, v, 0, o->type == CHECKOPT_KV && key[0] == 'v', out);
}

static int cat_get_strv(struct cat_ctx *x, const struct checkopt *o, json_t *arr, char ***v,
                        size_t *count)
{
    size_t n = json_array_size(arr);
    int rc;

    *v = calloc(n, sizeof(**v));
    if (*v == NULL)
        return cat_nomem(x);
    for (size_t i = 0; i < n; i++) {
        rc = cat_str_value(x, o->name, json_array_get(arr, i), 0, 0, &(*v)[i]);
        if (rc < 0)
            return rc;
        (*count)++;
    }
    return 0;
}

static int cat_get_kv(struct cat_ctx *x, const struct checkopt *o, json_t *arr,
                      struct nines_kv **v, size_t *count)
{
    size_t n = json_array_size(arr);
    int rc;

    *v = calloc(n, sizeof(**v));
    if (*v == NULL)
        return cat_nomem(x);
    for (size_t i = 0; i < n; i++) {
        struct nines_kv *kv = &(*v)[i];
        json_t *e = json_array_get(arr, i);

        (*count)++;                 /* zeroed members: cleared as a whole on failure */
        if (!json_is_object(e))
            return cat_fail(x, o->name, "an element is not an object");
        if ((rc = cat_elem_str(x, o, i, e, "name", 1, &kv->name)) < 0
            || (rc = cat_elem_str(x, o, i, e, "value", 1, &kv->value)) < 0)
            return rc;
    }
    return 0;
}

static int cat_get_conds(struct cat_ctx *x, const struct checkopt *o, json_t *arr,
                         struct nines_header_cond **v, size_t *count)
{
    size_t n = json_array_size(arr);
    char *op = NULL;
    int rc;

    *v = calloc(n, sizeof(**v));
    if (*v == NULL)
        return cat_nomem(x);
    for (size_t i = 0; i < n; i++) {
        struct nines_header_cond *hc = &(*v)[i];
        json_t *e = json_array_get(arr, i);

        (*count)++;
        if (!json_is_object(e))
            return cat_fail(x, o->name, "an element is not an object");
        if ((rc = cat_elem_str(x, o, i, e, "name", 1, &hc->name)) < 0
            || (rc = cat_elem_str(x, o, i, e, "op", 1, &op)) < 0)
            return rc;
        rc = checkopt_hdr_op_parse(op, &hc->op);
        free(op);
        op = NULL;
        if (rc < 0)
            return cat_fail(x, o->name, "an 'op' is not one of present, equals, regex");
        rc = cat_elem_str(x, o, i, e, "value", hc->op != NINES_HDR_PRESENT, &hc->value);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int cat_array_from_json(struct cat_ctx *x, const struct checkopt *o, json_t *v,
                               struct nines_check *c)
{
    void *p = (char *)c + o->offset;
    size_t *count = (size_t *)((char *)c + o->count_offset);

    if (!json_is_array(v))
        return cat_fail(x, o->name, "not an array");
    if (json_array_size(v) == 0)
        return 0;
    if (o->type == CHECKOPT_STRV)
        return cat_get_strv(x, o, v, (char ***)p, count);
    if (o->type == CHECKOPT_KV)
        return cat_get_kv(x, o, v, (struct nines_kv **)p, count);
    return cat_get_conds(x, o, v, (struct nines_header_cond **)p, count);
}

static int cat_choice_from_json(struct cat_ctx *x, const struct checkopt *o, json_t *v,
                                char **out)
{
    char what[80];
    int rc = cat_str_value(x, o->name, v, 0, 0, out);

    if (rc < 0 || o->choices == NULL || checkopt_one_of(*out, o->choices))
        return rc;
    snprintf(what, sizeof(what), "unknown value '%.40s'", *out);
    return cat_fail(x, o->name, what);
}

static int cat_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 64 hex digits into 32 bytes, not all zero. */
static int cat_sha256_from_json(struct cat_ctx *x, const struct checkopt *o, json_t *v,
                                unsigned char *out)
{
    unsigned char h[32], any = 0;
    const char *s;

    if (!json_is_string(v) || json_string_length(v) != 64)
        return cat_fail(x, o->name, "not 64 hex digits");
    s = json_string_value(v);
    for (size_t i = 0; i < 32; i++) {
        int hi = cat_hex_digit(s[2 * i]);
        int lo = hi < 0 ? -1 : cat_hex_digit(s[2 * i + 1]);

        if (lo < 0)
            return cat_fail(x, o->name, "not 64 hex digits");
        h[i] = (unsigned char)(hi << 4 | lo);
        any |= h[i];
    }
    if (!any)
        return cat_fail(x, o->name, "all zeros");
    memcpy(out, h, sizeof(h));
    return 0;
}

static int cat_scalar_from_json(struct cat_ctx *x, const struct checkopt *o, json_t *v,
                                void *p)
{
    int64_t i = 0;
    int rc;

    switch (o->type) {
    case CHECKOPT_BOOL:
        if (!json_is_boolean(v))
            return cat_fail(x, o->name, "not a boolean");
        *(int *)p = json_is_true(v);
        return 0;
    case CHECKOPT_DOUBLE:
        if (!json_is_number(v) || json_number_value(v) < 0
            || json_number_value(v) > (double)o->max)
            return cat_fail(x, o->name, "not a number in range");
        *(double *)p = json_number_value(v);
        return 0;
    case CHECKOPT_MATCH:
        if (!json_is_string(v)
            || checkopt_match_parse(json_string_value(v), (enum nines_dns_match *)p) < 0)
            return cat_fail(x, o->name, "not one of none, exact, include");
        return 0;
    case CHECKOPT_SHA256:
        return cat_sha256_from_json(x, o, v, p);
    case CHECKOPT_IPVER:
        rc = cat_int_value(x, o->name, v, 0, 6, &i);
        if (rc == 0 && i != 0 && i != 4 && i != 6)
            rc = cat_fail(x, o->name, "not 0, 4 or 6");
        break;
    default:
        rc = cat_int_value(x, o->name, v, o->min, o->max, &i);
        break;
    }
    if (rc == 0 && o->type == CHECKOPT_I64)
        *(int64_t *)p = i;
    else if (rc == 0)
        *(int *)p = (int)i;
    return rc;
}

/* The options of c's kind, from the object named after the kind. */
static int cat_opts_from_json(struct cat_ctx *x, json_t *check, struct nines_check *c)
{
    const struct checkopt_kind *k = checkopt_kind(c->kind);
    json_t *obj = json_object_get(check, k->name);
    int rc = 0;

    if (obj == NULL)
        return cat_fail(x, k->name, "missing");
    if (!json_is_object(obj))
        return cat_fail(x, k->name, "not an object");
    for (size_t i = 0; i < k->count && rc == 0; i++) {
        const struct checkopt *o = &k->opts[i];
        json_t *v = json_object_get(obj, o->name);
        void *p = (char *)c + o->offset;

        if (v == NULL)
            rc = (o->flags & CHECKOPT_REQUIRED) ? cat_fail(x, o->name, "missing") : 0;
        else if (o->type == CHECKOPT_STR)
            rc = cat_choice_from_json(x, o, v, (char **)p);
        else if (o->type == CHECKOPT_STRV || o->type == CHECKOPT_KV
                 || o->type == CHECKOPT_HDRCONDS)
            rc = cat_array_from_json(x, o, v, c);
        else
            rc = cat_scalar_from_json(x, o, v, p);
    }
    return rc;
}

/* "quorum": left out for a majority (0); -1 for all locations, or 1..32. */
static int cat_get_quorum(struct cat_ctx *x, json_t *o, struct nines_check *c)
{
    int64_t q = 0;
    int rc = cat_get_int(x, o, "quorum", 0, CAT_QUORUM_MIN, CAT_QUORUM_MAX, &q);

    if (rc == 0)
        c->quorum = (int)q;
    return rc;
}

/* "depends_on", "team" and "severity", each optional. */
static int cat_get_labels(struct cat_ctx *x, json_t *o, struct nines_check *c)
{
    json_t *deps = json_object_get(o, "depends_on");
    json_t *sev = json_object_get(o, "severity");
    char what[80];
    size_t n;
    int rc;

    if (deps != NULL && !json_is_array(deps))
        return cat_fail(x, "depends_on", "not an array");
    n = json_array_size(deps);
    if (n > 0 && (c->depends_on = calloc(n, sizeof(*c->depends_on))) == NULL)
        return cat_nomem(x);
    for (size_t i = 0; i < n; i++) {
        rc = cat_str_value(x, "depends_on", json_array_get(deps, i), NINES_ID_LEN, 0,
                           &c->depends_on[i]);
        if (rc < 0)
            return rc;
        c->depends_on_count++;
    }
    rc = cat_get_str(x, o, "team", 0, NINES_ID_LEN, &c->team);
    if (rc < 0 || sev == NULL)
        return rc;
    rc = cat_str_value(x, "severity", sev, 0, 0, &c->severity);
    if (rc < 0 || checkopt_one_of(c->severity, checkopt_severities))
        return rc;
    snprintf(what, sizeof(what), "unknown value '%.40s'", c->severity);
    return cat_fail(x, "severity", what);
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
        || (rc = cat_get_small_int(x, o, "successes_to_up", 1, &c->successes_to_up)) < 0
        || (rc = cat_get_quorum(x, o, c)) < 0
        || (rc = cat_get_labels(x, o, c)) < 0)
        return rc;
    return cat_opts_from_json(x, o, c);
}

/*
 * The ids seen so far, for the duplicate test: open addressing over the
 * checks' own id strings, so 100,000 checks decode in linear time.
 */
struct cat_ids {
    size_t mask;                /* capacity - 1; capacity a power of two >= 2n */
    const char **slot;
};

static int cat_ids_init(struct cat_ids *s, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n)
        cap *= 2;
    s->mask = cap - 1;
    s->slot = calloc(cap, sizeof(*s->slot));
    return s->slot != NULL ? 0 : -1;
}

/* Adds id; returns 1 if it was there already. */
static int cat_ids_add(struct cat_ids *s, const char *id)
{
    size_t i = (size_t)nines_fnv1a64(id, strlen(id)) & s->mask;

    while (s->slot[i] != NULL) {
        if (strcmp(s->slot[i], id) == 0)
            return 1;
        i = (i + 1) & s->mask;
    }
    s->slot[i] = id;
    return 0;
}

static int cat_checks_from_json(struct cat_ctx *x, json_t *arr, struct nines_check *checks)
{
    size_t n = json_array_size(arr);
    struct cat_ids ids;
    int rc = 0;

    if (cat_ids_init(&ids, n) != 0)
        return cat_nomem(x);
    for (size_t i = 0; i < n && rc == 0; i++) {
        x->index = (long)i;
        rc = cat_check_from_json(x, json_array_get(arr, i), &checks[i]);
        if (rc == 0 && cat_ids_add(&ids, checks[i].id))
            rc = cat_fail(x, "id", "duplicate check id");
    }
    free(ids.slot);
    return rc < 0 ? rc : 0;
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

/* "partitions" of a parsed catalogue: 1 when absent or out of range. */
static int cat_root_partitions(json_t *root)
{
    json_t *v = json_object_get(root, "partitions");
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 1;

    return n >= 1 && n <= NINES_PARTITIONS_MAX ? (int)n : 1;
}

/*
 * On success *out (never NULL, even for no checks), *count and *partitions
 * (when not NULL) are set; *out belongs to the caller: free with
 * nines_checks_free. On failure none is touched.
 */
int nines_catalogue_decode_partitioned(const char *json, size_t len, struct nines_check **out,
                                       size_t *count, int *partitions, struct nines_err *err)
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
    if (rc == 0 && partitions != NULL)
        *partitions = cat_root_partitions(root);
    json_decref(root);
    return rc;
}

int nines_catalogue_decode(const char *json, size_t len, struct nines_check **out,
                           size_t *count, struct nines_err *err)
{
    return nines_catalogue_decode_partitioned(json, len, out, count, NULL, err);
}

int nines_catalogue_partitions(const char *json, size_t len)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    int n = cat_root_partitions(root);

    json_decref(root);
    return n;
}

int nines_partition_of(const char *check_id, int n)
{
    if (n <= 1)
        return 0;
    return (int)(nines_fnv1a64(check_id, strlen(check_id)) % (uint64_t)n);
}

const char *nines_results_key(int p, int n, char *buf, size_t size)
{
    if (n <= 1)
        snprintf(buf, size, "%s", NINES_KEY_RESULTS);
    else
        snprintf(buf, size, "%s:{%d}", NINES_KEY_RESULTS, p);
    return buf;
}
