/*
 * Host capacity check: the /proc parsers on good and crafted bad text, then
 * the engine driven for real on a fresh libuv loop, against a fake /proc tree
 * in a temp dir (whose mounts point at real directories, so statvfs works)
 * and against the real /proc. Every engine test ends with check_env_close,
 * uv_run and uv_loop_close() == 0.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "check.h"
#include "host.h"
#include "nines/err.h"
#include "procfs.h"
#include "testutil.h"

#define TEXT_LEN 512

/* ---------------------------------------------------------------- parsers */

Test(procfs, stat_good_counts_ticks_and_cpus)
{
    struct procfs_cpu c;
    int cpus = -1;
    const char *text = "cpu  100 5 50 800 40 3 2 7 30 0\n"
                       "cpu0 50 2 25 400 20 1 1 3 15 0\n"
                       "cpu1 50 3 25 400 20 2 1 4 15 0\n"
                       "intr 570527 0 0 0\nctxt 1400110\nbtime 1700000000\n";

    cr_assert(eq(int, procfs_parse_stat(text, &c, &cpus), 0));
    cr_assert(eq(u64, c.total, 100 + 5 + 50 + 800 + 40 + 3 + 2 + 7), "guest is not counted twice");
    cr_assert(eq(u64, c.idle, 840));
    cr_assert(eq(u64, c.iowait, 40));
    cr_assert(eq(u64, c.steal, 7));
    cr_assert(eq(int, cpus, 2));
}

Test(procfs, stat_old_kernel_four_fields)
{
    struct procfs_cpu c;
    int cpus = -1;

    cr_assert(eq(int, procfs_parse_stat("cpu 10 20 30 40\ncpu0 10 20 30 40\n", &c, &cpus), 0));
    cr_assert(eq(u64, c.total, 100));
    cr_assert(eq(u64, c.idle, 40));
    cr_assert(eq(int, cpus, 1));
}

struct bad_text {
    char text[TEXT_LEN];
};

static const char *const stat_bad[] = {
    "",
    "garbage\n\x01\x02\n",
    "cpu 1 2 3\n",                                      /* too few fields */
    "cpu  23164 0\n",                                   /* truncated line */
    "cpu 1 2 x 4\n",
    "cpu 1 2 3 4a\n",
    "cpu -1 2 3 4\n",
    "cpu 99999999999999999999 1 1 1\n",                 /* does not fit 64 bits */
    "cpu 9223372036854775807 9223372036854775807 9223372036854775807 1\n",  /* sum overflows */
    "intr 1 2 3\nctxt 5\n",                             /* no cpu line */
    "cpu0 1 2 3 4\ncpu1 1 2 3 4\n",                     /* only per-cpu lines */
    "cpu\n",
};

Test(procfs, stat_bad_text_is_rejected)
{
    for (size_t i = 0; i < sizeof(stat_bad) / sizeof(stat_bad[0]); i++) {
        struct procfs_cpu c = { .total = 12345 };
        int cpus = 77;

        cr_assert(eq(int, procfs_parse_stat(stat_bad[i], &c, &cpus), NINES_EINVAL),
                  "accepted: \"%s\"", stat_bad[i]);
        cr_assert(eq(u64, c.total, 12345), "out was touched for \"%s\"", stat_bad[i]);
        cr_assert(eq(int, cpus, 77));
    }
}

Test(procfs, cpu_pct_from_two_snapshots_is_the_hand_computed_value)
{
    struct procfs_cpu a;
    struct procfs_cpu b;
    struct procfs_cpu_pct p;
    int cpus;

    /* total 1000 -> 1200 (+200); idle+iowait 850 -> 940 (+90): busy 110/200 = 55% */
    cr_assert(eq(int, procfs_parse_stat("cpu  100 0 50 800 50 0 0 0 0 0\n", &a, &cpus), 0));
    cr_assert(eq(int, procfs_parse_stat("cpu  160 0 90 880 60 5 5 0 30 0\n", &b, &cpus), 0));
    cr_assert(eq(int, procfs_cpu_pct(&a, &b, &p), 0));
    cr_assert(eq(dbl, p.busy, 55.0));
    cr_assert(eq(dbl, p.iowait, 5.0));
    cr_assert(eq(dbl, p.steal, 0.0));
}

Test(procfs, cpu_pct_refuses_no_ticks_and_counters_going_back)
{
    struct procfs_cpu a = { .total = 1000, .idle = 800 };
    struct procfs_cpu b = a;
    struct procfs_cpu_pct p;

    cr_assert(eq(int, procfs_cpu_pct(&a, &b, &p), NINES_EINVAL), "no tick passed");
    b.total = 900;
    cr_assert(eq(int, procfs_cpu_pct(&a, &b, &p), NINES_EINVAL), "total went back");
    b.total = 1100;
    b.idle = 700;
    cr_assert(eq(int, procfs_cpu_pct(&a, &b, &p), NINES_EINVAL), "idle went back");
    b.idle = 900;
    cr_assert(eq(int, procfs_cpu_pct(&a, &b, &p), 0));
    cr_assert(eq(dbl, p.busy, 0.0), "all new ticks were idle");
}

Test(procfs, meminfo_good_in_bytes)
{
    struct procfs_mem m;
    const char *text = "MemTotal:        1000 kB\nMemFree:          100 kB\n"
                       "MemAvailable:     250 kB\nBuffers:           10 kB\n"
                       "Cached:            20 kB\nSwapCached:         0 kB\n"
                       "SwapTotal:        400 kB\nSwapFree:         100 kB\n"
                       "HugePages_Total:       0\n";

    cr_assert(eq(int, procfs_parse_meminfo(text, &m), 0));
    cr_assert(eq(u64, m.total, 1024000));
    cr_assert(eq(u64, m.available, 256000));
    cr_assert(eq(u64, m.swap_total, 409600));
    cr_assert(eq(u64, m.swap_free, 102400));
    cr_assert(eq(int, m.have_swap, 1));
    cr_assert(eq(int, m.available_estimated, 0));
}

