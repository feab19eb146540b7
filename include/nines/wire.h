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
#define NINES_KEY_APPLIED_PREFIX "nines:applied:"   /* + stream: its applied cursor */
#define NINES_GROUP "nines"     /* consumer group before the cursor: upgrades read it */

#define NINES_WIRE_VERSION "1"
#define NINES_WIRE_MAX_FIELDS 20

/*
 * A result encoded as stream field/value pairs. argv/argvlen point into the
 * result itself and into buf, so the wire struct lives no longer than both.
 */
struct nines_wire {
    size_t argc;                              /* 2 x number of fields */
    const char *argv[2 * NINES_WIRE_MAX_FIELDS];
    size_t argvlen[2 * NINES_WIRE_MAX_FIELDS];
    char buf[NINES_WIRE_MAX_FIELDS][24];      /* formatted numbers */
};

void nines_wire_encode(const struct nines_result *r, struct nines_wire *w);
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
 * Decodes count field/value strings (fields[0] name, fields[1] value, ...).
 * Unknown fields are ignored (newer probes); missing required fields, bad
 * numbers, over-long strings and a wrong version are NINES_EPROTO with a
 * message naming the field.
 */
int nines_wire_decode(const char *const *fields, const size_t *lens, size_t count,
                      struct nines_result *r, struct nines_err *err);

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
