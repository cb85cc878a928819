/*
 * dp_store.c — the pipeline's filesystem store: configuration checks,
 * folders, and the per-output cursor files (see dp_store.h).
 *
 * A cursor file is small and rewritten in place with one pwrite:
 *
 *   offset 0   8 bytes  magic "SLCUR\0\0\1" (the last byte is the version)
 *   offset 8   4 bytes  ndirs, little-endian
 *   offset 12  4 bytes  CRC32C of the ndirs seqs that follow
 *   offset 16  8*ndirs  per shard directory: the seq up to which every
 *                       chunk of that directory routed to this output was
 *                       confirmed, little-endian
 *
 * A cursor that is lost or fails its CRC reads as 0: the chunks are sent
 * again (duplicates), never skipped. That is why a cursor is never synced:
 * it only saves work after a restart.
 *
 * Threads: the control thread (check, open, close); a dp_store_cur belongs
 * to one output worker.
 */
#include <alloca.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dp_filter.h"
#include "dp_fs.h"
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_pool.h"
#include "dp_store.h"
#include "dp_store_seg.h"

static const char cur_magic[8] = { 'S', 'L', 'C', 'U', 'R', 0, 0, 1 };

static const char *out_name(const struct dp_output *o)
{
	return o->alias ? o->alias : o->name;
}

int dp_store_check(struct dp_pipeline *pl, struct dp_err *err)
{
	unsigned nfs = 0;
	for (unsigned i = 0; i < pl->nin; i++) {
		struct dp_input *in = pl->in[i];
		if (in->storage_type != DP_STORAGE_FILESYSTEM)
			continue;
		nfs++;
		if (in->emitter_of >= 0 && (unsigned)in->emitter_of < pl->nflt && !pl->svc.storage_path) {
			const struct dp_filter *f = pl->flt[in->emitter_of];
			return dp_err_set(err, -EINVAL, "%s:%d: [FILTER] %s: 'emitter_storage.type "
					  "filesystem' needs [SERVICE] storage.path (or -b PATH)",
					  f->emitter_storage_file, f->emitter_storage_line, f->ops->name);
		}
		const struct dp_conf_kv *kv = in->sec ? dp_conf_kv_get(in->sec, "storage.type") : NULL;
		if (!pl->svc.storage_path) {
			return dp_err_set(err, -EINVAL, "%s:%d: [INPUT] %s: 'storage.type filesystem' needs "
					  "[SERVICE] storage.path (or -b PATH)", kv ? kv->file : in->file,
					  kv ? kv->line : in->line, in->ops->name);
		}
	}
	if (pl->svc.storage_keep_rejected && !pl->svc.storage_path)
		return dp_err_set(err, -EINVAL, "'storage.keep.rejected on' needs [SERVICE] storage.path");
	if (!nfs)
		return 0;
	/* storage.max_chunks_up: what a filesystem input holds in memory, on
	 * top of its Mem_Buf_Limit (the smaller wins). */
	unsigned up = (unsigned)(pl->svc.storage_max_chunks_up / (int64_t)(nfs * pl->nshards));
	for (unsigned i = 0; i < pl->nin; i++) {
		struct dp_input *in = pl->in[i];
		if (in->storage_type == DP_STORAGE_FILESYSTEM && in->pool_chunks > up)
			in->pool_chunks = up < 3 ? 3 : up;
	}
	return 0;
}

void dp_store_dir(const struct dp_store *st, unsigned k, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/shard-%u", st->path, k);
}

static void cur_path(const struct dp_store *st, const struct dp_output *o, unsigned nth, char *buf,
		     size_t cap)
{
	snprintf(buf, cap, "%s/cursors/%s.%u", st->path, out_name(o), nth);
}

