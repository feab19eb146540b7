/* The collector's own redis-server, supervised; see embed.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "embed.h"
#include "nines/log.h"

#define EMBED_RESTART_MIN_MS 500
#define EMBED_RESTART_MAX_MS 30000

struct embed {
    uv_loop_t *loop;
    uv_process_t proc;
    uv_timer_t restart;
    char dir[512];
    char sock[600];
    char pidfile[600];
    char logfile[600];
    char bin[256];
    int running;               /* the process is alive */
    int proc_open;             /* the process handle awaits its close callback */
    int stopping;
    int backoff_ms;
    uint64_t started_at;       /* loop time of the last start */
    embed_stopped_cb *done;
    void *done_arg;
};

static int embed_mkdirs(const char *dir)
{
    char path[512];
    size_t n = strlen(dir);

    if (n >= sizeof(path))
        return -ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* A redis-server left running by a collector that was killed: its pid file
 * names it. Stop it (SIGTERM, so its AOF is complete) before starting ours. */
static void embed_stop_stale(struct embed *e)
{
    char cmdline[256] = "", path[64];
    FILE *f = fopen(e->pidfile, "r");
    long pid = 0;
    size_t n;

    if (f == NULL)
        return;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 1)
        return;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
    fclose(f);
    cmdline[n] = '\0';
    if (strstr(cmdline, "redis-server") == NULL)
        return;    /* the pid was reused by something else */
    log_warn("embedded_redis_stale", "pid=%ld note=\"left by a previous collector; stopping it\"",
             pid);
    kill((pid_t)pid, SIGTERM);
    for (int i = 0; i < 200 && kill((pid_t)pid, 0) == 0; i++) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };

        nanosleep(&ts, NULL);
    }
    if (kill((pid_t)pid, 0) == 0)
        kill((pid_t)pid, SIGKILL);
}

static void embed_spawn(struct embed *e);

static void embed_on_restart(uv_timer_t *t)
{
    embed_spawn(t->data);
}

/* The last handle closed: report and free. */
static void embed_restart_closed(uv_handle_t *h)
{
    struct embed *e = h->data;

    if (e->done != NULL)
        e->done(e->done_arg);
    free(e);
}

static void embed_proc_closed(uv_handle_t *h)
{
    struct embed *e = h->data;

    e->proc_open = 0;
    if (e->stopping) {
        uv_close((uv_handle_t *)&e->restart, embed_restart_closed);
        return;
    }
    uv_timer_start(&e->restart, embed_on_restart, (uint64_t)e->backoff_ms, 0);
}

static void embed_on_exit(uv_process_t *proc, int64_t status, int term_signal)
{
    struct embed *e = proc->data;

    e->running = 0;
    if (e->stopping) {
        log_info("embedded_redis_stopped", "status=%lld", (long long)status);
    } else {
        /* it ran a while: start over quickly; it keeps dying: back off */
        if (uv_now(e->loop) - e->started_at > 60000)
            e->backoff_ms = EMBED_RESTART_MIN_MS;
        log_error("embedded_redis_exited", "status=%lld signal=%d restart_in_ms=%d log=%s",
                  (long long)status, term_signal, e->backoff_ms, e->logfile);
    }
    uv_close((uv_handle_t *)proc, embed_proc_closed);
}

static void embed_spawn(struct embed *e)
{
    char *args[] = {
        e->bin, "--port", "0", "--unixsocket", e->sock, "--unixsocketperm", "700",
        "--dir", e->dir, "--appendonly", "yes", "--appendfsync", "everysec",
        "--save", "", "--pidfile", e->pidfile, "--logfile", e->logfile,
        "--daemonize", "no", NULL,
    };
    uv_process_options_t o = { 0 };
    uv_stdio_container_t stdio[3] = {
        { .flags = UV_IGNORE }, { .flags = UV_IGNORE }, { .flags = UV_INHERIT_FD,
                                                          .data.fd = 2 },
    };
    int rc;

    if (e->stopping)
        return;
    o.file = e->bin;
    o.args = args;
    o.exit_cb = embed_on_exit;
    o.stdio = stdio;
    o.stdio_count = 3;
    e->proc.data = e;
    e->proc_open = 1;
    rc = uv_spawn(e->loop, &e->proc, &o);
    e->started_at = uv_now(e->loop);
    if (rc != 0) {
        log_error("embedded_redis_spawn_failed", "bin=%s error=\"%s\" retry_in_ms=%d", e->bin,
                  uv_strerror(rc), e->backoff_ms);
        /* uv_spawn failed: the handle still needs closing */
        uv_close((uv_handle_t *)&e->proc, embed_proc_closed);
    } else {
        e->running = 1;
        log_info("embedded_redis_started", "pid=%d socket=%s", e->proc.pid, e->sock);
    }
    e->backoff_ms *= 2;
    if (e->backoff_ms > EMBED_RESTART_MAX_MS)
        e->backoff_ms = EMBED_RESTART_MAX_MS;
}

struct embed *embed_start(uv_loop_t *loop, const char *data_dir, const char *server_bin,
                          struct nines_err *err)
{
    struct embed *e;
    int rc;

    if (strlen(data_dir) > 400) {
        nines_err_set(err, NINES_EINVAL, "data_dir '%s' is too long", data_dir);
        return NULL;
    }
    rc = embed_mkdirs(data_dir);
    if (rc != 0) {
        nines_err_set(err, NINES_EIO, "cannot create data_dir '%s': %s", data_dir,
                      strerror(-rc));
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        nines_err_set(err, NINES_ENOMEM, "out of memory");
        return NULL;
    }
    e->loop = loop;
    snprintf(e->dir, sizeof(e->dir), "%s", data_dir);
    snprintf(e->sock, sizeof(e->sock), "%s/redis.sock", data_dir);
    snprintf(e->pidfile, sizeof(e->pidfile), "%s/redis.pid", data_dir);
    snprintf(e->logfile, sizeof(e->logfile), "%s/redis.log", data_dir);
    snprintf(e->bin, sizeof(e->bin), "%s", server_bin);
    e->backoff_ms = EMBED_RESTART_MIN_MS;
    uv_timer_init(loop, &e->restart);
    e->restart.data = e;
    embed_stop_stale(e);
    embed_spawn(e);
    return e;
}

const char *embed_socket(const struct embed *e)
{
    return e->sock;
}

int embed_pid(const struct embed *e)
{
    return e->running ? e->proc.pid : 0;
}

void embed_stop(struct embed *e, embed_stopped_cb *done, void *arg)
{
    e->stopping = 1;
    e->done = done;
    e->done_arg = arg;
    uv_timer_stop(&e->restart);
    if (e->running)
        uv_process_kill(&e->proc, SIGTERM);   /* embed_on_exit closes it */
    else if (!e->proc_open)                   /* between restarts */
        uv_close((uv_handle_t *)&e->restart, embed_restart_closed);
    /* else its close callback is pending and finishes the stop */
}
