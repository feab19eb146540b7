/* Child processes for tests, with a registry so only our own children get signals. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROC_MAX 64
#define PROC_POLL_MS 5
#define PROC_CLOSE_FALLBACK_MAX 4096
#define PROC_CLOSE_RANGE_CLOEXEC (1u << 2)   /* linux/close_range.h */

enum proc_state { PROC_FREE = 0, PROC_RUNNING, PROC_EXITED };

struct proc_entry {
    pid_t pid;
    pid_t owner;        /* the process that spawned it (a fork inherits the table) */
    enum proc_state state;
    int status;         /* raw wait status once PROC_EXITED */
};

static struct proc_entry proc_table[PROC_MAX];
static int proc_atexit_done;

/* Milliseconds of CLOCK_MONOTONIC. */
static uint64_t proc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleeps ms milliseconds; used only to pace polling loops. */
static void proc_nap(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* The registry entry of pid spawned by this process (running or exited), or NULL. */
static struct proc_entry *proc_find(pid_t pid)
{
    int i;

    if (pid <= 0)
        return NULL;
    for (i = 0; i < PROC_MAX; i++) {
        struct proc_entry *e = &proc_table[i];

        if (e->state != PROC_FREE && e->pid == pid && e->owner == getpid())
            return e;
    }
    return NULL;
}

/* A slot for a new child: a free one, else one whose child exited unobserved. */
static struct proc_entry *proc_slot(void)
{
    int i;

    for (i = 0; i < PROC_MAX; i++) {
        if (proc_table[i].state == PROC_FREE)
            return &proc_table[i];
    }
    for (i = 0; i < PROC_MAX; i++) {
        if (proc_table[i].state == PROC_EXITED)
            return &proc_table[i];
    }
    return NULL;
}

/*
 * Non-blocking reap of a running entry (block != 0: wait for it). Returns 1 if the
 * child has exited (state becomes PROC_EXITED with its status), 0 if still running.
 * ECHILD (someone else reaped it) counts as exited with status 0.
 */
static int proc_reap(struct proc_entry *e, int block)
{
    int st = 0;
    pid_t r;

    if (e->state == PROC_EXITED)
        return 1;
    do {
        r = waitpid(e->pid, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    e->state = PROC_EXITED;
    e->status = r == e->pid ? st : 0;
    return 1;
}

void proc_kill_all(void)
{
    int i;

    for (i = 0; i < PROC_MAX; i++) {
        struct proc_entry *e = &proc_table[i];

        if (e->state == PROC_FREE || e->owner != getpid())
            continue;
        if (e->state == PROC_RUNNING && !proc_reap(e, 0)) {
            kill(e->pid, SIGKILL);
            proc_reap(e, 1);
        }
        e->state = PROC_FREE;
    }
}

/*
 * Marks every descriptor from 3 up close-on-exec, so the exec drops them all (the
 * error pipe included, which is how the parent learns the exec succeeded). Runs in
 * the child after fork; falls back to a bounded loop on kernels without close_range.
 */
static void proc_cloexec_all(void)
{
    int fd;

#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, PROC_CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    for (fd = 3; fd < PROC_CLOSE_FALLBACK_MAX; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * The child's half of a spawn: die with the parent, restore signals, wire stdio, close
 * the rest, exec. On failure writes errno to errfd (close-on-exec) and exits 127.
 */
static void proc_child_exec(const char *const argv[], char **envp, const int stdio[3],
                            int errfd, pid_t parent)
{
    static const int reset[] = { SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT };
    sigset_t none;
    size_t i;
    int e;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);     /* the test died between fork and prctl */
    for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        signal(reset[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (i = 0; i < 3; i++) {
        if (dup2(stdio[i], (int)i) < 0)
            goto fail;
    }
    proc_cloexec_all();
    if (envp != NULL)
        environ = envp;
    execvp(argv[0], (char *const *)argv);
fail:
    e = errno;
    if (write(errfd, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

/* Length of the key part of "KEY=VALUE" (the whole string if there is no '='). */
static size_t proc_env_keylen(const char *kv)
{
    const char *eq = strchr(kv, '=');

    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/*
 * A malloc'd environment: environ minus the keys env_extra sets, plus env_extra. The
 * strings are borrowed. Returns NULL (no change needed) if env_extra is NULL or empty;
 * sets *failed on allocation failure.
 */
static char **proc_build_env(const char *const env_extra[], int *failed)
{
    size_t n_env = 0, n_extra = 0, n = 0, i, j;
    char **envp;

    *failed = 0;
    while (env_extra != NULL && env_extra[n_extra] != NULL)
        n_extra++;
    if (n_extra == 0)
        return NULL;
    while (environ != NULL && environ[n_env] != NULL)
        n_env++;
    envp = calloc(n_env + n_extra + 1, sizeof(*envp));
    if (envp == NULL) {
        *failed = 1;
        return NULL;
    }
    for (i = 0; i < n_env; i++) {
        size_t kl = proc_env_keylen(environ[i]);
        int replaced = 0;

        for (j = 0; j < n_extra && !replaced; j++)
            replaced = proc_env_keylen(env_extra[j]) == kl &&
                       strncmp(environ[i], env_extra[j], kl) == 0;
        if (!replaced)
            envp[n++] = environ[i];
    }
    for (j = 0; j < n_extra; j++)
        envp[n++] = (char *)env_extra[j];
    return envp;
}

/* pipe2(O_CLOEXEC) without _GNU_SOURCE; we are single-threaded, so no fork race. */
static int proc_pipe_cloexec(int fds[2])
{
    if (pipe(fds) < 0)
        return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0) {
        close(fds[0]);
        close(fds[1]);
        fds[0] = fds[1] = -1;
        return -1;
    }
    return 0;
}

/* Registers the atexit handler once per process image. */
static void proc_arm_atexit(void)
{
    if (!proc_atexit_done) {
        proc_atexit_done = 1;
        atexit(proc_kill_all);
    }
}

/*
 * Forks and execs argv with stdio[0..2] as its stdin/out/err (the caller keeps and
 * closes those fds). Registers the child. Returns its pid, or -1 (exec failure
 * included: the child is reaped and nothing stays registered).
 */
static pid_t proc_start(const char *const argv[], const char *const env_extra[],
                        const int stdio[3])
{
    struct proc_entry *slot = proc_slot();
    pid_t parent = getpid();
    int errpipe[2], failed, child_errno = 0;
    char **envp;
    pid_t pid;
    ssize_t n;

    if (argv == NULL || argv[0] == NULL || slot == NULL)
        return -1;
    envp = proc_build_env(env_extra, &failed);
    if (failed || proc_pipe_cloexec(errpipe) < 0) {
        free(envp);
        return -1;
    }
    proc_arm_atexit();
    pid = fork();
    if (pid == 0)
        proc_child_exec(argv, envp, stdio, errpipe[1], parent);
    free(envp);
    close(errpipe[1]);
    do {
        n = pid > 0 ? read(errpipe[0], &child_errno, sizeof(child_errno)) : -1;
    } while (n < 0 && errno == EINTR && pid > 0);
    close(errpipe[0]);
    if (pid < 0)
        return -1;
    *slot = (struct proc_entry){ .pid = pid, .owner = parent, .state = PROC_RUNNING };
    if (n > 0) {        /* exec failed: the child wrote its errno */
        proc_reap(slot, 1);
        slot->state = PROC_FREE;
        errno = child_errno;
        return -1;
    }
    return pid;
}

pid_t proc_spawn_env(const char *const argv[], const char *log_path,
                     const char *const env_extra[])
{
    int stdio[3];
    pid_t pid = -1;

    stdio[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_path != NULL)
        stdio[1] = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    else
        stdio[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
    stdio[2] = stdio[1];
    if (stdio[0] >= 0 && stdio[1] >= 0)
        pid = proc_start(argv, env_extra, stdio);
    if (stdio[0] >= 0)
        close(stdio[0]);
    if (stdio[1] >= 0)
        close(stdio[1]);
    return pid;
}

pid_t proc_spawn(const char *const argv[], const char *log_path)
{
    return proc_spawn_env(argv, log_path, NULL);
}

int proc_signal(pid_t pid, int sig)
{
    struct proc_entry *e = proc_find(pid);

    if (e == NULL || e->state != PROC_RUNNING)
        return -1;
    return kill(pid, sig) == 0 ? 0 : -1;
}

int proc_wait(pid_t pid, int timeout_ms, int *exit_status)
{
    struct proc_entry *e = proc_find(pid);
    uint64_t deadline = proc_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

    if (e == NULL)
        return -1;
    while (!proc_reap(e, 0)) {
        if (proc_now_ms() >= deadline)
            return -1;
        proc_nap(PROC_POLL_MS);
    }
    if (exit_status != NULL)
        *exit_status = e->status;
    e->state = PROC_FREE;
    return 0;
}

int proc_stop(pid_t pid, int timeout_ms)
{
    struct proc_entry *e = proc_find(pid);
    int status;

    if (e == NULL)
        return -1;
    if (e->state == PROC_RUNNING && !proc_reap(e, 0)) {
        kill(pid, SIGTERM);
        if (proc_wait(pid, timeout_ms, &status) == 0)
            return status;
        kill(pid, SIGKILL);
        proc_reap(e, 1);
    }
    status = e->status;
    e->state = PROC_FREE;
    return status;
}

int proc_alive(pid_t pid)
{
    struct proc_entry *e = proc_find(pid);

    return e != NULL && e->state == PROC_RUNNING && !proc_reap(e, 0);
}

/* One captured stream of proc_run: a non-blocking pipe end and a bounded buffer. */
struct proc_sink {
    int fd;             /* -1 once EOF was seen */
    char *buf;          /* may be NULL: discard */
    size_t cap;
    size_t len;
};

/* Reads what is available (at most max_reads reads); closes the fd at EOF/error. */
static void proc_sink_drain(struct proc_sink *s, int max_reads)
{
    char scratch[4096];

    while (s->fd >= 0 && max_reads-- > 0) {
        ssize_t n = read(s->fd, scratch, sizeof(scratch));
        size_t room = s->buf && s->cap > s->len + 1 ? s->cap - s->len - 1 : 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close(s->fd);
            s->fd = -1;
            return;
        }
        if (room > 0) {
            size_t take = (size_t)n < room ? (size_t)n : room;

            memcpy(s->buf + s->len, scratch, take);
            s->len += take;
            s->buf[s->len] = '\0';
        }
    }
}

/* Opens a pipe whose read end is non-blocking; both ends close-on-exec. */
static int proc_capture_pipe(int fds[2])
{
    if (proc_pipe_cloexec(fds) < 0)
        return -1;
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
        close(fds[0]);
        close(fds[1]);
        fds[0] = fds[1] = -1;
        return -1;
    }
    return 0;
}

/*
 * Pumps both sinks until the child exits (returns 0) or the deadline passes (kills and
 * reaps it, returns -1). Either way the entry ends PROC_EXITED.
 */
static int proc_pump(struct proc_entry *e, struct proc_sink sinks[2], uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd[2];
        nfds_t n = 0;
        uint64_t now = proc_now_ms();
        int i;

        for (i = 0; i < 2; i++) {
            if (sinks[i].fd >= 0)
                pfd[n++] = (struct pollfd){ .fd = sinks[i].fd, .events = POLLIN };
        }
        poll(pfd, n, deadline - now < 20 ? (int)(deadline - now) : 20);
        for (i = 0; i < 2; i++)
            proc_sink_drain(&sinks[i], 64);
        if (proc_reap(e, 0)) {
            for (i = 0; i < 2; i++)
                proc_sink_drain(&sinks[i], 1024);
            return 0;
        }
        if (proc_now_ms() >= deadline) {
            kill(e->pid, SIGKILL);
            proc_reap(e, 1);
            return -1;
        }
    }
}

/*
 * Starts argv with stdin from /dev/null and stdout/stderr into two new pipes whose
 * non-blocking read ends go to sinks[0].fd and sinks[1].fd (-1 on failure). Returns
 * the pid or -1.
 */
static pid_t proc_start_captured(const char *const argv[], const char *const env_extra[],
                                 struct proc_sink sinks[2])
{
    int pipes[2][2] = { { -1, -1 }, { -1, -1 } };
    int stdio[3];
    pid_t pid = -1;
    int i;

    stdio[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (stdio[0] >= 0 && proc_capture_pipe(pipes[0]) == 0 &&
        proc_capture_pipe(pipes[1]) == 0) {
        stdio[1] = pipes[0][1];
        stdio[2] = pipes[1][1];
        pid = proc_start(argv, env_extra, stdio);
    }
    for (i = 0; i < 2; i++) {
        sinks[i].fd = pipes[i][0];
        if (pipes[i][1] >= 0)
            close(pipes[i][1]);
    }
    if (stdio[0] >= 0)
        close(stdio[0]);
    return pid;
}

int proc_run_full(const char *const argv[], const char *const env_extra[],
                  char *out, size_t outlen, char *err, size_t errlen,
                  int timeout_ms, int *exit_code)
{
    struct proc_sink sinks[2] = { { -1, out, outlen, 0 }, { -1, err, errlen, 0 } };
    uint64_t deadline = proc_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    struct proc_entry *e;
    int rc = -1, code = 127, i;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    e = proc_find(proc_start_captured(argv, env_extra, sinks));
    if (e != NULL) {
        rc = proc_pump(e, sinks, deadline);
        code = WIFSIGNALED(e->status) ? 128 + WTERMSIG(e->status) : WEXITSTATUS(e->status);
        e->state = PROC_FREE;
    }
    if (exit_code != NULL)
        *exit_code = code;
    for (i = 0; i < 2; i++) {
        if (sinks[i].fd >= 0)
            close(sinks[i].fd);
    }
    return rc;
}

int proc_run(const char *const argv[], char *out, size_t outlen, int timeout_ms,
             int *exit_code)
{
    return proc_run_full(argv, NULL, out, outlen, NULL, 0, timeout_ms, exit_code);
}
