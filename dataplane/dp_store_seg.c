/*
 * dp_store_seg.c — the segment files of the filesystem store: recovery,
 * the writer and the readers of one directory (dp_store_seg.h). A writer and
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
 * (seg_frame_check and seg_resync): at an offset, a frame is valid, or the
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

/* ---- names ---- */

static int seg_path(char *buf, size_t cap, const char *dir, uint64_t seg)
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
static int seg_next(const char *dir, uint64_t after, bool incl, uint64_t *next)
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
static int seg_list(const char *dir, uint64_t **out, unsigned *nout)
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

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			return -errno;
		p[i] = c;
	}
	struct stat st;
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* ---- reading through a window ---- */

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

static void src_reset(struct seg_src *s, int fd)
{
	s->fd = fd;
	s->woff = 0;
	s->wlen = 0;
}

/* pread n bytes at off, or fewer only at the end of the file; stops as soon
 * as min bytes are in, so a read that reaches the end costs one call. */
static ssize_t pread_min(int fd, void *buf, size_t n, size_t min, uint64_t off)
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
static ssize_t src_at(struct seg_src *s, uint64_t off, size_t want)
{
	if (off >= s->woff && off - s->woff <= s->wlen) {
		size_t have = s->wlen - (size_t)(off - s->woff);
		if (have >= want)
			return (ssize_t)have;
	}
	ssize_t n = pread_min(s->fd, s->win, s->cap, want, off);
	if (n < 0) {
		s->wlen = 0;
		return n;
	}
	s->woff = off;
	s->wlen = (size_t)n;
	return n;
}

static inline const uint8_t *src_ptr(const struct seg_src *s, uint64_t off)
{
	return s->win + (off - s->woff);
}

/* ---- the one judge of frames, shared by recovery and readers ---- */

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

/*
 * Judge the frame at off. With buf and a payload that fits cap, the payload
 * is read straight into buf together with the bytes after it (the window
 * refills with the next header in the same preadv); otherwise the payload is
 * streamed through the window only to check it. FR_* or -errno.
 */
