/* Running a libuv loop in a test until something holds, bounded in time. */
#ifndef NINES_TEST_LOOPUTIL_H
#define NINES_TEST_LOOPUTIL_H

#include <uv.h>

/*
 * Runs loop until cond(arg) holds (returns 1) or timeout_ms passes (0).
 * cond is checked every 10 ms from tick, a timer the caller has initialised
 * on loop and closes itself; tick->data is used meanwhile.
 */
int test_loop_until(uv_loop_t *loop, uv_timer_t *tick, int (*cond)(void *arg), void *arg,
                    int timeout_ms);

#endif
