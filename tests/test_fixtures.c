/*
 * Tests of the test harness itself: proc.c, redis_fixture.c, httpfix (server and
 * client), testutil.c. Everything runs for real: redis-server, the httpfix binary,
 * /bin/sh and sleep as children, over Unix sockets and 127.0.0.1.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpfix_client.h"
#include "proc.h"
#include "redis_fixture.h"
#include "testutil.h"

/* ---- small raw-socket HTTP client, independent of httpfix_client.c ---- */

/*
 * Sends the raw request text to 127.0.0.1:port and reads until the server closes.
 * Keeps up to outlen - 1 bytes in out (NUL-terminated). Returns the bytes received,
 * -1 on a connect/send error, -2 when timeout_ms passed first.
 */
static int raw_http(int port, const char *request, char *out, size_t outlen, int timeout_ms)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    uint64_t deadline = test_now_ms() + (uint64_t)timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int total = 0;

    out[0] = '\0';
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char chunk[8192];
        uint64_t now = test_now_ms();
        ssize_t n;

        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) == 0) {
            total = -2;
            break;
        }
        n = read(fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        if ((size_t)total + (size_t)n < outlen) {
            memcpy(out + total, chunk, (size_t)n);
            out[total + n] = '\0';
        }
        total += (int)n;
    }
    close(fd);
    return total;
}

/* GET path with Connection: close, through raw_http. */
static int raw_get(int port, const char *path, char *out, size_t outlen, int timeout_ms)
{
    char req[512];

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             path);
    return raw_http(port, req, out, outlen, timeout_ms);
}

/* Status code of a raw response, or -1. */
static int raw_status(const char *resp)
{
    int status = -1;

    if (sscanf(resp, "HTTP/1.1 %d ", &status) != 1)
        return -1;
    return status;
}

/* Body of a raw response, or "" if there is no end of headers. */
static const char *raw_body(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");

    return p ? p + 4 : "";
}

/* 1 if the pid no longer exists (or is a zombie nobody of ours can reap). */
static int pid_gone(pid_t pid)
{
    char path[64], *stat;
    int gone;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    stat = test_read_file(path);
    gone = stat == NULL || (strrchr(stat, ')') != NULL && strrchr(stat, ')')[2] == 'Z');
    free(stat);
    return gone;
}

static int pid_gone_cond(void *arg)
{
    return pid_gone(*(pid_t *)arg);
}

/* ---- redis_fixture ---- */

static struct redis_fixture rf;

static void rf_fini(void)
{
    redis_fixture_stop(&rf);
}

/* Runs a command on a fresh connection; returns the reply (caller frees) or NULL. */
static redisReply *rf_command(const char *fmt, const char *arg1, const char *arg2)
{
    redisContext *c = redis_fixture_connect(&rf);
    redisReply *r;

    if (c == NULL)
        return NULL;
    r = redisCommand(c, fmt, arg1, arg2);
    redisFree(c);
    return r;
}

