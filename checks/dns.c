/*
 * DNS checks: one c-ares channel per check run at a time, driven by ares_uv,
 * with a deadline timer of our own, and every reply parsed here, not by
 * c-ares. A channel whose query ended (answered, or given up by c-ares) is
 * kept idle in the driver and reused by a later check with the same servers,
 * transport and timeout: c-ares 1.18 has closed its sockets by then, so the
 * next run still sends its own query from a fresh socket. A channel is never
 * shared by two checks at once, and one whose query is still out at the
 * deadline is destroyed.
 *
 * Why a channel per check rather than one shared per server set:
 * - c-ares 1.18 has no per-query cancel. On a shared channel an abandoned
 *   query (deadline passed) keeps retransmitting to the dead server for up to
 *   T*(2^N-1) and holds memory until then; destroying a channel of our own
 *   stops it at once, so a check costs nothing after its deadline.
 * - What shapes the measurement is per check and channel-wide in c-ares: the
 *   try timeout (derived from timeout_ms), TCP-only (ARES_FLAG_USEVC), the
 *   servers, and whether SERVFAIL fails over (NOCHECKRESP).
 * - One check's hostile server (ICMP errors, garbage, truncation) cannot
 *   disturb another check's socket.
 * The cost is what the idle list avoids: ares_init_options allocates and
 * clears two tables (2,048 and 1,024 list heads) and ares_destroy walks them,
 * about 85,000 instructions a run, 45 % of a whole DNS check. The system
 * resolver's channels are not reused: they reread /etc/resolv.conf on every
 * run, which picks up changes to it (1.18 has no ares_reinit).
 *
 * The env's DNS driver lists the checks in flight, so check_env_close can
 * complete them with "cancelled", and keeps the idle channels (at most
 * DNS_IDLE_MAX), closed with it. A check calls done from the close callback
 * of its last handle (deadline timer, and the channel unless it went idle),
 * never inside check_dns_start and never inside c-ares.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>


#include "ares_uv.h"
#include "dns.h"
#include "fmt.h"
#include "jsonw.h"
#include "nines/clock.h"
#include "nines/err.h"
#include "regexguard.h"

#define DNS_HEADER_LEN 12
#define DNS_NAME_WIRE_MAX 255
#define DNS_POINTER_HOPS_MAX 64
#define DNS_QNAME_MAX 256               /* the name asked: 253 bytes, a dot, NUL */
#define DNS_SERVERS_MAX 16
#define DNS_SERVER_TEXT 64              /* "[v6]:port" with NUL */
#define DNS_TRIES 2                     /* per server: timeout T, then 2T */
#define DNS_REASK_MAX 8                 /* queries asked again after an early ETIMEOUT */
#define DNS_REASK_MIN_MS 5              /* not worth asking again with less time left */
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

enum {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
    DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_CAA = 257,
};

