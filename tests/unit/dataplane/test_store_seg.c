/*
 * test_store_seg.c — the filesystem store's segment files (dp_store_seg.h)
 * and their checksum (dp_crc32c): known CRC32C vectors and agreement of the
 * table, single-stream and three-stream variants at every length and
 * alignment; append and read back across rotations and past IOV_MAX
 * iovecs; a reader that goes on after more appends; torn tails truncated
 * and counted; corruption in the middle skipped, counted and quarantined; a
 * damaged file header; all-or-nothing appends when the file size limit
 * (RLIMIT_FSIZE, SIGXFSZ ignored: EFBIG, as ENOSPC would) cuts a frame;
 * removal of segments and of empty ones; next_seq.
 *
 * Each test works in its own temporary directory (setup/teardown).
 * With SLUICE_SEG_SEEDS=<dir> set, test_seeds also writes a few real
 * segment files there: the fuzz target's seed corpus
 * (tests/fuzz/corpus/store_seg/).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "dp_crc32c.h"
#include "dp_store_seg.h"

#define FILE_HDR 32
#define FRAME_HDR 48

static char tdir[64], sdir[128], rdir[128];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	strcpy(tdir, "/tmp/sluice-test-seg-XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(sdir, sizeof(sdir), "%s/q", tdir);
	snprintf(rdir, sizeof(rdir), "%s/rejected", tdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *segp(const char *dir, uint64_t seg)
{
	static char buf[4][256];
	static int i;
	char *b = buf[i++ & 3];
	snprintf(b, 256, "%s/%016" PRIx64 ".seg", dir, seg);
	return b;
}

static uint64_t fsize(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void fill(uint8_t *p, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 131 + i * 7 + (i >> 9));
}

static void meta_set(struct dp_seg_meta *m, uint64_t seq, uint32_t len)
{
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->time_ns = 1700000000000000000ull + seq;
	m->nrecs = (uint32_t)(seq % 7 + 1);
	m->len = len;
	m->tag_len = (uint16_t)snprintf(m->tag, sizeof(m->tag), "app.%" PRIu64, seq % 3);
	m->name_len = (uint16_t)snprintf(m->name, sizeof(m->name), "tail.%" PRIu64, seq % 2);
}

static uint64_t frame_size(const struct dp_seg_meta *m)
{
	return FRAME_HDR + m->tag_len + m->name_len + m->len;
}

/* Append frame seq with a payload of len bytes in one iovec. */
static int put(struct dp_seg_writer *w, uint64_t seq, uint32_t len, struct dp_seg_pos *pos)
{
	static uint8_t buf[4 << 20];
	struct dp_seg_meta m;
	assert_true(len <= sizeof(buf));
	meta_set(&m, seq, len);
	fill(buf, len, seq);
	struct iovec iov = { buf, len };
	return dp_seg_append(w, &m, &iov, 1, pos);
}

/* Read the next frame and check it is seq with len bytes as put() wrote. */
static void get(struct dp_seg_reader *r, uint64_t seq, uint32_t len, struct dp_seg_pos *pos)
{
	static uint8_t buf[4 << 20], want[4 << 20];
	struct dp_seg_meta m, e;
	assert_int_equal(dp_seg_read(r, &m, buf, sizeof(buf), pos), 1);
	meta_set(&e, seq, len);
	assert_int_equal(m.seq, seq);
	assert_int_equal(m.len, len);
	assert_int_equal(m.nrecs, e.nrecs);
	assert_int_equal(m.time_ns, e.time_ns);
	assert_int_equal(m.tag_len, e.tag_len);
	assert_int_equal(m.name_len, e.name_len);
	assert_memory_equal(m.tag, e.tag, e.tag_len);
	assert_memory_equal(m.name, e.name, e.name_len);
	fill(want, len, seq);
	assert_memory_equal(buf, want, len);
}

static void at_end(struct dp_seg_reader *r)
{
	static uint8_t buf[64];
	struct dp_seg_meta m;
	assert_int_equal(dp_seg_read(r, &m, buf, sizeof(buf), NULL), 0);
}

