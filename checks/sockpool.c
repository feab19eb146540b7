/* Idle, disconnected TCP sockets kept for the next connection (sockpool.h). */
#include <sys/socket.h>
#include <unistd.h>

#include "sockpool.h"

int sockpool_take(struct sockpool *p, int v6)
{
    return p->n[v6] > 0 ? p->fd[v6][--p->n[v6]] : -1;
}

int sockpool_put(struct sockpool *p, int v6, int fd)
{
    static const struct sockaddr unspec = { .sa_family = AF_UNSPEC };

    if (p->n[v6] >= SOCKPOOL_MAX || connect(fd, &unspec, sizeof(unspec)) != 0)
        return 0;
    p->fd[v6][p->n[v6]++] = fd;
    return 1;
}

void sockpool_close(struct sockpool *p)
{
    for (int v6 = 0; v6 < 2; v6++)
        while (p->n[v6] > 0)
            close(p->fd[v6][--p->n[v6]]);
}