static const struct {
    const char *name;
    int type;
} dns_types[] = {
    { "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "CNAME", DNS_T_CNAME }, { "MX", DNS_T_MX },
    { "TXT", DNS_T_TXT }, { "NS", DNS_T_NS }, { "SOA", DNS_T_SOA }, { "SRV", DNS_T_SRV },
    { "PTR", DNS_T_PTR }, { "CAA", DNS_T_CAA },
};

static const char *const dns_rcodes[] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

#define DNS_N(a) (sizeof(a) / sizeof((a)[0]))

#define DNS_IDLE_MAX 32                 /* idle channels kept for reuse */
/* A channel's configuration: timeout, TCP, server count, then per server
 * family, address and port. */
#define DNS_KEY_MAX (10 + DNS_SERVERS_MAX * 19)

/* A channel whose check is over and whose query ended, kept for the next
 * check with the same configuration. */
struct dns_idle {
    struct ares_uv *au;
    size_t keylen;
    unsigned char key[DNS_KEY_MAX];
};

/*
 * The env's driver: the checks in flight, to cancel them at close; the idle
 * channels; and the parsed reply being judged (64 answers of 1 KiB: kept
 * here rather than allocated and zeroed for every reply).
 */
struct dns_driver {
    struct dns_check *checks;
    struct check_dns_reply *reply;
    size_t nidle;
    struct dns_idle idle[DNS_IDLE_MAX];
};

struct dns_check {
    struct dns_driver *drv;         /* NULL once finished */
    struct dns_check *prev;
    struct dns_check *next;
    struct ares_uv *au;
    uv_timer_t deadline;
    int open;                       /* deadline timer + channel still to close */
    int finished;                   /* outcome decided */
    int reasked;                    /* times the query was asked again */
    int qtype;
    int expect_rcode;
    enum nines_dns_match match;
    char **expect;                  /* expected answers (owned copies) */
    size_t expect_count;
    int has_regex;
    regex_t regex;
    int64_t timeout_ms;
    uint64_t started_ns;
    char name[DNS_QNAME_MAX];       /* what is asked (reversed for PTR by address) */
    char servers_text[DNS_SERVER_TEXT];     /* for messages: first server or "system" */
    size_t nservers;                /* configured; 0 = the system resolver */
    size_t keylen;                  /* 0: the channel is never reused */
    unsigned char key[DNS_KEY_MAX]; /* the channel's configuration */
    struct nines_result result;
    check_done_cb *done;
    void *done_arg;
};

/* ---- text with a hard cap: a unit (escape, UTF-8 sequence) fits or stops all ---- */

struct dns_text {
    char *buf;
    size_t cap;                     /* 0: count nothing, keep nothing */
    size_t len;
    int overflow;
};

static void dns_text_init(struct dns_text *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    t->overflow = 0;
    if (cap > 0)
        buf[0] = '\0';
}

static void dns_text_put(struct dns_text *t, const char *s, size_t n)
{
    /* 4 bytes stay free for "..." and the NUL. */
    if (t->overflow || t->cap < 4 || n > t->cap - 4 - t->len) {
        t->overflow = 1;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void dns_text_str(struct dns_text *t, const char *s)
{
    dns_text_put(t, s, strlen(s));
}

static void dns_text_fmt_u(struct dns_text *t, unsigned long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lu", v);

    dns_text_put(t, num, (size_t)n);
}

static void dns_text_escape(struct dns_text *t, unsigned char b)
{
    char esc[8];
    int n = snprintf(esc, sizeof(esc), "\\%03u", (unsigned)b);

    dns_text_put(t, esc, (size_t)n);
}

/* Marks a cut text with "...": returns 1 if it was cut. */
static int dns_text_end(struct dns_text *t)
{
    if (!t->overflow || t->cap < 4)
        return t->overflow;
    memcpy(t->buf + t->len, "...", 4);
    t->len += 3;
    return 1;
}

/* Character-string bytes (TXT, CAA value): UTF-8 kept, the rest \DDD. */
static void dns_text_bytes(struct dns_text *t, const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n && !t->overflow) {
        size_t k;

        if (p[i] < 0x20 || p[i] == 0x7F) {
            dns_text_escape(t, p[i]);
            i++;
        } else if (p[i] < 0x80) {
            dns_text_put(t, (const char *)p + i, 1);
            i++;
        } else if ((k = jsonw_utf8_len(p + i, n - i)) > 0) {
            dns_text_put(t, (const char *)p + i, k);
            i += k;
        } else {
            dns_text_escape(t, p[i]);
            i++;
        }
    }
}

/* ---- the reply parser: every read is checked against the message or rdata end ---- */

static unsigned dns_u16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t dns_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dns_text_label(struct dns_text *t, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && !t->overflow; i++) {
        if (p[i] == '.' || p[i] == '\\') {
            char esc[2] = { '\\', (char)p[i] };

            dns_text_put(t, esc, 2);
        } else if (p[i] <= 0x20 || p[i] >= 0x7F) {
            dns_text_escape(t, p[i]);
        } else {
            dns_text_put(t, (const char *)p + i, 1);
        }
    }
}

/*
 * Reads the name at *off into t (dotted, no trailing dot, "." for the root).
 * Its in-place part must end by end. A compression pointer must point before
 * itself (past the header), and once one is followed the rest of the name
 * must lie below it: pointer positions strictly decrease, so every chain ends
 * (the hop cap and the 255-byte limit stop it too). On success *off is just
 * past the name's in-place part.
 */
static const char *dns_read_name(const unsigned char *msg, size_t *off, size_t end,
                                 struct dns_text *t)
{
    size_t pos = *off;
    size_t after = 0;
    size_t limit = end;             /* bytes readable at pos: end, then below a target */
    size_t wire = 1;                /* the root label */
    int hops = 0;
    int labels = 0;

    for (;;) {
        unsigned c;

        if (pos >= limit)
            return "name runs past the end";
        c = msg[pos];
        if ((c & 0xC0) == 0xC0) {
            size_t target;

            if (pos + 1 >= limit)
                return "compression pointer cut short";
            target = (size_t)(c & 0x3F) << 8 | msg[pos + 1];
            if (target < DNS_HEADER_LEN || target >= pos)
                return "compression pointer does not point backwards";
            if (++hops > DNS_POINTER_HOPS_MAX)
                return "too many compression pointers";
            if (hops == 1)
                after = pos + 2;
            /* From now on stay below this pointer: pointer positions decrease. */
            limit = pos;
            pos = target;
            continue;
        }
        if (c & 0xC0)
            return "unsupported label type";
        if (c == 0) {
            pos++;
            break;
        }
        if (c > limit - pos - 1)
            return "label runs past the end";
        wire += 1 + c;
        if (wire > DNS_NAME_WIRE_MAX)
            return "name longer than 255 bytes";
        if (labels++ > 0)
            dns_text_put(t, ".", 1);
        dns_text_label(t, msg + pos + 1, c);
        pos += 1 + c;
    }
    if (labels == 0)
        dns_text_put(t, ".", 1);
    *off = hops > 0 ? after : pos;
    return NULL;
}

/* A name that must end exactly at end (CNAME, NS, PTR, the last field of MX/SRV). */
static const char *dns_rdata_last_name(const unsigned char *msg, size_t off, size_t end,
                                       struct dns_text *t)
{
    const char *why = dns_read_name(msg, &off, end, t);

    if (why)
        return why;
    return off == end ? NULL : "rdata longer than its fields";
}

/*
 * An IPv4 address as inet_ntop writes it (dotted decimal, into at least
 * INET_ADDRSTRLEN bytes, NUL-terminated); its length. glibc's inet_ntop
 * goes through sprintf, a good part of a DNS check's instructions.
 */
static size_t dns_ipv4_text(const unsigned char *a, char *buf)
{
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        if (i > 0)
            buf[n++] = '.';
        n += fmt_u64(buf + n, a[i]);
    }
    buf[n] = '\0';
    return n;
}

static const char *dns_rdata_addr(const unsigned char *p, size_t n, int type,
                                  struct dns_text *t)
{
    char buf[INET6_ADDRSTRLEN];

    if (n != (type == DNS_T_A ? 4u : 16u))
        return type == DNS_T_A ? "A rdata is not 4 bytes" : "AAAA rdata is not 16 bytes";
    if (type == DNS_T_A)
        dns_text_put(t, buf, dns_ipv4_text(p, buf));
    else
        dns_text_str(t, inet_ntop(AF_INET6, p, buf, sizeof(buf)) ? buf : "");
    return NULL;
}

static const char *dns_rdata_soa(const unsigned char *msg, size_t off, size_t end,
                                 struct dns_text *t)
{
    const char *why = dns_read_name(msg, &off, end, t);

    if (why)
        return why;
    dns_text_put(t, " ", 1);
    why = dns_read_name(msg, &off, end, t);
    if (why)
        return why;
    if (end - off != 20)
        return "SOA rdata has the wrong length";
    for (int i = 0; i < 5; i++) {
        dns_text_put(t, " ", 1);
        dns_text_fmt_u(t, dns_u32(msg + off + 4 * (size_t)i));
    }
    return NULL;
}

static const char *dns_rdata_txt(const unsigned char *msg, size_t off, size_t end,
                                 struct dns_text *t)
{
    while (off < end) {
        size_t n = msg[off];

        if (n > end - off - 1)
            return "TXT string runs past the rdata";
        dns_text_bytes(t, msg + off + 1, n);
        off += 1 + n;
    }
    return NULL;
}

static const char *dns_rdata_caa(const unsigned char *msg, size_t off, size_t end,
                                 struct dns_text *t)
{
    size_t taglen;

