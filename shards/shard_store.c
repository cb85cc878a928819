/*
 * shard_store.c — a shard's part of the filesystem store (shard_store.h).
 *
 * Writing. A chunk of a filesystem input is appended to the shard's newest
 * segment when it is pushed, after its filters ran (so a replay does not
 * filter twice), one frame per chunk: its records, tag and input name.
 *
 * Two modes. Direct: the chunk also goes on to the outputs from memory, the
 * common case, and costs one append. Backlog: the outputs are behind (the
 * input's pool is nearly used up; unless storage.pause_on_chunks_overlimit,
 * then the input pauses as a memory input would), so the chunk waits on disk and its
 * memory is reused at once; a reader goes through the directory from the
 * first chunk that waited and pushes what it reads, with chunks of a pool
 * of the store's own (storage.backlog.mem_limit), as the outputs return
 * memory. New chunks keep going to disk behind it until the reader has
 * caught up, so order holds. A restart is the same: the segments an
 * earlier run left are the backlog, read before anything new; chunks every
 * output had confirmed (per-output cursors, dp_store.h) are skipped.
 *
 * Deleting. A segment is deleted once it is sealed (the writer moved on)
 * and each of its frames is either returned by every output or skipped.
 *
 * Directories of shards that no longer exist (fewer shards than before)
 * are replayed by shard k % nshards, before its own.
 *
 * Limits (storage.total_limit_size, a full disk) are in
 * shard_store_limits.c, the sync thread in shard_store_sync.c.
 *
 * Threads: the owning shard; the syncer (storage.sync full) touches only
 * the fields marked for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dp_log.h"
#include "dp_store.h"
#include "dp_store_seg.h"
#include "dp_time.h"
#include "shard.h"
#include "shard_store.h"
#include "shard_store_int.h"

/* ---- segment accounting ---- */

static struct seg_acct *acct_add(struct store_dir *d, uint64_t seg)
{
	if (d->nsegs == d->cap) {
		unsigned cap = d->cap ? d->cap * 2 : 16;
		void *p = realloc(d->segs, cap * sizeof(*d->segs));
		if (!p)
			return NULL;
		d->segs = p;
		d->cap = cap;
	}
	struct seg_acct *a = &d->segs[d->nsegs++];
	memset(a, 0, sizeof(*a));
	a->seg = seg;
	return a;
}

static struct seg_acct *acct_find(struct store_dir *d, uint64_t seg)
{
	for (unsigned i = 0; i < d->nsegs; i++)
		if (d->segs[i].seg == seg)
			return &d->segs[i];
	return NULL;
}

/* Delete the sealed segments whose frames are all done, oldest first or
 * not (a later one may finish first after a skip). */
static void acct_collect(struct shard_store *ss, struct store_dir *d)
{
	unsigned j = 0;
	for (unsigned i = 0; i < d->nsegs; i++) {
		struct seg_acct *a = &d->segs[i];
		if (a->sealed && a->released >= a->frames && dp_seg_remove(d->path, a->seg) == 0) {
			ss->disk_full = false;
			DP_CNT_ADD(ss->cnt.segments_deleted, 1);
			DP_CNT_ADD(ss->cnt.backlog_bytes, -a->bytes);
			continue;
		}
		d->segs[j++] = *a;
	}
	d->nsegs = j;
}

static void frame_done(struct shard_store *ss, unsigned dir, uint64_t seg)
{
	struct store_dir *d = &ss->dirs[dir];
	struct seg_acct *a = acct_find(d, seg);
	if (!a)
		return;
	a->released++;
	if (a->sealed && a->released >= a->frames)
		acct_collect(ss, d);
}

static int dir_index(const struct shard_store *ss, unsigned k)
{
	for (unsigned i = 0; i < ss->ndirs; i++)
		if (ss->dirs[i].k == k)
			return (int)i;
	return -1;
}

/* ---- open / close ---- */