Test(procfs, meminfo_without_memavailable_is_estimated_and_swap_may_be_missing)
{
    struct procfs_mem m;
    const char *text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 20 kB\n";

    cr_assert(eq(int, procfs_parse_meminfo(text, &m), 0));
    cr_assert(eq(u64, m.available, 130 * 1024));
    cr_assert(eq(int, m.available_estimated, 1));
    cr_assert(eq(int, m.have_swap, 0));
}

static const char *const meminfo_bad[] = {
    "",
    "nothing here\n",
    "MemFree: 100 kB\nMemAvailable: 50 kB\n",           /* no MemTotal */
    "MemTotal: 1000 kB\n",                              /* neither available nor free */
    "MemTotal: abc kB\nMemAvailable: 1 kB\n",
    "MemTotal:\nMemAvailable: 1 kB\n",                  /* truncated */
    "MemTotal: 18446744073709551615 kB\nMemAvailable: 1 kB\n",  /* * 1024 overflows */
    "MemTotal: 99999999999999999999999 kB\nMemAvailable: 1 kB\n",
    "MemTotal: 1000 MB\nMemAvailable: 1 kB\n",
    "MemTotal: 0 kB\nMemAvailable: 0 kB\n",
    "MemTotal: -5 kB\nMemAvailable: 1 kB\n",
};

Test(procfs, meminfo_bad_text_is_rejected)
{
    for (size_t i = 0; i < sizeof(meminfo_bad) / sizeof(meminfo_bad[0]); i++) {
        struct procfs_mem m;

        cr_assert(eq(int, procfs_parse_meminfo(meminfo_bad[i], &m), NINES_EINVAL),
                  "accepted: \"%s\"", meminfo_bad[i]);
    }
}

Test(procfs, meminfo_available_above_total_is_clamped)
{
    struct procfs_mem m;

    cr_assert(eq(int, procfs_parse_meminfo("MemTotal: 10 kB\nMemAvailable: 20 kB\n", &m), 0));
    cr_assert(eq(u64, m.available, m.total));
}

Test(procfs, loadavg_good)
{
    struct procfs_load l;

    cr_assert(eq(int, procfs_parse_loadavg("0.50 0.40 12.25 2/345 6789\n", &l), 0));
    cr_assert(eq(dbl, l.load[0], 0.5));
    cr_assert(eq(dbl, l.load[1], 0.4));
    cr_assert(eq(dbl, l.load[2], 12.25));
    cr_assert(eq(long, l.running, 2));
    cr_assert(eq(long, l.tasks, 345));
}

static const char *const loadavg_bad[] = {
    "",
    "0.5 0.4\n",
    "a b c 1/2 3\n",
    "0.50 0.40 0.30 2-345 1\n",
    "0.50 0.40 0.30 2/\n",
    "0.50 0.40 0.30\n",
    "1.2.3 0.40 0.30 1/2 3\n",
    "-1.0 0.40 0.30 1/2 3\n",
    "0. 0.40 0.30 1/2 3\n",
    "9999999999999999.0 0.40 0.30 1/2 3\n",
    "0.50 0.40 0.30 1/99999999999999999999 3\n",
};

Test(procfs, loadavg_bad_text_is_rejected)
{
    for (size_t i = 0; i < sizeof(loadavg_bad) / sizeof(loadavg_bad[0]); i++) {
        struct procfs_load l;

        cr_assert(eq(int, procfs_parse_loadavg(loadavg_bad[i], &l), NINES_EINVAL),
                  "accepted: \"%s\"", loadavg_bad[i]);
    }
}

Test(procfs, file_nr_good_and_bad)
{
    struct procfs_file_nr f;
    static const char *const bad[] = {
        "", "1 2\n", "5 6 100\n", "1 0 0\n", "x y z\n", "1 0 99999999999999999999\n",
        "1 0 10x\n",
    };

    cr_assert(eq(int, procfs_parse_file_nr("517\t0\t2466170\n", &f), 0));
    cr_assert(eq(u64, f.open, 517));
    cr_assert(eq(u64, f.max, 2466170));
    cr_assert(eq(int, procfs_parse_file_nr("600 100 9223372036854775807\n", &f), 0));
    cr_assert(eq(u64, f.open, 500), "allocated minus unused");
    cr_assert(eq(u64, f.max, 9223372036854775807ULL));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert(eq(int, procfs_parse_file_nr(bad[i], &f), NINES_EINVAL), "\"%s\"", bad[i]);
}

#define NET_HEADER                                                                         \
    "Inter-|   Receive                                                |  Transmit\n"      \
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "  \
    "errs drop fifo colls carrier compressed\n"

Test(procfs, net_dev_good)
{
    struct procfs_netif ifs[4];
    size_t n = 99;
    const char *text = NET_HEADER
        "    lo: 1642310915   92098    0    0    0     0          0         0 1642310915"
        "   92098    0    0    0     0       0          0\n"
        "  eth0: 25170062     723    0    0    0     0          0         0    33258     410"
        "    0    0    0     0       0          0\n"
        "wlan0:12 1 0 0 0 0 0 0 34 1 0 0 0 0 0 0\n";

    cr_assert(eq(int, procfs_parse_net_dev(text, ifs, 4, &n), 0));
    cr_assert(eq(sz, n, 3));
    cr_assert(eq(str, ifs[0].name, "lo"));
    cr_assert(eq(str, ifs[1].name, "eth0"));
    cr_assert(eq(u64, ifs[1].rx_bytes, 25170062));
    cr_assert(eq(u64, ifs[1].tx_bytes, 33258));
    cr_assert(eq(str, ifs[2].name, "wlan0"), "old format without a space after the colon");
    cr_assert(eq(u64, ifs[2].rx_bytes, 12));
    cr_assert(eq(u64, ifs[2].tx_bytes, 34));
    cr_assert(eq(int, procfs_parse_net_dev(text, ifs, 1, &n), 0), "more than max is fine");
    cr_assert(eq(sz, n, 1));
}