    if (end - off < 2)
        return "CAA rdata too short";
    taglen = msg[off + 1];
    if (taglen < 1 || taglen > 15 || taglen > end - off - 2)
        return "CAA tag length is wrong";
    for (size_t i = 0; i < taglen; i++) {
        if (!isalnum(msg[off + 2 + i]))
            return "CAA tag is not alphanumeric";
    }
    dns_text_fmt_u(t, msg[off]);
    dns_text_put(t, " ", 1);
    dns_text_put(t, (const char *)msg + off + 2, taglen);
    dns_text_put(t, " ", 1);
    dns_text_bytes(t, msg + off + 2 + taglen, end - off - 2 - taglen);
    return NULL;
}

/* RFC 3597 form for types we do not know: "\# len hex". */
static void dns_rdata_generic(const unsigned char *p, size_t n, struct dns_text *t)
{
    static const char hex[] = "0123456789abcdef";

    dns_text_str(t, "\\# ");
    dns_text_fmt_u(t, n);
    if (n > 0)
        dns_text_put(t, " ", 1);
    for (size_t i = 0; i < n && !t->overflow; i++) {
        char h[2] = { hex[p[i] >> 4], hex[p[i] & 15] };

        dns_text_put(t, h, 2);
    }
}

/* Writes the rdata [off, end) of a record of type as text. */
static const char *dns_rdata_text(const unsigned char *msg, int type, size_t off, size_t end,
                                  struct dns_text *t)
{
    switch (type) {
    case DNS_T_A:
    case DNS_T_AAAA:
        return dns_rdata_addr(msg + off, end - off, type, t);
    case DNS_T_CNAME:
    case DNS_T_NS:
    case DNS_T_PTR:
        return dns_rdata_last_name(msg, off, end, t);
    case DNS_T_MX:
        if (end - off < 3)
            return "MX rdata too short";
        dns_text_fmt_u(t, dns_u16(msg + off));
        dns_text_put(t, " ", 1);
        return dns_rdata_last_name(msg, off + 2, end, t);
    case DNS_T_SRV:
        if (end - off < 7)
            return "SRV rdata too short";
        for (int i = 0; i < 3; i++) {
            dns_text_fmt_u(t, dns_u16(msg + off + 2 * (size_t)i));
            dns_text_put(t, " ", 1);
        }
        return dns_rdata_last_name(msg, off + 6, end, t);
    case DNS_T_SOA:
        return dns_rdata_soa(msg, off, end, t);
    case DNS_T_TXT:
        return dns_rdata_txt(msg, off, end, t);
    case DNS_T_CAA:
        return dns_rdata_caa(msg, off, end, t);
    default:
        dns_rdata_generic(msg + off, end - off, t);
        return NULL;
    }
}

/* One answer record at *off; a is where its text goes (NULL: validate only). */
static const char *dns_read_rr(const unsigned char *msg, size_t len, size_t *off,
                               struct check_dns_answer *a)
{
    struct dns_text skip;
    struct dns_text t;
    const char *why;
    size_t rd;
    size_t rdlen;
    int type;

    dns_text_init(&skip, NULL, 0);
    why = dns_read_name(msg, off, len, &skip);
    if (why)
        return why;
    if (len - *off < 10)
        return "record header cut short";
    type = (int)dns_u16(msg + *off);
    rd = *off + 10;
    rdlen = dns_u16(msg + *off + 8);
    if (rdlen > len - rd)
        return "rdlength runs past the end";
    if (a) {
        a->type = type;
        a->ttl = dns_u32(msg + *off + 4);
        dns_text_init(&t, a->data, sizeof(a->data));
    } else {
        dns_text_init(&t, NULL, 0);
    }
    why = dns_rdata_text(msg, type, rd, rd + rdlen, &t);
    if (why)
        return why;
    if (a)
        a->truncated = dns_text_end(&t);
    *off = rd + rdlen;
    return NULL;
}

int check_dns_parse_reply(const unsigned char *msg, size_t len, struct check_dns_reply *out,
                          const char **why)
{
    struct dns_text skip;
    size_t off = DNS_HEADER_LEN;
    unsigned qd;

    memset(out, 0, offsetof(struct check_dns_reply, answer));
    *why = NULL;
    if (!msg || len < DNS_HEADER_LEN) {
        *why = "shorter than a DNS header";
        return NINES_EPROTO;
    }
    if (!(msg[2] & 0x80)) {
        *why = "not a response";
        return NINES_EPROTO;
    }
    out->truncated = (msg[2] & 0x02) != 0;
    out->rcode = msg[3] & 0x0F;
    qd = dns_u16(msg + 4);
    out->ancount = dns_u16(msg + 6);
    /* A question takes 5 bytes at least, a record 11: counts must fit. */
    if ((size_t)qd * 5 + (size_t)out->ancount * 11 > len - DNS_HEADER_LEN) {
        *why = "record counts exceed the message";
        return NINES_EPROTO;
    }
    dns_text_init(&skip, NULL, 0);
    for (unsigned i = 0; i < qd && !*why; i++) {
        *why = dns_read_name(msg, &off, len, &skip);
        if (!*why && len - off < 4)
            *why = "question cut short";
        off += 4;
    }
    for (unsigned i = 0; i < out->ancount && !*why; i++) {
        struct check_dns_answer *a = NULL;

        if (out->count < CHECK_DNS_ANSWERS_MAX)
            a = &out->answer[out->count];
        *why = dns_read_rr(msg, len, &off, a);
        if (!*why && a)
            out->count++;
        else if (!*why)
            out->omitted++;
    }
    return *why ? NINES_EPROTO : 0;
}

/* ---- names, types, codes ---- */

int check_dns_type_parse(const char *name)
{
    for (size_t i = 0; name && i < DNS_N(dns_types); i++) {
        if (strcasecmp(name, dns_types[i].name) == 0)
            return dns_types[i].type;
    }
    return NINES_EINVAL;
}

const char *check_dns_type_name(int type, char *buf, size_t len)
{
    for (size_t i = 0; i < DNS_N(dns_types); i++) {
        if (dns_types[i].type == type)
            return dns_types[i].name;
    }
    snprintf(buf, len, "TYPE%d", type);
    return buf;
}

static int dns_rcode_parse(const char *name)
{
    for (size_t i = 0; i < DNS_N(dns_rcodes); i++) {
        if (strcasecmp(name, dns_rcodes[i]) == 0)
            return (int)i;
    }
    return NINES_EINVAL;
}

static const char *dns_rcode_name(int rcode, char *buf, size_t len)
{
    if (rcode >= 0 && (size_t)rcode < DNS_N(dns_rcodes))
        return dns_rcodes[rcode];
    snprintf(buf, len, "RCODE%d", rcode);
    return buf;
}

