/*
 * The parser behind `nines import FILE`: historical check results as JSON
 * Lines (one object per line) or CSV (RFC 4180, a header row naming the
 * columns in any order), read as a stream with one bounded buffer, so a file
 * of any size parses in constant memory.
 *
 * Columns (JSON members): check, location, timestamp, ok are required;
 * latency, reason, probe, code, message are optional (an empty CSV field or a
 * JSON null is "not given"). Any other name is an error.
 *
 *   check, location, probe  1..63 bytes of UTF-8 without control characters
 *   timestamp  RFC 3339 with optional fraction and offset
 *              (2026-10-03T12:00:00.250Z, 2026-10-03T14:00:00+02:00; T, t or a
 *              space between date and time) or integer epoch milliseconds
 *              (a JSON integer, or digits); from 1970 on and not after now_ms;
 *              fractions finer than a millisecond are cut off
 *   ok         true, false, 1, 0 (JSON: a boolean or the integer 0 or 1)
 *   latency    milliseconds, a decimal like 12.5 (JSON: a number), at most a
 *              day; rounded to the microsecond
 *   reason     a reason code, [a-z0-9_.-], at most 31 bytes; only for failures
 *   code       an integer from 0 to 999999999 (HTTP status, DNS rcode)
 *   message    UTF-8 text, cut at a character boundary to 255 bytes
 *
 * Each row becomes a struct nines_result: outcome OK or FAIL, start_ms,
 * total_us from latency (-1 without), probe "import" unless given, and the id
 * "import/" + the first 16 hex digits of SHA-256(check NUL location NUL
 * decimal start_ms): the same row imported twice has the same id, so the
 * collector's idempotent ingest drops the second copy.
 *
 * A UTF-8 byte-order mark at the start is skipped, lines may end in LF or
 * CRLF, and empty lines are skipped. A record (a line; a CSV record may span
 * lines inside quotes) longer than NINES_IMPORT_LINE_MAX bytes is an error.
 */
#ifndef NINES_IMPORT_H
#define NINES_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nines/err.h"
#include "nines/result.h"

#define NINES_IMPORT_LINE_MAX 65536
#define NINES_IMPORT_ID_HEX 16 /* hex digits of the digest in an id */

enum nines_import_format {
    NINES_IMPORT_AUTO = 0, /* JSON Lines if the first non-blank byte is '{', else CSV */
    NINES_IMPORT_JSONL,
    NINES_IMPORT_CSV,
};

struct nines_import;

/* Whether a check id exists; 0 makes the row an error ("check: unknown ..."). */
typedef int nines_import_known_fn(const char *check_id, void *arg);

/*
 * Starts reading f (borrowed: the caller closes it after nines_import_free).
 * name is the file's name for messages; now_ms bounds the timestamps. For CSV
 * the header is read here: an unknown, repeated or missing required column is
 * NINES_EINVAL with err at the header's line. Returns 0 and *out, or
 * NINES_EINVAL, NINES_EIO (read error), NINES_ENOMEM; err says why.
 */
int nines_import_open(FILE *f, const char *name, enum nines_import_format format,
                      int64_t now_ms, struct nines_import **out, struct nines_err *err);

/* Makes rows whose check known() rejects an error. NULL (the default) accepts all. */
void nines_import_set_known(struct nines_import *im, nines_import_known_fn *known, void *arg);

/*
 * The next row into *r: 1 (a result), 0 (end of input), NINES_EINVAL (this
 * record is bad: err has the file, the line where the record starts, the
 * column where known (CSV; 0 otherwise) and "field: what is wrong"; call
 * again to go on with the next record, so a first pass can collect every
 * error), or NINES_EIO (read error: stop). r is written only on 1.
 * Importing all or nothing takes two passes: rewind(f) (a regular file, not
 * a pipe) and open again for the second.
 */
int nines_import_next(struct nines_import *im, struct nines_result *r, struct nines_err *err);

/* The line where the record nines_import_next last read starts. */
int nines_import_line(const struct nines_import *im);

/* The format in use (AUTO resolved). */
enum nines_import_format nines_import_format_of(const struct nines_import *im);

void nines_import_free(struct nines_import *im);

/*
 * "import/" + 16 hex digits: the id a row of (check, location, start_ms)
 * gets. 0, or NINES_EINVAL when len < 24 or libcrypto fails.
 */
int nines_import_id(const char *check_id, const char *location, int64_t start_ms, char *out,
                    size_t len);

#endif
