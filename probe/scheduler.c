/*
 * Deterministic, evenly spread phases, all driven from one libuv timer; see
 * scheduler.h.
 *
 * Memory is what sets the design (100,000 idle checks should cost well under
 * 2 KiB each): an entry is about 80 bytes with its id, there is one timer
 * for the whole scheduler (a uv_timer_t per entry was 152 bytes, and
 * uv_timer_stop/start a few % of a TCP probe's CPU), and a group's slot
 * fill is a hash of the occupied slots only (a dense table of a 1-hour
 * interval was 360,000 counters, 1.4 MB, whatever the number of checks).
 */
#include <stdlib.h>
#include <string.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "nines/result.h"
#include "nines/wire.h"
#include "scheduler.h"

/* Slot -> entries starting in it, for the occupied slots of one interval. */
struct scheduler_group {
    int64_t interval_ms;
    uint32_t nslots;
    uint32_t members;
    uint32_t *key;              /* slot + 1; 0 = empty cell */
    uint32_t *count;
    uint32_t cap;               /* cells, a power of two (0: none yet) */
    uint32_t used;
};

struct scheduler_entry {
    struct scheduler_entry *next;   /* hash chain */
    uint64_t hash;
    struct scheduler_group *group;
    int64_t due_ms;                 /* wall clock */
    uint64_t at;                    /* loop time it fires at (uv_now) */
    void *item;
    uint32_t slot;
    uint32_t heap;                  /* index in s->heap */
    char id[];
};

#define SCHEDULER_BUCKETS_MIN 1024

/* A heap node keeps its entry's `at` beside the pointer: sifting compares
 * without touching the entries, scattered over the heap (sifting the fired
 * root down to the bottom read two entries per level, cache misses mostly). */
struct scheduler_node {
    uint64_t at;
    struct scheduler_entry *e;
};

struct scheduler {
    uv_loop_t *loop;
    uv_timer_t timer;
    scheduler_fire_cb *fire;
    void *arg;
    struct scheduler_entry **bucket;  /* hash chains; grows with the entries */
    size_t nbuckets;                  /* a power of two */
    size_t nentries;
    struct scheduler_node *heap;      /* min-heap on `at` */
    size_t heap_cap;
    struct scheduler_group **groups;
    size_t ngroups;
    uint64_t armed_at;                /* the timer's due loop time, if armed */
    int armed;
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
    if (s->bucket == NULL || uv_timer_init(loop, &s->timer) != 0) {
        free(s->bucket);
        free(s);
        return NULL;
    }
    s->timer.data = s;
    s->loop = loop;
    s->fire = fire;
    s->arg = arg;
    return s;
}

/* ---- ids ---------------------------------------------------------------- */

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

/* ---- slot fill: open addressing on the occupied slots ---------------------- */

static uint32_t scheduler_fill_home(const struct scheduler_group *g, uint32_t slot)
{
    return (uint32_t)((slot * 0x9e3779b1u) & (g->cap - 1));
}

/* The cell of slot, or of the empty cell where it would go. */
static uint32_t scheduler_fill_cell(const struct scheduler_group *g, uint32_t slot)
{
    uint32_t i = scheduler_fill_home(g, slot);

    while (g->key[i] != 0 && g->key[i] != slot + 1)
        i = (i + 1) & (g->cap - 1);
    return i;
}

static uint32_t scheduler_fill_get(const struct scheduler_group *g, uint32_t slot)
{
    uint32_t i;

    if (g->cap == 0)
        return 0;
    i = scheduler_fill_cell(g, slot);
    return g->key[i] != 0 ? g->count[i] : 0;
}

/* Room for one more occupied slot at a load of at most 1/2; 0 or NINES_ENOMEM. */
static int scheduler_fill_reserve(struct scheduler_group *g)
{
    uint32_t cap = g->cap ? g->cap * 2 : 64, *key, *count, *old_key = g->key,
             *old_count = g->count, old_cap = g->cap;

    if (2 * (g->used + 1) <= g->cap)
        return 0;
    key = calloc(cap, sizeof(*key));
    count = malloc(cap * sizeof(*count));
    if (key == NULL || count == NULL) {
        free(key);
        free(count);
        return NINES_ENOMEM;
    }
    g->key = key;
    g->count = count;
    g->cap = cap;
    for (uint32_t i = 0; i < old_cap; i++) {
        if (old_key[i] != 0) {
            uint32_t j = scheduler_fill_cell(g, old_key[i] - 1);

            key[j] = old_key[i];
            count[j] = old_count[i];
        }
    }
    free(old_key);
    free(old_count);
    return 0;
}

/* One more entry in slot (room reserved by the caller). */
static void scheduler_fill_inc(struct scheduler_group *g, uint32_t slot)
{
    uint32_t i = scheduler_fill_cell(g, slot);

    if (g->key[i] == 0) {
        g->key[i] = slot + 1;
        g->count[i] = 0;
        g->used++;
    }
    g->count[i]++;
}

