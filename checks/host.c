/*
 * Host capacity check. A sample reads /proc text on the loop (in-memory files
 * that never block), runs statvfs for each real filesystem on the libuv
 * threadpool (a hung NFS mount must not block the loop; uv_fs_statfs in libuv
 * 1.44 calls statfs and drops f_frsize, so a work item calls statvfs itself),
 * and computes CPU and network rates from counter deltas kept in the driver.
 *
 * Lifetime: a sample owns two timers (step, deadline) and its statvfs work
 * items. Its result is final when it finishes; done runs from the last timer
 * close callback; the sample is freed once its work items have come back too,
 * which for a hung mount may be much later (the sample then stays on the
 * driver's list, and later samples skip that mount instead of queueing more
 * stuck calls). The driver is freed when it is closed and no sample is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "host.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "procfs.h"

#define HOST_ROOT_LEN 256
#define HOST_NET_MAX 128                /* interfaces read from net/dev */
#define HOST_FS_MAX 256                 /* filesystems sampled; more are dropped */
#define HOST_ERRORS_MAX 8
#define HOST_ERROR_LEN 96
#define HOST_DELTA_MIN_NS (50ULL * 1000000)     /* an older reading is reused ... */
#define HOST_DELTA_MAX_NS (300ULL * 1000000000) /* ... if it is in this window */
#define HOST_SECOND_READING_MS 100
#define HOST_FACTS_FS_MAX 40            /* more never fit in NINES_FACTS_LEN */
#define HOST_FACTS_NET_MAX 8
#define HOST_FACTS_OVER_MAX 8           /* thresholds crossed, named in the facts */
#define HOST_STAT_CAP (256 * 1024)
#define HOST_NET_CAP (64 * 1024)
#define HOST_MOUNTS_CAP (1024 * 1024)
#define HOST_SMALL_CAP (16 * 1024)

/* The counters rates are computed from. */
struct host_reading {
    uint64_t at_ns;                     /* uv_hrtime(); 0 = none */
    int have_cpu;
    int cpus;
    struct procfs_cpu cpu;
    int have_net;
    size_t net_count;
    struct procfs_netif net[HOST_NET_MAX];
};

struct host_sample;

struct host_driver {
    char proc_root[HOST_ROOT_LEN];
    struct host_reading last;           /* the latest reading any sample took */
    struct host_sample *samples;        /* in flight, or waiting for statvfs */
    int closed;
};

enum host_fs_state { HOST_FS_QUEUED, HOST_FS_DONE, HOST_FS_FAILED, HOST_FS_STUCK };

struct host_fs {
    uv_work_t work;
    struct host_sample *sample;
    enum host_fs_state state;           /* loop thread only */
    int in_pool;                        /* host_fs_after is still to come */
    char source[PROCFS_SOURCE_LEN];
    char dir[PROCFS_PATH_LEN];
    char fstype[PROCFS_FSTYPE_LEN];
    /* written by the worker, read on the loop only after host_fs_after */
    int err;
    uint64_t bytes_total;
    uint64_t bytes_used;
    uint64_t bytes_avail;
    uint64_t inodes_total;
    uint64_t inodes_used;
};

struct host_rate {
    char name[PROCFS_IFNAME_LEN];
    double rx_bps;
    double tx_bps;
};

enum host_step { HOST_STEP_BEGIN, HOST_STEP_SECOND };

struct host_sample {
    struct host_driver *drv;
    struct host_sample *next;
    uv_loop_t *loop;
    uv_timer_t step;                    /* begin, then the second reading */
    uv_timer_t deadline;
    int open_handles;                   /* close callbacks still to come */
    int in_pool;                        /* statvfs work items still to come back */
    int finished;                       /* the result is final */
    int counters_done;
    enum host_step next_step;
    uint64_t started_ns;
    uint64_t interval_ms;
    struct nines_host_opts opts;        /* mounts deep-copied */
    char *mount_found;                  /* one flag per opts.mounts */
    struct host_reading base;
    struct host_reading cur;
    /* the sample */
    int have_cpu;
    struct procfs_cpu_pct cpu;
    int cpus;
    uint64_t delta_ns;
    int have_load;
    struct procfs_load load;
    int have_mem;
    struct procfs_mem mem;
    int have_files;
    struct procfs_file_nr files;
    int have_net;
    size_t rate_count;
    struct host_rate rates[HOST_NET_MAX];
    struct host_fs *fs;
    size_t fs_count;
    size_t fs_cap;
    size_t fs_dropped;
    int errors_count;
    char errors[HOST_ERRORS_MAX][HOST_ERROR_LEN];
    struct nines_result result;
    check_done_cb *done;
    void *done_arg;
};

static void host_sample_finish(struct host_sample *s, int cancelled);
static void host_sample_on_step(uv_timer_t *t);
static void host_sample_free(struct host_sample *s);

