/*
 * Parsers for the Linux /proc text the host check samples. Every function is
 * pure: it reads the NUL-terminated text it is given and never touches a file,
 * so tests can feed crafted text. A parser returns 0 when the text was whole,
 * NINES_EINVAL when it was unusable; list parsers keep the good lines of a
 * partly bad text (partial data) and still return NINES_EINVAL.
 */
#ifndef NINES_CHECKS_PROCFS_H
#define NINES_CHECKS_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* The "cpu " line of /proc/stat, in ticks (USER_HZ). guest time is in user. */
struct procfs_cpu {
    uint64_t total;     /* user nice system idle iowait irq softirq steal */
    uint64_t idle;      /* idle + iowait */
    uint64_t iowait;
    uint64_t steal;
};

/*
 * /proc/stat: the aggregate "cpu " line (at least user nice system idle) and
 * *cpus, the number of "cpuN" lines (0 when none). NINES_EINVAL when the
 * "cpu " line is missing or malformed.
 */
int procfs_parse_stat(const char *text, struct procfs_cpu *out, int *cpus);

/* Busy, iowait and steal time between two readings, in percent of the ticks. */
struct procfs_cpu_pct {
    double busy;
    double iowait;
    double steal;
};

/* NINES_EINVAL when no tick passed or a counter went backwards. */
int procfs_cpu_pct(const struct procfs_cpu *prev, const struct procfs_cpu *cur,
                   struct procfs_cpu_pct *out);

/* /proc/meminfo, in bytes. */
struct procfs_mem {
    uint64_t total;
    uint64_t available;     /* MemAvailable, or MemFree + Buffers + Cached before 3.14 */
    uint64_t swap_total;
    uint64_t swap_free;
    int available_estimated;    /* 1 when MemAvailable was missing */
    int have_swap;              /* SwapTotal and SwapFree were both found */
};

/* NINES_EINVAL without MemTotal (> 0) and without MemAvailable or MemFree. */
int procfs_parse_meminfo(const char *text, struct procfs_mem *out);

/* /proc/loadavg: "0.50 0.40 0.30 2/345 6789". */
struct procfs_load {
    double load[3];
    long running;           /* runnable tasks */
    long tasks;             /* kernel scheduling entities (threads) */
};

int procfs_parse_loadavg(const char *text, struct procfs_load *out);

/* /proc/sys/fs/file-nr: "allocated unused max". */
struct procfs_file_nr {
    uint64_t open;          /* allocated - unused */
    uint64_t max;
};

int procfs_parse_file_nr(const char *text, struct procfs_file_nr *out);

#define PROCFS_IFNAME_LEN 32

struct procfs_netif {
    char name[PROCFS_IFNAME_LEN];
    uint64_t rx_bytes;
    uint64_t tx_bytes;
};

/*
 * /proc/net/dev: up to max interfaces into ifs, *count set to how many.
 * Interfaces past max are ignored. NINES_EINVAL when the header is missing or
 * a line is malformed (the good lines are still in ifs).
 */
int procfs_parse_net_dev(const char *text, struct procfs_netif *ifs, size_t max,
                         size_t *count);

#define PROCFS_SOURCE_LEN 256
#define PROCFS_PATH_LEN 256
#define PROCFS_FSTYPE_LEN 32

/* One line of /proc/self/mounts, octal escapes (\040) decoded. */
struct procfs_mount {
    char source[PROCFS_SOURCE_LEN];    /* truncated when longer */
    char dir[PROCFS_PATH_LEN];
    char fstype[PROCFS_FSTYPE_LEN];
};

/* Called for each good line; a non-zero return stops the parse (and is returned). */
typedef int procfs_mount_cb(const struct procfs_mount *m, void *arg);

/*
 * /proc/self/mounts. Lines with fewer than three fields, a bad escape, or a
 * mount point or type too long for the struct are skipped, and then the
 * result is NINES_EINVAL once every line has been seen.
 */
int procfs_parse_mounts(const char *text, procfs_mount_cb *cb, void *arg);

/* 1 for a filesystem type that holds no user data (proc, tmpfs, cgroup2, ...). */
int procfs_fs_is_pseudo(const char *fstype);

#endif