static void flip(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static struct dp_seg_reader *reader_at(uint64_t seg, uint64_t off)
{
	struct dp_err err;
	struct dp_seg_reader *r = dp_seg_reader_create(sdir, (struct dp_seg_pos){ seg, off }, &err);
	assert_non_null(r);
	return r;
}

static struct dp_seg_writer *writer(uint64_t next)
{
	struct dp_err err;
	struct dp_seg_writer *w = dp_seg_writer_create(sdir, next, &err);
	if (!w)
		fail_msg("%s", err.msg);
	return w;
}

static void recover(struct dp_seg_recovery *rep)
{
	struct dp_err err;
	int rc = dp_seg_recover(sdir, rdir, rep, &err);
	if (rc)
		fail_msg("%s", err.msg);
}

/* ---- CRC32C ---- */

static void test_crc_vectors(void **state)
{
	typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
	crc_fn fns[] = { dp_crc32c, dp_crc32c_sw, dp_crc32c_hw1, dp_crc32c_hw3 };
	unsigned nf = dp_crc32c_has_hw() ? 4 : 2;
	uint8_t z[32], ff[32], up[32], down[32];

	(void)state;
	memset(z, 0, 32);
	memset(ff, 0xff, 32);
	for (int i = 0; i < 32; i++)
		up[i] = (uint8_t)i, down[i] = (uint8_t)(31 - i);
	for (unsigned i = 0; i < nf; i++) {
		assert_int_equal(fns[i](0, "123456789", 9), 0xE3069283);
		assert_int_equal(fns[i](0, "", 0), 0);
		/* RFC 3720 B.4 */
		assert_int_equal(fns[i](0, z, 32), 0x8A9136AA);
		assert_int_equal(fns[i](0, ff, 32), 0x62A8AB43);
		assert_int_equal(fns[i](0, up, 32), 0x46DD794E);
		assert_int_equal(fns[i](0, down, 32), 0x113FDB5C);
		/* continuing a checksum */
		assert_int_equal(fns[i](fns[i](0, "1234", 4), "56789", 5), 0xE3069283);
	}
}

static void test_crc_agree(void **state)
{
	static uint8_t buf[200000];
	uint64_t x = 88172645463325252ull;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	bool hw = dp_crc32c_has_hw();
	for (size_t start = 0; start < 16; start++)
		for (size_t n = 0; n <= 300; n++) {
			uint32_t want = dp_crc32c_sw(0, buf + start, n);
			assert_int_equal(dp_crc32c(0, buf + start, n), want);
			if (hw) {
				assert_int_equal(dp_crc32c_hw1(0, buf + start, n), want);
				assert_int_equal(dp_crc32c_hw3(0, buf + start, n), want);
			}
		}
	/* the lengths where three streams start and end, around the 256-byte
	 * and 8 KiB rounds, and a whole 128 KiB chunk */
	static const size_t lens[] = { 767, 768, 769, 1536, 1543, 3 * 8192 - 1, 3 * 8192,
				       3 * 8192 + 1, 3 * 8192 + 768 + 5, 6 * 8192 + 7, 131072,
				       131072 + 3, 199990 };
	for (size_t i = 0; i < DP_ARRAY_SIZE(lens); i++)
		for (size_t start = 0; start < 9; start += 1) {
			uint32_t want = dp_crc32c_sw(0, buf + start, lens[i]);
			assert_int_equal(dp_crc32c(0, buf + start, lens[i]), want);
			if (hw) {
				assert_int_equal(dp_crc32c_hw1(0, buf + start, lens[i]), want);
				assert_int_equal(dp_crc32c_hw3(0, buf + start, lens[i]), want);
			}
			/* split anywhere: the same as in one go */
			size_t cut = lens[i] / 3 + start;
			assert_int_equal(dp_crc32c(dp_crc32c(0, buf + start, cut), buf + start + cut,
						   lens[i] - cut), want);
		}
	/* a continued checksum with a non-zero start */
	assert_int_equal(dp_crc32c(0x12345678, buf, 100000),
			 dp_crc32c_sw(0x12345678, buf, 100000));
}

/* ---- writer and reader ---- */

static void test_round_trip_rotation(void **state)
{
	struct dp_seg_writer *w = writer(1);
	struct dp_seg_pos pos[40];
	const uint32_t len = 3u << 20;

	(void)state;
	assert_int_equal(dp_seg_writer_seg(w), 1);
	assert_int_equal(dp_seg_writer_bytes(w), FILE_HDR);
	assert_true(dp_seg_writer_fd(w) >= 0);
	/* 3 MiB frames: a new segment once 16 MiB are passed, after 6 */
	for (uint64_t s = 1; s <= 14; s++) {
		assert_int_equal(put(w, s, len, &pos[s]), 0);
		uint64_t want_seg = s <= 6 ? 1 : s <= 12 ? 7 : 13;
		assert_int_equal(pos[s].seg, want_seg);
	}
	assert_int_equal(pos[1].off, FILE_HDR);
	assert_int_equal(dp_seg_writer_seg(w), 13);
	assert_true(exists(segp(sdir, 1)) && exists(segp(sdir, 7)) && exists(segp(sdir, 13)));
	struct dp_seg_meta m;
	meta_set(&m, 1, len);
	assert_int_equal(pos[2].off, FILE_HDR + frame_size(&m));

	struct dp_seg_reader *r = reader_at(0, 0);
	for (uint64_t s = 1; s <= 14; s++) {
		struct dp_seg_pos p;
		get(r, s, len, &p);
		assert_int_equal(p.seg, pos[s].seg);
		assert_int_equal(p.off, pos[s].off);
	}
	at_end(r);
	assert_int_equal(dp_seg_reader_skipped(r), 0);
	dp_seg_reader_destroy(r);

	/* a reader from a frame's position starts with that frame */
	r = reader_at(pos[9].seg, pos[9].off);
	for (uint64_t s = 9; s <= 14; s++)
		get(r, s, len, NULL);
	at_end(r);
	dp_seg_reader_destroy(r);
	dp_seg_writer_destroy(w);
}

/* Many small frames, many iovecs: more than IOV_MAX, empty ones, and a
 * frame with no payload at all. */
static void test_many_iovecs(void **state)
{
	static uint8_t data[1 << 20];
	static struct iovec iov[1100];
	struct dp_seg_writer *w = writer(5);
	struct dp_seg_meta m;
	uint32_t len = 0;

	(void)state;
	fill(data, sizeof(data), 77);
	for (unsigned i = 0; i < DP_ARRAY_SIZE(iov); i++) {
		size_t l = i % 10 == 3 ? 0 : (i * 37) % 900 + 1;
		iov[i].iov_base = data + len;
		iov[i].iov_len = l;
		len += (uint32_t)l;
	}
	meta_set(&m, 77, len);
	m.len = len + 1;
	assert_int_equal(dp_seg_append(w, &m, iov, DP_ARRAY_SIZE(iov), NULL), -EINVAL);
	m.len = len;
	assert_int_equal(dp_seg_append(w, &m, iov, DP_ARRAY_SIZE(iov), NULL), 0);
	/* seqs only go up */
	assert_int_equal(dp_seg_append(w, &m, iov, DP_ARRAY_SIZE(iov), NULL), -EINVAL);
	meta_set(&m, 78, 0);
	assert_int_equal(dp_seg_append(w, &m, NULL, 0, NULL), 0);
	for (uint64_t s = 79; s < 1079; s++)
		assert_int_equal(put(w, s, (uint32_t)(s % 50), NULL), 0);

	struct dp_seg_reader *r = reader_at(0, 0);
	static uint8_t buf[1 << 20];
	assert_int_equal(dp_seg_read(r, &m, buf, sizeof(buf), NULL), 1);
	assert_int_equal(m.seq, 77);
	assert_int_equal(m.len, len);
	assert_memory_equal(buf, data, len);
	get(r, 78, 0, NULL);
	for (uint64_t s = 79; s < 1079; s++)
		get(r, s, (uint32_t)(s % 50), NULL);
	at_end(r);
	dp_seg_reader_destroy(r);
	dp_seg_writer_destroy(w);

	struct dp_seg_recovery rep;
	recover(&rep);
	assert_int_equal(rep.nsegs, 1);
	assert_int_equal(rep.segs[0].seg, 5);
	assert_int_equal(rep.segs[0].first_seq, 77);
	assert_int_equal(rep.segs[0].last_seq, 1078);
	assert_int_equal(rep.segs[0].frames, 1002);
	assert_int_equal(rep.next_seq, 1079);
	free(rep.segs);
}

static void test_reader_follows(void **state)
{
	struct dp_seg_writer *w = writer(1);
	struct dp_seg_reader *r = reader_at(1, 0);

	(void)state;
	at_end(r);
	assert_int_equal(put(w, 1, 100, NULL), 0);
	get(r, 1, 100, NULL);
	at_end(r);
	at_end(r);
	assert_int_equal(put(w, 2, 200, NULL), 0);
	assert_int_equal(put(w, 3, 300, NULL), 0);
	get(r, 2, 200, NULL);
	get(r, 3, 300, NULL);
	at_end(r);
	/* through a rotation while the reader waits at the end */
	assert_int_equal(put(w, 4, 4u << 20, NULL), 0);
	assert_int_equal(put(w, 5, 4u << 20, NULL), 0);
	assert_int_equal(put(w, 6, 4u << 20, NULL), 0);
	assert_int_equal(put(w, 7, 4u << 20, NULL), 0);
	get(r, 4, 4u << 20, NULL);
	get(r, 5, 4u << 20, NULL);
	get(r, 6, 4u << 20, NULL);
	get(r, 7, 4u << 20, NULL);
	at_end(r);
	assert_int_equal(put(w, 8, 10, NULL), 0); /* rotates */
	assert_int_equal(dp_seg_writer_seg(w), 8);
	get(r, 8, 10, NULL);
	at_end(r);

	/* a frame longer than the caller's buffer is skipped and counted */
	assert_int_equal(put(w, 9, 1000, NULL), 0);
	assert_int_equal(put(w, 10, 10, NULL), 0);
	struct dp_seg_meta m;
	uint8_t small[64];
	assert_int_equal(dp_seg_read(r, &m, small, sizeof(small), NULL), 1);
	assert_int_equal(m.seq, 10);
	meta_set(&m, 9, 1000);
	assert_int_equal(dp_seg_reader_skipped(r), frame_size(&m));
	dp_seg_reader_destroy(r);

	/* a reader created before any segment exists waits for one */
	dp_seg_writer_destroy(w);
	r = reader_at(100, 0);
	at_end(r);
	w = writer(100);
	at_end(r);
	assert_int_equal(put(w, 100, 5, NULL), 0);
	get(r, 100, 5, NULL);
	at_end(r);
	dp_seg_reader_destroy(r);
	dp_seg_writer_destroy(w);
}

/* ---- recovery ---- */

static void test_torn_tail(void **state)
{
	struct dp_seg_writer *w = writer(1);
	struct dp_seg_pos pos[4];
	struct dp_seg_recovery rep;
	struct dp_seg_meta m3;

	(void)state;
	for (uint64_t s = 1; s <= 3; s++)
		assert_int_equal(put(w, s, 1000, &pos[s]), 0);
	dp_seg_writer_destroy(w);
	meta_set(&m3, 3, 1000);
	const char *p = segp(sdir, 1);
	uint64_t full = fsize(p);
	assert_int_equal(full, pos[3].off + frame_size(&m3));

	/* cut in the third frame's payload: its header is whole */
	assert_int_equal(truncate(p, (off_t)(full - 100)), 0);
	recover(&rep);
	assert_int_equal(rep.torn_bytes, frame_size(&m3) - 100);
	assert_int_equal(rep.torn_frames, 1);
	assert_int_equal(rep.torn_records, m3.nrecs);
	assert_int_equal(rep.corrupt_bytes, 0);
	assert_int_equal(rep.quarantined, 0);
	assert_int_equal(rep.nsegs, 1);
	assert_int_equal(rep.segs[0].frames, 2);
	assert_int_equal(rep.segs[0].last_seq, 2);
	assert_int_equal(rep.segs[0].bytes, pos[3].off);
	assert_int_equal(rep.next_seq, 3);
	assert_int_equal(fsize(p), pos[3].off);
	free(rep.segs);

	/* recovery again finds nothing to do */
	recover(&rep);
	assert_int_equal(rep.torn_bytes, 0);
	assert_int_equal(rep.segs[0].frames, 2);
	free(rep.segs);

	/* a new writer starts a new segment; a flipped byte in the last
	 * frame's payload is a torn tail too */
	w = writer(3);
	assert_int_equal(put(w, 3, 1000, &pos[3]), 0);
	dp_seg_writer_destroy(w);
	flip(segp(sdir, 3), pos[3].off + 500);
	recover(&rep);
	assert_int_equal(rep.torn_bytes, frame_size(&m3));
	assert_int_equal(rep.torn_frames, 1);
	assert_int_equal(rep.corrupt_bytes, 0);
	assert_int_equal(rep.nsegs, 1); /* segment 3 had no frame left */
	assert_false(exists(segp(sdir, 3)));
	assert_int_equal(rep.next_seq, 3);
	free(rep.segs);

	/* cut in the middle of a frame header: not counted as a frame */
	w = writer(3);
	assert_int_equal(put(w, 3, 1000, &pos[3]), 0);
	assert_int_equal(put(w, 4, 1000, NULL), 0);
	dp_seg_writer_destroy(w);
	assert_int_equal(truncate(segp(sdir, 3), (off_t)(pos[3].off + frame_size(&m3) + 20)), 0);
	recover(&rep);
	assert_int_equal(rep.torn_bytes, 20);
	assert_int_equal(rep.torn_frames, 0);
	assert_int_equal(rep.nsegs, 2);
	assert_int_equal(rep.next_seq, 4);
	free(rep.segs);

	struct dp_seg_reader *r = reader_at(0, 0);
	for (uint64_t s = 1; s <= 3; s++)
		get(r, s, 1000, NULL);
	at_end(r);
	assert_int_equal(dp_seg_reader_skipped(r), 0);
	dp_seg_reader_destroy(r);
}

static void test_middle_corruption(void **state)
{
	struct dp_seg_writer *w = writer(1);
	struct dp_seg_pos pos[6];
	struct dp_seg_recovery rep;
	struct dp_seg_meta m3;
	const char *p = segp(sdir, 1);

	(void)state;
	for (uint64_t s = 1; s <= 5; s++)
		assert_int_equal(put(w, s, 5000, &pos[s]), 0);
	dp_seg_writer_destroy(w);
	meta_set(&m3, 3, 5000);
	flip(p, pos[3].off + FRAME_HDR + 4000);
	uint64_t size = fsize(p);

	recover(&rep);
	assert_int_equal(rep.corrupt_bytes, frame_size(&m3));
	assert_int_equal(rep.quarantined, 1);
	assert_int_equal(rep.torn_bytes, 0);
	assert_int_equal(rep.nsegs, 1);
	assert_true(rep.segs[0].quarantined);
	assert_int_equal(rep.segs[0].frames, 4);
	assert_int_equal(rep.segs[0].records, 2 + 3 + 5 + 6); /* seq % 7 + 1 */
	assert_int_equal(rep.next_seq, 6);
	assert_int_equal(fsize(p), size); /* left in place */
	assert_int_equal(fsize(segp(rdir, 1)), size);
	free(rep.segs);

	struct dp_seg_reader *r = reader_at(0, 0);
	get(r, 1, 5000, NULL);
	get(r, 2, 5000, NULL);
	struct dp_seg_pos at;
	get(r, 4, 5000, &at);
	assert_int_equal(at.off, pos[4].off);
	get(r, 5, 5000, NULL);
	at_end(r);
	assert_int_equal(dp_seg_reader_skipped(r), frame_size(&m3));
	dp_seg_reader_destroy(r);

	/* a header byte of frame 2 damaged: the same */
	flip(p, pos[2].off + 20);
	recover(&rep);
	assert_int_equal(rep.corrupt_bytes, 2 * frame_size(&m3));
	assert_int_equal(rep.quarantined, 1);
	assert_int_equal(rep.segs[0].frames, 3);
	free(rep.segs);

	/* a damaged file header: its bytes skipped, the frames kept */
	flip(p, 3);
	recover(&rep);
	assert_int_equal(rep.corrupt_bytes, FILE_HDR + 2 * frame_size(&m3));
	assert_int_equal(rep.segs[0].frames, 3);
	free(rep.segs);
	r = reader_at(0, 0);
	get(r, 1, 5000, NULL);
	get(r, 4, 5000, NULL);
	get(r, 5, 5000, NULL);
	at_end(r);
	assert_int_equal(dp_seg_reader_skipped(r), FILE_HDR + 2 * frame_size(&m3));
	dp_seg_reader_destroy(r);

	/* a file of garbage: quarantined and removed */
	int fd = open(segp(sdir, 9), O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not a segment file at all", 33), 33);
	close(fd);
	recover(&rep);
	assert_int_equal(rep.nsegs, 1);
	assert_false(exists(segp(sdir, 9)));
	assert_true(exists(segp(rdir, 9)));
	assert_int_equal(rep.quarantined, 2);
	free(rep.segs);
}

/* A frame whose (checked) header claims more bytes than the file holds, with
 * a valid frame inside those bytes: corruption, not a torn tail. Found by
 * the fuzz target: a recovery that cut there lost the valid frame on the
 * next start. */
static void test_torn_header_then_valid(void **state)
{
	struct dp_seg_writer *w = writer(1);
	struct dp_seg_pos pos[4];
	struct dp_seg_recovery rep;
	struct dp_seg_meta m2;
	uint8_t h[FRAME_HDR];

	(void)state;
	for (uint64_t s = 1; s <= 3; s++)
		assert_int_equal(put(w, s, 300, &pos[s]), 0);
	dp_seg_writer_destroy(w);
	meta_set(&m2, 2, 300);
	int fd = open(segp(sdir, 1), O_RDWR);
	assert_int_equal(pread(fd, h, sizeof(h), (off_t)pos[2].off), FRAME_HDR);
	uint32_t len = 1u << 30, c;
	memcpy(h + 16, &len, 4);
	c = dp_crc32c(0, h + 12, FRAME_HDR - 12);
	memcpy(h + 8, &c, 4);
	assert_int_equal(pwrite(fd, h, sizeof(h), (off_t)pos[2].off), FRAME_HDR);
	close(fd);
	for (int round = 0; round < 2; round++) {
		recover(&rep);
		assert_int_equal(rep.corrupt_bytes, frame_size(&m2));
		assert_int_equal(rep.torn_bytes, 0);
		assert_int_equal(rep.segs[0].frames, 2);
		assert_int_equal(rep.next_seq, 4);
		free(rep.segs);
		struct dp_seg_reader *r = reader_at(0, 0);
		get(r, 1, 300, NULL);
		get(r, 3, 300, NULL);
		at_end(r);
		assert_int_equal(dp_seg_reader_skipped(r), frame_size(&m2));
		dp_seg_reader_destroy(r);
	}
}

static void test_newer_version(void **state)
{
	struct dp_seg_writer *w = writer(1);
	struct dp_seg_recovery rep;
	struct dp_err err;
	uint8_t h[FILE_HDR];

	(void)state;
	assert_int_equal(put(w, 1, 10, NULL), 0);
	dp_seg_writer_destroy(w);
	int fd = open(segp(sdir, 1), O_RDWR);
	assert_int_equal(pread(fd, h, sizeof(h), 0), FILE_HDR);
	h[8] = 2;
	uint32_t c = dp_crc32c(0, h, 28);
	memcpy(h + 28, &c, 4);
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), FILE_HDR);
	close(fd);
	assert_int_equal(dp_seg_recover(sdir, rdir, &rep, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "version 2"));
}