int check_dns_reverse_name(const char *ip, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char a[16];
    struct dns_text t;

    dns_text_init(&t, buf, len);
    if (inet_pton(AF_INET, ip, a) == 1) {
        for (int i = 3; i >= 0; i--) {
            dns_text_fmt_u(&t, a[i]);
            dns_text_put(&t, ".", 1);
        }
        dns_text_str(&t, "in-addr.arpa");
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        for (int i = 15; i >= 0; i--) {
            char nib[4] = { hex[a[i] & 15], '.', hex[a[i] >> 4], '.' };

            dns_text_put(&t, nib, 4);
        }
        dns_text_str(&t, "ip6.arpa");
    } else {
        return NINES_EINVAL;
    }
    return t.overflow ? NINES_EINVAL : 0;
}

/* A name c-ares can ask for: printable, labels of 1-63, 253 bytes at most. */
static int dns_name_valid(const char *name)
{
    size_t n = strlen(name);
    size_t label = 0;

    if (n == 1 && name[0] == '.')
        return 1;
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];

        if (ch == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (ch <= 0x20 || ch >= 0x7F || ch == '\\' || ++label > 63) {
            return 0;
        }
    }
    return label > 0;
}

/* ---- servers: "ip", "ip:port", "[v6]", "[v6]:port", bare "v6" ---- */

static int dns_parse_port(const char *s, unsigned short *port)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return NINES_EINVAL;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > 65535)
        return NINES_EINVAL;
    *port = (unsigned short)v;
    return 0;
}

static int dns_parse_server(const char *s, struct ares_addr_port_node *n)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    const char *close;
    unsigned short port = 53;
    size_t hl;

    memset(n, 0, sizeof(*n));
    if (s[0] == '[') {
        close = strchr(s, ']');
        if (!close || (close[1] != '\0' && (close[1] != ':' ||
                                            dns_parse_port(close + 2, &port) != 0)))
            return NINES_EINVAL;
        hl = (size_t)(close - s - 1);
        s++;
    } else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
        if (dns_parse_port(colon + 1, &port) != 0)
            return NINES_EINVAL;
        hl = (size_t)(colon - s);
    } else {
        hl = strlen(s);
    }
    if (hl == 0 || hl >= sizeof(host))
        return NINES_EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, &n->addr.addr4) == 1)
        n->family = AF_INET;
    else if (inet_pton(AF_INET6, host, &n->addr.addr6) == 1)
        n->family = AF_INET6;
    else
        return NINES_EINVAL;
    n->udp_port = port;
    n->tcp_port = port;
    return 0;
}

static void dns_format_server(int family, const void *addr, unsigned port, char *buf,
                              size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    char text[INET_ADDRSTRLEN + 12];
    size_t n;

    if (family == AF_INET) {        /* every reply's peer: no printf */
        n = dns_ipv4_text(addr, text);
        text[n++] = ':';
        n += fmt_u64(text + n, port);
        if (n >= len)
            n = len - 1;            /* len >= 1: DNS_SERVER_TEXT */
        memcpy(buf, text, n);
        buf[n] = '\0';
        return;
    }
    inet_ntop(family, addr, ip, sizeof(ip));
    snprintf(buf, len, "[%s]:%u", ip, port);
}

/* The peer of the socket an answer came in on, or "" when unknown. */
static void dns_peer_text(ares_socket_t fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    buf[0] = '\0';
    if (fd == ARES_SOCKET_BAD || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;

        dns_format_server(AF_INET, &in->sin_addr, ntohs(in->sin_port), buf, len);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        dns_format_server(AF_INET6, &in6->sin6_addr, ntohs(in6->sin6_port), buf, len);
    }
}

/* ---- comparing answers ---- */

/* Next whitespace-separated token of s at *pos, case folded, trailing dot dropped. */
static size_t dns_token(const char *s, size_t *pos, char *tok, size_t cap)
{
    size_t n = 0;

    while (s[*pos] == ' ' || s[*pos] == '\t')
        (*pos)++;
    while (s[*pos] && s[*pos] != ' ' && s[*pos] != '\t') {
        if (n + 1 < cap)
            tok[n++] = (char)tolower((unsigned char)s[*pos]);
        (*pos)++;
    }
    if (n > 1 && tok[n - 1] == '.')
        n--;
    tok[n] = '\0';
    return n;
}

/* Names and numbers: token by token, case-insensitive, trailing dots ignored. */
static int dns_tokens_equal(const char *a, const char *b)
{
    char ta[CHECK_DNS_DATA_LEN];
    char tb[CHECK_DNS_DATA_LEN];
    size_t pa = 0;
    size_t pb = 0;

    for (;;) {
        size_t na = dns_token(a, &pa, ta, sizeof(ta));
        size_t nb = dns_token(b, &pb, tb, sizeof(tb));

        if (na != nb || strcmp(ta, tb) != 0)
            return 0;
        if (na == 0)
            return 1;
    }
}

static int dns_answer_equal(int type, const struct check_dns_answer *a, const char *want)
{
    unsigned char x[16];
    unsigned char y[16];
    int af;

    if (a->truncated)
        return 0;
    switch (type) {
    case DNS_T_A:
    case DNS_T_AAAA:
        af = type == DNS_T_A ? AF_INET : AF_INET6;
        return inet_pton(af, a->data, x) == 1 && inet_pton(af, want, y) == 1 &&
               memcmp(x, y, af == AF_INET ? 4 : 16) == 0;
    case DNS_T_TXT:
    case DNS_T_CAA:
        return strcmp(a->data, want) == 0;
    default:
        return dns_tokens_equal(a->data, want);
    }
}

/* ---- results ---- */

static void dns_check_set(struct dns_check *dc, enum nines_outcome outcome, const char *reason,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void dns_check_set(struct dns_check *dc, enum nines_outcome outcome, const char *reason,
                          const char *fmt, ...)
{
    struct nines_result *r = &dc->result;
    va_list ap;

    r->outcome = outcome;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    r->message[0] = '\0';
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(r->message, sizeof(r->message), fmt, ap);
        va_end(ap);
    }
}

/* Joins the answers of the asked type, "a, b, c", for messages. */
static void dns_join_answers(const struct dns_check *dc, const struct check_dns_reply *rep,
                             char *buf, size_t len)
{
    struct dns_text t;
    int n = 0;

    dns_text_init(&t, buf, len);
    for (size_t i = 0; i < rep->count; i++) {
        if (rep->answer[i].type != dc->qtype)
            continue;
        if (n++ > 0)
            dns_text_str(&t, ", ");
        dns_text_str(&t, rep->answer[i].data);
    }
    dns_text_end(&t);
}

