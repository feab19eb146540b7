/*
 * TCP checks: resolve, connect, optionally a TLS handshake, send a payload
 * and match what the server says against a regex, all within one deadline.
 */
#ifndef NINES_CHECKS_TCP_H
#define NINES_CHECKS_TCP_H

#include "check.h"

#define CHECK_TCP_BANNER_MAX  4096 /* bytes read, at most, looking for the banner */
#define CHECK_TCP_BANNER_FACT 256  /* bytes of it kept in the facts */

/*
 * Starts a TCP check as check_start does (c->kind must be TCP). The first
 * TCP check on env creates the env's TCP driver (TLS contexts by CA file).
 * Returns NINES_EINVAL for a bad option (no host, port outside 1-65535,
 * timeout_ms <= 0, ip_version not 0/4/6, expect_banner not a valid POSIX
 * extended regex), NINES_ESTATE once env is closed, NINES_ENOMEM.
 */
int check_tcp_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                    void *arg);

#endif
