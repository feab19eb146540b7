/*
 * tcpfloor: the least a fresh TCP connection costs a client here. It keeps
 * CONC non-blocking connects to HOST:PORT in flight from one epoll set and,
 * as each completes, closes it with a reset (SO_LINGER 0, as the TCP check
 * does) and opens the next, for SECONDS or MAX connections, whichever comes
 * first. No timing, no result, nothing stored: the floor under which no TCP
 * check can go on this machine, beside which bench/run.sh puts the TCP
 * check's CPU.
 *
 *   tcpfloor HOST PORT SECONDS [CONC] [MAX] [reuse]
 *                                      (IPv4 HOST; CONC 16, MAX 10,000,000)
 *
 * With "reuse", a finished connection's socket is disconnected with
 * connect(AF_UNSPEC) (a reset; the port released) and connected again,
 * as the TCP check's socket pool does (checks/tcp.c): still a fresh
 * connection each time, without socket(), SO_LINGER and close().
 *
 * Prints one line:
 *   tcpfloor connects=N failed=F seconds=S cpu_us_per_connect=X
 * and exits 1 when a connect failed (a floor made of refusals would measure
 * the wrong thing), 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TCPFLOOR_MAX_CONC 1024

static double tcpfloor_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tcpfloor_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One non-blocking connect in the set: 0, or -1 (errno set). fd >= 0: a
 * disconnected socket of the set to connect again (reuse). */
static int tcpfloor_open(int ep, const struct sockaddr_in *sa, int fd)
{
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT };
    int op = EPOLL_CTL_MOD;

    if (fd < 0) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        op = EPOLL_CTL_ADD;
    }
    if (fd < 0)
        return -1;
    if ((connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 && errno != EINPROGRESS) ||
        (ev.data.fd = fd, epoll_ctl(ep, op, fd, &ev)) != 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return 0;
}

static long tcpfloor_arg(const char *s, long lo, long hi, const char *what)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "tcpfloor: %s must be %ld..%ld, got '%s'\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct epoll_event evs[64];
    long seconds, conc = 16, max = 10000000L, connects = 0, failed = 0, open = 0;
    int reuse = 0;
    double t0, c0, end;
    int ep;

    if (argc < 4 || argc > 7) {
        fprintf(stderr, "usage: tcpfloor HOST PORT SECONDS [CONC] [MAX] [reuse]\n");
        return 2;
    }
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "tcpfloor: HOST must be an IPv4 address, got '%s'\n", argv[1]);
        return 2;
    }
    sa.sin_port = htons((uint16_t)tcpfloor_arg(argv[2], 1, 65535, "PORT"));
    seconds = tcpfloor_arg(argv[3], 1, 600, "SECONDS");
    if (argc > 4)
        conc = tcpfloor_arg(argv[4], 1, TCPFLOOR_MAX_CONC, "CONC");
    if (argc > 5)
        max = tcpfloor_arg(argv[5], 1, 1000000000L, "MAX");
    if (argc > 6) {
        if (strcmp(argv[6], "reuse") != 0) {
            fprintf(stderr, "tcpfloor: the sixth argument can only be 'reuse', got '%s'\n",
                    argv[6]);
            return 2;
        }
        reuse = 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("tcpfloor: epoll_create1");
        return 1;
    }
    t0 = tcpfloor_now();
    c0 = tcpfloor_cpu_s();
    end = t0 + (double)seconds;
    for (; open < conc && open < max; open++)
        if (tcpfloor_open(ep, &sa, -1) != 0) {
            perror("tcpfloor: connect");
            return 1;
        }
    while (open > 0) {
        int n = epoll_wait(ep, evs, 64, 1000);
        int more = tcpfloor_now() < end;

        if (tcpfloor_now() > end + 10) {
            fprintf(stderr, "tcpfloor: %ld connects still pending 10 s after the end\n", open);
            return 1;
        }

        for (int i = 0; i < n; i++) {
            struct linger lg = { 1, 0 };
            int fd = evs[i].data.fd, err = 0;
            socklen_t len = sizeof(err);

            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
                failed++;
            else
                connects++;
            if (reuse && more && connects + failed + open <= max) {
                struct sockaddr unspec = { .sa_family = AF_UNSPEC };

                if (connect(fd, &unspec, sizeof(unspec)) != 0) {
                    perror("tcpfloor: disconnect");
                    return 1;
                }
            } else {
                (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                close(fd);      /* leaves the epoll set with it: no DEL */
                fd = -1;
            }
            open--;
            if (more && connects + failed + open < max) {
                if (tcpfloor_open(ep, &sa, fd) != 0) {
                    perror("tcpfloor: connect");
                    failed++;
                } else {
                    open++;
                }
            }
        }
        if (n < 0 && errno != EINTR) {
            perror("tcpfloor: epoll_wait");
            return 1;
        }
    }
    {
        double cpu = tcpfloor_cpu_s() - c0, wall = tcpfloor_now() - t0;

        printf("tcpfloor connects=%ld failed=%ld seconds=%.2f cpu_us_per_connect=%.2f\n", connects,
               failed, wall, connects > 0 ? cpu * 1e6 / (double)connects : -1.0);
    }
    close(ep);
    return failed > 0 ? 1 : 0;
}
