/*
 * dp_store_dlq.c — the dead-letter queue ([SERVICE] storage.keep.rejected):
 * records an output gave up on (Retry_Limit exhausted, no_retries, or a
 * permanent error) are written to <storage.path>/<storage.rejected.path>/
 * instead of being lost, one file per burst:
 *
 *     <tag>_<cause>_<output>_<seq>.msgpack
 *
 * tag with every byte outside [A-Za-z0-9._-] turned into '_' (Fluent
 * Bit's sanitized tag), cause "retries", "error" or "rejected" (the
 * destination refused it for good, e.g. HTTP 400), output the instance's
 * Alias or name.N, seq a per-process counter with the time, so names never
 * repeat. The content is the records as Fluent Bit's events, [time, map]
 * msgpack back to back: what `Format msgpack` writes, readable by any
 * msgpack tool (Fluent Bit writes its own chunk format, .flb, instead).
 *
 * Threads: output workers, on the failure path only (a write per burst
 * given up on, never per record).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_store.h"
#include "dp_time.h"

static _Atomic uint64_t dlq_seq;

static void sanitize(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i;
	for (i = 0; i < len && i + 1 < cap; i++) {
		char ch = src[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '.' || ch == '-' || ch == '_';
		dst[i] = ok ? ch : '_';
	}
	dst[i] = 0;
}

/* One chunk's kept records into fd; -errno on a failed write. */
static int write_chunk(int fd, const struct dp_chunk *c, uint64_t *recs)
{
	struct iovec iov[64];
	uint32_t rec = 0, nrecs = 0, len = 0;
	while (rec < c->nrecs) {
		unsigned n = dp_chunk_kept_runs(c, &rec, iov, DP_ARRAY_SIZE(iov), &nrecs, &len);
		if (n && writev(fd, iov, (int)n) < 0)
			return -errno;
	}
	*recs += nrecs;
	return 0;
}

/* Open a new dead-letter file for records of c0's tag; fd or -errno. */
static int dlq_open(const struct dp_pipeline *pl, const struct dp_output *o, const struct dp_chunk *c0,
		    const char *cause, char *path, size_t cap)
{
	const struct dp_store *st = pl->store;
	char dir[PATH_MAX], tag[128];
	snprintf(dir, sizeof(dir), "%s/%s", st->path, pl->svc.storage_rejected_path);
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	size_t tlen;
	const char *t = dp_chunk_tag(pl, c0, &tlen);
	sanitize(tag, sizeof(tag), t, tlen);
	uint64_t seq = atomic_fetch_add(&dlq_seq, 1);
	snprintf(path, cap, "%s/%s_%s_%s_%llx%04llx.msgpack", dir, tag, cause,
		 o->alias ? o->alias : o->name, (unsigned long long)(dp_time_real_ns() / 1000000ull),
		 (unsigned long long)(seq & 0xffff));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

static int dlq_close(const struct dp_output *o, int fd, int rc, const char *path, uint64_t recs)
{
	close(fd);
	if (rc) {
		unlink(path);
		return rc;
	}
	dp_warn("[%s] %llu records it gave up on are kept in %s", o->alias ? o->alias : o->name,
		(unsigned long long)recs, path);
	return 0;
}

int dp_store_dlq_write(const struct dp_pipeline *pl, const struct dp_output *o,
		       struct dp_chunk *const *c, unsigned n, const char *cause)
{
	if (!pl->store || !pl->svc.storage_keep_rejected || !n)
		return 0;
	char path[PATH_MAX + 256];
	int fd = dlq_open(pl, o, c[0], cause, path, sizeof(path));
	if (fd < 0)
		return fd;
	uint64_t recs = 0;
	int rc = 0;
	for (unsigned i = 0; i < n && !rc; i++)
		rc = write_chunk(fd, c[i], &recs);
	return dlq_close(o, fd, rc, path, recs);
}

int dp_store_dlq_write_sel(const struct dp_pipeline *pl, const struct dp_output *o,
			   const struct dp_chunk *c, const uint64_t *sel, const char *cause)
{
	if (!pl->store || !pl->svc.storage_keep_rejected)
		return 0;
	char path[PATH_MAX + 256];
	int fd = dlq_open(pl, o, c, cause, path, sizeof(path));
	if (fd < 0)
		return fd;
	uint64_t recs = 0;
	int rc = 0;
	struct iovec iov[64];
	unsigned n = 0;
	for (uint32_t i = 0; i < c->nrecs && !rc; i++) {
		const struct dp_rec *r = &c->recs[i];
		if (!(sel[i / 64] >> (i % 64) & 1) || (r->flags & DP_REC_DROPPED))
			continue;
		iov[n].iov_base = c->data + r->off;
		iov[n].iov_len = r->len;
		recs++;
		if (++n == DP_ARRAY_SIZE(iov)) {
			rc = writev(fd, iov, (int)n) < 0 ? -errno : 0;
			n = 0;
		}
	}
	if (!rc && n && writev(fd, iov, (int)n) < 0)
		rc = -errno;
	return dlq_close(o, fd, rc, path, recs);
}
