/*
 * The YAML configuration loader.
 *
 * yamltree gives a tree whose nodes remember their positions; this file walks
 * it with small tables of fields (key, kind of value, limits, where it goes)
 * and reports every problem, not just the first, each as FILE:LINE:COLUMN.
 * Messages point at the value that is wrong, at the key that is unknown, or
 * at the start of the mapping a required field is missing from.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nines/config.h"
#include "nines/wire.h"
#include "yamltree.h"

#define CFG_MAX_FILE_BYTES ((size_t)16 << 20)
#define CFG_MAX_STRING 4095
#define CFG_MAX_URL 2048
#define CFG_MAX_NAME 63
#define CFG_MAX_LOCATIONS 256   /* per check; duplicates are found in O(n^2) */
#define CFG_MAX_KEY 32          /* longer keys get no "did you mean" */

enum cfg_kind {
    CFG_MAP,            /* a section: checked by its own walker */
    CFG_SEQ,
    CFG_STRING,         /* any non-empty string */
    CFG_NAME,           /* [A-Za-z0-9_.-]{1,63} */
    CFG_ID,             /* [A-Za-z0-9_.:-]{1,63} */
    CFG_PATH,           /* stored absolute, relative to the config file's directory */
    CFG_REDIS_URL,
    CFG_LOG_LEVEL,
    CFG_INT,            /* int */
    CFG_INT64,          /* int64_t */
    CFG_DURATION,       /* int64_t milliseconds */
    CFG_BOOL,           /* int 0/1 */
    CFG_LOCATIONS,      /* char ** + size_t count */
    CFG_CHECK_KIND,
    CFG_HTTP_URL,
    CFG_METHOD,
    CFG_STATUS_LIST,
};

#define CFG_REQUIRED 1u
#define CFG_DEFAULTABLE 2u  /* may be set in the defaults section */

struct cfg_field {
    const char *key;
    enum cfg_kind kind;
    unsigned flags;
    size_t offset;          /* of the value in the target struct */
    size_t count_offset;    /* CFG_LOCATIONS: of the count */
    int64_t min;            /* CFG_INT, CFG_INT64, CFG_DURATION */
    int64_t max;
};

#define CFG_NFIELDS(tab) (sizeof(tab) / sizeof((tab)[0]))
#define CFG_COLL(m) offsetof(struct nines_collector_cfg, m)
#define CFG_CHECK(m) offsetof(struct nines_check, m)
#define CFG_HTTP(m) offsetof(struct nines_http_opts, m)

enum { CFG_TOP_COLLECTOR, CFG_TOP_DEFAULTS, CFG_TOP_CHECKS };
static const struct cfg_field cfg_top_fields[] = {
    [CFG_TOP_COLLECTOR] = { "collector", CFG_MAP, 0, 0, 0, 0, 0 },
    [CFG_TOP_DEFAULTS] = { "defaults", CFG_MAP, 0, 0, 0, 0, 0 },
    [CFG_TOP_CHECKS] = { "checks", CFG_SEQ, CFG_REQUIRED, 0, 0, 0, 0 },
};

static const struct cfg_field cfg_collector_fields[] = {
    { "name", CFG_NAME, 0, CFG_COLL(name), 0, 0, 0 },
    { "data_dir", CFG_PATH, 0, CFG_COLL(data_dir), 0, 0, 0 },
    { "redis", CFG_REDIS_URL, 0, CFG_COLL(redis), 0, 0, 0 },
    { "redis_server", CFG_STRING, 0, CFG_COLL(redis_server), 0, 0, 0 },
    { "log_level", CFG_LOG_LEVEL, 0, CFG_COLL(log_level), 0, 0, 0 },
    { "stream_maxlen", CFG_INT64, 0, CFG_COLL(stream_maxlen), 0, 1000, 100000000 },
};

enum { CFG_CK_ID, CFG_CK_KIND, CFG_CK_INTERVAL, CFG_CK_TIMEOUT };
static const struct cfg_field cfg_check_fields[] = {
    [CFG_CK_ID] = { "id", CFG_ID, CFG_REQUIRED, CFG_CHECK(id), 0, 0, 0 },
    [CFG_CK_KIND] = { "kind", CFG_CHECK_KIND, CFG_REQUIRED, CFG_CHECK(kind), 0, 0, 0 },
    [CFG_CK_INTERVAL] = { "interval", CFG_DURATION, CFG_DEFAULTABLE, CFG_CHECK(interval_ms), 0,
                          1000, INT64_C(24) * 3600 * 1000 },
    [CFG_CK_TIMEOUT] = { "timeout", CFG_DURATION, CFG_DEFAULTABLE, CFG_CHECK(timeout_ms), 0,
                         100, INT64_C(120) * 1000 },
    { "locations", CFG_LOCATIONS, CFG_DEFAULTABLE, CFG_CHECK(locations),
      CFG_CHECK(locations_count), 0, 0 },
    { "failures_to_down", CFG_INT, CFG_DEFAULTABLE, CFG_CHECK(failures_to_down), 0, 1, 100 },
    { "successes_to_up", CFG_INT, CFG_DEFAULTABLE, CFG_CHECK(successes_to_up), 0, 1, 100 },
};

/* Options of the http kind, stored in struct nines_http_opts. */
static const struct cfg_field cfg_http_fields[] = {
    { "url", CFG_HTTP_URL, CFG_REQUIRED, CFG_HTTP(url), 0, 0, 0 },
    { "method", CFG_METHOD, 0, CFG_HTTP(method), 0, 0, 0 },
    { "expect_status", CFG_STATUS_LIST, 0, CFG_HTTP(expect_status), 0, 0, 0 },
    { "follow_redirects", CFG_INT, 0, CFG_HTTP(follow_redirects), 0, 0, 20 },
    { "verify_tls", CFG_BOOL, 0, CFG_HTTP(verify_tls), 0, 0, 0 },
    { "max_body_bytes", CFG_INT64, 0, CFG_HTTP(max_body_bytes), 0, 0, 1073741824 },
};

