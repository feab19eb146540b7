/*
 * The probe's on-disk spool, on real files in a temp dir: order of append
 * and read, acknowledgement deleting segments, the bound dropping the oldest
 * and counting, a torn last record cut on reopen, recovery after a restart,
 * corrupt segments, prepend, and bad arguments.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "testutil.h"

#define SEG 4096u

static char dir[256];
static char spdir[300];

static void setup(void)
{
    cr_assert(eq(int, test_tmpdir(dir, sizeof(dir)), 0));
    snprintf(spdir, sizeof(spdir), "%s/spool", dir);
}

static void teardown(void)
{
    test_rmtree(dir);
}

TestSuite(spool, .init = setup, .fini = teardown);

/* Record n: "rec-<n>-" then n % 97 bytes of filler, so sizes vary. */
static size_t make_rec(int n, char *buf, size_t cap)
{
    int len = snprintf(buf, cap, "rec-%d-", n);

    for (int i = 0; i < n % 97; i++)
        buf[len++] = (char)('a' + i % 26);
    return (size_t)len;
}

/* The n in "rec-<n>-...", or -1. */
static int rec_num(const char *buf, size_t len)
{
    char tmp[32];

    if (len < 5 || memcmp(buf, "rec-", 4) != 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(len < 31 ? len : 31), buf);
    return atoi(tmp + 4);
}

static void append_range(struct spool *s, int from, int to)
{
    char buf[256];
    struct nines_err err = { 0 };

    for (int i = from; i < to; i++) {
        size_t n = make_rec(i, buf, sizeof(buf));

        cr_assert(eq(int, spool_append(s, buf, n, &err), 0), "%s", err.msg);
    }
}

/* Reads one record, checks it is exactly record want, returns its mark. */
static struct spool_mark read_expect(struct spool *s, int want)
{
    char buf[256], exp[256];
    size_t len = 0, elen = make_rec(want, exp, sizeof(exp));
    struct spool_mark m;

    cr_assert(eq(int, spool_next(s, buf, sizeof(buf), &len, &m), 1), "record %d", want);
    cr_assert(eq(sz, len, elen), "record %d length", want);
    cr_assert(eq(int, memcmp(buf, exp, len), 0), "record %d content", want);
    return m;
}

static size_t count_segments(void)
{
    DIR *d = opendir(spdir);
    struct dirent *de;
    size_t n = 0;

    cr_assert(d != NULL);
    while ((de = readdir(d)) != NULL)
        n += strlen(de->d_name) == 20 && strcmp(de->d_name + 16, ".seg") == 0;
    closedir(d);
    return n;
}

/* Path of the idx-th segment file in name order (0 = oldest). */
static void segment_path(size_t idx, char *out, size_t len)
{
    struct dirent **names;
    int n = scandir(spdir, &names, NULL, alphasort), k = 0;

    cr_assert(gt(int, n, 0));
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strlen(names[i]->d_name) == 20 && strcmp(names[i]->d_name + 16, ".seg") == 0 &&
            (size_t)k++ == idx)
            snprintf(out, len, "%s/%s", spdir, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    cr_assert(ne(str, out, ""), "segment %zu exists", idx);
}

Test(spool, records_come_back_in_order_and_acks_delete_segments)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 1 << 20, SEG, &err);
    struct spool_stats st;
    struct spool_mark m;
    char buf[256];
    size_t len;

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 0, 300);
    spool_get_stats(s, &st);
    cr_assert(eq(u64, st.pending, 300));
    cr_assert(eq(u64, st.unread, 300));
    cr_assert(gt(sz, st.segments, 3), "300 records of ~60 bytes fill several 4 KiB segments");
    for (int i = 0; i < 300; i++) {
        m = read_expect(s, i);
        spool_ack(s, &m);
    }
    cr_assert(eq(int, spool_next(s, buf, sizeof(buf), &len, &m), 0), "nothing left");
    spool_get_stats(s, &st);
    cr_assert(eq(u64, st.pending, 0));
    cr_assert(eq(u64, st.acked, 300));
    cr_assert(eq(sz, st.segments, 0));
    cr_assert(eq(sz, count_segments(), 0), "acknowledged segments are deleted");
    /* and it keeps working after it emptied */
    append_range(s, 300, 310);
    for (int i = 300; i < 310; i++)
        read_expect(s, i);
    spool_close(s);
}

