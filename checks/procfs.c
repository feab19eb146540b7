/*
 * /proc text parsers: pure functions on bounded text. Numbers are parsed by
 * hand (strtoull takes "-1" and wraps it; strtod follows the locale), and a
 * number that overflows 64 bits or runs into letters makes the line bad.
 */
#include <string.h>

#include "nines/err.h"
#include "procfs.h"

/* One line of text: [p, end), without the newline. */
struct procfs_line {
    const char *p;
    const char *end;
};

/* Sets *line to the line at *text and moves *text past it; 0 at the end. */
static int procfs_next_line(const char **text, struct procfs_line *line)
{
    const char *s = *text;
    const char *nl;

    if (*s == '\0')
        return 0;
    nl = strchr(s, '\n');
    line->p = s;
    line->end = nl ? nl : s + strlen(s);
    *text = nl ? nl + 1 : line->end;
    return 1;
}

static int procfs_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void procfs_skip_blanks(struct procfs_line *l)
{
    while (l->p < l->end && procfs_is_blank(*l->p))
        l->p++;
}

/* A field ends at a blank or the end of the line. */
static int procfs_at_field_end(const struct procfs_line *l)
{
    return l->p == l->end || procfs_is_blank(*l->p);
}

/*
 * The next unsigned decimal field of the line. 1 when read, 0 at the end of
 * the line, NINES_EINVAL for anything else (letters, a sign, overflow).
 */
static int procfs_next_u64(struct procfs_line *l, uint64_t *v)
{
    uint64_t n = 0;

    procfs_skip_blanks(l);
    if (l->p == l->end)
        return 0;
    if (*l->p < '0' || *l->p > '9')
        return NINES_EINVAL;
    while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
        unsigned d = (unsigned)(*l->p - '0');

        if (n > (UINT64_MAX - d) / 10)
            return NINES_EINVAL;
        n = n * 10 + d;
        l->p++;
    }
    *v = n;
    return 1;
}

/* A load average: digits, optionally '.' and digits ("0.50", "12"). */
static int procfs_next_load(struct procfs_line *l, double *v)
{
    double n = 0.0;
    double scale = 0.1;
    int digits = 0;

    procfs_skip_blanks(l);
    while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
        if (++digits > 12)
            return NINES_EINVAL;
        n = n * 10 + (*l->p++ - '0');
    }
    if (digits == 0)
        return NINES_EINVAL;
    if (l->p < l->end && *l->p == '.') {
        l->p++;
        if (l->p == l->end || *l->p < '0' || *l->p > '9')
            return NINES_EINVAL;
        while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
            n += (*l->p++ - '0') * scale;
            scale /= 10;
        }
    }
    if (!procfs_at_field_end(l))
        return NINES_EINVAL;
    *v = n;
    return 0;
}

static int procfs_add_u64(uint64_t *sum, uint64_t v)
{
    if (*sum > UINT64_MAX - v)
        return NINES_EINVAL;
    *sum += v;
    return 0;
}

/* The "cpu " line: at least 4 fields; only the first 8 count (guest is in user). */
static int procfs_parse_cpu_line(struct procfs_line l, struct procfs_cpu *out)
{
    struct procfs_cpu c = { 0 };
    uint64_t v;
    int n = 0;
    int rc;

    l.p += 3;
    while ((rc = procfs_next_u64(&l, &v)) == 1) {
        if (!procfs_at_field_end(&l))
            return NINES_EINVAL;
        if (n < 8 && procfs_add_u64(&c.total, v))
            return NINES_EINVAL;
        if (n == 3 || n == 4)
            c.idle += v;            /* cannot overflow: total holds it */
        if (n == 4)
            c.iowait = v;
        if (n == 7)
            c.steal = v;
        n++;
    }
    if (rc < 0 || n < 4)
        return NINES_EINVAL;
    *out = c;
    return 0;
}

