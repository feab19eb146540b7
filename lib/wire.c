/*
 * Results as Redis stream entries, binary-safe, in two forms (wire.h): the
 * packed form (version 2, one field "r" holding every value length-prefixed
 * in the order of wire_fields below) and the pairs form (version 1).
 *
 * Fields: v (wire version), id, check, probe, loc, ts (start_ms), out
 * (outcome name), total_us, dns_us, connect_us, tls_us, ttfb_us (each left
 * out when -1), code (left out when 0), reason, msg, facts (compact JSON, as
 * the engine made it) and warn (each left out when empty).
 * The decoder checks every value strictly: a peer's bytes never reach a
 * fixed buffer unchecked and never get silently truncated. facts is copied
 * as it is (length-checked only): the engine that wrote it made it valid.
 *
 * struct nines_wire holds at most NINES_WIRE_MAX_FIELDS fields. Should a
 * result use every field at once, the encoder leaves out the last ones in
 * the order above (warn first: a warning belongs to an ok result, which has
 * no reason) rather than overrun the arrays.
 */
#include <limits.h>
#include <string.h>

#include "nines/wire.h"
#include "fmt.h"

enum wire_kind {
    WIRE_VERSION,
    WIRE_STR,
    WIRE_TS,
    WIRE_OUTCOME,
    WIRE_TIMING,
    WIRE_CODE,
};

/* One known field: its name, how to read it, and where it lands. */
struct wire_field {
    const char *name;
    enum wire_kind kind;
    int required;
    size_t offset;          /* into struct nines_result */
    size_t size;            /* of the destination buffer, for strings */
};

#define WIRE_STR_FIELD(n, member, req) \
    { n, WIRE_STR, req, offsetof(struct nines_result, member), \
      sizeof(((struct nines_result *)0)->member) }
#define WIRE_NUM_FIELD(n, k, member, req) \
    { n, k, req, offsetof(struct nines_result, member), 0 }

static const struct wire_field wire_fields[] = {
    { "v", WIRE_VERSION, 1, 0, 0 },
    WIRE_STR_FIELD("id", id, 1),
    WIRE_STR_FIELD("check", check_id, 1),
    WIRE_STR_FIELD("probe", probe, 1),
    WIRE_STR_FIELD("loc", location, 1),
    WIRE_NUM_FIELD("ts", WIRE_TS, start_ms, 1),
    WIRE_NUM_FIELD("out", WIRE_OUTCOME, outcome, 1),
    WIRE_NUM_FIELD("total_us", WIRE_TIMING, total_us, 0),
    WIRE_NUM_FIELD("dns_us", WIRE_TIMING, dns_us, 0),
    WIRE_NUM_FIELD("connect_us", WIRE_TIMING, connect_us, 0),
    WIRE_NUM_FIELD("tls_us", WIRE_TIMING, tls_us, 0),
    WIRE_NUM_FIELD("ttfb_us", WIRE_TIMING, ttfb_us, 0),
    WIRE_NUM_FIELD("code", WIRE_CODE, code, 0),
    WIRE_STR_FIELD("reason", reason, 0),
    WIRE_STR_FIELD("msg", message, 0),
    WIRE_STR_FIELD("facts", facts, 0),
    WIRE_STR_FIELD("warn", warning, 0),
};

#define WIRE_NFIELDS (sizeof(wire_fields) / sizeof(wire_fields[0]))
#define WIRE_SLOTS (sizeof(((struct nines_wire *)0)->argv) / sizeof(const char *))

_Static_assert(WIRE_NFIELDS <= 32, "the decoder's 'seen' bit set is 32 bits");
_Static_assert(WIRE_SLOTS % 2 == 0, "argv holds name/value pairs");

/* Appends one field, unless the arrays are full (see the top of the file). */
static void wire_put(struct nines_wire *w, const char *name, const char *val, size_t len)
{
    if (w->argc + 2 > WIRE_SLOTS)
        return;
    w->argv[w->argc] = name;
    w->argvlen[w->argc] = strlen(name);
    w->argv[w->argc + 1] = val;
    w->argvlen[w->argc + 1] = len;
    w->argc += 2;
}

/*
 * Field f of r as its stream value, for both forms: the length with *val
 * set, or -1 when the field is left out (a timing of -1, a code of 0, an
 * empty optional string). A number's digits go in num (24 bytes); strings
 * are bounded, in case the producer forgot the NUL. Not for "v", whose
 * value is the form's own.
 */
