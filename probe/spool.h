/*
 * The probe's bounded on-disk spool: an ordered queue of opaque records in a
 * directory of segment files, used while Redis is away (or the in-memory
 * queue is over its threshold) so that no result is lost, and read back in
 * the order written.
 *
 * Segment "<16 hex digits>.seg": a 16-byte header ("NINESPL1" + the id,
 * little-endian u64), then records: u32 length, u32 CRC-32C (of the length
 * bytes and the payload), payload. Ids order the segments; the newest one is
 * the one appended to. A record leaves the spool only when spool_ack covers
 * it: a segment file is deleted once every record in it is acknowledged.
 *
 * Bound: past max_bytes the oldest segment is deleted; its records not yet
 * read are counted in stats.dropped (read records are in the caller's hands).
 * Recovery (spool_open): a record with a bad length or CRC ends its segment:
 * the file is cut there (a torn last record after a crash) and counted in
 * stats.truncated; a segment with a bad header is deleted, counted in
 * stats.corrupt_segments. Appends after an open go to a new segment.
 *
 * Durability: spool_append buffers (up to 64 KiB) and writes the buffer when
 * full, on spool_flush, or when the reader reaches it. Finished segments are
 * fdatasync'd when rolled; the open one when the caller asks (spool_sync, or
 * fdatasync on spool_sync_fd from a thread). All calls are synchronous and
 * small: a write of at most one buffer, a read of one record.
 */
#ifndef NINES_SPOOL_H
#define NINES_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "nines/err.h"

#define SPOOL_MAX_RECORD (1u << 20)
#define SPOOL_HEADER_BYTES 16u
#define SPOOL_RECORD_OVERHEAD 8u

struct spool;

/* Where a record read by spool_next sits; give it back to spool_ack. */
struct spool_mark {
    uint64_t seg;         /* segment id */
    uint64_t index;       /* 1-based record number within the segment */
    uint64_t end_off;     /* file offset just after the record */
};

struct spool_stats {
    uint64_t appended;          /* records appended since open */
    uint64_t acked;             /* records acknowledged since open */
    uint64_t dropped;           /* unread records lost to the bound */
    uint64_t truncated;         /* segments cut at a torn or corrupt record */
    uint64_t corrupt_segments;  /* segments deleted for a bad header */
    uint64_t pending;           /* records not yet acknowledged */
    uint64_t unread;            /* of those, not yet handed out by spool_next */
    uint64_t bytes;             /* bytes in segment files (and the buffer) */
    size_t segments;
};

/*
 * Opens (creating it, mode 0700, if missing) the spool in dir and recovers
 * what earlier runs left. segment_bytes is clamped to [4 KiB, max_bytes / 4].
 * NULL with err filled (naming dir or the file) on failure.
 */
struct spool *spool_open(const char *dir, uint64_t max_bytes, uint32_t segment_bytes,
                         struct nines_err *err);
/* Appends one record (1..SPOOL_MAX_RECORD bytes). 0, or NINES_E* (err says why). */
int spool_append(struct spool *s, const void *rec, size_t len, struct nines_err *err);
/*
 * Writes records in front of everything spooled (a new segment with a lower
 * id, fsync'd), for results older than the spool's content. Only valid right
 * after spool_rewind (nothing handed out); the reader starts at them.
 */
int spool_prepend(struct spool *s, const void *const *recs, const size_t *lens, size_t n,
                  struct nines_err *err);
/*
 * Copies the next unread record into buf (cap bytes). Returns 1 (record in
 * buf, *len and *mark set), 0 (nothing unread) or NINES_E*. A record that
 * no longer checks out ends its segment (counted in stats.truncated).
 */
int spool_next(struct spool *s, void *buf, size_t cap, size_t *len, struct spool_mark *mark);
/* Every record up to and including mark is acknowledged (acks come in order). */
void spool_ack(struct spool *s, const struct spool_mark *mark);
/* The reader goes back to the first unacknowledged record. */
void spool_rewind(struct spool *s);
/* Writes the buffer to the file (no fsync). */
int spool_flush(struct spool *s, struct nines_err *err);
/* Flushes and fdatasyncs the open segment. */
int spool_sync(struct spool *s, struct nines_err *err);
/* Flushes, then returns a dup() of the open segment's fd (caller closes it)
 * for an fdatasync off the loop thread, or -1 when there is none. */
int spool_sync_fd(struct spool *s);
void spool_get_stats(const struct spool *s, struct spool_stats *st);
/* Flushes, syncs and closes; NULL is a no-op. */
void spool_close(struct spool *s);

#endif