int procfs_parse_stat(const char *text, struct procfs_cpu *out, int *cpus)
{
    struct procfs_line l;
    int found = 0;
    int n = 0;

    if (!text || !out || !cpus)
        return NINES_EINVAL;
    while (procfs_next_line(&text, &l)) {
        size_t len = (size_t)(l.end - l.p);

        if (len < 4 || strncmp(l.p, "cpu", 3) != 0)
            continue;
        if (procfs_is_blank(l.p[3]) && !found) {
            if (procfs_parse_cpu_line(l, out))
                return NINES_EINVAL;
            found = 1;
        } else if (l.p[3] >= '0' && l.p[3] <= '9' && n < 1000000) {
            n++;
        }
    }
    if (!found)
        return NINES_EINVAL;
    *cpus = n;
    return 0;
}

static double procfs_share(uint64_t part, uint64_t whole)
{
    double pct = 100.0 * (double)part / (double)whole;

    return pct > 100.0 ? 100.0 : pct;
}

int procfs_cpu_pct(const struct procfs_cpu *prev, const struct procfs_cpu *cur,
                   struct procfs_cpu_pct *out)
{
    uint64_t total;
    uint64_t idle;

    if (!prev || !cur || !out || cur->total <= prev->total || cur->idle < prev->idle ||
        cur->iowait < prev->iowait || cur->steal < prev->steal)
        return NINES_EINVAL;
    total = cur->total - prev->total;
    idle = cur->idle - prev->idle;
    if (idle > total)
        return NINES_EINVAL;
    out->busy = procfs_share(total - idle, total);
    out->iowait = procfs_share(cur->iowait - prev->iowait, total);
    out->steal = procfs_share(cur->steal - prev->steal, total);
    return 0;
}

/* "Key:   123 kB" → *v in bytes. 1 when the line is key, 0 when not, < 0 when bad. */
static int procfs_meminfo_value(struct procfs_line l, const char *key, uint64_t *v)
{
    size_t klen = strlen(key);
    uint64_t n;

    if ((size_t)(l.end - l.p) <= klen || strncmp(l.p, key, klen) != 0 || l.p[klen] != ':')
        return 0;
    l.p += klen + 1;
    if (procfs_next_u64(&l, &n) != 1)
        return NINES_EINVAL;
    procfs_skip_blanks(&l);
    if (l.p == l.end) {
        *v = n;
        return 1;
    }
    if (l.end - l.p != 2 || strncmp(l.p, "kB", 2) != 0 || n > UINT64_MAX / 1024)
        return NINES_EINVAL;
    *v = n * 1024;
    return 1;
}

enum {
    PROCFS_MEM_TOTAL, PROCFS_MEM_AVAILABLE, PROCFS_MEM_FREE, PROCFS_MEM_BUFFERS,
    PROCFS_MEM_CACHED, PROCFS_MEM_SWAP_TOTAL, PROCFS_MEM_SWAP_FREE, PROCFS_MEM_KEYS
};

static const char *const procfs_mem_keys[PROCFS_MEM_KEYS] = {
    "MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached", "SwapTotal", "SwapFree",
};