Test(procfs, net_dev_bad_lines_give_partial_data)
{
    struct procfs_netif ifs[8];
    size_t n = 99;
    const char *partial = NET_HEADER
        "  eth0: 100 1 0 0 0 0 0 0 200 1 0 0 0 0 0 0\n"
        "  eth1: 100 1 0 0\n"                                   /* truncated */
        "  eth2 100 1 0 0 0 0 0 0 200 1 0 0 0 0 0 0\n"          /* no colon */
        "  eth3: 100 1 0 0 0 0 0 0 2x0 1 0 0 0 0 0 0\n"         /* garbage number */
        "  eth4: 99999999999999999999 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"  /* huge */
        "averyveryveryverylonginterfacename0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
        "  eth5: 7 1 0 0 0 0 0 0 8 1 0 0 0 0 0 0\n";

    cr_assert(eq(int, procfs_parse_net_dev(partial, ifs, 8, &n), NINES_EINVAL));
    cr_assert(eq(sz, n, 2), "the good lines are kept");
    cr_assert(eq(str, ifs[0].name, "eth0"));
    cr_assert(eq(str, ifs[1].name, "eth5"));
    cr_assert(eq(u64, ifs[1].tx_bytes, 8));

    cr_assert(eq(int, procfs_parse_net_dev("", ifs, 8, &n), NINES_EINVAL));
    cr_assert(eq(sz, n, 0));
    cr_assert(eq(int, procfs_parse_net_dev("eth0: 1 2 3 4 5 6 7 8 9\n", ifs, 8, &n),
                 NINES_EINVAL), "no header");
    cr_assert(eq(sz, n, 0));
    cr_assert(eq(int, procfs_parse_net_dev("\x7f\x45\x4c\x46 binary | junk\n", ifs, 8, &n), 0));
    cr_assert(eq(sz, n, 0));
}

struct mounts_seen {
    int count;
    struct procfs_mount m[8];
};

static int mounts_keep(const struct procfs_mount *m, void *arg)
{
    struct mounts_seen *seen = arg;

    if (seen->count < 8)
        seen->m[seen->count] = *m;
    seen->count++;
    return 0;
}

Test(procfs, mounts_good_with_escapes)
{
    struct mounts_seen seen = { 0 };
    const char *text = "/dev/vda / ext4 rw,relatime 0 0\n"
                       "proc /proc proc rw 0 0\n"
                       "/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\n"
                       "server:/export /mnt/tab\\011and\\134back nfs4 rw 0 0\n";

    cr_assert(eq(int, procfs_parse_mounts(text, mounts_keep, &seen), 0));
    cr_assert(eq(int, seen.count, 4));
    cr_assert(eq(str, seen.m[0].source, "/dev/vda"));
    cr_assert(eq(str, seen.m[0].dir, "/"));
    cr_assert(eq(str, seen.m[0].fstype, "ext4"));
    cr_assert(eq(str, seen.m[2].dir, "/mnt/my disk"));
    cr_assert(eq(str, seen.m[3].dir, "/mnt/tab\tand\\back"));
    cr_assert(eq(str, seen.m[3].fstype, "nfs4"));
}

Test(procfs, mounts_bad_lines_are_skipped)
{
    struct mounts_seen seen = { 0 };
    char text[2048];
    char longdir[400];

    memset(longdir, 'a', sizeof(longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof(longdir) - 1] = '\0';
    snprintf(text, sizeof(text),
             "onlyone\n"
             "two fields\n"
             "/dev/a /x\\09x ext4 rw 0 0\n"                   /* bad escape */
             "/dev/a /y\\000 ext4 rw 0 0\n"                   /* NUL escape */
             "/dev/a relative ext4 rw 0 0\n"
             "/dev/a %s ext4 rw 0 0\n"                        /* mount point too long */
             "/dev/a /z averyveryveryveryverylongfilesystemtype rw 0 0\n"
             "\n"
             "/dev/good /good ext4 rw 0 0",                   /* no final newline */
             longdir);
    cr_assert(eq(int, procfs_parse_mounts(text, mounts_keep, &seen), NINES_EINVAL));
    cr_assert(eq(int, seen.count, 1));
    cr_assert(eq(str, seen.m[0].dir, "/good"));

    seen.count = 0;
    cr_assert(eq(int, procfs_parse_mounts("", mounts_keep, &seen), 0));
    cr_assert(eq(int, seen.count, 0));
}

Test(procfs, pseudo_filesystems)
{
    static const char *const pseudo[] = {
        "proc", "sysfs", "tmpfs", "devtmpfs", "cgroup", "cgroup2", "squashfs", "nsfs",
        "autofs", "mqueue", "debugfs", "tracefs", "securityfs", "pstore", "bpf", "configfs",
        "fusectl", "hugetlbfs", "devpts", "binfmt_misc", "efivarfs", "ramfs", "rpc_pipefs",
        "selinuxfs",
    };
    static const char *const real[] = {
        "ext4", "xfs", "btrfs", "overlay", "nfs4", "zfs", "vfat", "fuse.sshfs",
    };

    for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
        cr_assert(eq(int, procfs_fs_is_pseudo(pseudo[i]), 1), "%s", pseudo[i]);
    for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++)
        cr_assert(eq(int, procfs_fs_is_pseudo(real[i]), 0), "%s", real[i]);
}

/* ----------------------------------------------------------------- engine */

struct got {
    int calls;
    struct nines_result r;
};

struct world {
    uv_loop_t loop;
    struct check_env env;
};

static char tmp[256];
static char check_id[] = "host";

static void host_test_setup(void)
{
    cr_assert(eq(int, curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK));
}

static void host_test_teardown(void)
{
    if (tmp[0])
        test_rmtree(tmp);
    tmp[0] = '\0';
    curl_global_cleanup();
}