static int dir_recover(struct shard *sh, struct shard_store *ss, unsigned k, struct dp_err *err)
{
	struct store_dir *d = &ss->dirs[ss->ndirs];
	memset(d, 0, sizeof(*d));
	d->k = k;
	dp_store_dir(ss->st, k, d->path, sizeof(d->path));
	char rej[PATH_MAX];
	snprintf(rej, sizeof(rej), "%s/%s", ss->st->path, sh->pl->svc.storage_rejected_path);
	struct dp_seg_recovery rep;
	memset(&rep, 0, sizeof(rep));
	int rc = dp_seg_recover(d->path, sh->pl->svc.storage_delete_irrecoverable ? NULL : rej, &rep, err);
	if (rc)
		return rc;
	ss->ndirs++;
	uint64_t recs = 0;
	for (unsigned i = 0; i < rep.nsegs; i++) {
		struct seg_acct *a = acct_add(d, rep.segs[i].seg);
		if (!a) {
			free(rep.segs);
			return dp_err_set(err, -ENOMEM, "store: out of memory");
		}
		a->frames = rep.segs[i].frames;
		a->records = rep.segs[i].records;
		a->bytes = rep.segs[i].bytes;
		a->sealed = true;
		recs += rep.segs[i].records;
		DP_CNT_ADD(ss->cnt.backlog_bytes, a->bytes);
	}
	DP_CNT_ADD(ss->cnt.torn_bytes, rep.torn_bytes);
	DP_CNT_ADD(ss->cnt.torn_records, rep.torn_records);
	DP_CNT_ADD(ss->cnt.corrupt_bytes, rep.corrupt_bytes);
	DP_CNT_ADD(ss->cnt.quarantined, rep.quarantined);
	if (rep.torn_bytes)
		dp_warn("store: %s: cut %llu bytes of a torn write off a segment's end (%llu frames, "
			"%llu records lost)", d->path, (unsigned long long)rep.torn_bytes,
			(unsigned long long)rep.torn_frames, (unsigned long long)rep.torn_records);
	if (rep.corrupt_bytes)
		dp_warn("store: %s: %llu corrupt bytes skipped in %llu segments%s", d->path,
			(unsigned long long)rep.corrupt_bytes, (unsigned long long)rep.quarantined,
			sh->pl->svc.storage_delete_irrecoverable ? "" : ", copied to the rejected folder");
	if (rep.nsegs) {
		d->replaying = true;
		d->replay_end = rep.next_seq - 1;
		dp_info("store: %s: %llu records in %u segments to replay", d->path,
			(unsigned long long)recs, rep.nsegs);
	}
	if (k == sh->id)
		ss->next_seq = rep.next_seq;
	free(rep.segs);
	return 0;
}

int shard_store_open(struct shard *sh, struct dp_err *err)
{
	struct dp_store *st = sh->pl->store;
	if (!st)
		return 0;
	struct shard_store *ss = calloc(1, sizeof(*ss));
	unsigned nd = 1;
	for (unsigned k = sh->pl->nshards; k < st->ndirs; k++)
		nd += k % sh->pl->nshards == sh->id;
	if (ss)
		ss->dirs = calloc(nd, sizeof(*ss->dirs));
	if (!ss || !ss->dirs) {
		free(ss);
		return dp_err_set(err, -ENOMEM, "store: out of memory");
	}
	sh->store = ss;
	ss->st = st;
	ss->next_seq = 1;
	int rc = dir_recover(sh, ss, sh->id, err);
	for (unsigned k = sh->pl->nshards; !rc && k < st->ndirs; k++)
		if (k % sh->pl->nshards == sh->id)
			rc = dir_recover(sh, ss, k, err);
	if (rc)
		return rc;
	if (!(ss->wr = dp_seg_writer_create(ss->dirs[0].path, ss->next_seq, err)))
		return err->code ? err->code : -EIO;
	if (dp_pool_init(&ss->pool, st->backlog_chunks, (uint16_t)sh->id, 0))
		return dp_err_set(err, -ENOMEM, "store: cannot allocate %u chunks", st->backlog_chunks);
	if (st->sync_full && (rc = shard_store_syncer_start(ss, &sh->bell, err)))
		return rc;
	/* What an earlier run left goes before anything new. */
	for (unsigned i = 0; i < ss->ndirs; i++)
		ss->backlog |= ss->dirs[i].replaying;
	return 0;
}