/* The first expected answer that is missing (NULL: none). */
static const char *dns_first_missing(const struct dns_check *dc,
                                     const struct check_dns_reply *rep)
{
    for (size_t e = 0; e < dc->expect_count; e++) {
        size_t i;

        for (i = 0; i < rep->count; i++) {
            if (rep->answer[i].type == dc->qtype &&
                dns_answer_equal(dc->qtype, &rep->answer[i], dc->expect[e]))
                break;
        }
        if (i == rep->count)
            return dc->expect[e];
    }
    return NULL;
}

/* The first answer that is not in the expected list (NULL: none). */
static const struct check_dns_answer *dns_first_extra(const struct dns_check *dc,
                                                      const struct check_dns_reply *rep)
{
    for (size_t i = 0; i < rep->count; i++) {
        size_t e;

        if (rep->answer[i].type != dc->qtype)
            continue;
        for (e = 0; e < dc->expect_count; e++) {
            if (dns_answer_equal(dc->qtype, &rep->answer[i], dc->expect[e]))
                break;
        }
        if (e == dc->expect_count)
            return &rep->answer[i];
    }
    return NULL;
}

/* Answers of the asked type against expect_answers/match and answer_regex. */
static void dns_check_answers(struct dns_check *dc, const struct check_dns_reply *rep)
{
    char got[NINES_MESSAGE_LEN / 2];
    const char *missing;
    const struct check_dns_answer *extra;

    dns_join_answers(dc, rep, got, sizeof(got));
    missing = dc->match != NINES_DNS_MATCH_NONE ? dns_first_missing(dc, rep) : NULL;
    extra = dc->match == NINES_DNS_MATCH_EXACT ? dns_first_extra(dc, rep) : NULL;
    if (missing) {
        dns_check_set(dc, NINES_OUTCOME_FAIL, "dns_answer_mismatch",
                      "expected answer %.80s missing; got %s", missing, got);
        return;
    }
    if (extra || (dc->match == NINES_DNS_MATCH_EXACT && rep->omitted > 0)) {
        dns_check_set(dc, NINES_OUTCOME_FAIL, "dns_answer_mismatch",
                      "unexpected answer %.80s; got %s", extra ? extra->data : "(more)", got);
        return;
    }
    for (size_t i = 0; dc->has_regex && i < rep->count; i++) {
        if (rep->answer[i].type == dc->qtype &&
            regexec(&dc->regex, rep->answer[i].data, 0, NULL, 0) != 0) {
            dns_check_set(dc, NINES_OUTCOME_FAIL, "dns_answer_mismatch",
                          "answer %.120s does not match answer_regex", rep->answer[i].data);
            return;
        }
    }
    dns_check_set(dc, NINES_OUTCOME_OK, "", NULL);
}

static void dns_check_judge_rcode(struct dns_check *dc, int rcode)
{
    char b1[16];
    char b2[16];
    const char *got = dns_rcode_name(rcode, b1, sizeof(b1));
    const char *want = dns_rcode_name(dc->expect_rcode, b2, sizeof(b2));
    const char *reason = "dns_rcode";

    if (rcode == DNS_RCODE_NXDOMAIN)
        reason = "dns_nxdomain";
    else if (rcode == DNS_RCODE_SERVFAIL)
        reason = "dns_servfail";
    else if (rcode == DNS_RCODE_REFUSED)
        reason = "dns_refused";
    dns_check_set(dc, NINES_OUTCOME_FAIL, reason, "%s for %.120s, expected %s", got, dc->name,
                  want);
}

/* Decides the outcome of a parsed reply. */
static void dns_check_judge(struct dns_check *dc, const struct check_dns_reply *rep)
{
    char tb[16];
    size_t n = 0;

    dc->result.code = rep->rcode;
    if (rep->rcode != dc->expect_rcode) {
        dns_check_judge_rcode(dc, rep->rcode);
        return;
    }
    if (rep->rcode != DNS_RCODE_NOERROR) {
        dns_check_set(dc, NINES_OUTCOME_OK, "", NULL);
        return;
    }
    for (size_t i = 0; i < rep->count; i++)
        n += rep->answer[i].type == dc->qtype;
    /* match exact with an empty list: "no record of this type" is what is expected */
    if (n == 0 && rep->omitted == 0 &&
        !(dc->match == NINES_DNS_MATCH_EXACT && dc->expect_count == 0)) {
        dns_check_set(dc, NINES_OUTCOME_FAIL, "dns_no_answer", "no %s record for %.160s",
                      check_dns_type_name(dc->qtype, tb, sizeof(tb)), dc->name);
        return;
    }
    dns_check_answers(dc, rep);
}

/* The members after the answers: rcode, server, answers_omitted; closes all. */
static void dns_facts_tail(struct jsonw *w, int answers, const char *rcode, const char *server,
                           size_t omitted)
{
    if (answers)
        jsonw_arr_close(w);
    if (rcode) {
        jsonw_key(w, "rcode");
        jsonw_str(w, rcode);
    }
    if (server && server[0]) {
        jsonw_key(w, "server");
        jsonw_str(w, server);
    }
    if (omitted > 0) {
        jsonw_key(w, "answers_omitted");
        jsonw_int(w, (int64_t)omitted);
    }
    jsonw_obj_close(w);
}

/*
 * Facts: {"answers":[{"type","data","ttl"}...],"rcode","server"}, written
 * straight into the result (as json_dumps wrote them). Too long: answers go
 * from the end, and answers_omitted says how many are left out.
 */
