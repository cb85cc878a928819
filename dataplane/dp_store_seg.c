/*
 * dp_store_seg.c — the segment files of the filesystem store: their format,
 * their names, and the one judge of frames that recovery
 * (dp_store_seg_recover.c), the writer (dp_store_seg_write.c) and the
 * readers (dp_store_seg_read.c) of one directory share (dp_store_seg.h,
 * dp_store_seg_int.h). A writer and
 * the readers of a directory belong to the one shard thread that owns it;
 * recovery runs before either exists. Nothing here locks or syncs: the caller
 * fdatasyncs through dp_seg_writer_fd when storage.sync asks for it.
 *
 * ON-DISK FORMAT (version 1; docs/STORAGE.md says the same for operators)
 *
 * A directory holds segment files named "%016" PRIx64 ".seg", the sequence
 * number of the file's first frame in 16 lower-case hex digits, so that
 * name order, numeric order and write order agree. Other names are ignored.
 * All integers are little-endian. A segment file is a 32-byte file header
 * followed by frames back to back, with no padding and no index: a frame is
 * found by reading the one before it.
 *
 * The file header:
 *
 *   offset size  field
 *        0    8  magic, the bytes "SLUICESG"
 *        8    4  format version, 1
 *       12    4  file header length, 32 (the first frame's offset)
 *       16    8  the first seq: the number in the file's name
 *       24    4  reserved, 0
 *       28    4  CRC32C of bytes 0..27
 *
 * A frame: a 48-byte frame header, then the tag, the input name and the
 * payload (tag_len, name_len and len bytes, no terminators):
 *
 *   offset size  field
 *        0    4  magic 0xF7A5C31E (the bytes 1E C3 A5 F7)
 *        4    4  crc: CRC32C of frame bytes 12..hdr_len-1, the tag, the
 *                name and the payload, in that order
 *        8    4  hcrc: CRC32C of frame bytes 12..hdr_len-1 alone
 *       12    2  hdr_len, 48: where the tag starts
 *       14    2  flags, 0 (reserved)
 *       16    4  len: payload bytes (msgpack events back to back)
 *       20    4  nrecs: events in the payload
 *       24    8  seq: per directory, strictly increasing
 *       32    8  time_ns: CLOCK_REALTIME when written
 *       40    2  tag_len, at most 256
 *       42    2  name_len, at most DP_SEG_NAME_MAX (64)
 *       44    4  reserved, 0
 *
 * A frame is valid when its magic matches, hcrc matches, the lengths are in
 * range, all its bytes are in the file and crc matches. Only the magic is
 * outside the checksums: it is what a scan for the next frame looks for.
 * Why two checksums: crc is the frame's (its value is simply crc32c
 * continued from hcrc over the tag, name and payload, so the header is
 * hashed once), and hcrc lets a header be trusted before the payload is
 * read. That matters three ways: a torn tail whose header is whole is
 * counted with the events it held (torn_frames, torn_records); a scan for
 * the next frame rejects a stray magic with a wrong header after 48 bytes
 * instead of reading a garbage length's worth of bytes; and a reader learns
 * a frame's length before deciding where its payload goes. A future format
 * may lengthen the frame header (hdr_len, up to 256, covered by both
 * checksums); version 1 readers skip the extra bytes.
 *
 * There is no padding: frames align to nothing. Alignment would speed a
 * resync scan that only happens after corruption, and would cost an iovec
 * and bytes on every write.
 *
 * Rotation: a writer creates its first segment, named by the seq it is
 * given, when it is created. Once the open segment holds DP_SEG_MAX_BYTES or
 * more, the next append first creates a new segment named by that frame's
 * seq. A single frame larger than that still goes whole into one segment.
 * Files are created with O_EXCL: a writer never appends to a file it did not
 * create, so after a restart it always starts a new segment.
 *
 * Appends are all or nothing: the frame goes out in one pwritev (header,
 * tag and name in one buffer, then the caller's iovecs) at the writer's
 * offset; when the iovecs exceed IOV_MAX, or the kernel writes short, more
 * pwritevs follow; on any error the file is truncated back to where the
 * frame started. If even that truncation fails, the writer moves to a new
 * segment on its next append so that nothing is ever written after bytes it
 * does not trust.
 *
 * Recovery and readers judge frames with the same two functions
 * (dp_seg_frame_check and dp_seg_resync): at an offset, a frame is valid, or the
 * file ends before the frame does (torn), or it is bad; from a bad offset,
 * the scan goes byte by byte for the next magic whose frame is valid.
 *
 * - Torn tail: when nothing valid follows a bad or cut frame in a segment,
 *   recovery truncates the segment there (torn_bytes; torn_frames and
 *   torn_records count the frames in the cut whose header was whole).
 * - Middle corruption: when a valid frame follows, the bad bytes stay where
 *   they are (corrupt_bytes), readers skip them the same way, and the
 *   segment is copied into the rejected directory as evidence (once: an
 *   existing copy of the same name is kept).
 * - A damaged file header (wrong magic, checksum or first seq) is middle
 *   corruption starting at byte 0. A file header cut short is an empty
 *   segment. A newer format version is an error, not corruption.
 * - Segments with no valid frame left are removed (after their copy, if
 *   they were corrupt).
 * - A recycled file (see "recycling" below) holds old frames after the
 *   new ones: a frame whose seq is below the file's name ends the data
 *   (FR_STALE); recovery cuts the old content off without counting it torn,
 *   and a reader stops there as at the end of the file.
 *
 * Readers pread into the caller's buffer: the payload of a frame and the
 * first bytes after it (the next frame's header, and whole small frames) in
 * one preadv, so a caught-up reader makes one system call per frame. At the
 * end of a segment a reader lists the directory for the next name; at the
 * end of the newest it returns 0 and, called again later, goes on from
 * where it stopped.
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

_Static_assert(sizeof(((struct dp_seg_meta *)0)->tag) >= SEG_TAG_MAX, "tag room");
_Static_assert(SEG_RD_WIN >= SEG_META_MAX, "reader window holds a frame's meta");

/* ---- names ---- */