/* Each kind's option table and where its options live in struct nines_check. */
struct cfg_kind_opts {
    enum nines_check_kind kind;
    const struct cfg_field *fields;
    size_t nfields;
    size_t offset;
};

static const struct cfg_kind_opts cfg_kinds[] = {
    { NINES_KIND_HTTP, cfg_http_fields, CFG_NFIELDS(cfg_http_fields), CFG_CHECK(http) },
};

static const char *const cfg_log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const cfg_methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                           "OPTIONS", NULL };

struct cfg_ctx {
    const char *path;
    struct nines_errlist *errs;
    int nerr;
    int nomem;
    char where[96];         /* "collector", "check 'api'", "checks[2]" or "" (top level) */
    char *dir;              /* the config file's directory, absolute; made on first use */
};

/* The defaults section: a template check and which fields it set. */
struct cfg_defaults {
    struct nines_check tmpl;
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_check_fields)];
    int conflict_reported;  /* its timeout > interval was already reported */
};

/* A check's id, for finding duplicates. */
struct cfg_idref {
    const char *id;
    const struct yamltree_node *node;
    size_t index;
};

static void cfg_verror(struct cfg_ctx *x, int line, int column, int prefix, const char *fmt,
                       va_list ap)
{
    char msg[256];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    x->nerr++;
    if (prefix && x->where[0] != '\0')
        nines_errlist_add(x->errs, x->path, line, column, "%s: %s", x->where, msg);
    else
        nines_errlist_add(x->errs, x->path, line, column, "%s", msg);
}

/* An error at node n, prefixed with where it is ("check 'api': ..."). */
static void cfg_error(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cfg_error(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_verror(x, n ? n->line : 0, n ? n->column : 0, 1, fmt, ap);
    va_end(ap);
}

/* An error whose message names its place itself. */
static void cfg_error_bare(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));
static void cfg_error_bare(struct cfg_ctx *x, const struct yamltree_node *n, const char *fmt,
                           ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_verror(x, n ? n->line : 0, n ? n->column : 0, 0, fmt, ap);
    va_end(ap);
}

/* At most 40 characters of s for a message, control characters as '?'. */
static const char *cfg_excerpt(const char *s, char *buf, size_t size)
{
    size_t o = 0, i;

    for (i = 0; i < 40 && s[i] != '\0' && o + 4 < size; i++)
        buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? (char)'?' : s[i];
    if (s[i] != '\0' && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* What a value is, for "expected X, got Y". */
static const char *cfg_got(const struct yamltree_node *v, char *buf, size_t size)
{
    char ex[64];

    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v))
        return yamltree_type_name(v);
    cfg_excerpt(v->value, ex, sizeof(ex));
    snprintf(buf, size, v->plain ? "'%s'" : "the quoted string '%s'", ex);
    return buf;
}

static const char *cfg_expected(enum cfg_kind k)
{
    switch (k) {
    case CFG_MAP:
        return "a mapping";
    case CFG_SEQ:
        return "a sequence";
    case CFG_INT:
    case CFG_INT64:
        return "an integer";
    case CFG_DURATION:
        return "a duration such as 30s";
    case CFG_BOOL:
        return "true or false";
    case CFG_LOCATIONS:
        return "a location name or a sequence of them";
    default:
        return "a string";
    }
}

static void cfg_type_error(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_node *v)
{
    char got[96];

    cfg_error(x, v, "'%s': expected %s, got %s", f->key, cfg_expected(f->kind),
              cfg_got(v, got, sizeof(got)));
}

/* Optimal string alignment distance, for "did you mean" (keys are short). */
static size_t cfg_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[CFG_MAX_KEY + 1][CFG_MAX_KEY + 1];

    if (la > CFG_MAX_KEY || lb > CFG_MAX_KEY)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j - 1] + cost;

            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* Keeps in *best the closest key of tab to key, if close enough to be a typo. */
static void cfg_suggest(const char *key, const struct cfg_field *tab, size_t n,
                        unsigned need_flags, const char **best, size_t *best_d)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(tab[i].key);
        size_t limit = len / 3 > 2 ? 2 : (len / 3 < 1 ? 1 : len / 3);
        size_t d;

        if ((tab[i].flags & need_flags) != need_flags)
            continue;
        d = cfg_distance(key, tab[i].key);
        if (d <= limit && d < *best_d) {
            *best = tab[i].key;
            *best_d = d;
        }
    }
}

static void cfg_unknown_key(struct cfg_ctx *x, const struct yamltree_node *k, const char *best)
{
    char ex[64];

    cfg_excerpt(k->value, ex, sizeof(ex));
    if (best != NULL)
        cfg_error(x, k, "unknown key '%s' (did you mean '%s'?)", ex, best);
    else
        cfg_error(x, k, "unknown key '%s'", ex);
}

static const struct cfg_field *cfg_lookup(const struct cfg_field *tab, size_t n,
                                          const struct yamltree_node *k)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(tab[i].key) == k->len && strcmp(tab[i].key, k->value) == 0)
            return &tab[i];
    }
    return NULL;
}

static char *cfg_strdup(struct cfg_ctx *x, const char *s)
{
    char *d = strdup(s);

    if (d == NULL)
        x->nomem = 1;
    return d;
}

