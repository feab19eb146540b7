/* The probe's scheduler: even spreading and real, on-time firing. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nines/clock.h"
#include "nines/err.h"
#include "scheduler.h"

static void never_fire(void *item, int64_t due_ms, void *arg)
{
    (void)item;
    (void)due_ms;
    (void)arg;
}

Test(scheduler, thousand_checks_spread_evenly_over_the_interval)
{
    uv_loop_t loop;
    struct scheduler *s;
    int per_slot[1000] = { 0 };
    int worst = 0;

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    s = scheduler_new(&loop, never_fire, NULL);
    cr_assert(s != NULL);
    for (int i = 0; i < 1000; i++) {
        char id[32];

        snprintf(id, sizeof(id), "check-%d", i);
        cr_assert(eq(int, scheduler_put(s, id, 10000, NULL), 0));
    }
    for (int i = 0; i < 1000; i++) {
        char id[32];
        int64_t off;

        snprintf(id, sizeof(id), "check-%d", i);
        off = scheduler_offset_ms(s, id);
        cr_assert(ge(i64, off, 0));
        cr_assert(lt(i64, off, 10000));
        per_slot[off / 10]++;
    }
    for (int i = 0; i < 1000; i++)
        if (per_slot[i] > worst)
            worst = per_slot[i];
    /* 1,000 checks over 1,000 slots of 10 ms: exactly one each */
    cr_expect(le(int, worst, 1), "a 10 ms slot holds %d starts", worst);
    scheduler_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

Test(scheduler, phases_are_deterministic_and_stable_under_changes)
{
    uv_loop_t loop;
    struct scheduler *a, *b;
    int64_t before;

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    a = scheduler_new(&loop, never_fire, NULL);
    b = scheduler_new(&loop, never_fire, NULL);
    for (int i = 0; i < 300; i++) {
        char id[32];

        snprintf(id, sizeof(id), "svc-%d", i);
        scheduler_put(a, id, 30000, NULL);
        scheduler_put(b, id, 30000, NULL);
    }
    /* two probes loading the same catalogue agree on every phase */
    for (int i = 0; i < 300; i++) {
        char id[32];

        snprintf(id, sizeof(id), "svc-%d", i);
        cr_assert(eq(i64, scheduler_offset_ms(a, id), scheduler_offset_ms(b, id)));
    }
    /* adding and removing others leaves an existing check's phase alone */
    before = scheduler_offset_ms(a, "svc-7");
    cr_assert(eq(int, scheduler_remove(a, "svc-3"), 0));
    cr_assert(eq(int, scheduler_put(a, "new-one", 30000, NULL), 0));
    cr_assert(eq(i64, scheduler_offset_ms(a, "svc-7"), before));
    cr_assert(eq(int, scheduler_remove(a, "svc-3"), NINES_ENOTFOUND));
    cr_assert(eq(i64, scheduler_offset_ms(a, "svc-3"), -1));
    scheduler_close(a);
    scheduler_close(b);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

/* The id table grows past its first size: every one of 20,000 ids is found,
 * removed ones are gone, and the rest keep their phase. */
Test(scheduler, many_ids_found_after_the_table_grows)
{
    uv_loop_t loop;
    struct scheduler *s;
    static int64_t phase[20000];
    char id[32];

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    s = scheduler_new(&loop, never_fire, NULL);
    cr_assert(s != NULL);
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        cr_assert(eq(int, scheduler_put(s, id, 3600000, (void *)(intptr_t)i), 0));
        phase[i] = scheduler_offset_ms(s, id);
        cr_assert(ge(i64, phase[i], 0));
    }
    for (int i = 0; i < 20000; i += 2) {
        snprintf(id, sizeof(id), "c%d", i);
        cr_assert(eq(int, scheduler_remove(s, id), 0));
    }
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        cr_assert(eq(i64, scheduler_offset_ms(s, id), i % 2 ? phase[i] : -1), "%s", id);
    }
    cr_assert(eq(int, scheduler_remove(s, "c0"), NINES_ENOTFOUND));
    scheduler_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

struct firing {
    int count[20];
    int64_t dues[20][8];        /* the due times each check fired for, the first 8 */
    int64_t phase[20];
    int64_t late_ms_max;
    int64_t early_ms_max;       /* the most a fire came before its due time */
    int total;
    struct scheduler *s;
    uv_timer_t stop;
};