/* Records a source that could not be sampled (once per text). */
__attribute__((format(printf, 2, 3)))
static void host_note(struct host_sample *s, const char *fmt, ...)
{
    char text[HOST_ERROR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    for (int i = 0; i < s->errors_count; i++) {
        if (strcmp(s->errors[i], text) == 0)
            return;
    }
    if (s->errors_count < HOST_ERRORS_MAX)
        memcpy(s->errors[s->errors_count++], text, sizeof(text));
}

/*
 * Reads root/rel whole (at most cap - 1 bytes) into a malloc'd NUL-terminated
 * buffer. NULL with *err set (an errno value) when it cannot be read.
 */
static char *host_slurp(const struct host_driver *drv, const char *rel, size_t cap,
                        int *truncated, int *err)
{
    char path[HOST_ROOT_LEN + 32];
    size_t len = 0;
    char *buf;
    int fd;

    *truncated = 0;
    snprintf(path, sizeof(path), "%s/%s", drv->proc_root, rel);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    buf = malloc(cap);
    if (!buf) {
        *err = ENOMEM;
        close(fd);
        return NULL;
    }
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            close(fd);
            free(buf);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == cap - 1) {
        char probe;

        *truncated = read(fd, &probe, 1) > 0;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

/*
 * Reads rel and hands its text to the caller; notes why when it cannot, and
 * when text was cut off (stat's cpu lines come first: its long tail of
 * interrupt counters may be cut without loss).
 */
static char *host_read_source(struct host_sample *s, const char *rel, size_t cap)
{
    int truncated;
    int err = 0;
    char *text = host_slurp(s->drv, rel, cap, &truncated, &err);

    if (!text)
        host_note(s, "%s: %s", rel, strerror(err));
    else if (truncated && strcmp(rel, "stat") != 0)
        host_note(s, "%s: longer than %zu bytes, truncated", rel, cap - 1);
    return text;
}

static void host_read_counters(struct host_sample *s, struct host_reading *r)
{
    char *text;
    int rc;

    memset(r, 0, sizeof(*r));
    text = host_read_source(s, "stat", HOST_STAT_CAP);
    if (text && procfs_parse_stat(text, &r->cpu, &r->cpus) == 0)
        r->have_cpu = 1;
    else if (text)
        host_note(s, "stat: malformed");
    free(text);
    text = host_read_source(s, "net/dev", HOST_NET_CAP);
    if (text) {
        rc = procfs_parse_net_dev(text, r->net, HOST_NET_MAX, &r->net_count);
        r->have_net = rc == 0 || r->net_count > 0;
        if (rc)
            host_note(s, "net/dev: malformed");
    }
    free(text);
    r->at_ns = uv_hrtime();
}

static void host_read_static(struct host_sample *s)
{
    char *text;

    text = host_read_source(s, "meminfo", HOST_SMALL_CAP);
    s->have_mem = text && procfs_parse_meminfo(text, &s->mem) == 0;
    if (text && !s->have_mem)
        host_note(s, "meminfo: malformed");
    free(text);
    text = host_read_source(s, "loadavg", HOST_SMALL_CAP);
    s->have_load = text && procfs_parse_loadavg(text, &s->load) == 0;
    if (text && !s->have_load)
        host_note(s, "loadavg: malformed");
    free(text);
    text = host_read_source(s, "sys/fs/file-nr", HOST_SMALL_CAP);
    s->have_files = text && procfs_parse_file_nr(text, &s->files) == 0;
    if (text && !s->have_files)
        host_note(s, "sys/fs/file-nr: malformed");
    free(text);
}

/* A reading the driver kept can be the base of this one's deltas. */
static int host_reading_usable(const struct host_reading *prev, const struct host_reading *cur)
{
    uint64_t age;

    if (prev->at_ns == 0 || cur->at_ns <= prev->at_ns)
        return 0;
    age = cur->at_ns - prev->at_ns;
    return age >= HOST_DELTA_MIN_NS && age <= HOST_DELTA_MAX_NS &&
           (prev->have_cpu || !cur->have_cpu) && (prev->have_net || !cur->have_net);
}

static void host_remember(struct host_driver *drv, const struct host_reading *r)
{
    if ((r->have_cpu || r->have_net) && r->at_ns > drv->last.at_ns)
        drv->last = *r;
}

static const struct procfs_netif *host_find_netif(const struct host_reading *r,
                                                  const char *name)
{
    for (size_t i = 0; i < r->net_count; i++) {
        if (strcmp(r->net[i].name, name) == 0)
            return &r->net[i];
    }
    return NULL;
}

/* Rates between s->base and s->cur. A counter that went back (reset) is skipped. */
static void host_compute_deltas(struct host_sample *s)
{
    const struct host_reading *b = &s->base;
    const struct host_reading *c = &s->cur;
    double secs;

    s->counters_done = 1;
    s->cpus = c->cpus;
    s->delta_ns = c->at_ns - b->at_ns;
    if (b->have_cpu && c->have_cpu) {
        s->have_cpu = procfs_cpu_pct(&b->cpu, &c->cpu, &s->cpu) == 0;
        if (!s->have_cpu)
            host_note(s, "stat: no cpu ticks counted in %llu ms",
                      (unsigned long long)(s->delta_ns / 1000000));
    }
    if (!b->have_net || !c->have_net || s->delta_ns == 0)
        return;
    s->have_net = 1;
    secs = (double)s->delta_ns / 1e9;
    for (size_t i = 0; i < c->net_count; i++) {
        const struct procfs_netif *now = &c->net[i];
        const struct procfs_netif *then = host_find_netif(b, now->name);
        struct host_rate *rate = &s->rates[s->rate_count];

        if (strcmp(now->name, "lo") == 0 || !then || now->rx_bytes < then->rx_bytes ||
            now->tx_bytes < then->tx_bytes)
            continue;
        memcpy(rate->name, now->name, sizeof(rate->name));
        rate->rx_bps = (double)(now->rx_bytes - then->rx_bytes) / secs;
        rate->tx_bps = (double)(now->tx_bytes - then->tx_bytes) / secs;
        s->rate_count++;
    }
}

static int host_mount_index(const struct host_sample *s, const char *dir)
{
    for (size_t i = 0; i < s->opts.mounts_count; i++) {
        if (strcmp(s->opts.mounts[i], dir) == 0)
            return (int)i;
    }
    return -1;
}

static void host_fs_remove(struct host_sample *s, size_t i)
{
    memmove(&s->fs[i], &s->fs[i + 1], (s->fs_count - i - 1) * sizeof(s->fs[0]));
    s->fs_count--;
}

static int host_fs_append(struct host_sample *s, const struct procfs_mount *m)
{
    struct host_fs *f;

    if (s->fs_count == HOST_FS_MAX) {
        s->fs_dropped++;
        return 0;
    }
    if (s->fs_count == s->fs_cap) {
        size_t cap = s->fs_cap ? s->fs_cap * 2 : 8;
        struct host_fs *grown = realloc(s->fs, cap * sizeof(*grown));

        if (!grown)
            return NINES_ENOMEM;
        s->fs = grown;
        s->fs_cap = cap;
    }
    f = &s->fs[s->fs_count++];
    memset(f, 0, sizeof(*f));
    memcpy(f->source, m->source, sizeof(f->source));
    memcpy(f->dir, m->dir, sizeof(f->dir));
    memcpy(f->fstype, m->fstype, sizeof(f->fstype));
    return 0;
}

/*
 * One line of mounts: keep real filesystems (or the listed mount points),
 * once per source and type (bind mounts, btrfs subvolumes and container
 * overlays share their space; the shortest mount point names them). A later
 * mount on the same directory hides the earlier one.
 */
static int host_fs_consider(const struct procfs_mount *m, void *arg)
{
    struct host_sample *s = arg;
    int listed = host_mount_index(s, m->dir);
    int wanted = s->opts.mounts_count ? listed >= 0 : !procfs_fs_is_pseudo(m->fstype);

    for (size_t i = 0; i < s->fs_count; i++) {
        if (strcmp(s->fs[i].dir, m->dir) == 0) {
            host_fs_remove(s, i);
            break;
        }
    }
    if (!wanted)
        return 0;
    if (listed >= 0)
        s->mount_found[listed] = 1;
    for (size_t i = 0; i < s->fs_count && !s->opts.mounts_count; i++) {
        struct host_fs *f = &s->fs[i];

        if (strcmp(f->source, m->source) != 0 || strcmp(f->fstype, m->fstype) != 0)
            continue;
        if (strlen(m->dir) < strlen(f->dir))
            memcpy(f->dir, m->dir, sizeof(f->dir));
        return 0;
    }
    return host_fs_append(s, m);
}

/* Runs on a threadpool thread: touches only its own host_fs's result fields. */
static void host_fs_work(uv_work_t *w)
{
    struct host_fs *f = w->data;
    struct statvfs sv;
    uint64_t frsize;

    if (statvfs(f->dir, &sv) != 0) {
        f->err = errno ? errno : EIO;
        return;
    }
    frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    f->bytes_total = (uint64_t)sv.f_blocks * frsize;
    f->bytes_used = (uint64_t)(sv.f_blocks - (sv.f_bfree < sv.f_blocks ? sv.f_bfree
                                                                       : sv.f_blocks)) * frsize;
    f->bytes_avail = (uint64_t)sv.f_bavail * frsize;
    f->inodes_total = sv.f_files;
    f->inodes_used = sv.f_files - (sv.f_ffree < sv.f_files ? sv.f_ffree : sv.f_files);
}

static void host_sample_release(struct host_sample *s)
{
    struct host_driver *drv = s->drv;
    struct host_sample **pp;

    if (!s->finished || s->open_handles > 0 || s->in_pool > 0)
        return;
    for (pp = &drv->samples; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    host_sample_free(s);
    if (drv->closed && !drv->samples)
        free(drv);
}

static void host_sample_try_finish(struct host_sample *s)
{
    if (!s->finished && s->counters_done && s->in_pool == 0)
        host_sample_finish(s, 0);
}

static void host_fs_after(uv_work_t *w, int status)
{
    struct host_fs *f = w->data;
    struct host_sample *s = f->sample;

    f->in_pool = 0;
    s->in_pool--;
    if (status == UV_ECANCELED)
        f->err = ECANCELED;
    f->state = f->err ? HOST_FS_FAILED : HOST_FS_DONE;
    if (s->finished)
        host_sample_release(s);
    else
        host_sample_try_finish(s);
}

/* A finished sample still waits for dir's statvfs: the mount is hanging. */
static int host_fs_stuck(const struct host_driver *drv, const char *dir)
{
    for (const struct host_sample *o = drv->samples; o; o = o->next) {
        for (size_t i = 0; o->finished && i < o->fs_count; i++) {
            if (o->fs[i].in_pool && strcmp(o->fs[i].dir, dir) == 0)
                return 1;
        }
    }
    return 0;
}

static void host_fs_queue_all(struct host_sample *s)
{
    for (size_t i = 0; i < s->fs_count; i++) {
        struct host_fs *f = &s->fs[i];
        int rc;

        f->sample = s;
        f->work.data = f;
        if (host_fs_stuck(s->drv, f->dir)) {
            f->state = HOST_FS_STUCK;
            host_note(s, "fs %s: statvfs still hanging", f->dir);
            continue;
        }
        rc = uv_queue_work(s->loop, &f->work, host_fs_work, host_fs_after);
        if (rc) {
            f->state = HOST_FS_FAILED;
            f->err = -rc;
            continue;
        }
        f->state = HOST_FS_QUEUED;
        f->in_pool = 1;
        s->in_pool++;
    }
}

static void host_collect_fs(struct host_sample *s)
{
    char *text = host_read_source(s, "self/mounts", HOST_MOUNTS_CAP);
    int rc;

    if (text) {
        rc = procfs_parse_mounts(text, host_fs_consider, s);
        if (rc == NINES_ENOMEM)
            host_note(s, "self/mounts: out of memory");
        else if (rc)
            host_note(s, "self/mounts: malformed line");
    }
    free(text);
    for (size_t i = 0; text && i < s->opts.mounts_count; i++) {
        if (!s->mount_found[i])
            host_note(s, "mount %s: not mounted", s->opts.mounts[i]);
    }
    host_fs_queue_all(s);
}

static void host_sample_begin(struct host_sample *s)
{
    struct host_driver *drv = s->drv;

    host_read_counters(s, &s->cur);
    if (host_reading_usable(&drv->last, &s->cur)) {
        s->base = drv->last;
        host_compute_deltas(s);
    } else {
        s->base = s->cur;
        s->next_step = HOST_STEP_SECOND;
    }
    host_remember(drv, &s->cur);
    host_read_static(s);
    host_collect_fs(s);
    if (!s->counters_done) {
        uv_update_time(s->loop);    /* the reading was taken after the loop's time */
        uv_timer_start(&s->step, host_sample_on_step, s->interval_ms, 0);
    }
}

static void host_sample_on_step(uv_timer_t *t)
{
    struct host_sample *s = t->data;

    if (s->next_step == HOST_STEP_BEGIN) {
        host_sample_begin(s);
    } else {
        host_read_counters(s, &s->cur);
        host_compute_deltas(s);
        host_remember(s->drv, &s->cur);
    }
    host_sample_try_finish(s);
}

static void host_sample_on_deadline(uv_timer_t *t)
{
    host_sample_finish(t->data, 0);
}

static double host_pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Disk use as df shows it: the root-reserved blocks are not available. */
static double host_fs_pct(const struct host_fs *f)
{
    return host_pct(f->bytes_used, f->bytes_used + f->bytes_avail);
}

static double host_round1(double v)
{
    return round(v * 10) / 10;
}

static double host_round2(double v)
{
    return round(v * 100) / 100;
}

/* The thresholds crossed, and the worst of them (highest value / limit). */
struct host_verdict {
    int count;
    double worst;
    char message[NINES_MESSAGE_LEN];
    json_t *over;                       /* what is over, for the facts */
};

/* A threshold is crossed when the value reaches it; limit <= 0 is none. */
static void host_over(struct host_verdict *v, const char *what, double value, double limit,
                      int is_load)
{
    if (limit <= 0 || value < limit)
        return;
    v->count++;
    if (json_array_size(v->over) < HOST_FACTS_OVER_MAX)
        json_array_append_new(v->over, json_string(what));
    if (v->count > 1 && value / limit <= v->worst)
        return;
    v->worst = value / limit;
    if (is_load)
        snprintf(v->message, sizeof(v->message), "%.160s %.2f per cpu (limit %.2f)", what, value,
                 limit);
    else
        snprintf(v->message, sizeof(v->message), "%.160s at %.1f%% (limit %g%%)", what, value,
                 limit);
}

static void host_judge_fs(const struct host_sample *s, struct host_verdict *v)
{
    char what[PROCFS_PATH_LEN + 16];

    for (size_t i = 0; i < s->fs_count; i++) {
        const struct host_fs *f = &s->fs[i];

        if (f->state != HOST_FS_DONE || f->bytes_total == 0)
            continue;
        snprintf(what, sizeof(what), "disk %s", f->dir);
        host_over(v, what, host_fs_pct(f), s->opts.disk_pct, 0);
        if (f->inodes_total == 0)
            continue;
        snprintf(what, sizeof(what), "inodes %s", f->dir);
        host_over(v, what, host_pct(f->inodes_used, f->inodes_total), s->opts.inode_pct, 0);
    }
}

static void host_judge(const struct host_sample *s, struct host_verdict *v)
{
    const struct nines_host_opts *o = &s->opts;
    const struct procfs_mem *m = &s->mem;

    if (s->have_cpu)
        host_over(v, "cpu", s->cpu.busy, o->cpu_pct, 0);
    if (s->have_mem) {
        host_over(v, "memory", host_pct(m->total - m->available, m->total), o->memory_pct, 0);
        if (m->have_swap && m->swap_total > 0)
            host_over(v, "swap", host_pct(m->swap_total - m->swap_free, m->swap_total),
                      o->swap_pct, 0);
    }
    if (s->have_files)
        host_over(v, "open files", host_pct(s->files.open, s->files.max), o->open_files_pct, 0);
    if (s->have_load && s->cpus > 0)
        host_over(v, "load", s->load.load[0] / s->cpus, o->load_per_cpu, 1);
    host_judge_fs(s, v);
    if (v->count > 1) {
        size_t len = strlen(v->message);

        snprintf(v->message + len, sizeof(v->message) - len, " (+%d more)", v->count - 1);
    }
}

static json_int_t host_int(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v;
}

static void host_set_real(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, json_real(v));
}

static void host_set_int(json_t *o, const char *key, uint64_t v)
{
    json_object_set_new(o, key, json_integer(host_int(v)));
}

static json_t *host_fs_json(const struct host_fs *f)
{
    json_t *o = json_object();

    json_object_set_new(o, "mount", json_string(f->dir));
    json_object_set_new(o, "fstype", json_string(f->fstype));
    host_set_int(o, "bytes_total", f->bytes_total);
    host_set_int(o, "bytes_used", f->bytes_used);
    host_set_real(o, "pct", host_round1(host_fs_pct(f)));
    if (f->inodes_total > 0) {
        host_set_int(o, "inodes_total", f->inodes_total);
        host_set_int(o, "inodes_used", f->inodes_used);
        host_set_real(o, "inodes_pct", host_round1(host_pct(f->inodes_used, f->inodes_total)));
    }
    return o;
}

static json_t *host_rate_json(const struct host_rate *r)
{
    json_t *o = json_object();

    json_object_set_new(o, "if", json_string(r->name));
    host_set_int(o, "rx_bps", (uint64_t)llround(r->rx_bps));
    host_set_int(o, "tx_bps", (uint64_t)llround(r->tx_bps));
    return o;
}

/* Fullest first; equal ones by mount point, so the order is stable. */
static int host_fs_cmp(const void *a, const void *b)
{
    const struct host_fs *x = *(const struct host_fs *const *)a;
    const struct host_fs *y = *(const struct host_fs *const *)b;
    double px = host_fs_pct(x);
    double py = host_fs_pct(y);

    if (px != py)
        return px > py ? -1 : 1;
    return strcmp(x->dir, y->dir);
}

/* Busiest first. */
static int host_rate_cmp(const void *a, const void *b)
{
    const struct host_rate *x = a;
    const struct host_rate *y = b;
    double bx = x->rx_bps + x->tx_bps;
    double by = y->rx_bps + y->tx_bps;

    if (bx != by)
        return bx > by ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void host_facts_scalars(const struct host_sample *s, json_t *o)
{
    const struct procfs_mem *m = &s->mem;

    if (s->have_cpu) {
        host_set_real(o, "cpu_pct", host_round1(s->cpu.busy));
        host_set_real(o, "iowait_pct", host_round1(s->cpu.iowait));
        host_set_real(o, "steal_pct", host_round1(s->cpu.steal));
    }
    if (s->cpus > 0)
        json_object_set_new(o, "cpus", json_integer(s->cpus));
    if (s->have_load) {
        json_object_set_new(o, "load", json_pack("[fff]", s->load.load[0], s->load.load[1],
                                                 s->load.load[2]));
        if (s->cpus > 0)
            host_set_real(o, "load_per_cpu", host_round2(s->load.load[0] / s->cpus));
        json_object_set_new(o, "procs", json_integer(s->load.tasks));
        json_object_set_new(o, "procs_running", json_integer(s->load.running));
    }
    if (s->have_mem) {
        host_set_real(o, "mem_pct", host_round1(host_pct(m->total - m->available, m->total)));
        host_set_int(o, "mem_total", m->total);
        host_set_int(o, "mem_used", m->total - m->available);
    }
    if (s->have_mem && m->have_swap) {
        host_set_real(o, "swap_pct",
                      host_round1(host_pct(m->swap_total - m->swap_free, m->swap_total)));
        host_set_int(o, "swap_total", m->swap_total);
        host_set_int(o, "swap_used", m->swap_total - m->swap_free);
    }
    if (s->have_files) {
        host_set_int(o, "open_files", s->files.open);
        host_set_int(o, "open_files_max", s->files.max);
        host_set_real(o, "open_files_pct", host_round1(host_pct(s->files.open, s->files.max)));
    }
    if (s->counters_done)
        host_set_int(o, "interval_ms", (s->delta_ns + 500000) / 1000000);
}

static json_t *host_facts_errors(const struct host_sample *s)
{
    json_t *a = json_array();

    for (int i = 0; i < s->errors_count; i++)
        json_array_append_new(a, json_string(s->errors[i]));
    return a;
}

/* Drops the least important remaining fact; NINES_EINVAL when none is left. */
static int host_facts_trim(json_t *o, json_t *fs, json_t *net, size_t *fs_dropped,
                           size_t *net_dropped)
{
    size_t nfs = json_array_size(fs);
    size_t nnet = json_array_size(net);
    int errors = json_object_get(o, "errors") != NULL;

    if (nnet > 2 || (nnet > 0 && nfs <= 1 && !errors)) {
        json_array_remove(net, nnet - 1);
        (*net_dropped)++;
    } else if (nfs > 1 || (nfs > 0 && !errors)) {
        json_array_remove(fs, nfs - 1);
        (*fs_dropped)++;
    } else if (errors) {
        json_object_del(o, "errors");
    } else {
        return NINES_EINVAL;
    }
    return 0;
}

/*
 * Drops the least important facts until the text fits: network interfaces
 * past the two busiest, then filesystems past the fullest, then the error
 * list, then the rest of both lists. Returns 0 when the text fits in buf.
 */
static int host_facts_fit(json_t *o, json_t *fs, json_t *net, size_t fs_dropped,
                          size_t net_dropped, char *buf, size_t len)
{
    for (;;) {
        char *text;

        if (fs_dropped)
            host_set_int(o, "fs_dropped", fs_dropped);
        if (net_dropped)
            host_set_int(o, "net_dropped", net_dropped);
        text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (!text)
            return NINES_ENOMEM;
        if (strlen(text) < len) {
            memcpy(buf, text, strlen(text) + 1);
            free(text);
            return 0;
        }
        free(text);
        if (host_facts_trim(o, fs, net, &fs_dropped, &net_dropped))
            return NINES_EINVAL;
    }
}

static void host_facts(struct host_sample *s, json_t *over)
{
    const struct host_fs *sorted[HOST_FS_MAX];
    json_t *o = json_object();
    json_t *fs = json_array();
    json_t *net = json_array();
    size_t fs_dropped = s->fs_dropped;
    size_t n = 0;

    host_facts_scalars(s, o);
    for (size_t i = 0; i < s->fs_count; i++) {
        if (s->fs[i].state == HOST_FS_DONE && s->fs[i].bytes_total > 0)
            sorted[n++] = &s->fs[i];
    }
    qsort(sorted, n, sizeof(sorted[0]), host_fs_cmp);
    for (size_t i = 0; i < n && i < HOST_FACTS_FS_MAX; i++)
        json_array_append_new(fs, host_fs_json(sorted[i]));
    fs_dropped += n > HOST_FACTS_FS_MAX ? n - HOST_FACTS_FS_MAX : 0;
    qsort(s->rates, s->rate_count, sizeof(s->rates[0]), host_rate_cmp);
    for (size_t i = 0; i < s->rate_count && i < HOST_FACTS_NET_MAX; i++)
        json_array_append_new(net, host_rate_json(&s->rates[i]));
    json_object_set_new(o, "fs", fs);
    if (s->have_net)
        json_object_set_new(o, "net", net);
    else
        json_decref(net);
    if (json_array_size(over) > 0)
        json_object_set(o, "over", over);
    if (s->errors_count > 0)
        json_object_set_new(o, "errors", host_facts_errors(s));
    if (host_facts_fit(o, fs, s->have_net ? net : NULL, fs_dropped,
                       s->rate_count > HOST_FACTS_NET_MAX ? s->rate_count - HOST_FACTS_NET_MAX
                                                          : 0,
                       s->result.facts, sizeof(s->result.facts)))
        s->result.facts[0] = '\0';
    json_decref(o);
}

/* Nothing at all could be read. */
static int host_sample_empty(const struct host_sample *s)
{
    if (s->have_cpu || s->have_load || s->have_mem || s->have_files || s->have_net)
        return 0;
    for (size_t i = 0; i < s->fs_count; i++) {
        if (s->fs[i].state == HOST_FS_DONE)
            return 0;
    }
    return 1;
}

static void host_errors_text(const struct host_sample *s, const char *lead, char *buf,
                             size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%s", lead);

    for (int i = 0; i < s->errors_count && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "; " : "", s->errors[i]);
}

/*
 * A mount point found by scanning that the probe may not look at (a
 * container's overlay under /var/lib/docker) or that went away meanwhile is
 * no news; a mount point asked for by name always is.
 */
static int host_fs_error_is_news(const struct host_sample *s, int err)
{
    return s->opts.mounts_count > 0 ||
           (err != EACCES && err != EPERM && err != ENOENT && err != ENOTDIR);
}

/* Notes what failed, or what the deadline left unsampled. */
static void host_note_unfinished(struct host_sample *s)
{
    if (!s->counters_done)
        host_note(s, "stat, net/dev: second reading missed the deadline");
    for (size_t i = 0; i < s->fs_count; i++) {
        const struct host_fs *f = &s->fs[i];

        if (f->state == HOST_FS_QUEUED)
            host_note(s, "fs %s: statvfs timed out", f->dir);
        else if (f->state == HOST_FS_FAILED && host_fs_error_is_news(s, f->err))
            host_note(s, "fs %s: %s", f->dir, strerror(f->err));
    }
}

static void host_sample_judge(struct host_sample *s)
{
    struct nines_result *r = &s->result;
    struct host_verdict v = { 0 };

    host_note_unfinished(s);
    v.over = json_array();
    if (host_sample_empty(s)) {
        r->outcome = NINES_OUTCOME_ERROR;
        snprintf(r->reason, sizeof(r->reason), "host_sample_failed");
        host_errors_text(s, "nothing could be sampled: ", r->message, sizeof(r->message));
    } else {
        r->outcome = NINES_OUTCOME_OK;
        host_judge(s, &v);
    }
    host_facts(s, v.over);
    if (v.count > 0) {
        snprintf(r->warning, sizeof(r->warning), "capacity");
        memcpy(r->message, v.message, sizeof(r->message));
    } else if (r->outcome == NINES_OUTCOME_OK && s->errors_count > 0) {
        snprintf(r->warning, sizeof(r->warning), "sample_partial");
        host_errors_text(s, "partial sample: ", r->message, sizeof(r->message));
    }
    json_decref(v.over);
}

static void host_sample_closed(uv_handle_t *h)
{
    struct host_sample *s = h->data;

    if (--s->open_handles > 0)
        return;
    s->done(&s->result, s->done_arg);
    host_sample_release(s);
}

static void host_sample_finish(struct host_sample *s, int cancelled)
{
    struct nines_result *r = &s->result;

    if (s->finished)
        return;
    s->finished = 1;
    r->total_us = (int64_t)((uv_hrtime() - s->started_ns) / 1000);
    if (cancelled) {
        r->outcome = NINES_OUTCOME_ERROR;
        snprintf(r->reason, sizeof(r->reason), "cancelled");
        snprintf(r->message, sizeof(r->message), "check cancelled before it finished");
    } else {
        host_sample_judge(s);
    }
    uv_timer_stop(&s->step);
    uv_timer_stop(&s->deadline);
    uv_close((uv_handle_t *)&s->step, host_sample_closed);
    uv_close((uv_handle_t *)&s->deadline, host_sample_closed);
}

/* check_env_close: samples in flight end "cancelled"; queued statvfs calls are withdrawn. */
static void host_driver_close(void *data)
{
    struct host_driver *drv = data;

    drv->closed = 1;
    for (struct host_sample *s = drv->samples; s; s = s->next) {
        host_sample_finish(s, 1);
        for (size_t i = 0; i < s->fs_count; i++) {
            if (s->fs[i].in_pool)
                uv_cancel((uv_req_t *)&s->fs[i].work);
        }
    }
    if (!drv->samples)
        free(drv);
}

static struct host_driver *host_driver_get(struct check_env *env)
{
    struct check_driver *d = &env->driver[CHECK_DRIVER_HOST];
    struct host_driver *drv;

    if (d->data)
        return d->data;
    drv = calloc(1, sizeof(*drv));
    if (!drv)
        return NULL;
    snprintf(drv->proc_root, sizeof(drv->proc_root), "/proc");
    d->data = drv;
    d->close = host_driver_close;
    return drv;
}

static int host_validate(const struct nines_check *c)
{
    const struct nines_host_opts *o = &c->host;

    if (c->kind != NINES_KIND_HOST || c->timeout_ms <= 0 || o->cpu_pct < 0 ||
        o->memory_pct < 0 || o->swap_pct < 0 || o->disk_pct < 0 || o->inode_pct < 0 ||
        o->open_files_pct < 0 || !(o->load_per_cpu >= 0) || (o->mounts_count && !o->mounts))
        return NINES_EINVAL;
    for (size_t i = 0; i < o->mounts_count; i++) {
        const char *m = o->mounts[i];

        if (!m || m[0] != '/' || strlen(m) >= PROCFS_PATH_LEN)
            return NINES_EINVAL;
    }
    return 0;
}

/* Copies the thresholds and the mount points (without trailing slashes). */
static int host_copy_opts(struct host_sample *s, const struct nines_host_opts *o)
{
    s->opts = *o;
    s->opts.mounts = NULL;
    s->opts.mounts_count = 0;
    if (o->mounts_count == 0)
        return 0;
    s->opts.mounts = calloc(o->mounts_count, sizeof(s->opts.mounts[0]));
    s->mount_found = calloc(o->mounts_count, 1);
    if (!s->opts.mounts || !s->mount_found)
        return NINES_ENOMEM;
    for (size_t i = 0; i < o->mounts_count; i++) {
        size_t len = strlen(o->mounts[i]);

        while (len > 1 && o->mounts[i][len - 1] == '/')
            len--;
        s->opts.mounts[i] = strndup(o->mounts[i], len);
        if (!s->opts.mounts[i])
            return NINES_ENOMEM;
        s->opts.mounts_count = i + 1;
    }
    return 0;
}

static void host_sample_free(struct host_sample *s)
{
    for (size_t i = 0; i < s->opts.mounts_count; i++)
        free(s->opts.mounts[i]);
    free(s->opts.mounts);
    free(s->mount_found);
    free(s->fs);
    free(s);
}

int check_host_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg)
{
    struct host_driver *drv;
    struct host_sample *s;
    int err;

    if (!env || !c || !done)
        return NINES_EINVAL;
    if (env->closed || !env->loop)
        return NINES_ESTATE;
    err = host_validate(c);
    if (err)
        return err;
    drv = host_driver_get(env);
    s = drv ? calloc(1, sizeof(*s)) : NULL;
    if (!s)
        return NINES_ENOMEM;
    err = host_copy_opts(s, &c->host);
    if (err) {
        host_sample_free(s);
        return err;
    }
    s->drv = drv;
    s->loop = env->loop;
    s->done = done;
    s->done_arg = arg;
    nines_result_init(&s->result);
    snprintf(s->result.check_id, sizeof(s->result.check_id), "%s", c->id ? c->id : "");
    s->interval_ms = (uint64_t)(c->timeout_ms / 2);
    if (s->interval_ms > HOST_SECOND_READING_MS)
        s->interval_ms = HOST_SECOND_READING_MS;
    if (s->interval_ms == 0)
        s->interval_ms = 1;
    uv_timer_init(env->loop, &s->step);
    uv_timer_init(env->loop, &s->deadline);
    s->step.data = s;
    s->deadline.data = s;
    s->open_handles = 2;
    s->next = drv->samples;
    drv->samples = s;
    s->result.start_ms = nines_wall_ms();
    s->started_ns = uv_hrtime();
    uv_update_time(env->loop);      /* timers count from the cached loop time */
    uv_timer_start(&s->step, host_sample_on_step, 0, 0);
    uv_timer_start(&s->deadline, host_sample_on_deadline, (uint64_t)c->timeout_ms, 0);
    return 0;
}

int check_host_set_proc_root(struct check_env *env, const char *root)
{
    struct host_driver *drv;

    if (!env)
        return NINES_EINVAL;
    if (env->closed)
        return NINES_ESTATE;
    if (!root)
        root = "/proc";
    if (strlen(root) >= HOST_ROOT_LEN)
        return NINES_EINVAL;
    drv = host_driver_get(env);
    if (!drv)
        return NINES_ENOMEM;
    snprintf(drv->proc_root, sizeof(drv->proc_root), "%s", root);
    drv->last.at_ns = 0;            /* counters of another tree are no base */
    return 0;
}