/* One entry fewer in slot; an emptied cell is filled by shifting back the
 * cells after it that belong at or before it (linear probing deletion). */
static void scheduler_fill_dec(struct scheduler_group *g, uint32_t slot)
{
    uint32_t mask = g->cap - 1, i = scheduler_fill_cell(g, slot), j = i;

    if (g->key[i] == 0 || --g->count[i] > 0)
        return;
    g->used--;
    for (;;) {
        uint32_t home;

        j = (j + 1) & mask;
        if (g->key[j] == 0)
            break;
        home = scheduler_fill_home(g, g->key[j] - 1);
        /* j's entry may move to i unless its home lies cyclically in (i, j] */
        if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
            continue;
        g->key[i] = g->key[j];
        g->count[i] = g->count[j];
        i = j;
    }
    g->key[i] = 0;
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
    g->nslots = interval_ms / SCHEDULER_SLOT_MS > 0 ?
                    (interval_ms / SCHEDULER_SLOT_MS < UINT32_MAX - 1 ?
                         (uint32_t)(interval_ms / SCHEDULER_SLOT_MS) : UINT32_MAX - 1) : 1;
    s->groups[s->ngroups++] = g;
    return g;
}

/* First slot at or after the hashed one whose fill is below the level that
 * spreads members + 1 entries evenly over the slots; 0 or NINES_ENOMEM. */
static int scheduler_group_take(struct scheduler_group *g, uint64_t hash, uint32_t *out)
{
    uint32_t level = (uint32_t)(((uint64_t)g->members + g->nslots) / g->nslots);
    uint32_t slot = (uint32_t)(hash % g->nslots);

    if (scheduler_fill_reserve(g) != 0)
        return NINES_ENOMEM;
    while (scheduler_fill_get(g, slot) >= level)
        slot = (slot + 1) % g->nslots;
    scheduler_fill_inc(g, slot);
    g->members++;
    *out = slot;
    return 0;
}

static void scheduler_group_release(struct scheduler_group *g, uint32_t slot)
{
    scheduler_fill_dec(g, slot);
    g->members--;
}

/* ---- the heap of due times ------------------------------------------------ */

static void scheduler_heap_set(struct scheduler *s, size_t i, struct scheduler_entry *e)
{
    s->heap[i].at = e->at;
    s->heap[i].e = e;
    e->heap = (uint32_t)i;
}

static void scheduler_heap_up(struct scheduler *s, size_t i)
{
    struct scheduler_entry *e = s->heap[i].e;

    while (i > 0 && s->heap[(i - 1) / 2].at > e->at) {
        s->heap[i] = s->heap[(i - 1) / 2];
        s->heap[i].e->heap = (uint32_t)i;
        i = (i - 1) / 2;
    }
    scheduler_heap_set(s, i, e);
}

static void scheduler_heap_down(struct scheduler *s, size_t i)
{
    struct scheduler_entry *e = s->heap[i].e;
    size_t n = s->nentries;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= n)
            break;
        if (c + 1 < n && s->heap[c + 1].at < s->heap[c].at)
            c++;
        if (s->heap[c].at >= e->at)
            break;
        s->heap[i] = s->heap[c];
        s->heap[i].e->heap = (uint32_t)i;
        i = c;
    }
    scheduler_heap_set(s, i, e);
}

/* Takes e out of the heap, and out of the count of entries. */
static void scheduler_heap_remove(struct scheduler *s, struct scheduler_entry *e)
{
    size_t i = e->heap, last = --s->nentries;
    struct scheduler_entry *moved = s->heap[last].e;

    if (i == last)
        return;
    scheduler_heap_set(s, i, moved);    /* the last one fills the hole */
    scheduler_heap_down(s, i);
    scheduler_heap_up(s, moved->heap);
}

/* The one timer follows the earliest entry. */
static void scheduler_on_timer(uv_timer_t *t);