void shard_store_close(struct shard *sh)
{
	struct shard_store *ss = sh->store;
	if (!ss)
		return;
	if (ss->sync)
		shard_store_syncer_stop(ss->sync);
	dp_seg_reader_destroy(ss->rd);
	dp_seg_writer_destroy(ss->wr);
	dp_pool_fini(&ss->pool);
	for (unsigned i = 0; i < ss->ndirs; i++)
		free(ss->dirs[i].segs);
	free(ss->dirs);
	free(ss->pend);
	free(ss);
	sh->store = NULL;
}

/* ---- writing ---- */

static const char *input_name(const struct dp_input *in)
{
	return in->alias ? in->alias : in->name;
}

static void pend_add(struct shard_store *ss, uint64_t seq, uint32_t nrecs, uint32_t nall,
		     uint16_t input, const struct dp_chunk *c)
{
	if (ss->npend == ss->pend_cap) {
		unsigned cap = ss->pend_cap ? ss->pend_cap * 2 : 256;
		struct pend *p = malloc(cap * sizeof(*p));
		if (!p)
			return;
		for (unsigned i = 0; i < ss->npend; i++)
			p[i] = ss->pend[(ss->pend_head + i) % ss->pend_cap];
		free(ss->pend);
		ss->pend = p;
		ss->pend_cap = cap;
		ss->pend_head = 0;
	}
	struct pend *p = &ss->pend[(ss->pend_head + ss->npend++) % ss->pend_cap];
	*p = (struct pend){ .seq = seq, .nrecs = nrecs, .nall = nall, .input = input, .ack = c != NULL };
	if (c)
		memcpy(p->in_meta, c->in_meta, sizeof(p->in_meta));
}