int dp_seg_path(char *buf, size_t cap, const char *dir, uint64_t seg)
{
	int n = snprintf(buf, cap, "%s/%016" PRIx64 ".seg", dir, seg);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* A segment's name: exactly 16 lower-case hex digits and ".seg". */
static bool seg_name_parse(const char *name, uint64_t *seg)
{
	uint64_t v = 0;

	if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*seg = v;
	return true;
}

/* The smallest segment of dir above after (or equal to it, with incl);
 * 1 and *next, 0 when there is none, or -errno. */
int dp_seg_next(const char *dir, uint64_t after, bool incl, uint64_t *next)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;
	uint64_t best = 0, s;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!seg_name_parse(e->d_name, &s))
			continue;
		if (s < after || (s == after && !incl))
			continue;
		if (!found || s < best)
			best = s, found = true;
	}
	closedir(d);
	*next = best;
	return found;
}

static int seg_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Every segment of dir, sorted. */
int dp_seg_list(const char *dir, uint64_t **out, unsigned *nout)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t *v = NULL, s;
	unsigned n = 0, cap = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!seg_name_parse(e->d_name, &s))
			continue;
		if (n == cap) {
			unsigned nc = cap ? cap * 2 : 16;
			uint64_t *nv = realloc(v, nc * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv, cap = nc;
		}
		v[n++] = s;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), seg_cmp);
	*out = v;
	*nout = n;
	return 0;
}

/* ---- reading through a window ---- */

void dp_seg_src_reset(struct seg_src *s, int fd)
{
	s->fd = fd;
	s->woff = 0;
	s->wlen = 0;
}

/* pread n bytes at off, or fewer only at the end of the file; stops as soon
 * as min bytes are in, so a read that reaches the end costs one call. */