int procfs_parse_meminfo(const char *text, struct procfs_mem *out)
{
    uint64_t v[PROCFS_MEM_KEYS] = { 0 };
    int seen[PROCFS_MEM_KEYS] = { 0 };
    struct procfs_line l;

    if (!text || !out)
        return NINES_EINVAL;
    while (procfs_next_line(&text, &l)) {
        for (int k = 0; k < PROCFS_MEM_KEYS; k++) {
            int rc = procfs_meminfo_value(l, procfs_mem_keys[k], &v[k]);

            if (rc < 0)
                return NINES_EINVAL;
            seen[k] |= rc;
        }
    }
    if (!seen[PROCFS_MEM_TOTAL] || v[PROCFS_MEM_TOTAL] == 0 ||
        (!seen[PROCFS_MEM_AVAILABLE] && !seen[PROCFS_MEM_FREE]))
        return NINES_EINVAL;
    memset(out, 0, sizeof(*out));
    out->total = v[PROCFS_MEM_TOTAL];
    if (seen[PROCFS_MEM_AVAILABLE]) {
        out->available = v[PROCFS_MEM_AVAILABLE];
    } else {
        out->available_estimated = 1;
        out->available = v[PROCFS_MEM_FREE];
        if (procfs_add_u64(&out->available, v[PROCFS_MEM_BUFFERS]) ||
            procfs_add_u64(&out->available, v[PROCFS_MEM_CACHED]))
            out->available = out->total;
    }
    if (out->available > out->total)
        out->available = out->total;
    out->have_swap = seen[PROCFS_MEM_SWAP_TOTAL] && seen[PROCFS_MEM_SWAP_FREE];
    if (out->have_swap) {
        out->swap_total = v[PROCFS_MEM_SWAP_TOTAL];
        out->swap_free = v[PROCFS_MEM_SWAP_FREE];
        if (out->swap_free > out->swap_total)
            out->swap_free = out->swap_total;
    }
    return 0;
}

int procfs_parse_loadavg(const char *text, struct procfs_load *out)
{
    struct procfs_load ld;
    struct procfs_line l;
    uint64_t running;
    uint64_t tasks;

    if (!text || !out || !procfs_next_line(&text, &l))
        return NINES_EINVAL;
    for (int i = 0; i < 3; i++) {
        if (procfs_next_load(&l, &ld.load[i]))
            return NINES_EINVAL;
    }
    if (procfs_next_u64(&l, &running) != 1 || l.p == l.end || *l.p++ != '/' ||
        l.p == l.end || procfs_next_u64(&l, &tasks) != 1 || !procfs_at_field_end(&l) ||
        running > INT32_MAX || tasks > INT32_MAX)
        return NINES_EINVAL;
    ld.running = (long)running;
    ld.tasks = (long)tasks;
    *out = ld;
    return 0;
}

int procfs_parse_file_nr(const char *text, struct procfs_file_nr *out)
{
    struct procfs_line l;
    uint64_t v[3];

    if (!text || !out || !procfs_next_line(&text, &l))
        return NINES_EINVAL;
    for (int i = 0; i < 3; i++) {
        if (procfs_next_u64(&l, &v[i]) != 1 || !procfs_at_field_end(&l))
            return NINES_EINVAL;
    }
    if (v[1] > v[0] || v[2] == 0)
        return NINES_EINVAL;
    out->open = v[0] - v[1];
    out->max = v[2];
    return 0;
}

/* "  eth0: 123 ..." → one interface; receive bytes is field 1, transmit field 9. */
static int procfs_parse_netif(struct procfs_line l, struct procfs_netif *ifp)
{
    const char *colon = memchr(l.p, ':', (size_t)(l.end - l.p));
    uint64_t v;
    size_t len;
    int n = 0;
    int rc;

    procfs_skip_blanks(&l);
    if (!colon || colon <= l.p)
        return NINES_EINVAL;
    len = (size_t)(colon - l.p);
    if (len >= sizeof(ifp->name) || memchr(l.p, ' ', len) || memchr(l.p, '\t', len))
        return NINES_EINVAL;
    memcpy(ifp->name, l.p, len);
    ifp->name[len] = '\0';
    l.p = colon + 1;
    while ((rc = procfs_next_u64(&l, &v)) == 1) {
        if (!procfs_at_field_end(&l))
            return NINES_EINVAL;
        if (n == 0)
            ifp->rx_bytes = v;
        if (n == 8)
            ifp->tx_bytes = v;
        n++;
    }
    return rc < 0 || n < 9 ? NINES_EINVAL : 0;
}