static void dns_check_facts(struct dns_check *dc, const struct check_dns_reply *rep,
                            const char *rcode, const char *server)
{
    struct jsonw_mark before[CHECK_DNS_ANSWERS_MAX];
    struct jsonw w;
    size_t kept = 0, count = rep ? rep->count : 0;
    char tb[16];

    if (count > CHECK_DNS_ANSWERS_MAX)
        count = CHECK_DNS_ANSWERS_MAX;
    jsonw_init(&w, dc->result.facts, sizeof(dc->result.facts));
    jsonw_obj_open(&w);
    if (rep) {
        jsonw_key(&w, "answers");
        jsonw_arr_open(&w);
    }
    for (; kept < count && !w.full; kept++) {
        const struct check_dns_answer *a = &rep->answer[kept];

        before[kept] = jsonw_mark(&w);
        jsonw_obj_open(&w);
        jsonw_key(&w, "type");
        jsonw_str(&w, check_dns_type_name(a->type, tb, sizeof(tb)));
        jsonw_key(&w, "data");
        jsonw_str(&w, a->data);
        jsonw_key(&w, "ttl");
        jsonw_int(&w, (int64_t)a->ttl);
        jsonw_obj_close(&w);
    }
    for (;;) {
        if (w.full) {                       /* drop the last answer written */
            if (kept == 0) {
                dc->result.facts[0] = '\0';
                return;
            }
            jsonw_rewind(&w, before[--kept]);
        }
        dns_facts_tail(&w, rep != NULL, rcode, server,
                       (rep ? rep->omitted + rep->count : 0) - kept);
        if (!w.full)
            return;
    }
}

/* ---- the check's life ---- */

static void dns_check_free(struct dns_check *dc)
{
    for (size_t i = 0; i < dc->expect_count; i++)
        free(dc->expect[i]);
    free(dc->expect);
    if (dc->has_regex)
        regfree(&dc->regex);
    free(dc);
}

/* One of the two close callbacks (deadline timer, channel); the last reports. */
static void dns_check_release(struct dns_check *dc)
{
    if (--dc->open > 0)
        return;
    /* the result is lent from dc (no 5 KiB copy): dc goes after the call */
    dc->done(&dc->result, dc->done_arg);
    dns_check_free(dc);
}

static void dns_check_on_deadline_closed(uv_handle_t *h)
{
    dns_check_release(h->data);
}

static void dns_check_on_channel_closed(void *arg)
{
    dns_check_release(arg);
}

static void dns_check_unlink(struct dns_check *dc)
{
    struct dns_driver *drv = dc->drv;

    if (!drv)
        return;
    if (dc->prev)
        dc->prev->next = dc->next;
    else
        drv->checks = dc->next;
    if (dc->next)
        dc->next->prev = dc->prev;
    dc->prev = NULL;
    dc->next = NULL;
    dc->drv = NULL;
}

/* Keeps dc's channel for reuse; 0 if it cannot be kept (closed by the caller). */
static int dns_idle_put(struct dns_driver *drv, struct dns_check *dc)
{
    struct dns_idle *e;

    if (!drv || dc->keylen == 0 || drv->nidle == DNS_IDLE_MAX)
        return 0;
    e = &drv->idle[drv->nidle++];
    e->au = dc->au;
    e->keylen = dc->keylen;
    memcpy(e->key, dc->key, dc->keylen);
    return 1;
}

/*
 * An idle channel configured as key, most recently used first, or NULL.
 * One that is not idle after all (a query or socket left) is closed.
 */
static struct ares_uv *dns_idle_take(struct dns_driver *drv, const unsigned char *key,
                                     size_t keylen)
{
    size_t i = drv->nidle;

    while (i-- > 0) {
        struct dns_idle *e = &drv->idle[i];
        struct ares_uv *au = e->au;

        if (e->keylen != keylen || memcmp(e->key, key, keylen) != 0)
            continue;
        *e = drv->idle[--drv->nidle];
        if (ares_uv_idle(au))
            return au;
        ares_uv_close(au, NULL, NULL);
    }
    return NULL;
}

/*
 * The outcome is decided: stop the clock and close everything. Safe inside a
 * c-ares callback (ares_uv defers the destroy); a callback that arrives later
 * (ARES_EDESTRUCTION from the destroy) finds finished set and is ignored.
 * When the query is over (reused: an answer or c-ares's own verdict, not our
 * deadline), the channel goes to the driver's idle list instead: c-ares has
 * closed its sockets by then, so the next check still sends a fresh query
 * from a fresh socket, but skips building and tearing down a channel
 * (two 2,048- and 1,024-entry tables in c-ares 1.18).
 */
static void dns_check_finish(struct dns_check *dc, int reuse)
{
    struct dns_driver *drv = dc->drv;

    if (dc->finished)
        return;
    dc->finished = 1;
    dc->result.total_us = (int64_t)((uv_hrtime() - dc->started_ns) / 1000u);
    dc->result.dns_us = dc->result.total_us;
    dns_check_unlink(dc);
    uv_timer_stop(&dc->deadline);
    uv_close((uv_handle_t *)&dc->deadline, dns_check_on_deadline_closed);
    if (reuse && dns_idle_put(drv, dc)) {
        dc->au = NULL;
        dc->open--;                 /* only the deadline's close callback is left */
        return;
    }
    ares_uv_close(dc->au, dns_check_on_channel_closed, dc);
}

/* What the ares status means when there is no reply to read. */
static void dns_check_no_reply(struct dns_check *dc, int status)
{
    switch (status) {
    case ARES_ETIMEOUT:
        dns_check_set(dc, NINES_OUTCOME_TIMEOUT, "dns_timeout", "no answer from %s within %lld ms",
                      dc->servers_text, (long long)dc->timeout_ms);
        return;
    case ARES_ECONNREFUSED:
        dns_check_set(dc, NINES_OUTCOME_FAIL, "dns_connection_refused",
                      "connection refused by %s", dc->servers_text);
        return;
    /* Every server failed over (several servers: no NOCHECKRESP), no reply kept. */
    case ARES_ESERVFAIL:
        dns_check_judge_rcode(dc, DNS_RCODE_SERVFAIL);
        dc->result.code = DNS_RCODE_SERVFAIL;
        return;
    case ARES_EREFUSED:
        dns_check_judge_rcode(dc, DNS_RCODE_REFUSED);
        dc->result.code = DNS_RCODE_REFUSED;
        return;
    case ARES_ENOTIMP:
        dns_check_judge_rcode(dc, DNS_RCODE_NOTIMP);
        dc->result.code = DNS_RCODE_NOTIMP;
        return;
    case ARES_EBADRESP:
    case ARES_EFORMERR:
        dns_check_set(dc, NINES_OUTCOME_FAIL, "dns_bad_reply", "malformed reply: %s",
                      ares_strerror(status));
        return;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        dns_check_set(dc, NINES_OUTCOME_ERROR, "cancelled", "check cancelled before it finished");
        return;
    default:
        dns_check_set(dc, NINES_OUTCOME_ERROR, "error", "c-ares: %s", ares_strerror(status));
        return;
    }
}