Test(spool, unacknowledged_records_are_read_again_after_rewind)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 1 << 20, SEG, &err);
    struct spool_mark m;

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 0, 200);
    for (int i = 0; i < 120; i++) {
        m = read_expect(s, i);
        if (i < 70)
            spool_ack(s, &m);     /* 70..119 were in flight when the link broke */
    }
    spool_rewind(s);
    for (int i = 70; i < 200; i++)
        read_expect(s, i);
    spool_close(s);
}

Test(spool, past_the_bound_the_oldest_segments_go_and_are_counted)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 16384, SEG, &err);
    struct spool_stats st;
    struct spool_mark m;
    char buf[256];
    size_t len;
    int first, prev;

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 0, 2000);
    spool_get_stats(s, &st);
    cr_assert(le(u64, st.bytes, 16384), "bytes on disk stay within the bound");
    cr_assert(gt(u64, st.dropped, 0));
    cr_assert(eq(u64, st.appended, 2000));
    cr_assert(eq(u64, st.unread + st.dropped, 2000), "every record is kept or counted");
    /* what is left is the newest, contiguous run */
    cr_assert(eq(int, spool_next(s, buf, sizeof(buf), &len, &m), 1));
    first = rec_num(buf, len);
    cr_assert(eq(int, first, (int)st.dropped), "exactly the oldest were dropped");
    prev = first;
    while (spool_next(s, buf, sizeof(buf), &len, &m) == 1) {
        cr_assert(eq(int, rec_num(buf, len), prev + 1));
        prev++;
    }
    cr_assert(eq(int, prev, 1999));
    spool_close(s);
}

Test(spool, a_drop_while_records_are_out_counts_only_the_unread)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 16384, SEG, &err);
    struct spool_stats st;
    struct spool_mark m;

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 0, 10);
    for (int i = 0; i < 10; i++)
        m = read_expect(s, i);          /* handed out, not acknowledged */
    append_range(s, 10, 2000);
    spool_get_stats(s, &st);
    cr_assert(eq(u64, st.unread + st.dropped, 1990), "the 10 out are not counted as lost");
    spool_ack(s, &m);                   /* an ack for a dropped segment is harmless */
    spool_get_stats(s, &st);
    cr_assert(eq(u64, st.pending, st.unread));
    spool_close(s);
}

Test(spool, a_restart_recovers_what_was_not_acknowledged)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 1 << 20, SEG, &err);
    struct spool_stats st;
    struct spool_mark m;
    char buf[256];
    size_t len;
    int first, prev;

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 0, 500);
    for (int i = 0; i < 300; i++) {
        m = read_expect(s, i);
        if (i < 250)
            spool_ack(s, &m);
    }
    spool_close(s);

    s = spool_open(spdir, 1 << 20, SEG, &err);
    cr_assert(s != NULL, "%s", err.msg);
    spool_get_stats(s, &st);
    cr_assert(eq(u64, st.truncated, 0));
    cr_assert(eq(int, spool_next(s, buf, sizeof(buf), &len, &m), 1));
    first = rec_num(buf, len);
    /* whole acknowledged segments are gone; the one half done comes back */
    cr_assert(le(int, first, 250));
    cr_assert(gt(int, first, 150), "acknowledged segments do not come back");
    cr_assert(eq(u64, st.pending, (uint64_t)(500 - first)));
    prev = first;
    while (spool_next(s, buf, sizeof(buf), &len, &m) == 1) {
        cr_assert(eq(int, rec_num(buf, len), prev + 1), "in order, no gap");
        prev++;
    }
    cr_assert(eq(int, prev, 499));
    /* appends after a restart go behind the recovered ones */
    append_range(s, 500, 505);
    for (int i = 500; i < 505; i++)
        read_expect(s, i);
    spool_close(s);
}

Test(spool, a_torn_last_record_is_cut_off_on_open)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 1 << 20, 1 << 16, &err);
    struct spool_stats st;
    char path[600];
    struct stat sb;

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 0, 20);
    spool_close(s);
    segment_path(0, path, sizeof(path));
    cr_assert(eq(int, stat(path, &sb), 0));
    cr_assert(eq(int, truncate(path, sb.st_size - 3), 0));   /* a crash mid-write */

    s = spool_open(spdir, 1 << 20, 1 << 16, &err);
    cr_assert(s != NULL, "%s", err.msg);
    spool_get_stats(s, &st);
    cr_assert(eq(u64, st.truncated, 1));
    cr_assert(eq(u64, st.pending, 19));
    for (int i = 0; i < 19; i++)
        read_expect(s, i);
    append_range(s, 20, 22);             /* new records are readable behind the cut */
    read_expect(s, 20);
    read_expect(s, 21);
    spool_close(s);
    cr_assert(eq(int, stat(path, &sb), 0));
}