ssize_t dp_seg_pread_min(int fd, void *buf, size_t n, size_t min, uint64_t off)
{
	size_t got = 0;

	while (got < min) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Bytes of the file available in the window from off on: at least want
 * (want <= cap) unless the file ends first. Refills only when needed. */
ssize_t dp_seg_src_at(struct seg_src *s, uint64_t off, size_t want)
{
	if (off >= s->woff && off - s->woff <= s->wlen) {
		size_t have = s->wlen - (size_t)(off - s->woff);
		if (have >= want)
			return (ssize_t)have;
	}
	ssize_t n = dp_seg_pread_min(s->fd, s->win, s->cap, want, off);
	if (n < 0) {
		s->wlen = 0;
		return n;
	}
	s->woff = off;
	s->wlen = (size_t)n;
	return n;
}


/* ---- the one judge of frames, shared by recovery and readers ---- */

/*
 * Judge the frame at off. With buf and a payload that fits cap, the payload
 * is read straight into buf together with the bytes after it (the window
 * refills with the next header in the same preadv); otherwise the payload is
 * streamed through the window only to check it. FR_* or -errno.
 */
int dp_seg_frame_check(struct seg_src *s, uint64_t off, struct seg_frame *f, void *buf,
			   size_t cap)
{
	f->hdr_ok = false;
	f->delivered = false;

	ssize_t n = dp_seg_src_at(s, off, SEG_FRAME_HDR);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return FR_END;
	const uint8_t *p = src_ptr(s, off);
	uint8_t magic[4];
	put32(magic, SEG_FRAME_MAGIC);
	if (memcmp(p, magic, DP_MIN((size_t)n, 4)) != 0)
		return FR_BAD;
	if ((size_t)n < SEG_FRAME_HDR)
		return FR_TORN;

	unsigned hdr_len = get16(p + 12);
	if (hdr_len < SEG_FRAME_HDR || hdr_len > SEG_FRAME_HDR_MAX)
		return FR_BAD;
	if ((size_t)n < hdr_len) {
		n = dp_seg_src_at(s, off, hdr_len);
		if (n < 0)
			return (int)n;
		if ((size_t)n < hdr_len)
			return FR_TORN;
		p = src_ptr(s, off);
	}
	uint32_t hcrc = dp_crc32c(0, p + 12, hdr_len - 12);
	if (hcrc != get32(p + 8))
		return FR_BAD;
	uint32_t want_crc = get32(p + 4);
	struct dp_seg_meta *m = &f->m;
	m->len = get32(p + 16);
	m->nrecs = get32(p + 20);
	m->seq = get64(p + 24);
	m->time_ns = get64(p + 32);
	m->tag_len = get16(p + 40);
	m->name_len = get16(p + 42);
	if (m->tag_len > SEG_TAG_MAX || m->name_len > DP_SEG_NAME_MAX)
		return FR_BAD;
	if (m->seq < s->min_seq)
		return FR_STALE;
	size_t meta = hdr_len + m->tag_len + m->name_len;
	f->end = off + meta + m->len;
	f->hdr_ok = true;

	if ((size_t)n < meta) {
		n = dp_seg_src_at(s, off, meta);
		if (n < 0)
			return (int)n;
		if ((size_t)n < meta)
			return FR_TORN;
		p = src_ptr(s, off);
	}
	memcpy(m->tag, p + hdr_len, m->tag_len);
	memcpy(m->name, p + hdr_len + m->tag_len, m->name_len);
	if (m->tag_len < sizeof(m->tag))
		m->tag[m->tag_len] = 0;
	if (m->name_len < sizeof(m->name))
		m->name[m->name_len] = 0;
	uint32_t crc = dp_crc32c(hcrc, p + hdr_len, m->tag_len + m->name_len);

	uint64_t po = off + meta;
	size_t len = m->len;
	if (buf && len <= cap) {
		/* What the window already holds, then the rest with the next
		 * frame's first bytes in one call. */
		size_t k = DP_MIN((size_t)n - meta, len);
		memcpy(buf, p + meta, k);
		if (k < len) {
			struct iovec iov[2] = {
				{ (char *)buf + k, len - k },
				{ s->win, s->cap },
			};
			ssize_t r;
			do
				r = preadv(s->fd, iov, 2, (off_t)(po + k));
			while (r < 0 && errno == EINTR);
			if (r < 0) {
				s->wlen = 0;
				return -errno;
			}
			if ((size_t)r >= len - k) {
				s->woff = po + len;
				s->wlen = (size_t)r - (len - k);
			} else {
				/* short: the end of the file, or a rare short
				 * read; finish the payload alone */
				s->wlen = 0;
				ssize_t r2 = dp_seg_pread_min(s->fd, (char *)buf + k + r, len - k - r,
						       len - k - r, po + k + r);
				if (r2 < 0)
					return (int)r2;
				if ((size_t)r2 < len - k - r)
					return FR_TORN;
			}
		}
		crc = dp_crc32c(crc, buf, len);
		f->delivered = true;
	} else {
		uint64_t at = po;
		while (len) {
			n = dp_seg_src_at(s, at, DP_MIN(len, s->cap));
			if (n < 0)
				return (int)n;
			if (n == 0)
				return FR_TORN;
			size_t t = DP_MIN((size_t)n, len);
			crc = dp_crc32c(crc, src_ptr(s, at), t);
			at += t;
			len -= t;
		}
	}
	if (crc != want_crc) {
		f->delivered = false;
		return FR_BAD;
	}
	return FR_OK;
}

void dp_seg_lost_add(struct seg_lost *l, uint64_t off, const struct seg_frame *f)
{
	if (l && f->hdr_ok && off >= l->end) {
		l->frames++;
		l->records += f->m.nrecs;
		l->end = f->end;
	}
}

/*
 * From `from` on, the first offset where a frame is valid: FR_OK and *at;
 * or FR_END with *at the end of the file. Frames with a whole header that
 * failed or run past the end are added to lost. A frame that runs past the
 * end does not stop the scan: a valid frame inside the bytes it claims
 * shows it is garbage, and stopping there would make a later recovery,
 * after the cut, lose that valid frame.
 */
int dp_seg_resync(struct seg_src *s, uint64_t from, uint64_t *at, struct seg_frame *f,
		      struct seg_lost *lost)
{
	uint64_t pos = from;

	for (;;) {
		ssize_t n = dp_seg_src_at(s, pos, 1);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			*at = pos;
			return FR_END;
		}
		const uint8_t *p = src_ptr(s, pos);
		const uint8_t *q = memchr(p, SEG_FRAME_MAGIC0, (size_t)n);
		if (!q) {
			pos += (uint64_t)n;
			continue;
		}
		uint64_t c = pos + (uint64_t)(q - p);
		int rc = dp_seg_frame_check(s, c, f, NULL, 0);
		if (rc < 0)
			return rc;
		if (rc == FR_OK) {
			*at = c;
			return rc;
		}
		if (rc == FR_STALE) {
			/* What follows is a recycled file's old content:
			 * nothing of this generation comes after it. */
			*at = c;
			return FR_END;
		}
		dp_seg_lost_add(lost, c, f);
		pos = c + 1;
	}
}