TestSuite(host, .init = host_test_setup, .fini = host_test_teardown, .timeout = 30);

static void keep_result(struct nines_result *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->r = *r;
}

static void world_init(struct world *w)
{
    cr_assert(eq(int, uv_loop_init(&w->loop), 0));
    cr_assert(eq(int, check_env_init(&w->env, &w->loop), 0));
}

static void world_close(struct world *w)
{
    check_env_close(&w->env);
    cr_assert(eq(int, uv_run(&w->loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, uv_loop_close(&w->loop), 0), "a handle was left open");
}

static void check_init(struct nines_check *c, int64_t timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->id = check_id;
    c->kind = NINES_KIND_HOST;
    c->interval_ms = 60000;
    c->timeout_ms = timeout_ms;
}

static void fake_path(char *buf, size_t len, const char *rel)
{
    int n = snprintf(buf, len, "%s/proc/%s", tmp, rel);

    cr_assert(n > 0 && (size_t)n < len);
}

static void fake_write(const char *rel, const char *text)
{
    char path[512];

    fake_path(path, sizeof(path), rel);
    cr_assert(eq(int, test_write_file(path, text), 0), "cannot write %s", path);
}

#define STAT_A "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n" \
               "cpu1 50 0 25 400 25 0 0 0 0 0\nintr 1 2 3\nctxt 5\n"
#define STAT_B "cpu  160 0 90 880 60 5 5 0 0 0\ncpu0 80 0 45 440 30 3 3 0 0 0\n" \
               "cpu1 80 0 45 440 30 2 2 0 0 0\nintr 1 2 3\nctxt 9\n"
#define NET_A NET_HEADER "    lo: 5000 1 0 0 0 0 0 0 5000 1 0 0 0 0 0 0\n" \
                         "  eth0: 1000000 10 0 0 0 0 0 0 2000000 10 0 0 0 0 0 0\n"
#define NET_B NET_HEADER "    lo: 9000 1 0 0 0 0 0 0 9000 1 0 0 0 0 0 0\n" \
                         "  eth0: 1500000 20 0 0 0 0 0 0 2250000 20 0 0 0 0 0 0\n"

/*
 * A fake /proc under tmp: 2 cpus, memory 75% used, swap 75%, load 3.00 on 2
 * cpus, 10% of the file handles, and mounts naming "/" (plus a tmpfs and a
 * bind mount of the same source, both of which must not show).
 */
static void fake_tree(void)
{
    char dir[512];
    char mounts[1024];

    cr_assert(eq(int, test_tmpdir(tmp, sizeof(tmp)), 0));
    fake_path(dir, sizeof(dir), "");
    cr_assert(eq(int, mkdir(dir, 0700), 0));
    fake_path(dir, sizeof(dir), "net");
    cr_assert(eq(int, mkdir(dir, 0700), 0));
    fake_path(dir, sizeof(dir), "sys");
    cr_assert(eq(int, mkdir(dir, 0700), 0));
    fake_path(dir, sizeof(dir), "sys/fs");
    cr_assert(eq(int, mkdir(dir, 0700), 0));
    fake_path(dir, sizeof(dir), "self");
    cr_assert(eq(int, mkdir(dir, 0700), 0));
    fake_write("stat", STAT_A);
    fake_write("meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n"
                          "SwapTotal: 400 kB\nSwapFree: 100 kB\n");
    fake_write("loadavg", "3.00 2.00 1.00 2/345 6789\n");
    fake_write("net/dev", NET_A);
    fake_write("sys/fs/file-nr", "1000\t0\t10000\n");
    snprintf(mounts, sizeof(mounts),
             "/dev/fakeroot / ext4 rw,relatime 0 0\n"
             "proc /proc proc rw 0 0\n"
             "tmpfs %s tmpfs rw 0 0\n"
             "/dev/fakeroot %s/proc ext4 rw 0 0\n", tmp, tmp);
    fake_write("self/mounts", mounts);
}

static void fake_root(char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/proc", tmp);

    cr_assert(n > 0 && (size_t)n < len);
}

static void world_use_fake(struct world *w)
{
    char root[300];

    fake_root(root, sizeof(root));
    cr_assert(eq(int, check_host_set_proc_root(&w->env, root), 0));
}

/* Runs one check to completion and parses its facts. */
static json_t *run_one(struct world *w, const struct nines_check *c, struct got *g)
{
    json_error_t err;
    json_t *facts;

    cr_assert(eq(int, check_host_start(&w->env, c, keep_result, g), 0));
    cr_assert(eq(int, g->calls, 0), "done must never run inside check_host_start");
    uv_run(&w->loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g->calls, 1));
    cr_assert(eq(str, g->r.check_id, "host"));
    cr_assert(lt(sz, strlen(g->r.facts), (size_t)NINES_FACTS_LEN));
    facts = json_loads(g->r.facts, 0, &err);
    cr_assert(facts != NULL, "facts do not parse: %s (%s)", err.text, g->r.facts);
    cr_assert(eq(int, json_is_object(facts), 1));
    return facts;
}

static double jnum(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    cr_assert(v != NULL && json_is_number(v), "no number \"%s\"", key);
    return json_number_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    cr_assert(v != NULL && json_is_string(v), "no string \"%s\"", key);
    return json_string_value(v);
}

/* 1 when one of facts.errors contains text. */
static int has_error(json_t *facts, const char *text)
{
    json_t *errors = json_object_get(facts, "errors");
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e) {
        if (json_is_string(e) && strstr(json_string_value(e), text))
            return 1;
    }
    return 0;
}

/* Rewrites the counters between the two readings of a first sample. */
static void swap_counters(uv_timer_t *t)
{
    fake_write("stat", STAT_B);
    fake_write("net/dev", NET_B);
    uv_close((uv_handle_t *)t, NULL);
}