/* ---- all or nothing ---- */

static void test_file_size_limit(void **state)
{
	struct rlimit old, lim;
	struct dp_seg_writer *w = writer(1);
	struct dp_seg_pos pos;

	(void)state;
	assert_int_equal(put(w, 1, 1000, NULL), 0);
	uint64_t before = dp_seg_writer_bytes(w);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = before + 5000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

	/* 4000 fits, the next does not: part of it was written, then EFBIG,
	 * and the file is cut back */
	assert_int_equal(put(w, 2, 4000, NULL), 0);
	uint64_t mid = dp_seg_writer_bytes(w);
	assert_int_equal(put(w, 3, 4000, NULL), -EFBIG);
	assert_int_equal(fsize(segp(sdir, 1)), mid);
	assert_int_equal(dp_seg_writer_bytes(w), mid);

	/* many iovecs over IOV_MAX, cut in a later pwritev */
	static uint8_t data[3000];
	static struct iovec iov[1500];
	struct dp_seg_meta m;
	for (unsigned i = 0; i < DP_ARRAY_SIZE(iov); i++)
		iov[i] = (struct iovec){ data + (i % 1000), 2 };
	meta_set(&m, 3, 3000);
	assert_int_equal(dp_seg_append(w, &m, iov, DP_ARRAY_SIZE(iov), NULL), -EFBIG);
	assert_int_equal(fsize(segp(sdir, 1)), mid);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	/* the writer goes on with the same seq */
	assert_int_equal(put(w, 3, 4000, &pos), 0);
	assert_int_equal(pos.off, mid);
	dp_seg_writer_destroy(w);

	struct dp_seg_reader *r = reader_at(0, 0);
	get(r, 1, 1000, NULL);
	get(r, 2, 4000, NULL);
	get(r, 3, 4000, NULL);
	at_end(r);
	assert_int_equal(dp_seg_reader_skipped(r), 0);
	dp_seg_reader_destroy(r);
	struct dp_seg_recovery rep;
	recover(&rep);
	assert_int_equal(rep.torn_bytes + rep.corrupt_bytes, 0);
	assert_int_equal(rep.next_seq, 4);
	free(rep.segs);
}

