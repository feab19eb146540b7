/*
 * DNS checks on c-ares 1.18 (ares_uv): one query per run, a hard deadline of
 * the check's own, every reply parsed by our bounded RFC 1035 parser, and a
 * stable reason code for every way a check can fail.
 *
 * The caller runs ares_library_init(ARES_LIB_INIT_ALL) once (see ares_uv.h).
 */
#ifndef NINES_CHECKS_DNS_H
#define NINES_CHECKS_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"

#define CHECK_DNS_ANSWERS_MAX 64       /* answer records kept from one reply */
#define CHECK_DNS_DATA_LEN 1024        /* one answer as text, with its NUL */

/* One answer record as text: see check_dns_parse_reply. */
struct check_dns_answer {
    int type;
    uint32_t ttl;
    int truncated;                     /* data did not fit (ends in "...") */
    char data[CHECK_DNS_DATA_LEN];
};

/* A parsed reply: header, and the answer section as text. */
struct check_dns_reply {
    int rcode;
    int truncated;                     /* TC bit */
    unsigned ancount;                  /* records in the answer section */
    size_t count;                      /* kept in answer[] */
    size_t omitted;                    /* valid records past CHECK_DNS_ANSWERS_MAX */
    struct check_dns_answer answer[CHECK_DNS_ANSWERS_MAX];
};

/*
 * Starts a DNS check as check_start does (c->kind must be DNS). Returns
 * NINES_EINVAL for a bad option (no or bad name, timeout_ms <= 0, unknown
 * record_type or expect_rcode, bad server, bad answer_regex, an expected A or
 * AAAA answer that is no address), NINES_ESTATE after check_env_close,
 * NINES_ENOMEM.
 */
int check_dns_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                     void *arg);

/*
 * Parses a whole DNS message (a reply) with bounds checks everywhere:
 * compression pointers must point backwards, names stay within 255 bytes,
 * every count and rdlength must fit in the message, and each known rdata
 * must be exactly as long as it says. Answers as text: A/AAAA the address;
 * CNAME/NS/PTR the name (no trailing dot); MX "pref name"; TXT the strings
 * concatenated; SRV "prio weight port target"; SOA "mname rname serial
 * refresh retry expire minimum"; CAA "flags tag value"; other types RFC 3597
 * "\# len hex". Control characters and bytes that are not UTF-8 are written
 * \DDD; in names "." and "\" in a label are escaped too.
 * Returns 0, or NINES_EPROTO with *why set to a static description.
 */
int check_dns_parse_reply(const unsigned char *msg, size_t len, struct check_dns_reply *out,
                          const char **why);

/* "A" -> 1 etc. (case-insensitive, the ten supported types), or NINES_EINVAL. */
int check_dns_type_parse(const char *name);
/* "A", "CAA", ...; "TYPE<n>" in buf for the others. */
const char *check_dns_type_name(int type, char *buf, size_t len);

/*
 * The reverse-lookup name of an IPv4 or IPv6 address ("192.0.2.1" ->
 * "1.2.0.192.in-addr.arpa"). Returns 0, or NINES_EINVAL (not an address,
 * buf too small).
 */
int check_dns_reverse_name(const char *ip, char *buf, size_t len);

#endif