/* The cursors of one file into seq[ndirs] (zeros where it has none). */
static void cur_read(const char *path, uint64_t *seq, unsigned ndirs)
{
	memset(seq, 0, ndirs * sizeof(*seq));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint8_t hdr[16];
	if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && !memcmp(hdr, cur_magic, 8)) {
		uint32_t n, crc;
		memcpy(&n, hdr + 8, 4);
		memcpy(&crc, hdr + 12, 4);
		uint64_t *v = n && n <= 65536 ? calloc(n, sizeof(*v)) : NULL;
		if (v && pread(fd, v, n * sizeof(*v), 16) == (ssize_t)(n * sizeof(*v)) &&
		    dp_crc32c(0, v, n * sizeof(*v)) == crc) {
			for (unsigned d = 0; d < n && d < ndirs; d++)
				seq[d] = v[d];
		} else {
			dp_warn("store: cursor file %s is damaged: its chunks are sent again", path);
		}
		free(v);
	}
	close(fd);
}

/* How many shard-<k> directories there are (k + 1 of the highest). */
static unsigned count_dirs(const char *path)
{
	unsigned n = 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned k;
		char tail;
		if (sscanf(e->d_name, "shard-%u%c", &k, &tail) == 1 && k < 65535 && k + 1 > n)
			n = k + 1;
	}
	closedir(d);
	return n;
}

/* What each output had confirmed, from its workers' cursor files (at
 * open, and again when a reload hands the store to a new pipeline whose
 * workers start from it). */
static int read_cursors(struct dp_pipeline *pl)
{
	struct dp_store *st = pl->store;
	char buf[PATH_MAX];
	uint64_t *tmp = calloc(st->ndirs, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	memset(st->cursor, 0, (size_t)pl->nout * st->ndirs * sizeof(*st->cursor));
	/* An output that spreads every chunk over its workers (fanout)
	 * confirmed a chunk when all of them did: the smallest cursor. Else
	 * one worker had each directory: the largest (each file's claim is
	 * true on its own, and a worker count may have changed). */
	for (unsigned o = 0; o < pl->nout; o++) {
		const struct dp_output *out = pl->out[o];
		uint64_t *cur = st->cursor + (size_t)o * st->ndirs;
		for (unsigned n = 0; n < (unsigned)out->workers; n++) {
			cur_path(st, out, n, buf, sizeof(buf));
			cur_read(buf, tmp, st->ndirs);
			for (unsigned d = 0; d < st->ndirs; d++) {
				if (out->fanout)
					cur[d] = n == 0 || tmp[d] < cur[d] ? tmp[d] : cur[d];
				else if (tmp[d] > cur[d])
					cur[d] = tmp[d];
			}
		}
	}
	free(tmp);
	return 0;
}

int dp_store_open(struct dp_pipeline *pl, struct dp_err *err)
{
	bool used = pl->svc.storage_keep_rejected;
	for (unsigned i = 0; i < pl->nin; i++)
		used |= pl->in[i]->storage_type == DP_STORAGE_FILESYSTEM;
	/* A store left by an earlier run is replayed even when no input
	 * writes to it any more: what it holds was accepted. */
	if (!pl->svc.storage_path)
		return 0;
	unsigned found = count_dirs(pl->svc.storage_path);
	if (!used && !found)
		return 0;
	struct dp_store *st = calloc(1, sizeof(*st));
	if (!st)
		return dp_err_set(err, -ENOMEM, "store: out of memory");
	pl->store = st;
	st->path = pl->svc.storage_path;
	st->sync_full = pl->svc.storage_sync == 1;
	st->ndirs = found > pl->nshards ? found : pl->nshards;
	int64_t per = pl->svc.storage_backlog_mem_limit / (int64_t)pl->nshards /
		      (int64_t)dp_pool_chunk_footprint();
	st->backlog_chunks = per < 4 ? 4 : (unsigned)per;
	st->full_pause = pl->svc.storage_full_action == 1;
	for (unsigned o = 0; o < pl->nout; o++) {
		uint64_t lim = (uint64_t)pl->out[o]->storage_total_limit / pl->nshards;
		if (pl->out[o]->storage_total_limit > 0) {
			st->out_limit[o] = lim ? lim : 1;
			st->any_limit = true;
		}
	}
	char buf[PATH_MAX];
	int rc = dp_mkdir_p(st->path, 0750);
	snprintf(buf, sizeof(buf), "%s/cursors", st->path);
	if (!rc)
		rc = dp_mkdir_p(buf, 0750);
	if (rc)
		return dp_err_set(err, rc, "storage.path %s: cannot create it: %s", st->path, strerror(-rc));
	st->cursor = calloc((size_t)pl->nout * st->ndirs, sizeof(*st->cursor));
	if (!st->cursor || read_cursors(pl))
		return dp_err_set(err, -ENOMEM, "store: out of memory");
	return 0;
}

int dp_store_adopt(struct dp_pipeline *pl, struct dp_store *st)
{
	pl->store = st;
	st->path = pl->svc.storage_path;   /* the same path, in pl's own settings */
	return read_cursors(pl);
}

void dp_store_close(struct dp_pipeline *pl)
{
	struct dp_store *st = pl->store;
	if (!st)
		return;
	free(st->cursor);
	free(st);
	pl->store = NULL;
}

/* ---- a worker's cursors ---- */

int dp_store_cur_open(struct dp_store_cur *c, const struct dp_store *st, const struct dp_output *o,
		      unsigned nth, struct dp_err *err)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->ndirs = st->ndirs;
	c->seq = calloc(st->ndirs, sizeof(*c->seq));
	if (!c->seq)
		return dp_err_set(err, -ENOMEM, "store: out of memory");
	/* Start from what the output as a whole had confirmed. */
	memcpy(c->seq, st->cursor + (size_t)o->id * st->ndirs, st->ndirs * sizeof(*c->seq));
	char path[PATH_MAX];
	cur_path(st, o, nth, path, sizeof(path));
	c->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (c->fd < 0)
		return dp_err_set(err, -errno, "store: %s: %s", path, strerror(errno));
	c->dirty = true;
	dp_store_cur_save(c);
	return 0;
}

