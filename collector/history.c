/* Offline replay of a check's history through state.c; see history.h. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "nines/err.h"

#define HISTORY_DAY_MS INT64_C(86400000)
/* Far enough past the last result for every location to fall silent
 * (state.c: 3 intervals) and the check to go UNKNOWN (2 intervals). */
#define HISTORY_FLUSH_INTERVALS 10

struct history {
    const struct nines_check *check;
    struct check_state st;
    uint64_t seq;
    int64_t last_ms;
    int finished;
    struct history_incident *inc;
    size_t ninc, cap_inc;
    struct history_gap *gap;
    size_t ngap, cap_gap;
    struct history_day *day;
    size_t nday, cap_day;
    EVP_MD_CTX *md;          /* digest of the current (last) day */
};

struct history *history_new(const struct nines_check *c)
{
    struct history *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->md = EVP_MD_CTX_new();
    if (h->md == NULL) {
        free(h);
        return NULL;
    }
    h->check = c;
    state_init(&h->st, c->id);
    return h;
}

void history_free(struct history *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->md);
    free(h->inc);
    free(h->gap);
    free(h->day);
    free(h);
}

/* Makes room for one more element of size sz in *v; 0 or NINES_ENOMEM. */
static int history_grow(void **v, size_t n, size_t *cap, size_t sz)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return 0;
    ncap = *cap ? 2 * *cap : 16;
    p = realloc(*v, ncap * sz);
    if (p == NULL)
        return NINES_ENOMEM;
    *v = p;
    *cap = ncap;
    return 0;
}

static int history_note_close(struct history *h)
{
    const struct incident_state *in = &h->st.incident;
    struct history_incident *x;

    if (history_grow((void **)&h->inc, h->ninc, &h->cap_inc, sizeof(*h->inc)) != 0)
        return NINES_ENOMEM;
    x = &h->inc[h->ninc++];
    x->start_ms = in->start_ms;
    x->end_ms = in->end_ms;
    memcpy(x->reason, in->reason, sizeof(x->reason));
    memcpy(x->message, in->message, sizeof(x->message));
    memcpy(x->locations, in->locations, sizeof(x->locations));
    return 0;
}

/* Keeps what the store would keep of ev: closed incidents and gaps. */
static int history_take_events(struct history *h, const struct state_events *ev)
{
    for (size_t i = 0; i < ev->n; i++) {
        const struct state_event *e = &ev->ev[i];

        if (e->kind == EV_INCIDENT_CLOSE && history_note_close(h) != 0)
            return NINES_ENOMEM;
        if (e->kind != EV_GAP)
            continue;
        if (history_grow((void **)&h->gap, h->ngap, &h->cap_gap, sizeof(*h->gap)) != 0)
            return NINES_ENOMEM;
        h->gap[h->ngap].from_ms = e->t_ms;
        h->gap[h->ngap++].to_ms = e->t2_ms;
    }
    return 0;
}

static void history_day_digest_end(struct history *h)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    struct history_day *d;

    if (h->nday == 0)
        return;
    d = &h->day[h->nday - 1];
    if (d->digest[0] != '\0' || EVP_DigestFinal_ex(h->md, md, &len) != 1)
        return;
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(d->digest + 2 * i, 3, "%02x", md[i]);
}

/* Counts an ok result's latency into its UTC day, as store_latency does. */
static int history_latency(struct history *h, const struct nines_result *r)
{
    int64_t day = r->start_ms - r->start_ms % HISTORY_DAY_MS;
    char start[24], total[24];
    struct history_day *d;

    if (r->outcome != NINES_OUTCOME_OK || r->total_us < 0)
        return 0;
    if (h->nday == 0 || h->day[h->nday - 1].day_ms != day) {
        history_day_digest_end(h);
        if (history_grow((void **)&h->day, h->nday, &h->cap_day, sizeof(*h->day)) != 0)
            return NINES_ENOMEM;
        d = &h->day[h->nday++];
        memset(d, 0, sizeof(*d));
        d->day_ms = day;
        nines_histo_init(&d->h);
        if (EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
            return NINES_ENOMEM;
    }
    d = &h->day[h->nday - 1];
    nines_histo_add(&d->h, (uint64_t)r->total_us);
    snprintf(start, sizeof(start), "%" PRId64, r->start_ms);
    snprintf(total, sizeof(total), "%" PRId64, r->total_us);
    EVP_DigestUpdate(h->md, r->location, strlen(r->location) + 1);
    EVP_DigestUpdate(h->md, start, strlen(start) + 1);
    EVP_DigestUpdate(h->md, total, strlen(total) + 1);
    return 0;
}

/* Whether r would need a location the state has no room for. */
static int history_location_full(const struct history *h, const struct nines_result *r)
{
    for (size_t i = 0; i < h->st.nloc; i++)
        if (strcmp(h->st.loc[i].name, r->location) == 0)
            return 0;
    return h->st.nloc >= STATE_MAX_LOCATIONS;
}

int history_apply(struct history *h, const struct nines_result *r)
{
    struct state_events ev = { 0 };
    struct stream_id sid;
    int rc;

    if (h->finished || (h->seq > 0 && r->start_ms < h->last_ms))
        return NINES_ESTATE;
    if (history_location_full(h, r))
        return NINES_EINVAL;
    /* the live collector's tick, run before this result arrived */
    state_tick(&h->st, h->check, r->start_ms, &ev);
    rc = history_take_events(h, &ev);
    ev.n = 0;
    sid.ms = (uint64_t)r->start_ms;
    sid.seq = ++h->seq;
    if (rc == 0 && state_apply(&h->st, h->check, r, sid, &ev) < 0)
        rc = NINES_EINVAL;
    if (rc == 0)
        rc = history_take_events(h, &ev);
    if (rc == 0)
        rc = history_latency(h, r);
    h->last_ms = r->start_ms;
    return rc;
}

int history_finish(struct history *h)
{
    struct state_events ev = { 0 };

    if (h->finished)
        return 0;
    h->finished = 1;
    history_day_digest_end(h);
    if (h->seq == 0)
        return 0;
    state_tick(&h->st, h->check, h->last_ms + HISTORY_FLUSH_INTERVALS * h->check->interval_ms,
               &ev);
    return history_take_events(h, &ev);
}

size_t history_incidents(const struct history *h, const struct history_incident **out)
{
    *out = h->inc;
    return h->ninc;
}

size_t history_gaps(const struct history *h, const struct history_gap **out)
{
    *out = h->gap;
    return h->ngap;
}

size_t history_days(const struct history *h, const struct history_day **out)
{
    *out = h->day;
    return h->nday;
}

int history_span(const struct history *h, int64_t *from_ms, int64_t *to_ms)
{
    if (h->seq == 0)
        return 0;
    *from_ms = h->st.first_ms;
    *to_ms = h->last_ms + h->check->interval_ms;
    return 1;
}

uint64_t history_results(const struct history *h)
{
    return h->seq;
}
