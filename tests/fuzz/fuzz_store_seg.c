/*
 * fuzz_store_seg.c — libFuzzer target for the filesystem store's segment
 * files (dp_store_seg.c): the input is written as a segment file, then
 * recovered and read back. Recovery never fails on bad bytes (only on a
 * newer format version), the reader returns exactly the frames and events
 * recovery counted and skips exactly the bytes it counted as corrupt (in a
 * segment it kept), it
 * reaches the end in a bounded number of calls, and a second recovery finds
 * nothing left to cut. The temporary directory's name is picked once per
 * process; the directory is removed after every input, since libFuzzer
 * ends with _exit and no clean-up would run. Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dp_store_seg.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static char dir[64], seg_dir[96], rej_dir[96], seg_file[160], rej_file[160];
static uint8_t buf[1 << 16];

static void cleanup(void)
{
	unlink(seg_file);
	unlink(rej_file);
	rmdir(seg_dir);
	rmdir(rej_dir);
	rmdir(dir);
}

static void once(void)
{
	if (dir[0])
		return;
	strcpy(dir, "/tmp/sluice-fuzz-seg-XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(seg_dir, sizeof(seg_dir), "%s/q", dir);
	snprintf(rej_dir, sizeof(rej_dir), "%s/rejected", dir);
	snprintf(seg_file, sizeof(seg_file), "%s/0000000000000001.seg", seg_dir);
	snprintf(rej_file, sizeof(rej_file), "%s/0000000000000001.seg", rej_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct dp_seg_recovery rep, again;
	struct dp_err err;

	once();
	mkdir(dir, 0700);
	mkdir(seg_dir, 0700);
	int fd = open(seg_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, data, n) == (ssize_t)n);
	close(fd);

	int rc = dp_seg_recover(seg_dir, rej_dir, &rep, &err);
	if (rc == -ENOTSUP) {
		cleanup();
		return 0;
	}
	CHECK(rc == 0);
	CHECK(rep.nsegs <= 1);
	CHECK(rep.torn_bytes + rep.corrupt_bytes <= n);
	uint64_t frames = 0, records = 0;
	if (rep.nsegs) {
		frames = rep.segs[0].frames;
		records = rep.segs[0].records;
		CHECK(frames > 0 && rep.segs[0].bytes <= n);
		CHECK(rep.next_seq > rep.segs[0].last_seq);
		CHECK(rep.segs[0].quarantined == (rep.corrupt_bytes > 0));
	}
	free(rep.segs);

	struct dp_seg_reader *r = dp_seg_reader_create(seg_dir, (struct dp_seg_pos){ 0, 0 }, &err);
	CHECK(r);
	uint64_t got = 0, recs = 0;
	for (int i = 0;; i++) {
		struct dp_seg_meta m;
		struct dp_seg_pos pos;
		CHECK(i <= (int)n);
		rc = dp_seg_read(r, &m, buf, sizeof(buf), &pos);
		CHECK(rc == 0 || rc == 1);
		if (rc == 0)
			break;
		CHECK(m.len <= n && m.tag_len <= 256 && m.name_len <= DP_SEG_NAME_MAX);
		CHECK(pos.seg == 1 && pos.off + 48 + m.tag_len + m.name_len + m.len <= n);
		got++;
		recs += m.nrecs;
	}
	CHECK(got == frames && recs == records);
	CHECK(dp_seg_reader_skipped(r) == (frames ? rep.corrupt_bytes : 0));
	dp_seg_reader_destroy(r);

	CHECK(dp_seg_recover(seg_dir, rej_dir, &again, &err) == 0);
	CHECK(again.torn_bytes == 0 && again.nsegs == (frames > 0));
	CHECK(again.corrupt_bytes == (frames ? rep.corrupt_bytes : 0));
	free(again.segs);
	cleanup();
	return 0;
}