static void arm(struct world *w, uv_timer_t *t, uv_timer_cb cb, uint64_t ms, void *data)
{
    cr_assert(eq(int, uv_timer_init(&w->loop, t), 0));
    t->data = data;
    cr_assert(eq(int, uv_timer_start(t, cb, ms, 0), 0));
}

static void assert_fake_sample(json_t *f)
{
    json_t *load = json_object_get(f, "load");
    json_t *fs = json_object_get(f, "fs");
    json_t *root;
    struct statvfs sv;

    cr_assert(eq(dbl, jnum(f, "cpus"), 2));
    cr_assert(eq(int, json_array_size(load), 3));
    cr_assert(eq(dbl, json_real_value(json_array_get(load, 0)), 3.0));
    cr_assert(eq(dbl, json_real_value(json_array_get(load, 2)), 1.0));
    cr_assert(eq(dbl, jnum(f, "load_per_cpu"), 1.5));
    cr_assert(eq(dbl, jnum(f, "procs"), 345));
    cr_assert(eq(dbl, jnum(f, "mem_pct"), 75.0));
    cr_assert(eq(dbl, jnum(f, "mem_total"), 1024000));
    cr_assert(eq(dbl, jnum(f, "mem_used"), 768000));
    cr_assert(eq(dbl, jnum(f, "swap_pct"), 75.0));
    cr_assert(eq(dbl, jnum(f, "open_files"), 1000));
    cr_assert(eq(dbl, jnum(f, "open_files_max"), 10000));
    cr_assert(eq(dbl, jnum(f, "open_files_pct"), 10.0));
    /* one filesystem: "/" (the tmpfs, proc and the bind mount of the same source are out) */
    cr_assert(eq(int, json_array_size(fs), 1), "%s", json_dumps(fs, 0));
    root = json_array_get(fs, 0);
    cr_assert(eq(str, (char *)jstr(root, "mount"), "/"));
    cr_assert(eq(str, (char *)jstr(root, "fstype"), "ext4"));
    cr_assert(eq(int, statvfs("/", &sv), 0));
    cr_assert(eq(dbl, jnum(root, "bytes_total"),
                 (double)((uint64_t)sv.f_blocks * (sv.f_frsize ? sv.f_frsize : sv.f_bsize))));
    cr_assert(ge(dbl, jnum(root, "pct"), 0.0));
    cr_assert(le(dbl, jnum(root, "pct"), 100.0));
    cr_assert(le(dbl, jnum(root, "bytes_used"), jnum(root, "bytes_total")));
    if (sv.f_files > 0)
        cr_assert(eq(dbl, jnum(root, "inodes_total"), (double)sv.f_files));
}

Test(host, fake_proc_gives_the_expected_numbers)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    uv_timer_t swap;
    json_t *f;
    json_t *net;
    json_t *eth0;
    double ms;

    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    /* the first sample reads at once and again 100 ms later: change the counters between */
    arm(&w, &swap, swap_counters, 50, NULL);
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.warning, ""), "%s", g.r.message);
    cr_assert(eq(str, g.r.message, ""));
    cr_assert(ge(i64, g.r.total_us, 99000), "two readings 100 ms apart (libuv counts whole ms)");
    cr_assert(lt(i64, g.r.total_us, 800000));
    cr_assert(eq(i64, g.r.dns_us, -1));
    cr_assert(eq(dbl, jnum(f, "cpu_pct"), 55.0));
    cr_assert(eq(dbl, jnum(f, "iowait_pct"), 5.0));
    cr_assert(eq(dbl, jnum(f, "steal_pct"), 0.0));
    assert_fake_sample(f);
    ms = jnum(f, "interval_ms");
    cr_assert(ge(dbl, ms, 99.0));
    cr_assert(lt(dbl, ms, 400.0));
    net = json_object_get(f, "net");
    cr_assert(eq(int, json_array_size(net), 1), "lo is skipped");
    eth0 = json_array_get(net, 0);
    cr_assert(eq(str, (char *)jstr(eth0, "if"), "eth0"));
    /* 500000 bytes received and 250000 sent over interval_ms (rounded to the ms) */
    cr_assert(lt(dbl, fabs(jnum(eth0, "rx_bps") * ms / 1000 - 500000), 500000 * 0.01));
    cr_assert(lt(dbl, fabs(jnum(eth0, "tx_bps") * ms / 1000 - 250000), 250000 * 0.01));
    cr_assert(eq(ptr, json_object_get(f, "errors"), NULL));
    json_decref(f);
    world_close(&w);
    cr_assert(eq(int, g.calls, 1), "done ran again at close");
}

Test(host, memory_threshold_gives_a_capacity_warning)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    uv_timer_t swap;
    json_t *f;

    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    c.host.memory_pct = 70;
    c.host.swap_pct = 80;           /* 75%: under */
    c.host.cpu_pct = 90;            /* 55%: under */
    arm(&w, &swap, swap_counters, 50, NULL);
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "a capacity alert is not downtime");
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(eq(str, g.r.warning, "capacity"));
    cr_assert(eq(str, g.r.message, "memory at 75.0% (limit 70%)"));
    cr_assert(eq(int, json_array_size(json_object_get(f, "over")), 1));
    cr_assert(eq(str, (char *)json_string_value(json_array_get(json_object_get(f, "over"), 0)),
                 "memory"));
    json_decref(f);
    world_close(&w);
}

Test(host, worst_threshold_is_named_and_reaching_the_limit_counts)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    uv_timer_t swap;
    json_t *f;

    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    c.host.memory_pct = 70;         /* 75 / 70 = 1.07 */
    c.host.load_per_cpu = 1.0;      /* 1.5 / 1.0 = 1.5: the worst */
    c.host.open_files_pct = 10;     /* exactly at the limit */
    c.host.cpu_pct = 50;            /* 55 / 50 = 1.1 */
    arm(&w, &swap, swap_counters, 50, NULL);
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, g.r.warning, "capacity"));
    cr_assert(eq(str, g.r.message, "load 1.50 per cpu (limit 1.00) (+3 more)"));
    cr_assert(eq(int, json_array_size(json_object_get(f, "over")), 4));
    json_decref(f);
    world_close(&w);
}

