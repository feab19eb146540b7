/* The probe's on-disk spool of results; see spool.h for the format. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nines/log.h"
#include "spool.h"

#define SPOOL_MAGIC "NINESPL1"
#define SPOOL_WBUF 65536u
#define SPOOL_FIRST_ID (UINT64_C(1) << 40)   /* room below for spool_prepend */

struct spool_seg {
    uint64_t id;
    uint64_t bytes;        /* header + records, buffered ones included */
    uint64_t records;
    uint64_t acked;        /* records acknowledged (a prefix) */
};

struct spool {
    char dir[4096];
    uint64_t max_bytes;
    uint32_t seg_bytes;
    struct spool_seg *segs;     /* oldest first */
    size_t nseg, aseg;
    uint64_t next_id;
    int wfd;                    /* the open segment, segs[nseg - 1], or -1 */
    uint64_t wfile;             /* its bytes already in the file */
    size_t wlen;
    unsigned char *wbuf;
    uint64_t r_seg;             /* reader: segment id, offset, records read */
    uint64_t r_off;
    uint64_t r_index;
    int rfd;                    /* cached descriptor of r_seg for reading */
    uint64_t rfd_seg;
    int lockfd;                 /* the directory, flock'd: one probe per spool */
    struct spool_stats st;
};

/* ---- CRC-32C (Castagnoli), table-driven ---------------------------------- */

static uint32_t spool_crc_table[256];

static void spool_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        spool_crc_table[i] = c;
    }
}

