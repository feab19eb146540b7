/*
 * epset, the epoll set curl_uv and ares_uv keep their library's sockets in,
 * on a real loop with real socket pairs: dispatch, the loop reference, a
 * socket dropped in the middle of a batch, an fd number reused behind the
 * set's back, and nothing left open after the close callback.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "epset.h"
#include "nines/err.h"
#include "testutil.h"

struct seen {
    struct epset set;
    int calls;
    int fd;
    uint32_t events;
    int pair[2];                /* the first ready callback removes the other one, or -1 */
    int read_and_remove;        /* the callback drains its fd and removes it */
    int closed;
    uv_timer_t alive;           /* keeps the loop alive for seen_run_once */
};

static void seen_ready(void *arg, int fd, uint32_t events)
{
    struct seen *s = arg;
    char buf[64];

    s->calls++;
    s->fd = fd;
    s->events = events;
    if (s->pair[0] >= 0) {
        epset_remove(&s->set, fd == s->pair[0] ? s->pair[1] : s->pair[0]);
        s->pair[0] = s->pair[1] = -1;
    }
    if (s->read_and_remove) {
        (void)read(fd, buf, sizeof(buf));
        epset_remove(&s->set, fd);
    }
}

static void seen_closed(void *arg)
{
    ((struct seen *)arg)->closed++;
}

static void seen_keep_alive(uv_timer_t *t)
{
    (void)t;
}

/*
 * One loop iteration that polls whether or not the set holds the loop: an
 * unreferenced set alone would let uv_run return before polling.
 */
static void seen_run_once(struct seen *s, uv_loop_t *loop)
{
    uv_timer_start(&s->alive, seen_keep_alive, 60000, 0);
    uv_run(loop, UV_RUN_NOWAIT);
    uv_timer_stop(&s->alive);
}

static void seen_open(struct seen *s, uv_loop_t *loop, int hold_loop)
{
    *s = (struct seen){ .fd = -1, .pair = { -1, -1 } };
    cr_assert(eq(int, uv_loop_init(loop), 0));
    cr_assert(eq(int, uv_timer_init(loop, &s->alive), 0));
    epset_init(&s->set, loop, hold_loop, seen_ready, seen_closed, s);
    cr_assert(eq(int, epset_open(&s->set), 0));
    cr_assert(eq(int, epset_is_open(&s->set), 1));
}

static void seen_close(struct seen *s, uv_loop_t *loop)
{
    uv_close((uv_handle_t *)&s->alive, NULL);
    epset_close(&s->set);
    cr_assert(eq(int, epset_is_open(&s->set), 0));
    cr_assert(eq(int, uv_run(loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, s->closed, 1));
    cr_assert(eq(int, uv_loop_close(loop), 0), "a handle was left open");
}

static void pair(int sv[2])
{
    cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
                 0));
}

/* A watched socket keeps the loop running until it is ready and removed. */
Test(epset, ready_socket_dispatched_and_loop_held_while_watched, .timeout = 5)
{
    uv_loop_t loop;
    struct seen s;
    unsigned char before[TEST_FD_SCAN];
    int sv[2];

    test_open_fds(before);
    seen_open(&s, &loop, 1);
    s.read_and_remove = 1;
    pair(sv);
    cr_assert(eq(int, epset_watch(&s.set, sv[0], EPOLLIN), 0));
    cr_assert(eq(int, epset_watch(&s.set, sv[0], EPOLLIN), 0), "same events: no change");
    cr_assert(eq(sz, epset_count(&s.set), 1));
    cr_assert(eq(int, (int)write(sv[1], "x", 1), 1));
    uv_run(&loop, UV_RUN_DEFAULT);      /* returns once the set holds nothing */
    cr_assert(eq(int, s.calls, 1));
    cr_assert(eq(int, s.fd, sv[0]));
    cr_assert(ne(u32, s.events & EPOLLIN, 0));
    cr_assert(eq(sz, epset_count(&s.set), 0));
    close(sv[0]);
    close(sv[1]);
    seen_close(&s, &loop);
    cr_assert(eq(int, test_new_fd_since(before), -1), "the epoll fd outlived the set");
}

/* Without hold_loop a watched socket does not keep the loop running. */
Test(epset, without_hold_loop_the_set_never_holds_the_loop, .timeout = 5)
{
    uv_loop_t loop;
    struct seen s;
    int sv[2];

    seen_open(&s, &loop, 0);
    pair(sv);
    cr_assert(eq(int, epset_watch(&s.set, sv[0], EPOLLIN), 0));
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, s.calls, 0));
    epset_forget(&s.set, sv[0]);
    cr_assert(eq(sz, epset_count(&s.set), 0));
    close(sv[0]);
    close(sv[1]);
    seen_close(&s, &loop);
}

/* A socket removed by an earlier event of the same batch is not handed out. */
Test(epset, socket_removed_mid_batch_is_skipped, .timeout = 5)
{
    uv_loop_t loop;
    struct seen s;
    int a[2], b[2];

    seen_open(&s, &loop, 1);
    pair(a);
    pair(b);
    cr_assert(eq(int, epset_watch(&s.set, a[0], EPOLLOUT), 0));
    cr_assert(eq(int, epset_watch(&s.set, b[0], EPOLLOUT), 0));
    /* both writable at once: one epoll_wait returns both */
    seen_run_once(&s, &loop);
    cr_assert(eq(int, s.calls, 2), "both ready, both dispatched");
    /* now whichever comes first removes the other */
    s.calls = 0;
    s.pair[0] = a[0];
    s.pair[1] = b[0];
    seen_run_once(&s, &loop);
    cr_assert(eq(int, s.calls, 1), "the removed one was dispatched all the same");
    cr_assert(eq(sz, epset_count(&s.set), 1));
    epset_remove(&s.set, s.fd);
    epset_remove(&s.set, -2);           /* a negative fd is ignored */
    cr_assert(eq(sz, epset_count(&s.set), 0));
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    seen_close(&s, &loop);
}

