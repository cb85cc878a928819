/*
 * dp_store_seg_int.h — what the files of the segment store share
 * (dp_store_seg.c: names, the read window and the one judge of frames;
 * dp_store_seg_recover.c, dp_store_seg_write.c, dp_store_seg_read.c).
 * Not for use outside them: dp_store_seg.h is the interface. The format is
 * described at the top of dp_store_seg.c.
 */
#ifndef DP_STORE_SEG_INT_H
#define DP_STORE_SEG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "dp_store_seg.h"

#define SEG_FILE_MAGIC "SLUICESG"
#define SEG_FILE_VERSION 1u
#define SEG_FILE_HDR 32u

#define SEG_FRAME_MAGIC 0xF7A5C31Eu
#define SEG_FRAME_MAGIC0 0x1E /* its first byte in the file */
#define SEG_FRAME_HDR 48u
#define SEG_FRAME_HDR_MAX 256u
#define SEG_TAG_MAX 256u
/* The window must hold a whole frame header with its tag and name. */
#define SEG_META_MAX (SEG_FRAME_HDR_MAX + SEG_TAG_MAX + DP_SEG_NAME_MAX)

/* A reader's window: the next frame header plus whole small frames. */
#define SEG_RD_WIN 4096u
/* Recovery's window: big reads while it checks every byte. */
#define SEG_RECOVER_WIN (1u << 20)

_Static_assert(sizeof(((struct dp_seg_meta *)0)->tag) >= SEG_TAG_MAX, "tag room");
_Static_assert(SEG_RD_WIN >= SEG_META_MAX, "reader window holds a frame's meta");
/* ---- little-endian fields ---- */

static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}


/* One open segment as seen by recovery or a reader: a window of the file's
 * bytes from woff on, refilled by pread as the checks move on. */
struct seg_src {
	int fd;
	uint64_t min_seq;  /* frames below it are leftovers of a recycled file */
	uint8_t *win;
	size_t cap;
	uint64_t woff;
	size_t wlen;
};

static inline const uint8_t *src_ptr(const struct seg_src *s, uint64_t off)
{
	return s->win + (off - s->woff);
}

enum {
	FR_OK,   /* a valid frame */
	FR_BAD,  /* no valid frame starts here */
	FR_TORN, /* the file ends before the frame would: a header cut short
		    (magic matching as far as it goes) or a whole header whose
		    frame runs past the end */
	FR_END,  /* no bytes here */
	FR_STALE, /* a whole frame of the file's earlier life (a recycled
		     segment, see dp_seg_remove): the data ends here */
};

struct seg_frame {
	struct dp_seg_meta m;
	uint64_t end;    /* offset after the frame, when hdr_ok */
	bool hdr_ok;     /* the header checked out (m.seq, nrecs, lengths) */
	bool delivered;  /* the payload went to the caller's buffer */
};

/* Frames with a whole header among bytes that are being given up. */
struct seg_lost {
	uint64_t frames, records;
	uint64_t end; /* candidates inside a counted frame are not counted */
};

/* names (dp_store_seg.c) */
int dp_seg_path(char *buf, size_t cap, const char *dir, uint64_t seg);
int dp_seg_next(const char *dir, uint64_t after, bool incl, uint64_t *next);
int dp_seg_list(const char *dir, uint64_t **out, unsigned *nout);

/* the window and the judge (dp_store_seg.c) */
void dp_seg_src_reset(struct seg_src *s, int fd);
ssize_t dp_seg_pread_min(int fd, void *buf, size_t n, size_t min, uint64_t off);
ssize_t dp_seg_src_at(struct seg_src *s, uint64_t off, size_t want);
int dp_seg_frame_check(struct seg_src *s, uint64_t off, struct seg_frame *f, void *buf, size_t cap);
void dp_seg_lost_add(struct seg_lost *l, uint64_t off, const struct seg_frame *f);
int dp_seg_resync(struct seg_src *s, uint64_t from, uint64_t *at, struct seg_frame *f,
	       struct seg_lost *lost);
/* dp_seg_file_check's verdicts on a file header */
enum { FS_OK, FS_EMPTY, FS_BAD };
int dp_seg_file_check(struct seg_src *s, uint64_t seg);
void dp_seg_file_hdr(uint8_t *h, uint64_t seg);

/* recycling (dp_store_seg_write.c) */
#define SEG_FREE_MAX 4
void dp_seg_free_path(char *buf, size_t cap, const char *dir, unsigned k);

#endif