Test(spool, a_corrupt_record_ends_its_segment_and_a_bad_header_drops_it)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 1 << 20, SEG, &err);
    struct spool_stats st;
    struct spool_mark m;
    char path[600], buf[256];
    size_t len;
    int fd, n = 0, last = -1;

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 0, 300);
    spool_close(s);
    /* segment 0: flip a payload byte of its 3rd record; segment 1: bad magic */
    segment_path(0, path, sizeof(path));
    fd = open(path, O_RDWR);
    cr_assert(ge(int, fd, 0));
    {
        size_t off = SPOOL_HEADER_BYTES;
        char rb[256];

        for (int i = 0; i < 2; i++)
            off += SPOOL_RECORD_OVERHEAD + make_rec(i, rb, sizeof(rb));
        cr_assert(eq(int, pwrite(fd, "X", 1, (off_t)(off + SPOOL_RECORD_OVERHEAD + 1)), 1));
    }
    close(fd);
    segment_path(1, path, sizeof(path));
    fd = open(path, O_RDWR);
    cr_assert(eq(int, pwrite(fd, "BROKEN!!", 8, 0), 8));
    close(fd);

    s = spool_open(spdir, 1 << 20, SEG, &err);
    cr_assert(s != NULL, "%s", err.msg);
    spool_get_stats(s, &st);
    cr_assert(eq(u64, st.truncated, 1));
    cr_assert(eq(u64, st.corrupt_segments, 1));
    cr_assert(eq(int, test_path_exists(path), 0), "the bad segment is deleted");
    read_expect(s, 0);
    read_expect(s, 1);
    /* then the third segment onwards, in order, to the end */
    while (spool_next(s, buf, sizeof(buf), &len, &m) == 1) {
        int k = rec_num(buf, len);

        cr_assert(gt(int, k, 2));
        if (last >= 0)
            cr_assert(eq(int, k, last + 1));
        last = k;
        n++;
    }
    cr_assert(eq(int, last, 299));
    cr_assert(eq(u64, (uint64_t)n + 2, st.pending));
    spool_close(s);
}

Test(spool, prepended_records_are_read_first)
{
    struct nines_err err = { 0 };
    struct spool *s = spool_open(spdir, 1 << 20, SEG, &err);
    char r0[64], r1[64];
    const void *recs[2] = { r0, r1 };
    size_t lens[2];

    cr_assert(s != NULL, "%s", err.msg);
    append_range(s, 10, 100);
    read_expect(s, 10);
    spool_rewind(s);
    lens[0] = make_rec(8, r0, sizeof(r0));
    lens[1] = make_rec(9, r1, sizeof(r1));
    cr_assert(eq(int, spool_prepend(s, recs, lens, 2, &err), 0), "%s", err.msg);
    for (int i = 8; i < 100; i++)
        read_expect(s, i);
    spool_close(s);
    /* and on disk, in that order, after a restart */
    s = spool_open(spdir, 1 << 20, SEG, &err);
    cr_assert(s != NULL, "%s", err.msg);
    for (int i = 8; i < 100; i++)
        read_expect(s, i);
    spool_close(s);
}

Test(spool, bad_arguments_get_clear_errors)
{
    struct nines_err err = { 0 };
    struct spool *s, *again;
    char big[8], path[600];

    snprintf(path, sizeof(path), "%s/plainfile", dir);
    cr_assert(eq(int, test_write_file(path, "x"), 0));
    cr_assert(eq(ptr, spool_open(path, 1 << 20, SEG, &err), NULL));
    cr_assert(ne(ptr, strstr(err.msg, "plainfile"), NULL), "names the path: %s", err.msg);

    s = spool_open(spdir, 1 << 20, SEG, &err);
    cr_assert(s != NULL, "%s", err.msg);
    again = spool_open(spdir, 1 << 20, SEG, &err);
    cr_assert(eq(ptr, again, NULL), "one process per spool");
    cr_assert(ne(ptr, strstr(err.msg, "in use"), NULL), "%s", err.msg);
    cr_assert(eq(int, spool_append(s, big, 0, &err), NINES_EINVAL));
    cr_assert(eq(int, spool_append(s, big, SPOOL_MAX_RECORD + 1, &err), NINES_EINVAL));
    cr_assert(ne(ptr, strstr(err.msg, "record"), NULL), "%s", err.msg);
    spool_close(s);
}
