/*
 * Child processes for tests: spawn, signal, wait, stop, run to completion.
 *
 * Every child is recorded in a registry, and only pids in it are ever signalled, so a
 * test can never kill a process it did not start (nor a recycled pid: a reaped child
 * leaves the registry's "running" set). Children die with the test process: each sets
 * PR_SET_PDEATHSIG(SIGKILL), and an atexit handler SIGKILLs and reaps any that are still
 * running when the test exits, even after a failed cr_assert.
 *
 * Use these from the test's main thread only: the registry has no lock, and the kernel
 * delivers PDEATHSIG when the *thread* that forked exits.
 */
#ifndef NINES_TEST_PROC_H
#define NINES_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Starts argv[0] (searched in PATH, execvp) with argv as its arguments. Its stdout and
 * stderr are appended to log_path (created 0644), or go to /dev/null if log_path is
 * NULL; stdin is /dev/null; other descriptors are closed; SIGTERM, SIGINT and SIGPIPE
 * are back at their defaults and no signal is blocked. Returns the pid, or -1 if the
 * fork failed, the registry is full, the log could not be opened or exec failed (exec
 * errors are reported back through a close-on-exec pipe, not guessed).
 */
pid_t proc_spawn(const char *const argv[], const char *log_path);

/*
 * proc_spawn with extra environment entries: env_extra is a NULL-terminated list of
 * "KEY=VALUE" strings that are added to (or replace) the test's environment in the
 * child. env_extra may be NULL.
 */
pid_t proc_spawn_env(const char *const argv[], const char *log_path,
                     const char *const env_extra[]);

/*
 * Sends sig to pid if pid is a running child of the registry. Returns 0, or -1 if the
 * pid is unknown, already reaped, or kill() failed.
 */
int proc_signal(pid_t pid, int sig);

/*
 * Waits up to timeout_ms for pid (a registry child) to exit, polling waitpid(WNOHANG)
 * every few ms. On exit, stores the raw wait status (use WIFEXITED etc.) in
 * *exit_status if that is not NULL, forgets the pid, and returns 0. Returns -1 on
 * timeout (the child keeps running) or if pid is not in the registry.
 */
int proc_wait(pid_t pid, int timeout_ms, int *exit_status);

/*
 * Stops pid: SIGTERM, waits up to timeout_ms, then SIGKILL and a blocking reap.
 * Returns the raw wait status (>= 0; WIFSIGNALED with SIGKILL means it ignored the
 * SIGTERM), or -1 if pid is not in the registry.
 */
int proc_stop(pid_t pid, int timeout_ms);

/*
 * Returns 1 if pid is a registry child that has not exited, else 0. A child found to
 * have exited is reaped; its status stays available to proc_wait.
 */
int proc_alive(pid_t pid);

/*
 * Runs argv to completion, capturing stdout into out (NUL-terminated, truncated to
 * outlen - 1 bytes; the rest is read and dropped so the child never blocks). stderr is
 * discarded: use proc_run_full to capture it. If the command is still running after
 * timeout_ms it is SIGKILLed and reaped. *exit_code (if not NULL) gets the exit code,
 * or 128 + the signal number if a signal ended it, like a shell's $? (127 if it could
 * not be started). Returns 0 if the command exited by itself, -1 if it timed out or
 * could not be started.
 */
int proc_run(const char *const argv[], char *out, size_t outlen, int timeout_ms,
             int *exit_code);

/*
 * proc_run with extra environment (as proc_spawn_env) and stderr captured into err
 * (NUL-terminated, truncated to errlen - 1). out/err may be NULL (output discarded).
 * The capture ends when the command exits: output that grandchildren write afterwards
 * is lost.
 */
int proc_run_full(const char *const argv[], const char *const env_extra[],
                  char *out, size_t outlen, char *err, size_t errlen,
                  int timeout_ms, int *exit_code);

/*
 * SIGKILLs and reaps every registry child that is still running. The atexit handler
 * calls this; a test may call it too. Safe to call any number of times.
 */
void proc_kill_all(void);

#endif