static uint32_t spool_crc(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;

    crc = ~crc;
    while (len-- > 0)
        crc = spool_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void spool_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t spool_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void spool_header(unsigned char *h, uint64_t id)
{
    memcpy(h, SPOOL_MAGIC, 8);
    spool_put32(h + 8, (uint32_t)id);
    spool_put32(h + 12, (uint32_t)(id >> 32));
}

/* ---- files ---------------------------------------------------------------- */

static void spool_path(const struct spool *s, uint64_t id, const char *ext, char *buf,
                       size_t len)
{
    snprintf(buf, len, "%s/%016" PRIx64 "%s", s->dir, id, ext);
}

static int spool_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int spool_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static size_t spool_find(const struct spool *s, uint64_t id)
{
    for (size_t i = 0; i < s->nseg; i++)
        if (s->segs[i].id == id)
            return i;
    return s->nseg;
}

static int spool_reserve(struct spool *s)
{
    struct spool_seg *g;
    size_t n = s->aseg ? s->aseg * 2 : 16;

    if (s->nseg < s->aseg)
        return 0;
    g = realloc(s->segs, n * sizeof(*g));
    if (g == NULL)
        return NINES_ENOMEM;
    s->segs = g;
    s->aseg = n;
    return 0;
}

static void spool_close_reader(struct spool *s)
{
    if (s->rfd >= 0)
        close(s->rfd);
    s->rfd = -1;
}

/* Records of segment g that the reader has not handed out yet. */
static uint64_t spool_unread_in(const struct spool *s, const struct spool_seg *g)
{
    if (g->id > s->r_seg)
        return g->records;
    if (g->id == s->r_seg)
        return g->records > s->r_index ? g->records - s->r_index : 0;
    return 0;
}

/* Deletes segs[i] (its file, its descriptors); the caller counts. */
static void spool_remove(struct spool *s, size_t i)
{
    char path[4200];

    if (i == s->nseg - 1 && s->wfd >= 0) {
        close(s->wfd);
        s->wfd = -1;
        s->wlen = 0;
    }
    if (s->rfd >= 0 && s->rfd_seg == s->segs[i].id)
        spool_close_reader(s);
    spool_path(s, s->segs[i].id, ".seg", path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT)
        log_warn("spool_unlink_failed", "file=%s error=\"%s\"", path, strerror(errno));
    s->st.bytes -= s->segs[i].bytes;
    memmove(&s->segs[i], &s->segs[i + 1], (s->nseg - i - 1) * sizeof(s->segs[0]));
    s->nseg--;
}

/* ---- recovery ------------------------------------------------------------- */

static int spool_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Walks one segment's records; cuts the file at the first bad one. */
static int spool_scan_segment(struct spool *s, struct spool_seg *g, unsigned char *buf)
{
    char path[4200];
    unsigned char h[SPOOL_HEADER_BYTES], want[SPOOL_HEADER_BYTES];
    uint64_t off = SPOOL_HEADER_BYTES;
    struct stat sb;
    int fd;

    spool_path(s, g->id, ".seg", path, sizeof(path));
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        log_warn("spool_segment_unreadable", "file=%s error=\"%s\"", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    spool_header(want, g->id);
    if (spool_pread_all(fd, h, sizeof(h), 0) != 0 || memcmp(h, want, sizeof(h)) != 0) {
        close(fd);
        s->st.corrupt_segments++;
        log_warn("spool_segment_corrupt", "file=%s note=\"bad header, deleted\"", path);
        unlink(path);
        return -1;
    }
    while (off + SPOOL_RECORD_OVERHEAD <= (uint64_t)sb.st_size) {
        unsigned char rh[SPOOL_RECORD_OVERHEAD];
        uint32_t len;

        if (spool_pread_all(fd, rh, sizeof(rh), off) != 0)
            break;
        len = spool_get32(rh);
        if (len == 0 || len > SPOOL_MAX_RECORD ||
            off + SPOOL_RECORD_OVERHEAD + len > (uint64_t)sb.st_size ||
            spool_pread_all(fd, buf, len, off + SPOOL_RECORD_OVERHEAD) != 0 ||
            spool_crc(spool_crc(0, rh, 4), buf, len) != spool_get32(rh + 4))
            break;
        off += SPOOL_RECORD_OVERHEAD + len;
        g->records++;
    }
    if (off != (uint64_t)sb.st_size) {
        s->st.truncated++;
        log_warn("spool_segment_truncated",
                 "file=%s at=%" PRIu64 " size=%lld records_kept=%" PRIu64
                 " note=\"torn or corrupt record; the rest of the segment is dropped\"",
                 path, off, (long long)sb.st_size, g->records);
        if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
            log_warn("spool_truncate_failed", "file=%s error=\"%s\"", path, strerror(errno));
    }
    close(fd);
    g->bytes = off;
    if (g->records == 0) {
        unlink(path);
        return -1;
    }
    return 0;
}

static int spool_parse_name(const char *name, uint64_t *id)
{
    char *end;

    if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0 ||
        strspn(name, "0123456789abcdef") != 16)
        return -1;
    *id = strtoull(name, &end, 16);
    return 0;
}

static int spool_recover(struct spool *s, struct nines_err *err)
{
    DIR *d = opendir(s->dir);
    struct dirent *de;
    uint64_t *ids = NULL, id;
    size_t n = 0, cap = 0;
    unsigned char *buf;
    int rc = 0;

    if (d == NULL)
        return nines_err_set(err, NINES_EIO, "spool: cannot read directory %s: %s", s->dir,
                             strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) == 24 && strcmp(de->d_name + 16, ".seg.tmp") == 0 &&
            strspn(de->d_name, "0123456789abcdef") == 16) {   /* an unfinished prepend */
            unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        if (spool_parse_name(de->d_name, &id) != 0)
            continue;
        if (n == cap) {
            uint64_t *g = realloc(ids, (cap ? cap * 2 : 64) * sizeof(*ids));

            if (g == NULL) {
                rc = NINES_ENOMEM;
                break;
            }
            ids = g;
            cap = cap ? cap * 2 : 64;
        }
        ids[n++] = id;
    }
    closedir(d);
    buf = rc == 0 ? malloc(SPOOL_MAX_RECORD) : NULL;
    if (rc == 0 && buf == NULL)
        rc = NINES_ENOMEM;
    if (rc != 0) {
        free(ids);
        return nines_err_set(err, rc, "spool: out of memory reading %s", s->dir);
    }
    if (n > 1)
        qsort(ids, n, sizeof(*ids), spool_id_cmp);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct spool_seg g = { .id = ids[i] };

        if (spool_scan_segment(s, &g, buf) != 0)
            continue;
        rc = spool_reserve(s);
        if (rc != 0)
            break;
        s->segs[s->nseg++] = g;
        s->st.bytes += g.bytes;
    }
    free(buf);
    free(ids);
    if (rc != 0)
        return nines_err_set(err, rc, "spool: out of memory reading %s", s->dir);
    s->next_id = s->nseg > 0 ? s->segs[s->nseg - 1].id + 1 : SPOOL_FIRST_ID;
    if (s->next_id < SPOOL_FIRST_ID)
        s->next_id = SPOOL_FIRST_ID;
    s->r_seg = s->nseg > 0 ? s->segs[0].id : s->next_id;
    s->r_off = SPOOL_HEADER_BYTES;
    return 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, uint32_t segment_bytes,
                         struct nines_err *err)
{
    struct spool *s;