bool shard_store_write(struct shard *sh, struct shard_in *si, struct dp_chunk *c)
{
	struct shard_store *ss = sh->store;
	uint32_t nrecs = 0, len = 0, rec = 0;
	unsigned niov = dp_chunk_kept_runs(c, &rec, ss->iov, DP_ARRAY_SIZE(ss->iov), &nrecs, &len);
	if (!nrecs) {
		/* Filters kept nothing: settled now, whether it goes on or its
		 * memory is reused at once (backlog). */
		DP_CNT_ADD(si->cnt.records, c->nrecs);
		if (si->in->ops->chunk_released && !c->st_acked) {
			si->in->ops->chunk_released(si->in, si->ctx, c);
			c->st_acked = true;
		}
		return !ss->backlog;
	}
	struct dp_seg_meta *m = &ss->meta;
	size_t tlen;
	const char *tag = dp_chunk_tag(sh->pl, c, &tlen);
	const char *name = input_name(si->in);
	m->seq = ss->next_seq;
	m->time_ns = sh->now_real_ns;
	m->nrecs = nrecs;
	m->len = len;
	m->tag_len = (uint16_t)tlen;
	memcpy(m->tag, tag, tlen);
	m->name_len = (uint16_t)strnlen(name, DP_SEG_NAME_MAX);
	memcpy(m->name, name, m->name_len);
	struct dp_seg_pos pos;
	uint64_t route = si->open_route;   /* c->route is set when it is sent */
	if (ss->st->any_limit && !ss->st->full_pause)
		shard_store_limit_room(sh, ss, route, len);
	int rc = dp_seg_append(ss->wr, m, ss->iov, niov, &pos);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		/* Disk full: as storage.total_limit_size says (drop the
		 * oldest waiting data, or pause the inputs). */
		ss->disk_full = true;
		if (!ss->st->full_pause && shard_store_make_room(sh, ss))
			rc = dp_seg_append(ss->wr, m, ss->iov, niov, &pos);
	}
	if (rc) {
		/* Not stored: it goes on in memory, as a memory input's would,
		 * and is counted; unless chunks already wait on disk, where it
		 * would pass them: then it waits in memory for its turn... which
		 * a chunk cannot do here, so it goes on and order yields. */
		DP_CNT_ADD(ss->cnt.write_errors, 1);
		DP_CNT_ADD(ss->cnt.unstored_records, nrecs);
		DP_CNT_ADD(si->cnt.records, c->nrecs);
		if (dp_ratelimit_ok(&ss->err_rl, sh->now_ns, 10000000000ull))
			dp_error("store: cannot write to %s: %s; records go on unstored", ss->dirs[0].path,
				 strerror(-rc));
		return true;
	}
	ss->next_seq++;
	struct store_dir *d = &ss->dirs[0];
	struct seg_acct *a = d->nsegs ? &d->segs[d->nsegs - 1] : NULL;
	if (!a || a->seg != pos.seg || a->sealed) {
		if (a && !a->sealed) {
			a->sealed = true;
			if (a->released >= a->frames)
				acct_collect(ss, d);
		}
		a = acct_add(d, pos.seg);
	}
	uint64_t grow = dp_seg_writer_bytes(ss->wr);
	if (a) {
		a->frames++;
		a->records += nrecs;
		a->last_seq = m->seq;
		a->route |= route;
		grow -= a->bytes;
		a->bytes += grow;
	}
	DP_CNT_ADD(ss->cnt.backlog_bytes, grow);
	DP_CNT_ADD(ss->cnt.written_chunks, 1);
	DP_CNT_ADD(ss->cnt.written_records, nrecs);
	DP_CNT_ADD(ss->cnt.written_bytes, len);
	if (ss->sync) {
		atomic_store_explicit(&ss->sync->want_seg, pos.seg, memory_order_release);
		atomic_store_explicit(&ss->sync->want_seq, m->seq, memory_order_release);
		uint64_t one = 1;
		ssize_t r = write(ss->sync->efd, &one, sizeof(one));
		(void)r;
		pend_add(ss, m->seq, nrecs, c->nrecs, (uint16_t)si->in->id,
			 si->in->ops->chunk_released ? c : NULL);
	} else {
		DP_CNT_ADD(si->cnt.stored, nrecs);
		DP_CNT_ADD(si->cnt.records, c->nrecs);
		/* An input that acknowledges its source (a Kafka commit, a tail
		 * offset) may do so now: the records are in the store. */
		if (si->in->ops->chunk_released)
			si->in->ops->chunk_released(si->in, si->ctx, c);
	}
	c->st_acked = si->in->ops->chunk_released != NULL;
	c->st_seq = m->seq;
	c->st_seg = pos.seg;
	c->st_dir = (uint16_t)d->k;
	/* Outputs behind: this and what follows wait on disk rather than in
	 * memory, and the input keeps reading. */
	if (!ss->backlog && !si->in->storage_pause &&
	    (si->pool.nfree < 2 || si->pool.nfree * 4 < si->pool.total))
		ss->backlog = true;
	if (!ss->backlog) {
		if (a)
			a->pushed++;
		return true;
	}
	/* It waits on disk: for storage.total_limit_size, per output. */
	for (uint64_t r = ss->st->any_limit ? route : 0; r && a; r &= r - 1) {
		unsigned o = (unsigned)__builtin_ctzll(r);
		ss->wait[o] += len;
		a->wbytes[o] += len;
	}
	if (!d->replaying && !ss->bpos_set) {
		ss->bpos = pos;
		ss->bpos_set = true;
	}
	DP_CNT_ADD(ss->cnt.spilled_chunks, 1);
	return false;
}

void shard_store_tick(struct shard *sh)
{
	struct shard_store *ss = sh->store;
	if (!ss)
		return;
	if (ss->st->full_pause && !shard_store_full(sh))
		for (unsigned i = 0; i < sh->nin; i++)
			if (sh->ins[i].in->storage_type == DP_STORAGE_FILESYSTEM)
				sh->ins[i].starved = false;
	if (!ss->sync)
		return;
	uint64_t synced = atomic_load_explicit(&ss->sync->synced, memory_order_acquire);
	DP_CNT_ADD(ss->cnt.synced_seq, synced - ss->cnt.synced_seq);
	while (ss->npend && ss->pend[ss->pend_head].seq <= synced) {
		struct pend *p = &ss->pend[ss->pend_head];
		struct shard_in *si = &sh->ins[p->input];
		DP_CNT_ADD(si->cnt.stored, p->nrecs);
		DP_CNT_ADD(si->cnt.records, p->nall);
		if (p->ack) {
			struct dp_chunk ack = { .input = p->input, .shard = (uint16_t)sh->id };
			memcpy(ack.in_meta, p->in_meta, sizeof(ack.in_meta));
			si->in->ops->chunk_released(si->in, si->ctx, &ack);
		}
		ss->pend_head = (ss->pend_head + 1) % ss->pend_cap;
		ss->npend--;
	}
}