Test(host, disk_threshold_names_the_mount)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    struct statvfs sv;
    json_t *f;

    cr_assert(eq(int, statvfs("/", &sv), 0));
    cr_assert(sv.f_blocks > sv.f_bfree, "the root filesystem holds something");
    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    c.host.disk_pct = 1;
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, g.r.warning, "capacity"));
    cr_assert(eq(int, strncmp(g.r.message, "disk / at ", 10), 0), "%s", g.r.message);
    cr_assert(ne(ptr, strstr(g.r.message, "% (limit 1%)"), NULL), "%s", g.r.message);
    json_decref(f);
    world_close(&w);
}

struct second_run {
    struct world *w;
    struct nines_check *c;
    struct got *g;
};

static void start_second(uv_timer_t *t)
{
    struct second_run *sr = t->data;

    fake_write("stat", STAT_B);
    fake_write("net/dev", NET_B);
    cr_assert(eq(int, check_host_start(&sr->w->env, sr->c, keep_result, sr->g), 0));
    uv_close((uv_handle_t *)t, NULL);
}

Test(host, later_sample_uses_the_interval_since_the_previous_one)
{
    struct world w;
    struct nines_check c;
    struct got g1 = { 0 };
    struct got g2 = { 0 };
    struct second_run sr = { &w, &c, &g2 };
    uv_timer_t later;
    json_error_t err;
    json_t *f1;
    json_t *f2;

    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g1), 0));
    /* 250 ms: the first sample's last reading (~100 ms) is old enough to be a base */
    arm(&w, &later, start_second, 250, &sr);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g1.calls, 1));
    cr_assert(eq(int, g2.calls, 1));

    /* unchanged counters: the first sample could not compute a rate */
    f1 = json_loads(g1.r.facts, 0, &err);
    cr_assert(f1 != NULL);
    cr_assert(eq(str, g1.r.warning, "sample_partial"));
    cr_assert(eq(ptr, json_object_get(f1, "cpu_pct"), NULL));
    cr_assert(has_error(f1, "no cpu ticks"), "%s", g1.r.facts);
    /* the second one took one reading and used the first one's as its base */
    f2 = json_loads(g2.r.facts, 0, &err);
    cr_assert(f2 != NULL);
    cr_assert(eq(int, g2.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, g2.r.warning, ""), "%s", g2.r.message);
    cr_assert(lt(i64, g2.r.total_us, 90000), "no second reading 100 ms later");
    cr_assert(eq(dbl, jnum(f2, "cpu_pct"), 55.0));
    cr_assert(ge(dbl, jnum(f2, "interval_ms"), 100.0));
    cr_assert(le(dbl, jnum(f2, "interval_ms"), 800.0));
    json_decref(f1);
    json_decref(f2);
    world_close(&w);
}

Test(host, missing_sources_are_noted_not_fatal)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    char path[512];
    char mounts[1024];
    json_t *f;

    fake_tree();
    fake_path(path, sizeof(path), "meminfo");
    cr_assert(eq(int, unlink(path), 0));
    fake_write("loadavg", "garbage\n");
    snprintf(mounts, sizeof(mounts),
             "/dev/fakeroot / ext4 rw 0 0\n/dev/gone %s/nonexistent xfs rw 0 0\n", tmp);
    fake_write("self/mounts", mounts);
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    c.host.memory_pct = 1;                      /* no data: never crossed */
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, g.r.warning, "sample_partial"));
    cr_assert(eq(int, strncmp(g.r.message, "partial sample: ", 16), 0), "%s", g.r.message);
    cr_assert(ne(ptr, strstr(g.r.message, "meminfo: No such file or directory"), NULL),
              "%s", g.r.message);
    cr_assert(has_error(f, "loadavg: malformed"));
    cr_assert(eq(int, has_error(f, "/nonexistent"), 0),
              "a vanished mount found by scanning is no news");
    cr_assert(eq(ptr, json_object_get(f, "mem_pct"), NULL));
    cr_assert(eq(ptr, json_object_get(f, "load"), NULL));
    cr_assert(eq(int, json_array_size(json_object_get(f, "fs")), 1));
    cr_assert(eq(dbl, jnum(f, "open_files"), 1000), "the other sources still count");
    json_decref(f);
    world_close(&w);
}

Test(host, nothing_readable_is_host_sample_failed)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    json_t *f;

    cr_assert(eq(int, test_tmpdir(tmp, sizeof(tmp)), 0));
    world_init(&w);
    cr_assert(eq(int, check_host_set_proc_root(&w.env, tmp), 0));   /* an empty dir */
    check_init(&c, 500);
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "host_sample_failed"));
    cr_assert(eq(str, g.r.warning, ""));
    cr_assert(eq(int, strncmp(g.r.message, "nothing could be sampled: ", 26), 0));
    cr_assert(has_error(f, "stat: No such file or directory"));
    json_decref(f);
    cr_assert(eq(int, check_host_set_proc_root(&w.env, NULL), 0), "back to /proc");
    world_close(&w);
}

