/*
 * Small utilities every test uses: temporary directories, files, free ports and
 * the one sanctioned way to wait for another process (test_wait_until).
 * All functions are for the test's main thread; none is thread-safe.
 */
#ifndef NINES_TEST_TESTUTIL_H
#define NINES_TEST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Creates a fresh private directory "/tmp/nines-test-XXXXXX" (mode 0700) and copies
 * its path into buf. The directory is remembered: if the test process exits without
 * test_rmtree() on it (a failed cr_assert), an atexit handler first kills every child
 * proc.c started and then removes it. Returns 0, or -1 (buf too small, mkdtemp failed).
 */
int test_tmpdir(char *buf, size_t len);

/*
 * Deletes path and everything below it, without following symbolic links and without
 * running a shell. A path that does not exist counts as success. Returns 0 or -1.
 */
int test_rmtree(const char *path);

/*
 * Creates or truncates path (mode 0644) and writes the NUL-terminated content into it.
 * Returns 0, or -1 on any error (the file may then be partly written).
 */
int test_write_file(const char *path, const char *content);

/*
 * Reads a whole file (at most 64 MiB) into a malloc'd, NUL-terminated buffer that the
 * caller frees. Returns NULL if the file cannot be read or is larger than the cap.
 */
char *test_read_file(const char *path);

/*
 * Returns a TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read
 * back, closed), or -1. Another process may take it before you do: prefer letting the
 * server bind port 0 itself, and retry when a server fails to bind this one.
 */
int test_unused_port(void);

/*
 * Calls cond(arg) about every 20 ms until it returns non-zero (then returns 0) or until
 * timeout_ms has passed (then returns -1, after one last call at the deadline).
 * This is how a test waits for another process: never a bare sleep.
 */
int test_wait_until(int (*cond)(void *), void *arg, int timeout_ms);
/* How often test_wait_until polls (default 20 ms): conditions that start a
 * process each time (`nines status`) poll less often to leave the CPU to the
 * daemons under test. */
void test_wait_poll_ms(int ms);

/* Milliseconds of CLOCK_MONOTONIC, for deadlines and elapsed-time assertions. */
uint64_t test_now_ms(void);

/* Returns 1 if path exists (lstat succeeds, so a dangling link counts), else 0. */
int test_path_exists(const char *path);

/* Sleeps for ms milliseconds (EINTR-safe). For pacing a poll loop, never to synchronise. */
void test_sleep_ms(int ms);

/* Descriptors test_open_fds looks at: 0 .. TEST_FD_SCAN - 1. */
#define TEST_FD_SCAN 4096

/* Marks the descriptors open in this process (below TEST_FD_SCAN) in open. */
void test_open_fds(unsigned char *open);

/*
 * A socket or epoll descriptor open now that was not at the snapshot, or -1
 * (named on stderr). Only those: libuv opens a process-wide pipe with the
 * first loop, and Criterion's own descriptors may close meanwhile.
 */
int test_new_fd_since(const unsigned char *before);

/* How many descriptors are open now that were not at the snapshot. */
int test_fds_opened_since(const unsigned char *before);

#endif