    if (dir == NULL || dir[0] == '\0' || strlen(dir) >= sizeof(s->dir)) {
        nines_err_set(err, NINES_EINVAL, "spool: directory name is empty or too long");
        return NULL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        nines_err_set(err, NINES_EIO, "spool: cannot create directory %s: %s", dir,
                      strerror(errno));
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->wbuf = malloc(SPOOL_WBUF)) == NULL) {
        free(s);
        nines_err_set(err, NINES_ENOMEM, "spool: out of memory");
        return NULL;
    }
    spool_crc_init();
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    s->max_bytes = max_bytes;
    if ((uint64_t)segment_bytes > max_bytes / 4)
        segment_bytes = (uint32_t)(max_bytes / 4 > UINT32_MAX ? UINT32_MAX : max_bytes / 4);
    s->seg_bytes = segment_bytes < 4096 ? 4096 : segment_bytes;
    s->wfd = -1;
    s->rfd = -1;
    s->lockfd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        nines_err_set(err, NINES_EIO, "spool: %s: %s", dir,
                      errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
        spool_close(s);
        return NULL;
    }
    if (spool_recover(s, err) != 0) {
        spool_close(s);
        return NULL;
    }
    return s;
}

/* ---- writing -------------------------------------------------------------- */

int spool_flush(struct spool *s, struct nines_err *err)
{
    char path[4200];

    if (s->wfd < 0 || s->wlen == 0)
        return 0;
    if (spool_write_all(s->wfd, s->wbuf, s->wlen) != 0) {
        int e = errno;

        /* keep the file at its last good length: a half-written record
         * must not sit in front of the ones written after it */
        if (ftruncate(s->wfd, (off_t)s->wfile) != 0 || lseek(s->wfd, 0, SEEK_END) < 0)
            log_warn("spool_truncate_failed", "error=\"%s\"", strerror(errno));
        spool_path(s, s->segs[s->nseg - 1].id, ".seg", path, sizeof(path));
        return nines_err_set(err, NINES_EIO, "spool: writing %s failed: %s", path,
                             strerror(e));
    }
    s->wfile += s->wlen;
    s->wlen = 0;
    return 0;
}

int spool_sync(struct spool *s, struct nines_err *err)
{
    int rc = spool_flush(s, err);

    if (rc != 0 || s->wfd < 0)
        return rc;
    if (fdatasync(s->wfd) != 0)
        return nines_err_set(err, NINES_EIO, "spool: fdatasync in %s failed: %s", s->dir,
                             strerror(errno));
    return 0;
}

int spool_sync_fd(struct spool *s)
{
    if (spool_flush(s, NULL) != 0 || s->wfd < 0)
        return -1;
    return fcntl(s->wfd, F_DUPFD_CLOEXEC, 0);
}

static int spool_roll(struct spool *s, struct nines_err *err)
{
    int rc = spool_sync(s, err);

    if (rc != 0)
        return rc;
    if (s->wfd >= 0)
        close(s->wfd);
    s->wfd = -1;
    return 0;
}

