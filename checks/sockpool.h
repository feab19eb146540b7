/*
 * Idle TCP sockets kept for the next connection, per address family: a
 * socket done with its connection is disconnected with connect(AF_UNSPEC),
 * Linux's tcp_disconnect (a reset to the peer, the local port released, the
 * socket back to CLOSED, its pending error cleared by the next connect),
 * and the next connection connects it again: a new port and a full
 * handshake, as fresh as any, without socket(), its set-up and close().
 * The TCP check's driver (tcp.c) and curl's sockets (curl_uv.c) each keep
 * one. The owner embeds struct sockpool, zeroed; v6 is 0 for IPv4, 1 for
 * IPv6.
 */
#ifndef NINES_CHECKS_SOCKPOOL_H
#define NINES_CHECKS_SOCKPOOL_H

#define SOCKPOOL_MAX 64                 /* idle sockets kept per address family */

struct sockpool {
    int fd[2][SOCKPOOL_MAX];
    int n[2];
};

/* A kept socket of the family, or -1 when there is none. */
int sockpool_take(struct sockpool *p, int v6);
/* Disconnects fd and keeps it: 1. 0 when the family's pool is full or the
 * disconnect failed: fd is left as it was, for the caller to close. */
int sockpool_put(struct sockpool *p, int v6, int fd);
/* Closes every kept socket; the pool is empty again. */
void sockpool_close(struct sockpool *p);

#endif
