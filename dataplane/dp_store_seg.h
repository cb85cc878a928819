/*
 * dp_store_seg.h — the segment files of the filesystem store: one
 * directory per shard, append-only files of framed chunks, each frame
 * checked by a CRC32C. The format is written up in docs/STORAGE.md and
 * in prose at the top of dp_store_seg.c.
 *
 * A directory holds segment files named by the sequence number of their
 * first frame, "%016" PRIx64 ".seg", so name order is write order. A
 * writer never appends to a file it did not create: after a restart it
 * starts a new segment. Sequence numbers are per directory and strictly
 * increasing across its segments.
 *
 * Threads: a writer and the readers of one directory belong to one thread
 * (the shard that owns the directory); nothing here locks.
 */
#ifndef DP_STORE_SEG_H
#define DP_STORE_SEG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include "dp_common.h"

/* A writer starts a new segment once the current one is past this. */
#define DP_SEG_MAX_BYTES (16u << 20)
/* Longest input name a frame carries. */
#define DP_SEG_NAME_MAX 64

/* What a frame says about the chunk it carries. */
struct dp_seg_meta {
	uint64_t seq;          /* per directory, strictly increasing */
	uint64_t time_ns;      /* CLOCK_REALTIME when written */
	uint32_t nrecs;        /* events in the payload */
	uint32_t len;          /* payload bytes: msgpack events, back to back */
	uint16_t tag_len;
	uint16_t name_len;
	char tag[256];         /* DP_TAG_MAX: the records' tag */
	char name[DP_SEG_NAME_MAX]; /* the input instance that read them */
};

/* Where a frame starts: its segment (by first seq) and byte offset. */
struct dp_seg_pos {
	uint64_t seg;
	uint64_t off;
};

/* ---- recovery: once per directory, before a writer or reader opens ---- */

struct dp_seg_info {
	uint64_t seg;          /* first seq, from the file name */
	uint64_t first_seq, last_seq;
	uint64_t frames;       /* valid frames */
	uint64_t records;      /* events in them */
	uint64_t bytes;        /* file size after recovery */
	bool quarantined;      /* a copy went to the rejected folder */
};

struct dp_seg_recovery {
	struct dp_seg_info *segs;  /* oldest first; free() it */
	unsigned nsegs;
	uint64_t next_seq;         /* 1 + the last valid seq, or 1 */
	uint64_t torn_bytes;       /* cut off the end of segments (torn writes) */
	uint64_t torn_frames;      /* frames among them whose header was whole */
	uint64_t torn_records;     /* ... and the events those headers counted */
	uint64_t corrupt_bytes;    /* skipped in the middle of segments */
	uint64_t quarantined;      /* segments copied to rejected_dir */
};

/*
 * Check every segment of dir, oldest first, and make the directory safe to
 * append to and to read: a frame that is cut short or fails its checksum at
 * the end of a segment is truncated away; bytes that fail in the middle
 * (valid frames follow them) are left in place, skipped by readers, and the
 * segment is copied to rejected_dir (created if missing; NULL: no copy) as
 * evidence; a copy that cannot be made is logged, not an error.
 * Empty segment files are removed. Creates dir if missing. 0 or -errno
 * (err says which file and why); a bad frame is never an error.
 */
int dp_seg_recover(const char *dir, const char *rejected_dir, struct dp_seg_recovery *rep,
		   struct dp_err *err);

/* ---- writer ---- */

struct dp_seg_writer;

/* The first frame goes to a new segment named next_seq, created here (with
 * O_EXCL: -EEXIST in err if it exists; next_seq >= 1). */
struct dp_seg_writer *dp_seg_writer_create(const char *dir, uint64_t next_seq, struct dp_err *err);
void dp_seg_writer_destroy(struct dp_seg_writer *w);

/*
 * Append one frame: m (seq must be above every seq written before; len is
 * the sum of the iovecs; nrecs, tag, name as given; time_ns 0 takes
 * CLOCK_REALTIME now) and its payload, in one writev (after a rotation,
 * first the new file). 0, and *pos where the frame starts; or -errno
 * (-EINVAL for a bad m; ENOSPC, EFBIG, EIO...): then nothing of the frame is
 * left in the file (it is truncated back), and the writer can be used again.
 * A frame takes 48 + tag_len + name_len + len bytes of its segment.
 */
int dp_seg_append(struct dp_seg_writer *w, const struct dp_seg_meta *m, const struct iovec *iov,
		  unsigned niov, struct dp_seg_pos *pos);
/* The open segment's descriptor (for fdatasync by storage.sync full), its
 * name (first seq) and size. The descriptor changes on rotation. */
int dp_seg_writer_fd(const struct dp_seg_writer *w);
uint64_t dp_seg_writer_seg(const struct dp_seg_writer *w);
uint64_t dp_seg_writer_bytes(const struct dp_seg_writer *w);

/* ---- reader ---- */

struct dp_seg_reader;

/* Read from pos on, through every later segment of dir in name order:
 * pos.off 0 is the segment's first frame, otherwise the frame that starts at
 * pos.off is the first read (an offset that is no frame start is skipped to
 * the next valid frame and counted). A pos.seg that is gone (removed) starts
 * at the next segment after it; {0, 0} is the oldest. */
struct dp_seg_reader *dp_seg_reader_create(const char *dir, struct dp_seg_pos pos, struct dp_err *err);
void dp_seg_reader_destroy(struct dp_seg_reader *r);

/*
 * The next valid frame: its meta in *m, its payload copied into buf (cap
 * bytes; a frame longer than cap is skipped and counted as corrupt), *pos
 * where it started. 1 when a frame was read; 0 at the end of what is
 * written so far (call again after more was appended: the reader then goes
 * on, and into the next segment once one exists); -errno on an I/O error.
 * Bytes that fail their checksum are skipped to the next valid frame and
 * counted in dp_seg_reader_skipped.
 */
int dp_seg_read(struct dp_seg_reader *r, struct dp_seg_meta *m, void *buf, size_t cap,
		struct dp_seg_pos *pos);
uint64_t dp_seg_reader_skipped(const struct dp_seg_reader *r);

/* Delete segment seg of dir (all its frames were delivered). 0 or -errno. */
int dp_seg_remove(const char *dir, uint64_t seg);

/* CRC32C (Castagnoli) of n bytes, continuing from crc (0 to start):
 * SSE4.2 when the CPU has it, a table otherwise. */
uint32_t dp_crc32c(uint32_t crc, const void *p, size_t n);

#endif
