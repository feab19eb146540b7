/*
 * sockpool, the idle sockets the TCP check and curl_uv keep, against a real
 * listener on 127.0.0.1: a kept socket's connection ends with a reset and
 * its next one comes from a new port; the pool holds at most SOCKPOOL_MAX
 * per family and leaves a socket it cannot keep connected; close closes
 * every kept socket.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockpool.h"

/* A listener on 127.0.0.1 with room for every connection a test makes. */
static int listener(struct sockaddr_in *sa)
{
    socklen_t len = sizeof(*sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert(ge(int, fd, 0));
    *sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    cr_assert(eq(int, bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0));
    cr_assert(eq(int, listen(fd, 2 * SOCKPOOL_MAX), 0));
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)sa, &len), 0));
    return fd;
}

/* fd (a new socket when -1) connected to sa; its local port in *port. */
static int connected(int fd, const struct sockaddr_in *sa, int *port)
{
    struct sockaddr_in me;
    socklen_t len = sizeof(me);

    if (fd < 0)
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, connect(fd, (const struct sockaddr *)sa, sizeof(*sa)), 0), "%s",
              strerror(errno));
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&me, &len), 0));
    *port = ntohs(me.sin_port);
    return fd;
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

Test(sockpool, a_kept_socket_ends_with_a_reset_and_connects_again_from_a_new_port, .timeout = 5)
{
    struct sockpool p = { 0 };
    struct sockaddr_in sa;
    int l = listener(&sa), port1, port2, fd, srv;
    char c;

    cr_assert(eq(int, sockpool_take(&p, 0), -1), "an empty pool has nothing to give");
    fd = connected(-1, &sa, &port1);
    srv = accept(l, NULL, NULL);
    cr_assert(ge(int, srv, 0));
    cr_assert(eq(int, sockpool_put(&p, 0, fd), 1));
    cr_assert(eq(int, (int)read(srv, &c, 1), -1));
    cr_assert(eq(int, errno, ECONNRESET), "the peer got a reset, not a FIN");
    close(srv);

    cr_assert(eq(int, sockpool_take(&p, 1), -1), "nothing kept for IPv6");
    cr_assert(eq(int, sockpool_take(&p, 0), fd), "the same socket back");
    cr_assert(eq(int, sockpool_take(&p, 0), -1));
    cr_assert(eq(int, connected(fd, &sa, &port2), fd));
    cr_assert(ne(int, port2, port1), "a fresh connection: the old port was released");
    close(fd);
    close(l);
}

Test(sockpool, holds_at_most_its_bound_and_close_closes_what_it_holds, .timeout = 10)
{
    struct sockpool p = { 0 };
    struct sockaddr_in sa, peer;
    socklen_t len = sizeof(peer);
    int l = listener(&sa), fds[SOCKPOOL_MAX + 1], port;

    for (int i = 0; i <= SOCKPOOL_MAX; i++)
        fds[i] = connected(-1, &sa, &port);
    for (int i = 0; i < SOCKPOOL_MAX; i++)
        cr_assert(eq(int, sockpool_put(&p, 0, fds[i]), 1), "socket %d", i);
    cr_assert(eq(int, sockpool_put(&p, 0, fds[SOCKPOOL_MAX]), 0), "the pool is full");
    cr_assert(eq(int, getpeername(fds[SOCKPOOL_MAX], (struct sockaddr *)&peer, &len), 0),
              "a socket the pool turned down is left connected, for its owner to close");

    sockpool_close(&p);
    cr_assert(eq(int, sockpool_take(&p, 0), -1), "empty after close");
    for (int i = 0; i < SOCKPOOL_MAX; i++)
        cr_assert(not(is_open(fds[i])), "socket %d closed", i);
    cr_assert(is_open(fds[SOCKPOOL_MAX]));
    close(fds[SOCKPOOL_MAX]);
    close(l);
}
