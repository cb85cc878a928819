/*
 * dp_store_seg_read.c — reading a directory's frames back in order from a position
 * (dp_seg_reader), across segments, stopping at the newest one's end and
 * going on from there when called again. The shard thread that owns the
 * directory.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dp_common.h"
#include "dp_log.h"
#include "dp_store_seg_int.h"

/* ---- reader ---- */

struct dp_seg_reader {
	char dir[PATH_MAX];
	int fd;            /* -1: no segment open yet */
	uint64_t seg;      /* the open segment, or the first one wanted */
	uint64_t off;      /* the next frame */
	bool fresh;        /* the file header is still to be checked */
	uint64_t skipped;
	struct seg_src src;
	uint8_t win[SEG_RD_WIN];
};

struct dp_seg_reader *dp_seg_reader_create(const char *dir, struct dp_seg_pos pos, struct dp_err *err)
{
	struct dp_seg_reader *r;

	if (strlen(dir) >= sizeof(r->dir)) {
		dp_err_set(err, -ENAMETOOLONG, "store path too long: '%s'", dir);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		dp_err_set(err, -ENOMEM, "out of memory creating a reader of '%s'", dir);
		return NULL;
	}
	strcpy(r->dir, dir);
	r->fd = -1;
	r->seg = pos.seg;
	r->off = pos.off;
	r->fresh = pos.off < SEG_FILE_HDR;
	r->src.win = r->win;
	r->src.cap = sizeof(r->win);
	r->src.fd = -1;
	return r;
}

void dp_seg_reader_destroy(struct dp_seg_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

uint64_t dp_seg_reader_skipped(const struct dp_seg_reader *r)
{
	return r->skipped;
}

/* Open the wanted segment, or the first one after it if it is gone.
 * 1 when one is open, 0 when there is none yet, -errno. */
static int seg_reader_open(struct dp_seg_reader *r)
{
	char path[PATH_MAX];
	uint64_t s;
	int rc;

	for (;;) {
		rc = dp_seg_next(r->dir, r->seg, true, &s);
		if (rc <= 0)
			return rc;
		if (s != r->seg) {
			r->seg = s;
			r->fresh = true;
		}
		if ((rc = dp_seg_path(path, sizeof(path), r->dir, s)))
			return rc;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* removed since the listing */
			return -errno;
		}
		r->fd = fd;
		dp_seg_src_reset(&r->src, fd);
		r->src.min_seq = s;
		return 1;
	}
}

/* At the end of the open segment: move to the next one if there is one.
 * 1 moved, 0 this is the newest, -errno. */
static int seg_reader_advance(struct dp_seg_reader *r)
{
	uint64_t s;
	int rc = dp_seg_next(r->dir, r->seg, false, &s);

	if (rc <= 0)
		return rc;
	close(r->fd);
	r->fd = -1;
	r->seg = s;
	r->fresh = true;
	return seg_reader_open(r);
}

static uint64_t fd_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int dp_seg_read(struct dp_seg_reader *r, struct dp_seg_meta *m, void *buf, size_t cap,
		struct dp_seg_pos *pos)
{
	struct seg_frame f;
	uint64_t at;
	int rc;

	if (r->fd < 0 && (rc = seg_reader_open(r)) <= 0)
		return rc;
	/* The window may hold bytes read before the writer last appended
	 * (the lookahead after a frame): anything but a valid frame is judged
	 * again on bytes read now, once, before it is acted on. */
	bool fresh_read = false;
	for (;;) {
		if (r->fresh) {
			rc = dp_seg_file_check(&r->src, r->seg);
			if (rc < 0)
				return rc;
			if (rc == FS_OK) {
				r->off = SEG_FILE_HDR;
				r->fresh = false;
			} else if (rc == FS_EMPTY) {
				/* a file being born, or one that never was */
				uint64_t sz = fd_size(r->fd);
				if ((rc = seg_reader_advance(r)) <= 0)
					return rc;
				r->skipped += sz;
				continue;
			} else {
				/* a damaged file header: skipped like a bad
				 * frame, from byte 0 */
				rc = dp_seg_resync(&r->src, 0, &at, &f, NULL);
				if (rc < 0)
					return rc;
				r->skipped += at;
				r->off = at;
				r->fresh = false;
			}
		}
		rc = dp_seg_frame_check(&r->src, r->off, &f, buf, cap);
		if (rc < 0)
			return rc;
		if (rc != FR_OK && !fresh_read) {
			fresh_read = true;
			r->src.wlen = 0;
			continue;
		}
		switch (rc) {
		case FR_OK:
			if (!f.delivered) {
				/* valid but longer than the caller's buffer */
				r->skipped += f.end - r->off;
				r->off = f.end;
				continue;
			}
			*m = f.m;
			if (pos) {
				pos->seg = r->seg;
				pos->off = r->off;
			}
			r->off = f.end;
			return 1;
		case FR_END:
		case FR_STALE:
			if ((rc = seg_reader_advance(r)) <= 0)
				return rc;
			fresh_read = false;
			continue;
		case FR_TORN: {
			/* A valid frame further on shows these bytes are
			 * corrupt, not a frame still being written: skipped as
			 * recovery does. Only abnormal files get here (recovery
			 * cut the torn tails, appends leave none), so the scan
			 * costs nothing in normal running. */
			rc = dp_seg_resync(&r->src, r->off + 1, &at, &f, NULL);
			if (rc < 0)
				return rc;
			if (rc == FR_OK) {
				r->skipped += at - r->off;
				r->off = at;
				continue;
			}
			/* Otherwise the end of what is written so far, unless
			 * a later segment shows this one is finished: then its
			 * tail is dead bytes. */
			uint64_t sz = fd_size(r->fd), from = r->off;
			if ((rc = seg_reader_advance(r)) <= 0)
				return rc;
			r->skipped += sz > from ? sz - from : 0;
			continue;
		}
		default: { /* FR_BAD: skip to the next valid frame */
			rc = dp_seg_resync(&r->src, r->off + 1, &at, &f, NULL);
			if (rc < 0)
				return rc;
			if (rc == FR_OK) {
				r->skipped += at - r->off;
				r->off = at;
				continue;
			}
			/* Nothing of this generation follows: the end of what
			 * is written here (old bytes of a recycled file, or a
			 * damaged end), where the next append starts, unless a
			 * later segment shows this one is finished. */
			uint64_t from = r->off;
			if ((rc = seg_reader_advance(r)) <= 0)
				return rc;
			r->skipped += at - from;
			fresh_read = false;
			continue;
		}
		}
	}
}
