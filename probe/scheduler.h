/*
 * The probe's scheduler: each check runs every interval at a fixed phase.
 * Phases are slots of SCHEDULER_SLOT_MS within the interval, chosen from a hash
 * of the check id and then spread (a check takes the first slot at or after
 * its hashed one that is below the current fill level), so many checks with
 * one interval start evenly over it rather than in bursts. Due times are
 * aligned to the wall clock, so probes in different locations run the same
 * check at about the same moment.
 */
#ifndef NINES_SCHEDULER_H
#define NINES_SCHEDULER_H

#include <stdint.h>
#include <uv.h>

#define SCHEDULER_SLOT_MS 10

struct scheduler;
/* item is the pointer given to scheduler_put; due_ms is the wall-clock due time. */
typedef void scheduler_fire_cb(void *item, int64_t due_ms, void *arg);

struct scheduler *scheduler_new(uv_loop_t *loop, scheduler_fire_cb *fire, void *arg);
/* Adds id, or updates its interval and item. Returns 0 or NINES_E*. */
int scheduler_put(struct scheduler *s, const char *id, int64_t interval_ms, void *item);
/* Removes id; returns NINES_ENOTFOUND if absent. */
int scheduler_remove(struct scheduler *s, const char *id);
/* The phase of id within its interval (ms), or -1 if absent. */
int64_t scheduler_offset_ms(const struct scheduler *s, const char *id);
/* Number of runs skipped because the loop fell more than an interval behind. */
uint64_t scheduler_missed(const struct scheduler *s);
/* Stops every timer; memory goes in close callbacks (run the loop after). */
void scheduler_close(struct scheduler *s);

#endif