Test(redis_fixture, lifecycle_kill9_restart_stop, .fini = rf_fini, .timeout = 30)
{
    redisReply *r;
    char dir[256];
    pid_t first;

    cr_assert(eq(int, redis_fixture_start(&rf, 0), 0));
    cr_assert(gt(int, rf.pid, 0));
    cr_assert(eq(int, rf.port, 0));
    cr_assert(eq(str, rf.tcp_url, ""));
    cr_assert(eq(int, strncmp(rf.url, "unix:///tmp/nines-test-", 23), 0));
    cr_assert(eq(str, rf.url + 7, rf.sock));
    cr_assert(eq(int, redis_fixture_ping(&rf), 1));

    r = rf_command("SET %s %s", "greeting", "hello");
    cr_assert(not(eq(ptr, r, NULL)));
    cr_assert(eq(int, r->type, REDIS_REPLY_STATUS));
    freeReplyObject(r);
    r = rf_command("GET %s", "greeting", NULL);
    cr_assert(not(eq(ptr, r, NULL)));
    cr_assert(eq(int, r->type, REDIS_REPLY_STRING));
    cr_assert(eq(str, r->str, "hello"));
    freeReplyObject(r);

    first = rf.pid;
    cr_assert(eq(int, redis_fixture_kill9(&rf), 0));
    cr_assert(eq(int, rf.pid, 0));
    cr_assert(eq(int, pid_gone(first), 1));
    cr_assert(eq(int, redis_fixture_ping(&rf), 0));
    cr_assert(eq(ptr, redis_fixture_connect(&rf), NULL));
    cr_assert(eq(int, redis_fixture_kill9(&rf), -1));   /* nothing left to kill */

    cr_assert(eq(int, redis_fixture_restart(&rf), 0));
    cr_assert(gt(int, rf.pid, 0));
    cr_assert(eq(int, redis_fixture_ping(&rf), 1));
    cr_assert(eq(int, redis_fixture_restart(&rf), -1)); /* already running */
    r = rf_command("GET %s", "greeting", NULL);         /* no RDB, no AOF: data gone */
    cr_assert(not(eq(ptr, r, NULL)));
    cr_assert(eq(int, r->type, REDIS_REPLY_NIL));
    freeReplyObject(r);

    first = rf.pid;
    snprintf(dir, sizeof(dir), "%s", rf.dir);
    redis_fixture_stop(&rf);
    cr_assert(eq(int, test_path_exists(dir), 0));
    cr_assert(eq(int, pid_gone(first), 1));
    cr_assert(eq(int, rf.pid, 0));
    redis_fixture_stop(&rf);    /* twice is harmless */
}

Test(redis_fixture, tcp_listener_survives_restart, .fini = rf_fini, .timeout = 30)
{
    char want[64];
    redisContext *c;
    redisReply *r;

    cr_assert(eq(int, redis_fixture_start(&rf, 1), 0));
    cr_assert(gt(int, rf.port, 0));
    snprintf(want, sizeof(want), "redis://127.0.0.1:%d", rf.port);
    cr_assert(eq(str, rf.tcp_url, want));
    cr_assert(eq(int, redis_fixture_kill9(&rf), 0));
    cr_assert(eq(int, redis_fixture_restart(&rf), 0));

    c = redisConnect("127.0.0.1", rf.port);
    cr_assert(not(eq(ptr, c, NULL)));
    cr_assert(eq(int, c->err, 0), "%s", c->errstr);
    r = redisCommand(c, "PING");
    cr_assert(not(eq(ptr, r, NULL)));
    cr_assert(eq(str, r->str, "PONG"));
    freeReplyObject(r);
    redisFree(c);
}

Test(redis_fixture, restart_fails_when_port_taken, .fini = rf_fini, .timeout = 30)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int fd;

    cr_assert(eq(int, redis_fixture_start(&rf, 1), 0));
    cr_assert(eq(int, redis_fixture_kill9(&rf), 0));

    fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = htons((uint16_t)rf.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0));
    cr_assert(eq(int, listen(fd, 1), 0));

    cr_assert(eq(int, redis_fixture_restart(&rf), -1));
    cr_assert(eq(int, rf.pid, 0));
    close(fd);
}

/* ---- httpfix ---- */

static struct httpfix hf;
static char resp[256 * 1024];

static void hf_init(void)
{
    cr_assert(eq(int, httpfix_start(&hf), 0));
}

static void hf_fini(void)
{
    httpfix_stop(&hf);
}

TestSuite(httpfix, .init = hf_init, .fini = hf_fini, .timeout = 20);

Test(httpfix, default_is_200_ok_and_closes)
{
    char want[64];

    snprintf(want, sizeof(want), "http://127.0.0.1:%d", hf.port);
    cr_assert(eq(str, hf.base_url, want));
    cr_assert(gt(int, raw_get(hf.port, "/anything", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 200));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nConnection: close\r\n"), NULL)));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nContent-Length: 3\r\n"), NULL)));
    cr_assert(eq(str, (char *)raw_body(resp), "ok\n"));
}