static int spool_create(struct spool *s, struct nines_err *err)
{
    char path[4200];
    struct spool_seg g = { .id = s->next_id, .bytes = SPOOL_HEADER_BYTES };
    int rc = spool_reserve(s);

    if (rc != 0)
        return nines_err_set(err, rc, "spool: out of memory");
    spool_path(s, g.id, ".seg", path, sizeof(path));
    s->wfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (s->wfd < 0)
        return nines_err_set(err, NINES_EIO, "spool: cannot create %s: %s", path,
                             strerror(errno));
    s->next_id++;
    spool_header(s->wbuf, g.id);
    s->wlen = SPOOL_HEADER_BYTES;
    s->wfile = 0;
    s->segs[s->nseg++] = g;
    s->st.bytes += g.bytes;
    return 0;
}

/* Past the bound, the oldest segment goes; its unread records are lost. */
static void spool_enforce_bound(struct spool *s, uint64_t need)
{
    while (s->nseg > 1 && s->st.bytes + need > s->max_bytes) {
        struct spool_seg g = s->segs[0];
        uint64_t lost = spool_unread_in(s, &g);

        s->st.dropped += lost;
        log_warn("spool_dropped",
                 "segment=%016" PRIx64 " records=%" PRIu64 " lost=%" PRIu64
                 " spool_dropped=%" PRIu64 " max_bytes=%" PRIu64,
                 g.id, g.records, lost, s->st.dropped, s->max_bytes);
        spool_remove(s, 0);
        if (g.id == s->r_seg) {
            s->r_seg = g.id + 1;      /* the next existing one is found by id */
            s->r_off = SPOOL_HEADER_BYTES;
            s->r_index = 0;
        }
    }
}

static void spool_frame(unsigned char *h, const void *rec, size_t len)
{
    spool_put32(h, (uint32_t)len);
    spool_put32(h + 4, spool_crc(spool_crc(0, h, 4), rec, len));
}

int spool_append(struct spool *s, const void *rec, size_t len, struct nines_err *err)
{
    uint64_t need = SPOOL_RECORD_OVERHEAD + len;
    struct spool_seg *g;
    int rc;

    if (len == 0 || len > SPOOL_MAX_RECORD)
        return nines_err_set(err, NINES_EINVAL, "spool: record of %zu bytes (1..%u)", len,
                             SPOOL_MAX_RECORD);
    if (s->wfd >= 0 && s->segs[s->nseg - 1].records > 0 &&
        s->segs[s->nseg - 1].bytes + need > s->seg_bytes && (rc = spool_roll(s, err)) != 0)
        return rc;
    if (s->wfd < 0 && (rc = spool_create(s, err)) != 0)
        return rc;
    spool_enforce_bound(s, need);
    if (s->wlen + need > SPOOL_WBUF && (rc = spool_flush(s, err)) != 0)
        return rc;
    g = &s->segs[s->nseg - 1];
    if (need > SPOOL_WBUF) {      /* bigger than the buffer: straight to the file */
        unsigned char h[SPOOL_RECORD_OVERHEAD];

        spool_frame(h, rec, len);
        if (spool_write_all(s->wfd, h, sizeof(h)) != 0 ||
            spool_write_all(s->wfd, rec, len) != 0) {
            if (ftruncate(s->wfd, (off_t)s->wfile) != 0)
                log_warn("spool_truncate_failed", "error=\"%s\"", strerror(errno));
            return nines_err_set(err, NINES_EIO, "spool: writing in %s failed: %s", s->dir,
                                 strerror(errno));
        }
        s->wfile += need;
    } else {
        spool_frame(s->wbuf + s->wlen, rec, len);
        memcpy(s->wbuf + s->wlen + SPOOL_RECORD_OVERHEAD, rec, len);
        s->wlen += need;
    }
    g->bytes += need;
    g->records++;
    s->st.bytes += need;
    s->st.appended++;
    return 0;
}

int spool_prepend(struct spool *s, const void *const *recs, const size_t *lens, size_t n,
                  struct nines_err *err)
{
    char tmp[4200], path[4200];
    unsigned char h[SPOOL_HEADER_BYTES];
    struct spool_seg g = { .bytes = SPOOL_HEADER_BYTES };
    int fd, rc;