/*
 * The text of a string-valued scalar, or NULL after reporting why there is
 * none. Plain scalars count: "42" is a fine id.
 */
static const char *cfg_text(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v)
{
    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v)) {
        cfg_type_error(x, f, v);
        return NULL;
    }
    if (strlen(v->value) != v->len) {
        cfg_error(x, v, "'%s' must not contain a NUL character", f->key);
        return NULL;
    }
    if (v->len > CFG_MAX_STRING) {
        cfg_error(x, v, "'%s' is too long (%zu bytes, at most %d)", f->key, v->len,
                  CFG_MAX_STRING);
        return NULL;
    }
    return v->value;
}

static int cfg_valid_name(const char *s, const char *extra)
{
    size_t n = strlen(s);

    if (n < 1 || n > CFG_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || strchr(extra, c) != NULL))
            return 0;
    }
    return 1;
}

/* Parses a plain decimal integer: optional '-', digits, nothing else. */
static int cfg_parse_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    uint64_t v = 0;

    if (neg)
        s++;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static const char *cfg_fmt_duration(int64_t ms, char *buf, size_t size)
{
    if (ms % 1000 != 0)
        snprintf(buf, size, "%" PRId64 "ms", ms);
    else if (ms % 3600000 == 0)
        snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
    else
        snprintf(buf, size, "%" PRId64 "s", ms / 1000);
    return buf;
}

/* Parses and stores a number (integer or duration) within the field's range. */
static int cfg_apply_number(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *v, void *slot)
{
    char got[96], lo[24], hi[24];
    int64_t n;

    if (v->type != YAMLTREE_SCALAR || yamltree_is_null(v) || strlen(v->value) != v->len
        || (f->kind != CFG_DURATION && !v->plain)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (f->kind == CFG_DURATION ? nines_duration_parse(v->value, &n) != 0
                                : cfg_parse_int(v->value, &n) != 0) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (n < f->min || n > f->max) {
        if (f->kind == CFG_DURATION)
            cfg_error(x, v, "'%s' must be between %s and %s, got %s", f->key,
                      cfg_fmt_duration(f->min, lo, sizeof(lo)),
                      cfg_fmt_duration(f->max, hi, sizeof(hi)), cfg_got(v, got, sizeof(got)));
        else
            cfg_error(x, v, "'%s' must be between %" PRId64 " and %" PRId64 ", got %s", f->key,
                      f->min, f->max, cfg_got(v, got, sizeof(got)));
        return -1;
    }
    if (f->kind == CFG_INT)
        *(int *)slot = (int)n;
    else
        *(int64_t *)slot = n;
    return 0;
}

static int cfg_apply_bool(struct cfg_ctx *x, const struct cfg_field *f,
                          const struct yamltree_node *v, int *slot)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };

    if (v->type == YAMLTREE_SCALAR && v->plain) {
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(v->value, yes[i]) == 0 || strcasecmp(v->value, no[i]) == 0) {
                *slot = strcasecmp(v->value, yes[i]) == 0;
                return 0;
            }
        }
    }
    cfg_type_error(x, f, v);
    return -1;
}