/* ---- removal ---- */

static void test_remove_and_empty(void **state)
{
	struct dp_seg_recovery rep;
	struct dp_err err;

	(void)state;
	/* empty segments (a header only, nothing, a cut header) go */
	struct dp_seg_writer *w = writer(1);
	dp_seg_writer_destroy(w);
	int fd = open(segp(sdir, 2), O_WRONLY | O_CREAT, 0600);
	close(fd);
	w = writer(3);
	dp_seg_writer_destroy(w);
	assert_int_equal(truncate(segp(sdir, 3), 10), 0);
	fd = open(segp(sdir, 4), O_WRONLY | O_CREAT, 0600);
	close(fd);
	fd = open(segp(sdir, 5), O_WRONLY | O_CREAT, 0600);
	close(fd);
	char other[256];
	snprintf(other, sizeof(other), "%s/notes.txt", sdir);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	close(fd);
	recover(&rep);
	assert_int_equal(rep.nsegs, 0);
	free(rep.segs);
	assert_int_equal(rep.next_seq, 1);
	assert_int_equal(rep.torn_bytes, 10);
	assert_int_equal(rep.quarantined, 0);
	for (uint64_t s = 1; s <= 5; s++)
		assert_false(exists(segp(sdir, s)));
	assert_true(exists(other));

	/* recovery makes the directory when it is missing */
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/a/b", tdir);
	assert_int_equal(dp_seg_recover(sub, rdir, &rep, &err), 0);
	assert_int_equal(rep.nsegs, 0);
	free(rep.segs);
	assert_true(exists(sub));

	/* three segments, the first delivered and removed: a reader from the
	 * start begins with the second */
	w = writer(1);
	assert_int_equal(put(w, 1, 10, NULL), 0);
	dp_seg_writer_destroy(w);
	w = writer(2);
	assert_int_equal(put(w, 2, 10, NULL), 0);
	dp_seg_writer_destroy(w);
	w = writer(3);
	assert_int_equal(put(w, 3, 10, NULL), 0);
	/* a writer never opens an existing file */
	assert_null(dp_seg_writer_create(sdir, 3, &err));
	assert_int_equal(err.code, -EEXIST);
	assert_int_equal(dp_seg_remove(sdir, 1), 0);
	assert_int_equal(dp_seg_remove(sdir, 1), -ENOENT);
	struct dp_seg_reader *r = reader_at(0, 0);
	get(r, 2, 10, NULL);
	/* removing the one being read does not disturb the reader */
	assert_int_equal(dp_seg_remove(sdir, 2), 0);
	get(r, 3, 10, NULL);
	at_end(r);
	dp_seg_reader_destroy(r);
	dp_seg_writer_destroy(w);
	recover(&rep);
	assert_int_equal(rep.nsegs, 1);
	assert_int_equal(rep.segs[0].seg, 3);
	assert_int_equal(rep.next_seq, 4);
	free(rep.segs);
}

