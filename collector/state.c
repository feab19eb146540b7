/* The per-check state machine and its Redis hash form; see state.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nines/err.h"
#include "state.h"

static const char *const state_names[] = { "UNKNOWN", "UP", "DOWN" };

const char *state_name(enum check_state_kind k)
{
    return (unsigned)k < 3 ? state_names[k] : "UNKNOWN";
}

void state_init(struct check_state *s, const char *id)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->last_total_us = -1;
}

int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

int stream_id_parse(const char *s, size_t len, struct stream_id *sid)
{
    char buf[48], *dash, *end;

    if (len == 0 || len >= sizeof(buf))
        return NINES_EPROTO;
    memcpy(buf, s, len);
    buf[len] = '\0';
    dash = strchr(buf, '-');
    if (dash == NULL || dash == buf || buf[0] == '-' || dash[1] == '\0' || dash[1] == '-')
        return NINES_EPROTO;
    *dash = '\0';
    errno = 0;
    sid->ms = strtoull(buf, &end, 10);
    if (*end != '\0' || errno != 0)
        return NINES_EPROTO;
    sid->seq = strtoull(dash + 1, &end, 10);
    if (*end != '\0' || errno != 0)
        return NINES_EPROTO;
    return 0;
}

static void state_note_result(struct check_state *s, const struct nines_result *r)
{
    s->results++;
    s->last_ms = r->start_ms;
    s->last_total_us = r->total_us;
    s->last_code = r->code;
    s->last_outcome = r->outcome;
    memcpy(s->last_probe, r->probe, sizeof(s->last_probe));
    memcpy(s->last_location, r->location, sizeof(s->last_location));
    if (r->outcome != NINES_OUTCOME_OK) {
        s->last_error_ms = r->start_ms;
        memcpy(s->last_error_reason, r->reason, sizeof(s->last_error_reason));
        memcpy(s->last_error_message, r->message, sizeof(s->last_error_message));
    }
}

enum state_change state_apply(struct check_state *s, const struct nines_check *c,
                              const struct nines_result *r, struct stream_id sid)
{
    enum check_state_kind before = s->state;

    if (stream_id_cmp(sid, s->applied) <= 0)
        return STATE_DUPLICATE;
    s->applied = sid;
    state_note_result(s, r);
    if (r->outcome == NINES_OUTCOME_OK) {
        if (s->ok_streak++ == 0)
            s->streak_start_ms = r->start_ms;
        s->fail_streak = 0;
        if (s->state != CHECK_UP &&
            (s->state == CHECK_UNKNOWN || s->ok_streak >= c->successes_to_up)) {
            s->state = CHECK_UP;
            s->since_ms = s->streak_start_ms;
        }
    } else {
        if (s->fail_streak++ == 0)
            s->streak_start_ms = r->start_ms;
        s->ok_streak = 0;
        if (s->state != CHECK_DOWN && s->fail_streak >= c->failures_to_down) {
            s->state = CHECK_DOWN;
            s->since_ms = s->streak_start_ms;
        }
    }
    return s->state != before ? STATE_CHANGED : STATE_SAME;
}

static size_t state_put(struct state_fields *f, const char *name, const char *value,
                        size_t len)
{
    f->argv[f->argc] = name;
    f->argvlen[f->argc++] = strlen(name);
    f->argv[f->argc] = value;
    f->argvlen[f->argc++] = len;
    return f->argc;
}

static void state_put_num(struct state_fields *f, size_t *nb, const char *name, int64_t v)
{
    int n = snprintf(f->buf[*nb], sizeof(f->buf[0]), "%" PRId64, v);

    state_put(f, name, f->buf[(*nb)++], (size_t)n);
}

static void state_put_str(struct state_fields *f, const char *name, const char *v)
{
    state_put(f, name, v, strlen(v));
}

void state_encode(const struct check_state *s, struct state_fields *f)
{
    size_t nb = 0;
    int n;

    f->argc = 0;
    state_put_str(f, "state", state_name(s->state));
    state_put_num(f, &nb, "since_ms", s->since_ms);
    state_put_num(f, &nb, "fail_streak", s->fail_streak);
    state_put_num(f, &nb, "ok_streak", s->ok_streak);
    state_put_num(f, &nb, "streak_start_ms", s->streak_start_ms);
    state_put_num(f, &nb, "last_ms", s->last_ms);
    state_put_num(f, &nb, "last_total_us", s->last_total_us);
    state_put_num(f, &nb, "last_code", s->last_code);
    state_put_str(f, "last_outcome", nines_outcome_name(s->last_outcome));
    state_put_str(f, "last_probe", s->last_probe);
    state_put_str(f, "last_location", s->last_location);
    state_put_num(f, &nb, "last_error_ms", s->last_error_ms);
    state_put_str(f, "last_error_reason", s->last_error_reason);
    state_put_str(f, "last_error_message", s->last_error_message);
    n = snprintf(f->buf[nb], sizeof(f->buf[0]), "%" PRIu64 "-%" PRIu64, s->applied.ms,
                 s->applied.seq);
    state_put(f, "applied", f->buf[nb++], (size_t)n);
    state_put_num(f, &nb, "results", (int64_t)s->results);
}

static int state_num(const char *v, size_t len, int64_t *out)
{
    char buf[32], *end;

    if (len == 0 || len >= sizeof(buf))
        return NINES_EPROTO;
    memcpy(buf, v, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return *end == '\0' && errno == 0 ? 0 : NINES_EPROTO;
}

static void state_copy_str(char *dst, size_t cap, const char *v, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

/* One field of the hash into s; unknown names are ignored. */
static int state_decode_field(struct check_state *s, const char *k, const char *v, size_t len)
{
    int64_t n = 0;
    int numeric = strcmp(k, "since_ms") == 0 || strcmp(k, "fail_streak") == 0 ||
                  strcmp(k, "ok_streak") == 0 || strcmp(k, "streak_start_ms") == 0 ||
                  strcmp(k, "last_ms") == 0 || strcmp(k, "last_total_us") == 0 ||
                  strcmp(k, "last_code") == 0 || strcmp(k, "last_error_ms") == 0 ||
                  strcmp(k, "results") == 0;

    if (numeric && state_num(v, len, &n) != 0)
        return NINES_EPROTO;
    if (strcmp(k, "state") == 0) {
        s->state = len == 2 && memcmp(v, "UP", 2) == 0     ? CHECK_UP
                   : len == 4 && memcmp(v, "DOWN", 4) == 0 ? CHECK_DOWN
                                                           : CHECK_UNKNOWN;
    } else if (strcmp(k, "since_ms") == 0) {
        s->since_ms = n;
    } else if (strcmp(k, "fail_streak") == 0) {
        s->fail_streak = (int)n;
    } else if (strcmp(k, "ok_streak") == 0) {
        s->ok_streak = (int)n;
    } else if (strcmp(k, "streak_start_ms") == 0) {
        s->streak_start_ms = n;
    } else if (strcmp(k, "last_ms") == 0) {
        s->last_ms = n;
    } else if (strcmp(k, "last_total_us") == 0) {
        s->last_total_us = n;
    } else if (strcmp(k, "last_code") == 0) {
        s->last_code = (int)n;
    } else if (strcmp(k, "last_error_ms") == 0) {
        s->last_error_ms = n;
    } else if (strcmp(k, "results") == 0) {
        s->results = (uint64_t)n;
    } else if (strcmp(k, "last_outcome") == 0) {
        char buf[16];

        state_copy_str(buf, sizeof(buf), v, len);
        if (nines_outcome_parse(buf, &s->last_outcome) != 0)
            return NINES_EPROTO;
    } else if (strcmp(k, "last_probe") == 0) {
        state_copy_str(s->last_probe, sizeof(s->last_probe), v, len);
    } else if (strcmp(k, "last_location") == 0) {
        state_copy_str(s->last_location, sizeof(s->last_location), v, len);
    } else if (strcmp(k, "last_error_reason") == 0) {
        state_copy_str(s->last_error_reason, sizeof(s->last_error_reason), v, len);
    } else if (strcmp(k, "last_error_message") == 0) {
        state_copy_str(s->last_error_message, sizeof(s->last_error_message), v, len);
    } else if (strcmp(k, "applied") == 0) {
        return stream_id_parse(v, len, &s->applied);
    }
    return 0;
}

int state_decode(struct check_state *s, const char *const *fields, const size_t *lens,
                 size_t count)
{
    if (count % 2 != 0)
        return NINES_EPROTO;
    for (size_t i = 0; i < count; i += 2) {
        char key[32];

        if (lens[i] >= sizeof(key))
            continue;
        memcpy(key, fields[i], lens[i]);
        key[lens[i]] = '\0';
        if (state_decode_field(s, key, fields[i + 1], lens[i + 1]) != 0)
            return NINES_EPROTO;
    }
    return 0;
}