void dp_store_cur_close(struct dp_store_cur *c)
{
	if (c->fd >= 0) {
		dp_store_cur_save(c);
		close(c->fd);
	}
	c->fd = -1;
	free(c->seq);
	free(c->held);
	c->seq = NULL;
	c->held = NULL;
}

void dp_store_cur_hold(struct dp_store_cur *c, uint16_t dir, uint64_t seq)
{
	if (c->nheld == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 64;
		void *p = realloc(c->held, cap * sizeof(*c->held));
		if (!p)
			return;   /* the cursor stays behind: duplicates, not loss */
		c->held = p;
		c->cap = cap;
	}
	c->held[c->nheld++] = (struct dp_store_held){ .seq = seq, .dir = dir };
}

void dp_store_cur_settle(struct dp_store_cur *c, uint16_t dir, uint64_t seq)
{
	unsigned i;
	for (i = 0; i < c->nheld; i++)
		if (c->held[i].dir == dir && c->held[i].seq == seq && !c->held[i].done)
			break;
	if (i == c->nheld)
		return;
	c->held[i].done = true;
	/* The settled prefix moves the cursors. */
	unsigned k = 0;
	while (k < c->nheld && c->held[k].done) {
		dp_store_cur_done(c, c->held[k].dir, c->held[k].seq);
		k++;
	}
	if (k) {
		memmove(c->held, c->held + k, (c->nheld - k) * sizeof(*c->held));
		c->nheld -= k;
	}
}

void dp_store_cur_save(struct dp_store_cur *c)
{
	if (!c->dirty || c->fd < 0)
		return;
	c->dirty = false;
	size_t n = 16 + c->ndirs * sizeof(uint64_t);
	uint8_t *buf = alloca(n);
	memcpy(buf, cur_magic, 8);
	uint32_t nd = c->ndirs, crc = dp_crc32c(0, c->seq, c->ndirs * sizeof(uint64_t));
	memcpy(buf + 8, &nd, 4);
	memcpy(buf + 12, &crc, 4);
	memcpy(buf + 16, c->seq, c->ndirs * sizeof(uint64_t));
	if (pwrite(c->fd, buf, n, 0) != (ssize_t)n)
		c->dirty = true;   /* try again after the next burst */
}
