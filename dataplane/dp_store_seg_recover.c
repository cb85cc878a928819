/*
 * dp_store_seg_recover.c — recovery of a segment directory at start (dp_seg_recover): torn
 * tails cut, corrupt bytes skipped and their segment copied to the rejected
 * folder, counted. Runs before any writer or reader of the directory exists
 * (the control thread, at start).
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

/* ---- recovery ---- */

/* Copy segment seg into rej (made if missing) unless a copy of that name is
 * already there: the evidence of one corruption is kept once. */
static int seg_quarantine(int fd, const char *rej, uint64_t seg, uint8_t *buf, size_t cap,
			  struct dp_err *err)
{
	char path[PATH_MAX];
	int rc = dp_mkdir_p(rej, 0750);
	if (rc)
		return dp_err_set(err, rc, "cannot create rejected folder '%s': %s", rej,
				  strerror(-rc));
	if ((rc = dp_seg_path(path, sizeof(path), rej, seg)))
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
	if ((rc = dp_seg_path(path, sizeof(path), dir, seg)))
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
	dp_seg_src_reset(s, fd);
	s->min_seq = seg;

	rc = dp_seg_file_check(s, seg);
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
				rc = dp_seg_resync(s, 0, &at, &f, &lost);
			} else {
				rc = dp_seg_frame_check(s, off, &f, NULL, 0);
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
				dp_seg_lost_add(&lost, off, &f);
				rc = dp_seg_resync(s, off + 1, &at, &f, &lost);
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
	if ((rc = dp_mkdir_p(dir, 0750)))
		return dp_err_set(err, rc, "cannot create store folder '%s': %s", dir,
				  strerror(-rc));
	if ((rc = dp_seg_list(dir, &names, &n)))
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