static void record_fire(void *item, int64_t due_ms, void *arg)
{
    struct firing *f = arg;
    int i = (int)(intptr_t)item;
    int64_t late = nines_wall_ms() - due_ms;

    if (f->count[i] < 8)
        f->dues[i][f->count[i]] = due_ms;
    f->count[i]++;
    if (late > f->late_ms_max)
        f->late_ms_max = late;
    if (-late > f->early_ms_max)
        f->early_ms_max = -late;
    f->total++;
}

static void stop_firing(uv_timer_t *t)
{
    struct firing *f = t->data;

    scheduler_close(f->s);
    uv_close((uv_handle_t *)t, NULL);
}

Test(scheduler, fires_each_check_once_per_interval_at_its_phase, .timeout = 10)
{
    uv_loop_t loop;
    struct firing f;

    memset(&f, 0, sizeof(f));
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    f.s = scheduler_new(&loop, record_fire, &f);
    for (int i = 0; i < 20; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%d", i);
        cr_assert(eq(int, scheduler_put(f.s, id, 1000, (void *)(intptr_t)i), 0));
        f.phase[i] = scheduler_offset_ms(f.s, id);
    }
    uv_timer_init(&loop, &f.stop);
    f.stop.data = &f;
    uv_timer_start(&f.stop, stop_firing, 2500, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
    for (int i = 0; i < 20; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%d", i);
        /* 2.5 s of a 1 s interval: two or three runs, never a burst */
        cr_expect(ge(int, f.count[i], 2), "check %d ran %d times", i, f.count[i]);
        cr_expect(le(int, f.count[i], 3), "check %d ran %d times", i, f.count[i]);
        /* due times sit on the wall clock at the check's phase */
        cr_expect(eq(i64, f.dues[i][0] % 1000, f.phase[i]));
    }
    cr_expect(lt(i64, f.late_ms_max, 100), "a run started %lld ms late",
              (long long)f.late_ms_max);
}

/* A catalogue apply runs long after the loop last woke: the loop's cached
 * time is stale while checks are put. They must still fire at their due time,
 * once per interval; against the stale time each fired as much early and then
 * again at its due time, every check twice in the apply's first interval. */
Test(scheduler, checks_put_long_after_the_loop_woke_fire_once_at_their_due_time, .timeout = 10)
{
    uv_loop_t loop;
    struct firing f;
    struct timespec apply = { 0, 400 * 1000 * 1000 };

    memset(&f, 0, sizeof(f));
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    f.s = scheduler_new(&loop, record_fire, &f);
    nanosleep(&apply, NULL);      /* the apply's work: the loop does not run */
    for (int i = 0; i < 20; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%d", i);
        cr_assert(eq(int, scheduler_put(f.s, id, 1000, (void *)(intptr_t)i), 0));
    }
    uv_timer_init(&loop, &f.stop);
    f.stop.data = &f;
    uv_timer_start(&f.stop, stop_firing, 1600, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
    /* the loop's clock and the wall clock differ by under a millisecond */
    cr_expect(le(i64, f.early_ms_max, 2), "a check fired %lld ms before its due time",
              (long long)f.early_ms_max);
    for (int i = 0; i < 20; i++) {
        cr_expect(ge(int, f.count[i], 1), "c%d never ran", i);
        cr_expect(le(int, f.count[i], 2), "c%d ran %d times in 1.2 s at 1 s", i, f.count[i]);
        for (int k = 1; k < f.count[i] && k < 8; k++)
            cr_expect(eq(i64, f.dues[i][k] - f.dues[i][k - 1], 1000),
                      "c%d ran for due %lld and then %lld", i, (long long)f.dues[i][k - 1],
                      (long long)f.dues[i][k]);
    }
}

/* Slots are counted exactly through adds and removes: a busy interval keeps
 * every slot at the even level, and once everything is removed, new checks
 * find every slot free again. */
Test(scheduler, slot_counts_follow_adds_and_removes)
{
    uv_loop_t loop;
    struct scheduler *s;
    int per_slot[100];
    char id[32];

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    s = scheduler_new(&loop, never_fire, NULL);
    cr_assert(s != NULL);
    /* 1,000 checks over the 100 slots of 1 s: ten in each */
    memset(per_slot, 0, sizeof(per_slot));
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "busy-%d", i);
        cr_assert(eq(int, scheduler_put(s, id, 1000, NULL), 0));
        per_slot[scheduler_offset_ms(s, id) / 10]++;
    }
    for (int k = 0; k < 100; k++)
        cr_assert(eq(int, per_slot[k], 10), "slot %d holds %d", k, per_slot[k]);
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "busy-%d", i);
        cr_assert(eq(int, scheduler_remove(s, id), 0));
    }
    /* all gone: 100 new checks take one slot each */
    memset(per_slot, 0, sizeof(per_slot));
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "after-%d", i);
        cr_assert(eq(int, scheduler_put(s, id, 1000, NULL), 0));
        per_slot[scheduler_offset_ms(s, id) / 10]++;
    }
    for (int k = 0; k < 100; k++)
        cr_assert(eq(int, per_slot[k], 1), "slot %d holds %d", k, per_slot[k]);
    /* a check moved to another interval leaves its slot to the next comer */
    cr_assert(eq(int, scheduler_put(s, "after-0", 5000, NULL), 0));
    cr_assert(eq(int, scheduler_put(s, "newcomer", 1000, NULL), 0));
    memset(per_slot, 0, sizeof(per_slot));
    for (int i = 1; i < 100; i++) {
        snprintf(id, sizeof(id), "after-%d", i);
        per_slot[scheduler_offset_ms(s, id) / 10]++;
    }
    per_slot[scheduler_offset_ms(s, "newcomer") / 10]++;
    for (int k = 0; k < 100; k++)
        cr_assert(eq(int, per_slot[k], 1), "slot %d holds %d", k, per_slot[k]);
    scheduler_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