/* With SLUICE_SEG_SEEDS set: write the fuzz target's seed corpus. */
static void test_seeds(void **state)
{
	const char *out = getenv("SLUICE_SEG_SEEDS");
	char cmd[512];

	(void)state;
	if (!out)
		skip();
	struct dp_seg_writer *w = writer(1);
	for (uint64_t s = 1; s <= 6; s++)
		assert_int_equal(put(w, s, (uint32_t)(s * 97 % 400), NULL), 0);
	dp_seg_writer_destroy(w);
	snprintf(cmd, sizeof(cmd), "cp %s %s/six_frames.seg", segp(sdir, 1), out);
	assert_int_equal(system(cmd), 0);
	flip(segp(sdir, 1), 32 + 48 + 20);
	snprintf(cmd, sizeof(cmd), "cp %s %s/middle_bad.seg", segp(sdir, 1), out);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(truncate(segp(sdir, 1), (off_t)(fsize(segp(sdir, 1)) - 50)), 0);
	snprintf(cmd, sizeof(cmd), "cp %s %s/torn_tail.seg", segp(sdir, 1), out);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(dp_seg_remove(sdir, 1), 0);
	w = writer(1);
	assert_int_equal(put(w, 1, 0, NULL), 0);
	assert_int_equal(put(w, 2, 1, NULL), 0);
	dp_seg_writer_destroy(w);
	snprintf(cmd, sizeof(cmd), "cp %s %s/tiny.seg", segp(sdir, 1), out);
	assert_int_equal(system(cmd), 0);
}