/* Judge the file header of segment seg: FS_OK (frames start at
 * SEG_FILE_HDR), FS_EMPTY (no bytes, or a header cut short that matches as
 * far as it goes: the writer died creating the file), FS_BAD, or -errno
 * (-ENOTSUP: a newer format). */
int dp_seg_file_check(struct seg_src *s, uint64_t seg)
{
	ssize_t n = dp_seg_src_at(s, 0, SEG_FILE_HDR);
	if (n < 0)
		return (int)n;
	const uint8_t *p = src_ptr(s, 0);
	if ((size_t)n < SEG_FILE_HDR) {
		uint8_t want[SEG_FILE_HDR] = { 0 };
		memcpy(want, SEG_FILE_MAGIC, 8);
		put32(want + 8, SEG_FILE_VERSION);
		put32(want + 12, SEG_FILE_HDR);
		put64(want + 16, seg);
		return memcmp(p, want, (size_t)n) == 0 ? FS_EMPTY : FS_BAD;
	}
	if (memcmp(p, SEG_FILE_MAGIC, 8) != 0 || dp_crc32c(0, p, 28) != get32(p + 28))
		return FS_BAD;
	if (get32(p + 8) != SEG_FILE_VERSION)
		return -ENOTSUP;
	if (get32(p + 12) != SEG_FILE_HDR || get64(p + 16) != seg)
		return FS_BAD;
	return FS_OK;
}

void dp_seg_file_hdr(uint8_t *h, uint64_t seg)
{
	memset(h, 0, SEG_FILE_HDR);
	memcpy(h, SEG_FILE_MAGIC, 8);
	put32(h + 8, SEG_FILE_VERSION);
	put32(h + 12, SEG_FILE_HDR);
	put64(h + 16, seg);
	put32(h + 28, dp_crc32c(0, h, 28));
}