Test(httpfix, mode_status_applies_until_reset)
{
    cr_assert(eq(int, httpfix_set_mode(&hf, "status=500"), 0));
    cr_assert(gt(int, raw_get(hf.port, "/x", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 500));
    cr_assert(eq(str, (char *)raw_body(resp), "status 500\n"));

    cr_assert(eq(int, httpfix_set_mode(&hf, "status=200"), 0));
    cr_assert(gt(int, raw_get(hf.port, "/x", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 200));
}

Test(httpfix, mode_rejects_bad_queries)
{
    cr_assert(eq(int, httpfix_set_mode(&hf, "status=abc"), -1));
    cr_assert(eq(int, httpfix_set_mode(&hf, "status=99"), -1));
    cr_assert(eq(int, httpfix_set_mode(&hf, "colour=red"), -1));
    cr_assert(gt(int, raw_get(hf.port, "/__fixture/nope", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 404));
    cr_assert(gt(int, raw_get(hf.port, "/", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 200));   /* a rejected mode changed nothing */
}

Test(httpfix, hang_mode_never_answers_and_resets)
{
    uint64_t t0;

    cr_assert(eq(int, httpfix_set_mode(&hf, "hang=1"), 0));
    t0 = test_now_ms();
    cr_assert(eq(int, raw_get(hf.port, "/x", resp, sizeof(resp), 300), -2));
    cr_assert(ge(u64, test_now_ms() - t0, 300));
    cr_assert(eq(str, resp, ""));
    cr_assert(eq(int, raw_get(hf.port, "/hang", resp, sizeof(resp), 200), -2));

    cr_assert(eq(int, httpfix_set_mode(&hf, "status=200"), 0));
    cr_assert(gt(int, raw_get(hf.port, "/x", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 200));
}

Test(httpfix, delays_are_honoured)
{
    uint64_t t0 = test_now_ms();

    cr_assert(gt(int, raw_get(hf.port, "/delay/300", resp, sizeof(resp), 3000), 0));
    cr_assert(eq(int, raw_status(resp), 200));
    cr_assert(ge(u64, test_now_ms() - t0, 290));

    cr_assert(eq(int, httpfix_set_mode(&hf, "delay_ms=250&status=503"), 0));
    t0 = test_now_ms();
    cr_assert(gt(int, raw_get(hf.port, "/y", resp, sizeof(resp), 3000), 0));
    cr_assert(eq(int, raw_status(resp), 503));
    cr_assert(ge(u64, test_now_ms() - t0, 240));
}

Test(httpfix, hits_count_ordinary_requests_only)
{
    cr_assert(eq(long, httpfix_hits(&hf), 0));
    cr_assert(gt(int, raw_get(hf.port, "/a", resp, sizeof(resp), 2000), 0));
    cr_assert(gt(int, raw_get(hf.port, "/status/404", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 404));
    cr_assert(eq(int, httpfix_set_mode(&hf, "status=201"), 0));
    cr_assert(gt(int, raw_get(hf.port, "/b", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(long, httpfix_hits(&hf), 3));
    cr_assert(eq(long, httpfix_hits(&hf), 3));
}

Test(httpfix, redirect_chain_and_loop)
{
    cr_assert(gt(int, raw_get(hf.port, "/redirect/2", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 302));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nLocation: /redirect/1\r\n"), NULL)));
    cr_assert(gt(int, raw_get(hf.port, "/redirect/1", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 302));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nLocation: /redirect/0\r\n"), NULL)));
    cr_assert(gt(int, raw_get(hf.port, "/redirect/0", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 200));

    cr_assert(gt(int, raw_get(hf.port, "/loop", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 302));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nLocation: /loop\r\n"), NULL)));
}

Test(httpfix, bytes_streams_exact_length)
{
    const char *body;
    int n = raw_get(hf.port, "/bytes/100000", resp, sizeof(resp), 5000);

    cr_assert(gt(int, n, 100000));
    cr_assert(eq(int, raw_status(resp), 200));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nContent-Length: 100000\r\n"), NULL)));
    body = raw_body(resp);
    cr_assert(eq(sz, strlen(body), 100000));
    cr_assert(eq(int, n, (int)(body - resp) + 100000));
    cr_assert(eq(sz, strspn(body, "x"), 100000));
}

Test(httpfix, head_gets_no_body)
{
    int n = raw_http(hf.port, "HEAD /bytes/5000 HTTP/1.1\r\nHost: x\r\n\r\n",
                     resp, sizeof(resp), 2000);

    cr_assert(gt(int, n, 0));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nContent-Length: 5000\r\n"), NULL)));
    cr_assert(eq(str, (char *)raw_body(resp), ""));
}

Test(httpfix, close_mid_sends_short_body)
{
    cr_assert(gt(int, raw_get(hf.port, "/close-mid", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 200));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nContent-Length: 1000\r\n"), NULL)));
    cr_assert(eq(sz, strlen(raw_body(resp)), 10));
}

Test(httpfix, drip_paces_the_body)
{
    uint64_t t0 = test_now_ms();

    cr_assert(gt(int, raw_get(hf.port, "/drip?bytes=5&interval_ms=60", resp, sizeof(resp),
                              5000), 0));
    cr_assert(eq(int, raw_status(resp), 200));
    cr_assert(not(eq(ptr, strstr(resp, "\r\nContent-Length: 5\r\n"), NULL)));
    cr_assert(eq(str, (char *)raw_body(resp), "xxxxx"));
    cr_assert(ge(u64, test_now_ms() - t0, 290));
}

Test(httpfix, endless_headers_never_end)
{
    char *p;
    int lines = 0;

    cr_assert(eq(int, raw_get(hf.port, "/endless-headers", resp, sizeof(resp), 300), -2));
    cr_assert(eq(int, strncmp(resp, "HTTP/1.1 200 OK\r\n", 17), 0));
    cr_assert(eq(ptr, strstr(resp, "\r\n\r\n"), NULL));
    for (p = resp; (p = strstr(p, "X-Endless-")) != NULL; p++)
        lines++;
    cr_assert(ge(int, lines, 5));
}

Test(httpfix, oversized_header_gets_431)
{
    static char req[20000];
    size_t n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Big: ");

    memset(req + n, 'a', 17000);
    memcpy(req + n + 17000, "\r\n\r\n", 5);
    cr_assert(gt(int, raw_http(hf.port, req, resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 431));
}

Test(httpfix, survives_clients_vanishing_and_exits_0_on_sigterm)
{
    static const char *const paths[] = { "/bytes/1000000000000", "/hang", "/delay/5000",
                                         "/endless-headers", "/drip?bytes=100&interval_ms=5" };
    int status, exited, fd, i;
    pid_t pid;

    for (i = 0; i < 5; i++)     /* hang up mid-answer, before it even starts, ... */
        cr_assert(eq(int, raw_get(hf.port, paths[i], resp, 1024, 30), -2));
    cr_assert(eq(int, raw_http(hf.port, "GET /par", resp, sizeof(resp), 100), -2));
    cr_assert(gt(int, raw_get(hf.port, "/", resp, sizeof(resp), 2000), 0));
    cr_assert(eq(int, raw_status(resp), 200));

    fd = socket(AF_INET, SOCK_STREAM, 0);   /* a connection still open at SIGTERM */
    {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(hf.port) };

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert(eq(int, connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0));
    }
    pid = hf.pid;
    hf.pid = 0;                             /* stopped here, not in hf_fini */
    status = proc_stop(pid, 3000);
    close(fd);
    exited = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    cr_assert(eq(int, exited, 0), "wait status %#x", status);
}

Test(httpfix, client_helpers_agree_with_raw_socket)
{
    char small[64];
    int n;

    n = httpfix_get(hf.port, "/status/418", small, sizeof(small), 2000);
    cr_assert(gt(int, n, 0));
    cr_assert(eq(int, httpfix_response_status(small), 418));
    n = httpfix_get(hf.port, "/bytes/5000", small, sizeof(small), 2000);
    cr_assert(gt(int, n, 5000));                /* counted past what fit */
    cr_assert(eq(sz, strlen(small), sizeof(small) - 1));
    cr_assert(eq(int, httpfix_get(hf.port, "/hang", small, sizeof(small), 150), -2));
    cr_assert(eq(int, httpfix_get(test_unused_port(), "/", small, sizeof(small), 500), -1));
    cr_assert(eq(long, httpfix_hits(&hf), 3));
}

/* ---- proc ---- */

Test(proc, run_captures_stdout_stderr_and_exit_code, .timeout = 10)
{
    const char *const argv[] = { "sh", "-c", "echo hello; echo oops >&2; exit 3", NULL };
    const char *const envv[] = { "NINES_T=42", NULL };
    const char *const argv_env[] = { "sh", "-c", "echo \"$NINES_T\"", NULL };
    char out[64], err[64];
    int code = -1;

    cr_assert(eq(int, proc_run(argv, out, sizeof(out), 5000, &code), 0));
    cr_assert(eq(str, out, "hello\n"));
    cr_assert(eq(int, code, 3));

    cr_assert(eq(int, proc_run_full(argv, NULL, out, sizeof(out), err, sizeof(err), 5000,
                                    &code), 0));
    cr_assert(eq(str, err, "oops\n"));
    cr_assert(eq(int, proc_run_full(argv_env, envv, out, sizeof(out), NULL, 0, 5000,
                                    &code), 0));
    cr_assert(eq(str, out, "42\n"));
    cr_assert(eq(int, code, 0));
}

Test(proc, run_truncates_long_output, .timeout = 10)
{
    const char *const argv[] = { "sh", "-c", "i=0; while [ $i -lt 2000 ]; do "
                                 "echo 0123456789; i=$((i+1)); done", NULL };
    char out[16];
    int code = -1;

    cr_assert(eq(int, proc_run(argv, out, sizeof(out), 5000, &code), 0));
    cr_assert(eq(str, out, "0123456789\n0123"));
    cr_assert(eq(int, code, 0));
}

Test(proc, run_kills_command_past_timeout, .timeout = 10)
{
    const char *const argv[] = { "sleep", "10", NULL };
    char out[16];
    int code = -1;
    uint64_t t0 = test_now_ms();

    cr_assert(eq(int, proc_run(argv, out, sizeof(out), 200, &code), -1));
    cr_assert(lt(u64, test_now_ms() - t0, 2000));
    cr_assert(ge(u64, test_now_ms() - t0, 200));
    cr_assert(eq(int, code, 128 + SIGKILL));
}

Test(proc, spawn_stop_and_registry, .timeout = 10)
{
    const char *const argv[] = { "sleep", "10", NULL };
    pid_t pid = proc_spawn(argv, NULL);
    int status = 0, signaled;

    cr_assert(gt(int, pid, 0));
    cr_assert(eq(int, proc_alive(pid), 1));
    cr_assert(eq(int, proc_wait(pid, 100, &status), -1));     /* still running */
    cr_assert(eq(int, proc_alive(pid), 1));
    status = proc_stop(pid, 2000);
    signaled = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    cr_assert(eq(int, signaled, SIGTERM));
    cr_assert(eq(int, proc_alive(pid), 0));
    cr_assert(eq(int, pid_gone(pid), 1));
    cr_assert(eq(int, proc_signal(pid, 0), -1));              /* reaped: forgotten */
    cr_assert(eq(int, proc_stop(pid, 100), -1));
    cr_assert(eq(int, proc_signal(getpid(), 0), -1));         /* never ours */
    cr_assert(eq(int, proc_signal(getppid(), 0), -1));
}

Test(proc, spawn_logs_output_and_reports_exit, .timeout = 10)
{
    const char *const argv[] = { "sh", "-c", "echo logged; echo also >&2; exit 7", NULL };
    const char *const missing[] = { "/nonexistent/nines-no-such-binary", NULL };
    char dir[256], log[300], *text;
    int status = -1, code;
    pid_t pid;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(log, sizeof(log), "%s/out.log", dir);
    pid = proc_spawn(argv, log);
    cr_assert(gt(int, pid, 0));
    cr_assert(eq(int, proc_wait(pid, 5000, &status), 0));
    code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    cr_assert(eq(int, code, 7));
    text = test_read_file(log);
    cr_assert(not(eq(ptr, text, NULL)));
    cr_assert(eq(str, text, "logged\nalso\n"));
    free(text);

    cr_assert(eq(int, proc_spawn(missing, log), -1));
    cr_assert(eq(int, proc_run(missing, log, sizeof(log), 1000, &code), -1));
    cr_assert(eq(int, code, 127));
    cr_assert(eq(int, test_rmtree(dir), 0));
    cr_assert(eq(int, test_path_exists(dir), 0));
}

Test(proc, children_die_with_a_crashed_parent, .timeout = 10)
{
    int fds[2];
    pid_t mid, child = 0;
    int status;

    cr_assert(eq(int, pipe(fds), 0));
    mid = fork();
    cr_assert(ge(int, mid, 0));
    if (mid == 0) {     /* a "test process" that spawns, then dies without cleanup */
        const char *const argv[] = { "sleep", "30", NULL };
        pid_t p = proc_spawn(argv, NULL);

        if (write(fds[1], &p, sizeof(p)) != sizeof(p))
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    cr_assert(eq(long, (long)read(fds[0], &child, sizeof(child)), (long)sizeof(child)));
    close(fds[0]);
    cr_assert(eq(int, waitpid(mid, &status, 0), mid));
    cr_assert(gt(int, child, 0));
    cr_assert(eq(int, test_wait_until(pid_gone_cond, &child, 3000), 0));
}

/* ---- testutil ---- */

static int flag_set(void *arg)
{
    return ++*(int *)arg >= 3;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

Test(testutil, files_dirs_ports_and_waits, .timeout = 10)
{
    char dir[256], sub[300], file[320], *text;
    int calls = 0, port;
    uint64_t t0;

    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(sub, sizeof(sub), "%s/a", dir);
    cr_assert(eq(int, mkdir(sub, 0700), 0));
    snprintf(file, sizeof(file), "%s/a/f.txt", dir);
    cr_assert(eq(int, test_write_file(file, "content\n"), 0));
    text = test_read_file(file);
    cr_assert(eq(str, text, "content\n"));
    free(text);
    snprintf(file, sizeof(file), "%s/link", dir);
    cr_assert(eq(int, symlink("/tmp", file), 0));   /* must be unlinked, not followed */
    cr_assert(eq(int, test_rmtree(dir), 0));
    cr_assert(eq(int, test_path_exists(dir), 0));
    cr_assert(eq(int, test_path_exists("/tmp"), 1));
    cr_assert(eq(ptr, test_read_file(file), NULL));

    port = test_unused_port();
    cr_assert(gt(int, port, 0));
    cr_assert(lt(int, port, 65536));

    cr_assert(eq(int, test_wait_until(flag_set, &calls, 2000), 0));
    cr_assert(eq(int, calls, 3));
    t0 = test_now_ms();
    cr_assert(eq(int, test_wait_until(never, NULL, 150), -1));
    cr_assert(ge(u64, test_now_ms() - t0, 150));
    cr_assert(lt(u64, test_now_ms() - t0, 1000));
}