/* A delivered segment is recycled (renamed free.<k>) and taken over by the
 * next new segment: its old frames beyond the new data are told apart by
 * their sequence numbers and never read, counted or cut as torn, and a
 * reader whose lookahead saw them still finds what is appended later. */
static void test_recycled_segment(void **state)
{
	(void)state;
	struct dp_seg_recovery rep;
	char fp[256];
	struct dp_seg_writer *w = writer(1);
	for (uint64_t s = 1; s <= 8; s++)
		assert_int_equal(put(w, s, 1000, NULL), 0);
	dp_seg_writer_destroy(w);
	uint64_t old = fsize(segp(sdir, 1));
	assert_int_equal(dp_seg_remove(sdir, 1), 0);
	snprintf(fp, sizeof(fp), "%s/free.0", sdir);
	assert_true(exists(fp));
	assert_false(exists(segp(sdir, 1)));
	/* the next segment takes it over: old frames 2..8 lie beyond */
	w = writer(9);
	assert_false(exists(fp));
	assert_int_equal(fsize(segp(sdir, 9)), old);
	assert_int_equal(put(w, 9, 10, NULL), 0);
	struct dp_seg_reader *r = reader_at(9, 0);
	get(r, 9, 10, NULL);
	at_end(r);                      /* old frame 2's bytes are next: the end */
	at_end(r);
	assert_int_equal(put(w, 10, 20, NULL), 0);
	get(r, 10, 20, NULL);           /* its lookahead held the old bytes */
	at_end(r);
	assert_int_equal(dp_seg_reader_skipped(r), 0);
	dp_seg_reader_destroy(r);
	dp_seg_writer_destroy(w);
	recover(&rep);
	assert_int_equal(rep.nsegs, 1);
	assert_int_equal(rep.segs[0].frames, 2);
	assert_int_equal(rep.torn_bytes, 0);
	assert_int_equal(rep.corrupt_bytes, 0);
	assert_int_equal(rep.next_seq, 11);
	assert_int_equal(fsize(segp(sdir, 9)), rep.segs[0].bytes);   /* old bytes cut */
	free(rep.segs);
	/* at most 4 free files; more are deleted */
	w = writer(11);
	for (uint64_t s = 11; s <= 16; s++)
		assert_int_equal(put(w, s, 10, NULL), 0);
	dp_seg_writer_destroy(w);
	for (uint64_t s = 9; s <= 16; s += 2) {
		w = writer(s + 100);
		dp_seg_writer_destroy(w);
	}
	unsigned nfree = 0;
	for (unsigned k = 0; k < 8; k++) {
		snprintf(fp, sizeof(fp), "%s/free.%u", sdir, k);
		nfree += exists(fp);
	}
	assert_int_equal(nfree, 0);     /* four writers took the ones there were */
	assert_int_equal(dp_seg_remove(sdir, 9), 0);
	assert_int_equal(dp_seg_remove(sdir, 11), 0);
	assert_int_equal(dp_seg_remove(sdir, 109), 0);
	assert_int_equal(dp_seg_remove(sdir, 111), 0);
	assert_int_equal(dp_seg_remove(sdir, 113), 0);
	for (unsigned k = 0; k < 8; k++) {
		snprintf(fp, sizeof(fp), "%s/free.%u", sdir, k);
		nfree += exists(fp);
	}
	assert_int_equal(nfree, 4);
	assert_false(exists(segp(sdir, 113)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_vectors),
		cmocka_unit_test(test_crc_agree),
		cmocka_unit_test_setup_teardown(test_round_trip_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_iovecs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_follows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_middle_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_header_then_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recycled_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seeds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