Test(host, mounts_option_picks_mount_points_even_pseudo_ones)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    char want[300];
    json_t *f;
    json_t *fs;
    char *mounts[3];
    char gone[300];
    char list[1024];

    fake_tree();
    snprintf(want, sizeof(want), "%s/", tmp);       /* trailing slash is ignored */
    snprintf(gone, sizeof(gone), "%s/gone", tmp);
    snprintf(list, sizeof(list), "/dev/fakeroot / ext4 rw 0 0\ntmpfs %s tmpfs rw 0 0\n"
             "/dev/gone %s xfs rw 0 0\n", tmp, gone);
    fake_write("self/mounts", list);
    mounts[0] = want;
    mounts[1] = (char[]){ "/nope" };
    mounts[2] = gone;
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    c.host.mounts = mounts;
    c.host.mounts_count = 3;
    f = run_one(&w, &c, &g);

    fs = json_object_get(f, "fs");
    cr_assert(eq(int, json_array_size(fs), 1), "%s", g.r.facts);
    cr_assert(eq(str, (char *)jstr(json_array_get(fs, 0), "mount"), tmp));
    cr_assert(eq(str, (char *)jstr(json_array_get(fs, 0), "fstype"), "tmpfs"));
    cr_assert(eq(str, g.r.warning, "sample_partial"));
    cr_assert(ne(ptr, strstr(g.r.message, "mount /nope: not mounted"), NULL), "%s",
              g.r.message);
    cr_assert(has_error(f, "/gone: No such file or directory"), "%s", g.r.facts);
    json_decref(f);
    world_close(&w);
}

Test(host, facts_fit_with_200_mounts_and_50_interfaces)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    size_t cap = 64 * 1024;
    char *mounts = malloc(cap);
    char *net = malloc(cap);
    size_t used = 0;
    char dir[512];
    json_t *f;
    json_t *fs;
    json_t *nets;

    cr_assert(mounts && net);
    fake_tree();
    for (int i = 0; i < 200; i++) {
        snprintf(dir, sizeof(dir), "%s/mount-with-a-longish-name-%03d", tmp, i);
        cr_assert(eq(int, mkdir(dir, 0700), 0));
        used += (size_t)snprintf(mounts + used, cap - used, "/dev/fake%d %s ext4 rw 0 0\n", i,
                                 dir);
        cr_assert(lt(sz, used, cap));
    }
    fake_write("self/mounts", mounts);
    used = (size_t)snprintf(net, cap, "%s", NET_HEADER);
    for (int i = 0; i < 50; i++)
        used += (size_t)snprintf(net + used, cap - used,
                                 "veth%02d: %d 1 0 0 0 0 0 0 %d 1 0 0 0 0 0 0\n", i, i, i);
    fake_write("net/dev", net);
    free(mounts);
    free(net);
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 2000);
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK));
    fs = json_object_get(f, "fs");
    nets = json_object_get(f, "net");
    cr_assert(gt(sz, json_array_size(fs), 1));
    cr_assert(eq(dbl, json_array_size(fs) + jnum(f, "fs_dropped"), 200), "%s", g.r.facts);
    cr_assert(eq(dbl, json_array_size(nets) + jnum(f, "net_dropped"), 50), "%s", g.r.facts);
    cr_assert(ge(sz, json_array_size(nets), 2), "the two busiest stay");
    cr_assert(eq(dbl, jnum(f, "mem_pct"), 75.0), "the scalars are never dropped");
    json_decref(f);
    world_close(&w);
}

Test(host, real_proc_gives_sane_values)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    json_t *f;
    json_t *fs;
    json_t *e;
    size_t i;

    world_init(&w);
    check_init(&c, 2000);
    f = run_one(&w, &c, &g);

    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_OK), "%s: %s", g.r.reason, g.r.message);
    cr_assert(eq(str, g.r.reason, ""));
    cr_assert(ne(str, g.r.warning, "capacity"), "no threshold was set");
    cr_assert(ge(dbl, jnum(f, "cpus"), 1));
    cr_assert(ge(dbl, jnum(f, "cpu_pct"), 0));
    cr_assert(le(dbl, jnum(f, "cpu_pct"), 100));
    cr_assert(gt(dbl, jnum(f, "mem_pct"), 0));
    cr_assert(le(dbl, jnum(f, "mem_pct"), 100));
    cr_assert(gt(dbl, jnum(f, "mem_total"), 0));
    cr_assert(ge(dbl, jnum(f, "procs"), 1));
    cr_assert(le(dbl, jnum(f, "open_files"), jnum(f, "open_files_max")));
    cr_assert(eq(int, json_array_size(json_object_get(f, "load")), 3));
    fs = json_object_get(f, "fs");
    cr_assert(ge(sz, json_array_size(fs), 1), "at least one real filesystem: %s", g.r.facts);
    json_array_foreach(fs, i, e) {
        cr_assert(ge(dbl, jnum(e, "pct"), 0));
        cr_assert(le(dbl, jnum(e, "pct"), 100));
        cr_assert(gt(dbl, jnum(e, "bytes_total"), 0));
        cr_assert(eq(int, procfs_fs_is_pseudo(jstr(e, "fstype")), 0));
    }
    cr_assert(eq(int, json_is_array(json_object_get(f, "net")), 1));
    json_decref(f);
    world_close(&w);
}

Test(host, bad_options_are_refused_without_a_callback)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    char *rel[1] = { (char[]){ "data" } };

    world_init(&w);
    check_init(&c, 0);
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, 500);
    c.kind = NINES_KIND_TCP;
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, 500);
    c.host.disk_pct = -1;
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, 500);
    c.host.load_per_cpu = NAN;
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    check_init(&c, 500);
    c.host.mounts = rel;
    c.host.mounts_count = 1;
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), NINES_EINVAL));
    uv_run(&w.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, g.calls, 0));
    world_close(&w);
    cr_assert(eq(int, g.calls, 0));
}

Test(host, close_right_after_start_cancels_from_the_loop)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };

    world_init(&w);
    check_init(&c, 800);
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), 0));
    check_env_close(&w.env);
    cr_assert(eq(int, g.calls, 0), "done runs from the loop, not inside check_env_close");
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), NINES_ESTATE));
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
}

static void close_env(uv_timer_t *t)
{
    struct world *w = t->data;

    check_env_close(&w->env);
    uv_close((uv_handle_t *)t, NULL);
}