/* Removed checks never fire, also when removed from inside a firing, and the
 * others keep firing on time from the one timer. */
struct removing {
    struct scheduler *s;
    int count[20];
    int removed_from_fire;
    uv_timer_t stop;
};

static void remove_on_fire(void *item, int64_t due_ms, void *arg)
{
    struct removing *r = arg;
    int i = (int)(intptr_t)item;

    (void)due_ms;
    r->count[i]++;
    if (i == 0 && !r->removed_from_fire) {
        /* the first run of c0 removes c0 itself and c2 */
        r->removed_from_fire = 1;
        cr_assert(eq(int, scheduler_remove(r->s, "c0"), 0));
        cr_assert(eq(int, scheduler_remove(r->s, "c2"), 0));
    }
}

static void stop_removing(uv_timer_t *t)
{
    struct removing *r = t->data;

    scheduler_close(r->s);
    uv_close((uv_handle_t *)t, NULL);
}

Test(scheduler, removed_checks_never_fire, .timeout = 10)
{
    uv_loop_t loop;
    struct removing r;

    memset(&r, 0, sizeof(r));
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    r.s = scheduler_new(&loop, remove_on_fire, &r);
    for (int i = 0; i < 20; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%d", i);
        cr_assert(eq(int, scheduler_put(r.s, id, 200, (void *)(intptr_t)i), 0));
    }
    /* odd ones go before anything ran; c2 is removed by c0's first run
     * unless it ran first (then once at most) */
    for (int i = 1; i < 20; i += 2) {
        char id[16];

        snprintf(id, sizeof(id), "c%d", i);
        cr_assert(eq(int, scheduler_remove(r.s, id), 0));
    }
    uv_timer_init(&loop, &r.stop);
    r.stop.data = &r;
    uv_timer_start(&r.stop, stop_removing, 1100, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
    cr_assert(eq(int, r.count[0], 1), "c0 ran %d times", r.count[0]);
    cr_assert(le(int, r.count[2], 1), "c2 ran %d times", r.count[2]);
    for (int i = 1; i < 20; i += 2)
        cr_assert(eq(int, r.count[i], 0), "c%d ran after its removal", i);
    for (int i = 4; i < 20; i += 2)
        cr_expect(ge(int, r.count[i], 3), "c%d ran %d times in 1.1 s at 200 ms", i, r.count[i]);
}