static void dns_check_on_reply(struct dns_check *dc, const unsigned char *abuf, int alen)
{
    struct check_dns_reply *rep;
    char server[DNS_SERVER_TEXT];
    char rb[16];
    const char *why = NULL;

    dns_peer_text(ares_uv_active_fd(dc->au), server, sizeof(server));
    if (!dc->drv->reply)
        dc->drv->reply = malloc(sizeof(*dc->drv->reply)); /* filled by the parser */
    rep = dc->drv->reply;
    if (!rep) {
        dns_check_set(dc, NINES_OUTCOME_ERROR, "error", "out of memory");
        return;
    }
    if (check_dns_parse_reply(abuf, (size_t)alen, rep, &why) != 0) {
        dns_check_set(dc, NINES_OUTCOME_FAIL, "dns_bad_reply", "malformed reply: %s", why);
        dns_check_facts(dc, NULL, NULL, server);
    } else {
        dns_check_judge(dc, rep);
        dns_check_facts(dc, rep, dns_rcode_name(rep->rcode, rb, sizeof(rb)), server);
    }
}

static void dns_check_on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
                                int alen);

/*
 * c-ares gave up before our deadline. Over TCP it never resends a query on the
 * connection it already used (1.18 next_server), so a silent TCP server, or
 * one that only ever answers UDP with TC, ends the query after one try timeout.
 * Asking again keeps the check listening until its own deadline. Returns 1 if
 * the query was asked again.
 */
static int dns_check_reask(struct dns_check *dc)
{
    uint64_t elapsed_ms = (uv_hrtime() - dc->started_ns) / 1000000u;

    if (dc->reasked >= DNS_REASK_MAX || elapsed_ms + DNS_REASK_MIN_MS >= (uint64_t)dc->timeout_ms)
        return 0;
    dc->reasked++;
    return ares_uv_query(dc->au, dc->name, dc->qtype, dns_check_on_answer, dc) == 0;
}

/* The query's callback: may run inside ares_uv_query, process or destroy. */
static void dns_check_on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
                                int alen)
{
    struct dns_check *dc = arg;
    char rb[16];

    (void)timeouts;
    if (dc->finished)
        return;
    if (status == ARES_ETIMEOUT && dns_check_reask(dc))
        return;
    if (abuf && alen > 0) {
        dns_check_on_reply(dc, abuf, alen);
    } else {
        dns_check_no_reply(dc, status);
        dns_check_facts(dc, NULL,
                        dc->result.code > 0 ? dns_rcode_name(dc->result.code, rb, sizeof(rb))
                                            : NULL,
                        dc->nservers == 1 ? dc->servers_text : NULL);
    }
    dns_check_finish(dc, status != ARES_EDESTRUCTION && status != ARES_ECANCELLED);
}

static void dns_check_on_deadline(uv_timer_t *t)
{
    struct dns_check *dc = t->data;

    dns_check_no_reply(dc, ARES_ETIMEOUT);
    dns_check_facts(dc, NULL, NULL, dc->nservers == 1 ? dc->servers_text : NULL);
    dns_check_finish(dc, 0);        /* the query is still out: the channel goes */
}

/* ---- the driver ---- */

static void dns_driver_close(void *data)
{
    struct dns_driver *drv = data;

    while (drv->checks) {
        struct dns_check *dc = drv->checks;

        dns_check_set(dc, NINES_OUTCOME_ERROR, "cancelled", "check cancelled before it finished");
        dns_check_finish(dc, 0);    /* unlinks dc */
    }
    for (size_t i = 0; i < drv->nidle; i++)
        ares_uv_close(drv->idle[i].au, NULL, NULL);
    free(drv->reply);
    free(drv);
}

static struct dns_driver *dns_driver_get(struct check_env *env)
{
    struct check_driver *d = &env->driver[CHECK_DRIVER_DNS];
    struct dns_driver *drv;

    if (d->data)
        return d->data;
    drv = calloc(1, sizeof(*drv));
    if (!drv)
        return NULL;
    d->data = drv;
    d->close = dns_driver_close;
    return drv;
}

/* ---- starting ---- */

static int dns_check_copy_expect(struct dns_check *dc, const struct nines_dns_opts *o)
{
    unsigned char addr[16];

    if (o->expect_answers_count == 0)
        return 0;
    dc->expect = calloc(o->expect_answers_count, sizeof(*dc->expect));
    if (!dc->expect)
        return NINES_ENOMEM;
    for (size_t i = 0; i < o->expect_answers_count; i++) {
        if (!o->expect_answers[i])
            return NINES_EINVAL;
        if ((dc->qtype == DNS_T_A && inet_pton(AF_INET, o->expect_answers[i], addr) != 1) ||
            (dc->qtype == DNS_T_AAAA && inet_pton(AF_INET6, o->expect_answers[i], addr) != 1))
            return NINES_EINVAL;
        dc->expect[i] = strdup(o->expect_answers[i]);
        if (!dc->expect[i])
            return NINES_ENOMEM;
        dc->expect_count++;
    }
    /* A list with no match mode is compared as an exact set. */
    if (dc->match == NINES_DNS_MATCH_NONE)
        dc->match = NINES_DNS_MATCH_EXACT;
    return 0;
}

/* Everything the check needs from c, validated and copied into dc. */
static int dns_check_configure(struct dns_check *dc, const struct nines_check *c)
{
    const struct nines_dns_opts *o = &c->dns;

    if (c->kind != NINES_KIND_DNS || c->timeout_ms <= 0 || !o->name)
        return NINES_EINVAL;
    dc->timeout_ms = c->timeout_ms;
    dc->qtype = o->record_type ? check_dns_type_parse(o->record_type) : DNS_T_A;
    dc->expect_rcode = o->expect_rcode ? dns_rcode_parse(o->expect_rcode) : DNS_RCODE_NOERROR;
    if (dc->qtype < 0 || dc->expect_rcode < 0 || (unsigned)o->match > NINES_DNS_MATCH_INCLUDE)
        return NINES_EINVAL;
    dc->match = o->match;
    if (dc->qtype == DNS_T_PTR &&
        check_dns_reverse_name(o->name, dc->name, sizeof(dc->name)) == 0) {
        /* an address: asked for as its reverse name */
    } else if (dns_name_valid(o->name) && strlen(o->name) < sizeof(dc->name)) {
        memcpy(dc->name, o->name, strlen(o->name) + 1);
    } else {
        return NINES_EINVAL;
    }
    if (o->answer_regex) {
        if (nines_regcomp(&dc->regex, o->answer_regex, REG_EXTENDED | REG_NOSUB) != 0)
            return NINES_EINVAL;
        dc->has_regex = 1;
    }
    return dns_check_copy_expect(dc, o);
}