Test(host, close_between_the_two_readings_cancels_once)
{
    struct world w;
    struct nines_check c;
    struct got g = { 0 };
    uv_timer_t t;

    world_init(&w);
    check_init(&c, 800);
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &g), 0));
    arm(&w, &t, close_env, 30, &w);             /* the second reading is due at 100 ms */
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, g.calls, 1));
    cr_assert(eq(int, g.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, g.r.reason, "cancelled"));
    cr_assert(lt(i64, g.r.total_us, 100000));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
}

struct one_shot {
    struct world *w;
    struct got g;
};

/* The one-shot CLI's way: close everything from the result callback. */
static void one_shot_done(struct nines_result *r, void *arg)
{
    struct one_shot *os = arg;

    keep_result(r, &os->g);
    check_env_close(&os->w->env);
}

Test(host, close_from_the_done_callback)
{
    struct world w;
    struct nines_check c;
    struct one_shot os = { &w, { 0 } };

    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    check_init(&c, 800);
    cr_assert(eq(int, check_host_start(&w.env, &c, one_shot_done, &os), 0));
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, os.g.calls, 1));
    cr_assert(eq(int, os.g.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
}

/*
 * Occupies every threadpool thread, so statvfs calls wait as they would on a
 * hung NFS mount, until release() writes to the pipe.
 */
#define POOL_THREADS 4

struct blockers {
    int pipe_fd[2];
    uv_work_t work[POOL_THREADS];
    int released;
};

static void blocker_wait(uv_work_t *w)
{
    struct blockers *b = w->data;
    char ch;

    while (read(b->pipe_fd[0], &ch, 1) < 0)
        ;
}

static void blocker_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

static void blockers_start(struct world *w, struct blockers *b)
{
    cr_assert(eq(int, setenv("UV_THREADPOOL_SIZE", "4", 1), 0));   /* before first use */
    cr_assert(eq(int, pipe(b->pipe_fd), 0));
    for (int i = 0; i < POOL_THREADS; i++) {
        b->work[i].data = b;
        cr_assert(eq(int, uv_queue_work(&w->loop, &b->work[i], blocker_wait, blocker_done), 0));
    }
}

static void blockers_release(struct blockers *b)
{
    char ones[POOL_THREADS] = { 0 };

    if (b->released)
        return;
    b->released = 1;
    cr_assert(eq(sz, (size_t)write(b->pipe_fd[1], ones, sizeof(ones)), sizeof(ones)));
}

struct hung {
    struct world *w;
    struct nines_check *c;
    struct blockers *b;
    struct got g1;
    struct got g2;
    uint64_t started_ms;
    uint64_t first_ms;
};

static void hung_second_done(struct nines_result *r, void *arg)
{
    struct hung *h = arg;

    keep_result(r, &h->g2);
    blockers_release(h->b);             /* now the first sample's statvfs can run */
}

static void hung_first_done(struct nines_result *r, void *arg)
{
    struct hung *h = arg;

    keep_result(r, &h->g1);
    h->first_ms = test_now_ms();
    cr_assert(eq(int, check_host_start(&h->w->env, h->c, hung_second_done, h), 0));
}

Test(host, hung_statvfs_ends_at_the_deadline_and_is_not_asked_again)
{
    struct world w;
    struct nines_check c;
    struct blockers b = { 0 };
    struct hung h = { &w, &c, &b, { 0 }, { 0 }, 0, 0 };
    char *only_root[1] = { (char[]){ "/" } };

    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    blockers_start(&w, &b);
    check_init(&c, 300);
    c.host.mounts = only_root;
    c.host.mounts_count = 1;
    h.started_ms = test_now_ms();
    cr_assert(eq(int, check_host_start(&w.env, &c, hung_first_done, &h), 0));
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));

    cr_assert(eq(int, h.g1.calls, 1));
    cr_assert(eq(int, h.g1.r.outcome, NINES_OUTCOME_OK));
    cr_assert(eq(str, h.g1.r.warning, "sample_partial"));
    cr_assert(ne(ptr, strstr(h.g1.r.message, "fs /: statvfs timed out"), NULL), "%s",
              h.g1.r.message);
    cr_assert(ge(i64, h.g1.r.total_us, 299000), "not before its deadline");
    cr_assert(lt(u64, h.first_ms - h.started_ms, 300 + 250), "ends at its deadline");
    cr_assert(eq(int, h.g2.calls, 1));
    cr_assert(eq(str, h.g2.r.warning, "sample_partial"));
    cr_assert(ne(ptr, strstr(h.g2.r.message, "fs /: statvfs still hanging"), NULL), "%s",
              h.g2.r.message);
    cr_assert(lt(i64, h.g2.r.total_us, 250000), "the second sample did not wait for it");
    world_close(&w);
    close(b.pipe_fd[0]);
    close(b.pipe_fd[1]);
}

static void close_env_and_release(uv_timer_t *t)
{
    struct hung *h = t->data;

    check_env_close(&h->w->env);
    blockers_release(h->b);
    uv_close((uv_handle_t *)t, NULL);
}

Test(host, close_withdraws_queued_statvfs)
{
    struct world w;
    struct nines_check c;
    struct blockers b = { 0 };
    struct hung h = { &w, &c, &b, { 0 }, { 0 }, 0, 0 };
    uv_timer_t t;

    fake_tree();
    world_init(&w);
    world_use_fake(&w);
    blockers_start(&w, &b);
    check_init(&c, 800);
    cr_assert(eq(int, check_host_start(&w.env, &c, keep_result, &h.g1), 0));
    arm(&w, &t, close_env_and_release, 150, &h);    /* statvfs queued, counters done */
    cr_assert(eq(int, uv_run(&w.loop, UV_RUN_DEFAULT), 0));
    cr_assert(eq(int, h.g1.calls, 1));
    cr_assert(eq(int, h.g1.r.outcome, NINES_OUTCOME_ERROR));
    cr_assert(eq(str, h.g1.r.reason, "cancelled"));
    cr_assert(eq(int, uv_loop_close(&w.loop), 0));
    close(b.pipe_fd[0]);
    close(b.pipe_fd[1]);
}
