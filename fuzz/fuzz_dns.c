/*
 * DNS answer matching: check_dns_parse_reply on the reply, then the check's
 * own verdict (dns_check_judge: rcode, expected answers under match
 * none/exact/include) and facts. Those are static in checks/dns.c, so the
 * file is compiled into this harness; the archive's copy of dns.o is then
 * never pulled in (every symbol it defines is defined here first).
 *
 * Input: byte 0 picks the record type, byte 1 the match mode, byte 2 the
 * expected rcode; then the expected answers, one a line, up to a NUL byte;
 * then the DNS message.
 */
#include "../checks/dns.c"

#include <jansson.h>

#include "fuzz.h"

#define FUZZ_DNS_EXPECT_MAX 8

static void fuzz_dns_check_reply(const struct check_dns_reply *rep)
{
    if (rep->count > CHECK_DNS_ANSWERS_MAX || rep->count + rep->omitted > rep->ancount)
        abort();
    for (size_t i = 0; i < rep->count; i++) {
        const struct check_dns_answer *a = &rep->answer[i];
        json_t *s;

        if (memchr(a->data, '\0', sizeof(a->data)) == NULL)
            abort();
        /* documented: anything not UTF-8 is escaped, so the text is valid UTF-8 */
        s = json_string(a->data);
        if (s == NULL)
            abort();
        json_decref(s);
    }
}

static void fuzz_dns_judge(const uint8_t *opt, char **expect, size_t n,
                           const struct check_dns_reply *rep)
{
    static struct dns_check dc;
    char rb[16];

    memset(&dc, 0, sizeof(dc));
    dc.qtype = dns_types[opt[0] % DNS_N(dns_types)].type;
    dc.match = (enum nines_dns_match)(opt[1] % (NINES_DNS_MATCH_INCLUDE + 1));
    dc.expect_rcode = opt[2] % (int)DNS_N(dns_rcodes);
    dc.expect = expect;
    dc.expect_count = n;
    snprintf(dc.name, sizeof(dc.name), "fuzz.example");
    nines_result_init(&dc.result);
    dns_check_judge(&dc, rep);
    dns_check_facts(&dc, rep, dns_rcode_name(rep->rcode, rb, sizeof(rb)), "127.0.0.1");
    if (dc.result.outcome != NINES_OUTCOME_OK && dc.result.outcome != NINES_OUTCOME_FAIL)
        abort();
    if ((dc.result.outcome == NINES_OUTCOME_FAIL) != (dc.result.reason[0] != '\0'))
        abort();
    if (dc.result.facts[0] != '{')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct check_dns_reply rep;
    char *expect[FUZZ_DNS_EXPECT_MAX], *list;
    const uint8_t *opt = data;
    const char *why = NULL;
    size_t n = 0;
    int qtype;

    if (size < 3)
        return 0;
    data += 3;
    size -= 3;
    list = fuzz_take(&data, &size, '\0', NULL);
    if (list == NULL)
        return 0;
    qtype = dns_types[opt[0] % DNS_N(dns_types)].type;
    for (char *save = NULL, *e = strtok_r(list, "\n", &save);
         e != NULL && n < FUZZ_DNS_EXPECT_MAX; e = strtok_r(NULL, "\n", &save)) {
        unsigned char addr[16];

        /* as dns_check_copy_expect: A and AAAA answers must be addresses */
        if ((qtype == DNS_T_A && inet_pton(AF_INET, e, addr) != 1)
            || (qtype == DNS_T_AAAA && inet_pton(AF_INET6, e, addr) != 1))
            continue;
        expect[n++] = e;
    }
    if (check_dns_parse_reply(data, size, &rep, &why) == 0) {
        fuzz_dns_check_reply(&rep);
        fuzz_dns_judge(opt, expect, n, &rep);
    } else if (why == NULL) {
        abort();
    }
    free(list);
    return 0;
}