/* What decides a channel's options (see dns_check_channel), as bytes. */
static void dns_check_key(struct dns_check *dc, const struct nines_check *c,
                          const struct ares_addr_port_node *nodes, size_t ns)
{
    unsigned char *k = dc->key;
    uint64_t t = (uint64_t)c->timeout_ms;

    for (int i = 0; i < 8; i++)
        *k++ = (unsigned char)(t >> (8 * i));
    *k++ = (unsigned char)(c->dns.tcp != 0);
    *k++ = (unsigned char)ns;
    for (size_t i = 0; i < ns; i++) {
        size_t alen = nodes[i].family == AF_INET6 ? 16 : 4;

        *k++ = (unsigned char)nodes[i].family;
        memcpy(k, &nodes[i].addr, alen);
        k += alen;
        *k++ = (unsigned char)(nodes[i].udp_port >> 8);
        *k++ = (unsigned char)nodes[i].udp_port;
    }
    dc->keylen = (size_t)(k - dc->key);
}

/*
 * The channel: servers parsed strictly (no CSV, so no injection through a
 * ','). An idle one of the same configuration is reused; the system
 * resolver's never is, so /etc/resolv.conf is read on every run.
 */
static int dns_check_channel(struct dns_check *dc, uv_loop_t *loop, struct dns_driver *drv,
                             const struct nines_check *c)
{
    const struct nines_dns_opts *o = &c->dns;
    struct ares_addr_port_node nodes[DNS_SERVERS_MAX];
    struct ares_options opts;
    char lookups[] = "b";
    size_t ns = o->servers_count;
    int64_t t;
    int mask;

    if (ns > DNS_SERVERS_MAX)
        return NINES_EINVAL;
    for (size_t i = 0; i < ns; i++) {
        if (!o->servers[i] || dns_parse_server(o->servers[i], &nodes[i]) != 0)
            return NINES_EINVAL;
        nodes[i].next = i + 1 < ns ? &nodes[i + 1] : NULL;
    }
    dc->nservers = ns;
    if (ns > 0)
        dns_format_server(nodes[0].family, &nodes[0].addr, nodes[0].udp_port,
                          dc->servers_text, sizeof(dc->servers_text));
    else
        snprintf(dc->servers_text, sizeof(dc->servers_text), "the system resolver");
    if (ns > 0) {
        dns_check_key(dc, c, nodes, ns);
        dc->au = dns_idle_take(drv, dc->key, dc->keylen);
        if (dc->au)
            return 0;
    }
    memset(&opts, 0, sizeof(opts));
    /* One server: report its SERVFAIL/REFUSED as is; several: let c-ares fail over. */
    opts.flags = ARES_FLAG_NOSEARCH | (o->tcp ? ARES_FLAG_USEVC : 0) |
                 (ns == 1 ? ARES_FLAG_NOCHECKRESP : 0);
    /*
     * Each server is tried after T, then 2T (c-ares doubles): with T = timeout/2S
     * a silent server gets the query again halfway, and c-ares would give up at
     * 1.5 timeout; our deadline rules. (An early ETIMEOUT is asked again.)
     */
    t = c->timeout_ms / (int64_t)(2 * (ns > 0 ? ns : 1)) + 1;
    opts.timeout = t > INT_MAX ? INT_MAX : (int)t;
    opts.tries = DNS_TRIES;
    opts.lookups = lookups;             /* no /etc/nsswitch.conf: we never read hosts */
    opts.ndots = 1;
    mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
           ARES_OPT_DOMAINS | ARES_OPT_NDOTS | ARES_OPT_SORTLIST | ARES_OPT_NOROTATE;
    if (ns > 0)
        mask |= ARES_OPT_SERVERS;       /* 0 here, set below: resolv.conf is not read */
    return ares_uv_new(loop, &opts, mask, ns > 0 ? nodes : NULL, &dc->au);
}

/* Links dc into the driver, starts the clock and the deadline, asks the query. */
static void dns_check_launch(struct dns_check *dc, uv_loop_t *loop, struct dns_driver *drv)
{
    uv_timer_init(loop, &dc->deadline);
    dc->deadline.data = dc;
    dc->open = 2;
    dc->drv = drv;
    dc->next = drv->checks;
    if (drv->checks)
        drv->checks->prev = dc;
    drv->checks = dc;
    dc->result.start_ms = nines_wall_ms();
    dc->started_ns = uv_hrtime();
    uv_update_time(loop);
    uv_timer_start(&dc->deadline, dns_check_on_deadline, (uint64_t)dc->timeout_ms, 0);
    /* The answer may come back inside this call: done still waits for the closes. */
    if (ares_uv_query(dc->au, dc->name, dc->qtype, dns_check_on_answer, dc) != 0) {
        dns_check_set(dc, NINES_OUTCOME_ERROR, "error", "the query could not be sent");
        dns_check_finish(dc, 0);
    }
}

/* s into buf[len], cut to fit, without printf. */
int check_dns_start(struct check_env *env, const struct nines_check *c, check_done_cb *done,
                    void *arg)
{
    struct dns_driver *drv;
    struct dns_check *dc;
    int err;

    if (!env || !c || !done)
        return NINES_EINVAL;
    if (env->closed)
        return NINES_ESTATE;
    /* the result is begun by nines_result_begin: its 4 KiB of facts not zeroed */
    dc = malloc(sizeof(*dc));
    if (!dc)
        return NINES_ENOMEM;
    memset(dc, 0, offsetof(struct dns_check, result));
    nines_result_begin(&dc->result);
    dc->done = NULL;
    dc->done_arg = NULL;
    err = dns_check_configure(dc, c);
    if (err)
        goto fail;
    drv = dns_driver_get(env);
    err = NINES_ENOMEM;
    if (!drv)
        goto fail;
    err = dns_check_channel(dc, env->loop, drv, c);
    if (err)
        goto fail;
    dc->done = done;
    dc->done_arg = arg;
    fmt_copy(dc->result.check_id, sizeof(dc->result.check_id), c->id ? c->id : "");
    dns_check_launch(dc, env->loop, drv);
    return 0;

fail:
    dns_check_free(dc);
    return err;
}