/*
 * An fd number closed without the set knowing and taken by a new socket
 * (MOD finds nothing: ADD), and one forgotten while still in the kernel's
 * set (ADD finds it: MOD).
 */
Test(epset, reused_fd_number_falls_back_between_add_and_mod, .timeout = 5)
{
    uv_loop_t loop;
    struct seen s;
    int a[2], b[2], n;

    seen_open(&s, &loop, 1);
    pair(a);
    cr_assert(eq(int, epset_watch(&s.set, a[0], EPOLLIN), 0));
    n = a[0];
    close(a[0]);                        /* the kernel drops it; the table still has it */
    close(a[1]);
    pair(b);
    cr_assert(eq(int, b[0], n), "the lowest free number is taken again");
    cr_assert(eq(int, epset_watch(&s.set, b[0], EPOLLOUT), 0), "MOD -> ENOENT -> ADD");
    seen_run_once(&s, &loop);
    cr_assert(eq(int, s.calls, 1));
    cr_assert(ne(u32, s.events & EPOLLOUT, 0));

    epset_forget(&s.set, b[0]);         /* still open: still in the kernel's set */
    cr_assert(eq(sz, epset_count(&s.set), 0));
    cr_assert(eq(int, epset_watch(&s.set, b[0], EPOLLIN), 0), "ADD -> EEXIST -> MOD");
    cr_assert(eq(sz, epset_count(&s.set), 1));
    cr_assert(eq(int, (int)write(b[1], "x", 1), 1));
    s.calls = 0;
    s.read_and_remove = 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, s.calls, 1));
    cr_assert(ne(u32, s.events & EPOLLIN, 0));
    cr_assert(eq(u32, s.events & EPOLLOUT, 0), "the MOD replaced OUT with IN");
    close(b[0]);
    close(b[1]);
    seen_close(&s, &loop);
}

/*
 * A socket forgotten but not closed (its number still names it) that gets
 * an event is taken out of the kernel's set rather than reported again and
 * again; the owner never hears of it.
 */
Test(epset, event_of_a_forgotten_open_socket_takes_it_out, .timeout = 5)
{
    uv_loop_t loop;
    struct seen s;
    struct epoll_event ev;
    int sv[2];

    seen_open(&s, &loop, 1);
    pair(sv);
    cr_assert(eq(int, epset_watch(&s.set, sv[0], EPOLLOUT), 0));
    epset_forget(&s.set, sv[0]);
    cr_assert(eq(int, epoll_wait(s.set.epfd, &ev, 1, 0), 1), "still in the kernel's set");
    seen_run_once(&s, &loop);
    cr_assert(eq(int, s.calls, 0));
    cr_assert(eq(int, epoll_wait(s.set.epfd, &ev, 1, 0), 0), "not taken out");
    close(sv[0]);
    close(sv[1]);
    seen_close(&s, &loop);
}

/* The owner's mark byte grows with the table and goes with the close. */
Test(epset, marks_per_fd_and_closing_refuses_new_ones, .timeout = 5)
{
    uv_loop_t loop;
    struct seen s;

    seen_open(&s, &loop, 1);
    cr_assert(eq(int, epset_mark(&s.set, 5), 0));
    cr_assert(eq(int, epset_set_mark(&s.set, 1000, 2), 0), "grows past the first 64");
    cr_assert(eq(int, epset_mark(&s.set, 1000), 2));
    cr_assert(eq(int, epset_mark(&s.set, 999), 0));
    cr_assert(eq(int, epset_mark(&s.set, -1), 0));
    cr_assert(eq(int, epset_set_mark(&s.set, -1, 1), NINES_ESTATE));
    cr_assert(eq(sz, epset_count(&s.set), 0), "a mark is not a watch");
    uv_close((uv_handle_t *)&s.alive, NULL);
    epset_close(&s.set);
    cr_assert(eq(int, epset_set_mark(&s.set, 2000, 1), NINES_ESTATE));
    cr_assert(eq(int, epset_open(&s.set), NINES_ESTATE));
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, s.closed, 1));
    cr_assert(eq(int, epset_mark(&s.set, 1000), 0), "the table went with the close");
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}

/* A set never opened (ares_uv's before its first socket) closes at once. */
Test(epset, never_opened_set_closes_without_callback)
{
    uv_loop_t loop;
    struct seen s = { .fd = -1, .pair = { -1, -1 } };

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    epset_init(&s.set, &loop, 0, seen_ready, seen_closed, &s);
    cr_assert(eq(int, epset_is_open(&s.set), 0));
    cr_assert(eq(int, epset_set_mark(&s.set, 3, 1), 0));
    cr_assert(eq(int, epset_watch(&s.set, 3, EPOLLIN), NINES_EINVAL), "no epoll fd yet");
    epset_close(&s.set);
    cr_assert(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, s.closed, 0));
    cr_assert(eq(int, epset_mark(&s.set, 3), 0));
    cr_assert(eq(int, uv_loop_close(&loop), 0));
}
