/* Per-check timers with deterministic, evenly spread phases; see sched.h. */
#include <stdlib.h>
#include <string.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "nines/result.h"
#include "nines/wire.h"
#include "scheduler.h"

struct scheduler_group {            /* all entries sharing one interval */
    int64_t interval_ms;
    uint32_t nslots;
    uint32_t members;
    uint32_t *fill;             /* entries per slot */
};

struct scheduler_entry {
    uv_timer_t timer;
    struct scheduler *s;
    struct scheduler_entry *next;   /* hash chain */
    char id[NINES_ID_LEN];
    uint64_t hash;
    struct scheduler_group *group;
    uint32_t slot;
    int64_t due_ms;
    void *item;
};

#define SCHEDULER_BUCKETS_MIN 1024

struct scheduler {
    uv_loop_t *loop;
    scheduler_fire_cb *fire;
    void *arg;
    struct scheduler_entry **bucket;  /* hash chains; grows with the entries */
    size_t nbuckets;                  /* a power of two */
    size_t nentries;
    struct scheduler_group **groups;
    size_t ngroups;
    size_t open_handles;        /* entry timers not yet closed */
    uint64_t missed;
    int closing;
};

struct scheduler *scheduler_new(uv_loop_t *loop, scheduler_fire_cb *fire, void *arg)
{
    struct scheduler *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->nbuckets = SCHEDULER_BUCKETS_MIN;
    s->bucket = calloc(s->nbuckets, sizeof(*s->bucket));
    if (s->bucket == NULL) {
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->fire = fire;
    s->arg = arg;
    return s;
}

static struct scheduler_entry **scheduler_find(struct scheduler *s, const char *id, uint64_t hash)
{
    struct scheduler_entry **pp = &s->bucket[hash & (s->nbuckets - 1)];

