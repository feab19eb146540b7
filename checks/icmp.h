/*
 * ICMP echo checks over unprivileged ping sockets (SOCK_DGRAM + IPPROTO_ICMP
 * or IPPROTO_ICMPV6): no raw sockets, no capabilities. The kernel allows them
 * to the groups in net.ipv4.ping_group_range (for IPv6 too).
 */
#ifndef NINES_CHECKS_ICMP_H
#define NINES_CHECKS_ICMP_H

#include "check.h"

#define CHECK_ICMP_COUNT_MAX 100 /* echo requests per check */

/*
 * Starts an ICMP check as check_start does (c->kind must be ICMP): count
 * echo requests spacing_ms apart, replies matched by sequence, until all are
 * answered or the deadline. Returns NINES_EINVAL for a bad option (no host,
 * count outside 1-100, spacing_ms outside 0-10000, max_loss_pct outside
 * 0-100, timeout_ms <= 0, ip_version not 0/4/6 or contradicting a literal
 * address), NINES_ESTATE once env is closed, NINES_ENOMEM.
 */
int check_icmp_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg);

#endif