    if (n == 0)
        return 0;
    if (s->nseg == 0) {           /* nothing to go in front of: plain appends */
        for (size_t i = 0; i < n; i++)
            if ((rc = spool_append(s, recs[i], lens[i], err)) != 0)
                return rc;
        return 0;
    }
    g.id = s->segs[0].id - 1;
    if (g.id == 0 || spool_find(s, g.id) != s->nseg || (rc = spool_reserve(s)) != 0)
        return nines_err_set(err, NINES_ESTATE, "spool: no room in front of segment %016"
                             PRIx64, s->segs[0].id);
    spool_path(s, g.id, ".seg.tmp", tmp, sizeof(tmp));
    spool_path(s, g.id, ".seg", path, sizeof(path));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return nines_err_set(err, NINES_EIO, "spool: cannot create %s: %s", tmp,
                             strerror(errno));
    spool_header(h, g.id);
    rc = spool_write_all(fd, h, sizeof(h));
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char rh[SPOOL_RECORD_OVERHEAD];

        if (lens[i] == 0 || lens[i] > SPOOL_MAX_RECORD)
            continue;
        spool_frame(rh, recs[i], lens[i]);
        rc = spool_write_all(fd, rh, sizeof(rh));
        if (rc == 0)
            rc = spool_write_all(fd, recs[i], lens[i]);
        g.bytes += SPOOL_RECORD_OVERHEAD + lens[i];
        g.records++;
    }
    if (rc == 0)
        rc = fdatasync(fd);
    close(fd);
    if (rc != 0 || rename(tmp, path) != 0) {
        int e = errno;

        unlink(tmp);
        return nines_err_set(err, NINES_EIO, "spool: writing %s failed: %s", path, strerror(e));
    }
    memmove(&s->segs[1], &s->segs[0], s->nseg * sizeof(s->segs[0]));
    s->segs[0] = g;
    s->nseg++;
    s->st.bytes += g.bytes;
    s->st.appended += g.records;
    s->r_seg = g.id;
    s->r_off = SPOOL_HEADER_BYTES;
    s->r_index = 0;
    spool_enforce_bound(s, 0);
    return 0;
}

/* ---- reading -------------------------------------------------------------- */

/* Points the reader at an existing segment with something left, or fails. */
static struct spool_seg *spool_reader_seg(struct spool *s)
{
    for (;;) {
        size_t i = spool_find(s, s->r_seg);
        struct spool_seg *g;

        if (i == s->nseg) {               /* deleted: go to the next one by id */
            for (i = 0; i < s->nseg && s->segs[i].id < s->r_seg; i++)
                ;
            if (i == s->nseg)
                return NULL;
            s->r_seg = s->segs[i].id;
            s->r_off = SPOOL_HEADER_BYTES;
            s->r_index = 0;
        }
        g = &s->segs[i];
        if (s->r_index < g->records)
            return g;
        if (i + 1 == s->nseg)
            return NULL;
        s->r_seg = s->segs[i + 1].id;
        s->r_off = SPOOL_HEADER_BYTES;
        s->r_index = 0;
    }
}

/* A record that does not check out at read time ends its segment. */
static void spool_read_failed(struct spool *s, struct spool_seg *g, const char *why)
{
    s->st.truncated++;
    s->st.dropped += g->records - s->r_index;
    log_warn("spool_record_bad", "segment=%016" PRIx64 " at=%" PRIu64 " lost=%" PRIu64
             " error=\"%s\"", g->id, s->r_off, g->records - s->r_index, why);
    g->records = s->r_index;
}