/* ---- reading back ---- */

/* The directory to read next: adopted ones first, then the own one, from
 * its oldest segment when an earlier run left some, else from the first
 * chunk that waited. None: nothing waits, chunks go direct. */
static bool reader_open(struct shard_store *ss, unsigned i, struct dp_seg_pos pos)
{
	struct store_dir *d = &ss->dirs[i];
	struct dp_err err = { 0 };
	ss->rd = dp_seg_reader_create(d->path, pos, &err);
	if (!ss->rd) {
		dp_error("store: cannot read %s back: %s", d->path, err.msg);
		d->replaying = false;
		return false;
	}
	ss->rd_dir = i;
	return true;
}

static bool reader_next(struct shard_store *ss)
{
	if (ss->rd)
		return true;
	for (unsigned i = 1; i < ss->ndirs; i++) {
		struct store_dir *d = &ss->dirs[i];
		if (d->replaying && d->nsegs &&
		    reader_open(ss, i, (struct dp_seg_pos){ .seg = d->segs[0].seg, .off = 0 }))
			return true;
		d->replaying = false;
	}
	struct store_dir *d = &ss->dirs[0];
	if (d->replaying && d->nsegs &&
	    reader_open(ss, 0, (struct dp_seg_pos){ .seg = d->segs[0].seg, .off = 0 }))
		return true;
	d->replaying = false;
	if (ss->bpos_set && reader_open(ss, 0, ss->bpos))
		return true;
	ss->bpos_set = false;
	ss->backlog = false;
	return false;
}

bool shard_store_sync_due(const struct shard *sh)
{
	const struct shard_store *ss = sh->store;
	return ss && ss->sync && ss->npend &&
	       ss->pend[ss->pend_head].seq <= atomic_load_explicit(&ss->sync->synced, memory_order_acquire);
}

bool shard_store_pending(const struct shard *sh)
{
	const struct shard_store *ss = sh->store;
	if (!ss)
		return false;
	if (ss->rd || ss->backlog)
		return true;
	for (unsigned i = 0; i < ss->ndirs; i++)
		if (ss->dirs[i].replaying)
			return true;
	return false;
}

static int input_by_name(const struct dp_pipeline *pl, const char *name, size_t len)
{
	for (unsigned i = 0; i < pl->nin; i++) {
		const char *n = input_name(pl->in[i]);
		if (strlen(n) == len && !memcmp(n, name, len))
			return (int)i;
	}
	return -1;
}

/* What to do with a frame just read into c: route it, minus the outputs
 * that confirmed it before a restart. */
static uint64_t replay_route(struct shard *sh, struct shard_store *ss, const struct store_dir *d,
			     const struct dp_seg_meta *m)
{
	const struct dp_pipeline *pl = sh->pl;
	uint64_t route = dp_pipeline_route(pl, m->tag, m->tag_len);
	if (d->k >= ss->st->ndirs)
		return route;
	for (uint64_t r = route; r; r &= r - 1) {
		unsigned o = (unsigned)__builtin_ctzll(r);
		if (ss->st->cursor[(size_t)o * ss->st->ndirs + d->k] >= m->seq)
			route &= ~(1ull << o);
	}
	return route;
}

/* A frame of this run read back from the own directory: it no longer
 * waits on disk; outputs that dropped it for their limit do not get it. */
static uint64_t limit_route(struct shard_store *ss, struct store_dir *d, const struct dp_seg_pos *pos,
			    const struct dp_seg_meta *m, uint64_t route)
{
	struct seg_acct *a = acct_find(d, pos->seg);
	bool dropped = false;
	for (uint64_t r = route; r; r &= r - 1) {
		unsigned o = (unsigned)__builtin_ctzll(r);
		if (m->seq <= ss->drop_seq[o]) {
			route &= ~(1ull << o);
			dropped = true;
			continue;
		}
		ss->wait[o] -= m->len;
		if (a)
			a->wbytes[o] -= m->len;
	}
	if (dropped)
		DP_CNT_ADD(ss->cnt.limit_dropped_records, m->nrecs);
	return route;
}