static void cfg_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* One location name (scalar s) appended to list, or an error. */
static int cfg_location_add(struct cfg_ctx *x, const struct cfg_field *f,
                            const struct yamltree_node *s, char **list, size_t *n)
{
    char got[96];

    if (s->type != YAMLTREE_SCALAR || yamltree_is_null(s) || strlen(s->value) != s->len) {
        cfg_error(x, s, "'%s': expected a location name, got %s", f->key,
                  cfg_got(s, got, sizeof(got)));
        return -1;
    }
    if (!cfg_valid_name(s->value, "_.-")) {
        cfg_error(x, s, "'%s': a location must be 1-63 characters from A-Z a-z 0-9 _ . -, "
                  "got %s", f->key, cfg_got(s, got, sizeof(got)));
        return -1;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(list[i], s->value) == 0) {
            cfg_error(x, s, "'%s': location '%s' is listed twice", f->key,
                      cfg_excerpt(s->value, got, sizeof(got)));
            return -1;
        }
    }
    list[*n] = cfg_strdup(x, s->value);
    if (list[*n] == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* A location name or a sequence of them; an empty sequence means everywhere. */
static int cfg_apply_locations(struct cfg_ctx *x, const struct cfg_field *f,
                               const struct yamltree_node *v, char ***slot, size_t *count)
{
    size_t want = v->type == YAMLTREE_SEQUENCE ? v->count : 1;
    char **list;
    size_t n = 0;
    int bad = 0;

    if (v->type == YAMLTREE_MAPPING || yamltree_is_null(v)) {
        cfg_type_error(x, f, v);
        return -1;
    }
    if (want > CFG_MAX_LOCATIONS) {
        cfg_error(x, v, "'%s': at most %d locations, got %zu", f->key, CFG_MAX_LOCATIONS, want);
        return -1;
    }
    list = calloc(want ? want : 1, sizeof(*list));
    if (list == NULL) {
        x->nomem = 1;
        return -1;
    }
    if (v->type == YAMLTREE_SCALAR) {
        bad = cfg_location_add(x, f, v, list, &n) < 0;
    } else {
        for (size_t i = 0; i < v->count; i++)
            bad |= cfg_location_add(x, f, v->items[i], list, &n) < 0;
    }
    if (bad) {
        cfg_free_strv(list, n);
        return -1;
    }
    cfg_free_strv(*slot, *count);
    *slot = list;
    *count = n;
    if (n == 0) {
        free(list);
        *slot = NULL;
    }
    return 0;
}

/* Checks "200-299,301" (spaces allowed) and writes it without spaces into out. */
static int cfg_status_list(const char *s, char *out, size_t size)
{
    size_t o = 0;

    for (;;) {
        long lo, hi;
        char *end;

        while (*s == ' ')
            s++;
        if (*s < '0' || *s > '9')
            return -1;
        lo = hi = strtol(s, &end, 10);
        s = end;
        if (*s == '-') {
            s++;
            if (*s < '0' || *s > '9')
                return -1;
            hi = strtol(s, &end, 10);
            s = end;
        }
        if (lo < 100 || hi > 599 || lo > hi)
            return -1;
        o += (size_t)snprintf(out + o, size - o, lo == hi ? "%ld" : "%ld-%ld", lo, hi);
        if (o >= size)
            return -1;
        while (*s == ' ')
            s++;
        if (*s == '\0')
            return 0;
        if (*s++ != ',' || o + 1 >= size)
            return -1;
        out[o++] = ',';
        out[o] = '\0';
    }
}

/* The config file's directory, made absolute once. */
static const char *cfg_dir(struct cfg_ctx *x)
{
    char *copy, *slash;
    int err;

    if (x->dir != NULL)
        return x->dir;
    copy = cfg_strdup(x, x->path);
    if (copy == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    slash = strrchr(copy, '/');
    if (slash == NULL)
        x->dir = realpath(".", NULL);
    else if (slash == copy)
        x->dir = realpath("/", NULL);
    else {
        *slash = '\0';
        x->dir = realpath(copy, NULL);
    }
    err = errno;
    free(copy);
    errno = err;
    return x->dir;
}

/*
 * Joins dir and rel (rel may be absolute: dir is then ignored) and removes
 * "." and ".." segments and repeated slashes, as Go's filepath.Clean.
 */
static char *cfg_clean_path(const char *dir, const char *rel)
{
    size_t cap = (dir ? strlen(dir) : 0) + strlen(rel) + 3;
    char *in = malloc(cap), *out = malloc(cap);
    size_t o = 0;

    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return NULL;
    }
    snprintf(in, cap, "%s/%s", rel[0] == '/' ? "" : dir, rel);
    for (char *seg = in; *seg != '\0';) {
        size_t len = strcspn(seg, "/");

        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[--o] != '/')
                ;
        } else if (len > 0 && !(len == 1 && seg[0] == '.')) {
            out[o++] = '/';
            memcpy(out + o, seg, len);
            o += len;
        }
        seg += len;
        seg += *seg == '/';
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    free(in);
    return out;
}

static const char *cfg_one_of(const char *s, const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0)
            return names[i];
    }
    return NULL;
}