static long wire_value(const struct wire_field *f, const struct nines_result *r, char *num,
                       const char **val)
{
    const char *at = (const char *)r + f->offset;
    int64_t v = 0;
    int code;
    size_t n;

    switch (f->kind) {
    case WIRE_STR:
        n = strnlen(at, f->size - 1);
        *val = at;
        return n > 0 || f->required ? (long)n : -1;
    case WIRE_OUTCOME:
        *val = nines_outcome_name(r->outcome);
        return (long)strlen(*val);
    case WIRE_CODE:
        memcpy(&code, at, sizeof(code));
        if (code == 0)
            return -1;
        v = code;
        break;
    case WIRE_TIMING:
    case WIRE_TS:
        memcpy(&v, at, sizeof(v));
        if (f->kind == WIRE_TIMING && v == -1)
            return -1;
        break;
    default:
        return -1;
    }
    *val = num;
    return (long)fmt_i64(num, v);
}

_Static_assert(WIRE_NFIELDS <= NINES_WIRE_MAX_FIELDS, "a number buffer per field");

void nines_wire_encode_pairs(const struct nines_result *r, struct nines_wire *w)
{
    w->argc = 0;
    wire_put(w, "v", NINES_WIRE_VERSION, strlen(NINES_WIRE_VERSION));
    for (size_t i = 0; i < WIRE_NFIELDS; i++) {
        const char *val;
        long n;

        if (wire_fields[i].kind == WIRE_VERSION)
            continue;
        n = wire_value(&wire_fields[i], r, w->buf[i], &val);
        if (n >= 0)
            wire_put(w, wire_fields[i].name, val, (size_t)n);
    }
}

/* Appends "<len>:<bytes>" at p; NINES_WIRE_PACKED_MAX has room for all. */
static char *wire_pack(char *p, const char *s, size_t len)
{
    p += fmt_u64(p, len);
    *p++ = ':';
    memcpy(p, s, len);
    return p + len;
}

/* Every field of wire_fields in its order, a left-out one empty. */
void nines_wire_encode(const struct nines_result *r, struct nines_wire *w)
{
    char *p = w->packed;

    p = wire_pack(p, NINES_WIRE_PACKED_VERSION, strlen(NINES_WIRE_PACKED_VERSION));
    for (size_t i = 0; i < WIRE_NFIELDS; i++) {
        char num[24];
        const char *val = "";
        long n;

        if (wire_fields[i].kind == WIRE_VERSION)
            continue;
        n = wire_value(&wire_fields[i], r, num, &val);
        p = wire_pack(p, val, n > 0 ? (size_t)n : 0);
    }
    w->argv[0] = NINES_WIRE_PACKED_FIELD;
    w->argvlen[0] = strlen(NINES_WIRE_PACKED_FIELD);
    w->argv[1] = w->packed;
    w->argvlen[1] = (size_t)(p - w->packed);
    w->argc = 2;
}

int nines_wire_xadd_argv(const struct nines_wire *w, const char *stream, const char **av,
                         size_t *al)
{
    av[0] = "XADD";
    al[0] = 4;
    av[1] = stream;
    al[1] = strlen(stream);
    av[2] = "*";
    al[2] = 1;
    memcpy(av + 3, w->argv, w->argc * sizeof(*av));
    memcpy(al + 3, w->argvlen, w->argc * sizeof(*al));
    return (int)(3 + w->argc);
}

/* A printable, bounded excerpt of untrusted bytes, for error messages. */
static const char *wire_preview(const char *s, size_t len, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];

        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (o + 4 >= size && len > o) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* Strict decimal int64: optional '-', digits only, no overflow. */