static int seg_frame_check(struct seg_src *s, uint64_t off, struct seg_frame *f, void *buf,
			   size_t cap)
{
	f->hdr_ok = false;
	f->delivered = false;

	ssize_t n = src_at(s, off, SEG_FRAME_HDR);
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
		n = src_at(s, off, hdr_len);
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
		n = src_at(s, off, meta);
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
				ssize_t r2 = pread_min(s->fd, (char *)buf + k + r, len - k - r,
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
			n = src_at(s, at, DP_MIN(len, s->cap));
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

/* Frames with a whole header among bytes that are being given up. */
struct seg_lost {
	uint64_t frames, records;
	uint64_t end; /* candidates inside a counted frame are not counted */
};

static void seg_lost_add(struct seg_lost *l, uint64_t off, const struct seg_frame *f)
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
static int seg_resync(struct seg_src *s, uint64_t from, uint64_t *at, struct seg_frame *f,
		      struct seg_lost *lost)
{
	uint64_t pos = from;

	for (;;) {
		ssize_t n = src_at(s, pos, 1);
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
		int rc = seg_frame_check(s, c, f, NULL, 0);
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
		seg_lost_add(lost, c, f);
		pos = c + 1;
	}
}

enum { FS_OK, FS_EMPTY, FS_BAD };

/* Judge the file header of segment seg: FS_OK (frames start at
 * SEG_FILE_HDR), FS_EMPTY (no bytes, or a header cut short that matches as
 * far as it goes: the writer died creating the file), FS_BAD, or -errno
 * (-ENOTSUP: a newer format). */
static int seg_file_check(struct seg_src *s, uint64_t seg)
{
	ssize_t n = src_at(s, 0, SEG_FILE_HDR);
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

static void seg_file_hdr(uint8_t *h, uint64_t seg)
{
	memset(h, 0, SEG_FILE_HDR);
	memcpy(h, SEG_FILE_MAGIC, 8);
	put32(h + 8, SEG_FILE_VERSION);
	put32(h + 12, SEG_FILE_HDR);
	put64(h + 16, seg);
	put32(h + 28, dp_crc32c(0, h, 28));
}

/* ---- recovery ---- */

/* Copy segment seg into rej (made if missing) unless a copy of that name is
 * already there: the evidence of one corruption is kept once. */
static int seg_quarantine(int fd, const char *rej, uint64_t seg, uint8_t *buf, size_t cap,
			  struct dp_err *err)
{
	char path[PATH_MAX];
	int rc = mkdir_p(rej);
	if (rc)
		return dp_err_set(err, rc, "cannot create rejected folder '%s': %s", rej,
				  strerror(-rc));
	if ((rc = seg_path(path, sizeof(path), rej, seg)))
		return dp_err_set(err, rc, "rejected folder path too long: '%s'", rej);
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		if (errno == EEXIST)
			return 0;
		rc = -errno;
		return dp_err_set(err, rc, "cannot create '%s': %s", path, strerror(-rc));
	}
	off_t at = 0;
	for (;;) {
		ssize_t r = pread(fd, buf, cap, at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : 0;
			break;
		}
		for (ssize_t w = 0; w < r;) {
			ssize_t x = write(out, buf + w, (size_t)(r - w));
			if (x < 0 && errno == EINTR)
				continue;
			if (x < 0) {
				rc = -errno;
				goto done;
			}
			w += x;
		}
		at += r;
	}
done:
	if (close(out) < 0 && !rc)
		rc = -errno;
	if (rc) {
		unlink(path);
		return dp_err_set(err, rc, "cannot copy segment to '%s': %s", path, strerror(-rc));
	}
	return 0;
}

/* Recover one segment; *keep false when it held no valid frame and was
 * removed. */
static int seg_recover_one(const char *dir, const char *rej, uint64_t seg, struct seg_src *s,
			   struct dp_seg_info *info, struct dp_seg_recovery *rep, bool *keep,
			   struct dp_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	struct seg_frame f;
	int rc;

	*keep = false;
	memset(info, 0, sizeof(*info));
	info->seg = seg;
	if ((rc = seg_path(path, sizeof(path), dir, seg)))
		return dp_err_set(err, rc, "store path too long: '%s'", dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return dp_err_set(err, rc, "cannot open '%s': %s", path, strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		dp_err_set(err, rc, "cannot stat '%s': %s", path, strerror(-rc));
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size, off = SEG_FILE_HDR, cut = size, corrupt = 0;
	uint64_t tail_end = size;   /* where torn bytes end: the file's end, or old content */
	struct seg_lost lost = { 0 };
	bool all_bad = false;
	src_reset(s, fd);
	s->min_seq = seg;

	rc = seg_file_check(s, seg);
	if (rc < 0) {
		if (rc == -ENOTSUP)
			dp_err_set(err, rc, "'%s': segment format version %" PRIu32
				   " is newer than this build reads (%u)", path,
				   get32(src_ptr(s, 0) + 8), SEG_FILE_VERSION);
		else
			dp_err_set(err, rc, "cannot read '%s': %s", path, strerror(-rc));
		goto out;
	}
	if (rc == FS_EMPTY) {
		cut = 0;
	} else {
		/* a damaged file header: bad bytes from 0, then as below */
		bool scan = rc == FS_BAD;
		if (scan)
			off = 0;
		for (;;) {
			uint64_t at;
			if (scan) {
				scan = false;
				rc = seg_resync(s, 0, &at, &f, &lost);
			} else {
				rc = seg_frame_check(s, off, &f, NULL, 0);
				if (rc < 0)
					goto io;
				if (rc == FR_END)
					break;
				if (rc == FR_STALE) {
					/* a recycled file's old content: cut, not torn */
					cut = tail_end = off;
					break;
				}
				if (rc == FR_OK) {
					if (!info->frames)
						info->first_seq = f.m.seq;
					info->last_seq = f.m.seq;
					info->frames++;
					info->records += f.m.nrecs;
					off = f.end;
					continue;
				}
				lost = (struct seg_lost){ 0 };
				seg_lost_add(&lost, off, &f);
				rc = seg_resync(s, off + 1, &at, &f, &lost);
			}
			if (rc < 0)
				goto io;
			if (rc == FR_OK) {
				corrupt += at - off;
				off = at;
				lost = (struct seg_lost){ 0 };
				continue;
			}
			/* nothing valid follows: a torn tail; or, from a
			 * damaged file header, nothing valid at all */
			all_bad = off == 0;
			cut = off;
			tail_end = at;
			break;
		}
	}
	if (all_bad) {
		corrupt = size;
		cut = 0;
	} else {
		/* Before old content of a recycled file, only a cut frame of
		 * this generation is torn; the rest is the old content. */
		if (tail_end < size)
			tail_end = lost.frames ? DP_MIN(lost.end, tail_end) : cut;
		rep->torn_bytes += tail_end - cut;
		rep->torn_frames += lost.frames;
		rep->torn_records += lost.records;
	}
	if (corrupt) {
		/* Evidence, not a condition to start: a copy that cannot be made
		 * (a full disk) is logged, and recovery goes on, so a damaged
		 * store never turns into a crash loop. rej NULL: no copy
		 * (storage.delete_irrecoverable_chunks). */
		s->wlen = 0; /* the window is the copy's buffer now */
		struct dp_err qerr = { 0 };
		if (rej && seg_quarantine(fd, rej, seg, s->win, s->cap, &qerr)) {
			dp_warn("store: no copy of damaged segment %s kept: %s", path, qerr.msg);
		} else if (rej) {
			info->quarantined = true;
			rep->quarantined++;
		}
		rep->corrupt_bytes += corrupt;
	}
	if (cut < size && info->frames) {
		if (ftruncate(fd, (off_t)cut) < 0) {
			rc = -errno;
			dp_err_set(err, rc, "cannot truncate '%s' to %" PRIu64 ": %s", path, cut,
				   strerror(-rc));
			goto out;
		}
	}
	info->bytes = cut;
	if (!info->frames) {
		if (unlink(path) < 0) {
			rc = -errno;
			dp_err_set(err, rc, "cannot remove empty segment '%s': %s", path,
				   strerror(-rc));
			goto out;
		}
	} else {
		*keep = true;
	}
	rc = 0;
	goto out;
io:
	dp_err_set(err, rc, "cannot read '%s': %s", path, strerror(-rc));
out:
	close(fd);
	return rc;
}

int dp_seg_recover(const char *dir, const char *rejected_dir, struct dp_seg_recovery *rep,
		   struct dp_err *err)
{
	uint64_t *names = NULL;
	unsigned n = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->next_seq = 1;
	if ((rc = mkdir_p(dir)))
		return dp_err_set(err, rc, "cannot create store folder '%s': %s", dir,
				  strerror(-rc));
	if ((rc = seg_list(dir, &names, &n)))
		return dp_err_set(err, rc, "cannot list store folder '%s': %s", dir,
				  strerror(-rc));
	struct seg_src s = { .fd = -1, .cap = SEG_RECOVER_WIN };
	if (n) {
		rep->segs = calloc(n, sizeof(*rep->segs));
		s.win = malloc(s.cap);
		if (!rep->segs || !s.win) {
			rc = dp_err_set(err, -ENOMEM, "out of memory recovering '%s'", dir);
			goto fail;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		bool keep;
		struct dp_seg_info *info = &rep->segs[rep->nsegs];
		if ((rc = seg_recover_one(dir, rejected_dir, names[i], &s, info, rep, &keep, err)))
			goto fail;
		if (!keep)
			continue;
		rep->nsegs++;
		/* above every kept name too: a writer must never meet an
		 * existing file, whatever seqs the frames hold */
		uint64_t top = DP_MAX(info->last_seq, info->seg);
		if (top >= rep->next_seq)
			rep->next_seq = top + 1;
	}
	free(names);
	free(s.win);
	return 0;
fail:
	free(names);
	free(s.win);
	free(rep->segs);
	rep->segs = NULL;
	rep->nsegs = 0;
	return rc;
}

/* ---- writer ---- */

struct dp_seg_writer {
	char dir[PATH_MAX];
	int fd;
	uint64_t seg;       /* the open segment's name */
	uint64_t off;       /* its size: where the next frame goes */
	uint64_t last_seq;  /* frames must go above this */
	bool rotate;        /* a rollback failed: the next append starts a new
	                       segment rather than write after untrusted bytes */
	uint8_t meta[SEG_FRAME_HDR + SEG_TAG_MAX + DP_SEG_NAME_MAX];
	struct iovec iov[IOV_MAX];
};

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pwrite(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		p = (const char *)p + r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* ---- recycling ---- */

/*
 * A delivered segment is not unlinked but renamed to free.<k> (k below
 * SEG_FREE_MAX), and the next new segment takes it over: writing into a
 * file whose pages are cached and whose blocks are allocated costs the
 * kernel about a third of what a new file costs (a copy, instead of page
 * and block allocation, and freeing both again on unlink), measured here at
 * 0.10 against 0.28 ns per byte. The old content beyond what the new
 * generation has written is told apart by its frames' sequence numbers,
 * which are below the file's name (FR_STALE): the data ends there.
 */
#define SEG_FREE_MAX 4

static void free_path(char *buf, size_t cap, const char *dir, unsigned k)
{
	snprintf(buf, cap, "%s/free.%u", dir, k);
}

/* Take a free file as segment path: its descriptor, or -1. */
static int seg_free_take(const char *dir, const char *path)
{
	char fp[PATH_MAX + 16];
	for (unsigned k = 0; k < SEG_FREE_MAX; k++) {
		free_path(fp, sizeof(fp), dir, k);
		if (renameat2(AT_FDCWD, fp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0)
				return fd;
			unlink(path);
		}
	}
	return -1;
}

/* A full disk: the free files go first. */
static void seg_free_drop(const char *dir)
{
	char fp[PATH_MAX + 16];
	for (unsigned k = 0; k < SEG_FREE_MAX; k++) {
		free_path(fp, sizeof(fp), dir, k);
		unlink(fp);
	}
}

/* Create segment seq in the writer's directory with its file header. */
static int seg_file_create(const char *dir, uint64_t seq, int *fdp, struct dp_err *err)
{
	char path[PATH_MAX];
	uint8_t h[SEG_FILE_HDR];
	int rc;

	if ((rc = seg_path(path, sizeof(path), dir, seq)))
		return dp_err_set(err, rc, "store path too long: '%s'", dir);
	int fd = seg_free_take(dir, path);
	if (fd < 0)
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		return dp_err_set(err, rc, "cannot create segment '%s': %s", path, strerror(-rc));
	}
	seg_file_hdr(h, seq);
	if ((rc = pwrite_all(fd, h, sizeof(h), 0))) {
		close(fd);
		unlink(path);
		return dp_err_set(err, rc, "cannot write segment '%s': %s", path, strerror(-rc));
	}
	*fdp = fd;
	return 0;
}

struct dp_seg_writer *dp_seg_writer_create(const char *dir, uint64_t next_seq, struct dp_err *err)
{
	struct dp_seg_writer *w;
	int rc;

	if (next_seq == 0) {
		dp_err_set(err, -EINVAL, "store '%s': sequence numbers start at 1", dir);
		return NULL;
	}
	if (strlen(dir) >= sizeof(w->dir)) {
		dp_err_set(err, -ENAMETOOLONG, "store path too long: '%s'", dir);
		return NULL;
	}
	if ((rc = mkdir_p(dir))) {
		dp_err_set(err, rc, "cannot create store folder '%s': %s", dir, strerror(-rc));
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		dp_err_set(err, -ENOMEM, "out of memory creating the writer of '%s'", dir);
		return NULL;
	}
	strcpy(w->dir, dir);
	if (seg_file_create(dir, next_seq, &w->fd, err)) {
		free(w);
		return NULL;
	}
	w->seg = next_seq;
	w->off = SEG_FILE_HDR;
	w->last_seq = next_seq - 1;
	return w;
}

void dp_seg_writer_destroy(struct dp_seg_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int dp_seg_writer_fd(const struct dp_seg_writer *w)
{
	return w->fd;
}

uint64_t dp_seg_writer_seg(const struct dp_seg_writer *w)
{
	return w->seg;
}

uint64_t dp_seg_writer_bytes(const struct dp_seg_writer *w)
{
	return w->off;
}

static int seg_writer_rotate(struct dp_seg_writer *w, uint64_t seq)
{
	int fd, rc;

	/* Only after a failed rollback on a segment with no frame can its name
	 * be the new one: that file is dropped and made again. */
	if (seq == w->seg) {
		char path[PATH_MAX];
		if (seg_path(path, sizeof(path), w->dir, seq) == 0)
			unlink(path);
	}
	if ((rc = seg_file_create(w->dir, seq, &fd, NULL)))
		return rc;
	close(w->fd);
	w->fd = fd;
	w->seg = seq;
	w->off = SEG_FILE_HDR;
	w->rotate = false;
	return 0;
}

/* The frame (meta then the caller's iovecs) at off, in as few pwritev calls
 * as IOV_MAX and short writes allow. */
static int seg_write_frame(struct dp_seg_writer *w, size_t meta, const struct iovec *iov,
			   unsigned niov, uint64_t off)
{
	/* cursor: i == -1 is the meta buffer, then iov[i]; skip bytes of it */
	long i = -1;
	size_t skip = 0;

	for (;;) {
		unsigned k = 0;
		long j = i;
		size_t sk = skip;
		while (k < IOV_MAX && j < (long)niov) {
			const char *b = j < 0 ? (const char *)w->meta : iov[j].iov_base;
			size_t l = j < 0 ? meta : iov[j].iov_len;
			if (l > sk) {
				w->iov[k].iov_base = (void *)(b + sk);
				w->iov[k].iov_len = l - sk;
				k++;
			}
			sk = 0;
			j++;
		}
		if (k == 0)
			return 0;
		ssize_t r = pwritev(w->fd, w->iov, (int)k, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		/* advance the cursor by r bytes */
		size_t left = (size_t)r;
		while (left) {
			size_t l = (i < 0 ? meta : iov[i].iov_len) - skip;
			if (left < l) {
				skip += left;
				break;
			}
			left -= l;
			skip = 0;
			i++;
		}
	}
}

int dp_seg_append(struct dp_seg_writer *w, const struct dp_seg_meta *m, const struct iovec *iov,
		  unsigned niov, struct dp_seg_pos *pos)
{
	uint64_t sum = 0;
	int rc;

	if (m->seq <= w->last_seq || m->tag_len > SEG_TAG_MAX || m->name_len > DP_SEG_NAME_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < niov; i++)
		sum += iov[i].iov_len;
	if (sum != m->len)
		return -EINVAL;
	if (w->rotate || w->off >= DP_SEG_MAX_BYTES) {
		if ((rc = seg_writer_rotate(w, m->seq)))
			return rc;
	}

	uint64_t t = m->time_ns;
	if (!t) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	uint8_t *h = w->meta;
	memset(h, 0, SEG_FRAME_HDR);
	put32(h, SEG_FRAME_MAGIC);
	put16(h + 12, SEG_FRAME_HDR);
	put32(h + 16, m->len);
	put32(h + 20, m->nrecs);
	put64(h + 24, m->seq);
	put64(h + 32, t);
	put16(h + 40, m->tag_len);
	put16(h + 42, m->name_len);
	memcpy(h + SEG_FRAME_HDR, m->tag, m->tag_len);
	memcpy(h + SEG_FRAME_HDR + m->tag_len, m->name, m->name_len);
	uint32_t hcrc = dp_crc32c(0, h + 12, SEG_FRAME_HDR - 12);
	uint32_t crc = dp_crc32c(hcrc, h + SEG_FRAME_HDR, m->tag_len + m->name_len);
	for (unsigned i = 0; i < niov; i++)
		crc = dp_crc32c(crc, iov[i].iov_base, iov[i].iov_len);
	put32(h + 4, crc);
	put32(h + 8, hcrc);

	size_t meta = SEG_FRAME_HDR + m->tag_len + m->name_len;
	uint64_t start = w->off;
	rc = seg_write_frame(w, meta, iov, niov, start);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		/* the space the free files hold first */
		seg_free_drop(w->dir);
		rc = seg_write_frame(w, meta, iov, niov, start);
	}
	if (rc) {
		/* all or nothing: no partial frame stays behind */
		int r;
		do
			r = ftruncate(w->fd, (off_t)start);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			w->rotate = true;
		return rc;
	}
	w->off = start + meta + m->len;
	w->last_seq = m->seq;
	if (pos) {
		pos->seg = w->seg;
		pos->off = start;
	}
	return 0;
}

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
		rc = seg_next(r->dir, r->seg, true, &s);
		if (rc <= 0)
			return rc;
		if (s != r->seg) {
			r->seg = s;
			r->fresh = true;
		}
		if ((rc = seg_path(path, sizeof(path), r->dir, s)))
			return rc;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* removed since the listing */
			return -errno;
		}
		r->fd = fd;
		src_reset(&r->src, fd);
		r->src.min_seq = s;
		return 1;
	}
}

/* At the end of the open segment: move to the next one if there is one.
 * 1 moved, 0 this is the newest, -errno. */
static int seg_reader_advance(struct dp_seg_reader *r)
{
	uint64_t s;
	int rc = seg_next(r->dir, r->seg, false, &s);

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
			rc = seg_file_check(&r->src, r->seg);
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
				rc = seg_resync(&r->src, 0, &at, &f, NULL);
				if (rc < 0)
					return rc;
				r->skipped += at;
				r->off = at;
				r->fresh = false;
			}
		}
		rc = seg_frame_check(&r->src, r->off, &f, buf, cap);
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
			rc = seg_resync(&r->src, r->off + 1, &at, &f, NULL);
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
			rc = seg_resync(&r->src, r->off + 1, &at, &f, NULL);
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

int dp_seg_remove(const char *dir, uint64_t seg)
{
	char path[PATH_MAX], fp[PATH_MAX + 16];
	int rc = seg_path(path, sizeof(path), dir, seg);

	if (rc)
		return rc;
	for (unsigned k = 0; k < SEG_FREE_MAX; k++) {
		free_path(fp, sizeof(fp), dir, k);
		if (renameat2(AT_FDCWD, path, AT_FDCWD, fp, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	return unlink(path) < 0 ? -errno : 0;
}