static void reader_done(struct shard_store *ss)
{
	struct store_dir *d = &ss->dirs[ss->rd_dir];
	dp_seg_reader_destroy(ss->rd);
	ss->rd = NULL;
	d->replaying = false;
	if (ss->rd_dir == 0) {
		ss->bpos_set = false;
		ss->backlog = false;
	}
}

bool shard_store_pump(struct shard *sh)
{
	struct shard_store *ss = sh->store;
	bool pushed = false;
	while (ss->pool.nfree && reader_next(ss)) {
		struct store_dir *d = &ss->dirs[ss->rd_dir];
		struct dp_chunk *c = dp_pool_get(&ss->pool);
		struct dp_seg_pos pos;
		int rc = dp_seg_read(ss->rd, &ss->meta, c->data, DP_CHUNK_DATA, &pos);
		if (rc <= 0) {
			dp_pool_put(&ss->pool, c);
			if (rc < 0) {
				DP_CNT_ADD(ss->cnt.read_errors, 1);
				if (dp_ratelimit_ok(&ss->err_rl, sh->now_ns, 10000000000ull))
					dp_error("store: reading %s: %s", d->path, strerror(-rc));
				break;
			}
			/* Caught up: the own directory's chunks go direct
			 * again; an adopted one is finished. */
			reader_done(ss);
			continue;
		}
		const struct dp_seg_meta *m = &ss->meta;
		bool replay = m->seq <= d->replay_end;
		if (dp_chunk_reindex(c, m->len)) {
			DP_CNT_ADD(ss->cnt.corrupt_chunks, 1);
			dp_pool_put(&ss->pool, c);
			frame_done(ss, ss->rd_dir, pos.seg);
			continue;
		}
		uint64_t route = replay ? replay_route(sh, ss, d, m) : dp_pipeline_route(sh->pl, m->tag, m->tag_len);
		if (!replay && ss->rd_dir == 0 && ss->st->any_limit)
			route = limit_route(ss, d, &pos, m, route);
		DP_CNT_ADD(ss->cnt.read_chunks, 1);
		DP_CNT_ADD(ss->cnt.read_records, c->nrecs);
		if (!route) {
			DP_CNT_ADD(ss->cnt.skipped_chunks, 1);
			dp_pool_put(&ss->pool, c);
			frame_done(ss, ss->rd_dir, pos.seg);
			continue;
		}
		if (replay)
			DP_CNT_ADD(ss->cnt.replayed_records, c->nrecs);
		int in = input_by_name(sh->pl, m->name, m->name_len);
		c->input = (uint16_t)(in < 0 ? 0 : in);
		c->opened_ns = sh->now_ns;
		c->tag_len = m->tag_len;
		memcpy(c->tag, m->tag, m->tag_len);
		c->st_seq = m->seq;
		c->st_seg = pos.seg;
		c->st_dir = (uint16_t)d->k;
		c->st_replayed = true;
		struct seg_acct *a = acct_find(d, pos.seg);
		if (a)
			a->pushed++;
		shard_chunk_send(sh, c, route, &ss->pool);
		pushed = true;
	}
	return pushed;
}

bool shard_store_released(struct shard *sh, struct dp_chunk *c)
{
	struct shard_store *ss = sh->store;
	int i = dir_index(ss, c->st_dir);
	if (i >= 0)
		frame_done(ss, (unsigned)i, c->st_seg);
	if (!c->st_replayed)
		return false;
	dp_pool_put(&ss->pool, c);
	return true;
}

const struct shard_store_counters *shard_store_counters(const struct shard *sh)
{
	return sh->store ? &sh->store->cnt : NULL;
}

bool shard_store_idle(const struct shard *sh)
{
	const struct shard_store *ss = sh->store;
	return !ss || (!shard_store_pending(sh) && ss->pool.nfree == ss->pool.total);
}
