/*
 * tcpfloor: the least a fresh TCP connection costs a client here. It keeps
 * CONC non-blocking connects to HOST:PORT in flight from one epoll set and,
 * as each completes, closes it with a reset (SO_LINGER 0, as the TCP check
 * does) and opens the next, for SECONDS or MAX connections, whichever comes
 * first. No timing, no result, nothing stored: the floor under which no TCP
 * check can go on this machine, beside which bench/run.sh puts the TCP
 * check's CPU.
 *
 *   tcpfloor HOST PORT SECONDS [CONC] [MAX] [MODE] [RATE]
 *                                      (IPv4 HOST; CONC 16, MAX 10,000,000)
 *
 * MODE is "fresh" (the default) or "reuse", either followed by ",http".
 *
 * With "reuse", a finished connection's socket is disconnected with
 * connect(AF_UNSPEC) (a reset; the port released) and connected again,
 * as the TCP check's socket pool does (checks/tcp.c): still a fresh
 * connection each time, without socket(), SO_LINGER and close().
 *
 * With ",http", each connection carries one HTTP/1.1 GET of /ok before it
 * is closed or disconnected: the request written once the connect is done,
 * the response read until its Content-Length is in (a status other than 200
 * counts as failed): the least an HTTP check over a fresh connection costs,
 * beside which bench/run.sh puts the HTTP check's CPU.
 *
 * With a RATE (connects per second), connects are not started as soon as
 * one finishes but paced, one every 1/RATE s, as a probe's schedule starts
 * its checks (CONC then only bounds those in flight): the floor at a rate
 * where the client sleeps between connects and is woken for each, which
 * is the regime bench/run.sh measures the TCP check in. A finished socket
 * ("reuse") waits disconnected until the next connect is due.
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
#define TCPFLOOR_MAX_FD 4096    /* CONC sockets, the epoll set and stdio */
#define TCPFLOOR_RESP_MAX 1024  /* nginx's answer to /ok is about 160 bytes */

/* An HTTP connection's response so far: bytes in, 0 while connecting. */
static struct tcpfloor_conn {
    int sent;
    size_t got;
    char buf[TCPFLOOR_RESP_MAX];
} tcpfloor_conns[TCPFLOOR_MAX_FD];

/* The first n-byte needle in hay[0, len), or NULL (memmem is a GNU
 * extension). */
static const char *tcpfloor_find(const char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* 1: the response in c is complete, 0: more to read, -1: not a 200 or
 * larger than the buffer. eof: the server has closed. */
static int tcpfloor_resp_done(const struct tcpfloor_conn *c, int eof)
{
    const char *end = tcpfloor_find(c->buf, c->got, "\r\n\r\n", 4), *cl;
    size_t head, len;

    if (c->got >= 12 && memcmp(c->buf, "HTTP/1.1 200", 12) != 0)
        return -1;
    if (end == NULL)
        return c->got == sizeof(c->buf) || eof ? -1 : 0;
    head = (size_t)(end - c->buf) + 4;
    cl = tcpfloor_find(c->buf, head, "\r\nContent-Length: ", 18);
    if (cl == NULL)
        return eof ? 1 : 0;
    len = strtoul(cl + 18, NULL, 10);
    if (head + len > sizeof(c->buf))
        return -1;
    return c->got >= head + len ? 1 : eof ? -1 : 0;
}

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
    int reuse = 0, http = 0, idle[TCPFLOOR_MAX_CONC], nidle = 0;
    char req[128];
    int reqlen;
    long rate = 0;
    double t0, c0, end, due;
    int ep;

    if (argc < 4 || argc > 8) {
        fprintf(stderr, "usage: tcpfloor HOST PORT SECONDS [CONC] [MAX] [MODE] [RATE]\n"
                        "  MODE: fresh (default), reuse, fresh,http or reuse,http\n");
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
        static const char *const modes[] = { "fresh", "reuse", "fresh,http", "reuse,http" };
        int m = 0;

        while (m < 4 && strcmp(argv[6], modes[m]) != 0)
            m++;
        if (m == 4) {
            fprintf(stderr, "tcpfloor: MODE must be fresh, reuse, fresh,http or reuse,http, "
                            "got '%s'\n", argv[6]);
            return 2;
        }
        reuse = m & 1;
        http = m >= 2;
    }
    if (argc > 7)
        rate = tcpfloor_arg(argv[7], 1, 1000000L, "RATE");
    reqlen = snprintf(req, sizeof(req), "GET /ok HTTP/1.1\r\nHost: %s:%s\r\nAccept: */*\r\n\r\n",
                      argv[1], argv[2]);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("tcpfloor: epoll_create1");
        return 1;
    }
    t0 = tcpfloor_now();
    c0 = tcpfloor_cpu_s();
    end = t0 + (double)seconds;
    due = t0;
    for (;;) {
        double now = tcpfloor_now();
        int more = now < end, timeout = 1000, n;

        /* start what is due: up to CONC at once, or one every 1/RATE s */
        while (more && open < conc && connects + failed + open < max &&
               (rate == 0 || due <= now)) {
            if (tcpfloor_open(ep, &sa, nidle > 0 ? idle[--nidle] : -1) != 0) {
                perror("tcpfloor: connect");
                return 1;
            }
            open++;
            if (rate > 0)
                due += 1.0 / (double)rate;
        }
        if (open == 0 && (!more || connects + failed >= max))
            break;
        if (rate > 0 && more && open < conc)
            timeout = due <= now ? 0 : (int)((due - now) * 1000.0) + 1;
        n = epoll_wait(ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            perror("tcpfloor: epoll_wait");
            return 1;
        }
        if (tcpfloor_now() > end + 10) {
            fprintf(stderr, "tcpfloor: %ld connects still pending 10 s after the end\n", open);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct linger lg = { 1, 0 };
            int fd = evs[i].data.fd, bad = (evs[i].events & (EPOLLERR | EPOLLHUP)) != 0;

            if (fd >= TCPFLOOR_MAX_FD) {
                fprintf(stderr, "tcpfloor: descriptor %d above %d\n", fd, TCPFLOOR_MAX_FD);
                return 1;
            }
            if (http && !bad) {
                struct tcpfloor_conn *c = &tcpfloor_conns[fd];
                struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = fd };
                int done = 0;

                if (!c->sent) {         /* connected: the request, then wait for the answer */
                    if (write(fd, req, (size_t)reqlen) != reqlen)
                        bad = 1;
                    c->sent = 1;
                } else {
                    for (;;) {
                        ssize_t r = read(fd, c->buf + c->got, sizeof(c->buf) - c->got);

                        if (r > 0)
                            c->got += (size_t)r;
                        done = r < 0 && errno != EAGAIN ? -1 : tcpfloor_resp_done(c, r == 0);
                        if (r <= 0 || done != 0 || c->got == sizeof(c->buf))
                            break;
                    }
                    bad = done < 0;
                }
                if (!bad && done == 0) {
                    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0) {
                        perror("tcpfloor: epoll_ctl");
                        return 1;
                    }
                    continue;
                }
            }
            tcpfloor_conns[fd].sent = 0;
            tcpfloor_conns[fd].got = 0;
            if (bad)
                failed++;
            else
                connects++;
            if (reuse) {
                struct sockaddr unspec = { .sa_family = AF_UNSPEC };

                if (connect(fd, &unspec, sizeof(unspec)) != 0) {
                    perror("tcpfloor: disconnect");
                    return 1;
                }
                idle[nidle++] = fd;     /* at most CONC: each was one in flight */
            } else {
                (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                close(fd);      /* leaves the epoll set with it: no DEL */
            }
            open--;
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
