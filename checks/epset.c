/*
 * An epoll set of foreign sockets in a libuv loop (epset.h). The set is
 * level-triggered like a uv_poll_t, so a socket the owner did not drain in
 * one batch is reported again by the next epoll_wait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "epset.h"
#include "nines/err.h"

/* Events taken from the epoll set per epoll_wait. */
#define EPSET_EVENTS 256

void epset_init(struct epset *set, uv_loop_t *loop, int hold_loop, epset_ready_cb *ready,
                epset_closed_cb *closed, void *arg)
{
    memset(set, 0, sizeof(*set));
    set->loop = loop;
    set->epfd = -1;
    set->hold_loop = hold_loop;
    set->ready = ready;
    set->closed = closed;
    set->arg = arg;
}

/*
 * The epoll fd is readable: hands each ready socket to the owner. A socket
 * the owner gave up while this batch was being handled (its earlier events
 * closed it) is skipped; a new socket that took its number may get a
 * readiness it does not have, which non-blocking I/O takes as a spurious
 * wake-up. An event for a number not in the table is one forgotten but not
 * yet closed (epset_forget), taken out here or it would be reported again and
 * again; for one removed earlier in this batch the DEL just fails (ENOENT,
 * EBADF), a call only in that rare case.
 */
static void epset_on_poll(uv_poll_t *h, int status, int events)
{
    struct epset *set = h->data;
    struct epoll_event ev[EPSET_EVENTS];
    int n;

    (void)status;
    (void)events;
    do {
        n = epoll_wait(set->epfd, ev, EPSET_EVENTS, 0);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n && !set->closing; i++) {
        int fd = ev[i].data.fd;

        if ((size_t)fd >= set->nfds || set->fds[fd].want == 0) {
            (void)epoll_ctl(set->epfd, EPOLL_CTL_DEL, fd, NULL);
            continue;
        }
        set->ready(set->arg, fd, ev[i].events);
    }
}

int epset_open(struct epset *set)
{
    if (set->epfd >= 0 || set->closing)
        return NINES_ESTATE;
    set->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (set->epfd < 0)
        return NINES_EIO;
    if (uv_poll_init(set->loop, &set->poll, set->epfd) != 0) {
        close(set->epfd);
        set->epfd = -1;
        return NINES_EIO;
    }
    set->poll.data = set;
    /* started for the set's life, empty or not: the reference decides
     * whether it keeps the loop running */
    uv_poll_start(&set->poll, UV_READABLE, epset_on_poll);
    uv_unref((uv_handle_t *)&set->poll);
    return 0;
}

int epset_is_open(const struct epset *set)
{
    return set->epfd >= 0 && !set->closing;
}

/* Grows the table to hold fd; 0, or NINES_ENOMEM. */
static int epset_grow(struct epset *set, int fd)
{
    size_t n = set->nfds ? set->nfds : 64;
    struct epset_fd *t;

    if ((size_t)fd < set->nfds)
        return 0;
    while (n <= (size_t)fd)
        n *= 2;
    t = realloc(set->fds, n * sizeof(*t));
    if (!t)
        return NINES_ENOMEM;
    memset(t + set->nfds, 0, (n - set->nfds) * sizeof(*t));
    set->fds = t;
    set->nfds = n;
    return 0;
}

/* The set holds some socket: with hold_loop, the loop must not end while the owner waits. */
static void epset_count_change(struct epset *set, int delta)
{
    set->watched = (size_t)((long)set->watched + delta);
    if (!set->hold_loop)
        return;
    if (set->watched == 0)
        uv_unref((uv_handle_t *)&set->poll);
    else
        uv_ref((uv_handle_t *)&set->poll);
}

int epset_watch(struct epset *set, int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };
    unsigned char had;

    if (fd < 0 || set->epfd < 0)
        return NINES_EINVAL;
    had = (size_t)fd < set->nfds ? set->fds[fd].want : 0;
    if (events == had)
        return 0;
    if (!had && epset_grow(set, fd) != 0)
        return NINES_ENOMEM;
    if (epoll_ctl(set->epfd, had ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
        /* a number reused after a close the set did not see (forgotten while
         * its file stayed open elsewhere, or never reported): ADD ⇄ MOD */
        int op = errno == ENOENT ? EPOLL_CTL_ADD : errno == EEXIST ? EPOLL_CTL_MOD : -1;

        if (op < 0 || epoll_ctl(set->epfd, op, fd, &ev) != 0)
            return NINES_EIO;
    }
    set->fds[fd].want = (unsigned char)events;
    if (!had)
        epset_count_change(set, +1);
    return 0;
}

void epset_forget(struct epset *set, int fd)
{
    if (fd < 0 || (size_t)fd >= set->nfds || set->fds[fd].want == 0)
        return;
    set->fds[fd].want = 0;
    epset_count_change(set, -1);
}

void epset_remove(struct epset *set, int fd)
{
    struct epoll_event ev = { 0 };

    if (fd < 0 || (size_t)fd >= set->nfds || set->fds[fd].want == 0)
        return;
    (void)epoll_ctl(set->epfd, EPOLL_CTL_DEL, fd, &ev);
    epset_forget(set, fd);
}

size_t epset_count(const struct epset *set)
{
    return set->watched;
}

unsigned char epset_mark(const struct epset *set, int fd)
{
    return fd >= 0 && (size_t)fd < set->nfds ? set->fds[fd].mark : 0;
}

int epset_set_mark(struct epset *set, int fd, unsigned char mark)
{
    /* once closing, a grown table would outlive the close callback that frees it */
    if (fd < 0 || set->closing)
        return NINES_ESTATE;
    if (epset_grow(set, fd) != 0)
        return NINES_ENOMEM;
    set->fds[fd].mark = mark;
    return 0;
}

static void epset_drop_table(struct epset *set)
{
    free(set->fds);
    set->fds = NULL;
    set->nfds = 0;
    set->watched = 0;
}

static void epset_on_closed(uv_handle_t *h)
{
    struct epset *set = h->data;

    close(set->epfd);
    set->epfd = -1;
    epset_drop_table(set);
    set->closed(set->arg);          /* may free the owner, set with it */
}

void epset_close(struct epset *set)
{
    if (set->closing)
        return;
    set->closing = 1;
    if (set->epfd >= 0)
        uv_close((uv_handle_t *)&set->poll, epset_on_closed);
    else
        epset_drop_table(set);
}
