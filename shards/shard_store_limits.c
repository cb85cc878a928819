/*
 * shard_store_limits.c — the limits of a shard's store: each output's
 * storage.total_limit_size (the oldest data waiting for that output goes,
 * for it alone) and a full disk (the oldest segment waiting whole goes, for
 * every output); with storage.full_action pause, the inputs stop instead
 * (shard_store_full). Every drop is counted in the store's counters.
 *
 * Threads: the owning shard's.
 */
#include "shard_store_int.h"

/* The oldest segment no chunk of which went to the outputs yet (all of it
 * waits on disk), other than the one being written. */
static struct seg_acct *oldest_waiting(struct shard_store *ss, struct store_dir **dp)
{
	for (unsigned i = ss->ndirs; i-- > 0;) {
		struct store_dir *d = &ss->dirs[i];   /* adopted first: older data */
		for (unsigned j = 0; j < d->nsegs; j++) {
			struct seg_acct *a = &d->segs[j];
			if (a->sealed && !a->pushed && !a->released) {
				*dp = d;
				return a;
			}
		}
	}
	return NULL;
}

/* Delete segment j of d, none of whose chunks went to the outputs yet:
 * its records are dropped for every output, counted. */
static bool seg_drop(struct shard_store *ss, struct store_dir *d, unsigned j)
{
	struct seg_acct *a = &d->segs[j];
	if (dp_seg_remove(d->path, a->seg))
		return false;
	DP_CNT_ADD(ss->cnt.limit_dropped_records, a->records);
	DP_CNT_ADD(ss->cnt.limit_dropped_segments, 1);
	DP_CNT_ADD(ss->cnt.backlog_bytes, -a->bytes);
	for (unsigned o = 0; o < DP_MAX_OUTPUTS; o++)
		ss->wait[o] -= a->wbytes[o];
	memmove(a, a + 1, (d->nsegs - j - 1) * sizeof(*a));
	d->nsegs--;
	return true;
}

/* A full disk: drop the oldest segment that waits whole on disk, for every
 * output. true when one was. */
bool shard_store_make_room(struct shard *sh, struct shard_store *ss)
{
	struct store_dir *d;
	struct seg_acct *a = oldest_waiting(ss, &d);
	if (!a)
		return false;
	uint64_t recs = a->records;
	if (!seg_drop(ss, d, (unsigned)(a - d->segs)))
		return false;
	if (dp_ratelimit_ok(&ss->limit_rl, sh->now_ns, 10000000000ull))
		dp_warn("store: %s: the disk is full: dropped the oldest %llu records waiting for the "
			"outputs", d->path, (unsigned long long)recs);
	return true;
}

/*
 * storage.total_limit_size of output o reached: the oldest data waiting for
 * it goes, a sealed segment at a time, for o alone (Fluent Bit drops the
 * oldest chunks of that output's queue): the reader then skips o for its
 * frames, and a segment every output of which dropped it is deleted at once.
 */
static bool limit_drop(struct shard *sh, struct shard_store *ss, unsigned o)
{
	struct store_dir *d = &ss->dirs[0];
	for (unsigned j = 0; j < d->nsegs; j++) {
		struct seg_acct *a = &d->segs[j];
		if (!a->sealed || !a->wbytes[o] || a->last_seq <= ss->drop_seq[o])
			continue;
		ss->drop_seq[o] = a->last_seq;
		ss->wait[o] -= a->wbytes[o];
		a->wbytes[o] = 0;
		if (dp_ratelimit_ok(&ss->limit_rl, sh->now_ns, 10000000000ull))
			dp_warn("store: %s: storage.total_limit_size of %s reached: dropping the oldest "
				"records waiting for it", d->path, sh->pl->out[o]->name);
		bool all = !a->pushed && !a->released;
		for (uint64_t r = a->route; r && all; r &= r - 1)
			all = ss->drop_seq[__builtin_ctzll(r)] >= a->last_seq;
		if (all)
			seg_drop(ss, d, j);
		return true;
	}
	return false;
}

void shard_store_limit_room(struct shard *sh, struct shard_store *ss, uint64_t route, uint64_t len)
{
	for (uint64_t r = route; r; r &= r - 1) {
		unsigned o = (unsigned)__builtin_ctzll(r);
		uint64_t lim = ss->st->out_limit[o];
		while (lim && ss->wait[o] + len > lim && limit_drop(sh, ss, o))
			;
	}
}

void shard_store_count_pause(struct shard *sh)
{
	DP_CNT_ADD(sh->store->cnt.limit_pauses, 1);
}

bool shard_store_full(const struct shard *sh)
{
	const struct shard_store *ss = sh->store;
	if (!ss->st->full_pause)
		return false;
	if (ss->disk_full)
		return true;
	for (unsigned o = 0; ss->st->any_limit && o < sh->pl->nout; o++)
		if (ss->st->out_limit[o] && ss->wait[o] >= ss->st->out_limit[o])
			return true;
	return false;
}
