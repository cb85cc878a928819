/*
 * dp_store_seg_write.c — appending frames to a directory's newest segment (dp_seg_writer),
 * rolling over to a new segment, and recycling delivered segments
 * (dp_seg_remove). The shard thread that owns the directory.
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
#include "dp_fs.h"
#include "dp_store_seg_int.h"

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

void dp_seg_free_path(char *buf, size_t cap, const char *dir, unsigned k)
{
	snprintf(buf, cap, "%s/free.%u", dir, k);
}

/* Take a free file as segment path: its descriptor, or -1. */
static int seg_free_take(const char *dir, const char *path)
{
	char fp[PATH_MAX + 16];
	for (unsigned k = 0; k < SEG_FREE_MAX; k++) {
		dp_seg_free_path(fp, sizeof(fp), dir, k);
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
		dp_seg_free_path(fp, sizeof(fp), dir, k);
		unlink(fp);
	}
}

/* Create segment seq in the writer's directory with its file header. */
static int seg_file_create(const char *dir, uint64_t seq, int *fdp, struct dp_err *err)
{
	char path[PATH_MAX];
	uint8_t h[SEG_FILE_HDR];
	int rc;

	if ((rc = dp_seg_path(path, sizeof(path), dir, seq)))
		return dp_err_set(err, rc, "store path too long: '%s'", dir);
	int fd = seg_free_take(dir, path);
	if (fd < 0)
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		return dp_err_set(err, rc, "cannot create segment '%s': %s", path, strerror(-rc));
	}
	dp_seg_file_hdr(h, seq);
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
	if ((rc = dp_mkdir_p(dir, 0750))) {
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
		if (dp_seg_path(path, sizeof(path), w->dir, seq) == 0)
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

int dp_seg_remove(const char *dir, uint64_t seg)
{
	char path[PATH_MAX], fp[PATH_MAX + 16];
	int rc = dp_seg_path(path, sizeof(path), dir, seg);

	if (rc)
		return rc;
	for (unsigned k = 0; k < SEG_FREE_MAX; k++) {
		dp_seg_free_path(fp, sizeof(fp), dir, k);
		if (renameat2(AT_FDCWD, path, AT_FDCWD, fp, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	return unlink(path) < 0 ? -errno : 0;
}
