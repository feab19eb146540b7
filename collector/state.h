/*
 * Per-check state, derived from results: UP, DOWN after failures_to_down
 * consecutive failures (back-dated to the first of them), UP again after
 * successes_to_up successes (from the first of those). Pure logic plus its
 * Redis hash form; no I/O.
 */
#ifndef NINES_STATE_H
#define NINES_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "nines/check.h"
#include "nines/result.h"

enum check_state_kind { CHECK_UNKNOWN = 0, CHECK_UP, CHECK_DOWN };

struct stream_id {
    uint64_t ms;
    uint64_t seq;
};

struct check_state {
    char id[NINES_ID_LEN];
    enum check_state_kind state;
    int64_t since_ms;              /* start of the current state (back-dated) */
    int fail_streak;
    int ok_streak;
    int64_t streak_start_ms;       /* start time of the current streak's first result */
    int64_t last_ms;               /* start time of the newest result applied */
    int64_t last_total_us;
    int last_code;
    enum nines_outcome last_outcome;
    char last_probe[NINES_ID_LEN];
    char last_location[NINES_ID_LEN];
    int64_t last_error_ms;         /* newest failure, kept after recovery */
    char last_error_reason[NINES_REASON_LEN];
    char last_error_message[NINES_MESSAGE_LEN];
    struct stream_id applied;      /* newest stream entry applied: replays are skipped */
    uint64_t results;
};

enum state_change { STATE_SAME = 0, STATE_CHANGED = 1, STATE_DUPLICATE = -1 };

const char *state_name(enum check_state_kind k);
void state_init(struct check_state *s, const char *id);
/* Applies result r (stream entry sid) under check c's thresholds. */
enum state_change state_apply(struct check_state *s, const struct nines_check *c,
                              const struct nines_result *r, struct stream_id sid);
/* "1700000000000-5" → sid; 0 or NINES_EPROTO. */
int stream_id_parse(const char *s, size_t len, struct stream_id *sid);
int stream_id_cmp(struct stream_id a, struct stream_id b);

/* The state as HSET field/value pairs (argv points into s and f's buffers). */
#define STATE_FIELDS 18
struct state_fields {
    size_t argc;
    const char *argv[2 * STATE_FIELDS];
    size_t argvlen[2 * STATE_FIELDS];
    char buf[STATE_FIELDS][40];
};
void state_encode(const struct check_state *s, struct state_fields *f);
/* From HGETALL's flat field/value strings; unknown fields are ignored. */
int state_decode(struct check_state *s, const char *const *fields, const size_t *lens,
                 size_t count);

#endif