static int wire_parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t limit, acc = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len)
        return -1;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (acc > (limit - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (neg)
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return 0;
}

static int wire_read_num(const struct wire_field *f, const char *s, size_t len,
                         struct nines_result *r, struct nines_err *err)
{
    char pv[48];
    int64_t v;
    int c;

    if (wire_parse_i64(s, len, &v) < 0)
        return nines_err_set(err, NINES_EPROTO, "field '%s': not a number: '%s'", f->name,
                             wire_preview(s, len, pv, sizeof(pv)));
    switch (f->kind) {
    case WIRE_TS:
        if (v < 0)
            return nines_err_set(err, NINES_EPROTO, "field 'ts': negative: %lld",
                                 (long long)v);
        break;
    case WIRE_TIMING:
        if (v < -1)
            return nines_err_set(err, NINES_EPROTO, "field '%s': below -1: %lld", f->name,
                                 (long long)v);
        break;
    case WIRE_CODE:
        if (v < 0 || v > INT_MAX)
            return nines_err_set(err, NINES_EPROTO, "field 'code': out of range: %lld",
                                 (long long)v);
        c = (int)v;
        memcpy((char *)r + f->offset, &c, sizeof(c));
        return 0;
    default:
        break;
    }
    memcpy((char *)r + f->offset, &v, sizeof(v));
    return 0;
}

static int wire_read_value(const struct wire_field *f, const char *s, size_t len,
                           struct nines_result *r, struct nines_err *err)
{
    char pv[48];
    char name[16];

    if (memchr(s, '\0', len) != NULL)
        return nines_err_set(err, NINES_EPROTO, "field '%s': contains a NUL byte", f->name);
    switch (f->kind) {
    case WIRE_VERSION:
        if (len != strlen(NINES_WIRE_VERSION) || memcmp(s, NINES_WIRE_VERSION, len) != 0)
            return nines_err_set(err, NINES_EPROTO,
                                 "field 'v': unsupported wire version '%s' (want '%s')",
                                 wire_preview(s, len, pv, sizeof(pv)), NINES_WIRE_VERSION);
        return 0;
    case WIRE_STR:
        if (len >= f->size)
            return nines_err_set(err, NINES_EPROTO, "field '%s': too long (%zu bytes, max %zu)",
                                 f->name, len, f->size - 1);
        if (len == 0 && f->required)
            return nines_err_set(err, NINES_EPROTO, "field '%s': empty", f->name);
        memcpy((char *)r + f->offset, s, len);
        ((char *)r)[f->offset + len] = '\0';
        return 0;
    case WIRE_OUTCOME:
        if (len < sizeof(name)) {
            memcpy(name, s, len);
            name[len] = '\0';
            if (nines_outcome_parse(name, &r->outcome) == 0)
                return 0;
        }
        return nines_err_set(err, NINES_EPROTO, "field 'out': unknown outcome '%s'",
                             wire_preview(s, len, pv, sizeof(pv)));
    default:
        return wire_read_num(f, s, len, r, err);
    }
}

static const struct wire_field *wire_lookup(const char *name, size_t len, size_t *index)
{
    for (size_t i = 0; i < WIRE_NFIELDS; i++) {
        if (strlen(wire_fields[i].name) == len && memcmp(wire_fields[i].name, name, len) == 0) {
            *index = i;
            return &wire_fields[i];
        }
    }
    return NULL;
}

static int wire_decode_pairs(const char *const *fields, const size_t *lens, size_t count,
                             struct nines_result *r, struct nines_err *err)
{
    unsigned seen = 0;

    if (count % 2 != 0)
        return nines_err_set(err, NINES_EPROTO, "odd number of field strings (%zu)", count);
    for (size_t i = 0; i < count; i += 2) {
        const struct wire_field *f;
        size_t idx;
        int rc;

        if (fields[i] == NULL || fields[i + 1] == NULL)
            return nines_err_set(err, NINES_EPROTO, "field pair %zu: missing string", i / 2);
        f = wire_lookup(fields[i], lens[i], &idx);
        if (f == NULL)
            continue;               /* from a newer probe */
        if (seen & (1u << idx))
            return nines_err_set(err, NINES_EPROTO, "field '%s': duplicated", f->name);
        seen |= 1u << idx;
        rc = wire_read_value(f, fields[i + 1], lens[i + 1], r, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < WIRE_NFIELDS; i++) {
        if (wire_fields[i].required && !(seen & (1u << i)))
            return nines_err_set(err, NINES_EPROTO, "field '%s': missing",
                                 wire_fields[i].name);
    }
    return 0;
}

/* The packed form is one pair named "r" first (pairs after it: reserved). */
static int wire_is_packed(const char *const *fields, const size_t *lens, size_t count)
{
    return count >= 2 && count % 2 == 0 && fields[0] != NULL && fields[1] != NULL &&
           lens[0] == strlen(NINES_WIRE_PACKED_FIELD) &&
           memcmp(fields[0], NINES_WIRE_PACKED_FIELD, lens[0]) == 0;
}

/* The next "<length>:" prefix at *pos of s: its length, or -1. */
static long wire_packed_len(const char *s, size_t len, size_t *pos)
{
    size_t n = 0, digits = 0, start = *pos;

    while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9' && digits < 7) {
        n = n * 10 + (size_t)(s[(*pos)++] - '0');
        digits++;
    }
    if (digits == 0 || digits > 6 || *pos == len || s[*pos] != ':' ||
        (digits > 1 && s[start] == '0'))
        return -1;
    (*pos)++;
    return (long)n;
}

int nines_wire_field(const char *const *fields, const size_t *lens, size_t count,
                     const char *name, const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);

    if (count > 0 && (fields == NULL || lens == NULL))
        return -1;
    if (wire_is_packed(fields, lens, count)) {
        const char *s = fields[1];
        size_t len = lens[1], pos = 0;

        for (size_t i = 0; i < WIRE_NFIELDS && pos < len; i++) {
            long n = wire_packed_len(s, len, &pos);

            if (n < 0 || (size_t)n > len - pos)
                return -1;
            if (strcmp(wire_fields[i].name, name) == 0) {
                *val = s + pos;
                *vlen = (size_t)n;
                return n > 0 ? 0 : -1;
            }
            pos += (size_t)n;
        }
        return -1;
    }
    for (size_t i = 0; i + 1 < count; i += 2) {
        if (fields[i] != NULL && fields[i + 1] != NULL && lens[i] == nlen &&
            memcmp(fields[i], name, nlen) == 0) {
            *val = fields[i + 1];
            *vlen = lens[i + 1];
            return 0;
        }
    }
    return -1;
}