int spool_next(struct spool *s, void *buf, size_t cap, size_t *len, struct spool_mark *mark)
{
    unsigned char rh[SPOOL_RECORD_OVERHEAD];
    struct spool_seg *g = spool_reader_seg(s);
    char path[4200];
    uint32_t n;

    if (g == NULL)
        return 0;
    if (s->wfd >= 0 && g == &s->segs[s->nseg - 1] && s->r_off >= s->wfile &&
        spool_flush(s, NULL) != 0)
        return NINES_EIO;
    if (s->rfd < 0 || s->rfd_seg != g->id) {
        spool_close_reader(s);
        spool_path(s, g->id, ".seg", path, sizeof(path));
        s->rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->rfd < 0) {
            spool_read_failed(s, g, strerror(errno));
            return spool_next(s, buf, cap, len, mark);
        }
        s->rfd_seg = g->id;
    }
    if (spool_pread_all(s->rfd, rh, sizeof(rh), s->r_off) != 0) {
        spool_read_failed(s, g, "short read");
        return spool_next(s, buf, cap, len, mark);
    }
    n = spool_get32(rh);
    if (n == 0 || n > cap || n > SPOOL_MAX_RECORD ||
        spool_pread_all(s->rfd, buf, n, s->r_off + SPOOL_RECORD_OVERHEAD) != 0 ||
        spool_crc(spool_crc(0, rh, 4), buf, n) != spool_get32(rh + 4)) {
        spool_read_failed(s, g, n > cap ? "record larger than the buffer" : "bad record");
        return spool_next(s, buf, cap, len, mark);
    }
    s->r_off += SPOOL_RECORD_OVERHEAD + n;
    s->r_index++;
    *len = n;
    mark->seg = g->id;
    mark->index = s->r_index;
    mark->end_off = s->r_off;
    return 1;
}

void spool_ack(struct spool *s, const struct spool_mark *mark)
{
    size_t i = spool_find(s, mark->seg);
    struct spool_seg *g;

    if (i == s->nseg)
        return;       /* dropped past the bound meanwhile */
    while (i > 0) {   /* acks come in order: everything before is done */
        s->st.acked += s->segs[0].records - s->segs[0].acked;
        spool_remove(s, 0);
        i--;
    }
    g = &s->segs[0];
    if (mark->index <= g->acked)
        return;
    s->st.acked += mark->index - g->acked;
    g->acked = mark->index;
    if (g->acked >= g->records)
        spool_remove(s, 0);   /* the open one too: the next append starts anew */
}

void spool_rewind(struct spool *s)
{
    char path[4200];
    unsigned char rh[SPOOL_RECORD_OVERHEAD];
    uint64_t off = SPOOL_HEADER_BYTES;
    struct spool_seg *g;

    if (s->nseg == 0) {
        s->r_seg = s->next_id;
        s->r_off = SPOOL_HEADER_BYTES;
        s->r_index = 0;
        return;
    }
    g = &s->segs[0];
    s->r_seg = g->id;
    s->r_index = 0;
    s->r_off = SPOOL_HEADER_BYTES;
    if (g->acked == 0)
        return;
    /* skip the acknowledged prefix by walking the length fields */
    spool_flush(s, NULL);
    spool_path(s, g->id, ".seg", path, sizeof(path));
    spool_close_reader(s);
    s->rfd = open(path, O_RDONLY | O_CLOEXEC);
    s->rfd_seg = g->id;
    for (uint64_t k = 0; k < g->acked && s->rfd >= 0; k++) {
        if (spool_pread_all(s->rfd, rh, sizeof(rh), off) != 0)
            break;
        off += SPOOL_RECORD_OVERHEAD + spool_get32(rh);
    }
    s->r_off = off;
    s->r_index = g->acked;
}

void spool_get_stats(const struct spool *s, struct spool_stats *st)
{
    *st = s->st;
    st->pending = 0;
    st->unread = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        st->pending += s->segs[i].records - s->segs[i].acked;
        st->unread += spool_unread_in(s, &s->segs[i]);
    }
    st->segments = s->nseg;
}

void spool_close(struct spool *s)
{
    struct nines_err err = { 0 };

    if (s == NULL)
        return;
    if (s->wfd >= 0) {
        if (spool_sync(s, &err) != 0)
            log_warn("spool_sync_failed", "error=\"%s\"", err.msg);
        close(s->wfd);
    }
    spool_close_reader(s);
    if (s->lockfd >= 0)
        close(s->lockfd);
    free(s->segs);
    free(s->wbuf);
    free(s);
}
