/* Children that compute for the collector; see childrun.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "childrun.h"
#include "nines/log.h"

const char childrun_output[] = "(childrun output)";

struct childrun {
    uv_process_t proc;
    struct childrun_pool *pool;
    int exited;                     /* no signal may be sent any more */
    int spawned;                    /* done is due */
    int64_t exit_status;
    int term_signal;
    size_t max_bytes;
    char command[64];               /* "nines kpi", for the log */
    char out_path[PATH_MAX];
    char err_path[PATH_MAX];
    childrun_done_cb *done;
    void *arg;
    struct childrun *next;
};

static unsigned childrun_seq;

/* The whole file (at most max bytes) into *buf, NUL-terminated; 0 or a NINES_E*. */
static int childrun_slurp(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    int rc = NINES_EPROTO;

    *buf = NULL;
    *len = 0;
    if (f == NULL)
        return NINES_EPROTO;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (size_t)n <= max &&
        fseek(f, 0, SEEK_SET) == 0) {
        *buf = malloc((size_t)n + 1);
        if (*buf == NULL) {
            rc = NINES_ENOMEM;
        } else if (fread(*buf, 1, (size_t)n, f) == (size_t)n) {
            (*buf)[n] = '\0';
            *len = (size_t)n;
            rc = 0;
        } else {
            free(*buf);
            *buf = NULL;
        }
    }
    fclose(f);
    return rc;
}

/* The start of the child's stderr, on one line, quotes made single. */
static void childrun_errtext(const char *path, char *text, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0, o = 0;

    text[0] = '\0';
    if (f == NULL)
        return;
    n = fread(text, 1, size - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];

        if (ch == '"')
            ch = '\'';
        else if ((unsigned char)ch < 0x20 || ch == 0x7f)
            ch = ' ';
        if (ch == ' ' && (o == 0 || text[o - 1] == ' '))
            continue;                /* runs of blanks (line ends) as one */
        text[o++] = ch;
    }
    while (o > 0 && text[o - 1] == ' ')
        o--;
    text[o] = '\0';
}

static void childrun_closed(uv_handle_t *h)
{
    struct childrun *cr = h->data;
    struct childrun_result res = { 0 };
    char errtext[CHILDRUN_ERRTEXT_MAX], *out = NULL;
    struct childrun **pp;

    for (pp = &cr->pool->runs; *pp != NULL; pp = &(*pp)->next)
        if (*pp == cr) {
            *pp = cr->next;
            break;
        }
    cr->pool->running--;
    if (cr->spawned) {
        childrun_errtext(cr->err_path, errtext, sizeof(errtext));
        res.exit_status = cr->exit_status;
        res.term_signal = cr->term_signal;
        res.errtext = errtext;
        if (cr->exit_status != 0 || cr->term_signal != 0) {
            res.status = NINES_EIO;
            log_warn("child_failed", "command=\"%s\" exit=%" PRId64 " signal=%d stderr=\"%s\"",
                     cr->command, cr->exit_status, cr->term_signal, errtext);
        } else {
            res.status = childrun_slurp(cr->out_path, cr->max_bytes, &out, &res.len);
            res.out = out;
            if (res.status != 0)
                log_warn("child_output_unreadable", "command=\"%s\" path=%s max_bytes=%zu",
                         cr->command, cr->out_path, cr->max_bytes);
            else if (errtext[0] != '\0')
                log_info("child_said", "command=\"%s\" stderr=\"%s\"", cr->command, errtext);
        }
        cr->done(&res, cr->arg);
        free(out);
    }
    unlink(cr->out_path);
    unlink(cr->err_path);
    if (!cr->spawned && cr->pool->unspawned != NULL)
        cr->pool->unspawned(cr->pool, cr->pool->unspawned_arg);   /* may free the pool */
    free(cr);
}

static void childrun_exited(uv_process_t *p, int64_t status, int sig)
{
    struct childrun *cr = p->data;

    cr->exited = 1;
    cr->exit_status = status;
    cr->term_signal = sig;
    uv_close((uv_handle_t *)p, childrun_closed);
}

