/* Drives the httpfix fixture server. See httpfix_client.h. */
#include "httpfix_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc.h"
#include "testutil.h"

#ifndef NINES_FIXTURE_DIR
#error "NINES_FIXTURE_DIR must be defined (the directory holding the httpfix binary)"
#endif

#define HTTPFIX_READY_MS 5000
#define HTTPFIX_STOP_MS 2000
#define HTTPFIX_CONTROL_MS 2000

/* A blocking TCP socket connected to 127.0.0.1:port, or -1. */
static int httpfix_connect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends all of buf (MSG_NOSIGNAL: a closed peer is an error, not a SIGPIPE). */
static int httpfix_send_all(int fd, const char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/*
 * Reads until EOF (or a reset) and returns the byte count, keeping what fits in out;
 * returns -2 if the deadline passes first.
 */
static int httpfix_read_all(int fd, char *out, size_t outlen, uint64_t deadline)
{
    char scratch[16384];
    size_t kept = 0;
    int total = 0;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        uint64_t now = test_now_ms();
        ssize_t n;

        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) == 0)
            return -2;
        n = read(fd, scratch, sizeof(scratch));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return total;
        if (out != NULL && outlen > kept + 1) {
            size_t take = (size_t)n < outlen - kept - 1 ? (size_t)n : outlen - kept - 1;

            memcpy(out + kept, scratch, take);
            kept += take;
            out[kept] = '\0';
        }
        total += (int)n;
    }
}

int httpfix_get(int port, const char *path, char *out, size_t outlen, int timeout_ms)
{
    uint64_t deadline = test_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    char req[2400];
    int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                       "Connection: close\r\n\r\n", path, port);
    int fd, rc;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (len < 0 || (size_t)len >= sizeof(req))
        return -1;
    fd = httpfix_connect(port);
    if (fd < 0)
        return -1;
    rc = httpfix_send_all(fd, req, (size_t)len) < 0 ? -1
                                                     : httpfix_read_all(fd, out, outlen, deadline);
    close(fd);
    return rc;
}

int httpfix_response_status(const char *resp)
{
    int status;

    if (strncmp(resp, "HTTP/1.", 7) != 0 || resp[7] == '\0' || resp[8] != ' ')
        return -1;
    if (sscanf(resp + 9, "%3d", &status) != 1 || status < 100 || status > 599)
        return -1;
    return status;
}

const char *httpfix_response_body(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");

    return p != NULL ? p + 4 : NULL;
}

/* test_wait_until condition: the port file exists, or the server is gone. */
static int httpfix_settled(void *arg)
{
    struct httpfix *f = arg;
    char path[300];

    snprintf(path, sizeof(path), "%s/port", f->dir);
    return test_path_exists(path) || !proc_alive(f->pid);
}

/* Reads the port the server wrote into DIR/port. Returns it or -1. */
static int httpfix_read_port(const struct httpfix *f)
{
    char path[300];
    char *text;
    long port = -1;

    snprintf(path, sizeof(path), "%s/port", f->dir);
    text = test_read_file(path);
    if (text != NULL)
        port = strtol(text, NULL, 10);
    free(text);
    return port > 0 && port < 65536 ? (int)port : -1;
}

int httpfix_start_at(struct httpfix *f, const char *bind, int port)
{
    char port_file[300], log_path[300], port_arg[16];
    const char *host = bind != NULL ? bind : "127.0.0.1";
    const char *argv[] = { NINES_FIXTURE_DIR "/httpfix", "--port-file", port_file, "--bind",
                           host, "--port", port_arg, NULL };
    int v6 = strchr(host, ':') != NULL;

    memset(f, 0, sizeof(*f));
    if (port < 0 || port > 65535 || strlen(host) > 45 || test_tmpdir(f->dir, sizeof(f->dir)) < 0)
        return -1;
    snprintf(port_arg, sizeof(port_arg), "%d", port);
    snprintf(port_file, sizeof(port_file), "%s/port", f->dir);
    snprintf(log_path, sizeof(log_path), "%s/httpfix.log", f->dir);
    f->pid = proc_spawn(argv, log_path);
    if (f->pid > 0 && test_wait_until(httpfix_settled, f, HTTPFIX_READY_MS) == 0 &&
        proc_alive(f->pid))
        f->port = httpfix_read_port(f);
    if (f->pid <= 0 || f->port <= 0) {
        if (f->pid <= 0)
            f->pid = 0;
        httpfix_stop(f);
        return -1;
    }
    snprintf(f->base_url, sizeof(f->base_url), "http://%s%s%s:%d", v6 ? "[" : "", host,
             v6 ? "]" : "", f->port);
    return 0;
}

int httpfix_start(struct httpfix *f)
{
    return httpfix_start_at(f, NULL, 0);
}

int httpfix_set_mode(struct httpfix *f, const char *query)
{
    char path[512], resp[1024];
    int n = snprintf(path, sizeof(path), "/__fixture/mode?%s", query);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    if (httpfix_get(f->port, path, resp, sizeof(resp), HTTPFIX_CONTROL_MS) < 0)
        return -1;
    return httpfix_response_status(resp) == 200 ? 0 : -1;
}

long httpfix_hits(struct httpfix *f)
{
    char resp[1024];
    const char *body;
    char *end;
    long hits;

    if (httpfix_get(f->port, "/__fixture/hits", resp, sizeof(resp), HTTPFIX_CONTROL_MS) < 0 ||
        httpfix_response_status(resp) != 200)
        return -1;
    body = httpfix_response_body(resp);
    if (body == NULL)
        return -1;
    hits = strtol(body, &end, 10);
    return end != body ? hits : -1;
}

void httpfix_stop(struct httpfix *f)
{
    if (f->pid > 0)
        proc_stop(f->pid, HTTPFIX_STOP_MS);
    if (f->dir[0] != '\0')
        test_rmtree(f->dir);
    memset(f, 0, sizeof(*f));
}