static void scheduler_rearm(struct scheduler *s)
{
    uint64_t now = uv_now(s->loop), at;

    if (s->closing)
        return;
    if (s->nentries == 0) {
        if (s->armed)
            uv_timer_stop(&s->timer);
        s->armed = 0;
        return;
    }
    at = s->heap[0].at;
    if (s->armed && s->armed_at == at)
        return;
    uv_timer_start(&s->timer, scheduler_on_timer, at > now ? at - now : 0, 0);
    s->armed = 1;
    s->armed_at = at;
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

/* e fires when the wall clock reaches due_ms, in loop time; now_ms is the
 * wall clock read just before. The loop's time is read afresh after it:
 * uv_now is the time the loop last woke, and a catalogue apply or a long
 * turn of fires can run for hundreds of milliseconds after that. Against
 * that stale time the entry would fire as much early, and a run early by
 * more than a slot is taken for a clock step back and run again at its real
 * due time: every check twice in the first interval after a large apply.
 * (Read after now_ms, the loop's time can only make the entry a little late.) */
static void scheduler_set_at(struct scheduler *s, struct scheduler_entry *e, int64_t now_ms)
{
    int64_t delay = e->due_ms - now_ms;

    uv_update_time(s->loop);
    e->at = uv_now(s->loop) + (uint64_t)(delay > 0 ? delay : 0);
}

/* One entry's turn: its next due time, back in the heap, then the callback. */
static void scheduler_run_entry(struct scheduler *s, struct scheduler_entry *e)
{
    int64_t due = e->due_ms;
    int64_t now = nines_wall_ms();

    e->due_ms = due + e->group->interval_ms;
    /* behind by a whole interval (a stall or a clock step): skip ahead, and
     * a clock stepped backwards must not postpone the check for long. The
     * loop's time and the wall clock differ by up to a millisecond, so an
     * entry may fire a little early: the slot width is the tolerance. */
    if (e->due_ms <= now || e->due_ms - now > e->group->interval_ms + SCHEDULER_SLOT_MS) {
        if (e->due_ms <= now)
            s->missed += (uint64_t)((now - e->due_ms) / e->group->interval_ms) + 1;
        e->due_ms = scheduler_next_due(e, now);
    }
    scheduler_set_at(s, e, now);
    scheduler_heap_down(s, e->heap);
    s->fire(e->item, due, s->arg);      /* may put or remove entries, e too */
}

static void scheduler_on_timer(uv_timer_t *t)
{
    struct scheduler *s = t->data;
    uint64_t now = uv_now(s->loop);
    size_t budget = s->nentries;    /* each entry at most once per turn */

    s->armed = 0;
    while (budget-- > 0 && s->nentries > 0 && !s->closing && s->heap[0].at <= now)
        scheduler_run_entry(s, s->heap[0].e);
    scheduler_rearm(s);
}

/* ---- the interface --------------------------------------------------------- */

static struct scheduler_entry *scheduler_entry_new(struct scheduler *s, const char *id,
                                                   uint64_t hash, void *item)
{
    size_t n = strlen(id) + 1;
    struct scheduler_entry *e;
    struct scheduler_node *heap;

    if (s->nentries == s->heap_cap) {
        size_t cap = s->heap_cap ? 2 * s->heap_cap : 1024;

        if (cap > UINT32_MAX || (heap = realloc(s->heap, cap * sizeof(*heap))) == NULL)
            return NULL;
        s->heap = heap;
        s->heap_cap = cap;
    }
    e = calloc(1, sizeof(*e) + n);
    if (e == NULL)
        return NULL;
    memcpy(e->id, id, n);
    e->hash = hash;
    e->item = item;
    return e;
}

int scheduler_put(struct scheduler *s, const char *id, int64_t interval_ms, void *item)
{
    uint64_t hash = nines_fnv1a64(id, strlen(id));
    struct scheduler_entry **pp = scheduler_find(s, id, hash), *e = *pp;
    struct scheduler_group *g;
    uint32_t slot;
    int64_t now;

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
        e = scheduler_entry_new(s, id, hash, item);
        if (e == NULL || scheduler_group_take(g, hash, &slot) != 0) {
            free(e);
            return NINES_ENOMEM;
        }
        *pp = e;
        scheduler_heap_set(s, s->nentries++, e);
        scheduler_grow(s);
    } else {
        /* taken before the old slot is given back: a failure changes nothing */
        if (scheduler_group_take(g, hash, &slot) != 0)
            return NINES_ENOMEM;
        scheduler_group_release(e->group, e->slot);
    }
    e->group = g;
    e->slot = slot;
    now = nines_wall_ms();
    e->due_ms = scheduler_next_due(e, now);
    scheduler_set_at(s, e, now);
    scheduler_heap_up(s, e->heap);
    scheduler_heap_down(s, e->heap);
    scheduler_rearm(s);
    return 0;
}

static void scheduler_free(struct scheduler *s)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        free(s->groups[i]->key);
        free(s->groups[i]->count);
        free(s->groups[i]);
    }
    free(s->groups);
    free(s->heap);
    free(s->bucket);
    free(s);
}

int scheduler_remove(struct scheduler *s, const char *id)
{
    struct scheduler_entry **pp = scheduler_find(s, id, nines_fnv1a64(id, strlen(id)));
    struct scheduler_entry *e = *pp;

    if (e == NULL)
        return NINES_ENOTFOUND;
    *pp = e->next;
    scheduler_group_release(e->group, e->slot);
    scheduler_heap_remove(s, e);
    free(e);
    scheduler_rearm(s);
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

static void scheduler_timer_closed(uv_handle_t *h)
{
    scheduler_free(h->data);
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
            free(e);
        }
    }
    s->nentries = 0;
    uv_close((uv_handle_t *)&s->timer, scheduler_timer_closed);
}
