/* Test utilities: temp dirs, files, ports, polling waits. See testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define TESTUTIL_MAX_DIRS 32
#define TESTUTIL_DIR_LEN 256
#define TESTUTIL_READ_CAP (64u * 1024 * 1024)
#define TESTUTIL_MAX_DEPTH 64

/* Temp dirs made by test_tmpdir and not yet removed; emptied at exit. */
static char testutil_dirs[TESTUTIL_MAX_DIRS][TESTUTIL_DIR_LEN];
static int testutil_atexit_done;

/*
 * atexit handler: children first (they may still write into the dirs), then every
 * temp dir the test did not remove itself.
 */
static void testutil_cleanup_at_exit(void)
{
    int i;

    proc_kill_all();
    if (getenv("NINES_TEST_KEEP") != NULL)
        return;     /* debugging: keep the temp dirs and their logs */
    for (i = 0; i < TESTUTIL_MAX_DIRS; i++) {
        if (testutil_dirs[i][0] != '\0')
            test_rmtree(testutil_dirs[i]);
    }
}

/* Remembers dir for removal at exit; silently forgets it when the table is full. */
static void testutil_remember_dir(const char *dir)
{
    int i;

    if (!testutil_atexit_done) {
        testutil_atexit_done = 1;
        atexit(testutil_cleanup_at_exit);
    }
    for (i = 0; i < TESTUTIL_MAX_DIRS; i++) {
        if (testutil_dirs[i][0] == '\0') {
            snprintf(testutil_dirs[i], TESTUTIL_DIR_LEN, "%s", dir);
            return;
        }
    }
}

/* Drops dir from the at-exit table (it is being removed now). */
static void testutil_forget_dir(const char *dir)
{
    int i;

    for (i = 0; i < TESTUTIL_MAX_DIRS; i++) {
        if (strcmp(testutil_dirs[i], dir) == 0)
            testutil_dirs[i][0] = '\0';
    }
}

int test_tmpdir(char *buf, size_t len)
{
    char tmpl[] = "/tmp/nines-test-XXXXXX";

    if (buf == NULL || len < sizeof(tmpl))
        return -1;
    if (mkdtemp(tmpl) == NULL)
        return -1;
    memcpy(buf, tmpl, sizeof(tmpl));
    testutil_remember_dir(buf);
    return 0;
}

/* Removes every entry of the open directory fd (which it closes). Returns 0 or -1. */
static int testutil_rm_children(int fd, int depth);

/* Removes name relative to dirfd, recursing into directories without following links. */
static int testutil_rm_at(int dirfd, const char *name, int depth)
{
    struct stat st;
    int fd;
    int rc;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) ? 0 : -1;
    if (depth > TESTUTIL_MAX_DEPTH)
        return -1;
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = testutil_rm_children(fd, depth);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

static int testutil_rm_children(int fd, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *ent;
    int rc = 0;

    if (d == NULL) {
        close(fd);
        return -1;
    }
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        if (testutil_rm_at(fd, ent->d_name, depth + 1) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int test_rmtree(const char *path)
{
    char copy[4096];    /* path may be a testutil_dirs slot, which forgetting clears */

    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(copy))
        return -1;
    memcpy(copy, path, strlen(path) + 1);
    testutil_forget_dir(copy);
    return testutil_rm_at(AT_FDCWD, copy, 0);
}

int test_write_file(const char *path, const char *content)
{
    size_t len = strlen(content);
    size_t off = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return -1;
    while (off < len) {
        ssize_t n = write(fd, content + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    return close(fd) == 0 ? 0 : -1;
}

char *test_read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    size_t len = 0;
    size_t n;

    if (fp == NULL)
        return NULL;
    do {
        if (len + 1 >= cap) {
            char *nb;

            cap = cap ? cap * 2 : 4096;
            nb = cap <= TESTUTIL_READ_CAP + 1 ? realloc(buf, cap) : NULL;
            if (nb == NULL)
                goto fail;
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len - 1, fp);
        len += n;
    } while (n > 0);
    if (ferror(fp))
        goto fail;
    fclose(fp);
    buf[len] = '\0';
    return buf;
fail:
    free(buf);
    fclose(fp);
    return NULL;
}

int test_unused_port(void)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int port = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

uint64_t test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void test_sleep_ms(int ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        continue;
}

static int testutil_poll_ms = 20;

void test_wait_poll_ms(int ms)
{
    testutil_poll_ms = ms > 0 ? ms : 20;
}

int test_wait_until(int (*cond)(void *), void *arg, int timeout_ms)
{
    uint64_t deadline = test_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    int poll = testutil_poll_ms;

    for (;;) {
        uint64_t now;

        if (cond(arg))
            return 0;
        now = test_now_ms();
        if (now >= deadline)
            return -1;
        test_sleep_ms(deadline - now < (uint64_t)poll ? (int)(deadline - now) : poll);
    }
}

int test_path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

void test_open_fds(unsigned char *open)
{
    for (int fd = 0; fd < TEST_FD_SCAN; fd++)
        open[fd] = fcntl(fd, F_GETFD) != -1;
}

int test_new_fd_since(const unsigned char *before)
{
    unsigned char now[TEST_FD_SCAN];

    test_open_fds(now);
    for (int fd = 0; fd < TEST_FD_SCAN; fd++) {
        char path[64], what[256] = "";

        if (!now[fd] || before[fd])
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (readlink(path, what, sizeof(what) - 1) < 0)
            continue;
        if (strncmp(what, "socket:", 7) == 0 || strstr(what, "eventpoll") != NULL) {
            fprintf(stderr, "fd %d is new: %s\n", fd, what);
            return fd;
        }
    }
    return -1;
}

int test_fds_opened_since(const unsigned char *before)
{
    unsigned char now[TEST_FD_SCAN];
    int count = 0;

    test_open_fds(now);
    for (int fd = 0; fd < TEST_FD_SCAN; fd++)
        count += now[fd] && !before[fd];
    return count;
}
