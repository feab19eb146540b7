/*
 * The wire format: results as Redis stream entries, the catalogue as JSON,
 * and the Redis keys both daemons agree on.
 */
#ifndef NINES_WIRE_H
#define NINES_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "nines/check.h"
#include "nines/err.h"
#include "nines/result.h"

#define NINES_KEY_RESULTS "nines:results"          /* stream of results */
#define NINES_KEY_CATALOGUE "nines:catalogue"      /* JSON {"version":1,"checks":[...]} */
#define NINES_KEY_CATALOGUE_VERSION "nines:catalogue:version"  /* hash of it */
#define NINES_KEY_STATE_PREFIX "nines:state:"      /* + check id: hash */
#define NINES_KEY_STREAM_MAXLEN "nines:settings:stream_maxlen"  /* probes' XADD cap */
/* the newest result form the collectors read ("2"); absent: pairs only */
#define NINES_KEY_WIRE "nines:settings:wire"
#define NINES_KEY_APPLIED_PREFIX "nines:applied:"   /* + stream: its applied cursor */
#define NINES_GROUP "nines"     /* consumer group before the cursor: upgrades read it */

/*
 * Two forms of a result in a stream entry; the decoder reads both.
 *
 * Version 2, packed (what probes write): one field, "r", whose value is the
 * result's fields in a fixed order, each as "<decimal length>:<bytes>":
 * v ("2"), id, check, probe, loc, ts, out, total_us, dns_us, connect_us,
 * tls_us, ttfb_us, code, reason, msg, facts, warn. An empty value is an
 * absent one (a timing of -1, a code of 0, an empty string). One field
 * instead of up to 17 makes the entry cheaper at every step: the probe's
 * script call, Redis's XADD and XREAD reply, the AOF and the collector's
 * parse (bench/RESULTS.md). Bytes after the last known field are ignored
 * (a newer producer's fields).
 *
 * Version 1, pairs (what probes before the packed form wrote): one stream
 * field per result field, with the names above.
 */
#define NINES_WIRE_VERSION "1"
#define NINES_WIRE_PACKED_VERSION "2"
#define NINES_WIRE_PACKED_FIELD "r"
#define NINES_WIRE_MAX_FIELDS 20
/* The longest packed value: every string at its limit, every number at 20
 * digits and a sign, and 17 length prefixes of at most 7 bytes. */
#define NINES_WIRE_PACKED_MAX                                                        \
    (NINES_RESULT_ID_LEN + 3 * NINES_ID_LEN + 2 * NINES_REASON_LEN + NINES_MESSAGE_LEN + \
     NINES_FACTS_LEN + 8 * 21 + 17 * 7)

/*
 * A result encoded as stream field/value pairs. argv/argvlen point into the
 * result itself, buf and packed, so the wire struct lives no longer than
 * the result.
 */
struct nines_wire {
    size_t argc;                              /* 2 x number of fields */
    const char *argv[2 * NINES_WIRE_MAX_FIELDS];
    size_t argvlen[2 * NINES_WIRE_MAX_FIELDS];
    char buf[NINES_WIRE_MAX_FIELDS][24];      /* formatted numbers (pairs) */
    char packed[NINES_WIRE_PACKED_MAX];       /* the packed value */
};

/* The packed form (version 2): argc is 2, "r" and its value. */
void nines_wire_encode(const struct nines_result *r, struct nines_wire *w);
/* The pairs form (version 1), as older probes wrote it: for tests of the
 * decoder's compatibility and for tools that want named fields. */
void nines_wire_encode_pairs(const struct nines_result *r, struct nines_wire *w);
/* The number of arguments of "XADD stream * <w's fields>", at most. */
#define NINES_WIRE_XADD_ARGC (3 + 2 * NINES_WIRE_MAX_FIELDS)
/*
 * Fills av/al (room for NINES_WIRE_XADD_ARGC) with "XADD stream * <w's
 * fields>" for hiredis's *CommandArgv (tests and bench/ add results as a
 * probe would; the probe itself pushes through a script). Returns the count;
 * the strings stay w's and stream's.
 */
int nines_wire_xadd_argv(const struct nines_wire *w, const char *stream, const char **av,
                         size_t *al);
/*
 * Decodes count field/value strings (fields[0] name, fields[1] value, ...):
 * the packed form when the first field is "r", else the pairs form.
 * Unknown fields are ignored (newer probes); missing required fields, bad
 * numbers, over-long strings and a wrong version are NINES_EPROTO with a
 * message naming the field.
 */
int nines_wire_decode(const char *const *fields, const size_t *lens, size_t count,
                      struct nines_result *r, struct nines_err *err);
/*
 * The raw value of one field ("id", "check", ...) of an encoded result in
 * either form, without decoding the rest (the probe routes and acks queued
 * results by these): 0 with *val and *vlen pointing into fields, -1 when the
 * field is absent, empty in the packed form, or the entry is malformed.
 */
int nines_wire_field(const char *const *fields, const size_t *lens, size_t count,
                     const char *name, const char **val, size_t *vlen);

/* The catalogue as JSON text (malloc'd, caller frees); NULL on ENOMEM. */
char *nines_catalogue_encode(const struct nines_check *checks, size_t count);
/* Parses what nines_catalogue_encode wrote. On success *out is owned by the
 * caller (nines_checks_free). */
int nines_catalogue_decode(const char *json, size_t len, struct nines_check **out,
                           size_t *count, struct nines_err *err);
/* 64-bit FNV-1a, for content versions and deterministic jitter. */
uint64_t nines_fnv1a64(const void *data, size_t len);

/*
 * Partitioned results (collector.partitions > 1, README "High availability
 * and scale-out"). The catalogue carries "partitions": N when N > 1; a
 * check's results go to stream nines:results:{P}, P = FNV-1a 64 of its id
 * mod N (the braces are a Redis Cluster hash tag). With N = 1 the stream is
 * nines:results, as before partitions existed.
 */
#define NINES_PARTITIONS_MAX 1024
/* N from catalogue JSON: 1 when absent, out of range or unreadable. */
int nines_catalogue_partitions(const char *json, size_t len);
/* nines_catalogue_decode that also gives N (as above): one parse, not two. */
int nines_catalogue_decode_partitioned(const char *json, size_t len, struct nines_check **out,
                                       size_t *count, int *partitions, struct nines_err *err);
/* The catalogue with "partitions": partitions when it is > 1 (malloc'd). */
char *nines_catalogue_encode_partitioned(const struct nines_check *checks, size_t count,
                                         int partitions);
/* P for a check id among n partitions (0 when n <= 1). */
int nines_partition_of(const char *check_id, int n);
/* The stream of partition p among n into buf (size >= 32). */
const char *nines_results_key(int p, int n, char *buf, size_t size);

/* A parsed Redis address. */
struct nines_redis_addr {
    char host[256];       /* IP literal or name; "" for a Unix socket */
    int port;
    char path[256];       /* Unix socket path, "" for TCP */
    char password[256];   /* "" = no AUTH */
    char user[64];        /* "" = AUTH with the password only */
    int db;
};

/* Parses redis://[[user]:password@]host[:port][/db] and
 * unix:///path[?password=...&db=N]. Errors name what is wrong. */
int nines_redis_url_parse(const char *url, struct nines_redis_addr *a, struct nines_err *err);
/* The address for logs, without the password. */
const char *nines_redis_addr_str(const struct nines_redis_addr *a, char *buf, size_t len);

#endif
