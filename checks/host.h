/*
 * Host capacity check: samples the probe's own host (CPU, load, memory, swap,
 * filesystems, network rates, open files, tasks) from /proc and statvfs, and
 * reports the sample as facts. Crossing a threshold of c->host is a warning
 * ("capacity") on an OK result, not a failure: a full disk is a capacity
 * alert, not downtime.
 *
 * The driver (env->driver[CHECK_DRIVER_HOST]) keeps the latest /proc/stat and
 * /proc/net/dev counters, so a sample taken 50 ms to 5 min after the previous
 * one uses the interval between them; otherwise a sample takes two readings
 * min(100 ms, timeout / 2) apart. statvfs runs on the libuv threadpool, so a
 * hung NFS mount never blocks the loop; a mount whose statvfs is still stuck
 * from an earlier sample is not asked again until that call returns.
 */
#ifndef NINES_CHECKS_HOST_H
#define NINES_CHECKS_HOST_H

#include "check.h"

/*
 * Starts a host check as check_start does (c->kind must be HOST). Returns
 * NINES_EINVAL for a bad option (timeout_ms <= 0, an empty mount point),
 * NINES_ESTATE after check_env_close, NINES_ENOMEM.
 */
int check_host_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg);

/*
 * Reads /proc files under root instead of "/proc" (NULL restores "/proc"),
 * for tests: root/stat, root/meminfo, root/loadavg, root/net/dev,
 * root/sys/fs/file-nr and root/self/mounts. Creates the driver if needed.
 * Returns 0, NINES_EINVAL (root too long), NINES_ESTATE, NINES_ENOMEM.
 */
int check_host_set_proc_root(struct check_env *env, const char *root);

#endif