    while (*pp != NULL && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Doubles the buckets once there are more entries than buckets, so chains
 * stay short at 100,000 checks; a failed allocation keeps the old table. */
static void scheduler_grow(struct scheduler *s)
{
    size_t n = s->nbuckets * 2;
    struct scheduler_entry **b;

    if (s->nentries <= s->nbuckets || (b = calloc(n, sizeof(*b))) == NULL)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        while (s->bucket[i] != NULL) {
            struct scheduler_entry *e = s->bucket[i];

            s->bucket[i] = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(s->bucket);
    s->bucket = b;
    s->nbuckets = n;
}

static struct scheduler_group *scheduler_group_get(struct scheduler *s, int64_t interval_ms)
{
    struct scheduler_group *g, **grown;

    for (size_t i = 0; i < s->ngroups; i++)
        if (s->groups[i]->interval_ms == interval_ms)
            return s->groups[i];
    grown = realloc(s->groups, (s->ngroups + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    s->groups = grown;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->interval_ms = interval_ms;
    g->nslots = interval_ms / SCHEDULER_SLOT_MS > 0 ? (uint32_t)(interval_ms / SCHEDULER_SLOT_MS) : 1;
    g->fill = calloc(g->nslots, sizeof(*g->fill));
    if (g->fill == NULL) {
        free(g);
        return NULL;
    }
    s->groups[s->ngroups++] = g;
    return g;
}

/* First slot at or after the hashed one whose fill is below the level that
 * spreads members + 1 entries evenly over the slots. */
static uint32_t scheduler_group_take(struct scheduler_group *g, uint64_t hash)
{
    uint32_t level = (g->members + 1 + g->nslots - 1) / g->nslots;
    uint32_t slot = (uint32_t)(hash % g->nslots);

    while (g->fill[slot] >= level)
        slot = (slot + 1) % g->nslots;
    g->fill[slot]++;
    g->members++;
    return slot;
}

static void scheduler_group_release(struct scheduler_group *g, uint32_t slot)
{
    g->fill[slot]--;
    g->members--;
}

/* The next wall-clock time after now_ms at this entry's phase. */
static int64_t scheduler_next_due(const struct scheduler_entry *e, int64_t now_ms)
{
    int64_t iv = e->group->interval_ms;
    int64_t phase = (int64_t)e->slot * SCHEDULER_SLOT_MS;
    int64_t base = now_ms - (now_ms % iv) + phase;

    while (base <= now_ms)
        base += iv;
    return base;
}

static void scheduler_on_timer(uv_timer_t *t);

static void scheduler_arm(struct scheduler_entry *e, int64_t now_ms)
{
    int64_t delay = e->due_ms - now_ms;

    if (delay < 0)
        delay = 0;
    uv_timer_start(&e->timer, scheduler_on_timer, (uint64_t)delay, 0);
}

static void scheduler_on_timer(uv_timer_t *t)
{
    struct scheduler_entry *e = t->data;
    struct scheduler *s = e->s;
    int64_t due = e->due_ms;
    int64_t now = nines_wall_ms();

    e->due_ms = due + e->group->interval_ms;
    /* behind by a whole interval (a stall or a clock step): skip ahead, and
     * a clock stepped backwards must not postpone the check for long. The
     * loop's timers and the wall clock differ by up to a millisecond, so a
     * timer may fire a little early: the slot width is the tolerance. */
    if (e->due_ms <= now || e->due_ms - now > e->group->interval_ms + SCHEDULER_SLOT_MS) {
        if (e->due_ms <= now)
            s->missed += (uint64_t)((now - e->due_ms) / e->group->interval_ms) + 1;
        e->due_ms = scheduler_next_due(e, now);
    }
    scheduler_arm(e, now);
    s->fire(e->item, due, s->arg);
}

int scheduler_put(struct scheduler *s, const char *id, int64_t interval_ms, void *item)
{
    uint64_t hash = nines_fnv1a64(id, strlen(id));
    struct scheduler_entry **pp = scheduler_find(s, id, hash), *e = *pp;
    struct scheduler_group *g;

    if (s->closing || interval_ms <= 0 || strlen(id) >= NINES_ID_LEN)
        return NINES_EINVAL;
    if (e != NULL) {
        e->item = item;
        if (e->group->interval_ms == interval_ms)
            return 0;
    }
    g = scheduler_group_get(s, interval_ms);
    if (g == NULL)
        return NINES_ENOMEM;
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return NINES_ENOMEM;
        memcpy(e->id, id, strlen(id) + 1);
        e->hash = hash;
        e->s = s;
        e->item = item;
        uv_timer_init(s->loop, &e->timer);
        e->timer.data = e;
        s->open_handles++;
        *pp = e;
        s->nentries++;
        scheduler_grow(s);
    } else {
        scheduler_group_release(e->group, e->slot);
    }
    e->group = g;
    e->slot = scheduler_group_take(g, hash);
    e->due_ms = scheduler_next_due(e, nines_wall_ms());
    scheduler_arm(e, nines_wall_ms());
    return 0;
}

static void scheduler_free(struct scheduler *s)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        free(s->groups[i]->fill);
        free(s->groups[i]);
    }
    free(s->groups);
    free(s->bucket);
    free(s);
}

static void scheduler_entry_closed(uv_handle_t *h)
{
    struct scheduler_entry *e = h->data;
    struct scheduler *s = e->s;

    free(e);
    if (--s->open_handles == 0 && s->closing)
        scheduler_free(s);
}

int scheduler_remove(struct scheduler *s, const char *id)
{
    struct scheduler_entry **pp = scheduler_find(s, id, nines_fnv1a64(id, strlen(id)));
    struct scheduler_entry *e = *pp;

    if (e == NULL)
        return NINES_ENOTFOUND;
    *pp = e->next;
    s->nentries--;
    scheduler_group_release(e->group, e->slot);
    uv_close((uv_handle_t *)&e->timer, scheduler_entry_closed);
    return 0;
}

int64_t scheduler_offset_ms(const struct scheduler *s, const char *id)
{
    struct scheduler_entry *const *pp =
        scheduler_find((struct scheduler *)s, id, nines_fnv1a64(id, strlen(id)));

    return *pp != NULL ? (int64_t)(*pp)->slot * SCHEDULER_SLOT_MS : -1;
}

uint64_t scheduler_missed(const struct scheduler *s)
{
    return s->missed;
}

void scheduler_close(struct scheduler *s)
{
    if (s == NULL || s->closing)
        return;
    s->closing = 1;
    for (size_t b = 0; b < s->nbuckets; b++) {
        while (s->bucket[b] != NULL) {
            struct scheduler_entry *e = s->bucket[b];

            s->bucket[b] = e->next;
            scheduler_group_release(e->group, e->slot);
            uv_close((uv_handle_t *)&e->timer, scheduler_entry_closed);
        }
    }
    if (s->open_handles == 0)
        scheduler_free(s);
}
