/* See looputil.h. */
#include <stdint.h>

#include "looputil.h"

struct loop_wait {
    int (*cond)(void *arg);
    void *arg;
    uint64_t deadline_ms;
    int met;
};

static void loop_wait_tick(uv_timer_t *t)
{
    struct loop_wait *w = t->data;

    if (w->cond(w->arg)) {
        w->met = 1;
        uv_stop(t->loop);
    } else if (uv_now(t->loop) >= w->deadline_ms) {
        uv_stop(t->loop);
    }
}

int test_loop_until(uv_loop_t *loop, uv_timer_t *tick, int (*cond)(void *arg), void *arg,
                    int timeout_ms)
{
    struct loop_wait w = { cond, arg, 0, 0 };
    void *data = tick->data;

    uv_update_time(loop);
    w.deadline_ms = uv_now(loop) + (uint64_t)timeout_ms;
    tick->data = &w;
    uv_timer_start(tick, loop_wait_tick, 0, 10);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_timer_stop(tick);
    tick->data = data;
    return w.met;
}
