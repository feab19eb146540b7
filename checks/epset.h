/*
 * An epoll set of foreign sockets in a libuv loop: the sockets a library
 * opens and closes itself (curl's, c-ares's), watched by one uv_poll_t on the
 * set's epoll fd rather than by a uv_poll_t each. libuv 1.44 spends four or
 * five epoll_ctl calls and an ioctl on a poll handle's life (it tests a new
 * fd with an ADD and a DEL, and deletes and re-adds it on every change of
 * direction), plus an allocation and a close callback; here a socket costs an
 * ADD, a MOD per change of direction and, unless it is closed at once, a DEL,
 * and one epoll_wait serves every socket ready in a loop iteration.
 *
 * The set keeps a table indexed by fd of the events each socket is watched
 * for, so it costs no allocation per socket (only when a larger fd number
 * first comes), and a byte per fd beside it for the owner (a mark). Ready
 * sockets reach the owner one by one through ready(arg, fd, events), with
 * the epoll events as the kernel gave them (EPOLLERR and EPOLLHUP come
 * whether asked for or not): the library's names for them are the owner's
 * business. The owner embeds struct epset; its fields are not to be touched.
 */
#ifndef NINES_CHECKS_EPSET_H
#define NINES_CHECKS_EPSET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef void epset_ready_cb(void *arg, int fd, uint32_t events);
typedef void epset_closed_cb(void *arg);

struct epset_fd {
    unsigned char want;             /* EPOLLIN/EPOLLOUT in the set; 0 = not in it */
    unsigned char mark;             /* the owner's */
};

struct epset {
    uv_poll_t poll;                 /* watches epfd, from epset_open */
    uv_loop_t *loop;
    int epfd;                       /* -1 until epset_open and once closed */
    int closing;                    /* epset_close was called */
    int hold_loop;                  /* the poll handle is referenced while watched > 0 */
    size_t watched;                 /* fds in the set */
    struct epset_fd *fds;           /* indexed by fd */
    size_t nfds;                    /* entries in fds */
    epset_ready_cb *ready;
    epset_closed_cb *closed;
    void *arg;
};

/*
 * Sets set up on loop, with nothing open yet (no system call). hold_loop: a
 * set holding a socket keeps the loop running, as an active handle would;
 * otherwise the set never does, and the owner keeps the loop alive itself
 * (a timer) while it waits on a socket.
 */
void epset_init(struct epset *set, uv_loop_t *loop, int hold_loop, epset_ready_cb *ready,
                epset_closed_cb *closed, void *arg);

/*
 * Creates the epoll fd and starts its poll handle: 0, or NINES_EIO, or
 * NINES_ESTATE when already open or closing.
 */
int epset_open(struct epset *set);

/* 1 between a successful epset_open and epset_close. */
int epset_is_open(const struct epset *set);

/*
 * Watches fd for events (EPOLLIN, EPOLLOUT or both, not 0), adding it or
 * changing what it is watched for. 0, or NINES_ENOMEM / NINES_EIO, when fd
 * is left as it was (unwatched if it was not in the set).
 */
int epset_watch(struct epset *set, int fd, uint32_t events);

/* Takes fd out of the set, for an fd that stays open after this. */
void epset_remove(struct epset *set, int fd);

/*
 * Forgets fd, which is about to be closed: closing it drops it from the
 * kernel's set, so no system call. Should it get an event before that, it is
 * taken out then. (A file still open in another process after our close
 * stays in the kernel's set, out of reach of any DEL by number; that is so of
 * a uv_poll_t on a closed fd as well.)
 */
void epset_forget(struct epset *set, int fd);

/* The number of fds in the set. */
size_t epset_count(const struct epset *set);

/* The owner's mark for fd (0 unless set, and once the set has closed). */
unsigned char epset_mark(const struct epset *set, int fd);

/* Sets fd's mark, growing the table as epset_watch would: 0, or NINES_ENOMEM / NINES_ESTATE. */
int epset_set_mark(struct epset *set, int fd, unsigned char mark);

/*
 * Stops dispatching (the rest of a batch in progress included) and closes the
 * poll handle. When the set was open, closed(arg) runs from the loop once the
 * handle has closed, after the epoll fd and the table have gone; otherwise
 * the table goes now and closed is not called.
 */
void epset_close(struct epset *set);

#endif