/* DIR_OF_THIS_EXECUTABLE/nines into bin. */
static void childrun_binary(char *bin, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    self[n > 0 ? n : 0] = '\0';
    slash = strrchr(self, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(bin, size, "%s/nines", slash != NULL && self[0] ? self : ".");
}

/* Creates path (which must not exist) for the child to write; the fd, or -1. */
static int childrun_create(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* Fills argv (program first) and says whether the output is the child's stdout. */
static int childrun_argv(struct childrun *cr, const char *bin, const char *const *args,
                         char **argv, int *to_stdout, struct nines_err *err)
{
    size_t n = 0;

    *to_stdout = 1;
    argv[n++] = (char *)bin;
    for (; args[n - 1] != NULL; n++) {
        if (n > CHILDRUN_MAX_ARGS)
            return nines_err_set(err, NINES_EINVAL, "too many arguments for a child");
        if (args[n - 1] == childrun_output) {
            argv[n] = cr->out_path;
            *to_stdout = 0;
        } else {
            argv[n] = (char *)args[n - 1];
        }
    }
    argv[n] = NULL;
    snprintf(cr->command, sizeof(cr->command), "nines %s", args[0] ? args[0] : "");
    return 0;
}

int childrun_start(struct childrun_pool *pool, uv_loop_t *loop, const char *dir,
                   const char *const *args, size_t max_bytes, childrun_done_cb *done,
                   void *arg, struct nines_err *err)
{
    struct childrun *cr = calloc(1, sizeof(*cr));
    char bin[PATH_MAX + 8], *argv[CHILDRUN_MAX_ARGS + 2];
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    int to_stdout, out_fd, err_fd, rc, e;

    if (cr == NULL)
        return nines_err_set(err, NINES_ENOMEM, "out of memory");
    childrun_binary(bin, sizeof(bin));
    snprintf(cr->out_path, sizeof(cr->out_path), "%s/child-%d-%u.out", dir, (int)getpid(),
             childrun_seq);
    snprintf(cr->err_path, sizeof(cr->err_path), "%s/child-%d-%u.err", dir, (int)getpid(),
             childrun_seq++);
    if (childrun_argv(cr, bin, args, argv, &to_stdout, err) != 0) {
        free(cr);
        return err->code;
    }
    out_fd = childrun_create(cr->out_path);
    e = errno;
    err_fd = out_fd >= 0 ? childrun_create(cr->err_path) : -1;
    if (err_fd < 0) {
        e = out_fd >= 0 ? errno : e;
        if (out_fd >= 0) {
            close(out_fd);
            unlink(cr->out_path);
        }
        free(cr);
        return nines_err_set(err, NINES_EIO, "cannot create %s: %s",
                             out_fd >= 0 ? "the child's error file" : "the child's output file",
                             strerror(e));
    }
    memset(&o, 0, sizeof(o));
    io[0].flags = UV_IGNORE;
    io[1].flags = to_stdout ? UV_INHERIT_FD : UV_IGNORE;
    io[1].data.fd = out_fd;
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = err_fd;
    o.file = bin;
    o.args = argv;
    o.exit_cb = childrun_exited;
    o.stdio = io;
    o.stdio_count = 3;
    cr->proc.data = cr;
    cr->pool = pool;
    cr->max_bytes = max_bytes;
    cr->done = done;
    cr->arg = arg;
    cr->next = pool->runs;
    pool->runs = cr;
    pool->running++;
    rc = uv_spawn(loop, &cr->proc, &o);
    close(out_fd);                  /* the child has its own copies */
    close(err_fd);
    if (rc != 0) {
        cr->exited = 1;             /* the handle still needs closing; done is not due */
        uv_close((uv_handle_t *)&cr->proc, childrun_closed);
        log_error("child_spawn_failed", "binary=%s error=\"%s\"", bin, uv_strerror(rc));
        return nines_err_set(err, NINES_EIO, "cannot run %s: %s", bin, uv_strerror(rc));
    }
    cr->spawned = 1;
    return 0;
}

void childrun_pool_kill(struct childrun_pool *pool)
{
    for (struct childrun *cr = pool->runs; cr != NULL; cr = cr->next)
        if (!cr->exited)
            uv_process_kill(&cr->proc, SIGTERM);
}