static int cfg_check_url(struct cfg_ctx *x, const struct cfg_field *f,
                         const struct yamltree_node *v, const char *s)
{
    char got[96];
    size_t skip;

    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else {
        cfg_error(x, v, "'%s' must start with http:// or https://, got %s", f->key,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    if (strlen(s) > CFG_MAX_URL) {
        cfg_error(x, v, "'%s' is longer than %d bytes", f->key, CFG_MAX_URL);
        return -1;
    }
    if (s[skip] == '\0' || strchr("/?#:", s[skip]) != NULL) {
        cfg_error(x, v, "'%s' has no host, got %s", f->key, cfg_got(v, got, sizeof(got)));
        return -1;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            cfg_error(x, v, "'%s' must not contain spaces or control characters", f->key);
            return -1;
        }
    }
    return 0;
}

/* The redis address, checked by the parser the daemons use. */
static int cfg_check_redis(struct cfg_ctx *x, const struct cfg_field *f,
                           const struct yamltree_node *v, const char *s)
{
    struct nines_redis_addr a;
    struct nines_err e;
    const char *why;

    memset(&e, 0, sizeof(e));
    if (nines_redis_url_parse(s, &a, &e) == 0)
        return 0;
    why = e.msg;
    if (strncmp(why, "redis url: ", 11) == 0)
        why += 11;
    cfg_error(x, v, "'%s': %s", f->key, why[0] ? why : "not a valid address");
    return -1;
}

/* data_dir: a relative path is taken from the config file's directory. */
static char *cfg_resolve_path(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *v, const char *s)
{
    const char *dir = s[0] == '/' ? "" : cfg_dir(x);
    char *out;

    if (dir == NULL) {
        int err = errno;

        if (err == ENOMEM)
            x->nomem = 1;
        else
            cfg_error(x, v, "'%s': cannot resolve the configuration file's directory: %s",
                      f->key, strerror(err));
        return NULL;
    }
    out = cfg_clean_path(dir, s);
    if (out == NULL)
        x->nomem = 1;
    return out;
}

/*
 * Validates the string s of field f and returns the value to store
 * (malloc'd), or NULL after reporting why (or after running out of memory).
 */
static char *cfg_string_value(struct cfg_ctx *x, const struct cfg_field *f,
                              const struct yamltree_node *v, const char *s)
{
    char got[96], status[128];

    switch (f->kind) {
    case CFG_NAME:
    case CFG_ID:
        if (cfg_valid_name(s, f->kind == CFG_ID ? "_.:-" : "_.-"))
            return cfg_strdup(x, s);
        cfg_error(x, v, "'%s' must be 1-63 characters from A-Z a-z 0-9 _ . %s-, got %s", f->key,
                  f->kind == CFG_ID ? ": " : "", cfg_got(v, got, sizeof(got)));
        return NULL;
    case CFG_LOG_LEVEL:
    case CFG_METHOD:
        if (cfg_one_of(s, f->kind == CFG_METHOD ? cfg_methods : cfg_log_levels))
            return cfg_strdup(x, s);
        cfg_error(x, v, "'%s' must be one of %s, got %s", f->key,
                  f->kind == CFG_METHOD ? "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
                                        : "debug, info, warn, error",
                  cfg_got(v, got, sizeof(got)));
        return NULL;
    case CFG_STATUS_LIST:
        if (cfg_status_list(s, status, sizeof(status)) == 0)
            return cfg_strdup(x, status);
        cfg_error(x, v, "'%s' must be status codes or ranges within 100-599 separated by "
                  "commas, such as 200-299,301, got %s", f->key, cfg_got(v, got, sizeof(got)));
        return NULL;
    case CFG_HTTP_URL:
        return cfg_check_url(x, f, v, s) == 0 ? cfg_strdup(x, s) : NULL;
    case CFG_REDIS_URL:
        return cfg_check_redis(x, f, v, s) == 0 ? cfg_strdup(x, s) : NULL;
    default:
        break;
    }
    if (s[0] == '\0') {
        cfg_error(x, v, "'%s' must not be empty", f->key);
        return NULL;
    }
    return f->kind == CFG_PATH ? cfg_resolve_path(x, f, v, s) : cfg_strdup(x, s);
}

/* Validates v against f and stores it into base + f->offset. 0 or -1. */
static int cfg_apply(struct cfg_ctx *x, const struct cfg_field *f, const struct yamltree_node *v,
                     void *base)
{
    void *slot = (char *)base + f->offset;
    enum nines_check_kind kind;
    const char *s;
    char got[96];
    char *val;

    switch (f->kind) {
    case CFG_INT:
    case CFG_INT64:
    case CFG_DURATION:
        return cfg_apply_number(x, f, v, slot);
    case CFG_BOOL:
        return cfg_apply_bool(x, f, v, slot);
    case CFG_LOCATIONS:
        return cfg_apply_locations(x, f, v, slot, (size_t *)((char *)base + f->count_offset));
    case CFG_MAP:
    case CFG_SEQ:
        return -1;                  /* sections have their own walkers */
    default:
        break;
    }
    s = cfg_text(x, f, v);
    if (s == NULL)
        return -1;
    if (f->kind == CFG_CHECK_KIND) {
        if (nines_check_kind_parse(s, &kind) == 0) {
            *(enum nines_check_kind *)slot = kind;
            return 0;
        }
        cfg_error(x, v, "'%s': unknown check kind %s (known kinds: http)", f->key,
                  cfg_got(v, got, sizeof(got)));
        return -1;
    }
    val = cfg_string_value(x, f, v, s);
    if (val == NULL)
        return -1;
    free(*(char **)slot);
    *(char **)slot = val;
    return 0;
}

/* Reports v unless it has the type the section needs. */
static int cfg_want_type(struct cfg_ctx *x, const struct cfg_field *f,
                         const struct yamltree_node *v, enum yamltree_type type)
{
    if (v->type == type)
        return 0;
    cfg_type_error(x, f, v);
    return -1;
}

static int cfg_set_default_str(struct cfg_ctx *x, char **slot, const char *s)
{
    *slot = cfg_strdup(x, s);
    return *slot == NULL ? -1 : 0;
}

static void cfg_load_collector(struct cfg_ctx *x, const struct yamltree_node *map,
                               struct nines_collector_cfg *c)
{
    snprintf(x->where, sizeof(x->where), "collector");
    for (size_t i = 0; i < map->count; i++) {
        const struct yamltree_node *k = map->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(cfg_collector_fields,
                                               CFG_NFIELDS(cfg_collector_fields), k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        if (f != NULL) {
            cfg_apply(x, f, map->pairs[i].value, c);
            continue;
        }
        cfg_suggest(k->value, cfg_collector_fields, CFG_NFIELDS(cfg_collector_fields), 0,
                    &best, &best_d);
        cfg_unknown_key(x, k, best);
    }
    x->where[0] = '\0';
}

static void cfg_load_defaults(struct cfg_ctx *x, const struct yamltree_node *map,
                              struct cfg_defaults *d)
{
    snprintf(x->where, sizeof(x->where), "defaults");
    for (size_t i = 0; i < map->count; i++) {
        const struct yamltree_node *k = map->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(cfg_check_fields, CFG_NFIELDS(cfg_check_fields),
                                               k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        if (f != NULL && (f->flags & CFG_DEFAULTABLE)) {
            if (cfg_apply(x, f, map->pairs[i].value, &d->tmpl) == 0)
                d->seen[f - cfg_check_fields] = map->pairs[i].value;
            continue;
        }
        if (f != NULL) {
            cfg_error(x, k, "'%s' cannot have a default: set it in each check", f->key);
            continue;
        }
        cfg_suggest(k->value, cfg_check_fields, CFG_NFIELDS(cfg_check_fields), CFG_DEFAULTABLE,
                    &best, &best_d);
        cfg_unknown_key(x, k, best);
    }
    if (d->seen[CFG_CK_TIMEOUT] && d->seen[CFG_CK_INTERVAL]
        && d->tmpl.timeout_ms > d->tmpl.interval_ms) {
        char t[24], iv[24];

        cfg_error(x, d->seen[CFG_CK_TIMEOUT], "'timeout' (%s) must not exceed 'interval' (%s)",
                  cfg_fmt_duration(d->tmpl.timeout_ms, t, sizeof(t)),
                  cfg_fmt_duration(d->tmpl.interval_ms, iv, sizeof(iv)));
        d->conflict_reported = 1;
    }
    x->where[0] = '\0';
}

/* Which kind a check declares, looked up before its options are read. */
static const struct cfg_kind_opts *cfg_check_kind(const struct yamltree_node *map)
{
    const struct yamltree_node *v = yamltree_get(map, "kind");
    enum nines_check_kind kind;

    if (v == NULL || v->type != YAMLTREE_SCALAR || strlen(v->value) != v->len
        || nines_check_kind_parse(v->value, &kind) != 0)
        return NULL;
    for (size_t i = 0; i < CFG_NFIELDS(cfg_kinds); i++) {
        if (cfg_kinds[i].kind == kind)
            return &cfg_kinds[i];
    }
    return NULL;
}

/* Names the check in messages: by its id when it has a good one. */
static void cfg_check_where(struct cfg_ctx *x, const struct yamltree_node *map, size_t index)
{
    const struct yamltree_node *v = yamltree_get(map, "id");

    if (v != NULL && v->type == YAMLTREE_SCALAR && !yamltree_is_null(v)
        && strlen(v->value) == v->len && cfg_valid_name(v->value, "_.:-"))
        snprintf(x->where, sizeof(x->where), "check '%s'", v->value);
    else
        snprintf(x->where, sizeof(x->where), "checks[%zu]", index);
}

/* A key that is not a common check field: an option of some kind, or unknown. */
static void cfg_check_option(struct cfg_ctx *x, const struct yamltree_pair *p,
                             const struct cfg_kind_opts *ko, struct nines_check *c)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    const struct cfg_field *f;

    if (ko != NULL) {
        f = cfg_lookup(ko->fields, ko->nfields, p->key);
        if (f != NULL) {
            cfg_apply(x, f, p->value, (char *)c + ko->offset);
            return;
        }
    }
    for (size_t i = 0; i < CFG_NFIELDS(cfg_kinds); i++) {
        f = cfg_lookup(cfg_kinds[i].fields, cfg_kinds[i].nfields, p->key);
        if (f == NULL)
            continue;
        if (ko != NULL)
            cfg_error(x, p->key, "'%s' is an option of kind '%s' only", f->key,
                      nines_check_kind_name(cfg_kinds[i].kind));
        return;                     /* without a good kind: reported there */
    }
    cfg_suggest(p->key->value, cfg_check_fields, CFG_NFIELDS(cfg_check_fields), 0, &best,
                &best_d);
    for (size_t i = 0; i < CFG_NFIELDS(cfg_kinds); i++) {
        if (ko == NULL || ko == &cfg_kinds[i])
            cfg_suggest(p->key->value, cfg_kinds[i].fields, cfg_kinds[i].nfields, 0, &best,
                        &best_d);
    }
    cfg_unknown_key(x, p->key, best);
}

/*
 * Reports a timeout longer than the interval at the value the check itself
 * set, or once at the defaults when both came from there.
 */
static void cfg_check_timeout(struct cfg_ctx *x, const struct nines_check *c,
                              const struct yamltree_node **seen, struct cfg_defaults *d)
{
    const struct yamltree_node *at = seen[CFG_CK_TIMEOUT];
    char t[24], iv[24];

    if (c->timeout_ms <= c->interval_ms)
        return;
    if (at == NULL)
        at = seen[CFG_CK_INTERVAL];
    if (at == NULL) {
        if (d->conflict_reported)
            return;
        d->conflict_reported = 1;
        at = d->seen[CFG_CK_TIMEOUT] ? d->seen[CFG_CK_TIMEOUT] : d->seen[CFG_CK_INTERVAL];
        snprintf(x->where, sizeof(x->where), "defaults");
    }
    cfg_error(x, at, "'timeout' (%s) must not exceed 'interval' (%s)",
              cfg_fmt_duration(c->timeout_ms, t, sizeof(t)),
              cfg_fmt_duration(c->interval_ms, iv, sizeof(iv)));
}

/* Reports, at the start of map, each required field of tab it lacks. */
static void cfg_check_required(struct cfg_ctx *x, const struct yamltree_node *map,
                               const struct cfg_field *tab, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((tab[i].flags & CFG_REQUIRED) && yamltree_get(map, tab[i].key) == NULL)
            cfg_error_bare(x, map, "%s is missing required field '%s'", x->where, tab[i].key);
    }
}

/* Starts c (zeroed) from the built-in defaults and the defaults section. */
static int cfg_check_inherit(struct cfg_ctx *x, const struct cfg_defaults *d,
                             struct nines_check *c)
{
    nines_check_defaults(c);
    c->interval_ms = d->tmpl.interval_ms;
    c->timeout_ms = d->tmpl.timeout_ms;
    c->failures_to_down = d->tmpl.failures_to_down;
    c->successes_to_up = d->tmpl.successes_to_up;
    if (d->tmpl.locations_count == 0)
        return 0;
    c->locations = calloc(d->tmpl.locations_count, sizeof(*c->locations));
    if (c->locations == NULL) {
        x->nomem = 1;
        return -1;
    }
    for (size_t i = 0; i < d->tmpl.locations_count; i++) {
        c->locations[i] = cfg_strdup(x, d->tmpl.locations[i]);
        if (c->locations[i] == NULL)
            return -1;
        c->locations_count++;
    }
    return 0;
}

/* Fills c (zeroed) from the defaults, then from one check mapping. */
static void cfg_load_check(struct cfg_ctx *x, const struct yamltree_node *map, size_t index,
                           struct cfg_defaults *d, struct nines_check *c)
{
    const struct yamltree_node *seen[CFG_NFIELDS(cfg_check_fields)] = { 0 };
    const struct cfg_kind_opts *ko = cfg_check_kind(map);

    if (cfg_check_inherit(x, d, c) < 0)
        return;
    cfg_check_where(x, map, index);
    for (size_t i = 0; i < map->count; i++) {
        const struct cfg_field *f = cfg_lookup(cfg_check_fields,
                                               CFG_NFIELDS(cfg_check_fields), map->pairs[i].key);

        if (f == NULL)
            cfg_check_option(x, &map->pairs[i], ko, c);
        else if (cfg_apply(x, f, map->pairs[i].value, c) == 0)
            seen[f - cfg_check_fields] = map->pairs[i].value;
    }
    cfg_check_required(x, map, cfg_check_fields, CFG_NFIELDS(cfg_check_fields));
    if (ko != NULL)
        cfg_check_required(x, map, ko->fields, ko->nfields);
    if (c->kind == NINES_KIND_HTTP && c->http.method == NULL)
        cfg_set_default_str(x, &c->http.method, "GET");
    if (c->kind == NINES_KIND_HTTP && c->http.expect_status == NULL)
        cfg_set_default_str(x, &c->http.expect_status, "200-399");
    cfg_check_timeout(x, c, seen, d);
    x->where[0] = '\0';
}

static int cfg_idref_cmp(const void *a, const void *b)
{
    const struct cfg_idref *x = a;
    const struct cfg_idref *y = b;
    int c = strcmp(x->id, y->id);

    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Reports every check whose id an earlier check already uses. */
static void cfg_check_ids(struct cfg_ctx *x, const struct nines_check *checks, size_t n,
                          const struct yamltree_node **id_nodes)
{
    struct cfg_idref *refs = calloc(n ? n : 1, sizeof(*refs));
    size_t m = 0, first = 0;
    char ex[64];

    if (refs == NULL) {
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (checks[i].id != NULL && id_nodes[i] != NULL) {
            refs[m].id = checks[i].id;
            refs[m].node = id_nodes[i];
            refs[m].index = i;
            m++;
        }
    }
    qsort(refs, m, sizeof(*refs), cfg_idref_cmp);
    for (size_t i = 1; i < m; i++) {
        if (strcmp(refs[i].id, refs[first].id) != 0) {
            first = i;
            continue;
        }
        cfg_error_bare(x, refs[i].node, "duplicate check id '%s' (first defined at line %d)",
                       cfg_excerpt(refs[i].id, ex, sizeof(ex)), refs[first].node->line);
    }
    free(refs);
}

static void cfg_load_checks(struct cfg_ctx *x, const struct yamltree_node *seq,
                            struct cfg_defaults *d, struct nines_config *cfg)
{
    const struct yamltree_node **id_nodes;
    char got[96];

    if (seq->count == 0)
        return;
    cfg->checks = calloc(seq->count, sizeof(*cfg->checks));
    id_nodes = calloc(seq->count, sizeof(*id_nodes));
    if (cfg->checks == NULL || id_nodes == NULL) {
        free(id_nodes);
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i < seq->count && !x->nomem; i++) {
        const struct yamltree_node *item = seq->items[i];

        if (item->type != YAMLTREE_MAPPING) {
            cfg_error_bare(x, item, "checks[%zu]: expected a mapping, got %s", i,
                           cfg_got(item, got, sizeof(got)));
            continue;
        }
        id_nodes[cfg->checks_count] = yamltree_get(item, "id");
        cfg_load_check(x, item, i, d, &cfg->checks[cfg->checks_count++]);
    }
    cfg_check_ids(x, cfg->checks, cfg->checks_count, id_nodes);
    free(id_nodes);
}

static void cfg_load_root(struct cfg_ctx *x, const struct yamltree_node *root,
                          struct nines_config *cfg)
{
    const struct yamltree_node *sec[CFG_NFIELDS(cfg_top_fields)] = { 0 };
    struct cfg_defaults d;
    char got[96];

    if (root->type != YAMLTREE_MAPPING) {
        cfg_error(x, root, "the top level must be a mapping with a 'checks' key, got %s",
                  cfg_got(root, got, sizeof(got)));
        return;
    }
    for (size_t i = 0; i < root->count; i++) {
        const struct yamltree_node *k = root->pairs[i].key;
        const struct cfg_field *f = cfg_lookup(cfg_top_fields, CFG_NFIELDS(cfg_top_fields), k);
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        if (f != NULL) {
            sec[f - cfg_top_fields] = root->pairs[i].value;
            continue;
        }
        cfg_suggest(k->value, cfg_top_fields, CFG_NFIELDS(cfg_top_fields), 0, &best, &best_d);
        cfg_unknown_key(x, k, best);
    }
    if (sec[CFG_TOP_COLLECTOR] != NULL
        && cfg_want_type(x, &cfg_top_fields[CFG_TOP_COLLECTOR], sec[CFG_TOP_COLLECTOR],
                         YAMLTREE_MAPPING) == 0)
        cfg_load_collector(x, sec[CFG_TOP_COLLECTOR], &cfg->collector);
    memset(&d, 0, sizeof(d));
    nines_check_defaults(&d.tmpl);
    d.tmpl.interval_ms = 30000;
    d.tmpl.timeout_ms = 10000;
    d.tmpl.failures_to_down = 2;
    d.tmpl.successes_to_up = 1;
    if (sec[CFG_TOP_DEFAULTS] != NULL
        && cfg_want_type(x, &cfg_top_fields[CFG_TOP_DEFAULTS], sec[CFG_TOP_DEFAULTS],
                         YAMLTREE_MAPPING) == 0)
        cfg_load_defaults(x, sec[CFG_TOP_DEFAULTS], &d);
    if (sec[CFG_TOP_CHECKS] == NULL)
        cfg_error(x, root, "missing required key 'checks' (a sequence of checks, may be [])");
    else if (cfg_want_type(x, &cfg_top_fields[CFG_TOP_CHECKS], sec[CFG_TOP_CHECKS],
                           YAMLTREE_SEQUENCE) == 0)
        cfg_load_checks(x, sec[CFG_TOP_CHECKS], &d, cfg);
    nines_check_clear(&d.tmpl);
}

/* Reads the whole file (at most CFG_MAX_FILE_BYTES) into a NUL-terminated buffer. */
static int cfg_read_file(struct cfg_ctx *x, char **out, size_t *out_len)
{
    size_t len = 0, cap = 4096;
    int fd = open(x->path, O_RDONLY | O_CLOEXEC);
    int err = errno;
    char *buf;
    ssize_t n;

    if (fd < 0)
        goto unreadable;
    buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        return NINES_ENOMEM;
    }
    for (;;) {
        if (len + 1 == cap && cap <= CFG_MAX_FILE_BYTES) {
            char *p = realloc(buf, 2 * cap);

            if (p == NULL) {
                close(fd);
                free(buf);
                return NINES_ENOMEM;
            }
            buf = p;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len > CFG_MAX_FILE_BYTES) {
            close(fd);
            free(buf);
            nines_errlist_add(x->errs, x->path, 0, 0, "the file is larger than %zu MiB",
                              CFG_MAX_FILE_BYTES >> 20);
            return NINES_ECONFIG;
        }
    }
    err = errno;
    close(fd);
    if (n == 0) {
        buf[len] = '\0';
        *out = buf;
        *out_len = len;
        return 0;
    }
    free(buf);
unreadable:
    nines_errlist_add(x->errs, x->path, 0, 0, "cannot read the configuration file: %s",
                      strerror(err));
    return NINES_EIO;
}

/* Orders this call's errors by position, keeping the order of equal ones. */
static void cfg_sort_errors(struct nines_errlist *errs, size_t start)
{
    if (errs == NULL)
        return;
    for (size_t i = start + 1; i < errs->count; i++) {
        struct nines_err e = errs->item[i];
        size_t j = i;

        while (j > start && (errs->item[j - 1].line > e.line
                             || (errs->item[j - 1].line == e.line
                                 && errs->item[j - 1].column > e.column))) {
            errs->item[j] = errs->item[j - 1];
            j--;
        }
        errs->item[j] = e;
    }
}

/* Where an error about the whole file points. */
static const struct yamltree_node cfg_file_start = { .line = 1, .column = 1 };

static int cfg_collector_defaults(struct cfg_ctx *x, struct nines_collector_cfg *c)
{
    c->stream_maxlen = 1000000;
    if (cfg_set_default_str(x, &c->name, "collector") < 0
        || cfg_set_default_str(x, &c->data_dir, "/var/lib/nines") < 0
        || cfg_set_default_str(x, &c->redis_server, "redis-server") < 0
        || cfg_set_default_str(x, &c->log_level, "info") < 0)
        return NINES_ENOMEM;
    return 0;
}

int nines_config_load(const char *path, struct nines_config **out, struct nines_errlist *errs)
{
    struct cfg_ctx x;
    struct yamltree tree;
    struct nines_config *cfg;
    size_t start = errs ? errs->count : 0;
    size_t len;
    char *buf;
    int rc;

    *out = NULL;
    memset(&x, 0, sizeof(x));
    x.path = path;
    x.errs = errs;
    rc = cfg_read_file(&x, &buf, &len);
    if (rc != 0)
        return rc;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || (cfg->path = cfg_strdup(&x, path)) == NULL
        || cfg_collector_defaults(&x, &cfg->collector) < 0) {
        free(buf);
        nines_config_free(cfg);
        return NINES_ENOMEM;
    }
    rc = yamltree_parse(&tree, path, buf, len, errs);
    if (rc == 0 && tree.root == NULL)
        cfg_error(&x, &cfg_file_start, "the file is empty: expected a mapping with a "
                  "'checks' key");
    if (tree.root != NULL && rc != NINES_ENOMEM)
        cfg_load_root(&x, tree.root, cfg);
    yamltree_free(&tree);
    free(buf);
    free(x.dir);
    if (rc == NINES_ENOMEM || x.nomem) {
        nines_config_free(cfg);
        nines_errlist_add(errs, path, 0, 0, "out of memory");
        return NINES_ENOMEM;
    }
    if (rc != 0 || x.nerr > 0) {
        cfg_sort_errors(errs, start);
        nines_config_free(cfg);
        return NINES_ECONFIG;
    }
    *out = cfg;
    return 0;
}

void nines_config_free(struct nines_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->collector.name);
    free(cfg->collector.data_dir);
    free(cfg->collector.redis);
    free(cfg->collector.redis_server);
    free(cfg->collector.log_level);
    nines_checks_free(cfg->checks, cfg->checks_count);
    free(cfg);
}

/*
 * "500ms", "10s", "5m", "2h", "1d" or a bare number of seconds. Digits only
 * (no sign, no fraction, no spaces); overflow is an error.
 */
int nines_duration_parse(const char *s, int64_t *ms)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
                  { "h", 3600000 }, { "d", 86400000 } };
    int64_t v = 0;
    const char *p = s;

    if (s == NULL || *s < '0' || *s > '9')
        return NINES_EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return NINES_EINVAL;
        v = v * 10 + (*p - '0');
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].suffix) != 0)
            continue;
        if (v > INT64_MAX / units[i].ms)
            return NINES_EINVAL;
        *ms = v * units[i].ms;
        return 0;
    }
    return NINES_EINVAL;
}
