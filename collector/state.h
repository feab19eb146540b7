/*
 * Check state from results: per location UP / DOWN / DEGRADED / UNKNOWN with
 * failures_to_down and successes_to_up, and across locations a quorum that
 * opens and closes incidents, back-dated to the millisecond (DESIGN.md,
 * Semantics). Pure logic and its stored form; no I/O. What changed is
 * reported as events for the caller to store and log.
 */
#ifndef NINES_STATE_H
#define NINES_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "nines/check.h"
#include "nines/result.h"

enum check_state_kind { CHECK_UNKNOWN = 0, CHECK_UP, CHECK_DOWN, CHECK_DEGRADED };

struct stream_id {
    uint64_t ms;
    uint64_t seq;
};

#define STATE_MAX_LOCATIONS 32

struct loc_state {
    char name[NINES_ID_LEN];
    char probe[NINES_ID_LEN];
    enum check_state_kind state;     /* UNKNOWN until its first confirmed state */
    int fail_streak;
    int ok_streak;
    int64_t streak_start_ms;         /* first result of the current streak */
    char streak_reason[NINES_REASON_LEN];    /* first failure of the streak */
    char streak_message[NINES_MESSAGE_LEN];
    int64_t since_ms;                /* back-dated start of state */
    int64_t last_ms;                 /* start of its newest result */
    int64_t last_end_ms;             /* ... plus that result's duration */
    int silent;                      /* no result for 3 intervals: out of the quorum */
};

struct incident_state {
    int open;
    int64_t start_ms;
    int64_t end_ms;                  /* 0 while open */
    char reason[NINES_REASON_LEN];   /* the first failure's */
    char message[NINES_MESSAGE_LEN];
    char locations[256];             /* comma-separated, every location down in it */
};

struct check_state {
    char id[NINES_ID_LEN];
    enum check_state_kind state;
    int64_t since_ms;
    struct loc_state loc[STATE_MAX_LOCATIONS];
    size_t nloc;
    struct incident_state incident;  /* the open one, or the last closed one */
    int64_t first_ms;                /* the first result ever: before it, no data */
    int64_t last_ms;                 /* newest result from any location */
    int64_t last_total_us;
    int last_code;
    enum nines_outcome last_outcome;
    char last_location[NINES_ID_LEN];
    int64_t last_error_ms;           /* newest failure, kept after recovery */
    char last_error_reason[NINES_REASON_LEN];
    char last_error_message[NINES_MESSAGE_LEN];
    struct stream_id applied;        /* newest stream entry applied */
    uint64_t results;
};

enum state_event_kind {
    EV_CHECK_STATE,      /* check state from → to at t_ms */
    EV_LOCATION_STATE,   /* location's state from → to at t_ms */
    EV_INCIDENT_OPEN,    /* s->incident opened (start t_ms) */
    EV_INCIDENT_GROW,    /* a location joined the open incident */
    EV_INCIDENT_CLOSE,   /* s->incident closed (end t_ms) */
    EV_GAP,              /* no data at all in [t_ms, t2_ms) */
    EV_LOCATION_SILENT,  /* location stopped reporting (last result t_ms) */
    EV_LOCATION_BACK,    /* a silent location reports again */
};

struct state_event {
    enum state_event_kind kind;
    enum check_state_kind from, to;
    char location[NINES_ID_LEN];
    int64_t t_ms;
    int64_t t2_ms;
};

#define STATE_MAX_EVENTS 16
struct state_events {
    size_t n;
    struct state_event ev[STATE_MAX_EVENTS];
};

const char *state_name(enum check_state_kind k);
int state_parse_name(const char *s, enum check_state_kind *k);
void state_init(struct check_state *s, const char *id);
/*
 * Applies result r (stream entry sid) under check c. Returns 0, 1 when it
 * was a replay (sid not newer than the last applied: nothing changed), or
 * NINES_ENOMEM-like -1 when the location table is full (result ignored).
 */
int state_apply(struct check_state *s, const struct nines_check *c,
                const struct nines_result *r, struct stream_id sid, struct state_events *ev);
/* Time passing with no results: silence and UNKNOWN, at now_ms. */
void state_tick(struct check_state *s, const struct nines_check *c, int64_t now_ms,
                struct state_events *ev);
/* Locations needed down for the check to be down, given those reporting. */
size_t state_quorum(const struct nines_check *c, size_t reporting);

int stream_id_parse(const char *s, size_t len, struct stream_id *sid);
int stream_id_cmp(struct stream_id a, struct stream_id b);

/* The stored form, version 2 (state.c has its rules): a JSON document
 * (malloc'd) and back. */
char *state_encode(const struct check_state *s);
/* The same document into *buf (capacity *cap, grown with realloc and kept
 * by the caller, who frees it), NUL-terminated; its length in *len.
 * 0, or NINES_ENOMEM (*buf still the caller's to free). */
int state_encode_to(const struct check_state *s, char **buf, size_t *cap, size_t *len);
/* Version 2, or 1 as collectors before it stored it, into s (its id kept);
 * 0, or NINES_EPROTO with s as state_init left it. */
int state_decode(struct check_state *s, const char *json, size_t len);

#endif