/*
 * The packed form: "<length>:<bytes>" per field of wire_fields, in order.
 * Lengths are plain decimal (no sign, no leading zero, at most 6 digits)
 * and must fit what is left; an empty value is an absent field.
 */
static int wire_decode_packed(const char *s, size_t len, struct nines_result *r,
                              struct nines_err *err)
{
    char pv[48];
    size_t pos = 0;

    for (size_t i = 0; i < WIRE_NFIELDS; i++) {
        const struct wire_field *f = &wire_fields[i];
        size_t start = pos, n;
        long got;
        int rc;

        if (pos == len) {
            if (f->required)
                return nines_err_set(err, NINES_EPROTO, "field '%s': missing", f->name);
            continue;       /* no more fields: the rest are absent */
        }
        if ((got = wire_packed_len(s, len, &pos)) < 0)
            return nines_err_set(err, NINES_EPROTO,
                                 "field '%s': bad length prefix at byte %zu: '%s'", f->name,
                                 start, wire_preview(s + start, len - start, pv, sizeof(pv)));
        n = (size_t)got;
        if (n > len - pos)
            return nines_err_set(err, NINES_EPROTO,
                                 "field '%s': %zu bytes announced, %zu left", f->name, n,
                                 len - pos);
        if (i == 0) {
            if (n != strlen(NINES_WIRE_PACKED_VERSION) ||
                memcmp(s + pos, NINES_WIRE_PACKED_VERSION, n) != 0)
                return nines_err_set(err, NINES_EPROTO,
                                     "field 'v': unsupported packed version '%s' (want '%s')",
                                     wire_preview(s + pos, n, pv, sizeof(pv)),
                                     NINES_WIRE_PACKED_VERSION);
        } else if (n == 0) {
            if (f->required)
                return nines_err_set(err, NINES_EPROTO, "field '%s': missing", f->name);
        } else if ((rc = wire_read_value(f, s + pos, n, r, err)) < 0) {
            return rc;
        }
        pos += n;
    }
    return 0;       /* anything after: a newer producer's fields */
}

/*
 * r is initialised (nines_result_init) before decoding, and again when
 * decoding fails, so it never holds half an entry.
 */
int nines_wire_decode(const char *const *fields, const size_t *lens, size_t count,
                      struct nines_result *r, struct nines_err *err)
{
    int rc;

    nines_result_init(r);
    if (count > 0 && (fields == NULL || lens == NULL))
        return nines_err_set(err, NINES_EINVAL, "no field array");
    if (wire_is_packed(fields, lens, count))
        rc = wire_decode_packed(fields[1], lens[1], r, err);
    else
        rc = wire_decode_pairs(fields, lens, count, r, err);
    if (rc < 0)
        nines_result_init(r);
    return rc;
}