int procfs_parse_net_dev(const char *text, struct procfs_netif *ifs, size_t max,
                         size_t *count)
{
    struct procfs_line l;
    int header = 0;
    int bad = 0;
    size_t n = 0;

    if (!count)
        return NINES_EINVAL;
    *count = 0;
    if (!text || (!ifs && max > 0))
        return NINES_EINVAL;
    while (procfs_next_line(&text, &l)) {
        struct procfs_netif ifc;

        if (memchr(l.p, '|', (size_t)(l.end - l.p))) {
            header = 1;
            continue;
        }
        if (l.p == l.end)
            continue;
        if (!header || procfs_parse_netif(l, &ifc)) {
            bad = 1;
            continue;
        }
        if (n < max)
            ifs[n++] = ifc;
    }
    *count = n;
    return header && !bad ? 0 : NINES_EINVAL;
}

/* Copies the next mounts field, decoding \ooo escapes; 0, or < 0 when bad or too long. */
static int procfs_mount_field(struct procfs_line *l, char *dst, size_t cap, int truncate)
{
    size_t n = 0;

    procfs_skip_blanks(l);
    if (l->p == l->end)
        return NINES_EINVAL;
    while (l->p < l->end && !procfs_is_blank(*l->p)) {
        char ch = *l->p++;

        if (ch == '\\') {
            if (l->end - l->p < 3 || l->p[0] < '0' || l->p[0] > '3' || l->p[1] < '0' ||
                l->p[1] > '7' || l->p[2] < '0' || l->p[2] > '7')
                return NINES_EINVAL;
            ch = (char)((l->p[0] - '0') * 64 + (l->p[1] - '0') * 8 + (l->p[2] - '0'));
            l->p += 3;
            if (ch == '\0')
                return NINES_EINVAL;
        }
        if (n + 1 < cap)
            dst[n++] = ch;
        else if (!truncate)
            return NINES_EINVAL;
    }
    dst[n] = '\0';
    return 0;
}

int procfs_parse_mounts(const char *text, procfs_mount_cb *cb, void *arg)
{
    struct procfs_line l;
    int bad = 0;

    if (!text || !cb)
        return NINES_EINVAL;
    while (procfs_next_line(&text, &l)) {
        struct procfs_mount m;
        int rc;

        procfs_skip_blanks(&l);
        if (l.p == l.end)
            continue;
        if (procfs_mount_field(&l, m.source, sizeof(m.source), 1) ||
            procfs_mount_field(&l, m.dir, sizeof(m.dir), 0) ||
            procfs_mount_field(&l, m.fstype, sizeof(m.fstype), 0) || m.dir[0] != '/') {
            bad = 1;
            continue;
        }
        rc = cb(&m, arg);
        if (rc)
            return rc;
    }
    return bad ? NINES_EINVAL : 0;
}

/*
 * Types that hold no user data, or are read-only images always "100% full"
 * (squashfs snaps, iso9660, erofs) and would trip a disk threshold for nothing.
 * overlay stays: it is what a container writes to.
 */
static const char *const procfs_pseudo_types[] = {
    "proc", "sysfs", "tmpfs", "devtmpfs", "squashfs", "nsfs", "autofs", "mqueue",
    "debugfs", "tracefs", "securityfs", "pstore", "bpf", "configfs", "fusectl",
    "hugetlbfs", "devpts", "binfmt_misc", "efivarfs", "ramfs", "rpc_pipefs", "selinuxfs",
    "iso9660", "udf", "erofs", "nfsd", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal",
    "fuse.snapfuse", "sockfs", "pipefs",
};

int procfs_fs_is_pseudo(const char *fstype)
{
    if (!fstype || strncmp(fstype, "cgroup", 6) == 0)
        return 1;
    for (size_t i = 0; i < sizeof(procfs_pseudo_types) / sizeof(procfs_pseudo_types[0]); i++) {
        if (strcmp(fstype, procfs_pseudo_types[i]) == 0)
            return 1;
    }
    return 0;
}
